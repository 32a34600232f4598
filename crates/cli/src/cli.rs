//! The `sportello` command line: one binary, one subcommand per job.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sportello_domain::CodiceFiscale;
use sportello_domain::law::{Decrees, Rulebook};
use sportello_store::{DEFAULT_DATABASE_URL, Store, StoreError};
use sportello_usecases::payments as pay;
use sportello_usecases::{Operator, UseCaseError, budgets, registry};

pub use crate::args::*;
use crate::demo::{self, DemoArgs};
use crate::error::{InputError, exit_status, usecase_error};
use crate::output::{closed_pipe, print};
use crate::portal::{bind, run_portal};
use crate::rulebook::load_decrees;
use crate::{payments, progress, synthetic};

/// Sportello: apply for an emergency benefit, fairly, under any surge.
#[derive(Debug, Parser)]
#[command(name = "sportello", version, about, propagate_version = true)]
pub struct Cli {
    /// The database: `sqlite://PATH` (embedded, the default) or `postgres://USER@HOST/DB`.
    #[arg(long, global = true, env = "SPORTELLO_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: String,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage the institute's registry extract and personal records.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Print the eligibility decision for one codice fiscale as JSON.
    Check(CheckArgs),
    /// Generate a demo registry, import it and show decisions for a few demo people.
    Demo(DemoArgs),
    /// Serve the portal.
    Serve(ServeArgs),
    /// Manage INPS PINs.
    #[command(subcommand)]
    Pin(PinCommand),
    /// Operate the admission gate of running portals (capacity, maintenance, revocation) through its Redis.
    #[command(subcommand)]
    Gate(crate::gate::GateCommand),
    /// Rehearse a click day against a running portal (loopback by default), then check what the store recorded.
    #[command(long_about = crate::drill::LONG_ABOUT)]
    Drill(Box<crate::drill::DrillArgs>),
    /// Pay accepted applications (SEPA transfers, cash at a post office) and apply the bank's status reports.
    #[command(subcommand)]
    Payments(PaymentsCommand),
    /// Show or raise the schemes' spending limits.
    #[command(subcommand)]
    Budget(BudgetCommand),
    /// Grant the indemnities the institute pays without an application (April 2020, art. 84 c. 1 DL 34/2020).
    #[command(subcommand)]
    Indemnities(IndemnitiesCommand),
    /// Make the keys Sportello signs and decrypts with as a relying party of the SPID/CIE federation.
    #[command(subcommand)]
    Keys(crate::keys::KeysCommand),
    /// The back office's local accounts (officers, supervisors, the data protection officer, auditors).
    #[command(subcommand)]
    Officers(crate::office::OfficersCommand),
    /// Purge what is kept only for a while: ended sessions, delivered messages, old audit rows.
    #[command(subcommand)]
    Retention(crate::office::RetentionCommand),
    /// Manage the roster of the intermediaries who act for citizens.
    #[command(subcommand)]
    Intermediaries(crate::intermediaries::IntermediariesCommand),
    /// Benchmark aids: sessions opened in bulk, the raw PIN hash rate (see bench/parts).
    #[command(subcommand, hide = true)]
    Bench(crate::bench::BenchCommand),
}

/// Parses the arguments, runs the command and maps failures to exit statuses.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(matches!(cli.command, Command::Serve(_)));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`sportello check … | head`): what it did not read is nobody's loss, and no error.
        Err(e) if closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit_status(&e)
        }
    }
}

/// The account running the command, for records that say who acted: `USER` (or `LOGNAME`), else, where the
/// environment says nothing (cron, a container), the process's user as `/etc/passwd` names it, or its uid.
fn os_user() -> Option<String> {
    if let Some(user) =
        ["USER", "LOGNAME", "USERNAME"].into_iter().find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty()))
    {
        return Some(user);
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.to_owned();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let named = passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.get(2) == Some(&uid.as_str())).then(|| fields[0].to_owned())
    });
    Some(named.unwrap_or_else(|| format!("uid {uid}")))
}

