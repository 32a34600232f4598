//! `sportello registry import`: streams a registry extract into the store, replacing the registry atomically.
//!
//! Parsing and validation run on a blocking thread and hand batches to the store through a bounded channel, so
//! memory stays constant whatever the file's size and the database works while the next batch is parsed.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sportello_domain::registry::{self, CellError, HEADER, RegistryRow};
use sportello_store::{RegistrySummary, Store, StoreError};
use thiserror::Error;
use tokio::sync::mpsc;

/// Rows handed to the store at once.
const BATCH: usize = 8_192;

/// How an import should treat invalid rows and report progress.
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
    /// Draw a progress bar (only when standard error is a terminal).
    pub progress: bool,
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
}

/// What the parsing thread reports when it has read the whole file.
struct ParseOutcome {
    rows_read: u64,
    rows_rejected: u64,
}

/// Imports the extract at `options.path` (or with `dry_run`, or without a store, only validates it). Every invalid
/// row is written to `errors` as `line N, column C: reason`; without `skip_invalid` any invalid row aborts the
/// import with nothing written.
pub async fn import(
    store: Option<&dyn Store>,
    options: &ImportOptions,
    errors: Box<dyn Write + Send>,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let file = File::open(&options.path).map_err(|source| ImportError::Read { path: options.path.clone(), source })?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let progress = progress_bar(options.progress, size);

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
    progress.finish_and_clear();

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

fn progress_bar(enabled: bool, size: u64) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} importing [{bar:30}] {bytes}/{total_bytes} · {msg} · {elapsed} (about {eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Reads and validates the file, sending batches of valid rows. Stops sending (but keeps validating, so that
/// every error is listed) after the first invalid row unless invalid rows are skipped.
fn parse(
    file: File,
    options: &ImportOptions,
    tx: mpsc::Sender<Vec<RegistryRow>>,
    mut errors: Box<dyn Write + Send>,
    progress: ProgressBar,
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
                    progress.set_position(row.byte);
                    progress.set_message(format!("{} rows", outcome.rows_read));
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
    progress.set_position(progress.length().unwrap_or(0));
    Ok(outcome)
}

/// A CSV file of the institute's, as [`ExtractReader`] reads it: its header and how a data row becomes a record.
pub trait Format {
    /// A valid data row.
    type Row;
    /// The specification's columns.
    const COLUMNS: usize;
    /// Checks the header row; the error names the first column that differs.
    fn check_header(cells: &[&str]) -> Result<(), CellError>;
    /// Validates one data row, returning every problem found.
    fn parse_row(cells: &[&str]) -> Result<Self::Row, Vec<CellError>>;
}

/// The registry extract (`docs/specs/registry-extract.md`).
#[derive(Debug)]
pub struct Extract;

impl Format for Extract {
    type Row = RegistryRow;
    const COLUMNS: usize = HEADER.len();
    fn check_header(cells: &[&str]) -> Result<(), CellError> {
        registry::check_header(cells.iter().copied())
    }
    fn parse_row(cells: &[&str]) -> Result<RegistryRow, Vec<CellError>> {
        registry::parse_row(cells.iter().copied())
    }
}

/// The persons file (`docs/specs/registry-persons.md`).
#[derive(Debug)]
pub struct PersonsFile;

impl Format for PersonsFile {
    type Row = sportello_domain::persons::PersonRecord;
    const COLUMNS: usize = sportello_domain::persons::HEADER.len();
    fn check_header(cells: &[&str]) -> Result<(), CellError> {
        sportello_domain::persons::check_header(cells.iter().copied())
    }
    fn parse_row(cells: &[&str]) -> Result<Self::Row, Vec<CellError>> {
        sportello_domain::persons::parse_row(cells.iter().copied())
    }
}

/// One data row of an extract as read: where it starts, its cells, and the valid row or what is wrong with it.
#[derive(Debug)]
pub struct ExtractRow<'a, T = RegistryRow> {
    /// The 1-based line the row starts on.
    pub line: u64,
    /// The byte offset the row starts at.
    pub byte: u64,
    /// The row's cells; none when the row could not be read as CSV or as UTF-8.
    pub cells: Vec<&'a str>,
    /// The valid row, or every problem found in it, each with its column.
    pub row: Result<T, Vec<CellError>>,
}

/// Why an extract cannot be read at all.
#[derive(Debug, Error)]
pub enum ExtractError {
    /// Reading failed.
    #[error("{0}")]
    Read(csv::Error),
    /// The header is missing or wrong; no row after it is read.
    #[error("line {line}, column {}: {}", error.column, error.reason)]
    Header {
        /// The 1-based line of the header.
        line: u64,
        /// What is wrong with it.
        error: CellError,
    },
}

/// Reads a registry extract (`docs/specs/registry-extract.md`) row by row: the header when it is created, then
/// each data row, validated, with its line. `registry import` (with or without `--dry-run`) reads files with it;
/// it needs no database, so it also serves tests and the fuzzer on bytes in memory. `registry persons` reads persons
/// files with it too ([`PersonsFile`]).
pub struct ExtractReader<R, F = Extract> {
    reader: csv::Reader<Lines<R>>,
    record: csv::ByteRecord,
    last_line: u64,
    format: std::marker::PhantomData<F>,
}

impl<R: Read> ExtractReader<R, Extract> {
    /// Reads and checks the header of a registry extract.
    pub fn new(input: R) -> Result<Self, ExtractError> {
        Self::of_format(input)
    }
}

impl<R: Read, F: Format> ExtractReader<R, F> {
    /// Reads and checks the header of a file of format `F`.
    pub fn of_format(input: R) -> Result<Self, ExtractError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 20)
            .from_reader(Lines::new(input));
        let mut record = csv::ByteRecord::new();
        let header = |line: u64, column: usize, reason: String| ExtractError::Header {
            line,
            error: CellError::new(column, reason),
        };
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Err(header(1, 1, "the file is empty: it must start with the header".to_owned())),
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => return Err(ExtractError::Read(e)),
            Err(e) => {
                return Err(header(1, csv_error_column(&e), format!("the row cannot be read as CSV: {e}")));
            }
        }
        let end = reader.position().byte();
        let line = reader.get_mut().row_start(end, &record);
        match utf8_cells(&record, F::COLUMNS) {
            Ok(cells) => F::check_header(&cells).map_err(|error| ExtractError::Header { line, error })?,
            Err(column) => return Err(header(line, column, "the cell is not valid UTF-8".to_owned())),
        }
        Ok(Self { reader, record, last_line: line, format: std::marker::PhantomData })
    }

    /// The next data row, or `None` at the end of the extract. Only a failure to read is an error: a row that is
    /// not valid CSV, UTF-8 or registry data comes back with its problems.
    pub fn next_row(&mut self) -> Result<Option<ExtractRow<'_, F::Row>>, csv::Error> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => return Err(e),
            Err(e) => {
                let line = self.last_line + 1;
                self.last_line = line;
                let byte = e.position().map_or(0, csv::Position::byte);
                let error = CellError::new(csv_error_column(&e), format!("the row cannot be read as CSV: {e}"));
                return Ok(Some(ExtractRow { line, byte, cells: Vec::new(), row: Err(vec![error]) }));
            }
        }
        let byte = self.record.position().map_or(0, csv::Position::byte);
        let end = self.reader.position().byte();
        let line = self.reader.get_mut().row_start(end, &self.record);
        self.last_line = line;
        Ok(Some(match utf8_cells(&self.record, F::COLUMNS) {
            Ok(cells) => {
                let row = F::parse_row(&cells);
                ExtractRow { line, byte, cells, row }
            }
            Err(column) => {
                let error = CellError::new(column, "the cell is not valid UTF-8");
                ExtractRow { line, byte, cells: Vec::new(), row: Err(vec![error]) }
            }
        }))
    }
}

