//! Payments: the payment runs, each assigning the accepted applications payable at its cut-off, and each payment's
//! state as the bank reports it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sportello_domain::{Cents, CodiceFiscale, Date, Iban};

use crate::StoreError;

/// The payments.
#[async_trait]
pub trait PaymentStore: Send + Sync {
    /// Starts the payment run for `run.pay_date`: in one transaction, records the run and assigns to it every
    /// accepted application not yet paid (nor being paid), without a hold, payable before `run.accepted_before`.
    /// If a run for that date exists, returns it and assigns nothing (`false`): its files can be written again, the
    /// same. Concurrent calls never assign an application twice. Runs are numbered 1, 2, 3… without gaps: a run that
    /// is not recorded takes no number.
    async fn start_payment_run(&self, run: &NewPaymentRun) -> Result<(PaymentRun, bool), StoreError>;

    /// How many transfers the run of `run.pay_date` holds, or would hold if it were started now (as
    /// [`PaymentStore::start_payment_run`] would assign them), whose beneficiary has no personal record, hence no name for
    /// the payment order.
    async fn unnamed_transfers(&self, run: &NewPaymentRun) -> Result<u64, StoreError>;

    /// The last `limit` payment runs, newest first, each with how many payments it holds, their sum, and how many
    /// the bank confirmed or sent back (returned, or returned and paid again elsewhere): the dashboard's payment runs.
    async fn payment_runs(&self, limit: u32) -> Result<Vec<RunSummary>, StoreError>;

    /// Counts and totals of a run's payments by scheme and method, by scheme then method.
    async fn run_totals(&self, run_id: i64) -> Result<Vec<RunTotal>, StoreError>;

    /// Up to `limit` payments of a run made by `method`, in id order, after id `after`: a page of a stream. Each
    /// carries its holder's name as the personal records give it now.
    async fn run_payments(
        &self,
        run_id: i64,
        method: PaymentMethod,
        after: i64,
        limit: u32,
    ) -> Result<Vec<PaymentRow>, StoreError>;

    /// Records that a run's files are written.
    async fn complete_payment_run(&self, run_id: i64, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Applies a bank's status report: each payment named by its protocol number is confirmed or returned (with
    /// the reason code). A payment already in that state, or unknown, is counted and left alone.
    async fn reconcile(&self, outcomes: &[PaymentOutcome], at: DateTime<Utc>) -> Result<ReconcileCounts, StoreError>;

    /// Gives a new account for a returned payment of one's own application: the application's payment details
    /// become a transfer to `iban`, and the returned payment is superseded, so the next run pays it again.
    /// `false` when `codice_fiscale` has no application `protocol` with a returned payment.
    async fn replace_returned_iban(
        &self,
        codice_fiscale: &CodiceFiscale,
        protocol: &str,
        iban: &Iban,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// The payments of one person's applications, oldest first (superseded ones included).
    async fn payments_of(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<PaymentRecord>, StoreError>;
}

/// A payment run to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPaymentRun {
    /// The payment date (the requested execution date of the transfers).
    pub pay_date: Date,
    /// The ordering party's name.
    pub debtor_name: String,
    /// The account paid from, electronic form.
    pub debtor_iban: String,
    /// Its bank's BIC.
    pub debtor_bic: String,
    /// When the run starts.
    pub at: DateTime<Utc>,
    /// The cut-off: the run pays only applications payable as they stand (accepted, released from any hold or
    /// suspension, with the account now on file) before then, i.e. whose last change came earlier. A run dated
    /// 15 April pays nothing accepted on or after that day.
    pub accepted_before: DateTime<Utc>,
}

/// A recorded payment run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRun {
    /// Its id.
    pub id: i64,
    /// The payment date.
    pub pay_date: Date,
    /// The ordering party's name.
    pub debtor_name: String,
    /// The account paid from.
    pub debtor_iban: String,
    /// Its bank's BIC.
    pub debtor_bic: String,
    /// When it was started: the files' creation time, so that writing them again gives the same bytes.
    pub created_at: DateTime<Utc>,
    /// When its files were written, if they were.
    pub completed_at: Option<DateTime<Utc>>,
}

/// How a payment reaches the citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// A SEPA credit transfer to the citizen's account.
    Iban,
    /// Cash at a post office (bonifico domiciliato).
    Domiciliato,
}

