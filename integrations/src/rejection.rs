//! Why a request was not accepted as a Bedrud delivery, and the response
//! that says so.
//!
//! In axum's style, each reason is a small type with **one fixed status**,
//! and [`WebhookRejection`] is the enum of them that every integration
//! answers with. The status comes from the verifier's own classification
//! ([`verify::Error::status`](bedrud_webhook_verify::Error::status)), so the
//! status table is decided in one place for every framework.
//!
//! Response bodies are one line of plain text naming the reason. They are
//! built only from [`Display`](std::fmt::Display) texts that describe what the
//! peer sent and the receiver's configuration, never the secret or the MAC
//! the verifier expected.

use std::error::Error as StdError;
use std::fmt;

use bedrud_webhook_types::ParseError;
use bedrud_webhook_verify::Error as VerifyError;
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue};

/// The `Content-Type` of every rejection's response.
pub(crate) const RESPONSE_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// The error type of a body that could not be read.
pub(crate) type BoxError = Box<dyn StdError + Send + Sync>;

/// The request could not be shown to be a fresh delivery from Bedrud:
/// **401 Unauthorized**.
///
/// A missing, malformed, duplicated or mismatched signature, a signed
/// timestamp outside the tolerance, or an unsigned header that disagrees with
/// the signed body. [`InvalidSignature::error`] says which.
#[derive(Debug)]
pub struct InvalidSignature(VerifyError);

/// The body was genuinely signed but is not a usable Bedrud envelope:
/// **400 Bad Request**.
///
/// Either the envelope itself is wrong (not a JSON object, no `event` or
/// `timestamp`, a timestamp that is not RFC 3339: see
/// [`InvalidPayload::verify_error`]), or a known event's `data` has a field of
/// the wrong type (see [`InvalidPayload::parse_error`]). Bedrud signed it, so
/// answering 401 would wrongly suggest a bad secret.
#[derive(Debug)]
pub struct InvalidPayload(PayloadProblem);

#[derive(Debug)]
enum PayloadProblem {
    Envelope(VerifyError),
    Data(ParseError),
}

/// The body is larger than the verifier's body limit:
/// **413 Payload Too Large**.
///
/// Decided from `Content-Length` before anything is read when the request
/// declares its length, else as soon as one byte more than the limit arrives;
/// no more than the limit is ever buffered.
#[derive(Debug)]
pub struct PayloadTooLarge {
    limit: usize,
}

/// The request body could not be read, for example because the client went
/// away half-way: **400 Bad Request**.
#[derive(Debug)]
pub struct FailedToReadBody(BoxError);

/// No [`Verifier`](bedrud_webhook_verify::Verifier) is configured where the
/// integration looks for it: **500 Internal Server Error**.
///
/// A server misconfiguration, not a fault of the request; produced only by
/// the actix-web integration, which finds its verifier in `app_data` at run
/// time (axum and tower are handed theirs when the app is built).
#[derive(Debug)]
pub struct MissingVerifier(());

/// Why a request was not accepted as a Bedrud delivery.
///
/// Each variant has one fixed status; [`WebhookRejection::status`] gives it
/// and the response every integration sends is that status with a one-line
/// plain-text body naming the reason:
///
/// | variant | status |
/// |---|---|
/// | [`InvalidSignature`](WebhookRejection::InvalidSignature) | 401 |
/// | [`InvalidPayload`](WebhookRejection::InvalidPayload) | 400 |
/// | [`PayloadTooLarge`](WebhookRejection::PayloadTooLarge) | 413 |
/// | [`FailedToReadBody`](WebhookRejection::FailedToReadBody) | 400 |
/// | [`MissingVerifier`](WebhookRejection::MissingVerifier) | 500 |
///
/// ```
/// use bedrud_webhook::WebhookRejection;
/// use bedrud_webhook::verify::Error;
/// use http::StatusCode;
///
/// let rejection = WebhookRejection::from(Error::SignatureMismatch);
/// assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(rejection.reason(), "signature_mismatch");
///
/// let response: http::Response<String> = rejection.into();
/// assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
/// assert!(response.body().starts_with("signature mismatch"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum WebhookRejection {
    /// 401: see [`InvalidSignature`].
    InvalidSignature(InvalidSignature),
    /// 400: see [`InvalidPayload`].
    InvalidPayload(InvalidPayload),
    /// 413: see [`PayloadTooLarge`].
    PayloadTooLarge(PayloadTooLarge),
    /// 400: see [`FailedToReadBody`].
    FailedToReadBody(FailedToReadBody),
    /// 500: see [`MissingVerifier`].
    MissingVerifier(MissingVerifier),
}

