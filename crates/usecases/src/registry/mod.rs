//! The institute's registry extract, read and imported: [`extract`] reads its CSV files row by row into validated
//! rows (no database), [`import`](import::import) streams an extract into the store, replacing the registry
//! atomically.

pub mod extract;
mod import;

pub use import::{ImportError, ImportOptions, ImportReport, import};
