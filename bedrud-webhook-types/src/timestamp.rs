//! The envelope's `timestamp`: a UTC instant written the way Bedrud writes it.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

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
// Whole seconds since the Unix epoch, always within `FIRST_SECS..=LAST_SECS`
// (`time`'s own range, the one `OffsetDateTime` held here before). The
// verifier needs only these seconds, twice per delivery; the calendar is
// worked out only to write the timestamp out. Ordering and equality of the
// seconds are those of the instants.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// A string that is not an RFC 3339 date-time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("timestamp is not an RFC 3339 date-time such as 2026-04-01T12:34:56Z")]
pub struct TimestampError(());

/// The first and last instants a [`Timestamp`] holds: those of `time`, in
/// whole seconds (years -9999 to 9999 unless some crate in the build turns
/// on `time`'s `large-dates`). Only [`From<OffsetDateTime>`] and
/// [`From<SystemTime>`] reach beyond the RFC 3339 years, and they saturate
/// here.
const FIRST: OffsetDateTime = PrimitiveDateTime::MIN.assume_utc();
const LAST: OffsetDateTime =
    PrimitiveDateTime::new(Date::MAX, time::macros::time!(23:59:59)).assume_utc();
const FIRST_SECS: i64 = FIRST.unix_timestamp();
const LAST_SECS: i64 = LAST.unix_timestamp();

/// The first and last instants RFC 3339 can write, `0000-01-01T00:00:00Z`
/// and `9999-12-31T23:59:59Z`: the range of [`Timestamp::parse`] and
/// [`Timestamp::from_unix_seconds`], so that every `Timestamp` they give
/// writes out in a form that parses back.
const FIRST_RFC3339_SECS: i64 = -62_167_219_200;
const LAST_RFC3339_SECS: i64 = 253_402_300_799;

const SECS_PER_DAY: i64 = 86_400;

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
        // Nearly every timestamp is Bedrud's own form, which a fixed-layout
        // read handles in a few nanoseconds instead of `time`'s general RFC
        // 3339 parser (~19 ns). Anything the fast path does not accept, valid
        // or not, goes to the general parser, which alone decides.
        match parse_bedrud_form(s) {
            Some(ts) => Ok(ts),
            None => parse_rfc3339(s),
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
        if (FIRST_RFC3339_SECS..=LAST_RFC3339_SECS).contains(&secs) {
            Ok(Self(secs))
        } else {
            Err(TimestampError(()))
        }
    }

    /// Seconds since the Unix epoch (whole seconds, rounded down).
    #[must_use]
    pub fn unix_seconds(self) -> i64 {
        self.0
    }

    /// The same instant as a [`time::OffsetDateTime`] in UTC.
    #[must_use]
    pub fn to_offset_date_time(self) -> OffsetDateTime {
        // Never fails: the seconds lie in `FIRST_SECS..=LAST_SECS`, exactly
        // the range `from_unix_timestamp` accepts. Were they ever outside,
        // saturate as `From<OffsetDateTime>` does rather than panic.
        OffsetDateTime::from_unix_timestamp(self.0).unwrap_or(if self.0 < 0 { FIRST } else { LAST })
    }

    /// `secs`, moved into `FIRST_SECS..=LAST_SECS` if outside.
    fn saturating(secs: i64) -> Self {
        Self(secs.clamp(FIRST_SECS, LAST_SECS))
    }
}

/// Bedrud's form, split so that each part loads as one integer: `0` marks a
/// digit position, every other byte must appear literally.
const HEAD_LAYOUT: &[u8; 16] = b"0000-00-00T00:00";
const TAIL_LAYOUT: &[u8; 4] = b":00Z";
// For the check in `parse_bedrud_form`: `*_SIX` adds 6 to each digit byte,
// `*_MASK` keeps the high nibble of each digit byte and all of each
// separator byte.
const HEAD_SIX: u128 = u128::from_le_bytes(per_byte(HEAD_LAYOUT, 6, 0));
const HEAD_MASK: u128 = u128::from_le_bytes(per_byte(HEAD_LAYOUT, 0xF0, 0xFF));
const TAIL_SIX: u32 = u32::from_le_bytes(per_byte(TAIL_LAYOUT, 6, 0));
const TAIL_MASK: u32 = u32::from_le_bytes(per_byte(TAIL_LAYOUT, 0xF0, 0xFF));

// For the range check in `parse_bedrud_form`, on the two-digit numbers
// (the hour at byte 11 and the minute at 14 of the head, the second at 1 of
// the tail): `*_LIMITS` adds 128 less each one's limit, `*_TOPS` keeps the
// top bit of each.
const HEAD_LIMITS: u128 = (128 - 24) << (11 * 8) | (128 - 60) << (14 * 8);
const HEAD_TOPS: u128 = 0x80 << (11 * 8) | 0x80 << (14 * 8);
const TAIL_LIMITS: u32 = (128 - 60) << 8;
const TAIL_TOPS: u32 = 0x80 << 8;

