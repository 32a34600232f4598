//! Art. 27: the indemnity for professionals with a partita IVA and for collaborators (co.co.co.) enrolled in the
//! Gestione separata.
//!
//! > **Art. 27** — *Indennità professionisti e lavoratori con rapporto di collaborazione coordinata e continuativa*
//! >
//! > 1. Ai liberi professionisti titolari di partita iva attiva alla data del 23 febbraio 2020 e ai lavoratori
//! > titolari di rapporti di collaborazione coordinata e continuativa attivi alla medesima data, iscritti alla
//! > Gestione separata di cui all'articolo 2, comma 26, della legge 8 agosto 1995, n. 335, non titolari di pensione e
//! > non iscritti ad altre forme previdenziali obbligatorie, è riconosciuta un'indennità per il mese di marzo pari a
//! > 600 euro. L'indennità di cui al presente articolo non concorre alla formazione del reddito ai sensi del decreto
//! > del Presidente della Repubblica 22 dicembre 1986, n. 917.
//! >
//! > 2. L'indennità di cui al presente articolo, è erogata dall'INPS, previa domanda, nel limite di spesa complessivo
//! > di 203,4 milioni di euro per l'anno 2020. […]
//!
//! As code: a Gestione separata position (professionista or co.co.co.) active on the reference date (`reference_date`
//! in the scheme file); no pension and no other compulsory scheme on the exclusions date. "Other compulsory scheme"
//! here is another compulsory fund, an employment (ordinary or seasonal) or an AGO special scheme; a second Gestione
//! separata position is the same scheme, not another.

use super::common::{self, Conditions, Person, date_en, date_it, kind_en, kind_it, reason};
use super::rulebook::error::RulebookError;
use super::rulebook::values::{Cited, Parameters};
use super::scheme::Scheme;
use crate::Date;
use crate::registry::PositionKind;

const RULE: &str = "art27";

/// The rule of art. 27 with its reference date.
#[derive(Debug, Clone)]
pub(crate) struct Art27 {
    /// "attiva alla data del 23 febbraio 2020".
    pub(crate) reference_date: Cited<Date>,
}

/// Enrolment that art. 27 counts as another compulsory scheme.
fn other_scheme(kind: PositionKind) -> bool {
    kind == PositionKind::AltraPrevidenzaObbligatoria
        || kind == PositionKind::LavoroDipendente
        || kind.is_seasonal()
        || kind.is_ago_special()
}

impl Art27 {
    /// Conditions whose reference a scheme may set in `[scheme.refs]`.
    pub(crate) const CONDITIONS: &'static [&'static str] = &["pension", "other_scheme"];

    /// Reads the rule's parameters.
    pub(crate) fn load(parameters: &mut Parameters) -> Result<Self, RulebookError> {
        Ok(Self { reference_date: parameters.date("reference_date")? })
    }

    /// Checks every condition of c. 1.
    fn check_conditions(&self, scheme: &Scheme, person: &Person<'_>) -> Conditions {
        let mut c = Conditions::default();
        let Cited { value: day, legal_ref: article } = &self.reference_date;
        let (it, en) = (date_it(*day), date_en(*day));
        let mut enrolled = person.of_kind(PositionKind::is_gestione_separata).peekable();
        if enrolled.peek().is_none() {
            c.failed(reason(
                RULE,
                "no_position",
                article,
                "Non risulta alcuna Sua posizione nella Gestione separata, né come libero professionista con partita IVA né come collaboratore coordinato e continuativo.".to_owned(),
                "No position of yours in the Gestione separata is on record, neither as a professional with a VAT number nor as a coordinated and continuous collaborator.".to_owned(),
            ));
        } else if let Some(p) = enrolled.find(|p| p.active_on(*day)) {
            c.met(reason(
                RULE,
                "active_on_reference_date",
                article,
                format!("Il {it} risultava attiva una Sua posizione come {}.", kind_it(p.kind)),
                format!("On {en} you had an active position as a {}.", kind_en(p.kind)),
            ));
        } else {
            c.failed(reason(
                RULE,
                "not_active_on_reference_date",
                article,
                format!("Nessuna Sua posizione nella Gestione separata era attiva il {it}, come richiede la legge."),
                format!("None of your positions in the Gestione separata was active on {en}, as the law requires."),
            ));
        }
        common::no_pension(&mut c, RULE, scheme.cite("pension"), person);
        common::no_other_scheme(&mut c, RULE, scheme.cite("other_scheme"), person, other_scheme);
        c
    }
}

impl super::scheme::Rule for Art27 {
    fn conditions(&self) -> &'static [&'static str] {
        Self::CONDITIONS
    }

    fn check(&self, scheme: &Scheme, person: &Person<'_>) -> Conditions {
        self.check_conditions(scheme, person)
    }
}
