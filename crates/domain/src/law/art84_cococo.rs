//! Art. 84 c. 3 DL 34/2020: the May 2020 indemnity of 1,000 euros for co.co.co. whose contract had ended when the
//! decree took force.
//!
//! > 3. Ai lavoratori titolari di rapporti di collaborazione coordinata e continuativa, iscritti alla Gestione
//! > separata di cui all'articolo 2, comma 26, della legge 8 agosto 1995, n. 335, non titolari di pensione e non
//! > iscritti ad altre forme previdenziali obbligatorie, che abbiano cessato il rapporto di lavoro alla data di
//! > entrata in vigore del presente decreto, è riconosciuta una indennità per il mese di maggio 2020 pari a 1000
//! > euro.
//!
//! As code: a Gestione separata co.co.co. position that ended between `ceased_from` and `ceased_by` (the entry into
//! force), both included; INPS read "cessato alla data di entrata in vigore" as ended from 24 February 2020 (the day
//! after art. 27's reference date) to 19 May 2020 (circolare n. 80 of 6 July 2020, as reported; see the scheme file's
//! TO CHECK). A contract still running on `ceased_by` has not ceased. No pension and no other compulsory scheme on the
//! exclusions date, as c. 2 asks.

use super::common::{self, Conditions, Person, date_en, date_it, reason};
use super::rulebook::error::RulebookError;
use super::rulebook::values::{Cited, Parameters};
use super::scheme::{Rule, Scheme};
use crate::Date;
use crate::registry::PositionKind;

const RULE: &str = "art84_cococo";

/// The rule of art. 84 c. 3 with the days the contract must have ended between.
#[derive(Debug, Clone)]
pub(crate) struct Art84Cococo {
    /// The first day a cessation counts.
    ceased_from: Cited<Date>,
    /// "alla data di entrata in vigore del presente decreto".
    ceased_by: Cited<Date>,
}

/// Enrolment that c. 3 counts as another compulsory scheme, as c. 2 and art. 27 DL 18/2020 do.
fn other_scheme(kind: PositionKind) -> bool {
    kind == PositionKind::AltraPrevidenzaObbligatoria
        || kind == PositionKind::LavoroDipendente
        || kind.is_seasonal()
        || kind.is_ago_special()
}

impl Art84Cococo {
    /// Conditions whose reference a scheme may set in `[scheme.refs]`.
    const CONDITIONS: &'static [&'static str] = &["pension", "other_scheme"];

    /// Reads the rule's parameters; the window must not end before it starts.
    pub(crate) fn load(parameters: &mut Parameters) -> Result<Self, RulebookError> {
        let ceased_from = parameters.date("ceased_from")?;
        let ceased_by = parameters.date("ceased_by")?;
        if ceased_by.value < ceased_from.value {
            return Err(parameters.invalid("ceased_by", "is before ceased_from; write the later day last"));
        }
        Ok(Self { ceased_from, ceased_by })
    }

    fn ceased(&self, c: &mut Conditions, person: &Person<'_>) {
        let (from, by) = (self.ceased_from.value, self.ceased_by.value);
        let article = &self.ceased_by.legal_ref;
        let (from_it, by_it, from_en, by_en) = (date_it(from), date_it(by), date_en(from), date_en(by));
        let contracts: Vec<_> = person.of_kind(|k| k == PositionKind::GestioneSeparataCococo).collect();
        if contracts.is_empty() {
            c.failed(reason(
                RULE,
                "no_position",
                article,
                "Non risulta alcun Suo rapporto di collaborazione coordinata e continuativa nella Gestione separata."
                    .to_owned(),
                "No coordinated and continuous collaboration of yours in the Gestione separata is on record."
                    .to_owned(),
            ));
        } else if let Some(ended) = contracts.iter().filter_map(|p| p.end).find(|end| (from..=by).contains(end)) {
            c.met(reason(
                RULE,
                "ceased",
                article,
                format!("Il Suo rapporto di collaborazione è cessato il {}, entro il {by_it}.", date_it(ended)),
                format!("Your collaboration ended on {}, by {by_en}.", date_en(ended)),
            ));
        } else if contracts.iter().any(|p| p.end.is_none_or(|end| end > by)) {
            c.failed(reason(
                RULE,
                "not_ceased",
                article,
                format!("Il {by_it}, giorno di entrata in vigore del decreto, il Suo rapporto di collaborazione era ancora in corso: l'indennità spetta a chi lo aveva cessato."),
                format!("On {by_en}, the day the decree took effect, your collaboration was still running: the allowance goes to those whose contract had ended."),
            ));
        } else {
            c.failed(reason(
                RULE,
                "ceased_before_window",
                article,
                format!("Il Suo rapporto di collaborazione è cessato prima del {from_it}: l'indennità spetta a chi lo ha cessato tra il {from_it} e il {by_it}."),
                format!("Your collaboration ended before {from_en}: the allowance goes to those whose contract ended between {from_en} and {by_en}."),
            ));
        }
    }
}

impl Rule for Art84Cococo {
    fn conditions(&self) -> &'static [&'static str] {
        Self::CONDITIONS
    }

    fn check(&self, scheme: &Scheme, person: &Person<'_>) -> Conditions {
        let mut c = Conditions::default();
        self.ceased(&mut c, person);
        common::no_pension(&mut c, RULE, scheme.cite("pension"), person);
        common::no_other_scheme(&mut c, RULE, scheme.cite("other_scheme"), person, other_scheme);
        c
    }
}
