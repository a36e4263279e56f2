//! Lose no delivery although Bedrud never retries: verify, store, answer
//! `202 Accepted`, then process in a worker that retries.
//!
//! Bedrud makes one attempt per delivery and never retries, so a handler
//! that fails (a database down for a minute, a restart between the 2xx and
//! the work) loses the event. With a [`Queue`], the verified body is
//! committed to storage **before** the 202 is sent; if that write fails the
//! answer is 503 and nothing is claimed. A worker ([`Queue::run_worker`]), in
//! the same process or another, runs your `async fn(Envelope) -> Result<(), E>`,
//! retries it with exponential backoff and, after [`Queue::attempts`] attempts,
//! keeps the delivery as dead: [`Queue::dead`] lists it, [`Queue::rerun`]
//! queues it again.
//!
//! The jobs are [apalis](https://docs.rs/apalis) tasks in one of its engines:
//! SQLite (`queue-sqlite`: one file, nothing to install) or Postgres
//! (`queue-postgres`: several replicas share it). Each delivery is stored once
//! under its signature tag, so the same delivery arriving twice, or at two
//! replicas, is processed once. Processing is at least once: a worker killed
//! after the handler returned and before apalis recorded it runs it again.
//!
//! SQLite runs in WAL mode with `synchronous=NORMAL`: a committed delivery
//! survives the process being killed, not a power cut (use Postgres, with
//! its defaults, for that).
//!
//! ```no_run
//! use axum::Router;
//! use bedrud_webhook::queue::Queue;
//! use bedrud_webhook::{Envelope, Secret, Verifier};
//!
//! async fn handle(envelope: Envelope) -> Result<(), std::io::Error> {
//!     println!("{} {:?}", envelope.event.name(), envelope.event);
//!     Ok(())
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let verifier = Verifier::new(Secret::new("the secret from Bedrud's admin")?);
//!     let queue = Queue::connect("deliveries.db").await?;
//!     let app: Router = Router::new()
//!         .route_service("/webhooks/bedrud", queue.service(verifier));
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     tokio::select! {
//!         served = axum::serve(listener, app) => served?,
//!         () = queue.run_worker(handle) => {}
//!     }
//!     Ok(())
//! }
//! ```

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apalis::layers::WorkerBuilderExt;
use apalis::layers::retry::HasherRng;
use apalis::layers::retry::backoff::{ExponentialBackoffMaker, MakeBackoff};
use apalis::prelude::{BoxDynError, RetryPolicy, TaskBuilder, TaskSink, WorkerBuilder};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Body;
use serde::{Deserialize, Serialize};
use tower_service::Service;

use crate::{Envelope, ParseError, Verifier, WebhookRejection, body};

/// The apalis queue (its `job_type`) the deliveries go to.
const QUEUE: &str = "bedrud-deliveries";

/// How long a push may take, waiting for a connection or a lock included,
/// before it fails and the delivery is answered 503: well inside Bedrud's 10 s.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// A stored delivery: the verified body as Bedrud signed it, and what
/// identifies it. This serde form is what the storage holds, so it stays
/// readable by later versions of the SDK (`v` tells them which one wrote it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Job {
    /// The version of this form: 1.
    pub v: u32,
    /// The signature's HMAC tag in lowercase hex: the delivery's identity.
    pub tag: String,
    /// When it was received, in seconds since the Unix epoch.
    pub received_at: i64,
    /// The exact verified body (JSON, so UTF-8).
    pub body: String,
}

impl Job {
    /// The typed envelope of the stored body.
    ///
    /// # Errors
    ///
    /// [`ParseError`] when the body is not a Bedrud envelope.
    pub fn envelope(&self) -> Result<Envelope, ParseError> {
        Envelope::from_slice(self.body.as_bytes())
    }
}

/// A delivery whose handler failed on every attempt, kept for [`Queue::rerun`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Dead {
    /// The job's id in the storage (a ULID), for [`Queue::rerun`].
    pub id: String,
    /// How many times the handler ran.
    pub attempts: u32,
    /// What the last attempt returned, as apalis recorded it.
    pub last_error: Option<String>,
    /// The delivery.
    pub job: Job,
}

/// Why the queue could not be opened, written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The URL names no engine this build has.
    #[error(
        "unsupported queue URL: use a SQLite file path or sqlite:// (feature queue-sqlite) or postgres:// (feature queue-postgres)"
    )]
    UnsupportedUrl,
    /// The storage failed.
    #[error("the queue storage failed: {0}")]
    Storage(#[source] BoxDynError),
}

fn storage(e: impl Into<BoxDynError>) -> QueueError {
    QueueError::Storage(e.into())
}

