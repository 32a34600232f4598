//! The property the `registry_row` fuzz target in `fuzz/` checks, shared with the test that replays its corpus
//! under `cargo test`: it panics when the property fails. Not part of the command's interface.

use std::iter;

use sportello_domain::registry::{self, CellError, HEADER};

use sportello_usecases::registry::extract::{ExtractError, ExtractReader};

/// Any bytes as a registry extract, read as `registry import --dry-run` reads a file: nothing panics, every
/// problem names a line and a column of the extract, lines go forward, and an accepted row written back as
/// cells (as the store keeps it) reads as the same row.
pub fn registry_extract(data: &[u8]) {
    let valid_column = |e: &CellError| (1..=HEADER.len() + 1).contains(&e.column) && !e.reason.is_empty();
    let mut extract = match ExtractReader::new(data) {
        Ok(extract) => extract,
        Err(ExtractError::Header { line, error }) => {
            assert!(line >= 1 && valid_column(&error), "header error at line {line}: {error:?}");
            return;
        }
        Err(ExtractError::Read(e)) => panic!("reading bytes in memory failed: {e}"),
    };
    let mut last_line = 1;
    while let Some(row) = extract.next_row().unwrap_or_else(|e| panic!("reading bytes in memory failed: {e}")) {
        assert!(row.line > last_line, "row at line {} after line {last_line}", row.line);
        last_line = row.line;
        match row.row {
            Ok(valid) => {
                let cf = valid.codice_fiscale.to_string();
                let cells = valid.position.to_cells();
                let written: Vec<&str> = iter::once(cf.as_str()).chain(cells.iter().map(String::as_str)).collect();
                assert_eq!(
                    registry::parse_row(written.iter().copied()).as_ref(),
                    Ok(&valid),
                    "line {}: {:?} written back as {written:?}",
                    row.line,
                    row.cells
                );
            }
            Err(errors) => {
                assert!(!errors.is_empty(), "line {}: rejected without a reason", row.line);
                for e in &errors {
                    assert!(valid_column(e), "line {}: {e:?}", row.line);
                    assert!(!e.to_string().is_empty());
                }
            }
        }
    }
}
