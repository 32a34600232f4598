//! What can go wrong in the store. Messages never carry a database password: URLs pass through [`crate::redact`]
//! before they reach an error.

use std::path::PathBuf;
use std::sync::Arc;

use thiserror::Error;

/// Why a store operation failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database URL names a backend this build does not support.
    #[error(
        "unsupported database URL '{0}': use sqlite://path/to/file.db (a file, created if missing) or postgres://user@host/database"
    )]
    UnsupportedUrl(String),

    /// The database could not be opened or reached.
    #[error("cannot open the database at {url}: {reason}")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// The driver's explanation, with any password removed.
        reason: String,
    },

    /// A command that only reads found no database where it was told to look; it creates none.
    #[error(
        "there is no database at {0}: this command only reads one and creates none; check --database-url (or SPORTELLO_DATABASE_URL), or create it with `sportello registry import FILE.csv`"
    )]
    Missing(String),

    /// A command that only reads found a database whose schema is older than this program (or not Sportello's);
    /// it migrates nothing.
    #[error(
        "the database at {url} is not up to date ({pending} migration(s) of this version not applied): this command only reads and migrates nothing; run a command that writes (e.g. `sportello serve` or `sportello registry import`) once to bring it up to date"
    )]
    Outdated {
        /// The URL, without its password.
        url: String,
        /// Migrations this program has and the database lacks.
        pending: usize,
    },

    /// A payment run would hold transfers whose holder has no personal record: a payment order must name the
    /// holder, so the run is refused whole.
    #[error(
        "{count} transfer(s) of the run for {pay_date} have no holder's name on file: import the persons file (`sportello registry persons FILE.csv`) with a record for each, then run again; nothing was paid and no file was written"
    )]
    UnnamedTransfers {
        /// The run's date.
        pay_date: sportello_domain::Date,
        /// How many transfers lack a name.
        count: u64,
    },

    /// An officer's account with this user name, or for this codice fiscale, exists already.
    #[error(
        "an officer's account named '{0}', or one for the same codice fiscale, exists already: choose another user \
         name, or use the existing account"
    )]
    OfficerExists(String),

    /// A review that cannot be recorded or applied as asked.
    #[error("the review cannot be applied: {0}")]
    ReviewRefused(String),

    /// The folder that should hold the SQLite file could not be created.
    #[error("cannot create the folder {} for the database: {source}", path.display())]
    CreateFolder {
        /// The folder.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },

    /// The schema could not be brought up to date.
    #[error("cannot apply the database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    /// A query failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    /// The database is out of reach for now: no primary (a failover under way), a server that does not answer in
    /// time, a connection lost. Doors answer 503 with `Retry-After`; trying again later is safe.
    #[error("the database is unavailable for now: {0}")]
    Unavailable(String),

    /// The database holds a value this program cannot read back: someone wrote it by hand, or a newer version did.
    #[error("the database holds a value that cannot be read back: {0}")]
    Corrupt(String),

    /// A registry import was interrupted halfway through a write (e.g. its future was cancelled) and cannot go on;
    /// abort it and start again. The current registry is untouched.
    #[error("the registry import was interrupted during a write and cannot be committed; start it again")]
    ImportInterrupted,

    /// The transaction that carried this write (a submission, an audit entry) together with others failed as a
    /// whole: none of them was stored, and each may be written again.
    #[error("not stored, because the transaction it shared with others failed: {0}")]
    GroupFailed(#[source] Arc<StoreError>),

    /// The store's writer stopped (the store is shutting down) before it answered. Submitting again with the same
    /// idempotency key is safe: it never stores an application twice.
    #[error("the store stopped before confirming the submission; submit it again with the same idempotency key")]
    WriterStopped,

    /// The scheme has no spending limit recorded (its scheme file was never loaded into this database).
    #[error("no spending limit is recorded for scheme '{0}'; check the scheme id (e.g. art27)")]
    UnknownBudget(String),

    /// A new limit would be below what accepted applications already reserve.
    #[error(
        "the new limit of {limit} for {scheme} is below the {reserved} already reserved by accepted applications; a limit can only be set at or above it"
    )]
    BudgetBelowReserved {
        /// The scheme.
        scheme: String,
        /// The limit asked for.
        limit: sportello_domain::Cents,
        /// What is reserved.
        reserved: sportello_domain::Cents,
    },
}

impl StoreError {
    /// A connection error whose text is scrubbed of the URL's password, wherever the driver may have echoed it.
    pub(crate) fn connect(url: &str, cause: impl std::fmt::Display) -> Self {
        let mut reason = cause.to_string();
        if let Some(password) = url::Url::parse(url).ok().and_then(|u| u.password().map(str::to_owned))
            && !password.is_empty()
        {
            reason = reason.replace(&password, "***");
            // The URL may carry it percent-encoded or decoded; scrub both spellings.
            if let Ok(decoded) = percent_decode(&password) {
                reason = reason.replace(&decoded, "***");
            }
        }
        Self::Connect { url: crate::redact(url), reason }
    }
}

/// Decodes `%XX` escapes; `Err` if the result is not UTF-8 or an escape is malformed.
fn percent_decode(s: &str) -> Result<String, ()> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(())?;
            let hex = std::str::from_utf8(hex).map_err(|_| ())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_errors_scrub_the_password_in_both_spellings() {
        let url = "postgres://app:s%40cret@db.example/sportello";
        let err = StoreError::connect(url, "auth failed for s@cret and s%40cret");
        let text = err.to_string();
        assert!(!text.contains("s@cret") && !text.contains("s%40cret"), "{text}");
        assert!(text.contains("postgres://app:***@db.example/sportello"), "{text}");
    }
}
