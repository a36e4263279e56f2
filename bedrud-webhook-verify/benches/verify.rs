//! Wall-clock benchmarks of signature and delivery verification, each beside
//! its baseline in one criterion group.
//!
//! `cargo bench -p bedrud-webhook-verify --bench verify`; `.ci/bench-report`
//! runs it and prints the ratio tables of BENCHMARKS.md. After criterion's
//! groups, each comparison is timed again interleaved (batches of the two
//! alternating; `INTERLEAVED` lines): the ratios the targets are judged on.
//!
//! - `signature_<size>` (187 B, 1 KiB, 16 KiB, 1 MiB): `verify_signature`
//!   (header value and body) beside `bare_hmac`, the floor for any check built
//!   on the `hmac` crate: clone a pre-keyed `Hmac<Sha256>`, update, and
//!   `verify_slice` against a tag decoded beforehand; and, at 187 B and
//!   1 KiB, `bare_hmac_hex`: the same plus `const_hex::decode_to_slice` of the
//!   header's digits, to show what the decoding alone costs.
//! - `peer_187B`: our signature check and full delivery check (`verify` on an
//!   `http::HeaderMap`, system clock) beside `standardwebhooks::Webhook::verify`
//!   on the same body, each with a genuine signature of its own scheme.

// Benchmark code: a failed unwrap is a broken benchmark set-up.
#![allow(clippy::unwrap_used)]

#[path = "../../bedrud-webhook-types/benches/common/interleave.rs"]
mod interleave;

use std::hint::black_box;
use std::time::Duration;

use bedrud_webhook_verify::{Secret, Timestamp, Verifier, headers, sign};
use criterion::{Criterion, Throughput, criterion_group};
use hmac::{KeyInit, Mac};
use http::HeaderMap;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The golden vectors' secret (bedrud-wire-format.md).
const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";

/// The golden `room.ended` envelope, 187 bytes, with its timestamp replaced:
/// `at` must be 20 characters (`2026-04-01T12:34:56Z`).
fn golden(at: &str) -> Vec<u8> {
    let body = format!(
        r#"{{"data":{{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"}},"event":"room.ended","timestamp":"{at}"}}"#
    );
    assert_eq!(body.len(), 187);
    body.into_bytes()
}

/// A `room.created` envelope of exactly `len` bytes: the golden shape with
/// the room name padded.
fn envelope_of_len(len: usize) -> Vec<u8> {
    let head = r#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":""#;
    let tail = r#"","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.created","timestamp":"2026-04-01T12:34:56Z"}"#;
    let name: String = "weekly-sync-"
        .chars()
        .cycle()
        .take(len - head.len() - tail.len())
        .collect();
    let body = format!("{head}{name}{tail}").into_bytes();
    assert_eq!(body.len(), len);
    body
}

const SIZES: [(&str, usize); 4] = [
    ("187B", 187),
    ("1KiB", 1024),
    ("16KiB", 16 * 1024),
    ("1MiB", 1024 * 1024),
];

/// A body of `len` bytes, its signature header, and the two contenders.
struct SignatureFixture {
    body: Vec<u8>,
    header: String,
    tag: [u8; 32],
    verifier: Verifier,
    keyed: HmacSha256,
}

impl SignatureFixture {
    fn new(len: usize) -> SignatureFixture {
        let body = if len == 187 {
            golden("2026-04-01T12:34:56Z")
        } else {
            envelope_of_len(len)
        };
        let secret = Secret::new(SECRET).unwrap();
        let header = sign(&secret, &body);
        let mut tag = [0u8; 32];
        const_hex::decode_to_slice(&header["sha256=".len()..], &mut tag).unwrap();
        let fx = SignatureFixture {
            verifier: Verifier::new(secret),
            keyed: HmacSha256::new_from_slice(SECRET.as_bytes()).unwrap(),
            body,
            header,
            tag,
        };
        // Both must agree that this is genuine before they are timed.
        assert!(fx.ours() && fx.bare() && fx.bare_hex());
        fx
    }

    fn ours(&self) -> bool {
        self.verifier
            .verify_signature(black_box(self.header.as_bytes()), black_box(&self.body))
            .is_ok()
    }

    fn bare(&self) -> bool {
        let mut mac = black_box(&self.keyed).clone();
        mac.update(black_box(&self.body));
        mac.verify_slice(black_box(&self.tag)).is_ok()
    }

    fn bare_hex(&self) -> bool {
        let mut tag = [0u8; 32];
        let digits = &black_box(self.header.as_bytes())["sha256=".len()..];
        if const_hex::decode_to_slice(digits, &mut tag).is_err() {
            return false;
        }
        let mut mac = black_box(&self.keyed).clone();
        mac.update(black_box(&self.body));
        mac.verify_slice(&tag).is_ok()
    }
}

/// The sizes at which the hex decoding is a visible part of the check.
fn small(len: usize) -> bool {
    len <= 1024
}

