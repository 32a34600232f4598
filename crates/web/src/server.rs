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
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::{self, Auth, Clock};
use crate::gate::GateApp;
use crate::notify::Notifiers;
use crate::outbox::OutboxWorker;
use crate::routes::{Audience, Listed, Routes};
use crate::serve::ConnectionLimits;
use crate::shed::Shedder;
use crate::{apply, pages, security};

pub use crate::state::AppState;

/// The portal, put together once, whoever starts it (`sportello serve`, `sportello demo`, the tests): its state, its
/// login machinery, its admission gate, its load shedder and its one clock. Build it, then [`Portal::launch`] it on
/// a listener, or take its [`Portal::router`] to serve in process.
///
/// ```no_run
/// # async fn run(state: sportello_web::state::AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
/// let portal = sportello_web::server::Server::new(state).build().await?;
/// portal.launch(listener, std::future::pending()).await
/// # }
/// ```
#[must_use]
pub struct Server {
    state: AppState,
    auth: Option<Auth>,
    gate: Option<Option<GateApp>>,
    clock: Option<Clock>,
}

impl Server {
    /// A portal over `state`, with the login machinery, gate and clock its configuration gives.
    pub fn new(state: AppState) -> Self {
        Self { state, auth: None, gate: None, clock: None }
    }

    /// Logins hashed, signed and timed by `auth` (tests pass cheap hashing and a clock they move) instead of the
    /// configured ones. Its clock becomes the portal's unless [`Server::clock`] names another.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// This admission gate in front (or none), instead of the one `[gate]` configures.
    pub fn gate(mut self, gate: Option<GateApp>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// Reads the time from `clock`: sessions, logins, the outbox worker and a gate built from the configuration.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Checks the configuration, builds what was not given (the login machinery, the gate, connecting to its
    /// Redis) and assembles the routes.
    pub async fn build(self) -> std::io::Result<Portal> {
        let Server { state, auth, gate, clock } = self;
        let mut auth = match auth {
            Some(auth) => auth,
            None => Auth::from_config(&state.config).map_err(std::io::Error::other)?,
        };
        let clock = clock.unwrap_or_else(|| Arc::clone(&auth.clock));
        auth.clock = Arc::clone(&clock);
        let gate = match gate {
            Some(gate) => gate,
            None => match &state.config.gate {
                Some(section) => Some(section.build_with(Arc::clone(&clock)).await.map_err(std::io::Error::other)?),
                None => None,
            },
        };
        state.config.shedding.validate().map_err(std::io::Error::other)?;
        let shedder = Arc::new(Shedder::new(&state.config.shedding));
        let routes = routes(state.clone(), auth.clone(), gate.clone(), Arc::clone(&shedder));
        Ok(Portal { state, auth, gate, shedder, clock, routes })
    }
}

/// The portal as [`Server::build`] assembled it, ready to serve.
pub struct Portal {
    state: AppState,
    auth: Auth,
    gate: Option<GateApp>,
    shedder: Arc<Shedder>,
    clock: Clock,
    routes: Routes,
}

impl std::fmt::Debug for Portal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portal").field("routes", &self.routes.listed().len()).finish_non_exhaustive()
    }
}

impl Portal {
    /// Every route the portal serves, with its audience.
    pub fn listed(&self) -> &[Listed] {
        self.routes.listed()
    }

    /// The routes with their middleware, to serve in process (no outbox worker, no gate watcher, no metrics
    /// listener: [`Portal::launch`] runs those).
    pub fn router(&self) -> Router {
        routes(self.state.clone(), self.auth.clone(), self.gate.clone(), Arc::clone(&self.shedder)).into_parts().0
    }

    /// Serves the portal on `listener` until `shutdown` completes, then lets requests in flight finish. Alongside
    /// run the outbox worker (delivering PINs and receipts through the notifiers `[notify]` configures), the
    /// metrics listener when `http.metrics_listen` is set, and the gate's watcher when there is a gate.
    pub async fn launch(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Portal { state, auth: _, gate, shedder, clock, routes } = self;
        launch(listener, state, gate, shedder, clock, routes, shutdown).await
    }
}

