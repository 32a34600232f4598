//! The roster and the mandates on PostgreSQL: a roster import is one transaction that empties the table and fills
//! it with array inserts (readers see the old roster until it commits); a mandate and its notices are one more, the
//! form's uniqueness left to its unique index.

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::intermediaries::{OfficeCode, RosterRow};
use sportello_domain::mandate::Mandate;
use sqlx::AssertSqlSafe;

use super::PgStore;
use super::outbox::enqueue_on;
use crate::intermediaries::{
    CallCodeCheck, Intermediaries, MANDATE_COLUMNS, MandateRecorded, NewCallCode, NewMandate, ROSTER_COLUMNS,
    RosterSummary, mandate, office_count, roster_row,
};
use crate::rows::StoredRow;
use crate::{OutboxMessage, StoreError};

/// Rows per insert.
const ROWS_PER_INSERT: usize = 10_000;

/// Serialises roster imports, so that two at once queue rather than deadlock.
const ROSTER_IMPORT_LOCK: i64 = 0x5350_4f52_524f_5331; // "SPORROS1"

#[async_trait]
impl Intermediaries for PgStore {
    async fn replace_roster(&self, rows: &[RosterRow], now: DateTime<Utc>) -> Result<RosterSummary, StoreError> {
        let imported_at = now.trunc_subsecs(6);
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(ROSTER_IMPORT_LOCK).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM roster").execute(&mut *tx).await?;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let text = |f: fn(&RosterRow) -> &str| -> Vec<&str> { chunk.iter().map(f).collect() };
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO roster ({ROSTER_COLUMNS})
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::date[], $9::date[])"
            )))
            .bind(text(|r| r.operator.as_str()))
            .bind(text(|r| r.office.as_str()))
            .bind(text(|r| &r.office_name))
            .bind(text(|r| r.organisation.as_str()))
            .bind(text(|r| &r.organisation_name))
            .bind(text(|r| r.kind.as_str()))
            .bind(text(|r| r.role.as_str()))
            .bind(chunk.iter().map(|r| r.valid_from).collect::<Vec<_>>())
            .bind(chunk.iter().map(|r| r.valid_to).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
        }
        let summary =
            RosterSummary { operators: rows.len() as u64, offices: office_count(rows), imported_at: Some(imported_at) };
        sqlx::query("UPDATE roster_meta SET operators = $1, offices = $2, imported_at = $3 WHERE id = 1")
            .bind(i64::try_from(summary.operators).map_err(|_| StoreError::Corrupt("too many rows".into()))?)
            .bind(i64::try_from(summary.offices).map_err(|_| StoreError::Corrupt("too many offices".into()))?)
            .bind(imported_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(summary)
    }

    async fn roster_of(&self, operator: &CodiceFiscale) -> Result<Vec<RosterRow>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {ROSTER_COLUMNS} FROM roster WHERE operator = $1 ORDER BY office"
        )))
        .bind(operator.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(roster_row).collect()
    }

    async fn roster_summary(&self) -> Result<RosterSummary, StoreError> {
        let row = sqlx::query("SELECT operators, offices, imported_at FROM roster_meta WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(RosterSummary {
            operators: row.count("operators")?,
            offices: row.count("offices")?,
            imported_at: row.opt_timestamp("imported_at")?,
        })
    }

    async fn record_mandate(&self, new: &NewMandate, notices: &[OutboxMessage]) -> Result<MandateRecorded, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO mandates (subject, office, operator, object, signed_on, expires_on, form_sha256, form,
                 privacy_acknowledged, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $9)
             ON CONFLICT (form_sha256) DO NOTHING
             RETURNING {MANDATE_COLUMNS}"
        )))
        .bind(new.subject.as_str())
        .bind(new.office.as_str())
        .bind(new.operator.as_str())
        .bind(&new.object)
        .bind(new.signed_on)
        .bind(new.expires_on)
        .bind(&new.form_sha256)
        .bind(&new.form)
        .bind(new.recorded_at.trunc_subsecs(6))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            let id: i64 = sqlx::query_scalar("SELECT id FROM mandates WHERE form_sha256 = $1")
                .bind(&new.form_sha256)
                .fetch_one(&mut *tx)
                .await?;
            return Ok(MandateRecorded::SameForm(id));
        };
        let recorded = mandate(&row)?;
        for notice in notices {
            enqueue_on(&mut tx, notice).await?;
        }
        tx.commit().await?;
        Ok(MandateRecorded::Recorded(recorded))
    }

    async fn mandates_of(&self, subject: &CodiceFiscale) -> Result<Vec<Mandate>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MANDATE_COLUMNS} FROM mandates WHERE subject = $1 ORDER BY id DESC"
        )))
        .bind(subject.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(mandate).collect()
    }

    async fn mandates_held_by(&self, office: &OfficeCode) -> Result<Vec<Mandate>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MANDATE_COLUMNS} FROM mandates WHERE office = $1 ORDER BY id DESC"
        )))
        .bind(office.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(mandate).collect()
    }

    async fn revoke_mandate(
        &self,
        id: i64,
        subject: &CodiceFiscale,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "UPDATE mandates SET revoked_at = COALESCE(revoked_at, $1), revoked_by = COALESCE(revoked_by, $2)
             WHERE id = $3 AND subject = $4
             RETURNING id",
        )
        .bind(at.trunc_subsecs(6))
        .bind(by)
        .bind(id)
        .bind(subject.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    async fn put_call_code(&self, code: &NewCallCode, message: &OutboxMessage) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM call_codes WHERE expires_at <= $1")
            .bind(code.created_at.trunc_subsecs(6))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO call_codes (call_id, caller, operator, code_hash, attempts, created_at, expires_at)
             VALUES ($1, $2, $3, $4, 0, $5, $6)
             ON CONFLICT (call_id, caller) DO UPDATE SET operator = excluded.operator,
                 code_hash = excluded.code_hash, attempts = 0, created_at = excluded.created_at,
                 expires_at = excluded.expires_at",
        )
        .bind(&code.call)
        .bind(code.caller.as_str())
        .bind(code.operator.as_str())
        .bind(&code.code_hash)
        .bind(code.created_at.trunc_subsecs(6))
        .bind(code.expires_at.trunc_subsecs(6))
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
        now: DateTime<Utc>,
    ) -> Result<CallCodeCheck, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The row locked, so that two tries at once count twice and a code is used once.
        let live: Option<String> = sqlx::query_scalar(
            "SELECT code_hash FROM call_codes
             WHERE call_id = $1 AND caller = $2 AND expires_at > $3 AND attempts < $4
             FOR UPDATE",
        )
        .bind(call)
        .bind(caller.as_str())
        .bind(now)
        .bind(i32::try_from(max_attempts).unwrap_or(i32::MAX))
        .fetch_optional(&mut *tx)
        .await?;
        let check = match live {
            None => CallCodeCheck::NoCode,
            Some(stored) if stored == code_hash => {
                sqlx::query("DELETE FROM call_codes WHERE call_id = $1 AND caller = $2")
                    .bind(call)
                    .bind(caller.as_str())
                    .execute(&mut *tx)
                    .await?;
                CallCodeCheck::Matched
            }
            Some(_) => {
                sqlx::query("UPDATE call_codes SET attempts = attempts + 1 WHERE call_id = $1 AND caller = $2")
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
