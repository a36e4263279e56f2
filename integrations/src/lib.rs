#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use bedrud_webhook_types as types;
pub use bedrud_webhook_verify as verify;

pub use bedrud_webhook_types::{
    Envelope, Event, EventKind, ParseError, ParticipantData, RecordingData, RecordingStatus,
    RoomData, Timestamp, UnknownEvent,
};
pub use bedrud_webhook_verify::{DeliveryHeaders, Secret, Verifier, VerifierBuilder};

pub use extract::{VerifiedBody, Webhook};
pub use rejection::WebhookRejection;

#[cfg(any(feature = "axum", feature = "actix-web", feature = "tower"))]
mod body;
mod extract;
mod receive;
pub mod rejection;

#[cfg(feature = "axum")]
mod axum_extract;

#[cfg(feature = "actix-web")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
pub mod actix;

#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

#[cfg(feature = "sender")]
#[cfg_attr(docsrs, doc(cfg(feature = "sender")))]
pub mod sender;

#[cfg(all(
    test,
    any(
        feature = "axum",
        feature = "actix-web",
        feature = "tower",
        feature = "sender"
    )
))]
mod test_support;
