//! The portal's public pages: the same for everyone, so cacheable by shared caches.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::i18n::{Lang, LangQuery};
use crate::security;
use crate::server::AppState;

/// When the pages' content last changed, shown in every footer.
pub const LAST_UPDATE: &str = "2026-11-22";

/// How long shared caches may keep a public page (seconds).
const PUBLIC_MAX_AGE: u32 = 300;

/// One indemnity as the home page lists it.
pub struct SchemeCard {
    /// Its title.
    pub title: String,
    /// Who may have it, in plain words.
    pub who: String,
    /// The amount, written the Italian way.
    pub amount: String,
    /// The article granting it.
    pub legal_ref: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
    decree: String,
    schemes: Vec<SchemeCard>,
}

/// Renders a template with status 200, or answers 500 without detail (the cause goes to the log).
fn render(template: &impl Template) -> Response {
    render_with(StatusCode::OK, template)
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

/// The query suffix that keeps the chosen language on links and form actions.
pub fn lang_suffix(lang: Lang) -> &'static str {
    match lang {
        Lang::It => "",
        Lang::En => "?lang=en",
    }
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

/// `GET /`: the five indemnities explained, who can apply, and the channels.
pub async fn home(State(state): State<AppState>, Query(query): Query<LangQuery>) -> Response {
    let lang = query.lang();
    let rulebook = &state.rulebook;
    let schemes = rulebook
        .schemes()
        .iter()
        .map(|s| SchemeCard {
            title: lang.pick(s.title_it(), s.title_en()).to_owned(),
            who: lang.pick(s.who_it(), s.who_en()).to_owned(),
            amount: s.amount().to_italian(),
            legal_ref: s.legal_ref().to_owned(),
        })
        .collect();
    let page = HomePage {
        lang,
        lang_suffix: lang_suffix(lang),
        last_update: LAST_UPDATE,
        decree: rulebook.decree().name().to_owned(),
        schemes,
    };
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
