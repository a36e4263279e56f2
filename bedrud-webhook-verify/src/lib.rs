#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
pub mod headers;
mod secret;
mod signature;
mod verifier;

pub use bedrud_webhook_types::{RawEnvelope, Timestamp};
pub use error::Error;
pub use headers::DeliveryHeaders;
pub use secret::{Secret, SecretError};
pub use signature::{SIGNATURE_PREFIX, SignatureFormatError, sign};
pub use verifier::{
    DEFAULT_BODY_LIMIT, DEFAULT_TOLERANCE, VerifiedDelivery, Verifier, VerifierBuilder,
};
