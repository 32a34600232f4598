//! Art. 84 cc. 1, 4, 5, 7 and 10 DL 34/2020: the April 2020 indemnity for those who had a March indemnity of DL
//! 18/2020, granted without a new application. One condition, one rule: each paragraph names the March article whose
//! beneficiaries it pays, and the scheme file gives it as `beneficiaries_of`.
//!
//! > **Art. 84** — *Nuove indennità per i lavoratori danneggiati dall'emergenza epidemiologica da COVID-19*
//! >
//! > 1. Ai soggetti già beneficiari per il mese di marzo dell'indennità di cui all'articolo 27 del decreto-legge 17
//! > marzo 2020, n. 18, […] è erogata un'indennità anche per il mese di aprile 2020 pari a 600 euro.
//!
//! Paragraphs 4 (art. 28, 600 euros), 5 (art. 29, 600 euros), 7 (art. 30, 500 euros) and 10 (art. 38, 600 euros)
//! say the same of the other March indemnities; their amounts and numbering are in `schemes/dl34-2020.toml`, with
//! what was verified. INPS paid April to March's applicants without a new application (circolare n. 66 of 29 May
//! 2020).
//!
//! As code: the person holds an accepted application for the March scheme named by `beneficiaries_of` (a fact of the
//! applications, not of the registry: [`crate::law::Facts::granted`]). Nothing else is asked: the March decision
//! already checked the conditions. The institute grants it by a command, once per person (see the scheme's
//! `granted = "automatically"`).

use super::common::{Conditions, Person, reason};
use super::rulebook::error::RulebookError;
use super::rulebook::values::{Cited, Parameters};
use super::scheme::Rule;
use super::scheme::Scheme;

const RULE: &str = "art84_april";

/// The rule of art. 84 c. 1 with the March scheme whose beneficiaries it names.
#[derive(Debug, Clone)]
pub(crate) struct Art84April {
    /// "già beneficiari per il mese di marzo dell'indennità di cui all'articolo 27".
    beneficiaries_of: Cited<String>,
}

impl Art84April {
    /// Reads the rule's parameters.
    pub(crate) fn load(parameters: &mut Parameters) -> Result<Self, RulebookError> {
        Ok(Self { beneficiaries_of: parameters.scheme_id("beneficiaries_of")? })
    }
}

/// The March scheme's article as a reason writes it: `art27` is "art. 27"; an id of another shape is shown as it is.
fn march_article(scheme: &str) -> String {
    match scheme.strip_prefix("art") {
        Some(number) if !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()) => format!("art. {number}"),
        _ => scheme.to_owned(),
    }
}

impl Rule for Art84April {
    fn beneficiaries_of(&self) -> Option<&str> {
        Some(&self.beneficiaries_of.value)
    }

    fn check(&self, _scheme: &Scheme, person: &Person<'_>) -> Conditions {
        let mut c = Conditions::default();
        let Cited { value: march, legal_ref: article } = &self.beneficiaries_of;
        let of = march_article(march);
        c.check(
            person.facts().granted.contains(march),
            || {
                reason(
                    RULE,
                    "march_beneficiary",
                    article,
                    format!("Lei ha ricevuto l'indennità di marzo 2020 dell'{of} del DL 18/2020: quella di aprile Le spetta senza una nuova domanda."),
                    format!("You were granted the March 2020 allowance of {of} of DL 18/2020: April's is yours without a new application."),
                )
            },
            || {
                reason(
                    RULE,
                    "not_march_beneficiary",
                    article,
                    format!("Non risulta accolta una Sua domanda per l'indennità di marzo 2020 dell'{of} del DL 18/2020: questa indennità di aprile spetta soltanto a chi l'ha ricevuta."),
                    format!("No accepted application of yours for the March 2020 allowance of {of} of DL 18/2020 is on record: this April allowance goes only to those who received it."),
                )
            },
        );
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_march_article_is_written_as_the_decree_writes_it() {
        assert_eq!(march_article("art27"), "art. 27");
        assert_eq!(march_article("art38"), "art. 38");
        assert_eq!(march_article("renewal-march"), "renewal-march");
        assert_eq!(march_article("art"), "art");
    }
}
