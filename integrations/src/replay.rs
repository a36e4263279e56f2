//! Replay protection: each genuine delivery reaches the handler once.
//!
//! A captured delivery stays genuine for as long as its timestamp is within
//! the tolerance, and Bedrud never retries, so a second arrival of the same
//! signed bytes is never Bedrud's. [`ReplayGuardLayer`] remembers the HMAC tag
//! of every delivery that passed the checks, for twice the tolerance:
//!
//! - first arrival: the tag is reserved atomically, the handler runs; if its
//!   answer is not 2xx (or it never answers), the tag is released, so that the
//!   same delivery can be sent again by hand and processed;
//! - a repeat while reserved or after success: the handler does not run; the
//!   answer is `200 OK` with the header [`DUPLICATE_HEADER`] (a 4xx would tell
//!   the sender that its secret is wrong), logged at INFO with reason `duplicate`;
//! - the store unreachable: `503`, the handler does not run (fail closed),
//!   unless [`ReplayGuardLayer::fail_open`] says to run it unchecked; a
//!   reservation the store applies late (a paused Redis) is taken back once
//!   it answers, so the delivery is handled when sent again.
//!
//! The layer wraps the route; the check inside it (the [`Webhook`](crate::Webhook)
//! and [`VerifiedBody`](crate::VerifiedBody) extractors,
//! [`VerifyWebhook`](crate::tower::VerifyWebhook), or the queue's service)
//! consults it once the signature is verified. A guarded route that answers
//! 2xx without such a check inside logs one WARN: the guard did nothing.
//! One line turns it on:
//!
//! | integration | line |
//! |---|---|
//! | axum | `.route_layer(ReplayGuardLayer::new(&verifier))` |
//! | actix-web | `.wrap(ReplayGuardLayer::new(&verifier))` on the `web::resource` |
//! | tower | `ServiceBuilder::new().layer(ReplayGuardLayer::new(&verifier)).layer(VerifyWebhookLayer::new(verifier))` |
//!
//! The store is in memory by default ([`MemoryStore`], one process), or Redis
//! for several replicas ([`RedisStore`](redis::RedisStore), feature `redis`),
//! or any [`ReplayStore`].
//!
//! With the timestamp check off
//! ([`disable_timestamp_check`](crate::VerifierBuilder::disable_timestamp_check)),
//! a delivery never expires, so no time bounds the guard: entries are kept
//! for [`UNCHECKED_TTL`], and the in-memory store's capacity is then the only
//! bound (a replay older than the last `capacity` deliveries gets through).

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::{Duration, Instant};

use crate::{Verifier, WebhookRejection};

mod memory;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
#[cfg(any(feature = "axum", feature = "tower"))]
mod service;

pub use memory::MemoryStore;

/// The response header that marks a duplicate's `200 OK`: `true`.
pub const DUPLICATE_HEADER: &str = "bedrud-webhook-duplicate";

/// How long a tag is kept when the verifier does not check timestamps.
pub const UNCHECKED_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Failed reservations being taken back at once, at most: past it (a long
/// outage under load), a failed one is left to expire with its TTL.
pub const MAX_RELEASES_PENDING: usize = 10_000;

/// What a [`ReplayStore`] returns: its error is logged, never sent to the client.
pub type StoreFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, Box<dyn Error + Send + Sync>>> + Send + 'a>>;

/// Where the guard keeps the tags it has seen: [`MemoryStore`],
/// [`RedisStore`](redis::RedisStore), or your own shared store.
///
/// `token` is unique to one reservation, across processes: `release` deletes
/// the key only while it still holds that token, so a slow first request can
/// never release a later one's reservation.
pub trait ReplayStore: fmt::Debug + Send + Sync + 'static {
    /// Stores `key` with `token` for `ttl` unless the key is held; `true`
    /// when this call stored it. Must be atomic across all the guard's users.
    fn reserve<'a>(&'a self, key: &'a [u8; 32], token: u64, ttl: Duration)
    -> StoreFuture<'a, bool>;

    /// Deletes `key` if it still holds `token`.
    fn release<'a>(&'a self, key: &'a [u8; 32], token: u64) -> StoreFuture<'a, ()>;
}

/// Turns the replay guard on for the routes it wraps; see the
/// [module documentation](self).
#[derive(Debug, Clone)]
pub struct ReplayGuardLayer {
    store: Arc<dyn ReplayStore>,
    ttl: Duration,
    fail_open: bool,
}

