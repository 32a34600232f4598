//! Load shedding over real HTTP: when the backend stops answering, requests beyond the node's slots and its short
//! line get a quick 503 with `Retry-After`, in the visitor's language; the ones holding a slot finish once the
//! backend is back. The backend is stopped for real: the test holds SQLite's write lock.

use std::time::{Duration, Instant};

use sportello_web::config::Config;
use sportello_web::shed::SheddingConfig;
use sqlx::Connection;

use crate::support::{PROFESSIONISTA, cf, spawn_app_with};

#[tokio::test]
async fn a_stalled_database_gets_quick_503s_beyond_the_slots_and_the_slots_finish_afterwards() {
    let mut config = Config::default();
    config.limits.per_address_per_minute = 1_000_000;
    config.limits.per_address_burst = 1_000_000;
    config.shedding =
        SheddingConfig { max_in_flight: 2, max_queued: 1, max_queue_wait_ms: 300, ..SheddingConfig::default() };
    let app = spawn_app_with(config).await;

    // The portal is up (it records the schemes' spending limits as it starts, which needs the write lock too).
    assert_eq!(app.client.get(app.url("/readyz")).send().await.unwrap().status(), 200);
    // Another process's long write: every write of the portal waits behind it.
    let mut blocker = sqlx::SqliteConnection::connect(&app.database_url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut blocker).await.unwrap();
    let held_at = Instant::now();

    let professional = cf(PROFESSIONISTA);
    let requests = (0..6).map(|_| {
        let client = app.client.clone();
        // A refused login writes the failure, so it waits for the database (a PIN request answers before its work).
        let url = app.url("/api/v1/sessions");
        async move {
            let sent = Instant::now();
            let response = client
                .post(url)
                .json(&serde_json::json!({ "codice_fiscale": professional.as_str(), "pin": "ZZZZ2345" }))
                .send()
                .await
                .unwrap();
            let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
            (response.status().as_u16(), retry_after, content_type, sent.elapsed())
        }
    });
    let requests = tokio::spawn(futures::future::join_all(requests));
    tokio::time::sleep(Duration::from_millis(150)).await;

    // While the slots are taken and the line is full, a page is refused at once too, in its language.
    let started = Instant::now();
    let page = app.client.get(app.url("/?lang=en")).send().await.unwrap();
    assert_eq!(page.status(), 503);
    assert!(started.elapsed() < Duration::from_millis(250), "refused at once: {:?}", started.elapsed());
    assert_eq!(page.headers()["retry-after"], "5");
    let body = page.text().await.unwrap();
    assert!(body.contains("Service briefly overloaded"), "{body}");
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200, "probes are never shed");

    tokio::time::sleep(Duration::from_millis(1200).saturating_sub(held_at.elapsed())).await;
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    let answers = requests.await.unwrap();

    let served: Vec<_> = answers.iter().filter(|a| a.0 == 401).collect();
    let shed: Vec<_> = answers.iter().filter(|a| a.0 == 503).collect();
    assert_eq!((served.len(), shed.len()), (2, 4), "two slots served, the rest shed: {answers:?}");
    for (_, retry_after, content_type, took) in &shed {
        assert_eq!(retry_after.as_deref(), Some("5"));
        assert_eq!(content_type.as_deref(), Some("application/problem+json"), "a problem on the API");
        assert!(*took < Duration::from_millis(800), "quick, while the database still stalled: {took:?}");
    }
    for (_, _, _, took) in &served {
        assert!(*took >= Duration::from_millis(1000), "these waited for the database, holding their slots");
    }
    let after = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(after.status(), 200, "once the backend answers, everyone is served again");
}
