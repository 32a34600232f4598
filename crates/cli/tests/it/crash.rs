//! The crash drill: `sportello serve` is killed with SIGKILL at random moments while citizens apply, and restarted
//! each time; afterwards every acknowledged receipt is in the store exactly once, for the right person, and nothing
//! that was not acknowledged is there. On SQLite and on PostgreSQL.
//!
//! The default run kills the server 5 times; `SPORTELLO_DRILL_KILLS=20` (as `scripts/drills` sets) runs the full
//! drill.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use sportello_domain::CodiceFiscale;
use sportello_store::testing::TestDatabase;

use crate::support::{Sandbox, Server, read_pins, run_in, stderr};

/// Every client here comes from 127.0.0.1.
const LIMITS_OFF: &[(&str, &str)] =
    &[("SPORTELLO_LIMITS__PER_ADDRESS_PER_MINUTE", "1000000"), ("SPORTELLO_LIMITS__PER_ADDRESS_BURST", "1000000")];

/// What the drill saw and found.
#[derive(Debug, Default)]
struct Report {
    kills: usize,
    acknowledged: usize,
    not_eligible: usize,
    lost: usize,
    duplicated: usize,
    unacknowledged_stored: usize,
    retries: usize,
}

/// A valid Italian IBAN (the check digits and the CIN agree) for the drill's payments.
const IBAN: &str = "IT60X0542811101000000123456";

