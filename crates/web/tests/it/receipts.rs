//! Receipts (issue 14, item 9) and the frame around every page (item 10): what a receipt says for each outcome,
//! the receipt sent to the contact given once per application, the header's logout and the page after it, and the
//! status page with or without a waiting room.

use std::time::Duration;

use serde_json::json;
use sportello_domain::CodiceFiscale;
use sportello_store::{FirstHalfTo, NewPin, OutboxMessage};
use sportello_web::config::Config;

use crate::support::{
    Browser, PENSIONATA, PROFESSIONISTA, TEST_PIN, TestApp, apply, apply_with, assert_private, cf, csrf_of, pairs,
    spawn_app, spawn_app_with,
};

/// The portal announcing payment runs on `run_dates`.
async fn spawn_with_runs(run_dates: &[&str]) -> TestApp {
    let mut config = Config::default();
    config.limits.per_address_per_minute = 1_000_000;
    config.limits.per_address_burst = 1_000_000;
    config.payments.run_dates = run_dates.iter().map(|d| (*d).to_owned()).collect();
    spawn_app_with(config).await
}

/// A run date a year from the test clock's today, and how the pages write it.
fn a_year_ahead(app: &TestApp) -> (String, String) {
    let day = (app.clock.now() + chrono::TimeDelta::days(365)).date_naive();
    (day.format("%Y-%m-%d").to_string(), day.format("%d/%m/%Y").to_string())
}

/// Messages sent to `recipient` once the outbox has had time for a few rounds more (it pauses 0.5 s when idle).
async fn settled_messages(app: &TestApp, recipient: &str, at_least: usize) -> usize {
    app.wait_for_messages(recipient, at_least).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    app.delivered_to(recipient).len()
}

#[tokio::test]
async fn an_accepted_receipt_shows_the_amount_the_declarations_and_the_next_payment_run() {
    let app = spawn_with_runs(&[]).await;
    let (run, run_shown) = a_year_ahead(&app);
    drop(app);
    let app = spawn_with_runs(&["2020-04-15", &run]).await;
    let browser = app.logged_in(&cf(PROFESSIONISTA)).await;
    let (submitted, _) = apply(&browser, "art27").await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);

    let receipt = browser.get(&submitted.location).await;
    assert_eq!(receipt.status, 200);
    assert_private(&receipt);
    for expected in [
        "600,00 €",
        "di non essere titolare di pensione (art. 27 c. 1)",
        "di non essere iscritto ad altre forme previdenziali obbligatorie (art. 27 c. 1)",
        "di non percepire il reddito di cittadinanza (art. 31 c. 1)",
        "DPR 445/2000",
        &format!("{run_shown} (prossima data di pagamento)"),
        "data-print hidden",
        "/print.js",
    ] {
        assert!(receipt.body.contains(expected), "{expected} missing from the receipt:\n{}", receipt.body);
    }
    assert!(!receipt.body.contains("15/04/2020"), "a run before the acceptance is not the next one");
    assert!(!receipt.body.contains("riesame"), "an accepted application has nothing to review");

    let english = browser.get(&format!("{}?lang=en", submitted.location)).await;
    for expected in ["€600.00", "I do not hold a pension (art. 27 c. 1)", &format!("{run_shown} (next payment date)")]
    {
        assert!(english.body.contains(expected), "{expected} missing from the English receipt");
    }
    assert!(!english.body.contains("600,00"), "English pages write €600.00");
}

#[tokio::test]
async fn without_a_run_the_receipt_says_the_date_will_be_communicated() {
    let app = spawn_app().await;
    let browser = app.logged_in(&cf(PROFESSIONISTA)).await;
    let (submitted, _) = apply(&browser, "art27").await;
    let receipt = browser.get(&submitted.location).await;
    assert!(receipt.body.contains("sarà comunicata"), "{}", receipt.body);
}

#[tokio::test]
async fn a_rejected_receipt_gives_the_way_the_office_and_the_term_to_ask_for_review() {
    let app = spawn_with_runs(&["2099-04-15"]).await;
    let browser = app.logged_in(&cf(PENSIONATA)).await;
    let (submitted, _) = apply(&browser, "art27").await;
    let receipt = browser.get(&submitted.location).await;
    // Twenty days from the day of submission in Italy: between 23:00 and midnight UTC that is already tomorrow.
    let submitted_on = app.clock.now().with_timezone(&chrono_tz::Europe::Rome).date_naive();
    let deadline = (submitted_on + chrono::Days::new(20)).format("%d/%m/%Y").to_string();
    for expected in ["Respinta", "Come chiedere il riesame", "sede INPS", &format!("entro il {deadline}"), "giudice"] {
        assert!(receipt.body.contains(expected), "{expected} missing from the rejection:\n{}", receipt.body);
    }
    assert!(!receipt.body.contains("Data di pagamento"), "nothing is to be paid");
}

