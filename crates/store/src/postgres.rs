//! The PostgreSQL backend, for running several stateless replicas over one database.

use crate::{Backend, SqlStore, StoreError};
use sqlx::any::AnyPoolOptions;
use std::time::Duration;

/// Connects to `url` (`postgres://…`). One pool serves reads and writes: PostgreSQL takes
/// concurrent writers itself.
pub async fn open(url: &str) -> Result<SqlStore, StoreError> {
    let pool = AnyPoolOptions::new()
        .max_connections(16)
        // sqlx pings a connection when it is returned to the pool; a second ping when it is
        // taken again made every query three round trips instead of two. A connection that
        // broke in between fails its next query and is then dropped by the pool.
        .test_before_acquire(false)
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
