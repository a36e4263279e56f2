//! `listen --strict`: how a genuine delivery departs from what Bedrud's own
//! sender puts on the wire.
//!
//! Receivers accept all of these (they verify the bytes as they came); the
//! report is for whoever writes a sender, Bedrud's developers included, and
//! wants it to be indistinguishable from the real one.

use std::fmt;

use bedrud_webhook::types::Timestamp;
use bedrud_webhook::types::encode::to_bedrud_json;
use bedrud_webhook::verify::headers;
use http::HeaderMap;
use http::header::{CONTENT_TYPE, USER_AGENT};
use serde_json::Value;

/// The longest header value or JSON token quoted in a report.
const QUOTE_LIMIT: usize = 60;

/// One way a delivery differs from Bedrud's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Deviation {
    /// The signature came in `X-Webhook-Signature` (the admin guide's name).
    WebhookSignatureHeader,
    /// The event came in `X-Webhook-Event` (the admin guide's name).
    WebhookEventHeader,
    /// No event header at all.
    MissingEventHeader,
    /// No `X-Bedrud-Timestamp`.
    MissingTimestampHeader,
    /// The signature's hex digits are not all lowercase.
    UppercaseSignature,
    /// `Content-Type` is not exactly `application/json`.
    ContentType(Option<String>),
    /// `User-Agent` is not Go's default.
    UserAgent(Option<String>),
    /// The body's `timestamp` is not written `YYYY-MM-DDTHH:MM:SSZ`.
    TimestampForm(String),
    /// The body has no `data`, or `null`; Bedrud always writes an object.
    DataAbsent { null: bool },
    /// Whitespace between JSON tokens.
    Whitespace,
    /// An object's keys are not in byte order.
    KeyOrder {
        /// Where the object is, such as `data` (empty for the top level).
        path: String,
        /// The key that came too late.
        key: String,
        /// The key it came after.
        after: String,
    },
    /// A string is escaped differently from Go's `encoding/json`.
    Escaping {
        written: String,
        bedrud: String,
        more: usize,
    },
    /// A number is written differently from Go's float64 formatting.
    NumberForm {
        written: String,
        bedrud: String,
        more: usize,
    },
    /// The bytes differ from the re-encoding in some other way (a repeated
    /// key, say), first at this offset.
    OtherBytes { offset: usize },
}

/// Every way `headers` and `body` (a delivery that passed verification)
/// depart from Bedrud's wire format; empty when they match it exactly.
pub(crate) fn check(headers: &HeaderMap, body: &[u8]) -> Vec<Deviation> {
    let mut found = check_headers(headers);
    found.extend(check_body(body));
    found
}

fn check_headers(map: &HeaderMap) -> Vec<Deviation> {
    let mut found = Vec::new();
    let bedrud_signature = map.get(headers::SIGNATURE);
    if bedrud_signature.is_none() && map.contains_key(headers::WEBHOOK_SIGNATURE) {
        found.push(Deviation::WebhookSignatureHeader);
    }
    let signature = bedrud_signature.or_else(|| map.get(headers::WEBHOOK_SIGNATURE));
    if signature.is_some_and(|v| v.as_bytes().iter().any(u8::is_ascii_uppercase)) {
        // `sha256=` itself is lowercase in any accepted signature, so an
        // uppercase letter can only be a hex digit.
        found.push(Deviation::UppercaseSignature);
    }
    match (
        map.contains_key(headers::EVENT),
        map.contains_key(headers::WEBHOOK_EVENT),
    ) {
        (true, _) => {}
        (false, true) => found.push(Deviation::WebhookEventHeader),
        (false, false) => found.push(Deviation::MissingEventHeader),
    }
    if !map.contains_key(headers::TIMESTAMP) {
        found.push(Deviation::MissingTimestampHeader);
    }
    let content_type = map.get(CONTENT_TYPE).map(|v| quote(v.as_bytes()));
    if content_type.as_deref() != Some("application/json") {
        found.push(Deviation::ContentType(content_type));
    }
    let user_agent = map.get(USER_AGENT).map(|v| quote(v.as_bytes()));
    if user_agent.as_deref() != Some(bedrud_webhook::sender::GO_USER_AGENT) {
        found.push(Deviation::UserAgent(user_agent));
    }
    found
}

