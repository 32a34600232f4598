//! The arguments of the subcommands, as clap reads them: every flag, its help and its parser. `cli.rs` holds the
//! top-level command and runs them; the types are re-exported there.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `sportello payments …`
#[derive(Debug, Subcommand)]
pub enum PaymentsCommand {
    /// Pay every accepted application not yet paid: a pain.001.001.03 transfer file, a CSV of cash payments for
    /// the postal service and a summary. Running the same date again writes the same files and pays nobody new.
    Run(PaymentsRunArgs),
    /// Apply the bank's status report (pain.002.001.03): payments accepted are confirmed, rejected ones returned.
    Reconcile(ReconcileArgs),
    /// Benchmark aid: record N accepted applications of synthetic people, to pay.
    #[command(hide = true)]
    Synthetic(SyntheticArgs),
}

/// Arguments of `payments synthetic`.
#[derive(Debug, Args)]
pub struct SyntheticArgs {
    /// How many applications.
    #[arg(long)]
    pub applications: u64,
}

/// Arguments of `payments run`.
#[derive(Debug, Args)]
pub struct PaymentsRunArgs {
    /// The payment date, 2020-04-15 or 15/04/2020: the transfers' requested execution date. The run pays only what
    /// was accepted before that day began in Italy (Europe/Rome).
    #[arg(long, value_parser = parse_date)]
    pub date: sportello_domain::Date,
    /// The account the indemnities are paid from.
    #[arg(long)]
    pub debtor_iban: String,
    /// The ordering party's name.
    #[arg(long, default_value = "INPS - Istituto Nazionale della Previdenza Sociale")]
    pub debtor_name: String,
    /// The BIC of the debtor's bank.
    #[arg(long)]
    pub debtor_bic: String,
    /// The folder to write the files to (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// A scheme file, or a folder of them, to take the amounts and limits from instead of the decrees as shipped.
    #[arg(long, value_name = "FILE")]
    pub schemes: Option<PathBuf>,
    /// Testing aid: stop after writing N payments, as a crash would.
    #[arg(long, value_name = "N", hide = true)]
    pub stop_after: Option<u64>,
}

/// Arguments of `payments reconcile`.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The status report.
    pub file: PathBuf,
}

/// `sportello indemnities …`
#[derive(Debug, Subcommand)]
pub enum IndemnitiesCommand {
    /// Record, once per beneficiary, the application of a scheme granted without one, with its protocol number
    /// and receipt, decided by the law; running it again records nothing new.
    Grant(GrantArgs),
}

/// Arguments of `indemnities grant`.
#[derive(Debug, Args)]
pub struct GrantArgs {
    /// The scheme to grant, e.g. art84c1 (its scheme file says granted = "automatically").
    #[arg(long)]
    pub scheme: String,
    /// Who grants it, for the audit log (default: the operating system user).
    #[arg(long)]
    pub by: Option<String>,
    /// A scheme file, or a folder of them, to decide by instead of the decrees as shipped.
    #[arg(long, value_name = "PATH")]
    pub schemes: Option<PathBuf>,
}

/// `sportello budget …`
#[derive(Debug, Subcommand)]
pub enum BudgetCommand {
    /// Print each scheme's limit, what is reserved, what waits, and every limit set.
    Show(BudgetShowArgs),
    /// Set a scheme's limit by a new law, accepting the suspended applications that now fit, oldest first.
    Set(BudgetSetArgs),
}

/// Arguments of `budget show`.
#[derive(Debug, Args)]
pub struct BudgetShowArgs {
    /// A scheme file, or a folder of them, to take the initial limits from instead of the decrees as shipped.
    #[arg(long, value_name = "FILE")]
    pub schemes: Option<PathBuf>,
}

/// Arguments of `budget set`.
#[derive(Debug, Args)]
pub struct BudgetSetArgs {
    /// The scheme, e.g. art27.
    pub scheme: String,
    /// The new limit in euros, e.g. 400000000.00.
    pub limit: String,
    /// The law that sets it, e.g. "DL 34/2020 art. 84".
    #[arg(long = "ref", value_name = "REFERENCE")]
    pub legal_ref: String,
    /// Who sets it, for the history (e.g. the officer's user name); by default the account running the command.
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    /// A scheme file, or a folder of them, to take the initial limits from instead of the decrees as shipped.
    #[arg(long, value_name = "FILE")]
    pub schemes: Option<PathBuf>,
}

/// `sportello pin …`
#[derive(Debug, Subcommand)]
pub enum PinCommand {
    /// Issue new PINs for registry persons (replacing earlier ones) and write them to a file for hand-over.
    Issue(PinIssueArgs),
    /// Record that an officer confirmed a person's identity (in person, by a document): every PIN of theirs counts
    /// as confirmed, and their applications held for payment are released.
    Confirm(PinConfirmArgs),
}

