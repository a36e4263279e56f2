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
//! keeps the delivery as dead: [`Queue::list`] shows it (and every other
//! stored delivery, with its [`State`]), [`Queue::rerun`] queues it again.
//!
//! The jobs are [apalis](https://docs.rs/apalis) tasks in one of its engines:
//! SQLite (`queue-sqlite`: one file, nothing to install) or Postgres
//! (`queue-postgres`: several replicas share it). Each delivery is stored once
//! under its signature tag, so the same delivery arriving twice, or at two
//! replicas, is processed once. Processing is at least once: a worker killed
//! after the handler returned and before apalis recorded it runs it again.
//!
//! Pushes that arrive together are committed in one transaction (group
//! commit), each answered once it is committed. SQLite runs in WAL mode
//! with `synchronous=NORMAL` by default: a committed delivery survives the
//! process being killed, not a power cut or an OS crash. With
//! `deliveries.db?synchronous=full` every commit is fsynced before the 202,
//! and survives those too (so does Postgres with its defaults).
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
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use apalis::layers::WorkerBuilderExt;
use apalis::layers::retry::HasherRng;
use apalis::layers::retry::Policy;
use apalis::layers::retry::backoff::{Backoff, ExponentialBackoffMaker, MakeBackoff};
use apalis::prelude::BackendExt;
use apalis::prelude::Strategy;
use apalis::prelude::{
    Attempt, BoxDynError, FromRequest, Task, TaskBuilder, TaskId, WorkerBuilder, WorkerContext,
};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Body;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc, oneshot};
use tower_service::Service;

use crate::check::{self, Checked};
use bedrud_webhook_types::RawEnvelope;

use crate::{
    Envelope, ParseError, ResponseFuture, Timestamp, Verified, Verifier, WebhookRejection, body,
};

/// A stored row's [`State`] in SQL, the same for both engines but for how
/// each writes "now" (`$now`). A row its worker holds between two attempts
/// has the next attempt's time in `run_at` ([`Retry`] records it).
macro_rules! state_of_row {
    ($now:literal) => {
        concat!(
            "CASE WHEN status = 'Done' THEN 'done' \
             WHEN status = 'Killed' OR (status = 'Failed' AND attempts >= max_attempts) THEN 'dead' \
             WHEN status IN ('Queued', 'Running') AND attempts > 0 AND run_at > ",
            $now,
            " THEN 'retrying' WHEN status IN ('Queued', 'Running') THEN 'running' \
             WHEN attempts > 0 THEN 'retrying' ELSE 'pending' END"
        )
    };
}

#[cfg(feature = "queue-postgres")]
mod postgres;
#[cfg(feature = "queue-sqlite")]
mod sqlite;

/// The apalis queue (its `job_type`) the deliveries go to.
const QUEUE: &str = "bedrud-deliveries";

/// How long a push may take, waiting for a connection or a lock included,
/// before it fails and the delivery is answered 503: well inside Bedrud's 10 s.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// How often an idle worker looks for deliveries pushed by other processes
/// (a push in its own process wakes it at once).
const POLL: Duration = Duration::from_millis(100);

/// A stored delivery, in the serde form the storage holds: later versions of
/// the SDK read it (`v` tells them which one wrote it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Job {
    /// The version of this form: 1.
    v: u32,
    /// The signature's HMAC tag in lowercase hex: the delivery's identity.
    tag: String,
    /// When it was received, in seconds since the Unix epoch.
    received_at: i64,
    /// The exact verified body (JSON, so UTF-8).
    body: String,
}

/// Where a stored delivery is in its life, as [`Queue::list`] sorts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// Waiting for its first attempt.
    Pending,
    /// Taken by a worker, which is running it now.
    Running,
    /// Failed at least once, with attempts left: waiting for the next one
    /// (its worker's backoff, or a worker to take it up).
    Retrying,
    /// Failed on every attempt (or was killed): kept for [`Queue::rerun`].
    Dead,
    /// Handled; kept for [`Queue::keep_done`], then pruned.
    Done,
}

impl State {
    /// Every state, in the order a delivery goes through them.
    pub const ALL: [State; 5] = [
        State::Pending,
        State::Running,
        State::Retrying,
        State::Dead,
        State::Done,
    ];