fn check_body(body: &[u8]) -> Vec<Deviation> {
    let mut found = Vec::new();
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        // A verified body is always JSON; nothing to compare otherwise.
        return found;
    };
    if let Some(written) = value.get("timestamp").and_then(Value::as_str) {
        let bedrud_form = Timestamp::parse(written).map(|t| t.to_string());
        if bedrud_form.as_deref() != Ok(written) {
            found.push(Deviation::TimestampForm(quote(written.as_bytes())));
        }
    }
    match value.get("data") {
        None => found.push(Deviation::DataAbsent { null: false }),
        Some(Value::Null) => found.push(Deviation::DataAbsent { null: true }),
        Some(_) => {}
    }
    let bedrud = to_bedrud_json(&value);
    if bedrud == body {
        return found;
    }
    let tokens = tokenize(body);
    let before = found.len();
    if tokens.iter().any(|t| t.kind == Kind::Whitespace) {
        found.push(Deviation::Whitespace);
    }
    if let Some(deviation) = key_order(body, &tokens) {
        found.push(deviation);
    }
    found.extend(token_forms(body, &tokens));
    if found.len() == before {
        let offset = body
            .iter()
            .zip(&bedrud)
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| body.len().min(bedrud.len()));
        found.push(Deviation::OtherBytes { offset });
    }
    found
}

/// The first string and the first number written otherwise than Go writes
/// them, with how many more there are.
fn token_forms(body: &[u8], tokens: &[Token]) -> Vec<Deviation> {
    let mut strings: Vec<(String, String)> = Vec::new();
    let mut numbers: Vec<(String, String)> = Vec::new();
    for token in tokens {
        let written = &body[token.start..token.end];
        let (list, value) = match token.kind {
            Kind::String => (
                &mut strings,
                serde_json::from_slice::<String>(written).map(Value::String),
            ),
            Kind::Number => (&mut numbers, serde_json::from_slice::<Value>(written)),
            _ => continue,
        };
        let Ok(value) = value else { continue };
        let bedrud = to_bedrud_json(&value);
        if bedrud != written {
            list.push((quote(written), quote(&bedrud)));
        }
    }
    let mut found = Vec::new();
    let count = strings.len();
    if let Some((written, bedrud)) = strings.into_iter().next() {
        found.push(Deviation::Escaping {
            written,
            bedrud,
            more: count - 1,
        });
    }
    let count = numbers.len();
    if let Some((written, bedrud)) = numbers.into_iter().next() {
        found.push(Deviation::NumberForm {
            written,
            bedrud,
            more: count - 1,
        });
    }
    found
}

