use http::StatusCode;

use crate::ParseError;

/// Why a delivery was refused, and how to answer it.
///
/// Messages never contain the secret or text from the body.
///
/// ```
/// use bedrud_webhook_verify::{Error, ParseError};
/// use http::StatusCode;
///
/// assert_eq!(Error::SignatureMismatch.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(Error::Payload(ParseError::MissingEvent).status(), StatusCode::BAD_REQUEST);
/// assert_eq!(Error::BodyTooLarge { limit: 10 }.status(), StatusCode::PAYLOAD_TOO_LARGE);
/// assert_eq!(Error::SignatureMismatch.reason(), "signature_mismatch");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A verifier was configured with an empty secret.
    #[error("the webhook secret is empty; use the secret shown in Bedrud's admin page")]
    EmptySecret,
    /// Neither `X-Bedrud-Signature` nor `X-Webhook-Signature` is present.
    #[error("no X-Bedrud-Signature or X-Webhook-Signature header")]
    MissingSignature,
    /// More than one signature header.
    #[error("more than one signature header")]
    DuplicateSignature,
    /// The signature is not `sha256=` and 64 hex digits.
    #[error("the signature is not sha256= and 64 hex digits")]
    MalformedSignature,
    /// The signature matches the body for no configured secret.
    #[error("the signature does not match the body for any configured secret")]
    SignatureMismatch,
    /// The signed timestamp is older than the tolerance allows.
    #[error("the signed timestamp is {age_secs} s old, beyond the tolerance")]
    TimestampTooOld {
        /// Seconds before now.
        age_secs: u64,
    },
    /// The signed timestamp is further ahead than the tolerance allows.
    #[error("the signed timestamp is {ahead_secs} s ahead, beyond the tolerance")]
    TimestampTooNew {
        /// Seconds after now.
        ahead_secs: u64,
    },
    /// An unsigned header disagrees with the signed body.
    #[error("the {header} header does not match the signed body")]
    HeaderMismatch {
        /// The header's name, such as `X-Bedrud-Event`.
        header: &'static str,
    },
    /// The body is larger than the limit.
    #[error("the body is larger than the {limit}-byte limit")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The genuinely signed body is not a usable envelope.
    #[error("the signed body is not a Bedrud envelope: {0}")]
    Payload(#[from] ParseError),
}

impl Error {
    /// The answer: 401 for anything that puts authenticity in doubt, 400 for a
    /// genuine body that is not an envelope, 413 for an oversized body (and
    /// 500 for [`Error::EmptySecret`], a configuration fault).
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Error::EmptySecret => StatusCode::INTERNAL_SERVER_ERROR,
            Error::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Payload(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// A short, stable name for logs and metrics, such as `signature_mismatch`.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Error::EmptySecret => "empty_secret",
            Error::MissingSignature => "missing_signature",
            Error::DuplicateSignature => "duplicate_signature",
            Error::MalformedSignature => "malformed_signature",
            Error::SignatureMismatch => "signature_mismatch",
            Error::TimestampTooOld { .. } => "timestamp_too_old",
            Error::TimestampTooNew { .. } => "timestamp_too_new",
            Error::HeaderMismatch { .. } => "header_mismatch",
            Error::BodyTooLarge { .. } => "body_too_large",
            Error::Payload(e) => e.reason(),
        }
    }
}
