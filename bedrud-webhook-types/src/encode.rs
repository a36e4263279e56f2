//! Writing JSON byte for byte as Bedrud's Go sender writes it.
//!
//! Bedrud's body is Go's `json.Marshal` of a `map[string]any` whose numbers
//! have been through a float64 round trip. That fixes every byte:
//!
//! - object keys sorted by byte value at every level, no whitespace;
//! - strings escape `"` and `\`, write `\b` `\f` `\n` `\r` `\t` short and
//!   other control characters as `\u00xx` (lowercase hex), and escape `<`
//!   `>` `&` U+2028 U+2029 as `\u003c` `\u003e` `\u0026` `\u2028` `\u2029`;
//!   everything else, emoji included, is raw UTF-8;
//! - every number is written as Go writes a float64: the shortest decimal
//!   that reads back to the same float64 (the closest such, and of two
//!   equally close the one ending in an even digit), without an exponent
//!   when `1e-6 <= |x| < 1e21` (or `x` is zero), padded with zeros where the
//!   digits run out, otherwise as `1e+21` or `1.5e-7`. So `9007199254740993`
//!   is written `9007199254740992`, `2^63` is `9223372036854776000`, and
//!   `3.0` is `3`.
//!
//! Keys are sorted here, not left to `serde_json::Map`, whose order changes
//! when any crate in a build enables serde_json's `preserve_order`.
//!
//! ```
//! use bedrud_webhook_types::encode;
//! use serde_json::json;
//!
//! let value = json!({"z": [1.0, 1e21, 1e-7], "a": "<b> & \u{2028}"});
//! assert_eq!(
//!     encode::to_bedrud_json(&value),
//!     br#"{"a":"\u003cb\u003e \u0026 \u2028","z":[1,1e+21,1e-7]}"#
//! );
//! ```

use std::io::{self, Write};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::ser::Formatter;
use serde_json::{Map, Value};

use crate::timestamp::Timestamp;

/// Encodes `value` as Bedrud would.
///
/// ```
/// use bedrud_webhook_types::encode;
/// use serde_json::json;
///
/// let data = json!({"roomName": "Q&A", "roomId": "r1", "size": 9007199254740993_u64});
/// assert_eq!(
///     encode::to_bedrud_json(&data),
///     br#"{"roomId":"r1","roomName":"Q\u0026A","size":9007199254740992}"#
/// );
/// ```
#[must_use]
pub fn to_bedrud_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out, &GoOrder(value));
    out
}

/// Encodes `value` as Bedrud would, into `writer`.
///
/// # Errors
///
/// Whatever error `writer` returns.
pub fn to_writer<W: io::Write>(writer: W, value: &Value) -> io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(writer, GoFormatter);
    GoOrder(value)
        .serialize(&mut serializer)
        .map_err(io::Error::from)
}

/// The complete body Bedrud sends for an event:
/// `{"data":…,"event":…,"timestamp":…}`.
///
/// `data` is written as `{}` when it is empty, as Bedrud does.
///
/// ```
/// use bedrud_webhook_types::{encode, Timestamp};
///
/// let ts = Timestamp::parse("2026-04-01T12:34:56Z")?;
/// let body = encode::envelope("ping", ts, &serde_json::Map::new());
/// assert_eq!(body, br#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#);
/// # Ok::<(), bedrud_webhook_types::TimestampError>(())
/// ```
#[must_use]
pub fn envelope(event_name: &str, timestamp: Timestamp, data: &Map<String, Value>) -> Vec<u8> {
    let mut out = Vec::new();
    write(
        &mut out,
        &Body {
            data,
            event: event_name,
            timestamp,
        },
    );
    out
}

/// Serialises into a `Vec`, which cannot fail: a `Vec` accepts every write,
/// and the values serialised here have only string keys and no custom
/// `Serialize` that could refuse.
fn write(out: &mut Vec<u8>, value: &impl Serialize) {
    let mut serializer = serde_json::Serializer::with_formatter(out, GoFormatter);
    let _infallible = value.serialize(&mut serializer);
}

