//! The Contact Center over HTTP: an operator seated at a Contact Center office of the roster identifies a caller by
//! their codice fiscale and the first half of their PIN, with the call's id and the caller's consent; only then do
//! they read the caller's situation and file an assisted application, which records the call and whose receipt says
//! so. Without identification nothing about anyone is read or filed; a call opens nothing for another operator, a
//! patronato or a citizen's door; ending the call ends its session.

use chrono::{DateTime, TimeDelta, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::intermediaries::{IntermediaryKind, OfficeCode, Role, RosterRow};
use sportello_usecases::draft::Details;

use crate::intermediaries::{OPERATOR, OPERATORE, operator_login_as};
use crate::support::{
    Browser, PENSIONATA, PROFESSIONISTA, SESSION, TEST_PIN, TestApp, assert_private, cf, csrf_of, filled, pairs,
    spawn_app,
};

/// The identified caller's session cookie.
pub(crate) const CALL: &str = "__Host-sportello_chiamata";
/// An operator of the Contact Center.
pub(crate) const CC_OPERATOR: &str = "CNTLCU75A01H501";
/// Another operator of the same Contact Center office.
pub(crate) const CC_OTHER: &str = "BLLSRA80A41H501";

fn today(now: DateTime<Utc>) -> sportello_domain::Date {
    now.with_timezone(&chrono_tz::Europe::Rome).date_naive()
}

/// The roster: the Contact Center's two operators at office CC-RM01, and the patronato operator at INCA-RM01.
pub(crate) async fn roster_with_contact_center(app: &TestApp) {
    let row = |operator: &str, organisation: &str, office: &str, kind| RosterRow {
        organisation: OfficeCode::parse(organisation).unwrap(),
        organisation_name: organisation.to_owned(),
        kind,
        office: OfficeCode::parse(office).unwrap(),
        office_name: format!("Sede {office}"),
        operator: cf(operator),
        role: Role::Operatore,
        valid_from: today(app.clock.now()) - TimeDelta::days(30),
        valid_to: None,
    };
    let rows = [
        row(CC_OPERATOR, "CC", "CC-RM01", IntermediaryKind::ContactCenter),
        row(CC_OTHER, "CC", "CC-RM01", IntermediaryKind::ContactCenter),
        row(OPERATORE, "INCA", "INCA-RM01", IntermediaryKind::Patronato),
    ];
    app.store.replace_roster(&rows, app.clock.now()).await.unwrap();
}

/// The identification form posted by `operator` for `caller` on call `call`.
pub(crate) async fn identify(
    operator: &Browser<'_>,
    call: &str,
    caller: &CodiceFiscale,
    half: &str,
    consent: bool,
) -> crate::support::Page {
    let form = operator.get("/intermediari/chiamata").await;
    let csrf = csrf_of(&form.body);
    let mut fields =
        vec![("csrf", csrf.as_str()), ("call_id", call), ("codice_fiscale", caller.as_str()), ("pin", half)];
    if consent {
        fields.push(("consent", "si"));
    }
    operator.post("/intermediari/chiamata", &fields).await
}

#[tokio::test]
async fn the_contact_center_files_for_an_identified_caller_and_cannot_without() {
    let app = spawn_app().await;
    let caller = cf(PROFESSIONISTA);
    let stranger = cf(PENSIONATA);
    app.on_file(&caller, Some("mario.rossi@example.it"), None).await;
    // The caller's PIN, issued as anyone's is.
    drop(app.logged_in(&caller).await);
    roster_with_contact_center(&app).await;
    let (cc, login) = operator_login_as(&app, cf(CC_OPERATOR), "CC-RM01").await;
    assert_eq!((login.status, login.location.as_str()), (303, "/intermediari"), "{}", login.body);
    let desk = cc.get("/intermediari").await;
    assert!(desk.body.contains("id=\"new-call\""), "the Contact Center's desk starts a call: {}", desk.body);

    // No caller identified: the identification form, and the filing pages refuse; nothing is filed.
    let start = cc.get("/intermediari/chiamata").await;
    assert_eq!(start.status, 200, "{}", start.body);
    assert_private(&start);
    assert!(start.body.contains("Identifica il chiamante") && !start.body.contains(caller.as_str()));
    assert_eq!(cc.get("/intermediari/chiamata/domanda?scheme=art27").await.status, 403);
    let csrf = csrf_of(&start.body);
    let unidentified = [
        ("csrf", csrf.as_str()),
        ("scheme", "art27"),
        ("idempotency_key", "0123456789abcdef0123456789abcdef"),
        ("payment", "domiciliato"),
        ("not_pension_holder", "si"),
        ("no_other_compulsory_scheme", "si"),
        ("not_employed", "si"),
        ("not_reddito_di_cittadinanza", "si"),
    ];
    let refused = cc.post("/intermediari/chiamata/domanda", &unidentified).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(app.store.applications_of(&caller).await.unwrap().is_empty(), "nothing filed without identification");

    // Without consent, with a whole PIN, with a bad call id: the form again, saying what is missing.
    let no_consent = identify(&cc, "CC-20200401-0001", &caller, &TEST_PIN[..8], false).await;
    assert_eq!(no_consent.status, 422, "{}", no_consent.body);
    assert!(no_consent.body.contains("consent"), "{}", no_consent.body);
    let whole = identify(&cc, "CC-20200401-0001", &caller, TEST_PIN, true).await;
    assert_eq!(whole.status, 422, "{}", whole.body);
    let bad_call = identify(&cc, "chiamata n. 1", &caller, &TEST_PIN[..8], true).await;
    assert_eq!(bad_call.status, 422, "{}", bad_call.body);
    // A wrong half and a codice fiscale with no PIN get the same answer, and open no call.
    let wrong = identify(&cc, "CC-20200401-0001", &caller, "ABCD2346", true).await;
    let nobody = identify(&cc, "CC-20200401-0001", &stranger, &TEST_PIN[..8], true).await;
    assert_eq!((wrong.status, nobody.status), (403, 403), "{}", wrong.body);
    let said = |page: &crate::support::Page| {
        page.body.split("id=\"call-refused\"").nth(1).unwrap().split("</div>").next().unwrap().to_owned()
    };
    assert_eq!(said(&wrong), said(&nobody));
    for page in [&no_consent, &whole, &bad_call, &wrong, &nobody] {
        assert!(page.set_cookies.iter().all(|c| !c.starts_with(&format!("{CALL}="))), "no call opened");
    }

    // Identified: the call opens in a cookie of its own, and the caller's situation and applications are read.
    let opened = identify(&cc, "CC-20200401-0001", &caller, &TEST_PIN[..8], true).await;
    assert_eq!((opened.status, opened.location.as_str()), (303, "/intermediari/chiamata"), "{}", opened.body);
    let cookie = opened.set_cookies.iter().find(|c| c.starts_with(CALL)).expect("the call's cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("Secure") && cookie.contains("SameSite=Strict"));
    let on_call = cc.get("/intermediari/chiamata").await;
    assert_eq!(on_call.status, 200, "{}", on_call.body);
    assert_private(&on_call);
    assert!(on_call.body.contains(caller.as_str()) && on_call.body.contains("CC-20200401-0001"), "{}", on_call.body);
    assert!(on_call.body.contains("id=\"no-applications\""), "{}", on_call.body);

    // The assisted application: the form filled with the contacts on file, filed once however often it is posted.
    let choices = cc.get("/intermediari/chiamata/domanda").await;
    assert!(choices.body.contains("/intermediari/chiamata/domanda?scheme=art27"), "{}", choices.body);
    let form = cc.get("/intermediari/chiamata/domanda?scheme=art27").await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("value=\"mario.rossi@example.it\""), "the contacts on file fill the form");
    let posted = filled(&form);
    let filed = cc.post("/intermediari/chiamata/domanda", &pairs(&posted)).await;
    assert_eq!(filed.status, 200, "{}", filed.body);
    assert!(filed.body.contains("Accolta"), "{}", filed.body);
    let again = cc.post("/intermediari/chiamata/domanda", &pairs(&posted)).await;
    assert!(again.body.contains("già presentata"), "{}", again.body);
    let recorded = app.store.applications_of(&caller).await.unwrap();
    assert_eq!(recorded.len(), 1, "one application, however often the form is posted");
    let protocol = recorded[0].protocol.to_string();
    let by = Details::stored(&recorded[0]).unwrap().filed_by.expect("who filed it is kept");
    assert_eq!(
        (by.office.as_str(), by.kind.as_str(), by.operator.as_str(), by.call.as_deref(), by.mandate),
        ("CC-RM01", "contact_center", cf(CC_OPERATOR).as_str(), Some("CC-20200401-0001"), None)
    );
    let audit = app.store.audit_of(&caller, 20).await.unwrap();
    let row = audit.iter().find(|r| r.action == "submit_application").expect("the filing is audited");
    assert_eq!(
        (row.actor.clone(), row.channel.as_str()),
        (format!("contact_center:{}@CC-20200401-0001", cf(CC_OPERATOR)), "contact_center")
    );
    assert!(audit.iter().any(|r| r.action == "identify_caller"), "the identification is audited");
    // The caller's receipt says who filed it, on which call.
    let told = app.wait_for_messages("mario.rossi@example.it", 1).await;
    let receipt = told.iter().find(|m| m.subject.contains(&protocol)).expect("the receipt reaches the caller");
    let said = format!(
        "ufficio CC-RM01 (contact_center), operatore {}, nella chiamata al Contact Center n. CC-20200401-0001",
        cf(CC_OPERATOR)
    );
    assert!(receipt.body.contains(&said), "{}", receipt.body);
    let own = app.logged_in(&caller).await;
    assert!(own.get(&format!("/domande/{protocol}")).await.body.contains(&said));
    assert!(cc.get("/intermediari/chiamata").await.body.contains(&protocol), "the call lists the application");

    // The call's id opens nothing elsewhere: not for another operator of the same office, not for the patronato, not
    // at a citizen's door.
    let call_id = cc.cookie(CALL).expect("the call's session");
    let (other, _) = operator_login_as(&app, cf(CC_OTHER), "CC-RM01").await;
    other.set_cookie(CALL, &call_id);
    let theirs = other.get("/intermediari/chiamata").await;
    assert_eq!(theirs.status, 200);
    assert!(!theirs.body.contains(caller.as_str()) && !theirs.body.contains(&protocol), "{}", theirs.body);
    assert_eq!(other.get("/intermediari/chiamata/domanda?scheme=art27").await.status, 403);
    let (patronato, _) = operator_login_as(&app, cf(OPERATORE), "INCA-RM01").await;
    patronato.set_cookie(CALL, &call_id);
    let page = patronato.get("/intermediari/chiamata").await;
    assert_eq!(page.status, 403);
    assert!(!page.body.contains(caller.as_str()));
    let door = Browser::new(&app);
    door.set_cookie(SESSION, &call_id);
    door.set_cookie(OPERATOR, &call_id);
    for path in ["/situazione", "/domande", "/intermediari/chiamata"] {
        let page = door.get(path).await;
        assert!(page.status == 303 && !page.body.contains(caller.as_str()), "{path}: {}", page.status);
    }

    // Ending the call ends its session: the next page is the identification form again.
    let on_call = cc.get("/intermediari/chiamata").await;
    let ended = cc.post("/intermediari/chiamata/fine", &[("csrf", csrf_of(&on_call.body).as_str())]).await;
    assert_eq!((ended.status, ended.location.as_str()), (303, "/intermediari/chiamata"));
    assert!(ended.set_cookies.iter().any(|c| c.starts_with(CALL) && c.contains("Max-Age=0")));
    let after = cc.get("/intermediari/chiamata").await;
    assert!(after.body.contains("Identifica il chiamante") && !after.body.contains(caller.as_str()));
    cc.set_cookie(CALL, &call_id);
    assert!(!cc.get("/intermediari/chiamata").await.body.contains(caller.as_str()), "an ended call stays ended");
    let audit = app.store.audit_of(&caller, 30).await.unwrap();
    assert!(audit.iter().any(|r| r.action == "end_call"), "the end of the call is audited");
}

/// The 6-digit code in a message.
fn code_in(body: &str) -> String {
    let at = body.find(": ").expect("the code after the colon") + 2;
    body[at..at + 6].to_owned()
}

#[tokio::test]
async fn a_caller_without_their_pin_is_identified_by_a_code_sent_to_their_contact_on_file() {
    let app = spawn_app().await;
    let caller = cf(PENSIONATA);
    let without_contact = cf(PROFESSIONISTA);
    app.on_file(&caller, None, Some("+39 333 123 4567")).await;
    roster_with_contact_center(&app).await;
    let (cc, _) = operator_login_as(&app, cf(CC_OPERATOR), "CC-RM01").await;
    let send = |who: CodiceFiscale, call: &'static str, consent: bool| {
        let cc = &cc;
        async move {
            let csrf = csrf_of(&cc.get("/intermediari/chiamata").await.body);
            let mut fields = vec![("csrf", csrf), ("call_id", call.to_owned()), ("codice_fiscale", who.to_string())];
            if consent {
                fields.push(("consent", "si".to_owned()));
            }
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            cc.post("/intermediari/chiamata/codice", &fields).await
        }
    };
    let done = |page: &crate::support::Page| {
        page.body.split("id=\"call-done\"").nth(1).map(|rest| rest.split("</div>").next().unwrap().to_owned())
    };

    // Without consent nothing is sent. With it, the answer is the same whether or not a contact is on file, and the
    // code goes only to the contact on file.
    assert_eq!(send(caller, "CC-0002", false).await.status, 422);
    let sent = send(caller, "CC-0002", true).await;
    let not_sent = send(without_contact, "CC-0002", true).await;
    assert_eq!((sent.status, not_sent.status), (200, 200), "{}", sent.body);
    assert!(done(&sent).is_some());
    assert_eq!(done(&sent), done(&not_sent));
    let told = app.wait_for_messages("+39 333 123 4567", 1).await;
    let code = code_in(&told[0].body);
    assert!(code.bytes().all(|b| b.is_ascii_digit()), "{}", told[0].body);

    // A wrong code, the code on another call, the code for another codice fiscale: not identified, the same answer.
    let wrong_code = if code == "000000" { "111111" } else { "000000" };
    let wrong = identify_by(&cc, "CC-0002", &caller, wrong_code).await;
    let other_call = identify_by(&cc, "CC-0003", &caller, &code).await;
    let other_person = identify_by(&cc, "CC-0002", &without_contact, &code).await;
    for page in [&wrong, &other_call, &other_person] {
        assert_eq!(page.status, 403, "{}", page.body);
        assert!(!page.set_cookies.iter().any(|c| c.starts_with(&format!("{CALL}="))), "no call opened");
    }
    // The right code opens the call, once.
    let opened = identify_by(&cc, "CC-0002", &caller, &code).await;
    assert_eq!((opened.status, opened.location.as_str()), (303, "/intermediari/chiamata"), "{}", opened.body);
    let page = cc.get("/intermediari/chiamata").await;
    assert!(page.body.contains(caller.as_str()) && page.body.contains("CC-0002"), "{}", page.body);
    let audit = app.store.audit_of(&caller, 20).await.unwrap();
    assert!(
        audit.iter().any(|r| r.action == "identify_caller" && r.object.as_deref() == Some("call:CC-0002;consent;code"))
    );
    let (other_cc, _) = operator_login_as(&app, cf(CC_OTHER), "CC-RM01").await;
    assert_eq!(identify_by(&other_cc, "CC-0002", &caller, &code).await.status, 403, "a code is used once");

    // Tried too often, a code stops working even when right.
    send(caller, "CC-0004", true).await;
    let told = app.wait_for_messages("+39 333 123 4567", 2).await;
    let code = code_in(&told.last().unwrap().body);
    let wrong_code = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..3 {
        assert_eq!(identify_by(&cc, "CC-0004", &caller, wrong_code).await.status, 403);
    }
    assert_eq!(identify_by(&cc, "CC-0004", &caller, &code).await.status, 403);
}

