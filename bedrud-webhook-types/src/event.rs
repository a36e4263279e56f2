//! The typed event: which event it is and its data.

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::data::{ParticipantData, RecordingData, RoomData};
use crate::error::ParseError;
use crate::fields::Members;
use crate::kind::EventKind;

/// A Bedrud event with its data.
///
/// Bedrud adds events over time. One this crate does not know arrives as
/// [`Event::Unknown`] with its name and data, so a genuinely signed delivery
/// never fails just for being new; match it with a wildcard arm, since this
/// enum will gain variants.
///
/// ```
/// use bedrud_webhook_types::{Event, EventKind};
///
/// fn describe(event: &Event) -> String {
///     match event {
///         Event::RoomCreated(room) => format!("{} opened {}", room.user_id, room.room_name),
///         Event::ParticipantJoined(who) => format!("{} joined {}", who.user_id, who.room_name),
///         Event::RecordingCompleted(rec) => match &rec.file_url {
///             Some(url) if !url.is_empty() => format!("recording at {url}"),
///             _ => "recording without a file".to_owned(),
///         },
///         Event::Ping => "ping".to_owned(),
///         Event::Unknown(other) => format!("new event {}", other.name),
///         other => format!("{} (not handled)", other.name()),
///     }
/// }
///
/// assert_eq!(describe(&Event::sample(EventKind::RoomCreated)),
///            "7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d opened weekly-sync");
/// assert_eq!(describe(&Event::sample(EventKind::RoomEnded)), "room.ended (not handled)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// `room.created`.
    RoomCreated(RoomData),
    /// `room.ended`.
    RoomEnded(RoomData),
    /// `participant.joined`.
    ParticipantJoined(ParticipantData),
    /// `participant.left` (named by Bedrud, not emitted yet).
    ParticipantLeft(ParticipantData),
    /// `recording.completed`.
    RecordingCompleted(RecordingData),
    /// `ping`, sent by the admin's **Test** button. Its data is ignored.
    Ping,
    /// An event this crate does not know.
    Unknown(UnknownEvent),
}

/// An event whose name this crate does not know, kept whole.
///
/// [`Event::from_parts`] only produces this for names outside
/// [`EventKind::ALL`]; one built by hand with a known name (to send a
/// deliberately malformed known event, say) still reports
/// [`Event::kind`] as `None`.
///
/// ```
/// use bedrud_webhook_types::{Event, UnknownEvent};
/// use serde_json::json;
///
/// let data = serde_json::from_value(json!({"roomId": "r1", "reason": "idle"}))?;
/// let event = Event::Unknown(UnknownEvent::new("room.paused", data));
/// assert_eq!(event.name(), "room.paused");
/// assert_eq!(event.kind(), None);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownEvent {
    /// The event name as sent.
    pub name: String,
    /// The `data` object as sent (empty when the body had none).
    pub data: Map<String, Value>,
}

impl UnknownEvent {
    /// An event called `name` carrying `data`.
    #[must_use]
    pub fn new(name: impl Into<String>, data: Map<String, Value>) -> Self {
        Self {
            name: name.into(),
            data,
        }
    }
}

