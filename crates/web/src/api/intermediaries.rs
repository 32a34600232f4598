//! The intermediaries' API (issue 17): an operator opens a bearer session at an office the institute's roster lists
//! for them today (`POST /api/v1/intermediaries/sessions`, the same check as the operators' login page), and the
//! office's head files a whole batch in one call (`POST /api/v1/intermediaries/batches`): the CSV of
//! docs/specs/batch.md as the body, read as it arrives; the answer is NDJSON sent while the rows are filed, one line
//! per row as the page's report has it, then a line of totals. [`OperatorBearer`] re-checks the roster on every
//! call, as the pages' `Operator` does; a citizen's token opens nothing here, and an operator's opens no citizen
//! endpoint (its actor does not act for itself).

use axum::body::Body;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use sportello_store::SessionKind;
use sportello_usecases::intermediaries::batch::{Batch, Outcome, RowReport};
use sportello_usecases::intermediaries::mandates::Seat;
use sportello_usecases::sessions::{self, NewSession};
use sportello_usecases::{ErrorKind, UseCaseError};
use utoipa::ToSchema;

use super::json::ApiJson;
use super::problem::{ApiLang, Problem, ProblemKind, lang_of, with_challenge};
use super::sessions::bearer_token;
use crate::apply::form::message;
use crate::auth::AuthState;
use crate::auth::session::ClientAddr;
use crate::i18n::Lang;
use crate::intermediaries::identity::seated;
use crate::intermediaries::login::{Refusal, seat_for};
use crate::intermediaries::session::{Resumed, resume};
use crate::limits::{ClientIp, too_many};

/// The operator at their office whose `Authorization: Bearer` token opens an operator's API session, re-checked
/// against the roster today.
#[derive(Debug, Clone)]
pub struct OperatorBearer(pub Seat);

impl FromRequestParts<AuthState> for OperatorBearer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AuthState) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.uri, &parts.headers);
        let token = bearer_token(&parts.headers).map_err(|presented| Problem::unauthorized(lang, presented))?;
        match resume(state, token, SessionKind::Bearer).await {
            Ok(Resumed::Live(seat)) => Ok(OperatorBearer(seat)),
            Ok(Resumed::Closed) => Err(Problem::unauthorized(lang, true)),
            Err(e) => Err(Problem::of(e.error, lang).into_response()),
        }
    }
}

/// An operator's login: their codice fiscale, their INPS PIN and, if they work at several, the office.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"codice_fiscale": "VRDGPP70B02L219A", "pin": "ABCD2345", "office": "INCA-RM01"}))]
pub struct OperatorSessionRequest {
    /// The operator's codice fiscale.
    pub codice_fiscale: String,
    /// Their INPS PIN: the first half (8 characters) or the whole (16).
    pub pin: String,
    /// The office's code on the institute's roster; the first listed for them today if absent.
    #[serde(default)]
    pub office: Option<String>,
}

impl std::fmt::Debug for OperatorSessionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorSessionRequest").field("office", &self.office).finish_non_exhaustive()
    }
}

/// An operator's session: its bearer token and the office it acts for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OperatorSessionCreated {
    /// The bearer token, for `Authorization: Bearer`.
    pub token: String,
    /// The office the session acts for.
    pub office: String,
    /// When the session ends whatever the activity.
    pub absolute_expires_at: DateTime<Utc>,
}

/// The 403 of an operator the roster does not list for the office today.
fn not_listed(lang: Lang) -> Response {
    let detail = lang.pick(
        "L'elenco degli operatori dell'Istituto non La abilita a questa operazione per questa sede oggi.",
        "The institute's roster of operators does not enable you to do this for this office today.",
    );
    Problem::new(ProblemKind::Forbidden, lang, detail).into_response()
}

