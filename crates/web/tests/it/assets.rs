//! The static files (bootstrap-italia and Sportello's style sheet) over real HTTP: served with a year-long immutable
//! cache lifetime and their Content-Type, every reference resolves, anything else is a 404 nobody caches.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{TestApp, spawn_app};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

/// The stylesheet links of the page at `path`.
async fn stylesheets(app: &TestApp, path: &str) -> Vec<String> {
    let html = app.client.get(app.url(path)).send().await.unwrap().text().await.unwrap();
    html.split("<link rel=\"stylesheet\" href=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

/// Every `url(...)` in `css` that is not a `data:` URI, without its quotes.
fn urls(css: &str) -> Vec<String> {
    css.split("url(")
        .skip(1)
        .map(|rest| rest.split(')').next().unwrap().trim().trim_matches(['"', '\'']).to_owned())
        .filter(|url| !url.starts_with("data:"))
        .collect()
}

/// `GET path` sent as written, bypassing the client's URL normalisation (which would resolve `..` itself): the status.
async fn raw_get_status(app: &TestApp, path: &str) -> u16 {
    let address = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    response.split(' ').nth(1).and_then(|status| status.parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn the_style_sheets_are_css_cacheable_for_a_year() {
    let app = spawn_app().await;
    let links = stylesheets(&app, "/").await;
    assert!(links.iter().any(|l| l.starts_with("/static/bootstrap-italia/")), "{links:?}");
    assert!(links.iter().any(|l| l.starts_with("/static/sportello/")), "{links:?}");
    for link in &links {
        let response = app.client.get(app.url(link)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{link}");
        assert_eq!(header(&response, "cache-control"), IMMUTABLE, "{link}");
        assert!(header(&response, "content-type").starts_with("text/css"), "{link}");
        assert!(!header(&response, "vary").contains("Cookie"), "{link}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff", "{link}");
    }
    let bootstrap = links.iter().find(|l| l.starts_with("/static/bootstrap-italia/")).unwrap();
    let version = bootstrap.split('/').nth(3).unwrap();
    assert_eq!(version, sportello_web::assets::BOOTSTRAP_ITALIA_VERSION, "the path names the version served");
}

#[tokio::test]
async fn every_page_links_style_sheets_that_resolve() {
    let app = spawn_app().await;
    let browser = app.logged_in(&crate::support::cf(crate::support::PROFESSIONISTA)).await;
    let mut pages = Vec::new();
    for path in ["/", "/?lang=en", "/accessibilita", "/privacy", "/pin", "/accedi"] {
        pages.push((path, app.client.get(app.url(path)).send().await.unwrap().text().await.unwrap()));
    }
    for path in ["/situazione", "/domanda?scheme=art27", "/domande"] {
        pages.push((path, browser.get(path).await.body));
    }
    for (path, html) in &pages {
        let links: Vec<&str> = html
            .split("<link rel=\"stylesheet\" href=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .collect();
        assert_eq!(links.len(), 2, "{path} links bootstrap-italia and sportello.css");
        for link in links {
            let response = app.client.get(app.url(link)).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path} → {link}");
        }
    }
}

#[tokio::test]
async fn every_font_and_image_the_style_sheets_name_resolves_with_its_type() {
    let app = spawn_app().await;
    let base = reqwest::Url::parse(&app.base).unwrap();
    let mut fonts = 0;
    for link in stylesheets(&app, "/").await {
        let sheet = base.join(&link).unwrap();
        let css = app.client.get(sheet.clone()).send().await.unwrap().text().await.unwrap();
        for url in urls(&css) {
            let target = sheet.join(&url).unwrap();
            assert_eq!(target.origin(), base.origin(), "{link} names {url}, from another origin");
            let response = app.client.get(target.clone()).send().await.unwrap();
            assert_eq!(response.status(), 200, "{link} names {url} → {target}");
            assert_eq!(header(&response, "cache-control"), IMMUTABLE, "{target}");
            let content_type = header(&response, "content-type");
            let path = target.path();
            let expected = if path.ends_with(".woff2") {
                fonts += 1;
                "font/woff2"
            } else if path.ends_with(".svg") {
                "image/svg+xml"
            } else {
                panic!("{link} names {url}: neither a font nor an image the portal serves")
            };
            assert_eq!(content_type, expected, "{target}");
        }
    }
    assert!(fonts >= 4, "the style sheets declare bootstrap-italia's fonts (found {fonts})");
}

#[tokio::test]
async fn the_icon_sprite_the_pages_use_is_served() {
    let app = spawn_app().await;
    let html = app.client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    let sprite = html.split("<use href=\"").nth(1).and_then(|rest| rest.split('#').next()).expect("an icon");
    let response = app.client.get(app.url(sprite)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "image/svg+xml");
    assert!(response.text().await.unwrap().contains("id=\"it-pa\""));
}

#[tokio::test]
async fn every_page_links_an_icon_that_resolves_and_browsers_that_guess_find_it_too() {
    let app = spawn_app().await;
    for page in ["/", "/privacy?lang=en", "/accedi", "/no-such-page"] {
        let html = app.client.get(app.url(page)).send().await.unwrap().text().await.unwrap();
        let icon = html.split("<link rel=\"icon\" href=\"").nth(1).and_then(|rest| rest.split('"').next());
        assert_eq!(icon, Some(sportello_web::assets::FAVICON), "{page}");
    }
    let linked = app.client.get(app.url(sportello_web::assets::FAVICON)).send().await.unwrap();
    assert_eq!(linked.status(), 200);
    assert_eq!(header(&linked, "content-type"), "image/svg+xml");
    assert_eq!(header(&linked, "cache-control"), sportello_web::security::IMMUTABLE);
    assert!(linked.text().await.unwrap().starts_with("<svg"), "an SVG");
    let guessed = app.client.get(app.url("/favicon.ico")).send().await.unwrap();
    assert_eq!(guessed.status(), 200);
    assert_eq!(header(&guessed, "content-type"), "image/svg+xml");
    assert!(header(&guessed, "cache-control").starts_with("public, max-age="), "cacheable by anyone");
}

#[tokio::test]
async fn unknown_static_files_are_not_found_and_not_cached() {
    let app = spawn_app().await;
    let version = sportello_web::assets::BOOTSTRAP_ITALIA_VERSION;
    for path in [
        format!("/static/bootstrap-italia/{version}/css/nothing.css"),
        format!("/static/bootstrap-italia/{version}/js/bootstrap-italia.bundle.min.js"),
        "/static/bootstrap-italia/0.0.1/css/bootstrap-italia.min.css".to_owned(),
        "/static/sportello/0000000000000000/sportello.css".to_owned(),
        "/static/".to_owned(),
    ] {
        let response = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(header(&response, "cache-control"), "no-store, private", "{path}");
    }
}

#[tokio::test]
async fn path_traversal_finds_nothing() {
    let app = spawn_app().await;
    let version = sportello_web::assets::BOOTSTRAP_ITALIA_VERSION;
    let deep = format!("/static/bootstrap-italia/{version}/css");
    for path in [
        "/static/../Cargo.toml".to_owned(),
        "/static/../../Cargo.toml".to_owned(),
        "/static/..%2fCargo.toml".to_owned(),
        "/static/..%2FCargo.toml".to_owned(),
        "/static/%2e%2e/Cargo.toml".to_owned(),
        "/static/%2e%2e%2fCargo.toml".to_owned(),
        "/static/..%5cCargo.toml".to_owned(),
        "/static/%252e%252e%252fCargo.toml".to_owned(),
        "/static//etc/passwd".to_owned(),
        "/static/%2fetc%2fpasswd".to_owned(),
        format!("{deep}/../../../../../../Cargo.toml"),
        format!("{deep}/..%2f..%2f..%2f..%2f..%2f..%2fCargo.toml"),
        format!("{deep}/../css/bootstrap-italia.min.css"),
    ] {
        assert_eq!(raw_get_status(&app, &path).await, 404, "{path}");
    }
    // The control: the same client reaches a file that exists.
    assert_eq!(raw_get_status(&app, &format!("{deep}/bootstrap-italia.min.css")).await, 200);
}
