//! The outbox: messages wait for their time, a claim leases them to one worker, a delivery wipes the body, a failure
//! reschedules; concurrent workers never share a message.

use std::collections::BTreeSet;
use std::time::Duration;

use sportello_store::{OutboxEntry, OutboxMessage};

use crate::harness::{Backend, at};

const LEASE: Duration = Duration::from_secs(60);

fn message(n: u32, not_before: i64) -> OutboxMessage {
    OutboxMessage {
        channel: "email".to_owned(),
        recipient: format!("persona{n}@example.it"),
        subject: "Il tuo PIN INPS".to_owned(),
        body: format!("Messaggio {n}: prima parte del PIN ABCD1234"),
        not_before: at(not_before),
    }
}

fn ids(entries: &[OutboxEntry]) -> Vec<i64> {
    entries.iter().map(|e| e.id).collect()
}

pub async fn a_claim_takes_due_messages_in_order(backend: Backend) {
    let store = backend.store.as_ref();
    // Leases outlast the test: whatever is claimed stays claimed.
    const HOUR: Duration = Duration::from_secs(3600);
    let later = store.enqueue(message(1, 100)).await.unwrap();
    let first = store.enqueue(message(2, 0)).await.unwrap();
    let second = store.enqueue(message(3, 5)).await.unwrap();
    let third = store.enqueue(message(4, 10)).await.unwrap();
    assert!(later < first && first < second && second < third);

    // Not before its time; in id order; no more than the limit.
    assert!(store.claim_outbox(at(-1), 10, HOUR).await.unwrap().is_empty());
    let claimed = store.claim_outbox(at(10), 2, HOUR).await.unwrap();
    assert_eq!(ids(&claimed), vec![first, second]);
    assert_eq!(claimed[0].message, message(2, 0));
    assert!(claimed.iter().all(|e| e.attempts == 1));
    assert_eq!(ids(&store.claim_outbox(at(10), 10, HOUR).await.unwrap()), vec![third]);
    assert!(store.claim_outbox(at(10), 0, HOUR).await.unwrap().is_empty(), "a limit of 0 claims nothing");
    assert!(store.claim_outbox(at(99), 10, HOUR).await.unwrap().is_empty());
    assert_eq!(ids(&store.claim_outbox(at(100), 10, HOUR).await.unwrap()), vec![later]);
}

pub async fn a_lease_keeps_a_message_until_it_expires(backend: Backend) {
    let store = backend.store.as_ref();
    let id = store.enqueue(message(1, 0)).await.unwrap();
    let claimed = store.claim_outbox(at(0), 10, LEASE).await.unwrap();
    assert_eq!((ids(&claimed), claimed[0].attempts), (vec![id], 1));

    // Another worker, before the lease ends, gets nothing.
    assert!(store.claim_outbox(at(59), 10, LEASE).await.unwrap().is_empty());
    // The first worker died: once the lease ends, the message is claimed again, as a second attempt.
    let again = store.claim_outbox(at(60), 10, LEASE).await.unwrap();
    assert_eq!((ids(&again), again[0].attempts), (vec![id], 2));
    assert_eq!(again[0].message, message(1, 0));
    assert!(store.claim_outbox(at(61), 10, LEASE).await.unwrap().is_empty(), "leased again until +120s");
}

pub async fn concurrent_claims_never_share_a_message(backend: Backend) {
    let mut enqueued = BTreeSet::new();
    for n in 0..100 {
        enqueued.insert(backend.store.enqueue(message(n, 0)).await.unwrap());
    }
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let store = backend.store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store.claim_outbox(at(1), 7, Duration::from_secs(3600)).await.unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch);
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for worker in workers {
        claimed.extend(worker.await.unwrap());
    }

    let distinct: BTreeSet<i64> = claimed.iter().map(|e| e.id).collect();
    assert_eq!(claimed.len(), distinct.len(), "a message was claimed twice");
    assert_eq!(distinct, enqueued, "together the workers claim every message");
    assert!(claimed.iter().all(|e| e.attempts == 1));
}

pub async fn a_delivered_message_is_wiped_and_never_claimed_again(backend: Backend) {
    let store = backend.store.as_ref();
    let delivered = store.enqueue(message(1, 0)).await.unwrap();
    let kept = store.enqueue(message(2, 0)).await.unwrap();
    assert_eq!(ids(&store.claim_outbox(at(0), 10, LEASE).await.unwrap()), vec![delivered, kept]);
    store.outbox_delivered(delivered, at(1)).await.unwrap();

    // Long after both leases: only the undelivered one comes back.
    assert_eq!(ids(&store.claim_outbox(at(3600), 10, LEASE).await.unwrap()), vec![kept]);
    assert!(store.claim_outbox(at(86_400), 10, LEASE).await.unwrap().iter().all(|e| e.id != delivered));
    // A late failure report from a worker whose lease had ended does not bring it back.
    store.outbox_failed(delivered, "timeout", at(0)).await.unwrap();
    assert!(store.claim_outbox(at(200_000), 10, LEASE).await.unwrap().iter().all(|e| e.id != delivered));

    // The body (half a PIN) is gone from the database.
    let body = raw_body(&backend, delivered).await;
    assert_eq!(body, "");
    assert_eq!(raw_body(&backend, kept).await, message(2, 0).body);
}

