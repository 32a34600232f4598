//! Spending limits: each accepted application reserves its amount in the transaction that stores it; past the limit
//! an application is kept suspended, and a raised limit accepts the suspended ones in order of submission.

use std::sync::Arc;

use sportello_domain::Cents;
use sportello_store::{ApplicationStatus, BudgetSeed, Store, StoreError, Submission, open};

use crate::harness::{Backend, Raw, application, at, person};

use ApplicationStatus::{Accepted, Annulled, Rejected, SuspendedBudget};

/// Art. 27's indemnity with room for `fits` applications.
fn seed(fits: i64) -> BudgetSeed {
    BudgetSeed {
        scheme: "art27".to_owned(),
        amount: Cents::from_euros(600),
        limit: Cents::from_euros(600 * fits),
        legal_ref: "art. 27 c. 2".to_owned(),
    }
}

fn status(submission: &Submission) -> ApplicationStatus {
    match submission {
        Submission::Created(a) => a.status,
        other => panic!("expected a new application: {other:?}"),
    }
}

pub async fn past_the_limit_an_application_is_suspended_and_a_raise_releases_in_order(backend: Backend) {
    let store = &backend.store;
    store.ensure_budget(&seed(3), at(0)).await.unwrap();
    let mut statuses = Vec::new();
    for n in 0..6u32 {
        let mut new = application(person(n), "form", if n == 1 { Rejected } else { Accepted });
        new.submitted_at = at(i64::from(n));
        statuses.push(status(&store.submit(new).await.unwrap()));
    }
    // A rejected application reserves nothing; the fourth accepted one no longer fits.
    assert_eq!(statuses, [Accepted, Rejected, Accepted, Accepted, SuspendedBudget, SuspendedBudget]);
    let budget = store.budgets().await.unwrap().remove(0);
    assert_eq!((budget.reserved, budget.suspended), (Cents::from_euros(1800), 2));

    let change = store
        .set_budget_limit("art27", Cents::from_euros(2400), "DL 34/2020 art. 84", "m.bianchi", at(100))
        .await
        .unwrap();
    assert_eq!(change.released, 1);
    assert_eq!(change.budget.reserved, Cents::from_euros(2400));
    assert_eq!(change.budget.legal_ref, "DL 34/2020 art. 84");
    // The earlier submission is released first.
    assert_eq!(store.applications_of(&person(4)).await.unwrap()[0].status, Accepted);
    assert_eq!(store.applications_of(&person(5)).await.unwrap()[0].status, SuspendedBudget);

    // A suspended application still holds the person's one indemnity (art. 31).
    let again = store.submit(application(person(5), "another", Accepted)).await.unwrap();
    assert!(matches!(again, Submission::AlreadyHolds(_)), "{again:?}");

    let below = store.set_budget_limit("art27", Cents::from_euros(1200), "wrong", "m.bianchi", at(200)).await;
    assert!(matches!(below, Err(StoreError::BudgetBelowReserved { .. })), "{below:?}");
    let unknown = store.set_budget_limit("art99", Cents::from_euros(1), "x", "m.bianchi", at(200)).await;
    assert!(matches!(unknown, Err(StoreError::UnknownBudget(_))), "{unknown:?}");

    let history = store.budget_history().await.unwrap();
    let seen: Vec<_> = history.iter().map(|e| (e.limit, e.legal_ref.as_str(), e.released)).collect();
    assert_eq!(
        seen,
        [(Cents::from_euros(1800), "art. 27 c. 2", 0), (Cents::from_euros(2400), "DL 34/2020 art. 84", 1)]
    );
    assert_eq!(history[1].set_at, at(100));
    // Who set each: nobody for the scheme file's limit, the operator for the raise; a refused change is not recorded.
    let by: Vec<_> = history.iter().map(|e| e.set_by.as_deref()).collect();
    assert_eq!(by, [None, Some("m.bianchi")]);
}

