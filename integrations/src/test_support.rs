//! What the unit tests of every integration share: one secret, a verifier
//! with a chosen body limit, and a fresh, genuinely signed delivery.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use bedrud_webhook_types::{Envelope, EventKind, Timestamp};
use bedrud_webhook_verify::{Secret, Verifier};

/// The golden vectors' secret.
pub(crate) const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";

/// A verifier for [`SECRET`] with the default tolerance and `limit`.
pub(crate) fn verifier(limit: usize) -> Verifier {
    Verifier::builder(Secret::new(SECRET).unwrap())
        .body_limit(limit)
        .build()
}

/// The signature header value for `body` under [`SECRET`].
#[cfg(any(feature = "actix-web", feature = "tower"))]
pub(crate) fn sign(body: &[u8]) -> String {
    verifier(usize::MAX).sign(body)
}

/// A Bedrud-exact body of `kind` with sample data, dated now.
pub(crate) fn fresh(kind: EventKind) -> Vec<u8> {
    let mut envelope = Envelope::sample(kind);
    envelope.timestamp = Timestamp::now();
    envelope.to_bedrud_json()
}
