//! The admission gate in front of the portal, over real HTTP: a crowd at a capacity of one admission per second
//! and two active sessions, a visitor without JavaScript, JSON clients, maintenance, revocation, a closed room and
//! the public status page. Each test starts its own gated portal on port 0; the gate's clock is the wall clock,
//! except where a test holds a `ManualClock` to stand before an opening.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sha2::Digest;
use sportello_domain::CodiceFiscale;
use sportello_domain::law::Decrees;
use sportello_domain::registry::{Position, PositionKind, RegistryRow};
use sportello_gate::{Clock, MaintenanceMessage, ManualClock, PassId, pow, system_clock};
use sportello_store::{NewPin, OutboxMessage, Store};
use sportello_web::auth::Auth;
use sportello_web::config::Config;
use sportello_web::gate::GateApp;
use sportello_web::pin::PinHasher;
use sportello_web::routes::{Audience, Listed};
use sportello_web::server::{AppState, Server};
use tokio::sync::oneshot;

use crate::support::{Page, TEST_PIN, cf, filled, hidden_fields, pairs, registry};

/// A gated portal's configuration: the `[gate]` section every test shares (a fixed key, live settings never cached,
/// easy proofs of work plus `pow`), then one room, `key`, guarding the whole portal and opening on the first of April
/// at 16:00 Rome time, with `room` lines, then `rest` (more sections).
fn gated(pow: &str, key: &str, room: &str, rest: &str) -> String {
    format!(
        "[gate]\nsigning_key = \"{}\"\ncontrol_cache_ms = 0\n\n[gate.pow]\nmin_bits = 4\nmax_bits = 6\n{pow}\n\n\
         [[gate.rooms]]\nkey = \"{key}\"\npath = \"/\"\nwindows = [{{ from = \"2020-04-01T16:00\" }}]\n{room}\n\n{rest}",
        "07".repeat(32)
    )
}

/// A room's capacity line: `admit_per_sec`, `burst` and `max_active` as given, a pass of ten minutes, refreshes every
/// second.
fn capacity(admit_per_sec: u32, burst: u32, max_active: u32) -> String {
    format!(
        "capacity = {{ admit_per_sec = {admit_per_sec}, burst = {burst}, max_active = {max_active}, pass_ttl_secs = 600, \
         claim_grace_secs = 60, refresh_interval_secs = 1, ticket_ttl_secs = 30 }}"
    )
}

/// One admission a second, two people inside at once: each admission shows. No-JavaScript waits of a second or two.
fn one_per_second() -> String {
    gated("no_js_wait_secs = 1\nno_js_wait_max_secs = 2", "cittadini", &capacity(1, 1, 2), "")
}

/// Five admissions a second, three people inside at once: a crowd of thirty mostly waits. All of them come from
/// 127.0.0.1, so the per-address limit on places is lifted.
fn crowd() -> String {
    gated(
        "",
        "cittadini",
        &capacity(5, 5, 3),
        "[limits]\ntickets_per_address_per_minute = 1000\ntickets_per_address_burst = 1000\n",
    )
}

/// The room of the first of April with the default capacity and a pre-queue from 15:00.
fn first_of_april() -> String {
    gated("", "cittadini", "pre_queue_minutes = 60", "")
}

/// Every admitted request counts as slow (a target of 0 ms), looked at every second; a room of its own name, so the
/// process-wide metrics it sets are this test's alone.
fn strained() -> String {
    let adaptive = "[gate.adaptive]\ntarget_latency_ms = 0\ninterval_secs = 1\n";
    gated("", "sotto-sforzo", &capacity(10, 1, 20), adaptive)
}

/// A portal behind the gate.
struct Gated {
    base: String,
    store: Arc<dyn Store>,
    hasher: PinHasher,
    gate: GateApp,
    routes: Vec<Listed>,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn spawn_gated(toml: &str, clock: Clock) -> Gated {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sportello.toml");
    std::fs::write(&file, toml).unwrap();
    let mut config = Config::load(Some(&file)).unwrap();
    config.notify.mailbox = Some(dir.path().join("mailbox.jsonl"));
    let gate = config.gate.as_ref().expect("a [gate] section").build_with(clock).await.unwrap();
    let url = format!("sqlite://{}/sportello.db", dir.path().display());
    let store: Arc<dyn Store> = sportello_store::open(&url).await.unwrap().into();
    let mut import = store.begin_registry_import().await.unwrap();
    import.write(&registry()).await.unwrap();
    import.write(&citizens().into_iter().map(professional).collect::<Vec<_>>()).await.unwrap();
    import.commit().await.unwrap();
    let hasher = PinHasher::with_params(argon2::Params::new(64, 1, 1, None).unwrap(), 4).unwrap();
    let auth = Auth::from_config(&config).unwrap().with_hasher(hasher.clone());
    let state = AppState { store: store.clone(), decrees: Arc::new(Decrees::embedded()), config: Arc::new(config) };
    let portal = Server::new(state).auth(auth).gate(Some(gate.clone())).build().await.unwrap();
    let routes = portal.listed().to_vec();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(portal.launch(listener, async {
        let _ = stopped.await;
    }));
    Gated { base, store, hasher, gate, routes, _stop: stop, _dir: dir }
}

/// Nine professionals of the Gestione separata, born on the 1st to the 9th of January 1980.
fn citizens() -> Vec<CodiceFiscale> {
    (1..=9).map(|day| cf(&format!("RSSMRA80A0{day}H501"))).collect()
}

fn professional(codice_fiscale: CodiceFiscale) -> RegistryRow {
    let day = chrono::NaiveDate::from_ymd_opt(2015, 3, 1).unwrap();
    RegistryRow { codice_fiscale, position: Position::period(PositionKind::GestioneSeparataProfessionista, day, None) }
}

/// One visitor: its own cookies, extra headers for JSON clients, no redirects followed.
struct Visitor<'a> {
    app: &'a Gated,
    client: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
    headers: Mutex<Vec<(String, String)>>,
}

