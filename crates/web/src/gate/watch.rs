//! What each node watches of the gate every few seconds: the rooms' queues as metrics (queue length, admissions per
//! second, active passes, proof-of-work difficulty, the estimated wait of the last in line), and, with
//! `[gate.adaptive]`, the strain of its admitted requests turned into the admission rate.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sportello_gate::{HealthController, RoomStatus, WindowId};

use super::GateApp;
use crate::shed::Shedder;

/// How often the rooms' metrics are read.
const METRICS_EVERY: Duration = Duration::from_secs(5);

/// What the previous reading saw of each room, to turn the admitted count into a rate.
#[derive(Debug, Default)]
pub struct Readings {
    last: HashMap<String, (Instant, Option<WindowId>, u64)>,
}

/// Reads every room's status into gauges, labelled by room. A room whose status cannot be read keeps its previous
/// values (the error is logged).
pub async fn sample_metrics(app: &GateApp, readings: &mut Readings) {
    for room in &app.gate.config().rooms {
        let view = match app.gate.status(room.id).await {
            Ok(view) => view,
            Err(e) => {
                tracing::warn!(error = %e, room = %room.key, "cannot read the room's status for its metrics");
                continue;
            }
        };
        let key = room.key.clone();
        let now = Instant::now();
        let per_second = match readings.last.insert(key.clone(), (now, view.window, view.admitted)) {
            Some((at, window, admitted)) if window == view.window && view.admitted >= admitted => {
                let secs = now.duration_since(at).as_secs_f64();
                if secs > 0.0 { (view.admitted - admitted) as f64 / secs } else { 0.0 }
            }
            _ => 0.0,
        };
        let open = matches!(view.status, RoomStatus::Open { .. });
        let gauge = |name: &'static str, value: f64| metrics::gauge!(name, "room" => key.clone()).set(value);
        gauge("sportello_gate_open", if open { 1.0 } else { 0.0 });
        gauge("sportello_gate_queue_length", view.waiting as f64);
        gauge("sportello_gate_admitted", view.admitted as f64);
        gauge("sportello_gate_admitted_per_second", per_second);
        gauge("sportello_gate_active_passes", view.active as f64);
        gauge("sportello_gate_admission_rate_per_second", view.planning_rate_milli as f64 / 1000.0);
        gauge("sportello_gate_pow_difficulty_bits", f64::from(view.pow_difficulty));
        gauge("sportello_gate_eta_last_seconds", view.eta_last_secs as f64);
        gauge("sportello_gate_health_permille", f64::from(view.health_permille));
    }
}

/// Runs until `stop` completes: the rooms' metrics every few seconds and, when `[gate.adaptive]` is set, the
/// backend's health from `shedder`'s measurements every `interval_secs`.
pub async fn watch(app: GateApp, shedder: Arc<Shedder>, stop: impl Future<Output = ()>) {
    let mut readings = Readings::default();
    let mut metrics_tick = tokio::time::interval(METRICS_EVERY);
    metrics_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let adaptive = app.adaptive;
    let mut health_tick = tokio::time::interval(Duration::from_secs(u64::from(
        adaptive.map_or(u32::MAX / 2, |a| a.interval_secs.max(1)),
    )));
    health_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    health_tick.tick().await;
    let mut controller = adaptive.map(|a| HealthController::new(a.target_latency_ms, a.max_error_permille));
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = metrics_tick.tick() => sample_metrics(&app, &mut readings).await,
            _ = health_tick.tick(), if controller.is_some() => {
                if let Some(controller) = controller.as_mut() {
                    report_health(&app, &shedder, controller).await;
                }
            }
        }
    }
}

/// One look at the admitted requests since the last: the controller's new factor, reported for every room.
async fn report_health(app: &GateApp, shedder: &Shedder, controller: &mut HealthController) {
    let strain = shedder.take_strain();
    let before = controller.permille();
    let latency = u32::try_from(strain.p95_ms).unwrap_or(u32::MAX);
    let permille = controller.observe(latency, strain.error_permille);
    if permille != before {
        tracing::info!(
            p95_ms = strain.p95_ms,
            error_permille = strain.error_permille,
            requests = strain.requests,
            health_permille = permille,
            "the backend's health changed the admission rate"
        );
    }
    for room in &app.gate.config().rooms {
        if let Err(e) = app.gate.report_health(&room.key, permille).await {
            tracing::warn!(error = %e, room = %room.key, "cannot report the backend's health to the gate");
        }
    }
}
