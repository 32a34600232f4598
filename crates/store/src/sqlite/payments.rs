//! Payment runs and the bank's reports on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sportello_domain::{CodiceFiscale, Iban};
use sqlx::sqlite::SqliteConnection;
use sqlx::{AssertSqlSafe, Row};

use super::outbox::enqueue_on;
use super::{SqliteStore, iso_date, timestamp};
use crate::notices::{Addressee, day};
use crate::rows;
use crate::sql::{RUN_COLUMNS, payable};
use crate::{
    NewPaymentRun, PaymentMethod, PaymentOutcome, PaymentRecord, PaymentRow, PaymentRun, PaymentStore, ReconcileCounts,
    RunTotal, StoreError, payments,
};

#[async_trait]
impl PaymentStore for SqliteStore {
    async fn start_payment_run(&self, run: &NewPaymentRun) -> Result<(PaymentRun, bool), StoreError> {
        let at = timestamp(run.at);
        let pay_date = iso_date(run.pay_date).to_string();
        // One writer at a time (BEGIN IMMEDIATE): a second run waits, then finds what the first assigned.
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        // The next number after the last run's, given under the write lock: a run refused or rolled back takes none.
        let created: Option<i64> = sqlx::query_scalar(
            "INSERT INTO payment_runs (id, pay_date, debtor_name, debtor_iban, debtor_bic, created_at)
             SELECT coalesce(max(id), 0) + 1, ?1, ?2, ?3, ?4, ?5 FROM payment_runs
             WHERE true
             ON CONFLICT (pay_date) DO NOTHING
             RETURNING id",
        )
        .bind(&pay_date)
        .bind(&run.debtor_name)
        .bind(&run.debtor_iban)
        .bind(&run.debtor_bic)
        .bind(&at)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = created {
            // Every accepted application with no payment that stands (one superseded by a new account does not).
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO payments
                     (run_id, application_id, protocol, codice_fiscale, scheme, method, iban, amount_cents, status,
                      updated_at)
                 SELECT ?1, a.id, a.protocol, a.codice_fiscale, a.scheme, a.details ->> '$.payment.method',
                        a.details ->> '$.payment.iban', b.amount_cents, 'scheduled', ?2
                 FROM applications a JOIN budgets b ON b.scheme = a.scheme
                 WHERE {}
                 ORDER BY a.id",
                payable("?3")
            )))
            .bind(id)
            .bind(&at)
            .bind(timestamp(run.accepted_before))
            .execute(&mut *tx)
            .await?;
            tell_run(&mut tx, id, &day(run.pay_date), run.at).await?;
        }
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {RUN_COLUMNS} FROM payment_runs WHERE pay_date = ?1")))
            .bind(&pay_date)
            .fetch_one(&mut *tx)
            .await?;
        let found = rows::run(&row)?;
        tx.commit().await?;
        Ok((found, created.is_some()))
    }

    async fn unnamed_transfers(&self, run: &NewPaymentRun) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT count(*) FROM (
                 SELECT p.codice_fiscale FROM payments p JOIN payment_runs r ON r.id = p.run_id
                 WHERE r.pay_date = ?1 AND p.method = 'iban'
                 UNION ALL
                 SELECT a.codice_fiscale FROM applications a JOIN budgets b ON b.scheme = a.scheme
                 WHERE NOT EXISTS (SELECT 1 FROM payment_runs WHERE pay_date = ?1)
                   AND a.details ->> '$.payment.method' = 'iban' AND {}
             ) t
             WHERE NOT EXISTS (SELECT 1 FROM persons pe WHERE pe.codice_fiscale = t.codice_fiscale)",
            payable("?2")
        )))
        .bind(iso_date(run.pay_date).to_string())
        .bind(timestamp(run.accepted_before))
        .fetch_one(&self.readers)
        .await?;
        payments::count(n, "unnamed transfers")
    }

    async fn payment_runs(&self, limit: u32) -> Result<Vec<crate::RunSummary>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(crate::sql::payment_runs_sql("?1")))
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
            .await?;
        rows.iter().map(crate::rows::run_summary).collect()
    }

    async fn run_totals(&self, run_id: i64) -> Result<Vec<RunTotal>, StoreError> {
        let rows = sqlx::query(
            "SELECT scheme, method, count(*) AS n, sum(amount_cents) AS total FROM payments WHERE run_id = ?1
             GROUP BY scheme, method ORDER BY scheme, method",
        )
        .bind(run_id)
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(rows::run_total).collect()
    }

    async fn run_payments(
        &self,
        run_id: i64,
        method: PaymentMethod,
        after: i64,
        limit: u32,
    ) -> Result<Vec<PaymentRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.id, p.protocol, p.codice_fiscale, p.scheme, p.iban, p.amount_cents,
                    pe.nome || ' ' || pe.cognome AS holder
             FROM payments p LEFT JOIN persons pe ON pe.codice_fiscale = p.codice_fiscale
             WHERE p.run_id = ?1 AND p.method = ?2 AND p.id > ?3 ORDER BY p.id LIMIT ?4",
        )
        .bind(run_id)
        .bind(method.as_str())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(rows::payment_row).collect()
    }

    async fn complete_payment_run(&self, run_id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE payment_runs SET completed_at = coalesce(completed_at, ?2) WHERE id = ?1")
            .bind(run_id)
            .bind(timestamp(at))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn reconcile(&self, outcomes: &[PaymentOutcome], at: DateTime<Utc>) -> Result<ReconcileCounts, StoreError> {
        let now = at;
        let at = timestamp(at);
        let mut counts = ReconcileCounts::default();
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        for outcome in outcomes {
            let changed = match &outcome.returned {
                None => sqlx::query(
                    "UPDATE payments SET status = 'confirmed', updated_at = ?2
                     WHERE protocol = ?1 AND status = 'scheduled'",
                )
                .bind(&outcome.protocol)
                .bind(&at)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                Some(reason) => sqlx::query(
                    "UPDATE payments SET status = 'returned', reason = ?3, updated_at = ?2
                     WHERE protocol = ?1 AND status IN ('scheduled', 'confirmed')",
                )
                .bind(&outcome.protocol)
                .bind(&at)
                .bind(reason)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
            };
            if changed > 0 {
                tell_outcome(&mut tx, &outcome.protocol, outcome.returned.as_deref(), now).await?;
            }
            counts.record(changed, outcome.returned.is_some());
        }
        tx.commit().await?;
        Ok(counts)
    }

    async fn replace_returned_iban(
        &self,
        codice_fiscale: &CodiceFiscale,
        protocol: &str,
        iban: &Iban,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let at = timestamp(at);
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let superseded = sqlx::query(
            "UPDATE payments SET status = 'superseded', updated_at = ?3
             WHERE protocol = ?1 AND codice_fiscale = ?2 AND status = 'returned'",
        )
        .bind(protocol)
        .bind(codice_fiscale.as_str())
        .bind(&at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if superseded == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE applications
             SET details = json_set(details, '$.payment', json_object('method', 'iban', 'iban', ?3)), updated_at = ?4
             WHERE protocol = ?1 AND codice_fiscale = ?2",
        )
        .bind(protocol)
        .bind(codice_fiscale.as_str())
        .bind(iban.electronic())
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn payments_of(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<PaymentRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.protocol, r.pay_date, p.method, p.iban, p.amount_cents, p.status, p.reason
             FROM payments p JOIN payment_runs r ON r.id = p.run_id
             WHERE p.codice_fiscale = ?1 ORDER BY p.id",
        )
        .bind(codice_fiscale.as_str())
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(rows::payment_record).collect()
    }
}

