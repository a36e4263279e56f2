//! Property tests of the signer and the verifier.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, UNIX_EPOCH};

use bedrud_webhook_verify::{Error, Secret, Verifier, sign};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;

fn secret_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..200)
}

fn body_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

/// Flips one bit of the 32 tag bytes (not of the hex text: flipping the case
/// bit of a hex letter leaves the value unchanged, and either case is valid).
fn flip_tag_bit(header: &str, bit: usize) -> String {
    let mut tag = [0u8; 32];
    const_hex::decode_to_slice(&header[7..], &mut tag).unwrap();
    tag[bit / 8] ^= 1 << (bit % 8);
    format!("sha256={}", const_hex::encode(tag))
}

/// A header name: one the verifier looks at (in any case) or arbitrary text.
fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("X-Bedrud-Signature".to_owned()),
        Just("x-webhook-signature".to_owned()),
        Just("X-BEDRUD-EVENT".to_owned()),
        Just("X-Webhook-Event".to_owned()),
        Just("x-bedrud-timestamp".to_owned()),
        "[ -~]{0,24}",
    ]
}

/// A header value: arbitrary bytes, or something close to a signature.
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..100),
        "sha256=[0-9a-fA-F]{0,70}".prop_map(String::into_bytes),
        "(room\\.ended|ping|2026-04-01T12:34:56Z)".prop_map(String::into_bytes),
    ]
}

/// A body: arbitrary bytes, or something close to an envelope.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        body_bytes(300),
        r#"\{"event":"[a-z.]{0,12}","timestamp":"[0-9TZ:+-]{0,26}"(,"data":(\{\}|null|\[\]|"x"))?\}"#
            .prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sign_then_verify_round_trips(key in secret_bytes(), body in body_bytes(2048)) {
        let secret = Secret::new(key).unwrap();
        let header = sign(&secret, &body);
        prop_assert_eq!(header.len(), 71);
        let verifier = Verifier::new(secret);
        prop_assert_eq!(verifier.sign(&body), header.clone());
        let tag = verifier.verify_signature(header.as_bytes(), &body).unwrap();
        prop_assert_eq!(const_hex::encode(tag), &header[7..]);
        let upper = format!("sha256={}", header[7..].to_ascii_uppercase());
        prop_assert!(verifier.verify_signature(upper.as_bytes(), &body).is_ok());
    }

    #[test]
    fn flipping_any_body_bit_is_a_mismatch(
        key in secret_bytes(),
        body in prop::collection::vec(any::<u8>(), 1..512),
        bit in any::<prop::sample::Index>(),
    ) {
        let secret = Secret::new(key).unwrap();
        let header = sign(&secret, &body);
        let mut tampered = body.clone();
        let bit = bit.index(body.len() * 8);
        tampered[bit / 8] ^= 1 << (bit % 8);
        prop_assert_eq!(
            Verifier::new(secret).verify_signature(header.as_bytes(), &tampered),
            Err(Error::SignatureMismatch)
        );
    }

    #[test]
    fn flipping_any_tag_bit_is_a_mismatch(key in secret_bytes(), body in body_bytes(512), bit in 0usize..256) {
        let secret = Secret::new(key).unwrap();
        let forged = flip_tag_bit(&sign(&secret, &body), bit);
        prop_assert_eq!(
            Verifier::new(secret).verify_signature(forged.as_bytes(), &body),
            Err(Error::SignatureMismatch)
        );
    }

    #[test]
    fn a_value_that_is_not_sha256_and_64_hex_digits_is_malformed(
        value in prop_oneof![header_value(), "sha256=[0-9a-fA-Fg]{63,65}".prop_map(String::into_bytes)],
        body in body_bytes(64),
    ) {
        let well_formed = value.len() == 71
            && value.starts_with(b"sha256=")
            && value[7..].iter().all(u8::is_ascii_hexdigit);
        let verifier = Verifier::new(Secret::new("k").unwrap());
        let result = verifier.verify_signature(&value, &body);
        if well_formed {
            prop_assert!(matches!(result, Ok(_) | Err(Error::SignatureMismatch)));
        } else {
            prop_assert_eq!(result, Err(Error::MalformedSignature));
        }
    }

    #[test]
    fn arbitrary_headers_and_bodies_never_panic(
        pairs in prop::collection::vec((header_name(), header_value()), 0..8),
        body in body(),
        sign_it in any::<bool>(),
    ) {
        let secret = Secret::new("k").unwrap();
        let verifier = Verifier::builder(secret.clone())
            .body_limit(256)
            .clock(|| UNIX_EPOCH + Duration::from_secs(1_775_046_896))
            .build();
        let mut pairs = pairs;
        if sign_it {
            // Reach the checks after the signature too.
            pairs.push(("X-Bedrud-Signature".to_owned(), sign(&secret, &body).into_bytes()));
        }
        let result = verifier.verify_pairs(pairs.iter().map(|(n, v)| (n.as_str(), v.as_slice())), &body);
        if let Err(e) = result {
            prop_assert!([400u16, 401, 413].contains(&e.status().as_u16()), "{e:?}");
            prop_assert!(!e.to_string().is_empty());
            prop_assert!(!e.reason().is_empty());
        }
        // The HeaderMap entry point agrees whenever the pairs fit in one.
        let mut map = HeaderMap::new();
        let fits = pairs.iter().all(|(n, v)| {
            match (HeaderName::from_bytes(n.as_bytes()), HeaderValue::from_bytes(v)) {
                (Ok(n), Ok(v)) => {
                    map.append(n, v);
                    true
                }
                _ => false,
            }
        });
        if fits {
            let via_map = verifier.verify(&map, &body).map(|v| v.tag);
            prop_assert_eq!(via_map, result.map(|v| v.tag));
        }
        for (_, value) in &pairs {
            let _ = verifier.verify_signature(value, &body);
        }
    }

    #[test]
    fn rotation_accepts_listed_secrets_only(
        current in secret_bytes(),
        previous in prop::collection::vec(secret_bytes(), 0..4),
        unlisted in secret_bytes(),
        body in body_bytes(256),
    ) {
        prop_assume!(unlisted != current && !previous.contains(&unlisted));
        let verifier = previous.iter().fold(
            Verifier::builder(Secret::new(current.clone()).unwrap()),
            |builder, p| builder.previous_secret(Secret::new(p.clone()).unwrap()),
        ).build();
        for key in std::iter::once(&current).chain(&previous) {
            let header = sign(&Secret::new(key.clone()).unwrap(), &body);
            prop_assert!(verifier.verify_signature(header.as_bytes(), &body).is_ok());
        }
        prop_assert_eq!(verifier.sign(&body), sign(&Secret::new(current).unwrap(), &body));
        let header = sign(&Secret::new(unlisted).unwrap(), &body);
        prop_assert_eq!(verifier.verify_signature(header.as_bytes(), &body), Err(Error::SignatureMismatch));
    }
}
