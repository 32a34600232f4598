//! "Avvisami": a waiting visitor is told once when their place comes near, however many nodes look at once, and
//! nothing of their contact is kept after that or after the place's hold.

use std::collections::BTreeSet;
use std::time::Duration;

use sportello_store::{OutboxMessage, Reminder};

use crate::harness::{Backend, at};

fn reminder(place: u64, recipient: &str) -> Reminder {
    Reminder {
        room: "cittadini".into(),
        window: 1_585_749_600,
        place,
        channel: "email".into(),
        recipient: recipient.into(),
        ticket: format!("ticket-{place}"),
        created_at: at(0),
        expires_at: at(3600),
    }
}

fn compose(r: &Reminder) -> OutboxMessage {
    OutboxMessage {
        channel: r.channel.clone(),
        recipient: r.recipient.clone(),
        subject: "È quasi il suo turno".into(),
        body: format!("/attesa/riprendi?biglietto={}", r.ticket),
        not_before: at(0),
    }
}

pub async fn a_visitor_is_told_once_when_their_place_comes_near(backend: Backend) {
    let store = backend.store.as_ref();
    store.add_reminder(reminder(10, "old@example.it")).await.unwrap();
    store.add_reminder(reminder(10, "anna@example.it")).await.unwrap();
    store.add_reminder(reminder(20, "bruno@example.it")).await.unwrap();
    store.add_reminder(Reminder { room: "intermediari".into(), ..reminder(5, "carla@example.it") }).await.unwrap();

    assert_eq!(store.send_reminders("cittadini", 1_585_749_600, 10, 100, &compose).await.unwrap(), 0, "not yet");
    assert_eq!(store.send_reminders("cittadini", 1_585_749_600, 15, 100, &compose).await.unwrap(), 1);
    assert_eq!(store.send_reminders("cittadini", 1_585_749_600, 15, 100, &compose).await.unwrap(), 0, "once");
    assert_eq!(store.send_reminders("cittadini", 1, 100, 100, &compose).await.unwrap(), 0, "another window");
    let sent = store.claim_outbox(at(1), 10, Duration::from_secs(60)).await.unwrap();
    let to: Vec<_> = sent.iter().map(|e| (e.message.recipient.as_str(), e.message.body.as_str())).collect();
    assert_eq!(to, [("anna@example.it", "/attesa/riprendi?biglietto=ticket-10")], "the corrected contact");

    // Past its hold, a reminder is deleted unsent.
    assert_eq!(store.purge_reminders(at(3599)).await.unwrap(), 0);
    assert_eq!(store.purge_reminders(at(3601)).await.unwrap(), 2);
    assert_eq!(store.send_reminders("cittadini", 1_585_749_600, 100, 100, &compose).await.unwrap(), 0);
}

pub async fn nodes_telling_at_once_never_tell_a_visitor_twice(backend: Backend) {
    for place in 0..60 {
        backend.store.add_reminder(reminder(place, &format!("v{place}@example.it"))).await.unwrap();
    }
    let nodes: Vec<_> = (0..4)
        .map(|_| {
            let store = backend.store.clone();
            tokio::spawn(async move {
                let mut told = 0;
                loop {
                    let n = store.send_reminders("cittadini", 1_585_749_600, 1000, 7, &compose).await.unwrap();
                    if n == 0 {
                        return told;
                    }
                    told += n;
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let mut told = 0;
    for node in nodes {
        told += node.await.unwrap();
    }
    assert_eq!(told, 60);
    let messages = backend.store.claim_outbox(at(1), 1000, Duration::from_secs(60)).await.unwrap();
    let recipients: BTreeSet<_> = messages.iter().map(|e| e.message.recipient.clone()).collect();
    assert_eq!((messages.len(), recipients.len()), (60, 60), "each visitor once");
}
