//! The shared-cache leak drill: real caching reverse proxies in front of `sportello serve` — nginx (Debian) with
//! `proxy_cache` on for every response it may cache, and Varnish (Debian) with its default VCL — and distinct
//! citizens going through the whole journey via each proxy, on the pages and the API, all at once. Every page and
//! JSON body a citizen receives must name only that citizen; and public pages must really come from the cache, so the
//! drill would see a leak if a personal page were cacheable.
//!
//! Then again with a waiting room in front: every citizen is admitted, then waits until half of the pass's lifetime
//! is spent, so that the first page each asks for renews the pass (a new `__Host-sportello_pass` cookie). A pass that
//! reaches anyone but the citizen it was given to is a pass served to a stranger, who would skip the queue with it;
//! the drill counts them (`passes_to_strangers`, 0 in front of a careful proxy; the control shows it would see them).
//!
//! The default run sends 100 citizens through each proxy; `SPORTELLO_DRILL_LEAK_USERS=1000` (as `scripts/drills`
//! sets) runs the full drill. nginx and Varnish come from Debian's packages (`nginx-light`, `varnish`; `.ci/run`
//! installs them); where they are missing the drill skips saying so, and under `CI=true` it fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{Sandbox, Server, read_pins, run_in, stderr};

/// The gate's pass cookie.
const PASS_COOKIE: &str = "__Host-sportello_pass";

/// A waiting room over the whole portal, open since 2020, admitting a crowd at once; passes live a minute before
/// their renewal, the shortest the gate allows.
fn gated_config() -> String {
    format!(
        "[gate]\nsigning_key = \"{}\"\ncontrol_cache_ms = 0\n\n[gate.pow]\nmin_bits = 4\nmax_bits = 6\n\n\
         [[gate.rooms]]\nkey = \"cittadini\"\npath = \"/\"\nwindows = [{{ from = \"2020-04-01T16:00\" }}]\n\
         capacity = {{ admit_per_sec = 100000, burst = 100000, max_active = 100000, pass_ttl_secs = {PASS_TTL_SECS}, \
         claim_grace_secs = 60, refresh_interval_secs = 1, ticket_ttl_secs = 30 }}\n",
        "07".repeat(32)
    )
}

/// A pass's lifetime before renewal in [`gated_config`]: renewed by the first request after half of it.
const PASS_TTL_SECS: u64 = 60;

/// A proxy process, stopped when dropped.
struct Proxy {
    name: &'static str,
    child: Child,
    base: String,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free now (the proxies take theirs on the command line).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The program, or `None` (having said why) when it is not installed outside CI.
fn program(name: &str, package: &str) -> Option<String> {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let path = format!("{dir}/{name}");
        if Path::new(&path).exists() {
            return Some(path);
        }
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{name} is not installed (Debian package {package}): .ci/run installs it");
    }
    eprintln!("skipped: {name} is not installed (apt-get install {package})");
    None
}

/// Waits until something answers on `base`.
async fn until_up(base: &str) {
    for _ in 0..100 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing answers on {base}");
}

