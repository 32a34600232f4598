//! The embedded backend: one SQLite file in WAL mode, written by one connection at a time, read by a few.
//!
//! Durability: `synchronous = FULL` with WAL makes SQLite fsync the log at every commit, so a commit that returned
//! survives a power cut. Writes go through a pool of exactly one connection, so this process never makes SQLite
//! spin on its own write lock; the busy timeout covers other processes (e.g. a `sportello registry import` run
//! while the portal serves).
//!
//! Submissions are group-committed ([`crate::group`]): one writer task takes the submissions waiting, borrows the
//! one writer connection from its pool for the batch, and stores them all in one `BEGIN IMMEDIATE … COMMIT`, so that
//! hundreds share one fsync. Holding the write lock, it reads what the batch's persons already have, decides every
//! submission in memory (`group::Plan`) and writes the new rows with one insert: a handful of statements per batch,
//! where a statement per submission would cost more than the fsync it saves (sqlx runs each on the connection's own
//! thread). If that fails, the batch is rolled back and run again one submission at a time, each in a savepoint of
//! its own, so that only the failing one fails. The other writes (PINs, sessions, outbox, audit) keep using the same
//! pool and take turns with the batches: they are few and short, and routing them through the writer too would buy
//! nothing but code. A registry import has its own connection and waits for the write lock like any other process.
//!
//! 20,000 submissions from 200 tasks on 2 cores (`cargo test --release -p sportello-store --test conformance --
//! --ignored --nocapture submission_rate_on_sqlite`): about 650–950 per second with a transaction each (before),
//! 5,500 with one transaction per batch and a savepoint and three statements per submission, 10,000–21,000 as here
//! (other builds were running beside, so the spread is the machine's).

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, SubsecRound, Utc};
use sportello_domain::registry::{Cessation, Position, PositionKind, RegistryRow};
use sportello_domain::{Cents, CodiceFiscale, Date, Iban};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteExecutor, SqliteJournalMode, SqlitePool,
    SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, QueryBuilder, Row, SqlSafeStr as _, SqlStr, Sqlite};

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

/// How long a statement waits for another connection's write lock before failing. A registry import holds the lock
/// from begin to commit (about ten seconds for five million rows, plus the time to read them), so a submission made
/// during an import waits up to this long and then fails with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// Connections for reading. WAL lets them read while the writer writes; more than a few gains nothing on SQLite.
const READERS: u32 = 4;

/// Keeps the WAL file from staying as large as the last registry import after it has been checkpointed.
const JOURNAL_SIZE_LIMIT: &str = "67108864";

/// Page cache of the import's connection, in KiB (SQLite reads a negative size as KiB). Measured on 5 million
/// rows: a larger cache makes CREATE INDEX slower, not faster (its sorter merges runs from temporary files instead).
const IMPORT_CACHE_KIB: &str = "-32768";

/// Columns of a registry row as stored (the rowid keeps the extract's order).
const REGISTRY_COLUMNS: usize = 8;

/// Rows per multi-row `INSERT`, as many as SQLite's 32766 bind parameters allow.
const ROWS_PER_INSERT: usize = 32766 / REGISTRY_COLUMNS;
const _: () = assert!(ROWS_PER_INSERT * REGISTRY_COLUMNS <= 32766);

/// The registry's table as every import creates it. Keep it identical to the one in `migrations/sqlite`.
const CREATE_STAGING: &str = "DROP TABLE IF EXISTS registry_positions_staging;
CREATE TABLE registry_positions_staging (
    codice_fiscale TEXT NOT NULL,
    kind TEXT NOT NULL,
    start_date TEXT,
    end_date TEXT,
    year INTEGER,
    days INTEGER,
    income_cents INTEGER,
    cessation TEXT
) STRICT;";

/// Puts the staging table in place of the live one. The index is built here, after every row is in; SQLite cannot
/// rename an index, so it is created under its final name once the old table (and its index) are gone. Readers
/// keep seeing the old registry until the transaction commits.
const SWAP_STAGING: &str = "DROP TABLE registry_positions;
ALTER TABLE registry_positions_staging RENAME TO registry_positions;
CREATE INDEX registry_positions_cf ON registry_positions (codice_fiscale);";

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

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Exactly one connection: SQLite has one writer, and queuing here is cheaper than SQLite's busy loop.
    writer: SqlitePool,
    /// Connections for queries that only read.
    readers: SqlitePool,
    /// How to open the registry import's own connection.
    options: SqliteConnectOptions,
    /// The queue to the writer task that group-commits submissions.
    submissions: Submitter,
    /// The queue to the writer task that group-commits audit entries.
    audits: Auditor,
}

