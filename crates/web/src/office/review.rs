//! Review ("riesame") from the case page: `POST /ufficio/riesame` (a supervisor re-decides an application with a
//! written motivation) and `POST /ufficio/riesame/{id}/conferma` (a second supervisor confirms one that overrides
//! the law). Both need the form's token; the use case checks the role and tells the person.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use sportello_domain::ProtocolNumber;
use sportello_store::{ApplicationStatus, Review};
use sportello_usecases::UseCaseError;
use sportello_usecases::office::review::{Proposal, confirm, propose};

use super::cases::status_label;
use super::page::{Header, OfficeError, OrOffice, forbidden_form};
use super::session::Officer;
use super::state::OfficeState;
use crate::i18n::Lang;
use crate::render::{LAST_UPDATE, render_with};

/// The review form's fields.
#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    protocollo: String,
    /// The status the supervisor saw, as stored (`suspended_budget`…).
    #[serde(default)]
    stato: String,
    /// `spetta` or `non_spetta`.
    #[serde(default)]
    esito: String,
    #[serde(default)]
    motivazione: String,
}

/// The confirmation form's field.
#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Template)]
#[template(path = "office/reviewed.html")]
struct ReviewedPage {
    lang: Lang,
    last_update: &'static str,
    header: Option<Header>,
    protocol: String,
    applied: bool,
    overrides_law: bool,
    to_status: &'static str,
}

fn reviewed(header: &Header, review: &Review) -> Response {
    let page = ReviewedPage {
        lang: Lang::It,
        last_update: LAST_UPDATE,
        header: Some(header.clone()),
        protocol: review.protocol.to_string(),
        applied: !review.pending(),
        overrides_law: review.overrides_law,
        to_status: review.to_status.map_or("", status_label),
    };
    render_with(StatusCode::OK, &page)
}

/// `POST /ufficio/riesame`.
pub async fn submit(
    State(state): State<OfficeState>,
    officer: Officer,
    Form(form): Form<ReviewForm>,
) -> Result<Response, OfficeError> {
    let header = &officer.header;
    if !officer.token_ok(&state, &form.csrf) {
        return Ok(forbidden_form(Some(header)));
    }
    let input = |what: &str| Err(UseCaseError::OfficeInput(what.to_owned())).or_office(Some(header));
    let Ok(protocol) = ProtocolNumber::parse(form.protocollo.trim()) else {
        return input("the form names no application: open the case again");
    };
    let Ok(seen_status) = ApplicationStatus::from_db(&form.stato) else {
        return input("the form does not say the application's status: open the case again");
    };
    let entitled = match form.esito.as_str() {
        "spetta" => true,
        "non_spetta" => false,
        _ => return input("choose whether the indemnity is due (esito)"),
    };
    let proposal = Proposal { protocol, seen_status, entitled, motivation: form.motivazione };
    let store = state.app.store.as_ref();
    let review = propose(store, &state.app.decrees, &officer.on_duty, proposal, state.auth.now())
        .await
        .or_office(Some(header))?;
    Ok(reviewed(header, &review))
}

/// `POST /ufficio/riesame/{id}/conferma`.
pub async fn confirm_override(
    State(state): State<OfficeState>,
    officer: Officer,
    Path(id): Path<i64>,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, OfficeError> {
    let header = &officer.header;
    if !officer.token_ok(&state, &form.csrf) {
        return Ok(forbidden_form(Some(header)));
    }
    let review =
        confirm(state.app.store.as_ref(), &officer.on_duty, id, state.auth.now()).await.or_office(Some(header))?;
    Ok(reviewed(header, &review))
}
