//! The personal records on SQLite: an import is one transaction on its own connection that empties the table and
//! fills it again, holding the write lock until it commits, as the registry import does.

use async_trait::async_trait;
use chrono::{SubsecRound, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::persons::PersonRecord;
use sqlx::sqlite::{SqliteArguments, SqliteConnection};
use sqlx::{Arguments as _, ConnectOptions, Connection};

use super::{SqliteStore, iso_date, timestamp_to_db};
use crate::StoreError;
use crate::persons::{Persons, PersonsImport, PersonsSummary};
use crate::rows::{self, StoredRow};
use crate::sql::PERSON_COLUMNS;

/// Records per multi-row insert: 10 columns each, within SQLite's 32766 bind parameters.
const RECORDS_PER_INSERT: usize = 3_000;

#[async_trait]
impl Persons for SqliteStore {
    async fn begin_persons_import(&self) -> Result<Box<dyn PersonsImport>, StoreError> {
        let mut conn = self.options.clone().disable_statement_logging().connect().await?;
        sqlx::raw_sql("BEGIN IMMEDIATE; DELETE FROM persons;").execute(&mut conn).await?;
        Ok(Box::new(SqliteImport { conn, records: 0, interrupted: false }))
    }

    async fn person(&self, codice_fiscale: &CodiceFiscale) -> Result<Option<PersonRecord>, StoreError> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM persons WHERE codice_fiscale = ?1");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(codice_fiscale.as_str()).fetch_optional(&self.readers).await?;
        row.as_ref().map(rows::person).transpose()
    }

    async fn persons_summary(&self) -> Result<PersonsSummary, StoreError> {
        let row =
            sqlx::query("SELECT persons, imported_at FROM persons_meta WHERE id = 1").fetch_one(&self.readers).await?;
        Ok(PersonsSummary {
            persons: row.int("persons")?.unsigned_abs(),
            imported_at: row.opt_timestamp("imported_at")?,
        })
    }
}

/// A persons import on SQLite; dropping it closes the connection and SQLite rolls back.
struct SqliteImport {
    conn: SqliteConnection,
    records: u64,
    interrupted: bool,
}

#[async_trait]
impl PersonsImport for SqliteImport {
    async fn write(&mut self, records: &[PersonRecord]) -> Result<(), StoreError> {
        if self.interrupted {
            return Err(StoreError::ImportInterrupted);
        }
        self.interrupted = true;
        for chunk in records.chunks(RECORDS_PER_INSERT) {
            insert(&mut self.conn, chunk).await?;
            self.records += chunk.len() as u64;
        }
        self.interrupted = false;
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<PersonsSummary, StoreError> {
        if self.interrupted {
            return Err(StoreError::ImportInterrupted);
        }
        let imported_at = Utc::now().trunc_subsecs(6);
        let persons = i64::try_from(self.records).map_err(|_| StoreError::Corrupt("too many records".into()))?;
        sqlx::query("UPDATE persons_meta SET persons = ?1, imported_at = ?2 WHERE id = 1")
            .bind(persons)
            .bind(timestamp_to_db(imported_at))
            .execute(&mut self.conn)
            .await?;
        sqlx::raw_sql("COMMIT").execute(&mut self.conn).await?;
        let _ = self.conn.close().await;
        Ok(PersonsSummary { persons: self.records, imported_at: Some(imported_at) })
    }

    async fn abort(mut self: Box<Self>) -> Result<(), StoreError> {
        sqlx::raw_sql("ROLLBACK").execute(&mut self.conn).await?;
        self.conn.close().await?;
        Ok(())
    }
}

async fn insert(conn: &mut SqliteConnection, records: &[PersonRecord]) -> Result<(), StoreError> {
    let mut arguments = SqliteArguments::default();
    let mut sql = format!("INSERT INTO persons ({PERSON_COLUMNS}) VALUES ");
    for (i, record) in records.iter().enumerate() {
        sql.push_str(if i == 0 { "(?,?,?,?,?,?,?,?,?,?)" } else { ",(?,?,?,?,?,?,?,?,?,?)" });
        let residence = record.residence.as_ref();
        let values: [Option<&str>; 10] = [
            Some(record.codice_fiscale.as_str()),
            Some(&record.cognome),
            Some(&record.nome),
            None,
            residence.map(|r| r.indirizzo.as_str()),
            residence.map(|r| r.cap.as_str()),
            residence.map(|r| r.comune.as_str()),
            residence.map(|r| r.provincia.as_str()),
            record.email.as_deref(),
            record.cellulare.as_deref(),
        ];
        for (column, value) in values.into_iter().enumerate() {
            let added = if column == 3 {
                arguments.add(iso_date(record.data_nascita))
            } else {
                arguments.add(value.map(str::to_owned))
            };
            added.map_err(sqlx::Error::Encode)?;
        }
    }
    sqlx::query_with(sqlx::AssertSqlSafe(sql), arguments).execute(conn).await?;
    Ok(())
}
