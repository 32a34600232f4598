//! What the store keeps about spending limits and payments: the budgets each accepted application reserves against,
//! the payment runs, and each payment's state as the bank reports it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sportello_domain::{Cents, CodiceFiscale, Date};

use crate::StoreError;

/// A scheme's spending limit as its scheme file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetSeed {
    /// The scheme (`art27` …).
    pub scheme: String,
    /// What one accepted application reserves: the indemnity.
    pub amount: Cents,
    /// The limit.
    pub limit: Cents,
    /// The article and paragraph that set it.
    pub legal_ref: String,
}

/// A scheme's spending limit as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// The scheme.
    pub scheme: String,
    /// What one accepted application reserves.
    pub amount: Cents,
    /// The limit in force.
    pub limit: Cents,
    /// The law that set the limit in force.
    pub legal_ref: String,
    /// What accepted applications reserve.
    pub reserved: Cents,
    /// Applications waiting for a higher limit.
    pub suspended: u64,
}

/// What a change of limit did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetChange {
    /// The budget after the change.
    pub budget: Budget,
    /// Suspended applications accepted by it.
    pub released: u64,
}

/// One limit set on a scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetEvent {
    /// The scheme.
    pub scheme: String,
    /// The limit set.
    pub limit: Cents,
    /// The law that set it.
    pub legal_ref: String,
    /// When it was recorded.
    pub set_at: DateTime<Utc>,
    /// Suspended applications it accepted.
    pub released: u64,
    /// Who set it (an operator); `None` for a limit taken from the scheme file, or recorded before this was kept.
    pub set_by: Option<String>,
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
