//! Public pages, health endpoints, and the headers every response carries.

use crate::support::{spawn_app, spawn_app_with};

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn assert_security_headers(response: &reqwest::Response) {
    let csp = header(response, "content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(header(response, "strict-transport-security").starts_with("max-age="));
    assert_eq!(header(response, "x-content-type-options"), "nosniff");
    assert_eq!(header(response, "referrer-policy"), "no-referrer");
}

#[tokio::test]
async fn the_home_page_explains_the_five_indemnities_in_italian_and_is_cacheable() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_security_headers(&response);
    assert_eq!(header(&response, "cache-control"), "public, max-age=300");
    assert!(!header(&response, "vary").contains("Cookie"));
    let html = response.text().await.unwrap();
    assert!(html.contains("<html lang=\"it\">"));
    for article in ["art. 27 c. 1", "art. 28 c. 1", "art. 29 c. 1", "art. 30 c. 1", "art. 38 c. 1"] {
        assert!(html.contains(article), "{article} missing");
    }
    assert!(html.contains("600,00 €"));
    assert!(html.contains("803 164"), "the Contact Center is among the channels");
    assert!(html.contains("Dichiarazione di accessibilità") && html.contains("Informativa sulla privacy"));
}

#[tokio::test]
async fn english_is_one_parameter_away_and_unknown_languages_fall_back_to_italian() {
    let app = spawn_app().await;
    let html = app.client.get(app.url("/?lang=en")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("March 2020 · DL 18/2020") && html.contains("May 2020 · DL 34/2020"));
    assert!(html.contains("href=\"?lang=it\""), "the switch leads back to Italian");
    let html = app.client.get(app.url("/privacy?x=1&lang=en")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("href=\"?x=1&#38;lang=it\""), "the switch keeps the other parameters");
    let html = app.client.get(app.url("/?lang=xx")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<html lang=\"it\">"));
}

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let live = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(live.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
}

#[tokio::test]
async fn responses_are_private_unless_a_handler_says_otherwise() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz", "/no-such-page"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(header(&response, "cache-control"), "no-store, private", "{path}");
        assert!(header(&response, "vary").contains("Cookie"), "{path}");
        assert_security_headers(&response);
    }
}

#[tokio::test]
async fn an_unknown_page_or_method_gets_a_page_in_the_visitors_language_not_the_browsers() {
    let app = spawn_app().await;
    let cases = [
        (reqwest::Method::GET, "/no-such-page", 404, "it", "Pagina non trovata"),
        (reqwest::Method::GET, "/no-such-page?lang=en", 404, "en", "Page not found"),
        (reqwest::Method::GET, "/domande/INPS-COVID-2026-000001/nope", 404, "it", "Pagina non trovata"),
        (reqwest::Method::DELETE, "/privacy", 405, "it", "Operazione non consentita"),
        (reqwest::Method::PUT, "/?lang=en", 405, "en", "Operation not allowed"),
    ];
    for (method, path, status, lang, title) in cases {
        let response = app.client.request(method.clone(), app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), status, "{method} {path}");
        assert_eq!(header(&response, "content-type"), "text/html; charset=utf-8", "{method} {path}");
        assert_eq!(header(&response, "cache-control"), "no-store, private", "{method} {path}");
        if status == 405 {
            assert!(!header(&response, "allow").is_empty(), "{method} {path}: Allow is kept");
        }
        let body = response.text().await.unwrap();
        assert!(body.contains(&format!("<html lang=\"{lang}\">")), "{method} {path}: {body}");
        assert!(body.contains(&format!("<h1>{title}</h1>")), "{method} {path}: {body}");
        assert!(body.contains("it-header-wrapper"), "{method} {path}: the portal's frame, as every error page");
    }
    for path in ["/api", "/api/v1/no-such-thing"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert!(header(&response, "content-type").starts_with("application/problem+json"), "{path}");
        assert!(!response.text().await.unwrap().is_empty(), "{path}");
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let mut config = sportello_web::config::Config::default();
    config.http.max_body_bytes = 1024;
    let app = spawn_app_with(config).await;
    let response = app.client.post(app.url("/domanda")).body(vec![b'x'; 4096]).send().await.unwrap();
    assert_eq!(response.status(), 413);
    assert_security_headers(&response);
    assert_eq!(header(&response, "cache-control"), "no-store, private");
}

