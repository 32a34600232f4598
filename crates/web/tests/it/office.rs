//! The back office over HTTP: an officer logs in with their account, opens a case only with a reason (audited with
//! it), sees only what their role allows; citizens' and officers' sessions never open each other's pages; forms
//! need their token; every office page is private.

use sportello_domain::principal::OfficerRole;
use sportello_usecases::office::accounts::{self, NewAccount};
use sportello_usecases::pin::PinHasher;

use crate::support::{Browser, PROFESSIONISTA, SESSION, TestApp, assert_private, cf, csrf_of, encode, spawn_app};

const PASSWORD: &str = "una password lunga abbastanza";
const OFFICE: &str = "__Host-sportello_office";

async fn account(app: &TestApp, username: &str, role: OfficerRole) {
    let hasher = PinHasher::with_params(argon2::Params::new(64, 1, 1, None).unwrap(), 2).unwrap();
    let new =
        NewAccount { username, display_name: "Dott.ssa Anna Verdi", role, password: PASSWORD, codice_fiscale: None };
    accounts::add(app.store.as_ref(), &hasher, new, app.clock.now()).await.unwrap();
}

async fn office_login<'a>(app: &'a TestApp, username: &str, password: &str) -> (Browser<'a>, crate::support::Page) {
    let browser = Browser::new(app);
    let form = browser.get("/ufficio/accedi").await;
    assert_eq!(form.status, 200);
    assert_private(&form);
    let csrf = csrf_of(&form.body);
    let page =
        browser.post("/ufficio/accedi", &[("csrf", &csrf), ("username", username), ("password", password)]).await;
    (browser, page)
}

fn case_path(q: &str, motivo: &str) -> String {
    format!("/ufficio/pratica?q={}&motivo={}", encode(q), encode(motivo))
}

#[tokio::test]
async fn an_officer_opens_a_case_only_with_a_reason_and_the_view_is_audited_with_it() {
    let app = spawn_app().await;
    account(&app, "averdi", OfficerRole::Officer).await;
    let subject = cf(PROFESSIONISTA);

    let (_, wrong) = office_login(&app, "averdi", "non è questa la password").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("Nome utente o password non validi"));
    let (_, unknown) = office_login(&app, "nessuno", PASSWORD).await;
    assert_eq!((unknown.status, unknown.body.contains("Nome utente o password non validi")), (401, true));

    let (officer, page) = office_login(&app, "averdi", PASSWORD).await;
    assert_eq!((page.status, page.location.as_str()), (303, "/ufficio"));
    let cookie = page.set_cookies.iter().find(|c| c.starts_with(OFFICE)).expect("the office's cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("Secure") && cookie.contains("SameSite=Strict"));
    let desk = officer.get("/ufficio").await;
    assert_eq!(desk.status, 200);
    assert!(desk.body.contains("Dott.ssa Anna Verdi"));
    assert_private(&desk);

    let no_reason = officer.get(&case_path(subject.as_str(), "")).await;
    assert_eq!(no_reason.status, 422);
    assert!(no_reason.body.contains("motivo della consultazione"), "{}", no_reason.body);
    assert!(app.store.audit_of(&subject, 10).await.unwrap().is_empty(), "nothing read, nothing recorded");

    let case = officer.get(&case_path(&subject.as_str().to_lowercase(), "reclamo n. 17 del 2 aprile")).await;
    assert_eq!(case.status, 200, "{}", case.body);
    assert_private(&case);
    assert!(case.body.contains(subject.as_str()));
    assert!(case.body.contains("art. 27"), "the law's decision with its articles");
    let rows = app.store.audit_of(&subject, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].action, "office_view_case");
    assert!(rows[0].actor.starts_with("officer:") && rows[0].actor.ends_with(":officer"), "{}", rows[0].actor);
    assert_eq!(rows[0].channel, "back_office");
    assert_eq!(rows[0].login_method.as_deref(), Some("password"));
    assert_eq!(rows[0].reason.as_deref(), Some("reclamo n. 17 del 2 aprile"));
    assert_eq!(rows[0].from.as_deref(), Some("127.0.0.1"));

    let not_a_key = officer.get(&case_path("Mario Rossi", "reclamo n. 17 del 2 aprile")).await;
    assert_eq!(not_a_key.status, 422);
    let unknown = officer.get(&case_path("INPS-COVID-2020-999999999", "reclamo n. 17 del 2 aprile")).await;
    assert_eq!(unknown.status, 404);

    // The subject-access page is the data protection officer's, not this officer's.
    let refused = officer.get(&format!("/ufficio/accesso?cf={subject}&motivo=richiesta+art.+15")).await;
    assert_eq!(refused.status, 403);
    assert_eq!(app.store.audit_of(&subject, 10).await.unwrap().len(), 1, "a refusal records nothing");
}

