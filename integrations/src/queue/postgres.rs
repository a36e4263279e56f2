//! The Postgres engine: a pool of 8, apalis-postgres's `apalis.jobs` table,
//! shared by every replica.

use std::time::Duration;

use apalis::prelude::{BoxDynError, TaskSink, TaskSinkError};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};

use super::{BATCH, Job, QUEUE, QueueError, Row, Task, WRITE_TIMEOUT, storage};

/// The engine's name, for `Debug`.
pub(super) const NAME: &str = "postgres";

pub(super) type Pool = sqlx::PgPool;

/// Connects to `url` and creates or updates apalis's schema.
pub(super) async fn connect(url: &str) -> Result<Pool, QueueError> {
    let options: PgConnectOptions = url.parse().map_err(storage)?;
    // The schema set-up's NOTICEs ("already exists, skipping") are not news.
    let options = options.options([("client_min_messages", "warning")]);
    // A pool reports an unreachable server as "pool timed out" once its
    // acquire timeout is over; one connection first says why, at once.
    let first = tokio::time::timeout(WRITE_TIMEOUT, PgConnection::connect_with(&options)).await;
    let first = first.map_err(|_| storage("no answer from the server within 5 s"))?;
    first.map_err(storage)?.close().await.map_err(storage)?;
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(WRITE_TIMEOUT)
        // As for SQLite: never reuse a connection a failed COMMIT left counted open.
        .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
        .connect_with(options)
        .await
        .map_err(storage)?;
    apalis_postgres::PostgresStorage::setup(&pool)
        .await
        .map_err(storage)?;
    Ok(pool)
}

pub(super) fn storage_of(pool: &Pool) -> apalis_postgres::PostgresStorage<Job> {
    apalis_postgres::PostgresStorage::new(pool).with_config(
        apalis_postgres::Config::default()
            .queue(QUEUE)
            .batch_size(BATCH)
            .heartbeat_interval(Duration::from_secs(5))
            .missed_heartbeats(3),
    )
}

/// Stores deliveries in one transaction, each once: Postgres refuses a row
/// whose tag is already stored (23505), and the whole transaction with it,
/// so then each is stored on its own (a copy is kept for that case). Rows
/// go in in tag order, so that two replicas' groups holding the same
/// deliveries wait for each other in one order, never in a deadlock.
pub(super) async fn push_all(pool: &Pool, mut tasks: Vec<Task<Job>>) -> Result<(), BoxDynError> {
    tasks.sort_unstable_by(|a, b| a.args.tag.cmp(&b.args.tag));
    let all = futures_util::stream::iter(tasks.clone());
    match storage_of(pool).push_all(all).await {
        Err(e) if refused_with(&e, "23505") || refused_with(&e, "40P01") => {
            for task in tasks {
                match storage_of(pool).push_task(task).await {
                    Err(e) if refused_with(&e, "23505") => {}
                    pushed => pushed?,
                }
            }
            Ok(())
        }
        pushed => Ok(pushed?),
    }
}

/// Whether Postgres refused the push with the SQLSTATE `code`: 23505 for
/// a duplicate (a unique index), 40P01 for a deadlock.
fn refused_with(error: &TaskSinkError<apalis_postgres::Error>, code: &str) -> bool {
    matches!(error, TaskSinkError::PushError(apalis_postgres::Error::Database(
        sqlx::Error::Database(e))) if e.code().as_deref() == Some(code))
}

pub(super) async fn prune(pool: &Pool, keep_secs: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM apalis.jobs WHERE job_type = $1 AND status = 'Done' \
         AND done_at <= now() - make_interval(secs => $2)",
    );
    let done = done
        .bind(QUEUE)
        .bind(keep_secs as f64)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

// apalis's statuses as our states: Queued and Running are taken by a worker;
// Killed is never taken again, so dead like Failed with no attempt left.
pub(super) async fn select(
    pool: &Pool,
    state: Option<&str>,
    id: Option<&str>,
) -> Result<Vec<Row>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT * FROM (SELECT id, ",
        state_of_row!("now()"),
        " AS state, attempts::int8, max_attempts::int8, job, last_result::text, \
             extract(epoch FROM run_at)::int8, extract(epoch FROM done_at)::int8 \
             FROM apalis.jobs WHERE job_type = $1 AND ($3::text IS NULL OR id = $3)) AS j \
             WHERE $2::text IS NULL OR state = $2 ORDER BY id"
    ))
    .bind(QUEUE)
    .bind(state)
    .bind(id)
    .fetch_all(pool)
    .await
}

/// How many deliveries are in each state, and the oldest `run_at` of each.
#[cfg(feature = "metrics")]
pub(super) async fn counts(pool: &Pool) -> Result<Vec<(String, i64, Option<i64>)>, sqlx::Error> {
    let counts = concat!(
        "SELECT state, count(*), min(extract(epoch FROM run_at))::int8 FROM (SELECT ",
        state_of_row!("now()"),
        " AS state, run_at FROM apalis.jobs WHERE job_type = $1) AS j GROUP BY state"
    );
    sqlx::query_as(counts).bind(QUEUE).fetch_all(pool).await
}

/// Records a failed attempt of a delivery its worker will run again in
/// `wait_secs`: its count, its error (as apalis writes a result) and when.
pub(super) async fn record_attempt(
    pool: &Pool,
    id: &str,
    attempts: i64,
    result: &str,
    wait_secs: i64,
) -> Result<u64, sqlx::Error> {
    let record = sqlx::query(
        "UPDATE apalis.jobs SET attempts = $2, last_result = $3::jsonb, \
         run_at = now() + make_interval(secs => $4) WHERE id = $1 AND job_type = $5",
    );
    let record = record.bind(id).bind(attempts as i32).bind(result);
    let record = record.bind(wait_secs as f64).bind(QUEUE);
    Ok(record.execute(pool).await?.rows_affected())
}

// apalis 1.0 has no re-run for this engine: one UPDATE on its schema (pinned
// to =1.0.0 for it; tests/tests/durable.rs checks it).
pub(super) async fn rerun(pool: &Pool, id: &str) -> Result<u64, sqlx::Error> {
    let rerun = sqlx::query(
        "UPDATE apalis.jobs SET status = 'Pending', attempts = 0, lock_by = NULL, \
         lock_at = NULL, done_at = NULL, run_at = now() WHERE id = $1 AND job_type = $2 \
         AND (status = 'Killed' OR (status = 'Failed' AND attempts >= max_attempts))",
    );
    let rerun = rerun.bind(id).bind(QUEUE).execute(pool).await?;
    Ok(rerun.rows_affected())
}
