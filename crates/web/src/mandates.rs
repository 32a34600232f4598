//! "Le mie deleghe" (`GET /deleghe`): the mandates the logged-in citizen gave to intermediaries' offices, where each
//! stands today, and `POST /deleghe/{id}/revoca`, which revokes one at once (`sportello_usecases::intermediaries::
//! mandates`: only the citizen acting for themself; another person's mandate is not found). From the revocation on,
//! the office can no longer read the citizen's data or file for them. The page also lists what intermediaries and
//! the Contact Center did on the citizen's behalf (`mandates::acts_for_me`, from the audit log): by whom, when, what.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sportello_domain::mandate::MandateState;
use sportello_domain::principal::{Actor, Principal};
use sportello_store::AuditEntry;
use sportello_usecases::intermediaries::mandates;

use crate::auth::csrf::Binding;
use crate::auth::session::{Citizen, ClientAddr};
use crate::auth::{Auth, AuthState};
use crate::error::{OrPage, PageError};
use crate::i18n::{Lang, LangQuery};
use crate::render::{LAST_UPDATE, forbidden, lang_suffix, render_with as render};
use crate::routes::{Audience, Routes};
use crate::state::AppState;

/// The citizen's mandates routes, ready to merge into the portal's router.
pub fn routes<S: Clone + Send + Sync + 'static>(app: AppState, auth: Auth) -> Routes<S> {
    Routes::new()
        .add(Audience::Personal, "/deleghe", "GET", get(list))
        .add(Audience::Personal, "/deleghe/{id}/revoca", "POST", post(revoke))
        .with_state(AuthState { app, auth })
}

/// A mandate as the page lists it.
struct Row {
    id: i64,
    office: String,
    object: String,
    signed_on: String,
    expires_on: String,
    state: &'static str,
    revocable: bool,
}

/// An act done on the citizen's behalf, as the page lists it.
struct Act {
    at: String,
    by: String,
    what: String,
    object: String,
}

#[derive(Template)]
#[template(path = "mandates.html")]
struct MandatesPage {
    lang: Lang,
    lang_suffix: &'static str,
    last_update: &'static str,
    csrf: String,
    mandates: Vec<Row>,
    acts: Vec<Act>,
}

/// Who acted, in the citizen's words: the office and its operator, or the Contact Center's call and operator.
fn who(entry: &AuditEntry, lang: Lang) -> String {
    match Principal::from_stored(
        &entry.actor,
        entry.subject,
        entry.login_method.as_deref().unwrap_or(""),
        &entry.channel,
    )
    .map(|p| p.actor)
    {
        Ok(Actor::Intermediary { operator, office }) => match lang {
            Lang::It => format!("Patronato, sede {office} (operatore {operator})"),
            Lang::En => format!("Patronato, office {office} (operator {operator})"),
        },
        Ok(Actor::ContactCenter { operator, call }) => match lang {
            Lang::It => format!("Contact Center, chiamata {call} (operatore {operator})"),
            Lang::En => format!("Contact Center, call {call} (operator {operator})"),
        },
        _ => entry.actor.clone(),
    }
}

/// What was done, in the citizen's words.
fn what(action: &str, lang: Lang) -> String {
    let (it, en) = match action {
        "record_mandate" => ("Registrazione della delega", "Recorded the mandate"),
        "view_decision" => ("Consultazione della Sua situazione", "Read your situation"),
        "submit_application" => ("Presentazione di una domanda", "Filed an application"),
        "view_application" | "list_applications" => ("Consultazione delle Sue domande", "Read your applications"),
        "identify_caller" => ("Identificazione al telefono", "Identified you on the phone"),
        "send_call_code" => ("Invio di un codice al Suo recapito", "Sent a code to your contact"),
        "resend_pin_first_half" => (
            "Invio di una nuova prima parte del PIN al Suo recapito",
            "Sent a new first half of your PIN to your contact",
        ),
        "end_call" => ("Fine della chiamata", "Ended the call"),
        "replace_iban" => ("Cambio dell'IBAN", "Changed the IBAN"),
        other => (other, other),
    };
    lang.pick(it, en).to_owned()
}

fn state_label(state: MandateState, lang: Lang) -> &'static str {
    match state {
        MandateState::InForce => lang.pick("In vigore", "In force"),
        MandateState::NotYetInForce => lang.pick("Non ancora in vigore", "Not yet in force"),
        MandateState::Expired => lang.pick("Scaduta", "Expired"),
        MandateState::Revoked => lang.pick("Revocata", "Revoked"),
    }
}

/// `GET /deleghe`: the citizen's mandates, newest first; the reading is audited.
pub async fn list(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    citizen: Citizen,
    from: ClientAddr,
) -> Result<Response, PageError> {
    let lang = query.lang();
    let now = state.auth.now();
    let today = now.with_timezone(&chrono_tz::Europe::Rome).date_naive();
    let given = mandates::mandates_of(state.app.store.as_ref(), &citizen.acting(&from), now).await.or_page(lang)?;
    let date = |d: sportello_domain::Date| d.format("%d/%m/%Y").to_string();
    let mandates = given
        .into_iter()
        .map(|m| {
            let standing = m.state_on(today);
            Row {
                id: m.id,
                office: m.office.to_string(),
                object: m.object.clone(),
                signed_on: date(m.signed_on),
                expires_on: date(m.expires_on),
                state: state_label(standing, lang),
                revocable: matches!(standing, MandateState::InForce | MandateState::NotYetInForce),
            }
        })
        .collect();
    let acts = mandates::acts_for_me(state.app.store.as_ref(), &citizen.acting(&from), now).await.or_page(lang)?;
    let acts = acts
        .iter()
        .map(|entry| Act {
            at: crate::apply::italian_time::format_seconds(entry.at),
            by: who(entry, lang),
            what: what(&entry.action, lang),
            object: entry.object.clone().unwrap_or_default(),
        })
        .collect();
    let csrf = state.auth.csrf.token(Binding::Session(&citizen.id_hash));
    let page = MandatesPage { lang, lang_suffix: lang_suffix(lang), last_update: LAST_UPDATE, csrf, mandates, acts };
    Ok(render(StatusCode::OK, &page))
}

/// The revocation form's field.
#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /deleghe/{id}/revoca`: revokes the citizen's mandate `id` now and goes back to the list.
pub async fn revoke(
    State(state): State<AuthState>,
    Query(query): Query<LangQuery>,
    Path(id): Path<i64>,
    citizen: Citizen,
    from: ClientAddr,
    Form(form): Form<RevokeForm>,
) -> Result<Response, PageError> {
    let lang = query.lang();
    if !state.auth.csrf.verify(Binding::Session(&citizen.id_hash), &form.csrf) {
        return Ok(forbidden(lang));
    }
    let store = state.app.store.as_ref();
    mandates::revoke(store, &citizen.acting(&from), id, state.auth.now()).await.or_page(lang)?;
    Ok(Redirect::to(&format!("/deleghe{}", lang_suffix(lang))).into_response())
}
