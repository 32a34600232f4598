//! Payment runs that pay every accepted application once, and the bank's status reports on them.
//!
//! A run is made in two steps so that a crash never pays anyone twice nor forgets anyone. First the store assigns
//! every accepted, unpaid application to the run for the payment date, in one transaction: from then on those
//! applications belong to that run and to no other. Then the files are written from the run's rows, streamed page
//! by page, each to a temporary name and renamed once complete and flushed to disk ([`crate::files`]). A crash in
//! the second step leaves the assignment and no finished file; running the same date again writes the same files
//! for the same rows.

pub mod pain001;
pub mod pain002;
mod writers;

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sportello_domain::law::Decrees;
use sportello_domain::{Cents, Date, Iban};
use sportello_store::{NewPaymentRun, PaymentMethod, PaymentRun, ReconcileCounts, RunTotal, Store, StoreError};
use thiserror::Error;

use self::pain001::ControlSums;
use crate::files::FileError;
use crate::progress::Progress;
use crate::{ErrorKind, UseCaseError};

/// A payment run as an operator orders it.
#[derive(Debug, Clone)]
pub struct RunOrder {
    /// The payment date: the transfers' requested execution date.
    pub pay_date: Date,
    /// The run pays only what was payable before then ([`cut_off`] of the payment date).
    pub accepted_before: DateTime<Utc>,
    /// The ordering party (1 to 70 characters).
    pub debtor_name: String,
    /// The account paid from.
    pub debtor_iban: Iban,
    /// Its bank's BIC (checked by [`check_bic`]).
    pub debtor_bic: String,
    /// The folder the files go to (created if missing).
    pub out: PathBuf,
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

/// What a status report changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    /// Payments confirmed, returned, or not matched.
    pub counts: ReconcileCounts,
    /// Transactions the bank has not decided yet: left as they are.
    pub pending: u64,
}

/// Why a run or a reconciliation did not complete.
#[derive(Debug, Error)]
pub enum PaymentError {
    /// The debtor's BIC is not one.
    #[error("'{0}' is not a BIC: 8 or 11 capital letters and digits, e.g. BITAITRRXXX")]
    Bic(String),
    /// The debtor's name does not fit a payment order.
    #[error("the debtor's name must have 1 to 70 characters")]
    DebtorName,
    /// Stopped on purpose (the `stop_after` testing aid).
    #[error("stopped after writing {0} payments, as asked (--stop-after); run the same date again to finish")]
    Stopped(u64),
    /// A file of the run could not be written.
    #[error(transparent)]
    File(#[from] FileError),
    /// The status report cannot be read.
    #[error(transparent)]
    Report(#[from] pain002::ReportError),
    /// The thread writing a file or reading a report stopped without saying why (a defect, not input).
    #[error("the thread writing a payment file or reading a status report stopped: {0}")]
    Worker(String),
}

impl PaymentError {
    /// A bad debtor or report is the operator's to fix; a stop or a file that cannot be written is not.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Bic(_) | Self::DebtorName | Self::Report(_) => ErrorKind::Input,
            Self::Stopped(_) | Self::File(_) | Self::Worker(_) => ErrorKind::Unavailable,
        }
    }
}

/// A BIC as ISO 9362 writes it: 8 or 11 characters, bank code and country letters, location and branch.
pub fn check_bic(bic: &str) -> Result<(), PaymentError> {
    let b = bic.as_bytes();
    let ok = matches!(b.len(), 8 | 11)
        && b[..6].iter().all(u8::is_ascii_uppercase)
        && b[6..].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if ok { Ok(()) } else { Err(PaymentError::Bic(bic.to_owned())) }
}

