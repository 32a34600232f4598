//! Applications: stored durably with a protocol number, idempotent per form, and at most one per person and
//! cumulation group holding an indemnity (art. 31 DL 18/2020 makes the five March schemes one group; DL 34/2020
//! art. 84 adds April and May as groups of their own), enforced by the database itself.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sportello_domain::law::Reason;
use sportello_domain::{CodiceFiscale, IdempotencyKey, ProtocolNumber};

use crate::StoreError;

/// The applications.
#[async_trait]
pub trait ApplicationStore: Send + Sync {
    /// already answers the same idempotency key, or the one of the same cumulation group that stands in the way.
    /// Only a non-rejected application holds an indemnity of its group; rejected ones are kept too.
    /// Timestamps are kept to the microsecond, as PostgreSQL does; the returned application is the stored one.
    async fn submit(&self, application: NewApplication) -> Result<Submission, StoreError>;

    /// Like [`ApplicationStore::submit`], and records the attempt in the audit log in the same transaction, so that the
    /// application and its audit row become durable with one commit, or neither does. The row's action is
    /// `submit_application` on the application stored or found again under the same idempotency key, and
    /// `submit_refused_art31` on the one of the same cumulation group that stands in the way (art. 31 DL 18/2020
    /// and its successors' rules against cumulation); its object is that application's
    /// protocol number, its time the submission's.
    async fn submit_audited(&self, application: NewApplication, by: SubmittedBy) -> Result<Submission, StoreError>;

    /// One application, only if it belongs to `codice_fiscale` (anyone else's protocol number gives `None`).
    async fn application(
        &self,
        codice_fiscale: &CodiceFiscale,
        protocol: &ProtocolNumber,
    ) -> Result<Option<Application>, StoreError>;

