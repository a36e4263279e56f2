//! Wall-clock benchmarks of signature verification, each beside its peers in
//! one criterion group per body size, so that ratios come from one run.
//!
//! Run with `cargo bench -p bedrud-webhook-verify --bench verify`; turn the
//! results into the ratio table with `.ci/bench-report` (see BENCHMARKS.md).
//!
//! In every `verify_<size>` group:
//!
//! - `verifier`: [`Verifier::verify_signature`], the header value and the body;
//! - `naive`: what a peer SDK typically does: key the HMAC for each request,
//!   hex-encode the tag, `format!` the header value and compare with `==`;
//! - `bare_hmac`: clone a pre-keyed `Hmac<Sha256>`, update, finalize: the
//!   floor for any HMAC verification built on the `hmac` crate;
//! - `ring`: `ring::hmac::verify` with a pre-made `ring::hmac::Key` and the
//!   tag already decoded (ring is spared the hex decoding the others do);
//! - `sha256`: one SHA-256 pass over the body alone;
//! - `prekeyed_hex_crate` (187 B only): the verifier as it was before these
//!   benchmarks: the same pre-keyed state, but the header decoded with the
//!   `hex` crate and the tag compared with `Mac::verify_slice` (subtle's
//!   byte-at-a-time `ct_eq`).
//!
//! The `full_187B` group puts the full delivery check beside the signature
//! check alone, and `parts_187B` times the pieces of the full check.

// Benchmark code: a failed unwrap is a broken benchmark set-up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use bedrud_webhook_verify::{
    DeliveryHeaders, RawEnvelope, Secret, Timestamp, Verifier, headers, sign,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hmac::{KeyInit, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};

type HmacSha256 = hmac::Hmac<Sha256>;

/// The golden vectors' secret (bedrud-wire-format.md).
const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";

/// The golden `room.ended` envelope: 187 bytes, 4 SHA-256 blocks of inner
/// hash plus 1 of outer, like any envelope of 184 to 247 bytes.
const GOLDEN: &str = r#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#;

/// A genuine-looking `room.created` envelope of exactly `len` bytes: the
/// golden shape with the room name padded.
fn envelope_of_len(len: usize) -> Vec<u8> {
    let head = r#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":""#;
    let tail = r#"","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.created","timestamp":"2026-04-01T12:34:56Z"}"#;
    let pad = len - head.len() - tail.len();
    let name: String = "weekly-sync-".chars().cycle().take(pad).collect();
    let body = format!("{head}{name}{tail}").into_bytes();
    assert_eq!(body.len(), len);
    body
}

/// The bodies: (group suffix, bytes).
fn bodies() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("187B", GOLDEN.as_bytes().to_vec()),
        ("1KiB", envelope_of_len(1024)),
        ("16KiB", envelope_of_len(16 * 1024)),
        ("1MiB", envelope_of_len(1024 * 1024)),
    ]
}

/// The naive peer approach, as it appears in webhook SDKs: a fresh keyed
/// HMAC per request, the tag hex-encoded, and a string comparison.
fn naive_verify(secret: &[u8], header: &str, body: &[u8]) -> bool {
    let mut mac = HmacSha256::new_from_slice(secret).unwrap();
    mac.update(body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    expected == header
}

/// The verifier's signature check before it was tuned (commit 134000f).
fn prekeyed_hex_crate(keyed: &HmacSha256, header: &str, body: &[u8]) -> bool {
    let Some(digest) = header.strip_prefix("sha256=") else {
        return false;
    };
    let mut tag = [0u8; 32];
    if hex::decode_to_slice(digest, &mut tag).is_err() {
        return false;
    }
    let mut mac = keyed.clone();
    mac.update(body);
    mac.verify_slice(&tag).is_ok()
}

fn signature_checks(c: &mut Criterion) {
    let secret = Secret::new(SECRET).unwrap();
    let verifier = Verifier::new(secret.clone());
    let keyed = HmacSha256::new_from_slice(SECRET.as_bytes()).unwrap();
    let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());

    for (label, body) in bodies() {
        let header = sign(&secret, &body);
        let mut tag = [0u8; 32];
        hex::decode_to_slice(&header["sha256=".len()..], &mut tag).unwrap();
        // Every contender must agree that this is genuine before it is timed.
        assert!(verifier.verify_signature(header.as_bytes(), &body).is_ok());
        assert!(naive_verify(SECRET.as_bytes(), &header, &body));
        assert!(ring::hmac::verify(&ring_key, &body, &tag).is_ok());
        assert!(prekeyed_hex_crate(&keyed, &header, &body));

        let mut group = c.benchmark_group(format!("verify_{label}"));
        group.throughput(Throughput::Bytes(body.len() as u64));
        if body.len() >= 1024 * 1024 {
            group.sample_size(30);
        }
        group.bench_function("verifier", |b| {
            b.iter(|| {
                verifier
                    .verify_signature(black_box(header.as_bytes()), black_box(&body))
                    .is_ok()
            });
        });
        group.bench_function("naive", |b| {
            b.iter(|| {
                naive_verify(
                    black_box(SECRET.as_bytes()),
                    black_box(&header),
                    black_box(&body),
                )
            });
        });
        group.bench_function("bare_hmac", |b| {
            b.iter(|| {
                let mut mac = black_box(&keyed).clone();
                mac.update(black_box(&body));
                mac.finalize().into_bytes()
            });
        });
        group.bench_function("ring", |b| {
            b.iter(|| {
                ring::hmac::verify(black_box(&ring_key), black_box(&body), black_box(&tag)).is_ok()
            });
        });
        group.bench_function("sha256", |b| {
            b.iter(|| Sha256::digest(black_box(&body)));
        });
        if label == "187B" {
            group.bench_function("prekeyed_hex_crate", |b| {
                b.iter(|| {
                    prekeyed_hex_crate(black_box(&keyed), black_box(&header), black_box(&body))
                });
            });
        }
        group.finish();
    }
}

