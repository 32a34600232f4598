//! Login sessions, each with its principal: who acts, for whom, how they logged in and by which door.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sportello_domain::CodiceFiscale;

use crate::StoreError;

/// The sessions.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session (its id only as a hash).
    async fn create_session(&self, session: Session) -> Result<(), StoreError>;

    /// Stores many new sessions in one transaction: all of them or none. For operators' bulk work (benchmarks open
    /// sessions for thousands of citizens at once); a login opens one with [`SessionStore::create_session`].
    async fn create_sessions(&self, sessions: &[Session]) -> Result<(), StoreError>;

    /// The session whose id hashes to `id_hash`, if it exists (expiry is the caller's judgement).
    async fn session(&self, id_hash: &str) -> Result<Option<Session>, StoreError>;

    /// Records activity on a session.
    async fn touch_session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Ends a session (logout); ending an unknown one is not an error.
    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;

    /// Removes sessions idle since before `idle_before` or past their absolute expiry at `now`; returns how many.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>, idle_before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// A login session, stored by the hash of its id so that a copy of the database opens no session. It records its
/// principal: who acts ([`Session::actor`]), for whom ([`Session::codice_fiscale`]), how they logged in and by which
/// door.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Hex SHA-256 of the session id.
    pub id_hash: String,
    /// A browser's cookie or an API's bearer token, never interchangeable: a door accepts only its own kind.
    pub kind: SessionKind,
    /// Who acts: `citizen:<codice fiscale>`, later `operator:<id>` and the like.
    pub actor: String,
    /// The subject: whose data the session acts on.
    pub codice_fiscale: CodiceFiscale,
    /// How the actor logged in: `pin_simplified`, `pin_full`, `spid_l2`, `spid_l3`, `cie` or `cns`.
    pub login_method: String,
    /// The door the actor came by: `citizen`, later `intermediary`, `contact_center` or `back_office`.
    pub channel: String,
    /// When the session began.
    pub created_at: DateTime<Utc>,
    /// Last activity.
    pub last_seen_at: DateTime<Utc>,
    /// It ends then, whatever the activity.
    pub expires_at: DateTime<Utc>,
    /// The credential that opened it (`pin:<id>`), if the door has one.
    pub credential: Option<String>,
    /// Whether that credential is confirmed ([`PinCredential::confirmed`](crate::PinCredential::confirmed)): what an unconfirmed session submits is
    /// held for payment.
    pub confirmed: bool,
}

/// What kind of session it is. The kinds are not interchangeable: a session read back for a cookie must be a
/// cookie's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// A browser's session, its id in a cookie.
    Cookie,
    /// An API client's session, its id a bearer token.
    Bearer,
}

impl SessionKind {
    /// The name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cookie => "cookie",
            Self::Bearer => "bearer",
        }
    }

    /// The kind from its stored name.
    pub fn from_db(s: &str) -> Result<Self, StoreError> {
        match s {
            "cookie" => Ok(Self::Cookie),
            "bearer" => Ok(Self::Bearer),
            other => Err(StoreError::Corrupt(format!("unknown session kind '{other}'"))),
        }
    }
}
