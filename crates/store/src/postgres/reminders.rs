//! "Avvisami" on PostgreSQL: the rows to tell are locked and skipped by other nodes (`FOR UPDATE SKIP LOCKED`), so
//! two nodes never tell the same visitor.

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound as _, Utc};
use sqlx::AssertSqlSafe;

use super::PgStore;
use super::outbox::enqueue_on;
use crate::StoreError;
use crate::reminders::{Compose, REMINDER_COLUMNS, Reminder, Reminders, reminder};

#[async_trait]
impl Reminders for PgStore {
    async fn add_reminder(&self, r: Reminder) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO waiting_reminders
                 (room, window_id, place, channel, recipient, ticket, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (room, window_id, place) DO UPDATE SET
                 channel = excluded.channel, recipient = excluded.recipient, ticket = excluded.ticket,
                 created_at = excluded.created_at, expires_at = excluded.expires_at",
        )
        .bind(&r.room)
        .bind(i64::from(r.window))
        .bind(i64::try_from(r.place).map_err(|_| StoreError::Corrupt("place beyond i64".into()))?)
        .bind(&r.channel)
        .bind(&r.recipient)
        .bind(&r.ticket)
        .bind(r.created_at.trunc_subsecs(6))
        .bind(r.expires_at.trunc_subsecs(6))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn send_reminders(
        &self,
        room: &str,
        window: u32,
        below: u64,
        limit: u32,
        compose: Compose<'_>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM waiting_reminders WHERE (room, window_id, place) IN (
                 SELECT room, window_id, place FROM waiting_reminders
                 WHERE room = $1 AND window_id = $2 AND place < $3 ORDER BY place LIMIT $4
                 FOR UPDATE SKIP LOCKED)
             RETURNING {REMINDER_COLUMNS}"
        )))
        .bind(room)
        .bind(i64::from(window))
        .bind(i64::try_from(below).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            enqueue_on(&mut tx, &compose(&reminder(row)?)).await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }

    async fn purge_reminders(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM waiting_reminders WHERE expires_at < $1")
            .bind(now.trunc_subsecs(6))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
