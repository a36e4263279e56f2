//! All seven HMAC-SHA256 test cases of RFC 4231, through the public API:
//! `sign` and `Verifier::verify_signature`, keys as raw bytes.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use bedrud_webhook_verify::{Error, Secret, Verifier, sign};

struct Case {
    key: Vec<u8>,
    data: Vec<u8>,
    hmac_sha256: &'static str,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            key: vec![0x0b; 20],
            data: b"Hi There".to_vec(),
            hmac_sha256: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        },
        Case {
            key: b"Jefe".to_vec(),
            data: b"what do ya want for nothing?".to_vec(),
            hmac_sha256: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        },
        Case {
            key: vec![0xaa; 20],
            data: vec![0xdd; 50],
            hmac_sha256: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        },
        Case {
            key: (0x01..=0x19).collect(),
            data: vec![0xcd; 50],
            hmac_sha256: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        },
        // Test case 5 publishes only the first 128 bits of the tag.
        Case {
            key: vec![0x0c; 20],
            data: b"Test With Truncation".to_vec(),
            hmac_sha256: "a3b6167473100ee06e0c796c2955552b",
        },
        Case {
            key: vec![0xaa; 131],
            data: b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
            hmac_sha256: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        },
        Case {
            key: vec![0xaa; 131],
            data: b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
            hmac_sha256: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        },
    ]
}

#[test]
fn sign_matches_every_rfc4231_case() {
    let cases = cases();
    assert_eq!(cases.len(), 7);
    for (i, case) in cases.iter().enumerate() {
        let secret = Secret::new(case.key.clone()).unwrap();
        let header = sign(&secret, &case.data);
        let digest = header.strip_prefix("sha256=").unwrap();
        assert_eq!(digest.len(), 64, "case {}", i + 1);
        assert!(
            digest.starts_with(case.hmac_sha256),
            "case {}: {digest}",
            i + 1
        );
        assert_eq!(Verifier::new(secret).sign(&case.data), header);
    }
}

#[test]
fn verifier_accepts_every_full_length_rfc4231_tag_in_either_case() {
    for (i, case) in cases().iter().enumerate() {
        if case.hmac_sha256.len() != 64 {
            continue;
        }
        let verifier = Verifier::new(Secret::new(case.key.clone()).unwrap());
        for digest in [
            case.hmac_sha256.to_owned(),
            case.hmac_sha256.to_ascii_uppercase(),
        ] {
            let header = format!("sha256={digest}");
            let tag = verifier
                .verify_signature(header.as_bytes(), &case.data)
                .unwrap_or_else(|e| panic!("case {}: {e}", i + 1));
            assert_eq!(const_hex::encode(tag), case.hmac_sha256, "case {}", i + 1);
        }
    }
}

#[test]
fn a_truncated_tag_is_malformed_not_accepted() {
    let case = &cases()[4];
    let verifier = Verifier::new(Secret::new(case.key.clone()).unwrap());
    let header = format!("sha256={}", case.hmac_sha256);
    assert_eq!(
        verifier.verify_signature(header.as_bytes(), &case.data),
        Err(Error::MalformedSignature)
    );
}
