//! `GET|POST /intermediari/lotti`: an office files a batch of up to 10,000 applications from a CSV file
//! (docs/specs/batch.md; `sportello_usecases::intermediaries::batch`). The file is read as it arrives, chunk by
//! chunk, each complete line filed as the operator's form files one; the answer is a page sent in pieces while the
//! rows are filed (a line of progress every few hundred rows), ending with the report, a row per line: accepted or
//! refused with the protocol number and the law's reasons, or what is wrong and where. The same file
//! again files nothing new. The form's token must come before the file, so that nothing is filed without it.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
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
    /// Whether the page is the head of a batch being filed, its progress and report streamed after it.
    running: bool,
}

/// The report at the end of a streamed batch page.
#[derive(Template)]
#[template(path = "intermediaries/batch_report.html")]
struct ReportPart {
    totals: Totals,
    rows: Vec<Row>,
}

/// Where the streamed page's progress and report go, in the rendered page.
const PROGRESS_MARK: &str = "<!--sportello:progress-->";

/// A line of progress is written after at least this many more rows have been filed.
const PROGRESS_EVERY: usize = 250;

/// `GET /intermediari/lotti`: the upload form, with the columns the file must have.
pub async fn form(operator: Operator) -> Response {
    render_with(StatusCode::OK, &batch_page(&operator, false))
}

fn batch_page(operator: &Operator, running: bool) -> BatchPage {
    BatchPage {
        lang: Lang::It,
        last_update: LAST_UPDATE,
        header: Some(operator.header.clone()),
        columns: COLUMNS.join(","),
        max_rows: MAX_ROWS,
        running,
    }
}

/// The report of `rows`, in the operator's words.
fn report(rows: &[RowReport]) -> (Totals, Vec<Row>) {
    let mut totals = Totals::default();
    let rows = rows
        .iter()
        .map(|row| {
            let (outcome, protocol, detail) = match &row.outcome {
                Outcome::Accepted { protocol, again } => {
                    totals.accepted += 1;
                    totals.again += usize::from(*again);
                    (
                        "accolta",
                        protocol.clone(),
                        if *again { "già presentata con un caricamento precedente".into() } else { String::new() },
                    )
                }
                Outcome::Refused { protocol, again, reasons } => {
                    totals.refused += 1;
                    totals.again += usize::from(*again);
                    let reasons: Vec<String> =
                        reasons.iter().map(|(text, article)| format!("{text} ({article})")).collect();
                    ("respinta", protocol.clone(), reasons.join("; "))
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
                        None => message.clone(),
                    };
                    ("errore", String::new(), detail)
                }
            };
            Row { line: row.line, codice_fiscale: row.codice_fiscale.clone(), outcome, protocol, detail }
        })
        .collect();
    (totals, rows)
}

/// The line of progress after `rows` rows.
fn progress_line(rows: &[RowReport]) -> String {
    let (totals, _) = report(rows);
    format!(
        "<li>Righe elaborate: {} (accolte {} · respinte {} · non presentate {})</li>\n",
        rows.len(),
        totals.accepted,
        totals.refused,
        totals.not_filed
    )
}

/// What the filing task tells the page.
enum Event {
    /// The header was read: the rows are being filed (or the file ended right after it).
    Started,
    /// Refused before anything was filed, with the page that says why.
    Refused(Response),
    /// A piece of the page: progress, the report, or what stopped the batch.
    Html(String),
}

/// The page of a batch that could not go on, after some rows: what was filed stays filed.
fn stopped(what: &str) -> String {
    format!(
        "</ol>\n<div class=\"alert alert-danger\" role=\"alert\" id=\"batch-stopped\"><p class=\"mb-0\">{what} \
         Le righe elaborate fin qui restano presentate; caricando di nuovo lo stesso file non si presenta nulla due \
         volte.</p></div>\n"
    )
}

