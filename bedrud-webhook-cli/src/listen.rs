//! `listen`: a verifying receiver built on the axum integration's extractor
//! and replay guard, served by hyper with a request-head timeout and a cap on
//! connections. The receiver only answers and passes on what it saw; one
//! printer writes the lines (or JSON lines) and the verdict.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::Body;
use axum::extract::FromRequest;
use axum::response::{IntoResponse, Response};
use bedrud_webhook::headers::{EVENT, WEBHOOK_EVENT};
use bedrud_webhook::replay::{ReplayGuardLayer, redis::RedisStore};
use bedrud_webhook::{Envelope, EventKind, Timestamp, VerifiedBody, Verifier, WebhookRejection};
use bytes::Bytes;
use http::header::ALLOW;
use http::{HeaderMap, Method, Request, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tower::{ServiceBuilder, service_fn};

use crate::cli::ListenArgs;
use crate::strict::{self, go_json};
use crate::{err, out, redact, secrets, show, usage};

/// How long a client may take to send a request's head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// A duplicate's line says so: the answer is 2xx, but nothing was handled.
const AGAIN: &str = "already received; not handled again";
/// Refusal lines shown per window; the rest are counted and summed up.
const QUIET_BURST: u64 = 20;
const QUIET_WINDOW: Duration = Duration::from_secs(10);

/// Why a request was refused: the reason, and its explanation.
type Refusal = (&'static str, String);
/// Tells [`serve`] to stop.
pub(crate) type Stop = oneshot::Receiver<()>;

/// One request the receiver answered, as it saw it.
#[derive(Debug)]
pub(crate) struct Seen {
    status: StatusCode,
    peer: SocketAddr,
    headers: HeaderMap,
    /// The verified body, or why the request was refused.
    pub(crate) outcome: Result<Bytes, Refusal>,
}

/// The receiver: `POST path` through the axum integration's extractor
/// (behind the replay guard, if any), a refusal for anything else (so that a
/// misaddressed sender shows up too), and what it saw sent on to the printer.
#[derive(Debug, Clone)]
pub(crate) struct Receiver {
    verifier: Verifier,
    path: Arc<str>,
    /// The replay guard around it: in memory unless set otherwise.
    pub(crate) guard: Option<ReplayGuardLayer>,
    seen: mpsc::UnboundedSender<Seen>,
    /// With `--queue`: genuine deliveries are stored, then answered 202.
    pub(crate) queue: Option<bedrud_webhook::queue::Queue>,
}

impl Receiver {
    pub(crate) fn new(verifier: Verifier, path: &str) -> (Receiver, mpsc::UnboundedReceiver<Seen>) {
        let (seen, received) = mpsc::unbounded_channel();
        let receiver = Receiver {
            guard: Some(ReplayGuardLayer::new(&verifier)),
            verifier,
            path: path.into(),
            seen,
            queue: None,
        };
        (receiver, received)
    }

    async fn answer(self, peer: SocketAddr, request: Request<Incoming>) -> Response {
        let headers = request.headers().clone();
        let right_path = request.uri().path() == &*self.path;
        let (outcome, response) = if request.method() != Method::POST || !right_path {
            let (method, path) = (show(request.method().as_str()), show(request.uri().path()));
            let reason = match right_path {
                true => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
                false => (StatusCode::NOT_FOUND, "not_found"),
            };
            let detail = format!("{method} {path}: deliveries go to POST {}", self.path);
            let response = (reason.0, [(ALLOW, "POST")], format!("{detail}\n")).into_response();
            (Err((reason.1, detail)), response)
        } else {
            let request = request.map(Body::new);
            let verified = VerifiedBody::from_request(request, &self.verifier).await;
            match verified.and_then(typed) {
                Ok(VerifiedBody { body, tag }) => match &self.queue {
                    Some(queue) => crate::queue::commit(queue, body, &tag).await,
                    None => (Ok(body), StatusCode::NO_CONTENT.into_response()),
                },
                Err(no) => (Err((no.reason(), no.to_string())), no.into_response()),
            }
        };
        let status = response.status();
        let _stopping = self.seen.send(Seen {
            status,
            peer,
            headers,
            outcome,
        });
        response
    }
}

/// The delivery, once its data has the types its event needs: the same 400
/// the integration's `Webhook` extractor gives.
fn typed(verified: VerifiedBody) -> Result<VerifiedBody, WebhookRejection> {
    let parsed = Envelope::from_slice(&verified.body).map_err(bedrud_webhook::VerifyError::from);
    parsed.map(|_| verified).map_err(WebhookRejection::from)
}

/// Serves `receiver` until `stop`: HTTP/1.1 with a head timeout, at most
/// `max` connections at once, accept errors waited out. Requests in
/// progress are answered before it returns.
pub(crate) async fn serve(listener: TcpListener, receiver: Receiver, max: usize, stop: Stop) {
    let slots = Arc::new(Semaphore::new(max));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT);
    tokio::pin!(stop);
    loop {
        let next = async { (slots.clone().acquire_owned().await, listener.accept().await) };
        let (slot, accepted) = tokio::select! {
            _ = &mut stop => break,
            next = next => next,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: wait, at most a line a second.
                let at = Timestamp::now();
                err(format!("{at}  cannot accept connections: {e}"));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let receiver = receiver.clone();
        let guard = ServiceBuilder::new().option_layer(receiver.guard.clone());
        let service = TowerToHyperService::new(guard.service(service_fn(move |request| {
            let answer = receiver.clone().answer(peer, request);
            async move { Ok::<_, Infallible>(answer.await) }
        })));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _closed_either_way = connection.await;
            drop(slot);
        });
    }
    let _idle_ones_are_cut = tokio::time::timeout(QUIET_WINDOW, graceful.shutdown()).await;
}