impl InvalidSignature {
    /// Always 401 Unauthorized.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        StatusCode::UNAUTHORIZED
    }

    /// The verifier's reason, such as
    /// [`SignatureMismatch`](VerifyError::SignatureMismatch).
    #[must_use]
    pub fn error(&self) -> &VerifyError {
        &self.0
    }

    /// A short machine-readable name for the reason, such as
    /// `signature_mismatch`.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        self.0.reason()
    }
}

impl InvalidPayload {
    /// Always 400 Bad Request.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    /// The verifier's reason, when the envelope itself is wrong (such as
    /// [`MissingEvent`](VerifyError::MissingEvent)).
    #[must_use]
    pub fn verify_error(&self) -> Option<&VerifyError> {
        match &self.0 {
            PayloadProblem::Envelope(e) => Some(e),
            PayloadProblem::Data(_) => None,
        }
    }

    /// The typed parser's reason, when the envelope is fine but its `data`
    /// is not (such as a string where Bedrud sends an integer).
    #[must_use]
    pub fn parse_error(&self) -> Option<&ParseError> {
        match &self.0 {
            PayloadProblem::Envelope(_) => None,
            PayloadProblem::Data(e) => Some(e),
        }
    }

    /// A short machine-readable name for the reason: the verifier's (such as
    /// `missing_event`), or `invalid_data` when the `data` is at fault.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match &self.0 {
            PayloadProblem::Envelope(e) => e.reason(),
            PayloadProblem::Data(_) => "invalid_data",
        }
    }
}

impl PayloadTooLarge {
    /// Always 413 Payload Too Large.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        StatusCode::PAYLOAD_TOO_LARGE
    }

    /// The configured limit in bytes.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Always `body_too_large`, the verifier's name for the same reason.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        "body_too_large"
    }
}

impl FailedToReadBody {
    /// Always 400 Bad Request.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    /// Always `failed_to_read_body`.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        "failed_to_read_body"
    }
}

impl MissingVerifier {
    /// Always 500 Internal Server Error.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }

    /// Always `missing_verifier`.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        "missing_verifier"
    }
}

impl WebhookRejection {
    /// The HTTP status to answer with: 401, 400, 413 or 500.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidSignature(r) => r.status(),
            Self::InvalidPayload(r) => r.status(),
            Self::PayloadTooLarge(r) => r.status(),
            Self::FailedToReadBody(r) => r.status(),
            Self::MissingVerifier(r) => r.status(),
        }
    }

    /// A short, stable, machine-readable name for the reason, such as
    /// `signature_mismatch` or `body_too_large`: for metrics labels.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidSignature(r) => r.reason(),
            Self::InvalidPayload(r) => r.reason(),
            Self::PayloadTooLarge(r) => r.reason(),
            Self::FailedToReadBody(r) => r.reason(),
            Self::MissingVerifier(r) => r.reason(),
        }
    }

    /// Whether the request could not be shown to be a fresh delivery from
    /// Bedrud (the 401s).
    #[must_use]
    pub fn is_authenticity_failure(&self) -> bool {
        matches!(self, Self::InvalidSignature(_))
    }

    /// The response every integration sends: the status, `Content-Type:
    /// text/plain; charset=utf-8`, and the reason as one line of text.
    pub(crate) fn to_response<B: From<String>>(&self) -> http::Response<B> {
        let mut response = http::Response::new(B::from(self.body_text()));
        *response.status_mut() = self.status();
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static(RESPONSE_CONTENT_TYPE),
        );
        response
    }

    /// The response body: the reason as one line of text.
    pub(crate) fn body_text(&self) -> String {
        format!("{self}\n")
    }

    /// Logs the rejection: the one place that decides how loudly.
    ///
    /// A forged or replayed request is worth a warning (someone is knocking
    /// with the wrong key, or the secret was rotated on one side only);
    /// a bad body from a genuine sender or a client that hung up is routine
    /// and goes to debug; a missing verifier is the server's own fault.
    pub(crate) fn log(&self) {
        let status = self.status().as_u16();
        let reason = self.reason();
        match self {
            Self::InvalidSignature(_) => {
                tracing::warn!(status, reason, error = %self, "webhook delivery refused");
            }
            Self::MissingVerifier(_) => {
                tracing::error!(status, reason, error = %self, "webhook receiver misconfigured");
            }
            Self::FailedToReadBody(FailedToReadBody(source)) => {
                tracing::debug!(status, reason, error = %self, source = %source, "webhook delivery rejected");
            }
            Self::InvalidPayload(_) | Self::PayloadTooLarge(_) => {
                tracing::debug!(status, reason, error = %self, "webhook delivery rejected");
            }
        }
    }

    pub(crate) fn too_large(limit: usize) -> Self {
        Self::PayloadTooLarge(PayloadTooLarge { limit })
    }

    #[cfg(any(feature = "axum", feature = "actix-web", feature = "tower"))]
    pub(crate) fn failed_to_read(source: impl Into<BoxError>) -> Self {
        Self::FailedToReadBody(FailedToReadBody(source.into()))
    }

    #[cfg(feature = "actix-web")]
    pub(crate) fn missing_verifier() -> Self {
        Self::MissingVerifier(MissingVerifier(()))
    }
}

