//! Group commit: many submissions share one commit, yet each is decided as if it ran alone after the ones before
//! it, a failing one fails alone, and none is acknowledged before it is durable.

use std::collections::{BTreeSet, HashMap};

use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use sportello_domain::IdempotencyKey;
use sportello_store::{Application, ApplicationStatus, NewApplication, StoreError, Submission, SubmittedBy, open};

use crate::harness::{Backend, Kind, Raw, application, person};

use ApplicationStatus::{Accepted, Rejected};

fn new(n: u32, scheme: &str, key: &str, status: ApplicationStatus) -> NewApplication {
    let mut new = application(person(n), key, status);
    new.scheme = scheme.to_owned();
    new
}

fn stored(submission: &Submission) -> &Application {
    match submission {
        Submission::Created(a) | Submission::Duplicate(a) | Submission::AlreadyHolds(a) => a,
    }
}

/// Submits `batch` in this order while the writer is held up, so that the submissions queue up and are stored in
/// at most two commits (the first the writer took before it had to wait, and all the rest).
pub async fn submit_queued(backend: &Backend, batch: Vec<NewApplication>) -> Vec<Result<Submission, StoreError>> {
    submit_queued_by(backend, batch.into_iter().map(|a| (a, None)).collect()).await
}

/// [`submit_queued`], each submission audited (`Store::submit_audited`) when it comes with a [`SubmittedBy`].
async fn submit_queued_by(
    backend: &Backend,
    batch: Vec<(NewApplication, Option<SubmittedBy>)>,
) -> Vec<Result<Submission, StoreError>> {
    let commits = backend.commits.as_ref().expect("this backend groups commits");
    let before = commits.get();
    let mut lock = Raw::connect(backend).await;
    lock.lock_out_writers().await;
    // join_all polls the submissions in order, and each is queued at its first poll, before the unlock can run.
    let submissions = futures::future::join_all(batch.into_iter().map(|(a, by)| match by {
        Some(by) => backend.store.submit_audited(a, by),
        None => backend.store.submit(a),
    }));
    let unlock = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        lock.unlock().await;
    };
    let (outcomes, ()) = tokio::join!(submissions, unlock);
    let commits = commits.get() - before;
    assert!((1..=2).contains(&commits), "{commits} commits");
    outcomes
}

/// Makes the database refuse any application for the scheme `refused`: a constraint only the test's database has,
/// standing for any submission the database refuses.
pub async fn refuse_scheme(backend: &Backend) {
    match backend.kind {
        Kind::Sqlite => {
            backend
                .execute_raw(
                    "CREATE TRIGGER refuse_scheme BEFORE INSERT ON applications WHEN NEW.scheme = 'refused'
                     BEGIN SELECT RAISE(ABORT, 'scheme refused'); END",
                )
                .await;
        }
        Kind::Postgres => {
            backend
                .execute_raw("ALTER TABLE applications ADD CONSTRAINT refuse_scheme CHECK (scheme <> 'refused')")
                .await;
        }
    }
}

