//! The outbox on SQLite: claims are one statement on the one writer connection, so they never interleave.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::AssertSqlSafe;
use sqlx::sqlite::SqliteConnection;

use super::{SqliteStore, timestamp, timestamp_to_db};
use crate::rows;
use crate::sql::OUTBOX_COLUMNS;
use crate::{OutboxEntry, OutboxMessage, OutboxStore, StoreError, later};

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn enqueue(&self, message: OutboxMessage) -> Result<i64, StoreError> {
        let mut conn = self.writer.acquire().await?;
        enqueue_on(&mut conn, &message).await
    }

    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let now = now.trunc_subsecs(6);
        // One statement on the one writer connection: claims never interleave, so no message is claimed twice
        // while its lease runs.
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE outbox SET leased_until = ?2, attempts = attempts + 1
             WHERE id IN (
                 SELECT id FROM outbox
                 WHERE delivered_at IS NULL AND dead_at IS NULL AND not_before <= ?1
                   AND (leased_until IS NULL OR leased_until <= ?1)
                   AND NOT EXISTS (
                       SELECT 1 FROM outbox earlier
                       WHERE earlier.recipient = outbox.recipient AND earlier.id < outbox.id
                         AND earlier.delivered_at IS NULL AND earlier.dead_at IS NULL
                         AND (earlier.attempts > 0 OR earlier.not_before <= outbox.not_before)
                   )
                 ORDER BY id
                 LIMIT ?3
             )
             RETURNING {OUTBOX_COLUMNS}"
        )))
        .bind(timestamp_to_db(now))
        .bind(timestamp(later(now, lease)))
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await?;
        let mut entries = rows.iter().map(rows::outbox_entry).collect::<Result<Vec<_>, _>>()?;
        // RETURNING gives no order.
        entries.sort_by_key(|entry| entry.id);
        Ok(entries)
    }

    async fn outbox_delivered(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET delivered_at = ?2, leased_until = NULL, body = ''
             WHERE id = ?1 AND delivered_at IS NULL",
        )
        .bind(id)
        .bind(timestamp(now))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn outbox_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET last_error = ?2, leased_until = NULL, not_before = ?3
             WHERE id = ?1 AND delivered_at IS NULL",
        )
        .bind(id)
        .bind(error)
        .bind(timestamp(retry_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}

/// Inserts one outbox message on `conn` (the writer, or a transaction on it) and returns its id.
pub(super) async fn enqueue_on(conn: &mut SqliteConnection, message: &OutboxMessage) -> Result<i64, StoreError> {
    let id = sqlx::query_scalar(
        "INSERT INTO outbox (channel, recipient, subject, body, not_before, attempts, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)
         RETURNING id",
    )
    .bind(&message.channel)
    .bind(&message.recipient)
    .bind(&message.subject)
    .bind(&message.body)
    .bind(timestamp(message.not_before))
    .bind(timestamp(Utc::now()))
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}
