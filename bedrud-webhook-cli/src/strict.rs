//! `listen --strict`: how a genuine delivery departs from what Bedrud's own
//! sender puts on the wire.
//!
//! The rule: a body departs when the sender's Go encoder, re-encoding the
//! decoded JSON, does not give back the same bytes. Each departure is then
//! located by walking the body with serde_json's `RawValue`, which keeps
//! every key's and value's exact text.

use std::marker::PhantomData;

use bedrud_webhook::Timestamp;
use bedrud_webhook::headers::{EVENT, SIGNATURE, TIMESTAMP, WEBHOOK_EVENT, WEBHOOK_SIGNATURE};
use http::HeaderMap;
use serde::Serialize;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::{cut, show};

/// One way a delivery differs from Bedrud's: a stable code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Departure {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

/// Bedrud's bytes for a JSON value, from the sender's Go encoder (which
/// fails only on numbers beyond float64, which serde_json does not parse).
pub(crate) fn go_json(value: &Value) -> Vec<u8> {
    bedrud_webhook::delivery::to_go_json(value).unwrap_or_default()
}

/// Every way a verified delivery departs from Bedrud's wire format.
pub(crate) fn check(headers: &HeaderMap, body: &[u8]) -> Vec<Departure> {
    let mut walk = Walk::default();
    let has = |name| headers.contains_key(name);
    let sent = |name: &str| Some(String::from_utf8_lossy(headers.get(name)?.as_bytes()));
    let guide = |what: &str| {
        let lower = what.to_lowercase();
        format!("{lower} in X-Webhook-{what}, the admin guide's name; Bedrud sends X-Bedrud-{what}")
    };
    if !has(SIGNATURE) && has(WEBHOOK_SIGNATURE) {
        walk.add("webhook_signature_header", guide("Signature"));
    }
    let signature = sent(SIGNATURE.as_str()).or_else(|| sent(WEBHOOK_SIGNATURE.as_str()));
    if signature.is_some_and(|s| s.bytes().any(|b| b.is_ascii_uppercase())) {
        walk.add("uppercase_signature", "uppercase hex in the signature");
    }
    match (has(EVENT), has(WEBHOOK_EVENT)) {
        (false, true) => walk.add("webhook_event_header", guide("Event")),
        (false, false) => walk.add("missing_event_header", "no X-Bedrud-Event header"),
        (true, _) => {}
    }
    if !has(TIMESTAMP) {
        walk.add("missing_timestamp_header", "no X-Bedrud-Timestamp header");
    }
    let exact = [
        ("content_type", "Content-Type", "application/json"),
        ("user_agent", "User-Agent", "Go-http-client/1.1"),
    ];
    for (code, name, bedrud) in exact {
        let value = sent(name).map_or("missing".into(), |v| show(&v));
        if value != bedrud {
            walk.add(code, format!("{name} is {value}; Bedrud sends {bedrud}"));
        }
    }
    walk.body(body);
    walk.found
}

/// What a walk over the body's exact text finds.
#[derive(Debug, Default)]
struct Walk {
    found: Vec<Departure>,
    /// The body with its whitespace left out, every token as written.
    compact: String,
    /// The first key out of Go's byte order, or repeated.
    order: Option<Departure>,
    /// Keys and values written otherwise than Go writes them: (as sent, Go's).
    forms: Vec<(String, String)>,
}

impl Walk {
    fn add(&mut self, code: &'static str, message: impl Into<String>) {
        let message = message.into();
        self.found.push(Departure { code, message });
    }

