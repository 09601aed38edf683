//! `hangar serve`: open the stores, bootstrap a fresh install, serve until SIGTERM.

use crate::config::{LogFormat, Settings};
use anyhow::Context;
use hangar_core::access::{RegistryAccess, Visibility};
use hangar_store::model::{NewProject, NewToken, NewUser};
use hangar_store::{SqlStore, Store, StoreError};
use std::io::Write;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

pub fn init_logging(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Plain => builder.try_init(),
    };
}

/// Opens the configured database (creating the data folder for SQLite) and migrates it.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Arc<SqlStore>> {
    let url = settings.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&settings.data_dir).with_context(|| {
            format!("cannot create data folder {}", settings.data_dir.display())
        })?;
    }
    Ok(hangar_store::open(&url).await?)
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    init_logging(settings.log_format);
    let store = open_store(&settings).await?;
    bootstrap(&settings, store.as_ref()).await?;
    let blobs = settings.open_blobs()?;
    let state = hangar_server::AppState {
        store: store.clone(),
        blobs,
        metrics: hangar_server::metrics_handle(),
        public_url: settings.public_url.clone(),
        allowed_hosts: settings.allowed_hosts.clone().into(),
        lifecycle: Default::default(),
        throttles: Default::default(),
        client_ip_header: settings.client_ip_header.clone(),
        disks: settings.local_disks()?.into(),
        min_free_disk_bytes: settings.min_free_disk_bytes,
        max_file_size: settings.max_file_size,
    };
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    tracing::info!(
        listen = %listener.local_addr()?,
        database = %hangar_store::redact_url(&settings.database_url()),
        "Hangar is serving; MLFLOW_TRACKING_URI=http://{}",
        listener.local_addr()?
    );
    hangar_server::gc::spawn_upload_janitor(
        state.blobs.clone(),
        std::time::Duration::from_secs(settings.upload_expiry_secs),
        std::time::Duration::from_secs(settings.upload_sweep_interval_secs.max(1)),
    );
    let lifecycle = state.lifecycle.clone();
    hangar_server::transport::serve(
        listener,
        hangar_server::router(state),
        settings.transport(),
        lifecycle,
        shutdown_signal(),
    )
    .await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// On a fresh install: the `admin` user, the default project (id 1) and an admin token,
/// printed once and written to `<data-dir>/initial-admin-token` (mode 0600).
async fn bootstrap(settings: &Settings, store: &dyn Store) -> anyhow::Result<()> {
    if store.count_users().await? > 0 {
        return Ok(());
    }
    let admin = match store
        .create_user(NewUser {
            username: "admin".into(),
            name: "Administrator".into(),
            email: None,
            password_hash: None,
            is_admin: true,
        })
        .await
    {
        Ok(user) => user,
        // Another replica bootstrapped the shared database first.
        Err(StoreError::Conflict(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    store
        .create_project(NewProject {
            namespace: "admin".into(),
            path: "default".into(),
            name: "default".into(),
            description: "The default project, which MLFLOW_TRACKING_URI=<hangar URL> reaches"
                .into(),
            visibility: Visibility::Private,
            registry_access: RegistryAccess::Enabled,
            ci_base_url: None,
            owner_id: Some(admin.id),
            workspace: None,
        })
        .await?;
    let secret = hangar_core::token::generate();
    store
        .create_personal_token(
            admin.id,
            NewToken {
                name: "initial admin token".into(),
                scope: hangar_core::access::Scope::Api,
                expires_at: None,
                token_hash: hangar_core::token::hash(&secret),
            },
        )
        .await?;
    std::fs::create_dir_all(&settings.data_dir)?;
    let path = settings.data_dir.join("initial-admin-token");
    write_private(&path, &format!("{secret}\n"))
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("Created user 'admin' and project 1 (admin/default).");
    println!(
        "Initial admin token (shown once, also in {}):",
        path.display()
    );
    println!("{secret}");
    Ok(())
}

fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}
