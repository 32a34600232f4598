//! The decree's cases as a table (`decisions.toml`), run against the embedded DL 18/2020 rulebook, plus the
//! invariants no table can enumerate (proptest) and the proof that the figures live in the scheme file.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde::Deserialize;
use sportello_domain::law::{Decision, Decrees, Facts, Rulebook};
use sportello_domain::registry::{self, Cessation, Position, PositionKind, Shape};
use sportello_domain::{Cents, CodiceFiscale, Date};

/// Every case's rows belong to this person.
const CF: &str = "RSSMRA80A01H501U";
const TABLE: &str = include_str!("decisions.toml");
const TABLE_DL34: &str = include_str!("decisions-dl34.toml");
const SCHEME_FILE: &str = include_str!("../../../schemes/dl18-2020.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    rows: Vec<String>,
    eligible: Vec<String>,
    #[serde(default)]
    reasons: Vec<Expected>,
    #[serde(default)]
    absent: Vec<Expected>,
    /// Schemes the person holds an accepted application for.
    #[serde(default)]
    granted: Vec<String>,
    /// Amounts declared in the application, in euros.
    #[serde(default)]
    figures: BTreeMap<String, String>,
}

impl Case {
    fn facts(&self) -> Result<Facts, String> {
        let mut facts = Facts::granted(self.granted.iter().cloned());
        for (id, amount) in &self.figures {
            let (negative, digits) = match amount.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, amount.as_str()),
            };
            let cents = Cents::parse(digits).map_err(|e| format!("figure {id} = {amount:?}: {e}"))?;
            facts = facts.with_figure(id, if negative { Cents::new(-cents.get()) } else { cents });
        }
        Ok(facts)
    }
}

/// A reason code expected (or forbidden) on any scheme, or on one scheme with, optionally, its article.
#[derive(Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum Expected {
    Anywhere(String),
    InScheme { scheme: String, code: String, article: Option<String> },
}

impl Expected {
    fn found_in(&self, decision: &Decision) -> bool {
        decision.schemes.iter().any(|s| {
            s.reasons.iter().any(|r| match self {
                Expected::Anywhere(code) => r.code == *code,
                Expected::InScheme { scheme, code, article } => {
                    s.scheme == *scheme && r.code == *code && article.as_ref().is_none_or(|a| r.article == *a)
                }
            })
        })
    }

    fn describe(&self) -> String {
        match self {
            Expected::Anywhere(code) => code.clone(),
            Expected::InScheme { scheme, code, article: None } => format!("{code} on {scheme}"),
            Expected::InScheme { scheme, code, article: Some(a) } => format!("{code} ({a}) on {scheme}"),
        }
    }
}

fn cf() -> CodiceFiscale {
    CodiceFiscale::parse(CF).unwrap()
}

fn table() -> Table {
    toml::from_str(TABLE).unwrap_or_else(|e| panic!("decisions.toml: {e}"))
}

fn table_dl34() -> Table {
    toml::from_str(TABLE_DL34).unwrap_or_else(|e| panic!("decisions-dl34.toml: {e}"))
}

fn positions(rows: &[String]) -> Result<Vec<Position>, String> {
    rows.iter()
        .map(|row| {
            let line = format!("{CF},{row}");
            registry::parse_row(line.split(','))
                .map(|r| r.position)
                .map_err(|errors| format!("row {row:?} is not a valid registry row: {errors:?}"))
        })
        .collect()
}

