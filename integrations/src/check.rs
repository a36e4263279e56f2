//! The one check every entry point runs (axum, actix-web, tower, the queue
//! service): method, body, signature, envelope, data, replay guard; and the
//! one place that logs a refusal.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
#[cfg(feature = "metrics")]
use std::time::Instant;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::HeaderName;

use crate::replay::ReplayCheck;
use crate::{Envelope, Verified, Verifier, VerifyError, WebhookRejection, headers};

/// A request's header map: `http`'s, or actix-web's (`http` 0.2).
#[derive(Clone, Copy)]
pub(crate) enum Headers<'a> {
    #[cfg_attr(not(any(feature = "axum", feature = "tower")), allow(dead_code))]
    Http(&'a http::HeaderMap),
    #[cfg(feature = "actix-web")]
    Actix(&'a actix_web::http::header::HeaderMap),
}

impl<'a> Headers<'a> {
    fn verify<'b>(self, verifier: &Verifier, body: &'b [u8]) -> Result<Verified<'b>, VerifyError> {
        match self {
            Headers::Http(map) => verifier.verify(map, body),
            #[cfg(feature = "actix-web")]
            Headers::Actix(map) => {
                let pairs = map.iter().map(|(n, v)| (n.as_str(), v.as_bytes()));
                verifier.verify_pairs(pairs, body)
            }
        }
    }

    fn get(self, name: &HeaderName) -> Option<&'a [u8]> {
        match self {
            Headers::Http(map) => map.get(name).map(|v| v.as_bytes()),
            #[cfg(feature = "actix-web")]
            Headers::Actix(map) => map.get(name.as_str()).map(|v| v.as_bytes()),
        }
    }

    /// The unsigned event header, in either dialect.
    fn event(self) -> Option<&'a [u8]> {
        self.get(&headers::EVENT)
            .or_else(|| self.get(&headers::WEBHOOK_EVENT))
    }
}

/// A request as the check sees it, before its body is read.
pub(crate) struct Request<'a> {
    pub(crate) post: bool,
    pub(crate) headers: Headers<'a>,
    pub(crate) peer: Option<SocketAddr>,
    /// The replay guard's part of this request, when a guard wraps the route.
    pub(crate) replay: Option<&'a ReplayCheck>,
}

#[cfg(any(feature = "axum", feature = "tower"))]
impl<'a> Request<'a> {
    /// An `http` request's head; the peer from axum's `ConnectInfo` or a
    /// `SocketAddr` in its extensions.
    pub(crate) fn http(parts: &'a http::request::Parts) -> Self {
        let peer = parts.extensions.get::<SocketAddr>().copied();
        #[cfg(feature = "axum")]
        let peer = peer.or_else(|| {
            let info = parts
                .extensions
                .get::<axum::extract::ConnectInfo<SocketAddr>>();
            info.map(|info| info.0)
        });
        Request {
            post: parts.method == http::Method::POST,
            headers: Headers::Http(&parts.headers),
            peer,
            replay: parts.extensions.get(),
        }
    }
}

/// What [`check`] keeps for the [`Webhook`](crate::Webhook) way: the typed envelope.
pub(crate) fn envelope(verified: &Verified<'_>) -> Result<Envelope, VerifyError> {
    verified.parse()
}

/// ... and for the [`VerifiedBody`](crate::VerifiedBody) way: nothing, `data` unparsed.
#[cfg(any(feature = "axum", feature = "actix-web"))]
pub(crate) fn unparsed(_: &Verified<'_>) -> Result<(), VerifyError> {
    Ok(())
}

/// A delivery that passed: what the caller kept of it, its exact bytes, and
/// the tag that identifies it.
pub(crate) struct Checked<T> {
    pub(crate) value: T,
    pub(crate) body: Bytes,
    #[cfg_attr(
        not(any(
            feature = "axum",
            feature = "actix-web",
            feature = "queue-sqlite",
            feature = "queue-postgres"
        )),
        allow(dead_code)
    )]
    pub(crate) tag: [u8; 32],
}

