//! The institute's registry extract and persons file, read and imported: [`extract`] reads their CSV files row by
//! row into validated rows (no database), [`import`](import::import) streams an extract into the store, replacing the
//! registry atomically, and [`import_persons`] does the same for the personal records.

pub mod extract;
mod import;
mod persons;

pub use import::{ImportError, ImportOptions, ImportReport, import};
pub use persons::{PersonsError, PersonsImported, PersonsReport, import_persons};
