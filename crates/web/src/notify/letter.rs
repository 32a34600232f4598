//! Letters by post: each message on the `letter` channel becomes a print-ready PDF (A4, for a DL window envelope)
//! in a folder the institute's print room collects from. It carries half a PIN, so the file is readable by its
//! owner only, written whole or not at all, and named without personal data.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};

use super::{Message, Notifier, NotifyError, mask_recipient};

pub mod layout;
pub mod winansi;

/// The institute, as the letter's sender block prints it.
const SENDER: [&str; 4] = [
    "INPS – Istituto Nazionale della Previdenza Sociale",
    "Direzione generale – Sportello indennità COVID-19 (DL 18/2020)",
    "Via Ciro il Grande, 21",
    "00144 Roma",
];
/// The sender in one line, above the address in the window, where the post looks for the return address.
const RETURN_LINE: &str = "INPS – Via Ciro il Grande, 21 – 00144 Roma";
/// Where the letters are signed.
const PLACE: &str = "Roma";

/// A postal address as the `letter` channel carries it: 2 to 6 lines (name; street; CAP comune provincia …) that
/// the letter font can print.
#[derive(Clone, PartialEq, Eq)]
pub struct Address {
    /// The lines in WinAnsi, as printed.
    lines: Vec<Vec<u8>>,
}

impl Address {
    /// Reads a recipient of lines separated by `\n`; the error says which line is wrong and why, never the address.
    pub fn parse(recipient: &str) -> Result<Self, NotifyError> {
        let invalid = |reason: String| NotifyError::InvalidRecipient { recipient: mask_recipient(recipient), reason };
        let lines: Vec<&str> = recipient.split('\n').collect();
        if !(2..=6).contains(&lines.len()) {
            return Err(invalid(format!(
                "a postal address has 2 to 6 lines (name, street, CAP comune provincia), not {}",
                lines.len()
            )));
        }
        let mut printed = Vec::with_capacity(lines.len());
        for (index, line) in lines.iter().enumerate() {
            let number = index + 1;
            if let Some(c) = line.chars().find(|c| c.is_control()) {
                return Err(invalid(format!("line {number} holds the control character U+{:04X}", u32::from(c))));
            }
            let line = line.trim();
            if line.is_empty() {
                return Err(invalid(format!("line {number} is empty")));
            }
            let encoded = winansi::encode(line).map_err(|c| {
                invalid(format!("line {number} holds U+{:04X}, which the letter font cannot print", u32::from(c)))
            })?;
            printed.push(encoded);
        }
        layout::address_size(&printed).map_err(|e| invalid(e.to_string()))?;
        Ok(Address { lines: printed })
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Address").field("lines", &self.lines.len()).finish_non_exhaustive()
    }
}

use sportello_domain::clock::Clock;

/// Writes each letter as a PDF into a folder, one file per message.
pub struct LetterNotifier {
    dir: PathBuf,
    clock: Clock,
}

impl LetterNotifier {
    /// A notifier writing into `dir` (created, owner-only, when the first letter is written), dated by the system
    /// clock.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        LetterNotifier { dir: dir.into(), clock: sportello_domain::clock::system_clock() }
    }

    /// The same notifier dating its letters by `clock`.
    pub fn with_clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The folder the letters are written into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The PDF of `message` (whose recipient is `address`) dated `at`.
    pub fn pdf(message: &Message, address: &Address, at: DateTime<Utc>) -> Result<Vec<u8>, NotifyError> {
        let date = at.with_timezone(&chrono_tz::Europe::Rome).format("%d/%m/%Y");
        let place_date = format!("{PLACE}, {date}");
        let letter = layout::Letter {
            sender: &SENDER,
            return_line: RETURN_LINE,
            address: &address.lines,
            place_date: &place_date,
            subject: &message.subject,
            body: &message.body,
        };
        let sheets = layout::compose(&letter).map_err(|e| NotifyError::InvalidRecipient {
            recipient: mask_recipient(&message.recipient),
            reason: e.to_string(),
        })?;
        Ok(layout::render(&sheets, &message.subject))
    }

    /// The file a message is written to: `lettera-<day>-<digest>.pdf`, the digest of the whole message, so that a
    /// message the outbox delivers again (at least once) replaces its letter instead of printing a second one.
    ///
    /// The digest reveals nothing a reader of the folder could not read in the letters themselves: guessing the
    /// message back from it needs its name, codice fiscale and PIN half, and the folder is its owner's only.
    pub fn file_name(message: &Message, at: DateTime<Utc>) -> String {
        let mut hash = Sha256::new();
        for part in [&message.recipient, &message.subject, &message.body] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        let digest = hash.finalize();
        let day = at.with_timezone(&chrono_tz::Europe::Rome).format("%Y%m%d");
        format!("lettera-{day}-{}.pdf", hex::encode(&digest[..16]))
    }
}