impl Event {
    /// The event's name on the wire, such as `room.ended`; an unknown event's
    /// own name.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Event::Unknown(unknown) => &unknown.name,
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
            Event::Unknown(_) => return None,
        })
    }

    /// The typed event for an envelope's `event` name and `data`.
    ///
    /// Absent `data`, and `data` that is `null`, read as `{}`. A known
    /// event's data is read straight from `data`'s text; fields this crate
    /// does not model are ignored, and missing ones are empty or `None` (see
    /// [`RoomData`], [`ParticipantData`], [`RecordingData`]).
    ///
    /// ```
    /// use bedrud_webhook_types::{Event, RoomData};
    /// use serde_json::value::RawValue;
    ///
    /// let data = RawValue::from_string(r#"{"roomId":"r1","roomName":"n","userId":"u1","extra":[1]}"#.into())?;
    /// let event = Event::from_parts("room.ended", Some(&data)).unwrap();
    /// assert_eq!(event, Event::RoomEnded(RoomData::new("r1", "n", "u1")));
    /// assert_eq!(Event::from_parts("ping", None).unwrap(), Event::Ping);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ParseError::DataNotObject`] when `data` is neither an object nor
    /// `null`; [`ParseError::InvalidField`] or [`ParseError::DuplicateField`]
    /// when a field of a known event cannot be read.
    pub fn from_parts(name: &str, data: Option<&RawValue>) -> Result<Event, ParseError> {
        Event::from_json(name, data.map(RawValue::get))
    }

    /// [`Event::from_parts`] for `data` given as JSON text, which must be
    /// valid JSON (as a [`RawEnvelope`](crate::RawEnvelope)'s is).
    pub(crate) fn from_json(name: &str, data: Option<&str>) -> Result<Event, ParseError> {
        let data = data.filter(|json| *json != "null");
        let Ok(kind) = name.parse::<EventKind>() else {
            let data = match data {
                None => Map::new(),
                // Key for key: see `plain` on serde_json's special keys.
                Some(json) => crate::plain::object_from_str(json)
                    .ok_or(ParseError::DataNotObject { event: None })?,
            };
            return Ok(Event::Unknown(UnknownEvent::new(name, data)));
        };
        let mut members = Members::default();
        if let Some(json) = data {
            // `json` is valid JSON already, so the only possible failure is
            // that it is not an object.
            members
                .read(json)
                .map_err(|_| ParseError::DataNotObject { event: Some(kind) })?;
        }
        let in_event = |e| ParseError::in_event(kind, e);
        Ok(match kind {
            EventKind::RoomCreated => {
                Event::RoomCreated(RoomData::from_members(&members).map_err(in_event)?)
            }
            EventKind::RoomEnded => {
                Event::RoomEnded(RoomData::from_members(&members).map_err(in_event)?)
            }
            EventKind::ParticipantJoined => {
                Event::ParticipantJoined(ParticipantData::from_members(&members).map_err(in_event)?)
            }
            EventKind::ParticipantLeft => {
                Event::ParticipantLeft(ParticipantData::from_members(&members).map_err(in_event)?)
            }
            EventKind::RecordingCompleted => {
                Event::RecordingCompleted(RecordingData::from_members(&members).map_err(in_event)?)
            }
            EventKind::Ping => Event::Ping,
        })
    }

    /// An event of `kind` with realistic data: the `sample()` of its data
    /// type.
    #[must_use]
    pub fn sample(kind: EventKind) -> Event {
        match kind {
            EventKind::RoomCreated => Event::RoomCreated(RoomData::sample()),
            EventKind::RoomEnded => Event::RoomEnded(RoomData::sample()),
            EventKind::ParticipantJoined => Event::ParticipantJoined(ParticipantData::sample()),
            EventKind::ParticipantLeft => Event::ParticipantLeft(ParticipantData::sample()),
            EventKind::RecordingCompleted => Event::RecordingCompleted(RecordingData::sample()),
            EventKind::Ping => Event::Ping,
        }
    }

    /// The event's `data` as a JSON object, with wire names: empty for
    /// [`Event::Ping`], a copy of the data for [`Event::Unknown`].
    ///
    /// ```
    /// use bedrud_webhook_types::{Event, RoomData};
    ///
    /// let data = Event::RoomEnded(RoomData::new("r1", "n", "u1")).to_data();
    /// assert_eq!(data["roomId"], "r1");
    /// ```
    #[must_use]
    pub fn to_data(&self) -> Map<String, Value> {
        match self {
            Event::RoomCreated(room) | Event::RoomEnded(room) => room.to_map(),
            Event::ParticipantJoined(who) | Event::ParticipantLeft(who) => who.to_map(),
            Event::RecordingCompleted(recording) => recording.to_map(),
            Event::Ping => Map::new(),
            Event::Unknown(unknown) => unknown.data.clone(),
        }
    }
}

