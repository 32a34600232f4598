//! The roster import without the command line, on SQLite and PostgreSQL: a valid file replaces the roster; a file
//! with any wrong row lists every error by line and column and leaves the roster as it was.

use std::io::Write;
use std::sync::{Arc, Mutex};

use sportello_domain::CodiceFiscale;
use sportello_store::Store;
use sportello_store::testing::TestDatabase;
use sportello_usecases::ErrorKind;
use sportello_usecases::intermediaries::{RosterError, import_roster};

/// An error sink the test can read afterwards.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sink {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap().lines().map(str::to_owned).collect()
    }
}

fn cf(first15: &str) -> CodiceFiscale {
    CodiceFiscale::with_check_character(first15).unwrap()
}

const HEADER: &str = "ente,denominazione,tipo,ufficio,sede,codice_fiscale,ruolo,valido_dal,valido_al\n";

fn write_file(dir: &std::path::Path, name: &str, body: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("{HEADER}{body}")).unwrap();
    path
}

async fn roster_import_replaces_or_names_every_wrong_line(store: &dyn Store, dir: &std::path::Path) {
    let (a, b) = (cf("RSSMRA80A01H501"), cf("MRTMRA83T56A269"));
    let good = write_file(
        dir,
        "good.csv",
        &format!(
            "INCA,INCA CGIL,patronato,INCA-RM-01,\"Roma, Via Nizza 59\",{a},responsabile,2019-01-01,\n\
             INCA,INCA CGIL,patronato,INCA-RM-02,Roma Nord,{a},operatore,2019-01-01,2020-12-31\n\
             CC,Contact Center INPS,contact_center,CC-01,803 164,{b},operatore,2020-01-01,\n"
        ),
    );
    let now = chrono::Utc::now();
    let done = import_roster(Some(store), &good, Box::new(Sink::default()), now).await.unwrap();
    let summary = done.summary.unwrap();
    assert_eq!((done.rows, summary.operators, summary.offices), (3, 3, 3));
    assert_eq!(store.roster_of(&a).await.unwrap().len(), 2);

    // Every kind of wrong row, each named by its line and column; the roster stays as it was.
    let bad = write_file(
        dir,
        "bad.csv",
        &format!(
            "INCA,INCA CGIL,patronato,INCA-RM-01,Roma,{a},operatore,2020-01-01,\n\
             INCA,INCA CGIL,patronato,INCA-RM-01,Roma,{a},operatore,2020-01-01,\n\
             ACLI,Patronato ACLI,patronato,INCA-RM-01,Roma,{b},operatore,2020-01-01,\n\
             INCA,INCA CGIL,caf,INCA-RM-03,Roma,{b},operatore,2020-01-01,\n\
             INCA,INCA CGIL,sindacato,INCA-RM-04,Roma,{b},capo,2020-02-30,\n"
        ),
    );
    let sink = Sink::default();
    let error = import_roster(Some(store), &bad, Box::new(sink.clone()), now).await.unwrap_err();
    assert!(matches!(error, RosterError::InvalidRows { count: 4, .. }), "{error}");
    assert_eq!(error.kind(), ErrorKind::Input);
    assert_eq!(
        sink.lines(),
        [
            format!(
                "line 3, column 6: codice_fiscale: {a} is listed for office INCA-RM-01 twice: on line 2 and on this line"
            ),
            "line 4, column 1: ente: office INCA-RM-01 belongs to INCA on line 2, not to ACLI".to_owned(),
            "line 5, column 3: tipo: INCA is a patronato on line 2".to_owned(),
            "line 6, column 3: tipo: 'sindacato' is not a kind of intermediary; the kinds are patronato, caf, \
             consulente, contact_center"
                .to_owned(),
            "line 6, column 7: ruolo: 'capo' is not a role; the roles are operatore, responsabile".to_owned(),
            "line 6, column 8: valido_dal: '2020-02-30' is not a date in the form 2020-04-01".to_owned(),
        ]
    );
    let after = store.roster_summary().await.unwrap();
    assert_eq!(after, summary, "nothing written on failure");
    assert_eq!(store.roster_of(&a).await.unwrap().len(), 2);

    // A wrong header and an empty roster are refused too.
    let header = dir.join("header.csv");
    std::fs::write(&header, "ente;denominazione\n").unwrap();
    let sink = Sink::default();
    let error = import_roster(Some(store), &header, Box::new(sink.clone()), now).await.unwrap_err();
    assert!(matches!(error, RosterError::Header), "{error}");
    assert!(
        sink.lines()[0].starts_with("line 1, column 1: ente: the file is separated by semicolons"),
        "{:?}",
        sink.lines()
    );
    let empty = write_file(dir, "empty.csv", "");
    let error = import_roster(Some(store), &empty, Box::new(Sink::default()), now).await.unwrap_err();
    assert!(matches!(error, RosterError::Empty(_)), "{error}");
    assert_eq!(store.roster_summary().await.unwrap(), summary);

    // Without a store the file is only checked.
    let checked = import_roster(None, &good, Box::new(Sink::default()), now).await.unwrap();
    assert_eq!((checked.rows, checked.summary), (3, None));
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sportello-roster-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn roster_import_on_sqlite() {
    let dir = temp_dir("sqlite");
    let store = sportello_store::open(&format!("sqlite://{}", dir.join("db.sqlite").display())).await.unwrap();
    roster_import_replaces_or_names_every_wrong_line(store.as_ref(), &dir).await;
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn roster_import_on_postgres() {
    let Some(db) = TestDatabase::create().await else { return };
    let dir = temp_dir("postgres");
    let store = sportello_store::open(&db.url).await.unwrap();
    roster_import_replaces_or_names_every_wrong_line(store.as_ref(), &dir).await;
    drop(store);
    db.drop_database().await;
    let _ = std::fs::remove_dir_all(&dir);
}
