//! The use cases' one error type and what kind of failure each is, for the doors to map once.

use sportello_domain::Date;
use sportello_domain::law::{Outside, OutsideWindow};
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
    /// The store failed or could not be reached.
    #[error(transparent)]
    Store(#[from] StoreError),
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
            Self::UnknownScheme(_) | Self::NotOnApplication(_) | Self::NotGranted(_) | Self::OutsideWindow { .. } => {
                ErrorKind::Input
            }
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
