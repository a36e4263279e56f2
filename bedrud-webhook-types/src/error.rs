use crate::EventKind;

/// Why a body is not a usable Bedrud envelope.
///
/// Each message is fixed: it never repeats text from the body, which may not
/// even be authenticated yet when the error is logged.
///
/// ```
/// use bedrud_webhook_types::{Envelope, EventKind, ParseError};
///
/// let err = Envelope::from_slice(br#"{"event":"ping","data":{}}"#).unwrap_err();
/// assert_eq!(err, ParseError::MissingTimestamp);
/// assert_eq!(err.reason(), "missing_timestamp");
///
/// let body = br#"{"data":{"durationMs":"1h"},"event":"recording.completed","timestamp":"2026-04-01T12:34:56Z"}"#;
/// let err = Envelope::from_slice(body).unwrap_err();
/// assert_eq!(err, ParseError::InvalidData(Some(EventKind::RecordingCompleted)));
/// assert_eq!(err.to_string(), "the data of a recording.completed event does not have the fields and types that event needs");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The body is not valid UTF-8 JSON, or not a JSON object.
    #[error("the body is not a JSON object")]
    NotJsonObject,
    /// The body has no `event` field.
    #[error("the body has no \"event\" field")]
    MissingEvent,
    /// The body has no `timestamp` field.
    #[error("the body has no \"timestamp\" field")]
    MissingTimestamp,
    /// `event`, `timestamp` or `data` has the wrong JSON type or appears twice.
    #[error("the body's \"event\", \"timestamp\" or \"data\" has the wrong type or appears twice")]
    InvalidEnvelope,
    /// `timestamp` is not an RFC 3339 date-time such as `2026-04-01T12:34:56Z`.
    #[error("the body's \"timestamp\" is not an RFC 3339 date-time such as 2026-04-01T12:34:56Z")]
    InvalidTimestamp,
    /// `data` is not an object, or lacks a known event's fields or types
    /// (`None`: an event this crate does not know).
    #[error("the data of {} does not have the fields and types that event needs", match .0 {
        Some(kind) => format!("a {kind} event"),
        None => "an unknown event".to_owned(),
    })]
    InvalidData(Option<EventKind>),
}

impl ParseError {
    /// A short, stable name for logs and metrics, such as `missing_event`.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            ParseError::NotJsonObject => "not_json_object",
            ParseError::MissingEvent => "missing_event",
            ParseError::MissingTimestamp => "missing_timestamp",
            ParseError::InvalidEnvelope => "invalid_envelope",
            ParseError::InvalidTimestamp => "invalid_timestamp",
            ParseError::InvalidData(_) => "invalid_data",
        }
    }
}
