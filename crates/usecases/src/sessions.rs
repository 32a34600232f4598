//! A login session opened for a principal: a 128-bit random id handed to the client once (as a cookie or a bearer
//! token: the session's kind, which only its own door opens), stored only as its SHA-256, ending a fixed time after
//! login at the latest. The door decides how the id travels; the use case what is stored.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::TryRng as _;
use sha2::Digest as _;
use sportello_domain::principal::Principal;
use sportello_store::{Session, SessionKind, Store};

use crate::error::UseCaseError;

/// A session id as handed to the client: 128 bits from the OS CSPRNG, in hex. Its `Debug` is redacted.
pub struct SessionId(String);

impl SessionId {
    /// Draws a new id.
    pub fn generate() -> Result<Self, UseCaseError> {
        Ok(SessionId(random_hex()?))
    }

    /// The cookie value or bearer token.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the store keeps: the hex SHA-256 of the id.
    pub fn hash(&self) -> String {
        hash_id(&self.0)
    }
}

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

/// 16 random bytes from the OS CSPRNG, in hex.
fn random_hex() -> Result<String, UseCaseError> {
    let mut bytes = [0u8; 16];
    rand::rngs::SysRng.try_fill_bytes(&mut bytes).map_err(|e| UseCaseError::Rng(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// The hex SHA-256 of a session id, as stored in [`Session::id_hash`].
pub fn hash_id(id: &str) -> String {
    hex::encode(sha2::Sha256::digest(id.as_bytes()))
}

/// A session opened by [`open`].
#[derive(Debug)]
pub struct Opened {
    /// Its id, handed to the client once (cookie or bearer token).
    pub id: SessionId,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// When it ends whatever the activity.
    pub expires_at: DateTime<Utc>,
}

/// What a new session is for: who acts, by which door's kind, with which credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// Who acts, for whom, how they logged in and by which door.
    pub principal: Principal,
    /// A browser's cookie or an API's bearer token.
    pub kind: SessionKind,
    /// The credential that opened it (`pin:<id>`), if the door has one.
    pub credential: Option<String>,
    /// Whether that credential is confirmed.
    pub confirmed: bool,
}

/// Opens `new` under a fresh id at `now`, lasting at most `absolute`, ending the session whose id the client held
/// before (`replacing`), so that the id rotates at login.
pub async fn open(
    store: &dyn Store,
    new: NewSession,
    replacing: Option<&str>,
    absolute: Duration,
    now: DateTime<Utc>,
) -> Result<Opened, UseCaseError> {
    if let Some(old) = replacing {
        store.delete_session(&hash_id(old)).await?;
    }
    let id = SessionId::generate()?;
    let expires_at = chrono::TimeDelta::from_std(absolute)
        .ok()
        .and_then(|t| now.checked_add_signed(t))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let NewSession { principal, kind, credential, confirmed } = new;
    let session = Session {
        id_hash: id.hash(),
        kind,
        actor: principal.actor.stored(),
        codice_fiscale: principal.subject,
        login_method: principal.method.as_str().to_owned(),
        channel: principal.channel.as_str().to_owned(),
        created_at: now,
        last_seen_at: now,
        expires_at,
        credential,
        confirmed,
    };
    store.create_session(session).await?;
    Ok(Opened { id, opened_at: now, expires_at })
}

/// Ends the session whose id the client presents (a logout); an unknown id ends nothing.
pub async fn close(store: &dyn Store, id: &str) -> Result<(), UseCaseError> {
    store.delete_session(&hash_id(id)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_stored_only_hashed() {
        let a = SessionId::generate().unwrap();
        let b = SessionId::generate().unwrap();
        assert_eq!(a.expose().len(), 32, "128 bits in hex");
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.hash().len(), 64);
        assert!(!a.hash().contains(a.expose()));
        assert!(!format!("{a:?}").contains(a.expose()));
    }
}
