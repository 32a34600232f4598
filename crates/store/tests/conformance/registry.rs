//! The registry: imports replace it whole and atomically; readers see one registry or the other, never a mix.

use std::time::Duration;

use chrono::Utc;
use sportello_domain::Cents;
use sportello_domain::registry::{Cessation, Position, PositionKind, RegistryRow, Shape};
use sportello_store::StoreError;

use crate::harness::{Backend, date, employed, import, omocodic, person, row};

/// One row of every kind, every column the kind uses filled, spread over a plain and an omocodic person whose rows
/// interleave, plus extreme values where the types allow them.
fn every_kind() -> Vec<RegistryRow> {
    PositionKind::ALL
        .iter()
        .enumerate()
        .map(|(i, &kind)| {
            let i32_i = i32::try_from(i).unwrap();
            let mut position =
                Position { kind, start: None, end: None, year: None, days: None, income: None, cessation: None };
            match kind.shape() {
                Shape::Period => {
                    position.start = Some(date(1990 + i32_i, 1 + i as u32 % 12, 1 + i as u32));
                    position.end = i.is_multiple_of(2).then(|| date(2020, 2, 23 + i as u32 % 5));
                }
                Shape::SeasonalPeriod => {
                    position.start = Some(date(2019, 6, 1));
                    position.end = Some(date(2019, 9, 30));
                    position.cessation =
                        Some(if i.is_multiple_of(2) { Cessation::Involuntary } else { Cessation::Voluntary });
                }
                Shape::YearDays => {
                    position.year = Some(2019);
                    position.days = Some(u32::MAX);
                }
                Shape::YearDaysIncome => {
                    position.year = Some(2019);
                    position.days = Some(0);
                    position.income = Some(Cents::new(i64::MAX));
                }
            }
            let codice_fiscale = if i.is_multiple_of(2) { person(7) } else { omocodic(7) };
            row(codice_fiscale, position)
        })
        .collect()
}

fn positions_of(rows: &[RegistryRow], who: &sportello_domain::CodiceFiscale) -> Vec<Position> {
    rows.iter().filter(|r| &r.codice_fiscale == who).map(|r| r.position.clone()).collect()
}

pub async fn an_empty_registry_has_nothing(backend: Backend) {
    let store = backend.store.as_ref();
    let summary = store.registry_summary().await.unwrap();
    assert_eq!((summary.persons, summary.positions, summary.imported_at), (0, 0, None));
    assert!(store.positions(&person(1)).await.unwrap().is_empty());
    assert!(store.registry_persons(None, 10).await.unwrap().is_empty());
}

pub async fn import_round_trips_every_kind_and_column(backend: Backend) {
    let store = backend.store.as_ref();
    let mut rows = every_kind();
    // A seasonal row still open and without a cessation, and a second person with a single row.
    rows.push(row(
        person(7),
        Position {
            kind: PositionKind::StagionaleTermale,
            start: Some(date(2020, 1, 1)),
            end: None,
            year: None,
            days: None,
            income: None,
            cessation: None,
        },
    ));
    rows.push(employed(person(8)));
    import(store, &rows, 4).await;

    for who in [person(7), omocodic(7), person(8)] {
        assert_eq!(store.positions(&who).await.unwrap(), positions_of(&rows, &who), "positions of {who}");
    }
    let kinds: std::collections::BTreeSet<_> =
        [person(7), omocodic(7)].iter().flat_map(|who| positions_of(&rows, who)).map(|p| p.kind).collect();
    assert_eq!(kinds.len(), 15, "every kind is covered");
    assert!(store.positions(&person(9)).await.unwrap().is_empty());
}

pub async fn summary_counts_persons_and_positions(backend: Backend) {
    let store = backend.store.as_ref();
    // Rows of one person need not be adjacent.
    let rows = vec![employed(person(1)), employed(person(2)), employed(person(1)), employed(omocodic(1))];
    let before = Utc::now() - chrono::Duration::seconds(1);
    let committed = import(store, &rows, 3).await;
    let after = Utc::now() + chrono::Duration::seconds(1);

    let summary = store.registry_summary().await.unwrap();
    assert_eq!(summary, committed);
    assert_eq!((summary.persons, summary.positions), (3, 4));
    let imported_at = summary.imported_at.expect("an import has a time");
    assert!(before <= imported_at && imported_at <= after, "{imported_at}");
}

