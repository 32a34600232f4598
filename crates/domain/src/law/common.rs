//! What the articles share: a person's positions seen from the decree's entry into force, the conditions every
//! indemnity repeats (no pension, no other compulsory scheme, no employment), and the wording of dates and amounts.
//!
//! All exclusions are judged on the exclusions date, the decree's entry into force (17 March 2020 for DL 18/2020),
//! with [`Position::active_on`]: a position counts if it started on or before that day and had not ended before it.
//! Yearly positions (`operaio_agricolo_td`, `spettacolo_fpls`) carry a year and no dates, so they never count as a
//! pension, an employment or another scheme held on that day: a year's figures do not say where a person stood on a
//! given day. When they qualify a person for art. 30 or 38 as well as for another indemnity, art. 31 (one indemnity
//! only) is what keeps the two apart.

use chrono::Datelike;

use super::{Facts, Reason, SchemeDecision};
use crate::registry::{Position, PositionKind};
use crate::{Cents, Date};

/// One person's registry positions, with the day exclusions are judged on.
pub(crate) struct Person<'a> {
    positions: &'a [Position],
    day: Date,
    facts: &'a Facts,
}

impl<'a> Person<'a> {
    /// The person holding `positions`, judged on `day` (the exclusions date), with what the registry does not hold.
    pub(crate) fn new(positions: &'a [Position], day: Date, facts: &'a Facts) -> Self {
        Self { positions, day, facts }
    }

    /// The indemnities held and the figures declared.
    pub(crate) fn facts(&self) -> &'a Facts {
        self.facts
    }

    /// Every position, in registry order.
    pub(crate) fn positions(&self) -> &'a [Position] {
        self.positions
    }

    /// The day exclusions are judged on.
    pub(crate) fn day(&self) -> Date {
        self.day
    }

    /// The positions of kinds that `kind` accepts.
    pub(crate) fn of_kind(&self, kind: impl Fn(PositionKind) -> bool) -> impl Iterator<Item = &'a Position> {
        self.positions.iter().filter(move |p| kind(p.kind))
    }

    /// The first position active on the exclusions date that `pick` accepts.
    pub(crate) fn held_on_day(&self, pick: impl Fn(&Position) -> bool) -> Option<&'a Position> {
        self.positions.iter().find(|p| p.active_on(self.day) && pick(p))
    }

    /// A pension held on the exclusions date.
    pub(crate) fn pension(&self) -> Option<&'a Position> {
        self.held_on_day(|p| p.kind == PositionKind::Pensione)
    }
}

/// The outcome of a rule's conditions: those met and those failed, each with its reason.
#[derive(Default)]
pub(crate) struct Conditions {
    met: Vec<Reason>,
    failed: Vec<Reason>,
}

impl Conditions {
    /// Records a condition met.
    pub(crate) fn met(&mut self, reason: Reason) {
        self.met.push(reason);
    }

    /// Records a condition failed.
    pub(crate) fn failed(&mut self, reason: Reason) {
        self.failed.push(reason);
    }

    /// Records `met` or `failed` as `ok` says.
    pub(crate) fn check(&mut self, ok: bool, met: impl FnOnce() -> Reason, failed: impl FnOnce() -> Reason) {
        if ok { self.met(met()) } else { self.failed(failed()) }
    }

    /// Eligible when nothing failed; the reasons are the conditions met, or else every condition failed.
    pub(crate) fn into_decision(self, scheme: &str) -> SchemeDecision {
        let eligible = self.failed.is_empty();
        SchemeDecision { scheme: scheme.to_owned(), eligible, reasons: if eligible { self.met } else { self.failed } }
    }
}

/// A reason whose code is `<rule>.<condition>`.
pub(crate) fn reason(rule: &str, condition: &str, article: &str, it: String, en: String) -> Reason {
    Reason { code: format!("{rule}.{condition}"), article: article.to_owned(), it, en }
}

