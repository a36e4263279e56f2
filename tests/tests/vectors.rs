//! The shared test vectors, `tests/vectors/bedrud-webhook-vectors.json`:
//! the checked-in file is exactly what the generator writes now; every case
//! gets its expected verdict from the verifier and the typed parser; the
//! accepted bodies re-encode to themselves and carry true signatures; and
//! the file covers every rejection reason and every event.

// Test code: a failed unwrap or expect is a failed test, which is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use bedrud_webhook_tests::vectors::{
    self, REASON_INVALID_DATA, STATUS_ACCEPTED, VERDICT_ACCEPTED, VERDICT_REJECTED, VectorCase,
    VectorFile,
};
use bedrud_webhook_types::{Envelope, EventKind, RawEnvelope};
use bedrud_webhook_verify::{Error, Secret, SignatureFormatError, sign};

const REGENERATE: &str = "cargo run -p bedrud-webhook-tests --bin generate-vectors > tests/vectors/bedrud-webhook-vectors.json";

fn file() -> VectorFile {
    vectors::load().expect("the vectors file loads")
}

fn body(case: &VectorCase) -> Vec<u8> {
    case.body_bytes().expect("the case has a body")
}

/// The values of both signature headers, in order.
fn signatures(case: &VectorCase) -> Vec<&str> {
    case.header_values("X-Bedrud-Signature")
        .chain(case.header_values("X-Webhook-Signature"))
        .collect()
}

fn signed(secret: &str, body: &[u8]) -> String {
    sign(&Secret::new(secret).unwrap(), body)
}

/// Whether `value` is `sha256=` and the digits of `want`, in either case.
fn carries(value: &str, want: &str) -> bool {
    match (value.strip_prefix("sha256="), want.strip_prefix("sha256=")) {
        (Some(got), Some(want)) => got.eq_ignore_ascii_case(want),
        _ => false,
    }
}

#[test]
fn checked_in_file_is_what_the_generator_writes() {
    let path = vectors::path();
    let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e}; generate it with `{REGENERATE}`",
            path.display()
        )
    });
    let generated = vectors::render(&vectors::generate().unwrap()).unwrap();
    if on_disk != generated {
        let line = on_disk
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| on_disk.lines().count().min(generated.lines().count()));
        panic!(
            "{} is not what the generator writes (first difference at line {}):\n  file:      {:?}\n  generator: {:?}\nregenerate it with `{REGENERATE}`, and review the diff",
            path.display(),
            line + 1,
            on_disk.lines().nth(line),
            generated.lines().nth(line),
        );
    }
    assert!(
        generated.ends_with("}\n"),
        "pretty JSON with a trailing newline"
    );
    assert_eq!(
        vectors::generate().unwrap(),
        vectors::generate().unwrap(),
        "the generator is deterministic"
    );
}

