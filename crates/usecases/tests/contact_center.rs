//! The Contact Center without a door, on SQLite and PostgreSQL: an operator acts for a caller only once the caller is
//! identified by the first half of their PIN and consents; then an assisted application records the call, and
//! without identification nothing is reached.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use sportello_domain::intermediaries::{CallId, IntermediaryKind, OfficeCode, Role, RosterRow};
use sportello_domain::law::Decrees;
use sportello_domain::principal::{Channel, LoginMethod};
use sportello_domain::{CodiceFiscale, Date, IdempotencyKey};
use sportello_store::testing::TestDatabase;
use sportello_store::{FirstHalfTo, NewPin, Store, Submission};
use sportello_usecases::apply::{Draft, submit};
use sportello_usecases::draft::{Contacts, Declarations, Details, Payment};
use sportello_usecases::intermediaries::contact_center::{self, Call, CallError};
use sportello_usecases::intermediaries::mandates;
use sportello_usecases::login::Lockout;
use sportello_usecases::pin::{EnteredPin, Pin, PinHasher};
use sportello_usecases::{ErrorKind, UseCaseError};

fn cf(first15: &str) -> CodiceFiscale {
    CodiceFiscale::with_check_character(first15).unwrap()
}

fn call_error(error: UseCaseError) -> (ErrorKind, CallError) {
    let kind = error.kind();
    match error {
        UseCaseError::Call(e) => (kind, e),
        other => panic!("expected a call error, got {other}"),
    }
}