pub async fn a_failed_delivery_is_retried_at_its_time(backend: Backend) {
    let store = backend.store.as_ref();
    let id = store.enqueue(message(1, 0)).await.unwrap();
    assert_eq!(ids(&store.claim_outbox(at(0), 10, LEASE).await.unwrap()), vec![id]);
    store.outbox_failed(id, "SMTP 451 try again later", at(300)).await.unwrap();

    // The lease is cleared, but the retry waits for retry_at, even after the old lease would have ended.
    assert!(store.claim_outbox(at(120), 10, LEASE).await.unwrap().is_empty());
    let retried = store.claim_outbox(at(300), 10, LEASE).await.unwrap();
    assert_eq!((ids(&retried), retried[0].attempts), (vec![id], 2));
    assert_eq!(retried[0].message.not_before, at(300));
    assert_eq!(retried[0].message.body, message(1, 0).body, "the body stays until delivered");

    // A failure can also ask for an immediate retry: the lease no longer holds the message back.
    store.outbox_failed(id, "connection reset", at(301)).await.unwrap();
    let third = store.claim_outbox(at(301), 10, LEASE).await.unwrap();
    assert_eq!((ids(&third), third[0].attempts), (vec![id], 3));
    assert_eq!(raw_error(&backend, id).await.as_deref(), Some("connection reset"));
}

/// The stored body of message `id`, read around the store.
async fn raw_body(backend: &Backend, id: i64) -> String {
    raw_text(backend, "SELECT body FROM outbox WHERE id = ", id).await.unwrap()
}

/// The stored last error of message `id`, read around the store.
async fn raw_error(backend: &Backend, id: i64) -> Option<String> {
    raw_text(backend, "SELECT last_error FROM outbox WHERE id = ", id).await
}

async fn raw_text(backend: &Backend, select: &str, id: i64) -> Option<String> {
    use crate::harness::Kind;
    use sqlx::{AssertSqlSafe, Connection};
    let sql = format!("{select}{id}");
    match backend.kind {
        Kind::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&backend.url).await.unwrap();
            let text = sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut conn).await.unwrap();
            conn.close().await.unwrap();
            text
        }
        Kind::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&backend.url).await.unwrap();
            let text = sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut conn).await.unwrap();
            conn.close().await.unwrap();
            text
        }
    }
}

pub async fn one_recipients_messages_go_out_one_at_a_time_in_order(backend: Backend) {
    let store = backend.store.as_ref();
    let to =
        |n: u32, recipient: u32| OutboxMessage { recipient: format!("persona{recipient}@example.it"), ..message(n, 0) };
    let first = store.enqueue(to(1, 1)).await.unwrap();
    let second = store.enqueue(to(2, 1)).await.unwrap();
    let other = store.enqueue(to(3, 2)).await.unwrap();
    // The second waits behind the first; another recipient's message does not.
    assert_eq!(ids(&store.claim_outbox(at(0), 10, LEASE).await.unwrap()), vec![first, other]);
    store.outbox_delivered(other, at(1)).await.unwrap();
    // The first fails and is due again later: the second still waits, past the first's lease too.
    store.outbox_failed(first, "421", at(100)).await.unwrap();
    assert!(store.claim_outbox(at(50), 10, LEASE).await.unwrap().is_empty());
    assert_eq!(ids(&store.claim_outbox(at(100), 10, LEASE).await.unwrap()), vec![first]);
    store.outbox_delivered(first, at(101)).await.unwrap();
    assert_eq!(ids(&store.claim_outbox(at(101), 10, LEASE).await.unwrap()), vec![second]);
}

pub async fn a_message_due_later_holds_back_no_message_due_sooner(backend: Backend) {
    let store = backend.store.as_ref();
    let to_one = |n: u32, not_before: i64| OutboxMessage {
        recipient: "persona@example.it".to_owned(),
        ..message(n, not_before)
    };
    // A PIN's second half, due in an hour, then a receipt due now: the receipt does not wait an hour.
    let later = store.enqueue(to_one(1, 3600)).await.unwrap();
    let now = store.enqueue(to_one(2, 0)).await.unwrap();
    assert_eq!(ids(&store.claim_outbox(at(0), 10, LEASE).await.unwrap()), vec![now]);
    store.outbox_delivered(now, at(1)).await.unwrap();
    assert_eq!(ids(&store.claim_outbox(at(3600), 10, LEASE).await.unwrap()), vec![later]);
}
