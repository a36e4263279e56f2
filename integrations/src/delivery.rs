//! Genuinely signed deliveries for tests: byte for byte what Bedrud sends,
//! with no network client.
//!
//! A [`Delivery`] is a body (encoded as Bedrud's Go server encodes it) plus the
//! values of its unsigned headers; [`Delivery::request`] signs it and builds the
//! [`http::Request`] Bedrud would send, with any body type that is `From<Bytes>`
//! (axum's, hyper's `Full`, `Bytes` itself).
//!
//! ```
//! use bedrud_webhook::delivery::{Delivery, HeaderDialect, sample_event};
//! use bedrud_webhook::{Envelope, EventKind, Secret, Timestamp};
//! use http::Request;
//!
//! let secret = Secret::new("9f86d081884c7d659a2feaa0c55ad015")?;
//!
//! // Genuine: a sample `room.ended` stamped now, as your receiver must accept it.
//! let genuine = Delivery::sample(EventKind::RoomEnded);
//! let request: Request<axum::body::Body> = genuine.request("/webhooks/bedrud", &secret)?;
//! assert_eq!(request.headers()["x-bedrud-event"], "room.ended");
//!
//! // Forged: the same delivery signed with a secret the receiver does not hold (401).
//! let forged = genuine.request::<axum::body::Body>("/webhooks/bedrud", &Secret::new("not-the-secret")?)?;
//! assert_ne!(forged.headers()["x-bedrud-signature"], request.headers()["x-bedrud-signature"]);
//!
//! // Stale: genuinely signed, but stamped an hour ago, outside the tolerance (401).
//! let hour_ago = Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() - 3600)?;
//! let stale = Delivery::new(&Envelope::new(sample_event(EventKind::Ping), hour_ago));
//! let stale: Request<axum::body::Body> = stale.request("/webhooks/bedrud", &secret)?;
//!
//! // The admin guide's header names: X-Webhook-Signature and X-Webhook-Event.
//! let guide = Delivery::sample(EventKind::Ping).dialect(HeaderDialect::Webhook);
//! let request: Request<bytes::Bytes> = guide.request("http://127.0.0.1:3000/hook", &secret)?;
//! assert!(request.headers().contains_key("x-webhook-signature"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{self, Write};

use bedrud_webhook_types::{
    Envelope, Event, EventKind, RawEnvelope, RecordingData, RecordingStatus, RoomData, Timestamp,
};
use bedrud_webhook_verify::{Secret, headers, sign};
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
use http::{Request, Uri};
use serde::Serialize;
use serde_json::ser::Formatter;

/// Encodes `value` exactly as Go's `json.Marshal` encodes it after Bedrud
/// decoded it into a `map[string]any`: keys sorted by bytes at every level, no
/// whitespace, Go's HTML-safe string escapes, and every number as a float64.
///
/// ```
/// let value = serde_json::json!({"z": [3.0, 1e21, 9007199254740993_u64], "a": "<Q&A>"});
/// assert_eq!(
///     bedrud_webhook::delivery::to_go_json(&value)?,
///     br#"{"a":"\u003cQ\u0026A\u003e","z":[3,1e+21,9007199254740992]}"#
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// # Errors
///
/// When `value` cannot be a JSON value: a map with non-string keys, or a
/// number beyond float64 in raw JSON (which Bedrud could never send).
pub fn to_go_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut value = serde_json::to_value(value)?;
    // Maps are already sorted unless some crate enables `preserve_order`.
    value.sort_all_objects();
    let mut out = Vec::new();
    value.serialize(&mut serde_json::Serializer::with_formatter(
        &mut out,
        GoFormatter,
    ))?;
    Ok(out)
}

