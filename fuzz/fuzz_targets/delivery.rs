//! The full delivery check: arbitrary header pairs and body against a fixed
//! secret (plus a previous one, as during a rotation), at an arbitrary instant.
//!
//! Header values can be the body's genuine signature, so that the fuzzer gets
//! past the MAC and explores the envelope, timestamp and header checks too.
//!
//! Properties checked on every input:
//! - `Verifier::verify_pairs` never panics;
//! - **no false accepts**: an `Ok` means exactly one signature header, the
//!   genuine MAC of the body for one of the two secrets (and the returned tag
//!   is that MAC), a body within the limit that is an envelope whose
//!   timestamp is within the tolerance of now, and every event/timestamp
//!   header present equals the body's field;
//! - no false rejects of the MAC: a genuine signature is never refused as
//!   missing, duplicated, malformed or mismatched;
//! - every refusal is 400, 401 or 413, and its text shows neither secret nor MAC;
//! - `Verifier::verify` (`http::HeaderMap`) agrees with `verify_pairs`
//!   whenever the pairs fit in a `HeaderMap`.
#![no_main]

use std::sync::LazyLock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bedrud_webhook_fuzz::{
    BODY_LIMIT, DeliveryInput, GOLDEN_UNIX, Now, PREVIOUS_SECRET, SECRET, ValueKind,
};
use bedrud_webhook_verify::{Error, RawEnvelope, Secret, Verified, Verifier, sign};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

const TOLERANCE: u64 = 300;

/// The verifier's clock, in seconds from the Unix epoch: set per input.
static NOW: AtomicI64 = AtomicI64::new(GOLDEN_UNIX);

struct Fixture {
    current: Secret,
    previous: Secret,
    verifier: Verifier,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let current = Secret::new(SECRET).expect("non-empty");
    let previous = Secret::new(PREVIOUS_SECRET).expect("non-empty");
    let verifier = Verifier::builder(current.clone())
        .previous_secret(previous.clone())
        .tolerance(Duration::from_secs(TOLERANCE))
        .body_limit(BODY_LIMIT)
        .clock(|| system_time(NOW.load(Ordering::Relaxed)).unwrap_or(UNIX_EPOCH))
        .build();
    Fixture {
        current,
        previous,
        verifier,
    }
});

/// `secs` from the Unix epoch as a `SystemTime`, if it can hold it.
fn system_time(secs: i64) -> Option<SystemTime> {
    let offset = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    }
}

fn is_genuine(value: &[u8], expected: &str) -> bool {
    let expected = expected.as_bytes();
    value.len() == expected.len()
        && value[..7] == expected[..7]
        && value[7..].eq_ignore_ascii_case(&expected[7..])
}

fn values<'a>(pairs: &'a [(String, Vec<u8>)], name: &str) -> Vec<&'a [u8]> {
    pairs
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
        .collect()
}

/// The result reduced to something comparable across entry points.
fn outcome(r: &Result<Verified<'_>, Error>) -> Result<[u8; 32], Error> {
    r.as_ref().map(|v| v.tag).map_err(|e| *e)
}

