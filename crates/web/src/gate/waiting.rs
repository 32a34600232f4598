//! The waiting room: `GET /attesa` (the page), `POST /attesa/biglietto` (a solved challenge for a ticket),
//! `GET /attesa/stato` (the same in JSON, for the page's script and for API clients), `POST /attesa/esci` (give
//! the pass back). Every answer is personal: it carries the visitor's own ticket or pass.
//!
//! Without JavaScript the page still works: a `<noscript>` refresh asks for a challenge that costs a wait instead
//! of work, kept in a cookie and redeemed by the next refresh once the wait is over; from then on the page
//! refreshes itself at the interval the gate asks for, and a plain form does the same by hand.

use askama::Template;
use axum::Json;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sportello_gate::{
    ChallengeOffer, GateError, LostReason, MaintenanceMessage, Offer, PassCheck, Proof, QueueView, RoomId, RoomStatus,
    Visit,
};

use super::layer::wants_json;
use super::{CHALLENGE_COOKIE, GATE_JS, GateApp, PASS_COOKIE, PASS_HEADER, TICKET_COOKIE, TICKET_HEADER, cookies};
use crate::i18n::Lang;
use crate::pages::{LAST_UPDATE, lang_suffix, render_with};

/// What `Retry-After` says when the gate is paused or its state unreachable, seconds.
pub const RETRY_AFTER_SECS: u32 = 30;

/// The longest `Retry-After` a closed room asks for: it may reopen earlier than planned.
const MAX_CLOSED_RETRY_SECS: i64 = 600;

/// The waiting room's query: where to go back to, the language, the no-JavaScript path, the room.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct WaitQuery {
    /// The page the visitor asked for (a local path).
    #[serde(default)]
    pub dopo: Option<String>,
    /// `en` for English.
    #[serde(default)]
    pub lang: Option<String>,
    /// Present: the visitor has no JavaScript, and waits instead of solving the proof of work.
    #[serde(default)]
    pub senza_js: Option<String>,
    /// The room's key, for clients that name it rather than a path.
    #[serde(default)]
    pub stanza: Option<String>,
    /// `dopo` once checked against the route table ([`WaitQuery::checked`]); never read from the query.
    #[serde(skip)]
    back: Option<String>,
}

impl WaitQuery {
    fn lang(&self) -> Lang {
        match self.lang.as_deref() {
            Some("en") => Lang::En,
            _ => Lang::It,
        }
    }

    /// This query with `dopo` checked against the pages `app` may send a visitor back to.
    fn checked(mut self, app: &GateApp) -> Self {
        self.back = Some(app.return_paths.check(self.dopo.as_deref()));
        self
    }

    /// The page to return to: `dopo` if [`WaitQuery::checked`] found it a page of the portal, else the home page.
    fn back(&self) -> String {
        self.back.clone().unwrap_or_else(|| "/".to_owned())
    }

    fn room(&self, app: &GateApp) -> Option<RoomId> {
        let config = app.gate.config();
        match &self.stanza {
            Some(key) => config.room_by_key(key).map(|r| r.id),
            None => {
                let back = self.back();
                let path = back.split('?').next().unwrap_or("/");
                app.gate.room_for_path(path).or_else(|| config.rooms.first().map(|r| r.id))
            }
        }
    }

    /// This waiting room's URL in the other language.
    fn switch(&self) -> String {
        let other = Self { lang: Some(self.lang().other().tag().to_owned()), ..self.clone() };
        other.again(self.senza_js.is_some())
    }

    /// This waiting room's URL again (what the page refreshes to).
    fn again(&self, no_js: bool) -> String {
        let mut url = format!("/attesa?dopo={}", encode(&self.back()));
        if let Some(key) = &self.stanza {
            url.push_str(&format!("&stanza={}", encode(key)));
        }
        if no_js {
            url.push_str("&senza_js=1");
        }
        if self.lang() == Lang::En {
            url.push_str("&lang=en");
        }
        url
    }
}

