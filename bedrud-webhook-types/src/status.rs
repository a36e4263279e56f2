//! The `status` of a recording.

use std::convert::Infallible;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Where a recording is in its life, as `recording.completed` reports it.
///
/// A status this crate does not know yet parses as [`RecordingStatus::Unknown`]
/// holding the string as sent, so a new Bedrud status never fails a delivery.
/// Equality and hashing go by the wire string, so
/// `RecordingStatus::Unknown("failed".into()) == RecordingStatus::Failed`;
/// parsing never produces that `Unknown`.
///
/// ```
/// use bedrud_webhook_types::RecordingStatus;
///
/// let status: RecordingStatus = "completed".parse().unwrap();
/// assert_eq!(status, RecordingStatus::Completed);
/// let newer: RecordingStatus = "archived".parse().unwrap();
/// assert_eq!(newer, RecordingStatus::Unknown("archived".to_owned()));
/// assert_eq!(newer.as_str(), "archived");
/// ```
#[derive(Debug, Clone, Eq)]
#[non_exhaustive]
pub enum RecordingStatus {
    /// `pending`: queued, not started.
    Pending,
    /// `started`: recording is under way.
    Started,
    /// `processing`: recorded, the file is being prepared.
    Processing,
    /// `completed`: the file is ready at `fileURL`.
    Completed,
    /// `failed`: the recording or its processing failed.
    Failed,
    /// `deleting`: the recording is being removed.
    Deleting,
    /// Any other status, exactly as sent.
    Unknown(String),
}

impl RecordingStatus {
    /// The status as written on the wire, such as `completed`.
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

    fn known(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => RecordingStatus::Pending,
            "started" => RecordingStatus::Started,
            "processing" => RecordingStatus::Processing,
            "completed" => RecordingStatus::Completed,
            "failed" => RecordingStatus::Failed,
            "deleting" => RecordingStatus::Deleting,
            _ => return None,
        })
    }
}

impl PartialEq for RecordingStatus {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Hash for RecordingStatus {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl FromStr for RecordingStatus {
    type Err = Infallible;

    /// Never fails: an unrecognised status becomes [`RecordingStatus::Unknown`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::known(s).unwrap_or_else(|| RecordingStatus::Unknown(s.to_owned())))
    }
}

impl From<&str> for RecordingStatus {
    fn from(s: &str) -> Self {
        Self::known(s).unwrap_or_else(|| RecordingStatus::Unknown(s.to_owned()))
    }
}

impl From<String> for RecordingStatus {
    /// Reuses the string's allocation for [`RecordingStatus::Unknown`].
    fn from(s: String) -> Self {
        Self::known(&s).unwrap_or(RecordingStatus::Unknown(s))
    }
}

impl fmt::Display for RecordingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RecordingStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RecordingStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StatusVisitor;

        impl serde::de::Visitor<'_> for StatusVisitor {
            type Value = RecordingStatus;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a recording status string")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RecordingStatus, E> {
                Ok(RecordingStatus::from(v))
            }

            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<RecordingStatus, E> {
                Ok(RecordingStatus::from(v))
            }
        }

        deserializer.deserialize_str(StatusVisitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    const KNOWN: [(RecordingStatus, &str); 6] = [
        (RecordingStatus::Pending, "pending"),
        (RecordingStatus::Started, "started"),
        (RecordingStatus::Processing, "processing"),
        (RecordingStatus::Completed, "completed"),
        (RecordingStatus::Failed, "failed"),
        (RecordingStatus::Deleting, "deleting"),
    ];

    #[test]
    fn known_statuses_round_trip() {
        for (status, wire) in KNOWN {
            assert_eq!(status.as_str(), wire);
            assert_eq!(status.to_string(), wire);
            let parsed: RecordingStatus = wire.parse().unwrap();
            assert!(!matches!(parsed, RecordingStatus::Unknown(_)), "{wire}");
            assert_eq!(parsed, status);
            assert_eq!(RecordingStatus::from(wire.to_owned()), status);
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{wire}\""));
            assert_eq!(
                serde_json::from_str::<RecordingStatus>(&json).unwrap(),
                status
            );
        }
    }

    #[test]
    fn unknown_status_is_kept_verbatim() {
        for wire in ["archived", "", "Completed", "completed "] {
            let parsed: RecordingStatus = wire.parse().unwrap();
            assert_eq!(parsed, RecordingStatus::Unknown(wire.to_owned()));
            assert_eq!(parsed.as_str(), wire);
        }
        let escaped: RecordingStatus = serde_json::from_str(r#""arch\u0069ved""#).unwrap();
        assert_eq!(escaped.as_str(), "archived");
    }

    #[test]
    fn equality_and_hash_follow_the_wire_string() {
        let spelled = RecordingStatus::Unknown("failed".to_owned());
        assert_eq!(spelled, RecordingStatus::Failed);
        let set: HashSet<_> = [spelled, RecordingStatus::Failed].into_iter().collect();
        assert_eq!(set.len(), 1);
        assert_ne!(RecordingStatus::Pending, RecordingStatus::Started);
    }

    #[test]
    fn non_strings_are_rejected() {
        assert!(serde_json::from_str::<RecordingStatus>("3").is_err());
        assert!(serde_json::from_str::<RecordingStatus>("null").is_err());
    }
}
