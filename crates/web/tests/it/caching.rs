//! The caching headers of every route the portal serves, walked from its route table: a route added tomorrow is
//! checked here without anyone remembering to list it.
//!
//! The rule: a personal response (and any error) is `Cache-Control: no-store, private` with `Vary: Cookie`; a public
//! one may be cached by shared caches, so it must carry nothing of the person asking and set no cookie.

use reqwest::Method;
use sportello_store::{ApplicationStatus, NewApplication, Submission};
use sportello_web::routes::Audience;

use crate::support::{PROFESSIONISTA, SESSION, assert_private, cf, spawn_app};

/// Every method a route may answer; the ones a route does not list must get 405.
const METHODS: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

/// `template` with its parameters filled with values that exist for the logged-in citizen. A route whose parameter
/// is not known here fails the test, which then asks for a sample value.
fn fill(template: &str, protocol: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment {
            "{protocol}" => protocol.to_owned(),
            "{*file}" => sportello_web::assets::BOOTSTRAP_ITALIA_CSS.trim_start_matches("/static/").to_owned(),
            s if s.starts_with('{') => panic!("{template}: give this test a sample value for {s}"),
            s => s.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_route_in_the_table_sends_the_caching_headers_its_audience_needs() {
    let app = spawn_app().await;
    let me = cf(PROFESSIONISTA);
    let browser = app.logged_in(&me).await;
    let submitted = app
        .store
        .submit(NewApplication {
            codice_fiscale: me,
            scheme: "art27".to_owned(),
            idempotency_key: "caching-test".to_owned(),
            status: ApplicationStatus::Accepted,
            reasons: serde_json::json!([]),
            details: serde_json::json!({"payment": {"method": "domiciliato"}}),
            submitted_at: chrono::Utc::now(),
            hold: None,
        })
        .await
        .unwrap();
    let Submission::Created(application) = submitted else { panic!("a new application: {submitted:?}") };
    let session = browser.cookie(SESSION).expect("a session");
    let personal = [me.as_str(), application.protocol.as_str(), session.as_str()];

    assert!(app.routes.len() >= 10, "the table lists the portal's routes: {:?}", app.routes);
    let mut checked = 0;
    for route in &app.routes {
        let path = fill(route.path, &application.protocol);
        for method in METHODS {
            let page = browser.call(method.clone(), &path).await;
            let what = format!("{method} {} ({:?})", route.path, route.audience);
            if !route.methods.contains(&method) {
                assert_eq!(page.status, 405, "{what}: answers a method its table entry does not list");
                assert_private(&page);
                continue;
            }
            assert_ne!(page.status, 405, "{what}: listed but not routed");
            checked += 1;
            let success = (200..300).contains(&page.status);
            match route.audience {
                Audience::Public if success => {
                    assert!(page.cache_control.starts_with("public, max-age="), "{what}: {}", page.cache_control);
                    assert!(page.set_cookies.is_empty(), "{what}: a cacheable response sets {:?}", page.set_cookies);
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
}