pub async fn reimport_replaces_the_whole_registry(backend: Backend) {
    let store = backend.store.as_ref();
    import(store, &[employed(person(1)), employed(person(2))], 10).await;
    let first = store.registry_summary().await.unwrap();

    let replacement = vec![employed(person(3)), employed(person(2)), employed(person(2))];
    import(store, &replacement, 10).await;

    assert!(store.positions(&person(1)).await.unwrap().is_empty(), "person 1 left the registry");
    assert_eq!(store.positions(&person(2)).await.unwrap().len(), 2, "person 2's rows are the new ones only");
    assert_eq!(store.positions(&person(3)).await.unwrap().len(), 1);
    assert_eq!(store.registry_persons(None, 10).await.unwrap(), sorted(vec![person(2), person(3)]));
    let second = store.registry_summary().await.unwrap();
    assert_eq!((second.persons, second.positions), (2, 3));
    assert!(second.imported_at >= first.imported_at);
}

pub async fn abort_keeps_the_old_registry(backend: Backend) {
    let store = backend.store.as_ref();
    import(store, &[employed(person(1))], 10).await;
    let before = store.registry_summary().await.unwrap();

    let mut replacement = store.begin_registry_import().await.unwrap();
    replacement.write(&[employed(person(2)), employed(person(3))]).await.unwrap();
    replacement.abort().await.unwrap();

    assert_eq!(store.registry_summary().await.unwrap(), before);
    assert_eq!(store.positions(&person(1)).await.unwrap().len(), 1);
    assert!(store.positions(&person(2)).await.unwrap().is_empty());
    assert_eq!(store.registry_persons(None, 10).await.unwrap(), vec![person(1)]);
}

pub async fn readers_see_the_old_registry_during_an_import(backend: Backend) {
    let store = backend.store.as_ref();
    import(store, &[employed(person(1)), employed(person(2))], 10).await;
    let before = store.registry_summary().await.unwrap();

    let mut replacement = store.begin_registry_import().await.unwrap();
    let new_rows: Vec<_> = (1..=3).flat_map(|n| [employed(person(n)), employed(person(n))]).collect();
    replacement.write(&new_rows).await.unwrap();

    // Unfinished: readers see the old registry whole, not a row of the new one.
    assert_eq!(store.registry_summary().await.unwrap(), before);
    assert_eq!(store.positions(&person(1)).await.unwrap().len(), 1);
    assert!(store.positions(&person(3)).await.unwrap().is_empty());
    assert_eq!(store.registry_persons(None, 10).await.unwrap(), vec![person(1), person(2)]);

    replacement.commit().await.unwrap();
    assert_eq!(store.positions(&person(1)).await.unwrap().len(), 2);
    assert_eq!(store.positions(&person(3)).await.unwrap().len(), 2);
    assert_eq!(store.registry_summary().await.unwrap().positions, 6);
}

pub async fn a_dropped_import_leaves_the_old_registry_and_the_next_one_works(backend: Backend) {
    let store = backend.store.as_ref();
    import(store, &[employed(person(1))], 10).await;

    let mut abandoned = store.begin_registry_import().await.unwrap();
    abandoned.write(&[employed(person(2))]).await.unwrap();
    drop(abandoned); // as when the process dies halfway

    assert_eq!(store.positions(&person(1)).await.unwrap().len(), 1);
    assert!(store.positions(&person(2)).await.unwrap().is_empty());

    // The next import starts while the dropped one may still be closing: it waits, then replaces.
    let summary = tokio::time::timeout(Duration::from_secs(30), import(store, &[employed(person(3))], 10))
        .await
        .expect("the next import must not hang on the dropped one");
    assert_eq!((summary.persons, summary.positions), (1, 1));
    assert!(store.positions(&person(1)).await.unwrap().is_empty());
    assert!(store.positions(&person(2)).await.unwrap().is_empty(), "nothing of the dropped import survives");
    assert_eq!(store.positions(&person(3)).await.unwrap().len(), 1);
}

