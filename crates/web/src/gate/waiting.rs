//! The waiting room: `GET /attesa` (the page), `POST /attesa/biglietto` (a solved challenge for a ticket),
//! `GET /attesa/stato` (the same in JSON, for the page's script and for API clients), `POST /attesa/esci` (give
//! the pass back). Every answer is personal: it carries the visitor's own ticket or pass.
//!
//! Without JavaScript the page still works: a `<noscript>` refresh asks for a challenge that costs a wait instead
//! of work, kept in a cookie and redeemed by the next refresh once the wait is over; from then on the page
//! refreshes itself at the interval the gate asks for, and a plain form does the same by hand.
//!
//! Here are the four handlers; the query and the URLs built from it are in `query`, the pages, the JSON body and
//! the 503s in `reply`.

mod query;
mod reply;

use axum::Json;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sportello_gate::{ChallengeOffer, GateError, LostReason, Offer, PassCheck, Proof, RoomId, Visit};

use super::{CHALLENGE_COOKIE, GateApp, PASS_COOKIE, PASS_HEADER, TICKET_COOKIE, TICKET_HEADER, cookies};
use crate::render::{render_with, wants_json};
use reply::{Shown, StateBody, gate_failed, refused, unavailable, unknown_room, view};

pub use query::{WaitQuery, waiting_room_url};
pub use reply::{RETRY_AFTER_SECS, maintenance, queue_required};

impl GateApp {
    /// Whether the request holds a valid pass for `room`.
    async fn holds_pass(&self, headers: &HeaderMap, room: RoomId) -> bool {
        match cookies::token(headers, PASS_HEADER, PASS_COOKIE) {
            Some(pass) => matches!(self.gate.check_pass(pass).await, Ok(PassCheck::Valid(p)) if p.room == room),
            None => false,
        }
    }
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
        crate::render::problem(
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

/// The query of `/attesa/riprendi`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResumeQuery {
    /// The held ticket, as the "avvisami" message carries it.
    pub biglietto: String,
    /// `en` for English.
    pub lang: Option<String>,
}

/// `GET /attesa/riprendi?biglietto=…`: back to a place held for a visitor who asked to be told ("avvisami"), from the
/// link in the message, in this browser or another: the ticket goes into the cookie, lasting as long as its hold, and
/// the waiting room takes it from there (the place, the pass if it is the visitor's turn, or a new place if it was
/// lost). A ticket that is not the gate's is not kept.
pub async fn resume(State(app): State<GateApp>, Query(q): Query<ResumeQuery>) -> Response {
    let english = q.lang.as_deref() == Some("en");
    let suffix = if english { "&lang=en" } else { "" };
    let token = q.biglietto.trim();
    let room = app
        .signer
        .verify_ticket(token)
        .ok()
        .and_then(|ticket| app.gate.config().room(ticket.room).map(|room| (ticket, room.key.clone())));
    let Some((ticket, key)) = room else {
        return Redirect::to(&format!("/attesa?dopo=/{suffix}")).into_response();
    };
    let mut response = Redirect::to(&format!("/attesa?stanza={}{suffix}", query::encode(&key))).into_response();
    let now = app.now();
    cookies::set(response.headers_mut(), TICKET_COOKIE, token, Some(ticket.refresh_by.max(now)), now);
    response
}