/// The envelope, with its three keys written in byte order.
struct Body<'a> {
    data: &'a Map<String, Value>,
    event: &'a str,
    timestamp: Timestamp,
}

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        // "data" < "event" < "timestamp": already in Go's order.
        map.serialize_entry("data", &GoOrderMap(self.data))?;
        map.serialize_entry("event", self.event)?;
        map.serialize_entry("timestamp", &self.timestamp)?;
        map.end()
    }
}

/// A value whose objects serialise with their keys in byte order.
struct GoOrder<'a>(&'a Value);

impl Serialize for GoOrder<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => GoOrderMap(map).serialize(serializer),
            Value::Array(items) => serializer.collect_seq(items.iter().map(GoOrder)),
            scalar => scalar.serialize(serializer),
        }
    }
}

struct GoOrderMap<'a>(&'a Map<String, Value>);

impl Serialize for GoOrderMap<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<(&String, &Value)> = self.0.iter().collect();
        // `str`'s order is byte order, which is Go's `sort.Strings` order.
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (key, value) in entries {
            map.serialize_entry(key, &GoOrder(value))?;
        }
        map.end()
    }
}

/// serde_json's compact output with Go's HTML-safe strings and float64
/// numbers.
///
/// serde_json already escapes `"`, `\` and control characters exactly as Go
/// 1.22 and later do; this adds the characters Go escapes on top, and writes
/// every number through [`write_go_float`].
struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut done = 0;
        for (at, special) in fragment.match_indices(['<', '>', '&', '\u{2028}', '\u{2029}']) {
            writer.write_all(&fragment.as_bytes()[done..at])?;
            let escape: &[u8] = match special {
                "<" => b"\\u003c",
                ">" => b"\\u003e",
                "&" => b"\\u0026",
                "\u{2028}" => b"\\u2028",
                _ => b"\\u2029",
            };
            writer.write_all(escape)?;
            done = at + special.len();
        }
        writer.write_all(&fragment.as_bytes()[done..])
    }

    fn write_i8<W: ?Sized + Write>(&mut self, writer: &mut W, value: i8) -> io::Result<()> {
        write_go_float(writer, f64::from(value))
    }

    fn write_i16<W: ?Sized + Write>(&mut self, writer: &mut W, value: i16) -> io::Result<()> {
        write_go_float(writer, f64::from(value))
    }

    fn write_i32<W: ?Sized + Write>(&mut self, writer: &mut W, value: i32) -> io::Result<()> {
        write_go_float(writer, f64::from(value))
    }

    fn write_i64<W: ?Sized + Write>(&mut self, writer: &mut W, value: i64) -> io::Result<()> {
        // Rounds to nearest, ties to even: what Go's float64 parse of the
        // decimal integer gives.
        write_go_float(writer, value as f64)
    }

    fn write_i128<W: ?Sized + Write>(&mut self, writer: &mut W, value: i128) -> io::Result<()> {
        write_go_float(writer, value as f64)
    }

    fn write_u8<W: ?Sized + Write>(&mut self, writer: &mut W, value: u8) -> io::Result<()> {
        write_go_float(writer, f64::from(value))
    }

    fn write_u16<W: ?Sized + Write>(&mut self, writer: &mut W, value: u16) -> io::Result<()> {
        write_go_float(writer, f64::from(value))
    }

    fn write_u32<W: ?Sized + Write>(&mut self, writer: &mut W, value: u32) -> io::Result<()> {
        write_go_float(writer, f64::from(value))
    }

    fn write_u64<W: ?Sized + Write>(&mut self, writer: &mut W, value: u64) -> io::Result<()> {
        write_go_float(writer, value as f64)
    }

    fn write_u128<W: ?Sized + Write>(&mut self, writer: &mut W, value: u128) -> io::Result<()> {
        write_go_float(writer, value as f64)
    }

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        write_go_float(writer, f64::from(value))
    }

    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        write_go_float(writer, value)
    }

    /// Reached only when some crate in the build enables serde_json's
    /// `arbitrary_precision`, which keeps numbers as their digits.
    fn write_number_str<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        value: &str,
    ) -> io::Result<()> {
        match value.parse::<f64>() {
            Ok(x) if x.is_finite() => write_go_float(writer, x),
            // Beyond float64; Bedrud could never have sent it. Keep the digits.
            _ => writer.write_all(value.as_bytes()),
        }
    }
}