/// Checks `request`: a POST, its body read by `read` within the verifier's
/// bounds, verified, `keep` (which types the data, or not), then admitted by
/// the replay guard. Every refusal is logged here.
pub(crate) async fn check<'v, T, R>(
    request: Request<'_>,
    verifier: Option<&'v Verifier>,
    read: impl FnOnce(&'v Verifier) -> R,
    keep: impl FnOnce(&Verified<'_>) -> Result<T, VerifyError>,
) -> Result<Checked<T>, WebhookRejection>
where
    R: Future<Output = Result<Bytes, WebhookRejection>>,
{
    // For the metrics: when the check began, and the verified body's event
    // once there is one (else the header's is counted).
    #[cfg(feature = "metrics")]
    let (started, mut signed_event) = (Instant::now(), None);
    let checked = async {
        if !request.post {
            return Err(WebhookRejection::MethodNotAllowed);
        }
        let verifier = verifier.ok_or(WebhookRejection::MissingVerifier)?;
        let body = read(verifier).await?;
        let verified = match request.headers.verify(verifier, &body) {
            Ok(verified) => verified,
            Err(VerifyError::SignatureMismatch) => {
                suspect(request.headers, &body, verifier);
                return Err(VerifyError::SignatureMismatch.into());
            }
            Err(e) => return Err(e.into()),
        };
        all_clear();
        #[cfg(feature = "metrics")]
        {
            signed_event = Some(label(Some(verified.envelope.event().as_bytes())));
        }
        let (value, tag) = (keep(&verified)?, verified.tag);
        if let Some(replay) = request.replay {
            replay.admit(tag).await?;
        }
        Ok(Checked { value, body, tag })
    };
    let checked = checked.await;
    #[cfg(feature = "metrics")]
    {
        let event = signed_event.unwrap_or_else(|| label(request.headers.event()));
        record(checked.as_ref().map(drop), event, started);
    }
    if let Err(rejection) = &checked {
        log(rejection, request.headers.event(), request.peer);
    }
    checked
}

/// The metric label for an event name: a known one, or `unknown` (a label
/// never takes an unbounded value).
#[cfg(feature = "metrics")]
fn label(event: Option<&[u8]>) -> &'static str {
    use crate::EventKind;
    let name = event.and_then(|e| std::str::from_utf8(e).ok());
    name.and_then(EventKind::from_name)
        .map_or("unknown", EventKind::as_str)
}

/// Counts a decision in `bedrud_webhook_deliveries_total` and times the
/// check (feature `metrics`).
#[cfg(feature = "metrics")]
fn record(decided: Result<(), &WebhookRejection>, event: &'static str, started: Instant) {
    let elapsed = started.elapsed();
    let (outcome, reason) = match decided {
        // The common case, through handles kept by this thread.
        Ok(()) => return handles::accepted(event, elapsed),
        Err(WebhookRejection::Duplicate) => ("duplicate", "duplicate"),
        Err(rejection) => ("refused", rejection.reason()),
    };
    describe_metrics();
    let labels = [("outcome", outcome), ("reason", reason), ("event", event)];
    metrics::counter!("bedrud_webhook_deliveries_total", &labels).increment(1);
    metrics::histogram!("bedrud_webhook_check_duration_seconds").record(elapsed);
}

/// An accepted delivery's counter (one per event label) and the duration
/// histogram, looked up in the recorder once per thread rather than once
/// per delivery (the lookup was most of the metrics' cost). They are taken
/// again when the installed recorder changes: a handle taken from another
/// recorder (or before one was installed) would count nowhere.
#[cfg(feature = "metrics")]
mod handles {
    use std::cell::RefCell;
    use std::time::Duration;

    use metrics::{Counter, Histogram};

    use crate::EventKind;

    /// The event labels: each kind's name, then `unknown`.
    fn labels() -> impl Iterator<Item = &'static str> {
        EventKind::ALL
            .into_iter()
            .map(EventKind::as_str)
            .chain(["unknown"])
    }

    struct Handles {
        /// The recorder they were taken from, by address.
        recorder: usize,
        accepted: Vec<(&'static str, Counter)>,
        duration: Histogram,
    }

    thread_local! {
        static HANDLES: RefCell<Option<Handles>> = const { RefCell::new(None) };
    }

    fn recorder() -> usize {
        metrics::with_recorder(|r| std::ptr::from_ref(r).cast::<()>() as usize)
    }

    pub(super) fn accepted(event: &'static str, elapsed: Duration) {
        let recorder = recorder();
        HANDLES.with_borrow_mut(|handles| {
            let handles = match handles {
                Some(kept) if kept.recorder == recorder => kept,
                _ => handles.insert(take(recorder)),
            };
            if let Some((_, counter)) = handles.accepted.iter().find(|(e, _)| *e == event) {
                counter.increment(1);
            }
            handles.duration.record(elapsed);
        });
    }

    fn take(recorder: usize) -> Handles {
        super::describe_metrics();
        let counter = |event: &'static str| {
            let labels = [("outcome", "accepted"), ("reason", ""), ("event", event)];
            (
                event,
                metrics::counter!("bedrud_webhook_deliveries_total", &labels),
            )
        };
        Handles {
            recorder,
            accepted: labels().map(counter).collect(),
            duration: metrics::histogram!("bedrud_webhook_check_duration_seconds"),
        }
    }
}

