//! How many heap allocations typed parsing makes, per event kind: a report,
//! not an assertion. Counted with dhat's global allocator, which is why this
//! is a program of its own (`harness = false`); it runs under `cargo bench`
//! (`cargo bench -p bedrud-webhook-types --bench parse_allocations`) and is
//! quoted in BENCHMARKS.md.
//!
//! The verifier's own check (`RawEnvelope::from_slice` plus the signature)
//! allocates nothing; that is asserted by bedrud-webhook-verify's
//! `tests/zero_alloc.rs`. The first row here confirms it for the raw parse.

// Benchmark code: a failed unwrap is a broken benchmark set-up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::hint::black_box;

use bedrud_webhook_types::{Envelope, RawEnvelope, encode};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const ROUNDS: u64 = 1_000;

/// Heap blocks and bytes allocated per call of `f`, averaged over `ROUNDS`
/// calls after one warm-up call.
fn per_call(mut f: impl FnMut()) -> (f64, f64) {
    f();
    let before = dhat::HeapStats::get();
    for _ in 0..ROUNDS {
        f();
    }
    let after = dhat::HeapStats::get();
    (
        (after.total_blocks - before.total_blocks) as f64 / ROUNDS as f64,
        (after.total_bytes - before.total_bytes) as f64 / ROUNDS as f64,
    )
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let envelopes = common::envelopes();

    println!("heap allocations per call, mean of {ROUNDS} calls (dhat)");
    println!(
        "{:<48} {:>6} {:>8} {:>8}",
        "operation", "body B", "blocks", "bytes"
    );
    let row = |what: &str, len: usize, (blocks, bytes): (f64, f64)| {
        println!("{what:<48} {len:>6} {blocks:>8.1} {bytes:>8.1}");
    };
    let golden = envelopes[1].1.to_bedrud_json();
    row(
        "RawEnvelope::from_slice room.ended",
        golden.len(),
        per_call(|| {
            black_box(RawEnvelope::from_slice(black_box(&golden)).unwrap());
        }),
    );
    for (name, envelope) in &envelopes {
        let body = envelope.to_bedrud_json();
        row(
            &format!("Envelope::from_slice {name}"),
            body.len(),
            per_call(|| {
                black_box(Envelope::from_slice(black_box(&body)).unwrap());
            }),
        );
    }
    for (name, envelope) in &envelopes {
        let body = envelope.to_bedrud_json();
        let raw = RawEnvelope::from_slice(&body).unwrap();
        row(
            &format!("Envelope::from_raw {name}"),
            body.len(),
            per_call(|| {
                black_box(Envelope::from_raw(black_box(&raw)).unwrap());
            }),
        );
    }
    for (name, envelope) in &envelopes {
        let len = envelope.to_bedrud_json().len();
        row(
            &format!("Envelope::to_bedrud_json {name}"),
            len,
            per_call(|| {
                black_box(black_box(envelope).to_bedrud_json());
            }),
        );
    }
    let value = envelopes[0].1.event.to_data();
    let value = serde_json::Value::Object(value);
    row(
        "encode::to_bedrud_json room.created data",
        encode::to_bedrud_json(&value).len(),
        per_call(|| {
            black_box(encode::to_bedrud_json(black_box(&value)));
        }),
    );
}
