//! The verifier: pre-keyed HMACs for every accepted secret, and the checks.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bedrud_webhook_types::{RawEnvelope, Timestamp};
use hmac::Mac;
use http::HeaderMap;

use crate::headers::Slot;
use crate::signature::{HmacSha256, header_value, keyed, parse_signature, tags_equal};
use crate::{DeliveryHeaders, Error, Secret};

/// How far the signed timestamp may lie from the receiver's clock, by default.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The largest body a receiver accepts, by default: 256 KiB. Bedrud's
/// envelopes are a few hundred bytes.
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// Decides whether a delivery really came from Bedrud.
///
/// Built from the current secret plus any number of previous ones, so that a
/// secret rotation loses nothing: a delivery signed with any listed secret
/// passes. Each secret's HMAC key schedule is computed once, here, and
/// cloned for each check, so that a check costs only the hash of the body.
/// A `Verifier` is cheap to clone (one reference count) and can be shared
/// between threads.
///
/// ```
/// use bedrud_webhook_verify::{sign, Secret, Verifier};
/// use http::HeaderMap;
///
/// let verifier = Verifier::new(Secret::new("9f86d081884c7d659a2feaa0c55ad015")?);
///
/// let body = br#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#;
/// let mut headers = HeaderMap::new();
/// headers.insert("x-bedrud-signature", sign(&Secret::new("9f86d081884c7d659a2feaa0c55ad015")?, body).parse()?);
///
/// // Checked against a fixed clock here; `verify` reads the system clock.
/// let now: bedrud_webhook_verify::Timestamp = "2026-04-01T12:35:00Z".parse()?;
/// let delivery = verifier.verify_at(&headers, body, now)?;
/// assert_eq!(delivery.envelope.event, "ping");
///
/// // A forgery is refused, and the error says what HTTP status to answer.
/// headers.insert("x-bedrud-signature", format!("sha256={}", "0".repeat(64)).parse()?);
/// let err = verifier.verify_at(&headers, body, now).unwrap_err();
/// assert_eq!(err.status(), http::StatusCode::UNAUTHORIZED);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    /// The current secret's keyed HMAC: kept apart from the previous ones so
    /// that a verifier without a current secret cannot be represented.
    current: HmacSha256,
    /// The previous secrets' keyed HMACs, accepted during a rotation.
    previous: Box<[HmacSha256]>,
    /// Whole seconds; `None` switches the timestamp check off.
    tolerance: Option<u64>,
    body_limit: usize,
    /// Where "now" comes from for the entry points without a `now` argument.
    clock: Clock,
}

/// A source of the current time, for receivers whose clock is not the
/// system's (tests, simulations, platforms without a system clock).
type ClockFn = dyn Fn() -> Timestamp + Send + Sync;

#[derive(Clone)]
enum Clock {
    System,
    Custom(Arc<ClockFn>),
}

impl Clock {
    /// Now, in whole seconds since the Unix epoch: all the freshness check
    /// needs.
    fn unix_seconds(&self) -> i64 {
        match self {
            Clock::System => system_unix_seconds(),
            Clock::Custom(clock) => clock().unix_seconds(),
        }
    }
}

/// The system's real time in whole Unix seconds.
///
/// On Linux this is `CLOCK_REALTIME_COARSE`: the time as of the last timer
/// tick, at most a few milliseconds behind, read from the vDSO for about
/// 2 ns rather than the 29 ns of a precise read (BENCHMARKS.md). A replay
/// window is minutes wide and counted in whole seconds, so those
/// milliseconds cannot matter, and the read happens on every request.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn system_unix_seconds() -> i64 {
    rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse).tv_sec
}

/// The system's real time in whole Unix seconds.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn system_unix_seconds() -> i64 {
    Timestamp::now().unix_seconds()
}

/// Builds a [`Verifier`] with previous secrets, a tolerance or a body limit.
///
/// ```
/// use std::time::Duration;
/// use bedrud_webhook_verify::{Secret, Verifier};
///
/// let verifier = Verifier::builder(Secret::new("new-secret")?)
///     .previous_secret(Secret::new("old-secret")?)
///     .tolerance(Duration::from_secs(60))
///     .body_limit(64 * 1024)
///     .build();
/// assert_eq!(verifier.secret_count(), 2);
/// # Ok::<(), bedrud_webhook_verify::SecretError>(())
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct VerifierBuilder {
    current: Secret,
    previous: Vec<Secret>,
    tolerance: Option<u64>,
    body_limit: usize,
    clock: Clock,
}

