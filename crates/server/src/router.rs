//! Wires every route; the handlers live with their resources under [`crate::api`].

use crate::{AppState, api, ops};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

/// JSON bodies larger than this are refused before they are parsed.
pub const JSON_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Where the MLflow surface is mounted: under a project's prefix, and at the root for the
/// workspace `X-MLFLOW-WORKSPACE` names or else project 1 (what a plain
/// `MLFLOW_TRACKING_URI=<host>` reaches); each under `api` (the client) and
/// `ajax-api` (MLflow's web UI, and tools written against it), which MLflow serves alike.
/// Both reach the same handlers, so they authenticate and authorize alike.
const MLFLOW_MOUNTS: [&str; 4] = [
    "/api/v4/projects/{project}/ml/mlflow/api",
    "/api/v4/projects/{project}/ml/mlflow/ajax-api",
    "/api",
    "/ajax-api",
];

pub fn router(state: AppState) -> Router {
    let mlflow = api::mlflow::router();
    let artifacts = api::mlflow::artifacts_router();
    let v3 = api::mlflow::v3_router();
    let mut router = Router::new();
    for mount in MLFLOW_MOUNTS {
        router = router
            .nest(&format!("{mount}/2.0/mlflow"), mlflow.clone())
            .nest(&format!("{mount}/2.0/mlflow-artifacts"), artifacts.clone())
            .nest(&format!("{mount}/3.0/mlflow"), v3.clone());
    }
    router
        .nest(
            "/api/v4/projects/{project}/packages",
            api::packages::router(),
        )
        .nest("/api/v4", api::v4::router())
        .merge(ops::router())
        .merge(crate::web::router())
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::from_fn(
            crate::unread_body::close_if_unread,
        ))
        .layer(axum::middleware::from_fn(ops::track_requests))
        // One INFO line per answered request, with status and latency, inside its span.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(ops::request_span)
                .on_request(())
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(LatencyUnit::Micros),
                ),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.lifecycle.clone(),
            crate::transport::close_while_draining,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::request_context::assign,
        ))
        .layer(axum::middleware::from_fn(crate::security_headers::add))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::host::check,
        ))
        // A panic is a bug; answer 500 rather than dropping the connection.
        .layer(CatchPanicLayer::new())
        .with_state(state)
}
