//! Logging in with SPID and CIE: the door's own work (the pending login, the session and its principal, the audit
//! row, outages) through a federation made in the test (`test_federation.rs`); the token checks themselves are
//! tested one by one in `crates/federation/tests`.

use std::path::Path;

use sportello_federation::keys::{self, KeyRing};
use sportello_federation::rp::Level;
use sportello_web::auth::oidc::FederationSection;
use sportello_web::config::Config;

use crate::support::{Browser, PROFESSIONISTA, SESSION, TestApp, apply, cf, spawn_app_with};
use crate::test_federation::TestFederation;

pub const CLIENT_ID: &str = "https://sportello.test.example";

pub fn section(dir: &Path, anchor: &str, anchor_jwks: &serde_json::Value, cie: Option<String>) -> FederationSection {
    let jwks_file = dir.join("anchor-jwks.json");
    std::fs::write(&jwks_file, anchor_jwks.to_string()).unwrap();
    FederationSection {
        client_id: CLIENT_ID.into(),
        keys_dir: dir.join("keys"),
        trust_anchor: anchor.into(),
        trust_anchor_jwks: jwks_file,
        cie_provider: cie,
        spid_level: 2,
        required_trust_marks: vec![],
        trust_marks_file: None,
        organization_name: "Sportello".into(),
        contacts: vec![],
        timeout_secs: 2,
    }
}

pub fn config(section: FederationSection) -> Config {
    let mut config = Config::default();
    config.limits.per_address_per_minute = 1_000_000;
    config.limits.per_address_burst = 1_000_000;
    config.federation = Some(section);
    config
}

/// A portal trusting a test federation whose provider releases `fiscal`, as SPID's (or CIE's when `cie`).
async fn portal(fiscal: &str, cie: bool) -> (TestApp, TestFederation, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    keys::generate(&dir.path().join("keys"), "20201207T000000Z", 2048).unwrap();
    let ring = KeyRing::load(&dir.path().join("keys")).unwrap();
    let federation = TestFederation::start(ring, CLIENT_ID, fiscal).await;
    let cie = cie.then(|| federation.provider());
    let app = spawn_app_with(config(section(dir.path(), &federation.anchor(), &federation.anchor_jwks(), cie))).await;
    (app, federation, dir)
}

/// Through the provider and back: the browser's session cookie, or the callback's page.
async fn through_provider(browser: &Browser<'_>, start: &str) -> crate::support::Page {
    let started = browser.get(start).await;
    assert_eq!(started.status, 303, "{}", started.body);
    let at_provider = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let back = at_provider.get(&started.location).send().await.unwrap();
    assert_eq!(back.status(), 303, "{}", back.text().await.unwrap());
    let location = back.headers()["location"].to_str().unwrap().to_owned();
    let path = location.strip_prefix(CLIENT_ID).expect("back to Sportello's redirect_uri");
    browser.get(path).await
}

#[tokio::test]
async fn a_citizen_logs_in_with_spid_applies_and_the_audit_row_says_spid_and_their_pin_session_sees_the_same() {
    let person = cf(PROFESSIONISTA);
    let (app, federation, _dir) = portal(&format!("TINIT-{person}"), false).await;
    let browser = Browser::new(&app);
    let login_page = browser.get("/accedi").await;
    assert!(
        login_page.body.contains("Entra con SPID") && login_page.body.contains("Provider di prova"),
        "{}",
        login_page.body
    );
    assert!(!login_page.body.contains("<script>"), "no inline script");
    let provider = url::form_urlencoded::byte_serialize(federation.provider().as_bytes()).collect::<String>();
    let back = through_provider(&browser, &format!("/accedi/spid?provider={provider}")).await;
    assert_eq!((back.status, back.location.as_str()), (303, "/situazione"), "{}", back.body);
    assert!(browser.cookie(SESSION).is_some());
    assert!(browser.cookie("__Host-sportello_oidc").is_none(), "the pending login is spent");
    assert_eq!(federation.0.revoked.lock().unwrap().len(), 1, "the access token is revoked at once");

    let (receipt, _) = apply(&browser, "art27").await;
    assert_eq!(receipt.status, 303, "{}", receipt.body);
    let protocol = receipt.location.rsplit('/').next().unwrap().to_owned();
    let audits = app.store.audit_of(&person, 20).await.unwrap();
    assert!(!audits.is_empty());
    assert!(audits.iter().all(|a| a.login_method.as_deref() == Some("spid_l2")), "{audits:?}");

    let by_pin = app.logged_in(&person).await;
    let mine = by_pin.get("/domande").await;
    assert!(mine.body.contains(&protocol), "the PIN session sees the SPID session's application");
}