/// serde_json's compact output with the escapes and numbers of Go's
/// `encoding/json`. serde_json already writes `\"` `\\` `\n` `\r` `\t` `\b` `\f`
/// and `\u00xx` (lowercase) for other control bytes, as Go 1.22 and later do.
struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, s: &str) -> io::Result<()> {
        let mut done = 0;
        for (at, c) in s.match_indices(['<', '>', '&', '\u{2028}', '\u{2029}']) {
            w.write_all(&s.as_bytes()[done..at])?;
            let code = c.chars().next().map_or(0, u32::from);
            write!(w, "\\u{code:04x}")?;
            done = at + c.len();
        }
        w.write_all(&s.as_bytes()[done..])
    }

    fn write_i64<W: ?Sized + Write>(&mut self, w: &mut W, value: i64) -> io::Result<()> {
        w.write_all(go_float(value as f64).as_bytes())
    }

    fn write_u64<W: ?Sized + Write>(&mut self, w: &mut W, value: u64) -> io::Result<()> {
        w.write_all(go_float(value as f64).as_bytes())
    }

    fn write_f64<W: ?Sized + Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(go_float(value).as_bytes())
    }

    /// Reached only when a crate in the build enables `arbitrary_precision`.
    fn write_number_str<W: ?Sized + Write>(&mut self, w: &mut W, value: &str) -> io::Result<()> {
        match value.parse::<f64>() {
            Ok(x) if x.is_finite() => w.write_all(go_float(x).as_bytes()),
            _ => w.write_all(value.as_bytes()),
        }
    }
}

/// `x` as Go's `encoding/json` writes a float64: the shortest digits that read
/// back as `x`, in exponent form (`1e+21`, `1.5e-7`) only when `|x|` is below
/// 1e-6 or at least 1e21.
fn go_float(x: f64) -> String {
    if !x.is_finite() {
        return "null".to_owned();
    }
    let exponent_form = x != 0.0 && !(1e-6..1e21).contains(&x.abs());
    let shortest = if exponent_form {
        format!("{x:e}")
    } else {
        format!("{x}")
    };
    // Of two shortest candidates exactly as close to `x`, Go takes the even last
    // digit and Rust the larger; Rust's fixed-precision output is exact and
    // rounds half to even, so it gives Go's choice whenever it reads back as `x`.
    let mantissa = shortest.split('e').next().unwrap_or_default();
    let even = if exponent_form {
        let digits = mantissa.bytes().filter(u8::is_ascii_digit).count();
        format!("{x:.p$e}", p = digits.saturating_sub(1))
    } else {
        let decimals = mantissa.split_once('.').map_or(0, |(_, frac)| frac.len());
        format!("{x:.decimals$}")
    };
    let tie = even != shortest && mantissa.contains('.') && even.parse() == Ok(x);
    let digits = if tie { even } else { shortest };
    match digits.split_once('e') {
        Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
        _ => digits,
    }
}

/// Which names the signature and event headers go by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderDialect {
    /// `X-Bedrud-Signature`, `X-Bedrud-Event` and `X-Bedrud-Timestamp`: what
    /// the shipped Bedrud server sends.
    #[default]
    Bedrud,
    /// `X-Webhook-Signature` and `X-Webhook-Event`, the admin guide's names; the
    /// guide has no timestamp header, so none is sent.
    Webhook,
}

/// One delivery: the exact body bytes and its unsigned header values, to be
/// signed and addressed with [`Delivery::request`]. Cloning is cheap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    body: Bytes,
    event: Option<String>,
    timestamp: Option<String>,
    dialect: HeaderDialect,
}

impl Delivery {
    /// The delivery Bedrud makes for `envelope`, its body encoded by
    /// [`to_go_json`]. Data Bedrud could never send (a number beyond float64 in
    /// an unknown event's raw data) is written as given instead.
    #[must_use]
    pub fn new(envelope: &Envelope) -> Delivery {
        let body = to_go_json(envelope).or_else(|_| serde_json::to_vec(envelope));
        Delivery {
            body: Bytes::from(body.unwrap_or_default()),
            event: Some(envelope.event.name().to_owned()),
            timestamp: Some(envelope.timestamp.to_string()),
            dialect: HeaderDialect::default(),
        }
    }

    /// A genuine delivery of [`sample_event`]`(kind)`, stamped now.
    #[must_use]
    pub fn sample(kind: EventKind) -> Delivery {
        Delivery::new(&Envelope::new(sample_event(kind), Timestamp::now()))
    }