/// A delivery that passed every check, borrowing from the request body.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifiedDelivery<'a> {
    /// The exact signed bytes.
    pub body: &'a [u8],
    /// The envelope's fields, borrowed from `body`; parse it into a typed
    /// event with `bedrud_webhook_types::Envelope::from_raw`.
    pub envelope: RawEnvelope<'a>,
    /// The signed timestamp.
    pub timestamp: Timestamp,
}

impl Verifier {
    /// A verifier that accepts deliveries signed with `secret`, with the
    /// default tolerance ([`DEFAULT_TOLERANCE`]) and body limit
    /// ([`DEFAULT_BODY_LIMIT`]).
    #[must_use]
    pub fn new(secret: Secret) -> Self {
        Self::builder(secret).build()
    }

    /// Starts a [`VerifierBuilder`] with `secret` as the current secret.
    pub fn builder(secret: Secret) -> VerifierBuilder {
        VerifierBuilder {
            current: secret,
            previous: Vec::new(),
            tolerance: Some(DEFAULT_TOLERANCE.as_secs()),
            body_limit: DEFAULT_BODY_LIMIT,
            clock: Clock::System,
        }
    }

    /// How far the signed timestamp may lie from now, or `None` when the
    /// timestamp check is off.
    #[must_use]
    pub fn tolerance(&self) -> Option<Duration> {
        self.inner.tolerance.map(Duration::from_secs)
    }

    /// The largest body accepted, in bytes. Integrations stop reading a body
    /// at this size and answer 413.
    #[must_use]
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// How many secrets are accepted: the current one plus previous ones.
    #[must_use]
    pub fn secret_count(&self) -> usize {
        1 + self.inner.previous.len()
    }

    /// The signature header value Bedrud would send for `body`, signed with
    /// the current secret. Same output as [`crate::sign`], without keying
    /// the HMAC again.
    #[must_use]
    pub fn sign(&self, body: &[u8]) -> String {
        let mut mac = self.inner.current.clone();
        mac.update(body);
        header_value(mac)
    }

    /// Checks only the signature: `signature` is the header's value and
    /// `body` the exact bytes received. For "verify now, parse later"; it
    /// neither parses the body nor looks at the clock. Allocates nothing.
    ///
    /// # Errors
    ///
    /// [`Error::MalformedSignature`] or [`Error::SignatureMismatch`].
    pub fn verify_signature(&self, signature: &[u8], body: &[u8]) -> Result<(), Error> {
        let tag = parse_signature(signature)?;
        // Every key is tried in turn. Which secret matched is not secret, so
        // stopping at the first match leaks nothing; what must not leak is
        // how much of a wrong tag was right, and `tags_equal` compares in
        // constant time.
        let mut keys = std::iter::once(&self.inner.current).chain(self.inner.previous.iter());
        let matched = keys.any(|key| {
            let mut mac = key.clone();
            mac.update(body);
            tags_equal(&mac.finalize().into_bytes(), &tag)
        });
        if matched {
            Ok(())
        } else {
            Err(Error::SignatureMismatch)
        }
    }

