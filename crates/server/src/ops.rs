//! Operational endpoints (`/health`, `/ready`, `/metrics`), request metrics and spans.

use crate::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::time::Instant;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(render_metrics))
        .route("/version", get(version))
}

/// The process is up.
async fn health() -> &'static str {
    "OK"
}

/// How long `/ready` waits for the blob store (a load balancer's probe has a deadline too).
const BLOB_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The process can serve: it is not shutting down, the database and the blob store answer,
/// and the local disks have room.
async fn ready(State(state): State<AppState>) -> Response {
    if state.lifecycle.draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    if let Err(e) = state.blobs.check(BLOB_CHECK_TIMEOUT).await {
        tracing::warn!(error = %e, "readiness check: blob store");
        return (StatusCode::SERVICE_UNAVAILABLE, "blob store unavailable").into_response();
    }
    for dir in state.disks.iter() {
        match free_bytes(dir) {
            Ok(free) if free < state.min_free_disk_bytes => {
                tracing::warn!(dir = %dir.display(), free, "readiness: disk nearly full");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("insufficient storage: {free} bytes free"),
                )
                    .into_response();
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "cannot read free space"),
        }
    }
    match state.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Bytes an unprivileged process may still write under `dir`.
fn free_bytes(dir: &std::path::Path) -> std::io::Result<u64> {
    let stat = rustix::fs::statvfs(dir)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

async fn render_metrics(State(state): State<AppState>) -> Response {
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// MLflow's `/version`: the client reads it for tracing only.
async fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Counts requests and their latency by route and status.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let start = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("hangar_http_requests_total", &labels).increment(1);
    metrics::histogram!("hangar_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    response
}

/// The span every request's logs carry: method, matched route and URI.
pub fn request_span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("unmatched");
    let id = request
        .headers()
        .get(crate::request_context::HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        http.method = %request.method(),
        http.route = route,
        http.uri = %request.uri().path(),
        request_id = id,
    )
}