/// Whether `name` fits a payment order's ordering party: 1 to 70 characters, not only blanks.
pub fn check_debtor_name(name: &str) -> Result<(), PaymentError> {
    if name.trim().is_empty() || name.chars().count() > 70 { Err(PaymentError::DebtorName) } else { Ok(()) }
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

/// Makes (or finishes, or writes again) the payment run of `order.pay_date`: the pain.001 transfer file, the CSV
/// of cash payments for the postal service and the summary, in `order.out`, telling `progress` of each payment.
pub async fn run(
    store: &dyn Store,
    decrees: &Decrees,
    order: &RunOrder,
    progress: Arc<dyn Progress>,
    now: DateTime<Utc>,
) -> Result<RunSummary, UseCaseError> {
    check_bic(&order.debtor_bic)?;
    check_debtor_name(&order.debtor_name)?;
    sportello_store::load_budgets(store, decrees, now).await?;
    let new = NewPaymentRun {
        pay_date: order.pay_date,
        debtor_name: order.debtor_name.clone(),
        debtor_iban: order.debtor_iban.electronic().to_owned(),
        debtor_bic: order.debtor_bic.clone(),
        at: now,
        accepted_before: order.accepted_before,
    };
    // A payment order names its holder: a run with a transfer to nobody named is refused whole, before anything is
    // assigned or written.
    let count = store.unnamed_transfers(&new).await?;
    if count > 0 {
        return Err(StoreError::UnnamedTransfers { pay_date: order.pay_date, count }.into());
    }
    let (run, new_run) = store.start_payment_run(&new).await?;
    if !new_run && (run.debtor_iban != order.debtor_iban.electronic() || run.debtor_bic != order.debtor_bic) {
        tracing::warn!(run = run.id, "the run exists with another debtor account; its files keep the one recorded");
    }
    let totals = store.run_totals(run.id).await?;
    let mut summary = summarise(&run, new_run, &totals);
    std::fs::create_dir_all(&order.out)
        .map_err(|source| PaymentError::from(FileError::Io { action: "create", path: order.out.clone(), source }))?;
    let [xml_name, csv_name, json_name] = names(run.pay_date);
    let remittances: HashMap<String, String> = decrees
        .rulebooks()
        .iter()
        .flat_map(|book| book.schemes().iter().map(move |s| (s, book.decree().name())))
        .map(|(s, decree)| (s.id().to_owned(), format!("Indennita COVID-19 {} {decree}", s.legal_ref())))
        .collect();

    progress.begin(summary.transfers + summary.cash);
    let mut budget = order.stop_after;
    let written = async {
        if summary.transfers > 0 {
            let sums = ControlSums { count: summary.transfers, total: summary.transfers_total };
            let target = order.out.join(&xml_name);
            let written =
                writers::write_transfers(store, &run, sums, &remittances, &target, progress.clone(), budget).await?;
            budget = budget.map(|n| n - written);
            summary.files.push(xml_name);
        }
        if summary.cash > 0 {
            let target = order.out.join(&csv_name);
            writers::write_cash(store, &run, &remittances, &target, progress.clone(), budget).await?;
            summary.files.push(csv_name);
        }
        Ok::<(), UseCaseError>(())
    }
    .await;
    progress.end();
    written?;
    summary.files.push(json_name.clone());
    let json = serde_json::to_vec_pretty(&summary)?;
    crate::files::write_atomically(&order.out.join(&json_name), |out| {
        std::io::Write::write_all(out, &json)?;
        std::io::Write::write_all(out, b"\n")
    })
    .map_err(|e| PaymentError::from(e.into_file_error()))?;
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

/// Applies the bank's status report (pain.002.001.03), read from `report` on a blocking thread: payments accepted
/// are confirmed, rejected ones returned with the bank's reason.
pub async fn reconcile(
    store: &dyn Store,
    report: impl BufRead + Send + 'static,
    now: DateTime<Utc>,
) -> Result<Reconciled, UseCaseError> {
    let report = tokio::task::spawn_blocking(move || pain002::read(report))
        .await
        .map_err(|e| PaymentError::Worker(e.to_string()))?
        .map_err(PaymentError::from)?;
    let counts = store.reconcile(&report.outcomes, now).await?;
    Ok(Reconciled { counts, pending: report.pending })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bic_has_8_or_11_characters_bank_and_country_in_letters() {
        for good in ["BITAITRR", "BITAITRRXXX", "UNCRITM1A01"] {
            assert!(check_bic(good).is_ok(), "{good}");
        }
        for bad in ["", "BITAITR", "BITAITRRXX", "bitaitrrxxx", "B1TAITRRXXX", "BITAITRR-XX"] {
            assert!(matches!(check_bic(bad), Err(PaymentError::Bic(_))), "{bad}");
        }
    }

    #[test]
    fn a_debtor_is_named_in_1_to_70_characters() {
        assert!(check_debtor_name("INPS").is_ok());
        assert!(check_debtor_name(&"à".repeat(70)).is_ok());
        assert!(check_debtor_name(&"a".repeat(71)).is_err());
        assert!(check_debtor_name("  ").is_err());
    }

    #[test]
    fn a_run_pays_what_was_accepted_before_its_day_began_in_rome() {
        let summer = Date::from_ymd_opt(2020, 4, 15).unwrap();
        assert_eq!(cut_off(summer).to_rfc3339(), "2020-04-14T22:00:00+00:00");
        let winter = Date::from_ymd_opt(2020, 1, 15).unwrap();
        assert_eq!(cut_off(winter).to_rfc3339(), "2020-01-14T23:00:00+00:00");
    }

    #[test]
    fn the_bad_debtor_and_report_are_input_and_a_stop_is_not() {
        assert_eq!(UseCaseError::from(PaymentError::DebtorName).exit_status(), 2);
        assert_eq!(UseCaseError::from(PaymentError::Report(pain002::ReportError::NotAReport)).exit_status(), 2);
        assert_eq!(UseCaseError::from(PaymentError::Stopped(3)).exit_status(), 1);
        let unnamed = StoreError::UnnamedTransfers { pay_date: Date::from_ymd_opt(2020, 4, 15).unwrap(), count: 1 };
        assert_eq!(UseCaseError::from(unnamed).exit_status(), 2);
    }
}
