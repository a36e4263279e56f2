//! Input structures shared by the fuzz targets and the seed-corpus generator.
//!
//! Each structure implements [`arbitrary::Arbitrary`] by hand, reading its
//! fields front to back with `Unstructured`'s integer and byte primitives.
//! A derived implementation would take collection lengths from the *end* of
//! the input in a layout that depends on the input's total length, which no
//! seed generator can write reliably. This layout is simple and documented
//! on each type, every structure has an `encode` that writes it, and the seed
//! generator (`examples/seed_corpus.rs`) decodes every seed it writes and
//! checks that it gets the same structure back.
//!
//! Decoding never fails: a short input reads as zeros and empty fields, so
//! every byte string the fuzzer makes is a valid test case.

use arbitrary::{Arbitrary, Result, Unstructured};

/// The golden secret of the wire page; the fixed secret of `delivery`.
pub const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";
/// A previous secret: `delivery`'s verifier accepts it too (rotation). The
/// shared vectors' (`tests/vectors`) previous secret, so that their cases
/// make seeds that mean the same here.
pub const PREVIOUS_SECRET: &str = "e3b0c44298fc1c149afbf4c8996fb924";
/// The body limit of `delivery`'s verifier: the shared vectors' limit, about
/// the size of libFuzzer's inputs, so that they reach both sides of it.
pub const BODY_LIMIT: usize = 4096;
/// The golden vectors' timestamp, 2026-04-01T12:34:56Z, in Unix seconds.
pub const GOLDEN_UNIX: i64 = 1_775_046_896;

fn take<'a>(u: &mut Unstructured<'a>, len: usize) -> &'a [u8] {
    let n = len.min(u.len());
    u.bytes(n).unwrap_or_default()
}

fn byte(u: &mut Unstructured<'_>) -> Result<u8> {
    u.arbitrary::<u8>()
}

fn le16(u: &mut Unstructured<'_>) -> Result<usize> {
    Ok(usize::from(u.arbitrary::<u16>()?))
}

fn push_short(out: &mut Vec<u8>, bytes: &[u8]) {
    // Lengths are one byte; the encoder is only fed short names and secrets.
    let len = u8::try_from(bytes.len()).unwrap_or(u8::MAX);
    out.push(len);
    out.extend_from_slice(&bytes[..usize::from(len)]);
}

fn push_long(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&bytes[..usize::from(len)]);
}

/// Input of `signature_header`.
///
/// Layout: `[secret_len: u8][secret][body_len: u16 LE][body][header: the rest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureInput<'a> {
    /// A secret for the "a correct signature verifies" check; may be empty.
    pub secret: &'a [u8],
    /// The body.
    pub body: &'a [u8],
    /// The signature header value: arbitrary bytes.
    pub header: &'a [u8],
}

impl<'a> SignatureInput<'a> {
    fn head(u: &mut Unstructured<'a>) -> Result<(&'a [u8], &'a [u8])> {
        let secret_len = usize::from(byte(u)?);
        let secret = take(u, secret_len);
        let body_len = le16(u)?;
        let body = take(u, body_len);
        Ok((secret, body))
    }

    /// The bytes that decode to `self` (with `arbitrary_take_rest`).
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        push_short(&mut out, self.secret);
        push_long(&mut out, self.body);
        out.extend_from_slice(self.header);
        out
    }
}

impl<'a> Arbitrary<'a> for SignatureInput<'a> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let (secret, body) = Self::head(u)?;
        let header_len = le16(u)?;
        let header = take(u, header_len);
        Ok(Self {
            secret,
            body,
            header,
        })
    }

    fn arbitrary_take_rest(mut u: Unstructured<'a>) -> Result<Self> {
        let (secret, body) = Self::head(&mut u)?;
        Ok(Self {
            secret,
            body,
            header: u.take_rest(),
        })
    }
}