/// Tells apart the temporary files of concurrent writes in one process.
static TEMPORARY: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `dir/name` whole or not at all: into a temporary file created for the owner only (0600),
/// flushed to disk, then renamed over the name, and the folder flushed, so that a letter acknowledged is on disk.
fn write_private_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let mut folder = std::fs::DirBuilder::new();
    folder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
    folder.create(dir)?;

    let n = TEMPORARY.fetch_add(1, Ordering::Relaxed);
    let temporary = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    // Letters carry half a PIN: only their owner may read them.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temporary, dir.join(name)));
    if let Err(error) = renamed {
        let _ = std::fs::remove_file(&temporary);
        return Err(error);
    }
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[async_trait]
impl Notifier for LetterNotifier {
    async fn send(&self, message: &Message) -> Result<(), NotifyError> {
        let address = Address::parse(&message.recipient)?;
        let now = (self.clock)();
        let dir = self.dir.clone();
        let message = message.clone();
        let folder_error = |source| NotifyError::Letters { path: self.dir.clone(), source };
        tokio::task::spawn_blocking(move || {
            let pdf = Self::pdf(&message, &address, now)?;
            let name = Self::file_name(&message, now);
            write_private_atomically(&dir, &name, &pdf).map_err(|source| NotifyError::Letters { path: dir, source })
        })
        .await
        .map_err(|e| folder_error(std::io::Error::other(e)))?
    }
}

