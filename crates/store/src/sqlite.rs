//! The SQLite backend: the embedded default, a single file in WAL mode.

use crate::{Backend, SqlStore, StoreError};
use sqlx::Executor;
use sqlx::any::AnyPoolOptions;
use std::time::Duration;

/// Applied to every connection. `synchronous=FULL` makes every acknowledged commit durable;
/// `case_sensitive_like` gives MLflow's case-sensitive `LIKE` (`ILIKE` uses `lower()`).
pub(crate) const PRAGMAS: &str = "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                       PRAGMA synchronous = FULL; PRAGMA case_sensitive_like = ON;";

/// Opens (creating if missing) the database at `url` (`sqlite://PATH`).
pub async fn open(url: &str) -> Result<SqlStore, StoreError> {
    let url = with_create_mode(url);
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        // Every pooled connection would get its own empty in-memory database.
        return Err(StoreError::Config(
            "an in-memory SQLite database cannot be shared: give a file path".into(),
        ));
    }
    // No ping before each use (a round trip to sqlx's worker thread, and group commit takes
    // this connection for every commit): a local file's connection does not break in the pool.
    let writer = AnyPoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("PRAGMA journal_mode = WAL;").await?;
                conn.execute(PRAGMAS).await?;
                Ok(())
            })
        })
        .connect(&url)
        .await
        .map_err(|e| StoreError::Config(format!("cannot open SQLite database {path}: {e}")))?;
    let reader = AnyPoolOptions::new()
        .max_connections(8)
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _| Box::pin(async move { conn.execute(PRAGMAS).await.map(|_| ()) }))
        .connect(&url)
        .await
        .map_err(|e| StoreError::Config(format!("cannot open SQLite database {path}: {e}")))?;
    let inline_reader = crate::sqlite_inline::InlineReader::open(path)?;
    Ok(SqlStore {
        inline_reader: Some(std::sync::Arc::new(inline_reader)),
        backend: Backend::Sqlite,
        group_commit: Some(crate::group_commit::GroupCommit::start(
            path,
            writer.clone(),
        )?),
        reader,
        writer,
    })
}

fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}
