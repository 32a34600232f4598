//! Operators and mandates without a door, on SQLite and PostgreSQL: a seat only where the roster lists the operator
//! on the day; a citizen's principal only under a mandate of the seat's office in force; filing only for decrees that
//! let the office's kind file; the citizen revokes their own mandates, and an application filed for them records the
//! operator, the office and the channel.

use chrono::{DateTime, TimeZone, Utc};
use sportello_domain::intermediaries::{IntermediaryKind, OfficeCode, Role, RosterRow};
use sportello_domain::law::Decrees;
use sportello_domain::principal::{Channel, LoginMethod, Principal};
use sportello_domain::{CodiceFiscale, Date, IdempotencyKey};
use sportello_store::testing::TestDatabase;
use sportello_store::{Store, Submission};
use sportello_usecases::apply::Draft;
use sportello_usecases::draft::{Contacts, Declarations, Details, Payment};
use sportello_usecases::intermediaries::MandateError;
use sportello_usecases::intermediaries::filing;
use sportello_usecases::intermediaries::mandates::{self, MandateInput};
use sportello_usecases::{Acting, ErrorKind, UseCaseError};

fn cf(first15: &str) -> CodiceFiscale {
    CodiceFiscale::with_check_character(first15).unwrap()
}

fn office(code: &str) -> OfficeCode {
    OfficeCode::parse(code).unwrap()
}

fn day(m: u32, d: u32) -> Date {
    Date::from_ymd_opt(2020, m, d).unwrap()
}

/// 10:00 in Rome on that day of 2020.
fn at(m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, m, d, 8, 0, 0).unwrap()
}

fn roster_row(operator: CodiceFiscale, code: &str, kind: IntermediaryKind, valid_to: Option<Date>) -> RosterRow {
    RosterRow {
        organisation: office(code.split('-').next().unwrap()),
        organisation_name: "Ente".to_owned(),
        kind,
        office: office(code),
        office_name: "Sede".to_owned(),
        operator,
        role: Role::Operatore,
        valid_from: day(1, 1),
        valid_to,
    }
}

fn form(n: u8) -> Vec<u8> {
    format!("%PDF-1.4\n% form {n}\n%%EOF\n").into_bytes()
}

fn failure(error: UseCaseError) -> (ErrorKind, MandateError) {
    let kind = error.kind();
    match error {
        UseCaseError::Mandate(e) => (kind, e),
        other => panic!("expected a mandate error, got {other}"),
    }
}

