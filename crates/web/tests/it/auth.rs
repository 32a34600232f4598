//! Asking for a PIN, logging in and out, sessions, CSRF and "la tua situazione", over real HTTP.
//!
//! Cookies are `Secure`, which a cookie store refuses to send over plain `http://127.0.0.1`: [`Browser`] keeps them
//! by hand.

use std::time::Duration;

use crate::support::{
    Browser, CSRF, NOT_REGISTERED, PENSIONATA, PROFESSIONISTA, SESSION, TestApp, assert_private, cf, csrf_of, pin_half,
    spawn_app, spawn_app_with,
};

/// A PIN of the same shape and slot (its first symbol) that is not `pin`.
fn wrong(pin: &str) -> String {
    let last = if pin.ends_with('2') { '3' } else { '2' };
    format!("{}{last}", &pin[..pin.len() - 1])
}

/// Asks for a PIN for `codice_fiscale` and returns the first half, read from the mailbox.
async fn first_half(app: &TestApp, codice_fiscale: &str, contact: &str) -> String {
    let page = Browser::new(app).request_pin(codice_fiscale, contact).await;
    assert_eq!(page.status, 200, "{}", page.body);
    pin_half(&app.wait_for_messages(contact, 1).await[0].body)
}

#[tokio::test]
async fn a_citizen_asks_for_a_pin_logs_in_with_its_first_half_and_sees_only_their_own_decision() {
    let app = spawn_app().await;
    let me = cf(PROFESSIONISTA).to_string();
    let pin = first_half(&app, &me, "mario.rossi@example.it").await;
    let message = &app.delivered_to("mario.rossi@example.it")[0];
    assert!(!message.body.contains(&me) && !message.subject.contains(&pin), "the message names only the PIN half");

    let browser = Browser::new(&app);
    let login = browser.login(&me.to_lowercase(), &pin.to_lowercase()).await;
    assert_eq!(login.status, 303, "{}", login.body);
    assert_eq!(login.location, "/situazione");
    let cookie = login.set_cookies.iter().find(|c| c.starts_with(SESSION)).expect("a session cookie");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }

    let page = browser.get("/situazione").await;
    assert_eq!(page.status, 200);
    assert_private(&page);
    assert!(page.body.contains(&me), "the page names the logged-in citizen");
    assert!(page.body.contains("<html lang=\"it\">"));
    assert!(page.body.contains("Ne ha diritto."), "art. 27 grants the professional's indemnity");
    for article in ["art. 27 c. 1", "art. 28 c. 1", "art. 38 c. 1"] {
        assert!(page.body.contains(article), "{article} missing");
    }
    assert!(!page.body.contains(&cf(PENSIONATA).to_string()), "nobody else's data");

    let english = browser.get("/situazione?lang=en").await;
    assert!(english.body.contains("<html lang=\"en\">") && english.body.contains("You are entitled to it."));

    let audit = app.store.audit_of(&cf(PROFESSIONISTA), 10).await.unwrap();
    let views: Vec<_> = audit.iter().filter(|a| a.action == "view_decision").collect();
    assert_eq!(views.len(), 2, "each view is audited");
    assert_eq!(views[0].actor, format!("citizen:{me}"), "the actor is named as such, the subject apart");
    assert_eq!(views[0].from.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn the_full_pin_also_opens_a_session_once_both_halves_arrive() {
    let mut config = sportello_web::config::Config::default();
    config.pin.second_half_delay_secs = 0;
    let app = spawn_app_with(config).await;
    let me = cf(PENSIONATA).to_string();
    // Both halves reach a contact on file (one typed but not on file gets the first half alone).
    app.on_file(&cf(PENSIONATA), None, Some("+393331234567")).await;
    let page = Browser::new(&app).request_pin(&me, "+39 333 123 4567").await;
    assert_eq!(page.status, 200);
    let messages = app.wait_for_messages("+393331234567", 2).await;
    assert!(messages.iter().all(|m| m.channel == sportello_web::notify::Channel::Sms), "a number gets text messages");
    let first = messages.iter().find(|m| m.subject.contains("prima")).unwrap();
    let second = messages.iter().find(|m| m.subject.contains("seconda")).unwrap();
    let full = format!("{} {}", pin_half(&first.body), pin_half(&second.body));

    let browser = Browser::new(&app);
    assert_eq!(browser.login(&me, &wrong(&full)).await.status, 401);
    assert_eq!(browser.login(&me, &full).await.status, 303);
    let page = browser.get("/situazione").await;
    assert!(page.body.contains("Non ne ha diritto."), "a pensioner is entitled to nothing");
    assert!(!page.body.contains("<strong>Ne ha diritto."), "to nothing at all");
}

#[tokio::test]
async fn the_second_half_waits_for_its_delay() {
    let app = spawn_app().await;
    first_half(&app, &cf(PROFESSIONISTA).to_string(), "mario.rossi@example.it").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(app.delivered_to("mario.rossi@example.it").len(), 1, "the second half travels 72 hours later");
}

#[tokio::test]
async fn asking_for_a_pin_says_the_same_whether_or_not_the_codice_fiscale_is_registered() {
    let app = spawn_app().await;
    let registered = Browser::new(&app).request_pin(&cf(PROFESSIONISTA).to_string(), "a@example.it").await;
    let unknown = Browser::new(&app).request_pin(&cf(NOT_REGISTERED).to_string(), "b@example.it").await;
    assert_eq!(registered.status, 200);
    assert_eq!((registered.status, &registered.body), (unknown.status, &unknown.body));
    app.wait_for_messages("a@example.it", 1).await;
    assert!(app.delivered_to("b@example.it").is_empty(), "nobody outside the registry gets a PIN");
    assert!(app.store.pins_of(&cf(NOT_REGISTERED)).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_mistyped_codice_fiscale_or_contact_gets_the_form_back_with_what_was_typed() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    let page = browser.request_pin("RSSMRA80A01H501", "mario@localhost").await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("Il codice fiscale ha 16 caratteri; quello inserito ne ha 15."), "{}", page.body);
    assert!(page.body.contains("value=\"RSSMRA80A01H501\"") && page.body.contains("value=\"mario@localhost\""));
    assert!(page.body.contains("aria-describedby=\"codice_fiscale-error\""));
    assert!(page.body.contains("id=\"contatto-error\""));

    let csrf = browser.token("/pin?lang=en").await;
    let page = browser.post("/pin?lang=en", &[("csrf", &csrf), ("codice_fiscale", "x"), ("contatto", "a@b.it")]).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("A codice fiscale has 16 characters; this one has 1."), "{}", page.body);

    let page = browser.login(&cf(PROFESSIONISTA).to_string(), "ABC").await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("Il PIN deve avere 8 caratteri"), "{}", page.body);
}

