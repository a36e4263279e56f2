//! What the listener saw for one request, and the line that shows it.

use bedrud_webhook::WebhookRejection;
use bedrud_webhook::types::encode::to_bedrud_json;
use bedrud_webhook::types::{Envelope, Timestamp};
use http::StatusCode;
use serde_json::Value;

use crate::strict::Deviation;

/// The longest data value shown on a delivery line.
const VALUE_LIMIT: usize = 48;

/// One request the listener answered.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// When it arrived, by this machine's clock.
    pub(crate) received_at: Timestamp,
    /// The status answered.
    pub(crate) status: StatusCode,
    /// What was decided.
    pub(crate) outcome: Outcome,
}

/// Whether the request was a genuine delivery.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// Genuine: answered 2xx.
    Accepted {
        /// The event name, made safe to print.
        event: String,
        /// Whether this SDK knows the event.
        known: bool,
        /// The data's top-level fields, made safe to print.
        fields: Vec<(String, String)>,
        /// The envelope as one line of JSON, Bedrud's encoding.
        json: String,
        /// How it departs from Bedrud's wire format (with `--strict`).
        strict: Vec<Deviation>,
    },
    /// Refused: not a delivery, or not a genuine one.
    Rejected {
        /// Machine-readable, such as `signature_mismatch`.
        reason: &'static str,
        /// The explanation sent back to the peer.
        detail: String,
    },
}

impl Record {
    /// A genuine delivery.
    pub(crate) fn accepted(
        received_at: Timestamp,
        status: StatusCode,
        envelope: &Envelope,
        body: &[u8],
        strict: Vec<Deviation>,
    ) -> Self {
        let fields = envelope
            .data_fields()
            .iter()
            .map(|(key, value)| (printable(key), show_value(value)))
            .collect();
        let json = serde_json::from_slice::<Value>(body)
            .map(|value| String::from_utf8_lossy(&to_bedrud_json(&value)).into_owned())
            .unwrap_or_else(|_| String::from_utf8_lossy(&envelope.to_bedrud_json()).into_owned());
        Self {
            received_at,
            status,
            outcome: Outcome::Accepted {
                event: printable(envelope.event.name()),
                known: envelope.event.kind().is_some(),
                fields,
                json,
                strict,
            },
        }
    }

    /// A delivery the integration refused.
    pub(crate) fn rejected(received_at: Timestamp, rejection: &WebhookRejection) -> Self {
        Self::refused(
            received_at,
            rejection.status(),
            rejection.reason(),
            rejection.to_string(),
        )
    }

    /// A request refused before it could be a delivery (wrong path, method).
    pub(crate) fn refused(
        received_at: Timestamp,
        status: StatusCode,
        reason: &'static str,
        detail: String,
    ) -> Self {
        Self {
            received_at,
            status,
            outcome: Outcome::Rejected { reason, detail },
        }
    }

    /// The reason it was refused, if it was.
    pub(crate) fn reason(&self) -> Option<&'static str> {
        match &self.outcome {
            Outcome::Accepted { .. } => None,
            Outcome::Rejected { reason, .. } => Some(reason),
        }
    }

    /// The readable line: time, status, then the event and its data, or
    /// the reason it was refused.
    pub(crate) fn line(&self) -> String {
        let head = format!("{}  {}", self.received_at, self.status.as_u16());
        match &self.outcome {
            Outcome::Accepted {
                event,
                known,
                fields,
                ..
            } => {
                let mut line = format!("{head}  {event}");
                if !known {
                    line.push_str(" (unknown event, accepted)");
                }
                for (key, value) in fields {
                    line.push_str(&format!("  {key}={value}"));
                }
                line
            }
            Outcome::Rejected { reason, detail } => {
                format!("{head}  rejected  {reason}: {}", printable(detail))
            }
        }
    }
}

