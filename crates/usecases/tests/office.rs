//! The back office on both backends: officers log in and are locked after wrong passwords; each role does only its
//! duties; a review that overrides the law waits for a second supervisor and the person is told once it is applied;
//! every view of a person's data by an officer is in that person's subject-access report with who, when,
//! why and from where; and the breach report for a window is exactly what the audit trail recorded in it.

use chrono::{DateTime, TimeDelta, Utc};
use sportello_domain::law::Decrees;
use sportello_domain::principal::{LoginMethod, OfficerRole, Principal};
use sportello_domain::{CodiceFiscale, IdempotencyKey};
use sportello_store::testing::TestDatabase;
use sportello_store::{ApplicationStatus, Store, Submission};
use sportello_usecases::apply::{Draft, submit};
use sportello_usecases::draft::{Contacts, Declarations, Details, Payment};
use sportello_usecases::office::accounts::{self, NewAccount};
use sportello_usecases::office::cases::{self, CaseKey};
use sportello_usecases::office::gdpr::{self, Access};
use sportello_usecases::office::login::{self, Refused};
use sportello_usecases::office::review::{self, Proposal};
use sportello_usecases::office::{OnDuty, Reason};
use sportello_usecases::pin::PinHasher;
use sportello_usecases::{Acting, ErrorKind, decide};

const PASSWORD: &str = "una password lunga abbastanza";

fn cheap_hasher() -> PinHasher {
    PinHasher::with_params(argon2::Params::new(64, 1, 1, None).unwrap(), 2).unwrap()
}

fn t(minutes: i64) -> DateTime<Utc> {
    "2020-04-01T08:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(minutes)
}

async fn officer(store: &dyn Store, hasher: &PinHasher, username: &str, role: OfficerRole, from: &str) -> OnDuty {
    let new = NewAccount { username, display_name: username, role, password: PASSWORD, codice_fiscale: None };
    accounts::add(store, hasher, new, t(0)).await.unwrap();
    let logged = login::log_in(store, hasher, username, PASSWORD, None, Some(from.to_owned()), t(0)).await;
    let logged = logged.unwrap().expect("the right password opens a session");
    assert_eq!(logged.officer.role, role);
    logged.officer
}

fn citizen(cf: CodiceFiscale) -> Acting {
    Acting {
        principal: Principal::citizen(cf, LoginMethod::PinFull),
        credential: Some("pin:1".to_owned()),
        confirmed: true,
        from: Some("198.51.100.4".to_owned()),
    }
}