    /// A delivery of exactly these bytes, for bodies Bedrud would not send. The
    /// event and timestamp headers repeat the body's fields as written when it
    /// is an envelope; otherwise they are left out.
    #[must_use]
    pub fn from_body(body: impl Into<Bytes>) -> Delivery {
        let body = body.into();
        let fields = RawEnvelope::from_slice(&body)
            .map(|raw| (raw.event().to_owned(), raw.timestamp_text().to_owned()));
        let (event, timestamp) = fields.ok().unzip();
        Delivery {
            body,
            event,
            timestamp,
            dialect: HeaderDialect::default(),
        }
    }

    /// Uses `dialect`'s header names.
    #[must_use]
    pub fn dialect(mut self, dialect: HeaderDialect) -> Delivery {
        self.dialect = dialect;
        self
    }

    /// The exact body bytes that are signed and sent.
    #[must_use]
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The signature header's value for `secret`: `sha256=` and 64 hex digits.
    /// Sign with a secret the receiver does not hold to forge a delivery.
    #[must_use]
    pub fn signature(&self, secret: &Secret) -> String {
        sign(secret, &self.body)
    }

    /// The `POST` Bedrud sends to `uri` (absolute, or a path for in-process
    /// tests), signed with `secret`. Headers in Go's order: `Host` (absolute
    /// URIs only), `User-Agent: Go-http-client/1.1`, `Content-Length`,
    /// `Content-Type: application/json`, then the event, signature and
    /// timestamp headers of the [`HeaderDialect`].
    ///
    /// # Errors
    ///
    /// When `uri` is not a valid URI, or the event or timestamp from
    /// [`Delivery::from_body`] cannot be a header value.
    pub fn request<B: From<Bytes>>(
        &self,
        uri: &str,
        secret: &Secret,
    ) -> Result<Request<B>, http::Error> {
        let (signature, event) = match self.dialect {
            HeaderDialect::Bedrud => (headers::SIGNATURE, headers::EVENT),
            HeaderDialect::Webhook => (headers::WEBHOOK_SIGNATURE, headers::WEBHOOK_EVENT),
        };
        let mut builder = Request::post(uri);
        // Go's Host leaves out any `user:password@`.
        let authority = builder.uri_ref().and_then(Uri::authority);
        let host = authority.and_then(|a| a.as_str().rsplit('@').next().map(str::to_owned));
        if let Some(host) = host {
            builder = builder.header(HOST, host);
        }
        builder = builder
            .header(USER_AGENT, "Go-http-client/1.1")
            .header(CONTENT_LENGTH, self.body.len())
            .header(CONTENT_TYPE, "application/json");
        if let Some(name) = &self.event {
            builder = builder.header(event, name.as_str());
        }
        builder = builder.header(signature, self.signature(secret));
        if let (Some(at), HeaderDialect::Bedrud) = (&self.timestamp, self.dialect) {
            builder = builder.header(headers::TIMESTAMP, at.as_str());
        }
        builder.body(B::from(self.body.clone()))
    }
}

