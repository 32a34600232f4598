//! Payment runs: every accepted application is paid once, whatever the reruns and concurrent runs; the bank's
//! status report confirms or returns payments, and a returned one is paid again once its citizen gives a new account.

use std::collections::HashSet;
use std::sync::Arc;

use sportello_domain::{Cents, Date, Iban, ProtocolNumber};
use sportello_store::{
    ApplicationStatus, BudgetSeed, NewApplication, NewPaymentRun, PaymentMethod, PaymentOutcome, PaymentRow,
    PaymentStatus, ReconcileCounts, Store, Submission, open,
};

use crate::harness::{Backend, Raw, application, at, date, person};

use ApplicationStatus::{Accepted, Rejected};

const IBAN: &str = "IT60X0542811101000000123456";
const NEW_IBAN: &str = "IT61X0306909606100000063270";

/// An art. 27 application paid to `IBAN`, or in cash when `cash`.
fn paid_by(n: u32, status: ApplicationStatus, cash: bool) -> NewApplication {
    let mut new = application(person(n), "form", status);
    new.details = if cash {
        serde_json::json!({ "payment": { "method": "domiciliato" }, "contact": { "email": "a@example.it" } })
    } else {
        serde_json::json!({ "payment": { "method": "iban", "iban": IBAN }, "contact": { "email": "a@example.it" } })
    };
    new.submitted_at = at(i64::from(n));
    new
}

async fn seeded(store: &dyn Store, fits: i64) {
    let seed = BudgetSeed {
        scheme: "art27".to_owned(),
        amount: Cents::from_euros(600),
        limit: Cents::from_euros(600 * fits),
        legal_ref: "art. 27 c. 2".to_owned(),
    };
    store.ensure_budget(&seed, at(0)).await.unwrap();
}

fn run_on(day: Date) -> NewPaymentRun {
    NewPaymentRun {
        pay_date: day,
        debtor_name: "INPS".to_owned(),
        debtor_iban: "IT60X0542811101000000123456".to_owned(),
        debtor_bic: "BPPIITRRXXX".to_owned(),
        at: at(3600),
        accepted_before: day.and_hms_opt(0, 0, 0).unwrap().and_utc(),
    }
}

/// Every payment of a run by `method`, read in pages of `page`.
async fn all(store: &dyn Store, run: i64, method: PaymentMethod, page: u32) -> Vec<PaymentRow> {
    let mut rows = Vec::new();
    let mut after = 0;
    loop {
        let batch = store.run_payments(run, method, after, page).await.unwrap();
        let Some(last) = batch.last() else { return rows };
        after = last.id;
        rows.extend(batch);
    }
}

fn protocol(submission: &Submission) -> String {
    match submission {
        Submission::Created(a) => a.protocol.to_string(),
        other => panic!("expected a new application: {other:?}"),
    }
}

