//! The database outage drill: the portal runs on PostgreSQL through a TCP proxy the test controls; citizens apply
//! through the API while the proxy cuts every connection and refuses new ones for a while. The portal must answer
//! quickly with 503 and `Retry-After` (a page in the visitor's language), never anything else, reconnect by itself
//! when the database is back, and lose nothing it acknowledged.
//!
//! The default run cuts the database for 5 s; `SPORTELLO_DRILL_OUTAGE_SECS=30` (as `scripts/drills` sets) runs the
//! full drill.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sportello_domain::CodiceFiscale;
use sportello_domain::law::Decrees;
use sportello_domain::registry::{Position, PositionKind, RegistryRow};
use sportello_store::Store;
use sportello_store::testing::TestDatabase;
use sportello_web::auth::Auth;
use sportello_web::config::Config;
use sportello_web::pin::PinHasher;
use sportello_web::server::{AppState, Server};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::support::{TEST_PIN, cf};

/// A TCP proxy to the database that can cut every connection and refuse new ones.
struct Proxy {
    port: u16,
    down: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (flag, held) = (Arc::clone(&down), Arc::clone(&connections));
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if flag.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                held.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Proxy { port, down, connections }
    }

    /// The database "goes away": open connections are cut, new ones are closed at once.
    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for connection in self.connections.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

/// Professionals of the Gestione separata, entitled under art. 27.
fn professionals(n: u32) -> Vec<CodiceFiscale> {
    let months = ['A', 'B', 'C', 'D', 'E', 'H', 'L', 'M', 'P', 'R', 'S', 'T'];
    (0..n)
        .map(|i| cf(&format!("RSSMRA{:02}{}{:02}H501", 60 + i / 336, months[(i / 28 % 12) as usize], 1 + i % 28)))
        .collect()
}

/// Opens the login page in English and logs in with the form: status, whether `Retry-After` came, and the body.
async fn log_in_on_the_page(http: &reqwest::Client, base: &str, me: CodiceFiscale) -> (u16, bool, String) {
    let form = http.get(format!("{base}/accedi?lang=en")).send().await.unwrap();
    let cookies: Vec<String> = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let csrf = crate::support::csrf_of(&form.text().await.unwrap());
    let answer = http
        .post(format!("{base}/accedi?lang=en"))
        .header("cookie", cookies.join("; "))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}&codice_fiscale={me}&pin={}", crate::support::encode(&csrf), &TEST_PIN[..8]))
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let retry_after = answer.headers().contains_key("retry-after");
    (status, retry_after, answer.text().await.unwrap())
}

/// What the clients saw.
#[derive(Debug, Default)]
struct Seen {
    ok: AtomicUsize,
    unavailable: AtomicUsize,
    unavailable_without_retry_after: AtomicUsize,
    other: Mutex<Vec<String>>,
    slowest_during_outage_ms: AtomicUsize,
}

