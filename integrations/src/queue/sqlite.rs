//! The SQLite engine: one file, one connection, apalis-sqlite's `Jobs` table.

use std::time::Duration;

use apalis::prelude::{BoxDynError, TaskSink};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{BATCH, Job, QUEUE, QueueError, Row, Task, WRITE_TIMEOUT, storage};

/// The engine's name, for `Debug`.
pub(super) const NAME: &str = "sqlite";

pub(super) type Pool = sqlx::SqlitePool;

/// Opens (creating it if missing) and migrates the file at `path`, which
/// may end in `?synchronous=full` (or `normal`, the default).
pub(super) async fn connect(path: &str) -> Result<Pool, QueueError> {
    let (path, synchronous) = match path.rsplit_once('?') {
        Some((path, "synchronous=full")) => (path, SqliteSynchronous::Full),
        Some((path, "synchronous=normal")) => (path, SqliteSynchronous::Normal),
        Some(_) => {
            return Err(storage(
                "a SQLite queue takes only ?synchronous=full or normal",
            ));
        }
        None => (path, SqliteSynchronous::Normal),
    };
    // Never apalis's `setup()`: it turns fsync off on one pooled connection.
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .busy_timeout(WRITE_TIMEOUT);
    // One connection: SQLite has one writer, and the pushes and the worker
    // take turns in the pool's fair queue instead of SQLite's busy-sleep.
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(WRITE_TIMEOUT)
        // A failed COMMIT (a full disk) makes SQLite roll back by itself, but
        // sqlx still counts the transaction as open, and every later write
        // would become a savepoint that never commits: such a connection is
        // closed and a new one opened in its place.
        .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
        .connect_with(options)
        .await
        .map_err(storage)?;
    apalis_sqlite::SqliteStorage::migrations()
        .run(&pool)
        .await
        .map_err(storage)?;
    // apalis-sqlite's ack (`WHERE Jobs.id = … AND Jobs.lock_by = ?`) is
    // planned through the `lock_by` index, which walks every row its worker
    // ever locked: each ack slows as handled rows are kept. A statistic
    // saying `lock_by` is unselective makes SQLite look the row up by id.
    // (`ANALYZE Workers` creates `sqlite_stat1`; `ANALYZE sqlite_schema`
    // reloads it.)
    sqlx::raw_sql(
        "ANALYZE Workers; DELETE FROM sqlite_stat1 WHERE tbl = 'Jobs' AND idx = 'LIdx'; \
         INSERT INTO sqlite_stat1 VALUES ('Jobs', 'LIdx', '1000000 1000000'); \
         ANALYZE sqlite_schema;",
    )
    .execute(&pool)
    .await
    .map_err(storage)?;
    Ok(pool)
}

pub(super) fn storage_of(pool: &Pool) -> apalis_sqlite::SqliteStorage<Job> {
    apalis_sqlite::SqliteStorage::new(pool).with_config(
        apalis_sqlite::Config::default()
            .queue(QUEUE)
            .batch_size(BATCH)
            .heartbeat_interval(Duration::from_secs(5))
            .missed_heartbeats(3),
    )
}

/// Stores deliveries in one transaction, each once: a second one with the
/// same tag is `INSERT … ON CONFLICT DO NOTHING` here.
pub(super) async fn push_all(pool: &Pool, tasks: Vec<Task<Job>>) -> Result<(), BoxDynError> {
    let tasks = futures_util::stream::iter(tasks);
    Ok(storage_of(pool).push_all(tasks).await?)
}

pub(super) async fn prune(pool: &Pool, keep_secs: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM Jobs WHERE job_type = ?1 AND status = 'Done' \
         AND done_at <= CAST(strftime('%s', 'now') AS INTEGER) - ?2",
    );
    let done = done.bind(QUEUE).bind(keep_secs).execute(pool).await?;
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
        state_of_row!("CAST(strftime('%s', 'now') AS INTEGER)"),
        " AS state, attempts, max_attempts, job, last_result, run_at, done_at FROM Jobs \
             WHERE job_type = ?1 AND (?3 IS NULL OR id = ?3)) \
             WHERE ?2 IS NULL OR state = ?2 ORDER BY id"
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
        "SELECT state, count(*), min(run_at) FROM (SELECT ",
        state_of_row!("CAST(strftime('%s', 'now') AS INTEGER)"),
        " AS state, run_at FROM Jobs WHERE job_type = ?1) GROUP BY state"
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
        "UPDATE Jobs SET attempts = ?2, last_result = ?3, \
         run_at = CAST(strftime('%s', 'now') AS INTEGER) + ?4 WHERE id = ?1 AND job_type = ?5",
    );
    let record = record.bind(id).bind(attempts).bind(result).bind(wait_secs);
    Ok(record.bind(QUEUE).execute(pool).await?.rows_affected())
}

// apalis 1.0 has no re-run for this engine: one UPDATE on its schema (pinned
// to =1.0.0 for it; tests/tests/durable.rs checks it).
pub(super) async fn rerun(pool: &Pool, id: &str) -> Result<u64, sqlx::Error> {
    let rerun = sqlx::query(
        "UPDATE Jobs SET status = 'Pending', attempts = 0, lock_by = NULL, lock_at = NULL, \
         done_at = NULL, run_at = strftime('%s', 'now') WHERE id = ?1 AND job_type = ?2 \
         AND (status = 'Killed' OR (status = 'Failed' AND attempts >= max_attempts))",
    );
    let rerun = rerun.bind(id).bind(QUEUE).execute(pool).await?;
    Ok(rerun.rows_affected())
}
