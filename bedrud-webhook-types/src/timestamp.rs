//! The envelope's `timestamp`: a UTC instant written the way Bedrud writes it.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A point in time, as carried in a Bedrud envelope's `timestamp` field.
///
/// Bedrud writes `time.Now().UTC().Format(time.RFC3339)`: whole seconds and a
/// literal `Z`, for example `2026-04-01T12:34:56Z`. [`Timestamp`] parses any
/// RFC 3339 date-time (another offset, fractional seconds) so that a
/// genuinely signed delivery from a different sender still reads, normalises
/// it to UTC, and always writes Bedrud's form back: whole seconds and `Z`.
///
/// ```
/// use bedrud_webhook_types::Timestamp;
///
/// let ts: Timestamp = "2026-04-01T14:34:56+02:00".parse()?;
/// assert_eq!(ts.to_string(), "2026-04-01T12:34:56Z");
/// assert_eq!(ts.unix_seconds(), 1_775_046_896);
/// # Ok::<(), bedrud_webhook_types::TimestampError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

/// A string that is not an RFC 3339 date-time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("timestamp is not an RFC 3339 date-time such as 2026-04-01T12:34:56Z")]
pub struct TimestampError(());

impl Timestamp {
    /// The current time, truncated to whole seconds as Bedrud truncates it.
    #[must_use]
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    /// Parses an RFC 3339 date-time, as Bedrud writes it or in any other
    /// valid RFC 3339 form.
    ///
    /// # Errors
    ///
    /// [`TimestampError`] when `s` is not an RFC 3339 date-time.
    pub fn parse(s: &str) -> Result<Self, TimestampError> {
        let parsed = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| TimestampError(()))?;
        // In UTC, a date-time at either end of the years RFC 3339 can write
        // may leave them: `9999-12-31T23:59:59-00:01` lies in the year 10000,
        // which `time` cannot hold (its `to_offset` panics; a fuzzing
        // regression, see SECURITY.md), and `0000-01-01T00:00:00+00:01`
        // in the year -1, which no RFC 3339 parser would read back. Bedrud
        // never writes either; both are refused.
        match parsed.checked_to_offset(UtcOffset::UTC) {
            Some(utc) if (0..=9999).contains(&utc.year()) => Ok(Self::from(utc)),
            _ => Err(TimestampError(())),
        }
    }

    /// The instant `secs` seconds after the Unix epoch.
    ///
    /// # Errors
    ///
    /// [`TimestampError`] when `secs` is outside the years 0000 to 9999,
    /// the years an RFC 3339 timestamp can write (so that every
    /// `Timestamp` written out parses back).
    pub fn from_unix_seconds(secs: i64) -> Result<Self, TimestampError> {
        match OffsetDateTime::from_unix_timestamp(secs) {
            Ok(t) if (0..=9999).contains(&t.year()) => Ok(Self(t)),
            _ => Err(TimestampError(())),
        }
    }

    /// Seconds since the Unix epoch (whole seconds, rounded down).
    #[must_use]
    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// The same instant as a [`time::OffsetDateTime`] in UTC.
    #[must_use]
    pub fn to_offset_date_time(self) -> OffsetDateTime {
        self.0
    }
}

