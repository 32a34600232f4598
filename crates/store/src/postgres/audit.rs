//! The audit log on PostgreSQL, written in groups ([`crate::audit::writer`]), one multi-row insert each.

use async_trait::async_trait;
use chrono::SubsecRound;
use sportello_domain::CodiceFiscale;
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::{AssertSqlSafe, Postgres, QueryBuilder};

use super::PgStore;
use crate::audit::writer::AuditSink;
use crate::rows;
use crate::sql::AUDIT_COLUMNS;
use crate::{AuditEntry, AuditStore, StoreError};

#[async_trait]
impl AuditStore for PgStore {
    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.audits.record(entry).await
    }

    async fn audit_of(&self, codice_fiscale: &CodiceFiscale, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log
             WHERE subject = $1 ORDER BY at DESC, id DESC LIMIT $2"
        )))
        .bind(codice_fiscale.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::audit_entry).collect()
    }
}

/// Writes groups of audit entries with one multi-row `INSERT`, a transaction of its own.
pub(super) struct PgAudits {
    pub(super) pool: PgPool,
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
pub(super) async fn insert_audit_rows(conn: &mut PgConnection, entries: &[AuditEntry]) -> Result<(), StoreError> {
    // Nine parameters a row: 512 rows stay far below PostgreSQL's limit of 65,535 parameters a statement.
    for chunk in entries.chunks(512) {
        let mut insert = QueryBuilder::<Postgres>::new(format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) "));
        insert.push_values(chunk, |mut row, entry| {
            row.push_bind(entry.actor.clone())
                .push_bind(entry.action.clone())
                .push_bind(entry.subject.as_str().to_owned())
                .push_bind(entry.object.clone())
                .push_bind(entry.at.trunc_subsecs(6))
                .push_bind(entry.from.clone())
                .push_bind(entry.login_method.clone())
                .push_bind(entry.channel.clone())
                .push_bind(entry.reason.clone());
        });
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}
