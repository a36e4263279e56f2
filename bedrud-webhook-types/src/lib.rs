#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod data;
pub mod encode;
mod envelope;
mod error;
mod event;
mod fields;
mod kind;
mod plain;
mod raw;
mod scan;
mod status;
mod timestamp;

pub use data::{ParticipantData, RecordingData, RoomData};
pub use envelope::Envelope;
pub use error::ParseError;
pub use event::{Event, UnknownEvent};
pub use kind::{EventKind, UnknownEventKind};
pub use raw::{RawEnvelope, RawEnvelopeError};
pub use status::RecordingStatus;
pub use timestamp::{Timestamp, TimestampError};

/// Hooks for the fuzz targets in `fuzz/`; not part of the API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::fields::members_fast_path_agrees;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_types_can_cross_threads() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Envelope>();
        assert_send_sync::<Event>();
        assert_send_sync::<ParseError>();
        assert_send_sync::<EventKind>();
        assert_send_sync::<UnknownEventKind>();
        assert_send_sync::<RecordingStatus>();
        assert_send_sync::<RawEnvelopeError>();
    }
}
