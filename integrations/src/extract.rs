//! The two things a receiver can ask for: a verified, typed event, or the
//! verified bytes to parse later.

use std::ops::{Deref, DerefMut};

use bedrud_webhook_types::{Envelope, ParseError};
use bedrud_webhook_verify::{DeliveryHeaders, Verifier};
use bytes::Bytes;

use crate::WebhookRejection;
use crate::receive::receive;

/// A verified delivery, parsed into its typed event.
///
/// As an extractor (axum with feature `axum`, actix-web with feature
/// `actix-web`) it reads the body up to the verifier's limit, checks the
/// signature, the timestamp and the headers, and parses the envelope; a
/// request that fails any of it never reaches the handler, and is answered
/// with a [`WebhookRejection`]. An event this SDK does not know yet arrives
/// as [`Event::Unknown`](crate::Event::Unknown) and is accepted.
///
/// The envelope's `timestamp` is the signed one, checked against the
/// tolerance.
///
/// ```
/// use bedrud_webhook::{Event, Webhook};
///
/// fn describe(Webhook(envelope): Webhook) -> String {
///     match &envelope.event {
///         Event::RoomEnded(room) => format!("{} ended at {}", room.room_name, envelope.timestamp),
///         other => format!("{} at {}", other.name(), envelope.timestamp),
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Webhook(pub Envelope);

/// The exact bytes of a verified delivery, for "verify now, parse later".
///
/// The same checks as [`Webhook`] (signature, timestamp, headers, and that
/// the body is an envelope), but the event's `data` is not parsed: a body
/// whose `data` the typed parser would refuse still passes. Use it to store
/// or forward the delivery as it was signed, or to parse it with your own
/// types.
///
/// ```
/// use bedrud_webhook::VerifiedBody;
///
/// fn store(VerifiedBody(bytes): VerifiedBody) -> usize {
///     // Exactly what Bedrud signed, byte for byte.
///     bytes.len()
/// }
/// # let _ = store;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[must_use]
pub struct VerifiedBody(pub Bytes);

impl Webhook {
    /// Checks and parses a delivery that some other framework received:
    /// `headers` from its header representation (see
    /// [`DeliveryHeaders::from_pairs`]) and `body` the exact bytes, read with
    /// at most [`Verifier::body_limit`] bytes. The rejection, if any, carries
    /// the same status the integrations answer with, and is logged.
    ///
    /// # Errors
    ///
    /// A [`WebhookRejection`] saying why the delivery was refused.
    pub fn verify(
        verifier: &Verifier,
        headers: &DeliveryHeaders<'_>,
        body: impl Into<Bytes>,
    ) -> Result<Self, WebhookRejection> {
        receive(verifier, headers, Ok(body.into()))
    }

    /// The envelope.
    #[must_use]
    pub fn into_inner(self) -> Envelope {
        self.0
    }
}

impl VerifiedBody {
    /// Checks a delivery that some other framework received, without
    /// parsing its `data`; see [`Webhook::verify`].
    ///
    /// # Errors
    ///
    /// A [`WebhookRejection`] saying why the delivery was refused.
    pub fn verify(
        verifier: &Verifier,
        headers: &DeliveryHeaders<'_>,
        body: impl Into<Bytes>,
    ) -> Result<Self, WebhookRejection> {
        receive(verifier, headers, Ok(body.into()))
    }

    /// Parses the verified bytes into a typed envelope, now that you want it.
    ///
    /// # Errors
    ///
    /// A [`ParseError`] when a known event's `data` has a field of the wrong
    /// type (the envelope itself was already checked).
    pub fn parse(&self) -> Result<Envelope, ParseError> {
        Envelope::from_slice(&self.0)
    }

    /// The bytes.
    #[must_use]
    pub fn into_inner(self) -> Bytes {
        self.0
    }
}

impl Deref for Webhook {
    type Target = Envelope;

    fn deref(&self) -> &Envelope {
        &self.0
    }
}

impl DerefMut for Webhook {
    fn deref_mut(&mut self) -> &mut Envelope {
        &mut self.0
    }
}

impl Deref for VerifiedBody {
    type Target = Bytes;

    fn deref(&self) -> &Bytes {
        &self.0
    }
}

impl AsRef<[u8]> for VerifiedBody {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
