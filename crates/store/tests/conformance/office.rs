//! The back office's storage: officers' accounts with their lockout, officer sessions apart from the citizens', a
//! case by protocol number, and the audit log read for one person or a time window and purged by age.

use std::time::Duration;

use sportello_domain::principal::{LoginMethod, OfficerRole};
use sportello_store::{ApplicationStatus, AuditEntry, NewOfficer, OfficeSession, StoreError};

use crate::harness::{Backend, application, at, person};

fn new_officer(username: &str, role: OfficerRole) -> NewOfficer {
    NewOfficer {
        username: username.to_owned(),
        display_name: format!("Dott. {username}"),
        role,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".to_owned(),
        codice_fiscale: None,
        created_at: at(0),
    }
}

pub async fn an_officer_is_stored_once_by_user_name_and_read_back(backend: Backend) {
    let store = backend.store.as_ref();
    let id = store.add_officer(new_officer("mrossi", OfficerRole::Supervisor)).await.unwrap();
    let taken = store.add_officer(new_officer("mrossi", OfficerRole::Auditor)).await.unwrap_err();
    assert!(matches!(taken, StoreError::OfficerExists(ref name) if name == "mrossi"), "{taken}");
    let other = store.add_officer(new_officer("lbianchi", OfficerRole::DataProtectionOfficer)).await.unwrap();
    assert_ne!(id, other);

    let officer = store.officer_by_username("mrossi").await.unwrap().unwrap();
    assert_eq!((officer.id, officer.role, officer.failures), (id, OfficerRole::Supervisor, 0));
    assert_eq!(officer.display_name, "Dott. mrossi");
    assert_eq!(officer.locked_until, None);
    assert_eq!(store.officer(other).await.unwrap().unwrap().role, OfficerRole::DataProtectionOfficer);
    assert!(store.officer_by_username("nobody").await.unwrap().is_none());
    let names: Vec<String> = store.officers().await.unwrap().into_iter().map(|o| o.username).collect();
    assert_eq!(names, ["mrossi", "lbianchi"]);
}

pub async fn an_officer_is_found_by_codice_fiscale_and_one_person_has_one_account(backend: Backend) {
    let store = backend.store.as_ref();
    let with = |username: &str, n: u32| NewOfficer {
        codice_fiscale: Some(person(n)),
        ..new_officer(username, OfficerRole::Officer)
    };
    let id = store.add_officer(with("mrossi", 1)).await.unwrap();
    store.add_officer(new_officer("lbianchi", OfficerRole::Auditor)).await.unwrap();
    store.add_officer(new_officer("gverdi", OfficerRole::Auditor)).await.unwrap();
    let found = store.officer_by_codice_fiscale(&person(1)).await.unwrap().unwrap();
    assert_eq!((found.id, found.codice_fiscale), (id, Some(person(1))));
    assert!(store.officer_by_codice_fiscale(&person(2)).await.unwrap().is_none());
    // A second account for the same person is refused, and nothing of it is stored.
    let twice = store.add_officer(with("mario.rossi", 1)).await.unwrap_err();
    assert!(matches!(twice, StoreError::OfficerExists(ref name) if name == "mario.rossi"), "{twice}");
    assert!(store.officer_by_username("mario.rossi").await.unwrap().is_none());
    assert_eq!(store.officers().await.unwrap().len(), 3, "accounts without a codice fiscale do not collide");

    assert!(store.disable_officer(id, at(10)).await.unwrap());
    assert!(store.disable_officer(id, at(20)).await.unwrap(), "disabling again is not an error");
    assert_eq!(store.officer(id).await.unwrap().unwrap().disabled_at, Some(at(10)), "the first time is kept");
    assert!(!store.disable_officer(id + 100, at(10)).await.unwrap(), "no such account");
}

