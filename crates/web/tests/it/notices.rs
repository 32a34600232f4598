//! A citizen is told of each state change once, in order: the receipt, the release from suspension, the payment
//! scheduled, paid or returned. Through the real outbox worker and a notifier that fails a few times and then
//! recovers, on SQLite and on PostgreSQL.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use sportello_domain::clock::ManualClock;
use sportello_domain::{Cents, IdempotencyKey};
use sportello_store::testing::TestDatabase;
use sportello_store::{
    ApplicationStatus, BudgetSeed, NewApplication, NewPaymentRun, OutboxMessage, PaymentOutcome, Store, Submission,
};
use sportello_web::notify::{Message, Notifier, NotifyError};
use sportello_web::outbox::{OutboxConfig, OutboxWorker};

use crate::support::cf;

/// Fails its first `failures` sends, whatever they are, then delivers, keeping what it delivered in order.
struct Recovering {
    failures: Mutex<u32>,
    delivered: Mutex<Vec<Message>>,
}

#[async_trait]
impl Notifier for Recovering {
    async fn send(&self, message: &Message) -> Result<(), NotifyError> {
        {
            let mut failures = self.failures.lock().unwrap();
            if *failures > 0 {
                *failures -= 1;
                return Err(NotifyError::Smtp("421 try again later".into()));
            }
        }
        self.delivered.lock().unwrap().push(message.clone());
        Ok(())
    }
}

fn start() -> DateTime<Utc> {
    "2020-04-01T08:00:00Z".parse().unwrap()
}

/// Art. 27 for `first15`'s person, told at `email`, submitted `n` seconds after the start.
fn application(first15: &str, email: &str, n: i64) -> NewApplication {
    NewApplication {
        codice_fiscale: cf(first15),
        scheme: "art27".to_owned(),
        cumulation_group: "dl18-2020-marzo".to_owned(),
        protocol_prefix: "INPS-COVID-".to_owned(),
        idempotency_key: IdempotencyKey::parse("form").unwrap(),
        status: ApplicationStatus::Accepted,
        reasons: vec![],
        details: serde_json::json!({
            "payment": { "method": "iban", "iban": "IT60X0542811101000000123456" },
            "contact": { "email": email, "mobile": null },
        }),
        submitted_at: start() + TimeDelta::seconds(n),
        hold: None,
    }
}

/// What kind of message `message` is, by its subject.
fn kind(message: &Message) -> &'static str {
    ["Ricevuta", "accolta", "disposto", "eseguito", "non riuscito"]
        .into_iter()
        .find(|kind| message.subject.contains(kind))
        .unwrap_or_else(|| panic!("unexpected message: {}", message.subject))
}

async fn told_once_in_order(store: Arc<dyn Store>) {
    let clock = ManualClock::new(start());
    let notifier = Arc::new(Recovering { failures: Mutex::new(5), delivered: Mutex::new(Vec::new()) });
    let config = OutboxConfig {
        batch: 10,
        backoff_base: Duration::from_secs(10),
        backoff_cap: Duration::from_secs(60),
        ..OutboxConfig::default()
    };
    let worker = OutboxWorker::new(store.clone(), notifier.clone()).with_config(config).with_clock({
        let clock = clock.clone();
        move || clock.now()
    });
    // A few rounds of the worker, a minute apart: enough for a failed message's retry to fall due.
    let rounds = |n: u32| {
        let (worker, clock) = (worker.clone(), clock.clone());
        async move {
            for _ in 0..n {
                worker.deliver_due().await.unwrap();
                clock.advance_secs(60);
            }
        }
    };
    let seed = BudgetSeed {
        scheme: "art27".to_owned(),
        amount: Cents::from_euros(600),
        limit: Cents::from_euros(600),
        legal_ref: "art. 27 c. 2".to_owned(),
    };
    store.ensure_budget(&seed, start()).await.unwrap();

    // Two submissions, each with its receipt as the door queues it: the first accepted, the second suspended.
    let mut protocols = Vec::new();
    for (n, (first15, email)) in
        [("RSSMRA80A01H501", "mario@example.it"), ("BNCLRA85B41F205", "laura@example.it")].into_iter().enumerate()
    {
        let Submission::Created(created) = store.submit(application(first15, email, n as i64)).await.unwrap() else {
            panic!("recorded")
        };
        let receipt = format!("Ricevuta della domanda {}", created.protocol);
        let body = format!("Stato: {:?}", created.status);
        let message = OutboxMessage {
            channel: "email".into(),
            recipient: email.into(),
            subject: receipt,
            body,
            not_before: clock.now(),
        };
        store.enqueue(message).await.unwrap();
        protocols.push(created.protocol.to_string());
    }
    rounds(1).await;
    store
        .set_budget_limit("art27", Cents::from_euros(1200), "DL 34/2020 art. 84", "m.bianchi", clock.now())
        .await
        .unwrap();
    rounds(1).await;
    let pay_date = sportello_domain::Date::from_ymd_opt(2020, 4, 15).unwrap();
    let run = NewPaymentRun {
        pay_date,
        debtor_name: "INPS".to_owned(),
        debtor_iban: "IT60X0542811101000000123456".to_owned(),
        debtor_bic: "BPPIITRRXXX".to_owned(),
        at: clock.now(),
        accepted_before: clock.now() + TimeDelta::seconds(1),
    };
    assert!(store.start_payment_run(&run).await.unwrap().1);
    assert!(!store.start_payment_run(&run).await.unwrap().1, "a rerun assigns nothing");
    rounds(1).await;
    let report = [
        PaymentOutcome { protocol: protocols[0].clone(), returned: None },
        PaymentOutcome { protocol: protocols[1].clone(), returned: Some("AC04".to_owned()) },
    ];
    store.reconcile(&report, clock.now()).await.unwrap();
    store.reconcile(&report, clock.now()).await.unwrap();
    rounds(20).await;

    assert_eq!(*notifier.failures.lock().unwrap(), 0, "the notifier failed as often as it was meant to");
    let delivered = notifier.delivered.lock().unwrap().clone();
    let mut by_person: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for message in &delivered {
        by_person.entry(message.recipient.as_str()).or_default().push(kind(message));
    }
    let expected = BTreeMap::from([
        ("laura@example.it", vec!["Ricevuta", "accolta", "disposto", "non riuscito"]),
        ("mario@example.it", vec!["Ricevuta", "disposto", "eseguito"]),
    ]);
    assert_eq!(by_person, expected, "one message per state change, in order, none twice");
    let returned = delivered.iter().rev().find(|m| m.recipient == "laura@example.it").unwrap();
    assert!(returned.body.contains(&protocols[1]) && returned.body.contains("IBAN"), "{}", returned.body);
}

#[tokio::test]
async fn each_state_change_is_told_once_in_order_through_a_failing_notifier_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("notices.db").display());
    told_once_in_order(Arc::from(sportello_store::open(&url).await.unwrap())).await;
}

#[tokio::test]
async fn each_state_change_is_told_once_in_order_through_a_failing_notifier_on_postgres() {
    let Some(database) = TestDatabase::create().await else { return };
    told_once_in_order(Arc::from(sportello_store::open(&database.url).await.unwrap())).await;
    database.drop_database().await;
}
