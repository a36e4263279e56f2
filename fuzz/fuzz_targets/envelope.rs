//! Envelope parsing and Bedrud's encoding: parse, encode, parse again.
//!
//! The input is a body. Properties checked on every input:
//! - `Envelope::from_slice` never panics (nor does `RawEnvelope::from_slice`,
//!   nor `Envelope::from_raw` on its result, which must agree with it);
//! - `RawEnvelope::from_slice`, whose fast path scans Bedrud's exact form
//!   itself, gives what serde_json alone gives: the same three fields, or an
//!   error exactly when serde_json refuses the body; and the typed parse's
//!   own fast path reads `data` (and the body itself, as if it were `data`)
//!   exactly as serde_json does;
//! - when it parses, `to_bedrud_json` writes a body that parses again, to an
//!   envelope with the same event name, kind and timestamp, and the same
//!   event: equal outright, unless the first body held a number that Go's
//!   float64 round trip changes (`1.0`, `9007199254740993`), in which case
//!   equal once every number is read as a float64, as Bedrud's Go would;
//! - re-encoding is byte-stable: encoding the re-parsed envelope gives the
//!   same bytes again, and a body already in Bedrud's form encodes to itself.
#![no_main]

use std::borrow::Cow;

use bedrud_webhook_types::{Envelope, RawEnvelope, Timestamp, encode};
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The envelope's fields as serde_json alone reads them: the reference for
/// `RawEnvelope::from_slice`'s fast path.
#[derive(serde::Deserialize)]
struct Reference<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

fn check_against_serde_json(body: &[u8], raw: Option<&RawEnvelope<'_>>) {
    let reference = std::str::from_utf8(body)
        .ok()
        .and_then(|text| serde_json::from_str::<Reference<'_>>(text).ok());
    match (raw, reference) {
        (None, None) => {}
        (Some(raw), Some(reference)) => {
            assert_eq!(raw.event, reference.event);
            assert_eq!(raw.timestamp, reference.timestamp);
            let data = reference.data.map(RawValue::get).filter(|d| *d != "null");
            assert_eq!(raw.data, data);
        }
        (raw, reference) => panic!(
            "RawEnvelope {} but serde_json {}: {:?}",
            if raw.is_some() { "parses" } else { "refuses" },
            if reference.is_some() { "parses" } else { "refuses" },
            String::from_utf8_lossy(body)
        ),
    }
}

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
    check_against_serde_json(body, raw.as_ref().ok());
    // Only under cargo-fuzz (`--cfg fuzzing`): `cargo check` in CI builds
    // this target without the hook.
    #[cfg(fuzzing)]
    {
        use bedrud_webhook_types::fuzzing::members_fast_path_agrees;
        if let Ok(text) = std::str::from_utf8(body) {
            assert!(members_fast_path_agrees(text), "members of {text:?}");
        }
        if let Some(data) = raw.as_ref().ok().and_then(|raw| raw.data) {
            assert!(members_fast_path_agrees(data), "members of {data:?}");
        }
    }
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
