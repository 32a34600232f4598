//! Art. 84 c. 1 DL 34/2020: the April 2020 indemnity for those who had art. 27's in March, granted without a new
//! application.
//!
//! > **Art. 84** — *Nuove indennità per i lavoratori danneggiati dall'emergenza epidemiologica da COVID-19*
//! >
//! > 1. Ai soggetti già beneficiari per il mese di marzo dell'indennità di cui all'articolo 27 del decreto-legge 17
//! > marzo 2020, n. 18, […] è erogata un'indennità anche per il mese di aprile 2020 pari a 600 euro.
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

impl Rule for Art84April {
    fn beneficiaries_of(&self) -> Option<&str> {
        Some(&self.beneficiaries_of.value)
    }

    fn check(&self, _scheme: &Scheme, person: &Person<'_>) -> Conditions {
        let mut c = Conditions::default();
        let Cited { value: march, legal_ref: article } = &self.beneficiaries_of;
        c.check(
            person.facts().granted.contains(march),
            || {
                reason(
                    RULE,
                    "march_beneficiary",
                    article,
                    "Lei ha ricevuto l'indennità di marzo 2020 dell'art. 27 del DL 18/2020: quella di aprile Le spetta senza una nuova domanda.".to_owned(),
                    "You were granted the March 2020 allowance of art. 27 of DL 18/2020: April's is yours without a new application.".to_owned(),
                )
            },
            || {
                reason(
                    RULE,
                    "not_march_beneficiary",
                    article,
                    "Non risulta accolta una Sua domanda per l'indennità di marzo 2020 dell'art. 27 del DL 18/2020: l'indennità di aprile spetta soltanto a chi l'ha ricevuta.".to_owned(),
                    "No accepted application of yours for the March 2020 allowance of art. 27 of DL 18/2020 is on record: April's goes only to those who received it.".to_owned(),
                )
            },
        );
        c
    }
}
