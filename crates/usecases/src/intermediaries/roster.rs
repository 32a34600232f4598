//! The roster import: reads a roster file (`docs/specs/intermediaries-roster.md`), checks every row and the rows
//! against one another (an office belongs to one organisation, an operator appears once per office), and replaces
//! the roster atomically. Every error is reported with its line and column, as the registry import does, and any of
//! them leaves the roster as it was.
//!
//! Unlike the registry (millions of rows), the roster is held in memory until it is written: it has at most
//! [`MAX_ROWS`] rows, and the cross-row checks need the whole file before anything may be written.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::intermediaries::{self, HEADER, OfficeCode, RosterRow};
use sportello_domain::registry::CellError;
use sportello_store::{RosterSummary, Store, StoreError};
use thiserror::Error;

use crate::ErrorKind;
use crate::registry::extract::{ExtractError, ExtractReader, Format};

/// The most rows a roster file may have.
pub const MAX_ROWS: u64 = 200_000;

/// The roster file, as [`ExtractReader`] reads it.
#[derive(Debug)]
pub struct RosterFile;

impl Format for RosterFile {
    type Row = RosterRow;
    const COLUMNS: usize = HEADER.len();
    fn check_header(cells: &[&str]) -> Result<(), CellError> {
        intermediaries::check_header(cells.iter().copied())
    }
    fn parse_row(cells: &[&str]) -> Result<RosterRow, Vec<CellError>> {
        intermediaries::parse_row(cells.iter().copied())
    }
}

/// What a roster import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterImported {
    /// Data rows read.
    pub rows: u64,
    /// The roster now stored; `None` when the file was only validated.
    pub summary: Option<RosterSummary>,
    /// Wall-clock time.
    pub elapsed: Duration,
}

/// Why a roster file did not replace the roster (it is unchanged).
#[derive(Debug, Error)]
pub enum RosterError {
    /// The file could not be opened.
    #[error("cannot read {}: {source}", .path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file could not be read.
    #[error(transparent)]
    Read(#[from] csv::Error),
    /// The header is wrong (reported on the error sink).
    #[error("the roster file's header is wrong; nothing was imported")]
    Header,
    /// Some rows are invalid; each was reported on the error sink.
    #[error("{count} invalid row(s) in {}; nothing was imported and the roster is unchanged", .path.display())]
    InvalidRows {
        /// The file.
        path: PathBuf,
        /// How many rows were invalid.
        count: u64,
    },
    /// No row at all: emptying the roster is never what an operator wants.
    #[error("{} has no row; the roster is unchanged (to stop operators, end their valido_al)", .0.display())]
    Empty(PathBuf),
    /// More rows than a roster may have.
    #[error("{} has more than {MAX_ROWS} rows; the roster is unchanged", .0.display())]
    TooLarge(PathBuf),
    /// The store failed; the roster is unchanged.
    #[error("the database failed during the import (the roster is unchanged)")]
    Store(#[from] StoreError),
    /// The parsing thread stopped without saying why (a defect, not input).
    #[error("the parser stopped: {0}")]
    Parser(String),
}

impl RosterError {
    /// A file that cannot be opened or holds wrong rows is the operator's to fix; the rest is not.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Open { .. } | Self::Header | Self::InvalidRows { .. } | Self::Empty(_) | Self::TooLarge(_) => {
                ErrorKind::Input
            }
            Self::Read(_) | Self::Store(_) | Self::Parser(_) => ErrorKind::Unavailable,
        }
    }
}

