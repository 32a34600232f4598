//! The back office on PostgreSQL: officers' accounts and sessions, a case by its protocol number, the audit log's
//! readings and purge.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sportello_domain::{CodiceFiscale, ProtocolNumber};
use sqlx::AssertSqlSafe;

use super::PgStore;
use crate::office::{OFFICE_SESSION_COLUMNS, OFFICER_COLUMNS, office_session, officer};
use crate::sql::{APPLICATION_COLUMNS, AUDIT_COLUMNS};
use crate::{
    Application, AuditEntry, AuditReports, NewOfficer, OfficeSession, OfficeStore, Officer, Retention, StoreError,
    later, rows,
};

#[async_trait]
impl OfficeStore for PgStore {
    async fn add_officer(&self, new: NewOfficer) -> Result<i64, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO officers (username, display_name, role, password_hash, created_at, codice_fiscale)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(&new.username)
        .bind(&new.display_name)
        .bind(new.role.as_str())
        .bind(&new.password_hash)
        .bind(timestamp(new.created_at))
        .bind(new.codice_fiscale.as_ref().map(CodiceFiscale::as_str))
        .fetch_optional(&self.pool)
        .await?;
        match inserted {
            Some(row) => rows::StoredRow::int(&row, "id"),
            None => Err(StoreError::OfficerExists(new.username)),
        }
    }

    async fn officer_by_username(&self, username: &str) -> Result<Option<Officer>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {OFFICER_COLUMNS} FROM officers WHERE username = $1")))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(officer).transpose()
    }

    async fn officer_by_codice_fiscale(&self, codice_fiscale: &CodiceFiscale) -> Result<Option<Officer>, StoreError> {
        let sql = format!("SELECT {OFFICER_COLUMNS} FROM officers WHERE codice_fiscale = $1");
        let row = sqlx::query(AssertSqlSafe(sql)).bind(codice_fiscale.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(officer).transpose()
    }

    async fn officer(&self, id: i64) -> Result<Option<Officer>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {OFFICER_COLUMNS} FROM officers WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(officer).transpose()
    }

    async fn disable_officer(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE officers SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1")
            .bind(id)
            .bind(timestamp(now))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn officers(&self) -> Result<Vec<Officer>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT {OFFICER_COLUMNS} FROM officers ORDER BY id")))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(officer).collect()
    }

    async fn record_officer_failure(
        &self,
        id: i64,
        now: DateTime<Utc>,
        max_failures: u32,
        lock_for: Duration,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        // One statement reads and writes the count under the row's lock: no failure is lost.
        let row = sqlx::query(
            "UPDATE officers SET
                 failures = CASE WHEN locked_until > $2 THEN failures
                                 WHEN failures + 1 >= $3 THEN 0 ELSE failures + 1 END,
                 locked_until = CASE WHEN locked_until > $2 THEN locked_until
                                     WHEN failures + 1 >= $3 THEN $4 ELSE locked_until END
             WHERE id = $1 RETURNING locked_until",
        )
        .bind(id)
        .bind(timestamp(now))
        .bind(i64::from(max_failures.max(1)))
        .bind(timestamp(later(now, lock_for)))
        .fetch_optional(&self.pool)
        .await?;
        let until = row.as_ref().map(|r| rows::StoredRow::opt_timestamp(r, "locked_until")).transpose()?.flatten();
        Ok(until.filter(|until| *until > now))
    }

    async fn clear_officer_failures(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE officers SET failures = 0 WHERE id = $1 AND failures <> 0")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_office_session(&self, session: OfficeSession) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO office_sessions
                 (id_hash, officer_id, created_at, last_seen_at, expires_at, from_addr, login_method)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&session.id_hash)
        .bind(session.officer_id)
        .bind(timestamp(session.created_at))
        .bind(timestamp(session.last_seen_at))
        .bind(timestamp(session.expires_at))
        .bind(session.from.as_deref())
        .bind(session.login_method.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn office_session(&self, id_hash: &str) -> Result<Option<OfficeSession>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {OFFICE_SESSION_COLUMNS} FROM office_sessions WHERE id_hash = $1"
        )))
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(office_session).transpose()
    }

    async fn touch_office_session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE office_sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2")
            .bind(id_hash)
            .bind(timestamp(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_office_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM office_sessions WHERE id_hash = $1").bind(id_hash).execute(&self.pool).await?;
        Ok(())
    }

    async fn delete_expired_office_sessions(
        &self,
        now: DateTime<Utc>,
        idle_before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM office_sessions WHERE expires_at <= $1 OR last_seen_at < $2")
            .bind(timestamp(now))
            .bind(timestamp(idle_before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn application_by_protocol(&self, protocol: &ProtocolNumber) -> Result<Option<Application>, StoreError> {
        let row =
            sqlx::query(AssertSqlSafe(format!("SELECT {APPLICATION_COLUMNS} FROM applications WHERE protocol = $1")))
                .bind(protocol.as_str())
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(rows::application).transpose()
    }

    async fn submissions_since(&self, since: DateTime<Utc>) -> Result<Vec<crate::MinuteCount>, StoreError> {
        let rows: Vec<(DateTime<Utc>, String, String, String, i64)> = sqlx::query_as(
            "SELECT date_trunc('minute', submitted_at) AS minute, scheme, status,
                    COALESCE(details->'filed_by'->>'kind', 'citizen') AS channel, COUNT(*) AS count
             FROM applications WHERE submitted_at >= $1
             GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        )
        .bind(timestamp(since))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(minute, scheme, status, channel, count)| crate::MinuteCount {
                minute,
                scheme,
                status,
                channel,
                count: u64::try_from(count).unwrap_or_default(),
            })
            .collect())
    }
}

#[async_trait]
impl AuditReports for PgStore {
    async fn audit_trail_of(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE subject = $1 ORDER BY at, id"
        )))
        .bind(codice_fiscale.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::audit_entry).collect()
    }

    async fn audit_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE at >= $1 AND at < $2 ORDER BY at, id"
        )))
        .bind(timestamp(from))
        .bind(timestamp(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::audit_entry).collect()
    }
}

#[async_trait]
impl Retention for PgStore {
    async fn purge_audit_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM audit_log WHERE at < $1").bind(timestamp(before)).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }

    async fn purge_delivered_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < $1")
            .bind(timestamp(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

/// `at` as stored: to the microsecond.
fn timestamp(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound as _;
    at.trunc_subsecs(6)
}
