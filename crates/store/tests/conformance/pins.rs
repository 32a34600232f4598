//! INPS PIN credentials: reissuing replaces a PIN and forgets its failures and lock, a PIN is never stored without
//! its delivery, and the lockout counts exactly, even under concurrent wrong attempts.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::SubsecRound;
use sportello_domain::CodiceFiscale;
use sportello_store::{NewPin, OutboxMessage, PinCredential};

use crate::harness::{Backend, at, person};

const MAX_FAILURES: u32 = 5;
const LOCK: Duration = Duration::from_secs(15 * 60);

fn new_pin(codice_fiscale: CodiceFiscale, hash: &str) -> NewPin {
    NewPin {
        codice_fiscale,
        full_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$full${hash}"),
        simplified_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$half${hash}"),
        issued_at: at(0),
    }
}

fn delivery(recipient: &str) -> OutboxMessage {
    OutboxMessage {
        channel: "sms".to_owned(),
        recipient: recipient.to_owned(),
        subject: "PIN INPS".to_owned(),
        body: "Prima parte del PIN: ABCD1234".to_owned(),
        not_before: at(0),
    }
}

/// What a freshly stored `pin` reads back as.
fn credential(pin: &NewPin) -> PinCredential {
    PinCredential {
        codice_fiscale: pin.codice_fiscale,
        full_hash: pin.full_hash.clone(),
        simplified_hash: pin.simplified_hash.clone(),
        issued_at: pin.issued_at.trunc_subsecs(6),
        failures: 0,
        locked_until: None,
    }
}

pub async fn put_pin_replaces_the_pin_and_resets_failures_and_lock(backend: Backend) {
    let store = backend.store.as_ref();
    assert_eq!(store.pin(&person(1)).await.unwrap(), None);

    let mut first = new_pin(person(1), "one");
    first.issued_at = at(0) + chrono::Duration::nanoseconds(123_456_789);
    store.put_pin(first.clone(), delivery("+393331234567")).await.unwrap();
    assert_eq!(store.pin(&person(1)).await.unwrap(), Some(credential(&first)));

    // Lock it, and leave a failure counted after the lock: reissuing forgets both.
    for _ in 0..MAX_FAILURES {
        store.record_login_failure(&person(1), at(10), MAX_FAILURES, LOCK).await.unwrap();
    }
    let locked = store.pin(&person(1)).await.unwrap().unwrap();
    assert!(locked.locked_until.is_some(), "{locked:?}");

    let mut second = new_pin(person(1), "two");
    second.issued_at = at(3600);
    store.put_pin(second.clone(), delivery("+393331234567")).await.unwrap();
    assert_eq!(store.pin(&person(1)).await.unwrap(), Some(credential(&second)));

    store.record_login_failure(&person(1), at(3700), MAX_FAILURES, LOCK).await.unwrap();
    let mut third = new_pin(person(1), "three");
    third.issued_at = at(7200);
    store.put_pin(third.clone(), delivery("+393331234567")).await.unwrap();
    assert_eq!(store.pin(&person(1)).await.unwrap(), Some(credential(&third)));
    // Another person is untouched.
    assert_eq!(store.pin(&person(2)).await.unwrap(), None);
}

