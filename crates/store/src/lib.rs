//! Sportello's storage behind one [`Store`] trait, with a SQLite implementation (the embedded default) and a
//! PostgreSQL one; [`open`] picks the backend from the database URL.
//!
//! Two things live here: the registry (replaced whole by each import, atomically) and the applications (at most one
//! holding an indemnity per person and cumulation group, enforced by the database itself: art. 31 DL 18/2020 makes
//! the five March indemnities one group, and DL 34/2020 art. 84 adds April and May as groups of their own). Beside
//! them, the portal's own state: INPS PIN credentials with their lockout, login sessions, an outbox of messages to
//! deliver, and the audit log of accesses to personal data.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sportello_domain::registry::{Cessation, Position, PositionKind, RegistryRow};
use sportello_domain::{Cents, CodiceFiscale, Iban};

mod audits;
pub mod credentials;
mod error;
pub mod group;
mod payments;
pub mod persons;
pub mod postgres;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

pub use credentials::{Credentials, FirstHalfTo, NewPin, PinCredential, PinLock, STRANGERS};
pub use error::StoreError;
pub use group::{CommitCount, GroupCommit};
pub use payments::{
    Budget, BudgetChange, BudgetEvent, BudgetSeed, NewPaymentRun, PaymentMethod, PaymentOutcome, PaymentRecord,
    PaymentRow, PaymentRun, PaymentStatus, ReconcileCounts, RunTotal,
};
pub use persons::{Persons, PersonsImport, PersonsSummary};

/// Records each scheme's spending limit from the scheme file, where the database has none yet (a limit raised
/// since by law is kept).
pub async fn load_budgets(
    store: &dyn Store,
    decrees: &sportello_domain::law::Decrees,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    for scheme in decrees.schemes() {
        let seed = BudgetSeed {
            scheme: scheme.id().to_owned(),
            amount: scheme.amount(),
            limit: scheme.spending_limit(),
            legal_ref: scheme.spending_limit_ref().to_owned(),
        };
        store.ensure_budget(&seed, at).await?;
    }
    Ok(())
}

/// The default database when none is configured: a SQLite file under `./sportello-data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://sportello-data/sportello.db";

/// Opens the store named by `url` (`sqlite://…` or `postgres://…`/`postgresql://…`) and brings its schema up to
/// date with the backend's migrations.
pub async fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    let store: Box<dyn Store> = if url.starts_with("sqlite:") {
        Box::new(sqlite::SqliteStore::connect(url).await?)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Box::new(postgres::PgStore::connect(url).await?)
    } else {
        return Err(StoreError::UnsupportedUrl(redact(url)));
    };
    store.migrate().await?;
    Ok(store)
}

/// Opens the existing store named by `url` for a command that only reads (`check`, `budget show`): unlike [`open`]
/// it creates no database ([`StoreError::Missing`]) and applies no migration ([`StoreError::Outdated`] when the
/// schema is behind this program's).
pub async fn open_existing(url: &str) -> Result<Box<dyn Store>, StoreError> {
    let store: Box<dyn Store> = if url.starts_with("sqlite:") {
        Box::new(sqlite::SqliteStore::connect_existing(url).await?)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Box::new(postgres::PgStore::connect(url).await?)
    } else {
        return Err(StoreError::UnsupportedUrl(redact(url)));
    };
    let pending = store.pending_migrations().await?;
    if pending > 0 {
        return Err(StoreError::Outdated { url: redact(url), pending });
    }
    Ok(store)
}

/// How many of `migrator`'s migrations are missing from `applied` (the versions a database records as applied).
fn pending(migrator: &sqlx::migrate::Migrator, applied: &[i64]) -> usize {
    migrator.iter().filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version)).count()
}

/// The URL without its password, fit for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The protocol number of the application with database id `id`: `INPS-COVID-<year of submission>-<id, 9 digits>`.
pub fn protocol_number(submitted_at: DateTime<Utc>, id: i64) -> String {
    use chrono::Datelike;
    format!("INPS-COVID-{}-{id:09}", submitted_at.year())
}

/// A position kind read back from the database.
fn kind_from_db(s: &str) -> Result<PositionKind, StoreError> {
    s.parse().map_err(|()| StoreError::Corrupt(format!("unknown position kind '{s}' in the registry")))
}

/// A cessation read back from the database.
fn cessation_from_db(s: Option<&str>) -> Result<Option<Cessation>, StoreError> {
    match s {
        None => Ok(None),
        Some("involuntary") => Ok(Some(Cessation::Involuntary)),
        Some("voluntary") => Ok(Some(Cessation::Voluntary)),
        Some(other) => Err(StoreError::Corrupt(format!("unknown cessation '{other}' in the registry"))),
    }
}