impl SqliteStore {
    /// Opens (creating it and its folder if missing) the SQLite database named by `url`, e.g.
    /// `sqlite://sportello-data/sportello.db` (relative to the working directory) or `sqlite:///var/lib/x.db`.
    /// Does not run migrations: [`crate::open`] does, or call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, GroupCommit::default()).await
    }

    /// Like [`SqliteStore::connect`], grouping submissions into commits as `group_commit` says. Spawns the writer
    /// task on the current tokio runtime; it stops when the last clone of the store is dropped.
    pub async fn connect_with(url: &str, group_commit: GroupCommit) -> Result<Self, StoreError> {
        Self::connect_as(url, group_commit, true).await
    }

    /// Opens the SQLite database named by `url` only if its file exists ([`StoreError::Missing`] otherwise): for
    /// commands that only read, which must not leave an empty database behind a mistyped path.
    pub async fn connect_existing(url: &str) -> Result<Self, StoreError> {
        Self::connect_as(url, GroupCommit::default(), false).await
    }

    async fn connect_as(url: &str, group_commit: GroupCommit, create: bool) -> Result<Self, StoreError> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            // A registry import needs its own connection and a rollback on drop that closes it; an in-memory
            // database vanishes with its last connection and has no WAL, so it cannot give the same guarantees.
            return Err(StoreError::UnsupportedUrl(format!(
                "{} (an in-memory SQLite database cannot keep applications; use a file, e.g. in a temporary folder)",
                crate::redact(url)
            )));
        }
        let options = SqliteConnectOptions::from_str(url).map_err(|e| StoreError::connect(url, e))?;
        if create {
            create_parent_folder(options.get_filename())?;
        } else if !options.get_filename().is_file() {
            return Err(StoreError::Missing(crate::redact(url)));
        }
        let options = options
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: with WAL, SQLite fsyncs the log at every commit, so an acknowledged commit survives a power
            // cut. NORMAL would be faster and could lose the last commits; applications must not be lost.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("journal_size_limit", JOURNAL_SIZE_LIMIT);

        // The writer connects first: it switches a new file to WAL before any reader opens it.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(|e| StoreError::connect(url, e))?;
        let readers = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(options.clone())
            .await
            .map_err(|e| StoreError::connect(url, e))?;
        let submissions = Submitter::spawn(SqliteBatch { writer: writer.clone() }, group_commit, "sqlite");
        let audits = Auditor::spawn(SqliteAudits { writer: writer.clone() });
        Ok(Self { writer, readers, options, submissions, audits })
    }

    /// How many transactions have carried submissions so far: fewer than the submissions when they were grouped.
    pub fn submission_commits(&self) -> CommitCount {
        self.submissions.commits()
    }

    /// Closes every connection, waiting for them to finish (a batch being stored included); the file is then
    /// consistent on its own, and submissions made afterwards fail.
    pub async fn close(&self) {
        self.writer.close().await;
        self.readers.close().await;
    }
}

/// Stores batches of submissions on the writer connection, one transaction per batch.
struct SqliteBatch {
    writer: SqlitePool,
}

/// Writes groups of audit entries on the single writer connection, one `INSERT` per group.
struct SqliteAudits {
    writer: SqlitePool,
}

impl AuditSink for SqliteAudits {
    async fn write(&mut self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        let mut conn = self.writer.acquire().await?;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        insert_audit_rows(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Stores a new session, as a login does.
async fn insert_session<'e>(executor: impl SqliteExecutor<'e>, session: &Session) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, kind, actor, codice_fiscale, login_method, channel, created_at, last_seen_at,
                               expires_at, credential, confirmed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )
    .bind(&session.id_hash)
    .bind(session.kind.as_str())
    .bind(&session.actor)
    .bind(session.codice_fiscale.as_str())
    .bind(&session.login_method)
    .bind(&session.channel)
    .bind(timestamp_to_db(session.created_at.trunc_subsecs(6)))
    .bind(timestamp_to_db(session.last_seen_at.trunc_subsecs(6)))
    .bind(timestamp_to_db(session.expires_at.trunc_subsecs(6)))
    .bind(session.credential.as_deref())
    .bind(session.confirmed)
    .execute(executor)
    .await?;
    Ok(())
}

/// Appends `entries` to the audit log on `conn`, inside the caller's transaction, a few hundred rows a statement.
async fn insert_audit_rows(conn: &mut SqliteConnection, entries: &[AuditEntry]) -> Result<(), StoreError> {
    // Eight parameters a row: 512 rows stay far below SQLite's limit of 32,766 parameters a statement.
    for chunk in entries.chunks(512) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO audit_log (actor, action, subject, object, at, from_addr, login_method, channel) ",
        );
        insert.push_values(chunk, |mut row, entry| {
            row.push_bind(entry.actor.clone())
                .push_bind(entry.action.clone())
                .push_bind(entry.subject.as_str().to_owned())
                .push_bind(entry.object.clone())
                .push_bind(timestamp_to_db(entry.at.trunc_subsecs(6)))
                .push_bind(entry.from.clone())
                .push_bind(entry.login_method.clone())
                .push_bind(entry.channel.clone());
        });
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

