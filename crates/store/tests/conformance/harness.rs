//! Fresh databases for each test, and the data the tests share.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use futures::FutureExt;
use sportello_domain::registry::{Position, RegistryRow};
use sportello_domain::{CodiceFiscale, Date};
use sportello_store::postgres::PgStore;
use sportello_store::prelude::*;
use sportello_store::sqlite::SqliteStore;
use sportello_store::testing::TestDatabase;
use sportello_store::{ApplicationStatus, CommitCount, NewApplication, RegistrySummary, Store};
use sqlx::{Connection, Executor};

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A fresh store and the URL that opens it again.
pub struct Backend {
    pub kind: Kind,
    pub url: String,
    pub store: Arc<dyn Store>,
    /// How many transactions have carried submissions, where the backend groups them.
    pub commits: Option<CommitCount>,
}

impl Backend {
    /// Runs SQL straight on the database, around the store (to plant bad data).
    pub async fn execute_raw(&self, sql: &'static str) {
        match self.kind {
            Kind::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                conn.execute(sql).await.unwrap();
                conn.close().await.unwrap();
            }
            Kind::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                conn.execute(sql).await.unwrap();
                conn.close().await.unwrap();
            }
        }
    }
}

/// A connection of its own to a backend's database, around the store.
pub enum Raw {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Raw {
    /// Opens one.
    pub async fn connect(backend: &Backend) -> Self {
        match backend.kind {
            Kind::Sqlite => Self::Sqlite(sqlx::SqliteConnection::connect(&backend.url).await.unwrap()),
            Kind::Postgres => Self::Postgres(sqlx::PgConnection::connect(&backend.url).await.unwrap()),
        }
    }

    /// Runs statements (several, separated by semicolons, are fine).
    pub async fn execute(&mut self, sql: &'static str) {
        match self {
            Self::Sqlite(conn) => conn.execute(sql).await.map(drop).unwrap(),
            Self::Postgres(conn) => conn.execute(sql).await.map(drop).unwrap(),
        }
    }

    /// The single integer a query answers.
    pub async fn number(&mut self, sql: String) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql);
        match self {
            Self::Sqlite(conn) => sqlx::query_scalar(sql).fetch_one(conn).await.unwrap(),
            Self::Postgres(conn) => sqlx::query_scalar(sql).fetch_one(conn).await.unwrap(),
        }
    }

    /// Takes the lock every submission's transaction needs, so that the store's writer waits for [`Raw::unlock`].
    pub async fn lock_out_writers(&mut self) {
        match self {
            Self::Sqlite(_) => self.execute("BEGIN IMMEDIATE").await,
            Self::Postgres(_) => self.execute("BEGIN; LOCK TABLE applications IN ACCESS EXCLUSIVE MODE").await,
        }
    }

    /// Gives back the lock of [`Raw::lock_out_writers`].
    pub async fn unlock(&mut self) {
        self.execute("COMMIT").await;
    }
}

/// Runs `test` on a new SQLite file in a temporary folder, in a subfolder that does not exist yet.
pub async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/data/sportello.db", dir.path().display());
    let sqlite = SqliteStore::connect(&url).await.unwrap();
    sqlite.migrate().await.unwrap();
    let commits = Some(sqlite.submission_commits());
    test(Backend { kind: Kind::Sqlite, url, store: Arc::new(sqlite), commits }).await;
    drop(dir);
}

/// Runs `test` on a PostgreSQL database created for it and dropped afterwards (best effort).
pub async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(database) = TestDatabase::create().await else { return };
    let url = database.url.clone();
    let outcome = AssertUnwindSafe(async {
        let postgres = PgStore::connect(&url).await.unwrap();
        postgres.migrate().await.unwrap();
        let commits = Some(postgres.submission_commits());
        test(Backend { kind: Kind::Postgres, url: url.clone(), store: Arc::new(postgres), commits }).await;
    })
    .catch_unwind()
    .await;
    database.drop_database().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

