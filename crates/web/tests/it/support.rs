//! `spawn_app()`: the real server on an ephemeral port, a fresh SQLite database holding a small registry, the
//! outbox worker delivering to a mailbox file in the temporary folder, a clock the test can move, stopped when the
//! test ends. `spawn_gated_app()`: the same behind a waiting room whose own clock the test moves, so that a pass is
//! due for renewal on whichever request the test likes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::law::Decrees;
use sportello_domain::persons::{PersonRecord, Residence};
use sportello_domain::registry::{Position, PositionKind, RegistryRow};
use sportello_gate::ManualClock;
use sportello_store::{NewPin, OutboxMessage, Store};
use sportello_web::auth::Auth;
use sportello_web::config::Config;
use sportello_web::gate::{GateApp, PASS_COOKIE};
use sportello_web::notify::{FileNotifier, Message};
use sportello_web::pin::{ALPHABET, PinHasher};
use sportello_web::routes::Listed;
use sportello_web::server::{AppState, Server};
use tokio::sync::oneshot;

/// A professional of the Gestione separata, active on 23 February 2020: entitled under art. 27 (first 15 characters).
pub const PROFESSIONISTA: &str = "RSSMRA80A01H501";
/// A pensioner: entitled to nothing.
pub const PENSIONATA: &str = "BNCNNA50A41F205";
/// A codice fiscale that is not in the registry.
pub const NOT_REGISTERED: &str = "VRDGPP70B02L219";

/// The PIN [`TestApp::logged_in`] issues: 16 symbols of the PIN alphabet.
pub const TEST_PIN: &str = "ABCD2345EFGH6789";

/// The codice fiscale starting with `first15`, completed with its check character.
pub fn cf(first15: &str) -> CodiceFiscale {
    CodiceFiscale::with_check_character(first15).unwrap()
}

/// The registry every test starts with.
pub fn registry() -> Vec<RegistryRow> {
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    vec![
        RegistryRow {
            codice_fiscale: cf(PROFESSIONISTA),
            position: Position::period(PositionKind::GestioneSeparataProfessionista, day(2015, 3, 1), None),
        },
        RegistryRow {
            codice_fiscale: cf(PENSIONATA),
            position: Position::period(PositionKind::Pensione, day(2012, 1, 1), None),
        },
    ]
}

/// A clock running with real time plus an offset the test can push forward.
#[derive(Clone, Default)]
pub struct TestClock(Arc<Mutex<TimeDelta>>);

impl TestClock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.0.lock().unwrap()
    }
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += TimeDelta::from_std(by).unwrap();
    }
}

