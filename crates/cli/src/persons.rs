//! `sportello registry persons`: streams a persons file (`docs/specs/registry-persons.md`) into the store, replacing
//! the personal records atomically. Every invalid row is reported with its line and column, as the registry import
//! does, and any of them leaves the records as they were.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::Path;
use std::time::Instant;

use sportello_domain::CodiceFiscale;
use sportello_domain::persons::PersonRecord;
use sportello_domain::registry::CellError;
use sportello_store::Store;
use tokio::sync::mpsc;

use crate::error::InputError;
use sportello_usecases::registry::extract::{ExtractError, ExtractReader, PersonsFile};

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

/// Imports the persons file at `path` into `store` (or, without a store, only validates it), writing each error to
/// `errors` as `line N, column C: name: reason` and a summary to standard error.
pub async fn import(store: Option<&dyn Store>, path: &Path, errors: Box<dyn Write + Send>) -> anyhow::Result<()> {
    let started = Instant::now();
    let file = File::open(path).map_err(|e| InputError(format!("cannot read {}: {e}", path.display())))?;
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
    let outcome = parser.await?;
    let failure: anyhow::Error = match (write_error, outcome) {
        (Some(e), _) => {
            anyhow::Error::new(e).context("the database failed during the import (the records are unchanged)")
        }
        (None, Err(e)) => e,
        (None, Ok(r)) if r.invalid > 0 => InputError(format!(
            "{} invalid row(s) in {}; nothing was imported and the personal records are unchanged",
            r.invalid,
            path.display()
        ))
        .into(),
        (None, Ok(r)) if r.rows == 0 => {
            InputError(format!("{} has no record; the personal records are unchanged", path.display())).into()
        }
        (None, Ok(r)) => {
            let secs = started.elapsed().as_secs_f64();
            match writer {
                Some(w) => {
                    let summary = w.commit().await?;
                    eprintln!(
                        "imported {} personal records from {} in {secs:.1} s: {} with a contact on file, {} with a \
                         residence",
                        summary.persons,
                        path.display(),
                        r.with_contact,
                        r.with_residence
                    );
                }
                None => eprintln!(
                    "{} is valid: {} records checked in {secs:.1} s; nothing was imported",
                    path.display(),
                    r.rows
                ),
            }
            return Ok(());
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
) -> anyhow::Result<PersonsReport> {
    let mut reader = match ExtractReader::<_, PersonsFile>::of_format(BufReader::with_capacity(1 << 20, file)) {
        Ok(reader) => reader,
        Err(ExtractError::Read(e)) => return Err(e.into()),
        Err(ExtractError::Header { line, error }) => {
            let _ = writeln!(errors, "line {line}, column {}: {}: {}", error.column, error.column_name(), error.reason);
            return Err(InputError("the persons file's header is wrong; nothing was imported".to_owned()).into());
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
