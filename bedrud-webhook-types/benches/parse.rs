//! The typed parse (`Envelope::from_slice`) beside a plain serde_json derive
//! of equivalent types, one criterion group per event kind. After criterion's
//! groups, each comparison is timed again interleaved (batches of the two
//! alternating; `INTERLEAVED` lines): the ratios the target is judged on.
//! `.ci/bench-report` runs it and prints the table of BENCHMARKS.md.
//!
//! - `ours`: `Envelope::from_slice`.
//! - `serde_derive`: `#[derive(Deserialize)]` structs local to this bench:
//!   the event's data, `event` and `timestamp` as `String`s.
//! - `serde_derive_same_types`: the same derive over this crate's `RoomData`,
//!   `RecordingData` and `Timestamp` (so the timestamp is parsed too).
//! - `two_serde_steps`: `RawEnvelope::from_slice`, then `data` into the
//!   event's type with serde_json, and nothing else: where `ours` spends its
//!   time beyond serde.

// Benchmark code: a failed assertion is a broken benchmark set-up.
#![allow(clippy::unwrap_used)]

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::interleave;
use criterion::{Criterion, Throughput, criterion_group};

fn group_name(event: &str) -> String {
    format!("parse_{}", event.replace('.', "_"))
}

fn parsing(c: &mut Criterion) {
    for (event, body) in common::BODIES {
        let body = body.as_bytes();
        assert!(common::ours(body) && common::plain(event, body));
        assert!(common::same_types(event, body) && common::two_serde_steps(event, body));
        assert_eq!(
            bedrud_webhook_types::Envelope::from_slice(body)
                .unwrap()
                .event
                .name(),
            event
        );
        let mut group = c.benchmark_group(group_name(event));
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function("ours", |b| b.iter(|| common::ours(black_box(body))));
        group.bench_function("serde_derive", |b| {
            b.iter(|| common::plain(black_box(event), black_box(body)));
        });
        group.bench_function("serde_derive_same_types", |b| {
            b.iter(|| common::same_types(black_box(event), black_box(body)));
        });
        group.bench_function("two_serde_steps", |b| {
            b.iter(|| common::two_serde_steps(black_box(event), black_box(body)));
        });
        group.finish();
    }
}

/// Every comparison again, interleaved: 3 s each under `cargo bench`, a
/// quick pass otherwise (`cargo test --benches`).
fn interleaved() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let budget = Duration::from_secs(if bench_mode { 3 } else { 0 });
    for (event, body) in common::BODIES {
        let group = group_name(event);
        if !interleave::selected(&group) {
            continue;
        }
        let body = body.as_bytes();
        let ours = || common::ours(black_box(body));
        let r = interleave::compare(ours, || common::plain(event, black_box(body)), budget);
        interleave::print(&group, "ours", "serde_derive", &r);
        let r = interleave::compare(ours, || common::same_types(event, black_box(body)), budget);
        interleave::print(&group, "ours", "serde_derive_same_types", &r);
        let r = interleave::compare(
            ours,
            || common::two_serde_steps(event, black_box(body)),
            budget,
        );
        interleave::print(&group, "ours", "two_serde_steps", &r);
    }
}

criterion_group!(benches, parsing);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    interleaved();
}
