//! How the waiting room answers: its two pages (the queue, and the closed or paused room), the JSON body a script
//! or API client polls, and the 503s with their `Retry-After` (gate unreachable, maintenance, closed, a pass
//! required). A browser's tokens travel in cookies, a JSON client's in the body as well.

use askama::Template;
use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sportello_gate::{ChallengeOffer, GateError, MaintenanceMessage, QueueView, RoomId, RoomStatus, Visit};

use super::query::{WaitQuery, encode};
use crate::gate::{CHALLENGE_COOKIE, GATE_JS, GateApp, PASS_COOKIE, TICKET_COOKIE, cookies};
use crate::i18n::Lang;
use crate::render::{LAST_UPDATE, lang_suffix, render_with};

/// What `Retry-After` says when the gate is paused or its state unreachable, seconds.
pub const RETRY_AFTER_SECS: u32 = 30;

/// The longest `Retry-After` a closed room asks for: it may reopen earlier than planned.
const MAX_CLOSED_RETRY_SECS: i64 = 600;

/// What the waiting room shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shown {
    /// The proof of work to solve (the script does it).
    Challenge,
    /// The no-JavaScript wait before entering.
    NoJsWait,
    /// A place in the queue.
    Waiting,
    /// A place in the pre-queue, before the opening and its draw.
    PreQueue,
}

#[derive(Template)]
#[template(path = "gate_waiting.html")]
pub(super) struct WaitingPage {
    pub(super) lang: Lang,
    pub(super) switch_url: String,
    pub(super) lang_suffix: &'static str,
    pub(super) last_update: &'static str,
    pub(super) gate_js: &'static str,
    pub(super) shown: &'static str,
    pub(super) refresh: Option<(u32, String)>,
    pub(super) position: Option<u64>,
    pub(super) eta: Option<String>,
    pub(super) opens_at: Option<String>,
    pub(super) challenge: Option<ChallengeOffer>,
    pub(super) no_js_url: String,
    pub(super) enter_url: String,
    pub(super) state_url: String,
    pub(super) back: String,
    pub(super) wait_secs: Option<i64>,
    pub(super) lost: bool,
    /// "Avvisami" is offered: minutes before the turn the visitor would be told.
    pub(super) remind: Option<u32>,
}

#[derive(Template)]
#[template(path = "gate_closed.html")]
struct ClosedPage {
    lang: Lang,
    switch_url: String,
    lang_suffix: &'static str,
    last_update: &'static str,
    refresh: Option<(u32, String)>,
    maintenance: Option<String>,
    opens_at: Option<String>,
    pre_queue_open: bool,
}

/// What a JSON client gets: the queue view, and the tokens to keep (also set as cookies for browsers).
#[derive(Debug, Serialize)]
pub(super) struct StateBody {
    #[serde(flatten)]
    pub(super) view: QueueView,
    /// The ticket to send back in `Sportello-Ticket` when polling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) ticket: Option<String>,
    /// The pass to send in `Sportello-Pass` with every request to the portal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) pass: Option<String>,
    /// The pass's id, for support and revocation (32 hex digits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) pass_id: Option<String>,
    /// The pass's end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) pass_expires_at: Option<DateTime<Utc>>,
    /// A challenge to solve and post to `/attesa/biglietto`, when the client holds no place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) challenge: Option<ChallengeOffer>,
}

impl StateBody {
    pub(super) fn of(view: QueueView) -> Self {
        Self { view, ticket: None, pass: None, pass_id: None, pass_expires_at: None, challenge: None }
    }
}

pub(super) fn view(state: &'static str) -> QueueView {
    QueueView {
        state,
        admitted: state == "admitted",
        position: None,
        eta_seconds: None,
        refresh_seconds: None,
        opens_at: None,
        message: None,
        lost: None,
    }
}

fn format_eta(lang: Lang, secs: u64) -> String {
    let minutes = secs.div_ceil(60);
    match (lang, minutes) {
        (Lang::It, 0 | 1) => "meno di un minuto".to_owned(),
        (Lang::En, 0 | 1) => "less than a minute".to_owned(),
        (Lang::It, m) => format!("circa {m} minuti"),
        (Lang::En, m) => format!("about {m} minutes"),
    }
}

fn format_at(app: &GateApp, room: RoomId, at: DateTime<Utc>) -> String {
    match app.gate.config().room(room) {
        Some(r) => at.with_timezone(&r.schedule.tz).format("%d/%m/%Y %H:%M (%Z)").to_string(),
        None => at.format("%d/%m/%Y %H:%M UTC").to_string(),
    }
}

