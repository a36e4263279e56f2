//! What an operator sees: the log lines and the metrics of the secret-mismatch
//! alarm (`check.rs`) and of the durable queue's worker (`queue/mod.rs`),
//! captured in this process.
//!
//! - the alarm over real HTTP (the axum `Webhook` extractor): 5 well-formed
//!   deliveries signed with another secret raise it once (not after the 4th,
//!   not again for the 6th and 7th); one genuine delivery clears it; then
//!   1,000 malformed or stale deliveries, interleaved, never raise it; a
//!   second wave of 5 raises it again, and a genuine one clears it. The
//!   metrics follow: `bedrud_webhook_deliveries_total` counts each refusal by
//!   reason, and `bedrud_webhook_secret_mismatch` goes 1, then 0;
//! - the worker on SQLite and on Postgres: a handler that fails twice then
//!   succeeds logs "failed attempt 1 of 4", "2 of 4" and one "handled a
//!   delivery" (attempt 3); one that always fails with `attempts(3)` logs
//!   attempts 1, 2 and 3 of 3 and one "is dead" line; re-run
//!   (`Queue::rerun`) with a handler that fails once, its count starts again
//!   at 1 of 3; the counters `bedrud_webhook_handler_runs_total` and
//!   `bedrud_webhook_dead_total` agree;
//! - ignored until the library is fixed: a pusher that stored 5 attempts and
//!   a worker configured with 2 (`listen --queue`, default 8, and a worker
//!   of its own): the delivery should be logged dead once, no attempt
//!   numbered past its total.
//!
//! Each test captures its own lines: a current-thread runtime driven under
//! `tracing::subscriber::with_default`, so the server, the client and the
//! worker all log on the test's thread. The alarm's state is one per process:
//! only the alarm test sends deliveries through the check here (the worker
//! tests push to the queue directly). The Prometheus recorder is the one
//! global recorder of this binary; the two worker tests take turns, so that
//! each reads its own counts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use bedrud_webhook::delivery::Delivery;
use bedrud_webhook::queue::{Queue, State};
use bedrud_webhook::sender::Sender;
use bedrud_webhook::{Envelope, Event, RoomData, Secret, Timestamp, Verifier, Webhook};
use bytes::Bytes;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

mod common;
use common::secret;
use common::servers::{Postgres, temp_dir};

/// What the alarm says (a part of it).
const ALARM: &str =
    "the secret configured here probably differs from the webhook's secret in Bedrud's admin";
/// What the all-clear says.
const CLEARED: &str = "a genuine delivery verified: the secret matches Bedrud's again";
/// A secret that is not [`common::SECRET`]: the one "Bedrud" signs with in the alarm test.
const OTHER_SECRET: &str = "0123456789abcdef0123456789abcdef";

// ---------------------------------------------------------------- capture

/// The log lines of one test, as `tracing_subscriber::fmt` writes them.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        all.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn all(&self) -> Vec<String> {
        let all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&all)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The lines from the `from`-th on that contain `needle`.
    fn matching(&self, from: usize, needle: &str) -> Vec<String> {
        let all = self.all();
        all.into_iter()
            .skip(from)
            .filter(|l| l.contains(needle))
            .collect()
    }

    fn count(&self) -> usize {
        self.all().len()
    }

    fn dump(&self, from: usize) -> String {
        self.all()[from.min(self.count())..].join("\n")
    }
}

/// Runs `test` on a current-thread runtime whose every task logs, at INFO
/// and above, into the returned [`Lines`] (and nowhere else).
fn captured<F: std::future::Future<Output = ()>>(test: impl FnOnce(Lines) -> F) -> Lines {
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let inner = lines.clone();
    tracing::subscriber::with_default(subscriber, || runtime.block_on(test(inner)));
    lines
}

// ---------------------------------------------------------------- metrics

/// This binary's Prometheus recorder, installed by the first caller.
fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).expect("no other recorder in this binary");
        handle
    })
}

/// The sum of the samples of `name` whose labels include every one of
/// `labels` (`key="value"`), in the text the recorder renders now.
fn sample(name: &str, labels: &[&str]) -> f64 {
    let text = prometheus().render();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            let wanted = metric == name && labels.iter().all(|label| rest.contains(label));
            wanted.then(|| value.parse::<f64>().unwrap())
        })
        .sum()
}

