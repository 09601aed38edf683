//! Group commit: concurrent writes share one transaction, so one fsync acknowledges many.
//!
//! SQLite allows one writer at a time and, with `synchronous=FULL`, pays an fsync per commit.
//! Writes sent here queue for a single task that takes every job waiting (up to
//! [`MAX_JOBS_PER_COMMIT`]), runs each inside its own SAVEPOINT — so a failing job rolls back
//! alone — and commits once. Every job is answered only after that commit is durable.

use crate::StoreError;
use sqlx::{AnyConnection, AnyPool, Executor};
use std::future::Future;
use std::pin::Pin;
use tokio::sync::{mpsc, oneshot};

/// The most jobs one transaction takes; bounds latency and the size of a rollback.
const MAX_JOBS_PER_COMMIT: usize = 256;

/// A unit of writing: statements run on the writer connection inside a transaction.
pub(crate) type Job = Box<
    dyn for<'c> FnOnce(
            &'c mut AnyConnection,
        ) -> Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'c>>
        + Send,
>;

struct Request {
    job: Job,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The queue in front of the writer task.
#[derive(Clone)]
pub(crate) struct GroupCommit {
    queue: mpsc::Sender<Request>,
}

impl GroupCommit {
    /// Starts the writer on `pool` (the single writer connection), on a thread of its own.
    ///
    /// Every statement of a job is a round trip to sqlx's SQLite worker thread. On the
    /// server's runtime each answer woke the writer task behind whatever HTTP work was queued
    /// on that worker, and a version create (a dozen statements) spent most of its time in
    /// those queues; on its own thread the writer resumes as soon as the answer arrives.
    pub(crate) fn start(pool: AnyPool) -> Result<GroupCommit, StoreError> {
        let (queue, requests) = mpsc::channel(4 * MAX_JOBS_PER_COMMIT);
        // Timers only (sqlx's acquire timeout): without an I/O driver the thread parks on a
        // condition variable, a cheaper wake-up than epoll for each statement's answer.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(|e| StoreError::Config(format!("cannot start the database writer: {e}")))?;
        std::thread::Builder::new()
            .name("hangar-writer".into())
            .spawn(move || runtime.block_on(write_loop(pool, requests)))
            .map_err(|e| StoreError::Config(format!("cannot start the database writer: {e}")))?;
        Ok(GroupCommit { queue })
    }

    /// Runs `job` in the next shared transaction and waits until it is committed.
    pub(crate) async fn run(&self, job: Job) -> Result<(), StoreError> {
        let (done, answer) = oneshot::channel();
        self.queue
            .send(Request { job, done })
            .await
            .map_err(|_| StoreError::Config("the database writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Config("the database writer has stopped".into()))?
    }
}

async fn write_loop(pool: AnyPool, mut requests: mpsc::Receiver<Request>) {
    let mut batch = Vec::with_capacity(MAX_JOBS_PER_COMMIT);
    while requests.recv_many(&mut batch, MAX_JOBS_PER_COMMIT).await > 0 {
        let jobs: Vec<Request> = std::mem::take(&mut batch);
        match commit(&pool, jobs).await {
            Ok(answers) => {
                for (done, result) in answers {
                    let _ = done.send(result);
                }
            }
            Err((dones, e)) => {
                tracing::error!(error = %e, "group commit failed");
                let message = e.to_string();
                for done in dones {
                    let _ = done.send(Err(StoreError::Config(format!("write failed: {message}"))));
                }
            }
        }
    }
}

type Answers = Vec<(
    oneshot::Sender<Result<(), StoreError>>,
    Result<(), StoreError>,
)>;
type Failure = (Vec<oneshot::Sender<Result<(), StoreError>>>, sqlx::Error);

/// Runs the jobs in one transaction. On a failed commit every job gets the error.
async fn commit(pool: &AnyPool, jobs: Vec<Request>) -> Result<Answers, Failure> {
    let mut dones = Vec::with_capacity(jobs.len());
    let mut results = Vec::with_capacity(jobs.len());
    let mut conn = match pool.acquire().await {
        Ok(conn) => conn,
        Err(e) => return Err((jobs.into_iter().map(|r| r.done).collect(), e)),
    };
    let conn: &mut AnyConnection = &mut conn;
    // Each round trip to SQLite's worker thread costs two thread switches, so the statements
    // between jobs travel together: BEGIN with the first SAVEPOINT, each RELEASE with the
    // next SAVEPOINT, and the last job's savepoint ends with the COMMIT.
    if let Err(e) = conn.execute("BEGIN IMMEDIATE; SAVEPOINT job").await {
        let _ = conn.execute("ROLLBACK").await;
        return Err((jobs.into_iter().map(|r| r.done).collect(), e));
    }
    let count = jobs.len();
    for (i, request) in jobs.into_iter().enumerate() {
        dones.push(request.done);
        let last = i + 1 == count;
        let outcome = async {
            let result = (request.job)(&mut *conn).await;
            let finish = match (result.is_ok(), last) {
                (true, false) => "RELEASE SAVEPOINT job; SAVEPOINT job",
                (false, false) => "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job; SAVEPOINT job",
                (true, true) => "RELEASE SAVEPOINT job; COMMIT",
                (false, true) => "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job; COMMIT",
            };
            conn.execute(finish).await?;
            Ok::<_, sqlx::Error>(result)
        }
        .await;
        match outcome {
            Ok(result) => results.push(result),
            Err(e) => {
                let _ = conn.execute("ROLLBACK").await;
                return Err((dones, e));
            }
        }
    }
    Ok(dones.into_iter().zip(results).collect())
}
