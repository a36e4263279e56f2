//! The in-memory replay guard under a flood of 1,000,000 distinct deliveries
//! (more than ten times its capacity): the heap, counted with dhat's global
//! allocator (so this is a binary of its own), stays under the ceiling the
//! docs state for the default capacity, and stops growing once the store is
//! full; the newest deliveries are still caught as replays.
//!
//! The tags go straight to the store through `ReplayStore`, the one call the
//! guard makes per delivery: signing and verifying a million bodies would
//! only slow the test, not change what the store holds.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hash::{BuildHasher, RandomState};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bedrud_webhook::replay::{MemoryStore, ReplayStore};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// The ceiling README.md and `MemoryStore`'s docs state for the default capacity.
const CEILING: usize = 16 * 1024 * 1024;
const FLOOD: u64 = 1_000_000;
/// Twice the default tolerance, as the guard asks.
const TTL: Duration = Duration::from_secs(600);

/// A tag as an HMAC gives them: 32 bytes that look random.
fn tag(state: &RandomState, i: u64) -> [u8; 32] {
    let mut tag = [0; 32];
    for (n, chunk) in tag.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&state.hash_one((i, n)).to_le_bytes());
    }
    tag
}

/// The store's answer: its futures are ready at once.
fn reserve(store: &MemoryStore, tag: &[u8; 32], token: u64) -> bool {
    let mut future = pin!(store.reserve(tag, token, TTL));
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(reserved) => reserved.unwrap(),
        Poll::Pending => panic!("the in-memory store never waits"),
    }
}

#[test]
fn a_million_distinct_deliveries_stay_under_the_stated_ceiling() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let state = RandomState::new();
    let base = dhat::HeapStats::get().curr_bytes;
    let store = MemoryStore::default();
    let mut at_capacity = 0;
    for i in 0..FLOOD {
        assert!(reserve(&store, &tag(&state, i), i), "delivery {i} is new");
        if i + 1 == 2 * MemoryStore::DEFAULT_CAPACITY as u64 {
            at_capacity = dhat::HeapStats::get().curr_bytes - base;
        }
    }
    let stats = dhat::HeapStats::get();
    let (now, peak) = (stats.curr_bytes - base, stats.max_bytes - base);
    println!(
        "{FLOOD} deliveries, capacity {}: {} held; heap {now} B now, {peak} B at most, {at_capacity} B at 2x capacity",
        MemoryStore::DEFAULT_CAPACITY,
        store.len()
    );
    assert!(
        store.len() <= MemoryStore::DEFAULT_CAPACITY,
        "{}",
        store.len()
    );
    assert!(
        peak <= CEILING,
        "peak heap {peak} B over the stated {CEILING} B"
    );
    assert!(
        now <= at_capacity + at_capacity / 10,
        "grew after filling: {at_capacity} → {now} B"
    );
    // The last deliveries are remembered: their replays are refused.
    let caught = (FLOOD - 1_000..FLOOD)
        .filter(|&i| !reserve(&store, &tag(&state, i), 0))
        .count();
    assert_eq!(caught, 1_000);
}
