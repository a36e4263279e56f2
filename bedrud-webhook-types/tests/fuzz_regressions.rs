//! Inputs the fuzz targets in `fuzz/` crashed on, kept as regression tests
//! (SECURITY.md lists them).

#![allow(clippy::unwrap_used)] // Tests: a failed unwrap is a failed test.

use bedrud_webhook_types::{Envelope, ParseError};

/// `envelope` target: a timestamp whose UTC form leaves the years 0000-9999
/// made `Envelope::from_slice` panic in `time`'s `to_offset` (year 10000), or
/// parse to an envelope whose re-encoded body could not be parsed (year -1,
/// written `-0001-…`). Both are now an invalid timestamp.
#[test]
fn timestamps_beyond_the_rfc3339_years_are_an_error_not_a_panic() {
    for ts in ["9999-12-31T23:59:59-00:01", "0000-01-01T00:00:00+00:01"] {
        let body = format!(r#"{{"data":{{}},"event":"ping","timestamp":"{ts}"}}"#);
        let err = Envelope::from_slice(body.as_bytes()).unwrap_err();
        assert!(matches!(err, ParseError::InvalidTimestamp), "{ts}: {err:?}");
    }
    // The last and first representable seconds still parse and round-trip.
    for ts in ["9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z"] {
        let body = format!(r#"{{"data":{{}},"event":"ping","timestamp":"{ts}"}}"#);
        let envelope = Envelope::from_slice(body.as_bytes()).unwrap();
        assert_eq!(envelope.to_bedrud_json(), body.as_bytes());
    }
}
