//! The days a decree takes applications: outside its window an application is refused as input, before anything is
//! decided or stored; a replayed day (windows open) takes it.

use chrono::{DateTime, TimeZone, Utc};
use sportello_domain::law::{Decrees, Windows};
use sportello_domain::principal::{LoginMethod, Principal};
use sportello_domain::{CodiceFiscale, IdempotencyKey};
use sportello_store::Submission;
use sportello_usecases::apply::{Draft, submit};
use sportello_usecases::draft::{Contacts, Declarations, Details, Payment};
use sportello_usecases::{Acting, ErrorKind, UseCaseError};

fn draft(scheme: &str, key: &str) -> Draft {
    let details = Details {
        payment: Payment::Domiciliato,
        contact: Contacts::default(),
        declarations: Declarations::default(),
        figures: Default::default(),
        filed_by: None,
    };
    Draft { scheme: scheme.to_owned(), idempotency_key: IdempotencyKey::parse(key).unwrap(), details }
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

#[tokio::test]
async fn an_application_before_opening_or_after_closing_is_refused_and_nothing_is_stored() {
    let dir = std::env::temp_dir().join(format!("sportello-usecases-window-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = sportello_store::open(&format!("sqlite://{}", dir.join("window.db").display())).await.unwrap();
    let decrees = Decrees::embedded().with_windows(Windows::Enforced);
    let cf = CodiceFiscale::parse("RSSMRA80A01H501U").unwrap();
    let principal = Acting {
        principal: Principal::citizen(cf, LoginMethod::PinFull),
        credential: None,
        confirmed: true,
        from: None,
    };

    // 23:30 UTC on 31 March is 01:30 on 1 April in Rome: open. 21:00 UTC on 31 March is 23:00 in Rome: not yet.
    let early = submit(store.as_ref(), &decrees, &principal, draft("art27", "a"), at(2020, 3, 31, 21, 0));
    let early = early.await.unwrap_err();
    assert_eq!((early.kind(), early.exit_status()), (ErrorKind::Input, 2));
    assert!(matches!(early, UseCaseError::OutsideWindow { side: "before they open", .. }), "{early}");
    assert!(early.to_string().contains("under DL 18/2020 are taken from 2020-04-01 to 2020-06-03"), "{early}");
    assert!(early.to_string().ends_with("2020-03-31 is before they open"), "{early}");

    let late = submit(store.as_ref(), &decrees, &principal, draft("art84c2", "b"), at(2020, 8, 1, 9, 0));
    let late = late.await.unwrap_err();
    assert_eq!(late.kind(), ErrorKind::Input);
    assert!(late.to_string().contains("under DL 34/2020"), "{late}");
    assert!(matches!(late, UseCaseError::OutsideWindow { side: "after they closed", .. }), "{late}");
    assert!(store.applications_of(&cf).await.unwrap().is_empty(), "a refusal stores nothing");

    let first_day = submit(store.as_ref(), &decrees, &principal, draft("art27", "c"), at(2020, 3, 31, 23, 30));
    assert!(matches!(first_day.await.unwrap(), Submission::Created(_)), "the first day, Italian time, is open");

    // The same late day, replayed with the windows open (the demo, drills, tests run after 2020).
    let replay = Decrees::embedded();
    let taken = submit(store.as_ref(), &replay, &principal, draft("art84c2", "d"), at(2026, 1, 1, 9, 0));
    assert!(matches!(taken.await.unwrap(), Submission::Created(_)));
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
