//! The roster and the mandates: a roster import replaces the whole roster atomically; a mandate is recorded with its
//! notices in one transaction, its form unique by hash; a citizen revokes only their own mandates.

use sportello_domain::intermediaries::{IntermediaryKind, OfficeCode, Role, RosterRow};
use sportello_domain::mandate::MandateState;
use sportello_store::{CallCodeCheck, MandateRecorded, NewCallCode, NewMandate, OutboxMessage};

use crate::harness::{Backend, at, date, person};

fn office(code: &str) -> OfficeCode {
    OfficeCode::parse(code).unwrap()
}

fn row(operator: u32, office_code: &str, valid_to: Option<sportello_domain::Date>) -> RosterRow {
    RosterRow {
        organisation: office("INCA"),
        organisation_name: "INCA CGIL".to_owned(),
        kind: IntermediaryKind::Patronato,
        office: office(office_code),
        office_name: "Roma, Via Nizza 59".to_owned(),
        operator: person(operator),
        role: Role::Operatore,
        valid_from: date(2020, 1, 1),
        valid_to,
    }
}

fn new_mandate(subject: u32, office_code: &str, form: &[u8]) -> NewMandate {
    NewMandate {
        subject: person(subject),
        office: office(office_code),
        operator: person(1),
        object: "Indennità COVID-19, DL 18/2020".to_owned(),
        signed_on: date(2020, 3, 30),
        expires_on: date(2020, 6, 3),
        form: form.to_vec(),
        form_sha256: format!("{:0>64}", form.len()),
        recorded_at: at(0),
    }
}

fn notice() -> OutboxMessage {
    OutboxMessage {
        channel: "email".to_owned(),
        recipient: "persona@example.it".to_owned(),
        subject: "Delega registrata".to_owned(),
        body: "Un patronato ha registrato una delega a suo nome.".to_owned(),
        not_before: at(0),
    }
}

pub async fn a_roster_import_replaces_the_whole_roster(backend: Backend) {
    let store = backend.store.as_ref();
    let empty = store.roster_summary().await.unwrap();
    assert_eq!((empty.operators, empty.offices, empty.imported_at), (0, 0, None));

    let first =
        vec![row(1, "INCA-RM-01", None), row(1, "INCA-RM-02", Some(date(2020, 12, 31))), row(2, "INCA-RM-01", None)];
    let summary = store.replace_roster(&first, at(0)).await.unwrap();
    assert_eq!((summary.operators, summary.offices, summary.imported_at), (3, 2, Some(at(0))));
    assert_eq!(store.roster_summary().await.unwrap(), summary);
    assert_eq!(store.roster_of(&person(1)).await.unwrap(), first[..2].to_vec());
    assert_eq!(store.roster_of(&person(3)).await.unwrap(), vec![]);

    let second = vec![row(3, "INCA-MI-01", None)];
    store.replace_roster(&second, at(60)).await.unwrap();
    assert_eq!(store.roster_of(&person(1)).await.unwrap(), vec![], "the old roster is gone");
    assert_eq!(store.roster_of(&person(3)).await.unwrap(), second);
}