// ---------------------------------------------------------------- the alarm

/// A `room.created` of room `id`, stamped `at`.
fn stamped(id: &str, at: Timestamp) -> Delivery {
    let event = Event::RoomCreated(RoomData::new(id, "ops", "u-ops"));
    Delivery::new(&Envelope::new(event, at))
}

fn now_plus(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() + secs).unwrap()
}

/// Serves the axum `Webhook` extractor with a verifier for [`SECRET`] on a
/// loopback port; its URL.
async fn serve_webhook() -> String {
    async fn handle(Webhook(_envelope): Webhook) -> StatusCode {
        StatusCode::NO_CONTENT
    }
    let app = axum::Router::new()
        .route("/webhooks/bedrud", axum::routing::post(handle))
        .with_state(Verifier::new(secret()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/webhooks/bedrud")
}

/// The ways a delivery can say nothing about the secret, cycled through by
/// the 1,000: each is signed with [`OTHER_SECRET`] unless said otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Malformed {
    /// No `X-Bedrud-Timestamp`.
    NoTimestampHeader,
    /// No `X-Bedrud-Event`.
    NoEventHeader,
    /// `X-Bedrud-Event: room.ended` over a `room.created` body.
    OtherEventHeader,
    /// `X-Bedrud-Timestamp` another time than the body's.
    OtherTimestampHeader,
    /// `sha256=` and 63 hex digits (of the right secret's signature).
    ShortSignature,
    /// Everything matches, stamped an hour ago.
    Stale,
    /// Everything matches, stamped an hour ahead.
    Ahead,
}

impl Malformed {
    const ALL: [Malformed; 7] = [
        Malformed::NoTimestampHeader,
        Malformed::NoEventHeader,
        Malformed::OtherEventHeader,
        Malformed::OtherTimestampHeader,
        Malformed::ShortSignature,
        Malformed::Stale,
        Malformed::Ahead,
    ];

    /// The reason the receiver gives (the metric's `reason` label).
    fn reason(self) -> &'static str {
        match self {
            Malformed::ShortSignature => "malformed_signature",
            // The signature is checked first; it fails.
            _ => "signature_mismatch",
        }
    }

    fn request(self, url: &str, n: usize, other: &Secret) -> http::Request<Bytes> {
        let id = format!("r-malformed-{n}");
        let at = match self {
            Malformed::Stale => now_plus(-3600),
            Malformed::Ahead => now_plus(3600),
            _ => Timestamp::now(),
        };
        let delivery = stamped(&id, at);
        let mut request: http::Request<Bytes> = delivery.request(url, other).unwrap();
        let headers = request.headers_mut();
        match self {
            Malformed::NoTimestampHeader => drop(headers.remove("x-bedrud-timestamp")),
            Malformed::NoEventHeader => drop(headers.remove("x-bedrud-event")),
            Malformed::OtherEventHeader => {
                headers.insert("x-bedrud-event", "room.ended".parse().unwrap());
            }
            Malformed::OtherTimestampHeader => {
                let other = now_plus(-1).to_string();
                headers.insert("x-bedrud-timestamp", other.parse().unwrap());
            }
            Malformed::ShortSignature => {
                let signature = delivery.signature(&secret());
                let short = &signature[..signature.len() - 1];
                headers.insert("x-bedrud-signature", short.parse().unwrap());
            }
            Malformed::Stale | Malformed::Ahead => {}
        }
        request
    }
}

