//! A verification makes no heap allocation: counted with dhat's global
//! allocator, which is why this test is a binary of its own (`harness = false`).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use bedrud_webhook_verify::{Secret, Timestamp, Verifier, headers, sign};
use http::HeaderMap;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const ROUNDS: u64 = 1_000;

/// Runs `f` `ROUNDS` times and returns how many heap blocks it allocated.
fn blocks_allocated(mut f: impl FnMut() -> bool) -> u64 {
    // One warm-up call, so that lazily initialised state (if any) is not counted.
    assert!(f());
    let before = dhat::HeapStats::get().total_blocks;
    for _ in 0..ROUNDS {
        assert!(std::hint::black_box(f()));
    }
    dhat::HeapStats::get().total_blocks - before
}

fn main() {
    let _profiler = dhat::Profiler::builder().testing().build();

    let secret = Secret::new("9f86d081884c7d659a2feaa0c55ad015").unwrap();
    let previous = Secret::new("e3b0c44298fc1c149afbf4c8996fb924").unwrap();
    let verifier = Verifier::builder(secret.clone())
        .previous_secret(previous.clone())
        .build();
    // Signed now, so that the system clock's window accepts it.
    let now = Timestamp::now().to_string();
    let body = format!(
        r#"{{"data":{{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"}},"event":"room.ended","timestamp":"{now}"}}"#
    );
    let body = body.as_bytes();
    let signature = sign(&secret, body);
    let old_signature = sign(&previous, body);
    let mut map = HeaderMap::new();
    map.insert("user-agent", "Go-http-client/1.1".parse().unwrap());
    map.insert("content-type", "application/json".parse().unwrap());
    map.insert(headers::EVENT, "room.ended".parse().unwrap());
    map.insert(headers::SIGNATURE, signature.parse().unwrap());
    map.insert(headers::TIMESTAMP, now.parse().unwrap());
    let pairs = [
        ("X-Bedrud-Signature", signature.as_bytes()),
        ("X-Bedrud-Event", &b"room.ended"[..]),
        ("X-Bedrud-Timestamp", now.as_bytes()),
    ];

    let results = [
        (
            "verify_signature",
            blocks_allocated(|| {
                verifier
                    .verify_signature(signature.as_bytes(), body)
                    .is_ok()
            }),
        ),
        (
            "verify_signature, previous secret",
            blocks_allocated(|| {
                verifier
                    .verify_signature(old_signature.as_bytes(), body)
                    .is_ok()
            }),
        ),
        (
            "verify_signature, forged",
            blocks_allocated(|| {
                verifier
                    .verify_signature(
                        b"sha256=0000000000000000000000000000000000000000000000000000000000000000",
                        body,
                    )
                    .is_err()
            }),
        ),
        (
            "verify (HeaderMap of 5 headers, system clock)",
            blocks_allocated(|| verifier.verify(&map, body).is_ok()),
        ),
        (
            "verify_pairs (3 pairs, system clock)",
            blocks_allocated(|| verifier.verify_pairs(pairs, body).is_ok()),
        ),
    ];

    // The control: the counter must see an allocation when there is one,
    // or every zero above would prove nothing.
    let control = blocks_allocated(|| std::hint::black_box(signature.clone()).len() == 71);

    let mut failed = 0;
    for (name, blocks) in &results {
        let verdict = if *blocks == 0 { "ok" } else { "FAILED" };
        println!("test {name} ... {verdict} ({blocks} heap blocks in {ROUNDS} runs)");
        failed += usize::from(*blocks != 0);
    }
    let control_ok = control == ROUNDS;
    println!(
        "test control: cloning a String is counted ... {} ({control} heap blocks in {ROUNDS} runs)",
        if control_ok { "ok" } else { "FAILED" }
    );
    failed += usize::from(!control_ok);
    println!(
        "zero_alloc: {} passed, {failed} failed",
        results.len() + 1 - failed
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
