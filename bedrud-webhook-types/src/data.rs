//! The `data` of the known events.
//!
//! Presence rules, the same for every type here: an added field never fails
//! (it stays in [`Envelope::raw_data`](crate::Envelope::raw_data)); a missing
//! or `null` field never fails. Identifiers Bedrud always sends are `String`s
//! that read as empty when a delivery leaves them out, like Go's zero values;
//! fields Bedrud may leave out, or that may be meaningless, are `Option`s. A
//! field of the wrong JSON type is an error naming the event and the field.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::fields::{FieldError, Members};
use crate::status::RecordingStatus;

const ROOM_ID: &str = "roomId";
const ROOM_NAME: &str = "roomName";
const USER_ID: &str = "userId";
const RECORDING_ID: &str = "recordingId";
const FILE_URL: &str = "fileURL";
const FILE_SIZE_BYTES: &str = "fileSizeBytes";
const DURATION_MS: &str = "durationMs";
const STATUS: &str = "status";

// Shared by the samples so that they describe one coherent meeting.
const SAMPLE_ROOM_ID: &str = "3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34";
const SAMPLE_ROOM_NAME: &str = "weekly-sync";
const SAMPLE_HOST_ID: &str = "7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d";
const SAMPLE_GUEST_ID: &str = "c4ca4238-a0b9-4382-8dcc-509a6f75849b";
const SAMPLE_RECORDING_ID: &str = "b6d767d2-f8a3-4d1c-9b9e-3a2f5c8e7d10";

fn text(value: &str) -> Value {
    Value::String(value.to_owned())
}

/// The `data` of `room.created` and `room.ended`.
///
/// On the wire: `{"roomId":…,"roomName":…,"userId":…}`.
///
/// ```
/// use bedrud_webhook_types::RoomData;
///
/// let room = RoomData::new("r1", "weekly-sync", "u1").with_room_name("standup");
/// assert_eq!(room.room_name, "standup");
/// let json = serde_json::to_value(&room)?;
/// assert_eq!(json["roomName"], "standup");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RoomData {
    /// The room's id (`roomId`). Bedrud always sends it; empty if a delivery
    /// leaves it out.
    pub room_id: String,
    /// The room's name (`roomName`). Bedrud always sends it; empty if a
    /// delivery leaves it out.
    pub room_name: String,
    /// The user behind the event (`userId`): for `room.created` the creator,
    /// for `room.ended` whoever closed the room. Bedrud always sends it; empty
    /// if a delivery leaves it out.
    pub user_id: String,
}

impl RoomData {
    /// The wire names of the fields this type models.
    pub(crate) const FIELDS: &'static [&'static str] = &[ROOM_ID, ROOM_NAME, USER_ID];

    /// Room data with every field set.
    #[must_use]
    pub fn new(
        room_id: impl Into<String>,
        room_name: impl Into<String>,
        user_id: impl Into<String>,
    ) -> Self {
        Self {
            room_id: room_id.into(),
            room_name: room_name.into(),
            user_id: user_id.into(),
        }
    }

    /// A realistic room: `weekly-sync`, with UUIDs as Bedrud generates them.
    #[must_use]
    pub fn sample() -> Self {
        Self::new(SAMPLE_ROOM_ID, SAMPLE_ROOM_NAME, SAMPLE_HOST_ID)
    }

    /// Replaces [`room_id`](Self::room_id).
    #[must_use]
    pub fn with_room_id(mut self, room_id: impl Into<String>) -> Self {
        self.room_id = room_id.into();
        self
    }

    /// Replaces [`room_name`](Self::room_name).
    #[must_use]
    pub fn with_room_name(mut self, room_name: impl Into<String>) -> Self {
        self.room_name = room_name.into();
        self
    }

    /// Replaces [`user_id`](Self::user_id).
    #[must_use]
    pub fn with_user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = user_id.into();
        self
    }

    pub(crate) fn from_members(m: &Members<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            room_id: m.string(ROOM_ID)?.unwrap_or_default(),
            room_name: m.string(ROOM_NAME)?.unwrap_or_default(),
            user_id: m.string(USER_ID)?.unwrap_or_default(),
        })
    }

    pub(crate) fn to_map(&self) -> Map<String, Value> {
        Map::from_iter([
            (ROOM_ID.to_owned(), text(&self.room_id)),
            (ROOM_NAME.to_owned(), text(&self.room_name)),
            (USER_ID.to_owned(), text(&self.user_id)),
        ])
    }
}

