//! The login pages: `GET/POST /pin` (ask for a PIN), `GET/POST /accedi` (log in) and `POST /esci` (log out).

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sportello_domain::{CodiceFiscale, CodiceFiscaleError};
use sportello_store::SessionKind;
use sportello_usecases::pin_request;

use super::AuthState;
use super::csrf::{Binding, CSRF_COOKIE};
use super::device::{DEVICE_COOKIE, MAX_VALUE_LEN, set_device_cookie};
use super::session::{Citizen, SESSION_COOKIE, cookie, cookie_at_most, random_hex, set_cookie};
use crate::apply::italian_time;
use crate::error::{AuthError, OrPage, PageError};
use crate::i18n::{Lang, LangQuery};
use crate::limits::{ClientIp, too_many};
use crate::pin::{EnteredPin, PinError};
use crate::render::{LAST_UPDATE, forbidden, lang_suffix, render_with as render};

pub use super::login::{Attempt, LoggedIn, LoginOutcome, Opened, log_in};
pub use sportello_usecases::draft::Contact;

/// The pre-login CSRF value of this client and whether it is new: its cookie, or a fresh one to set with the page.
fn pre_login_value(headers: &HeaderMap) -> Result<(String, bool), AuthError> {
    match cookie(headers, CSRF_COOKIE) {
        Some(value) => Ok((value.to_owned(), false)),
        None => random_hex().map(|value| (value, true)),
    }
}

/// `response` with the pre-login CSRF cookie set, if it is new.
fn with_csrf_cookie(mut response: Response, value: &str, new: bool) -> Response {
    if new && let Some(cookie) = set_cookie(CSRF_COOKIE, value) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Whether a pre-login form's token matches this client's CSRF cookie.
fn pre_login_token_ok(state: &AuthState, headers: &HeaderMap, token: &str) -> bool {
    cookie(headers, CSRF_COOKIE).is_some_and(|value| state.auth.csrf.verify(Binding::PreLogin(value), token))
}

/// The citizen's message for a codice fiscale that does not parse.
pub fn codice_fiscale_message(error: &CodiceFiscaleError, lang: Lang) -> String {
    match (error, lang) {
        (CodiceFiscaleError::Length(n), Lang::It) => {
            format!("Il codice fiscale ha 16 caratteri; quello inserito ne ha {n}.")
        }
        (CodiceFiscaleError::Length(n), Lang::En) => format!("A codice fiscale has 16 characters; this one has {n}."),
        (CodiceFiscaleError::Character { position, .. }, Lang::It) => {
            format!("Il carattere in posizione {position} non può stare in quel punto del codice fiscale.")
        }
        (CodiceFiscaleError::Character { position, .. }, Lang::En) => {
            format!("Character {position} cannot stand at that place of a codice fiscale.")
        }
        (CodiceFiscaleError::Day(_), Lang::It) => {
            "I caratteri 10 e 11 non indicano un giorno di nascita valido.".to_owned()
        }
        (CodiceFiscaleError::Day(_), Lang::En) => "Characters 10 and 11 do not give a valid day of birth.".to_owned(),
        (CodiceFiscaleError::CheckCharacter { .. }, Lang::It) => {
            "L'ultimo carattere non corrisponde ai precedenti: uno dei caratteri è stato scritto male.".to_owned()
        }
        (CodiceFiscaleError::CheckCharacter { .. }, Lang::En) => {
            "The last character does not match the others: one of them is mistyped.".to_owned()
        }
    }
}

/// The citizen's message for a PIN that does not parse.
pub fn pin_message(error: &PinError, lang: Lang) -> String {
    match lang {
        Lang::It => error.user_message().to_owned(),
        Lang::En => match error {
            PinError::WrongLength { .. } => {
                "The PIN has 8 characters (simplified PIN) or 16 characters (full PIN). Spaces do not count."
            }
            PinError::InvalidCharacter { .. } => {
                "The PIN contains a character no PIN has: INPS PINs use the digits 2 to 9 and the letters other \
                 than I, L and O. Check that you copied it correctly."
            }
            PinError::Rng(_) | PinError::Hash(_) | PinError::Task(_) => {
                "The service is not available at the moment. Please try again in a few minutes."
            }
        }
        .to_owned(),
    }
}

/// The PIN request form as posted. Every field defaults to empty, so that a missing one is judged by the handler
/// (a missing CSRF token is a 403, not a 422).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PinRequestForm {
    /// The CSRF token.
    pub csrf: String,
    /// The codice fiscale as typed.
    pub codice_fiscale: String,
    /// The e-mail address or mobile number as typed.
    pub contatto: String,
}

