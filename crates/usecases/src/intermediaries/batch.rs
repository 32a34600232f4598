//! A batch: an office files up to [`MAX_ROWS`] applications at once from a CSV file (docs/specs/batch.md), each row
//! filed as the operator's form files one ([`super::filing::file`]: under a mandate of the office in force today,
//! for a decree the office's kind may file, decided by the law). The file is read as it arrives, a line at a time
//! ([`Batch::feed`]), never held whole. Each row gets its outcome: accepted, refused with the law's reasons, or an
//! error naming the line and the column. A row's idempotency key is drawn from the office and the row's bytes, so
//! the same file uploaded again files nothing new and reports the applications it filed the first time.

use chrono::{DateTime, Utc};
use sha2::Digest as _;
use sportello_domain::intermediaries::Role;
use sportello_domain::law::{DeclarationKind, Decrees};
use sportello_domain::{CodiceFiscale, IdempotencyKey};
use sportello_store::{ApplicationStatus, Store, Submission};

pub use super::batch_file::{BatchError, COLUMNS, MAX_LINE_BYTES, MAX_ROWS};
use super::filing;
use super::mandates::Seat;
use crate::apply::Draft;
use crate::draft::{self, DraftInput, Invalid, PaymentChoice};
use crate::error::{ErrorKind, UseCaseError};

/// What became of one row.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Filed and accepted; `again` when the same row had been filed before (the application recorded then).
    Accepted {
        /// Its protocol number.
        protocol: String,
        /// Filed by an earlier upload.
        again: bool,
    },
    /// Filed and refused by the law, with its reasons (text, article).
    Refused {
        /// Its protocol number.
        protocol: String,
        /// Filed by an earlier upload.
        again: bool,
        /// Why, each citing its article.
        reasons: Vec<(String, String)>,
    },
    /// Not filed: the citizen already holds an indemnity of the same group (art. 31 DL 18/2020; art. 84 DL 34/2020).
    AlreadyHolds {
        /// The application that holds it.
        protocol: String,
    },
    /// Not filed: what the row says is not an application (the column, and what is wrong).
    Invalid(Vec<Invalid>),
    /// Not filed, for the reason given, about `column` (none: the whole line).
    Error {
        /// The column at fault.
        column: Option<&'static str>,
        /// What is wrong, in words.
        message: String,
    },
}

/// One row's report.
#[derive(Debug, Clone)]
pub struct RowReport {
    /// Its line in the file (the header is line 1).
    pub line: u64,
    /// The codice fiscale as written.
    pub codice_fiscale: String,
    /// What became of it.
    pub outcome: Outcome,
}

/// A batch being read: feed it the file's bytes as they arrive, then [`Batch::finish`].
pub struct Batch<'a> {
    store: &'a dyn Store,
    decrees: &'a Decrees,
    seat: &'a Seat,
    from: Option<String>,
    now: DateTime<Utc>,
    pending: Vec<u8>,
    /// Inside a line already reported as too long: its rest is dropped up to its newline.
    skipping: bool,
    line: u64,
    rows: usize,
    report: Vec<RowReport>,
}

impl<'a> Batch<'a> {
    /// A batch for the office of `seat`, filed at `now` from `from`: only the office's head files one.
    pub fn new(
        store: &'a dyn Store,
        decrees: &'a Decrees,
        seat: &'a Seat,
        from: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Self, UseCaseError> {
        if seat.role != Role::Responsabile {
            return Err(BatchError::NotHead(seat.office).into());
        }
        let (pending, report) = (Vec::new(), Vec::new());
        Ok(Self { store, decrees, seat, from, now, pending, skipping: false, line: 0, rows: 0, report })
    }

    /// Files every complete line of `chunk` (with what an earlier chunk left incomplete). Fails only when the store
    /// cannot be reached, or the first line is not the header: what was filed before stays filed.
    pub async fn feed(&mut self, chunk: &[u8]) -> Result<(), UseCaseError> {
        self.pending.extend_from_slice(chunk);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            if std::mem::take(&mut self.skipping) {
                continue;
            }
            self.line_read(&line[..line.len() - 1]).await?;
        }
        if self.pending.len() > MAX_LINE_BYTES {
            // No row is this long: report it once and drop the rest of it up to its newline.
            if !self.skipping {
                self.too_long()?;
            }
            self.pending.clear();
            self.skipping = true;
        }
        Ok(())
    }

    /// The report of the lines filed so far, a row per line after the header.
    pub fn report_so_far(&self) -> &[RowReport] {
        &self.report
    }

    /// Whether the header has been read and accepted, so that the rows that follow will be filed.
    pub fn has_header(&self) -> bool {
        self.line > 0
    }

    /// Files the last line, if it had no newline, and answers the report, a row per line after the header.
    pub async fn finish(mut self) -> Result<Vec<RowReport>, UseCaseError> {
        if !self.pending.is_empty() && !self.skipping {
            let line = std::mem::take(&mut self.pending);
            self.line_read(&line).await?;
        }
        if self.line == 0 {
            return Err(BatchError::Empty.into());
        }
        Ok(self.report)
    }

