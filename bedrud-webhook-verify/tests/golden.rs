//! The golden vectors of the wire-format page, computed with Go's
//! `encoding/json` and `crypto/hmac`.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, UNIX_EPOCH};

use bedrud_webhook_verify::{Envelope, Error, Secret, Verifier, headers, sign};
use http::HeaderMap;

const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";
/// 2026-04-01T12:34:56Z, the vectors' timestamp.
const SENT: u64 = 1_775_046_896;

/// (body, event, signature)
const VECTORS: [(&str, &str, &str); 3] = [
    (
        r#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#,
        "room.ended",
        "sha256=4a8a28e49e3e197b6aa2b626b4226a7131bae2bee66c980a640f1b6401a7469a",
    ),
    (
        r#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#,
        "ping",
        "sha256=5f16939ad45069b2126b88cd3cf1736bc6cd112fc47c6ee8b14874876644b572",
    ),
    (
        "{\"data\":{\"roomId\":\"r1\",\"roomName\":\"\\u003cb\\u003eQ\\u0026A\\u003c/b\\u003e \u{2014} caf\u{e9} \u{1f3a5} \\u2028\",\"userId\":\"u1\"},\"event\":\"room.created\",\"timestamp\":\"2026-04-01T12:34:56Z\"}",
        "room.created",
        "sha256=b8a0d661a77397cb6b13ba923aa7f2200538f60b58d749223b86ba1e115efed1",
    ),
];

fn verifier() -> Verifier {
    Verifier::builder(Secret::new(SECRET).unwrap())
        .clock(|| UNIX_EPOCH + Duration::from_secs(SENT + 4))
        .build()
}

#[test]
fn sign_reproduces_go() {
    let secret = Secret::new(SECRET).unwrap();
    for (body, _, signature) in VECTORS {
        assert_eq!(sign(&secret, body.as_bytes()), signature, "{body}");
        assert_eq!(verifier().sign(body.as_bytes()), signature, "{body}");
    }
}

#[test]
fn verify_signature_returns_the_golden_tag() {
    for (body, _, signature) in VECTORS {
        let tag = verifier()
            .verify_signature(signature.as_bytes(), body.as_bytes())
            .unwrap();
        assert_eq!(const_hex::encode(tag), signature["sha256=".len()..]);
    }
}

#[test]
fn full_check_accepts_every_golden_delivery_as_bedrud_sends_it() {
    for (body, event, signature) in VECTORS {
        let mut map = HeaderMap::new();
        map.append("user-agent", "Go-http-client/1.1".parse().unwrap());
        map.append("content-type", "application/json".parse().unwrap());
        map.append(headers::EVENT, event.parse().unwrap());
        map.append(headers::SIGNATURE, signature.parse().unwrap());
        map.append(headers::TIMESTAMP, "2026-04-01T12:34:56Z".parse().unwrap());
        let verified = verifier().verify(&map, body.as_bytes()).unwrap();
        assert_eq!(verified.envelope.event(), event);
        assert_eq!(verified.envelope.timestamp().unix_seconds(), SENT as i64);
        assert_eq!(
            const_hex::encode(verified.tag),
            signature["sha256=".len()..]
        );
        let envelope = verified.parse().unwrap();
        assert_eq!(envelope, Envelope::from_slice(body.as_bytes()).unwrap());
        assert_eq!(envelope.event.name(), event);
    }
}

#[test]
fn the_admin_guide_dialect_verifies_too() {
    let (body, event, signature) = VECTORS[0];
    let pairs = [
        ("X-Webhook-Signature", signature.as_bytes()),
        ("X-Webhook-Event", event.as_bytes()),
    ];
    let verified = verifier().verify_pairs(pairs, body.as_bytes()).unwrap();
    assert_eq!(verified.envelope.event(), event);
}

#[test]
fn a_golden_signature_does_not_verify_another_golden_body() {
    let (body, _, _) = VECTORS[0];
    let (_, _, other) = VECTORS[1];
    assert_eq!(
        verifier().verify_signature(other.as_bytes(), body.as_bytes()),
        Err(Error::SignatureMismatch)
    );
}
