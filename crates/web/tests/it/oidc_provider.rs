//! The SPID/CIE door against a third-party OpenID provider: npm `oidc-provider` (panva's), run on loopback by
//! `crates/web/tests/oidc-provider/provider.mjs` and vouched for by the test federation's anchor. Each edge case of
//! the core flow is one test: the provider misbehaves in one way (or, for a replayed code, refuses the code itself),
//! and Sportello answers with a page saying what to do, opens no session, and logs why. One test has the provider
//! behave, and the citizen logs in: the setup is right, so the refusals are the checks' own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sportello_federation::jose;
use sportello_federation::keys::{self, KeyRing};
use sportello_federation::rp::{Level, RelyingParty};

use crate::federation::{CLIENT_ID, config, section};
use crate::support::{Browser, LogCapture, PROFESSIONISTA, Page, SESSION, TestApp, cf, spawn_app_with};
use crate::test_federation::{TestFederation, key, public};

/// The pending login's cookie, which the callback needs.
const PENDING: &str = "__Host-sportello_oidc";

/// The folder holding `provider.mjs` and its `node_modules`.
fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-provider")
}

/// Whether the provider's packages are installed: outside CI a missing `node_modules` skips the test (it says so);
/// under `CI=true` it fails, since `.ci/run` installs them.
fn installed() -> bool {
    if provider_dir().join("node_modules/oidc-provider").is_dir() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "crates/web/tests/oidc-provider/node_modules is missing under CI: .ci/run's install step \
         (npm ci --ignore-scripts in crates/web/tests/oidc-provider) did not run"
    );
    println!(
        "skipped: npm oidc-provider is not installed (run `npm ci --ignore-scripts` in crates/web/tests/oidc-provider)"
    );
    false
}

/// The Node process, killed when the test ends however it ends.
struct NodeProvider {
    child: Child,
    stderr: PathBuf,
}

impl NodeProvider {
    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for NodeProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How the provider misbehaves, and at which acr it logs the citizen in.
struct Setup {
    misbehave: &'static str,
    acr: Level,
}

/// A portal trusting a test federation whose anchor vouches for a running `oidc-provider`.
struct World {
    app: TestApp,
    provider: NodeProvider,
    issuer: String,
    logs: LogCapture,
    _log_guard: tracing::subscriber::DefaultGuard,
    _federation: TestFederation,
    _dir: tempfile::TempDir,
}

impl World {
    async fn start(fiscal: &str, setup: Setup) -> Self {
        let logs = LogCapture::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        // The portal runs on this test's (current-thread) runtime, so what it logs lands here.
        let log_guard = tracing::subscriber::set_default(subscriber);

        let dir = tempfile::tempdir().unwrap();
        keys::generate(&dir.path().join("keys"), "20201207T000000Z", 2048).unwrap();
        let ring = KeyRing::load(&dir.path().join("keys")).unwrap();
        let rp = RelyingParty {
            client_id: CLIENT_ID.into(),
            redirect_uri: format!("{CLIENT_ID}/accedi/oidc/ritorno"),
            keys: ring.clone(),
            authority_hints: vec![],
            trust_marks: vec![],
            organization_name: "Sportello".into(),
            contacts: vec![],
        };
        let federation = TestFederation::start(ring, CLIENT_ID, "TINIT-unused").await;

        let port = {
            let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            free.local_addr().unwrap().port()
        };
        let issuer = format!("http://127.0.0.1:{port}");
        let fed_key = key("oidc-provider-federation");
        let mut signing_key = key("oidc-provider-signing");
        signing_key.set_key_use("sig");
        signing_key.set_algorithm("RS256");
        federation.vouch_for(&issuer, public(&fed_key));

        let now = chrono::Utc::now().timestamp();
        let metadata = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/auth"),
            "token_endpoint": format!("{issuer}/token"),
            "userinfo_endpoint": format!("{issuer}/me"),
            "revocation_endpoint": format!("{issuer}/token/revocation"),
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "userinfo_signing_alg_values_supported": ["RS256"],
            "userinfo_encryption_alg_values_supported": ["RSA-OAEP", "RSA-OAEP-256"],
            "userinfo_encryption_enc_values_supported": ["A128CBC-HS256", "A256CBC-HS512"],
            "request_object_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "acr_values_supported": [Level::L1.acr(), Level::L2.acr(), Level::L3.acr()],
            "jwks": public(&signing_key),
        });
        let entity_configuration = jose::sign(
            &json!({"iss": issuer, "sub": issuer, "iat": now, "exp": now + 3600, "jwks": public(&fed_key),
                "authority_hints": [federation.anchor()],
                "metadata": {"openid_provider": metadata,
                    "federation_entity": {"organization_name": "oidc-provider di prova"}}}),
            "entity-statement+jwt",
            &fed_key,
        )
        .unwrap();
        let person = fiscal.to_owned();
        let provider_config = json!({
            "port": port,
            "issuer": issuer,
            "signing_key": Value::Object(signing_key.as_ref().clone()),
            "client": {
                "client_id": CLIENT_ID,
                "client_name": "Sportello",
                "redirect_uris": [rp.redirect_uri],
                "response_types": ["code"],
                "grant_types": ["authorization_code"],
                "token_endpoint_auth_method": "private_key_jwt",
                "token_endpoint_auth_signing_alg": "RS256",
                "request_object_signing_alg": "RS256",
                "id_token_signed_response_alg": "RS256",
                "userinfo_signed_response_alg": "RS256",
                "userinfo_encrypted_response_alg": "RSA-OAEP",
                "userinfo_encrypted_response_enc": "A128CBC-HS256",
                "jwks": rp.oidc_jwks().unwrap(),
            },
            "account": {
                "sub": "cittadino-1",
                "fiscal_number": person,
                "given_name": "Mario",
                "family_name": "Rossi",
                "email": "mario.rossi@example.org",
            },
            "acr": setup.acr.acr(),
            "entity_configuration": entity_configuration,
            "misbehave": setup.misbehave,
        });
        let config_file = dir.path().join("oidc-provider.json");
        std::fs::write(&config_file, provider_config.to_string()).unwrap();
        let mut provider = spawn_provider(&config_file, &dir.path().join("oidc-provider.stderr"));
        wait_until_up(&mut provider, &issuer).await;

