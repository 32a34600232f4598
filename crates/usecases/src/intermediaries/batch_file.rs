//! The batch file's format (docs/specs/batch.md): its columns, its limits, and why a whole file is refused. A leaf,
//! so that the use cases' error can name [`BatchError`] without depending on the batch's filing.

use sportello_domain::intermediaries::OfficeCode;

use crate::kind::ErrorKind;

/// The most rows a batch files; the rows after it are reported, not filed.
pub const MAX_ROWS: usize = 10_000;

/// The longest line read; a longer one is reported as an error and skipped.
pub const MAX_LINE_BYTES: usize = 2048;

/// The header line a batch starts with: its columns, in this order.
pub const COLUMNS: [&str; 12] = [
    "codice_fiscale",
    "scheme",
    "payment",
    "iban",
    "email",
    "mobile",
    "not_pension_holder",
    "no_other_compulsory_scheme",
    "not_employed",
    "not_reddito_di_cittadinanza",
    "income_2019_bimester_2",
    "income_2020_bimester_2",
];

/// Why a whole batch is refused (a row's problem is in its report instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The file is empty.
    #[error("the file is empty: its first line must be the header {}", COLUMNS.join(","))]
    Empty,
    /// The first line is not the header.
    #[error("line 1 must be the header {}, not {found}", COLUMNS.join(","))]
    Header {
        /// What line 1 says.
        found: String,
    },
    /// Only the office's head uploads batches (docs/specs/intermediaries-roster.md, `ruolo`).
    #[error("only the head of office {0} (ruolo responsabile) may file a batch")]
    NotHead(OfficeCode),
}

impl BatchError {
    /// The kind of failure, for the doors.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Empty | Self::Header { .. } => ErrorKind::Input,
            Self::NotHead(_) => ErrorKind::Forbidden,
        }
    }
}
