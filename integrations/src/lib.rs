// The README's programs use every framework, test deliveries, Redis and the
// SQLite queue, so it is the crate doc (and its doc-tests) when those are on,
// as on docs.rs and in CI.
#![cfg_attr(
    all(
        feature = "axum",
        feature = "actix-web",
        feature = "tower",
        feature = "delivery",
        feature = "redis",
        feature = "queue-sqlite"
    ),
    doc = include_str!("../README.md")
)]
//!
//! # Features
//!
//! Every feature is off by default; turn on the one for your framework.
//!
//! | feature | enables |
//! |---|---|
//! | `axum` | [`Webhook`] and [`VerifiedBody`] as axum extractors ([`Verifier`] from the state) |
//! | `actix-web` | [`Webhook`] and [`VerifiedBody`] as actix-web extractors ([`Verifier`] from `app_data`) |
//! | `tower` | `tower::VerifyWebhookLayer`, for hyper and any tower stack |
//! | `redis` | `replay::redis::RedisStore`: the replay guard shared by several replicas |
//! | `delivery` | the `delivery` module: genuinely signed requests for your tests, byte for byte what Bedrud sends; no network client |
//! | `queue-sqlite` | the `queue` module on SQLite: store each verified delivery, answer 202, process it in a worker with retries (apalis) |
//! | `queue-postgres` | the `queue` module on Postgres, for several replicas |
//! | `sender` | the `sender` module: posts deliveries over HTTP(S) as Bedrud does (hyper, rustls) |
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use bedrud_webhook_types::{
    Envelope, Event, EventKind, ParseError, RawValue, RecordingData, RecordingStatus, RoomData,
    Timestamp,
};
pub use bedrud_webhook_verify::{
    DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, DEFAULT_TOLERANCE, Error as VerifyError, Secret,
    Verified, Verifier, VerifierBuilder, headers, sign,
};
pub use extract::{VerifiedBody, Webhook};
pub use rejection::WebhookRejection;

mod extract;
mod rejection;

#[cfg(any(feature = "axum", feature = "actix-web", feature = "tower"))]
mod body;
#[cfg(any(feature = "axum", feature = "actix-web", feature = "tower"))]
mod log;
#[cfg(any(feature = "axum", feature = "actix-web", feature = "tower"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "axum", feature = "actix-web", feature = "tower")))
)]
pub mod replay;

#[cfg(feature = "axum")]
mod axum;

#[cfg(feature = "actix-web")]
mod actix;

#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

#[cfg(feature = "delivery")]
#[cfg_attr(docsrs, doc(cfg(feature = "delivery")))]
pub mod delivery;

#[cfg(feature = "sender")]
#[cfg_attr(docsrs, doc(cfg(feature = "sender")))]
pub mod sender;

#[cfg(any(feature = "queue-sqlite", feature = "queue-postgres"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "queue-sqlite", feature = "queue-postgres")))
)]
pub mod queue;