/// Per byte of `layout`: `digit` at its digit positions, `other` elsewhere.
const fn per_byte<const N: usize>(layout: &[u8; N], digit: u8, other: u8) -> [u8; N] {
    let mut out = [other; N];
    let mut i = 0;
    while i < N {
        if layout[i] == b'0' {
            out[i] = digit;
        }
        i += 1;
    }
    out
}

/// Reads exactly Bedrud's form, `YYYY-MM-DDTHH:MM:SSZ`, or returns `None`.
///
/// `None` means "not decided here", never "invalid": the caller falls back to
/// [`parse_rfc3339`] for every such input. That includes well-laid-out but
/// impossible values (month 13, February 30, hour 24) and leap seconds
/// (`23:59:60`), so that whatever the general parser decides about them is
/// what [`Timestamp::parse`] decides, and the two paths cannot disagree.
fn parse_bedrud_form(s: &str) -> Option<Timestamp> {
    // Checked and decoded byte by byte, the digits cost more than the
    // arithmetic on them; as two integers they take a handful of
    // instructions.
    let (head, tail) = s.as_bytes().split_first_chunk::<16>()?;
    let tail: &[u8; 4] = tail.try_into().ok()?;
    // XOR with the layout leaves 0 in each separator position that holds its
    // separator, and in each digit position the byte XOR `'0'`, which is
    // 0..=9 exactly when the byte is an ASCII digit.
    let head = u128::from_le_bytes(*head) ^ u128::from_le_bytes(*HEAD_LAYOUT);
    let tail = u32::from_le_bytes(*tail) ^ u32::from_le_bytes(*TAIL_LAYOUT);
    // So: separator bytes must be 0, digit bytes at most 9, that is at most
    // 15 both before and after adding 6. Adding carries into the next byte
    // only from a byte above 0xF9, which the check refuses by itself.
    let head_ok = (head | head.wrapping_add(HEAD_SIX)) & HEAD_MASK == 0;
    let tail_ok = (tail | tail.wrapping_add(TAIL_SIX)) & TAIL_MASK == 0;
    if !(head_ok & tail_ok) {
        return None;
    }
    // Each byte is now at most 9, so byte `i` of `x * 10 + (x >> 8)` is the
    // two-digit number at `i` and `i + 1`; no step carries between bytes.
    let head = head * 10 + (head >> 8);
    let tail = tail * 10 + (tail >> 8);
    // Each two-digit number is at most 99, so adding 128 less its limit
    // sets its top bit exactly when it reaches the limit, carrying nowhere:
    // hour 24, minute 60, second 60 (a leap second included) are left to
    // `time`.
    let too_large = (head + HEAD_LIMITS) & HEAD_TOPS != 0;
    if too_large | ((tail + TAIL_LIMITS) & TAIL_TOPS != 0) {
        return None;
    }
    let (head, tail) = (head.to_le_bytes(), tail.to_le_bytes());
    let days = unix_days(
        u32::from(head[0]),
        u32::from(head[2]),
        u32::from(head[5]),
        u32::from(head[8]),
    )?;
    let (hour, minute, second) = (u32::from(head[11]), u32::from(head[14]), u32::from(tail[1]));
    // A four-digit year with a `Z` offset is already UTC and inside
    // 0000..=9999, the range `parse_rfc3339` checks for, and has no fraction
    // of a second to drop.
    let time_of_day = i64::from(hour * 3_600 + minute * 60 + second);
    Some(Timestamp(days * SECS_PER_DAY + time_of_day))
}

/// For each month 1 to 12 (0 is none): the days from 1 March to its first
/// day in a year that starts in March, and its length (29 for February).
const MONTHS: [(u16, u8); 13] = [
    (0, 0),
    (306, 31),
    (337, 29),
    (0, 31),
    (31, 30),
    (61, 31),
    (92, 30),
    (122, 31),
    (153, 31),
    (184, 30),
    (214, 31),
    (245, 30),
    (275, 31),
];

/// Days from 1970-01-01 to the date `century`/`year` (the year's first and
/// last two digits), `month`, `day` of the proleptic Gregorian calendar
/// (negative before 1970), or `None` if there is no such date. Every
/// argument is a two-digit number, 0 to 99; nothing overflows or panics for
/// any of them.
fn unix_days(century: u32, year: u32, month: u32, day: u32) -> Option<i64> {
    let &(before, length) = MONTHS.get(usize::try_from(month).ok()?)?;
    if !(1..=u32::from(length)).contains(&day) {
        return None;
    }
    let year = 100 * century + year;
    // 29 February, only in a leap year: divisible by 4 but not by 100
    // unless by 400.
    if (month == 2) & (day == 29)
        && !(year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)))
    {
        return None;
    }
    // Howard Hinnant's `days_from_civil`
    // (<https://howardhinnant.github.io/date_algorithms.html#days_from_civil>):
    // counted from 1 March, the leap day is the last of its year, and the
    // days to a year's 1 March are 365 a year plus one for each leap day
    // before. Counted from the year -400 (one 400-year cycle, 146,097 days,
    // before year 0) so that every step is on non-negative integers.
    let march_year = year + 400 - u32::from(month <= 2);
    let leap_days = march_year / 4 - march_year / 100 + march_year / 400;
    let days_since_minus_400 = 365 * march_year + leap_days + u32::from(before) + day - 1;
    Some(i64::from(days_since_minus_400) - DAYS_FROM_MINUS_400)
}

