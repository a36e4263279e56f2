//! `listen --queue FILE`: store each verified delivery in SQLite before
//! answering 202; `deliveries`: list, show and re-run the stored deliveries;
//! and `dead`, the short form for the ones whose handler failed on every
//! attempt. The worker is the integrator's program
//! (`Queue::run_worker` on the same file).

use anyhow::Context;
use axum::response::{IntoResponse, Response};
use bedrud_webhook::Timestamp;
use bedrud_webhook::queue::{Queue, State, StoredDelivery};
use bytes::Bytes;
use clap::{Args, Subcommand};
use http::StatusCode;

use crate::{out, redact, show, usage};

/// `deliveries`.
#[derive(Debug, Args)]
pub(crate) struct DeliveriesArgs {
    /// The queue: a SQLite file (as given to `listen --queue`) or a
    /// postgres:// URL.
    #[arg(long, value_name = "FILE|URL", global = true)]
    pub(crate) queue: Option<String>,
    #[command(subcommand)]
    pub(crate) action: DeliveriesAction,
}

/// What `deliveries` does.
#[derive(Debug, Subcommand)]
pub(crate) enum DeliveriesAction {
    /// One line per stored delivery: id, state, attempts, event, received,
    /// last error.
    List {
        /// Only the deliveries in this state.
        #[arg(long, value_name = "STATE", value_parser = state())]
        state: Option<State>,
        /// One JSON object per line (with the body), for jq.
        #[arg(long)]
        json: bool,
    },
    /// One delivery: its state, attempts, times, last error and body.
    Show {
        /// The id `deliveries list` shows.
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Queue dead deliveries again, with all their attempts.
    Rerun {
        /// The ids `deliveries list --state dead` shows.
        #[arg(value_name = "ID", required_unless_present = "all_dead")]
        ids: Vec<String>,
        /// Re-run every dead delivery.
        #[arg(long, conflicts_with = "ids")]
        all_dead: bool,
    },
}

/// `dead`: `deliveries` for the dead ones, in short.
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
    /// As `deliveries list --state dead`, then how many.
    List,
    /// As `deliveries rerun`: queue dead deliveries again.
    Rerun {
        /// The ids `dead list` shows; `--all` for every dead delivery.
        #[arg(value_name = "ID", required_unless_present = "all")]
        ids: Vec<String>,
        /// Re-run every dead delivery.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

/// `--state`: one of the names `State::as_str` writes.
fn state() -> impl clap::builder::TypedValueParser<Value = State> {
    use clap::builder::TypedValueParser;
    let names = State::ALL.map(State::as_str);
    clap::builder::PossibleValuesParser::new(names)
        .map(|name: String| State::from_name(&name).unwrap_or(State::Dead))
}

/// Opens the `--queue` of `listen`, `deliveries` and `dead`. Its password is never
/// shown, not even where the storage's message quotes the URL.
pub(crate) async fn open(path: &str) -> anyhow::Result<Queue> {
    let shown = redact(path);
    let queue = Queue::connect(path).await;
    let queue = queue.map_err(|e| anyhow::anyhow!(e.to_string().replace(path, &shown)));
    queue.with_context(|| format!("cannot open the queue {}", show(&shown)))
}

/// `deliveries` and `dead` act on a queue that exists: a SQLite file that
/// is not there is a mistake (a typo, another directory), not a new empty
/// queue to create. Opened only then.
async fn existing(queue: Option<String>, command: &str) -> anyhow::Result<Queue> {
    let Some(path) = queue else {
        return Err(usage(format!("{command} needs --queue FILE|URL")));
    };
    if path.starts_with("postgres://") || path.starts_with("postgresql://") {
        return open(&path).await;
    }
    let file = path.strip_prefix("sqlite://").unwrap_or(&path);
    let file = file
        .split_once("?synchronous=")
        .map_or(file, |(file, _)| file);
    match std::fs::metadata(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(usage(format!(
            "--queue {}: no such file (listen --queue creates a queue; {command} reads one)",
            show(file)
        ))),
        _ => open(&path).await,
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

/// `deliveries list`, `show` and `rerun`.
pub(crate) async fn deliveries(args: DeliveriesArgs) -> anyhow::Result<bool> {
    let queue = existing(args.queue, "deliveries").await?;
    match args.action {
        DeliveriesAction::List { state, json } => list(&queue, state, json).await,
        DeliveriesAction::Show { id } => {
            let Some(d) = queue.get(&id).await? else {
                anyhow::bail!("no delivery {} in the queue", show(&id));
            };
            let event = event(&d);
            let at = |t: Option<Timestamp>| t.map_or_else(|| "-".to_owned(), |t| t.to_string());
            out(format!("id           {}", d.id));
            out(format!("state        {}", d.state));
            out(format!("attempts     {}/{}", d.attempts, d.max_attempts));
            out(format!("event        {}", show(&event)));
            out(format!("tag          {}", d.tag));
            out(format!("received_at  {}", d.received_at));
            out(format!("run_at       {}", at(d.run_at)));
            out(format!("done_at      {}", at(d.done_at)));
            out(format!(
                "last_error   {}",
                d.last_error.as_deref().map_or_else(|| "-".to_owned(), safe)
            ));
            out("body");
            out(pretty(&d.body));
            Ok(true)
        }
        DeliveriesAction::Rerun { ids, all_dead } => rerun(&queue, ids, all_dead).await,
    }
}

/// `dead list` and `dead rerun`.
pub(crate) async fn dead(args: DeadArgs) -> anyhow::Result<bool> {
    let queue = existing(args.queue, "dead").await?;
    match args.action {
        DeadAction::List => list(&queue, Some(State::Dead), false).await,
        DeadAction::Rerun { ids, all } => rerun(&queue, ids, all).await,
    }
}

/// The event a stored body names, or why it has none.
pub(crate) fn event(d: &StoredDelivery) -> String {
    d.envelope().map_or_else(
        |e| format!("unparsable: {e}"),
        |e| e.event.name().to_owned(),
    )
}

/// The lines of `deliveries list` (and `dead list`).
async fn list(queue: &Queue, state: Option<State>, json: bool) -> anyhow::Result<bool> {
    let listed = queue.list(state).await?;
    for d in &listed {
        let event = event(d);
        if json {
            // The body as JSON in the line when it is JSON (it always is
            // once verified), else as a string.
            let body = serde_json::from_str::<Box<serde_json::value::RawValue>>(&d.body);
            let body =
                body.map_or_else(|_| serde_json::json!(d.body), |raw| serde_json::json!(raw));
            let line = serde_json::json!({
                "id": d.id,
                "state": d.state.as_str(),
                "attempts": d.attempts,
                "max_attempts": d.max_attempts,
                "event": event,
                "tag": d.tag,
                "received_at": d.received_at.to_string(),
                "run_at": d.run_at.map(|t| t.to_string()),
                "done_at": d.done_at.map(|t| t.to_string()),
                "last_error": d.last_error,
                "body": body,
            });
            out(line.to_string());
            continue;
        }
        out(format!(
            "{}  {}  attempts={}/{}  event={}  received_at={}  last_error={}",
            d.id,
            d.state,
            d.attempts,
            d.max_attempts,
            show(&event),
            d.received_at,
            show(d.last_error.as_deref().unwrap_or("-")),
        ));
    }
    if !json {
        let what = state.map_or("deliveries", State::as_str);
        out(format!("{} {what}", listed.len()));
    }
    Ok(true)
}

/// `deliveries rerun` and `dead rerun`: `false` when an id was not dead.
async fn rerun(queue: &Queue, ids: Vec<String>, all: bool) -> anyhow::Result<bool> {
    let ids = match all {
        true => queue
            .list(Some(State::Dead))
            .await?
            .into_iter()
            .map(|d| d.id)
            .collect(),
        false => ids,
    };
    let mut every = true;
    for id in &ids {
        let queued = queue.rerun(id).await?;
        let done = if queued {
            "queued again"
        } else {
            "not a dead delivery"
        };
        out(format!("{}  {done}", show(id)));
        every &= queued;
    }
    Ok(every)
}

/// An error message on one terminal line: its control characters escaped.
fn safe(text: &str) -> String {
    let escape = |c: char| match c.is_control() {
        true => c.escape_default().to_string(),
        false => c.to_string(),
    };
    text.chars().map(escape).collect()
}

/// A JSON text indented by two spaces a level, its tokens (key order,
/// numbers, escapes) exactly as they are; anything else escaped as `safe`.
fn pretty(json: &str) -> String {
    if serde_json::from_str::<serde::de::IgnoredAny>(json).is_err() {
        return safe(json);
    }
    let mut out = String::with_capacity(json.len() * 2);
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    let mut chars = json.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                // An empty object or array stays on its line.
                while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                    chars.next();
                }
                if let Some(close @ ('}' | ']')) = chars.peek().copied() {
                    out.push(close);
                    chars.next();
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_keeps_the_tokens_and_their_order() {
        let body = r#"{"data":{"z":[1, 2.50,{}],"a":"x\"y,{}","e":[]},"event":"ping"}"#;
        assert_eq!(
            pretty(body),
            "{\n  \"data\": {\n    \"z\": [\n      1,\n      2.50,\n      {}\n    ],\n    \
             \"a\": \"x\\\"y,{}\",\n    \"e\": []\n  },\n  \"event\": \"ping\"\n}"
        );
        assert_eq!(pretty("not json\n"), "not json\\n");
    }
}
