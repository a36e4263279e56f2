use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer as _, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::{EventKind, ParseError, RecordingData, RoomData};

/// A Bedrud event with its typed data.
///
/// An event this crate does not know yet is [`Event::Unknown`], with its
/// `data` kept as the raw JSON it arrived as: a newer Bedrud never makes a
/// receiver fail.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// `room.created`: `user_id` created the room.
    RoomCreated(RoomData),
    /// `room.ended`: `user_id` closed the room.
    RoomEnded(RoomData),
    /// `participant.joined`: `user_id` (a guest's id for guests) joined.
    ParticipantJoined(RoomData),
    /// `participant.left`: `user_id` left.
    ParticipantLeft(RoomData),
    /// `recording.completed`
    RecordingCompleted(RecordingData),
    /// `ping`: the admin page's **Test** button.
    Ping,
    /// An event this crate does not know.
    Unknown {
        /// The event's wire name.
        name: String,
        /// Its `data` object, exactly as received.
        data: Box<RawValue>,
    },
}

impl Event {
    /// The event's wire name, such as `room.ended`.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Event::Unknown { name, .. } => name,
            known => known.kind().map_or("", EventKind::as_str),
        }
    }

    /// The event's kind; `None` for [`Event::Unknown`].
    #[must_use]
    pub fn kind(&self) -> Option<EventKind> {
        Some(match self {
            Event::RoomCreated(_) => EventKind::RoomCreated,
            Event::RoomEnded(_) => EventKind::RoomEnded,
            Event::ParticipantJoined(_) => EventKind::ParticipantJoined,
            Event::ParticipantLeft(_) => EventKind::ParticipantLeft,
            Event::RecordingCompleted(_) => EventKind::RecordingCompleted,
            Event::Ping => EventKind::Ping,
            Event::Unknown { .. } => return None,
        })
    }

    /// The event called `name` with this `data` (absent or `null`: `{}`).
    ///
    /// One rule for every event, known or not: `data` must be an object whose
    /// keys are unique (Go never writes a key twice, and two readers could
    /// disagree on which value counts); any depth and any number are fine.
    ///
    /// # Errors
    ///
    /// [`ParseError::InvalidData`] when `data` breaks that rule, or lacks a
    /// known event's fields or types.
    pub fn from_parts(name: &str, data: Option<&RawValue>) -> Result<Event, ParseError> {
        let kind = EventKind::from_name(name);
        let text = data.map_or("{}", RawValue::get);
        let invalid = |_| ParseError::InvalidData(kind);
        let mut keys = serde_json::Deserializer::from_str(text);
        keys.deserialize_map(UniqueKeys).map_err(invalid)?;
        Ok(match kind {
            Some(EventKind::RoomCreated) => Event::RoomCreated(typed(text, kind)?),
            Some(EventKind::RoomEnded) => Event::RoomEnded(typed(text, kind)?),
            Some(EventKind::ParticipantJoined) => Event::ParticipantJoined(typed(text, kind)?),
            Some(EventKind::ParticipantLeft) => Event::ParticipantLeft(typed(text, kind)?),
            Some(EventKind::RecordingCompleted) => Event::RecordingCompleted(typed(text, kind)?),
            Some(EventKind::Ping) => Event::Ping,
            None => Event::Unknown {
                name: name.to_owned(),
                data: RawValue::from_string(text.to_owned()).map_err(invalid)?,
            },
        })
    }
}

fn typed<T: DeserializeOwned>(text: &str, kind: Option<EventKind>) -> Result<T, ParseError> {
    serde_json::from_str(text).map_err(|_| ParseError::InvalidData(kind))
}

/// Accepts a JSON object whose keys are unique, whatever its values hold.
struct UniqueKeys;

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with unique keys")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Bedrud's objects have a handful of keys: a linear search is enough.
        let mut seen = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(Key(key)) = map.next_key()? {
            map.next_value::<IgnoredAny>()?;
            if seen.contains(&key) {
                return Err(de::Error::custom("duplicate key"));
            }
            seen.push(key);
        }
        Ok(())
    }
}

/// A key, borrowed from the body unless it has escapes.
#[derive(Deserialize)]
#[serde(transparent)]
struct Key<'a>(#[serde(borrow)] Cow<'a, str>);

impl PartialEq for Event {
    fn eq(&self, other: &Event) -> bool {
        match (self, other) {
            (Event::RoomCreated(a), Event::RoomCreated(b))
            | (Event::RoomEnded(a), Event::RoomEnded(b))
            | (Event::ParticipantJoined(a), Event::ParticipantJoined(b))
            | (Event::ParticipantLeft(a), Event::ParticipantLeft(b)) => a == b,
            (Event::RecordingCompleted(a), Event::RecordingCompleted(b)) => a == b,
            (Event::Ping, Event::Ping) => true,
            (Event::Unknown { name: a, data: x }, Event::Unknown { name: b, data: y }) => {
                a == b && x.get() == y.get()
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    #[test]
    fn known_events_parse_their_data() {
        let data = raw(r#"{"roomId":"r","roomName":"n","userId":"u","since":1}"#);
        let event = Event::from_parts("participant.left", Some(&data)).unwrap();
        assert_eq!(event, Event::ParticipantLeft(RoomData::new("r", "n", "u")));
        assert_eq!(event.name(), "participant.left");
        assert_eq!(Event::from_parts("ping", None).unwrap(), Event::Ping);
    }

    #[test]
    fn unknown_events_keep_their_data() {
        let data = raw(r#"{"deep":[[[[{"n":1e400}]]]],"a":1}"#);
        let event = Event::from_parts("room.paused", Some(&data)).unwrap();
        assert_eq!(event.name(), "room.paused");
        assert_eq!(event.kind(), None);
        let Event::Unknown { data: kept, .. } = &event else {
            panic!("{event:?}")
        };
        assert_eq!(kept.get(), data.get());
    }

    #[test]
    fn data_must_be_an_object_of_the_right_shape() {
        for (name, data) in [
            ("room.ended", "[1]"),
            ("room.paused", "\"x\""),
            ("ping", "3"),
            ("room.created", r#"{"roomId":1}"#),
        ] {
            let err = Event::from_parts(name, Some(&raw(data))).unwrap_err();
            assert_eq!(
                err,
                ParseError::InvalidData(EventKind::from_name(name)),
                "{name} {data}"
            );
        }
    }

    #[test]
    fn one_rule_for_known_and_unknown_events() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        for data in [
            format!(r#"{{"x":{deep}}}"#),
            r#"{"x":1e400,"y":-1e999}"#.to_owned(),
        ] {
            for name in ["room.created", "room.paused", "ping"] {
                assert!(
                    Event::from_parts(name, Some(&raw(&data))).is_ok(),
                    "{name} {data}"
                );
            }
        }
        for data in [
            r#"{"roomId":"a","roomId":"b"}"#,
            r#"{"x":1,"x":1}"#,
            r#"{"x":1,"\u0078":2}"#,
        ] {
            for name in ["room.created", "room.paused", "ping"] {
                let kind = EventKind::from_name(name);
                assert_eq!(
                    Event::from_parts(name, Some(&raw(data))),
                    Err(ParseError::InvalidData(kind)),
                    "{name} {data}"
                );
            }
        }
    }
}
