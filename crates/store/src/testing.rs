//! Fresh databases for tests of this crate and of the crates built on it (feature `testing`).
//!
//! PostgreSQL tests each get a database of their own, created through the server named by
//! `SPORTELLO_TEST_POSTGRES_URL`, else `DATABASE_URL` when it is a PostgreSQL URL, else the local server
//! (`postgres://postgres@127.0.0.1:5432/postgres`). When no server answers, a test skips saying so; under `CI=true`
//! it fails instead, so that CI never passes by skipping.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};

use crate::redact;

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    if let Ok(url) = std::env::var("SPORTELLO_TEST_POSTGRES_URL") {
        return url;
    }
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => url,
        _ => "postgres://postgres@127.0.0.1:5432/postgres".to_owned(),
    }
}

/// A PostgreSQL database made for one test; [`TestDatabase::drop_database`] removes it.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL that opens it.
    pub url: String,
    name: String,
    admin: PgConnection,
}

impl TestDatabase {
    /// Creates a new, empty database, or returns `None` (having printed why) when no server answers outside CI.
    ///
    /// # Panics
    /// When no server answers and `CI` is `true`, or when the server refuses to create the database.
    pub async fn create() -> Option<Self> {
        let admin_url = postgres_admin_url();
        let connected = tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&admin_url)).await;
        let mut admin = match connected {
            Ok(Ok(conn)) => conn,
            failure => {
                let why = match failure {
                    Ok(Err(e)) => e.to_string(),
                    _ => "no answer within 5 s".to_owned(),
                };
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!("PostgreSQL not reachable at {} under CI: {why}", redact(&admin_url));
                }
                eprintln!("skipped: PostgreSQL not reachable at {} ({why})", redact(&admin_url));
                return None;
            }
        };
        let name = unique_name();
        if let Err(e) = admin.execute(AssertSqlSafe(format!("CREATE DATABASE {name}"))).await {
            panic!("cannot create the test database {name} on {}: {e}", redact(&admin_url));
        }
        let mut url = match url::Url::parse(&admin_url) {
            Ok(url) => url,
            Err(e) => panic!("the PostgreSQL test URL {} is not a URL: {e}", redact(&admin_url)),
        };
        url.set_path(&format!("/{name}"));
        Some(Self { url: url.to_string(), name, admin })
    }

    /// Drops the database, ending any connection a failed test left behind (best effort: failures are printed).
    pub async fn drop_database(mut self) {
        let dropped = self.admin.execute(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)));
        if let Err(e) = dropped.await {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
        let _ = self.admin.close().await;
    }
}

fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!(
        "sportello_test_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
