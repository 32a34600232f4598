//! `sportello payments …` and `sportello budget …`: payment runs that pay every accepted application once, the
//! bank's status reports, and the spending limits.
//!
//! A run is made in two steps so that a crash never pays anyone twice nor forgets anyone. First the store assigns
//! every accepted, unpaid application to the run for the payment date, in one transaction: from then on those
//! applications belong to that run and to no other. Then the files are written from the run's rows, streamed page
//! by page, each to a temporary name and renamed once complete and flushed to disk. A crash in the second step
//! leaves the assignment and no finished file; running the same date again writes the same files for the same rows.

pub mod pain001;
pub mod pain002;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use sportello_domain::law::Decrees;
use sportello_domain::{Cents, Date, Iban};
use sportello_store::{NewPaymentRun, PaymentMethod, PaymentRow, PaymentRun, ReconcileCounts, RunTotal, Store};
use tokio::sync::mpsc;

use self::pain001::{ControlSums, CreditTransfers};

/// Payments read from the store per query while a file is written.
const PAGE: u32 = 10_000;

/// Records each scheme's spending limit from the scheme file, where the database has none yet.
pub async fn load_budgets(store: &dyn Store, decrees: &Decrees, at: DateTime<Utc>) -> anyhow::Result<()> {
    sportello_store::load_budgets(store, decrees, at).await.context("cannot record the spending limits")
}

/// What `payments run` is asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The payment date.
    pub pay_date: Date,
    /// The run pays only what was payable before then ([`cut_off`] of the payment date).
    pub accepted_before: DateTime<Utc>,
    /// The ordering party.
    pub debtor_name: String,
    /// The account paid from.
    pub debtor_iban: Iban,
    /// Its bank's BIC (checked by [`check_bic`]).
    pub debtor_bic: String,
    /// The folder the files go to.
    pub out: PathBuf,
    /// Show a progress bar.
    pub progress: bool,
    /// Testing aid: stop as if the process died after writing this many payments.
    pub stop_after: Option<u64>,
}

/// A run's counts and totals, by scheme, as printed and written beside its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// The run's id.
    pub run: i64,
    /// The payment date.
    pub pay_date: Date,
    /// Whether this invocation assigned the payments (`false`: the files of an earlier run were written again).
    pub new_run: bool,
    /// By scheme.
    pub schemes: Vec<SchemeSummary>,
    /// Transfers in all.
    pub transfers: u64,
    /// Their sum.
    pub transfers_total: Cents,
    /// Cash payments in all.
    pub cash: u64,
    /// Their sum.
    pub cash_total: Cents,
    /// The files written, by name, in the output folder.
    pub files: Vec<String>,
}

/// One scheme's part of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SchemeSummary {
    /// The scheme.
    pub scheme: String,
    /// Transfers.
    pub transfers: u64,
    /// Their sum.
    pub transfers_total: Cents,
    /// Cash payments at a post office.
    pub cash: u64,
    /// Their sum.
    pub cash_total: Cents,
}

/// Why a run stopped early on purpose (the `--stop-after` testing aid).
#[derive(Debug, thiserror::Error)]
#[error("stopped after writing {0} payments, as asked (--stop-after); run the same date again to finish")]
pub struct Stopped(pub u64);

/// A BIC as ISO 9362 writes it: 8 or 11 characters, bank code and country letters, location and branch.
pub fn check_bic(bic: &str) -> Result<(), String> {
    let b = bic.as_bytes();
    let ok = matches!(b.len(), 8 | 11)
        && b[..6].iter().all(u8::is_ascii_uppercase)
        && b[6..].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if ok { Ok(()) } else { Err(format!("'{bic}' is not a BIC: 8 or 11 capital letters and digits, e.g. BITAITRRXXX")) }
}

