//! The JSON API over real HTTP: the citizen's journey through `/api/v1`, its problems, its tokens, its caching, and
//! the OpenAPI document that describes it (snapshot-tested).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use sportello_domain::registry::{Position, PositionKind, RegistryRow};
use sportello_domain::{CodiceFiscale, ProtocolNumber};
use sportello_web::routes::Audience;

use crate::support::{
    Browser, NOT_REGISTERED, PENSIONATA, PROFESSIONISTA, SESSION, TEST_PIN, TestApp, cf, pin_half, spawn_app,
    spawn_app_with,
};

/// A response read once: status, headers and the JSON body (`null` when empty).
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    /// Every value of header `name`, joined by commas.
    fn header(&self, name: &str) -> String {
        let values: Vec<&str> = self.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
        values.join(", ")
    }

    /// The `type` of a problem, after checking that the answer is one.
    fn problem(&self) -> &str {
        assert!(self.header("content-type").starts_with("application/problem+json"), "{}", self.body);
        assert_eq!(self.body["status"], self.status, "the problem's status is the response's");
        self.body["type"].as_str().unwrap_or_default()
    }

    /// The JSON pointers of a validation problem's errors.
    fn fields(&self) -> BTreeSet<String> {
        assert_eq!(self.problem(), "urn:sportello:problem:validation", "{}", self.body);
        let errors = self.body["errors"].as_array().expect("a list of errors");
        errors.iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
    }

    /// The message of the validation error at `field`.
    fn message(&self, field: &str) -> String {
        let errors = self.body["errors"].as_array().expect("a list of errors");
        let error = errors.iter().find(|e| e["field"] == field).unwrap_or_else(|| panic!("no {field}: {}", self.body));
        error["message"].as_str().unwrap().to_owned()
    }

    fn assert_private(&self) {
        assert_eq!(self.header("cache-control"), "no-store, private", "{}", self.body);
        assert!(self.header("vary").contains("Cookie"));
    }
}

/// A client of the API: no cookies, no redirects, and a bearer token once logged in.
struct Client<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    token: Option<String>,
}

impl<'a> Client<'a> {
    fn new(app: &'a TestApp) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Client { app, http, token: None }
    }

    fn with_token(app: &'a TestApp, token: &str) -> Self {
        Client { token: Some(token.to_owned()), ..Client::new(app) }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, self.app.url(path));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} is not JSON ({e}): {text}"))
        };
        Answer { status, headers, body }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(self.request(Method::GET, path)).await
    }

    async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send(self.request(Method::PUT, path).json(body)).await
    }

    async fn apply(&self, key: &str, body: &Value) -> Answer {
        self.send(self.request(Method::POST, "/api/v1/applications").header("Idempotency-Key", key).json(body)).await
    }

    /// Logs in with `pin` and keeps the token.
    async fn log_in(&mut self, codice_fiscale: &str, pin: &str) -> Answer {
        let answer = self.post("/api/v1/sessions", &json!({"codice_fiscale": codice_fiscale, "pin": pin})).await;
        if answer.status == 201 {
            self.token = Some(answer.body["token"].as_str().expect("a token").to_owned());
        }
        answer
    }
}

/// An API client logged in as `codice_fiscale`, with the PIN [`TEST_PIN`] put in the store.
async fn logged_in<'a>(app: &'a TestApp, codice_fiscale: &CodiceFiscale) -> Client<'a> {
    app.logged_in(codice_fiscale).await;
    let mut client = Client::new(app);
    let answer = client.log_in(codice_fiscale.as_str(), &TEST_PIN[..8]).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    client
}

/// A complete application for `scheme`, paid to a valid Italian IBAN.
fn application(scheme: &str) -> Value {
    json!({
        "scheme": scheme,
        "payment": {"method": "iban", "iban": "IT60 X054 2811 1010 0000 0123 456"},
        "contact": {"email": "mario.rossi@example.it"},
        "declarations": {
            "not_pension_holder": true,
            "not_reddito_di_cittadinanza": true,
            "no_other_compulsory_scheme": true,
            "not_employed": true
        }
    })
}

/// A timestamp of an answer.
fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().expect("a timestamp").parse().expect("RFC 3339")
}

