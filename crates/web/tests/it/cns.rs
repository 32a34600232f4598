//! Logging in with a card's certificate (CNS, CIE) on the listener of its own: cards made in the test with rcgen —
//! a CA of the trust list, a CNS holder, a CIE holder, an expired card, a card of another CA, a certificate without
//! the CNS policy, one without a codice fiscale — presented by reqwest over TLS 1.2 and 1.3. The TLS layer refuses
//! what does not chain to the trust list or is out of date; the page refuses the rest and says what to do.

use std::net::SocketAddr;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, date_time_ymd,
};
use sportello_web::auth::cns::CnsSection;
use sportello_web::config::Config;

use crate::support::{Browser, PROFESSIONISTA, SESSION, TestApp, cf, spawn_app_with};

const PORTAL: &str = "https://sportello.test.example";
/// 1.3.76.16.2.1, the CNS authentication certificates' policy, as DER content octets.
const CNS_POLICY: &[u8] = &[0x2B, 0x4C, 0x10, 0x02, 0x01];
/// 1.3.76.47.4, the CIE's.
const CIE_POLICY: &[u8] = &[0x2B, 0x4C, 0x2F, 0x04];
/// 1.3.6.1.4.1.99999.1, a policy of nobody's cards.
const OTHER_POLICY: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x86, 0x8D, 0x1F, 0x01];

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// The certificatePolicies extension with one policy.
fn policies(oid: &[u8]) -> CustomExtension {
    let info = [&[0x06, oid.len() as u8][..], oid].concat();
    let one = [&[0x30, info.len() as u8][..], &info].concat();
    CustomExtension::from_oid_content(&[2, 5, 29, 32], [&[0x30, one.len() as u8][..], &one].concat())
}

/// A card's authentication certificate and key, PEM, as reqwest takes an identity.
fn card(
    issuer: &CertifiedIssuer<'static, KeyPair>,
    subject: &[(DnType, String)],
    policy: &[u8],
    expired: bool,
) -> String {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    for (kind, value) in subject {
        params.distinguished_name.push(kind.clone(), value.clone());
    }
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.custom_extensions = vec![policies(policy)];
    if expired {
        (params.not_before, params.not_after) = (date_time_ymd(2019, 1, 1), date_time_ymd(2020, 1, 1));
    }
    let key = KeyPair::generate().unwrap();
    let certificate = params.signed_by(&key, issuer).unwrap();
    format!("{}{}", certificate.pem(), key.serialize_pem())
}

/// A CNS card's subject: the codice fiscale, the card number and a hash in the common name.
fn cns_subject(codice_fiscale: &str) -> Vec<(DnType, String)> {
    vec![
        (DnType::CommonName, format!("{codice_fiscale}/7430010024925855.lsKVlNtBAmc8x5lzSbcxx2UzE=")),
        (DnType::OrganizationalUnitName, "Regione di prova".to_owned()),
        (DnType::CountryName, "IT".to_owned()),
    ]
}

struct Cards {
    app: TestApp,
    url: String,
    listener_ca: reqwest::Certificate,
    trusted: CertifiedIssuer<'static, KeyPair>,
    _dir: tempfile::TempDir,
}

/// A portal with a CNS listener on a port of its own, trusting one card CA.
async fn portal() -> Cards {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let listener_ca = ca("CA del portale di prova");
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "localhost");
    let key = KeyPair::generate().unwrap();
    let listener = params.signed_by(&key, &listener_ca).unwrap();
    let trusted = ca("CA CNS di prova");
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let config = Config {
        cns: Some(CnsSection {
            listen: SocketAddr::from(([127, 0, 0, 1], port)),
            url: format!("https://localhost:{port}"),
            portal_url: PORTAL.to_owned(),
            certificate: write("listener.pem", &listener.pem()),
            key: write("listener.key", &key.serialize_pem()),
            trust_list: write("trust-list.pem", &trusted.pem()),
            policies: vec!["1.3.76.16.2.1".to_owned(), "1.3.76.47.4".to_owned()],
        }),
        ..Config::default()
    };
    let app = spawn_app_with(config).await;
    let listener_ca = reqwest::Certificate::from_pem(listener_ca.pem().as_bytes()).unwrap();
    Cards { app, url: format!("https://localhost:{port}"), listener_ca, trusted, _dir: dir }
}

impl Cards {
    /// A client of the CNS listener presenting `identity` (PEM certificate and key), or no certificate.
    fn client(&self, identity: Option<&str>, tls12: bool) -> reqwest::Client {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .tls_certs_only([self.listener_ca.clone()])
            .resolve("localhost", SocketAddr::from(([127, 0, 0, 1], 0)));
        if let Some(pem) = identity {
            builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
        }
        if tls12 {
            builder = builder.tls_version_max(reqwest::tls::Version::TLS_1_2);
        }
        builder.build().unwrap()
    }