/// A data value as it reads best on one line: plain strings bare, others
/// as JSON, nested values elided, long ones cut.
fn show_value(value: &Value) -> String {
    match value {
        Value::String(s) if is_bare(s) => cut(s),
        Value::String(s) => cut(&serde_json::to_string(s).unwrap_or_default()),
        Value::Object(map) if map.is_empty() => "{}".to_owned(),
        Value::Object(_) => "{…}".to_owned(),
        Value::Array(list) if list.is_empty() => "[]".to_owned(),
        Value::Array(_) => "[…]".to_owned(),
        other => String::from_utf8_lossy(&to_bedrud_json(other)).into_owned(),
    }
}

/// Whether a string can be shown without quotes and still be read back:
/// no spaces, quotes, `=`, or control characters.
fn is_bare(s: &str) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '=' | '\\'))
}

fn cut(s: &str) -> String {
    match s.char_indices().nth(VALUE_LIMIT) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

/// Text from the peer, with control characters escaped so that it cannot
/// move the terminal's cursor or forge a second line.
pub(crate) fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bedrud_webhook::verify::Error;

    fn at() -> Timestamp {
        Timestamp::parse("2026-04-01T12:35:00Z").unwrap()
    }

    #[test]
    fn accepted_lines_show_the_event_and_its_data() {
        let body = br#"{"data":{"roomId":"r1","roomName":"weekly sync","seats":12,"tags":["a"],"userId":"u1"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#;
        let envelope = Envelope::from_slice(body).unwrap();
        let record = Record::accepted(at(), StatusCode::NO_CONTENT, &envelope, body, Vec::new());
        assert_eq!(
            record.line(),
            r#"2026-04-01T12:35:00Z  204  room.ended  roomId=r1  roomName="weekly sync"  seats=12  tags=[…]  userId=u1"#
        );
        assert_eq!(record.reason(), None);
        let Outcome::Accepted { json, .. } = &record.outcome else {
            panic!("not accepted");
        };
        assert_eq!(json.as_bytes(), body);
    }

    /// The line of a genuine delivery of `body`, answered 204.
    fn accepted_line(body: &str) -> String {
        let envelope = Envelope::from_slice(body.as_bytes()).unwrap();
        Record::accepted(
            at(),
            StatusCode::NO_CONTENT,
            &envelope,
            body.as_bytes(),
            Vec::new(),
        )
        .line()
    }

    #[test]
    fn unknown_events_are_marked_and_hostile_text_is_defused() {
        let body = "{\"data\":{\"k\\u001b\":\"line\\nbreak\"},\"event\":\"room.paused\\r\",\"timestamp\":\"2026-04-01T12:34:56Z\"}";
        let line = accepted_line(body);
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(
            line.contains("room.paused\\r (unknown event, accepted)"),
            "{line}"
        );
        assert!(line.contains(r#"k\u{1b}="line\nbreak""#), "{line}");
    }

    #[test]
    fn data_fields_are_shown_as_received_whatever_their_keys() {
        // serde_json's `Value` would read the nested object as the JSON
        // text `1`, and show `x=1`.
        let body = r#"{"data":{"x":{"$serde_json::private::RawValue":"1"}},"event":"room.paused","timestamp":"2026-04-01T12:34:56Z"}"#;
        let line = accepted_line(body);
        assert!(line.contains("x={…}"), "{line}");
    }

    #[test]
    fn rejected_lines_give_the_reason() {
        let record = Record::rejected(at(), &WebhookRejection::from(Error::SignatureMismatch));
        assert_eq!(record.status, StatusCode::UNAUTHORIZED);
        assert_eq!(record.reason(), Some("signature_mismatch"));
        assert_eq!(
            record.line(),
            "2026-04-01T12:35:00Z  401  rejected  signature_mismatch: signature mismatch: the signature does not match the body for any configured secret"
        );
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(100);
        assert_eq!(
            show_value(&Value::String(long)).chars().count(),
            VALUE_LIMIT + 1
        );
        assert_eq!(show_value(&Value::String(String::new())), "\"\"");
        assert_eq!(show_value(&serde_json::json!(1.5)), "1.5");
        assert_eq!(show_value(&serde_json::json!({})), "{}");
    }
}
