//! Two decrees in force at once, on both backends: a March art. 27 beneficiary is granted April once (art. 84 c. 1
//! DL 34/2020, `sportello indemnities grant`) and told so once by the receipt a submission sends, may apply for May
//! (c. 2), and holds at most one indemnity per month however many applications arrive together.

use sportello_domain::CodiceFiscale;
use sportello_store::{ApplicationStatus, NewApplication, Store, Submission};

use crate::support::{HEADER, Sandbox, run_in, stderr, stdout};

const CF: &str = "RSSMRA80A01H501U";

fn application(scheme: &str, group: &str, key: &str) -> NewApplication {
    NewApplication {
        codice_fiscale: CodiceFiscale::parse(CF).unwrap(),
        scheme: scheme.to_owned(),
        cumulation_group: group.to_owned(),
        protocol_prefix: "INPS-COVID-".to_owned(),
        idempotency_key: sportello_domain::IdempotencyKey::parse(key).unwrap(),
        status: ApplicationStatus::Accepted,
        reasons: Vec::new(),
        details: serde_json::json!({
            "payment": {"method": "iban", "iban": "IT60X0542811101000000123456"},
            "contact": {"email": "mario.rossi@example.it"},
            "declarations": {"not_pension_holder": true}
        }),
        submitted_at: chrono::Utc::now(),
        hold: None,
    }
}

/// The whole path on the database at `url`, run from `sandbox`.
async fn march_april_may(sandbox: &Sandbox, url: &str) {
    let run = |args: &[&str]| run_in(sandbox.dir.path(), url, args);
    let extract =
        sandbox.file("extract.csv", &format!("{HEADER}{CF},gestione_separata_professionista,2015-06-01,,,,,\n"));
    let import = run(&["registry", "import", extract.to_str().unwrap()]);
    assert!(import.status.success(), "{}", stderr(&import));

    // Before March is granted, April is not due; May is, its income fall to be declared.
    let before = run(&["check", "--cf", CF]);
    assert!(before.status.success(), "{}", stderr(&before));
    let json: serde_json::Value = serde_json::from_str(&stdout(&before)).unwrap();
    let eligible = |json: &serde_json::Value, id: &str| {
        json["schemes"].as_array().unwrap().iter().find(|s| s["scheme"] == id).unwrap()["eligible"].clone()
    };
    assert_eq!(eligible(&json, "art84c1"), false, "{json}");
    assert_eq!(eligible(&json, "art84c2"), true, "{json}");

    let store = sportello_store::open(url).await.unwrap();
    let march = store.submit(application("art27", "dl18-2020-marzo", "march")).await.unwrap();
    let Submission::Created(march) = march else { panic!("March is recorded: {march:?}") };

    // April: granted by the command, once, however often it runs.
    let first = run(&["indemnities", "grant", "--scheme", "art84c1", "--by", "m.bianchi"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(
        stdout(&first),
        "art84c1: 1 beneficiaries; 1 granted now, 0 refused by the law (with reasons), 0 granted before\n"
    );
    // The person granted is told once, as an applicant is: the portal's receipt, to the contact given in March.
    let lease = std::time::Duration::from_secs(3600);
    let later = chrono::Utc::now() + chrono::TimeDelta::minutes(1);
    let queued = store.claim_outbox(later, 100, lease).await.unwrap();
    assert_eq!(queued.len(), 1, "one receipt for one grant: {queued:?}");
    let receipt = &queued[0].message;
    assert_eq!((receipt.channel.as_str(), receipt.recipient.as_str()), ("email", "mario.rossi@example.it"));
    assert!(receipt.subject.starts_with("Ricevuta della domanda INPS-COVID-"), "{}", receipt.subject);
    assert!(receipt.body.contains("art. 84 c. 1") && receipt.body.contains("aprile 2020"), "{}", receipt.body);
    assert!(stderr(&first).contains("1 receipts queued"), "{}", stderr(&first));
    let again = run(&["indemnities", "grant", "--scheme", "art84c1", "--by", "m.bianchi"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("0 granted now, 0 refused by the law (with reasons), 1 granted before"));
    assert!(store.claim_outbox(later, 100, lease).await.unwrap().is_empty(), "a second run tells nobody again");
    assert!(stderr(&again).contains("0 receipts queued"), "{}", stderr(&again));
    let cf = CodiceFiscale::parse(CF).unwrap();
    let april: Vec<_> =
        store.applications_of(&cf).await.unwrap().into_iter().filter(|a| a.scheme == "art84c1").collect();
    assert_eq!(april.len(), 1, "granted once");
    assert_eq!(april[0].status, ApplicationStatus::Accepted);
    assert!(april[0].protocol.starts_with("INPS-COVID-"), "with a receipt's protocol number");
    assert_eq!(april[0].details["payment"], march.details["payment"], "paid as March was");
    let reasons = &april[0].reasons;
    assert!(reasons.iter().any(|r| r.code == "art84_april.march_beneficiary" && r.article == "art. 84 c. 1"));
    let audit = store.audit_of(&cf, 20).await.unwrap();
    assert!(
        audit.iter().any(|a| a.actor == "officer:m.bianchi" && a.channel == "back_office"),
        "the grant is audited as the officer's: {audit:?}"
    );

    // A person may not apply for April, a scheme paid without an application.
    let refused = run(&["indemnities", "grant", "--scheme", "art84c2"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("scheme 'art84c2' is applied for, not granted"), "{}", stderr(&refused));

    // May: sixteen applications at once with different keys; one is recorded, the others find it.
    let store: std::sync::Arc<dyn Store> = store.into();
    let outcomes = futures::future::join_all((0..16).map(|n| {
        let store = store.clone();
        async move { store.submit(application("art84c2", "dl34-2020-maggio", &format!("may-{n}"))).await.unwrap() }
    }))
    .await;
    let created = outcomes.iter().filter(|o| matches!(o, Submission::Created(_))).count();
    assert_eq!(created, 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| match o {
        Submission::Created(a) | Submission::AlreadyHolds(a) => a.scheme == "art84c2",
        Submission::Duplicate(_) => false,
    }));
    let held: Vec<String> = store
        .applications_of(&cf)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.status.holds_indemnity())
        .map(|a| format!("{} {}", a.scheme, a.cumulation_group))
        .collect();
    assert_eq!(held, ["art27 dl18-2020-marzo", "art84c1 dl34-2020-aprile", "art84c2 dl34-2020-maggio"]);

    // The check now shows April as due (March is held) and every decree's schemes.
    let after = run(&["check", "--cf", CF]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&after)).unwrap();
    assert_eq!(eligible(&json, "art84c1"), true, "{json}");
}

#[tokio::test]
async fn march_gives_april_once_and_may_holds_one_application_on_sqlite() {
    let sandbox = Sandbox::new();
    march_april_may(&sandbox, &sandbox.database_url).await;
}

#[tokio::test]
async fn march_gives_april_once_and_may_holds_one_application_on_postgresql() {
    let Some(database) = sportello_store::testing::TestDatabase::create().await else { return };
    let sandbox = Sandbox::new();
    march_april_may(&sandbox, &database.url).await;
    database.drop_database().await;
}