impl Batch for SqliteBatch {
    async fn commit(&mut self, applications: &[NewApplication], by: &[Option<SubmittedBy>]) -> BatchOutcome {
        let mut conn = self.writer.acquire().await?;
        // The new rows travel as one JSON text, and SQLite's JSON functions cut a text at a NUL character where a
        // bound parameter keeps it: a batch with one is stored one submission at a time, its texts bound as they are.
        let nul = applications.iter().any(|a| a.scheme.contains('\0') || a.idempotency_key.contains('\0'));
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
    let stored = rows.iter().map(application_from_row).collect::<Result<Vec<_>, _>>()?;
    let schemes: Vec<&str> = batch.iter().map(|a| a.scheme.as_str()).collect();
    let budgets = sqlx::query(
        "SELECT scheme, amount_cents, limit_cents - reserved_cents AS available FROM budgets
         WHERE scheme IN (SELECT value FROM json_each(?1))",
    )
    .bind(serde_json::Value::from(schemes).to_string())
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
                protocol_number(submitted_at, id),
                application.codice_fiscale.as_str(),
                application.scheme,
                application.cumulation_group,
                application.idempotency_key,
                status.as_str(),
                application.reasons.to_string(),
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
    let mut created = rows
        .iter()
        .map(|row| Ok((get::<i64>(row, "id")?, application_from_row(row)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
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

/// The condition on `applications a` of what a payment run assigns, with the cut-off bound at `cutoff`: accepted,
/// without a hold, last changed (accepted, released, given a new account) before the cut-off, and with no payment
/// that stands (one superseded by a new account does not).
fn payable(cutoff: &str) -> String {
    format!(
        "a.status = 'accepted' AND a.hold IS NULL AND a.updated_at < {cutoff}
         AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.application_id = a.id AND p.status <> 'superseded')"
    )
}

/// Creates the folder a database file lives in, if it has one and it is missing.
fn create_parent_folder(file: &Path) -> Result<(), StoreError> {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => std::fs::create_dir_all(parent)
            .map_err(|source| StoreError::CreateFolder { path: parent.to_owned(), source }),
        _ => Ok(()),
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite").run(&self.writer).await?;
        Ok(())
    }

    async fn pending_migrations(&self) -> Result<usize, StoreError> {
        let migrator = sqlx::migrate!("./migrations/sqlite");
        let table: Option<String> =
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'")
                .fetch_optional(&self.readers)
                .await?;
        let applied: Vec<i64> = match table {
            Some(_) => {
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                    .fetch_all(&self.readers)
                    .await?
            }
            None => Vec::new(),
        };
        Ok(crate::pending(&migrator, &applied))
    }

    async fn begin_registry_import(&self) -> Result<Box<dyn RegistryImport>, StoreError> {
        let options = self
            .options
            .clone()
            .pragma("cache_size", IMPORT_CACHE_KIB)
            // Lets CREATE INDEX sort with a helper thread.
            .pragma("threads", "2")
            .disable_statement_logging();
        let mut conn = options.connect().await?;
        // IMMEDIATE takes the write lock now, so a concurrent import waits here rather than failing at commit.
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut conn).await?;
        sqlx::raw_sql(CREATE_STAGING).execute(&mut conn).await?;
        Ok(Box::new(SqliteImport {
            conn,
            pending: Vec::with_capacity(ROWS_PER_INSERT),
            rows: 0,
            interrupted: false,
            texts: Texts::new(),
        }))
    }

    async fn positions(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<Position>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, start_date, end_date, year, days, income_cents, cessation
             FROM registry_positions WHERE codice_fiscale = ?1 ORDER BY rowid",
        )
        .bind(codice_fiscale.as_str())
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(position_from_row).collect()
    }

    async fn registry_summary(&self) -> Result<RegistrySummary, StoreError> {
        let row = sqlx::query("SELECT persons, positions, imported_at FROM registry_meta WHERE id = 1")
            .fetch_one(&self.readers)
            .await?;
        let count = |name: &str| -> Result<u64, StoreError> {
            let n: i64 = get(&row, name)?;
            u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative {name} count {n} in registry_meta")))
        };
        let imported_at: Option<String> = get(&row, "imported_at")?;
        Ok(RegistrySummary {
            persons: count("persons")?,
            positions: count("positions")?,
            imported_at: imported_at.as_deref().map(timestamp_from_db).transpose()?,
        })
    }

    async fn registry_persons(
        &self,
        after: Option<&CodiceFiscale>,
        limit: u32,
    ) -> Result<Vec<CodiceFiscale>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT codice_fiscale FROM registry_positions
             WHERE codice_fiscale > ?1 ORDER BY codice_fiscale LIMIT ?2",
        )
        .bind(after.map_or("", CodiceFiscale::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
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
            "SELECT {APPLICATION_COLUMNS} FROM applications WHERE protocol = ?1 AND codice_fiscale = ?2"
        )))
        .bind(protocol)
        .bind(codice_fiscale.as_str())
        .fetch_optional(&self.readers)
        .await?;
        row.as_ref().map(application_from_row).transpose()
    }

    async fn applications_of(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<Application>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications WHERE codice_fiscale = ?1 ORDER BY submitted_at, id"
        )))
        .bind(codice_fiscale.as_str())
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(application_from_row).collect()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.readers).await?;
        Ok(())
    }

    async fn ensure_budget(&self, seed: &BudgetSeed, at: DateTime<Utc>) -> Result<(), StoreError> {
        // Every start after the first finds the limit recorded: one indexed read, no lock, no count.
        let known = |conn| {
            sqlx::query_scalar::<_, i64>("SELECT 1 FROM budgets WHERE scheme = ?1")
                .bind(&seed.scheme)
                .fetch_optional(conn)
        };
        if known(&self.readers).await?.is_some() {
            return Ok(());
        }
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        // What is already accepted counts as reserved; a limit below it cannot be recorded (the CHECK would refuse
        // it anyway, with a message nobody could act on).
        let accepted: i64 =
            sqlx::query_scalar("SELECT count(*) FROM applications WHERE scheme = ?1 AND status = 'accepted'")
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
             VALUES (?1, ?2, ?3, ?4, ?5)
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
                "INSERT INTO budget_history (scheme, limit_cents, legal_ref, set_at, released) VALUES (?1, ?2, ?3, ?4, 0)",
            )
            .bind(&seed.scheme)
            .bind(seed.limit.get())
            .bind(&seed.legal_ref)
            .bind(timestamp_to_db(at.trunc_subsecs(6)))
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
        let at = timestamp_to_db(at.trunc_subsecs(6));
        // The write lock, as the submissions take it: no reservation happens between the read and the release.
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let (amount, reserved): (i64, i64) =
            sqlx::query_as("SELECT amount_cents, reserved_cents FROM budgets WHERE scheme = ?1")
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
            "UPDATE applications SET status = 'accepted', updated_at = ?3
             WHERE id IN (SELECT id FROM applications WHERE scheme = ?1 AND status = 'suspended_budget'
                          ORDER BY submitted_at, id LIMIT ?2)",
        )
        .bind(scheme)
        .bind(fit)
        .bind(&at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let released_cents =
            i64::try_from(released).map_err(|_| StoreError::Corrupt("too many released".into()))? * amount;
        sqlx::query(
            "UPDATE budgets SET limit_cents = ?2, legal_ref = ?3, reserved_cents = reserved_cents + ?4 WHERE scheme = ?1",
        )
        .bind(scheme)
        .bind(limit.get())
        .bind(legal_ref)
        .bind(released_cents)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO budget_history (scheme, limit_cents, legal_ref, set_at, released, set_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(scheme)
        .bind(limit.get())
        .bind(legal_ref)
        .bind(&at)
        .bind(released_cents / amount)
        .bind(set_by)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(AssertSqlSafe(format!("{BUDGET_SELECT} WHERE b.scheme = ?1")))
            .bind(scheme)
            .fetch_one(&mut *tx)
            .await?;
        let budget = budget_from_row(&row)?;
        tx.commit().await?;
        Ok(BudgetChange { budget, released })
    }

    async fn budgets(&self) -> Result<Vec<Budget>, StoreError> {
        let rows =
            sqlx::query(AssertSqlSafe(format!("{BUDGET_SELECT} ORDER BY b.scheme"))).fetch_all(&self.readers).await?;
        rows.iter().map(budget_from_row).collect()
    }

    async fn budget_history(&self) -> Result<Vec<BudgetEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT scheme, limit_cents, legal_ref, set_at, released, set_by FROM budget_history ORDER BY id",
        )
        .fetch_all(&self.readers)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(BudgetEvent {
                    scheme: get(row, "scheme")?,
                    limit: Cents::new(get(row, "limit_cents")?),
                    legal_ref: get(row, "legal_ref")?,
                    set_at: timestamp_from_db(&get::<String>(row, "set_at")?)?,
                    released: payments::count(get(row, "released")?, "released")?,
                    set_by: get(row, "set_by")?,
                })
            })
            .collect()
    }

    async fn start_payment_run(&self, run: &NewPaymentRun) -> Result<(PaymentRun, bool), StoreError> {
        let at = timestamp_to_db(run.at.trunc_subsecs(6));
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
            .bind(timestamp_to_db(run.accepted_before.trunc_subsecs(6)))
            .execute(&mut *tx)
            .await?;
        }
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {RUN_COLUMNS} FROM payment_runs WHERE pay_date = ?1")))
            .bind(&pay_date)
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
        .bind(timestamp_to_db(run.accepted_before.trunc_subsecs(6)))
        .fetch_one(&self.readers)
        .await?;
        payments::count(n, "unnamed transfers")
    }

    async fn run_totals(&self, run_id: i64) -> Result<Vec<RunTotal>, StoreError> {
        let rows = sqlx::query(
            "SELECT scheme, method, count(*) AS n, sum(amount_cents) AS total FROM payments WHERE run_id = ?1
             GROUP BY scheme, method ORDER BY scheme, method",
        )
        .bind(run_id)
        .fetch_all(&self.readers)
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
             WHERE p.run_id = ?1 AND p.method = ?2 AND p.id > ?3 ORDER BY p.id LIMIT ?4",
        )
        .bind(run_id)
        .bind(method.as_str())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
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
        sqlx::query("UPDATE payment_runs SET completed_at = coalesce(completed_at, ?2) WHERE id = ?1")
            .bind(run_id)
            .bind(timestamp_to_db(at.trunc_subsecs(6)))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn reconcile(&self, outcomes: &[PaymentOutcome], at: DateTime<Utc>) -> Result<ReconcileCounts, StoreError> {
        let at = timestamp_to_db(at.trunc_subsecs(6));
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
        let at = timestamp_to_db(at.trunc_subsecs(6));
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
        rows.iter()
            .map(|row| {
                Ok(PaymentRecord {
                    protocol: get(row, "protocol")?,
                    pay_date: date_from_db(get(row, "pay_date")?, "pay_date")?
                        .ok_or_else(|| StoreError::Corrupt("a run without a date".into()))?,
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
        insert_session(&self.writer, &session).await
    }

    async fn create_sessions(&self, sessions: &[Session]) -> Result<(), StoreError> {
        // One transaction, so one fsync for the lot; the statement is the same as a login's.
        let mut tx = self.writer.begin().await?;
        for session in sessions {
            insert_session(&mut *tx, session).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id_hash = ?1")))
            .bind(id_hash)
            .fetch_optional(&self.readers)
            .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    async fn touch_session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        // Requests of one session may finish out of order: activity never moves back in time.
        sqlx::query("UPDATE sessions SET last_seen_at = ?2 WHERE id_hash = ?1 AND last_seen_at < ?2")
            .bind(id_hash)
            .bind(timestamp_to_db(now.trunc_subsecs(6)))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = ?1").bind(id_hash).execute(&self.writer).await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>, idle_before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen_at < ?2")
            .bind(timestamp_to_db(now.trunc_subsecs(6)))
            .bind(timestamp_to_db(idle_before.trunc_subsecs(6)))
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    async fn enqueue(&self, message: OutboxMessage) -> Result<i64, StoreError> {
        let mut conn = self.writer.acquire().await?;
        enqueue_on(&mut conn, &message).await
    }

    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let now = now.trunc_subsecs(6);
        // One statement on the one writer connection: claims never interleave, so no message is claimed twice
        // while its lease runs.
        let rows = sqlx::query(AssertSqlSafe(format!(
            "UPDATE outbox SET leased_until = ?2, attempts = attempts + 1
             WHERE id IN (
                 SELECT id FROM outbox
                 WHERE delivered_at IS NULL AND not_before <= ?1 AND (leased_until IS NULL OR leased_until <= ?1)
                 ORDER BY id
                 LIMIT ?3
             )
             RETURNING {OUTBOX_COLUMNS}"
        )))
        .bind(timestamp_to_db(now))
        .bind(timestamp_to_db(later(now, lease).trunc_subsecs(6)))
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await?;
        let mut entries = rows.iter().map(outbox_from_row).collect::<Result<Vec<_>, _>>()?;
        // RETURNING gives no order.
        entries.sort_by_key(|entry| entry.id);
        Ok(entries)
    }

    async fn outbox_delivered(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET delivered_at = ?2, leased_until = NULL, body = ''
             WHERE id = ?1 AND delivered_at IS NULL",
        )
        .bind(id)
        .bind(timestamp_to_db(now.trunc_subsecs(6)))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn outbox_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET last_error = ?2, leased_until = NULL, not_before = ?3
             WHERE id = ?1 AND delivered_at IS NULL",
        )
        .bind(id)
        .bind(error)
        .bind(timestamp_to_db(retry_at.trunc_subsecs(6)))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.audits.record(entry).await
    }

    async fn audit_of(&self, codice_fiscale: &CodiceFiscale, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT actor, action, subject, object, at, from_addr, login_method, channel FROM audit_log
             WHERE subject = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
        )
        .bind(codice_fiscale.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(audit_from_row).collect()
    }
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
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)
         ON CONFLICT DO NOTHING
         RETURNING id",
    )
    .bind(application.codice_fiscale.as_str())
    .bind(&application.scheme)
    .bind(&application.cumulation_group)
    .bind(&application.idempotency_key)
    .bind(status.as_str())
    .bind(application.reasons.to_string())
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
                 WHERE codice_fiscale = ?1
                   AND (idempotency_key = ?2
                        OR (cumulation_group = ?3 AND status NOT IN ('rejected', 'annulled')))
                 ORDER BY idempotency_key = ?2 DESC
                 LIMIT 1"
            )))
            .bind(application.codice_fiscale.as_str())
            .bind(&application.idempotency_key)
            .bind(&application.cumulation_group)
            .fetch_optional(&mut *conn)
            .await?;
            // The write lock is ours since BEGIN IMMEDIATE: whatever blocked the insert is still there.
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

