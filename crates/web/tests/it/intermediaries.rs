//! The intermediaries' area over HTTP: an operator logs in with their PIN at an office the roster lists for them
//! today and sees only that office's mandates in force; someone the roster does not list gets no session; operators'
//! and citizens' sessions never open each other's pages; every page is private.

use chrono::{DateTime, TimeDelta, Utc};
use sha2::Digest as _;
use sportello_domain::CodiceFiscale;
use sportello_domain::intermediaries::{IntermediaryKind, OfficeCode, Role, RosterRow};
use sportello_store::{MandateRecorded, NewMandate};

use crate::support::{
    Browser, PENSIONATA, PROFESSIONISTA, SESSION, TEST_PIN, TestApp, assert_private, cf, csrf_of, filled, pairs,
    spawn_app,
};

pub(crate) const OPERATOR: &str = "__Host-sportello_intermediari";
pub(crate) const OPERATORE: &str = "VRDGPP70B02L219";

fn office(code: &str) -> OfficeCode {
    OfficeCode::parse(code).unwrap()
}

fn today(now: DateTime<Utc>) -> sportello_domain::Date {
    now.with_timezone(&chrono_tz::Europe::Rome).date_naive()
}

pub(crate) async fn roster(app: &TestApp, operator: CodiceFiscale, offices: &[&str]) {
    roster_as(app, operator, offices, Role::Operatore).await;
}

/// The roster: `operator` in `offices`, in `role`.
async fn roster_as(app: &TestApp, operator: CodiceFiscale, offices: &[&str], role: Role) {
    let rows: Vec<RosterRow> = offices
        .iter()
        .map(|code| RosterRow {
            organisation: office("INCA"),
            organisation_name: "Patronato".to_owned(),
            kind: IntermediaryKind::Patronato,
            office: office(code),
            office_name: format!("Sede {code}"),
            operator,
            role,
            valid_from: today(app.clock.now()) - TimeDelta::days(30),
            valid_to: None,
        })
        .collect();
    app.store.replace_roster(&rows, app.clock.now()).await.unwrap();
}

/// Records a mandate of `code` for `subject`, signed yesterday and in force until `days` from today.
pub(crate) async fn mandate(app: &TestApp, subject: CodiceFiscale, code: &str, days: i64) -> i64 {
    let day = today(app.clock.now());
    let form = format!("%PDF-1.4\n% {subject} {code} {days}\n%%EOF\n").into_bytes();
    let new = NewMandate {
        subject,
        office: office(code),
        operator: cf(OPERATORE),
        object: "DL 18/2020: indennità".to_owned(),
        signed_on: day - TimeDelta::days(10),
        expires_on: day + TimeDelta::days(days),
        form_sha256: hex::encode(sha2::Sha256::digest(&form)),
        form,
        recorded_at: app.clock.now(),
    };
    match app.store.record_mandate(&new, &[]).await.unwrap() {
        MandateRecorded::Recorded(m) => m.id,
        MandateRecorded::SameForm(id) => panic!("form already recorded as {id}"),
    }
}

pub(crate) async fn operator_login<'a>(app: &'a TestApp, sede: &str) -> (Browser<'a>, crate::support::Page) {
    operator_login_as(app, cf(OPERATORE), sede).await
}

/// `operator` logs in at `sede` (the first office listed for them, if empty) with their PIN.
pub(crate) async fn operator_login_as<'a>(
    app: &'a TestApp,
    operator: CodiceFiscale,
    sede: &str,
) -> (Browser<'a>, crate::support::Page) {
    // The operator's PIN, issued as any person's is.
    drop(app.logged_in(&operator).await);
    let browser = Browser::new(app);
    let form = browser.get("/intermediari/accedi").await;
    assert_eq!(form.status, 200);
    assert_private(&form);
    let csrf = csrf_of(&form.body);
    let fields =
        [("csrf", csrf.as_str()), ("codice_fiscale", operator.as_str()), ("pin", &TEST_PIN[..8]), ("sede", sede)];
    let page = browser.post("/intermediari/accedi", &fields).await;
    (browser, page)
}

