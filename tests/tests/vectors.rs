//! The shared test vectors against the library, with no HTTP in between:
//! every case (the `http_safe: false` ones included) gets its verdict from
//! `Verifier::verify_pairs` and the typed parse; every signature is what the
//! case's `secret` says; every `bedrud_exact` case is byte for byte what the
//! Go-exact encoder and `Delivery` write; the file covers every reason, event
//! and dialect; and its README lists every case.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use bedrud_webhook::delivery::{Delivery, to_go_json};
use bedrud_webhook::{Envelope, EventKind, ParseError, Secret, VerifyError, sign};
use bedrud_webhook_tests::vectors::{self, VectorCase};
use bytes::Bytes;

/// The wire page's golden vectors (`shared/bedrud-wire-format.md`).
const GOLDEN: [(&str, &str, &str); 3] = [
    (
        "golden_room_ended",
        r#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#,
        "sha256=4a8a28e49e3e197b6aa2b626b4226a7131bae2bee66c980a640f1b6401a7469a",
    ),
    (
        "golden_ping",
        r#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#,
        "sha256=5f16939ad45069b2126b88cd3cf1736bc6cd112fc47c6ee8b14874876644b572",
    ),
    (
        "golden_room_created_escaping",
        r#"{"data":{"roomId":"r1","roomName":"\u003cb\u003eQ\u0026A\u003c/b\u003e — café 🎥 \u2028","userId":"u1"},"event":"room.created","timestamp":"2026-04-01T12:34:56Z"}"#,
        "sha256=b8a0d661a77397cb6b13ba923aa7f2200538f60b58d749223b86ba1e115efed1",
    ),
];

/// What the library makes of a case: (status, reason, event handed on).
fn verdict(result: Result<Envelope, VerifyError>) -> (u16, Option<&'static str>, Option<String>) {
    match result {
        Ok(envelope) => (200, None, Some(envelope.event.name().to_owned())),
        Err(e) => (e.status().as_u16(), Some(e.reason()), None),
    }
}

fn signed(secret: &str, body: &[u8]) -> String {
    sign(&Secret::new(secret).unwrap(), body)
}

fn signature_values(case: &VectorCase) -> Vec<&str> {
    case.values("X-Bedrud-Signature")
        .chain(case.values("X-Webhook-Signature"))
        .collect()
}

#[test]
fn every_case_gets_its_verdict_from_the_library() {
    let file = vectors::load();
    let verifier = file.verifier();
    let mut failures = Vec::new();
    for case in &file.cases {
        let body = case.body_bytes();
        let got = verdict(
            verifier
                .verify_pairs(case.pairs(), &body)
                .and_then(|v| v.parse()),
        );
        // `verify` on an `http::HeaderMap` agrees (headers appended, never set).
        if case.http_safe {
            let mut map = http::HeaderMap::new();
            for (name, value) in case.pairs() {
                map.append(
                    http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    http::HeaderValue::from_bytes(value).unwrap(),
                );
            }
            let from_map = verdict(verifier.verify(&map, &body).and_then(|v| v.parse()));
            assert_eq!(
                from_map, got,
                "{}: verify and verify_pairs differ",
                case.name
            );
        }
        let want = (
            case.expect.status,
            case.expect.reason.as_deref(),
            case.expect.event.clone(),
        );
        if got != want {
            failures.push(format!("{}: got {got:?}, want {want:?}", case.name));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn signatures_are_what_the_secret_field_says() {
    let file = vectors::load();
    for case in &file.cases {
        let body = case.body_bytes();
        let values = signature_values(case);
        // Hex digits in either case; the `sha256=` prefix exactly.
        let carries = |value: &str, want: &str| {
            value.strip_prefix("sha256=").is_some_and(|digits| {
                want.strip_prefix("sha256=")
                    .is_some_and(|w| digits.eq_ignore_ascii_case(w))
            })
        };
        match &case.secret {
            Some(secret) => {
                let want = signed(secret, &body);
                assert!(!values.is_empty(), "{}", case.name);
                for value in values {
                    assert!(carries(value, &want), "{}: {value}", case.name);
                }
            }
            None => {
                for secret in &file.secrets {
                    let want = signed(secret, &body);
                    assert!(!values.iter().any(|v| carries(v, &want)), "{}", case.name);
                }
            }
        }
        if case.expect.is_accepted() {
            assert!(
                file.secrets.contains(case.secret.as_ref().unwrap()),
                "{}",
                case.name
            );
        }
    }
}

#[test]
fn bedrud_exact_cases_are_what_the_go_exact_sender_writes() {
    let file = vectors::load();
    let mut typed_differs = BTreeSet::new();
    for case in file.cases.iter().filter(|c| c.bedrud_exact) {
        let name = &case.name;
        let body = case.body_bytes();
        // Go's json.Marshal of the map Bedrud holds gives the same bytes.
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            String::from_utf8(to_go_json(&value).unwrap()).unwrap(),
            String::from_utf8_lossy(&body),
            "{name}"
        );
        // `Delivery` signs it and sets the headers Bedrud sets, in Go's order.
        let secret = Secret::new(case.secret.as_deref().unwrap()).unwrap();
        let request: http::Request<Bytes> = Delivery::from_body(body.clone())
            .request("/webhooks/bedrud", &secret)
            .unwrap();
        assert_eq!(request.body(), &body[..], "{name}");
        let headers: Vec<(&str, &str)> = request
            .headers()
            .iter()
            .filter(|(n, _)| *n != http::header::CONTENT_LENGTH && *n != http::header::HOST)
            .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
            .collect();
        let want: Vec<(String, &str)> = case
            .headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.as_str()))
            .collect();
        let want: Vec<(&str, &str)> = want.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        assert_eq!(headers, want, "{name}");
        // The typed envelope re-encodes to the same bytes, unless its data has
        // fields the typed data does not keep.
        if let Ok(envelope) = Envelope::from_slice(&body)
            && Delivery::new(&envelope).body()[..] != body[..]
        {
            typed_differs.insert(name.as_str());
        }
    }
    assert_eq!(typed_differs, BTreeSet::from(["added_data_fields"]));
}