/// The identification form posted with a one-time code instead of a PIN half.
async fn identify_by(operator: &Browser<'_>, call: &str, caller: &CodiceFiscale, code: &str) -> crate::support::Page {
    let csrf = csrf_of(&operator.get("/intermediari/chiamata").await.body);
    let fields = [
        ("csrf", csrf.as_str()),
        ("call_id", call),
        ("codice_fiscale", caller.as_str()),
        ("code", code),
        ("consent", "si"),
    ];
    operator.post("/intermediari/chiamata", &fields).await
}

#[tokio::test]
async fn a_pin_request_whose_first_half_did_not_arrive_gets_a_fresh_one_at_the_contact_on_file() {
    let app = spawn_app().await;
    let caller = cf(PENSIONATA);
    app.on_file(&caller, Some("anna.bianchi@example.it"), Some("3339876543")).await;
    roster_with_contact_center(&app).await;
    let (cc, _) = operator_login_as(&app, cf(CC_OPERATOR), "CC-RM01").await;
    let resend = |contact: &'static str| {
        let cc = &cc;
        async move {
            let csrf = csrf_of(&cc.get("/intermediari/chiamata").await.body);
            let fields = [
                ("csrf", csrf.as_str()),
                ("call_id", "CC-0005"),
                ("codice_fiscale", caller.as_str()),
                ("contact", contact),
                ("consent", "si"),
            ];
            cc.post("/intermediari/chiamata/pin", &fields).await
        }
    };
    // A PIN asked for an hour ago: too early to call its first half lost.
    let issue = |hours: i64| {
        let app = &app;
        async move {
            let pin = "M2345678ABCDEFGH";
            let new = sportello_store::NewPin {
                codice_fiscale: caller,
                slot: sportello_web::pin::EnteredPin::parse(pin).unwrap().slot(),
                full_hash: app.hasher.hash_blocking(pin.to_owned()).await.unwrap(),
                simplified_hash: app.hasher.hash_blocking(pin[..8].to_owned()).await.unwrap(),
                issued_at: app.clock.now() - TimeDelta::hours(hours),
                first_half_to: sportello_store::FirstHalfTo::OnFile,
            };
            assert!(app.store.put_pin(new, &[]).await.unwrap());
            pin
        }
    };
    issue(1).await;
    let early = resend("3339876543").await;
    assert_eq!(early.status, 409, "{}", early.body);

    // Asked for 13 hours ago and never used: a contact not on file is refused; the one on file gets a fresh half.
    let old = issue(13).await;
    let elsewhere = resend("3330000000").await;
    assert_eq!(elsewhere.status, 403, "{}", elsewhere.body);
    let sent = resend("+39 333 987 6543").await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(sent.body.contains("id=\"call-done\""), "{}", sent.body);
    assert!(!sent.body.contains(&old[..8]), "the operator never sees a PIN");
    let told = app.wait_for_messages("3339876543", 1).await;
    let half = crate::support::pin_half(&told[0].body);
    assert_ne!(half, old[..8]);
    let other = app.wait_for_messages("anna.bianchi@example.it", 1).await;
    assert!(!other[0].body.contains(&half), "the other contact on file is told, without the PIN");
    let audit = app.store.audit_of(&caller, 20).await.unwrap();
    assert!(audit.iter().any(|r| r.action == "resend_pin_first_half" && r.actor.contains("CC-0005")));

    // The fresh half logs the caller in; the lost one no longer does.
    let citizen = Browser::new(&app);
    assert_eq!(citizen.login(caller.as_str(), &old[..8]).await.status, 401);
    assert_eq!(citizen.login(caller.as_str(), &half).await.status, 303);
}
