//! The citizen's reads and changes of their own applications, on a real (SQLite) store: every one reaches only the
//! principal's subject's applications (another person's protocol number is not found), and leaves its audit row.

use sportello_domain::law::Decrees;
use sportello_domain::principal::{LoginMethod, Principal};
use sportello_domain::{CodiceFiscale, IdempotencyKey};
use sportello_store::Submission;
use sportello_usecases::apply::{Draft, submit};
use sportello_usecases::draft::{Contacts, Declarations, Details, Payment};
use sportello_usecases::{Acting, ErrorKind, UseCaseError, annul, iban, receipts};

fn acting(cf: &str, credential: Option<&str>, confirmed: bool) -> Acting {
    let cf = CodiceFiscale::parse(cf).unwrap();
    Acting {
        principal: Principal::citizen(cf, LoginMethod::PinSimplified),
        credential: credential.map(str::to_owned),
        confirmed,
        from: Some("192.0.2.7".to_owned()),
    }
}

#[tokio::test]
async fn a_receipt_is_the_subject_s_own_or_not_found_and_each_reading_is_audited() {
    let dir = std::env::temp_dir().join(format!("sportello-usecases-receipts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = sportello_store::open(&format!("sqlite://{}", dir.join("receipts.db").display())).await.unwrap();
    let store = store.as_ref();
    let decrees = Decrees::embedded();
    let now = chrono::Utc::now();
    let owner = acting("RSSMRA80A01H501U", Some("pin:1"), true);
    let other = acting("MRTMRA83T56A269B", Some("pin:2"), true);
    let iban_of = |text: &str| sportello_domain::Iban::parse(text).unwrap();
    let details = Details {
        payment: Payment::Iban { iban: iban_of("IT60X0542811101000000123456") },
        contact: Contacts { email: Some("mario.rossi@example.it".to_owned()), mobile: None },
        declarations: Declarations::default(),
        figures: Default::default(),
        filed_by: None,
    };
    let draft = Draft {
        scheme: "art27".to_owned(),
        idempotency_key: IdempotencyKey::parse("k").unwrap(),
        details: details.clone(),
    };
    let Submission::Created(mine) = submit(store, &decrees, &owner, draft, now).await.unwrap() else {
        panic!("recorded")
    };
    assert_eq!(Details::stored(&mine).as_ref(), Some(&details), "the details read back as typed");

    let read = receipts::one(store, &owner, &mine.protocol, now).await.unwrap();
    assert_eq!(read.application.protocol, mine.protocol);
    assert_eq!(receipts::list(store, &owner, now).await.unwrap().applications.len(), 1);
    let cases: [(&str, UseCaseError); 4] = [
        ("another person's receipt", receipts::one(store, &other, &mine.protocol, now).await.unwrap_err()),
        ("a number longer than any", receipts::one(store, &owner, &"9".repeat(100), now).await.unwrap_err()),
        (
            "another person's new IBAN",
            iban::replace(store, &other, &mine.protocol, &iban_of("IT60X0542811101000000123456"), now)
                .await
                .unwrap_err(),
        ),
        ("another person's annulment", annul::annul(store, &other, &mine.protocol, now).await.unwrap_err()),
    ];
    for (situation, error) in cases {
        assert!(matches!(error, UseCaseError::NoSuchApplication(_)), "{situation}: {error}");
        assert_eq!(error.kind(), ErrorKind::NotFound, "{situation}");
    }
    assert!(receipts::list(store, &other, now).await.unwrap().applications.is_empty());

    let same = iban_of("IT60X0542811101000000123456");
    let not_returned = iban::replace(store, &owner, &mine.protocol, &same, now).await.unwrap_err();
    assert!(matches!(not_returned, UseCaseError::NoReturnedPayment(_)), "{not_returned}");
    let unconfirmed = acting("RSSMRA80A01H501U", Some("pin:3"), false);
    assert!(matches!(annul::annul(store, &unconfirmed, &mine.protocol, now).await, Err(UseCaseError::NotConfirmed)));
    assert!(!annul::may_annul(&owner, &mine), "not held for another credential");
    assert!(matches!(annul::annul(store, &owner, &mine.protocol, now).await, Err(UseCaseError::NothingToAnnul(_))));

    let rows = store.audit_of(&owner.principal.subject, 20).await.unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert!(actions.contains(&"view_application") && actions.contains(&"list_applications"), "{actions:?}");
    assert!(!actions.contains(&"replace_iban") && !actions.contains(&"annul_application"), "nothing was changed");
    assert!(rows.iter().all(|r| r.from.as_deref() == Some("192.0.2.7")), "with the client's address");
    let strangers = store.audit_of(&other.principal.subject, 20).await.unwrap();
    assert!(strangers.iter().all(|r| r.action == "list_applications"), "no row names the owner's application");
    drop(rows);
    let _ = std::fs::remove_dir_all(&dir);
}
