//! A citizen's whole journey in a real browser: `e2e/journey.mjs` drives Debian's Chromium (through the npm package
//! `playwright-core`) against `sportello serve` with its waiting room — the queue, the PIN asked for and read from
//! the mailbox, the login, the situation, the application and its receipt, the English pages and the error states —
//! and axe-core checks every page against WCAG 2.1 A and AA. Every page must be there, with no violation.
//!
//! Screenshots go to a temporary folder; `SPORTELLO_SCREENSHOTS=docs/screenshots` (as `scripts/drills` sets; a
//! relative path is taken from the workspace root) keeps them for the README. Chromium comes from Debian's package
//! (`chromium`; `.ci/run` installs it); where it is missing the test skips saying so, and under `CI=true` it fails.
//! Node and npm are already needed to build the portal; the test installs `e2e/package-lock.json` with `npm ci` when
//! `e2e/node_modules` is missing.
//!
//! The institute's officer goes through the back office the same way (`e2e/office.mjs`): the login, the desk, a case
//! refused without a reason and opened with one, the dashboard, subject access and the breach assessment; their
//! screenshots follow the citizen's.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{HEADER, Sandbox, Server, stderr};

/// The pages the journey checks, in order: each must print its `DRILL axe` line.
const PAGES: &[&str] = &[
    "attesa",
    "attesa-coda",
    "home",
    "pin",
    "pin-errore",
    "pin-inviato",
    "accedi",
    "accedi-errore",
    "situazione",
    "domanda",
    "domanda-mobile",
    "domanda-en",
    "domanda-errore",
    "riepilogo",
    "ricevuta",
    "domande",
    "situazione-titolare",
    "domanda-non-cumulabile",
    "home-en",
    "pin-en",
    "accedi-en",
    "situazione-en",
    "ricevuta-en",
    "domande-en",
    "stato",
    "stato-en",
    "accessibilita",
    "privacy",
    "ricevuta-stampa",
    "domande-mobile",
    "uscita",
];

/// A professional of the Gestione separata since 2015 who also worked 60 days on farms in 2019: entitled to the
/// allowances of arts. 27 and 30, of which art. 31 lets them have one.
const CITIZEN: &str = "RSSMRA80A01H501U";

/// The citizen's name on file (the persons import), by which the header names whoever is logged in.
const SURNAME: &str = "Rossi";
const GIVEN_NAME: &str = "Mario";

/// The e-mail the journey asks the PIN at (`CONTACT` in e2e/journey.mjs), here on file as hers.
const CONTACT: &str = "cittadina@example.it";

/// The repository's root.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Debian's Chromium (or `$CHROMIUM`), or `None` (having said why) when it is not installed outside CI.
fn chromium() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()));
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("Chromium is not installed at {} (Debian package chromium): .ci/run installs it", path.display());
    }
    eprintln!("skipped: Chromium is not installed at {} (apt-get install chromium)", path.display());
    None
}

/// `e2e/` with its npm packages installed, as `e2e/package-lock.json` pins them.
fn e2e() -> PathBuf {
    let dir = workspace().join("e2e");
    if !dir.join("node_modules/playwright-core").is_dir() || !dir.join("node_modules/axe-core").is_dir() {
        let out = Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"])
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run npm in {} (Node.js and npm are needed): {e}", dir.display()));
        assert!(
            out.status.success(),
            "`npm ci` in {} failed: it installs e2e/package-lock.json from the npm registry, or npm's cache when \
             offline\n{}",
            dir.display(),
            stderr(&out)
        );
    }
    dir
}

/// Where the screenshots go: `$SPORTELLO_SCREENSHOTS` (from the workspace root when relative), or `scratch`.
fn screenshots(scratch: PathBuf) -> PathBuf {
    match std::env::var_os("SPORTELLO_SCREENSHOTS") {
        Some(dir) => workspace().join(dir),
        None => scratch,
    }
}

/// A gated portal: one room over everything, open since the first of April, with room for one person inside (so
/// the journey's citizen waits behind a first visitor), easy proofs of work, refreshes every second; PINs go to the
/// mailbox file; a payment run is announced; the waiting room offers "avvisami".
fn config(mailbox: &Path) -> String {
    // A payment run a month ahead, which the receipt names.
    let run = (chrono::Utc::now() + chrono::TimeDelta::days(30)).format("%Y-%m-%d");
    format!(
        "[payments]\nrun_dates = [\"{run}\"]\n\n[notify]\nmailbox = \"{}\"\n\n\
         [gate]\nsigning_key = \"{}\"\ncontrol_cache_ms = 0\n\n[gate.pow]\nmin_bits = 4\nmax_bits = 6\n\n\
         [[gate.rooms]]\nkey = \"cittadini\"\npath = \"/\"\nwindows = [{{ from = \"2020-04-01T16:00\" }}]\n\
         capacity = {{ admit_per_sec = 10, burst = 10, max_active = 1, pass_ttl_secs = 600, claim_grace_secs = 60, \
         refresh_interval_secs = 1, ticket_ttl_secs = 30 }}\n\n\
         [gate.reminders]\npublic_url = \"http://127.0.0.1\"\n",
        mailbox.display(),
        "07".repeat(32)
    )
}

