//! Hangar's metadata store.
//!
//! One interface, the [`Store`] trait (split by resource into [`repo`] traits), and two
//! backends: SQLite (the embedded default, WAL mode) and PostgreSQL. Both run the same SQL:
//! through sqlx's `Any` driver, except on SQLite the hot reads ([`sqlite_inline`]) and the
//! group-committed writes ([`group_commit`]), which run with `rusqlite`; a write is written
//! once, against [`write_conn::WriteConn`]. What differs per backend — connection set-up,
//! pooling, migrations — lives in [`sqlite`] and [`postgres`]. Handlers never hold a
//! transaction: each repo method that changes several rows runs its own.

mod audit_events;
mod error;
mod experiments;
mod files;
mod group_commit;
mod logged_models;
mod members;
mod migrations;
pub mod model;
mod model_versions;
mod model_versions_search;
mod packages;
pub mod postgres;
mod projects;
mod registered_models;
pub mod repo;
mod runs;
mod runs_search;
mod sessions;
mod sql;
pub mod sqlite;
mod sqlite_inline;
mod tokens;
mod users;
mod write_conn;

use sqlx::AnyPool;
use std::sync::Arc;

pub use error::StoreError;
pub use repo::*;

/// Which database a [`SqlStore`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The SQL implementation of [`Store`].
///
/// Reads go to `reader`. Writes go to `writer`: on PostgreSQL the same pool; on SQLite a
/// single connection, because SQLite allows one writer at a time and a queue in the process
/// is cheaper and fairer than `SQLITE_BUSY` retries. SQLite's group-committed writes run on
/// a `rusqlite` connection of their own, holding `writer`'s connection while they commit so
/// that the two still take turns.
#[derive(Clone)]
pub struct SqlStore {
    backend: Backend,
    reader: AnyPool,
    writer: AnyPool,
    /// SQLite only: the queue that shares one commit among concurrent hot-path writes.
    group_commit: Option<group_commit::GroupCommit>,
    /// SQLite only: `read_all`'s reads, with `rusqlite` on the caller's thread (see
    /// [`sqlite_inline`]).
    inline_reader: Option<Arc<sqlite_inline::InlineReader>>,
}

impl SqlStore {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Every row of a read, mapped as it is read. On SQLite it runs on the caller's thread
    /// (see [`sqlite_inline`]); a read of many rows (`bulk`: a history, a search) first hands
    /// the thread's other tasks to another worker, so that it holds up none of them.
    pub(crate) async fn read_all<T>(
        &self,
        sql: &sql::Sql,
        bulk: bool,
        map: impl Fn(&dyn sql::Cols) -> Result<T, sqlx::Error>,
    ) -> Result<Vec<T>, StoreError> {
        use futures_util::TryStreamExt;
        if let Some(inline) = &self.inline_reader {
            return if bulk {
                blocking(|| inline.read_all(sql, &map))
            } else {
                inline.read_all(sql, &map)
            };
        }
        let mut out = Vec::new();
        let mut rows = sql.build().fetch(&self.reader);
        while let Some(row) = rows.try_next().await? {
            out.push(map(&row)?);
        }
        Ok(out)
    }

    /// Applies this backend's pending migrations.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrations::run(self.backend, &self.writer).await
    }

    /// Runs a write as one atomic unit: on SQLite through group commit, on PostgreSQL in
    /// a transaction of its own (PostgreSQL already shares WAL flushes among concurrent
    /// commits).
    pub(crate) async fn write(&self, job: group_commit::Job) -> Result<(), StoreError> {
        match &self.group_commit {
            Some(queue) => queue.run(job).await,
            None => {
                let mut tx = self.writer.begin().await?;
                job(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    }

    /// Like [`SqlStore::write`], for a write that returns something.
    pub(crate) async fn write_returning<T, F>(&self, write: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(
                &'c mut dyn write_conn::WriteConn,
            ) -> std::pin::Pin<
                Box<dyn std::future::Future<Output = Result<T, StoreError>> + Send + 'c>,
            > + Send
            + 'static,
    {
        let slot = std::sync::Arc::new(std::sync::Mutex::new(None));
        let filled = slot.clone();
        self.write(Box::new(move |conn| {
            Box::pin(async move {
                let value = write(conn).await?;
                *filled.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
                Ok(())
            })
        }))
        .await?;
        let value = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        value.ok_or_else(|| StoreError::Config("a committed write returned nothing".into()))
    }

    /// One statement as an atomic write of its own, through [`SqlStore::write`] (so on SQLite
    /// it shares a commit rather than waiting for the writer connection); the rows it changed.
    pub(crate) async fn execute(&self, sql: sql::Sql) -> Result<u64, StoreError> {
        if self.group_commit.is_none() {
            // One statement is atomic by itself: no BEGIN and COMMIT round trips.
            return Ok(sql.build().execute(&self.writer).await?.rows_affected());
        }
        self.write_returning(move |conn| Box::pin(async move { conn.execute(&sql).await }))
            .await
    }

    /// Closes every connection (on shutdown, so SQLite checkpoints its WAL).
    pub async fn close(&self) {
        if let Some(queue) = &self.group_commit {
            queue.close().await;
        }
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// Runs a long synchronous call: on the multi-thread runtime the worker first hands its other
/// tasks to another thread (`block_in_place`); elsewhere (a test's runtime) it just runs.
fn blocking<R>(call: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(call),
        _ => call(),
    }
}

/// Opens the store named by `url` (`sqlite://…` or `postgres://…`) and migrates it.
pub async fn open(url: &str) -> Result<Arc<SqlStore>, StoreError> {
    let store = open_unmigrated(url).await?;
    store.migrate().await?;
    Ok(Arc::new(store))
}

/// Opens the store named by `url` without touching its schema.
pub async fn open_unmigrated(url: &str) -> Result<SqlStore, StoreError> {
    sqlx::any::install_default_drivers();
    if url.starts_with("sqlite:") {
        sqlite::open(url).await
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        postgres::open(url).await
    } else {
        Err(StoreError::Config(format!(
            "unsupported database URL '{}': use sqlite://PATH or postgres://…",
            redact_url(url)
        )))
    }
}

/// The URL with any password replaced by `***`, for logs and `hangar config show`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[async_trait::async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }
}