// ----- data -----

/// The `n`-th test person: a distinct, valid codice fiscale (six letters from `n`, born 01/01/1980 in Rome).
pub fn person(n: u32) -> CodiceFiscale {
    CodiceFiscale::with_check_character(&format!("{}80A01H501", letters(n))).unwrap()
}

/// The `n`-th test person's omocodic twin: same letters, but digits of the code replaced by letters.
pub fn omocodic(n: u32) -> CodiceFiscale {
    // 80A01H501 with its last two digits written as their omocodia letters (0 -> L, 1 -> M).
    let cf = CodiceFiscale::with_check_character(&format!("{}80A01H5LM", letters(n))).unwrap();
    assert_eq!(cf.omocodia_level(), 2);
    cf
}

fn letters(mut n: u32) -> String {
    let mut out = [b'A'; 6];
    for slot in out.iter_mut().rev() {
        *slot = b'A' + (n % 26) as u8;
        n /= 26;
    }
    String::from_utf8(out.to_vec()).unwrap()
}

pub fn date(y: i32, m: u32, d: u32) -> Date {
    Date::from_ymd_opt(y, m, d).unwrap()
}

pub fn row(codice_fiscale: CodiceFiscale, position: Position) -> RegistryRow {
    RegistryRow { codice_fiscale, position }
}

/// A plain open-ended period row.
pub fn employed(codice_fiscale: CodiceFiscale) -> RegistryRow {
    row(
        codice_fiscale,
        Position::period(sportello_domain::registry::PositionKind::LavoroDipendente, date(2010, 1, 1), None),
    )
}

/// Replaces the registry with `rows`, written in batches of `batch`.
pub async fn import(store: &dyn Store, rows: &[RegistryRow], batch: usize) -> RegistrySummary {
    let mut import = store.begin_registry_import().await.unwrap();
    for chunk in rows.chunks(batch.max(1)) {
        import.write(chunk).await.unwrap();
    }
    import.commit().await.unwrap()
}

/// A moment on 1 April 2020 plus `seconds`.
pub fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 4, 1, 8, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}

/// The cumulation group of DL 18/2020's five March schemes (art. 31: one indemnity among them).
pub const MARCH: &str = "dl18-2020-marzo";

/// The cumulation group of DL 34/2020 art. 84's April indemnity, which a March beneficiary may also have.
pub const APRIL: &str = "dl34-2020-aprile";

/// An application of `codice_fiscale` for art. 27 (group [`MARCH`]) with `key`, accepted unless said otherwise.
pub fn application(codice_fiscale: CodiceFiscale, key: &str, status: ApplicationStatus) -> NewApplication {
    NewApplication {
        codice_fiscale,
        scheme: "art27".to_owned(),
        cumulation_group: MARCH.to_owned(),
        protocol_prefix: "INPS-COVID-".to_owned(),
        idempotency_key: sportello_domain::IdempotencyKey::parse(key).unwrap(),
        status,
        reasons: vec![sportello_domain::law::Reason {
            code: if status == ApplicationStatus::Accepted { "art27.active" } else { "art27.not_active" }.to_owned(),
            article: "art. 27 c. 1".to_owned(),
            it: "Rapporto attivo alla data di riferimento.".to_owned(),
            en: "An active position on the reference date.".to_owned(),
        }],
        details: serde_json::json!({ "iban": "IT60X0542811101000000123456", "email": "mario@example.it" }),
        submitted_at: at(0),
        hold: None,
    }
}

/// A spending limit for `scheme` of `fits` applications of `euros` each.
pub fn budget(scheme: &str, euros: i64, fits: i64) -> sportello_store::BudgetSeed {
    sportello_store::BudgetSeed {
        scheme: scheme.to_owned(),
        amount: sportello_domain::Cents::from_euros(euros),
        limit: sportello_domain::Cents::from_euros(euros * fits),
        legal_ref: "art. 27 c. 2".to_owned(),
    }
}
