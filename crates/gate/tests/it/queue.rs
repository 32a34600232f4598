//! After the opening: first come, first served; abandoned places reclaimed; revocation; maintenance; live
//! capacity; proofs of work redeemed once.

use chrono::TimeDelta;
use sportello_gate::{
    Capacity, GateError, LostReason, MaintenanceMessage, ManualClock, Offer, PassCheck, Proof, RoomStatus, Visit, pow,
};

use crate::support::*;

on_both_backends!(
    first_come_first_served_after_the_opening,
    an_admission_not_claimed_in_time_goes_to_the_next,
    a_place_not_refreshed_in_time_is_given_up,
    a_held_place_waits_for_its_visitor_until_its_time_and_no_longer,
    a_revoked_pass_is_refused_and_frees_its_slot,
    claiming_twice_gives_the_same_pass,
    maintenance_closes_the_room_with_the_operators_message,
    capacity_set_on_one_node_applies_on_every_node,
    a_challenge_is_redeemed_once_and_only_when_solved,
    the_no_javascript_path_waits_instead_of_working,
    a_strained_backend_slows_admission_never_above_the_set_rate,
    a_pass_in_use_is_renewed_up_to_its_longest_lifetime_and_keeps_its_slot,
    a_revoked_or_released_pass_is_not_renewed,
);

async fn first_come_first_served_after_the_opening(backend: Backend) {
    let clock = ManualClock::new(citizens_opening() + TimeDelta::minutes(5));
    let gate = backend.gate(&clock, small_capacity()).await;
    // The bucket starts full (burst 1): the first arrival walks in; the next four wait in arrival order.
    let first = join(&gate, CITIZENS).await;
    admitted(&first);
    let mut tickets = Vec::new();
    for expected_position in 1..=4u64 {
        let visit = join(&gate, CITIZENS).await;
        assert_eq!(waiting(&visit).position, Some(expected_position));
        tickets.push(Some(waiting(&visit).ticket.clone()));
    }
    // One admission per second; everyone refreshes every second, in reverse order to show it does not matter.
    let mut order = Vec::new();
    for _ in 0..6 {
        clock.advance_secs(1);
        for (who, slot) in tickets.iter_mut().enumerate().rev() {
            let Some(ticket) = slot.clone() else { continue };
            match refresh(&gate, &ticket).await {
                Visit::Waiting(w) => *slot = Some(w.ticket),
                Visit::Admitted(_) => {
                    order.push(who);
                    *slot = None;
                }
                other => panic!("visitor {who}: {other:?}"),
            }
        }
    }
    assert_eq!(order, [0, 1, 2, 3]);
}

async fn an_admission_not_claimed_in_time_goes_to_the_next(backend: Backend) {
    let clock = ManualClock::new(citizens_opening() + TimeDelta::minutes(5));
    let capacity = Capacity { max_active: 1, admit_per_sec: 10, burst: 10, ..small_capacity() };
    let gate = backend.gate(&clock, capacity).await;
    let holder = join(&gate, CITIZENS).await;
    let holder = admitted(&holder).pass.clone();
    let absent = waiting(&join(&gate, CITIZENS).await).ticket.clone();
    let mut patient = waiting(&join(&gate, CITIZENS).await).ticket.clone();
    // The holder leaves: the slot goes to the absent visitor, who never comes back for it.
    gate.release(&holder).await.unwrap();
    let visit = refresh(&gate, &patient).await;
    assert_eq!(waiting(&visit).position, Some(1), "admitted the absent visitor, the patient one is next");
    patient = waiting(&visit).ticket.clone();
    for _ in 0..3 {
        clock.advance_secs(15);
        let visit = refresh(&gate, &patient).await;
        assert_eq!(waiting(&visit).position, Some(1), "the slot is held for the claim grace");
        patient = waiting(&visit).ticket.clone();
    }
    clock.advance_secs(15);
    admitted(&refresh(&gate, &patient).await);
    assert_eq!(refresh(&gate, &absent).await, Visit::PlaceLost(LostReason::ClaimLapsed));
}

