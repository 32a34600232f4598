//! Art. 31 DL 18/2020 on the pages and the API: once an application holds the citizen's one indemnity, no other is
//! offered, and reaching another's form anyway is refused at once with a way forward.

use serde_json::Value;
use sportello_domain::CodiceFiscale;
use sportello_domain::registry::{Position, PositionKind, RegistryRow};

use crate::support::{TEST_PIN, apply, assert_private, cf, csrf_of, pairs, spawn_app};

/// A professional of the Gestione separata (art. 27) who also worked 60 days on farms in 2019 (art. 30).
const PROFESSIONISTA_E_BRACCIANTE: &str = "VRDLCU80A01H501";

fn entitled_to_art27_and_art30(codice_fiscale: CodiceFiscale) -> Vec<RegistryRow> {
    let day = chrono::NaiveDate::from_ymd_opt(2015, 3, 1).unwrap();
    let farm =
        Position { year: Some(2019), days: Some(60), ..Position::period(PositionKind::OperaioAgricoloTd, day, None) };
    let farm = Position { start: None, ..farm };
    vec![
        RegistryRow {
            codice_fiscale,
            position: Position::period(PositionKind::GestioneSeparataProfessionista, day, None),
        },
        RegistryRow { codice_fiscale, position: farm },
    ]
}

/// The links of `html`'s `href` attributes.
fn links(html: &str) -> Vec<&str> {
    html.split("href=\"").skip(1).filter_map(|rest| rest.split('"').next()).collect()
}

#[tokio::test]
async fn after_an_accepted_art27_art30_is_not_offered_and_its_form_is_refused_at_once() {
    let app = spawn_app().await;
    let me = cf(PROFESSIONISTA_E_BRACCIANTE);
    app.import_registry(entitled_to_art27_and_art30(me)).await;
    let browser = app.logged_in(&me).await;

    let before = browser.get("/situazione").await;
    let offered: Vec<_> = links(&before.body).into_iter().filter(|l| l.starts_with("/domanda?")).collect();
    assert_eq!(
        offered,
        ["/domanda?scheme=art27", "/domanda?scheme=art30", "/domanda?scheme=art84c2"],
        "entitled to both of March, either is offered; May's is a month of its own"
    );

    let (submitted, _) = apply(&browser, "art27").await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    let receipt = submitted.location.clone();
    let protocol = receipt.trim_start_matches("/domande/").to_owned();

    let after = browser.get("/situazione").await;
    assert_eq!(after.status, 200);
    assert_private(&after);
    let offered: Vec<_> = links(&after.body).into_iter().filter(|l| l.starts_with("/domanda?")).collect();
    assert_eq!(offered, ["/domanda?scheme=art84c2"], "nothing more for March; May's still: {}", after.body);
    assert!(
        after.body.contains("Non serve la domanda: l&#39;INPS Le paga questa indennità"),
        "April's follows March's art. 27 without an application: {}",
        after.body
    );
    assert!(after.body.contains(&format!("Con la domanda n. {protocol} Le è stata riconosciuta")), "{}", after.body);
    assert!(after.body.contains("non sono cumulabili (art. 31 c. 1)"), "why, with the article");
    assert!(links(&after.body).contains(&receipt.as_str()), "the application is linked");

    // A typed address or an old tab: refused on the form itself, with the way on.
    for (scheme, title) in [("art30", "Indennità non cumulabile"), ("art27", "Domanda già presentata")] {
        let form = browser.get(&format!("/domanda?scheme={scheme}")).await;
        assert_eq!(form.status, 409, "{scheme}: {}", form.body);
        assert_private(&form);
        assert!(form.body.contains(title), "{scheme}");
        assert_eq!(
            form.body.contains(
                "Non può presentare la domanda per l&#39;«Indennità lavoratori del settore agricolo» (art. 30 c. 1)."
            ),
            scheme == "art30",
            "{scheme}: names what was refused: {}",
            form.body
        );
        assert!(!form.body.contains("name=\"iban\""), "{scheme}: no form to fill in");
        let way = links(&form.body);
        for expected in [receipt.as_str(), "/domande", "/situazione"] {
            assert!(way.contains(&expected), "{scheme}: no link to {expected}: {way:?}");
        }
    }
    let english = browser.get("/domanda?scheme=art30&lang=en").await;
    assert_eq!(english.status, 409);
    assert!(english.body.contains("cannot be combined (art. 31 c. 1)") && english.body.contains("/situazione?lang=en"));

    // A form opened before the first application was sent: its review is refused too, and nothing is stored.
    let csrf = csrf_of(&browser.get("/situazione").await.body);
    let stale: Vec<(String, String)> = [
        ("csrf", csrf.as_str()),
        ("scheme", "art30"),
        ("idempotency_key", "0123456789abcdef0123456789abcdef"),
        ("payment", "domiciliato"),
        ("email", "mario.rossi@example.it"),
        ("not_pension_holder", "si"),
        ("not_reddito_di_cittadinanza", "si"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let review = browser.post("/domanda", &pairs(&stale)).await;
    assert_eq!(review.status, 409, "{}", review.body);
    let submit = browser.post("/domanda/invia", &pairs(&stale)).await;
    assert_eq!(submit.status, 409, "{}", submit.body);
    assert!(links(&submit.body).contains(&"/situazione"), "the store's refusal has the way on as well");
    assert_eq!(app.store.applications_of(&me).await.unwrap().len(), 1);

    // The API says the same.
    let login = serde_json::json!({"codice_fiscale": me.as_str(), "pin": &TEST_PIN[..8]});
    let session = app.client.post(app.url("/api/v1/sessions")).json(&login).send().await.unwrap();
    let token = session.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let situation: Value =
        app.client.get(app.url("/api/v1/situation")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(situation["holding"]["protocol"], protocol.as_str());
    assert_eq!(situation["holding"]["scheme"], "art27");
    for scheme in situation["schemes"].as_array().unwrap() {
        let may = scheme["scheme"] == "art84c2";
        assert_eq!(scheme["may_apply"], may, "only May's, a month of its own, may be applied for: {scheme}");
    }
    let art30 = situation["schemes"].as_array().unwrap().iter().find(|s| s["scheme"] == "art30").unwrap();
    assert_eq!(art30["eligible"], true, "still entitled by the registry, only not cumulable");
}

#[tokio::test]
async fn an_annulled_or_rejected_application_holds_nothing() {
    use sqlx::Connection;

    let app = spawn_app().await;
    let me = cf(PROFESSIONISTA_E_BRACCIANTE);
    app.import_registry(entitled_to_art27_and_art30(me)).await;
    let browser = app.logged_in(&me).await;
    let (submitted, _) = apply(&browser, "art27").await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    // Annulled by the rightful person: the status the store gives it.
    let mut db = sqlx::SqliteConnection::connect(&app.database_url).await.unwrap();
    sqlx::query("UPDATE applications SET status = 'annulled'").execute(&mut db).await.unwrap();

    let situation = browser.get("/situazione").await;
    assert!(situation.body.contains("/domanda?scheme=art30"), "{}", situation.body);
    assert!(!situation.body.contains("non sono cumulabili (art. 31 c. 1)"));
    assert_eq!(browser.get("/domanda?scheme=art30").await.status, 200);
    let (again, _) = apply(&browser, "art30").await;
    assert_eq!(again.status, 303, "{}", again.body);
}
