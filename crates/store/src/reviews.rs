//! Reviews ("riesame"): a supervisor re-decides an application — suspended, or contested by the person — with a
//! written motivation. A decision that agrees with the law's is applied at once; one that overrides it waits for a
//! second supervisor (four eyes). Applying it changes the application's status, moves its amount in or out of the
//! spending limit, writes its audit row and queues the messages telling the person, all in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sportello_domain::{CodiceFiscale, ProtocolNumber};

use crate::{ApplicationStatus, AuditEntry, OutboxMessage, StoreError};

/// The reviews.
#[async_trait]
pub trait Reviews: Send + Sync {
    /// Records a review of `new.protocol`. One that does not override the law is applied now (with `audit` and
    /// `messages`); one that does waits for [`Reviews::confirm_review`]. [`StoreError::ReviewRefused`] when the
    /// application is not in the status the reviewer saw, or a review of it already waits.
    async fn propose_review(
        &self,
        new: NewReview,
        audit: AuditEntry,
        messages: &[OutboxMessage],
    ) -> Result<Review, StoreError>;

    /// A second supervisor, `by`, confirms review `id`, which is then applied (with `audit` and `messages`).
    /// [`StoreError::ReviewRefused`] when it does not wait for confirmation, when `by` proposed it, or when the
    /// application has moved since.
    async fn confirm_review(
        &self,
        id: i64,
        by: &str,
        at: DateTime<Utc>,
        audit: AuditEntry,
        messages: &[OutboxMessage],
    ) -> Result<Review, StoreError>;

    /// One review.
    async fn review(&self, id: i64) -> Result<Option<Review>, StoreError>;

    /// The reviews of one person's applications, oldest first.
    async fn reviews_of(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<Review>, StoreError>;

    /// The reviews waiting for a second supervisor, oldest first.
    async fn pending_reviews(&self) -> Result<Vec<Review>, StoreError>;
}

/// A review to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReview {
    /// The application.
    pub protocol: ProtocolNumber,
    /// Its status as the reviewer saw it; the review is refused if it has changed since.
    pub seen_status: ApplicationStatus,
    /// Whether the person is entitled, in the reviewer's judgement: `true` makes it accepted (or suspended when the
    /// spending limit is reached), `false` rejected.
    pub entitled: bool,
    /// Whether that differs from what the law decides now from the registry (four eyes then).
    pub overrides_law: bool,
    /// The written motivation, told to the person.
    pub motivation: String,
    /// Who proposes it (`officer:<id>:<role>`).
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A stored review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// Its id.
    pub id: i64,
    /// The application.
    pub protocol: ProtocolNumber,
    /// Whose application.
    pub codice_fiscale: CodiceFiscale,
    /// The status before the review.
    pub from_status: ApplicationStatus,
    /// Entitled in the reviewer's judgement.
    pub entitled: bool,
    /// The status it gave, once applied.
    pub to_status: Option<ApplicationStatus>,
    /// Whether it overrides the law's decision.
    pub overrides_law: bool,
    /// The written motivation.
    pub motivation: String,
    /// Who proposed it.
    pub proposed_by: String,
    /// When.
    pub proposed_at: DateTime<Utc>,
    /// The second supervisor, for an override.
    pub confirmed_by: Option<String>,
    /// When it was applied.
    pub applied_at: Option<DateTime<Utc>>,
}

impl Review {
    /// Whether it waits for a second supervisor.
    pub fn pending(&self) -> bool {
        self.applied_at.is_none()
    }
}

/// The columns [`review`] reads.
pub(crate) const REVIEW_COLUMNS: &str = "id, protocol, codice_fiscale, from_status, entitled, to_status, overrides_law, \
     motivation, proposed_by, proposed_at, confirmed_by, applied_at";

/// A review, from the columns of [`REVIEW_COLUMNS`].
pub(crate) fn review(row: &impl crate::rows::StoredRow) -> Result<Review, StoreError> {
    let protocol = row.text("protocol")?;
    Ok(Review {
        id: row.int("id")?,
        protocol: ProtocolNumber::parse(&protocol)
            .map_err(|_| StoreError::Corrupt(format!("'{protocol}' is not a protocol number")))?,
        codice_fiscale: row.codice_fiscale("codice_fiscale")?,
        from_status: ApplicationStatus::from_db(&row.text("from_status")?)?,
        entitled: row.flag("entitled")?,
        to_status: row.opt_text("to_status")?.as_deref().map(ApplicationStatus::from_db).transpose()?,
        overrides_law: row.flag("overrides_law")?,
        motivation: row.text("motivation")?,
        proposed_by: row.text("proposed_by")?,
        proposed_at: row.timestamp("proposed_at")?,
        confirmed_by: row.opt_text("confirmed_by")?,
        applied_at: row.opt_timestamp("applied_at")?,
    })
}
