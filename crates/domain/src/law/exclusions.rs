//! What a decree excludes and where it points instead: the reddito di cittadinanza exclusion with the prefix of its
//! reason codes, and the fund of art. 44 DL 18/2020 for people enrolled only in another compulsory scheme.

use super::rulebook::values::Cited;
use crate::Cents;

/// Where the decree states its exclusions: the prefix of their reason codes (`art31` for DL 18/2020) and the article
/// that excludes recipients of reddito di cittadinanza.
#[derive(Debug, Clone)]
pub(crate) struct Exclusions {
    pub(crate) code: String,
    pub(crate) reddito_di_cittadinanza_ref: String,
}

/// The fund that people enrolled only in another compulsory scheme are pointed to (art. 44 for DL 18/2020).
#[derive(Debug, Clone)]
pub struct OwnFund {
    pub(crate) name_it: String,
    pub(crate) name_en: String,
    pub(crate) legal_ref: String,
    pub(crate) spending_limit: Cited<Cents>,
}

impl OwnFund {
    /// The fund's name in Italian.
    pub fn name_it(&self) -> &str {
        &self.name_it
    }

    /// The fund's name in English.
    pub fn name_en(&self) -> &str {
        &self.name_en
    }

    /// Where the decree points people to it.
    pub fn legal_ref(&self) -> &str {
        &self.legal_ref
    }

    /// The total the fund may spend.
    pub fn spending_limit(&self) -> Cents {
        self.spending_limit.value
    }

    /// Where the spending limit is set.
    pub fn spending_limit_ref(&self) -> &str {
        &self.spending_limit.legal_ref
    }
}
