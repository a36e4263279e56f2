use std::fmt;

/// The events this crate knows by name.
///
/// ```
/// use bedrud_webhook_types::EventKind;
///
/// assert_eq!(EventKind::from_name("room.ended"), Some(EventKind::RoomEnded));
/// assert_eq!(EventKind::RoomEnded.as_str(), "room.ended");
/// assert_eq!(EventKind::from_name("room.paused"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// `room.created`
    RoomCreated,
    /// `room.ended`
    RoomEnded,
    /// `participant.joined`
    ParticipantJoined,
    /// `participant.left`
    ParticipantLeft,
    /// `recording.completed`
    RecordingCompleted,
    /// `ping`: the admin page's **Test** button.
    Ping,
}

impl EventKind {
    /// Every kind, in the order of Bedrud's admin guide.
    pub const ALL: [EventKind; 6] = [
        EventKind::RoomCreated,
        EventKind::RoomEnded,
        EventKind::ParticipantJoined,
        EventKind::ParticipantLeft,
        EventKind::RecordingCompleted,
        EventKind::Ping,
    ];

    /// The event's wire name, such as `room.ended`.
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

    /// The kind with this wire name; `None` for a name this crate does not know.
    #[must_use]
    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
