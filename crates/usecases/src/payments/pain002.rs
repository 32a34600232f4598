//! The bank's status report, ISO 20022 `pain.002.001.03`: for each transfer of an earlier file, whether it was
//! accepted or rejected and why. Read as a stream, so a report on millions of transfers holds one at a time.

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::Event;
use sportello_store::PaymentOutcome;

/// Why a status report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Not well-formed XML.
    #[error("the status report is not well-formed XML near byte {position}: {message}")]
    Xml {
        /// Where the reader stopped.
        position: u64,
        /// What it found.
        message: String,
    },
    /// Not a pain.002.
    #[error("the file is not a pain.002 status report (its root holds no CstmrPmtStsRpt)")]
    NotAReport,
    /// A transaction status without the end-to-end id it is about.
    #[error("transaction status {0} without an OrgnlEndToEndId: the report cannot be matched to payments")]
    MissingEndToEndId(usize),
}

/// What the report says, transaction by transaction.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// Payments accepted (ACCP, ACSC) or rejected (RJCT, with its reason code).
    pub outcomes: Vec<PaymentOutcome>,
    /// Transactions with another status (pending, in process): left as they are.
    pub pending: u64,
}

/// Reads a pain.002.001.03 status report. Only transaction-level statuses (`TxInfAndSts`) are taken: they name the
/// payment by its end-to-end id, our protocol number.
pub fn read(input: impl BufRead) -> Result<StatusReport, ReportError> {
    let mut reader = Reader::from_reader(input);
    reader.config_mut().trim_text(true);
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut report = StatusReport::default();
    let mut seen_report = false;
    let mut transactions = 0usize;
    // The transaction being read: its end-to-end id, status and first reason code.
    let mut end_to_end: Option<String> = None;
    let mut status: Option<String> = None;
    let mut reason: Option<String> = None;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| ReportError::Xml { position: reader.buffer_position(), message: e.to_string() })?;
        match event {
            Event::Start(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                if name == "CstmrPmtStsRpt" {
                    seen_report = true;
                }
                if name == "TxInfAndSts" {
                    end_to_end = None;
                    status = None;
                    reason = None;
                }
                path.push(name);
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                if name == "TxInfAndSts" {
                    transactions += 1;
                    let protocol = end_to_end.take().ok_or(ReportError::MissingEndToEndId(transactions))?;
                    match status.take().as_deref() {
                        Some("ACCP" | "ACSC") => report.outcomes.push(PaymentOutcome { protocol, returned: None }),
                        Some("RJCT") => report.outcomes.push(PaymentOutcome {
                            protocol,
                            // A rejection without a code is still a rejection; NARR says "see the narrative".
                            returned: Some(reason.take().unwrap_or_else(|| "NARR".to_owned())),
                        }),
                        _ => report.pending += 1,
                    }
                }
            }
            Event::Text(text) => {
                let value = text
                    .decode()
                    .map_err(|e| ReportError::Xml { position: reader.buffer_position(), message: e.to_string() })?
                    .trim()
                    .to_owned();
                if path.iter().any(|n| n == "TxInfAndSts") {
                    if ends_with(&path, &["TxInfAndSts", "OrgnlEndToEndId"]) {
                        end_to_end = Some(value);
                    } else if ends_with(&path, &["TxInfAndSts", "TxSts"]) {
                        status = Some(value);
                    } else if ends_with(&path, &["StsRsnInf", "Rsn", "Cd"]) && reason.is_none() {
                        reason = Some(value);
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !seen_report {
        return Err(ReportError::NotAReport);
    }
    Ok(report)
}

/// Whether the innermost elements of `path` are `names`.
fn ends_with(path: &[String], names: &[&str]) -> bool {
    path.len() >= names.len() && path[path.len() - names.len()..].iter().zip(names).all(|(a, b)| a == b)
}