/// "Non titolari di pensione": no pension held on the exclusions date.
pub(crate) fn no_pension(c: &mut Conditions, rule: &str, article: &str, person: &Person<'_>) {
    let (it, en) = (date_it(person.day()), date_en(person.day()));
    c.check(
        person.pension().is_none(),
        || {
            reason(
                rule,
                "not_pension_holder",
                article,
                format!("Il {it} Lei non era titolare di pensione."),
                format!("On {en} you held no pension."),
            )
        },
        || {
            reason(
                rule,
                "pension_holder",
                article,
                format!("Il {it}, giorno di entrata in vigore del decreto, Lei era titolare di una pensione, che esclude da questa indennità."),
                format!("On {en}, the day the decree took effect, you held a pension, which rules out this allowance."),
            )
        },
    );
}

/// "Non iscritti ad altre forme previdenziali obbligatorie": no position of a kind `other` accepts on the exclusions
/// date.
pub(crate) fn no_other_scheme(
    c: &mut Conditions,
    rule: &str,
    article: &str,
    person: &Person<'_>,
    other: impl Fn(PositionKind) -> bool,
) {
    let (it, en) = (date_it(person.day()), date_en(person.day()));
    match person.held_on_day(|p| other(p.kind)) {
        None => c.met(reason(
            rule,
            "no_other_scheme",
            article,
            format!("Il {it} non risultava alcuna Sua posizione in altre forme di previdenza obbligatoria."),
            format!("On {en} you had no position in another compulsory pension scheme."),
        )),
        Some(p) => {
            // The generic kind already says "another compulsory scheme": name it once, not twice.
            let (which_it, which_en) = match p.kind {
                PositionKind::AltraPrevidenzaObbligatoria => {
                    (", ad esempio una cassa professionale,".to_owned(), ", such as a professional fund,".to_owned())
                }
                kind => (format!(" ({}),", kind_it(kind)), format!(" ({}),", kind_en(kind))),
            };
            c.failed(reason(
                rule,
                "other_scheme",
                article,
                format!(
                    "Il {it} risultava anche una Sua posizione in un'altra forma di previdenza obbligatoria{which_it} che esclude da questa indennità."
                ),
                format!(
                    "On {en} you also had a position in another compulsory pension scheme{which_en} which rules out this allowance."
                ),
            ))
        }
    }
}

/// "Non titolari di rapporto di lavoro dipendente alla data di entrata in vigore": no employment (a `lavoro_dipendente`
/// or a seasonal position) on the exclusions date, leaving aside the positions `except` accepts.
pub(crate) fn not_employed(
    c: &mut Conditions,
    rule: &str,
    article: &str,
    person: &Person<'_>,
    except: impl Fn(&Position) -> bool,
) {
    let (it, en) = (date_it(person.day()), date_en(person.day()));
    let employment = |p: &Position| (p.kind == PositionKind::LavoroDipendente || p.kind.is_seasonal()) && !except(p);
    match person.held_on_day(employment) {
        None => c.met(reason(
            rule,
            "not_employed",
            article,
            format!("Il {it} Lei non era titolare di un rapporto di lavoro dipendente."),
            format!("On {en} you were not in an employment relationship."),
        )),
        Some(p) => c.failed(reason(
            rule,
            "employed",
            article,
            format!(
                "Il {it} Lei era titolare di un rapporto di lavoro dipendente ({}), che esclude da questa indennità.",
                kind_it(p.kind)
            ),
            format!(
                "On {en} you were in an employment relationship ({}), which rules out this allowance.",
                kind_en(p.kind)
            ),
        )),
    }
}

/// A date as Italians write it, `23/02/2020`.
pub(crate) fn date_it(day: Date) -> String {
    format!("{:02}/{:02}/{}", day.day(), day.month(), day.year())
}

/// A date in English words, `23 February 2020`.
pub(crate) fn date_en(day: Date) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    format!("{} {} {}", day.day(), MONTHS[day.month0() as usize], day.year())
}

/// An amount as English readers write it, `€50,000.00`.
pub(crate) fn euros_en(amount: Cents) -> String {
    // The Italian form differs only in its separators and the place of the sign.
    let italian = amount.to_italian();
    let number = italian.trim_end_matches(" €");
    let swapped: String = number
        .chars()
        .map(|c| match c {
            '.' => ',',
            ',' => '.',
            other => other,
        })
        .collect();
    match swapped.strip_prefix('-') {
        Some(abs) => format!("-€{abs}"),
        None => format!("€{swapped}"),
    }
}