/// `POST /api/v1/intermediaries/sessions`: an operator logs in at an office.
#[utoipa::path(
    post,
    path = "/api/v1/intermediaries/sessions",
    tag = "intermediaries",
    operation_id = "create_operator_session",
    summary = "Log in as an intermediary's operator",
    description = "Checks the operator's INPS PIN as a citizen's login does (the same lockout and limits), then \
        that the institute's roster lists them at the office today, and returns the bearer token of an operator's \
        session. It opens none of the citizens' endpoints.",
    request_body = OperatorSessionRequest,
    responses(
        (status = 201, description = "Logged in at the office: the session's bearer token.",
            body = OperatorSessionCreated),
        (status = 400, response = super::responses::Malformed),
        (status = 401, response = super::responses::LoginRefused),
        (status = 403, response = super::responses::Forbidden),
        (status = 413, response = super::responses::TooLarge),
        (status = 415, response = super::responses::UnsupportedMediaType),
        (status = 422, response = super::responses::Invalid),
        (status = 429, response = super::responses::TooManyRequests),
    )
)]
pub async fn create_session(
    ApiLang(lang): ApiLang,
    State(state): State<AuthState>,
    client: ClientIp,
    ApiJson(body): ApiJson<OperatorSessionRequest>,
) -> Response {
    let office = body.office.as_deref().unwrap_or_default();
    let seat = match seat_for(&state, client, &body.codice_fiscale, &body.pin, office).await {
        Ok(seat) => seat,
        Err(Refusal::Invalid) => {
            let detail = crate::auth::handlers::login_refused_message(lang);
            return with_challenge(Problem::new(ProblemKind::LoginRefused, lang, detail).into_response(), false);
        }
        Err(Refusal::Wait(wait)) => return too_many(true, lang, wait),
        Err(Refusal::NoOffice) => return not_listed(lang),
        Err(Refusal::Failed(e)) if e.kind() == ErrorKind::Forbidden => return not_listed(lang),
        Err(Refusal::Failed(e)) => return Problem::of(e, lang).into_response(),
    };
    let new = NewSession { principal: seated(&seat), kind: SessionKind::Bearer, credential: None, confirmed: true };
    let absolute = state.app.config.session.absolute_timeout();
    match sessions::open(state.app.store.as_ref(), new, None, absolute, state.auth.now()).await {
        Ok(opened) => {
            let body = OperatorSessionCreated {
                token: opened.id.expose().to_owned(),
                office: seat.office.to_string(),
                absolute_expires_at: opened.expires_at,
            };
            (StatusCode::CREATED, axum::Json(body)).into_response()
        }
        Err(e) => Problem::of(e, lang).into_response(),
    }
}

/// One row of a batch's answer, as filed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchRow {
    /// Its line in the file (the header is line 1).
    pub line: u64,
    /// The codice fiscale as written.
    pub codice_fiscale: String,
    /// `accepted` or `refused` (filed, decided by the law), `already_holds` (not filed: the citizen holds an
    /// indemnity of the same group), `invalid` (not filed: see `errors`) or `error` (not filed: see `errors`).
    pub outcome: &'static str,
    /// The application's protocol number, when filed (or holding the indemnity, for `already_holds`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Filed by an earlier upload of the same row: nothing new was created.
    pub again: bool,
    /// Why the law refused it, each reason with its article.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<BatchReason>,
    /// What is wrong, by column (none: the whole line).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<BatchFieldError>,
}

/// A reason of the law's refusal.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchReason {
    /// The reason, in the client's language where the law gives it.
    pub text: String,
    /// The article it applies.
    pub article: String,
}

/// What is wrong with a row, and where.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchFieldError {
    /// The column, by the header's name; absent for the whole line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// The last line of a batch's answer.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct BatchTotals {
    /// Rows after the header.
    pub rows: usize,
    /// Filed and accepted.
    pub accepted: usize,
    /// Filed and refused by the law.
    pub refused: usize,
    /// Not filed.
    pub not_filed: usize,
    /// Of the filed, those filed by an earlier upload.
    pub again: usize,
}