/// The general path: any RFC 3339 date-time, normalised to UTC.
fn parse_rfc3339(s: &str) -> Result<Timestamp, TimestampError> {
    let parsed = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| TimestampError(()))?;
    // `unix_timestamp` counts whole seconds of the instant, whatever its
    // offset, dropping any fraction. In UTC, a date-time at either end of
    // the years RFC 3339 can write may leave them:
    // `9999-12-31T23:59:59-00:01` lies in the year 10000, which `time`
    // cannot hold (its `to_offset` panics; a fuzzing regression, see
    // SECURITY.md), and `0000-01-01T00:00:00+00:01` in the year -1, which no
    // RFC 3339 parser would read back. Bedrud never writes either; both are
    // refused.
    Timestamp::from_unix_seconds(parsed.unix_timestamp())
}

impl From<OffsetDateTime> for Timestamp {
    /// Normalises to UTC and drops any fraction of a second: Bedrud's
    /// timestamps have whole-second resolution.
    ///
    /// An instant whose UTC date-time lies beyond `time`'s range (the last
    /// or first hours of years 9999 and -9999, with an offset) saturates to
    /// the last or first whole second of that range, `9999-12-31T23:59:59Z`
    /// or `-9999-01-01T00:00:00Z`. Years -9999 to -1 are kept as they are;
    /// such a `Timestamp` writes out in a form RFC 3339 cannot read.
    fn from(value: OffsetDateTime) -> Self {
        // `unix_timestamp` never panics, even where `to_offset` would.
        Self::saturating(value.unix_timestamp())
    }
}

impl From<SystemTime> for Timestamp {
    /// Drops any fraction of a second (rounding down, also before 1970), and
    /// saturates as [`From<OffsetDateTime>`] does beyond `time`'s range.
    fn from(value: SystemTime) -> Self {
        let secs = match value.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            // A clock set before 1970: as far in the past as it says, and a
            // fraction of a second earlier still to the whole second before.
            Err(before) => {
                let before = before.duration();
                let whole = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
                (-whole).saturating_sub(i64::from(before.subsec_nanos() != 0))
            }
        };
        Self::saturating(secs)
    }
}

impl From<Timestamp> for OffsetDateTime {
    fn from(value: Timestamp) -> Self {
        value.to_offset_date_time()
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
        match to_bedrud_form(self.0) {
            Some(form) => f.write_str(std::str::from_utf8(&form).map_err(|_| fmt::Error)?),
            None => write_outside_rfc3339_years(self.to_offset_date_time(), f),
        }
    }
}

/// Bedrud's form of the instant `secs` seconds after the Unix epoch, or
/// `None` outside the years 0000 to 9999.
fn to_bedrud_form(secs: i64) -> Option<[u8; 20]> {
    if !(FIRST_RFC3339_SECS..=LAST_RFC3339_SECS).contains(&secs) {
        return None;
    }
    // Counted from -0400-03-01 (see `civil_from_days`), never negative.
    let since = secs + DAYS_FROM_MINUS_400 * SECS_PER_DAY;
    let days = u32::try_from(since.div_euclid(SECS_PER_DAY)).ok()?;
    let time_of_day = u32::try_from(since.rem_euclid(SECS_PER_DAY)).ok()?;
    let (year, month, day) = civil_from_days(days);
    let mut form = *b"0000-00-00T00:00:00Z";
    for (at, value) in [
        (0, year / 100),
        (2, year % 100),
        (5, month),
        (8, day),
        (11, time_of_day / 3_600),
        (14, time_of_day / 60 % 60),
        (17, time_of_day % 60),
    ] {
        // Each value is below 100; `% 10` keeps every digit in 0..=9.
        form[at] = b'0' + (value / 10 % 10) as u8;
        form[at + 1] = b'0' + (value % 10) as u8;
    }
    Some(form)
}

/// Days from -0400-03-01 to 1970-01-01: one 400-year cycle to 0000-03-01,
/// and from there on.
const DAYS_FROM_MINUS_400: i64 = 146_097 + 719_468;

