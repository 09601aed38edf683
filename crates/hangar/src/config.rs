//! Layered configuration: defaults < TOML file (`--config`) < `HANGAR_*` environment
//! variables < command-line flags.

use clap::Args;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// How logs are written.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Plain,
    Json,
}

/// The effective settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Where the SQLite database, the blob folder and the initial admin token live.
    pub data_dir: PathBuf,
    /// The address to listen on.
    pub listen: String,
    /// `sqlite://PATH` or `postgres://…`; default `<data_dir>/hangar.db`.
    pub database_url: Option<String>,
    /// `file:///abs/dir` or `s3://bucket/prefix`; default `<data_dir>/blobs`.
    pub blob_url: Option<String>,
    pub log_format: LogFormat,
    /// The URL users reach Hangar at, for links; default: the request's Host.
    pub public_url: Option<String>,
    /// Host names requests may name besides `localhost`, IP addresses and the public URL's
    /// host (a list, or one comma-separated string in the environment).
    #[serde(deserialize_with = "list_or_commas")]
    pub allowed_hosts: Vec<String>,
    /// Behind a reverse proxy: the header it writes the client's address into (e.g.
    /// `X-Forwarded-For`), for the per-client limits; default: the peer's address.
    pub client_ip_header: Option<String>,
    /// The largest file an upload may store, in bytes (default 10 GiB, GitLab's).
    pub max_file_size: u64,
    /// S3-compatible endpoint, e.g. `http://127.0.0.1:9000`; default `AWS_ENDPOINT_URL`
    /// or AWS itself. Credentials always come from the standard AWS variables.
    pub s3_endpoint: Option<String>,
    /// S3 region; default `AWS_REGION` or `us-east-1`.
    pub s3_region: Option<String>,
    /// On S3, let MLflow clients upload in parts and download through signed URLs straight to
    /// and from the bucket (they must reach the S3 endpoint); else everything streams through
    /// Hangar.
    pub s3_direct_transfers: bool,
    /// Seconds a connection has to send a request's headers, and may sit idle between
    /// requests.
    pub header_timeout_secs: u64,
    /// Connections one client address may hold open at once.
    pub max_connections_per_client: usize,
    /// Seconds the server keeps serving after SIGTERM, with `/ready` answering 503, before it
    /// stops accepting connections.
    pub drain_secs: u64,
    /// Seconds answers in flight then get before the process exits regardless.
    pub shutdown_deadline_secs: u64,
    /// Free bytes the SQLite database's and a local blob store's disks must keep for `/ready`
    /// to pass.
    pub min_free_disk_bytes: u64,
    /// Seconds one request to S3 may take, and to connect.
    pub s3_timeout_secs: u64,
    pub s3_connect_timeout_secs: u64,
    /// Seconds a failing S3 request is retried before the failure is answered.
    pub s3_retry_timeout_secs: u64,
    /// Seconds after which an interrupted upload (a local partial file, an incomplete S3
    /// multipart upload) is removed; longer than any upload takes.
    pub upload_expiry_secs: u64,
    /// Seconds between two sweeps of interrupted uploads.
    pub upload_sweep_interval_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: PathBuf::from("hangar-data"),
            listen: "127.0.0.1:8080".into(),
            database_url: None,
            blob_url: None,
            log_format: LogFormat::Plain,
            public_url: None,
            allowed_hosts: Vec::new(),
            client_ip_header: None,
            max_file_size: 10 * 1024 * 1024 * 1024,
            s3_endpoint: None,
            s3_region: None,
            s3_direct_transfers: true,
            header_timeout_secs: 30,
            max_connections_per_client: 256,
            drain_secs: 5,
            shutdown_deadline_secs: 30,
            min_free_disk_bytes: 64 * 1024 * 1024,
            s3_timeout_secs: 30,
            s3_connect_timeout_secs: 5,
            s3_retry_timeout_secs: 15,
            upload_expiry_secs: 24 * 3600,
            upload_sweep_interval_secs: 3600,
        }
    }
}

