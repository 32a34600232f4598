//! The portal's router and its launch on a listener, with graceful shutdown.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::MatchedPath;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::{self, Auth};
use crate::config::Config;
use crate::gate::GateApp;
use crate::notify::Notifiers;
use crate::outbox::OutboxWorker;
use crate::routes::{Audience, Routes};
use crate::serve::ConnectionLimits;
use crate::shed::Shedder;
use crate::{apply, pages, security};

pub use crate::state::AppState;

/// The portal's routes with their middleware; `auth` serves the login pages.
pub fn router(state: AppState, auth: Auth) -> Router {
    routes(state, auth).into_parts().0
}

/// [`router`] together with the list of what it routes.
pub fn routes(state: AppState, auth: Auth) -> Routes {
    routes_with_gate(state, auth, None)
}

/// [`routes`], behind the admission gate when one is given: its waiting room and status page are added, and its
/// layer sends visitors without a pass to the waiting room.
pub fn routes_with_gate(state: AppState, auth: Auth, gate: Option<GateApp>) -> Routes {
    let shedder = Arc::new(Shedder::new(&state.config.shedding));
    routes_with(state, auth, gate, shedder)
}

/// [`routes_with_gate`] with the load shedder given (the node's one, which the gate's adaptive capacity reads).
pub fn routes_with(state: AppState, auth: Auth, gate: Option<GateApp>, shedder: Arc<Shedder>) -> Routes {
    let http = state.config.http.clone();
    let limits = Arc::clone(&auth.limits);
    let portal = Routes::new()
        .add(Audience::Public, "/", "GET", get(pages::home))
        .add(Audience::Public, "/accessibilita", "GET", get(pages::accessibility))
        .add(Audience::Public, "/privacy", "GET", get(pages::privacy))
        .add(Audience::Public, "/uscita", "GET", get(pages::logged_out))
        .add(Audience::Operations, "/healthz", "GET", get(healthz))
        .add(Audience::Operations, "/readyz", "GET", get(readyz))
        .merge(crate::assets::routes())
        .merge(crate::situation::routes(state.clone(), auth.clone()))
        .merge(apply::routes(state.clone(), auth.clone()))
        .merge(crate::api::routes(state.clone(), auth.clone()))
        .merge(auth::routes(state.clone(), auth));
    // The waiting room sends visitors back only to pages this table serves.
    let gate = gate.map(|gate| gate.returning_to(portal.listed()));
    // `/stato` is always there: the waiting room's when there is one, otherwise a page saying the portal is open.
    let gate_routes = gate.clone().map_or_else(
        || Routes::new().add(Audience::Public, "/stato", "GET", get(pages::open_status)),
        |gate| crate::gate::routes(gate, limits),
    );
    portal
        .merge(gate_routes)
        .map_router(|router| {
            // The last layer is the outermost: the security headers and the caching rule wrap everything, so even
            // a 413 from the body limit or a 503 from the timeout carries them, and metrics count those too.
            // The shedder sits outside the timeout (waiting for a slot is bounded on its own) and inside the gate,
            // so what reaches it holds a pass or is the waiting room's; its 503s become problems on the API.
            let router = router
                .layer(RequestBodyLimitLayer::new(http.max_body_bytes))
                .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, http.request_timeout()))
                .layer(axum::middleware::from_fn_with_state(shedder, crate::shed::guard))
                .layer(axum::middleware::from_fn(crate::api::problem::plain_errors_as_problems));
            // The gate stands in front of everything the portal does, but inside metrics and the security headers.
            let router = match gate {
                Some(gate) => router.layer(axum::middleware::from_fn_with_state(gate, crate::gate::guard)),
                None => router,
            };
            // Outside the gate, so its bare 503s get a page too; inside the language switch the page shows.
            router
                .layer(axum::middleware::from_fn(pages::plain_errors_as_pages))
                .layer(axum::middleware::from_fn(crate::viewer::scope))
                .layer(axum::middleware::from_fn(crate::i18n::remember_query))
                .layer(axum::middleware::from_fn(crate::metrics::track))
                .layer(axum::middleware::from_fn(security::headers))
                .layer(request_spans())
        })
        .with_state(state)
}

/// One tracing span per request, outermost so that every log line a request causes carries it: the method and the
/// route as the router matched it (`/domande/{protocol}`), never the path or query, which may hold a protocol number
/// or a codice fiscale; the status and the time taken are logged when the answer leaves.
fn request_spans() -> TraceLayer<HttpClassifier, MakeSpan> {
    fn span(request: &Request) -> tracing::Span {
        let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str());
        tracing::info_span!("request", method = %request.method(), route = %route)
    }
    TraceLayer::new_for_http().make_span_with(span as MakeSpan)
}