impl<'a> Visitor<'a> {
    fn new(app: &'a Gated) -> Self {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Visitor { app, client, cookies: Mutex::default(), headers: Mutex::default() }
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    async fn send(&self, mut request: reqwest::RequestBuilder) -> (Page, Option<String>) {
        let header =
            self.cookies.lock().unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        if !header.is_empty() {
            request = request.header("cookie", header);
        }
        for (name, value) in self.headers.lock().unwrap().iter() {
            request = request.header(name, value);
        }
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
        let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        let set_cookies: Vec<String> =
            response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        for set in &set_cookies {
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.lock().unwrap().remove(name);
            } else {
                self.cookies.lock().unwrap().insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status().as_u16();
        let page = Page { status, location, cache_control, vary, set_cookies, body: response.text().await.unwrap() };
        (page, retry_after)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.base)
    }

    async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(self.url(path))).await.0
    }

    async fn get_json(&self, path: &str) -> (Page, Option<String>) {
        self.send(self.client.get(self.url(path)).header("accept", "application/json")).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form.iter().map(|(k, v)| format!("{}={}", crate::support::encode(k), crate::support::encode(v)));
        let request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.collect::<Vec<_>>().join("&"));
        self.send(request).await.0
    }

    /// Logs in as `codice_fiscale` with a PIN put straight into the store, as `TestApp::logged_in` does.
    async fn log_in(&self, codice_fiscale: &CodiceFiscale) {
        let app = self.app;
        let full_hash = app.hasher.hash_blocking(TEST_PIN.to_owned()).await.unwrap();
        let simplified_hash = app.hasher.hash_blocking(TEST_PIN[..8].to_owned()).await.unwrap();
        let now = Utc::now();
        let pin = NewPin {
            codice_fiscale: *codice_fiscale,
            slot: sportello_web::pin::EnteredPin::parse(TEST_PIN).unwrap().slot(),
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
        assert!(app.store.put_pin(pin, &[delivery]).await.unwrap());
        let form = self.get("/accedi").await;
        assert_eq!(form.status, 200, "the login form, with a pass: {}", form.body);
        let csrf = crate::support::csrf_of(&form.body);
        let login = self
            .post("/accedi", &[("csrf", &csrf), ("codice_fiscale", codice_fiscale.as_str()), ("pin", &TEST_PIN[..8])])
            .await;
        assert_eq!(login.status, 303, "login of {codice_fiscale}: {}", login.body);
    }

    /// Form → review → submission of an art. 27 application; the protocol's location.
    async fn apply(&self) -> String {
        let form = self.get("/domanda?scheme=art27").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let review = self.post("/domanda", &pairs(&filled(&form))).await;
        assert_eq!(review.status, 200, "{}", review.body);
        let confirm = hidden_fields(&review.body, "/domanda/invia");
        let submitted = self.post("/domanda/invia", &pairs(&confirm)).await;
        assert_eq!(submitted.status, 303, "{}", submitted.body);
        assert!(submitted.location.starts_with("/domande/INPS-COVID-"), "{}", submitted.location);
        submitted.location
    }
}