#[derive(Template)]
#[template(path = "pin_request.html")]
struct PinRequestPage {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
    csrf: String,
    codice_fiscale: String,
    contatto: String,
    codice_fiscale_error: Option<String>,
    contatto_error: Option<String>,
}

#[derive(Template)]
#[template(path = "pin_sent.html")]
struct PinSentPage {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
}

/// `GET /pin`: the form asking for a PIN.
pub async fn pin_form(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = query.lang();
    let (value, new) = pre_login_value(&headers).or_page(lang)?;
    let page = PinRequestPage {
        lang,
        lang_suffix: lang_suffix(lang),
        last_update: LAST_UPDATE,
        csrf: state.auth.csrf.token(Binding::PreLogin(&value)),
        codice_fiscale: String::new(),
        contatto: String::new(),
        codice_fiscale_error: None,
        contatto_error: None,
    };
    Ok(with_csrf_cookie(render(StatusCode::OK, &page), &value, new))
}

/// `POST /pin`: asks for a PIN for a person of the registry, first half at once, second half later. Once the form is
/// valid the issuing goes on in the background ([`issue_pin_in_background`]) and the same page is answered at once
/// to everyone, so that neither the page nor its timing tells who is registered or holds a PIN.
pub async fn pin_request(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
    Form(form): Form<PinRequestForm>,
) -> Response {
    let lang = query.lang();
    if !pre_login_token_ok(&state, &headers, &form.csrf) {
        return forbidden(lang);
    }
    let codice_fiscale = CodiceFiscale::parse(&form.codice_fiscale);
    let contact = Contact::parse(&form.contatto);
    let (codice_fiscale, contact) = match (codice_fiscale, contact) {
        (Ok(cf), Some(contact)) => (cf, contact),
        (cf, contact) => {
            let csrf = state.auth.csrf.token(Binding::PreLogin(cookie(&headers, CSRF_COOKIE).unwrap_or_default()));
            let page = PinRequestPage {
                lang,
                lang_suffix: lang_suffix(lang),
                last_update: LAST_UPDATE,
                csrf,
                codice_fiscale_error: cf.err().map(|e| codice_fiscale_message(&e, lang)),
                contatto_error: contact.is_none().then(|| contact_message(lang).to_owned()),
                codice_fiscale: form.codice_fiscale,
                contatto: form.contatto,
            };
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    issue_pin_in_background(&state, codice_fiscale, contact, lang).await;
    render(StatusCode::OK, &PinSentPage { lang, lang_suffix: lang_suffix(lang), last_update: LAST_UPDATE })
}

/// Hands a valid PIN request to a task of its own and returns, taking the same time whoever it names: what
/// the use case `sportello_usecases::pin_request::request` does for a registered person (reading their PINs, hashing a new one, storing it and queueing its
/// messages) would otherwise tell them apart by the answer's delay. A failure is logged by its cause (never the
/// PIN or the contact); the requester was told only what happens *if* the codice fiscale is registered, and asks
/// again. At most [`super::ISSUING_AT_ONCE`] requests are issued at once; beyond, the answer waits for a place,
/// whoever it names.
pub async fn issue_pin_in_background(state: &AuthState, codice_fiscale: CodiceFiscale, contact: Contact, lang: Lang) {
    let permit = std::sync::Arc::clone(&state.auth.issuing).acquire_owned().await.ok();
    let state = state.clone();
    tokio::spawn(async move {
        let _permit = permit;
        // Let the answer leave first: on a busy machine the issuing's reads and hashes would otherwise compete with
        // writing it, and slow a registered person's answer alone.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let (store, hasher) = (state.app.store.as_ref(), &state.auth.hasher);
        let delay = state.app.config.pin.second_half_delay();
        let now = state.auth.now();
        let issued = pin_request::request(store, hasher, codice_fiscale, &contact, delay, lang.into(), now).await;
        if let Err(e) = issued {
            tracing::error!(error = %e, "could not issue a PIN");
        }
    });
}

/// The message for a contact that is neither an e-mail address nor a mobile number.
pub fn contact_message(lang: Lang) -> &'static str {
    lang.pick(
        "Indichi un indirizzo e-mail (per esempio nome@esempio.it) o un numero di cellulare (per esempio +39 333 123 \
         4567).",
        "Enter an e-mail address (for example name@example.it) or a mobile number (for example +39 333 123 4567).",
    )
}

/// What a PIN request is answered, whether or not the codice fiscale is in the registry (the API's words for
/// `pin_sent.html`).
pub fn pin_request_received_message(lang: Lang) -> &'static str {
    lang.pick(
        "Se il codice fiscale indicato risulta negli archivi dell'INPS, riceverà a breve la prima parte del PIN al \
         recapito indicato. La seconda parte arriverà separatamente più avanti.",
        "If the codice fiscale you entered is in INPS's records, you will shortly receive the first half of the PIN \
         at the contact you gave. The second half will follow separately later.",
    )
}