    /// Its name in lowercase: `pending`, `running`, `retrying`, `dead`, `done`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::Retrying => "retrying",
            State::Dead => "dead",
            State::Done => "done",
        }
    }

    /// The state named `name` (as [`as_str`](Self::as_str) writes it).
    #[must_use]
    pub fn from_name(name: &str) -> Option<State> {
        State::ALL.into_iter().find(|state| state.as_str() == name)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A delivery in the queue, in any [`State`]: what [`Queue::list`] and
/// [`Queue::get`] read.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StoredDelivery {
    /// The job's id in the storage (a ULID), for [`Queue::get`] and [`Queue::rerun`].
    pub id: String,
    /// Where it is in its life.
    pub state: State,
    /// How many times the handler ran, as the storage last recorded it; for
    /// the handler of [`Queue::run_worker_raw`], the attempt under way (from 1).
    pub attempts: u32,
    /// How many times the handler may run before the delivery is dead.
    pub max_attempts: u32,
    /// The message of the last failed attempt, when the last one failed.
    pub last_error: Option<String>,
    /// The signature's HMAC tag in lowercase hex: the delivery's identity.
    pub tag: String,
    /// When it was received (to the second).
    pub received_at: Timestamp,
    /// The exact verified body.
    pub body: String,
    /// When it runs next: for [`State::Pending`] and [`State::Retrying`] only.
    pub run_at: Option<Timestamp>,
    /// When it was handled or died: for [`State::Done`] and [`State::Dead`] only.
    pub done_at: Option<Timestamp>,
}

impl StoredDelivery {
    /// The typed envelope of the stored body.
    ///
    /// # Errors
    ///
    /// [`ParseError`] when the body is not a Bedrud envelope.
    pub fn envelope(&self) -> Result<Envelope, ParseError> {
        Envelope::from_slice(self.body.as_bytes())
    }
}

/// A row as the engines read it: id, state (as [`State::as_str`]), attempts,
/// max attempts, the job, the last result, run_at and done_at (Unix seconds).
type Row = (
    String,
    String,
    i64,
    i64,
    Vec<u8>,
    Option<String>,
    i64,
    Option<i64>,
);

impl StoredDelivery {
    fn from_row(row: Row) -> Result<StoredDelivery, QueueError> {
        let (id, state, attempts, max_attempts, job, last_result, run_at, done_at) = row;
        let Job {
            tag,
            received_at,
            body,
            ..
        } = serde_json::from_slice(&job).map_err(storage)?;
        let state = State::from_name(&state)
            .ok_or_else(|| storage(format!("job {id}: unknown state {state:?}")))?;
        let count = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        let at = |secs: i64| Timestamp::from_unix_seconds(secs).ok();
        let waiting = matches!(state, State::Pending | State::Retrying);
        let finished = matches!(state, State::Done | State::Dead);
        Ok(StoredDelivery {
            state,
            attempts: count(attempts),
            max_attempts: count(max_attempts),
            last_error: last_result.as_deref().and_then(error_text),
            tag,
            received_at: Timestamp::from_unix_seconds(received_at).map_err(storage)?,
            body,
            run_at: at(run_at).filter(|_| waiting),
            done_at: done_at.and_then(at).filter(|_| finished),
            id,
        })
    }
}

/// The message in apalis's record of an attempt: `{"Err":"…"}` gives `…`,
/// `{"Ok":…}` nothing; anything else is shown as it is.
fn error_text(last_result: &str) -> Option<String> {
    use serde_json::Value;
    match serde_json::from_str::<Value>(last_result) {
        Ok(Value::Null) => None,
        Ok(Value::Object(map)) if map.contains_key("Ok") => None,
        Ok(Value::Object(map)) => match map.get("Err") {
            Some(Value::String(message)) => Some(message.clone()),
            Some(other) => Some(other.to_string()),
            None => Some(last_result.to_owned()),
        },
        Ok(Value::String(message)) => Some(message),
        _ => Some(last_result.to_owned()),
    }
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
    /// The storage failed; the message includes the cause (which is not
    /// repeated as a `source`, so that a chain prints it once).
    #[error("the queue storage failed: {0}")]
    Storage(BoxDynError),
}

