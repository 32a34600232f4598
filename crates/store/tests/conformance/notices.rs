//! The messages a state change decided in the store queues for its citizen, in the same transaction: one per change,
//! in order, none again when the change is repeated (a rerun, the same bank report twice).

use std::collections::BTreeMap;
use std::time::Duration;

use sportello_domain::Cents;
use sportello_store::{ApplicationStatus, NewPaymentRun, PaymentOutcome, Submission};

use crate::harness::{Backend, application, at, budget, date, person};

/// Art. 27 for person `n`, told at `persona<n>@example.it`, paid by transfer or, when `cash`, at a post office.
fn told_at(n: u32, cash: bool) -> sportello_store::NewApplication {
    let mut new = application(person(n), "form", ApplicationStatus::Accepted);
    let payment = if cash {
        serde_json::json!({ "method": "domiciliato" })
    } else {
        serde_json::json!({ "method": "iban", "iban": "IT60X0542811101000000123456" })
    };
    new.details = serde_json::json!({
        "payment": payment,
        "contact": { "email": format!("persona{n}@example.it"), "mobile": null },
    });
    new.submitted_at = at(i64::from(n));
    new
}

pub async fn each_payment_state_change_is_told_once_in_order(backend: Backend) {
    let store = backend.store.as_ref();
    store.ensure_budget(&budget("art27", 600, 2), at(0)).await.unwrap();
    let mut protocols = Vec::new();
    for (n, cash) in [(0, false), (1, true), (2, false)] {
        let Submission::Created(created) = store.submit(told_at(n, cash)).await.unwrap() else { panic!("not created") };
        protocols.push(created.protocol.to_string());
    }
    // The third is suspended, then released by a raise.
    store.set_budget_limit("art27", Cents::from_euros(1800), "DL 34/2020 art. 84", "m.bianchi", at(100)).await.unwrap();
    let run = NewPaymentRun {
        pay_date: date(2020, 4, 15),
        debtor_name: "INPS".to_owned(),
        debtor_iban: "IT60X0542811101000000123456".to_owned(),
        debtor_bic: "BPPIITRRXXX".to_owned(),
        at: at(3600),
        accepted_before: date(2020, 4, 15).and_hms_opt(0, 0, 0).unwrap().and_utc(),
    };
    assert!(store.start_payment_run(&run).await.unwrap().1);
    // A rerun assigns nothing, and tells nobody again.
    assert!(!store.start_payment_run(&run).await.unwrap().1);
    let report = [
        PaymentOutcome { protocol: protocols[0].clone(), returned: None },
        PaymentOutcome { protocol: protocols[2].clone(), returned: Some("AC04".to_owned()) },
    ];
    store.reconcile(&report, at(7200)).await.unwrap();
    // The same report again changes nothing, and tells nobody again.
    store.reconcile(&report, at(7300)).await.unwrap();

    // Delivered as a worker would: one recipient's messages one at a time, in the order queued.
    let mut claimed = Vec::new();
    loop {
        let round = store.claim_outbox(at(8000), 1000, Duration::from_secs(60)).await.unwrap();
        if round.is_empty() {
            break;
        }
        for entry in &round {
            store.outbox_delivered(entry.id, at(8000)).await.unwrap();
        }
        claimed.extend(round);
    }
    let mut by_person: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for entry in &claimed {
        let message = &entry.message;
        assert_eq!(message.channel, "email");
        let kind = ["accolta", "disposto", "eseguito", "non riuscito"]
            .into_iter()
            .find(|kind| message.subject.to_lowercase().contains(kind))
            .unwrap_or_else(|| panic!("unexpected message: {}", message.subject));
        by_person.entry(message.recipient.as_str()).or_default().push(kind);
    }
    let expected = BTreeMap::from([
        ("persona0@example.it", vec!["disposto", "eseguito"]),
        ("persona1@example.it", vec!["disposto"]),
        ("persona2@example.it", vec!["accolta", "disposto", "non riuscito"]),
    ]);
    assert_eq!(by_person, expected);
    let cash = claimed.iter().find(|e| e.message.recipient == "persona1@example.it").unwrap();
    assert!(cash.message.body.contains("ufficio postale") && cash.message.body.contains("15/04/2020"));
    assert!(cash.message.body.contains("600,00"), "{}", cash.message.body);
    let returned = claimed.iter().rev().find(|e| e.message.recipient == "persona2@example.it").unwrap();
    assert!(returned.message.subject.contains(&protocols[2]));
    assert!(returned.message.body.contains("AC04") && returned.message.body.contains("IBAN"));
}
