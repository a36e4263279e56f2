#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
pub mod headers;
mod secret;
mod verifier;

pub use bedrud_webhook_types::{Envelope, ParseError, RawEnvelope, Timestamp};
pub use error::Error;
pub use secret::{Secret, sign};
pub use verifier::{
    DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, DEFAULT_TOLERANCE, Verified, Verifier,
    VerifierBuilder,
};