fn storage(e: impl Into<BoxDynError>) -> QueueError {
    QueueError::Storage(e.into())
}

#[derive(Clone)]
enum Engine {
    #[cfg(feature = "queue-sqlite")]
    Sqlite(sqlite::Pool),
    #[cfg(feature = "queue-postgres")]
    Postgres(postgres::Pool),
}

/// The one place that matches on the engine: `$body` runs with `$m` naming
/// the engine's module (`sqlite` or `postgres`) and `$pool` its pool.
macro_rules! on_engine {
    ($engine:expr, |$m:ident, $pool:ident| $body:expr) => {
        match $engine {
            #[cfg(feature = "queue-sqlite")]
            Engine::Sqlite($pool) => {
                use sqlite as $m;
                $body
            }
            #[cfg(feature = "queue-postgres")]
            Engine::Postgres($pool) => {
                use postgres as $m;
                $body
            }
        }
    };
}

/// Deliveries in durable storage; see the [module documentation](self).
/// Cloning is cheap: the clones share one connection pool.
#[derive(Clone)]
pub struct Queue {
    engine: Engine,
    /// The pushes waiting for [`commit_groups`].
    waiting: mpsc::Sender<Waiting>,
    /// Told of each push, so that a worker in this process starts at once.
    pushed: Arc<Notify>,
    attempts: u32,
    backoff: (Duration, Duration),
    keep_done: Duration,
}

impl fmt::Debug for Queue {
    // The URL (and any password in it) is not kept; only the engine is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let engine = on_engine!(&self.engine, |m, _pool| m::NAME);
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
    /// SQLite file path (optionally `sqlite://path`), created if missing,
    /// and ending in `?synchronous=full` to fsync each commit (see the
    /// [module documentation](self)).
    ///
    /// # Errors
    ///
    /// [`QueueError::UnsupportedUrl`] for an engine this build lacks,
    /// [`QueueError::Storage`] when it cannot be opened or migrated.
    pub async fn connect(url: &str) -> Result<Queue, QueueError> {
        let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        let engine = match postgres {
            #[cfg(feature = "queue-postgres")]
            true => Engine::Postgres(postgres::connect(url).await?),
            #[cfg(feature = "queue-sqlite")]
            false => {
                Engine::Sqlite(sqlite::connect(url.strip_prefix("sqlite://").unwrap_or(url)).await?)
            }
            #[allow(unreachable_patterns, reason = "with both engines built")]
            _ => return Err(QueueError::UnsupportedUrl),
        };
        let (waiting, received) = mpsc::channel(GROUP * 4);
        tokio::spawn(commit_groups(engine.clone(), received));
        Ok(Queue {
            engine,
            waiting,
            pushed: Arc::default(),
            // 5 s doubling to 5 min: the 8 attempts span about 10 minutes.
            attempts: 8,
            backoff: (Duration::from_secs(5), Duration::from_secs(300)),
            keep_done: Duration::from_secs(24 * 60 * 60),
        })
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
        let pruned = on_engine!(&self.engine, |m, pool| m::prune(pool, secs).await);
        pruned.map_err(storage)
    }

