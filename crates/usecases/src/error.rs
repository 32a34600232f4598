//! The use cases' one error type and what kind of failure each is, for the doors to map once.

use sportello_store::StoreError;
use thiserror::Error;

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
    /// The decrees gave no decision for one of their own schemes (a defect, not input).
    #[error("the decrees did not decide their own scheme {0}")]
    Undecided(String),
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
    /// Reasons or details could not be written as JSON (a defect, not input).
    #[error("cannot write an application's reasons or details: {0}")]
    Json(#[from] serde_json::Error),
}

/// What kind of failure an error is: what the caller did wrong, what cannot be found, or what is unavailable now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request names something that does not fit: a page's 404/422, a problem's 422, exit status 2.
    Input,
    /// Something failed on our side or is unavailable now: a 503 page or problem, exit status 1.
    Unavailable,
}

impl UseCaseError {
    /// The kind of failure, which each door maps once.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::UnknownScheme(_) | Self::NotOnApplication(_) | Self::NotGranted(_) => ErrorKind::Input,
            Self::Budget(e) => e.kind(),
            Self::Payment(e) => e.kind(),
            Self::Gate(e) => e.kind(),
            Self::Import(e) => e.kind(),
            Self::Persons(e) => e.kind(),
            // What the operator can fix: a database not there or not migrated, a limit or run the data refuses.
            Self::Store(
                StoreError::Missing(_)
                | StoreError::Outdated { .. }
                | StoreError::UnknownBudget(_)
                | StoreError::BudgetBelowReserved { .. }
                | StoreError::UnnamedTransfers { .. },
            ) => ErrorKind::Input,
            Self::Undecided(_) | Self::Store(_) | Self::Json(_) => ErrorKind::Unavailable,
        }
    }

    /// The command line's exit status for it: 2 for input, 1 otherwise.
    pub fn exit_status(&self) -> u8 {
        match self.kind() {
            ErrorKind::Input => 2,
            ErrorKind::Unavailable => 1,
        }
    }
}
