//! Heap allocations per typed parse, beside the plain serde_json derives of
//! `parse.rs`: a report, not an assertion. Counted with dhat's global
//! allocator, so this is a program of its own (`harness = false`):
//! `cargo bench -p bedrud-webhook-types --bench parse_allocations`.

// Benchmark code: a failed assertion is a broken benchmark set-up.
#![allow(clippy::unwrap_used)]

mod common;

use std::hint::black_box;

use bedrud_webhook_types::RawEnvelope;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const ROUNDS: u64 = 1_000;

/// Heap blocks and bytes allocated per call of `f`, averaged over `ROUNDS`
/// calls after one warm-up call.
fn per_call(mut f: impl FnMut() -> bool) -> (f64, f64) {
    assert!(f());
    let before = dhat::HeapStats::get();
    for _ in 0..ROUNDS {
        assert!(black_box(f()));
    }
    let after = dhat::HeapStats::get();
    let per = |n: u64| n as f64 / ROUNDS as f64;
    (
        per(after.total_blocks - before.total_blocks),
        per(after.total_bytes - before.total_bytes),
    )
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    println!("heap allocations per call, mean of {ROUNDS} calls (dhat)");
    println!("| parse | event | body B | blocks | bytes |\n|---|---|---|---|---|");
    for (event, body) in common::BODIES {
        let body = body.as_bytes();
        let rows = [
            (
                "RawEnvelope::from_slice",
                per_call(|| RawEnvelope::from_slice(black_box(body)).is_ok()),
            ),
            (
                "Envelope::from_slice",
                per_call(|| common::ours(black_box(body))),
            ),
            (
                "two_serde_steps",
                per_call(|| common::two_serde_steps(event, black_box(body))),
            ),
            (
                "serde_derive",
                per_call(|| common::plain(event, black_box(body))),
            ),
            (
                "serde_derive_same_types",
                per_call(|| common::same_types(event, black_box(body))),
            ),
        ];
        for (what, (blocks, bytes)) in rows {
            println!(
                "| {what} | {event} | {} | {blocks:.1} | {bytes:.1} |",
                body.len()
            );
        }
    }
}
