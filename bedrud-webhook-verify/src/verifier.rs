use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::Mac;
use http::{HeaderMap, HeaderName};

use crate::secret::HmacSha256;
use crate::{Envelope, Error, RawEnvelope, Secret, headers};

/// How far a signed timestamp may be from now: 300 s either way.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);
/// The largest body accepted: 64 KiB. Bedrud's largest envelope, a
/// `recording.completed` with a long file URL, is a few hundred bytes.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
/// How long a body may take to arrive: Bedrud gives up after 10 s, so a
/// genuine body never takes longer.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Checks deliveries: signature, timestamp window, headers against the body.
///
/// Cheap to clone (one `Arc`); each secret's HMAC is keyed once, here, and
/// cloned per request.
///
/// ```
/// use bedrud_webhook_verify::{Error, Secret, Verifier, headers};
/// use http::{HeaderMap, StatusCode};
/// use std::time::{Duration, SystemTime};
///
/// let body = br#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#;
/// let sent = SystemTime::UNIX_EPOCH + Duration::from_secs(1_775_046_896);
/// let verifier = Verifier::builder(Secret::new("9f86d081884c7d659a2feaa0c55ad015")?)
///     .previous_secret(Secret::new("the-secret-before-rotation")?)
///     .clock(move || sent + Duration::from_secs(30))
///     .build();
///
/// let mut headers = HeaderMap::new();
/// headers.insert(headers::SIGNATURE, "sha256=5f16939ad45069b2126b88cd3cf1736bc6cd112fc47c6ee8b14874876644b572".parse()?);
/// let delivery = verifier.verify(&headers, body)?;
/// assert_eq!(delivery.envelope.event(), "ping");
///
/// let err = verifier.verify(&headers, b"{}").unwrap_err();
/// assert_eq!(err, Error::SignatureMismatch);
/// assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Verifier(Arc<Config>);

struct Config {
    macs: Vec<HmacSha256>,
    tolerance: Option<Duration>,
    body_limit: usize,
    body_timeout: Duration,
    clock: Option<Clock>,
}

/// Configures a [`Verifier`]; from [`Verifier::builder`].
#[must_use]
pub struct VerifierBuilder {
    secrets: Vec<Secret>,
    tolerance: Option<Duration>,
    body_limit: usize,
    body_timeout: Duration,
    clock: Option<Clock>,
}

/// A delivery that passed every check.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Verified<'a> {
    /// The body's envelope, split once; [`Verified::parse`] types its data.
    pub envelope: RawEnvelope<'a>,
    /// The HMAC tag that matched: what identifies this exact signed body.
    pub tag: [u8; 32],
}

impl Verified<'_> {
    /// The typed envelope.
    ///
    /// # Errors
    ///
    /// [`Error::Payload`] when `data` does not fit the event.
    pub fn parse(&self) -> Result<Envelope, Error> {
        Ok(Envelope::from_raw(&self.envelope)?)
    }
}

impl Verifier {
    /// A verifier with one secret and the defaults.
    #[must_use]
    pub fn new(secret: Secret) -> Verifier {
        Verifier::builder(secret).build()
    }

    /// A builder, for rotation, another tolerance or limit, or a test clock.
    pub fn builder(secret: Secret) -> VerifierBuilder {
        VerifierBuilder {
            secrets: vec![secret],
            tolerance: Some(DEFAULT_TOLERANCE),
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            clock: None,
        }
    }

    /// The timestamp window; `None` when the check is off.
    #[must_use]
    pub fn tolerance(&self) -> Option<Duration> {
        self.0.tolerance
    }

    /// The largest body accepted, in bytes: the one limit every integration reads with.
    #[must_use]
    pub fn body_limit(&self) -> usize {
        self.0.body_limit
    }

    /// How long an integration waits for the whole body before answering 408.
    #[must_use]
    pub fn body_timeout(&self) -> Duration {
        self.0.body_timeout
    }

    /// Now, by the configured clock.
    #[must_use]
    pub fn now(&self) -> SystemTime {
        self.0
            .clock
            .as_ref()
            .map_or_else(SystemTime::now, |clock| clock())
    }

    /// The signature the current secret gives `body`, as [`sign`](crate::sign) writes it.
    #[must_use]
    pub fn sign(&self, body: &[u8]) -> String {
        crate::secret::signature(self.mac(0), body)
    }

