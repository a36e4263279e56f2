//! The `sha256=<hex>` header value: parsing it, and producing it.

use hmac::{KeyInit, Mac};

use crate::Secret;

pub(crate) type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The prefix Bedrud writes before the hex digest.
pub const SIGNATURE_PREFIX: &str = "sha256=";

/// Length of an HMAC-SHA256 tag in bytes.
const TAG_LEN: usize = 32;

/// What is wrong with a signature header's form (before any MAC is computed).
///
/// None of these can reveal anything about the secret: they describe only
/// the bytes the peer sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureFormatError {
    /// The value is empty.
    #[error("the value is empty")]
    Empty,
    /// The value names another algorithm, such as `sha1=`.
    #[error("only sha256= signatures are accepted")]
    UnsupportedAlgorithm,
    /// The value has no `sha256=` prefix.
    #[error("the value does not start with sha256=")]
    MissingPrefix,
    /// The digest after `sha256=` is not 64 characters long.
    #[error("the digest is {0} characters long, not 64")]
    WrongLength(usize),
    /// The digest contains a character that is not a hex digit.
    #[error("the digest is not hexadecimal")]
    NotHex,
}

/// Parses `sha256=` followed by exactly 64 hex digits (either case) into the
/// 32 tag bytes. Everything else, surrounding whitespace included, is an error.
pub(crate) fn parse_signature(value: &[u8]) -> Result<[u8; TAG_LEN], SignatureFormatError> {
    if value.is_empty() {
        return Err(SignatureFormatError::Empty);
    }
    let Some(digest) = value.strip_prefix(SIGNATURE_PREFIX.as_bytes()) else {
        return Err(classify_prefix(value));
    };
    let Ok(digest) = <&[u8; 2 * TAG_LEN]>::try_from(digest) else {
        return Err(SignatureFormatError::WrongLength(digest.len()));
    };
    decode_tag(digest).ok_or(SignatureFormatError::NotHex)
}

/// Decodes 64 hex digits into the 32 tag bytes, or `None` if any of them is
/// not a hex digit.
///
/// This runs on every request, so it has no branch per digit: each digit's
/// value is computed with byte arithmetic and a select, and "not a hex
/// digit" is ORed into one flag tested at the end, which lets the compiler
/// process sixteen digits per vector instruction. (With the `hex` crate's
/// decoder, a branch and an error path per digit, and `subtle`'s byte-wise
/// comparison, checking a 187-byte envelope took 1.21× the HMAC alone; now
/// 1.00×: see BENCHMARKS.md.) The digits come from the peer and are not
/// secret; only the tag computed from the body is.
fn decode_tag(digits: &[u8; 2 * TAG_LEN]) -> Option<[u8; TAG_LEN]> {
    let mut nibbles = [0u8; 2 * TAG_LEN];
    let mut invalid = false;
    for (nibble, &c) in nibbles.iter_mut().zip(digits) {
        let digit = c.wrapping_sub(b'0');
        let letter = (c | 0x20).wrapping_sub(b'a');
        let (is_digit, is_letter) = (digit < 10, letter < 6);
        *nibble = if is_digit {
            digit
        } else {
            letter.wrapping_add(10)
        };
        invalid |= !(is_digit | is_letter);
    }
    let (pairs, _) = nibbles.as_chunks::<2>();
    let mut tag = [0u8; TAG_LEN];
    for (byte, &[hi, lo]) in tag.iter_mut().zip(pairs) {
        *byte = (hi << 4) | lo;
    }
    (!invalid).then_some(tag)
}

/// Compares a computed tag with a received one in constant time, with
/// `subtle`'s slice comparison over the tags' four 64-bit words: every word
/// is compared, through `subtle`'s optimisation barrier, and the results are
/// combined without a branch. (Over the 32 bytes, the same comparison puts a
/// barrier on each byte; four words cost an eighth of that and leak no more.)
/// The lengths are public, so a wrong one is refused at once.
pub(crate) fn tags_equal(computed: &[u8], received: &[u8; TAG_LEN]) -> bool {
    use subtle::ConstantTimeEq;
    let Ok(computed) = <&[u8; TAG_LEN]>::try_from(computed) else {
        return false;
    };
    words(computed)[..].ct_eq(&words(received)[..]).into()
}

/// The tag as four native-endian words: a comparison of words is equal
/// exactly when the bytes are.
fn words(tag: &[u8; TAG_LEN]) -> [u64; TAG_LEN / 8] {
    let (chunks, _) = tag.as_chunks::<8>();
    let mut words = [0u64; TAG_LEN / 8];
    for (word, chunk) in words.iter_mut().zip(chunks) {
        *word = u64::from_ne_bytes(*chunk);
    }
    words
}

/// Tells "another algorithm" (`sha1=…`, `sha512=…`) from "no prefix at all",
/// so that an integrator reading the log sees which mistake the sender made.
fn classify_prefix(value: &[u8]) -> SignatureFormatError {
    match value.iter().position(|&b| b == b'=') {
        Some(eq)
            if eq > 0
                && value[..eq]
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-') =>
        {
            SignatureFormatError::UnsupportedAlgorithm
        }
        _ => SignatureFormatError::MissingPrefix,
    }
}