async fn a_place_not_refreshed_in_time_is_given_up(backend: Backend) {
    let clock = ManualClock::new(citizens_opening() + TimeDelta::minutes(5));
    let capacity = Capacity { max_active: 1, ..small_capacity() };
    let gate = backend.gate(&clock, capacity).await;
    admitted(&join(&gate, CITIZENS).await);
    let ticket = waiting(&join(&gate, CITIZENS).await).ticket.clone();
    clock.advance_secs(60);
    let kept = refresh(&gate, &ticket).await;
    assert_eq!(waiting(&kept).position, Some(1), "refreshed just in time (ticket_ttl_secs = 60)");
    clock.advance_secs(61);
    assert_eq!(refresh(&gate, &waiting(&kept).ticket).await, Visit::PlaceLost(LostReason::NotRefreshed));
}

async fn a_held_place_waits_for_its_visitor_until_its_time_and_no_longer(backend: Backend) {
    let clock = ManualClock::new(citizens_opening() + TimeDelta::minutes(5));
    let capacity = Capacity { max_active: 1, pass_ttl_secs: 3600, ..small_capacity() };
    let gate = backend.gate(&clock, capacity).await;
    admitted(&join(&gate, CITIZENS).await);
    let ticket = waiting(&join(&gate, CITIZENS).await).ticket.clone();
    let until = clock.now() + TimeDelta::minutes(20);
    let (visit, held) = gate.hold(&ticket, |_| until).await.unwrap();
    assert_eq!(held.map(|t| t.refresh_by), Some(until), "held until then");
    assert_eq!(waiting(&visit).position, Some(1), "the same place");
    let held = waiting(&visit).ticket.clone();
    // Away for twelve minutes, far beyond ticket_ttl_secs: the place is still there, and looking in keeps it held
    // (the one inside keeps their slot all along: their pass lasts an hour).
    clock.advance_secs(12 * 60);
    let back = refresh(&gate, &held).await;
    assert_eq!(waiting(&back).position, Some(1));
    clock.advance_secs(6 * 60);
    assert_eq!(waiting(&refresh(&gate, &waiting(&back).ticket).await).position, Some(1));
    // Past the hold, an unrefreshed place is given up as any other.
    clock.advance_secs(3 * 60);
    assert_eq!(refresh(&gate, &held).await, Visit::PlaceLost(LostReason::NotRefreshed));
    // A visit that is not a wait is returned as found, with nothing held.
    let other = waiting(&join(&gate, CITIZENS).await).ticket.clone();
    clock.advance_secs(61);
    let (lost, none) = gate.hold(&other, |_| clock.now() + TimeDelta::minutes(30)).await.unwrap();
    assert_eq!((lost, none), (Visit::PlaceLost(LostReason::NotRefreshed), None));
}

async fn a_revoked_pass_is_refused_and_frees_its_slot(backend: Backend) {
    let clock = ManualClock::new(citizens_opening() + TimeDelta::minutes(5));
    let capacity = Capacity { max_active: 1, ..small_capacity() };
    let gate = backend.gate(&clock, capacity).await;
    let first = join(&gate, CITIZENS).await;
    let pass = admitted(&first).clone();
    let next = waiting(&join(&gate, CITIZENS).await).ticket.clone();
    assert!(matches!(gate.check_pass(&pass.pass).await.unwrap(), PassCheck::Valid(p) if p.pass_id == pass.pass_id));
    clock.advance_secs(5);
    assert_eq!(waiting(&refresh(&gate, &next).await).position, Some(1), "capacity is full");
    assert!(gate.revoke("cittadini", pass.pass_id).await.unwrap(), "the pass was active");
    assert_eq!(gate.check_pass(&pass.pass).await.unwrap(), PassCheck::Revoked);
    admitted(&refresh(&gate, &next).await);
    assert!(!gate.revoke("cittadini", pass.pass_id).await.unwrap(), "already revoked");
    assert!(matches!(gate.revoke("nobody", pass.pass_id).await, Err(GateError::UnknownRoom(_))));
}

