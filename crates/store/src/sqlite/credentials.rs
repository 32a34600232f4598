//! PIN credentials, wrong-PIN counters and payment holds on SQLite. Every write goes through the one writer
//! connection in a `BEGIN IMMEDIATE` transaction, so a read and the write that depends on it see the same data.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sportello_domain::CodiceFiscale;
use sqlx::AssertSqlSafe;

use super::outbox::enqueue_on;
use super::{SqliteStore, timestamp, timestamp_to_db};
use crate::credentials::{Credentials, NewPin, PinCredential, PinLock};
use crate::rows;
use crate::sql::{APPLICATION_COLUMNS, PIN_COLUMNS};
use crate::{Application, ApplicationStatus, OutboxMessage, StoreError, later};

#[async_trait]
impl Credentials for SqliteStore {
    async fn pins_of(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<PinCredential>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {PIN_COLUMNS} FROM pin_credentials WHERE codice_fiscale = ?1 ORDER BY slot IS NULL, slot"
        )))
        .bind(codice_fiscale.as_str())
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(rows::pin_credential).collect()
    }

    async fn put_pin(&self, pin: NewPin, messages: &[OutboxMessage]) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let in_use: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM pin_credentials WHERE codice_fiscale = ?1 AND slot = ?2 AND last_used_at IS NOT NULL",
        )
        .bind(pin.codice_fiscale.as_str())
        .bind(i64::from(pin.slot))
        .fetch_optional(&mut *tx)
        .await?;
        if in_use.is_some() {
            return Ok(false);
        }
        sqlx::query("DELETE FROM pin_credentials WHERE codice_fiscale = ?1 AND slot = ?2")
            .bind(pin.codice_fiscale.as_str())
            .bind(i64::from(pin.slot))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO pin_credentials (codice_fiscale, slot, full_hash, simplified_hash, issued_at, first_half_to)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(pin.codice_fiscale.as_str())
        .bind(i64::from(pin.slot))
        .bind(&pin.full_hash)
        .bind(&pin.simplified_hash)
        .bind(timestamp(pin.issued_at))
        .bind(pin.first_half_to.as_str())
        .execute(&mut *tx)
        .await?;
        for message in messages {
            enqueue_on(&mut tx, message).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn pins_for_slot(&self, codice_fiscale: &CodiceFiscale, slot: u8) -> Result<Vec<PinCredential>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {PIN_COLUMNS} FROM pin_credentials WHERE codice_fiscale = ?1 AND (slot = ?2 OR slot IS NULL)
             ORDER BY slot IS NULL"
        )))
        .bind(codice_fiscale.as_str())
        .bind(i64::from(slot))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(rows::pin_credential).collect()
    }

    async fn pin_used(&self, id: i64, full: bool, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "UPDATE pin_credentials SET last_used_at = ?2,
                 confirmed_at = CASE WHEN ?3 THEN coalesce(confirmed_at, ?2) ELSE confirmed_at END
             WHERE id = ?1",
        )
        .bind(id)
        .bind(timestamp(now))
        .bind(full)
        .execute(&mut *tx)
        .await?;
        let released = if full {
            sqlx::query("UPDATE applications SET hold = NULL, updated_at = ?2 WHERE hold = ?1")
                .bind(format!("pin:{id}"))
                .bind(timestamp(now))
                .execute(&mut *tx)
                .await?
                .rows_affected()
        } else {
            0
        };
        tx.commit().await?;
        Ok(released)
    }

    async fn pin_lock(&self, codice_fiscale: &CodiceFiscale, bucket: &str) -> Result<PinLock, StoreError> {
        let row = sqlx::query("SELECT failures, locked_until FROM pin_locks WHERE codice_fiscale = ?1 AND bucket = ?2")
            .bind(codice_fiscale.as_str())
            .bind(bucket)
            .fetch_optional(&self.readers)
            .await?;
        row.as_ref().map_or(Ok(PinLock::default()), rows::pin_lock)
    }

    async fn record_login_failure(
        &self,
        codice_fiscale: &CodiceFiscale,
        bucket: &str,
        now: DateTime<Utc>,
        max_failures: u32,
        lock_for: Duration,
    ) -> Result<PinLock, StoreError> {
        let now = now.trunc_subsecs(6);
        // One statement reads and writes the count, and the single writer runs one at a time: no failure is lost.
        // A locked bucket is left alone, so failures during a lock neither count nor extend it.
        let row = sqlx::query(
            "INSERT INTO pin_locks (codice_fiscale, bucket, failures, locked_until)
             VALUES (?1, ?2, CASE WHEN ?4 <= 1 THEN 0 ELSE 1 END, CASE WHEN ?4 <= 1 THEN ?5 END)
             ON CONFLICT (codice_fiscale, bucket) DO UPDATE SET
                 failures = CASE WHEN locked_until > ?3 THEN failures
                                 WHEN failures + 1 >= ?4 THEN 0 ELSE failures + 1 END,
                 locked_until = CASE WHEN locked_until > ?3 THEN locked_until
                                     WHEN failures + 1 >= ?4 THEN ?5 ELSE locked_until END
             RETURNING failures, locked_until",
        )
        .bind(codice_fiscale.as_str())
        .bind(bucket)
        .bind(timestamp_to_db(now))
        .bind(i64::from(max_failures.max(1)))
        .bind(timestamp(later(now, lock_for)))
        .fetch_one(&self.writer)
        .await?;
        rows::pin_lock(&row)
    }

    async fn clear_login_failures(&self, codice_fiscale: &CodiceFiscale, bucket: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM pin_locks WHERE codice_fiscale = ?1 AND bucket = ?2 AND failures <> 0")
            .bind(codice_fiscale.as_str())
            .bind(bucket)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn confirm_person(&self, codice_fiscale: &CodiceFiscale, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE pin_credentials SET confirmed_at = ?2 WHERE codice_fiscale = ?1 AND confirmed_at IS NULL")
            .bind(codice_fiscale.as_str())
            .bind(timestamp(now))
            .execute(&mut *tx)
            .await?;
        let released = sqlx::query(
            "UPDATE applications SET hold = NULL, updated_at = ?2 WHERE codice_fiscale = ?1 AND hold IS NOT NULL",
        )
        .bind(codice_fiscale.as_str())
        .bind(timestamp(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(released)
    }

    async fn annul_held(
        &self,
        codice_fiscale: &CodiceFiscale,
        protocol: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Application>, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let found: Option<(i64, String, String, String)> = sqlx::query_as(
            "SELECT id, hold, status, scheme FROM applications
             WHERE codice_fiscale = ?1 AND protocol = ?2 AND hold IS NOT NULL AND hold <> ?3 AND status <> 'annulled'",
        )
        .bind(codice_fiscale.as_str())
        .bind(protocol)
        .bind(by)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, held_for, status, scheme)) = found else {
            return Ok(None);
        };
        if ApplicationStatus::from_db(&status)? == ApplicationStatus::Accepted {
            sqlx::query("UPDATE budgets SET reserved_cents = reserved_cents - amount_cents WHERE scheme = ?1")
                .bind(&scheme)
                .execute(&mut *tx)
                .await?;
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE applications SET status = 'annulled', hold = NULL, updated_at = ?2 WHERE id = ?1
             RETURNING {APPLICATION_COLUMNS}"
        )))
        .bind(id)
        .bind(timestamp(now))
        .fetch_one(&mut *tx)
        .await?;
        // The PIN that made it is revoked, and whoever holds a session opened with it is logged out.
        if let Some(credential) = held_for.strip_prefix("pin:").and_then(|id| id.parse::<i64>().ok()) {
            sqlx::query("DELETE FROM pin_credentials WHERE id = ?1 AND codice_fiscale = ?2")
                .bind(credential)
                .bind(codice_fiscale.as_str())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM sessions WHERE credential = ?1 AND codice_fiscale = ?2")
            .bind(&held_for)
            .bind(codice_fiscale.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        rows::application(&row).map(Some)
    }
}
