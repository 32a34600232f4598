//! `GET /ufficio/cruscotto`: the live dashboard (issue 18), for every officer's role. Applications per second over
//! the last minute and hour, by scheme, channel and outcome; the last hour minute by minute; each scheme's spending
//! against its limit with the forecast and an alert when it crosses the limit; the waiting room's queue, admissions
//! and promised wait. Server-rendered, charts as inline SVG, no script: an officer who asks for it
//! (`?aggiorna=si`) has the page reload itself every [`REFRESH_SECS`] seconds (`<meta http-equiv="refresh">`, which the
//! strict content security policy allows) until they stop it; by default it changes only when reloaded.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use sportello_usecases::office::dashboard::{self, Figures, Line};

use super::page::{Header, OfficeError, OrOffice};
use super::session::Officer;
use super::state::OfficeState;
use crate::apply::italian_time;
use crate::i18n::Lang;
use crate::render::{LAST_UPDATE, render_with};

/// How often the page reloads itself.
pub const REFRESH_SECS: u32 = 10;

/// Width and height of the minute-by-minute chart, in SVG units.
const CHART_W: u64 = 600;
const CHART_H: u64 = 120;

/// One row of a table of rates.
struct RateRow {
    label: String,
    minute_count: u64,
    minute_rate: String,
    hour_count: u64,
    hour_rate: String,
}

/// A bar of the minute-by-minute chart.
struct Bar {
    x: u64,
    y: u64,
    height: u64,
    label: String,
}

/// A scheme's spending as the page shows it, with its bars' lengths (0–100 per cent of the larger of limit and
/// forecast).
struct SpendingRow {
    title: String,
    limit: String,
    reserved: String,
    suspended: String,
    expected: String,
    forecast: String,
    alert: bool,
    reserved_pct: u64,
    forecast_pct: u64,
    limit_pct: u64,
}

/// One room of the waiting room.
struct RoomRow {
    room: String,
    waiting: u64,
    admitted: u64,
    rate: String,
    eta: String,
}

/// A payment run as the page shows it.
struct RunRow {
    number: i64,
    pay_date: String,
    state: &'static str,
    payments: u64,
    total: String,
    confirmed: u64,
    returned: u64,
}

#[derive(Template)]
#[template(path = "office/dashboard.html")]
struct DashboardPage {
    lang: Lang,
    last_update: &'static str,
    header: Option<Header>,
    refresh: u32,
    /// Whether the officer asked the page to reload itself (`?aggiorna=si`); never by default, so that nobody has
    /// a page changing under them they did not ask for (WCAG 2.2.1).
    auto: bool,
    at: String,
    total: RateRow,
    by_scheme: Vec<RateRow>,
    by_channel: Vec<RateRow>,
    by_outcome: Vec<RateRow>,
    bars: Vec<Bar>,
    peak: u64,
    chart_w: u64,
    chart_h: u64,
    spending: Vec<SpendingRow>,
    rooms: Vec<RoomRow>,
    waiting: u64,
    runs: Vec<RunRow>,
}

fn rate(per_second: f64) -> String {
    format!("{per_second:.2}").replace('.', ",")
}

fn rate_row(line: &Line, label: String) -> RateRow {
    RateRow {
        label,
        minute_count: line.minute.count,
        minute_rate: rate(line.minute.per_second),
        hour_count: line.hour.count,
        hour_rate: rate(line.hour.per_second),
    }
}

fn channel_label(channel: &str) -> String {
    match channel {
        "citizen" => "cittadini".to_owned(),
        "patronato" => "patronati".to_owned(),
        "contact_center" => "Contact Center".to_owned(),
        other => other.to_owned(),
    }
}

fn outcome_label(status: &str) -> String {
    match status {
        "accepted" => "accolte".to_owned(),
        "rejected" => "respinte".to_owned(),
        "suspended_budget" => "sospese per i limiti di spesa".to_owned(),
        other => other.to_owned(),
    }
}

fn bars(figures: &Figures) -> (Vec<Bar>, u64) {
    let peak = figures.per_minute.iter().copied().max().unwrap_or(0);
    let slot = CHART_W / figures.per_minute.len().max(1) as u64;
    let bars = figures
        .per_minute
        .iter()
        .enumerate()
        .map(|(i, &count)| {
            let height = (count * CHART_H).checked_div(peak).unwrap_or(0);
            let ago = figures.per_minute.len() - 1 - i;
            Bar { x: i as u64 * slot, y: CHART_H - height, height, label: format!("{count} domande, {ago} minuti fa") }
        })
        .collect();
    (bars, peak)
}

