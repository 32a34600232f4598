//! Asking for a PIN, logging in and out through the API, and [`Bearer`], the extractor every personal endpoint
//! reads the logged-in citizen through.
//!
//! A bearer token is a session id like the one in the portal's cookie: the same 128 random bits, the same table
//! (only its hash is stored), the same idle and absolute expiry and the same lockout of the PIN behind it.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sportello_domain::CodiceFiscale;
use sportello_store::SessionKind;
use utoipa::ToSchema;

use super::json::ApiJson;
use super::problem::{ApiLang, FieldError, Problem, ProblemKind, lang_of, with_challenge};
use crate::apply::form::{email_message, mobile_message};
use crate::auth::AuthState;
use crate::auth::handlers::{
    Attempt, Contact, LoginOutcome, codice_fiscale_message, contact_message, issue_pin_in_background, log_in,
    login_refused_message, pin_locked_message, pin_message, pin_request_received_message,
};
use crate::auth::session::{Citizen, Resumed, resume};
use crate::i18n::Lang;
use crate::limits::{ClientIp, too_many};
use crate::pin::EnteredPin;

/// Longest bearer token looked at; ours are 32 hex digits.
const MAX_TOKEN: usize = 128;

/// The citizen whose session the request's `Authorization: Bearer` token opens. The API reads nothing else: never
/// the session cookie, which a browser would attach to a forged cross-site request by itself. A browser never adds
/// an `Authorization` header on its own, so a request carrying one was made by code holding the token, and the API
/// needs no CSRF token.
#[derive(Debug, Clone)]
pub struct Bearer(pub Citizen);

impl FromRequestParts<AuthState> for Bearer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AuthState) -> Result<Self, Self::Rejection> {
        let lang = lang_of(&parts.uri, &parts.headers);
        let token = bearer_token(&parts.headers).map_err(|presented| Problem::unauthorized(lang, presented))?;
        match resume(state, token, SessionKind::Bearer).await {
            Ok(Resumed::Live(citizen)) => Ok(Bearer(citizen)),
            Ok(Resumed::Expired | Resumed::Unknown) => Err(Problem::unauthorized(lang, true)),
            Err(e) => Err(Problem::of(e.into(), lang).into_response()),
        }
    }
}

/// The token of the request's `Authorization: Bearer` header; without one, whether a header was presented at all.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Result<&str, bool> {
    let value = headers.get(header::AUTHORIZATION).ok_or(false)?;
    value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty() && token.len() <= MAX_TOKEN)
        .ok_or(true)
}

/// A request for a PIN: a codice fiscale and where to send the PIN, an e-mail address or a mobile number.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"codice_fiscale": "BNCLGU75C12F205Q", "email": "mario.rossi@example.it"}))]
pub struct PinRequest {
    /// The codice fiscale, in upper or lower case.
    pub codice_fiscale: String,
    /// An e-mail address for the PIN; give this or `mobile`, not both.
    #[serde(default)]
    pub email: Option<String>,
    /// A mobile number for the PIN (8 to 15 digits, an optional `+`); give this or `email`, not both.
    #[serde(default)]
    pub mobile: Option<String>,
}

/// The answer to a PIN request: the same whether or not the codice fiscale is in the registry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PinRequested {
    /// What happens next, in the client's language.
    pub detail: String,
}