fn row_json(row: &RowReport, lang: Lang, totals: &mut BatchTotals) -> BatchRow {
    totals.rows += 1;
    let mut out = BatchRow {
        line: row.line,
        codice_fiscale: row.codice_fiscale.clone(),
        outcome: "",
        protocol: None,
        again: false,
        reasons: Vec::new(),
        errors: Vec::new(),
    };
    match &row.outcome {
        Outcome::Accepted { protocol, again } => {
            totals.accepted += 1;
            totals.again += usize::from(*again);
            (out.outcome, out.protocol, out.again) = ("accepted", Some(protocol.clone()), *again);
        }
        Outcome::Refused { protocol, again, reasons } => {
            totals.refused += 1;
            totals.again += usize::from(*again);
            (out.outcome, out.protocol, out.again) = ("refused", Some(protocol.clone()), *again);
            out.reasons = reasons
                .iter()
                .map(|(text, article)| BatchReason { text: text.clone(), article: article.clone() })
                .collect();
        }
        Outcome::AlreadyHolds { protocol } => {
            totals.not_filed += 1;
            (out.outcome, out.protocol) = ("already_holds", Some(protocol.clone()));
        }
        Outcome::Invalid(invalid) => {
            totals.not_filed += 1;
            out.outcome = "invalid";
            out.errors = invalid
                .iter()
                .map(|i| BatchFieldError { column: Some(i.field().to_owned()), message: message(i, lang) })
                .collect();
        }
        Outcome::Error { column, message } => {
            totals.not_filed += 1;
            out.outcome = "error";
            out.errors = vec![BatchFieldError { column: column.map(str::to_owned), message: message.clone() }];
        }
    }
    out
}

/// A line of NDJSON.
fn ndjson(value: &impl Serialize) -> String {
    let mut line = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    line.push('\n');
    line
}

/// What the filing task tells the answer.
enum Event {
    /// The header was read: rows follow.
    Started,
    /// Refused before anything was filed.
    Refused(Response),
    /// Lines of the answer.
    Lines(String),
}

/// `POST /api/v1/intermediaries/batches`: files a batch, answering while it runs.
#[utoipa::path(
    post,
    path = "/api/v1/intermediaries/batches",
    tag = "intermediaries",
    operation_id = "file_batch",
    summary = "File a batch of applications for the office's citizens",
    description = "The body is the batch's CSV file (docs/specs/batch.md: a header line, then up to 10,000 rows), \
        read as it arrives; only the office's head (roster role `responsabile`) files one. Each row is filed as the \
        operator's form files one, for a citizen with a mandate of the office in force today. Once the header is \
        read the answer is NDJSON, written while the rows are filed: one `BatchRow` per row after the header, in \
        order, then `{\"totals\": BatchTotals}`; should the batch stop (the service failing), the last line is \
        `{\"stopped\": \"why\"}` and the rows before it stay filed. The same file again creates nothing new: each \
        row answers `again: true` with the application filed before.",
    security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv", description = "The batch's CSV file."),
    responses(
        (status = 200, description = "The rows as they are filed (NDJSON): a `BatchRow` per line, then the totals.",
            content_type = "application/x-ndjson", body = BatchRow),
        (status = 401, response = super::responses::Unauthorized),
        (status = 403, response = super::responses::Forbidden),
        (status = 413, response = super::responses::TooLarge),
        (status = 415, response = super::responses::UnsupportedMediaType),
        (status = 422, response = super::responses::Invalid),
    )
)]
pub async fn file_batch(
    ApiLang(lang): ApiLang,
    State(state): State<AuthState>,
    OperatorBearer(seat): OperatorBearer,
    from: ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("text/csv")));
    if !csv {
        let detail = lang.pick(
            "Il corpo della richiesta deve essere il file CSV del lotto, con l'intestazione Content-Type: text/csv.",
            "The request body must be the batch's CSV file, sent with the header Content-Type: text/csv.",
        );
        return Problem::new(ProblemKind::UnsupportedMediaType, lang, detail).into_response();
    }
    if let Err(e) = Batch::new(state.app.store.as_ref(), &state.app.decrees, &seat, None, state.auth.now()) {
        return refusal(e, lang);
    }
    let (events, mut heard) = tokio::sync::mpsc::channel::<Event>(16);
    let from = from.0.map(|addr| addr.ip().to_string());
    tokio::spawn(run(state.clone(), seat, from, body, lang, events));
    match heard.recv().await {
        Some(Event::Started) => {}
        Some(Event::Refused(response)) => return response,
        Some(Event::Lines(_)) | None => {
            return Problem::new(ProblemKind::Unavailable, lang, ProblemKind::Unavailable.generic_detail(lang))
                .into_response();
        }
    }
    let lines = futures::stream::unfold(heard, |mut heard| async move {
        loop {
            match heard.recv().await? {
                Event::Lines(lines) => return Some((Ok::<_, std::convert::Infallible>(lines), heard)),
                Event::Started | Event::Refused(_) => {}
            }
        }
    });
    let mut response = Body::from_stream(lines).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// A use case's refusal of a batch before anything was filed.
