//! Accepting connections: the part of a surge that arrives before any request does.
//!
//! `axum::serve` neither bounds the number of open connections nor lets the header read timeout be chosen, so the
//! portal runs its own accept loop on hyper: at most `max_connections` at once (the rest wait in the kernel's
//! backlog, costing the process nothing), a connection that does not deliver a whole request head within
//! `header_read_timeout` is closed, and on shutdown the listener closes at once while requests in flight finish.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::auth::cns::PeerCertificate;

/// How the accept loop treats connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// Longest wait for a whole request head.
    pub header_read_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown` completes, then waits for the connections in flight to finish
/// their current requests. Each request carries the peer's address as [`ConnectInfo<SocketAddr>`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, router, limits, None, shutdown).await
}

/// [`serve`], over TLS with `tls` when given: each request of a connection whose client authenticated with a
/// certificate carries it as [`PeerCertificate`] (the CNS listener). A handshake that does not complete within the
/// header read timeout, or that the TLS layer refuses (a certificate from another CA, expired…), closes the
/// connection.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new()).keep_alive_interval(Some(Duration::from_secs(30)));
    let builder = Arc::new(builder);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => permit.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors or a connection reset before accept: not a reason to stop serving.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let builder = Arc::clone(&builder);
        let watcher = graceful.watcher();
        let header_read_timeout = limits.header_read_timeout;
        let tls = tls.clone();
        tokio::spawn(async move {
            // hyper's header timer starts with the first byte: a connection that never sends one is cut here.
            let mut first = [0u8; 1];
            if !matches!(tokio::time::timeout(header_read_timeout, stream.peek(&mut first)).await, Ok(Ok(1))) {
                drop(permit);
                return;
            }
            let outcome = match tls {
                None => {
                    let service = service(router, peer, None);
                    watcher.watch(builder.serve_connection_with_upgrades(TokioIo::new(stream), service)).await
                }
                Some(acceptor) => match tokio::time::timeout(header_read_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => {
                        let certificate =
                            stream.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec());
                        let service = service(router, peer, certificate.map(PeerCertificate));
                        watcher.watch(builder.serve_connection_with_upgrades(TokioIo::new(stream), service)).await
                    }
                    Ok(Err(e)) => {
                        tracing::info!(error = %e, "TLS handshake refused");
                        Ok(())
                    }
                    Err(_) => Ok(()),
                },
            };
            if let Err(e) = outcome {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The router as hyper's service for one connection: each request carries the peer's address, and the client's
/// certificate when it gave one.
fn service(
    router: Router,
    peer: SocketAddr,
    certificate: Option<PeerCertificate>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = axum::response::Response,
    Error = Infallible,
    Future: Send + 'static,
> + Clone
+ Send
+ 'static {
    hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
        if let Some(certificate) = &certificate {
            request.extensions_mut().insert(certificate.clone());
        }
        let router = router.clone();
        async move {
            let Ok(response) = router.oneshot(request.map(axum::body::Body::new)).await;
            Ok::<_, Infallible>(response)
        }
    })
}
