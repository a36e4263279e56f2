//! The shared test vectors: `tests/vectors/bedrud-webhook-vectors.json`.
//!
//! The file is a table of deliveries (exact body bytes, header pairs) with
//! the verdict a correct receiver gives each one, for the receiver
//! configuration the file names (secrets, clock, tolerance, body limit). It
//! is written for Go's `encoding/json` as much as for this crate, so that
//! Bedrud's own tests can load it; `tests/vectors/README.md` documents every
//! field.
//!
//! This module holds the file's schema as serde types, [`load`] to read it,
//! and the generator that writes it ([`generate`] and [`render`]), shared by
//! the `generate-vectors` binary and the test that checks the checked-in
//! file is exactly what the generator writes now.
//!
//! ```no_run
//! let file = bedrud_webhook_tests::vectors::load()?;
//! let verifier = file.verifier()?;
//! for case in &file.cases {
//!     let body = case.body_bytes()?;
//!     # let _ = (&verifier, body);
//! }
//! # Ok::<(), anyhow::Error>(())
//! ```

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use bedrud_webhook_types::Timestamp;
use bedrud_webhook_verify::{DeliveryHeaders, Secret, Verifier};
use serde::{Deserialize, Serialize};

mod generate;

pub use generate::generate;

/// The `format_version` this module writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The `status` of an accepted case. It stands for any 2xx: Bedrud treats
/// every 2xx as success.
pub const STATUS_ACCEPTED: u16 = 200;

/// The `reason` of a genuinely signed delivery whose envelope is fine but
/// whose typed `data` is not (a field of the wrong type, `data` not an
/// object): not a verifier reason but the integrations' name for a
/// `ParseError`, answered with 400.
pub const REASON_INVALID_DATA: &str = "invalid_data";

/// `expect.verdict` of a delivery the receiver must accept.
pub const VERDICT_ACCEPTED: &str = "accepted";

/// `expect.verdict` of a delivery the receiver must refuse.
pub const VERDICT_REJECTED: &str = "rejected";

/// The whole vectors file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorFile {
    /// What the file is, in one paragraph.
    pub description: String,
    /// The schema's version; [`FORMAT_VERSION`].
    pub format_version: u32,
    /// How to use the file, one paragraph per entry.
    pub notes: Vec<String>,
    /// The secrets the receiver under test accepts: the current one first,
    /// then the previous ones. Each is the key's bytes as text (never
    /// hex-decoded).
    pub secrets: Vec<String>,
    /// The receiver's clock for every case, RFC 3339.
    pub now: String,
    /// How far, in whole seconds and in either direction, the signed
    /// timestamp may lie from `now`; a distance of exactly this is accepted.
    pub tolerance_seconds: u64,
    /// The largest body the receiver accepts; a body of exactly this many
    /// bytes is accepted.
    pub body_limit_bytes: usize,
    /// The deliveries.
    pub cases: Vec<VectorCase>,
}

/// One delivery and the verdict a correct receiver gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorCase {
    /// Unique, snake_case.
    pub name: String,
    /// What the case is and why it gets its verdict.
    pub description: String,
    /// The verdict.
    pub expect: Expect,
    /// The secret whose HMAC-SHA256 over the body every signature header of
    /// the case carries (`sha256=` and the hex digits, whatever their case);
    /// `None` when the signature is missing, malformed or made over other
    /// bytes.
    pub secret: Option<String>,
    /// Whether body and headers are exactly what a Bedrud server configured
    /// with [`secret`](Self::secret) sends: a sender under test must
    /// reproduce them byte for byte.
    pub bedrud_exact: bool,
    /// Whether the headers reach a receiver unchanged over HTTP/1.1. When
    /// false (whitespace around a header value, which HTTP parsers strip),
    /// hand the headers to the verification function directly instead.
    pub http_safe: bool,
    /// The headers as `[name, value]` pairs, in order; a name may repeat.
    /// Framing headers (`Host`, `Content-Length`) are left to the client.
    pub headers: Vec<(String, String)>,
    /// The exact body, when it is UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The exact body in standard base64 with padding, when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