/// One citizen's journey through the API, retried across crashes until the application is acknowledged (the same
/// `Idempotency-Key` every time, as a real client would). `None`: not entitled to anything.
async fn apply(base: &RwLock<String>, codice_fiscale: &str, pin: &str, retries: &AtomicUsize) -> Option<String> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let url = |path: &str| format!("{}{path}", base.read().unwrap());
    let mut token: Option<String> = None;
    let key = format!("crash-drill-{codice_fiscale}");
    for _ in 0..400 {
        let attempt: Result<Option<Option<String>>, reqwest::Error> = async {
            if token.is_none() {
                let opened = http
                    .post(url("/api/v1/sessions"))
                    .json(&serde_json::json!({ "codice_fiscale": codice_fiscale, "pin": pin }))
                    .send()
                    .await?;
                if opened.status() != 201 {
                    return Ok(None);
                }
                token = opened.json::<serde_json::Value>().await?["token"].as_str().map(str::to_owned);
            }
            let bearer = token.clone().unwrap_or_default();
            let situation = http.get(url("/api/v1/situation")).bearer_auth(&bearer).send().await?;
            if situation.status() != 200 {
                return Ok(None);
            }
            let situation: serde_json::Value = situation.json().await?;
            let Some(scheme) = situation["schemes"]
                .as_array()
                .and_then(|schemes| schemes.iter().find(|s| s["eligible"] == true))
                .and_then(|s| s["scheme"].as_str())
            else {
                return Ok(Some(None));
            };
            let body = serde_json::json!({
                "scheme": scheme,
                "payment": { "method": "iban", "iban": IBAN },
                "contact": { "email": "drill@example.it" },
                "declarations": {
                    "not_pension_holder": true,
                    "not_reddito_di_cittadinanza": true,
                    "no_other_compulsory_scheme": true,
                    "not_employed": true
                },
                // May 2020's indemnity (art. 84 c. 2 DL 34/2020) asks for the income of March–April 2019 and 2020;
                // the others ignore them.
                "figures": {"income_2019_bimester_2": "4000.00", "income_2020_bimester_2": "1000.00"}
            });
            let submitted = http
                .post(url("/api/v1/applications"))
                .bearer_auth(&bearer)
                .header("Idempotency-Key", &key)
                .json(&body)
                .send()
                .await?;
            let status = submitted.status().as_u16();
            let receipt: serde_json::Value = submitted.json().await.unwrap_or_default();
            match (status, receipt["protocol"].as_str()) {
                (200 | 201, Some(protocol)) => Ok(Some(Some(protocol.to_owned()))),
                (400..=499, _) if status != 408 && status != 429 => {
                    panic!("{codice_fiscale}: the application was refused with {status}: {receipt}")
                }
                _ => Ok(None),
            }
        }
        .await;
        match attempt {
            Ok(Some(outcome)) => return outcome,
            Ok(None) | Err(_) => {
                retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    panic!("{codice_fiscale}: no acknowledgement after 400 attempts");
}

/// A tiny deterministic generator for the kill moments, seeded and printed so a failing run can be replayed.
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

async fn crash_drill(sandbox: &Sandbox, database_url: &str, people: usize, kills: usize) -> Report {
    let dir = sandbox.dir.path();
    let extract = sandbox.path("extract.csv");
    let persons = (people * 2).to_string();
    let out = run_in(
        dir,
        database_url,
        &["registry", "generate", "--persons", &persons, "--seed", "7", "--out", extract.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run_in(dir, database_url, &["registry", "import", extract.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pins = sandbox.path("pins.csv");
    let first = people.to_string();
    let out = run_in(dir, database_url, &["pin", "issue", "--first", &first, "--out", pins.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let citizens = read_pins(&pins);

    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    eprintln!(
        "crash drill on {}: {} citizens, {kills} kills, seed {seed}",
        database_url.split(':').next().unwrap(),
        citizens.len()
    );
    let mut moments = Moments(seed);
    let server = Server::start(dir, database_url, &[], LIMITS_OFF);
    let base = Arc::new(RwLock::new(server.base.clone()));
    let acknowledged = Arc::new(Mutex::new(BTreeMap::new()));
    let retries = Arc::new(AtomicUsize::new(0));
    let queue = Arc::new(Mutex::new(citizens.clone()));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (base, acknowledged, retries, queue) =
                (Arc::clone(&base), Arc::clone(&acknowledged), Arc::clone(&retries), Arc::clone(&queue));
            tokio::spawn(async move {
                loop {
                    let Some((codice_fiscale, pin)) = queue.lock().unwrap().pop() else { return };
                    let outcome = apply(&base, &codice_fiscale, &pin, &retries).await;
                    acknowledged.lock().unwrap().insert(codice_fiscale, outcome);
                }
            })
        })
        .collect();

    // Kill while submissions are being acknowledged: wait for a few after each restart, then a random moment.
    let mut server = Some(server);
    let mut report = Report::default();
    for _ in 0..kills {
        let before = acknowledged.lock().unwrap().len();
        let started = Instant::now();
        while acknowledged.lock().unwrap().len() < before + 2 && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(moments.next_ms(250))).await;
        server.take().unwrap().kill();
        report.kills += 1;
        let restarted = Server::start(dir, database_url, &[], LIMITS_OFF);
        *base.write().unwrap() = restarted.base.clone();
        server = Some(restarted);
    }
    for worker in workers {
        tokio::time::timeout(Duration::from_secs(120), worker).await.expect("the citizens finished").unwrap();
    }
    drop(server);

    let acknowledged = acknowledged.lock().unwrap().clone();
    assert_eq!(acknowledged.len(), citizens.len(), "every citizen came to an end");
    report.retries = retries.load(Ordering::Relaxed);
    let store = sportello_store::open(database_url).await.unwrap();
    for (codice_fiscale, outcome) in &acknowledged {
        let cf = CodiceFiscale::parse(codice_fiscale).unwrap();
        let stored = store.applications_of(&cf).await.unwrap();
        match outcome {
            Some(protocol) => {
                report.acknowledged += 1;
                let matching = stored.iter().filter(|a| &a.protocol == protocol && a.codice_fiscale == cf).count();
                if matching == 0 {
                    report.lost += 1;
                }
                report.duplicated += stored.len().saturating_sub(1);
            }
            None => {
                report.not_eligible += 1;
                report.unacknowledged_stored += stored.len();
            }
        }
    }
    // One line per run for `scripts/drills`, which gathers them into its table.
    println!(
        "DRILL crash database={} kills={} acknowledged={} lost={} duplicated={} unacknowledged_stored={} \
         not_eligible={} retries={}",
        database_url.split(':').next().unwrap_or_default(),
        report.kills,
        report.acknowledged,
        report.lost,
        report.duplicated,
        report.unacknowledged_stored,
        report.not_eligible,
        report.retries
    );
    report
}

fn assert_nothing_lost(report: &Report, kills: usize) {
    assert_eq!(report.kills, kills);
    assert!(report.acknowledged > 0, "the drill applied for someone: {report:?}");
    assert!(report.retries > 0, "the kills interrupted someone, or the drill proved nothing: {report:?}");
    assert_eq!((report.lost, report.duplicated, report.unacknowledged_stored), (0, 0, 0), "{report:?}");
}

fn kills() -> usize {
    std::env::var("SPORTELLO_DRILL_KILLS").ok().and_then(|k| k.parse().ok()).unwrap_or(5)
}

#[tokio::test]
async fn killing_the_server_on_sqlite_loses_and_doubles_no_acknowledged_application() {
    let sandbox = Sandbox::new();
    let kills = kills();
    let report = crash_drill(&sandbox, &sandbox.database_url.clone(), 12 * kills.max(5), kills).await;
    assert_nothing_lost(&report, kills);
}

#[tokio::test]
async fn killing_the_server_on_postgresql_loses_and_doubles_no_acknowledged_application() {
    let Some(database) = TestDatabase::create().await else { return };
    let sandbox = Sandbox::new();
    let kills = kills();
    let report = crash_drill(&sandbox, &database.url, 12 * kills.max(5), kills).await;
    database.drop_database().await;
    assert_nothing_lost(&report, kills);
}
