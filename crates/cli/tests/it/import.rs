//! `sportello registry import` and `generate`: strict and lenient imports, atomic replacement, determinism.

use crate::support::{HEADER, Sandbox, stderr, stdout};

const VALID: &str = "RSSMRA80A01H501U,gestione_separata_professionista,2015-06-01,,,,,\n\
                     MRTMRA83T56A269B,stagionale_turismo,2019-06-01,2019-09-30,,,,involuntary\n\
                     RSSMRA80A01H501U,lavoro_dipendente,2010-01-01,2015-05-31,,,,\n\
                     MRTMRA83T56A269B,operaio_agricolo_td,,,2019,62,,\n";

fn check_json(sandbox: &Sandbox, cf: &str) -> serde_json::Value {
    let out = sandbox.run(&["check", "--cf", cf]);
    assert!(out.status.success(), "check {cf}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn a_valid_extract_is_imported_and_summarised() {
    let sandbox = Sandbox::new();
    let file = sandbox.file("extract.csv", &format!("{HEADER}{VALID}"));
    let out = sandbox.run(&["registry", "import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("imported 4 rows (2 people)"), "{}", stderr(&out));
    assert_eq!(check_json(&sandbox, "rssmra80a01h501u")["codice_fiscale"], "RSSMRA80A01H501U");
}

#[test]
fn any_invalid_row_fails_the_import_listing_every_error_and_writing_nothing() {
    let sandbox = Sandbox::new();
    let good = sandbox.file("good.csv", &format!("{HEADER}{VALID}"));
    assert!(sandbox.run(&["registry", "import", good.to_str().unwrap()]).status.success());

    let bad = format!(
        "{HEADER}CCCFBA85D03L21VE,artigiano,2001-01-01,,,,,\n\
         RSSMRA80A01H501X,pensione,2020-13-01,,,,,\n\
         CCCFBA85D03L21VE,operaio_agricolo_td,,,2019,many,,\n\
         CCCFBA85D03L21VE,commerciante,2001-01-01,2000-01-01,,,,\n"
    );
    let file = sandbox.file("bad.csv", &bad);
    let out = sandbox.run(&["registry", "import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for expected in [
        "line 3, column 1: codice_fiscale: the check character",
        "line 3, column 3: start: '2020-13-01' is not a date",
        "line 4, column 6: days: 'many' is not a whole number",
        "line 5, column 4: end: the end 2000-01-01 is before the start 2001-01-01",
        "3 invalid row(s)",
        "registry is unchanged",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    // The earlier registry is still there, and the valid row of the bad file was not imported.
    assert_eq!(check_json(&sandbox, "RSSMRA80A01H501U")["codice_fiscale"], "RSSMRA80A01H501U");
    let out = sandbox.run(&["check", "--cf", "CCCFBA85D03L21VE"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn skip_invalid_imports_the_rest_and_writes_the_rejects_with_reasons() {
    let sandbox = Sandbox::new();
    let file = sandbox.file(
        "mixed.csv",
        &format!("{HEADER}{VALID}CCCFBA85D03L21VE,astronauta,2001-01-01,,,,,\nRSSMRA80A01H501U,pensione,,,,,,\n"),
    );
    let rejects = sandbox.path("rejects.csv");
    let out = sandbox.run(&[
        "registry",
        "import",
        file.to_str().unwrap(),
        "--skip-invalid",
        "--rejects",
        rejects.to_str().unwrap(),
        "--max-invalid",
        "50",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("imported 4 rows (2 people)"), "{}", stderr(&out));
    assert!(stderr(&out).contains("rejected 2 invalid rows"), "{}", stderr(&out));

    let mut reader = csv::Reader::from_path(&rejects).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header[..2], ["line", "errors"]);
    assert_eq!(header[2], "codice_fiscale");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][0], "6");
    assert!(rows[0][1].contains("column 2 (position): 'astronauta' is not a kind of position"), "{:?}", rows[0]);
    assert_eq!(&rows[0][3], "astronauta");
    assert_eq!(&rows[1][0], "7");
    assert!(rows[1][1].contains("column 3 (start): is required"), "{:?}", rows[1]);
}

#[test]
fn a_new_extract_replaces_the_old_one_whole() {
    let sandbox = Sandbox::new();
    let first = sandbox.file("first.csv", &format!("{HEADER}{VALID}"));
    assert!(sandbox.run(&["registry", "import", first.to_str().unwrap()]).status.success());
    let second = sandbox.file("second.csv", &format!("{HEADER}CCCFBA85D03L21VE,artigiano,2001-01-01,,,,,\n"));
    let out = sandbox.run(&["registry", "import", second.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(check_json(&sandbox, "CCCFBA85D03L21VE")["schemes"].is_array());
    let gone = sandbox.run(&["check", "--cf", "RSSMRA80A01H501U"]);
    assert_eq!(gone.status.code(), Some(2));
    assert!(stderr(&gone).contains("is not in the registry"), "{}", stderr(&gone));
}

#[test]
fn header_mistakes_and_empty_files_are_refused() {
    let sandbox = Sandbox::new();
    let cases = [
        ("wrong-header.csv", "codice_fiscale,kind,start,end,year,days,income_eur,cessation\n", "line 1, column 2"),
        ("empty.csv", "", "line 1, column 1: the file is empty"),
        ("header-only.csv", HEADER, "has no valid row"),
    ];
    for (name, contents, expected) in cases {
        let file = sandbox.file(name, contents);
        let out = sandbox.run(&["registry", "import", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert!(stderr(&out).contains(expected), "{name}: {}", stderr(&out));
    }
    let out = sandbox.run(&["registry", "import", "missing.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read missing.csv"), "{}", stderr(&out));
}

#[test]
fn dry_run_validates_without_touching_the_database() {
    let sandbox = Sandbox::new();
    let file = sandbox.file("extract.csv", &format!("{HEADER}{VALID}"));
    let out = sandbox.run(&["registry", "import", "--dry-run", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("is valid: 4 rows checked"), "{}", stderr(&out));
    assert_eq!(sandbox.run(&["check", "--cf", "RSSMRA80A01H501U"]).status.code(), Some(2));
}

#[test]
fn generated_extracts_are_deterministic_and_import_cleanly() {
    let sandbox = Sandbox::new();
    let a = sandbox.path("a.csv");
    let b = sandbox.path("b.csv");
    for path in [&a, &b] {
        let out =
            sandbox.run(&["registry", "generate", "--persons", "2000", "--seed", "9", "--out", path.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let out = sandbox.run(&["registry", "import", a.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("(2000 people)"), "{}", stderr(&out));
}
