//! `GET`/`POST /ufficio/accedi` and `POST /ufficio/esci`: an officer logs in with their account's user name and
//! password (or, from the same page, with SPID or CIE: `identity`) (the same answer for an unknown name and a wrong password; a lock says until when) and out.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sportello_usecases::office::login::{Refused, log_in, log_out};

use super::page::{OfficeError, OrOffice, forbidden_form};
use super::session::{LOGIN, OFFICE_COOKIE, Officer, clear_office_cookie};
use super::state::OfficeState;
use crate::apply::italian_time;
use crate::auth::csrf::{Binding, CSRF_COOKIE};
use crate::auth::oidc::Links;
use crate::auth::session::{ClientAddr, cookie, random_hex, set_cookie};
use crate::i18n::Lang;
use crate::render::{LAST_UPDATE, render_with};

#[derive(Template)]
#[template(path = "office/login.html")]
struct LoginPage {
    lang: Lang,
    last_update: &'static str,
    header: Option<super::page::Header>,
    csrf: String,
    username: String,
    refused: Option<String>,
    /// SPID's providers and CIE, when the portal takes them.
    federation: Option<Links>,
}

/// The login form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm").field("username", &self.username).finish_non_exhaustive()
    }
}

fn page(state: &OfficeState, csrf: String, username: String, refused: Option<String>) -> LoginPage {
    let federation = state.auth.oidc.as_ref().map(|door| door.cached_links());
    LoginPage { lang: Lang::It, last_update: LAST_UPDATE, header: None, csrf, username, refused, federation }
}

/// `GET /ufficio/accedi`: the form, with the pre-login token (a double submit bound to a random cookie).
pub async fn form(State(state): State<OfficeState>, headers: HeaderMap) -> Result<Response, OfficeError> {
    if let Some(door) = &state.auth.oidc {
        door.links(state.auth.now().timestamp()).await;
    }
    let (value, new) = match cookie(&headers, CSRF_COOKIE) {
        Some(value) => (value.to_owned(), false),
        None => (random_hex().or_office(None)?, true),
    };
    let token = state.auth.csrf.token(Binding::PreLogin(&value));
    let mut response = render_with(StatusCode::OK, &page(&state, token, String::new(), None));
    if new && let Some(cookie) = set_cookie(CSRF_COOKIE, &value) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// `POST /ufficio/accedi`: checks the password; on success opens an office session (ending the one this browser
/// held) and goes to `/ufficio`.
pub async fn login(
    State(state): State<OfficeState>,
    client: ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, OfficeError> {
    let Some(value) = cookie(&headers, CSRF_COOKIE) else { return Ok(forbidden_form(None)) };
    if !state.auth.csrf.verify(Binding::PreLogin(value), &form.csrf) {
        return Ok(forbidden_form(None));
    }
    let token = state.auth.csrf.token(Binding::PreLogin(value));
    let hasher = state.passwords().await.or_office(None)?;
    let from = client.0.map(|addr| addr.ip().to_string());
    let replacing = cookie(&headers, OFFICE_COOKIE);
    let store = state.app.store.as_ref();
    let outcome = log_in(store, hasher, &form.username, &form.password, replacing, from, state.auth.now())
        .await
        .or_office(None)?;
    match outcome {
        Ok(logged_in) => Ok(super::identity::opened(&logged_in)),
        Err(refused) => {
            let message = match refused {
                Refused::Invalid => "Nome utente o password non validi. Dopo cinque tentativi errati l'accesso \
                                     resta bloccato per 15 minuti."
                    .to_owned(),
                Refused::Locked(until) => format!(
                    "Troppi tentativi errati: l'accesso con questo nome utente è bloccato fino alle {} (ora \
                     italiana).",
                    italian_time::format(until)
                ),
            };
            let username = form.username.chars().take(64).collect();
            Ok(render_with(StatusCode::UNAUTHORIZED, &page(&state, token, username, Some(message))))
        }
    }
}

/// The logout form's field.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /ufficio/esci`: ends the session on the server and clears the cookie.
pub async fn logout(
    State(state): State<OfficeState>,
    officer: Officer,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, OfficeError> {
    if !officer.token_ok(&state, &form.csrf) {
        return Ok(forbidden_form(Some(&officer.header)));
    }
    if let Some(id) = cookie(&headers, OFFICE_COOKIE) {
        log_out(state.app.store.as_ref(), id).await.or_office(Some(&officer.header))?;
    }
    let mut response = Redirect::to(LOGIN).into_response();
    response.headers_mut().append(header::SET_COOKIE, clear_office_cookie());
    Ok(response)
}