/// The verdict a correct receiver gives a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expect {
    /// 200 (standing for any 2xx), 401, 400 or 413.
    pub status: u16,
    /// [`VERDICT_ACCEPTED`] or [`VERDICT_REJECTED`].
    pub verdict: String,
    /// `None` when accepted; else the verifier's `Error::reason()` name, or
    /// [`REASON_INVALID_DATA`].
    pub reason: Option<String>,
    /// The event name the application is handed, when accepted.
    pub event: Option<String>,
}

impl Expect {
    /// Whether the receiver must accept the delivery.
    #[must_use]
    pub fn is_accepted(&self) -> bool {
        self.verdict == VERDICT_ACCEPTED
    }
}

impl VectorFile {
    /// The receiver's clock, [`now`](Self::now).
    ///
    /// # Errors
    ///
    /// When `now` is not RFC 3339.
    pub fn now(&self) -> anyhow::Result<Timestamp> {
        Timestamp::parse(&self.now).with_context(|| format!("`now` {:?}", self.now))
    }

    /// A verifier configured as the file says: its secrets (current first),
    /// tolerance and body limit, with its clock pinned to
    /// [`now`](Self::now), so that every entry point (`verify`,
    /// `verify_headers`, and the framework integrations serving it) checks
    /// each case at the file's time.
    ///
    /// # Errors
    ///
    /// When the file lists no secret, or an empty one, or `now` is not
    /// RFC 3339.
    pub fn verifier(&self) -> anyhow::Result<Verifier> {
        let now = self.now()?;
        let (current, previous) = self
            .secrets
            .split_first()
            .context("the vectors file lists no secret")?;
        let previous = previous
            .iter()
            .map(|s| Secret::new(s.as_str()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Verifier::builder(Secret::new(current.as_str())?)
            .previous_secrets(previous)
            .tolerance(std::time::Duration::from_secs(self.tolerance_seconds))
            .body_limit(self.body_limit_bytes)
            .clock(move || now)
            .build())
    }

    /// The case called `name`.
    #[must_use]
    pub fn case(&self, name: &str) -> Option<&VectorCase> {
        self.cases.iter().find(|case| case.name == name)
    }
}

impl VectorCase {
    /// The exact body bytes, from [`body`](Self::body) or
    /// [`body_base64`](Self::body_base64).
    ///
    /// # Errors
    ///
    /// When the case has both or neither, or the base64 is invalid.
    pub fn body_bytes(&self) -> anyhow::Result<Vec<u8>> {
        match (&self.body, &self.body_base64) {
            (Some(text), None) => Ok(text.as_bytes().to_vec()),
            (None, Some(encoded)) => base64_decode(encoded)
                .with_context(|| format!("case {}: invalid body_base64", self.name)),
            _ => bail!(
                "case {}: exactly one of body and body_base64 must be present",
                self.name
            ),
        }
    }

    /// The headers as byte pairs, for
    /// [`DeliveryHeaders::from_pairs`] or a raw HTTP client.
    pub fn header_pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_bytes(), value.as_bytes()))
    }

    /// The headers as the verifier reads them.
    #[must_use]
    pub fn delivery_headers(&self) -> DeliveryHeaders<'_> {
        DeliveryHeaders::from_pairs(self.header_pairs())
    }

    /// The values of every header called `name` (without regard to ASCII
    /// case), in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Where the checked-in file lives.
#[must_use]
pub fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("vectors")
        .join("bedrud-webhook-vectors.json")
}

/// Reads and parses the checked-in file.
///
/// # Errors
///
/// When the file cannot be read or does not match the schema or
/// [`FORMAT_VERSION`].
pub fn load() -> anyhow::Result<VectorFile> {
    let path = path();
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let file: VectorFile =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if file.format_version != FORMAT_VERSION {
        bail!(
            "{} has format_version {}, this code reads {FORMAT_VERSION}",
            path.display(),
            file.format_version
        );
    }
    Ok(file)
}