/// Imports the roster file at `path` into `store` at `now` (or, without a store, only validates it), writing each
/// error to `errors` as `line N, column C: name: reason`.
pub async fn import_roster(
    store: Option<&dyn Store>,
    path: &Path,
    errors: Box<dyn Write + Send>,
    now: DateTime<Utc>,
) -> Result<RosterImported, RosterError> {
    let started = Instant::now();
    let file = File::open(path).map_err(|source| RosterError::Open { path: path.to_owned(), source })?;
    let owned = path.to_owned();
    let (rows, invalid) = tokio::task::spawn_blocking(move || read(file, &owned, errors))
        .await
        .map_err(|e| RosterError::Parser(e.to_string()))??;
    if invalid > 0 {
        return Err(RosterError::InvalidRows { path: path.to_owned(), count: invalid });
    }
    if rows.is_empty() {
        return Err(RosterError::Empty(path.to_owned()));
    }
    let summary = match store {
        Some(store) => Some(store.replace_roster(&rows, now).await?),
        None => None,
    };
    Ok(RosterImported { rows: rows.len() as u64, summary, elapsed: started.elapsed() })
}

/// Where an office or organisation was first seen, and what it was said to be there.
struct First<T> {
    line: u64,
    value: T,
}

/// Reads every row, checking each and the rows against one another; returns the valid rows and how many were not.
fn read(file: File, path: &Path, mut errors: Box<dyn Write + Send>) -> Result<(Vec<RosterRow>, u64), RosterError> {
    let mut reader = match ExtractReader::<_, RosterFile>::of_format(BufReader::new(file)) {
        Ok(reader) => reader,
        Err(ExtractError::Read(e)) => return Err(e.into()),
        Err(ExtractError::Header { line, error }) => {
            let _ = writeln!(errors, "line {line}, column {}: {}: {}", error.column, error.column_name(), error.reason);
            return Err(RosterError::Header);
        }
    };
    let mut rows = Vec::new();
    let mut invalid = 0;
    let mut count = 0;
    let mut offices: HashMap<OfficeCode, First<(OfficeCode, String)>> = HashMap::new();
    let mut organisations: HashMap<OfficeCode, First<(intermediaries::IntermediaryKind, String)>> = HashMap::new();
    let mut operators: HashMap<(CodiceFiscale, OfficeCode), u64> = HashMap::new();
    while let Some(row) = reader.next_row()? {
        count += 1;
        if count > MAX_ROWS {
            return Err(RosterError::TooLarge(path.to_owned()));
        }
        let line = row.line;
        let checked = row.row.and_then(|r| {
            let mut problems = Vec::new();
            let error = |column: usize, reason: String| CellError::in_file(&HEADER, column, reason);
            match operators.get(&(r.operator, r.office)) {
                Some(first) => problems.push(error(
                    6,
                    format!("{} is listed for office {} twice: on line {first} and on this line", r.operator, r.office),
                )),
                None => {
                    operators.insert((r.operator, r.office), line);
                }
            }
            let office = offices
                .entry(r.office)
                .or_insert_with(|| First { line, value: (r.organisation, r.office_name.clone()) });
            if office.value.0 != r.organisation {
                problems.push(error(
                    1,
                    format!(
                        "office {} belongs to {} on line {}, not to {}",
                        r.office, office.value.0, office.line, r.organisation
                    ),
                ));
            }
            if office.value.1 != r.office_name {
                problems.push(error(
                    5,
                    format!("office {} is named '{}' on line {}", r.office, office.value.1, office.line),
                ));
            }
            let organisation = organisations
                .entry(r.organisation)
                .or_insert_with(|| First { line, value: (r.kind, r.organisation_name.clone()) });
            if organisation.value.1 != r.organisation_name {
                problems.push(error(
                    2,
                    format!("{} is named '{}' on line {}", r.organisation, organisation.value.1, organisation.line),
                ));
            }
            if organisation.value.0 != r.kind {
                problems.push(error(
                    3,
                    format!("{} is a {} on line {}", r.organisation, organisation.value.0, organisation.line),
                ));
            }
            if problems.is_empty() { Ok(r) } else { Err(problems) }
        });
        match checked {
            Ok(r) => rows.push(r),
            Err(problems) => {
                invalid += 1;
                for e in problems {
                    // A broken error sink (a closed pipe) must not hide the failure itself.
                    let _ = writeln!(errors, "line {line}, column {}: {}: {}", e.column, e.column_name(), e.reason);
                }
            }
        }
    }
    Ok((rows, invalid))
}
