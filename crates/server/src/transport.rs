//! The HTTP connections: accepting them, their limits, and stopping without dropping a
//! request.
//!
//! - A connection must send a request's headers within `header_timeout`; the same timer runs
//!   while a kept-alive connection waits for its next request, so idle and slow-loris
//!   connections are closed.
//! - One client address holds at most `max_connections_per_client` connections at once;
//!   more are closed as soon as they are accepted.
//! - On shutdown, [`Lifecycle::draining`] turns `/ready` to 503 at once and every answer says
//!   `Connection: close`, while the server keeps accepting and serving for `drain` (for a
//!   load balancer to stop sending). Then it stops accepting and lets each connection finish
//!   the answer it is writing, for at most `shutdown_deadline`. Closing kept-alive
//!   connections at the moment of the signal, as a plain graceful shutdown does, drops the
//!   requests clients were sending on them just then: the client sees no answer to a POST
//!   and cannot know whether to retry it.

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How connections are limited and how the server stops.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    pub header_timeout: Duration,
    pub max_connections_per_client: usize,
    pub drain: Duration,
    pub shutdown_deadline: Duration,
}

/// Whether the process is on its way out; shared by `/ready` and the connection loop.
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: AtomicBool,
}

impl Lifecycle {
    pub fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }
}

/// While draining, each answer closes its connection, so clients move to new ones (on other
/// replicas, once the load balancer has seen `/ready` fail) between requests, never during.
pub async fn close_while_draining(
    axum::extract::State(lifecycle): axum::extract::State<Arc<Lifecycle>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if lifecycle.draining() {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Open connections per client address.
#[derive(Default)]
struct PerClient {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// A connection counted against its client; uncounted when dropped.
struct Counted {
    clients: Arc<PerClient>,
    ip: IpAddr,
}

impl PerClient {
    fn admit(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<Counted> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_insert(0);
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(Counted {
            clients: self.clone(),
            ip,
        })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut open = self.clients.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Serves `app` on `listener` until `signal` resolves, then drains and stops (see the module
/// documentation). Handlers see the client's address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    options: TransportOptions,
    lifecycle: Arc<Lifecycle>,
    signal: impl Future<Output = ()>,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(options.header_timeout))
        .keep_alive_timeout(options.header_timeout);
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let clients = Arc::new(PerClient::default());

    let accepting = async {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Some(counted) = clients.admit(peer.ip(), options.max_connections_per_client) else {
                tracing::warn!(client = %peer.ip(), "too many connections from one client; closing");
                drop(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            let app = app.clone();
            let service = TowerToHyperService::new(app.map_request(
                move |mut request: Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request.map(axum::body::Body::new)
                },
            ));
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                let _counted = counted;
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, client = %peer, "connection ended with an error");
                }
            });
        }
    };

    tokio::select! {
        () = accepting => {}
        () = async {
            signal.await;
            lifecycle.start_draining();
            tracing::info!(drain = ?options.drain, "shutting down: draining (/ready answers 503)");
            tokio::time::sleep(options.drain).await;
        } => {}
    }
    drop(listener);
    tracing::info!(
        connections = graceful.count(),
        "no longer accepting; finishing answers in flight"
    );
    if tokio::time::timeout(options.shutdown_deadline, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutdown deadline passed; closing the remaining connections");
    }
}

#[cfg(test)]
mod tests {
    use super::PerClient;
    use std::sync::Arc;

    #[test]
    fn a_client_holds_at_most_its_cap_and_gets_slots_back() {
        let clients = Arc::new(PerClient::default());
        let ip = "10.0.0.1".parse().unwrap();
        let other = "10.0.0.2".parse().unwrap();
        let first = clients.admit(ip, 2).unwrap();
        let _second = clients.admit(ip, 2).unwrap();
        assert!(clients.admit(ip, 2).is_none());
        assert!(clients.admit(other, 2).is_some());
        drop(first);
        assert!(clients.admit(ip, 2).is_some());
    }
}
