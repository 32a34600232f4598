//! Applications on SQLite, group-committed ([`crate::group`]): a batch is decided in memory and written with a few
//! statements, or, if that fails, stored one submission at a time, each in a savepoint of its own.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::SubsecRound;
use sportello_domain::{CodiceFiscale, ProtocolNumber};
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::{AssertSqlSafe, Connection};

use super::{SqliteStore, audit::insert_audit_rows, timestamp_to_db};
use crate::applications::{status_within, stood_in_the_way};
use crate::group::{Batch, BatchOutcome, Plan, Room, audit_rows};
use crate::rows::{self, StoredRow};
use crate::sql::APPLICATION_COLUMNS;
use crate::{
    Application, ApplicationStatus, ApplicationStore, NewApplication, StoreError, Submission, SubmittedBy,
    protocol_number,
};

#[async_trait]
impl ApplicationStore for SqliteStore {
    async fn submit(&self, application: NewApplication) -> Result<Submission, StoreError> {
        self.submissions.submit(application, None).await
    }

    async fn submit_audited(&self, application: NewApplication, by: SubmittedBy) -> Result<Submission, StoreError> {
        self.submissions.submit(application, Some(by)).await
    }

    async fn application(
        &self,
        codice_fiscale: &CodiceFiscale,
        protocol: &ProtocolNumber,
    ) -> Result<Option<Application>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications WHERE protocol = ?1 AND codice_fiscale = ?2"
        )))
        .bind(protocol.as_str())
        .bind(codice_fiscale.as_str())
        .fetch_optional(&self.readers)
        .await?;
        row.as_ref().map(rows::application).transpose()
    }

    async fn applications_of(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<Application>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications WHERE codice_fiscale = ?1 ORDER BY submitted_at, id"
        )))
        .bind(codice_fiscale.as_str())
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(rows::application).collect()
    }

    async fn applications_of_scheme(
        &self,
        scheme: &str,
        status: ApplicationStatus,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Application>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications
             WHERE scheme = ?1 AND status = ?2 AND protocol > ?3
             ORDER BY protocol LIMIT ?4"
        )))
        .bind(scheme)
        .bind(status.as_str())
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(rows::application).collect()
    }
}

/// Stores batches of submissions on the writer connection, one transaction per batch.
pub(super) struct SqliteBatch {
    pub(super) writer: SqlitePool,
}

impl Batch for SqliteBatch {
    async fn commit(&mut self, applications: &[NewApplication], by: &[Option<SubmittedBy>]) -> BatchOutcome {
        let mut conn = self.writer.acquire().await?;
        // The new rows travel as one JSON text, and SQLite's JSON functions cut a text at a NUL character where a
        // bound parameter keeps it: a batch with one is stored one submission at a time, its texts bound as they are.
        let nul = applications.iter().any(|a| a.scheme.contains('\0') || a.idempotency_key.as_str().contains('\0'));
        if !nul {
            let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
            let together = async {
                let submissions = submit_together(&mut tx, applications).await?;
                insert_audit_rows(&mut tx, &audit_rows(applications, by, submissions.iter().map(Some))).await?;
                Ok::<_, StoreError>(submissions)
            };
            match together.await {
                Ok(submissions) => {
                    // Acknowledged only once the commit (and its fsync) is done.
                    tx.commit().await?;
                    return Ok(submissions.into_iter().map(Ok).collect());
                }
                Err(error) => {
                    tracing::info!(%error, "a batch of submissions failed as a whole; storing them one at a time");
                    tx.rollback().await?;
                }
            }
        }
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let mut outcomes = Vec::with_capacity(applications.len());
        for application in applications {
            // Each in a savepoint: a submission that fails takes back only what it wrote.
            let mut savepoint = tx.begin().await?;
            let outcome = submit_on(&mut savepoint, application).await;
            if outcome.is_ok() {
                savepoint.commit().await?;
            } else {
                savepoint.rollback().await?;
            }
            outcomes.push(outcome);
        }
        insert_audit_rows(&mut tx, &audit_rows(applications, by, outcomes.iter().map(|o| o.as_ref().ok()))).await?;
        tx.commit().await?;
        Ok(outcomes)
    }
}

