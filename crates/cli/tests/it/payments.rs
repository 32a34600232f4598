//! `sportello payments run|reconcile` and `sportello budget`: the SEPA file is valid against the official schema,
//! every accepted application is paid exactly once (reruns, a crash in the middle, concurrent runs), and a payment
//! the bank returns is paid again, once, after its citizen gives a new account.
//!
//! The schema check needs Python with `lxml` and the PyPI package `sepaxml`, which ships the official
//! pain.001.001.03 XSD (`python3 -m pip install sepaxml lxml`); without them the check is skipped with a message,
//! except under `CI=true`, where it fails.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sportello_domain::{Cents, CodiceFiscale, Iban};
use sportello_store::{ApplicationStatus, BudgetSeed, NewApplication, Store, Submission};

use crate::support::{Sandbox, stderr, stdout};

const IBAN: &str = "IT60X0542811101000000123456";
const NEW_IBAN: &str = "IT61X0306909606100000063270";
const DEBTOR: [&str; 4] = ["--debtor-iban", "IT60X0542811101000000123456", "--debtor-bic", "BPPIITRRXXX"];

/// The `n`-th test person (six letters from `n`, born 01/01/1980 in Rome).
pub fn person(mut n: u32) -> CodiceFiscale {
    let mut letters = [b'A'; 6];
    for slot in letters.iter_mut().rev() {
        *slot = b'A' + (n % 26) as u8;
        n /= 26;
    }
    let letters = String::from_utf8(letters.to_vec()).unwrap();
    CodiceFiscale::with_check_character(&format!("{letters}80A01H501")).unwrap()
}

/// 1 April 2020, 10:00 in Rome: when the test applications are submitted, before every run's date.
pub fn click_day() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2020-04-01T10:00:00+02:00").unwrap().to_utc()
}

/// Replaces the personal records with records for persons `ns` (named "Mario Rossi N…", with the letters of `n`).
pub async fn name(store: &dyn Store, ns: &[u32]) {
    let records: Vec<_> = ns
        .iter()
        .map(|&n| sportello_domain::persons::PersonRecord {
            codice_fiscale: person(n),
            cognome: format!("Rossi {}", &person(n).as_str()[..6]),
            nome: "Mario".to_owned(),
            data_nascita: chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap(),
            residence: None,
            email: None,
            cellulare: None,
        })
        .collect();
    let mut import = store.begin_persons_import().await.unwrap();
    import.write(&records).await.unwrap();
    import.commit().await.unwrap();
}

/// Records accepted applications straight in the sandbox's database: person `n` for the scheme `schemes[n]`, paid
/// in cash when `cash(n)`, submitted on the click day, each with a personal record. Returns the store and the
/// protocol numbers, in order.
pub async fn applications(
    sandbox: &Sandbox,
    schemes: &[&str],
    cash: impl Fn(u32) -> bool,
) -> (Box<dyn Store>, Vec<String>) {
    let store = sportello_store::open(&sandbox.database_url).await.unwrap();
    let mut protocols = Vec::new();
    for (n, scheme) in (0..).zip(schemes) {
        let payment = if cash(n) {
            serde_json::json!({ "method": "domiciliato" })
        } else {
            serde_json::json!({ "method": "iban", "iban": IBAN })
        };
        let outcome = store
            .submit(NewApplication {
                codice_fiscale: person(n),
                scheme: (*scheme).to_owned(),
                cumulation_group: "dl18-2020-marzo".to_owned(),
                protocol_prefix: "INPS-COVID-".to_owned(),
                idempotency_key: sportello_domain::IdempotencyKey::parse(&format!("form-{n}")).unwrap(),
                status: ApplicationStatus::Accepted,
                reasons: Vec::new(),
                details: serde_json::json!({ "payment": payment, "contact": { "email": "a@example.it" } }),
                submitted_at: click_day(),
                hold: None,
            })
            .await
            .unwrap();
        match outcome {
            Submission::Created(a) => protocols.push(a.protocol.to_string()),
            other => panic!("{other:?}"),
        }
    }
    let everyone: Vec<u32> = (0..).take(schemes.len()).collect();
    name(store.as_ref(), &everyone).await;
    (store, protocols)
}

pub fn pay(sandbox: &Sandbox, date: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["payments", "run", "--date", date, "--out", out.to_str().unwrap()];
    args.extend(DEBTOR);
    args.extend(extra);
    sandbox.run(&args)
}