/// The waiting room's URL for a visitor who asked for `back`, in the language `back` was in.
pub fn waiting_room_url(back: &str) -> String {
    let english = back.split_once('?').is_some_and(|(_, q)| q.split('&').any(|p| p == "lang=en"));
    format!("/attesa?dopo={}{}", encode(back), if english { "&lang=en" } else { "" })
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What the waiting room shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shown {
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
struct WaitingPage {
    lang: Lang,
    switch_url: String,
    lang_suffix: &'static str,
    last_update: &'static str,
    gate_js: &'static str,
    shown: &'static str,
    refresh: Option<(u32, String)>,
    position: Option<u64>,
    eta: Option<String>,
    opens_at: Option<String>,
    challenge: Option<ChallengeOffer>,
    no_js_url: String,
    enter_url: String,
    state_url: String,
    back: String,
    wait_secs: Option<i64>,
    lost: bool,
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
struct StateBody {
    #[serde(flatten)]
    view: QueueView,
    /// The ticket to send back in `Sportello-Ticket` when polling.
    #[serde(skip_serializing_if = "Option::is_none")]
    ticket: Option<String>,
    /// The pass to send in `Sportello-Pass` with every request to the portal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pass: Option<String>,
    /// The pass's id, for support and revocation (32 hex digits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pass_id: Option<String>,
    /// The pass's end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pass_expires_at: Option<DateTime<Utc>>,
    /// A challenge to solve and post to `/attesa/biglietto`, when the client holds no place.
    #[serde(skip_serializing_if = "Option::is_none")]
    challenge: Option<ChallengeOffer>,
}

impl StateBody {
    fn of(view: QueueView) -> Self {
        Self { view, ticket: None, pass: None, pass_id: None, pass_expires_at: None, challenge: None }
    }
}

fn view(state: &'static str) -> QueueView {
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
fn gate_failed(lang: Lang, json: bool, e: &GateError) -> Response {
    tracing::error!(error = %e, "the admission gate failed");
    let response = if json {
        (StatusCode::SERVICE_UNAVAILABLE, Json(StateBody::of(view("unavailable")))).into_response()
    } else {
        crate::pages::problem(
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
fn unavailable(app: &GateApp, room: RoomId, q: &WaitQuery, status: &RoomStatus, json: bool) -> Response {
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
    fn page(&self, q: &WaitQuery, shown: Shown) -> WaitingPage {
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
        }
    }

    /// Renders the outcome of entering or refreshing for a browser, keeping the tokens in cookies.
    fn visit_page(&self, room: RoomId, q: &WaitQuery, visit: Visit) -> Response {
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
    fn visit_json(&self, room: RoomId, q: &WaitQuery, visit: Visit) -> Response {
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

    /// Whether the request holds a valid pass for `room`.
    async fn holds_pass(&self, headers: &HeaderMap, room: RoomId) -> bool {
        match cookies::token(headers, PASS_HEADER, PASS_COOKIE) {
            Some(pass) => matches!(self.gate.check_pass(pass).await, Ok(PassCheck::Valid(p)) if p.room == room),
            None => false,
        }
    }
}

fn unknown_room(lang: Lang) -> Response {
    crate::pages::problem(
        StatusCode::NOT_FOUND,
        lang,
        lang.pick("Sala d'attesa sconosciuta", "Unknown waiting room"),
        lang.pick("Nessuna sala d'attesa ha questo nome.", "No waiting room has this name."),
    )
}

/// `GET /attesa`: the waiting room. With a ticket: its place, refreshed; admitted: back to the page asked for.
pub async fn page(State(app): State<GateApp>, Query(q): Query<WaitQuery>, headers: HeaderMap) -> Response {
    let q = q.checked(&app);
    if wants_json(&headers) {
        return state(State(app), Query(q), headers).await;
    }
    let lang = q.lang();
    let Some(room) = q.room(&app) else { return unknown_room(lang) };
    if app.holds_pass(&headers, room).await {
        return Redirect::to(&q.back()).into_response();
    }
    let mut clear = Vec::new();
    let mut lost = false;
    if let Some(ticket) = cookies::token(&headers, TICKET_HEADER, TICKET_COOKIE) {
        match app.gate.refresh(ticket).await {
            Ok(Visit::PlaceLost(reason)) => {
                lost = reason != LostReason::WindowEnded;
                clear.push(TICKET_COOKIE);
            }
            Ok(visit) => return app.visit_page(room, &q, visit),
            Err(GateError::Token(_) | GateError::UnknownRoom(_)) => clear.push(TICKET_COOKIE),
            Err(e) => return gate_failed(lang, false, &e),
        }
    }
    if let Some(challenge) = cookies::cookie(&headers, CHALLENGE_COOKIE) {
        match app.gate.enter(challenge, Proof::Waited).await {
            Ok(visit) => {
                let mut response = app.visit_page(room, &q, visit);
                cookies::clear(response.headers_mut(), CHALLENGE_COOKIE);
                return response;
            }
            Err(GateError::TooEarly(at)) => {
                let wait = (at - app.now()).num_seconds().max(1);
                let mut page = app.page(&q, Shown::NoJsWait);
                page.refresh = Some((u32::try_from(wait).unwrap_or(u32::MAX), q.again(true)));
                page.wait_secs = Some(wait);
                page.challenge = cookies::cookie(&headers, CHALLENGE_COOKIE).map(|token| ChallengeOffer {
                    token: token.to_owned(),
                    difficulty: 0,
                    not_before: at,
                    expires_at: at,
                    no_js: true,
                });
                return render_with(StatusCode::OK, &page);
            }
            Err(GateError::State(e)) => return gate_failed(lang, false, &GateError::State(e)),
            Err(_) => clear.push(CHALLENGE_COOKIE),
        }
    }
    let no_js = q.senza_js.is_some();
    let now = app.now();
    let mut response = match app.gate.challenge(room, no_js).await {
        Ok(Offer::Challenge(offer)) => {
            let mut page = app.page(&q, if no_js { Shown::NoJsWait } else { Shown::Challenge });
            page.lost = lost;
            if no_js {
                let wait = (offer.not_before - app.now()).num_seconds().max(1);
                page.refresh = Some((u32::try_from(wait).unwrap_or(u32::MAX), q.again(true)));
                page.wait_secs = Some(wait);
            }
            let token = offer.token.clone();
            page.challenge = Some(offer);
            let mut response = render_with(StatusCode::OK, &page);
            if no_js {
                cookies::set(response.headers_mut(), CHALLENGE_COOKIE, &token, None, now);
                clear.retain(|c| *c != CHALLENGE_COOKIE);
            }
            response
        }
        Ok(Offer::Unavailable(status)) => unavailable(&app, room, &q, &status, false),
        Err(e) => gate_failed(lang, false, &e),
    };
    for name in clear {
        cookies::clear(response.headers_mut(), name);
    }
    response
}

/// `GET /attesa/stato` (and `GET /attesa` asking for JSON): the place in JSON, or a challenge to take one.
pub async fn state(State(app): State<GateApp>, Query(q): Query<WaitQuery>, headers: HeaderMap) -> Response {
    let q = q.checked(&app);
    let lang = q.lang();
    let Some(room) = q.room(&app) else {
        return (StatusCode::NOT_FOUND, Json(StateBody::of(view("unknown_room")))).into_response();
    };
    if app.holds_pass(&headers, room).await {
        return Json(StateBody::of(view("admitted"))).into_response();
    }
    let mut lost = None;
    if let Some(ticket) = cookies::token(&headers, TICKET_HEADER, TICKET_COOKIE) {
        match app.gate.refresh(ticket).await {
            Ok(Visit::PlaceLost(reason)) => lost = Some(reason),
            Ok(visit) => return app.visit_json(room, &q, visit),
            Err(GateError::Token(_) | GateError::UnknownRoom(_)) => lost = Some(LostReason::NotRefreshed),
            Err(e) => return gate_failed(lang, true, &e),
        }
    }
    let mut response = match app.gate.challenge(room, false).await {
        Ok(Offer::Challenge(offer)) => {
            let mut v = view(if lost.is_some() { "place_lost" } else { "challenge" });
            v.lost = lost;
            Json(StateBody { challenge: Some(offer), ..StateBody::of(v) }).into_response()
        }
        Ok(Offer::Unavailable(status)) => unavailable(&app, room, &q, &status, true),
        Err(e) => gate_failed(lang, true, &e),
    };
    if lost.is_some() {
        cookies::clear(response.headers_mut(), TICKET_COOKIE);
    }
    response
}

/// A nonce: a number, or its decimal digits (JavaScript's numbers stop being exact at 2^53).
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum Nonce {
    Number(u64),
    Text(String),
}

/// The body of `POST /attesa/biglietto`, as a form or as JSON.
#[derive(Clone, Debug, Deserialize)]
struct EnterForm {
    /// The challenge token.
    token: String,
    /// The proof of work; absent on the no-JavaScript path.
    #[serde(default)]
    nonce: Option<Nonce>,
    /// Where to go back to.
    #[serde(default)]
    dopo: Option<String>,
}

/// `POST /attesa/biglietto`: a solved challenge (or a waited one) for a place in the queue.
pub async fn enter(State(app): State<GateApp>, Query(mut q): Query<WaitQuery>, request: Request) -> Response {
    let lang = q.lang();
    let json_body = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let json = json_body || wants_json(request.headers());
    let form = if json_body {
        Json::<EnterForm>::from_request(request, &()).await.map(|Json(f)| f).map_err(IntoResponse::into_response)
    } else {
        axum::Form::<EnterForm>::from_request(request, &())
            .await
            .map(|axum::Form(f)| f)
            .map_err(IntoResponse::into_response)
    };
    let form = match form {
        Ok(form) => form,
        Err(rejection) => return rejection,
    };
    if form.dopo.is_some() {
        q.dopo.clone_from(&form.dopo);
    }
    let q = q.checked(&app);
    let proof = match &form.nonce {
        None => Proof::Waited,
        Some(Nonce::Number(n)) => Proof::Nonce(*n),
        Some(Nonce::Text(t)) if t.trim().is_empty() => Proof::Waited,
        Some(Nonce::Text(t)) => match t.trim().parse() {
            Ok(n) => Proof::Nonce(n),
            Err(_) => return refused(json, &q, StatusCode::BAD_REQUEST, "bad_nonce"),
        },
    };
    let Some(room) = q.room(&app) else { return unknown_room(lang) };
    match app.gate.enter(&form.token, proof).await {
        Ok(visit) if json => app.visit_json(room, &q, visit),
        Ok(Visit::Waiting(waiting)) => {
            let now = app.now();
            // Post, then redirect: the page that shows the place is a GET that refreshes itself.
            let mut response = Redirect::to(&q.again(false)).into_response();
            cookies::set(response.headers_mut(), TICKET_COOKIE, &waiting.ticket, None, now);
            cookies::clear(response.headers_mut(), CHALLENGE_COOKIE);
            response
        }
        Ok(visit) => app.visit_page(room, &q, visit),
        Err(GateError::TooEarly(_)) => refused(json, &q, StatusCode::CONFLICT, "too_early"),
        Err(GateError::WrongProof) => refused(json, &q, StatusCode::BAD_REQUEST, "wrong_proof"),
        Err(
            e @ (GateError::ChallengeExpired(_)
            | GateError::ChallengeReused
            | GateError::Token(_)
            | GateError::UnknownRoom(_)),
        ) => {
            tracing::debug!(error = %e, "a challenge was refused");
            refused(json, &q, StatusCode::BAD_REQUEST, "challenge_refused")
        }
        Err(e) => gate_failed(lang, json, &e),
    }
}

/// A challenge refused: JSON says why; a browser goes back to the waiting room, which offers a new one.
fn refused(json: bool, q: &WaitQuery, status: StatusCode, why: &'static str) -> Response {
    if json {
        return (status, Json(StateBody::of(view(why)))).into_response();
    }
    let mut response = Redirect::to(&q.again(false)).into_response();
    if why != "too_early" {
        cookies::clear(response.headers_mut(), CHALLENGE_COOKIE);
    }
    response
}

/// `POST /attesa/esci`: the visitor is done; the pass is given back and its slot goes to the next in line.
pub async fn leave(State(app): State<GateApp>, Query(q): Query<WaitQuery>, headers: HeaderMap) -> Response {
    let lang = q.lang();
    if let Some(pass) = cookies::token(&headers, PASS_HEADER, PASS_COOKIE) {
        match app.gate.release(pass).await {
            Ok(()) | Err(GateError::Token(_) | GateError::UnknownRoom(_)) => {}
            Err(e) => return gate_failed(lang, wants_json(&headers), &e),
        }
    }
    let mut response = if wants_json(&headers) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        crate::pages::problem(
            StatusCode::OK,
            lang,
            lang.pick("Grazie", "Thank you"),
            lang.pick(
                "Ha lasciato il suo posto: ora può entrare la prossima persona in coda.",
                "You have given up your place: the next person in the queue can now come in.",
            ),
        )
    };
    cookies::clear(response.headers_mut(), PASS_COOKIE);
    response
}
