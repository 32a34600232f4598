//! Art. 30: the indemnity for fixed-term agricultural workers.
//!
//! > **Art. 30** — *Indennità lavoratori del settore agricolo*
//! >
//! > 1. Agli operai agricoli a tempo determinato, non titolari di pensione, che nel 2019 abbiano effettivamente svolto
//! > almeno 50 giornate effettive di attività di lavoro agricolo, è riconosciuta un'indennità per il mese di marzo
//! > pari a 600 euro. L'indennità di cui al presente articolo non concorre alla formazione del reddito ai sensi del
//! > decreto del Presidente della Repubblica 22 dicembre 1986, n. 917.
//! >
//! > 2. L'indennità di cui al presente articolo, è erogata dall'INPS, previa domanda, nel limite di spesa complessivo
//! > di 396 milioni di euro per l'anno 2020. […]
//!
//! As code: the days of every `operaio_agricolo_td` row of `year` are summed (a worker with two employers has two
//! rows), and the sum must reach `min_days`; rows of other years do not count. No pension on the exclusions date.
//! The article excludes neither employment nor other schemes.

use super::common::{self, Conditions, Person, reason};
use super::rulebook::error::RulebookError;
use super::rulebook::values::{Cited, Parameters};
use super::scheme::Scheme;
use crate::registry::PositionKind;

const RULE: &str = "art30";

/// The rule of art. 30 with its year and minimum of days.
#[derive(Debug, Clone)]
pub(crate) struct Art30 {
    /// "nel 2019".
    year: Cited<i32>,
    /// "almeno 50 giornate effettive".
    min_days: Cited<u32>,
}

impl Art30 {
    /// Conditions whose reference a scheme may set in `[scheme.refs]`.
    pub(crate) const CONDITIONS: &'static [&'static str] = &["pension"];

    /// Reads the rule's parameters.
    pub(crate) fn load(parameters: &mut Parameters) -> Result<Self, RulebookError> {
        Ok(Self { year: parameters.year("year")?, min_days: parameters.count("min_days")? })
    }

    /// Checks every condition of c. 1.
    fn check_conditions(&self, scheme: &Scheme, person: &Person<'_>) -> Conditions {
        let mut c = Conditions::default();
        let (year, min) = (self.year.value, self.min_days.value);
        let article = &self.min_days.legal_ref;
        let mut rows = person.of_kind(|k| k == PositionKind::OperaioAgricoloTd).peekable();
        if rows.peek().is_none() {
            c.failed(reason(
                RULE,
                "no_position",
                article,
                "Non risulta alcuna Sua posizione come operaio agricolo a tempo determinato.".to_owned(),
                "No position of yours as a fixed-term agricultural worker is on record.".to_owned(),
            ));
        } else {
            let days =
                rows.filter(|p| p.year == Some(year)).map(|p| p.days.unwrap_or(0)).fold(0u32, u32::saturating_add);
            c.check(
                days >= min,
                || {
                    reason(
                        RULE,
                        "enough_days",
                        article,
                        format!("Nel {year} risultano {days} giornate di lavoro agricolo, almeno le {min} richieste."),
                        format!("In {year} you worked {days} days in agriculture, at least the {min} required."),
                    )
                },
                || {
                    reason(
                        RULE,
                        "not_enough_days",
                        article,
                        format!("Nel {year} risultano {days} giornate di lavoro agricolo: la legge ne richiede almeno {min}."),
                        format!("In {year} you worked {days} days in agriculture: the law requires at least {min}."),
                    )
                },
            );
        }
        common::no_pension(&mut c, RULE, scheme.cite("pension"), person);
        c
    }
}

impl super::scheme::Rule for Art30 {
    fn conditions(&self) -> &'static [&'static str] {
        Self::CONDITIONS
    }

    fn check(&self, scheme: &Scheme, person: &Person<'_>) -> Conditions {
        self.check_conditions(scheme, person)
    }
}
