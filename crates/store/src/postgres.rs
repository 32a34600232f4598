//! The PostgreSQL backend: a connection pool (sqlx replaces broken connections by itself) and a registry import that
//! streams rows with `COPY … FROM STDIN` into a staging table and swaps it in at commit.
//!
//! Submissions are group-committed ([`crate::group`]) as on SQLite, by one writer task that borrows a connection of
//! the pool per batch, and each batch is written with three statements whatever its size: one read of what the
//! batch's persons already have, one `nextval` for the new ids, one `INSERT … SELECT FROM unnest(…)`. If that fails
//! (bad data, or a row another process committed in between) the batch is rolled back and stored one submission at
//! a time, each in its own savepoint. Chosen by measurement, not by assumption: PostgreSQL already groups the WAL
//! flushes of concurrent commits, but on 2 cores a submission is bound by CPU, not by fsync, and what costs CPU is
//! the statements. 20,000 submissions from 200 tasks, with the database server (PostgreSQL 15, `fsync` and
//! `synchronous_commit` on) on the same 2 cores and other builds running beside, `cargo test --release -p
//! sportello-store --test conformance -- --ignored --nocapture --test-threads=1 submission_rate_on_postgres`:
//!
//! | design | submissions/s |
//! | --- | --- |
//! | one transaction per submission, 16 pooled connections (before) | 2,200–3,000 |
//! | one transaction per batch, a savepoint and the same statements per submission | 2,400 |
//! | one transaction per batch, a few statements per batch (this) | 5,400–9,200 |
//!
//! The batch's reads use a fresh plan each time (`plan_cache_mode`, see `submit_together`): with the plan cached
//! while the table was empty, the same design fell back to 2,600 per second as the table grew.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sportello_domain::registry::{Position, RegistryRow};
use sportello_domain::{Cents, CodiceFiscale, Iban};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Postgres, QueryBuilder, Row};

mod credentials;
mod persons;

use crate::audits::{AuditSink, Auditor};
use crate::group::{Batch, BatchOutcome, CommitCount, GroupCommit, Plan, Room, Submitter, audit_rows};
use crate::payments;
use crate::{
    Application, ApplicationStatus, AuditEntry, Budget, BudgetChange, BudgetEvent, BudgetSeed, NewApplication,
    NewPaymentRun, OutboxEntry, OutboxMessage, PaymentMethod, PaymentOutcome, PaymentRecord, PaymentRow, PaymentRun,
    PaymentStatus, ReconcileCounts, RegistryImport, RegistrySummary, RunTotal, Session, SessionKind, Store, StoreError,
    Submission, SubmittedBy, cessation_from_db, codice_fiscale_from_db, count_from_db, days_from_db, kind_from_db,
    later, protocol_number,
};

/// Pool size: enough for the portal's concurrent requests without crowding the server's `max_connections`.
const MAX_CONNECTIONS: u32 = 16;

/// How long a request waits for a pooled connection (or for the server to accept a new one) before failing. Short:
/// while the database is down, the portal answers 503 in a few seconds rather than holding every request until
/// its timeout; the pool reconnects by itself once the server is back.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Key of the advisory lock that serialises registry imports (any constant unique to Sportello).
const IMPORT_LOCK: i64 = 0x5350_4f52_5245_4731; // "SPORREG1"

/// Key of the advisory lock that serialises the start of payment runs ("SPORPAY1").
const PAYMENTS_LOCK: i64 = 0x5350_4f52_5041_5931;

/// Bytes of `COPY` data buffered (across writes) before they are sent as one `COPY`.
const COPY_CHUNK: usize = 4 << 20;

/// The registry's table as every import creates it. Keep it identical to the one in `migrations/postgres`.
const CREATE_STAGING: &str = r#"DROP TABLE IF EXISTS registry_positions_staging;
CREATE TABLE registry_positions_staging (
    seq bigint NOT NULL,
    codice_fiscale text COLLATE "C" NOT NULL,
    kind text NOT NULL,
    start_date date,
    end_date date,
    year integer,
    days bigint,
    income_cents bigint,
    cessation text
)"#;

/// FREEZE: the table was created in this transaction, so its rows can be written already frozen and all-visible,
/// sparing the first vacuum a rewrite of the whole table.
const COPY_STAGING: &str = "COPY registry_positions_staging
    (seq, codice_fiscale, kind, start_date, end_date, year, days, income_cents, cessation)
    FROM STDIN (FORMAT text, FREEZE true)";

/// Indexes and analyses the staging table while readers still use the live one; only the final renames take the
/// live table's lock, for an instant, inside the import's transaction.
const PREPARE_STAGING: &str =
    "CREATE INDEX registry_positions_staging_cf ON registry_positions_staging (codice_fiscale);
ANALYZE registry_positions_staging;";

const SWAP_STAGING: &str = "DROP TABLE registry_positions;
ALTER TABLE registry_positions_staging RENAME TO registry_positions;
ALTER INDEX registry_positions_staging_cf RENAME TO registry_positions_cf;";

const APPLICATION_COLUMNS: &str = "protocol, codice_fiscale, scheme, cumulation_group, idempotency_key, status, reasons, details, submitted_at, \
     updated_at, hold";

const SESSION_COLUMNS: &str = "id_hash, kind, actor, codice_fiscale, login_method, channel, created_at, last_seen_at, \
     expires_at, credential, confirmed";

