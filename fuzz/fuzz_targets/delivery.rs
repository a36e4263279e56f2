//! The full delivery check: arbitrary headers and body against a fixed secret
//! (plus a previous one, as during a rotation), at an arbitrary instant.
//!
//! Header values can be the body's genuine signature, so that the fuzzer gets
//! past the MAC and explores the envelope, timestamp and header checks too.
//!
//! Properties checked on every input:
//! - `verify_headers_at` never panics;
//! - **no false accepts**: an `Ok` means exactly one signature was in effect,
//!   it is the genuine MAC of the body for one of the two secrets, the body
//!   is within the limit and is an envelope whose timestamp is within the
//!   tolerance of `now`, and every event/timestamp header present appears
//!   once and equals the body's field;
//! - no false rejects of the MAC: a genuine signature is never refused as
//!   mismatched or malformed;
//! - every refusal is 400, 401 or 413, and its text shows neither secret nor MAC;
//! - the `http::HeaderMap` entry point agrees with the byte-pairs one whenever
//!   the headers are representable in a `HeaderMap`.
#![no_main]

use std::sync::LazyLock;

use bedrud_webhook_fuzz::{
    BODY_LIMIT, DeliveryInput, GOLDEN_UNIX, Now, PREVIOUS_SECRET, SECRET, ValueKind,
};
use bedrud_webhook_verify::{
    DeliveryHeaders, Error, RawEnvelope, Secret, Timestamp, Verifier, sign,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

const TOLERANCE: u64 = 300;

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
        .tolerance(std::time::Duration::from_secs(TOLERANCE))
        .body_limit(BODY_LIMIT)
        .build();
    Fixture {
        current,
        previous,
        verifier,
    }
});

fn is_genuine(header: &[u8], expected: &str) -> bool {
    let expected = expected.as_bytes();
    header.len() == expected.len()
        && header[..7] == expected[..7]
        && header[7..].eq_ignore_ascii_case(&expected[7..])
}

fn values<'a>(pairs: &'a [(Vec<u8>, Vec<u8>)], name: &str) -> Vec<&'a [u8]> {
    pairs
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| v.as_slice())
        .collect()
}

/// The result reduced to something comparable across entry points.
fn outcome(r: &Result<bedrud_webhook_verify::VerifiedDelivery<'_>, Error>) -> Result<(), Error> {
    r.as_ref().map(|_| ()).map_err(Clone::clone)
}

fuzz_target!(|input: DeliveryInput<'_>| {
    let fx = &*FIXTURE;
    let body = input.body;
    let genuine = sign(&fx.current, body);
    let genuine_previous = sign(&fx.previous, body);
    let envelope = RawEnvelope::from_slice(body).ok();

    let pairs: Vec<(Vec<u8>, Vec<u8>)> = input
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
                    .map(|e| e.event.as_bytes().to_vec())
                    .unwrap_or_default(),
                ValueKind::BodyTimestamp => envelope
                    .as_ref()
                    .map(|e| e.timestamp.as_bytes().to_vec())
                    .unwrap_or_default(),
                ValueKind::Raw(raw) => raw.to_vec(),
            };
            (h.name_bytes(), value)
        })
        .collect();

    let body_instant = envelope
        .as_ref()
        .and_then(|e| Timestamp::parse(&e.timestamp).ok())
        .map_or(GOLDEN_UNIX, Timestamp::unix_seconds);
    let now_secs = match input.now {
        Now::BodyPlus(offset) => body_instant.saturating_add(i64::from(offset)),
        Now::GoldenPlus(offset) => GOLDEN_UNIX + i64::from(offset),
        Now::Absolute(secs) => secs,
    };
    let now = Timestamp::from_unix_seconds(now_secs)
        .or_else(|_| Timestamp::from_unix_seconds(GOLDEN_UNIX))
        .expect("the golden instant is in range");

    let headers = DeliveryHeaders::from_pairs(pairs.iter().map(|(n, v)| (&n[..], &v[..])));
    let result = fx.verifier.verify_headers_at(&headers, body, now);

    // Which signature the check had to use, by an independent reading.
    let bedrud = values(&pairs, "x-bedrud-signature");
    let webhook = values(&pairs, "x-webhook-signature");
    let in_effect: Option<&[u8]> = match (bedrud.as_slice(), webhook.as_slice()) {
        ([one], _) | ([], [one]) => Some(one),
        _ => None,
    };
    let mac_ok = in_effect
        .is_some_and(|sig| is_genuine(sig, &genuine) || is_genuine(sig, &genuine_previous));

    match &result {
        Ok(delivery) => {
            assert!(body.len() <= BODY_LIMIT);
            assert!(mac_ok, "false accept: {pairs:?}");
            assert!(std::ptr::eq(delivery.body, body));
            let env = envelope.as_ref().expect("accepted body is an envelope");
            assert_eq!(delivery.envelope.event, env.event);
            assert_eq!(delivery.envelope.timestamp, env.timestamp);
            let ts = Timestamp::parse(&env.timestamp).expect("accepted timestamp parses");
            assert_eq!(delivery.timestamp, ts);
            assert!(now.unix_seconds().abs_diff(ts.unix_seconds()) <= TOLERANCE);
            for (name, field) in [
                ("x-bedrud-event", &env.event),
                ("x-webhook-event", &env.event),
                ("x-bedrud-timestamp", &env.timestamp),
            ] {
                let v = values(&pairs, name);
                assert!(
                    v.is_empty() || (v.len() == 1 && v[0] == field.as_bytes()),
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
                            | Error::MalformedSignature(_)
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

    // The HeaderMap entry point must agree, when the headers fit in one.
    let mut map = HeaderMap::new();
    let representable =
        pairs.iter().all(
            |(n, v)| match (HeaderName::from_bytes(n), HeaderValue::from_bytes(v)) {
                (Ok(n), Ok(v)) => {
                    map.append(n, v);
                    true
                }
                _ => false,
            },
        );
    if representable {
        let via_map = fx.verifier.verify_at(&map, body, now);
        assert_eq!(outcome(&via_map), outcome(&result), "{pairs:?}");
    }
});