/// Logs go to standard error, filtered by `RUST_LOG` (default: `info` for the server, `warn` for one-off commands),
/// as JSON lines when `SPORTELLO_LOG_FORMAT=json` (what a log collector wants), as text otherwise.
fn init_logging(server: bool) {
    let default = if server { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = if std::env::var("SPORTELLO_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

async fn open_store(url: &str) -> anyhow::Result<Box<dyn Store>> {
    sportello_store::open(url)
        .await
        .with_context(|| format!("cannot open the database {}", sportello_store::redact(url)))
}

/// Opens an existing, up-to-date database for a command that only reads: it creates, migrates and writes nothing.
async fn open_for_reading(url: &str) -> anyhow::Result<Box<dyn Store>> {
    match sportello_store::open_existing(url).await {
        Ok(store) => Ok(store),
        Err(e @ (StoreError::Missing(_) | StoreError::Outdated { .. })) => Err(InputError(e.to_string()).into()),
        Err(e) => {
            Err(anyhow::Error::new(e).context(format!("cannot open the database {}", sportello_store::redact(url))))
        }
    }
}

/// Runs one parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Registry(RegistryCommand::Generate(args)) => {
            let persons_path = args.persons_path();
            let (extract, persons_file) = (args.out.clone(), persons_path.clone());
            let (rows, contacts) = tokio::task::spawn_blocking(move || {
                synthetic::write_files(&extract, &persons_file, args.persons, args.seed)
            })
            .await??;
            eprintln!(
                "wrote {} people in {rows} rows to {}, and their personal records to {} ({contacts} with a contact on file)",
                args.persons,
                args.out.display(),
                persons_path.display()
            );
            Ok(())
        }
        Command::Registry(RegistryCommand::Persons(args)) => {
            let store = if args.dry_run { None } else { Some(open_store(&cli.database_url).await?) };
            crate::persons::import(store.as_deref(), &args.file).await
        }
        Command::Registry(RegistryCommand::Import(args)) => {
            let store = if args.dry_run { None } else { Some(open_store(&cli.database_url).await?) };
            let options = registry::ImportOptions {
                path: args.file,
                skip_invalid: args.skip_invalid,
                rejects: args.rejects,
                max_invalid: (!args.force).then_some(args.max_invalid),
                dry_run: args.dry_run,
            };
            let report =
                registry::import(store.as_deref(), &options, Box::new(std::io::stderr()), progress::importing())
                    .await
                    .map_err(|e| usecase_error(e.into()))?;
            let secs = report.elapsed.as_secs_f64();
            let mut err = std::io::stderr().lock();
            if options.dry_run {
                writeln!(
                    err,
                    "{} is valid: {} rows checked in {secs:.1} s ({:.0} rows/s); nothing was imported",
                    options.path.display(),
                    report.rows_read,
                    report.rows_read as f64 / secs.max(1e-9)
                )?;
                return Ok(());
            }
            writeln!(
                err,
                "imported {} rows ({} people) from {} in {secs:.1} s ({:.0} rows/s)",
                report.summary.positions,
                report.summary.persons,
                options.path.display(),
                report.rows_read as f64 / secs.max(1e-9)
            )?;
            if report.rows_rejected > 0 {
                writeln!(
                    err,
                    "rejected {} invalid rows, written with their reasons to {}",
                    report.rows_rejected,
                    options.rejects.as_deref().map(|p| p.display().to_string()).unwrap_or_default()
                )?;
            }
            Ok(())
        }
        Command::Check(args) => {
            let cf = CodiceFiscale::parse(&args.cf)
                .map_err(|e| InputError(format!("'{}' is not a valid codice fiscale: {e}", args.cf)))?;
            let decrees = load_decrees(args.schemes.as_deref())?;
            let store = open_for_reading(&cli.database_url).await?;
            let positions = store.positions(&cf).await?;
            if positions.is_empty() {
                let summary = store.registry_summary().await?;
                let hint = if summary.imported_at.is_none() {
                    " (no registry has been imported yet: run `sportello registry import FILE.csv`)"
                } else {
                    ""
                };
                return Err(InputError(format!("{cf} is not in the registry{hint}")).into());
            }
            // The indemnities already held decide April's (art. 84 c. 1 DL 34/2020), granted to March's beneficiaries.
            let situation =
                sportello_usecases::decide::situation(store.as_ref(), &decrees, cf).await.map_err(usecase_error)?;
            let decision = situation.decision;
            print(&format!("{}\n", serde_json::to_string_pretty(&check_json(&decrees, &decision)?)?))?;
            Ok(())
        }
        Command::Demo(args) => demo::run(&cli.database_url, &args).await,
        Command::Serve(args) => serve(&cli.database_url, args).await,
        Command::Gate(command) => crate::gate::run(command).await,
        Command::Keys(command) => crate::keys::run(command),
        Command::Intermediaries(command) => crate::intermediaries::run(&cli.database_url, command).await,
        Command::Drill(args) => crate::drill::run(&cli.database_url, *args).await,
        Command::Payments(PaymentsCommand::Run(args)) => {
            let debtor_iban = sportello_domain::Iban::parse(&args.debtor_iban)
                .map_err(|e| InputError(format!("--debtor-iban '{}': {e}", args.debtor_iban)))?;
            pay::check_bic(&args.debtor_bic).map_err(|e| InputError(format!("--debtor-bic: {e}")))?;
            if pay::check_debtor_name(&args.debtor_name).is_err() {
                return Err(InputError("--debtor-name must have 1 to 70 characters".into()).into());
            }
            let decrees = load_decrees(args.schemes.as_deref())?;
            let store = open_store(&cli.database_url).await?;
            let order = pay::RunOrder {
                pay_date: args.date,
                accepted_before: pay::cut_off(args.date),
                debtor_name: args.debtor_name,
                debtor_iban,
                debtor_bic: args.debtor_bic,
                out: args.out,
                stop_after: args.stop_after,
            };
            let summary = pay::run(store.as_ref(), &decrees, &order, progress::paying(), chrono::Utc::now()).await?;
            let mut text = Vec::new();
            payments::print_summary(&mut text, &summary, &order.out)?;
            print(&String::from_utf8_lossy(&text))?;
            Ok(())
        }
        Command::Payments(PaymentsCommand::Reconcile(args)) => {
            let store = open_store(&cli.database_url).await?;
            let file =
                std::fs::File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
            let pay::Reconciled { counts, pending } =
                pay::reconcile(store.as_ref(), std::io::BufReader::new(file), chrono::Utc::now()).await.map_err(
                    |e| match e {
                        report @ UseCaseError::Payment(pay::PaymentError::Report(_)) => {
                            usecase_error(report).context(args.file.display().to_string())
                        }
                        other => usecase_error(other),
                    },
                )?;
            print(&format!(
                "{}: {} payments confirmed, {} returned, {} pending, {} not matched (unknown or already so)\n",
                args.file.display(),
                counts.confirmed,
                counts.returned,
                pending,
                counts.ignored
            ))?;
            Ok(())
        }
        Command::Payments(PaymentsCommand::Synthetic(args)) => {
            let store: std::sync::Arc<dyn Store> = open_store(&cli.database_url).await?.into();
            let started = std::time::Instant::now();
            let stored = payments::synthetic(store, &Decrees::single(Rulebook::dl18_2020()), args.applications).await?;
            eprintln!("recorded {stored} synthetic applications in {:.1} s", started.elapsed().as_secs_f64());
            Ok(())
        }
        Command::Budget(command) => budget(&cli.database_url, command).await,
        Command::Indemnities(IndemnitiesCommand::Grant(args)) => {
            let decrees = load_decrees(args.schemes.as_deref())?;
            let by = match args.by.as_deref().map(str::trim) {
                Some("") => return Err(InputError("--by must name who grants".into()).into()),
                Some(by) => by.to_owned(),
                None => os_user().ok_or_else(|| {
                    InputError("cannot tell who runs this command (no USER): name who grants with --by".into())
                })?,
            };
            let store: std::sync::Arc<dyn Store> = open_store(&cli.database_url).await?.into();
            let now = chrono::Utc::now();
            // Each person granted now is told, as a person who applies is: the portal's receipt, queued once.
            let receipts = crate::receipts::PortalReceipts::new(store.clone(), decrees.clone())?;
            let done = sportello_usecases::grant::grant(store.as_ref(), &decrees, &receipts, &args.scheme, &by, now)
                .await
                .map_err(usecase_error)?;
            print(&format!(
                "{}: {} beneficiaries; {} granted now, {} refused by the law (with reasons), {} granted before\n",
                args.scheme, done.beneficiaries, done.accepted, done.rejected, done.already
            ))?;
            eprintln!("{} receipts queued for the people granted now", done.receipts);
            Ok(())
        }
        Command::Bench(command) => crate::bench::run(&cli.database_url, command).await,
        Command::Officers(command) => {
            crate::office::officers(open_store(&cli.database_url).await?.as_ref(), command).await
        }
        Command::Retention(command) => {
            crate::office::purge(open_store(&cli.database_url).await?.as_ref(), command).await
        }
        Command::Pin(PinCommand::Issue(args)) => {
            let store = open_store(&cli.database_url).await?;
            let persons = match args.first {
                Some(n) => store.registry_persons(None, n).await?,
                None => args
                    .cfs
                    .iter()
                    .map(|cf| {
                        CodiceFiscale::parse(cf)
                            .map_err(|e| InputError(format!("'{cf}' is not a valid codice fiscale: {e}")))
                    })
                    .collect::<Result<_, _>>()?,
            };
            let hasher = sportello_usecases::pin::PinHasher::new()?;
            let issued = crate::pins::issue(store.as_ref(), &hasher, &persons).await?;
            crate::pins::write_csv(&args.out, &issued)?;
            eprintln!("issued {} PINs, written to {}", issued.len(), args.out.display());
            Ok(())
        }
        Command::Pin(PinCommand::Confirm(args)) => {
            let cf = CodiceFiscale::parse(&args.cf)
                .map_err(|e| InputError(format!("'{}' is not a valid codice fiscale: {e}", args.cf)))?;
            let by = args.by.trim();
            if by.is_empty() {
                return Err(InputError("--by must name the officer who identified the person".into()).into());
            }
            let store = open_store(&cli.database_url).await?;
            let released = crate::pins::confirm(store.as_ref(), cf, by, chrono::Utc::now()).await?;
            let mut text = format!("{cf}: identity confirmed by {by}; ");
            if released.is_empty() {
                text.push_str("no application was held for payment\n");
            } else {
                text.push_str(&format!("{} application(s) released for payment:\n", released.len()));
                for application in &released {
                    text.push_str(&format!("  {} ({})\n", application.protocol, application.scheme));
                }
            }
            print(&text)?;
            Ok(())
        }
    }
}