pub async fn a_batch_decides_as_one_submission_after_another(backend: Backend) {
    use Expected::*;
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Expected {
        /// Stored now.
        Created,
        /// The answer is the application created by the submission at that index.
        DuplicateOf(usize),
        /// The answer is the holder created by the submission at that index.
        HeldBy(usize),
    }
    // Persons 1-4 have nothing stored before; person 5 holds an accepted art. 27 application and person 6 a rejected
    // one, both stored before the batch (index 0 and 1).
    let cases: Vec<(NewApplication, Expected)> = vec![
        (new(5, "art27", "before", Accepted), Created),
        (new(6, "art27", "before", Rejected), Created),
        // The same form twice in one batch: the second is the first.
        (new(1, "art27", "form", Accepted), Created),
        (new(1, "art27", "form", Accepted), DuplicateOf(2)),
        // Another scheme for the same person in the same batch: art. 31, the first holds.
        (new(1, "art28", "other-form", Accepted), HeldBy(2)),
        // A rejected application is kept and blocks nothing, even within the batch.
        (new(2, "art27", "rejected", Rejected), Created),
        (new(2, "art28", "accepted", Accepted), Created),
        (new(2, "art27", "rejected", Accepted), DuplicateOf(5)),
        (new(2, "art29", "late", Accepted), HeldBy(6)),
        // Refused by art. 31 first, the same key then comes back rejected: stored, and then it is a duplicate.
        (new(3, "art27", "a", Accepted), Created),
        (new(3, "art28", "b", Accepted), HeldBy(9)),
        (new(3, "art28", "b", Rejected), Created),
        (new(3, "art28", "b", Accepted), DuplicateOf(11)),
        // Persons with something stored before the batch.
        (new(5, "art28", "now", Accepted), HeldBy(0)),
        (new(5, "art27", "before", Accepted), DuplicateOf(0)),
        (new(6, "art28", "now", Accepted), Created),
        (new(6, "art27", "before", Accepted), DuplicateOf(1)),
        (new(4, "art38", "only", Accepted), Created),
    ];
    let (before, batch) = cases.split_at(2);
    let mut outcomes = Vec::new();
    for (application, _) in before {
        outcomes.push(backend.store.submit(application.clone()).await.unwrap());
    }
    let batch_outcomes = submit_queued(&backend, batch.iter().map(|(a, _)| a.clone()).collect()).await;
    outcomes.extend(batch_outcomes.into_iter().map(Result::unwrap));

    for (i, ((application, expected), outcome)) in cases.iter().zip(&outcomes).enumerate() {
        let case =
            format!("case {i}: {} {} {}", application.scheme, application.idempotency_key, application.status.as_str());
        match (*expected, outcome) {
            (Created, Submission::Created(a)) => {
                assert_eq!(
                    (&a.idempotency_key, a.status),
                    (&application.idempotency_key, application.status),
                    "{case}"
                );
            }
            (DuplicateOf(j), Submission::Duplicate(a)) | (HeldBy(j), Submission::AlreadyHolds(a)) => {
                assert_eq!(a, stored(&outcomes[j]), "{case}");
            }
            _ => panic!("{case}: expected {expected:?}, got {outcome:?}"),
        }
    }
    // Exactly the created ones are stored, each person's oldest first.
    for n in 1..=6 {
        let mut expected: Vec<&Application> = cases
            .iter()
            .zip(&outcomes)
            .filter(|((a, _), o)| a.codice_fiscale == person(n) && matches!(o, Submission::Created(_)))
            .map(|(_, o)| stored(o))
            .collect();
        expected.sort_by(|a, b| a.protocol.cmp(&b.protocol));
        let actual = backend.store.applications_of(&person(n)).await.unwrap();
        assert_eq!(actual.iter().collect::<Vec<_>>(), expected, "person {n}");
    }
}

pub async fn one_failing_submission_fails_alone(backend: Backend) {
    refuse_scheme(&backend).await;
    let mut batch: Vec<NewApplication> = (0..40).map(|n| new(n, "art27", "form", Accepted)).collect();
    batch.insert(20, new(100, "refused", "form", Accepted));
    let outcomes = submit_queued(&backend, batch).await;

    for (i, outcome) in outcomes.iter().enumerate() {
        if i == 20 {
            assert!(matches!(outcome, Err(StoreError::Database(_))), "the refused one: {outcome:?}");
        } else {
            assert!(matches!(outcome, Ok(Submission::Created(_))), "submission {i}: {outcome:?}");
        }
    }
    assert!(backend.store.applications_of(&person(100)).await.unwrap().is_empty());
    let mut raw = Raw::connect(&backend).await;
    assert_eq!(raw.number("SELECT COUNT(*) FROM applications".to_owned()).await, 40);
    // The same submission, once allowed, goes through: nothing of it was left behind.
    raw.execute(match backend.kind {
        Kind::Sqlite => "DROP TRIGGER refuse_scheme",
        Kind::Postgres => "ALTER TABLE applications DROP CONSTRAINT refuse_scheme",
    })
    .await;
    let again = backend.store.submit(new(100, "refused", "form", Accepted)).await.unwrap();
    assert!(matches!(again, Submission::Created(_)), "{again:?}");
}

