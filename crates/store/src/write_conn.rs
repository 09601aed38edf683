//! The connection a write runs on, whichever backend: sqlx's `AnyConnection` on PostgreSQL
//! (and for SQLite's colder writes), `rusqlite`'s connection on SQLite's writer thread.
//!
//! The hot writes (runs, metrics, versions, files) go through group commit on SQLite. With
//! sqlx every one of their statements was a round trip to sqlx's SQLite worker thread, and
//! those thread switches, not SQLite, bounded creates and log-batches at 8 clients; written
//! against this trait, the same code runs with `rusqlite` directly on the writer thread.

use crate::sql::{Cols, Sql};
use crate::{Backend, StoreError};
use async_trait::async_trait;
use sqlx::AnyConnection;

/// What receives a statement's rows, one at a time.
pub(crate) type RowSink<'s> =
    dyn for<'r> FnMut(&'r (dyn Cols + 'r)) -> Result<(), StoreError> + Send + 's;

/// What a write needs of its connection.
#[async_trait]
pub(crate) trait WriteConn: Send {
    fn backend(&self) -> Backend;

    /// Runs a statement that returns no rows; the number of rows it changed.
    async fn execute(&mut self, sql: &Sql) -> Result<u64, StoreError>;

    /// Runs a statement and hands each of its rows to `each`, in order.
    async fn each_row(&mut self, sql: &Sql, each: &mut RowSink<'_>) -> Result<(), StoreError>;
}

impl dyn WriteConn + '_ {
    /// A statement with this connection's placeholders (see [`Sql::for_backend`]).
    pub(crate) fn sql(&self, text: &str) -> Sql {
        Sql::for_backend(self.backend(), text)
    }

    /// Every row of `sql`, mapped.
    pub(crate) async fn fetch_all<T: Send>(
        &mut self,
        sql: &Sql,
        map: impl Fn(&dyn Cols) -> Result<T, sqlx::Error> + Send + Sync,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        self.each_row(sql, &mut |row| {
            out.push(map(row)?);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// The first row of `sql`, mapped, if there is one.
    pub(crate) async fn fetch_optional<T: Send>(
        &mut self,
        sql: &Sql,
        map: impl Fn(&dyn Cols) -> Result<T, sqlx::Error> + Send + Sync,
    ) -> Result<Option<T>, StoreError> {
        let mut first = None;
        self.each_row(sql, &mut |row| {
            if first.is_none() {
                first = Some(map(row)?);
            }
            Ok(())
        })
        .await?;
        Ok(first)
    }

    /// The first row of `sql`, mapped; [`StoreError::NotFound`] without one.
    pub(crate) async fn fetch_one<T: Send>(
        &mut self,
        sql: &Sql,
        map: impl Fn(&dyn Cols) -> Result<T, sqlx::Error> + Send + Sync,
    ) -> Result<T, StoreError> {
        self.fetch_optional(sql, map)
            .await?
            .ok_or(StoreError::NotFound)
    }
}

#[async_trait]
impl WriteConn for AnyConnection {
    fn backend(&self) -> Backend {
        if self.backend_name() == "SQLite" {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }

    async fn execute(&mut self, sql: &Sql) -> Result<u64, StoreError> {
        Ok(sql.build().execute(&mut *self).await?.rows_affected())
    }

    async fn each_row(&mut self, sql: &Sql, each: &mut RowSink<'_>) -> Result<(), StoreError> {
        use futures_util::TryStreamExt;
        let mut rows = sql.build().fetch(&mut *self);
        while let Some(row) = rows.try_next().await? {
            each(&row)?;
        }
        Ok(())
    }
}
