//! Applications on PostgreSQL, group-committed ([`crate::group`]): a batch is decided in memory and written with three
//! statements, or, if that fails, stored one submission at a time, each in a savepoint of its own.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sportello_domain::law::Reason;
use sportello_domain::{CodiceFiscale, ProtocolNumber};
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, Connection};

use super::{PgStore, audit::insert_audit_rows};
use crate::applications::{status_within, stood_in_the_way};
use crate::group::{Batch, BatchOutcome, Plan, Room, audit_rows};
use crate::rows::{self, StoredRow};
use crate::sql::APPLICATION_COLUMNS;
use crate::{
    Application, ApplicationStatus, ApplicationStore, NewApplication, StoreError, Submission, SubmittedBy,
    protocol_number,
};

#[async_trait]
impl ApplicationStore for PgStore {
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
            "SELECT {APPLICATION_COLUMNS} FROM applications WHERE protocol = $1 AND codice_fiscale = $2"
        )))
        .bind(protocol.as_str())
        .bind(codice_fiscale.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::application).transpose()
    }

    async fn applications_of(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<Application>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications WHERE codice_fiscale = $1 ORDER BY submitted_at, id"
        )))
        .bind(codice_fiscale.as_str())
        .fetch_all(&self.pool)
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
             WHERE scheme = $1 AND status = $2 AND protocol > $3
             ORDER BY protocol LIMIT $4"
        )))
        .bind(scheme)
        .bind(status.as_str())
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::application).collect()
    }
}

/// Stores batches of submissions, one transaction per batch, on a connection of the pool.
pub(super) struct PgBatch {
    pub(super) pool: PgPool,
}

impl Batch for PgBatch {
    async fn commit(&mut self, applications: &[NewApplication], by: &[Option<SubmittedBy>]) -> BatchOutcome {
        match tokio::time::timeout(super::BATCH_DEADLINE, self.commit_now(applications, by)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(StoreError::Unavailable(format!(
                "the database did not answer a batch of submissions within {} s",
                super::BATCH_DEADLINE.as_secs()
            ))),
        }
    }
}

impl PgBatch {
    async fn commit_now(&mut self, applications: &[NewApplication], by: &[Option<SubmittedBy>]) -> BatchOutcome {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let together = async {
            let submissions = submit_together(&mut tx, applications).await?;
            insert_audit_rows(&mut tx, &audit_rows(applications, by, submissions.iter().map(Some))).await?;
            Ok::<_, StoreError>(submissions)
        };
        match together.await {
            Ok(submissions) => {
                tx.commit().await?;
                return Ok(submissions.into_iter().map(Ok).collect());
            }
            Err(error) => {
                tracing::info!(%error, "a batch of submissions failed as a whole; storing them one at a time");
                tx.rollback().await?;
            }
        }
        let mut tx = conn.begin().await?;
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

/// Stores a batch of applications on `conn` with three statements in all, inside the caller's transaction: what the
/// batch meets is read once, [`Plan`] decides, and one insert writes every new row. Any failure fails the whole
/// batch, including a conflict with a row another process committed after the read (the insert has no ON CONFLICT);
/// the caller then rolls back and stores the applications one at a time.
///
/// The spending limits' rows are locked first (`FOR UPDATE`, in scheme order, so two writers never deadlock), the
/// reservations decided in the plan, and written in this transaction.
async fn submit_together(conn: &mut PgConnection, batch: &[NewApplication]) -> Result<Vec<Submission>, StoreError> {
    // A statement's plan is cached per connection and, after a few runs, made once for any parameters; one made
    // while the table was nearly empty scans it whole, and keeps doing so as it grows to millions of rows. A fresh
    // plan each time costs a fraction of a millisecond per batch and always finds the index.
    sqlx::raw_sql("SET LOCAL plan_cache_mode = force_custom_plan").execute(&mut *conn).await?;
    let schemes: Vec<&str> = batch.iter().map(|a| a.scheme.as_str()).collect();
    let budgets = sqlx::query(
        "SELECT scheme, amount_cents, limit_cents - reserved_cents AS available FROM budgets
         WHERE scheme = ANY($1) ORDER BY scheme FOR UPDATE",
    )
    .bind(&schemes)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| Ok((row.text("scheme")?, Room { amount: row.int("amount_cents")?, available: row.int("available")? })))
    .collect::<Result<HashMap<_, _>, StoreError>>()?;
    let persons: Vec<&str> = batch.iter().map(|a| a.codice_fiscale.as_str()).collect();
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {APPLICATION_COLUMNS} FROM applications WHERE codice_fiscale = ANY($1)"
    )))
    .bind(&persons)
    .fetch_all(&mut *conn)
    .await?;
    let stored = rows.iter().map(rows::application).collect::<Result<Vec<_>, _>>()?;
    let plan = Plan::new(batch, &stored, &budgets);
    if plan.inserts().is_empty() {
        return plan.outcomes(&stored, Vec::new());
    }

    // The ids first, so that each row is written once, protocol number included.
    let count = i64::try_from(plan.inserts().len()).map_err(|_| StoreError::Corrupt("batch too large".into()))?;
    let mut ids: Vec<i64> =
        sqlx::query_scalar("SELECT nextval(pg_get_serial_sequence('applications', 'id')) FROM generate_series(1, $1)")
            .bind(count)
            .fetch_all(&mut *conn)
            .await?;
    ids.sort_unstable();
    let mut columns = NewRows::default();
    for ((&i, &status), &id) in plan.inserts().iter().zip(plan.statuses()).zip(&ids) {
        let application = &batch[i];
        let submitted_at = application.submitted_at.trunc_subsecs(6);
        columns.id.push(id);
        columns.protocol.push(protocol_number(&application.protocol_prefix, submitted_at, id));
        columns.codice_fiscale.push(application.codice_fiscale.as_str());
        columns.scheme.push(&application.scheme);
        columns.cumulation_group.push(&application.cumulation_group);
        columns.idempotency_key.push(application.idempotency_key.as_str());
        columns.status.push(status.as_str());
        columns.reasons.push(Json(application.reasons.as_slice()));
        columns.details.push(Json(&application.details));
        columns.submitted_at.push(submitted_at);
        columns.hold.push(application.hold.as_deref());
    }
    let rows = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO applications
             (id, protocol, codice_fiscale, scheme, cumulation_group, idempotency_key, status, reasons, details,
              submitted_at, updated_at, hold)
         OVERRIDING SYSTEM VALUE
         SELECT id, protocol, codice_fiscale, scheme, cumulation_group, idempotency_key, status, reasons, details,
                submitted_at, submitted_at, hold
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::jsonb[], $9::jsonb[], $10::timestamptz[], $11::text[])
             AS new (id, protocol, codice_fiscale, scheme, cumulation_group, idempotency_key, status, reasons,
                     details, submitted_at, hold)
         RETURNING id, {APPLICATION_COLUMNS}"
    )))
    .bind(columns.id)
    .bind(columns.protocol)
    .bind(columns.codice_fiscale)
    .bind(columns.scheme)
    .bind(columns.cumulation_group)
    .bind(columns.idempotency_key)
    .bind(columns.status)
    .bind(columns.reasons)
    .bind(columns.details)
    .bind(columns.submitted_at)
    .bind(columns.hold)
    .fetch_all(&mut *conn)
    .await?;
    let mut created =
        rows.iter().map(|row| Ok((row.int("id")?, rows::application(row)?))).collect::<Result<Vec<_>, StoreError>>()?;
    // RETURNING promises no order; the ids follow the plan's.
    created.sort_by_key(|(id, _)| *id);
    for (scheme, cents) in plan.reservations() {
        sqlx::query("UPDATE budgets SET reserved_cents = reserved_cents + $1 WHERE scheme = $2")
            .bind(cents)
            .bind(scheme)
            .execute(&mut *conn)
            .await?;
    }
    plan.outcomes(&stored, created.into_iter().map(|(_, application)| application).collect())
}