#[test]
fn the_secret_mismatch_alarm_over_http() {
    let handle = prometheus();
    let mismatches = || {
        sample(
            "bedrud_webhook_deliveries_total",
            &[r#"reason="signature_mismatch""#],
        )
    };
    let malformed = || {
        sample(
            "bedrud_webhook_deliveries_total",
            &[r#"reason="malformed_signature""#],
        )
    };
    let accepted = || {
        sample(
            "bedrud_webhook_deliveries_total",
            &[r#"outcome="accepted""#],
        )
    };
    let gauge = || sample("bedrud_webhook_secret_mismatch", &[]);
    let (mismatches_before, malformed_before, accepted_before) =
        (mismatches(), malformed(), accepted());

    let lines = captured(|lines| async move {
        let url = serve_webhook().await;
        let sender = Sender::new();
        let other = Secret::new(OTHER_SECRET).unwrap();
        let alarms = |lines: &Lines| lines.matching(0, ALARM);

        // Bedrud signs with another secret: 4 refused, no alarm yet.
        for n in 1..=4 {
            let delivery = stamped(&format!("r-wrong-{n}"), Timestamp::now());
            let response = sender.deliver(&url, &delivery, &other).await.unwrap();
            assert_eq!(response.status(), 401, "delivery {n}");
            assert_eq!(alarms(&lines), Vec::<String>::new(), "after delivery {n}");
        }
        // The 5th raises it, at ERROR, once.
        let fifth = stamped("r-wrong-5", Timestamp::now());
        let response = sender.deliver(&url, &fifth, &other).await.unwrap();
        assert_eq!(response.status(), 401);
        let raised = alarms(&lines);
        assert_eq!(raised.len(), 1, "{}", lines.dump(0));
        assert!(raised[0].contains("ERROR"), "{}", raised[0]);
        assert!(raised[0].contains("refused_in_a_row=5"), "{}", raised[0]);
        assert_eq!(gauge(), 1.0, "{}", handle.render());
        // The 6th and 7th: still raised, not logged again within the minute.
        for n in 6..=7 {
            let delivery = stamped(&format!("r-wrong-{n}"), Timestamp::now());
            let response = sender.deliver(&url, &delivery, &other).await.unwrap();
            assert_eq!(response.status(), 401);
        }
        assert_eq!(alarms(&lines).len(), 1, "{}", lines.dump(0));
        assert_eq!(lines.matching(0, CLEARED), Vec::<String>::new());

        // One genuine delivery clears it, at INFO.
        let genuine = stamped("r-genuine", Timestamp::now());
        let response = sender.deliver(&url, &genuine, &secret()).await.unwrap();
        assert_eq!(response.status(), 204);
        let cleared = lines.matching(0, CLEARED);
        assert_eq!(cleared.len(), 1, "{}", lines.dump(0));
        assert!(cleared[0].contains("INFO"), "{}", cleared[0]);
        assert_eq!(gauge(), 0.0, "{}", handle.render());

        // 1,000 deliveries that say nothing about the secret, interleaved.
        let before = lines.count();
        let mut statuses = std::collections::BTreeMap::<(Malformed, u16), usize>::new();
        for n in 0..1000 {
            let kind = Malformed::ALL[n % Malformed::ALL.len()];
            let response = sender.send(kind.request(&url, n, &other)).await.unwrap();
            *statuses
                .entry((kind, response.status().as_u16()))
                .or_default() += 1;
        }
        let refused: usize = statuses
            .iter()
            .filter(|((_, status), _)| *status == 401 || *status == 400)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(refused, 1000, "{statuses:?}");
        eprintln!("the 1,000 malformed or stale deliveries, by kind and status: {statuses:?}");
        let errors: Vec<String> = lines.matching(before, "ERROR");
        assert_eq!(
            errors,
            Vec::<String>::new(),
            "no ERROR line for malformed or stale deliveries"
        );
        assert_eq!(lines.matching(before, ALARM), Vec::<String>::new());
        assert_eq!(gauge(), 0.0, "{}", handle.render());

        // A second wave of 5 raises it again at once (cleared means re-armed),
        // and a genuine delivery clears it again.
        for n in 1..=5 {
            let delivery = stamped(&format!("r-again-{n}"), Timestamp::now());
            let response = sender.deliver(&url, &delivery, &other).await.unwrap();
            assert_eq!(response.status(), 401);
            let expected = if n < 5 { 1 } else { 2 };
            assert_eq!(
                alarms(&lines).len(),
                expected,
                "after delivery {n} of the second wave"
            );
        }
        assert_eq!(gauge(), 1.0, "{}", handle.render());
        let genuine = stamped("r-genuine-again", Timestamp::now());
        let response = sender.deliver(&url, &genuine, &secret()).await.unwrap();
        assert_eq!(response.status(), 204);
        assert_eq!(lines.matching(0, CLEARED).len(), 2, "{}", lines.dump(0));
        assert_eq!(gauge(), 0.0, "{}", handle.render());

        // The admin guide's header names (X-Webhook-*, no timestamp header)
        // are well formed too: 5 signed with another secret raise it.
        for n in 1..=5 {
            let delivery = stamped(&format!("r-webhook-dialect-{n}"), Timestamp::now())
                .dialect(bedrud_webhook::delivery::HeaderDialect::Webhook);
            let response = sender.deliver(&url, &delivery, &other).await.unwrap();
            assert_eq!(response.status(), 401);
        }
        assert_eq!(alarms(&lines).len(), 3, "{}", lines.dump(0));
        let genuine = stamped("r-genuine-webhook-dialect", Timestamp::now())
            .dialect(bedrud_webhook::delivery::HeaderDialect::Webhook);
        let response = sender.deliver(&url, &genuine, &secret()).await.unwrap();
        assert_eq!(response.status(), 204);
        assert_eq!(lines.matching(0, CLEARED).len(), 3, "{}", lines.dump(0));
    });
    let all = lines.all();
    eprintln!(
        "{} lines captured; {} at ERROR; {} refusal lines at WARN (at most 10 a second)",
        all.len(),
        all.iter().filter(|l| l.contains("ERROR")).count(),
        all.iter()
            .filter(|l| l.contains("refused a webhook delivery"))
            .count(),
    );

    // Every refusal counted by its reason: 7 + 5 + 5 wrong secrets, and of
    // the 1,000 every kind but the short signature.
    let short = (0..1000)
        .filter(|n| Malformed::ALL[n % Malformed::ALL.len()] == Malformed::ShortSignature)
        .count();
    assert_eq!(Malformed::ShortSignature.reason(), "malformed_signature");
    let expected_mismatches = 7 + 5 + 5 + (1000 - short);
    assert_eq!(mismatches() - mismatches_before, expected_mismatches as f64);
    assert_eq!(malformed() - malformed_before, short as f64);
    assert_eq!(accepted() - accepted_before, 3.0);
    assert_eq!(gauge(), 0.0);
    eprintln!(
        "deliveries_total: signature_mismatch {expected_mismatches}, malformed_signature {short}, accepted 3"
    );
}

// ---------------------------------------------------------------- the worker

/// The worker tests take turns: each reads its own counter increments.
static WORKERS: Mutex<()> = Mutex::new(());

/// A handler that fails its first `failures` calls (all of them with
/// `usize::MAX`), and counts the calls.
fn failing(
    failures: usize,
    calls: &Arc<AtomicUsize>,
) -> impl Fn(Envelope) -> std::future::Ready<Result<(), String>> + Clone + Send + Sync + 'static {
    let calls = Arc::clone(calls);
    move |_envelope: Envelope| {
        let call = calls.fetch_add(1, Ordering::SeqCst);
        if call < failures {
            std::future::ready(Err(format!("failure {}", call + 1)))
        } else {
            std::future::ready(Ok(()))
        }
    }
}

async fn until(secs: u64, what: &str, lines: &Lines, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}:\n{}",
            lines.dump(0)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `attempt` printed in a line: `attempt=3`, or `attempt 3 of 4`.
fn attempt_of(line: &str) -> String {
    if let Some(rest) = line.split("failed attempt ").nth(1) {
        return rest.split(' ').take(3).collect::<Vec<_>>().join(" ");
    }
    let field = line.split("attempt=").nth(1).unwrap_or("?");
    field.split(' ').next().unwrap_or("?").to_owned()
}

/// The worker's lines and counters on the queue at `url`.
fn worker_logs(url: &str) {
    let _turn = WORKERS.lock().unwrap_or_else(PoisonError::into_inner);
    let runs = |result: &str| {
        let label = format!(r#"result="{result}""#);
        sample("bedrud_webhook_handler_runs_total", &[&label])
    };
    let dead = || sample("bedrud_webhook_dead_total", &[]);
    let (ok_before, error_before, dead_before) = (runs("ok"), runs("error"), dead());

    let url = url.to_owned();
    let lines = captured(|lines| async move {
        let backoff = (Duration::from_millis(20), Duration::from_millis(40));

        // Fails twice, then succeeds; 4 attempts allowed.
        let queue = Queue::connect(&url)
            .await
            .unwrap()
            .attempts(4)
            .backoff(backoff.0, backoff.1);
        let body = stamped("r-flaky", Timestamp::now()).body().clone();
        queue.push(body, &[1; 32]).await.unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let worker = tokio::spawn({
            let (queue, handler) = (queue.clone(), failing(2, &calls));
            async move { queue.run_worker(handler).await }
        });
        until(20, "the handler to succeed", &lines, || {
            !lines.matching(0, "handled a delivery").is_empty()
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        worker.abort();
        let _ = worker.await;
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let failed = lines.matching(0, "handler failed attempt");
        let handled = lines.matching(0, "handled a delivery");
        let printed: Vec<String> = failed
            .iter()
            .chain(&handled)
            .map(|l| attempt_of(l))
            .collect();
        eprintln!("fails twice, then succeeds: {printed:?}");
        assert_eq!(failed.len(), 2, "{}", lines.dump(0));
        assert!(failed.iter().all(|l| l.contains("WARN")), "{failed:?}");
        assert!(
            failed.iter().all(|l| l.contains("event=room.created")),
            "{failed:?}"
        );
        assert_eq!(handled.len(), 1, "{}", lines.dump(0));
        assert!(handled[0].contains("INFO"), "{}", handled[0]);
        assert_eq!(lines.matching(0, "is dead"), Vec::<String>::new());
        assert_eq!(
            printed,
            ["1 of 4", "2 of 4", "3"],
            "the attempt numbers printed:\n{}",
            lines.dump(0)
        );
        assert!(failed[0].contains("error=failure 1"), "{}", failed[0]);
        assert!(failed[1].contains("error=failure 2"), "{}", failed[1]);

        // Always fails; 3 attempts.
        let from = lines.count();
        let queue = Queue::connect(&url)
            .await
            .unwrap()
            .attempts(3)
            .backoff(backoff.0, backoff.1);
        let body = stamped("r-doomed", Timestamp::now()).body().clone();
        queue.push(body, &[2; 32]).await.unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let worker = tokio::spawn({
            let (queue, handler) = (queue.clone(), failing(usize::MAX, &calls));
            async move { queue.run_worker(handler).await }
        });
        until(20, "the delivery to be dead", &lines, || {
            !lines.matching(from, "is dead").is_empty()
        })
        .await;
        // Long enough for a 4th attempt, were there one.
        tokio::time::sleep(Duration::from_millis(500)).await;
        worker.abort();
        let _ = worker.await;
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let failed = lines.matching(from, "handler failed attempt");
        let dead = lines.matching(from, "is dead");
        let printed: Vec<String> = failed.iter().map(|l| attempt_of(l)).collect();
        eprintln!(
            "always fails: {printed:?}, then {} dead line(s)",
            dead.len()
        );
        assert_eq!(failed.len(), 3, "{}", lines.dump(from));
        assert!(failed.iter().all(|l| l.contains("WARN")), "{failed:?}");
        assert_eq!(dead.len(), 1, "{}", lines.dump(from));
        assert!(dead[0].contains("ERROR"), "{}", dead[0]);
        assert!(
            dead[0].contains("dead after 3 failed attempts"),
            "{}",
            dead[0]
        );
        assert_eq!(
            lines.matching(from, "handled a delivery"),
            Vec::<String>::new()
        );
        assert_eq!(
            printed,
            ["1 of 3", "2 of 3", "3 of 3"],
            "the attempt numbers printed:\n{}",
            lines.dump(from)
        );
        // No next attempt is announced after the last.
        assert!(failed[2].contains("next_attempt_in=None"), "{}", failed[2]);
        assert!(failed[0].contains("next_attempt_in=Some"), "{}", failed[0]);
        let listed = queue.list(Some(State::Dead)).await.unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].attempts, 3, "{listed:?}");

        // Re-run (`Queue::rerun`, as `dead rerun` does) with a handler that
        // fails once more: the count starts again at 1 of 3.
        let from = lines.count();
        assert!(queue.rerun(&listed[0].id).await.unwrap());
        let calls = Arc::new(AtomicUsize::new(0));
        let worker = tokio::spawn({
            let (queue, handler) = (queue.clone(), failing(1, &calls));
            async move { queue.run_worker(handler).await }
        });
        until(20, "the re-run to succeed", &lines, || {
            !lines.matching(from, "handled a delivery").is_empty()
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        worker.abort();
        let _ = worker.await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let failed = lines.matching(from, "handler failed attempt");
        let handled = lines.matching(from, "handled a delivery");
        let printed: Vec<String> = failed
            .iter()
            .chain(&handled)
            .map(|l| attempt_of(l))
            .collect();
        eprintln!("re-run, fails once: {printed:?}");
        assert_eq!(printed, ["1 of 3", "2"], "{}", lines.dump(from));
        assert_eq!(lines.matching(from, "is dead"), Vec::<String>::new());
        assert!(queue.list(Some(State::Dead)).await.unwrap().is_empty());
    });
    eprintln!("{} lines captured", lines.count());

    // 2 successes and 2 + 3 + 1 failures; one dead.
    assert_eq!(runs("ok") - ok_before, 2.0);
    assert_eq!(runs("error") - error_before, 6.0);
    assert_eq!(dead() - dead_before, 1.0);
}

#[test]
fn worker_logs_on_sqlite() {
    let dir = temp_dir("ops-worker");
    worker_logs(dir.join("q.db").to_str().unwrap());
}

#[test]
fn worker_logs_on_postgres() {
    let pg = Postgres::start("ops-worker");
    worker_logs(&pg.url);
}

/// Between two attempts, the worker's delivery is listed `retrying`, with
/// its count, its error and when it runs next; then `done`.
fn retrying_between_attempts(url: &str) {
    let _turn = WORKERS.lock().unwrap_or_else(PoisonError::into_inner);
    let url = url.to_owned();
    captured(|lines| async move {
        let wait = Duration::from_secs(3);
        let queue = Queue::connect(&url)
            .await
            .unwrap()
            .attempts(4)
            .backoff(wait, wait);
        let body = stamped("r-retrying", Timestamp::now()).body().clone();
        queue.push(body, &[3; 32]).await.unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let worker = tokio::spawn({
            let (queue, handler) = (queue.clone(), failing(1, &calls));
            async move { queue.run_worker(handler).await }
        });
        let listed = || async { queue.list(Some(State::Retrying)).await.unwrap() };
        let deadline = Instant::now() + wait;
        let retrying = loop {
            if let Some(d) = listed().await.pop() {
                break d;
            }
            assert!(
                Instant::now() < deadline,
                "never retrying:\n{}",
                lines.dump(0)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!((retrying.attempts, retrying.max_attempts), (1, 4));
        assert_eq!(retrying.last_error.as_deref(), Some("failure 1"));
        let next = retrying.run_at.expect("when it runs next").unix_seconds();
        assert!(next >= Timestamp::now().unix_seconds(), "{retrying:?}");
        until(20, "the second attempt", &lines, || {
            !lines.matching(0, "handled a delivery").is_empty()
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        worker.abort();
        let done = queue.list(Some(State::Done)).await.unwrap();
        assert_eq!(done.len(), 1, "{done:?}");
        assert_eq!(done[0].attempts, 2);
    });
}

#[test]
fn retrying_between_attempts_on_sqlite() {
    let dir = temp_dir("ops-retrying");
    retrying_between_attempts(dir.join("q.db").to_str().unwrap());
}

#[test]
fn retrying_between_attempts_on_postgres() {
    let pg = Postgres::start("ops-retrying");
    retrying_between_attempts(&pg.url);
}

/// A delivery pushed with 5 attempts and a worker set to 2: the count
/// stored with the delivery rules (every worker agrees on it), each failed
/// attempt is one line "k of 5", the delivery is dead once, after 5, and
/// `Queue::dead` says the same (it ran 2 attempts and logged it dead 4 times
/// before the worker followed the stored count).
fn pusher_above_worker(url: &str) {
    let _turn = WORKERS.lock().unwrap_or_else(PoisonError::into_inner);
    let dead_total = || sample("bedrud_webhook_dead_total", &[]);
    let dead_before = dead_total();
    let url = url.to_owned();
    let lines = captured(|lines| async move {
        let pusher = Queue::connect(&url).await.unwrap().attempts(5);
        let body = stamped("r-pushed-with-5", Timestamp::now()).body().clone();
        pusher.push(body, &[3; 32]).await.unwrap();
        let backoff = Duration::from_millis(200);
        let queue = Queue::connect(&url)
            .await
            .unwrap()
            .attempts(2)
            .backoff(backoff, backoff);
        let calls = Arc::new(AtomicUsize::new(0));
        let worker = tokio::spawn({
            let (queue, handler) = (queue.clone(), failing(usize::MAX, &calls));
            async move { queue.run_worker(handler).await }
        });
        until(20, "the delivery to be dead", &lines, || {
            !lines.matching(0, "is dead").is_empty()
        })
        .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        worker.abort();
        let _ = worker.await;
        let failed = lines.matching(0, "handler failed attempt");
        let printed: Vec<String> = failed.iter().map(|l| attempt_of(l)).collect();
        let dead = lines.matching(0, "is dead");
        let listed = queue.list(Some(State::Dead)).await.unwrap();
        eprintln!(
            "calls {}, printed {printed:?}, {} dead line(s), Queue::dead {:?}",
            calls.load(Ordering::SeqCst),
            dead.len(),
            listed.iter().map(|d| d.attempts).collect::<Vec<_>>()
        );
        for line in &failed {
            let numbers: Vec<u32> = attempt_of(line)
                .split(" of ")
                .map(|n| n.parse().unwrap())
                .collect();
            assert!(
                numbers[0] <= numbers[1],
                "an attempt past its total: {line}\n{}",
                lines.dump(0)
            );
        }
        assert_eq!(dead.len(), 1, "{}", lines.dump(0));
        assert_eq!(listed.len(), 1, "{listed:?}");
        let after = format!("dead after {} failed attempts", listed[0].attempts);
        assert!(
            dead[0].contains(&after),
            "{} vs Queue::dead {listed:?}",
            dead[0]
        );
        assert_eq!(calls.load(Ordering::SeqCst) as u32, listed[0].attempts);
    });
    eprintln!("{}", lines.dump(0));
    assert_eq!(dead_total() - dead_before, 1.0);
}

#[test]
fn attempts_stored_by_the_pusher_above_the_workers_sqlite() {
    let dir = temp_dir("ops-attempts");
    pusher_above_worker(dir.join("q.db").to_str().unwrap());
}

#[test]
fn attempts_stored_by_the_pusher_above_the_workers_postgres() {
    let pg = Postgres::start("ops-attempts");
    pusher_above_worker(&pg.url);
}

/// The worker counts the stored deliveries by state for the gauges: two
/// deliveries whose handler fails their only attempt are `dead` 2, and
/// nothing is pending.
#[test]
fn the_worker_gauges_the_queue_by_state() {
    let _turn = WORKERS.lock().unwrap_or_else(PoisonError::into_inner);
    prometheus();
    let dir = temp_dir("ops-gauges");
    let url = dir.join("q.db").to_str().unwrap().to_owned();
    let gauge = |state: &str| {
        let label = format!(r#"state="{state}""#);
        sample("bedrud_webhook_queue_deliveries", &[&label])
    };
    captured(|lines| async move {
        let queue = Queue::connect(&url).await.unwrap().attempts(1);
        for (n, tag) in [[5; 32], [6; 32]].iter().enumerate() {
            let body = stamped(&format!("r-gauge-{n}"), Timestamp::now())
                .body()
                .clone();
            queue.push(body, tag).await.unwrap();
        }
        let calls = Arc::new(AtomicUsize::new(0));
        let worker = tokio::spawn({
            let (queue, handler) = (queue.clone(), failing(usize::MAX, &calls));
            async move { queue.run_worker(handler).await }
        });
        until(20, "both deliveries dead", &lines, || {
            lines.matching(0, "is dead").len() == 2
        })
        .await;
        // The gauges are counted every 15 s.
        until(20, "the dead gauge", &lines, || gauge("dead") == 2.0).await;
        worker.abort();
        let _ = worker.await;
        assert_eq!(queue.list(Some(State::Dead)).await.unwrap().len(), 2);
    });
    assert_eq!((gauge("pending"), gauge("running")), (0.0, 0.0));
    assert_eq!(
        sample("bedrud_webhook_queue_oldest_pending_seconds", &[]),
        0.0
    );
}