/// What a kind of position is, in Italian, for a reason's sentence.
pub(crate) fn kind_it(kind: PositionKind) -> &'static str {
    match kind {
        PositionKind::GestioneSeparataProfessionista => "libero professionista con partita IVA nella Gestione separata",
        PositionKind::GestioneSeparataCococo => "collaborazione coordinata e continuativa nella Gestione separata",
        PositionKind::Artigiano => "gestione speciale artigiani",
        PositionKind::Commerciante => "gestione speciale commercianti",
        PositionKind::ColtivatoreDiretto => "gestione speciale coltivatori diretti",
        PositionKind::Colono => "gestione speciale coloni",
        PositionKind::Mezzadro => "gestione speciale mezzadri",
        PositionKind::StagionaleTurismo => "lavoro stagionale nel turismo",
        PositionKind::StagionaleTermale => "lavoro stagionale negli stabilimenti termali",
        PositionKind::OperaioAgricoloTd => "operaio agricolo a tempo determinato",
        PositionKind::SpettacoloFpls => "Fondo pensioni lavoratori dello spettacolo",
        PositionKind::LavoroDipendente => "lavoro dipendente",
        PositionKind::Pensione => "pensione",
        PositionKind::RedditoCittadinanza => "reddito di cittadinanza",
        PositionKind::AltraPrevidenzaObbligatoria => {
            "altra forma di previdenza obbligatoria, ad esempio una cassa professionale"
        }
    }
}

/// What a kind of position is, in English, for a reason's sentence.
pub(crate) fn kind_en(kind: PositionKind) -> &'static str {
    match kind {
        PositionKind::GestioneSeparataProfessionista => "professional with a VAT number in the Gestione separata",
        PositionKind::GestioneSeparataCococo => "coordinated and continuous collaboration in the Gestione separata",
        PositionKind::Artigiano => "special scheme for craftsmen",
        PositionKind::Commerciante => "special scheme for traders",
        PositionKind::ColtivatoreDiretto => "special scheme for direct farmers",
        PositionKind::Colono => "special scheme for coloni",
        PositionKind::Mezzadro => "special scheme for mezzadri",
        PositionKind::StagionaleTurismo => "seasonal work in tourism",
        PositionKind::StagionaleTermale => "seasonal work in thermal establishments",
        PositionKind::OperaioAgricoloTd => "fixed-term agricultural worker",
        PositionKind::SpettacoloFpls => "entertainment workers' pension fund",
        PositionKind::LavoroDipendente => "employment",
        PositionKind::Pensione => "pension",
        PositionKind::RedditoCittadinanza => "reddito di cittadinanza (citizenship income)",
        PositionKind::AltraPrevidenzaObbligatoria => "another compulsory pension scheme, such as a professional fund",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_amounts_read_as_people_write_them() {
        let day = Date::from_ymd_opt(2020, 2, 3).unwrap();
        assert_eq!(date_it(day), "03/02/2020");
        assert_eq!(date_en(day), "3 February 2020");
        assert_eq!(date_en(Date::from_ymd_opt(2019, 12, 31).unwrap()), "31 December 2019");
        assert_eq!(euros_en(Cents::new(5_000_001)), "€50,000.01");
        assert_eq!(euros_en(Cents::new(-70)), "-€0.70");
    }

    #[test]
    fn another_compulsory_scheme_is_named_once_in_the_reason() {
        let since = Date::from_ymd_opt(2015, 3, 1).unwrap();
        let positions = [
            Position::period(PositionKind::GestioneSeparataProfessionista, since, None),
            Position::period(PositionKind::AltraPrevidenzaObbligatoria, since, None),
        ];
        let cf = crate::CodiceFiscale::parse("RSSMRA80A01H501U").unwrap();
        let decision = crate::law::Rulebook::dl18_2020().decide(cf, &positions);
        let reasons: Vec<_> =
            decision.schemes.iter().flat_map(|d| &d.reasons).filter(|r| r.code.ends_with(".other_scheme")).collect();
        assert!(!reasons.is_empty(), "the other scheme rules out art. 27");
        for r in reasons {
            assert!(r.it.contains("obbligatoria, ad esempio una cassa professionale, che esclude"), "{}", r.it);
            assert_eq!(r.it.matches("altra forma").count(), 1, "{}", r.it);
            assert_eq!(r.en.matches("another compulsory").count(), 1, "{}", r.en);
        }
    }
}
