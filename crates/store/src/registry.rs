//! The registry of positions the decisions are made on: replaced whole by each import, atomically, and read one
//! person at a time.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sportello_domain::CodiceFiscale;
use sportello_domain::registry::{Position, RegistryRow};

use crate::StoreError;

/// The registry.
#[async_trait]
pub trait RegistryStore: Send + Sync {
    /// Starts replacing the whole registry. Rows written through the returned import are invisible to readers
    /// until [`RegistryImport::commit`]; then readers see the new registry whole. Dropping or aborting the import
    /// leaves the previous registry untouched.
    async fn begin_registry_import(&self) -> Result<Box<dyn RegistryImport>, StoreError>;

    /// The positions of one person in the current registry (empty if the person is not in it).
    async fn positions(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<Position>, StoreError>;

    /// Figures about the current registry.
    async fn registry_summary(&self) -> Result<RegistrySummary, StoreError>;

    /// Up to `limit` distinct codici fiscali of the current registry, in ascending order, after `after`.
    async fn registry_persons(
        &self,
        after: Option<&CodiceFiscale>,
        limit: u32,
    ) -> Result<Vec<CodiceFiscale>, StoreError>;
}

/// A registry replacement in progress.
#[async_trait]
pub trait RegistryImport: Send {
    /// Writes a batch of rows (any size; the implementation chunks as it needs).
    async fn write(&mut self, rows: &[RegistryRow]) -> Result<(), StoreError>;

    /// Makes the new registry the current one, atomically, and returns its summary.
    async fn commit(self: Box<Self>) -> Result<RegistrySummary, StoreError>;

    /// Discards everything written; the current registry stays as it was.
    async fn abort(self: Box<Self>) -> Result<(), StoreError>;
}

/// Figures about the current registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrySummary {
    /// Distinct persons.
    pub persons: u64,
    /// Rows (positions).
    pub positions: u64,
    /// When the current registry was imported; `None` if none has been.
    pub imported_at: Option<DateTime<Utc>>,
}