async fn claiming_twice_gives_the_same_pass(backend: Backend) {
    let clock = ManualClock::new(citizens_opening() + TimeDelta::minutes(5));
    let capacity = Capacity { max_active: 2, ..small_capacity() };
    let gate = backend.gate(&clock, capacity).await;
    admitted(&join(&gate, CITIZENS).await);
    let ticket = waiting(&join(&gate, CITIZENS).await).ticket.clone();
    clock.advance_secs(1);
    let once = admitted(&refresh(&gate, &ticket).await).clone();
    clock.advance_secs(2);
    // A retried request, a second tab: the same pass, and still one slot.
    let twice = admitted(&refresh(&gate, &ticket).await).clone();
    assert_eq!((once.pass_id, once.expires_at), (twice.pass_id, twice.expires_at));
    let third = waiting(&join(&gate, CITIZENS).await).clone();
    assert_eq!(third.position, Some(1), "two passes active, max_active 2");
    // Revoked, the same place cannot claim again.
    gate.revoke("cittadini", once.pass_id).await.unwrap();
    assert_eq!(refresh(&gate, &ticket).await, Visit::PlaceLost(LostReason::Revoked));
}

async fn maintenance_closes_the_room_with_the_operators_message(backend: Backend) {
    let clock = ManualClock::new(citizens_opening() + TimeDelta::minutes(5));
    let gate = backend.gate(&clock, small_capacity()).await;
    let pass = admitted(&join(&gate, CITIZENS).await).pass.clone();
    let mut ticket = waiting(&join(&gate, CITIZENS).await).ticket.clone();
    let message = MaintenanceMessage {
        it: "Servizio in manutenzione fino alle 18".to_owned(),
        en: "Down for maintenance until 18:00".to_owned(),
    };
    gate.set_maintenance("cittadini", Some(message.clone())).await.unwrap();
    let maintenance = RoomStatus::Maintenance { message: message.clone() };
    assert_eq!(gate.status(CITIZENS).await.unwrap().status, maintenance);
    assert_eq!(gate.challenge(CITIZENS, false).await.unwrap(), Offer::Unavailable(maintenance.clone()));
    assert_eq!(gate.check_pass(&pass).await.unwrap(), PassCheck::Maintenance(message.clone()));
    // Waiting visitors keep their place for as long as it lasts, and nobody is admitted meanwhile.
    for _ in 0..10 {
        clock.advance_secs(30);
        match refresh(&gate, &ticket).await {
            Visit::Unavailable { status, ticket: Some(kept) } => {
                assert_eq!(status, maintenance);
                ticket = kept;
            }
            other => panic!("expected maintenance, got {other:?}"),
        }
    }
    assert_eq!(gate.status(CITIZENS).await.unwrap().admitted, 1, "admission paused");
    assert_eq!(
        Visit::Unavailable { status: maintenance, ticket: None }.view().message.as_ref(),
        Some(&message),
        "JSON clients get the message"
    );
    gate.set_maintenance("cittadini", None).await.unwrap();
    admitted(&refresh(&gate, &ticket).await);
    assert!(matches!(gate.check_pass(&pass).await.unwrap(), PassCheck::Valid(_)));
}

