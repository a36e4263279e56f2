use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use http::StatusCode;

use crate::VerifyError;

/// Why an integration answered a request itself instead of calling the handler.
///
/// Every integration answers the same way: [`status`](Self::status) with
/// [`reason`](Self::reason)'s message as a plain-text body. Nothing in it
/// comes from the request or the secret.
///
/// ```
/// use bedrud_webhook::{VerifyError, WebhookRejection};
/// use http::StatusCode;
///
/// let rejection = WebhookRejection::from(VerifyError::SignatureMismatch);
/// assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(rejection.reason(), "signature_mismatch");
/// assert_eq!(WebhookRejection::BodyTimeout.status(), StatusCode::REQUEST_TIMEOUT);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookRejection {
    /// The verifier refused the delivery: 401, 400 or 413.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The body did not arrive within the verifier's body timeout: 408.
    #[error("the body did not arrive in time")]
    BodyTimeout,
    /// The connection failed while the body was read: 400.
    #[error("the body could not be read")]
    BodyRead,
    /// No [`Verifier`](crate::Verifier) is configured for this route: 500.
    #[error("no bedrud_webhook::Verifier is configured for this route")]
    MissingVerifier,
}

impl WebhookRejection {
    /// The status to answer with.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            WebhookRejection::Verify(e) => e.status(),
            WebhookRejection::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            WebhookRejection::BodyRead => StatusCode::BAD_REQUEST,
            WebhookRejection::MissingVerifier => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short, stable name for logs and metrics, such as `signature_mismatch`.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            WebhookRejection::Verify(e) => e.reason(),
            WebhookRejection::BodyTimeout => "body_timeout",
            WebhookRejection::BodyRead => "body_read_failed",
            WebhookRejection::MissingVerifier => "missing_verifier",
        }
    }

    /// Whether the connection must close after the answer: the body was
    /// not read to its end, so what follows on the connection is unknown.
    #[must_use]
    pub fn closes_connection(&self) -> bool {
        matches!(
            self,
            WebhookRejection::BodyTimeout
                | WebhookRejection::BodyRead
                | WebhookRejection::Verify(VerifyError::BodyTooLarge { .. })
        )
    }

    /// The response every integration sends: the status, `text/plain`, the
    /// message, and `Connection: close` when [`closes_connection`](Self::closes_connection).
    #[must_use]
    pub fn to_response(&self) -> http::Response<String> {
        let mut response = http::Response::new(format!("{self}\n"));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if self.closes_connection() {
            headers.insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
        }
        response
    }

    /// Logs the refusal at WARN with what an operator needs: status, reason,
    /// the event header (untrusted: escaped and cut to 64 bytes) and the peer.
    /// At most [`LINES_PER_SECOND`] lines a second: the refusals left out are
    /// counted per reason and reported by the next line.
    pub(crate) fn log(&self, event: Option<&[u8]>, peer: Option<SocketAddr>) {
        let second = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut window = WINDOW.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(left_out) = window.admit(second, self.reason()) else {
            return;
        };
        drop(window);
        let event = event.map(|e| String::from_utf8_lossy(&e[..e.len().min(64)]).into_owned());
        let left_out = (!left_out.is_empty()).then(|| format!("{left_out:?}"));
        tracing::warn!(
            status = self.status().as_u16(),
            reason = self.reason(),
            event = ?event,
            peer = ?peer,
            left_out,
            "refused a webhook delivery"
        );
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

    #[test]
    fn statuses_and_reasons() {
        let cases = [
            (
                WebhookRejection::from(VerifyError::MissingSignature),
                401,
                "missing_signature",
            ),
            (
                WebhookRejection::from(VerifyError::BodyTooLarge { limit: 1 }),
                413,
                "body_too_large",
            ),
            (WebhookRejection::BodyTimeout, 408, "body_timeout"),
            (WebhookRejection::BodyRead, 400, "body_read_failed"),
            (WebhookRejection::MissingVerifier, 500, "missing_verifier"),
        ];
        for (rejection, status, reason) in cases {
            let response = rejection.to_response();
            assert_eq!(
                (response.status().as_u16(), rejection.reason()),
                (status, reason)
            );
            assert_eq!(
                response.headers().contains_key("connection"),
                rejection.closes_connection()
            );
        }
    }
}