#[tokio::test]
async fn an_operator_sees_only_their_office_mandates_in_force() {
    let app = spawn_app().await;
    roster(&app, cf(OPERATORE), &["INCA-RM01", "INCA-RM02"]).await;
    let in_force = cf(PROFESSIONISTA);
    let revoked = cf(PENSIONATA);
    let expired = cf("BNCLRA65C41F205");
    let elsewhere = cf("GLLMRC72D12L219");
    mandate(&app, in_force, "INCA-RM01", 30).await;
    let id = mandate(&app, revoked, "INCA-RM01", 30).await;
    assert!(app.store.revoke_mandate(id, &revoked, &format!("citizen:{revoked}"), app.clock.now()).await.unwrap());
    mandate(&app, expired, "INCA-RM01", -1).await;
    mandate(&app, elsewhere, "INCA-RM02", 30).await;

    let (operator, page) = operator_login(&app, "INCA-RM01").await;
    assert_eq!((page.status, page.location.as_str()), (303, "/intermediari"), "{}", page.body);
    let cookie = page.set_cookies.iter().find(|c| c.starts_with(OPERATOR)).expect("the operator's cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("Secure") && cookie.contains("SameSite=Strict"));
    let desk = operator.get("/intermediari").await;
    assert_eq!(desk.status, 200);
    assert_private(&desk);
    assert!(desk.body.contains(in_force.as_str()), "{}", desk.body);
    for absent in [revoked, expired, elsewhere] {
        assert!(!desk.body.contains(absent.as_str()), "{absent} on the desk of INCA-RM01");
    }

    // Moving to the other office listed today shows that office's mandates only.
    let token = csrf_of(&desk.body);
    let moved = operator.post("/intermediari/sede", &[("csrf", &token), ("sede", "INCA-RM02")]).await;
    assert_eq!((moved.status, moved.location.as_str()), (303, "/intermediari"));
    let desk = operator.get("/intermediari").await;
    assert!(desk.body.contains(elsewhere.as_str()) && !desk.body.contains(in_force.as_str()), "{}", desk.body);
    let not_listed = operator.post("/intermediari/sede", &[("csrf", &csrf_of(&desk.body)), ("sede", "CAF-MI01")]).await;
    assert_eq!(not_listed.status, 403);

    // The operator's session opens no citizen page, even presented as a citizen's cookie.
    let id = operator.cookie(OPERATOR).expect("the operator's session");
    let as_citizen = Browser::new(&app);
    as_citizen.set_cookie(SESSION, &id);
    let situation = as_citizen.get("/situazione").await;
    assert_eq!((situation.status, situation.location.starts_with("/accedi")), (303, true));

    // The roster is read on every request: the operator removed from it is logged out at the next page.
    app.store.replace_roster(&[], app.clock.now()).await.unwrap();
    let gone = operator.get("/intermediari").await;
    assert_eq!((gone.status, gone.location.as_str()), (303, "/intermediari/accedi"));
}

#[tokio::test]
async fn no_session_for_someone_the_roster_does_not_list_and_none_from_a_citizens() {
    let app = spawn_app().await;
    roster(&app, cf(PROFESSIONISTA), &["INCA-RM01"]).await;
    let (_, refused) = operator_login(&app, "").await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.set_cookies.iter().all(|c| !c.starts_with(&format!("{OPERATOR}=")) || c.contains("Max-Age=0")));
    let (_, other) = operator_login(&app, "INCA-RM01").await;
    assert_eq!(other.status, 403);

    // A citizen's session opens no operator page, in either cookie.
    let citizen = app.logged_in(&cf(PENSIONATA)).await;
    assert_eq!(citizen.get("/intermediari").await.location, "/intermediari/accedi");
    let id = citizen.cookie(SESSION).expect("the citizen's session");
    citizen.set_cookie(OPERATOR, &id);
    let desk = citizen.get("/intermediari").await;
    assert_eq!((desk.status, desk.location.as_str()), (303, "/intermediari/accedi"));
}

