//! Reviews on PostgreSQL: each one a transaction that locks the application's row (`FOR UPDATE`), reads it, moves its
//! moves its amount in or out of the spending limit (its row locked too), updates it and writes the review, its audit row and its messages.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sportello_domain::CodiceFiscale;
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgConnection;

use super::PgStore;
use super::audit::insert_audit_rows;
use super::outbox::enqueue_on;
use crate::reviews::{NewReview, REVIEW_COLUMNS, Review, Reviews, review};
use crate::{ApplicationStatus, AuditEntry, OutboxMessage, StoreError};

/// The application a review is about, as the transaction read it.
struct Target {
    id: i64,
    codice_fiscale: String,
    status: ApplicationStatus,
    scheme: String,
    group: String,
}

async fn target(tx: &mut PgConnection, protocol: &str) -> Result<Target, StoreError> {
    let row: Option<(i64, String, String, String, String)> = sqlx::query_as(
        "SELECT id, codice_fiscale, status, scheme, cumulation_group FROM applications WHERE protocol = $1 FOR UPDATE",
    )
    .bind(protocol)
    .fetch_optional(&mut *tx)
    .await?;
    let (id, codice_fiscale, status, scheme, group) =
        row.ok_or_else(|| StoreError::ReviewRefused(format!("no application has protocol number {protocol}")))?;
    Ok(Target { id, codice_fiscale, status: ApplicationStatus::from_db(&status)?, scheme, group })
}

