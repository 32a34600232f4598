//! `sportello registry persons` at its edge: the persons import (`sportello_usecases::registry::import_persons`)
//! with its errors listed and its summary written on standard error.

use std::path::Path;

use sportello_store::Store;
use sportello_usecases::registry;

use crate::error::usecase_error;

/// Imports (or with no store, validates) the persons file at `path`, listing its errors and a summary on standard
/// error.
pub async fn import(store: Option<&dyn Store>, path: &Path) -> anyhow::Result<()> {
    let done = registry::import_persons(store, path, Box::new(std::io::stderr()))
        .await
        .map_err(|e| usecase_error(e.into()))?;
    let (r, secs) = (done.report, done.elapsed.as_secs_f64());
    match done.persons {
        Some(persons) => eprintln!(
            "imported {persons} personal records from {} in {secs:.1} s: {} with a contact on file, {} with a residence",
            path.display(),
            r.with_contact,
            r.with_residence
        ),
        None => {
            eprintln!("{} is valid: {} records checked in {secs:.1} s; nothing was imported", path.display(), r.rows)
        }
    }
    Ok(())
}
