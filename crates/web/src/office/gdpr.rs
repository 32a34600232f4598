//! The data protection officer's pages. `GET /ufficio/accesso?cf=…&motivo=…`: subject access (GDPR art. 15), a
//! printable page, or JSON with `formato=json`. `GET /ufficio/violazioni?dal=…&al=…`: breach assessment (art. 33)
//! for a window in UTC, a page with the counts, or every access as CSV (`formato=csv`) or JSON (`formato=json`).

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header as http_header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use sportello_domain::CodiceFiscale;
use sportello_domain::principal::Duty;
use sportello_usecases::UseCaseError;
use sportello_usecases::office::Reason;
use sportello_usecases::office::gdpr::{Access, Breach, BreachSummary, SubjectAccess, breach, subject_access, to_csv};

use super::cases::status_label;
use super::page::{Header, OfficeError, OrOffice};
use super::session::Officer;
use super::state::OfficeState;
use crate::apply::italian_time;
use crate::i18n::Lang;
use crate::render::{LAST_UPDATE, render_with};

/// The subject-access request's fields.
#[derive(Debug, Default, Deserialize)]
pub struct AccessQuery {
    #[serde(default)]
    cf: String,
    #[serde(default)]
    motivo: String,
    #[serde(default)]
    formato: String,
}

#[derive(Template)]
#[template(path = "office/access.html")]
struct AccessPage {
    lang: Lang,
    last_update: &'static str,
    header: Option<Header>,
    cf: String,
    motivo: String,
    error: Option<String>,
    report: Option<AccessView>,
}

