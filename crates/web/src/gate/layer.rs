//! The gate as a layer in front of the portal: a request for a guarded path goes through only with a valid pass
//! for its room; anyone else is sent to the waiting room (a browser by a redirect, a JSON client by a quick 503
//! saying where to queue). Admitted traffic is never queued: a pass is checked by its signature and lifetime
//! without waiting for anyone, and if the shared state cannot say whether it was revoked, the pass is honoured.
//!
//! A pass in use is renewed once half of its lifetime is spent (a new cookie, and for JSON clients a new
//! `Sportello-Pass` response header), up to the room's longest pass lifetime; logging out gives it back, so the slot
//! goes to the next in line at once.

use axum::extract::{Query, Request, State};
use axum::http::HeaderValue;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sportello_gate::{GateError, Pass, PassCheck, RoomId};

use super::waiting::{self, RETRY_AFTER_SECS};
use super::{GateApp, PASS_COOKIE, PASS_HEADER, cookies, is_exempt};
use crate::i18n::LangQuery;
use crate::render::wants_json;

/// The middleware: let pass holders through, send the others to the waiting room.
pub async fn guard(State(app): State<GateApp>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if is_exempt(path) {
        return next.run(request).await;
    }
    let Some(room) = app.gate.room_for_path(path) else {
        return next.run(request).await;
    };
    let headers = request.headers();
    let lang = Query::<LangQuery>::try_from_uri(request.uri()).map(|q| q.0.lang()).unwrap_or_default();
    let Some(pass) = cookies::token(headers, PASS_HEADER, PASS_COOKIE).map(str::to_owned) else {
        count(&app, room, "no_pass");
        return to_waiting_room(&request, None);
    };
    let (decision, response) = match app.gate.check_pass(&pass).await {
        Ok(PassCheck::Valid(valid)) if valid.room == room => {
            ("pass", admitted(&app, &valid, &pass, request, next).await)
        }
        Ok(PassCheck::Valid(_)) => ("other_room", to_waiting_room(&request, None)),
        Ok(PassCheck::Maintenance(message)) => {
            ("maintenance", waiting::maintenance(lang, &message, wants_json(headers)))
        }
        Ok(PassCheck::Expired | PassCheck::Revoked) | Err(GateError::Token(_)) => {
            ("lapsed", to_waiting_room(&request, Some(PASS_COOKIE)))
        }
        Err(e) => {
            // The pass's signature and lifetime were checked before the state was asked: it is genuine. Holding
            // the admitted back because the counters are unreachable would queue the very people being served.
            tracing::warn!(error = %e, room = room.0, "cannot check a pass against revocations; honouring it if genuine");
            if app.is_genuine(&pass, room) {
                ("unchecked", next.run(request).await)
            } else {
                ("refused", quick_unavailable())
            }
        }
    };
    count(&app, room, decision);
    response
}

/// Serves a pass holder: renews the pass when it is due, and gives it back when the holder has logged out.
async fn admitted(app: &GateApp, valid: &Pass, token: &str, request: Request, next: Next) -> Response {
    let logging_out = is_logout(&request);
    let token = token.to_owned();
    let renewed = if logging_out {
        None
    } else {
        app.gate.renew(valid).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot renew a pass; it keeps its lifetime");
            None
        })
    };
    let mut response = next.run(request).await;
    let now = app.now();
    if logging_out && !(response.status().is_client_error() || response.status().is_server_error()) {
        match app.gate.release(&token).await {
            Ok(()) => cookies::clear(response.headers_mut(), PASS_COOKIE),
            Err(e) => tracing::warn!(error = %e, "cannot give back the pass of a visitor who logged out"),
        }
    } else if let Some(renewed) = renewed {
        cookies::set(response.headers_mut(), PASS_COOKIE, &renewed.pass, Some(renewed.expires_at), now);
        if let Ok(value) = HeaderValue::from_str(&renewed.pass) {
            response.headers_mut().insert(PASS_HEADER, value);
        }
    }
    response
}

/// Whether the request ends the holder's session: logging out on the citizens' or the operators' pages, or the API.
fn is_logout(request: &Request) -> bool {
    let path = request.uri().path();
    (request.method() == Method::POST && (path == "/esci" || path == "/intermediari/esci"))
        || (request.method() == Method::DELETE && path == "/api/v1/sessions/current")
}

/// Counts the layer's decisions per room: how much traffic holds a pass, how much is sent to queue.
fn count(app: &GateApp, room: RoomId, decision: &'static str) {
    let key = app.gate.config().room(room).map_or_else(String::new, |r| r.key.clone());
    metrics::counter!("sportello_gate_requests_total", "room" => key, "decision" => decision).increment(1);
}

/// A 503 that tells a client to come back shortly.
fn quick_unavailable() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, RETRY_AFTER_SECS.to_string())]).into_response()
}

/// A browser goes to the waiting room and comes back to what it asked for; a JSON client gets a 503 naming it.
fn to_waiting_room(request: &Request, clear: Option<&str>) -> Response {
    // A form posted without a pass cannot be replayed after the queue: come back to the home page instead of a
    // URL that only answers POST.
    let replayable = matches!(*request.method(), Method::GET | Method::HEAD);
    let back = if replayable { request.uri().path_and_query().map_or("/", |pq| pq.as_str()) } else { "/" };
    let mut response = if wants_json(request.headers()) || request.uri().path().starts_with("/api/") {
        waiting::queue_required()
    } else {
        Redirect::to(&waiting::waiting_room_url(back)).into_response()
    };
    if let Some(name) = clear {
        cookies::clear(response.headers_mut(), name);
    }
    response
}