/// The input of an [`ExtractReader`], keeping the offsets of the line endings the CSV reader has read ahead of the
/// row it returned last, to number rows as an editor does. A line ends as the CSV reader ends a row: at '\n', at
/// '\r\n' (once) or at a '\r' alone. The reader's own line count is off on CRLF files: the position
/// it gives a row is where it began looking, before the '\n' that ended the row before and any blank lines. A row's
/// first line is instead found from where the row ended ([`Lines::row_start`]), whatever the line endings.
struct Lines<R> {
    input: R,
    /// Bytes read so far.
    read: u64,
    /// Line endings counted up to the last position asked about.
    counted: u64,
    /// The offsets of the '\n' and '\r' bytes read but not counted yet: at most what the reader's buffer holds.
    pending: std::collections::VecDeque<(u64, u8)>,
    /// Whether a read found the end of the input.
    eof: bool,
}

impl<R> Lines<R> {
    fn new(input: R) -> Self {
        Lines { input, read: 0, counted: 0, pending: std::collections::VecDeque::new(), eof: false }
    }

    /// The 1-based line a row starts on, given `end`, the offset just past the byte that ended it (the '\n', or the
    /// '\r' of a CRLF ending or of a lone '\r', or the last byte of the file), and its cells, whose line endings are
    /// lines of the row.
    /// A row that the end of the file ended (the reader asked for more and got nothing) has no line ending: its last
    /// byte is its own, and a line feed there is inside a cell left open by a quote. Rows must come in order.
    fn row_start(&mut self, end: u64, record: &csv::ByteRecord) -> u64 {
        // Line feeds before the row's ending end the lines before the row's last line, or lie inside its cells.
        let at_eof = self.eof && end == self.read;
        let last = if at_eof { end } else { end.saturating_sub(1) };
        while let Some(&(offset, byte)) = self.pending.front()
            && offset < last
        {
            self.pending.pop_front();
            // A '\r' followed by '\n' is one line ending, counted at its '\n' (read already: it lies before `last`).
            let crlf = byte == b'\r' && self.pending.front().is_some_and(|&(next, b)| next == offset + 1 && b == b'\n');
            if !crlf {
                self.counted += 1;
            }
        }
        let inside: usize = record.iter().map(line_endings).sum();
        (self.counted + 1).saturating_sub(inside as u64).max(1)
    }
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.input.read(buf)?;
        self.eof |= n == 0 && !buf.is_empty();
        let start = self.read;
        self.pending.extend(
            buf[..n]
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\n' || b == b'\r')
                .map(|(i, &b)| (start + i as u64, b)),
        );
        self.read += n as u64;
        Ok(n)
    }
}

