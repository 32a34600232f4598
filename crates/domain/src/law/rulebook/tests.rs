//! The scheme file loader's cases: the embedded decrees load with their figures, and every mistake is named.

use super::*;
use crate::law::DeclarationKind;

fn d(y: i32, m: u32, day: u32) -> Date {
    Date::from_ymd_opt(y, m, day).unwrap()
}

/// The embedded file with one edit, for error cases.
fn edited(from: &str, to: &str) -> String {
    assert!(DL18_2020.contains(from), "the scheme file no longer contains {from:?}");
    DL18_2020.replacen(from, to, 1)
}

fn error(text: &str) -> String {
    Rulebook::from_toml(text).unwrap_err().to_string()
}

#[test]
fn the_embedded_scheme_file_loads_with_the_decree_figures() {
    let book = Rulebook::from_toml(DL18_2020).unwrap();
    assert_eq!(book.exclusions_date(), d(2020, 3, 17));
    assert_eq!(book.decree().name(), "Decreto-legge 17 marzo 2020, n. 18");
    assert_eq!(book.decree().entry_into_force_ref(), "art. 127");
    let ids: Vec<_> = book.schemes().iter().map(Scheme::id).collect();
    assert_eq!(ids, ["art27", "art28", "art29", "art30", "art38"]);
    let limits: Vec<_> =
        book.schemes().iter().map(|s| (s.spending_limit().to_string(), s.spending_limit_ref())).collect();
    assert_eq!(
        limits,
        [
            ("203400000.00".to_owned(), "art. 27 c. 2"),
            ("2160000000.00".to_owned(), "art. 28 c. 2"),
            ("103800000.00".to_owned(), "art. 29 c. 2"),
            ("396000000.00".to_owned(), "art. 30 c. 2"),
            ("48600000.00".to_owned(), "art. 38 c. 3"),
        ]
    );
    for scheme in book.schemes() {
        assert_eq!(scheme.amount(), Cents::from_euros(600));
        assert!(!scheme.taxable());
        assert_eq!(scheme.rule(), scheme.id());
    }
    assert_eq!(book.scheme("art38").unwrap().cite("employment"), "art. 38 c. 2");
    assert_eq!(book.scheme("art38").unwrap().cite("pension"), "art. 38 c. 1");
    assert!(book.scheme("art44").is_none());
    assert_eq!(book.own_fund().unwrap().spending_limit(), Cents::from_euros(300_000_000));
    assert_eq!(book.own_fund().unwrap().spending_limit_ref(), "art. 44 c. 1");
    assert!(format!("{:?}", book.scheme("art27").unwrap().rule).contains("2020-02-23"));
    assert_eq!(Rulebook::dl18_2020().schemes().len(), 5);
}

#[test]
fn each_scheme_asks_for_the_declarations_of_its_article() {
    use DeclarationKind::{NoOtherCompulsoryScheme, NotEmployed, NotPensionHolder, NotRedditoDiCittadinanza};
    let book = Rulebook::dl18_2020();
    let asked = |id: &str| -> Vec<(DeclarationKind, &str)> {
        book.scheme(id).unwrap().declarations().iter().map(|d| (d.kind(), d.legal_ref())).collect()
    };
    let rdc = (NotRedditoDiCittadinanza, "art. 31 c. 1");
    let cases = [
        ("art27", vec![(NotPensionHolder, "art. 27 c. 1"), (NoOtherCompulsoryScheme, "art. 27 c. 1"), rdc]),
        ("art28", vec![(NotPensionHolder, "art. 28 c. 1"), (NoOtherCompulsoryScheme, "art. 28 c. 1"), rdc]),
        ("art29", vec![(NotPensionHolder, "art. 29 c. 1"), (NotEmployed, "art. 29 c. 1"), rdc]),
        ("art30", vec![(NotPensionHolder, "art. 30 c. 1"), rdc]),
        ("art38", vec![(NotPensionHolder, "art. 38 c. 1"), (NotEmployed, "art. 38 c. 2"), rdc]),
    ];
    for (scheme, expected) in cases {
        assert_eq!(asked(scheme), expected, "{scheme}");
    }
    for declaration in book.schemes().iter().flat_map(Scheme::declarations) {
        let words = format!("{} {}", declaration.text_it(), declaration.text_en()).to_lowercase();
        assert!(!words.contains("occasional"), "a compatibility rule is no condition: {words}");
    }
    let groups: Vec<_> = book.cumulations().map(|g| (g.id(), g.period_it(), g.legal_ref())).collect();
    assert_eq!(groups, [("dl18-2020-marzo", "marzo 2020", "art. 31 c. 1")]);
    assert!(book.schemes().iter().all(|s| s.cumulation().id() == "dl18-2020-marzo"));
}