pub async fn many_concurrent_submissions_get_their_own_outcome_in_few_commits(backend: Backend) {
    const PERSONS: u32 = 500;
    const TASKS: u32 = 200;
    // Four submissions per person, each from another task: a form, the same form again (a double click), another
    // indemnity (art. 31), and a rejected form, which is kept and blocks nothing.
    let submissions: Vec<NewApplication> = (0..PERSONS)
        .flat_map(|n| {
            [
                new(n, "art27", "form", Accepted),
                new(n, "art27", "form", Accepted),
                new(n, "art28", "other-form", Accepted),
                new(n, "art29", "rejected-form", Rejected),
            ]
        })
        .collect();
    let total = submissions.len();
    let before = backend.commits.as_ref().map(|c| c.get());
    let mut per_task: Vec<Vec<NewApplication>> = vec![Vec::new(); TASKS as usize];
    for (i, submission) in submissions.into_iter().enumerate() {
        per_task[i % TASKS as usize].push(submission);
    }
    let tasks: Vec<_> = per_task
        .into_iter()
        .map(|mine| {
            let store = backend.store.clone();
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for submission in mine {
                    let (person, key) = (submission.codice_fiscale, submission.idempotency_key.clone());
                    outcomes.push((person, key, store.submit(submission).await.unwrap()));
                }
                outcomes
            })
        })
        .collect();
    let mut by_person: HashMap<_, Vec<(IdempotencyKey, Submission)>> = HashMap::new();
    for task in tasks {
        for (person, key, outcome) in task.await.unwrap() {
            by_person.entry(person).or_default().push((key, outcome));
        }
    }

    let mut protocols = BTreeSet::new();
    for n in 0..PERSONS {
        let outcomes = &by_person[&person(n)];
        assert_eq!(outcomes.len(), 4);
        let created: Vec<&Application> =
            outcomes.iter().filter_map(|(_, o)| if let Submission::Created(a) = o { Some(a) } else { None }).collect();
        // The rejected form, and exactly one of the other three: the one that came first.
        assert_eq!(created.len(), 2, "person {n}: {outcomes:?}");
        let rejected = created.iter().find(|a| a.status == Rejected).expect("the rejected form is stored");
        let holder = created.iter().find(|a| a.status == Accepted).expect("one form holds the indemnity");
        for (key, outcome) in outcomes {
            match outcome {
                Submission::Created(_) => {}
                Submission::Duplicate(a) => assert_eq!((a, key), (*holder, &holder.idempotency_key)),
                Submission::AlreadyHolds(a) => {
                    assert_eq!(a, *holder);
                    assert_ne!(key, &holder.idempotency_key);
                }
            }
        }
        let mut expected = vec![(*holder).clone(), (*rejected).clone()];
        expected.sort_by(|a, b| a.protocol.cmp(&b.protocol));
        assert_eq!(backend.store.applications_of(&person(n)).await.unwrap(), expected, "person {n}");
        protocols.extend(expected.into_iter().map(|a| a.protocol));
    }
    assert_eq!(protocols.len(), 2 * PERSONS as usize, "protocol numbers are never shared");
    let mut raw = Raw::connect(&backend).await;
    assert_eq!(raw.number("SELECT COUNT(*) FROM applications".to_owned()).await, i64::from(2 * PERSONS));

    if let (Some(commits), Some(before)) = (&backend.commits, before) {
        let commits = commits.get() - before;
        assert!(commits * 10 <= total as u64, "{total} submissions took {commits} commits");
    }
}

pub async fn a_submission_is_durable_when_acknowledged(backend: Backend) {
    let mut raw = Raw::connect(&backend).await;
    let mut pending: FuturesUnordered<_> =
        (0..100).map(|n| backend.store.submit(new(n, "art27", "form", Accepted))).collect();
    let mut acknowledged = Vec::new();
    while let Some(outcome) = pending.next().await {
        let a = match outcome {
            Ok(Submission::Created(a)) => a,
            other => panic!("{other:?}"),
        };
        // Another connection sees it at once: it was committed before the answer, not after.
        let sql = format!("SELECT COUNT(*) FROM applications WHERE protocol = '{}'", a.protocol);
        assert_eq!(raw.number(sql).await, 1, "{} acknowledged but not committed", a.protocol);
        acknowledged.push(a);
    }
    drop(pending);

    // And it outlives the store.
    let Backend { url, store, .. } = backend;
    drop(store);
    let reopened = open(&url).await.unwrap();
    for a in acknowledged {
        assert_eq!(reopened.application(&a.codice_fiscale, &a.protocol).await.unwrap(), Some(a));
    }
}