    fn body(&mut self, body: &[u8]) {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return; // a verified envelope is always JSON
        };
        let stamp = value["timestamp"].as_str().unwrap_or_default();
        if Timestamp::parse(stamp).map(|t| t.to_string()).as_deref() != Ok(stamp) {
            let stamp = show(stamp);
            let message = format!("timestamp {stamp} is not written YYYY-MM-DDTHH:MM:SSZ");
            self.add("timestamp_form", message);
        }
        match value.get("data") {
            None => self.add("data_absent", "no data; Bedrud writes {} when empty"),
            Some(Value::Null) => self.add("data_null", "data is null; Bedrud writes {}"),
            Some(_) => {}
        }
        let bedrud = go_json(&value);
        let (before, raw) = (self.found.len(), serde_json::from_slice(body).ok());
        if bedrud == body || raw.and_then(|raw| self.value(raw, "")).is_none() {
            return;
        }
        if self.compact.as_bytes() != body {
            self.add(
                "whitespace",
                "whitespace between tokens; Bedrud writes none",
            );
        }
        self.found.extend(self.order.take());
        if let Some((sent, go)) = self.forms.first() {
            let more = self.forms.len() - 1;
            let message = format!("{sent} is written {go} by Bedrud ({more} more like it)");
            self.add("value_form", message);
        }
        if self.found.len() == before {
            let at = body.iter().zip(&bedrud).position(|(a, b)| a != b);
            let at = at.unwrap_or(body.len().min(bedrud.len()));
            let message = format!("differs from Bedrud's encoding at byte {at}");
            self.add("other_bytes", message);
        }
    }

    fn value(&mut self, raw: &RawValue, path: &str) -> Option<()> {
        let text = raw.get();
        let (open, close) = match text.as_bytes().first()? {
            b'{' => ("{", "}"),
            b'[' => ("[", "]"),
            _ => {
                self.leaf(text, &serde_json::from_str(text).ok()?);
                self.compact.push_str(text);
                return Some(());
            }
        };
        self.compact.push_str(open);
        if open == "[" {
            let items: Vec<&RawValue> = serde_json::from_str(text).ok()?;
            for (i, item) in items.into_iter().enumerate() {
                self.compact.push_str(if i == 0 { "" } else { "," });
                self.value(item, &format!("{path}[]"))?;
            }
        } else {
            let Members(members) = serde_json::from_str(text).ok()?;
            let mut previous: Option<String> = None;
            for (i, (raw_key, member)) in members.into_iter().enumerate() {
                let key: String = serde_json::from_str(raw_key.get()).ok()?;
                self.leaf(raw_key.get(), &Value::String(key.clone()));
                if let Some(before) = previous.filter(|p| p.as_bytes() >= key.as_bytes()) {
                    self.order
                        .get_or_insert_with(|| disorder(path, &key, &before));
                }
                self.compact.push_str(if i == 0 { "" } else { "," });
                self.compact.push_str(raw_key.get());
                self.compact.push(':');
                self.value(member, &format!("{path}.{key}"))?;
                previous = Some(key);
            }
        }
        self.compact.push_str(close);
        Some(())
    }

    fn leaf(&mut self, written: &str, value: &Value) {
        let go = String::from_utf8_lossy(&go_json(value)).into_owned();
        if go != written {
            self.forms.push((cut(written, 60), cut(&go, 60)));
        }
    }
}

/// `key` came after `before` in the object at `path`: out of order, or twice.
fn disorder(path: &str, key: &str, before: &str) -> Departure {
    let place = path.strip_prefix('.').map_or("the envelope".into(), show);
    let (key, before) = (show(key), show(before));
    let (code, message) = match key == before {
        true => (
            "duplicate_key",
            format!("key {key} appears twice in {place}"),
        ),
        false => (
            "key_order",
            format!("keys of {place} out of byte order: {key} after {before}"),
        ),
    };
    Departure { code, message }
}

