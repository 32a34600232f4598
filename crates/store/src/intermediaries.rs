//! Who may act for citizens: the institute's roster of intermediaries' operators (replaced whole by each import,
//! atomically) and the mandates their offices record, each with its signed form and the notices that tell the
//! citizen, written in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sportello_domain::intermediaries::{IntermediaryKind, OfficeCode, Role, RosterRow};
use sportello_domain::mandate::Mandate;
use sportello_domain::{CodiceFiscale, Date};

use crate::rows::StoredRow;
use crate::{OutboxMessage, StoreError};

/// The roster's columns, in the order the readers expect.
pub(crate) const ROSTER_COLUMNS: &str =
    "operator, office, office_name, organisation, organisation_name, kind, role, valid_from, valid_to";

/// The mandates' columns a [`Mandate`] is read from (the form itself stays in the database).
pub(crate) const MANDATE_COLUMNS: &str =
    "id, subject, office, operator, object, signed_on, expires_on, form_sha256, recorded_at, revoked_at, revoked_by";

/// Storage of the roster and the mandates.
#[async_trait]
pub trait Intermediaries: Send + Sync {
    /// Replaces the whole roster with `rows`, atomically (readers see the old one until it commits), and returns
    /// the new roster's figures. Rows must be valid and each (operator, office) once: the import checks that, with
    /// lines, before it gets here.
    async fn replace_roster(&self, rows: &[RosterRow], now: DateTime<Utc>) -> Result<RosterSummary, StoreError>;

    /// Every row of `operator` in the roster, whatever their period, by office.
    async fn roster_of(&self, operator: &CodiceFiscale) -> Result<Vec<RosterRow>, StoreError>;

    /// Figures about the current roster.
    async fn roster_summary(&self) -> Result<RosterSummary, StoreError>;

    /// Records a mandate and queues `notices` to the citizen, in one transaction. A form whose SHA-256 another
    /// mandate already holds is refused with [`MandateRecorded::SameForm`], writing nothing.
    async fn record_mandate(
        &self,
        mandate: &NewMandate,
        notices: &[OutboxMessage],
    ) -> Result<MandateRecorded, StoreError>;

    /// Every mandate `subject` gave, newest first.
    async fn mandates_of(&self, subject: &CodiceFiscale) -> Result<Vec<Mandate>, StoreError>;

    /// Every mandate `office` holds, newest first.
    async fn mandates_held_by(&self, office: &OfficeCode) -> Result<Vec<Mandate>, StoreError>;

    /// Revokes mandate `id` of `subject` (another person's is not found: `false`), recording who and when; a
    /// mandate revoked already stays as it was (`true`).
    async fn revoke_mandate(
        &self,
        id: i64,
        subject: &CodiceFiscale,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Stores the one-time code for `code.caller` on `code.call` (replacing one that call had for them) and queues
    /// `message`, which carries it to the contact on file, in one transaction; codes past their expiry are purged.
    async fn put_call_code(&self, code: &NewCallCode, message: &OutboxMessage) -> Result<(), StoreError>;

    /// Checks `code_hash` against the live code for `caller` on `call`, in one transaction: a match uses the code up;
    /// a mismatch counts an attempt; a code expired, used up or tried `max_attempts` times matches nothing.
    async fn use_call_code(
        &self,
        call: &str,
        caller: &CodiceFiscale,
        code_hash: &str,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<CallCodeCheck, StoreError>;
}

/// A one-time code sent to a caller's contact on file, to identify them on a Contact Center call: only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCallCode {
    /// The call's id.
    pub call: String,
    /// Whom it identifies.
    pub caller: CodiceFiscale,
    /// The operator on the call.
    pub operator: CodiceFiscale,
    /// Hex SHA-256 of the call, the caller and the code.
    pub code_hash: String,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// What checking a one-time code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallCodeCheck {
    /// The code matched: it is used up.
    Matched,
    /// A live code, not this one: the attempt is counted.
    Wrong,
    /// No live code for this call and caller (none sent, expired, used, or tried too often).
    NoCode,
}

/// Figures about the current roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterSummary {
    /// Rows: operators in offices.
    pub operators: u64,
    /// Offices.
    pub offices: u64,
    /// When it was imported; `None` if never.
    pub imported_at: Option<DateTime<Utc>>,
}

