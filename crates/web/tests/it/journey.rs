//! The whole journey of one citizen in one test, as the portal's users live it: ask for a PIN, read it from the
//! message the outbox delivered, log in, see the decision, apply, get the receipt, find it in "Le mie domande",
//! submit again and get the same receipt, try a second indemnity and be refused (art. 31 DL 18/2020).

use chrono::NaiveDate;
use sportello_domain::registry::{Cessation, Position, PositionKind, RegistryRow};

use crate::support::{Browser, apply_with, assert_private, cf, pairs, pin_half, spawn_app};

/// A seasonal tourism worker whose job ended against their will in 2019 and who also worked 80 days on a farm in
/// 2019: entitled under art. 29 and art. 30, but art. 31 allows only one of them.
fn seasonal_and_farm_worker(first15: &str) -> Vec<RegistryRow> {
    let codice_fiscale = cf(first15);
    let day = |m, d| NaiveDate::from_ymd_opt(2019, m, d).unwrap();
    let seasonal = Position {
        start: Some(day(5, 1)),
        end: Some(day(9, 30)),
        cessation: Some(Cessation::Involuntary),
        ..Position::period(PositionKind::StagionaleTurismo, day(5, 1), None)
    };
    let farm = Position {
        start: None,
        year: Some(2019),
        days: Some(80),
        ..Position::period(PositionKind::OperaioAgricoloTd, day(1, 1), None)
    };
    vec![RegistryRow { codice_fiscale, position: seasonal }, RegistryRow { codice_fiscale, position: farm }]
}

/// Choose cash at a post office instead of a transfer.
fn at_the_post_office(form: &mut [(String, String)]) {
    for (name, value) in form.iter_mut() {
        match name.as_str() {
            "payment" => *value = "domiciliato".to_owned(),
            "iban" => value.clear(),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_citizen_goes_from_pin_request_to_receipt_and_cannot_take_a_second_indemnity() {
    let app = spawn_app().await;
    let me = "VRDLCU85M41F839";
    app.import_registry(seasonal_and_farm_worker(me)).await;
    let me = cf(me);

    // The PIN: asked for on the portal, its first half delivered through the outbox.
    let browser = Browser::new(&app);
    let asked = browser.request_pin(me.as_str(), "lucia.verdi@example.it").await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    let messages = app.wait_for_messages("lucia.verdi@example.it", 1).await;
    let pin = pin_half(&messages[0].body);

    let login = browser.login(me.as_str(), &pin).await;
    assert_eq!((login.status, login.location.as_str()), (303, "/situazione"), "{}", login.body);

    let situation = browser.get("/situazione").await;
    assert_eq!(situation.status, 200);
    assert_private(&situation);
    assert!(situation.body.contains(me.as_str()));
    for offered in ["/domanda?scheme=art29", "/domanda?scheme=art30"] {
        assert!(situation.body.contains(offered), "the decision offers {offered}");
    }
    assert!(situation.body.contains("art. 29 c. 1") && situation.body.contains("art. 30 c. 1"));

    let (submitted, confirm) = apply_with(&browser, "art29", at_the_post_office).await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    let receipt_at = submitted.location;
    let protocol = receipt_at.trim_start_matches("/domande/").to_owned();
    let receipt = browser.get(&receipt_at).await;
    assert_eq!(receipt.status, 200);
    assert_private(&receipt);
    assert!(receipt.body.contains(&protocol) && receipt.body.contains("Accolta"), "{}", receipt.body);

    let mine = browser.get("/domande").await;
    assert!(mine.body.contains(&format!("href=\"/domande/{protocol}\"")));

    // The same confirmation sent again (a double click, a retry): the same receipt.
    assert!(confirm.iter().any(|(k, v)| k == "payment" && v == "domiciliato"), "cash at a post office");
    let again = browser.post("/domanda/invia", &pairs(&confirm)).await;
    assert_eq!((again.status, again.location.as_str()), (303, receipt_at.as_str()));

    // Entitled to art. 30 too, but art. 31 forbids cumulating: no longer offered, and its form refused at once,
    // naming the first application.
    let after = browser.get("/situazione").await;
    assert!(!after.body.contains("/domanda?scheme=art30"), "{}", after.body);
    let refusal = browser.get("/domanda?scheme=art30").await;
    assert_eq!(refusal.status, 409, "{}", refusal.body);
    assert!(refusal.body.contains(&protocol) && refusal.body.contains("art. 31"), "{}", refusal.body);

    let stored = app.store.applications_of(&me).await.unwrap();
    assert_eq!(stored.len(), 1, "one application, however often and for whatever the person asked");
    assert_eq!((stored[0].scheme.as_str(), stored[0].protocol.as_str()), ("art29", protocol.as_str()));
}