    /// Reports the next line as too long; as line 1, the header it cannot be refuses the file.
    fn too_long(&mut self) -> Result<(), UseCaseError> {
        if self.line == 0 {
            let found = format!("a line of more than {MAX_LINE_BYTES} bytes");
            return Err(BatchError::Header { found }.into());
        }
        self.line += 1;
        let message = format!("a line longer than {MAX_LINE_BYTES} bytes: not filed");
        let outcome = Outcome::Error { column: None, message };
        self.report.push(RowReport { line: self.line, codice_fiscale: String::new(), outcome });
        Ok(())
    }

    async fn line_read(&mut self, line: &[u8]) -> Result<(), UseCaseError> {
        if line.len() > MAX_LINE_BYTES {
            return self.too_long();
        }
        self.line += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if self.line == 1 {
            let header = String::from_utf8_lossy(line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line));
            if header.trim().split(',').map(str::trim).ne(COLUMNS) {
                return Err(BatchError::Header { found: header.trim().to_owned() }.into());
            }
            return Ok(());
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        self.rows += 1;
        let (codice_fiscale, outcome) = if self.rows > MAX_ROWS {
            let message = format!("beyond the {MAX_ROWS} rows a batch may hold: not filed");
            (String::new(), Outcome::Error { column: None, message })
        } else {
            self.row(line).await?
        };
        self.report.push(RowReport { line: self.line, codice_fiscale, outcome });
        Ok(())
    }

    /// Files one row: the codice fiscale as written and its outcome.
    async fn row(&self, line: &[u8]) -> Result<(String, Outcome), UseCaseError> {
        let error = |column: Option<&'static str>, message: String| Outcome::Error { column, message };
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(line);
        let record = match reader.records().next() {
            Some(Ok(record)) => record,
            Some(Err(e)) => return Ok((String::new(), error(None, format!("not a CSV row: {e}")))),
            None => return Ok((String::new(), error(None, "an empty row".to_owned()))),
        };
        let field = |i: usize| record.get(i).map(str::trim).unwrap_or_default();
        let written = field(0).to_owned();
        if record.len() != COLUMNS.len() {
            let message = format!("{} fields, not the {} of the header", record.len(), COLUMNS.len());
            return Ok((written, error(None, message)));
        }
        let Ok(subject) = CodiceFiscale::parse(&written.to_uppercase()) else {
            return Ok((written, error(Some("codice_fiscale"), "not a codice fiscale".to_owned())));
        };
        let typed = |i: usize| Some(field(i).to_owned()).filter(|v| !v.is_empty());
        let mut input = DraftInput {
            scheme: field(1).to_owned(),
            payment: match field(2) {
                "iban" => PaymentChoice::Iban(field(3).to_owned()),
                "domiciliato" => PaymentChoice::Domiciliato,
                _ => PaymentChoice::None,
            },
            email: typed(4),
            mobile: typed(5),
            declarations: DeclarationKind::ALL
                .into_iter()
                .zip(6..)
                .filter(|&(_, i)| matches!(field(i), "si" | "sì"))
                .map(|(kind, _)| kind)
                .collect(),
            figures: Default::default(),
            unreadable: Default::default(),
        };
        draft::read_figures(&mut input, [("income_2019_bimester_2", field(10)), ("income_2020_bimester_2", field(11))]);
        // Without a contact in the row, the receipt goes to those on file.
        if input.email.is_none()
            && input.mobile.is_none()
            && let Some(person) = self.store.person(&subject).await?
        {
            input.email = person.email;
            input.mobile = person.cellulare;
        }
        let details = match draft::validate(self.decrees, &input) {
            Ok((_, details)) => details,
            Err(invalid) => return Ok((written, Outcome::Invalid(invalid))),
        };
        let digest = sha2::Sha256::digest([self.seat.office.as_str().as_bytes(), b"\n", line].concat());
        let key = IdempotencyKey::parse(&hex::encode(digest)[..32])
            .map_err(|e| UseCaseError::Service(format!("a batch row's idempotency key: {e}")))?;
        let draft = Draft { scheme: input.scheme.clone(), idempotency_key: key, details };
        let filed =
            filing::file(self.store, self.decrees, self.seat, subject, draft, self.from.clone(), self.now).await;
        let (application, again) = match filed {
            Ok(Submission::Created(a)) => (a, false),
            Ok(Submission::Duplicate(a)) => (a, true),
            Ok(Submission::AlreadyHolds(first)) => {
                return Ok((written, Outcome::AlreadyHolds { protocol: first.protocol.to_string() }));
            }
            Err(e) => {
                let outcome = match e.kind() {
                    ErrorKind::Unavailable => return Err(e),
                    ErrorKind::NotFound => {
                        error(Some("codice_fiscale"), "no mandate of this office for this citizen is in force".into())
                    }
                    ErrorKind::Forbidden => error(Some("scheme"), e.to_string()),
                    _ => error(None, e.to_string()),
                };
                return Ok((written, outcome));
            }
        };
        let protocol = application.protocol.to_string();
        let outcome = if application.status == ApplicationStatus::Rejected {
            let reasons = application.reasons.iter().map(|r| (r.it.clone(), r.article.clone())).collect();
            Outcome::Refused { protocol, again, reasons }
        } else {
            Outcome::Accepted { protocol, again }
        };
        Ok((written, outcome))
    }
}
