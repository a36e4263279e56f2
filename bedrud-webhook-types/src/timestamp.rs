use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::ParseError;

/// The signed `timestamp` of a delivery: an RFC 3339 instant in UTC.
///
/// Bedrud writes whole seconds with a `Z` (`2026-04-01T12:34:56Z`); any RFC
/// 3339 offset or fraction parses too, and is kept as the same instant in UTC.
///
/// ```
/// use bedrud_webhook_types::Timestamp;
///
/// let at: Timestamp = "2026-04-01T14:34:56+02:00".parse()?;
/// assert_eq!(at.to_string(), "2026-04-01T12:34:56Z");
/// assert_eq!(at.unix_seconds(), 1_775_046_896);
/// assert!("2026-04-01 12:34:56".parse::<Timestamp>().is_err());
/// # Ok::<(), bedrud_webhook_types::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// Now, to the whole second, as Bedrud writes it.
    #[must_use]
    pub fn now() -> Timestamp {
        let now = OffsetDateTime::now_utc();
        Timestamp(now - Duration::from_nanos(u64::from(now.nanosecond())))
    }

    /// Parses an RFC 3339 date-time.
    ///
    /// # Errors
    ///
    /// [`ParseError::InvalidTimestamp`] when `text` is not one.
    pub fn parse(text: &str) -> Result<Timestamp, ParseError> {
        // In UTC the instant may leave the years 0..=9999 (`9999-12-31T23:59:59-00:01`),
        // which `to_offset` would panic on and RFC 3339 cannot write.
        OffsetDateTime::parse(text, &Rfc3339)
            .ok()
            .and_then(|at| at.checked_to_offset(UtcOffset::UTC))
            .filter(|at| (0..=9999).contains(&at.year()))
            .map(Timestamp)
            .ok_or(ParseError::InvalidTimestamp)
    }

    /// The instant `secs` seconds after 1970-01-01T00:00:00Z.
    ///
    /// # Errors
    ///
    /// [`ParseError::InvalidTimestamp`] outside the years 0 to 9999, which
    /// RFC 3339 cannot write.
    pub fn from_unix_seconds(secs: i64) -> Result<Timestamp, ParseError> {
        OffsetDateTime::from_unix_timestamp(secs)
            .ok()
            .filter(|at| (0..=9999).contains(&at.year()))
            .map(Timestamp)
            .ok_or(ParseError::InvalidTimestamp)
    }

    /// Seconds since 1970-01-01T00:00:00Z (negative before it).
    #[must_use]
    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    /// The `time` crate's view of this instant, for arithmetic and formats.
    #[must_use]
    pub fn to_offset_date_time(self) -> OffsetDateTime {
        self.0
    }

    /// This instant as a [`SystemTime`].
    #[must_use]
    pub fn to_system_time(self) -> SystemTime {
        SystemTime::from(self.0)
    }
}

impl FromStr for Timestamp {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Timestamp, ParseError> {
        Timestamp::parse(text)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every instant this type holds is in years 0..=9999, which RFC 3339 can write.
        let text = self.0.format(&Rfc3339).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_bedrud_form() {
        let at = Timestamp::parse("2026-04-01T12:34:56Z").unwrap();
        assert_eq!(at.to_string(), "2026-04-01T12:34:56Z");
        assert_eq!(Timestamp::from_unix_seconds(at.unix_seconds()).unwrap(), at);
        assert_eq!(
            serde_json::to_string(&at).unwrap(),
            "\"2026-04-01T12:34:56Z\""
        );
        assert_eq!(
            serde_json::from_str::<Timestamp>("\"2026-04-01T12:34:56Z\"").unwrap(),
            at
        );
    }

    #[test]
    fn refuses_what_rfc_3339_cannot_write() {
        for text in [
            "",
            "2026-04-01",
            "2026-04-01T12:34:56",
            "2026-13-01T00:00:00Z",
            "x",
        ] {
            assert_eq!(
                Timestamp::parse(text),
                Err(ParseError::InvalidTimestamp),
                "{text}"
            );
        }
        assert!(Timestamp::from_unix_seconds(-62_167_219_201).is_err());
        assert!(Timestamp::from_unix_seconds(253_402_300_800).is_err());
        assert!(Timestamp::from_unix_seconds(i64::MAX).is_err());
        let last = Timestamp::from_unix_seconds(253_402_300_799).unwrap();
        assert_eq!(last.to_string(), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn now_is_whole_seconds() {
        assert_eq!(Timestamp::now().to_offset_date_time().nanosecond(), 0);
    }
}
