//! The second half of a PIN posted by letter: a person with a residence and no contact on file asks for a PIN, the
//! first half goes to the contact given, the second is written as a PDF to print into `[notify] letters_dir`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sportello_domain::persons::{PersonRecord, Residence};
use sportello_web::config::Config;
use sportello_web::notify::{Channel, FileNotifier};
use sqlx::Connection as _;

use crate::support::{Browser, PROFESSIONISTA, TestApp, cf, pin_half, spawn_app_with};

/// The letters written so far into `dir` (none while the folder does not exist).
fn letters_in(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        // A letter being written is a hidden temporary file until its rename: only finished letters count.
        Ok(entries) => entries
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "pdf"))
            .filter(|path| !path.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", dir.display()),
    }
}

/// The text of a PDF as poppler's `pdftotext` reads it (poppler-utils, installed by `.ci/run`).
fn pdftotext(pdf: &Path) -> String {
    let output = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext runs (Debian: apt-get install poppler-utils)");
    assert!(output.status.success(), "pdftotext: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// The portal delivering letters into `letters_dir`, or nowhere, with Mario Rossi (an entitled professional) on
/// file with a residence and no contact.
async fn app_with_letters(letters_dir: Option<PathBuf>) -> TestApp {
    let mut config = Config::default();
    config.limits.per_address_per_minute = 1_000_000;
    config.limits.per_address_burst = 1_000_000;
    config.notify.letters_dir = letters_dir;
    let app = spawn_app_with(config).await;
    let mut import = app.store.begin_persons_import().await.unwrap();
    import
        .write(&[PersonRecord {
            codice_fiscale: cf(PROFESSIONISTA),
            cognome: "Rossi".into(),
            nome: "Mario".into(),
            data_nascita: chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap(),
            residence: Some(Residence {
                indirizzo: "Via Appia Nuova 12".into(),
                cap: "00183".into(),
                comune: "Roma".into(),
                provincia: "RM".into(),
            }),
            email: None,
            cellulare: None,
        }])
        .await
        .unwrap();
    import.commit().await.unwrap();
    app
}

/// The letters of the outbox: whether each was delivered, its body (wiped once delivered) and its last error.
async fn letters_in_outbox(app: &TestApp) -> Vec<(bool, String, Option<String>)> {
    let mut db = sqlx::SqliteConnection::connect(&app.database_url).await.unwrap();
    let rows: Vec<(Option<String>, String, Option<String>)> =
        sqlx::query_as("SELECT delivered_at, body, last_error FROM outbox WHERE channel = 'letter'")
            .fetch_all(&mut db)
            .await
            .unwrap();
    rows.into_iter().map(|(delivered, body, error)| (delivered.is_some(), body, error)).collect()
}

/// The contact a requester types, not on file.
const GIVEN: &str = "dato.nella.richiesta@example.it";

#[tokio::test]
async fn a_person_with_no_contact_on_file_gets_the_second_half_by_letter_at_the_residence() {
    let letters_dir = tempfile::tempdir().unwrap();
    let letters = letters_dir.path().join("letters");
    let app = app_with_letters(Some(letters.clone())).await;
    let codice_fiscale = cf(PROFESSIONISTA);

    let page = Browser::new(&app).request_pin(codice_fiscale.as_str(), GIVEN).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let first_half = pin_half(&app.wait_for_messages(GIVEN, 1).await[0].body);

    let mut written = Vec::new();
    for _ in 0..200 {
        written = letters_in(&letters);
        if !written.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(written.len(), 1, "one letter in {}: {written:?}", letters.display());
    let letter = &written[0];
    let name = letter.file_name().unwrap().to_str().unwrap();
    assert!(name.starts_with("lettera-") && name.ends_with(".pdf"), "{name}");
    for personal in ["Rossi", "Mario", codice_fiscale.as_str(), "00183"] {
        assert!(!name.contains(personal), "the file name reveals nothing: {name}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(letter).unwrap().permissions().mode() & 0o777, 0o600, "owner-only");
    }

    let text = pdftotext(letter);
    for line in ["Mario Rossi", "Via Appia Nuova 12", "00183 Roma RM", "Oggetto: PIN INPS: seconda parte", "è stato"] {
        assert!(text.contains(line), "{line:?} in the letter:\n{text}");
    }
    let second_half = pin_half(&text);
    assert!(!text.contains(&first_half), "the first half never travels by letter:\n{text}");
    assert!(app.delivered_to(GIVEN).iter().all(|m| !m.body.contains(&second_half)), "nor the second by e-mail");

    // What the letter carries is the PIN's second half: the two halves together log in.
    let page = Browser::new(&app).login(codice_fiscale.as_str(), &format!("{first_half}{second_half}")).await;
    assert_eq!(page.status, 303, "the full PIN logs in: {}", page.body);

    // Delivered, so its body (half a PIN) is wiped from the outbox.
    let mut outbox = letters_in_outbox(&app).await;
    for _ in 0..200 {
        if outbox.iter().all(|(delivered, _, _)| *delivered) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        outbox = letters_in_outbox(&app).await;
    }
    assert_eq!(outbox, [(true, String::new(), None)]);
}

#[tokio::test]
async fn without_a_letters_folder_the_letter_waits_in_the_outbox_and_never_goes_to_the_mailbox() {
    let app = app_with_letters(None).await;
    let page = Browser::new(&app).request_pin(cf(PROFESSIONISTA).as_str(), GIVEN).await;
    assert_eq!(page.status, 200, "{}", page.body);
    app.wait_for_messages(GIVEN, 1).await;

    let mut outbox = letters_in_outbox(&app).await;
    for _ in 0..200 {
        if outbox.iter().all(|(_, _, error)| error.is_some()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        outbox = letters_in_outbox(&app).await;
    }
    let [(delivered, body, Some(error))] = outbox.as_slice() else { panic!("one failed letter: {outbox:?}") };
    assert!(!delivered && !body.is_empty(), "the letter is kept to be sent once a folder is set");
    assert!(error.contains("set [notify] letters_dir"), "{error}");
    let mailbox = FileNotifier::read_mailbox(&app.mailbox).unwrap();
    assert!(mailbox.iter().all(|m| m.channel != Channel::Letter), "a letter in the mailbox is never posted");
}