#[derive(Clone)]
enum Engine {
    #[cfg(feature = "queue-sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "queue-postgres")]
    Postgres(sqlx::PgPool),
}

/// Deliveries in durable storage; see the [module documentation](self).
/// Cloning is cheap: the clones share one connection pool.
#[derive(Clone)]
pub struct Queue {
    engine: Engine,
    attempts: u32,
    backoff: (Duration, Duration),
    keep_done: Duration,
}

impl fmt::Debug for Queue {
    // The URL (and any password in it) is not kept; only the engine is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let engine = match self.engine {
            #[cfg(feature = "queue-sqlite")]
            Engine::Sqlite(_) => "sqlite",
            #[cfg(feature = "queue-postgres")]
            Engine::Postgres(_) => "postgres",
        };
        f.debug_struct("Queue")
            .field("engine", &engine)
            .field("attempts", &self.attempts)
            .field("backoff", &self.backoff)
            .field("keep_done", &self.keep_done)
            .finish()
    }
}

impl Queue {
    /// Opens the storage and creates or updates apalis's tables in it:
    /// `postgres://…` (or `postgresql://…`) for Postgres, anything else is a
    /// SQLite file path (optionally `sqlite://path`), created if missing.
    ///
    /// # Errors
    ///
    /// [`QueueError::UnsupportedUrl`] for an engine this build lacks,
    /// [`QueueError::Storage`] when it cannot be opened or migrated.
    pub async fn connect(url: &str) -> Result<Queue, QueueError> {
        let engine = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::postgres(url).await?
        } else {
            Self::sqlite(url.strip_prefix("sqlite://").unwrap_or(url)).await?
        };
        Ok(Queue {
            engine,
            // 5 s doubling to 5 min: the 8 attempts span about 10 minutes.
            attempts: 8,
            backoff: (Duration::from_secs(5), Duration::from_secs(300)),
            keep_done: Duration::from_secs(24 * 60 * 60),
        })
    }

    #[cfg(feature = "queue-sqlite")]
    async fn sqlite(path: &str) -> Result<Engine, QueueError> {
        use sqlx::Connection;
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
        // Never apalis's `setup()`: it turns fsync off on one pooled connection.
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
            .busy_timeout(WRITE_TIMEOUT);
        // One connection: SQLite has one writer, and the pushes and the
        // worker's fetches and acks then take turns in the pool's fair queue
        // instead of SQLite's busy-sleep (which put the p99 past 1 s under load).
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            // A failed COMMIT (a full disk) makes SQLite roll back by itself,
            // but sqlx still counts the transaction as open, and every later
            // write would become a savepoint that never commits: such a
            // connection is closed and a new one opened in its place.
            .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
            .acquire_timeout(WRITE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(storage)?;
        apalis_sqlite::SqliteStorage::migrations()
            .run(&pool)
            .await
            .map_err(storage)?;
        Ok(Engine::Sqlite(pool))
    }

    #[cfg(not(feature = "queue-sqlite"))]
    async fn sqlite(_: &str) -> Result<Engine, QueueError> {
        Err(QueueError::UnsupportedUrl)
    }

    #[cfg(feature = "queue-postgres")]
    async fn postgres(url: &str) -> Result<Engine, QueueError> {
        use sqlx::Connection;
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(WRITE_TIMEOUT)
            // As for SQLite: never reuse a connection a failed COMMIT left counted open.
            .before_acquire(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
            .connect(url)
            .await
            .map_err(storage)?;
        apalis_postgres::PostgresStorage::setup(&pool)
            .await
            .map_err(storage)?;
        Ok(Engine::Postgres(pool))
    }

    #[cfg(not(feature = "queue-postgres"))]
    async fn postgres(_: &str) -> Result<Engine, QueueError> {
        Err(QueueError::UnsupportedUrl)
    }

    /// How many times the handler runs before a delivery is dead (at least
    /// 1; default 8). Stored with each delivery when it is pushed.
    #[must_use]
    pub fn attempts(mut self, attempts: u32) -> Queue {
        self.attempts = attempts.max(1);
        self
    }

    /// The wait before the first retry, doubled (with jitter) up to `max`
    /// for each next one; default 5 s up to 5 min (with 8 attempts, about
    /// 10 minutes from the first attempt to the last).
    #[must_use]
    pub fn backoff(mut self, first: Duration, max: Duration) -> Queue {
        let first = first.max(Duration::from_millis(1));
        self.backoff = (first, max.max(first));
        self
    }

    /// How long a handled delivery is kept (default 24 hours, longer than any
    /// delivery stays inside the timestamp window): until then a second
    /// arrival is recognised and not stored again. The worker deletes older
    /// ones every minute ([`prune`](Self::prune)), so that the table, and
    /// apalis's queries over it, stay small. Dead deliveries are kept.
    #[must_use]
    pub fn keep_done(mut self, keep: Duration) -> Queue {
        self.keep_done = keep;
        self
    }

    /// Deletes the handled deliveries older than [`keep_done`](Self::keep_done);
    /// returns how many. The worker runs it every minute.
    ///
    /// # Errors
    ///
    /// [`QueueError::Storage`] when the storage cannot be written.
    pub async fn prune(&self) -> Result<u64, QueueError> {
        let secs = i64::try_from(self.keep_done.as_secs()).unwrap_or(i64::MAX);
        let deleted = match &self.engine {
            #[cfg(feature = "queue-sqlite")]
            Engine::Sqlite(pool) => sqlx::query(
                "DELETE FROM Jobs WHERE job_type = ?1 AND status = 'Done' \
                 AND done_at <= CAST(strftime('%s', 'now') AS INTEGER) - ?2",
            )
            .bind(QUEUE)
            .bind(secs)
            .execute(pool)
            .await
            .map_err(storage)?
            .rows_affected(),
            #[cfg(feature = "queue-postgres")]
            Engine::Postgres(pool) => sqlx::query(
                "DELETE FROM apalis.jobs WHERE job_type = $1 AND status = 'Done' \
                 AND done_at <= now() - make_interval(secs => $2)",
            )
            .bind(QUEUE)
            .bind(secs as f64)
            .execute(pool)
            .await
            .map_err(storage)?
            .rows_affected(),
        };
        Ok(deleted)
    }

    /// Stores a delivery that [`Verifier::verify`] accepted: its exact body
    /// and the tag it returned. Resolves once the write is committed; a
    /// delivery already stored under the same tag is not stored again.
    ///
    /// # Errors
    ///
    /// [`QueueError::Storage`] when the write failed: answer 503.
    pub async fn push(&self, body: &[u8], tag: &[u8; 32]) -> Result<(), QueueError> {
        let job = Job {
            v: 1,
            tag: const_hex::encode(tag),
            received_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64),
            body: String::from_utf8_lossy(body).into_owned(),
        };
        let task = TaskBuilder::new(job.clone())
            .idempotency_key(&job.tag)
            .max_attempts(self.attempts as usize)
            .build();
        let pushed = async {
            match &self.engine {
                // A duplicate key is `INSERT … ON CONFLICT DO NOTHING` here: Ok.
                #[cfg(feature = "queue-sqlite")]
                Engine::Sqlite(pool) => sqlite_storage(pool).push_task(task).await.map_err(storage),
                #[cfg(feature = "queue-postgres")]
                Engine::Postgres(pool) => match postgres_storage(pool).push_task(task).await {
                    Err(e) if is_unique_violation(&e) => Ok(()),
                    pushed => pushed.map_err(storage),
                },
            }
        };
        // A database that stops answering (paused, or its disk stalled) must
        // still get the delivery its 503 inside Bedrud's timeout.
        match tokio::time::timeout(WRITE_TIMEOUT, pushed).await {
            Ok(pushed) => pushed,
            Err(_) => Err(storage(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the write did not complete within 5 s",
            ))),
        }
    }

    /// A tower service that verifies each request with `verifier`, stores it
    /// and answers `202 Accepted`: for axum's `route_service`, or hyper with
    /// `TowerToHyperService`. A refused request gets the integrations'
    /// usual answer (401, 400, 408, 413); a failed write, 503.
    #[must_use]
    pub fn service(&self, verifier: Verifier) -> Enqueue {
        Enqueue {
            queue: self.clone(),
            verifier,
        }
    }

    /// Runs `handler` on each stored delivery, retrying a failure with the
    /// [`backoff`](Self::backoff) until it is dead, and [prunes](Self::prune)
    /// every minute. Runs until dropped: a storage error (the database
    /// restarting) is logged and the worker started again a second later.
    pub async fn run_worker<F, Fut, E>(&self, handler: F)
    where
        F: Fn(Envelope) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxDynError> + 'static,
    {
        let work = async {
            for run in 0u64.. {
                let ended = self.worker(run, handler.clone()).await;
                tracing::error!(error = ?ended.err(), "the delivery worker stopped; restarting it in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        };
        let prune = async {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                if let Err(error) = self.prune().await {
                    tracing::warn!(%error, "could not delete old handled deliveries");
                }
            }
        };
        futures_util::future::join(work, prune).await;
    }

    /// One apalis worker run, until its first error. Driven as a stream (as
    /// apalis's `Monitor` does): `Worker::run`'s future is not provably
    /// `Send` (a rustc limit with higher-ranked lifetimes), so `tokio::spawn`
    /// would refuse `run_worker`.
    fn worker<F, Fut, E>(&self, run: u64, handler: F) -> WorkerRun
    where
        F: Fn(Envelope) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxDynError> + 'static,
    {
        let handle = move |job: Job| {
            let handler = handler.clone();
            async move {
                let envelope = job.envelope()?;
                handler(envelope).await.map_err(Into::into)
            }
        };
        // Names must be new on every run: apalis refuses a name seen recently.
        let name = format!("bedrud-{}-{}-{run}", std::process::id(), nanos());
        // `backoff()` keeps 0 < first <= max, so the maker cannot refuse it.
        let mut backoff =
            ExponentialBackoffMaker::new(self.backoff.0, self.backoff.1, 0.5, HasherRng::default())
                .unwrap_or_default();
        let retry =
            RetryPolicy::retries(self.attempts as usize - 1).with_backoff(backoff.make_backoff());
        match &self.engine {
            #[cfg(feature = "queue-sqlite")]
            Engine::Sqlite(pool) => {
                let worker = WorkerBuilder::new(name)
                    .backend(sqlite_storage(pool))
                    .retry(retry)
                    .build(handle);
                drain(worker.stream())
            }
            #[cfg(feature = "queue-postgres")]
            Engine::Postgres(pool) => {
                let worker = WorkerBuilder::new(name)
                    .backend(postgres_storage(pool))
                    .retry(retry)
                    .build(handle);
                drain(worker.stream())
            }
        }
    }

    /// The dead deliveries: every attempt failed.
    ///
    /// # Errors
    ///
    /// [`QueueError::Storage`] when the storage cannot be read.
    pub async fn dead(&self) -> Result<Vec<Dead>, QueueError> {
        // apalis lists by status only; "dead" is Failed with no attempt left.
        let rows: Vec<(String, i64, Vec<u8>, Option<String>)> = match &self.engine {
            #[cfg(feature = "queue-sqlite")]
            Engine::Sqlite(pool) => sqlx::query_as(
                "SELECT id, attempts, job, last_result FROM Jobs WHERE job_type = ?1 \
                 AND status = 'Failed' AND attempts >= max_attempts ORDER BY done_at, id",
            )
            .bind(QUEUE)
            .fetch_all(pool)
            .await
            .map_err(storage)?,
            #[cfg(feature = "queue-postgres")]
            Engine::Postgres(pool) => sqlx::query_as(
                "SELECT id, attempts::int8, job, last_result::text FROM apalis.jobs \
                 WHERE job_type = $1 AND status = 'Failed' AND attempts >= max_attempts \
                 ORDER BY done_at, id",
            )
            .bind(QUEUE)
            .fetch_all(pool)
            .await
            .map_err(storage)?,
        };
        rows.into_iter()
            .map(|(id, attempts, job, last_error)| {
                Ok(Dead {
                    id,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    last_error,
                    job: serde_json::from_slice(&job).map_err(storage)?,
                })
            })
            .collect()
    }

    /// Queues the dead delivery `id` again, with all its attempts. Returns
    /// whether there was such a dead delivery.
    ///
    /// # Errors
    ///
    /// [`QueueError::Storage`] when the storage cannot be written.
    pub async fn rerun(&self, id: &str) -> Result<bool, QueueError> {
        // apalis 1.0 has no re-run for these engines: one UPDATE on its schema
        // (the engines are pinned to =1.0.0 for it; tests/tests/durable.rs checks it).
        let updated = match &self.engine {
            #[cfg(feature = "queue-sqlite")]
            Engine::Sqlite(pool) => sqlx::query(
                "UPDATE Jobs SET status = 'Pending', attempts = 0, lock_by = NULL, lock_at = NULL, \
                 done_at = NULL, run_at = strftime('%s', 'now') WHERE id = ?1 AND job_type = ?2 \
                 AND status = 'Failed' AND attempts >= max_attempts",
            )
            .bind(id)
            .bind(QUEUE)
            .execute(pool)
            .await
            .map_err(storage)?
            .rows_affected(),
            #[cfg(feature = "queue-postgres")]
            Engine::Postgres(pool) => sqlx::query(
                "UPDATE apalis.jobs SET status = 'Pending', attempts = 0, lock_by = NULL, \
                 lock_at = NULL, done_at = NULL, run_at = now() WHERE id = $1 AND job_type = $2 \
                 AND status = 'Failed' AND attempts >= max_attempts",
            )
            .bind(id)
            .bind(QUEUE)
            .execute(pool)
            .await
            .map_err(storage)?
            .rows_affected(),
        };
        Ok(updated > 0)
    }
}

/// Polls a worker's event stream until it ends or fails.
fn drain<T, E: fmt::Display>(
    mut events: impl futures_util::Stream<Item = Result<T, E>> + Send + Unpin + 'static,
) -> WorkerRun {
    use futures_util::StreamExt;
    Box::pin(async move {
        while let Some(event) = events.next().await {
            event.map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

fn nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

#[cfg(feature = "queue-sqlite")]
fn sqlite_storage(pool: &sqlx::SqlitePool) -> apalis_sqlite::SqliteStorage<Job> {
    apalis_sqlite::SqliteStorage::new(pool).with_config(
        apalis_sqlite::Config::default()
            .queue(QUEUE)
            .heartbeat_interval(Duration::from_secs(5))
            .missed_heartbeats(3),
    )
}

#[cfg(feature = "queue-postgres")]
fn postgres_storage(pool: &sqlx::PgPool) -> apalis_postgres::PostgresStorage<Job> {
    apalis_postgres::PostgresStorage::new(pool).with_config(
        apalis_postgres::Config::default()
            .queue(QUEUE)
            .heartbeat_interval(Duration::from_secs(5))
            .missed_heartbeats(3),
    )
}

/// Postgres refuses a second row with the same tag (23505): already stored.
#[cfg(feature = "queue-postgres")]
fn is_unique_violation(e: &apalis::prelude::TaskSinkError<apalis_postgres::Error>) -> bool {
    use apalis::prelude::TaskSinkError;
    matches!(e, TaskSinkError::PushError(apalis_postgres::Error::Database(sqlx::Error::Database(db)))
        if db.code().as_deref() == Some("23505"))
}

/// Verifies, stores and answers 202; see [`Queue::service`].
#[derive(Debug, Clone)]
pub struct Enqueue {
    queue: Queue,
    verifier: Verifier,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type WorkerRun = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

impl<B> Service<Request<B>> for Enqueue
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<String>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let checked = async {
                if parts.method != http::Method::POST {
                    return Err(WebhookRejection::MethodNotAllowed);
                }
                let body = body::read(&parts.headers, body, &this.verifier).await?;
                let verified = this.verifier.verify(&parts.headers, &body)?;
                verified.parse()?;
                Ok::<_, WebhookRejection>((verified.tag, body))
            };
            Ok(match checked.await {
                Ok((tag, body)) => this.queue.store(&body, &tag).await,
                Err(rejection) => {
                    let peer = parts.extensions.get::<std::net::SocketAddr>().copied();
                    rejection.log(body::event_header(&parts.headers), peer);
                    rejection.to_response()
                }
            })
        })
    }
}

impl Queue {
    /// Pushes and answers: 202 once committed, 503 (logged) when not.
    async fn store(&self, body: &Bytes, tag: &[u8; 32]) -> Response<String> {
        let (status, text) = match self.push(body, tag).await {
            Ok(()) => (StatusCode::ACCEPTED, "stored\n"),
            Err(e) => {
                tracing::error!(error = %e, "could not store a verified delivery; answered 503");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the delivery could not be stored\n",
                )
            }
        };
        let mut response = Response::new(text.to_owned());
        *response.status_mut() = status;
        response
    }
}

/// An actix-web handler that verifies, stores and answers 202, with the
/// [`Verifier`] and the [`Queue`] from `app_data` (as themselves):
/// `web::post().to(bedrud_webhook::queue::actix_enqueue)`.
#[cfg(feature = "actix-web")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
pub async fn actix_enqueue(
    req: actix_web::HttpRequest,
    body: crate::VerifiedBody,
) -> actix_web::HttpResponse {
    // The `VerifiedBody` extractor read and verified the body; verifying
    // again (one HMAC) returns the tag it does not keep.
    let (Some(verifier), Some(queue)) = (req.app_data::<Verifier>(), req.app_data::<Queue>())
    else {
        return actix_web::ResponseError::error_response(&WebhookRejection::MissingVerifier);
    };
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()));
    let response = match verifier.verify_pairs(headers, &body.0) {
        Ok(verified) => queue.store(&body.0, &verified.tag).await,
        Err(e) => WebhookRejection::from(e).to_response(),
    };
    let status = actix_web::http::StatusCode::from_u16(response.status().as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    actix_web::HttpResponse::build(status).body(response.into_body())
}