/// A day count read back from the database.
fn days_from_db(days: Option<i64>) -> Result<Option<u32>, StoreError> {
    days.map(|d| {
        u32::try_from(d).map_err(|_| StoreError::Corrupt(format!("day count {d} out of range in the registry")))
    })
    .transpose()
}

/// A codice fiscale read back from the database.
fn codice_fiscale_from_db(s: &str) -> Result<CodiceFiscale, StoreError> {
    CodiceFiscale::parse(s).map_err(|e| StoreError::Corrupt(format!("invalid codice fiscale '{s}' stored: {e}")))
}

/// `now + duration`, saturating at the end of year 9999 (both backends store such a time, and SQLite's text still
/// sorts): a lock or lease too long to represent lasts "for ever" rather than failing.
fn later(now: DateTime<Utc>, duration: std::time::Duration) -> DateTime<Utc> {
    let end = DateTime::<Utc>::from_naive_utc_and_offset(
        chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
            .and_then(|d| d.and_hms_micro_opt(23, 59, 59, 999_999))
            .unwrap_or(chrono::NaiveDateTime::MAX),
        Utc,
    );
    chrono::TimeDelta::from_std(duration)
        .ok()
        .and_then(|delta| now.checked_add_signed(delta))
        .map_or(end, |at| at.min(end))
}

/// A count (failures, attempts) read back from the database.
fn count_from_db(n: i64, column: &str) -> Result<u32, StoreError> {
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("{column} {n} out of range")))
}

/// Storage for the registry, the applications and the portal's state. Every implementation passes the same
/// conformance suite.
#[async_trait]
pub trait Store: Persons + Credentials + Send + Sync {
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// How many of this program's migrations the database has not applied (all of them when it has none), without
    /// applying any.
    async fn pending_migrations(&self) -> Result<usize, StoreError>;

    /// Starts replacing the whole registry. Rows written through the returned import are invisible to readers
    /// until [`RegistryImport::commit`]; then readers see the new registry whole. Dropping or aborting the import
    /// leaves the previous registry untouched.
    async fn begin_registry_import(&self) -> Result<Box<dyn RegistryImport>, StoreError>;

    /// The positions of one person in the current registry (empty if the person is not in it).
    async fn positions(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<Position>, StoreError>;

    /// Figures about the current registry.
    async fn registry_summary(&self) -> Result<RegistrySummary, StoreError>;

    /// Up to `limit` distinct codici fiscali of the current registry, in ascending order, after `after`.
    async fn registry_persons(
        &self,
        after: Option<&CodiceFiscale>,
        limit: u32,
    ) -> Result<Vec<CodiceFiscale>, StoreError>;

    /// Records an application durably and returns it with its protocol number, or returns the application that
    /// already answers the same idempotency key, or the one of the same cumulation group that stands in the way.
    /// Only a non-rejected application holds an indemnity of its group; rejected ones are kept too.
    /// Timestamps are kept to the microsecond, as PostgreSQL does; the returned application is the stored one.
    async fn submit(&self, application: NewApplication) -> Result<Submission, StoreError>;

    /// Like [`Store::submit`], and records the attempt in the audit log in the same transaction, so that the
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
        protocol: &str,
    ) -> Result<Option<Application>, StoreError>;