/// The first object whose keys are not in byte order, as Go's map encoder
/// sorts them.
fn key_order(body: &[u8], tokens: &[Token]) -> Option<Deviation> {
    enum Frame {
        Object {
            path: String,
            last: Option<String>,
            expecting_key: bool,
            current: String,
        },
        Array {
            path: String,
        },
    }
    let mut stack: Vec<Frame> = Vec::new();
    let child_path = |stack: &[Frame]| -> String {
        match stack.last() {
            None => String::new(),
            Some(Frame::Object { path, current, .. }) if path.is_empty() => current.clone(),
            Some(Frame::Object { path, current, .. }) => format!("{path}.{current}"),
            Some(Frame::Array { path }) => format!("{path}[]"),
        }
    };
    for token in tokens {
        let text = &body[token.start..token.end];
        match (token.kind, text) {
            (Kind::Punct, b"{") => {
                let path = child_path(&stack);
                stack.push(Frame::Object {
                    path,
                    last: None,
                    expecting_key: true,
                    current: String::new(),
                });
            }
            (Kind::Punct, b"[") => {
                let path = child_path(&stack);
                stack.push(Frame::Array { path });
            }
            (Kind::Punct, b"}" | b"]") => {
                stack.pop();
            }
            (Kind::Punct, b",") => {
                if let Some(Frame::Object { expecting_key, .. }) = stack.last_mut() {
                    *expecting_key = true;
                }
            }
            (Kind::String, _) => {
                if let Some(Frame::Object {
                    path,
                    last,
                    expecting_key: expecting @ true,
                    current,
                }) = stack.last_mut()
                {
                    *expecting = false;
                    let key = serde_json::from_slice::<String>(text).unwrap_or_default();
                    if let Some(previous) = last.as_ref()
                        && previous.as_bytes() > key.as_bytes()
                    {
                        return Some(Deviation::KeyOrder {
                            path: path.clone(),
                            key,
                            after: previous.clone(),
                        });
                    }
                    current.clone_from(&key);
                    *last = Some(key);
                }
            }
            _ => {}
        }
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Number,
    Literal,
    Punct,
    Whitespace,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

/// Splits JSON text into tokens, keeping each one's exact bytes. Bodies
/// reaching here parsed as JSON already; on anything else it still ends,
/// without panicking, with tokens that only cover what it understood.
fn tokenize(body: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let start = i;
        let kind = match body[i] {
            b'"' => {
                i += 1;
                while i < body.len() && body[i] != b'"' {
                    // Skip the escaped character, whatever it is.
                    i += if body[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(body.len());
                Kind::String
            }
            b'{' | b'}' | b'[' | b']' | b':' | b',' => {
                i += 1;
                Kind::Punct
            }
            b' ' | b'\t' | b'\n' | b'\r' => {
                while i < body.len() && matches!(body[i], b' ' | b'\t' | b'\n' | b'\r') {
                    i += 1;
                }
                Kind::Whitespace
            }
            b'-' | b'0'..=b'9' => {
                while i < body.len()
                    && matches!(body[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                Kind::Number
            }
            _ => {
                while i < body.len() && body[i].is_ascii_alphabetic() {
                    i += 1;
                }
                if i == start {
                    // Not JSON: stop rather than loop.
                    break;
                }
                Kind::Literal
            }
        };
        tokens.push(Token {
            kind,
            start,
            end: i.min(body.len()),
        });
    }
    tokens
}

/// Bytes from the peer, shown safely: lossy UTF-8, control characters
/// escaped, cut at [`QUOTE_LIMIT`] characters.
fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for (n, c) in text.chars().enumerate() {
        if n == QUOTE_LIMIT {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl fmt::Display for Deviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WebhookSignatureHeader => f.write_str(
                "signature in X-Webhook-Signature (the admin guide's name); Bedrud sends X-Bedrud-Signature",
            ),
            Self::WebhookEventHeader => f.write_str(
                "event in X-Webhook-Event (the admin guide's name); Bedrud sends X-Bedrud-Event",
            ),
            Self::MissingEventHeader => f.write_str("no X-Bedrud-Event header; Bedrud sends one"),
            Self::MissingTimestampHeader => {
                f.write_str("no X-Bedrud-Timestamp header; Bedrud sends one")
            }
            Self::UppercaseSignature => {
                f.write_str("signature digest has uppercase hex; Bedrud writes lowercase")
            }
            Self::ContentType(None) => f.write_str("no Content-Type; Bedrud sends application/json"),
            Self::ContentType(Some(v)) => {
                write!(f, "Content-Type is \"{v}\"; Bedrud sends exactly application/json")
            }
            Self::UserAgent(None) => f.write_str("no User-Agent; Bedrud's is Go-http-client/1.1"),
            Self::UserAgent(Some(v)) => {
                write!(f, "User-Agent is \"{v}\"; Bedrud's is Go-http-client/1.1")
            }
            Self::TimestampForm(v) => write!(
                f,
                "timestamp \"{v}\" is not in Bedrud's form YYYY-MM-DDTHH:MM:SSZ (UTC, whole seconds)"
            ),
            Self::DataAbsent { null: true } => f.write_str("data is null; Bedrud writes {}"),
            Self::DataAbsent { null: false } => {
                f.write_str("no data field; Bedrud always writes one ({} when empty)")
            }
            Self::Whitespace => {
                f.write_str("whitespace between JSON tokens; Bedrud writes none")
            }
            Self::KeyOrder { path, key, after } => {
                let place = if path.is_empty() {
                    "the envelope".to_owned()
                } else {
                    format!("\"{path}\"")
                };
                write!(
                    f,
                    "keys of {place} are not sorted: \"{key}\" comes after \"{after}\"; Bedrud sorts keys by byte value"
                )
            }
            Self::Escaping { written, bedrud, more } => {
                write!(f, "string {written} is escaped differently; Bedrud writes {bedrud}")?;
                more_of(f, *more, "string")
            }
            Self::NumberForm { written, bedrud, more } => {
                write!(f, "number {written} is written differently; Bedrud writes {bedrud}")?;
                more_of(f, *more, "number")
            }
            Self::OtherBytes { offset } => write!(
                f,
                "body differs from Bedrud's encoding of the same envelope from byte {offset} (a repeated key?)"
            ),
        }
    }
}

fn more_of(f: &mut fmt::Formatter<'_>, more: usize, what: &str) -> fmt::Result {
    match more {
        0 => Ok(()),
        1 => write!(f, " (and 1 more {what})"),
        n => write!(f, " (and {n} more {what}s)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const GOLDEN: &str = r#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#;
    const GOLDEN_SIG: &str =
        "sha256=4a8a28e49e3e197b6aa2b626b4226a7131bae2bee66c980a640f1b6401a7469a";

    fn bedrud_headers() -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        map.insert(USER_AGENT, HeaderValue::from_static("Go-http-client/1.1"));
        map.insert(headers::SIGNATURE, HeaderValue::from_static(GOLDEN_SIG));
        map.insert(headers::EVENT, HeaderValue::from_static("room.ended"));
        map.insert(
            headers::TIMESTAMP,
            HeaderValue::from_static("2026-04-01T12:34:56Z"),
        );
        map
    }

    #[test]
    fn bedrud_itself_passes() {
        assert_eq!(check(&bedrud_headers(), GOLDEN.as_bytes()), []);
        let third = "{\"data\":{\"roomId\":\"r1\",\"roomName\":\"\\u003cb\\u003eQ\\u0026A\\u003c/b\\u003e — café 🎥 \\u2028\",\"userId\":\"u1\"},\"event\":\"room.created\",\"timestamp\":\"2026-04-01T12:34:56Z\"}";
        assert_eq!(check_body(third.as_bytes()), []);
    }

    #[test]
    fn the_guides_dialect_and_missing_headers_are_named() {
        let mut map = HeaderMap::new();
        map.insert(
            headers::WEBHOOK_SIGNATURE,
            HeaderValue::from_static(GOLDEN_SIG),
        );
        map.insert(
            headers::WEBHOOK_EVENT,
            HeaderValue::from_static("room.ended"),
        );
        map.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        map.insert(USER_AGENT, HeaderValue::from_static("curl/8.5.0"));
        assert_eq!(
            check_headers(&map),
            [
                Deviation::WebhookSignatureHeader,
                Deviation::WebhookEventHeader,
                Deviation::MissingTimestampHeader,
                Deviation::ContentType(Some("application/json; charset=utf-8".into())),
                Deviation::UserAgent(Some("curl/8.5.0".into())),
            ]
        );
        let empty = check_headers(&HeaderMap::new());
        assert!(empty.contains(&Deviation::MissingEventHeader));
        assert!(empty.contains(&Deviation::ContentType(None)));
        assert!(empty.contains(&Deviation::UserAgent(None)));
    }

    #[test]
    fn uppercase_hex_is_noticed() {
        let mut map = bedrud_headers();
        let upper = format!("sha256={}", GOLDEN_SIG[7..].to_ascii_uppercase());
        map.insert(headers::SIGNATURE, HeaderValue::from_str(&upper).unwrap());
        assert_eq!(check_headers(&map), [Deviation::UppercaseSignature]);
    }

    #[test]
    fn timestamps_not_in_bedruds_form() {
        for ts in [
            "2026-04-01T14:34:56+02:00",
            "2026-04-01T12:34:56.5Z",
            "2026-04-01t12:34:56z",
        ] {
            let body = format!(r#"{{"data":{{}},"event":"ping","timestamp":"{ts}"}}"#);
            assert_eq!(
                check_body(body.as_bytes()),
                [Deviation::TimestampForm(ts.into())],
                "{ts}"
            );
        }
    }

    #[test]
    fn key_order_is_located() {
        let top = r#"{"event":"ping","data":{},"timestamp":"2026-04-01T12:34:56Z"}"#;
        assert_eq!(
            check_body(top.as_bytes()),
            [Deviation::KeyOrder {
                path: String::new(),
                key: "data".into(),
                after: "event".into()
            }]
        );
        let nested = r#"{"data":{"a":{"z":1,"b":[{"y":1,"x":2}]}},"event":"x","timestamp":"2026-04-01T12:34:56Z"}"#;
        assert_eq!(
            check_body(nested.as_bytes()),
            [Deviation::KeyOrder {
                path: "data.a".into(),
                key: "b".into(),
                after: "z".into()
            }]
        );
        let in_array =
            r#"{"data":{"a":[{"y":1,"x":2}]},"event":"x","timestamp":"2026-04-01T12:34:56Z"}"#;
        assert_eq!(
            check_body(in_array.as_bytes()),
            [Deviation::KeyOrder {
                path: "data.a[]".into(),
                key: "x".into(),
                after: "y".into()
            }]
        );
        // Byte order, not case-insensitive order: "fileSizeBytes" < "fileURL".
        let go_order = r#"{"data":{"fileSizeBytes":1,"fileURL":"u"},"event":"x","timestamp":"2026-04-01T12:34:56Z"}"#;
        assert_eq!(check_body(go_order.as_bytes()), []);
    }

    #[test]
    fn escaping_numbers_whitespace_and_null_data() {
        let body = "{\"data\":{\"a\":\"<b>\",\"b\":\"\\u00e9\",\"n\":3.0},\"event\":\"x\",\"timestamp\":\"2026-04-01T12:34:56Z\"}";
        assert_eq!(
            check_body(body.as_bytes()),
            [
                Deviation::Escaping {
                    written: "\"<b>\"".into(),
                    bedrud: "\"\\u003cb\\u003e\"".into(),
                    more: 1
                },
                Deviation::NumberForm {
                    written: "3.0".into(),
                    bedrud: "3".into(),
                    more: 0
                },
            ]
        );
        let spaced = r#"{"data": {}, "event": "ping", "timestamp": "2026-04-01T12:34:56Z"}"#;
        assert_eq!(check_body(spaced.as_bytes()), [Deviation::Whitespace]);
        let null = r#"{"data":null,"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#;
        assert_eq!(
            check_body(null.as_bytes()),
            [Deviation::DataAbsent { null: true }]
        );
        let absent = r#"{"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#;
        assert_eq!(
            check_body(absent.as_bytes()),
            [Deviation::DataAbsent { null: false }]
        );
    }

    #[test]
    fn anything_else_points_at_the_first_differing_byte() {
        let repeated =
            r#"{"data":{},"event":"ping","event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#;
        let found = check_body(repeated.as_bytes());
        assert_eq!(found, [Deviation::OtherBytes { offset: 27 }]);
    }

    #[test]
    fn reports_read_well() {
        let d = Deviation::Escaping {
            written: "\"<\"".into(),
            bedrud: "\"\\u003c\"".into(),
            more: 2,
        };
        assert_eq!(
            d.to_string(),
            r#"string "<" is escaped differently; Bedrud writes "\u003c" (and 2 more strings)"#
        );
        assert_eq!(quote(b"a\x1bb"), "a\\u{1b}b");
        assert_eq!(
            quote("x".repeat(100).as_bytes()).chars().count(),
            QUOTE_LIMIT + 1
        );
    }

    #[test]
    fn the_tokenizer_never_panics_on_junk() {
        for junk in [
            &b"\"unterminated"[..],
            b"\"esc\\",
            b"@@@",
            b"{\"a\":tru",
            b"\xff\xfe",
        ] {
            let _ = tokenize(junk);
            let _ = check_body(junk);
        }
    }
}
