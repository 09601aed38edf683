//! SQLite reads, run with `rusqlite` on the caller's own thread.
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
        let rows = sql.query_rusqlite(&conn, map);
        self.give_back(conn);
        rows
    }
}