/// Inserts one outbox message on `conn` (the writer, or a transaction on it) and returns its id.
async fn enqueue_on(conn: &mut SqliteConnection, message: &OutboxMessage) -> Result<i64, StoreError> {
    let id = sqlx::query_scalar(
        "INSERT INTO outbox (channel, recipient, subject, body, not_before, attempts, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)
         RETURNING id",
    )
    .bind(&message.channel)
    .bind(&message.recipient)
    .bind(&message.subject)
    .bind(&message.body)
    .bind(timestamp_to_db(message.not_before.trunc_subsecs(6)))
    .bind(timestamp_to_db(Utc::now().trunc_subsecs(6)))
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// A registry import on SQLite: one connection and one transaction, holding the database's write lock from begin to
/// commit. Dropping it closes the connection, and SQLite rolls the transaction back (as it does if the process dies).
struct SqliteImport {
    conn: SqliteConnection,
    /// Rows received but not yet inserted: always fewer than [`ROWS_PER_INSERT`], so memory stays constant and
    /// every insert but the last uses the same prepared statement.
    pending: Vec<RegistryRow>,
    rows: u64,
    /// A write was cancelled halfway: what is in the staging table is unknown.
    interrupted: bool,
    texts: Texts,
}

impl SqliteImport {
    /// Inserts the pending rows in one statement.
    async fn flush(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let sql = insert_statement(self.pending.len());
        let mut arguments = SqliteArguments::default();
        for row in &self.pending {
            self.texts.bind(&mut arguments, row).map_err(sqlx::Error::Encode)?;
        }
        sqlx::query_with(sql, arguments).execute(&mut self.conn).await?;
        self.rows += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }
}

#[async_trait]
impl RegistryImport for SqliteImport {
    async fn write(&mut self, rows: &[RegistryRow]) -> Result<(), StoreError> {
        if self.interrupted {
            return Err(StoreError::ImportInterrupted);
        }
        self.interrupted = true;
        for row in rows {
            self.pending.push(row.clone());
            if self.pending.len() == ROWS_PER_INSERT {
                self.flush().await?;
            }
        }
        self.interrupted = false;
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<RegistrySummary, StoreError> {
        if self.interrupted {
            return Err(StoreError::ImportInterrupted);
        }
        self.flush().await?;
        let started = std::time::Instant::now();
        sqlx::raw_sql(SWAP_STAGING).execute(&mut self.conn).await?;
        let indexed = started.elapsed();
        let persons: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT DISTINCT codice_fiscale FROM registry_positions)")
                .fetch_one(&mut self.conn)
                .await?;
        let imported_at = Utc::now().trunc_subsecs(6);
        let positions = i64::try_from(self.rows).map_err(|_| StoreError::Corrupt("too many rows".into()))?;
        sqlx::query("UPDATE registry_meta SET persons = ?1, positions = ?2, imported_at = ?3 WHERE id = 1")
            .bind(persons)
            .bind(positions)
            .bind(timestamp_to_db(imported_at))
            .execute(&mut self.conn)
            .await?;
        // COMMIT fsyncs the WAL, then checkpoints it into the database file (SQLite's automatic checkpoint).
        sqlx::raw_sql("COMMIT").execute(&mut self.conn).await?;
        tracing::debug!(rows = self.rows, ?indexed, total = ?started.elapsed(), "registry import committed");
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

/// The multi-row insert for `rows` rows; the full-size one, used for all but the last insert, is built once.
fn insert_statement(rows: usize) -> SqlStr {
    use std::sync::OnceLock;
    static FULL: OnceLock<Arc<str>> = OnceLock::new();
    let build = |rows: usize| -> Arc<str> {
        let mut sql = String::from(
            "INSERT INTO registry_positions_staging
                 (codice_fiscale, kind, start_date, end_date, year, days, income_cents, cessation) VALUES ",
        );
        for i in 0..rows {
            sql.push_str(if i == 0 { "(?,?,?,?,?,?,?,?)" } else { ",(?,?,?,?,?,?,?,?)" });
        }
        sql.into()
    };
    let sql = if rows == ROWS_PER_INSERT { FULL.get_or_init(|| build(rows)).clone() } else { build(rows) };
    AssertSqlSafe(sql).into_sql_str()
}

/// Shared text values for the columns that repeat (kinds, cessations), so binding them costs no allocation.
struct Texts {
    kinds: Vec<Arc<str>>,
    involuntary: Arc<str>,
    voluntary: Arc<str>,
}

impl Texts {
    fn new() -> Self {
        Self {
            kinds: PositionKind::ALL.iter().map(|k| Arc::from(k.as_str())).collect(),
            involuntary: Arc::from(Cessation::Involuntary.as_str()),
            voluntary: Arc::from(Cessation::Voluntary.as_str()),
        }
    }

    fn kind(&self, kind: PositionKind) -> Arc<str> {
        match PositionKind::ALL.iter().position(|&k| k == kind).and_then(|i| self.kinds.get(i)) {
            Some(text) => text.clone(),
            None => Arc::from(kind.as_str()),
        }
    }

    /// Appends one row's eight values, in the staging table's column order.
    fn bind(&self, args: &mut SqliteArguments, row: &RegistryRow) -> Result<(), sqlx::error::BoxDynError> {
        use sqlx::Arguments as _;
        let p = &row.position;
        args.add(Arc::<str>::from(row.codice_fiscale.as_str()))?;
        args.add(self.kind(p.kind))?;
        args.add(p.start.map(iso_date))?;
        args.add(p.end.map(iso_date))?;
        args.add(p.year)?;
        args.add(p.days.map(i64::from))?;
        args.add(p.income.map(|c| c.get()))?;
        args.add(p.cessation.map(|c| match c {
            Cessation::Involuntary => self.involuntary.clone(),
            Cessation::Voluntary => self.voluntary.clone(),
        }))?;
        Ok(())
    }
}

/// A date as ISO 8601 text (`2020-02-23`), the form SQLite's date functions read.
fn iso_date(date: Date) -> Arc<str> {
    let (y, m, d) = (date.year(), date.month(), date.day());
    if !(0..=9999).contains(&y) {
        return Arc::from(date.to_string());
    }
    let digit = |n: u32| b'0' + (n % 10) as u8;
    let y = y.unsigned_abs();
    let text = [
        digit(y / 1000),
        digit(y / 100),
        digit(y / 10),
        digit(y),
        b'-',
        digit(m / 10),
        digit(m),
        b'-',
        digit(d / 10),
        digit(d),
    ];
    // Only ASCII digits and dashes above.
    Arc::from(std::str::from_utf8(&text).unwrap_or_default())
}

/// A date read back from its ISO text.
fn date_from_db(text: Option<String>, column: &str) -> Result<Option<Date>, StoreError> {
    text.map(|s| s.parse::<Date>().map_err(|_| StoreError::Corrupt(format!("'{s}' in {column} is not a date"))))
        .transpose()
}

/// Timestamps are stored as RFC 3339 text in UTC with microseconds, so text order is time order.
fn timestamp_to_db(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn timestamp_from_db(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("'{text}' is not a timestamp")))
}

/// One column of a row; a value of the wrong type is corruption, not a driver failure.
fn get<'r, T>(row: &'r SqliteRow, column: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(column).map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
}

fn position_from_row(row: &SqliteRow) -> Result<Position, StoreError> {
    let kind: String = get(row, "kind")?;
    let cessation: Option<String> = get(row, "cessation")?;
    Ok(Position {
        kind: kind_from_db(&kind)?,
        start: date_from_db(get(row, "start_date")?, "start_date")?,
        end: date_from_db(get(row, "end_date")?, "end_date")?,
        year: get::<Option<i64>>(row, "year")?
            .map(|y| i32::try_from(y).map_err(|_| StoreError::Corrupt(format!("year {y} out of range"))))
            .transpose()?,
        days: days_from_db(get(row, "days")?)?,
        income: get::<Option<i64>>(row, "income_cents")?.map(sportello_domain::Cents::new),
        cessation: cessation_from_db(cessation.as_deref())?,
    })
}

fn application_from_row(row: &SqliteRow) -> Result<Application, StoreError> {
    let json = |column: &str| -> Result<serde_json::Value, StoreError> {
        let text: String = get(row, column)?;
        serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("column {column} is not JSON: {e}")))
    };
    let protocol: Option<String> = get(row, "protocol")?;
    Ok(Application {
        protocol: protocol.ok_or_else(|| StoreError::Corrupt("an application without a protocol number".into()))?,
        codice_fiscale: codice_fiscale_from_db(&get::<String>(row, "codice_fiscale")?)?,
        scheme: get(row, "scheme")?,
        cumulation_group: get(row, "cumulation_group")?,
        idempotency_key: get(row, "idempotency_key")?,
        status: ApplicationStatus::from_db(&get::<String>(row, "status")?)?,
        reasons: json("reasons")?,
        details: json("details")?,
        submitted_at: timestamp_from_db(&get::<String>(row, "submitted_at")?)?,
        updated_at: timestamp_from_db(&get::<String>(row, "updated_at")?)?,
        hold: get(row, "hold")?,
    })
}

