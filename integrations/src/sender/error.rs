//! Why a delivery could not be made.

use std::error::Error as StdError;
use std::time::Duration;

/// A boxed cause, kept for `source()`.
type Cause = Box<dyn StdError + Send + Sync + 'static>;

/// Why a delivery could not be built or sent.
///
/// A delivery that was answered, even with a 4xx or 5xx status, is not an
/// error: it is a [`DeliveryReport`](super::DeliveryReport) whose
/// [`is_success`](super::DeliveryReport::is_success) is false, as Bedrud
/// logs it. No message repeats a secret, a signature or the URL's path and
/// query; the host and port are named where they help.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The URL is not an absolute `http://` or `https://` URL that can be
    /// sent to. Nothing was sent.
    #[error("invalid URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The event or timestamp cannot be written in a header (it holds a
    /// control character, for instance). Nothing was sent.
    #[error("invalid {header} header: the value holds characters a header cannot carry")]
    InvalidHeaderValue {
        /// Which header: `event`, `timestamp` or `signature`.
        header: &'static str,
    },
    /// TLS could not be set up, so no https:// delivery can be made.
    #[error("TLS is unavailable: {reason}")]
    TlsUnavailable {
        /// rustls' explanation.
        reason: String,
    },
    /// No connection could be made: nothing listens there, the name does not
    /// resolve, or the TLS handshake failed.
    #[error("connect failed: could not connect to {authority}: {reason}")]
    Connect {
        /// The host and port.
        authority: String,
        /// The innermost cause, such as `Connection refused (os error 111)`.
        reason: String,
        /// The client's error.
        #[source]
        source: Cause,
    },
    /// No response arrived within the timeout (10 seconds by default, as in
    /// Bedrud).
    #[error("timed out: {authority} did not answer within {} ms", .after.as_millis())]
    TimedOut {
        /// The host and port.
        authority: String,
        /// The timeout that elapsed.
        after: Duration,
    },
    /// The connection was made but the exchange failed: the peer closed it,
    /// or answered with something that is not HTTP.
    #[error("request failed: the exchange with {authority} broke off: {reason}")]
    Exchange {
        /// The host and port.
        authority: String,
        /// The innermost cause.
        reason: String,
        /// The client's error.
        #[source]
        source: Cause,
    },
}

/// The innermost message of an error chain: the one that names the actual
/// problem (`Connection refused`) rather than the layer (`client error`).
pub(super) fn root_reason(error: &(dyn StdError + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}
