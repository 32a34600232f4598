//! The data protection officer's answers: subject access (GDPR art. 15: for one person, everything held about them
//! and every access to it — who, when, why, from which address) and breach assessment (art. 33: for a time window,
//! whose data was served to which actors and addresses), as data the doors render as JSON, a page or CSV.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sportello_domain::CodiceFiscale;
use sportello_domain::persons::PersonRecord;
use sportello_domain::principal::Duty;
use sportello_domain::registry::Position;
use sportello_store::{Application, AuditEntry, PaymentRecord, Store};

use super::{OnDuty, Reason};
use crate::error::UseCaseError;

/// Everything held about one person and every access to it.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectAccess {
    /// Whose data.
    pub subject: CodiceFiscale,
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// Who made it (`officer:<id>:<role>`).
    pub generated_by: String,
    /// Their personal record (name, birth date, residence, contacts), if the persons import has one.
    pub person: Option<PersonRecord>,
    /// Their positions in the institute's registry.
    pub positions: Vec<Position>,
    /// Their applications with the reasons each was decided by.
    pub applications: Vec<Application>,
    /// Their payments.
    pub payments: Vec<PaymentRecord>,
    /// Their INPS PINs, without the PINs (only salted hashes are held, and those are not shown).
    pub credentials: Vec<CredentialHeld>,
    /// Every access to their data, oldest first; this report's own access is the last.
    pub accesses: Vec<Access>,
}

/// A PIN credential as the person is told about it.
#[derive(Debug, Clone, Serialize)]
pub struct CredentialHeld {
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// Where its first half went: `on_file`, `given` or `office`.
    pub first_half_to: &'static str,
    /// When it was confirmed, if it was.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// When it last opened a session.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// One access to personal data, from the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    /// When.
    pub at: DateTime<Utc>,
    /// Who: `citizen:<cf>`, `officer:<id>:<role>`, `system`…
    pub actor: String,
    /// What was done, e.g. `view_decision`, `office_view_case`.
    pub action: String,
    /// Whose data it was.
    pub subject: CodiceFiscale,
    /// The object touched, e.g. a protocol number.
    pub object: Option<String>,
    /// The client address.
    pub from: Option<String>,
    /// How the actor logged in.
    pub login_method: Option<String>,
    /// By which door.
    pub channel: String,
    /// Why, as the officer stated it.
    pub reason: Option<String>,
}

impl From<AuditEntry> for Access {
    fn from(entry: AuditEntry) -> Self {
        Self {
            at: entry.at,
            actor: entry.actor,
            action: entry.action,
            subject: entry.subject,
            object: entry.object,
            from: entry.from,
            login_method: entry.login_method,
            channel: entry.channel,
            reason: entry.reason,
        }
    }
}

/// The subject-access report for `subject`, made by `officer` for `reason` at `now`. The making is audited
/// (`office_subject_access`) before anything is read, so the report lists its own access last.
pub async fn subject_access(
    store: &dyn Store,
    officer: &OnDuty,
    subject: CodiceFiscale,
    reason: &Reason,
    now: DateTime<Utc>,
) -> Result<SubjectAccess, UseCaseError> {
    officer.require(Duty::SubjectAccess)?;
    officer.audit(store, subject, "office_subject_access", None, reason, now).await?;
    let credentials = store
        .pins_of(&subject)
        .await?
        .into_iter()
        .map(|pin| CredentialHeld {
            issued_at: pin.issued_at,
            first_half_to: pin.first_half_to.as_str(),
            confirmed_at: pin.confirmed_at,
            last_used_at: pin.last_used_at,
        })
        .collect();
    Ok(SubjectAccess {
        subject,
        generated_at: now,
        generated_by: officer.on(subject).principal.actor.stored(),
        person: store.person(&subject).await?,
        positions: store.positions(&subject).await?,
        applications: store.applications_of(&subject).await?,
        payments: store.payments_of(&subject).await?,
        credentials,
        accesses: store.audit_trail_of(&subject).await?.into_iter().map(Access::from).collect(),
    })
}