    /// Every application of one person, oldest first.
    async fn applications_of(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<Application>, StoreError>;

    /// Up to `limit` applications for `scheme` in `status`, in protocol order, after protocol `after`: a page of the
    /// beneficiaries a later indemnity is granted to (`sportello indemnities grant`).
    async fn applications_of_scheme(
        &self,
        scheme: &str,
        status: ApplicationStatus,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Application>, StoreError>;
}

/// The status `application` is stored with, given the room under its scheme's spending limit (what one application
/// reserves, what is still available) when it has one: an accepted application that no longer fits is suspended.
pub(crate) fn status_within(application: &NewApplication, room: Option<(i64, i64)>) -> ApplicationStatus {
    match room {
        Some((amount, available)) if amount > available => ApplicationStatus::SuspendedBudget,
        _ => application.status,
    }
}

/// What a submission whose insert did nothing met: `found`, the application of the same person with the same
/// idempotency key if there is one, else the one holding an indemnity of the same cumulation group. Nothing found is
/// corruption: a constraint refused the row, yet nothing stands in its way.
pub(crate) fn stood_in_the_way(
    application: &NewApplication,
    found: Option<Application>,
) -> Result<Submission, StoreError> {
    let found = found.ok_or_else(|| {
        StoreError::Corrupt(format!(
            "an application of {} conflicts with a constraint but none stands in the way",
            application.codice_fiscale
        ))
    })?;
    if found.idempotency_key == application.idempotency_key {
        Ok(Submission::Duplicate(found))
    } else {
        Ok(Submission::AlreadyHolds(found))
    }
}

/// The protocol number of the application with database id `id`: `<prefix><year of submission>-<id, 9 digits>`,
/// the prefix its decree's scheme file gives (`INPS-COVID-`).
pub fn protocol_number(prefix: &str, submitted_at: DateTime<Utc>, id: i64) -> String {
    use chrono::Datelike;
    format!("{prefix}{}-{id:09}", submitted_at.year())
}

/// What an application asks for, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApplication {
    /// The applicant.
    pub codice_fiscale: CodiceFiscale,
    /// The indemnity applied for (`art27` …).
    pub scheme: String,
    /// The cumulation group of the scheme, from the scheme file (`dl18-2020-marzo` …): at most one application per
    /// person per group holds an indemnity.
    pub cumulation_group: String,
    /// What its protocol number starts with, from its decree's scheme file (`INPS-COVID-`).
    pub protocol_prefix: String,
    /// Chosen by the client per form; together with the codice fiscale it makes resubmission idempotent.
    pub idempotency_key: IdempotencyKey,
    /// The decision at submission.
    pub status: ApplicationStatus,
    /// The decision's reasons for this scheme, each citing its article; stored as JSON.
    pub reasons: Vec<Reason>,
    /// Payment and contact details as JSON; their shape belongs to the portal.
    pub details: serde_json::Value,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// The unconfirmed credential it is made with (`pin:<id>`), whose confirmation releases its payment; `None`
    /// when nothing holds it.
    pub hold: Option<String>,
}

/// A stored application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// The protocol number given in the receipt, unique.
    pub protocol: ProtocolNumber,
    /// The applicant.
    pub codice_fiscale: CodiceFiscale,
    /// The indemnity applied for.
    pub scheme: String,
    /// The cumulation group of the scheme, from the scheme file: at most one application per person per group holds
    /// an indemnity.
    pub cumulation_group: String,
    /// The idempotency key it was submitted with.
    pub idempotency_key: IdempotencyKey,
    /// Where it stands.
    pub status: ApplicationStatus,
    /// The decision's reasons, as the law gave them at submission.
    pub reasons: Vec<Reason>,
    /// Payment and contact details.
    pub details: serde_json::Value,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The unconfirmed credential whose confirmation releases its payment; `None` when it is payable.
    pub hold: Option<String>,
}

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// Eligible at submission, its amount reserved against the scheme's spending limit: the indemnity of its
    /// cumulation group for this person.
    Accepted,
    /// Not eligible at submission; kept with its reasons, and it holds no indemnity of its group.
    Rejected,
    /// Eligible, but its amount would take the scheme past its spending limit: kept, holding the indemnity of its
    /// cumulation group, and accepted in order of submission when a new law raises the limit.
    SuspendedBudget,
    /// Made in the person's name with a PIN whose first half went to a contact not on file, and annulled by the
    /// rightful person: kept for the record, holding nothing.
    Annulled,
}

impl ApplicationStatus {
    /// Whether an application in this status holds the indemnity of its cumulation group, so that no other
    /// application of the same person in the same group may: accepted or suspended.
    pub const fn holds_indemnity(self) -> bool {
        matches!(self, Self::Accepted | Self::SuspendedBudget)
    }

    /// The name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::SuspendedBudget => "suspended_budget",
            Self::Annulled => "annulled",
        }
    }

    /// The status from its stored name.
    pub fn from_db(s: &str) -> Result<Self, StoreError> {
        match s {
            "accepted" => Ok(Self::Accepted),
            "rejected" => Ok(Self::Rejected),
            "suspended_budget" => Ok(Self::SuspendedBudget),
            "annulled" => Ok(Self::Annulled),
            other => Err(StoreError::Corrupt(format!("unknown application status '{other}'"))),
        }
    }
}

/// The outcome of [`ApplicationStore::submit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    /// Stored now.
    Created(Application),
    /// The same codice fiscale and idempotency key were submitted before: that application, unchanged.
    Duplicate(Application),
    /// The person already holds an indemnity of the same cumulation group (a non-rejected application): that one;
    /// nothing was stored.
    AlreadyHolds(Application),
}

/// Who submits an application, for the audit row written with it ([`ApplicationStore::submit_audited`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedBy {
    /// Who acted: the citizen's codice fiscale, or the intermediary acting for them.
    pub actor: String,
    /// The client address.
    pub from: Option<String>,
    /// How the actor logged in ([`Session::login_method`](crate::Session::login_method)); `None` for the system's own actions.
    pub login_method: Option<String>,
    /// The door the actor came by ([`Session::channel`](crate::Session::channel)).
    pub channel: String,
}
