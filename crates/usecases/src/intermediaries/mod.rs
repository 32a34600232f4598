//! The intermediaries who act for citizens: [`import_roster`] replaces the institute's roster of operators
//! (`docs/specs/intermediaries-roster.md`) atomically, with every invalid row named by line and column; [`mandates`]
//! seats an operator at an office the roster lists, records the mandates a citizen gives it, and answers the
//! citizen's principal to an operator only under one in force; [`contact_center`] answers a caller's principal to
//! a Contact Center operator only once the caller is identified and consents.

pub mod batch;
pub(crate) mod batch_file;
pub mod contact_center;
pub mod filing;
pub mod mandates;
mod roster;

pub use contact_center::CallError;
pub use mandates::MandateError;
pub use roster::{MAX_ROWS, RosterError, RosterFile, RosterImported, import_roster};
