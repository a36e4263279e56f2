//! A validating JSON scanner for the exact bytes Bedrud writes: the fast path
//! of [`RawEnvelope::from_slice`](crate::RawEnvelope::from_slice) and of the
//! typed parse.
//!
//! Why it exists: the verifier parses the envelope of every delivery, and
//! serde_json's general-purpose deserialiser spends more on a 190-byte
//! envelope than the rest of the check after the HMAC. Bedrud's bodies all
//! have one shape, Go's `json.Marshal` of a map, keys sorted and no
//! whitespace: `{"data":{…},"event":"…","timestamp":"…"}`. This module
//! recognises that shape in one forward pass and validates `data` as JSON
//! (RFC 8259) on the way, without building anything.
//!
//! Why it can be trusted: it never *refuses* anything. Every function
//! returns `None` ("not the fast shape") for anything it does not fully
//! understand (whitespace outside strings, which Go never writes; other key
//! orders; escapes in `event` or `timestamp`; deep nesting; invalid JSON),
//! and the caller then runs serde_json, which decides and names the error.
//! So the only property that matters is: whenever it returns `Some`,
//! serde_json would have returned the same value. The differential tests
//! below and in `raw` and `fields`, and the `envelope` fuzz target
//! (`fuzz/fuzz_targets/envelope.rs`), check exactly that.

/// How deep the fast path follows nested arrays and objects; anything deeper
/// is left to serde_json (whose own limit is 128).
const MAX_DEPTH: u32 = 32;

/// A cursor over compact JSON text (no whitespace outside strings).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

/// Where a string is: the byte offsets of its quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// The opening quote.
    open: usize,
    /// The closing quote.
    close: usize,
    /// Whether the contents hold a backslash escape.
    pub(crate) escaped: bool,
}

/// What kind of value was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skipped {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

