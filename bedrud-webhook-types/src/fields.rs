//! Reading the members of a `data` object for the typed events.
//!
//! Derived `Deserialize` cannot say which field had the wrong type, and is
//! strict where leniency is cheap and harmless (`3.0` or `1e+19` for an
//! integer; Bedrud's numbers are all float64 underneath) unless it goes
//! through a `serde_json::Value`. So the object is read once, shallowly, into
//! [`Members`] (strings borrowed from the body when they hold no escapes,
//! nested values skipped), and each data type picks its fields from there
//! with errors that name the field.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use smallvec::SmallVec;

use crate::scan::{Scanner, Skipped};

/// One member's value, seen only as deep as the typed events need.
#[derive(Debug)]
pub(crate) enum Member<'a> {
    Null,
    Str(Cow<'a, str>),
    Unsigned(u64),
    /// A negative integer; no modelled field can hold one.
    Negative,
    Float(f64),
    /// A boolean, array or object, named for error messages.
    Other(&'static str),
}

/// The key under which serde_json hands a number over as its digits, as a
/// one-entry map, when a crate in the build enables serde_json's
/// `arbitrary_precision` feature. Without that feature numbers arrive as
/// `u64`, `i64` or `f64`.
pub(crate) const ARBITRARY_PRECISION_NUMBER: &str = "$serde_json::private::Number";

impl Member<'_> {
    /// A number from its JSON digits.
    fn from_digits(digits: &str) -> Self {
        if let Ok(n) = digits.parse::<u64>() {
            Member::Unsigned(n)
        } else if digits.starts_with('-') && digits.parse::<i64>().is_ok() {
            Member::Negative
        } else {
            digits
                .parse::<f64>()
                .map_or(Member::Other("a number"), Member::Float)
        }
    }

    fn json_type(&self) -> &'static str {
        match self {
            Member::Null => "null",
            Member::Str(_) => "a string",
            Member::Unsigned(_) | Member::Negative | Member::Float(_) => "a number",
            Member::Other(name) => name,
        }
    }
}

/// The members of one JSON object, in the order they were written.
#[derive(Debug, Default)]
pub(crate) struct Members<'a>(SmallVec<[(Cow<'a, str>, Member<'a>); INLINE_MEMBERS]>);

/// Members held without a heap allocation: Bedrud's largest `data`
/// (`recording.completed`) has seven.
const INLINE_MEMBERS: usize = 8;

/// A modelled field that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub(crate) field: &'static str,
    pub(crate) problem: Problem,
}

/// What is wrong with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    WrongType {
        expected: &'static str,
        found: &'static str,
    },
    /// Bedrud never repeats a key; taking either copy would let two readers of
    /// the same signed body disagree, so a repeat is refused.
    Duplicate,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problem {
            Problem::WrongType { expected, found } => {
                write!(
                    f,
                    "field \"{}\" must be {expected}, found {found}",
                    self.field
                )
            }
            Problem::Duplicate => write!(f, "field \"{}\" appears more than once", self.field),
        }
    }
}

pub(crate) const UNSIGNED: &str = "a non-negative integer below 2^64";
const STRING: &str = "a string";

impl<'a> Members<'a> {
    /// Reads `json`, which must be an object, into these (empty) members,
    /// borrowing from it.
    ///
    /// In place rather than returned: `Members` is some 400 bytes of stack,
    /// and handing it back by value copied it twice per typed parse, a fifth
    /// of the parse's time.
    pub(crate) fn read(&mut self, json: &'a str) -> Result<(), serde_json::Error> {
        // Bedrud's flat objects of strings and integers take one forward
        // scan; everything else, and every error, is serde_json's to decide.
        if self.scan_into(json).is_none() {
            self.0.clear();
            *self = serde_json::from_str(json)?;
        }
        Ok(())
    }

    /// [`Members::read`] into new members.
    #[cfg(test)]
    pub(crate) fn from_json(json: &'a str) -> Result<Self, serde_json::Error> {
        let mut members = Members::default();
        members.read(json)?;
        Ok(members)
    }

