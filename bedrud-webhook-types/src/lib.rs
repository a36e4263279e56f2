#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod data;
mod envelope;
mod error;
mod event;
mod kind;
mod timestamp;

pub use data::{RecordingData, RecordingStatus, RoomData};
pub use envelope::{Envelope, RawEnvelope};
pub use error::ParseError;
pub use event::Event;
pub use kind::EventKind;
pub use timestamp::Timestamp;

/// Re-exported so that [`Event::Unknown`]'s data can be named without a
/// direct `serde_json` dependency.
pub use serde_json::value::RawValue;
