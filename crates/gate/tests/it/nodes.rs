//! Several nodes, one queue: concurrent issue and admission through the shared state never hand out a place
//! twice, admit in place order, and never exceed the admission budget.

use std::collections::BTreeSet;
use std::sync::Arc;

use sportello_gate::state::{Admission, GateState, IssueOutcome, IssueRequest};
use sportello_gate::{WindowId, draw};

use crate::support::*;

on_both_backends!(two_nodes_share_one_queue_and_one_budget, a_seed_is_committed_once_for_all_nodes);

const ARRIVALS_PER_NODE: u64 = 150;

async fn issue_many(state: Arc<dyn GateState>, node: u8, now_ms: i64) -> Vec<u64> {
    let window = WindowId::opening_at(citizens_opening()).unwrap_or(WindowId(0));
    let mut seqs = Vec::new();
    for i in 0..ARRIVALS_PER_NODE {
        let mut challenge_id = [0u8; 16];
        challenge_id[..8].copy_from_slice(&((u64::from(node) << 32) | i).to_le_bytes());
        let request = IssueRequest {
            now_ms,
            opened: true,
            challenge_id,
            challenge_expires_ms: now_ms + 120_000,
            seed_candidate: None,
        };
        match state.issue("cittadini", window, &request).await.unwrap() {
            IssueOutcome::Issued { seq, pre_queue } => {
                assert!(!pre_queue);
                seqs.push(seq);
            }
            IssueOutcome::Replayed => panic!("fresh challenge {node}/{i} refused"),
        }
    }
    seqs
}

async fn advance_many(state: Arc<dyn GateState>, now_ms: i64, times: usize) -> Vec<u64> {
    let window = WindowId::opening_at(citizens_opening()).unwrap_or(WindowId(0));
    let admission = Admission { rate_milli: 10_000, burst: 25, max_active: 1_000, claim_grace_ms: 60_000 };
    let mut seen = Vec::new();
    for _ in 0..times {
        seen.push(state.advance("cittadini", window, now_ms, true, &admission).await.unwrap().admitted_upto);
    }
    seen
}

async fn two_nodes_share_one_queue_and_one_budget(backend: Backend) {
    let a = backend.node().await;
    let b = backend.node().await;
    let now = citizens_opening().timestamp_millis() + 1_000;

    let (from_a, from_b) =
        tokio::join!(tokio::spawn(issue_many(a.clone(), 1, now)), tokio::spawn(issue_many(b.clone(), 2, now)));
    let (from_a, from_b) = (from_a.unwrap(), from_b.unwrap());
    for seqs in [&from_a, &from_b] {
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "each node sees its places in order");
    }
    let all: BTreeSet<u64> = from_a.iter().chain(&from_b).copied().collect();
    assert_eq!(all.len() as u64, 2 * ARRIVALS_PER_NODE, "no place handed out twice");
    assert_eq!(all.iter().copied().collect::<Vec<_>>(), (0..2 * ARRIVALS_PER_NODE).collect::<Vec<_>>());

    // Both nodes hammer admission at the same instant: the bucket (burst 25) is given once, not once per node.
    let (seen_a, seen_b) =
        tokio::join!(tokio::spawn(advance_many(a.clone(), now, 20)), tokio::spawn(advance_many(b.clone(), now, 20)));
    let (seen_a, seen_b) = (seen_a.unwrap(), seen_b.unwrap());
    assert!(seen_a.iter().chain(&seen_b).all(|&upto| upto == 25), "{seen_a:?} {seen_b:?}");

    // Two seconds later, 10 per second: 20 more, whichever node asks, however often.
    let (seen_a, seen_b) = tokio::join!(
        tokio::spawn(advance_many(a.clone(), now + 2_000, 10)),
        tokio::spawn(advance_many(b.clone(), now + 2_000, 10))
    );
    let (seen_a, seen_b) = (seen_a.unwrap(), seen_b.unwrap());
    assert!(seen_a.iter().chain(&seen_b).all(|&upto| upto == 45), "{seen_a:?} {seen_b:?}");

    // A node whose clock lags does not get the budget again.
    let lagging = advance_many(b.clone(), now + 1_000, 3).await;
    assert_eq!(lagging, [45, 45, 45]);
    let later = advance_many(a.clone(), now + 2_500, 1).await;
    assert_eq!(later, [50], "the lagging node's calls did not add tokens");
}

async fn a_seed_is_committed_once_for_all_nodes(backend: Backend) {
    let a = backend.node().await;
    let b = backend.node().await;
    let window = WindowId::opening_at(citizens_opening()).unwrap_or(WindowId(0));
    let first = a.ensure_seed("cittadini", window, [1; 32]).await.unwrap();
    let second = b.ensure_seed("cittadini", window, [2; 32]).await.unwrap();
    assert_eq!((first, second), ([1; 32], [1; 32]));
    let stored = b.draw("cittadini", window).await.unwrap();
    assert_eq!(stored.seed.map(|s| draw::commitment(&s)), Some(draw::commitment(&[1; 32])));
    assert_eq!(stored.pre_queue_size, None);
}
