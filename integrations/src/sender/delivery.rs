//! Building the exact request Bedrud sends, without sending it.

use std::fmt;

use bedrud_webhook_types::{Envelope, RawEnvelope, Timestamp};
use bedrud_webhook_verify::{Secret, headers, sign};
use bytes::Bytes;
use http::header::{ACCEPT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderName, HeaderValue, Method, Request, Uri};
use serde_json::{Map, Value};

use super::SendError;

/// The `User-Agent` Go's HTTP client sends when the caller sets none, as
/// Bedrud's dispatcher does.
pub const GO_USER_AGENT: &str = "Go-http-client/1.1";

/// Which names the delivery's signature and event headers go by.
///
/// Receivers meet both: the shipped server sends the [`Bedrud`](Self::Bedrud)
/// names, the admin guide documents the [`Webhook`](Self::Webhook) ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum HeaderDialect {
    /// `X-Bedrud-Signature`, `X-Bedrud-Event` and `X-Bedrud-Timestamp`: what
    /// the shipped Bedrud server sends.
    #[default]
    Bedrud,
    /// `X-Webhook-Signature` and `X-Webhook-Event`, as Bedrud's admin guide
    /// names them; the guide has no timestamp header, so none is sent.
    Webhook,
}

/// One delivery as Bedrud would make it: the exact body bytes and the
/// values of the unsigned headers, ready to be signed and addressed with
/// [`Delivery::request`].
///
/// Cheap to clone: the body is reference-counted.
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    body: Bytes,
    event: Option<String>,
    timestamp: Option<String>,
    dialect: HeaderDialect,
}

impl Delivery {
    /// The delivery Bedrud makes for `envelope`: the body is the envelope
    /// encoded byte for byte as Bedrud's Go sender encodes it.
    #[must_use]
    pub fn new(envelope: &Envelope) -> Self {
        Self {
            body: Bytes::from(envelope.to_bedrud_json()),
            event: Some(envelope.event.name().to_owned()),
            timestamp: Some(envelope.timestamp.to_string()),
            dialect: HeaderDialect::default(),
        }
    }

    /// The delivery Bedrud makes for an event named `event` carrying `data`,
    /// whatever the name and whatever the data: `data` is re-encoded the way
    /// Bedrud encodes it (keys sorted, Go's escaping, no whitespace), so the
    /// order and spacing it was written with do not matter.
    #[must_use]
    pub fn from_data(event: &str, timestamp: Timestamp, data: &Map<String, Value>) -> Self {
        Self {
            body: Bytes::from(bedrud_webhook_types::encode::envelope(
                event, timestamp, data,
            )),
            event: Some(event.to_owned()),
            timestamp: Some(timestamp.to_string()),
            dialect: HeaderDialect::default(),
        }
    }

    /// A delivery of arbitrary bytes, signed as they are: for deliveries no
    /// Bedrud would send (a body in another encoding, a malformed one, a
    /// forgery in the making).
    ///
    /// When `body` is an envelope, the event and timestamp headers repeat its
    /// `event` and `timestamp` fields exactly as written, as Bedrud's would;
    /// otherwise those headers are left out.
    #[must_use]
    pub fn from_body(body: impl Into<Bytes>) -> Self {
        let body = body.into();
        let (event, timestamp) = match RawEnvelope::from_slice(&body) {
            Ok(raw) => (
                Some(raw.event.into_owned()),
                Some(raw.timestamp.into_owned()),
            ),
            Err(_) => (None, None),
        };
        Self {
            body,
            event,
            timestamp,
            dialect: HeaderDialect::default(),
        }
    }

    /// Uses `dialect`'s header names.
    #[must_use]
    pub fn with_dialect(mut self, dialect: HeaderDialect) -> Self {
        self.dialect = dialect;
        self
    }

    /// Uses the admin guide's `X-Webhook-Signature` and `X-Webhook-Event`
    /// names; short for `with_dialect(HeaderDialect::Webhook)`.
    #[must_use]
    pub fn legacy_headers(self) -> Self {
        self.with_dialect(HeaderDialect::Webhook)
    }