#[test]
fn an_unknown_or_repeated_declaration_is_refused() {
    let err = error(&edited("id = \"not_employed\"", "id = \"occasional_income_within_limit\""));
    assert!(
            err.starts_with("scheme 'art29', declarations[1], key 'id': 'occasional_income_within_limit' is not a declaration; the declarations are 'not_pension_holder'"),
            "{err}"
        );
    let err = error(&edited("id = \"not_employed\"", "id = \"not_pension_holder\""));
    assert_eq!(err, "scheme 'art29', declarations[1], key 'id': 'not_pension_holder' is declared twice; keep one");
}

#[test]
fn dates_may_be_toml_dates_or_iso_strings() {
    let book = Rulebook::from_toml(&edited("value = 2020-02-23", "value = \"2020-02-23\"")).unwrap();
    assert!(format!("{:?}", book.scheme("art27").unwrap().rule).contains("2020-02-23"));
}

#[test]
fn an_unknown_rule_is_named_with_the_known_ones() {
    assert_eq!(
        error(&edited("rule = \"art28\"", "rule = \"art99\"")),
        "scheme 'art28': unknown rule 'art99'; the rules are art27, art28, art29, art30, art38, art84_april, art84_may, art84_cococo"
    );
}

#[test]
fn a_missing_parameter_names_the_scheme_the_rule_and_what_to_write() {
    let err = error(&edited("min_days = { value = 50, ref = \"art. 30 c. 1\" }\n", ""));
    assert!(
        err.starts_with("scheme 'art30': rule 'art30' needs the parameter 'min_days' (a whole number such as 50)"),
        "{err}"
    );
}

#[test]
fn a_misspelt_parameter_is_not_ignored() {
    let err = error(&edited(
        "[scheme.parameters]\nyear = { value = 2019, ref = \"art. 38 c. 1\" }",
        "[scheme.parameters]\nyear = { value = 2019, ref = \"art. 38 c. 1\" }\nmax_incom = { value = \"1.00\", ref = \"x\" }",
    ));
    assert_eq!(
        err,
        "scheme 'art38': rule 'art38' has no parameter 'max_incom'; it knows 'year', 'min_daily_contributions', 'max_income'"
    );
    let err = error(&edited("employment = \"art. 38 c. 2\"", "employmnt = \"art. 38 c. 2\""));
    assert_eq!(err, "scheme 'art38': rule 'art38' has no reference 'employmnt'; it knows 'pension', 'employment'");
}

#[test]
fn bad_money_says_how_to_write_it() {
    assert_eq!(
        error(&edited("\"203400000.00\"", "\"-203400000.00\"")),
        "scheme 'art27', key 'spending_limit.value': '-203400000.00' is negative; amounts and spending limits are zero or more"
    );
    assert_eq!(
        error(&edited("max_income = { value = \"50000.00\"", "max_income = { value = \"50.000,00\"")),
        "scheme 'art38', parameter 'max_income', key 'value': '50.000,00' is not an amount in euros: write digits, optionally a dot and at most two decimals (50000.00)"
    );
    let err = error(&edited("amount = { value = \"600.00\"", "amount = { value = 600.0"));
    assert!(err.starts_with("scheme 'art27', key 'amount.value': 600.0 is not a string"), "{err}");
    let err = error(&edited("amount = { value = \"600.00\"", "amount = { value = \"0.00\""));
    assert!(err.starts_with("scheme 'art27', key 'amount.value': the amount is zero"), "{err}");
}

#[test]
fn bad_dates_and_counts_are_named() {
    assert_eq!(
        error(&edited("value = 2020-02-23", "value = \"23/02/2020\"")),
        "scheme 'art27', parameter 'reference_date', key 'value': \"23/02/2020\" is not a calendar date; write it as 2020-02-23"
    );
    assert!(error(&edited("value = 2020-02-23", "value = 2020-02-23T10:00:00")).contains("is not a calendar date"));
    assert!(
        error(&edited("value = 50,", "value = -50,"))
            .contains("parameter 'min_days', key 'value': -50 is not a whole number")
    );
    let err = error(&edited("cessation_from = { value = 2019-01-01", "cessation_from = { value = 2020-04-01"));
    assert!(err.starts_with("scheme 'art29', parameter 'cessation_from': the window starts on 2020-04-01"), "{err}");
}

