//! Art. 84 c. 2 DL 34/2020: the May 2020 indemnity of 1,000 euros for professionals with a partita IVA whose income
//! of March–April 2020 fell by at least a third.
//!
//! > 2. Ai liberi professionisti titolari di partita IVA attiva alla data di entrata in vigore del presente decreto,
//! > iscritti alla Gestione separata di cui all'articolo 2, comma 26, della legge 8 agosto 1995, n. 335, non
//! > titolari di pensione e non iscritti ad altre forme previdenziali obbligatorie, che abbiano subito una comprovata
//! > riduzione di almeno il 33 per cento del reddito del secondo bimestre 2020, rispetto al reddito del secondo
//! > bimestre 2019, è riconosciuta un'indennità per il mese di maggio 2020 pari a 1000 euro. […] il reddito è
//! > individuato secondo il principio di cassa come differenza tra i ricavi e i compensi percepiti e le spese
//! > effettivamente sostenute nel periodo interessato e nell'esercizio dell'attività […]. […] l'interessato presenta
//! > all'INPS domanda nella quale autocertifica, ai sensi del decreto del Presidente della Repubblica 28 dicembre
//! > 2000, n. 445, il possesso dei requisiti […].
//!
//! As code: a Gestione separata position as professionista (co.co.co. are c. 3's) active on `reference_date`; no
//! pension and no other compulsory scheme on the exclusions date; and the two incomes the applicant declares
//! (figures `income_2019_bimester_2`, `income_2020_bimester_2`, cash basis, may be negative) showing a fall of at least
//! `min_income_drop_percent` of 2019's. A 2019 income of zero or less has no fall to measure, so the condition fails.
//! Without the figures (a look-up before applying) the condition is left to the application, and says so.

use super::common::{self, Conditions, Person, date_en, date_it, euros_en, reason};
use super::rulebook::error::RulebookError;
use super::rulebook::values::{Cited, Parameters};
use super::scheme::Rule;
use super::scheme::Scheme;
use crate::registry::PositionKind;
use crate::{Cents, Date};

const RULE: &str = "art84_may";

/// The figure ids the form asks for, in the order it shows them.
pub(crate) const INCOME_2019: &str = "income_2019_bimester_2";
pub(crate) const INCOME_2020: &str = "income_2020_bimester_2";

/// The rule of art. 84 c. 2.
#[derive(Debug, Clone)]
pub(crate) struct Art84May {
    /// "partita IVA attiva alla data di entrata in vigore del presente decreto".
    reference_date: Cited<Date>,
    /// "riduzione di almeno il 33 per cento".
    min_income_drop_percent: Cited<u32>,
}

/// Enrolment that art. 84 c. 2 counts as another compulsory scheme, as art. 27 DL 18/2020 does.
fn other_scheme(kind: PositionKind) -> bool {
    kind == PositionKind::AltraPrevidenzaObbligatoria
        || kind == PositionKind::LavoroDipendente
        || kind.is_seasonal()
        || kind.is_ago_special()
}

/// Whether `now` is at least `percent` % below `before`, in exact integer arithmetic; `None` when `before` is zero or
/// less, where no fall can be measured.
pub(crate) fn fell_by_at_least(before: Cents, now: Cents, percent: u32) -> Option<bool> {
    let (before, now) = (i128::from(before.get()), i128::from(now.get()));
    if before <= 0 {
        return None;
    }
    Some((before - now) * 100 >= before * i128::from(percent))
}