    /// Every application of one person, oldest first.
    async fn applications_of(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<Application>, StoreError>;

    /// Whether the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    // ----- spending limits -----

    /// Records the spending limit of a scheme as its scheme file gives it, if the scheme has none yet (a limit
    /// raised since by law is kept). What the scheme's accepted applications already hold counts as reserved.
    async fn ensure_budget(&self, seed: &BudgetSeed, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Sets a scheme's spending limit by a new law (`legal_ref`), records it in the history, and accepts the
    /// suspended applications that now fit, in order of submission. A limit below what is already reserved is
    /// refused ([`StoreError::BudgetBelowReserved`]).
    /// `set_by` names who set it, for the history.
    async fn set_budget_limit(
        &self,
        scheme: &str,
        limit: Cents,
        legal_ref: &str,
        set_by: &str,
        at: DateTime<Utc>,
    ) -> Result<BudgetChange, StoreError>;

    /// Every scheme's spending limit as it stands, by scheme.
    async fn budgets(&self) -> Result<Vec<Budget>, StoreError>;

    /// Every limit set, oldest first.
    async fn budget_history(&self) -> Result<Vec<BudgetEvent>, StoreError>;

    // ----- payments -----

    /// Starts the payment run for `run.pay_date`: in one transaction, records the run and assigns to it every
    /// accepted application not yet paid (nor being paid), without a hold, payable before `run.accepted_before`.
    /// If a run for that date exists, returns it and assigns nothing (`false`): its files can be written again, the
    /// same. Concurrent calls never assign an application twice. Runs are numbered 1, 2, 3… without gaps: a run that
    /// is not recorded takes no number.
    async fn start_payment_run(&self, run: &NewPaymentRun) -> Result<(PaymentRun, bool), StoreError>;

    /// How many transfers the run of `run.pay_date` holds, or would hold if it were started now (as
    /// [`Store::start_payment_run`] would assign them), whose beneficiary has no personal record, hence no name for
    /// the payment order.
    async fn unnamed_transfers(&self, run: &NewPaymentRun) -> Result<u64, StoreError>;

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

    // ----- sessions -----

    /// Stores a new session (its id only as a hash).
    async fn create_session(&self, session: Session) -> Result<(), StoreError>;

    /// Stores many new sessions in one transaction: all of them or none. For operators' bulk work (benchmarks open
    /// sessions for thousands of citizens at once); a login opens one with [`Store::create_session`].
    async fn create_sessions(&self, sessions: &[Session]) -> Result<(), StoreError>;

    /// The session whose id hashes to `id_hash`, if it exists (expiry is the caller's judgement).
    async fn session(&self, id_hash: &str) -> Result<Option<Session>, StoreError>;

    /// Records activity on a session.
    async fn touch_session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Ends a session (logout); ending an unknown one is not an error.
    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;

    /// Removes sessions idle since before `idle_before` or past their absolute expiry at `now`; returns how many.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>, idle_before: DateTime<Utc>) -> Result<u64, StoreError>;

    // ----- outbox -----

    /// Enqueues a message for delivery.
    async fn enqueue(&self, message: OutboxMessage) -> Result<i64, StoreError>;

    /// Claims up to `limit` messages due at `now` (not delivered, `not_before <= now`, not leased by another
    /// worker), leasing them until `now + lease` so that concurrent workers never claim the same message.
    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease: std::time::Duration,
    ) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Marks a message delivered and wipes its body (it may carry half a PIN).
    async fn outbox_delivered(&self, id: i64, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// Records a failed delivery and when to try again.
    async fn outbox_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<(), StoreError>;

    // ----- audit -----

    /// Appends a row to the audit log of accesses to personal data.
    async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError>;

    /// The newest `limit` audit rows about one person, newest first.
    async fn audit_of(&self, codice_fiscale: &CodiceFiscale, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;
}

/// A login session, stored by the hash of its id so that a copy of the database opens no session. It records its
/// principal: who acts ([`Session::actor`]), for whom ([`Session::codice_fiscale`]), how they logged in and by which
/// door.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Hex SHA-256 of the session id.
    pub id_hash: String,
    /// A browser's cookie or an API's bearer token, never interchangeable: a door accepts only its own kind.
    pub kind: SessionKind,
    /// Who acts: `citizen:<codice fiscale>`, later `operator:<id>` and the like.
    pub actor: String,
    /// The subject: whose data the session acts on.
    pub codice_fiscale: CodiceFiscale,
    /// How the actor logged in: `pin_simplified`, `pin_full`, `spid_l2`, `spid_l3`, `cie` or `cns`.
    pub login_method: String,
    /// The door the actor came by: `citizen`, later `intermediary`, `contact_center` or `back_office`.
    pub channel: String,
    /// When the session began.
    pub created_at: DateTime<Utc>,
    /// Last activity.
    pub last_seen_at: DateTime<Utc>,
    /// It ends then, whatever the activity.
    pub expires_at: DateTime<Utc>,
    /// The credential that opened it (`pin:<id>`), if the door has one.
    pub credential: Option<String>,
    /// Whether that credential is confirmed ([`PinCredential::confirmed`]): what an unconfirmed session submits is
    /// held for payment.
    pub confirmed: bool,
}

/// What kind of session it is. The kinds are not interchangeable: a session read back for a cookie must be a
/// cookie's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// A browser's session, its id in a cookie.
    Cookie,
    /// An API client's session, its id a bearer token.
    Bearer,
}

impl SessionKind {
    /// The name stored in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cookie => "cookie",
            Self::Bearer => "bearer",
        }
    }

    /// The kind from its stored name.
    pub fn from_db(s: &str) -> Result<Self, StoreError> {
        match s {
            "cookie" => Ok(Self::Cookie),
            "bearer" => Ok(Self::Bearer),
            other => Err(StoreError::Corrupt(format!("unknown session kind '{other}'"))),
        }
    }
}