fn refusal(error: UseCaseError, lang: Lang) -> Response {
    match error.kind() {
        ErrorKind::Forbidden => not_listed(lang),
        ErrorKind::Input => {
            let field = super::problem::FieldError { field: String::new(), message: error.to_string() };
            Problem::validation(lang, vec![field]).into_response()
        }
        _ => Problem::of(error, lang).into_response(),
    }
}

/// Reads `body` as it arrives and files it from `seat`, telling the answer through `events`.
async fn run(
    state: AuthState,
    seat: Seat,
    from: Option<String>,
    body: Body,
    lang: Lang,
    events: tokio::sync::mpsc::Sender<Event>,
) {
    let store = state.app.store.as_ref();
    let mut batch = match Batch::new(store, &state.app.decrees, &seat, from, state.auth.now()) {
        Ok(batch) => batch,
        Err(e) => {
            let _ = events.send(Event::Refused(refusal(e, lang))).await;
            return;
        }
    };
    let mut started = false;
    let mut sent = 0;
    let mut totals = BatchTotals::default();
    let stop = |started: bool, why: String, refused: Response| {
        if started { Event::Lines(ndjson(&serde_json::json!({ "stopped": why }))) } else { Event::Refused(refused) }
    };
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) => {
                let too_large = std::error::Error::source(&e)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                    || e.to_string().contains("length limit");
                let (kind, why) = if too_large {
                    (ProblemKind::TooLarge, "the file is larger than a batch may be: split it".to_owned())
                } else {
                    (ProblemKind::MalformedRequest, format!("the file could not be read: {e}"))
                };
                let refused = Problem::new(kind, lang, why.clone()).into_response();
                let _ = events.send(stop(started, why, refused)).await;
                return;
            }
        };
        if let Err(e) = batch.feed(&chunk).await {
            let why = e.to_string();
            let _ = events.send(stop(started, why, refusal(e, lang))).await;
            return;
        }
        if !started && batch.has_header() {
            started = true;
            let _ = events.send(Event::Started).await;
        }
        let lines: String =
            batch.report_so_far()[sent..].iter().map(|row| ndjson(&row_json(row, lang, &mut totals))).collect();
        sent = batch.report_so_far().len();
        if !lines.is_empty() {
            let _ = events.send(Event::Lines(lines)).await;
        }
    }
    match batch.finish().await {
        Ok(rows) => {
            if !started {
                let _ = events.send(Event::Started).await;
            }
            let mut lines: String = rows[sent..].iter().map(|row| ndjson(&row_json(row, lang, &mut totals))).collect();
            lines.push_str(&ndjson(&serde_json::json!({ "totals": totals })));
            let _ = events.send(Event::Lines(lines)).await;
        }
        Err(e) => {
            let why = e.to_string();
            let _ = events.send(stop(started, why, refusal(e, lang))).await;
        }
    }
}
