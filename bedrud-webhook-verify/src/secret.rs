use std::fmt;

use hmac::{KeyInit, Mac};
use zeroize::Zeroizing;

use crate::Error;

pub(crate) type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A webhook secret: the key of the HMAC, exactly the bytes the admin sees
/// (Bedrud's generated secrets are 32 hex characters, used as text, never
/// hex-decoded).
///
/// It is wiped from memory when dropped and never shown by `Debug`.
///
/// ```
/// use bedrud_webhook_verify::Secret;
///
/// let secret = Secret::new("9f86d081884c7d659a2feaa0c55ad015")?;
/// assert_eq!(format!("{secret:?}"), "Secret { .. }");
/// assert!(Secret::new("").is_err());
/// # Ok::<(), bedrud_webhook_verify::Error>(())
/// ```
#[derive(Clone)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// A secret with these bytes.
    ///
    /// # Errors
    ///
    /// [`Error::EmptySecret`]: Bedrud would sign with an empty key, which anyone can forge.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Secret, Error> {
        let bytes = Zeroizing::new(bytes.into());
        if bytes.is_empty() {
            return Err(Error::EmptySecret);
        }
        Ok(Secret(bytes))
    }

    /// The HMAC keyed with this secret, ready to clone per request.
    pub(crate) fn mac(&self) -> HmacSha256 {
        #[allow(clippy::expect_used)]
        <HmacSha256 as KeyInit>::new_from_slice(&self.0).expect("HMAC takes keys of any length")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret { .. }")
    }
}

/// The signature header value Bedrud sends for `body`: `sha256=` and 64
/// lowercase hex digits of HMAC-SHA256 keyed with the secret.
///
/// ```
/// use bedrud_webhook_verify::{Secret, sign};
///
/// let secret = Secret::new("9f86d081884c7d659a2feaa0c55ad015")?;
/// let body = br#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#;
/// assert_eq!(sign(&secret, body), "sha256=5f16939ad45069b2126b88cd3cf1736bc6cd112fc47c6ee8b14874876644b572");
/// # Ok::<(), bedrud_webhook_verify::Error>(())
/// ```
#[must_use]
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    signature(secret.mac(), body)
}

/// `sha256=` and the lowercase hex of `mac`'s tag over `body`: the one
/// writer of signature header values.
pub(crate) fn signature(mac: HmacSha256, body: &[u8]) -> String {
    format!(
        "sha256={}",
        const_hex::encode(mac.chain_update(body).finalize().into_bytes())
    )
}
