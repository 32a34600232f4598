//! "Avvisami" on PostgreSQL: the rows to tell are locked and skipped by other nodes (`FOR UPDATE SKIP LOCKED`), so
//! two nodes never tell the same visitor.

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound as _, Utc};
use sqlx::AssertSqlSafe;

use super::PgStore;
use super::outbox::enqueue_on;
use crate::StoreError;
use crate::reminders::{Compose, Reminder, Reminders, place_to_db, reminder, take_sql, upsert_sql};

#[async_trait]
impl Reminders for PgStore {
    async fn add_reminder(&self, r: Reminder) -> Result<(), StoreError> {
        sqlx::query(AssertSqlSafe(upsert_sql('$')))
            .bind(&r.room)
            .bind(i64::from(r.window))
            .bind(place_to_db(r.place)?)
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
        let rows = sqlx::query(AssertSqlSafe(take_sql('$', "FOR UPDATE SKIP LOCKED")))
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
