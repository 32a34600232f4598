//! The Contact Center's pages under `/intermediari/chiamata` (issue 17): an operator seated at a Contact Center office
//! identifies the caller (their codice fiscale and the first half of one of their PINs, with the call's id and the
//! caller's consent, `contact_center::identify`), reads the caller's situation and applications, files an assisted
//! application (`contact_center::file`) and ends the call.
//!
//! An identified caller is a session of its own, its id in the `__Host-sportello_chiamata` cookie (`SameSite=Strict`,
//! an hour at most): its principal is the operator on the call acting for the caller, which no citizen's door opens.
//! Every page reads it through [`OnCall`], which also needs the operator's own live session at a Contact Center
//! office and takes only a call that same operator opened (`contact_center::on_call`); without one, nothing about
//! any caller is read or filed. docs/SECURITY.md, "The Contact Center".

use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sportello_domain::CodiceFiscale;
use sportello_domain::intermediaries::{CallId, IntermediaryKind};
use sportello_domain::principal::Principal;
use sportello_store::SessionKind;
use sportello_usecases::acting::Acting;
use sportello_usecases::apply::Draft;
use sportello_usecases::intermediaries::contact_center::{self, Call};
use sportello_usecases::login::Lockout;
use sportello_usecases::sessions::{self, NewSession, hash_id};
use sportello_usecases::{decide, receipts};

use super::filing::{self, Door};
use super::page::{Header, IntermError, OrInterm, forbidden_form, problem};
use super::session::Operator;
use crate::apply::form::{ApplicationForm, FieldErrors};
use crate::auth::AuthState;
use crate::auth::session::{ClientAddr, cookie, is_live, touch_every};
use crate::i18n::Lang;
use crate::pin::EnteredPin;
use crate::render::{LAST_UPDATE, render_with};
use crate::schemes::scheme_title;

/// The identified caller's session cookie, apart from the operator's own.
pub const CALL_COOKIE: &str = "__Host-sportello_chiamata";

/// Where the Contact Center's pages begin.
pub const CALL: &str = "/intermediari/chiamata";

/// A call's session ends after this, whatever the activity: calls are short, and the next caller starts afresh.
pub const CALL_LASTS: Duration = Duration::from_secs(3600);

/// A `Set-Cookie` value for an identified caller's session, for as long as the browser is open.
fn set_call_cookie(value: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("{CALL_COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Strict")).ok()
}