/// A running portal.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub mailbox: PathBuf,
    pub clock: TestClock,
    pub hasher: PinHasher,
    /// Every route the portal serves, as its route table lists them.
    pub routes: Vec<Listed>,
    /// The SQLite database the portal uses.
    pub database_url: String,
    /// The waiting room in front, with its own clock, for [`spawn_gated_app`].
    pub gate: Option<(GateApp, ManualClock)>,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The messages delivered so far to `recipient`.
    pub fn delivered_to(&self, recipient: &str) -> Vec<Message> {
        FileNotifier::read_mailbox(&self.mailbox).unwrap().into_iter().filter(|m| m.recipient == recipient).collect()
    }

    /// Replaces the registry with the one every test starts with plus `extra` rows.
    pub async fn import_registry(&self, extra: Vec<RegistryRow>) {
        let mut import = self.store.begin_registry_import().await.unwrap();
        import.write(&registry()).await.unwrap();
        import.write(&extra).await.unwrap();
        import.commit().await.unwrap();
    }

    /// Issues `codice_fiscale` the PIN [`TEST_PIN`] directly in the store (as the PIN request would) and returns a
    /// browser logged in with its first half.
    pub async fn logged_in(&self, codice_fiscale: &CodiceFiscale) -> Browser<'_> {
        let full_hash = self.hasher.hash_blocking(TEST_PIN.to_owned()).await.unwrap();
        let simplified_hash = self.hasher.hash_blocking(TEST_PIN[..8].to_owned()).await.unwrap();
        let now = self.clock.now();
        let slot = sportello_web::pin::EnteredPin::parse(TEST_PIN).unwrap().slot();
        let pin = NewPin {
            codice_fiscale: *codice_fiscale,
            slot,
            full_hash,
            simplified_hash,
            issued_at: now,
            first_half_to: sportello_store::FirstHalfTo::OnFile,
        };
        let delivery = OutboxMessage {
            channel: "email".to_owned(),
            recipient: format!("{codice_fiscale}@example.it"),
            subject: "PIN".to_owned(),
            body: TEST_PIN[..8].to_owned(),
            not_before: now,
        };
        // A second browser of the same person logs in with the PIN already issued.
        let issued = self.store.pins_of(codice_fiscale).await.unwrap().iter().any(|p| p.slot == Some(slot));
        if !issued {
            assert!(self.store.put_pin(pin, &[delivery]).await.unwrap());
        }
        let browser = Browser::new(self);
        if self.gate.is_some() {
            browser.admit().await;
        }
        let page = browser.login(codice_fiscale.as_str(), &TEST_PIN[..8]).await;
        assert_eq!(page.status, 303, "login of {codice_fiscale}: {}", page.body);
        browser
    }

    /// Imports the persons file with one record for `codice_fiscale` (Mario Rossi, resident in Rome), whose contacts
    /// on file are `email` and `mobile`.
    pub async fn on_file(&self, codice_fiscale: &CodiceFiscale, email: Option<&str>, mobile: Option<&str>) {
        let record = PersonRecord {
            codice_fiscale: *codice_fiscale,
            cognome: "Rossi".to_owned(),
            nome: "Mario".to_owned(),
            data_nascita: chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap(),
            residence: Some(Residence {
                indirizzo: "Via Appia Nuova 12".to_owned(),
                cap: "00183".to_owned(),
                comune: "Roma".to_owned(),
                provincia: "RM".to_owned(),
            }),
            email: email.map(str::to_owned),
            cellulare: mobile.map(str::to_owned),
        };
        let mut import = self.store.begin_persons_import().await.unwrap();
        import.write(&[record]).await.unwrap();
        import.commit().await.unwrap();
    }

    /// An accepted art. 27 application of `subject`, paid in cash, recorded straight in the store under `key`.
    pub async fn application_of(&self, subject: CodiceFiscale, key: &str) -> sportello_store::Application {
        let submitted = self
            .store
            .submit(sportello_store::NewApplication {
                codice_fiscale: subject,
                scheme: "art27".to_owned(),
                cumulation_group: "dl18-2020-marzo".to_owned(),
                protocol_prefix: "INPS-COVID-".to_owned(),
                idempotency_key: sportello_domain::IdempotencyKey::parse(key).unwrap(),
                status: sportello_store::ApplicationStatus::Accepted,
                reasons: Vec::new(),
                details: serde_json::json!({"payment": {"method": "domiciliato"}}),
                submitted_at: Utc::now(),
                hold: None,
            })
            .await
            .unwrap();
        let sportello_store::Submission::Created(application) = submitted else {
            panic!("a new application: {submitted:?}")
        };
        application
    }

    /// Moves the waiting room's clock past half a pass's lifetime: the next request of a pass holder renews it.
    pub fn make_pass_due(&self) {
        let (_, clock) = self.gate.as_ref().expect("a gated app");
        clock.advance_secs(31);
    }

    /// Waits (up to 10 s) until `count` messages have reached `recipient`, and returns them.
    pub async fn wait_for_messages(&self, recipient: &str, count: usize) -> Vec<Message> {
        for _ in 0..200 {
            let messages = self.delivered_to(recipient);
            if messages.len() >= count {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("fewer than {count} messages reached {recipient}");
    }
}

/// The portal with the default configuration, except that one client address may knock as often as it likes:
/// every test client is 127.0.0.1, and the tests of the address limit set their own.
pub async fn spawn_app() -> TestApp {
    let mut config = Config::default();
    config.limits.per_address_per_minute = 1_000_000;
    config.limits.per_address_burst = 1_000_000;
    spawn_app_with(config).await
}

/// One room over the whole portal, open since 2020, admitting everyone at once; a pass lives a minute before its
/// renewal (so one is due after 31 seconds of the gate's clock) and may be renewed for a day.
const GATE: &str = "[gate]\nsigning_key = \"0707070707070707070707070707070707070707070707070707070707070707\"\n\
    control_cache_ms = 0\n\n[gate.pow]\nmin_bits = 4\nmax_bits = 6\n\n\
    [[gate.rooms]]\nkey = \"cittadini\"\npath = \"/\"\nwindows = [{ from = \"2020-04-01T16:00\" }]\n\
    capacity = { admit_per_sec = 1000, burst = 1000, max_active = 10000, pass_ttl_secs = 60, pass_max_secs = 86400, \
    claim_grace_secs = 60, refresh_interval_secs = 1, ticket_ttl_secs = 30 }\n";

/// [`spawn_app`] behind a waiting room ([`GATE`]) whose clock is `app.gate`'s: moving it by
/// [`TestApp::make_pass_due`] makes the next request renew the visitor's pass.
pub async fn spawn_gated_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sportello.toml");
    std::fs::write(&file, GATE).unwrap();
    let mut config = Config::load(Some(&file)).unwrap();
    config.limits.per_address_per_minute = 1_000_000;
    config.limits.per_address_burst = 1_000_000;
    config.limits.tickets_per_address_per_minute = 1_000_000;
    config.limits.tickets_per_address_burst = 1_000_000;
    let clock = ManualClock::new(Utc::now());
    let gate = config.gate.as_ref().unwrap().build_with(clock.clock()).await.unwrap();
    spawn(config, Some((gate, clock))).await
}

