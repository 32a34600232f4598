//! The institute's back office: officers' local accounts with their lockout, officer sessions (a kind of their own,
//! in a table of their own, so that a citizen's session never opens an office page nor the reverse), a case looked
//! up by its protocol number alone, and the audit log read whole for one person or for a time window (GDPR arts. 15
//! and 33); audit rows and delivered messages purged after their retention period.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sportello_domain::principal::{LoginMethod, OfficerRole};
use sportello_domain::{CodiceFiscale, ProtocolNumber};

use crate::rows::StoredRow;
use crate::{Application, AuditEntry, StoreError};

/// Officers' accounts and sessions, and the cases they look up.
#[async_trait]
pub trait OfficeStore: Send + Sync {
    /// Stores a new account; [`StoreError::OfficerExists`] when the user name, or the codice fiscale, is taken. Returns
    /// its id.
    async fn add_officer(&self, officer: NewOfficer) -> Result<i64, StoreError>;

    /// The account with this user name, if any.
    async fn officer_by_username(&self, username: &str) -> Result<Option<Officer>, StoreError>;

    /// The account of the person with this codice fiscale (whom SPID or CIE vouched for), if any.
    async fn officer_by_codice_fiscale(&self, codice_fiscale: &CodiceFiscale) -> Result<Option<Officer>, StoreError>;

    /// The account with this id, if any.
    async fn officer(&self, id: i64) -> Result<Option<Officer>, StoreError>;

