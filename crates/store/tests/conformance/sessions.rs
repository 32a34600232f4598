//! Login sessions: stored by the hash of their id with their principal (kind, actor, login method, channel), touched
//! on activity, ended by logout, idleness or absolute expiry.

use sportello_domain::CodiceFiscale;
use sportello_store::{Session, SessionKind};

use crate::harness::{Backend, at, person};

/// A citizen's own browser session, opened with the full PIN.
fn session(id_hash: &str, codice_fiscale: CodiceFiscale, created: i64, expires: i64) -> Session {
    Session {
        id_hash: id_hash.to_owned(),
        kind: SessionKind::Cookie,
        actor: format!("citizen:{codice_fiscale}"),
        codice_fiscale,
        login_method: "pin_full".to_owned(),
        channel: "citizen".to_owned(),
        created_at: at(created),
        last_seen_at: at(created),
        expires_at: at(expires),
        credential: Some(format!("pin:{created}")),
        confirmed: created % 2 == 0,
    }
}

pub async fn sessions_are_created_read_touched_and_deleted(backend: Backend) {
    let store = backend.store.as_ref();
    let mine = session(&"a".repeat(64), person(1), 0, 8 * 3600);
    let theirs = session(&"b".repeat(64), person(2), 0, 8 * 3600);
    store.create_session(mine.clone()).await.unwrap();
    store.create_session(theirs.clone()).await.unwrap();
    assert_eq!(store.session(&mine.id_hash).await.unwrap(), Some(mine.clone()));

    store.touch_session(&mine.id_hash, at(600)).await.unwrap();
    let touched = Session { last_seen_at: at(600), ..mine.clone() };
    assert_eq!(store.session(&mine.id_hash).await.unwrap(), Some(touched.clone()));
    // A request that finishes late does not move activity back in time.
    store.touch_session(&mine.id_hash, at(300)).await.unwrap();
    assert_eq!(store.session(&mine.id_hash).await.unwrap(), Some(touched));

    store.delete_session(&mine.id_hash).await.unwrap();
    assert_eq!(store.session(&mine.id_hash).await.unwrap(), None);
    // Logging out twice, or touching a session that is gone, is not an error and creates nothing.
    store.delete_session(&mine.id_hash).await.unwrap();
    store.touch_session(&mine.id_hash, at(900)).await.unwrap();
    assert_eq!(store.session(&mine.id_hash).await.unwrap(), None);
    assert_eq!(store.session(&theirs.id_hash).await.unwrap(), Some(theirs));
}

pub async fn an_unknown_session_is_none(backend: Backend) {
    let store = backend.store.as_ref();
    store.create_session(session(&"a".repeat(64), person(1), 0, 3600)).await.unwrap();
    assert_eq!(store.session(&"c".repeat(64)).await.unwrap(), None);
    assert_eq!(store.session("").await.unwrap(), None);
    assert_eq!(store.session("' OR '1'='1").await.unwrap(), None);
}

pub async fn a_session_id_is_never_stored_twice(backend: Backend) {
    let store = backend.store.as_ref();
    let first = session(&"a".repeat(64), person(1), 0, 3600);
    store.create_session(first.clone()).await.unwrap();
    assert!(store.create_session(session(&"a".repeat(64), person(2), 10, 3600)).await.is_err());
    assert_eq!(store.session(&first.id_hash).await.unwrap(), Some(first));
}

pub async fn expired_sessions_go_by_idleness_or_absolute_expiry(backend: Backend) {
    let store = backend.store.as_ref();
    let now = at(10_000);
    let idle_before = at(10_000 - 1800);
    // (id, last seen, expires): which survive the sweep at `now` with 30 minutes' idleness allowed.
    let cases = [
        ("idle", 10_000 - 1801, 20_000, false),
        ("idle-exactly-at-the-limit", 10_000 - 1800, 20_000, true),
        ("expired", 9_999, 9_000, false),
        ("expires-now", 9_999, 10_000, false),
        ("expires-later", 9_999, 10_001, true),
        ("fresh", 9_000, 40_000, true),
    ];
    for (id, last_seen, expires) in cases.iter().map(|&(id, seen, expires, _)| (id, seen, expires)) {
        let mut s = session(id, person(1), 0, expires);
        s.last_seen_at = at(last_seen);
        store.create_session(s).await.unwrap();
    }

    let deleted = store.delete_expired_sessions(now, idle_before).await.unwrap();
    assert_eq!(deleted, cases.iter().filter(|c| !c.3).count() as u64);
    for (id, _, _, survives) in cases {
        assert_eq!(store.session(id).await.unwrap().is_some(), survives, "{id}");
    }
    // A second sweep finds nothing more.
    assert_eq!(store.delete_expired_sessions(now, idle_before).await.unwrap(), 0);
}

pub async fn a_session_keeps_its_kind_actor_login_method_and_channel(backend: Backend) {
    let store = backend.store.as_ref();
    let browser = Session { login_method: "spid_l2".to_owned(), ..session(&"a".repeat(64), person(1), 0, 3600) };
    // An operator's API token acting on a citizen's data: actor and subject differ.
    let token = Session {
        kind: SessionKind::Bearer,
        actor: "operator:op-042".to_owned(),
        login_method: "cns".to_owned(),
        channel: "back_office".to_owned(),
        credential: None,
        ..session(&"b".repeat(64), person(2), 10, 3600)
    };
    store.create_session(browser.clone()).await.unwrap();
    store.create_session(token.clone()).await.unwrap();
    assert_eq!(store.session(&browser.id_hash).await.unwrap(), Some(browser));
    assert_eq!(store.session(&token.id_hash).await.unwrap(), Some(token));

    // Opened in bulk, the same.
    let bulk: Vec<Session> = [("spid_l3", "intermediary"), ("cie", "contact_center"), ("pin_simplified", "citizen")]
        .into_iter()
        .enumerate()
        .map(|(i, (method, channel))| Session {
            kind: if i % 2 == 0 { SessionKind::Bearer } else { SessionKind::Cookie },
            actor: format!("intermediary:caf-{i}"),
            login_method: method.to_owned(),
            channel: channel.to_owned(),
            ..session(&format!("{i}").repeat(64), person(3), 20, 3600)
        })
        .collect();
    store.create_sessions(&bulk).await.unwrap();
    for s in bulk {
        assert_eq!(store.session(&s.id_hash).await.unwrap(), Some(s));
    }
}

pub async fn a_login_method_or_channel_outside_the_list_is_refused(backend: Backend) {
    let store = backend.store.as_ref();
    let password = Session { login_method: "password".to_owned(), ..session(&"a".repeat(64), person(1), 0, 3600) };
    let web = Session { channel: "web".to_owned(), ..session(&"b".repeat(64), person(1), 0, 3600) };
    for refused in [password, web] {
        assert!(store.create_session(refused.clone()).await.is_err(), "{refused:?}");
        assert!(store.create_sessions(std::slice::from_ref(&refused)).await.is_err(), "{refused:?}");
        assert_eq!(store.session(&refused.id_hash).await.unwrap(), None);
    }
}
