//! The portal's public pages: the same for everyone, so cacheable by shared caches.

use askama::Template;
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::i18n::{Lang, LangQuery};
use crate::render::{LAST_UPDATE, lang_suffix, problem, render_with};
use crate::security;
use crate::state::AppState;

/// How long shared caches may keep a public page (seconds).
const PUBLIC_MAX_AGE: u32 = 300;

/// One indemnity as the home page lists it.
pub struct SchemeCard {
    /// Its title.
    pub title: String,
    /// Who may have it, in plain words.
    pub who: String,
    /// The amount, written as the page's language writes it.
    pub amount: String,
    /// The article granting it.
    pub legal_ref: String,
    /// Paid by the institute without an application (art. 84 c. 1 DL 34/2020).
    pub without_application: bool,
}

/// The indemnities of one decree for one period, as the home page shows them.
pub struct PeriodSection {
    /// "marzo 2020 · DL 18/2020".
    pub heading: String,
    /// The decree's full name.
    pub decree: String,
    /// "Domande dal 01/04/2020 al 03/06/2020 …": the decree's window, when one of the group is applied for.
    pub window: Option<String>,
    /// "Le indennità di marzo 2020 non si sommano …", when the group has more than one.
    pub not_cumulable: Option<String>,
    /// Its indemnities.
    pub schemes: Vec<SchemeCard>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
    sections: Vec<PeriodSection>,
}

/// Renders a template with status 200, or answers 500 without detail (the cause goes to the log).
fn render(template: &impl Template) -> Response {
    render_with(StatusCode::OK, template)
}

/// "marzo 2020" as a heading: "Marzo 2020".
pub(crate) fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// `GET /`: the indemnities of every decree in force, period by period, who can have them, and the channels.
pub async fn home(State(state): State<AppState>, Query(query): Query<LangQuery>) -> Response {
    let lang = query.lang();
    let mut sections = Vec::new();
    for book in state.decrees.rulebooks() {
        for group in book.cumulations() {
            let in_group: Vec<_> = book.schemes().iter().filter(|s| s.cumulation() == group).collect();
            let period = lang.pick(group.period_it(), group.period_en());
            let not_cumulable = (in_group.len() > 1).then(|| match lang {
                Lang::It => format!(
                    "Le indennità di {period} non si sommano: se ne può ricevere una sola ({}).",
                    group.legal_ref()
                ),
                Lang::En => format!(
                    "The allowances for {period} cannot be combined: only one can be received ({}).",
                    group.legal_ref()
                ),
            });
            let days = book.decree().applications();
            let (opens, closes) = (lang.date(days.opens()), lang.date(days.closes()));
            let window = in_group.iter().any(|s| s.on_application()).then(|| match lang {
                Lang::It => format!("Domande dal {opens} al {closes} ({}).", days.legal_ref()),
                Lang::En => format!("Applications from {opens} to {closes} ({}).", days.legal_ref()),
            });
            sections.push(PeriodSection {
                heading: format!("{} · {}", capitalised(period), book.decree().short()),
                decree: book.decree().name().to_owned(),
                window,
                not_cumulable,
                schemes: in_group
                    .into_iter()
                    .map(|s| SchemeCard {
                        title: lang.pick(s.title_it(), s.title_en()).to_owned(),
                        who: lang.pick(s.who_it(), s.who_en()).to_owned(),
                        amount: lang.money(s.amount()),
                        legal_ref: s.legal_ref().to_owned(),
                        without_application: !s.on_application(),
                    })
                    .collect(),
            });
        }
    }
    let page = HomePage { lang, lang_suffix: lang_suffix(lang), last_update: LAST_UPDATE, sections };
    security::public(PUBLIC_MAX_AGE, render(&page))
}

#[derive(Template)]
#[template(path = "accessibility.html")]
struct AccessibilityPage {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
}

/// `GET /accessibilita`: the accessibility statement (L. 4/2004).
pub async fn accessibility(Query(query): Query<LangQuery>) -> Response {
    let lang = query.lang();
    let page = AccessibilityPage { lang, lang_suffix: lang_suffix(lang), last_update: LAST_UPDATE };
    security::public(PUBLIC_MAX_AGE, render(&page))
}

/// `GET /privacy`: the privacy notice (GDPR arts. 13–14).
pub async fn privacy(Query(query): Query<LangQuery>) -> Response {
    let lang = query.lang();
    let page = PrivacyPage { lang, lang_suffix: lang_suffix(lang), last_update: LAST_UPDATE };
    security::public(PUBLIC_MAX_AGE, render(&page))
}

