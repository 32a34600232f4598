//! A batch of 10,000 mixed rows filed by a patronato office, on SQLite and PostgreSQL: each row gets its outcome
//! (accepted; refused by the law with its reasons; the citizen already holds an indemnity; a field that is not an
//! application's; no mandate in force; not a codice fiscale), and the same file uploaded again files nothing new.
//! The file is fed in chunks that cut lines in two, as an upload arrives.

use chrono::{DateTime, TimeZone, Utc};
use sha2::Digest as _;
use sportello_domain::intermediaries::{IntermediaryKind, OfficeCode, Role, RosterRow};
use sportello_domain::law::Decrees;
use sportello_domain::principal::LoginMethod;
use sportello_domain::registry::{Position, PositionKind, RegistryRow};
use sportello_domain::{CodiceFiscale, Date};
use sportello_store::testing::TestDatabase;
use sportello_store::{MandateRecorded, NewMandate, Store};
use sportello_usecases::intermediaries::batch::{Batch, COLUMNS, MAX_ROWS, Outcome, RowReport};
use sportello_usecases::intermediaries::mandates;

const ROWS: usize = 10_000;

fn day(m: u32, d: u32) -> Date {
    Date::from_ymd_opt(2020, m, d).unwrap()
}

/// 10:00 in Rome on 1 April 2020.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 4, 1, 8, 0, 0).unwrap()
}

/// The `n`th of 33,600 distinct codici fiscali.
fn person(n: usize) -> CodiceFiscale {
    const MONTHS: &[u8] = b"ABCDEHLMPRST";
    let (year, month, day) = (n % 100, (n / 100) % 12, (n / 1200) % 28 + 1);
    let first15 = format!("BTCPRF{year:02}{}{day:02}H501", MONTHS[month] as char);
    CodiceFiscale::with_check_character(&first15).unwrap()
}

/// What row `n` is, and so what it must come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Entitled,
    NotInRegistry,
    NoMandate,
    BadIban,
    NotACodiceFiscale,
}

fn kind(n: usize) -> Kind {
    match n % 10 {
        0..=5 => Kind::Entitled,
        6 => Kind::NotInRegistry,
        7 => Kind::NoMandate,
        8 => Kind::BadIban,
        _ => Kind::NotACodiceFiscale,
    }
}

/// The batch: a header, 9,999 rows of the kinds above, and a second application for row 0's citizen.
fn file() -> Vec<u8> {
    let mut csv = format!("{}\r\n", COLUMNS.join(","));
    for n in 0..ROWS - 1 {
        let cf = match kind(n) {
            Kind::NotACodiceFiscale => format!("NONCF{n}"),
            _ => person(n).to_string(),
        };
        let iban = if kind(n) == Kind::BadIban { "IT00X0000000000000000000000" } else { "IT60X0542811101000000123456" };
        csv.push_str(&format!("{cf},art27,iban,{iban},persona{n}@example.it,,si,si,si,si,,\r\n"));
    }
    csv.push_str(&format!("{},art27,domiciliato,,,+393331234567,si,si,si,si,,\r\n", person(0)));
    csv.into_bytes()
}

async fn prepare(store: &dyn Store) -> mandates::Seat {
    let seat = seat_at(store).await;
    let active = Date::from_ymd_opt(2015, 1, 1).unwrap();
    let registry: Vec<RegistryRow> = (0..ROWS)
        .filter(|&n| kind(n) != Kind::NotInRegistry)
        .map(|n| RegistryRow {
            codice_fiscale: person(n),
            position: Position::period(PositionKind::GestioneSeparataProfessionista, active, None),
        })
        .collect();
    let mut import = store.begin_registry_import().await.unwrap();
    import.write(&registry).await.unwrap();
    import.commit().await.unwrap();
    for n in (0..ROWS).filter(|&n| !matches!(kind(n), Kind::NoMandate | Kind::NotACodiceFiscale)) {
        let form = format!("%PDF-1.4\n% mandate {n}\n%%EOF\n").into_bytes();
        let mandate = NewMandate {
            subject: person(n),
            office: seat.office,
            operator: seat.operator,
            object: "DL 18/2020: indennità".to_owned(),
            signed_on: day(3, 30),
            expires_on: day(12, 31),
            form_sha256: hex::encode(sha2::Sha256::digest(&form)),
            form,
            recorded_at: now(),
        };
        assert!(matches!(store.record_mandate(&mandate, &[]).await.unwrap(), MandateRecorded::Recorded(_)));
    }
    seat
}

