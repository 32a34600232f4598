//! Art. 28: the indemnity for the self-employed enrolled in the special schemes of the AGO (artigiani, commercianti,
//! coltivatori diretti, coloni e mezzadri).
//!
//! > **Art. 28** — *Indennità lavoratori autonomi iscritti all'Ago*
//! >
//! > 1. Ai lavoratori autonomi iscritti alle gestioni speciali dell'Ago, non titolari di pensione e non iscritti ad
//! > altre forme previdenziali obbligatorie, ad esclusione della Gestione separata di cui all'articolo 2, comma 26
//! > della legge 8 agosto 1995, n. 335, è riconosciuta un'indennità per il mese di marzo pari a 600 euro.
//! > L'indennità di cui al presente articolo non concorre alla formazione del reddito ai sensi del decreto del
//! > Presidente della Repubblica 22 dicembre 1986, n. 917.
//! >
//! > 2. L'indennità di cui al presente articolo, è erogata dall'INPS, previa domanda, nel limite di spesa complessivo
//! > di 2.160 milioni di euro per l'anno 2020. […]
//!
//! As code: the article names no date for the enrolment ("iscritti", in the present tense), so it is judged on the
//! day the decree took force, the exclusions date, like the conditions beside it: an AGO special-scheme position
//! active that day. No pension and no other compulsory scheme that day, where a Gestione separata position does not
//! count ("ad esclusione della Gestione separata") and another AGO special scheme is the same family, not another.

use super::common::{self, Conditions, Person, date_en, date_it, kind_en, kind_it, reason};
use super::rulebook::error::RulebookError;
use super::rulebook::values::Parameters;
use super::scheme::Scheme;
use crate::registry::PositionKind;

const RULE: &str = "art28";

/// The rule of art. 28; it has no figure of its own besides the exclusions date.
#[derive(Debug, Clone)]
pub(crate) struct Art28;

/// Enrolment that art. 28 counts as another compulsory scheme: not the Gestione separata, not the AGO special schemes.
fn other_scheme(kind: PositionKind) -> bool {
    kind == PositionKind::AltraPrevidenzaObbligatoria || kind == PositionKind::LavoroDipendente || kind.is_seasonal()
}

impl Art28 {
    /// Conditions whose reference a scheme may set in `[scheme.refs]`.
    pub(crate) const CONDITIONS: &'static [&'static str] = &["position", "pension", "other_scheme"];

    /// Reads the rule's parameters (none).
    pub(crate) fn load(_parameters: &mut Parameters) -> Result<Self, RulebookError> {
        Ok(Self)
    }

    /// Checks every condition of c. 1.
    fn check_conditions(&self, scheme: &Scheme, person: &Person<'_>) -> Conditions {
        let mut c = Conditions::default();
        let article = scheme.cite("position");
        let (it, en) = (date_it(person.day()), date_en(person.day()));
        if person.of_kind(PositionKind::is_ago_special).next().is_none() {
            c.failed(reason(
                RULE,
                "no_position",
                article,
                "Non risulta alcuna Sua iscrizione alle gestioni speciali dell'AGO (artigiani, commercianti, coltivatori diretti, coloni e mezzadri).".to_owned(),
                "No enrolment of yours in the special schemes of the AGO (craftsmen, traders, direct farmers, coloni and mezzadri) is on record.".to_owned(),
            ));
        } else if let Some(p) = person.held_on_day(|p| p.kind.is_ago_special()) {
            c.met(reason(
                RULE,
                "enrolled",
                article,
                format!("Il {it} era in corso la Sua iscrizione alla {} dell'AGO.", kind_it(p.kind)),
                format!("On {en} you were enrolled in the AGO {}.", kind_en(p.kind)),
            ));
        } else {
            c.failed(reason(
                RULE,
                "not_enrolled_on_exclusions_date",
                article,
                format!("La Sua iscrizione alle gestioni speciali dell'AGO non era in corso il {it}, giorno di entrata in vigore del decreto."),
                format!("Your enrolment in the special schemes of the AGO was not current on {en}, the day the decree took effect."),
            ));
        }
        common::no_pension(&mut c, RULE, scheme.cite("pension"), person);
        common::no_other_scheme(&mut c, RULE, scheme.cite("other_scheme"), person, other_scheme);
        c
    }
}

impl super::scheme::Rule for Art28 {
    fn conditions(&self) -> &'static [&'static str] {
        Self::CONDITIONS
    }

    fn check(&self, scheme: &Scheme, person: &Person<'_>) -> Conditions {
        self.check_conditions(scheme, person)
    }
}