/// Describes the crate's metrics to the recorder, once, on first use.
#[cfg(feature = "metrics")]
pub(crate) fn describe_metrics() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        describe_counter!("bedrud_webhook_deliveries_total",
            "Deliveries checked, by outcome (accepted, duplicate, refused), the refusal's reason and the event");
        describe_histogram!("bedrud_webhook_check_duration_seconds", Unit::Seconds,
            "How long the check of a delivery took, reading its body included");
        describe_gauge!("bedrud_webhook_secret_mismatch",
            "1 while well-formed deliveries keep failing only on their signature: the secret here probably differs from Bedrud's");
        describe_counter!("bedrud_webhook_handler_runs_total",
            "Runs of the queue worker's handler, by result (ok, error)");
        describe_counter!("bedrud_webhook_dead_total",
            "Queued deliveries whose handler failed every attempt");
        describe_gauge!("bedrud_webhook_queue_deliveries",
            "Stored deliveries by state (pending, running, retrying, dead), counted every 15 s by the worker");
        describe_gauge!("bedrud_webhook_queue_oldest_pending_seconds", Unit::Seconds,
            "How long the oldest pending delivery has waited for its first attempt");
    });
}

/// Well-formed deliveries refused on their signature alone since the last
/// genuine one, and when the alarm was last logged (Unix seconds; 0: not raised).
static SUSPECTS: AtomicU32 = AtomicU32::new(0);
static ALARMED_AT: AtomicU64 = AtomicU64::new(0);
/// Suspects in a row that raise the alarm.
const ALARM_AFTER: u32 = 5;
/// While raised, the alarm is logged again at most this often.
const ALARM_EVERY: u64 = 60;

/// What the alarm says.
pub(crate) const SECRET_MISMATCH: &str = "well-formed deliveries keep failing only on their \
    signature: the secret configured here probably differs from the webhook's secret in \
    Bedrud's admin, and every delivery until they match is refused and lost (Bedrud never \
    retries). To change secrets without losing deliveries, accept both for a while \
    (Verifier::builder(new).previous_secret(old), or listen --secret NEW --secret OLD), \
    then change it in Bedrud";

/// A delivery refused on its signature alone: every header its dialect
/// sends there and equal to the body, the timestamp inside the window. [`ALARM_AFTER`] of them in a
/// row, none genuine since, say that the secret here is not the one Bedrud
/// signs with: logged at ERROR (again at most every [`ALARM_EVERY`] seconds),
/// and the gauge `bedrud_webhook_secret_mismatch` is 1, until a genuine one.
/// One alarm per process, whatever the number of verifiers.
fn suspect(headers: Headers<'_>, body: &[u8], verifier: &Verifier) {
    let Ok(envelope) = bedrud_webhook_types::RawEnvelope::from_slice(body) else {
        return;
    };
    let sent = |name: &HeaderName, signed: &str| headers.get(name) == Some(signed.as_bytes());
    let (event, timestamp) = (envelope.event(), envelope.timestamp_text());
    // Bedrud's names carry the timestamp too; the admin guide's have none.
    let headers_match = (sent(&headers::EVENT, event) && sent(&headers::TIMESTAMP, timestamp))
        || (sent(&headers::WEBHOOK_EVENT, event)
            && headers
                .get(&headers::TIMESTAMP)
                .is_none_or(|t| t == timestamp.as_bytes()));
    let now = verifier
        .now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let age = i64::try_from(now).unwrap_or(i64::MAX) - envelope.timestamp().unix_seconds();
    let fresh = verifier
        .tolerance()
        .is_none_or(|t| age.unsigned_abs() <= t.as_secs());
    if !(headers_match && fresh) {
        return;
    }
    let suspects = SUSPECTS.fetch_add(1, Ordering::Relaxed) + 1;
    let last = ALARMED_AT.load(Ordering::Relaxed);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_secs());
    let due = suspects >= ALARM_AFTER && (last == 0 || now >= last + ALARM_EVERY);
    let ours = due
        && ALARMED_AT
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
    if ours {
        #[cfg(feature = "metrics")]
        metrics::gauge!("bedrud_webhook_secret_mismatch").set(1.0);
        tracing::error!(refused_in_a_row = suspects, "{SECRET_MISMATCH}");
    }
}