    /// The fast path: exactly what serde_json's parse below would give, or
    /// `None` when the object holds anything it does not decide itself
    /// (escaped keys, negative or non-integer numbers, errors).
    #[cfg(any(test, fuzzing))]
    fn scan(json: &'a str) -> Option<Self> {
        let mut members = Members::default();
        members.scan_into(json)?;
        Some(members)
    }

    /// The fast path of [`Members::read`], appending to these members:
    /// `None` (with some members perhaps appended) when the object holds
    /// anything it does not decide itself (escaped keys, negative or
    /// non-integer numbers, errors).
    fn scan_into(&mut self, json: &'a str) -> Option<()> {
        let mut s = Scanner::new(json);
        let members = &mut self.0;
        s.members(|s, key| {
            if key.escaped {
                return None;
            }
            members.push((Cow::Borrowed(s.contents(key)?), scan_member(s)?));
            Some(())
        })?;
        s.at_end().then_some(())
    }

    /// The field's value; `None` when it is absent or `null`.
    fn get(&self, field: &'static str) -> Result<Option<&Member<'a>>, FieldError> {
        let mut matches = self.0.iter().filter(|(key, _)| key == field);
        let first = matches.next();
        if matches.next().is_some() {
            return Err(FieldError {
                field,
                problem: Problem::Duplicate,
            });
        }
        Ok(first
            .map(|(_, value)| value)
            .filter(|value| !matches!(value, Member::Null)))
    }

    /// A string field, borrowed; absent and `null` read as `None`.
    pub(crate) fn str(&self, field: &'static str) -> Result<Option<&str>, FieldError> {
        match self.get(field)? {
            None => Ok(None),
            Some(Member::Str(s)) => Ok(Some(s.as_ref())),
            Some(other) => Err(wrong_type(field, STRING, other.json_type())),
        }
    }

    /// A string field, owned; absent and `null` read as `None`.
    pub(crate) fn string(&self, field: &'static str) -> Result<Option<String>, FieldError> {
        Ok(self.str(field)?.map(str::to_owned))
    }

    /// An unsigned integer field; absent and `null` read as `None`.
    ///
    /// Bedrud's job queue turns every number into a float64; any number that
    /// is exactly a non-negative integer that fits in a `u64` is accepted,
    /// whether written `3`, `3.0` or `3e0`.
    pub(crate) fn unsigned(&self, field: &'static str) -> Result<Option<u64>, FieldError> {
        /// 2^64, exactly representable, the first float too large for a `u64`.
        const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;
        let found = match self.get(field)? {
            None => return Ok(None),
            Some(Member::Unsigned(n)) => return Ok(Some(*n)),
            Some(Member::Float(x)) if x.fract() == 0.0 && (0.0..TWO_POW_64).contains(x) => {
                // In range and integral, so the conversion is exact.
                return Ok(Some(*x as u64));
            }
            Some(Member::Negative) => "a negative number",
            Some(Member::Float(x)) if *x < 0.0 => "a negative number",
            Some(Member::Float(x)) if *x >= TWO_POW_64 => "a number of 2^64 or more",
            Some(Member::Float(_)) => "a number with a fraction",
            Some(other) => other.json_type(),
        };
        Err(wrong_type(field, UNSIGNED, found))
    }
}

/// Whether [`Members`]' fast path and serde_json agree on `json`: the fast
/// path reads nothing, or what serde_json reads. For the `envelope` fuzz
/// target only (cargo-fuzz builds with `--cfg fuzzing`).
#[cfg(fuzzing)]
pub fn members_fast_path_agrees(json: &str) -> bool {
    match Members::scan(json) {
        None => true,
        Some(fast) => serde_json::from_str::<Members<'_>>(json)
            .is_ok_and(|slow| format!("{fast:?}") == format!("{slow:?}")),
    }
}

/// One member's value for [`Members::scan`], as [`Member`]'s `Deserialize`
/// would read it.
fn scan_member<'a>(s: &mut Scanner<'a>) -> Option<Member<'a>> {
    Some(match s.peek()? {
        b'"' => {
            let span = s.string()?;
            if span.escaped {
                // Decoding escapes (and refusing lone surrogates) is
                // serde_json's job, on just this string.
                Member::Str(Cow::Owned(serde_json::from_str(s.quoted(span)?).ok()?))
            } else {
                Member::Str(Cow::Borrowed(s.contents(span)?))
            }
        }
        // Integers that fit a u64; serde_json reads other numbers with its
        // own float parser, so they are left to it.
        b'0'..=b'9' => Member::Unsigned(s.number()?.parse().ok()?),
        b'{' => {
            // An object whose first key is serde_json's private number key
            // (or an escape that could spell it) is a number to the
            // `Deserialize` impl above.
            if s.plain_first_key()
                .is_none_or(|key| key == ARBITRARY_PRECISION_NUMBER)
            {
                return None;
            }
            let start = s.position();
            s.value()?;
            // serde_json decodes this object's own keys as strings (and
            // refuses a lone surrogate such as `\ud800` in one), where the
            // scanner only checks an escape's form; any backslash at all
            // leaves the object to serde_json. Found by the fuzz target.
            if s.since(start)?.contains('\\') {
                return None;
            }
            Member::Other("an object")
        }
        _ => match s.value()? {
            Skipped::Null => Member::Null,
            Skipped::Bool => Member::Other("a boolean"),
            Skipped::Array => Member::Other("an array"),
            Skipped::Number | Skipped::String | Skipped::Object => return None,
        },
    })
}

