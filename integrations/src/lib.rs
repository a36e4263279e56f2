//! Receive Bedrud webhooks (in progress: the crate docs come with the integrations).
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use bedrud_webhook_types as types;
pub use bedrud_webhook_verify as verify;

#[cfg(feature = "sender")]
#[cfg_attr(docsrs, doc(cfg(feature = "sender")))]
pub mod sender;