/// The report, in words.
struct AccessView {
    subject: String,
    json_href: String,
    generated_at: String,
    generated_by: String,
    person: Vec<(&'static str, String)>,
    positions: usize,
    applications: Vec<(String, String, &'static str)>,
    payments: Vec<(String, String, String)>,
    credentials: Vec<(String, &'static str, bool)>,
    accesses: Vec<AccessLine>,
}

/// One access, in words.
struct AccessLine {
    at: String,
    subject: String,
    actor: String,
    action: String,
    object: String,
    from: String,
    channel: String,
    reason: String,
}

impl From<&Access> for AccessLine {
    fn from(a: &Access) -> Self {
        Self {
            at: italian_time::format_seconds(a.at),
            subject: a.subject.to_string(),
            actor: a.actor.clone(),
            action: a.action.clone(),
            object: a.object.clone().unwrap_or_default(),
            from: a.from.clone().unwrap_or_default(),
            channel: a.channel.clone(),
            reason: a.reason.clone().unwrap_or_default(),
        }
    }
}

fn access_page(header: &Header, query: &AccessQuery, error: Option<String>, report: Option<AccessView>) -> AccessPage {
    AccessPage {
        lang: Lang::It,
        last_update: LAST_UPDATE,
        header: Some(header.clone()),
        cf: query.cf.chars().take(32).collect(),
        motivo: query.motivo.chars().take(300).collect(),
        error,
        report,
    }
}

/// `GET /ufficio/accesso`: the form; with a codice fiscale and a reason, the report (audited first).
pub async fn access(
    State(state): State<OfficeState>,
    officer: Officer,
    Query(query): Query<AccessQuery>,
) -> Result<Response, OfficeError> {
    let header = &officer.header;
    officer.on_duty.require(Duty::SubjectAccess).or_office(Some(header))?;
    if query.cf.is_empty() && query.motivo.is_empty() {
        return Ok(render_with(StatusCode::OK, &access_page(header, &query, None, None)));
    }
    let cf = CodiceFiscale::parse(&query.cf.trim().to_uppercase());
    let reason = Reason::parse(&query.motivo);
    let (cf, reason) = match (cf, reason) {
        (Ok(cf), Ok(reason)) => (cf, reason),
        (Err(e), _) => {
            let error = format!("Codice fiscale non valido: {e}.");
            return Ok(render_with(StatusCode::UNPROCESSABLE_ENTITY, &access_page(header, &query, Some(error), None)));
        }
        (_, Err(e)) => {
            let page = access_page(header, &query, Some(e.to_string()), None);
            return Ok(render_with(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let store = state.app.store.as_ref();
    let report =
        subject_access(store, &officer.on_duty, cf, &reason, state.auth.now()).await.or_office(Some(header))?;
    if query.formato == "json" {
        return Ok(Json(report).into_response());
    }
    Ok(render_with(
        StatusCode::OK,
        &access_page(header, &query, None, Some(access_view(&state, &report, reason.as_str()))),
    ))
}

/// `text` encoded for a query string.
fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn access_view(state: &OfficeState, r: &SubjectAccess, motivo: &str) -> AccessView {
    let title = |id: &str| state.app.decrees.scheme(id).map_or_else(|| id.to_owned(), |s| s.title_it().to_owned());
    let person = r.person.as_ref().map_or_else(Vec::new, |p| {
        let mut lines = vec![("Nome e cognome", p.full_name()), ("Data di nascita", p.data_nascita.to_string())];
        if let Some(email) = &p.email {
            lines.push(("E-mail", email.clone()));
        }
        if let Some(mobile) = &p.cellulare {
            lines.push(("Cellulare", mobile.clone()));
        }
        if p.residence.is_some() {
            lines.push(("Residenza", "presente in archivio".to_owned()));
        }
        lines
    });
    AccessView {
        subject: r.subject.to_string(),
        json_href: format!("/ufficio/accesso?cf={}&motivo={}&formato=json", r.subject, form_encode(motivo)),
        generated_at: italian_time::format_seconds(r.generated_at),
        generated_by: r.generated_by.clone(),
        person,
        positions: r.positions.len(),
        applications: r
            .applications
            .iter()
            .map(|a| (a.protocol.to_string(), title(&a.scheme), status_label(a.status)))
            .collect(),
        payments: r
            .payments
            .iter()
            .map(|p| (p.protocol.clone(), p.pay_date.to_string(), Lang::It.money(p.amount)))
            .collect(),
        credentials: r
            .credentials
            .iter()
            .map(|c| (italian_time::format(c.issued_at), c.first_half_to, c.confirmed_at.is_some()))
            .collect(),
        accesses: r.accesses.iter().map(AccessLine::from).collect(),
    }
}

/// The breach assessment's fields.
#[derive(Debug, Default, Deserialize)]
pub struct BreachQuery {
    #[serde(default)]
    dal: String,
    #[serde(default)]
    al: String,
    #[serde(default)]
    formato: String,
}

#[derive(Template)]
#[template(path = "office/breach.html")]
struct BreachPage {
    lang: Lang,
    last_update: &'static str,
    header: Option<Header>,
    dal: String,
    al: String,
    error: Option<String>,
    summary: Option<BreachSummary>,
    accesses: Vec<AccessLine>,
    csv_href: String,
}

/// A moment typed in the form (`2020-04-01T08:00`, UTC) or written in RFC 3339.
fn moment(text: &str, field: &str) -> Result<DateTime<Utc>, UseCaseError> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").map(|at| at.and_utc()))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").map(|at| at.and_utc()))
        .map_err(|_| {
            let shown: String = text.chars().take(40).collect();
            UseCaseError::OfficeInput(format!("{field}: '{shown}' is not a time like 2020-04-01T08:00 (UTC)"))
        })
}

/// `GET /ufficio/violazioni`: the form; with a window, its assessment as a page, CSV or JSON.
pub async fn breach_report(
    State(state): State<OfficeState>,
    officer: Officer,
    Query(query): Query<BreachQuery>,
) -> Result<Response, OfficeError> {
    let header = &officer.header;
    officer.on_duty.require(Duty::Breach).or_office(Some(header))?;
    let page = |error, report: Option<&Breach>| BreachPage {
        lang: Lang::It,
        last_update: LAST_UPDATE,
        header: Some(header.clone()),
        dal: query.dal.chars().take(40).collect(),
        al: query.al.chars().take(40).collect(),
        error,
        summary: report.map(|r| r.summary.clone()),
        accesses: report.map_or_else(Vec::new, |r| r.accesses.iter().map(AccessLine::from).collect()),
        csv_href: report.map_or_else(String::new, |r| {
            format!(
                "/ufficio/violazioni?dal={}&al={}&formato=csv",
                r.from.format("%Y-%m-%dT%H:%M:%S"),
                r.to.format("%Y-%m-%dT%H:%M:%S")
            )
        }),
    };
    if query.dal.is_empty() && query.al.is_empty() {
        return Ok(render_with(StatusCode::OK, &page(None, None)));
    }
    let window = moment(&query.dal, "dal").and_then(|from| Ok((from, moment(&query.al, "al")?)));
    let (from, to) = match window {
        Ok(window) => window,
        Err(e) => return Ok(render_with(StatusCode::UNPROCESSABLE_ENTITY, &page(Some(e.to_string()), None))),
    };
    let report = match breach(state.app.store.as_ref(), &officer.on_duty, from, to).await {
        Ok(report) => report,
        Err(e @ UseCaseError::OfficeInput(_)) => {
            return Ok(render_with(StatusCode::UNPROCESSABLE_ENTITY, &page(Some(e.to_string()), None)));
        }
        Err(error) => return Err(OfficeError { error, header: Some(Box::new(header.clone())) }),
    };
    match query.formato.as_str() {
        "csv" => {
            let csv = to_csv(&report).or_office(Some(header))?;
            let name = format!("attachment; filename=\"accessi-{}.csv\"", from.format("%Y%m%dT%H%M%S"));
            Ok((
                [
                    (http_header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (http_header::CONTENT_DISPOSITION, name),
                ],
                csv,
            )
                .into_response())
        }
        "json" => Ok(Json(report).into_response()),
        _ => Ok(render_with(StatusCode::OK, &page(None, Some(&report)))),
    }
}
