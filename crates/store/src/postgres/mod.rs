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

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sportello_domain::Date;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Column as _, ConnectOptions, Connection, Postgres, Row, TypeInfo as _};

mod applications;
mod audit;
mod budgets;
mod credentials;
mod dead_letters;
mod intermediaries;
mod office;
mod outbox;
mod payments;
mod persons;
mod registry;
mod reminders;
mod reviews;
mod sessions;

use crate::audit::writer::Auditor;
use crate::group::{CommitCount, GroupCommit, Submitter};
use crate::rows::StoredRow;
use crate::{Admin, StoreError};
use applications::PgBatch;
use audit::PgAudits;

/// Pool size: enough for the portal's concurrent requests without crowding the server's `max_connections`.
const MAX_CONNECTIONS: u32 = 16;

/// How long a request waits for a pooled connection (or for the server to accept a new one) before failing. Short:
/// while the database is down, the portal answers 503 in a few seconds rather than holding every request until
/// its timeout; the pool reconnects by itself once the server is back.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The longest a statement may run on the server before it cancels it: a request never holds a connection longer,
/// and a batch of submissions stuck behind a lock fails (and is answered 503) rather than stalling every writer.
/// Not applied to the registry import's own connection, whose `COPY` may rightly take minutes.
const STATEMENT_TIMEOUT: &str = "5s";

/// How long one batch of submissions may take from acquiring its connection to its COMMIT's answer, measured here:
/// a server that stops answering without closing its connections (a frozen process, a network that drops
/// packets) cancels nothing, so the writer gives up on its own clock, answers each submission of the batch
/// "unavailable" (503; resubmitting with the same idempotency key is safe), and takes the next batch.
pub(crate) const BATCH_DEADLINE: Duration = Duration::from_secs(8);

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
    /// Does not run migrations: [`crate::open`] does, or call [`Admin::migrate`].
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
        let pooled = options.clone().options([("statement_timeout", STATEMENT_TIMEOUT)]);
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A connection that failed (its server gone, or no longer the primary) is not handed out again.
            .test_before_acquire(true)
            .connect_lazy_with(pooled);
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

#[async_trait]
impl Admin for PgStore {
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
        Ok(crate::admin::pending(&migrator, &applied))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// PostgreSQL gives timestamps, dates and JSON in types of their own; integers come in three widths.
impl StoredRow for PgRow {
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        get(self, column)
    }

    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        let width = self.try_column(column).map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))?;
        match width.type_info().name() {
            "INT2" => Ok(get::<Option<i16>>(self, column)?.map(i64::from)),
            "INT4" => Ok(get::<Option<i32>>(self, column)?.map(i64::from)),
            _ => get(self, column),
        }
    }

    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        get(self, column)
    }

    fn opt_timestamp(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        get(self, column)
    }

    fn opt_date(&self, column: &str) -> Result<Option<Date>, StoreError> {
        get(self, column)
    }

    fn json(&self, column: &str) -> Result<serde_json::Value, StoreError> {
        get::<Json<serde_json::Value>>(self, column).map(|Json(value)| value)
    }
}

/// One column of a row; a value of the wrong type is corruption, not a driver failure.
fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(column).map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
}
