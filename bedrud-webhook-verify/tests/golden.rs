//! The golden vectors of the wire-format page, computed with Go's
//! `encoding/json` and `crypto/hmac`.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bedrud_webhook_verify::{DeliveryHeaders, Secret, Timestamp, Verifier, sign};

const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";

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

#[test]
fn sign_reproduces_go() {
    let secret = Secret::new(SECRET).unwrap();
    for (body, _, signature) in VECTORS {
        assert_eq!(sign(&secret, body.as_bytes()), signature, "{body}");
        assert_eq!(
            Verifier::new(secret.clone()).sign(body.as_bytes()),
            signature
        );
    }
}

#[test]
fn full_check_accepts_every_golden_delivery() {
    let verifier = Verifier::new(Secret::new(SECRET).unwrap());
    let now: Timestamp = "2026-04-01T12:34:56Z".parse().unwrap();
    for (body, event, signature) in VECTORS {
        let headers = DeliveryHeaders::from_pairs([
            (&b"X-Bedrud-Signature"[..], signature.as_bytes()),
            (b"X-Bedrud-Event", event.as_bytes()),
            (b"X-Bedrud-Timestamp", b"2026-04-01T12:34:56Z"),
            (b"Content-Type", b"application/json"),
            (b"User-Agent", b"Go-http-client/1.1"),
        ]);
        let delivery = verifier
            .verify_headers_at(&headers, body.as_bytes(), now)
            .unwrap();
        assert_eq!(delivery.envelope.event, event);
        assert_eq!(delivery.timestamp, now);
    }
}

#[test]
fn the_admin_guide_dialect_verifies_too() {
    let verifier = Verifier::new(Secret::new(SECRET).unwrap());
    let now: Timestamp = "2026-04-01T12:34:56Z".parse().unwrap();
    let (body, event, signature) = VECTORS[0];
    let headers = DeliveryHeaders::from_pairs([
        (&b"X-Webhook-Signature"[..], signature.as_bytes()),
        (b"X-Webhook-Event", event.as_bytes()),
    ]);
    assert!(
        verifier
            .verify_headers_at(&headers, body.as_bytes(), now)
            .is_ok()
    );
}
