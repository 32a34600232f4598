//! Windows open and close on schedule: intermediaries 8–16 on weekdays, citizens from 16 on 1 April 2020
//! (Europe/Rome), through the gate.

use sportello_gate::{LostReason, ManualClock, Offer, PassCheck, RoomStatus, Visit};

use crate::support::*;

on_both_backends!(the_intermediaries_room_follows_its_hours);

async fn the_intermediaries_room_follows_its_hours(backend: Backend) {
    let clock = ManualClock::new(utc("2020-04-01T04:59:59Z"));
    let gate = backend.gate(&clock, small_capacity()).await;
    let eight = utc("2020-04-01T06:00:00Z");
    let sixteen = utc("2020-04-01T14:00:00Z");

    let closed = RoomStatus::Closed { opens_at: Some(eight), pre_queue_open: false };
    assert_eq!(gate.status(INTERMEDIARIES).await.unwrap().status, closed);
    assert_eq!(gate.challenge(INTERMEDIARIES, false).await.unwrap(), Offer::Unavailable(closed));
    assert_eq!(
        gate.status(CITIZENS).await.unwrap().status,
        RoomStatus::Closed { opens_at: Some(sixteen), pre_queue_open: false }
    );

    clock.set(utc("2020-04-01T05:00:00Z"));
    assert_eq!(
        gate.status(INTERMEDIARIES).await.unwrap().status,
        RoomStatus::Closed { opens_at: Some(eight), pre_queue_open: true }
    );
    let early = waiting(&join(&gate, INTERMEDIARIES).await).ticket.clone();

    clock.set(eight);
    assert_eq!(gate.status(INTERMEDIARIES).await.unwrap().status, RoomStatus::Open { closes_at: Some(sixteen) });
    admitted(&refresh(&gate, &early).await);

    clock.set(utc("2020-04-01T13:59:50Z"));
    let pass = admitted(&join(&gate, INTERMEDIARIES).await).pass.clone();
    let late = waiting(&join(&gate, INTERMEDIARIES).await).ticket.clone();
    assert_eq!(
        gate.status(CITIZENS).await.unwrap().status,
        RoomStatus::Closed { opens_at: Some(sixteen), pre_queue_open: true }
    );

    clock.set(sixteen);
    assert_eq!(
        gate.status(INTERMEDIARIES).await.unwrap().status,
        RoomStatus::Closed { opens_at: Some(utc("2020-04-02T06:00:00Z")), pre_queue_open: false }
    );
    assert_eq!(gate.status(CITIZENS).await.unwrap().status, RoomStatus::Open { closes_at: None });
    assert_eq!(refresh(&gate, &late).await, Visit::PlaceLost(LostReason::WindowEnded));
    // A pass outlives the window it was granted in: nobody is cut off mid-application at 16:00.
    assert!(matches!(gate.check_pass(&pass).await.unwrap(), PassCheck::Valid(_)));
}