    /// Checks one signature header value against `body`, in constant time,
    /// with every configured secret. Returns the tag that matched.
    ///
    /// This is the whole check for "verify now, parse later"; [`Verifier::verify`]
    /// adds the timestamp window and the header checks.
    ///
    /// # Errors
    ///
    /// [`Error::MalformedSignature`] or [`Error::SignatureMismatch`].
    pub fn verify_signature(&self, value: &[u8], body: &[u8]) -> Result<[u8; 32], Error> {
        let hex = value
            .strip_prefix(b"sha256=")
            .ok_or(Error::MalformedSignature)?;
        let mut tag = [0u8; 32];
        const_hex::decode_to_slice(hex, &mut tag).map_err(|_| Error::MalformedSignature)?;
        let matches = |i| self.mac(i).chain_update(body).verify_slice(&tag).is_ok();
        if (0..self.0.macs.len()).any(matches) {
            Ok(tag)
        } else {
            Err(Error::SignatureMismatch)
        }
    }

    /// Checks a delivery: body size, signature (either dialect), the signed
    /// timestamp's window, and the unsigned event and timestamp headers
    /// against the body.
    ///
    /// # Errors
    ///
    /// The [`Error`] that says why the delivery is refused.
    pub fn verify<'b>(&self, headers: &HeaderMap, body: &'b [u8]) -> Result<Verified<'b>, Error> {
        self.verify_pairs(
            headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_bytes())),
            body,
        )
    }

    /// [`Verifier::verify`] for header types other than [`http::HeaderMap`]'s
    /// (actix-web's, for one): `(name, value)` pairs, names in any case.
    ///
    /// # Errors
    ///
    /// The [`Error`] that says why the delivery is refused.
    pub fn verify_pairs<'h, 'b>(
        &self,
        headers: impl IntoIterator<Item = (&'h str, &'h [u8])>,
        body: &'b [u8],
    ) -> Result<Verified<'b>, Error> {
        if body.len() > self.0.body_limit {
            return Err(Error::BodyTooLarge {
                limit: self.0.body_limit,
            });
        }
        let found = Found::read(headers);
        let signature = match found.signatures {
            [None, _] => return Err(Error::MissingSignature),
            [Some(value), None] => value,
            [Some(_), Some(_)] => return Err(Error::DuplicateSignature),
        };
        let tag = self.verify_signature(signature, body)?;
        let envelope = RawEnvelope::from_slice(body)?;
        self.check_window(envelope.timestamp().unix_seconds())?;
        for (i, (_, header)) in CHECKED.iter().enumerate() {
            let signed = if i < 2 {
                envelope.event()
            } else {
                envelope.timestamp_text()
            };
            match found.checked[i] {
                Checked::Absent => {}
                Checked::Value(value) if value == signed.as_bytes() => {}
                _ => return Err(Error::HeaderMismatch { header }),
            }
        }
        Ok(Verified { envelope, tag })
    }

    fn mac(&self, i: usize) -> HmacSha256 {
        self.0.macs[i].clone()
    }

    fn check_window(&self, signed: i64) -> Result<(), Error> {
        let Some(tolerance) = self.0.tolerance else {
            return Ok(());
        };
        let now = match self.now().duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
        };
        let tolerance = tolerance.as_secs();
        let age = i128::from(now) - i128::from(signed);
        let secs = u64::try_from(age.unsigned_abs()).unwrap_or(u64::MAX);
        match age {
            _ if secs <= tolerance => Ok(()),
            1.. => Err(Error::TimestampTooOld { age_secs: secs }),
            _ => Err(Error::TimestampTooNew { ahead_secs: secs }),
        }
    }
}

/// The unsigned headers that must equal the body: name, display name.
const CHECKED: [(HeaderName, &str); 3] = [
    (headers::EVENT, "X-Bedrud-Event"),
    (headers::WEBHOOK_EVENT, "X-Webhook-Event"),
    (headers::TIMESTAMP, "X-Bedrud-Timestamp"),
];

#[derive(Clone, Copy)]
enum Checked<'h> {
    Absent,
    Value(&'h [u8]),
    Conflicting,
}

