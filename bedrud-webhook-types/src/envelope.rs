//! A whole delivery: event, timestamp and data.

use serde_json::{Map, Value};

use crate::encode;
use crate::error::ParseError;
use crate::event::{Event, modelled_fields};
use crate::kind::EventKind;
use crate::raw::RawEnvelope;
use crate::timestamp::Timestamp;

/// A parsed Bedrud webhook body: `{"data":…,"event":…,"timestamp":…}`.
///
/// Besides the typed [`event`](Self::event) it keeps the `data` object as
/// received, in [`raw_data`](Self::raw_data), for fields this crate does not
/// model yet.
///
/// ```
/// use bedrud_webhook_types::{Envelope, Event};
///
/// let body = br#"{"data":{"roomId":"r1","roomName":"weekly-sync","seats":12,"userId":"u1"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#;
/// let envelope = Envelope::from_slice(body)?;
/// let Event::RoomEnded(room) = &envelope.event else { unreachable!() };
/// assert_eq!(room.room_name, "weekly-sync");
/// assert_eq!(envelope.timestamp.to_string(), "2026-04-01T12:34:56Z");
///
/// // `seats` is not modelled, but it is still there...
/// let extra = envelope.data_fields();
/// assert_eq!(extra["seats"], 12);
/// // ...and re-encoding gives Bedrud's bytes back.
/// assert_eq!(envelope.to_bedrud_json(), body);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The event and its typed data.
    pub event: Event,
    /// When Bedrud sent it: the signed `timestamp`.
    pub timestamp: Timestamp,
    /// `data` as received, or as [`Envelope::new`] encoded it.
    data: Box<str>,
    /// The kind `data` belongs to: only for that kind does
    /// [`Envelope::to_bedrud_json`] carry over `data`'s unmodelled fields.
    data_kind: Option<EventKind>,
}

impl Envelope {
    /// An envelope for `event` sent at `timestamp`.
    ///
    /// ```
    /// use bedrud_webhook_types::{Envelope, Event, EventKind, Timestamp};
    ///
    /// let at = Timestamp::parse("2026-04-01T12:34:56Z")?;
    /// let envelope = Envelope::new(Event::Ping, at);
    /// assert_eq!(envelope.to_bedrud_json(), br#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#);
    /// assert_eq!(envelope.raw_data(), "{}");
    /// # Ok::<(), bedrud_webhook_types::TimestampError>(())
    /// ```
    #[must_use]
    pub fn new(event: Event, timestamp: Timestamp) -> Envelope {
        let data = own_json(&encode::to_bedrud_json(&Value::Object(event.to_data())));
        Envelope {
            data_kind: event.kind(),
            event,
            timestamp,
            data,
        }
    }

    /// An envelope of `kind` with [sample data](Event::sample), sent now.
    ///
    /// ```
    /// use bedrud_webhook_types::{Envelope, EventKind};
    ///
    /// let body = Envelope::sample(EventKind::RecordingCompleted).to_bedrud_json();
    /// assert!(body.starts_with(br#"{"data":{"durationMs":3541000,"fileSizeBytes":734003200,"#));
    /// ```
    #[must_use]
    pub fn sample(kind: EventKind) -> Envelope {
        Envelope::new(Event::sample(kind), Timestamp::now())
    }

    /// Parses a whole body.
    ///
    /// This is [`RawEnvelope::from_slice`] followed by
    /// [`Envelope::from_raw`]; call those yourself when you already have the
    /// [`RawEnvelope`] (a verifier does).
    ///
    /// # Errors
    ///
    /// A [`ParseError`] naming what is wrong with the body.
    pub fn from_slice(body: &[u8]) -> Result<Envelope, ParseError> {
        Envelope::from_raw(&RawEnvelope::from_slice(body)?)
    }

