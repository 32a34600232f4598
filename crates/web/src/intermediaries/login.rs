//! `GET`/`POST /intermediari/accedi`, `POST /intermediari/sede` and `POST /intermediari/esci`: an operator logs in
//! with their INPS PIN (the citizens' check, lockout buckets and per-address limits), at an office the roster lists
//! for them today (the one they name, or the first listed), changes office among those listed, and logs out.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sportello_domain::CodiceFiscale;
use sportello_domain::intermediaries::OfficeCode;
use sportello_store::STRANGERS;
use sportello_usecases::intermediaries::mandates::{self, Seat};
use sportello_usecases::login::{self, Checked, Lockout};
use sportello_usecases::sessions;

use super::identity::OPERATOR_COOKIE;
use super::page::{Header, IntermError, OrInterm, forbidden_form, problem};
use super::session::{LOGIN, Operator, clear_operator_cookie, today};
use crate::auth::AuthState;
use crate::auth::csrf::{Binding, CSRF_COOKIE};
use crate::auth::oidc::Links;
use crate::auth::session::{cookie, random_hex, set_cookie};
use crate::i18n::Lang;
use crate::limits::{ClientIp, too_many};
use crate::pin::EnteredPin;
use crate::render::{LAST_UPDATE, render_with};

#[derive(Template)]
#[template(path = "intermediaries/login.html")]
struct LoginPage {
    lang: Lang,
    last_update: &'static str,
    header: Option<Header>,
    csrf: String,
    codice_fiscale: String,
    sede: String,
    refused: Option<&'static str>,
    /// SPID's providers and CIE, when the portal takes them.
    federation: Option<Links>,
}

/// The login form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    codice_fiscale: String,
    #[serde(default)]
    pin: String,
    #[serde(default)]
    sede: String,
}

impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm").field("sede", &self.sede).finish_non_exhaustive()
    }
}

const INVALID: &str = "Codice fiscale o PIN non validi. Dopo cinque tentativi errati l'accesso resta bloccato.";