#[tokio::test]
async fn a_citizen_goes_from_pin_to_receipt_through_the_api_and_cannot_take_a_second_indemnity() {
    let app = spawn_app().await;
    let me = cf(PROFESSIONISTA);
    let client = Client::new(&app);

    let asked = client.post("/api/v1/pin", &json!({"codice_fiscale": me.as_str(), "email": "mario@example.it"})).await;
    assert_eq!(asked.status, 202, "{}", asked.body);
    asked.assert_private();
    let pin = pin_half(&app.wait_for_messages("mario@example.it", 1).await[0].body);

    let mut client = Client::new(&app);
    let before = Utc::now();
    let session = client.log_in(&me.as_str().to_lowercase(), &pin.to_lowercase()).await;
    assert_eq!(session.status, 201, "{}", session.body);
    session.assert_private();
    assert_eq!(session.header("location"), "/api/v1/sessions/current");
    assert_eq!(session.body["token"].as_str().unwrap().len(), 32);
    let idle = time(&session.body["idle_expires_at"]) - before;
    let absolute = time(&session.body["absolute_expires_at"]) - before;
    assert!((29..=31).contains(&idle.num_minutes()), "the default idle timeout is 30 minutes: {idle}");
    assert!((479..=481).contains(&absolute.num_minutes()), "the default absolute timeout is 8 hours: {absolute}");

    let situation = client.get("/api/v1/situation").await;
    assert_eq!(situation.status, 200, "{}", situation.body);
    situation.assert_private();
    assert_eq!(situation.body["codice_fiscale"], me.as_str());
    assert_eq!(situation.body["in_registry"], true);
    let schemes = situation.body["schemes"].as_array().unwrap();
    assert_eq!(schemes.len(), 12, "March's five (DL 18/2020), April's five and May's two (DL 34/2020)");
    let art27 = schemes.iter().find(|s| s["scheme"] == "art27").unwrap();
    assert_eq!(art27["eligible"], true);
    assert_eq!(art27["legal_ref"], "art. 27 c. 1");
    assert!(art27["reasons"].as_array().unwrap().iter().any(|r| r["article"] == "art. 27 c. 1" && r["code"] != ""));
    // Of March's, only art. 27; May's too (a month of its own), its income fall to be declared when applying.
    let eligible: Vec<&str> =
        schemes.iter().filter(|s| s["eligible"] == true).map(|s| s["scheme"].as_str().unwrap()).collect();
    assert_eq!(eligible, ["art27", "art84c2"]);

    let submitted = client.apply("first-try", &application("art27")).await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    submitted.assert_private();
    let receipt = &submitted.body;
    let protocol = receipt["protocol"].as_str().unwrap().to_owned();
    assert!(protocol.starts_with("INPS-COVID-"), "{protocol}");
    assert_eq!(submitted.header("location"), format!("/api/v1/applications/{protocol}"));
    assert_eq!(receipt["status"], "accepted");
    assert_eq!(receipt["scheme"], "art27");
    assert_eq!(receipt["payment"], json!({"method": "iban", "iban_last4": "3456"}), "never the whole IBAN");
    assert_eq!(receipt["contact"]["email"], "mario.rossi@example.it");
    assert!(receipt["reasons"].as_array().is_some_and(|r| !r.is_empty()));

    let read = client.get(&submitted.header("location")).await;
    assert_eq!((read.status, &read.body), (200, receipt), "the receipt reads back as it was given");
    read.assert_private();

    // A retry after a lost answer: the same key and body, the same receipt, nothing new stored.
    let again = client.apply("first-try", &application("art27")).await;
    assert_eq!((again.status, &again.body), (200, receipt));
    assert_eq!(app.store.applications_of(&me).await.unwrap().len(), 1);
    // The same key for something else is a client bug, not a retry.
    let mut changed = application("art27");
    changed["payment"] = json!({"method": "domiciliato"});
    let reused = client.apply("first-try", &changed).await;
    assert_eq!(reused.status, 422, "{}", reused.body);
    assert_eq!(reused.problem(), "urn:sportello:problem:idempotency-key-reused");

    let mine = client.get("/api/v1/applications").await;
    assert_eq!(mine.status, 200);
    mine.assert_private();
    let listed = mine.body["applications"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((&listed[0]["protocol"], &listed[0]["status"]), (&json!(protocol), &json!("accepted")));

    // The registry now also shows a craft business, which alone would entitle the person under art. 28.
    let day = chrono::NaiveDate::from_ymd_opt(2010, 1, 1).unwrap();
    let craft = Position::period(PositionKind::Artigiano, day, None);
    app.import_registry(vec![RegistryRow { codice_fiscale: me, position: craft }]).await;
    let second = client.apply("second-indemnity", &application("art28")).await;
    assert_eq!(second.status, 409, "{}", second.body);
    assert_eq!(second.problem(), "urn:sportello:problem:already-applied");
    assert_eq!(second.body["first_application"]["protocol"], protocol.as_str());
    assert_eq!(second.body["first_application"]["scheme"], "art27");
    let detail = second.body["detail"].as_str().unwrap();
    assert!(detail.contains(&protocol) && detail.contains("art. 31"), "{detail}");
    assert_eq!(app.store.applications_of(&me).await.unwrap().len(), 1, "nothing stored for the second");

    // The same audit rows as the pages.
    let audit = app.store.audit_of(&me, 50).await.unwrap();
    let actions: BTreeSet<_> = audit.iter().map(|a| a.action.as_str()).collect();
    for action in
        ["view_decision", "submit_application", "view_application", "list_applications", "submit_refused_art31"]
    {
        assert!(actions.contains(action), "{action} not audited: {actions:?}");
    }
    assert!(audit.iter().all(|a| a.from.as_deref() == Some("127.0.0.1")), "with the client's address");
}

#[tokio::test]
async fn asking_for_a_pin_answers_the_same_whether_or_not_the_codice_fiscale_is_registered() {
    let app = spawn_app().await;
    let client = Client::new(&app);
    let registered = client
        .post("/api/v1/pin", &json!({"codice_fiscale": cf(PROFESSIONISTA).as_str(), "mobile": "+39 333 1"}))
        .await;
    assert_eq!(registered.status, 422, "a mobile number of 4 digits: {}", registered.body);
    assert_eq!(registered.fields(), BTreeSet::from(["/mobile".to_owned()]));

    let registered = client
        .post("/api/v1/pin", &json!({"codice_fiscale": cf(PROFESSIONISTA).as_str(), "email": "a@example.it"}))
        .await;
    let unknown = client
        .post("/api/v1/pin", &json!({"codice_fiscale": cf(NOT_REGISTERED).as_str(), "email": "b@example.it"}))
        .await;
    assert_eq!(registered.status, 202);
    assert_eq!((registered.status, &registered.body), (unknown.status, &unknown.body));
    app.wait_for_messages("a@example.it", 1).await;
    assert!(app.delivered_to("b@example.it").is_empty(), "nobody outside the registry gets a PIN");
    assert!(app.store.pins_of(&cf(NOT_REGISTERED)).await.unwrap().is_empty());

    let english = client
        .post(
            "/api/v1/pin?lang=en",
            &json!({"codice_fiscale": cf(PENSIONATA).as_str(),
        "mobile": "+39 333 123 4567"}),
        )
        .await;
    assert_eq!(english.status, 202);
    assert!(english.body["detail"].as_str().unwrap().starts_with("If the codice fiscale"), "{}", english.body);
    let sms = app.wait_for_messages("+393331234567", 1).await;
    assert!(sms[0].subject.contains("first half"), "the PIN message is in the language asked for");
}

#[tokio::test]
async fn a_refused_login_looks_the_same_for_a_wrong_pin_and_an_unknown_person_and_locks_are_shared_with_the_pages() {
    let app = spawn_app().await;
    let me = cf(PROFESSIONISTA);
    app.logged_in(&me).await;
    // A wrong PIN naming the slot of the person's PIN (its first symbol), so that it is checked and counted.
    let wrong_pin = "AZZZ2345";
    let mut client = Client::new(&app);
    let unknown = client.log_in(cf(NOT_REGISTERED).as_str(), wrong_pin).await;
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.problem(), "urn:sportello:problem:login-refused");
    assert!(unknown.header("www-authenticate").starts_with("Bearer"));
    // The same words as the login page.
    let page = Browser::new(&app).login(cf(NOT_REGISTERED).as_str(), wrong_pin).await;
    assert_eq!(page.status, 401);
    assert!(page.body.contains(unknown.body["detail"].as_str().unwrap()), "{}", unknown.body);

    for attempt in 1..=4 {
        let refused = client.log_in(me.as_str(), wrong_pin).await;
        assert_eq!((refused.status, &refused.body), (401, &unknown.body), "attempt {attempt}");
    }
    // The fifth wrong PIN comes through the page: the count is the store's, whichever door.
    assert_eq!(Browser::new(&app).login(me.as_str(), wrong_pin).await.status, 401);
    let locked = client.log_in(me.as_str(), &TEST_PIN[..8]).await;
    assert_eq!(locked.status, 401, "the right PIN is refused while locked");
    assert_eq!(locked.problem(), "urn:sportello:problem:login-locked", "and told so");
    assert!(locked.body["locked_until"].is_string(), "{}", locked.body);
    assert!(locked.header("www-authenticate").starts_with("Bearer"));
    assert_eq!(Browser::new(&app).login(me.as_str(), TEST_PIN).await.status, 401, "on the page too");

    app.clock.advance(Duration::from_secs(15 * 60 + 5));
    assert_eq!(client.log_in(me.as_str(), TEST_PIN).await.status, 201, "the full PIN, once the lock ends");

    let english = Client::new(&app).post("/api/v1/sessions", &json!({"codice_fiscale": "x", "pin": "ABC"})).await;
    assert_eq!(english.status, 422, "malformed values are told apart before any lookup, as on the page");
    assert_eq!(english.fields(), BTreeSet::from(["/codice_fiscale".to_owned(), "/pin".to_owned()]));
    assert!(english.message("/codice_fiscale").contains("16 caratteri"));
}

