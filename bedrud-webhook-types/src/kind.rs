//! The names of the events this crate knows.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The kind of a known Bedrud event: the `event` field of an envelope.
///
/// Bedrud will add events; [`Event::Unknown`](crate::Event::Unknown) carries
/// those, so this enum is `#[non_exhaustive]` and grows as the SDK learns
/// them. On the wire (and through serde) a kind is its name, such as
/// `room.created`.
///
/// ```
/// use bedrud_webhook_types::EventKind;
///
/// let kind: EventKind = "participant.joined".parse()?;
/// assert_eq!(kind, EventKind::ParticipantJoined);
/// assert_eq!(kind.to_string(), "participant.joined");
/// assert!("room.paused".parse::<EventKind>().is_err());
/// assert_eq!(EventKind::ALL.len(), 6);
/// # Ok::<(), bedrud_webhook_types::UnknownEventKind>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// `room.created`: a room was created.
    RoomCreated,
    /// `room.ended`: a room was closed.
    RoomEnded,
    /// `participant.joined`: a user or guest joined a room.
    ParticipantJoined,
    /// `participant.left`: a user or guest left a room. Named in Bedrud's
    /// guide but not emitted by the server yet.
    ParticipantLeft,
    /// `recording.completed`: a recording finished (or failed) processing.
    RecordingCompleted,
    /// `ping`: the admin pressed the **Test** button.
    Ping,
}

impl EventKind {
    /// Every known kind, in the order of Bedrud's documentation.
    pub const ALL: [EventKind; 6] = [
        EventKind::RoomCreated,
        EventKind::RoomEnded,
        EventKind::ParticipantJoined,
        EventKind::ParticipantLeft,
        EventKind::RecordingCompleted,
        EventKind::Ping,
    ];

    /// The event's name on the wire, such as `room.created`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::RoomCreated => "room.created",
            EventKind::RoomEnded => "room.ended",
            EventKind::ParticipantJoined => "participant.joined",
            EventKind::ParticipantLeft => "participant.left",
            EventKind::RecordingCompleted => "recording.completed",
            EventKind::Ping => "ping",
        }
    }
}

/// A name that is not one of [`EventKind::ALL`].
///
/// It deliberately does not repeat the name: the name comes from a request
/// body, and errors end up in logs and responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a known Bedrud event name (room.created, room.ended, participant.joined, \
     participant.left, recording.completed, ping)"
)]
pub struct UnknownEventKind(());

impl FromStr for EventKind {
    type Err = UnknownEventKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or(UnknownEventKind(()))
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KindVisitor;

        impl serde::de::Visitor<'_> for KindVisitor {
            type Value = EventKind;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Bedrud event name")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<EventKind, E> {
                v.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(KindVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str_display_and_serde() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>().unwrap(), kind);
            assert_eq!(kind.to_string(), kind.as_str());
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<EventKind>(&json).unwrap(), kind);
        }
    }

    #[test]
    fn names_are_distinct() {
        let mut names: Vec<_> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventKind::ALL.len());
    }

    #[test]
    fn unknown_names_are_rejected_without_echoing_them() {
        for name in ["", "Room.Created", "room.created ", "room", "secret-token"] {
            let err = name.parse::<EventKind>().unwrap_err();
            assert!(!err.to_string().contains("secret"), "{err}");
        }
        let err = serde_json::from_str::<EventKind>("\"secret-token\"").unwrap_err();
        assert!(!err.to_string().contains("secret-token"), "{err}");
        assert!(serde_json::from_str::<EventKind>("1").is_err());
    }
}