/// Which header a [`HeaderSpec`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind<'a> {
    /// `X-Bedrud-Signature`.
    BedrudSignature,
    /// `X-Webhook-Signature`.
    WebhookSignature,
    /// `X-Bedrud-Event`.
    BedrudEvent,
    /// `X-Webhook-Event`.
    WebhookEvent,
    /// `X-Bedrud-Timestamp`.
    BedrudTimestamp,
    /// `Content-Type`.
    ContentType,
    /// Any bytes at all as the name.
    Other(&'a [u8]),
}

/// How a known header name is spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spelling {
    /// As the wire page writes it: `X-Bedrud-Signature`.
    Canonical,
    /// All lowercase, as HTTP/2 and hyper write it.
    Lower,
    /// All uppercase.
    Upper,
}

/// What a [`HeaderSpec`]'s value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind<'a> {
    /// The genuine signature of the body with [`SECRET`].
    Genuine,
    /// The genuine signature of the body with [`PREVIOUS_SECRET`].
    GenuinePrevious,
    /// The genuine signature with [`SECRET`], its hex digits uppercased.
    GenuineUpper,
    /// The body's `event` string, when the body has one.
    BodyEvent,
    /// The body's `timestamp` string, when the body has one.
    BodyTimestamp,
    /// Any bytes at all.
    Raw(&'a [u8]),
}

/// One header of a `delivery` input.
///
/// Layout: `[name: u8][value: u8]`, then `[len: u8][bytes]` if the name is
/// [`NameKind::Other`], then `[len: u16 LE][bytes]` if the value is
/// [`ValueKind::Raw`]. The name byte: `% 7` picks the kind, `/ 7 % 3` the
/// spelling. The value byte: `% 6` picks the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderSpec<'a> {
    /// The name.
    pub name: NameKind<'a>,
    /// The spelling of a known name.
    pub spelling: Spelling,
    /// The value.
    pub value: ValueKind<'a>,
}

impl<'a> HeaderSpec<'a> {
    fn read(u: &mut Unstructured<'a>) -> Result<Self> {
        let name_byte = byte(u)?;
        let value_byte = byte(u)?;
        let spelling = match name_byte / 7 % 3 {
            0 => Spelling::Canonical,
            1 => Spelling::Lower,
            _ => Spelling::Upper,
        };
        let name = match name_byte % 7 {
            0 => NameKind::BedrudSignature,
            1 => NameKind::WebhookSignature,
            2 => NameKind::BedrudEvent,
            3 => NameKind::WebhookEvent,
            4 => NameKind::BedrudTimestamp,
            5 => NameKind::ContentType,
            _ => {
                let len = usize::from(byte(u)?);
                NameKind::Other(take(u, len))
            }
        };
        let value = match value_byte % 6 {
            0 => ValueKind::Genuine,
            1 => ValueKind::GenuinePrevious,
            2 => ValueKind::GenuineUpper,
            3 => ValueKind::BodyEvent,
            4 => ValueKind::BodyTimestamp,
            _ => {
                let len = le16(u)?;
                ValueKind::Raw(take(u, len))
            }
        };
        Ok(Self {
            name,
            spelling,
            value,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        let kind = match self.name {
            NameKind::BedrudSignature => 0,
            NameKind::WebhookSignature => 1,
            NameKind::BedrudEvent => 2,
            NameKind::WebhookEvent => 3,
            NameKind::BedrudTimestamp => 4,
            NameKind::ContentType => 5,
            NameKind::Other(_) => 6,
        };
        let spelling = match self.spelling {
            Spelling::Canonical => 0,
            Spelling::Lower => 1,
            Spelling::Upper => 2,
        };
        out.push(kind + 7 * spelling);
        out.push(match self.value {
            ValueKind::Genuine => 0,
            ValueKind::GenuinePrevious => 1,
            ValueKind::GenuineUpper => 2,
            ValueKind::BodyEvent => 3,
            ValueKind::BodyTimestamp => 4,
            ValueKind::Raw(_) => 5,
        });
        if let NameKind::Other(name) = self.name {
            push_short(out, name);
        }
        if let ValueKind::Raw(value) = self.value {
            push_long(out, value);
        }
    }

    /// The header name's bytes.
    #[must_use]
    pub fn name_bytes(&self) -> Vec<u8> {
        let canonical: &[u8] = match self.name {
            NameKind::BedrudSignature => b"X-Bedrud-Signature",
            NameKind::WebhookSignature => b"X-Webhook-Signature",
            NameKind::BedrudEvent => b"X-Bedrud-Event",
            NameKind::WebhookEvent => b"X-Webhook-Event",
            NameKind::BedrudTimestamp => b"X-Bedrud-Timestamp",
            NameKind::ContentType => b"Content-Type",
            NameKind::Other(name) => return name.to_vec(),
        };
        match self.spelling {
            Spelling::Canonical => canonical.to_vec(),
            Spelling::Lower => canonical.to_ascii_lowercase(),
            Spelling::Upper => canonical.to_ascii_uppercase(),
        }
    }
}

/// The instant a `delivery` input is checked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Now {
    /// The body's own timestamp (or [`GOLDEN_UNIX`] if it has none) plus
    /// `offset` seconds: near the edges of the tolerance.
    BodyPlus(i16),
    /// [`GOLDEN_UNIX`] plus a 32-bit offset.
    GoldenPlus(i32),
    /// Any instant at all, in seconds from the Unix epoch (one that
    /// `SystemTime` cannot hold falls back to [`GOLDEN_UNIX`]).
    Absolute(i64),
}

/// Input of `delivery`.
///
/// Layout: `[now kind: u8 (% 3)][now value: 8 bytes LE, truncated to the
/// kind's width][header count: u8 (% 17)]`, the headers ([`HeaderSpec`]),
/// then the body: the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryInput<'a> {
    /// When the delivery is checked.
    pub now: Now,
    /// The request headers, in order.
    pub headers: Vec<HeaderSpec<'a>>,
    /// The body.
    pub body: &'a [u8],
}

