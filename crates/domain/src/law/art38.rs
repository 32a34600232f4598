//! Art. 38: the indemnity for entertainment workers enrolled in the Fondo pensioni lavoratori dello spettacolo.
//!
//! > **Art. 38** — *Indennità lavoratori dello spettacolo*
//! >
//! > 1. Ai lavoratori iscritti al Fondo pensioni Lavoratori dello spettacolo, con almeno 30 contributi giornalieri
//! > versati nell'anno 2019 al medesimo Fondo, cui deriva un reddito non superiore a 50.000 euro, e non titolari di
//! > pensione, è riconosciuta un'indennità per il mese di marzo pari a 600 euro. L'indennità di cui al presente
//! > articolo non concorre alla formazione del reddito ai sensi del decreto del Presidente della Repubblica 22
//! > dicembre 1986, n. 917.
//! >
//! > 2. Non hanno diritto all'indennità di cui al comma 1 i lavoratori titolari di rapporto di lavoro dipendente alla
//! > data di entrata in vigore della presente disposizione.
//! >
//! > 3. L'indennità di cui al presente articolo è erogata dall'INPS, previa domanda, nel limite di spesa complessivo
//! > di 48,6 milioni di euro per l'anno 2020. […]
//!
//! As code: the daily contributions of every `spettacolo_fpls` row of `year` are summed and must reach
//! `min_daily_contributions`; the incomes of those rows are summed and must not exceed `max_income` (equal is
//! fine: "non superiore"). Rows of other years do not count. No pension and no employment on the exclusions date.

use super::common::{self, Conditions, Person, euros_en, reason};
use super::rulebook::error::RulebookError;
use super::rulebook::values::{Cited, Parameters};
use super::scheme::Scheme;
use crate::Cents;
use crate::registry::PositionKind;

const RULE: &str = "art38";

/// The rule of art. 38 with its year, minimum of contributions and income ceiling.
#[derive(Debug, Clone)]
pub(crate) struct Art38 {
    /// "nell'anno 2019".
    year: Cited<i32>,
    /// "almeno 30 contributi giornalieri".
    min_daily_contributions: Cited<u32>,
    /// "un reddito non superiore a 50.000 euro".
    max_income: Cited<Cents>,
}

impl Art38 {
    /// Conditions whose reference a scheme may set in `[scheme.refs]`.
    pub(crate) const CONDITIONS: &'static [&'static str] = &["pension", "employment"];

    /// Reads the rule's parameters.
    pub(crate) fn load(parameters: &mut Parameters) -> Result<Self, RulebookError> {
        Ok(Self {
            year: parameters.year("year")?,
            min_daily_contributions: parameters.count("min_daily_contributions")?,
            max_income: parameters.money("max_income")?,
        })
    }

    /// Checks every condition of cc. 1 and 2.
    fn check_conditions(&self, scheme: &Scheme, person: &Person<'_>) -> Conditions {
        let mut c = Conditions::default();
        let year = self.year.value;
        let mut rows = person.of_kind(|k| k == PositionKind::SpettacoloFpls).peekable();
        if rows.peek().is_none() {
            c.failed(reason(
                RULE,
                "no_position",
                &self.min_daily_contributions.legal_ref,
                "Non risulta alcuna Sua iscrizione al Fondo pensioni lavoratori dello spettacolo.".to_owned(),
                "No enrolment of yours in the entertainment workers' pension fund (FPLS) is on record.".to_owned(),
            ));
        } else {
            let (mut contributions, mut income) = (0u32, Cents::ZERO);
            for p in rows.filter(|p| p.year == Some(year)) {
                contributions = contributions.saturating_add(p.days.unwrap_or(0));
                // An overflowing sum is certainly above any ceiling.
                income = income.checked_add(p.income.unwrap_or(Cents::ZERO)).unwrap_or(Cents::new(i64::MAX));
            }
            self.contributions(&mut c, contributions);
            self.income(&mut c, income);
        }
        common::no_pension(&mut c, RULE, scheme.cite("pension"), person);
        common::not_employed(&mut c, RULE, scheme.cite("employment"), person, |_| false);
        c
    }

    fn contributions(&self, c: &mut Conditions, contributions: u32) {
        let (year, min) = (self.year.value, self.min_daily_contributions.value);
        let article = &self.min_daily_contributions.legal_ref;
        c.check(
            contributions >= min,
            || {
                reason(
                    RULE,
                    "enough_contributions",
                    article,
                    format!("Nel {year} risultano {contributions} contributi giornalieri versati al Fondo pensioni lavoratori dello spettacolo, almeno i {min} richiesti."),
                    format!("In {year} {contributions} daily contributions were paid to the entertainment workers' pension fund, at least the {min} required."),
                )
            },
            || {
                reason(
                    RULE,
                    "not_enough_contributions",
                    article,
                    format!("Nel {year} risultano {contributions} contributi giornalieri versati al Fondo pensioni lavoratori dello spettacolo: la legge ne richiede almeno {min}."),
                    format!("In {year} {contributions} daily contributions were paid to the entertainment workers' pension fund: the law requires at least {min}."),
                )
            },
        );
    }

    fn income(&self, c: &mut Conditions, income: Cents) {
        let (year, max) = (self.year.value, self.max_income.value);
        let article = &self.max_income.legal_ref;
        c.check(
            income <= max,
            || {
                reason(
                    RULE,
                    "income_within_limit",
                    article,
                    format!(
                        "Il Suo reddito {year} dal Fondo è di {}, non superiore a {}.",
                        income.to_italian(),
                        max.to_italian()
                    ),
                    format!("Your {year} income from this work is {}, not above {}.", euros_en(income), euros_en(max)),
                )
            },
            || {
                reason(
                    RULE,
                    "income_above_limit",
                    article,
                    format!(
                        "Il Suo reddito {year} dal Fondo è di {}, superiore al limite di {}.",
                        income.to_italian(),
                        max.to_italian()
                    ),
                    format!(
                        "Your {year} income from this work is {}, above the limit of {}.",
                        euros_en(income),
                        euros_en(max)
                    ),
                )
            },
        );
    }
}

impl super::scheme::Rule for Art38 {
    fn conditions(&self) -> &'static [&'static str] {
        Self::CONDITIONS
    }

    fn check(&self, scheme: &Scheme, person: &Person<'_>) -> Conditions {
        self.check_conditions(scheme, person)
    }
}
