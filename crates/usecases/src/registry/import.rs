//! The registry import: streams a registry extract into the store, replacing the registry atomically.
//!
//! Parsing and validation run on a blocking thread and hand batches to the store through a bounded channel, so
//! memory stays constant whatever the file's size and the database works while the next batch is parsed.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sportello_domain::registry::{CellError, HEADER, RegistryRow};
use sportello_store::{RegistrySummary, Store, StoreError};
use thiserror::Error;
use tokio::sync::mpsc;

use super::extract::{ExtractError, ExtractReader};
use crate::ErrorKind;
use crate::progress::Progress;

/// Rows handed to the store at once.
const BATCH: usize = 8_192;

/// How an import should treat invalid rows.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The extract to read.
    pub path: PathBuf,
    /// Import the valid rows and set the invalid ones aside instead of failing.
    pub skip_invalid: bool,
    /// Where to write rejected rows with their reasons (with `skip_invalid`).
    pub rejects: Option<PathBuf>,
    /// With `skip_invalid`: the largest share of invalid rows, in percent, that still replaces the registry;
    /// `None` replaces it whatever the share (forced).
    pub max_invalid: Option<f64>,
    /// Only read and validate the file; the database is not touched.
    pub dry_run: bool,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Data rows read (the header excluded).
    pub rows_read: u64,
    /// Rows rejected (only with `skip_invalid`).
    pub rows_rejected: u64,
    /// The new registry's figures.
    pub summary: RegistrySummary,
    /// Wall-clock time.
    pub elapsed: Duration,
}

/// Why an import did not replace the registry.
#[derive(Debug, Error)]
pub enum ImportError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The rejects file could not be written.
    #[error("cannot write the rejects file {path}: {source}")]
    Rejects {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: csv::Error,
    },
    /// Some rows are invalid; each was reported on the error sink. Nothing was written.
    #[error("{count} invalid row(s) in {path}; nothing was imported and the registry is unchanged")]
    InvalidRows {
        /// The file.
        path: PathBuf,
        /// How many rows were invalid.
        count: u64,
    },
    /// More rows are invalid than the share allowed: more likely a wrong file than a few bad rows. Nothing was
    /// written; the rejects file lists them.
    #[error(
        "{count} of the {rows} rows of {path} are invalid ({share:.1}%), more than the {max}% allowed (--max-invalid): \
         nothing was imported and the registry is unchanged; fix the file, or raise --max-invalid, or --force"
    )]
    TooManyInvalid {
        /// The file.
        path: PathBuf,
        /// Invalid rows.
        count: u64,
        /// Data rows.
        rows: u64,
        /// Their share, percent.
        share: f64,
        /// The share allowed, percent.
        max: f64,
    },
    /// No valid row: replacing the registry with an empty one is never what an operator wants.
    #[error("{0} has no valid row; the registry is unchanged")]
    Empty(PathBuf),
    /// The store failed; the registry is unchanged.
    #[error("the database failed during the import (the registry is unchanged): {0}")]
    Store(#[from] StoreError),
}

impl ImportError {
    /// Whether the input is at fault (as opposed to the system).
    pub fn is_input_error(&self) -> bool {
        matches!(self, Self::InvalidRows { .. } | Self::TooManyInvalid { .. } | Self::Empty(_) | Self::Read { .. })
    }

    /// The input's faults are the operator's to fix; the rejects file or the store failing is not.
    pub fn kind(&self) -> ErrorKind {
        if self.is_input_error() { ErrorKind::Input } else { ErrorKind::Unavailable }
    }
}

/// What the parsing thread reports when it has read the whole file.
struct ParseOutcome {
    rows_read: u64,
    rows_rejected: u64,
}