/// Listens until Ctrl-C, or until `--count` / `--timeout`; then the verdict.
pub(crate) async fn run(args: ListenArgs, env: Option<OsString>) -> anyhow::Result<bool> {
    if !args.path.starts_with('/') {
        return Err(usage(format!("--path {:?} must start with /", args.path)));
    }
    if args.max_body == 0 {
        err("warning: --max-body 0 refuses every delivery with 413");
    }
    let mut secrets = secrets::several(&args.secrets, env)?;
    if secrets.is_empty() {
        secrets.push(secrets::generate_and_show()?);
    }
    let count = secrets.len();
    let verifier = secrets::verifier(secrets)?.tolerance(Duration::from_secs(args.tolerance));
    let (verifier, window) = match args.no_timestamp_check {
        true => (
            verifier.disable_timestamp_check(),
            "no timestamp check".into(),
        ),
        false => (verifier, format!("tolerance ±{} s", args.tolerance)),
    };
    let (limit, strict) = (args.max_body, if args.strict { ", strict" } else { "" });
    let verifier = verifier.body_limit(limit).build();
    let guard = ReplayGuardLayer::new(&verifier);
    // Its password is never shown, even where the cause quotes the URL.
    let redis = |url: &str| {
        let shown = redact(url);
        RedisStore::open(url).map_err(|e| {
            let cause = e.to_string().replace(url, &shown);
            usage(format!("--redis {}: {cause}", show(&shown)))
        })
    };
    let (guard, replay) = match (args.no_replay_guard, &args.redis) {
        (true, _) => (None, "off".into()),
        (false, None) => (Some(guard), "in memory".into()),
        (false, Some(url)) => {
            let store = redis(url)?;
            (
                Some(guard.store(store)),
                format!("in Redis {}", show(&redact(url))),
            )
        }
    };
    // A relay's flags are checked before anything listens.
    let forward = match &args.forward_to {
        Some(url) => {
            let secret = args.forward_secret.as_deref();
            let secret = crate::relay::secret(secret, args.forward_secret_file.as_ref())?;
            let timeout = Duration::from_secs_f64(args.forward_timeout);
            Some(crate::relay::Forward::new(url, &secret, timeout)?)
        }
        None => None,
    };
    let queue = args.queue.as_deref().map(redact);
    let queue = queue.map_or(String::new(), |q| format!(", queue {}", show(&q)));
    let listener = bind(&args.addr).await;
    let listener = listener.with_context(|| format!("cannot listen on {}", args.addr))?;
    let url = format!("http://{}{}", listener.local_addr()?, args.path);
    let settings =
        format!("{window}, body limit {limit} bytes, replay guard {replay}{queue}{strict}");
    let settings = format!("secrets: {count}, {settings}");
    err(format!("listening on {url} ({settings}); Ctrl-C stops"));
    let (mut receiver, mut seen) = Receiver::new(verifier, &args.path);
    receiver.guard = guard;
    if let Some(queue) = &args.queue {
        let backoff = Duration::from_secs_f64(args.backoff);
        let postgres = queue.starts_with("postgres://") || queue.starts_with("postgresql://");
        let queue = match args.power_safe && !postgres {
            true => crate::queue::open(&format!("{queue}?synchronous=full")).await?,
            false => crate::queue::open(queue).await?,
        };
        let queue = queue.attempts(args.attempts);
        receiver.queue = Some(queue.backoff(backoff, backoff.max(Duration::from_secs(300))));
    }
    let relay = match (forward, receiver.queue.clone()) {
        (Some(forward), Some(queue)) => {
            err(format!("forwarding each stored delivery to {forward}"));
            let forward = move |delivery| forward.clone().forward(delivery);
            Some(tokio::spawn(
                async move { queue.run_worker_raw(forward).await },
            ))
        }
        _ => None,
    };
    if let Some(admin) = &args.admin {
        let token = match &args.admin_token_file {
            Some(file) => Some(secrets::read_token(file)?),
            None => args.admin_token.clone(),
        };
        let address = crate::admin::address(admin)?;
        let bound = crate::admin::serve(address, token, receiver.queue.as_ref()).await?;
        err(format!("metrics on http://{bound}/metrics"));
        if receiver.queue.is_some() {
            err(format!("deliveries dashboard on http://{bound}/"));
            err(format!(
                "dead deliveries, to run again, on http://{bound}/dead"
            ));
        }
    }
    let (stop, stopped) = oneshot::channel();
    let max = args.max_connections as usize;
    let server = tokio::spawn(serve(listener, receiver, max, stopped));

    let mut printer = Printer::default();
    (printer.json, printer.strict) = (args.json, args.strict);
    let deadline = args
        .timeout
        .map(|secs| Instant::now() + Duration::from_secs(secs));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let judged = args.count.is_some() || args.timeout.is_some();
    let complete = loop {
        tokio::select! {
            Some(request) = seen.recv() => {
                printer.print(&request);
                if args.count.is_some_and(|n| printer.tally.total >= n) {
                    break true;
                }
            }
            _ = tick.tick() => {
                printer.summarize_hidden(false);
                if deadline.is_some_and(|at| Instant::now() >= at) {
                    break args.count.is_none();
                }
            }
            stopped = tokio::signal::ctrl_c() => {
                stopped?;
                break !judged;
            }
        }
    };
    let _ = stop.send(());
    let _ = server.await;
    // A delivery being forwarded stays stored, and is forwarded by the next run.
    relay.inspect(tokio::task::JoinHandle::abort);
    printer.summarize_hidden(true);
    Ok(!judged || printer.verdict(complete, args.count))
}