    /// The typed envelope for an already parsed [`RawEnvelope`], without
    /// reading the body again: the data is read from its borrowed text.
    ///
    /// ```
    /// use bedrud_webhook_types::{Envelope, EventKind, RawEnvelope};
    ///
    /// let body = br#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#;
    /// let raw = RawEnvelope::from_slice(body)?;
    /// let envelope = Envelope::from_raw(&raw)?;
    /// assert_eq!(envelope.event.kind(), Some(EventKind::Ping));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ParseError::InvalidTimestamp`], or whatever [`Event::from_parts`]
    /// reports about the event's data.
    pub fn from_raw(raw: &RawEnvelope<'_>) -> Result<Envelope, ParseError> {
        let timestamp = Timestamp::parse(&raw.timestamp)?;
        let event = Event::from_json(&raw.event, raw.data)?;
        let data = match raw.data {
            Some(data) if data != "null" => data.into(),
            _ => empty_object(),
        };
        Ok(Envelope {
            data_kind: event.kind(),
            event,
            timestamp,
            data,
        })
    }

    /// The `data` object exactly as received, byte for byte, with every field
    /// including those the typed event does not model; `{}` when the body had
    /// no `data` or `null`. For an envelope made by [`Envelope::new`], the
    /// data as [`Envelope::to_bedrud_json`] first wrote it.
    ///
    /// It reflects what was received or built, not later changes to
    /// [`event`](Self::event).
    #[must_use]
    pub fn raw_data(&self) -> &str {
        &self.data
    }

    /// [`raw_data`](Self::raw_data) as a JSON object, every field, modelled
    /// or not, with its value as received.
    ///
    /// Prefer this to `serde_json::from_str(envelope.raw_data())`: with
    /// serde_json's `raw_value` or `arbitrary_precision` feature on anywhere
    /// in a build, `serde_json::Value` reads an object whose first key is
    /// `$serde_json::private::RawValue` (or `…Number`) as something else,
    /// and a received `data` object may hold any key. This reads every key
    /// as a key.
    ///
    /// ```
    /// use bedrud_webhook_types::Envelope;
    ///
    /// let body = br#"{"data":{"roomId":"r1","x":{"$serde_json::private::RawValue":"1"}},"event":"room.paused","timestamp":"2026-04-01T12:34:56Z"}"#;
    /// let fields = Envelope::from_slice(body)?.data_fields();
    /// assert_eq!(fields["roomId"], "r1");
    /// assert_eq!(fields["x"]["$serde_json::private::RawValue"], "1");
    /// # Ok::<(), bedrud_webhook_types::ParseError>(())
    /// ```
    #[must_use]
    pub fn data_fields(&self) -> Map<String, Value> {
        // `data` was checked to be an object when it was received or built.
        crate::plain::object_from_str(&self.data).unwrap_or_default()
    }

    /// The body Bedrud's Go sender writes for this envelope, byte for byte.
    ///
    /// `data` is the typed event's data. When the envelope was parsed and
    /// [`event`](Self::event) is still of the kind it was parsed as, the
    /// received data's fields that the typed event does not model are
    /// written too, so a body from a newer Bedrud encodes back to itself;
    /// modelled fields always come from `event`, including its changes.
    ///
    /// ```
    /// use bedrud_webhook_types::{Envelope, Event, RoomData, Timestamp};
    ///
    /// let room = RoomData::new("r1", "<b>Q&A</b>", "u1");
    /// let at = Timestamp::parse("2026-04-01T12:34:56Z")?;
    /// assert_eq!(
    ///     Envelope::new(Event::RoomCreated(room), at).to_bedrud_json(),
    ///     br#"{"data":{"roomId":"r1","roomName":"\u003cb\u003eQ\u0026A\u003c/b\u003e","userId":"u1"},"event":"room.created","timestamp":"2026-04-01T12:34:56Z"}"#
    /// );
    /// # Ok::<(), bedrud_webhook_types::TimestampError>(())
    /// ```
    #[must_use]
    pub fn to_bedrud_json(&self) -> Vec<u8> {
        encode::envelope(self.event.name(), self.timestamp, &self.data_to_encode())
    }

    fn data_to_encode(&self) -> Map<String, Value> {
        let mut data = self.event.to_data();
        let Some(kind) = self
            .event
            .kind()
            .filter(|kind| Some(*kind) == self.data_kind)
        else {
            return data;
        };
        let modelled = modelled_fields(kind);
        for (key, value) in self.data_fields() {
            if !modelled.contains(&key.as_str()) {
                data.insert(key, value);
            }
        }
        data
    }
}

impl PartialEq for Envelope {
    /// Equal when the events, the timestamps and the
    /// [`raw_data`](Envelope::raw_data) text are equal.
    fn eq(&self, other: &Self) -> bool {
        self.event == other.event && self.timestamp == other.timestamp && self.data == other.data
    }
}