/// A NUL in a text the store is given as it is (an idempotency key cannot hold one, a scheme id still can).
pub async fn a_nul_in_a_text_is_kept_or_refused_never_cut(backend: Backend) {
    let batch = vec![new(1, "art\0x", "a", Rejected), new(1, "art", "b", Rejected), new(2, "art27", "c", Accepted)];
    let outcomes = submit_queued(&backend, batch).await;
    match backend.kind {
        // SQLite keeps the text as given, not cut at the NUL.
        Kind::Sqlite => {
            let schemes: Vec<String> =
                backend.store.applications_of(&person(1)).await.unwrap().into_iter().map(|a| a.scheme).collect();
            assert_eq!(schemes, ["art\0x", "art"], "{outcomes:?}");
        }
        // PostgreSQL refuses a NUL in a text: that submission alone fails.
        Kind::Postgres => {
            assert!(matches!(outcomes[0], Err(StoreError::Database(_))), "{outcomes:?}");
            assert!(matches!(outcomes[1], Ok(Submission::Created(_))), "{outcomes:?}");
        }
    }
    assert!(matches!(outcomes[2], Ok(Submission::Created(_))), "{outcomes:?}");
}

/// An audited submission's row is written by its batch's transaction, whichever way the batch is stored (together,
/// or one at a time after a submission failed): one row per outcome, naming what the submission came to; none for
/// a submission made without [`SubmittedBy`], and none for one that failed.
pub async fn audited_submissions_get_their_rows_in_their_batch(backend: Backend) {
    let by = |actor: &str, login_method: &str, channel: &str| {
        Some(SubmittedBy {
            actor: actor.to_owned(),
            from: Some("203.0.113.7".to_owned()),
            login_method: Some(login_method.to_owned()),
            channel: channel.to_owned(),
        })
    };
    let own = |n: u32| by(person(n).as_str(), "pin_full", "citizen");
    // Stored together.
    let outcomes = submit_queued_by(
        &backend,
        vec![
            (new(1, "art27", "form-a", Accepted), own(1)),
            (new(1, "art27", "form-a", Accepted), own(1)),
            (new(1, "art28", "form-b", Accepted), own(1)),
            (new(2, "art27", "form-a", Accepted), None),
            (new(4, "art27", "form-a", Accepted), by("intermediario-07", "spid_l2", "intermediary")),
        ],
    )
    .await;
    let protocol = |i: usize| stored(outcomes[i].as_ref().unwrap()).protocol.to_string();
    assert!(matches!(outcomes[2], Ok(Submission::AlreadyHolds(_))), "{:?}", outcomes[2]);
    let actions = |rows: Vec<sportello_store::AuditEntry>| -> Vec<(String, String, Option<String>)> {
        rows.into_iter().map(|e| (e.actor, e.action, e.object)).collect()
    };
    let first = person(1).as_str().to_owned();
    assert_eq!(
        actions(backend.store.audit_of(&person(1), 10).await.unwrap()),
        vec![
            (first.clone(), "submit_refused_art31".to_owned(), Some(protocol(0))),
            (first.clone(), "submit_application".to_owned(), Some(protocol(0))),
            (first, "submit_application".to_owned(), Some(protocol(0))),
        ],
        "newest first: the refusal names the application that holds the indemnity"
    );
    assert!(backend.store.audit_of(&person(2), 10).await.unwrap().is_empty(), "submitted without SubmittedBy");
    let rows = backend.store.audit_of(&person(4), 10).await.unwrap();
    assert_eq!(
        actions(rows.clone()),
        vec![("intermediario-07".to_owned(), "submit_application".to_owned(), Some(protocol(4)))]
    );
    assert_eq!(
        (rows[0].at, rows[0].from.as_deref(), rows[0].login_method.as_deref(), rows[0].channel.as_str()),
        (stored(outcomes[4].as_ref().unwrap()).submitted_at, Some("203.0.113.7"), Some("spid_l2"), "intermediary")
    );

    // Stored one at a time: a submission the database refuses fails alone and leaves no row.
    refuse_scheme(&backend).await;
    let outcomes = submit_queued_by(
        &backend,
        vec![(new(5, "refused", "form-a", Accepted), own(5)), (new(6, "art27", "form-a", Accepted), own(6))],
    )
    .await;
    assert!(outcomes[0].is_err(), "{:?}", outcomes[0]);
    assert!(backend.store.audit_of(&person(5), 10).await.unwrap().is_empty(), "a failed submission has no row");
    let rows = backend.store.audit_of(&person(6), 10).await.unwrap();
    assert_eq!((rows[0].login_method.as_deref(), rows[0].channel.as_str()), (Some("pin_full"), "citizen"));
    assert_eq!(
        actions(rows),
        vec![(person(6).as_str().to_owned(), "submit_application".to_owned(), Some(protocol_of(&outcomes[1])))]
    );
}

fn protocol_of(outcome: &Result<Submission, StoreError>) -> String {
    stored(outcome.as_ref().unwrap()).protocol.to_string()
}