/// A `Set-Cookie` value that removes the caller's session cookie.
pub fn clear_call_cookie() -> HeaderValue {
    HeaderValue::from_static("__Host-sportello_chiamata=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// Ends the call session this browser holds, if any (the operator logs out, changes office or hangs up).
pub async fn end_held(state: &AuthState, headers: &HeaderMap) -> Result<(), IntermError> {
    if let Some(id) = cookie(headers, CALL_COOKIE) {
        sessions::close(state.app.store.as_ref(), id).await.or_interm(None)?;
    }
    Ok(())
}

/// A Contact Center operator's page: the operator, and the caller identified on their call, if there is one.
pub struct OnCall {
    /// The operator, at a Contact Center office.
    pub operator: Operator,
    /// The operator acting for the identified caller, if a call is open.
    pub caller: Option<Acting>,
}

impl FromRequestParts<AuthState> for OnCall {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AuthState) -> Result<Self, Self::Rejection> {
        let operator = Operator::from_request_parts(parts, state).await?;
        let header = Some(&operator.header);
        if operator.seat.kind != IntermediaryKind::ContactCenter {
            return Err(problem(
                StatusCode::FORBIDDEN,
                header,
                "Riservato al Contact Center",
                "Queste pagine sono degli operatori del Contact Center. Per agire per un cittadino, un patronato usa \
                 la delega registrata presso la sede.",
            ));
        }
        let from =
            ClientAddr::from_request_parts(parts, state).await.ok().and_then(|a| a.0).map(|a| a.ip().to_string());
        let caller = match cookie(&parts.headers, CALL_COOKIE) {
            Some(id) => resume(state, &operator, id, from).await.map_err(IntoResponse::into_response)?,
            None => None,
        };
        Ok(OnCall { operator, caller })
    }
}

/// The caller a presented call session id opens for this operator, if it is live and theirs.
async fn resume(
    state: &AuthState,
    operator: &Operator,
    id: &str,
    from: Option<String>,
) -> Result<Option<Acting>, IntermError> {
    let header = Some(&operator.header);
    let store = state.app.store.as_ref();
    let id_hash = hash_id(id);
    let now = state.auth.now();
    let idle = state.app.config.session.idle_timeout();
    let Some(session) = store.session(&id_hash).await.or_interm(header)? else { return Ok(None) };
    if session.kind != SessionKind::Cookie || !is_live(&session, now, idle) {
        return Ok(None);
    }
    let Ok(principal) =
        Principal::from_stored(&session.actor, session.codice_fiscale, &session.login_method, &session.channel)
    else {
        return Ok(None);
    };
    let Some(acting) =
        contact_center::on_call(&operator.seat, principal, session.credential.clone(), session.confirmed, from)
    else {
        return Ok(None);
    };
    if now - session.last_seen_at >= touch_every(idle) {
        store.touch_session(&id_hash, now).await.or_interm(header)?;
    }
    Ok(Some(acting))
}

/// One indemnity as the call's page shows it.
struct Row {
    title: String,
    eligible: bool,
    reasons: Vec<String>,
}

/// One of the caller's applications as the call's page lists it.
struct Filed {
    protocol: String,
    title: String,
    outcome: &'static str,
}

/// The caller on the call, as the page shows them.
struct Caller {
    subject: String,
    call: String,
    in_registry: bool,
    rows: Vec<Row>,
    applications: Vec<Filed>,
}

#[derive(Template)]
#[template(path = "intermediaries/call.html")]
struct CallPage {
    lang: Lang,
    last_update: &'static str,
    header: Option<Header>,
    caller: Option<Caller>,
    /// What the identification form held, when it is shown again.
    call_id: String,
    codice_fiscale: String,
    refused: Option<String>,
    /// What was done, when the form is shown again after sending something to the caller.
    done: Option<&'static str>,
}

fn identify_page(operator: &Operator, status: StatusCode, asked: &IdentifyForm, refused: Option<String>) -> Response {
    form_again(operator, status, asked, refused, None)
}

fn form_again(
    operator: &Operator,
    status: StatusCode,
    asked: &IdentifyForm,
    refused: Option<String>,
    done: Option<&'static str>,
) -> Response {
    let page = CallPage {
        lang: Lang::It,
        last_update: LAST_UPDATE,
        header: Some(operator.header.clone()),
        caller: None,
        call_id: asked.call_id.chars().take(32).collect(),
        codice_fiscale: asked.codice_fiscale.chars().take(16).collect(),
        refused,
        done,
    };
    render_with(status, &page)
}

/// `GET /intermediari/chiamata`: the identification form; on an open call, the caller's situation indemnity by
/// indemnity and their applications (both readings audited under the call).
pub async fn page(State(state): State<AuthState>, on_call: OnCall) -> Result<Response, IntermError> {
    let OnCall { operator, caller } = on_call;
    let header = Some(&operator.header);
    let Some(acting) = caller else {
        return Ok(identify_page(&operator, StatusCode::OK, &IdentifyForm::default(), None));
    };
    let store = state.app.store.as_ref();
    let now = state.auth.now();
    let seen = decide::viewed(store, &state.app.decrees, &acting, now).await.or_interm(header)?;
    let listed = receipts::list(store, &acting, now).await.or_interm(header)?;
    let rows = seen
        .decision
        .schemes
        .iter()
        .map(|d| Row {
            title: scheme_title(&state, &d.scheme, Lang::It),
            eligible: d.eligible,
            reasons: d.reasons.iter().map(|r| format!("{} ({})", r.it, r.article)).collect(),
        })
        .collect();
    let applications = listed
        .applications
        .iter()
        .map(|a| Filed {
            protocol: a.protocol.to_string(),
            title: scheme_title(&state, &a.scheme, Lang::It),
            outcome: crate::apply::receipt::outcome(a.status, Lang::It),
        })
        .collect();
    let call = contact_center::call_of(&acting).map(|c| c.to_string()).unwrap_or_default();
    let caller = Caller {
        subject: acting.principal.subject.to_string(),
        call,
        in_registry: seen.in_registry,
        rows,
        applications,
    };
    let page = CallPage {
        lang: Lang::It,
        last_update: LAST_UPDATE,
        header: Some(operator.header),
        caller: Some(caller),
        call_id: String::new(),
        codice_fiscale: String::new(),
        refused: None,
        done: None,
    };
    Ok(render_with(StatusCode::OK, &page))
}

/// The identification form's fields.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct IdentifyForm {
    csrf: String,
    call_id: String,
    codice_fiscale: String,
    pin: String,
    code: String,
    contact: String,
    consent: String,
}