async fn budget(database_url: &str, command: BudgetCommand) -> anyhow::Result<()> {
    match command {
        BudgetCommand::Set(args) => {
            let decrees = load_decrees(args.schemes.as_deref())?;
            let limit =
                sportello_domain::Cents::parse(&args.limit).map_err(|e| InputError(format!("the limit: {e}")))?;
            if args.legal_ref.trim().is_empty() {
                return Err(InputError("--ref must name the law that sets the limit".into()).into());
            }
            let by = match args.by.as_deref() {
                Some(by) => {
                    Operator::named(by).ok_or_else(|| InputError("--by must name who sets the limit".into()))?
                }
                None => os_user().as_deref().and_then(Operator::named).ok_or_else(|| {
                    InputError("cannot tell who runs this command (no USER): name who sets the limit with --by".into())
                })?,
            };
            let new = budgets::NewLimit { scheme: args.scheme, limit, legal_ref: args.legal_ref };
            let store = open_store(database_url).await?;
            let change = budgets::set_limit(store.as_ref(), &decrees, &by, &new, chrono::Utc::now()).await?;
            print(&format!(
                "{}: limit {} EUR ({}), set by {by}; {} reserved; {} suspended applications accepted, {} still waiting\n",
                change.budget.scheme,
                change.budget.limit,
                change.budget.legal_ref,
                change.budget.reserved,
                change.released,
                change.budget.suspended
            ))?;
        }
        BudgetCommand::Show(args) => {
            // Only reads: a scheme whose limit this database has not recorded yet is shown from the scheme file.
            let decrees = load_decrees(args.schemes.as_deref())?;
            let store = open_for_reading(database_url).await?;
            let overview = budgets::overview(store.as_ref(), &decrees).await?;
            let mut text = String::new();
            for b in &overview.recorded {
                text.push_str(&format!(
                    "{}: limit {} EUR ({}), {} EUR each; reserved {} EUR; {} suspended\n",
                    b.scheme, b.limit, b.legal_ref, b.amount, b.reserved, b.suspended
                ));
            }
            for f in &overview.from_file {
                text.push_str(&format!(
                    "{}: limit {} EUR ({}), {} EUR each; not recorded in this database yet (from the scheme file)\n",
                    f.scheme, f.limit, f.legal_ref, f.amount
                ));
            }
            text.push_str("history:\n");
            for e in &overview.history {
                let by =
                    e.set_by.as_deref().map_or_else(|| "set by (not recorded)".to_owned(), |by| format!("set by {by}"));
                text.push_str(&format!(
                    "  {} {}: {} EUR ({}), {by}, {} released\n",
                    e.set_at.with_timezone(&chrono::Local).format("%d/%m/%Y %H:%M:%S %Z"),
                    e.scheme,
                    e.limit,
                    e.legal_ref,
                    e.released
                ));
            }
            print(&text)?;
        }
    }
    Ok(())
}