/// The file's text: pretty-printed JSON (two-space indent, each header
/// pair on one line) with a trailing newline.
///
/// # Errors
///
/// Never in practice: the schema serialises to JSON.
pub fn render(file: &VectorFile) -> anyhow::Result<String> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, layout::Layout::new());
    file.serialize(&mut serializer)?;
    out.push(b'\n');
    Ok(String::from_utf8(out)?)
}

/// The standard base64 alphabet (RFC 4648 §4), which Go's `encoding/json`
/// uses for `[]byte`.
const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(BASE64[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 with padding; `None` when it is not that.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let quads = text.len() / 4;
    for (index, quad) in text.chunks(4).enumerate() {
        let padding = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if padding > 2 || (padding > 0 && index + 1 != quads) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - padding] {
            let value = BASE64.iter().position(|&a| a == c)?;
            n = (n << 6) | u32::try_from(value).ok()?;
        }
        n <<= 6 * u32::try_from(padding).ok()?;
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - padding]);
    }
    Some(out)
}

/// serde_json's pretty layout, except that an array inside an array (a
/// header pair) is written on one line: `["X-Bedrud-Event", "ping"]`.
mod layout {
    use std::io::{self, Write};

    use serde_json::ser::{Formatter, PrettyFormatter};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Frame {
        Object,
        Array,
        Inline,
    }

    pub(super) struct Layout {
        pretty: PrettyFormatter<'static>,
        frames: Vec<Frame>,
    }

    impl Layout {
        pub(super) fn new() -> Self {
            Self {
                pretty: PrettyFormatter::new(),
                frames: Vec::new(),
            }
        }

        fn inline(&self) -> bool {
            self.frames.last() == Some(&Frame::Inline)
        }

        fn opens_inline(&self) -> bool {
            matches!(self.frames.last(), Some(Frame::Array | Frame::Inline))
        }
    }

    impl Formatter for Layout {
        fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
            if self.opens_inline() {
                self.frames.push(Frame::Inline);
                writer.write_all(b"[")
            } else {
                self.frames.push(Frame::Array);
                self.pretty.begin_array(writer)
            }
        }

        fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
            match self.frames.pop() {
                Some(Frame::Inline) => writer.write_all(b"]"),
                _ => self.pretty.end_array(writer),
            }
        }

        fn begin_array_value<W: ?Sized + Write>(
            &mut self,
            writer: &mut W,
            first: bool,
        ) -> io::Result<()> {
            if self.inline() {
                if first {
                    Ok(())
                } else {
                    writer.write_all(b", ")
                }
            } else {
                self.pretty.begin_array_value(writer, first)
            }
        }

        fn end_array_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
            if self.inline() {
                Ok(())
            } else {
                self.pretty.end_array_value(writer)
            }
        }

        fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
            if self.inline() {
                self.frames.push(Frame::Inline);
                writer.write_all(b"{")
            } else {
                self.frames.push(Frame::Object);
                self.pretty.begin_object(writer)
            }
        }

        fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
            match self.frames.pop() {
                Some(Frame::Inline) => writer.write_all(b"}"),
                _ => self.pretty.end_object(writer),
            }
        }

        fn begin_object_key<W: ?Sized + Write>(
            &mut self,
            writer: &mut W,
            first: bool,
        ) -> io::Result<()> {
            if self.inline() {
                if first {
                    Ok(())
                } else {
                    writer.write_all(b", ")
                }
            } else {
                self.pretty.begin_object_key(writer, first)
            }
        }

        fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
            if self.inline() {
                writer.write_all(b": ")
            } else {
                self.pretty.begin_object_value(writer)
            }
        }

        fn end_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
            if self.inline() {
                Ok(())
            } else {
                self.pretty.end_object_value(writer)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_every_length_and_matches_rfc4648() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(plain.as_bytes()), encoded);
            assert_eq!(base64_decode(encoded).as_deref(), Some(plain.as_bytes()));
        }
        let all: Vec<u8> = (0..=255).collect();
        for len in 0..all.len() {
            assert_eq!(
                base64_decode(&base64_encode(&all[..len])).as_deref(),
                Some(&all[..len])
            );
        }
        for bad in ["Zg=", "Z===", "Zg==Zg==", "Zm9v!A==", "===="] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }
}
