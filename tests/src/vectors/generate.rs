//! Builds every case of the vectors file with the real encoder and signer.
//!
//! Each case's expectation comes from how the case was built (which single
//! thing was changed from a genuine delivery), never from running the
//! verifier: the tests then check the verifier against it. Every rejected
//! case has exactly one fault, so its verdict does not depend on the order in
//! which a receiver makes its checks.

use anyhow::ensure;
use bedrud_webhook_types::{
    Envelope, Event, EventKind, RecordingData, RecordingStatus, RoomData, Timestamp, encode,
};
use bedrud_webhook_verify::{Secret, sign};
use serde_json::{Map, Value, json};

use super::{
    Expect, FORMAT_VERSION, REASON_INVALID_DATA, STATUS_ACCEPTED, VERDICT_ACCEPTED,
    VERDICT_REJECTED, VectorCase, VectorFile, base64_encode,
};

/// The receiver's current secret: the wire page's golden-vector secret.
const CURRENT_SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";
/// The receiver's previous secret, still accepted during a rotation.
const PREVIOUS_SECRET: &str = "e3b0c44298fc1c149afbf4c8996fb924";
/// A secret the receiver does not know.
const UNKNOWN_SECRET: &str = "d41d8cd98f00b204e9800998ecf8427e";

/// The receiver's clock.
const NOW: &str = "2026-04-01T12:35:00Z";
/// When the ordinary cases were sent: one second before [`NOW`].
const SENT: &str = "2026-04-01T12:34:59Z";
/// When the wire page's golden vectors were sent: four seconds before [`NOW`].
const GOLDEN_SENT: &str = "2026-04-01T12:34:56Z";
const TOLERANCE_SECONDS: u64 = 300;
/// Small, so that the over-limit body stays small too.
const BODY_LIMIT_BYTES: usize = 4096;

/// `User-Agent` of Go's HTTP client, which Bedrud's dispatcher keeps.
const GO_USER_AGENT: &str = "Go-http-client/1.1";

/// The wire page's golden vectors, copied byte for byte: the generator
/// refuses to write a file in which the encoder and signer disagree with them.
const GOLDEN: [(&str, &str); 3] = [
    (
        r#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#,
        "sha256=4a8a28e49e3e197b6aa2b626b4226a7131bae2bee66c980a640f1b6401a7469a",
    ),
    (
        r#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#,
        "sha256=5f16939ad45069b2126b88cd3cf1736bc6cd112fc47c6ee8b14874876644b572",
    ),
    (
        r#"{"data":{"roomId":"r1","roomName":"\u003cb\u003eQ\u0026A\u003c/b\u003e — café 🎥 \u2028","userId":"u1"},"event":"room.created","timestamp":"2026-04-01T12:34:56Z"}"#,
        "sha256=b8a0d661a77397cb6b13ba923aa7f2200538f60b58d749223b86ba1e115efed1",
    ),
];

/// Why a case is refused, with the status the contract gives that reason.
///
/// The names are the verifier's `Error::reason()` names, plus
/// `invalid_data`; the statuses are the table of issue 4, written out here
/// rather than asked of the verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    MissingSignature,
    DuplicateSignature,
    MalformedSignature,
    SignatureMismatch,
    TimestampTooOld,
    TimestampTooNew,
    HeaderMismatch,
    BodyTooLarge,
    NotJsonObject,
    MissingEvent,
    MissingTimestamp,
    InvalidEnvelope,
    InvalidTimestamp,
    InvalidData,
}

impl Reason {
    fn name(self) -> &'static str {
        match self {
            Reason::MissingSignature => "missing_signature",
            Reason::DuplicateSignature => "duplicate_signature",
            Reason::MalformedSignature => "malformed_signature",
            Reason::SignatureMismatch => "signature_mismatch",
            Reason::TimestampTooOld => "timestamp_too_old",
            Reason::TimestampTooNew => "timestamp_too_new",
            Reason::HeaderMismatch => "header_mismatch",
            Reason::BodyTooLarge => "body_too_large",
            Reason::NotJsonObject => "not_json_object",
            Reason::MissingEvent => "missing_event",
            Reason::MissingTimestamp => "missing_timestamp",
            Reason::InvalidEnvelope => "invalid_envelope",
            Reason::InvalidTimestamp => "invalid_timestamp",
            Reason::InvalidData => REASON_INVALID_DATA,
        }
    }

    /// 401 for authenticity failures, 413 for the size, 400 for a genuinely
    /// signed body that is not a Bedrud envelope.
    fn status(self) -> u16 {
        match self {
            Reason::MissingSignature
            | Reason::DuplicateSignature
            | Reason::MalformedSignature
            | Reason::SignatureMismatch
            | Reason::TimestampTooOld
            | Reason::TimestampTooNew
            | Reason::HeaderMismatch => 401,
            Reason::BodyTooLarge => 413,
            Reason::NotJsonObject
            | Reason::MissingEvent
            | Reason::MissingTimestamp
            | Reason::InvalidEnvelope
            | Reason::InvalidTimestamp
            | Reason::InvalidData => 400,
        }
    }
}

