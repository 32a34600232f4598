//! `GET|POST /intermediari/lotti`: an office files a batch of up to 10,000 applications from a CSV file
//! (docs/specs/batch.md; `sportello_usecases::intermediaries::batch`). The file is read as it arrives, chunk by
//! chunk, each complete line filed as the operator's form files one; the answer is the report, a row per line:
//! accepted or refused with the protocol number and the law's reasons, or what is wrong and where. The same file
//! again files nothing new. The form's token must come before the file, so that nothing is filed without it.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use sportello_usecases::intermediaries::batch::{Batch, COLUMNS, MAX_ROWS, Outcome, RowReport};

use super::page::{Header, IntermError, OrInterm, forbidden_form, problem};
use super::session::Operator;
use crate::apply::form::message;
use crate::auth::AuthState;
use crate::auth::session::ClientAddr;
use crate::i18n::Lang;
use crate::render::{LAST_UPDATE, render_with};

/// A row of the report as the page shows it.
struct Row {
    line: u64,
    codice_fiscale: String,
    outcome: &'static str,
    protocol: String,
    detail: String,
}

/// The counts at the top of the report.
#[derive(Default)]
struct Totals {
    accepted: usize,
    refused: usize,
    not_filed: usize,
    again: usize,
}

#[derive(Template)]
#[template(path = "intermediaries/batch.html")]
struct BatchPage {
    lang: Lang,
    last_update: &'static str,
    header: Option<Header>,
    columns: String,
    max_rows: usize,
    report: Option<(Totals, Vec<Row>)>,
}

/// `GET /intermediari/lotti`: the upload form, with the columns the file must have.
pub async fn form(operator: Operator) -> Response {
    page(&operator, None)
}

fn page(operator: &Operator, report: Option<(Totals, Vec<Row>)>) -> Response {
    let page = BatchPage {
        lang: Lang::It,
        last_update: LAST_UPDATE,
        header: Some(operator.header.clone()),
        columns: COLUMNS.join(","),
        max_rows: MAX_ROWS,
        report,
    };
    render_with(StatusCode::OK, &page)
}

/// The report of `rows`, in the operator's words.
fn report(rows: Vec<RowReport>) -> (Totals, Vec<Row>) {
    let mut totals = Totals::default();
    let rows = rows
        .into_iter()
        .map(|row| {
            let (outcome, protocol, detail) = match row.outcome {
                Outcome::Accepted { protocol, again } => {
                    totals.accepted += 1;
                    totals.again += usize::from(again);
                    (
                        "accolta",
                        protocol,
                        if again { "già presentata con un caricamento precedente".into() } else { String::new() },
                    )
                }
                Outcome::Refused { protocol, again, reasons } => {
                    totals.refused += 1;
                    totals.again += usize::from(again);
                    let reasons: Vec<String> =
                        reasons.iter().map(|(text, article)| format!("{text} ({article})")).collect();
                    ("respinta", protocol, reasons.join("; "))
                }
                Outcome::AlreadyHolds { protocol } => {
                    totals.not_filed += 1;
                    let detail =
                        format!("il cittadino ha già la domanda {protocol} per lo stesso periodo: non presentata");
                    ("non presentata", String::new(), detail)
                }
                Outcome::Invalid(invalid) => {
                    totals.not_filed += 1;
                    let detail: Vec<String> =
                        invalid.iter().map(|i| format!("colonna {}: {}", i.field(), message(i, Lang::It))).collect();
                    ("errore", String::new(), detail.join("; "))
                }
                Outcome::Error { column, message } => {
                    totals.not_filed += 1;
                    let detail = match column {
                        Some(column) => format!("colonna {column}: {message}"),
                        None => message,
                    };
                    ("errore", String::new(), detail)
                }
            };
            Row { line: row.line, codice_fiscale: row.codice_fiscale, outcome, protocol, detail }
        })
        .collect();
    (totals, rows)
}

/// `POST /intermediari/lotti`: files the batch as it arrives and answers its report.
pub async fn upload(
    State(state): State<AuthState>,
    operator: Operator,
    from: ClientAddr,
    mut multipart: Multipart,
) -> Result<Response, IntermError> {
    let header = Some(&operator.header);
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            let message = format!("Il file supera il limite di {MAX_ROWS} righe: lo divida in più lotti.");
            problem(StatusCode::PAYLOAD_TOO_LARGE, header, "File troppo grande", &message)
        } else {
            problem(StatusCode::BAD_REQUEST, header, "Richiesta non valida", "Il modulo inviato non è leggibile.")
        }
    };
    let from = from.0.map(|addr| addr.ip().to_string());
    let store = state.app.store.as_ref();
    let mut token_ok = false;
    let mut filed = None;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Ok(unreadable(e)),
        };
        match field.name().unwrap_or_default() {
            "csrf" => token_ok = field.text().await.is_ok_and(|token| operator.token_ok(&state, &token)),
            "lotto" if token_ok && filed.is_none() => {
                let now = state.auth.now();
                let mut batch =
                    Batch::new(store, &state.app.decrees, &operator.seat, from.clone(), now).or_interm(header)?;
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => batch.feed(&chunk).await.or_interm(header)?,
                        Ok(None) => break,
                        Err(e) => return Ok(unreadable(e)),
                    }
                }
                filed = Some(batch.finish().await.or_interm(header)?);
            }
            // The file before the token, or anything else: not read.
            _ => {}
        }
    }
    match filed {
        Some(rows) => Ok(page(&operator, Some(report(rows)))),
        None if !token_ok => Ok(forbidden_form(header)),
        None => Ok(problem(StatusCode::UNPROCESSABLE_ENTITY, header, "Nessun file", "Scelga il file CSV del lotto.")),
    }
}
