//! Hangar's HTTP server: the MLflow surface, the GitLab-shaped JSON API and the operational
//! endpoints, over one [`AppState`].

#![forbid(unsafe_code)]

pub mod api;
pub mod audit;
pub mod auth;
pub mod files;
pub mod gc;
pub mod ops;
pub mod projects;
mod router;
mod unread_body;
pub mod web;

use hangar_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

pub use router::router;

/// What every handler can reach. Cheap to clone; holds no per-replica state that another
/// replica would need.
#[derive(Clone)]
pub struct AppState {
    /// The metadata store (SQLite or PostgreSQL).
    pub store: Arc<dyn Store>,
    /// The blob store for files (artifacts and packages).
    pub blobs: hangar_blobs::BlobStore,
    /// The largest file an upload may store, in bytes (checked on the bytes received).
    pub max_file_size: u64,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// The external base URL (`https://hangar.example.com`) for `web_url` and pagination
    /// links; when unset they are built from the request's `Host`.
    pub public_url: Option<String>,
}

/// Installs the Prometheus recorder once per process and returns its handle.
pub fn metrics_handle() -> PrometheusHandle {
    use std::sync::OnceLock;
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (tests); the handle still renders ours.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}