/// Stores a batch of applications on `conn` with a few statements in all, inside the caller's transaction, which
/// holds the write lock (`BEGIN IMMEDIATE`): what the batch meets is read once, [`Plan`] decides, and one insert
/// writes every new row. Any failure fails the whole batch; the caller then rolls back and stores the
/// applications one at a time.
/// The spending limits' reservations are decided in the plan and written in this transaction.
async fn submit_together(conn: &mut SqliteConnection, batch: &[NewApplication]) -> Result<Vec<Submission>, StoreError> {
    let persons: Vec<&str> = batch.iter().map(|a| a.codice_fiscale.as_str()).collect();
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {APPLICATION_COLUMNS} FROM applications WHERE codice_fiscale IN (SELECT value FROM json_each(?1))"
    )))
    .bind(serde_json::Value::from(persons).to_string())
    .fetch_all(&mut *conn)
    .await?;
    let stored = rows.iter().map(rows::application).collect::<Result<Vec<_>, _>>()?;
    let schemes: Vec<&str> = batch.iter().map(|a| a.scheme.as_str()).collect();
    let budgets = sqlx::query(
        "SELECT scheme, amount_cents, limit_cents - reserved_cents AS available FROM budgets
         WHERE scheme IN (SELECT value FROM json_each(?1))",
    )
    .bind(serde_json::Value::from(schemes).to_string())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| Ok((row.text("scheme")?, Room { amount: row.int("amount_cents")?, available: row.int("available")? })))
    .collect::<Result<HashMap<_, _>, StoreError>>()?;
    let plan = Plan::new(batch, &stored, &budgets);
    if plan.inserts().is_empty() {
        return plan.outcomes(&stored, Vec::new());
    }

    // The write lock is ours: the ids after the last one given are free. AUTOINCREMENT remembers the last one in
    // sqlite_sequence (until the first insert there is no row, hence the max with the table's own).
    let last: i64 = sqlx::query_scalar(
        "SELECT max(
             coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'applications'), 0),
             coalesce((SELECT max(id) FROM applications), 0))",
    )
    .fetch_one(&mut *conn)
    .await?;
    let rows: Vec<serde_json::Value> = plan
        .inserts()
        .iter()
        .zip(plan.statuses())
        .zip(last + 1..)
        .map(|((&i, status), id)| {
            let application = &batch[i];
            let submitted_at = application.submitted_at.trunc_subsecs(6);
            serde_json::json!([
                id,
                protocol_number(&application.protocol_prefix, submitted_at, id),
                application.codice_fiscale.as_str(),
                application.scheme,
                application.cumulation_group,
                application.idempotency_key.as_str(),
                status.as_str(),
                rows::reasons_to_db(&application.reasons),
                application.details.to_string(),
                timestamp_to_db(submitted_at),
                application.hold,
            ])
        })
        .collect();
    // No ON CONFLICT: the plan says nothing stands in the way, and if something does, the batch must fail.
    let rows = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO applications
             (id, protocol, codice_fiscale, scheme, cumulation_group, idempotency_key, status, reasons, details,
              submitted_at, updated_at, hold)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7,
                value ->> 8, value ->> 9, value ->> 9, value ->> 10
         FROM json_each(?1)
         RETURNING id, {APPLICATION_COLUMNS}"
    )))
    .bind(serde_json::Value::from(rows).to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut created =
        rows.iter().map(|row| Ok((row.int("id")?, rows::application(row)?))).collect::<Result<Vec<_>, StoreError>>()?;
    // RETURNING gives no order; the ids follow the plan's.
    created.sort_by_key(|(id, _)| *id);
    for (scheme, cents) in plan.reservations() {
        sqlx::query("UPDATE budgets SET reserved_cents = reserved_cents + ?1 WHERE scheme = ?2")
            .bind(cents)
            .bind(scheme)
            .execute(&mut *conn)
            .await?;
    }
    plan.outcomes(&stored, created.into_iter().map(|(_, application)| application).collect())
}

