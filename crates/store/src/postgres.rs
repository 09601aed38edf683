//! The PostgreSQL backend, for running several stateless replicas over one database.

use crate::{Backend, SqlStore, StoreError};
use sqlx::any::AnyPoolOptions;
use std::time::Duration;

/// Connects to `url` (`postgres://…`). One pool serves reads and writes: PostgreSQL takes
/// concurrent writers itself.
pub async fn open(url: &str) -> Result<SqlStore, StoreError> {
    let pool = AnyPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await
        .map_err(|e| {
            StoreError::Config(format!(
                "cannot connect to PostgreSQL at {}: {e}",
                crate::redact_url(url)
            ))
        })?;
    Ok(SqlStore {
        inline_reader: None,
        backend: Backend::Postgres,
        reader: pool.clone(),
        writer: pool,
        group_commit: None,
    })
}
