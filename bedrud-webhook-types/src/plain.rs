//! Reading received JSON objects into `serde_json` values, key for key.
//!
//! `serde_json::Value`'s own `Deserialize` gives two object keys a meaning
//! of their own when serde_json's `raw_value` (enabled in this workspace) or
//! `arbitrary_precision` feature is on: an object whose first key is
//! `$serde_json::private::RawValue` is read as the JSON text in its value.
//! A received `data` object is anybody's JSON, so such a key would silently
//! change what an unknown event carries, and the fields written back by
//! `Envelope::to_bedrud_json` (found by the `envelope` fuzz target: the
//! re-encoded body, keys sorted, put the key first and lost the data). The
//! visitor here keeps every key as a key. Numbers that serde_json hands over
//! as `$serde_json::private::Number` maps (only under `arbitrary_precision`,
//! where a literal object with that key cannot be told apart) stay numbers.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::fields::ARBITRARY_PRECISION_NUMBER;

/// Parses `json` if it is an object, without serde_json's special keys;
/// `None` for anything else (the callers only need to know that).
pub(crate) fn object_from_str(json: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str::<Plain>(json).ok()?.0 {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A `Value` read key for key.
struct Plain(Value);

impl<'de> Deserialize<'de> for Plain {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PlainVisitor)
    }
}

struct PlainVisitor;

impl<'de> Visitor<'de> for PlainVisitor {
    type Value = Plain;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Plain, E> {
        Ok(Plain(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Plain, E> {
        Ok(Plain(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Plain, D::Error> {
        Plain::deserialize(deserializer)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Plain, E> {
        Ok(Plain(Value::Bool(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Plain, E> {
        Ok(Plain(Value::Number(v.into())))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Plain, E> {
        Ok(Plain(Value::Number(v.into())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Plain, E> {
        // JSON has no NaN or infinity, so this is always `Some`.
        Ok(Plain(
            Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Plain, E> {
        Ok(Plain(Value::String(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Plain, E> {
        Ok(Plain(Value::String(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Plain, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(Plain(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Plain(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Plain, A::Error> {
        let mut object = Map::new();
        let Some(first) = map.next_key::<String>()? else {
            return Ok(Plain(Value::Object(object)));
        };
        if first == ARBITRARY_PRECISION_NUMBER {
            let digits: String = map.next_value()?;
            let number = serde_json::from_str::<Number>(&digits).map_err(de::Error::custom)?;
            return Ok(Plain(Value::Number(number)));
        }
        let Plain(value) = map.next_value()?;
        object.insert(first, value);
        while let Some(key) = map.next_key::<String>()? {
            let Plain(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Plain(Value::Object(object)))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn serde_json_private_keys_are_ordinary_keys() {
        let json = r#"{"x":{"$serde_json::private::RawValue":"&89b","URL":""},"y":{"\u0024serde_json::private::RawValue":"[1]"}}"#;
        let map = object_from_str(json).unwrap();
        assert_eq!(map["x"]["$serde_json::private::RawValue"], "&89b");
        assert_eq!(map["x"]["URL"], "");
        assert_eq!(map["y"]["$serde_json::private::RawValue"], "[1]");
        // What serde_json's own `Value` makes of the same text.
        assert!(serde_json::from_str::<Map<String, Value>>(json).is_err());
    }

    #[test]
    fn only_objects() {
        for json in ["[]", "1", "null", "\"{}\"", "true", "{", "{} x"] {
            assert!(object_from_str(json).is_none(), "{json}");
        }
    }

    proptest! {
        /// Without the special keys, exactly serde_json's `Value`.
        #[test]
        fn same_as_serde_json_value_otherwise(json in crate::scan::strategies::json_value()) {
            let ours = serde_json::from_str::<Plain>(&json).map(|p| p.0).ok();
            let theirs = serde_json::from_str::<Value>(&json).ok();
            prop_assert_eq!(ours, theirs);
        }
    }
}