const OUTBOX_COLUMNS: &str = "id, channel, recipient, subject, body, not_before, attempts";

const RUN_COLUMNS: &str = "id, pay_date, debtor_name, debtor_iban, debtor_bic, created_at, completed_at";

/// A budget with its count of suspended applications.
const BUDGET_SELECT: &str = "SELECT b.scheme, b.amount_cents, b.limit_cents, b.legal_ref, b.reserved_cents,
    (SELECT count(*) FROM applications a WHERE a.scheme = b.scheme AND a.status = 'suspended_budget') AS suspended
    FROM budgets b";

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// How to open the registry import's own connection.
    options: PgConnectOptions,
    /// The queue to the writer task that group-commits submissions.
    submissions: Submitter,
    /// The queue to the writer task that group-commits audit entries.
    audits: Auditor,
}

impl PgStore {
    /// Connects to the database named by `url` (`postgres://user:password@host:port/database`).
    /// Does not run migrations: [`crate::open`] does, or call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, GroupCommit::default()).await
    }

    /// Like [`PgStore::connect`], grouping submissions into commits as `group_commit` says. Spawns the writer task
    /// on the current tokio runtime; it stops when the last clone of the store is dropped.
    pub async fn connect_with(url: &str, group_commit: GroupCommit) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(|e| StoreError::connect(url, e))?;
        // One direct connection first: a wrong URL or a server that is down fails at once with the driver's reason,
        // where the pool would retry until its acquire timeout. Later the pool retries and reconnects by itself.
        let probe = options.connect().await.map_err(|e| StoreError::connect(url, e))?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options.clone());
        let submissions = Submitter::spawn(PgBatch { pool: pool.clone() }, group_commit, "postgres");
        let audits = Auditor::spawn(PgAudits { pool: pool.clone() });
        Ok(Self { pool, options, submissions, audits })
    }

    /// Closes every connection, waiting for them to finish; submissions made afterwards fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// How many transactions have carried submissions so far: fewer than the submissions when they were grouped.
    pub fn submission_commits(&self) -> CommitCount {
        self.submissions.commits()
    }
}

/// The condition on `applications a` of what a payment run assigns, with the cut-off bound at `cutoff`: accepted,
/// without a hold, last changed (accepted, released, given a new account) before the cut-off, and with no payment
/// that stands (one superseded by a new account does not).
fn payable(cutoff: &str) -> String {
    format!(
        "a.status = 'accepted' AND a.hold IS NULL AND a.updated_at < {cutoff}
         AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.application_id = a.id AND p.status <> 'superseded')"
    )
}

