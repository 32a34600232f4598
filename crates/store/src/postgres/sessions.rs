//! Login sessions on PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::AssertSqlSafe;

use super::PgStore;
use crate::rows;
use crate::sql::SESSION_COLUMNS;
use crate::{Session, SessionStore, StoreError};

#[async_trait]
impl SessionStore for PgStore {
    async fn create_session(&self, session: Session) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, kind, actor, codice_fiscale, login_method, channel, created_at,
                                   last_seen_at, expires_at, credential, confirmed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&session.id_hash)
        .bind(session.kind.as_str())
        .bind(&session.actor)
        .bind(session.codice_fiscale.as_str())
        .bind(&session.login_method)
        .bind(&session.channel)
        .bind(session.created_at.trunc_subsecs(6))
        .bind(session.last_seen_at.trunc_subsecs(6))
        .bind(session.expires_at.trunc_subsecs(6))
        .bind(session.credential.as_deref())
        .bind(session.confirmed)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn create_sessions(&self, sessions: &[Session]) -> Result<(), StoreError> {
        // One statement per 10,000 sessions (columns as arrays), all in one transaction.
        let mut tx = self.pool.begin().await?;
        for chunk in sessions.chunks(10_000) {
            let ids: Vec<&str> = chunk.iter().map(|s| s.id_hash.as_str()).collect();
            let kinds: Vec<&str> = chunk.iter().map(|s| s.kind.as_str()).collect();
            let actors: Vec<&str> = chunk.iter().map(|s| s.actor.as_str()).collect();
            let persons: Vec<&str> = chunk.iter().map(|s| s.codice_fiscale.as_str()).collect();
            let methods: Vec<&str> = chunk.iter().map(|s| s.login_method.as_str()).collect();
            let channels: Vec<&str> = chunk.iter().map(|s| s.channel.as_str()).collect();
            let created: Vec<DateTime<Utc>> = chunk.iter().map(|s| s.created_at.trunc_subsecs(6)).collect();
            let seen: Vec<DateTime<Utc>> = chunk.iter().map(|s| s.last_seen_at.trunc_subsecs(6)).collect();
            let expires: Vec<DateTime<Utc>> = chunk.iter().map(|s| s.expires_at.trunc_subsecs(6)).collect();
            let credentials: Vec<Option<&str>> = chunk.iter().map(|s| s.credential.as_deref()).collect();
            let confirmed: Vec<bool> = chunk.iter().map(|s| s.confirmed).collect();
            sqlx::query(
                "INSERT INTO sessions (id_hash, kind, actor, codice_fiscale, login_method, channel, created_at,
                                       last_seen_at, expires_at, credential, confirmed)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                      $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::text[],
                                      $11::boolean[])",
            )
            .bind(ids)
            .bind(kinds)
            .bind(actors)
            .bind(persons)
            .bind(methods)
            .bind(channels)
            .bind(created)
            .bind(seen)
            .bind(expires)
            .bind(credentials)
            .bind(confirmed)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id_hash = $1")))
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::session).transpose()
    }

    async fn touch_session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        // Requests of one session may finish out of order: activity never moves back in time.
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1 AND last_seen_at < $2")
            .bind(id_hash)
            .bind(now.trunc_subsecs(6))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(&self.pool).await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>, idle_before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at < $2")
            .bind(now.trunc_subsecs(6))
            .bind(idle_before.trunc_subsecs(6))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
