//! The bodies and the plain serde_json derives that the typed parse is
//! measured against (`parse.rs`, `parse_allocations.rs`).

// Not every bench binary that includes this module times ratios.
#[allow(dead_code)]
pub(crate) mod interleave;

use bedrud_webhook_types::{Envelope, RawEnvelope, RecordingData, RoomData, Timestamp};
use serde::Deserialize;

/// (event, body): Bedrud's exact bytes for each measured kind.
pub(crate) const BODIES: [(&str, &str); 3] = [
    (
        "room.ended",
        r#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#,
    ),
    (
        "recording.completed",
        r#"{"data":{"durationMs":3541000,"fileSizeBytes":734003200,"fileURL":"https://files.example.com/recordings/9c1d2e3f.mp4","recordingId":"9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f","roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","status":"completed"},"event":"recording.completed","timestamp":"2026-04-01T12:34:56Z"}"#,
    ),
    (
        "ping",
        r#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#,
    ),
];

/// The room events' data, as an application would derive it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[allow(dead_code)]
pub(crate) struct RoomDataLike {
    room_id: String,
    room_name: String,
    user_id: String,
}

/// `recording.completed`'s data, as an application would derive it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[allow(dead_code)]
pub(crate) struct RecordingDataLike {
    recording_id: String,
    room_id: String,
    room_name: String,
    #[serde(rename = "fileURL")]
    file_url: Option<String>,
    file_size_bytes: Option<u64>,
    duration_ms: Option<u64>,
    status: Option<String>,
}

/// `ping`'s empty data.
#[derive(Debug, Deserialize)]
pub(crate) struct Empty {}

/// The envelope of one known event, as an application would derive it:
/// `data` of the event's type, `event` and `timestamp` as text.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub(crate) struct PlainEnvelope<D> {
    data: D,
    event: String,
    timestamp: String,
}

/// The same derive over this crate's own data and timestamp types.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
pub(crate) struct SameTypesEnvelope<D> {
    data: D,
    event: String,
    timestamp: Timestamp,
}

/// Parses `body` with both plain derives for `event`'s data type; `true`
/// when both succeed.
pub(crate) fn plain(event: &str, body: &[u8]) -> bool {
    match event {
        "room.ended" => serde_json::from_slice::<PlainEnvelope<RoomDataLike>>(body).is_ok(),
        "recording.completed" => {
            serde_json::from_slice::<PlainEnvelope<RecordingDataLike>>(body).is_ok()
        }
        _ => serde_json::from_slice::<PlainEnvelope<Empty>>(body).is_ok(),
    }
}

/// [`plain`] with this crate's `RoomData`, `RecordingData` and `Timestamp`.
pub(crate) fn same_types(event: &str, body: &[u8]) -> bool {
    match event {
        "room.ended" => serde_json::from_slice::<SameTypesEnvelope<RoomData>>(body).is_ok(),
        "recording.completed" => {
            serde_json::from_slice::<SameTypesEnvelope<RecordingData>>(body).is_ok()
        }
        _ => serde_json::from_slice::<SameTypesEnvelope<Empty>>(body).is_ok(),
    }
}

/// The typed parse under test.
pub(crate) fn ours(body: &[u8]) -> bool {
    Envelope::from_slice(body).is_ok()
}

/// The two serde steps of the typed parse and nothing else: the borrowed raw
/// envelope, then `data` into the event's type. What `ours` costs beyond
/// this is the crate's own work (the unique-key check of `data`, the event
/// dispatch).
pub(crate) fn two_serde_steps(event: &str, body: &[u8]) -> bool {
    let Ok(raw) = RawEnvelope::from_slice(body) else {
        return false;
    };
    let data = raw.data().map_or("{}", |d| d.get());
    match event {
        "room.ended" => serde_json::from_str::<RoomData>(data).is_ok(),
        "recording.completed" => serde_json::from_str::<RecordingData>(data).is_ok(),
        _ => true,
    }
}
