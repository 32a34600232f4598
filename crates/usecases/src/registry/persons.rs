//! The persons import: streams a persons file (`docs/specs/registry-persons.md`) into the store, replacing
//! the personal records atomically. Every invalid row is reported with its line and column, as the registry import
//! does, and any of them leaves the records as they were.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sportello_domain::CodiceFiscale;
use sportello_domain::persons::PersonRecord;
use sportello_domain::registry::CellError;
use sportello_store::{Store, StoreError};
use thiserror::Error;
use tokio::sync::mpsc;

use super::extract::{ExtractError, ExtractReader, PersonsFile};
use crate::ErrorKind;

/// Records handed to the store at once.
const BATCH: usize = 4_096;

/// What reading a persons file found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PersonsReport {
    /// Data rows read.
    pub rows: u64,
    /// Rows with at least one error.
    pub invalid: u64,
    /// Valid records with an e-mail address or a mobile number on file.
    pub with_contact: u64,
    /// Valid records with a residence.
    pub with_residence: u64,
}

/// What a persons import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonsImported {
    /// What the file held.
    pub report: PersonsReport,
    /// The personal records now stored; `None` when the file was only validated.
    pub persons: Option<u64>,
    /// Wall-clock time.
    pub elapsed: Duration,
}

/// Why a persons file did not replace the personal records (they are unchanged).
#[derive(Debug, Error)]
pub enum PersonsError {
    /// The file could not be opened.
    #[error("cannot read {}: {source}", .path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file could not be read as CSV.
    #[error(transparent)]
    Read(#[from] csv::Error),
    /// The header is wrong (reported on the error sink).
    #[error("the persons file's header is wrong; nothing was imported")]
    Header,
    /// Some rows are invalid; each was reported on the error sink.
    #[error("{count} invalid row(s) in {}; nothing was imported and the personal records are unchanged", .path.display())]
    InvalidRows {
        /// The file.
        path: PathBuf,
        /// How many rows were invalid.
        count: u64,
    },
    /// No record at all: emptying the personal records is never what an operator wants.
    #[error("{} has no record; the personal records are unchanged", .0.display())]
    Empty(PathBuf),
    /// The store failed while the records were written.
    #[error("the database failed during the import (the records are unchanged)")]
    Writing(#[source] StoreError),
    /// The store failed to begin, commit or abort.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The parsing thread stopped without saying why (a defect, not input).
    #[error("the parser stopped: {0}")]
    Parser(String),
}

impl PersonsError {
    /// A file that cannot be opened or holds wrong rows is the operator's to fix; the rest is not.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Open { .. } | Self::Header | Self::InvalidRows { .. } | Self::Empty(_) => ErrorKind::Input,
            Self::Read(_) | Self::Writing(_) | Self::Store(_) | Self::Parser(_) => ErrorKind::Unavailable,
        }
    }
}

/// Imports the persons file at `path` into `store` (or, without a store, only validates it), writing each error to
/// `errors` as `line N, column C: name: reason`.
pub async fn import_persons(
    store: Option<&dyn Store>,
    path: &Path,
    errors: Box<dyn Write + Send>,
) -> Result<PersonsImported, PersonsError> {
    let started = Instant::now();
    let file = File::open(path).map_err(|source| PersonsError::Open { path: path.to_owned(), source })?;
    let (tx, mut rx) = mpsc::channel::<Vec<PersonRecord>>(4);
    let parser = tokio::task::spawn_blocking(move || parse(file, &tx, errors));

    let mut writer = match store {
        Some(store) => Some(store.begin_persons_import().await?),
        None => None,
    };
    let mut write_error = None;
    while let Some(batch) = rx.recv().await {
        if let Some(w) = writer.as_mut()
            && let Err(e) = w.write(&batch).await
        {
            write_error = Some(e);
            break;
        }
    }
    // Dropping the receiver stops the parser at its next batch if the store failed.
    drop(rx);
    let outcome = parser.await.map_err(|e| PersonsError::Parser(e.to_string()))?;
    let failure = match (write_error, outcome) {
        (Some(e), _) => PersonsError::Writing(e),
        (None, Err(e)) => e,
        (None, Ok(r)) if r.invalid > 0 => PersonsError::InvalidRows { path: path.to_owned(), count: r.invalid },
        (None, Ok(r)) if r.rows == 0 => PersonsError::Empty(path.to_owned()),
        (None, Ok(report)) => {
            let persons = match writer {
                Some(w) => Some(w.commit().await?.persons),
                None => None,
            };
            return Ok(PersonsImported { report, persons, elapsed: started.elapsed() });
        }
    };
    if let Some(w) = writer {
        w.abort().await?;
    }
    Err(failure)
}

/// Reads and validates the file, sending batches of valid records until the first invalid row (then it goes on
/// validating, so that every error is listed, and sends nothing more).
fn parse(
    file: File,
    tx: &mpsc::Sender<Vec<PersonRecord>>,
    mut errors: Box<dyn Write + Send>,
) -> Result<PersonsReport, PersonsError> {
    let mut reader = match ExtractReader::<_, PersonsFile>::of_format(BufReader::with_capacity(1 << 20, file)) {
        Ok(reader) => reader,
        Err(ExtractError::Read(e)) => return Err(e.into()),
        Err(ExtractError::Header { line, error }) => {
            let _ = writeln!(errors, "line {line}, column {}: {}: {}", error.column, error.column_name(), error.reason);
            return Err(PersonsError::Header);
        }
    };
    let mut report = PersonsReport::default();
    // Where each codice fiscale was first seen, to name both lines of a duplicate.
    let mut seen: HashMap<CodiceFiscale, u64> = HashMap::new();
    let mut batch = Vec::with_capacity(BATCH);
    let mut sending = true;
    while let Some(row) = reader.next_row()? {
        report.rows += 1;
        let line = row.line;
        let row = row.row.and_then(|record| match seen.insert(record.codice_fiscale, line) {
            Some(first) => {
                seen.insert(record.codice_fiscale, first);
                Err(vec![CellError::in_file(
                    &sportello_domain::persons::HEADER,
                    1,
                    format!("{} appears twice: on line {first} and on this line", record.codice_fiscale),
                )])
            }
            None => Ok(record),
        });
        match row {
            Ok(record) => {
                report.with_contact += u64::from(record.has_contact());
                report.with_residence += u64::from(record.residence.is_some());
                if sending {
                    batch.push(record);
                    if batch.len() == BATCH && tx.blocking_send(std::mem::take(&mut batch)).is_err() {
                        // The store side stopped; it reports why.
                        return Ok(report);
                    }
                }
            }
            Err(problems) => {
                report.invalid += 1;
                sending = false;
                batch.clear();
                for e in problems {
                    // A broken error sink (a closed pipe) must not hide the failure itself.
                    let _ = writeln!(errors, "line {line}, column {}: {}: {}", e.column, e.column_name(), e.reason);
                }
            }
        }
    }
    if sending && !batch.is_empty() {
        let _ = tx.blocking_send(batch);
    }
    Ok(report)
}