fn with_retry_after(mut response: Response, secs: i64) -> Response {
    if let Ok(value) = secs.clamp(1, MAX_CLOSED_RETRY_SECS).to_string().parse() {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The gate's state could not be reached: a quick 503, come back shortly.
pub(super) fn gate_failed(lang: Lang, json: bool, e: &GateError) -> Response {
    tracing::error!(error = %e, "the admission gate failed");
    let response = if json {
        (StatusCode::SERVICE_UNAVAILABLE, Json(StateBody::of(view("unavailable")))).into_response()
    } else {
        crate::render::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            lang,
            lang.pick("Servizio momentaneamente non disponibile", "Service temporarily unavailable"),
            lang.pick(
                "La sala d'attesa non risponde. Riprovi tra qualche secondo: il suo posto, se ne ha uno, resta valido.",
                "The waiting room does not answer. Please try again in a few seconds: your place, if you have one, \
                 is kept.",
            ),
        )
    };
    with_retry_after(response, i64::from(RETRY_AFTER_SECS))
}

/// A 503 for a JSON client without a pass: where to queue.
pub fn queue_required() -> Response {
    let body = serde_json::json!({
        "type": "urn:sportello:problem:waiting-room",
        "title": "Waiting room",
        "status": 503,
        "detail": "Too many people are using the service: take a place in the queue at /attesa/stato, then send \
                   the pass in the Sportello-Pass header.",
        "waiting_room": "/attesa/stato",
    });
    let response = (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "application/problem+json")],
        serde_json::to_string(&body).unwrap_or_default(),
    )
        .into_response();
    with_retry_after(response, i64::from(RETRY_AFTER_SECS))
}

/// The maintenance page (or JSON): the operator's message, 503 and `Retry-After`.
pub fn maintenance(lang: Lang, message: &MaintenanceMessage, json: bool) -> Response {
    let response = if json {
        let mut v = view("maintenance");
        v.message = Some(message.clone());
        (StatusCode::SERVICE_UNAVAILABLE, Json(StateBody::of(v))).into_response()
    } else {
        let page = ClosedPage {
            lang,
            switch_url: format!("?lang={}", lang.other().tag()),
            lang_suffix: lang_suffix(lang),
            last_update: LAST_UPDATE,
            refresh: None,
            maintenance: Some(lang.pick(&message.it, &message.en).to_owned()),
            opens_at: None,
            pre_queue_open: false,
        };
        render_with(StatusCode::SERVICE_UNAVAILABLE, &page)
    };
    with_retry_after(response, i64::from(RETRY_AFTER_SECS))
}

/// The room is closed or in maintenance: 503 with `Retry-After` (until the opening, at most ten minutes).
pub(super) fn unavailable(app: &GateApp, room: RoomId, q: &WaitQuery, status: &RoomStatus, json: bool) -> Response {
    let lang = q.lang();
    match status {
        RoomStatus::Maintenance { message } => maintenance(lang, message, json),
        RoomStatus::Closed { opens_at, pre_queue_open } => {
            let retry = opens_at.map_or(MAX_CLOSED_RETRY_SECS, |at| (at - app.now()).num_seconds());
            let retry = retry.clamp(1, MAX_CLOSED_RETRY_SECS);
            let response = if json {
                let mut v = view("closed");
                v.opens_at = *opens_at;
                (StatusCode::SERVICE_UNAVAILABLE, Json(StateBody::of(v))).into_response()
            } else {
                let page = ClosedPage {
                    lang,
                    switch_url: q.switch(),
                    lang_suffix: lang_suffix(lang),
                    last_update: LAST_UPDATE,
                    refresh: Some((u32::try_from(retry).unwrap_or(600), q.again(false))),
                    maintenance: None,
                    opens_at: opens_at.map(|at| format_at(app, room, at)),
                    pre_queue_open: *pre_queue_open,
                };
                render_with(StatusCode::SERVICE_UNAVAILABLE, &page)
            };
            with_retry_after(response, retry)
        }
        // Open again by the time it was asked: come straight back.
        RoomStatus::Open { .. } => with_retry_after(Redirect::to(&q.again(false)).into_response(), 1),
    }
}

impl GateApp {
    pub(super) fn page(&self, q: &WaitQuery, shown: Shown) -> WaitingPage {
        let lang = q.lang();
        WaitingPage {
            lang,
            switch_url: q.switch(),
            lang_suffix: lang_suffix(lang),
            last_update: LAST_UPDATE,
            gate_js: GATE_JS,
            shown: match shown {
                Shown::Challenge => "challenge",
                Shown::NoJsWait => "no_js_wait",
                Shown::Waiting => "waiting",
                Shown::PreQueue => "pre_queue",
            },
            refresh: None,
            position: None,
            eta: None,
            opens_at: None,
            challenge: None,
            no_js_url: q.again(true),
            enter_url: format!("/attesa/biglietto{}", lang_suffix(lang)),
            state_url: match &q.stanza {
                Some(key) => format!("/attesa/stato?stanza={}", encode(key)),
                None => format!("/attesa/stato?dopo={}", encode(&q.back())),
            },
            back: q.back(),
            wait_secs: None,
            lost: false,
            // The script takes a place within seconds of the challenge, and the form needs nothing else: offered from
            // the start to those with JavaScript, once in the queue to those without.
            remind: self.reminders.as_ref().filter(|_| matches!(shown, Shown::Challenge)).map(|r| r.lead_minutes),
        }
    }