#[tokio::test]
async fn five_wrong_pins_lock_the_pin_until_the_lock_ends() {
    let app = spawn_app().await;
    let me = cf(PROFESSIONISTA).to_string();
    let pin = first_half(&app, &me, "mario.rossi@example.it").await;
    let browser = Browser::new(&app);
    for attempt in 1..=4 {
        let page = browser.login(&me, &wrong(&pin)).await;
        assert_eq!(page.status, 401, "attempt {attempt}");
        assert!(page.body.contains("Codice fiscale o PIN non validi"), "{}", page.body);
    }
    let fifth = browser.login(&me, &wrong(&pin)).await;
    assert_eq!(fifth.status, 401);
    assert!(fifth.body.contains("con questo codice fiscale da qui è bloccato fino al"), "{}", fifth.body);
    let locked = browser.login(&me, &pin).await;
    assert_eq!(locked.status, 401, "the right PIN is refused while locked");
    assert!(locked.body.contains("bloccato fino al"), "and told until when: {}", locked.body);
    assert!(browser.cookie(SESSION).is_none());

    app.clock.advance(Duration::from_secs(15 * 60 - 5));
    assert_eq!(browser.login(&me, &pin).await.status, 401, "still locked just before the 15 minutes end");
    app.clock.advance(Duration::from_secs(10));
    assert_eq!(browser.login(&me, &pin).await.status, 303, "open again once the lock ends");
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused_and_do_nothing() {
    let app = spawn_app().await;
    let me = cf(PROFESSIONISTA).to_string();
    let browser = Browser::new(&app);
    browser.get("/pin").await;
    let missing = browser.post("/pin", &[("codice_fiscale", &me), ("contatto", "a@example.it")]).await;
    assert_eq!(missing.status, 403);
    assert!(missing.body.contains("non è stato eseguito nulla"));
    // A token is bound to its own browser's cookie: another browser's token does not do.
    let other = Browser::new(&app).token("/pin").await;
    let foreign =
        browser.post("/pin?lang=en", &[("csrf", &other), ("codice_fiscale", &me), ("contatto", "a@example.it")]).await;
    assert_eq!(foreign.status, 403);
    assert!(foreign.body.contains("nothing was done"));
    // Without its cookie the token is worthless too.
    let token = browser.token("/pin").await;
    let cookieless = Browser::new(&app);
    let page =
        cookieless.post("/pin", &[("csrf", &token), ("codice_fiscale", &me), ("contatto", "a@example.it")]).await;
    assert_eq!(page.status, 403);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(app.store.pins_of(&cf(PROFESSIONISTA)).await.unwrap().is_empty(), "no PIN was issued");
    assert!(app.delivered_to("a@example.it").is_empty());

    // Login CSRF: the right PIN without the token opens nothing.
    let pin = first_half(&app, &me, "mario.rossi@example.it").await;
    let page = browser.post("/accedi", &[("codice_fiscale", &me), ("pin", &pin)]).await;
    assert_eq!(page.status, 403);
    assert!(browser.cookie(SESSION).is_none());

    // Logout needs the session's token.
    assert_eq!(browser.login(&me, &pin).await.status, 303);
    let pre_login_token = browser.token("/accedi").await;
    assert_eq!(browser.post("/esci", &[("csrf", &pre_login_token)]).await.status, 403);
    assert_eq!(browser.get("/situazione").await.status, 200, "still logged in");
}

#[tokio::test]
async fn logging_in_rotates_the_session_id_and_logging_out_ends_it() {
    let app = spawn_app().await;
    let me = cf(PROFESSIONISTA).to_string();
    let pin = first_half(&app, &me, "mario.rossi@example.it").await;
    let browser = Browser::new(&app);
    browser.set_cookie(SESSION, "0123456789abcdef0123456789abcdef");
    assert_eq!(browser.login(&me, &pin).await.status, 303);
    let first = browser.cookie(SESSION).unwrap();
    assert_ne!(first, "0123456789abcdef0123456789abcdef", "a new id at login");
    assert_eq!(browser.login(&me, &pin).await.status, 303);
    let second = browser.cookie(SESSION).unwrap();
    assert_ne!(first, second, "a new id at each login");

    let stale = Browser::new(&app);
    stale.set_cookie(SESSION, &first);
    assert_eq!(stale.get("/situazione").await.status, 303, "the id before the new login is dead");

    let page = browser.get("/situazione").await;
    let logout = browser.post("/esci", &[("csrf", &csrf_of(&page.body))]).await;
    assert_eq!((logout.status, logout.location.as_str()), (303, "/uscita"));
    assert!(logout.set_cookies.iter().any(|c| c.starts_with(&format!("{SESSION}=;")) && c.contains("Max-Age=0")));
    let replay = Browser::new(&app);
    replay.set_cookie(SESSION, &second);
    let page = replay.get("/situazione").await;
    assert_eq!((page.status, page.location.as_str()), (303, "/accedi"), "the old cookie opens nothing");
}

/// The policy of docs/SECURITY.md ("A stolen session"): a copied cookie is a bearer credential until the session
/// ends, every use of it leaves an audit row, and the owner's logout ends it for everyone holding it.
#[tokio::test]
async fn a_stolen_session_works_only_until_its_owner_logs_out_and_each_use_is_audited() {
    let app = spawn_app().await;
    let me = cf(PROFESSIONISTA);
    let pin = first_half(&app, me.as_str(), "mario.rossi@example.it").await;
    let owner = Browser::new(&app);
    assert_eq!(owner.login(me.as_str(), &pin).await.status, 303);
    let thief = Browser::new(&app);
    thief.set_cookie(SESSION, &owner.cookie(SESSION).unwrap());

    let audited = |rows: &[sportello_store::AuditEntry]| rows.iter().filter(|r| r.action == "view_decision").count();
    let before = audited(&app.store.audit_of(&me, 100).await.unwrap());
    assert_eq!(thief.get("/situazione").await.status, 200, "a copied cookie is a bearer credential");
    let after = app.store.audit_of(&me, 100).await.unwrap();
    assert_eq!(audited(&after), before + 1, "the thief's view is on the record");
    assert!(after[0].from.is_some(), "with the address it came from");

    let page = owner.get("/situazione").await;
    assert_eq!(owner.post("/esci", &[("csrf", &csrf_of(&page.body))]).await.status, 303);
    let refused = thief.get("/situazione").await;
    assert_eq!((refused.status, refused.location.as_str()), (303, "/accedi"), "the owner's logout ends it");
}

#[tokio::test]
async fn a_session_ends_after_the_idle_timeout_and_at_its_absolute_expiry() {
    let mut config = sportello_web::config::Config::default();
    config.session.absolute_timeout_secs = 3600;
    let app = spawn_app_with(config).await;
    let me = cf(PROFESSIONISTA).to_string();
    let pin = first_half(&app, &me, "mario.rossi@example.it").await;

    let idle = Browser::new(&app);
    assert_eq!(idle.login(&me, &pin).await.status, 303);
    let active = Browser::new(&app);
    assert_eq!(active.login(&me, &pin).await.status, 303);
    for minutes in [20, 20, 19] {
        app.clock.advance(Duration::from_secs(minutes * 60));
        assert_eq!(active.get("/situazione").await.status, 200, "used every 20 minutes, the session stays open");
    }
    let page = idle.get("/situazione?lang=en").await;
    assert_eq!((page.status, page.location.as_str()), (303, "/accedi?lang=en"), "idle for 59 minutes");
    app.clock.advance(Duration::from_secs(2 * 60));
    let page = active.get("/situazione").await;
    assert_eq!((page.status, page.location.as_str()), (303, "/accedi"), "past the absolute expiry");
}

#[tokio::test]
async fn personal_pages_need_a_session_and_are_never_cached() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    let page = browser.get("/situazione").await;
    assert_eq!((page.status, page.location.as_str()), (303, "/accedi"));
    assert_private(&page);
    browser.set_cookie(SESSION, "forged");
    assert_eq!(browser.get("/situazione").await.status, 303);
    for path in ["/pin", "/accedi", "/accedi?lang=en"] {
        let page = Browser::new(&app).get(path).await;
        assert_eq!(page.status, 200);
        assert_private(&page);
        let cookie = page.set_cookies.iter().find(|c| c.starts_with(CSRF)).expect("a CSRF cookie");
        assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"), "{cookie}");
        assert!(page.body.contains("<label for=\"codice_fiscale\">"));
    }
}