async fn serve(database_url: &str, args: ServeArgs) -> anyhow::Result<()> {
    let mut config =
        sportello_web::config::Config::load(args.config.as_deref()).map_err(|e| InputError(e.to_string()))?;
    if let Some(listen) = args.listen {
        config.http.listen = listen;
    }
    let decrees = load_decrees(args.schemes.as_deref())?;
    let store = open_store(database_url).await?;
    let listener = bind(&config).await?;
    eprintln!("Sportello is serving on http://{}", listener.local_addr()?);
    run_portal(listener, store.into(), decrees, config).await
}

/// `sportello check`'s JSON: the decision (`codice_fiscale`, `schemes` of objects with `scheme`, `eligible` and
/// `reasons`), each scheme also naming its `decree` and the `period` it is for.
fn check_json(decrees: &Decrees, decision: &sportello_domain::law::Decision) -> anyhow::Result<serde_json::Value> {
    let mut json = serde_json::to_value(decision)?;
    if let Some(schemes) = json.get_mut("schemes").and_then(serde_json::Value::as_array_mut) {
        for entry in schemes {
            let id = entry.get("scheme").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
            if let (Some(object), Some(scheme), Some(book)) =
                (entry.as_object_mut(), decrees.scheme(&id), decrees.rulebook_of(&id))
            {
                object.insert("decree".to_owned(), book.decree().short().into());
                object.insert("period".to_owned(), scheme.cumulation().period_it().into());
            }
        }
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