pub async fn five_wrong_passwords_lock_an_officer_and_a_lock_is_not_extended(backend: Backend) {
    let store = backend.store.as_ref();
    let id = store.add_officer(new_officer("mrossi", OfficerRole::Officer)).await.unwrap();
    let lock = Duration::from_secs(900);
    for n in 1..5 {
        assert_eq!(store.record_officer_failure(id, at(n), 5, lock).await.unwrap(), None, "failure {n}");
    }
    let until = store.record_officer_failure(id, at(5), 5, lock).await.unwrap();
    assert_eq!(until, Some(at(905)));
    // During the lock, failures neither count nor move its end.
    assert_eq!(store.record_officer_failure(id, at(10), 5, lock).await.unwrap(), Some(at(905)));
    assert_eq!(store.officer(id).await.unwrap().unwrap().locked_until, Some(at(905)));
    // After it, the count starts again; a success clears it.
    assert_eq!(store.record_officer_failure(id, at(1000), 5, lock).await.unwrap(), None);
    assert_eq!(store.officer(id).await.unwrap().unwrap().failures, 1);
    store.clear_officer_failures(id).await.unwrap();
    assert_eq!(store.officer(id).await.unwrap().unwrap().failures, 0);
}

pub async fn office_sessions_are_apart_from_citizens_sessions(backend: Backend) {
    let store = backend.store.as_ref();
    let id = store.add_officer(new_officer("mrossi", OfficerRole::Officer)).await.unwrap();
    let session = OfficeSession {
        id_hash: "ab".repeat(32),
        officer_id: id,
        created_at: at(0),
        last_seen_at: at(0),
        expires_at: at(3600),
        from: Some("192.0.2.10".to_owned()),
        login_method: LoginMethod::Cie,
    };
    store.create_office_session(session.clone()).await.unwrap();
    assert_eq!(store.office_session(&session.id_hash).await.unwrap(), Some(session.clone()));
    assert_eq!(store.session(&session.id_hash).await.unwrap(), None, "not a citizen's session");

    store.touch_office_session(&session.id_hash, at(60)).await.unwrap();
    store.touch_office_session(&session.id_hash, at(30)).await.unwrap();
    assert_eq!(store.office_session(&session.id_hash).await.unwrap().unwrap().last_seen_at, at(60));

    let idle = OfficeSession { id_hash: "cd".repeat(32), ..session.clone() };
    store.create_office_session(idle.clone()).await.unwrap();
    store.touch_office_session(&idle.id_hash, at(10)).await.unwrap();
    assert_eq!(store.delete_expired_office_sessions(at(100), at(30)).await.unwrap(), 1, "the idle one");
    assert!(store.office_session(&idle.id_hash).await.unwrap().is_none());
    store.delete_office_session(&session.id_hash).await.unwrap();
    store.delete_office_session(&session.id_hash).await.unwrap();
    assert!(store.office_session(&session.id_hash).await.unwrap().is_none());
}

pub async fn a_case_is_found_by_protocol_alone(backend: Backend) {
    let store = backend.store.as_ref();
    let sportello_store::Submission::Created(stored) =
        store.submit(application(person(1), "k1", ApplicationStatus::Accepted)).await.unwrap()
    else {
        panic!("the first submission is stored")
    };
    let found = store.application_by_protocol(&stored.protocol).await.unwrap();
    assert_eq!(found.map(|a| a.codice_fiscale), Some(person(1)));
    let other = sportello_domain::ProtocolNumber::parse("INPS-COVID-2020-999999999").unwrap();
    assert!(store.application_by_protocol(&other).await.unwrap().is_none());
}

fn entry(n: u32, action: &str, seconds: i64, reason: Option<&str>) -> AuditEntry {
    AuditEntry {
        actor: "officer:1:officer".to_owned(),
        action: action.to_owned(),
        subject: person(n),
        object: None,
        at: at(seconds),
        from: Some("192.0.2.10".to_owned()),
        login_method: Some("password".to_owned()),
        channel: "back_office".to_owned(),
        reason: reason.map(str::to_owned),
    }
}