/// `POST /intermediari/lotti`: files the batch as it arrives. Once the header is read, the answer is a page sent in
/// pieces as the rows are filed: a line of progress every few hundred rows, then the report; before that, a refusal
/// (no token, not the office's head, no header, an unreadable form) has its own status. The filing runs on to the
/// end of the file even if the browser goes away.
pub async fn upload(
    State(state): State<AuthState>,
    operator: Operator,
    from: ClientAddr,
    mut multipart: Multipart,
) -> Result<Response, IntermError> {
    let header = Some(&operator.header);
    // The form's token first: anything before it, or a file before it, is not read.
    let mut token_ok = false;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("csrf") => {
                token_ok = field.text().await.is_ok_and(|token| operator.token_ok(&state, &token));
                break;
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    if !token_ok {
        return Ok(forbidden_form(header));
    }
    let store = state.app.store.as_ref();
    // Only the office's head files a batch: refused before the file is read.
    Batch::new(store, &state.app.decrees, &operator.seat, None, state.auth.now()).or_interm(header)?;
    let page = batch_page(&operator, true).render().map_err(|e| IntermError {
        error: sportello_usecases::UseCaseError::Service(e.to_string()),
        header: header.cloned().map(Box::new),
    })?;
    let (head, tail) = page.split_once(PROGRESS_MARK).unwrap_or((page.as_str(), ""));
    let (head, tail) = (head.to_owned(), tail.to_owned());
    let (events, mut heard) = tokio::sync::mpsc::channel::<Event>(16);
    let from = from.0.map(|addr| addr.ip().to_string());
    tokio::spawn(file_batch(state.clone(), operator.clone(), from, multipart, events));

    match heard.recv().await {
        Some(Event::Started) => {}
        Some(Event::Refused(page)) => return Ok(page),
        Some(Event::Html(_)) | None => {
            let message = "Il lotto non è stato elaborato. Riprovi.";
            return Ok(problem(StatusCode::SERVICE_UNAVAILABLE, header, "Servizio non disponibile", message));
        }
    }
    let first = format!("{head}<ol class=\"list-unstyled\" id=\"progress\">\n");
    let pieces = futures::stream::unfold((Some(first), heard, Some(tail)), |(first, mut heard, tail)| async move {
        if let Some(first) = first {
            return Some((Ok::<_, std::convert::Infallible>(first), (None, heard, tail)));
        }
        match heard.recv().await {
            Some(Event::Html(html)) => Some((Ok(html), (None, heard, tail))),
            Some(Event::Started | Event::Refused(_)) => Some((Ok(String::new()), (None, heard, tail))),
            None => tail.map(|tail| (Ok(tail), (None, heard, None))),
        }
    });
    let mut response = axum::body::Body::from_stream(pieces).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    // A proxy passes each piece on as it comes (nginx reads this header).
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// Reads the file field of `multipart` as it arrives and files it for `operator`, telling the page through `events`:
/// first whether it started, then progress, then the report or what stopped it.
async fn file_batch(
    state: AuthState,
    operator: Operator,
    from: Option<String>,
    mut multipart: Multipart,
    events: tokio::sync::mpsc::Sender<Event>,
) {
    let header = Some(&operator.header);
    let unreadable = |e: &axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            let message = format!("Il file supera il limite di {MAX_ROWS} righe: lo divida in più lotti.");
            (problem(StatusCode::PAYLOAD_TOO_LARGE, header, "File troppo grande", &message), message)
        } else {
            let message = "Il modulo inviato non è leggibile.".to_owned();
            (problem(StatusCode::BAD_REQUEST, header, "Richiesta non valida", &message), message)
        }
    };
    // The page is told once, whatever happens: before the start, a refusal; after it, a piece of the page. A page
    // gone away does not stop the filing.
    let mut started = false;
    let tell = |started: bool, refusal: Response, html: String| {
        if started { Event::Html(html) } else { Event::Refused(refusal) }
    };
    let mut field = loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("lotto") => break field,
            Ok(Some(_)) => {}
            Ok(None) => {
                let page =
                    problem(StatusCode::UNPROCESSABLE_ENTITY, header, "Nessun file", "Scelga il file CSV del lotto.");
                let _ = events.send(Event::Refused(page)).await;
                return;
            }
            Err(e) => {
                let _ = events.send(Event::Refused(unreadable(&e).0)).await;
                return;
            }
        }
    };
    let store = state.app.store.as_ref();
    let mut batch = match Batch::new(store, &state.app.decrees, &operator.seat, from, state.auth.now()) {
        Ok(batch) => batch,
        Err(e) => {
            let _ = events.send(Event::Refused(IntermError::from_use_case(e, header).into_response())).await;
            return;
        }
    };
    let mut told = 0;
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                if let Err(e) = batch.feed(&chunk).await {
                    let what = format!("Il lotto si è fermato: {e}.");
                    let refusal = IntermError::from_use_case(e, header).into_response();
                    let _ = events.send(tell(started, refusal, stopped(&what))).await;
                    return;
                }
                if !started && batch.has_header() {
                    started = true;
                    let _ = events.send(Event::Started).await;
                }
                let so_far = batch.report_so_far();
                if started && so_far.len() >= told + PROGRESS_EVERY {
                    told = so_far.len();
                    let _ = events.send(Event::Html(progress_line(so_far))).await;
                }
            }
            Ok(None) => break,
            Err(e) => {
                let (refusal, message) = unreadable(&e);
                let _ = events.send(tell(started, refusal, stopped(&message))).await;
                return;
            }
        }
    }
    match batch.finish().await {
        Ok(rows) => {
            if !started {
                let _ = events.send(Event::Started).await;
            }
            let (totals, rows_view) = report(&rows);
            let mut html = if rows.len() > told { progress_line(&rows) } else { String::new() };
            html.push_str("</ol>\n");
            match (ReportPart { totals, rows: rows_view }).render() {
                Ok(part) => html.push_str(&part),
                Err(e) => {
                    tracing::error!(error = %e, "a batch report failed to render");
                    html.push_str(&stopped("Il resoconto non è stato composto."));
                }
            }
            let _ = events.send(Event::Html(html)).await;
        }
        Err(e) => {
            let what = format!("Il lotto si è fermato: {e}.");
            let refusal = IntermError::from_use_case(e, header).into_response();
            let _ = events.send(tell(started, refusal, stopped(&what))).await;
        }
    }
}