#[tokio::test]
async fn without_a_live_bearer_token_personal_endpoints_answer_401_and_never_read_the_cookie() {
    let app = spawn_app().await;
    let me = cf(PROFESSIONISTA);
    let mut client = logged_in(&app, &me).await;
    let token = client.token.clone().unwrap();

    let anonymous = Client::new(&app);
    let paths = ["/api/v1/situation", "/api/v1/applications", "/api/v1/applications/INPS-COVID-2020-000000001"];
    for path in paths {
        let answer = anonymous.get(path).await;
        assert_eq!(answer.status, 401, "{path}");
        assert_eq!(answer.problem(), "urn:sportello:problem:unauthorized");
        assert_eq!(answer.header("www-authenticate"), "Bearer realm=\"sportello\"", "{path}");
        answer.assert_private();
    }
    let english =
        anonymous.send(anonymous.request(Method::GET, "/api/v1/situation").header("Accept-Language", "en")).await;
    assert_eq!(english.body["title"], "Authentication required");
    assert_eq!(english.header("content-language"), "en");

    for (what, header) in [("a forged token", "Bearer 0123456789abcdef0123456789abcdef"), ("another scheme", "Basic x")]
    {
        let answer =
            anonymous.send(anonymous.request(Method::GET, "/api/v1/situation").header("Authorization", header)).await;
        assert_eq!(answer.status, 401, "{what}");
        assert!(answer.header("www-authenticate").contains("invalid_token"), "{what}");
    }

    // The portal's session cookie opens nothing here: a forged cross-site request would carry only that.
    let browser = app.logged_in(&me).await;
    let cookie = format!("{SESSION}={}", browser.cookie(SESSION).unwrap());
    let with_cookie =
        anonymous.send(anonymous.request(Method::GET, "/api/v1/situation").header("Cookie", cookie)).await;
    assert_eq!(with_cookie.status, 401);

    let logout = client.send(client.request(Method::DELETE, "/api/v1/sessions/current")).await;
    assert_eq!(logout.status, 204);
    let after = Client::with_token(&app, &token).get("/api/v1/situation").await;
    assert_eq!(after.status, 401, "the token is dead after logout");
    assert!(after.header("www-authenticate").contains("invalid_token"));
    let again = client.send(client.request(Method::DELETE, "/api/v1/sessions/current")).await;
    assert_eq!(again.status, 401);

    // Idle for longer than the idle timeout: the session ends, as the portal's do.
    let idle = logged_in(&app, &me).await;
    client.log_in(me.as_str(), &TEST_PIN[..8]).await;
    app.clock.advance(Duration::from_secs(20 * 60));
    assert_eq!(client.get("/api/v1/situation").await.status, 200, "used after 20 minutes");
    app.clock.advance(Duration::from_secs(11 * 60));
    assert_eq!(idle.get("/api/v1/situation").await.status, 401, "idle for 31 minutes");
    assert_eq!(client.get("/api/v1/situation").await.status, 200, "used 11 minutes ago");
}

