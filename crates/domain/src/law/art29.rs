//! Art. 29: the indemnity for seasonal workers in tourism and thermal establishments who lost their job.
//!
//! > **Art. 29** — *Indennità lavoratori stagionali del turismo e degli stabilimenti termali*
//! >
//! > 1. Ai lavoratori dipendenti stagionali del settore turismo e degli stabilimenti termali che hanno cessato
//! > involontariamente il rapporto di lavoro nel periodo compreso tra il 1° gennaio 2019 e la data di entrata in
//! > vigore della presente disposizione, non titolari di pensione e non titolari di rapporto di lavoro dipendente alla
//! > data di entrata in vigore della presente disposizione, è riconosciuta un'indennità per il mese di marzo pari a
//! > 600 euro. L'indennità di cui al presente articolo non concorre alla formazione del reddito ai sensi del decreto
//! > del Presidente della Repubblica 22 dicembre 1986, n. 917.
//! >
//! > 2. L'indennità di cui al presente articolo, è erogata dall'INPS, previa domanda, nel limite di spesa complessivo
//! > di 103,8 milioni di euro per l'anno 2020. […]
//!
//! As code: a `stagionale_turismo` or `stagionale_termale` position whose `end` falls in the window (both ends
//! included: `cessation_from` and `cessation_to` in the scheme file) and whose cessation is `involuntary`; a missing
//! cessation is not taken as involuntary. No pension and no employment on the exclusions date. A seasonal position
//! that ended within the window is a cessation, not an employment still held: one that ended on the very day the
//! decree took force is both inside the window and "active" that day, and the law plainly means to cover it.

use super::common::{self, Conditions, Person, date_en, date_it, kind_en, kind_it, reason};
use super::rulebook::error::RulebookError;
use super::rulebook::values::{Cited, Parameters};
use super::scheme::Scheme;
use crate::Date;
use crate::registry::{Cessation, Position, PositionKind};

const RULE: &str = "art29";

/// The rule of art. 29 with its cessation window.
#[derive(Debug, Clone)]
pub(crate) struct Art29 {
    /// "tra il 1° gennaio 2019 …".
    cessation_from: Cited<Date>,
    /// "… e la data di entrata in vigore della presente disposizione".
    cessation_to: Cited<Date>,
}

impl Art29 {
    /// Conditions whose reference a scheme may set in `[scheme.refs]`.
    pub(crate) const CONDITIONS: &'static [&'static str] = &["cessation", "pension", "employment"];

    /// Reads the rule's parameters; the window must not end before it starts.
    pub(crate) fn load(parameters: &mut Parameters) -> Result<Self, RulebookError> {
        let cessation_from = parameters.date("cessation_from")?;
        let cessation_to = parameters.date("cessation_to")?;
        if cessation_from.value > cessation_to.value {
            return Err(parameters.invalid(
                "cessation_from",
                format!(
                    "the window starts on {} but ends on {}; write a cessation_from on or before cessation_to",
                    cessation_from.value, cessation_to.value
                ),
            ));
        }
        Ok(Self { cessation_from, cessation_to })
    }

    /// Whether a position ended within the window.
    fn ended_in_window(&self, p: &Position) -> bool {
        p.end.is_some_and(|end| self.cessation_from.value <= end && end <= self.cessation_to.value)
    }

    /// Checks every condition of c. 1.
    fn check_conditions(&self, scheme: &Scheme, person: &Person<'_>) -> Conditions {
        let mut c = Conditions::default();
        let article = &self.cessation_from.legal_ref;
        let (from_it, from_en) = (date_it(self.cessation_from.value), date_en(self.cessation_from.value));
        let (to_it, to_en) = (date_it(self.cessation_to.value), date_en(self.cessation_to.value));
        let involuntary = |p: &Position| p.cessation == Some(Cessation::Involuntary);
        let seasonal = || person.of_kind(PositionKind::is_seasonal);

        if seasonal().next().is_none() {
            c.failed(reason(
                RULE,
                "no_position",
                article,
                "Non risulta alcun Suo rapporto di lavoro stagionale nel turismo o negli stabilimenti termali."
                    .to_owned(),
                "No seasonal employment of yours in tourism or thermal establishments is on record.".to_owned(),
            ));
        } else if let Some((p, end)) =
            seasonal().find_map(|p| p.end.filter(|_| self.ended_in_window(p) && involuntary(p)).map(|end| (p, end)))
        {
            c.met(reason(
                RULE,
                "involuntary_cessation_in_window",
                article,
                format!(
                    "Il Suo rapporto di {} è cessato involontariamente il {}, tra il {from_it} e il {to_it}.",
                    kind_it(p.kind),
                    date_it(end)
                ),
                format!(
                    "Your {} ended involuntarily on {}, between {from_en} and {to_en}.",
                    kind_en(p.kind),
                    date_en(end)
                ),
            ));
        } else {
            let any_in_window = seasonal().any(|p| self.ended_in_window(p));
            if !any_in_window {
                c.failed(reason(
                    RULE,
                    "not_ended_in_window",
                    article,
                    format!("Nessun Suo rapporto di lavoro stagionale nel turismo o negli stabilimenti termali è cessato tra il {from_it} e il {to_it}."),
                    format!("None of your seasonal jobs in tourism or thermal establishments ended between {from_en} and {to_en}."),
                ));
            }
            if any_in_window || !seasonal().any(involuntary) {
                c.failed(reason(
                    RULE,
                    "not_involuntary_cessation",
                    scheme.cite("cessation"),
                    "Il Suo rapporto di lavoro stagionale non risulta cessato involontariamente (per fine stagione o licenziamento), come la legge richiede.".to_owned(),
                    "Your seasonal employment is not recorded as having ended involuntarily (end of season or dismissal), as the law requires.".to_owned(),
                ));
            }
        }
        common::no_pension(&mut c, RULE, scheme.cite("pension"), person);
        common::not_employed(&mut c, RULE, scheme.cite("employment"), person, |p| {
            p.kind.is_seasonal() && self.ended_in_window(p)
        });
        c
    }
}

impl super::scheme::Rule for Art29 {
    fn conditions(&self) -> &'static [&'static str] {
        Self::CONDITIONS
    }

    fn check(&self, scheme: &Scheme, person: &Person<'_>) -> Conditions {
        self.check_conditions(scheme, person)
    }
}