    async fn login(&self, identity: Option<&str>, tls12: bool) -> Result<reqwest::Response, reqwest::Error> {
        self.client(identity, tls12).get(format!("{}/accedi/cns", self.url)).send().await
    }
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response.headers().get_all("set-cookie").iter().find_map(|v| {
        let text = v.to_str().ok()?;
        let pair = text.split(';').next()?;
        let (name, value) = pair.split_once('=')?;
        (name == SESSION && !value.is_empty()).then(|| value.to_owned())
    })
}

async fn wait_for_listener(cards: &Cards) {
    for _ in 0..50 {
        if cards.login(None, false).await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the CNS listener does not answer at {}", cards.url);
}

#[tokio::test]
async fn a_cns_holder_logs_in_with_the_card_over_tls_1_2_and_sees_their_own_situation() {
    let cards = portal().await;
    wait_for_listener(&cards).await;
    let login = Browser::new(&cards.app).get("/accedi").await;
    assert!(login.body.contains(&format!("href=\"{}/accedi/cns\"", cards.url)), "{}", login.body);
    let holder = cf(PROFESSIONISTA);
    let identity = card(&cards.trusted, &cns_subject(holder.as_str()), CNS_POLICY, false);
    let response = cards.login(Some(&identity), true).await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], format!("{PORTAL}/situazione").as_str());
    let id = session_cookie(&response).expect("a session");
    let session = cards.app.store.session(&sportello_usecases::sessions::hash_id(&id)).await.unwrap().unwrap();
    assert_eq!((session.actor.as_str(), session.login_method.as_str()), (format!("citizen:{holder}").as_str(), "cns"));
    // The same session on the portal's own address: the holder's page.
    let browser = Browser::new(&cards.app);
    browser.set_cookie(SESSION, &id);
    let page = browser.get("/situazione").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(holder.as_str()), "{}", page.body);
}

#[tokio::test]
async fn a_cie_certificate_names_its_holder_by_serial_number() {
    let cards = portal().await;
    wait_for_listener(&cards).await;
    let holder = cf(PROFESSIONISTA);
    let subject = vec![
        (DnType::CommonName, "MARIO ROSSI".to_owned()),
        (DnType::CustomDnType(vec![2, 5, 4, 5]), format!("TINIT-{holder}")),
        (DnType::CountryName, "IT".to_owned()),
    ];
    let identity = card(&cards.trusted, &subject, CIE_POLICY, false);
    let response = cards.login(Some(&identity), false).await.unwrap();
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    let id = session_cookie(&response).expect("a session");
    let session = cards.app.store.session(&sportello_usecases::sessions::hash_id(&id)).await.unwrap().unwrap();
    assert_eq!(session.actor, format!("citizen:{holder}"));
}

#[tokio::test]
async fn bad_cards_are_refused_by_the_tls_layer_or_by_a_page_and_open_no_session() {
    let cards = portal().await;
    wait_for_listener(&cards).await;
    let holder = cf(PROFESSIONISTA);

    // Refused in the handshake: no page can be shown to a connection the TLS layer did not accept.
    let expired = card(&cards.trusted, &cns_subject(holder.as_str()), CNS_POLICY, true);
    assert!(cards.login(Some(&expired), false).await.is_err(), "an expired card");
    let stranger = ca("CA di nessuno");
    let foreign = card(&stranger, &cns_subject(holder.as_str()), CNS_POLICY, false);
    assert!(cards.login(Some(&foreign), false).await.is_err(), "a card of a CA not in the trust list");

    // Accepted by TLS, refused by the page, which says what to do.
    let none = cards.login(None, false).await.unwrap();
    assert_eq!(none.status(), 401);
    assert!(session_cookie(&none).is_none());
    assert!(none.text().await.unwrap().contains("Inserisca la CNS"));
    let other = card(&cards.trusted, &cns_subject(holder.as_str()), OTHER_POLICY, false);
    let refused = cards.login(Some(&other), false).await.unwrap();
    assert_eq!(refused.status(), 403, "not a CNS or CIE authentication certificate");
    assert!(session_cookie(&refused).is_none());
    assert!(refused.text().await.unwrap().contains("Certificato non utilizzabile"));
    let nameless = vec![(DnType::CommonName, "Mario Rossi".to_owned())];
    let nameless = card(&cards.trusted, &nameless, CNS_POLICY, false);
    let refused = cards.login(Some(&nameless), false).await.unwrap();
    assert_eq!(refused.status(), 403, "no codice fiscale");
    assert!(session_cookie(&refused).is_none());

    // The main address never asks for a certificate, and its /accedi/cns opens nothing.
    let plain = Browser::new(&cards.app).get("/accedi/cns").await;
    assert_eq!(plain.status, 401, "{}", plain.body);
}
