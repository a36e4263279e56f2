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
//! | `dashboard` | `queue::Queue::dashboard`: an axum router serving the deliveries dashboard (apalis-board's API and UI); with a queue engine |
//! | `sender` | the `sender` module: posts deliveries over HTTP(S) as Bedrud does (hyper, rustls) |
//!
//! # For maintainers: the map
//!
//! Every delivery takes one path: a framework adapter reads the body and
//! hands it to `check.rs`, which verifies it (`bedrud-webhook-verify`),
//! types its data (`bedrud-webhook-types`), consults the replay guard, and
//! logs every refusal. Nothing else verifies or logs.
//!
//! | file | what it holds | touch it to |
//! |---|---|---|
//! | `check.rs` | the one check, and the refusal log | change what every entry point does |
//! | `body.rs` | the body reader for `http_body` bodies, and the 413 drain | change the body bounds |
//! | `rejection.rs` | [`WebhookRejection`]: every status and reason | add a way to refuse |
//! | `axum.rs`, `actix.rs`, `tower.rs` | one adapter each: read the body, call the check, answer | add a framework (a new file like these) |
//! | `replay.rs`, `replay/` | the guard, its tower layer (`service.rs`) and stores (`memory.rs`, `redis.rs`) | add a replay store (implement [`replay::ReplayStore`]) |
//! | `queue/mod.rs` | the durable queue: push, worker, service; `sqlite.rs` and `postgres.rs` hold each engine's pool and SQL | add a queue engine (a file like those, an arm in `Engine`) |
//! | `delivery.rs`, `sender.rs` | the reference sender: Go-exact requests, and an HTTP(S) client | follow a change in Bedrud's wire format |
//! | `future.rs` | [`ResponseFuture`], the one boxed future of the tower services | |
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use bedrud_webhook_types::{
    Envelope, Event, EventKind, ParseError, RawValue, RecordingData, RecordingStatus, RoomData,
    Timestamp,
};
pub use bedrud_webhook_verify::{
    DEFAULT_BODY_LIMIT, DEFAULT_BODY_TIMEOUT, DEFAULT_TOLERANCE, Error as VerifyError, Secret,
    Verified, Verifier, VerifierBuilder, headers, sign,
};

/// A verified, typed delivery: an extractor for axum (`axum` feature) and
/// actix-web (`actix-web` feature).
///
/// The handler runs only for genuine deliveries; every other request was
/// answered with a [`WebhookRejection`] (401, 400, 405, 408 or 413). The
/// [`Verifier`] comes from axum's state (directly or through `FromRef`) or
/// from actix-web's `app_data`.
#[derive(Debug, Clone)]
pub struct Webhook(pub Envelope);

/// The exact verified body, its `data` left unparsed, and the tag that
/// identifies it: for "verify now, parse later" (an extractor like [`Webhook`]).
#[derive(Debug, Clone)]
pub struct VerifiedBody {
    /// The exact bytes Bedrud signed.
    pub body: Bytes,
    /// The HMAC tag that matched: the same for every copy of this delivery.
    pub tag: [u8; 32],
}
pub use rejection::WebhookRejection;

use bytes::Bytes;

mod rejection;

#[cfg(any(feature = "axum", feature = "actix-web", feature = "tower"))]
mod body;
#[cfg(any(feature = "axum", feature = "actix-web", feature = "tower"))]
mod check;
#[cfg(any(feature = "axum", feature = "tower"))]
mod future;
#[cfg(any(feature = "axum", feature = "tower"))]
pub use future::ResponseFuture;
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