impl fmt::Debug for LetterNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LetterNotifier").field("dir", &self.dir).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::Channel;

    const ADDRESS: &str = "Mario Rossi\nVia Appia Nuova 12\n00183 Roma RM";

    fn message(recipient: &str, body: &str) -> Message {
        Message {
            channel: Channel::Letter,
            recipient: recipient.into(),
            subject: "PIN INPS: seconda parte".into(),
            body: body.into(),
        }
    }

    fn at(instant: &str) -> DateTime<Utc> {
        instant.parse().unwrap()
    }

    /// The text of a PDF as poppler's `pdftotext` reads it (poppler-utils, installed by `.ci/run`).
    pub fn pdftotext(pdf: &Path) -> String {
        let output = std::process::Command::new("pdftotext")
            .args(["-enc", "UTF-8"])
            .arg(pdf)
            .arg("-")
            .output()
            .expect("pdftotext (Debian: apt-get install poppler-utils)");
        assert!(output.status.success(), "pdftotext {}: {}", pdf.display(), String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    }

    fn letters_in(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        files
    }

    #[tokio::test]
    async fn a_letter_is_a_pdf_readable_by_its_owner_only_named_without_personal_data() {
        let dir = tempfile::tempdir().unwrap();
        let letters = dir.path().join("letters");
        let notifier = LetterNotifier::new(&letters).with_clock(|| at("2026-11-22T10:00:00Z"));
        let body = "Gentile Mario Rossi,\n\nè stato richiesto un PIN INPS per il Suo codice fiscale RSSMRA80A01H501U. \
                    Ecco la seconda parte del PIN:\n\nEFGH6789\n\nNon comunichi il PIN a nessuno: l'INPS non glielo \
                    chiederà mai.";
        notifier.send(&message(ADDRESS, body)).await.unwrap();

        let files = letters_in(&letters);
        assert_eq!(files.len(), 1, "one file, no temporary left: {files:?}");
        let name = files[0].file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("lettera-20261122-") && name.ends_with(".pdf") && name.len() == 53, "{name}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(std::fs::metadata(&letters).unwrap().permissions().mode() & 0o777, 0o700);
        }

        let text = pdftotext(&files[0]);
        for expected in [
            "INPS – Istituto Nazionale della Previdenza Sociale",
            "Mario Rossi",
            "Via Appia Nuova 12",
            "00183 Roma RM",
            "Roma, 22/11/2026",
            "Oggetto: PIN INPS: seconda parte",
            "è stato richiesto",
            "chiederà mai",
            "EFGH6789",
        ] {
            assert!(text.contains(expected), "{expected:?} in:\n{text}");
        }
        assert!(!text.contains("Pagina"), "one page needs no number:\n{text}");
    }

    #[tokio::test]
    async fn a_message_delivered_again_replaces_its_letter_and_another_is_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let notifier = LetterNotifier::new(dir.path()).with_clock(|| at("2026-11-22T10:00:00Z"));
        notifier.send(&message(ADDRESS, "EFGH6789")).await.unwrap();
        notifier.send(&message(ADDRESS, "EFGH6789")).await.unwrap();
        assert_eq!(letters_in(dir.path()).len(), 1, "delivered at least once, printed once");
        notifier.send(&message(ADDRESS, "JKMN2345")).await.unwrap();
        assert_eq!(letters_in(dir.path()).len(), 2);
    }

    #[tokio::test]
    async fn the_date_is_the_day_in_italy_and_a_long_letter_numbers_its_pages() {
        let dir = tempfile::tempdir().unwrap();
        // 23:30 UTC on 22 November is 00:30 on the 23rd in Rome.
        let notifier = LetterNotifier::new(dir.path()).with_clock(|| at("2026-11-22T23:30:00Z"));
        let body = vec!["Un paragrafo che si ripete per riempire più di una pagina della lettera. ".repeat(5); 14];
        notifier.send(&message(ADDRESS, &body.join("\n\n"))).await.unwrap();
        let files = letters_in(dir.path());
        assert!(files[0].to_str().unwrap().contains("lettera-20261123-"), "{files:?}");
        let text = pdftotext(&files[0]);
        assert!(text.contains("Roma, 23/11/2026"), "{text}");
        assert!(text.contains("Pagina 1 di 2") && text.contains("Pagina 2 di 2"), "{text}");
    }

    #[tokio::test]
    async fn recipients_that_are_not_postal_addresses_are_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let notifier = LetterNotifier::new(dir.path());
        let long = format!("Mario Rossi\nVia {}\n00183 Roma RM", "Lunghissima ".repeat(8));
        let cases = [
            ("one line", "Mario Rossi Via Appia 12 Roma".to_owned(), "2 to 6 lines"),
            ("seven lines", "a\nb\nc\nd\ne\nf\ng".to_owned(), "not 7"),
            ("an empty line", "Mario Rossi\n  \n00183 Roma RM".to_owned(), "line 2 is empty"),
            (
                "a tab",
                "Mario Rossi\nVia Appia\t12\n00183 Roma RM".to_owned(),
                "line 2 holds the control character U+0009",
            ),
            (
                "a carriage return",
                "Mario Rossi\r\n00183 Roma RM".to_owned(),
                "line 1 holds the control character U+000D",
            ),
            ("a character no standard font has", "王小明\n00183 Roma RM".to_owned(), "line 1 holds U+738B"),
            ("a line wider than the window", long, "line 2 of the address is too long"),
        ];
        for (situation, recipient, reason) in cases {
            let error = notifier.send(&message(&recipient, "EFGH6789")).await.unwrap_err();
            let printed = error.to_string();
            assert!(matches!(error, NotifyError::InvalidRecipient { .. }), "{situation}: {printed}");
            assert!(printed.contains(reason), "{situation}: {printed}");
            assert!(!printed.contains("Rossi") && !printed.contains("00183"), "{situation}: no address in {printed}");
            assert!(error.is_permanent(), "{situation}");
        }
        assert!(letters_in(dir.path()).is_empty());
    }

    #[tokio::test]
    async fn a_folder_that_cannot_be_written_is_an_error_worth_retrying() {
        let dir = tempfile::tempdir().unwrap();
        let not_a_folder = dir.path().join("letters");
        std::fs::write(&not_a_folder, "").unwrap();
        let error = LetterNotifier::new(&not_a_folder).send(&message(ADDRESS, "EFGH6789")).await.unwrap_err();
        assert!(matches!(error, NotifyError::Letters { .. }), "{error}");
        assert!(!error.is_permanent() && error.to_string().contains("letters folder"), "{error}");
    }
}
