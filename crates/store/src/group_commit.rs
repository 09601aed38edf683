//! Group commit: concurrent writes share one transaction, so one fsync acknowledges many.
//!
//! SQLite allows one writer at a time and, with `synchronous=FULL`, pays an fsync per commit.
//! Writes sent here queue for a single thread that takes every job waiting (up to
//! [`MAX_JOBS_PER_COMMIT`]), runs each inside its own SAVEPOINT — so a failing job rolls back
//! alone — and commits once. Every job is answered only after that commit is durable.

use crate::StoreError;
use crate::write_conn::WriteConn;
use sqlx::AnyPool;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The most jobs one transaction takes; bounds latency and the size of a rollback.
const MAX_JOBS_PER_COMMIT: usize = 256;
/// Statements the writer keeps prepared: every hot write's, with room for the batch sizes of
/// multi-row INSERTs.
const STATEMENT_CACHE: usize = 256;

/// A unit of writing: statements run on the writer connection inside a transaction.
pub(crate) type Job = Box<
    dyn for<'c> FnOnce(
            &'c mut dyn WriteConn,
        ) -> Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'c>>
        + Send,
>;

enum Request {
    Job {
        job: Job,
        done: oneshot::Sender<Result<(), StoreError>>,
    },
    /// Closes the writer's connection (so SQLite can checkpoint its WAL) and stops.
    Close(oneshot::Sender<()>),
}

/// The queue in front of the writer thread.
#[derive(Clone)]
pub(crate) struct GroupCommit {
    queue: mpsc::Sender<Request>,
}

impl GroupCommit {
    /// Starts the writer: a thread of its own with a `rusqlite` connection to the database at
    /// `path`. `lease` is the pool of SQLite's other writer, sqlx's single connection for the
    /// colder writes: each commit holds that connection, so the two never write at once (a
    /// deferred transaction there could otherwise fail with `SQLITE_BUSY` instead of waiting).
    ///
    /// With sqlx, every statement of a job was a round trip to sqlx's SQLite worker thread,
    /// and those switches took more time than SQLite itself at 8 clients; `rusqlite` runs each
    /// statement right here.
    pub(crate) fn start(path: &str, lease: AnyPool) -> Result<GroupCommit, StoreError> {
        let conn = connect(path)?;
        let (queue, requests) = mpsc::channel(4 * MAX_JOBS_PER_COMMIT);
        // Timers only (sqlx's acquire timeout): without an I/O driver the thread parks on a
        // condition variable.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| StoreError::Config(format!("cannot start the database writer: {e}")))?;
        std::thread::Builder::new()
            .name("hangar-writer".into())
            .spawn(move || runtime.block_on(write_loop(conn, lease, requests)))
            .map_err(|e| StoreError::Config(format!("cannot start the database writer: {e}")))?;
        Ok(GroupCommit { queue })
    }

    /// Runs `job` in the next shared transaction and waits until it is committed.
    pub(crate) async fn run(&self, job: Job) -> Result<(), StoreError> {
        let (done, answer) = oneshot::channel();
        self.queue
            .send(Request::Job { job, done })
            .await
            .map_err(|_| StoreError::Config("the database writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Config("the database writer has stopped".into()))?
    }

    /// Stops the writer after the jobs queued before, closing its connection.
    pub(crate) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.queue.send(Request::Close(done)).await.is_ok() {
            let _ = closed.await;
        }
    }
}

fn connect(path: &str) -> Result<rusqlite::Connection, StoreError> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::Config(format!("cannot open SQLite database {path}: {e}")))?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.execute_batch("PRAGMA journal_mode = WAL;")?;
    conn.execute_batch(crate::sqlite::PRAGMAS)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

async fn write_loop(
    mut conn: rusqlite::Connection,
    lease: AnyPool,
    mut requests: mpsc::Receiver<Request>,
) {
    let mut batch = Vec::with_capacity(MAX_JOBS_PER_COMMIT);
    while requests.recv_many(&mut batch, MAX_JOBS_PER_COMMIT).await > 0 {
        let mut jobs = Vec::with_capacity(batch.len());
        let mut close = None;
        for request in batch.drain(..) {
            match request {
                Request::Job { job, done } => jobs.push((job, done)),
                Request::Close(done) => close = Some(done),
            }
        }
        if !jobs.is_empty() {
            commit_and_answer(&mut conn, &lease, jobs).await;
        }
        if let Some(done) = close {
            drop(conn);
            let _ = done.send(());
            return;
        }
    }
}

