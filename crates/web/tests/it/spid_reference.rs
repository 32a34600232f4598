//! The relying party against the reference implementation of the SPID/CIE OIDC Federation profile: PyPI's
//! `spid-cie-oidc` (Django), which `.ci/run` installs. `crates/web/tests/reference` is the Django project that
//! runs it: one settings module, three processes on loopback ports of their own, each with a fresh SQLite
//! database: the trust anchor (the `authority` app), a SPID provider and a CIE provider (the `provider` app with
//! its `spid` or `cie` profile).
//!
//! The test enrols everyone as the federation's operator would: it draws the anchor's and the providers' keys,
//! writes the fixtures (the anchor's configuration, Sportello and the two providers as its descendants with
//! Sportello's real federation keys, the providers' configurations naming the anchor, a provider account whose
//! fiscal number is a registry person's), loads them after `migrate`, and starts `runserver`. Sportello's portal
//! is reached at the `client_id` its configuration names, a loopback port forwarded to the test portal, because
//! the providers fetch its entity configuration there; the statements travel over plain HTTP, which the
//! reference's HTTP client (aiohttp) uses for `http://` identifiers.
//!
//! Then a citizen logs in as a browser would: Sportello's login page, the provider's own login and consent forms
//! (read from its HTML, its cookies kept), back to Sportello's callback, an application and its receipt, and the
//! audit row naming the door.
//!
//! The providers run with two changes to the package's defaults (`reference/apps.py`), both where spid-cie-oidc
//! 1.6.3 departs from the rules it implements:
//! - the profile's request schema reads `ui_locales` as OpenID Connect Core's space-separated string (Sportello
//!   sends `"it"`), where 1.6.3 wants a JSON list and refuses the request;
//! - its userinfo JWT is signed with `iss`, `aud`, `iat` and `exp`, which the technical rules' userinfo table lists
//!   ("the RP MUST check that [aud] is equal to its own client_id") and 1.6.3 leaves out, holding only `sub` and the
//!   claims asked for. Sportello keeps checking them (`sportello_federation::rp::check_userinfo`): without the
//!   change it refuses the login with "userinfo from another provider", as it must.
//!
//! Trust marks too: the anchor issues each provider the public provider's mark, the test hands it to the provider
//! from the anchor's statement about it (started first for that), the provider shows it, and Sportello requires it
//! (`required_trust_marks`), reading the anchor's `trust_mark_issuers`.
//!
//! Everything else is the package as published: the trust chains both ways, the request object, login and consent,
//! the token call with `private_key_jwt` and PKCE, the signed and encrypted userinfo.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use josekit::jwk::Jwk;
use josekit::jwk::alg::rsa::RsaKeyPair;
use serde_json::{Value, json};
use sportello_federation::keys::{self, KeyRing};
use sportello_web::auth::oidc::FederationSection;
use sportello_web::config::Config;

use crate::support::{Browser, PROFESSIONISTA, SESSION, TestApp, apply, cf, spawn_app_with};

/// The Django project.
const PROJECT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference");
/// The provider account's username and password.
const USERNAME: &str = "mario.rossi";
const PASSWORD: &str = "parola-d-ordine-di-prova";
/// Django's PBKDF2 hash of [`PASSWORD`] (`make_password(PASSWORD, salt="sportellotest")`), as the fixture stores
/// it: hashing it here would mean a second implementation of Django's hasher.
const PASSWORD_HASH: &str = "pbkdf2_sha256$600000$sportellotest$/O+wv61FwpZo5XPskZ0hRd7u53YmXO4jI+mEsZvYR8U=";
/// The trust mark ids the anchor issues to relying parties and to providers.
const RP_MARK: &str = "https://sportello.test/trust-marks/openid_relying_party/public";
const OP_MARK: &str = "https://sportello.test/trust-marks/openid_provider/public";
/// How long a Django process may take to answer its entity configuration after it is started.
const STARTUP: Duration = Duration::from_secs(60);

/// Whether the reference implementation is installed (`python3 -c "import spid_cie_oidc, django"`).
fn reference_installed() -> Result<(), String> {
    let out = Command::new("python3")
        .args(["-c", "import spid_cie_oidc, django"])
        .output()
        .map_err(|e| format!("python3 does not run: {e}"))?;
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()) }
}