/// A realistic event of `kind`, with fixed sample ids and names.
#[must_use]
pub fn sample_event(kind: EventKind) -> Event {
    let room = || {
        RoomData::new(
            "3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34",
            "weekly-sync",
            "7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d",
        )
    };
    match kind {
        EventKind::RoomCreated => Event::RoomCreated(room()),
        EventKind::RoomEnded => Event::RoomEnded(room()),
        EventKind::ParticipantJoined => Event::ParticipantJoined(room()),
        EventKind::ParticipantLeft => Event::ParticipantLeft(room()),
        EventKind::RecordingCompleted => {
            let mut rec = RecordingData::new(
                "b6d1f0a2-4c3e-4f8a-9d7b-0e1c2a3b4d5f",
                room().room_id,
                "weekly-sync",
            );
            rec.file_url = Some("https://files.example.com/recordings/weekly-sync.mp4".to_owned());
            rec.file_size_bytes = Some(734_003_200);
            rec.duration_ms = Some(3_600_000);
            rec.status = Some(RecordingStatus::Completed);
            Event::RecordingCompleted(rec)
        }
        EventKind::Ping => Event::Ping,
        // A kind newer than this function: its data from `{}` (fields default).
        _ => Event::from_parts(kind.as_str(), None).unwrap_or(Event::Ping),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bedrud_webhook_verify::{Error as VerifyError, Verifier};
    use serde_json::{Value, json};

    pub(crate) const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";

    /// The shared test vectors (`tests/vectors/README.md`), which hold the
    /// wire page's golden vectors: the only copy of them.
    pub(crate) fn vectors() -> Value {
        serde_json::from_str(include_str!(
            "../../tests/vectors/bedrud-webhook-vectors.json"
        ))
        .unwrap()
    }

    /// The golden vector `golden_<name>` of the shared file: its body and its
    /// signature with [`SECRET`].
    pub(crate) fn golden(name: &str) -> (String, String) {
        let file = vectors();
        let name = format!("golden_{name}");
        let case = file["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|case| case["name"] == name.as_str())
            .unwrap_or_else(|| panic!("no case {name}"));
        assert_eq!(case["secret"], SECRET);
        let signature = case["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|pair| pair[0] == "X-Bedrud-Signature")
            .unwrap()[1]
            .as_str()
            .unwrap();
        let body = case["body"].as_str().unwrap();
        (body.to_owned(), signature.to_owned())
    }

    pub(crate) fn secret() -> Secret {
        Secret::new(SECRET).unwrap()
    }

    fn go(value: &Value) -> String {
        String::from_utf8(to_go_json(value).unwrap()).unwrap()
    }

    fn names<B>(request: &Request<B>) -> Vec<&str> {
        request.headers().keys().map(|name| name.as_str()).collect()
    }

    #[test]
    fn golden_vectors_byte_for_byte() {
        let at = Timestamp::parse("2026-04-01T12:34:56Z").unwrap();
        let envelopes = [
            Event::RoomEnded(RoomData::new(
                "3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34",
                "weekly-sync",
                "7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d",
            )),
            Event::Ping,
            Event::RoomCreated(RoomData::new("r1", "<b>Q&A</b> — café 🎥 \u{2028}", "u1")),
        ];
        let names = ["room_ended", "ping", "room_created_escaping"];
        for (event, name) in envelopes.into_iter().zip(names) {
            let (body, signature) = golden(name);
            let delivery = Delivery::new(&Envelope::new(event, at));
            assert_eq!(std::str::from_utf8(delivery.body()).unwrap(), body);
            assert_eq!(delivery.signature(&secret()), signature);
        }
    }

    #[test]
    fn strings_escape_as_go_does() {
        for byte in (0u8..0x20).chain([0x7f]) {
            let want = match byte {
                0x08 => r"\b".to_owned(),
                0x09 => r"\t".to_owned(),
                0x0a => r"\n".to_owned(),
                0x0c => r"\f".to_owned(),
                0x0d => r"\r".to_owned(),
                0x7f => "\u{7f}".to_owned(),
                _ => format!("\\u00{byte:02x}"),
            };
            assert_eq!(
                go(&json!(char::from(byte).to_string())),
                format!("\"{want}\""),
                "{byte:#x}"
            );
        }
        let cases = [
            ("\"\\/", r#""\"\\/""#),
            ("a<b>&c", r#""a\u003cb\u003e\u0026c""#),
            ("\u{2028}x\u{2029}", r#""\u2028x\u2029""#),
            (
                "é — 🎥 \u{85}\u{2027}\u{feff}",
                "\"é — 🎥 \u{85}\u{2027}\u{feff}\"",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(go(&json!(input)), want, "{input:?}");
        }
        // Keys are sorted as raw bytes, then escaped like values: "&" < "<" < "a".
        assert_eq!(
            go(&json!({"a": 1, "<": 2, "&": 3})),
            r#"{"\u0026":3,"\u003c":2,"a":1}"#
        );
    }

    #[test]
    #[allow(clippy::excessive_precision, reason = "exact float64 tie values")]
    fn numbers_are_written_as_go_float64() {
        let cases = [
            (json!(0), "0"),
            (json!(-0.0), "-0"),
            (json!(-7), "-7"),
            (json!(3.0), "3"),
            (json!(0.25), "0.25"),
            (json!(1e-6), "0.000001"),
            (json!(9.99e-7), "9.99e-7"),
            (json!(1.5e-7), "1.5e-7"),
            (json!(-1e-10), "-1e-10"),
            (json!(1e20), "100000000000000000000"),
            (json!(1e21), "1e+21"),
            (json!(1.5e300), "1.5e+300"),
            (json!(9_007_199_254_740_993_u64), "9007199254740992"),
            (json!(i64::MIN), "-9223372036854776000"),
            (json!(u64::MAX), "18446744073709552000"),
            (json!(1.0 / 3.0), "0.3333333333333333"),
            (json!(5e-324), "5e-324"),
            // Exact ties between two shortest decimals: Go takes the even digit.
            (json!(233_115_890_514_796.125), "233115890514796.12"),
            (json!(-2_020_163_013_628_192.25), "-2020163013628192.2"),
            (json!(1_716_481_631_878_246.75), "1716481631878246.8"),
        ];
        for (value, want) in cases {
            assert_eq!(go(&value), want, "{value:?}");
        }
        let mut out = Vec::new();
        GoFormatter.write_number_str(&mut out, "1e21").unwrap();
        assert_eq!(out, b"1e+21");
    }

    #[test]
    fn data_go_cannot_hold_is_kept_as_given() {
        let data = serde_json::value::RawValue::from_string(r#"{"n":1e400}"#.to_owned()).unwrap();
        let event = Event::from_parts("room.locked", Some(&data)).unwrap();
        let at = Timestamp::parse("2026-04-01T12:34:56Z").unwrap();
        let envelope = Envelope::new(event, at);
        assert!(to_go_json(&envelope).is_err());
        assert_eq!(
            Delivery::new(&envelope).body().as_ref(),
            br#"{"data":{"n":1e400},"event":"room.locked","timestamp":"2026-04-01T12:34:56Z"}"#
        );
    }

    #[test]
    fn keys_sorted_by_bytes_at_every_level() {
        let value = json!({"b": [{"y": 1, "x": {"k2": true, "k1": null}}], "B": {}, "é": [], "": "", "a": 1});
        assert_eq!(
            go(&value),
            r#"{"":"","B":{},"a":1,"b":[{"x":{"k1":null,"k2":true},"y":1}],"é":[]}"#
        );
    }

    #[test]
    fn samples_verify_and_parse_back() {
        let verifier = Verifier::new(secret());
        for kind in EventKind::ALL {
            let request: Request<Bytes> =
                Delivery::sample(kind).request("/hook", &secret()).unwrap();
            let verified = verifier.verify(request.headers(), request.body()).unwrap();
            assert_eq!(verified.parse().unwrap().event, sample_event(kind));
        }
        let ping = Delivery::sample(EventKind::Ping);
        assert!(
            ping.body()
                .starts_with(br#"{"data":{},"event":"ping","timestamp":""#)
        );
    }

    #[test]
    fn forged_and_stale_are_refused() {
        let verifier = Verifier::new(secret());
        let forger = Secret::new("e3b0c44298fc1c149afbf4c8996fb924").unwrap();
        let forged: Request<Bytes> = Delivery::sample(EventKind::RoomEnded)
            .request("/", &forger)
            .unwrap();
        let err = verifier
            .verify(forged.headers(), forged.body())
            .unwrap_err();
        assert_eq!(err, VerifyError::SignatureMismatch);

        let old = Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() - 3600).unwrap();
        let stale = Delivery::new(&Envelope::new(sample_event(EventKind::RoomEnded), old));
        let stale: Request<Bytes> = stale.request("/", &secret()).unwrap();
        let err = verifier.verify(stale.headers(), stale.body()).unwrap_err();
        assert!(
            matches!(err, VerifyError::TimestampTooOld { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn request_headers_in_go_order_in_both_dialects() {
        let (body, signature) = golden("room_ended");
        let delivery = Delivery::from_body(body.clone());
        let request: Request<Bytes> = delivery
            .request(
                "http://user:pw@127.0.0.1:8787/webhooks/bedrud?x=1",
                &secret(),
            )
            .unwrap();
        assert_eq!(request.method(), http::Method::POST);
        assert_eq!(
            request.uri(),
            "http://user:pw@127.0.0.1:8787/webhooks/bedrud?x=1"
        );
        assert_eq!(request.body().as_ref(), body.as_bytes());
        let h = request.headers();
        assert_eq!(
            names(&request),
            [
                "host",
                "user-agent",
                "content-length",
                "content-type",
                "x-bedrud-event",
                "x-bedrud-signature",
                "x-bedrud-timestamp"
            ]
        );
        assert_eq!(h["host"], "127.0.0.1:8787");
        assert_eq!(h["user-agent"], "Go-http-client/1.1");
        assert_eq!(h["content-length"], body.len().to_string());
        assert_eq!(h["content-type"], "application/json");
        assert_eq!(h["x-bedrud-event"], "room.ended");
        assert_eq!(h["x-bedrud-signature"], signature);
        assert_eq!(h["x-bedrud-timestamp"], "2026-04-01T12:34:56Z");

        let request: Request<Bytes> = delivery
            .dialect(HeaderDialect::Webhook)
            .request("/hook", &secret())
            .unwrap();
        let h = request.headers();
        assert_eq!(
            names(&request),
            [
                "user-agent",
                "content-length",
                "content-type",
                "x-webhook-event",
                "x-webhook-signature"
            ]
        );
        assert_eq!(h["x-webhook-event"], "room.ended");
        assert_eq!(h["x-webhook-signature"], signature);
    }

    #[test]
    fn from_body_keeps_bytes_and_fields_as_written() {
        let body =
            r#"{"timestamp":"2026-04-01T14:34:56+02:00", "event":"room.paused","data":null}"#;
        let request: Request<Bytes> = Delivery::from_body(body).request("/", &secret()).unwrap();
        assert_eq!(request.body().as_ref(), body.as_bytes());
        assert_eq!(request.headers()["x-bedrud-event"], "room.paused");
        assert_eq!(
            request.headers()["x-bedrud-timestamp"],
            "2026-04-01T14:34:56+02:00"
        );

        let request: Request<Bytes> = Delivery::from_body(&b"not json"[..])
            .request("/", &secret())
            .unwrap();
        assert_eq!(
            names(&request),
            [
                "user-agent",
                "content-length",
                "content-type",
                "x-bedrud-signature"
            ]
        );
        assert_eq!(
            request.headers()["x-bedrud-signature"],
            sign(&secret(), b"not json")
        );

        let bad_event =
            Delivery::from_body(r#"{"event":"a\nb","timestamp":"2026-04-01T12:34:56Z"}"#);
        assert!(bad_event.request::<Bytes>("/", &secret()).is_err());
        assert!(
            Delivery::from_body("{}")
                .request::<Bytes>("not a uri", &secret())
                .is_err()
        );
    }

    /// Every shared vector that Bedrud sends byte for byte: its body re-encodes
    /// to itself, and its request carries the listed headers in order.
    #[test]
    fn shared_vectors_reencode_and_rebuild_exactly() {
        let file = vectors();
        let mut checked = 0;
        for case in file["cases"].as_array().unwrap() {
            if case["bedrud_exact"] != true {
                continue;
            }
            let name = case["name"].as_str().unwrap();
            let body = case["body"].as_str().unwrap();
            let value: Value = serde_json::from_str(body).unwrap();
            assert_eq!(
                std::str::from_utf8(&to_go_json(&value).unwrap()).unwrap(),
                body,
                "{name}"
            );

            let secret = Secret::new(case["secret"].as_str().unwrap()).unwrap();
            let request: Request<Bytes> = Delivery::from_body(body.to_owned())
                .request("/", &secret)
                .unwrap();
            let got: Vec<(&str, &str)> = request
                .headers()
                .iter()
                .filter(|(name, _)| *name != CONTENT_LENGTH)
                .map(|(name, value)| (name.as_str(), value.to_str().unwrap()))
                .collect();
            let want: Vec<(String, &str)> = case["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|pair| {
                    (
                        pair[0].as_str().unwrap().to_ascii_lowercase(),
                        pair[1].as_str().unwrap(),
                    )
                })
                .collect();
            let want: Vec<(&str, &str)> = want.iter().map(|(n, v)| (n.as_str(), *v)).collect();
            assert_eq!(got, want, "{name}");
            checked += 1;
        }
        assert!(checked >= 20, "only {checked} cases");
    }
}