async fn the_back_office(store: &dyn Store) {
    let hasher = cheap_hasher();
    let decrees = Decrees::embedded();
    let mario = CodiceFiscale::parse("RSSMRA80A01H501U").unwrap();
    let anna = CodiceFiscale::parse("MRTMRA83T56A269B").unwrap();

    // A citizen applies and looks at their situation.
    let details = Details {
        payment: Payment::Iban { iban: sportello_domain::Iban::parse("IT60X0542811101000000123456").unwrap() },
        contact: Contacts { email: Some("mario.rossi@example.it".to_owned()), mobile: None },
        declarations: Declarations::default(),
        figures: Default::default(),
        filed_by: None,
    };
    let draft = Draft { scheme: "art27".to_owned(), idempotency_key: IdempotencyKey::parse("k").unwrap(), details };
    let Submission::Created(application) = submit(store, &decrees, &citizen(mario), draft, t(1)).await.unwrap() else {
        panic!("recorded")
    };
    decide::viewed(store, &decrees, &citizen(mario), t(2)).await.unwrap();

    let clerk = officer(store, &hasher, "clerk", OfficerRole::Officer, "10.0.0.1").await;
    let dpo = officer(store, &hasher, "dpo", OfficerRole::DataProtectionOfficer, "10.0.0.2").await;
    let auditor = officer(store, &hasher, "auditor", OfficerRole::Auditor, "10.0.0.3").await;

    // The clerk opens Mario's case twice (by codice fiscale and by protocol) and Anna's once, each with a reason.
    let reason = |text: &str| Reason::parse(text).unwrap();
    let by_cf = CaseKey::Person(mario);
    let case = cases::open(store, &decrees, &clerk, &by_cf, &reason("reclamo n. 17 del 2 aprile"), t(10)).await;
    let case = case.unwrap();
    assert_eq!(case.applications.len(), 1);
    assert!(!case.applications[0].reasons.is_empty(), "the decision trace: every reason with its article");
    assert!(case.applications[0].reasons.iter().all(|r| !r.article.is_empty()));
    let by_protocol = CaseKey::Protocol(application.protocol.clone());
    let case = cases::open(store, &decrees, &clerk, &by_protocol, &reason("telefonata del cittadino"), t(11)).await;
    assert_eq!(case.unwrap().subject, mario, "a protocol number opens its owner's case");
    cases::open(store, &decrees, &clerk, &CaseKey::Person(anna), &reason("verifica a campione"), t(12)).await.unwrap();

    // An auditor may not open a case, and its attempt reads and records nothing.
    let refused = cases::open(store, &decrees, &auditor, &by_cf, &reason("solo per curiosità"), t(13)).await;
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::Forbidden);
    let refused = gdpr::subject_access(store, &clerk, mario, &reason("non è il mio compito"), t(13)).await;
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::Forbidden, "a clerk answers no subject access");

    // Subject access: every view of Mario's data by an officer is there, with who, when, why and from where.
    let report = gdpr::subject_access(store, &dpo, mario, &reason("richiesta art. 15 prot. 99"), t(20)).await.unwrap();
    assert_eq!(report.applications.len(), 1);
    let by_officers: Vec<&Access> = report.accesses.iter().filter(|a| a.actor.starts_with("officer:")).collect();
    /// Who, when, why, from where, what.
    type Seen<'a> = (String, DateTime<Utc>, Option<&'a str>, Option<&'a str>, &'a str);
    let seen: Vec<Seen<'_>> = by_officers
        .iter()
        .map(|a| (a.actor.clone(), a.at, a.reason.as_deref(), a.from.as_deref(), a.action.as_str()))
        .collect();
    let clerk_actor = format!("officer:{}:officer", clerk.id);
    let dpo_actor = format!("officer:{}:dpo", dpo.id);
    assert_eq!(
        seen,
        vec![
            (clerk_actor.clone(), t(10), Some("reclamo n. 17 del 2 aprile"), Some("10.0.0.1"), "office_view_case"),
            (clerk_actor.clone(), t(11), Some("telefonata del cittadino"), Some("10.0.0.1"), "office_view_case"),
            (dpo_actor, t(20), Some("richiesta art. 15 prot. 99"), Some("10.0.0.2"), "office_subject_access"),
        ]
    );
    assert!(report.accesses.iter().all(|a| a.subject == mario), "only Mario's rows");
    assert!(report.accesses.iter().any(|a| a.action == "view_decision" && a.actor == format!("citizen:{mario}")));
    assert_eq!(report.accesses.last().map(|a| a.at), Some(t(20)), "the report lists its own access last");

    // Breach assessment: the window's accesses are exactly the trail's, and the counts add up.
    let trail: Vec<Access> = store.audit_between(t(2), t(12)).await.unwrap().into_iter().map(Access::from).collect();
    let breach = gdpr::breach(store, &auditor, t(2), t(12)).await.unwrap();
    assert_eq!(breach.accesses, trail);
    let actions: Vec<(&str, DateTime<Utc>)> = breach.accesses.iter().map(|a| (a.action.as_str(), a.at)).collect();
    assert_eq!(actions, [("view_decision", t(2)), ("office_view_case", t(10)), ("office_view_case", t(11))]);
    assert_eq!((breach.summary.accesses, breach.summary.subjects, breach.summary.actors), (3, 1, 2));
    assert_eq!((breach.summary.addresses, breach.summary.by_others), (2, 2));
    let csv = gdpr::to_csv(&breach).unwrap();
    assert_eq!(csv.lines().count(), 4, "a header and one line per access:\n{csv}");
    assert!(csv.lines().nth(2).unwrap().contains("reclamo n. 17 del 2 aprile"));
    let whole = gdpr::breach(store, &dpo, t(0), t(30)).await.unwrap();
    assert_eq!(whole.summary.subjects, 2, "Mario and Anna");
    assert_eq!(gdpr::breach(store, &clerk, t(0), t(30)).await.unwrap_err().kind(), ErrorKind::Forbidden);
    assert_eq!(gdpr::breach(store, &dpo, t(30), t(0)).await.unwrap_err().kind(), ErrorKind::Input);
}