pub async fn ensure_budget_keeps_a_raised_limit_and_counts_what_is_accepted(backend: Backend) {
    let store = &backend.store;
    // Accepted before any limit was recorded: they count as reserved once it is.
    for n in 0..2u32 {
        store.submit(application(person(n), "form", Accepted)).await.unwrap();
    }
    // A limit below them cannot be recorded.
    let below = store.ensure_budget(&seed(1), at(0)).await;
    assert!(matches!(below, Err(StoreError::BudgetBelowReserved { .. })), "{below:?}");
    store.ensure_budget(&seed(2), at(0)).await.unwrap();
    assert_eq!(store.budgets().await.unwrap()[0].reserved, Cents::from_euros(1200));
    store.set_budget_limit("art27", Cents::from_euros(6000), "DL 34/2020 art. 84", "m.bianchi", at(1)).await.unwrap();
    for n in 2..5u32 {
        assert_eq!(status(&store.submit(application(person(n), "form", Accepted)).await.unwrap()), Accepted);
    }
    // Loading the scheme file again (every start does) leaves the raised limit alone, although more is now
    // reserved than the file's limit.
    store.ensure_budget(&seed(2), at(2)).await.unwrap();
    let budget = store.budgets().await.unwrap().remove(0);
    assert_eq!((budget.limit, budget.reserved), (Cents::from_euros(6000), Cents::from_euros(3000)));
    assert_eq!(store.budget_history().await.unwrap().len(), 2);
}

pub async fn concurrent_submissions_at_the_edge_never_overshoot(backend: Backend) {
    const FITS: i64 = 37;
    const SUBMISSIONS: u32 = 160;
    backend.store.ensure_budget(&seed(FITS), at(0)).await.unwrap();
    // Two stores on the same database, as two portal processes: their batches compete for the same limit.
    let other: Arc<dyn Store> = Arc::from(open(&backend.url).await.unwrap());
    let tasks: Vec<_> = (0..SUBMISSIONS)
        .map(|n| {
            let store = if n % 2 == 0 { backend.store.clone() } else { other.clone() };
            tokio::spawn(async move { store.submit(application(person(n), "form", Accepted)).await })
        })
        .collect();
    let mut accepted = 0;
    let mut suspended = 0;
    for task in tasks {
        match status(&task.await.unwrap().unwrap()) {
            Accepted => accepted += 1,
            SuspendedBudget => suspended += 1,
            Rejected | Annulled => panic!("nothing was rejected or annulled"),
        }
    }
    assert_eq!((accepted, suspended), (FITS, i64::from(SUBMISSIONS) - FITS));
    let budget = backend.store.budgets().await.unwrap().remove(0);
    assert_eq!(budget.reserved, Cents::from_euros(600 * FITS));
    assert_eq!(budget.suspended, u64::from(SUBMISSIONS) - FITS as u64);
    // What the database holds agrees with what the store says.
    let mut raw = Raw::connect(&backend).await;
    let stored = raw.number("SELECT count(*) FROM applications WHERE status = 'accepted'".to_owned()).await;
    assert_eq!(stored, FITS);
    let reserved = raw.number("SELECT reserved_cents FROM budgets WHERE scheme = 'art27'".to_owned()).await;
    assert!(reserved <= budget.limit.get(), "reserved {reserved} over the limit");
}

pub async fn a_raise_tells_each_released_applicant_once_in_order(backend: Backend) {
    let store = &backend.store;
    store.ensure_budget(&seed(1), at(0)).await.unwrap();
    let mut protocols = Vec::new();
    for n in 0..4u32 {
        let mut new = application(person(n), "form", Accepted);
        new.submitted_at = at(i64::from(n));
        new.details = serde_json::json!({ "contact": { "email": format!("persona{n}@example.it"), "mobile": null } });
        let Submission::Created(created) = store.submit(new).await.unwrap() else { panic!("not created") };
        protocols.push(created.protocol.to_string());
    }
    // The first fits; the other three are suspended, and a raise for two more releases the earlier two.
    let change = store
        .set_budget_limit("art27", Cents::from_euros(1800), "DL 34/2020 art. 84", "m.bianchi", at(100))
        .await
        .unwrap();
    assert_eq!(change.released, 2);
    let claimed = store.claim_outbox(at(100), 100, std::time::Duration::from_secs(60)).await.unwrap();
    let told: Vec<_> = claimed.iter().map(|e| (e.message.channel.as_str(), e.message.recipient.as_str())).collect();
    assert_eq!(told, [("email", "persona1@example.it"), ("email", "persona2@example.it")]);
    for (entry, protocol) in claimed.iter().zip(&protocols[1..3]) {
        assert!(entry.message.subject.contains(protocol.as_str()), "{:?}", entry.message.subject);
        assert!(entry.message.body.contains("DL 34/2020 art. 84") && entry.message.body.contains("accolta"));
    }
    for entry in &claimed {
        store.outbox_delivered(entry.id, at(101)).await.unwrap();
    }
    // A raise that releases nothing tells nobody.
    store.set_budget_limit("art27", Cents::from_euros(1800), "again", "m.bianchi", at(200)).await.unwrap();
    assert!(store.claim_outbox(at(300), 100, std::time::Duration::from_secs(60)).await.unwrap().is_empty());
}