pub async fn a_run_pays_every_accepted_application_once_and_a_rerun_nothing_new(backend: Backend) {
    let store = backend.store.as_ref();
    seeded(store, 5).await;
    let mut protocols = Vec::new();
    for (n, status, cash) in
        [(0, Accepted, false), (1, Accepted, true), (2, Rejected, false), (3, Accepted, false), (4, Accepted, false)]
    {
        protocols.push(protocol(&store.submit(paid_by(n, status, cash)).await.unwrap()));
    }
    // Past the limit of 5 only with a sixth accepted: this one is suspended and not paid.
    seeded(store, 5).await;
    store.set_budget_limit("art27", Cents::from_euros(2400), "test", "tester", at(1)).await.unwrap();
    let suspended = store.submit(paid_by(5, Accepted, false)).await.unwrap();
    assert!(matches!(&suspended, Submission::Created(a) if a.status == ApplicationStatus::SuspendedBudget));

    let (run, created) = store.start_payment_run(&run_on(date(2020, 4, 15))).await.unwrap();
    assert!(created);
    let totals: Vec<_> =
        store.run_totals(run.id).await.unwrap().into_iter().map(|t| (t.method, t.count, t.total)).collect();
    assert_eq!(
        totals,
        [(PaymentMethod::Domiciliato, 1, Cents::from_euros(600)), (PaymentMethod::Iban, 3, Cents::from_euros(1800))]
    );
    let transfers = all(store, run.id, PaymentMethod::Iban, 2).await;
    let paid: Vec<_> = transfers.iter().map(|p| p.protocol.as_str()).collect();
    assert_eq!(paid, [&protocols[0], &protocols[3], &protocols[4]]);
    assert!(transfers.iter().all(|p| p.iban.as_deref() == Some(IBAN) && p.amount == Cents::from_euros(600)));
    let cash = all(store, run.id, PaymentMethod::Domiciliato, 10).await;
    assert_eq!((cash.len(), cash[0].iban.as_deref(), cash[0].codice_fiscale), (1, None, person(1)));

    // The same date again: the same run, nothing assigned.
    let (again, created) = store.start_payment_run(&run_on(date(2020, 4, 15))).await.unwrap();
    assert!(!created);
    assert_eq!(again, run);
    assert_eq!(all(store, run.id, PaymentMethod::Iban, 100).await, transfers);
    // Another date: nothing left to pay.
    let (later, created) = store.start_payment_run(&run_on(date(2020, 4, 30))).await.unwrap();
    assert!(created);
    assert!(store.run_totals(later.id).await.unwrap().is_empty());

    store.complete_payment_run(run.id, at(7200)).await.unwrap();
    let (done, _) = store.start_payment_run(&run_on(date(2020, 4, 15))).await.unwrap();
    assert_eq!(done.completed_at, Some(at(7200)));
    let seen = store.payments_of(&person(0)).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].status, seen[0].iban_last4.as_deref()), (PaymentStatus::Scheduled, Some("3456")));
    assert_eq!(seen[0].pay_date, date(2020, 4, 15));
}

pub async fn concurrent_runs_never_pay_an_application_twice(backend: Backend) {
    const APPLICATIONS: u32 = 120;
    seeded(backend.store.as_ref(), i64::from(APPLICATIONS)).await;
    for n in 0..APPLICATIONS {
        backend.store.submit(paid_by(n, Accepted, n % 7 == 0)).await.unwrap();
    }
    let other: Arc<dyn Store> = Arc::from(open(&backend.url).await.unwrap());
    // Eight runs at once from two processes, on four dates (each twice).
    let tasks: Vec<_> = (0..8u32)
        .map(|i| {
            let store = if i % 2 == 0 { backend.store.clone() } else { other.clone() };
            tokio::spawn(async move { store.start_payment_run(&run_on(date(2020, 4, 10 + i / 2))).await.unwrap() })
        })
        .collect();
    let mut runs = HashSet::new();
    let mut created = 0;
    for task in tasks {
        let (run, new) = task.await.unwrap();
        created += u32::from(new);
        runs.insert(run.id);
    }
    assert_eq!((created, runs.len()), (4, 4));
    let mut paid = Vec::new();
    for run in runs {
        for method in [PaymentMethod::Iban, PaymentMethod::Domiciliato] {
            paid.extend(all(backend.store.as_ref(), run, method, 50).await.into_iter().map(|p| p.protocol));
        }
    }
    let distinct: HashSet<_> = paid.iter().collect();
    assert_eq!((paid.len(), distinct.len()), (APPLICATIONS as usize, APPLICATIONS as usize));
    let mut raw = Raw::connect(&backend).await;
    assert_eq!(raw.number("SELECT count(*) FROM payments".to_owned()).await, i64::from(APPLICATIONS));
}

