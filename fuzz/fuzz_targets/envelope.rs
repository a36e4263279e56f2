//! Envelope parsing and Bedrud's encoding: parse, encode, parse again.
//!
//! The input is a body. Properties checked on every input:
//! - `Envelope::from_slice` never panics (nor does `RawEnvelope::from_slice`,
//!   nor `Envelope::from_raw` on its result, which must agree with it);
//! - when it parses, `to_bedrud_json` writes a body that parses again, to an
//!   envelope with the same event name, kind and timestamp, and the same
//!   event: equal outright, unless the first body held a number that Go's
//!   float64 round trip changes (`1.0`, `9007199254740993`), in which case
//!   equal once every number is read as a float64, as Bedrud's Go would;
//! - re-encoding is byte-stable: encoding the re-parsed envelope gives the
//!   same bytes again, and a body already in Bedrud's form encodes to itself.
#![no_main]

use bedrud_webhook_types::{Envelope, RawEnvelope, Timestamp, encode};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

/// Every number as the float64 Go would hold; everything else unchanged.
fn as_go(value: &Value) -> Value {
    match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Value::Array(items) => Value::Array(items.iter().map(as_go).collect()),
        Value::Object(map) => Value::Object(as_go_map(map)),
        other => other.clone(),
    }
}

fn as_go_map(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter().map(|(k, v)| (k.clone(), as_go(v))).collect()
}

/// Whether `value` holds a number that Bedrud's encoding does not give back
/// as the same `serde_json` number.
fn has_unstable_number(value: &Value) -> bool {
    match value {
        Value::Number(_) => {
            let written = encode::to_bedrud_json(value);
            serde_json::from_slice::<Value>(&written).ok().as_ref() != Some(value)
        }
        Value::Array(items) => items.iter().any(has_unstable_number),
        Value::Object(map) => map.values().any(has_unstable_number),
        _ => false,
    }
}

fuzz_target!(|body: &[u8]| {
    let raw = RawEnvelope::from_slice(body);
    let Ok(first) = Envelope::from_slice(body) else {
        return;
    };
    let raw = raw.expect("Envelope parsed, so RawEnvelope must");
    assert_eq!(Envelope::from_raw(&raw).ok().as_ref(), Some(&first));
    assert_eq!(
        Timestamp::parse(&first.timestamp.to_string()).ok(),
        Some(first.timestamp)
    );

    let encoded = first.to_bedrud_json();
    let second = match Envelope::from_slice(&encoded) {
        Ok(second) => second,
        Err(e) => panic!(
            "re-encoded body does not parse ({e}): {:?}",
            String::from_utf8_lossy(&encoded)
        ),
    };
    assert_eq!(second.event.name(), first.event.name());
    assert_eq!(second.event.kind(), first.event.kind());
    assert_eq!(second.timestamp, first.timestamp);
    if second.event != first.event {
        let data = Value::Object(first.event.to_data());
        assert!(
            has_unstable_number(&data),
            "events differ without a number to explain it:\n{:?}\n{:?}",
            first.event,
            second.event
        );
        assert_eq!(
            as_go_map(&second.event.to_data()),
            as_go_map(&first.event.to_data()),
            "events differ beyond float64 rounding"
        );
    }

    let again = second.to_bedrud_json();
    assert_eq!(
        String::from_utf8_lossy(&again),
        String::from_utf8_lossy(&encoded),
        "re-encoding is not byte-stable"
    );
    assert_eq!(Envelope::from_slice(&again).ok().as_ref(), Some(&second));
    if encoded == body {
        assert_eq!(second, first);
    }
});
