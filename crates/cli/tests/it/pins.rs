//! `sportello pin issue` and the demo portal.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use sportello_domain::CodiceFiscale;
use sportello_web::pin::PinHasher;

use crate::support::{HEADER, Sandbox, stderr};

const ROWS: &str = "RSSMRA80A01H501U,gestione_separata_professionista,2015-06-01,,,,,\n\
                    MRTMRA83T56A269B,operaio_agricolo_td,,,2019,62,,\n";

#[tokio::test]
async fn issued_pins_are_written_for_hand_over_and_open_the_stored_credential() {
    let sandbox = Sandbox::new();
    let file = sandbox.file("extract.csv", &format!("{HEADER}{ROWS}"));
    assert!(sandbox.run(&["registry", "import", file.to_str().unwrap()]).status.success());
    let out_file = sandbox.path("pins.csv");
    let out = sandbox.run(&["pin", "issue", "--first", "10", "--out", out_file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("issued 2 PINs"), "{}", stderr(&out));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the PIN list is readable by its owner only");
    }
    let text = std::fs::read_to_string(&out_file).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("codice_fiscale,pin,simplified_pin"));
    let store = sportello_store::open(&sandbox.database_url).await.unwrap();
    let hasher = PinHasher::new().unwrap();
    let mut seen = Vec::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let cf = CodiceFiscale::parse(cells[0]).unwrap();
        assert_eq!(cells[1].len(), 16);
        assert_eq!(&cells[1][..8], cells[2]);
        let credentials = store.pins_of(&cf).await.unwrap();
        let [credential] = credentials.as_slice() else { panic!("one PIN is stored for {cf}: {credentials:?}") };
        assert_eq!(credential.first_half_to, sportello_store::FirstHalfTo::Office);
        assert_eq!(credential.slot, Some(sportello_web::pin::EnteredPin::parse(cells[1]).unwrap().slot()));
        assert!(hasher.verify(cells[1], &credential.full_hash));
        assert!(hasher.verify(cells[2], &credential.simplified_hash));
        assert!(!hasher.verify(cells[2], &credential.full_hash));
        seen.push(cf.to_string());
    }
    seen.sort();
    assert_eq!(seen, ["MRTMRA83T56A269B", "RSSMRA80A01H501U"]);
}

#[test]
fn pins_are_issued_only_to_registry_persons() {
    let sandbox = Sandbox::new();
    let file = sandbox.file("extract.csv", &format!("{HEADER}{ROWS}"));
    assert!(sandbox.run(&["registry", "import", file.to_str().unwrap()]).status.success());
    let out_file = sandbox.path("pins.csv");
    let out = sandbox.run(&["pin", "issue", "--cf", "CCCFBA85D03L21VE", "--out", out_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("CCCFBA85D03L21VE is not in the registry"), "{}", stderr(&out));
    let out = sandbox.run(&["pin", "issue", "--cf", "RSSMRA80A01H501X", "--out", out_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("check character"), "{}", stderr(&out));
}

#[tokio::test]
async fn the_demo_opens_a_portal_and_prints_identities_that_hold_a_pin() {
    let sandbox = Sandbox::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sportello"))
        .args(["demo", "--persons", "800", "--listen", "127.0.0.1:0"])
        .current_dir(sandbox.dir.path())
        .env("SPORTELLO_DATABASE_URL", &sandbox.database_url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut url = None;
    let mut identities = Vec::new();
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        if let Some(rest) = line.trim().strip_prefix("The portal is open at ") {
            url = rest.split_whitespace().next().map(str::to_owned);
        } else if url.is_some() && line.contains(" PIN ") {
            identities.push(line.trim().to_owned());
        } else if line.starts_with("PINs requested") {
            break;
        }
        line.clear();
    }
    let url = url.expect("the demo prints the portal's address");
    let home = reqwest::get(&url).await.unwrap();
    let login = reqwest::get(format!("{url}accedi")).await.unwrap();
    let receipts = apply_as_demo_identities(&url, &identities).await;
    child.kill().unwrap();
    let _ = child.wait();

    assert_eq!(home.status(), 200);
    assert_eq!(login.status(), 200);
    assert!(!identities.is_empty(), "demo identities are printed");
    assert!(!receipts.is_empty(), "a printed identity can apply and get a receipt");
    let store = sportello_store::open(&sandbox.database_url).await.unwrap();
    let hasher = PinHasher::new().unwrap();
    for identity in &identities {
        let words: Vec<&str> = identity.split_whitespace().collect();
        let cf = CodiceFiscale::parse(words[0]).unwrap();
        let credentials = store.pins_of(&cf).await.unwrap();
        assert!(credentials.iter().any(|c| hasher.verify(words[2], &c.full_hash)), "{identity}");
    }
}

/// Logs in as each printed identity through the JSON API, applies for the first indemnity it is entitled to, and
/// returns the protocol numbers of the receipts.
async fn apply_as_demo_identities(url: &str, identities: &[String]) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut receipts = Vec::new();
    for identity in identities {
        let words: Vec<&str> = identity.split_whitespace().collect();
        let login = serde_json::json!({"codice_fiscale": words[0], "pin": words[2]});
        let session = client.post(format!("{url}api/v1/sessions")).json(&login).send().await.unwrap();
        assert_eq!(session.status(), 201, "{identity}");
        let token = session.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
        let situation: serde_json::Value = client
            .get(format!("{url}api/v1/situation"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let Some(scheme) = situation["schemes"].as_array().unwrap().iter().find(|s| s["eligible"] == true) else {
            continue;
        };
        let application = serde_json::json!({
            "scheme": scheme["scheme"],
            "payment": {"method": "domiciliato"},
            "contact": {"email": "demo@example.it"},
            "declarations": {
                "not_pension_holder": true,
                "not_reddito_di_cittadinanza": true,
                "no_other_compulsory_scheme": true,
                "not_employed": true
            }
        });
        let answer = client
            .post(format!("{url}api/v1/applications"))
            .bearer_auth(&token)
            .header("Idempotency-Key", "demo-test")
            .json(&application)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 201, "{identity}");
        let receipt: serde_json::Value = answer.json().await.unwrap();
        receipts.push(receipt["protocol"].as_str().expect("a protocol number").to_owned());
    }
    receipts
}