fn delivery_checks(c: &mut Criterion) {
    let secret = Secret::new(SECRET).unwrap();
    let verifier = Verifier::new(secret.clone());
    let body = GOLDEN.as_bytes();
    let signature = sign(&secret, body);
    let now: Timestamp = "2026-04-01T12:35:00Z".parse().unwrap();
    let mut map = HeaderMap::new();
    map.insert(headers::SIGNATURE, signature.parse().unwrap());
    map.insert(headers::EVENT, "room.ended".parse().unwrap());
    map.insert(headers::TIMESTAMP, "2026-04-01T12:34:56Z".parse().unwrap());
    map.insert("content-type", "application/json".parse().unwrap());
    map.insert("user-agent", "Go-http-client/1.1".parse().unwrap());
    let pairs = [
        (&b"X-Bedrud-Signature"[..], signature.as_bytes()),
        (&b"X-Bedrud-Event"[..], &b"room.ended"[..]),
        (&b"X-Bedrud-Timestamp"[..], &b"2026-04-01T12:34:56Z"[..]),
    ];
    assert!(verifier.verify_at(&map, body, now).is_ok());

    let mut group = c.benchmark_group("full_187B");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("signature", |b| {
        b.iter(|| {
            verifier
                .verify_signature(black_box(signature.as_bytes()), black_box(body))
                .is_ok()
        });
    });
    group.bench_function("verify_headers_at", |b| {
        b.iter(|| {
            let headers = DeliveryHeaders::from_pairs(black_box(pairs));
            verifier
                .verify_headers_at(&headers, black_box(body), now)
                .is_ok()
        });
    });
    group.bench_function("verify_at", |b| {
        b.iter(|| {
            verifier
                .verify_at(black_box(&map), black_box(body), now)
                .is_ok()
        });
    });
    group.finish();

    // The pieces of the full check, to see where its time goes.
    let mut group = c.benchmark_group("parts_187B");
    group.bench_function("headers_from_header_map", |b| {
        b.iter(|| DeliveryHeaders::from_header_map(black_box(&map)));
    });
    group.bench_function("headers_from_pairs", |b| {
        b.iter(|| DeliveryHeaders::from_pairs(black_box(pairs)));
    });
    group.bench_function("raw_envelope", |b| {
        b.iter(|| RawEnvelope::from_slice(black_box(body)).is_ok());
    });
    // The same three fields parsed by serde_json alone (`RawEnvelope`'s
    // `Deserialize` impl): what `RawEnvelope::from_slice` did before its
    // fast path, and still does for bodies not in Bedrud's exact form.
    group.bench_function("raw_envelope_serde_json", |b| {
        b.iter(|| {
            std::str::from_utf8(black_box(body))
                .ok()
                .and_then(|text| serde_json::from_str::<RawEnvelope<'_>>(text).ok())
                .is_some()
        });
    });
    // "Now" on every request: `verify` and the integrations read the coarse
    // real-time clock on Linux (`coarse_clock_seconds`), and
    // `Timestamp::now()` elsewhere; beside them the precise clock read.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    group.bench_function("coarse_clock_seconds", |b| {
        b.iter(|| rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse).tv_sec);
    });
    group.bench_function("system_clock_seconds", |b| {
        b.iter(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    });
    group.bench_function("timestamp_now", |b| {
        b.iter(Timestamp::now);
    });
    group.bench_function("timestamp", |b| {
        b.iter(|| Timestamp::parse(black_box("2026-04-01T12:34:56Z")).is_ok());
    });
    group.finish();
}

criterion_group!(benches, signature_checks, delivery_checks);
criterion_main!(benches);