/// Middleware for the pages: an error answered without a body by something other than a handler — an unknown path
/// (axum's fallback), a method the route does not answer, the body limit, the timeout — becomes the problem page for
/// its status, in the language of the URL, keeping its status and headers (`Allow`, `Retry-After`). Without it a
/// browser shows its own page, in its own language. The API has its own twin,
/// [`crate::api::problem::plain_errors_as_problems`].
pub async fn plain_errors_as_pages(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        return next.run(request).await;
    }
    let lang = Query::<LangQuery>::try_from_uri(request.uri()).map(|q| q.0.lang()).unwrap_or_default();
    let response = next.run(request).await;
    let status = response.status();
    if response.headers().contains_key(header::CONTENT_TYPE) || !(status.is_client_error() || status.is_server_error())
    {
        return response;
    }
    let (title, message) = plain_error_text(status, lang);
    let (mut parts, _) = response.into_parts();
    let (page, body) = problem(status, lang, title, message).into_parts();
    for name in [header::CONTENT_TYPE, header::CONTENT_LENGTH] {
        parts.headers.remove(&name);
        if let Some(value) = page.headers.get(&name) {
            parts.headers.insert(name, value.clone());
        }
    }
    Response::from_parts(parts, Body::new(body))
}

/// The title and message of the page for an error `status` no handler explained.
fn plain_error_text(status: StatusCode, lang: Lang) -> (&'static str, &'static str) {
    match status {
        StatusCode::NOT_FOUND => (
            lang.pick("Pagina non trovata", "Page not found"),
            lang.pick(
                "La pagina richiesta non esiste. Controlli l'indirizzo, oppure riparta dalla pagina iniziale.",
                "The page you asked for does not exist. Please check the address, or start again from the home page.",
            ),
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            lang.pick("Operazione non consentita", "Operation not allowed"),
            lang.pick(
                "Questa pagina non accetta l'operazione richiesta. Riparta dalla pagina iniziale.",
                "This page does not accept the operation you asked for. Please start again from the home page.",
            ),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            lang.pick("Dati troppo grandi", "Too much data"),
            lang.pick(
                "I dati inviati superano la dimensione consentita. Riprovi con meno dati.",
                "The data sent is larger than allowed. Please try again with less.",
            ),
        ),
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT => (
            lang.pick("Servizio momentaneamente non disponibile", "Service temporarily unavailable"),
            lang.pick(
                "Il servizio è molto richiesto in questo momento. Riprovi tra qualche secondo.",
                "The service is in high demand right now. Please try again in a few seconds.",
            ),
        ),
        s if s.is_server_error() => (
            lang.pick("Errore del servizio", "Service error"),
            lang.pick(
                "Si è verificato un errore imprevisto. Riprovi tra qualche minuto.",
                "An unexpected error occurred. Please try again in a few minutes.",
            ),
        ),
        _ => (
            lang.pick("Richiesta non valida", "Invalid request"),
            lang.pick(
                "La richiesta non può essere accolta. Riparta dalla pagina iniziale.",
                "The request cannot be accepted. Please start again from the home page.",
            ),
        ),
    }
}

#[derive(Template)]
#[template(path = "logged_out.html")]
struct LoggedOutPage {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
}

/// `GET /uscita`: where logging out lands, saying the session is closed. The same for everyone (it names nobody),
/// so the cookie that ended the session is dropped by the redirect that leads here, not by this page.
pub async fn logged_out(Query(query): Query<LangQuery>) -> Response {
    let lang = query.lang();
    let page = LoggedOutPage { lang, lang_suffix: lang_suffix(lang), last_update: LAST_UPDATE };
    security::public(PUBLIC_MAX_AGE, render(&page))
}

#[derive(Template)]
#[template(path = "status_open.html")]
struct OpenStatusPage {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
    received: Option<crate::throughput::ReceivedLine>,
}

/// How long shared caches may keep the status of a portal without a waiting room (seconds), as with one.
const STATUS_MAX_AGE: u32 = 5;

/// `GET /stato` when no waiting room stands in front of the portal: open, no queue. Asking for JSON gives the
/// waiting room's format with no room in it, so that tools read one format whether or not there is a gate.
pub async fn open_status(
    State(throughput): State<crate::throughput::Throughput>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = query.lang();
    let response = if crate::render::wants_json(&headers) {
        Json(Vec::<()>::new()).into_response()
    } else {
        let received = throughput.received().await;
        render(&OpenStatusPage { lang, lang_suffix: lang_suffix(lang), last_update: LAST_UPDATE, received })
    };
    // The page and the JSON share the URL: a shared cache must keep them apart.
    let mut response = security::public(STATUS_MAX_AGE, response);
    response.headers_mut().append(header::VARY, HeaderValue::from_static("Accept"));
    response
}