#[test]
fn duplicate_and_missing_schemes_are_refused() {
    assert_eq!(
        error(&edited("id = \"art28\"", "id = \"art27\"")),
        "scheme 'art27' is defined twice: every [[scheme]] needs its own id"
    );
    let head = DL18_2020.split("[[scheme]]").next().unwrap();
    assert_eq!(error(head), "the scheme file defines no scheme: add at least one [[scheme]] table");
}

#[test]
fn shape_errors_carry_the_line() {
    let err = error(&edited("title_en = \"Allowance for agricultural workers\"", "titel_en = \"x\""));
    assert!(err.contains("line ") && err.contains("titel_en"), "{err}");
    let err = error(&edited("legal_ref = \"art. 29 c. 1\"", "legal_ref = \"  \""));
    assert_eq!(err, "scheme 'art29', key 'legal_ref': is empty; write the text or reference it stands for");
}

/// The DL 34/2020 file with one edit.
fn edited_dl34(from: &str, to: &str) -> String {
    assert!(DL34_2020.contains(from), "the DL 34 scheme file no longer contains {from:?}");
    DL34_2020.replacen(from, to, 1)
}

#[test]
fn the_dl34_file_loads_with_april_granted_and_may_asking_for_two_incomes() {
    let book = Rulebook::dl34_2020();
    assert_eq!(book.decree().id(), "dl34-2020");
    assert_eq!(book.decree().short(), "DL 34/2020");
    assert_eq!(book.exclusions_date(), d(2020, 5, 19));
    assert!(book.own_fund().is_none());
    let april = book.scheme("art84c1").unwrap();
    assert!(!april.on_application());
    assert_eq!((april.amount(), april.amount_ref()), (Cents::from_euros(600), "art. 84 c. 1"));
    assert_eq!(april.cumulation().id(), "dl34-2020-aprile");
    let may = book.scheme("art84c2").unwrap();
    assert!(may.on_application());
    assert_eq!((may.amount(), may.amount_ref()), (Cents::from_euros(1000), "art. 84 c. 2"));
    assert_eq!(may.cumulation().period_it(), "maggio 2020");
    let figures: Vec<_> = may.figures().iter().map(|f| (f.id(), f.legal_ref())).collect();
    assert_eq!(figures, [("income_2019_bimester_2", "art. 84 c. 2"), ("income_2020_bimester_2", "art. 84 c. 2")]);
}

#[test]
fn every_scheme_belongs_to_exactly_one_cumulation_group() {
    let err = error(&edited(
        "schemes = [\"art27\", \"art28\", \"art29\", \"art30\", \"art38\"]",
        "schemes = [\"art27\", \"art28\", \"art29\", \"art30\"]",
    ));
    assert_eq!(
        err,
        "scheme 'art38': belongs to no [[cumulation]] group; add its id to the group of indemnities it cannot be combined with"
    );
    let err = error(&edited("schemes = [\"art27\", \"art28\"", "schemes = [\"art27\", \"art27\", \"art28\""));
    assert_eq!(
        err,
        "cumulation[0], key 'schemes': scheme 'art27' is already in group 'dl18-2020-marzo'; a scheme belongs to one group"
    );
    let err = error(&edited("schemes = [\"art27\",", "schemes = [\"art99\", \"art27\","));
    assert_eq!(err, "cumulation[0], key 'schemes': 'art99' is not a scheme of this file");
}

#[test]
fn a_rule_and_its_figures_must_agree() {
    let err = Rulebook::from_toml(&edited_dl34("id = \"income_2020_bimester_2\"", "id = \"income_2020\"")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "scheme 'art84c2', key 'figures': rule 'art84_may' needs the figures 'income_2019_bimester_2', 'income_2020_bimester_2' in this order, the file words 'income_2019_bimester_2', 'income_2020'"
    );
    let err =
        Rulebook::from_toml(&edited_dl34("\ngranted = \"automatically\"", "\ngranted = \"by_post\"")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "scheme 'art84c1', key 'granted': 'by_post' is not a way to grant; write 'on_application', 'automatically'"
    );
    let err = Rulebook::from_toml(&edited_dl34("value = 33,", "value = 133,")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "scheme 'art84c2', parameter 'min_income_drop_percent': is a percentage: write a whole number from 1 to 100"
    );
}

#[test]
fn a_protocol_prefix_is_capitals_digits_and_dashes() {
    let err = error(&edited("protocol_prefix = \"INPS-COVID-\"", "protocol_prefix = \"inps covid\""));
    assert!(err.starts_with("key 'decree.protocol_prefix': 'inps covid' is not a protocol prefix"), "{err}");
}

