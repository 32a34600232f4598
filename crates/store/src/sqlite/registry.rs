//! The registry on SQLite: an import writes a staging table on a connection of its own, holding the write lock, and
//! swaps it in at commit.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{SubsecRound, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::registry::{Cessation, Position, PositionKind, RegistryRow};
use sqlx::sqlite::{SqliteArguments, SqliteConnection};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, SqlSafeStr as _, SqlStr};

use super::{SqliteStore, iso_date, timestamp_to_db};
use crate::rows::{self, StoredRow};
use crate::{RegistryImport, RegistryStore, RegistrySummary, StoreError};

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

#[async_trait]
impl RegistryStore for SqliteStore {
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
        rows.iter().map(rows::position).collect()
    }

    async fn registry_summary(&self) -> Result<RegistrySummary, StoreError> {
        let row = sqlx::query("SELECT persons, positions, imported_at FROM registry_meta WHERE id = 1")
            .fetch_one(&self.readers)
            .await?;
        rows::registry_summary(&row)
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
        rows.iter().map(|row| row.codice_fiscale("codice_fiscale")).collect()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_insert_fits_the_bind_limit() {
        let sql = insert_statement(ROWS_PER_INSERT);
        assert_eq!(sql.as_str().matches('?').count(), ROWS_PER_INSERT * REGISTRY_COLUMNS);
    }
}