/// The `data` of `participant.joined` and `participant.left`.
///
/// On the wire: `{"roomId":…,"roomName":…,"userId":…}`. Bedrud does not emit
/// `participant.left` yet; its guide names it, and it is expected to carry
/// this shape.
///
/// ```
/// use bedrud_webhook_types::ParticipantData;
///
/// let joined = ParticipantData::sample().with_user_id("guest-42");
/// assert_eq!(joined.user_id, "guest-42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ParticipantData {
    /// The room's id (`roomId`). Bedrud always sends it; empty if a delivery
    /// leaves it out.
    pub room_id: String,
    /// The room's name (`roomName`). Bedrud always sends it; empty if a
    /// delivery leaves it out.
    pub room_name: String,
    /// The participant (`userId`): a user id, or a guest id for a guest.
    /// Bedrud always sends it; empty if a delivery leaves it out.
    pub user_id: String,
}

impl ParticipantData {
    /// The wire names of the fields this type models.
    pub(crate) const FIELDS: &'static [&'static str] = &[ROOM_ID, ROOM_NAME, USER_ID];

    /// Participant data with every field set.
    #[must_use]
    pub fn new(
        room_id: impl Into<String>,
        room_name: impl Into<String>,
        user_id: impl Into<String>,
    ) -> Self {
        Self {
            room_id: room_id.into(),
            room_name: room_name.into(),
            user_id: user_id.into(),
        }
    }

    /// A realistic participant: a second user joining the
    /// [`RoomData::sample`] room.
    #[must_use]
    pub fn sample() -> Self {
        Self::new(SAMPLE_ROOM_ID, SAMPLE_ROOM_NAME, SAMPLE_GUEST_ID)
    }

    /// Replaces [`room_id`](Self::room_id).
    #[must_use]
    pub fn with_room_id(mut self, room_id: impl Into<String>) -> Self {
        self.room_id = room_id.into();
        self
    }

    /// Replaces [`room_name`](Self::room_name).
    #[must_use]
    pub fn with_room_name(mut self, room_name: impl Into<String>) -> Self {
        self.room_name = room_name.into();
        self
    }

    /// Replaces [`user_id`](Self::user_id).
    #[must_use]
    pub fn with_user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = user_id.into();
        self
    }

    pub(crate) fn from_members(m: &Members<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            room_id: m.string(ROOM_ID)?.unwrap_or_default(),
            room_name: m.string(ROOM_NAME)?.unwrap_or_default(),
            user_id: m.string(USER_ID)?.unwrap_or_default(),
        })
    }

    pub(crate) fn to_map(&self) -> Map<String, Value> {
        Map::from_iter([
            (ROOM_ID.to_owned(), text(&self.room_id)),
            (ROOM_NAME.to_owned(), text(&self.room_name)),
            (USER_ID.to_owned(), text(&self.user_id)),
        ])
    }
}