/// `POST /api/v1/pin`: the API twin of `POST /pin`. Once the request is valid the issuing goes on in the background
/// and the same answer is given at once, whether or not the codice fiscale is in the registry, so that neither the
/// answer nor its timing tells who is registered.
#[utoipa::path(
    post,
    path = "/api/v1/pin",
    tag = "sessions",
    operation_id = "request_pin",
    summary = "Ask for a PIN",
    description = "Sends a new INPS PIN to the e-mail address or mobile number given, if the codice fiscale is in \
        the registry: the first half (the simplified PIN, enough to log in) at once, the second half later. The \
        answer, and the time it takes, are the same whether or not the codice fiscale is in the registry: the PIN is \
        issued after the answer.",
    request_body = PinRequest,
    responses(
        (status = 202, description = "Accepted. If the codice fiscale is in the registry, the first half of a new PIN \
            is sent at once to the contact given and the second half later; the answer is the same either way.",
            body = PinRequested),
        (status = 400, response = super::responses::Malformed),
        (status = 413, response = super::responses::TooLarge),
        (status = 415, response = super::responses::UnsupportedMediaType),
        (status = 422, response = super::responses::Invalid),
        (status = 429, response = super::responses::TooManyRequests),
    )
)]
pub async fn request_pin(
    ApiLang(lang): ApiLang,
    State(state): State<AuthState>,
    ApiJson(body): ApiJson<PinRequest>,
) -> Response {
    let mut errors = Vec::new();
    let codice_fiscale = parse_codice_fiscale(&body.codice_fiscale, lang, &mut errors);
    let contact = match (body.email.as_deref(), body.mobile.as_deref()) {
        (Some(email), None) => Contact::parse(email)
            .filter(|c| matches!(c, Contact::Email(_)))
            .or_else(|| invalid(&mut errors, "/email", email_message(lang))),
        (None, Some(mobile)) => Contact::parse(mobile)
            .filter(|c| matches!(c, Contact::Sms(_)))
            .or_else(|| invalid(&mut errors, "/mobile", mobile_message(lang))),
        (None, None) => invalid(&mut errors, "/email", contact_message(lang)),
        (Some(_), Some(_)) => invalid(
            &mut errors,
            "/mobile",
            lang.pick(
                "Indichi un solo recapito: l'indirizzo e-mail oppure il numero di cellulare.",
                "Give one contact only: the e-mail address or the mobile number.",
            ),
        ),
    };
    let (Some(codice_fiscale), Some(contact)) = (codice_fiscale, contact) else {
        return Problem::validation(lang, errors).into_response();
    };
    issue_pin_in_background(&state, codice_fiscale, contact, lang).await;
    let body = PinRequested { detail: pin_request_received_message(lang).to_owned() };
    (StatusCode::ACCEPTED, axum::Json(body)).into_response()
}

/// Records that the value at `field` is not acceptable, saying `message`; `None`, for the value.
fn invalid<T>(errors: &mut Vec<FieldError>, field: &str, message: &str) -> Option<T> {
    errors.push(FieldError { field: field.to_owned(), message: message.to_owned() });
    None
}

/// The codice fiscale at `/codice_fiscale`, or `None` with its message added to `errors`.
fn parse_codice_fiscale(typed: &str, lang: Lang, errors: &mut Vec<FieldError>) -> Option<CodiceFiscale> {
    match CodiceFiscale::parse(typed) {
        Ok(codice_fiscale) => Some(codice_fiscale),
        Err(e) => invalid(errors, "/codice_fiscale", &codice_fiscale_message(&e, lang)),
    }
}

/// A login: a codice fiscale and its PIN.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"codice_fiscale": "BNCLGU75C12F205Q", "pin": "ABCD2345"}))]
pub struct SessionRequest {
    /// The codice fiscale, in upper or lower case.
    pub codice_fiscale: String,
    /// The simplified PIN (its first 8 characters) or the full PIN (16 characters); case and spaces are ignored.
    pub pin: String,
    /// The device token an earlier login of this app returned (`device` of the answer), if any. With it, wrong PINs
    /// are counted for this app alone: strangers' wrong PINs for the same codice fiscale do not lock it out.
    #[serde(default)]
    pub device: Option<String>,
}

/// A session opened by a login.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionCreated {
    /// The bearer token: send it as `Authorization: Bearer <token>`. It is shown only this once.
    #[schema(example = "3f1c0a9e5b7d4c2a8e6f1b3d5a7c9e0f")]
    pub token: String,
    /// When the session ends if the token is not used before; each use moves this on by the idle timeout.
    pub idle_expires_at: DateTime<Utc>,
    /// When the session ends whatever the use.
    pub absolute_expires_at: DateTime<Utc>,
    /// The device token: keep it (it holds nothing personal and lasts beyond the session) and send it as `device`
    /// with the next logins from this app, so that a lock caused by strangers' wrong PINs does not apply to it.
    /// Several people may log in from one app: the token remembers up to four, so send back the latest.
    pub device: String,
}