    /// The full delivery check against the verifier's clock (the system
    /// clock unless [`VerifierBuilder::clock`] set another); see
    /// [`Verifier::verify_headers_at`].
    ///
    /// # Errors
    ///
    /// An [`Error`] saying why the delivery was refused.
    pub fn verify<'b>(
        &self,
        headers: &HeaderMap,
        body: &'b [u8],
    ) -> Result<VerifiedDelivery<'b>, Error> {
        self.verify_headers(&DeliveryHeaders::from_header_map(headers), body)
    }

    /// The full delivery check at the instant `now`; see
    /// [`Verifier::verify_headers_at`].
    ///
    /// # Errors
    ///
    /// An [`Error`] saying why the delivery was refused.
    pub fn verify_at<'b>(
        &self,
        headers: &HeaderMap,
        body: &'b [u8],
        now: impl Into<Timestamp>,
    ) -> Result<VerifiedDelivery<'b>, Error> {
        self.verify_headers_at(&DeliveryHeaders::from_header_map(headers), body, now.into())
    }

    /// The full delivery check on header values from any representation,
    /// against the verifier's clock (read only when the timestamp check is on).
    ///
    /// # Errors
    ///
    /// An [`Error`] saying why the delivery was refused.
    pub fn verify_headers<'b>(
        &self,
        headers: &DeliveryHeaders<'_>,
        body: &'b [u8],
    ) -> Result<VerifiedDelivery<'b>, Error> {
        let now = self
            .inner
            .tolerance
            .map(|_| self.inner.clock.unix_seconds());
        self.check(headers, body, now)
    }

    /// The full delivery check at the instant `now`:
    ///
    /// 1. the body is no larger than the limit (else 413);
    /// 2. exactly one signature, from `X-Bedrud-Signature` or else from
    ///    `X-Webhook-Signature`, that matches the body for one of the
    ///    secrets (else 401);
    /// 3. the body is a JSON object with string `event` and `timestamp`, and
    ///    the timestamp is RFC 3339 (else 400: it *was* signed by Bedrud);
    /// 4. the signed timestamp is within the tolerance of `now`, in both
    ///    directions (else 401: it may be a replay);
    /// 5. `X-Bedrud-Timestamp`, `X-Bedrud-Event` and `X-Webhook-Event`, when
    ///    present, equal the body's fields: headers are not signed (else 401).
    ///
    /// It allocates nothing unless the body's `event` or `timestamp` holds a
    /// JSON escape, which Bedrud's never do.
    ///
    /// # Errors
    ///
    /// An [`Error`] saying why the delivery was refused.
    pub fn verify_headers_at<'b>(
        &self,
        headers: &DeliveryHeaders<'_>,
        body: &'b [u8],
        now: impl Into<Timestamp>,
    ) -> Result<VerifiedDelivery<'b>, Error> {
        self.check(headers, body, Some(now.into().unix_seconds()))
    }

    fn check<'b>(
        &self,
        headers: &DeliveryHeaders<'_>,
        body: &'b [u8],
        now: Option<i64>,
    ) -> Result<VerifiedDelivery<'b>, Error> {
        if body.len() > self.inner.body_limit {
            return Err(Error::BodyTooLarge {
                limit: self.inner.body_limit,
            });
        }
        let signature = match (headers.bedrud_signature, headers.webhook_signature) {
            (Slot::One(value), _) | (Slot::Absent, Slot::One(value)) => value,
            (Slot::Many, _) | (Slot::Absent, Slot::Many) => return Err(Error::DuplicateSignature),
            (Slot::Absent, Slot::Absent) => return Err(Error::MissingSignature),
        };
        self.verify_signature(signature, body)?;

        let envelope = RawEnvelope::from_slice(body)?;
        let timestamp =
            Timestamp::parse(&envelope.timestamp).map_err(|_| Error::InvalidTimestamp)?;
        if let (Some(tolerance), Some(now)) = (self.inner.tolerance, now) {
            check_freshness(timestamp, now, tolerance)?;
        }
        header_agrees(
            headers.bedrud_timestamp,
            &envelope.timestamp,
            "X-Bedrud-Timestamp",
        )?;
        header_agrees(headers.bedrud_event, &envelope.event, "X-Bedrud-Event")?;
        header_agrees(headers.webhook_event, &envelope.event, "X-Webhook-Event")?;

        Ok(VerifiedDelivery {
            body,
            envelope,
            timestamp,
        })
    }
}

fn check_freshness(timestamp: Timestamp, now: i64, tolerance: u64) -> Result<(), Error> {
    let delta = now.saturating_sub(timestamp.unix_seconds());
    let distance = delta.unsigned_abs();
    if distance <= tolerance {
        Ok(())
    } else if delta > 0 {
        Err(Error::TimestampTooOld {
            age_secs: distance,
            tolerance_secs: tolerance,
        })
    } else {
        Err(Error::TimestampTooNew {
            ahead_secs: distance,
            tolerance_secs: tolerance,
        })
    }
}

fn header_agrees(slot: Slot<'_>, body_value: &str, header: &'static str) -> Result<(), Error> {
    match slot {
        Slot::Absent => Ok(()),
        Slot::One(value) if value == body_value.as_bytes() => Ok(()),
        Slot::One(_) | Slot::Many => Err(Error::HeaderMismatch { header }),
    }
}