/// The request type the spans are made from.
type Request = axum::http::Request<axum::body::Body>;
/// How [`request_spans`] makes a request's span.
type MakeSpan = fn(&Request) -> tracing::Span;
/// HTTP's classifier: a 5xx answer is a failure.
type HttpClassifier = tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>;

/// Serves the portal on `listener` until `shutdown` completes, then lets requests in flight finish; the outbox
/// worker runs alongside, delivering PINs through the notifiers `[notify]` configures.
pub async fn launch(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let auth = Auth::from_config(&state.config).map_err(std::io::Error::other)?;
    launch_with(listener, state, auth, shutdown).await
}

/// The gate `[gate]` configures, if any (connecting to its Redis).
pub async fn gate_from_config(config: &Config) -> std::io::Result<Option<GateApp>> {
    match &config.gate {
        Some(section) => Ok(Some(section.build().await.map_err(std::io::Error::other)?)),
        None => Ok(None),
    }
}

/// [`launch`] with the login machinery given (tests pass cheap hashing and a clock they move).
/// Tests call it with a listener on port 0.
pub async fn launch_with(
    listener: TcpListener,
    state: AppState,
    auth: Auth,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let gate = gate_from_config(&state.config).await?;
    launch_gated(listener, state, auth, gate, shutdown).await
}

/// [`launch_with`] with the admission gate given (tests pass one whose clock and operator they hold), or none.
pub async fn launch_gated(
    listener: TcpListener,
    state: AppState,
    auth: Auth,
    gate: Option<GateApp>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Each scheme's spending limit comes from the scheme file, unless a law has raised it since.
    sportello_store::load_budgets(state.store.as_ref(), &state.decrees, auth.now())
        .await
        .map_err(std::io::Error::other)?;
    let notify = &state.config.notify;
    if notify.mailbox.is_none() && notify.smtp.is_none() && notify.webhook.is_none() {
        tracing::warn!("no [notify] mailbox, SMTP server or SMS webhook is configured: PINs cannot be delivered");
    }
    let notifiers = Notifiers::from_config(notify).map_err(std::io::Error::other)?;
    let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
    let worker = OutboxWorker::new(Arc::clone(&state.store), Arc::new(notifiers));
    let worker = tokio::spawn(async move {
        let mut stopped = worker_stopped;
        worker
            .run(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await;
    });
    let metrics = match state.config.http.metrics_listen {
        Some(address) => {
            let metrics_listener = TcpListener::bind(address).await?;
            tracing::info!(address = %metrics_listener.local_addr()?, "metrics are served on their own listener");
            let mut stopped = stop_worker.subscribe();
            Some(tokio::spawn(async move {
                axum::serve(metrics_listener, crate::metrics::router())
                    .with_graceful_shutdown(async move {
                        let _ = stopped.wait_for(|stop| *stop).await;
                    })
                    .await
            }))
        }
        None => None,
    };
    let limits = ConnectionLimits {
        max_connections: state.config.http.max_connections,
        header_read_timeout: state.config.http.header_read_timeout(),
    };
    state.config.shedding.validate().map_err(std::io::Error::other)?;
    let shedder = Arc::new(Shedder::new(&state.config.shedding));
    let watcher = gate.clone().map(|gate| {
        let shedder = Arc::clone(&shedder);
        let mut stopped = stop_worker.subscribe();
        tokio::spawn(async move {
            crate::gate::watch(gate, shedder, async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await;
        })
    });
    let router = routes_with(state, auth, gate, shedder).into_parts().0;
    let served = crate::serve::serve(listener, router, limits, async move {
        shutdown.await;
        let _ = stop_worker.send(true);
    })
    .await;
    if let Some(metrics) = metrics
        && let Ok(Err(e)) = metrics.await
    {
        tracing::error!(error = %e, "the metrics listener failed");
    }
    if let Err(e) = worker.await {
        tracing::error!(error = %e, "the outbox worker did not stop cleanly");
    }
    if let Some(watcher) = watcher
        && let Err(e) = watcher.await
    {
        tracing::error!(error = %e, "the gate's watcher did not stop cleanly");
    }
    served
}

/// `GET /healthz`: the process is alive.
async fn healthz() -> impl IntoResponse {
    "ok"
}

/// `GET /readyz`: the process can serve, i.e. its database answers.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "the database does not answer")
        }
    }
}