/// The line endings within a cell (a quoted cell may hold some), counted as [`Lines`] counts them.
fn line_endings(cell: &[u8]) -> usize {
    cell.iter().enumerate().filter(|&(i, &b)| b == b'\n' || (b == b'\r' && cell.get(i + 1) != Some(&b'\n'))).count()
}

/// The cells of a record as text, or the column of the first cell that is not UTF-8. Only the specification's
/// columns and the one after them are checked: a longer record is refused at that first extra column for its length,
/// whatever the cells past it hold (they only count, and are never stored or written back).
fn utf8_cells(record: &csv::ByteRecord, columns: usize) -> Result<Vec<&str>, usize> {
    record
        .iter()
        .enumerate()
        .map(|(i, cell)| match std::str::from_utf8(cell) {
            Ok(text) => Ok(text),
            Err(_) if i > columns => Ok(""),
            Err(_) => Err(i + 1),
        })
        .collect()
}

/// The 1-based column of a CSV error.
fn csv_error_column(e: &csv::Error) -> usize {
    match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => err.field() + 1,
        _ => 1,
    }
}

fn rejects_writer(path: &Path) -> Result<csv::Writer<File>, ImportError> {
    let to_error = |source| ImportError::Rejects { path: path.to_owned(), source };
    // The rows carry codici fiscali: personal data, readable by the operator alone.
    let file = crate::pins::open_private(path).map_err(|e| to_error(csv::Error::from(e)))?;
    let mut w = csv::Writer::from_writer(file);
    let mut header = vec!["line", "errors"];
    header.extend(HEADER);
    w.write_record(&header).map_err(to_error)?;
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::ExtractReader;

    /// A record longer than the specification is refused at its first extra column, whatever the cells after it
    /// hold: not at a later column whose bytes are not UTF-8.
    #[test]
    fn a_record_too_long_is_refused_at_its_first_extra_column() {
        let header = sportello_domain::registry::HEADER.join(",");
        let mut extract = format!("{header},x,y,z,").into_bytes();
        extract.extend([0xff, b'\n']);
        match ExtractReader::new(extract.as_slice()) {
            Err(super::ExtractError::Header { line: 1, error }) => assert_eq!(error.column, 9, "{error:?}"),
            other => panic!("expected a header error at column 9, got {:?}", other.err()),
        }
        let mut extract = format!("{header}\nRSSMRA80A01H501U,lavoro_dipendente,2019-01-01,,,,,,x,y,").into_bytes();
        extract.extend([0xff, b'\n']);
        let mut reader = ExtractReader::new(extract.as_slice()).expect("a valid header");
        let row = reader.next_row().expect("bytes in memory").expect("one row");
        let errors = row.row.expect_err("too many cells");
        assert_eq!(errors.iter().map(|e| e.column).collect::<Vec<_>>(), [9], "{errors:?}");
        assert!(errors[0].reason.contains("this one has 11"), "{errors:?}");
    }

    /// The lines of the rows an extract holds, read as `registry import` reads them.
    fn lines(extract: &str) -> Vec<u64> {
        let mut reader = ExtractReader::new(extract.as_bytes()).expect("a valid header");
        let mut lines = Vec::new();
        while let Some(row) = reader.next_row().expect("bytes in memory") {
            lines.push(row.line);
        }
        lines
    }

    #[test]
    fn rows_of_a_crlf_extract_are_numbered_as_an_editor_numbers_them() {
        let header = sportello_domain::registry::HEADER.join(",");
        let lf = format!("{header}\nA,b\n\"C\",d\n\nE,f\n");
        assert_eq!(lines(&lf), [2, 3, 5]);
        // The same extract with Windows line endings, as an export from an office program would have it.
        let crlf = lf.replace('\n', "\r\n");
        assert_eq!(lines(&crlf), [2, 3, 5]);
        let mut reader = ExtractReader::new(crlf.as_bytes()).expect("a valid header");
        let row = reader.next_row().expect("bytes in memory").expect("a row");
        assert_eq!(row.cells, ["A", "b"], "the '\\r' is not part of the last cell");
    }

    /// A row that the end of the file ends, inside a quoted cell that holds a line ending, starts on the line after
    /// the header all the same (found by the registry_row fuzz target).
    #[test]
    fn a_row_left_open_by_a_quote_at_the_end_of_the_file_keeps_its_line() {
        let header = sportello_domain::registry::HEADER.join(",");
        assert_eq!(lines(&format!("{header}\r\n\"RSSMRA80A01H501U\",\"arti,\"\"\r\n")), [2]);
        assert_eq!(lines(&format!("{header}\n\"A\",\"b\nc\n")), [2]);
        assert_eq!(lines(&format!("{header}\nA,b\nC,d")), [2, 3], "the last row without a line ending");
        assert_eq!(lines(&format!("{header}\nA,\"b\n\"\nC,d\n")), [2, 4], "a closed cell ending in a line feed");
    }

    /// A '\r' alone ends a row, as the CSV reader takes it, and a line, as editors show it (found by the registry_row
    /// fuzz target: two rows were numbered with the same line).
    #[test]
    fn a_carriage_return_alone_ends_a_line() {
        let header = sportello_domain::registry::HEADER.join(",");
        assert_eq!(lines(&format!("{header}\nA,b\rC,d\r\nE,f\n")), [2, 3, 4]);
        assert_eq!(lines(&format!("{header}\rA,\"b\rc\"\r\nE,f\r")), [2, 4], "a '\\r' inside a quoted cell");
    }
}
