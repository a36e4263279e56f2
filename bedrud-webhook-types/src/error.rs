//! Why a body is not a usable Bedrud envelope.

use crate::fields::{FieldError, Problem};
use crate::kind::EventKind;
use crate::raw::RawEnvelopeError;
use crate::timestamp::TimestampError;

/// Why [`Envelope::from_slice`](crate::Envelope::from_slice) or
/// [`Event::from_parts`](crate::Event::from_parts) refused a body.
///
/// Each variant names what was wrong, precisely enough to fix a sender, but
/// never repeats text from the body: errors end up in logs and responses, and
/// the body may not even be authenticated yet.
///
/// ```
/// use bedrud_webhook_types::{Envelope, EventKind, ParseError};
///
/// let body = br#"{"data":{"durationMs":"1h"},"event":"recording.completed","timestamp":"2026-04-01T12:34:56Z"}"#;
/// let err = Envelope::from_slice(body).unwrap_err();
/// assert_eq!(
///     err,
///     ParseError::InvalidField {
///         event: EventKind::RecordingCompleted,
///         field: "durationMs",
///         expected: "a non-negative integer below 2^64",
///         found: "a string",
///     }
/// );
/// assert_eq!(
///     err.to_string(),
///     "recording.completed data field \"durationMs\" must be a non-negative integer below 2^64, found a string"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The body is not valid JSON, or not a JSON object.
    #[error("body is not a JSON object")]
    NotJsonObject,
    /// The body has no `event` field.
    #[error("body has no \"event\" field")]
    MissingEvent,
    /// The body has no `timestamp` field.
    #[error("body has no \"timestamp\" field")]
    MissingTimestamp,
    /// `event` or `timestamp` is not a string, or `event`, `timestamp` or
    /// `data` appears twice.
    #[error(
        "body's \"event\", \"timestamp\" or \"data\" field has the wrong type or appears twice"
    )]
    InvalidEnvelopeField,
    /// `timestamp` is a string but not an RFC 3339 date-time.
    #[error("body's \"timestamp\" is not an RFC 3339 date-time such as 2026-04-01T12:34:56Z")]
    InvalidTimestamp,
    /// `data` is present but neither an object nor `null`.
    #[error("\"data\" of {} is not a JSON object", .event.map_or("an unknown event", EventKind::as_str))]
    DataNotObject {
        /// The event whose `data` it is; `None` for an event this crate does
        /// not know.
        event: Option<EventKind>,
    },
    /// A field of a known event's `data` has the wrong JSON type, or a value
    /// its type cannot hold.
    #[error("{event} data field \"{field}\" must be {expected}, found {found}")]
    InvalidField {
        /// The event whose `data` it is.
        event: EventKind,
        /// The field's wire name, such as `fileSizeBytes`.
        field: &'static str,
        /// What the field must be, such as `a string`.
        expected: &'static str,
        /// What it was, such as `a number` or `a negative number`.
        found: &'static str,
    },
    /// A field of a known event's `data` appears more than once.
    #[error("{event} data field \"{field}\" appears more than once")]
    DuplicateField {
        /// The event whose `data` it is.
        event: EventKind,
        /// The field's wire name.
        field: &'static str,
    },
}

impl ParseError {
    pub(crate) fn in_event(event: EventKind, e: FieldError) -> Self {
        match e.problem {
            Problem::WrongType { expected, found } => ParseError::InvalidField {
                event,
                field: e.field,
                expected,
                found,
            },
            Problem::Duplicate => ParseError::DuplicateField {
                event,
                field: e.field,
            },
        }
    }
}

impl From<RawEnvelopeError> for ParseError {
    fn from(e: RawEnvelopeError) -> Self {
        match e {
            RawEnvelopeError::NotJsonObject => ParseError::NotJsonObject,
            RawEnvelopeError::MissingEvent => ParseError::MissingEvent,
            RawEnvelopeError::MissingTimestamp => ParseError::MissingTimestamp,
            RawEnvelopeError::InvalidField => ParseError::InvalidEnvelopeField,
        }
    }
}

impl From<TimestampError> for ParseError {
    fn from(_: TimestampError) -> Self {
        ParseError::InvalidTimestamp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_problem() {
        let cases = [
            (
                ParseError::DataNotObject { event: None },
                "\"data\" of an unknown event is not a JSON object",
            ),
            (
                ParseError::DataNotObject {
                    event: Some(EventKind::Ping),
                },
                "\"data\" of ping is not a JSON object",
            ),
            (
                ParseError::DuplicateField {
                    event: EventKind::RoomEnded,
                    field: "roomId",
                },
                "room.ended data field \"roomId\" appears more than once",
            ),
            (ParseError::MissingEvent, "body has no \"event\" field"),
        ];
        for (err, message) in cases {
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn field_errors_gain_their_event() {
        let e = FieldError {
            field: "userId",
            problem: Problem::WrongType {
                expected: "a string",
                found: "a boolean",
            },
        };
        assert_eq!(
            ParseError::in_event(EventKind::ParticipantLeft, e),
            ParseError::InvalidField {
                event: EventKind::ParticipantLeft,
                field: "userId",
                expected: "a string",
                found: "a boolean",
            }
        );
    }
}