/// Flags every subcommand accepts; each overrides the file and the environment.
#[derive(Debug, Clone, Default, Args, Serialize)]
pub struct SettingsArgs {
    /// A TOML file with settings (keys as in `hangar config show`).
    #[arg(long, global = true, env = "HANGAR_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Data folder [env: HANGAR_DATA_DIR] [default: ./hangar-data]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Listen address [env: HANGAR_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// Metadata database URL, sqlite://… or postgres://… [env: HANGAR_DATABASE_URL]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// Blob store URL, file:///dir or s3://bucket/prefix [env: HANGAR_BLOB_URL]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob_url: Option<String>,
    /// Log format [env: HANGAR_LOG_FORMAT] [default: plain]
    #[arg(long, global = true, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    /// External base URL for links [env: HANGAR_PUBLIC_URL]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// Other host names clients may use, comma-separated [env: HANGAR_ALLOWED_HOSTS]
    #[arg(long, global = true, value_delimiter = ',')]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_hosts: Option<Vec<String>>,
    /// Header a reverse proxy puts the client address in [env: HANGAR_CLIENT_IP_HEADER]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip_header: Option<String>,
    /// Largest file an upload may store, in bytes [env: HANGAR_MAX_FILE_SIZE] [default: 10 GiB]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_file_size: Option<u64>,
    /// S3-compatible endpoint for an s3:// blob URL [env: HANGAR_S3_ENDPOINT]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_endpoint: Option<String>,
    /// S3 region [env: HANGAR_S3_REGION]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_region: Option<String>,
    /// true or false: MLflow's direct multipart/presigned transfers on S3 [env: HANGAR_S3_DIRECT_TRANSFERS] [default: true]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_direct_transfers: Option<bool>,
    /// Seconds to send headers / stay idle [env: HANGAR_HEADER_TIMEOUT_SECS] [default: 30]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_timeout_secs: Option<u64>,
    /// Open connections per client address [env: HANGAR_MAX_CONNECTIONS_PER_CLIENT] [default: 256]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections_per_client: Option<usize>,
    /// Seconds of serving after SIGTERM with /ready at 503 [env: HANGAR_DRAIN_SECS] [default: 5]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drain_secs: Option<u64>,
    /// Seconds answers in flight get after the drain [env: HANGAR_SHUTDOWN_DEADLINE_SECS] [default: 30]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shutdown_deadline_secs: Option<u64>,
    /// Free bytes the local disks must keep for /ready [env: HANGAR_MIN_FREE_DISK_BYTES] [default: 64 MiB]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_free_disk_bytes: Option<u64>,
    /// Seconds one S3 request may take [env: HANGAR_S3_TIMEOUT_SECS] [default: 30]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_timeout_secs: Option<u64>,
    /// Seconds to connect to S3 [env: HANGAR_S3_CONNECT_TIMEOUT_SECS] [default: 5]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_connect_timeout_secs: Option<u64>,
    /// Seconds a failing S3 request is retried [env: HANGAR_S3_RETRY_TIMEOUT_SECS] [default: 15]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_retry_timeout_secs: Option<u64>,
    /// Age in seconds at which interrupted uploads are removed [env: HANGAR_UPLOAD_EXPIRY_SECS] [default: 86400]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_expiry_secs: Option<u64>,
    /// Seconds between sweeps of interrupted uploads [env: HANGAR_UPLOAD_SWEEP_INTERVAL_SECS] [default: 3600]
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_sweep_interval_secs: Option<u64>,
}

/// A list, or (as an environment variable gives it) one comma-separated string.
fn list_or_commas<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Given::deserialize(d)? {
        Given::List(list) => list,
        Given::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

impl SettingsArgs {
    pub fn load(&self) -> anyhow::Result<Settings> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = &self.config {
            anyhow::ensure!(
                path.exists(),
                "config file {} does not exist",
                path.display()
            );
            figment = figment.merge(Toml::file(path));
        }
        let settings: Settings = figment
            .merge(Env::prefixed("HANGAR_").ignore(&["config"]))
            .merge(Serialized::defaults(self))
            .extract()?;
        Ok(settings)
    }
}

impl Settings {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("hangar.db").display()))
    }

    pub fn blob_url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.blob_url {
            return Ok(url.clone());
        }
        let dir = std::path::absolute(&self.data_dir)?.join("blobs");
        Ok(url::Url::from_file_path(&dir)
            .map_err(|_| anyhow::anyhow!("cannot make a URL of {}", dir.display()))?
            .to_string())
    }

    /// Opens the blob store these settings name.
    pub fn open_blobs(&self) -> anyhow::Result<hangar_blobs::BlobStore> {
        let s3 = hangar_blobs::S3Options {
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            direct_transfers: self.s3_direct_transfers,
            request_timeout: Duration::from_secs(self.s3_timeout_secs.max(1)),
            connect_timeout: Duration::from_secs(self.s3_connect_timeout_secs.max(1)),
            retry_timeout: Duration::from_secs(self.s3_retry_timeout_secs),
        };
        Ok(hangar_blobs::BlobStore::open(&self.blob_url()?, &s3)?)
    }

    /// The local folders whose free space `/ready` watches: the SQLite database's and a local
    /// blob store's.
    pub fn local_disks(&self) -> anyhow::Result<Vec<PathBuf>> {
        let mut disks = Vec::new();
        if let Some(path) = self.database_url().strip_prefix("sqlite://") {
            let path = std::path::Path::new(path.split('?').next().unwrap_or(path));
            disks.push(path.parent().map(PathBuf::from).unwrap_or_default());
        }
        if let Ok(url) = url::Url::parse(&self.blob_url()?)
            && let Ok(dir) = url.to_file_path()
        {
            disks.push(dir);
        }
        disks.retain(|d| !d.as_os_str().is_empty());
        Ok(disks)
    }

    pub fn transport(&self) -> hangar_server::transport::TransportOptions {
        hangar_server::transport::TransportOptions {
            header_timeout: Duration::from_secs(self.header_timeout_secs.max(1)),
            max_connections_per_client: self.max_connections_per_client.max(1),
            drain: Duration::from_secs(self.drain_secs),
            shutdown_deadline: Duration::from_secs(self.shutdown_deadline_secs),
        }
    }

    /// The settings as TOML with secrets (database password) redacted.
    pub fn show(&self) -> anyhow::Result<String> {
        let mut shown = self.clone();
        shown.database_url = Some(hangar_store::redact_url(&self.database_url()));
        shown.blob_url = Some(self.blob_url()?);
        Ok(toml::to_string_pretty(&shown)?)
    }
}