pub async fn spawn_app_with(config: Config) -> TestApp {
    spawn(config, None).await
}

async fn spawn(mut config: Config, gate: Option<(GateApp, ManualClock)>) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/sportello.db", dir.path().display());
    let store: Arc<dyn Store> = sportello_store::open(&url).await.unwrap().into();
    let mut import = store.begin_registry_import().await.unwrap();
    import.write(&registry()).await.unwrap();
    import.commit().await.unwrap();
    let mailbox = dir.path().join("mailbox.jsonl");
    config.notify.mailbox.get_or_insert_with(|| mailbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let clock = TestClock::default();
    // Cheap Argon2 parameters: the production ones are exercised by the bench.
    let hasher = PinHasher::with_params(argon2::Params::new(64, 1, 1, None).unwrap(), 4).unwrap();
    let auth = Auth::from_config(&config).unwrap().with_hasher(hasher.clone()).with_clock({
        let clock = clock.clone();
        move || clock.now()
    });
    let state = AppState { store: store.clone(), decrees: Arc::new(Decrees::embedded()), config: Arc::new(config) };
    let gate_app = gate.as_ref().map(|(gate, _)| gate.clone());
    let portal = Server::new(state).auth(auth).gate(gate_app).build().await.unwrap();
    let routes = portal.listed().to_vec();
    let (stop, stopped) = oneshot::channel::<()>();
    let stopped = async {
        let _ = stopped.await;
    };
    tokio::spawn(portal.launch(listener, stopped));
    let client =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    TestApp { base, client, store, mailbox, clock, hasher, routes, database_url: url, gate, _stop: stop, _dir: dir }
}

/// The session cookie.
pub const SESSION: &str = "__Host-sportello";
/// The pre-login CSRF cookie.
pub const CSRF: &str = "__Host-sportello_csrf";

/// One browser: its own cookies, no redirects followed.
pub struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
}

/// What a response said, read once.
pub struct Page {
    pub status: u16,
    pub location: String,
    pub cache_control: String,
    pub vary: String,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { app, client, cookies: Mutex::default() }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies.lock().unwrap().insert(name.to_owned(), value.to_owned());
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let header =
            self.cookies.lock().unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let request = if header.is_empty() { request } else { request.header("cookie", header) };
        let response = request.send().await.unwrap();
        let get = |name: &str| {
            response
                .headers()
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (location, cache_control, vary) = (get("location"), get("cache-control"), get("vary"));
        let set_cookies: Vec<String> =
            response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        for set in &set_cookies {
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.lock().unwrap().remove(name);
            } else {
                self.set_cookie(name, value);
            }
        }
        let status = response.status().as_u16();
        Page { status, location, cache_control, vary, set_cookies, body: response.text().await.unwrap() }
    }

    /// Takes a place in the waiting room as the page's script does (the proof of work, the JSON entry) and keeps
    /// the pass it is admitted with, in place of any it held.
    pub async fn admit(&self) {
        self.cookies.lock().unwrap().remove(PASS_COOKIE);
        let offer =
            self.send(self.client.get(self.app.url("/attesa/stato")).header("accept", "application/json")).await;
        let offer: serde_json::Value = serde_json::from_str(&offer.body).unwrap();
        let token = offer["challenge"]["token"].as_str().expect("a challenge").to_owned();
        let difficulty = u8::try_from(offer["challenge"]["difficulty"].as_u64().unwrap()).unwrap();
        let nonce = tokio::task::spawn_blocking({
            let token = token.clone();
            move || sportello_gate::pow::solve(&token, difficulty)
        })
        .await
        .unwrap();
        let entry = self.client.post(self.app.url("/attesa/biglietto")).header("accept", "application/json");
        let entered = self.send(entry.json(&serde_json::json!({ "token": token, "nonce": nonce }))).await;
        assert!(entered.body.contains("\"admitted\":true"), "an empty room admits at once: {}", entered.body);
        assert!(self.cookie(PASS_COOKIE).is_some(), "the pass is kept as a cookie");
    }

    /// `method` on `path`, with no body.
    pub async fn call(&self, method: reqwest::Method, path: &str) -> Page {
        self.send(self.client.request(method, self.app.url(path))).await
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(self.app.url(path))).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&");
        let request = self.client.post(self.app.url(path)).header("content-type", "application/x-www-form-urlencoded");
        self.send(request.body(body)).await
    }

    /// Posts `fields` and the file `file` (named `file_field`, as `application/pdf`) to `path` as
    /// `multipart/form-data`, as a browser sends a form with a file.
    pub async fn post_file(&self, path: &str, fields: &[(&str, &str)], file_field: &str, file: &[u8]) -> Page {
        let boundary = "sportello-test-boundary-7d3f";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
            );
        }
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"modulo.pdf\"\r\n\
                 Content-Type: application/pdf\r\n\r\n"
            )
            .bytes(),
        );
        body.extend_from_slice(file);
        body.extend(format!("\r\n--{boundary}--\r\n").bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let request = self.client.post(self.app.url(path)).header("content-type", content_type);
        self.send(request.body(body)).await
    }

    /// The CSRF token of the form at `path`.
    pub async fn token(&self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        csrf_of(&page.body)
    }

    pub async fn request_pin(&self, codice_fiscale: &str, contact: &str) -> Page {
        let csrf = self.token("/pin").await;
        self.post("/pin", &[("csrf", &csrf), ("codice_fiscale", codice_fiscale), ("contatto", contact)]).await
    }

    pub async fn login(&self, codice_fiscale: &str, pin: &str) -> Page {
        let csrf = self.token("/accedi").await;
        self.post("/accedi", &[("csrf", &csrf), ("codice_fiscale", codice_fiscale), ("pin", pin)]).await
    }
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
    html[start..].split('"').next().unwrap().to_owned()
}