    /// Stores a delivery that [`Verifier::verify`] accepted: its exact body
    /// and the tag it returned. Resolves once the write is committed, within
    /// 5 s; a delivery already stored under the same tag is not stored again.
    ///
    /// # Errors
    ///
    /// [`QueueError::Storage`] when the write failed or took too long: answer 503.
    pub async fn push(&self, body: Bytes, tag: &[u8; 32]) -> Result<(), QueueError> {
        let body = String::from_utf8(Vec::from(body))
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        let tag = const_hex::encode(tag);
        let received_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let task = TaskBuilder::new(Job {
            v: 1,
            tag: tag.clone(),
            received_at,
            body,
        })
        .idempotency_key(tag)
        .max_attempts(self.attempts as usize)
        .build();
        let (answer, committed) = oneshot::channel();
        // A database that stops answering (paused, or its disk stalled) must
        // still get the delivery its 503 inside Bedrud's timeout.
        fn stopped<E>(_: E) -> QueueError {
            storage("the queue's writer has stopped")
        }
        let pushed = tokio::time::timeout(WRITE_TIMEOUT, async {
            self.waiting.send((task, answer)).await.map_err(stopped)?;
            committed.await.map_err(stopped)?
        });
        match pushed.await {
            Ok(Ok(())) => {
                self.pushed.notify_one();
                Ok(())
            }
            Ok(Err(error)) => Err(error),
            Err(_) => Err(storage(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the write did not complete within 5 s",
            ))),
        }
    }

    /// The deliveries dashboard (apalis-board 1.0) as an axum router: its UI
    /// at `/`, its JSON API under `/api/v1` (the queue's tasks by state, one
    /// task's stored delivery, attempts and last result, the workers). The
    /// API can push a task (`PUT /api/v1/queues/bedrud-deliveries/tasks`):
    /// serve it to operators only, behind authentication off loopback.
    #[cfg(feature = "dashboard")]
    #[cfg_attr(docsrs, doc(cfg(feature = "dashboard")))]
    pub fn dashboard(&self) -> axum::Router {
        use apalis_board_api::framework::{ApiBuilder, RegisterRoute};
        let api = ApiBuilder::new(axum::Router::new());
        let api = on_engine!(&self.engine, |m, pool| api
            .register(QUEUE, m::storage_of(pool))
            .build());
        // Unknown API paths (the UI's `/events` stream, not built) are 404,
        // not the UI's page.
        let api = api.fallback(|| async { StatusCode::NOT_FOUND });
        axum::Router::new()
            .nest("/api/v1", api)
            .fallback_service(apalis_board_api::ui::ServeUI::new())
    }

    /// Pushes a checked delivery: `Ok` once committed, else the 503 (logged).
    async fn commit<T>(&self, checked: Checked<T>) -> Result<(), WebhookRejection> {
        self.push(checked.body, &checked.tag)
            .await
            .map_err(|error| {
                tracing::error!(%error, "could not store a verified delivery; answered 503");
                WebhookRejection::StorageUnavailable
            })
    }

    /// A tower service that verifies each request with `verifier`, stores it
    /// and answers `202 Accepted`: for axum's `route_service`, or hyper with
    /// `TowerToHyperService`. A refused request gets the integrations'
    /// usual answer (401, 400, 405, 408, 413); a failed write, 503.
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
        self.run_worker_raw(move |delivery: StoredDelivery| {
            let handler = handler.clone();
            async move {
                let envelope = delivery.envelope()?;
                handler(envelope).await.map_err(Into::into)
            }
        })
        .await;
    }

    /// As [`run_worker`](Self::run_worker), but `handler` gets the stored
    /// delivery itself: the exact body, its tag (the same on every attempt)
    /// and the attempt under way ([`StoredDelivery::attempts`]); for a
    /// handler that passes the bytes on, as `bedrud-webhook listen
    /// --forward-to` does.
    pub async fn run_worker_raw<F, Fut, E>(&self, handler: F)
    where
        F: Fn(StoredDelivery) -> Fut + Clone + Send + Sync + 'static,
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
        // The state gauges, every 15 s (feature `metrics`).
        #[cfg(feature = "metrics")]
        let gauges = async {
            let mut every = tokio::time::interval(Duration::from_secs(15));
            loop {
                every.tick().await;
                if let Err(error) = self.gauge_states().await {
                    tracing::warn!(%error, "could not count the stored deliveries");
                }
            }
        };
        #[cfg(not(feature = "metrics"))]
        let gauges = std::future::pending::<()>();
        futures_util::future::join3(work, prune, gauges).await;
    }

    /// Sets `bedrud_webhook_queue_deliveries{state}` and
    /// `bedrud_webhook_queue_oldest_pending_seconds` from the storage.
    #[cfg(feature = "metrics")]
    async fn gauge_states(&self) -> Result<(), QueueError> {
        let counts = on_engine!(&self.engine, |m, pool| m::counts(pool).await);
        let counts = counts.map_err(storage)?;
        let of = |state: State| counts.iter().find(|(s, ..)| s == state.as_str());
        crate::check::describe_metrics();
        for state in [State::Pending, State::Running, State::Retrying, State::Dead] {
            let n = of(state).map_or(0, |(_, n, _)| *n);
            metrics::gauge!("bedrud_webhook_queue_deliveries", "state" => state.as_str())
                .set(n as f64);
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let oldest = of(State::Pending).and_then(|(.., at)| *at);
        let age = oldest.map_or(0, |at| (i64::try_from(now).unwrap_or(i64::MAX) - at).max(0));
        metrics::gauge!("bedrud_webhook_queue_oldest_pending_seconds").set(age as f64);
        Ok(())
    }

    /// One apalis worker run, until its first error. Driven as a stream (as
    /// apalis's `Monitor` does): `Worker::run`'s future is not provably
    /// `Send` (a rustc limit with higher-ranked lifetimes), so `tokio::spawn`
    /// would refuse `run_worker`.
    fn worker<F, Fut, E>(&self, run: u64, handler: F) -> WorkerRun
    where
        F: Fn(StoredDelivery) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxDynError> + 'static,
    {
        let handle = move |job: Job, attempt: Attempt, id: TaskId, limit: Limit| {
            let handler = handler.clone();
            async move {
                // The event, for the line below: parsed only when it is kept.
                let event = tracing::enabled!(tracing::Level::INFO).then(|| {
                    let raw = RawEnvelope::from_slice(job.body.as_bytes());
                    raw.as_ref()
                        .map_or("unknown", RawEnvelope::event)
                        .to_owned()
                });
                let delivery = StoredDelivery {
                    id: id.to_string(),
                    state: State::Running,
                    attempts: u32::try_from(attempt.current()).unwrap_or(u32::MAX),
                    max_attempts: limit.0,
                    last_error: None,
                    received_at: Timestamp::from_unix_seconds(job.received_at)?,
                    tag: job.tag,
                    body: job.body,
                    run_at: None,
                    done_at: None,
                };
                handler(delivery).await.map_err(Into::into)?;
                #[cfg(feature = "metrics")]
                {
                    crate::check::describe_metrics();
                    metrics::counter!("bedrud_webhook_handler_runs_total", "result" => "ok")
                        .increment(1);
                }
                let event = event.as_deref().unwrap_or("unknown");
                tracing::info!(%id, %event, attempt = attempt.current(), "handled a delivery");
                Ok::<(), BoxDynError>(())
            }
        };
        // Names must be new on every run: apalis refuses a name seen recently.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("bedrud-{}-{nanos}-{run}", std::process::id());
        // `backoff()` keeps 0 < first <= max, so the maker cannot refuse it.
        let backoff =
            ExponentialBackoffMaker::new(self.backoff.0, self.backoff.1, 0.5, HasherRng::default())
                .unwrap_or_default();
        let retry = Retry {
            backoff,
            nominal: None,
            attempts: self.attempts as usize,
            first: self.backoff,
            engine: self.engine.clone(),
        };
        let worker = WorkerBuilder::new(name);
        on_engine!(&self.engine, |m, pool| {
            // An idle worker looks again when this process pushes, and every
            // POLL (apalis would wait for its next heartbeat).
            let poll = Strategy::new().stream(pushes(&self.pushed)).interval(POLL);
            let storage = m::storage_of(pool).poll_with_strategy(poll);
            let worker = worker.backend(storage).retry(retry);
            drive(worker.build(handle).stream())
        })
    }

    /// The stored deliveries in `state` (all of them with `None`), oldest first.
    ///
    /// # Errors
    ///
    /// [`QueueError::Storage`] when the storage cannot be read.
    pub async fn list(&self, state: Option<State>) -> Result<Vec<StoredDelivery>, QueueError> {
        let state = state.map(State::as_str);
        let rows = on_engine!(&self.engine, |m, pool| m::select(pool, state, None).await);
        let rows = rows.map_err(storage)?.into_iter();
        rows.map(StoredDelivery::from_row).collect()
    }

    /// The stored delivery `id`, if there is one.
    ///
    /// # Errors
    ///
    /// [`QueueError::Storage`] when the storage cannot be read.
    pub async fn get(&self, id: &str) -> Result<Option<StoredDelivery>, QueueError> {
        let rows = on_engine!(&self.engine, |m, pool| m::select(pool, None, Some(id))
            .await);
        let row = rows.map_err(storage)?.into_iter().next();
        row.map(StoredDelivery::from_row).transpose()
    }

    /// Queues the dead delivery `id` again, with all its attempts. Returns
    /// whether there was such a dead delivery.
    ///
    /// # Errors
    ///
    /// [`QueueError::Storage`] when the storage cannot be written.
    pub async fn rerun(&self, id: &str) -> Result<bool, QueueError> {
        let rerun = on_engine!(&self.engine, |m, pool| m::rerun(pool, id).await);
        Ok(rerun.map_err(storage)? > 0)
    }
}

