//! `sportello intermediaries …` at its edge: the roster import (`sportello_usecases::intermediaries::import_roster`)
//! with its errors listed and its summary written on standard error.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use sportello_usecases::intermediaries;

use crate::error::usecase_error;

/// `sportello intermediaries …`
#[derive(Debug, Subcommand)]
pub enum IntermediariesCommand {
    /// Replace the roster of the operators who act for citizens (patronati, CAF, consultants, the Contact Center)
    /// with a roster file (CSV, docs/specs/intermediaries-roster.md), atomically.
    Import(RosterArgs),
}

/// Arguments of `intermediaries import`.
#[derive(Debug, Args)]
pub struct RosterArgs {
    /// The roster file to import.
    pub file: PathBuf,
    /// Only read and validate the file, listing every error; the database is not touched.
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs an `intermediaries` command on the database at `database_url`.
pub async fn run(database_url: &str, command: IntermediariesCommand) -> anyhow::Result<()> {
    match command {
        IntermediariesCommand::Import(args) => {
            let store =
                if args.dry_run {
                    None
                } else {
                    Some(sportello_store::open(database_url).await.with_context(|| {
                        format!("cannot open the database {}", sportello_store::redact(database_url))
                    })?)
                };
            let done = intermediaries::import_roster(
                store.as_deref(),
                &args.file,
                Box::new(std::io::stderr()),
                chrono::Utc::now(),
            )
            .await
            .map_err(|e| usecase_error(e.into()))?;
            let secs = done.elapsed.as_secs_f64();
            match done.summary {
                Some(s) => eprintln!(
                    "imported the roster from {} in {secs:.1} s: {} operator(s) in {} office(s)",
                    args.file.display(),
                    s.operators,
                    s.offices
                ),
                None => eprintln!(
                    "{} is valid: {} rows checked in {secs:.1} s; nothing was imported",
                    args.file.display(),
                    done.rows
                ),
            }
            Ok(())
        }
    }
}
