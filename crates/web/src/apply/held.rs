//! The refusal of a second indemnity for the same period (art. 31 c. 1 DL 18/2020 for March): a 409 page that names
//! the application holding the citizen's indemnity for that period, says why no other can be added, and leads on to that application, to "Le mie domande"
//! and to the situation page. It comes as soon as the citizen reaches the form (a typed address, an old tab), not
//! after the whole form and its review; the store still refuses at submission whatever the pages said.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use sportello_domain::law::Scheme;
use sportello_store::Application;
use sportello_usecases::decide;

use crate::auth::AuthState;
use crate::auth::session::Citizen;
use crate::error::{OrPage, PageError};
use crate::i18n::Lang;
use crate::render::{LAST_UPDATE, lang_suffix, render_with as render};
use crate::situation::holding_message;

#[derive(Template)]
#[template(path = "held.html")]
struct HeldPage {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
    title: &'static str,
    /// What was refused, when it is another indemnity than the one held.
    refused: Option<String>,
    what: String,
    why: String,
    protocol: String,
}

/// The 409 page when the citizen already holds an indemnity and asks for one more: `None` when they hold none.
pub async fn refuse_second(
    state: &AuthState,
    citizen: &Citizen,
    asked: &Scheme,
    lang: Lang,
) -> Result<Option<Response>, PageError> {
    let (store, decrees) = (state.app.store.as_ref(), state.app.decrees.as_ref());
    let held = decide::holding(store, decrees, &citizen.principal.subject, asked.id()).await.or_page(lang)?;
    Ok(held.map(|held| page(state, &held, asked, lang)))
}

/// The 409 page refusing `asked` to a citizen whose application `held` holds their one indemnity.
pub fn page(state: &AuthState, held: &Application, asked: &Scheme, lang: Lang) -> Response {
    let (what, why) = holding_message(state, held, lang);
    let (title, refused) = if held.scheme == asked.id() {
        (lang.pick("Domanda già presentata", "Already applied"), None)
    } else {
        let (title, article) = (lang.pick(asked.title_it(), asked.title_en()), asked.legal_ref());
        let refused = match lang {
            Lang::It => format!("Non può presentare la domanda per l'«{title}» ({article})."),
            Lang::En => format!("You cannot apply for the “{title}” ({article})."),
        };
        (lang.pick("Indennità non cumulabile", "Allowances cannot be combined"), Some(refused))
    };
    let page = HeldPage {
        lang,
        lang_suffix: lang_suffix(lang),
        last_update: LAST_UPDATE,
        title,
        refused,
        what,
        why,
        protocol: held.protocol.to_string(),
    };
    render(StatusCode::CONFLICT, &page)
}