/// Where to tell the owner of the application in `row` (its `protocol`, `details`, and `email` and `cellulare` on file).
fn addressee(row: &sqlx::sqlite::SqliteRow) -> Result<Addressee, StoreError> {
    let details: String = row.try_get("details")?;
    let details = serde_json::from_str(&details).unwrap_or(serde_json::Value::Null);
    Ok(Addressee::of(row.try_get("protocol")?, &details, row.try_get("email")?, row.try_get("cellulare")?))
}

/// Queues, in the run's transaction, the message of each payment of run `run_id` to its owner, in payment order.
async fn tell_run(
    conn: &mut SqliteConnection,
    run_id: i64,
    pay_date: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let rows = sqlx::query(
        "SELECT p.protocol, p.method, p.amount_cents, a.details, pe.email, pe.cellulare
         FROM payments p JOIN applications a ON a.id = p.application_id
         LEFT JOIN persons pe ON pe.codice_fiscale = p.codice_fiscale
         WHERE p.run_id = ?1 ORDER BY p.id",
    )
    .bind(run_id)
    .fetch_all(&mut *conn)
    .await?;
    for row in &rows {
        let method: String = row.try_get("method")?;
        for message in addressee(row)?.scheduled(pay_date, row.try_get("amount_cents")?, &method, now) {
            enqueue_on(conn, &message).await?;
        }
    }
    Ok(())
}

/// Queues, in the report's transaction, the message telling the owner of application `protocol` that its payment
/// was made, or `returned` (with the reason) and what to do.
async fn tell_outcome(
    conn: &mut SqliteConnection,
    protocol: &str,
    returned: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let row = sqlx::query(
        "SELECT a.protocol, a.details, pe.email, pe.cellulare
         FROM applications a LEFT JOIN persons pe ON pe.codice_fiscale = a.codice_fiscale
         WHERE a.protocol = ?1",
    )
    .bind(protocol)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(()) };
    let addressee = addressee(&row)?;
    let messages = match returned {
        None => addressee.paid(now),
        Some(reason) => addressee.returned(reason, now),
    };
    for message in &messages {
        enqueue_on(conn, message).await?;
    }
    Ok(())
}
