//! The self-declarations an application carries (DPR 445/2000 arts. 46–47): the conditions of the article that the
//! applicant states in person because the registry cannot prove them, each scheme with its own list.
//!
//! The kinds are fixed here, since forms and the API name them; which scheme asks for which, under which article and
//! in which words, is data of the scheme file (`[[scheme.declarations]]`). The conditions are the decree's:
//!
//! - "non titolari di pensione": arts. 27 c. 1, 28 c. 1, 29 c. 1, 30 c. 1 and 38 c. 1;
//! - "non iscritti ad altre forme previdenziali obbligatorie": arts. 27 c. 1 and 28 c. 1 (art. 28 "ad esclusione della
//!   Gestione separata");
//! - "non titolari di rapporto di lavoro dipendente alla data di entrata in vigore della presente disposizione"
//!   (17 March 2020): art. 29 c. 1 and art. 38 c. 2;
//! - not a recipient of reddito di cittadinanza: art. 31 c. 1, for every scheme.
//!
//! Income from occasional work within 5,000 euros is not among them: it is a rule of compatibility with the
//! indemnity, not a condition to have it.

use serde::{Deserialize, Serialize};

/// What a declaration states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeclarationKind {
    /// Not a holder of a pension.
    NotPensionHolder,
    /// Not enrolled in another compulsory pension scheme.
    NoOtherCompulsoryScheme,
    /// Not employed (lavoro dipendente) on the day the decree took force.
    NotEmployed,
    /// Not a recipient of reddito di cittadinanza.
    NotRedditoDiCittadinanza,
}

impl DeclarationKind {
    /// Every kind, in the order forms show them.
    pub const ALL: [Self; 4] =
        [Self::NotPensionHolder, Self::NoOtherCompulsoryScheme, Self::NotEmployed, Self::NotRedditoDiCittadinanza];

    /// The name forms, the API and the scheme file use, e.g. `not_pension_holder`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NotPensionHolder => "not_pension_holder",
            Self::NoOtherCompulsoryScheme => "no_other_compulsory_scheme",
            Self::NotEmployed => "not_employed",
            Self::NotRedditoDiCittadinanza => "not_reddito_di_cittadinanza",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

/// One declaration a scheme asks for: what it states, the article that makes it a condition, and its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    pub(crate) kind: DeclarationKind,
    pub(crate) legal_ref: String,
    pub(crate) text_it: String,
    pub(crate) text_en: String,
}

impl Declaration {
    /// What it states.
    pub fn kind(&self) -> DeclarationKind {
        self.kind
    }

    /// The article and paragraph that make it a condition, e.g. `art. 27 c. 1`.
    pub fn legal_ref(&self) -> &str {
        &self.legal_ref
    }

    /// Its words in Italian, following "Dichiaro:" (e.g. "di non essere titolare di pensione").
    pub fn text_it(&self) -> &str {
        &self.text_it
    }

    /// Its words in English, following "I declare:" (e.g. "I do not hold a pension").
    pub fn text_en(&self) -> &str {
        &self.text_en
    }
}

/// An amount the applicant declares because no registry holds it (DPR 445/2000 art. 46), e.g. the income of the
/// second bimester of 2019 and of 2020 that art. 84 c. 2 DL 34/2020 compares: its id (the form's field and the
/// key of [`super::Facts::figures`]), the article that asks for it, and its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    pub(crate) id: String,
    pub(crate) legal_ref: String,
    pub(crate) text_it: String,
    pub(crate) text_en: String,
}

impl Figure {
    /// The figure's id, e.g. `income_2019_bimester_2`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The article and paragraph that ask for it.
    pub fn legal_ref(&self) -> &str {
        &self.legal_ref
    }

    /// Its label in Italian, e.g. "Reddito del secondo bimestre 2019 (marzo e aprile)".
    pub fn text_it(&self) -> &str {
        &self.text_it
    }

    /// Its label in English.
    pub fn text_en(&self) -> &str {
        &self.text_en
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for kind in DeclarationKind::ALL {
            assert_eq!(DeclarationKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(DeclarationKind::parse("occasional_income_within_limit"), None, "not a condition of the law");
    }
}
