//! Prometheus metrics, served on their own listener so that they are never exposed by accident on the portal's.
//!
//! Requests are labelled by route template (`/domande/{protocol}`), never by the path itself, so a protocol number
//! or any other personal value never becomes a label.

use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Seconds: the buckets of the request-duration histogram, from 1 ms to 10 s.
const DURATION_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process's Prometheus recorder, installed on first use (one per process, whatever the number of servers).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("duration_seconds".to_owned()), DURATION_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        match builder.install_recorder() {
            Ok(handle) => handle,
            // Another recorder is installed (a host program's): keep a detached one so rendering still works.
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        }
    })
}

/// Middleware counting requests, timing them by method, route template and status, and logging each one.
///
/// The log line names the route template, never the path or query: those may carry a protocol number.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    // Debug, not info: at click-day rates a line per request would cost more than the request.
    tracing::debug!(
        target: "sportello_web::request",
        %method,
        %route,
        status,
        millis = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    metrics::counter!(
        "sportello_http_requests_total",
        "method" => method.clone(), "route" => route.clone(), "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!("sportello_http_request_duration_seconds", "method" => method, "route" => route)
        .record(elapsed.as_secs_f64());
    response
}

/// The metrics listener's router: `GET /metrics` in the Prometheus text format.
pub fn router() -> Router {
    let handle = handle().clone();
    Router::new().route("/metrics", get(move || std::future::ready(handle.render())))
}

/// How often the spending gauges are read again.
pub const SPENDING_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

/// Sets the spending gauges every [`SPENDING_EVERY`] until `stop`: for each scheme with a limit, in euros, the
/// limit, what accepted applications reserve, what the suspended would reserve, and the dashboard's forecast
/// (`sportello_usecases::office::dashboard`, with the waiting room's queue when there is one), so that Prometheus
/// can alert when the forecast crosses the limit (deploy/prometheus).
pub async fn spending(
    state: crate::state::AppState,
    gate: Option<std::sync::Arc<sportello_gate::gate::Gate>>,
    clock: crate::auth::Clock,
    stop: impl std::future::Future<Output = ()>,
) {
    let work = async {
        let mut ticks = tokio::time::interval(SPENDING_EVERY);
        loop {
            ticks.tick().await;
            let mut waiting = 0;
            if let Some(gate) = &gate {
                for room in &gate.config().rooms {
                    if let Ok(view) = gate.status(room.id).await {
                        waiting += view.waiting;
                    }
                }
            }
            let read =
                sportello_usecases::office::dashboard::read(state.store.as_ref(), &state.decrees, waiting, clock())
                    .await;
            match read {
                Ok(figures) => {
                    for s in figures.spending {
                        let euros = |c: sportello_domain::Cents| c.get() as f64 / 100.0;
                        let scheme = s.scheme.clone();
                        metrics::gauge!("sportello_budget_limit_euros", "scheme" => scheme.clone()).set(euros(s.limit));
                        metrics::gauge!("sportello_budget_reserved_euros", "scheme" => scheme.clone())
                            .set(euros(s.reserved));
                        metrics::gauge!("sportello_budget_suspended_euros", "scheme" => scheme.clone())
                            .set(euros(s.suspended));
                        metrics::gauge!("sportello_budget_forecast_euros", "scheme" => scheme).set(euros(s.forecast));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "the spending gauges could not be read"),
            }
        }
    };
    tokio::select! {
        () = work => {}
        () = stop => {}
    }
}
