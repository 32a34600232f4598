//! The personal records: an import replaces them whole and atomically, reads give each person's record back as
//! written, and an aborted or dropped import leaves the previous records in place.

use sportello_domain::persons::{PersonRecord, Residence};
use sportello_store::PersonsSummary;

use crate::harness::{Backend, date, person};

/// Person `n`'s record, named "Maria Grazia D'Àngelo-x", with or without a residence and contacts.
pub fn record(n: u32, with_residence: bool, with_contacts: bool) -> PersonRecord {
    let cf = person(n);
    let (year, month, day, _) = cf.birth();
    PersonRecord {
        codice_fiscale: cf,
        cognome: format!("D'Àngelo-{n}").replace(|c: char| c.is_ascii_digit(), "x"),
        nome: "Maria Grazia".to_owned(),
        data_nascita: date(1900 + i32::from(year), u32::from(month), u32::from(day)),
        residence: with_residence.then(|| Residence {
            indirizzo: "Via Appia Nuova 12".to_owned(),
            cap: "00183".to_owned(),
            comune: "Roma".to_owned(),
            provincia: "RM".to_owned(),
        }),
        email: with_contacts.then(|| format!("persona{n}@example.it")),
        cellulare: with_contacts.then(|| "+393331234567".to_owned()),
    }
}

pub async fn persons_import_round_trips_and_replaces_the_whole_file(backend: Backend) {
    let store = backend.store.as_ref();
    assert_eq!(store.persons_summary().await.unwrap(), PersonsSummary { persons: 0, imported_at: None });
    assert_eq!(store.person(&person(1)).await.unwrap(), None);

    let first = vec![record(1, true, true), record(2, false, false), record(3, true, false)];
    let mut import = store.begin_persons_import().await.unwrap();
    import.write(&first[..2]).await.unwrap();
    import.write(&first[2..]).await.unwrap();
    let summary = import.commit().await.unwrap();
    assert_eq!(summary.persons, 3);
    assert_eq!(store.persons_summary().await.unwrap(), summary);
    for expected in &first {
        assert_eq!(store.person(&expected.codice_fiscale).await.unwrap().as_ref(), Some(expected));
    }

    // A new file replaces the old one: person 1 is gone, person 2 has a residence now.
    let second = vec![record(2, true, false), record(4, false, true)];
    let mut import = store.begin_persons_import().await.unwrap();
    import.write(&second).await.unwrap();
    assert_eq!(store.person(&person(1)).await.unwrap().as_ref(), Some(&first[0]), "invisible until committed");
    import.commit().await.unwrap();
    assert_eq!(store.person(&person(1)).await.unwrap(), None);
    assert_eq!(store.person(&person(2)).await.unwrap().as_ref(), Some(&second[0]));
    assert_eq!(store.persons_summary().await.unwrap().persons, 2);
}

pub async fn an_aborted_or_failed_persons_import_changes_nothing(backend: Backend) {
    let store = backend.store.as_ref();
    let mut import = store.begin_persons_import().await.unwrap();
    import.write(&[record(1, true, true)]).await.unwrap();
    import.commit().await.unwrap();

    let mut import = store.begin_persons_import().await.unwrap();
    import.write(&[record(2, true, true)]).await.unwrap();
    import.abort().await.unwrap();
    assert!(store.person(&person(1)).await.unwrap().is_some());
    assert_eq!(store.person(&person(2)).await.unwrap(), None);

    // The same codice fiscale twice fails the import; the previous records stay.
    let mut import = store.begin_persons_import().await.unwrap();
    assert!(import.write(&[record(3, true, true), record(3, false, false)]).await.is_err());
    drop(import);
    assert!(store.person(&person(1)).await.unwrap().is_some());
    assert_eq!(store.person(&person(3)).await.unwrap(), None);
    assert_eq!(store.persons_summary().await.unwrap().persons, 1);
}