/// What the printer counted.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    /// Requests answered.
    total: u64,
    refused: u64,
    /// Accepted ones departing from Bedrud's wire format (`--strict`).
    departed: u64,
    duplicates: u64,
}

/// Writes the lines (or, with `--json`, one JSON line per request), keeps
/// the tally, and rations the refusal and duplicate lines: [`QUIET_BURST`]
/// per [`QUIET_WINDOW`], the rest counted by reason and summed up in one
/// line, so that a flood of forgeries or replays is not a flood of lines.
#[derive(Debug, Default)]
struct Printer {
    /// JSON lines on standard output; the lines for people go to standard error.
    json: bool,
    strict: bool,
    tally: Tally,
    window: Option<Instant>,
    shown: u64,
    hidden: BTreeMap<&'static str, u64>,
}

impl Printer {
    fn say(&self, line: String) {
        if self.json { err(line) } else { out(line) }
    }

    fn print(&mut self, seen: &Seen) {
        self.tally.total += 1;
        let (at, status, peer) = (Timestamp::now(), seen.status.as_u16(), seen.peer);
        // A verified body is a JSON object: the envelope, as the entry's start.
        let body = seen.outcome.as_ref().map(|b| serde_json::from_slice(b));
        let mut entry = Value::Object(body.ok().and_then(Result::ok).unwrap_or_default());
        (entry["received"], entry["status"], entry["peer"]) =
            (json!(at), json!(status), json!(peer));
        match &seen.outcome {
            Ok(body) => self.accepted(seen, body, &mut entry),
            Err((reason, detail)) => {
                // A genuine delivery received again: answered 2xx, not handled.
                let duplicate = seen.status.is_success();
                match duplicate {
                    true => self.tally.duplicates += 1,
                    false => self.tally.refused += 1,
                }
                let headers = &seen.headers;
                let event = headers.get(EVENT).or_else(|| headers.get(WEBHOOK_EVENT));
                let event = event.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                let shown = event.as_deref().map(|e| format!("  event={}", show(e)));
                let (outcome, what, detail) = match duplicate {
                    true => ("duplicate", "duplicate".into(), AGAIN),
                    false => ("refused", format!("refused  {reason}"), detail.as_str()),
                };
                let shown = shown.unwrap_or_default();
                let line = format!("{at}  {status}  {what}  peer={peer}{shown}  {detail}");
                self.ration(reason, line);
                (entry["outcome"], entry["reason"]) = (json!(outcome), json!(reason));
                (entry["event"], entry["detail"]) = (json!(event), json!(detail));
            }
        }
        if self.json {
            out(entry.to_string());
        }
    }