        let app =
            spawn_app_with(config(section(dir.path(), &federation.anchor(), &federation.anchor_jwks(), None))).await;
        World { app, provider, issuer, logs, _log_guard: log_guard, _federation: federation, _dir: dir }
    }

    /// The door's start URL for this provider.
    fn start_path(&self) -> String {
        let provider = url::form_urlencoded::byte_serialize(self.issuer.as_bytes()).collect::<String>();
        format!("/accedi/spid?provider={provider}")
    }

    /// From the door through the provider's redirects (its own cookies kept) to Sportello's callback: its path.
    async fn to_callback(&self, browser: &Browser<'_>) -> String {
        let started = browser.get(&self.start_path()).await;
        assert_eq!(started.status, 303, "the door sends the browser to the provider: {}", started.body);
        assert!(started.location.starts_with(&self.issuer), "to the provider: {}", started.location);
        let at_provider =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let mut location = url::Url::parse(&started.location).unwrap();
        for _ in 0..10 {
            let answer = at_provider.get(location.clone()).send().await.unwrap();
            let status = answer.status();
            let Some(next) = answer.headers().get("location").map(|l| l.to_str().unwrap().to_owned()) else {
                let body = answer.text().await.unwrap();
                panic!("the provider answered {status} without a redirect: {body}\n{}", self.provider.stderr());
            };
            assert!(status.is_redirection(), "{status} with a location");
            if let Some(path) = next.strip_prefix(CLIENT_ID) {
                return path.to_owned();
            }
            location = location.join(&next).unwrap();
        }
        panic!("the provider never sent the browser back to Sportello");
    }

    /// A whole login in `browser`: the callback's page.
    async fn login(&self, browser: &Browser<'_>) -> Page {
        let callback = self.to_callback(browser).await;
        assert!(callback.starts_with("/accedi/oidc/ritorno?"), "back to the callback: {callback}");
        assert!(callback.contains("code="), "with a code: {callback}\n{}", self.provider.stderr());
        browser.get(&callback).await
    }

    /// The checks every refusal shares: a 401 page saying what to do, no session, and `reason` in the log.
    fn assert_refused(&self, browser: &Browser<'_>, page: &Page, reason: &str) {
        assert_eq!(page.status, 401, "a refusal, not an error: {}", page.body);
        assert!(page.body.contains("Accesso non riuscito"), "the page says the login failed: {}", page.body);
        assert!(
            page.body.contains("scelga un altro gestore") && page.body.contains("PIN INPS"),
            "the page says what to do: {}",
            page.body
        );
        assert!(browser.cookie(SESSION).is_none(), "no session is opened");
        assert!(
            !page.set_cookies.iter().any(|c| c.starts_with(&format!("{SESSION}="))),
            "no session cookie is set: {:?}",
            page.set_cookies
        );
        let logs = self.logs.text();
        assert!(
            logs.contains("SPID/CIE login refused") && logs.contains(reason),
            "the log says why ({reason}):\n{logs}\nprovider's stderr:\n{}",
            self.provider.stderr()
        );
    }
}

fn spawn_provider(config_file: &Path, stderr: &Path) -> NodeProvider {
    let child = Command::new("node")
        .arg("provider.mjs")
        .arg(config_file)
        .current_dir(provider_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(stderr).unwrap())
        .spawn()
        .expect("node runs (the provider needs Node.js 20.19 or later)");
    NodeProvider { child, stderr: stderr.to_owned() }
}