impl PaymentMethod {
    /// The name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Iban => "iban",
            Self::Domiciliato => "domiciliato",
        }
    }

    /// The method from its stored name.
    pub fn from_db(s: &str) -> Result<Self, StoreError> {
        match s {
            "iban" => Ok(Self::Iban),
            "domiciliato" => Ok(Self::Domiciliato),
            other => Err(StoreError::Corrupt(format!("unknown payment method '{other}'"))),
        }
    }
}

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// In a run's file, not yet reported on by the bank.
    Scheduled,
    /// The bank accepted or settled it.
    Confirmed,
    /// The bank sent it back (e.g. the account is closed): the citizen must give a new account.
    Returned,
    /// Returned, and the citizen gave a new account: the next run pays the application again.
    Superseded,
}

impl PaymentStatus {
    /// The name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Confirmed => "confirmed",
            Self::Returned => "returned",
            Self::Superseded => "superseded",
        }
    }

    /// The status from its stored name.
    pub fn from_db(s: &str) -> Result<Self, StoreError> {
        match s {
            "scheduled" => Ok(Self::Scheduled),
            "confirmed" => Ok(Self::Confirmed),
            "returned" => Ok(Self::Returned),
            "superseded" => Ok(Self::Superseded),
            other => Err(StoreError::Corrupt(format!("unknown payment status '{other}'"))),
        }
    }
}

/// Count and total of a run's payments of one scheme by one method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunTotal {
    /// The scheme.
    pub scheme: String,
    /// The method.
    pub method: PaymentMethod,
    /// How many payments.
    pub count: u64,
    /// Their sum.
    pub total: Cents,
}

/// A payment run with its counts, for the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// The run.
    pub run: PaymentRun,
    /// Its payments.
    pub payments: u64,
    /// Their sum.
    pub total: Cents,
    /// Those the bank confirmed.
    pub confirmed: u64,
    /// Those the bank sent back.
    pub returned: u64,
}

/// One payment of a run, as its file needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    /// Its id (runs are streamed in id order).
    pub id: i64,
    /// The application's protocol number: the transfer's end-to-end id.
    pub protocol: String,
    /// The beneficiary.
    pub codice_fiscale: CodiceFiscale,
    /// The indemnity.
    pub scheme: String,
    /// The account, electronic form, for a transfer.
    pub iban: Option<String>,
    /// The amount.
    pub amount: Cents,
    /// The holder's name, "Nome Cognome", from the personal records (the persons import); `None` when they hold no
    /// record of the beneficiary.
    pub holder: Option<String>,
}

/// A bank's word on one payment, from a status report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentOutcome {
    /// The end-to-end id: the application's protocol number.
    pub protocol: String,
    /// Confirmed, or returned with the reason code (`Some("AC04")`).
    pub returned: Option<String>,
}

/// What a status report changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileCounts {
    /// Payments now confirmed.
    pub confirmed: u64,
    /// Payments now returned.
    pub returned: u64,
    /// Reports about no payment in a state to take them (unknown, superseded, or already so).
    pub ignored: u64,
}

impl ReconcileCounts {
    /// Counts one report, given how many payments it `changed` and whether it said `returned`.
    pub(crate) fn record(&mut self, changed: u64, returned: bool) {
        match (changed, returned) {
            (0, _) => self.ignored += 1,
            (_, false) => self.confirmed += 1,
            (_, true) => self.returned += 1,
        }
    }
}

/// A payment as its citizen sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    /// The application's protocol number.
    pub protocol: String,
    /// The payment date of its run.
    pub pay_date: Date,
    /// How it is paid.
    pub method: PaymentMethod,
    /// The last four characters of the account, for a transfer.
    pub iban_last4: Option<String>,
    /// The amount.
    pub amount: Cents,
    /// Where it stands.
    pub status: PaymentStatus,
    /// The bank's reason code when returned.
    pub reason: Option<String>,
}

/// The last four characters of a stored account.
pub(crate) fn last4(iban: &str) -> String {
    iban.get(iban.len().saturating_sub(4)..).unwrap_or_default().to_owned()
}

/// A stored non-negative count.
pub(crate) fn count(n: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative {what} {n}")))
}
