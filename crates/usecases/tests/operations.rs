//! The operator's use cases without the command line: spending limits, payment runs and status reports on a real
//! (SQLite) store, the gate's operations on its in-process state. What the operator can fix is an input error (exit
//! status 2), and nothing is written before it is found.

use std::sync::Arc;

use sportello_domain::law::Decrees;
use sportello_domain::{Cents, Date, Iban};
use sportello_gate::{Capacity, Gate, GateSettings, ManualClock, MemoryState, Signer};
use sportello_store::Store;
use sportello_usecases::budgets::{self, BudgetError, NewLimit};
use sportello_usecases::gate::{self, CapacityChange, CapacityOrder};
use sportello_usecases::payments::{self, PaymentError, RunOrder};
use sportello_usecases::progress::Unwatched;
use sportello_usecases::{ErrorKind, Operator, UseCaseError};

/// A fresh SQLite store in its own folder, removed when the test ends.
struct Fixture {
    dir: std::path::PathBuf,
    store: Box<dyn Store>,
}

impl Fixture {
    async fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("sportello-operations-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = sportello_store::open(&format!("sqlite://{}", dir.join("db.sqlite").display())).await.unwrap();
        Self { dir, store }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn a_limit_is_set_by_a_named_operator_on_a_scheme_in_force_citing_its_law() {
    let fixture = Fixture::new("budgets").await;
    let store = fixture.store.as_ref();
    let decrees = Decrees::embedded();
    let rossi = Operator::named("rossi").unwrap();
    let now = chrono::Utc::now();

    let before = budgets::overview(store, &decrees).await.unwrap();
    assert!(before.recorded.is_empty() && before.history.is_empty());
    assert!(before.from_file.iter().any(|f| f.scheme == "art27"), "{:?}", before.from_file);

    let unknown = NewLimit { scheme: "art99".into(), limit: Cents::new(1), legal_ref: "DL 1/2020".into() };
    let error = budgets::set_limit(store, &decrees, &rossi, &unknown, now).await.unwrap_err();
    assert!(matches!(error, UseCaseError::Budget(BudgetError::UnknownScheme { .. })), "{error}");
    assert!(error.to_string().contains("the schemes are art27"), "{error}");
    assert_eq!(error.exit_status(), 2);
    let no_law = NewLimit { scheme: "art27".into(), limit: Cents::new(1), legal_ref: "  ".into() };
    let error = budgets::set_limit(store, &decrees, &rossi, &no_law, now).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Input);
    assert!(budgets::overview(store, &decrees).await.unwrap().recorded.is_empty(), "nothing recorded on refusal");

    let raised = Cents::parse("400000000.00").unwrap();
    let new = NewLimit { scheme: "art27".into(), limit: raised, legal_ref: " DL 34/2020 art. 84 ".into() };
    let change = budgets::set_limit(store, &decrees, &rossi, &new, now).await.unwrap();
    assert_eq!((change.budget.limit, change.budget.legal_ref.as_str()), (raised, "DL 34/2020 art. 84"));
    let after = budgets::overview(store, &decrees).await.unwrap();
    assert!(after.from_file.is_empty(), "every scheme's limit recorded: {:?}", after.from_file);
    let last = after.history.last().unwrap();
    assert_eq!((last.scheme.as_str(), last.set_by.as_deref()), ("art27", Some("rossi")));
}

fn order(out: std::path::PathBuf, bic: &str) -> RunOrder {
    let pay_date = Date::from_ymd_opt(2020, 4, 15).unwrap();
    RunOrder {
        pay_date,
        accepted_before: payments::cut_off(pay_date),
        debtor_name: "INPS".into(),
        debtor_iban: Iban::parse("IT60X0542811101000000123456").unwrap(),
        debtor_bic: bic.into(),
        out,
        stop_after: None,
    }
}

#[tokio::test]
async fn a_run_with_nothing_to_pay_writes_its_summary_once_and_a_bad_debtor_writes_nothing() {
    let fixture = Fixture::new("payments").await;
    let store = fixture.store.as_ref();
    let decrees = Decrees::embedded();
    let out = fixture.dir.join("run");
    let now = chrono::Utc::now();

    let error =
        payments::run(store, &decrees, &order(out.clone(), "bitaitrr"), Arc::new(Unwatched), now).await.unwrap_err();
    assert!(matches!(error, UseCaseError::Payment(PaymentError::Bic(_))), "{error}");
    assert_eq!(error.exit_status(), 2);
    assert!(!out.exists(), "a refused run writes nothing");

    let good = order(out.clone(), "BITAITRRXXX");
    let first = payments::run(store, &decrees, &good, Arc::new(Unwatched), now).await.unwrap();
    assert!(first.new_run);
    assert_eq!((first.transfers, first.cash), (0, 0));
    assert_eq!(first.files, ["summary-2020-04-15.json"]);
    let summary = std::fs::read_to_string(out.join("summary-2020-04-15.json")).unwrap();
    assert!(summary.contains("\"pay_date\": \"2020-04-15\""), "{summary}");
    let again = payments::run(store, &decrees, &good, Arc::new(Unwatched), now).await.unwrap();
    assert_eq!((again.run, again.new_run), (first.run, false));
}

#[tokio::test]
async fn a_status_report_is_read_and_applied_and_a_file_that_is_none_is_input() {
    let fixture = Fixture::new("reconcile").await;
    let store = fixture.store.as_ref();
    let now = chrono::Utc::now();
    let report = r#"<?xml version="1.0"?>
        <Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>
          <OrgnlPmtInfAndSts>
            <TxInfAndSts><OrgnlEndToEndId>INPS-COVID-1</OrgnlEndToEndId><TxSts>ACSC</TxSts></TxInfAndSts>
            <TxInfAndSts><OrgnlEndToEndId>INPS-COVID-2</OrgnlEndToEndId><TxSts>PDNG</TxSts></TxInfAndSts>
          </OrgnlPmtInfAndSts>
        </CstmrPmtStsRpt></Document>"#;
    let done = payments::reconcile(store, std::io::Cursor::new(report.as_bytes().to_vec()), now).await.unwrap();
    // Nobody was paid: the accepted transfer matches no payment; the pending one is left as it is.
    assert_eq!((done.counts.confirmed, done.counts.ignored, done.pending), (0, 1, 1));

    let error = payments::reconcile(store, std::io::Cursor::new(b"<Document/>".to_vec()), now).await.unwrap_err();
    assert!(matches!(error, UseCaseError::Payment(PaymentError::Report(_))), "{error}");
    assert_eq!(error.exit_status(), 2);
}

/// The citizens' room of 1 April 2020, in process.
fn gate() -> Gate {
    let text = r#"
        control_cache_ms = 0
        [[rooms]]
        key = "cittadini"
        path = "/"
        windows = [{ from = "2020-04-01T16:00" }]
    "#;
    let settings: GateSettings = toml::from_str(text).unwrap();
    let config = settings.validate().unwrap();
    let clock = ManualClock::new("2020-04-01T12:00:00Z".parse().unwrap());
    Gate::new(config, Signer::new(1, &[7u8; 32]).unwrap(), Arc::new(MemoryState::new()), clock.clock())
}

#[tokio::test]
async fn the_gate_changes_what_it_is_told_keeps_the_rest_and_refuses_what_names_nothing() {
    let gate = gate();
    let rooms = gate::status(&gate).await.unwrap();
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0]["timezone"], "Europe/Rome");
    assert_eq!(rooms[0]["status"]["opens_at_local"], "01/04/2020 16:00:00 CEST", "{}", rooms[0]);

    let configured = gate.status(gate.config().rooms[0].id).await.unwrap().capacity;
    let change = CapacityChange { max_active: Some(configured.max_active + 1), ..CapacityChange::default() };
    let now = gate::set_capacity(&gate, "cittadini", CapacityOrder::Change(change)).await.unwrap();
    assert_eq!(now, Capacity { max_active: configured.max_active + 1, ..configured });
    assert_eq!(gate::set_capacity(&gate, "cittadini", CapacityOrder::Reset).await.unwrap(), configured);

    let zero = CapacityChange { admit_per_sec: Some(0), ..CapacityChange::default() };
    let refused = gate::set_capacity(&gate, "cittadini", CapacityOrder::Change(zero)).await.unwrap_err();
    assert_eq!(refused.exit_status(), 2, "{refused}");
    let nowhere = gate::maintenance(&gate, "ovunque", None).await.unwrap_err();
    assert_eq!((nowhere.to_string().as_str(), nowhere.exit_status()), ("no gate room is called \"ovunque\"", 2));
    let bad = gate::revoke(&gate, "cittadini", "not-a-pass").await.unwrap_err();
    assert_eq!(bad.exit_status(), 2, "{bad}");
    let (_, active) = gate::revoke(&gate, "cittadini", &"ab".repeat(16)).await.unwrap();
    assert!(!active, "a pass never claimed was not active");
}
