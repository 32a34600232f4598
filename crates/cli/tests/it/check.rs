//! `sportello check` — the JSON contract outside tests rely on — and `sportello demo`.

use crate::support::{HEADER, Sandbox, run_in, stderr, stdout};

fn imported(rows: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    let file = sandbox.file("extract.csv", &format!("{HEADER}{rows}"));
    let out = sandbox.run(&["registry", "import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    sandbox
}

#[test]
fn prints_one_entry_per_scheme_with_reasons() {
    let sandbox = imported("RSSMRA80A01H501U,gestione_separata_professionista,2015-06-01,,,,,\n");
    let out = sandbox.run(&["check", "--cf", "RSSMRA80A01H501U"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let object = json.as_object().unwrap();
    assert_eq!(object.keys().collect::<Vec<_>>(), ["codice_fiscale", "schemes"]);
    assert_eq!(json["codice_fiscale"], "RSSMRA80A01H501U");
    let schemes = json["schemes"].as_array().unwrap();
    let ids: Vec<&str> = schemes.iter().map(|s| s["scheme"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "art27", "art28", "art29", "art30", "art38", "art84c1", "art84c2", "art84c3", "art84c4", "art84c5",
            "art84c7", "art84c10"
        ],
        "every decree in force"
    );
    for scheme in schemes {
        let mut keys: Vec<&String> = scheme.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["decree", "eligible", "period", "reasons", "scheme"], "{scheme}");
        let reasons = scheme["reasons"].as_array().unwrap();
        assert!(!reasons.is_empty(), "{scheme}");
        for reason in reasons {
            let mut keys: Vec<&String> = reason.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(keys, ["article", "code", "en", "it"]);
            assert!(reason["article"].as_str().unwrap().starts_with("art. "), "{reason}");
        }
    }
    let eligible: Vec<&str> =
        schemes.iter().filter(|s| s["eligible"] == true).map(|s| s["scheme"].as_str().unwrap()).collect();
    assert_eq!(eligible, ["art27", "art84c2"], "March's art. 27, and May's to be declared; April's follows a grant");
    assert_eq!(
        (&schemes[0]["decree"], &schemes[0]["period"]),
        (&serde_json::json!("DL 18/2020"), &serde_json::json!("marzo 2020"))
    );
    assert_eq!(
        (&schemes[6]["decree"], &schemes[6]["period"]),
        (&serde_json::json!("DL 34/2020"), &serde_json::json!("maggio 2020"))
    );
}

#[test]
fn an_invalid_codice_fiscale_exits_2_with_the_reason() {
    let sandbox = imported("RSSMRA80A01H501U,pensione,2015-06-01,,,,,\n");
    let out = sandbox.run(&["check", "--cf", "RSSMRA80A01H501X"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("check character"), "{}", stderr(&out));
    let out = sandbox.run(&["check", "--cf", "RSSMRA"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("16 characters"), "{}", stderr(&out));
}

#[test]
fn a_codice_fiscale_absent_from_the_registry_exits_2() {
    let sandbox = imported("RSSMRA80A01H501U,pensione,2015-06-01,,,,,\n");
    let out = sandbox.run(&["check", "--cf", "MRTMRA83T56A269B"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("MRTMRA83T56A269B is not in the registry"), "{}", stderr(&out));
}

#[test]
fn before_any_import_the_error_says_what_to_do() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&["check", "--cf", "RSSMRA80A01H501U"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("sportello registry import"), "{}", stderr(&out));
}

#[test]
fn a_scheme_file_changes_the_decision_without_new_code() {
    let sandbox = imported("RSSMRA80A01H501U,gestione_separata_cococo,2020-03-01,,,,,\n");
    let decide = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["check", "--cf", "RSSMRA80A01H501U"];
        args.extend_from_slice(extra);
        let out = sandbox.run(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    };
    assert_eq!(decide(&[])["schemes"][0]["eligible"], false, "a co.co.co. from 1 March was not active on 23 February");
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemes/dl18-2020.toml")).unwrap();
    let later = shipped.replace("reference_date = { value = 2020-02-23", "reference_date = { value = 2020-03-15");
    assert_ne!(later, shipped, "the scheme file names the art. 27 reference date");
    let file = sandbox.file("later.toml", &later);
    assert_eq!(decide(&["--schemes", file.to_str().unwrap()])["schemes"][0]["eligible"], true);

    let broken = sandbox.file("broken.toml", "this is not a scheme file");
    let out = sandbox.run(&["check", "--cf", "RSSMRA80A01H501U", "--schemes", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("the scheme file"), "{}", stderr(&out));
}

#[test]
fn the_demo_imports_a_registry_and_shows_decisions() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&["demo", "--persons", "1500", "--no-serve"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Sportello demo: 1500 people"), "{text}");
    assert!(text.contains("spetta"), "{text}");
    assert!(text.contains("art. 31"), "the RdC recipient's reason cites art. 31:\n{text}");
    assert!(text.contains("art. 44"), "the cassa privata member is pointed to art. 44:\n{text}");
    assert!(sandbox.path("sportello-data/demo-registry.csv").exists());
    // The printed command works on the same database.
    let cf = text.rsplit("--cf ").next().unwrap().trim();
    let out = sandbox.run(&["check", "--cf", cf]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[tokio::test]
async fn postgres_urls_work_as_well_as_sqlite_ones() {
    let Some(database) = sportello_store::testing::TestDatabase::create().await else { return };
    let sandbox = Sandbox::new();
    let file = sandbox.file("extract.csv", &format!("{HEADER}MRTMRA83T56A269B,operaio_agricolo_td,,,2019,50,,\n"));
    let import = run_in(sandbox.dir.path(), &database.url, &["registry", "import", file.to_str().unwrap()]);
    let check = run_in(sandbox.dir.path(), &database.url, &["check", "--cf", "MRTMRA83T56A269B"]);
    let absent = run_in(sandbox.dir.path(), &database.url, &["check", "--cf", "RSSMRA80A01H501U"]);
    database.drop_database().await;

    assert!(import.status.success(), "{}", stderr(&import));
    assert!(check.status.success(), "{}", stderr(&check));
    let json: serde_json::Value = serde_json::from_str(&stdout(&check)).unwrap();
    assert_eq!(json["schemes"][3]["scheme"], "art30");
    assert_eq!(json["schemes"][3]["eligible"], true, "50 days in 2019 is enough: {json}");
    assert_eq!(absent.status.code(), Some(2));
}
