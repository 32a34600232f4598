//! `GET /stato`: every room's public state — open or not, the queue, the admission rate, and the pre-queue draw's
//! commitment (and, once open, its seed) so that anyone can check the order of the draw (`crates/gate/DRAW.md`).
//! The same for everyone, so shared caches may keep it for a few seconds: on a click day they absorb the refreshes.
//! With the portal's store at hand (`GateApp::throughput`), also the applications received lately.

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sportello_gate::{RoomStatus, RoomView, eta};

use super::GateApp;
use crate::i18n::{Lang, LangQuery};
use crate::render::{LAST_UPDATE, lang_suffix, render_with, wants_json};
use crate::security;

/// How long shared caches may keep the status (seconds): fresh enough to watch a queue move.
const STATUS_MAX_AGE: u32 = 5;

/// One room as the status page shows it.
struct RoomLine {
    /// What the room guards, in words: no configuration key.
    name: String,
    status: String,
    message: Option<String>,
    waiting: u64,
    admitted: u64,
    active: u64,
    max_active: u32,
    admit_per_sec: String,
    planning_per_sec: String,
    last_wait_minutes: u64,
    commitment: Option<String>,
    seed: Option<String>,
    pre_queue_size: Option<u64>,
}

#[derive(Template)]
#[template(path = "gate_status.html")]
struct StatusPage {
    lang: Lang,
    switch_url: &'static str,
    lang_suffix: &'static str,
    last_update: &'static str,
    rooms: Vec<RoomLine>,
    received: Option<crate::throughput::ReceivedLine>,
}

fn line(app: &GateApp, lang: Lang, view: RoomView) -> RoomLine {
    let room = app.gate.config().room_by_key(&view.room);
    let at = |t: chrono::DateTime<chrono::Utc>| match room {
        Some(r) => t.with_timezone(&r.schedule.tz).format("%d/%m/%Y %H:%M (%Z)").to_string(),
        None => t.format("%d/%m/%Y %H:%M UTC").to_string(),
    };
    let (status, message) = match &view.status {
        RoomStatus::Open { closes_at: Some(t) } => {
            (format!("{} {}", lang.pick("Aperta fino al", "Open until"), at(*t)), None)
        }
        RoomStatus::Open { closes_at: None } => (lang.pick("Aperta", "Open").to_owned(), None),
        RoomStatus::Closed { opens_at: Some(t), pre_queue_open } => {
            let pre = if *pre_queue_open { lang.pick(" (pre-coda aperta)", " (pre-queue open)") } else { "" };
            (format!("{} {}{pre}", lang.pick("Chiusa; apre il", "Closed; opens on"), at(*t)), None)
        }
        RoomStatus::Closed { opens_at: None, .. } => (lang.pick("Chiusa", "Closed").to_owned(), None),
        RoomStatus::Maintenance { message } => (
            lang.pick("In manutenzione", "Under maintenance").to_owned(),
            Some(lang.pick(&message.it, &message.en).to_owned()),
        ),
    };
    let rate_milli = eta::admission_rate_milli(&view.capacity, view.health_permille);
    let draw = view.draw.as_ref();
    let name = match room.map(|r| r.path.as_str()) {
        Some("/") | None => lang.pick("Il portale", "The portal").to_owned(),
        Some(path) => format!("{} {path}", lang.pick("Le pagine", "The pages")),
    };
    RoomLine {
        name,
        status,
        message,
        waiting: view.waiting,
        admitted: view.admitted,
        active: view.active,
        max_active: view.capacity.max_active,
        admit_per_sec: format!("{}.{}", rate_milli / 1000, (rate_milli % 1000) / 100),
        planning_per_sec: format!("{}.{}", view.planning_rate_milli / 1000, (view.planning_rate_milli % 1000) / 100),
        last_wait_minutes: view.eta_last_secs.div_ceil(60),
        commitment: draw.map(|d| d.commitment.clone()),
        seed: draw.and_then(|d| d.seed.clone()),
        pre_queue_size: draw.and_then(|d| d.pre_queue_size),
    }
}

/// `GET /stato`: the rooms' state, as a page or (asking for JSON) as the gate's `RoomView`s.
pub async fn page(State(app): State<GateApp>, Query(query): Query<LangQuery>, headers: HeaderMap) -> Response {
    let lang = query.lang();
    let mut views = Vec::new();
    for room in &app.gate.config().rooms {
        match app.gate.status(room.id).await {
            Ok(view) => views.push(view),
            Err(e) => {
                tracing::error!(error = %e, room = %room.key, "the gate's status is unavailable");
                return crate::render::problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    lang,
                    lang.pick("Stato non disponibile", "Status unavailable"),
                    lang.pick(
                        "Lo stato delle code non è disponibile ora. Riprovi tra poco.",
                        "The queues' state is not available now. Please try again shortly.",
                    ),
                );
            }
        }
    }
    let response = if wants_json(&headers) {
        Json(views).into_response()
    } else {
        let rooms = views.into_iter().map(|v| line(&app, lang, v)).collect();
        let received = match &app.throughput {
            Some(throughput) => throughput.received().await,
            None => None,
        };
        let page = StatusPage {
            lang,
            switch_url: lang.pick("/stato?lang=en", "/stato"),
            lang_suffix: lang_suffix(lang),
            last_update: LAST_UPDATE,
            rooms,
            received,
        };
        render_with(StatusCode::OK, &page)
    };
    // The page and the JSON share the URL: a shared cache must keep them apart.
    let mut response = security::public(STATUS_MAX_AGE, response);
    response.headers_mut().append(header::VARY, HeaderValue::from_static("Accept"));
    response
}
