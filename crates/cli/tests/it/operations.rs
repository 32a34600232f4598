//! The operator's commands as an operator meets them (issue 14, item 11): imports that refuse a wrong file, payment
//! runs that pay only what their date allows and name every holder, files only their owner reads, commands that
//! only read and so create nothing, who set a limit, errors that name the valid values, the persons import and an
//! officer's confirmation of identity.

use std::path::Path;

use sportello_store::{ApplicationStatus, FirstHalfTo, NewApplication, NewPin, Submission};

use crate::payments::{applications, click_day, end_to_end_ids, name, pay, person};
use crate::support::{HEADER, Sandbox, stderr, stdout};

const VALID: &str = "RSSMRA80A01H501U,gestione_separata_professionista,2015-03-01,,,,,\n";

/// An extract of one valid row and seven invalid ones, as the report that found the hole had it.
fn mostly_invalid(sandbox: &Sandbox) -> std::path::PathBuf {
    let bad: String = (0..7).map(|i| format!("RSSMRA80A01H501U,astronauta{i},2015-03-01,,,,,\n")).collect();
    sandbox.file("mostly-invalid.csv", &format!("{HEADER}{VALID}{bad}"))
}

fn import(sandbox: &Sandbox, file: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["registry", "import", file.to_str().unwrap()];
    args.extend(extra);
    sandbox.run(&args)
}

#[test]
fn skip_invalid_refuses_a_file_mostly_invalid_unless_forced() {
    let sandbox = Sandbox::new();
    let good = sandbox.file("good.csv", &format!("{HEADER}{VALID}MRTMRA83T56A269B,artigiano,2010-01-01,,,,,\n"));
    assert!(import(&sandbox, &good, &[]).status.success());
    let file = mostly_invalid(&sandbox);
    let rejects = sandbox.path("rejects.csv");
    let lenient = ["--skip-invalid", "--rejects", rejects.to_str().unwrap()];

    let refused = import(&sandbox, &file, &lenient);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("7 of the 8 rows"), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("more than the 1% allowed"), "{}", stderr(&refused));
    // The registry is the one before: both people are still in it.
    assert!(sandbox.run(&["check", "--cf", "MRTMRA83T56A269B"]).status.success());

    let mut raised = lenient.to_vec();
    raised.extend(["--max-invalid", "80"]);
    let refused = import(&sandbox, &file, &raised);
    assert_eq!(refused.status.code(), Some(2), "87.5% is still more than 80%: {}", stderr(&refused));

    let mut forced = lenient.to_vec();
    forced.push("--force");
    let out = import(&sandbox, &file, &forced);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("imported 1 rows (1 people)"), "{}", stderr(&out));
    assert_eq!(sandbox.run(&["check", "--cf", "MRTMRA83T56A269B"]).status.code(), Some(2), "replaced, as forced");
    // The rejects hold codici fiscali: the operator's alone.
    assert_eq!(mode(&rejects), 0o600);
}

#[test]
fn rejects_and_the_share_of_invalid_rows_need_skip_invalid() {
    let sandbox = Sandbox::new();
    let file = mostly_invalid(&sandbox);
    for extra in [&["--rejects", "r.csv"][..], &["--force"], &["--max-invalid", "5"]] {
        let out = import(&sandbox, &file, extra);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("--skip-invalid"), "{extra:?}: {}", stderr(&out));
    }
    let out = import(&sandbox, &file, &["--skip-invalid", "--rejects", "r.csv", "--max-invalid", "150"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("a number from 0 to 100"), "{}", stderr(&out));
    assert!(!sandbox.path("sportello.db").exists(), "no database was created");
}