    /// The exact body bytes that are signed and sent.
    #[must_use]
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The event header's value, if one is sent.
    #[must_use]
    pub fn event(&self) -> Option<&str> {
        self.event.as_deref()
    }

    /// The timestamp header's value, if one is sent (never in the
    /// [`HeaderDialect::Webhook`] dialect).
    #[must_use]
    pub fn timestamp(&self) -> Option<&str> {
        match self.dialect {
            HeaderDialect::Bedrud => self.timestamp.as_deref(),
            HeaderDialect::Webhook => None,
        }
    }

    /// The header names in use.
    #[must_use]
    pub fn dialect(&self) -> HeaderDialect {
        self.dialect
    }

    /// The signature header's value for `secret`: `sha256=` and 64 lowercase
    /// hex digits.
    #[must_use]
    pub fn signature(&self, secret: &Secret) -> String {
        sign(secret, &self.body)
    }

    /// The request Bedrud would send to `url`, signed with `secret`: a plain
    /// [`http::Request`] any client can send.
    ///
    /// The headers are those Go's client writes, in its order: `Host`,
    /// `User-Agent: Go-http-client/1.1`, `Content-Length`, then
    /// `Content-Type: application/json` and the delivery headers sorted by
    /// name, and last `Accept-Encoding: gzip`.
    ///
    /// # Errors
    ///
    /// [`SendError::InvalidUrl`] unless `url` is an absolute `http://` or
    /// `https://` URL without credentials, and
    /// [`SendError::InvalidHeaderValue`] when the event or timestamp cannot
    /// be written in a header (a control character, say). The errors never
    /// repeat the URL or the secret.
    pub fn request(&self, url: &str, secret: &Secret) -> Result<Request<Bytes>, SendError> {
        let uri = parse_url(url)?;
        let host = host_header(&uri)?;
        let (signature_name, event_name) = match self.dialect {
            HeaderDialect::Bedrud => (headers::SIGNATURE, headers::EVENT),
            HeaderDialect::Webhook => (headers::WEBHOOK_SIGNATURE, headers::WEBHOOK_EVENT),
        };
        let signature = HeaderValue::try_from(self.signature(secret)).map_err(|_| {
            SendError::InvalidHeaderValue {
                header: "signature",
            }
        })?;

        // Sorted by name after Content-Type, as Go writes a header map:
        // X-Bedrud-Event < X-Bedrud-Signature < X-Bedrud-Timestamp.
        let mut delivery_headers: Vec<(HeaderName, HeaderValue)> = Vec::with_capacity(3);
        if let Some(event) = &self.event {
            delivery_headers.push((event_name, header_value(event, "event")?));
        }
        delivery_headers.push((signature_name, signature));
        if let Some(timestamp) = self.timestamp() {
            delivery_headers.push((headers::TIMESTAMP, header_value(timestamp, "timestamp")?));
        }

        let mut request = Request::new(self.body.clone());
        *request.method_mut() = Method::POST;
        *request.uri_mut() = uri;
        let map = request.headers_mut();
        map.insert(HOST, host);
        map.insert(USER_AGENT, HeaderValue::from_static(GO_USER_AGENT));
        map.insert(CONTENT_LENGTH, HeaderValue::from(self.body.len()));
        map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in delivery_headers {
            map.insert(name, value);
        }
        // Go's transport asks for gzip on its own unless told otherwise.
        map.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        Ok(request)
    }
}

fn header_value(value: &str, header: &'static str) -> Result<HeaderValue, SendError> {
    HeaderValue::from_str(value).map_err(|_| SendError::InvalidHeaderValue { header })
}

/// Accepts what Bedrud's admin form accepts and a client can reach: an
/// absolute http(s) URL.
pub(super) fn parse_url(url: &str) -> Result<Uri, SendError> {
    let uri: Uri = url.parse().map_err(|_| SendError::InvalidUrl {
        reason: "it is not a valid URL (expected something like http://127.0.0.1:8787/webhooks/bedrud)",
    })?;
    check_uri(&uri)?;
    Ok(uri)
}

