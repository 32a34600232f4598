//! `spawn_app()`: the real server on an ephemeral port, a fresh SQLite database holding a small registry, the
//! outbox worker delivering to a mailbox file in the temporary folder, a clock the test can move, stopped when the
//! test ends.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sportello_domain::CodiceFiscale;
use sportello_domain::law::Rulebook;
use sportello_domain::registry::{Position, PositionKind, RegistryRow};
use sportello_store::Store;
use sportello_web::auth::Auth;
use sportello_web::config::Config;
use sportello_web::notify::{FileNotifier, Message};
use sportello_web::pin::PinHasher;
use sportello_web::server::{AppState, launch_with};
use tokio::sync::oneshot;

/// A professional of the Gestione separata, active on 23 February 2020: entitled under art. 27 (first 15 characters).
pub const PROFESSIONISTA: &str = "RSSMRA80A01H501";
/// A pensioner: entitled to nothing.
pub const PENSIONATA: &str = "BNCNNA50A41F205";
/// A codice fiscale that is not in the registry.
pub const NOT_REGISTERED: &str = "VRDGPP70B02L219";

/// The codice fiscale starting with `first15`, completed with its check character.
pub fn cf(first15: &str) -> CodiceFiscale {
    CodiceFiscale::with_check_character(first15).unwrap()
}

/// The registry every test starts with.
fn registry() -> Vec<RegistryRow> {
    let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    vec![
        RegistryRow {
            codice_fiscale: cf(PROFESSIONISTA),
            position: Position::period(PositionKind::GestioneSeparataProfessionista, day(2015, 3, 1), None),
        },
        RegistryRow {
            codice_fiscale: cf(PENSIONATA),
            position: Position::period(PositionKind::Pensione, day(2012, 1, 1), None),
        },
    ]
}

/// A clock running with real time plus an offset the test can push forward.
#[derive(Clone, Default)]
pub struct TestClock(Arc<Mutex<TimeDelta>>);

impl TestClock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.0.lock().unwrap()
    }
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += TimeDelta::from_std(by).unwrap();
    }
}

/// A running portal.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub mailbox: PathBuf,
    pub clock: TestClock,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The messages delivered so far to `recipient`.
    pub fn delivered_to(&self, recipient: &str) -> Vec<Message> {
        FileNotifier::read_mailbox(&self.mailbox).unwrap().into_iter().filter(|m| m.recipient == recipient).collect()
    }

    /// Waits (up to 10 s) until `count` messages have reached `recipient`, and returns them.
    pub async fn wait_for_messages(&self, recipient: &str, count: usize) -> Vec<Message> {
        for _ in 0..200 {
            let messages = self.delivered_to(recipient);
            if messages.len() >= count {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("fewer than {count} messages reached {recipient}");
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Config::default()).await
}

pub async fn spawn_app_with(mut config: Config) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/sportello.db", dir.path().display());
    let store: Arc<dyn Store> = sportello_store::open(&url).await.unwrap().into();
    let mut import = store.begin_registry_import().await.unwrap();
    import.write(&registry()).await.unwrap();
    import.commit().await.unwrap();
    let mailbox = dir.path().join("mailbox.jsonl");
    config.notify.mailbox.get_or_insert_with(|| mailbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let clock = TestClock::default();
    // Cheap Argon2 parameters: the production ones are exercised by the bench.
    let hasher = PinHasher::with_params(argon2::Params::new(64, 1, 1, None).unwrap(), 4).unwrap();
    let auth = Auth::from_config(&config).unwrap().with_hasher(hasher).with_clock({
        let clock = clock.clone();
        move || clock.now()
    });
    let state = AppState { store: store.clone(), rulebook: Arc::new(Rulebook::dl18_2020()), config: Arc::new(config) };
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(launch_with(listener, state, auth, async {
        let _ = stopped.await;
    }));
    let client =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    TestApp { base, client, store, mailbox, clock, _stop: stop, _dir: dir }
}