#[test]
fn a_citizen_goes_through_the_portal_in_a_browser_and_every_page_passes_axe() {
    let Some(chromium) = chromium() else { return };
    let e2e = e2e();
    let sandbox = Sandbox::new();
    let extract = sandbox.file(
        "extract.csv",
        &format!(
            "{HEADER}{CITIZEN},gestione_separata_professionista,2015-06-01,,,,,\n\
             {CITIZEN},operaio_agricolo_td,,,2019,60,,\n"
        ),
    );
    let out = sandbox.run(&["registry", "import", extract.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Her personal record, with the e-mail the journey asks the PIN at: the first half goes there, and her
    // application is paid at the next run rather than held until she confirms.
    let persons = sandbox.file(
        "persons.csv",
        &format!(
            "codice_fiscale,cognome,nome,data_nascita,indirizzo,cap,comune,provincia,email,cellulare\n\
             {CITIZEN},{SURNAME},{GIVEN_NAME},1980-01-01,Via Appia Nuova 12,00183,Roma,RM,{CONTACT},\n"
        ),
    );
    let out = sandbox.run(&["registry", "persons", persons.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mailbox = sandbox.path("mailbox.jsonl");
    let file = sandbox.file("sportello.toml", &config(&mailbox));
    let portal = Server::start(sandbox.dir.path(), &sandbox.database_url, &["--config", file.to_str().unwrap()], &[]);

    let shots = screenshots(sandbox.path("screenshots"));
    let out = Command::new("node")
        .arg(e2e.join("journey.mjs"))
        .arg(&portal.base)
        .args(["--mailbox", mailbox.to_str().unwrap(), "--cf", CITIZEN, "--name", &format!("{GIVEN_NAME} {SURNAME}")])
        .args(["--shots", shots.to_str().unwrap()])
        .env("CHROMIUM", &chromium)
        .current_dir(&e2e)
        .output()
        .expect("node runs (Node.js is needed to build the portal too)");
    drop(portal);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    // Seen with --nocapture: the page lines feed scripts/drills' table.
    println!("{report}");
    assert!(out.status.success(), "the browser journey failed:\n{report}\n{}", stderr(&out));

    let checked: Vec<(&str, &str)> = report
        .lines()
        .filter_map(|line| line.strip_prefix("DRILL axe page="))
        .map(|rest| {
            let (page, rest) = rest.split_once(' ').unwrap();
            (page, rest.rsplit_once("violations=").unwrap().1)
        })
        .collect();
    let names: Vec<&str> = checked.iter().map(|(page, _)| *page).collect();
    assert_eq!(names, PAGES, "every page of the journey was checked, in order");
    for (page, violations) in &checked {
        assert_eq!(*violations, "0", "axe violations on {page}:\n{report}");
    }
    for (number, page) in PAGES.iter().enumerate() {
        let shot = shots.join(format!("{:02}-{page}.png", number + 1));
        let size = std::fs::metadata(&shot).unwrap_or_else(|e| panic!("{}: {e}", shot.display())).len();
        assert!(size > 10_000, "{} is {size} bytes: not a screenshot of a page", shot.display());
    }
}

/// The officer's pages, in order, after the citizen's.
const OFFICE_PAGES: &[&str] = &[
    "ufficio-accedi",
    "ufficio-accedi-errore",
    "ufficio-pratiche",
    "ufficio-pratica-errore",
    "ufficio-pratica",
    "ufficio-cruscotto",
    "ufficio-accesso",
    "ufficio-accesso-riepilogo",
    "ufficio-violazioni",
    "ufficio-violazioni-esito",
];

#[test]
fn an_officer_goes_through_the_back_office_in_a_browser_and_every_page_passes_axe() {
    let Some(chromium) = chromium() else { return };
    let e2e = e2e();
    let sandbox = Sandbox::new();
    let extract =
        sandbox.file("extract.csv", &format!("{HEADER}{CITIZEN},gestione_separata_professionista,2015-06-01,,,,,\n"));
    let out = sandbox.run(&["registry", "import", extract.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The data protection officer's account.
    let password = "una password lunga per il browser";
    sandbox.officer("dpo.browser", "dpo", password);
    let password_file = sandbox.file("password", password);
    let portal = Server::start(sandbox.dir.path(), &sandbox.database_url, &[], &[]);

    let shots = screenshots(sandbox.path("screenshots"));
    let first = (PAGES.len() + 1).to_string();
    let out = Command::new("node")
        .arg(e2e.join("office.mjs"))
        .arg(&portal.base)
        .args(["--user", "dpo.browser", "--password-file", password_file.to_str().unwrap(), "--cf", CITIZEN])
        .args(["--shots", shots.to_str().unwrap(), "--first", &first])
        .env("CHROMIUM", &chromium)
        .current_dir(&e2e)
        .output()
        .expect("node runs (Node.js is needed to build the portal too)");
    drop(portal);
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{report}");
    assert!(out.status.success(), "the officer's journey failed:\n{report}\n{}", stderr(&out));
    let checked: Vec<(&str, &str)> = report
        .lines()
        .filter_map(|line| line.strip_prefix("DRILL axe page="))
        .map(|rest| {
            let (page, rest) = rest.split_once(' ').unwrap();
            (page, rest.rsplit_once("violations=").unwrap().1)
        })
        .collect();
    let names: Vec<&str> = checked.iter().map(|(page, _)| *page).collect();
    assert_eq!(names, OFFICE_PAGES, "every page of the officer's journey was checked, in order");
    for (page, violations) in &checked {
        assert_eq!(*violations, "0", "axe violations on {page}:\n{report}");
    }
    for (number, page) in OFFICE_PAGES.iter().enumerate() {
        let shot = shots.join(format!("{:02}-{page}.png", PAGES.len() + number + 1));
        let size = std::fs::metadata(&shot).unwrap_or_else(|e| panic!("{}: {e}", shot.display())).len();
        assert!(size > 10_000, "{} is {size} bytes: not a screenshot of a page", shot.display());
    }
}