impl Art84May {
    /// Conditions whose reference a scheme may set in `[scheme.refs]`.
    const CONDITIONS: &'static [&'static str] = &["pension", "other_scheme"];

    /// Reads the rule's parameters.
    pub(crate) fn load(parameters: &mut Parameters) -> Result<Self, RulebookError> {
        let reference_date = parameters.date("reference_date")?;
        let min_income_drop_percent = parameters.count("min_income_drop_percent")?;
        if min_income_drop_percent.value == 0 || min_income_drop_percent.value > 100 {
            return Err(
                parameters.invalid("min_income_drop_percent", "is a percentage: write a whole number from 1 to 100")
            );
        }
        Ok(Self { reference_date, min_income_drop_percent })
    }

    fn income_drop(&self, c: &mut Conditions, person: &Person<'_>) {
        let Cited { value: percent, legal_ref: article } = &self.min_income_drop_percent;
        let figures = &person.facts().figures;
        let (Some(&before), Some(&now)) = (figures.get(INCOME_2019), figures.get(INCOME_2020)) else {
            c.met(reason(
                RULE,
                "income_drop_to_declare",
                article,
                format!("Nella domanda dichiarerà il reddito di marzo e aprile 2019 e 2020: l'indennità spetta se quello del 2020 è inferiore di almeno il {percent}% a quello del 2019."),
                format!("In the application you will declare your income of March and April 2019 and 2020: the allowance is due if 2020's is at least {percent}% below 2019's."),
            ));
            return;
        };
        let (b_it, n_it, b_en, n_en) = (before.to_italian(), now.to_italian(), euros_en(before), euros_en(now));
        match fell_by_at_least(before, now, *percent) {
            Some(true) => c.met(reason(
                RULE,
                "income_drop",
                article,
                format!("Ha dichiarato un reddito di marzo e aprile 2020 di {n_it} contro {b_it} del 2019: una riduzione di almeno il {percent}%."),
                format!("You declared an income for March and April 2020 of {n_en} against {b_en} in 2019: a fall of at least {percent}%."),
            )),
            Some(false) => c.failed(reason(
                RULE,
                "income_drop_too_small",
                article,
                format!("Ha dichiarato un reddito di marzo e aprile 2020 di {n_it} contro {b_it} del 2019: la riduzione è inferiore al {percent}% che la legge richiede."),
                format!("You declared an income for March and April 2020 of {n_en} against {b_en} in 2019: the fall is less than the {percent}% the law requires."),
            )),
            None => c.failed(reason(
                RULE,
                "no_income_to_compare",
                article,
                format!("Ha dichiarato per marzo e aprile 2019 un reddito di {b_it}: senza un reddito positivo nel 2019 non si può misurare la riduzione del {percent}% che la legge richiede."),
                format!("You declared an income of {b_en} for March and April 2019: without a positive income in 2019 the fall of {percent}% the law requires cannot be measured."),
            )),
        }
    }
}

impl Rule for Art84May {
    fn conditions(&self) -> &'static [&'static str] {
        Self::CONDITIONS
    }

    fn figures(&self) -> &'static [&'static str] {
        &[INCOME_2019, INCOME_2020]
    }

    fn check(&self, scheme: &Scheme, person: &Person<'_>) -> Conditions {
        let mut c = Conditions::default();
        let Cited { value: day, legal_ref: article } = &self.reference_date;
        let (it, en) = (date_it(*day), date_en(*day));
        let professional = |k: PositionKind| k == PositionKind::GestioneSeparataProfessionista;
        let mut enrolled = person.of_kind(professional).peekable();
        if enrolled.peek().is_none() {
            c.failed(reason(
                RULE,
                "no_position",
                article,
                "Non risulta alcuna Sua posizione nella Gestione separata come libero professionista con partita IVA."
                    .to_owned(),
                "No position of yours in the Gestione separata as a professional with a VAT number is on record."
                    .to_owned(),
            ));
        } else if enrolled.any(|p| p.active_on(*day)) {
            c.met(reason(
                RULE,
                "active_on_reference_date",
                article,
                format!("Il {it} la Sua partita IVA di libero professionista risultava attiva."),
                format!("On {en} your VAT number as a professional was active."),
            ));
        } else {
            c.failed(reason(
                RULE,
                "not_active_on_reference_date",
                article,
                format!("La Sua partita IVA di libero professionista non era attiva il {it}, giorno di entrata in vigore del decreto, come richiede la legge."),
                format!("Your VAT number as a professional was not active on {en}, the day the decree took effect, as the law requires."),
            ));
        }
        common::no_pension(&mut c, RULE, scheme.cite("pension"), person);
        common::no_other_scheme(&mut c, RULE, scheme.cite("other_scheme"), person, other_scheme);
        self.income_drop(&mut c, person);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fall_is_measured_exactly_at_the_threshold() {
        let e = Cents::from_euros;
        assert_eq!(fell_by_at_least(e(3000), e(2010), 33), Some(true), "exactly 33%");
        assert_eq!(fell_by_at_least(Cents::new(300_000), Cents::new(201_001), 33), Some(false), "a cent short");
        assert_eq!(fell_by_at_least(e(1000), e(-200), 33), Some(true), "a loss is a fall of more than 100%");
        assert_eq!(fell_by_at_least(e(0), e(-200), 33), None);
        assert_eq!(fell_by_at_least(e(-100), e(-200), 33), None);
        assert_eq!(fell_by_at_least(e(1000), e(1200), 33), Some(false), "a rise");
    }
}