/// The portal's routes with their middleware, behind the admission gate when there is one (its waiting room and
/// status page are added, and its layer sends visitors without a pass to the waiting room), with the node's load
/// shedder (which the gate's adaptive capacity reads).
fn routes(state: AppState, auth: Auth, gate: Option<GateApp>, shedder: Arc<Shedder>) -> Routes {
    let http = state.config.http.clone();
    let limits = Arc::clone(&auth.limits);
    let throughput = crate::throughput::Throughput::new(Arc::clone(&state.store), Arc::clone(&auth.clock));
    let portal = Routes::new()
        .add(Audience::Public, "/", "GET", get(pages::home))
        .add(Audience::Public, "/accessibilita", "GET", get(pages::accessibility))
        .add(Audience::Public, "/privacy", "GET", get(pages::privacy))
        .add(Audience::Public, "/uscita", "GET", get(pages::logged_out))
        .add(Audience::Operations, "/healthz", "GET", get(healthz))
        .add(Audience::Operations, "/readyz", "GET", get(readyz))
        .merge(crate::assets::routes())
        .merge(crate::situation::routes(state.clone(), auth.clone()))
        .merge(crate::mandates::routes(state.clone(), auth.clone()))
        .merge(apply::routes(state.clone(), auth.clone()))
        .merge(crate::api::routes(state.clone(), auth.clone()))
        .merge(crate::office::routes(state.clone(), auth.clone(), gate.as_ref().map(|g| Arc::clone(&g.gate))))
        .merge(crate::intermediaries::routes(state.clone(), auth.clone()))
        .merge(auth::routes(state.clone(), auth));
    // The waiting room sends visitors back only to pages this table serves.
    let gate = gate.map(|gate| gate.returning_to(portal.listed()).counting(throughput.clone()));
    // `/stato` is always there: the waiting room's when there is one, otherwise a page saying the portal is open.
    let gate_routes = gate.clone().map_or_else(
        || Routes::new().add(Audience::Public, "/stato", "GET", get(pages::open_status)).with_state(throughput),
        |gate| crate::gate::routes(gate, Arc::clone(&limits)),
    );
    let reminder_routes = match gate.clone().filter(|g| g.reminders.is_some()) {
        Some(gate) => crate::reminders::routes(gate, Arc::clone(&state.store), Arc::clone(&limits)),
        None => Routes::new(),
    };
    portal
        .merge(gate_routes)
        .merge(reminder_routes)
        .map_router(|router| {
            // The last layer is the outermost: the security headers and the caching rule wrap everything, so even
            // a 413 from the body limit or a 503 from the timeout carries them, and metrics count those too.
            // The shedder sits outside the timeout (waiting for a slot is bounded on its own) and inside the gate,
            // so what reaches it holds a pass or is the waiting room's; its 503s become problems on the API.
            let router = router
                .layer(axum::middleware::from_fn_with_state(
                    crate::body_limit::BodyLimit(http.max_body_bytes),
                    crate::body_limit::limit,
                ))
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

/// Runs the built portal: loads the spending limits, starts the outbox worker, the metrics listener and the gate's
/// watcher, serves until `shutdown`, then stops them in turn.
async fn launch(
    listener: TcpListener,
    state: AppState,
    gate: Option<GateApp>,
    shedder: Arc<Shedder>,
    clock: Clock,
    routes: Routes,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Each scheme's spending limit comes from the scheme file, unless a law has raised it since.
    sportello_store::load_budgets(state.store.as_ref(), &state.decrees, clock())
        .await
        .map_err(std::io::Error::other)?;
    let notify = &state.config.notify;
    if notify.mailbox.is_none() && notify.smtp.is_none() && notify.webhook.is_none() {
        tracing::warn!("no [notify] mailbox, SMTP server or SMS webhook is configured: PINs cannot be delivered");
    }
    let notifiers = Notifiers::from_config(notify).map_err(std::io::Error::other)?;
    let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
    let worker = OutboxWorker::new(Arc::clone(&state.store), Arc::new(notifiers)).with_clock({
        let clock = Arc::clone(&clock);
        move || clock()
    });
    let worker = tokio::spawn(async move {
        let mut stopped = worker_stopped;
        worker
            .run(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await;
    });
    let spending = state.config.http.metrics_listen.map(|_| {
        let mut stopped = stop_worker.subscribe();
        tokio::spawn(crate::metrics::spending(
            state.clone(),
            gate.as_ref().map(|g| Arc::clone(&g.gate)),
            Arc::clone(&clock),
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            },
        ))
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
    let reminders = gate.clone().filter(|g| g.reminders.is_some()).map(|gate| {
        let mut stopped = stop_worker.subscribe();
        tokio::spawn(crate::reminders::run(gate, Arc::clone(&state.store), async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }))
    });
    let retention = tokio::spawn(crate::office::retention::schedule(
        Arc::clone(&state.store),
        state.config.retention.clone(),
        state.config.session.idle_timeout(),
        Arc::clone(&clock),
        {
            let mut stopped = stop_worker.subscribe();
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }
        },
    ));
    let router = routes.into_parts().0;
    // The CNS listener serves the same routes, over TLS asking for a client certificate: only there is one asked for.
    let cards = match &state.config.cns {
        Some(section) => {
            let tls = section.tls().map_err(std::io::Error::other)?;
            let cards = TcpListener::bind(section.listen).await?;
            tracing::info!(address = %cards.local_addr()?, "CNS logins are served on their own listener");
            let mut stopped = stop_worker.subscribe();
            let acceptor = tokio_rustls::TlsAcceptor::from(tls);
            Some(tokio::spawn(crate::serve::serve_with(cards, router.clone(), limits, Some(acceptor), async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })))
        }
        None => None,
    };
    let served = crate::serve::serve(listener, router, limits, async move {
        shutdown.await;
        let _ = stop_worker.send(true);
    })
    .await;
    if let Some(cards) = cards
        && let Ok(Err(e)) = cards.await
    {
        tracing::error!(error = %e, "the CNS listener failed");
    }
    if let Some(metrics) = metrics
        && let Ok(Err(e)) = metrics.await
    {
        tracing::error!(error = %e, "the metrics listener failed");
    }
    if let Some(spending) = spending
        && let Err(e) = spending.await
    {
        tracing::error!(error = %e, "the spending gauges did not stop cleanly");
    }
    if let Some(reminders) = reminders
        && let Err(e) = reminders.await
    {
        tracing::error!(error = %e, "the waiting room's reminders did not stop cleanly");
    }
    if let Err(e) = retention.await {
        tracing::error!(error = %e, "the retention schedule did not stop cleanly");
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