pub async fn put_pin_enqueues_its_delivery_in_the_same_transaction(backend: Backend) {
    let store = backend.store.as_ref();
    let message = delivery("+393331234567");
    store.put_pin(new_pin(person(1), "one"), message.clone()).await.unwrap();

    let claimed = store.claim_outbox(at(0), 10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    assert_eq!((&claimed[0].message, claimed[0].attempts), (&message, 1));

    // A delivery the database refuses (an unknown channel) takes the PIN down with it: the old one stays.
    let mut refused = delivery("+393331234567");
    refused.channel = "pigeon".to_owned();
    assert!(store.put_pin(new_pin(person(1), "two"), refused.clone()).await.is_err());
    assert_eq!(store.pin(&person(1)).await.unwrap().unwrap().full_hash, new_pin(person(1), "one").full_hash);
    assert!(store.put_pin(new_pin(person(2), "two"), refused).await.is_err());
    assert_eq!(store.pin(&person(2)).await.unwrap(), None);
    // Only the first delivery was ever enqueued: it alone comes back once its lease has ended.
    let again = store.claim_outbox(at(3600), 10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(again.iter().map(|e| (e.id, e.attempts)).collect::<Vec<_>>(), vec![(claimed[0].id, 2)]);
}

pub async fn five_wrong_pins_lock_and_restart_the_count(backend: Backend) {
    let store = backend.store.as_ref();
    let pin = new_pin(person(1), "one");
    store.put_pin(pin.clone(), delivery("+393331234567")).await.unwrap();

    for expected in 1..MAX_FAILURES {
        let after = store.record_login_failure(&person(1), at(10), MAX_FAILURES, LOCK).await.unwrap().unwrap();
        assert_eq!((after.failures, after.locked_until), (expected, None));
    }
    let locked = store.record_login_failure(&person(1), at(10), MAX_FAILURES, LOCK).await.unwrap().unwrap();
    let until = at(10) + chrono::Duration::minutes(15);
    assert_eq!((locked.failures, locked.locked_until), (0, Some(until)));
    assert_eq!(store.pin(&person(1)).await.unwrap(), Some(locked.clone()));
    // The hashes are not touched by failures.
    assert_eq!((locked.full_hash, locked.simplified_hash), (pin.full_hash, pin.simplified_hash));
}

pub async fn concurrent_wrong_pins_lock_exactly_as_sequential_ones(backend: Backend) {
    // Person 2's PIN is there to show that the failures stay with person 1.
    store_pins(&backend, 2).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = backend.store.clone();
            tokio::spawn(async move { store.record_login_failure(&person(1), at(10), MAX_FAILURES, LOCK).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap().unwrap());
    }

    let until = at(10) + chrono::Duration::minutes(15);
    // Sequentially: failures 1 to 4 counted, the 5th locks (count back to 0), the other 15 meet the lock.
    let counted: BTreeSet<u32> = outcomes.iter().filter(|c| c.locked_until.is_none()).map(|c| c.failures).collect();
    assert_eq!(counted, (1..MAX_FAILURES).collect(), "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|c| c.locked_until.is_none()).count(), 4, "{outcomes:?}");
    assert!(
        outcomes.iter().filter(|c| c.locked_until.is_some()).all(|c| c.failures == 0 && c.locked_until == Some(until)),
        "{outcomes:?}"
    );
    let stored = backend.store.pin(&person(1)).await.unwrap().unwrap();
    assert_eq!((stored.failures, stored.locked_until), (0, Some(until)));
    let other = backend.store.pin(&person(2)).await.unwrap().unwrap();
    assert_eq!((other.failures, other.locked_until), (0, None));
}

pub async fn failures_while_locked_neither_count_nor_extend_the_lock(backend: Backend) {
    let store = backend.store.as_ref();
    store_pins(&backend, 1).await;
    for _ in 0..MAX_FAILURES {
        store.record_login_failure(&person(1), at(0), MAX_FAILURES, LOCK).await.unwrap();
    }
    let until = at(15 * 60);

    // During the lock, even more than five failures change nothing.
    for seconds in [1, 60, 600, 899] {
        let during = store.record_login_failure(&person(1), at(seconds), MAX_FAILURES, LOCK).await.unwrap().unwrap();
        assert_eq!((during.failures, during.locked_until), (0, Some(until)), "at +{seconds}s");
    }
    // Once it ends (at its very instant), failures count again, and the fifth locks anew.
    for expected in 1..MAX_FAILURES {
        let after = store.record_login_failure(&person(1), until, MAX_FAILURES, LOCK).await.unwrap().unwrap();
        assert_eq!(after.failures, expected);
        assert_eq!(after.locked_until, Some(until), "the ended lock is only history");
    }
    let relocked = store.record_login_failure(&person(1), at(1000), MAX_FAILURES, LOCK).await.unwrap().unwrap();
    assert_eq!((relocked.failures, relocked.locked_until), (0, Some(at(1000 + 15 * 60))));
}

pub async fn clear_login_failures_restarts_the_count(backend: Backend) {
    let store = backend.store.as_ref();
    store_pins(&backend, 2).await;
    for _ in 0..MAX_FAILURES - 1 {
        store.record_login_failure(&person(1), at(0), MAX_FAILURES, LOCK).await.unwrap();
        store.record_login_failure(&person(2), at(0), MAX_FAILURES, LOCK).await.unwrap();
    }
    store.clear_login_failures(&person(1)).await.unwrap();
    assert_eq!(store.pin(&person(1)).await.unwrap().unwrap().failures, 0);
    assert_eq!(store.pin(&person(2)).await.unwrap().unwrap().failures, MAX_FAILURES - 1, "only that person");

    // Four more wrong PINs do not lock: the earlier four were forgotten.
    for _ in 0..MAX_FAILURES - 1 {
        store.record_login_failure(&person(1), at(1), MAX_FAILURES, LOCK).await.unwrap();
    }
    let after = store.pin(&person(1)).await.unwrap().unwrap();
    assert_eq!((after.failures, after.locked_until), (MAX_FAILURES - 1, None));
    // Clearing a person without a PIN is not an error.
    store.clear_login_failures(&person(9)).await.unwrap();
}

pub async fn a_failure_without_a_pin_is_none(backend: Backend) {
    let store = backend.store.as_ref();
    assert_eq!(store.record_login_failure(&person(1), at(0), MAX_FAILURES, LOCK).await.unwrap(), None);
    assert_eq!(store.pin(&person(1)).await.unwrap(), None);
}

pub async fn a_lock_too_long_to_represent_lasts_for_ever(backend: Backend) {
    let store = backend.store.as_ref();
    store_pins(&backend, 1).await;
    let locked = store.record_login_failure(&person(1), at(0), 1, Duration::MAX).await.unwrap().unwrap();
    let until = locked.locked_until.unwrap();
    assert!(until > at(0) + chrono::Duration::days(365 * 7000), "{until}");
    let later = store.record_login_failure(&person(1), until - chrono::Duration::days(1), 1, LOCK).await.unwrap();
    assert_eq!(later.unwrap().locked_until, Some(until));
}

/// Gives persons 1 to `n` a PIN each.
async fn store_pins(backend: &Backend, n: u32) {
    for i in 1..=n {
        backend.store.put_pin(new_pin(person(i), &format!("p{i}")), delivery("+393331234567")).await.unwrap();
    }
}
