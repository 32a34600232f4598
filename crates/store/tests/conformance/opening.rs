//! Opening stores: URLs, migrations, and what survives closing one. The first two tests run on every backend; the
//! others are about URLs or about SQLite alone.

use sportello_store::{ApplicationStatus, StoreError, Submission, open, open_existing, redact};

use crate::harness::{Backend, application, employed, import, on_sqlite, person};

pub async fn migrations_are_idempotent(backend: Backend) {
    // The harness opened (and migrated) once; migrating again and opening again must change nothing.
    backend.store.migrate().await.unwrap();
    import(backend.store.as_ref(), &[employed(person(1))], 10).await;
    let again = open(&backend.url).await.unwrap();
    again.migrate().await.unwrap();
    assert_eq!(again.registry_summary().await.unwrap().positions, 1);
    assert_eq!(again.positions(&person(1)).await.unwrap().len(), 1);
}

pub async fn data_survives_reopening(backend: Backend) {
    let Backend { url, store, .. } = backend;
    import(store.as_ref(), &[employed(person(1)), employed(person(2))], 10).await;
    let Submission::Created(created) =
        store.submit(application(person(1), "k1", ApplicationStatus::Accepted)).await.unwrap()
    else {
        panic!("expected a new application");
    };
    drop(store);

    let reopened = open(&url).await.unwrap();
    assert_eq!(reopened.application(&person(1), &created.protocol).await.unwrap(), Some(created));
    assert_eq!(reopened.registry_summary().await.unwrap().persons, 2);
    assert_eq!(reopened.positions(&person(2)).await.unwrap(), vec![employed(person(2)).position]);
}

pub async fn a_read_only_open_needs_an_up_to_date_database(backend: Backend) {
    import(backend.store.as_ref(), &[employed(person(1))], 10).await;
    let reader = open_existing(&backend.url).await.unwrap();
    assert_eq!(reader.positions(&person(1)).await.unwrap().len(), 1);
    assert_eq!(reader.pending_migrations().await.unwrap(), 0);
    drop(reader);
    // As if the database were left by an older version: the last migration not applied. A read-only open refuses
    // it, and applies nothing.
    backend
        .execute_raw("DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)")
        .await;
    let refused = open_existing(&backend.url).await.err().expect("an outdated database is refused");
    assert!(matches!(refused, StoreError::Outdated { pending: 1, .. }), "{refused:?}");
    assert!(refused.to_string().contains("migrates nothing"), "{refused}");
    assert_eq!(backend.store.pending_migrations().await.unwrap(), 1, "still not applied");
}

#[tokio::test]
async fn a_read_only_open_creates_no_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("sportello.db");
    let url = format!("sqlite://{}", path.display());
    let err = open_existing(&url).await.err().expect("a missing file is refused");
    assert!(matches!(err, StoreError::Missing(_)), "{err:?}");
    assert!(err.to_string().contains("creates none"), "{err}");
    assert!(!path.exists() && !path.parent().unwrap().exists(), "neither the file nor its folder is created");
    // An empty file is no Sportello database: every migration is missing.
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"").unwrap();
    let err = open_existing(&url).await.err().expect("an empty file is refused");
    assert!(matches!(err, StoreError::Outdated { pending, .. } if pending > 5), "{err:?}");
}

#[tokio::test]
async fn an_unknown_scheme_is_unsupported_and_its_password_hidden() {
    let err = open("mysql://app:hunter2@localhost/sportello").await.err().expect("mysql must be refused");
    assert!(matches!(err, StoreError::UnsupportedUrl(_)), "{err:?}");
    let text = err.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("mysql://app:***@localhost/sportello"), "{text}");
}

#[tokio::test]
async fn a_connection_error_hides_the_password() {
    // Nothing listens on port 1: the connection is refused at once.
    let err = open("postgres://app:hunter2@127.0.0.1:1/sportello").await.err().expect("port 1 must refuse");
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    let text = err.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("127.0.0.1:1"), "{text}");
}

#[test]
fn redact_hides_passwords_only() {
    assert_eq!(redact("postgres://app:s3cret@db:5432/sportello"), "postgres://app:***@db:5432/sportello");
    assert_eq!(redact("postgres://app@db/sportello"), "postgres://app@db/sportello");
    assert_eq!(redact("sqlite://sportello-data/sportello.db"), "sqlite://sportello-data/sportello.db");
    assert!(!redact("postgresql://u:p%40ss@h/d").contains("p%40ss"));
}

#[tokio::test]
async fn an_in_memory_sqlite_database_is_refused() {
    let err = open("sqlite::memory:").await.err().expect("in-memory must be refused");
    assert!(matches!(err, StoreError::UnsupportedUrl(_)), "{err:?}");
}

#[tokio::test]
async fn sqlite_creates_its_folder_and_file_in_wal_mode() {
    on_sqlite(|backend: Backend| async move {
        let path = backend.url.trim_start_matches("sqlite://").to_owned();
        assert!(std::path::Path::new(&path).is_file(), "{path} should exist");
        // journal_mode is stored in the file: any connection reports it.
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&backend.url).await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut conn).await.unwrap();
        assert_eq!(mode, "wal");
        conn.close().await.unwrap();
    })
    .await;
}