#[tokio::test]
async fn citizens_and_officers_sessions_never_open_each_others_pages() {
    let app = spawn_app().await;
    account(&app, "averdi", OfficerRole::Supervisor).await;
    let citizen = app.logged_in(&cf(PROFESSIONISTA)).await;
    let citizen_id = citizen.cookie(SESSION).unwrap();
    let refused = citizen.get("/ufficio").await;
    assert_eq!((refused.status, refused.location.as_str()), (303, "/ufficio/accedi"));

    let planted = Browser::new(&app);
    planted.set_cookie(OFFICE, &citizen_id);
    let page = planted.get("/ufficio").await;
    assert_eq!((page.status, page.location.as_str()), (303, "/ufficio/accedi"), "a citizen's id in the office cookie");

    let (officer, _) = office_login(&app, "averdi", PASSWORD).await;
    let officer_id = officer.cookie(OFFICE).unwrap();
    let as_citizen = Browser::new(&app);
    as_citizen.set_cookie(SESSION, &officer_id);
    let page = as_citizen.get("/situazione").await;
    assert_eq!(page.status, 303, "an officer's id opens no citizen's page");
    assert!(page.location.starts_with("/accedi"));
    let api = app.client.get(app.url("/api/v1/situation")).bearer_auth(&officer_id).send().await.unwrap();
    assert_eq!(api.status(), 401, "nor the API");
}

#[tokio::test]
async fn forms_need_their_token_and_logout_ends_the_session_on_the_server() {
    let app = spawn_app().await;
    account(&app, "averdi", OfficerRole::Officer).await;
    let stranger = Browser::new(&app);
    let forged =
        stranger.post("/ufficio/accedi", &[("csrf", "00"), ("username", "averdi"), ("password", PASSWORD)]).await;
    assert_eq!(forged.status, 403);
    assert!(forged.set_cookies.iter().all(|c| !c.starts_with(OFFICE)));

    let (officer, _) = office_login(&app, "averdi", PASSWORD).await;
    let id = officer.cookie(OFFICE).unwrap();
    let refused = officer.post("/ufficio/esci", &[("csrf", "00")]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(officer.get("/ufficio").await.status, 200, "still logged in");
    let csrf = csrf_of(&officer.get("/ufficio").await.body);
    let out = officer.post("/ufficio/esci", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location.as_str()), (303, "/ufficio/accedi"));
    let replay = Browser::new(&app);
    replay.set_cookie(OFFICE, &id);
    assert_eq!(replay.get("/ufficio").await.status, 303, "the old id opens nothing");
}

#[tokio::test]
async fn the_data_protection_officer_gets_subject_access_and_the_breach_report() {
    let app = spawn_app().await;
    account(&app, "clerk", OfficerRole::Officer).await;
    account(&app, "dpo", OfficerRole::DataProtectionOfficer).await;
    let subject = cf(PROFESSIONISTA);
    let (clerk, _) = office_login(&app, "clerk", PASSWORD).await;
    assert_eq!(clerk.get(&case_path(subject.as_str(), "reclamo n. 17 del 2 aprile")).await.status, 200);

    let (dpo, _) = office_login(&app, "dpo", PASSWORD).await;
    let page = dpo.get(&format!("/ufficio/accesso?cf={subject}&motivo={}", encode("richiesta art. 15 n. 9"))).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_private(&page);
    assert!(page.body.contains("reclamo n. 17 del 2 aprile") && page.body.contains("office_view_case"));
    let json =
        dpo.get(&format!("/ufficio/accesso?cf={subject}&motivo={}&formato=json", encode("richiesta n. 9"))).await;
    assert_eq!(json.status, 200);
    let report: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    let actions: Vec<&str> =
        report["accesses"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["office_view_case", "office_subject_access", "office_subject_access"]);

    let now = app.clock.now();
    let window = |formato: &str| {
        format!(
            "/ufficio/violazioni?dal={}&al={}&formato={formato}",
            (now - chrono::TimeDelta::hours(1)).format("%Y-%m-%dT%H:%M"),
            (now + chrono::TimeDelta::hours(1)).format("%Y-%m-%dT%H:%M")
        )
    };
    let csv = dpo.get(&window("csv")).await;
    assert_eq!(csv.status, 200);
    assert_private(&csv);
    assert_eq!(csv.body.lines().count(), 4, "a header and the three accesses:\n{}", csv.body);
    let summary = dpo.get(&window("")).await;
    assert_eq!(summary.status, 200);
    assert!(summary.body.contains("id=\"breach-summary\""));
    let (clerk_again, _) = office_login(&app, "clerk", PASSWORD).await;
    assert_eq!(clerk_again.get(&window("csv")).await.status, 403, "a clerk assesses no breach");
}

