//! Applications: idempotent resubmission, art. 31 (one indemnity per person among the March schemes) held by the
//! database under concurrency, protocol numbers, and who may read what.

use std::collections::{BTreeSet, HashMap};

use chrono::SubsecRound;
use sportello_domain::ProtocolNumber;
use sportello_store::{Application, ApplicationStatus, Submission};

use crate::harness::{Backend, application, at, person};

use ApplicationStatus::{Accepted, Rejected};

fn created(submission: Submission) -> Application {
    match submission {
        Submission::Created(a) => a,
        other => panic!("expected Created, got {other:?}"),
    }
}

/// `INPS-COVID-<year>-<nine digits>`.
fn assert_protocol_format(protocol: &str, year: i32) {
    let prefix = format!("INPS-COVID-{year}-");
    let digits = protocol.strip_prefix(&prefix).unwrap_or_else(|| panic!("{protocol} does not start with {prefix}"));
    assert!(digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit()), "{protocol}");
}

pub async fn created_then_duplicate_returns_the_original(backend: Backend) {
    let store = backend.store.as_ref();
    let mut new = application(person(1), "form-1", Accepted);
    new.submitted_at = at(0) + chrono::Duration::nanoseconds(123_456_789);
    let original = created(store.submit(new.clone()).await.unwrap());
    assert_protocol_format(&original.protocol, 2020);
    assert_eq!(original.codice_fiscale, new.codice_fiscale);
    assert_eq!((original.scheme.as_str(), original.idempotency_key.as_str()), ("art27", "form-1"));
    assert_eq!(original.status, Accepted);
    assert_eq!((&original.reasons, &original.details), (&new.reasons, &new.details));
    assert_eq!(original.submitted_at, new.submitted_at.trunc_subsecs(6), "kept to the microsecond");
    assert_eq!(original.updated_at, original.submitted_at);

    // The same form again, even for another scheme and later: the original, unchanged.
    let mut again = new.clone();
    again.scheme = "art28".to_owned();
    again.submitted_at = at(60);
    assert_eq!(store.submit(again).await.unwrap(), Submission::Duplicate(original.clone()));
    assert_eq!(store.applications_of(&person(1)).await.unwrap(), vec![original]);
}

pub async fn another_key_while_holding_gives_already_holds(backend: Backend) {
    let store = backend.store.as_ref();
    let holder = created(store.submit(application(person(1), "form-1", Accepted)).await.unwrap());

    let mut other = application(person(1), "form-2", Accepted);
    other.scheme = "art28".to_owned();
    assert_eq!(store.submit(other).await.unwrap(), Submission::AlreadyHolds(holder.clone()));
    // A rejected submission with a new key is stored, and does not disturb the holder.
    let rejected = created(store.submit(application(person(1), "form-3", Rejected)).await.unwrap());
    assert_eq!(store.applications_of(&person(1)).await.unwrap(), vec![holder, rejected]);
}

pub async fn rejected_applications_are_kept_and_never_block(backend: Backend) {
    let store = backend.store.as_ref();
    let first = created(store.submit(application(person(1), "r1", Rejected)).await.unwrap());
    let second = created(store.submit(application(person(1), "r2", Rejected)).await.unwrap());
    assert_ne!(first.protocol, second.protocol);

    // Resubmitting a rejected form gives it back, even if this time it would be accepted.
    assert_eq!(
        store.submit(application(person(1), "r1", Accepted)).await.unwrap(),
        Submission::Duplicate(first.clone())
    );

    let accepted = created(store.submit(application(person(1), "a1", Accepted)).await.unwrap());
    assert_eq!(
        store.submit(application(person(1), "a2", Accepted)).await.unwrap(),
        Submission::AlreadyHolds(accepted.clone())
    );
    // With both a holder and a rejected form on file, a resubmission still answers with its own form.
    assert_eq!(
        store.submit(application(person(1), "r2", Accepted)).await.unwrap(),
        Submission::Duplicate(second.clone())
    );
    assert_eq!(
        store.submit(application(person(1), "a1", Rejected)).await.unwrap(),
        Submission::Duplicate(accepted.clone())
    );
    assert_eq!(store.applications_of(&person(1)).await.unwrap(), vec![first, second, accepted]);
    // Someone else is not affected by person 1's applications.
    created(store.submit(application(person(2), "a1", Accepted)).await.unwrap());
}