#[tokio::test]
async fn another_citizens_protocol_is_not_found() {
    let app = spawn_app().await;
    let a = logged_in(&app, &cf(PROFESSIONISTA)).await;
    let submitted = a.apply("a-1", &application("art27")).await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    let location = submitted.header("location");

    let b = logged_in(&app, &cf(PENSIONATA)).await;
    let foreign = b.get(&location).await;
    assert_eq!(foreign.status, 404);
    assert_eq!(foreign.problem(), "urn:sportello:problem:not-found");
    foreign.assert_private();
    let text = foreign.body.to_string();
    assert!(!text.contains(cf(PROFESSIONISTA).as_str()) && !text.contains("3456"), "{text}");
    let missing = b.get("/api/v1/applications/INPS-COVID-2020-999999999").await;
    assert_eq!((missing.status, &missing.body), (404, &foreign.body), "as if it did not exist");
    assert_eq!(b.get("/api/v1/applications").await.body, json!({"applications": []}));
    assert_eq!(b.get(&format!("/api/v1/applications/{}", "X".repeat(500))).await.status, 404);
}

#[tokio::test]
async fn invalid_values_get_a_problem_pointing_at_each_field_in_the_clients_language() {
    let app = spawn_app().await;
    let client = logged_in(&app, &cf(PROFESSIONISTA)).await;
    let cases: [(&str, Value, &[&str]); 6] = [
        (
            "a mistyped IBAN",
            json!({"payment": {"method": "iban", "iban": "IT60X0542811101000000123457"}}),
            &["/payment/iban"],
        ),
        (
            "no declarations at all",
            json!({"declarations": {}}),
            &[
                "/declarations/not_pension_holder",
                "/declarations/no_other_compulsory_scheme",
                "/declarations/not_reddito_di_cittadinanza",
            ],
        ),
        (
            "one declaration refused",
            json!({"declarations": {"not_pension_holder": false,
            "not_reddito_di_cittadinanza": true, "no_other_compulsory_scheme": true}}),
            &["/declarations/not_pension_holder"],
        ),
        ("no contact", json!({"contact": {}}), &["/contact/email"]),
        (
            "a malformed mobile and an unknown scheme",
            json!({"contact": {"mobile": "12"}, "scheme": "art99"}),
            &["/contact/mobile", "/scheme"],
        ),
        ("a payment method we do not have", json!({"payment": {"method": "cheque"}}), &["/payment/method"]),
    ];
    for (situation, spoil, fields) in cases {
        let mut body = application("art27");
        for (key, value) in spoil.as_object().unwrap() {
            body[key] = value.clone();
        }
        let answer = client.apply(&format!("key-{}", situation.len()), &body).await;
        assert_eq!(answer.status, 422, "{situation}: {}", answer.body);
        answer.assert_private();
        let expected: BTreeSet<String> = fields.iter().map(|f| (*f).to_owned()).collect();
        assert_eq!(answer.fields(), expected, "{situation}");
    }
    let mut body = application("art27");
    body["payment"]["iban"] = json!("IT60X0542811101000000123457");
    let italian = client.apply("k", &body).await;
    assert!(italian.message("/payment/iban").starts_with("L'IBAN non è valido"), "{}", italian.body);
    assert_eq!(italian.header("content-language"), "it");
    let english = client
        .send(client.request(Method::POST, "/api/v1/applications?lang=en").header("Idempotency-Key", "k").json(&body))
        .await;
    assert!(english.message("/payment/iban").starts_with("The IBAN is not valid"), "{}", english.body);
    assert_eq!(english.body["title"], "Please check the data sent");

    let bad_cf = Client::new(&app)
        .post(
            "/api/v1/pin",
            &json!({"codice_fiscale": "RSSMRA80A01H501X",
        "email": "a@example.it"}),
        )
        .await;
    assert_eq!(bad_cf.fields(), BTreeSet::from(["/codice_fiscale".to_owned()]));
    assert!(bad_cf.message("/codice_fiscale").contains("L'ultimo carattere non corrisponde"), "{}", bad_cf.body);
    assert!(app.store.applications_of(&cf(PROFESSIONISTA)).await.unwrap().is_empty(), "nothing was stored");
}

