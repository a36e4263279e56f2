//! Wall-clock benchmarks of typed parsing (each event kind) and encoding.
//!
//! Run with `cargo bench -p bedrud-webhook-types --bench types`; the groups
//! are named `types_*` so that `.ci/bench-report` lists them (see
//! BENCHMARKS.md). Each body is the sample event of its kind, encoded as
//! Bedrud encodes it, with a fixed timestamp.

// Benchmark code: a failed unwrap is a broken benchmark set-up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::envelopes;

use std::hint::black_box;

use bedrud_webhook_types::{Envelope, RawEnvelope, encode};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("types_parse");
    for (name, envelope) in envelopes() {
        let body = envelope.to_bedrud_json();
        assert_eq!(Envelope::from_slice(&body).unwrap(), envelope);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(
            format!("Envelope::from_slice {name} ({} B)", body.len()),
            |b| {
                b.iter(|| Envelope::from_slice(black_box(&body)).unwrap());
            },
        );
    }
    group.finish();

    // What a receiver that already verified the delivery pays: the raw
    // fields were parsed by the verifier, so only `from_raw` remains.
    let mut group = c.benchmark_group("types_from_raw");
    for (name, envelope) in envelopes() {
        let body = envelope.to_bedrud_json();
        let raw = RawEnvelope::from_slice(&body).unwrap();
        group.bench_function(format!("Envelope::from_raw {name}"), |b| {
            b.iter(|| Envelope::from_raw(black_box(&raw)).unwrap());
        });
    }
    group.finish();
}

fn encoding(c: &mut Criterion) {
    let mut group = c.benchmark_group("types_encode");
    for (name, envelope) in envelopes() {
        let len = envelope.to_bedrud_json().len();
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(format!("Envelope::to_bedrud_json {name} ({len} B)"), |b| {
            b.iter(|| black_box(&envelope).to_bedrud_json());
        });
    }
    // The encoder alone, on a value with every kind of escape Bedrud writes.
    let value: Value = json!({
        "roomName": "<b>Q&A</b> — café 🎥 \u{2028}\n\t\"quoted\"",
        "roomId": "3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34",
        "fileSizeBytes": 734_003_200_u64,
        "durationMs": 3_541_000_u64,
    });
    let len = encode::to_bedrud_json(&value).len();
    group.throughput(Throughput::Bytes(len as u64));
    group.bench_function(format!("encode::to_bedrud_json escapes ({len} B)"), |b| {
        b.iter(|| encode::to_bedrud_json(black_box(&value)));
    });
    group.finish();
}

criterion_group!(benches, parsing, encoding);
criterion_main!(benches);