pub async fn a_mandate_is_recorded_once_with_its_notice_and_revoked_only_by_its_citizen(backend: Backend) {
    let store = backend.store.as_ref();
    let MandateRecorded::Recorded(m) =
        store.record_mandate(&new_mandate(10, "INCA-RM-01", b"%PDF-1.4 one"), &[notice()]).await.unwrap()
    else {
        panic!("the first mandate must be recorded");
    };
    assert_eq!((m.subject, m.office, m.operator), (person(10), office("INCA-RM-01"), person(1)));
    assert_eq!(m.state_on(date(2020, 4, 1)), MandateState::InForce);
    let queued = store.claim_outbox(at(1), 10, std::time::Duration::from_secs(60)).await.unwrap();
    assert_eq!(queued.len(), 1, "the citizen's notice is queued with the mandate");

    // The same form for another citizen: refused, nothing written, no notice.
    let again = store.record_mandate(&new_mandate(11, "INCA-RM-01", b"%PDF-1.4 one"), &[notice()]).await.unwrap();
    assert_eq!(again, MandateRecorded::SameForm(m.id));
    assert_eq!(store.mandates_of(&person(11)).await.unwrap(), vec![]);
    assert!(
        store.claim_outbox(at(30), 10, std::time::Duration::from_secs(60)).await.unwrap().is_empty(),
        "no second notice (the first is leased until then)"
    );

    assert_eq!(store.mandates_of(&person(10)).await.unwrap(), vec![m.clone()]);
    assert_eq!(store.mandates_held_by(&office("INCA-RM-01")).await.unwrap(), vec![m.clone()]);
    assert_eq!(store.mandates_held_by(&office("INCA-RM-02")).await.unwrap(), vec![]);

    // Another person cannot revoke it; its citizen can, once, and a second revocation changes nothing.
    assert!(!store.revoke_mandate(m.id, &person(11), "citizen:X", at(10)).await.unwrap());
    assert_eq!(store.mandates_of(&person(10)).await.unwrap()[0].revoked, None);
    let by = format!("citizen:{}", person(10));
    assert!(store.revoke_mandate(m.id, &person(10), &by, at(20)).await.unwrap());
    assert!(store.revoke_mandate(m.id, &person(10), "citizen:later", at(30)).await.unwrap());
    let revoked = store.mandates_of(&person(10)).await.unwrap().remove(0);
    assert_eq!(revoked.revoked, Some((at(20), by)));
    assert_eq!(revoked.state_on(date(2020, 4, 1)), MandateState::Revoked);
}

pub async fn a_call_code_matches_once_until_it_expires_or_is_tried_too_often(backend: Backend) {
    let store = backend.store.as_ref();
    let code = |call: &str, hash: &str, sent: i64| NewCallCode {
        call: call.to_owned(),
        caller: person(20),
        operator: person(1),
        code_hash: hash.to_owned(),
        created_at: at(sent),
        expires_at: at(sent + 600),
    };
    let check = |call: &'static str, hash: &'static str, now: i64| async move {
        store.use_call_code(call, &person(20), hash, 3, at(now)).await.unwrap()
    };
    store.put_call_code(&code("C1", "aa", 0), &notice()).await.unwrap();
    let queued = store.claim_outbox(at(1), 10, std::time::Duration::from_secs(60)).await.unwrap();
    assert_eq!(queued.len(), 1, "the message carrying the code is queued with it");

    // Another call, another caller: no code. A wrong code counts; the right one matches once.
    assert_eq!(check("C2", "aa", 10).await, CallCodeCheck::NoCode);
    assert_eq!(store.use_call_code("C1", &person(21), "aa", 3, at(10)).await.unwrap(), CallCodeCheck::NoCode);
    assert_eq!(check("C1", "bb", 10).await, CallCodeCheck::Wrong);
    assert_eq!(check("C1", "aa", 11).await, CallCodeCheck::Matched);
    assert_eq!(check("C1", "aa", 12).await, CallCodeCheck::NoCode, "a code is used once");

    // Tried too often: the right code no longer matches. A new code for the call starts afresh.
    store.put_call_code(&code("C1", "cc", 100), &notice()).await.unwrap();
    for _ in 0..3 {
        assert_eq!(check("C1", "dd", 110).await, CallCodeCheck::Wrong);
    }
    assert_eq!(check("C1", "cc", 111).await, CallCodeCheck::NoCode);
    store.put_call_code(&code("C1", "ee", 200), &notice()).await.unwrap();
    // Expired: nothing matches.
    assert_eq!(check("C1", "ee", 800).await, CallCodeCheck::NoCode);
    store.put_call_code(&code("C1", "ff", 900), &notice()).await.unwrap();
    assert_eq!(check("C1", "ff", 901).await, CallCodeCheck::Matched);
}