#[tokio::test]
async fn malformed_requests_get_problems_saying_what_and_where() {
    let mut config = sportello_web::config::Config::default();
    config.http.max_body_bytes = 1024;
    let app = spawn_app_with(config).await;
    let client = logged_in(&app, &cf(PROFESSIONISTA)).await;
    let post = |body: &'static str| {
        client.request(Method::POST, "/api/v1/applications").header("Idempotency-Key", "k").body(body)
    };

    let no_key = client.send(client.request(Method::POST, "/api/v1/applications").json(&application("art27"))).await;
    assert_eq!((no_key.status, no_key.problem()), (400, "urn:sportello:problem:missing-header"));
    let bad_key = client.apply("not a key!", &application("art27")).await;
    assert_eq!(bad_key.status, 400);
    assert!(bad_key.body["detail"].as_str().unwrap().contains("Idempotency-Key"));
    let long_key = client.apply(&"k".repeat(65), &application("art27")).await;
    assert_eq!(long_key.status, 400);

    let not_json = client.send(post("{}").header("Content-Type", "text/plain")).await;
    assert_eq!((not_json.status, not_json.problem()), (415, "urn:sportello:problem:unsupported-media-type"));
    let broken = client.send(post("{\n  \"scheme\": art27\n}").header("Content-Type", "application/json")).await;
    assert_eq!((broken.status, broken.problem()), (400, "urn:sportello:problem:malformed-request"));
    assert!(broken.body["detail"].as_str().unwrap().contains("riga 2, colonna 13"), "{}", broken.body);
    let wrong_type = client.apply("k", &json!({"scheme": 27})).await;
    assert_eq!(wrong_type.fields(), BTreeSet::from(["/scheme".to_owned()]));
    let missing = client.apply("k", &json!({"scheme": "art27"})).await;
    assert_eq!(missing.fields(), BTreeSet::from(["/payment".to_owned()]));
    let unknown =
        client.apply("k", &json!({"scheme": "art27", "payment": {"method": "domiciliato"}, "iban": "x"})).await;
    assert_eq!(unknown.fields(), BTreeSet::from(["/iban".to_owned()]), "a misplaced field is named, not ignored");

    // Over the body limit: refused in front of the handlers, still as a problem.
    let mut huge = application("art27");
    huge["contact"]["email"] = json!(format!("{}@example.it", "a".repeat(2000)));
    let too_large = client.apply("k", &huge).await;
    assert_eq!((too_large.status, too_large.problem()), (413, "urn:sportello:problem:too-large"));

    let nowhere = client.get("/api/v1/nowhere?lang=en").await;
    assert_eq!((nowhere.status, nowhere.problem()), (404, "urn:sportello:problem:not-found"));
    assert_eq!(nowhere.body["title"], "Not found");
    let wrong_method = client.send(client.request(Method::PUT, "/api/v1/situation")).await;
    assert_eq!((wrong_method.status, wrong_method.problem()), (405, "urn:sportello:problem:method-not-allowed"));
    assert_eq!(wrong_method.header("allow"), "GET,HEAD");
    assert!(app.store.applications_of(&cf(PROFESSIONISTA)).await.unwrap().is_empty(), "nothing was stored");
}