#[tokio::test]
async fn too_many_pin_requests_from_one_address_get_429_with_retry_after_on_pages_and_api() {
    let mut config = sportello_web::config::Config::default();
    config.limits.per_address_per_minute = 1;
    config.limits.per_address_burst = 3;
    let app = spawn_app_with(config).await;
    let browser = Browser::new(&app);
    let csrf = browser.token("/pin").await;
    let unknown = cf(NOT_REGISTERED).to_string();
    let mut statuses = Vec::new();
    let mut refused = None;
    for n in 0..4 {
        let contact = format!("p{n}@example.it");
        let page = browser
            .post("/pin?lang=en", &[("csrf", &csrf), ("codice_fiscale", &unknown), ("contatto", &contact)])
            .await;
        statuses.push(page.status);
        refused = Some(page);
    }
    assert_eq!(statuses, [200, 200, 200, 429], "three within the burst, then refused");
    let refused = refused.unwrap();
    assert!(refused.body.contains("Too many requests"), "in the page's language: {}", refused.body);
    assert_private(&refused);
    let api = app
        .client
        .post(app.url("/api/v1/pin"))
        .json(&serde_json::json!({"codice_fiscale": cf(PROFESSIONISTA).to_string(), "email": "a@example.it"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 429);
    let retry: u64 = api.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert!(api.headers()["content-type"].to_str().unwrap().starts_with("application/problem+json"));
    assert!(Browser::new(&app).get("/pin").await.status == 200, "reading the form is not limited");
}

#[tokio::test]
async fn behind_a_proxy_a_request_it_did_not_attribute_is_still_limited_per_address() {
    let mut config = sportello_web::config::Config::default();
    config.limits.forwarded_hops = 1;
    config.limits.per_address_per_minute = 1;
    config.limits.per_address_burst = 2;
    let app = spawn_app_with(config).await;
    let unknown = cf(NOT_REGISTERED).to_string();
    let ask = |forwarded: Option<&'static str>| {
        let mut request = app
            .client
            .post(app.url("/api/v1/pin"))
            .json(&serde_json::json!({"codice_fiscale": unknown, "email": "a@example.it"}));
        if let Some(forwarded) = forwarded {
            request = request.header("x-forwarded-for", forwarded);
        }
        // Whether it was refused for too many requests (whatever the PIN door answers otherwise).
        async move { request.send().await.unwrap().status() == 429 }
    };
    let mut unattributed = Vec::new();
    for forwarded in [None, Some(""), Some("not an address")] {
        unattributed.push(ask(forwarded).await);
    }
    assert_eq!(unattributed, [false, false, true], "no usable X-Forwarded-For: counted under the peer's address");
    assert!(!ask(Some("203.0.113.9")).await, "a client the proxy names has its own budget");
    assert!(!ask(Some("203.0.113.9")).await);
    assert!(ask(Some("203.0.113.9")).await, "and it is limited too");
}

#[tokio::test]
async fn one_codice_fiscale_is_limited_the_same_whether_or_not_it_is_registered() {
    let mut config = sportello_web::config::Config::default();
    config.limits.per_address_per_minute = 1_000;
    config.limits.per_address_burst = 1_000;
    config.limits.per_person_per_hour = 1;
    config.limits.per_person_burst = 2;
    let app = spawn_app_with(config).await;
    for person in [cf(PROFESSIONISTA).to_string(), cf(NOT_REGISTERED).to_string()] {
        let statuses: Vec<u16> = {
            let mut statuses = Vec::new();
            for n in 0..3 {
                statuses.push(
                    Browser::new(&app).request_pin(&person.to_lowercase(), &format!("x{n}@example.it")).await.status,
                );
            }
            statuses
        };
        assert_eq!(statuses, [200, 200, 429], "{person}");
        assert_eq!(Browser::new(&app).login(&person, "ABCD2345").await.status, 401, "logging in has its own budget");
    }
}