/// The checks a request's URI must pass before the client may send it.
pub(super) fn check_uri(uri: &Uri) -> Result<(), SendError> {
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(_) => {
            return Err(SendError::InvalidUrl {
                reason: "the scheme must be http or https",
            });
        }
        None => {
            return Err(SendError::InvalidUrl {
                reason: "it is not absolute: start it with http:// or https://",
            });
        }
    }
    let Some(authority) = uri.authority() else {
        return Err(SendError::InvalidUrl {
            reason: "it has no host",
        });
    };
    if authority.as_str().contains('@') {
        // Go would turn these into a Basic Authorization header; Bedrud's
        // receivers authenticate by signature, so they are refused rather
        // than sent in the clear.
        return Err(SendError::InvalidUrl {
            reason: "credentials in the URL (user:password@) are not supported",
        });
    }
    if authority.host().is_empty() {
        return Err(SendError::InvalidUrl {
            reason: "it has no host",
        });
    }
    Ok(())
}

/// The `Host` header Go writes: the URL's host and port as written.
fn host_header(uri: &Uri) -> Result<HeaderValue, SendError> {
    let authority = uri.authority().ok_or(SendError::InvalidUrl {
        reason: "it has no host",
    })?;
    HeaderValue::from_str(authority.as_str()).map_err(|_| SendError::InvalidUrl {
        reason: "its host cannot be written in a Host header",
    })
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("event", &self.event)
            .field("timestamp", &self.timestamp)
            .field("dialect", &self.dialect)
            .field("body_len", &self.body.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{ROOM_ENDED, ROOM_ENDED_SIG, SECRET, secret};

    fn names(request: &Request<Bytes>) -> Vec<&str> {
        request.headers().keys().map(HeaderName::as_str).collect()
    }

    #[test]
    fn golden_body_gets_bedrud_headers_in_go_order() {
        let delivery = Delivery::from_body(ROOM_ENDED);
        let request = delivery
            .request("http://127.0.0.1:8787/webhooks/bedrud?x=1", &secret())
            .unwrap();
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.uri(), "http://127.0.0.1:8787/webhooks/bedrud?x=1");
        assert_eq!(request.body().as_ref(), ROOM_ENDED.as_bytes());
        assert_eq!(
            names(&request),
            [
                "host",
                "user-agent",
                "content-length",
                "content-type",
                "x-bedrud-event",
                "x-bedrud-signature",
                "x-bedrud-timestamp",
                "accept-encoding",
            ]
        );
        let h = request.headers();
        assert_eq!(h["host"], "127.0.0.1:8787");
        assert_eq!(h["user-agent"], "Go-http-client/1.1");
        assert_eq!(h["content-length"], ROOM_ENDED.len().to_string().as_str());
        assert_eq!(h["content-type"], "application/json");
        assert_eq!(h["x-bedrud-event"], "room.ended");
        assert_eq!(h["x-bedrud-signature"], ROOM_ENDED_SIG);
        assert_eq!(h["x-bedrud-timestamp"], "2026-04-01T12:34:56Z");
        assert_eq!(h["accept-encoding"], "gzip");
    }

    #[test]
    fn webhook_dialect_uses_the_guide_names_and_no_timestamp() {
        let delivery = Delivery::from_body(ROOM_ENDED).legacy_headers();
        assert_eq!(delivery.dialect(), HeaderDialect::Webhook);
        assert_eq!(delivery.timestamp(), None);
        let request = delivery
            .request("https://example.com/hook", &secret())
            .unwrap();
        let h = request.headers();
        assert_eq!(h["x-webhook-signature"], ROOM_ENDED_SIG);
        assert_eq!(h["x-webhook-event"], "room.ended");
        assert_eq!(h["host"], "example.com");
        for absent in ["x-bedrud-signature", "x-bedrud-event", "x-bedrud-timestamp"] {
            assert!(!h.contains_key(absent), "{absent}");
        }
    }

    #[test]
    fn a_body_that_is_not_an_envelope_gets_only_a_signature() {
        let delivery = Delivery::from_body(&b"not json at all"[..]);
        assert_eq!(delivery.event(), None);
        assert_eq!(delivery.timestamp(), None);
        let request = delivery.request("http://[::1]:9/x", &secret()).unwrap();
        let h = request.headers();
        assert_eq!(h["host"], "[::1]:9");
        assert!(h.contains_key("x-bedrud-signature"));
        assert!(!h.contains_key("x-bedrud-event"));
        assert!(!h.contains_key("x-bedrud-timestamp"));
        assert_eq!(request.body().as_ref(), b"not json at all");
    }

    #[test]
    fn from_body_repeats_fields_exactly_as_written() {
        let body = r#"{"timestamp":"2026-04-01T14:34:56+02:00","event":"room.paused","data":null}"#;
        let delivery = Delivery::from_body(body);
        assert_eq!(delivery.event(), Some("room.paused"));
        assert_eq!(delivery.timestamp(), Some("2026-04-01T14:34:56+02:00"));
        assert_eq!(delivery.body().as_ref(), body.as_bytes());
    }

    #[test]
    fn from_data_reencodes_any_event_the_bedrud_way() {
        let data: Map<String, Value> =
            serde_json::from_str(r#"{ "userId": "u1", "roomName": "<b>Q&A</b>", "roomId": "r1" }"#)
                .unwrap();
        let ts = Timestamp::parse("2026-04-01T12:34:56Z").unwrap();
        let delivery = Delivery::from_data("room.paused", ts, &data);
        assert_eq!(
            delivery.body().as_ref(),
            br#"{"data":{"roomId":"r1","roomName":"\u003cb\u003eQ\u0026A\u003c/b\u003e","userId":"u1"},"event":"room.paused","timestamp":"2026-04-01T12:34:56Z"}"#
        );
        assert_eq!(delivery.event(), Some("room.paused"));
        assert_eq!(delivery.timestamp(), Some("2026-04-01T12:34:56Z"));
    }

    #[test]
    fn envelope_delivery_matches_the_golden_ping() {
        let ts = Timestamp::parse("2026-04-01T12:34:56Z").unwrap();
        let envelope = Envelope::new(
            bedrud_webhook_types::Event::sample(bedrud_webhook_types::EventKind::Ping),
            ts,
        );
        let delivery = Delivery::new(&envelope);
        assert_eq!(
            delivery.body().as_ref(),
            br#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#
        );
        assert_eq!(
            delivery.signature(&secret()),
            "sha256=5f16939ad45069b2126b88cd3cf1736bc6cd112fc47c6ee8b14874876644b572"
        );
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_them() {
        let delivery = Delivery::from_body(ROOM_ENDED);
        for url in [
            "",
            "not a url",
            "/webhooks/bedrud",
            "ftp://example.com/hook",
            "http://user:hunter2@example.com/hook",
            "127.0.0.1:8787",
        ] {
            let err = delivery.request(url, &secret()).unwrap_err();
            assert!(
                matches!(err, SendError::InvalidUrl { .. }),
                "{url}: {err:?}"
            );
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(!shown.contains(SECRET), "{shown}");
        }
    }

    #[test]
    fn event_names_that_cannot_be_headers_are_an_error() {
        let delivery = Delivery::from_data("bad\nname", Timestamp::now(), &Map::new());
        let err = delivery
            .request("http://127.0.0.1:1/", &secret())
            .unwrap_err();
        assert!(
            matches!(err, SendError::InvalidHeaderValue { header: "event" }),
            "{err:?}"
        );
    }

    #[test]
    fn debug_shows_no_body() {
        let shown = format!("{:?}", Delivery::from_body(ROOM_ENDED));
        assert!(!shown.contains("weekly-sync"), "{shown}");
        assert!(shown.contains("room.ended"), "{shown}");
    }
}
