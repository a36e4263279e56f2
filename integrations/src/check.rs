//! The one check every entry point runs (axum, actix-web, tower, the queue
//! service): method, body, signature, envelope, data, replay guard; and the
//! one place that logs a refusal.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::replay::ReplayCheck;
use crate::{Envelope, Verified, Verifier, VerifyError, WebhookRejection, headers};

/// A request's header map: `http`'s, or actix-web's (`http` 0.2).
#[derive(Clone, Copy)]
pub(crate) enum Headers<'a> {
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

    /// The unsigned event header, for log lines.
    fn event(self) -> Option<&'a [u8]> {
        let (bedrud, webhook) = (headers::EVENT, headers::WEBHOOK_EVENT);
        let (bedrud, webhook) = (bedrud.as_str(), webhook.as_str());
        match self {
            Headers::Http(map) => map
                .get(bedrud)
                .or_else(|| map.get(webhook))
                .map(|v| v.as_bytes()),
            #[cfg(feature = "actix-web")]
            Headers::Actix(map) => map
                .get(bedrud)
                .or_else(|| map.get(webhook))
                .map(|v| v.as_bytes()),
        }
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
pub(crate) fn unparsed(_: &Verified<'_>) -> Result<(), VerifyError> {
    Ok(())
}

/// A delivery that passed: what the caller kept of it, its exact bytes, and
/// the tag that identifies it.
pub(crate) struct Checked<T> {
    pub(crate) value: T,
    pub(crate) body: Bytes,
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
    let checked = async {
        if !request.post {
            return Err(WebhookRejection::MethodNotAllowed);
        }
        let verifier = verifier.ok_or(WebhookRejection::MissingVerifier)?;
        let body = read(verifier).await?;
        let verified = request.headers.verify(verifier, &body)?;
        let (value, tag) = (keep(&verified)?, verified.tag);
        if let Some(replay) = request.replay {
            replay.admit(tag).await?;
        }
        Ok(Checked { value, body, tag })
    };
    let checked = checked.await;
    if let Err(rejection) = &checked {
        log(rejection, request.headers.event(), request.peer);
    }
    checked
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
    let Some(left_out) = window.admit(second, rejection.reason()) else {
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
    fn admit(&mut self, second: u64, reason: &'static str) -> Option<BTreeMap<&'static str, u64>> {
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
            .filter(|_| window.admit(7, "signature_mismatch").is_some())
            .count();
        assert_eq!(admitted, LINES_PER_SECOND as usize);
        assert!(window.admit(7, "body_timeout").is_none());
        let summary = window.admit(8, "signature_mismatch").unwrap();
        let expected = 1000 - u64::from(LINES_PER_SECOND);
        assert_eq!(
            summary,
            BTreeMap::from([("body_timeout", 1), ("signature_mismatch", expected)])
        );
        assert_eq!(window.admit(8, "signature_mismatch"), Some(BTreeMap::new()));
    }
}
