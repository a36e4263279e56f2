//! Why a delivery was refused, and which HTTP status says so.

use bedrud_webhook_types::RawEnvelopeError;
use http::StatusCode;

use crate::SignatureFormatError;

/// Why a delivery was refused.
///
/// Every variant is either an **authenticity failure** (the request cannot be
/// shown to come from Bedrud, or could be a replay: HTTP 401), a **malformed
/// payload** that *was* genuinely signed (HTTP 400), or a body over the
/// configured limit (HTTP 413). [`Error::status`] gives the status, so that
/// every integration answers the same way.
///
/// `Display` is safe to log: it describes only what the peer sent and the
/// receiver's configuration, never the secret or the expected MAC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Neither `X-Bedrud-Signature` nor `X-Webhook-Signature` is present.
    #[error("missing signature: no X-Bedrud-Signature or X-Webhook-Signature header")]
    MissingSignature,
    /// The signature header appears more than once.
    #[error("duplicated signature: the signature header appears more than once")]
    DuplicateSignature,
    /// The signature header is not `sha256=` and 64 hex digits.
    #[error("malformed signature: {0}")]
    MalformedSignature(#[from] SignatureFormatError),
    /// The signature is well-formed but matches no configured secret.
    #[error("signature mismatch: the signature does not match the body for any configured secret")]
    SignatureMismatch,
    /// The signed timestamp is further in the past than the tolerance allows.
    #[error(
        "stale delivery: the signed timestamp is {age_secs} s old, beyond the {tolerance_secs} s tolerance"
    )]
    TimestampTooOld {
        /// How many seconds before now the timestamp lies.
        age_secs: u64,
        /// The configured tolerance in seconds.
        tolerance_secs: u64,
    },
    /// The signed timestamp is further in the future than the tolerance allows.
    #[error(
        "delivery from the future: the signed timestamp is {ahead_secs} s ahead, beyond the {tolerance_secs} s tolerance"
    )]
    TimestampTooNew {
        /// How many seconds after now the timestamp lies.
        ahead_secs: u64,
        /// The configured tolerance in seconds.
        tolerance_secs: u64,
    },
    /// An unsigned header disagrees with the signed body, or appears twice.
    #[error("header mismatch: the {header} header does not match the signed body")]
    HeaderMismatch {
        /// The header's canonical name, such as `X-Bedrud-Event`.
        header: &'static str,
    },
    /// The body is larger than the configured limit.
    #[error("body too large: the body exceeds the {limit}-byte limit")]
    BodyTooLarge {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The genuinely signed body is not a JSON object.
    #[error("invalid payload: the signed body is not a JSON object")]
    NotJsonObject,
    /// The genuinely signed body has no `event` field.
    #[error("invalid payload: the signed body has no \"event\" field")]
    MissingEvent,
    /// The genuinely signed body has no `timestamp` field.
    #[error("invalid payload: the signed body has no \"timestamp\" field")]
    MissingTimestamp,
    /// `event`, `timestamp` or `data` has the wrong JSON type or appears twice.
    #[error(
        "invalid payload: the \"event\", \"timestamp\" or \"data\" field has the wrong type or appears twice"
    )]
    InvalidEnvelope,
    /// The signed `timestamp` is not an RFC 3339 date-time.
    #[error("invalid payload: the signed timestamp is not an RFC 3339 date-time")]
    InvalidTimestamp,
}

impl Error {
    /// The HTTP status every integration answers with: 401, 400 or 413.
    ///
    /// ```
    /// use bedrud_webhook_verify::Error;
    /// use http::StatusCode;
    ///
    /// assert_eq!(Error::SignatureMismatch.status(), StatusCode::UNAUTHORIZED);
    /// assert_eq!(Error::MissingEvent.status(), StatusCode::BAD_REQUEST);
    /// assert_eq!(Error::BodyTooLarge { limit: 10 }.status(), StatusCode::PAYLOAD_TOO_LARGE);
    /// ```
    #[must_use]
    pub fn status(&self) -> StatusCode {
        if self.is_authenticity_failure() {
            StatusCode::UNAUTHORIZED
        } else if matches!(self, Self::BodyTooLarge { .. }) {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::BAD_REQUEST
        }
    }

    /// Whether the request could not be shown to be a fresh delivery from
    /// Bedrud: a missing, malformed, duplicated or mismatched signature, a
    /// timestamp outside the tolerance, or an unsigned header that disagrees
    /// with the signed body.
    #[must_use]
    pub fn is_authenticity_failure(&self) -> bool {
        matches!(
            self,
            Self::MissingSignature
                | Self::DuplicateSignature
                | Self::MalformedSignature(_)
                | Self::SignatureMismatch
                | Self::TimestampTooOld { .. }
                | Self::TimestampTooNew { .. }
                | Self::HeaderMismatch { .. }
        )
    }

    /// A short, stable, machine-readable name for the reason, such as
    /// `signature_mismatch`: for metrics labels and the shared test vectors.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingSignature => "missing_signature",
            Self::DuplicateSignature => "duplicate_signature",
            Self::MalformedSignature(_) => "malformed_signature",
            Self::SignatureMismatch => "signature_mismatch",
            Self::TimestampTooOld { .. } => "timestamp_too_old",
            Self::TimestampTooNew { .. } => "timestamp_too_new",
            Self::HeaderMismatch { .. } => "header_mismatch",
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::NotJsonObject => "not_json_object",
            Self::MissingEvent => "missing_event",
            Self::MissingTimestamp => "missing_timestamp",
            Self::InvalidEnvelope => "invalid_envelope",
            Self::InvalidTimestamp => "invalid_timestamp",
        }
    }
}

impl From<RawEnvelopeError> for Error {
    fn from(e: RawEnvelopeError) -> Self {
        match e {
            RawEnvelopeError::NotJsonObject => Self::NotJsonObject,
            RawEnvelopeError::MissingEvent => Self::MissingEvent,
            RawEnvelopeError::MissingTimestamp => Self::MissingTimestamp,
            // `RawEnvelopeError` is non-exhaustive; any future reason is
            // still a genuinely signed body that is not an envelope.
            _ => Self::InvalidEnvelope,
        }
    }
}