/// Eight copies of `b`.
const fn splat(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

/// A mask with the top bit set in each byte of `w` (read little-endian) that
/// is `"`, `\` or a control character (below 0x20): the bytes that end a run
/// of plain string content; zero when there is none.
///
/// The classic "has a zero byte" / "has a byte less than n" word tricks. A
/// borrow can set bits *above* a matching byte, never below one, so the
/// lowest set bit marks exactly the first such byte.
const fn special_mask(w: u64) -> u64 {
    bytes_below(w ^ splat(b'"'), 1) | bytes_below(w ^ splat(b'\\'), 1) | bytes_below(w, 0x20)
}

/// Top bit set in the bytes of `w` below `n` (for `n` up to 0x80), exact up
/// to the lowest one.
const fn bytes_below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(splat(n)) & !w & splat(0x80)
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Scanner { text, pos: 0 }
    }

    #[inline]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    /// Whether everything has been read.
    pub(crate) fn at_end(&self) -> bool {
        self.pos == self.text.len()
    }

    /// Consumes `literal` if the text continues with it.
    #[inline]
    pub(crate) fn eat(&mut self, literal: &[u8]) -> bool {
        if self
            .bytes()
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(literal))
        {
            self.pos += literal.len();
            true
        } else {
            false
        }
    }

    /// The string starting at the cursor (which must be at its opening
    /// quote), checked: no raw control characters, only valid escapes.
    // Inlined into each caller: a call per string (eight in an envelope)
    // costs more than the scan of most of them.
    #[inline(always)]
    pub(crate) fn string(&mut self) -> Option<Span> {
        let bytes = self.bytes();
        let open = self.pos;
        if bytes.get(open) != Some(&b'"') {
            return None;
        }
        let mut i = open + 1;
        let mut escaped = false;
        loop {
            // Plain content, eight bytes at a time, straight to the first
            // byte that needs a look.
            while let Some(chunk) = bytes.get(i..i + 8) {
                let mask = special_mask(u64::from_le_bytes(chunk.try_into().ok()?));
                if mask != 0 {
                    i += (mask.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            }
            match *bytes.get(i)? {
                b'"' => {
                    self.pos = i + 1;
                    return Some(Span {
                        open,
                        close: i,
                        escaped,
                    });
                }
                b'\\' => {
                    escaped = true;
                    i = match *bytes.get(i + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i + 2,
                        b'u' => {
                            let hex = bytes.get(i + 2..i + 6)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            i + 6
                        }
                        _ => return None,
                    };
                }
                0x00..=0x1f => return None,
                _ => i += 1,
            }
        }
    }

    /// The contents of the string at `span`, escapes not decoded.
    #[inline]
    pub(crate) fn contents(&self, span: Span) -> Option<&'a str> {
        self.text.get(span.open + 1..span.close)
    }

    /// The string at `span` with its quotes: a complete JSON string.
    pub(crate) fn quoted(&self, span: Span) -> Option<&'a str> {
        self.text.get(span.open..=span.close)
    }

    /// For an object at the cursor: its first key when that key has no
    /// escapes, `Some("")` for an empty object (no first key), `None`
    /// otherwise. The cursor does not move.
    pub(crate) fn plain_first_key(&self) -> Option<&'a str> {
        let mut probe = Scanner {
            text: self.text,
            pos: self.pos + 1,
        };
        if probe.peek() == Some(b'}') {
            return Some("");
        }
        let key = probe.string().filter(|key| !key.escaped)?;
        probe.contents(key)
    }

    /// The number at the cursor, checked against RFC 8259's grammar:
    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    pub(crate) fn number(&mut self) -> Option<&'a str> {
        let start = self.pos;
        self.eat(b"-");
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat(b".") {
            self.at_least_one_digit()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.at_least_one_digit()?;
        }
        self.text.get(start..self.pos)
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn at_least_one_digit(&mut self) -> Option<()> {
        let start = self.pos;
        self.digits();
        (self.pos > start).then_some(())
    }

    /// Skips the value at the cursor, checking that it is valid JSON.
    pub(crate) fn value(&mut self) -> Option<Skipped> {
        self.nested_value(0)
    }

    fn nested_value(&mut self, depth: u32) -> Option<Skipped> {
        Some(match self.peek()? {
            b'"' => {
                self.string()?;
                Skipped::String
            }
            b'{' => {
                self.object_body(depth + 1)?;
                Skipped::Object
            }
            b'[' => {
                self.array_body(depth + 1)?;
                Skipped::Array
            }
            b't' if self.eat(b"true") => Skipped::Bool,
            b'f' if self.eat(b"false") => Skipped::Bool,
            b'n' if self.eat(b"null") => Skipped::Null,
            b'-' | b'0'..=b'9' => {
                self.number()?;
                Skipped::Number
            }
            _ => return None,
        })
    }

    /// Skips an object whose `{` is at the cursor.
    fn object_body(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.members(|s, _| s.nested_value(depth).map(drop))
    }

    /// Reads an object whose `{` is at the cursor, member by member: for
    /// each, `member` gets the key, with the cursor after its `:`, and
    /// reads the value. The one loop over an object's members, for
    /// skipping one and for [`Members`](crate::fields::Members)' fast path.
    #[inline]
    pub(crate) fn members(
        &mut self,
        mut member: impl FnMut(&mut Self, Span) -> Option<()>,
    ) -> Option<()> {
        if !self.eat(b"{") {
            return None;
        }
        if self.eat(b"}") {
            return Some(());
        }
        loop {
            let key = self.string()?;
            if !self.eat(b":") {
                return None;
            }
            member(self, key)?;
            if self.eat(b"}") {
                return Some(());
            }
            if !self.eat(b",") {
                return None;
            }
        }
    }

    /// Skips an array whose `[` is at the cursor.
    fn array_body(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.pos += 1;
        if self.eat(b"]") {
            return Some(());
        }
        loop {
            self.nested_value(depth)?;
            if self.eat(b"]") {
                return Some(());
            }
            if !self.eat(b",") {
                return None;
            }
        }
    }

    /// The text from `start` to the cursor.
    pub(crate) fn since(&self, start: usize) -> Option<&'a str> {
        self.text.get(start..self.pos)
    }

    /// The cursor's position.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }
}

/// The three fields of an envelope in Bedrud's exact form,
/// `{"data":<value>,"event":"<name>","timestamp":"<time>"}`, with `event` and
/// `timestamp` free of escapes; `None` for anything else.
pub(crate) fn bedrud_envelope(text: &str) -> Option<(&str, &str, &str)> {
    let mut s = Scanner::new(text);
    if !s.eat(br#"{"data":"#) {
        return None;
    }
    let start = s.position();
    s.value()?;
    let data = s.since(start)?;
    if !s.eat(br#","event":"#) {
        return None;
    }
    let event = s.string()?;
    if !s.eat(br#","timestamp":"#) {
        return None;
    }
    let timestamp = s.string()?;
    if event.escaped || timestamp.escaped || !s.eat(b"}") || !s.at_end() {
        return None;
    }
    Some((data, s.contents(event)?, s.contents(timestamp)?))
}

/// Text generators for the differential tests here and in `raw` and
/// `fields`: mostly JSON, often almost JSON.
#[cfg(test)]
pub(crate) mod strategies {
    use proptest::prelude::*;

