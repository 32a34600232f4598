//! The audit log on SQLite, written in groups ([`crate::audit::writer`]) on the one writer connection.

use async_trait::async_trait;
use sportello_domain::CodiceFiscale;
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use sqlx::{AssertSqlSafe, Connection, QueryBuilder, Sqlite};

use super::{SqliteStore, timestamp};
use crate::audit::writer::AuditSink;
use crate::rows;
use crate::sql::AUDIT_COLUMNS;
use crate::{AuditEntry, AuditStore, StoreError};

#[async_trait]
impl AuditStore for SqliteStore {
    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.audits.record(entry).await
    }

    async fn audit_of(&self, codice_fiscale: &CodiceFiscale, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log
             WHERE subject = ?1 ORDER BY at DESC, id DESC LIMIT ?2"
        )))
        .bind(codice_fiscale.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(rows::audit_entry).collect()
    }
}

/// Writes groups of audit entries on the single writer connection, one `INSERT` per group.
pub(super) struct SqliteAudits {
    pub(super) writer: SqlitePool,
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

/// Appends `entries` to the audit log on `conn`, inside the caller's transaction, a few hundred rows a statement.
pub(super) async fn insert_audit_rows(conn: &mut SqliteConnection, entries: &[AuditEntry]) -> Result<(), StoreError> {
    // Nine parameters a row: 512 rows stay far below SQLite's limit of 32,766 parameters a statement.
    for chunk in entries.chunks(512) {
        let mut insert = QueryBuilder::<Sqlite>::new(format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) "));
        insert.push_values(chunk, |mut row, entry| {
            row.push_bind(entry.actor.clone())
                .push_bind(entry.action.clone())
                .push_bind(entry.subject.as_str().to_owned())
                .push_bind(entry.object.clone())
                .push_bind(timestamp(entry.at))
                .push_bind(entry.from.clone())
                .push_bind(entry.login_method.clone())
                .push_bind(entry.channel.clone())
                .push_bind(entry.reason.clone());
        });
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}