/// What a refused login is answered (the same words as `login.html`): an unknown codice fiscale and a wrong PIN
/// must look alike.
pub fn login_refused_message(lang: Lang) -> &'static str {
    lang.pick(
        "Codice fiscale o PIN non validi. Controlli i dati e riprovi: dopo troppi tentativi errati, per qualche minuto \
         non sarà possibile accedere.",
        "Invalid codice fiscale or PIN. Check what you entered and try again: after too many wrong attempts, logging \
         in is locked for a few minutes.",
    )
}

/// What a login is answered while wrong PINs have locked logging in with this codice fiscale from this client, until
/// `until` (Italian time, `22/11/2026 15:30`). Any codice fiscale locks alike, registered or not, PIN or not, so
/// the words tell nothing about the person; they say where the owner can still log in.
pub fn pin_locked_message(lang: Lang, until: DateTime<Utc>) -> String {
    let until = italian_time::format(until);
    match lang {
        Lang::It => format!(
            "Troppi tentativi con un PIN errato: l'accesso con questo codice fiscale da qui è bloccato fino al \
             {until} (ora italiana). Se ha già effettuato l'accesso da un altro browser o dall'app, da lì può \
             continuare ad accedere."
        ),
        Lang::En => format!(
            "Too many wrong PINs: logging in with this codice fiscale from here is locked until {until} (Italian \
             time). If you have logged in before from another browser or from the app, you can go on logging in \
             there."
        ),
    }
}

/// The login form as posted; fields default to empty (see [`PinRequestForm`]).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    /// The CSRF token.
    pub csrf: String,
    /// The codice fiscale as typed.
    pub codice_fiscale: String,
    /// The PIN as typed; never logged nor shown back.
    pub pin: String,
}

/// The messages for a login form's fields, in the citizen's language: at least one is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginErrors {
    /// What is wrong with the codice fiscale.
    pub codice_fiscale: Option<String>,
    /// What is wrong with the PIN.
    pub pin: Option<String>,
}

