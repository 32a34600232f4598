//! The outbox on PostgreSQL: claims skip the rows another worker is taking (`FOR UPDATE SKIP LOCKED`).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgConnection;

use super::PgStore;
use crate::rows;
use crate::sql::OUTBOX_COLUMNS;
use crate::{OutboxEntry, OutboxMessage, OutboxStore, StoreError, later};

#[async_trait]
impl OutboxStore for PgStore {
    async fn enqueue(&self, message: OutboxMessage) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        enqueue_on(&mut conn, &message).await
    }

    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let now = now.trunc_subsecs(6);
        // SKIP LOCKED: a concurrent claimer passes over the rows this one is taking instead of waiting for them, and
        // a row it does lock after this one committed is re-checked, found leased, and left. The CTE is evaluated
        // once, so LIMIT bounds the claim.
        let rows = sqlx::query(AssertSqlSafe(format!(
            "WITH due AS (
                 SELECT id FROM outbox
                 WHERE delivered_at IS NULL AND dead_at IS NULL AND not_before <= $1
                   AND (leased_until IS NULL OR leased_until <= $1)
                   AND NOT EXISTS (
                       SELECT 1 FROM outbox earlier
                       WHERE earlier.recipient = outbox.recipient AND earlier.id < outbox.id
                         AND earlier.delivered_at IS NULL AND earlier.dead_at IS NULL
                         AND (earlier.attempts > 0 OR earlier.not_before <= outbox.not_before)
                   )
                 ORDER BY id
                 LIMIT $3
                 FOR UPDATE SKIP LOCKED
             )
             UPDATE outbox SET leased_until = $2, attempts = attempts + 1
             WHERE id IN (SELECT id FROM due)
             RETURNING {OUTBOX_COLUMNS}"
        )))
        .bind(now)
        .bind(later(now, lease).trunc_subsecs(6))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut entries = rows.iter().map(rows::outbox_entry).collect::<Result<Vec<_>, _>>()?;
        // RETURNING gives no order.
        entries.sort_by_key(|entry| entry.id);
        Ok(entries)
    }

    async fn outbox_delivered(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET delivered_at = $2, leased_until = NULL, body = ''
             WHERE id = $1 AND delivered_at IS NULL",
        )
        .bind(id)
        .bind(now.trunc_subsecs(6))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn outbox_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET last_error = $2, leased_until = NULL, not_before = $3
             WHERE id = $1 AND delivered_at IS NULL",
        )
        .bind(id)
        .bind(error)
        .bind(retry_at.trunc_subsecs(6))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Inserts one outbox message on `conn` (a pooled connection or a transaction) and returns its id.
pub(super) async fn enqueue_on(conn: &mut PgConnection, message: &OutboxMessage) -> Result<i64, StoreError> {
    let id = sqlx::query_scalar(
        "INSERT INTO outbox (channel, recipient, subject, body, not_before, attempts, created_at)
         VALUES ($1, $2, $3, $4, $5, 0, $6)
         RETURNING id",
    )
    .bind(&message.channel)
    .bind(&message.recipient)
    .bind(&message.subject)
    .bind(&message.body)
    .bind(message.not_before.trunc_subsecs(6))
    .bind(Utc::now().trunc_subsecs(6))
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}