/// The cut-off of a run dated `pay_date`: the start of that day in Italy, where the institute works. What is accepted
/// from then on waits for a later run.
pub fn cut_off(pay_date: Date) -> DateTime<Utc> {
    let midnight = pay_date.and_time(chrono::NaiveTime::MIN);
    // Italy moves its clocks at 02:00 or 03:00, never at midnight: the start of a day is always one instant.
    midnight
        .and_local_timezone(chrono_tz::Europe::Rome)
        .earliest()
        .map_or_else(|| midnight.and_utc(), |at| at.with_timezone(&Utc))
}

/// File names of a run's outputs.
fn names(pay_date: Date) -> [String; 3] {
    let day = pay_date.format("%Y-%m-%d");
    [format!("pain001-{day}.xml"), format!("domiciliati-{day}.csv"), format!("summary-{day}.json")]
}

/// Makes (or finishes, or writes again) the payment run of `options.pay_date`.
pub async fn run(
    store: &dyn Store,
    decrees: &Decrees,
    options: &RunOptions,
    now: DateTime<Utc>,
) -> anyhow::Result<RunSummary> {
    load_budgets(store, decrees, now).await?;
    let new = NewPaymentRun {
        pay_date: options.pay_date,
        debtor_name: options.debtor_name.clone(),
        debtor_iban: options.debtor_iban.electronic().to_owned(),
        debtor_bic: options.debtor_bic.clone(),
        at: now,
        accepted_before: options.accepted_before,
    };
    // A payment order names its holder: a run with a transfer to nobody named is refused whole, before anything is
    // assigned or written.
    let count = store.unnamed_transfers(&new).await?;
    if count > 0 {
        return Err(sportello_store::StoreError::UnnamedTransfers { pay_date: options.pay_date, count }.into());
    }
    let (run, new_run) = store.start_payment_run(&new).await?;
    if !new_run && (run.debtor_iban != options.debtor_iban.electronic() || run.debtor_bic != options.debtor_bic) {
        tracing::warn!(run = run.id, "the run exists with another debtor account; its files keep the one recorded");
    }
    let totals = store.run_totals(run.id).await?;
    let mut summary = summarise(&run, new_run, &totals);
    std::fs::create_dir_all(&options.out).with_context(|| format!("cannot create {}", options.out.display()))?;
    let [xml_name, csv_name, json_name] = names(run.pay_date);
    let remittances: HashMap<String, String> = decrees
        .rulebooks()
        .iter()
        .flat_map(|book| book.schemes().iter().map(move |s| (s, book.decree().name())))
        .map(|(s, decree)| (s.id().to_owned(), format!("Indennita COVID-19 {} {decree}", s.legal_ref())))
        .collect();

    let bar = progress_bar(options.progress, summary.transfers + summary.cash);
    let mut budget = options.stop_after;
    if summary.transfers > 0 {
        let sums = ControlSums { count: summary.transfers, total: summary.transfers_total };
        let target = options.out.join(&xml_name);
        let written = write_transfers(store, &run, sums, &remittances, &target, &bar, budget).await?;
        budget = budget.map(|n| n - written);
        summary.files.push(xml_name);
    }
    if summary.cash > 0 {
        let target = options.out.join(&csv_name);
        write_cash(store, &run, &remittances, &target, &bar, budget).await?;
        summary.files.push(csv_name);
    }
    bar.finish_and_clear();
    summary.files.push(json_name.clone());
    let mut json = serde_json::to_vec_pretty(&summary)?;
    json.push(b'\n');
    write_atomically(&options.out.join(&json_name), |out| out.write_all(&json))?;
    store.complete_payment_run(run.id, now).await?;
    Ok(summary)
}

