//! The envelope round trip: arbitrary bytes as a body.
//!
//! Properties checked on every input:
//! - `Envelope::from_slice` never panics (nor `RawEnvelope::from_slice`, nor
//!   `Envelope::from_raw` on its result, which must agree with it);
//! - a raw envelope's `event` and `timestamp` are what serde_json reads from
//!   the body's fields, and its timestamp's text form parses back to it;
//! - when the body parses, `serde_json::to_vec(&envelope)` parses back to an
//!   equal `Envelope`, and serializing that gives the same bytes again.
#![no_main]

use bedrud_webhook_types::{Envelope, RawEnvelope, Timestamp};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|body: &[u8]| {
    let raw = RawEnvelope::from_slice(body);
    let parsed = Envelope::from_slice(body);
    let raw = match raw {
        Ok(raw) => raw,
        Err(e) => {
            assert_eq!(parsed.err(), Some(e), "the raw and typed parses disagree");
            return;
        }
    };
    assert_eq!(Envelope::from_raw(&raw), parsed);

    // The borrowed fields agree with serde_json's own reading of the body
    // (when a `Value` can hold it: ignored members may hold numbers it cannot).
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        assert_eq!(value["event"].as_str(), Some(raw.event()));
        assert_eq!(value["timestamp"].as_str(), Some(raw.timestamp_text()));
    }
    assert_eq!(Timestamp::parse(raw.timestamp_text()), Ok(raw.timestamp()));
    assert_eq!(
        Timestamp::parse(&raw.timestamp().to_string()),
        Ok(raw.timestamp())
    );

    let Ok(first) = parsed else {
        return;
    };
    assert_eq!(first.event.name(), raw.event());
    assert_eq!(first.timestamp, raw.timestamp());
    let encoded = serde_json::to_vec(&first).expect("an envelope serializes");
    let second = match Envelope::from_slice(&encoded) {
        Ok(second) => second,
        Err(e) => panic!(
            "the serialized envelope does not parse ({e}): {:?}",
            String::from_utf8_lossy(&encoded)
        ),
    };
    assert_eq!(second, first);
    let again = serde_json::to_vec(&second).expect("an envelope serializes");
    assert_eq!(
        String::from_utf8_lossy(&again),
        String::from_utf8_lossy(&encoded),
        "serializing is not stable"
    );
});
