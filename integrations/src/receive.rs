//! The one pipeline every integration runs once it has the body: verify,
//! parse, and log whatever was refused.
//!
//! Keeping it here means the status table (through
//! [`WebhookRejection::from`]) and the logging are written once, and the
//! three frameworks cannot drift apart.

use bedrud_webhook_types::Envelope;
use bedrud_webhook_verify::{DeliveryHeaders, VerifiedDelivery, Verifier};
use bytes::Bytes;

use crate::{VerifiedBody, Webhook, WebhookRejection};

/// What an integration can hand on once a delivery passed the verifier.
pub(crate) trait Receive: Sized {
    /// What is read from the delivery while it still borrows the body.
    type Parsed;

    /// Reads what this value needs from a delivery that passed every check.
    fn parse(delivery: &VerifiedDelivery<'_>) -> Result<Self::Parsed, WebhookRejection>;

    /// The result, given the body back: moved, not cloned, so that keeping
    /// it costs no reference count.
    fn with_body(parsed: Self::Parsed, body: Bytes) -> Self;
}

impl Receive for Webhook {
    type Parsed = Envelope;

    fn parse(delivery: &VerifiedDelivery<'_>) -> Result<Envelope, WebhookRejection> {
        Ok(Envelope::from_raw(&delivery.envelope)?)
    }

    fn with_body(envelope: Envelope, _body: Bytes) -> Self {
        Webhook(envelope)
    }
}

impl Receive for VerifiedBody {
    type Parsed = ();

    fn parse(_delivery: &VerifiedDelivery<'_>) -> Result<(), WebhookRejection> {
        Ok(())
    }

    fn with_body((): (), body: Bytes) -> Self {
        VerifiedBody(body)
    }
}

/// The tower layer hands on both: the typed envelope as an extension, and
/// the exact bytes as the forwarded body.
impl Receive for (Envelope, Bytes) {
    type Parsed = Envelope;

    fn parse(delivery: &VerifiedDelivery<'_>) -> Result<Envelope, WebhookRejection> {
        Webhook::parse(delivery)
    }

    fn with_body(envelope: Envelope, body: Bytes) -> Self {
        (envelope, body)
    }
}

/// Verifies and parses a delivery whose body was read as `body` (or could
/// not be: then `body` is the rejection), logging any rejection exactly once.
pub(crate) fn receive<T: Receive>(
    verifier: &Verifier,
    headers: &DeliveryHeaders<'_>,
    body: Result<Bytes, WebhookRejection>,
) -> Result<T, WebhookRejection> {
    body.and_then(|body| {
        let parsed = T::parse(&verifier.verify_headers(headers, &body)?)?;
        Ok(T::with_body(parsed, body))
    })
    .map_err(refuse)
}

/// Logs a rejection on its way out: every rejection an integration answers
/// with passes here exactly once, most of them through [`receive`], the few
/// decided before there is a body to verify directly.
pub(crate) fn refuse(rejection: WebhookRejection) -> WebhookRejection {
    rejection.log();
    rejection
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use bedrud_webhook_types::{EventKind, Timestamp};
    use bedrud_webhook_verify::Secret;
    use http::HeaderMap;

    use super::*;

    const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";

    /// Everything logged while `f` runs, at every level, as plain text.
    fn logged<R>(f: impl FnOnce() -> R) -> (R, String) {
        #[derive(Clone, Default)]
        struct Capture(Arc<Mutex<Vec<u8>>>);
        impl Write for Capture {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let result = tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        (result, text)
    }

    fn headers(signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-bedrud-signature", signature.parse().unwrap());
        headers
    }

    #[test]
    fn a_forgery_is_logged_once_as_a_warning_without_the_expected_mac() {
        let verifier = Verifier::new(Secret::new(SECRET).unwrap());
        let mut envelope = Envelope::sample(EventKind::Ping);
        envelope.timestamp = Timestamp::now();
        let body = Bytes::from(envelope.to_bedrud_json());
        let expected_mac = verifier.sign(&body);
        let forged = headers(&format!("sha256={}", "0".repeat(64)));

        let (outcome, log) = logged(|| {
            receive::<Webhook>(
                &verifier,
                &DeliveryHeaders::from_header_map(&forged),
                Ok(body),
            )
        });
        assert_eq!(outcome.unwrap_err().status(), 401);
        assert_eq!(log.lines().count(), 1, "{log}");
        assert!(
            log.contains("WARN") && log.contains("signature_mismatch"),
            "{log}"
        );
        assert!(!log.contains(SECRET), "{log}");
        assert!(!log.contains(&expected_mac["sha256=".len()..]), "{log}");
    }

    #[test]
    fn a_bad_payload_is_logged_once_at_debug() {
        let verifier = Verifier::new(Secret::new(SECRET).unwrap());
        let body = Bytes::from_static(b"not json");
        let signed = headers(&verifier.sign(&body));
        let (outcome, log) = logged(|| {
            receive::<VerifiedBody>(
                &verifier,
                &DeliveryHeaders::from_header_map(&signed),
                Ok(body),
            )
        });
        assert_eq!(outcome.unwrap_err().status(), 400);
        assert_eq!(log.lines().count(), 1, "{log}");
        assert!(
            log.contains("DEBUG") && log.contains("not_json_object"),
            "{log}"
        );
    }

    #[test]
    fn a_genuine_delivery_logs_nothing() {
        let verifier = Verifier::new(Secret::new(SECRET).unwrap());
        let mut envelope = Envelope::sample(EventKind::RoomEnded);
        envelope.timestamp = Timestamp::now();
        let body = Bytes::from(envelope.to_bedrud_json());
        let signed = headers(&verifier.sign(&body));
        let (outcome, log) = logged(|| {
            receive::<(Envelope, Bytes)>(
                &verifier,
                &DeliveryHeaders::from_header_map(&signed),
                Ok(body.clone()),
            )
        });
        let (parsed, raw) = outcome.unwrap();
        assert_eq!(parsed, envelope);
        assert_eq!(raw, body);
        assert!(log.is_empty(), "{log}");
    }
}