#[async_trait]
impl Store for PgStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/postgres").run(&self.pool).await?;
        Ok(())
    }

    async fn pending_migrations(&self) -> Result<usize, StoreError> {
        let migrator = sqlx::migrate!("./migrations/postgres");
        let table: Option<String> =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text").fetch_one(&self.pool).await?;
        let applied: Vec<i64> = match table {
            Some(_) => {
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(&self.pool).await?
            }
            None => Vec::new(),
        };
        Ok(crate::pending(&migrator, &applied))
    }

    async fn begin_registry_import(&self) -> Result<Box<dyn RegistryImport>, StoreError> {
        // Its own connection, not a pooled one: dropping the import closes it, and the server rolls back.
        let mut conn = self.options.clone().disable_statement_logging().connect().await?;
        sqlx::raw_sql("BEGIN").execute(&mut conn).await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(IMPORT_LOCK).execute(&mut conn).await?;
        sqlx::raw_sql(CREATE_STAGING).execute(&mut conn).await?;
        Ok(Box::new(PgImport { conn, buffer: String::with_capacity(COPY_CHUNK + 1024), rows: 0, interrupted: false }))
    }

    async fn positions(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<Position>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, start_date, end_date, year, days, income_cents, cessation
             FROM registry_positions WHERE codice_fiscale = $1 ORDER BY seq",
        )
        .bind(codice_fiscale.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(position_from_row).collect()
    }

    async fn registry_summary(&self) -> Result<RegistrySummary, StoreError> {
        let row = sqlx::query("SELECT persons, positions, imported_at FROM registry_meta WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let count = |name: &str| -> Result<u64, StoreError> {
            let n: i64 = get(&row, name)?;
            u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative {name} count {n} in registry_meta")))
        };
        Ok(RegistrySummary {
            persons: count("persons")?,
            positions: count("positions")?,
            imported_at: get(&row, "imported_at")?,
        })
    }

    async fn registry_persons(
        &self,
        after: Option<&CodiceFiscale>,
        limit: u32,
    ) -> Result<Vec<CodiceFiscale>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT codice_fiscale FROM registry_positions
             WHERE codice_fiscale > $1 ORDER BY codice_fiscale LIMIT $2",
        )
        .bind(after.map_or("", CodiceFiscale::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| codice_fiscale_from_db(&get::<String>(row, "codice_fiscale")?)).collect()
    }

    async fn submit(&self, application: NewApplication) -> Result<Submission, StoreError> {
        self.submissions.submit(application, None).await
    }

    async fn submit_audited(&self, application: NewApplication, by: SubmittedBy) -> Result<Submission, StoreError> {
        self.submissions.submit(application, Some(by)).await
    }

    async fn application(
        &self,
        codice_fiscale: &CodiceFiscale,
        protocol: &str,
    ) -> Result<Option<Application>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications WHERE protocol = $1 AND codice_fiscale = $2"
        )))
        .bind(protocol)
        .bind(codice_fiscale.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(application_from_row).transpose()
    }

    async fn applications_of(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<Application>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications WHERE codice_fiscale = $1 ORDER BY submitted_at, id"
        )))
        .bind(codice_fiscale.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(application_from_row).collect()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn ensure_budget(&self, seed: &BudgetSeed, at: DateTime<Utc>) -> Result<(), StoreError> {
        // Every start after the first finds the limit recorded: one indexed read, no lock, no count.
        let known = |conn| {
            sqlx::query_scalar::<_, i64>("SELECT 1::bigint FROM budgets WHERE scheme = $1")
                .bind(&seed.scheme)
                .fetch_optional(conn)
        };
        if known(&self.pool).await?.is_some() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        // What is already accepted counts as reserved; a limit below it cannot be recorded (the CHECK would refuse
        // it anyway, with a message nobody could act on).
        let accepted: i64 =
            sqlx::query_scalar("SELECT count(*) FROM applications WHERE scheme = $1 AND status = 'accepted'")
                .bind(&seed.scheme)
                .fetch_one(&mut *tx)
                .await?;
        let reserved = accepted.checked_mul(seed.amount.get()).ok_or_else(|| {
            StoreError::Corrupt(format!("{accepted} accepted applications of {} overflow", seed.scheme))
        })?;
        if reserved > seed.limit.get() {
            return Err(StoreError::BudgetBelowReserved {
                scheme: seed.scheme.clone(),
                limit: seed.limit,
                reserved: Cents::new(reserved),
            });
        }
        // A concurrent start may have recorded it meanwhile: then this one records nothing.
        let inserted = sqlx::query(
            "INSERT INTO budgets (scheme, amount_cents, limit_cents, legal_ref, reserved_cents)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (scheme) DO NOTHING",
        )
        .bind(&seed.scheme)
        .bind(seed.amount.get())
        .bind(seed.limit.get())
        .bind(&seed.legal_ref)
        .bind(reserved)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() > 0 {
            sqlx::query(
                "INSERT INTO budget_history (scheme, limit_cents, legal_ref, set_at, released) VALUES ($1, $2, $3, $4, 0)",
            )
            .bind(&seed.scheme)
            .bind(seed.limit.get())
            .bind(&seed.legal_ref)
            .bind(at.trunc_subsecs(6))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn set_budget_limit(
        &self,
        scheme: &str,
        limit: Cents,
        legal_ref: &str,
        set_by: &str,
        at: DateTime<Utc>,
    ) -> Result<BudgetChange, StoreError> {
        let at = at.trunc_subsecs(6);
        // The budget's row lock, as the submissions take it: no reservation happens between the read and the release.
        let mut tx = self.pool.begin().await?;
        let (amount, reserved): (i64, i64) =
            sqlx::query_as("SELECT amount_cents, reserved_cents FROM budgets WHERE scheme = $1 FOR UPDATE")
                .bind(scheme)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::UnknownBudget(scheme.to_owned()))?;
        if limit.get() < reserved {
            return Err(StoreError::BudgetBelowReserved {
                scheme: scheme.to_owned(),
                limit,
                reserved: Cents::new(reserved),
            });
        }
        let fit = (limit.get() - reserved) / amount;
        let released = sqlx::query(
            "UPDATE applications SET status = 'accepted', updated_at = $3
             WHERE id IN (SELECT id FROM applications WHERE scheme = $1 AND status = 'suspended_budget'
                          ORDER BY submitted_at, id LIMIT $2)",
        )
        .bind(scheme)
        .bind(fit)
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let released_cents =
            i64::try_from(released).map_err(|_| StoreError::Corrupt("too many released".into()))? * amount;
        sqlx::query(
            "UPDATE budgets SET limit_cents = $2, legal_ref = $3, reserved_cents = reserved_cents + $4 WHERE scheme = $1",
        )
        .bind(scheme)
        .bind(limit.get())
        .bind(legal_ref)
        .bind(released_cents)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO budget_history (scheme, limit_cents, legal_ref, set_at, released, set_by)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(scheme)
        .bind(limit.get())
        .bind(legal_ref)
        .bind(at)
        .bind(released_cents / amount)
        .bind(set_by)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!("{BUDGET_SELECT} WHERE b.scheme = $1")))
            .bind(scheme)
            .fetch_one(&mut *tx)
            .await?;
        let budget = budget_from_row(&row)?;
        tx.commit().await?;
        Ok(BudgetChange { budget, released })
    }

    async fn budgets(&self) -> Result<Vec<Budget>, StoreError> {
        let rows =
            sqlx::query(AssertSqlSafe(format!("{BUDGET_SELECT} ORDER BY b.scheme"))).fetch_all(&self.pool).await?;
        rows.iter().map(budget_from_row).collect()
    }

    async fn budget_history(&self) -> Result<Vec<BudgetEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT scheme, limit_cents, legal_ref, set_at, released, set_by FROM budget_history ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(BudgetEvent {
                    scheme: get(row, "scheme")?,
                    limit: Cents::new(get(row, "limit_cents")?),
                    legal_ref: get(row, "legal_ref")?,
                    set_at: get(row, "set_at")?,
                    released: payments::count(get(row, "released")?, "released")?,
                    set_by: get(row, "set_by")?,
                })
            })
            .collect()
    }

    async fn start_payment_run(&self, run: &NewPaymentRun) -> Result<(PaymentRun, bool), StoreError> {
        let at = run.at.trunc_subsecs(6);
        let pay_date = run.pay_date;
        // One run at a time: a second one waits for the first to commit, then finds what it assigned. The unique
        // index on payments would stop a second payment anyway; the lock spares the work of finding out.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(PAYMENTS_LOCK).execute(&mut *tx).await?;
        // The next number after the last run's, under the lock: a sequence would give a number to a run refused or
        // rolled back, and to every rerun (ON CONFLICT takes a value before it finds the conflict).
        let created: Option<i64> = sqlx::query_scalar(
            "INSERT INTO payment_runs (id, pay_date, debtor_name, debtor_iban, debtor_bic, created_at)
             OVERRIDING SYSTEM VALUE
             SELECT coalesce(max(id), 0) + 1, $1, $2, $3, $4, $5 FROM payment_runs
             ON CONFLICT (pay_date) DO NOTHING
             RETURNING id",
        )
        .bind(pay_date)
        .bind(&run.debtor_name)
        .bind(&run.debtor_iban)
        .bind(&run.debtor_bic)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = created {
            // Every accepted application with no payment that stands (one superseded by a new account does not).
            sqlx::query(AssertSqlSafe(format!(
                "INSERT INTO payments
                     (run_id, application_id, protocol, codice_fiscale, scheme, method, iban, amount_cents, status,
                      updated_at)
                 SELECT $1, a.id, a.protocol, a.codice_fiscale, a.scheme, a.details -> 'payment' ->> 'method',
                        a.details -> 'payment' ->> 'iban', b.amount_cents, 'scheduled', $2
                 FROM applications a JOIN budgets b ON b.scheme = a.scheme
                 WHERE {}
                 ORDER BY a.id
                 ON CONFLICT (application_id) WHERE status <> 'superseded' DO NOTHING",
                payable("$3")
            )))
            .bind(id)
            .bind(at)
            .bind(run.accepted_before.trunc_subsecs(6))
            .execute(&mut *tx)
            .await?;
        }
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {RUN_COLUMNS} FROM payment_runs WHERE pay_date = $1")))
            .bind(pay_date)
            .fetch_one(&mut *tx)
            .await?;
        let found = run_from_row(&row)?;
        tx.commit().await?;
        Ok((found, created.is_some()))
    }

    async fn unnamed_transfers(&self, run: &NewPaymentRun) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT count(*) FROM (
                 SELECT p.codice_fiscale FROM payments p JOIN payment_runs r ON r.id = p.run_id
                 WHERE r.pay_date = $1 AND p.method = 'iban'
                 UNION ALL
                 SELECT a.codice_fiscale FROM applications a JOIN budgets b ON b.scheme = a.scheme
                 WHERE NOT EXISTS (SELECT 1 FROM payment_runs WHERE pay_date = $1)
                   AND a.details -> 'payment' ->> 'method' = 'iban' AND {}
             ) t
             WHERE NOT EXISTS (SELECT 1 FROM persons pe WHERE pe.codice_fiscale = t.codice_fiscale)",
            payable("$2")
        )))
        .bind(run.pay_date)
        .bind(run.accepted_before.trunc_subsecs(6))
        .fetch_one(&self.pool)
        .await?;
        payments::count(n, "unnamed transfers")
    }

    async fn run_totals(&self, run_id: i64) -> Result<Vec<RunTotal>, StoreError> {
        let rows = sqlx::query(
            "SELECT scheme, method, count(*) AS n, sum(amount_cents)::bigint AS total FROM payments WHERE run_id = $1
             GROUP BY scheme, method ORDER BY scheme, method",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RunTotal {
                    scheme: get(row, "scheme")?,
                    method: PaymentMethod::from_db(&get::<String>(row, "method")?)?,
                    count: payments::count(get(row, "n")?, "count")?,
                    total: Cents::new(get(row, "total")?),
                })
            })
            .collect()
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
             WHERE p.run_id = $1 AND p.method = $2 AND p.id > $3 ORDER BY p.id LIMIT $4",
        )
        .bind(run_id)
        .bind(method.as_str())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PaymentRow {
                    id: get(row, "id")?,
                    protocol: get(row, "protocol")?,
                    codice_fiscale: codice_fiscale_from_db(&get::<String>(row, "codice_fiscale")?)?,
                    scheme: get(row, "scheme")?,
                    iban: get(row, "iban")?,
                    amount: Cents::new(get(row, "amount_cents")?),
                    holder: get(row, "holder")?,
                })
            })
            .collect()
    }

    async fn complete_payment_run(&self, run_id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE payment_runs SET completed_at = coalesce(completed_at, $2) WHERE id = $1")
            .bind(run_id)
            .bind(at.trunc_subsecs(6))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn reconcile(&self, outcomes: &[PaymentOutcome], at: DateTime<Utc>) -> Result<ReconcileCounts, StoreError> {
        let at = at.trunc_subsecs(6);
        let mut counts = ReconcileCounts::default();
        let mut tx = self.pool.begin().await?;
        for outcome in outcomes {
            let changed = match &outcome.returned {
                None => sqlx::query(
                    "UPDATE payments SET status = 'confirmed', updated_at = $2
                     WHERE protocol = $1 AND status = 'scheduled'",
                )
                .bind(&outcome.protocol)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                Some(reason) => sqlx::query(
                    "UPDATE payments SET status = 'returned', reason = $3, updated_at = $2
                     WHERE protocol = $1 AND status IN ('scheduled', 'confirmed')",
                )
                .bind(&outcome.protocol)
                .bind(at)
                .bind(reason)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
            };
            match (changed, &outcome.returned) {
                (0, _) => counts.ignored += 1,
                (_, None) => counts.confirmed += 1,
                (_, Some(_)) => counts.returned += 1,
            }
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
        let at = at.trunc_subsecs(6);
        let mut tx = self.pool.begin().await?;
        let superseded = sqlx::query(
            "UPDATE payments SET status = 'superseded', updated_at = $3
             WHERE protocol = $1 AND codice_fiscale = $2 AND status = 'returned'",
        )
        .bind(protocol)
        .bind(codice_fiscale.as_str())
        .bind(at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if superseded == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE applications
             SET details = jsonb_set(details, '{payment}', jsonb_build_object('method', 'iban', 'iban', $3::text)),
                 updated_at = $4
             WHERE protocol = $1 AND codice_fiscale = $2",
        )
        .bind(protocol)
        .bind(codice_fiscale.as_str())
        .bind(iban.electronic())
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn payments_of(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<PaymentRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.protocol, r.pay_date, p.method, p.iban, p.amount_cents, p.status, p.reason
             FROM payments p JOIN payment_runs r ON r.id = p.run_id
             WHERE p.codice_fiscale = $1 ORDER BY p.id",
        )
        .bind(codice_fiscale.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PaymentRecord {
                    protocol: get(row, "protocol")?,
                    pay_date: get(row, "pay_date")?,
                    method: PaymentMethod::from_db(&get::<String>(row, "method")?)?,
                    iban_last4: get::<Option<String>>(row, "iban")?.as_deref().map(payments::last4),
                    amount: Cents::new(get(row, "amount_cents")?),
                    status: PaymentStatus::from_db(&get::<String>(row, "status")?)?,
                    reason: get(row, "reason")?,
                })
            })
            .collect()
    }

    async fn create_session(&self, session: Session) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, kind, actor, codice_fiscale, login_method, channel, created_at,
                                   last_seen_at, expires_at, credential, confirmed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&session.id_hash)
        .bind(session.kind.as_str())
        .bind(&session.actor)
        .bind(session.codice_fiscale.as_str())
        .bind(&session.login_method)
        .bind(&session.channel)
        .bind(session.created_at.trunc_subsecs(6))
        .bind(session.last_seen_at.trunc_subsecs(6))
        .bind(session.expires_at.trunc_subsecs(6))
        .bind(session.credential.as_deref())
        .bind(session.confirmed)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn create_sessions(&self, sessions: &[Session]) -> Result<(), StoreError> {
        // One statement per 10,000 sessions (columns as arrays), all in one transaction.
        let mut tx = self.pool.begin().await?;
        for chunk in sessions.chunks(10_000) {
            let ids: Vec<&str> = chunk.iter().map(|s| s.id_hash.as_str()).collect();
            let kinds: Vec<&str> = chunk.iter().map(|s| s.kind.as_str()).collect();
            let actors: Vec<&str> = chunk.iter().map(|s| s.actor.as_str()).collect();
            let persons: Vec<&str> = chunk.iter().map(|s| s.codice_fiscale.as_str()).collect();
            let methods: Vec<&str> = chunk.iter().map(|s| s.login_method.as_str()).collect();
            let channels: Vec<&str> = chunk.iter().map(|s| s.channel.as_str()).collect();
            let created: Vec<DateTime<Utc>> = chunk.iter().map(|s| s.created_at.trunc_subsecs(6)).collect();
            let seen: Vec<DateTime<Utc>> = chunk.iter().map(|s| s.last_seen_at.trunc_subsecs(6)).collect();
            let expires: Vec<DateTime<Utc>> = chunk.iter().map(|s| s.expires_at.trunc_subsecs(6)).collect();
            let credentials: Vec<Option<&str>> = chunk.iter().map(|s| s.credential.as_deref()).collect();
            let confirmed: Vec<bool> = chunk.iter().map(|s| s.confirmed).collect();
            sqlx::query(
                "INSERT INTO sessions (id_hash, kind, actor, codice_fiscale, login_method, channel, created_at,
                                       last_seen_at, expires_at, credential, confirmed)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                      $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::text[],
                                      $11::boolean[])",
            )
            .bind(ids)
            .bind(kinds)
            .bind(actors)
            .bind(persons)
            .bind(methods)
            .bind(channels)
            .bind(created)
            .bind(seen)
            .bind(expires)
            .bind(credentials)
            .bind(confirmed)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id_hash = $1")))
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn touch_session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        // Requests of one session may finish out of order: activity never moves back in time.
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2")
            .bind(id_hash)
            .bind(now.trunc_subsecs(6))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(&self.pool).await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>, idle_before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at < $2")
            .bind(now.trunc_subsecs(6))
            .bind(idle_before.trunc_subsecs(6))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn enqueue(&self, message: OutboxMessage) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        enqueue_on(&mut conn, &message).await
    }

    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let now = now.trunc_subsecs(6);
        // SKIP LOCKED: a concurrent claimer passes over the rows this one is taking instead of waiting for them, and
        // a row it does lock after this one committed is re-checked, found leased, and left. The CTE is evaluated
        // once, so LIMIT bounds the claim.
        let rows = sqlx::query(AssertSqlSafe(format!(
            "WITH due AS (
                 SELECT id FROM outbox
                 WHERE delivered_at IS NULL AND not_before <= $1 AND (leased_until IS NULL OR leased_until <= $1)
                 ORDER BY id
                 LIMIT $3
                 FOR UPDATE SKIP LOCKED
             )
             UPDATE outbox SET leased_until = $2, attempts = attempts + 1
             WHERE id IN (SELECT id FROM due)
             RETURNING {OUTBOX_COLUMNS}"
        )))
        .bind(now)
        .bind(later(now, lease).trunc_subsecs(6))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut entries = rows.iter().map(outbox_from_row).collect::<Result<Vec<_>, _>>()?;
        // RETURNING gives no order.
        entries.sort_by_key(|entry| entry.id);
        Ok(entries)
    }

    async fn outbox_delivered(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET delivered_at = $2, leased_until = NULL, body = ''
             WHERE id = $1 AND delivered_at IS NULL",
        )
        .bind(id)
        .bind(now.trunc_subsecs(6))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn outbox_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET last_error = $2, leased_until = NULL, not_before = $3
             WHERE id = $1 AND delivered_at IS NULL",
        )
        .bind(id)
        .bind(error)
        .bind(retry_at.trunc_subsecs(6))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.audits.record(entry).await
    }

    async fn audit_of(&self, codice_fiscale: &CodiceFiscale, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT actor, action, subject, object, at, from_addr, login_method, channel FROM audit_log
             WHERE subject = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(codice_fiscale.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_from_row).collect()
    }
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
    let status = match room {
        Some((amount, available)) if amount > available => ApplicationStatus::SuspendedBudget,
        _ => application.status,
    };
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
    .bind(&application.idempotency_key)
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
            .bind(protocol_number(submitted_at, id))
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
            Ok(Submission::Created(application_from_row(&row)?))
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
            .bind(&application.idempotency_key)
            .bind(&application.cumulation_group)
            .fetch_optional(&mut *conn)
            .await?;
            // Rows are never deleted, so what blocked the insert is still there.
            let row = row.ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "an application of {} conflicts with a constraint but none stands in the way",
                    application.codice_fiscale
                ))
            })?;
            let found = application_from_row(&row)?;
            if found.idempotency_key == application.idempotency_key {
                Ok(Submission::Duplicate(found))
            } else {
                Ok(Submission::AlreadyHolds(found))
            }
        }
    }
}