fn summary(decision: &Decision) -> String {
    decision
        .schemes
        .iter()
        .map(|s| {
            let codes: Vec<_> = s.reasons.iter().map(|r| r.code.as_str()).collect();
            format!("    {} eligible={} [{}]", s.scheme, s.eligible, codes.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What is wrong with one case's decision, if anything.
fn check_case(book: &Rulebook, case: &Case) -> Vec<String> {
    let positions = match positions(&case.rows) {
        Ok(p) => p,
        Err(e) => return vec![e],
    };
    check_decision(book.decide(cf(), &positions), case)
}

/// The same for a case decided by every decree in force, judged on the schemes of `decree` alone.
fn check_case_in(decrees: &Decrees, decree: &str, case: &Case) -> Vec<String> {
    let (positions, facts) = match (positions(&case.rows), case.facts()) {
        (Ok(p), Ok(f)) => (p, f),
        (Err(e), _) | (_, Err(e)) => return vec![e],
    };
    let mut decision = decrees.decide(cf(), &positions, &facts);
    decision.schemes.retain(|s| decrees.scheme(&s.scheme).is_some_and(|scheme| scheme.decree_id() == decree));
    check_decision(decision, case)
}

fn check_decision(decision: Decision, case: &Case) -> Vec<String> {
    let mut problems = Vec::new();
    let eligible: BTreeSet<&str> = decision.schemes.iter().filter(|s| s.eligible).map(|s| s.scheme.as_str()).collect();
    let expected: BTreeSet<&str> = case.eligible.iter().map(String::as_str).collect();
    if eligible != expected {
        problems.push(format!("eligible for {eligible:?}, expected {expected:?}"));
    }
    for want in &case.reasons {
        if !want.found_in(&decision) {
            problems.push(format!("reason {} missing", want.describe()));
        }
    }
    for unwanted in &case.absent {
        if unwanted.found_in(&decision) {
            problems.push(format!("reason {} present but should not be", unwanted.describe()));
        }
    }
    if decision.schemes.iter().any(|s| s.reasons.is_empty()) {
        problems.push("a scheme decision has no reason".to_owned());
    }
    if !problems.is_empty() {
        problems.push(format!("decision:\n{}", summary(&decision)));
    }
    problems
}

#[test]
fn every_case_of_the_table_gets_the_expected_decision() {
    let book = Rulebook::dl18_2020();
    let failures: Vec<String> = table()
        .case
        .iter()
        .filter_map(|case| {
            let problems = check_case(&book, case);
            (!problems.is_empty()).then(|| format!("case {:?}:\n  {}", case.name, problems.join("\n  ")))
        })
        .collect();
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn the_table_is_large_and_covers_every_scheme_both_ways() {
    let table = table();
    assert!(table.case.len() >= 60, "only {} cases", table.case.len());
    let names: BTreeSet<&str> = table.case.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), table.case.len(), "case names must be unique");
    for scheme in Rulebook::dl18_2020().schemes() {
        let id = scheme.id().to_owned();
        assert!(table.case.iter().any(|c| c.eligible.contains(&id)), "no case where {id} is eligible");
        assert!(table.case.iter().any(|c| !c.eligible.contains(&id)), "no case where {id} is not eligible");
    }
}

#[test]
fn the_decision_serialises_to_the_check_contract() {
    let book = Rulebook::dl18_2020();
    let positions = positions(&["spettacolo_fpls,,,2019,30,50000.01,".to_owned()]).unwrap();
    let json = serde_json::to_value(book.decide(cf(), &positions)).unwrap();
    assert_eq!(json["codice_fiscale"], CF);
    assert_eq!(json["schemes"].as_array().unwrap().len(), 5);
    let art38 = &json["schemes"][4];
    assert_eq!(art38["scheme"], "art38");
    assert_eq!(art38["eligible"], false);
    let reason = &art38["reasons"][0];
    assert_eq!(reason["code"], "art38.income_above_limit");
    assert_eq!(reason["article"], "art. 38 c. 1");
    assert_eq!(reason["it"], "Il Suo reddito 2019 dal Fondo è di 50.000,01 €, superiore al limite di 50.000,00 €.");
    assert_eq!(reason["en"], "Your 2019 income from this work is €50,000.01, above the limit of €50,000.00.");
}

#[test]
fn reasons_name_the_dates_and_figures_of_the_scheme_file() {
    let book = Rulebook::dl18_2020();
    let decide = |row: &str| book.decide(cf(), &positions(&[row.to_owned()]).unwrap());
    let d = decide("gestione_separata_cococo,2020-03-01,,,,,");
    assert_eq!(
        d.schemes[0].reasons[0].it,
        "Nessuna Sua posizione nella Gestione separata era attiva il 23/02/2020, come richiede la legge."
    );
    assert_eq!(
        d.schemes[0].reasons[0].en,
        "None of your positions in the Gestione separata was active on 23 February 2020, as the law requires."
    );
    let d = decide("operaio_agricolo_td,,,2019,49,,");
    assert_eq!(
        d.schemes[3].reasons[0].it,
        "Nel 2019 risultano 49 giornate di lavoro agricolo: la legge ne richiede almeno 50."
    );
    let d = decide("pensione,2015-01-01,,,,,");
    assert!(d.schemes[1].reasons.iter().any(|r| r.it.contains("17/03/2020") && r.en.contains("17 March 2020")));
}

#[test]
fn a_modified_scheme_file_changes_decisions_without_code_changes() {
    let late = positions(&["gestione_separata_professionista,2020-02-24,,,,,".to_owned()]).unwrap();
    let few_days = positions(&["operaio_agricolo_td,,,2019,40,,".to_owned()]).unwrap();
    let eligible = |book: &Rulebook, p: &[Position], id: &str| {
        book.decide(cf(), p).schemes.iter().any(|s| s.scheme == id && s.eligible)
    };
    let original = Rulebook::from_toml(SCHEME_FILE).unwrap();
    assert!(!eligible(&original, &late, "art27"));
    assert!(!eligible(&original, &few_days, "art30"));

    let edited = SCHEME_FILE
        .replacen("reference_date = { value = 2020-02-23", "reference_date = { value = 2020-03-01", 1)
        .replacen("min_days = { value = 50", "min_days = { value = 40", 1);
    let edited = Rulebook::from_toml(&edited).unwrap();
    assert!(eligible(&edited, &late, "art27"));
    assert!(eligible(&edited, &few_days, "art30"));
    let reason = &edited.decide(cf(), &late).schemes[0].reasons[0];
    assert!(reason.it.contains("01/03/2020"), "{}", reason.it);
}

#[test]
fn a_renewal_is_a_new_file_reusing_a_rule() {
    // A renewal under a later decree: its own id, article and dates, the art. 27 rule unchanged.
    let head = SCHEME_FILE.split("[[scheme]]").next().unwrap();
    let renewal = format!(
        r#"{head}
[[scheme]]
id = "renewal-april"
rule = "art27"
title_it = "Indennità professionisti e co.co.co., aprile"
title_en = "Allowance for professionals and collaborators, April"
who_it = "Professionisti e co.co.co. attivi al 25 febbraio 2020."
who_en = "Professionals and collaborators active on 25 February 2020."
legal_ref = "art. 84 c. 1"
amount = {{ value = "600.00", taxable = false, ref = "art. 84 c. 1" }}
spending_limit = {{ value = "1000000.00", ref = "art. 84 c. 13" }}
parameters.reference_date = {{ value = "2020-02-25", ref = "art. 84 c. 1" }}
"#
    );
    let renewal = renewal.replacen(
        "schemes = [\"art27\", \"art28\", \"art29\", \"art30\", \"art38\"]",
        "schemes = [\"renewal-april\"]",
        1,
    );
    let book = Rulebook::from_toml(&renewal).unwrap();
    let person = positions(&["gestione_separata_professionista,2020-02-24,,,,,".to_owned()]).unwrap();
    let decision = book.decide(cf(), &person);
    assert_eq!(decision.schemes.len(), 1);
    let scheme = &decision.schemes[0];
    assert_eq!((scheme.scheme.as_str(), scheme.eligible), ("renewal-april", true));
    assert_eq!(scheme.reasons[0].code, "art27.active_on_reference_date");
    assert_eq!(scheme.reasons[0].article, "art. 84 c. 1");
    assert!(scheme.reasons[0].it.contains("25/02/2020"));
    assert_eq!(book.scheme("renewal-april").unwrap().spending_limit(), Cents::from_euros(1_000_000));
}

#[test]
fn every_case_of_the_dl34_table_gets_the_expected_decision() {
    let decrees = Decrees::embedded();
    let cases = table_dl34().case;
    assert!(cases.len() >= 30, "art. 84 needs its cases: {} found", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let problems = check_case_in(&decrees, "dl34-2020", case);
            (!problems.is_empty()).then(|| format!("case {:?}:\n  {}", case.name, problems.join("\n  ")))
        })
        .collect();
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn the_march_table_decides_the_same_with_every_decree_loaded() {
    let decrees = Decrees::embedded();
    let failures: Vec<String> = table()
        .case
        .iter()
        .filter_map(|case| {
            let problems = check_case_in(&decrees, "dl18-2020", case);
            (!problems.is_empty()).then(|| format!("case {:?}:\n  {}", case.name, problems.join("\n  ")))
        })
        .collect();
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_case_name_of_the_dl34_table_names_the_paragraph_it_pins() {
    for case in table_dl34().case {
        assert!(
            case.name.starts_with("art84 c.") || case.name.starts_with("art. 86") || case.name.starts_with("art84:"),
            "{}",
            case.name
        );
    }
}

// ---------------------------------------------------------------- invariants over arbitrary registries

fn day(y: i32, m: u32, d: u32) -> Date {
    Date::from_ymd_opt(y, m, d).unwrap()
}

/// A date between mid-2018 and early 2021, around every boundary the decree draws.
fn any_date() -> impl Strategy<Value = Date> {
    (0u64..1000).prop_map(|n| day(2018, 6, 1) + chrono::Days::new(n))
}

/// Any valid registry position.
fn any_position() -> impl Strategy<Value = Position> {
    let kind = (0..PositionKind::ALL.len()).prop_map(|i| PositionKind::ALL[i]);
    let cessation = prop::option::of(prop_oneof![Just(Cessation::Involuntary), Just(Cessation::Voluntary)]);
    (kind, any_date(), prop::option::of(0u64..500), 2018..=2020i32, 0u32..80, 0i64..6_000_000, cessation).prop_map(
        |(kind, start, length, year, days, income, cessation)| {
            let period = Position::period(kind, start, length.map(|n| start + chrono::Days::new(n)));
            let yearly = Position { start: None, end: None, year: Some(year), days: Some(days), ..period.clone() };
            match kind.shape() {
                Shape::Period => period,
                Shape::SeasonalPeriod => Position { cessation, ..period },
                Shape::YearDays => yearly,
                Shape::YearDaysIncome => Position { income: Some(Cents::new(income)), ..yearly },
            }
        },
    )
}

fn codes(decision: &Decision) -> Vec<(bool, BTreeSet<String>)> {
    decision.schemes.iter().map(|s| (s.eligible, s.reasons.iter().map(|r| r.code.clone()).collect())).collect()
}

proptest! {
    #[test]
    fn every_scheme_decision_explains_itself(positions in prop::collection::vec(any_position(), 0..7)) {
        let book = Rulebook::dl18_2020();
        let decision = book.decide(cf(), &positions);
        let ids: Vec<_> = decision.schemes.iter().map(|s| s.scheme.as_str()).collect();
        prop_assert_eq!(ids, ["art27", "art28", "art29", "art30", "art38"]);
        for scheme in &decision.schemes {
            prop_assert!(!scheme.reasons.is_empty(), "{} has no reason", scheme.scheme);
            for r in &scheme.reasons {
                prop_assert!(!r.it.is_empty() && !r.en.is_empty() && r.article.starts_with("art. "), "{:?}", r);
                let (rule, condition) = r.code.split_once('.').unwrap_or(("", ""));
                prop_assert!(rule.starts_with("art") && !condition.is_empty(), "code {:?}", r.code);
            }
        }
    }

    #[test]
    fn a_reddito_di_cittadinanza_recipient_on_17_march_is_never_eligible(
        positions in prop::collection::vec(any_position(), 0..7),
        start in any_date().prop_filter("started by 17 Mar 2020", |d| *d <= day(2020, 3, 17)),
        end in prop::option::of(any_date().prop_filter("ended from 17 Mar 2020", |d| *d >= day(2020, 3, 17))),
    ) {
        let mut positions = positions;
        positions.push(Position::period(PositionKind::RedditoCittadinanza, start, end));
        let decision = Rulebook::dl18_2020().decide(cf(), &positions);
        for scheme in &decision.schemes {
            prop_assert!(!scheme.eligible, "eligible for {}", scheme.scheme);
            prop_assert!(scheme.reasons.iter().any(|r| r.code == "art31.reddito_di_cittadinanza"));
        }
    }

    #[test]
    fn the_one_indemnity_reason_appears_exactly_when_several_are_met(
        positions in prop::collection::vec(any_position(), 0..7),
    ) {
        let decision = Rulebook::dl18_2020().decide(cf(), &positions);
        let several = decision.schemes.iter().filter(|s| s.eligible).count() > 1;
        for scheme in &decision.schemes {
            let flagged = scheme.reasons.iter().any(|r| r.code == "art31.one_indemnity_only");
            prop_assert_eq!(flagged, several && scheme.eligible, "{}", scheme.scheme);
        }
    }

    #[test]
    fn the_order_of_registry_rows_does_not_matter(positions in prop::collection::vec(any_position(), 0..7)) {
        let book = Rulebook::dl18_2020();
        let forward = book.decide(cf(), &positions);
        let reversed: Vec<_> = positions.iter().rev().cloned().collect();
        prop_assert_eq!(codes(&forward), codes(&book.decide(cf(), &reversed)));
    }
}