pub async fn the_audit_is_read_per_person_and_per_window_and_purged_by_age(backend: Backend) {
    let store = backend.store.as_ref();
    let rows = [
        entry(1, "office_view_case", 10, Some("reclamo n. 1 del 2 aprile")),
        entry(2, "view_decision", 20, None),
        entry(1, "view_decision", 30, None),
        entry(2, "office_view_case", 40, Some("riesame richiesto dal cittadino")),
    ];
    for row in &rows {
        store.audit(row.clone()).await.unwrap();
    }
    assert_eq!(store.audit_trail_of(&person(1)).await.unwrap(), vec![rows[0].clone(), rows[2].clone()]);
    assert_eq!(store.audit_between(at(20), at(40)).await.unwrap(), vec![rows[1].clone(), rows[2].clone()]);
    assert!(store.audit_between(at(41), at(100)).await.unwrap().is_empty());

    assert_eq!(store.purge_audit_before(at(25)).await.unwrap(), 2);
    assert_eq!(store.audit_trail_of(&person(1)).await.unwrap(), vec![rows[2].clone()]);
    assert_eq!(store.audit_trail_of(&person(2)).await.unwrap(), vec![rows[3].clone()]);
}

pub async fn a_dead_letter_is_claimed_no_more_until_revived_and_delivered_ones_are_purged(backend: Backend) {
    let store = backend.store.as_ref();
    let message = |to: &str| sportello_store::OutboxMessage {
        channel: "email".to_owned(),
        recipient: to.to_owned(),
        subject: "Ricevuta".to_owned(),
        body: "La Sua domanda è stata ricevuta.".to_owned(),
        not_before: at(0),
    };
    let dead = store.enqueue(message("a@example.it")).await.unwrap();
    let delivered = store.enqueue(message("b@example.it")).await.unwrap();
    let lease = Duration::from_secs(60);
    assert_eq!(store.claim_outbox(at(1), 10, lease).await.unwrap().len(), 2);
    store.outbox_dead(dead, "550 no such mailbox", at(2)).await.unwrap();
    store.outbox_delivered(delivered, at(2)).await.unwrap();
    assert!(store.claim_outbox(at(100), 10, lease).await.unwrap().is_empty(), "neither is claimed again");
    let letters = store.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!((letters[0].0.id, letters[0].1.as_str()), (dead, "550 no such mailbox"));

    assert_eq!(store.purge_delivered_before(at(2)).await.unwrap(), 0, "delivered at the cut-off: kept");
    assert_eq!(store.purge_delivered_before(at(3)).await.unwrap(), 1, "the delivered one only");
    assert!(store.revive_dead_letter(dead, at(200)).await.unwrap());
    let claimed = store.claim_outbox(at(200), 10, lease).await.unwrap();
    assert_eq!(claimed.iter().map(|e| (e.id, e.attempts)).collect::<Vec<_>>(), [(dead, 1)]);
}

pub async fn submissions_are_counted_by_minute_scheme_status_and_channel(backend: Backend) {
    let store = backend.store.as_ref();
    let filed = |n: u32, seconds: i64, status: ApplicationStatus, kind: Option<&str>| {
        let mut new = application(person(n), &format!("m{n}"), status);
        new.submitted_at = at(seconds);
        if let Some(kind) = kind {
            new.details = serde_json::json!({ "filed_by": { "office": "X-1", "kind": kind, "operator": "Y" } });
        }
        new
    };
    for new in [
        filed(1, 0, ApplicationStatus::Accepted, None),
        filed(2, 10, ApplicationStatus::Accepted, None),
        filed(3, 20, ApplicationStatus::Rejected, Some("patronato")),
        filed(4, 70, ApplicationStatus::Accepted, Some("contact_center")),
        filed(5, 130, ApplicationStatus::Accepted, None),
    ] {
        store.submit(new).await.unwrap();
    }
    let counts = store.submissions_since(at(60)).await.unwrap();
    let seen: Vec<(i64, &str, &str, u64)> = counts
        .iter()
        .map(|c| ((c.minute - at(0)).num_seconds(), c.status.as_str(), c.channel.as_str(), c.count))
        .collect();
    assert_eq!(seen, vec![(60, "accepted", "contact_center", 1), (120, "accepted", "citizen", 1)]);
    let all = store.submissions_since(at(0)).await.unwrap();
    assert_eq!(all.iter().map(|c| c.count).sum::<u64>(), 5);
    let first: Vec<_> =
        all.iter().filter(|c| c.minute == at(0)).map(|c| (c.status.as_str(), c.channel.as_str(), c.count)).collect();
    assert_eq!(first, vec![("accepted", "citizen", 2), ("rejected", "patronato", 1)]);
    assert!(all.iter().all(|c| c.scheme == "art27"));
}
