//! Wrong PINs and who they lock out: a stranger's wrong PINs lock the strangers' bucket of a codice fiscale, not the
//! browser or app its owner logged in from before; a lock says until when, for any codice fiscale alike; one
//! address cannot spray wrong PINs over many people.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sportello_web::apply::italian_time;
use sportello_web::config::Config;

use crate::support::{Browser, NOT_REGISTERED, PENSIONATA, PROFESSIONISTA, TEST_PIN, TestApp, cf, spawn_app_with};

const DEVICE: &str = "__Host-sportello_device";
const WRONG: &str = "ZZZZ2345";

/// The portal with a per-person login budget of `burst` at once, one more an hour; any number from one address.
async fn spawn_with_budget(burst: u32) -> TestApp {
    let mut config = Config::default();
    config.limits.per_address_per_minute = 1_000_000;
    config.limits.per_address_burst = 1_000_000;
    config.limits.per_person_burst = burst;
    config.limits.per_person_per_hour = 1;
    spawn_app_with(config).await
}

async fn spawn() -> TestApp {
    spawn_with_budget(100).await
}

/// Whether `text` names, as the lock's end, 15 minutes after a moment between `before` and `after`.
fn names_lock_end(text: &str, before: DateTime<Utc>, after: DateTime<Utc>) -> bool {
    let lock = chrono::TimeDelta::minutes(15);
    [before + lock, after + lock].iter().any(|end| text.contains(&format!("fino al {}", italian_time::format(*end))))
}

/// A stranger's browser types wrong PINs for `codice_fiscale` until it is locked; the moments around the last.
async fn lock_for_strangers(app: &TestApp, codice_fiscale: &str) -> (DateTime<Utc>, DateTime<Utc>, String) {
    let stranger = Browser::new(app);
    for attempt in 1..=4 {
        let page = stranger.login(codice_fiscale, WRONG).await;
        assert_eq!(page.status, 401, "attempt {attempt}");
        assert!(page.body.contains("Codice fiscale o PIN non validi"), "attempt {attempt}: {}", page.body);
    }
    let before = app.clock.now();
    let fifth = stranger.login(codice_fiscale, WRONG).await;
    let after = app.clock.now();
    assert_eq!(fifth.status, 401);
    assert!(names_lock_end(&fifth.body, before, after), "the fifth wrong PIN says until when: {}", fifth.body);
    (before, after, fifth.body)
}

#[tokio::test]
async fn a_strangers_wrong_pins_do_not_lock_the_owner_out_of_the_browser_they_logged_in_from() {
    let app = spawn().await;
    let me = cf(PROFESSIONISTA).to_string();
    let owner = app.logged_in(&cf(PROFESSIONISTA)).await;
    let device = owner.cookie(DEVICE).expect("a login leaves a device cookie");
    assert!(!device.contains(&me), "nothing personal in it");

    let (before, after, _) = lock_for_strangers(&app, &me).await;
    let stranger = Browser::new(&app);
    let locked = stranger.login(&me, &TEST_PIN[..8]).await;
    assert_eq!(locked.status, 401, "the right PIN from a stranger's browser is refused while locked");
    assert!(names_lock_end(&locked.body, before, after), "{}", locked.body);
    assert!(locked.body.contains("ora italiana"));

    let again = owner.login(&me, &TEST_PIN[..8]).await;
    assert_eq!(again.status, 303, "the owner's browser logs in: {}", again.body);
    let cookie = again.set_cookies.iter().find(|c| c.starts_with(DEVICE)).expect("the device cookie, renewed");
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(owner.get("/situazione").await.body.contains(&me));

    // The owner in a new browser is a stranger there, and is told until when.
    let elsewhere = Browser::new(&app).login(&me, &TEST_PIN[..8]).await;
    assert_eq!(elsewhere.status, 401);
    assert!(names_lock_end(&elsewhere.body, before, after), "{}", elsewhere.body);
    // A device cookie of someone else's login, or a forged one, is no way round the lock.
    let other = app.logged_in(&cf(PENSIONATA)).await;
    let borrowed = Browser::new(&app);
    borrowed.set_cookie(DEVICE, &other.cookie(DEVICE).unwrap());
    assert_eq!(borrowed.login(&me, &TEST_PIN[..8]).await.status, 401, "another person's device");
    let forged = Browser::new(&app);
    forged.set_cookie(DEVICE, &format!("{}.{}", "a".repeat(32), "b".repeat(64)));
    assert_eq!(forged.login(&me, &TEST_PIN[..8]).await.status, 401, "a forged device");

    app.clock.advance(Duration::from_secs(15 * 60 + 5));
    assert_eq!(Browser::new(&app).login(&me, &TEST_PIN[..8]).await.status, 303, "open again once the lock ends");
}

#[tokio::test]
async fn strangers_who_use_up_a_persons_login_budget_do_not_get_the_owners_browser_refused() {
    let app = spawn_with_budget(3).await;
    let me = cf(PROFESSIONISTA).to_string();
    let owner = app.logged_in(&cf(PROFESSIONISTA)).await;
    let stranger = Browser::new(&app);
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(stranger.login(&me, WRONG).await.status);
    }
    assert_eq!(statuses, [401, 401, 429], "the owner's first login and two strangers' use up the strangers' budget");
    assert_eq!(Browser::new(&app).login(&me, &TEST_PIN[..8]).await.status, 429, "for every stranger");
    assert_eq!(owner.login(&me, &TEST_PIN[..8]).await.status, 303, "the owner's browser has a budget of its own");
}