pub async fn a_returned_payment_is_paid_again_once_after_a_new_iban(backend: Backend) {
    let store = backend.store.as_ref();
    seeded(store, 10).await;
    let mut protocols = Vec::new();
    for n in 0..3 {
        protocols.push(protocol(&store.submit(paid_by(n, Accepted, false)).await.unwrap()));
    }
    let (first, _) = store.start_payment_run(&run_on(date(2020, 4, 15))).await.unwrap();
    let report = [
        PaymentOutcome { protocol: protocols[0].clone(), returned: None },
        PaymentOutcome { protocol: protocols[1].clone(), returned: Some("AC04".to_owned()) },
        PaymentOutcome { protocol: "INPS-COVID-2020-999999999".to_owned(), returned: None },
    ];
    let counts = store.reconcile(&report, at(9000)).await.unwrap();
    assert_eq!(counts, ReconcileCounts { confirmed: 1, returned: 1, ignored: 1 });
    // The same report again changes nothing.
    let again = store.reconcile(&report[..1], at(9001)).await.unwrap();
    assert_eq!(again, ReconcileCounts { confirmed: 0, returned: 0, ignored: 1 });

    let returned = store.payments_of(&person(1)).await.unwrap();
    assert_eq!((returned[0].status, returned[0].reason.as_deref()), (PaymentStatus::Returned, Some("AC04")));
    // Nothing to pay before the citizen acts.
    let (waiting, _) = store.start_payment_run(&run_on(date(2020, 4, 20))).await.unwrap();
    assert!(store.run_totals(waiting.id).await.unwrap().is_empty());

    let new_iban = Iban::parse(NEW_IBAN).unwrap();
    // Only the owner, and only for a returned payment.
    assert!(!store.replace_returned_iban(&person(0), &protocols[1], &new_iban, at(9100)).await.unwrap());
    assert!(!store.replace_returned_iban(&person(0), &protocols[0], &new_iban, at(9100)).await.unwrap());
    assert!(store.replace_returned_iban(&person(1), &protocols[1], &new_iban, at(9100)).await.unwrap());
    assert!(!store.replace_returned_iban(&person(1), &protocols[1], &new_iban, at(9101)).await.unwrap());
    let application =
        store.application(&person(1), &ProtocolNumber::parse(&protocols[1]).unwrap()).await.unwrap().unwrap();
    assert_eq!(application.details["payment"], serde_json::json!({ "method": "iban", "iban": NEW_IBAN }));
    assert_eq!(application.details["contact"]["email"], "a@example.it");

    let (second, _) = store.start_payment_run(&run_on(date(2020, 4, 30))).await.unwrap();
    let repaid = all(store, second.id, PaymentMethod::Iban, 10).await;
    assert_eq!(repaid.len(), 1);
    assert_eq!((repaid[0].protocol.as_str(), repaid[0].iban.as_deref()), (protocols[1].as_str(), Some(NEW_IBAN)));
    let (third, _) = store.start_payment_run(&run_on(date(2020, 5, 15))).await.unwrap();
    assert!(store.run_totals(third.id).await.unwrap().is_empty());
    // The first run's file is unchanged: it still lists what it paid then.
    assert_eq!(all(store, first.id, PaymentMethod::Iban, 10).await.len(), 3);
    let history: Vec<_> = store.payments_of(&person(1)).await.unwrap().into_iter().map(|p| p.status).collect();
    assert_eq!(history, [PaymentStatus::Superseded, PaymentStatus::Scheduled]);

    // The dashboard's runs, newest first: each run's payments, sum, and what the bank confirmed or sent back.
    let runs: Vec<_> = store
        .payment_runs(10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.run.id, r.payments, r.total, r.confirmed, r.returned))
        .collect();
    let euros = Cents::from_euros;
    assert_eq!(
        runs,
        [
            (third.id, 0, euros(0), 0, 0),
            (second.id, 1, euros(600), 0, 0),
            (waiting.id, 0, euros(0), 0, 0),
            (first.id, 3, euros(1800), 1, 1),
        ]
    );
    assert_eq!(store.payment_runs(1).await.unwrap().len(), 1, "at most the limit");
}

