//! Decisions per second: the DL 18/2020 rulebook deciding a realistic mix of persons, from the empty registry to
//! people holding several positions at once.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sportello_domain::law::Rulebook;
use sportello_domain::registry::{Cessation, Position, PositionKind};
use sportello_domain::{Cents, CodiceFiscale, Date};

fn day(y: i32, m: u32, d: u32) -> Date {
    Date::from_ymd_opt(y, m, d).expect("a valid calendar date")
}

fn yearly(kind: PositionKind, year: i32, days: u32, income: Option<Cents>) -> Position {
    Position { kind, start: None, end: None, year: Some(year), days: Some(days), income, cessation: None }
}

fn seasonal(kind: PositionKind, start: Date, end: Option<Date>, cessation: Option<Cessation>) -> Position {
    Position { cessation, ..Position::period(kind, start, end) }
}

/// A few hundred varied persons, built deterministically: a main activity and, for some, extra positions that
/// exclude them (pension, employment, reddito di cittadinanza, another scheme) or qualify them twice.
fn persons() -> Vec<Vec<Position>> {
    use PositionKind::*;
    let mut persons = Vec::new();
    for i in 0u32..480 {
        // A date that moves across the decree's boundaries from one person to the next.
        let shift = u64::from(i * 7 % 120);
        let around = day(2020, 1, 15) + chrono::Days::new(shift);
        let mut p = match i % 8 {
            0 => vec![Position::period(GestioneSeparataProfessionista, around, None)],
            1 => vec![Position::period(GestioneSeparataCococo, day(2018, 1, 1), Some(around))],
            2 => vec![Position::period([Artigiano, Commerciante, ColtivatoreDiretto][i as usize % 3], around, None)],
            3 => vec![seasonal(
                [StagionaleTurismo, StagionaleTermale][i as usize % 2],
                day(2019, 5, 1),
                Some(around - chrono::Days::new(200)),
                [Some(Cessation::Involuntary), Some(Cessation::Voluntary), None][i as usize % 3],
            )],
            4 => vec![yearly(OperaioAgricoloTd, 2019, 30 + i % 40, None), yearly(OperaioAgricoloTd, 2018, 90, None)],
            5 => vec![yearly(SpettacoloFpls, 2019, 20 + i % 20, Some(Cents::new(4_000_000 + i64::from(i) * 5_000)))],
            6 => vec![Position::period(AltraPrevidenzaObbligatoria, day(2010, 1, 1), None)],
            _ => vec![],
        };
        match i % 5 {
            0 => p.push(Position::period(Pensione, around, None)),
            1 => p.push(Position::period(LavoroDipendente, day(2019, 9, 1), Some(around))),
            2 => p.push(Position::period(RedditoCittadinanza, day(2019, 5, 1), Some(around))),
            3 => p.push(yearly(OperaioAgricoloTd, 2019, 55, None)),
            _ => {}
        }
        persons.push(p);
    }
    persons
}

fn decide(c: &mut Criterion) {
    let book = Rulebook::dl18_2020();
    let cf = CodiceFiscale::parse("RSSMRA80A01H501U").expect("a valid codice fiscale");
    let persons = persons();
    let mut group = c.benchmark_group("decide");
    group.throughput(Throughput::Elements(persons.len() as u64));
    group.bench_function("dl18_2020_mixed_persons", |b| {
        b.iter(|| {
            for positions in &persons {
                black_box(book.decide(cf, black_box(positions)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