fn outage_secs() -> u64 {
    std::env::var("SPORTELLO_DRILL_OUTAGE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(5)
}

#[tokio::test]
async fn a_database_outage_gets_quick_503s_and_loses_nothing_acknowledged() {
    let Some(database) = TestDatabase::create().await else { return };
    let mut url = url::Url::parse(&database.url).unwrap();
    let upstream = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let proxy = Proxy::start(upstream).await;
    url.set_port(Some(proxy.port)).unwrap();

    let store: Arc<dyn Store> = sportello_store::open(url.as_str()).await.unwrap().into();
    let people = professionals(40);
    let day = chrono::NaiveDate::from_ymd_opt(2015, 3, 1).unwrap();
    let rows: Vec<RegistryRow> = people
        .iter()
        .map(|&codice_fiscale| RegistryRow {
            codice_fiscale,
            position: Position::period(PositionKind::GestioneSeparataProfessionista, day, None),
        })
        .collect();
    let mut import = store.begin_registry_import().await.unwrap();
    import.write(&rows).await.unwrap();
    import.commit().await.unwrap();
    let hasher = PinHasher::with_params(argon2::Params::new(64, 1, 1, None).unwrap(), 4).unwrap();
    for &codice_fiscale in &people {
        let pin = sportello_store::NewPin {
            codice_fiscale,
            full_hash: hasher.hash_blocking(TEST_PIN.to_owned()).await.unwrap(),
            simplified_hash: hasher.hash_blocking(TEST_PIN[..8].to_owned()).await.unwrap(),
            issued_at: chrono::Utc::now(),
            slot: sportello_web::pin::EnteredPin::parse(TEST_PIN).unwrap().slot(),
            first_half_to: sportello_store::FirstHalfTo::OnFile,
        };
        let delivery = sportello_store::OutboxMessage {
            channel: "email".to_owned(),
            recipient: format!("{codice_fiscale}@example.it"),
            subject: "PIN".to_owned(),
            body: TEST_PIN[..8].to_owned(),
            not_before: chrono::Utc::now(),
        };
        assert!(store.put_pin(pin, &[delivery]).await.unwrap());
    }

    let mut config = Config::default();
    config.limits.per_address_per_minute = 1_000_000;
    config.limits.per_address_burst = 1_000_000;
    // The clients retry their logins through the outage, as fast as every 100 ms.
    config.limits.per_person_per_hour = 1_000_000;
    config.limits.per_person_burst = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    config.notify.mailbox = Some(dir.path().join("mailbox.jsonl"));
    let auth = Auth::from_config(&config).unwrap().with_hasher(hasher);
    let state = AppState { store: store.clone(), decrees: Arc::new(Decrees::embedded()), config: Arc::new(config) };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, stopped) = oneshot::channel::<()>();
    let portal = Server::new(state).auth(auth).build().await.unwrap();
    tokio::spawn(portal.launch(listener, async {
        let _ = stopped.await;
    }));

    let seen = Arc::new(Seen::default());
    let outage = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(BTreeMap::new()));
    let queue = Arc::new(Mutex::new(people.clone()));
    // Each client logs a citizen in and applies, retrying with the same key until the receipt comes back.
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (seen, outage, acknowledged, queue, base) =
                (Arc::clone(&seen), Arc::clone(&outage), Arc::clone(&acknowledged), Arc::clone(&queue), base.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
                let send = |request: reqwest::RequestBuilder| {
                    let (seen, outage) = (Arc::clone(&seen), Arc::clone(&outage));
                    async move {
                        let during = outage.load(Ordering::SeqCst);
                        let started = Instant::now();
                        let response = request.send().await.expect("the portal always answers");
                        let took = usize::try_from(started.elapsed().as_millis()).unwrap();
                        if during {
                            seen.slowest_during_outage_ms.fetch_max(took, Ordering::SeqCst);
                        }
                        let status = response.status().as_u16();
                        match status {
                            200..=299 => seen.ok.fetch_add(1, Ordering::SeqCst),
                            503 if response.headers().contains_key("retry-after") => {
                                seen.unavailable.fetch_add(1, Ordering::SeqCst)
                            }
                            503 => seen.unavailable_without_retry_after.fetch_add(1, Ordering::SeqCst),
                            other => {
                                seen.other.lock().unwrap().push(format!("{other}"));
                                0
                            }
                        };
                        let body: serde_json::Value = response.json().await.unwrap_or_default();
                        (status, body)
                    }
                };
                loop {
                    let Some(me) = queue.lock().unwrap().pop() else { return };
                    let key = format!("outage-{me}");
                    let mut token = None;
                    let protocol = loop {
                        if token.is_none() {
                            let request = http
                                .post(format!("{base}/api/v1/sessions"))
                                .json(&serde_json::json!({ "codice_fiscale": me.as_str(), "pin": &TEST_PIN[..8] }));
                            match send(request).await {
                                (201, body) => token = body["token"].as_str().map(str::to_owned),
                                _ => {
                                    tokio::time::sleep(Duration::from_millis(100)).await;
                                    continue;
                                }
                            }
                        }
                        let request = http
                            .post(format!("{base}/api/v1/applications"))
                            .bearer_auth(token.as_deref().unwrap_or_default())
                            .header("Idempotency-Key", &key)
                            .json(&serde_json::json!({
                                "scheme": "art27",
                                "payment": { "method": "iban", "iban": "IT60X0542811101000000123456" },
                                "contact": { "email": "drill@example.it" },
                                "declarations": {
                                    "not_pension_holder": true,
                                    "not_reddito_di_cittadinanza": true,
                                    "no_other_compulsory_scheme": true,
                                    "not_employed": true
                                }
                            }));
                        match send(request).await {
                            (200 | 201, body) => break body["protocol"].as_str().unwrap().to_owned(),
                            _ => tokio::time::sleep(Duration::from_millis(100)).await,
                        }
                    };
                    acknowledged.lock().unwrap().insert(me, protocol);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        })
        .collect();

    // Some applications go through, then the database goes away.
    while acknowledged.lock().unwrap().len() < 5 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    outage.store(true, Ordering::SeqCst);
    proxy.cut();
    let cut_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    // Someone logging in on the pages, in English: the login needs the database, so the answer is the 503 page.
    let started = Instant::now();
    let (status, retry_after, page) = log_in_on_the_page(&http, &base, people[0]).await;
    assert_eq!(status, 503, "{page}");
    assert!(retry_after, "the page says when to come back");
    assert!(page.contains("Service unavailable") && page.contains("try again"), "{page}");
    assert!(started.elapsed() < Duration::from_secs(5), "quickly: {:?}", started.elapsed());
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503, "not ready while the database is away");
    tokio::time::sleep(Duration::from_secs(outage_secs()).saturating_sub(cut_at.elapsed())).await;
    let acknowledged_before_restore = acknowledged.lock().unwrap().len();
    proxy.restore();
    outage.store(false, Ordering::SeqCst);
    let outage_lasted = cut_at.elapsed();

    for client in clients {
        tokio::time::timeout(Duration::from_secs(60), client).await.expect("the clients finished").unwrap();
    }
    let reconnected = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(reconnected.status(), 200, "the pool reconnected by itself");

    let acknowledged = acknowledged.lock().unwrap().clone();
    assert_eq!(acknowledged.len(), people.len(), "everyone got a receipt in the end");
    let mut lost = 0;
    let mut duplicated = 0;
    for (me, protocol) in &acknowledged {
        let stored = store.applications_of(me).await.unwrap();
        lost += usize::from(!stored.iter().any(|a| &a.protocol == protocol));
        duplicated += stored.len().saturating_sub(1);
    }
    let other = seen.other.lock().unwrap().clone();
    let unavailable = seen.unavailable.load(Ordering::SeqCst);
    let slowest = seen.slowest_during_outage_ms.load(Ordering::SeqCst);
    println!(
        "DRILL outage database=postgres seconds={} answers_503={unavailable} without_retry_after={} other={} \
         slowest_ms={slowest} acknowledged={} lost={lost} duplicated={duplicated}",
        outage_lasted.as_secs(),
        seen.unavailable_without_retry_after.load(Ordering::SeqCst),
        other.len(),
        acknowledged.len()
    );
    assert!(other.is_empty(), "answers other than 2xx or 503: {other:?}");
    assert_eq!(seen.unavailable_without_retry_after.load(Ordering::SeqCst), 0, "every 503 says when to come back");
    assert!(unavailable > 0, "the outage was seen: {acknowledged_before_restore} acknowledged before it ended");
    assert!(slowest < 5_000, "answers during the outage came within 5 s, the slowest in {slowest} ms");
    assert_eq!((lost, duplicated), (0, 0));
    database.drop_database().await;
}
