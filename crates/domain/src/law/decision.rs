//! What the law decides for one person: for every scheme, eligible or not, and why.

use serde::{Deserialize, Serialize};

use crate::CodiceFiscale;

/// The decision for one person over every scheme of a rulebook, in the rulebook's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Whose decision it is.
    pub codice_fiscale: CodiceFiscale,
    /// One entry per scheme.
    pub schemes: Vec<SchemeDecision>,
}

/// Eligibility for one scheme with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemeDecision {
    /// The scheme's identifier in the scheme file, e.g. `art27`.
    pub scheme: String,
    /// Whether the person is entitled.
    pub eligible: bool,
    /// Why: the conditions met (when eligible) or failed (when not), each citing its article.
    pub reasons: Vec<Reason>,
}

/// One reason of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// A stable code that programs can rely on, e.g. `art27.not_active_on_reference_date`.
    pub code: String,
    /// The article and paragraph it rests on, e.g. `art. 27 c. 1`.
    pub article: String,
    /// The reason in Italian.
    pub it: String,
    /// The reason in English.
    pub en: String,
}