/// The breach assessment for a time window: every access in it, and its counts.
#[derive(Debug, Clone, Serialize)]
pub struct Breach {
    /// The window's start (included).
    pub from: DateTime<Utc>,
    /// Its end (excluded).
    pub to: DateTime<Utc>,
    /// Counts over the window.
    pub summary: BreachSummary,
    /// Every access in the window, oldest first.
    pub accesses: Vec<Access>,
}

/// How many accesses, persons, actors and addresses a window holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreachSummary {
    /// Accesses to personal data.
    pub accesses: usize,
    /// Distinct persons whose data was served.
    pub subjects: usize,
    /// Distinct actors who were served it.
    pub actors: usize,
    /// Distinct client addresses it was served to.
    pub addresses: usize,
    /// Accesses where the actor was not the person (an officer, an intermediary, the system).
    pub by_others: usize,
    /// Accesses per action.
    pub by_action: BTreeMap<String, usize>,
    /// Accesses per door.
    pub by_channel: BTreeMap<String, usize>,
}

/// Longest window one assessment covers: 31 days.
pub const MAX_WINDOW_DAYS: i64 = 31;

/// The breach assessment from `from` to `to`, made by `officer` (the data protection officer or an auditor). A window
/// that ends before it starts, or is longer than [`MAX_WINDOW_DAYS`], is refused.
pub async fn breach(
    store: &dyn Store,
    officer: &OnDuty,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Breach, UseCaseError> {
    officer.require(Duty::Breach)?;
    if to <= from || to - from > chrono::TimeDelta::days(MAX_WINDOW_DAYS) {
        return Err(UseCaseError::OfficeInput(format!(
            "the window from {from} to {to} must end after it starts and last at most {MAX_WINDOW_DAYS} days"
        )));
    }
    let accesses: Vec<Access> = store.audit_between(from, to).await?.into_iter().map(Access::from).collect();
    Ok(Breach { from, to, summary: summarise(&accesses), accesses })
}

/// The counts of `accesses`.
pub fn summarise(accesses: &[Access]) -> BreachSummary {
    let subjects: BTreeSet<&str> = accesses.iter().map(|a| a.subject.as_str()).collect();
    let actors: BTreeSet<&str> = accesses.iter().map(|a| a.actor.as_str()).collect();
    let addresses: BTreeSet<&str> = accesses.iter().filter_map(|a| a.from.as_deref()).collect();
    let mut by_action = BTreeMap::new();
    let mut by_channel = BTreeMap::new();
    for access in accesses {
        *by_action.entry(access.action.clone()).or_insert(0) += 1;
        *by_channel.entry(access.channel.clone()).or_insert(0) += 1;
    }
    let by_others = accesses.iter().filter(|a| a.actor != format!("citizen:{}", a.subject)).count();
    BreachSummary {
        accesses: accesses.len(),
        subjects: subjects.len(),
        actors: actors.len(),
        addresses: addresses.len(),
        by_others,
        by_action,
        by_channel,
    }
}

/// The window's accesses as CSV, one row each, with a header: `at,subject,actor,action,object,from,login_method,
/// channel,reason`.
pub fn to_csv(breach: &Breach) -> Result<String, UseCaseError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let failed = |e: csv::Error| UseCaseError::Service(format!("cannot write the CSV: {e}"));
    out.write_record(["at", "subject", "actor", "action", "object", "from", "login_method", "channel", "reason"])
        .map_err(failed)?;
    for a in &breach.accesses {
        let at = a.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        out.write_record([
            at.as_str(),
            a.subject.as_str(),
            a.actor.as_str(),
            a.action.as_str(),
            a.object.as_deref().unwrap_or_default(),
            a.from.as_deref().unwrap_or_default(),
            a.login_method.as_deref().unwrap_or_default(),
            a.channel.as_str(),
            a.reason.as_deref().unwrap_or_default(),
        ])
        .map_err(failed)?;
    }
    let bytes = out.into_inner().map_err(|e| UseCaseError::Service(format!("cannot write the CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| UseCaseError::Service(e.to_string()))
}
