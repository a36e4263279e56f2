//! `listen --queue FILE`: store each verified delivery in SQLite before
//! answering 202; and `dead`: list and re-run the deliveries whose handler
//! failed on every attempt. The worker is the integrator's program
//! (`Queue::run_worker` on the same file).

use anyhow::Context;
use axum::response::{IntoResponse, Response};
use bedrud_webhook::queue::Queue;
use bytes::Bytes;
use clap::{Args, Subcommand};
use http::StatusCode;

use crate::{out, redact, show, usage};

/// `dead`.
#[derive(Debug, Args)]
pub(crate) struct DeadArgs {
    /// The queue: a SQLite file (as given to `listen --queue`) or a
    /// postgres:// URL.
    #[arg(long, value_name = "FILE|URL", global = true)]
    pub(crate) queue: Option<String>,
    #[command(subcommand)]
    pub(crate) action: DeadAction,
}

/// What `dead` does.
#[derive(Debug, Subcommand)]
pub(crate) enum DeadAction {
    /// One line per dead delivery: id, attempts, event, received, last error.
    List,
    /// Queue dead deliveries again, with all their attempts.
    Rerun {
        /// The ids `dead list` shows; `--all` for every dead delivery.
        #[arg(value_name = "ID", required_unless_present = "all")]
        ids: Vec<String>,
        /// Re-run every dead delivery.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

/// Opens the `--queue` of `listen` and `dead`. Its password is never
/// shown, not even where the storage's message quotes the URL.
pub(crate) async fn open(path: &str) -> anyhow::Result<Queue> {
    let shown = redact(path);
    let queue = Queue::connect(path).await;
    let queue = queue.map_err(|e| anyhow::anyhow!(e.to_string().replace(path, &shown)));
    queue.with_context(|| format!("cannot open the queue {}", show(&shown)))
}

/// `dead` acts on a queue that exists: a SQLite file that is not there is
/// a mistake (a typo, another directory), not a new empty queue to create.
fn existing(path: &str) -> anyhow::Result<()> {
    if path.starts_with("postgres://") || path.starts_with("postgresql://") {
        return Ok(());
    }
    let file = path.strip_prefix("sqlite://").unwrap_or(path);
    match std::fs::metadata(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(usage(format!(
            "--queue {}: no such file (listen --queue creates a queue; dead reads one)",
            show(file)
        ))),
        _ => Ok(()),
    }
}

/// Stores a verified delivery under the tag its check computed: 202 once
/// committed, 503 when not.
pub(crate) async fn commit(
    queue: &Queue,
    body: Bytes,
    tag: &[u8; 32],
) -> (Result<Bytes, (&'static str, String)>, Response) {
    match queue.push(body.clone(), tag).await {
        Ok(()) => (Ok(body), StatusCode::ACCEPTED.into_response()),
        Err(e) => {
            let response = (StatusCode::SERVICE_UNAVAILABLE, "not stored\n").into_response();
            (Err(("storage_failed", e.to_string())), response)
        }
    }
}

/// `dead list` and `dead rerun`.
pub(crate) async fn dead(args: DeadArgs) -> anyhow::Result<bool> {
    let Some(path) = args.queue else {
        return Err(usage("dead needs --queue FILE|URL"));
    };
    existing(&path)?;
    let queue = open(&path).await?;
    let dead = queue.dead().await?;
    match args.action {
        DeadAction::List => {
            for d in &dead {
                let event = d.envelope().map(|e| e.event.name().to_owned());
                let error = d.last_error.as_deref().unwrap_or("-");
                out(format!(
                    "{}  attempts={}  event={}  received_at={}  last_error={}",
                    d.id,
                    d.attempts,
                    show(&event.unwrap_or_else(|e| format!("unparsable: {e}"))),
                    d.received_at,
                    show(error),
                ));
            }
            out(format!("{} dead", dead.len()));
            Ok(true)
        }
        DeadAction::Rerun { ids, all } => {
            let ids = match all {
                true => dead.into_iter().map(|d| d.id).collect(),
                false => ids,
            };
            let mut every = true;
            for id in &ids {
                let queued = queue.rerun(id).await?;
                out(format!(
                    "{}  {}",
                    show(id),
                    if queued {
                        "queued again"
                    } else {
                        "not a dead delivery"
                    }
                ));
                every &= queued;
            }
            Ok(every)
        }
    }
}
