//! A case as an officer reads it: found by codice fiscale or protocol number, shown with the person's record, every
//! application with its decision trace (every reason with its article), the law's decision now for every decree in
//! force, and the payments. Each reading is audited with the officer's reason before anything is answered.

use chrono::{DateTime, Utc};
use sportello_domain::law::Decrees;
use sportello_domain::persons::PersonRecord;
use sportello_domain::principal::Duty;
use sportello_domain::{CodiceFiscale, ProtocolNumber};
use sportello_store::{Application, PaymentRecord, Review, Store};

use super::{OnDuty, Reason};
use crate::decide::Situation;
use crate::error::UseCaseError;

/// What an officer typed to find a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseKey {
    /// A person, by codice fiscale.
    Person(CodiceFiscale),
    /// An application, by protocol number.
    Protocol(ProtocolNumber),
}

impl CaseKey {
    /// A codice fiscale or a protocol number, upper-cased and trimmed; [`UseCaseError::NotACaseKey`] otherwise.
    pub fn parse(text: &str) -> Result<Self, UseCaseError> {
        let text = text.trim().to_uppercase();
        if let Ok(cf) = CodiceFiscale::parse(&text) {
            return Ok(Self::Person(cf));
        }
        ProtocolNumber::parse(&text)
            .map(Self::Protocol)
            .map_err(|_| UseCaseError::NotACaseKey(text.chars().take(40).collect()))
    }
}

/// One person's case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Whose case.
    pub subject: CodiceFiscale,
    /// The protocol number searched for, if the search named one.
    pub protocol: Option<ProtocolNumber>,
    /// Their personal record, if the persons import has one.
    pub person: Option<PersonRecord>,
    /// The law's decision now, for every decree in force, with what they hold.
    pub situation: Situation,
    /// Every application of theirs, oldest first, each with the reasons it was decided by.
    pub applications: Vec<Application>,
    /// Their payments.
    pub payments: Vec<PaymentRecord>,
    /// The reviews of their applications, oldest first, applied or waiting for a second supervisor.
    pub reviews: Vec<Review>,
}

/// The case `key` names, read by `officer` for `reason` at `now` (audited `office_view_case`). A protocol number of
/// no application is [`UseCaseError::NoSuchApplication`]; a codice fiscale always opens a case, empty if nothing is
/// held about it.
pub async fn open(
    store: &dyn Store,
    decrees: &Decrees,
    officer: &OnDuty,
    key: &CaseKey,
    reason: &Reason,
    now: DateTime<Utc>,
) -> Result<Case, UseCaseError> {
    officer.require(Duty::ViewCase)?;
    let (subject, protocol) = match key {
        CaseKey::Person(cf) => (*cf, None),
        CaseKey::Protocol(protocol) => {
            let application = store.application_by_protocol(protocol).await?;
            let application = application.ok_or_else(|| UseCaseError::NoSuchApplication(protocol.to_string()))?;
            (application.codice_fiscale, Some(protocol.clone()))
        }
    };
    let object = protocol.as_ref().map(ProtocolNumber::to_string);
    officer.audit(store, subject, "office_view_case", object.as_deref(), reason, now).await?;
    let situation = crate::decide::situation(store, decrees, subject).await?;
    let applications = store.applications_of(&subject).await?;
    let payments = store.payments_of(&subject).await?;
    let person = store.person(&subject).await?;
    let reviews = store.reviews_of(&subject).await?;
    Ok(Case { subject, protocol, person, situation, applications, payments, reviews })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_is_found_by_codice_fiscale_or_protocol_and_nothing_else() {
        assert!(matches!(CaseKey::parse(" rssmra80a01h501u "), Ok(CaseKey::Person(_))));
        assert!(matches!(CaseKey::parse("INPS-COVID-2020-000000001"), Ok(CaseKey::Protocol(_))));
        let refused = CaseKey::parse("mario rossi").unwrap_err();
        assert_eq!(refused.to_string(), "'MARIO ROSSI' is neither a codice fiscale nor a protocol number");
    }
}