/// Feeds the whole file in chunks of 1,000 bytes.
async fn upload(store: &dyn Store, decrees: &Decrees, seat: &mandates::Seat) -> Vec<RowReport> {
    let mut batch = Batch::new(store, decrees, seat, None, now()).unwrap();
    for chunk in file().chunks(1000) {
        batch.feed(chunk).await.unwrap();
    }
    batch.finish().await.unwrap()
}

async fn a_batch_reports_every_row_and_files_nothing_twice(store: &dyn Store) {
    let decrees = Decrees::embedded();
    let seat = prepare(store).await;
    let report = upload(store, &decrees, &seat).await;
    assert_eq!(report.len(), ROWS, "a row of report per row of the file");
    let mut protocols = Vec::new();
    for (n, row) in report.iter().enumerate().take(ROWS - 1) {
        assert_eq!(row.line, n as u64 + 2, "the header is line 1");
        let what = format!("line {}: {:?}", row.line, row.outcome);
        match (kind(n), &row.outcome) {
            (Kind::Entitled, Outcome::Accepted { protocol, again: false }) => protocols.push(protocol.clone()),
            (Kind::NotInRegistry, Outcome::Refused { reasons, again: false, .. }) => {
                assert!(!reasons.is_empty() && reasons.iter().all(|(_, article)| !article.is_empty()), "{what}");
            }
            (Kind::NoMandate, Outcome::Error { column: Some("codice_fiscale"), message }) => {
                assert!(message.contains("mandate"), "{what}");
            }
            (Kind::BadIban, Outcome::Invalid(invalid)) => {
                assert!(invalid.iter().all(|i| i.field() == "iban"), "{what}");
            }
            (Kind::NotACodiceFiscale, Outcome::Error { column: Some("codice_fiscale"), .. }) => {}
            (expected, _) => panic!("{what}, expected {expected:?}"),
        }
    }
    let last = report.last().unwrap();
    assert!(matches!(&last.outcome, Outcome::AlreadyHolds { protocol } if *protocol == protocols[0]), "{last:?}");
    let filed = store.applications_of(&person(0)).await.unwrap();
    assert_eq!(filed.len(), 1, "one indemnity of the group per person");

    // The same file again: the same outcomes, every application the one filed the first time, nothing new.
    let again = upload(store, &decrees, &seat).await;
    let mut seen = Vec::new();
    for (first, second) in report.iter().zip(&again) {
        match (&first.outcome, &second.outcome) {
            (Outcome::Accepted { protocol: a, .. }, Outcome::Accepted { protocol: b, again: true }) => {
                assert_eq!(a, b);
                seen.push(b.clone());
            }
            (Outcome::Refused { protocol: a, .. }, Outcome::Refused { protocol: b, again: true, .. }) => {
                assert_eq!(a, b)
            }
            (Outcome::Accepted { .. } | Outcome::Refused { .. }, other) => panic!("line {}: {other:?}", second.line),
            (a, b) => assert_eq!(std::mem::discriminant(a), std::mem::discriminant(b), "line {}", second.line),
        }
    }
    assert_eq!(seen, protocols);
    let refused = (0..ROWS - 1).filter(|&n| kind(n) == Kind::NotInRegistry).count();
    let mut count = 0;
    for n in (0..ROWS - 1).filter(|&n| matches!(kind(n), Kind::Entitled | Kind::NotInRegistry)) {
        count += store.applications_of(&person(n)).await.unwrap().len();
    }
    assert_eq!(count, protocols.len() + refused, "one application per filed row, none from the second upload");
}