#[tokio::test]
async fn a_supervisor_overrides_the_law_only_with_a_second_supervisor_and_the_citizen_is_told() {
    let app = spawn_app().await;
    account(&app, "primo", OfficerRole::Supervisor).await;
    account(&app, "secondo", OfficerRole::Supervisor).await;
    let subject = cf(PROFESSIONISTA);
    let citizen = app.logged_in(&subject).await;
    let (submitted, _) = crate::support::apply(&citizen, "art27").await;
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    let protocol = submitted.location.trim_start_matches("/domande/").to_owned();
    let receipt_messages = app.wait_for_messages("mario.rossi@example.it", 1).await.len();

    let (first, _) = office_login(&app, "primo", PASSWORD).await;
    let case = first.get(&case_path(&protocol, "istanza di riesame n. 5 del 3 aprile")).await;
    assert_eq!(case.status, 200, "{}", case.body);
    assert!(case.body.contains("action=\"/ufficio/riesame\""), "a supervisor may review");
    let motivation = "Verifica ispettiva: il rapporto di lavoro autonomo risulta cessato prima del 23 febbraio 2020.";
    let form = [
        ("csrf", csrf_of(&case.body)),
        ("protocollo", protocol.clone()),
        ("stato", "accepted".to_owned()),
        ("esito", "non_spetta".to_owned()),
        ("motivazione", motivation.to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let forged: Vec<(&str, &str)> = form.iter().map(|&(k, v)| if k == "csrf" { (k, "00") } else { (k, v) }).collect();
    assert_eq!(first.post("/ufficio/riesame", &forged).await.status, 403, "no token, nothing done");
    let proposed = first.post("/ufficio/riesame", &form).await;
    assert_eq!(proposed.status, 200, "{}", proposed.body);
    assert!(proposed.body.contains("secondo responsabile"), "{}", proposed.body);

    // The proposer's own case page offers no confirmation; another supervisor's does.
    let own = first.get(&case_path(&protocol, "istanza di riesame n. 5 del 3 aprile")).await;
    assert!(!own.body.contains("/conferma\""));
    let (second, _) = office_login(&app, "secondo", PASSWORD).await;
    let theirs = second.get(&case_path(&protocol, "seconda verifica del riesame n. 5")).await;
    let action = theirs.body.split("action=\"/ufficio/riesame/").nth(1).expect("a confirmation form");
    let id = action.split('/').next().unwrap().to_owned();
    let confirmed = second.post(&format!("/ufficio/riesame/{id}/conferma"), &[("csrf", &csrf_of(&theirs.body))]).await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert!(confirmed.body.contains("Respinta"), "{}", confirmed.body);
    let told = app.wait_for_messages("mario.rossi@example.it", receipt_messages + 1).await;
    let last = told.last().unwrap();
    assert!(last.subject.contains(&protocol) && last.body.contains(motivation), "{}", last.body);
}

/// The counts of the dashboard's row `id`: the last minute's and the last hour's.
fn rate_counts(body: &str, marker: &str) -> (u64, u64) {
    let row = body.split(marker).nth(1).unwrap_or_else(|| panic!("{marker} on the dashboard: {body}"));
    let row = row.split("</tr>").next().unwrap();
    let cells: Vec<u64> = row
        .split("<td>")
        .skip(1)
        .filter_map(|cell| cell.split("</td>").next())
        .filter(|cell| !cell.contains(','))
        .map(|cell| cell.parse().unwrap())
        .collect();
    (cells[0], cells[1])
}

#[tokio::test]
async fn the_dashboard_s_figures_agree_with_the_store_and_a_forecast_over_the_limit_is_flagged() {
    let app = spawn_app().await;
    account(&app, "auditor", OfficerRole::Auditor).await;
    // Applications by three channels, recorded as the doors record them.
    let mut citizens = 0;
    for n in 0..7u32 {
        let person = cf(&format!("RSSMRA80A{:02}H501", n + 1));
        let mut new = sportello_store::NewApplication {
            codice_fiscale: person,
            scheme: "art27".to_owned(),
            cumulation_group: "dl18-2020-marzo".to_owned(),
            protocol_prefix: "INPS-COVID-".to_owned(),
            idempotency_key: sportello_domain::IdempotencyKey::parse(&format!("dash-{n}")).unwrap(),
            status: sportello_store::ApplicationStatus::Accepted,
            reasons: Vec::new(),
            details: serde_json::json!({"payment": {"method": "domiciliato"}}),
            submitted_at: app.clock.now(),
            hold: None,
        };
        match n % 3 {
            0 => citizens += 1,
            1 => {
                new.details["filed_by"] =
                    serde_json::json!({"office": "INCA-RM01", "kind": "patronato", "operator": "X"})
            }
            _ => {
                new.details["filed_by"] =
                    serde_json::json!({"office": "CC-RM01", "kind": "contact_center", "operator": "Y", "call": "C1"})
            }
        }
        app.store.submit(new).await.unwrap();
    }
    let (officer, _) = office_login(&app, "auditor", PASSWORD).await;
    let page = officer.get("/ufficio/cruscotto").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_private(&page);
    assert!(!page.body.contains("http-equiv=\"refresh\""), "the page changes only when the officer asks");
    let auto = officer.get("/ufficio/cruscotto?aggiorna=si").await;
    assert!(auto.body.contains("http-equiv=\"refresh\"") && auto.body.contains("id=\"stop-refresh\""));
    assert!(!page.body.contains("<script"), "no script");
    assert!(page.body.contains("id=\"no-payment-runs\""), "no run yet");

    // What the store holds, counted apart from the dashboard's query.
    let since = app.clock.now() - chrono::TimeDelta::minutes(1);
    let mut stored = 0;
    for n in 0..7u32 {
        let person = cf(&format!("RSSMRA80A{:02}H501", n + 1));
        stored += app.store.applications_of(&person).await.unwrap().iter().filter(|a| a.submitted_at >= since).count();
    }
    assert_eq!(rate_counts(&page.body, "id=\"rate-total\""), (stored as u64, stored as u64));
    let channel = |label: &str| rate_counts(&page.body, &format!("Canale: {label}</th>"));
    assert_eq!(channel("cittadini"), (citizens, citizens));
    assert_eq!(channel("patronati").1 + channel("Contact Center").1 + citizens, stored as u64);
    assert_eq!(rate_counts(&page.body, "Esito: accolte</th>").1, 7);

    // The limit lowered to what is reserved, and one more accepted application: it waits, suspended, for a higher
    // limit; the forecast (reserved and suspended) crosses the limit, and the page says so.
    let budget = app.store.budgets().await.unwrap().into_iter().find(|b| b.scheme == "art27");
    let budget = budget.expect("art27 has a spending limit in the decrees");
    app.store.set_budget_limit("art27", budget.reserved, "test", "test", app.clock.now()).await.unwrap();
    let calm = officer.get("/ufficio/cruscotto").await;
    assert!(!calm.body.contains("spending-alert"), "at the limit, not over it: {}", calm.body);
    let one_more = app.application_of(cf("RSSMRA80A08H501"), "dash-8").await;
    assert_eq!(one_more.status, sportello_store::ApplicationStatus::SuspendedBudget);
    let page = officer.get("/ufficio/cruscotto").await;
    assert!(page.body.contains("spending-alert") && page.body.contains("supera il limite"), "{}", page.body);
    assert_eq!(rate_counts(&page.body, "Esito: sospese per i limiti di spesa</th>").1, 1);

    // A payment run: the seven accepted applications, paid in cash at the post office, in one run.
    let tomorrow = app.clock.now() + chrono::TimeDelta::days(1);
    let run = sportello_store::NewPaymentRun {
        pay_date: tomorrow.date_naive(),
        debtor_name: "INPS".to_owned(),
        debtor_iban: "IT60X0542811101000000123456".to_owned(),
        debtor_bic: "BPPIITRRXXX".to_owned(),
        at: app.clock.now(),
        accepted_before: tomorrow,
    };
    let (run, _) = app.store.start_payment_run(&run).await.unwrap();
    let page = officer.get("/ufficio/cruscotto").await;
    let row = page.body.split("id=\"payment-runs\"").nth(1).expect("the runs' table").split("</tr>").nth(1).unwrap();
    let cells: Vec<&str> = row.split("<td>").skip(1).map(|c| c.split("</td>").next().unwrap()).collect();
    assert!(row.contains(&format!("<th scope=\"row\">{}</th>", run.id)), "{row}");
    assert_eq!(cells[1..], ["in preparazione", "7", "4.200,00 €", "0", "0"], "{row}");
}
