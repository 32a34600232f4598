//! The schemes' spending limits: what each may spend by law, what its accepted applications reserve, what waits
//! for a higher limit, and every limit set with who set it. Raising a limit accepts the suspended applications
//! that now fit, oldest first.

use chrono::{DateTime, Utc};
use sportello_domain::Cents;
use sportello_domain::law::Decrees;
use sportello_store::{Budget, BudgetChange, BudgetEvent, Store};
use thiserror::Error;

use crate::{ErrorKind, Operator, UseCaseError};

/// A limit as an operator sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLimit {
    /// The scheme, e.g. `art27`.
    pub scheme: String,
    /// The new limit.
    pub limit: Cents,
    /// The law that sets it, e.g. "DL 34/2020 art. 84".
    pub legal_ref: String,
}

/// Why a limit was not set.
#[derive(Debug, Error)]
pub enum BudgetError {
    /// No decree in force has the scheme.
    #[error("there is no scheme '{scheme}': the schemes are {}", .schemes.join(", "))]
    UnknownScheme {
        /// The scheme asked for.
        scheme: String,
        /// The schemes there are.
        schemes: Vec<String>,
    },
    /// A limit must name the law that sets it.
    #[error("a spending limit must name the law that sets it")]
    NoLegalRef,
}

impl BudgetError {
    /// Both are the operator's to fix.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Input
    }
}

/// A scheme whose limit the database has not recorded yet, as its scheme file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLimit {
    /// The scheme.
    pub scheme: String,
    /// Its limit.
    pub limit: Cents,
    /// The law that sets it.
    pub legal_ref: String,
    /// What one accepted application reserves.
    pub amount: Cents,
}

/// Every spending limit and its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    /// The limits recorded in the database, by scheme.
    pub recorded: Vec<Budget>,
    /// The schemes in force whose limit is not recorded yet, from their scheme file.
    pub from_file: Vec<FileLimit>,
    /// Every limit set, oldest first.
    pub history: Vec<BudgetEvent>,
}

/// Every limit as it stands, only reading: a scheme not recorded yet is shown from its scheme file.
pub async fn overview(store: &dyn Store, decrees: &Decrees) -> Result<Overview, UseCaseError> {
    let recorded = store.budgets().await?;
    let from_file = decrees
        .schemes()
        .filter(|s| !recorded.iter().any(|b| b.scheme == s.id()))
        .map(|s| FileLimit {
            scheme: s.id().to_owned(),
            limit: s.spending_limit(),
            legal_ref: s.spending_limit_ref().to_owned(),
            amount: s.amount(),
        })
        .collect();
    let history = store.budget_history().await?;
    Ok(Overview { recorded, from_file, history })
}

/// Sets `new.scheme`'s limit by the law it names, on behalf of `by` (recorded in the history), first recording
/// every limit of the scheme files the database lacks. A limit below what is reserved is refused by the store.
pub async fn set_limit(
    store: &dyn Store,
    decrees: &Decrees,
    by: &Operator,
    new: &NewLimit,
    now: DateTime<Utc>,
) -> Result<BudgetChange, UseCaseError> {
    let legal_ref = new.legal_ref.trim();
    if legal_ref.is_empty() {
        return Err(BudgetError::NoLegalRef.into());
    }
    if decrees.scheme(&new.scheme).is_none() {
        let schemes = decrees.schemes().map(|s| s.id().to_owned()).collect();
        return Err(BudgetError::UnknownScheme { scheme: new.scheme.clone(), schemes }.into());
    }
    sportello_store::load_budgets(store, decrees, now).await?;
    Ok(store.set_budget_limit(&new.scheme, new.limit, legal_ref, by.as_str(), now).await?)
}