async fn the_contact_center_acts_only_for_an_identified_consenting_caller(store: &dyn Store) {
    let hasher = PinHasher::with_params(argon2::Params::new(64, 1, 1, None).unwrap(), 2).unwrap();
    let lockout = Lockout { max_failures: 3, lock_for: Duration::from_secs(900) };
    let now = Utc.with_ymd_and_hms(2020, 4, 1, 8, 0, 0).unwrap();
    let day = Date::from_ymd_opt(2020, 4, 1).unwrap();
    let (operator, patronato_op, caller) = (cf("VRDGPP75C12F205"), cf("RSSMRA80A01H501"), cf("MRTMRA83T56A269"));
    let row = |op, code: &str, kind| RosterRow {
        organisation: OfficeCode::parse(code.split('-').next().unwrap()).unwrap(),
        organisation_name: "Ente".to_owned(),
        kind,
        office: OfficeCode::parse(code).unwrap(),
        office_name: "Sede".to_owned(),
        operator: op,
        role: Role::Operatore,
        valid_from: Date::from_ymd_opt(2020, 1, 1).unwrap(),
        valid_to: None,
    };
    store
        .replace_roster(
            &[
                row(operator, "CC-01", IntermediaryKind::ContactCenter),
                row(patronato_op, "INCA-RM-01", IntermediaryKind::Patronato),
            ],
            now,
        )
        .await
        .unwrap();
    let pin = Pin::generate().unwrap();
    let new_pin = NewPin {
        codice_fiscale: caller,
        slot: pin.slot(),
        full_hash: hasher.hash(pin.expose()).unwrap(),
        simplified_hash: hasher.hash(pin.first_half()).unwrap(),
        issued_at: now,
        first_half_to: FirstHalfTo::Office,
    };
    assert!(store.put_pin(new_pin, &[]).await.unwrap());

    let seat =
        mandates::seat(store, operator, OfficeCode::parse("CC-01").unwrap(), LoginMethod::PinFull, day).await.unwrap();
    let call = Call { id: CallId::parse("C-803164-0001").unwrap(), caller, consent: true };
    let half = EnteredPin::parse(pin.first_half()).unwrap();
    let hasher = &hasher;
    let identify = |seat, call, half: &EnteredPin| {
        let half = EnteredPin::parse(half.expose()).unwrap();
        async move { contact_center::identify(store, hasher, lockout, &seat, call, &half, None, now).await }
    };

    // Not a Contact Center seat; no consent; the whole PIN instead of its first half: refused before any check.
    let patronato =
        mandates::seat(store, patronato_op, OfficeCode::parse("INCA-RM-01").unwrap(), LoginMethod::PinFull, day)
            .await
            .unwrap();
    let refused = identify(patronato, call, &half).await.unwrap_err();
    assert_eq!(call_error(refused), (ErrorKind::Forbidden, CallError::NotContactCenter));
    let refused = identify(seat, Call { consent: false, ..call }, &half).await.unwrap_err();
    assert_eq!(call_error(refused), (ErrorKind::Input, CallError::NoConsent));
    let whole = EnteredPin::parse(pin.expose()).unwrap();
    assert_eq!(call_error(identify(seat, call, &whole).await.unwrap_err()).1, CallError::NotFirstHalf);

    // A wrong half, or a codice fiscale nobody holds: not identified, the same answer; the lock is the Contact
    // Center's own bucket.
    // The same slot (first symbol), another second symbol.
    let mut wrong: Vec<char> = pin.first_half().chars().collect();
    wrong[1] = if wrong[1] == '2' { '3' } else { '2' };
    let wrong = EnteredPin::parse(&wrong.into_iter().collect::<String>()).unwrap();
    let refused = identify(seat, call, &wrong).await.unwrap_err();
    assert_eq!(call_error(refused), (ErrorKind::Forbidden, CallError::NotIdentified { locked_until: None }));
    let stranger = Call { caller: cf("ZZZZZZ80A01H501"), ..call };
    let refused = identify(seat, stranger, &half).await.unwrap_err();
    assert_eq!(call_error(refused), (ErrorKind::Forbidden, CallError::NotIdentified { locked_until: None }));

    // Identified: the operator acts for the caller on this call, and files an assisted application.
    let acting = identify(seat, call, &half).await.unwrap();
    assert_eq!(acting.principal.subject, caller);
    assert_eq!(acting.principal.channel, Channel::ContactCenter);
    assert_eq!(acting.principal.actor.stored(), format!("contact_center:{operator}@C-803164-0001"));
    let details = Details {
        payment: Payment::Domiciliato,
        contact: Contacts::default(),
        declarations: Declarations::default(),
        figures: Default::default(),
        filed_by: None,
    };
    let draft = Draft { scheme: "art28".into(), idempotency_key: IdempotencyKey::parse("cc1").unwrap(), details };
    let Submission::Created(_) = submit(store, &Decrees::embedded(), &acting, draft, now).await.unwrap() else {
        panic!("recorded")
    };
    let audit = store.audit_of(&caller, 10).await.unwrap();
    let identified = audit.iter().find(|a| a.action == "identify_caller").unwrap();
    assert_eq!(identified.object.as_deref(), Some("call:C-803164-0001;consent"));
    let filed = audit.iter().find(|a| a.action == "submit_application").unwrap();
    assert_eq!(
        (filed.actor.as_str(), filed.channel.as_str()),
        (acting.principal.actor.stored().as_str(), "contact_center")
    );

    // Enough wrong halves lock the Contact Center's bucket for this caller, and say until when.
    for _ in 0..3 {
        let _ = identify(seat, call, &wrong).await;
    }
    let locked = call_error(identify(seat, call, &half).await.unwrap_err()).1;
    assert!(matches!(locked, CallError::NotIdentified { locked_until: Some(_) }), "{locked:?}");
}

#[tokio::test]
async fn contact_center_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("sportello-contact-center-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = sportello_store::open(&format!("sqlite://{}", dir.join("db.sqlite").display())).await.unwrap();
    the_contact_center_acts_only_for_an_identified_consenting_caller(store.as_ref()).await;
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn contact_center_on_postgres() {
    let Some(db) = TestDatabase::create().await else { return };
    let store = sportello_store::open(&db.url).await.unwrap();
    the_contact_center_acts_only_for_an_identified_consenting_caller(store.as_ref()).await;
    drop(store);
    db.drop_database().await;
}
