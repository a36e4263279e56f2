//! `listen`: a verifying receiver built on the axum integration's extractor,
//! served by hyper with a request-head timeout and a cap on connections. The
//! receiver only answers and passes on what it saw; one printer writes the
//! lines (or JSON lines) and the verdict.

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
use bedrud_webhook::{Envelope, EventKind, Timestamp, VerifiedBody, Verifier, WebhookRejection};
use bytes::Bytes;
use http::header::ALLOW;
use http::{HeaderMap, Method, Request, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::cli::ListenArgs;
use crate::strict::{self, go_json};
use crate::{err, out, secrets, show, usage};

/// How long a client may take to send a request's head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
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

/// The receiver: `POST path` through the axum integration's extractor, a
/// refusal for anything else (so that a misaddressed sender shows up too),
/// and what it saw sent on to the printer.
#[derive(Debug, Clone)]
pub(crate) struct Receiver {
    verifier: Verifier,
    path: Arc<str>,
    seen: mpsc::UnboundedSender<Seen>,
    /// With `--queue`: genuine deliveries are stored, then answered 202.
    pub(crate) queue: Option<bedrud_webhook::queue::Queue>,
}

impl Receiver {
    pub(crate) fn new(verifier: Verifier, path: &str) -> (Receiver, mpsc::UnboundedReceiver<Seen>) {
        let (seen, received) = mpsc::unbounded_channel();
        let receiver = Receiver {
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
                Ok(body) => match &self.queue {
                    Some(queue) => crate::queue::store(queue, &self.verifier, &headers, body).await,
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

/// The body, once its data has the types its event needs: the same 400 the
/// integration's `Webhook` extractor gives.
fn typed(VerifiedBody(body): VerifiedBody) -> Result<Bytes, WebhookRejection> {
    let parsed = Envelope::from_slice(&body).map_err(bedrud_webhook::VerifyError::from);
    parsed.map(|_| body).map_err(WebhookRejection::from)
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
        let service = service_fn(move |request| {
            let answer = receiver.clone().answer(peer, request);
            async move { Ok::<_, Infallible>(answer.await) }
        });
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
    let window = match args.no_timestamp_check {
        true => "no timestamp check".to_owned(),
        false => format!("tolerance ±{} s", args.tolerance),
    };
    let mut verifier = secrets::verifier(secrets)?.tolerance(Duration::from_secs(args.tolerance));
    if args.no_timestamp_check {
        verifier = verifier.disable_timestamp_check();
    }
    let listener = bind(&args.addr).await;
    let listener = listener.with_context(|| format!("cannot listen on {}", args.addr))?;
    let url = format!("http://{}{}", listener.local_addr()?, args.path);
    let (limit, strict) = (args.max_body, if args.strict { ", strict" } else { "" });
    let settings = format!("secrets: {count}, {window}, body limit {limit} bytes{strict}");
    err(format!("listening on {url} ({settings}); Ctrl-C stops"));
    let (mut receiver, mut seen) = Receiver::new(verifier.body_limit(limit).build(), &args.path);
    if let Some(queue) = &args.queue {
        receiver.queue = Some(crate::queue::open(queue).await?);
    }
    let (stop, stopped) = oneshot::channel();
    let max = args.max_connections as usize;
    let server = tokio::spawn(serve(listener, receiver, max, stopped));

    let mut printer = Printer::default();
    (printer.json, printer.strict) = (args.json, args.strict);
    let timeout = args.timeout.map(Duration::from_secs);
    let deadline = timeout.map(|timeout| Instant::now() + timeout);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let judged = args.count.is_some() || args.timeout.is_some();
    let complete = loop {
        tokio::select! {
            Some(request) = seen.recv() => {
                printer.print(&request);
                if args.count.is_some_and(|n| printer.tally[0] >= n) {
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
    printer.summarize_hidden(true);
    Ok(!judged || printer.verdict(complete, args.count))
}

/// Writes the lines (or, with `--json`, one JSON line per request), keeps
/// the tally, and rations the refusal lines: [`QUIET_BURST`] per
/// [`QUIET_WINDOW`], the rest counted by reason and summed up in one line,
/// so that a flood of forgeries is not a flood of lines.
#[derive(Debug, Default)]
struct Printer {
    /// JSON lines on standard output; the lines for people go to standard error.
    json: bool,
    strict: bool,
    /// Requests, refused ones, and accepted ones departing from the wire format.
    tally: [u64; 3],
    window: Option<Instant>,
    shown: u64,
    hidden: BTreeMap<&'static str, u64>,
}

impl Printer {
    fn say(&self, line: String) {
        if self.json { err(line) } else { out(line) }
    }

    fn print(&mut self, seen: &Seen) {
        self.tally[0] += 1;
        let (at, status, peer) = (Timestamp::now(), seen.status.as_u16(), seen.peer);
        // A verified body is a JSON object: the envelope, as the entry's start.
        let body = seen
            .outcome
            .as_ref()
            .map(|body| serde_json::from_slice(body));
        let mut entry = Value::Object(body.ok().and_then(Result::ok).unwrap_or_default());
        (entry["received"], entry["status"], entry["peer"]) =
            (json!(at), json!(status), json!(peer));
        match &seen.outcome {
            Ok(body) => self.accepted(seen, body, &mut entry),
            Err((reason, detail)) => {
                self.tally[1] += 1;
                let event = seen
                    .headers
                    .get(EVENT)
                    .or_else(|| seen.headers.get(WEBHOOK_EVENT));
                let event = event.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                let shown = event.as_deref().map(|e| format!("  event={}", show(e)));
                let line = format!("{at}  {status}  refused  {reason}  peer={peer}");
                self.ration(
                    reason,
                    format!("{line}{}  {detail}", shown.unwrap_or_default()),
                );
                (entry["outcome"], entry["reason"]) = (json!("refused"), json!(reason));
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
        let departures = match self.strict {
            true => strict::check(&seen.headers, body),
            false => Vec::new(),
        };
        self.tally[2] += u64::from(!departures.is_empty());
        if self.strict && departures.is_empty() {
            self.say("    strict: matches Bedrud's wire format exactly".into());
        }
        for departure in &departures {
            self.say(format!("    strict: {}", departure.message));
        }
        (entry["outcome"], entry["departures"]) = (json!("accepted"), json!(departures));
    }

    /// Shows a refusal's line, or counts it when the window's share is spent.
    fn ration(&mut self, reason: &'static str, line: String) {
        self.summarize_hidden(false);
        self.shown += 1;
        match self.shown > QUIET_BURST {
            true => *self.hidden.entry(reason).or_default() += 1,
            false => self.say(line),
        }
    }

    /// Once the window is over (or `now`): one line for the refusals it hid.
    fn summarize_hidden(&mut self, now: bool) {
        if !now
            && self
                .window
                .is_some_and(|start| start.elapsed() < QUIET_WINDOW)
        {
            return;
        }
        (self.window, self.shown) = (Some(Instant::now()), 0);
        let hidden = std::mem::take(&mut self.hidden);
        let reasons: Vec<String> = hidden.iter().map(|(why, n)| format!("{why}={n}")).collect();
        let (total, at) = (hidden.values().sum::<u64>(), Timestamp::now());
        if total > 0 {
            self.say(format!(
                "{at}  refused {total} more, not shown: {}",
                reasons.join(" ")
            ));
        }
    }

    /// The line for CI, and whether the run passed: every request expected
    /// came, and none was refused or departed from Bedrud's wire format.
    fn verdict(&self, complete: bool, count: Option<u64>) -> bool {
        let [total, refused, departed] = self.tally;
        let expected = count
            .filter(|_| !complete)
            .map(|n| format!(" of {n} expected"));
        let (expected, strict) = (expected.unwrap_or_default(), self.strict);
        let departing = format!(", {departed} departing from Bedrud's wire format");
        let departing = if strict { departing.as_str() } else { "" };
        err(format!(
            "{total}{expected} requests: {refused} refused{departing}"
        ));
        complete && total > 0 && refused == 0 && departed == 0
    }
}

/// Listens on the first address `addr` resolves to (a host name resolves),
/// with a backlog of 1,024: tokio's default of 128 turns away connections
/// while the cap is full, genuine deliveries among them.
async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    let resolved = tokio::net::lookup_host(addr).await?.next();
    let addr = resolved.ok_or_else(|| std::io::Error::other("the address resolves to nothing"))?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}