async fn capacity_set_on_one_node_applies_on_every_node(backend: Backend) {
    let clock = ManualClock::new(citizens_opening() + TimeDelta::minutes(5));
    let operator = backend.gate(&clock, small_capacity()).await;
    let node = backend.gate(&clock, small_capacity()).await;
    admitted(&join(&node, CITIZENS).await);
    let tickets: Vec<String> = {
        let mut t = Vec::new();
        for _ in 0..5 {
            t.push(waiting(&join(&node, CITIZENS).await).ticket.clone());
        }
        t
    };
    let wider = Capacity { admit_per_sec: 100, burst: 100, ..small_capacity() };
    operator.set_capacity("cittadini", wider).await.unwrap();
    assert_eq!(node.status(CITIZENS).await.unwrap().capacity, wider);
    clock.advance_secs(1);
    for ticket in &tickets {
        admitted(&refresh(&node, ticket).await);
    }
    let wrong = Capacity { ticket_ttl_secs: 5, ..wider };
    let err = operator.set_capacity("cittadini", wrong).await.unwrap_err();
    assert!(err.to_string().contains("ticket_ttl_secs"), "{err}");
    operator.reset_capacity("cittadini").await.unwrap();
    assert_eq!(node.status(CITIZENS).await.unwrap().capacity, small_capacity());
}

async fn a_challenge_is_redeemed_once_and_only_when_solved(backend: Backend) {
    let clock = ManualClock::new(citizens_opening() + TimeDelta::minutes(5));
    let gate = backend.gate(&clock, small_capacity()).await;
    let Offer::Challenge(offer) = gate.challenge(CITIZENS, false).await.unwrap() else { panic!("room is open") };
    assert!(offer.difficulty >= 4);
    let nonce = pow::solve(&offer.token, offer.difficulty);
    let wrong = (0..).find(|n| !pow::is_solution(&offer.token, *n, offer.difficulty)).unwrap_or(0);
    assert!(matches!(gate.enter(&offer.token, Proof::Nonce(wrong)).await, Err(GateError::WrongProof)));
    assert!(matches!(gate.enter(&offer.token, Proof::Waited).await, Err(GateError::WrongProof)));
    gate.enter(&offer.token, Proof::Nonce(nonce)).await.unwrap();
    assert!(matches!(gate.enter(&offer.token, Proof::Nonce(nonce)).await, Err(GateError::ChallengeReused)));
    let Offer::Challenge(late) = gate.challenge(CITIZENS, false).await.unwrap() else { panic!("room is open") };
    clock.advance_secs(121);
    let nonce = pow::solve(&late.token, late.difficulty);
    assert!(matches!(gate.enter(&late.token, Proof::Nonce(nonce)).await, Err(GateError::ChallengeExpired(_))));
}

async fn the_no_javascript_path_waits_instead_of_working(backend: Backend) {
    let clock = ManualClock::new(citizens_opening() + TimeDelta::minutes(5));
    let gate = backend.gate(&clock, small_capacity()).await;
    let Offer::Challenge(offer) = gate.challenge(CITIZENS, true).await.unwrap() else { panic!("room is open") };
    assert_eq!(offer.difficulty, 0);
    assert_eq!(offer.not_before - clock.now(), TimeDelta::seconds(30));
    assert!(matches!(gate.enter(&offer.token, Proof::Waited).await, Err(GateError::TooEarly(_))));
    clock.advance_secs(30);
    admitted(&gate.enter(&offer.token, Proof::Waited).await.unwrap());
}

async fn a_strained_backend_slows_admission_never_above_the_set_rate(backend: Backend) {
    let clock = ManualClock::new(citizens_opening() + TimeDelta::minutes(5));
    let capacity = Capacity { admit_per_sec: 2, burst: 5, ..small_capacity() };
    let gate = backend.gate(&clock, capacity).await;
    for _ in 0..30 {
        join(&gate, CITIZENS).await;
    }
    let mut admitted_after = Vec::new();
    for health in [1000, 500, 5000] {
        gate.report_health("cittadini", health).await.unwrap();
        clock.advance_secs(2);
        admitted_after.push(gate.status(CITIZENS).await.unwrap().admitted);
    }
    // The burst of 5 at once, then 2 per second; half that while strained; a report above 100% changes nothing.
    assert_eq!(admitted_after, [9, 11, 15]);
}

