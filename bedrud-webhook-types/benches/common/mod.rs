//! What the types benches share: the envelopes they measure.

use bedrud_webhook_types::{Envelope, Event, EventKind, Timestamp, UnknownEvent};
use serde_json::json;

/// One envelope of every known kind, plus one of a kind this crate does not
/// know (a future Bedrud's `room.paused`).
pub(crate) fn envelopes() -> Vec<(String, Envelope)> {
    let at = Timestamp::parse("2026-04-01T12:34:56Z").unwrap();
    let mut all: Vec<(String, Envelope)> = EventKind::ALL
        .iter()
        .map(|kind| {
            (
                kind.as_str().to_owned(),
                Envelope::new(Event::sample(*kind), at),
            )
        })
        .collect();
    let data = serde_json::from_value(
        json!({"roomId": "3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34", "reason": "idle"}),
    )
    .unwrap();
    all.push((
        "unknown (room.paused)".to_owned(),
        Envelope::new(Event::Unknown(UnknownEvent::new("room.paused", data)), at),
    ));
    all
}
