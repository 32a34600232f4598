//! How the portal answers a browser: a template rendered with its status, what every page's frame carries (the
//! footer's date, the language kept on links), the problem page that every refusal and failure is shown on (the 403
//! of a stale form; a use case's failures through `error::PageError`), and whether the client asked for JSON
//! instead. A leaf: every door renders with it, and it knows none of them.

use askama::Template;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::i18n::Lang;

/// When the pages' content last changed, shown in every footer as the institute writes dates (dd/mm/yyyy).
pub const LAST_UPDATE: &str = "05/12/2026";

/// The query suffix that keeps the chosen language on links and form actions.
pub fn lang_suffix(lang: Lang) -> &'static str {
    match lang {
        Lang::It => "",
        Lang::En => "?lang=en",
    }
}

/// Renders a template with `status`, or answers 500 without detail (the cause goes to the log).
pub fn render_with(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a template failed to render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Whether the client asked for JSON rather than a page.
pub fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    accept.contains("application/json") || accept.contains("application/problem+json")
}

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage<'a> {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
    title: &'a str,
    message: &'a str,
}

/// A page explaining a problem (refused form, unknown page, art. 31 refusal…) with `status`.
pub fn problem(status: StatusCode, lang: Lang, title: &str, message: &str) -> Response {
    render_with(status, &ProblemPage { lang, lang_suffix: lang_suffix(lang), last_update: LAST_UPDATE, title, message })
}

/// The 403 page for a form without its CSRF token: nothing was done.
pub fn forbidden(lang: Lang) -> Response {
    problem(
        StatusCode::FORBIDDEN,
        lang,
        lang.pick("Richiesta non valida", "Request refused"),
        lang.pick(
            "Il modulo è scaduto o non proviene da questo sito, quindi non è stato eseguito nulla. Torni alla \
                 pagina precedente, la ricarichi e invii di nuovo il modulo.",
            "The form has expired or did not come from this site, so nothing was done. Go back, reload the page \
                 and send the form again.",
        ),
    )
}