async fn logins_lock_and_sessions_end(store: &dyn Store) {
    let hasher = cheap_hasher();
    let short = NewAccount {
        username: "mrossi",
        display_name: "M. Rossi",
        role: OfficerRole::Officer,
        password: "corta",
        codice_fiscale: None,
    };
    assert_eq!(accounts::add(store, &hasher, short, t(0)).await.unwrap_err().kind(), ErrorKind::Input);
    let bad_name = NewAccount {
        username: "M Rossi",
        display_name: "M",
        role: OfficerRole::Officer,
        password: PASSWORD,
        codice_fiscale: None,
    };
    assert_eq!(accounts::add(store, &hasher, bad_name, t(0)).await.unwrap_err().kind(), ErrorKind::Input);
    assert!(store.officers().await.unwrap().is_empty(), "nothing stored on a refusal");
    let new = NewAccount {
        username: "mrossi",
        display_name: "M. Rossi",
        role: OfficerRole::Officer,
        password: PASSWORD,
        codice_fiscale: None,
    };
    let account = accounts::add(store, &hasher, new, t(0)).await.unwrap();
    assert!(!account.password_hash.contains(PASSWORD) && account.password_hash.starts_with("$argon2id$"));
    let again = NewAccount {
        username: "mrossi",
        display_name: "X",
        role: OfficerRole::Auditor,
        password: PASSWORD,
        codice_fiscale: None,
    };
    assert_eq!(accounts::add(store, &hasher, again, t(0)).await.unwrap_err().kind(), ErrorKind::Input);

    let try_as = |name: &'static str, password: &'static str, at| {
        let hasher = hasher.clone();
        async move { login::log_in(store, &hasher, name, password, None, None, at).await.unwrap() }
    };
    assert_eq!(try_as("nessuno", PASSWORD, t(1)).await.unwrap_err(), Refused::Invalid, "unknown names look alike");
    for n in 1..5 {
        assert_eq!(try_as("mrossi", "sbagliata!!!!", t(n)).await.unwrap_err(), Refused::Invalid);
    }
    let locked = try_as("mrossi", "sbagliata!!!!", t(5)).await.unwrap_err();
    assert!(matches!(locked, Refused::Locked(until) if until == t(20)), "{locked:?}");
    assert!(matches!(try_as("mrossi", PASSWORD, t(6)).await, Err(Refused::Locked(_))), "even the right password");
    let logged = try_as("mrossi", PASSWORD, t(21)).await.expect("after the lock");

    let id = logged.id.expose().to_owned();
    assert!(matches!(login::resume(store, &id, None, t(30)).await.unwrap(), login::Resumed::Live(_)));
    assert!(store.session(&logged.id.hash()).await.unwrap().is_none(), "not a citizen's session");
    assert!(matches!(login::resume(store, &id, None, t(46)).await.unwrap(), login::Resumed::Closed), "idle 16 min");
    let logged = try_as("mrossi", PASSWORD, t(50)).await.unwrap();
    login::log_out(store, logged.id.expose()).await.unwrap();
    assert!(matches!(login::resume(store, logged.id.expose(), None, t(51)).await.unwrap(), login::Resumed::Closed));
}

