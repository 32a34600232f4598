//! The raw insert rate of a database at the store's durability: the limit the portal's submission rate is compared
//! with in `bench/parts/submissions`.
//!
//! It does only what the group commit's writer cannot avoid: one writer, transactions of up to 512 rows (the most a
//! group commit carries), each row the shape and size of an application, into a table with the applications
//! table's columns, constraints and indexes. A batch counts once its commit has returned, as a submission is
//! acknowledged only then. SQLite runs with the store's pragmas (WAL, `synchronous = FULL`); PostgreSQL with the
//! server's settings, as the store does (it changes no `synchronous_commit`). No reads, no decisions, no HTTP.
//!
//! ```text
//! cargo run --release -p sportello-store --example raw_inserts -- sqlite:///tmp/raw.db 10
//! cargo run --release -p sportello-store --example raw_inserts -- postgres://postgres@127.0.0.1/raw 10
//! ```
//! Prints one JSON line: rows, seconds, rows per second, bytes per row, batch size and the durability settings.

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, Executor};

/// As `GroupCommit::default().max_batch`.
const BATCH: usize = 512;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(seconds)) = (args.next(), args.next()) else {
        eprintln!(
            "usage: raw_inserts DATABASE_URL SECONDS (sqlite://FILE or postgres://…; the table raw_applications is replaced)"
        );
        std::process::exit(2);
    };
    let Some(seconds) = seconds.parse::<f64>().ok().filter(|s| s.is_finite() && *s > 0.0) else {
        eprintln!("raw_inserts: SECONDS '{seconds}' is not a positive number");
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let duration = Duration::from_secs_f64(seconds);
    let result = if url.starts_with("sqlite:") {
        runtime.block_on(sqlite(&url, duration))
    } else {
        runtime.block_on(postgres(&url, duration))
    };
    match result {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("raw_inserts on {}: {e}", sportello_store::redact(&url));
            std::process::exit(1);
        }
    }
}

/// One row as the portal stores an accepted application: a protocol number, the person, the scheme, a 36-character
/// idempotency key, the decision's reasons (three, in two languages) and the payment and contact details.
struct Row {
    id: i64,
    protocol: String,
    codice_fiscale: String,
    scheme: &'static str,
    key: String,
    reasons: String,
    details: String,
    at: String,
}

fn row(n: i64) -> Row {
    let reason = |code: &str, article: &str| {
        serde_json::json!({
            "code": code,
            "article": article,
            "it": "Alla data di riferimento risultava un rapporto attivo della gestione prevista dalla norma.",
            "en": "On the reference date there was an active position in the scheme the article names.",
        })
    };
    let reasons = serde_json::json!([
        reason("art28.self_employed_registered", "art. 28 c. 1"),
        reason("art28.not_pension_holder", "art. 31 c. 1"),
        reason("art28.not_other_scheme", "art. 31 c. 1"),
    ]);
    let details = serde_json::json!({
        "payment": {"method": "iban", "iban": "IT60X0542811101000000123456"},
        "contact": {"email": format!("cittadino{n}@example.it"), "mobile": null},
    });
    Row {
        id: n,
        protocol: format!("INPS-COVID-2020-{n:09}"),
        // A distinct person per row, shaped like a codice fiscale (the check character does not matter here).
        codice_fiscale: format!("RSSMRA80A01{:05}", n % 100_000) + &format!("{:0>5}", n / 100_000),
        scheme: "art28",
        key: format!("{:08x}-0000-4000-8000-{n:012x}", n),
        reasons: reasons.to_string(),
        details: details.to_string(),
        at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
    }
}

fn bytes(r: &Row) -> usize {
    r.protocol.len()
        + r.codice_fiscale.len()
        + r.scheme.len()
        + r.key.len()
        + 8
        + r.reasons.len()
        + r.details.len()
        + 2 * r.at.len()
}