/// Stores one application on `conn`, inside the caller's transaction (the batch's savepoint), or finds what stands in
/// its way. The caller holds the write lock (`BEGIN IMMEDIATE`), so nothing changes between the statements.
/// The spending limit's reservation is made in the same savepoint as the insert, so that it rolls back with it.
async fn submit_on(conn: &mut SqliteConnection, application: &NewApplication) -> Result<Submission, StoreError> {
    let submitted_at = application.submitted_at.trunc_subsecs(6);
    // The spending limit: an accepted application that no longer fits is stored suspended.
    let room: Option<(i64, i64)> = if application.status == ApplicationStatus::Accepted {
        sqlx::query_as("SELECT amount_cents, limit_cents - reserved_cents FROM budgets WHERE scheme = ?1")
            .bind(&application.scheme)
            .fetch_optional(&mut *conn)
            .await?
    } else {
        None
    };
    let status = status_within(application, room);
    // Both UNIQUE(codice_fiscale, idempotency_key) and the partial index "one non-rejected application per
    // person and cumulation group" make this a no-op when something stands in the way; then we look up what it is.
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO applications
             (codice_fiscale, scheme, cumulation_group, idempotency_key, status, reasons, details, submitted_at,
              updated_at, hold)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)
         ON CONFLICT DO NOTHING
         RETURNING id",
    )
    .bind(application.codice_fiscale.as_str())
    .bind(&application.scheme)
    .bind(&application.cumulation_group)
    .bind(application.idempotency_key.as_str())
    .bind(status.as_str())
    .bind(rows::reasons_to_db(&application.reasons))
    .bind(application.details.to_string())
    .bind(timestamp_to_db(submitted_at))
    .bind(application.hold.as_deref())
    .fetch_optional(&mut *conn)
    .await?;

    match inserted {
        Some(id) => {
            if let (ApplicationStatus::Accepted, Some((amount, _))) = (status, room) {
                sqlx::query("UPDATE budgets SET reserved_cents = reserved_cents + ?1 WHERE scheme = ?2")
                    .bind(amount)
                    .bind(&application.scheme)
                    .execute(&mut *conn)
                    .await?;
            }
            let row = sqlx::query(AssertSqlSafe(format!(
                "UPDATE applications SET protocol = ?1 WHERE id = ?2 RETURNING {APPLICATION_COLUMNS}"
            )))
            .bind(protocol_number(&application.protocol_prefix, submitted_at, id))
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
            Ok(Submission::Created(rows::application(&row)?))
        }
        None => {
            // Same key first: a resubmission answers with the original even if it was rejected. Otherwise what
            // stands in the way holds an indemnity of the same cumulation group.
            let row = sqlx::query(AssertSqlSafe(format!(
                "SELECT {APPLICATION_COLUMNS} FROM applications
                 WHERE codice_fiscale = ?1
                   AND (idempotency_key = ?2
                        OR (cumulation_group = ?3 AND status NOT IN ('rejected', 'annulled')))
                 ORDER BY idempotency_key = ?2 DESC
                 LIMIT 1"
            )))
            .bind(application.codice_fiscale.as_str())
            .bind(application.idempotency_key.as_str())
            .bind(&application.cumulation_group)
            .fetch_optional(&mut *conn)
            .await?;
            // The write lock is ours since BEGIN IMMEDIATE: whatever blocked the insert is still there.
            stood_in_the_way(application, row.as_ref().map(rows::application).transpose()?)
        }
    }
}