/// `POST /api/v1/sessions`: logs in with the codice fiscale and PIN and returns a bearer token and a device token.
/// An unknown codice fiscale and a wrong PIN get the same 401 as the login page; a lock says until when. Wrong PINs
/// count towards the same locks as the page's: the device's own, or the strangers' one.
#[utoipa::path(
    post,
    path = "/api/v1/sessions",
    tag = "sessions",
    operation_id = "create_session",
    summary = "Log in",
    description = "Opens a session with the codice fiscale and the simplified (8 characters) or full (16 \
        characters) PIN, and returns its bearer token and a device token to send back with later logins. An \
        unknown codice fiscale and a wrong PIN get the same 401 `login-refused`. After 5 wrong PINs in a row, here \
        or on the portal, logging in with the codice fiscale is locked for 15 minutes (401 `login-locked`, with \
        `locked_until`) for every client but the devices the person logged in from before, which count their own \
        wrong PINs apart. Any codice fiscale locks alike, registered or not.",
    request_body = SessionRequest,
    responses(
        (status = 201, description = "Logged in: the session's bearer token.", body = SessionCreated,
            headers(("Location" = String, description = "The session: `/api/v1/sessions/current`."))),
        (status = 400, response = super::responses::Malformed),
        (status = 401, response = super::responses::LoginRefused),
        (status = 413, response = super::responses::TooLarge),
        (status = 415, response = super::responses::UnsupportedMediaType),
        (status = 422, response = super::responses::Invalid),
        (status = 429, response = super::responses::TooManyRequests),
    )
)]
pub async fn create(
    ApiLang(lang): ApiLang,
    State(state): State<AuthState>,
    client: ClientIp,
    ApiJson(body): ApiJson<SessionRequest>,
) -> Response {
    let mut errors = Vec::new();
    let codice_fiscale = parse_codice_fiscale(&body.codice_fiscale, lang, &mut errors);
    let pin = match EnteredPin::parse(&body.pin) {
        Ok(pin) => Some(pin),
        Err(e) => invalid(&mut errors, "/pin", &pin_message(&e, lang)),
    };
    let (Some(codice_fiscale), Some(pin)) = (codice_fiscale, pin) else {
        return Problem::validation(lang, errors).into_response();
    };
    let attempt = Attempt {
        codice_fiscale,
        pin: &pin,
        device: body.device.as_deref(),
        client,
        replacing: None,
        kind: SessionKind::Bearer,
    };
    match log_in(&state, attempt).await {
        Ok(LoginOutcome::Opened(logged_in)) => {
            let opened = logged_in.session;
            let idle_expires_at = chrono::TimeDelta::from_std(state.app.config.session.idle_timeout())
                .ok()
                .and_then(|idle| opened.opened_at.checked_add_signed(idle))
                .map_or(opened.expires_at, |idle_ends| idle_ends.min(opened.expires_at));
            let body = SessionCreated {
                token: opened.id.expose().to_owned(),
                idle_expires_at,
                absolute_expires_at: opened.expires_at,
                device: logged_in.device.value(),
            };
            let location = [(header::LOCATION, HeaderValue::from_static("/api/v1/sessions/current"))];
            (StatusCode::CREATED, location, axum::Json(body)).into_response()
        }
        Ok(LoginOutcome::Refused { locked_until: None }) => {
            let problem = Problem::new(ProblemKind::LoginRefused, lang, login_refused_message(lang));
            with_challenge(problem.into_response(), false)
        }
        Ok(LoginOutcome::Refused { locked_until: Some(until) }) => {
            let problem =
                Problem::new(ProblemKind::LoginLocked, lang, pin_locked_message(lang, until)).locked_until(until);
            with_challenge(problem.into_response(), false)
        }
        Ok(LoginOutcome::Limited(wait)) => too_many(true, lang, wait),
        Err(e) => Problem::of(e, lang).into_response(),
    }
}

/// `DELETE /api/v1/sessions/current`: logs out, ending the session of the bearer token.
#[utoipa::path(
    delete,
    path = "/api/v1/sessions/current",
    tag = "sessions",
    operation_id = "delete_session",
    summary = "Log out",
    description = "Ends the session of the bearer token; the token opens nothing afterwards.",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out: the token opens nothing any more."),
        (status = 401, response = super::responses::Unauthorized),
    )
)]
pub async fn delete_current(
    ApiLang(lang): ApiLang,
    State(state): State<AuthState>,
    Bearer(citizen): Bearer,
) -> Response {
    match state.app.store.delete_session(&citizen.id_hash).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => Problem::of(e.into(), lang).into_response(),
    }
}