fn wrong_type(field: &'static str, expected: &'static str, found: &'static str) -> FieldError {
    FieldError {
        field,
        problem: Problem::WrongType { expected, found },
    }
}

/// A string that stays borrowed from the input when it holds no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }

        deserializer.deserialize_str(TextVisitor)
    }
}

impl<'de> Deserialize<'de> for Member<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MemberVisitor;

        impl<'de> Visitor<'de> for MemberVisitor {
            type Value = Member<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_unit<E: de::Error>(self) -> Result<Member<'de>, E> {
                Ok(Member::Null)
            }

            fn visit_none<E: de::Error>(self) -> Result<Member<'de>, E> {
                Ok(Member::Null)
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Member<'de>, E> {
                Ok(Member::Other("a boolean"))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Member<'de>, E> {
                Ok(Member::Unsigned(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Member<'de>, E> {
                Ok(u64::try_from(v).map_or(Member::Negative, Member::Unsigned))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Member<'de>, E> {
                Ok(Member::Float(v))
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Member<'de>, E> {
                Ok(Member::Str(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Member<'de>, E> {
                Ok(Member::Str(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Member<'de>, E> {
                Ok(Member::Str(Cow::Owned(v)))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Member<'de>, A::Error> {
                IgnoredAny.visit_seq(seq)?;
                Ok(Member::Other("an array"))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Member<'de>, A::Error> {
                let Some(Text(first)) = map.next_key::<Text<'de>>()? else {
                    return Ok(Member::Other("an object"));
                };
                if first == ARBITRARY_PRECISION_NUMBER {
                    let Text(digits) = map.next_value()?;
                    return Ok(Member::from_digits(&digits));
                }
                map.next_value::<IgnoredAny>()?;
                IgnoredAny.visit_map(map)?;
                Ok(Member::Other("an object"))
            }
        }

        deserializer.deserialize_any(MemberVisitor)
    }
}

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;

        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = SmallVec::new();
                while let Some((Text(key), value)) = map.next_entry::<Text<'de>, Member<'de>>()? {
                    members.push((key, value));
                }
                Ok(Members(members))
            }
        }

        deserializer.deserialize_map(MembersVisitor)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::scan::strategies::{json_ish, json_value};

    /// Members as text, so that the two parses' results can be compared
    /// (`Member` holds floats and does not implement `PartialEq`).
    fn shown(members: &Members<'_>) -> String {
        format!("{members:?}")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Whatever the fast path reads, serde_json reads the same.
        #[test]
        fn fast_path_agrees_with_serde_json(
            json in prop_oneof![json_value(), json_ish(), json_ish().prop_map(|j| format!("{{{j}}}"))],
        ) {
            if let Some(fast) = Members::scan(&json) {
                let slow = serde_json::from_str::<Members<'_>>(&json);
                prop_assert!(slow.is_ok(), "{json:?}: serde_json refuses what the fast path read");
                prop_assert_eq!(shown(&fast), shown(&slow.unwrap()), "{:?}", json);
            }
        }
    }

    proptest! {
        /// Objects of strings and unsigned integers, as Bedrud writes them,
        /// take the fast path: the test above is not vacuous.
        #[test]
        fn bedrud_data_takes_the_fast_path(
            fields in prop::collection::vec(
                ("[a-zA-Z]{0,12}", prop_oneof![
                    "[a-z0-9<>&\u{e9}\u{2028}\"\\\\-]{0,40}".prop_map(serde_json::Value::String),
                    any::<u64>().prop_map(Into::into),
                ]),
                0..8,
            ),
        ) {
            let json = serde_json::Value::Object(fields.into_iter().collect()).to_string();
            let fast = Members::scan(&json);
            prop_assert!(fast.is_some(), "{json}");
            let slow = serde_json::from_str::<Members<'_>>(&json).unwrap();
            prop_assert_eq!(shown(&fast.unwrap()), shown(&slow));
        }
    }

    #[test]
    fn the_fast_path_takes_bedrud_data_and_leaves_the_rest() {
        for json in [
            r#"{"roomId":"r1","roomName":"\u003cb\u003e","userId":"u1"}"#,
            r#"{"durationMs":3541000,"fileSizeBytes":734003200,"fileURL":null,"x":[1],"y":{"a":1},"z":true}"#,
            "{}",
        ] {
            assert!(Members::scan(json).is_some(), "{json}");
        }
        for json in [
            r#"{"n":-1}"#,
            r#"{"n":1.5}"#,
            r#"{"n":18446744073709551616}"#,
            r#"{"k\u0041":1}"#,
            r#"{"n":{"$serde_json::private::Number":"1"}}"#,
            r#"{"n":{"\u0024serde_json::private::Number":"1"}}"#,
            r#"{"s":"\ud800"}"#,
            r#"{"a":1,}"#,
            " {} ",
            r#"{"a": 1}"#,
            "[]",
        ] {
            assert!(Members::scan(json).is_none(), "{json}");
        }
    }

    #[test]
    fn escaped_keys_of_a_nested_object_are_left_to_serde_json() {
        // A fuzzing find: serde_json refuses the lone surrogate in the
        // nested object's second key; the fast path must not accept it.
        let json = r#"{"data":{"a":0,"b\ud800":0e456},"event":"x"}"#;
        assert!(Members::scan(json).is_none());
        assert!(serde_json::from_str::<Members<'_>>(json).is_err());
        assert!(Members::from_json(json).is_err());
        // The same with a valid escape reads the same on both paths.
        let json = r#"{"data":{"a":0,"b\u0041":0e456},"event":"x"}"#;
        assert!(Members::scan(json).is_none());
        assert!(Members::from_json(json).is_ok());
    }

    #[test]
    fn serde_json_reads_its_private_number_key_as_a_number() {
        let m = members(r#"{"n":{"$serde_json::private::Number":"7"}}"#);
        assert_eq!(m.unsigned("n"), Ok(Some(7)));
    }

    fn members(json: &str) -> Members<'_> {
        Members::from_json(json).unwrap()
    }

    #[test]
    fn unescaped_strings_stay_borrowed() {
        let m = members(r#"{"a":"plain","b":"esc\"aped"}"#);
        assert!(matches!(
            &m.0[0],
            (Cow::Borrowed("a"), Member::Str(Cow::Borrowed("plain")))
        ));
        assert!(matches!(&m.0[1].1, Member::Str(Cow::Owned(s)) if s == "esc\"aped"));
    }

    #[test]
    fn strings_absent_null_and_wrong() {
        let m = members(r#"{"s":"x","n":null,"i":1,"o":{"deep":[1,{"x":2}]},"a":[],"b":true}"#);
        assert_eq!(m.string("s"), Ok(Some("x".to_owned())));
        assert_eq!(m.string("n"), Ok(None));
        assert_eq!(m.string("missing"), Ok(None));
        for (field, found) in [
            ("i", "a number"),
            ("o", "an object"),
            ("a", "an array"),
            ("b", "a boolean"),
        ] {
            assert_eq!(m.string(field), Err(wrong_type(field, STRING, found)));
        }
    }

    #[test]
    fn unsigned_accepts_exact_integers_in_any_notation() {
        let m = members(
            r#"{"a":0,"b":18446744073709551615,"c":3.0,"d":1e+19,"e":-0,"f":1.8446744073709550e19}"#,
        );
        assert_eq!(m.unsigned("a"), Ok(Some(0)));
        assert_eq!(m.unsigned("b"), Ok(Some(u64::MAX)));
        assert_eq!(m.unsigned("c"), Ok(Some(3)));
        assert_eq!(m.unsigned("d"), Ok(Some(10_000_000_000_000_000_000)));
        assert_eq!(m.unsigned("e"), Ok(Some(0)));
        assert_eq!(m.unsigned("f"), Ok(Some(18_446_744_073_709_549_568)));
    }

    #[test]
    fn unsigned_rejects_what_is_not_a_u64() {
        let m = members(
            r#"{"neg":-1,"negf":-1.5,"frac":2.5,"big":1e+21,"two64":18446744073709551616,"bigfrac":1e300,"s":"3","b":false}"#,
        );
        for (field, found) in [
            ("neg", "a negative number"),
            ("negf", "a negative number"),
            ("frac", "a number with a fraction"),
            ("big", "a number of 2^64 or more"),
            ("two64", "a number of 2^64 or more"),
            ("bigfrac", "a number of 2^64 or more"),
            ("s", "a string"),
            ("b", "a boolean"),
        ] {
            assert_eq!(
                m.unsigned(field),
                Err(wrong_type(field, UNSIGNED, found)),
                "{field}"
            );
        }
    }

    #[test]
    fn a_repeated_field_is_refused_but_only_when_read() {
        let m = members(r#"{"x":"1","x":"2","other":1,"other":2}"#);
        let err = m.string("x").unwrap_err();
        assert_eq!(err.problem, Problem::Duplicate);
        assert_eq!(err.to_string(), "field \"x\" appears more than once");
        assert_eq!(m.string("absent"), Ok(None));
    }

    #[test]
    fn numbers_handed_over_as_digits_are_numbers() {
        use serde::de::value::{Error, MapDeserializer};

        let read = |digits: &'static str| {
            let entries = [(ARBITRARY_PRECISION_NUMBER, digits)];
            Member::deserialize(MapDeserializer::<_, Error>::new(entries.into_iter())).unwrap()
        };
        assert!(matches!(
            read("18446744073709551615"),
            Member::Unsigned(u64::MAX)
        ));
        assert!(matches!(read("-3"), Member::Negative));
        assert!(matches!(read("1e+21"), Member::Float(x) if x == 1e21));
        assert!(matches!(read("-1e400"), Member::Float(x) if x == f64::NEG_INFINITY));
        let other = [("roomId", "r1")];
        let object = Member::deserialize(MapDeserializer::<_, Error>::new(other.into_iter()));
        assert!(matches!(object.unwrap(), Member::Other("an object")));
    }

    #[test]
    fn only_objects_are_members() {
        for json in ["[]", "null", "1", "\"{}\"", "true"] {
            assert!(Members::from_json(json).is_err(), "{json}");
        }
    }
}