async fn operators_act_only_under_a_mandate_of_their_office_in_force(store: &dyn Store) {
    let decrees = Decrees::embedded();
    let op = cf("RSSMRA80A01H501"); // INCA-RM-01 and INCA-RM-02
    let gone = cf("VRDGPP75C12F205"); // left INCA-RM-01 on 31 March
    let consultant = cf("BNCLCU70A01F205");
    let (anna, bruno, carla, dario) =
        (cf("MRTMRA83T56A269"), cf("BRNBRN80A01H501"), cf("CRLCRL80A41H501"), cf("DRADRA80A01H501"));
    store
        .replace_roster(
            &[
                roster_row(op, "INCA-RM-01", IntermediaryKind::Patronato, None),
                roster_row(op, "INCA-RM-02", IntermediaryKind::Patronato, None),
                roster_row(gone, "INCA-RM-01", IntermediaryKind::Patronato, Some(day(3, 31))),
                roster_row(consultant, "CDL-MI-01", IntermediaryKind::Consulente, None),
            ],
            at(3, 1),
        )
        .await
        .unwrap();

    // Seats: only an office the roster lists for the operator on the day.
    let seat = mandates::seat(store, op, office("INCA-RM-01"), LoginMethod::PinFull, day(4, 1)).await.unwrap();
    let other_seat = mandates::seat(store, op, office("INCA-RM-02"), LoginMethod::PinFull, day(4, 1)).await.unwrap();
    let refused = mandates::seat(store, op, office("CDL-MI-01"), LoginMethod::PinFull, day(4, 1)).await.unwrap_err();
    assert!(matches!(failure(refused), (ErrorKind::Forbidden, MandateError::NotOnRoster { .. })));
    let expired = mandates::seat(store, gone, office("INCA-RM-01"), LoginMethod::PinFull, day(4, 1)).await;
    assert_eq!(failure(expired.unwrap_err()).0, ErrorKind::Forbidden, "roster validity ended on 31 March");
    assert!(mandates::seat(store, gone, office("INCA-RM-01"), LoginMethod::PinFull, day(3, 31)).await.is_ok());
    let stranger = mandates::seat(store, anna, office("INCA-RM-01"), LoginMethod::PinFull, day(4, 1)).await;
    assert_eq!(failure(stranger.unwrap_err()).0, ErrorKind::Forbidden, "not on the roster at all");

    // Which kinds may file for the March indemnities is the scheme file's.
    assert!(mandates::may_file(&decrees, &seat, "art27").is_ok());
    let cdl = mandates::seat(store, consultant, office("CDL-MI-01"), LoginMethod::PinFull, day(4, 1)).await.unwrap();
    let (kind, error) = failure(mandates::may_file(&decrees, &cdl, "art27").unwrap_err());
    assert_eq!(kind, ErrorKind::Forbidden);
    assert!(error.to_string().starts_with("a consulente may not file applications of DL 18/2020"), "{error}");

    // Recording: the form is checked, the privacy notice acknowledged, the object a decree in force.
    let input = |subject, n| MandateInput {
        subject,
        decree: "dl18-2020".to_owned(),
        signed_on: day(3, 30),
        form: form(n),
        privacy_acknowledged: true,
    };
    let no_pdf = MandateInput { form: b"GIF89a".to_vec(), ..input(anna, 1) };
    let (kind, _) = failure(mandates::record(store, &decrees, &seat, no_pdf, None, at(4, 1)).await.unwrap_err());
    assert_eq!(kind, ErrorKind::Input);
    let no_privacy = MandateInput { privacy_acknowledged: false, ..input(anna, 1) };
    let refused = mandates::record(store, &decrees, &seat, no_privacy, None, at(4, 1)).await.unwrap_err();
    assert_eq!(failure(refused).1, MandateError::Privacy);
    let future = MandateInput { signed_on: day(4, 2), ..input(anna, 1) };
    assert_eq!(
        failure(mandates::record(store, &decrees, &seat, future, None, at(4, 1)).await.unwrap_err()).0,
        ErrorKind::Input
    );
    assert_eq!(store.mandates_of(&anna).await.unwrap(), vec![], "nothing stored on refusal");

    let m_anna = mandates::record(store, &decrees, &seat, input(anna, 1), None, at(4, 1)).await.unwrap();
    assert_eq!(m_anna.expires_on, day(6, 3), "it ends when the decree stops taking applications");
    let reused = mandates::record(store, &decrees, &seat, input(bruno, 1), None, at(4, 1)).await.unwrap_err();
    assert_eq!(failure(reused), (ErrorKind::Conflict, MandateError::SameForm(m_anna.id)));
    let m_bruno = mandates::record(store, &decrees, &seat, input(bruno, 2), None, at(4, 1)).await.unwrap();
    mandates::record(store, &decrees, &other_seat, input(carla, 3), None, at(4, 1)).await.unwrap();

    // Acting for a citizen: in force for this office, else not found, the same for everyone.
    let acting = mandates::act_for(store, &seat, anna, day(4, 1), Some("192.0.2.7".into())).await.unwrap();
    assert_eq!(acting.principal, Principal::intermediary(op, office("INCA-RM-01"), anna, LoginMethod::PinFull));
    assert!(!acting.principal.acts_for_self());
    let not_found =
        |r: Result<Acting, UseCaseError>| failure(r.unwrap_err()) == (ErrorKind::NotFound, MandateError::NoMandate);
    assert!(not_found(mandates::act_for(store, &seat, dario, day(4, 1), None).await), "never signed");
    assert!(not_found(mandates::act_for(store, &seat, carla, day(4, 1), None).await), "another office's mandate");
    assert!(not_found(mandates::act_for(store, &seat, anna, day(6, 4), None).await), "expired");
    assert!(not_found(mandates::act_for(store, &seat, cf("ZZZZZZ80A01H501"), day(4, 1), None).await), "nobody");

    // The citizen sees and revokes their own; nobody else can, and the operator then cannot act.
    let bruno_self = Acting {
        principal: Principal::citizen(bruno, LoginMethod::PinFull),
        credential: None,
        confirmed: true,
        from: None,
    };
    let anna_self = Acting {
        principal: Principal::citizen(anna, LoginMethod::PinFull),
        credential: None,
        confirmed: true,
        from: None,
    };
    assert_eq!(mandates::mandates_of(store, &bruno_self, at(4, 2)).await.unwrap(), vec![m_bruno.clone()]);
    let theft = mandates::revoke(store, &anna_self, m_bruno.id, at(4, 2)).await.unwrap_err();
    assert_eq!(failure(theft), (ErrorKind::NotFound, MandateError::NotYours(m_bruno.id)));
    let by_operator = mandates::revoke(store, &acting, m_anna.id, at(4, 2)).await.unwrap_err();
    assert_eq!(failure(by_operator).0, ErrorKind::NotFound, "only the citizen revokes");
    mandates::revoke(store, &bruno_self, m_bruno.id, at(4, 2)).await.unwrap();
    assert!(not_found(mandates::act_for(store, &seat, bruno, day(4, 2), None).await), "revoked");
    let audit = store.audit_of(&bruno, 10).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "revoke_mandate" && a.actor == format!("citizen:{bruno}")), "{audit:?}");
    assert!(audit.iter().any(|a| a.action == "record_mandate" && a.actor == format!("intermediary:{op}@INCA-RM-01")));

    // Filed under the mandate: the application records the operator, the office and the channel.
    let details = Details {
        payment: Payment::Domiciliato,
        contact: Contacts::default(),
        declarations: Declarations::default(),
        figures: Default::default(),
        filed_by: None,
    };
    let draft = Draft { scheme: "art28".into(), idempotency_key: IdempotencyKey::parse("m1").unwrap(), details };
    let Submission::Created(filed) = filing::file(store, &decrees, &seat, anna, draft, None, at(4, 1)).await.unwrap()
    else {
        panic!("recorded")
    };
    let stored = Details::stored(&filed).unwrap().filed_by.expect("who filed it is kept with the application");
    assert_eq!(
        (stored.office.as_str(), stored.kind.as_str(), stored.mandate),
        ("INCA-RM-01", "patronato", Some(m_anna.id))
    );
    assert_eq!(stored.operator, op.to_string());
    let audit = store.audit_of(&anna, 10).await.unwrap();
    let row = audit.iter().find(|a| a.action == "submit_application").unwrap();
    assert_eq!(row.actor, format!("intermediary:{op}@INCA-RM-01"));
    assert_eq!(row.channel, Channel::Intermediary.as_str());
}

#[tokio::test]
async fn mandates_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("sportello-mandates-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = sportello_store::open(&format!("sqlite://{}", dir.join("db.sqlite").display())).await.unwrap();
    operators_act_only_under_a_mandate_of_their_office_in_force(store.as_ref()).await;
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn mandates_on_postgres() {
    let Some(db) = TestDatabase::create().await else { return };
    let store = sportello_store::open(&db.url).await.unwrap();
    operators_act_only_under_a_mandate_of_their_office_in_force(store.as_ref()).await;
    drop(store);
    db.drop_database().await;
}