/// The running Django processes, killed when the test ends (whether it passes or not).
struct Federation {
    dir: tempfile::TempDir,
    children: Vec<(String, Child)>,
    anchor: String,
    /// Sportello's `client_id`, forwarded to the test portal.
    client_id: String,
    spid: String,
    cie: String,
    /// The anchor's public federation keys, as its operator hands them to Sportello's.
    anchor_jwks: Value,
}

impl Drop for Federation {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Federation {
    fn log_path(&self, role: &str) -> PathBuf {
        self.dir.path().join(format!("{role}.log"))
    }

    /// What `role`'s process wrote so far.
    fn log(&self, role: &str) -> String {
        std::fs::read_to_string(self.log_path(role)).unwrap_or_default()
    }

    /// Every process's log, for a failure's message.
    fn logs(&self) -> String {
        ["anchor", "spid", "cie"].iter().map(|r| format!("\n----- {r}'s log -----\n{}", self.log(r))).collect()
    }
}

/// A free loopback port (the listener is closed at once; Django binds it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An RSA key as the reference stores its private keys, with `kid` (and `use`, which its key lookup requires).
fn private_key(kid: &str, key_use: Option<&str>) -> Value {
    use josekit::jwk::KeyPair as _;
    let mut jwk: Jwk = RsaKeyPair::generate(2048).unwrap().to_jwk_private_key();
    jwk.set_key_id(kid);
    if let Some(key_use) = key_use {
        jwk.set_key_use(key_use);
    }
    Value::Object(jwk.as_ref().clone())
}

/// The public half of [`private_key`].
fn public(private: &Value) -> Value {
    let keep = ["kty", "kid", "use", "n", "e"];
    Value::Object(
        private
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| keep.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

fn stamped(model: &str, pk: u32, mut fields: Value) -> Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    fields["created"] = json!(now);
    fields["modified"] = json!(now);
    json!({"model": model, "pk": pk, "fields": fields})
}

/// An entity's own configuration row (`FederationEntityConfiguration`).
fn configuration(sub: &str, entity_type: &str, fed: &Value, core: &Value, extra: Value) -> Value {
    let mut fields = json!({
        "uuid": "6a3c0e59-8f4e-4f40-9a52-5b6f2d0c0001",
        "sub": sub,
        "default_exp": 2880,
        "default_signature_alg": "RS256",
        "authority_hints": [],
        "jwks_fed": [fed],
        "jwks_core": [core],
        "trust_marks": [],
        "trust_mark_issuers": {},
        "entity_type": entity_type,
        "metadata": {},
        "constraints": {},
        "is_active": true,
    });
    fields.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    stamped("spid_cie_oidc_entity.federationentityconfiguration", 1, fields)
}

/// The anchor's database: itself, a trust-mark profile per entity type, and its three descendants.
fn anchor_fixture(anchor: &str, rp: (&str, &Value), providers: &[(&str, &str, &Value)], ta: &Value) -> Value {
    let ta_core = private_key("anchor-core", Some("sig"));
    let mut rows = vec![configuration(
        anchor,
        "federation_entity",
        ta,
        &ta_core,
        json!({
            "metadata": {"federation_entity": {
                "organization_name": "Trust anchor di prova",
                "homepage_uri": anchor,
                "contacts": ["ops@anchor.test"],
                "federation_fetch_endpoint": format!("{anchor}/fetch"),
                "federation_list_endpoint": format!("{anchor}/list"),
                "federation_resolve_endpoint": format!("{anchor}/resolve"),
                "federation_trust_mark_status_endpoint": format!("{anchor}/trust_mark_status"),
            }},
            "trust_mark_issuers": {RP_MARK: [anchor], OP_MARK: [anchor]},
            "constraints": {"max_path_length": 1},
        }),
    )];
    for (pk, (name, category, mark)) in
        [(1, ("Relying party", "openid_relying_party", RP_MARK)), (2, ("Provider", "openid_provider", OP_MARK))]
    {
        rows.push(stamped(
            "spid_cie_oidc_authority.federationentityprofile",
            pk,
            json!({"name": name, "profile_category": category, "profile_id": mark,
                "trust_mark_template": {"organization_type": "public"}}),
        ));
    }
    let mut descendants = vec![(rp.0, "Sportello", "openid_relying_party", rp.1.clone(), 1)];
    for (sub, name, jwks) in providers {
        descendants.push((sub, name, "openid_provider", (*jwks).clone(), 2));
    }
    for (pk, (sub, name, entity_type, jwks, profile)) in (1..).zip(descendants) {
        rows.push(stamped(
            "spid_cie_oidc_authority.federationdescendant",
            pk,
            json!({"uid": format!("descendant-{pk}"), "name": name, "sub": sub, "type": entity_type,
                "registrant": [], "jwks": jwks, "metadata_policy": {}, "metadata": {}, "constraints": {},
                "extended_claims": {}, "status": "valid", "status_log": {}, "is_active": true}),
        ));
        rows.push(stamped(
            "spid_cie_oidc_authority.federationentityassignedprofile",
            pk,
            json!({"descendant": pk, "profile": profile, "issuer": 1}),
        ));
    }
    Value::Array(rows)
}

/// A provider's database: its configuration (naming the anchor) and the account of the person who logs in.
fn provider_fixture(
    op: &str,
    anchor: &str,
    (name, profile): (&str, &str),
    fed: &Value,
    marks: &Value,
    fiscal_number: &str,
) -> Value {
    let core = private_key(&format!("{profile}-core"), Some("sig"));
    let prefix = format!("{op}/oidc/op");
    let acr = ["https://www.spid.gov.it/SpidL1", "https://www.spid.gov.it/SpidL2", "https://www.spid.gov.it/SpidL3"];
    let mut scopes = vec!["openid", "offline_access"];
    if profile == "cie" {
        scopes.extend(["profile", "email"]);
    }
    let metadata = json!({
        "openid_provider": {
            "issuer": op,
            "authorization_endpoint": format!("{prefix}/authorization"),
            "token_endpoint": format!("{prefix}/token"),
            "userinfo_endpoint": format!("{prefix}/userinfo"),
            "introspection_endpoint": format!("{prefix}/introspection"),
            "revocation_endpoint": format!("{prefix}/revocation"),
            "jwks": {"keys": [public(&core)]},
            "scopes_supported": scopes,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "form_post"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "acr_values_supported": acr,
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "id_token_encryption_alg_values_supported": ["RSA-OAEP"],
            "id_token_encryption_enc_values_supported": ["A128CBC-HS256"],
            "userinfo_signing_alg_values_supported": ["RS256"],
            "userinfo_encryption_alg_values_supported": ["RSA-OAEP", "RSA-OAEP-256"],
            "userinfo_encryption_enc_values_supported": ["A128CBC-HS256", "A256CBC-HS512"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "request_object_signing_alg_values_supported": ["RS256"],
            "request_parameter_supported": true,
            "request_uri_parameter_supported": false,
            "claims_parameter_supported": true,
            "code_challenge_methods_supported": ["S256"],
            "client_registration_types_supported": ["automatic"],
            "request_authentication_methods_supported": {"ar": ["request_object"]},
            "request_authentication_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["https://attributes.eid.gov.it/fiscal_number", "given_name", "family_name", "email"],
        },
        "federation_entity": {"organization_name": name, "homepage_uri": op, "contacts": ["ops@provider.test"]},
    });
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!([
        configuration(
            op,
            "openid_provider",
            fed,
            &core,
            json!({"authority_hints": [anchor], "metadata": metadata, "trust_marks": marks})
        ),
        {"model": "accounts.user", "pk": 1, "fields": {
            "password": PASSWORD_HASH, "last_login": null, "is_superuser": false, "username": USERNAME,
            "first_name": "Mario", "last_name": "Rossi", "email": "mario.rossi@example.it", "is_staff": false,
            "is_active": true, "date_joined": now, "groups": [], "user_permissions": [],
            "attributes": {
                "https://attributes.eid.gov.it/fiscal_number": fiscal_number,
                "fiscal_number": fiscal_number,
                "given_name": "Mario",
                "family_name": "Rossi",
                "email": "mario.rossi@example.it",
            },
        }},
    ])
}

/// `manage.py` for `role`, with its database and the anchor's identifier.
fn manage(dir: &Path, role: &str, anchor: &str) -> Command {
    let mut command = Command::new("python3");
    command
        .current_dir(PROJECT)
        .arg("manage.py")
        .env("SPORTELLO_REFERENCE_ROLE", role)
        .env("SPORTELLO_REFERENCE_DB", dir.join(format!("{role}.sqlite3")))
        .env("SPORTELLO_REFERENCE_ANCHOR", anchor)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    command
}

/// Runs `manage.py args` for `role` to its end, failing with its output if it fails.
fn spawn_manage(dir: &Path, role: &str, anchor: &str, args: &[&str]) -> Child {
    manage(dir, role, anchor)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{role}: manage.py does not run: {e}"))
}

fn finished(role: &str, what: &str, child: Child) {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{role}: {what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `migrate` then `loaddata` of its fixture for each role (the roles side by side).
fn prepare(dir: &Path, anchor: &str, fixtures: &[(&str, Value)]) {
    let migrations: Vec<_> = fixtures
        .iter()
        .map(|(role, _)| (*role, spawn_manage(dir, role, anchor, &["migrate", "--no-input", "-v0"])))
        .collect();
    for (role, child) in migrations {
        finished(role, "migrate", child);
    }
    let loads: Vec<_> = fixtures
        .iter()
        .map(|(role, fixture)| {
            let file = dir.join(format!("{role}-fixture.json"));
            std::fs::write(&file, fixture.to_string()).unwrap();
            (*role, spawn_manage(dir, role, anchor, &["loaddata", "-v0", file.to_str().unwrap()]))
        })
        .collect();
    for (role, child) in loads {
        finished(role, "loaddata", child);
    }
}

/// Starts `runserver` for `role` on `port`, its output in `role.log`.
fn start(federation: &mut Federation, role: &str, port: u16) {
    let log = std::fs::File::create(federation.log_path(role)).unwrap();
    let child = manage(federation.dir.path(), role, &federation.anchor)
        .args(["runserver", &format!("127.0.0.1:{port}"), "--noreload"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("{role}: runserver does not start: {e}"));
    federation.children.push((role.to_owned(), child));
}

/// Waits until `role` serves its entity configuration at `base`, failing with its log if it exits or takes too long.
async fn wait_for(federation: &mut Federation, role: &str, base: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + STARTUP;
    loop {
        let answer = client.get(format!("{base}/.well-known/openid-federation")).send().await;
        if answer.as_ref().is_ok_and(|a| a.status() == 200) {
            return;
        }
        let (_, child) = federation.children.iter_mut().find(|(r, _)| r == role).unwrap();
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the reference {role} exited ({status}) before answering:{}", federation.logs());
        }
        if Instant::now() > deadline {
            let status = answer.map(|a| a.status().to_string()).unwrap_or_else(|e| e.to_string());
            panic!(
                "the reference {role} did not serve its entity configuration in {STARTUP:?} ({status}):{}",
                federation.logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Forwards every connection to `listener` to `to`: Sportello's `client_id` reaches the test portal.
fn forward(listener: tokio::net::TcpListener, to: SocketAddr) {
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
}

/// The portal, enrolled in a reference federation started for it, whose providers' account is `fiscal_number`'s.
async fn enrolled(fiscal_number: &str) -> (TestApp, Federation) {
    let dir = tempfile::tempdir().unwrap();
    let (anchor_port, spid_port, cie_port) = (free_port(), free_port(), free_port());
    let anchor = format!("http://127.0.0.1:{anchor_port}");
    let spid = format!("http://127.0.0.1:{spid_port}");
    let cie = format!("http://127.0.0.1:{cie_port}");
    let rp_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client_id = format!("http://{}", rp_listener.local_addr().unwrap());

    // Sportello's keys, as `sportello keys generate` draws them; the anchor enrols its public federation keys.
    keys::generate(&dir.path().join("keys"), "20201207T000000Z", 2048).unwrap();
    let ring = KeyRing::load(&dir.path().join("keys")).unwrap();
    let rp_jwks = ring.federation.public().unwrap().to_value()["keys"].clone();

    let ta = private_key("anchor-federation", None);
    let spid_fed = private_key("spid-federation", None);
    let cie_fed = private_key("cie-federation", None);
    let anchor_rows = anchor_fixture(
        &anchor,
        (&client_id, &rp_jwks),
        &[
            (&spid, "Provider SPID di riferimento", &json!([public(&spid_fed)])),
            (&cie, "Provider CIE di riferimento", &json!([public(&cie_fed)])),
        ],
        &ta,
    );
    prepare(dir.path(), &anchor, &[("anchor", anchor_rows)]);
    let anchor_jwks = json!({"keys": [public(&ta)]});
    let mut federation = Federation {
        dir,
        children: Vec::new(),
        anchor: anchor.clone(),
        client_id: client_id.clone(),
        spid: spid.clone(),
        cie: cie.clone(),
        anchor_jwks,
    };
    start(&mut federation, "anchor", anchor_port);
    wait_for(&mut federation, "anchor", &anchor).await;

    // Each provider shows the trust mark the anchor issued it, as the anchor's statement about it carries it.
    let spid_rows = provider_fixture(
        &spid,
        &anchor,
        ("Provider SPID di riferimento", "spid"),
        &spid_fed,
        &issued_marks(&federation, &spid).await,
        fiscal_number,
    );
    let cie_rows = provider_fixture(
        &cie,
        &anchor,
        ("Provider CIE di riferimento", "cie"),
        &cie_fed,
        &issued_marks(&federation, &cie).await,
        fiscal_number,
    );
    prepare(federation.dir.path(), &anchor, &[("spid", spid_rows), ("cie", cie_rows)]);
    for (role, port) in [("spid", spid_port), ("cie", cie_port)] {
        start(&mut federation, role, port);
    }
    for (role, base) in [("spid", &spid), ("cie", &cie)] {
        wait_for(&mut federation, role, base).await;
    }

    let jwks_file = federation.dir.path().join("anchor-jwks.json");
    std::fs::write(&jwks_file, federation.anchor_jwks.to_string()).unwrap();
    let section = FederationSection {
        client_id,
        keys_dir: federation.dir.path().join("keys"),
        trust_anchor: anchor,
        trust_anchor_jwks: jwks_file,
        cie_provider: Some(cie),
        spid_level: 2,
        required_trust_marks: vec![OP_MARK.into()],
        trust_marks_file: None,
        organization_name: "Sportello".into(),
        contacts: vec!["spid@sportello.test".into()],
        // The reference answers its first request of a chain slowly (it fetches and verifies it whole).
        timeout_secs: 20,
    };
    let mut config = Config::default();
    config.limits.per_address_per_minute = 1_000_000;
    config.limits.per_address_burst = 1_000_000;
    config.federation = Some(section);
    let app = spawn_app_with(config).await;
    forward(rp_listener, app.base.strip_prefix("http://").unwrap().parse().unwrap());
    (app, federation)
}

/// The trust marks the anchor's statement about `subject` carries (its fetch endpoint), as the subject shows them.
async fn issued_marks(federation: &Federation, subject: &str) -> Value {
    let url = format!(
        "{}/fetch?sub={}",
        federation.anchor,
        url::form_urlencoded::byte_serialize(subject.as_bytes()).collect::<String>()
    );
    let statement = reqwest::get(&url).await.unwrap().text().await.unwrap();
    let payload = statement.split('.').nth(1).unwrap_or_else(|| panic!("no statement from {url}: {statement}"));
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap(),
    )
    .unwrap();
    let marks = claims["trust_marks"].clone();
    assert!(marks.as_array().is_some_and(|m| !m.is_empty()), "the anchor issued {subject} no trust mark: {claims}");
    marks
}

/// The attributes of one HTML tag (`<input name="…" value='…'>`), entities in values decoded.
fn attributes(tag: &str) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut rest = tag;
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq].rsplit(|c: char| c.is_whitespace()).next().unwrap_or_default().to_owned();
        let after = &rest[eq + 1..];
        let Some(quote) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            rest = after;
            continue;
        };
        let value = &after[1..];
        let end = value.find(quote).unwrap_or(value.len());
        let decoded = value[..end]
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        found.insert(name, decoded);
        rest = &value[(end + 1).min(value.len())..];
    }
    found
}

/// The first form of `html` with `method="POST"`: its action and every named input's value.
fn post_form(html: &str) -> (String, Vec<(String, String)>) {
    let start =
        html.find("<form method=\"POST\"").unwrap_or_else(|| panic!("a POST form in the provider's page:\n{html}"));
    let form = &html[start..start + html[start..].find("</form>").expect("the form's end")];
    let action = attributes(&form[..form.find('>').unwrap()]).get("action").cloned().expect("the form's action");
    let inputs = form
        .split("<input")
        .skip(1)
        .map(|input| attributes(&input[..input.find('>').unwrap()]))
        .filter_map(|a| Some((a.get("name")?.clone(), a.get("value").cloned().unwrap_or_default())))
        .collect();
    (action, inputs)
}

/// Through the reference provider as a browser: from `start` on Sportello to the provider's login form, the
/// account's username and password, the consent form, and back: the path and query of Sportello's callback, with
/// the provider's code.
async fn code_from_reference(browser: &Browser<'_>, federation: &Federation, provider: &str, start: &str) -> String {
    let started = browser.get(start).await;
    assert_eq!(started.status, 303, "Sportello sends the browser to the provider: {}", started.body);
    assert!(started.location.starts_with(&format!("{provider}/oidc/op/authorization?")), "{}", started.location);
    let role = if provider == federation.cie { "cie" } else { "spid" };
    let at_provider =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();

    // The provider checks the signed request against Sportello's trust chain, then asks who is there.
    let login = at_provider.get(&started.location).send().await.unwrap();
    let status = login.status();
    let login_page = login.text().await.unwrap();
    assert_eq!(status, 200, "the provider's login page: {login_page}{}", federation.logs());
    assert!(login_page.contains("Sportello"), "the login page names the relying party: {login_page}");
    let (action, mut fields) = post_form(&login_page);
    assert!(fields.iter().any(|(k, _)| k == "authz_request_object"), "the request travels in the form: {fields:?}");
    fields.retain(|(k, _)| k != "username" && k != "password");
    fields.extend([("username".into(), USERNAME.into()), ("password".into(), PASSWORD.into())]);
    let logged = at_provider.post(format!("{provider}{action}")).form(&fields).send().await.unwrap();
    let status = logged.status();
    let consent_url = logged.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
    let body = logged.text().await.unwrap();
    assert_eq!(status, 302, "the provider accepts the account: {body}{}", federation.log(role));
    assert!(consent_url.ends_with("/oidc/op/consent"), "{consent_url}");

    // The consent page lists what is released; agreeing sends the browser back with a code.
    let consent = at_provider.get(format!("{provider}{consent_url}")).send().await.unwrap();
    let status = consent.status();
    let consent_page = consent.text().await.unwrap();
    assert_eq!(status, 200, "the provider's consent page: {consent_page}{}", federation.log(role));
    let (action, fields) = post_form(&consent_page);
    let agreed = at_provider.post(format!("{provider}{action}")).form(&fields).send().await.unwrap();
    let status = agreed.status();
    let back = agreed.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
    assert_eq!(
        status,
        302,
        "the provider sends the browser back: {}{}",
        agreed.text().await.unwrap(),
        federation.log(role)
    );
    let path = back
        .strip_prefix(federation.client_id.as_str())
        .unwrap_or_else(|| panic!("back to Sportello's redirect_uri: {back}"));
    assert!(path.starts_with("/accedi/oidc/ritorno?code="), "a code, not an error: {back}{}", federation.log(role));
    path.to_owned()
}

fn provider_parameter(provider: &str) -> String {
    url::form_urlencoded::byte_serialize(provider.as_bytes()).collect()
}

/// Skips (outside CI) or fails (under `CI=true`) when the reference is not installed; `true` to go on.
fn installed_or_skip() -> bool {
    match reference_installed() {
        Ok(()) => true,
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("the reference SPID/CIE provider is not installed (.ci/run installs spid-cie-oidc): {why}")
        }
        Err(why) => {
            eprintln!("skipped: the reference SPID/CIE provider (PyPI spid-cie-oidc, Django) is not installed: {why}");
            false
        }
    }
}

/// What works today: the anchor enrols Sportello and lists both providers, Sportello's login page names them, and
/// each provider builds Sportello's trust chain, verifies its signed request, logs the account in and sends the
/// browser back to Sportello's `redirect_uri` with a code and the `state` Sportello sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_providers_accept_sportellos_trust_chain_and_signed_request_and_send_back_a_code() {
    if !installed_or_skip() {
        return;
    }
    let person = cf(PROFESSIONISTA);
    let (app, federation) = enrolled(&format!("TINIT-{person}")).await;
    let browser = Browser::new(&app);
    let login_page = browser.get("/accedi").await;
    assert_eq!(login_page.status, 200, "{}", login_page.body);
    assert!(
        login_page.body.contains("Provider SPID di riferimento") && login_page.body.contains("Entra con CIE"),
        "the anchor lists both providers: {}{}",
        login_page.body,
        federation.logs()
    );
    assert!(!login_page.body.contains("Provider CIE di riferimento"), "CIE's provider is not among SPID's");
    let spid_start = format!("/accedi/spid?provider={}", provider_parameter(&federation.spid));
    for (provider, start) in [(&federation.spid, spid_start.as_str()), (&federation.cie, "/accedi/cie")] {
        let callback = code_from_reference(&browser, &federation, provider, start).await;
        let query: BTreeMap<String, String> =
            url::form_urlencoded::parse(callback.split_once('?').unwrap().1.as_bytes()).into_owned().collect();
        assert!(query.get("code").is_some_and(|c| !c.is_empty()), "{callback}");
        assert_eq!(query.get("iss"), Some(provider), "the provider names itself: {callback}");
        assert_eq!(query.get("state").map(String::len), Some(32), "Sportello's state comes back: {callback}");
    }
}

/// Logs in through `provider` from Sportello's `start`, applies and reads the receipt; every audit row of the person
/// names `method`. The receipt's protocol.
async fn logs_in_and_applies(
    app: &TestApp,
    browser: &Browser<'_>,
    federation: &Federation,
    provider: &str,
    start: &str,
    method: &str,
) -> String {
    let callback = code_from_reference(browser, federation, provider, start).await;
    let back = browser.get(&callback).await;
    assert_eq!(
        (back.status, back.location.as_str()),
        (303, "/situazione"),
        "Sportello believes the reference provider {provider}: {}{}",
        back.body,
        federation.logs()
    );
    assert!(browser.cookie(SESSION).is_some(), "a session is opened");
    let (receipt, _) = apply(browser, "art27").await;
    assert_eq!(receipt.status, 303, "the application is received: {}", receipt.body);
    let receipt_page = browser.get(&receipt.location).await;
    assert_eq!(receipt_page.status, 200, "the receipt: {}", receipt_page.body);
    let protocol = receipt.location.rsplit('/').next().unwrap().to_owned();
    assert!(receipt_page.body.contains(&protocol), "the receipt names its protocol: {}", receipt_page.body);
    let audits = app.store.audit_of(&cf(PROFESSIONISTA), 20).await.unwrap();
    assert!(!audits.is_empty(), "the application is audited");
    assert!(
        audits.iter().all(|a| a.login_method.as_deref() == Some(method)),
        "every audit row names the door, {method}: {audits:?}"
    );
    protocol
}

/// The whole login, an application and its receipt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_logs_in_through_the_reference_spid_provider_applies_and_gets_a_receipt() {
    if !installed_or_skip() {
        return;
    }
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let person = cf(PROFESSIONISTA);
    let (app, federation) = enrolled(&format!("TINIT-{person}")).await;
    let browser = Browser::new(&app);

    let login_page = browser.get("/accedi").await;
    assert_eq!(login_page.status, 200, "{}", login_page.body);
    assert!(
        login_page.body.contains("Entra con SPID") && login_page.body.contains("Provider SPID di riferimento"),
        "the anchor's list gives the SPID provider's name: {}{}",
        login_page.body,
        federation.logs()
    );
    assert!(login_page.body.contains("Entra con CIE"), "the CIE provider is vouched for: {}", login_page.body);
    assert!(!login_page.body.contains("Provider CIE di riferimento"), "CIE's provider is not among SPID's");

    let start = format!("/accedi/spid?provider={}", provider_parameter(&federation.spid));
    let protocol = logs_in_and_applies(&app, &browser, &federation, &federation.spid, &start, "spid_l2").await;
    // The same person with the PIN sees the same application.
    let by_pin = app.logged_in(&person).await;
    let list = by_pin.get("/domande").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains(&protocol), "the PIN session lists the SPID session's application: {}", list.body);
}

/// As the SPID test, through the CIE provider (Sportello's `cie_provider`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_logs_in_through_the_reference_cie_provider_and_the_audit_row_says_cie() {
    if !installed_or_skip() {
        return;
    }
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let person = cf(PROFESSIONISTA);
    let (app, federation) = enrolled(&format!("TINIT-{person}")).await;
    let browser = Browser::new(&app);
    let login_page = browser.get("/accedi").await;
    assert!(login_page.body.contains("Entra con CIE"), "{}{}", login_page.body, federation.logs());

    logs_in_and_applies(&app, &browser, &federation, &federation.cie, "/accedi/cie", "cie").await;
}
