//! Before the opening: the pre-queue, its committed seed, and the draw anyone can recompute.

use chrono::TimeDelta;
use sportello_gate::draw::{self, verify_draw};
use sportello_gate::{ManualClock, RoomStatus, Visit};

use crate::support::*;

on_both_backends!(
    the_pre_queue_is_drawn_in_an_order_anyone_can_recompute,
    an_empty_pre_queue_opens_first_come_first_served
);

async fn the_pre_queue_is_drawn_in_an_order_anyone_can_recompute(backend: Backend) {
    let opening = citizens_opening();
    let clock = ManualClock::new(opening - TimeDelta::minutes(50));
    let gate = backend.gate(&clock, small_capacity()).await;
    let other_node = backend.gate(&clock, small_capacity()).await;

    // The commitment is published as soon as the pre-queue opens, before anyone has joined.
    let before = gate.status(CITIZENS).await.unwrap();
    assert_eq!(before.status, RoomStatus::Closed { opens_at: Some(opening), pre_queue_open: true });
    let commitment = before.draw.as_ref().map(|d| d.commitment.clone()).unwrap();
    assert_eq!(before.draw.as_ref().and_then(|d| d.seed.clone()), None, "the seed stays secret until the opening");

    // Twelve arrivals over the pre-queue's last minutes, each page refreshing every 20 s.
    clock.set(opening - TimeDelta::minutes(5));
    let mut tickets = Vec::new();
    for i in 0..12 {
        let node = if i % 2 == 0 { &gate } else { &other_node };
        let visit = join(node, CITIZENS).await;
        let w = waiting(&visit);
        assert!(w.pre_queue && w.position.is_none() && w.eta_secs.is_none(), "{w:?}");
        assert_eq!(w.opens_at, Some(opening));
        tickets.push(w.ticket.clone());
        clock.advance_secs(20);
        for ticket in &mut tickets {
            *ticket = waiting(&refresh(node, ticket).await).ticket.clone();
        }
    }
    clock.set(opening - TimeDelta::seconds(30));
    for ticket in &mut tickets {
        *ticket = waiting(&refresh(&gate, ticket).await).ticket.clone();
    }
    assert_eq!(other_node.status(CITIZENS).await.unwrap().draw.map(|d| d.commitment), Some(commitment.clone()));

    clock.set(opening);
    let after = other_node.status(CITIZENS).await.unwrap();
    let published = after.draw.unwrap();
    assert_eq!(published.commitment, commitment);
    assert_eq!(published.pre_queue_size, Some(12));
    let seed: [u8; 32] = hex::decode(published.seed.unwrap()).unwrap().try_into().unwrap();
    let committed: [u8; 32] = hex::decode(&commitment).unwrap().try_into().unwrap();
    let places = verify_draw(&seed, &committed, 12).unwrap();
    assert_ne!(places, (0..12).collect::<Vec<u64>>(), "shuffled (a 1 in 12! chance of failing by luck)");

    // The status call admitted place 0 (burst 1); everyone else sees exactly their drawn place.
    for (i, ticket) in tickets.iter().enumerate() {
        match refresh(&gate, ticket).await {
            Visit::Admitted(_) => assert_eq!(places[i], 0, "arrival {i}"),
            Visit::Waiting(w) => assert_eq!(w.position, Some(places[i]), "arrival {i}"),
            other => panic!("arrival {i}: {other:?}"),
        }
    }
    // After the opening, first come, first served behind the pre-queue.
    let late = join(&gate, CITIZENS).await;
    assert_eq!(waiting(&late).position, Some(12));
    assert!(!waiting(&late).pre_queue);
    assert_eq!(draw::position(&seed, 12, 3), Some(places[3]));
}

async fn an_empty_pre_queue_opens_first_come_first_served(backend: Backend) {
    let opening = citizens_opening();
    let clock = ManualClock::new(opening + TimeDelta::seconds(1));
    let gate = backend.gate(&clock, small_capacity()).await;
    admitted(&join(&gate, CITIZENS).await);
    assert_eq!(waiting(&join(&gate, CITIZENS).await).position, Some(1));
    let draw = gate.status(CITIZENS).await.unwrap().draw;
    assert_eq!(draw, None, "no pre-queue entry, no seed drawn");
}