/// The `data` of `recording.completed`.
///
/// On the wire: `{"durationMs":…,"fileSizeBytes":…,"fileURL":…,
/// "recordingId":…,"roomId":…,"roomName":…,"status":…}`. Despite the event's
/// name, `status` can be anything from `pending` to `failed`; check it before
/// fetching the file.
///
/// The two integers travel through Bedrud's float64 round trip: they are
/// exact up to 2^53 and rounded to a float64 beyond, so a value just under
/// 2^64 arrives as 2^64 (`18446744073709552000`) and cannot be read. Any JSON
/// number that is exactly a non-negative integer below 2^64 is accepted, in
/// whatever notation (`3`, `3.0`, `1e+19`) another sender might use; a
/// fraction, a negative number or 2^64 and above is a wrong-type error.
///
/// ```
/// use bedrud_webhook_types::{RecordingData, RecordingStatus};
///
/// let done = RecordingData::new("rec1", "r1", "weekly-sync")
///     .with_file_url("https://files.example.com/rec1.mp4")
///     .with_file_size_bytes(1_048_576)
///     .with_duration_ms(60_000)
///     .with_status(RecordingStatus::Completed);
/// assert_eq!(done.status, Some(RecordingStatus::Completed));
/// let json = serde_json::to_value(&done)?;
/// assert_eq!(json["fileURL"], "https://files.example.com/rec1.mp4");
/// assert_eq!(json["fileSizeBytes"], 1_048_576);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RecordingData {
    /// The recording's id (`recordingId`). Bedrud always sends it; empty if a
    /// delivery leaves it out.
    pub recording_id: String,
    /// The recorded room's id (`roomId`). Bedrud always sends it; empty if a
    /// delivery leaves it out.
    pub room_id: String,
    /// The recorded room's name (`roomName`). Bedrud always sends it; empty if
    /// a delivery leaves it out.
    pub room_name: String,
    /// Where to fetch the file (`fileURL`, with that capitalisation). `None`
    /// when absent or `null`; Bedrud may send `""` when there is no file yet,
    /// which is kept as `Some("")`.
    pub file_url: Option<String>,
    /// The file's size in bytes (`fileSizeBytes`). `None` when absent or
    /// `null`; may be `Some(0)` when there is no file.
    pub file_size_bytes: Option<u64>,
    /// The recording's length in milliseconds (`durationMs`). `None` when
    /// absent or `null`; may be `Some(0)` when unknown.
    pub duration_ms: Option<u64>,
    /// The recording's state (`status`). `None` when absent or `null`; a
    /// status this crate does not know is [`RecordingStatus::Unknown`].
    pub status: Option<RecordingStatus>,
}

impl RecordingData {
    /// The wire names of the fields this type models.
    pub(crate) const FIELDS: &'static [&'static str] = &[
        RECORDING_ID,
        ROOM_ID,
        ROOM_NAME,
        FILE_URL,
        FILE_SIZE_BYTES,
        DURATION_MS,
        STATUS,
    ];

    /// Recording data with the identifiers set and every optional field
    /// `None`; add those with the `with_*` methods.
    #[must_use]
    pub fn new(
        recording_id: impl Into<String>,
        room_id: impl Into<String>,
        room_name: impl Into<String>,
    ) -> Self {
        Self {
            recording_id: recording_id.into(),
            room_id: room_id.into(),
            room_name: room_name.into(),
            file_url: None,
            file_size_bytes: None,
            duration_ms: None,
            status: None,
        }
    }

    /// A realistic completed recording of the [`RoomData::sample`] room:
    /// every field set, status `completed`.
    #[must_use]
    pub fn sample() -> Self {
        Self::new(SAMPLE_RECORDING_ID, SAMPLE_ROOM_ID, SAMPLE_ROOM_NAME)
            .with_file_url(format!(
                "https://bedrud.example.com/recordings/{SAMPLE_RECORDING_ID}.mp4"
            ))
            .with_file_size_bytes(734_003_200)
            .with_duration_ms(3_541_000)
            .with_status(RecordingStatus::Completed)
    }

    /// Replaces [`recording_id`](Self::recording_id).
    #[must_use]
    pub fn with_recording_id(mut self, recording_id: impl Into<String>) -> Self {
        self.recording_id = recording_id.into();
        self
    }

    /// Replaces [`room_id`](Self::room_id).
    #[must_use]
    pub fn with_room_id(mut self, room_id: impl Into<String>) -> Self {
        self.room_id = room_id.into();
        self
    }

    /// Replaces [`room_name`](Self::room_name).
    #[must_use]
    pub fn with_room_name(mut self, room_name: impl Into<String>) -> Self {
        self.room_name = room_name.into();
        self
    }

    /// Sets [`file_url`](Self::file_url).
    #[must_use]
    pub fn with_file_url(mut self, file_url: impl Into<String>) -> Self {
        self.file_url = Some(file_url.into());
        self
    }

    /// Sets [`file_size_bytes`](Self::file_size_bytes).
    #[must_use]
    pub fn with_file_size_bytes(mut self, file_size_bytes: u64) -> Self {
        self.file_size_bytes = Some(file_size_bytes);
        self
    }

    /// Sets [`duration_ms`](Self::duration_ms).
    #[must_use]
    pub fn with_duration_ms(mut self, duration_ms: u64) -> Self {
        self.duration_ms = Some(duration_ms);
        self
    }

    /// Sets [`status`](Self::status); accepts a [`RecordingStatus`] or its
    /// wire string.
    #[must_use]
    pub fn with_status(mut self, status: impl Into<RecordingStatus>) -> Self {
        self.status = Some(status.into());
        self
    }

    pub(crate) fn from_members(m: &Members<'_>) -> Result<Self, FieldError> {
        Ok(Self {
            recording_id: m.string(RECORDING_ID)?.unwrap_or_default(),
            room_id: m.string(ROOM_ID)?.unwrap_or_default(),
            room_name: m.string(ROOM_NAME)?.unwrap_or_default(),
            file_url: m.string(FILE_URL)?,
            file_size_bytes: m.unsigned(FILE_SIZE_BYTES)?,
            duration_ms: m.unsigned(DURATION_MS)?,
            // Borrowed: only a status this crate does not know is copied.
            status: m.str(STATUS)?.map(RecordingStatus::from),
        })
    }

    /// The optional fields that are `None` are left out, as a sender that
    /// never set them would.
    pub(crate) fn to_map(&self) -> Map<String, Value> {
        let mut map = Map::from_iter([
            (RECORDING_ID.to_owned(), text(&self.recording_id)),
            (ROOM_ID.to_owned(), text(&self.room_id)),
            (ROOM_NAME.to_owned(), text(&self.room_name)),
        ]);
        if let Some(url) = &self.file_url {
            map.insert(FILE_URL.to_owned(), text(url));
        }
        if let Some(size) = self.file_size_bytes {
            map.insert(FILE_SIZE_BYTES.to_owned(), Value::from(size));
        }
        if let Some(ms) = self.duration_ms {
            map.insert(DURATION_MS.to_owned(), Value::from(ms));
        }
        if let Some(status) = &self.status {
            map.insert(STATUS.to_owned(), text(status.as_str()));
        }
        map
    }
}