fn summarise(run: &PaymentRun, new_run: bool, totals: &[RunTotal]) -> RunSummary {
    let mut schemes: BTreeMap<&str, SchemeSummary> = BTreeMap::new();
    for total in totals {
        let entry = schemes
            .entry(&total.scheme)
            .or_insert_with(|| SchemeSummary { scheme: total.scheme.clone(), ..SchemeSummary::default() });
        match total.method {
            PaymentMethod::Iban => (entry.transfers, entry.transfers_total) = (total.count, total.total),
            PaymentMethod::Domiciliato => (entry.cash, entry.cash_total) = (total.count, total.total),
        }
    }
    let schemes: Vec<SchemeSummary> = schemes.into_values().collect();
    let sum =
        |f: fn(&SchemeSummary) -> Cents| schemes.iter().fold(Cents::ZERO, |a, s| Cents::new(a.get() + f(s).get()));
    RunSummary {
        run: run.id,
        pay_date: run.pay_date,
        new_run,
        transfers: schemes.iter().map(|s| s.transfers).sum(),
        transfers_total: sum(|s| s.transfers_total),
        cash: schemes.iter().map(|s| s.cash).sum(),
        cash_total: sum(|s| s.cash_total),
        schemes,
        files: Vec::new(),
    }
}

/// Streams one method's payments of a run from the store into `write`, on a blocking thread, one page at a time
/// (two pages in flight at most): memory stays the same whatever the size of the run.
async fn stream<F>(store: &dyn Store, run: &PaymentRun, method: PaymentMethod, write: F) -> anyhow::Result<u64>
where
    F: FnOnce(mpsc::Receiver<Vec<PaymentRow>>) -> anyhow::Result<u64> + Send + 'static,
{
    let (pages, receiver) = mpsc::channel(2);
    let writer = tokio::task::spawn_blocking(move || write(receiver));
    let mut after = 0;
    loop {
        let page = store.run_payments(run.id, method, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        if pages.send(page).await.is_err() {
            // The writer stopped (an error, or --stop-after): its answer says why.
            break;
        }
    }
    drop(pages);
    writer.await?
}

async fn write_transfers(
    store: &dyn Store,
    run: &PaymentRun,
    sums: ControlSums,
    remittances: &HashMap<String, String>,
    target: &Path,
    bar: &ProgressBar,
    stop_after: Option<u64>,
) -> anyhow::Result<u64> {
    let (run_copy, remittances, target_copy, bar) = (run.clone(), remittances.clone(), target.to_owned(), bar.clone());
    stream(store, run, PaymentMethod::Iban, move |mut pages| {
        write_atomically(&target_copy, |out| {
            let mut file = CreditTransfers::begin(out, &run_copy, sums)?;
            while let Some(page) = pages.blocking_recv() {
                for payment in &page {
                    if stop_after == Some(file.written()) {
                        return Err(std::io::Error::other(Stopped(file.written())));
                    }
                    let remittance = remittances.get(&payment.scheme).map_or("Indennita COVID-19", String::as_str);
                    file.transfer(payment, &format!("{remittance} - domanda {}", payment.protocol))?;
                    bar.inc(1);
                }
            }
            file.finish()?;
            Ok(())
        })?;
        Ok(sums.count)
    })
    .await
}

async fn write_cash(
    store: &dyn Store,
    run: &PaymentRun,
    remittances: &HashMap<String, String>,
    target: &Path,
    bar: &ProgressBar,
    stop_after: Option<u64>,
) -> anyhow::Result<u64> {
    let (pay_date, remittances, target_copy, bar) =
        (run.pay_date.format("%Y-%m-%d").to_string(), remittances.clone(), target.to_owned(), bar.clone());
    stream(store, run, PaymentMethod::Domiciliato, move |mut pages| {
        let mut written = 0u64;
        write_atomically(&target_copy, |out| {
            let mut csv = csv::Writer::from_writer(out);
            csv.write_record([
                "protocollo",
                "codice_fiscale",
                "indennita",
                "importo_eur",
                "data_pagamento",
                "causale",
            ])?;
            while let Some(page) = pages.blocking_recv() {
                for payment in &page {
                    if stop_after == Some(written) {
                        return Err(std::io::Error::other(Stopped(written)));
                    }
                    let remittance = remittances.get(&payment.scheme).map_or("Indennita COVID-19", String::as_str);
                    csv.write_record([
                        payment.protocol.as_str(),
                        payment.codice_fiscale.as_str(),
                        payment.scheme.as_str(),
                        &payment.amount.to_string(),
                        &pay_date,
                        remittance,
                    ])?;
                    written += 1;
                    bar.inc(1);
                }
            }
            csv.flush()?;
            Ok(())
        })?;
        Ok(written)
    })
    .await
}

/// Writes `target` through a temporary file beside it, flushed to disk and then renamed: the name never holds half
/// a file, whatever happens.
fn write_atomically(
    target: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let partial = target.with_file_name(format!(".{name}.partial"));
    // Names, accounts and codici fiscali: readable by the operator alone, as the PIN files are.
    let file = crate::pins::open_private(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    match write(&mut out) {
        Ok(()) => {}
        Err(e) => {
            // The aid's stop is no failure to describe, only to report.
            if let Some(stopped) = e.get_ref().and_then(|inner| inner.downcast_ref::<Stopped>()) {
                return Err(Stopped(stopped.0).into());
            }
            return Err(anyhow::Error::new(e).context(format!("cannot write {}", partial.display())));
        }
    }
    let file =
        out.into_inner().map_err(|e| e.into_error()).with_context(|| format!("cannot write {}", partial.display()))?;
    file.sync_all().with_context(|| format!("cannot flush {} to disk", partial.display()))?;
    std::fs::rename(&partial, target)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), target.display()))?;
    if let Some(folder) = target.parent().and_then(|p| File::open(p).ok()) {
        // The rename is durable once the folder is.
        let _ = folder.sync_all();
    }
    Ok(())
}

