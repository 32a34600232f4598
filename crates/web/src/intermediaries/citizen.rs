//! `GET /intermediari/cittadino?cf=…`: the situation of a citizen the operator's office holds a mandate for, in
//! force today, indemnity by indemnity. The codice fiscale asked for goes through `mandates::act_for` before anything
//! is read: without a mandate in force of this office the answer is the same 404 whether the citizen exists, never
//! signed, revoked, let it expire, or signed for another office. The reading is audited with the operator's
//! principal (`view_decision`, actor `intermediary:<operator>@<office>`).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use sportello_domain::CodiceFiscale;
use sportello_usecases::decide;
use sportello_usecases::intermediaries::mandates;

use super::page::{Header, IntermError, OrInterm, not_found};
use super::session::{Operator, today};
use crate::auth::AuthState;
use crate::auth::session::ClientAddr;
use crate::i18n::Lang;
use crate::render::{LAST_UPDATE, render_with};
use crate::schemes::scheme_title;

/// The query: whom the operator asks for.
#[derive(Debug, Deserialize)]
pub struct Asked {
    #[serde(default)]
    cf: String,
}

/// One indemnity as the page shows it.
struct Row {
    title: String,
    eligible: bool,
    reasons: Vec<String>,
}

#[derive(Template)]
#[template(path = "intermediaries/citizen.html")]
struct CitizenPage {
    lang: Lang,
    last_update: &'static str,
    header: Option<Header>,
    subject: String,
    in_registry: bool,
    rows: Vec<Row>,
}

/// `GET /intermediari/cittadino?cf=…`: the citizen's decisions, only under a mandate of the office in force today.
pub async fn situation(
    State(state): State<AuthState>,
    operator: Operator,
    from: ClientAddr,
    Query(asked): Query<Asked>,
) -> Result<Response, IntermError> {
    let header = Some(&operator.header);
    let Ok(subject) = CodiceFiscale::parse(asked.cf.trim()) else { return Ok(not_found(header)) };
    let store = state.app.store.as_ref();
    let from = from.0.map(|addr| addr.ip().to_string());
    let acting = mandates::act_for(store, &operator.seat, subject, today(&state), from).await.or_interm(header)?;
    let seen = decide::viewed(store, &state.app.decrees, &acting, state.auth.now()).await.or_interm(header)?;
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
    let page = CitizenPage {
        lang: Lang::It,
        last_update: LAST_UPDATE,
        header: Some(operator.header),
        subject: subject.to_string(),
        in_registry: seen.in_registry,
        rows,
    };
    Ok(render_with(StatusCode::OK, &page))
}
