//! INPS PIN credentials: a new PIN never replaces one in use, a PIN is never stored without its messages, the
//! wrong-PIN counters count exactly (even under concurrent attempts) and per bucket, and the holds on applications
//! made with an unconfirmed PIN are released by the full PIN or an officer, or end with the application annulled.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::SubsecRound;
use sportello_domain::CodiceFiscale;
use sportello_store::credentials::{slot_for_office, slot_for_request};
use sportello_store::{
    ApplicationStatus, FirstHalfTo, NewPaymentRun, NewPin, OutboxMessage, STRANGERS, Session, SessionKind, Submission,
};

use crate::harness::{Backend, application, at, date, person};

const MAX_FAILURES: u32 = 5;
const LOCK: Duration = Duration::from_secs(15 * 60);

fn new_pin(codice_fiscale: CodiceFiscale, slot: u8, hash: &str) -> NewPin {
    NewPin {
        codice_fiscale,
        slot,
        full_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$full${hash}"),
        simplified_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$half${hash}"),
        issued_at: at(0),
        first_half_to: FirstHalfTo::OnFile,
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

pub async fn a_new_pin_takes_a_free_slot_and_never_one_in_use(backend: Backend) {
    let store = backend.store.as_ref();
    assert!(store.pins_of(&person(1)).await.unwrap().is_empty());

    let mut first = new_pin(person(1), 0, "one");
    first.issued_at = at(0) + chrono::Duration::nanoseconds(123_456_789);
    assert!(store.put_pin(first.clone(), &[delivery("+393331234567")]).await.unwrap());
    let stored = store.pins_of(&person(1)).await.unwrap();
    assert_eq!(stored.len(), 1);
    let one = &stored[0];
    assert_eq!(
        (one.slot, &one.full_hash, one.issued_at),
        (Some(0), &first.full_hash, first.issued_at.trunc_subsecs(6))
    );
    assert_eq!((one.first_half_to, one.confirmed_at, one.last_used_at), (FirstHalfTo::OnFile, None, None));
    assert!(one.confirmed(), "a first half sent to a contact on file needs no confirmation");

    // Slot 0 is free again for a request as long as its PIN never opened a session...
    assert_eq!(slot_for_request(&stored), Some(1));
    assert!(store.put_pin(new_pin(person(1), 0, "two"), &[]).await.unwrap(), "an unused PIN is replaced");
    let stored = store.pins_of(&person(1)).await.unwrap();
    assert_eq!(
        stored.iter().map(|p| p.full_hash.as_str()).collect::<Vec<_>>(),
        [new_pin(person(1), 0, "two").full_hash]
    );
    // ...and once it has, nothing takes its place.
    store.pin_used(stored[0].id, false, at(60)).await.unwrap();
    assert!(!store.put_pin(new_pin(person(1), 0, "three"), &[delivery("+393331234567")]).await.unwrap());
    let kept = store.pins_of(&person(1)).await.unwrap();
    assert_eq!((kept.len(), kept[0].last_used_at), (1, Some(at(60))));
    assert_eq!(kept[0].full_hash, new_pin(person(1), 0, "two").full_hash);
    // The refused request enqueued nothing.
    let claimed = store.claim_outbox(at(0), 10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(claimed.len(), 1, "only the first PIN's delivery: {claimed:?}");

    // Four PINs in use: a request finds no slot, the office takes the one used least recently.
    for slot in 1..4 {
        assert!(store.put_pin(new_pin(person(1), slot, &format!("s{slot}")), &[]).await.unwrap());
    }
    let ids: Vec<i64> = store.pins_of(&person(1)).await.unwrap().iter().map(|p| p.id).collect();
    for (i, id) in ids.iter().enumerate().skip(1) {
        store.pin_used(*id, false, at(100 + i64::try_from(i).unwrap())).await.unwrap();
    }
    let all = store.pins_of(&person(1)).await.unwrap();
    assert_eq!(all.iter().map(|p| p.slot).collect::<Vec<_>>(), [Some(0), Some(1), Some(2), Some(3)]);
    assert_eq!(slot_for_request(&all), None);
    assert_eq!(slot_for_office(&all), 0, "slot 0 was used at +60 s, the others later");
    // Another person is untouched.
    assert!(store.pins_of(&person(2)).await.unwrap().is_empty());
}

pub async fn put_pin_enqueues_its_messages_in_the_same_transaction(backend: Backend) {
    let store = backend.store.as_ref();
    let message = delivery("+393331234567");
    let notice = OutboxMessage { channel: "email".to_owned(), ..delivery("mario@example.it") };
    assert!(store.put_pin(new_pin(person(1), 0, "one"), &[message.clone(), notice.clone()]).await.unwrap());

    let claimed = store.claim_outbox(at(0), 10, Duration::from_secs(60)).await.unwrap();
    let got: Vec<(&OutboxMessage, u32)> = claimed.iter().map(|c| (&c.message, c.attempts)).collect();
    assert_eq!(got, [(&message, 1), (&notice, 1)]);

    // A message the database refuses (an unknown channel) takes the PIN down with it: nothing changes.
    let mut refused = delivery("+393331234567");
    refused.channel = "pigeon".to_owned();
    assert!(store.put_pin(new_pin(person(1), 1, "two"), &[message.clone(), refused.clone()]).await.is_err());
    assert_eq!(store.pins_of(&person(1)).await.unwrap().len(), 1);
    assert!(store.put_pin(new_pin(person(2), 0, "two"), &[refused]).await.is_err());
    assert!(store.pins_of(&person(2)).await.unwrap().is_empty());
    // Only the first two were ever enqueued: they alone come back once their lease has ended.
    let again = store.claim_outbox(at(3600), 10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(again.len(), 2, "{again:?}");
}

pub async fn a_login_is_checked_against_its_slot_alone(backend: Backend) {
    let store = backend.store.as_ref();
    assert!(store.put_pin(new_pin(person(1), 2, "two"), &[]).await.unwrap());
    assert!(store.put_pin(new_pin(person(1), 3, "three"), &[]).await.unwrap());
    let slot_two = store.pins_for_slot(&person(1), 2).await.unwrap();
    assert_eq!(slot_two.iter().map(|p| p.slot).collect::<Vec<_>>(), [Some(2)]);
    assert!(store.pins_for_slot(&person(1), 0).await.unwrap().is_empty());
    assert!(store.pins_for_slot(&person(2), 2).await.unwrap().is_empty());
}

pub async fn the_full_pin_confirms_and_releases_what_its_pin_holds(backend: Backend) {
    let store = backend.store.as_ref();
    store.ensure_budget(&crate::harness::budget("art27", 600, 10), at(0)).await.unwrap();
    let mut given = new_pin(person(1), 0, "given");
    given.first_half_to = FirstHalfTo::Given;
    assert!(store.put_pin(given, &[]).await.unwrap());
    let pin = store.pins_of(&person(1)).await.unwrap().remove(0);
    assert!(!pin.confirmed());

    let mut held = application(person(1), "k1", ApplicationStatus::Accepted);
    held.details = serde_json::json!({ "payment": { "method": "iban", "iban": "IT60X0542811101000000123456" } });
    held.hold = Some(pin.reference());
    let Submission::Created(held) = store.submit(held).await.unwrap() else { panic!("stored") };
    assert_eq!(held.hold, Some(pin.reference()));
    // A payment run passes it over.
    let run = NewPaymentRun {
        pay_date: date(2020, 4, 15),
        debtor_name: "INPS".to_owned(),
        debtor_iban: "IT60X0542811101000000123456".to_owned(),
        debtor_bic: "BPPIITRRXXX".to_owned(),
        at: at(3600),
        accepted_before: at(86_400),
    };
    let (first_run, _) = store.start_payment_run(&run).await.unwrap();
    assert!(store.run_totals(first_run.id).await.unwrap().is_empty(), "a held application is not paid");

    // The simplified PIN opens sessions but confirms nothing.
    assert_eq!(store.pin_used(pin.id, false, at(60)).await.unwrap(), 0);
    assert!(!store.pins_of(&person(1)).await.unwrap()[0].confirmed());
    // The full PIN confirms, and releases its application.
    assert_eq!(store.pin_used(pin.id, true, at(120)).await.unwrap(), 1);
    let confirmed = store.pins_of(&person(1)).await.unwrap().remove(0);
    assert_eq!((confirmed.confirmed_at, confirmed.last_used_at), (Some(at(120)), Some(at(120))));
    assert!(confirmed.confirmed());
    let released = store.application(&person(1), &held.protocol).await.unwrap().unwrap();
    assert_eq!(released.hold, None);
    let (second_run, _) = store.start_payment_run(&NewPaymentRun { pay_date: date(2020, 4, 30), ..run }).await.unwrap();
    assert_eq!(store.run_totals(second_run.id).await.unwrap().len(), 1, "released, it is paid");
}

pub async fn an_officer_confirms_a_person_and_releases_every_hold(backend: Backend) {
    let store = backend.store.as_ref();
    let mut held = application(person(1), "k1", ApplicationStatus::Accepted);
    held.hold = Some("pin:999".to_owned());
    let Submission::Created(held) = store.submit(held).await.unwrap() else { panic!("stored") };
    let mut other = application(person(2), "k1", ApplicationStatus::Accepted);
    other.hold = Some("pin:998".to_owned());
    let Submission::Created(other) = store.submit(other).await.unwrap() else { panic!("stored") };

    assert_eq!(store.confirm_person(&person(1), at(60)).await.unwrap(), 1);
    assert_eq!(store.application(&person(1), &held.protocol).await.unwrap().unwrap().hold, None);
    assert_eq!(store.application(&person(2), &other.protocol).await.unwrap().unwrap().hold, Some("pin:998".into()));
}

pub async fn the_rightful_person_annuls_what_another_pin_made_and_applies_again(backend: Backend) {
    let store = backend.store.as_ref();
    store.ensure_budget(&crate::harness::budget("art27", 600, 10), at(0)).await.unwrap();
    let mut stranger = new_pin(person(1), 1, "stranger");
    stranger.first_half_to = FirstHalfTo::Given;
    assert!(store.put_pin(stranger, &[]).await.unwrap());
    let stranger = store.pins_of(&person(1)).await.unwrap().remove(0);
    let session = Session {
        id_hash: "stranger-session".to_owned(),
        kind: SessionKind::Cookie,
        actor: format!("citizen:{}", person(1)),
        codice_fiscale: person(1),
        login_method: "pin_simplified".to_owned(),
        channel: "citizen".to_owned(),
        created_at: at(0),
        last_seen_at: at(0),
        expires_at: at(3600),
        credential: Some(stranger.reference()),
        confirmed: false,
    };
    store.create_session(session).await.unwrap();
    let mut made = application(person(1), "stranger", ApplicationStatus::Accepted);
    made.hold = Some(stranger.reference());
    let Submission::Created(made) = store.submit(made).await.unwrap() else { panic!("stored") };
    let reserved = |budgets: Vec<sportello_store::Budget>| budgets.into_iter().find(|b| b.scheme == "art27").unwrap();
    assert_eq!(reserved(store.budgets().await.unwrap()).reserved.get(), 60_000);

    // Art. 31 stands in the way of the rightful person until they annul it.
    let own = application(person(1), "own", ApplicationStatus::Accepted);
    assert!(matches!(store.submit(own.clone()).await.unwrap(), Submission::AlreadyHolds(_)));
    // Not with the PIN that made it, nor someone else's protocol.
    assert_eq!(store.annul_held(&person(1), &made.protocol, &stranger.reference(), at(60)).await.unwrap(), None);
    assert_eq!(store.annul_held(&person(2), &made.protocol, "pin:1", at(60)).await.unwrap(), None);

    let annulled = store.annul_held(&person(1), &made.protocol, "pin:rightful", at(60)).await.unwrap().unwrap();
    assert_eq!((annulled.status, annulled.hold, annulled.updated_at), (ApplicationStatus::Annulled, None, at(60)));
    assert_eq!(reserved(store.budgets().await.unwrap()).reserved.get(), 0, "its amount is given back");
    assert!(store.pins_of(&person(1)).await.unwrap().is_empty(), "the PIN that made it is revoked");
    assert_eq!(store.session("stranger-session").await.unwrap(), None, "and its sessions end");
    // Annulled once: a second time finds nothing.
    assert_eq!(store.annul_held(&person(1), &made.protocol, "pin:rightful", at(61)).await.unwrap(), None);
    // Now the person applies.
    assert!(matches!(store.submit(own).await.unwrap(), Submission::Created(_)));
}

pub async fn five_wrong_pins_lock_and_restart_the_count(backend: Backend) {
    let store = backend.store.as_ref();
    for expected in 1..MAX_FAILURES {
        let after = store.record_login_failure(&person(1), STRANGERS, at(10), MAX_FAILURES, LOCK).await.unwrap();
        assert_eq!((after.failures, after.locked_until), (expected, None));
    }
    let locked = store.record_login_failure(&person(1), STRANGERS, at(10), MAX_FAILURES, LOCK).await.unwrap();
    let until = at(10) + chrono::Duration::minutes(15);
    assert_eq!((locked.failures, locked.locked_until), (0, Some(until)));
    assert_eq!(store.pin_lock(&person(1), STRANGERS).await.unwrap(), locked);
    assert!(locked.locked_at(at(11)) && !locked.locked_at(until));
    // Another bucket of the same person (a device it logged in from) is untouched.
    assert_eq!(store.pin_lock(&person(1), "device-1").await.unwrap(), sportello_store::PinLock::default());
}

pub async fn concurrent_wrong_pins_lock_exactly_as_sequential_ones(backend: Backend) {
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = backend.store.clone();
            tokio::spawn(
                async move { store.record_login_failure(&person(1), STRANGERS, at(10), MAX_FAILURES, LOCK).await },
            )
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap());
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
    let stored = backend.store.pin_lock(&person(1), STRANGERS).await.unwrap();
    assert_eq!((stored.failures, stored.locked_until), (0, Some(until)));
    let other = backend.store.pin_lock(&person(2), STRANGERS).await.unwrap();
    assert_eq!((other.failures, other.locked_until), (0, None));
}

pub async fn failures_while_locked_neither_count_nor_extend_the_lock(backend: Backend) {
    let store = backend.store.as_ref();
    for _ in 0..MAX_FAILURES {
        store.record_login_failure(&person(1), STRANGERS, at(0), MAX_FAILURES, LOCK).await.unwrap();
    }
    let until = at(15 * 60);

    // During the lock, even more than five failures change nothing.
    for seconds in [1, 60, 600, 899] {
        let during = store.record_login_failure(&person(1), STRANGERS, at(seconds), MAX_FAILURES, LOCK).await.unwrap();
        assert_eq!((during.failures, during.locked_until), (0, Some(until)), "at +{seconds}s");
    }
    // Once it ends (at its very instant), failures count again, and the fifth locks anew.
    for expected in 1..MAX_FAILURES {
        let after = store.record_login_failure(&person(1), STRANGERS, until, MAX_FAILURES, LOCK).await.unwrap();
        assert_eq!(after.failures, expected);
        assert_eq!(after.locked_until, Some(until), "the ended lock is only history");
    }
    let relocked = store.record_login_failure(&person(1), STRANGERS, at(1000), MAX_FAILURES, LOCK).await.unwrap();
    assert_eq!((relocked.failures, relocked.locked_until), (0, Some(at(1000 + 15 * 60))));
}

pub async fn clear_login_failures_restarts_the_count(backend: Backend) {
    let store = backend.store.as_ref();
    for _ in 0..MAX_FAILURES - 1 {
        store.record_login_failure(&person(1), STRANGERS, at(0), MAX_FAILURES, LOCK).await.unwrap();
        store.record_login_failure(&person(2), STRANGERS, at(0), MAX_FAILURES, LOCK).await.unwrap();
    }
    store.clear_login_failures(&person(1), STRANGERS).await.unwrap();
    assert_eq!(store.pin_lock(&person(1), STRANGERS).await.unwrap().failures, 0);
    assert_eq!(store.pin_lock(&person(2), STRANGERS).await.unwrap().failures, MAX_FAILURES - 1, "only that person");

    // Four more wrong PINs do not lock: the earlier four were forgotten.
    for _ in 0..MAX_FAILURES - 1 {
        store.record_login_failure(&person(1), STRANGERS, at(1), MAX_FAILURES, LOCK).await.unwrap();
    }
    let after = store.pin_lock(&person(1), STRANGERS).await.unwrap();
    assert_eq!((after.failures, after.locked_until), (MAX_FAILURES - 1, None));
    // Clearing a person without failures is not an error.
    store.clear_login_failures(&person(9), STRANGERS).await.unwrap();
}

pub async fn a_lock_too_long_to_represent_lasts_for_ever(backend: Backend) {
    let store = backend.store.as_ref();
    let locked = store.record_login_failure(&person(1), STRANGERS, at(0), 1, Duration::MAX).await.unwrap();
    let until = locked.locked_until.unwrap();
    assert!(until > at(0) + chrono::Duration::days(365 * 7000), "{until}");
    let later =
        store.record_login_failure(&person(1), STRANGERS, until - chrono::Duration::days(1), 1, LOCK).await.unwrap();
    assert_eq!(later.locked_until, Some(until));
}