/// The headers a verifier looks at, gathered in one pass.
struct Found<'h> {
    /// The first two signature headers, of either dialect.
    signatures: [Option<&'h [u8]>; 2],
    checked: [Checked<'h>; 3],
}

impl<'h> Found<'h> {
    fn read(headers: impl IntoIterator<Item = (&'h str, &'h [u8])>) -> Found<'h> {
        let mut found = Found {
            signatures: [None, None],
            checked: [Checked::Absent; 3],
        };
        for (name, value) in headers {
            if name.eq_ignore_ascii_case(headers::SIGNATURE.as_str())
                || name.eq_ignore_ascii_case(headers::WEBHOOK_SIGNATURE.as_str())
            {
                let slot = usize::from(found.signatures[0].is_some());
                found.signatures[slot] = Some(value);
            } else if let Some(i) = CHECKED
                .iter()
                .position(|(n, _)| name.eq_ignore_ascii_case(n.as_str()))
            {
                found.checked[i] = match found.checked[i] {
                    Checked::Absent => Checked::Value(value),
                    Checked::Value(first) if first == value => Checked::Value(first),
                    _ => Checked::Conflicting,
                };
            }
        }
        found
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("secrets", &self.0.macs.len())
            .field("tolerance", &self.0.tolerance)
            .field("body_limit", &self.0.body_limit)
            .field("body_timeout", &self.0.body_timeout)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("secrets", &self.secrets.len())
            .field("tolerance", &self.tolerance)
            .field("body_limit", &self.body_limit)
            .field("body_timeout", &self.body_timeout)
            .finish_non_exhaustive()
    }
}

impl VerifierBuilder {
    /// Also accepts deliveries signed with `secret`: keep the previous secret
    /// for a while after rotating, so that nothing is refused during the switch.
    pub fn previous_secret(mut self, secret: Secret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Accepts signed timestamps at most `tolerance` from now (default 300 s).
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = Some(tolerance);
        self
    }

    /// Turns the timestamp window off: a captured delivery then verifies
    /// forever. Only for replaying old deliveries by hand.
    pub fn disable_timestamp_check(mut self) -> Self {
        self.tolerance = None;
        self
    }