/// The new rows of a batch, column by column, as `unnest` takes them.
#[derive(Default)]
struct NewRows<'a> {
    id: Vec<i64>,
    protocol: Vec<String>,
    codice_fiscale: Vec<&'a str>,
    scheme: Vec<&'a str>,
    cumulation_group: Vec<&'a str>,
    idempotency_key: Vec<&'a str>,
    status: Vec<&'static str>,
    reasons: Vec<Json<&'a [Reason]>>,
    details: Vec<Json<&'a serde_json::Value>>,
    submitted_at: Vec<DateTime<Utc>>,
    hold: Vec<Option<&'a str>>,
}

/// Stores one application on `conn`, inside the caller's transaction, or finds what stands in its way.
async fn submit_on(conn: &mut PgConnection, application: &NewApplication) -> Result<Submission, StoreError> {
    let submitted_at = application.submitted_at.trunc_subsecs(6);
    // The spending limit, its row locked until the transaction ends: an accepted application that no longer fits
    // is stored suspended.
    let room: Option<(i64, i64)> = if application.status == ApplicationStatus::Accepted {
        sqlx::query_as("SELECT amount_cents, limit_cents - reserved_cents FROM budgets WHERE scheme = $1 FOR UPDATE")
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
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)
         ON CONFLICT DO NOTHING
         RETURNING id",
    )
    .bind(application.codice_fiscale.as_str())
    .bind(&application.scheme)
    .bind(&application.cumulation_group)
    .bind(application.idempotency_key.as_str())
    .bind(status.as_str())
    .bind(Json(&application.reasons))
    .bind(Json(&application.details))
    .bind(submitted_at)
    .bind(application.hold.as_deref())
    .fetch_optional(&mut *conn)
    .await?;

    match inserted {
        Some(id) => {
            if let (ApplicationStatus::Accepted, Some((amount, _))) = (status, room) {
                sqlx::query("UPDATE budgets SET reserved_cents = reserved_cents + $1 WHERE scheme = $2")
                    .bind(amount)
                    .bind(&application.scheme)
                    .execute(&mut *conn)
                    .await?;
            }
            let row = sqlx::query(AssertSqlSafe(format!(
                "UPDATE applications SET protocol = $1 WHERE id = $2 RETURNING {APPLICATION_COLUMNS}"
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
                 WHERE codice_fiscale = $1
                   AND (idempotency_key = $2
                        OR (cumulation_group = $3 AND status NOT IN ('rejected', 'annulled')))
                 ORDER BY idempotency_key = $2 DESC
                 LIMIT 1"
            )))
            .bind(application.codice_fiscale.as_str())
            .bind(application.idempotency_key.as_str())
            .bind(&application.cumulation_group)
            .fetch_optional(&mut *conn)
            .await?;
            // Rows are never deleted, so what blocked the insert is still there.
            stood_in_the_way(application, row.as_ref().map(rows::application).transpose()?)
        }
    }
}
