//! The login pages: `GET/POST /pin` (ask for a PIN), `GET/POST /accedi` (log in) and `POST /esci` (log out).

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sportello_domain::persons::{PersonRecord, parse_email, parse_mobile};
use sportello_domain::principal::{LoginMethod, Principal};
use sportello_domain::{CodiceFiscale, CodiceFiscaleError};
use sportello_store::credentials::slot_for_request;
use sportello_store::{FirstHalfTo, NewPin, OutboxMessage, PinCredential, STRANGERS, Session, SessionKind};

use super::AuthState;
use super::csrf::{Binding, CSRF_COOKIE};
use super::device::{DEVICE_COOKIE, Device, MAX_VALUE_LEN, set_device_cookie};
use super::session::{Citizen, SESSION_COOKIE, SessionId, cookie, cookie_at_most, hash_id, random_hex, set_cookie};
use crate::apply::italian_time;
use crate::error::ServiceError;
use crate::i18n::{Lang, LangQuery};
use crate::limits::{ClientIp, too_many};
use crate::notify::Channel;
use crate::pin::{EnteredPin, Pin, PinError, PinKind};
use crate::render::{LAST_UPDATE, forbidden, lang_suffix, render_with as render, unavailable};

/// The pre-login CSRF value of this client and whether it is new: its cookie, or a fresh one to set with the page
/// (`None` if the random number generator failed).
fn pre_login_value(headers: &HeaderMap) -> Option<(String, bool)> {
    match cookie(headers, CSRF_COOKIE) {
        Some(value) => Some((value.to_owned(), false)),
        None => random_hex()
            .inspect_err(|e| tracing::error!(error = %e, "could not draw a CSRF value"))
            .ok()
            .map(|value| (value, true)),
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

/// Where a PIN half is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    /// An e-mail address.
    Email(String),
    /// A mobile number, digits with an optional leading `+`.
    Sms(String),
}

impl Contact {
    /// Reads an e-mail address (anything with an `@`) or a phone number (8 to 15 digits, an optional leading `+`;
    /// spaces, dots and dashes ignored).
    pub fn parse(input: &str) -> Option<Self> {
        let input = input.trim();
        if input.contains('@') {
            return parse_email(input).map(Contact::Email);
        }
        let (plus, rest) = match input.strip_prefix('+') {
            Some(rest) => ("+", rest),
            None => ("", input),
        };
        let digits: String = rest.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect();
        parse_mobile(&format!("{plus}{digits}")).map(Contact::Sms)
    }

    fn channel(&self) -> Channel {
        match self {
            Contact::Email(_) => Channel::Email,
            Contact::Sms(_) => Channel::Sms,
        }
    }

    fn recipient(&self) -> &str {
        match self {
            Contact::Email(to) | Contact::Sms(to) => to,
        }
    }
}

/// The message carrying one half of a PIN: nothing but the half and how to use it (no name, no codice fiscale).
fn pin_half_message(
    contact: &Contact,
    lang: Lang,
    half: &str,
    first: bool,
    not_before: chrono::DateTime<chrono::Utc>,
) -> OutboxMessage {
    let (subject, body) = match (lang, first) {
        (Lang::It, true) => (
            "Il suo PIN INPS: prima parte",
            format!(
                "Ecco la prima parte del suo PIN INPS (PIN semplificato):\n\n{half}\n\nCon questi 8 caratteri può già \
                 accedere a Sportello e chiedere l'indennità da 600 euro: scelga «Accedi» e inserisca il suo codice \
                 fiscale e questi caratteri. La seconda parte del PIN le arriverà separatamente più avanti. Non \
                 comunichi il PIN a nessuno: l'INPS non glielo chiederà mai."
            ),
        ),
        (Lang::En, true) => (
            "Your INPS PIN: first half",
            format!(
                "Here is the first half of your INPS PIN (simplified PIN):\n\n{half}\n\nWith these 8 characters you \
                 can already log in to Sportello and apply for the 600 euro allowance: choose \"Log in\" and enter \
                 your codice fiscale and these characters. The second half of the PIN will reach you separately \
                 later. Never tell anyone your PIN: INPS will never ask for it."
            ),
        ),
        (Lang::It, false) => (
            "Il suo PIN INPS: seconda parte",
            format!(
                "Ecco la seconda parte del suo PIN INPS:\n\n{half}\n\nScritta dopo la prima parte forma il PIN \
                 completo di 16 caratteri, con cui può accedere a Sportello scegliendo «Accedi». Non comunichi il \
                 PIN a nessuno: l'INPS non glielo chiederà mai."
            ),
        ),
        (Lang::En, false) => (
            "Your INPS PIN: second half",
            format!(
                "Here is the second half of your INPS PIN:\n\n{half}\n\nWritten after the first half it makes the \
                 full 16-character PIN, with which you can log in to Sportello by choosing \"Log in\". Never tell \
                 anyone your PIN: INPS will never ask for it."
            ),
        ),
    };
    OutboxMessage {
        channel: contact.channel().as_str().to_owned(),
        recipient: contact.recipient().to_owned(),
        subject: subject.to_owned(),
        body,
        not_before,
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
pub async fn pin_form(State(state): State<AuthState>, Query(query): Query<LangQuery>, headers: HeaderMap) -> Response {
    let lang = query.lang();
    let Some((value, new)) = pre_login_value(&headers) else {
        return unavailable(lang);
    };
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
    with_csrf_cookie(render(StatusCode::OK, &page), &value, new)
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
/// [`issue_pin`] does for a registered person (reading their PINs, hashing a new one, storing it and queueing its
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
        if let Err(e) = issue_pin(&state, codice_fiscale, &contact, lang).await {
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

/// Issues a PIN to a person of the registry, keeping every PIN they already use (docs/SECURITY.md, "INPS PIN"):
/// the new PIN takes a free slot, or the slot of a PIN that never opened a session; where every slot holds a PIN in
/// use, none is issued and the person is told.
///
/// Where the first half goes is the institute's choice, not the requester's: to a contact on file when the person
/// has one (the contact typed is then ignored), otherwise to the contact typed; then its second half is posted by
/// letter to the residence on file, and what the PIN does is held for payment until the full PIN confirms it.
/// Every contact on file is told that a PIN was requested.
pub async fn issue_pin(
    state: &AuthState,
    codice_fiscale: CodiceFiscale,
    contact: &Contact,
    lang: Lang,
) -> Result<(), ServiceError> {
    let store = &state.app.store;
    if store.positions(&codice_fiscale).await?.is_empty() {
        return Ok(());
    }
    let person = store.person(&codice_fiscale).await?;
    let on_file = person.as_ref().map(contacts_on_file).unwrap_or_default();
    let now = state.auth.now();
    let Some(slot) = slot_for_request(&store.pins_of(&codice_fiscale).await?) else {
        let notices = on_file.iter().map(|c| pin_refused_notice(c, lang, now)).collect::<Vec<_>>();
        for notice in notices {
            store.enqueue(notice).await?;
        }
        return Ok(());
    };
    let pin = Pin::generate_for_slot(slot)?;
    let hasher = &state.auth.hasher;
    let (full_hash, simplified_hash) =
        tokio::join!(hasher.hash_blocking(pin.expose().to_owned()), hasher.hash_blocking(pin.first_half().to_owned()));
    let (full_hash, simplified_hash) = (full_hash?, simplified_hash?);
    let later = chrono::TimeDelta::from_std(state.app.config.pin.second_half_delay())
        .ok()
        .and_then(|delay| now.checked_add_signed(delay))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);

    let mut messages = Vec::new();
    let first_half_to = match on_file.split_first() {
        Some((first, others)) => {
            messages.push(pin_half_message(first, lang, pin.first_half(), true, now));
            messages.push(pin_half_message(first, lang, pin.second_half(), false, later));
            messages.extend(others.iter().map(|c| pin_requested_notice(c, lang, now)));
            FirstHalfTo::OnFile
        }
        None => {
            messages.push(pin_half_message(contact, lang, pin.first_half(), true, now));
            if let Some(letter) = person.as_ref().and_then(|p| second_half_letter(p, pin.second_half(), now)) {
                messages.push(letter);
            }
            FirstHalfTo::Given
        }
    };
    let new_pin = NewPin { codice_fiscale, slot, full_hash, simplified_hash, issued_at: now, first_half_to };
    if !store.put_pin(new_pin, &messages).await? {
        tracing::info!("a PIN request met a slot taken meanwhile by a PIN in use; nothing was issued");
    }
    Ok(())
}

/// The contacts on file of a person, the mobile number first (a text message arrives at once).
fn contacts_on_file(person: &PersonRecord) -> Vec<Contact> {
    let sms = person.cellulare.iter().map(|n| Contact::Sms(n.clone()));
    sms.chain(person.email.iter().map(|e| Contact::Email(e.clone()))).collect()
}

/// The notice to a contact on file that a PIN was requested (its first half went to another contact on file).
fn pin_requested_notice(contact: &Contact, lang: Lang, now: DateTime<Utc>) -> OutboxMessage {
    let (subject, body) = (
        lang.pick("Richiesta di un PIN INPS", "An INPS PIN was requested"),
        lang.pick(
            "È stato richiesto un nuovo PIN INPS per il Suo codice fiscale. La prima parte è stata inviata all'altro \
             recapito che risulta negli archivi dell'INPS. Se non è stato Lei a chiederlo non deve fare nulla: i PIN \
             che già usa restano validi e nessuno riceve un PIN per Lei a un recapito diverso dai Suoi.",
            "A new INPS PIN was requested for your codice fiscale. Its first half was sent to your other contact in \
             INPS's records. If you did not ask for it, you need do nothing: the PINs you already use stay valid \
             and nobody receives a PIN for you at a contact other than yours.",
        ),
    );
    notice(contact, subject, body, now)
}

/// The notice to a contact on file that a PIN was requested but none was issued: every slot holds a PIN in use.
fn pin_refused_notice(contact: &Contact, lang: Lang, now: DateTime<Utc>) -> OutboxMessage {
    let (subject, body) = (
        lang.pick("Richiesta di un PIN INPS non accolta", "An INPS PIN request was not granted"),
        lang.pick(
            "È stato richiesto un nuovo PIN INPS per il Suo codice fiscale, ma Lei ha già quattro PIN in uso: non ne \
             è stato emesso un altro. I PIN che usa restano validi. Se ha bisogno di un nuovo PIN si rivolga a una \
             sede INPS o al Contact Center (803 164).",
            "A new INPS PIN was requested for your codice fiscale, but you already have four PINs in use, so no \
             other was issued. The PINs you use stay valid. If you need a new PIN, go to an INPS office or call \
             the Contact Center (803 164).",
        ),
    );
    notice(contact, subject, body, now)
}

fn notice(contact: &Contact, subject: &str, body: &str, now: DateTime<Utc>) -> OutboxMessage {
    OutboxMessage {
        channel: contact.channel().as_str().to_owned(),
        recipient: contact.recipient().to_owned(),
        subject: subject.to_owned(),
        body: body.to_owned(),
        not_before: now,
    }
}

/// The letter carrying the second half of a PIN whose first half went to a contact not on file, posted to the
/// residence on file; `None` when no residence is on file (then only an officer can confirm the person).
fn second_half_letter(person: &PersonRecord, half: &str, now: DateTime<Utc>) -> Option<OutboxMessage> {
    let residence = person.residence.as_ref()?;
    let recipient = format!(
        "{}\n{}\n{} {} {}",
        person.full_name(),
        residence.indirizzo,
        residence.cap,
        residence.comune,
        residence.provincia
    );
    let body = format!(
        "Gentile {name},\n\nè stato richiesto un PIN INPS per il Suo codice fiscale {cf} e la sua prima parte è stata \
         inviata al recapito indicato nella richiesta, che non risulta negli archivi dell'INPS. Ecco la seconda \
         parte del PIN:\n\n{half}\n\nSe la richiesta è Sua, acceda a Sportello con il PIN completo (la prima parte \
         seguita da questa): le domande presentate con questo PIN saranno così confermate e pagate.\n\nSe non è \
         stato Lei, acceda con un Suo PIN (o si faccia riconoscere presso una sede INPS): nella pagina «Le mie \
         domande» potrà annullare la domanda presentata a Suo nome e presentarne una Sua. Nessun pagamento sarà \
         disposto senza la Sua conferma.\n\nNon comunichi il PIN a nessuno: l'INPS non glielo chiederà mai.",
        name = person.full_name(),
        cf = person.codice_fiscale,
    );
    Some(OutboxMessage {
        channel: "letter".to_owned(),
        recipient,
        subject: "PIN INPS: seconda parte".to_owned(),
        body,
        not_before: now,
    })
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
        }
    }
}

/// `GET /accedi`: the login form.
pub async fn login_form(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = query.lang();
    let Some((value, new)) = pre_login_value(&headers) else {
        return unavailable(lang);
    };
    with_csrf_cookie(render(StatusCode::OK, &LoginPage::new(&state, lang, &value)), &value, new)
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
) -> Response {
    let lang = query.lang();
    if !pre_login_token_ok(&state, &headers, &form.csrf) {
        return forbidden(lang);
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
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
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
    match log_in(&state, attempt).await {
        Ok(LoginOutcome::Opened(opened)) => {
            let mut response = Redirect::to(&format!("/situazione{}", lang_suffix(lang))).into_response();
            if let Some(cookie) = set_cookie(SESSION_COOKIE, opened.session.id.expose()) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            if let Some(cookie) = set_device_cookie(&opened.device) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Ok(LoginOutcome::Refused { locked_until }) => {
            let page = LoginPage {
                refused: true,
                locked: locked_until.map(|until| pin_locked_message(lang, until)),
                codice_fiscale: form.codice_fiscale,
                ..LoginPage::new(&state, lang, csrf_value)
            };
            render(StatusCode::UNAUTHORIZED, &page)
        }
        Ok(LoginOutcome::Limited(wait)) => too_many(false, lang, wait),
        Err(e) => {
            tracing::error!(error = %e, "could not log in");
            unavailable(lang)
        }
    }
}

/// A session opened by [`log_in`] or [`open_session`].
#[derive(Debug)]
pub struct Opened {
    /// Its id, handed to the client once (cookie or bearer token).
    pub id: SessionId,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// When it ends whatever the activity.
    pub expires_at: DateTime<Utc>,
}

/// A logged-in session and the device that logged in, to hand back to the client.
#[derive(Debug)]
pub struct LoggedIn {
    /// The session.
    pub session: Opened,
    /// The device, now remembering the person: the device cookie's value, or the API's device token.
    pub device: Device,
}

/// A login as a door received it.
#[derive(Debug)]
pub struct Attempt<'a> {
    /// Who logs in.
    pub codice_fiscale: CodiceFiscale,
    /// With which PIN.
    pub pin: &'a EnteredPin,
    /// The device cookie or token the client presented, if any (see [`super::device`]).
    pub device: Option<&'a str>,
    /// The client's address, as the rate limits count it.
    pub client: ClientIp,
    /// A session id the client held before, ended so that the id rotates at login.
    pub replacing: Option<&'a str>,
    /// The door's kind of session: a browser's cookie or an API's bearer token.
    pub kind: SessionKind,
}

/// What a login came to.
#[derive(Debug)]
pub enum LoginOutcome {
    /// A new session.
    Opened(LoggedIn),
    /// No session: an unknown codice fiscale, a wrong PIN, or a lock, until `locked_until`, of this codice fiscale
    /// for this client (its device, or strangers).
    Refused {
        /// When the lock ends, if the codice fiscale is locked for this client now.
        locked_until: Option<DateTime<Utc>>,
    },
    /// Too many logins for this codice fiscale from this client's bucket, or too many wrong PINs from its address:
    /// retry after this long. Nothing was looked up.
    Limited(std::time::Duration),
}

/// Logs a person in with a PIN: a new session, or why not. Wrong PINs are counted in a bucket: the device's own
/// when the client presents a device the person logged in from before, else the person's strangers' bucket; a
/// locked strangers' bucket does not stop a recognised device. Every refusal does the same work, known person or
/// not: the same reads, one Argon2 verification (against a dummy hash when there is nothing to verify) and one
/// write of the failure (so any codice fiscale locks alike after as many wrong PINs). A failure counts whichever
/// door (page or API) it came through.
pub async fn log_in(state: &AuthState, attempt: Attempt<'_>) -> Result<LoginOutcome, ServiceError> {
    let Attempt { codice_fiscale, pin, device, client, replacing, kind } = attempt;
    let key = &state.auth.csrf;
    let device = device.and_then(Device::parse);
    let bucket = Device::bucket(device.as_ref(), key, &codice_fiscale).to_owned();
    let stranger = bucket == STRANGERS;
    let limits = &state.auth.limits;
    if let Err(wait) = limits.check_login(&codice_fiscale, &bucket) {
        return Ok(LoginOutcome::Limited(wait));
    }
    if stranger && let Some(wait) = limits.failures_barred(client) {
        return Ok(LoginOutcome::Limited(wait));
    }
    let credential = match check_pin(state, codice_fiscale, pin, &bucket).await? {
        Ok(credential) => credential,
        Err(lock) => {
            if stranger {
                limits.count_failure(client);
            }
            let now = state.auth.now();
            return Ok(LoginOutcome::Refused { locked_until: lock.locked_until.filter(|&until| until > now) });
        }
    };
    let full = pin.kind() == PinKind::Full;
    let released = state.app.store.pin_used(credential.id, full, state.auth.now()).await?;
    if released > 0 {
        tracing::info!(released, "the full PIN confirmed applications held for payment");
    }
    // The full PIN confirms the credential: its second half travelled apart from the first.
    let confirmed = credential.confirmed() || full;
    let method = if full { LoginMethod::PinFull } else { LoginMethod::PinSimplified };
    let principal = Principal::citizen(codice_fiscale, method);
    let session = open_session(state, principal, kind, Some(credential.reference()), confirmed, replacing).await?;
    let device = Device::remembering(device, key, &codice_fiscale)?;
    Ok(LoginOutcome::Opened(LoggedIn { session, device }))
}

/// The credential `pin` opens now, or the bucket's lock as it stands after counting the failure. Only the
/// credentials of the slot the PIN's first symbol names are tried: one hash in all but a rare case (a PIN from
/// before slots, tried second).
async fn check_pin(
    state: &AuthState,
    codice_fiscale: CodiceFiscale,
    pin: &EnteredPin,
    bucket: &str,
) -> Result<Result<PinCredential, sportello_store::PinLock>, ServiceError> {
    let store = &state.app.store;
    let now = state.auth.now();
    let lock = store.pin_lock(&codice_fiscale, bucket).await?;
    let locked = lock.locked_at(now);
    let candidates = if locked { Vec::new() } else { store.pins_for_slot(&codice_fiscale, pin.slot()).await? };
    let hash_of = |c: &PinCredential| match pin.kind() {
        PinKind::Simplified => c.simplified_hash.clone(),
        PinKind::Full => c.full_hash.clone(),
    };
    let hasher = &state.auth.hasher;
    let mut matched = None;
    if candidates.is_empty() {
        // A locked PIN, an empty slot and an unknown person cost the same time as a check.
        hasher.verify_or_dummy_blocking(pin.expose().to_owned(), None).await;
    }
    for candidate in &candidates {
        if hasher.verify_blocking(pin.expose().to_owned(), hash_of(candidate)).await {
            matched = Some(candidate.clone());
            break;
        }
    }
    let outcome = match (&matched, locked) {
        (Some(_), _) => "success",
        (None, true) => "locked",
        (None, false) => "failure",
    };
    metrics::counter!("sportello_pin_logins_total", "outcome" => outcome).increment(1);
    if let Some(credential) = matched {
        store.clear_login_failures(&codice_fiscale, bucket).await?;
        return Ok(Ok(credential));
    }
    if locked {
        // Attempts during a lock are not counted; known or not, the codice fiscale is locked alike.
        return Ok(Err(lock));
    }
    // Counted for every codice fiscale, registered or not, PIN or not: the same write on every refusal, so that
    // neither its time nor a later lock tells who holds a PIN.
    let pin_config = &state.app.config.pin;
    let lock = store
        .record_login_failure(&codice_fiscale, bucket, now, pin_config.max_failures, pin_config.lock_for())
        .await?;
    Ok(Err(lock))
}

/// Opens a session of `kind` for `principal` under a new id, ending the one the client held before (if any).
pub async fn open_session(
    state: &AuthState,
    principal: Principal,
    kind: SessionKind,
    credential: Option<String>,
    confirmed: bool,
    replacing: Option<&str>,
) -> Result<Opened, ServiceError> {
    let store = &state.app.store;
    if let Some(old) = replacing {
        store.delete_session(&hash_id(old)).await?;
    }
    let id = SessionId::generate()?;
    let now = state.auth.now();
    let expires_at = chrono::TimeDelta::from_std(state.app.config.session.absolute_timeout())
        .ok()
        .and_then(|t| now.checked_add_signed(t))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let session = Session {
        id_hash: id.hash(),
        kind,
        actor: principal.actor.stored(),
        codice_fiscale: principal.subject,
        login_method: principal.method.as_str().to_owned(),
        channel: principal.channel.as_str().to_owned(),
        created_at: now,
        last_seen_at: now,
        expires_at,
        credential,
        confirmed,
    };
    store.create_session(session).await?;
    Ok(Opened { id, opened_at: now, expires_at })
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
) -> Response {
    let lang = query.lang();
    if !state.auth.csrf.verify(Binding::Session(&citizen.id_hash), &form.csrf) {
        return forbidden(lang);
    }
    if let Err(e) = state.app.store.delete_session(&citizen.id_hash).await {
        tracing::error!(error = %e, "could not end a session");
        return unavailable(lang);
    }
    let mut response = Redirect::to(&format!("/uscita{}", lang_suffix(lang))).into_response();
    if let Some(clear) = super::session::clear_cookie(SESSION_COOKIE) {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_an_address_or_a_mobile_number() {
        let email = |s: &str| Some(Contact::Email(s.to_owned()));
        let sms = |s: &str| Some(Contact::Sms(s.to_owned()));
        let cases = [
            ("an e-mail address", "mario.rossi@example.it", email("mario.rossi@example.it")),
            ("an address with spaces around", "  a@b.it ", email("a@b.it")),
            ("an Italian mobile number with spaces", "+39 333 123 4567", sms("+393331234567")),
            ("a number without prefix", "333-1234567", sms("3331234567")),
            ("no domain dot", "mario@localhost", None),
            ("two at signs", "a@b@c.it", None),
            ("empty local part", "@example.it", None),
            ("a space inside", "mario rossi@example.it", None),
            ("too few digits", "12345", None),
            ("letters", "333ABC4567", None),
            ("empty", "", None),
        ];
        for (situation, input, expected) in cases {
            assert_eq!(Contact::parse(input), expected, "{situation}");
        }
    }

    #[test]
    fn pin_messages_carry_the_half_and_no_codice_fiscale() {
        let contact = Contact::Sms("+393331234567".into());
        let now = chrono::Utc::now();
        let message = pin_half_message(&contact, Lang::It, "ABCD2345", true, now);
        assert_eq!(message.channel, "sms");
        assert!(message.body.lines().any(|line| line == "ABCD2345"));
        let message = pin_half_message(&contact, Lang::En, "EFGH6789", false, now);
        assert!(message.body.contains("second half") && message.body.contains("EFGH6789"));
    }
}