/// nginx caching everything it may: responses without caching headers for ten minutes, keyed by URL alone (not by
/// cookie), as a careless proxy in front of the 2020 portal might have been, and responses that set a cookie too
/// (nginx would skip those by default): only the portal's `Cache-Control` keeps a response out. `reckless` also
/// ignores what the portal's headers say, caching personal pages too: the control that shows the drill sees a leak
/// when there is one. `tag` names its folder, so several can run in one sandbox.
async fn nginx(dir: &Path, portal: &str, reckless: bool, tag: &str) -> Option<Proxy> {
    let binary = program("nginx", "nginx-light")?;
    let root = dir.join(format!("{tag}{}", if reckless { "-reckless" } else { "" }));
    let ignore = if reckless {
        "proxy_ignore_headers Cache-Control Expires Set-Cookie Vary;"
    } else {
        "proxy_ignore_headers Set-Cookie;"
    };
    std::fs::create_dir_all(root.join("cache")).unwrap();
    let port = free_port();
    let upstream = portal.trim_start_matches("http://");
    let root = root.display();
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {root}/nginx.pid;\nerror_log {root}/error.log;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {root}/body;\n  proxy_temp_path {root}/proxy;\n\
         fastcgi_temp_path {root}/fastcgi;\n  uwsgi_temp_path {root}/uwsgi;\n  scgi_temp_path {root}/scgi;\n\
         proxy_cache_path {root}/cache levels=1:2 keys_zone=portal:10m max_size=200m inactive=10m use_temp_path=off;\n\
         server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      proxy_pass http://{upstream};\n\
         proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n      proxy_cache portal;\n\
         proxy_cache_valid any 10m;\n      {ignore}\n      add_header X-Cache-Status $upstream_cache_status always;\n    }}\n  }}\n}}\n"
    );
    let file = dir.join(format!("{tag}{}.conf", if reckless { "-reckless" } else { "" }));
    std::fs::write(&file, conf).unwrap();
    let child = Command::new(binary)
        .args(["-c", file.to_str().unwrap(), "-e", &format!("{root}/error.log")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let name = if reckless { "nginx-ignoring-the-portal's-headers" } else { "nginx" };
    let proxy = Proxy { name, child, base: format!("http://127.0.0.1:{port}") };
    until_up(&proxy.base).await;
    Some(proxy)
}

/// Varnish with its built-in VCL, the portal as its backend.
async fn varnish(dir: &Path, portal: &str) -> Option<Proxy> {
    let binary = program("varnishd", "varnish")?;
    let port = free_port();
    let child = Command::new(binary)
        .args(["-F", "-a", &format!("127.0.0.1:{port}"), "-b", portal.trim_start_matches("http://")])
        .args(["-n", dir.join("varnish").to_str().unwrap(), "-s", "malloc,128m"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let proxy = Proxy { name: "varnish", child, base: format!("http://127.0.0.1:{port}") };
    until_up(&proxy.base).await;
    Some(proxy)
}

/// What one response said, kept for the scan at the end.
struct Seen {
    path: String,
    personal: bool,
    from_cache: bool,
    body: String,
}

/// One citizen's browser and app: cookies kept by hand, no redirects followed.
struct Citizen {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
    seen: Vec<Seen>,
    /// Answers of 503 (the portal shedding load) it waited out.
    shed: u64,
    /// Reads sent again because the proxy closed the connection without an answer, as a browser sends them again.
    resent: u64,
    /// Every waiting-room pass it was handed (a cookie, or the header JSON clients get).
    passes: BTreeSet<String>,
}

impl Citizen {
    fn new(base: &str) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Citizen {
            http,
            base: base.to_owned(),
            cookies: BTreeMap::new(),
            seen: Vec::new(),
            shed: 0,
            resent: 0,
            passes: BTreeSet::new(),
        }
    }

    async fn send(&mut self, path: &str, request: reqwest::RequestBuilder, personal: bool) -> (u16, String) {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let request = if cookie.is_empty() { request } else { request.header("cookie", cookie) };
        // A crowd at once is more than the portal serves at once: it sheds with 503 and Retry-After, and a citizen
        // comes back as told (sooner here, to keep the drill short).
        let mut waits = 0;
        let response = loop {
            let attempt = request.try_clone().expect("a plain body");
            let is_read = attempt.try_clone().and_then(|r| r.build().ok()).is_some_and(|r| r.method() == "GET");
            let response = match attempt.send().await {
                Ok(response) => response,
                // A proxy with a thousand connections open may close one it kept alive just as a request leaves on
                // it; a browser sends a read again on a new connection, and so does the drill (never a form).
                Err(e) if is_read && e.is_request() && self.resent < 20 => {
                    self.resent += 1;
                    continue;
                }
                Err(e) => panic!("{path}: {e}"),
            };
            if response.status() != 503 || waits == 60 {
                break response;
            }
            waits += 1;
            self.shed += 1;
            let told: u64 =
                response.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok()).unwrap_or(1);
            tokio::time::sleep(Duration::from_millis(told.clamp(1, 2) * 500 + waits * 37 % 250)).await;
        };
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        // nginx says HIT; Varnish names two transactions (this one and the one that filled the cache).
        let from_cache = header("x-cache-status") == "HIT" || header("x-varnish").split(' ').count() == 2;
        for set in response.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                if name == PASS_COOKIE && !value.is_empty() {
                    self.passes.insert(value.to_owned());
                }
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        if let Some(pass) = response.headers().get("sportello-pass").and_then(|v| v.to_str().ok()) {
            self.passes.insert(pass.to_owned());
        }
        let body = response.text().await.unwrap();
        self.seen.push(Seen { path: path.to_owned(), personal, from_cache, body: body.clone() });
        (status, body)
    }

    async fn get(&mut self, path: &str, personal: bool) -> (u16, String) {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(path, request, personal).await
    }

    /// A call of the API with the bearer `token`; an answer of 300 or more is a failed step.
    async fn api(
        &mut self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, String> {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        if let Some(body) = body {
            request = request.header("Idempotency-Key", format!("leak-drill-{token}")).json(&body);
        }
        let (status, text) = self.send(path, request, true).await;
        if status >= 300 {
            return Err(format!("{path}: {status} {text}"));
        }
        Ok(serde_json::from_str(&text).unwrap_or_default())
    }

    /// A page that must answer `expected`.
    async fn page(&mut self, path: &str, personal: bool, expected: u16) -> Result<String, String> {
        let (status, body) = self.get(path, personal).await;
        if status == expected { Ok(body) } else { Err(format!("{path}: {status}, not {expected}")) }
    }

    /// Takes a place in the waiting room as its page's script does (the challenge, the proof of work, the JSON
    /// entry, polling) until admitted with a pass.
    async fn admit(&mut self) -> Result<(), String> {
        let json = |request: reqwest::RequestBuilder| request.header("accept", "application/json");
        let (status, offer) =
            self.send("/attesa/stato", json(self.http.get(format!("{}/attesa/stato", self.base))), true).await;
        let offer: serde_json::Value =
            serde_json::from_str(&offer).map_err(|e| format!("/attesa/stato: {status} {e}"))?;
        let token = offer["challenge"]["token"].as_str().ok_or(format!("no challenge: {offer}"))?.to_owned();
        let difficulty = offer["challenge"]["difficulty"].as_u64().and_then(|d| u8::try_from(d).ok()).unwrap_or(0);
        let nonce = tokio::task::spawn_blocking({
            let token = token.clone();
            move || sportello_gate::pow::solve(&token, difficulty)
        })
        .await
        .unwrap();
        let entry = json(self.http.post(format!("{}/attesa/biglietto", self.base)))
            .json(&serde_json::json!({ "token": token, "nonce": nonce }));
        let (_, mut view) = self.send("/attesa/biglietto", entry, true).await;
        for _ in 0..120 {
            if view.contains("\"admitted\":true") && self.cookies.contains_key(PASS_COOKIE) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            view = self.send("/attesa/stato", json(self.http.get(format!("{}/attesa/stato", self.base))), true).await.1;
        }
        Err(format!("not admitted: {view}"))
    }

    /// The whole journey: the public home page, login on the pages, the situation, the application form, applying,
    /// the receipt and the list, on the pages and through the API. The first step that goes wrong ends it.
    async fn journey(&mut self, codice_fiscale: &str, pin: &str) -> Result<(), String> {
        self.page("/", false, 200).await?;
        self.page("/api/v1/schemes", false, 200).await?;
        let login_form = self.page("/accedi", true, 200).await?;
        let csrf = value_of(&login_form, "name=\"csrf\" value=\"").ok_or("no CSRF token on /accedi")?;
        let form = format!("csrf={csrf}&codice_fiscale={codice_fiscale}&pin={pin}");
        let request = self
            .http
            .post(format!("{}/accedi", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form);
        let (status, _) = self.send("/accedi", request, true).await;
        if status != 303 {
            return Err(format!("login of {codice_fiscale}: {status}"));
        }
        self.page("/situazione", true, 200).await?;

        let request = self
            .http
            .post(format!("{}/api/v1/sessions", self.base))
            .json(&serde_json::json!({ "codice_fiscale": codice_fiscale, "pin": pin }));
        let (status, opened) = self.send("/api/v1/sessions", request, true).await;
        let opened: serde_json::Value = serde_json::from_str(&opened).unwrap_or_default();
        let Some(token) = opened["token"].as_str().filter(|_| status == 201).map(str::to_owned) else {
            return Err(format!("API login of {codice_fiscale}: {status}"));
        };
        let situation = self.api(reqwest::Method::GET, "/api/v1/situation", &token, None).await?;
        let schemes = situation["schemes"].as_array().cloned().unwrap_or_default();
        if let Some(scheme) = schemes.iter().find(|s| s["may_apply"] == true).and_then(|s| s["scheme"].as_str()) {
            self.page(&format!("/domanda?scheme={scheme}"), true, 200).await?;
            let application = serde_json::json!({
                "scheme": scheme,
                "payment": { "method": "iban", "iban": "IT60X0542811101000000123456" },
                "contact": { "email": "drill@example.it" },
                "declarations": {
                    "not_pension_holder": true,
                    "not_reddito_di_cittadinanza": true,
                    "no_other_compulsory_scheme": true,
                    "not_employed": true
                },
                "figures": { "income_2019_bimester_2": "4000.00", "income_2020_bimester_2": "1000.00" }
            });
            let receipt = self.api(reqwest::Method::POST, "/api/v1/applications", &token, Some(application)).await?;
            let protocol = receipt["protocol"].as_str().ok_or("a receipt without a protocol")?.to_owned();
            self.page(&format!("/domande/{protocol}"), true, 200).await?;
            self.api(reqwest::Method::GET, &format!("/api/v1/applications/{protocol}"), &token, None).await?;
        }
        self.page("/domande", true, 200).await?;
        self.api(reqwest::Method::GET, "/api/v1/applications", &token, None).await?;
        Ok(())
    }
}

/// The text after `marker`, up to the next quote.
fn value_of(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    html[start..].split('"').next().map(str::to_owned)
}

/// The codici fiscali (16-character words) and protocol numbers in `body`.
fn names_in(body: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let words: BTreeSet<String> = body
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() == 16 && w.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
        .map(str::to_owned)
        .collect();
    let protocols = body
        .match_indices("INPS-COVID-")
        .map(|(at, _)| body[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect())
        .collect();
    (words, protocols)
}

/// What a drill through one proxy found.
#[derive(Debug)]
struct Found {
    responses: usize,
    leaks: Vec<String>,
    public_from_cache: usize,
    personal_from_cache: usize,
    /// Passes that reached a citizen other than the one they were given to, one per stranger and pass.
    passes_to_strangers: usize,
}

/// Where a drill's citizens get their passes, when a waiting room stands in front.
#[derive(Clone, Copy)]
enum Queue<'a> {
    /// No waiting room.
    None,
    /// Admitted through this base (the proxy, or the portal itself when the proxy would break the queue).
    At(&'a str),
}

/// Sends `people` through `proxy` at once and scans what each received. `strict`: every journey must complete (a
/// proxy that serves someone else's page breaks journeys, so the control is not strict). Behind a waiting room, each
/// is admitted first and the journeys start once the passes are due for renewal.
async fn through(
    proxy: &Proxy,
    people: &[(String, String)],
    database_url: &str,
    strict: bool,
    queue: Queue<'_>,
) -> Found {
    let mut crowd: Vec<Citizen> = Vec::new();
    let mut filler = Citizen::new(&proxy.base);
    if let Queue::At(base) = queue {
        let admissions = (0..=people.len()).map(|_| {
            let base = base.to_owned();
            tokio::spawn(async move {
                let mut citizen = Citizen::new(&base);
                citizen.admit().await.map(|()| citizen)
            })
        });
        for admission in admissions.collect::<Vec<_>>() {
            let mut citizen = admission.await.unwrap().unwrap_or_else(|e| panic!("admission: {e}"));
            // Admitted wherever, the journey goes through the proxy; the queue's own answers are not scanned.
            citizen.base.clone_from(&proxy.base);
            citizen.seen.clear();
            crowd.push(citizen);
        }
        filler = crowd.pop().expect("the first visitor");
        // Past half of the pass's lifetime: each citizen's next request renews their pass.
        tokio::time::sleep(Duration::from_secs(PASS_TTL_SECS / 2 + 2)).await;
    } else {
        crowd.extend(people.iter().map(|_| Citizen::new(&proxy.base)));
    }
    // A first visitor fills the cache with the public pages; the crowd arriving all at once would otherwise all
    // miss together. Behind a waiting room it holds a pass that its first request renews.
    for path in ["/", "/api/v1/schemes"] {
        assert_eq!(filler.get(path, false).await.0, 200, "{path} via {}", proxy.name);
    }
    let filler_passes = filler.passes.clone();
    let journeys = people.iter().cloned().zip(crowd).map(|((codice_fiscale, pin), mut citizen)| {
        tokio::spawn(async move {
            let outcome = citizen.journey(&codice_fiscale, &pin).await;
            if strict && let Err(e) = outcome {
                panic!("a journey through the proxy failed: {e}");
            }
            (codice_fiscale, citizen.seen, citizen.shed, citizen.resent, citizen.passes)
        })
    });
    let mut seen = Vec::new();
    for journey in journeys.collect::<Vec<_>>() {
        seen.push(tokio::time::timeout(Duration::from_secs(300), journey).await.expect("journeys end").unwrap());
    }

    // Whose is each codice fiscale and protocol: the drill's citizens, and the store's applications.
    let store = sportello_store::open(database_url).await.unwrap();
    let mut owner_of_protocol = BTreeMap::new();
    for (codice_fiscale, _) in people {
        let cf = sportello_domain::CodiceFiscale::parse(codice_fiscale).unwrap();
        for application in store.applications_of(&cf).await.unwrap() {
            owner_of_protocol.insert(application.protocol, codice_fiscale.clone());
        }
    }
    let citizens: BTreeSet<&String> = people.iter().map(|(cf, _)| cf).collect();
    let mut found =
        Found { responses: 0, leaks: Vec::new(), public_from_cache: 0, personal_from_cache: 0, passes_to_strangers: 0 };
    let shed: u64 = seen.iter().map(|(_, _, shed, _, _)| shed).sum();
    let resent: u64 = seen.iter().map(|(_, _, _, resent, _)| resent).sum();
    // Who was handed each pass: the first visitor, and each citizen. More than one holder: strangers got it.
    let mut holders: BTreeMap<&String, usize> = filler_passes.iter().map(|pass| (pass, 1)).collect();
    for (_, _, _, _, passes) in &seen {
        for pass in passes {
            *holders.entry(pass).or_default() += 1;
        }
    }
    found.passes_to_strangers = holders.values().map(|holders| holders - 1).sum();
    for (me, responses, _, _, _) in &seen {
        for response in responses {
            found.responses += 1;
            match (response.personal, response.from_cache) {
                (true, true) => found.personal_from_cache += 1,
                (false, true) => found.public_from_cache += 1,
                _ => {}
            }
            let (words, protocols) = names_in(&response.body);
            for other in words.iter().filter(|w| *w != me && citizens.contains(w)) {
                found.leaks.push(format!("{me} got {other} on {} via {}", response.path, proxy.name));
            }
            for protocol in protocols {
                if owner_of_protocol.get(protocol.as_str()).is_some_and(|owner| owner != me) {
                    found.leaks.push(format!("{me} got protocol {protocol} on {} via {}", response.path, proxy.name));
                }
            }
        }
    }
    println!(
        "DRILL leak proxy={} gate={} users={} responses={} leaks={} public_from_cache={} personal_from_cache={} shed={shed} resent={resent} passes_to_strangers={}",
        proxy.name,
        if matches!(queue, Queue::None) { "none" } else { "waiting-room" },
        people.len(),
        found.responses,
        found.leaks.len(),
        found.public_from_cache,
        found.personal_from_cache,
        found.passes_to_strangers
    );
    found
}

#[tokio::test]
async fn citizens_through_caching_proxies_see_only_themselves() {
    let users: usize = std::env::var("SPORTELLO_DRILL_LEAK_USERS").ok().and_then(|u| u.parse().ok()).unwrap_or(100);
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path();
    let url = &sandbox.database_url;
    let extract = sandbox.path("extract.csv");
    let persons = (users * 4 + 40).to_string();
    let out = run_in(
        dir,
        url,
        &["registry", "generate", "--persons", &persons, "--seed", "3", "--out", extract.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(run_in(dir, url, &["registry", "import", extract.to_str().unwrap()]).status.success());
    let pins = sandbox.path("pins.csv");
    let out =
        run_in(dir, url, &["pin", "issue", "--first", &(users * 3 + 40).to_string(), "--out", pins.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let people = read_pins(&pins);

    // Every request reaches the portal from the proxy's address: the per-address limits would count them as one.
    let limits = [
        ("SPORTELLO_LIMITS__PER_ADDRESS_PER_MINUTE", "100000000"),
        ("SPORTELLO_LIMITS__PER_ADDRESS_BURST", "100000000"),
    ];
    let portal = Server::start(dir, url, &[], &limits);
    let Some(careful) = nginx(dir, &portal.base, false, "nginx").await else { return };
    let Some(varnish) = varnish(dir, &portal.base).await else { return };

    // The control: a proxy told to ignore the portal's headers does leak, and the drill sees it.
    let Some(reckless) = nginx(dir, &portal.base, true, "nginx").await else { return };
    let found = through(&reckless, &people[users * 2..users * 2 + 20], url, false, Queue::None).await;
    assert!(found.personal_from_cache > 0 && !found.leaks.is_empty(), "the control leaked: {found:?}");

    // Distinct people through each proxy, all at once.
    for (proxy, people) in [&careful, &varnish].into_iter().zip(people.chunks(users)) {
        let found = through(proxy, people, url, true, Queue::None).await;
        assert!(
            found.leaks.is_empty(),
            "{} leaks via {}: {:?}",
            found.leaks.len(),
            proxy.name,
            &found.leaks[..found.leaks.len().min(10)]
        );
        assert_eq!(found.personal_from_cache, 0, "no personal response came from {}'s cache", proxy.name);
        assert!(
            found.public_from_cache >= people.len(),
            "{} served the public pages from its cache ({} times), so it would have served a personal one too",
            proxy.name,
            found.public_from_cache
        );
        assert_eq!(found.passes_to_strangers, 0, "no gate, no pass");
    }
    drop((careful, varnish, reckless, portal));

    // Again with a waiting room in front, through nginx: Varnish's default VCL caches nothing for a request that
    // carries a cookie, and behind the gate every request carries the pass.
    let config = sandbox.file("gated.toml", &gated_config());
    let limits = [
        limits[0],
        limits[1],
        ("SPORTELLO_LIMITS__TICKETS_PER_ADDRESS_PER_MINUTE", "100000000"),
        ("SPORTELLO_LIMITS__TICKETS_PER_ADDRESS_BURST", "100000000"),
    ];
    let portal = Server::start(dir, url, &["--config", config.to_str().unwrap()], &limits);
    let Some(careful) = nginx(dir, &portal.base, false, "nginx-gated").await else { return };
    // The control, whose cache would also break the queue itself: its citizens queue at the portal.
    let Some(reckless) = nginx(dir, &portal.base, true, "nginx-gated").await else { return };
    let control = &people[users * 3 + 20..users * 3 + 40];
    let found = through(&reckless, control, url, false, Queue::At(&portal.base)).await;
    assert!(found.passes_to_strangers > 0, "the control handed passes to strangers: {found:?}");
    let found = through(&careful, &people[users * 2 + 20..users * 3 + 20], url, true, Queue::At(&careful.base)).await;
    assert!(found.leaks.is_empty(), "{} leaks behind the waiting room: {:?}", found.leaks.len(), found.leaks);
    assert_eq!(found.personal_from_cache, 0, "no personal response came from the cache");
    assert_eq!(found.passes_to_strangers, 0, "no pass was served to a stranger");
    assert!(found.public_from_cache >= users, "the public pages came from the cache: {found:?}");
}