pub async fn an_interrupted_write_cannot_be_committed(backend: Backend) {
    let store = backend.store.as_ref();
    import(store, &[employed(person(1))], 10).await;
    let before = store.registry_summary().await.unwrap();

    // Enough rows (over 5 MB as COPY text) that every backend reaches an await inside this one write.
    let many: Vec<_> = (0..80_000).map(|n| employed(person(100 + n))).collect();
    let mut import_ = store.begin_registry_import().await.unwrap();
    // A zero timeout cancels the write at its first await, halfway through.
    let cancelled = tokio::time::timeout(Duration::ZERO, import_.write(&many)).await;
    assert!(cancelled.is_err(), "the write should have been cancelled");
    let err = import_.commit().await.expect_err("an interrupted import must not commit");
    assert!(matches!(err, StoreError::ImportInterrupted), "{err:?}");

    assert_eq!(store.registry_summary().await.unwrap(), before);
    let summary = import(store, &[employed(person(2))], 10).await;
    assert_eq!(summary.positions, 1);
}

pub async fn many_batches_cross_statement_boundaries(backend: Backend) {
    let store = backend.store.as_ref();
    // 9,001 rows of 3,001 persons in uneven batches: every row lands once, whatever the backend's chunking.
    let rows: Vec<_> = (0..9_001u32)
        .map(|n| {
            let who = person(n % 3_001);
            row(who, Position::period(PositionKind::ALL[(n % 15) as usize], date(2000, 1, 1), None))
        })
        .collect();
    let mut import_ = store.begin_registry_import().await.unwrap();
    for chunk in rows.chunks(1_237) {
        import_.write(chunk).await.unwrap();
    }
    import_.write(&[]).await.unwrap();
    let summary = import_.commit().await.unwrap();
    assert_eq!((summary.persons, summary.positions), (3_001, 9_001));
    for n in [0, 1, 1_500, 3_000] {
        assert_eq!(store.positions(&person(n)).await.unwrap(), positions_of(&rows, &person(n)));
    }
}

pub async fn registry_persons_pages_in_order(backend: Backend) {
    let store = backend.store.as_ref();
    // 25 persons, most with two rows, inserted out of order.
    let people: Vec<_> = (0..25u32).map(|n| person((n * 7) % 25)).collect();
    let rows: Vec<_> = people.iter().flat_map(|&p| [employed(p), employed(p)]).collect();
    import(store, &rows, 7).await;

    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = Vec::new();
    loop {
        let page = store.registry_persons(after.as_ref(), 10).await.unwrap();
        if page.is_empty() {
            break;
        }
        pages.push(page.len());
        after = page.last().copied();
        seen.extend(page);
    }
    assert_eq!(pages, vec![10, 10, 5]);
    assert_eq!(seen, sorted(people.clone()));
    assert_eq!(store.registry_persons(Some(&seen[9]), 3).await.unwrap(), seen[10..13].to_vec());
    assert!(store.registry_persons(None, 0).await.unwrap().is_empty());
}

pub async fn a_bad_stored_value_is_reported_as_corrupt(backend: Backend) {
    let store = backend.store.as_ref();
    import(store, &[employed(person(1))], 10).await;
    let cf = person(1);
    // Planted behind the store's back, as a hand edit or a newer version might.
    backend.execute_raw("UPDATE registry_positions SET kind = 'astronauta'").await;
    let err = store.positions(&cf).await.expect_err("a bad kind must not read back");
    assert!(matches!(&err, StoreError::Corrupt(m) if m.contains("astronauta")), "{err:?}");
}

fn sorted(mut v: Vec<sportello_domain::CodiceFiscale>) -> Vec<sportello_domain::CodiceFiscale> {
    v.sort();
    v.dedup();
    v
}