/// The wire names of the `data` fields a kind's typed data models.
pub(crate) fn modelled_fields(kind: EventKind) -> &'static [&'static str] {
    match kind {
        EventKind::RoomCreated | EventKind::RoomEnded => RoomData::FIELDS,
        EventKind::ParticipantJoined | EventKind::ParticipantLeft => ParticipantData::FIELDS,
        EventKind::RecordingCompleted => RecordingData::FIELDS,
        EventKind::Ping => &[],
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::status::RecordingStatus;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).unwrap()
    }

    fn parse(name: &str, data: &str) -> Result<Event, ParseError> {
        Event::from_parts(name, Some(&raw(data)))
    }

    #[test]
    fn every_kind_parses_from_its_sample_data() {
        for kind in EventKind::ALL {
            let sample = Event::sample(kind);
            assert_eq!(sample.kind(), Some(kind));
            assert_eq!(sample.name(), kind.as_str());
            let data = serde_json::to_string(&sample.to_data()).unwrap();
            assert_eq!(parse(kind.as_str(), &data).unwrap(), sample, "{kind}");
        }
    }

    #[test]
    fn unknown_event_keeps_name_and_data() {
        let event = parse(
            "room.paused",
            r#"{"roomId":"r1","why":{"idle":[1,2.5,null]}}"#,
        )
        .unwrap();
        let Event::Unknown(unknown) = &event else {
            panic!("{event:?}")
        };
        assert_eq!(unknown.name, "room.paused");
        assert_eq!(
            Value::Object(unknown.data.clone()),
            json!({"roomId": "r1", "why": {"idle": [1, 2.5, null]}})
        );
        assert_eq!(event.name(), "room.paused");
        assert_eq!(event.kind(), None);
        assert_eq!(event.to_data(), unknown.data);
    }

    #[test]
    fn names_are_case_sensitive() {
        let event = parse("Room.Created", "{}").unwrap();
        assert!(matches!(event, Event::Unknown(_)));
    }

    #[test]
    fn added_fields_are_ignored() {
        let event = parse(
            "participant.joined",
            r#"{"roomId":"r","roomName":"n","userId":"u","isGuest":true,"meta":{"a":[1]},"n":1.5}"#,
        )
        .unwrap();
        assert_eq!(
            event,
            Event::ParticipantJoined(ParticipantData::new("r", "n", "u"))
        );
    }

    #[test]
    fn missing_fields_do_not_fail() {
        assert_eq!(
            parse("room.created", r#"{"roomId":"r"}"#).unwrap(),
            Event::RoomCreated(RoomData::new("r", "", ""))
        );
        assert_eq!(
            parse(
                "recording.completed",
                r#"{"recordingId":"x","status":"failed"}"#
            )
            .unwrap(),
            Event::RecordingCompleted(
                RecordingData::new("x", "", "").with_status(RecordingStatus::Failed)
            )
        );
        assert_eq!(
            parse("participant.left", "{}").unwrap(),
            Event::ParticipantLeft(ParticipantData::new("", "", ""))
        );
    }

    #[test]
    fn absent_or_null_data_reads_as_empty() {
        for data in [None, Some(raw("null"))] {
            let data = data.as_deref();
            assert_eq!(Event::from_parts("ping", data).unwrap(), Event::Ping);
            assert_eq!(
                Event::from_parts("room.ended", data).unwrap(),
                Event::RoomEnded(RoomData::new("", "", ""))
            );
            assert_eq!(
                Event::from_parts("future", data).unwrap(),
                Event::Unknown(UnknownEvent::new("future", Map::new()))
            );
        }
    }

    #[test]
    fn wrong_types_fail_naming_event_and_field() {
        let cases = [
            ("room.created", r#"{"roomId":1}"#, "roomId", "a number"),
            ("room.ended", r#"{"userId":["u"]}"#, "userId", "an array"),
            (
                "participant.joined",
                r#"{"roomName":{}}"#,
                "roomName",
                "an object",
            ),
            (
                "participant.left",
                r#"{"userId":false}"#,
                "userId",
                "a boolean",
            ),
            (
                "recording.completed",
                r#"{"recordingId":7}"#,
                "recordingId",
                "a number",
            ),
            (
                "recording.completed",
                r#"{"fileURL":1}"#,
                "fileURL",
                "a number",
            ),
            (
                "recording.completed",
                r#"{"status":2}"#,
                "status",
                "a number",
            ),
            (
                "recording.completed",
                r#"{"fileSizeBytes":"1"}"#,
                "fileSizeBytes",
                "a string",
            ),
            (
                "recording.completed",
                r#"{"fileSizeBytes":-1}"#,
                "fileSizeBytes",
                "a negative number",
            ),
            (
                "recording.completed",
                r#"{"durationMs":1.5}"#,
                "durationMs",
                "a number with a fraction",
            ),
            (
                "recording.completed",
                r#"{"durationMs":1e+21}"#,
                "durationMs",
                "a number of 2^64 or more",
            ),
        ];
        for (name, data, field, found) in cases {
            let err = parse(name, data).unwrap_err();
            let ParseError::InvalidField {
                event,
                field: got_field,
                found: got_found,
                ..
            } = err
            else {
                panic!("{name} {data}: {err:?}")
            };
            assert_eq!(
                (event.as_str(), got_field, got_found),
                (name, field, found),
                "{data}"
            );
            let message = err.to_string();
            assert!(
                message.contains(name) && message.contains(field),
                "{message}"
            );
        }
    }

    #[test]
    fn floats_that_are_integers_are_accepted() {
        let event = parse(
            "recording.completed",
            r#"{"fileSizeBytes":1e+19,"durationMs":60000.0}"#,
        )
        .unwrap();
        let Event::RecordingCompleted(rec) = event else {
            panic!("{event:?}")
        };
        assert_eq!(rec.file_size_bytes, Some(10_000_000_000_000_000_000));
        assert_eq!(rec.duration_ms, Some(60_000));
    }

    #[test]
    fn duplicate_modelled_field_fails() {
        assert_eq!(
            parse("room.ended", r#"{"roomId":"a","roomId":"b"}"#),
            Err(ParseError::DuplicateField {
                event: EventKind::RoomEnded,
                field: "roomId"
            })
        );
    }

    #[test]
    fn data_that_is_not_an_object_fails() {
        for data in ["[]", "1", "\"{}\"", "true", "[{}]"] {
            assert_eq!(
                parse("room.created", data),
                Err(ParseError::DataNotObject {
                    event: Some(EventKind::RoomCreated)
                }),
                "{data}"
            );
            assert_eq!(
                parse("ping", data),
                Err(ParseError::DataNotObject {
                    event: Some(EventKind::Ping)
                })
            );
            assert_eq!(
                parse("room.paused", data),
                Err(ParseError::DataNotObject { event: None })
            );
        }
    }

    #[test]
    fn ping_ignores_its_data() {
        assert_eq!(
            parse("ping", r#"{"anything":[1,2,3]}"#).unwrap(),
            Event::Ping
        );
    }

    #[test]
    fn modelled_fields_cover_each_kinds_encoding() {
        for kind in EventKind::ALL {
            let data = Event::sample(kind).to_data();
            let mut keys: Vec<&str> = data.keys().map(String::as_str).collect();
            let mut fields = modelled_fields(kind).to_vec();
            keys.sort_unstable();
            fields.sort_unstable();
            assert_eq!(keys, fields, "{kind}");
        }
    }
}