#[tokio::test]
async fn a_citizen_logs_in_with_cie_and_the_session_says_cie() {
    let person = cf(PROFESSIONISTA);
    let (app, federation, _dir) = portal(&format!("TINIT-{person}"), true).await;
    let browser = Browser::new(&app);
    let login_page = browser.get("/accedi").await;
    assert!(login_page.body.contains("Entra con CIE"), "{}", login_page.body);
    let back = through_provider(&browser, "/accedi/cie").await;
    assert_eq!(back.status, 303, "{}", back.body);
    let situation = browser.get("/situazione").await;
    assert_eq!(situation.status, 200);
    let audits = app.store.audit_of(&person, 5).await.unwrap();
    assert_eq!(audits[0].login_method.as_deref(), Some("cie"), "{audits:?}");
    let _ = federation;
}

#[tokio::test]
async fn a_provider_releasing_a_foreign_fiscal_number_opens_no_session() {
    let (app, federation, _dir) = portal("TINDE-RSSMRA80A01H501U", false).await;
    let browser = Browser::new(&app);
    let provider = url::form_urlencoded::byte_serialize(federation.provider().as_bytes()).collect::<String>();
    let back = through_provider(&browser, &format!("/accedi/spid?provider={provider}")).await;
    assert_eq!(back.status, 401, "{}", back.body);
    assert!(back.body.contains("Accesso non riuscito"));
    assert!(browser.cookie(SESSION).is_none());
}

#[tokio::test]
async fn an_acr_below_level_2_opens_no_session() {
    let person = cf(PROFESSIONISTA);
    let (app, federation, _dir) = portal(&format!("TINIT-{person}"), false).await;
    *federation.0.acr.lock().unwrap() = Level::L1.acr().to_owned();
    let browser = Browser::new(&app);
    let provider = url::form_urlencoded::byte_serialize(federation.provider().as_bytes()).collect::<String>();
    let back = through_provider(&browser, &format!("/accedi/spid?provider={provider}")).await;
    assert_eq!(back.status, 401, "{}", back.body);
    assert!(browser.cookie(SESSION).is_none());
}

#[tokio::test]
async fn a_callback_this_browser_did_not_start_or_replayed_opens_no_session() {
    let person = cf(PROFESSIONISTA);
    let (app, federation, _dir) = portal(&format!("TINIT-{person}"), false).await;
    let victim = Browser::new(&app);
    let provider = url::form_urlencoded::byte_serialize(federation.provider().as_bytes()).collect::<String>();
    let started = victim.get(&format!("/accedi/spid?provider={provider}")).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let back = client.get(&started.location).send().await.unwrap();
    let path = back.headers()["location"].to_str().unwrap().strip_prefix(CLIENT_ID).unwrap().to_owned();
    let attacker = Browser::new(&app);
    let page = attacker.get(&path).await;
    assert_eq!(page.status, 400, "another browser's callback: {}", page.body);
    assert!(attacker.cookie(SESSION).is_none());
    assert_eq!(victim.get(&path).await.status, 303, "the browser that started it logs in");
    let replay = victim.get(&path).await;
    assert_eq!(replay.status, 400, "the pending login was spent: {}", replay.body);
}

#[tokio::test]
async fn a_provider_outside_the_federation_is_refused_before_any_redirect() {
    let person = cf(PROFESSIONISTA);
    let (app, _federation, _dir) = portal(&format!("TINIT-{person}"), false).await;
    let page = Browser::new(&app).get("/accedi/spid?provider=https%3A%2F%2Fevil.example").await;
    assert_eq!(page.status, 401, "{}", page.body);
    assert!(page.location.is_empty());
}

