//! The personal records on PostgreSQL: an import is one transaction on its own connection that empties the table
//! and fills it again with array inserts; readers see the previous records until it commits.

use async_trait::async_trait;
use chrono::{SubsecRound, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::persons::PersonRecord;
use sqlx::postgres::PgConnection;
use sqlx::{ConnectOptions, Connection};

use super::PgStore;
use crate::StoreError;
use crate::persons::{Persons, PersonsImport, PersonsSummary};
use crate::rows::{self, StoredRow};
use crate::sql::PERSON_COLUMNS;

/// Records per insert.
const RECORDS_PER_INSERT: usize = 10_000;

/// Serialises persons imports, so that two at once queue rather than deadlock.
const PERSONS_IMPORT_LOCK: i64 = 0x5350_4f52_5045_5231; // "SPORPER1"

#[async_trait]
impl Persons for PgStore {
    async fn begin_persons_import(&self) -> Result<Box<dyn PersonsImport>, StoreError> {
        let mut conn = self.options.clone().disable_statement_logging().connect().await?;
        sqlx::raw_sql("BEGIN").execute(&mut conn).await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(PERSONS_IMPORT_LOCK).execute(&mut conn).await?;
        sqlx::raw_sql("DELETE FROM persons").execute(&mut conn).await?;
        Ok(Box::new(PgImport { conn, records: 0, interrupted: false }))
    }

    async fn person(&self, codice_fiscale: &CodiceFiscale) -> Result<Option<PersonRecord>, StoreError> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM persons WHERE codice_fiscale = $1");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(codice_fiscale.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::person).transpose()
    }

    async fn persons_summary(&self) -> Result<PersonsSummary, StoreError> {
        let row =
            sqlx::query("SELECT persons, imported_at FROM persons_meta WHERE id = 1").fetch_one(&self.pool).await?;
        Ok(PersonsSummary {
            persons: row.int("persons")?.unsigned_abs(),
            imported_at: row.opt_timestamp("imported_at")?,
        })
    }
}

/// A persons import on PostgreSQL; dropping it closes the connection and the server rolls back.
struct PgImport {
    conn: PgConnection,
    records: u64,
    interrupted: bool,
}

#[async_trait]
impl PersonsImport for PgImport {
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
        sqlx::query("UPDATE persons_meta SET persons = $1, imported_at = $2 WHERE id = 1")
            .bind(persons)
            .bind(imported_at)
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

async fn insert(conn: &mut PgConnection, records: &[PersonRecord]) -> Result<(), StoreError> {
    let column = |f: fn(&PersonRecord) -> Option<&str>| -> Vec<Option<&str>> { records.iter().map(f).collect() };
    sqlx::query(
        "INSERT INTO persons (codice_fiscale, cognome, nome, data_nascita, indirizzo, cap, comune, provincia, email,
             cellulare)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::date[], $5::text[], $6::text[], $7::text[],
             $8::text[], $9::text[], $10::text[])",
    )
    .bind(column(|r| Some(r.codice_fiscale.as_str())))
    .bind(column(|r| Some(r.cognome.as_str())))
    .bind(column(|r| Some(r.nome.as_str())))
    .bind(records.iter().map(|r| r.data_nascita).collect::<Vec<_>>())
    .bind(column(|r| r.residence.as_ref().map(|x| x.indirizzo.as_str())))
    .bind(column(|r| r.residence.as_ref().map(|x| x.cap.as_str())))
    .bind(column(|r| r.residence.as_ref().map(|x| x.comune.as_str())))
    .bind(column(|r| r.residence.as_ref().map(|x| x.provincia.as_str())))
    .bind(column(|r| r.email.as_deref()))
    .bind(column(|r| r.cellulare.as_deref()))
    .execute(conn)
    .await?;
    Ok(())
}
