//! Hangar's HTTP server: the MLflow surface, the GitLab-shaped JSON API and the operational
//! endpoints, over one [`AppState`].

#![forbid(unsafe_code)]

pub mod api;
pub mod audit;
pub mod auth;
pub mod files;
pub mod gc;
pub mod host;
pub mod ops;
pub mod projects;
mod request_context;
mod router;
mod security_headers;
pub mod throttle;
pub mod transport;
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
    /// links; when unset they are built from the request's `Host` (see [`host`]).
    pub public_url: Option<String>,
    /// Host names besides `localhost`, IP addresses and the public URL's host that requests
    /// may name in `Host`.
    pub allowed_hosts: Arc<[String]>,
    /// Whether the process is shutting down (`/ready` then answers 503).
    pub lifecycle: Arc<transport::Lifecycle>,
    /// The limits on guessing passwords and tokens (this replica's counts).
    pub throttles: Arc<throttle::Throttles>,
    /// The header a reverse proxy puts the client's address in (`X-Forwarded-For`); when
    /// unset the peer's address is the client's.
    pub client_ip_header: Option<String>,
    /// Local folders that must keep free space (the SQLite database's, a local blob store's),
    /// and how much: below it `/ready` fails.
    pub disks: Arc<[std::path::PathBuf]>,
    pub min_free_disk_bytes: u64,
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