impl From<OffsetDateTime> for Timestamp {
    /// Normalises to UTC and drops any fraction of a second: Bedrud's
    /// timestamps have whole-second resolution.
    fn from(value: OffsetDateTime) -> Self {
        // `to_offset` would panic when UTC falls outside `time`'s range (the
        // last or first hours of years 9999 and -9999); saturate instead.
        let utc = value.checked_to_offset(UtcOffset::UTC).unwrap_or_else(|| {
            if value.offset().is_negative() {
                PrimitiveDateTime::MAX.assume_utc()
            } else {
                PrimitiveDateTime::MIN.assume_utc()
            }
        });
        Self(utc.replace_nanosecond(0).unwrap_or(utc))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(value: SystemTime) -> Self {
        Self::from(OffsetDateTime::from(value))
    }
}

impl From<Timestamp> for OffsetDateTime {
    fn from(value: Timestamp) -> Self {
        value.0
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Timestamp {
    /// Writes Bedrud's form: `YYYY-MM-DDTHH:MM:SSZ`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        let year = t.year();
        // Go's RFC 3339 layout writes a four-digit year; years outside
        // 0..=9999 cannot be represented there, and `time` without its
        // `large-dates` feature never produces them.
        if year < 0 {
            write!(f, "-{:04}", -year)?;
        } else {
            write!(f, "{year:04}")?;
        }
        write!(
            f,
            "-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bedrud_form_round_trips() {
        let ts = Timestamp::parse("2026-04-01T12:34:56Z").unwrap();
        assert_eq!(ts.to_string(), "2026-04-01T12:34:56Z");
        assert_eq!(ts.unix_seconds(), 1_775_046_896);
        assert_eq!(Timestamp::from_unix_seconds(1_775_046_896).unwrap(), ts);
    }

    #[test]
    fn other_offsets_and_fractions_normalise_to_bedrud_form() {
        let ts = Timestamp::parse("2026-04-01T08:34:56.999-04:00").unwrap();
        assert_eq!(ts.to_string(), "2026-04-01T12:34:56Z");
    }

    #[test]
    fn rejects_non_rfc3339() {
        for bad in [
            "",
            "2026-04-01",
            "12:34:56Z",
            "1775046896",
            "2026-13-01T00:00:00Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fuzz_regression_utc_outside_the_rfc3339_years_is_refused_not_a_panic() {
        // The crasher: `time`'s `to_offset` panicked ("local datetime out of
        // valid range") on the first of these, in `Envelope::from_slice` and,
        // for a genuinely signed body, in the verifier.
        for s in [
            "9999-12-31T23:59:59-00:01",
            "9999-12-31T23:59:59-23:59",
            "9999-12-31T12:00:00-12:00",
            "0000-01-01T00:00:00+00:01",
            "0000-01-01T00:00:00+23:59",
        ] {
            assert!(Timestamp::parse(s).is_err(), "{s}");
        }
        // The edges themselves still parse, and round-trip.
        for s in [
            "9999-12-31T23:59:59Z",
            "9999-12-31T23:59:59+01:00",
            "0000-01-01T00:00:00Z",
            "0000-01-01T00:00:00-01:00",
        ] {
            let ts = Timestamp::parse(s).unwrap();
            assert_eq!(Timestamp::parse(&ts.to_string()).unwrap(), ts, "{s}");
        }
        // Converting such an `OffsetDateTime` saturates rather than panics.
        let late = time::macros::datetime!(9999-12-31 23:59:59 -00:01);
        assert_eq!(Timestamp::from(late).to_string(), "9999-12-31T23:59:59Z");
        let early = time::macros::datetime!(-9999-01-01 00:00:00 +00:01);
        assert_eq!(Timestamp::from(early).to_string(), "-9999-01-01T00:00:00Z");
    }

    #[test]
    fn unix_seconds_outside_rfc3339_years_are_refused() {
        // 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z are the edges.
        let first = -62_167_219_200;
        let last = 253_402_300_799;
        for secs in [first, last, 0] {
            let ts = Timestamp::from_unix_seconds(secs).unwrap();
            assert_eq!(Timestamp::parse(&ts.to_string()).unwrap(), ts);
        }
        assert!(Timestamp::from_unix_seconds(first - 1).is_err());
        assert!(Timestamp::from_unix_seconds(last + 1).is_err());
        assert!(Timestamp::from_unix_seconds(i64::MIN).is_err());
    }

    #[test]
    fn serde_uses_the_string_form() {
        let ts: Timestamp = serde_json::from_str("\"2026-04-01T12:34:56Z\"").unwrap();
        assert_eq!(
            serde_json::to_string(&ts).unwrap(),
            "\"2026-04-01T12:34:56Z\""
        );
    }
}