/// A mandate to record.
#[derive(Clone, PartialEq, Eq)]
pub struct NewMandate {
    /// The citizen.
    pub subject: CodiceFiscale,
    /// The office entrusted.
    pub office: OfficeCode,
    /// The operator recording it.
    pub operator: CodiceFiscale,
    /// What it is for.
    pub object: String,
    /// The day it was signed.
    pub signed_on: Date,
    /// Its last day, included.
    pub expires_on: Date,
    /// The signed form (a PDF, checked by the use case).
    pub form: Vec<u8>,
    /// The form's hex SHA-256.
    pub form_sha256: String,
    /// When it is recorded.
    pub recorded_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewMandate {
    // The form is a scan of personal data: a debug print names the mandate, not its content.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewMandate")
            .field("subject", &self.subject)
            .field("office", &self.office)
            .field("form", &format_args!("<{} bytes>", self.form.len()))
            .finish_non_exhaustive()
    }
}

/// What recording a mandate did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MandateRecorded {
    /// Recorded, with its notices queued.
    Recorded(Mandate),
    /// The same form (by its SHA-256) stands for mandate `0` already; nothing was written.
    SameForm(i64),
}

/// One roster row read back.
pub(crate) fn roster_row(row: &impl StoredRow) -> Result<RosterRow, StoreError> {
    let code = |column: &str| -> Result<OfficeCode, StoreError> {
        let text = row.text(column)?;
        OfficeCode::parse(&text).map_err(|e| StoreError::Corrupt(format!("roster {column}: {e}")))
    };
    let kind = row.text("kind")?;
    let role = row.text("role")?;
    Ok(RosterRow {
        operator: row.codice_fiscale("operator")?,
        office: code("office")?,
        office_name: row.text("office_name")?,
        organisation: code("organisation")?,
        organisation_name: row.text("organisation_name")?,
        kind: IntermediaryKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown intermediary kind '{kind}'")))?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("unknown roster role '{role}'")))?,
        valid_from: row
            .opt_date("valid_from")?
            .ok_or_else(|| StoreError::Corrupt("roster row without valid_from".into()))?,
        valid_to: row.opt_date("valid_to")?,
    })
}

/// One mandate read back.
pub(crate) fn mandate(row: &impl StoredRow) -> Result<Mandate, StoreError> {
    let office = row.text("office")?;
    let date =
        |column: &str| row.opt_date(column)?.ok_or_else(|| StoreError::Corrupt(format!("mandate without {column}")));
    let revoked = match (row.opt_timestamp("revoked_at")?, row.opt_text("revoked_by")?) {
        (Some(at), Some(by)) => Some((at, by)),
        (None, None) => None,
        _ => return Err(StoreError::Corrupt("a mandate revoked at no time or by nobody".into())),
    };
    Ok(Mandate {
        id: row.int("id")?,
        subject: row.codice_fiscale("subject")?,
        office: OfficeCode::parse(&office).map_err(|e| StoreError::Corrupt(format!("mandate office: {e}")))?,
        operator: row.codice_fiscale("operator")?,
        object: row.text("object")?,
        signed_on: date("signed_on")?,
        expires_on: date("expires_on")?,
        form_sha256: row.text("form_sha256")?,
        recorded_at: row.timestamp("recorded_at")?,
        revoked,
    })
}

/// How many distinct offices `rows` name.
pub(crate) fn office_count(rows: &[RosterRow]) -> u64 {
    rows.iter().map(|r| r.office).collect::<std::collections::HashSet<_>>().len() as u64
}