/// Writes `x` as Go's `encoding/json` writes a float64.
fn write_go_float<W: ?Sized + Write>(writer: &mut W, x: f64) -> io::Result<()> {
    if !x.is_finite() {
        // Never reached from a `Value`, which cannot hold these; serde_json
        // writes them as null, and so does this.
        return writer.write_all(b"null");
    }
    let scientific = go_shortest_scientific(x);
    let Some((mantissa, exponent)) = scientific
        .split_once('e')
        .and_then(|(m, e)| Some((m, e.parse::<i32>().ok()?)))
    else {
        // Rust's `{:e}` always writes `<mantissa>e<exponent>`; this is only
        // here so that a surprise cannot panic.
        return write!(writer, "{x}");
    };
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(unsigned) => ("-", unsigned),
        None => ("", mantissa),
    };
    let abs = x.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Go's 'e' format: `1e+21`, `1.5e-7` (Go trims `e-07` to `e-7`).
        let plus = if exponent < 0 { "" } else { "+" };
        return write!(writer, "{sign}{mantissa}e{plus}{exponent}");
    }
    // Go's 'f' format: the same digits, padded with zeros, no exponent.
    let digits = mantissa.replace('.', "");
    writer.write_all(sign.as_bytes())?;
    match usize::try_from(exponent) {
        Err(_) => {
            let leading_zeros = usize::try_from(-exponent - 1).unwrap_or(0);
            write!(writer, "0.{}{digits}", "0".repeat(leading_zeros))
        }
        Ok(point) if digits.len() > point + 1 => {
            let (int, frac) = digits.split_at(point + 1);
            write!(writer, "{int}.{frac}")
        }
        Ok(point) => write!(writer, "{digits}{}", "0".repeat(point + 1 - digits.len())),
    }
}

