//! Inputs the fuzz targets in `fuzz/` once failed on, kept as regression tests.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use bedrud_webhook_verify::{Error, ParseError, Secret, Verifier, sign};
use http::StatusCode;

/// `delivery` target: a genuinely signed body whose timestamp lies, in UTC,
/// in the year 10000 (or -1) panicked inside the check, so a sender holding
/// the secret could abort the request. It is a signed but invalid payload: 400.
#[test]
fn signed_timestamp_beyond_year_9999_is_400_not_a_panic() {
    let secret = Secret::new("9f86d081884c7d659a2feaa0c55ad015").unwrap();
    let verifier = Verifier::builder(secret.clone())
        .disable_timestamp_check()
        .build();
    for ts in ["9999-12-31T23:59:59-00:01", "0000-01-01T00:00:00+00:01"] {
        let body = format!(r#"{{"data":{{}},"event":"ping","timestamp":"{ts}"}}"#);
        let signature = sign(&secret, body.as_bytes());
        let err = verifier
            .verify_pairs(
                [("X-Bedrud-Signature", signature.as_bytes())],
                body.as_bytes(),
            )
            .unwrap_err();
        assert_eq!(err, Error::Payload(ParseError::InvalidTimestamp), "{ts}");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }
}
