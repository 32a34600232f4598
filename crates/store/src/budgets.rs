//! Spending limits: what each scheme may spend, by law, and what its accepted applications reserve against it. An
//! application past the limit is kept suspended until a new law raises it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sportello_domain::Cents;

use crate::StoreError;

/// The spending limits.
#[async_trait]
pub trait BudgetStore: Send + Sync {
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
}

/// What a scheme's `accepted` applications reserve when its limit is first recorded from `seed`; a limit below it
/// cannot be recorded (the table's CHECK would refuse it anyway, with a message nobody could act on).
pub(crate) fn reserved_at_start(seed: &BudgetSeed, accepted: i64) -> Result<i64, StoreError> {
    let reserved = accepted
        .checked_mul(seed.amount.get())
        .ok_or_else(|| StoreError::Corrupt(format!("{accepted} accepted applications of {} overflow", seed.scheme)))?;
    if reserved > seed.limit.get() {
        return Err(StoreError::BudgetBelowReserved {
            scheme: seed.scheme.clone(),
            limit: seed.limit,
            reserved: Cents::new(reserved),
        });
    }
    Ok(reserved)
}

/// How many suspended applications of `amount` each a new `limit` lets in, given what is `reserved` already; a
/// limit below that is refused.
pub(crate) fn fit_under(scheme: &str, limit: Cents, amount: i64, reserved: i64) -> Result<i64, StoreError> {
    if limit.get() < reserved {
        return Err(StoreError::BudgetBelowReserved {
            scheme: scheme.to_owned(),
            limit,
            reserved: Cents::new(reserved),
        });
    }
    Ok((limit.get() - reserved) / amount)
}

/// Records each scheme's spending limit from the scheme file, where the database has none yet (a limit raised
/// since by law is kept).
pub async fn load_budgets(
    store: &(impl BudgetStore + ?Sized),
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