#[tokio::test]
async fn a_run_pays_only_what_was_accepted_before_its_date() {
    let sandbox = Sandbox::new();
    let (store, protocols) = applications(&sandbox, &["art27", "art27"], |_| false).await;
    // Applied today, years after the run's date.
    let today = store
        .submit(NewApplication {
            codice_fiscale: person(2),
            scheme: "art27".to_owned(),
            cumulation_group: "dl18-2020-marzo".to_owned(),
            protocol_prefix: "INPS-COVID-".to_owned(),
            idempotency_key: sportello_domain::IdempotencyKey::parse("today").unwrap(),
            status: ApplicationStatus::Accepted,
            reasons: Vec::new(),
            details: serde_json::json!({ "payment": { "method": "iban", "iban": "IT60X0542811101000000123456" } }),
            submitted_at: chrono::Utc::now(),
            hold: None,
        })
        .await
        .unwrap();
    assert!(matches!(today, Submission::Created(_)));
    name(store.as_ref(), &[0, 1, 2]).await;
    let out_dir = sandbox.path("out");
    // The date as Italians write it is taken too.
    let out = pay(&sandbox, "15/04/2020", &out_dir, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("payment run 1 for 2020-04-15"), "{}", stdout(&out));
    let xml = std::fs::read_to_string(out_dir.join("pain001-2020-04-15.xml")).unwrap();
    assert_eq!(end_to_end_ids(&xml), protocols, "the application made today waits");
    // The files carry names and accounts: the operator's alone, like the PIN files.
    for name in ["pain001-2020-04-15.xml", "summary-2020-04-15.json"] {
        assert_eq!(mode(&out_dir.join(name)), 0o600, "{name}");
    }

    let bad = pay(&sandbox, "2020-15-04", &out_dir, &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("2020-04-15") && stderr(&bad).contains("15/04/2020"), "{}", stderr(&bad));
}