type Pending = Vec<(Job, oneshot::Sender<Result<(), StoreError>>)>;

async fn commit_and_answer(conn: &mut rusqlite::Connection, lease: &AnyPool, jobs: Pending) {
    let held = match lease.acquire().await {
        Ok(held) => held,
        Err(e) => return fail_all(jobs.into_iter().map(|(_, done)| done).collect(), &e.into()),
    };
    let outcome = commit(conn, jobs).await;
    drop(held);
    match outcome {
        Ok(answers) => {
            for (done, result) in answers {
                let _ = done.send(result);
            }
        }
        Err((dones, e)) => fail_all(dones, &e),
    }
}

fn fail_all(dones: Vec<oneshot::Sender<Result<(), StoreError>>>, e: &StoreError) {
    tracing::error!(error = %e, "group commit failed");
    for done in dones {
        let shared = if e.is_storage_full() {
            StoreError::StorageFull
        } else {
            StoreError::Config(format!("write failed: {e}"))
        };
        let _ = done.send(Err(shared));
    }
}

type Answers = Vec<(
    oneshot::Sender<Result<(), StoreError>>,
    Result<(), StoreError>,
)>;
type Failure = (Vec<oneshot::Sender<Result<(), StoreError>>>, StoreError);

/// Runs the jobs in one transaction, each in its own SAVEPOINT so that a failing job rolls
/// back alone. On a failed commit every job gets the error.
async fn commit(conn: &mut rusqlite::Connection, jobs: Pending) -> Result<Answers, Failure> {
    let mut dones = Vec::with_capacity(jobs.len());
    let mut results = Vec::with_capacity(jobs.len());
    if let Err(e) = statements(conn, &["BEGIN IMMEDIATE"]) {
        return Err((jobs.into_iter().map(|(_, done)| done).collect(), e));
    }
    for (job, done) in jobs {
        dones.push(done);
        let outcome = async {
            statements(conn, &["SAVEPOINT job"])?;
            let result = job(&mut *conn).await;
            match result {
                Ok(()) => statements(conn, &["RELEASE SAVEPOINT job"])?,
                Err(_) => statements(
                    conn,
                    &["ROLLBACK TO SAVEPOINT job", "RELEASE SAVEPOINT job"],
                )?,
            }
            Ok::<_, StoreError>(result)
        }
        .await;
        match outcome {
            Ok(result) => results.push(result),
            Err(e) => {
                let _ = statements(conn, &["ROLLBACK"]);
                return Err((dones, e));
            }
        }
    }
    if let Err(e) = statements(conn, &["COMMIT"]) {
        let _ = statements(conn, &["ROLLBACK"]);
        return Err((dones, e));
    }
    Ok(dones.into_iter().zip(results).collect())
}

/// Runs fixed statements (transaction control) from the statement cache.
fn statements(conn: &rusqlite::Connection, texts: &[&str]) -> Result<(), StoreError> {
    for text in texts {
        conn.prepare_cached(text)?.raw_execute()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::sql::Sql;

    /// SQLite has a second writer, sqlx's connection for the colder writes. While it is in a
    /// transaction that has read, a group commit must wait: committing under it would make
    /// its next write fail (`SQLITE_BUSY`: its snapshot is stale) instead of waiting.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_commit_waits_for_the_other_writers_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = crate::open(&url).await.unwrap();
        store
            .execute(Sql::new("CREATE TABLE t (a INTEGER)"))
            .await
            .unwrap();
        let mut tx = store.writer.begin().await.unwrap();
        sqlx::query("SELECT COUNT(*) FROM t")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        let queued = tokio::spawn({
            let store = store.clone();
            async move { store.execute(Sql::new("INSERT INTO t VALUES (1)")).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!queued.is_finished(), "the group commit did not wait");
        sqlx::query("INSERT INTO t VALUES (2)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        queued.await.unwrap().unwrap();
        let count = store
            .read_all(&Sql::new("SELECT COUNT(*) AS n FROM t"), false, |row| {
                row.i64("n")
            })
            .await
            .unwrap();
        assert_eq!(count, vec![2]);
    }
}