/// The 187-byte golden body signed now, with the headers Bedrud sends, and
/// the same body signed by standardwebhooks' scheme (`msg_id.timestamp.body`,
/// same key bytes) with its headers. Both full checks read the system clock
/// with a 5-minute window: make a fixture right before timing with it.
struct PeerFixture {
    body: Vec<u8>,
    signature: String,
    verifier: Verifier,
    map: HeaderMap,
    peer: standardwebhooks::Webhook,
    peer_map: HeaderMap,
}

impl PeerFixture {
    fn new() -> PeerFixture {
        let now = Timestamp::now();
        let body = golden(&now.to_string());
        let secret = Secret::new(SECRET).unwrap();
        let signature = sign(&secret, &body);
        let mut map = HeaderMap::new();
        map.insert("user-agent", "Go-http-client/1.1".parse().unwrap());
        map.insert("content-type", "application/json".parse().unwrap());
        map.insert(headers::EVENT, "room.ended".parse().unwrap());
        map.insert(headers::SIGNATURE, signature.parse().unwrap());
        map.insert(headers::TIMESTAMP, now.to_string().parse().unwrap());

        let peer = standardwebhooks::Webhook::from_bytes(SECRET.as_bytes().to_vec()).unwrap();
        let msg_id = "msg_2bJjbdDDKXqLcbwXaTSRQeEKZAS";
        let peer_signature = peer.sign(msg_id, now.unix_seconds(), &body).unwrap();
        let mut peer_map = HeaderMap::new();
        peer_map.insert("user-agent", "Go-http-client/1.1".parse().unwrap());
        peer_map.insert("content-type", "application/json".parse().unwrap());
        peer_map.insert("webhook-id", msg_id.parse().unwrap());
        peer_map.insert("webhook-signature", peer_signature.parse().unwrap());
        peer_map.insert(
            "webhook-timestamp",
            now.unix_seconds().to_string().parse().unwrap(),
        );
        let fx = PeerFixture {
            verifier: Verifier::new(secret),
            body,
            signature,
            map,
            peer,
            peer_map,
        };
        assert!(fx.signature() && fx.delivery() && fx.standardwebhooks());
        fx
    }

    fn signature(&self) -> bool {
        self.verifier
            .verify_signature(black_box(self.signature.as_bytes()), black_box(&self.body))
            .is_ok()
    }

    fn delivery(&self) -> bool {
        self.verifier
            .verify(black_box(&self.map), black_box(&self.body))
            .is_ok()
    }

    fn standardwebhooks(&self) -> bool {
        self.peer
            .verify(black_box(&self.body), black_box(&self.peer_map))
            .is_ok()
    }
}

fn signature_checks(c: &mut Criterion) {
    for (label, len) in SIZES {
        let fx = SignatureFixture::new(len);
        let mut group = c.benchmark_group(format!("signature_{label}"));
        group.throughput(Throughput::Bytes(len as u64));
        if len >= 1024 * 1024 {
            group.sample_size(30);
        }
        group.bench_function("verify_signature", |b| b.iter(|| fx.ours()));
        group.bench_function("bare_hmac", |b| b.iter(|| fx.bare()));
        if small(len) {
            group.bench_function("bare_hmac_hex", |b| b.iter(|| fx.bare_hex()));
        }
        group.finish();
    }
}

fn peer_checks(c: &mut Criterion) {
    let fx = PeerFixture::new();
    let mut group = c.benchmark_group("peer_187B");
    group.throughput(Throughput::Bytes(fx.body.len() as u64));
    group.bench_function("verify_signature", |b| b.iter(|| fx.signature()));
    group.bench_function("verify", |b| b.iter(|| fx.delivery()));
    group.bench_function("standardwebhooks", |b| b.iter(|| fx.standardwebhooks()));
    group.finish();
}

/// Every comparison again, interleaved: 3 s each under `cargo bench`, a
/// quick pass otherwise (`cargo test --benches`).
fn interleaved() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let budget = Duration::from_secs(if bench_mode { 3 } else { 0 });
    for (label, len) in SIZES {
        let group = format!("signature_{label}");
        if interleave::selected(&group) {
            let fx = SignatureFixture::new(len);
            let r = interleave::compare(|| fx.ours(), || fx.bare(), budget);
            interleave::print(&group, "verify_signature", "bare_hmac", &r);
            if small(len) {
                let r = interleave::compare(|| fx.bare_hex(), || fx.bare(), budget);
                interleave::print(&group, "bare_hmac_hex", "bare_hmac", &r);
            }
        }
    }
    if interleave::selected("peer_187B") {
        let fx = PeerFixture::new();
        let r = interleave::compare(|| fx.standardwebhooks(), || fx.signature(), budget);
        interleave::print("peer_187B", "standardwebhooks", "verify_signature", &r);
        let r = interleave::compare(|| fx.standardwebhooks(), || fx.delivery(), budget);
        interleave::print("peer_187B", "standardwebhooks", "verify", &r);
    }
}

criterion_group!(benches, signature_checks, peer_checks);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    interleaved();
}
