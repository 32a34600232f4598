//! The roster and the mandates on SQLite: a roster import is one `BEGIN IMMEDIATE` transaction on the writer that
//! empties the table and fills it again; a mandate, its uniqueness check and its notices are one more.

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound};
use sportello_domain::CodiceFiscale;
use sportello_domain::intermediaries::{OfficeCode, RosterRow};
use sportello_domain::mandate::Mandate;
use sqlx::AssertSqlSafe;

use super::outbox::enqueue_on;
use super::{SqliteStore, iso_date, timestamp, timestamp_to_db};
use crate::intermediaries::{
    CallCodeCheck, Intermediaries, MANDATE_COLUMNS, MandateRecorded, NewCallCode, NewMandate, ROSTER_COLUMNS,
    RosterSummary, mandate, office_count, roster_row,
};
use crate::rows::StoredRow;
use crate::{OutboxMessage, StoreError};

#[async_trait]
impl Intermediaries for SqliteStore {
    async fn replace_roster(
        &self,
        rows: &[RosterRow],
        now: DateTime<chrono::Utc>,
    ) -> Result<RosterSummary, StoreError> {
        let imported_at = now.trunc_subsecs(6);
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM roster").execute(&mut *tx).await?;
        for r in rows {
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO roster ({ROSTER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            )))
            .bind(r.operator.as_str())
            .bind(r.office.as_str())
            .bind(&r.office_name)
            .bind(r.organisation.as_str())
            .bind(&r.organisation_name)
            .bind(r.kind.as_str())
            .bind(r.role.as_str())
            .bind(iso_date(r.valid_from))
            .bind(r.valid_to.map(iso_date))
            .execute(&mut *tx)
            .await?;
        }
        let summary =
            RosterSummary { operators: rows.len() as u64, offices: office_count(rows), imported_at: Some(imported_at) };
        sqlx::query("UPDATE roster_meta SET operators = ?1, offices = ?2, imported_at = ?3 WHERE id = 1")
            .bind(i64::try_from(summary.operators).map_err(|_| StoreError::Corrupt("too many rows".into()))?)
            .bind(i64::try_from(summary.offices).map_err(|_| StoreError::Corrupt("too many offices".into()))?)
            .bind(timestamp_to_db(imported_at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(summary)
    }

    async fn roster_of(&self, operator: &CodiceFiscale) -> Result<Vec<RosterRow>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ROSTER_COLUMNS} FROM roster WHERE operator = ?1 ORDER BY office"
        )))
        .bind(operator.as_str())
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(roster_row).collect()
    }

    async fn roster_summary(&self) -> Result<RosterSummary, StoreError> {
        let row = sqlx::query("SELECT operators, offices, imported_at FROM roster_meta WHERE id = 1")
            .fetch_one(&self.readers)
            .await?;
        Ok(RosterSummary {
            operators: row.count("operators")?,
            offices: row.count("offices")?,
            imported_at: row.opt_timestamp("imported_at")?,
        })
    }

    async fn record_mandate(&self, new: &NewMandate, notices: &[OutboxMessage]) -> Result<MandateRecorded, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let same: Option<i64> = sqlx::query_scalar("SELECT id FROM mandates WHERE form_sha256 = ?1")
            .bind(&new.form_sha256)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(id) = same {
            return Ok(MandateRecorded::SameForm(id));
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO mandates (subject, office, operator, object, signed_on, expires_on, form_sha256, form,
                 privacy_acknowledged, recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9)
             RETURNING {MANDATE_COLUMNS}"
        )))
        .bind(new.subject.as_str())
        .bind(new.office.as_str())
        .bind(new.operator.as_str())
        .bind(&new.object)
        .bind(iso_date(new.signed_on))
        .bind(iso_date(new.expires_on))
        .bind(&new.form_sha256)
        .bind(&new.form)
        .bind(timestamp(new.recorded_at))
        .fetch_one(&mut *tx)
        .await?;
        let recorded = mandate(&row)?;
        for notice in notices {
            enqueue_on(&mut tx, notice).await?;
        }
        tx.commit().await?;
        Ok(MandateRecorded::Recorded(recorded))
    }

    async fn mandates_of(&self, subject: &CodiceFiscale) -> Result<Vec<Mandate>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MANDATE_COLUMNS} FROM mandates WHERE subject = ?1 ORDER BY id DESC"
        )))
        .bind(subject.as_str())
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(mandate).collect()
    }

    async fn mandates_held_by(&self, office: &OfficeCode) -> Result<Vec<Mandate>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MANDATE_COLUMNS} FROM mandates WHERE office = ?1 ORDER BY id DESC"
        )))
        .bind(office.as_str())
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(mandate).collect()
    }

    async fn revoke_mandate(
        &self,
        id: i64,
        subject: &CodiceFiscale,
        by: &str,
        at: DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM mandates WHERE id = ?1 AND subject = ?2")
            .bind(id)
            .bind(subject.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if found.is_none() {
            return Ok(false);
        }
        sqlx::query("UPDATE mandates SET revoked_at = ?1, revoked_by = ?2 WHERE id = ?3 AND revoked_at IS NULL")
            .bind(timestamp(at))
            .bind(by)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn put_call_code(&self, code: &NewCallCode, message: &OutboxMessage) -> Result<(), StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("DELETE FROM call_codes WHERE expires_at <= ?1")
            .bind(timestamp(code.created_at))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO call_codes (call_id, caller, operator, code_hash, attempts, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6)
             ON CONFLICT (call_id, caller) DO UPDATE SET operator = excluded.operator,
                 code_hash = excluded.code_hash, attempts = 0, created_at = excluded.created_at,
                 expires_at = excluded.expires_at",
        )
        .bind(&code.call)
        .bind(code.caller.as_str())
        .bind(code.operator.as_str())
        .bind(&code.code_hash)
        .bind(timestamp(code.created_at))
        .bind(timestamp(code.expires_at))
        .execute(&mut *tx)
        .await?;
        enqueue_on(&mut tx, message).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn use_call_code(
        &self,
        call: &str,
        caller: &CodiceFiscale,
        code_hash: &str,
        max_attempts: u32,
        now: DateTime<chrono::Utc>,
    ) -> Result<CallCodeCheck, StoreError> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let live: Option<String> = sqlx::query_scalar(
            "SELECT code_hash FROM call_codes WHERE call_id = ?1 AND caller = ?2 AND expires_at > ?3 AND attempts < ?4",
        )
        .bind(call)
        .bind(caller.as_str())
        .bind(timestamp(now))
        .bind(i64::from(max_attempts))
        .fetch_optional(&mut *tx)
        .await?;
        let check = match live {
            None => CallCodeCheck::NoCode,
            Some(stored) if stored == code_hash => {
                sqlx::query("DELETE FROM call_codes WHERE call_id = ?1 AND caller = ?2")
                    .bind(call)
                    .bind(caller.as_str())
                    .execute(&mut *tx)
                    .await?;
                CallCodeCheck::Matched
            }
            Some(_) => {
                sqlx::query("UPDATE call_codes SET attempts = attempts + 1 WHERE call_id = ?1 AND caller = ?2")
                    .bind(call)
                    .bind(caller.as_str())
                    .execute(&mut *tx)
                    .await?;
                CallCodeCheck::Wrong
            }
        };
        tx.commit().await?;
        Ok(check)
    }
}
