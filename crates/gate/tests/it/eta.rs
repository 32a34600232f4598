//! The estimated wait never goes up for a waiting visitor: a scenario on both backends, and a property over
//! random sequences of refreshes, rate changes and capacity cuts.

use chrono::TimeDelta;
use proptest::prelude::*;
use sportello_gate::{Capacity, Gate, ManualClock, Visit};

use crate::support::*;

on_both_backends!(the_wait_shown_never_goes_up_through_capacity_cuts);

async fn the_wait_shown_never_goes_up_through_capacity_cuts(backend: Backend) {
    let clock = ManualClock::new(citizens_opening() + TimeDelta::minutes(5));
    let generous = Capacity { admit_per_sec: 5, burst: 5, max_active: 40, ..small_capacity() };
    let gate = backend.gate(&clock, generous).await;
    for _ in 0..60 {
        join(&gate, CITIZENS).await;
    }
    let mut ticket = waiting(&join(&gate, CITIZENS).await).ticket.clone();
    let cuts = [
        Capacity { admit_per_sec: 1, burst: 1, max_active: 5, ..generous },
        generous,
        Capacity { admit_per_sec: 1, burst: 1, max_active: 1, ..generous },
    ];
    let mut shown = Vec::new();
    for step in 0..40 {
        if step % 10 == 5 {
            gate.set_capacity("cittadini", cuts[step / 10 % cuts.len()]).await.unwrap();
        }
        match refresh(&gate, &ticket).await {
            Visit::Waiting(w) => {
                shown.push(w.eta_secs.unwrap());
                ticket = w.ticket;
            }
            Visit::Admitted(_) => break,
            other => panic!("{other:?}"),
        }
        clock.advance_secs(7);
    }
    assert!(shown.len() > 5, "{shown:?}");
    assert!(shown.windows(2).all(|w| w[1] <= w[0]), "the wait went up: {shown:?}");
}

#[derive(Clone, Debug)]
enum Step {
    /// Time passes (less than the ticket lifetime, so the visitor keeps the place).
    Wait(u8),
    /// Someone else joins.
    Arrive,
    /// The operator changes capacity.
    SetCapacity { rate: u32, burst: u32, max_active: u32 },
    /// The backend's health changes.
    Health(u32),
    /// A node's clock lags behind the last one's.
    Skew(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1u8..50).prop_map(Step::Wait),
        2 => Just(Step::Arrive),
        1 => (1u32..20, 1u32..20, 1u32..30)
            .prop_map(|(rate, burst, max_active)| Step::SetCapacity { rate, burst, max_active }),
        1 => (1u32..=1000).prop_map(Step::Health),
        1 => (1u8..10).prop_map(Step::Skew),
    ]
}

async fn run(ahead: usize, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let clock = ManualClock::new(citizens_opening() + TimeDelta::minutes(5));
    let capacity = Capacity { admit_per_sec: 2, burst: 2, max_active: 10, ..small_capacity() };
    let backend = Backend::memory();
    let gate: Gate = backend.gate(&clock, capacity).await;
    for _ in 0..ahead {
        join(&gate, CITIZENS).await;
    }
    let mut ticket = match join(&gate, CITIZENS).await {
        Visit::Waiting(w) => w.ticket,
        _ => return Ok(()),
    };
    let mut last: Option<u64> = None;
    for s in steps {
        match s {
            Step::Wait(secs) => clock.advance_secs(i64::from(secs)),
            Step::Arrive => {
                join(&gate, CITIZENS).await;
            }
            Step::SetCapacity { rate, burst, max_active } => {
                let c = Capacity { admit_per_sec: rate, burst, max_active, ..capacity };
                gate.set_capacity("cittadini", c).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
            Step::Health(permille) => {
                gate.report_health("cittadini", permille).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
            Step::Skew(secs) => clock.advance_secs(-i64::from(secs)),
        }
        match refresh(&gate, &ticket).await {
            Visit::Waiting(w) => {
                let eta = w.eta_secs.ok_or_else(|| TestCaseError::fail("no estimate"))?;
                if let Some(before) = last {
                    prop_assert!(eta <= before, "the wait went up from {} to {}", before, eta);
                }
                last = Some(eta);
                ticket = w.ticket;
            }
            Visit::Admitted(_) => return Ok(()),
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_wait_shown_never_goes_up(ahead in 0usize..120, steps in proptest::collection::vec(step(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(run(ahead, steps))?;
    }
}
