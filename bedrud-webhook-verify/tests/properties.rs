//! Property tests of the signer and the verifier.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bedrud_webhook_verify::{DeliveryHeaders, Error, Secret, Timestamp, Verifier, sign};
use proptest::prelude::*;

fn secret_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..200)
}

fn now() -> Timestamp {
    Timestamp::from_unix_seconds(1_775_046_896).unwrap()
}

/// Flips one bit of the 32 tag bytes (not of the hex text: flipping the case
/// bit of a hex letter leaves the value unchanged, and either case is valid).
fn flip_tag_bit(header: &str, bit: usize) -> String {
    let mut tag = [0u8; 32];
    hex::decode_to_slice(&header[7..], &mut tag).unwrap();
    tag[bit / 8] ^= 1 << (bit % 8);
    format!("sha256={}", hex::encode(tag))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sign_then_verify_round_trips(key in secret_bytes(), body in prop::collection::vec(any::<u8>(), 0..2048)) {
        let secret = Secret::new(key).unwrap();
        let header = sign(&secret, &body);
        prop_assert_eq!(header.len(), 71);
        prop_assert!(Verifier::new(secret).verify_signature(header.as_bytes(), &body).is_ok());
    }

    #[test]
    fn flipping_any_body_bit_is_rejected(key in secret_bytes(), body in prop::collection::vec(any::<u8>(), 1..512), bit in any::<prop::sample::Index>()) {
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
    fn flipping_any_signature_bit_is_rejected(key in secret_bytes(), body in prop::collection::vec(any::<u8>(), 0..512), bit in 0usize..256) {
        let secret = Secret::new(key).unwrap();
        let forged = flip_tag_bit(&sign(&secret, &body), bit);
        prop_assert_eq!(
            Verifier::new(secret).verify_signature(forged.as_bytes(), &body),
            Err(Error::SignatureMismatch)
        );
    }

    #[test]
    fn arbitrary_headers_and_bodies_never_panic(
        pairs in prop::collection::vec(
            (
                prop_oneof![
                    Just(b"X-Bedrud-Signature".to_vec()),
                    Just(b"x-webhook-signature".to_vec()),
                    Just(b"X-Bedrud-Event".to_vec()),
                    Just(b"X-Webhook-Event".to_vec()),
                    Just(b"X-Bedrud-Timestamp".to_vec()),
                    prop::collection::vec(any::<u8>(), 0..24),
                ],
                prop_oneof![
                    prop::collection::vec(any::<u8>(), 0..100),
                    "sha256=[0-9a-fA-F]{0,70}".prop_map(String::into_bytes),
                ],
            ),
            0..8,
        ),
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            r#"\{"event":"[a-z.]{0,12}","timestamp":"[0-9TZ:-]{0,24}"(,"data":\{\})?\}"#.prop_map(String::into_bytes),
        ],
    ) {
        let verifier = Verifier::builder(Secret::new("k").unwrap()).body_limit(256).build();
        let headers = DeliveryHeaders::from_pairs(pairs.iter().map(|(n, v)| (n.as_slice(), v.as_slice())));
        if let Err(e) = verifier.verify_headers_at(&headers, &body, now()) {
            // Whatever the input, the error maps to one of the three statuses.
            prop_assert!([400u16, 401, 413].contains(&e.status().as_u16()));
            prop_assert!(!e.to_string().is_empty());
        }
        let _ = verifier.verify_signature(&body, &body);
    }

    #[test]
    fn rotation_accepts_listed_secrets_only(
        current in secret_bytes(),
        previous in prop::collection::vec(secret_bytes(), 0..4),
        unlisted in secret_bytes(),
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        prop_assume!(unlisted != current && !previous.contains(&unlisted));
        let verifier = Verifier::builder(Secret::new(current.clone()).unwrap())
            .previous_secrets(previous.iter().map(|p| Secret::new(p.clone()).unwrap()))
            .build();
        for key in std::iter::once(&current).chain(&previous) {
            let header = sign(&Secret::new(key.clone()).unwrap(), &body);
            prop_assert!(verifier.verify_signature(header.as_bytes(), &body).is_ok());
        }
        let header = sign(&Secret::new(unlisted).unwrap(), &body);
        prop_assert_eq!(verifier.verify_signature(header.as_bytes(), &body), Err(Error::SignatureMismatch));
    }
}
