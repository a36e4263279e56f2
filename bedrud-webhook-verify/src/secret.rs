//! The shared secret, held so that it cannot leak by accident.

use std::fmt;
use std::str::FromStr;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A webhook's HMAC secret: the key bytes exactly as the Bedrud admin sees them.
///
/// Bedrud generates 16 random bytes and shows them as 32 lowercase hex
/// characters; those 32 ASCII characters *are* the key, so a [`Secret`] is
/// never hex-decoded. An admin may also type any custom secret.
///
/// The bytes are wiped from memory when the secret is dropped, and neither
/// `Debug` nor any error ever shows them:
///
/// ```
/// use bedrud_webhook_verify::Secret;
///
/// let secret: Secret = "9f86d081884c7d659a2feaa0c55ad015".parse()?;
/// assert_eq!(format!("{secret:?}"), "Secret { .. }");
///
/// // Bedrud's sender would sign with an empty secret; a receiver refuses it.
/// assert!(Secret::new("").is_err());
/// # Ok::<(), bedrud_webhook_verify::SecretError>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret(Vec<u8>);

/// Why a [`Secret`] could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret is empty. Bedrud would sign with it, but anyone can forge
    /// an HMAC keyed with nothing, so a receiver must not be configured so.
    #[error("the webhook secret is empty; use the secret shown in Bedrud's admin dashboard")]
    Empty,
    /// The operating system's random number generator failed.
    #[error("the operating system could not provide random bytes for a new secret")]
    RandomnessUnavailable,
}

impl Secret {
    /// Wraps the key bytes, exactly as Bedrud's admin dashboard shows them.
    ///
    /// # Errors
    ///
    /// [`SecretError::Empty`] when `bytes` is empty.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, SecretError> {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Self(bytes))
    }

    /// Generates a secret the way Bedrud does: 16 random bytes written as 32
    /// lowercase hex characters.
    ///
    /// # Errors
    ///
    /// [`SecretError::RandomnessUnavailable`] if the operating system's
    /// random number generator fails.
    pub fn generate() -> Result<Self, SecretError> {
        let mut raw = [0u8; 16];
        getrandom::fill(&mut raw).map_err(|_| SecretError::RandomnessUnavailable)?;
        let mut text = vec![0u8; 32];
        // Cannot fail: the output is exactly twice the input's length.
        let encoded = hex::encode_to_slice(raw, &mut text);
        raw.zeroize();
        if encoded.is_err() {
            text.zeroize();
            return Err(SecretError::RandomnessUnavailable);
        }
        Ok(Self(text))
    }

    /// The key bytes. Named so that every place that handles them is easy to
    /// find; printing them is the caller's decision.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret { .. }")
    }
}

impl FromStr for Secret {
    type Err = SecretError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for Secret {
    type Error = SecretError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl TryFrom<String> for Secret {
    type Error = SecretError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl TryFrom<&[u8]> for Secret {
    type Error = SecretError;

    fn try_from(value: &[u8]) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl TryFrom<Vec<u8>> for Secret {
    type Error = SecretError;

    fn try_from(value: Vec<u8>) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_refused_from_every_constructor() {
        assert_eq!(Secret::new(Vec::new()).unwrap_err(), SecretError::Empty);
        assert_eq!("".parse::<Secret>().unwrap_err(), SecretError::Empty);
        assert_eq!(
            Secret::try_from(String::new()).unwrap_err(),
            SecretError::Empty
        );
        assert_eq!(Secret::try_from(&b""[..]).unwrap_err(), SecretError::Empty);
    }

    #[test]
    fn keeps_bytes_exactly_without_hex_decoding() {
        let s = Secret::new("9f86d081884c7d659a2feaa0c55ad015").unwrap();
        assert_eq!(s.expose(), b"9f86d081884c7d659a2feaa0c55ad015");
        let custom = Secret::new(" spaces and ünïcode ").unwrap();
        assert_eq!(custom.expose(), " spaces and ünïcode ".as_bytes());
    }

    #[test]
    fn debug_hides_key_material() {
        let s = Secret::new("hunter2-very-secret").unwrap();
        let shown = format!("{s:?} {s:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(format!("{s:?}"), "Secret { .. }");
    }

    #[test]
    fn generated_secrets_look_like_bedrud_ones() {
        let a = Secret::generate().unwrap();
        let b = Secret::generate().unwrap();
        assert_eq!(a.expose().len(), 32);
        assert!(
            a.expose()
                .iter()
                .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
        );
        assert_ne!(a.expose(), b.expose());
    }
}
