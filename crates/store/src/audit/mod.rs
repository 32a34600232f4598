//! The audit log of accesses to personal data: who acted, how they logged in and by which door, what they did,
//! about whom, when and from where. Append-only; written in groups by [`writer`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sportello_domain::CodiceFiscale;

use crate::StoreError;

pub(crate) mod writer;

/// The audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends a row to the audit log of accesses to personal data.
    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError>;

    /// The newest `limit` audit rows about one person, newest first.
    async fn audit_of(&self, codice_fiscale: &CodiceFiscale, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;
}

/// One access to personal data: who, what, about whom, when, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Who acted: a codice fiscale, an operator id or `system`.
    pub actor: String,
    /// What was done, e.g. `view_decision`, `submit_application`.
    pub action: String,
    /// Whose data it was.
    pub subject: CodiceFiscale,
    /// The object touched, e.g. a protocol number.
    pub object: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// The client address.
    pub from: Option<String>,
    /// How the actor logged in ([`Session::login_method`](crate::Session::login_method)); `None` for the system's own actions.
    pub login_method: Option<String>,
    /// The door the actor came by ([`Session::channel`](crate::Session::channel)): `citizen` unless said otherwise.
    pub channel: String,
    /// Why an officer looked (the reason they stated); `None` for the person's own views and the system's actions.
    pub reason: Option<String>,
}
