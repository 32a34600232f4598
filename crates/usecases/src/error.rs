//! The use cases' one error type and what kind of failure each is, for the doors to map once.

use sportello_domain::Date;
use sportello_domain::law::{Outside, OutsideWindow};
use sportello_domain::{CodiceFiscale, ProtocolNumber};
use sportello_store::StoreError;
use thiserror::Error;

pub use crate::kind::ErrorKind;
use crate::pin::PinError;

/// Why a use case did not complete.
#[derive(Debug, Error)]
pub enum UseCaseError {
    /// No decree in force has a scheme with this id.
    #[error("there is no scheme '{0}' in the decrees in force")]
    UnknownScheme(String),
    /// The scheme is paid without an application, so nobody applies for it.
    #[error("scheme '{0}' is paid without an application: nobody applies for it")]
    NotOnApplication(String),
    /// The scheme is applied for, so it cannot be granted by a command.
    #[error("scheme '{0}' is applied for, not granted: only a scheme with granted = \"automatically\" can be granted")]
    NotGranted(String),
    /// No application of the principal's subject has this protocol number (another person's is the same: not
    /// found, never "forbidden", so that a protocol number tells nothing about whose it is).
    #[error("no application of this person has protocol number '{0}'")]
    NoSuchApplication(String),
    /// A new IBAN was given for an application whose payment the bank did not return.
    #[error("the payment of application '{0}' was not returned by the bank: no new IBAN is needed")]
    NoReturnedPayment(ProtocolNumber),
    /// An annulment asked in a session whose credential is not confirmed (docs/SECURITY.md, "INPS PIN").
    #[error("only a session opened with a confirmed credential may annul an application")]
    NotConfirmed,
    /// An annulment of an application that is not held for another, unconfirmed credential.
    #[error("application '{0}' was not made with another, unconfirmed credential: there is nothing to annul")]
    NothingToAnnul(ProtocolNumber),
    /// An officer whose role does not allow what they asked for.
    #[error("the role '{}' does not allow {duty:?}", .role.as_str())]
    NotAllowed {
        /// The officer's role.
        role: sportello_domain::principal::OfficerRole,
        /// What they asked to do.
        duty: sportello_domain::principal::Duty,
    },
    /// An officer asked to see a person's data without a reason that can be recorded.
    #[error("state why you look at this person's data: {min} to {max} characters, on one line")]
    NoReason {
        /// Fewest characters.
        min: usize,
        /// Most characters.
        max: usize,
    },
    /// What an officer typed to find a case is neither a codice fiscale nor a protocol number.
    #[error("'{0}' is neither a codice fiscale nor a protocol number")]
    NotACaseKey(String),
    /// What an officer or an administrator typed does not fit (a user name, a password, a time window).
    #[error("{0}")]
    OfficeInput(String),
    /// The person is not in the registry, so no PIN is issued for them.
    #[error("{0} is not in the registry: no PIN issued for it")]
    NotInRegistry(CodiceFiscale),
    /// The person holds no PIN, so there is no credential to confirm.
    #[error("{0} holds no PIN: there is nothing to confirm (check the codice fiscale)")]
    HoldsNoPin(CodiceFiscale),
    /// A PIN was used while a new one was being issued in its slot; nothing was issued.
    #[error("a PIN of {0} was used while a new one was issued in its slot: run again")]
    SlotTaken(CodiceFiscale),
    /// The day is outside the days the scheme's decree takes applications (`[decree] applications` of its file).
    #[error(
        "applications for scheme '{scheme}' under {decree} are taken from {opens} to {closes} ({legal_ref}); {day} is {side}"
    )]
    OutsideWindow {
        /// The scheme applied for.
        scheme: String,
        /// The decree's short name, e.g. "DL 18/2020".
        decree: String,
        /// The first day applications are taken.
        opens: Date,
        /// The last day.
        closes: Date,
        /// The act that set the days.
        legal_ref: String,
        /// The day of the application.
        day: Date,
        /// "before they open" or "after they closed".
        side: &'static str,
    },
    /// The decrees gave no decision for one of their own schemes (a defect, not input).
    #[error("the decrees did not decide their own scheme {0}")]
    Undecided(String),
    /// Drawing or hashing a PIN, or drawing another random value, failed.
    #[error(transparent)]
    Pin(#[from] PinError),
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Rng(String),
    /// Another part of the service failed (the login machinery, a random draw).
    #[error("the service failed: {0}")]
    Service(String),
    /// The store failed or could not be reached.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A spending limit that cannot be set as asked.
    #[error(transparent)]
    Budget(#[from] crate::budgets::BudgetError),
    /// A payment run or a status report that did not complete.
    #[error(transparent)]
    Payment(#[from] crate::payments::PaymentError),
    /// A gate operation refused or failed.
    #[error(transparent)]
    Gate(#[from] crate::gate::GateOpError),
    /// A registry import refused or failed; the registry is unchanged.
    #[error(transparent)]
    Import(#[from] crate::registry::ImportError),
    /// A persons file refused or failed; the personal records are unchanged.
    #[error(transparent)]
    Persons(#[from] crate::registry::PersonsError),
    /// An operator or a mandate refused.
    #[error(transparent)]
    Mandate(#[from] crate::intermediaries::MandateError),
    /// A Contact Center call that cannot go on (the caller not identified, no consent).
    #[error(transparent)]
    Call(#[from] crate::intermediaries::CallError),
    /// A roster file refused or failed; the roster is unchanged.
    #[error(transparent)]
    Roster(#[from] crate::intermediaries::RosterError),

    #[error(transparent)]
    Batch(#[from] crate::intermediaries::batch_file::BatchError),
    /// Details could not be written as JSON (a defect, not input).
    #[error("cannot write an application's details: {0}")]
    Json(#[from] serde_json::Error),
}

impl UseCaseError {
    /// The refusal of an application for `scheme` on `day`, outside its decree's window.
    pub fn outside_window(scheme: &str, outside: OutsideWindow<'_>, day: Date) -> Self {
        let window = outside.decree.decree().applications();
        Self::OutsideWindow {
            scheme: scheme.to_owned(),
            decree: outside.decree.decree().short().to_owned(),
            opens: window.opens(),
            closes: window.closes(),
            legal_ref: window.legal_ref().to_owned(),
            day,
            side: match outside.side {
                Outside::NotYetOpen => "before they open",
                Outside::Closed => "after they closed",
            },
        }
    }

    /// The kind of failure, which each door maps once.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::UnknownScheme(_)
            | Self::NotOnApplication(_)
            | Self::NotGranted(_)
            | Self::NotInRegistry(_)
            | Self::HoldsNoPin(_)
            | Self::NoReason { .. }
            | Self::NotACaseKey(_)
            | Self::OfficeInput(_)
            | Self::OutsideWindow { .. } => ErrorKind::Input,
            Self::NoSuchApplication(_) => ErrorKind::NotFound,
            Self::NotConfirmed | Self::NotAllowed { .. } => ErrorKind::Forbidden,
            Self::NoReturnedPayment(_) | Self::NothingToAnnul(_) | Self::Store(StoreError::ReviewRefused(_)) => {
                ErrorKind::Conflict
            }
            Self::Budget(e) => e.kind(),
            Self::Payment(e) => e.kind(),
            Self::Gate(e) => e.kind(),
            Self::Import(e) => e.kind(),
            Self::Persons(e) => e.kind(),
            Self::Roster(e) => e.kind(),
            Self::Mandate(e) => e.kind(),
            Self::Call(e) => e.kind(),
            Self::Batch(e) => e.kind(),
            // What the operator can fix: a database not there or not migrated, a limit or run the data refuses.
            Self::Store(
                StoreError::Missing(_)
                | StoreError::Outdated { .. }
                | StoreError::UnknownBudget(_)
                | StoreError::BudgetBelowReserved { .. }
                | StoreError::OfficerExists(_)
                | StoreError::UnnamedTransfers { .. },
            ) => ErrorKind::Input,
            Self::SlotTaken(_)
            | Self::Undecided(_)
            | Self::Rng(_)
            | Self::Service(_)
            | Self::Pin(_)
            | Self::Store(_)
            | Self::Json(_) => ErrorKind::Unavailable,
        }
    }

    /// The command line's exit status for it: 2 for what the user can fix, 1 for a failure of the system.
    pub fn exit_status(&self) -> u8 {
        match self.kind() {
            ErrorKind::Input | ErrorKind::NotFound | ErrorKind::Forbidden | ErrorKind::Conflict => 2,
            ErrorKind::Unavailable => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protocol() -> ProtocolNumber {
        ProtocolNumber::parse("INPS-COVID-2020-000000001").unwrap()
    }

    #[test]
    fn what_the_user_can_fix_exits_with_2_and_a_failure_of_ours_with_1() {
        let cases: [(&str, UseCaseError, ErrorKind, u8); 6] = [
            ("an unknown scheme", UseCaseError::UnknownScheme("x".into()), ErrorKind::Input, 2),
            ("another person's protocol", UseCaseError::NoSuchApplication("P".into()), ErrorKind::NotFound, 2),
            ("an unconfirmed session annulling", UseCaseError::NotConfirmed, ErrorKind::Forbidden, 2),
            ("a payment not returned", UseCaseError::NoReturnedPayment(protocol()), ErrorKind::Conflict, 2),
            ("nothing to annul", UseCaseError::NothingToAnnul(protocol()), ErrorKind::Conflict, 2),
            ("a store down", UseCaseError::Store(StoreError::Corrupt("x".into())), ErrorKind::Unavailable, 1),
        ];
        for (situation, error, kind, status) in cases {
            assert_eq!(error.kind(), kind, "{situation}");
            assert_eq!(error.exit_status(), status, "{situation}");
        }
    }
}
