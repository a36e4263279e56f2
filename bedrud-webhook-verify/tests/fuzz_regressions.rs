//! Inputs the fuzz targets in `fuzz/` crashed on, kept as regression tests
//! (SECURITY.md lists them).

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

use bedrud_webhook_verify::{DeliveryHeaders, Error, Secret, Timestamp, Verifier, sign};

/// `delivery` target: a genuinely signed body whose timestamp lies, in UTC,
/// in the year 10000 panicked inside the check (`time`'s `to_offset`), so a
/// sender holding the secret could abort the request. It is now a signed
/// but invalid payload: 400.
#[test]
fn signed_timestamp_beyond_year_9999_is_400_not_a_panic() {
    let secret = Secret::new("9f86d081884c7d659a2feaa0c55ad015").unwrap();
    let verifier = Verifier::builder(secret.clone())
        .disable_timestamp_check()
        .build();
    let now = Timestamp::from_unix_seconds(1_775_046_896).unwrap();
    for ts in ["9999-12-31T23:59:59-00:01", "0000-01-01T00:00:00+00:01"] {
        let body = format!(r#"{{"data":{{}},"event":"ping","timestamp":"{ts}"}}"#);
        let signature = sign(&secret, body.as_bytes());
        let headers =
            DeliveryHeaders::from_pairs([(&b"X-Bedrud-Signature"[..], signature.as_bytes())]);
        let err = verifier
            .verify_headers_at(&headers, body.as_bytes(), now)
            .unwrap_err();
        assert_eq!(err, Error::InvalidTimestamp, "{ts}");
        assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
    }
}