async fn reviews_need_a_motivation_and_four_eyes_to_override_the_law(store: &dyn Store) {
    let hasher = cheap_hasher();
    let decrees = Decrees::embedded();
    let mario = CodiceFiscale::parse("RSSMRA80A01H501U").unwrap();
    let details = Details {
        payment: Payment::Iban { iban: sportello_domain::Iban::parse("IT60X0542811101000000123456").unwrap() },
        contact: Contacts {
            email: Some("mario.rossi@example.it".to_owned()),
            mobile: Some("+393331234567".to_owned()),
        },
        declarations: Declarations::default(),
        figures: Default::default(),
        filed_by: None,
    };
    let draft = Draft { scheme: "art27".to_owned(), idempotency_key: IdempotencyKey::parse("k").unwrap(), details };
    let Submission::Created(application) = submit(store, &decrees, &citizen(mario), draft, t(1)).await.unwrap() else {
        panic!("recorded")
    };
    assert_eq!(application.status, ApplicationStatus::Rejected, "not in the registry");
    let first = officer(store, &hasher, "first", OfficerRole::Supervisor, "10.0.0.5").await;
    let second = officer(store, &hasher, "second", OfficerRole::Supervisor, "10.0.0.6").await;
    let clerk = officer(store, &hasher, "clerk", OfficerRole::Officer, "10.0.0.7").await;
    let motivation = "Il contratto di lavoro prodotto dalla persona prova il rapporto attivo al 17 marzo 2020.";
    let proposal = |entitled: bool, seen: ApplicationStatus, motivation: &str| Proposal {
        protocol: application.protocol.clone(),
        seen_status: seen,
        entitled,
        motivation: motivation.to_owned(),
    };
    let told = |at| async move {
        let claimed = store.claim_outbox(at, 100, std::time::Duration::from_secs(60)).await.unwrap();
        for entry in &claimed {
            store.outbox_delivered(entry.id, at).await.unwrap();
        }
        claimed.into_iter().filter(|e| e.message.subject.starts_with("Riesame")).map(|e| e.message).collect::<Vec<_>>()
    };

    let refused =
        review::propose(store, &decrees, &clerk, proposal(true, ApplicationStatus::Rejected, motivation), t(2));
    assert_eq!(refused.await.unwrap_err().kind(), ErrorKind::Forbidden, "a clerk does not review");
    let short =
        review::propose(store, &decrees, &first, proposal(true, ApplicationStatus::Rejected, "perché sì"), t(2));
    assert_eq!(short.await.unwrap_err().kind(), ErrorKind::Input, "a motivation of a few words is refused");
    let stale = review::propose(store, &decrees, &first, proposal(true, ApplicationStatus::Accepted, motivation), t(2));
    assert_eq!(stale.await.unwrap_err().kind(), ErrorKind::Conflict, "the status seen is no longer the status");

    // Overriding the law (it finds nobody in the registry) waits for a second supervisor; nothing moves meanwhile.
    let waiting =
        review::propose(store, &decrees, &first, proposal(true, ApplicationStatus::Rejected, motivation), t(3));
    let waiting = waiting.await.unwrap();
    assert!(waiting.pending() && waiting.overrides_law);
    assert_eq!(
        store.application_by_protocol(&application.protocol).await.unwrap().unwrap().status,
        ApplicationStatus::Rejected
    );
    assert!(told(t(3)).await.is_empty(), "nobody is told of a decision not yet taken");
    let again =
        review::propose(store, &decrees, &second, proposal(false, ApplicationStatus::Rejected, motivation), t(3));
    assert_eq!(again.await.unwrap_err().kind(), ErrorKind::Conflict, "one review waits at a time");
    let own = review::confirm(store, &first, waiting.id, t(4)).await.unwrap_err();
    assert_eq!(own.kind(), ErrorKind::Conflict, "the proposer is not the second pair of eyes: {own}");
    assert_eq!(review::confirm(store, &clerk, waiting.id, t(4)).await.unwrap_err().kind(), ErrorKind::Forbidden);

    let applied = review::confirm(store, &second, waiting.id, t(5)).await.unwrap();
    assert_eq!(applied.to_status, Some(ApplicationStatus::Accepted));
    assert_eq!(applied.confirmed_by, Some(format!("officer:{}:supervisor", second.id)));
    let now = store.application_by_protocol(&application.protocol).await.unwrap().unwrap();
    assert_eq!(now.status, ApplicationStatus::Accepted);
    let messages = told(t(5)).await;
    let recipients: Vec<&str> = messages.iter().map(|m| m.recipient.as_str()).collect();
    assert_eq!(recipients, ["mario.rossi@example.it", "+393331234567"], "the person is told, by e-mail and SMS");
    assert!(messages[0].body.contains(motivation) && messages[0].body.contains("Le spetta"));

    // Agreeing with the law (not entitled) is applied at once, and told.
    let back = "Il contratto prodotto risulta falso: la verifica presso il datore di lavoro lo ha escluso.";
    let applied = review::propose(store, &decrees, &first, proposal(false, ApplicationStatus::Accepted, back), t(6));
    let applied = applied.await.unwrap();
    assert!(!applied.pending() && !applied.overrides_law);
    assert_eq!(applied.to_status, Some(ApplicationStatus::Rejected));
    assert_eq!(told(t(6)).await.len(), 2);
    let trail = store.audit_trail_of(&mario).await.unwrap();
    let actions: Vec<&str> = trail.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        ["submit_application", "office_review_proposed", "office_review_confirmed", "office_review_proposed"]
    );
    assert_eq!(store.reviews_of(&mario).await.unwrap().len(), 2);
}

async fn on_sqlite(name: &str) -> Box<dyn Store> {
    let dir = std::env::temp_dir().join(format!("sportello-usecases-office-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    sportello_store::open(&format!("sqlite://{}", dir.join("office.db").display())).await.unwrap()
}

#[tokio::test]
async fn the_back_office_on_sqlite() {
    the_back_office(on_sqlite("flow").await.as_ref()).await;
}

#[tokio::test]
async fn the_back_office_on_postgres() {
    let Some(db) = TestDatabase::create().await else { return };
    the_back_office(sportello_store::open(&db.url).await.unwrap().as_ref()).await;
    db.drop_database().await;
}

#[tokio::test]
async fn officer_logins_on_sqlite() {
    logins_lock_and_sessions_end(on_sqlite("logins").await.as_ref()).await;
}

#[tokio::test]
async fn officer_logins_on_postgres() {
    let Some(db) = TestDatabase::create().await else { return };
    logins_lock_and_sessions_end(sportello_store::open(&db.url).await.unwrap().as_ref()).await;
    db.drop_database().await;
}

#[tokio::test]
async fn reviews_on_sqlite() {
    reviews_need_a_motivation_and_four_eyes_to_override_the_law(on_sqlite("reviews").await.as_ref()).await;
}

#[tokio::test]
async fn reviews_on_postgres() {
    let Some(db) = TestDatabase::create().await else { return };
    reviews_need_a_motivation_and_four_eyes_to_override_the_law(sportello_store::open(&db.url).await.unwrap().as_ref())
        .await;
    db.drop_database().await;
}