/// The end-to-end ids of a pain.001 file, in order.
pub fn end_to_end_ids(xml: &str) -> Vec<String> {
    xml.split("<EndToEndId>").skip(1).map(|s| s[..s.find('<').unwrap()].to_owned()).collect()
}

/// The official pain.001.001.03 schema shipped in `sepaxml`, or `None` (having said why) when Python, lxml or
/// sepaxml are missing outside CI.
fn schema() -> Option<PathBuf> {
    let found = Command::new("python3")
        .args([
            "-c",
            "import os, lxml.etree, sepaxml; \
             print(os.path.join(os.path.dirname(sepaxml.__file__), 'schemas', 'pain.001.001.03.xsd'))",
        ])
        .output();
    let why = match found {
        Ok(out) if out.status.success() => {
            let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if path.is_file() {
                return Some(path);
            }
            format!("{} is missing from sepaxml", path.display())
        }
        Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        Err(e) => format!("python3: {e}"),
    };
    let hint = "install them with `python3 -m pip install sepaxml lxml`";
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("the pain.001 schema check needs Python with lxml and sepaxml under CI ({why}); {hint}");
    }
    eprintln!("skipped: the pain.001 schema check needs Python with lxml and sepaxml ({why}); {hint}");
    None
}

/// Validates `xml` against `xsd` with lxml: the schema's complaint if it is not valid.
fn validate(xsd: &Path, xml: &Path) -> Result<(), String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, lxml.etree as e; s = e.XMLSchema(e.parse(sys.argv[1])); d = e.parse(sys.argv[2]); \
             s.assertValid(d)",
        ])
        .arg(xsd)
        .arg(xml)
        .output()
        .unwrap();
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) }
}