    /// Refuses bodies longer than `bytes` (default 64 KiB) with 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Answers 408 when the body has not arrived within `timeout` (default 10 s).
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Reads now from `clock` instead of the system clock (for tests).
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// The verifier.
    #[must_use]
    pub fn build(self) -> Verifier {
        Verifier(Arc::new(Config {
            macs: self.secrets.iter().map(Secret::mac).collect(),
            tolerance: self.tolerance,
            body_limit: self.body_limit,
            body_timeout: self.body_timeout,
            clock: self.clock,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ParseError, sign};

    const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";
    const BODY: &[u8] = br#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#;
    const SENT: u64 = 1_775_046_896;

    fn verifier(now: u64) -> Verifier {
        Verifier::builder(Secret::new(SECRET).unwrap())
            .previous_secret(Secret::new("old").unwrap())
            .clock(move || UNIX_EPOCH + Duration::from_secs(now))
            .build()
    }

    fn pairs<'a>(list: &'a [(&'a str, &'a str)]) -> impl Iterator<Item = (&'a str, &'a [u8])> {
        list.iter().map(|(n, v)| (*n, v.as_bytes()))
    }

    #[test]
    fn accepts_either_dialect_and_either_secret() {
        let good = sign(&Secret::new(SECRET).unwrap(), BODY);
        let old = sign(&Secret::new("old").unwrap(), BODY);
        for (name, value) in [
            ("X-Bedrud-Signature", &good),
            ("x-webhook-signature", &good),
            ("X-BEDRUD-SIGNATURE", &old),
        ] {
            let verified = verifier(SENT)
                .verify_pairs(pairs(&[(name, value)]), BODY)
                .unwrap();
            assert_eq!(verified.envelope.event(), "ping");
            assert_eq!(const_hex::encode(verified.tag), value[7..]);
        }
        let upper = good.to_uppercase().replace("SHA256=", "sha256=");
        assert!(
            verifier(SENT)
                .verify_pairs(pairs(&[("x-bedrud-signature", &upper)]), BODY)
                .is_ok()
        );
    }

    #[test]
    fn each_signature_flaw_has_its_error() {
        let good = sign(&Secret::new(SECRET).unwrap(), BODY);
        let wrong = format!("sha256={}", good[7..].replace('a', "b"));
        let cases: [(&[(&str, &str)], Error); 6] = [
            (&[], Error::MissingSignature),
            (
                &[
                    ("x-bedrud-signature", &good),
                    ("x-webhook-signature", &good),
                ],
                Error::DuplicateSignature,
            ),
            (&[("x-bedrud-signature", "")], Error::MalformedSignature),
            (
                &[("x-bedrud-signature", &good[7..])],
                Error::MalformedSignature,
            ),
            (
                &[("x-bedrud-signature", &good.replace("sha256", "SHA256"))],
                Error::MalformedSignature,
            ),
            (&[("x-bedrud-signature", &wrong)], Error::SignatureMismatch),
        ];
        for (headers, want) in cases {
            assert_eq!(
                verifier(SENT)
                    .verify_pairs(pairs(headers), BODY)
                    .unwrap_err(),
                want,
                "{headers:?}"
            );
        }
    }

    #[test]
    fn window_is_inclusive_and_can_be_turned_off() {
        let sig = sign(&Secret::new(SECRET).unwrap(), BODY);
        let headers = [("x-bedrud-signature", sig.as_str())];
        assert!(
            verifier(SENT + 300)
                .verify_pairs(pairs(&headers), BODY)
                .is_ok()
        );
        assert!(
            verifier(SENT - 300)
                .verify_pairs(pairs(&headers), BODY)
                .is_ok()
        );
        assert_eq!(
            verifier(SENT + 301)
                .verify_pairs(pairs(&headers), BODY)
                .unwrap_err(),
            Error::TimestampTooOld { age_secs: 301 }
        );
        assert_eq!(
            verifier(SENT - 301)
                .verify_pairs(pairs(&headers), BODY)
                .unwrap_err(),
            Error::TimestampTooNew { ahead_secs: 301 }
        );
        let off = Verifier::builder(Secret::new(SECRET).unwrap())
            .disable_timestamp_check()
            .clock(|| UNIX_EPOCH)
            .build();
        assert!(off.verify_pairs(pairs(&headers), BODY).is_ok());
    }

    #[test]
    fn unsigned_headers_must_match_the_body() {
        let sig = sign(&Secret::new(SECRET).unwrap(), BODY);
        let ok: &[(&str, &str)] = &[
            ("x-bedrud-signature", &sig),
            ("X-Bedrud-Event", "ping"),
            ("x-webhook-event", "ping"),
            ("x-bedrud-event", "ping"),
            ("x-bedrud-timestamp", "2026-04-01T12:34:56Z"),
        ];
        assert!(verifier(SENT).verify_pairs(pairs(ok), BODY).is_ok());
        let cases: [(&[(&str, &str)], &str); 4] = [
            (
                &[
                    ("x-bedrud-signature", &sig),
                    ("x-bedrud-event", "room.ended"),
                ],
                "X-Bedrud-Event",
            ),
            (
                &[("x-bedrud-signature", &sig), ("x-webhook-event", "Ping")],
                "X-Webhook-Event",
            ),
            (
                &[
                    ("x-bedrud-signature", &sig),
                    ("x-bedrud-timestamp", "2026-04-01T12:34:56+00:00"),
                ],
                "X-Bedrud-Timestamp",
            ),
            (
                &[
                    ("x-bedrud-signature", &sig),
                    ("x-bedrud-event", "ping"),
                    ("x-bedrud-event", "room.ended"),
                ],
                "X-Bedrud-Event",
            ),
        ];
        for (headers, header) in cases {
            assert_eq!(
                verifier(SENT)
                    .verify_pairs(pairs(headers), BODY)
                    .unwrap_err(),
                Error::HeaderMismatch { header }
            );
        }
    }

    #[test]
    fn body_checks_come_after_the_signature() {
        let v = Verifier::builder(Secret::new(SECRET).unwrap())
            .body_limit(10)
            .build();
        assert_eq!(
            v.verify_pairs(pairs(&[]), BODY).unwrap_err(),
            Error::BodyTooLarge { limit: 10 }
        );
        let body = b"[]";
        let sig = sign(&Secret::new(SECRET).unwrap(), body);
        let err = verifier(SENT)
            .verify_pairs(pairs(&[("x-bedrud-signature", &sig)]), body)
            .unwrap_err();
        assert_eq!(err, Error::Payload(ParseError::NotJsonObject));
        assert_eq!(err.reason(), "not_json_object");
        assert_eq!(
            verifier(SENT)
                .verify_pairs(
                    pairs(&[("x-bedrud-signature", &sig.replace('0', "1"))]),
                    body
                )
                .unwrap_err()
                .reason(),
            "signature_mismatch"
        );
    }

    #[test]
    fn header_map_and_sign_agree_with_the_golden_vector() {
        let mut headers = HeaderMap::new();
        headers.insert(
            crate::headers::SIGNATURE,
            verifier(SENT).sign(BODY).parse().unwrap(),
        );
        assert_eq!(
            verifier(SENT).sign(BODY),
            "sha256=5f16939ad45069b2126b88cd3cf1736bc6cd112fc47c6ee8b14874876644b572"
        );
        assert!(
            verifier(SENT)
                .verify(&headers, BODY)
                .unwrap()
                .parse()
                .is_ok()
        );
    }

    #[test]
    fn debug_shows_no_key_material() {
        let builder = Verifier::builder(Secret::new(SECRET).unwrap());
        let text = format!("{builder:?}");
        let text = format!("{text} {:?}", builder.build());
        assert!(!text.contains(SECRET) && !text.contains("9f86"), "{text}");
    }
}