#[tokio::test]
async fn the_indemnities_and_the_document_are_public_and_cacheable() {
    let app = spawn_app().await;
    let client = Client::new(&app);
    let schemes = client.get("/api/v1/schemes").await;
    assert_eq!(schemes.status, 200);
    assert_eq!(schemes.header("cache-control"), "public, max-age=300");
    assert!(schemes.header("vary").contains("Accept-Language") && !schemes.header("vary").contains("Cookie"));
    let list = schemes.body["schemes"].as_array().unwrap();
    let ids: Vec<&str> = list.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "art27", "art28", "art29", "art30", "art38", "art84c1", "art84c2", "art84c3", "art84c4", "art84c5",
            "art84c7", "art84c10"
        ]
    );
    for s in list {
        let cents = match s["id"].as_str() {
            Some("art84c2" | "art84c3") => 100_000,
            Some("art84c7") => 50_000,
            _ => 60_000,
        };
        assert_eq!(s["amount"], json!({"cents": cents, "currency": "EUR"}), "{}", s["id"]);
    }
    let decrees: Vec<(&str, &str, bool)> = list
        .iter()
        .map(|s| (s["decree"].as_str().unwrap(), s["period"].as_str().unwrap(), s["on_application"].as_bool().unwrap()))
        .collect();
    assert_eq!(decrees[0], ("DL 18/2020", "marzo 2020", true));
    assert_eq!(decrees[5], ("DL 34/2020", "aprile 2020", false), "April is paid without an application");
    assert_eq!(decrees[6], ("DL 34/2020", "maggio 2020", true));
    assert_eq!(list[6]["figures"][0]["id"], "income_2019_bimester_2");
    assert_eq!(list[0]["legal_ref"], "art. 27 c. 1");
    let english = client.get("/api/v1/schemes?lang=en").await;
    assert_ne!(english.body["schemes"][0]["title"], list[0]["title"]);
    let by_header = client.send(client.request(Method::GET, "/api/v1/schemes").header("Accept-Language", "en")).await;
    assert_eq!(by_header.body, english.body);

    let document = client.get("/api/openapi.json").await;
    assert_eq!(document.status, 200);
    assert_eq!(document.header("cache-control"), "public, max-age=300");
    assert_eq!(document.header("content-type"), "application/json");
}

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.push(target);
            }
            map.values().for_each(|v| refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_describes_exactly_the_routes_served_and_matches_its_snapshot() {
    let app = spawn_app().await;
    let document = Client::new(&app).get("/api/openapi.json").await.body;
    assert_eq!(document["openapi"], "3.1.0");

    let mut targets = Vec::new();
    refs(&document, &mut targets);
    assert!(targets.len() > 20, "the document shares its schemas and responses");
    for target in targets {
        let pointer = target.strip_prefix('#').unwrap_or_else(|| panic!("{target} points outside the document"));
        assert!(document.pointer(pointer).is_some(), "{target} resolves to nothing");
    }

    // The route table and the document list the same paths and methods.
    let served: BTreeMap<&str, BTreeSet<String>> = app
        .routes
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .map(|r| (r.path, r.methods.iter().map(|m| m.as_str().to_lowercase()).collect()))
        .collect();
    let paths = document["paths"].as_object().unwrap();
    let documented: BTreeMap<&str, BTreeSet<String>> =
        paths.iter().map(|(path, item)| (path.as_str(), item.as_object().unwrap().keys().cloned().collect())).collect();
    assert_eq!(served, documented);

    // Personal operations name the bearer scheme and its 401; public ones need nothing.
    for route in app.routes.iter().filter(|r| r.path.starts_with("/api/v1/")) {
        for method in &route.methods {
            let operation = &document["paths"][route.path][method.as_str().to_lowercase()];
            let secured = operation["security"] == json!([{"bearer": []}]);
            let bearer = !matches!(
                (route.path, method.as_str()),
                ("/api/v1/pin" | "/api/v1/sessions" | "/api/v1/intermediaries/sessions", _)
            ) && route.audience == Audience::Personal;
            assert_eq!(secured, bearer, "{method} {}", route.path);
            if secured {
                assert!(operation["responses"]["401"].is_object(), "{method} {}: its 401", route.path);
            }
        }
    }

    insta::assert_json_snapshot!("openapi", document);
}

#[tokio::test]
async fn the_citizen_follows_an_application_from_reserved_to_paid_or_returned_and_gives_a_new_iban() {
    use sportello_domain::{Cents, Iban};
    use sportello_store::{NewPaymentRun, PaymentOutcome};

    let app = spawn_app().await;
    let other = cf("VRDGPP70A01F205");
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    app.import_registry(vec![RegistryRow {
        codice_fiscale: other,
        position: Position::period(PositionKind::GestioneSeparataProfessionista, day(2016, 1, 1), None),
    }])
    .await;
    let a = logged_in(&app, &cf(PROFESSIONISTA)).await;
    let submitted = a.apply("a-1", &application("art27")).await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    assert_eq!(submitted.body["standing"], json!({"state": "reserved"}));
    let location = submitted.header("location");
    let protocol = submitted.body["protocol"].as_str().unwrap().to_owned();

    // The limit now holds exactly the first application: the next eligible one is kept, suspended.
    app.store.set_budget_limit("art27", Cents::from_euros(600), "test", "tester", Utc::now()).await.unwrap();
    let b = logged_in(&app, &other).await;
    let suspended = b.apply("b-1", &application("art27")).await;
    assert_eq!(suspended.status, 201, "{}", suspended.body);
    assert_eq!(suspended.body["status"], "suspended_budget");
    assert_eq!(suspended.body["standing"], json!({"state": "suspended_budget", "limit_ref": "art. 27 c. 2"}));
    let message = suspended.body["standing_message"].as_str().unwrap();
    assert!(message.contains("limite di spesa (art. 27 c. 2)"), "{message}");
    let other_browser = app.logged_in(&other).await;
    let page = other_browser.get("/domande?lang=en").await;
    assert!(page.body.contains("Suspended: spending limit reached") && page.body.contains("(art. 27 c. 2)"));
    assert_eq!(page.cache_control, "no-store, private");
    let receipt =
        other_browser.get(suspended.header("location").replace("/api/v1/applications", "/domande").as_str()).await;
    assert!(receipt.body.contains("Sospesa per il limite di spesa"), "{}", receipt.body);

    let run = |date| NewPaymentRun {
        pay_date: date,
        debtor_name: "INPS".to_owned(),
        debtor_iban: "IT60X0542811101000000123456".to_owned(),
        debtor_bic: "BPPIITRRXXX".to_owned(),
        at: Utc::now(),
        accepted_before: Utc::now() + chrono::Duration::days(1),
    };
    app.store.start_payment_run(&run(day(2020, 4, 15))).await.unwrap();
    let scheduled = a.get(&location).await;
    assert_eq!(
        scheduled.body["standing"],
        json!({"state": "scheduled", "pay_date": "2020-04-15", "iban_last4": "3456"})
    );
    assert_eq!(a.get("/api/v1/applications").await.body["applications"][0]["standing"]["state"], "scheduled");

    let returned = PaymentOutcome { protocol: protocol.clone(), returned: Some("AC04".to_owned()) };
    app.store.reconcile(std::slice::from_ref(&returned), Utc::now()).await.unwrap();
    let answer = a.get(&location).await;
    assert_eq!(answer.body["standing"]["state"], "returned");
    assert_eq!(answer.body["standing"]["reason"], "AC04");
    let message = answer.body["standing_message"].as_str().unwrap();
    assert!(message.contains("conto chiuso") && message.contains("nuovo IBAN"), "{message}");
    // The page offers the form, and shows only the last four characters of the account.
    let browser = app.logged_in(&cf(PROFESSIONISTA)).await;
    let page = browser.get(&format!("/domande/{protocol}")).await;
    assert!(page.body.contains(&format!("action=\"/domande/{protocol}/iban\"")), "{}", page.body);
    assert!(!page.body.contains("IT60X0542811101000000123456") && !page.body.contains("0123 456"));

    // Only for one's own application, a valid IBAN, and a returned payment.
    let path = format!("{location}/iban");
    let new_iban = json!({"iban": "IT61 X030 6909 6061 0000 0063 270"});
    let foreign = b.put(&path, &new_iban).await;
    assert_eq!((foreign.status, foreign.problem()), (404, "urn:sportello:problem:not-found"));
    let invalid = a.put(&path, &json!({"iban": "IT61X0306909606100000063271"})).await;
    assert_eq!(invalid.fields(), BTreeSet::from(["/iban".to_owned()]));
    let fixed = a.put(&path, &new_iban).await;
    assert_eq!(fixed.status, 200, "{}", fixed.body);
    assert_eq!(fixed.body["standing"], json!({"state": "reserved"}));
    assert_eq!(fixed.body["payment"], json!({"method": "iban", "iban_last4": "3270"}));
    let again = a.put(&path, &new_iban).await;
    assert_eq!((again.status, again.problem()), (409, "urn:sportello:problem:no-returned-payment"));

    app.store.start_payment_run(&run(day(2020, 4, 30))).await.unwrap();
    let repaid = a.get(&location).await;
    assert_eq!(repaid.body["standing"], json!({"state": "scheduled", "pay_date": "2020-04-30", "iban_last4": "3270"}));

    // Returned once more, the page's own form gives the next account (CSRF-checked, post/redirect/get).
    app.store.reconcile(&[returned], Utc::now()).await.unwrap();
    let form = format!("/domande/{protocol}/iban");
    let forged = browser.post(&form, &[("csrf", "forged"), ("iban", "IT60 X054 2811 1010 0000 0123 456")]).await;
    assert_eq!(forged.status, 403);
    let csrf = browser.token(&format!("/domande/{protocol}")).await;
    let mistyped = browser.post(&form, &[("csrf", &csrf), ("iban", "IT61X0306909606100000063271")]).await;
    assert_eq!(mistyped.status, 422);
    assert!(mistyped.body.contains("Torni alla ricevuta"), "{}", mistyped.body);
    let posted = browser.post(&form, &[("csrf", &csrf), ("iban", "IT60 X054 2811 1010 0000 0123 456")]).await;
    assert_eq!((posted.status, posted.location.as_str()), (303, format!("/domande/{protocol}").as_str()));
    let page = browser.get(&format!("/domande/{protocol}")).await;
    assert!(page.body.contains("Accolta, importo riservato"), "{}", page.body);
    let stored =
        app.store.application(&cf(PROFESSIONISTA), &ProtocolNumber::parse(&protocol).unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.details["payment"]["iban"], Iban::parse("IT60X0542811101000000123456").unwrap().electronic());
}

#[tokio::test]
async fn only_a_confirmed_session_annuls_what_a_stranger_submitted_and_the_person_applies_again() {
    let app = spawn_app().await;
    let person = cf(PROFESSIONISTA);
    app.on_file(&person, None, None).await;
    app.logged_in(&person).await;
    app.store.confirm_person(&person, app.clock.now()).await.unwrap();

    // A stranger asks for a PIN in the person's name: nobody is on file to send it to, so it reaches them.
    let asked = Client::new(&app)
        .post("/api/v1/pin", &json!({"codice_fiscale": person.as_str(), "email": "stranger@example.org"}))
        .await;
    assert_eq!(asked.status, 202, "{}", asked.body);
    let first = crate::support::pin_half(&app.wait_for_messages("stranger@example.org", 1).await[0].body);
    let mut stranger = Client::new(&app);
    assert_eq!(stranger.log_in(person.as_str(), &first).await.status, 201);
    let submitted = stranger.apply("stranger", &application("art27")).await;
    assert_eq!(submitted.status, 201, "{}", submitted.body);
    assert_eq!(submitted.body["standing"]["state"], "held_for_identity", "{}", submitted.body);
    let protocol = submitted.body["protocol"].as_str().unwrap().to_owned();
    let annulment = format!("/api/v1/applications/{protocol}/annulment");

    let refused = stranger.post(&annulment, &json!({})).await;
    assert_eq!((refused.status, refused.problem()), (403, "urn:sportello:problem:not-confirmed"));

    let mut owner = Client::new(&app);
    assert_eq!(owner.log_in(person.as_str(), &TEST_PIN[..8]).await.status, 201);
    let annulled = owner.post(&annulment, &json!({})).await;
    assert_eq!(annulled.status, 200, "{}", annulled.body);
    assert_eq!(annulled.body["standing"]["state"], "annulled");
    let twice = owner.post(&annulment, &json!({})).await;
    assert_eq!((twice.status, twice.problem()), (409, "urn:sportello:problem:nothing-to-annul"));
    assert_eq!(stranger.get("/api/v1/situation").await.status, 401, "the stranger's session ended");

    let again = owner.apply("mine", &application("art27")).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body["standing"]["state"], "reserved", "{}", again.body);
}

