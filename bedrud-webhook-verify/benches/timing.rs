//! A dudect statistical timing-leak test of signature verification.
//!
//! Run it with `.ci/timing` (or `cargo bench -p bedrud-webhook-verify --bench
//! timing -- --seconds 20`). Each test times `Verifier::verify_signature` on
//! two classes of inputs, chosen at random per measurement, and prints
//! dudect's largest Welch t-statistic over its percentile crops: |t| below 5
//! means no timing difference between the classes was detected.
//!
//! - `first_byte`: wrong signatures whose first tag byte equals the expected
//!   MAC's (Left) against ones whose first byte differs (Right); the other 31
//!   bytes random in both. An early-exit comparison would take longer on Left.
//! - `equal_prefix`: signatures equal to the expected MAC in their first 31
//!   bytes and wrong in the last (Left) against random signatures (Right): the
//!   largest difference an early-exit comparison could show.
//!
//!   In both, every hex digit sent is of the same kind (`0-9` or `a-f`) as the
//!   expected MAC's digit in its place. The `hex` crate's decoder branches on
//!   each digit's kind, so a fixed header (Left) and a random one (Right)
//!   would differ by branch prediction on the sender's own digits, which says
//!   nothing about the MAC; keeping the kinds leaves the comparison to measure.
//! - `length`: a wrong signature of the correct length (Left) against one of
//!   an incorrect length (Right). A wrong length is refused before any MAC is
//!   computed, so this *is* expected to differ, and harmlessly: the length is
//!   public (always 64 hex digits), and the refusal depends on nothing secret.
//!   It is measured so that the figure is on record, not hidden.
//! - `control_early_exit`: a positive control. The same classes as
//!   `equal_prefix`, through the same HMAC, but compared with a deliberately
//!   leaky byte-by-byte early-exit loop: it shows that this harness, on this
//!   machine, detects a leak of that size at all.
//!
//! Options: `--seconds N` (time budget per test, default 10), `--filter S`
//! (run only tests whose name contains S). Anything else, such as the
//! `--bench` that `cargo bench` passes, is ignored.

#![allow(clippy::expect_used)] // A benchmark program: a failed setup should stop it.

use std::hint::black_box;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use bedrud_webhook_verify::{Secret, Verifier, sign};
use dudect_bencher::ctbench::{BenchMetadata, BenchName, BenchOpts, run_benches_console};
use dudect_bencher::rand::{Rng, RngExt};
use dudect_bencher::{BenchRng, Class, CtRunner};
use hmac::{KeyInit, Mac};

const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";
/// The wire page's first golden body: a realistic `room.ended` envelope.
const BODY: &[u8] = br#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#;
/// Measurements are prepared and taken in batches of this many.
const BATCH: usize = 20_000;

static BUDGET: OnceLock<Duration> = OnceLock::new();

/// How many measurements each test took, printed at the end (dudect's own
/// `n` is that of the percentile crop with the largest |t|, not the total).
static TAKEN: Mutex<Vec<(&str, u64)>> = Mutex::new(Vec::new());

struct Fixture {
    verifier: Verifier,
    expected: [u8; 32],
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let secret = Secret::new(SECRET).expect("non-empty secret");
        let header = sign(&secret, BODY);
        let mut expected = [0u8; 32];
        const_hex::decode_to_slice(&header[7..], &mut expected).expect("sign writes hex");
        Fixture {
            verifier: Verifier::new(secret),
            expected,
        }
    })
}

fn header(tag: &[u8]) -> Vec<u8> {
    let mut out = b"sha256=".to_vec();
    out.extend_from_slice(const_hex::encode(tag).as_bytes());
    out
}

fn random_class(rng: &mut BenchRng) -> Class {
    if rng.random::<bool>() {
        Class::Left
    } else {
        Class::Right
    }
}

/// A random value for one hex digit, of the same kind as `digit` (`0-9` or `a-f`).
fn digit_like(digit: u8, rng: &mut BenchRng) -> u8 {
    if digit < 10 {
        rng.random_range(0..10u8)
    } else {
        rng.random_range(10..16u8)
    }
}

/// A random byte whose two hex digits are of the same kinds as `b`'s.
fn byte_like(b: u8, rng: &mut BenchRng) -> u8 {
    digit_like(b / 16, rng) * 16 + digit_like(b % 16, rng)
}

/// [`byte_like`], but never `b` itself.
fn other_byte_like(b: u8, rng: &mut BenchRng) -> u8 {
    loop {
        let other = byte_like(b, rng);
        if other != b {
            return other;
        }
    }
}

/// A random tag whose hex digits are of the same kinds as `expected`'s, and
/// which differs from it.
fn tag_like(expected: [u8; 32], rng: &mut BenchRng) -> [u8; 32] {
    let mut tag = expected.map(|b| byte_like(b, rng));
    if tag == expected {
        tag[31] = other_byte_like(expected[31], rng);
    }
    tag
}