/// The value of attribute `name` on the waiting room's `#gate` element.
fn data(html: &str, name: &str) -> String {
    let marker = format!("data-{name}=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no data-{name} in {html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// The first `<meta http-equiv="refresh">`: seconds and URL.
fn meta_refresh(html: &str) -> Option<(u64, String)> {
    let start = html.find("http-equiv=\"refresh\" content=\"")? + 30;
    let content = html[start..].split('"').next()?;
    let (secs, url) = content.split_once(';')?;
    let url = url.trim().strip_prefix("url=")?.replace("&#38;", "&").replace("&amp;", "&");
    Some((secs.trim().parse().ok()?, url))
}

/// Every gate response in a queue is the waiting room (200, or a redirect within it), or a quick 503 that says
/// when to come back.
fn assert_queue_answer(page: &Page, retry_after: Option<&str>, what: &str) {
    match page.status {
        200 | 303 => {}
        503 => assert!(retry_after.is_some_and(|s| s.parse::<u32>().is_ok()), "{what}: a 503 without Retry-After"),
        other => panic!("{what}: {other} {}", page.body),
    }
}

/// Asks for a place as the page's script does: the challenge from the page, the proof of work, the JSON entry.
async fn solve_and_enter(visitor: &Visitor<'_>) -> (Page, Option<String>) {
    solve_and_enter_at(visitor, "/").await
}

/// [`solve_and_enter`], asking first for `back`, a page of the room the place is in.
async fn solve_and_enter_at(visitor: &Visitor<'_>, back: &str) -> (Page, Option<String>) {
    let asked = visitor.get(back).await;
    assert_eq!(asked.status, 303, "no pass: to the waiting room");
    assert_eq!(asked.location, format!("/attesa?dopo={back}"));
    let room = visitor.get(&asked.location).await;
    assert_eq!(room.status, 200, "{}", room.body);
    assert_eq!(data(&room.body, "shown"), "challenge");
    let (token, difficulty) = (data(&room.body, "token"), data(&room.body, "difficulty").parse::<u8>().unwrap());
    let nonce = tokio::task::spawn_blocking({
        let token = token.clone();
        move || pow::solve(&token, difficulty)
    })
    .await
    .unwrap();
    let request = visitor
        .client
        .post(visitor.url("/attesa/biglietto"))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}&nonce={nonce}&dopo={}", crate::support::encode(back)));
    visitor.send(request).await
}

/// Takes a place: what the gate answered.
async fn take_a_place(visitor: &Visitor<'_>) -> serde_json::Value {
    let (entered, _) = solve_and_enter(visitor).await;
    assert_eq!(entered.status, 200, "{}", entered.body);
    serde_json::from_str(&entered.body).unwrap()
}

/// How a visitor's wait went, as seen from outside.
struct Wait {
    /// The positions shown, in order.
    positions: Vec<u64>,
    /// When the last poll that still found the visitor waiting was sent.
    last_waiting_sent: Option<Instant>,
    /// When the answer saying "admitted" arrived.
    admitted_seen: Instant,
}

/// Polls `/attesa/stato` until admitted; every answer on the way is a queue answer.
async fn wait_for_admission(visitor: &Visitor<'_>) -> Wait {
    let mut positions = Vec::new();
    let mut last_waiting_sent = None;
    for _ in 0..400 {
        let sent = Instant::now();
        let (page, retry_after) = visitor.get_json("/attesa/stato").await;
        assert_queue_answer(&page, retry_after.as_deref(), "polling");
        assert_eq!(page.cache_control, "no-store, private", "a ticket is personal");
        let view: serde_json::Value = serde_json::from_str(&page.body).unwrap();
        if view["admitted"] == true {
            return Wait { positions, last_waiting_sent, admitted_seen: Instant::now() };
        }
        if let Some(p) = view["position"].as_u64() {
            positions.push(p);
        }
        last_waiting_sent = Some(sent);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not admitted within 40 s");
}

#[tokio::test]
async fn a_crowd_is_admitted_in_ticket_order_while_the_admitted_apply_and_newcomers_queue() {
    let app = spawn_gated(&crowd(), system_clock()).await;
    let people = citizens();
    // Thirty visitors for three places: the first nine apply, the others look at a page and leave.
    let visitors: Vec<Visitor<'_>> = (0..30).map(|_| Visitor::new(&app)).collect();

    // Tickets are taken one after the other, so their order is known; the rest runs concurrently.
    let mut first_views = Vec::new();
    for visitor in &visitors {
        first_views.push(take_a_place(visitor).await);
    }
    for view in &first_views[..3] {
        assert_eq!(view["admitted"], true, "an empty room admits up to its capacity at once: {view}");
    }
    for (i, view) in first_views.iter().enumerate().skip(3) {
        assert_eq!(view["state"], "waiting", "{view}");
        assert!(view["ticket"].is_string(), "a JSON answer carries the ticket too: {view}");
        assert!(view["position"].as_u64().unwrap() <= i as u64 - 2, "visitor {i}: {view}");
    }

    let admitted_order = Arc::new(Mutex::new(Vec::new()));
    let journeys = visitors.iter().enumerate().map(|(i, visitor)| {
        let admitted_order = Arc::clone(&admitted_order);
        let me = people.get(i);
        async move {
            let wait = wait_for_admission(visitor).await;
            assert!(
                wait.positions.windows(2).all(|w| w[1] <= w[0]),
                "visitor {i}: the position never goes up: {:?}",
                wait.positions
            );
            admitted_order.lock().unwrap().push((i, wait.last_waiting_sent, wait.admitted_seen));
            assert!(visitor.cookie(sportello_web::gate::PASS_COOKIE).is_some(), "the pass is kept as a cookie");
            match me {
                Some(me) => {
                    visitor.log_in(me).await;
                    visitor.apply().await;
                }
                None => assert_eq!(visitor.get("/privacy").await.status, 200),
            }
            let done = visitor.post("/attesa/esci", &[]).await;
            assert_eq!(done.status, 200, "{}", done.body);
            assert!(visitor.cookie(sportello_web::gate::PASS_COOKIE).is_none(), "the pass is given back");
        }
    });
    let newcomer = async {
        // While the first admitted apply, a newcomer is queued, never let through.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let late = Visitor::new(&app);
        let asked = late.get("/domanda?scheme=art27").await;
        assert_eq!(asked.status, 303);
        assert!(asked.location.starts_with("/attesa?dopo="), "{}", asked.location);
    };
    tokio::join!(futures::future::join_all(journeys), newcomer);

    // In ticket order: nobody was still found waiting, by a poll sent after someone behind them was seen admitted.
    // (Several may be admitted in the same second, so the order their answers arrive in proves nothing.)
    let seen = admitted_order.lock().unwrap().clone();
    assert_eq!(seen.len(), 30);
    for &(behind, _, admitted_seen) in &seen {
        for &(ahead, last_waiting_sent, _) in &seen {
            if ahead < behind
                && let Some(waiting) = last_waiting_sent
            {
                assert!(waiting < admitted_seen, "visitor {ahead} still waited after visitor {behind} was admitted");
            }
        }
    }
    let waited = seen.iter().filter(|(_, waiting, _)| waiting.is_some()).count();
    assert!(waited >= 20, "most of the crowd waited: {waited}");
    for me in &people {
        assert_eq!(app.store.applications_of(me).await.unwrap().len(), 1, "{me} applied once");
    }
}

#[tokio::test]
async fn a_visitor_without_javascript_follows_the_refreshes_into_the_portal_and_applies() {
    let app = spawn_gated(&one_per_second(), system_clock()).await;
    let visitor = Visitor::new(&app);
    let mut page = visitor.get("/?lang=en").await;
    assert_eq!(page.status, 303);
    let mut next = page.location.clone();
    assert!(next.contains("lang=en"), "the language follows the visitor: {next}");
    for _ in 0..20 {
        page = visitor.get(&next).await;
        if page.status == 303 && !page.location.starts_with("/attesa") {
            break;
        }
        assert_eq!(page.status, 200, "{next}: {}", page.body);
        assert!(page.body.contains("<html lang=\"en\">"), "{next}");
        assert!(page.body.contains("JavaScript"), "the page explains the path without JavaScript");
        for script in page.body.split("<script").skip(1) {
            assert!(script.trim_start().starts_with("src=\""), "no inline script: <script{script}");
        }
        assert!(!page.body.contains("style=\""), "no inline style");
        let (secs, url) = meta_refresh(&page.body).expect("a page without JavaScript moves on by itself");
        assert!(secs <= 2, "{secs}");
        tokio::time::sleep(Duration::from_secs(secs)).await;
        next = url;
    }
    assert_eq!(page.location, "/?lang=en", "back where the visitor was going");
    visitor.log_in(&citizens()[0]).await;
    visitor.apply().await;
}

#[tokio::test]
async fn json_clients_queue_with_headers_and_call_the_api_with_their_pass() {
    let app = spawn_gated(&one_per_second(), system_clock()).await;
    let client = Visitor::new(&app);

    let (refused, retry_after) = client.get_json("/api/v1/schemes").await;
    assert_eq!(refused.status, 503);
    assert!(retry_after.is_some(), "a quick 503 says when to come back");
    let problem: serde_json::Value = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(problem["waiting_room"], "/attesa/stato");

    let mut passes = Vec::new();
    for _ in 0..2 {
        let (offer, _) = client.get_json("/attesa").await;
        assert_eq!(offer.status, 200, "Accept: application/json on the page's URL: {}", offer.body);
        let offer: serde_json::Value = serde_json::from_str(&offer.body).unwrap();
        assert_eq!(offer["state"], "challenge");
        let token = offer["challenge"]["token"].as_str().unwrap().to_owned();
        let nonce = pow::solve(&token, u8::try_from(offer["challenge"]["difficulty"].as_u64().unwrap()).unwrap());
        let request = client
            .client
            .post(client.url("/attesa/biglietto"))
            .json(&serde_json::json!({ "token": token, "nonce": nonce }));
        let (entered, _) = client.send(request).await;
        assert_eq!(entered.status, 200, "{}", entered.body);
        let mut view: serde_json::Value = serde_json::from_str(&entered.body).unwrap();
        // A JSON client keeps its tokens itself: no cookie jar from here on.
        client.cookies.lock().unwrap().clear();
        while view["admitted"] != true {
            let ticket = view["ticket"].as_str().expect("a ticket while waiting").to_owned();
            tokio::time::sleep(Duration::from_millis(200)).await;
            *client.headers.lock().unwrap() = vec![("sportello-ticket".to_owned(), ticket)];
            let (polled, retry_after) = client.get_json("/attesa/stato").await;
            assert_queue_answer(&polled, retry_after.as_deref(), "polling");
            client.cookies.lock().unwrap().clear();
            view = serde_json::from_str(&polled.body).unwrap();
        }
        passes.push(view["pass"].as_str().expect("the pass in the answer").to_owned());
    }

    *client.headers.lock().unwrap() = vec![("sportello-pass".to_owned(), passes[1].clone())];
    let (schemes, _) = client.get_json("/api/v1/schemes").await;
    assert_eq!(schemes.status, 200, "{}", schemes.body);
    *client.headers.lock().unwrap() = vec![("sportello-pass".to_owned(), "not-a-pass".to_owned())];
    let (forged, _) = client.get_json("/api/v1/schemes").await;
    assert_eq!(forged.status, 503, "a forged pass is no pass");
}

/// A browser admitted at once into an empty room: its pass id.
async fn admitted_browser(visitor: &Visitor<'_>) -> PassId {
    let view = take_a_place(visitor).await;
    assert_eq!(view["admitted"], true, "{view}");
    view["pass_id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn maintenance_pauses_the_room_with_the_operators_message_and_admitted_visitors_resume_after() {
    let app = spawn_gated(&one_per_second(), system_clock()).await;
    let visitor = Visitor::new(&app);
    admitted_browser(&visitor).await;
    assert_eq!(visitor.get("/").await.status, 200, "the pass lets the visitor in");

    let message = MaintenanceMessage {
        it: "Aggiornamento in corso, torniamo alle 18.".to_owned(),
        en: "Upgrade under way, back at 6 pm.".to_owned(),
    };
    app.gate.gate.set_maintenance("cittadini", Some(message)).await.unwrap();
    for (path, expected) in
        [("/", "Aggiornamento in corso"), ("/?lang=en", "Upgrade under way"), ("/attesa", "Aggiornamento in corso")]
    {
        let (page, retry_after) = visitor.send(visitor.client.get(visitor.url(path))).await;
        assert_eq!(page.status, 503, "{path}");
        assert!(retry_after.is_some(), "{path}: Retry-After");
        assert!(page.body.contains(expected), "{path}: {}", page.body);
    }
    let newcomer = Visitor::new(&app);
    let (json, retry_after) = newcomer.get_json("/attesa/stato").await;
    assert_eq!((json.status, retry_after.is_some()), (503, true));
    assert!(json.body.contains("\"state\":\"maintenance\""), "{}", json.body);
    let status = visitor.get("/stato").await;
    assert!(status.body.contains("Aggiornamento in corso"), "the status page shows the message");

    app.gate.gate.set_maintenance("cittadini", None).await.unwrap();
    assert_eq!(visitor.get("/").await.status, 200, "the pass still holds after maintenance");
}

#[tokio::test]
async fn a_revoked_pass_sends_its_holder_back_to_the_waiting_room() {
    let app = spawn_gated(&one_per_second(), system_clock()).await;
    let visitor = Visitor::new(&app);
    let pass_id = admitted_browser(&visitor).await;
    assert_eq!(visitor.get("/privacy").await.status, 200);
    assert!(app.gate.gate.revoke("cittadini", pass_id).await.unwrap(), "the pass was active");
    let page = visitor.get("/privacy").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location, "/attesa?dopo=/privacy");
    assert!(visitor.cookie(sportello_web::gate::PASS_COOKIE).is_none(), "the revoked pass is dropped");
}

#[tokio::test]
async fn a_closed_room_shows_its_opening_time_and_says_when_to_come_back() {
    let clock = ManualClock::new("2020-04-01T12:30:00Z".parse::<DateTime<Utc>>().unwrap());
    let app = spawn_gated(&first_of_april(), clock.clock()).await;
    let visitor = Visitor::new(&app);
    let asked = visitor.get("/").await;
    let (page, retry_after) = visitor.send(visitor.client.get(visitor.url(&asked.location))).await;
    assert_eq!(page.status, 503);
    assert_eq!(retry_after.as_deref(), Some("600"), "come back in ten minutes at most");
    assert!(page.body.contains("01/04/2020 16:00"), "the opening in Italian time: {}", page.body);
    assert!(page.body.contains("http-equiv=\"refresh\""), "the page comes back by itself");
}

#[tokio::test]
async fn the_status_page_is_public_and_publishes_the_draw_commitment_then_its_seed() {
    let clock = ManualClock::new("2020-04-01T13:30:00Z".parse::<DateTime<Utc>>().unwrap());
    let app = spawn_gated(&first_of_april(), clock.clock()).await;
    let visitor = Visitor::new(&app);
    // Someone joins the pre-queue, so the draw has one entry to order.
    let view = take_a_place(&visitor).await;
    assert_eq!(view["state"], "pre_queue", "{view}");

    let status = visitor.get("/stato").await;
    assert_eq!(status.status, 200);
    assert_eq!(status.cache_control, "public, max-age=5");
    assert!(status.set_cookies.is_empty());
    let (json, _) = visitor.get_json("/stato").await;
    assert!(json.vary.contains("Accept"), "page and JSON share a URL: {}", json.vary);
    let rooms: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    let commitment = rooms[0]["draw"]["commitment"].as_str().unwrap().to_owned();
    assert!(status.body.contains(&commitment) && status.body.contains("DRAW.md"));
    assert!(rooms[0]["draw"]["seed"].is_null(), "the seed stays secret before the opening");

    clock.advance_secs(31 * 60);
    let (json, _) = visitor.get_json("/stato").await;
    let rooms: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    let seed = rooms[0]["draw"]["seed"].as_str().expect("the seed after the opening");
    let digest = hex::encode(sha2::Sha256::digest(hex::decode(seed).unwrap()));
    assert_eq!(digest, commitment, "the revealed seed is the one committed to");
    assert_eq!(rooms[0]["draw"]["pre_queue_size"], 1);
    assert!(rooms[0]["planning_rate_milli"].as_u64().unwrap() > 0, "the throughput the estimates count on");
    let page = visitor.get("/stato?lang=en").await;
    assert!(page.body.contains("which the wait is worked out from"), "{}", page.body);
    assert!(page.body.contains("Estimated wait for someone arriving now"), "{}", page.body);
}

#[tokio::test]
async fn the_gate_routes_send_the_caching_headers_their_audience_needs() {
    let config = gated(
        "no_js_wait_secs = 1",
        "cittadini",
        &capacity(1, 1, 2),
        "[gate.reminders]\npublic_url = \"https://sportello.test.example\"\n",
    );
    let app = spawn_gated(&config, system_clock()).await;
    let visitor = Visitor::new(&app);
    admitted_browser(&visitor).await;
    let gate_routes: Vec<&Listed> =
        app.routes.iter().filter(|r| r.path.starts_with("/attesa") || r.path == "/stato").collect();
    assert_eq!(gate_routes.len(), 7, "{gate_routes:?}");
    for route in gate_routes {
        for method in &route.methods {
            let (page, _) = visitor.send(visitor.client.request(method.clone(), visitor.url(route.path))).await;
            let what = format!("{method} {}", route.path);
            match route.audience {
                Audience::Public => {
                    assert_eq!(page.status, 200, "{what}");
                    assert!(page.cache_control.starts_with("public, max-age="), "{what}: {}", page.cache_control);
                    assert!(page.set_cookies.is_empty(), "{what}");
                }
                _ => assert_eq!(page.cache_control, "no-store, private", "{what}"),
            }
        }
    }
}

/// Runs the page's `gate.js` in Node against a live waiting room: a fake DOM, Node's fetch and Web Crypto.
const NODE_HARNESS: &str = r#"
const fs = require("fs");
const [base, script] = process.argv.slice(2);
// A fourth argument replaces the page's data-back: what the script does with a return path it must not follow.
(async () => {
  const page = await (await fetch(base + "/attesa?dopo=/privacy")).text();
  const attr = (name) => { const m = page.match(new RegExp('data-' + name + '="([^"]*)"')); return m && m[1].replace(/&#38;/g, "&"); };
  const dataset = {};
  for (const name of ["shown", "enter", "state", "back", "nojs", "token", "difficulty"]) { dataset[name] = attr(name); }
  global.document = { documentElement: { lang: "it" }, getElementById: (id) => id === "gate" ? { dataset } : { set textContent(v) {} } };
  const done = (what) => { console.log(JSON.stringify(what)); process.exit(0); };
  global.window = { crypto: globalThis.crypto, location: { assign: (u) => done({ assigned: u }), reload: () => done({ reloaded: true }) } };
  const realFetch = fetch;
  global.fetch = (u, o) => realFetch(base + u, o);
  if (process.argv[4] !== undefined) { dataset.back = process.argv[4]; }
  eval(fs.readFileSync(script, "utf8"));
  setTimeout(() => done({ timeout: true }), 20000);
})();
"#;

/// Whether Node can run; without it, say so, and fail under CI (building this crate needs npm, hence Node).
fn node_present() -> bool {
    let present = std::process::Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !present {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "node is needed to test gate.js under CI");
        eprintln!("skipped: node is not installed");
    }
    present
}

/// Runs `gate.js` in the Node harness against `app`'s waiting room (its data-back replaced by `back` if given):
/// what it did, as one line of JSON.
async fn run_gate_js(app: &Gated, back: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let harness = dir.path().join("harness.js");
    std::fs::write(&harness, NODE_HARNESS).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/gate.js");
    let base = app.base.clone();
    let back = back.map(str::to_owned);
    // Off the test's runtime thread: the portal answers on it while Node runs.
    let output = tokio::task::spawn_blocking(move || {
        let mut node = std::process::Command::new("node");
        node.arg(&harness).arg(&base).arg(script);
        if let Some(back) = back {
            node.arg(back);
        }
        node.output().unwrap()
    })
    .await
    .unwrap();
    let said = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(!said.is_empty(), "{}", String::from_utf8_lossy(&output.stderr));
    said
}

#[tokio::test]
async fn the_pages_script_solves_the_proof_of_work_the_gate_checks() {
    if !node_present() {
        return;
    }
    let app = spawn_gated(&one_per_second().replace("min_bits = 4", "min_bits = 6"), system_clock()).await;
    assert_eq!(run_gate_js(&app, None).await, r#"{"assigned":"/privacy"}"#, "an empty room admits the solver at once");
    let status = app.gate.gate.status(sportello_gate::RoomId(0)).await.unwrap();
    assert_eq!(status.admitted, 1, "the gate accepted the script's proof");
}

#[tokio::test]
async fn the_pages_script_never_leaves_the_site_whatever_return_path_the_page_gives_it() {
    if !node_present() {
        return;
    }
    let config = gated("", "cittadini", &capacity(10, 10, 10), "");
    let app = spawn_gated(&config, system_clock()).await;
    for back in ["/\t/evil.example/", "//evil.example/", "/\\evil.example", "https://evil.example/", "/\u{a0}/evil"] {
        assert_eq!(run_gate_js(&app, Some(back)).await, r#"{"assigned":"/"}"#, "{back:?}");
    }
}

/// Return paths a visitor, or an attacker's link, may put in `dopo`: percent-encoded as they would be in the URL.
const NASTY_RETURN_PATHS: [&str; 22] = [
    "/%09/evil.example/",
    "/%0A/evil.example/",
    "/%0D/evil.example/",
    "/%01/evil.example/",
    "/%7F/evil.example/",
    "/%00",
    "%09//evil.example/",
    "//evil.example/",
    "%2F%2Fevil.example%2F",
    "/%2F/evil.example/",
    "/%5Cevil.example/",
    "/%5C%5Cevil.example/",
    "https://evil.example/",
    "https%3A%2F%2Fevil.example%2F",
    "/%252F%252Fevil.example",
    "/%E2%80%A8/evil.example",
    "/privacy%0D%0ALocation:%20https://evil.example/",
    "/?lang=en%0D%0ASet-Cookie:%20x=1",
    "evil.example",
    "/evil.example",
    "/no-such-page",
    "/attesa",
];

#[tokio::test]
async fn the_waiting_room_sends_visitors_back_only_to_pages_of_the_portal() {
    let config = gated("", "cittadini", &capacity(10, 10, 10), "");
    let app = spawn_gated(&config, system_clock()).await;
    let holder = Visitor::new(&app);
    admitted_browser(&holder).await;
    let newcomer = Visitor::new(&app);
    for nasty in NASTY_RETURN_PATHS {
        let url = format!("/attesa?dopo={nasty}");
        let back = holder.get(&url).await;
        assert_eq!((back.status, back.location.as_str()), (303, "/"), "{nasty}: a pass holder goes home");
        let page = newcomer.get(&url).await;
        assert_eq!(page.status, 200, "{nasty}: the waiting room, never a 500: {}", page.body);
        assert_eq!(data(&page.body, "back"), "/", "{nasty}: what the script is told");
        let (json, _) = newcomer.get_json(&format!("/attesa/stato?dopo={nasty}")).await;
        assert_eq!(json.status, 200, "{nasty}: {}", json.body);
    }
    // A browser entering without the script (a form, not JSON) is sent back by a redirect too.
    let visitor = Visitor::new(&app);
    let room = visitor.get("/attesa").await;
    let (token, difficulty) = (data(&room.body, "token"), data(&room.body, "difficulty").parse::<u8>().unwrap());
    let nonce = pow::solve(&token, difficulty).to_string();
    let entered =
        visitor.post("/attesa/biglietto", &[("token", &token), ("nonce", &nonce), ("dopo", "/\t/evil.example/")]).await;
    assert_eq!((entered.status, entered.location.as_str()), (303, "/"), "{}", entered.body);

    // The control: the portal's own pages, with their query, are kept.
    for (asked, kept) in [
        ("/privacy%3Flang%3Den", "/privacy?lang=en"),
        ("/domanda%3Fscheme%3Dart27", "/domanda?scheme=art27"),
        ("/domande/INPS-COVID-2026-000001", "/domande/INPS-COVID-2026-000001"),
        ("/stato", "/"),
    ] {
        let back = holder.get(&format!("/attesa?dopo={asked}")).await;
        assert_eq!((back.status, back.location.as_str()), (303, kept), "{asked}");
    }
    // Unguarded like the style sheets: the icon answers without a pass.
    assert_eq!(Visitor::new(&app).get("/favicon.ico").await.status, 200);
}

#[tokio::test]
async fn two_nodes_sharing_redis_honour_each_others_passes_and_the_operators_maintenance() {
    let Some(redis) = sportello_gate::testing::TestRedis::create().await else { return };
    let redis_lines = format!("redis_url = \"{}\"\nredis_prefix = \"{}\"\n\n[gate.pow]", redis.url, redis.prefix);
    let shared = one_per_second().replacen("[gate.pow]", &redis_lines, 1);
    let (a, b) = (spawn_gated(&shared, system_clock()).await, spawn_gated(&shared, system_clock()).await);
    let on_a = Visitor::new(&a);
    admitted_browser(&on_a).await;
    let on_b = Visitor::new(&b);
    *on_b.cookies.lock().unwrap() = on_a.cookies.lock().unwrap().clone();
    assert_eq!(on_b.get("/privacy").await.status, 200, "a pass from node A opens node B");

    let message = MaintenanceMessage { it: "Pausa".to_owned(), en: "Pause".to_owned() };
    a.gate.gate.set_maintenance("cittadini", Some(message)).await.unwrap();
    let (paused, retry_after) = on_b.send(on_b.client.get(on_b.url("/privacy"))).await;
    assert_eq!((paused.status, retry_after.is_some()), (503, true), "node B sees node A's maintenance");
    a.gate.gate.set_maintenance("cittadini", None).await.unwrap();
    assert_eq!(on_b.get("/privacy").await.status, 200);
}

#[tokio::test]
async fn one_address_taking_places_in_bulk_is_held_back_with_429() {
    let limits = "[limits]\ntickets_per_address_per_minute = 1\ntickets_per_address_burst = 2\n";
    let limited = gated("", "cittadini", &capacity(1, 1, 2), limits);
    let app = spawn_gated(&limited, system_clock()).await;
    for _ in 0..2 {
        take_a_place(&Visitor::new(&app)).await;
    }
    let third = Visitor::new(&app);
    let (refused, retry_after) = solve_and_enter(&third).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    let wait: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(third.cookie(sportello_web::gate::TICKET_COOKIE).is_none(), "no place was handed out");
    assert_eq!(third.get("/attesa").await.status, 200, "the waiting room itself still answers");
}

#[tokio::test]
async fn a_pass_in_use_is_renewed_and_logging_out_hands_its_slot_to_the_next_in_line() {
    use sportello_web::gate::PASS_COOKIE;
    let clock = ManualClock::new("2020-04-02T10:00:00Z".parse::<DateTime<Utc>>().unwrap());
    let app = spawn_gated(&one_per_second(), clock.clock()).await;
    let people = citizens();
    let browser = Visitor::new(&app);
    admitted_browser(&browser).await;
    browser.log_in(&people[0]).await;
    clock.advance_secs(1);
    let client = Visitor::new(&app);
    let admitted = take_a_place(&client).await;
    assert_eq!(admitted["admitted"], true, "{admitted}");
    let client_pass = admitted["pass"].as_str().unwrap().to_owned();

    // Half of the ten minutes spent: the next request renews the pass.
    clock.advance_secs(301);
    let before = browser.cookie(PASS_COOKIE).unwrap();
    let page = browser.get("/situazione").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_ne!(browser.cookie(PASS_COOKIE).unwrap(), before, "a new pass cookie");
    assert!(
        page.set_cookies.iter().any(|c| c.starts_with("__Host-sportello_pass=") && c.contains("Max-Age=600")),
        "for another ten minutes: {:?}",
        page.set_cookies
    );
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/schemes", app.base))
        .header("sportello-pass", &client_pass)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let renewed = response.headers().get("sportello-pass").expect("a JSON client gets its renewed pass").clone();
    assert_ne!(renewed.to_str().unwrap(), client_pass);

    // Past the first pass's lifetime, the renewed ones still let their holders in and hold both slots.
    clock.advance_secs(300);
    let page = browser.get("/situazione").await;
    assert_eq!(page.status, 200, "the renewed pass still opens the portal");
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/schemes", app.base))
        .header("sportello-pass", renewed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "and the client's");
    let newcomer = Visitor::new(&app);
    let waiting = take_a_place(&newcomer).await;
    assert_eq!((waiting["admitted"].as_bool(), waiting["position"].as_u64()), (Some(false), Some(1)), "{waiting}");

    // Logging out gives the pass back: the newcomer is admitted at its next refresh.
    let csrf = crate::support::csrf_of(&page.body);
    let out = browser.post("/esci", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert!(browser.cookie(PASS_COOKIE).is_none(), "the pass cookie is dropped");
    assert_eq!(app.gate.gate.status(sportello_gate::RoomId(0)).await.unwrap().active, 1);
    clock.advance_secs(1);
    let (state, _) = newcomer.get_json("/attesa/stato").await;
    assert!(state.body.contains("\"admitted\":true"), "{}", state.body);
}

#[tokio::test]
async fn a_strained_backend_lowers_the_admission_rate_and_the_metrics_show_the_queue() {
    let app = spawn_gated(&strained(), system_clock()).await;
    let room = sportello_gate::RoomId(0);
    let visitor = Visitor::new(&app);
    admitted_browser(&visitor).await;
    // Every admitted request counts as slow against a target of 0 ms: each second the rate is halved.
    let busy = Instant::now();
    while busy.elapsed() < Duration::from_millis(3500) {
        assert_eq!(visitor.get("/privacy").await.status, 200);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let strained = app.gate.gate.status(room).await.unwrap();
    assert!(strained.health_permille <= 500, "halved at least once: {}", strained.health_permille);
    assert_eq!(strained.capacity.admit_per_sec, 10, "the rate set is untouched; only the rate applied falls");
    // Quiet seconds count as healthy: the rate climbs back step by step.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let recovering = app.gate.gate.status(room).await.unwrap();
    assert!(recovering.health_permille > strained.health_permille, "{recovering:?}");

    // Two newcomers wait behind a full burst; the gauges report the room.
    for _ in 0..2 {
        take_a_place(&Visitor::new(&app)).await;
    }
    sportello_web::metrics::handle();
    sportello_web::gate::sample_metrics(&app.gate, &mut Default::default()).await;
    let text = sportello_web::metrics::handle().render();
    let value = |name: &str| -> f64 {
        let prefix = format!("{name}{{room=\"sotto-sforzo\"}} ");
        let line = text.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no {prefix} in {text}"));
        line[prefix.len()..].parse().unwrap()
    };
    assert_eq!(value("sportello_gate_open"), 1.0);
    assert!(value("sportello_gate_active_passes") >= 1.0);
    assert!(value("sportello_gate_admitted") >= 1.0);
    assert!(value("sportello_gate_pow_difficulty_bits") >= 4.0);
    assert!(value("sportello_gate_health_permille") < 1000.0);
    assert!(value("sportello_gate_admission_rate_per_second") > 0.0);
    let waiting = value("sportello_gate_queue_length");
    let eta = value("sportello_gate_eta_last_seconds");
    assert!(waiting == 0.0 && eta == 0.0 || waiting > 0.0 && eta > 0.0, "waiting {waiting}, eta {eta}");
    assert!(text.contains("sportello_gate_admitted_per_second{room=\"sotto-sforzo\"}"), "{text}");
}

/// The rooms of the first of April 2020: citizens from 16:00 (Rome), intermediaries on weekdays from 8 to 16.
fn first_of_april_both_rooms() -> String {
    let intermediaries = "[[gate.rooms]]\nkey = \"intermediari\"\npath = \"/intermediari\"\n\
                          windows = [{ days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"], opens = \"08:00\", closes = \"16:00\" }]\n";
    gated("", "cittadini", "", intermediaries)
}

#[tokio::test]
async fn on_the_first_of_april_an_operator_gets_in_at_eight_and_a_citizen_waits_until_sixteen() {
    use sportello_domain::intermediaries::{IntermediaryKind, OfficeCode, Role, RosterRow};
    // 08:00 in Rome (CEST) on Wednesday 1 April 2020.
    let clock = ManualClock::new("2020-04-01T06:00:00Z".parse::<DateTime<Utc>>().unwrap());
    let app = spawn_gated(&first_of_april_both_rooms(), clock.clock()).await;
    let operator = cf("VRDGPP70B02L219");
    // The portal reads the roster on its own (wall) clock's day.
    let today = Utc::now().with_timezone(&chrono_tz::Europe::Rome).date_naive();
    let row = RosterRow {
        organisation: OfficeCode::parse("INCA").unwrap(),
        organisation_name: "Patronato INCA".to_owned(),
        kind: IntermediaryKind::Patronato,
        office: OfficeCode::parse("INCA-RM01").unwrap(),
        office_name: "Roma centro".to_owned(),
        operator,
        role: Role::Operatore,
        valid_from: today - chrono::TimeDelta::days(30),
        valid_to: None,
    };
    app.store.replace_roster(&[row], Utc::now()).await.unwrap();

    // 08:00: the citizen finds their room closed until 16:00 and says so.
    let citizen = Visitor::new(&app);
    let asked = citizen.get("/").await;
    assert_eq!((asked.status, asked.location.as_str()), (303, "/attesa?dopo=/"));
    let (closed, retry_after) = citizen.send(citizen.client.get(citizen.url(&asked.location))).await;
    assert_eq!(closed.status, 503, "{}", closed.body);
    assert!(retry_after.is_some(), "a closed room says when to come back");
    assert!(closed.body.contains("01/04/2020 16:00"), "{}", closed.body);

    // 08:00: the operator takes a place in the intermediaries' room, is admitted, logs in and reaches the desk.
    let desk_visitor = Visitor::new(&app);
    let (entered, _) = solve_and_enter_at(&desk_visitor, "/intermediari/accedi").await;
    assert_eq!(entered.status, 200, "{}", entered.body);
    let entered: serde_json::Value = serde_json::from_str(&entered.body).unwrap();
    assert_eq!(entered["admitted"], true, "an open, empty room admits at once: {entered}");
    let form = desk_visitor.get("/intermediari/accedi").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let full_hash = app.hasher.hash_blocking(TEST_PIN.to_owned()).await.unwrap();
    let simplified_hash = app.hasher.hash_blocking(TEST_PIN[..8].to_owned()).await.unwrap();
    let pin = NewPin {
        codice_fiscale: operator,
        slot: sportello_web::pin::EnteredPin::parse(TEST_PIN).unwrap().slot(),
        full_hash,
        simplified_hash,
        issued_at: Utc::now(),
        first_half_to: sportello_store::FirstHalfTo::OnFile,
    };
    assert!(app.store.put_pin(pin, &[]).await.unwrap());
    let csrf = crate::support::csrf_of(&form.body);
    let fields = [
        ("csrf", csrf.as_str()),
        ("codice_fiscale", operator.as_str()),
        ("pin", &TEST_PIN[..8]),
        ("sede", "INCA-RM01"),
    ];
    let login = desk_visitor.post("/intermediari/accedi", &fields).await;
    assert_eq!((login.status, login.location.as_str()), (303, "/intermediari"), "{}", login.body);
    let desk = desk_visitor.get("/intermediari").await;
    assert_eq!(desk.status, 200, "{}", desk.body);
    assert!(desk.body.contains("INCA-RM01"), "{}", desk.body);
    // The intermediaries' pass opens no citizen page: the citizens' room is another room, closed.
    let elsewhere = desk_visitor.get("/accedi").await;
    assert_eq!((elsewhere.status, elsewhere.location.as_str()), (303, "/attesa?dopo=/accedi"));

    // 16:00: the citizens' room opens; the citizen takes a place, is admitted, and reaches the login.
    clock.set("2020-04-01T14:00:00Z".parse::<DateTime<Utc>>().unwrap());
    let place = take_a_place(&citizen).await;
    assert_eq!(place["admitted"], true, "{place}");
    let login_form = citizen.get("/accedi").await;
    assert_eq!(login_form.status, 200, "{}", login_form.body);
    // And a newcomer to the intermediaries' room now finds it closed until the next working day, 2 April at 8:00.
    let late = Visitor::new(&app);
    let asked = late.get("/intermediari").await;
    assert_eq!(asked.status, 303);
    let (closed, _) = late.send(late.client.get(late.url(&asked.location))).await;
    assert_eq!(closed.status, 503, "{}", closed.body);
    assert!(closed.body.contains("02/04/2020 08:00"), "{}", closed.body);
}

/// One admission a second, one person inside at a time, and "avvisami" telling visitors a minute ahead.
fn with_reminders() -> String {
    let reminders = "[gate.reminders]\npublic_url = \"https://sportello.test.example\"\nlead_minutes = 1\n";
    gated("", "cittadini", &capacity(1, 1, 1), reminders)
}

/// The messages the outbox worker delivered to `recipient`, waiting up to ten seconds for `count` of them.
async fn delivered_to(app: &Gated, recipient: &str, count: usize) -> Vec<sportello_web::notify::Message> {
    let mailbox = app._dir.path().join("mailbox.jsonl");
    for _ in 0..100 {
        let all = sportello_web::notify::file::FileNotifier::read_mailbox(&mailbox).unwrap_or_default();
        let mine: Vec<_> = all.into_iter().filter(|m| m.recipient == recipient).collect();
        if mine.len() >= count {
            return mine;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("fewer than {count} messages to {recipient}");
}

#[tokio::test]
async fn a_visitor_who_asks_to_be_told_may_leave_and_comes_back_to_their_place_through_the_link() {
    let clock = ManualClock::new("2020-04-01T14:05:00Z".parse::<DateTime<Utc>>().unwrap());
    let app = spawn_gated(&with_reminders(), clock.clock()).await;
    let inside = Visitor::new(&app);
    admitted_browser(&inside).await;
    let away = Visitor::new(&app);
    assert_eq!(take_a_place(&away).await["position"], 1, "the one slot is taken: second in line");

    let room = away.get("/attesa").await;
    assert!(room.body.contains("action=\"/attesa/avvisami\""), "the waiting page offers it: {}", room.body);
    let wrong = away.post("/attesa/avvisami", &[("contatto", "bruno at example"), ("dopo", "/")]).await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(wrong.body.contains("non è un indirizzo e-mail né un numero di cellulare"), "{}", wrong.body);
    let stranger = Visitor::new(&app);
    let no_place = stranger.post("/attesa/avvisami", &[("contatto", "carla@example.it")]).await;
    assert_eq!(no_place.status, 409, "no ticket, nothing to hold: {}", no_place.body);

    let asked = away.post("/attesa/avvisami", &[("contatto", "bruno@example.it"), ("dopo", "/")]).await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(asked.body.contains("Le scriveremo a bruno@example.it"), "{}", asked.body);
    assert_eq!(asked.cache_control, "no-store, private");
    let cookie = asked.set_cookies.iter().find(|c| c.starts_with("__Host-sportello_ticket=")).unwrap();
    assert!(cookie.contains("Max-Age="), "the held ticket outlives the browser session: {cookie}");

    // Away far longer than a ticket lasts unrefreshed; not told while the one inside stays.
    clock.advance_secs(5 * 60);
    let tell = || sportello_web::reminders::tell(&app.gate, app.store.as_ref());
    assert_eq!(tell().await.unwrap(), 0, "their turn is not near");
    // The one inside leaves: the place comes up, the visitor is told once.
    let left = inside.post("/attesa/esci", &[]).await;
    assert_eq!(left.status, 200);
    assert_eq!(tell().await.unwrap(), 1);
    assert_eq!(tell().await.unwrap(), 0, "once");
    let mail = delivered_to(&app, "bruno@example.it", 1).await;
    assert_eq!(mail.len(), 1);
    let link = mail[0].body.split_whitespace().find(|w| w.starts_with("https://")).unwrap().to_owned();
    let path = link.strip_prefix("https://sportello.test.example").expect("a link to the portal");
    assert!(path.starts_with("/attesa/riprendi?biglietto="), "{path}");
    assert!(!stranger.post("/attesa/avvisami", &[]).await.body.contains("bruno"), "the contact is shown to no one");

    // From the link, in another browser: the held place, and the visitor's turn.
    let phone = Visitor::new(&app);
    let resumed = phone.get(path).await;
    assert_eq!((resumed.status, resumed.location.as_str()), (303, "/attesa?stanza=cittadini"));
    let room = phone.get(&resumed.location).await;
    assert_eq!((room.status, room.location.as_str()), (303, "/"), "admitted: {}", room.body);
    assert!(phone.cookie(sportello_web::gate::PASS_COOKIE).is_some());
    assert_eq!(phone.get("/").await.status, 200, "inside");

    // A link that is not the gate's keeps nothing.
    let forged = Visitor::new(&app);
    let page = forged.get("/attesa/riprendi?biglietto=AAAA").await;
    assert_eq!((page.status, page.location.as_str()), (303, "/attesa?dopo=/"));
    assert!(forged.cookie("__Host-sportello_ticket").is_none());
}