/// An object's members in the order written, keys and values as exact text.
struct Members<'a>(Vec<(&'a RawValue, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Ordered<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Ordered<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'a>, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Ordered(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use http::header::{CONTENT_TYPE, USER_AGENT};

    const GOLDEN: &str = r#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#;

    fn codes(found: &[Departure]) -> Vec<&'static str> {
        found.iter().map(|d| d.code).collect()
    }

    fn check_body(body: &[u8]) -> Vec<Departure> {
        let mut walk = Walk::default();
        walk.body(body);
        walk.found
    }

    #[test]
    fn bedrud_itself_passes() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(USER_AGENT, HeaderValue::from_static("Go-http-client/1.1"));
        headers.insert(SIGNATURE, HeaderValue::from_static("sha256=4a8a"));
        headers.insert(EVENT, HeaderValue::from_static("room.ended"));
        headers.insert(TIMESTAMP, HeaderValue::from_static("2026-04-01T12:34:56Z"));
        assert_eq!(check(&headers, GOLDEN.as_bytes()), []);
        let third = "{\"data\":{\"roomId\":\"r1\",\"roomName\":\"\\u003cb\\u003eQ\\u0026A\\u003c/b\\u003e — café 🎥 \\u2028\",\"userId\":\"u1\"},\"event\":\"room.created\",\"timestamp\":\"2026-04-01T12:34:56Z\"}";
        assert_eq!(check_body(third.as_bytes()), []);
    }

    #[test]
    fn the_guides_dialect_and_other_headers_are_named() {
        let mut headers = HeaderMap::new();
        headers.insert(WEBHOOK_SIGNATURE, HeaderValue::from_static("sha256=AB"));
        headers.insert(WEBHOOK_EVENT, HeaderValue::from_static("room.ended"));
        headers.insert(USER_AGENT, HeaderValue::from_static("curl/8\t"));
        let found = check(&headers, GOLDEN.as_bytes());
        assert_eq!(
            codes(&found),
            [
                "webhook_signature_header",
                "uppercase_signature",
                "webhook_event_header",
                "missing_timestamp_header",
                "content_type",
                "user_agent"
            ]
        );
        assert!(
            found[5].message == r#"User-Agent is "curl/8\t"; Bedrud sends Go-http-client/1.1"#,
            "{found:?}"
        );
        assert_eq!(
            codes(&check(&HeaderMap::new(), GOLDEN.as_bytes()))[0],
            "missing_event_header"
        );
    }

    #[test]
    fn each_body_departure_is_located() {
        let at = "\"timestamp\":\"2026-04-01T12:34:56Z\"";
        let cases = [
            (
                format!(r#"{{"event":"ping","data":{{}},{at}}}"#),
                vec!["key_order"],
            ),
            (
                format!(r#"{{"data":{{"a":[{{"y":1,"x":2}}]}},"event":"x",{at}}}"#),
                vec!["key_order"],
            ),
            (
                format!(r#"{{"data":{{"fileSizeBytes":1,"fileURL":"u"}},"event":"x",{at}}}"#),
                vec![],
            ),
            (
                format!(r#"{{"data": {{}}, "event": "ping", {at}}}"#),
                vec!["whitespace"],
            ),
            (
                format!(r#"{{"data":null,"event":"ping",{at}}}"#),
                vec!["data_null"],
            ),
            (format!(r#"{{"event":"ping",{at}}}"#), vec!["data_absent"]),
            (
                format!(r#"{{"data":{{}},"event":"ping","event":"ping",{at}}}"#),
                vec!["duplicate_key"],
            ),
            (
                format!(r#"{{"data":{{"a":"<b>","b":"\u00e9","n":3.0}},"event":"x",{at}}}"#),
                vec!["value_form"],
            ),
            (
                r#"{"data":{},"event":"ping","timestamp":"2026-04-01T14:34:56+02:00"}"#.to_owned(),
                vec!["timestamp_form"],
            ),
        ];
        for (body, want) in cases {
            assert_eq!(codes(&check_body(body.as_bytes())), want, "{body}");
        }
        let body = format!(r#"{{"data":{{"a":"<b>","b":"\u00e9"}},"event":"x",{at}}}"#);
        assert_eq!(
            check_body(body.as_bytes())[0].message,
            r#""<b>" is written "\u003cb\u003e" by Bedrud (1 more like it)"#
        );
        let nested = format!(r#"{{"data":{{"a":{{"z":1,"b":2}}}},"event":"x",{at}}}"#);
        assert!(
            check_body(nested.as_bytes())[0]
                .message
                .starts_with("keys of data.a out of byte order: b after z")
        );
    }
}
