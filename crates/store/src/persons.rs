//! The institute's personal records, beside the registry: one [`PersonRecord`] per person, replaced whole by each
//! import. Eligibility never reads them; payments (the creditor's name), letters (the residence) and every message
//! "to the contacts on file" do.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sportello_domain::CodiceFiscale;
use sportello_domain::persons::PersonRecord;

use crate::StoreError;

/// Storage of the personal records.
#[async_trait]
pub trait Persons: Send + Sync {
    /// Starts replacing every personal record. Records written through the returned import are invisible to readers
    /// until [`PersonsImport::commit`]; dropping or aborting it leaves the previous records untouched.
    async fn begin_persons_import(&self) -> Result<Box<dyn PersonsImport>, StoreError>;

    /// One person's record, if the last import had one.
    async fn person(&self, codice_fiscale: &CodiceFiscale) -> Result<Option<PersonRecord>, StoreError>;

    /// Figures about the current records.
    async fn persons_summary(&self) -> Result<PersonsSummary, StoreError>;
}

/// A replacement of the personal records in progress.
#[async_trait]
pub trait PersonsImport: Send {
    /// Writes a batch of records (any size). A codice fiscale written twice fails the write with
    /// [`StoreError::Database`]; the caller names both lines before it gets here.
    async fn write(&mut self, records: &[PersonRecord]) -> Result<(), StoreError>;

    /// Makes the new records the current ones, atomically, and returns their summary.
    async fn commit(self: Box<Self>) -> Result<PersonsSummary, StoreError>;

    /// Discards everything written; the current records stay as they were.
    async fn abort(self: Box<Self>) -> Result<(), StoreError>;
}

/// Figures about the current personal records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonsSummary {
    /// Records.
    pub persons: u64,
    /// When they were imported; `None` if never.
    pub imported_at: Option<DateTime<Utc>>,
}