/// Serialises and deserialises with the same rules as an envelope's `data`:
/// wire names, lenient integers, errors naming the field.
macro_rules! serde_via_members {
    ($($ty:ty),+) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.to_map().serialize(serializer)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let members = Members::deserialize(deserializer)?;
                Self::from_members(&members).map_err(serde::de::Error::custom)
            }
        }
    )+};
}

serde_via_members!(RoomData, ParticipantData, RecordingData);

#[cfg(test)]
mod tests {
    use super::*;

    fn members(json: &str) -> Members<'_> {
        Members::from_json(json).unwrap()
    }

    #[test]
    fn serialised_keys_are_exactly_the_modelled_fields() {
        fn keys(value: &impl Serialize) -> Vec<String> {
            match serde_json::to_value(value).unwrap() {
                Value::Object(map) => map.keys().cloned().collect(),
                other => panic!("not an object: {other}"),
            }
        }
        fn sorted(fields: &[&str]) -> Vec<String> {
            let mut v: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
            v.sort();
            v
        }
        assert_eq!(keys(&RoomData::sample()), sorted(RoomData::FIELDS));
        assert_eq!(
            keys(&ParticipantData::sample()),
            sorted(ParticipantData::FIELDS)
        );
        assert_eq!(
            keys(&RecordingData::sample()),
            sorted(RecordingData::FIELDS)
        );
        assert_eq!(
            keys(&RecordingData::new("a", "b", "c")),
            sorted(&[RECORDING_ID, ROOM_ID, ROOM_NAME])
        );
    }

    #[test]
    fn serde_round_trips_the_samples() {
        let room = RoomData::sample();
        assert_eq!(
            serde_json::from_value::<RoomData>(serde_json::to_value(&room).unwrap()).unwrap(),
            room
        );
        let who = ParticipantData::sample();
        assert_eq!(
            serde_json::from_value::<ParticipantData>(serde_json::to_value(&who).unwrap()).unwrap(),
            who
        );
        let rec = RecordingData::sample();
        assert_eq!(
            serde_json::from_str::<RecordingData>(&serde_json::to_string(&rec).unwrap()).unwrap(),
            rec
        );
    }

    #[test]
    fn recording_reads_every_field_from_bedrud_names() {
        let rec = RecordingData::from_members(&members(
            r#"{"durationMs":3541000,"fileSizeBytes":734003200,"fileURL":"https://x/y.mp4","recordingId":"rec","roomId":"r","roomName":"n","status":"failed"}"#,
        ))
        .unwrap();
        assert_eq!(
            rec,
            RecordingData::new("rec", "r", "n")
                .with_file_url("https://x/y.mp4")
                .with_file_size_bytes(734_003_200)
                .with_duration_ms(3_541_000)
                .with_status(RecordingStatus::Failed)
        );
    }

    #[test]
    fn missing_and_null_fields_read_as_empty_or_none() {
        let rec =
            RecordingData::from_members(&members(r#"{"fileURL":null,"roomId":null}"#)).unwrap();
        assert_eq!(rec, RecordingData::new("", "", ""));
        let room = RoomData::from_members(&members("{}")).unwrap();
        assert_eq!(room, RoomData::new("", "", ""));
    }

    #[test]
    fn empty_values_are_kept_as_sent() {
        let rec = RecordingData::from_members(&members(
            r#"{"fileURL":"","fileSizeBytes":0,"durationMs":0,"status":""}"#,
        ))
        .unwrap();
        assert_eq!(rec.file_url.as_deref(), Some(""));
        assert_eq!(rec.file_size_bytes, Some(0));
        assert_eq!(rec.duration_ms, Some(0));
        assert_eq!(rec.status, Some(RecordingStatus::Unknown(String::new())));
    }

    #[test]
    fn the_wrong_spelling_of_file_url_is_not_read() {
        // Bedrud writes `fileURL`; a camelCase `fileUrl` is some other field.
        let rec = RecordingData::from_members(&members(r#"{"fileUrl":"x"}"#)).unwrap();
        assert_eq!(rec.file_url, None);
    }

    #[test]
    fn serde_errors_name_the_field() {
        let err = serde_json::from_str::<RecordingData>(r#"{"durationMs":"long"}"#).unwrap_err();
        assert!(err.to_string().contains("\"durationMs\""), "{err}");
        let err = serde_json::from_str::<RoomData>(r#"{"userId":7}"#).unwrap_err();
        assert!(
            err.to_string()
                .contains("\"userId\" must be a string, found a number"),
            "{err}"
        );
        assert!(serde_json::from_str::<ParticipantData>("[]").is_err());
    }

    #[test]
    fn builders_set_each_field() {
        let room = RoomData::new("a", "b", "c")
            .with_room_id("1")
            .with_room_name("2")
            .with_user_id("3");
        assert_eq!(room, RoomData::new("1", "2", "3"));
        let who = ParticipantData::new("a", "b", "c")
            .with_room_id("1")
            .with_room_name("2")
            .with_user_id("3");
        assert_eq!(who, ParticipantData::new("1", "2", "3"));
        let rec = RecordingData::new("a", "b", "c")
            .with_recording_id("1")
            .with_room_id("2")
            .with_room_name("3")
            .with_status("archived");
        assert_eq!(
            (
                rec.recording_id.as_str(),
                rec.room_id.as_str(),
                rec.room_name.as_str()
            ),
            ("1", "2", "3")
        );
        assert_eq!(
            rec.status,
            Some(RecordingStatus::Unknown("archived".to_owned()))
        );
    }

    #[test]
    fn samples_describe_one_meeting() {
        let room = RoomData::sample();
        let who = ParticipantData::sample();
        let rec = RecordingData::sample();
        assert_eq!((&who.room_id, &rec.room_id), (&room.room_id, &room.room_id));
        assert_ne!(who.user_id, room.user_id);
        assert!(
            rec.file_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
        );
        assert_eq!(rec.status, Some(RecordingStatus::Completed));
    }
}