/// Keys an HMAC-SHA256 with `key`. HMAC accepts keys of any length, so this
/// cannot fail; the fallback only exists to keep the code free of panics.
pub(crate) fn keyed(key: &[u8]) -> HmacSha256 {
    match <HmacSha256 as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => <HmacSha256 as KeyInit>::new(&Default::default()),
    }
}

/// Writes `sha256=` and the lowercase hex of `mac`'s tag.
pub(crate) fn header_value(mac: HmacSha256) -> String {
    let tag = mac.finalize().into_bytes();
    let mut out = String::with_capacity(SIGNATURE_PREFIX.len() + 2 * TAG_LEN);
    out.push_str(SIGNATURE_PREFIX);
    out.push_str(&hex::encode(tag.as_slice()));
    out
}

/// The signature header value Bedrud sends for `body`: `sha256=` and 64
/// lowercase hex digits of HMAC-SHA256 keyed with the secret's bytes.
///
/// This is the reference signer: the sender and every test build on it.
///
/// ```
/// use bedrud_webhook_verify::{sign, Secret};
///
/// let secret = Secret::new("9f86d081884c7d659a2feaa0c55ad015")?;
/// let body = br#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#;
/// assert_eq!(
///     sign(&secret, body),
///     "sha256=5f16939ad45069b2126b88cd3cf1736bc6cd112fc47c6ee8b14874876644b572",
/// );
/// # Ok::<(), bedrud_webhook_verify::SecretError>(())
/// ```
#[must_use]
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    let mut mac = keyed(secret.expose());
    mac.update(body);
    header_value(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "sha256=4a8a28e49e3e197b6aa2b626b4226a7131bae2bee66c980a640f1b6401a7469a";

    #[test]
    fn accepts_either_hex_case() {
        let lower = parse_signature(GOOD.as_bytes()).unwrap();
        let upper = format!("sha256={}", GOOD[7..].to_ascii_uppercase());
        assert_eq!(parse_signature(upper.as_bytes()).unwrap(), lower);
        assert_eq!(lower[0], 0x4a);
    }

    #[test]
    fn rejects_every_other_form() {
        use SignatureFormatError::*;
        let long = format!("{GOOD}0");
        let short = &GOOD[..GOOD.len() - 1];
        let spaced = format!(" {GOOD}");
        let trailing = format!("{GOOD} ");
        let nonhex = format!("sha256={}", "g".repeat(64));
        let sha1 = "sha1=da39a3ee5e6b4b0d3255bfef95601890afd80709";
        let sha512 = format!("sha512={}", "a".repeat(128));
        let cases: Vec<(&[u8], SignatureFormatError)> = vec![
            (b"", Empty),
            (&GOOD.as_bytes()[7..], MissingPrefix),
            (b"SHA256=4a8a", UnsupportedAlgorithm),
            (sha1.as_bytes(), UnsupportedAlgorithm),
            (sha512.as_bytes(), UnsupportedAlgorithm),
            (b"sha256=", WrongLength(0)),
            (long.as_bytes(), WrongLength(65)),
            (short.as_bytes(), WrongLength(63)),
            (spaced.as_bytes(), MissingPrefix),
            (trailing.as_bytes(), WrongLength(65)),
            (nonhex.as_bytes(), NotHex),
            (b"=abc", MissingPrefix),
            (b"\xff\xfe", MissingPrefix),
        ];
        for (value, want) in cases {
            assert_eq!(
                parse_signature(value),
                Err(want),
                "{}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn tag_decoding_agrees_with_the_hex_crate_for_every_byte_at_every_place() {
        let digits: [u8; 64] = GOOD.as_bytes()[7..].try_into().unwrap();
        for place in 0..64 {
            for byte in 0..=255u8 {
                let mut value = digits;
                value[place] = byte;
                let mut want = [0u8; 32];
                let want = hex::decode_to_slice(value, &mut want).map(|()| want).ok();
                assert_eq!(decode_tag(&value), want, "byte {byte:#04x} at {place}");
            }
        }
    }

    #[test]
    fn tags_compare_equal_only_when_every_bit_agrees() {
        let tag = parse_signature(GOOD.as_bytes()).unwrap();
        assert!(tags_equal(&tag, &tag));
        for bit in 0..256 {
            let mut other = tag;
            other[bit / 8] ^= 1 << (bit % 8);
            assert!(!tags_equal(&other, &tag), "bit {bit}");
        }
        assert!(!tags_equal(&tag[..31], &tag));
        assert!(!tags_equal(&[], &tag));
    }

    #[test]
    fn non_ascii_of_the_right_byte_length_is_not_hex() {
        // 32 two-byte characters: 64 bytes, the right length, but not hex.
        let value = format!("sha256={}", "é".repeat(32));
        assert_eq!(
            parse_signature(value.as_bytes()),
            Err(SignatureFormatError::NotHex)
        );
    }

    #[test]
    fn sign_writes_lowercase_hex_with_prefix() {
        let secret = Secret::new("9f86d081884c7d659a2feaa0c55ad015").unwrap();
        let body = br#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#;
        assert_eq!(sign(&secret, body), GOOD);
    }
}