pub async fn concurrent_submissions_of_one_person_grant_one_indemnity(backend: Backend) {
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = backend.store.clone();
            tokio::spawn(async move { store.submit(application(person(1), &format!("form-{i}"), Accepted)).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap());
    }

    let winners: Vec<_> =
        outcomes.iter().filter_map(|o| if let Submission::Created(a) = o { Some(a) } else { None }).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    let winner = winners[0];
    for outcome in &outcomes {
        match outcome {
            Submission::Created(_) => {}
            Submission::AlreadyHolds(holder) => assert_eq!(holder, winner),
            Submission::Duplicate(_) => panic!("every key was different: {outcome:?}"),
        }
    }
    let stored = backend.store.applications_of(&person(1)).await.unwrap();
    assert_eq!(stored, vec![winner.clone()]);
}

pub async fn concurrent_double_submits_share_one_protocol(backend: Backend) {
    let tasks: Vec<_> = (0..50u32)
        .flat_map(|n| [n, n])
        .map(|n| {
            let store = backend.store.clone();
            tokio::spawn(async move { (n, store.submit(application(person(n), "the-form", Accepted)).await) })
        })
        .collect();
    let mut by_person: HashMap<u32, Vec<Submission>> = HashMap::new();
    for task in tasks {
        let (n, outcome) = task.await.unwrap();
        by_person.entry(n).or_default().push(outcome.unwrap());
    }

    let mut protocols = BTreeSet::new();
    for n in 0..50u32 {
        let outcomes = &by_person[&n];
        let (created, duplicate) = match outcomes.as_slice() {
            [Submission::Created(a), Submission::Duplicate(b)] | [Submission::Duplicate(b), Submission::Created(a)] => {
                (a, b)
            }
            other => panic!("person {n}: expected one Created and one Duplicate, got {other:?}"),
        };
        assert_eq!(created, duplicate);
        assert_eq!(backend.store.applications_of(&person(n)).await.unwrap(), vec![created.clone()]);
        protocols.insert(created.protocol.clone());
    }
    assert_eq!(protocols.len(), 50, "protocol numbers are unique across persons");
}

pub async fn protocol_numbers_are_unique_and_formatted(backend: Backend) {
    let store = backend.store.as_ref();
    let mut seen = Vec::new();
    for n in 0..5u32 {
        let mut new = application(person(n), "k", if n.is_multiple_of(2) { Accepted } else { Rejected });
        if n == 4 {
            new.submitted_at = chrono::DateTime::parse_from_rfc3339("2021-01-02T00:00:00Z").unwrap().to_utc();
        }
        let a = created(store.submit(new).await.unwrap());
        assert_protocol_format(&a.protocol, if n == 4 { 2021 } else { 2020 });
        seen.push(a.protocol);
    }
    // The number part grows with each application.
    let numbers: Vec<u64> = seen.iter().map(|p| p.rsplit('-').next().unwrap().parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert!(numbers[0] > 0);
}

pub async fn an_application_is_visible_only_to_its_owner(backend: Backend) {
    let store = backend.store.as_ref();
    let mine = created(store.submit(application(person(1), "k", Accepted)).await.unwrap());
    created(store.submit(application(person(2), "k", Accepted)).await.unwrap());

    assert_eq!(store.application(&person(1), &mine.protocol).await.unwrap(), Some(mine.clone()));
    assert_eq!(store.application(&person(2), &mine.protocol).await.unwrap(), None, "another person's protocol");
    assert_eq!(store.application(&person(3), &mine.protocol).await.unwrap(), None);
    let unknown = ProtocolNumber::parse("INPS-COVID-2020-999999999").unwrap();
    assert_eq!(store.application(&person(1), &unknown).await.unwrap(), None);
    // A quote can reach no query: text that is not a protocol number never becomes one.
    assert!(ProtocolNumber::parse("' OR '1'='1").is_err());
}

pub async fn applications_of_lists_oldest_first(backend: Backend) {
    let store = backend.store.as_ref();
    // Submitted out of order: a late one first, then earlier ones.
    let mut stored = Vec::new();
    for (key, seconds) in [("late", 300), ("early", 10), ("middle", 100)] {
        let mut new = application(person(1), key, Rejected);
        new.submitted_at = at(seconds);
        stored.push(created(store.submit(new).await.unwrap()));
    }
    created(store.submit(application(person(2), "other", Accepted)).await.unwrap());

    let keys: Vec<_> =
        store.applications_of(&person(1)).await.unwrap().into_iter().map(|a| a.idempotency_key).collect();
    assert_eq!(keys, vec!["early", "middle", "late"]);
    assert!(store.applications_of(&person(3)).await.unwrap().is_empty());
}