/// Imports the extract at `options.path` (or with `dry_run`, or without a store, only validates it). Every invalid
/// row is written to `errors` as `line N, column C: reason`; without `skip_invalid` any invalid row aborts the
/// import with nothing written. `progress` hears of the bytes read.
pub async fn import(
    store: Option<&dyn Store>,
    options: &ImportOptions,
    errors: Box<dyn Write + Send>,
    progress: Arc<dyn Progress>,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let file = File::open(&options.path).map_err(|source| ImportError::Read { path: options.path.clone(), source })?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    progress.begin(size);

    let (tx, mut rx) = mpsc::channel::<Vec<RegistryRow>>(4);
    let parse_options = options.clone();
    let parse_progress = progress.clone();
    let parser = tokio::task::spawn_blocking(move || parse(file, &parse_options, tx, errors, parse_progress));

    let mut writer = match store {
        Some(store) if !options.dry_run => Some(store.begin_registry_import().await?),
        _ => None,
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
    let outcome = parser.await.map_err(|e| ImportError::Read {
        path: options.path.clone(),
        source: std::io::Error::other(format!("the parser stopped: {e}")),
    })?;
    progress.end();

    let failure = match (write_error, outcome) {
        (Some(e), _) => Some(ImportError::Store(e)),
        (None, Err(e)) => Some(e),
        (None, Ok(ref o)) if o.rows_rejected > 0 && !options.skip_invalid => {
            Some(ImportError::InvalidRows { path: options.path.clone(), count: o.rows_rejected })
        }
        (None, Ok(ref o)) if o.rows_read == o.rows_rejected => Some(ImportError::Empty(options.path.clone())),
        (None, Ok(ref o)) if too_many(o, options.max_invalid) => Some(ImportError::TooManyInvalid {
            path: options.path.clone(),
            count: o.rows_rejected,
            rows: o.rows_read,
            share: share(o),
            max: options.max_invalid.unwrap_or(100.0),
        }),
        (None, Ok(o)) => {
            let summary = match writer {
                Some(w) => w.commit().await?,
                None => RegistrySummary { persons: 0, positions: o.rows_read - o.rows_rejected, imported_at: None },
            };
            return Ok(ImportReport {
                rows_read: o.rows_read,
                rows_rejected: o.rows_rejected,
                summary,
                elapsed: started.elapsed(),
            });
        }
    };
    if let Some(w) = writer {
        w.abort().await?;
    }
    Err(failure.unwrap_or_else(|| ImportError::Empty(options.path.clone())))
}

/// The share of invalid rows, percent.
fn share(outcome: &ParseOutcome) -> f64 {
    outcome.rows_rejected as f64 * 100.0 / outcome.rows_read.max(1) as f64
}

/// Whether more rows are invalid than `max` percent allows.
fn too_many(outcome: &ParseOutcome, max: Option<f64>) -> bool {
    max.is_some_and(|max| share(outcome) > max)
}

/// Reads and validates the file, sending batches of valid rows. Stops sending (but keeps validating, so that
/// every error is listed) after the first invalid row unless invalid rows are skipped.
fn parse(
    file: File,
    options: &ImportOptions,
    tx: mpsc::Sender<Vec<RegistryRow>>,
    mut errors: Box<dyn Write + Send>,
    progress: Arc<dyn Progress>,
) -> Result<ParseOutcome, ImportError> {
    let path = &options.path;
    let read_error = |e: csv::Error| ImportError::Read { path: path.clone(), source: std::io::Error::other(e) };
    let mut extract = match ExtractReader::new(BufReader::with_capacity(1 << 20, file)) {
        Ok(extract) => extract,
        Err(ExtractError::Read(e)) => return Err(read_error(e)),
        Err(ExtractError::Header { line, error }) => {
            let _ = writeln!(errors, "line {line}, column {}: {}", error.column, error.reason);
            return Err(ImportError::InvalidRows { path: path.clone(), count: 1 });
        }
    };
    let mut rejects = match (&options.rejects, options.skip_invalid) {
        (Some(p), true) => Some(rejects_writer(p)?),
        _ => None,
    };
    let mut report = |line: u64, errs: &[CellError], cells: &[&str]| -> Result<(), ImportError> {
        for e in errs {
            // A broken error sink (e.g. a closed pipe) must not hide the failure itself.
            let _ = writeln!(errors, "line {line}, column {}: {}: {}", e.column, e.column_name(), e.reason);
        }
        if let (Some(w), Some(p)) = (rejects.as_mut(), options.rejects.as_ref()) {
            let reasons: Vec<String> = errs.iter().map(ToString::to_string).collect();
            let mut record: Vec<String> = vec![line.to_string(), reasons.join("; ")];
            record.extend((0..HEADER.len()).map(|i| cells.get(i).copied().unwrap_or_default().to_owned()));
            w.write_record(&record).map_err(|source| ImportError::Rejects { path: p.clone(), source })?;
        }
        Ok(())
    };

    let mut outcome = ParseOutcome { rows_read: 0, rows_rejected: 0 };
    let mut batch = Vec::with_capacity(BATCH);
    let mut sending = true;
    while let Some(row) = extract.next_row().map_err(read_error)? {
        outcome.rows_read += 1;
        match row.row {
            Ok(valid) if sending => {
                batch.push(valid);
                if batch.len() == BATCH {
                    progress.reached(row.byte, &format!("{} rows", outcome.rows_read));
                    if tx.blocking_send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))).is_err() {
                        // The store side stopped; it reports why.
                        return Ok(outcome);
                    }
                }
            }
            Ok(_) => {}
            Err(errs) => {
                outcome.rows_rejected += 1;
                report(row.line, &errs, &row.cells)?;
                if !options.skip_invalid {
                    sending = false;
                    batch.clear();
                }
            }
        }
    }
    if sending && !batch.is_empty() {
        let _ = tx.blocking_send(batch);
    }
    if let Some(mut w) = rejects {
        w.flush().map_err(|e| ImportError::Rejects {
            path: options.rejects.clone().unwrap_or_default(),
            source: csv::Error::from(e),
        })?;
    }
    Ok(outcome)
}

fn rejects_writer(path: &Path) -> Result<csv::Writer<File>, ImportError> {
    let to_error = |source| ImportError::Rejects { path: path.to_owned(), source };
    // The rows carry codici fiscali: personal data, readable by the operator alone.
    let file = crate::files::open_private(path).map_err(|e| to_error(csv::Error::from(e)))?;
    let mut w = csv::Writer::from_writer(file);
    let mut header = vec!["line", "errors"];
    header.extend(HEADER);
    w.write_record(&header).map_err(to_error)?;
    Ok(w)
}