#[tokio::test]
async fn batch_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = sportello_store::open(&format!("sqlite://{}", dir.path().join("db.sqlite").display())).await.unwrap();
    a_batch_reports_every_row_and_files_nothing_twice(store.as_ref()).await;
}

#[tokio::test]
async fn batch_on_postgres() {
    let Some(db) = TestDatabase::create().await else { return };
    let store = sportello_store::open(&db.url).await.unwrap();
    a_batch_reports_every_row_and_files_nothing_twice(store.as_ref()).await;
    drop(store);
    db.drop_database().await;
}

#[tokio::test]
async fn a_file_without_the_header_files_nothing_and_rows_past_the_limit_are_reported_not_filed() {
    let dir = tempfile::tempdir().unwrap();
    let store = sportello_store::open(&format!("sqlite://{}", dir.path().join("db.sqlite").display())).await.unwrap();
    let decrees = Decrees::embedded();
    let seat = seat_at(store.as_ref()).await;
    // Only the office's head files batches.
    let operatore = mandates::Seat { role: Role::Operatore, ..seat };
    let refused = Batch::new(store.as_ref(), &decrees, &operatore, None, now()).err().expect("an operatore is refused");
    assert_eq!(refused.kind(), sportello_usecases::ErrorKind::Forbidden, "{refused}");
    let mut batch = Batch::new(store.as_ref(), &decrees, &seat, None, now()).unwrap();
    let refused = batch.feed(format!("{},art27\n", person(0)).as_bytes()).await.unwrap_err();
    assert!(refused.to_string().contains("line 1 must be the header"), "{refused}");
    // Nor is a first line too long to read.
    let mut batch = Batch::new(store.as_ref(), &decrees, &seat, None, now()).unwrap();
    let refused = batch.feed(&vec![b'x'; 5000]).await.unwrap_err();
    assert!(refused.to_string().contains("line 1 must be the header"), "{refused}");
    assert!(store.applications_of(&person(0)).await.unwrap().is_empty());

    // Past MAX_ROWS, and a line far too long: reported, not filed. Rows here name nobody the office holds a
    // mandate for, so that nothing is filed at all.
    let mut batch = Batch::new(store.as_ref(), &decrees, &seat, None, now()).unwrap();
    batch.feed(format!("{}\n", COLUMNS.join(",")).as_bytes()).await.unwrap();
    batch.feed(format!("{}\n", "x".repeat(5000)).as_bytes()).await.unwrap();
    for _ in 0..MAX_ROWS + 1 {
        batch.feed(b"NONCF,art27,domiciliato,,,,si,si,,,,\n").await.unwrap();
    }
    let report = batch.finish().await.unwrap();
    assert_eq!(report.len(), MAX_ROWS + 2);
    assert!(matches!(&report[0].outcome, Outcome::Error { column: None, message } if message.contains("longer")));
    let last = report.last().unwrap();
    assert!(
        matches!(&last.outcome, Outcome::Error { column: None, message } if message.contains("beyond")),
        "{last:?}"
    );
    assert_eq!(last.line, MAX_ROWS as u64 + 3);
}

/// The roster's one operator of INCA-RM01, its head, seated there on 1 April 2020.
async fn seat_at(store: &dyn Store) -> mandates::Seat {
    let operator = CodiceFiscale::with_check_character("VRDGPP70B02L219").unwrap();
    let office = OfficeCode::parse("INCA-RM01").unwrap();
    let row = RosterRow {
        organisation: OfficeCode::parse("INCA").unwrap(),
        organisation_name: "Patronato".to_owned(),
        kind: IntermediaryKind::Patronato,
        office,
        office_name: "Roma".to_owned(),
        operator,
        role: Role::Responsabile,
        valid_from: day(1, 1),
        valid_to: None,
    };
    store.replace_roster(&[row], now()).await.unwrap();
    mandates::seat(store, operator, office, LoginMethod::PinFull, day(4, 1)).await.unwrap()
}