#[tokio::test]
async fn a_citizen_revokes_a_mandate_in_le_mie_deleghe_and_the_office_loses_them() {
    let app = spawn_app().await;
    roster(&app, cf(OPERATORE), &["INCA-RM01"]).await;
    let subject = cf(PROFESSIONISTA);
    let id = mandate(&app, subject, "INCA-RM01", 30).await;
    let (operator, _) = operator_login(&app, "INCA-RM01").await;
    assert!(operator.get("/intermediari").await.body.contains(subject.as_str()));
    assert_eq!(operator.get("/deleghe").await.location, "/accedi", "an operator's session opens no citizen page");

    let citizen = app.logged_in(&subject).await;
    let list = citizen.get("/deleghe").await;
    assert_eq!(list.status, 200);
    assert_private(&list);
    assert!(list.body.contains("INCA-RM01") && list.body.contains("In vigore"), "{}", list.body);
    let path = format!("/deleghe/{id}/revoca");
    assert!(list.body.contains(&path), "a revocation form: {}", list.body);

    // Another citizen's revocation is refused as not found, and without the form's token nothing happens.
    let other = app.logged_in(&cf(PENSIONATA)).await;
    let token = csrf_of(&other.get("/deleghe").await.body);
    assert_eq!(other.post(&path, &[("csrf", &token)]).await.status, 404);
    assert_eq!(citizen.post(&path, &[("csrf", "no")]).await.status, 403);
    assert!(operator.get("/intermediari").await.body.contains(subject.as_str()), "still in force");

    let revoked = citizen.post(&path, &[("csrf", &csrf_of(&list.body))]).await;
    assert_eq!((revoked.status, revoked.location.as_str()), (303, "/deleghe"));
    let list = citizen.get("/deleghe").await;
    assert!(list.body.contains("Revocata") && !list.body.contains(&path), "{}", list.body);
    let desk = operator.get("/intermediari").await;
    assert_eq!(desk.status, 200);
    assert!(!desk.body.contains(subject.as_str()), "the office lost the citizen: {}", desk.body);
}

#[tokio::test]
async fn an_operator_reads_a_citizen_only_under_a_mandate_of_their_office_in_force() {
    let app = spawn_app().await;
    roster(&app, cf(OPERATORE), &["INCA-RM01"]).await;
    let in_force = cf(PROFESSIONISTA);
    let revoked = cf(PENSIONATA);
    let expired = cf("BNCLRA65C41F205");
    let elsewhere = cf("GLLMRC72D12L219");
    // Not the operator's own codice fiscale, which every page's header shows.
    let never = cf("PLLSRA90M50L736");
    mandate(&app, in_force, "INCA-RM01", 30).await;
    let id = mandate(&app, revoked, "INCA-RM01", 30).await;
    assert!(app.store.revoke_mandate(id, &revoked, &format!("citizen:{revoked}"), app.clock.now()).await.unwrap());
    mandate(&app, expired, "INCA-RM01", -1).await;
    mandate(&app, elsewhere, "INCA-RM02", 30).await;
    let (operator, _) = operator_login(&app, "INCA-RM01").await;

    let seen = operator.get(&format!("/intermediari/cittadino?cf={in_force}")).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_private(&seen);
    assert!(seen.body.contains(in_force.as_str()) && seen.body.contains("spetta"), "{}", seen.body);
    let rows = app.store.audit_of(&in_force, 10).await.unwrap();
    let viewed = rows.iter().find(|r| r.action == "view_decision").expect("the reading is audited");
    assert_eq!(viewed.actor, format!("intermediary:{}@INCA-RM01", cf(OPERATORE)));
    assert_eq!(viewed.channel, "intermediary");

    for (why, subject) in [("revoked", revoked), ("expired", expired), ("another office's", elsewhere), ("none", never)]
    {
        let page = operator.get(&format!("/intermediari/cittadino?cf={subject}")).await;
        assert_eq!(page.status, 404, "{why}: {}", page.body);
        assert!(!page.body.contains(subject.as_str()), "{why}: the body names the citizen");
        assert!(app.store.audit_of(&subject, 10).await.unwrap().is_empty(), "{why}: nothing read, nothing audited");
    }
    assert_eq!(operator.get("/intermediari/cittadino?cf=non-un-codice").await.status, 404);
}