/// The date (year, month 1 to 12, day 1 to 31) `days` days after
/// -0400-03-01, for the dates from 0000-01-01 on (years before 0 come out
/// as 0, but nothing panics for any `days`).
///
/// Howard Hinnant's `civil_from_days`
/// (<https://howardhinnant.github.io/date_algorithms.html#civil_from_days>),
/// counted from the year -400 (one 400-year cycle before year 0) so that
/// every step is on non-negative integers; the inverse of `unix_days`.
fn civil_from_days(days: u32) -> (u32, u32, u32) {
    let (cycle, day_of_cycle) = (days / 146_097, days % 146_097);
    let year_of_cycle = (day_of_cycle - day_of_cycle / 1_460 + day_of_cycle / 36_524
        - day_of_cycle / 146_096)
        / 365;
    let day_of_year =
        day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);
    // Months counted from March: 0 is March, 11 February.
    let march_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    };
    let year = 400 * cycle + year_of_cycle + u32::from(month <= 2);
    (year.saturating_sub(400), month, day)
}

/// Writes a year before 0000 (or, with `time`'s `large-dates`, after 9999),
/// which only `From<OffsetDateTime>` and `From<SystemTime>` give: as Bedrud's
/// form would be but with the year's sign and all its digits, which no RFC
/// 3339 parser reads.
fn write_outside_rfc3339_years(t: OffsetDateTime, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let year = t.year();
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
    use std::time::Duration;

    use time::UtcOffset;

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
    // The fast path (`parse_bedrud_form`) must never disagree with the
    // general one (`parse_rfc3339`): it may only decline. These check that
    // `Timestamp::parse` gives exactly what the general parser gives.

    /// Checks that `parse` and the general parser agree on `s`, and that the
    /// fast path, whenever it answers, gives the general parser's value.
    /// Returns whether the fast path answered.
    fn assert_paths_agree(s: &str) -> bool {
        let slow = parse_rfc3339(s);
        assert_eq!(Timestamp::parse(s), slow, "{s:?}");
        match parse_bedrud_form(s) {
            Some(fast) => {
                assert_eq!(Ok(fast), slow, "{s:?}");
                assert_eq!(
                    Ok(fast.unix_seconds()),
                    slow.map(Timestamp::unix_seconds),
                    "{s:?}"
                );
                // And the seconds are `time`'s own, read straight from it.
                let t = OffsetDateTime::parse(s, &Rfc3339).unwrap();
                assert_eq!(fast.unix_seconds(), t.unix_timestamp(), "{s:?}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn fast_path_reads_bedruds_form() {
        let ts = parse_bedrud_form("2026-04-01T12:34:56Z").unwrap();
        assert_eq!(ts.unix_seconds(), 1_775_046_896);
        assert_eq!(ts.to_offset_date_time().offset(), UtcOffset::UTC);
        assert!(assert_paths_agree("2026-04-01T12:34:56Z"));
    }

    #[test]
    fn fast_path_declines_everything_but_bedruds_exact_form() {
        for s in [
            "2026-04-01t12:34:56Z",
            "2026-04-01T12:34:56z",
            "2026-04-01 12:34:56Z",
            "2026-04-01T12:34:56+00:00",
            "2026-04-01T12:34:56.0Z",
            "2026-04-01T12:34:5Z",
            "2026-04-01T12:34:566Z",
            "+026-04-01T12:34:56Z",
            "2026-04-01T12:34:5\u{0660}",
            // Non-ASCII bytes in the layout; `\u{280}` starts with 0xCA,
            // which XOR `'0'` is 0xFA, the smallest byte whose `+ 6`
            // carries into the next.
            "20\u{ff}-04-01T12:34:56Z",
            "2\u{280}6-04-01T12:34:56Z",
            "2026-04-01T12:34:5\u{7f}Z",
            "2026-04-01T12\u{2236}34:56Z",
            "2026-04-01T12:34:56\u{ff}",
            "2026-04-01T12:\u{10ffff}56Z",
            "2026-04-01T12:34:56Z ",
            " 2026-04-01T12:34:56Z",
        ] {
            assert!(parse_bedrud_form(s).is_none(), "{s:?}");
            assert_paths_agree(s);
        }
    }

    #[test]
    fn leap_days() {
        for (s, ok) in [
            ("2024-02-29T00:00:00Z", true),
            ("2023-02-29T00:00:00Z", false),
            ("2000-02-29T12:00:00Z", true),
            ("1900-02-29T12:00:00Z", false),
            ("2024-02-30T00:00:00Z", false),
            ("2024-04-31T00:00:00Z", false),
        ] {
            assert_eq!(Timestamp::parse(s).is_ok(), ok, "{s}");
            assert_eq!(assert_paths_agree(s), ok, "{s}");
        }
        assert_eq!(
            Timestamp::parse("2024-02-29T00:00:00Z")
                .unwrap()
                .to_string(),
            "2024-02-29T00:00:00Z"
        );
    }

    #[test]
    fn first_and_last_instants_take_the_fast_path() {
        for (s, secs) in [
            ("0000-01-01T00:00:00Z", -62_167_219_200),
            ("9999-12-31T23:59:59Z", 253_402_300_799),
            ("1970-01-01T00:00:00Z", 0),
        ] {
            assert!(assert_paths_agree(s), "{s}");
            let ts = Timestamp::parse(s).unwrap();
            assert_eq!(ts.unix_seconds(), secs, "{s}");
            assert_eq!(ts.to_string(), s);
        }
    }

    #[test]
    fn out_of_range_fields_are_left_to_the_general_parser() {
        for s in [
            "2026-00-01T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-00T00:00:00Z",
            "2026-01-32T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:60:00Z",
            "2026-01-01T00:00:61Z",
            "2026-13-45T25:61:61Z",
        ] {
            assert!(!assert_paths_agree(s), "{s}");
            assert!(Timestamp::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn leap_seconds_are_left_to_the_general_parser() {
        // `time` reads a leap second only where one can occur, the last
        // second of a month in UTC, as the instant just before the next
        // second; with the fraction dropped that is `23:59:59`.
        for s in [
            "2016-12-31T23:59:60Z",
            "2026-04-30T23:59:60Z",
            "2026-04-01T23:59:60Z",
            "2026-04-01T12:34:60Z",
        ] {
            assert!(!assert_paths_agree(s), "{s}");
        }
        assert_eq!(
            Timestamp::parse("2016-12-31T23:59:60Z")
                .unwrap()
                .to_string(),
            "2016-12-31T23:59:59Z"
        );
        assert!(Timestamp::parse("2026-04-01T23:59:60Z").is_err());
        assert!(Timestamp::parse("2026-04-01T12:34:60Z").is_err());
    }

    #[test]
    fn general_parser_on_its_own() {
        assert_eq!(
            parse_rfc3339("2026-04-01T12:34:56Z")
                .unwrap()
                .unix_seconds(),
            1_775_046_896
        );
        assert_eq!(
            parse_rfc3339("2026-04-01T14:34:56.5+02:00")
                .unwrap()
                .to_string(),
            "2026-04-01T12:34:56Z"
        );
        assert!(parse_rfc3339("9999-12-31T23:59:59-00:01").is_err());
        assert!(parse_rfc3339("0000-01-01T00:00:00+00:01").is_err());
        assert!(parse_rfc3339("2023-02-29T00:00:00Z").is_err());
        assert!(parse_rfc3339("").is_err());
    }

    #[test]
    fn debug_shows_the_date() {
        let ts = Timestamp::parse("2026-04-01T12:34:56Z").unwrap();
        assert_eq!(format!("{ts:?}"), "Timestamp(2026-04-01T12:34:56Z)");
    }

    #[test]
    fn the_ranges_are_times_and_rfc3339s() {
        use time::macros::datetime;
        assert_eq!(
            FIRST_RFC3339_SECS,
            datetime!(0000-01-01 00:00:00 UTC).unix_timestamp()
        );
        assert_eq!(
            LAST_RFC3339_SECS,
            datetime!(9999-12-31 23:59:59 UTC).unix_timestamp()
        );
        assert_eq!(
            FIRST_SECS,
            PrimitiveDateTime::MIN.assume_utc().unix_timestamp()
        );
        assert_eq!(
            LAST_SECS,
            PrimitiveDateTime::MAX.assume_utc().unix_timestamp()
        );
        // `from_unix_timestamp` accepts exactly the range a `Timestamp`
        // holds, so `to_offset_date_time` never needs its fallback.
        for secs in [FIRST_SECS, LAST_SECS] {
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            assert_eq!(Timestamp::saturating(secs).to_offset_date_time(), t);
        }
        assert_eq!(OffsetDateTime::from_unix_timestamp(FIRST_SECS), Ok(FIRST));
        assert_eq!(OffsetDateTime::from_unix_timestamp(LAST_SECS), Ok(LAST));
        assert!(OffsetDateTime::from_unix_timestamp(FIRST_SECS - 1).is_err());
        assert!(OffsetDateTime::from_unix_timestamp(LAST_SECS + 1).is_err());
    }

    #[test]
    fn to_offset_date_time_falls_back_without_panicking() {
        // Unreachable through the API; checked all the same.
        assert_eq!(Timestamp(i64::MIN).to_offset_date_time(), FIRST);
        assert_eq!(Timestamp(i64::MAX).to_offset_date_time(), LAST);
        assert_eq!(Timestamp(i64::MAX).to_string(), "9999-12-31T23:59:59Z");
    }

    /// `time`'s answer for what `unix_days` answers.
    fn unix_days_by_time(century: u32, year: u32, month: u32, day: u32) -> Option<i64> {
        let year = i32::try_from(century * 100 + year).unwrap();
        let month = time::Month::try_from(u8::try_from(month).unwrap()).ok()?;
        let date = Date::from_calendar_date(year, month, u8::try_from(day).unwrap()).ok()?;
        let epoch = OffsetDateTime::UNIX_EPOCH.date().to_julian_day();
        Some(i64::from(date.to_julian_day() - epoch))
    }

    #[test]
    fn unix_days_agrees_with_time_on_every_date_and_near_miss() {
        // Every day of every year 0000 to 9999, and every month and day just
        // outside the calendar's.
        for century in 0..=99 {
            for year in 0..=99 {
                for month in 0..=13 {
                    for day in 0..=32 {
                        assert_eq!(
                            unix_days(century, year, month, day),
                            unix_days_by_time(century, year, month, day),
                            "{century:02}{year:02}-{month:02}-{day:02}"
                        );
                    }
                }
            }
        }
        assert_eq!(unix_days(19, 70, 1, 1), Some(0));
        assert_eq!(unix_days(0, 0, 1, 1), Some(-719_528));
        assert_eq!(unix_days(99, 99, 99, 99), None);
    }

    #[test]
    fn civil_from_days_agrees_with_time_on_every_date() {
        let epoch = OffsetDateTime::UNIX_EPOCH.date().to_julian_day();
        let first = Date::from_calendar_date(0, time::Month::January, 1).unwrap();
        let last = Date::from_calendar_date(9999, time::Month::December, 31).unwrap();
        for julian in first.to_julian_day()..=last.to_julian_day() {
            let date = Date::from_julian_day(julian).unwrap();
            let unix_days = i64::from(julian - epoch);
            let days = u32::try_from(unix_days + DAYS_FROM_MINUS_400).unwrap();
            let (year, month, day) = civil_from_days(days);
            assert_eq!(
                (
                    i32::try_from(year).unwrap(),
                    u8::try_from(month).unwrap(),
                    u8::try_from(day).unwrap()
                ),
                (date.year(), u8::from(date.month()), date.day()),
                "{date}"
            );
        }
        // Total, if wrong, below the years it is for.
        assert_eq!(civil_from_days(0), (0, 3, 1));
        let _ = civil_from_days(u32::MAX);
    }

    /// Formats through `time`, as `Display` did for every `Timestamp`.
    struct ViaTime(OffsetDateTime);

    impl fmt::Display for ViaTime {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write_outside_rfc3339_years(self.0, f)
        }
    }

    #[test]
    fn display_at_the_edges() {
        for secs in [
            FIRST_SECS,
            FIRST_RFC3339_SECS - 1,
            FIRST_RFC3339_SECS,
            -1,
            0,
            LAST_RFC3339_SECS,
            LAST_SECS,
        ] {
            let ts = Timestamp::saturating(secs);
            let via_time = ViaTime(ts.to_offset_date_time()).to_string();
            assert_eq!(ts.to_string(), via_time, "{secs}");
            assert_eq!(
                to_bedrud_form(secs).is_some(),
                (FIRST_RFC3339_SECS..=LAST_RFC3339_SECS).contains(&secs)
            );
        }
        assert_eq!(
            Timestamp::saturating(FIRST_RFC3339_SECS - 1).to_string(),
            "-0001-12-31T23:59:59Z"
        );
        assert_eq!(
            Timestamp::saturating(FIRST_SECS).to_string(),
            "-9999-01-01T00:00:00Z"
        );
    }

    /// `From<OffsetDateTime>` as it was while `Timestamp` held an
    /// `OffsetDateTime`: the reference the conversion must still match.
    fn from_offset_date_time_before(value: OffsetDateTime) -> OffsetDateTime {
        let utc = value.checked_to_offset(UtcOffset::UTC).unwrap_or_else(|| {
            if value.offset().is_negative() {
                PrimitiveDateTime::MAX.assume_utc()
            } else {
                PrimitiveDateTime::MIN.assume_utc()
            }
        });
        utc.replace_nanosecond(0).unwrap_or(utc)
    }

    #[test]
    fn from_offset_date_time_saturates_as_before() {
        use time::macros::datetime;
        for t in [
            datetime!(9999-12-31 23:59:59.999999999 -00:00:01),
            datetime!(9999-12-31 23:59:59.5 -23:59:59),
            datetime!(9999-12-31 23:59:59.5 +23:59:59),
            datetime!(-9999-01-01 00:00:00 +00:00:01),
            datetime!(-9999-01-01 00:00:00 -00:00:01),
            datetime!(-9999-01-01 00:00:00.5 UTC),
            datetime!(-0001-12-31 23:59:59.999 UTC),
            datetime!(1969-12-31 23:59:59.999 UTC),
            datetime!(1970-01-01 00:00:00.001 +01:00),
        ] {
            let ts = Timestamp::from(t);
            let before = from_offset_date_time_before(t);
            assert_eq!(ts.to_offset_date_time(), before, "{t}");
            assert_eq!(ts.unix_seconds(), before.unix_timestamp(), "{t}");
            assert_eq!(OffsetDateTime::from(ts), before, "{t}");
        }
        let ts = Timestamp::from(datetime!(-0001-12-31 23:59:59 UTC));
        assert_eq!(ts.to_string(), "-0001-12-31T23:59:59Z");
        assert_eq!(format!("{ts:?}"), "Timestamp(-0001-12-31T23:59:59Z)");
    }

    #[test]
    fn from_system_time_rounds_down_and_saturates() {
        let at = |secs: u64, nanos: u32| Duration::new(secs, nanos);
        for (st, secs) in [
            (UNIX_EPOCH, 0),
            (UNIX_EPOCH + at(1, 500_000_000), 1),
            (UNIX_EPOCH - at(0, 1), -1),
            (UNIX_EPOCH - at(0, 500_000_000), -1),
            (UNIX_EPOCH - at(1, 0), -1),
            (UNIX_EPOCH - at(1, 1), -2),
            (UNIX_EPOCH + at(1_775_046_896, 999_999_999), 1_775_046_896),
        ] {
            assert_eq!(Timestamp::from(st).unix_seconds(), secs, "{st:?}");
            let before = from_offset_date_time_before(OffsetDateTime::from(st));
            assert_eq!(Timestamp::from(st).to_offset_date_time(), before);
        }
        // Beyond `time`'s range, where converting through `OffsetDateTime`
        // would panic: saturated instead.
        let far = Duration::from_secs(1 << 40);
        if let Some(st) = UNIX_EPOCH.checked_add(far) {
            assert_eq!(Timestamp::from(st).unix_seconds(), LAST_SECS);
        }
        if let Some(st) = UNIX_EPOCH.checked_sub(far) {
            assert_eq!(Timestamp::from(st).unix_seconds(), FIRST_SECS);
        }
    }

    #[test]
    fn now_is_the_system_clock_in_whole_seconds() {
        let floor = |st: SystemTime| {
            i64::try_from(st.duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
        };
        let before = floor(SystemTime::now());
        let now = Timestamp::now().unix_seconds();
        let after = floor(SystemTime::now());
        assert!((before..=after).contains(&now), "{before} {now} {after}");
    }

    #[test]
    fn ordering_is_that_of_the_instants() {
        let a = Timestamp::parse("2026-04-01T12:34:56Z").unwrap();
        let b = Timestamp::parse("2026-04-01T12:34:57+00:00").unwrap();
        let c = Timestamp::parse("2026-04-01T13:34:56+02:00").unwrap();
        assert!(c < a && a < b);
        assert_eq!(a.max(b), b);
        assert_eq!(
            a.to_offset_date_time().cmp(&b.to_offset_date_time()),
            a.cmp(&b)
        );
    }

    /// Bedrud's form with the given digits in its fourteen digit positions.
    fn bedrud_form(digits: &[u8]) -> String {
        let mut out = Vec::from(*b"0000-00-00T00:00:00Z");
        let positions = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
        for (&at, &d) in positions.iter().zip(digits) {
            out[at] = d;
        }
        String::from_utf8(out).unwrap()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        #[test]
        fn paths_agree_on_any_digits_in_bedruds_layout(
            digits in proptest::collection::vec(b'0'..=b'9', 14),
        ) {
            assert_paths_agree(&bedrud_form(&digits));
        }

        #[test]
        fn paths_agree_on_fields_around_their_limits(
            year in 0u16..=9999,
            month in 0u8..=13,
            day in 0u8..=32,
            hour in 0u8..=25,
            minute in 0u8..=61,
            second in 0u8..=61,
        ) {
            let s = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z");
            assert_paths_agree(&s);
        }

        #[test]
        fn fast_path_reads_every_valid_instant(
            secs in -62_167_219_200_i64..=253_402_300_799,
        ) {
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            let s = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
            );
            proptest::prop_assert!(assert_paths_agree(&s), "{}", s);
            proptest::prop_assert_eq!(Timestamp::parse(&s).unwrap().unix_seconds(), secs);
        }

        #[test]
        fn paths_agree_on_short_strings_over_a_small_alphabet(
            s in "[0-9T:Z+.\\-]{18,22}",
        ) {
            assert_paths_agree(&s);
        }

        #[test]
        fn paths_agree_on_any_char_spliced_into_bedruds_form(
            secs in -62_167_219_200_i64..=253_402_300_799,
            at in 0usize..20,
            c in proptest::char::any(),
        ) {
            let ts = Timestamp::from_unix_seconds(secs).unwrap().to_string();
            let mut buf = [0; 4];
            let c = c.encode_utf8(&mut buf);
            // Replacing whole ASCII bytes with a whole char keeps it UTF-8.
            if at + c.len() <= ts.len() {
                let s = format!("{}{c}{}", &ts[..at], &ts[at + c.len()..]);
                assert_paths_agree(&s);
            }
        }

        #[test]
        fn paths_agree_on_one_byte_off_bedruds_form(
            secs in -62_167_219_200_i64..=253_402_300_799,
            at in 0usize..20,
            byte in proptest::sample::select(b"0123456789-T:Z+. tz".to_vec()),
        ) {
            let ts = Timestamp::from_unix_seconds(secs).unwrap().to_string();
            let mut bytes = ts.into_bytes();
            bytes[at] = byte;
            assert_paths_agree(&String::from_utf8(bytes).unwrap());
        }

        #[test]
        fn unix_days_agrees_with_time_on_any_two_digit_fields(
            century in 0u32..=99,
            year in 0u32..=99,
            month in 0u32..=99,
            day in 0u32..=99,
        ) {
            proptest::prop_assert_eq!(
                unix_days(century, year, month, day),
                unix_days_by_time(century, year, month, day)
            );
        }

        #[test]
        fn every_rfc3339_second_round_trips_through_its_string(
            secs in FIRST_RFC3339_SECS..=LAST_RFC3339_SECS,
        ) {
            let ts = Timestamp::from_unix_seconds(secs).unwrap();
            let s = ts.to_string();
            proptest::prop_assert_eq!(&s, &ViaTime(ts.to_offset_date_time()).to_string());
            proptest::prop_assert_eq!(parse_bedrud_form(&s), Some(ts), "{}", s);
            proptest::prop_assert_eq!(Timestamp::parse(&s), Ok(ts));
            proptest::prop_assert_eq!(ts.unix_seconds(), secs);
            let t = ts.to_offset_date_time();
            proptest::prop_assert_eq!(t.unix_timestamp(), secs);
            proptest::prop_assert_eq!(t.offset(), UtcOffset::UTC);
            proptest::prop_assert_eq!(Timestamp::from(t), ts);
        }

        #[test]
        fn edge_seconds_round_trip_through_their_strings(
            secs in proptest::prop_oneof![
                FIRST_RFC3339_SECS..FIRST_RFC3339_SECS + 400 * SECS_PER_DAY,
                LAST_RFC3339_SECS - 400 * SECS_PER_DAY..=LAST_RFC3339_SECS,
                -400 * SECS_PER_DAY..400 * SECS_PER_DAY,
            ],
        ) {
            let ts = Timestamp::from_unix_seconds(secs).unwrap();
            let s = ts.to_string();
            proptest::prop_assert_eq!(parse_bedrud_form(&s), Some(ts), "{}", s);
            proptest::prop_assert_eq!(ts.to_offset_date_time().unix_timestamp(), secs);
        }

        #[test]
        fn every_second_time_holds_converts_as_before(
            secs in FIRST_SECS..=LAST_SECS,
            nanos in 0u32..1_000_000_000,
            offset in -93_599i32..=93_599,
        ) {
            // Any instant, any offset, including local date-times whose UTC
            // lies beyond `time`'s range (saturated).
            let t = OffsetDateTime::from_unix_timestamp(secs)
                .unwrap()
                .replace_nanosecond(nanos)
                .unwrap()
                .replace_offset(UtcOffset::from_whole_seconds(offset).unwrap());
            let ts = Timestamp::from(t);
            let before = from_offset_date_time_before(t);
            proptest::prop_assert_eq!(ts.to_offset_date_time(), before);
            proptest::prop_assert_eq!(ts.unix_seconds(), before.unix_timestamp());
            // Display and Debug never panic, whatever the year, and write
            // what `time` would.
            proptest::prop_assert_eq!(ts.to_string(), ViaTime(before).to_string());
            proptest::prop_assert_eq!(format!("{ts:?}"), format!("Timestamp({ts})"));
        }

        #[test]
        fn seconds_near_times_edges_convert_as_before(
            secs in proptest::prop_oneof![
                FIRST_SECS..FIRST_SECS + 2 * SECS_PER_DAY,
                LAST_SECS - 2 * SECS_PER_DAY..=LAST_SECS,
            ],
            nanos in 0u32..1_000_000_000,
            offset in -93_599i32..=93_599,
        ) {
            let t = OffsetDateTime::from_unix_timestamp(secs)
                .unwrap()
                .replace_nanosecond(nanos)
                .unwrap()
                .replace_offset(UtcOffset::from_whole_seconds(offset).unwrap());
            let ts = Timestamp::from(t);
            proptest::prop_assert_eq!(ts.to_offset_date_time(), from_offset_date_time_before(t));
            let _ = ts.to_string();
        }

        #[test]
        fn system_times_convert_as_through_offset_date_time(
            secs in FIRST_SECS..=LAST_SECS,
            nanos in 0u32..1_000_000_000,
        ) {
            let at = Duration::new(secs.unsigned_abs(), 0);
            let st = if secs < 0 { UNIX_EPOCH - at } else { UNIX_EPOCH + at };
            let st = st + Duration::from_nanos(u64::from(nanos));
            // Inside `time`'s range, where its conversion does not panic.
            let t = OffsetDateTime::from(st);
            proptest::prop_assert_eq!(
                Timestamp::from(st).to_offset_date_time(),
                from_offset_date_time_before(t)
            );
        }
    }
}