/// The PIN half in a delivered message: the line of 8 PIN symbols.
pub fn pin_half(body: &str) -> String {
    body.lines()
        .map(str::trim)
        .find(|line| line.len() == 8 && line.bytes().all(|b| ALPHABET.contains(&b)))
        .expect("a PIN half in the message")
        .to_owned()
}

pub fn assert_private(page: &Page) {
    assert_eq!(page.cache_control, "no-store, private");
    assert!(page.vary.contains("Cookie"), "{}", page.vary);
}

// Applying, as a browser does it.

/// A valid Italian IBAN (CIN included).
pub const IBAN: &str = "IT60 X054 2811 1010 0000 0123 456";

/// The value of hidden field `name` in `html`.
pub fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no field {name}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// A complete application form as a browser posts it, from the form page `form`: every declaration ticked, those
/// the indemnity does not ask for too (they are not recorded).
pub fn filled(form: &Page) -> Vec<(String, String)> {
    let pairs = [
        ("csrf", csrf_of(&form.body)),
        ("scheme", field(&form.body, "scheme")),
        ("idempotency_key", field(&form.body, "idempotency_key")),
        ("payment", "iban".to_owned()),
        ("iban", IBAN.to_owned()),
        ("email", "mario.rossi@example.it".to_owned()),
        ("mobile", String::new()),
        ("not_pension_holder", "si".to_owned()),
        ("no_other_compulsory_scheme", "si".to_owned()),
        ("not_employed", "si".to_owned()),
        ("not_reddito_di_cittadinanza", "si".to_owned()),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

pub fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Every hidden field of the first form in `html` posting to `action`.
pub fn hidden_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let start = html.find(&format!("action=\"{action}\"")).expect("the form");
    let form = &html[start..html[start..].find("</form>").unwrap() + start];
    form.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|input| {
            let name = input.split("name=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
            let value = input.split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
            (name, value)
        })
        .collect()
}

/// Form → review → "Conferma e invia": the submission's response and the confirmation that was posted.
pub async fn apply(browser: &Browser<'_>, scheme: &str) -> (Page, Vec<(String, String)>) {
    apply_with(browser, scheme, |_| {}).await
}

/// [`apply`], with the form as `edit` leaves it.
pub async fn apply_with(
    browser: &Browser<'_>,
    scheme: &str,
    edit: impl FnOnce(&mut [(String, String)]),
) -> (Page, Vec<(String, String)>) {
    let form = browser.get(&format!("/domanda?scheme={scheme}")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let mut posted = filled(&form);
    edit(&mut posted);
    let review = browser.post("/domanda", &pairs(&posted)).await;
    assert_eq!(review.status, 200, "{}", review.body);
    let confirm = hidden_fields(&review.body, "/domanda/invia");
    (browser.post("/domanda/invia", &pairs(&confirm)).await, confirm)
}

/// Log lines written into memory, for a test to read what the portal logged (a `tracing_subscriber` writer).
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