/// Runs batches of measurements until the time budget is spent. `make`
/// prepares one input for a class; `measure` is what is timed.
fn measure_for_budget<I>(
    name: &'static str,
    runner: &mut CtRunner,
    rng: &mut BenchRng,
    mut make: impl FnMut(Class, &mut BenchRng) -> I,
    measure: impl Fn(&I) -> bool,
) {
    let budget = *BUDGET.get().unwrap_or(&Duration::from_secs(10));
    let start = Instant::now();
    let mut inputs = Vec::with_capacity(BATCH);
    let mut taken = 0u64;
    while start.elapsed() < budget {
        inputs.clear();
        for _ in 0..BATCH {
            let class = random_class(rng);
            inputs.push((class, make(class, rng)));
        }
        for (class, input) in &inputs {
            runner.run_one(*class, || measure(black_box(input)));
        }
        taken += BATCH as u64;
    }
    if let Ok(mut all) = TAKEN.lock() {
        all.push((name, taken));
    }
}

fn verify(sig: &[u8]) -> bool {
    fixture().verifier.verify_signature(sig, BODY).is_ok()
}

fn first_byte(runner: &mut CtRunner, rng: &mut BenchRng) {
    let expected = fixture().expected;
    let make = |class: Class, rng: &mut BenchRng| {
        let mut tag = tag_like(expected, rng);
        tag[0] = match class {
            Class::Left => expected[0],
            Class::Right => other_byte_like(expected[0], rng),
        };
        if tag == expected {
            tag[31] = other_byte_like(expected[31], rng); // keep both classes wrong
        }
        header(&tag)
    };
    measure_for_budget("first_byte", runner, rng, make, |sig| verify(sig));
}

/// Left: right in the first 31 bytes, wrong in the last; Right: random.
fn prefix_or_random(class: Class, expected: [u8; 32], rng: &mut BenchRng) -> [u8; 32] {
    match class {
        Class::Left => {
            let mut tag = expected;
            tag[31] = other_byte_like(tag[31], rng);
            tag
        }
        Class::Right => tag_like(expected, rng),
    }
}

fn equal_prefix(runner: &mut CtRunner, rng: &mut BenchRng) {
    let expected = fixture().expected;
    let make = |class: Class, rng: &mut BenchRng| header(&prefix_or_random(class, expected, rng));
    measure_for_budget("equal_prefix", runner, rng, make, |sig| verify(sig));
}

fn length(runner: &mut CtRunner, rng: &mut BenchRng) {
    let make = |class: Class, rng: &mut BenchRng| {
        let mut tag = [0u8; 33];
        rng.fill_bytes(&mut tag);
        let mut sig = header(&tag[..32]);
        if let Class::Right = class {
            // 63, 65 or 66 hex digits instead of 64.
            match rng.random_range(0..3u8) {
                0 => {
                    sig.pop();
                }
                1 => sig.push(b'0'),
                _ => sig.extend_from_slice(b"00"),
            }
        }
        sig
    };
    measure_for_budget("length", runner, rng, make, |sig| verify(sig));
}

/// The positive control: HMAC as the verifier computes it, then a comparison
/// that stops at the first differing byte.
fn control_early_exit(runner: &mut CtRunner, rng: &mut BenchRng) {
    let expected = fixture().expected;
    let key = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes())
        .expect("HMAC takes any key");
    let make = |class: Class, rng: &mut BenchRng| prefix_or_random(class, expected, rng);
    let leaky = |tag: &[u8; 32]| {
        let mut mac = key.clone();
        mac.update(BODY);
        let computed = mac.finalize().into_bytes();
        for (a, b) in computed.iter().zip(tag) {
            if black_box(*a) != *b {
                return false;
            }
        }
        true
    };
    measure_for_budget("control_early_exit", runner, rng, make, leaky);
}

fn main() {
    let mut seconds = 10u64;
    let mut filter = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--seconds takes a whole number");
            }
            "--filter" => filter = args.next(),
            _ => {} // `--bench` from cargo, and anything else: ignored
        }
    }
    BUDGET
        .set(Duration::from_secs(seconds))
        .expect("set once, here");
    // Fixed seeds, so that a run can be repeated exactly (up to the timings).
    let benches = vec![
        BenchMetadata {
            name: BenchName("equal_prefix"),
            seed: Some(0xb3d2_0001),
            benchfn: equal_prefix,
        },
        BenchMetadata {
            name: BenchName("control_early_exit"),
            seed: Some(0xb3d2_0002),
            benchfn: control_early_exit,
        },
        BenchMetadata {
            name: BenchName("first_byte"),
            seed: Some(0xb3d2_0003),
            benchfn: first_byte,
        },
        BenchMetadata {
            name: BenchName("length"),
            seed: Some(0xb3d2_0004),
            benchfn: length,
        },
    ];
    let opts = BenchOpts {
        continuous: false,
        filter,
        file_out: None,
    };
    println!("dudect: {seconds} s per test; |max t| < 5: no timing difference detected");
    run_benches_console(opts, benches).expect("stdout is writable");
    if let Ok(all) = TAKEN.lock() {
        for (name, taken) in all.iter() {
            println!("measurements {name}: {taken}");
        }
    }
}
