//! Reading the institute's CSV files row by row: the registry extract (`docs/specs/registry-extract.md`) and the
//! persons file (`docs/specs/registry-persons.md`), each a [`Format`]. Every data row comes back validated, with the
//! line an editor would show it on, whatever the line endings. No database here: `registry import`,
//! `registry persons`, the tests and the fuzzer all read with [`ExtractReader`].

use std::io::Read;

use sportello_domain::registry::{self, CellError, HEADER, RegistryRow};
use thiserror::Error;

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
