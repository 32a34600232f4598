//! Login sessions on SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use sqlx::sqlite::SqliteExecutor;

use super::{SqliteStore, timestamp};
use crate::rows;
use crate::sql::SESSION_COLUMNS;
use crate::{Session, SessionStore, StoreError};

#[async_trait]
impl SessionStore for SqliteStore {
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
        row.as_ref().map(rows::session).transpose()
    }

    async fn touch_session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        // Requests of one session may finish out of order: activity never moves back in time.
        sqlx::query("UPDATE sessions SET last_seen_at = ?2 WHERE id_hash = ?1 AND last_seen_at < ?2")
            .bind(id_hash)
            .bind(timestamp(now))
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
            .bind(timestamp(now))
            .bind(timestamp(idle_before))
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
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
    .bind(timestamp(session.created_at))
    .bind(timestamp(session.last_seen_at))
    .bind(timestamp(session.expires_at))
    .bind(session.credential.as_deref())
    .bind(session.confirmed)
    .execute(executor)
    .await?;
    Ok(())
}
