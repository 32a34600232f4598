//! A stranger who knows a codice fiscale asks for a PIN in that person's name (docs/SECURITY.md, "INPS PIN"): the
//! request never revokes the person's PIN in use; a contact on file gets the first half and the stranger nothing;
//! without a contact on file the stranger's half works, but what it submits is held for payment until the full PIN
//! (whose second half is posted to the residence) confirms it, and the rightful person can annul it.

use sportello_domain::ProtocolNumber;
use sportello_store::ApplicationStatus;

use crate::support::{Browser, PROFESSIONISTA, SESSION, TEST_PIN, TestApp, apply, cf, csrf_of, pin_half, spawn_app};

const STRANGER: &str = "stranger@example.org";

/// The body of the latest letter queued (the outbox as the store holds it).
async fn letter_body(app: &TestApp) -> String {
    let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
    let (body,): (String,) =
        sqlx::query_as("SELECT body FROM outbox WHERE channel = 'letter' ORDER BY id DESC LIMIT 1")
            .fetch_one(&pool)
            .await
            .expect("a letter in the outbox");
    body
}

#[tokio::test]
async fn a_pin_request_in_someone_elses_name_neither_revokes_their_pin_nor_reaches_the_stranger() {
    let app = spawn_app().await;
    let victim = cf(PROFESSIONISTA);
    app.on_file(&victim, Some("mario.rossi@example.it"), None).await;
    let owner = app.logged_in(&victim).await;

    let page = Browser::new(&app).request_pin(victim.as_str(), STRANGER).await;
    assert_eq!(page.status, 200, "{}", page.body);
    // The first half goes to the contact on file, with nothing else to tell the requester apart.
    let told = app.wait_for_messages("mario.rossi@example.it", 1).await;
    assert!(told.iter().any(|m| m.subject.contains("prima")), "the first half reaches the contact on file");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.delivered_to(STRANGER).is_empty(), "nothing reaches the contact a stranger typed");

    // The owner's PIN still works, and so does the session opened before.
    assert_eq!(owner.get("/situazione").await.status, 200);
    let again = Browser::new(&app).login(victim.as_str(), &TEST_PIN[..8]).await;
    assert_eq!(again.status, 303, "the PIN in use is not revoked: {}", again.body);
    assert_eq!(app.store.pins_of(&victim).await.unwrap().len(), 2, "the new PIN took a slot of its own");
}

#[tokio::test]
async fn without_a_contact_on_file_what_the_strangers_half_submits_is_held_until_the_full_pin() {
    let app = spawn_app().await;
    let person = cf(PROFESSIONISTA);
    app.on_file(&person, None, None).await;

    let page = Browser::new(&app).request_pin(person.as_str(), STRANGER).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let first = pin_half(&app.wait_for_messages(STRANGER, 1).await[0].body);
    let letter = letter_body(&app).await;
    let second = pin_half(&letter);
    assert!(!letter.contains(&first), "the letter carries the second half only");

    let holder = Browser::new(&app);
    assert_eq!(holder.login(person.as_str(), &first).await.status, 303);
    let (submitted, _) = apply(&holder, "art27").await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    let receipt = holder.get(&submitted.location).await;
    assert!(receipt.body.contains("pagamento in attesa di conferma"), "the receipt says it is held: {}", receipt.body);
    let protocol = submitted.location.rsplit('/').next().unwrap().to_owned();
    let held = app.store.application(&person, &ProtocolNumber::parse(&protocol).unwrap()).await.unwrap().unwrap();
    assert_eq!(held.status, ApplicationStatus::Accepted);
    assert!(held.hold.is_some(), "held for payment");
    assert!(!receipt.body.contains("/annulla"), "an unconfirmed session is not offered to annul");

    // The full PIN (first half, then the one posted) confirms the person and releases the hold.
    let confirmed = Browser::new(&app);
    assert_eq!(confirmed.login(person.as_str(), &format!("{first}{second}")).await.status, 303);
    let released = app.store.application(&person, &ProtocolNumber::parse(&protocol).unwrap()).await.unwrap().unwrap();
    assert_eq!(released.hold, None, "released for payment by the full PIN");
    let receipt = confirmed.get(&submitted.location).await;
    assert!(receipt.body.contains("importo riservato"), "{}", receipt.body);
}

#[tokio::test]
async fn the_rightful_person_annuls_what_a_stranger_submitted_in_their_name_and_applies_again() {
    let app = spawn_app().await;
    let person = cf(PROFESSIONISTA);
    app.on_file(&person, None, None).await;
    // The person holds a PIN of their own, confirmed by an officer.
    drop(app.logged_in(&person).await);
    app.store.confirm_person(&person, app.clock.now()).await.unwrap();

    // A stranger gets a PIN in the person's name and applies with it.
    let page = Browser::new(&app).request_pin(person.as_str(), STRANGER).await;
    assert_eq!(page.status, 200);
    let first = pin_half(&app.wait_for_messages(STRANGER, 1).await[0].body);
    let stranger = Browser::new(&app);
    assert_eq!(stranger.login(person.as_str(), &first).await.status, 303);
    let (submitted, _) = apply(&stranger, "art27").await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    let receipt_path = submitted.location.clone();
    let protocol = receipt_path.rsplit('/').next().unwrap().to_owned();

    // The stranger cannot annul: their session is not confirmed.
    let situation = stranger.get("/situazione").await;
    let refused = stranger.post(&format!("{receipt_path}/annulla"), &[("csrf", &csrf_of(&situation.body))]).await;
    assert_eq!(refused.status, 403, "{}", refused.body);

    // The person, logged in with their confirmed PIN, is offered the annulment on the receipt.
    let owner = Browser::new(&app);
    assert_eq!(owner.login(person.as_str(), &TEST_PIN[..8]).await.status, 303);
    let receipt = owner.get(&receipt_path).await;
    assert!(receipt.body.contains(&format!("{receipt_path}/annulla")), "the annulment is offered: {}", receipt.body);
    let forged = owner.post(&format!("{receipt_path}/annulla"), &[("csrf", "forged")]).await;
    assert_eq!(forged.status, 403, "the form is CSRF-protected");
    let annulled = owner.post(&format!("{receipt_path}/annulla"), &[("csrf", &csrf_of(&receipt.body))]).await;
    assert_eq!(annulled.status, 303, "{}", annulled.body);
    assert_eq!(annulled.location, receipt_path);
    let stored = app.store.application(&person, &ProtocolNumber::parse(&protocol).unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.status, ApplicationStatus::Annulled);
    assert!(owner.get(&receipt_path).await.body.contains("Annullata"));
    let audit = app.store.audit_of(&person, 50).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "annul_application" && a.object.as_deref() == Some(protocol.as_str())));

    // The stranger's PIN is revoked and their session ended.
    let gone = stranger.get("/situazione").await;
    assert_ne!(gone.status, 200, "the stranger's session ended");
    assert!(gone.set_cookies.iter().any(|c| c.starts_with(SESSION)) || gone.status == 303);
    assert_eq!(Browser::new(&app).login(person.as_str(), &first).await.status, 401, "the stranger's PIN is revoked");

    // Art. 31 no longer counts the annulled application: the person applies for themself.
    let form = owner.get("/domanda?scheme=art27").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let (again, _) = apply(&owner, "art27").await;
    assert_eq!(again.status, 303, "{}", again.body);
    assert_ne!(again.location, receipt_path);
}