#[test]
fn every_case_gets_its_expected_verdict() {
    let file = file();
    let verifier = file.verifier().unwrap();
    let now = file.now().unwrap();
    let mut failures = Vec::new();
    for case in &file.cases {
        let body = body(case);
        // The verifier's own clock is pinned to the file's `now`, so the
        // clock-reading entry point (the one the integrations use) agrees
        // with the explicit one.
        assert_eq!(
            verifier
                .verify_headers(&case.delivery_headers(), &body)
                .map(|d| d.envelope.event.to_string()),
            verifier
                .verify_headers_at(&case.delivery_headers(), &body, now)
                .map(|d| d.envelope.event.to_string()),
            "{}",
            case.name
        );
        let got = match verifier.verify_headers_at(&case.delivery_headers(), &body, now) {
            Err(e) => (e.status().as_u16(), Some(e.reason()), None),
            Ok(delivery) => match Envelope::from_raw(&delivery.envelope) {
                Ok(envelope) => (
                    STATUS_ACCEPTED,
                    None,
                    Some(envelope.event.name().to_owned()),
                ),
                // What the integrations answer for a typed-parse failure.
                Err(_) => (400, Some(REASON_INVALID_DATA), None),
            },
        };
        let want = (
            case.expect.status,
            case.expect.reason.as_deref(),
            case.expect.event.clone(),
        );
        if got != want {
            failures.push(format!("{}: got {got:?}, want {want:?}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn accepted_bodies_re_encode_byte_for_byte() {
    for case in file().cases.iter().filter(|c| c.expect.is_accepted()) {
        let body = body(case);
        let envelope = Envelope::from_slice(&body).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&envelope.to_bedrud_json()),
            String::from_utf8_lossy(&body),
            "{}",
            case.name
        );
        assert_eq!(Some(envelope.event.name()), case.expect.event.as_deref());
    }
}

#[test]
fn signatures_are_what_the_secret_field_says() {
    let file = file();
    for case in &file.cases {
        let body = body(case);
        let values = signatures(case);
        match &case.secret {
            Some(secret) => {
                let want = signed(secret, &body);
                assert!(!values.is_empty(), "{}: no signature header", case.name);
                for value in values {
                    assert!(
                        carries(value, &want),
                        "{}: {value} is not sign(secret, body) = {want}",
                        case.name
                    );
                }
            }
            None => {
                // Not a signature of this body under any secret in the file.
                for secret in &file.secrets {
                    let want = signed(secret, &body);
                    for value in &values {
                        assert!(!carries(value, &want), "{}", case.name);
                    }
                }
            }
        }
        if case.expect.is_accepted() {
            let secret = case.secret.as_ref().expect("accepted cases are signed");
            assert!(
                file.secrets.contains(secret),
                "{}: signed with a secret the receiver does not have",
                case.name
            );
        }
    }
}

#[test]
fn bedrud_exact_cases_are_what_bedrud_sends() {
    for case in file().cases.iter().filter(|c| c.bedrud_exact) {
        let body = body(case);
        let secret = case.secret.as_ref().expect("a Bedrud delivery is signed");
        let raw = RawEnvelope::from_slice(&body).unwrap();
        let want: Vec<(String, String)> = [
            ("User-Agent", "Go-http-client/1.1"),
            ("Content-Type", "application/json"),
            ("X-Bedrud-Event", &raw.event),
            ("X-Bedrud-Signature", &signed(secret, &body)),
            ("X-Bedrud-Timestamp", &raw.timestamp),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(case.headers, want, "{}", case.name);
        assert!(case.http_safe, "{}", case.name);
        let envelope = Envelope::from_slice(&body).unwrap();
        assert_eq!(envelope.to_bedrud_json(), body, "{}", case.name);
    }
}

#[test]
fn every_reason_and_every_event_is_covered() {
    let file = file();
    // Every variant of the verifier's `Error` (non-exhaustive, so listed by
    // hand: a new variant needs a line here and a case in the generator).
    let every_error = [
        Error::MissingSignature,
        Error::DuplicateSignature,
        Error::MalformedSignature(SignatureFormatError::Empty),
        Error::SignatureMismatch,
        Error::TimestampTooOld {
            age_secs: 301,
            tolerance_secs: 300,
        },
        Error::TimestampTooNew {
            ahead_secs: 301,
            tolerance_secs: 300,
        },
        Error::HeaderMismatch {
            header: "X-Bedrud-Event",
        },
        Error::BodyTooLarge { limit: 4096 },
        Error::NotJsonObject,
        Error::MissingEvent,
        Error::MissingTimestamp,
        Error::InvalidEnvelope,
        Error::InvalidTimestamp,
    ];
    let mut known: BTreeSet<&str> = every_error.iter().map(Error::reason).collect();
    assert_eq!(known.len(), every_error.len(), "reason names are distinct");
    known.insert(REASON_INVALID_DATA);

    let used: BTreeSet<&str> = file
        .cases
        .iter()
        .filter_map(|c| c.expect.reason.as_deref())
        .collect();
    assert_eq!(used, known, "every reason, and only those, appears");

    let events: BTreeSet<&str> = file
        .cases
        .iter()
        .filter(|c| c.bedrud_exact && c.expect.is_accepted())
        .filter_map(|c| c.expect.event.as_deref())
        .collect();
    for kind in EventKind::ALL {
        assert!(
            events.contains(kind.as_str()),
            "no genuine Bedrud delivery of {kind}"
        );
    }
    assert!(
        events.iter().any(|e| e.parse::<EventKind>().is_err()),
        "an unknown event is accepted"
    );

    let statuses: BTreeSet<u16> = file.cases.iter().map(|c| c.expect.status).collect();
    assert_eq!(statuses, BTreeSet::from([200, 400, 401, 413]));

    // Every way a signature can be malformed.
    let verifier = file.verifier().unwrap();
    let forms: BTreeSet<String> = file
        .cases
        .iter()
        .filter_map(|case| {
            let value = signatures(case).first().copied()?;
            match verifier.verify_signature(value.as_bytes(), &body(case)) {
                Err(Error::MalformedSignature(form)) => Some(
                    format!("{form:?}")
                        .split('(')
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                ),
                _ => None,
            }
        })
        .collect();
    for form in [
        "Empty",
        "UnsupportedAlgorithm",
        "MissingPrefix",
        "WrongLength",
        "NotHex",
    ] {
        assert!(
            forms.contains(form),
            "no malformed signature of form {form}"
        );
    }

    // The dialects, rotation, hex case and the edges are there too.
    for name in [
        "dialect_x_webhook",
        "previous_secret",
        "signature_uppercase_hex",
        "golden_room_ended",
        "golden_ping",
        "golden_room_created_escaping",
        "timestamp_at_past_edge",
        "timestamp_at_future_edge",
        "body_at_limit",
    ] {
        let case = file.case(name).unwrap_or_else(|| panic!("no case {name}"));
        assert!(case.expect.is_accepted(), "{name}");
    }
    let previous = file.case("previous_secret").unwrap();
    assert_eq!(previous.secret.as_ref(), file.secrets.get(1));
}

#[test]
fn the_file_is_well_formed() {
    let file = file();
    assert_eq!(file.format_version, vectors::FORMAT_VERSION);
    assert_eq!(file.tolerance_seconds, 300);
    assert_eq!(file.now().unwrap().to_string(), file.now, "Bedrud's form");
    assert!(file.secrets.len() >= 2 && file.secrets.iter().all(|s| !s.is_empty()));
    let distinct: BTreeSet<&String> = file.secrets.iter().collect();
    assert_eq!(distinct.len(), file.secrets.len());

    let mut names = BTreeSet::new();
    for case in &file.cases {
        let name = &case.name;
        assert!(names.insert(name.as_str()), "{name} appears twice");
        assert!(
            name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{name} is not snake_case"
        );
        assert!(!case.description.is_empty(), "{name}");

        // Exactly one body field, base64 only for bytes that are not UTF-8.
        let bytes = body(case);
        assert_eq!(
            case.body_base64.is_some(),
            std::str::from_utf8(&bytes).is_err(),
            "{name}"
        );

        // The verdict's fields agree with one another.
        let expect = &case.expect;
        if expect.verdict == VERDICT_ACCEPTED {
            assert_eq!(expect.status, STATUS_ACCEPTED, "{name}");
            assert!(expect.reason.is_none() && expect.event.is_some(), "{name}");
        } else {
            assert_eq!(expect.verdict, VERDICT_REJECTED, "{name}");
            assert!(matches!(expect.status, 400 | 401 | 413), "{name}");
            assert!(expect.reason.is_some() && expect.event.is_none(), "{name}");
        }
        if expect.status == 413 {
            assert!(bytes.len() > file.body_limit_bytes, "{name}");
        } else {
            assert!(bytes.len() <= file.body_limit_bytes, "{name}");
        }

        // Every header is a valid HTTP header; `http_safe` is false exactly
        // when a value has whitespace around it, which HTTP would strip.
        let mut map = http::HeaderMap::new();
        let mut padded = false;
        for (header, value) in &case.headers {
            let header = http::HeaderName::from_bytes(header.as_bytes())
                .unwrap_or_else(|e| panic!("{name}: header name {header:?}: {e}"));
            let value = http::HeaderValue::from_str(value)
                .unwrap_or_else(|e| panic!("{name}: header value {value:?}: {e}"));
            let text = value.as_bytes();
            padded |= text.first().is_some_and(|b| matches!(b, b' ' | b'\t'))
                || text.last().is_some_and(|b| matches!(b, b' ' | b'\t'));
            map.append(header, value);
        }
        assert_eq!(case.http_safe, !padded, "{name}");
    }
}

#[test]
fn the_readme_lists_every_case() {
    let path = vectors::path().with_file_name("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    for case in &file().cases {
        assert!(
            readme.contains(&format!("`{}`", case.name)),
            "{} does not list the case {}",
            path.display(),
            case.name
        );
    }
}
