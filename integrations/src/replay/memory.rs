//! The in-memory store: `quick_cache`, bounded by entries, each entry
//! carrying its own expiry.

use std::fmt;
use std::time::{Duration, Instant};

use quick_cache::sync::{Cache, EntryAction, EntryResult};
use quick_cache::{OptionsBuilder, UnitWeighter};

use super::{ReplayStore, StoreFuture};

/// The in-memory [`ReplayStore`], for one process: a concurrent cache of at
/// most `capacity` tags (the default, 100,000, covers 166 deliveries a second
/// for the default 10 minutes; about 13 MB when full).
///
/// Memory is bounded by the capacity: past it, the least used tags are
/// forgotten first, even before they expire. An expired tag reads as absent.
pub struct MemoryStore {
    /// Tag → (expiry, token).
    cache: Cache<[u8; 32], (Instant, u64)>,
}

impl MemoryStore {
    /// The default capacity.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A store of at most `capacity` tags.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        // No ghost keys: they help a cache's hit rate, not a guard, and
        // would take a third of the memory.
        let options = OptionsBuilder::new()
            .estimated_items_capacity(capacity)
            .weight_capacity(capacity as u64)
            .ghost_allocation(0.0)
            .build();
        let cache = match options {
            Ok(options) => {
                Cache::with_options(options, UnitWeighter, <_>::default(), <_>::default())
            }
            Err(_) => Cache::new(capacity),
        };
        MemoryStore { cache }
    }

    /// The tags held now, expired ones included until they are evicted.
    #[must_use]
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether no tag is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    fn reserve_now(&self, key: &[u8; 32], token: u64, ttl: Duration) -> bool {
        let now = Instant::now();
        let entry = self.cache.entry(key, None, |_, held| {
            let expired = held.0 <= now;
            if expired {
                *held = (now + ttl, token);
            }
            EntryAction::Retain(expired)
        });
        match entry {
            EntryResult::Retained(reserved) => reserved,
            EntryResult::Vacant(slot) => {
                let _ = slot.insert((now + ttl, token));
                true
            }
            // Neither is asked for (no timeout, no removal); refuse to be safe.
            EntryResult::Removed(..) | EntryResult::Replaced(..) | EntryResult::Timeout => false,
        }
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new(MemoryStore::DEFAULT_CAPACITY)
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("len", &self.cache.len())
            .field("capacity", &self.cache.capacity())
            .finish()
    }
}

impl ReplayStore for MemoryStore {
    fn reserve<'a>(
        &'a self,
        key: &'a [u8; 32],
        token: u64,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        let reserved = self.reserve_now(key, token, ttl);
        Box::pin(std::future::ready(Ok(reserved)))
    }

    fn release<'a>(&'a self, key: &'a [u8; 32], token: u64) -> StoreFuture<'a, ()> {
        self.cache.remove_if(key, |held| held.1 == token);
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    #[test]
    fn reserve_once_release_by_token_expire() {
        let store = MemoryStore::new(100);
        assert!(store.reserve_now(&[1; 32], 1, TTL));
        assert!(!store.reserve_now(&[1; 32], 2, TTL));
        // Another reservation's token does not release it.
        store.cache.remove_if(&[1; 32], |held| held.1 == 2);
        assert!(!store.reserve_now(&[1; 32], 3, TTL));
        store.cache.remove_if(&[1; 32], |held| held.1 == 1);
        assert!(store.reserve_now(&[1; 32], 4, Duration::ZERO));
        assert!(store.reserve_now(&[1; 32], 5, TTL), "expired: taken over");
    }

    #[test]
    fn racing_threads_reserve_each_key_exactly_once() {
        let store = Arc::new(MemoryStore::new(100_000));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || {
                    (0..10_000u32)
                        .filter(|i| {
                            let mut key = [0; 32];
                            key[..4].copy_from_slice(&i.to_le_bytes());
                            store.reserve_now(&key, t, TTL)
                        })
                        .count()
                })
            })
            .collect();
        let reserved: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(reserved, 10_000);
    }

    #[test]
    fn a_flood_stays_within_the_capacity_and_recent_tags_are_kept() {
        let store = MemoryStore::new(1_000);
        for i in 0..20_000u32 {
            let mut key = [0; 32];
            key[..4].copy_from_slice(&i.to_le_bytes());
            assert!(store.reserve_now(&key, 0, TTL));
        }
        assert!(store.len() <= 1_000, "{}", store.len());
        let mut last = [0; 32];
        last[..4].copy_from_slice(&19_999u32.to_le_bytes());
        assert!(!store.reserve_now(&last, 1, TTL), "the newest tag is kept");
    }
}