/// Gives `target` the status `entitled` calls for at `at`, moving its amount in or out of the spending limit.
async fn apply(
    tx: &mut PgConnection,
    target: &Target,
    entitled: bool,
    at: DateTime<Utc>,
) -> Result<ApplicationStatus, StoreError> {
    let to = match (target.status, entitled) {
        (ApplicationStatus::Annulled, _) => {
            return Err(StoreError::ReviewRefused("the application was annulled by the person".into()));
        }
        (ApplicationStatus::Accepted, true) => ApplicationStatus::Accepted,
        (ApplicationStatus::Accepted, false) => {
            sqlx::query("UPDATE budgets SET reserved_cents = reserved_cents - amount_cents WHERE scheme = $1")
                .bind(&target.scheme)
                .execute(&mut *tx)
                .await?;
            ApplicationStatus::Rejected
        }
        (_, false) => ApplicationStatus::Rejected,
        (status, true) => {
            if status == ApplicationStatus::Rejected {
                let holding: Option<String> = sqlx::query_scalar(
                    "SELECT protocol FROM applications WHERE codice_fiscale = $1 AND cumulation_group = $2
                     AND status IN ('accepted', 'suspended_budget') AND id <> $3",
                )
                .bind(&target.codice_fiscale)
                .bind(&target.group)
                .bind(target.id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(holding) = holding {
                    return Err(StoreError::ReviewRefused(format!(
                        "the person holds an indemnity of the same period with application {holding}"
                    )));
                }
            }
            let budget: Option<(i64, i64)> = sqlx::query_as(
                "SELECT amount_cents, limit_cents - reserved_cents FROM budgets WHERE scheme = $1 FOR UPDATE",
            )
            .bind(&target.scheme)
            .fetch_optional(&mut *tx)
            .await?;
            match budget {
                Some((amount, room)) if amount > room => ApplicationStatus::SuspendedBudget,
                Some(_) => {
                    sqlx::query("UPDATE budgets SET reserved_cents = reserved_cents + amount_cents WHERE scheme = $1")
                        .bind(&target.scheme)
                        .execute(&mut *tx)
                        .await?;
                    ApplicationStatus::Accepted
                }
                None => ApplicationStatus::Accepted,
            }
        }
    };
    sqlx::query("UPDATE applications SET status = $2, updated_at = $3 WHERE id = $1")
        .bind(target.id)
        .bind(to.as_str())
        .bind(timestamp(at))
        .execute(&mut *tx)
        .await?;
    Ok(to)
}

#[async_trait]
impl Reviews for PgStore {
    async fn propose_review(
        &self,
        new: NewReview,
        audit: AuditEntry,
        messages: &[OutboxMessage],
    ) -> Result<Review, StoreError> {
        let mut tx = self.pool.begin().await?;
        let protocol = new.protocol.as_str();
        let target = target(&mut tx, protocol).await?;
        if target.status != new.seen_status {
            return Err(StoreError::ReviewRefused(format!(
                "application {protocol} is now {}, not {}: open it again",
                target.status.as_str(),
                new.seen_status.as_str()
            )));
        }
        let waiting: Option<i64> =
            sqlx::query_scalar("SELECT id FROM reviews WHERE protocol = $1 AND applied_at IS NULL")
                .bind(protocol)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(waiting) = waiting {
            return Err(StoreError::ReviewRefused(format!(
                "review {waiting} of application {protocol} waits for a second supervisor"
            )));
        }
        let to = if new.overrides_law { None } else { Some(apply(&mut tx, &target, new.entitled, new.at).await?) };
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO reviews (protocol, codice_fiscale, from_status, entitled, to_status, overrides_law, motivation,
                                  proposed_by, proposed_at, applied_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {REVIEW_COLUMNS}"
        )))
        .bind(protocol)
        .bind(&target.codice_fiscale)
        .bind(target.status.as_str())
        .bind(new.entitled)
        .bind(to.map(ApplicationStatus::as_str))
        .bind(new.overrides_law)
        .bind(&new.motivation)
        .bind(&new.by)
        .bind(timestamp(new.at))
        .bind(to.map(|_| timestamp(new.at)))
        .fetch_one(&mut *tx)
        .await?;
        insert_audit_rows(&mut tx, &[audit]).await?;
        if to.is_some() {
            for message in messages {
                enqueue_on(&mut tx, message).await?;
            }
        }
        let stored = review(&row)?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn confirm_review(
        &self,
        id: i64,
        by: &str,
        at: DateTime<Utc>,
        audit: AuditEntry,
        messages: &[OutboxMessage],
    ) -> Result<Review, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {REVIEW_COLUMNS} FROM reviews WHERE id = $1 FOR UPDATE")))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let pending = row.as_ref().map(review).transpose()?;
        let pending = pending
            .filter(Review::pending)
            .ok_or_else(|| StoreError::ReviewRefused(format!("review {id} does not wait for confirmation")))?;
        if pending.proposed_by == by {
            return Err(StoreError::ReviewRefused("a second supervisor, not the one who proposed it, confirms".into()));
        }
        let target = target(&mut tx, pending.protocol.as_str()).await?;
        if target.status != pending.from_status {
            return Err(StoreError::ReviewRefused(format!(
                "application {} has moved to {} since the review was proposed",
                pending.protocol,
                target.status.as_str()
            )));
        }
        let to = apply(&mut tx, &target, pending.entitled, at).await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE reviews SET to_status = $2, confirmed_by = $3, applied_at = $4 WHERE id = $1
             RETURNING {REVIEW_COLUMNS}"
        )))
        .bind(id)
        .bind(to.as_str())
        .bind(by)
        .bind(timestamp(at))
        .fetch_one(&mut *tx)
        .await?;
        insert_audit_rows(&mut tx, &[audit]).await?;
        for message in messages {
            enqueue_on(&mut tx, message).await?;
        }
        let stored = review(&row)?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn review(&self, id: i64) -> Result<Option<Review>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {REVIEW_COLUMNS} FROM reviews WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(review).transpose()
    }

    async fn reviews_of(&self, codice_fiscale: &CodiceFiscale) -> Result<Vec<Review>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {REVIEW_COLUMNS} FROM reviews WHERE codice_fiscale = $1 ORDER BY id"
        )))
        .bind(codice_fiscale.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(review).collect()
    }

    async fn pending_reviews(&self) -> Result<Vec<Review>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {REVIEW_COLUMNS} FROM reviews WHERE applied_at IS NULL ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(review).collect()
    }
}

/// `at` as stored: to the microsecond.
fn timestamp(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound as _;
    at.trunc_subsecs(6)
}