/// Arguments of `pin confirm`.
#[derive(Debug, Args)]
pub struct PinConfirmArgs {
    /// The codice fiscale of the person identified.
    #[arg(long, value_name = "CF")]
    pub cf: String,
    /// The officer who identified them, as the audit log names them.
    #[arg(long, value_name = "OFFICER")]
    pub by: String,
}

/// Arguments of `pin issue`.
#[derive(Debug, Args)]
pub struct PinIssueArgs {
    /// Codici fiscali to issue PINs for.
    #[arg(long = "cf", value_name = "CF", required_unless_present = "first")]
    pub cfs: Vec<String>,
    /// Instead: the first N persons of the registry, in codice fiscale order.
    #[arg(long, value_name = "N", conflicts_with = "cfs")]
    pub first: Option<u32>,
    /// Where to write `codice_fiscale,pin,simplified_pin` (created readable by its owner only).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A TOML configuration file; `SPORTELLO_*` environment variables override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where to listen, overriding the configuration (e.g. 0.0.0.0:8080).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// A scheme file, or a folder of them, to decide by instead of the decrees as shipped.
    #[arg(long, value_name = "FILE")]
    pub schemes: Option<PathBuf>,
}

/// `sportello registry …`
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Replace the registry with an extract (CSV, docs/specs/registry-extract.md), atomically.
    Import(ImportArgs),
    /// Replace the personal records (names, residence, contacts) with a persons file (CSV,
    /// docs/specs/registry-persons.md), atomically: payments by transfer take the holder's name from them.
    Persons(PersonsArgs),
    /// Write a synthetic, deterministic extract, and a persons file for the same people.
    Generate(GenerateArgs),
}

/// Arguments of `registry persons`.
#[derive(Debug, Args)]
pub struct PersonsArgs {
    /// The persons file to import.
    pub file: PathBuf,
    /// Only read and validate the file, listing every error; the database is not touched.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `registry import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The extract to import.
    pub file: PathBuf,
    /// Import the valid rows and set the invalid ones aside instead of failing, unless more than --max-invalid of
    /// the rows are invalid.
    #[arg(long, requires = "rejects")]
    pub skip_invalid: bool,
    /// With --skip-invalid: write the rejected rows and their reasons to this CSV file.
    #[arg(long, value_name = "FILE", requires = "skip_invalid")]
    pub rejects: Option<PathBuf>,
    /// With --skip-invalid: the largest share of invalid rows, in percent, that still replaces the registry; past
    /// it the import is refused (a wrong file, not a few bad rows) unless --force.
    #[arg(long, value_name = "PERCENT", default_value = "1", value_parser = parse_percent, requires = "skip_invalid")]
    pub max_invalid: f64,
    /// With --skip-invalid: replace the registry whatever the share of invalid rows.
    #[arg(long, requires = "skip_invalid")]
    pub force: bool,
    /// Only read and validate the extract, listing every error; the database is not touched.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `registry generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// How many people.
    #[arg(long)]
    pub persons: u64,
    /// The seed: the same seed gives the same file.
    #[arg(long, default_value_t = 2020)]
    pub seed: u64,
    /// Where to write the extract.
    #[arg(long)]
    pub out: PathBuf,
    /// Where to write the persons file (docs/specs/registry-persons.md) of the same people; by default beside the
    /// extract, named after it with `-persons` (extract.csv: extract-persons.csv).
    #[arg(long, value_name = "FILE")]
    pub persons_out: Option<PathBuf>,
}

impl GenerateArgs {
    /// Where the persons file goes.
    pub fn persons_path(&self) -> PathBuf {
        self.persons_out.clone().unwrap_or_else(|| crate::synthetic::persons_path_beside(&self.out))
    }
}

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The codice fiscale to decide for.
    #[arg(long)]
    pub cf: String,
    /// A scheme file, or a folder of them, to decide by instead of the decrees as shipped (schemes/dl18-2020.toml and schemes/dl34-2020.toml in the sources).
    #[arg(long, value_name = "FILE")]
    pub schemes: Option<PathBuf>,
}

/// A date as operators write it: 2020-04-15 (ISO 8601) or 15/04/2020 (as Italians do).
pub fn parse_date(input: &str) -> Result<sportello_domain::Date, String> {
    let input = input.trim();
    sportello_domain::Date::parse_from_str(input, "%Y-%m-%d")
        .or_else(|_| sportello_domain::Date::parse_from_str(input, "%d/%m/%Y"))
        .map_err(|_| {
            format!("'{input}' is not a date: write it as 2020-04-15 (year-month-day) or 15/04/2020 (day/month/year)")
        })
}

/// A share in percent, 0 to 100, e.g. 1 or 0.5.
pub fn parse_percent(input: &str) -> Result<f64, String> {
    match input.trim().trim_end_matches('%').parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!("'{input}' is not a percentage: write a number from 0 to 100, e.g. 1 or 0.5")),
    }
}