impl IdentifyForm {
    /// The call, once its id, the caller's codice fiscale and the consent are read; otherwise what to correct.
    fn call(&self) -> Result<Call, String> {
        let Ok(id) = CallId::parse(self.call_id.trim()) else {
            return Err("Indichi il numero della chiamata: da 1 a 32 lettere, cifre, - o _.".to_owned());
        };
        let Ok(caller) = CodiceFiscale::parse(self.codice_fiscale.trim()) else {
            return Err("Il codice fiscale del chiamante non è valido: lo chieda di nuovo.".to_owned());
        };
        Ok(Call { id, caller, consent: self.consent == "si" })
    }
}

impl std::fmt::Debug for IdentifyForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentifyForm").field("call_id", &self.call_id).finish_non_exhaustive()
    }
}

/// `POST /intermediari/chiamata`: identifies the caller by their codice fiscale and the first half of their PIN (or
/// the one-time code just sent to their contact on file), with the call's id and their consent; opens the call
/// (ending the one this browser held) and shows the caller. A wrong half or code and a codice fiscale nobody holds
/// get the same answer.
pub async fn identify(
    State(state): State<AuthState>,
    on_call: OnCall,
    from: ClientAddr,
    headers: HeaderMap,
    Form(asked): Form<IdentifyForm>,
) -> Result<Response, IntermError> {
    let operator = on_call.operator;
    let header = Some(&operator.header);
    if !operator.token_ok(&state, &asked.csrf) {
        return Ok(forbidden_form(header));
    }
    let again = |message: String| identify_page(&operator, StatusCode::UNPROCESSABLE_ENTITY, &asked, Some(message));
    let call = match asked.call() {
        Ok(call) => call,
        Err(message) => return Ok(again(message)),
    };
    let from = from.0.map(|addr| addr.ip().to_string());
    let store = state.app.store.as_ref();
    let now = state.auth.now();
    let seat = &operator.seat;
    let identified = if asked.pin.trim().is_empty() && !asked.code.trim().is_empty() {
        contact_center::identify_by_code(store, seat, call, asked.code.trim(), from, now).await
    } else {
        let Ok(half) = EnteredPin::parse(asked.pin.trim()) else {
            return Ok(again("Chieda al chiamante la prima parte del suo PIN: 8 caratteri.".to_owned()));
        };
        let pin_config = &state.app.config.pin;
        let lockout = Lockout { max_failures: pin_config.max_failures, lock_for: pin_config.lock_for() };
        contact_center::identify(store, &state.auth.hasher, lockout, seat, call, &half, from, now).await
    };
    let acting = match identified {
        Ok(acting) => acting,
        Err(e) if e.kind() == sportello_usecases::ErrorKind::Input => return Ok(again(e.to_string())),
        Err(e) if e.kind() == sportello_usecases::ErrorKind::Forbidden => {
            let page = identify_page(&operator, StatusCode::FORBIDDEN, &asked, Some(e.to_string()));
            return Ok(page);
        }
        Err(e) => return Err(e).or_interm(header),
    };
    let new = NewSession {
        principal: acting.principal,
        kind: SessionKind::Cookie,
        credential: acting.credential,
        confirmed: acting.confirmed,
    };
    let opened = sessions::open(store, new, cookie(&headers, CALL_COOKIE), CALL_LASTS, now).await.or_interm(header)?;
    let mut response = Redirect::to(CALL).into_response();
    if let Some(cookie) = set_call_cookie(opened.id.expose()) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// The answer to a filing page asked without an identified caller: nothing about anyone is read or filed.
fn no_caller(header: Option<&Header>) -> Response {
    problem(
        StatusCode::FORBIDDEN,
        header,
        "Nessun chiamante identificato",
        "Prima di presentare una domanda identifichi il chiamante con il suo codice fiscale e la prima parte del \
         suo PIN, con il numero della chiamata e il suo consenso.",
    )
}

/// The filing pages' door on a call.
fn door() -> Door {
    Door {
        action: "/intermediari/chiamata/domanda",
        basis: "Presentata durante la chiamata, con il consenso del chiamante identificato: la domanda e la ricevuta \
                al cittadino riportano la sede del Contact Center, il Suo codice fiscale e il numero della chiamata.",
        choose: "/intermediari/chiamata/domanda?scheme=".to_owned(),
        back: (CALL.to_owned(), "Torna alla chiamata"),
    }
}

/// `GET /intermediari/chiamata/domanda?scheme=…`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Asked {
    scheme: String,
}