impl Eq for Envelope {}

fn empty_object() -> Box<str> {
    "{}".into()
}

/// JSON this crate wrote itself, as text.
fn own_json(json: &[u8]) -> Box<str> {
    // Cannot fail: the encoder writes UTF-8. Should that ever break, `{}` is
    // a wrong answer but not a panic in a server.
    std::str::from_utf8(json).map_or_else(|_| empty_object(), Into::into)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::data::{ParticipantData, RecordingData, RoomData};
    use crate::event::UnknownEvent;
    use crate::status::RecordingStatus;

    const GOLDEN_ROOM_ENDED: &[u8] = br#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#;
    const GOLDEN_PING: &[u8] = br#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#;
    const GOLDEN_ROOM_CREATED: &str = r#"{"data":{"roomId":"r1","roomName":"\u003cb\u003eQ\u0026A\u003c/b\u003e — café 🎥 \u2028","userId":"u1"},"event":"room.created","timestamp":"2026-04-01T12:34:56Z"}"#;

    fn golden_time() -> Timestamp {
        Timestamp::parse("2026-04-01T12:34:56Z").unwrap()
    }

    #[test]
    fn golden_vectors_parse_and_re_encode_byte_for_byte() {
        for body in [
            GOLDEN_ROOM_ENDED,
            GOLDEN_PING,
            GOLDEN_ROOM_CREATED.as_bytes(),
        ] {
            let envelope = Envelope::from_slice(body).unwrap();
            assert_eq!(envelope.timestamp, golden_time());
            assert_eq!(
                String::from_utf8(envelope.to_bedrud_json()).unwrap(),
                String::from_utf8(body.to_vec()).unwrap()
            );
        }
    }

    #[test]
    fn golden_vectors_built_from_typed_values() {
        let cases = [
            (
                Event::RoomEnded(RoomData::new(
                    "3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34",
                    "weekly-sync",
                    "7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d",
                )),
                GOLDEN_ROOM_ENDED,
            ),
            (Event::Ping, GOLDEN_PING),
            (
                Event::RoomCreated(RoomData::new("r1", "<b>Q&A</b> — café 🎥 \u{2028}", "u1")),
                GOLDEN_ROOM_CREATED.as_bytes(),
            ),
        ];
        for (event, body) in cases {
            let built = Envelope::new(event.clone(), golden_time());
            assert_eq!(built.to_bedrud_json(), body, "{event:?}");
            assert_eq!(Envelope::from_slice(body).unwrap(), built);
            // The same bytes through the arbitrary-data encoder.
            assert_eq!(
                encode::envelope(event.name(), golden_time(), &event.to_data()),
                body
            );
        }
    }

    #[test]
    fn golden_vectors_parse_to_the_expected_events() {
        let room_ended = Envelope::from_slice(GOLDEN_ROOM_ENDED).unwrap();
        assert_eq!(room_ended.event, Event::sample(EventKind::RoomEnded));
        let created = Envelope::from_slice(GOLDEN_ROOM_CREATED.as_bytes()).unwrap();
        let Event::RoomCreated(room) = created.event else {
            panic!("{:?}", created.event)
        };
        assert_eq!(room.room_name, "<b>Q&A</b> — café 🎥 \u{2028}");
    }

    #[test]
    fn every_sample_round_trips() {
        for kind in EventKind::ALL {
            let sample = Envelope::new(Event::sample(kind), golden_time());
            let body = sample.to_bedrud_json();
            let parsed = Envelope::from_slice(&body).unwrap();
            assert_eq!(parsed, sample, "{kind}");
            assert_eq!(parsed.to_bedrud_json(), body);
        }
    }

    #[test]
    fn recording_sample_encodes_with_sorted_keys() {
        let body = Envelope::new(Event::sample(EventKind::RecordingCompleted), golden_time())
            .to_bedrud_json();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            concat!(
                r#"{"data":{"durationMs":3541000,"fileSizeBytes":734003200,"#,
                r#""fileURL":"https://bedrud.example.com/recordings/b6d767d2-f8a3-4d1c-9b9e-3a2f5c8e7d10.mp4","#,
                r#""recordingId":"b6d767d2-f8a3-4d1c-9b9e-3a2f5c8e7d10","#,
                r#""roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","status":"completed"},"#,
                r#""event":"recording.completed","timestamp":"2026-04-01T12:34:56Z"}"#
            )
        );
    }

    #[test]
    fn sample_uses_the_current_time() {
        let before = Timestamp::now();
        let sample = Envelope::sample(EventKind::Ping);
        assert!(sample.timestamp >= before && sample.timestamp <= Timestamp::now());
    }

    #[test]
    fn unmodelled_fields_survive_a_round_trip() {
        let body = br#"{"data":{"durationMs":5,"isGuest":false,"roomId":"r","roomName":"n","userId":"u","zone":{"a":[2],"b":1}},"event":"participant.joined","timestamp":"2026-04-01T12:34:56Z"}"#;
        let envelope = Envelope::from_slice(body).unwrap();
        assert_eq!(envelope.to_bedrud_json(), body);
        let ping = br#"{"data":{"by":"admin"},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#;
        assert_eq!(Envelope::from_slice(ping).unwrap().to_bedrud_json(), ping);
    }

    #[test]
    fn changes_to_the_event_win_over_received_data() {
        let body = br#"{"data":{"durationMs":5,"fileURL":"f","recordingId":"x","roomId":"r","roomName":"n","status":"processing","v":2},"event":"recording.completed","timestamp":"2026-04-01T12:34:56Z"}"#;
        let mut envelope = Envelope::from_slice(body).unwrap();
        let Event::RecordingCompleted(rec) = &mut envelope.event else {
            panic!()
        };
        rec.status = Some(RecordingStatus::Completed);
        rec.file_url = None;
        assert_eq!(
            envelope.to_bedrud_json(),
            br#"{"data":{"durationMs":5,"recordingId":"x","roomId":"r","roomName":"n","status":"completed","v":2},"event":"recording.completed","timestamp":"2026-04-01T12:34:56Z"}"#
        );
        // The raw data is what was received.
        assert!(envelope.raw_data().contains("processing"));

        // Another kind of event does not inherit the old data.
        envelope.event = Event::RoomEnded(RoomData::new("r", "n", "u"));
        assert_eq!(
            envelope.to_bedrud_json(),
            br#"{"data":{"roomId":"r","roomName":"n","userId":"u"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#
        );
    }

    #[test]
    fn unknown_events_encode_their_data_as_received() {
        let body = "{\"event\":\"room.paused\",\"timestamp\":\"2026-04-01T14:34:56+02:00\",\"data\":{\"z\":1.0,\"a\":\"<\\u00e9>\",\"n\":[true,null,{\"y\":1e2,\"x\":-0}]}}";
        let envelope = Envelope::from_slice(body.as_bytes()).unwrap();
        assert_eq!(envelope.event.name(), "room.paused");
        assert_eq!(
            String::from_utf8(envelope.to_bedrud_json()).unwrap(),
            r#"{"data":{"a":"\u003cé\u003e","n":[true,null,{"x":-0,"y":100}],"z":1},"event":"room.paused","timestamp":"2026-04-01T12:34:56Z"}"#
        );
    }

    #[test]
    fn raw_data_is_the_received_text() {
        let body = br#"{"data": { "roomId" : "r" , "extra": 1.50 },"event":"room.created","timestamp":"2026-04-01T12:34:56Z"}"#;
        let envelope = Envelope::from_slice(body).unwrap();
        assert_eq!(envelope.raw_data(), r#"{ "roomId" : "r" , "extra": 1.50 }"#);
        for body in [
            br#"{"event":"room.created","timestamp":"2026-04-01T12:34:56Z"}"#.as_slice(),
            br#"{"data":null,"event":"room.created","timestamp":"2026-04-01T12:34:56Z"}"#,
        ] {
            let envelope = Envelope::from_slice(body).unwrap();
            assert_eq!(envelope.raw_data(), "{}");
            assert_eq!(
                envelope.event,
                Event::RoomCreated(RoomData::new("", "", ""))
            );
            assert!(
                envelope
                    .to_bedrud_json()
                    .starts_with(br#"{"data":{"roomId":"","#)
            );
        }
    }

    #[test]
    fn parse_errors_name_what_is_wrong() {
        let cases: &[(&[u8], ParseError)] = &[
            (b"", ParseError::NotJsonObject),
            (b"[]", ParseError::NotJsonObject),
            (b"{\"event\":", ParseError::NotJsonObject),
            (br#"{"timestamp":"2026-04-01T12:34:56Z"}"#, ParseError::MissingEvent),
            (br#"{"event":"ping"}"#, ParseError::MissingTimestamp),
            (br#"{"event":1,"timestamp":"2026-04-01T12:34:56Z"}"#, ParseError::InvalidEnvelopeField),
            (br#"{"event":"ping","timestamp":1775046896}"#, ParseError::InvalidEnvelopeField),
            (br#"{"event":"ping","timestamp":"yesterday"}"#, ParseError::InvalidTimestamp),
            (
                br#"{"data":[],"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#,
                ParseError::DataNotObject { event: Some(EventKind::Ping) },
            ),
            (
                br#"{"data":"x","event":"new.thing","timestamp":"2026-04-01T12:34:56Z"}"#,
                ParseError::DataNotObject { event: None },
            ),
            (
                br#"{"data":{"userId":1},"event":"participant.joined","timestamp":"2026-04-01T12:34:56Z"}"#,
                ParseError::InvalidField {
                    event: EventKind::ParticipantJoined,
                    field: "userId",
                    expected: "a string",
                    found: "a number",
                },
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                Envelope::from_slice(body),
                Err(*want),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn from_raw_reads_the_borrowed_envelope() {
        let raw = RawEnvelope::from_slice(GOLDEN_ROOM_ENDED).unwrap();
        assert_eq!(
            Envelope::from_raw(&raw).unwrap(),
            Envelope::from_slice(GOLDEN_ROOM_ENDED).unwrap()
        );
    }

    #[test]
    fn equality_compares_raw_data_text() {
        let a = Envelope::from_slice(
            br#"{"data":{"x":1},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#,
        )
        .unwrap();
        let b = Envelope::from_slice(
            br#"{"data":{"x":2},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#,
        )
        .unwrap();
        assert_eq!(a.event, b.event);
        assert_ne!(a, b);
        assert_eq!(a, a.clone());
    }

    /// Strings heavy in everything the encoder treats specially.
    fn tricky_string() -> impl Strategy<Value = String> {
        let special = prop_oneof![
            Just('<'),
            Just('>'),
            Just('&'),
            Just('\u{2028}'),
            Just('\u{2029}'),
            Just('"'),
            Just('\\'),
            Just('/'),
            Just('\u{7f}'),
            Just('é'),
            Just('🎥'),
            (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap_or('\0')),
            (0x1_0000u32..0x11_0000).prop_map(|c| char::from_u32(c).unwrap_or('\u{1f600}')),
        ];
        let ch = prop_oneof![2 => any::<char>(), 3 => special];
        prop::collection::vec(ch, 0..24).prop_map(String::from_iter)
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter_map("finite", |x| serde_json::Number::from_f64(x)
                .map(Value::Number)),
            prop_oneof![
                Just(1e21),
                Just(-1e-7),
                Just(9_007_199_254_740_993.0),
                Just(-0.0)
            ]
            .prop_filter_map("finite", |x| serde_json::Number::from_f64(x)
                .map(Value::Number)),
            tricky_string().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((tricky_string(), inner), 0..6)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    fn json_object() -> impl Strategy<Value = Map<String, Value>> {
        prop::collection::vec((tricky_string(), json_value()), 0..6)
            .prop_map(|entries| entries.into_iter().collect())
    }

    fn event_name() -> impl Strategy<Value = String> {
        prop_oneof!["[a-z]{1,8}\\.[a-z]{1,8}", tricky_string()]
            .prop_filter("not a known name", |s| s.parse::<EventKind>().is_err())
    }

    fn typed_event() -> impl Strategy<Value = Event> {
        let s = tricky_string;
        prop_oneof![
            (s(), s(), s()).prop_map(|(a, b, c)| Event::RoomCreated(RoomData::new(a, b, c))),
            (s(), s(), s()).prop_map(|(a, b, c)| Event::RoomEnded(RoomData::new(a, b, c))),
            (s(), s(), s())
                .prop_map(|(a, b, c)| Event::ParticipantJoined(ParticipantData::new(a, b, c))),
            (s(), s(), s())
                .prop_map(|(a, b, c)| Event::ParticipantLeft(ParticipantData::new(a, b, c))),
            (
                (s(), s(), s()),
                proptest::option::of(s()),
                proptest::option::of(any::<u64>()),
                proptest::option::of(any::<u64>()),
                proptest::option::of(s()),
            )
                .prop_map(|((id, room, name), url, size, ms, status)| {
                    let mut rec = RecordingData::new(id, room, name);
                    rec.file_url = url;
                    rec.file_size_bytes = size;
                    rec.duration_ms = ms;
                    rec.status = status.map(RecordingStatus::from);
                    Event::RecordingCompleted(rec)
                }),
            Just(Event::Ping),
            (event_name(), json_object())
                .prop_map(|(n, d)| Event::Unknown(UnknownEvent::new(n, d))),
        ]
    }

    fn timestamp() -> impl Strategy<Value = Timestamp> {
        // Years 0000 to 9999, the range RFC 3339 can write.
        (-62_167_219_200_i64..253_402_300_800)
            .prop_map(|s| Timestamp::from_unix_seconds(s).unwrap())
    }

    proptest! {
        #[test]
        fn typed_events_encode_parse_encode_stably(event in typed_event(), at in timestamp()) {
            let first = Envelope::new(event, at).to_bedrud_json();
            let parsed = Envelope::from_slice(&first).unwrap();
            prop_assert_eq!(&parsed.to_bedrud_json(), &first);
            // The text form is what Go would write, so it stays valid JSON of the same value.
            let reparsed: Value = serde_json::from_slice(&first).unwrap();
            prop_assert_eq!(reparsed["event"].as_str(), Some(parsed.event.name()));
        }

        #[test]
        fn typed_string_fields_survive_exactly(event in typed_event()) {
            // u64s above 2^53 lose precision on purpose (Bedrud's float64);
            // everything else must come back unchanged.
            let body = Envelope::new(event.clone(), Timestamp::now()).to_bedrud_json();
            let parsed = Envelope::from_slice(&body).unwrap().event;
            match (&event, &parsed) {
                (Event::RecordingCompleted(a), Event::RecordingCompleted(b)) => {
                    prop_assert_eq!(&a.recording_id, &b.recording_id);
                    prop_assert_eq!(&a.room_name, &b.room_name);
                    prop_assert_eq!(&a.file_url, &b.file_url);
                    prop_assert_eq!(&a.status, &b.status);
                    let near = |x: Option<u64>, y: Option<u64>| match (x, y) {
                        (Some(x), Some(y)) => x.abs_diff(y) <= x / (1 << 52),
                        (x, y) => x == y,
                    };
                    prop_assert!(near(a.file_size_bytes, b.file_size_bytes));
                    prop_assert!(near(a.duration_ms, b.duration_ms));
                }
                (Event::Unknown(a), Event::Unknown(b)) => prop_assert_eq!(&a.name, &b.name),
                _ => prop_assert_eq!(&event, &parsed),
            }
        }

        #[test]
        fn arbitrary_json_encodes_stably(value in json_value()) {
            let first = encode::to_bedrud_json(&value);
            let parsed: Value = serde_json::from_slice(&first).unwrap();
            prop_assert_eq!(encode::to_bedrud_json(&parsed), first);
        }

        #[test]
        fn encoded_strings_read_back_exactly(s in tricky_string()) {
            let first = encode::to_bedrud_json(&Value::String(s.clone()));
            prop_assert_eq!(serde_json::from_slice::<String>(&first).unwrap(), s);
            // No raw character that Go would have escaped.
            let text = String::from_utf8(first).unwrap();
            let go_escapes = ['<', '>', '&', '\u{2028}', '\u{2029}'];
            prop_assert!(!text.contains(go_escapes), "{}", text);
            prop_assert!(!text.chars().any(|c| c < ' '));
        }

        #[test]
        fn floats_encode_stably(x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
            let first = encode::to_bedrud_json(&json!(x));
            let parsed: Value = serde_json::from_slice(&first).unwrap();
            prop_assert_eq!(parsed.as_f64(), Some(x));
            prop_assert_eq!(encode::to_bedrud_json(&parsed), first);
        }
    }
}