impl LoginForm {
    /// Checks what was typed: the codice fiscale and the PIN to try, or a message for each field that is wrong.
    pub fn validate(&self, lang: Lang) -> Result<(CodiceFiscale, EnteredPin), LoginErrors> {
        match (CodiceFiscale::parse(&self.codice_fiscale), EnteredPin::parse(&self.pin)) {
            (Ok(cf), Ok(pin)) => Ok((cf, pin)),
            (cf, pin) => Err(LoginErrors {
                codice_fiscale: cf.err().map(|e| codice_fiscale_message(&e, lang)),
                pin: pin.err().map(|e| pin_message(&e, lang)),
            }),
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
    csrf: String,
    codice_fiscale: String,
    codice_fiscale_error: Option<String>,
    pin_error: Option<String>,
    refused: bool,
    /// Why the login was refused when logging in is locked: the words of [`pin_locked_message`].
    locked: Option<String>,
    /// SPID's providers and CIE, when `[federation]` is configured.
    federation: Option<super::oidc::Links>,
    /// Where to log in with a card (CNS or CIE in a reader), when `[cns]` is configured.
    card_url: Option<String>,
}

impl LoginPage {
    fn new(state: &AuthState, lang: Lang, csrf_value: &str) -> Self {
        LoginPage {
            lang,
            lang_suffix: lang_suffix(lang),
            last_update: LAST_UPDATE,
            csrf: state.auth.csrf.token(Binding::PreLogin(csrf_value)),
            codice_fiscale: String::new(),
            codice_fiscale_error: None,
            pin_error: None,
            refused: false,
            locked: None,
            federation: state.auth.oidc.as_ref().map(|door| door.cached_links()),
            card_url: state
                .app
                .config
                .cns
                .as_ref()
                .map(|cns| format!("{}{}{}", cns.url.trim_end_matches('/'), super::cns::PATH, lang_suffix(lang))),
        }
    }
}

/// `GET /accedi`: the login form.
pub async fn login_form(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let lang = query.lang();
    let (value, new) = pre_login_value(&headers).or_page(lang)?;
    if let Some(door) = &state.auth.oidc {
        door.links(state.auth.now().timestamp()).await;
    }
    Ok(with_csrf_cookie(render(StatusCode::OK, &LoginPage::new(&state, lang, &value)), &value, new))
}

/// `POST /accedi`: checks the codice fiscale and PIN; on success opens a new session, remembers the browser in the
/// device cookie and goes to `/situazione`. An unknown codice fiscale and a wrong PIN get the same answer after the
/// same work; a lock says until when.
pub async fn login(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    client: ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let lang = query.lang();
    if !pre_login_token_ok(&state, &headers, &form.csrf) {
        return Ok(forbidden(lang));
    }
    let csrf_value = cookie(&headers, CSRF_COOKIE).unwrap_or_default();
    let (codice_fiscale, pin) = match form.validate(lang) {
        Ok(valid) => valid,
        Err(errors) => {
            let page = LoginPage {
                codice_fiscale_error: errors.codice_fiscale,
                pin_error: errors.pin,
                codice_fiscale: form.codice_fiscale,
                ..LoginPage::new(&state, lang, csrf_value)
            };
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let attempt = Attempt {
        codice_fiscale,
        pin: &pin,
        device: cookie_at_most(&headers, DEVICE_COOKIE, MAX_VALUE_LEN),
        client,
        replacing: cookie(&headers, SESSION_COOKIE),
        kind: SessionKind::Cookie,
    };
    Ok(match log_in(&state, attempt).await.or_page(lang)? {
        LoginOutcome::Opened(opened) => {
            let mut response = Redirect::to(&format!("/situazione{}", lang_suffix(lang))).into_response();
            if let Some(cookie) = set_cookie(SESSION_COOKIE, opened.session.id.expose()) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            if let Some(cookie) = set_device_cookie(&opened.device) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        LoginOutcome::Refused { locked_until } => {
            let page = LoginPage {
                refused: true,
                locked: locked_until.map(|until| pin_locked_message(lang, until)),
                codice_fiscale: form.codice_fiscale,
                ..LoginPage::new(&state, lang, csrf_value)
            };
            render(StatusCode::UNAUTHORIZED, &page)
        }
        LoginOutcome::Limited(wait) => too_many(false, lang, wait),
    })
}

/// The logout form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LogoutForm {
    /// The CSRF token, bound to the session.
    pub csrf: String,
}

/// `POST /esci`: ends the session, drops its cookie and leads to `/uscita`, which says so.
pub async fn logout(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    citizen: Citizen,
    Form(form): Form<LogoutForm>,
) -> Result<Response, PageError> {
    let lang = query.lang();
    if !state.auth.csrf.verify(Binding::Session(&citizen.id_hash), &form.csrf) {
        return Ok(forbidden(lang));
    }
    state.app.store.delete_session(&citizen.id_hash).await.or_page(lang)?;
    let mut response = Redirect::to(&format!("/uscita{}", lang_suffix(lang))).into_response();
    if let Some(clear) = super::session::clear_cookie(SESSION_COOKIE) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    Ok(response)
}