/// Logs `codice_fiscale` in with the first half of a PIN that went to a contact not on file: what they submit is
/// held for payment until they confirm who they are.
async fn logged_in_unconfirmed<'a>(app: &'a TestApp, codice_fiscale: &CodiceFiscale) -> Browser<'a> {
    let now = app.clock.now();
    let pin = NewPin {
        codice_fiscale: *codice_fiscale,
        slot: sportello_web::pin::EnteredPin::parse(TEST_PIN).unwrap().slot(),
        full_hash: app.hasher.hash_blocking(TEST_PIN.to_owned()).await.unwrap(),
        simplified_hash: app.hasher.hash_blocking(TEST_PIN[..8].to_owned()).await.unwrap(),
        issued_at: now,
        first_half_to: FirstHalfTo::Given,
    };
    let delivery = OutboxMessage {
        channel: "email".to_owned(),
        recipient: "someone@example.it".to_owned(),
        subject: "PIN".to_owned(),
        body: TEST_PIN[..8].to_owned(),
        not_before: now,
    };
    assert!(app.store.put_pin(pin, &[delivery]).await.unwrap());
    let browser = Browser::new(app);
    assert_eq!(browser.login(codice_fiscale.as_str(), &TEST_PIN[..8]).await.status, 303);
    browser
}

#[tokio::test]
async fn a_receipt_held_for_identity_says_payment_waits_for_confirmation() {
    let app = spawn_with_runs(&["2099-04-15"]).await;
    let browser = logged_in_unconfirmed(&app, &cf(PROFESSIONISTA)).await;
    let (submitted, _) = apply(&browser, "art27").await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    let receipt = browser.get(&submitted.location).await;
    for expected in [
        "Pagamento sospeso fino alla conferma della Sua identità",
        "la prima data di pagamento dopo che Lei avrà confermato la Sua identità",
        "600,00 €",
    ] {
        assert!(receipt.body.contains(expected), "{expected} missing from the held receipt:\n{}", receipt.body);
    }
    assert!(!receipt.body.contains("15/04/2099"), "no run date is promised before the confirmation");
}

#[tokio::test]
async fn the_receipt_goes_once_to_the_contact_given_and_not_again_for_a_resubmission() {
    let app = spawn_with_runs(&["2099-04-15"]).await;
    let browser = app.logged_in(&cf(PROFESSIONISTA)).await;
    let (submitted, confirm) = apply(&browser, "art27").await;
    let protocol = submitted.location.trim_start_matches("/domande/").to_owned();
    let again = browser.post("/domanda/invia", &pairs(&confirm)).await;
    assert_eq!(again.location, submitted.location, "the same application");

    assert_eq!(settled_messages(&app, "mario.rossi@example.it", 1).await, 1, "one receipt for one application");
    let message = &app.delivered_to("mario.rossi@example.it")[0];
    assert!(message.subject.contains(&protocol), "{}", message.subject);
    for expected in ["600,00 €", "Accolta", "15/04/2099", "di non essere titolare di pensione", "3456"] {
        assert!(message.body.contains(expected), "{expected} missing from the message:\n{}", message.body);
    }
    assert!(!message.body.contains(PROFESSIONISTA), "the message carries no codice fiscale");
    assert!(!message.body.contains("X054"), "nor more of the IBAN than its last four characters");
}

#[tokio::test]
async fn a_receipt_goes_by_text_message_when_only_a_mobile_number_is_given() {
    let app = spawn_app().await;
    let browser = app.logged_in(&cf(PENSIONATA)).await;
    let (submitted, _) = apply_with(&browser, "art27", |form| {
        for (name, value) in form.iter_mut() {
            match name.as_str() {
                "email" => value.clear(),
                "mobile" => *value = "+393331234567".to_owned(),
                _ => {}
            }
        }
    })
    .await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    let messages = app.wait_for_messages("+393331234567", 1).await;
    assert_eq!(messages[0].channel.as_str(), "sms");
    assert!(messages[0].body.contains("Respinta") && messages[0].body.len() < 400, "{}", messages[0].body);
}