/// `GET /intermediari/chiamata/domanda`: the indemnities the Contact Center may file for the caller; with
/// `?scheme=…`, the form, filled with the caller's contacts on file.
pub async fn form(
    State(state): State<AuthState>,
    on_call: OnCall,
    Query(asked): Query<Asked>,
) -> Result<Response, IntermError> {
    let OnCall { operator, caller } = on_call;
    let Some(acting) = caller else { return Ok(no_caller(Some(&operator.header))) };
    let subject = acting.principal.subject;
    if asked.scheme.is_empty() {
        return Ok(filing::choices(&state, &operator, door(), subject));
    }
    let scheme = filing::fileable(&state, &operator, &asked.scheme)?;
    let form = filing::prefilled(&state, &operator, subject, scheme).await?;
    Ok(filing::page(&state, &operator, door(), subject, scheme, form, FieldErrors::default()))
}

/// `POST /intermediari/chiamata/domanda`: checks the form as the citizen's is checked and files it for the caller on
/// this call; the outcome with its protocol number, or the form again (422). The same form posted twice answers with
/// the same application.
pub async fn submit(
    State(state): State<AuthState>,
    on_call: OnCall,
    Form(form): Form<ApplicationForm>,
) -> Result<Response, IntermError> {
    let OnCall { operator, caller } = on_call;
    let header = Some(&operator.header);
    if !operator.token_ok(&state, &form.csrf) {
        return Ok(forbidden_form(header));
    }
    let Some(acting) = caller else { return Ok(no_caller(header)) };
    let subject = acting.principal.subject;
    let scheme = filing::fileable(&state, &operator, &form.scheme)?;
    let checked = form.validate_for(Lang::It, scheme).and_then(|details| Ok((form.key(Lang::It)?, details)));
    let (idempotency_key, details) = match checked {
        Ok(checked) => checked,
        Err(errors) => return Ok(filing::page(&state, &operator, door(), subject, scheme, form, errors)),
    };
    let draft = Draft { scheme: scheme.id().to_owned(), idempotency_key, details };
    let store = state.app.store.as_ref();
    let submitted = contact_center::file(store, &state.app.decrees, &operator.seat, &acting, draft, state.auth.now())
        .await
        .or_interm(header)?;
    Ok(filing::filed(&state, &operator, door(), subject, scheme, submitted).await)
}

/// The form that ends a call.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EndForm {
    csrf: String,
}