fuzz_target!(|input: DeliveryInput<'_>| {
    let fx = &*FIXTURE;
    let body = input.body;
    let genuine = sign(&fx.current, body);
    let genuine_previous = sign(&fx.previous, body);
    let envelope = RawEnvelope::from_slice(body).ok();

    // Header names are text in `verify_pairs`; arbitrary name bytes are
    // read as UTF-8, lossily.
    let pairs: Vec<(String, Vec<u8>)> = input
        .headers
        .iter()
        .map(|h| {
            let value = match h.value {
                ValueKind::Genuine => genuine.clone().into_bytes(),
                ValueKind::GenuinePrevious => genuine_previous.clone().into_bytes(),
                ValueKind::GenuineUpper => {
                    format!("sha256={}", genuine[7..].to_ascii_uppercase()).into_bytes()
                }
                ValueKind::BodyEvent => envelope
                    .as_ref()
                    .map(|e| e.event().as_bytes().to_vec())
                    .unwrap_or_default(),
                ValueKind::BodyTimestamp => envelope
                    .as_ref()
                    .map(|e| e.timestamp_text().as_bytes().to_vec())
                    .unwrap_or_default(),
                ValueKind::Raw(raw) => raw.to_vec(),
            };
            (String::from_utf8_lossy(&h.name_bytes()).into_owned(), value)
        })
        .collect();

    let body_instant = envelope
        .as_ref()
        .map_or(GOLDEN_UNIX, |e| e.timestamp().unix_seconds());
    let now = match input.now {
        Now::BodyPlus(offset) => body_instant.saturating_add(i64::from(offset)),
        Now::GoldenPlus(offset) => GOLDEN_UNIX + i64::from(offset),
        Now::Absolute(secs) => secs,
    };
    let now = if system_time(now).is_some() {
        now
    } else {
        GOLDEN_UNIX
    };
    NOW.store(now, Ordering::Relaxed);

    let result = fx
        .verifier
        .verify_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_slice())), body);

    // Which signature the check had to use, by an independent reading: both
    // dialects' names, exactly one value in all.
    let mut signatures = values(&pairs, "x-bedrud-signature");
    signatures.extend(values(&pairs, "x-webhook-signature"));
    let mac_ok = matches!(signatures.as_slice(), [one] if is_genuine(one, &genuine) || is_genuine(one, &genuine_previous));

    match &result {
        Ok(verified) => {
            assert!(body.len() <= BODY_LIMIT);
            assert!(mac_ok, "false accept: {pairs:?}");
            let tag = hex::encode(verified.tag);
            assert!(tag == genuine[7..] || tag == genuine_previous[7..]);
            let env = envelope.as_ref().expect("an accepted body is an envelope");
            assert_eq!(verified.envelope.event(), env.event());
            assert_eq!(verified.envelope.timestamp(), env.timestamp());
            let age = i128::from(now) - i128::from(env.timestamp().unix_seconds());
            assert!(age.unsigned_abs() <= u128::from(TOLERANCE), "age {age}");
            for (name, field) in [
                ("x-bedrud-event", env.event()),
                ("x-webhook-event", env.event()),
                ("x-bedrud-timestamp", env.timestamp_text()),
            ] {
                let v = values(&pairs, name);
                assert!(
                    v.iter().all(|v| *v == field.as_bytes()),
                    "unsigned header {name} disagrees yet accepted: {v:?}"
                );
            }
        }
        Err(e) => {
            let status = e.status().as_u16();
            assert!(matches!(status, 400 | 401 | 413), "{e}: {status}");
            if body.len() > BODY_LIMIT {
                assert_eq!(*e, Error::BodyTooLarge { limit: BODY_LIMIT });
            } else if mac_ok {
                assert!(
                    !matches!(
                        e,
                        Error::SignatureMismatch
                            | Error::MalformedSignature
                            | Error::MissingSignature
                            | Error::DuplicateSignature
                    ),
                    "genuine signature refused: {e}"
                );
            }
            let shown = format!("{e} {e:?}");
            for needle in [
                &genuine[7..],
                &genuine_previous[7..],
                SECRET,
                PREVIOUS_SECRET,
            ] {
                assert!(!shown.contains(needle), "{shown}");
            }
        }
    }

    // The HeaderMap entry point must agree, when the pairs fit in one.
    let mut map = HeaderMap::new();
    let fits = pairs.iter().all(|(n, v)| {
        match (
            HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_bytes(v),
        ) {
            (Ok(n), Ok(v)) => {
                map.append(n, v);
                true
            }
            _ => false,
        }
    });
    if fits {
        let via_map = fx.verifier.verify(&map, body);
        assert_eq!(outcome(&via_map), outcome(&result), "{pairs:?}");
    }
});