/// A message to deliver. Its `Debug` leaves out the body and the recipient: a body may carry half a PIN, and
/// neither belongs in a log.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// `email`, `sms` or `console`.
    pub channel: String,
    /// An e-mail address or a phone number.
    pub recipient: String,
    /// Subject line (e-mail).
    pub subject: String,
    /// The text.
    pub body: String,
    /// Not to be delivered before then (the second half of a PIN travels later).
    pub not_before: DateTime<Utc>,
}

impl std::fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("channel", &self.channel)
            .field("recipient", &"<redacted>")
            .field("subject", &self.subject)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("not_before", &self.not_before)
            .finish()
    }
}

/// A message claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Its id.
    pub id: i64,
    /// The message.
    pub message: OutboxMessage,
    /// Delivery attempts so far.
    pub attempts: u32,
}

/// Who submits an application, for the audit row written with it ([`Store::submit_audited`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedBy {
    /// Who acted: the citizen's codice fiscale, or the intermediary acting for them.
    pub actor: String,
    /// The client address.
    pub from: Option<String>,
    /// How the actor logged in ([`Session::login_method`]); `None` for the system's own actions.
    pub login_method: Option<String>,
    /// The door the actor came by ([`Session::channel`]).
    pub channel: String,
}

/// One access to personal data: who, what, about whom, when, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Who acted: a codice fiscale, an operator id or `system`.
    pub actor: String,
    /// What was done, e.g. `view_decision`, `submit_application`.
    pub action: String,
    /// Whose data it was.
    pub subject: CodiceFiscale,
    /// The object touched, e.g. a protocol number.
    pub object: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// The client address.
    pub from: Option<String>,
    /// How the actor logged in ([`Session::login_method`]); `None` for the system's own actions.
    pub login_method: Option<String>,
    /// The door the actor came by ([`Session::channel`]): `citizen` unless said otherwise.
    pub channel: String,
}

/// A registry replacement in progress.
#[async_trait]
pub trait RegistryImport: Send {
    /// Writes a batch of rows (any size; the implementation chunks as it needs).
    async fn write(&mut self, rows: &[RegistryRow]) -> Result<(), StoreError>;

    /// Makes the new registry the current one, atomically, and returns its summary.
    async fn commit(self: Box<Self>) -> Result<RegistrySummary, StoreError>;

    /// Discards everything written; the current registry stays as it was.
    async fn abort(self: Box<Self>) -> Result<(), StoreError>;
}

/// Figures about the current registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrySummary {
    /// Distinct persons.
    pub persons: u64,
    /// Rows (positions).
    pub positions: u64,
    /// When the current registry was imported; `None` if none has been.
    pub imported_at: Option<DateTime<Utc>>,
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
    /// Chosen by the client per form; together with the codice fiscale it makes resubmission idempotent.
    pub idempotency_key: String,
    /// The decision at submission.
    pub status: ApplicationStatus,
    /// The decision's reasons for this scheme, as JSON (a list of reasons).
    pub reasons: serde_json::Value,
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
    pub protocol: String,
    /// The applicant.
    pub codice_fiscale: CodiceFiscale,
    /// The indemnity applied for.
    pub scheme: String,
    /// The cumulation group of the scheme, from the scheme file: at most one application per person per group holds
    /// an indemnity.
    pub cumulation_group: String,
    /// The idempotency key it was submitted with.
    pub idempotency_key: String,
    /// Where it stands.
    pub status: ApplicationStatus,
    /// The decision's reasons.
    pub reasons: serde_json::Value,
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

/// The outcome of [`Store::submit`].
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outbox_message_never_shows_its_body_or_recipient_in_debug() {
        let message = OutboxMessage {
            channel: "sms".to_owned(),
            recipient: "+393331234567".to_owned(),
            subject: "PIN".to_owned(),
            body: "Il tuo PIN: AB7K9QZ4".to_owned(),
            not_before: Utc::now(),
        };
        let shown = format!("{message:?} {:?}", OutboxEntry { id: 1, message: message.clone(), attempts: 0 });
        assert!(!shown.contains("AB7K9QZ4") && !shown.contains("3331234567"), "{shown}");
        assert!(shown.contains("sms"));
    }
}