fn budget_from_row(row: &SqliteRow) -> Result<Budget, StoreError> {
    Ok(Budget {
        scheme: get(row, "scheme")?,
        amount: Cents::new(get(row, "amount_cents")?),
        limit: Cents::new(get(row, "limit_cents")?),
        legal_ref: get(row, "legal_ref")?,
        reserved: Cents::new(get(row, "reserved_cents")?),
        suspended: payments::count(get(row, "suspended")?, "suspended")?,
    })
}

fn run_from_row(row: &SqliteRow) -> Result<PaymentRun, StoreError> {
    let completed_at: Option<String> = get(row, "completed_at")?;
    Ok(PaymentRun {
        id: get(row, "id")?,
        pay_date: date_from_db(get(row, "pay_date")?, "pay_date")?
            .ok_or_else(|| StoreError::Corrupt("a run without a date".into()))?,
        debtor_name: get(row, "debtor_name")?,
        debtor_iban: get(row, "debtor_iban")?,
        debtor_bic: get(row, "debtor_bic")?,
        created_at: timestamp_from_db(&get::<String>(row, "created_at")?)?,
        completed_at: completed_at.as_deref().map(timestamp_from_db).transpose()?,
    })
}

fn session_from_row(row: &SqliteRow) -> Result<Session, StoreError> {
    Ok(Session {
        id_hash: get(row, "id_hash")?,
        kind: SessionKind::from_db(&get::<String>(row, "kind")?)?,
        actor: get(row, "actor")?,
        codice_fiscale: codice_fiscale_from_db(&get::<String>(row, "codice_fiscale")?)?,
        login_method: get(row, "login_method")?,
        channel: get(row, "channel")?,
        created_at: timestamp_from_db(&get::<String>(row, "created_at")?)?,
        last_seen_at: timestamp_from_db(&get::<String>(row, "last_seen_at")?)?,
        expires_at: timestamp_from_db(&get::<String>(row, "expires_at")?)?,
        credential: get(row, "credential")?,
        confirmed: get(row, "confirmed")?,
    })
}

