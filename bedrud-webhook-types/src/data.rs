use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

/// The data of `room.created`, `room.ended`, `participant.joined` and
/// `participant.left`: a room, and the user who created it, closed it, or
/// joined or left it (a guest's id for guests).
///
/// A field Bedrud leaves out reads as `""`; fields this crate does not know
/// are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct RoomData {
    /// `roomId`
    pub room_id: String,
    /// `roomName`
    pub room_name: String,
    /// `userId`
    pub user_id: String,
}

impl RoomData {
    /// Room data with these fields.
    pub fn new(
        room_id: impl Into<String>,
        room_name: impl Into<String>,
        user_id: impl Into<String>,
    ) -> Self {
        RoomData {
            room_id: room_id.into(),
            room_name: room_name.into(),
            user_id: user_id.into(),
        }
    }
}

/// The data of `recording.completed`.
///
/// Bedrud writes its integers through a float64, so `fileSizeBytes` and
/// `durationMs` also read from `3.0` or `1e3`, as long as the value is a whole
/// number from 0 to 2^64.
///
/// ```
/// use bedrud_webhook_types::{RecordingData, RecordingStatus};
///
/// let rec: RecordingData = serde_json::from_str(r#"{"durationMs":6e4,"fileURL":"https://f/1.mp4","status":"completed"}"#)?;
/// assert_eq!(rec.duration_ms, Some(60_000));
/// assert_eq!(rec.file_url.as_deref(), Some("https://f/1.mp4"));
/// assert_eq!(rec.status, Some(RecordingStatus::Completed));
/// assert!(serde_json::from_str::<RecordingData>(r#"{"durationMs":1.5}"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct RecordingData {
    /// `recordingId`
    pub recording_id: String,
    /// `roomId`
    pub room_id: String,
    /// `roomName`
    pub room_name: String,
    /// `fileURL`: where to fetch the file; `None` when absent or `null`.
    #[serde(rename = "fileURL", skip_serializing_if = "Option::is_none")]
    pub file_url: Option<String>,
    /// `fileSizeBytes`; `None` when absent or `null`.
    #[serde(
        deserialize_with = "whole_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub file_size_bytes: Option<u64>,
    /// `durationMs`; `None` when absent or `null`.
    #[serde(
        deserialize_with = "whole_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration_ms: Option<u64>,
    /// `status`; `None` when absent or `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<RecordingStatus>,
}

impl RecordingData {
    /// Recording data with its ids and room name, and no file yet.
    pub fn new(
        recording_id: impl Into<String>,
        room_id: impl Into<String>,
        room_name: impl Into<String>,
    ) -> Self {
        RecordingData {
            recording_id: recording_id.into(),
            room_id: room_id.into(),
            room_name: room_name.into(),
            ..RecordingData::default()
        }
    }
}

/// Reads a non-negative whole number in any JSON notation (`3`, `3.0`, `1e3`).
fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    // 2^64 is exactly representable; every whole f64 below it fits a u64.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let whole = |f: f64| {
        (f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&f)).then_some(f as u64)
    };
    match number.as_u64().or_else(|| number.as_f64().and_then(whole)) {
        Some(n) => Ok(Some(n)),
        None => Err(de::Error::custom(
            "expected a non-negative whole number below 2^64",
        )),
    }
}

/// A recording's state; a state this crate does not know is kept as
/// [`Unknown`](RecordingStatus::Unknown).
///
/// ```
/// use bedrud_webhook_types::RecordingStatus;
///
/// let status: RecordingStatus = serde_json::from_str(r#""archived""#)?;
/// assert_eq!(status, RecordingStatus::Unknown("archived".into()));
/// assert_eq!(serde_json::to_string(&RecordingStatus::Failed)?, r#""failed""#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RecordingStatus {
    /// `pending`
    Pending,
    /// `started`
    Started,
    /// `processing`
    Processing,
    /// `completed`: the file is ready.
    Completed,
    /// `failed`
    Failed,
    /// `deleting`
    Deleting,
    /// A state this crate does not know, as sent.
    #[serde(untagged)]
    Unknown(String),
}

impl RecordingStatus {
    /// The wire value, such as `completed`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            RecordingStatus::Pending => "pending",
            RecordingStatus::Started => "started",
            RecordingStatus::Processing => "processing",
            RecordingStatus::Completed => "completed",
            RecordingStatus::Failed => "failed",
            RecordingStatus::Deleting => "deleting",
            RecordingStatus::Unknown(other) => other,
        }
    }
}

impl fmt::Display for RecordingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duration(json: &str) -> Result<Option<u64>, serde_json::Error> {
        serde_json::from_str::<RecordingData>(&format!(r#"{{"durationMs":{json}}}"#))
            .map(|r| r.duration_ms)
    }

    #[test]
    fn go_float_integers_read_as_whole_numbers() {
        assert_eq!(duration("3541000").unwrap(), Some(3_541_000));
        assert_eq!(duration("3.0").unwrap(), Some(3));
        assert_eq!(duration("1e3").unwrap(), Some(1000));
        assert_eq!(duration("1e+19").unwrap(), Some(10_000_000_000_000_000_000));
        assert_eq!(duration("null").unwrap(), None);
        for bad in [
            "1.5",
            "-1",
            "-1.0",
            "1.8446744073709552e19",
            "1e400",
            "\"3\"",
            "true",
        ] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_fields_default_and_unknown_fields_are_ignored() {
        let rec: RecordingData =
            serde_json::from_str(r#"{"recordingId":"r","new":{"x":1}}"#).unwrap();
        assert_eq!(rec, RecordingData::new("r", "", ""));
        let room: RoomData = serde_json::from_str(r#"{"roomId":"1","extra":[1,2]}"#).unwrap();
        assert_eq!(room, RoomData::new("1", "", ""));
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            "pending",
            "started",
            "processing",
            "completed",
            "failed",
            "deleting",
            "archived",
        ] {
            let status: RecordingStatus = serde_json::from_str(&format!("\"{s}\"")).unwrap();
            assert_eq!(status.as_str(), s);
            assert_eq!(serde_json::to_string(&status).unwrap(), format!("\"{s}\""));
        }
        let failed: RecordingStatus = serde_json::from_str("\"failed\"").unwrap();
        assert_eq!(failed, RecordingStatus::Failed);
        assert!(serde_json::from_str::<RecordingStatus>("3").is_err());
    }

    #[test]
    fn serializes_wire_names() {
        let mut rec = RecordingData::new("rec", "r1", "sync");
        rec.file_url = Some("u".into());
        rec.file_size_bytes = Some(5);
        let json = serde_json::to_string(&rec).unwrap();
        assert_eq!(
            json,
            r#"{"recordingId":"rec","roomId":"r1","roomName":"sync","fileURL":"u","fileSizeBytes":5}"#
        );
    }
}
