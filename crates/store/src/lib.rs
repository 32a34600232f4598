//! Sportello's storage: traits by concern ([`RegistryStore`], [`ApplicationStore`], [`BudgetStore`],
//! [`PaymentStore`], [`SessionStore`], [`OutboxStore`], [`AuditStore`], with [`Credentials`], [`Persons`],
//! [`Intermediaries`] (the roster and the mandates) and [`Admin`], the back office's [`OfficeStore`], [`AuditReports`],
//! [`Retention`] and [`Reviews`], and the outbox's [`DeadLetters`]) under one umbrella, [`Store`], with a SQLite
//! implementation (the embedded default) and a PostgreSQL one; [`open`] picks the backend from the database URL.
//! Callers bring the traits into scope with `use sportello_store::prelude::*;`.
//!
//! Two things live here: the registry (replaced whole by each import, atomically) and the applications (at most one
//! holding an indemnity per person and cumulation group, enforced by the database itself). Beside them, the
//! portal's own state: INPS PIN credentials with their lockout, login sessions with their principal, an outbox of
//! messages to deliver, and the audit log of accesses to personal data.

use chrono::{DateTime, Utc};

mod admin;
mod applications;
mod audit;
mod budgets;
pub mod credentials;
pub mod dead_letters;
mod error;
pub mod group;
pub mod intermediaries;
mod notices;
pub mod office;
mod outbox;
mod payments;
pub mod persons;
pub mod postgres;
mod registry;
pub mod reminders;
pub mod reviews;
mod rows;
mod sessions;
mod sql;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

pub use admin::Admin;
pub use applications::{
    Application, ApplicationStatus, ApplicationStore, NewApplication, Submission, SubmittedBy, protocol_number,
};
pub use audit::{AuditEntry, AuditStore};
pub use budgets::{Budget, BudgetChange, BudgetEvent, BudgetSeed, BudgetStore, load_budgets};
pub use credentials::{Credentials, FirstHalfTo, NewPin, PinCredential, PinLock, STRANGERS};
pub use dead_letters::DeadLetters;
pub use error::StoreError;
pub use group::{CommitCount, GroupCommit};
pub use intermediaries::{CallCodeCheck, Intermediaries, MandateRecorded, NewCallCode, NewMandate, RosterSummary};
pub use office::{AuditReports, MinuteCount, NewOfficer, OfficeSession, OfficeStore, Officer, Retention};
pub use outbox::{OutboxEntry, OutboxMessage, OutboxStore};
pub use payments::{
    NewPaymentRun, PaymentMethod, PaymentOutcome, PaymentRecord, PaymentRow, PaymentRun, PaymentStatus, PaymentStore,
    ReconcileCounts, RunSummary, RunTotal,
};
pub use persons::{Persons, PersonsImport, PersonsSummary};
pub use registry::{RegistryImport, RegistryStore, RegistrySummary};
pub use reminders::{Reminder, Reminders};
pub use reviews::{NewReview, Review, Reviews};
pub use sessions::{Session, SessionKind, SessionStore};

/// The store's traits, so that their methods can be called on a [`Store`]: `use sportello_store::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Admin, ApplicationStore, AuditReports, AuditStore, BudgetStore, Credentials, DeadLetters, Intermediaries,
        OfficeStore, OutboxStore, PaymentStore, Persons, RegistryStore, Retention, Reviews, SessionStore, Store,
    };
}

/// Storage for the registry, the applications and the portal's state: every concern's trait at once. Every
/// implementation passes the same conformance suite. Anything that implements them all is a `Store`, so
/// `Box<dyn Store>` is the store a program opens ([`open`]).
pub trait Store:
    Admin
    + RegistryStore
    + ApplicationStore
    + BudgetStore
    + PaymentStore
    + SessionStore
    + OutboxStore
    + AuditStore
    + Credentials
    + Persons
    + OfficeStore
    + AuditReports
    + Retention
    + Reviews
    + DeadLetters
    + Intermediaries
    + Reminders
    + Send
    + Sync
{
}

impl<T> Store for T where
    T: Admin
        + RegistryStore
        + ApplicationStore
        + BudgetStore
        + PaymentStore
        + SessionStore
        + OutboxStore
        + AuditStore
        + Credentials
        + Persons
        + OfficeStore
        + AuditReports
        + Retention
        + Reviews
        + DeadLetters
        + Intermediaries
        + Reminders
        + Send
        + Sync
{
}

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

/// Opens the existing store named by `url` for a command that only reads (`check`, `budget show`): unlike [`open`]
/// it creates no database ([`StoreError::Missing`]) and applies no migration ([`StoreError::Outdated`] when the
/// schema is behind this program's).
pub async fn open_existing(url: &str) -> Result<Box<dyn Store>, StoreError> {
    let store: Box<dyn Store> = if url.starts_with("sqlite:") {
        Box::new(sqlite::SqliteStore::connect_existing(url).await?)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Box::new(postgres::PgStore::connect(url).await?)
    } else {
        return Err(StoreError::UnsupportedUrl(redact(url)));
    };
    let pending = store.pending_migrations().await?;
    if pending > 0 {
        return Err(StoreError::Outdated { url: redact(url), pending });
    }
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

/// `now + duration`, saturating at the end of year 9999 (both backends store such a time, and SQLite's text still
/// sorts): a lock or lease too long to represent lasts "for ever" rather than failing.
fn later(now: DateTime<Utc>, duration: std::time::Duration) -> DateTime<Utc> {
    let end = DateTime::<Utc>::from_naive_utc_and_offset(
        chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
            .and_then(|d| d.and_hms_micro_opt(23, 59, 59, 999_999))
            .unwrap_or(chrono::NaiveDateTime::MAX),
        Utc,
    );
    chrono::TimeDelta::from_std(duration)
        .ok()
        .and_then(|delta| now.checked_add_signed(delta))
        .map_or(end, |at| at.min(end))
}