    /// Renders the outcome of entering or refreshing for a browser, keeping the tokens in cookies.
    pub(super) fn visit_page(&self, room: RoomId, q: &WaitQuery, visit: Visit) -> Response {
        let now = self.now();
        match visit {
            Visit::Admitted(admitted) => {
                let mut response = Redirect::to(&q.back()).into_response();
                cookies::set(response.headers_mut(), PASS_COOKIE, &admitted.pass, Some(admitted.expires_at), now);
                cookies::clear(response.headers_mut(), TICKET_COOKIE);
                response
            }
            Visit::Waiting(waiting) => {
                let lang = q.lang();
                let mut page = self.page(q, if waiting.pre_queue { Shown::PreQueue } else { Shown::Waiting });
                page.refresh = Some((waiting.refresh_secs, q.again(false)));
                page.position = waiting.position;
                page.remind = self.reminders.as_ref().filter(|_| waiting.position.is_some()).map(|r| r.lead_minutes);
                page.eta = waiting.eta_secs.map(|s| format_eta(lang, s));
                page.opens_at = waiting.opens_at.map(|at| format_at(self, room, at));
                let mut response = render_with(StatusCode::OK, &page);
                cookies::set(response.headers_mut(), TICKET_COOKIE, &waiting.ticket, None, now);
                response
            }
            Visit::Unavailable { status, ticket } => {
                let mut response = unavailable(self, room, q, &status, false);
                if let Some(ticket) = ticket {
                    cookies::set(response.headers_mut(), TICKET_COOKIE, &ticket, None, now);
                }
                response
            }
            Visit::PlaceLost(_) => {
                let mut response = Redirect::to(&q.again(false)).into_response();
                cookies::clear(response.headers_mut(), TICKET_COOKIE);
                response
            }
        }
    }

    /// The outcome of entering or refreshing for a JSON client: the view and the tokens, also as cookies.
    pub(super) fn visit_json(&self, room: RoomId, q: &WaitQuery, visit: Visit) -> Response {
        let now = self.now();
        let mut body = StateBody::of(visit.view());
        let mut set: Vec<(&str, String, Option<DateTime<Utc>>)> = Vec::new();
        let mut clear = Vec::new();
        match &visit {
            Visit::Admitted(a) => {
                body.pass = Some(a.pass.clone());
                body.pass_id = Some(a.pass_id.to_string());
                body.pass_expires_at = Some(a.expires_at);
                set.push((PASS_COOKIE, a.pass.clone(), Some(a.expires_at)));
                clear.push(TICKET_COOKIE);
            }
            Visit::Waiting(w) => {
                body.ticket = Some(w.ticket.clone());
                set.push((TICKET_COOKIE, w.ticket.clone(), None));
            }
            Visit::Unavailable { status, ticket } => {
                let mut response = unavailable(self, room, q, status, true);
                if let Some(ticket) = ticket {
                    cookies::set(response.headers_mut(), TICKET_COOKIE, ticket, None, now);
                }
                return response;
            }
            Visit::PlaceLost(_) => clear.push(TICKET_COOKIE),
        }
        let mut response = Json(body).into_response();
        for (name, value, expires) in set {
            cookies::set(response.headers_mut(), name, &value, expires, now);
        }
        for name in clear {
            cookies::clear(response.headers_mut(), name);
        }
        response
    }
}

pub(super) fn unknown_room(lang: Lang) -> Response {
    crate::render::problem(
        StatusCode::NOT_FOUND,
        lang,
        lang.pick("Sala d'attesa sconosciuta", "Unknown waiting room"),
        lang.pick("Nessuna sala d'attesa ha questo nome.", "No waiting room has this name."),
    )
}

/// A challenge refused: JSON says why; a browser goes back to the waiting room, which offers a new one.
pub(super) fn refused(json: bool, q: &WaitQuery, status: StatusCode, why: &'static str) -> Response {
    if json {
        return (status, Json(StateBody::of(view(why)))).into_response();
    }
    let mut response = Redirect::to(&q.again(false)).into_response();
    if why != "too_early" {
        cookies::clear(response.headers_mut(), CHALLENGE_COOKIE);
    }
    response
}