impl From<VerifyError> for WebhookRejection {
    /// Classifies a verifier error by its status: 401, 413 or 400.
    fn from(e: VerifyError) -> Self {
        if e.is_authenticity_failure() {
            Self::InvalidSignature(InvalidSignature(e))
        } else if let VerifyError::BodyTooLarge { limit } = e {
            Self::too_large(limit)
        } else {
            Self::InvalidPayload(InvalidPayload(PayloadProblem::Envelope(e)))
        }
    }
}

impl From<ParseError> for WebhookRejection {
    /// A typed-parse failure of a verified body is always a 400: Bedrud
    /// signed it, so the payload, not the sender, is at fault.
    fn from(e: ParseError) -> Self {
        Self::InvalidPayload(InvalidPayload(PayloadProblem::Data(e)))
    }
}

impl<B: From<String>> From<WebhookRejection> for http::Response<B> {
    /// The response every integration sends for `rejection`: its status,
    /// `Content-Type: text/plain; charset=utf-8`, and the reason as one line.
    /// Any body type that can be made from a `String` fits, such as
    /// `http_body_util::Full<Bytes>` or axum's `Body`.
    fn from(rejection: WebhookRejection) -> Self {
        rejection.to_response()
    }
}

macro_rules! into_rejection {
    ($($ty:ident),* $(,)?) => {$(
        impl From<$ty> for WebhookRejection {
            fn from(r: $ty) -> Self {
                Self::$ty(r)
            }
        }
    )*};
}

into_rejection!(
    InvalidSignature,
    InvalidPayload,
    PayloadTooLarge,
    FailedToReadBody,
    MissingVerifier,
);

impl fmt::Display for InvalidSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Display for InvalidPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            PayloadProblem::Envelope(e) => fmt::Display::fmt(e, f),
            // The parser's texts name the event and field but never repeat
            // text from the body, so they are as safe to send back.
            PayloadProblem::Data(e) => write!(f, "invalid payload: {e}"),
        }
    }
}

impl fmt::Display for PayloadTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The verifier's wording, so that a 413 reads the same whichever
        // check caught it.
        fmt::Display::fmt(&VerifyError::BodyTooLarge { limit: self.limit }, f)
    }
}

impl fmt::Display for FailedToReadBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The underlying I/O error stays out of the response; it is in
        // `source()` and in the debug log.
        f.write_str("failed to read the request body")
    }
}

impl fmt::Display for MissingVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "server misconfiguration: no bedrud_webhook::Verifier is registered with the app \
             (add one with App::app_data)",
        )
    }
}

impl fmt::Display for WebhookRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidSignature(r) => r.fmt(f),
            Self::InvalidPayload(r) => r.fmt(f),
            Self::PayloadTooLarge(r) => r.fmt(f),
            Self::FailedToReadBody(r) => r.fmt(f),
            Self::MissingVerifier(r) => r.fmt(f),
        }
    }
}