/// The attempts a task may take, as stored with it (the pusher's
/// [`Queue::attempts`]), for the handler's [`StoredDelivery`].
struct Limit(u32);

impl FromRequest<Task<Job>> for Limit {
    type Error = Infallible;

    async fn from_request(task: &Task<Job>) -> Result<Limit, Infallible> {
        let limit = task.max_attempts().unwrap_or_default();
        Ok(Limit(u32::try_from(limit).unwrap_or(u32::MAX)))
    }
}

/// How many deliveries a worker takes at a time.
const BATCH: usize = 64;

/// The most pushes committed in one transaction.
const GROUP: usize = 256;

/// A push waiting for the next group commit, and where its outcome goes.
type Waiting = (Task<Job>, oneshot::Sender<Result<(), QueueError>>);

/// Commits the pushes that wait together in one transaction, then answers
/// each of them (group commit: one commit, and with `synchronous=FULL` one
/// fsync, for many deliveries). Ends when every [`Queue`] clone is gone.
async fn commit_groups(engine: Engine, mut waiting: mpsc::Receiver<Waiting>) {
    let mut group = Vec::with_capacity(GROUP);
    while waiting.recv_many(&mut group, GROUP).await > 0 {
        let (tasks, answers): (Vec<_>, Vec<_>) = group.drain(..).unzip();
        let committed = on_engine!(&engine, |m, pool| m::push_all(pool, tasks).await);
        let committed = committed.map_err(|e| e.to_string());
        for answer in answers {
            // A pusher that gave up (its 5 s are over) has answered 503.
            let _gave_up = answer.send(committed.clone().map_err(storage));
        }
    }
}