#[tokio::test]
async fn the_api_sends_the_receipt_once_per_application_too() {
    let app = spawn_app().await;
    let me = cf(PROFESSIONISTA);
    app.logged_in(&me).await;
    let http = reqwest::Client::new();
    let session = http
        .post(app.url("/api/v1/sessions"))
        .json(&json!({"codice_fiscale": me.as_str(), "pin": &TEST_PIN[..8]}))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), 201);
    let token = session.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let body = json!({
        "scheme": "art27",
        "payment": {"method": "domiciliato"},
        "contact": {"email": "api.citizen@example.it"},
        "declarations": {"not_pension_holder": true, "no_other_compulsory_scheme": true,
                         "not_reddito_di_cittadinanza": true}
    });
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let answer = http
            .post(app.url("/api/v1/applications"))
            .bearer_auth(&token)
            .header("Idempotency-Key", "receipt-once")
            .header("Accept-Language", "en")
            .json(&body)
            .send()
            .await
            .unwrap();
        statuses.push(answer.status().as_u16());
    }
    assert_eq!(statuses, [201, 200], "created, then the same receipt");
    assert_eq!(settled_messages(&app, "api.citizen@example.it", 1).await, 1, "one receipt for one application");
    let message = &app.delivered_to("api.citizen@example.it")[0];
    assert!(message.body.contains("Cash at a post office") && message.body.contains("€600.00"), "{}", message.body);
}

#[tokio::test]
async fn the_header_names_who_is_logged_in_and_logging_out_leads_to_a_confirmation() {
    let app = spawn_app().await;
    let me = cf(PROFESSIONISTA);
    let browser = app.logged_in(&me).await;

    let mine = browser.get("/domande").await;
    assert!(mine.body.contains("id=\"header-viewer\"") && mine.body.contains(me.as_str()), "{}", mine.body);
    let home = Browser::new(&app).get("/").await;
    assert!(!home.body.contains("header-viewer"), "a public page names nobody");

    let out = browser.post("/esci", &[("csrf", &csrf_of(&mine.body))]).await;
    assert_eq!((out.status, out.location.as_str()), (303, "/uscita"));
    let confirmation = browser.get(&out.location).await;
    assert_eq!(confirmation.status, 200);
    assert!(confirmation.body.contains("Sessione chiusa"), "{}", confirmation.body);
    assert!(!confirmation.body.contains(me.as_str()) && !confirmation.body.contains("header-viewer"));
    assert!(confirmation.cache_control.starts_with("public"), "it names nobody: {}", confirmation.cache_control);
    assert_eq!(browser.get("/domande").await.status, 303, "the session is over");

    let english = browser.get("/uscita?lang=en").await;
    assert!(english.body.contains("You have logged out"), "{}", english.body);
}

#[tokio::test]
async fn the_status_page_is_there_without_a_waiting_room_in_plain_words() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    let page = browser.get("/stato").await;
    assert_eq!(page.status, 200);
    assert!(page.cache_control.starts_with("public"), "{}", page.cache_control);
    assert!(page.body.contains("Il portale è aperto"), "{}", page.body);
    for technical in ["[gate]", "sha256sum", "xxd", "echo ", "sportello "] {
        assert!(!page.body.contains(technical), "{technical} shown to citizens");
    }
    let json = reqwest::Client::new().get(app.url("/stato")).header("accept", "application/json").send().await.unwrap();
    assert!(json.headers()["vary"].to_str().unwrap().contains("Accept"));
    assert_eq!(json.json::<serde_json::Value>().await.unwrap(), json!([]), "no room, no queue");
    let home = browser.get("/").await;
    assert!(home.body.contains("href=\"/stato\""), "every page's footer links to it");

    // What the portal receives, for everyone to see: counts only, read afresh every few seconds.
    assert!(page.body.contains("id=\"received-hour\">0<"), "nothing yet: {}", page.body);
    for n in 1..=3 {
        app.application_of(cf(&format!("RSSMRA80A0{n}H501")), &format!("stato-{n}")).await;
    }
    tokio::time::sleep(sportello_web::throughput::KEEP).await;
    let page = browser.get("/stato").await;
    assert!(page.body.contains("id=\"received-hour\">3<"), "{}", page.body);
    let english = browser.get("/stato?lang=en").await;
    assert!(english.body.contains("Per second, over the last minute"), "{}", english.body);
}

#[tokio::test]
async fn my_applications_show_their_status_on_a_phone_as_well_as_in_the_table() {
    let app = spawn_app().await;
    let browser = app.logged_in(&cf(PROFESSIONISTA)).await;
    apply(&browser, "art27").await;
    let mine = browser.get("/domande").await;
    let narrow = &mine.body[mine.body.find("applications-list").expect("the list for narrow screens")..];
    assert!(narrow.contains("Accolta, importo riservato"), "the status in the narrow list: {narrow}");
    assert!(mine.body.contains("d-none d-md-table"), "the table only on wide screens");
}
