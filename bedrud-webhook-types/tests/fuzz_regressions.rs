//! Inputs the fuzz targets in `fuzz/` crashed on, kept as regression tests
//! (SECURITY.md lists them).

#![allow(clippy::unwrap_used, clippy::panic)] // Tests: a failed unwrap is a failed test.

use bedrud_webhook_types::{Envelope, Event, ParseError};

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

/// An `envelope` fuzz target find: a `data` member holding an object with
/// serde_json's private key `$serde_json::private::RawValue` lost its
/// unmodelled fields on the second re-encoding (sorted keys put the private
/// key first, and serde_json's `Value` then read the object as raw JSON).
#[test]
fn serde_json_private_keys_in_data_survive_re_encoding() {
    let body = br#"{"data":{"device=":{"URL":"","$serde_json::private::RawValue":"\u002689b"},"roomId":"r"},"event":"participant.joined","timestamp":"2026-04-01T13:34:59Z"}"#;
    let first = Envelope::from_slice(body).unwrap();
    let encoded = first.to_bedrud_json();
    let second = Envelope::from_slice(&encoded).unwrap();
    let again = second.to_bedrud_json();
    assert_eq!(
        String::from_utf8_lossy(&again),
        String::from_utf8_lossy(&encoded)
    );
    assert!(String::from_utf8_lossy(&again).contains("private::RawValue"));

    // The same key in an unknown event's data stays a key.
    let body = br#"{"data":{"x":{"$serde_json::private::RawValue":"[1]"}},"event":"room.paused","timestamp":"2026-04-01T13:34:59Z"}"#;
    let envelope = Envelope::from_slice(body).unwrap();
    let Event::Unknown(unknown) = &envelope.event else {
        panic!("{:?}", envelope.event)
    };
    assert_eq!(unknown.data["x"]["$serde_json::private::RawValue"], "[1]");
}
