//! A borrowed, minimally-parsed view of an envelope.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::scan;

/// The three envelope fields, borrowed from the body without copying it.
///
/// This is the cheapest parse that proves a body is a Bedrud envelope: a
/// JSON object with a string `event`, a string `timestamp` and (optionally)
/// a `data` value, each appearing at most once. The verifier uses it on every
/// request; it allocates only if `event` or `timestamp` contain JSON escapes,
/// which Bedrud's never do. Unknown top-level fields are ignored, so a future
/// Bedrud that adds one still verifies.
///
/// Bodies exactly as Bedrud's Go sender writes them (`data`, `event`,
/// `timestamp`, in that order, no whitespace) are read in a single validating
/// pass; every other body, and every invalid one, is parsed by serde_json.
/// Both paths give the same result for every input.
///
/// ```
/// use bedrud_webhook_types::RawEnvelope;
///
/// let body = br#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#;
/// let raw = RawEnvelope::from_slice(body)?;
/// assert_eq!(raw.event, "ping");
/// assert_eq!(raw.timestamp, "2026-04-01T12:34:56Z");
/// assert_eq!(raw.data, Some("{}"));
/// # Ok::<(), bedrud_webhook_types::RawEnvelopeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RawEnvelope<'a> {
    /// The event name, such as `room.ended`.
    pub event: Cow<'a, str>,
    /// The timestamp exactly as written, not yet parsed.
    pub timestamp: Cow<'a, str>,
    /// The `data` value exactly as written: valid JSON text, checked by
    /// [`RawEnvelope::from_slice`]. `None` when the body has no `data` or
    /// `data` is `null`.
    pub data: Option<&'a str>,
}

/// The general parse, for bodies not in Bedrud's exact form.
#[derive(Deserialize)]
struct AnyEnvelope<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// Why a body is not an envelope: what [`RawEnvelope::from_slice`] rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RawEnvelopeError {
    /// The body is not valid JSON, or not a JSON object.
    #[error("body is not a JSON object")]
    NotJsonObject,
    /// The object has no `event` field.
    #[error("body has no \"event\" field")]
    MissingEvent,
    /// The object has no `timestamp` field.
    #[error("body has no \"timestamp\" field")]
    MissingTimestamp,
    /// `event`, `timestamp` or `data` has the wrong JSON type, or appears twice.
    #[error(
        "body's \"event\", \"timestamp\" or \"data\" field has the wrong type or appears twice"
    )]
    InvalidField,
}

impl<'a> RawEnvelope<'a> {
    /// Parses the envelope fields of `body`, borrowing from it.
    ///
    /// # Errors
    ///
    /// A [`RawEnvelopeError`] naming what is wrong with the body.
    pub fn from_slice(body: &'a [u8]) -> Result<Self, RawEnvelopeError> {
        // One UTF-8 check up front lets serde_json borrow strings without
        // checking each one again: measurably cheaper on every request.
        let text = std::str::from_utf8(body).map_err(|_| RawEnvelopeError::NotJsonObject)?;
        // Bedrud's own bytes take a single forward scan (see `scan`); any
        // other form, and every body that is wrong, goes through serde_json,
        // which decides what it means and what is wrong with it.
        if let Some((data, event, timestamp)) = scan::bedrud_envelope(text) {
            return Ok(RawEnvelope {
                event: Cow::Borrowed(event),
                timestamp: Cow::Borrowed(timestamp),
                data: Some(data).filter(|data| *data != "null"),
            });
        }
        Self::from_any(text)
    }

    /// The general parse, by serde_json, of any JSON text.
    fn from_any(text: &'a str) -> Result<Self, RawEnvelopeError> {
        serde_json::from_str(text).map_err(|e| classify(text.as_bytes(), &e))
    }
}

/// serde's general parse, without the fast path of
/// [`RawEnvelope::from_slice`]: for envelopes embedded in other documents.
impl<'de> Deserialize<'de> for RawEnvelope<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let any = AnyEnvelope::deserialize(deserializer)?;
        Ok(RawEnvelope {
            event: any.event,
            timestamp: any.timestamp,
            // `"data": null` already reads as `None` here.
            data: any.data.map(RawValue::get),
        })
    }
}

