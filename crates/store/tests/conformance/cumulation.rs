//! Cumulation groups: at most one application per person and group holds an indemnity. DL 18/2020's five March
//! schemes are one group (art. 31); DL 34/2020 art. 84 brings April's indemnity, a group of its own, which a March
//! beneficiary may also have.

use std::collections::HashMap;

use sportello_store::{Application, ApplicationStatus, NewApplication, StoreError, Submission};

use crate::group_commit::{refuse_scheme, submit_queued};
use crate::harness::{APRIL, Backend, MARCH, Raw, application, person};

use ApplicationStatus::{Accepted, Rejected};

/// An application of person `n` with `key` for a scheme of `group`: art. 27 in March, art. 84 in April.
fn in_group(n: u32, group: &str, key: &str, status: ApplicationStatus) -> NewApplication {
    let mut new = application(person(n), key, status);
    if group == APRIL {
        "art84-aprile".clone_into(&mut new.scheme);
    }
    group.clone_into(&mut new.cumulation_group);
    new
}

fn created(submission: Submission) -> Application {
    match submission {
        Submission::Created(a) => a,
        other => panic!("expected Created, got {other:?}"),
    }
}

pub async fn a_march_beneficiary_also_gets_april_but_never_two_of_one_group(backend: Backend) {
    let store = backend.store.as_ref();
    let march = created(store.submit(in_group(1, MARCH, "march", Accepted)).await.unwrap());
    assert_eq!(march.cumulation_group, MARCH);
    let april = created(store.submit(in_group(1, APRIL, "april", Accepted)).await.unwrap());
    assert_eq!((april.scheme.as_str(), april.cumulation_group.as_str()), ("art84-aprile", APRIL));

    // A second one in either group: refused, naming the holder of that group, not the other.
    let mut art28 = in_group(1, MARCH, "march-again", Accepted);
    "art28".clone_into(&mut art28.scheme);
    assert_eq!(store.submit(art28).await.unwrap(), Submission::AlreadyHolds(march.clone()));
    assert_eq!(
        store.submit(in_group(1, APRIL, "april-again", Accepted)).await.unwrap(),
        Submission::AlreadyHolds(april.clone())
    );
    // The same form again is still its own, whatever group it is sent for now.
    assert_eq!(
        store.submit(in_group(1, MARCH, "april", Accepted)).await.unwrap(),
        Submission::Duplicate(april.clone())
    );
    assert_eq!(store.applications_of(&person(1)).await.unwrap(), vec![march, april]);
}

pub async fn a_rejected_application_does_not_block_its_group(backend: Backend) {
    let store = backend.store.as_ref();
    created(store.submit(in_group(1, MARCH, "march", Accepted)).await.unwrap());
    let rejected = created(store.submit(in_group(1, APRIL, "april-1", Rejected)).await.unwrap());
    assert_eq!((rejected.status, rejected.cumulation_group.as_str()), (Rejected, APRIL));
    let accepted = created(store.submit(in_group(1, APRIL, "april-2", Accepted)).await.unwrap());
    assert_eq!(
        store.submit(in_group(1, APRIL, "april-3", Accepted)).await.unwrap(),
        Submission::AlreadyHolds(accepted),
        "the accepted one holds April, not the rejected one"
    );
}

/// Checks that of `outcomes` (person `n`'s, all with different keys, half in each group) exactly one per group was
/// created and every other names its group's, and that the database holds exactly one non-rejected row per group.
async fn one_created_per_group(backend: &Backend, n: u32, outcomes: &[(&str, Submission)]) {
    let mut winners: HashMap<&str, &Application> = HashMap::new();
    for (group, outcome) in outcomes {
        if let Submission::Created(a) = outcome {
            assert_eq!(a.cumulation_group, *group);
            assert!(winners.insert(group, a).is_none(), "two created in {group}: {outcomes:?}");
        }
    }
    assert_eq!(winners.len(), 2, "{outcomes:?}");
    for (group, outcome) in outcomes {
        match outcome {
            Submission::Created(_) => {}
            Submission::AlreadyHolds(holder) => assert_eq!(holder, winners[group], "{group}"),
            Submission::Duplicate(_) => panic!("every key was different: {outcome:?}"),
        }
    }
    let mut raw = Raw::connect(backend).await;
    for group in [MARCH, APRIL] {
        let sql = format!(
            "SELECT COUNT(*) FROM applications WHERE codice_fiscale = '{}' AND cumulation_group = '{group}'
             AND status NOT IN ('rejected', 'annulled')",
            person(n).as_str()
        );
        assert_eq!(raw.number(sql).await, 1, "{group}");
    }
    assert_eq!(backend.store.applications_of(&person(n)).await.unwrap().len(), 2);
}

/// 16 submissions per group.
const EACH: u32 = 16;

fn both_groups(n: u32) -> Vec<NewApplication> {
    (0..2 * EACH).map(|i| in_group(n, if i % 2 == 0 { MARCH } else { APRIL }, &format!("form-{i}"), Accepted)).collect()
}

pub async fn concurrent_submissions_in_two_groups_grant_one_indemnity_each(backend: Backend) {
    let tasks: Vec<_> = both_groups(1)
        .into_iter()
        .map(|new| {
            let store = backend.store.clone();
            tokio::spawn(async move {
                let group = if new.cumulation_group == MARCH { MARCH } else { APRIL };
                (group, store.submit(new).await.unwrap())
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    one_created_per_group(&backend, 1, &outcomes).await;
}

/// The same, queued into one batch: once decided together in memory, once one at a time after a submission the
/// database refuses has failed the batch.
pub async fn a_batch_in_two_groups_grants_one_indemnity_each_together_or_one_at_a_time(backend: Backend) {
    let groups = |batch: &[NewApplication]| -> Vec<&'static str> {
        batch.iter().map(|a| if a.cumulation_group == MARCH { MARCH } else { APRIL }).collect()
    };
    let batch = both_groups(1);
    let outcomes = submit_queued(&backend, batch.clone()).await;
    let outcomes: Vec<_> = groups(&batch).into_iter().zip(outcomes.into_iter().map(Result::unwrap)).collect();
    // In arrival order: the first of each group holds it.
    assert!(matches!((&outcomes[0].1, &outcomes[1].1), (Submission::Created(_), Submission::Created(_))));
    one_created_per_group(&backend, 1, &outcomes).await;

    refuse_scheme(&backend).await;
    let mut refused = in_group(2, MARCH, "refused", Accepted);
    "refused".clone_into(&mut refused.scheme);
    let mut batch = both_groups(2);
    batch.insert(0, refused);
    let mut outcomes = submit_queued(&backend, batch.clone()).await;
    assert!(matches!(outcomes.remove(0), Err(StoreError::Database(_))));
    let outcomes: Vec<_> = groups(&batch[1..]).into_iter().zip(outcomes.into_iter().map(Result::unwrap)).collect();
    one_created_per_group(&backend, 2, &outcomes).await;
}