/// A genuine delivery: the alarm, if raised, is cleared.
fn all_clear() {
    // Loads first: on the common path nothing is written to a shared line.
    if SUSPECTS.load(Ordering::Relaxed) != 0 {
        SUSPECTS.store(0, Ordering::Relaxed);
    }
    if ALARMED_AT.load(Ordering::Relaxed) != 0 && ALARMED_AT.swap(0, Ordering::Relaxed) != 0 {
        #[cfg(feature = "metrics")]
        metrics::gauge!("bedrud_webhook_secret_mismatch").set(0.0);
        tracing::info!("a genuine delivery verified: the secret matches Bedrud's again");
    }
}

/// Logs a refusal at WARN (a duplicate at INFO) with what an operator needs:
/// status, reason, the event header (untrusted: escaped and cut to 64 bytes)
/// and the peer. At most [`LINES_PER_SECOND`] lines a second: the refusals
/// left out are counted per reason and reported by the next line.
fn log(rejection: &WebhookRejection, event: Option<&[u8]>, peer: Option<SocketAddr>) {
    let second = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut window = WINDOW.lock().unwrap_or_else(PoisonError::into_inner);
    let Some(left_out) = window.take_line(second, rejection.reason()) else {
        return;
    };
    drop(window);
    let event = event.map(|e| String::from_utf8_lossy(&e[..e.len().min(64)]).into_owned());
    let left_out = (!left_out.is_empty()).then(|| format!("{left_out:?}"));
    let (status, reason) = (rejection.status().as_u16(), rejection.reason());
    // A duplicate is answered 200: a replay caught, not a fault.
    if let WebhookRejection::Duplicate = rejection {
        tracing::info!(status, reason, event = ?event, peer = ?peer, left_out,
            "acknowledged a duplicate webhook delivery without running the handler");
    } else {
        tracing::warn!(status, reason, event = ?event, peer = ?peer, left_out,
            "refused a webhook delivery");
    }
}

/// Refusal lines logged per second at most, so that a flood of forgeries
/// cannot become a flood of log lines.
const LINES_PER_SECOND: u32 = 10;

struct LogWindow {
    second: u64,
    lines: u32,
    left_out: BTreeMap<&'static str, u64>,
}

impl LogWindow {
    /// The refusals left out since the last line, if this one may be logged.
    fn take_line(
        &mut self,
        second: u64,
        reason: &'static str,
    ) -> Option<BTreeMap<&'static str, u64>> {
        if second != self.second {
            self.second = second;
            self.lines = 0;
        }
        if self.lines >= LINES_PER_SECOND {
            *self.left_out.entry(reason).or_default() += 1;
            return None;
        }
        self.lines += 1;
        Some(std::mem::take(&mut self.left_out))
    }
}

static WINDOW: Mutex<LogWindow> = Mutex::new(LogWindow {
    second: 0,
    lines: 0,
    left_out: BTreeMap::new(),
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_logged_in_bounded_lines_and_counted() {
        let mut window = LogWindow {
            second: 0,
            lines: 0,
            left_out: BTreeMap::new(),
        };
        let admitted = (0..1000)
            .filter(|_| window.take_line(7, "signature_mismatch").is_some())
            .count();
        assert_eq!(admitted, LINES_PER_SECOND as usize);
        assert!(window.take_line(7, "body_timeout").is_none());
        let summary = window.take_line(8, "signature_mismatch").unwrap();
        let expected = 1000 - u64::from(LINES_PER_SECOND);
        assert_eq!(
            summary,
            BTreeMap::from([("body_timeout", 1), ("signature_mismatch", expected)])
        );
        assert_eq!(
            window.take_line(8, "signature_mismatch"),
            Some(BTreeMap::new())
        );
    }
}
