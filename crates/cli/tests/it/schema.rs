//! The API against its own document: schemathesis (PyPI) generates requests from `/api/openapi.json` of a running
//! portal, as a logged-in citizen, and checks every answer: no 5xx, no status the document does not list, and every
//! body, content type and header as documented. (Whether the portal accepts every request the schema allows is not
//! checked: an IBAN's or a codice fiscale's check characters cannot be written in a schema.)
//!
//! The default run generates up to 20 examples per operation; `SPORTELLO_DRILL_SCHEMA_EXAMPLES=200` (as
//! `scripts/drills` sets) runs the full drill. `.ci/run` installs schemathesis; where it is missing the test skips
//! saying so, and under `CI=true` it fails.

use std::process::Command;

use crate::support::{Sandbox, Server, read_pins, run_in, stderr};

/// The schemathesis command line, or `None` (having said why) outside CI.
fn schemathesis() -> Option<String> {
    let found = Command::new("st").arg("--version").output().is_ok_and(|out| out.status.success());
    if found {
        return Some("st".to_owned());
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("schemathesis is not installed (python3 -m pip install schemathesis): .ci/run installs it");
    }
    eprintln!("skipped: schemathesis is not installed (python3 -m pip install schemathesis)");
    None
}

#[tokio::test]
async fn generated_requests_get_only_documented_answers_and_never_a_server_error() {
    let Some(st) = schemathesis() else { return };
    let examples = std::env::var("SPORTELLO_DRILL_SCHEMA_EXAMPLES").unwrap_or_else(|_| "20".to_owned());
    let sandbox = Sandbox::new();
    let (dir, url) = (sandbox.dir.path(), &sandbox.database_url);
    let extract = sandbox.path("extract.csv");
    let out = run_in(
        dir,
        url,
        &["registry", "generate", "--persons", "50", "--seed", "5", "--out", extract.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(run_in(dir, url, &["registry", "import", extract.to_str().unwrap()]).status.success());
    let pins = sandbox.path("pins.csv");
    assert!(run_in(dir, url, &["pin", "issue", "--first", "1", "--out", pins.to_str().unwrap()]).status.success());
    let (codice_fiscale, pin) = read_pins(&pins).remove(0);
    // Generated logins would soon hit the limits; a 429 is documented, but the run would test little else.
    let limits = [
        ("SPORTELLO_LIMITS__PER_ADDRESS_PER_MINUTE", "100000000"),
        ("SPORTELLO_LIMITS__PER_ADDRESS_BURST", "100000000"),
        ("SPORTELLO_LIMITS__PER_PERSON_PER_HOUR", "100000000"),
        ("SPORTELLO_LIMITS__PER_PERSON_BURST", "100000000"),
    ];
    let portal = Server::start(dir, url, &[], &limits);
    let opened: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/v1/sessions", portal.base))
        .json(&serde_json::json!({ "codice_fiscale": codice_fiscale, "pin": pin }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = opened["token"].as_str().expect("a session").to_owned();

    let checks = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,\
                  response_headers_conformance";
    let document = format!("{}/api/openapi.json", portal.base);
    let authorization = format!("Authorization: Bearer {token}");
    // Logging out would end the session the rest of the run uses.
    let out = Command::new(st)
        .args(["run", &document, "--header", &authorization, "--checks", checks, "--exclude-method", "DELETE"])
        .args(["--max-examples", &examples, "--seed", "20200401", "--no-color"])
        .current_dir(dir)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let generated = report
        .lines()
        .find_map(|line| line.trim().split_once(" generated").and_then(|(n, _)| n.trim().parse::<u64>().ok()))
        .unwrap_or(0);
    let failures = if out.status.success() { 0 } else { report.matches("\n- ST").count().max(1) };
    println!("DRILL schema cases={generated} failures={failures}");
    assert!(out.status.success(), "schemathesis found problems:\n{report}\n{}", stderr(&out));
    assert!(generated > 100, "the run tested something: {generated} cases\n{report}");
}
