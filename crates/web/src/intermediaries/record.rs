//! `GET|POST /intermediari/deleghe`: the operator records a mandate a citizen signed at the office: the citizen's
//! codice fiscale, the decree it is for, the day it was signed, the signed form as a PDF and the citizen's
//! acknowledgement of the privacy notice (`mandates::record`: the form's type and size checked, its SHA-256 kept, the
//! citizen told at the contacts on file in the same transaction, the act audited). The form is posted as
//! `multipart/form-data`, the one body allowed past the portal's 16 KiB limit (`crate::body_limit`); its token is
//! checked before anything is recorded.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use sportello_domain::{CodiceFiscale, Date};
use sportello_usecases::intermediaries::MandateError;
use sportello_usecases::intermediaries::mandates::{self, FormProblem, MAX_FORM_BYTES, MandateInput};
use sportello_usecases::{ErrorKind, UseCaseError};

use super::page::{Header, IntermError, OrInterm, forbidden_form, problem};
use super::session::{Operator, today};
use crate::auth::AuthState;
use crate::auth::session::ClientAddr;
use crate::i18n::Lang;
use crate::render::{LAST_UPDATE, render_with};

/// The form's fields as typed, to show them again with what to correct.
#[derive(Debug, Default)]
struct Typed {
    csrf: String,
    cf: String,
    decree: String,
    signed_on: String,
    privacy: bool,
    form: Vec<u8>,
}

#[derive(Template)]
#[template(path = "intermediaries/record.html")]
struct RecordPage {
    lang: Lang,
    last_update: &'static str,
    header: Option<Header>,
    /// Decree id and name, to choose from.
    decrees: Vec<(String, String)>,
    cf: String,
    decree: String,
    signed_on: String,
    max_mib: usize,
    problem: Option<String>,
}

fn page(state: &AuthState, operator: &Operator, typed: &Typed, problem: Option<String>) -> Response {
    let decrees = state
        .app
        .decrees
        .rulebooks()
        .iter()
        .map(|b| (b.decree().id().to_owned(), format!("{}: {}", b.decree().short(), b.decree().name())))
        .collect();
    let status = if problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = RecordPage {
        lang: Lang::It,
        last_update: LAST_UPDATE,
        header: Some(operator.header.clone()),
        decrees,
        cf: typed.cf.clone(),
        decree: typed.decree.clone(),
        signed_on: typed.signed_on.clone(),
        max_mib: MAX_FORM_BYTES / (1024 * 1024),
        problem,
    };
    render_with(status, &page)
}

/// `GET /intermediari/deleghe`: the form, dated today.
pub async fn form(State(state): State<AuthState>, operator: Operator) -> Response {
    let typed = Typed { signed_on: today(&state).to_string(), ..Typed::default() };
    page(&state, &operator, &typed, None)
}

/// Reads the posted fields; the file's bytes as they come, bounded by the body limit.
async fn read(mut multipart: Multipart) -> Result<Typed, axum::extract::multipart::MultipartError> {
    let mut typed = Typed::default();
    while let Some(field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "modulo" => typed.form = field.bytes().await?.to_vec(),
            "csrf" => typed.csrf = field.text().await?,
            "cf" => typed.cf = field.text().await?.trim().to_uppercase(),
            "decreto" => typed.decree = field.text().await?,
            "firmata_il" => typed.signed_on = field.text().await?.trim().to_owned(),
            "privacy" => typed.privacy = field.text().await? == "si",
            // Anything else is not read.
            _ => {}
        }
    }
    Ok(typed)
}

/// `POST /intermediari/deleghe`: records the mandate and goes back to the desk, which lists it; or the form again
/// with what to correct (422), the same form already standing for a mandate (409), a form without the session's
/// token (403), a body past the limit (413).
pub async fn record(
    State(state): State<AuthState>,
    operator: Operator,
    from: ClientAddr,
    multipart: Multipart,
) -> Result<Response, IntermError> {
    let header = Some(&operator.header);
    let mut typed = match read(multipart).await {
        Ok(typed) => typed,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let message =
                format!("Il modulo firmato supera {} MiB: ne carichi una scansione più leggera.", MAX_FORM_BYTES >> 20);
            return Ok(problem(StatusCode::PAYLOAD_TOO_LARGE, header, "File troppo grande", &message));
        }
        Err(e) => {
            tracing::info!(error = %e, "an unreadable mandate upload");
            let message = "Il modulo inviato non è leggibile: ricarichi la pagina e riprovi.";
            return Ok(problem(StatusCode::BAD_REQUEST, header, "Richiesta non valida", message));
        }
    };
    if !operator.token_ok(&state, &typed.csrf) {
        return Ok(forbidden_form(header));
    }
    let Ok(subject) = CodiceFiscale::parse(&typed.cf) else {
        let message = "Codice fiscale del cittadino: 16 caratteri, come RSSMRA80A01H501U.".to_owned();
        return Ok(page(&state, &operator, &typed, Some(message)));
    };
    let Ok(signed_on) = typed.signed_on.parse::<Date>() else {
        let message = "Data della firma: scriva la data come 2020-04-01 (anno-mese-giorno).".to_owned();
        return Ok(page(&state, &operator, &typed, Some(message)));
    };
    let input = MandateInput {
        subject,
        decree: typed.decree.clone(),
        signed_on,
        form: std::mem::take(&mut typed.form),
        privacy_acknowledged: typed.privacy,
    };
    let from = from.0.map(|addr| addr.ip().to_string());
    let store = state.app.store.as_ref();
    match mandates::record(store, &state.app.decrees, &operator.seat, input, from, state.auth.now()).await {
        Ok(_) => Ok(Redirect::to("/intermediari").into_response()),
        Err(UseCaseError::Mandate(e)) if e.kind() == ErrorKind::Input => {
            Ok(page(&state, &operator, &typed, Some(in_italian(&e))))
        }
        Err(UseCaseError::Mandate(MandateError::SameForm(id))) => {
            let message =
                format!("Questo modulo firmato è già registrato come delega n. {id}: un modulo vale per una delega.");
            Ok(problem(StatusCode::CONFLICT, header, "Modulo già registrato", &message))
        }
        Err(e) => Err(e).or_interm(header),
    }
}

/// What to correct, in the operator's words.
fn in_italian(error: &MandateError) -> String {
    match error {
        MandateError::Form(why) => {
            let why = match why {
                FormProblem::Empty => "il file è vuoto".to_owned(),
                FormProblem::NotPdf => "il file non è un PDF".to_owned(),
                FormProblem::Truncated => "il PDF è incompleto (manca la fine del file)".to_owned(),
                FormProblem::TooLarge => format!("supera {} MiB", MAX_FORM_BYTES >> 20),
            };
            format!("Modulo firmato: {why}. Carichi la scansione del modulo firmato, in PDF.")
        }
        MandateError::Privacy => {
            "Serve la presa visione dell'informativa sulla privacy da parte del cittadino.".to_owned()
        }
        MandateError::Object(known) => format!("Scelga il decreto a cui si riferisce la delega (uno di: {known})."),
        MandateError::FutureDate(day) => format!("La data della firma ({day}) è successiva a oggi."),
        other => other.to_string(),
    }
}
