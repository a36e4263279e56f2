//! Arbitrary bytes as the signature header value.
//!
//! Properties checked on every input:
//! - `Verifier::verify_signature` never panics, whatever the value holds;
//! - it accepts only the genuine MAC of the body (`sha256=` and the 64 hex
//!   digits in either case), for a fixed secret and for the input's own, and
//!   returns that MAC as the tag;
//! - every refusal is `MalformedSignature` exactly when the value is not
//!   `sha256=` and 64 hex digits, else `SignatureMismatch`; both are 401, and
//!   the refusal is the same whichever secret the verifier holds;
//! - a correct signature for an arbitrary body and secret verifies, with
//!   lowercase or uppercase hex, and beside a rotated secret.
#![no_main]

use std::sync::LazyLock;

use bedrud_webhook_fuzz::{SECRET, SignatureInput};
use bedrud_webhook_verify::{Error, Secret, Verifier, sign};
use libfuzzer_sys::fuzz_target;

static FIXED: LazyLock<(Secret, Verifier)> = LazyLock::new(|| {
    let secret = Secret::new(SECRET).expect("non-empty");
    (secret.clone(), Verifier::new(secret))
});

/// Whether `value` is `sha256=` and 64 hex digits, in either case.
fn well_formed(value: &[u8]) -> bool {
    value.len() == 71
        && value.starts_with(b"sha256=")
        && value[7..].iter().all(u8::is_ascii_hexdigit)
}

/// Whether `value` is the genuine signature `expected` (`sha256=` + lowercase hex).
fn is_genuine(value: &[u8], expected: &str) -> bool {
    let expected = expected.as_bytes();
    value.len() == expected.len()
        && value[..7] == expected[..7]
        && value[7..].eq_ignore_ascii_case(&expected[7..])
}

/// Checks `value` against `verifier`, whose only secret is `secret`, and
/// returns the refusal, if any.
fn check(verifier: &Verifier, secret: &Secret, value: &[u8], body: &[u8]) -> Option<Error> {
    let expected = sign(secret, body);
    match verifier.verify_signature(value, body) {
        Ok(tag) => {
            assert!(
                is_genuine(value, &expected),
                "false accept: {:?}",
                String::from_utf8_lossy(value)
            );
            assert_eq!(hex::encode(tag), expected[7..]);
            None
        }
        Err(e) => {
            assert!(!is_genuine(value, &expected), "false reject: {e}");
            let want = if well_formed(value) {
                Error::SignatureMismatch
            } else {
                Error::MalformedSignature
            };
            assert_eq!(e, want, "{:?}", String::from_utf8_lossy(value));
            assert_eq!(e.status(), 401);
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains(&expected[7..]), "MAC in error: {shown}");
            Some(e)
        }
    }
}

fuzz_target!(|input: SignatureInput<'_>| {
    let (fixed_secret, fixed) = &*FIXED;
    let refused_fixed = check(fixed, fixed_secret, input.header, input.body);

    let Ok(secret) = Secret::new(input.secret) else {
        assert!(input.secret.is_empty());
        return;
    };
    let refused_own = check(
        &Verifier::new(secret.clone()),
        &secret,
        input.header,
        input.body,
    );
    // Refused under both secrets: the refusal says nothing about the key.
    if let (Some(a), Some(b)) = (refused_fixed, refused_own) {
        assert_eq!(a, b, "the refusal depends on the secret");
    }

    // The input's secret, rotated: the fixed one is now the previous secret.
    let rotated = Verifier::builder(secret.clone())
        .previous_secret(fixed_secret.clone())
        .build();
    let expected_own = sign(&secret, input.body);
    let expected_fixed = sign(fixed_secret, input.body);
    match rotated.verify_signature(input.header, input.body) {
        Ok(_) => assert!(
            is_genuine(input.header, &expected_own) || is_genuine(input.header, &expected_fixed)
        ),
        Err(e) => assert_eq!(e.status(), 401),
    }
    // A correct signature for an arbitrary body and secret verifies.
    assert_eq!(rotated.sign(input.body), expected_own);
    for genuine in [&expected_own, &expected_fixed] {
        assert!(
            rotated
                .verify_signature(genuine.as_bytes(), input.body)
                .is_ok()
        );
        let upper = format!("sha256={}", genuine[7..].to_ascii_uppercase());
        assert!(
            rotated
                .verify_signature(upper.as_bytes(), input.body)
                .is_ok()
        );
    }
});