    fn accepted(&mut self, seen: &Seen, body: &[u8], entry: &mut Value) {
        let event = entry["event"].as_str().unwrap_or_default();
        let at = entry["received"].as_str().unwrap_or_default();
        let mut line = format!("{at}  {}  {}", seen.status.as_u16(), show(event));
        if EventKind::from_name(event).is_none() {
            line.push_str(" (unknown event, accepted)");
        }
        for (key, field) in entry["data"].as_object().into_iter().flatten() {
            let field = match field {
                Value::String(text) => show(text),
                other => show(&String::from_utf8_lossy(&go_json(other))),
            };
            line.push_str(&format!("  {}={field}", show(key)));
        }
        self.say(line);
        let departures = self.strict.then(|| strict::check(&seen.headers, body));
        let departures = departures.unwrap_or_default();
        self.tally.departed += u64::from(!departures.is_empty());
        if self.strict && departures.is_empty() {
            self.say("    strict: matches Bedrud's wire format exactly".into());
        }
        for departure in &departures {
            self.say(format!("    strict: {}", departure.message));
        }
        (entry["outcome"], entry["departures"]) = (json!("accepted"), json!(departures));
    }

    /// Shows a refusal's (or duplicate's) line, or counts it when the
    /// window's share is spent.
    fn ration(&mut self, reason: &'static str, line: String) {
        self.summarize_hidden(false);
        self.shown += 1;
        match self.shown > QUIET_BURST {
            true => *self.hidden.entry(reason).or_default() += 1,
            false => self.say(line),
        }
    }

    /// Once the window is over (or `now`): one line for the lines it hid.
    fn summarize_hidden(&mut self, now: bool) {
        let open = self.window.is_some_and(|t| t.elapsed() < QUIET_WINDOW);
        if open && !now {
            return;
        }
        (self.window, self.shown) = (Some(Instant::now()), 0);
        let hidden = std::mem::take(&mut self.hidden);
        let reasons: Vec<String> = hidden.iter().map(|(why, n)| format!("{why}={n}")).collect();
        let (total, at) = (hidden.values().sum::<u64>(), Timestamp::now());
        let line = format!("{at}  {total} more not shown: {}", reasons.join(" "));
        if total > 0 {
            self.say(line);
        }
    }

    /// The line for CI, and whether the run passed: every request expected
    /// came, and none was refused or departed from Bedrud's wire format. A
    /// duplicate is counted and shown, but is no failure: it is a replay the
    /// guard caught, not something the sender under test got wrong.
    fn verdict(&self, complete: bool, count: Option<u64>) -> bool {
        let Tally {
            total,
            refused,
            departed,
            duplicates,
        } = self.tally;
        let expected = count.filter(|_| !complete);
        let expected = expected.map_or(String::new(), |n| format!(" of {n} expected"));
        let departing = format!(", {departed} departing from Bedrud's wire format");
        let departing = if self.strict { departing.as_str() } else { "" };
        let again = format!(", {duplicates} received again");
        let again = if duplicates > 0 { again.as_str() } else { "" };
        let line = format!("{total}{expected} requests: {refused} refused{again}{departing}");
        err(line);
        complete && total > 0 && refused == 0 && departed == 0
    }
}

/// Listens on the first address `addr` resolves to (a host name resolves),
/// with a backlog of 1,024: tokio's default of 128 turns away connections
/// while the cap is full, genuine deliveries among them.
async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    let resolved = tokio::net::lookup_host(addr).await?.next();
    let addr = resolved.ok_or_else(|| std::io::Error::other("the address resolves to nothing"))?;
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}
