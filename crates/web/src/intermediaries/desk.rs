//! `GET /intermediari`: the operator's desk, the mandates of their office in force today (the citizens they may act
//! for) and the other offices the roster lists for them today, to move to.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use sportello_usecases::intermediaries::mandates;

use super::page::{Header, IntermError, OrInterm};
use super::session::{Operator, today};
use crate::auth::AuthState;
use crate::i18n::Lang;
use crate::render::{LAST_UPDATE, render_with};

/// A mandate as the desk lists it.
struct Row {
    subject: String,
    object: String,
    signed_on: String,
    expires_on: String,
}

#[derive(Template)]
#[template(path = "intermediaries/desk.html")]
struct DeskPage {
    lang: Lang,
    last_update: &'static str,
    header: Option<Header>,
    mandates: Vec<Row>,
    /// Whether the office is the Contact Center's, whose operators act on calls rather than mandates.
    contact_center: bool,
    offices: Vec<(String, String)>,
}

/// `GET /intermediari`: the office's mandates in force today, newest first.
pub async fn home(State(state): State<AuthState>, operator: Operator) -> Result<Response, IntermError> {
    let header = Some(&operator.header);
    let store = state.app.store.as_ref();
    let day = today(&state);
    let held = mandates::in_force_at(store, &operator.seat, day).await.or_interm(header)?;
    let listed = mandates::offices_of(store, operator.seat.operator, day).await.or_interm(header)?;
    let date = |d: sportello_domain::Date| d.format("%d/%m/%Y").to_string();
    let mandates = held
        .into_iter()
        .map(|m| Row {
            subject: m.subject.to_string(),
            object: m.object,
            signed_on: date(m.signed_on),
            expires_on: date(m.expires_on),
        })
        .collect();
    let offices = listed
        .into_iter()
        .filter(|row| row.office != operator.seat.office)
        .map(|row| (row.office.to_string(), row.office_name))
        .collect();
    let contact_center = operator.seat.kind == sportello_domain::intermediaries::IntermediaryKind::ContactCenter;
    let page = DeskPage {
        lang: Lang::It,
        last_update: LAST_UPDATE,
        header: Some(operator.header),
        mandates,
        contact_center,
        offices,
    };
    Ok(render_with(StatusCode::OK, &page))
}