fn progress_bar(enabled: bool, size: u64) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} paying [{bar:30}] {pos}/{len} · {per_sec} · {elapsed} (about {eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Prints a run's summary for people.
pub fn print_summary(out: &mut impl Write, summary: &RunSummary, folder: &Path) -> std::io::Result<()> {
    let what = if summary.new_run { "payment run" } else { "payment run (already made; its files written again)" };
    writeln!(out, "{what} {} for {}:", summary.run, summary.pay_date)?;
    for s in &summary.schemes {
        writeln!(
            out,
            "  {}: {} transfers, {} EUR; {} cash at a post office, {} EUR",
            s.scheme, s.transfers, s.transfers_total, s.cash, s.cash_total
        )?;
    }
    writeln!(
        out,
        "  in all: {} transfers, {} EUR; {} cash, {} EUR",
        summary.transfers, summary.transfers_total, summary.cash, summary.cash_total
    )?;
    for file in &summary.files {
        writeln!(out, "  wrote {}", folder.join(file).display())?;
    }
    Ok(())
}

/// Reads a pain.002 status report and applies it.
pub async fn reconcile(store: &dyn Store, path: &Path, now: DateTime<Utc>) -> anyhow::Result<(ReconcileCounts, u64)> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let report = tokio::task::spawn_blocking(move || pain002::read(std::io::BufReader::new(file)))
        .await?
        .map_err(|e| crate::error::InputError(format!("{}: {e}", path.display())))?;
    let counts = store.reconcile(&report.outcomes, now).await?;
    Ok((counts, report.pending))
}

/// Benchmark aid: records `count` accepted applications of synthetic people (schemes in turn, one in seven paid in
/// cash) through the store's ordinary submission, with limits large enough for all of them recorded first (and
/// marked as such), so that a payment run has `count` payments to make. Returns how many were stored.
pub async fn synthetic(store: std::sync::Arc<dyn Store>, decrees: &Decrees, count: u64) -> anyhow::Result<u64> {
    use sportello_store::{ApplicationStatus, BudgetSeed, NewApplication, Submission};

    let schemes: Vec<(String, String)> =
        decrees.schemes().map(|s| (s.id().to_owned(), s.cumulation().id().to_owned())).collect();
    let now = Utc::now();
    // Submitted on the first click day, so that a run dated after it pays them all.
    let submitted_at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2020, 4, 1, 8, 0, 0)
        .single()
        .context("the first click day is a valid instant")?;
    synthetic_persons(store.as_ref(), count).await?;
    for scheme in decrees.schemes() {
        let limit = scheme
            .amount()
            .get()
            .checked_mul(i64::try_from(count).unwrap_or(i64::MAX))
            .context("too many applications for the limit to be written")?;
        let seed = BudgetSeed {
            scheme: scheme.id().to_owned(),
            amount: scheme.amount(),
            limit: Cents::new(limit),
            legal_ref: "synthetic benchmark data (sportello payments synthetic)".to_owned(),
        };
        store.ensure_budget(&seed, now).await?;
    }
    // Enough submissions in flight to fill the group commit's batches.
    const WORKERS: u64 = 512;
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..WORKERS {
        let (store, schemes) = (store.clone(), schemes.clone());
        tasks.spawn(async move {
            let mut stored = 0u64;
            for n in (worker..count).step_by(WORKERS as usize) {
                // Six letters from n: 26^6 distinct people, each with a valid check character.
                let codice_fiscale = synthetic_person(n)?;
                let payment = if n % 7 == 6 {
                    serde_json::json!({ "method": "domiciliato" })
                } else {
                    serde_json::json!({ "method": "iban", "iban": "IT60X0542811101000000123456" })
                };
                let (scheme, group) = &schemes[usize::try_from(n).unwrap_or_default() % schemes.len()];
                let outcome = store
                    .submit(NewApplication {
                        codice_fiscale,
                        scheme: scheme.clone(),
                        cumulation_group: group.clone(),
                        protocol_prefix: "INPS-COVID-".to_owned(),
                        idempotency_key: format!("synthetic-{n}"),
                        status: ApplicationStatus::Accepted,
                        reasons: serde_json::json!([]),
                        details: serde_json::json!({ "payment": payment, "contact": {} }),
                        submitted_at,
                        hold: None,
                    })
                    .await?;
                stored += u64::from(matches!(outcome, Submission::Created(_)));
            }
            anyhow::Ok(stored)
        });
    }
    let mut stored = 0;
    while let Some(done) = tasks.join_next().await {
        stored += done??;
    }
    Ok(stored)
}