    /// JSON built from tokens: valid documents come up often, and so do
    /// documents one token away from valid.
    pub(crate) fn json_ish() -> impl Strategy<Value = String> {
        let token = prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"",
            "\\",
            " ",
            "\n",
            "\t",
            "\"a\"",
            "\"roomId\"",
            "\"$serde_json::private::Number\"",
            "\"\\u0041\"",
            "\"\\ud800\"",
            "{\"a\":1,\"k\\ud800\":1}",
            "\"\\\"\"",
            "\"caf\u{e9}\"",
            "\"\u{0}\"",
            "0",
            "1",
            "-",
            "-0",
            "12",
            "1.5",
            "1e3",
            "18446744073709551616",
            "true",
            "false",
            "null",
            "nul",
            "\"x\":",
            "{\"k\":\"v\"}",
            "[1,2]",
        ]);
        prop::collection::vec(token, 0..24).prop_map(|tokens| tokens.concat())
    }

    /// A JSON value, valid, written compactly or with whitespace (which the
    /// scanner leaves to serde_json).
    pub(crate) fn json_value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<u64>().prop_map(Into::into),
            any::<i64>().prop_map(Into::into),
            (-1e300..1e300f64).prop_map(Into::into),
            "[a-z\"\\\\\u{0}-\u{1f}\u{e9}\u{1F3A5}\u{2028}]{0,12}"
                .prop_map(serde_json::Value::String),
        ];
        let value = leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::vec(("[a-zA-Z$:_]{0,8}", inner), 0..6)
                    .prop_map(|members| serde_json::Value::Object(members.into_iter().collect())),
            ]
        });
        (value, any::<bool>()).prop_map(|(value, pretty)| {
            if pretty {
                serde_json::to_string_pretty(&value).unwrap_or_default()
            } else {
                value.to_string()
            }
        })
    }

    /// An envelope in Bedrud's shape around `data`, with `event` and
    /// `timestamp` drawn from strings that sometimes need escapes.
    pub(crate) fn envelope_around(
        data: impl Strategy<Value = String>,
    ) -> impl Strategy<Value = String> {
        let field = "[a-z.0-9:TZ\"\\\\/]{0,8}";
        (data, field, field, 0..4u8).prop_map(|(data, event, timestamp, variant)| match variant {
            0 => format!(r#"{{"data":{data},"event":"{event}","timestamp":"{timestamp}"}}"#),
            1 => format!(r#"{{"event":"{event}","data":{data},"timestamp":"{timestamp}"}}"#),
            2 => format!(r#"{{"data":{data},"event":"{event}","timestamp":"{timestamp}","v":1}}"#),
            _ => format!(r#"{{"data":{data},"event":"{event}","timestamp":"{timestamp}"}} "#),
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::strategies::{json_ish, json_value};
    use super::*;

    fn skip(json: &str) -> Option<Skipped> {
        let mut s = Scanner::new(json);
        let kind = s.value()?;
        s.at_end().then_some(kind)
    }

    /// What serde_json says about `json` as one value.
    fn serde_accepts(json: &str) -> bool {
        serde_json::from_str::<serde::de::IgnoredAny>(json).is_ok()
            && json
                .bytes()
                .next()
                .is_some_and(|b| !b.is_ascii_whitespace())
            && json
                .bytes()
                .last()
                .is_some_and(|b| !b.is_ascii_whitespace())
    }

    #[test]
    fn the_first_special_byte_is_found_exactly() {
        let is_special = |b: u8| b == b'"' || b == b'\\' || b < 0x20;
        let first = |word: [u8; 8]| {
            let mask = special_mask(u64::from_le_bytes(word));
            (mask != 0).then(|| (mask.trailing_zeros() / 8) as usize)
        };
        for plain in (0..=0xffu8).filter(|b| !is_special(*b)) {
            assert_eq!(first([plain; 8]), None, "{plain}");
        }
        for special in (0..=0xffu8).filter(|b| is_special(*b)) {
            for at in 0..8 {
                let mut word = [b'a'; 8];
                word[at] = special;
                assert_eq!(first(word), Some(at), "{special} at {at}");
            }
        }
    }

    proptest! {
        /// Borrows from one match never hide or fake an earlier one.
        #[test]
        fn the_first_special_byte_of_any_word(word in any::<[u8; 8]>()) {
            let mask = special_mask(u64::from_le_bytes(word));
            let expected = word.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            let found = (mask != 0).then(|| (mask.trailing_zeros() / 8) as usize);
            prop_assert_eq!(found, expected);
        }
    }

    #[test]
    fn valid_json_values_are_skipped_whole() {
        for json in [
            "null",
            "true",
            "false",
            "0",
            "-0",
            "12",
            "-1.5e+3",
            "1E9",
            "0.25",
            r#""""#,
            r#""a long string past eight bytes \" \\ \/ \b\f\n\r\t \u00e9 \uD800""#,
            "\"caf\u{e9} \u{1f3a5}\"",
            "{}",
            "[]",
            "{\"a\":[1,{},[],\"x\"],\"b\":null}",
            r#"{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync"}"#,
        ] {
            assert!(skip(json).is_some(), "{json}");
            assert!(serde_accepts(json), "{json}");
        }
    }

    #[test]
    fn invalid_json_is_not_the_fast_shape() {
        for json in [
            "",
            "nul",
            "truex",
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "1e+",
            "+1",
            "\"unterminated",
            "\"bad \\x escape\"",
            "\"short \\u12\"",
            "\"tab\tinside\"",
            "\"nul\u{0}inside\"",
            "{\"a\"}",
            "{\"a\":1,}",
            "[1,]",
            "[1 2]",
            "{1:2}",
            "{\"a\":1",
            "[",
        ] {
            assert_eq!(skip(json), None, "{json:?}");
            assert!(!serde_accepts(json), "{json:?}");
        }
    }

    #[test]
    fn whitespace_outside_strings_is_left_to_serde_json() {
        for json in ["{ }", "[1, 2]", "{\"a\": 1}", "{\"a\":1 }", "\n{}"] {
            let mut s = Scanner::new(json);
            assert!(s.value().is_none() || !s.at_end(), "{json:?}");
        }
        assert_eq!(
            skip("\" spaces inside strings are content \""),
            Some(Skipped::String)
        );
    }

    #[test]
    fn deep_nesting_is_left_to_serde_json() {
        let depth = MAX_DEPTH as usize;
        let ok = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(skip(&ok), Some(Skipped::Array));
        let deep = format!("{}{}", "[".repeat(depth + 1), "]".repeat(depth + 1));
        assert_eq!(skip(&deep), None);
        assert!(serde_accepts(&deep));
    }

    #[test]
    fn strings_report_their_parts() {
        let mut s = Scanner::new(r#""a\"b" rest"#);
        let span = s.string().unwrap();
        assert_eq!(s.contents(span), Some(r#"a\"b"#));
        assert_eq!(s.quoted(span), Some(r#""a\"b""#));
        assert!(span.escaped);
        assert_eq!(s.position(), 6);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// What the scanner accepts as a value, serde_json accepts too; and
        /// it accepts every valid value (not too deep) serde_json writes.
        #[test]
        fn accepts_only_what_serde_json_accepts(json in json_ish()) {
            if skip(&json).is_some() {
                prop_assert!(serde_accepts(&json), "{json:?}");
            }
        }

        #[test]
        fn accepts_every_compact_value(json in json_value()) {
            let compact = serde_json::from_str::<serde_json::Value>(&json).unwrap().to_string();
            prop_assert!(skip(&compact).is_some(), "{compact:?}");
        }
    }

    #[test]
    fn bedrud_envelopes_are_recognised() {
        let golden = r#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#;
        let (data, event, timestamp) = bedrud_envelope(golden).unwrap();
        assert!(data.starts_with(r#"{"roomId":"#) && data.ends_with(r#"1f2e3a4b5c6d"}"#));
        assert_eq!(event, "room.ended");
        assert_eq!(timestamp, "2026-04-01T12:34:56Z");
    }

    #[test]
    fn other_shapes_are_left_to_serde_json() {
        for body in [
            r#"{"event":"ping","timestamp":"t","data":{}}"#,
            r#"{"data":{},"event":"ping","timestamp":"t"} "#,
            r#" {"data":{},"event":"ping","timestamp":"t"}"#,
            r#"{"data": {},"event":"ping","timestamp":"t"}"#,
            r#"{"data":{},"event":"p\u0069ng","timestamp":"t"}"#,
            r#"{"data":{},"event":"ping","timestamp":"t\/"}"#,
            r#"{"data":{},"event":"ping","timestamp":"t","v":2}"#,
            r#"{"data":{},"event":"ping","timestamp":1}"#,
            r#"{"data":{,"event":"ping","timestamp":"t"}"#,
            r#"{"data":{},"event":"ping"}"#,
        ] {
            assert_eq!(bedrud_envelope(body), None, "{body}");
        }
    }
}