impl VerifierBuilder {
    /// Also accepts deliveries signed with `secret`: a previous secret, kept
    /// for the time it takes every sender to switch to the new one.
    pub fn previous_secret(mut self, secret: Secret) -> Self {
        self.previous.push(secret);
        self
    }

    /// Also accepts every secret in `secrets`.
    pub fn previous_secrets(mut self, secrets: impl IntoIterator<Item = Secret>) -> Self {
        self.previous.extend(secrets);
        self
    }

    /// How far the signed timestamp may lie from the receiver's clock, in
    /// either direction, in whole seconds (a fraction is dropped). The
    /// default is [`DEFAULT_TOLERANCE`], five minutes.
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = Some(tolerance.as_secs());
        self
    }

    /// Switches the timestamp check off: a delivery of any age passes.
    ///
    /// Bedrud never retries, so a replayed body is the only way to receive
    /// the same delivery twice; switch this off only where replays are
    /// harmless or caught elsewhere.
    pub fn disable_timestamp_check(mut self) -> Self {
        self.tolerance = None;
        self
    }

    /// The largest body accepted, in bytes; [`DEFAULT_BODY_LIMIT`] by default.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Reads "now" from `clock` instead of the system clock, in every entry
    /// point that takes no `now` argument, including the framework
    /// integrations. For tests that replay recorded deliveries, and for
    /// platforms without a system clock.
    ///
    /// ```
    /// use bedrud_webhook_verify::{headers, sign, Secret, Timestamp, Verifier};
    ///
    /// let secret = Secret::new("9f86d081884c7d659a2feaa0c55ad015")?;
    /// let recorded: Timestamp = "2026-04-01T12:34:56Z".parse()?;
    /// let verifier = Verifier::builder(secret.clone()).clock(move || recorded).build();
    ///
    /// let body = br#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#;
    /// let mut map = http::HeaderMap::new();
    /// map.insert(headers::SIGNATURE, sign(&secret, body).parse()?);
    /// assert!(verifier.verify(&map, body).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn clock(mut self, clock: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        self.clock = Clock::Custom(Arc::new(clock));
        self
    }

    /// Computes each secret's HMAC key schedule once, and builds the verifier.
    /// The secrets themselves are dropped (and wiped) here.
    #[must_use]
    pub fn build(self) -> Verifier {
        Verifier {
            inner: Arc::new(Inner {
                current: keyed(self.current.expose()),
                previous: self.previous.iter().map(|s| keyed(s.expose())).collect(),
                tolerance: self.tolerance,
                body_limit: self.body_limit,
                clock: self.clock,
            }),
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("secrets", &self.secret_count())
            .field("tolerance", &self.tolerance())
            .field("body_limit", &self.inner.body_limit)
            .field("clock", &self.inner.clock)
            .finish()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Clock::System => "system",
            Clock::Custom(_) => "custom",
        })
    }
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("secrets", &(1 + self.previous.len()))
            .field("tolerance", &self.tolerance.map(Duration::from_secs))
            .field("body_limit", &self.body_limit)
            .field("clock", &self.clock)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{headers, sign};

    const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";
    const BODY: &[u8] = br#"{"data":{"roomId":"r1","roomName":"weekly-sync","userId":"u1"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#;
    const SIGNED_AT: i64 = 1_775_046_896;

    fn secret(s: &str) -> Secret {
        Secret::new(s).unwrap()
    }

    fn verifier() -> Verifier {
        Verifier::new(secret(SECRET))
    }

    fn at(offset: i64) -> Timestamp {
        Timestamp::from_unix_seconds(SIGNED_AT + offset).unwrap()
    }

    fn signed(body: &[u8]) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(
            headers::SIGNATURE,
            sign(&secret(SECRET), body).parse().unwrap(),
        );
        map
    }

    #[test]
    fn genuine_delivery_passes_and_borrows_the_body() {
        let map = signed(BODY);
        let delivery = verifier().verify_at(&map, BODY, at(0)).unwrap();
        assert_eq!(delivery.envelope.event, "room.ended");
        assert_eq!(delivery.timestamp, at(0));
        assert!(std::ptr::eq(delivery.body, BODY));
        assert_eq!(
            delivery.envelope.data.unwrap(),
            r#"{"roomId":"r1","roomName":"weekly-sync","userId":"u1"}"#
        );
    }

    #[test]
    fn tolerance_edges_are_inclusive() {
        let map = signed(BODY);
        let v = verifier();
        assert!(v.verify_at(&map, BODY, at(300)).is_ok());
        assert!(v.verify_at(&map, BODY, at(-300)).is_ok());
        assert_eq!(
            v.verify_at(&map, BODY, at(301)).unwrap_err(),
            Error::TimestampTooOld {
                age_secs: 301,
                tolerance_secs: 300
            }
        );
        assert_eq!(
            v.verify_at(&map, BODY, at(-301)).unwrap_err(),
            Error::TimestampTooNew {
                ahead_secs: 301,
                tolerance_secs: 300
            }
        );
    }

    #[test]
    fn tolerance_is_configurable_and_can_be_switched_off() {
        let map = signed(BODY);
        let tight = Verifier::builder(secret(SECRET))
            .tolerance(Duration::from_secs(10))
            .build();
        assert!(tight.verify_at(&map, BODY, at(10)).is_ok());
        assert!(tight.verify_at(&map, BODY, at(11)).is_err());
        let off = Verifier::builder(secret(SECRET))
            .disable_timestamp_check()
            .build();
        assert_eq!(off.tolerance(), None);
        for offset in [-10 * 365 * 86_400, -301, 0, 301, 50 * 365 * 86_400] {
            assert!(off.verify_at(&map, BODY, at(offset)).is_ok(), "{offset}");
        }
        // Switched off, the system clock is not needed at all.
        assert!(off.verify(&map, BODY).is_ok());
    }

    #[test]
    fn system_clock_entry_point_refuses_an_old_delivery() {
        let map = signed(BODY);
        assert!(matches!(
            verifier().verify(&map, BODY).unwrap_err(),
            Error::TimestampTooOld { .. } | Error::TimestampTooNew { .. }
        ));
    }

    #[test]
    fn the_system_clock_is_the_precise_clock_to_the_second() {
        for _ in 0..1_000 {
            let before = Timestamp::now().unix_seconds();
            let coarse = system_unix_seconds();
            let after = Timestamp::now().unix_seconds();
            // Coarse time trails by at most a tick of a few milliseconds:
            // never ahead, and at most the one second boundary behind.
            assert!(
                before - 1 <= coarse && coarse <= after,
                "{before} {coarse} {after}"
            );
        }
    }

    #[test]
    fn system_clock_entry_point_measures_age_against_the_real_clock() {
        let body_at = |at: Timestamp| {
            format!(r#"{{"data":{{}},"event":"ping","timestamp":"{at}"}}"#).into_bytes()
        };
        let now = Timestamp::now();
        let fresh = body_at(now);
        assert!(verifier().verify(&signed(&fresh), &fresh).is_ok());

        let old = body_at(Timestamp::from_unix_seconds(now.unix_seconds() - 3_600).unwrap());
        let Err(Error::TimestampTooOld { age_secs, .. }) = verifier().verify(&signed(&old), &old)
        else {
            panic!("an hour-old delivery must be too old");
        };
        // The test itself may straddle a second or two, and the verifier's
        // coarse clock may not have ticked into the second `now` is in.
        assert!((3_599..3_605).contains(&age_secs), "{age_secs}");
    }

    #[test]
    fn signature_headers_in_both_dialects() {
        let sig = sign(&secret(SECRET), BODY);
        let v = verifier();
        let mut guide = HeaderMap::new();
        guide.insert(headers::WEBHOOK_SIGNATURE, sig.parse().unwrap());
        assert!(v.verify_at(&guide, BODY, at(0)).is_ok());

        // X-Bedrud-Signature wins when both are present.
        let mut both = signed(BODY);
        both.insert(headers::WEBHOOK_SIGNATURE, "sha256=00".parse().unwrap());
        assert!(v.verify_at(&both, BODY, at(0)).is_ok());
        let mut bad_bedrud = guide.clone();
        bad_bedrud.insert(headers::SIGNATURE, "sha256=00".parse().unwrap());
        assert!(matches!(
            v.verify_at(&bad_bedrud, BODY, at(0)),
            Err(Error::MalformedSignature(_))
        ));
    }

    #[test]
    fn missing_and_duplicated_signatures() {
        let v = verifier();
        assert_eq!(
            v.verify_at(&HeaderMap::new(), BODY, at(0)).unwrap_err(),
            Error::MissingSignature
        );
        let sig = sign(&secret(SECRET), BODY);
        for name in [headers::SIGNATURE, headers::WEBHOOK_SIGNATURE] {
            let mut map = HeaderMap::new();
            map.append(name.clone(), sig.parse().unwrap());
            map.append(name, sig.parse().unwrap());
            assert_eq!(
                v.verify_at(&map, BODY, at(0)).unwrap_err(),
                Error::DuplicateSignature
            );
        }
    }

    #[test]
    fn wrong_secret_and_tampered_body_mismatch() {
        let v = verifier();
        let mut map = HeaderMap::new();
        map.insert(
            headers::SIGNATURE,
            sign(&secret("another-secret"), BODY).parse().unwrap(),
        );
        assert_eq!(
            v.verify_at(&map, BODY, at(0)).unwrap_err(),
            Error::SignatureMismatch
        );
        let tampered = String::from_utf8(BODY.to_vec())
            .unwrap()
            .replace("weekly", "WEEKLY");
        assert_eq!(
            v.verify_at(&signed(BODY), tampered.as_bytes(), at(0))
                .unwrap_err(),
            Error::SignatureMismatch
        );
    }

    #[test]
    fn rotation_window_accepts_current_and_previous_only() {
        let v = Verifier::builder(secret("new"))
            .previous_secret(secret("old"))
            .previous_secrets([secret("older")])
            .build();
        assert_eq!(v.secret_count(), 3);
        for s in ["new", "old", "older"] {
            assert!(
                v.verify_signature(sign(&secret(s), BODY).as_bytes(), BODY)
                    .is_ok(),
                "{s}"
            );
        }
        assert_eq!(
            v.verify_signature(sign(&secret("unlisted"), BODY).as_bytes(), BODY),
            Err(Error::SignatureMismatch)
        );
        // The verifier signs with the current secret.
        assert_eq!(v.sign(BODY), sign(&secret("new"), BODY));
    }

    #[test]
    fn each_unsigned_header_must_agree_with_the_body() {
        let v = verifier();
        let cases = [
            (
                headers::TIMESTAMP,
                "2026-04-01T12:34:57Z",
                "X-Bedrud-Timestamp",
            ),
            (headers::EVENT, "room.created", "X-Bedrud-Event"),
            (headers::WEBHOOK_EVENT, "ping", "X-Webhook-Event"),
        ];
        for (name, wrong, canonical) in cases {
            let mut map = signed(BODY);
            map.insert(name.clone(), wrong.parse().unwrap());
            assert_eq!(
                v.verify_at(&map, BODY, at(0)).unwrap_err(),
                Error::HeaderMismatch { header: canonical }
            );
            // Twice, even with agreeing values, is refused: which one would count?
            let right = if canonical == "X-Bedrud-Timestamp" {
                "2026-04-01T12:34:56Z"
            } else {
                "room.ended"
            };
            let mut twice = signed(BODY);
            twice.append(name.clone(), right.parse().unwrap());
            twice.append(name, right.parse().unwrap());
            assert_eq!(
                v.verify_at(&twice, BODY, at(0)).unwrap_err(),
                Error::HeaderMismatch { header: canonical }
            );
        }
        let mut agreeing = signed(BODY);
        agreeing.insert(headers::TIMESTAMP, "2026-04-01T12:34:56Z".parse().unwrap());
        agreeing.insert(headers::EVENT, "room.ended".parse().unwrap());
        agreeing.insert(headers::WEBHOOK_EVENT, "room.ended".parse().unwrap());
        assert!(v.verify_at(&agreeing, BODY, at(0)).is_ok());
    }

    #[test]
    fn signed_but_malformed_payloads_are_400() {
        let v = verifier();
        let cases: [(&[u8], Error); 6] = [
            (b"not json", Error::NotJsonObject),
            (b"[]", Error::NotJsonObject),
            (
                br#"{"timestamp":"2026-04-01T12:34:56Z"}"#,
                Error::MissingEvent,
            ),
            (br#"{"event":"ping"}"#, Error::MissingTimestamp),
            (
                br#"{"event":7,"timestamp":"2026-04-01T12:34:56Z"}"#,
                Error::InvalidEnvelope,
            ),
            (
                br#"{"event":"ping","timestamp":"yesterday"}"#,
                Error::InvalidTimestamp,
            ),
        ];
        for (body, want) in cases {
            let err = v.verify_at(&signed(body), body, at(0)).unwrap_err();
            assert_eq!(err, want);
            assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
            assert!(!err.is_authenticity_failure());
        }
    }

    #[test]
    fn unsigned_malformed_payloads_are_401_not_400() {
        // A forger must learn nothing from the parser: the MAC is checked first.
        let mut map = HeaderMap::new();
        map.insert(
            headers::SIGNATURE,
            format!("sha256={}", "ab".repeat(32)).parse().unwrap(),
        );
        let err = verifier().verify_at(&map, b"not json", at(0)).unwrap_err();
        assert_eq!(err, Error::SignatureMismatch);
        assert_eq!(err.status(), http::StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn body_limit_is_413_and_checked_before_anything_else() {
        let v = Verifier::builder(secret(SECRET))
            .body_limit(BODY.len())
            .build();
        assert!(v.verify_at(&signed(BODY), BODY, at(0)).is_ok());
        let mut bigger = BODY.to_vec();
        bigger.push(b' ');
        let err = v.verify_at(&HeaderMap::new(), &bigger, at(0)).unwrap_err();
        assert_eq!(err, Error::BodyTooLarge { limit: BODY.len() });
        assert_eq!(err.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(verifier().body_limit(), DEFAULT_BODY_LIMIT);
    }

    #[test]
    fn header_values_entry_point_matches_the_header_map_one() {
        let sig = sign(&secret(SECRET), BODY);
        let pairs = DeliveryHeaders::from_pairs([
            (&b"X-Bedrud-Signature"[..], sig.as_bytes()),
            (b"X-Bedrud-Event", b"room.ended"),
        ]);
        let d = verifier().verify_headers_at(&pairs, BODY, at(0)).unwrap();
        assert_eq!(d.envelope.event, "room.ended");
        let wrong = DeliveryHeaders::from_pairs([
            (&b"x-webhook-signature"[..], sig.as_bytes()),
            (b"x-webhook-event", b"ping"),
        ]);
        assert_eq!(
            verifier()
                .verify_headers_at(&wrong, BODY, at(0))
                .unwrap_err(),
            Error::HeaderMismatch {
                header: "X-Webhook-Event"
            }
        );
    }

    #[test]
    fn errors_and_debug_never_show_key_material() {
        let v = Verifier::builder(secret(SECRET))
            .previous_secret(secret("previous-secret"))
            .build();
        let expected = sign(&secret(SECRET), BODY);
        let shown = format!("{v:?} {:?}", Verifier::builder(secret(SECRET)));
        assert!(
            !shown.contains(SECRET) && !shown.contains("previous-secret"),
            "{shown}"
        );
        let mut map = HeaderMap::new();
        map.insert(
            headers::SIGNATURE,
            format!("sha256={}", "0".repeat(64)).parse().unwrap(),
        );
        let err = v.verify_at(&map, BODY, at(0)).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains(&expected[7..]), "{text}");
    }

    #[test]
    fn an_injected_clock_drives_the_entry_points_without_now() {
        let map = signed(BODY);
        let pinned = |offset| {
            Verifier::builder(secret(SECRET))
                .clock(move || at(offset))
                .build()
        };
        assert!(pinned(300).verify(&map, BODY).is_ok());
        assert!(matches!(
            pinned(301).verify(&map, BODY),
            Err(Error::TimestampTooOld { age_secs: 301, .. })
        ));
        let pairs = DeliveryHeaders::from_header_map(&map);
        assert!(matches!(
            pinned(-301).verify_headers(&pairs, BODY),
            Err(Error::TimestampTooNew {
                ahead_secs: 301,
                ..
            })
        ));
        assert!(format!("{:?}", pinned(0)).contains("clock: custom"));
    }

    #[test]
    fn verifier_is_cheap_to_share() {
        fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync_clone::<Verifier>();
        let v = verifier();
        let w = v.clone();
        assert!(Arc::ptr_eq(&v.inner, &w.inner));
    }
}