#[tokio::test]
async fn an_operator_files_for_a_citizen_under_a_mandate_and_the_citizen_s_receipt_says_who_filed_it() {
    let app = spawn_app().await;
    roster(&app, cf(OPERATORE), &["INCA-RM01"]).await;
    let citizen = cf(PROFESSIONISTA);
    let stranger = cf(PENSIONATA);
    app.on_file(&citizen, Some("mario.rossi@example.it"), None).await;
    let mandate_id = mandate(&app, citizen, "INCA-RM01", 30).await;
    let (operator, _) = operator_login(&app, "INCA-RM01").await;

    let choices = operator.get(&format!("/intermediari/domanda?cf={citizen}")).await;
    assert_eq!(choices.status, 200, "{}", choices.body);
    assert_private(&choices);
    assert!(choices.body.contains("scheme=art27"), "{}", choices.body);
    let form = operator.get(&format!("/intermediari/domanda?cf={citizen}&scheme=art27")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("value=\"mario.rossi@example.it\""), "the contacts on file fill the form");
    let mut posted = filled(&form);
    posted.push(("cf".to_owned(), citizen.to_string()));

    // A declaration not ticked: the form again, naming it, and nothing recorded.
    let unticked: Vec<_> = posted.iter().filter(|(k, _)| k != "not_pension_holder").cloned().collect();
    let refused = operator.post("/intermediari/domanda", &pairs(&unticked)).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("pensione"), "{}", refused.body);
    assert!(app.store.applications_of(&citizen).await.unwrap().is_empty(), "nothing recorded on a bad form");

    // Without the form's token nothing is done.
    let forged: Vec<_> = posted.iter().filter(|(k, _)| k != "csrf").cloned().collect();
    assert_eq!(operator.post("/intermediari/domanda", &pairs(&forged)).await.status, 403);

    let filed = operator.post("/intermediari/domanda", &pairs(&posted)).await;
    assert_eq!(filed.status, 200, "{}", filed.body);
    assert_private(&filed);
    assert!(filed.body.contains("Accolta"), "{}", filed.body);
    // The same form again answers with the same application.
    let again = operator.post("/intermediari/domanda", &pairs(&posted)).await;
    assert!(again.body.contains("già presentata"), "{}", again.body);
    let recorded = app.store.applications_of(&citizen).await.unwrap();
    assert_eq!(recorded.len(), 1, "one application, however often the form is posted");
    let protocol = recorded[0].protocol.to_string();
    assert!(filed.body.contains(&protocol) && again.body.contains(&protocol));
    let audit = app.store.audit_of(&citizen, 20).await.unwrap();
    let row = audit.iter().find(|r| r.action == "submit_application").expect("the filing is audited");
    assert_eq!(row.actor, format!("intermediary:{}@INCA-RM01", cf(OPERATORE)));
    assert_eq!(row.channel, "intermediary");

    // The citizen is told, and their receipt names the office, the operator and the mandate.
    let told = app.wait_for_messages("mario.rossi@example.it", 1).await;
    let receipt = told.iter().find(|m| m.subject.contains(&protocol)).expect("the receipt reaches the citizen");
    let by =
        format!("ufficio INCA-RM01 (patronato), operatore {}, in forza della delega n. {mandate_id}", cf(OPERATORE));
    assert!(receipt.body.contains(&by), "{}", receipt.body);
    let own = app.logged_in(&citizen).await;
    let page = own.get(&format!("/domande/{protocol}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&by), "{}", page.body);
    // "Le mie deleghe" lists the act done on their behalf: by whom, what, on which application.
    let acts = own.get("/deleghe").await;
    assert_eq!(acts.status, 200, "{}", acts.body);
    let listed = acts.body.split("id=\"acts\"").nth(1).expect("the acts done on the citizen's behalf");
    for expected in ["Presentazione di una domanda", "sede INCA-RM01", protocol.as_str()] {
        assert!(listed.contains(expected), "{expected}: {listed}");
    }

    // For a citizen without a mandate of this office: 404, the same as for a codice fiscale nobody holds, and nothing
    // recorded for them.
    let mut for_stranger = posted.clone();
    for (k, v) in &mut for_stranger {
        match k.as_str() {
            "cf" => *v = stranger.to_string(),
            "idempotency_key" => *v = "f".repeat(32),
            _ => {}
        }
    }
    let no_mandate = operator.post("/intermediari/domanda", &pairs(&for_stranger)).await;
    assert_eq!(no_mandate.status, 404, "{}", no_mandate.body);
    assert!(!no_mandate.body.contains(stranger.as_str()));
    assert!(app.store.applications_of(&stranger).await.unwrap().is_empty());
    assert_eq!(operator.get(&format!("/intermediari/domanda?cf={stranger}&scheme=art27")).await.status, 404);
    let nobody = cf("PLLSRA90M50L736");
    assert_eq!(operator.get(&format!("/intermediari/domanda?cf={nobody}")).await.status, 404);
}

#[tokio::test]
async fn an_operator_records_a_mandate_with_its_signed_form_and_the_citizen_is_told() {
    let app = spawn_app().await;
    roster(&app, cf(OPERATORE), &["INCA-RM01"]).await;
    let citizen = cf(PROFESSIONISTA);
    app.on_file(&citizen, Some("mario.rossi@example.it"), None).await;
    let (operator, _) = operator_login(&app, "INCA-RM01").await;
    let form = operator.get("/intermediari/deleghe").await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert_private(&form);
    assert!(form.body.contains("enctype=\"multipart/form-data\"") && form.body.contains("dl18-2020"));
    let csrf = csrf_of(&form.body);
    let signed = today(app.clock.now()).to_string();
    let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
    let fields = |cf: &str, privacy: bool| {
        let mut fields = vec![("csrf", csrf.clone()), ("cf", cf.to_owned()), ("decreto", "dl18-2020".to_owned())];
        fields.push(("firmata_il", signed.clone()));
        if privacy {
            fields.push(("privacy", "si".to_owned()));
        }
        fields
    };
    let post = |fields: Vec<(&'static str, String)>, file: Vec<u8>| {
        let operator = &operator;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            operator.post_file("/intermediari/deleghe", &fields, "modulo", &file).await
        }
    };

    // What is refused records nothing, and says what to correct, in the operator's words.
    // Why, the fields, the file, the status expected, what the page says.
    type Case = (&'static str, Vec<(&'static str, String)>, Vec<u8>, u16, &'static str);
    let cases: [Case; 5] = [
        ("not a PDF", fields(citizen.as_str(), true), b"GIF89a not a pdf %%EOF".to_vec(), 422, "non è un PDF"),
        ("cut short", fields(citizen.as_str(), true), b"%PDF-1.4 half a file".to_vec(), 422, "incompleto"),
        ("no privacy", fields(citizen.as_str(), false), pdf.clone(), 422, "informativa"),
        ("bad codice fiscale", fields("RSSMRA80", true), pdf.clone(), 422, "Codice fiscale"),
        (
            "too large",
            fields(citizen.as_str(), true),
            [b"%PDF-1.4\n".as_slice(), &vec![b' '; 3 << 20]].concat(),
            413,
            "troppo grand",
        ),
    ];
    for (why, fields, file, status, says) in cases {
        let page = post(fields, file).await;
        assert_eq!(page.status, status, "{why}: {}", page.body);
        assert!(page.body.contains(says), "{why}: {}", page.body);
        assert!(app.store.mandates_of(&citizen).await.unwrap().is_empty(), "{why}: nothing recorded");
    }
    let mut forged = fields(citizen.as_str(), true);
    forged[0].1 = "not-the-token".to_owned();
    assert_eq!(post(forged, pdf.clone()).await.status, 403);
    assert!(app.store.mandates_of(&citizen).await.unwrap().is_empty(), "nothing recorded without the token");

    let recorded = post(fields(citizen.as_str(), true), pdf.clone()).await;
    assert_eq!((recorded.status, recorded.location.as_str()), (303, "/intermediari"), "{}", recorded.body);
    let held = app.store.mandates_of(&citizen).await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].form_sha256, hex::encode(sha2::Sha256::digest(&pdf)), "the form is kept with its hash");
    let desk = operator.get("/intermediari").await;
    assert!(desk.body.contains(citizen.as_str()), "the desk lists the new mandate: {}", desk.body);
    let told = app.wait_for_messages("mario.rossi@example.it", 1).await;
    assert!(told.iter().any(|m| m.body.contains("INCA-RM01") && m.body.contains("Le mie deleghe")), "{told:?}");
    let audit = app.store.audit_of(&citizen, 10).await.unwrap();
    assert!(audit.iter().any(|r| r.action == "record_mandate" && r.actor.ends_with("@INCA-RM01")), "{audit:?}");

    // The same signed form cannot stand for a second citizen.
    let again = post(fields(cf(PENSIONATA).as_str(), true), pdf).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(app.store.mandates_of(&cf(PENSIONATA)).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_office_files_a_batch_and_gets_a_report_per_row_and_the_same_file_again_files_nothing_new() {
    let app = spawn_app().await;
    roster_as(&app, cf(OPERATORE), &["INCA-RM01"], Role::Responsabile).await;
    let entitled = cf(PROFESSIONISTA);
    let pensioner = cf(PENSIONATA);
    let stranger = cf("GLLMRC72D12L219");
    mandate(&app, entitled, "INCA-RM01", 30).await;
    mandate(&app, pensioner, "INCA-RM01", 30).await;
    let (operator, _) = operator_login(&app, "INCA-RM01").await;
    let form = operator.get("/intermediari/lotti").await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert_private(&form);
    assert!(form.body.contains(&sportello_usecases::intermediaries::batch::COLUMNS.join(",")));
    let csrf = csrf_of(&form.body);
    let row = |cf: &str, iban: &str| format!("{cf},art27,iban,{iban},mario.rossi@example.it,,si,si,si,si,,\n");
    let file = [
        format!("{}\n", sportello_usecases::intermediaries::batch::COLUMNS.join(",")),
        row(entitled.as_str(), "IT60X0542811101000000123456"),
        row(pensioner.as_str(), "IT60X0542811101000000123456"),
        row(stranger.as_str(), "IT60X0542811101000000123456"),
        row(entitled.as_str(), "IT00"),
    ]
    .concat();

    // Without the form's token nothing is filed.
    let forged = operator.post_file("/intermediari/lotti", &[], "lotto", file.as_bytes()).await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(app.store.applications_of(&entitled).await.unwrap().is_empty());

    let filed = operator.post_file("/intermediari/lotti", &[("csrf", &csrf)], "lotto", file.as_bytes()).await;
    assert_eq!(filed.status, 200, "{}", filed.body);
    assert_private(&filed);
    let report = filed.body.split("id=\"report\"").nth(1).expect("the report");
    let lines: Vec<&str> = report.split("<tr>").skip(2).collect();
    assert_eq!(lines.len(), 4, "a row of report per row: {report}");
    let protocol = app.store.applications_of(&entitled).await.unwrap()[0].protocol.to_string();
    assert!(lines[0].contains("<td>2</td>") && lines[0].contains("accolta") && lines[0].contains(&protocol));
    assert!(lines[1].contains("respinta") && lines[1].contains("art."), "{}", lines[1]);
    assert!(lines[2].contains("colonna codice_fiscale"), "{}", lines[2]);
    assert!(lines[3].contains("colonna iban"), "{}", lines[3]);
    assert!(filed.body.contains("accolte 1 · respinte 1 · non presentate 2"), "{}", filed.body);

    let again = operator.post_file("/intermediari/lotti", &[("csrf", &csrf)], "lotto", file.as_bytes()).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(again.body.contains("già presentate con un caricamento precedente 2"), "{}", again.body);
    assert_eq!(app.store.applications_of(&entitled).await.unwrap().len(), 1, "nothing new");
    assert_eq!(app.store.applications_of(&pensioner).await.unwrap().len(), 1, "nothing new");
    assert!(app.store.applications_of(&stranger).await.unwrap().is_empty());

    let headless = operator.post_file("/intermediari/lotti", &[("csrf", &csrf)], "lotto", b"RSSMRA80A01H501U\n").await;
    assert_eq!(headless.status, 422, "{}", headless.body);

    // An operatore, not the office's head, files no batch.
    roster(&app, cf(OPERATORE), &["INCA-RM01"]).await;
    let (operatore, _) = operator_login(&app, "INCA-RM01").await;
    let csrf = csrf_of(&operatore.get("/intermediari").await.body);
    let refused = operatore.post_file("/intermediari/lotti", &[("csrf", &csrf)], "lotto", file.as_bytes()).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(app.store.applications_of(&entitled).await.unwrap().len(), 1, "nothing new");
}

/// The lines of an NDJSON answer, as JSON.
fn ndjson(body: &str) -> Vec<serde_json::Value> {
    body.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect()
}

#[tokio::test]
async fn an_office_files_a_batch_in_one_api_call_and_reads_each_row_as_it_is_filed() {
    let app = spawn_app().await;
    roster_as(&app, cf(OPERATORE), &["INCA-RM01"], Role::Responsabile).await;
    let entitled = cf(PROFESSIONISTA);
    let pensioner = cf(PENSIONATA);
    let stranger = cf("GLLMRC72D12L219");
    mandate(&app, entitled, "INCA-RM01", 30).await;
    mandate(&app, pensioner, "INCA-RM01", 30).await;
    // The operator's PIN, issued as anyone's is.
    drop(app.logged_in(&cf(OPERATORE)).await);
    let client = reqwest::Client::new();
    let login = |office: &'static str, pin: &'static str| {
        let request = client.post(app.url("/api/v1/intermediaries/sessions")).json(&serde_json::json!({
            "codice_fiscale": cf(OPERATORE).as_str(), "pin": pin, "office": office
        }));
        async move { request.send().await.unwrap() }
    };
    assert_eq!(login("INCA-RM01", "ABCD2346").await.status(), 401, "a wrong PIN");
    let elsewhere = login("INCA-RM02", &TEST_PIN[..8]).await;
    assert_eq!(elsewhere.status(), 403, "an office the roster does not list for them");
    let opened = login("INCA-RM01", &TEST_PIN[..8]).await;
    assert_eq!(opened.status(), 201);
    let opened: serde_json::Value = opened.json().await.unwrap();
    let token = opened["token"].as_str().unwrap().to_owned();
    assert_eq!(opened["office"], "INCA-RM01");

    let row = |cf: &str, iban: &str| format!("{cf},art27,iban,{iban},mario.rossi@example.it,,si,si,si,si,,\n");
    let file = [
        format!("{}\n", sportello_usecases::intermediaries::batch::COLUMNS.join(",")),
        row(entitled.as_str(), "IT60X0542811101000000123456"),
        row(pensioner.as_str(), "IT60X0542811101000000123456"),
        row(stranger.as_str(), "IT60X0542811101000000123456"),
        row(entitled.as_str(), "IT00"),
    ]
    .concat();
    let post = |token: Option<&str>, content_type: &str, body: String| {
        let mut request =
            client.post(app.url("/api/v1/intermediaries/batches")).header("content-type", content_type).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap() }
    };
    assert_eq!(post(None, "text/csv", file.clone()).await.status(), 401);
    assert_eq!(post(Some(&token), "text/plain", file.clone()).await.status(), 415);
    // A citizen's token opens no operator's call, and an operator's opens no citizen's.
    let citizen = app.logged_in(&entitled).await;
    drop(citizen);
    let citizen_token: serde_json::Value = client
        .post(app.url("/api/v1/sessions"))
        .json(&serde_json::json!({"codice_fiscale": entitled.as_str(), "pin": &TEST_PIN[..8]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let citizen_token = citizen_token["token"].as_str().unwrap().to_owned();
    assert_eq!(post(Some(&citizen_token), "text/csv", file.clone()).await.status(), 401);
    let situation = client.get(app.url("/api/v1/situation")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(situation.status(), 401);
    assert!(app.store.applications_of(&entitled).await.unwrap().is_empty(), "nothing filed so far");

    let filed = post(Some(&token), "text/csv", file.clone()).await;
    assert_eq!(filed.status(), 200);
    assert_eq!(filed.headers()["content-type"], "application/x-ndjson");
    assert_eq!(filed.headers()["cache-control"], "no-store, private");
    let lines = ndjson(&filed.text().await.unwrap());
    assert_eq!(lines.len(), 5, "a line per row, then the totals: {lines:?}");
    let protocol = app.store.applications_of(&entitled).await.unwrap()[0].protocol.to_string();
    assert_eq!((lines[0]["line"].as_u64(), lines[0]["outcome"].as_str()), (Some(2), Some("accepted")));
    assert_eq!(lines[0]["protocol"], protocol.as_str());
    assert_eq!(lines[1]["outcome"], "refused");
    assert!(lines[1]["reasons"][0]["article"].as_str().unwrap().contains("art."), "{}", lines[1]);
    assert_eq!(
        (lines[2]["outcome"].as_str(), lines[2]["errors"][0]["column"].as_str()),
        (Some("error"), Some("codice_fiscale"))
    );
    assert_eq!(
        (lines[3]["outcome"].as_str(), lines[3]["errors"][0]["column"].as_str()),
        (Some("invalid"), Some("iban"))
    );
    assert_eq!(
        lines[4]["totals"],
        serde_json::json!({"rows": 4, "accepted": 1, "refused": 1, "not_filed": 2, "again": 0})
    );

    // The same file again creates nothing new.
    let again = ndjson(&post(Some(&token), "text/csv", file.clone()).await.text().await.unwrap());
    assert_eq!(again[0]["again"], true);
    assert_eq!(again[4]["totals"]["again"], 2);
    assert_eq!(app.store.applications_of(&entitled).await.unwrap().len(), 1, "nothing new");
    assert!(app.store.applications_of(&stranger).await.unwrap().is_empty());

    // A file without its header: refused before anything is filed.
    let headless = post(Some(&token), "text/csv", row(entitled.as_str(), "IT60X0542811101000000123456")).await;
    assert_eq!(headless.status(), 422);

    // An operatore, not the office's head, files no batch.
    roster(&app, cf(OPERATORE), &["INCA-RM01"]).await;
    assert_eq!(post(Some(&token), "text/csv", file).await.status(), 403);
}