/// Stores batches of submissions, one transaction per batch, on a connection of the pool.
struct PgBatch {
    pool: PgPool,
}

/// Writes groups of audit entries with one multi-row `INSERT`, a transaction of its own.
struct PgAudits {
    pool: PgPool,
}

impl AuditSink for PgAudits {
    async fn write(&mut self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        insert_audit_rows(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Appends `entries` to the audit log on `conn`, inside the caller's transaction, a few hundred rows a statement.
async fn insert_audit_rows(conn: &mut PgConnection, entries: &[AuditEntry]) -> Result<(), StoreError> {
    // Eight parameters a row: 512 rows stay far below PostgreSQL's limit of 65,535 parameters a statement.
    for chunk in entries.chunks(512) {
        let mut insert = QueryBuilder::<Postgres>::new(
            "INSERT INTO audit_log (actor, action, subject, object, at, from_addr, login_method, channel) ",
        );
        insert.push_values(chunk, |mut row, entry| {
            row.push_bind(entry.actor.clone())
                .push_bind(entry.action.clone())
                .push_bind(entry.subject.as_str().to_owned())
                .push_bind(entry.object.clone())
                .push_bind(entry.at.trunc_subsecs(6))
                .push_bind(entry.from.clone())
                .push_bind(entry.login_method.clone())
                .push_bind(entry.channel.clone());
        });
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

impl Batch for PgBatch {
    async fn commit(&mut self, applications: &[NewApplication], by: &[Option<SubmittedBy>]) -> BatchOutcome {
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
    .map(|row| {
        Ok((
            get::<String>(row, "scheme")?,
            Room { amount: get(row, "amount_cents")?, available: get(row, "available")? },
        ))
    })
    .collect::<Result<HashMap<_, _>, StoreError>>()?;
    let persons: Vec<&str> = batch.iter().map(|a| a.codice_fiscale.as_str()).collect();
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {APPLICATION_COLUMNS} FROM applications WHERE codice_fiscale = ANY($1)"
    )))
    .bind(&persons)
    .fetch_all(&mut *conn)
    .await?;
    let stored = rows.iter().map(application_from_row).collect::<Result<Vec<_>, _>>()?;
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
        columns.protocol.push(protocol_number(submitted_at, id));
        columns.codice_fiscale.push(application.codice_fiscale.as_str());
        columns.scheme.push(&application.scheme);
        columns.cumulation_group.push(&application.cumulation_group);
        columns.idempotency_key.push(&application.idempotency_key);
        columns.status.push(status.as_str());
        columns.reasons.push(Json(&application.reasons));
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
    let mut created = rows
        .iter()
        .map(|row| Ok((get::<i64>(row, "id")?, application_from_row(row)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
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
    reasons: Vec<Json<&'a serde_json::Value>>,
    details: Vec<Json<&'a serde_json::Value>>,
    submitted_at: Vec<DateTime<Utc>>,
    hold: Vec<Option<&'a str>>,
}

/// Inserts one outbox message on `conn` (a pooled connection or a transaction) and returns its id.
async fn enqueue_on(conn: &mut PgConnection, message: &OutboxMessage) -> Result<i64, StoreError> {
    let id = sqlx::query_scalar(
        "INSERT INTO outbox (channel, recipient, subject, body, not_before, attempts, created_at)
         VALUES ($1, $2, $3, $4, $5, 0, $6)
         RETURNING id",
    )
    .bind(&message.channel)
    .bind(&message.recipient)
    .bind(&message.subject)
    .bind(&message.body)
    .bind(message.not_before.trunc_subsecs(6))
    .bind(Utc::now().trunc_subsecs(6))
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// A registry import on PostgreSQL: one connection and one transaction. Dropping it closes the connection and the
/// server rolls the transaction back, staging table included (as it does if the process dies).
struct PgImport {
    conn: PgConnection,
    /// `COPY` text not yet sent; about [`COPY_CHUNK`] at most, whatever the number of rows.
    buffer: String,
    rows: u64,
    /// A write was cancelled halfway: the connection may be mid-`COPY`.
    interrupted: bool,
}

impl PgImport {
    async fn send(&mut self) -> Result<(), StoreError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let mut copy = self.conn.copy_in_raw(COPY_STAGING).await?;
        copy.send(self.buffer.as_bytes()).await?;
        copy.finish().await?;
        self.buffer.clear();
        Ok(())
    }
}

#[async_trait]
impl RegistryImport for PgImport {
    async fn write(&mut self, rows: &[RegistryRow]) -> Result<(), StoreError> {
        if self.interrupted {
            return Err(StoreError::ImportInterrupted);
        }
        self.interrupted = true;
        for row in rows {
            self.rows += 1;
            copy_line(&mut self.buffer, self.rows, row);
            if self.buffer.len() >= COPY_CHUNK {
                self.send().await?;
            }
        }
        self.interrupted = false;
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<RegistrySummary, StoreError> {
        if self.interrupted {
            return Err(StoreError::ImportInterrupted);
        }
        self.send().await?;
        sqlx::raw_sql(PREPARE_STAGING).execute(&mut self.conn).await?;
        let persons: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM (SELECT DISTINCT codice_fiscale FROM registry_positions_staging) p",
        )
        .fetch_one(&mut self.conn)
        .await?;
        sqlx::raw_sql(SWAP_STAGING).execute(&mut self.conn).await?;
        let imported_at = Utc::now().trunc_subsecs(6);
        let positions = i64::try_from(self.rows).map_err(|_| StoreError::Corrupt("too many rows".into()))?;
        sqlx::query("UPDATE registry_meta SET persons = $1, positions = $2, imported_at = $3 WHERE id = 1")
            .bind(persons)
            .bind(positions)
            .bind(imported_at)
            .execute(&mut self.conn)
            .await?;
        sqlx::raw_sql("COMMIT").execute(&mut self.conn).await?;
        // The commit is durable; a failure to close cleanly changes nothing.
        let _ = self.conn.close().await;
        Ok(RegistrySummary { persons: persons.unsigned_abs(), positions: self.rows, imported_at: Some(imported_at) })
    }

    async fn abort(mut self: Box<Self>) -> Result<(), StoreError> {
        sqlx::raw_sql("ROLLBACK").execute(&mut self.conn).await?;
        self.conn.close().await?;
        Ok(())
    }
}

/// Appends one row in `COPY` text format. Every value is a validated domain value (codes, kind names, ISO dates,
/// numbers), so none contains a tab, newline or backslash that would need escaping.
fn copy_line(out: &mut String, seq: u64, row: &RegistryRow) {
    let p = &row.position;
    // Writing to a String cannot fail.
    let _ = write!(out, "{seq}\t{}\t{}\t", row.codice_fiscale.as_str(), p.kind.as_str());
    let null = "\\N";
    let _ = match p.start {
        Some(d) => write!(out, "{d}\t"),
        None => write!(out, "{null}\t"),
    };
    let _ = match p.end {
        Some(d) => write!(out, "{d}\t"),
        None => write!(out, "{null}\t"),
    };
    let _ = match p.year {
        Some(y) => write!(out, "{y}\t"),
        None => write!(out, "{null}\t"),
    };
    let _ = match p.days {
        Some(d) => write!(out, "{d}\t"),
        None => write!(out, "{null}\t"),
    };
    let _ = match p.income {
        Some(c) => write!(out, "{}\t", c.get()),
        None => write!(out, "{null}\t"),
    };
    out.push_str(p.cessation.map_or(null, |c| c.as_str()));
    out.push('\n');
}

/// One column of a row; a value of the wrong type is corruption, not a driver failure.
fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(column).map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
}

fn position_from_row(row: &PgRow) -> Result<Position, StoreError> {
    let kind: String = get(row, "kind")?;
    let cessation: Option<String> = get(row, "cessation")?;
    Ok(Position {
        kind: kind_from_db(&kind)?,
        start: get(row, "start_date")?,
        end: get(row, "end_date")?,
        year: get(row, "year")?,
        days: days_from_db(get(row, "days")?)?,
        income: get::<Option<i64>>(row, "income_cents")?.map(sportello_domain::Cents::new),
        cessation: cessation_from_db(cessation.as_deref())?,
    })
}

fn application_from_row(row: &PgRow) -> Result<Application, StoreError> {
    let protocol: Option<String> = get(row, "protocol")?;
    let Json(reasons) = get::<Json<serde_json::Value>>(row, "reasons")?;
    let Json(details) = get::<Json<serde_json::Value>>(row, "details")?;
    Ok(Application {
        protocol: protocol.ok_or_else(|| StoreError::Corrupt("an application without a protocol number".into()))?,
        codice_fiscale: codice_fiscale_from_db(&get::<String>(row, "codice_fiscale")?)?,
        scheme: get(row, "scheme")?,
        cumulation_group: get(row, "cumulation_group")?,
        idempotency_key: get(row, "idempotency_key")?,
        status: ApplicationStatus::from_db(&get::<String>(row, "status")?)?,
        reasons,
        details,
        submitted_at: get::<DateTime<Utc>>(row, "submitted_at")?,
        updated_at: get::<DateTime<Utc>>(row, "updated_at")?,
        hold: get(row, "hold")?,
    })
}

fn budget_from_row(row: &PgRow) -> Result<Budget, StoreError> {
    Ok(Budget {
        scheme: get(row, "scheme")?,
        amount: Cents::new(get(row, "amount_cents")?),
        limit: Cents::new(get(row, "limit_cents")?),
        legal_ref: get(row, "legal_ref")?,
        reserved: Cents::new(get(row, "reserved_cents")?),
        suspended: payments::count(get(row, "suspended")?, "suspended")?,
    })
}

fn run_from_row(row: &PgRow) -> Result<PaymentRun, StoreError> {
    Ok(PaymentRun {
        id: get(row, "id")?,
        pay_date: get(row, "pay_date")?,
        debtor_name: get(row, "debtor_name")?,
        debtor_iban: get(row, "debtor_iban")?,
        debtor_bic: get(row, "debtor_bic")?,
        created_at: get(row, "created_at")?,
        completed_at: get(row, "completed_at")?,
    })
}

fn session_from_row(row: &PgRow) -> Result<Session, StoreError> {
    Ok(Session {
        id_hash: get(row, "id_hash")?,
        kind: SessionKind::from_db(&get::<String>(row, "kind")?)?,
        actor: get(row, "actor")?,
        codice_fiscale: codice_fiscale_from_db(&get::<String>(row, "codice_fiscale")?)?,
        login_method: get(row, "login_method")?,
        channel: get(row, "channel")?,
        created_at: get(row, "created_at")?,
        last_seen_at: get(row, "last_seen_at")?,
        expires_at: get(row, "expires_at")?,
        credential: get(row, "credential")?,
        confirmed: get(row, "confirmed")?,
    })
}

fn outbox_from_row(row: &PgRow) -> Result<OutboxEntry, StoreError> {
    Ok(OutboxEntry {
        id: get(row, "id")?,
        message: OutboxMessage {
            channel: get(row, "channel")?,
            recipient: get(row, "recipient")?,
            subject: get(row, "subject")?,
            body: get(row, "body")?,
            not_before: get(row, "not_before")?,
        },
        attempts: count_from_db(get::<i32>(row, "attempts")?.into(), "attempts")?,
    })
}

fn audit_from_row(row: &PgRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        actor: get(row, "actor")?,
        action: get(row, "action")?,
        subject: codice_fiscale_from_db(&get::<String>(row, "subject")?)?,
        object: get(row, "object")?,
        at: get(row, "at")?,
        from: get(row, "from_addr")?,
        login_method: get(row, "login_method")?,
        channel: get(row, "channel")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sportello_domain::Cents;
    use sportello_domain::registry::{Cessation, PositionKind};

    #[test]
    fn copy_lines_mark_missing_values_as_null() {
        let cf = CodiceFiscale::parse("RSSMRA80A01H501U").unwrap();
        let seasonal = RegistryRow {
            codice_fiscale: cf,
            position: Position {
                kind: PositionKind::StagionaleTurismo,
                start: chrono::NaiveDate::from_ymd_opt(2019, 6, 1),
                end: None,
                year: None,
                days: None,
                income: None,
                cessation: Some(Cessation::Involuntary),
            },
        };
        let fpls = RegistryRow {
            codice_fiscale: cf,
            position: Position {
                kind: PositionKind::SpettacoloFpls,
                start: None,
                end: None,
                year: Some(2019),
                days: Some(30),
                income: Some(Cents::new(5_000_001)),
                cessation: None,
            },
        };
        let mut out = String::new();
        copy_line(&mut out, 1, &seasonal);
        copy_line(&mut out, 2, &fpls);
        assert_eq!(
            out,
            "1\tRSSMRA80A01H501U\tstagionale_turismo\t2019-06-01\t\\N\t\\N\t\\N\t\\N\tinvoluntary\n\
             2\tRSSMRA80A01H501U\tspettacolo_fpls\t\\N\t\\N\t2019\t30\t5000001\t\\N\n"
        );
    }
}