#[tokio::test]
async fn a_transfer_without_the_holders_name_is_refused_whole_and_takes_no_run_number() {
    let sandbox = Sandbox::new();
    let (store, protocols) = applications(&sandbox, &["art27", "art27", "art28", "art28"], |n| n == 3).await;
    // Person 1 (a transfer) and person 3 (cash, which needs no name) have no record.
    name(store.as_ref(), &[0, 2]).await;
    let out_dir = sandbox.path("out");
    let refused = pay(&sandbox, "2020-04-15", &out_dir, &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("1 transfer(s) of the run for 2020-04-15 have no holder's name"),
        "{}",
        stderr(&refused)
    );
    let written = std::fs::read_dir(&out_dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(written, 0, "nothing written, not even half");
    assert!(store.payments_of(&person(0)).await.unwrap().is_empty(), "nobody assigned to a run");

    name(store.as_ref(), &[0, 1, 2]).await;
    let out = pay(&sandbox, "2020-04-15", &out_dir, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("payment run 1 for"), "the refused run took no number: {}", stdout(&out));
    let xml = std::fs::read_to_string(out_dir.join("pain001-2020-04-15.xml")).unwrap();
    assert!(xml.contains(&format!("<Nm>Mario Rossi {}</Nm>", &person(1).as_str()[..6])), "{xml}");
    assert!(!xml.contains(&format!("<Nm>{}</Nm>", person(1))), "a codice fiscale is no name");
    assert_eq!(end_to_end_ids(&xml), [protocols[0].clone(), protocols[1].clone(), protocols[2].clone()]);
    assert_eq!(mode(&out_dir.join("domiciliati-2020-04-15.csv")), 0o600);
    // Runs follow each other: the same date again is the same run, the next date the next number.
    let again = stdout(&pay(&sandbox, "2020-04-15", &out_dir, &[]));
    assert!(again.contains("(already made; its files written again) 1 for"), "{again}");
    assert!(stdout(&pay(&sandbox, "2020-04-30", &out_dir, &[])).contains("payment run 2 for"));
}

#[test]
fn read_commands_create_no_database_and_write_no_history() {
    let sandbox = Sandbox::new();
    let missing = sandbox.path("elsewhere/sportello.db");
    let url = format!("sqlite://{}", missing.display());
    for args in [&["check", "--cf", "RSSMRA80A01H501U"][..], &["budget", "show"]] {
        let out = crate::support::run_in(sandbox.dir.path(), &url, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("there is no database at"), "{args:?}: {}", stderr(&out));
        assert!(!missing.exists() && !missing.parent().unwrap().exists(), "{args:?} created the database");
    }

    // On a database that exists, `budget show` records nothing: the limits come from the scheme file until a
    // command that writes records them.
    let file = sandbox.file("extract.csv", &format!("{HEADER}{VALID}"));
    assert!(import(&sandbox, &file, &[]).status.success());
    for _ in 0..2 {
        let out = sandbox.run(&["budget", "show"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).contains("art27: limit 203400000.00 EUR (art. 27 c. 2), 600.00 EUR each; not recorded"),
            "{}",
            stdout(&out)
        );
        assert!(stdout(&out).ends_with("history:\n"), "no history written: {}", stdout(&out));
    }
}

#[test]
fn budget_set_records_who_set_it_and_refuses_a_limit_below_what_is_reserved() {
    let sandbox = Sandbox::new();
    let unknown = sandbox.run(&["budget", "set", "art99", "1", "--ref", "x", "--by", "m.bianchi"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("the schemes are art27, art28"), "{}", stderr(&unknown));

    let out =
        sandbox.run(&["budget", "set", "art27", "3000000000", "--ref", "DL 34/2020 art. 84", "--by", "m.bianchi"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("set by m.bianchi"), "{}", stdout(&out));
    // Without --by, the account running the command.
    let out = crate::support::run_in_env(
        sandbox.dir.path(),
        &sandbox.database_url,
        &["budget", "set", "art28", "2200000000", "--ref", "DL 34/2020 art. 85"],
        &[("USER", "operatore")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let history = stdout(&sandbox.run(&["budget", "show"]));
    assert!(
        history.contains("art27: 3000000000.00 EUR (DL 34/2020 art. 84), set by m.bianchi, 0 released"),
        "{history}"
    );
    assert!(
        history.contains("art28: 2200000000.00 EUR (DL 34/2020 art. 85), set by operatore, 0 released"),
        "{history}"
    );
}

#[tokio::test]
async fn a_limit_below_what_is_reserved_is_refused() {
    let sandbox = Sandbox::new();
    applications(&sandbox, &["art27", "art27"], |_| false).await;
    let out = sandbox.run(&["budget", "set", "art27", "600", "--ref", "wrong", "--by", "m.bianchi"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("below the 1200.00 already reserved"), "{}", stderr(&out));
    assert!(!stdout(&sandbox.run(&["budget", "show"])).contains("wrong"), "a refused limit is not in the history");
}

#[test]
fn an_officers_account_names_their_codice_fiscale_once_and_is_disabled_by_user_name() {
    let sandbox = Sandbox::new();
    let password = "una password lunga abbastanza";
    let with = |username: &str, cf: &str| {
        ["--username", username, "--name", "Anna Verdi", "--role", "auditor", "--codice-fiscale", cf]
            .map(str::to_owned)
            .to_vec()
    };
    fn args(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let wrong = sandbox.add_officer(&args(&with("averdi", "VRDNNA80A41H501X")), password);
    assert_eq!(wrong.status.code(), Some(2), "{}", stderr(&wrong));
    assert!(stderr(&wrong).contains("'VRDNNA80A41H501X' is not a valid codice fiscale"), "{}", stderr(&wrong));
    let cf = person(1).to_string();
    let out = sandbox.add_officer(&args(&with("averdi", &cf)), password);
    assert!(out.status.success(), "{}", stderr(&out));
    let again = sandbox.add_officer(&args(&with("anna.verdi", &cf)), password);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("one for the same codice fiscale, exists already"), "{}", stderr(&again));
    assert_eq!(stdout(&sandbox.run(&["officers", "list"])).lines().count(), 1, "the second account is not stored");

    let unknown = sandbox.run(&["officers", "disable", "--username", "nessuno"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("no officer's account is named 'nessuno'"), "{}", stderr(&unknown));
    let out = sandbox.run(&["officers", "disable", "--username", "averdi"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&sandbox.run(&["officers", "list"])).contains("averdi\tauditor\tAnna Verdi (disabled)"));
}

#[test]
fn errors_name_the_valid_values() {
    let sandbox = Sandbox::new();
    let kind = sandbox.file("kind.csv", &format!("{HEADER}RSSMRA80A01H501U,astronauta,2015-03-01,,,,,\n"));
    let out = import(&sandbox, &kind, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the kinds are gestione_separata_professionista, gestione_separata_cococo"),
        "{}",
        stderr(&out)
    );
    let semicolons = sandbox.file("excel.csv", &format!("{}{}", HEADER.replace(',', ";"), VALID.replace(',', ";")));
    let out = import(&sandbox, &semicolons, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("separated by semicolons"), "{}", stderr(&out));
}

#[test]
fn output_cut_short_by_its_reader_is_no_error() {
    let sandbox = Sandbox::new();
    let file = sandbox.file("extract.csv", &format!("{HEADER}{VALID}"));
    assert!(import(&sandbox, &file, &[]).status.success());
    for args in [&["check", "--cf", "RSSMRA80A01H501U"][..], &["budget", "show"], &["--help"]] {
        // A reader that has gone before the command writes, as `head` does once it has its lines.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sportello"))
            .args(args)
            .current_dir(sandbox.dir.path())
            .env("SPORTELLO_DATABASE_URL", &sandbox.database_url)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        assert!(
            !stderr(&out).contains("Broken pipe") && !stderr(&out).contains("panicked"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn help_texts_promise_nothing_later_and_name_paths_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sandbox = Sandbox::new();
    let top = stdout(&sandbox.run(&["--help"]));
    assert!(!top.contains("(later)"), "{top}");
    let mut texts = vec![top];
    for command in [
        &["registry", "import"][..],
        &["registry", "persons"],
        &["registry", "generate"],
        &["check"],
        &["payments", "run"],
        &["budget", "set"],
        &["pin", "confirm"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        texts.push(stdout(&sandbox.run(&args)));
    }
    let mut named = 0;
    for text in &texts {
        for word in text.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | ';' | '`')) {
            let word = word.trim_end_matches('.');
            if word.starts_with("docs/") || word.starts_with("schemes/") {
                named += 1;
                assert!(root.join(word).is_file(), "the help names {word}, which does not exist");
            }
        }
    }
    assert!(named >= 3, "the help names the specifications and the scheme file ({named})");
}

#[tokio::test]
async fn the_persons_import_is_all_or_nothing_with_line_numbered_errors() {
    let sandbox = Sandbox::new();
    let header = "codice_fiscale,cognome,nome,data_nascita,indirizzo,cap,comune,provincia,email,cellulare\n";
    let rossi = "RSSMRA80A01H501U,Rossi,Mario,1980-01-01,Via Appia Nuova 12,00183,Roma,RM,mario.rossi@example.it,+393331234567\n";
    let martini = "MRTMRA83T56A269B,Martini,Maria,1983-12-16,,,,,,\n";
    let good = sandbox.file("persons.csv", &format!("{header}{rossi}{martini}"));
    let out = sandbox.run(&["registry", "persons", good.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("imported 2 personal records"), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 with a contact on file, 1 with a residence"), "{}", stderr(&out));

    let broken = sandbox.file(
        "broken.csv",
        &format!("{header}MRTMRA83T56A269B,Martini,Maria,1983-12-16,,,,,,\nRSSMRA80A01H501U,R0ssi,Mario,1980-01-01,,,,,,\n{martini}"),
    );
    let out = sandbox.run(&["registry", "persons", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let errors = stderr(&out);
    assert!(errors.contains("line 3, column 2: cognome:"), "{errors}");
    assert!(
        errors.contains("line 4, column 1: codice_fiscale: MRTMRA83T56A269B appears twice: on line 2 and on this line"),
        "{errors}"
    );
    assert!(errors.contains("nothing was imported"), "{errors}");
    let store = sportello_store::open(&sandbox.database_url).await.unwrap();
    let rossi = store.person(&sportello_domain::CodiceFiscale::parse("RSSMRA80A01H501U").unwrap()).await.unwrap();
    assert_eq!(rossi.map(|p| p.full_name()), Some("Mario Rossi".to_owned()), "the records before stay");
}

#[tokio::test]
async fn generated_registries_come_with_a_persons_file_that_imports() {
    let sandbox = Sandbox::new();
    let extract = sandbox.path("extract.csv");
    let out = sandbox.run(&["registry", "generate", "--persons", "300", "--out", extract.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let persons = sandbox.path("extract-persons.csv");
    assert!(stderr(&out).contains("200 with a contact on file"), "{}", stderr(&out));
    assert!(import(&sandbox, &extract, &[]).status.success());
    let out = sandbox.run(&["registry", "persons", persons.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("imported 300 personal records"), "{}", stderr(&out));
}

#[tokio::test]
async fn an_officer_confirms_an_identity_and_releases_what_was_held() {
    let sandbox = Sandbox::new();
    let store = sportello_store::open(&sandbox.database_url).await.unwrap();
    let cf = person(5);
    let pin = NewPin {
        codice_fiscale: cf,
        slot: 0,
        full_hash: "$argon2id$test$full".to_owned(),
        simplified_hash: "$argon2id$test$half".to_owned(),
        issued_at: click_day(),
        first_half_to: FirstHalfTo::Given,
    };
    assert!(store.put_pin(pin, &[]).await.unwrap());
    let credential = store.pins_of(&cf).await.unwrap().remove(0);
    let held = store
        .submit(NewApplication {
            codice_fiscale: cf,
            scheme: "art27".to_owned(),
            cumulation_group: "dl18-2020-marzo".to_owned(),
            protocol_prefix: "INPS-COVID-".to_owned(),
            idempotency_key: sportello_domain::IdempotencyKey::parse("held").unwrap(),
            status: ApplicationStatus::Accepted,
            reasons: Vec::new(),
            details: serde_json::json!({ "payment": { "method": "domiciliato" } }),
            submitted_at: click_day(),
            hold: Some(credential.reference()),
        })
        .await
        .unwrap();
    let Submission::Created(held) = held else { panic!("{held:?}") };

    let nobody = sandbox.run(&["pin", "confirm", "--cf", person(6).as_str(), "--by", "m.bianchi"]);
    assert_eq!(nobody.status.code(), Some(2), "{}", stderr(&nobody));
    assert!(stderr(&nobody).contains("holds no PIN"), "{}", stderr(&nobody));

    let out = sandbox.run(&["pin", "confirm", "--cf", cf.as_str(), "--by", "m.bianchi"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("identity confirmed by m.bianchi; 1 application(s) released for payment"), "{text}");
    assert!(text.contains(&format!("{} (art27)", held.protocol)), "{text}");
    assert_eq!(store.application(&cf, &held.protocol).await.unwrap().unwrap().hold, None);
    assert!(store.pins_of(&cf).await.unwrap()[0].confirmed());
    let audit = store.audit_of(&cf, 5).await.unwrap();
    assert!(audit.iter().any(|e| e.actor == "m.bianchi" && e.action == "confirm_identity"), "{audit:?}");

    let again = sandbox.run(&["pin", "confirm", "--cf", cf.as_str(), "--by", "m.bianchi"]);
    assert!(stdout(&again).contains("no application was held for payment"), "{}", stdout(&again));
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
