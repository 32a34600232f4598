//! The audit log of accesses to personal data: appended with who acted, how they logged in and by which door, and
//! read back per person, newest first.

use sportello_domain::CodiceFiscale;
use sportello_store::AuditEntry;

use crate::harness::{Backend, at, person};

fn entry(subject: CodiceFiscale, action: &str, seconds: i64) -> AuditEntry {
    AuditEntry {
        actor: subject.as_str().to_owned(),
        action: action.to_owned(),
        subject,
        object: Some("INPS-COVID-2020-000000001".to_owned()),
        at: at(seconds),
        from: Some("203.0.113.7".to_owned()),
        login_method: Some("pin_full".to_owned()),
        channel: "citizen".to_owned(),
        reason: None,
    }
}

pub async fn audit_of_lists_one_persons_rows_newest_first(backend: Backend) {
    let store = backend.store.as_ref();
    // Appended out of time order, interleaved with someone else's.
    let middle = entry(person(1), "view_decision", 20);
    let oldest = AuditEntry {
        actor: "system".to_owned(),
        object: None,
        from: None,
        login_method: None,
        ..entry(person(1), "login", 10)
    };
    let newest = AuditEntry {
        actor: "operatore-042".to_owned(),
        login_method: Some("cns".to_owned()),
        channel: "back_office".to_owned(),
        reason: Some("reclamo n. 42 del 2 aprile: verifica dello stato".to_owned()),
        ..entry(person(1), "view_application", 30)
    };
    let someone_else = entry(person(2), "submit_application", 25);
    for e in [&middle, &someone_else, &oldest, &newest] {
        store.audit(e.clone()).await.unwrap();
    }

    assert_eq!(store.audit_of(&person(1), 10).await.unwrap(), vec![newest.clone(), middle.clone(), oldest]);
    assert_eq!(store.audit_of(&person(1), 2).await.unwrap(), vec![newest, middle], "the newest, limited");
    assert_eq!(store.audit_of(&person(2), 10).await.unwrap(), vec![someone_else]);
    assert!(store.audit_of(&person(3), 10).await.unwrap().is_empty());
    assert!(store.audit_of(&person(1), 0).await.unwrap().is_empty());
}

pub async fn audit_rows_at_the_same_instant_keep_their_order(backend: Backend) {
    let store = backend.store.as_ref();
    let actions = ["login", "view_decision", "submit_application"];
    for action in actions {
        store.audit(entry(person(1), action, 0)).await.unwrap();
    }
    let read: Vec<_> = store.audit_of(&person(1), 10).await.unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(read, vec!["submit_application", "view_decision", "login"], "the last appended first");
}

pub async fn an_audit_row_keeps_the_login_method_and_channel(backend: Backend) {
    let store = backend.store.as_ref();
    // (actor, login method, channel), oldest first.
    let cases = [
        ("citizen:own", Some("spid_l2"), "citizen"),
        ("intermediary:caf-07", Some("cie"), "intermediary"),
        ("operator:op-042", Some("cns"), "contact_center"),
        ("system", None, "back_office"),
    ];
    for (i, (actor, method, channel)) in cases.into_iter().enumerate() {
        let row = AuditEntry {
            actor: actor.to_owned(),
            login_method: method.map(str::to_owned),
            channel: channel.to_owned(),
            reason: None,
            ..entry(person(1), "view_decision", i64::try_from(i).unwrap())
        };
        store.audit(row).await.unwrap();
    }
    let read: Vec<_> = store
        .audit_of(&person(1), 10)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .map(|e| (e.actor, e.login_method, e.channel))
        .collect();
    let expected: Vec<_> =
        cases.iter().map(|(a, m, c)| ((*a).to_owned(), m.map(str::to_owned), (*c).to_owned())).collect();
    assert_eq!(read, expected);
}
