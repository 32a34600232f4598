//! `GET /ufficio`: the officer's desk (search by codice fiscale or protocol, with a reason) and `GET
//! /ufficio/pratica?q=…&motivo=…`: one person's case — record, every application with its decision trace (each
//! reason with its article), the law's decision now, payments. Without a reason nothing is read; with one, the view is
//! audited first (`sportello_usecases::office::cases::open`).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use sportello_usecases::office::Reason;
use sportello_usecases::office::cases::{Case, CaseKey, open};

use super::page::{Header, OfficeError, OrOffice};
use super::session::Officer;
use super::state::OfficeState;
use crate::apply::italian_time;
use crate::i18n::Lang;
use crate::render::{LAST_UPDATE, render_with};

/// The search's fields, as the desk's form sends them.
#[derive(Debug, Default, Deserialize)]
pub struct CaseQuery {
    /// A codice fiscale or a protocol number.
    #[serde(default)]
    q: String,
    /// Why the officer looks.
    #[serde(default)]
    motivo: String,
}

#[derive(Template)]
#[template(path = "office/desk.html")]
struct DeskPage {
    lang: Lang,
    last_update: &'static str,
    header: Option<Header>,
    q: String,
    motivo: String,
    q_error: Option<String>,
    motivo_error: Option<String>,
}

/// One line of a decision trace.
struct TraceLine {
    article: String,
    text: String,
}

/// A review waiting for a second supervisor, as the case shows it.
struct PendingView {
    id: i64,
    entitled: bool,
    proposed_by: String,
    motivation: String,
    may_confirm: bool,
}

/// One application as the case shows it.
struct ApplicationView {
    protocol: String,
    scheme: String,
    status: &'static str,
    status_code: &'static str,
    reviewable: bool,
    pending: Option<PendingView>,
    reviews: Vec<String>,
    submitted_at: String,
    held: bool,
    reasons: Vec<TraceLine>,
}

/// One scheme's decision now.
struct DecisionView {
    scheme: String,
    eligible: bool,
    reasons: Vec<TraceLine>,
}

#[derive(Template)]
#[template(path = "office/case.html")]
struct CasePage {
    lang: Lang,
    last_update: &'static str,
    header: Option<Header>,
    subject: String,
    name: String,
    contacts: String,
    motivo: String,
    in_registry: bool,
    applications: Vec<ApplicationView>,
    decisions: Vec<DecisionView>,
    payments: Vec<(String, String, String, String)>,
}

/// The status of an application, in words.
pub fn status_label(status: sportello_store::ApplicationStatus) -> &'static str {
    use sportello_store::ApplicationStatus as S;
    match status {
        S::Accepted => "Accolta",
        S::Rejected => "Respinta",
        S::SuspendedBudget => "Sospesa (limite di spesa)",
        S::Annulled => "Annullata",
    }
}

fn desk(header: &Header, query: CaseQuery, q_error: Option<String>, motivo_error: Option<String>) -> DeskPage {
    DeskPage {
        lang: Lang::It,
        last_update: LAST_UPDATE,
        header: Some(header.clone()),
        q: query.q.chars().take(40).collect(),
        motivo: query.motivo.chars().take(300).collect(),
        q_error,
        motivo_error,
    }
}

/// `GET /ufficio`: the desk.
pub async fn home(officer: Officer) -> Response {
    render_with(StatusCode::OK, &desk(&officer.header, CaseQuery::default(), None, None))
}

/// `GET /ufficio/pratica`: the case the query names, read for the reason given; the desk with its errors otherwise.
pub async fn case(
    State(state): State<OfficeState>,
    officer: Officer,
    Query(query): Query<CaseQuery>,
) -> Result<Response, OfficeError> {
    let header = &officer.header;
    let key = CaseKey::parse(&query.q);
    let reason = Reason::parse(&query.motivo);
    let (key, reason) = match (key, reason) {
        (Ok(key), Ok(reason)) => (key, reason),
        (key, reason) => {
            let q_error = key.err().map(|e| e.to_string());
            let motivo_error = reason.err().map(|_| {
                format!("Indichi il motivo della consultazione ({} - {} caratteri).", Reason::MIN, Reason::MAX)
            });
            return Ok(render_with(StatusCode::UNPROCESSABLE_ENTITY, &desk(header, query, q_error, motivo_error)));
        }
    };
    let store = state.app.store.as_ref();
    let now = state.auth.now();
    let case = open(store, &state.app.decrees, &officer.on_duty, &key, &reason, now).await.or_office(Some(header))?;
    Ok(render_with(StatusCode::OK, &case_page(&state, &officer, &case, reason.as_str())))
}

fn trace(reasons: &[sportello_domain::law::Reason]) -> Vec<TraceLine> {
    reasons.iter().map(|r| TraceLine { article: r.article.clone(), text: r.it.clone() }).collect()
}

fn case_page(state: &OfficeState, officer: &Officer, case: &Case, motivo: &str) -> CasePage {
    let header = &officer.header;
    let me = officer.on_duty.on(case.subject).principal.actor.stored();
    let may_review = officer.on_duty.role.may(sportello_domain::principal::Duty::Review);
    let title = |id: &str| state.app.decrees.scheme(id).map_or_else(|| id.to_owned(), |s| s.title_it().to_owned());
    let (name, contacts) = match &case.person {
        Some(p) => {
            (p.full_name(), [p.email.clone(), p.cellulare.clone()].into_iter().flatten().collect::<Vec<_>>().join(", "))
        }
        None => ("(nessun dato anagrafico)".to_owned(), String::new()),
    };
    let applications = case
        .applications
        .iter()
        .map(|a| {
            let of_this = || case.reviews.iter().filter(|r| r.protocol == a.protocol);
            let pending = of_this().find(|r| r.pending()).map(|r| PendingView {
                id: r.id,
                entitled: r.entitled,
                proposed_by: r.proposed_by.clone(),
                motivation: r.motivation.clone(),
                may_confirm: may_review && r.proposed_by != me,
            });
            let reviews = of_this()
                .filter(|r| !r.pending())
                .map(|r| {
                    let to = r.to_status.map_or("", status_label);
                    let by = r.confirmed_by.as_ref().map_or(String::new(), |c| format!(", confermato da {c}"));
                    format!("{} → {to}, da {}{by}: {}", status_label(r.from_status), r.proposed_by, r.motivation)
                })
                .collect();
            ApplicationView {
                protocol: a.protocol.to_string(),
                scheme: title(&a.scheme),
                status: status_label(a.status),
                status_code: a.status.as_str(),
                reviewable: may_review && pending.is_none() && a.status != sportello_store::ApplicationStatus::Annulled,
                pending,
                reviews,
                submitted_at: italian_time::format_seconds(a.submitted_at),
                held: a.hold.is_some(),
                reasons: trace(&a.reasons),
            }
        })
        .collect();
    let decisions = case
        .situation
        .decision
        .schemes
        .iter()
        .map(|d| DecisionView { scheme: title(&d.scheme), eligible: d.eligible, reasons: trace(&d.reasons) })
        .collect();
    let payments = case
        .payments
        .iter()
        .map(|p| (p.protocol.clone(), p.pay_date.to_string(), Lang::It.money(p.amount), p.status.as_str().to_owned()))
        .collect();
    CasePage {
        lang: Lang::It,
        last_update: LAST_UPDATE,
        header: Some(header.clone()),
        subject: case.subject.to_string(),
        name,
        contacts,
        motivo: motivo.to_owned(),
        in_registry: case.situation.in_registry,
        applications,
        decisions,
        payments,
    }
}