/// Waits for the provider's entity configuration; a provider that exits or never answers fails the test with its
/// stderr.
async fn wait_until_up(provider: &mut NodeProvider, issuer: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = client.get(format!("{issuer}/.well-known/openid-federation")).send().await;
        if answer.is_ok_and(|a| a.status() == 200) {
            return;
        }
        if let Some(status) = provider.child.try_wait().unwrap() {
            panic!("oidc-provider exited ({status}) before answering:\n{}", provider.stderr());
        }
        assert!(Instant::now() < deadline, "oidc-provider did not answer within 20 s:\n{}", provider.stderr());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A portal and a provider releasing PROFESSIONISTA's fiscal number, misbehaving as `misbehave` says.
async fn world(misbehave: &'static str) -> Option<World> {
    if !installed() {
        return None;
    }
    let person = cf(PROFESSIONISTA);
    Some(World::start(&format!("TINIT-{person}"), Setup { misbehave, acr: Level::L2 }).await)
}

/// One login through a provider misbehaving as `misbehave`: refused, for `reason`.
async fn refused_for(misbehave: &'static str, reason: &str) {
    let Some(world) = world(misbehave).await else { return };
    let browser = Browser::new(&world.app);
    let page = world.login(&browser).await;
    world.assert_refused(&browser, &page, reason);
}

#[tokio::test]
async fn a_provider_that_behaves_logs_the_citizen_in_with_a_session_for_the_fiscal_numbers_person() {
    let Some(world) = world("none").await else { return };
    let browser = Browser::new(&world.app);
    let page = world.login(&browser).await;
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/situazione"),
        "logged in: {}\nlog:\n{}\nprovider's stderr:\n{}",
        page.body,
        world.logs.text(),
        world.provider.stderr()
    );
    let id = browser.cookie(SESSION).expect("a session cookie");
    let session = world.app.store.session(&sportello_usecases::sessions::hash_id(&id)).await.unwrap().unwrap();
    let person = cf(PROFESSIONISTA).to_string();
    assert!(session.actor.contains(&person), "the session is {person}'s: {}", session.actor);
    assert_eq!(session.login_method.as_str(), "spid_l2", "by SPID at level 2");
    assert!(browser.cookie(PENDING).is_none(), "the pending login is spent");
    let logs = world.logs.text();
    assert!(logs.contains("logged in through the federation"), "{logs}");
    assert!(!logs.contains("could not be revoked"), "the provider accepted the revocation: {logs}");
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused() {
    refused_for("nonce", "ID token's nonce is not this login's").await;
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    refused_for("expired", "ID token expired").await;
}

#[tokio::test]
async fn an_id_token_issued_in_the_future_is_refused() {
    refused_for("future", "ID token issued in the future").await;
}

#[tokio::test]
async fn an_id_token_for_another_audience_is_refused() {
    refused_for("audience", "ID token is for another audience").await;
}

#[tokio::test]
async fn an_unsigned_id_token_with_alg_none_is_refused() {
    refused_for("alg_none", "signature algorithm 'none' is not allowed").await;
}

#[tokio::test]
async fn a_tampered_userinfo_jwe_is_refused() {
    refused_for("userinfo_tampered", "userinfo: JWE does not decrypt").await;
}

#[tokio::test]
async fn a_userinfo_without_the_fiscal_number_is_refused() {
    refused_for("no_fiscal_number", "userinfo without a fiscal number").await;
}

#[tokio::test]
async fn an_acr_below_spid_level_2_is_refused() {
    if !installed() {
        return;
    }
    let person = cf(PROFESSIONISTA);
    let world = World::start(&format!("TINIT-{person}"), Setup { misbehave: "none", acr: Level::L1 }).await;
    let browser = Browser::new(&world.app);
    let page = world.login(&browser).await;
    world.assert_refused(&browser, &page, "authenticated at L1, below the L2 asked");
}

#[tokio::test]
async fn a_replayed_authorization_code_is_refused_by_the_provider_and_opens_no_session() {
    let Some(world) = world("none").await else { return };
    // The citizen logs in; an attacker holding both the callback and the pending login's cookie presents them again.
    let browser = Browser::new(&world.app);
    let callback = world.to_callback(&browser).await;
    let pending = browser.cookie(PENDING).expect("a pending login");
    let first = browser.get(&callback).await;
    assert_eq!(first.status, 303, "the first presentation logs in: {}", first.body);

    let attacker = Browser::new(&world.app);
    attacker.set_cookie(PENDING, &pending);
    let replay = attacker.get(&callback).await;
    world.assert_refused(&attacker, &replay, "token endpoint answered HTTP 400 (invalid_grant)");
}