fn outbox_from_row(row: &SqliteRow) -> Result<OutboxEntry, StoreError> {
    Ok(OutboxEntry {
        id: get(row, "id")?,
        message: OutboxMessage {
            channel: get(row, "channel")?,
            recipient: get(row, "recipient")?,
            subject: get(row, "subject")?,
            body: get(row, "body")?,
            not_before: timestamp_from_db(&get::<String>(row, "not_before")?)?,
        },
        attempts: count_from_db(get(row, "attempts")?, "attempts")?,
    })
}

fn audit_from_row(row: &SqliteRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        actor: get(row, "actor")?,
        action: get(row, "action")?,
        subject: codice_fiscale_from_db(&get::<String>(row, "subject")?)?,
        object: get(row, "object")?,
        at: timestamp_from_db(&get::<String>(row, "at")?)?,
        from: get(row, "from_addr")?,
        login_method: get(row, "login_method")?,
        channel: get(row, "channel")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_match_chrono() {
        for (y, m, d) in [(2020, 2, 23), (1, 1, 1), (999, 12, 31), (9999, 12, 31), (1970, 10, 5)] {
            let date = Date::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(&*iso_date(date), date.format("%Y-%m-%d").to_string());
        }
        let far = Date::from_ymd_opt(12345, 1, 2).unwrap();
        assert_eq!(date_from_db(Some(iso_date(far).to_string()), "x").unwrap(), Some(far));
    }

    #[test]
    fn timestamps_sort_as_text_and_round_trip() {
        let a = DateTime::parse_from_rfc3339("2020-04-01T09:00:00.5Z").unwrap().with_timezone(&Utc);
        let b = DateTime::parse_from_rfc3339("2020-04-01T10:00:00Z").unwrap().with_timezone(&Utc);
        assert!(timestamp_to_db(a) < timestamp_to_db(b));
        assert_eq!(timestamp_from_db(&timestamp_to_db(a)).unwrap(), a);
    }

    #[test]
    fn the_full_insert_fits_the_bind_limit() {
        let sql = insert_statement(ROWS_PER_INSERT);
        assert_eq!(sql.as_str().matches('?').count(), ROWS_PER_INSERT * REGISTRY_COLUMNS);
    }
}