#[tokio::test]
async fn a_bearer_token_opens_no_page_and_a_session_cookie_opens_no_api_and_audits_name_the_principal() {
    let app = spawn_app().await;
    let me = cf(PROFESSIONISTA);
    let client = logged_in(&app, &me).await;
    let token = client.token.clone().unwrap();
    let browser = app.logged_in(&me).await;
    let cookie_id = browser.cookie(SESSION).unwrap();

    // Each kind works at its own door.
    assert_eq!(client.get("/api/v1/situation").await.status, 200);
    assert_eq!(browser.get("/situazione").await.status, 200);

    // A bearer token copied into the session cookie opens no page: the browser is sent to log in.
    let stranger = Browser::new(&app);
    stranger.set_cookie(SESSION, &token);
    let page = stranger.get("/situazione").await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(page.location.starts_with("/accedi"), "{}", page.location);

    // A cookie's session id presented as a bearer token opens no API endpoint.
    let answer = Client::with_token(&app, &cookie_id).get("/api/v1/situation").await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(answer.header("www-authenticate").contains("invalid_token"));

    // Both kinds still work: refusing the other door ended neither.
    assert_eq!(client.get("/api/v1/situation").await.status, 200);
    assert_eq!(browser.get("/situazione").await.status, 200);

    // Every audit row says who acted, for whom, how they logged in and by which door.
    let audit = app.store.audit_of(&me, 50).await.unwrap();
    let views: Vec<_> = audit.iter().filter(|a| a.action == "view_decision").collect();
    assert_eq!(views.len(), 4, "two views through each door");
    for row in views {
        assert_eq!(row.actor, format!("citizen:{me}"));
        assert_eq!(row.subject, me);
        assert_eq!(row.login_method.as_deref(), Some("pin_simplified"), "logged in with the PIN's first half");
        assert_eq!(row.channel, "citizen");
    }
}