/// What a case expects.
#[derive(Debug, Clone)]
enum Outcome {
    /// Accepted; the application is handed this event.
    Accepted(String),
    Rejected(Reason),
}

impl Outcome {
    fn expect(&self) -> Expect {
        match self {
            Outcome::Accepted(event) => Expect {
                status: STATUS_ACCEPTED,
                verdict: VERDICT_ACCEPTED.to_owned(),
                reason: None,
                event: Some(event.clone()),
            },
            Outcome::Rejected(reason) => Expect {
                status: reason.status(),
                verdict: VERDICT_REJECTED.to_owned(),
                reason: Some(reason.name().to_owned()),
                event: None,
            },
        }
    }
}

/// A body with the envelope fields a sender writes into the headers.
#[derive(Debug, Clone)]
struct Body {
    bytes: Vec<u8>,
    event: String,
    timestamp: String,
}

impl Body {
    /// Bedrud's bytes for a typed event.
    fn typed(event: Event, timestamp: Timestamp) -> Self {
        Self {
            bytes: Envelope::new(event.clone(), timestamp).to_bedrud_json(),
            event: event.name().to_owned(),
            timestamp: timestamp.to_string(),
        }
    }

    /// Bedrud's bytes for any event name and `data` object.
    fn untyped(event: &str, timestamp: Timestamp, data: &Map<String, Value>) -> Self {
        Self {
            bytes: encode::envelope(event, timestamp, data),
            event: event.to_owned(),
            timestamp: timestamp.to_string(),
        }
    }

    /// The outcome of delivering this body genuinely.
    fn accepted(&self) -> Outcome {
        Outcome::Accepted(self.event.clone())
    }
}