#[test]
fn the_golden_cases_are_the_wire_pages() {
    let file = vectors::load();
    for (name, body, signature) in GOLDEN {
        let case = file.case(name);
        assert_eq!(case.body.as_deref(), Some(body), "{name}");
        assert_eq!(signature_values(case), [signature], "{name}");
        assert_eq!(signed(&file.secrets[0], body.as_bytes()), signature);
    }
}

#[test]
fn every_reason_event_and_dialect_is_covered() {
    let file = vectors::load();
    let payload = [
        ParseError::NotJsonObject,
        ParseError::MissingEvent,
        ParseError::MissingTimestamp,
        ParseError::InvalidEnvelope,
        ParseError::InvalidTimestamp,
        ParseError::InvalidData(None),
    ];
    let mut every = vec![
        VerifyError::MissingSignature,
        VerifyError::DuplicateSignature,
        VerifyError::MalformedSignature,
        VerifyError::SignatureMismatch,
        VerifyError::TimestampTooOld { age_secs: 301 },
        VerifyError::TimestampTooNew { ahead_secs: 301 },
        VerifyError::HeaderMismatch {
            header: "X-Bedrud-Event",
        },
        VerifyError::BodyTooLarge { limit: 4096 },
    ];
    every.extend(payload.map(VerifyError::Payload));
    let known: BTreeSet<&str> = every.iter().map(VerifyError::reason).collect();
    assert_eq!(known.len(), every.len(), "reason names are distinct");
    let used: BTreeSet<&str> = file
        .cases
        .iter()
        .filter_map(|c| c.expect.reason.as_deref())
        .collect();
    assert_eq!(used, known, "every reason, and only those, appears");
    for e in &every {
        let case = file
            .cases
            .iter()
            .find(|c| c.expect.reason.as_deref() == Some(e.reason()))
            .unwrap();
        assert_eq!(case.expect.status, e.status().as_u16(), "{}", case.name);
    }

    let genuine: BTreeSet<&str> = file
        .cases
        .iter()
        .filter(|c| c.bedrud_exact && c.expect.is_accepted())
        .filter_map(|c| c.expect.event.as_deref())
        .collect();
    for kind in EventKind::ALL {
        assert!(genuine.contains(kind.as_str()), "no genuine {kind}");
    }
    assert!(
        genuine.iter().any(|e| EventKind::from_name(e).is_none()),
        "an unknown event is accepted"
    );
    for name in [
        "dialect_x_webhook",
        "previous_secret",
        "signature_uppercase_hex",
        "header_names_lowercase",
        "timestamp_at_past_edge",
        "timestamp_at_future_edge",
        "body_at_limit",
    ] {
        assert!(file.case(name).expect.is_accepted(), "{name}");
    }
    let guide = file.case("dialect_x_webhook");
    assert_eq!(guide.values("X-Webhook-Signature").count(), 1);
    assert_eq!(guide.values("X-Bedrud-Signature").count(), 0);
    assert_eq!(
        file.case("previous_secret").secret.as_ref(),
        file.secrets.get(1)
    );
}

#[test]
fn the_file_is_well_formed_and_the_readme_lists_every_case() {
    let file = vectors::load();
    let readme = std::fs::read_to_string(vectors::path().with_file_name("README.md")).unwrap();
    let mut names = BTreeSet::new();
    for case in &file.cases {
        let name = case.name.as_str();
        assert!(names.insert(name), "{name} twice");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{name}"
        );
        assert!(!case.description.is_empty(), "{name}");
        assert!(readme.contains(&format!("`{name}`")), "README lacks {name}");

        let body = case.body_bytes();
        assert_eq!(
            case.body_base64.is_some(),
            std::str::from_utf8(&body).is_err(),
            "{name}"
        );
        let expect = &case.expect;
        assert_eq!(
            (expect.reason.is_none(), expect.event.is_some()),
            (expect.is_accepted(), expect.is_accepted()),
            "{name}"
        );
        assert_eq!(
            expect.status == 413,
            body.len() > file.body_limit_bytes,
            "{name}"
        );
        // `http_safe` is false exactly when a value has whitespace around it.
        let padded = case.headers.iter().any(|(_, v)| v.trim() != v);
        assert_eq!(case.http_safe, !padded, "{name}");
    }
}