async fn sqlite(url: &str, duration: Duration) -> Result<String, sqlx::Error> {
    // The store's own pragmas (crates/store/src/sqlite.rs).
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .pragma("journal_size_limit", "67108864");
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    conn.execute(
        "DROP TABLE IF EXISTS raw_applications;
         CREATE TABLE raw_applications (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             protocol TEXT UNIQUE,
             codice_fiscale TEXT NOT NULL,
             scheme TEXT NOT NULL,
             idempotency_key TEXT NOT NULL,
             status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected', 'suspended_budget')),
             reasons TEXT NOT NULL CHECK (json_valid(reasons)),
             details TEXT NOT NULL CHECK (json_valid(details)),
             submitted_at TEXT NOT NULL,
             updated_at TEXT NOT NULL,
             UNIQUE (codice_fiscale, idempotency_key)
         ) STRICT;
         CREATE UNIQUE INDEX raw_one_per_person ON raw_applications (codice_fiscale) WHERE status <> 'rejected';
         CREATE INDEX raw_suspended ON raw_applications (scheme, submitted_at, id) WHERE status = 'suspended_budget';",
    )
    .await?;
    let values = vec!["(?, ?, ?, ?, ?, 'accepted', ?, ?, ?, ?)"; BATCH].join(", ");
    let insert = format!(
        "INSERT INTO raw_applications
             (id, protocol, codice_fiscale, scheme, idempotency_key, status, reasons, details, submitted_at, updated_at)
         VALUES {values}"
    );
    let mut next = 1i64;
    let mut row_bytes = 0usize;
    let started = Instant::now();
    while started.elapsed() < duration {
        let rows: Vec<Row> = (next..next + BATCH as i64).map(row).collect();
        row_bytes = bytes(&rows[0]);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(insert.as_str()));
        for r in &rows {
            query = query
                .bind(r.id)
                .bind(&r.protocol)
                .bind(&r.codice_fiscale)
                .bind(r.scheme)
                .bind(&r.key)
                .bind(&r.reasons)
                .bind(&r.details)
                .bind(&r.at)
                .bind(&r.at);
        }
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        query.execute(&mut *tx).await?;
        tx.commit().await?;
        next += BATCH as i64;
    }
    let seconds = started.elapsed().as_secs_f64();
    let rows = next - 1;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM raw_applications").fetch_one(&mut conn).await?;
    assert_eq!(count, rows, "every committed row is in the table");
    conn.execute("DROP TABLE raw_applications").await?;
    Ok(format!(
        "{{\"rows\":{rows},\"seconds\":{seconds:.3},\"per_second\":{:.1},\"row_bytes\":{row_bytes},\"batch\":{BATCH},\
         \"durability\":\"journal_mode=WAL synchronous=FULL\"}}",
        rows as f64 / seconds
    ))
}

async fn postgres(url: &str, duration: Duration) -> Result<String, sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let synchronous_commit: String = sqlx::query_scalar("SHOW synchronous_commit").fetch_one(&mut conn).await?;
    let fsync: String = sqlx::query_scalar("SHOW fsync").fetch_one(&mut conn).await?;
    conn.execute(
        "DROP TABLE IF EXISTS raw_applications;
         CREATE TABLE raw_applications (
             id bigint PRIMARY KEY,
             protocol text UNIQUE,
             codice_fiscale text COLLATE \"C\" NOT NULL,
             scheme text NOT NULL,
             idempotency_key text NOT NULL,
             status text NOT NULL CHECK (status IN ('accepted', 'rejected', 'suspended_budget')),
             reasons jsonb NOT NULL,
             details jsonb NOT NULL,
             submitted_at timestamptz NOT NULL,
             updated_at timestamptz NOT NULL,
             UNIQUE (codice_fiscale, idempotency_key)
         );
         CREATE UNIQUE INDEX raw_one_per_person ON raw_applications (codice_fiscale) WHERE status <> 'rejected';
         CREATE INDEX raw_suspended ON raw_applications (scheme, submitted_at, id) WHERE status = 'suspended_budget';",
    )
    .await?;
    let mut next = 1i64;
    let mut row_bytes = 0usize;
    let started = Instant::now();
    while started.elapsed() < duration {
        let rows: Vec<Row> = (next..next + BATCH as i64).map(row).collect();
        row_bytes = bytes(&rows[0]);
        let mut tx = conn.begin().await?;
        // Columns as arrays, as the store's batch insert sends them.
        sqlx::query(
            "INSERT INTO raw_applications
                 (id, protocol, codice_fiscale, scheme, idempotency_key, status, reasons, details, submitted_at,
                  updated_at)
             SELECT id, protocol, codice_fiscale, scheme, idempotency_key, 'accepted', reasons, details, at, at
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[],
                         $8::timestamptz[])
                 AS new (id, protocol, codice_fiscale, scheme, idempotency_key, reasons, details, at)",
        )
        .bind(rows.iter().map(|r| r.id).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.protocol.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.codice_fiscale.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.scheme).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.key.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.reasons.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.details.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|_| chrono::Utc::now()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        next += BATCH as i64;
    }
    let seconds = started.elapsed().as_secs_f64();
    let rows = next - 1;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM raw_applications").fetch_one(&mut conn).await?;
    assert_eq!(count, rows, "every committed row is in the table");
    conn.execute("DROP TABLE raw_applications").await?;
    Ok(format!(
        "{{\"rows\":{rows},\"seconds\":{seconds:.3},\"per_second\":{:.1},\"row_bytes\":{row_bytes},\"batch\":{BATCH},\
         \"durability\":\"synchronous_commit={synchronous_commit} fsync={fsync}\"}}",
        rows as f64 / seconds
    ))
}