// `Display` already shows the wrapped verifier error, so `source` skips it
// and goes on to what *it* wraps: a chain printer shows each text once.
impl StdError for InvalidSignature {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

impl StdError for InvalidPayload {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.0 {
            PayloadProblem::Envelope(e) => e.source(),
            PayloadProblem::Data(e) => Some(e),
        }
    }
}

impl StdError for PayloadTooLarge {}

impl StdError for FailedToReadBody {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.0)
    }
}

impl StdError for MissingVerifier {}

impl StdError for WebhookRejection {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::InvalidSignature(r) => r.source(),
            Self::InvalidPayload(r) => r.source(),
            Self::PayloadTooLarge(r) => r.source(),
            Self::FailedToReadBody(r) => r.source(),
            Self::MissingVerifier(r) => r.source(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bedrud_webhook_types::EventKind;
    use bedrud_webhook_verify::SignatureFormatError;

    #[test]
    fn verify_errors_map_to_the_status_table() {
        let cases = [
            (VerifyError::MissingSignature, 401),
            (VerifyError::DuplicateSignature, 401),
            (
                VerifyError::MalformedSignature(SignatureFormatError::MissingPrefix),
                401,
            ),
            (VerifyError::SignatureMismatch, 401),
            (
                VerifyError::TimestampTooOld {
                    age_secs: 900,
                    tolerance_secs: 300,
                },
                401,
            ),
            (
                VerifyError::TimestampTooNew {
                    ahead_secs: 900,
                    tolerance_secs: 300,
                },
                401,
            ),
            (
                VerifyError::HeaderMismatch {
                    header: "X-Bedrud-Event",
                },
                401,
            ),
            (VerifyError::BodyTooLarge { limit: 10 }, 413),
            (VerifyError::NotJsonObject, 400),
            (VerifyError::MissingEvent, 400),
            (VerifyError::MissingTimestamp, 400),
            (VerifyError::InvalidEnvelope, 400),
            (VerifyError::InvalidTimestamp, 400),
        ];
        for (error, status) in cases {
            // The verifier's own table and ours must agree.
            assert_eq!(error.status().as_u16(), status, "{error:?}");
            let reason = error.reason();
            let rejection = WebhookRejection::from(error);
            assert_eq!(rejection.status().as_u16(), status, "{rejection:?}");
            assert_eq!(rejection.reason(), reason);
            assert_eq!(rejection.is_authenticity_failure(), status == 401);
        }
    }

    #[test]
    fn typed_parse_failures_are_400() {
        let rejection = WebhookRejection::from(ParseError::InvalidField {
            event: EventKind::RecordingCompleted,
            field: "durationMs",
            expected: "a non-negative integer below 2^64",
            found: "a string",
        });
        assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
        assert_eq!(rejection.reason(), "invalid_data");
        let WebhookRejection::InvalidPayload(payload) = &rejection else {
            panic!("{rejection:?}");
        };
        assert!(payload.parse_error().is_some());
        assert!(payload.verify_error().is_none());
        assert_eq!(
            rejection.to_string(),
            "invalid payload: recording.completed data field \"durationMs\" must be a \
             non-negative integer below 2^64, found a string"
        );
    }

    #[test]
    fn responses_are_one_line_of_plain_text() {
        let response: http::Response<String> =
            WebhookRejection::from(VerifyError::SignatureMismatch).into();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            response.body(),
            "signature mismatch: the signature does not match the body for any configured secret\n"
        );

        let too_large: http::Response<String> = WebhookRejection::too_large(1024).into();
        assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            too_large.body(),
            "body too large: the body exceeds the 1024-byte limit\n"
        );
    }

    #[test]
    fn read_failures_keep_the_io_error_out_of_the_response() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "peer 10.1.2.3 reset");
        let rejection = WebhookRejection::from(FailedToReadBody(Box::new(io)));
        assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
        assert_eq!(rejection.to_string(), "failed to read the request body");
        let source = rejection.source().map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("peer 10.1.2.3 reset"));
    }

    #[test]
    fn missing_verifier_is_a_server_error() {
        let rejection = WebhookRejection::from(MissingVerifier(()));
        assert_eq!(rejection.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(rejection.to_string().contains("app_data"));
    }
}
