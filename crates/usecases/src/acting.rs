//! Who acts, as a door authenticated them: the principal, the credential the session was opened with, and the
//! client's address; and the audit row each reach into personal data leaves.

use chrono::{DateTime, Utc};
use sportello_domain::principal::Principal;
use sportello_store::{AuditEntry, Store};

use crate::error::UseCaseError;

/// Who acts, for whom, by which door and credential, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting {
    /// Who acts, for whom, how they logged in and by which door.
    pub principal: Principal,
    /// The credential that opened the session (`pin:<id>`), if the door has one.
    pub credential: Option<String>,
    /// Whether that credential is confirmed: what an unconfirmed session submits is held for payment, and it may
    /// annul nothing (docs/SECURITY.md, "INPS PIN").
    pub confirmed: bool,
    /// The client's address, for the audit log.
    pub from: Option<String>,
}

impl Acting {
    /// Records that the actor reached the subject's data (`action`, on `object` if any) at `now`. No row, no data:
    /// a caller that gets an error must not answer with the data.
    pub async fn audit(
        &self,
        store: &dyn Store,
        action: &str,
        object: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), UseCaseError> {
        let principal = &self.principal;
        let entry = AuditEntry {
            actor: principal.actor.stored(),
            action: action.to_owned(),
            subject: principal.subject,
            object: object.map(str::to_owned),
            at: now,
            from: self.from.clone(),
            login_method: Some(principal.method.as_str().to_owned()),
            channel: principal.channel.as_str().to_owned(),
            reason: None,
        };
        store.audit(entry).await.map_err(UseCaseError::from)
    }

    /// The hold an application made now is stored with: `None` for a confirmed session; otherwise the credential
    /// whose confirmation releases the payment.
    pub fn hold(&self) -> Option<String> {
        (!self.confirmed).then(|| self.credential.clone().unwrap_or_else(|| "unconfirmed".to_owned()))
    }
}
