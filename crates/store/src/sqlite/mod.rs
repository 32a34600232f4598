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

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Utc};
use sportello_domain::Date;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite};

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
use applications::SqliteBatch;
use audit::SqliteAudits;

/// How long a statement waits for another connection's write lock before failing. A registry import holds the lock
/// from begin to commit (about ten seconds for five million rows, plus the time to read them), so a submission made
/// during an import waits up to this long and then fails with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// Connections for reading. WAL lets them read while the writer writes; more than a few gains nothing on SQLite.
const READERS: u32 = 4;

/// Keeps the WAL file from staying as large as the last registry import after it has been checkpointed.
const JOURNAL_SIZE_LIMIT: &str = "67108864";

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
    /// Does not run migrations: [`crate::open`] does, or call [`Admin::migrate`].
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

/// Creates the folder a database file lives in, if it has one and it is missing.
fn create_parent_folder(file: &Path) -> Result<(), StoreError> {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => std::fs::create_dir_all(parent)
            .map_err(|source| StoreError::CreateFolder { path: parent.to_owned(), source }),
        _ => Ok(()),
    }
}

#[async_trait]
impl Admin for SqliteStore {
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
        Ok(crate::admin::pending(&migrator, &applied))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.readers).await?;
        Ok(())
    }
}

/// SQLite keeps timestamps, dates and JSON as text: they are parsed here, a bad one is corruption.
impl StoredRow for SqliteRow {
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        get(self, column)
    }

    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        get(self, column)
    }

    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        get(self, column)
    }

    fn opt_timestamp(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        get::<Option<String>>(self, column)?.as_deref().map(timestamp_from_db).transpose()
    }

    fn opt_date(&self, column: &str) -> Result<Option<Date>, StoreError> {
        date_from_db(get(self, column)?, column)
    }

    fn json(&self, column: &str) -> Result<serde_json::Value, StoreError> {
        let text: String = get(self, column)?;
        serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("column {column} is not JSON: {e}")))
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

/// `at` as stored: to the microsecond, as PostgreSQL keeps it.
fn timestamp(at: DateTime<Utc>) -> String {
    use chrono::SubsecRound as _;
    timestamp_to_db(at.trunc_subsecs(6))
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
}