    /// Disables account `id` at `now`: it logs in no more, by password or by SPID/CIE, and its sessions open nothing.
    /// Returns whether the account exists; disabling it again keeps the first time.
    async fn disable_officer(&self, id: i64, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Every account, by id.
    async fn officers(&self) -> Result<Vec<Officer>, StoreError>;

    /// Counts a wrong password for account `id` at `now`: after `max_failures` in a row it is locked for `lock_for`.
    /// A locked account is left alone (failures during a lock neither count nor extend it). Returns the lock's end
    /// when the account is locked after this failure.
    async fn record_officer_failure(
        &self,
        id: i64,
        now: DateTime<Utc>,
        max_failures: u32,
        lock_for: Duration,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Forgets the wrong passwords of account `id` (after a success).
    async fn clear_officer_failures(&self, id: i64) -> Result<(), StoreError>;

    /// Stores a new officer session (its id only as a hash).
    async fn create_office_session(&self, session: OfficeSession) -> Result<(), StoreError>;

    /// The officer session whose id hashes to `id_hash`, if it exists (expiry is the caller's judgement).
    async fn office_session(&self, id_hash: &str) -> Result<Option<OfficeSession>, StoreError>;

    /// Records activity on an officer session.
    async fn touch_office_session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Ends an officer session; ending an unknown one is not an error.
    async fn delete_office_session(&self, id_hash: &str) -> Result<(), StoreError>;

    /// Removes officer sessions idle since before `idle_before` or past their absolute expiry; returns how many.
    async fn delete_expired_office_sessions(
        &self,
        now: DateTime<Utc>,
        idle_before: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// The application numbered `protocol`, whoever's it is: for the office only, which audits the reading.
    async fn application_by_protocol(&self, protocol: &ProtocolNumber) -> Result<Option<Application>, StoreError>;

    /// How many applications were submitted from `since` (included), by minute, scheme, status and channel, oldest
    /// minute first: the dashboard's figures, no personal data.
    async fn submissions_since(&self, since: DateTime<Utc>) -> Result<Vec<MinuteCount>, StoreError>;
}

/// Applications submitted in one minute, of one scheme, with one status, by one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteCount {
    /// The minute's start.
    pub minute: DateTime<Utc>,
    /// The scheme.
    pub scheme: String,
    /// The status now (`accepted`, `rejected`, `suspended_budget`, …).
    pub status: String,
    /// Who filed it: `citizen`, or the kind of intermediary of `details.filed_by` (`patronato`, `contact_center`…).
    pub channel: String,
    /// How many.
    pub count: u64,
}

/// The audit log read as the data protection officer needs it, and purged after its retention period.
#[async_trait]
pub trait AuditReports: Send + Sync {
    /// Every audit row about one person, oldest first (GDPR art. 15: every access to their data).
    async fn audit_trail_of(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<AuditEntry>, StoreError>;

    /// Every audit row written from `from` (included) to `to` (excluded), oldest first (GDPR art. 33).
    async fn audit_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<AuditEntry>, StoreError>;
}

/// What is kept only for a while: audit rows and delivered messages, deleted once their period has passed.
#[async_trait]
pub trait Retention: Send + Sync {
    /// Deletes the audit rows older than `before`; returns how many.
    async fn purge_audit_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Deletes the outbox messages delivered before `before` (their bodies were wiped at delivery); returns how many.
    async fn purge_delivered_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// An account to create.
#[derive(Clone, PartialEq, Eq)]
pub struct NewOfficer {
    /// The user name typed at login (unique).
    pub username: String,
    /// The name shown on pages and reports.
    pub display_name: String,
    /// What the officer may do.
    pub role: OfficerRole,
    /// The password's Argon2id PHC string.
    pub password_hash: String,
    /// The officer's own codice fiscale, for logging in with SPID or CIE (unique); `None`: by password only.
    pub codice_fiscale: Option<CodiceFiscale>,
    /// When the account was made.
    pub created_at: DateTime<Utc>,
}

/// A stored account.
#[derive(Clone, PartialEq, Eq)]
pub struct Officer {
    /// The account's id, which audit rows name (`officer:<id>:<role>`).
    pub id: i64,
    /// The user name typed at login.
    pub username: String,
    /// The name shown on pages and reports.
    pub display_name: String,
    /// What the officer may do.
    pub role: OfficerRole,
    /// The password's Argon2id PHC string.
    pub password_hash: String,
    /// The officer's own codice fiscale, for logging in with SPID or CIE; `None`: by password only.
    pub codice_fiscale: Option<CodiceFiscale>,
    /// When the account was made.
    pub created_at: DateTime<Utc>,
    /// Wrong passwords since the last success or lock.
    pub failures: u32,
    /// Until when logging in is refused, if it was locked (a past time means the lock has ended).
    pub locked_until: Option<DateTime<Utc>>,
    /// When the account was disabled; a disabled account logs in no more and its sessions open nothing.
    pub disabled_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for NewOfficer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOfficer").field("username", &self.username).field("role", &self.role).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Officer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Officer")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// An officer's login session, stored by the hash of its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeSession {
    /// Hex SHA-256 of the session id.
    pub id_hash: String,
    /// The officer's account.
    pub officer_id: i64,
    /// When the session began.
    pub created_at: DateTime<Utc>,
    /// Last activity.
    pub last_seen_at: DateTime<Utc>,
    /// It ends then, whatever the activity.
    pub expires_at: DateTime<Utc>,
    /// The address the officer logged in from.
    pub from: Option<String>,
    /// How they logged in: their password, or SPID or CIE.
    pub login_method: LoginMethod,
}

/// The columns [`officer`] reads.
pub(crate) const OFFICER_COLUMNS: &str =
    "id, username, display_name, role, password_hash, codice_fiscale, created_at, failures, locked_until, disabled_at";

/// The columns [`office_session`] reads.
pub(crate) const OFFICE_SESSION_COLUMNS: &str =
    "id_hash, officer_id, created_at, last_seen_at, expires_at, from_addr, login_method";

/// An account, from the columns of [`OFFICER_COLUMNS`].
pub(crate) fn officer(row: &impl StoredRow) -> Result<Officer, StoreError> {
    let role = row.text("role")?;
    Ok(Officer {
        id: row.int("id")?,
        username: row.text("username")?,
        display_name: row.text("display_name")?,
        role: OfficerRole::parse(&role).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        password_hash: row.text("password_hash")?,
        codice_fiscale: row
            .opt_text("codice_fiscale")?
            .as_deref()
            .map(crate::rows::codice_fiscale_from_db)
            .transpose()?,
        created_at: row.timestamp("created_at")?,
        failures: u32::try_from(row.int("failures")?).map_err(|_| StoreError::Corrupt("negative failures".into()))?,
        locked_until: row.opt_timestamp("locked_until")?,
        disabled_at: row.opt_timestamp("disabled_at")?,
    })
}

/// An officer session, from the columns of [`OFFICE_SESSION_COLUMNS`].
pub(crate) fn office_session(row: &impl StoredRow) -> Result<OfficeSession, StoreError> {
    Ok(OfficeSession {
        id_hash: row.text("id_hash")?,
        officer_id: row.int("officer_id")?,
        created_at: row.timestamp("created_at")?,
        last_seen_at: row.timestamp("last_seen_at")?,
        expires_at: row.timestamp("expires_at")?,
        from: row.opt_text("from_addr")?,
        login_method: LoginMethod::parse(&row.text("login_method")?).map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}
