//! Starting the portal: binding its listener and serving it until Ctrl-C or SIGTERM. `serve` and `demo` both start
//! it this way.

use anyhow::Context;
use sportello_domain::law::Decrees;
use sportello_store::Store;

/// Binds the portal's listener.
pub async fn bind(config: &sportello_web::config::Config) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.http.listen))
}

/// Serves the portal on `listener` until Ctrl-C or SIGTERM.
pub async fn run_portal(
    listener: tokio::net::TcpListener,
    store: std::sync::Arc<dyn Store>,
    decrees: Decrees,
    config: sportello_web::config::Config,
) -> anyhow::Result<()> {
    let state = sportello_web::state::AppState {
        store,
        decrees: std::sync::Arc::new(decrees),
        config: std::sync::Arc::new(config),
    };
    sportello_web::server::Server::new(state).build().await?.launch(listener, shutdown_signal()).await?;
    eprintln!("Sportello stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM, so that requests in flight finish before the process ends.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