impl ReplayGuardLayer {
    /// A guard in memory ([`MemoryStore::default`]) that keeps tags for twice
    /// `verifier`'s tolerance (or [`UNCHECKED_TTL`] without one).
    #[must_use]
    pub fn new(verifier: &Verifier) -> Self {
        let ttl = verifier.tolerance().map_or(UNCHECKED_TTL, |t| t * 2);
        ReplayGuardLayer {
            store: Arc::new(MemoryStore::default()),
            ttl,
            fail_open: false,
        }
    }

    /// Keeps the tags in `store` instead.
    #[must_use]
    pub fn store(mut self, store: impl ReplayStore) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// Runs the handler unchecked (logged at WARN) when the store fails,
    /// instead of answering 503.
    #[must_use]
    pub fn fail_open(mut self) -> Self {
        self.fail_open = true;
        self
    }

    /// Releases a reservation whose store call failed, once the store
    /// answers: retried with backoff for as long as the tag would be kept,
    /// at most [`MAX_RELEASES_PENDING`] at a time.
    fn release_later(&self, tag: [u8; 32], token: u64) {
        static PENDING: AtomicUsize = AtomicUsize::new(0);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if PENDING.fetch_add(1, Ordering::Relaxed) >= MAX_RELEASES_PENDING {
            PENDING.fetch_sub(1, Ordering::Relaxed);
            tracing::warn!("too many failed reservations to take back; one is left to expire");
            return;
        }
        let (store, give_up) = (Arc::clone(&self.store), Instant::now() + self.ttl);
        runtime.spawn(async move {
            let mut wait = Duration::from_millis(250);
            loop {
                tokio::time::sleep(wait).await;
                match store.release(&tag, token).await {
                    Ok(()) => break,
                    Err(_) if Instant::now() + wait < give_up => {
                        wait = (wait * 2).min(Duration::from_secs(30));
                    }
                    Err(error) => {
                        tracing::warn!(%error, "gave up taking back a failed reservation");
                        break;
                    }
                }
            }
            PENDING.fetch_sub(1, Ordering::Relaxed);
        });
    }

    /// A check for one request, to put in its extensions, and the layer's
    /// handle on it.
    pub(crate) fn check(&self) -> (ReplayCheck, Pending) {
        let check = ReplayCheck {
            guard: self.clone(),
            held: Arc::default(),
        };
        (check.clone(), Pending(Some(check)))
    }
}

/// Guards `S` against replays: a tower `Service` (features `axum`, `tower`)
/// and an actix-web middleware; see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct ReplayGuard<S> {
    pub(crate) inner: S,
    pub(crate) layer: ReplayGuardLayer,
}

/// The guard's part of one request: put in the request's extensions by the
/// layer, filled by the extractor once the signature is verified, finished by
/// the layer with the handler's status.
#[derive(Clone)]
pub(crate) struct ReplayCheck {
    guard: ReplayGuardLayer,
    /// Whether the check consulted it, and the reservation made.
    held: Arc<(AtomicBool, OnceLock<Reservation>)>,
}

/// A reservation: the tag, and the token that holds it.
type Reservation = ([u8; 32], u64);

impl ReplayCheck {
    /// Reserves `tag`: `Ok` lets the handler run.
    pub(crate) async fn admit(&self, tag: [u8; 32]) -> Result<(), WebhookRejection> {
        self.held.0.store(true, Ordering::Relaxed);
        let token = token();
        let guard = &self.guard;
        match guard.store.reserve(&tag, token, guard.ttl).await {
            Ok(true) => {
                let _ = self.held.1.set((tag, token));
                Ok(())
            }
            Ok(false) => Err(WebhookRejection::Duplicate),
            Err(error) => {
                // The store may still apply the reservation once it answers
                // again (a paused Redis runs the queued SET): taken back then,
                // or a delivery answered 503 would be a "duplicate" when resent.
                guard.release_later(tag, token);
                if guard.fail_open {
                    tracing::warn!(%error, "replay store failed; running the handler unchecked");
                    Ok(())
                } else {
                    tracing::warn!(%error, "replay store failed");
                    Err(WebhookRejection::ReplayStoreUnavailable)
                }
            }
        }
    }

    /// Releases the reservation this check made, if any.
    async fn release(self) {
        if let Some((tag, token)) = self.held.1.get() {
            let released = self.guard.store.release(tag, *token).await;
            if let Err(error) = released {
                tracing::warn!(%error, "replay store failed to release a delivery");
            }
        }
    }
}