/// The waiting room's rooms now, and everyone waiting in them.
async fn rooms(state: &OfficeState) -> (Vec<RoomRow>, u64) {
    let Some(gate) = &state.gate else { return (Vec::new(), 0) };
    let mut rows = Vec::new();
    let mut waiting = 0;
    for room in &gate.config().rooms {
        match gate.status(room.id).await {
            Ok(view) => {
                waiting += view.waiting;
                rows.push(RoomRow {
                    room: view.room,
                    waiting: view.waiting,
                    admitted: view.admitted,
                    rate: rate(view.planning_rate_milli as f64 / 1000.0),
                    eta: format!("{} min", view.eta_last_secs.div_ceil(60)),
                });
            }
            Err(e) => tracing::warn!(error = %e, "the dashboard could not read a waiting room's state"),
        }
    }
    (rows, waiting)
}

fn pct(part: i64, whole: i64) -> u64 {
    if whole <= 0 { 0 } else { u64::try_from(part.clamp(0, whole) * 100 / whole).unwrap_or(0) }
}

/// The dashboard's query: `aggiorna=si` to have it reload itself.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DashboardQuery {
    aggiorna: String,
}

/// `GET /ufficio/cruscotto`: the figures now; with `?aggiorna=si`, reloading itself every [`REFRESH_SECS`] seconds
/// until the officer stops it.
pub async fn page(
    State(state): State<OfficeState>,
    officer: Officer,
    Query(query): Query<DashboardQuery>,
) -> Result<Response, OfficeError> {
    let header = Some(&officer.header);
    let (rooms, waiting) = rooms(&state).await;
    let now = state.auth.now();
    let figures = dashboard::figures(state.app.store.as_ref(), &state.app.decrees, &officer.on_duty, waiting, now)
        .await
        .or_office(header)?;
    let title = |scheme: &str| {
        state.app.decrees.scheme(scheme).map_or_else(|| scheme.to_owned(), |s| format!("{} ({scheme})", s.title_it()))
    };
    let spending = figures
        .spending
        .iter()
        .map(|s| {
            let scale = s.limit.get().max(s.forecast.get());
            SpendingRow {
                title: title(&s.scheme),
                limit: s.limit.to_italian(),
                reserved: s.reserved.to_italian(),
                suspended: s.suspended.to_italian(),
                expected: s.expected.to_italian(),
                forecast: s.forecast.to_italian(),
                alert: s.alert,
                reserved_pct: pct(s.reserved.get(), scale),
                forecast_pct: pct(s.forecast.get(), scale),
                limit_pct: pct(s.limit.get(), scale),
            }
        })
        .collect();
    let (bars, peak) = bars(&figures);
    let page = DashboardPage {
        lang: Lang::It,
        last_update: LAST_UPDATE,
        header: Some(officer.header.clone()),
        refresh: REFRESH_SECS,
        auto: query.aggiorna == "si",
        at: italian_time::in_italy(figures.at).format("%d/%m/%Y %H:%M:%S").to_string(),
        total: rate_row(&figures.total, "Tutte".to_owned()),
        by_scheme: figures.by_scheme.iter().map(|l| rate_row(l, title(&l.key))).collect(),
        by_channel: figures.by_channel.iter().map(|l| rate_row(l, channel_label(&l.key))).collect(),
        by_outcome: figures.by_outcome.iter().map(|l| rate_row(l, outcome_label(&l.key))).collect(),
        bars,
        peak,
        chart_w: CHART_W,
        chart_h: CHART_H,
        spending,
        rooms,
        waiting: figures.waiting,
        runs: figures
            .payment_runs
            .iter()
            .map(|r| RunRow {
                number: r.run.id,
                pay_date: r.run.pay_date.format("%d/%m/%Y").to_string(),
                state: if r.run.completed_at.is_some() { "file scritti" } else { "in preparazione" },
                payments: r.payments,
                total: r.total.to_italian(),
                confirmed: r.confirmed,
                returned: r.returned,
            })
            .collect(),
    };
    Ok(render_with(StatusCode::OK, &page))
}