/// A stream with an item for each time `pushed` is notified.
fn pushes(pushed: &Arc<Notify>) -> Pin<Box<dyn futures_util::Stream<Item = ()> + Send + Sync>> {
    let pushed = Arc::clone(pushed);
    Box::pin(futures_util::stream::unfold(pushed, |pushed| async move {
        pushed.notified().await;
        Some(((), pushed))
    }))
}

type WorkerRun = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// Polls a worker's event stream until it ends or fails.
fn drive<T, E: fmt::Display>(
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

/// The worker's retry policy: a failed delivery runs again, after an
/// exponential backoff, until the attempts stored with it are spent (the
/// pusher's [`Queue::attempts`], so that every worker agrees); each failure
/// is logged here, where that decision is made.
#[derive(Clone)]
struct Retry {
    backoff: ExponentialBackoffMaker<HasherRng>,
    /// This task's backoff, made on its first failure.
    nominal: Option<apalis::layers::retry::backoff::ExponentialBackoff<HasherRng>>,
    /// For a delivery stored without a count.
    attempts: usize,
    /// The first wait and the longest, for the log line.
    first: (Duration, Duration),
    /// Where each failed attempt is recorded.
    engine: Engine,
}

impl<Res, Err: fmt::Display> Policy<Task<Job>, Res, Err> for Retry {
    type Future = Pin<Box<dyn Future<Output = ()> + Send>>;

    fn retry(
        &mut self,
        task: &mut Task<Job>,
        result: &mut Result<Res, Err>,
    ) -> Option<Self::Future> {
        let Err(error) = result else { return None };
        let (k, n) = (task.attempt(), task.max_attempts().unwrap_or(self.attempts));
        let id = task.task_id().map(ToString::to_string).unwrap_or_default();
        let event = RawEnvelope::from_slice(task.args.body.as_bytes());
        let event = event
            .as_ref()
            .map_or("(not an envelope)", RawEnvelope::event);
        #[cfg(feature = "metrics")]
        {
            crate::check::describe_metrics();
            metrics::counter!("bedrud_webhook_handler_runs_total", "result" => "error")
                .increment(1);
        }
        let shutting_down = task
            .data()
            .get::<WorkerContext>()
            .is_some_and(WorkerContext::is_shutting_down);
        // The backoff adds jitter of up to half the wait.
        let wait = self
            .first
            .0
            .saturating_mul(1 << (k.max(1) - 1).min(20))
            .min(self.first.1);
        let next = (k < n && !shutting_down).then_some(wait);
        tracing::warn!(%id, %event, %error, next_attempt_in = ?next,
            "a delivery's handler failed attempt {k} of {n}");
        if k >= n {
            #[cfg(feature = "metrics")]
            metrics::counter!("bedrud_webhook_dead_total").increment(1);
            tracing::error!(%id, %event, %error, "a delivery is dead after {n} failed attempts; \
                `bedrud-webhook deliveries list --state dead` shows it, `deliveries rerun` runs it again");
        }
        next?;
        let backoff = self
            .nominal
            .get_or_insert_with(|| self.backoff.make_backoff());
        let sleep = backoff.next_backoff();
        // Recorded, so that `deliveries list` shows it retrying, with its
        // attempts, its error and when it runs next (and a worker that dies
        // meanwhile leaves it to run then, its count kept).
        let wait = sleep.deadline() - tokio::time::Instant::now();
        let wait = i64::try_from(wait.as_secs() + 1).unwrap_or(i64::MAX);
        let result = serde_json::json!({ "Err": error.to_string() }).to_string();
        let (engine, k) = (self.engine.clone(), i64::try_from(k).unwrap_or(i64::MAX));
        Some(Box::pin(async move {
            let recorded = on_engine!(&engine, |m, pool| m::record_attempt(
                pool, &id, k, &result, wait
            )
            .await);
            if let Err(error) = recorded {
                tracing::warn!(%id, %error, "could not record a failed attempt");
            }
            sleep.await;
        }))
    }

    fn clone_request(&mut self, task: &Task<Job>) -> Option<Task<Job>> {
        Some(task.clone())
    }
}

/// Verifies, stores and answers 202; see [`Queue::service`].
#[derive(Debug, Clone)]
pub struct Enqueue {
    queue: Queue,
    verifier: Verifier,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What every durable route answers once the delivery is committed.
fn accepted() -> Response<String> {
    let mut response = Response::new("stored\n".to_owned());
    *response.status_mut() = StatusCode::ACCEPTED;
    response
}

/// The data is typed before the 202, or the worker would fail on it until dead.
fn typed(verified: &Verified<'_>) -> Result<(), crate::VerifyError> {
    verified.parse().map(drop)
}

impl<B> Service<Request<B>> for Enqueue
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<String>;
    type Error = Infallible;
    type Future = ResponseFuture<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let this = self.clone();
        ResponseFuture::new(async move {
            let (parts, body) = req.into_parts();
            let read = |verifier| body::read(&parts.headers, body, verifier);
            let request = check::Request::http(&parts);
            let checked = check::check(request, Some(&this.verifier), read, typed).await;
            let stored = match checked {
                Ok(checked) => this.queue.commit(checked).await,
                Err(rejection) => Err(rejection),
            };
            Ok(stored.map_or_else(|rejection| rejection.to_response(), |()| accepted()))
        })
    }
}

/// An actix-web handler that verifies, stores and answers 202, with the
/// [`Verifier`] and the [`Queue`] from `app_data` (as themselves or in
/// `web::Data`): `web::post().to(bedrud_webhook::queue::actix_enqueue)`.
#[cfg(feature = "actix-web")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
pub async fn actix_enqueue(
    req: actix_web::HttpRequest,
    payload: actix_web::web::Payload,
) -> actix_web::HttpResponse {
    use actix_web::ResponseError;
    let Some(queue) = crate::actix::find::<Queue>(&req) else {
        tracing::error!("no bedrud_webhook::queue::Queue in app_data; answered 500");
        return actix_web::HttpResponse::InternalServerError()
            .body("no bedrud_webhook::queue::Queue is configured for this route\n");
    };
    let checked = crate::actix::extract(req, payload.into_inner(), typed).await;
    let stored = match checked {
        Ok(checked) => queue.commit(checked).await,
        Err(rejection) => Err(rejection),
    };
    match stored {
        Ok(()) => crate::actix::response(accepted()),
        Err(rejection) => rejection.error_response(),
    }
}