/// A case under construction.
#[derive(Debug, Clone)]
struct Draft {
    name: &'static str,
    description: String,
    outcome: Outcome,
    secret: Option<&'static str>,
    bedrud_exact: bool,
    http_safe: bool,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Draft {
    /// The request a Bedrud server configured with `secret` sends for `body`.
    fn bedrud(
        name: &'static str,
        description: impl Into<String>,
        body: &Body,
        secret: &'static str,
        outcome: Outcome,
    ) -> anyhow::Result<Self> {
        let signature = signature(secret, &body.bytes)?;
        Ok(Self {
            name,
            description: description.into(),
            outcome,
            secret: Some(secret),
            bedrud_exact: true,
            http_safe: true,
            headers: bedrud_headers(&body.event, &body.timestamp, &signature),
            body: body.bytes.clone(),
        })
    }

    /// A genuine delivery of `body` from Bedrud with the current secret:
    /// accepted.
    fn genuine(
        name: &'static str,
        description: impl Into<String>,
        body: &Body,
    ) -> anyhow::Result<Self> {
        Self::bedrud(name, description, body, CURRENT_SECRET, body.accepted())
    }

    /// A genuine delivery with one thing changed; no longer what Bedrud sends.
    fn altered(
        name: &'static str,
        description: impl Into<String>,
        body: &Body,
        outcome: Outcome,
    ) -> anyhow::Result<Self> {
        let mut draft = Self::bedrud(name, description, body, CURRENT_SECRET, outcome)?;
        draft.bedrud_exact = false;
        Ok(draft)
    }

    /// A body that Bedrud never writes, genuinely signed with the current
    /// secret, with `Content-Type`, the signature, and whichever of the
    /// envelope headers agree with the body.
    fn signed_payload(
        name: &'static str,
        description: impl Into<String>,
        body: Vec<u8>,
        event: Option<&str>,
        timestamp: Option<&str>,
        reason: Reason,
    ) -> anyhow::Result<Self> {
        let mut headers = vec![
            header("User-Agent", GO_USER_AGENT),
            header("Content-Type", "application/json"),
        ];
        if let Some(event) = event {
            headers.push(header("X-Bedrud-Event", event));
        }
        headers.push(header(
            "X-Bedrud-Signature",
            &signature(CURRENT_SECRET, &body)?,
        ));
        if let Some(timestamp) = timestamp {
            headers.push(header("X-Bedrud-Timestamp", timestamp));
        }
        Ok(Self {
            name,
            description: description.into(),
            outcome: Outcome::Rejected(reason),
            secret: Some(CURRENT_SECRET),
            bedrud_exact: false,
            http_safe: true,
            headers,
            body,
        })
    }

    /// Replaces the value of every header called `name`.
    fn set(mut self, name: &str, value: &str) -> Self {
        for (n, v) in &mut self.headers {
            if n.eq_ignore_ascii_case(name) {
                *v = value.to_owned();
            }
        }
        self
    }

    /// Drops every header called `name`.
    fn without(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    /// The signature header's value; the drafts all start with exactly one.
    fn signature(&self) -> String {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("X-Bedrud-Signature"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// The signature replaced by a malformed value: 401, no secret.
    fn malformed(mut self, value: &str) -> Self {
        self = self.set("X-Bedrud-Signature", value);
        self.secret = None;
        self.bedrud_exact = false;
        self.outcome = Outcome::Rejected(Reason::MalformedSignature);
        self
    }

    fn finish(self) -> VectorCase {
        let (body, body_base64) = match String::from_utf8(self.body) {
            Ok(text) => (Some(text), None),
            Err(e) => (None, Some(base64_encode(e.as_bytes()))),
        };
        VectorCase {
            name: self.name.to_owned(),
            description: self.description,
            expect: self.outcome.expect(),
            secret: self.secret.map(str::to_owned),
            bedrud_exact: self.bedrud_exact,
            http_safe: self.http_safe,
            headers: self.headers,
            body,
            body_base64,
        }
    }
}

fn header(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

/// The headers Bedrud's dispatcher sets, in the order Go's HTTP client
/// writes them (`User-Agent` first, the rest sorted by name).
fn bedrud_headers(event: &str, timestamp: &str, signature: &str) -> Vec<(String, String)> {
    vec![
        header("User-Agent", GO_USER_AGENT),
        header("Content-Type", "application/json"),
        header("X-Bedrud-Event", event),
        header("X-Bedrud-Signature", signature),
        header("X-Bedrud-Timestamp", timestamp),
    ]
}

fn signature(secret: &str, body: &[u8]) -> anyhow::Result<String> {
    Ok(sign(&Secret::new(secret)?, body))
}

fn at(text: &str) -> anyhow::Result<Timestamp> {
    Ok(Timestamp::parse(text)?)
}

/// `base` moved by `seconds`.
fn shifted(base: Timestamp, seconds: i64) -> anyhow::Result<Timestamp> {
    Ok(Timestamp::from_unix_seconds(base.unix_seconds() + seconds)?)
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Go's bytes for any JSON value (sorted keys, Go's escaping).
fn go_json(value: &Value) -> Vec<u8> {
    encode::to_bedrud_json(value)
}

/// The vectors file, built afresh.
///
/// # Errors
///
/// When the encoder or signer disagrees with the wire page's golden vectors,
/// or a fixed input turns out invalid (neither happens unless the code
/// changed).
pub fn generate() -> anyhow::Result<VectorFile> {
    let mut drafts = Vec::new();
    accepted(&mut drafts)?;
    signature_failures(&mut drafts)?;
    freshness_and_header_failures(&mut drafts)?;
    payload_failures(&mut drafts)?;

    let cases: Vec<VectorCase> = drafts.into_iter().map(Draft::finish).collect();
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    ensure!(names.len() == cases.len(), "two cases share a name");

    Ok(VectorFile {
        description: DESCRIPTION.to_owned(),
        format_version: FORMAT_VERSION,
        notes: NOTES.iter().map(|n| (*n).to_owned()).collect(),
        secrets: vec![CURRENT_SECRET.to_owned(), PREVIOUS_SECRET.to_owned()],
        now: NOW.to_owned(),
        tolerance_seconds: TOLERANCE_SECONDS,
        body_limit_bytes: BODY_LIMIT_BYTES,
        cases,
    })
}

const DESCRIPTION: &str = "Shared test vectors for Bedrud's outbound webhooks: deliveries \
(exact body bytes and header pairs) with the verdict a correct receiver gives each one, for \
the receiver configuration given by secrets, now, tolerance_seconds and body_limit_bytes. \
Generated by `cargo run -p bedrud-webhook-tests --bin generate-vectors` in the bedrud-webhook \
repository; do not edit by hand. Schema: tests/vectors/README.md.";

const NOTES: &[&str] = &[
    "Receiver configuration: accept every secret in `secrets` (the first is the current one, the \
     rest previous ones; each secret's key is its text's bytes, never hex-decoded); pin the \
     receiver's clock to `now`; accept a signed timestamp at most `tolerance_seconds` away from \
     `now` in either direction (exactly that far is accepted); refuse bodies longer than \
     `body_limit_bytes` (a body of exactly that length is accepted). The cases assume exactly \
     this configuration.",
    "Sending a case: POST the body bytes exactly as given (`body` is UTF-8 text, `body_base64` \
     standard base64 of non-UTF-8 bytes; never re-encode, trim or append a newline) with every \
     pair in `headers` added in order (a name may repeat: add, do not set). Host and \
     Content-Length are not listed; the client sets them.",
    "Only the body is signed: `sha256=` and the hex HMAC-SHA256 of the exact body bytes. Every \
     header is unsigned, so X-Bedrud-Event, X-Webhook-Event and X-Bedrud-Timestamp, when \
     present, must equal the body's `event` and `timestamp` byte for byte.",
    "Status mapping: 200 stands for any 2xx (the delivery is genuine, unknown event names \
     included); 401 for every authenticity failure (missing, duplicated, malformed or \
     mismatched signature, timestamp outside the tolerance, an unsigned header that disagrees \
     with the body); 400 for a genuinely signed body that is not a usable Bedrud envelope; 413 \
     for a body over the limit. `reason` names why, with the Rust SDK's names; a receiver under \
     test need only match `status`.",
    "Every rejected case differs from a genuine delivery in exactly one way, so its verdict \
     does not depend on the order in which a receiver makes its checks.",
    "`http_safe` is false for the cases whose headers cannot cross HTTP/1.1 intact (whitespace \
     around a header value, which HTTP parsers strip): give those headers to the verification \
     function directly, or skip the case in over-the-wire tests.",
    "Testing a sender: for every case with `bedrud_exact` true, a Bedrud server configured with \
     the case's `secret` must produce exactly `body` (Go's json.Marshal of the envelope it \
     holds: decode it into a map[string]any and marshal it again) and the same values for the \
     X-Bedrud-* headers. For every case with a non-null `secret`, each signature header is \
     sha256= and hex(HMAC-SHA256(secret, body)), whatever the case of its hex digits.",
];

/// Genuine deliveries: every event, both header dialects, the golden
/// vectors, rotation, the tolerance's edges, the body limit, and the forms a
/// newer Bedrud may send.
fn accepted(drafts: &mut Vec<Draft>) -> anyhow::Result<()> {
    let sent = at(SENT)?;
    for kind in EventKind::ALL {
        let body = Body::typed(Event::sample(kind), sent);
        let name = match kind {
            EventKind::RoomCreated => "event_room_created",
            EventKind::RoomEnded => "event_room_ended",
            EventKind::ParticipantJoined => "event_participant_joined",
            EventKind::ParticipantLeft => "event_participant_left",
            EventKind::RecordingCompleted => "event_recording_completed",
            EventKind::Ping => "event_ping",
            other => anyhow::bail!("no case name for the new event kind {other}"),
        };
        drafts.push(Draft::genuine(
            name,
            format!(
                "A genuine {kind} delivery, byte for byte as Bedrud sends it, with all of its \
                 X-Bedrud-* headers, signed with the current secret one second before now."
            ),
            &body,
        )?);
    }

    let golden_sent = at(GOLDEN_SENT)?;
    let golden_bodies = [
        (
            "golden_room_ended",
            "The wire page's first golden vector (room.ended), byte for byte, signature included.",
            Body::typed(Event::RoomEnded(RoomData::sample()), golden_sent),
        ),
        (
            "golden_ping",
            "The wire page's second golden vector (ping, the admin's Test button: data is {}), \
             byte for byte, signature included.",
            Body::typed(Event::Ping, golden_sent),
        ),
        (
            "golden_room_created_escaping",
            "The wire page's third golden vector (room.created): <, > and & escaped as \\u003c \
             \\u003e \\u0026 and U+2028 as \\u2028, while the em dash, é and the emoji are raw \
             UTF-8; byte for byte, signature included.",
            Body::typed(
                Event::RoomCreated(RoomData::new("r1", "<b>Q&A</b> — café 🎥 \u{2028}", "u1")),
                golden_sent,
            ),
        ),
    ];
    for ((name, description, body), (golden_body, golden_signature)) in
        golden_bodies.into_iter().zip(GOLDEN)
    {
        ensure!(
            body.bytes == golden_body.as_bytes(),
            "the encoder no longer writes the wire page's golden body for {name}"
        );
        let draft = Draft::genuine(name, description, &body)?;
        ensure!(
            draft.signature() == golden_signature,
            "the signer no longer gives the wire page's golden signature for {name}"
        );
        drafts.push(draft);
    }

    let escaping = Body::typed(
        Event::RoomCreated(RoomData::new(
            "room-<&>-\"quoted\"",
            "<script>alert('x')</script> & \"friends\" \\ / \u{2028}\u{2029} \
             🎥🇪🇪👩🏽‍💻 é ñ 中文 \u{1}\u{1f}\u{7f}\u{85}\n\r\t\u{8}\u{c}",
            "\u{0}user",
        )),
        sent,
    );
    drafts.push(Draft::genuine(
        "escaping_heavy_data",
        "room.created whose strings hold everything Go escapes or leaves alone: <>& as \
         \\u003c \\u003e \\u0026, U+2028/U+2029 as \\u2028 \\u2029, quote and backslash, \
         \\n \\r \\t \\b \\f short, other control characters as \\u00XX (lowercase hex, NUL \
         included), and raw UTF-8 for DEL, U+0085, emoji (a flag and a ZWJ sequence) and CJK.",
        &escaping,
    )?);

    let unknown = Body::untyped(
        "room.locked",
        sent,
        &object(json!({
            "roomId": "3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34",
            "lockedBy": {"userId": "7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d", "roles": ["host", "admin"]},
            "reason": null,
            "seats": 12,
            "ratio": 0.25,
            "offset": -7,
            "huge": 1e21,
            "tiny": 1.5e-7,
            "flags": [true, false, null, {}, []],
            "note": "<unknown> & new",
        })),
    );
    drafts.push(Draft::genuine(
        "unknown_event_nested_data",
        "An event name this SDK does not know (room.locked) with nested objects, arrays, null, \
         booleans and numbers in Go's float64 form (1e+21, 1.5e-7): genuine, so accepted and \
         handed on as an unknown event, never refused for being new.",
        &unknown,
    )?);

    let mut added = object(json!({
        "isGuest": true,
        "displayName": "Guest 42",
        "device": {"kind": "browser", "capabilities": ["audio", "video"]},
        "joinedAtMs": 1_775_046_899_000_u64,
    }));
    added.extend(Event::sample(EventKind::ParticipantJoined).to_data());
    let added = Body::untyped(EventKind::ParticipantJoined.as_str(), sent, &added);
    drafts.push(Draft::genuine(
        "added_data_fields",
        "participant.joined with fields a newer Bedrud might add to data (a boolean, a string, \
         a nested object, a large integer) next to the known ones: accepted, and the added \
         fields are kept.",
        &added,
    )?);

    let archived = Body::typed(
        Event::RecordingCompleted(
            RecordingData::sample().with_status(RecordingStatus::from("archived")),
        ),
        sent,
    );
    drafts.push(Draft::genuine(
        "recording_unknown_status",
        "recording.completed with a status this SDK does not know (archived): accepted, the \
         status kept as sent.",
        &archived,
    )?);

    let failed = Body::typed(
        Event::RecordingCompleted(
            RecordingData::new(
                "b6d767d2-f8a3-4d1c-9b9e-3a2f5c8e7d10",
                "3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34",
                "weekly-sync",
            )
            .with_status(RecordingStatus::Failed),
        ),
        sent,
    );
    drafts.push(Draft::genuine(
        "recording_without_file",
        "A failed recording.completed without fileURL, fileSizeBytes or durationMs: a missing \
         field never fails a signed delivery.",
        &failed,
    )?);

    let dialect = Body::typed(Event::sample(EventKind::RoomCreated), sent);
    let mut guide = Draft::genuine(
        "dialect_x_webhook",
        "The admin guide's header names: X-Webhook-Signature and X-Webhook-Event, with no \
         timestamp header. Genuine, so accepted.",
        &dialect,
    )?;
    guide.bedrud_exact = false;
    guide.headers = vec![
        header("User-Agent", GO_USER_AGENT),
        header("Content-Type", "application/json"),
        header("X-Webhook-Event", &dialect.event),
        header(
            "X-Webhook-Signature",
            &signature(CURRENT_SECRET, &dialect.bytes)?,
        ),
    ];
    drafts.push(guide);

    let rotated = Body::typed(Event::sample(EventKind::RoomEnded), sent);
    drafts.push(Draft::bedrud(
        "previous_secret",
        "Signed with the previous secret (the second in `secrets`), as a Bedrud server not yet \
         switched to the new one sends it: accepted during the rotation.",
        &rotated,
        PREVIOUS_SECRET,
        rotated.accepted(),
    )?);

    let upper = Body::typed(Event::sample(EventKind::ParticipantJoined), sent);
    let draft = Draft::altered(
        "signature_uppercase_hex",
        "The signature's hex digits in uppercase (the sha256= prefix kept lowercase): hex is \
         case-insensitive, so accepted.",
        &upper,
        upper.accepted(),
    )?;
    let value = draft.signature();
    let value = match value.split_once('=') {
        Some((prefix, digits)) => format!("{prefix}={}", digits.to_ascii_uppercase()),
        None => value,
    };
    drafts.push(draft.set("X-Bedrud-Signature", &value));

    let lower = Body::typed(Event::sample(EventKind::RecordingCompleted), sent);
    let mut draft = Draft::altered(
        "header_names_lowercase",
        "Every header name in lowercase, as HTTP/2 and many proxies deliver them: names are \
         case-insensitive, so accepted.",
        &lower,
        lower.accepted(),
    )?;
    for (name, _) in &mut draft.headers {
        *name = name.to_ascii_lowercase();
    }
    drafts.push(draft);

    let now = at(NOW)?;
    let tolerance = i64::try_from(TOLERANCE_SECONDS)?;
    let oldest = Body::typed(
        Event::sample(EventKind::RoomEnded),
        shifted(now, -tolerance)?,
    );
    drafts.push(Draft::genuine(
        "timestamp_at_past_edge",
        "Signed exactly tolerance_seconds (300 s) before now: the edge is inclusive, so \
         accepted.",
        &oldest,
    )?);
    let newest = Body::typed(
        Event::sample(EventKind::RoomCreated),
        shifted(now, tolerance)?,
    );
    drafts.push(Draft::genuine(
        "timestamp_at_future_edge",
        "Signed exactly tolerance_seconds (300 s) after now (the sender's clock runs ahead): \
         the edge is inclusive, so accepted.",
        &newest,
    )?);

    let at_limit = padded_room(sent, BODY_LIMIT_BYTES)?;
    drafts.push(Draft::genuine(
        "body_at_limit",
        "A genuine room.created whose body is exactly body_limit_bytes (4096) long: the limit \
         is inclusive, so accepted.",
        &at_limit,
    )?);
    Ok(())
}

/// A genuine `room.created` whose body is exactly `len` bytes long, padded
/// with a long room name.
fn padded_room(sent: Timestamp, len: usize) -> anyhow::Result<Body> {
    let body = |name: String| {
        Body::typed(
            Event::RoomCreated(RoomData::sample().with_room_name(name)),
            sent,
        )
    };
    let base = body("room-".to_owned()).bytes.len();
    ensure!(base <= len, "the padded body cannot be {len} bytes long");
    let padded = body(format!("room-{}", "x".repeat(len - base)));
    ensure!(padded.bytes.len() == len, "padding went wrong");
    Ok(padded)
}

/// Missing, duplicated, malformed and mismatched signatures.
fn signature_failures(drafts: &mut Vec<Draft>) -> anyhow::Result<()> {
    let sent = at(SENT)?;
    let body = Body::typed(Event::sample(EventKind::RoomEnded), sent);
    let rejected = Outcome::Rejected;

    let mut missing = Draft::altered(
        "signature_missing",
        "A genuine room.ended with every header but the signature.",
        &body,
        rejected(Reason::MissingSignature),
    )?
    .without("X-Bedrud-Signature");
    missing.secret = None;
    drafts.push(missing);

    let mut twice = Draft::altered(
        "signature_duplicated",
        "X-Bedrud-Signature twice, both copies correct: a receiver must refuse rather than pick \
         one.",
        &body,
        rejected(Reason::DuplicateSignature),
    )?;
    let good = twice.signature();
    let at = twice
        .headers
        .iter()
        .position(|(n, _)| n == "X-Bedrud-Signature")
        .map_or(twice.headers.len(), |i| i + 1);
    twice
        .headers
        .insert(at, header("X-Bedrud-Signature", &good));
    drafts.push(twice);

    let digits = good.strip_prefix("sha256=").unwrap_or(&good).to_owned();
    let malformed: [(&'static str, &str, String, bool); 9] = [
        (
            "signature_empty",
            "An empty X-Bedrud-Signature.",
            String::new(),
            true,
        ),
        (
            "signature_without_prefix",
            "The correct 64 hex digits without the sha256= prefix.",
            digits.clone(),
            true,
        ),
        (
            "signature_sha1",
            "A sha1= value (40 hex digits): only sha256= is accepted.",
            format!("sha1={}", &digits[..40]),
            true,
        ),
        (
            "signature_prefix_uppercase",
            "The correct digits behind SHA256= in uppercase: the prefix is exactly sha256=.",
            format!("SHA256={digits}"),
            true,
        ),
        (
            "signature_too_short",
            "The correct signature with its last hex digit cut off (63 digits).",
            format!("sha256={}", &digits[..63]),
            true,
        ),
        (
            "signature_too_long",
            "The correct signature with a hex digit appended (65 digits).",
            format!("sha256={digits}0"),
            true,
        ),
        (
            "signature_not_hex",
            "64 characters after sha256=, the last of them not a hex digit (g).",
            format!("sha256={}g", &digits[..63]),
            true,
        ),
        (
            "signature_leading_whitespace",
            "The correct signature with a leading space. Not http_safe: an HTTP parser strips \
             it before the receiver sees it.",
            format!(" {good}"),
            false,
        ),
        (
            "signature_trailing_whitespace",
            "The correct signature with a trailing tab. Not http_safe: an HTTP parser strips it \
             before the receiver sees it.",
            format!("{good}\t"),
            false,
        ),
    ];
    for (name, description, value, http_safe) in malformed {
        let mut draft = Draft::altered(
            name,
            format!("{description} A malformed signature is refused before any MAC is computed."),
            &body,
            rejected(Reason::MalformedSignature),
        )?
        .malformed(&value);
        draft.http_safe = http_safe;
        drafts.push(draft);
    }

    drafts.push(Draft::bedrud(
        "signature_wrong_secret",
        "A genuine room.ended signed with a secret the receiver does not have (d41d8cd9…).",
        &body,
        UNKNOWN_SECRET,
        rejected(Reason::SignatureMismatch),
    )?);

    let tampered = Body::typed(
        Event::RoomEnded(RoomData::sample().with_room_name("weekly-synd")),
        sent,
    );
    let mut draft = Draft::altered(
        "signature_tampered_body",
        "The signature of the genuine room.ended, over a body whose roomName was changed in \
         transit (weekly-sync to weekly-synd); the headers still agree with the body.",
        &tampered,
        rejected(Reason::SignatureMismatch),
    )?
    .set("X-Bedrud-Signature", &good);
    draft.secret = None;
    drafts.push(draft);
    Ok(())
}

/// Timestamps outside the tolerance, headers that disagree with the body,
/// and the body limit.
fn freshness_and_header_failures(drafts: &mut Vec<Draft>) -> anyhow::Result<()> {
    let now = at(NOW)?;
    let sent = at(SENT)?;
    let tolerance = i64::try_from(TOLERANCE_SECONDS)?;

    let stale = Body::typed(
        Event::sample(EventKind::RoomEnded),
        shifted(now, -tolerance - 1)?,
    );
    drafts.push(Draft::bedrud(
        "timestamp_too_old",
        "A genuine room.ended signed 301 s before now, one second past the tolerance: a \
         possible replay.",
        &stale,
        CURRENT_SECRET,
        Outcome::Rejected(Reason::TimestampTooOld),
    )?);
    let early = Body::typed(
        Event::sample(EventKind::RoomCreated),
        shifted(now, tolerance + 1)?,
    );
    drafts.push(Draft::bedrud(
        "timestamp_too_new",
        "A genuine room.created signed 301 s after now, one second past the tolerance.",
        &early,
        CURRENT_SECRET,
        Outcome::Rejected(Reason::TimestampTooNew),
    )?);

    let ended = Body::typed(Event::sample(EventKind::RoomEnded), sent);
    drafts.push(
        Draft::altered(
            "header_mismatch_bedrud_event",
            "A genuine room.ended whose unsigned X-Bedrud-Event says room.created.",
            &ended,
            Outcome::Rejected(Reason::HeaderMismatch),
        )?
        .set("X-Bedrud-Event", EventKind::RoomCreated.as_str()),
    );

    let joined = Body::typed(Event::sample(EventKind::ParticipantJoined), sent);
    let mut draft = Draft::altered(
        "header_mismatch_webhook_event",
        "The admin guide's dialect (X-Webhook-Signature, X-Webhook-Event) for a genuine \
         participant.joined whose unsigned X-Webhook-Event says participant.left.",
        &joined,
        Outcome::Rejected(Reason::HeaderMismatch),
    )?;
    draft.headers = vec![
        header("User-Agent", GO_USER_AGENT),
        header("Content-Type", "application/json"),
        header("X-Webhook-Event", EventKind::ParticipantLeft.as_str()),
        header(
            "X-Webhook-Signature",
            &signature(CURRENT_SECRET, &joined.bytes)?,
        ),
    ];
    drafts.push(draft);

    drafts.push(
        Draft::altered(
            "header_mismatch_bedrud_timestamp",
            "A genuine room.ended signed at 12:34:59Z whose unsigned X-Bedrud-Timestamp says \
             12:35:00Z (both within the tolerance): headers are not signed and must agree with \
             the body.",
            &ended,
            Outcome::Rejected(Reason::HeaderMismatch),
        )?
        .set("X-Bedrud-Timestamp", NOW),
    );

    let over = padded_room(sent, BODY_LIMIT_BYTES + 1)?;
    drafts.push(Draft::bedrud(
        "body_over_limit",
        "A genuine room.created one byte over body_limit_bytes (4097 bytes), correctly signed: \
         refused for its size alone.",
        &over,
        CURRENT_SECRET,
        Outcome::Rejected(Reason::BodyTooLarge),
    )?);
    Ok(())
}

/// Genuinely signed bodies that are not usable Bedrud envelopes.
fn payload_failures(drafts: &mut Vec<Draft>) -> anyhow::Result<()> {
    let sent = at(SENT)?;
    let ping = Body::typed(Event::Ping, sent);

    drafts.push(Draft::signed_payload(
        "payload_not_json",
        "A signed body that is not JSON (form-encoded text).",
        b"event=ping&timestamp=2026-04-01T12%3A34%3A59Z".to_vec(),
        None,
        None,
        Reason::NotJsonObject,
    )?);
    drafts.push(Draft::signed_payload(
        "payload_not_utf8",
        "A signed body of bytes that are not UTF-8 (so given as body_base64), and not JSON.",
        vec![0xff, 0xfe, 0x00, b'{', 0x80, b'}', 0xc3, 0x28],
        None,
        None,
        Reason::NotJsonObject,
    )?);
    drafts.push(Draft::signed_payload(
        "payload_empty",
        "A signed empty body.",
        Vec::new(),
        None,
        None,
        Reason::NotJsonObject,
    )?);
    let mut array = b"[".to_vec();
    array.extend_from_slice(&ping.bytes);
    array.push(b']');
    drafts.push(Draft::signed_payload(
        "payload_json_array",
        "A signed JSON array holding a genuine ping envelope: the body must be an object.",
        array,
        None,
        None,
        Reason::NotJsonObject,
    )?);
    drafts.push(Draft::signed_payload(
        "payload_missing_event",
        "A signed JSON object with data and timestamp but no event.",
        go_json(&json!({"data": {}, "timestamp": SENT})),
        None,
        Some(SENT),
        Reason::MissingEvent,
    )?);
    drafts.push(Draft::signed_payload(
        "payload_missing_timestamp",
        "A signed JSON object with data and event but no timestamp.",
        go_json(&json!({"data": {}, "event": "ping"})),
        Some("ping"),
        None,
        Reason::MissingTimestamp,
    )?);
    drafts.push(Draft::signed_payload(
        "payload_invalid_timestamp",
        "A signed envelope whose timestamp is not RFC 3339 (2026-04-01T12:34:59, no offset).",
        go_json(&json!({"data": {}, "event": "ping", "timestamp": "2026-04-01T12:34:59"})),
        Some("ping"),
        None,
        Reason::InvalidTimestamp,
    )?);
    drafts.push(Draft::signed_payload(
        "payload_event_not_string",
        "A signed envelope whose event is a number (42).",
        go_json(&json!({"data": {}, "event": 42, "timestamp": SENT})),
        None,
        Some(SENT),
        Reason::InvalidEnvelope,
    )?);
    drafts.push(Draft::signed_payload(
        "payload_timestamp_not_string",
        "A signed envelope whose timestamp is a number (Unix seconds).",
        go_json(&json!({"data": {}, "event": "ping", "timestamp": sent.unix_seconds()})),
        Some("ping"),
        None,
        Reason::InvalidEnvelope,
    )?);

    let mut data = Event::sample(EventKind::RecordingCompleted).to_data();
    data.insert("fileSizeBytes".to_owned(), json!("734003200"));
    let body = Body::untyped(EventKind::RecordingCompleted.as_str(), sent, &data);
    drafts.push(Draft::signed_payload(
        "data_field_wrong_type",
        "A signed recording.completed whose fileSizeBytes is a string (\"734003200\"), not an \
         integer: the envelope is fine, its typed data is not.",
        body.bytes,
        Some(&body.event),
        Some(&body.timestamp),
        Reason::InvalidData,
    )?);
    let body = go_json(&json!({
        "data": ["3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34"],
        "event": "room.ended",
        "timestamp": SENT,
    }));
    drafts.push(Draft::signed_payload(
        "data_not_object",
        "A signed room.ended whose data is an array, not an object.",
        body,
        Some("room.ended"),
        Some(SENT),
        Reason::InvalidData,
    )?);
    Ok(())
}
