//! What the unit tests of every integration share: one secret, a verifier
//! with a chosen body limit, and a fresh, genuinely signed delivery; and,
//! for the sender's, the wire page's golden `room.ended` vector.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

#[cfg(any(feature = "axum", feature = "actix-web", feature = "tower"))]
use bedrud_webhook_types::{Envelope, EventKind, Timestamp};
use bedrud_webhook_verify::Secret;
#[cfg(any(feature = "axum", feature = "actix-web", feature = "tower"))]
use bedrud_webhook_verify::Verifier;

/// The golden vectors' secret.
pub(crate) const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";

/// [`SECRET`] as a [`Secret`].
#[cfg(feature = "sender")]
pub(crate) fn secret() -> Secret {
    Secret::new(SECRET).unwrap()
}

/// The golden `room.ended` body of the wire page, signed with [`SECRET`] as
/// [`ROOM_ENDED_SIG`].
#[cfg(feature = "sender")]
pub(crate) const ROOM_ENDED: &str = r#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#;

/// The signature header Bedrud sends with [`ROOM_ENDED`].
#[cfg(feature = "sender")]
pub(crate) const ROOM_ENDED_SIG: &str =
    "sha256=4a8a28e49e3e197b6aa2b626b4226a7131bae2bee66c980a640f1b6401a7469a";

/// A verifier for [`SECRET`] with the default tolerance and `limit`.
#[cfg(any(feature = "axum", feature = "actix-web", feature = "tower"))]
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
#[cfg(any(feature = "axum", feature = "actix-web", feature = "tower"))]
pub(crate) fn fresh(kind: EventKind) -> Vec<u8> {
    let mut envelope = Envelope::sample(kind);
    envelope.timestamp = Timestamp::now();
    envelope.to_bedrud_json()
}
