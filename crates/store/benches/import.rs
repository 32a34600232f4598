//! Measures the registry import rate of a store: synthetic rows (about 2.5 per person, persons interleaved as in a
//! real extract) written in batches of 8,192 like the CLI does, then committed.
//!
//! `cargo bench -p sportello-store --bench import` imports 5,000,000 rows into a SQLite file in a temporary folder.
//! `SPORTELLO_BENCH_ROWS` changes the count, `SPORTELLO_BENCH_ROUNDS` imports that many times in a row (the later
//! rounds replace a full registry), `SPORTELLO_BENCH_URL` names another database (its registry is replaced).

use std::time::{Duration, Instant};

use sportello_domain::registry::{Cessation, Position, PositionKind, RegistryRow};
use sportello_domain::{Cents, CodiceFiscale, Date};

const BATCH: usize = 8_192;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this without it, and then it does nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rows: usize = std::env::var("SPORTELLO_BENCH_ROWS").ok().and_then(|s| s.parse().ok()).unwrap_or(5_000_000);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let url = std::env::var("SPORTELLO_BENCH_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/sportello.db", dir.path().display()));
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    // Round 2 and later replace a registry of the same size, as a daily refresh does.
    let rounds: usize = std::env::var("SPORTELLO_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    runtime.block_on(run(&url, rows, rounds));
}

async fn run(url: &str, rows: usize, rounds: usize) {
    let store = sportello_store::open(url).await.expect("the store opens");
    let persons: Vec<CodiceFiscale> = (0..(rows * 2 / 5).max(1)).map(person).collect();
    for round in 1..=rounds {
        println!(
            "round {round}: importing {rows} rows of {} persons into {}",
            persons.len(),
            sportello_store::redact(url)
        );
        import(store.as_ref(), &persons, rows).await;
    }
}

async fn import(store: &dyn sportello_store::Store, persons: &[CodiceFiscale], rows: usize) {
    let mut in_store = Duration::ZERO;
    let started = Instant::now();
    let mut import = store.begin_registry_import().await.expect("import begins");
    let mut batch = Vec::with_capacity(BATCH);
    for n in 0..rows {
        batch.push(row(n, persons));
        if batch.len() == BATCH || n + 1 == rows {
            let t = Instant::now();
            import.write(&batch).await.expect("rows are written");
            in_store += t.elapsed();
            batch.clear();
        }
    }
    let t = Instant::now();
    let summary = import.commit().await.expect("the import commits");
    let commit = t.elapsed();
    in_store += commit;
    let total = started.elapsed();

    let rate = |d: Duration| rows as f64 / d.as_secs_f64();
    println!("{summary:?}");
    println!("commit (index, count, swap, fsync): {:.2} s", commit.as_secs_f64());
    println!("store time: {:.2} s = {:.0} rows/s", in_store.as_secs_f64(), rate(in_store));
    println!("wall time (with row generation): {:.2} s = {:.0} rows/s", total.as_secs_f64(), rate(total));
}

/// The `n`-th synthetic person: six letters from `n`, a birth date from `n`, born in Rome.
fn person(n: usize) -> CodiceFiscale {
    const MONTHS: &[u8; 12] = b"ABCDEHLMPRST";
    let mut letters = [b'A'; 6];
    let mut k = n;
    for slot in letters.iter_mut().rev() {
        *slot = b'A' + (k % 26) as u8;
        k /= 26;
    }
    let first15 = format!(
        "{}{:02}{}{:02}H501",
        std::str::from_utf8(&letters).expect("ASCII letters"),
        40 + n % 60,
        char::from(MONTHS[n % 12]),
        1 + n % 28 + if n.is_multiple_of(2) { 40 } else { 0 },
    );
    CodiceFiscale::with_check_character(&first15).expect("a valid synthetic code")
}

/// The `n`-th row: persons interleaved, kinds cycling through every shape.
fn row(n: usize, persons: &[CodiceFiscale]) -> RegistryRow {
    let codice_fiscale = persons[(n * 7919) % persons.len()];
    let kind = PositionKind::ALL[n % PositionKind::ALL.len()];
    let day = |y: i32, d: usize| Date::from_ymd_opt(y, 1 + (d % 12) as u32, 1 + (d % 28) as u32).expect("a valid day");
    let mut position = Position { kind, start: None, end: None, year: None, days: None, income: None, cessation: None };
    match kind {
        PositionKind::OperaioAgricoloTd => {
            position.year = Some(2019);
            position.days = Some((n % 200) as u32);
        }
        PositionKind::SpettacoloFpls => {
            position.year = Some(2019);
            position.days = Some((n % 60) as u32);
            position.income = Some(Cents::new((n % 6_000_000) as i64));
        }
        _ => {
            position.start = Some(day(2000 + (n % 20) as i32, n));
            position.end = (!n.is_multiple_of(3)).then(|| day(2020, n / 3));
            if kind.is_seasonal() {
                position.cessation =
                    Some(if n.is_multiple_of(2) { Cessation::Involuntary } else { Cessation::Voluntary });
            }
        }
    }
    RegistryRow { codice_fiscale, position }
}