/// The shortest decimal that reads back as `x`, in Rust's `{:e}` form, chosen
/// as Go chooses it.
///
/// Rust and Go both pick, among the shortest decimals that read back as `x`,
/// the one closest to `x`. When two are exactly as close, Go (like
/// JavaScript) takes the one with the even last digit, and Rust's `{:e}` and
/// `{}` take the larger: `233115890514796.125` is `…796.12` in Go but
/// `…796.13` in Rust. Rust's fixed-precision formatting is exact and rounds
/// half to even, so formatting `x` to the same number of digits gives Go's
/// choice. A tie needs two n-digit decimals 10^(E-n+1) apart within one
/// float64 spacing (below 10^(E+1) / 2^52), so n of 16 or more.
fn go_shortest_scientific(x: f64) -> String {
    let shortest = format!("{x:e}");
    let digit_count = shortest.split('e').next().map_or(0, |mantissa| {
        mantissa.bytes().filter(u8::is_ascii_digit).count()
    });
    if digit_count >= 16 {
        let rounded_half_even = format!("{x:.prec$e}", prec = digit_count - 1);
        // The closest n-digit decimal may not read back as `x` next to a
        // power of two, where the spacing below is half that above.
        if rounded_half_even.parse::<f64>() == Ok(x) {
            return rounded_half_even;
        }
    }
    shortest
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn encoded(value: &Value) -> String {
        String::from_utf8(to_bedrud_json(value)).unwrap()
    }

    /// What Go's `encoding/json` (1.22 and later) writes for each string.
    #[test]
    fn escaping_matches_go() {
        let cases: &[(&str, &str)] = &[
            ("<", r"\u003c"),
            (">", r"\u003e"),
            ("&", r"\u0026"),
            ("\u{2028}", r"\u2028"),
            ("\u{2029}", r"\u2029"),
            ("\"", r#"\""#),
            ("\\", r"\\"),
            ("\n", r"\n"),
            ("\r", r"\r"),
            ("\t", r"\t"),
            ("\u{8}", r"\b"),
            ("\u{c}", r"\f"),
            ("\u{0}", r"\u0000"),
            ("\u{1}", r"\u0001"),
            ("\u{b}", r"\u000b"),
            ("\u{e}", r"\u000e"),
            ("\u{1b}", r"\u001b"),
            ("\u{1f}", r"\u001f"),
            // Go leaves these alone.
            ("/", "/"),
            ("\u{7f}", "\u{7f}"),
            ("\u{80}", "\u{80}"),
            ("\u{85}", "\u{85}"),
            ("\u{a0}", "\u{a0}"),
            ("\u{2027}", "\u{2027}"),
            ("\u{202a}", "\u{202a}"),
            ("\u{feff}", "\u{feff}"),
            ("\u{fffd}", "\u{fffd}"),
            ("é", "é"),
            ("—", "—"),
            ("🎥", "🎥"),
            ("\u{10ffff}", "\u{10ffff}"),
            ("'", "'"),
            ("a<b>&c", r"a\u003cb\u003e\u0026c"),
            ("<<>>", r"\u003c\u003c\u003e\u003e"),
            ("x\u{2028}\u{2029}y\n<", r"x\u2028\u2029y\n\u003c"),
        ];
        for (input, output) in cases {
            assert_eq!(encoded(&json!(input)), format!("\"{output}\""), "{input:?}");
        }
    }

    /// What Go writes for each number after Bedrud's float64 round trip.
    #[test]
    #[allow(
        clippy::excessive_precision,
        reason = "the tie cases are exact float64 values; the lint judges them by Rust's tie-breaking"
    )]
    fn numbers_match_go_float64() {
        let cases: &[(Value, &str)] = &[
            (json!(0), "0"),
            (json!(0.0), "0"),
            (json!(-0.0), "-0"),
            (json!(1), "1"),
            (json!(-1), "-1"),
            (json!(3.0), "3"),
            (json!(0.1), "0.1"),
            (json!(1.5), "1.5"),
            (json!(-2.25), "-2.25"),
            (json!(123.456), "123.456"),
            (json!(734_003_200), "734003200"),
            (json!(9_007_199_254_740_992_u64), "9007199254740992"),
            (json!(9_007_199_254_740_993_u64), "9007199254740992"),
            (json!(9_007_199_254_740_995_u64), "9007199254740996"),
            // Go's 'f' format writes the shortest digits and pads with zeros.
            (json!(1_152_921_504_606_846_976_u64), "1152921504606847000"),
            (json!(i64::MIN), "-9223372036854776000"),
            (json!(i64::MAX), "9223372036854776000"),
            (json!(u64::MAX), "18446744073709552000"),
            (json!(1e20), "100000000000000000000"),
            (
                json!(123_456_789_012_345_680_000.0),
                "123456789012345680000",
            ),
            (json!(1e21), "1e+21"),
            (json!(-1e21), "-1e+21"),
            (json!(1.5e21), "1.5e+21"),
            (
                json!(123_456_789_012_345_678_901_234.0),
                "1.2345678901234569e+23",
            ),
            (json!(1e100), "1e+100"),
            (json!(f64::MAX), "1.7976931348623157e+308"),
            (json!(1e-6), "0.000001"),
            (json!(-1e-6), "-0.000001"),
            (json!(1.234e-6), "0.000001234"),
            (json!(9.99e-7), "9.99e-7"),
            (json!(1e-7), "1e-7"),
            (json!(1.5e-7), "1.5e-7"),
            (json!(-1.5e-7), "-1.5e-7"),
            (json!(1e-10), "1e-10"),
            (json!(1e-100), "1e-100"),
            (json!(f64::MIN_POSITIVE), "2.2250738585072014e-308"),
            (json!(5e-324), "5e-324"),
            (json!(0.000_123), "0.000123"),
            (json!(1.0 / 3.0), "0.3333333333333333"),
            // Exact ties between two shortest candidates: Go takes the even
            // digit, where Rust's own `Display` would write 13, 3, 3.
            (json!(233_115_890_514_796.125), "233115890514796.12"),
            (json!(-2_020_163_013_628_192.25), "-2020163013628192.2"),
            (json!(1_716_481_631_878_246.25), "1716481631878246.2"),
            // And where the even digit is the larger one.
            (json!(1_716_481_631_878_246.75), "1716481631878246.8"),
        ];
        for (value, want) in cases {
            assert_eq!(encoded(value), *want, "{value:?}");
        }
    }

    #[test]
    fn number_strings_from_arbitrary_precision_go_through_float64() {
        let mut out = Vec::new();
        let mut f = GoFormatter;
        for (digits, want) in [
            ("9007199254740993", "9007199254740992"),
            ("3.0", "3"),
            ("1e21", "1e+21"),
            ("1e400", "1e400"),
        ] {
            out.clear();
            f.write_number_str(&mut out, digits).unwrap();
            assert_eq!(String::from_utf8_lossy(&out), want);
        }
    }

    #[test]
    fn keys_are_sorted_by_bytes_at_every_level() {
        // Built in reverse order so that a `preserve_order` Map would show it.
        let mut inner = Map::new();
        for key in ["y", "x", "Y", "é", "xx", ""] {
            inner.insert(key.to_owned(), json!(key.len()));
        }
        let mut outer = Map::new();
        outer.insert(
            "list".to_owned(),
            json!([Value::Object(inner.clone()), [{"b": 1, "a": 2}]]),
        );
        outer.insert("obj".to_owned(), Value::Object(inner));
        outer.insert("B".to_owned(), json!(null));
        outer.insert("a".to_owned(), json!({"z": {"k2": true, "k1": false}}));
        assert_eq!(
            encoded(&Value::Object(outer)),
            concat!(
                r#"{"B":null,"a":{"z":{"k1":false,"k2":true}},"#,
                r#""list":[{"":0,"Y":1,"x":1,"xx":2,"y":1,"é":2},[{"a":2,"b":1}]],"#,
                r#""obj":{"":0,"Y":1,"x":1,"xx":2,"y":1,"é":2}}"#
            )
        );
    }

    #[test]
    fn keys_are_sorted_before_escaping_and_escaped_like_values() {
        // Go sorts the raw keys, then escapes them: "&" (0x26) < "<" (0x3c) < "a".
        let value = json!({"a": 1, "<": 2, "&": 3, "\n": 4});
        assert_eq!(encoded(&value), r#"{"\n":4,"\u0026":3,"\u003c":2,"a":1}"#);
    }

    #[test]
    fn scalars_and_empty_containers() {
        assert_eq!(encoded(&json!(null)), "null");
        assert_eq!(encoded(&json!(true)), "true");
        assert_eq!(encoded(&json!([])), "[]");
        assert_eq!(encoded(&json!({})), "{}");
        assert_eq!(encoded(&json!([[], {}, ""])), r#"[[],{},""]"#);
    }

    #[test]
    fn to_writer_matches_to_bedrud_json_and_reports_io_errors() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let value = json!({"b": ["<", 1e21], "a": {}});
        let mut out = Vec::new();
        to_writer(&mut out, &value).unwrap();
        assert_eq!(out, to_bedrud_json(&value));
        let err = to_writer(Broken, &value).unwrap_err();
        assert_eq!(err.to_string(), "disk full");
    }

    #[test]
    fn envelope_writes_sorted_top_level_and_escapes_the_name() {
        let ts = Timestamp::parse("2026-04-01T12:34:56Z").unwrap();
        let data = json!({"k": "v"});
        let Value::Object(data) = data else {
            unreachable!()
        };
        assert_eq!(
            String::from_utf8(envelope("room.<x>", ts, &data)).unwrap(),
            r#"{"data":{"k":"v"},"event":"room.\u003cx\u003e","timestamp":"2026-04-01T12:34:56Z"}"#
        );
    }
}