#[test]
fn a_scheme_granted_automatically_needs_a_rule_that_names_its_beneficiaries() {
    let err = Rulebook::from_toml(&edited_dl34("\ngranted = \"automatically\"", "\ngranted = \"on_application\""))
        .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "scheme 'art84c1', key 'granted': rule 'art84_april' grants to another scheme's beneficiaries"
        ),
        "{err}"
    );
    let may = "id = \"art84c2\"\nrule = \"art84_may\"\n";
    let err = Rulebook::from_toml(&edited_dl34(may, &format!("{may}granted = \"automatically\"\n"))).unwrap_err();
    assert!(err.to_string().starts_with("scheme 'art84c2', key 'granted': rule 'art84_may' names no scheme"), "{err}");
    assert_eq!(Rulebook::dl34_2020().scheme("art84c1").unwrap().beneficiaries_of(), Some("art27"));
    assert_eq!(Rulebook::dl34_2020().scheme("art84c2").unwrap().beneficiaries_of(), None);
}

#[test]
fn each_decree_has_its_own_days_for_applications() {
    let march = Rulebook::dl18_2020();
    assert_eq!(march.decree().applications().opens(), d(2020, 4, 1), "INPS opened the service on 1 April 2020");
    assert_eq!(march.decree().applications().closes(), d(2020, 6, 3));
    let may = Rulebook::dl34_2020();
    assert!(may.decree().applications().opens() > may.decree().entry_into_force());
    let err = error(&edited("closes = 2020-06-03", "closes = 2020-03-31"));
    assert!(err.starts_with("key 'decree.applications': closes on 2020-03-31 before it opens on 2020-04-01"), "{err}");
    let err = error(&edited("opens = 2020-04-01", "opens = \"1 April\""));
    assert!(err.starts_with("key 'decree.applications.opens': \"1 April\" is not a calendar date"), "{err}");
}

#[test]
fn the_rest_of_art_84_loads_with_its_amounts_and_months() {
    let book = Rulebook::dl34_2020();
    let cases = [
        ("art84c3", true, 1000, "dl34-2020-maggio", None),
        ("art84c4", false, 600, "dl34-2020-aprile", Some("art28")),
        ("art84c5", false, 600, "dl34-2020-aprile", Some("art29")),
        ("art84c7", false, 500, "dl34-2020-aprile", Some("art30")),
        ("art84c10", false, 600, "dl34-2020-aprile", Some("art38")),
    ];
    for (id, applied, euros, group, after) in cases {
        let scheme = book.scheme(id).unwrap();
        assert_eq!(scheme.on_application(), applied, "{id}");
        assert_eq!(scheme.amount(), Cents::from_euros(euros), "{id}");
        assert_eq!(scheme.cumulation().id(), group, "{id}");
        assert_eq!(scheme.beneficiaries_of(), after, "{id}");
        assert!(scheme.amount_ref().starts_with("art. 84 c. "), "{id}");
    }
    let err = Rulebook::from_toml(&edited_dl34("value = 2020-02-24,", "value = 2020-06-24,")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "scheme 'art84c3', parameter 'ceased_by': is before ceased_from; write the later day last"
    );
}

#[test]
fn the_decree_says_which_intermediaries_may_file_for_citizens() {
    use crate::intermediaries::IntermediaryKind::{Caf, Consulente, ContactCenter, Patronato};
    let book = Rulebook::dl18_2020();
    assert!(book.decree().may_be_filed_by(Patronato));
    assert!(book.decree().may_be_filed_by(ContactCenter));
    assert!(!book.decree().may_be_filed_by(Consulente));
    assert!(!book.decree().may_be_filed_by(Caf));
    assert!(book.decree().filed_by().legal_ref.contains("1381"));
    // Without the key, only citizens file.
    let start = DL18_2020.find("filed_by = ").unwrap();
    let end = start + DL18_2020[start..].find('\n').unwrap();
    let without = format!("{}{}", &DL18_2020[..start], &DL18_2020[end..]);
    let book = Rulebook::from_toml(&without).unwrap();
    assert!(IntermediaryKind::ALL.iter().all(|k| !book.decree().may_be_filed_by(*k)));
    let wrong = edited(r#"kinds = ["patronato", "contact_center"]"#, r#"kinds = ["patronato", "sindacato"]"#);
    assert_eq!(
        error(&wrong),
        "key 'decree.filed_by.kinds': 'sindacato' is not a kind of intermediary; the kinds are patronato, caf, \
         consulente, contact_center"
    );
}
