//! Inputs the fuzz targets in `fuzz/` once failed on, kept as regression tests.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::panic)]

use bedrud_webhook_types::{Envelope, Event, ParseError};

fn ping_at(ts: &str) -> String {
    format!(r#"{{"data":{{}},"event":"ping","timestamp":"{ts}"}}"#)
}

/// `envelope` target: a timestamp whose UTC form leaves the years 0000-9999
/// panicked in `time`'s `to_offset` (year 10000), or parsed to an envelope
/// whose re-encoded timestamp could not be parsed again (year -1).
#[test]
fn timestamps_beyond_the_rfc3339_years_are_an_error_not_a_panic() {
    for ts in ["9999-12-31T23:59:59-00:01", "0000-01-01T00:00:00+00:01"] {
        let err = Envelope::from_slice(ping_at(ts).as_bytes()).unwrap_err();
        assert_eq!(err, ParseError::InvalidTimestamp, "{ts}");
    }
    // The last and first representable seconds parse and round-trip.
    for ts in ["9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z"] {
        let envelope = Envelope::from_slice(ping_at(ts).as_bytes()).unwrap();
        assert_eq!(envelope.timestamp.to_string(), ts);
        let again = Envelope::from_slice(&serde_json::to_vec(&envelope).unwrap()).unwrap();
        assert_eq!(again, envelope);
    }
}

/// `envelope` target: serde_json's private raw-value key inside `data` once
/// turned an object into raw JSON on re-encoding. `data` is kept as raw text
/// now; the key must survive a round trip as an ordinary key.
#[test]
fn serde_json_private_keys_in_data_survive_a_round_trip() {
    let body = br#"{"data":{"x":{"$serde_json::private::RawValue":"[1]"}},"event":"room.paused","timestamp":"2026-04-01T13:34:59Z"}"#;
    let envelope = Envelope::from_slice(body).unwrap();
    let Event::Unknown { data, .. } = &envelope.event else {
        panic!("{:?}", envelope.event)
    };
    assert_eq!(
        data.get(),
        r#"{"x":{"$serde_json::private::RawValue":"[1]"}}"#
    );
    let encoded = serde_json::to_vec(&envelope).unwrap();
    assert_eq!(Envelope::from_slice(&encoded).unwrap(), envelope);

    let body = br#"{"data":{"device=":{"URL":"","$serde_json::private::RawValue":"\u002689b"},"roomId":"r"},"event":"participant.joined","timestamp":"2026-04-01T13:34:59Z"}"#;
    let envelope = Envelope::from_slice(body).unwrap();
    let encoded = serde_json::to_vec(&envelope).unwrap();
    assert_eq!(Envelope::from_slice(&encoded).unwrap(), envelope);
}