/// Replaces the personal records with those of persons `ns`.
async fn persons(store: &dyn Store, ns: &[u32]) {
    let records: Vec<_> = ns.iter().map(|&n| crate::persons::record(n, false, false)).collect();
    let mut import = store.begin_persons_import().await.unwrap();
    import.write(&records).await.unwrap();
    import.commit().await.unwrap();
}

pub async fn a_run_pays_only_what_was_payable_before_its_cut_off(backend: Backend) {
    let store = backend.store.as_ref();
    seeded(store, 1).await;
    // Accepted on 1 April; suspended on 1 April and released by a raise on 3 April; accepted on 4 April.
    let early = protocol(&store.submit(paid_by(0, Accepted, false)).await.unwrap());
    let released = protocol(&store.submit(paid_by(1, Accepted, false)).await.unwrap());
    store
        .set_budget_limit("art27", Cents::from_euros(1800), "DL 34/2020 art. 84", "tester", at(200_000))
        .await
        .unwrap();
    let mut late = paid_by(2, Accepted, false);
    late.submitted_at = at(300_000);
    let late = protocol(&store.submit(late).await.unwrap());

    let (run, _) = store.start_payment_run(&run_on(date(2020, 4, 3))).await.unwrap();
    let paid: Vec<_> = all(store, run.id, PaymentMethod::Iban, 10).await.into_iter().map(|p| p.protocol).collect();
    assert_eq!(paid, [early], "only what was accepted before 3 April");
    let (next, _) = store.start_payment_run(&run_on(date(2020, 4, 5))).await.unwrap();
    let paid: Vec<_> = all(store, next.id, PaymentMethod::Iban, 10).await.into_iter().map(|p| p.protocol).collect();
    assert_eq!(paid, [released, late]);
}

pub async fn run_numbers_follow_each_other_without_gaps(backend: Backend) {
    let store = backend.store.as_ref();
    seeded(store, 5).await;
    store.submit(paid_by(0, Accepted, false)).await.unwrap();
    let mut ids = Vec::new();
    // Reruns of a date find its run and take no number of their own.
    for day in [15, 15, 16, 16, 16, 17] {
        ids.push(store.start_payment_run(&run_on(date(2020, 4, day))).await.unwrap().0.id);
    }
    assert_eq!(ids, [1, 1, 2, 2, 2, 3]);
}

pub async fn transfers_carry_the_holders_name_and_those_without_one_are_counted(backend: Backend) {
    let store = backend.store.as_ref();
    seeded(store, 5).await;
    for (n, cash) in [(0, false), (1, false), (2, false), (3, true)] {
        store.submit(paid_by(n, Accepted, cash)).await.unwrap();
    }
    // Person 1 has no record; person 3 has none either, but is paid in cash, which needs no payment order.
    persons(store, &[0, 2]).await;
    let run = run_on(date(2020, 4, 15));
    assert_eq!(store.unnamed_transfers(&run).await.unwrap(), 1, "before the run: what it would assign");
    assert_eq!(store.run_totals(1).await.unwrap(), [], "counting assigns nothing");
    let (started, _) = store.start_payment_run(&run).await.unwrap();
    assert_eq!(store.unnamed_transfers(&run).await.unwrap(), 1, "after: what it holds");
    let holders: Vec<_> = all(store, started.id, PaymentMethod::Iban, 2)
        .await
        .into_iter()
        .map(|p| (p.codice_fiscale, p.holder))
        .collect();
    let name = Some("Maria Grazia D'Àngelo-x".to_owned());
    assert_eq!(holders, [(person(0), name.clone()), (person(1), None), (person(2), name.clone())]);
    assert_eq!(all(store, started.id, PaymentMethod::Domiciliato, 2).await[0].holder, None);

    persons(store, &[0, 1, 2]).await;
    assert_eq!(store.unnamed_transfers(&run).await.unwrap(), 0);
    assert_eq!(all(store, started.id, PaymentMethod::Iban, 10).await[1].holder, name);
    // Another date: nothing left to pay, nothing unnamed.
    assert_eq!(store.unnamed_transfers(&run_on(date(2020, 4, 30))).await.unwrap(), 0);
}