/// `POST /intermediari/chiamata/fine`: ends the call (audited under its id) and goes back to the identification
/// form for the next caller.
pub async fn end(
    State(state): State<AuthState>,
    on_call: OnCall,
    headers: HeaderMap,
    Form(form): Form<EndForm>,
) -> Result<Response, IntermError> {
    let OnCall { operator, caller } = on_call;
    let header = Some(&operator.header);
    if !operator.token_ok(&state, &form.csrf) {
        return Ok(forbidden_form(header));
    }
    if let Some(acting) = caller {
        contact_center::hang_up(state.app.store.as_ref(), &acting, state.auth.now()).await.or_interm(header)?;
    }
    end_held(&state, &headers).await?;
    let mut response = Redirect::to(CALL).into_response();
    response.headers_mut().append(header::SET_COOKIE, clear_call_cookie());
    Ok(response)
}

/// A use case's refusal on the identification form: what to correct (422), what is not allowed (403) or what cannot
/// be done now (409), the form kept; anything else is the operator's error page.
fn refused(
    operator: &Operator,
    asked: &IdentifyForm,
    error: sportello_usecases::UseCaseError,
) -> Result<Response, IntermError> {
    use sportello_usecases::ErrorKind;
    let status = match error.kind() {
        ErrorKind::Input => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        _ => return Err(error).or_interm(Some(&operator.header)),
    };
    Ok(identify_page(operator, status, asked, Some(error.to_string())))
}

/// The call a form names, once its token is this session's; otherwise the page answering it (403, or the form
/// again with what to correct).
fn checked_call(state: &AuthState, operator: &Operator, asked: &IdentifyForm) -> Result<Call, Box<Response>> {
    if !operator.token_ok(state, &asked.csrf) {
        return Err(Box::new(forbidden_form(Some(&operator.header))));
    }
    asked
        .call()
        .map_err(|message| Box::new(identify_page(operator, StatusCode::UNPROCESSABLE_ENTITY, asked, Some(message))))
}

/// `POST /intermediari/chiamata/codice`: sends the caller a one-time code at their contact on file (never at one
/// they give), for this call; the form again, saying the same whether or not the caller has a contact on file.
pub async fn send_code(
    State(state): State<AuthState>,
    on_call: OnCall,
    Form(asked): Form<IdentifyForm>,
) -> Result<Response, IntermError> {
    let operator = on_call.operator;
    let call = match checked_call(&state, &operator, &asked) {
        Ok(call) => call,
        Err(page) => return Ok(*page),
    };
    let store = state.app.store.as_ref();
    let lang = sportello_usecases::Language::It;
    match contact_center::send_code(store, &operator.seat, call, lang, state.auth.now()).await {
        Ok(_) => Ok(form_again(
            &operator,
            StatusCode::OK,
            &asked,
            None,
            Some(
                "Se il chiamante ha un recapito in archivio, gli è stato appena inviato un codice di 6 cifre, valido \
                 10 minuti per questa chiamata: glielo chieda e lo scriva qui sotto al posto del PIN.",
            ),
        )),
        Err(error) => refused(&operator, &asked, error),
    }
}

/// `POST /intermediari/chiamata/pin`: validates the caller's PIN request whose first half did not arrive within 12
/// hours, sending a fresh first half to the contact on file the caller confirms; the form again, saying it was sent.
pub async fn resend_pin(
    State(state): State<AuthState>,
    on_call: OnCall,
    Form(asked): Form<IdentifyForm>,
) -> Result<Response, IntermError> {
    let operator = on_call.operator;
    let call = match checked_call(&state, &operator, &asked) {
        Ok(call) => call,
        Err(page) => return Ok(*page),
    };
    let store = state.app.store.as_ref();
    let lang = sportello_usecases::Language::It;
    let delay = state.app.config.pin.second_half_delay();
    let sent = contact_center::resend_first_half(
        store,
        &state.auth.hasher,
        &operator.seat,
        call,
        &asked.contact,
        delay,
        lang,
        state.auth.now(),
    )
    .await;
    match sent {
        Ok(()) => Ok(form_again(
            &operator,
            StatusCode::OK,
            &asked,
            None,
            Some(
                "Una nuova prima parte del PIN è stata inviata al recapito confermato dal chiamante; la seconda parte \
                 seguirà allo stesso recapito. Il PIN richiesto in precedenza non vale più.",
            ),
        )),
        Err(error) => refused(&operator, &asked, error),
    }
}