/// At most this many headers per input.
const MAX_HEADERS: u8 = 16;

impl<'a> DeliveryInput<'a> {
    fn head(u: &mut Unstructured<'a>) -> Result<(Now, Vec<HeaderSpec<'a>>)> {
        let kind = byte(u)? % 3;
        let value = u.arbitrary::<[u8; 8]>()?;
        let value = i64::from_le_bytes(value);
        let now = match kind {
            0 => Now::BodyPlus(value as i16),
            1 => Now::GoldenPlus(value as i32),
            _ => Now::Absolute(value),
        };
        let count = byte(u)? % (MAX_HEADERS + 1);
        let mut headers = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            headers.push(HeaderSpec::read(u)?);
        }
        Ok((now, headers))
    }

    /// The bytes that decode to `self` (with `arbitrary_take_rest`).
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let (kind, value) = match self.now {
            Now::BodyPlus(v) => (0u8, i64::from(v)),
            Now::GoldenPlus(v) => (1, i64::from(v)),
            Now::Absolute(v) => (2, v),
        };
        let mut out = vec![kind];
        out.extend_from_slice(&value.to_le_bytes());
        let count = self.headers.len().min(usize::from(MAX_HEADERS));
        out.push(count as u8);
        for header in &self.headers[..count] {
            header.write(&mut out);
        }
        out.extend_from_slice(self.body);
        out
    }
}

impl<'a> Arbitrary<'a> for DeliveryInput<'a> {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let (now, headers) = Self::head(u)?;
        let body_len = le16(u)?;
        let body = take(u, body_len);
        Ok(Self { now, headers, body })
    }

    fn arbitrary_take_rest(mut u: Unstructured<'a>) -> Result<Self> {
        let (now, headers) = Self::head(&mut u)?;
        Ok(Self {
            now,
            headers,
            body: u.take_rest(),
        })
    }
}