#[tokio::test]
async fn a_trust_anchor_that_is_down_gives_503_with_retry_after_and_the_pin_login_stays() {
    let dir = tempfile::tempdir().unwrap();
    keys::generate(&dir.path().join("keys"), "20201207T000000Z", 2048).unwrap();
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let anchor = format!("http://{}/ta", closed.local_addr().unwrap());
    drop(closed);
    let jwks = serde_json::json!({"keys": []});
    let app = spawn_app_with(config(section(dir.path(), &anchor, &jwks, None))).await;
    let browser = Browser::new(&app);
    let login = browser.get("/accedi").await;
    assert_eq!(login.status, 200);
    assert!(login.body.contains("non è disponibile in questo momento") && login.body.contains("name=\"pin\""));
    let response = app.client.get(app.url("/accedi/spid?provider=https%3A%2F%2Fop.example")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert!(response.text().await.unwrap().contains("non risponde"));
}

#[tokio::test]
async fn the_entity_configuration_is_served_signed_by_the_federation_key() {
    let person = cf(PROFESSIONISTA);
    let (app, _federation, dir) = portal(&format!("TINIT-{person}"), false).await;
    let response = app.client.get(app.url("/.well-known/openid-federation")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/entity-statement+jwt");
    let token = response.text().await.unwrap();
    let ring = KeyRing::load(&dir.path().join("keys")).unwrap();
    let verified = sportello_federation::jose::verify(&token, &ring.federation.public().unwrap()).unwrap();
    assert_eq!(verified.claims["sub"], CLIENT_ID);
    assert_eq!(
        verified.claims["metadata"]["openid_relying_party"]["redirect_uris"][0],
        format!("{CLIENT_ID}/accedi/oidc/ritorno")
    );
}

#[tokio::test]
async fn an_operator_logs_in_with_spid_at_the_first_office_the_roster_lists_and_a_stranger_gets_no_session() {
    let operator = cf(crate::intermediaries::OPERATORE);
    let (app, federation, _dir) = portal(&format!("TINIT-{operator}"), false).await;
    let provider = url::form_urlencoded::byte_serialize(federation.provider().as_bytes()).collect::<String>();

    // Not on the roster: the provider vouches for the person, and no session of any kind is opened.
    let stranger = Browser::new(&app);
    let page = stranger.get("/intermediari/accedi").await;
    assert!(page.body.contains("/intermediari/accedi/spid?provider="), "{}", page.body);
    assert!(!page.body.contains("<script>"), "no inline script");
    let back = through_provider(&stranger, &format!("/intermediari/accedi/spid?provider={provider}")).await;
    assert_eq!(back.status, 403, "{}", back.body);
    assert!(stranger.cookie(crate::intermediaries::OPERATOR).is_none() && stranger.cookie(SESSION).is_none());

    // On the roster: an operator's session at the first office listed, by SPID; no citizen's session.
    crate::intermediaries::roster(&app, operator, &["INCA-RM01", "INCA-RM02"]).await;
    let browser = Browser::new(&app);
    let back = through_provider(&browser, &format!("/intermediari/accedi/spid?provider={provider}")).await;
    assert_eq!((back.status, back.location.as_str()), (303, "/intermediari"), "{}", back.body);
    assert!(browser.cookie(crate::intermediaries::OPERATOR).is_some());
    assert!(browser.cookie(SESSION).is_none(), "an operator's login opens no citizen's session");
    assert!(browser.cookie("__Host-sportello_oidc_intermediari").is_none(), "the mark is spent");
    let desk = browser.get("/intermediari").await;
    assert_eq!(desk.status, 200, "{}", desk.body);
    assert!(desk.body.contains("INCA-RM01"), "{}", desk.body);
    let id = browser.cookie(crate::intermediaries::OPERATOR).unwrap();
    let session = app.store.session(&sportello_usecases::sessions::hash_id(&id)).await.unwrap().unwrap();
    assert_eq!(
        (session.actor.as_str(), session.login_method.as_str()),
        (format!("intermediary:{operator}@INCA-RM01").as_str(), "spid_l2")
    );

    // The same person at the citizens' door is a citizen: the operators' mark is for its own login only.
    let citizen = Browser::new(&app);
    let back = through_provider(&citizen, &format!("/accedi/spid?provider={provider}")).await;
    assert_eq!((back.status, back.location.as_str()), (303, "/situazione"), "{}", back.body);
    assert!(citizen.cookie(crate::intermediaries::OPERATOR).is_none());
}

#[tokio::test]
async fn an_officer_logs_in_with_spid_only_to_the_account_naming_them_and_a_person_without_one_gets_no_session() {
    let officer = cf(crate::intermediaries::OPERATORE);
    let (app, federation, _dir) = portal(&format!("TINIT-{officer}"), false).await;
    let provider = url::form_urlencoded::byte_serialize(federation.provider().as_bytes()).collect::<String>();
    let start = format!("/ufficio/accedi/spid?provider={provider}");

    // The office's login page offers SPID beside the password, without inline script.
    let page = Browser::new(&app).get("/ufficio/accedi").await;
    assert!(page.body.contains("/ufficio/accedi/spid?provider="), "{}", page.body);
    assert!(!page.body.contains("<script>"), "no inline script");

    // No account names this person (an account with a password only does not count): no session of any kind.
    let hasher =
        sportello_usecases::pin::PinHasher::with_params(argon2::Params::new(64, 1, 1, None).unwrap(), 2).unwrap();
    let account = |username: &'static str, codice_fiscale| sportello_usecases::office::accounts::NewAccount {
        username,
        display_name: "Dott.ssa Anna Verdi",
        role: sportello_domain::principal::OfficerRole::Officer,
        password: "una password lunga abbastanza",
        codice_fiscale,
    };
    let add = |new| sportello_usecases::office::accounts::add(app.store.as_ref(), &hasher, new, app.clock.now());
    add(account("averdi", None)).await.unwrap();
    let stranger = Browser::new(&app);
    let back = through_provider(&stranger, &start).await;
    assert_eq!(back.status, 403, "{}", back.body);
    assert!(back.body.contains("nessuna utenza"), "{}", back.body);
    assert!(stranger.cookie("__Host-sportello_office").is_none() && stranger.cookie(SESSION).is_none());

    // Named by an account: that account's office session, and no citizen's or operator's.
    add(account("anna.verdi", Some(officer))).await.unwrap();
    let browser = Browser::new(&app);
    let back = through_provider(&browser, &start).await;
    assert_eq!((back.status, back.location.as_str()), (303, "/ufficio"), "{}", back.body);
    assert!(browser.cookie(SESSION).is_none() && browser.cookie(crate::intermediaries::OPERATOR).is_none());
    assert!(browser.cookie("__Host-sportello_oidc_ufficio").is_none(), "the mark is spent");
    let home = browser.get("/ufficio").await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("Dott.ssa Anna Verdi"), "{}", home.body);
    // What the officer looks at is audited with the door they came through.
    let subject = cf(PROFESSIONISTA);
    let case = browser.get(&format!("/ufficio/pratica?q={subject}&motivo=reclamo%20n.%2017")).await;
    assert_eq!(case.status, 200, "{}", case.body);
    let rows = app.store.audit_of(&subject, 10).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| (r.action.as_str(), r.login_method.as_deref())).collect::<Vec<_>>(),
        [("office_view_case", Some("spid_l2"))]
    );

    // The same person at the citizens' door is a citizen, and at the operators' door nobody's operator.
    let citizen = Browser::new(&app);
    let back = through_provider(&citizen, &format!("/accedi/spid?provider={provider}")).await;
    assert_eq!((back.status, back.location.as_str()), (303, "/situazione"), "{}", back.body);
    assert!(citizen.cookie("__Host-sportello_office").is_none());
    let back = through_provider(&Browser::new(&app), &format!("/intermediari/accedi/spid?provider={provider}")).await;
    assert_eq!(back.status, 403, "not on the intermediaries' roster: {}", back.body);

    // A disabled account opens nothing, whatever the provider says.
    let id = app.store.officer_by_codice_fiscale(&officer).await.unwrap().unwrap().id;
    app.store.disable_officer(id, app.clock.now()).await.unwrap();
    let back = through_provider(&Browser::new(&app), &start).await;
    assert_eq!(back.status, 403, "{}", back.body);
}
