//! `sportello drill` against a real `sportello serve` process: a small click day played to its end, every receipt
//! found in the store, and the verification failing loudly when the store loses or doubles an application.

use sportello_domain::law::{Decrees, Facts};

use crate::support::{Sandbox, Server, stderr, stdout};

/// The portal on `sandbox`'s database, with `options` for `sportello serve`.
fn portal(sandbox: &Sandbox, options: &[&str]) -> Server {
    Server::start(sandbox.dir.path(), &sandbox.database_url, options, &[])
}

/// A sandbox with a generated registry of `persons` imported.
fn registry(persons: u32) -> Sandbox {
    let sandbox = Sandbox::new();
    let extract = sandbox.path("extract.csv");
    let out = sandbox.run(&[
        "registry",
        "generate",
        "--persons",
        &persons.to_string(),
        "--seed",
        "5",
        "--out",
        extract.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = sandbox.run(&["registry", "import", extract.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    sandbox
}

/// An auditor logs in at the office and reads the dashboard: its page. The cookies are carried by hand: they are
/// `Secure`, and the portal under test speaks plain HTTP on loopback.
async fn officer_reads_the_dashboard(sandbox: &Sandbox, portal: &Server) -> String {
    let password = "una password lunga per il cruscotto";
    sandbox.officer("auditor.drill", "auditor", password);
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut jar: Vec<String> = Vec::new();
    let keep = |jar: &mut Vec<String>, response: &reqwest::Response| {
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap().to_owned();
            let name = pair.split('=').next().unwrap().to_owned();
            jar.retain(|c| !c.starts_with(&format!("{name}=")));
            jar.push(pair);
        }
    };
    let form = client.get(format!("{}/ufficio/accedi", portal.base)).send().await.unwrap();
    keep(&mut jar, &form);
    let form = form.text().await.unwrap();
    let start = form.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = form[start..].split('"').next().unwrap().to_owned();
    let fields = [("csrf", csrf.as_str()), ("username", "auditor.drill"), ("password", password)];
    let login = client
        .post(format!("{}/ufficio/accedi", portal.base))
        .header("cookie", jar.join("; "))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303, "the auditor logs in");
    keep(&mut jar, &login);
    let page =
        client.get(format!("{}/ufficio/cruscotto", portal.base)).header("cookie", jar.join("; ")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

/// The last hour's count of the dashboard's row after `marker`.
fn dashboard_count(page: &str, marker: &str) -> u64 {
    let row =
        page.split(marker).nth(1).unwrap_or_else(|| panic!("{marker} on the dashboard")).split("</tr>").next().unwrap();
    let counts: Vec<u64> = row.split("<td>").skip(1).filter_map(|c| c.split("</td>").next()?.parse().ok()).collect();
    counts[1]
}

fn read_report(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn a_drill_of_two_hundred_citizens_applies_once_for_each_entitled_one_and_verifies_the_store() {
    let sandbox = registry(300);
    let portal = portal(&sandbox, &[]);
    let (report, plot) = (sandbox.path("report.json"), sandbox.path("drill.svg"));
    let out = sandbox.run(&[
        "drill",
        "--target",
        &portal.base,
        "--citizens",
        "200",
        "--rate",
        "50",
        "--report",
        report.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    // An officer watched: at the end, the dashboard's last hour.
    let dashboard = officer_reads_the_dashboard(&sandbox, &portal).await;
    drop(portal);

    // Who the drill played: the first 200 registry persons (none had applied). The law, asked directly, says who
    // among them is entitled to something.
    let store = sportello_store::open(&sandbox.database_url).await.unwrap();
    let drilled = store.registry_persons(None, 200).await.unwrap();
    assert_eq!(drilled.len(), 200);
    // Entitled: to an indemnity one applies for, under any decree in force (April's is granted, not applied for).
    let decrees = Decrees::embedded();
    let mut entitled = 0;
    for cf in &drilled {
        let positions = store.positions(cf).await.unwrap();
        let decision = decrees.decide(*cf, &positions, &Facts::none());
        let eligible = decision
            .schemes
            .iter()
            .any(|s| s.eligible && decrees.scheme(&s.scheme).is_some_and(|scheme| scheme.on_application()));
        let applications = store.applications_of(cf).await.unwrap();
        assert_eq!(applications.len(), usize::from(eligible), "{cf}: one application if entitled, none otherwise");
        entitled += u64::from(eligible);
    }
    assert!(entitled > 20 && entitled < 200, "the registry mixes entitled and not entitled people: {entitled}");

    // The dashboard's figures are the store's: every application the drill filed, all accepted or not, counted once.
    let mut accepted = 0;
    for cf in &drilled {
        accepted += store
            .applications_of(cf)
            .await
            .unwrap()
            .iter()
            .filter(|a| a.status == sportello_store::ApplicationStatus::Accepted)
            .count() as u64;
    }
    assert_eq!(dashboard_count(&dashboard, "id=\"rate-total\""), entitled, "the dashboard's total is the store's");
    assert_eq!(dashboard_count(&dashboard, "Canale: cittadini</th>"), entitled, "all filed by citizens");
    assert_eq!(dashboard_count(&dashboard, "Esito: accolte</th>"), accepted, "accepted, as the store says");

    let report = read_report(&report);
    assert_eq!(report["arrived"], 200);
    assert_eq!(report["dropped"], 0);
    assert_eq!(report["journeys_completed"], 200, "{report}");
    assert_eq!(report["submissions"], entitled);
    assert_eq!(report["not_eligible"], 200 - entitled);
    assert_eq!(report["failed"], 0);
    assert_eq!(report["errors"], serde_json::json!({}));
    assert_eq!(report["receipts"].as_array().unwrap().len() as u64, entitled);
    assert_eq!(report["latency"]["login"]["count"], 200);
    assert_eq!(report["latency"]["submit"]["count"], entitled);
    let verification = &report["verification"];
    assert_eq!(verification["receipts_checked"], entitled, "the verification ran: {verification}");
    assert_eq!(verification["citizens_scanned"], 200);
    for failures in ["missing", "wrong_person", "duplicates", "leaks"] {
        assert_eq!(verification[failures], serde_json::json!([]), "{failures}");
    }
    let summary = stdout(&out);
    assert!(summary.contains("journeys completed 200"), "{summary}");
    assert!(summary.contains("verification: passed"), "{summary}");
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.contains("<svg") && svg.contains("p99"), "the plot is drawn");
}

#[tokio::test]
async fn the_verification_fails_loudly_when_the_store_lost_one_receipt_and_doubled_another() {
    let sandbox = registry(80);
    let portal = portal(&sandbox, &[]);
    let report = sandbox.path("report.json");
    let out = sandbox.run(&[
        "drill",
        "--target",
        &portal.base,
        "--citizens",
        "40",
        "--rate",
        "40",
        "--report",
        report.to_str().unwrap(),
    ]);
    drop(portal);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let again = sandbox.run(&["drill", "--verify-report", report.to_str().unwrap()]);
    assert!(again.status.success(), "an untouched store passes: {}", stderr(&again));
    assert!(stdout(&again).contains("verification: passed"), "{}", stdout(&again));

    // What a bad restore or a double write would leave: one receipt's application gone, another's stored twice.
    let receipts = read_report(&report)["receipts"].as_array().unwrap().clone();
    assert!(receipts.len() >= 2, "some of the forty were entitled");
    let (lost, doubled) = (receipts[0]["protocol"].as_str().unwrap(), receipts[1]["protocol"].as_str().unwrap());
    let path = sandbox.database_url.trim_start_matches("sqlite://");
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{path}")).await.unwrap();
    sqlx::query("DELETE FROM applications WHERE protocol = ?").bind(lost).execute(&db).await.unwrap();
    sqlx::query(
        "INSERT INTO applications (protocol, codice_fiscale, scheme, idempotency_key, status, reasons, details, \
         submitted_at, updated_at) SELECT protocol || '-BIS', codice_fiscale, scheme, idempotency_key || '-bis', \
         'rejected', reasons, details, submitted_at, updated_at FROM applications WHERE protocol = ?",
    )
    .bind(doubled)
    .execute(&db)
    .await
    .unwrap();
    db.close().await;

    let again = sandbox.run(&["drill", "--verify-report", report.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));
    let said = stderr(&again);
    assert!(said.contains("VERIFICATION FAILED"), "{said}");
    assert!(said.contains(&format!("receipt not in the store: {lost}")), "{said}");
    let person = receipts[1]["codice_fiscale"].as_str().unwrap();
    assert!(said.contains(&format!("more than one application: {person} has 2 applications")), "{said}");
}

#[tokio::test]
async fn citizens_beyond_the_admission_rate_wait_in_the_room_and_all_get_through() {
    let sandbox = registry(80);
    // Five admissions a second for forty arrivals in one second: most wait their turn.
    let config = sandbox.file(
        "sportello.toml",
        "[gate]\nsigning_key = \"0707070707070707070707070707070707070707070707070707070707070707\"\n\
         control_cache_ms = 0\n\n[gate.pow]\nmin_bits = 2\nmax_bits = 4\n\n\
         [[gate.rooms]]\nkey = \"cittadini\"\npath = \"/\"\nwindows = [{ from = \"2020-04-01T16:00\" }]\n\
         capacity = { admit_per_sec = 5, burst = 5, max_active = 5, pass_ttl_secs = 60, claim_grace_secs = 10, \
         refresh_interval_secs = 1, ticket_ttl_secs = 30 }\n",
    );
    let portal = portal(&sandbox, &["--config", config.to_str().unwrap()]);
    let report = sandbox.path("report.json");
    let out = sandbox.run(&[
        "drill",
        "--target",
        &portal.base,
        "--citizens",
        "40",
        "--rate",
        "40",
        "--report",
        report.to_str().unwrap(),
    ]);
    drop(portal);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let report = read_report(&report);
    assert_eq!(report["waiting_room"], true);
    assert_eq!(report["journeys_completed"], 40, "{report}");
    assert_eq!(report["errors"], serde_json::json!({}));
    assert_eq!(report["queue_wait"]["count"], 40);
    // Forty people at five a second: the last in line waits for most of eight seconds.
    assert!(report["queue_wait"]["max_ms"].as_f64().unwrap() > 4_000.0, "{}", report["queue_wait"]);
    let buckets = report["queue_wait_buckets"].as_array().unwrap();
    let counted: u64 = buckets.iter().map(|b| b["citizens"].as_u64().unwrap()).sum();
    assert_eq!(counted, 40, "every wait is in one bucket: {buckets:?}");
    assert!(buckets[1]["citizens"].as_u64().unwrap() > 0, "some waited between one and five seconds: {buckets:?}");
    let most_waiting = report["timeline"].as_array().unwrap().iter().filter_map(|s| s["waiting"].as_u64()).max();
    assert!(most_waiting.unwrap_or(0) >= 10, "the plot's waiting count saw the queue: {most_waiting:?}");
    let longest_queue = report["timeline"].as_array().unwrap().iter().filter_map(|s| s["queue_length"].as_u64()).max();
    assert!(longest_queue.unwrap_or(0) >= 10, "the portal's /stato showed the queue: {longest_queue:?}");
    assert_eq!(report["verification"]["receipts_checked"], report["submissions"]);
    assert!(stdout(&out).contains("verification: passed"), "{}", stdout(&out));
}

#[tokio::test]
async fn arrivals_keep_to_the_clock_and_those_beyond_the_in_flight_cap_are_dropped_and_counted() {
    let sandbox = registry(60);
    // The operator's way: PINs issued beforehand in bulk and handed to the drill as a file.
    let pins = sandbox.path("pins.csv");
    let out = sandbox.run(&["pin", "issue", "--first", "30", "--out", pins.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let portal = portal(&sandbox, &[]);
    let report = sandbox.path("report.json");
    // Three hundred a second against two journeys at once (each with an Argon2 login of several milliseconds):
    // an open-loop drill does not wait for a free slot, it drops the arrival and says so.
    let out = sandbox.run(&[
        "drill",
        "--target",
        &portal.base,
        "--pins",
        pins.to_str().unwrap(),
        "--rate",
        "300",
        "--max-in-flight",
        "2",
        "--report",
        report.to_str().unwrap(),
    ]);
    drop(portal);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let report = read_report(&report);
    assert_eq!(report["arrived"], 30);
    let (dropped, completed) = (report["dropped"].as_u64().unwrap(), report["journeys_completed"].as_u64().unwrap());
    assert!(dropped > 0, "{report}");
    assert_eq!(dropped + completed, 30, "every arrival either ran to its end or was dropped: {report}");
    assert!(report["arrivals_seconds"].as_f64().unwrap() < 0.5, "arrivals kept to the clock: {report}");
    assert_eq!(report["verification"]["receipts_checked"], report["submissions"]);
}

#[test]
fn a_drill_refuses_a_target_that_is_neither_loopback_nor_named() {
    let sandbox = Sandbox::new();
    let pins =
        sandbox.file("pins.csv", "codice_fiscale,pin,simplified_pin\nRSSMRA80A01H501U,ABCDEFGH12345678,ABCDEFGH\n");
    let out =
        sandbox.run(&["drill", "--target", "http://192.0.2.7:8080", "--pins", pins.to_str().unwrap(), "--rate", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--allow-target 192.0.2.7"), "{}", stderr(&out));
}