#[tokio::test]
async fn the_owners_own_wrong_pins_lock_only_their_device() {
    let app = spawn().await;
    let me = cf(PROFESSIONISTA).to_string();
    let owner = app.logged_in(&cf(PROFESSIONISTA)).await;
    for _ in 0..5 {
        assert_eq!(owner.login(&me, WRONG).await.status, 401);
    }
    let locked = owner.login(&me, &TEST_PIN[..8]).await;
    assert_eq!(locked.status, 401, "the device guessed five times: it is locked");
    assert!(locked.body.contains("bloccato fino al"), "{}", locked.body);
    assert_eq!(Browser::new(&app).login(&me, &TEST_PIN[..8]).await.status, 303, "the strangers' bucket is untouched");
}

#[tokio::test]
async fn a_lock_reads_the_same_for_a_codice_fiscale_outside_the_registry() {
    let app = spawn().await;
    app.logged_in(&cf(PROFESSIONISTA)).await;
    let (_, _, known) = lock_for_strangers(&app, &cf(PROFESSIONISTA).to_string()).await;
    let (_, _, unknown) = lock_for_strangers(&app, &cf(NOT_REGISTERED).to_string()).await;
    let message = |page: &str| {
        let start = page.find("Troppi tentativi").expect("the lock's words");
        page[start..page[start..].find("</p>").unwrap() + start].to_owned()
    };
    let without_time = |m: String| m.split("fino al").next().unwrap().to_owned();
    assert_eq!(without_time(message(&known)), without_time(message(&unknown)));
}

/// `POST /api/v1/sessions` with `body`: status and JSON.
async fn api_login(app: &TestApp, body: Value) -> (u16, Value) {
    let response = app.client.post(app.url("/api/v1/sessions")).json(&body).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn an_app_that_sends_its_device_token_logs_in_while_strangers_are_locked_out() {
    let app = spawn().await;
    let me = cf(PROFESSIONISTA).to_string();
    app.logged_in(&cf(PROFESSIONISTA)).await;
    let (status, first) = api_login(&app, json!({"codice_fiscale": me, "pin": &TEST_PIN[..8]})).await;
    assert_eq!(status, 201, "{first}");
    let device = first["device"].as_str().expect("a device token").to_owned();
    assert!(!device.contains(&me));

    for attempt in 1..=4 {
        let (status, body) = api_login(&app, json!({"codice_fiscale": me, "pin": WRONG})).await;
        assert_eq!((status, body["type"].as_str()), (401, Some("urn:sportello:problem:login-refused")), "{attempt}");
    }
    let before = app.clock.now();
    let (status, fifth) = api_login(&app, json!({"codice_fiscale": me, "pin": WRONG})).await;
    let after = app.clock.now();
    assert_eq!((status, fifth["type"].as_str()), (401, Some("urn:sportello:problem:login-locked")), "{fifth}");
    let until: DateTime<Utc> = fifth["locked_until"].as_str().expect("until when").parse().unwrap();
    let lock = chrono::TimeDelta::minutes(15);
    assert!(before + lock - chrono::TimeDelta::seconds(1) <= until && until <= after + lock, "{until}");
    assert!(fifth["detail"].as_str().unwrap().contains(&italian_time::format(until)), "{fifth}");

    let (status, locked) = api_login(&app, json!({"codice_fiscale": me, "pin": &TEST_PIN[..8]})).await;
    assert_eq!((status, locked["type"].as_str()), (401, Some("urn:sportello:problem:login-locked")));
    let (status, bad_device) =
        api_login(&app, json!({"codice_fiscale": me, "pin": &TEST_PIN[..8], "device": "not a device"})).await;
    assert_eq!(status, 401, "a device token that is not one counts as none: {bad_device}");

    let (status, mine) = api_login(&app, json!({"codice_fiscale": me, "pin": &TEST_PIN[..8], "device": device})).await;
    assert_eq!(status, 201, "the app's own device logs in: {mine}");
    assert!(mine["token"].is_string());
}

#[tokio::test]
async fn one_address_cannot_spray_wrong_pins_over_many_people() {
    let mut config = Config::default();
    config.limits.per_address_per_minute = 1_000_000;
    config.limits.per_address_burst = 1_000_000;
    config.limits.failures_per_address_per_hour = 3;
    let app = spawn_app_with(config).await;
    let me = cf(PROFESSIONISTA).to_string();
    let owner = app.logged_in(&cf(PROFESSIONISTA)).await;
    let sprayer = Browser::new(&app);
    let people = ["RSSMRA80A01H502", "RSSMRA80A01H503", "RSSMRA80A01H504", "RSSMRA80A01H505"].map(cf);
    let mut statuses = Vec::new();
    for person in &people {
        statuses.push(sprayer.login(person.as_str(), WRONG).await.status);
    }
    assert_eq!(statuses, [401, 401, 401, 429], "three wrong PINs an hour from one address, then 429");
    let api = app.client.post(app.url("/api/v1/sessions")).json(&json!({"codice_fiscale": me, "pin": WRONG}));
    assert_eq!(api.send().await.unwrap().status(), 429, "through the API too");
    assert_eq!(owner.login(&me, &TEST_PIN[..8]).await.status, 303, "the owner's own browser is not barred");
}