#[tokio::test]
async fn a_session_of_someone_acting_for_another_opens_no_citizen_page_and_no_api() {
    use sportello_domain::intermediaries::OfficeCode;
    use sportello_domain::principal::{LoginMethod, Principal};
    use sportello_store::SessionKind;
    use sportello_usecases::sessions::{self, NewSession};

    let app = spawn_app().await;
    let citizen = cf(PROFESSIONISTA);
    let operator = cf(PENSIONATA);
    let office = OfficeCode::parse("INCA-RM-01").unwrap();
    let acting_for = Principal::intermediary(operator, office, citizen, LoginMethod::PinFull);
    let open = |kind| NewSession { principal: acting_for, kind, credential: None, confirmed: true };
    let day = Duration::from_secs(86_400);
    let cookie =
        sessions::open(app.store.as_ref(), open(SessionKind::Cookie), None, day, app.clock.now()).await.unwrap();
    let bearer =
        sessions::open(app.store.as_ref(), open(SessionKind::Bearer), None, day, app.clock.now()).await.unwrap();

    // Stored as they are, such sessions would open the citizen's data; the citizen's doors open only a citizen's own.
    let browser = Browser::new(&app);
    browser.set_cookie(SESSION, cookie.id.expose());
    let page = browser.get("/situazione").await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(page.location.starts_with("/accedi"), "{}", page.location);
    let answer = Client::with_token(&app, bearer.id.expose()).get("/api/v1/situation").await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(!answer.body.to_string().contains(citizen.as_str()), "{}", answer.body);
}

#[tokio::test]
async fn a_march_beneficiary_applies_for_may_once_and_a_second_may_is_refused_citing_art_84() {
    let app = spawn_app().await;
    let me = cf(PROFESSIONISTA);
    let client = logged_in(&app, &me).await;
    let march = client.apply("march", &application("art27")).await;
    assert_eq!((march.status, &march.body["status"]), (201, &json!("accepted")), "{}", march.body);

    // April's is paid without an application: the API refuses to take one, naming the field.
    let april = client.apply("april", &application("art84c1")).await;
    assert_eq!(april.status, 422, "{}", april.body);
    assert_eq!(april.body["errors"][0]["field"], "/scheme");
    assert!(april.body["errors"][0]["message"].as_str().unwrap().contains("non si chiede"), "{}", april.body);

    // May's asks for the two incomes art. 84 c. 2 compares; without them the problem points at each.
    let bare = client.apply("may-bare", &application("art84c2")).await;
    assert_eq!(bare.status, 422, "{}", bare.body);
    let fields: Vec<&str> =
        bare.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["/figures/income_2019_bimester_2", "/figures/income_2020_bimester_2"]);

    // Eight tabs send May's application at once, each with its own key: one is recorded, the others refused.
    let mut may = application("art84c2");
    may["figures"] = json!({"income_2019_bimester_2": "4000.00", "income_2020_bimester_2": "1200,50"});
    let answers = futures::future::join_all((0..8).map(|n| {
        let (client, may) = (&client, may.clone());
        async move { client.apply(&format!("may-{n}"), &may).await }
    }))
    .await;
    let created: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
    assert_eq!(created.len(), 1, "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    let accepted = &created[0].body;
    assert_eq!(accepted["status"], "accepted", "a fall from 4,000 to 1,200.50 euros is more than 33%");
    assert!(accepted["reasons"].as_array().unwrap().iter().any(|r| r["code"] == "art84_may.income_drop"));
    for refused in answers.iter().filter(|a| a.status != 201) {
        assert_eq!(refused.status, 409, "{}", refused.body);
        assert_eq!(refused.problem(), "urn:sportello:problem:already-applied");
        assert_eq!(refused.body["first_application"]["protocol"], accepted["protocol"]);
        let detail = refused.body["detail"].as_str().unwrap();
        assert!(detail.contains("art. 84 c. 2") && !detail.contains("art. 31"), "cites art. 84, not art. 31: {detail}");
    }
    let stored = app.store.applications_of(&me).await.unwrap();
    let schemes: Vec<&str> = stored.iter().map(|a| a.scheme.as_str()).collect();
    assert_eq!(schemes, ["art27", "art84c2"], "March's and May's, nothing else");
    assert_eq!(stored[1].cumulation_group, "dl34-2020-maggio");

    // The situation offers nothing more and names both holdings.
    let situation = client.get("/api/v1/situation").await;
    assert!(
        situation.body["schemes"].as_array().unwrap().iter().all(|s| s["may_apply"] == false),
        "{}",
        situation.body
    );
    let held: Vec<&str> =
        situation.body["holdings"].as_array().unwrap().iter().map(|h| h["scheme"].as_str().unwrap()).collect();
    assert_eq!(held, ["art27", "art84c2"]);
}
