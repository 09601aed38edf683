//! SQLite with `rusqlite`: reads on the caller's own thread, and the group-commit writer's
//! connection.
//!
//! sqlx drives each SQLite connection from a worker thread and passes every statement and
//! every row across a channel, so a read that finds one row costs several thread switches.
//! Under `model-versions/get` at 8 clients those switches (futex wake and wait) took 60% of
//! the server's CPU, while SQLite itself reads a row from the WAL in microseconds; a history
//! of 25,000 points spent most of its time copying each row's values into sqlx's rows and
//! through the channel. Reads through `SqlStore::read_all` (the hot ones: tokens, runs,
//! versions, histories, searches) therefore run here, synchronously, on the async task's
//! thread; a read of many rows first hands that thread's other tasks to another worker. Colder
//! reads still use sqlx's reader pool.

use crate::StoreError;
use crate::sql::{Cols, Sql};
use crate::write_conn::{RowSink, WriteConn};
use std::sync::Mutex;
use std::time::Duration;

/// Statements each connection keeps prepared: every point read of the store fits.
const STATEMENT_CACHE: usize = 128;
/// Idle connections kept for reuse; more are opened when more tasks read at once.
const MAX_IDLE: usize = 8;

/// A set of read-only connections to one database file.
pub(crate) struct InlineReader {
    path: String,
    idle: Mutex<Vec<rusqlite::Connection>>,
}

impl InlineReader {
    /// Opens the first connection at once, so a bad path fails at start.
    pub(crate) fn open(path: &str) -> Result<InlineReader, StoreError> {
        let reader = InlineReader {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        };
        let first = reader.connect()?;
        reader.give_back(first);
        Ok(reader)
    }

    fn connect(&self) -> Result<rusqlite::Connection, StoreError> {
        use rusqlite::OpenFlags;
        let conn = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // MLflow's `LIKE` is case-sensitive, as on the other connections.
        conn.execute_batch("PRAGMA case_sensitive_like = ON; PRAGMA query_only = ON;")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    fn give_back(&self, conn: rusqlite::Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    /// Every row of `sql`, mapped as it is stepped.
    pub(crate) fn read_all<T>(
        &self,
        sql: &Sql,
        map: &dyn Fn(&dyn Cols) -> Result<T, sqlx::Error>,
    ) -> Result<Vec<T>, StoreError> {
        let taken = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match taken {
            Some(conn) => conn,
            None => self.connect()?,
        };
        let rows = sql.query_rusqlite(&conn, &mut |row| Ok(map(row)?));
        self.give_back(conn);
        rows
    }
}

/// The group-commit writer's connection (see [`crate::group_commit`]): each statement runs
/// right away on the writer's thread, so the futures are ready when first polled.
#[async_trait::async_trait]
impl WriteConn for rusqlite::Connection {
    fn backend(&self) -> crate::Backend {
        crate::Backend::Sqlite
    }

    async fn execute(&mut self, sql: &Sql) -> Result<u64, StoreError> {
        sql.execute_rusqlite(self)
    }

    async fn each_row(&mut self, sql: &Sql, each: &mut RowSink<'_>) -> Result<(), StoreError> {
        sql.query_rusqlite(self, each)?;
        Ok(())
    }
}