#[tokio::test]
async fn a_run_writes_a_valid_transfer_file_a_cash_list_and_a_summary() {
    let sandbox = Sandbox::new();
    let (_store, protocols) =
        applications(&sandbox, &["art27", "art27", "art28", "art27", "art28", "art27", "art28"], |n| n % 3 == 1).await;
    let out_dir = sandbox.path("out");
    let out = pay(&sandbox, "2020-04-15", &out_dir, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("in all: 5 transfers, 3000.00 EUR; 2 cash, 1200.00 EUR"), "{}", stdout(&out));

    let file = out_dir.join("pain001-2020-04-15.xml");
    let xml = std::fs::read_to_string(&file).unwrap();
    // Control sums in the group header and the payment information block alike.
    assert_eq!(xml.matches("<NbOfTxs>5</NbOfTxs>").count(), 2, "{xml}");
    assert_eq!(xml.matches("<CtrlSum>3000.00</CtrlSum>").count(), 2, "{xml}");
    assert_eq!(xml.matches(r#"<InstdAmt Ccy="EUR">600.00</InstdAmt>"#).count(), 5);
    let transfers: Vec<&String> = [0, 2, 3, 5, 6].iter().map(|&i| &protocols[i]).collect();
    assert_eq!(end_to_end_ids(&xml).iter().collect::<Vec<_>>(), transfers);
    assert!(xml.contains("<ReqdExctnDt>2020-04-15</ReqdExctnDt>"));
    assert!(xml.contains(&format!(
        "<Ustrd>Indennita COVID-19 art. 27 c. 1 Decreto-legge 17 marzo 2020, n. 18 - domanda {}</Ustrd>",
        protocols[0]
    )));
    assert!(xml.contains("<Ustrd>Indennita COVID-19 art. 28 c. 1"));

    let csv = std::fs::read_to_string(out_dir.join("domiciliati-2020-04-15.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "protocollo,codice_fiscale,indennita,importo_eur,data_pagamento,causale");
    assert!(lines[1].starts_with(&format!("{},{},art27,600.00,2020-04-15,", protocols[1], person(1))), "{csv}");
    assert!(lines[2].starts_with(&format!("{},{},art28,600.00,2020-04-15,", protocols[4], person(4))), "{csv}");
    assert_eq!(lines.len(), 3);

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("summary-2020-04-15.json")).unwrap()).unwrap();
    assert_eq!(summary["transfers"], 5);
    assert_eq!(summary["cash_total"], "1200.00");
    assert_eq!(
        summary["schemes"][0],
        serde_json::json!({
            "scheme": "art27", "transfers": 3, "transfers_total": "1800.00", "cash": 1, "cash_total": "600.00"
        })
    );
    assert_eq!(summary["schemes"][1]["transfers"], 2);
    // Nothing half-written is left beside the files.
    let names: HashSet<String> =
        std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names.len(), 3, "{names:?}");

    let Some(xsd) = schema() else { return };
    validate(&xsd, &file).unwrap();
}

#[tokio::test]
async fn a_tampered_transfer_file_fails_the_schema() {
    let sandbox = Sandbox::new();
    applications(&sandbox, &["art27", "art27"], |_| false).await;
    let out_dir = sandbox.path("out");
    assert!(pay(&sandbox, "2020-04-15", &out_dir, &[]).status.success());
    let Some(xsd) = schema() else { return };
    let xml = std::fs::read_to_string(out_dir.join("pain001-2020-04-15.xml")).unwrap();
    validate(&xsd, &out_dir.join("pain001-2020-04-15.xml")).unwrap();
    let tampered = [
        ("a count that is not a number", xml.replacen("<NbOfTxs>2</NbOfTxs>", "<NbOfTxs>two</NbOfTxs>", 1)),
        ("no execution date", xml.replacen("<ReqdExctnDt>2020-04-15</ReqdExctnDt>", "", 1)),
        ("a negative amount", xml.replacen(">600.00</InstdAmt>", ">-600.00</InstdAmt>", 1)),
        (
            "a lower-case IBAN",
            xml.replacen(&format!("<IBAN>{IBAN}</IBAN>"), "<IBAN>it60x0542811101000000123456</IBAN>", 1),
        ),
    ];
    for (what, text) in tampered {
        assert_ne!(text, xml, "{what}: the tampering changed nothing");
        let path = sandbox.file("tampered.xml", &text);
        assert!(validate(&xsd, &path).is_err(), "{what} passed the schema");
    }
}

#[tokio::test]
async fn the_same_date_again_pays_nobody_new_and_writes_the_same_files() {
    let sandbox = Sandbox::new();
    let (store, protocols) = applications(&sandbox, &["art27"; 4], |n| n == 3).await;
    let first = sandbox.path("first");
    assert!(pay(&sandbox, "2020-04-15", &first, &[]).status.success());
    // Someone applies after the run: the same date again still pays only what it paid.
    let late = store
        .submit(NewApplication {
            codice_fiscale: person(99),
            scheme: "art27".to_owned(),
            cumulation_group: "dl18-2020-marzo".to_owned(),
            protocol_prefix: "INPS-COVID-".to_owned(),
            idempotency_key: sportello_domain::IdempotencyKey::parse("late").unwrap(),
            status: ApplicationStatus::Accepted,
            reasons: Vec::new(),
            details: serde_json::json!({ "payment": { "method": "iban", "iban": IBAN } }),
            submitted_at: click_day() + chrono::Duration::days(10),
            hold: None,
        })
        .await
        .unwrap();
    let Submission::Created(late) = late else { panic!("{late:?}") };
    name(store.as_ref(), &[0, 1, 2, 3, 99]).await;
    let second = sandbox.path("second");
    let out = pay(&sandbox, "2020-04-15", &second, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("already made"), "{}", stdout(&out));
    for name in ["pain001-2020-04-15.xml", "domiciliati-2020-04-15.csv"] {
        assert_eq!(std::fs::read(first.join(name)).unwrap(), std::fs::read(second.join(name)).unwrap(), "{name}");
    }
    let xml = std::fs::read_to_string(second.join("pain001-2020-04-15.xml")).unwrap();
    assert_eq!(end_to_end_ids(&xml), protocols[..3]);
    // The late one is paid by the next date's run, and only it.
    let next = sandbox.path("next");
    assert!(pay(&sandbox, "2020-04-30", &next, &[]).status.success());
    let xml = std::fs::read_to_string(next.join("pain001-2020-04-30.xml")).unwrap();
    assert_eq!(end_to_end_ids(&xml), [late.protocol]);
}

#[tokio::test]
async fn a_run_that_crashes_in_the_middle_is_resumed_paying_each_once() {
    let sandbox = Sandbox::new();
    let (_store, protocols) = applications(&sandbox, &["art27"; 8], |_| false).await;
    let out_dir = sandbox.path("out");
    let crashed = pay(&sandbox, "2020-04-15", &out_dir, &["--stop-after", "3"]);
    assert!(!crashed.status.success());
    assert!(stderr(&crashed).contains("stopped after writing 3 payments"), "{}", stderr(&crashed));
    // No finished file: only the partial one, which nobody would send.
    assert!(!out_dir.join("pain001-2020-04-15.xml").exists());
    assert!(out_dir.join(".pain001-2020-04-15.xml.partial").exists());
    // Another date meanwhile finds nothing to pay: the eight belong to the interrupted run.
    let other = sandbox.path("other");
    let out = pay(&sandbox, "2020-04-16", &other, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!other.join("pain001-2020-04-16.xml").exists());

    let resumed = pay(&sandbox, "2020-04-15", &out_dir, &[]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let xml = std::fs::read_to_string(out_dir.join("pain001-2020-04-15.xml")).unwrap();
    assert_eq!(end_to_end_ids(&xml), protocols);
    assert!(xml.contains("<NbOfTxs>8</NbOfTxs>"));
    if let Some(xsd) = schema() {
        validate(&xsd, &out_dir.join("pain001-2020-04-15.xml")).unwrap();
    }
}

#[tokio::test]
async fn concurrent_runs_pay_each_application_once() {
    let sandbox = Sandbox::new();
    let (_store, protocols) = applications(&sandbox, &["art27"; 30], |_| false).await;
    // Four processes at once, two per date, each writing to its own folder.
    let runs: Vec<(String, PathBuf)> =
        (0..4).map(|i| (format!("2020-04-{}", 15 + i / 2), sandbox.path(&format!("out{i}")))).collect();
    let children: Vec<_> = runs
        .iter()
        .map(|(date, dir)| {
            let mut args = vec!["payments", "run", "--date", date, "--out", dir.to_str().unwrap()];
            args.extend(DEBTOR);
            Command::new(env!("CARGO_BIN_EXE_sportello"))
                .args(&args)
                .env("SPORTELLO_DATABASE_URL", &sandbox.database_url)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let mut paid = Vec::new();
    for (i, (date, dir)) in runs.iter().enumerate() {
        let file = dir.join(format!("pain001-{date}.xml"));
        let ids = if file.exists() { end_to_end_ids(&std::fs::read_to_string(&file).unwrap()) } else { Vec::new() };
        // The two runs of a date write the same payments; count each date once.
        if i % 2 == 0 {
            paid.extend(ids);
        }
    }
    paid.sort();
    let mut expected = protocols.clone();
    expected.sort();
    assert_eq!(paid, expected);
}

#[tokio::test]
async fn a_returned_payment_is_paid_again_once_after_a_new_iban() {
    let sandbox = Sandbox::new();
    let (store, protocols) = applications(&sandbox, &["art27"; 3], |_| false).await;
    let first = sandbox.path("first");
    assert!(pay(&sandbox, "2020-04-15", &first, &[]).status.success());
    let xml = std::fs::read_to_string(first.join("pain001-2020-04-15.xml")).unwrap();
    let msg_id = xml.split("<MsgId>").nth(1).and_then(|s| s.split('<').next()).unwrap().to_owned();

    // The bank's answer: the first settled, the second rejected (closed account), the third accepted.
    let tx = |protocol: &str, status: &str, reason: &str| {
        let reason = if reason.is_empty() {
            String::new()
        } else {
            format!("<StsRsnInf><Rsn><Cd>{reason}</Cd></Rsn></StsRsnInf>")
        };
        format!(
            "<TxInfAndSts><StsId>{protocol}-S</StsId><OrgnlEndToEndId>{protocol}</OrgnlEndToEndId>\
             <TxSts>{status}</TxSts>{reason}</TxInfAndSts>"
        )
    };
    let report = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>
<GrpHdr><MsgId>BANK-1</MsgId><CreDtTm>2020-04-16T09:00:00</CreDtTm></GrpHdr>
<OrgnlGrpInfAndSts><OrgnlMsgId>{msg_id}</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId></OrgnlGrpInfAndSts>
<OrgnlPmtInfAndSts><OrgnlPmtInfId>{msg_id}-1</OrgnlPmtInfId>{}{}{}</OrgnlPmtInfAndSts>
</CstmrPmtStsRpt></Document>"#,
        tx(&protocols[0], "ACSC", ""),
        tx(&protocols[1], "RJCT", "AC04"),
        tx(&protocols[2], "ACCP", ""),
    );
    let report = sandbox.file("pain002.xml", &report);
    let out = sandbox.run(&["payments", "reconcile", report.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("2 payments confirmed, 1 returned"), "{}", stdout(&out));
    let seen = store.payments_of(&person(1)).await.unwrap();
    assert_eq!(seen[0].reason.as_deref(), Some("AC04"));

    // Nothing is paid again until the citizen gives a new account.
    let waiting = sandbox.path("waiting");
    assert!(pay(&sandbox, "2020-04-20", &waiting, &[]).status.success());
    assert!(!waiting.join("pain001-2020-04-20.xml").exists());

    let new_iban = Iban::parse(NEW_IBAN).unwrap();
    let given = click_day() + chrono::Duration::days(20);
    assert!(store.replace_returned_iban(&person(1), &protocols[1], &new_iban, given).await.unwrap());
    let second = sandbox.path("second");
    assert!(pay(&sandbox, "2020-04-30", &second, &[]).status.success());
    let xml = std::fs::read_to_string(second.join("pain001-2020-04-30.xml")).unwrap();
    assert_eq!(end_to_end_ids(&xml), [protocols[1].clone()]);
    assert!(xml.contains(&format!("<IBAN>{NEW_IBAN}</IBAN>")));
    if let Some(xsd) = schema() {
        validate(&xsd, &second.join("pain001-2020-04-30.xml")).unwrap();
    }
    let third = sandbox.path("third");
    assert!(pay(&sandbox, "2020-05-15", &third, &[]).status.success());
    assert!(!third.join("pain001-2020-05-15.xml").exists());

    // A report that is not a pain.002 is refused as bad input.
    let bad = sandbox.file("bad.xml", "<Document><Other/></Document>");
    let out = sandbox.run(&["payments", "reconcile", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[tokio::test]
async fn raising_a_limit_releases_suspended_applications_in_order() {
    let sandbox = Sandbox::new();
    let store = sportello_store::open(&sandbox.database_url).await.unwrap();
    // A limit for two indemnities, recorded before the scheme file's (which then leaves it alone).
    let seed = BudgetSeed {
        scheme: "art27".to_owned(),
        amount: Cents::from_euros(600),
        limit: Cents::from_euros(1200),
        legal_ref: "art. 27 c. 2".to_owned(),
    };
    store.ensure_budget(&seed, chrono::Utc::now()).await.unwrap();
    drop(store);
    let (store, protocols) = applications(&sandbox, &["art27"; 5], |_| false).await;
    let statuses = |store: Box<dyn Store>| async move {
        let mut out = Vec::new();
        for n in 0..5 {
            out.push(store.applications_of(&person(n)).await.unwrap()[0].status);
        }
        out
    };
    use ApplicationStatus::{Accepted, SuspendedBudget};
    assert_eq!(statuses(store).await, [Accepted, Accepted, SuspendedBudget, SuspendedBudget, SuspendedBudget]);
    assert_eq!(protocols.len(), 5);

    let out = sandbox.run(&["budget", "set", "art27", "2400.00", "--ref", "DL 34/2020 art. 84", "--by", "m.bianchi"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("2 suspended applications accepted, 1 still waiting"), "{}", stdout(&out));
    let store = sportello_store::open(&sandbox.database_url).await.unwrap();
    assert_eq!(statuses(store).await, [Accepted, Accepted, Accepted, Accepted, SuspendedBudget]);

    let out = sandbox.run(&["budget", "show"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "art27: limit 2400.00 EUR (DL 34/2020 art. 84), 600.00 EUR each; reserved 2400.00 EUR; 1 suspended"
        ),
        "{text}"
    );
    assert!(text.contains("art27: 1200.00 EUR (art. 27 c. 2), set by (not recorded), 0 released"), "{text}");
    assert!(text.contains("art27: 2400.00 EUR (DL 34/2020 art. 84), set by m.bianchi, 2 released"), "{text}");
    // The other schemes carry the decree's limits.
    assert!(text.contains("art28: limit 2160000000.00 EUR (art. 28 c. 2)"), "{text}");

    let out = sandbox.run(&["budget", "set", "art27", "600", "--ref", "wrong"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("below the 2400.00 already reserved"), "{}", stderr(&out));
}