#[tokio::test]
async fn every_link_of_the_public_pages_leads_somewhere() {
    let app = spawn_app().await;
    for page in ["/", "/?lang=en", "/accessibilita", "/privacy?lang=en"] {
        let html = app.client.get(app.url(page)).send().await.unwrap().text().await.unwrap();
        let links: Vec<&str> = html.split("href=\"").skip(1).filter_map(|rest| rest.split('"').next()).collect();
        assert!(links.len() >= 4, "{page} has its header and footer links");
        for link in links.iter().filter(|l| l.starts_with('/') && !l.starts_with("//")) {
            let link = link.replace("&amp;", "&");
            let response = app.client.get(app.url(&link)).send().await.unwrap();
            assert!(
                response.status().is_success() || response.status().is_redirection(),
                "{page} → {link}: {}",
                response.status()
            );
        }
    }
}

#[tokio::test]
async fn the_accessibility_statement_and_privacy_notice_are_public_pages() {
    let app = spawn_app().await;
    let statement = app.client.get(app.url("/accessibilita")).send().await.unwrap();
    assert_eq!(header(&statement, "cache-control"), "public, max-age=300");
    assert!(statement.text().await.unwrap().contains("legge 9 gennaio 2004, n. 4"));
    let notice = app.client.get(app.url("/privacy?lang=en")).send().await.unwrap();
    assert_eq!(notice.status(), 200);
    let text = notice.text().await.unwrap();
    assert!(text.contains("GDPR article 6(1)(e)") && text.contains("<html lang=\"en\">"));
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_and_never_on_the_portals() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_address = probe.local_addr().unwrap();
    drop(probe);
    let mut config = sportello_web::config::Config::default();
    config.http.metrics_listen = Some(metrics_address);
    let app = spawn_app_with(config).await;
    assert_eq!(app.client.get(app.url("/")).send().await.unwrap().status(), 200);
    assert_eq!(app.client.get(app.url("/metrics")).send().await.unwrap().status(), 404);

    // The spending gauges are set as the portal starts, then every 15 seconds.
    let mut text = String::new();
    for _ in 0..250 {
        if let Ok(response) = app.client.get(format!("http://{metrics_address}/metrics")).send().await {
            text = response.text().await.unwrap();
            if text.contains("sportello_budget_forecast_euros") {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(text.contains("sportello_http_requests_total"), "{text}");
    for gauge in ["limit", "reserved", "suspended", "forecast"] {
        assert!(text.contains(&format!("sportello_budget_{gauge}_euros{{scheme=\"art27\"}}")), "{gauge}: {text}");
    }
    assert!(text.contains("route=\"/\""), "requests are labelled by route template: {text}");
    assert!(text.contains("route=\"unmatched\""), "unknown paths are counted without their path: {text}");
}

/// A client that opens a connection and dribbles a request head (slowloris) is cut off after the header read
/// timeout, and connections beyond the limit wait without taking anything from those being served.
#[tokio::test]
async fn slow_request_heads_are_cut_off_and_connections_are_bounded() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    let mut config = sportello_web::config::Config::default();
    config.http.header_read_timeout_secs = 1;
    config.http.max_connections = 2;
    let app = spawn_app_with(config).await;
    let address = app.base.trim_start_matches("http://").to_owned();

    let started = Instant::now();
    let mut slow = TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the slow connection was not closed within 5 s");
    assert!(started.elapsed() >= Duration::from_millis(900), "closed only after the timeout");
    let mut silent = TcpStream::connect(&address).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), silent.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "a connection that never sends a byte was not closed within 5 s");
    let mut idle = TcpStream::connect(&address).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "a kept-alive connection that sends no next request was not closed within 5 s");

    // Two idle connections take both slots; a third waits until one of them goes.
    let first = TcpStream::connect(&address).await.unwrap();
    let _second = TcpStream::connect(&address).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let third = tokio::spawn({
        let address = address.clone();
        async move {
            let mut stream = TcpStream::connect(&address).await.unwrap();
            stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).await.unwrap();
            String::from_utf8_lossy(&answer).into_owned()
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!third.is_finished(), "a third connection was served while two held the only slots");
    drop(first);
    let answer = tokio::time::timeout(Duration::from_secs(5), third).await.expect("served once a slot freed").unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