async fn a_pass_in_use_is_renewed_up_to_its_longest_lifetime_and_keeps_its_slot(backend: Backend) {
    let start = citizens_opening() + TimeDelta::minutes(5);
    let clock = ManualClock::new(start);
    // Ten minutes a pass, twenty-five at most.
    let capacity = Capacity { max_active: 1, pass_max_secs: Some(1500), ..small_capacity() };
    let gate = backend.gate(&clock, capacity).await;
    let first = admitted(&join(&gate, CITIZENS).await).clone();
    let valid = |check: PassCheck| match check {
        PassCheck::Valid(pass) => pass,
        other => panic!("expected a valid pass, got {other:?}"),
    };
    let pass = valid(gate.check_pass(&first.pass).await.unwrap());
    clock.advance_secs(100);
    assert_eq!(gate.renew(&pass).await.unwrap(), None, "less than half of its lifetime is spent");

    clock.advance_secs(300);
    let renewed = gate.renew(&pass).await.unwrap().expect("half spent: renewed");
    assert_eq!((renewed.pass_id, renewed.expires_at), (first.pass_id, start + TimeDelta::seconds(1000)));
    clock.advance_secs(250);
    assert_eq!(gate.check_pass(&first.pass).await.unwrap(), PassCheck::Expired, "the old token ran out");
    let pass = valid(gate.check_pass(&renewed.pass).await.unwrap());
    assert_eq!(gate.status(CITIZENS).await.unwrap().active, 1, "the renewed pass still holds the only slot");
    assert!(matches!(join(&gate, CITIZENS).await, Visit::Waiting(_)), "so a newcomer waits");

    clock.advance_secs(150);
    let renewed = gate.renew(&pass).await.unwrap().expect("renewed again");
    assert_eq!(renewed.expires_at, start + TimeDelta::seconds(1400));
    clock.advance_secs(500);
    let last = gate.renew(&valid(gate.check_pass(&renewed.pass).await.unwrap())).await.unwrap().expect("renewed");
    assert_eq!(last.expires_at, start + TimeDelta::seconds(1500), "never beyond pass_max_secs after admission");
    clock.advance_secs(150);
    let at_longest = valid(gate.check_pass(&last.pass).await.unwrap());
    assert_eq!(gate.renew(&at_longest).await.unwrap(), None, "at its longest");
    clock.advance_secs(51);
    assert_eq!(gate.check_pass(&last.pass).await.unwrap(), PassCheck::Expired);
    assert_eq!(gate.status(CITIZENS).await.unwrap().active, 0, "its slot is free for the next");
}

async fn a_revoked_or_released_pass_is_not_renewed(backend: Backend) {
    let clock = ManualClock::new(citizens_opening() + TimeDelta::minutes(5));
    let gate = backend.gate(&clock, Capacity { max_active: 2, burst: 2, ..small_capacity() }).await;
    let revoked = admitted(&join(&gate, CITIZENS).await).clone();
    let released = admitted(&join(&gate, CITIZENS).await).clone();
    let revoked_pass = match gate.check_pass(&revoked.pass).await.unwrap() {
        PassCheck::Valid(pass) => pass,
        other => panic!("{other:?}"),
    };
    let released_pass = match gate.check_pass(&released.pass).await.unwrap() {
        PassCheck::Valid(pass) => pass,
        other => panic!("{other:?}"),
    };
    gate.revoke("cittadini", revoked.pass_id).await.unwrap();
    gate.release(&released.pass).await.unwrap();
    clock.advance_secs(400);
    assert_eq!(gate.renew(&revoked_pass).await.unwrap(), None);
    assert_eq!(gate.renew(&released_pass).await.unwrap(), None);
    assert_eq!(gate.check_pass(&released.pass).await.unwrap(), PassCheck::Revoked);
    assert_eq!(gate.status(CITIZENS).await.unwrap().active, 0, "both slots are free");
}
