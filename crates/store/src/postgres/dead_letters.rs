//! Dead letters on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;

use super::PgStore;
use crate::dead_letters::DeadLetters;
use crate::rows::{self, StoredRow as _};
use crate::sql::OUTBOX_COLUMNS;
use crate::{OutboxEntry, StoreError};

#[async_trait]
impl DeadLetters for PgStore {
    async fn outbox_dead(&self, id: i64, error: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET dead_at = $3, last_error = $2, leased_until = NULL
             WHERE id = $1 AND delivered_at IS NULL",
        )
        .bind(id)
        .bind(error)
        .bind(timestamp(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn dead_letters(&self, limit: u32) -> Result<Vec<(OutboxEntry, String)>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {OUTBOX_COLUMNS}, last_error FROM outbox
             WHERE dead_at IS NOT NULL AND delivered_at IS NULL ORDER BY id LIMIT $1"
        )))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok((rows::outbox_entry(row)?, row.opt_text("last_error")?.unwrap_or_default()))).collect()
    }

    async fn revive_dead_letter(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET dead_at = NULL, attempts = 0, not_before = $2
             WHERE id = $1 AND dead_at IS NOT NULL AND delivered_at IS NULL",
        )
        .bind(id)
        .bind(timestamp(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// `at` as stored: to the microsecond.
fn timestamp(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound as _;
    at.trunc_subsecs(6)
}
