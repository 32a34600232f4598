//! The registry on PostgreSQL: an import streams rows with `COPY … FROM STDIN` into a staging table on a connection
//! of its own and swaps it in at commit.

use std::fmt::Write as _;

use async_trait::async_trait;
use chrono::{SubsecRound, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::registry::{Position, RegistryRow};
use sqlx::postgres::PgConnection;
use sqlx::{ConnectOptions, Connection};

use super::PgStore;
use crate::rows::{self, StoredRow};
use crate::{RegistryImport, RegistryStore, RegistrySummary, StoreError};

/// Key of the advisory lock that serialises registry imports (any constant unique to Sportello).
const IMPORT_LOCK: i64 = 0x5350_4f52_5245_4731; // "SPORREG1"

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

#[async_trait]
impl RegistryStore for PgStore {
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
        rows.iter().map(rows::position).collect()
    }

    async fn registry_summary(&self) -> Result<RegistrySummary, StoreError> {
        let row = sqlx::query("SELECT persons, positions, imported_at FROM registry_meta WHERE id = 1")
            .fetch_one(&self.pool)
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
             WHERE codice_fiscale > $1 ORDER BY codice_fiscale LIMIT $2",
        )
        .bind(after.map_or("", CodiceFiscale::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| row.codice_fiscale("codice_fiscale")).collect()
    }
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
