//! The caching headers of every route the portal serves, walked from its route table: a route added tomorrow is
//! checked here without anyone remembering to list it. The walk runs on the bare portal and behind a waiting room
//! whose pass is renewed on every request, as it is for a visitor who stays long enough.
//!
//! The rule: a personal response (and any error) is `Cache-Control: no-store, private` with `Vary: Cookie`; a public
//! one may be cached by shared caches, so it must carry nothing of the person asking. A response that hands out a
//! token (a cookie, a renewed pass) is private whatever its route: a public page that renews a pass would give the
//! pass to every stranger the shared cache serves it to.

use reqwest::Method;
use sportello_web::routes::Audience;

use sportello_web::gate::{PASS_COOKIE, PASS_HEADER};

use crate::support::{Browser, PROFESSIONISTA, SESSION, TestApp, assert_private, cf, spawn_app, spawn_gated_app};

/// Every method a route may answer; the ones a route does not list must get 405.
const METHODS: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

/// `template` with its parameters filled with values that exist for the logged-in citizen. A route whose parameter
/// is not known here fails the test, which then asks for a sample value.
fn fill(template: &str, protocol: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment {
            "{protocol}" => protocol.to_owned(),
            // A review's number (the back office's confirmation); none exists, which the walk answers as any other.
            "{id}" => "1".to_owned(),
            "{*file}" => sportello_web::assets::BOOTSTRAP_ITALIA_CSS.trim_start_matches("/static/").to_owned(),
            s if s.starts_with('{') => panic!("{template}: give this test a sample value for {s}"),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// What the walk saw: how many responses renewed the visitor's pass, and on which routes.
struct Walked {
    renewed: Vec<String>,
}

/// Calls every route of the table with every method as a logged-in citizen and checks each answer's caching
/// headers. Behind a gate, before each call the browser holds a pass (taking a new place after logging out gave it
/// back) and the gate's clock is moved so that the call renews it.
async fn walk(app: &TestApp, browser: &Browser<'_>) -> Walked {
    let me = cf(PROFESSIONISTA);
    let application = app.application_of(me, "caching-test").await;
    let session = browser.cookie(SESSION).expect("a session");
    let personal = [me.as_str(), application.protocol.as_str(), session.as_str()];

    assert!(app.routes.len() >= 10, "the table lists the portal's routes: {:?}", app.routes);
    let mut checked = 0;
    let mut walked = Walked { renewed: Vec::new() };
    let mut renewed_last = false;
    for route in &app.routes {
        let path = fill(route.path, &application.protocol);
        for method in METHODS {
            if app.gate.is_some() {
                // A call that did not renew the pass (logging out, an exempt path) leaves it too old for the next
                // move of the clock: take a fresh one.
                if !renewed_last {
                    browser.admit().await;
                }
                app.make_pass_due();
            }
            let page = browser.call(method.clone(), &path).await;
            let what = format!("{method} {} ({:?})", route.path, route.audience);
            let renews =
                page.set_cookies.iter().any(|c| c.starts_with(&format!("{PASS_COOKIE}=")) && !c.contains("Max-Age=0"));
            if renews {
                walked.renewed.push(what.clone());
            }
            renewed_last = renews;
            if !page.set_cookies.is_empty() {
                assert_eq!(page.cache_control, "no-store, private", "{what}: hands out {:?}", page.set_cookies);
                assert!(page.vary.contains("Cookie"), "{what}: Vary is {:?}", page.vary);
            }
            if !route.methods.contains(&method) {
                assert_eq!(page.status, 405, "{what}: answers a method its table entry does not list");
                assert_private(&page);
                continue;
            }
            assert_ne!(page.status, 405, "{what}: listed but not routed");
            checked += 1;
            let success = (200..300).contains(&page.status);
            match route.audience {
                Audience::Public if success && page.set_cookies.is_empty() => {
                    assert!(page.cache_control.starts_with("public, max-age="), "{what}: {}", page.cache_control);
                    for secret in personal {
                        assert!(!page.body.contains(secret), "{what}: a cacheable response holds {secret}");
                    }
                }
                _ => {
                    assert_eq!(page.cache_control, "no-store, private", "{what}");
                    assert!(page.vary.contains("Cookie"), "{what}: Vary is {:?}", page.vary);
                }
            }
        }
    }
    let listed: usize = app.routes.iter().map(|r| r.methods.len()).sum();
    assert_eq!(checked, listed, "every listed method was exercised");
    walked
}

#[tokio::test]
async fn every_route_in_the_table_sends_the_caching_headers_its_audience_needs() {
    let app = spawn_app().await;
    let browser = app.logged_in(&cf(PROFESSIONISTA)).await;
    let walked = walk(&app, &browser).await;
    assert!(walked.renewed.is_empty(), "no gate, no pass: {:?}", walked.renewed);
}

#[tokio::test]
async fn behind_a_waiting_room_every_route_renewing_a_pass_keeps_it_out_of_shared_caches() {
    let app = spawn_gated_app().await;
    let browser = app.logged_in(&cf(PROFESSIONISTA)).await;
    let walked = walk(&app, &browser).await;
    for public in ["GET / (Public)", "GET /privacy (Public)", "GET /api/v1/schemes (Public)"] {
        assert!(walked.renewed.iter().any(|w| w == public), "{public} renewed the pass: {:?}", walked.renewed);
    }
}

#[tokio::test]
async fn a_renewed_pass_makes_a_public_page_private_for_browsers_and_json_clients() {
    let app = spawn_gated_app().await;
    let browser = Browser::new(&app);
    browser.admit().await;
    for path in ["/", "/privacy?lang=en", "/accessibilita"] {
        let fresh = browser.get(path).await;
        assert_eq!((fresh.status, fresh.set_cookies.len()), (200, 0), "{path}: a fresh pass is not renewed");
        assert!(fresh.cache_control.starts_with("public, max-age="), "{path}: {}", fresh.cache_control);
        app.make_pass_due();
        let renewed = browser.get(path).await;
        assert_eq!(renewed.status, 200, "{path}");
        assert!(renewed.set_cookies.iter().any(|c| c.starts_with(PASS_COOKIE)), "{path}: {:?}", renewed.set_cookies);
        assert_eq!(renewed.cache_control, "no-store, private", "{path}: a shared cache would hand the pass on");
        assert!(renewed.vary.contains("Cookie"), "{path}: {}", renewed.vary);
    }
    // A JSON client sends its pass in a header and gets the renewed one in a header.
    let pass = browser.cookie(PASS_COOKIE).unwrap();
    app.make_pass_due();
    let response =
        reqwest::Client::new().get(app.url("/api/v1/schemes")).header(PASS_HEADER, &pass).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key(PASS_HEADER), "the renewed pass");
    assert_eq!(response.headers()["cache-control"], "no-store, private");
}
