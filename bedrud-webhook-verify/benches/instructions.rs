//! Instruction counts per operation, for when wall-clock noise (two shared
//! cores) hides a difference: callgrind counts instructions, and the count
//! is the same whatever else the machine is doing.
//!
//! Each contender runs `ROUNDS` times inside a function of its own, and
//! callgrind collects only inside those functions:
//!
//! ```text
//! cargo bench -p bedrud-webhook-verify --bench instructions --no-run
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \
//!     --toggle-collect='instructions::run_*' \
//!     target/release/deps/instructions-<hash> run
//! callgrind_annotate /tmp/cg.out | grep run_
//! ```
//!
//! `.ci/bench-report --instructions` does all of that and divides by
//! `ROUNDS`. Without the `run` argument (as under `cargo bench`) this
//! program does nothing, so that it costs the wall-clock run no time.

// Benchmark code: a failed unwrap is a broken benchmark set-up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use bedrud_webhook_verify::{
    DeliveryHeaders, RawEnvelope, Secret, Timestamp, Verifier, headers, sign,
};
use hmac::{KeyInit, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};

type HmacSha256 = hmac::Hmac<Sha256>;

/// How many times each contender runs.
const ROUNDS: u64 = 10_000;

const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";
const GOLDEN: &str = r#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#;

/// One contender: runs its operation `ROUNDS` times.
type Contender = fn(&Fixture);

struct Fixture {
    verifier: Verifier,
    keyed: HmacSha256,
    ring_key: ring::hmac::Key,
    body: &'static [u8],
    signature: String,
    tag: [u8; 32],
    map: HeaderMap,
    now: Timestamp,
}

#[inline(never)]
fn run_verifier(f: &Fixture) {
    for _ in 0..ROUNDS {
        let ok = f
            .verifier
            .verify_signature(black_box(f.signature.as_bytes()), black_box(f.body));
        assert!(ok.is_ok());
    }
}

#[inline(never)]
fn run_verifier_forged(f: &Fixture) {
    let forged = format!("sha256={}", "0".repeat(64));
    for _ in 0..ROUNDS {
        let ok = f
            .verifier
            .verify_signature(black_box(forged.as_bytes()), black_box(f.body));
        assert!(ok.is_err());
    }
}

/// The verifier's signature check before it was tuned: the `hex` crate's
/// decoder and `Mac::verify_slice`.
#[inline(never)]
fn run_prekeyed_hex_crate(f: &Fixture) {
    for _ in 0..ROUNDS {
        let header = black_box(f.signature.as_str());
        let mut tag = [0u8; 32];
        hex::decode_to_slice(&header[7..], &mut tag).unwrap();
        let mut mac = black_box(&f.keyed).clone();
        mac.update(black_box(f.body));
        assert!(mac.verify_slice(&tag).is_ok());
    }
}

#[inline(never)]
fn run_bare_hmac(f: &Fixture) {
    for _ in 0..ROUNDS {
        let mut mac = black_box(&f.keyed).clone();
        mac.update(black_box(f.body));
        black_box(mac.finalize().into_bytes());
    }
}

#[inline(never)]
fn run_ring(f: &Fixture) {
    for _ in 0..ROUNDS {
        let ok = ring::hmac::verify(black_box(&f.ring_key), black_box(f.body), black_box(&f.tag));
        assert!(ok.is_ok());
    }
}

#[inline(never)]
fn run_sha256(f: &Fixture) {
    for _ in 0..ROUNDS {
        black_box(Sha256::digest(black_box(f.body)));
    }
}

#[inline(never)]
fn run_full_verify_at(f: &Fixture) {
    for _ in 0..ROUNDS {
        let ok = f
            .verifier
            .verify_at(black_box(&f.map), black_box(f.body), f.now);
        assert!(ok.is_ok());
    }
}

#[inline(never)]
fn run_full_verify_headers_at(f: &Fixture) {
    for _ in 0..ROUNDS {
        let headers = DeliveryHeaders::from_pairs(black_box([
            (&b"X-Bedrud-Signature"[..], f.signature.as_bytes()),
            (&b"X-Bedrud-Event"[..], &b"room.ended"[..]),
            (&b"X-Bedrud-Timestamp"[..], &b"2026-04-01T12:34:56Z"[..]),
        ]));
        let ok = f
            .verifier
            .verify_headers_at(&headers, black_box(f.body), f.now);
        assert!(ok.is_ok());
    }
}

#[inline(never)]
fn run_raw_envelope(f: &Fixture) {
    for _ in 0..ROUNDS {
        assert!(RawEnvelope::from_slice(black_box(f.body)).is_ok());
    }
}

/// The same three fields by serde_json alone (`RawEnvelope`'s `Deserialize`
/// impl, from a `&str` checked as UTF-8 once): what `from_slice` did before
/// its fast path, and still does for bodies not in Bedrud's exact form.
#[inline(never)]
fn run_raw_envelope_serde_json(f: &Fixture) {
    for _ in 0..ROUNDS {
        let text = std::str::from_utf8(black_box(f.body)).unwrap();
        assert!(serde_json::from_str::<RawEnvelope<'_>>(text).is_ok());
    }
}

#[inline(never)]
fn run_timestamp(_: &Fixture) {
    for _ in 0..ROUNDS {
        assert!(Timestamp::parse(black_box("2026-04-01T12:34:56Z")).is_ok());
    }
}

#[inline(never)]
fn run_headers_from_header_map(f: &Fixture) {
    for _ in 0..ROUNDS {
        black_box(DeliveryHeaders::from_header_map(black_box(&f.map)));
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() != Some("run") {
        println!(
            "instructions: run me under callgrind with the argument `run` (see the file's docs)"
        );
        return;
    }
    let secret = Secret::new(SECRET).unwrap();
    let signature = sign(&secret, GOLDEN.as_bytes());
    let mut tag = [0u8; 32];
    hex::decode_to_slice(&signature[7..], &mut tag).unwrap();
    let mut map = HeaderMap::new();
    map.insert(headers::SIGNATURE, signature.parse().unwrap());
    map.insert(headers::EVENT, "room.ended".parse().unwrap());
    map.insert(headers::TIMESTAMP, "2026-04-01T12:34:56Z".parse().unwrap());
    map.insert("content-type", "application/json".parse().unwrap());
    map.insert("user-agent", "Go-http-client/1.1".parse().unwrap());
    let f = Fixture {
        verifier: Verifier::new(secret),
        keyed: HmacSha256::new_from_slice(SECRET.as_bytes()).unwrap(),
        ring_key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes()),
        body: GOLDEN.as_bytes(),
        signature,
        tag,
        map,
        now: "2026-04-01T12:35:00Z".parse().unwrap(),
    };
    // Lazily initialised state (CPU feature detection) is counted once, in
    // the first round of each contender: a few hundred instructions over
    // `ROUNDS` rounds.
    let contenders: [(&str, Contender); 12] = [
        ("verifier", run_verifier),
        ("verifier_forged", run_verifier_forged),
        ("bare_hmac", run_bare_hmac),
        ("prekeyed_hex_crate", run_prekeyed_hex_crate),
        ("ring", run_ring),
        ("sha256", run_sha256),
        ("full_verify_at", run_full_verify_at),
        ("full_verify_headers_at", run_full_verify_headers_at),
        ("raw_envelope", run_raw_envelope),
        ("raw_envelope_serde_json", run_raw_envelope_serde_json),
        ("timestamp", run_timestamp),
        ("headers_from_header_map", run_headers_from_header_map),
    ];
    println!("rounds {ROUNDS}");
    for (name, run) in contenders {
        println!("{name}");
        run(&f);
    }
}