/// Turns serde_json's error into a reason an integrator can act on.
///
/// serde_json reports missing fields only through its message, so this is
/// the one place that reads it; everything else is decided by error category.
fn classify(body: &[u8], e: &serde_json::Error) -> RawEnvelopeError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Io | Category::Syntax | Category::Eof => RawEnvelopeError::NotJsonObject,
        Category::Data => {
            let first = body.iter().find(|b| !b.is_ascii_whitespace());
            if first != Some(&b'{') {
                return RawEnvelopeError::NotJsonObject;
            }
            let msg = e.to_string();
            if msg.starts_with("missing field `event`") {
                RawEnvelopeError::MissingEvent
            } else if msg.starts_with("missing field `timestamp`") {
                RawEnvelopeError::MissingTimestamp
            } else {
                RawEnvelopeError::InvalidField
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::scan::strategies::{envelope_around, json_ish, json_value};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// The fast path gives serde_json's answer: the same fields, or the
        /// same error.
        #[test]
        fn fast_path_agrees_with_serde_json(
            body in prop_oneof![envelope_around(json_value()), envelope_around(json_ish()), json_ish()],
        ) {
            prop_assert_eq!(RawEnvelope::from_slice(body.as_bytes()), RawEnvelope::from_any(&body), "{}", body);
        }
    }

    proptest! {
        /// And it does take Bedrud's bodies: the test above is not vacuous.
        #[test]
        fn bedrud_bodies_take_the_fast_path(
            data in json_value(),
            event in "[a-z.]{1,20}",
            timestamp in "[0-9:TZ-]{20}",
        ) {
            // Compact, as Go writes it.
            let data = serde_json::from_str::<serde_json::Value>(&data).unwrap().to_string();
            let body = format!(r#"{{"data":{data},"event":"{event}","timestamp":"{timestamp}"}}"#);
            let (fast_data, fast_event, fast_timestamp) = scan::bedrud_envelope(&body).unwrap();
            prop_assert_eq!((fast_data, fast_event, fast_timestamp), (data.as_str(), event.as_str(), timestamp.as_str()));
            prop_assert_eq!(RawEnvelope::from_slice(body.as_bytes()), RawEnvelope::from_any(&body));
        }
    }

    #[test]
    fn null_data_is_no_data_on_both_paths() {
        let body = r#"{"data":null,"event":"ping","timestamp":"t"}"#;
        assert!(scan::bedrud_envelope(body).is_some());
        assert_eq!(RawEnvelope::from_slice(body.as_bytes()).unwrap().data, None);
        assert_eq!(RawEnvelope::from_any(body).unwrap().data, None);
    }

    #[test]
    fn golden_body_parses_without_copies() {
        let body =
            br#"{"data":{"roomId":"r1"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#;
        let raw = RawEnvelope::from_slice(body).unwrap();
        assert!(matches!(raw.event, Cow::Borrowed("room.ended")));
        assert!(matches!(raw.timestamp, Cow::Borrowed(_)));
        assert_eq!(raw.data, Some(r#"{"roomId":"r1"}"#));
    }

    #[test]
    fn reasons_are_specific() {
        let cases: &[(&[u8], RawEnvelopeError)] = &[
            (b"", RawEnvelopeError::NotJsonObject),
            (b"not json", RawEnvelopeError::NotJsonObject),
            (b"[1,2]", RawEnvelopeError::NotJsonObject),
            (b"\"event\"", RawEnvelopeError::NotJsonObject),
            (b"{\"event\":\"ping\"", RawEnvelopeError::NotJsonObject),
            (br#"{"timestamp":"t"}"#, RawEnvelopeError::MissingEvent),
            (br#"{"event":"ping"}"#, RawEnvelopeError::MissingTimestamp),
            (
                br#"{"event":1,"timestamp":"t"}"#,
                RawEnvelopeError::InvalidField,
            ),
            (
                br#"{"event":"a","event":"b","timestamp":"t"}"#,
                RawEnvelopeError::InvalidField,
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                RawEnvelope::from_slice(body).unwrap_err(),
                *want,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn unknown_top_level_fields_are_ignored() {
        let raw = RawEnvelope::from_slice(br#"{"v":2,"event":"x","timestamp":"t"}"#).unwrap();
        assert_eq!(raw.event, "x");
        assert!(raw.data.is_none());
    }
}