/// `GET /intermediari/accedi`: the form, with the pre-login token (a double submit bound to a random cookie).
pub async fn form(State(state): State<AuthState>, headers: HeaderMap) -> Result<Response, IntermError> {
    if let Some(door) = &state.auth.oidc {
        door.links(state.auth.now().timestamp()).await;
    }
    let (value, new) = match cookie(&headers, CSRF_COOKIE) {
        Some(value) => (value.to_owned(), false),
        None => (random_hex().or_interm(None)?, true),
    };
    let csrf = state.auth.csrf.token(Binding::PreLogin(&value));
    let page = LoginPage {
        lang: Lang::It,
        last_update: LAST_UPDATE,
        header: None,
        csrf,
        codice_fiscale: String::new(),
        sede: String::new(),
        refused: None,
        federation: state.auth.oidc.as_ref().map(|door| door.cached_links()),
    };
    let mut response = render_with(StatusCode::OK, &page);
    if new && let Some(cookie) = set_cookie(CSRF_COOKIE, &value) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// `POST /intermediari/accedi`: checks the PIN as the citizens' login does (in the strangers' bucket: an operator's
/// browser is no device of theirs to remember), then the operator's seat at the office today; opens an operator's
/// session (ending the one this browser held) and goes to `/intermediari`.
pub async fn login(
    State(state): State<AuthState>,
    client: ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, IntermError> {
    let Some(value) = cookie(&headers, CSRF_COOKIE) else { return Ok(forbidden_form(None)) };
    if !state.auth.csrf.verify(Binding::PreLogin(value), &form.csrf) {
        return Ok(forbidden_form(None));
    }
    let refuse = |message: &'static str| {
        let page = LoginPage {
            lang: Lang::It,
            last_update: LAST_UPDATE,
            header: None,
            csrf: state.auth.csrf.token(Binding::PreLogin(value)),
            codice_fiscale: form.codice_fiscale.chars().take(16).collect(),
            sede: form.sede.chars().take(32).collect(),
            refused: Some(message),
            federation: state.auth.oidc.as_ref().map(|door| door.cached_links()),
        };
        render_with(StatusCode::UNAUTHORIZED, &page)
    };
    match seat_for(&state, client, &form.codice_fiscale, &form.pin, &form.sede).await {
        Ok(seat) => open(&state, &seat, cookie(&headers, OPERATOR_COOKIE)).await,
        Err(Refusal::Invalid) => Ok(refuse(INVALID)),
        Err(Refusal::Wait(wait)) => Ok(too_many(false, Lang::It, wait)),
        Err(Refusal::NoOffice) => Ok(problem(
            StatusCode::FORBIDDEN,
            None,
            "Operazione non consentita",
            "L'elenco degli operatori dell'Istituto non La abilita ad alcuna sede oggi.",
        )),
        Err(Refusal::Failed(e)) => Err(e).or_interm(None),
    }
}

/// Why an operator's login opened no seat.
#[derive(Debug)]
pub enum Refusal {
    /// The codice fiscale or the PIN is not valid, or they do not match: said the same way.
    Invalid,
    /// Too many attempts for this person or from this address: try again after this long.
    Wait(std::time::Duration),
    /// The roster lists the operator at no office today.
    NoOffice,
    /// The seat was refused (not listed at that office: forbidden), or the store failed.
    Failed(sportello_usecases::UseCaseError),
}

/// An operator's login, whichever door it comes by (the form, the API): the PIN checked as the citizens' login
/// checks it (in the strangers' bucket: an operator's client is no device of theirs to remember, with the same
/// per-person and per-address limits), then the operator's seat today at office `sede`, or at the first office the
/// roster lists for them if `sede` is empty.
pub async fn seat_for(
    state: &AuthState,
    client: ClientIp,
    codice_fiscale: &str,
    pin: &str,
    sede: &str,
) -> Result<Seat, Refusal> {
    let (Ok(operator), Ok(pin)) = (CodiceFiscale::parse(codice_fiscale), EnteredPin::parse(pin)) else {
        return Err(Refusal::Invalid);
    };
    let limits = &state.auth.limits;
    limits.check_login(&operator, STRANGERS).map_err(Refusal::Wait)?;
    if let Some(wait) = limits.failures_barred(client) {
        return Err(Refusal::Wait(wait));
    }
    let pin_config = &state.app.config.pin;
    let lockout = Lockout { max_failures: pin_config.max_failures, lock_for: pin_config.lock_for() };
    let store = state.app.store.as_ref();
    let now = state.auth.now();
    let checked = login::check(store, &state.auth.hasher, operator, &pin, STRANGERS, lockout, now)
        .await
        .map_err(Refusal::Failed)?;
    let method = match checked {
        Checked::Opened { principal, .. } => principal.method,
        Checked::Refused { .. } => {
            limits.count_failure(client);
            return Err(Refusal::Invalid);
        }
    };
    let day = today(state);
    let office = if sede.trim().is_empty() {
        mandates::offices_of(store, operator, day).await.map_err(Refusal::Failed)?.first().map(|row| row.office)
    } else {
        OfficeCode::parse(sede.trim()).ok()
    };
    let office = office.ok_or(Refusal::NoOffice)?;
    mandates::seat(store, operator, office, method, day).await.map_err(Refusal::Failed)
}

/// Opens the operator's session at `seat`, ending the one the browser held, and goes to the office's desk.
async fn open(state: &AuthState, seat: &Seat, replacing: Option<&str>) -> Result<Response, IntermError> {
    super::identity::open(&state.app, state.auth.now(), seat, replacing).await
}

/// The office-change form's fields.
#[derive(Debug, Deserialize)]
pub struct SeatForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    sede: String,
}

/// `POST /intermediari/sede`: the operator moves to another office the roster lists for them today; the session id
/// rotates, and a Contact Center call the browser held ends.
pub async fn change(
    State(state): State<AuthState>,
    operator: Operator,
    headers: HeaderMap,
    Form(form): Form<SeatForm>,
) -> Result<Response, IntermError> {
    let header = Some(&operator.header);
    if !operator.token_ok(&state, &form.csrf) {
        return Ok(forbidden_form(header));
    }
    let Ok(office) = OfficeCode::parse(form.sede.trim()) else { return Ok(forbidden_form(header)) };
    let store = state.app.store.as_ref();
    let seat = operator.seat;
    let seat = mandates::seat(store, seat.operator, office, seat.method, today(&state)).await.or_interm(header)?;
    super::call::end_held(&state, &headers).await?;
    let mut response = open(&state, &seat, cookie(&headers, OPERATOR_COOKIE)).await?;
    response.headers_mut().append(header::SET_COOKIE, super::call::clear_call_cookie());
    Ok(response)
}

/// The logout form's field.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /intermediari/esci`: ends the session, and the Contact Center call it held, on the server and clears the
/// cookies.
pub async fn logout(
    State(state): State<AuthState>,
    operator: Operator,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response, IntermError> {
    if !operator.token_ok(&state, &form.csrf) {
        return Ok(forbidden_form(Some(&operator.header)));
    }
    if let Some(id) = cookie(&headers, OPERATOR_COOKIE) {
        sessions::close(state.app.store.as_ref(), id).await.or_interm(Some(&operator.header))?;
    }
    super::call::end_held(&state, &headers).await?;
    let mut response = Redirect::to(LOGIN).into_response();
    response.headers_mut().append(header::SET_COOKIE, clear_operator_cookie());
    response.headers_mut().append(header::SET_COOKIE, super::call::clear_call_cookie());
    Ok(response)
}
