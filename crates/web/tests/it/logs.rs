//! No PIN, session id or IBAN reaches the logs: a whole journey runs with every log line of every crate captured
//! at the most verbose level, and the secrets it handled are looked for in what was written.

use std::sync::OnceLock;

use crate::support::{
    Browser, IBAN, LogCapture, PROFESSIONISTA, SESSION, apply, cf, csrf_of, pin_half, spawn_app_with,
};

/// Installs (once) a subscriber writing every event of every crate, at trace level, in the JSON format production
/// uses, into a buffer, and returns that buffer.
fn captured() -> LogCapture {
    static CAPTURE: OnceLock<LogCapture> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let capture = LogCapture::default();
            let writer = capture.clone();
            tracing_subscriber::fmt()
                .json()
                .with_max_level(tracing::Level::TRACE)
                .with_writer(move || writer.clone())
                .try_init()
                .expect("no other subscriber in this test binary");
            capture
        })
        .clone()
}

#[tokio::test]
async fn a_whole_journey_logs_no_pin_session_id_or_iban() {
    let logs = captured();
    let mut config = sportello_web::config::Config::default();
    config.pin.second_half_delay_secs = 0;
    let app = spawn_app_with(config).await;
    let me = cf(PROFESSIONISTA);
    app.on_file(&me, None, Some("+393477654321")).await;

    let browser = Browser::new(&app);
    assert_eq!(browser.request_pin(me.as_str(), "+39 347 765 4321").await.status, 200);
    let messages = app.wait_for_messages("+393477654321", 2).await;
    let halves: Vec<String> = messages.iter().map(|m| pin_half(&m.body)).collect();
    let first = messages.iter().position(|m| m.subject.contains("prima")).expect("the first half");
    let full = format!("{}{}", halves[first], halves[1 - first]);
    let login = browser.login(me.as_str(), &full).await;
    assert_eq!(login.status, 303, "{}", login.body);
    let session = browser.cookie(SESSION).expect("a session");

    let (submitted, _) = apply(&browser, "art27").await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    assert_eq!(browser.get(&submitted.location).await.status, 200);
    let situation = browser.get("/situazione").await;
    assert_eq!(browser.post("/esci", &[("csrf", &csrf_of(&situation.body))]).await.status, 303);
    // The old session id and a wrong PIN are what a log line about a failure could quote.
    browser.set_cookie(SESSION, &session);
    assert_eq!(browser.get("/situazione").await.status, 303);
    assert_eq!(browser.login(me.as_str(), &halves[1 - first]).await.status, 401);

    let text = logs.text();
    assert!(text.contains("\"route\":\"/domanda/invia\""), "the requests were logged: the capture works");
    assert!(text.contains("message delivered"), "the PIN deliveries were logged");
    let iban_compact: String = IBAN.split_whitespace().collect();
    let secrets = [
        ("the first PIN half", halves[first].as_str()),
        ("the second PIN half", halves[1 - first].as_str()),
        ("the full PIN", full.as_str()),
        ("the session id", session.as_str()),
        ("the IBAN", IBAN),
        ("the IBAN without spaces", iban_compact.as_str()),
    ];
    for (what, secret) in secrets {
        let line = text.lines().find(|line| line.contains(secret));
        assert!(line.is_none(), "{what} is in the logs: {}", line.unwrap_or_default());
    }
}
