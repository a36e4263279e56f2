//! The header names Bedrud sends, in both dialects.
//!
//! The shipped server sends the `X-Bedrud-*` names; Bedrud's admin guide
//! says `X-Webhook-*`. A verifier accepts both. Only the body is signed: the
//! event and timestamp headers are checked against it.

use http::HeaderName;

/// `X-Bedrud-Signature`: `sha256=` and the hex HMAC-SHA256 of the body.
pub const SIGNATURE: HeaderName = HeaderName::from_static("x-bedrud-signature");
/// `X-Bedrud-Event`: the body's `event`.
pub const EVENT: HeaderName = HeaderName::from_static("x-bedrud-event");
/// `X-Bedrud-Timestamp`: the body's `timestamp`.
pub const TIMESTAMP: HeaderName = HeaderName::from_static("x-bedrud-timestamp");
/// `X-Webhook-Signature`: the admin guide's name for the signature.
pub const WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static("x-webhook-signature");
/// `X-Webhook-Event`: the admin guide's name for the event.
pub const WEBHOOK_EVENT: HeaderName = HeaderName::from_static("x-webhook-event");
