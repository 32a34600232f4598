//! The rate at which an office's batch files applications (`intermediaries::batch`), against the limit it cannot
//! beat: the same kind of applications filed one at a time through the use case the operator's form calls
//! (`intermediaries::filing::file`), in the same process, on the same database. Both halves file for distinct
//! citizens of the registry, each under a mandate of the office in force; preparing them is not timed. The batch
//! is fed in 64 KiB chunks, as an upload arrives.
//!
//! ```text
//! cargo run --release -p sportello-usecases --example batch_rate -- sqlite:///tmp/batch.db 10000
//! cargo run --release -p sportello-usecases --example batch_rate -- postgres://postgres@127.0.0.1/batch 10000
//! ```
//! Prints one JSON line: rows, seconds and rows per second of each, and how many the batch accepted.

use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};
use sha2::Digest as _;
use sportello_domain::intermediaries::{IntermediaryKind, OfficeCode, Role, RosterRow};
use sportello_domain::law::Decrees;
use sportello_domain::principal::LoginMethod;
use sportello_domain::registry::{Position, PositionKind, RegistryRow};
use sportello_domain::{CodiceFiscale, Date, IdempotencyKey};
use sportello_store::{MandateRecorded, NewMandate, Store, Submission};
use sportello_usecases::apply::Draft;
use sportello_usecases::draft::{Contacts, Declarations, Details, Payment};
use sportello_usecases::intermediaries::batch::{Batch, COLUMNS, Outcome};
use sportello_usecases::intermediaries::{filing, mandates};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(rows)) = (args.next(), args.next()) else {
        eprintln!("usage: batch_rate DATABASE_URL ROWS (a fresh database: sqlite://FILE or postgres://…)");
        std::process::exit(2);
    };
    let Some(rows) = rows.parse::<usize>().ok().filter(|&r| (1..=10_000).contains(&r)) else {
        eprintln!("batch_rate: ROWS '{rows}' is not a number from 1 to 10000");
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(run(&url, rows)) {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("batch_rate on {}: {e}", sportello_store::redact(&url));
            std::process::exit(1);
        }
    }
}

/// 10:00 in Rome on 1 April 2020.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 4, 1, 8, 0, 0).unwrap()
}

/// The `n`th of 33,600 distinct codici fiscali.
fn person(n: usize) -> CodiceFiscale {
    const MONTHS: &[u8] = b"ABCDEHLMPRST";
    let (year, month, day) = (n % 100, (n / 100) % 12, (n / 1200) % 28 + 1);
    CodiceFiscale::with_check_character(&format!("BTCPRF{year:02}{}{day:02}H501", MONTHS[month] as char)).unwrap()
}

async fn run(url: &str, rows: usize) -> Result<String, Box<dyn std::error::Error>> {
    let store = sportello_store::open(url).await?;
    let store: &dyn Store = store.as_ref();
    let decrees = Decrees::embedded();
    let seat = prepare(store, 2 * rows).await?;

    // The limit: the first half filed one at a time, as the operator's form files.
    let started = Instant::now();
    for n in 0..rows {
        let details = Details {
            payment: Payment::Domiciliato,
            contact: Contacts { email: Some(format!("persona{n}@example.it")), mobile: None },
            declarations: Declarations {
                not_pension_holder: true,
                no_other_compulsory_scheme: true,
                not_employed: true,
                not_reddito_di_cittadinanza: true,
            },
            figures: Default::default(),
            filed_by: None,
        };
        let key = IdempotencyKey::parse(&format!("single-{n}"))?;
        let draft = Draft { scheme: "art27".to_owned(), idempotency_key: key, details };
        let filed = filing::file(store, &decrees, &seat, person(n), draft, None, now()).await?;
        if !matches!(filed, Submission::Created(_)) {
            return Err(format!("row {n} filed one at a time was not new: {filed:?}").into());
        }
    }
    let single = started.elapsed().as_secs_f64();

    // The batch: the second half, one CSV, fed as an upload arrives.
    let mut csv = format!("{}\n", COLUMNS.join(","));
    for n in rows..2 * rows {
        csv.push_str(&format!("{},art27,domiciliato,,persona{n}@example.it,,si,si,si,si,,\n", person(n)));
    }
    let started = Instant::now();
    let mut batch = Batch::new(store, &decrees, &seat, None, now())?;
    for chunk in csv.as_bytes().chunks(64 * 1024) {
        batch.feed(chunk).await?;
    }
    let report = batch.finish().await?;
    let batched = started.elapsed().as_secs_f64();
    let accepted = report.iter().filter(|r| matches!(r.outcome, Outcome::Accepted { again: false, .. })).count();
    if report.len() != rows || accepted != rows {
        return Err(format!("the batch reported {} rows, {accepted} accepted, of {rows}", report.len()).into());
    }
    Ok(serde_json::json!({
        "rows": rows,
        "batch_seconds": batched,
        "batch_per_second": rows as f64 / batched,
        "single_seconds": single,
        "single_per_second": rows as f64 / single,
        "accepted": accepted,
    })
    .to_string())
}

/// The office's head seated at INCA-RM01, `count` professionals in the registry, each with a mandate of the office.
async fn prepare(store: &dyn Store, count: usize) -> Result<mandates::Seat, Box<dyn std::error::Error>> {
    let day = |m, d| Date::from_ymd_opt(2020, m, d).unwrap();
    let operator = CodiceFiscale::with_check_character("VRDGPP70B02L219")?;
    let office = OfficeCode::parse("INCA-RM01")?;
    let row = RosterRow {
        organisation: OfficeCode::parse("INCA")?,
        organisation_name: "Patronato".to_owned(),
        kind: IntermediaryKind::Patronato,
        office,
        office_name: "Roma".to_owned(),
        operator,
        role: Role::Responsabile,
        valid_from: day(1, 1),
        valid_to: None,
    };
    store.replace_roster(&[row], now()).await?;
    let active = Date::from_ymd_opt(2015, 1, 1).unwrap();
    let registry: Vec<RegistryRow> = (0..count)
        .map(|n| RegistryRow {
            codice_fiscale: person(n),
            position: Position::period(PositionKind::GestioneSeparataProfessionista, active, None),
        })
        .collect();
    let mut import = store.begin_registry_import().await?;
    import.write(&registry).await?;
    import.commit().await?;
    for n in 0..count {
        let form = format!("%PDF-1.4\n% mandate {n}\n%%EOF\n").into_bytes();
        let mandate = NewMandate {
            subject: person(n),
            office,
            operator,
            object: "DL 18/2020: indennità".to_owned(),
            signed_on: day(3, 30),
            expires_on: day(12, 31),
            form_sha256: hex::encode(sha2::Sha256::digest(&form)),
            form,
            recorded_at: now(),
        };
        if !matches!(store.record_mandate(&mandate, &[]).await?, MandateRecorded::Recorded(_)) {
            return Err(format!("the mandate of row {n} was not recorded").into());
        }
    }
    Ok(mandates::seat(store, operator, office, LoginMethod::PinFull, day(4, 1)).await?)
}
