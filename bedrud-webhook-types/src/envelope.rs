use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::value::RawValue;

use crate::{Event, ParseError, Timestamp};

/// A delivery's body: `{"data":{...},"event":"...","timestamp":"..."}`.
///
/// ```
/// use bedrud_webhook_types::{Envelope, Event};
///
/// let body = br#"{"data":{"roomId":"r1","roomName":"weekly-sync","userId":"u1"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#;
/// let envelope = Envelope::from_slice(body)?;
/// let Event::RoomEnded(room) = &envelope.event else { panic!() };
/// assert_eq!(room.room_name, "weekly-sync");
/// assert_eq!(envelope.timestamp.to_string(), "2026-04-01T12:34:56Z");
/// # Ok::<(), bedrud_webhook_types::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Envelope {
    /// The event and its data.
    pub event: Event,
    /// When Bedrud sent it: the signed `timestamp`.
    pub timestamp: Timestamp,
}

impl Envelope {
    /// An envelope for `event` sent at `timestamp`.
    #[must_use]
    pub fn new(event: Event, timestamp: Timestamp) -> Envelope {
        Envelope { event, timestamp }
    }

    /// Parses a whole body: [`RawEnvelope::from_slice`], then [`Envelope::from_raw`].
    ///
    /// # Errors
    ///
    /// The [`ParseError`] that says what is wrong with the body.
    pub fn from_slice(body: &[u8]) -> Result<Envelope, ParseError> {
        Envelope::from_raw(&RawEnvelope::from_slice(body)?)
    }

    /// Finishes what a verifier's [`RawEnvelope`] started: types the `data`.
    ///
    /// # Errors
    ///
    /// [`ParseError::InvalidData`] when `data` does not fit the event.
    pub fn from_raw(raw: &RawEnvelope<'_>) -> Result<Envelope, ParseError> {
        Ok(Envelope {
            event: Event::from_parts(raw.event(), raw.data())?,
            timestamp: raw.timestamp(),
        })
    }
}

/// Serializes as the body's three fields; the byte-exact Go form is the
/// sender's job (`bedrud_webhook::delivery`).
impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut body = serializer.serialize_struct("Envelope", 3)?;
        match &self.event {
            Event::RoomCreated(data)
            | Event::RoomEnded(data)
            | Event::ParticipantJoined(data)
            | Event::ParticipantLeft(data) => body.serialize_field("data", data)?,
            Event::RecordingCompleted(data) => body.serialize_field("data", data)?,
            Event::Unknown { data, .. } => body.serialize_field("data", data)?,
            Event::Ping => body.serialize_field("data", &BTreeMap::<(), ()>::new())?,
        }
        body.serialize_field("event", self.event.name())?;
        body.serialize_field("timestamp", &self.timestamp)?;
        body.end()
    }
}

/// The body split once: `event` and `timestamp` read, `data` left as raw
/// JSON for [`Envelope::from_raw`]. A verifier makes one to check the
/// timestamp and headers, and hands it on so nothing is parsed twice.
#[derive(Debug, Clone)]
pub struct RawEnvelope<'a> {
    event: Cow<'a, str>,
    timestamp: Timestamp,
    timestamp_text: Cow<'a, str>,
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    event: Option<Text<'a>>,
    #[serde(borrow)]
    timestamp: Option<Text<'a>>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

/// Borrows a string from the body unless it has escapes (serde borrows a
/// `Cow` only when it is a field's whole type, not inside an `Option`).
#[derive(Deserialize)]
#[serde(transparent)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

impl<'a> RawEnvelope<'a> {
    /// Reads the envelope's `event` and `timestamp`.
    ///
    /// # Errors
    ///
    /// Any [`ParseError`] but [`InvalidData`](ParseError::InvalidData).
    pub fn from_slice(body: &'a [u8]) -> Result<RawEnvelope<'a>, ParseError> {
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ParseError::NotJsonObject);
        }
        let wire: Wire<'a> = serde_json::from_slice(body).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => ParseError::InvalidEnvelope,
            _ => ParseError::NotJsonObject,
        })?;
        let event = wire.event.ok_or(ParseError::MissingEvent)?.0;
        let timestamp_text = wire.timestamp.ok_or(ParseError::MissingTimestamp)?.0;
        let timestamp = Timestamp::parse(&timestamp_text)?;
        Ok(RawEnvelope {
            event,
            timestamp,
            timestamp_text,
            data: wire.data,
        })
    }

    /// The event's wire name.
    #[must_use]
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The signed timestamp.
    #[must_use]
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    /// The signed timestamp as written in the body.
    #[must_use]
    pub fn timestamp_text(&self) -> &str {
        &self.timestamp_text
    }

    /// `data` as raw JSON; `None` when absent or `null`.
    #[must_use]
    pub fn data(&self) -> Option<&'a RawValue> {
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventKind, RoomData};

    const ROOM_ENDED: &[u8] = br#"{"data":{"roomId":"r1","roomName":"weekly-sync","userId":"u1"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#;

    #[test]
    fn parses_and_serializes_back() {
        let envelope = Envelope::from_slice(ROOM_ENDED).unwrap();
        assert_eq!(
            envelope.event,
            Event::RoomEnded(RoomData::new("r1", "weekly-sync", "u1"))
        );
        assert_eq!(serde_json::to_vec(&envelope).unwrap(), ROOM_ENDED);
        let ping = Envelope::new(Event::Ping, envelope.timestamp);
        assert_eq!(
            serde_json::to_string(&ping).unwrap(),
            r#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#
        );
    }

    #[test]
    fn each_flaw_has_its_error() {
        let cases: [(&[u8], ParseError); 12] = [
            (b"", ParseError::NotJsonObject),
            (b"[1]", ParseError::NotJsonObject),
            (b"{\"event\":", ParseError::NotJsonObject),
            (b"{} x", ParseError::NotJsonObject),
            (b"{\"event\":\"\xff\"}", ParseError::NotJsonObject),
            (
                br#"{"timestamp":"2026-04-01T12:34:56Z"}"#,
                ParseError::MissingEvent,
            ),
            (br#"{"event":"ping"}"#, ParseError::MissingTimestamp),
            (
                br#"{"event":1,"timestamp":"2026-04-01T12:34:56Z"}"#,
                ParseError::InvalidEnvelope,
            ),
            (
                br#"{"event":"ping","event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#,
                ParseError::InvalidEnvelope,
            ),
            (
                br#"{"event":"ping","timestamp":"yesterday"}"#,
                ParseError::InvalidTimestamp,
            ),
            (
                br#"{"data":[],"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#,
                ParseError::InvalidData(Some(EventKind::Ping)),
            ),
            (
                br#"{"data":{"roomId":5},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#,
                ParseError::InvalidData(Some(EventKind::RoomEnded)),
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                Envelope::from_slice(body),
                Err(want),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn raw_envelope_borrows_and_keeps_the_timestamp_text() {
        let raw = RawEnvelope::from_slice(ROOM_ENDED).unwrap();
        assert!(matches!(raw.event, Cow::Borrowed("room.ended")));
        assert_eq!(raw.timestamp_text(), "2026-04-01T12:34:56Z");
        assert_eq!(
            raw.data().map(RawValue::get),
            Some(r#"{"roomId":"r1","roomName":"weekly-sync","userId":"u1"}"#)
        );
        let escaped = RawEnvelope::from_slice(
            br#"{"event":"p\u0069ng","timestamp":"2026-04-01T12:34:56Z","data":null}"#,
        )
        .unwrap();
        assert_eq!(escaped.event(), "ping");
        assert!(escaped.data().is_none());
    }
}