/// Synthetic person `n` of `payments synthetic`: six letters from `n` (26^6 distinct people), born 01/01/1980 in
/// Rome, with a valid check character.
fn synthetic_person(n: u64) -> anyhow::Result<sportello_domain::CodiceFiscale> {
    let mut letters = [b'A'; 6];
    let mut rest = n;
    for slot in letters.iter_mut().rev() {
        *slot = b'A' + (rest % 26) as u8;
        rest /= 26;
    }
    let letters = String::from_utf8_lossy(&letters).into_owned();
    sportello_domain::CodiceFiscale::with_check_character(&format!("{letters}80A01H501"))
        .map_err(|e| anyhow::anyhow!("synthetic codice fiscale: {e}"))
}

/// Replaces the personal records with those of the `count` synthetic people, so that their transfers name them.
async fn synthetic_persons(store: &dyn Store, count: u64) -> anyhow::Result<()> {
    use sportello_domain::persons::PersonRecord;
    let born = Date::from_ymd_opt(1980, 1, 1).context("a valid date")?;
    let mut import = store.begin_persons_import().await?;
    let mut batch = Vec::with_capacity(4_096);
    for n in 0..count {
        let codice_fiscale = synthetic_person(n)?;
        let letters = &codice_fiscale.as_str()[..6];
        batch.push(PersonRecord {
            codice_fiscale,
            cognome: format!("Sintetico {letters}"),
            nome: "Persona".to_owned(),
            data_nascita: born,
            residence: None,
            email: None,
            cellulare: None,
        });
        if batch.len() == batch.capacity() || n + 1 == count {
            import.write(&batch).await?;
            batch.clear();
        }
    }
    import.commit().await?;
    Ok(())
}
