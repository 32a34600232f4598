//! Sportello's storage behind one [`Store`] trait, with a SQLite implementation (the embedded default) and a
//! PostgreSQL one; [`open`] picks the backend from the database URL.
//!
//! Two things live here: the registry (replaced whole by each import, atomically) and the applications (one per
//! person across the five indemnities, as art. 31 DL 18/2020 requires, enforced by the database itself).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sportello_domain::CodiceFiscale;
use sportello_domain::registry::{Cessation, Position, PositionKind, RegistryRow};

mod error;
pub mod postgres;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::StoreError;

/// The default database when none is configured: a SQLite file under `./sportello-data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://sportello-data/sportello.db";

/// Opens the store named by `url` (`sqlite://…` or `postgres://…`/`postgresql://…`) and brings its schema up to
/// date with the backend's migrations.
pub async fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    let store: Box<dyn Store> = if url.starts_with("sqlite:") {
        Box::new(sqlite::SqliteStore::connect(url).await?)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Box::new(postgres::PgStore::connect(url).await?)
    } else {
        return Err(StoreError::UnsupportedUrl(redact(url)));
    };
    store.migrate().await?;
    Ok(store)
}

/// The URL without its password, fit for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The protocol number of the application with database id `id`: `INPS-COVID-<year of submission>-<id, 9 digits>`.
pub fn protocol_number(submitted_at: DateTime<Utc>, id: i64) -> String {
    use chrono::Datelike;
    format!("INPS-COVID-{}-{id:09}", submitted_at.year())
}

/// A position kind read back from the database.
fn kind_from_db(s: &str) -> Result<PositionKind, StoreError> {
    s.parse().map_err(|()| StoreError::Corrupt(format!("unknown position kind '{s}' in the registry")))
}

/// A cessation read back from the database.
fn cessation_from_db(s: Option<&str>) -> Result<Option<Cessation>, StoreError> {
    match s {
        None => Ok(None),
        Some("involuntary") => Ok(Some(Cessation::Involuntary)),
        Some("voluntary") => Ok(Some(Cessation::Voluntary)),
        Some(other) => Err(StoreError::Corrupt(format!("unknown cessation '{other}' in the registry"))),
    }
}

/// A day count read back from the database.
fn days_from_db(days: Option<i64>) -> Result<Option<u32>, StoreError> {
    days.map(|d| {
        u32::try_from(d).map_err(|_| StoreError::Corrupt(format!("day count {d} out of range in the registry")))
    })
    .transpose()
}

/// A codice fiscale read back from the database.
fn codice_fiscale_from_db(s: &str) -> Result<CodiceFiscale, StoreError> {
    CodiceFiscale::parse(s).map_err(|e| StoreError::Corrupt(format!("invalid codice fiscale '{s}' stored: {e}")))
}

/// Storage for the registry and the applications. Every implementation passes the same conformance suite.
#[async_trait]
pub trait Store: Send + Sync {
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<(), StoreError>;

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

    /// Records an application durably and returns it with its protocol number, or returns the application that
    /// already answers the same idempotency key, or the one that art. 31 says stands in the way.
    /// Only a non-rejected application holds a person's one indemnity; rejected ones are kept too.
    /// Timestamps are kept to the microsecond, as PostgreSQL does; the returned application is the stored one.
    async fn submit(&self, application: NewApplication) -> Result<Submission, StoreError>;

    /// One application, only if it belongs to `codice_fiscale` (anyone else's protocol number gives `None`).
    async fn application(
        &self,
        codice_fiscale: &CodiceFiscale,
        protocol: &str,
    ) -> Result<Option<Application>, StoreError>;

    /// Every application of one person, oldest first.
    async fn applications_of(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<Application>, StoreError>;

    /// Whether the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
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

/// What an application asks for, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApplication {
    /// The applicant.
    pub codice_fiscale: CodiceFiscale,
    /// The indemnity applied for (`art27` …).
    pub scheme: String,
    /// Chosen by the client per form; together with the codice fiscale it makes resubmission idempotent.
    pub idempotency_key: String,
    /// The decision at submission.
    pub status: ApplicationStatus,
    /// The decision's reasons for this scheme, as JSON (a list of reasons).
    pub reasons: serde_json::Value,
    /// Payment and contact details as JSON; their shape belongs to the portal.
    pub details: serde_json::Value,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
}

/// A stored application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// The protocol number given in the receipt, unique.
    pub protocol: String,
    /// The applicant.
    pub codice_fiscale: CodiceFiscale,
    /// The indemnity applied for.
    pub scheme: String,
    /// The idempotency key it was submitted with.
    pub idempotency_key: String,
    /// Where it stands.
    pub status: ApplicationStatus,
    /// The decision's reasons.
    pub reasons: serde_json::Value,
    /// Payment and contact details.
    pub details: serde_json::Value,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// Eligible at submission: the person's one indemnity (art. 31).
    Accepted,
    /// Not eligible at submission; kept with its reasons, and it does not hold the person's indemnity.
    Rejected,
}

impl ApplicationStatus {
    /// The name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
        }
    }

    /// The status from its stored name.
    pub fn from_db(s: &str) -> Result<Self, StoreError> {
        match s {
            "accepted" => Ok(Self::Accepted),
            "rejected" => Ok(Self::Rejected),
            other => Err(StoreError::Corrupt(format!("unknown application status '{other}'"))),
        }
    }
}

/// The outcome of [`Store::submit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    /// Stored now.
    Created(Application),
    /// The same codice fiscale and idempotency key were submitted before: that application, unchanged.
    Duplicate(Application),
    /// The person already holds a non-rejected application (art. 31): that one; nothing was stored.
    AlreadyHolds(Application),
}
