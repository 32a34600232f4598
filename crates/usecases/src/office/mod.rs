//! The institute's back office, whichever door asks: officers' accounts and logins, cases searched and read with a
//! stated reason, subject access (GDPR art. 15) and breach assessment (art. 33), and retention.
//!
//! Every use case here takes the officer [`OnDuty`] and checks the [`Duty`] it needs against their role before it
//! reads anything; every reading of a person's data writes its audit row — naming the officer, their role, the door
//! (`back_office`), the client's address and the reason they gave — before the data is answered.

use chrono::{DateTime, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::principal::{Duty, LoginMethod, OfficerRole, Principal};
use sportello_store::{AuditEntry, Store};

use crate::acting::Acting;
use crate::error::UseCaseError;

pub mod accounts;
pub mod cases;
pub mod dashboard;
pub mod gdpr;
pub mod login;
pub mod retention;
pub mod review;

/// An officer at work: who they are, their role as their account holds it now, and where they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnDuty {
    /// The account's id.
    pub id: i64,
    /// Their role, read from the account at this request.
    pub role: OfficerRole,
    /// The name shown on pages.
    pub name: String,
    /// The client's address, for the audit log.
    pub from: Option<String>,
    /// How they logged in, for the audit log.
    pub method: LoginMethod,
}

impl OnDuty {
    /// `Ok` if the role allows `duty`; [`UseCaseError::NotAllowed`] otherwise.
    pub fn require(&self, duty: Duty) -> Result<(), UseCaseError> {
        if self.role.may(duty) { Ok(()) } else { Err(UseCaseError::NotAllowed { role: self.role, duty }) }
    }

    /// The officer acting on `subject`'s data, as the audit records it.
    pub fn on(&self, subject: CodiceFiscale) -> Acting {
        Acting {
            principal: Principal::officer(self.id, self.role, subject, self.method),
            credential: Some(format!("officer:{}", self.id)),
            confirmed: true,
            from: self.from.clone(),
        }
    }

    /// Records that the officer reached `subject`'s data (`action`, on `object`) for `reason`, at `now`. No row, no
    /// data.
    pub async fn audit(
        &self,
        store: &dyn Store,
        subject: CodiceFiscale,
        action: &str,
        object: Option<&str>,
        reason: &Reason,
        now: DateTime<Utc>,
    ) -> Result<(), UseCaseError> {
        let principal = self.on(subject).principal;
        let entry = AuditEntry {
            actor: principal.actor.stored(),
            action: action.to_owned(),
            subject,
            object: object.map(str::to_owned),
            at: now,
            from: self.from.clone(),
            login_method: Some(principal.method.as_str().to_owned()),
            channel: principal.channel.as_str().to_owned(),
            reason: Some(reason.as_str().to_owned()),
        };
        store.audit(entry).await.map_err(UseCaseError::from)
    }
}

/// Why an officer looks at a person's data, in their words: 10 to 300 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    /// Fewest characters a reason has: enough for "reclamo n. 1".
    pub const MIN: usize = 10;
    /// Most characters a reason has.
    pub const MAX: usize = 300;

    /// The reason typed, trimmed; [`UseCaseError::NoReason`] when it is missing, too short, too long or holds control
    /// characters.
    pub fn parse(text: &str) -> Result<Self, UseCaseError> {
        let text = text.trim();
        let count = text.chars().count();
        if !(Self::MIN..=Self::MAX).contains(&count) || text.chars().any(char::is_control) {
            return Err(UseCaseError::NoReason { min: Self::MIN, max: Self::MAX });
        }
        Ok(Self(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_ten_to_three_hundred_plain_characters() {
        let cases = [
            ("", false),
            ("   curioso   ", false),
            ("reclamo n. 1", true),
            ("riesame\nrichiesto dal cittadino", false),
            (&"x".repeat(300), true),
            (&"x".repeat(301), false),
        ];
        for (text, ok) in cases {
            assert_eq!(Reason::parse(text).is_ok(), ok, "{text:?}");
        }
        assert_eq!(Reason::parse("  reclamo n. 1 ").unwrap().as_str(), "reclamo n. 1");
    }

    #[test]
    fn a_role_without_the_duty_is_refused() {
        let officer =
            OnDuty { id: 1, role: OfficerRole::Auditor, name: "A".into(), from: None, method: LoginMethod::Password };
        assert!(officer.require(Duty::Breach).is_ok());
        let refused = officer.require(Duty::ViewCase).unwrap_err();
        assert_eq!(refused.kind(), crate::ErrorKind::Forbidden);
    }
}
