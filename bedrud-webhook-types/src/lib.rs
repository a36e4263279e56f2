#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod raw;
mod timestamp;

pub use raw::{RawEnvelope, RawEnvelopeError};
pub use timestamp::{Timestamp, TimestampError};
