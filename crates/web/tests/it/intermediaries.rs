//! The intermediaries' area over HTTP: an operator logs in with their PIN at an office the roster lists for them
//! today and sees only that office's mandates in force; someone the roster does not list gets no session; operators'
//! and citizens' sessions never open each other's pages; every page is private.

use chrono::{DateTime, TimeDelta, Utc};
use sha2::Digest as _;
use sportello_domain::CodiceFiscale;
use sportello_domain::intermediaries::{IntermediaryKind, OfficeCode, Role, RosterRow};
use sportello_store::{MandateRecorded, NewMandate};

use crate::support::{
    Browser, PENSIONATA, PROFESSIONISTA, SESSION, TEST_PIN, TestApp, assert_private, cf, csrf_of, spawn_app,
};

const OPERATOR: &str = "__Host-sportello_intermediari";
const OPERATORE: &str = "VRDGPP70B02L219";

fn office(code: &str) -> OfficeCode {
    OfficeCode::parse(code).unwrap()
}

fn today(now: DateTime<Utc>) -> sportello_domain::Date {
    now.with_timezone(&chrono_tz::Europe::Rome).date_naive()
}

async fn roster(app: &TestApp, operator: CodiceFiscale, offices: &[&str]) {
    let rows: Vec<RosterRow> = offices
        .iter()
        .map(|code| RosterRow {
            organisation: office("INCA"),
            organisation_name: "Patronato".to_owned(),
            kind: IntermediaryKind::Patronato,
            office: office(code),
            office_name: format!("Sede {code}"),
            operator,
            role: Role::Operatore,
            valid_from: today(app.clock.now()) - TimeDelta::days(30),
            valid_to: None,
        })
        .collect();
    app.store.replace_roster(&rows, app.clock.now()).await.unwrap();
}

/// Records a mandate of `code` for `subject`, signed yesterday and in force until `days` from today.
async fn mandate(app: &TestApp, subject: CodiceFiscale, code: &str, days: i64) -> i64 {
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

async fn operator_login<'a>(app: &'a TestApp, sede: &str) -> (Browser<'a>, crate::support::Page) {
    // The operator's PIN, issued as any person's is.
    drop(app.logged_in(&cf(OPERATORE)).await);
    let browser = Browser::new(app);
    let form = browser.get("/intermediari/accedi").await;
    assert_eq!(form.status, 200);
    assert_private(&form);
    let csrf = csrf_of(&form.body);
    let operator = cf(OPERATORE);
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