/// The layer's handle on a request's check: finished with the handler's
/// answer, or, dropped before one (the client went away), released from a task.
pub(crate) struct Pending(Option<ReplayCheck>);

impl Pending {
    /// A reservation whose handler did not answer 2xx is released, so that
    /// the delivery can be sent again and processed.
    pub(crate) async fn finish(mut self, success: bool) {
        let Some(check) = self.0.take() else { return };
        if !success {
            check.release().await;
        } else if !check.held.0.load(Ordering::Relaxed) {
            static WARNED: AtomicBool = AtomicBool::new(false);
            if !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "a replay guard wraps a route that answered 2xx without verifying a \
                     delivery inside it, so the guard did nothing; put it around the route \
                     whose handler takes Webhook or VerifiedBody, or around VerifyWebhook \
                     or the queue's service (logged once)"
                );
            }
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(check) = self.0.take().filter(|c| c.held.1.get().is_some())
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(check.release());
        }
    }
}

/// A token unique to one reservation: random per process (32 bits), then
/// counted (32 bits).
fn token() -> u64 {
    static PROCESS: LazyLock<u64> = LazyLock::new(|| RandomState::new().hash_one(0u8) << 32);
    static COUNT: AtomicU32 = AtomicU32::new(0);
    *PROCESS ^ u64::from(COUNT.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn layer() -> ReplayGuardLayer {
        let verifier = Verifier::builder(crate::Secret::new("s").unwrap())
            .tolerance(Duration::from_secs(60))
            .build();
        ReplayGuardLayer::new(&verifier)
    }

    #[test]
    fn the_ttl_is_twice_the_tolerance_and_a_day_without_one() {
        assert_eq!(layer().ttl, Duration::from_secs(120));
        let unchecked = Verifier::builder(crate::Secret::new("s").unwrap())
            .disable_timestamp_check()
            .build();
        assert_eq!(ReplayGuardLayer::new(&unchecked).ttl, UNCHECKED_TTL);
    }

    #[tokio::test]
    async fn a_failed_answer_releases_and_a_success_keeps() {
        let guard = layer();
        let tag = [7; 32];
        let (first, first_done) = guard.check();
        first.admit(tag).await.unwrap();
        let (second, second_done) = guard.check();
        assert!(matches!(
            second.admit(tag).await,
            Err(WebhookRejection::Duplicate)
        ));
        second_done.finish(false).await; // a duplicate's check holds nothing
        assert!(guard.check().0.admit(tag).await.is_err());
        first_done.finish(false).await;
        let (third, third_done) = guard.check();
        third.admit(tag).await.unwrap();
        third_done.finish(true).await;
        assert!(guard.check().0.admit(tag).await.is_err());
    }

    #[tokio::test]
    async fn a_dropped_handler_releases_from_a_task() {
        let guard = layer();
        let (check, pending) = guard.check();
        check.admit([8; 32]).await.unwrap();
        drop(pending);
        tokio::task::yield_now().await;
        guard.check().0.admit([8; 32]).await.unwrap();
    }

    /// Applies the first reservation, then fails it, as a Redis that was
    /// paused past the call's timeout does.
    #[derive(Debug, Default)]
    struct LateStore {
        inner: MemoryStore,
        failed: std::sync::atomic::AtomicBool,
    }

    impl ReplayStore for LateStore {
        fn reserve<'a>(
            &'a self,
            key: &'a [u8; 32],
            token: u64,
            ttl: Duration,
        ) -> StoreFuture<'a, bool> {
            Box::pin(async move {
                let reserved = self.inner.reserve(key, token, ttl).await?;
                match self.failed.swap(true, Ordering::SeqCst) {
                    false => Err("timed out".into()),
                    true => Ok(reserved),
                }
            })
        }

        fn release<'a>(&'a self, key: &'a [u8; 32], token: u64) -> StoreFuture<'a, ()> {
            self.inner.release(key, token)
        }
    }

    #[tokio::test]
    async fn a_reservation_applied_after_its_failure_is_taken_back() {
        let guard = layer().store(LateStore::default());
        let tag = [9; 32];
        assert!(matches!(
            guard.check().0.admit(tag).await,
            Err(WebhookRejection::ReplayStoreUnavailable)
        ));
        tokio::time::sleep(Duration::from_millis(400)).await;
        guard.check().0.admit(tag).await.unwrap();
        assert!(guard.check().0.admit(tag).await.is_err(), "held again");
    }

    #[test]
    fn tokens_are_unique() {
        assert_ne!(token(), token());
    }
}
