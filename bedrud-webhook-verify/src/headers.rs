//! The delivery headers the check reads, from any header representation.

use http::{HeaderMap, HeaderName};

/// `X-Bedrud-Signature`: the signature header the shipped Bedrud server sends.
pub const SIGNATURE: HeaderName = HeaderName::from_static(names::SIGNATURE);
/// `X-Bedrud-Event`: the event name, equal to the body's `event`.
pub const EVENT: HeaderName = HeaderName::from_static(names::EVENT);
/// `X-Bedrud-Timestamp`: equal to the body's `timestamp`.
pub const TIMESTAMP: HeaderName = HeaderName::from_static(names::TIMESTAMP);
/// `X-Webhook-Signature`: the signature header as Bedrud's admin guide names it.
pub const WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static(names::WEBHOOK_SIGNATURE);
/// `X-Webhook-Event`: the event header as Bedrud's admin guide names it.
pub const WEBHOOK_EVENT: HeaderName = HeaderName::from_static(names::WEBHOOK_EVENT);

/// The names as text, for the constants above and the comparison below.
mod names {
    pub(super) const SIGNATURE: &str = "x-bedrud-signature";
    pub(super) const EVENT: &str = "x-bedrud-event";
    pub(super) const TIMESTAMP: &str = "x-bedrud-timestamp";
    pub(super) const WEBHOOK_SIGNATURE: &str = "x-webhook-signature";
    pub(super) const WEBHOOK_EVENT: &str = "x-webhook-event";
}

/// How often a header appeared in a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Slot<'a> {
    #[default]
    Absent,
    One(&'a [u8]),
    Many,
}

impl<'a> Slot<'a> {
    fn push(&mut self, value: &'a [u8]) {
        *self = match self {
            Slot::Absent => Slot::One(value),
            Slot::One(_) | Slot::Many => Slot::Many,
        };
    }
}

/// The values of the headers a delivery check reads, borrowed from wherever
/// the request's headers live.
///
/// Build it from an [`http::HeaderMap`] (http 1.x), or from `(name, value)`
/// byte pairs of any other representation, such as actix-web's header map or
/// a test's literal list. Names are matched without regard to case, and every
/// value of a repeated header is kept track of, so that two signatures can be
/// refused rather than one silently picked.
///
/// ```
/// use bedrud_webhook_verify::DeliveryHeaders;
///
/// let headers = DeliveryHeaders::from_pairs([
///     (&b"X-Bedrud-Signature"[..], &b"sha256=..."[..]),
///     (&b"Content-Type"[..], &b"application/json"[..]),
/// ]);
/// # let _ = headers;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DeliveryHeaders<'a> {
    pub(crate) bedrud_signature: Slot<'a>,
    pub(crate) webhook_signature: Slot<'a>,
    pub(crate) bedrud_event: Slot<'a>,
    pub(crate) webhook_event: Slot<'a>,
    pub(crate) bedrud_timestamp: Slot<'a>,
}

impl<'a> DeliveryHeaders<'a> {
    /// Reads the delivery headers out of an http 1.x [`HeaderMap`].
    #[must_use]
    pub fn from_header_map(headers: &'a HeaderMap) -> Self {
        // One pass over the headers, each name matched by its length first:
        // for the eight or so headers a delivery carries this costs a quarter
        // of five hashed look-ups of custom names (18 ns against 72 ns; see
        // BENCHMARKS.md), and a few ns more per extra header, whose number
        // the HTTP server caps. `HeaderName`s are lowercase, and a repeated
        // header yields each of its values in turn, so the slots fill exactly
        // as `get_all` would.
        let mut found = Self::default();
        for (name, value) in headers {
            let slot = match name.as_str() {
                names::SIGNATURE => &mut found.bedrud_signature,
                names::WEBHOOK_SIGNATURE => &mut found.webhook_signature,
                names::EVENT => &mut found.bedrud_event,
                names::WEBHOOK_EVENT => &mut found.webhook_event,
                names::TIMESTAMP => &mut found.bedrud_timestamp,
                _ => continue,
            };
            slot.push(value.as_bytes());
        }
        found
    }

    /// Reads the delivery headers out of `(name, value)` pairs; names are
    /// compared without regard to ASCII case, and other headers are ignored.
    #[must_use]
    pub fn from_pairs<I>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (&'a [u8], &'a [u8])>,
    {
        let mut headers = Self::default();
        for (name, value) in pairs {
            // The length picks the one or two names to compare with.
            let slot = match name.len() {
                14 if EVENT_NAME.matches(name) => &mut headers.bedrud_event,
                15 if WEBHOOK_EVENT_NAME.matches(name) => &mut headers.webhook_event,
                18 if SIGNATURE_NAME.matches(name) => &mut headers.bedrud_signature,
                18 if TIMESTAMP_NAME.matches(name) => &mut headers.bedrud_timestamp,
                19 if WEBHOOK_SIGNATURE_NAME.matches(name) => &mut headers.webhook_signature,
                _ => continue,
            };
            slot.push(value);
        }
        headers
    }
}

/// One of the header names above, laid out for a case-insensitive
/// comparison eight bytes at a time.
///
/// `actix-web` and other non-`http` maps keep names as sent, so these are
/// compared on every request, for every header; `eq_ignore_ascii_case`
/// goes a byte at a time (about 20 ns for a delivery's three headers).
/// Every name is 14 to 19 bytes of lowercase letters and `-`, so three
/// 8-byte words cover it (the last overlapping the second), and a byte
/// matches when it equals the name's byte or, where that is a letter, its
/// uppercase form: a difference in the 0x20 bit, allowed only at letters.
/// Any other byte, `\r` for `-` included, is a mismatch, exactly as with
/// `eq_ignore_ascii_case`.
struct CaseInsensitiveName {
    len: usize,
    /// Where the second word starts: 8, or `len - 8` for a name shorter
    /// than 16 bytes.
    middle: usize,
    /// The name's bytes at 0..8, middle..middle+8 and len-8..len,
    /// little-endian.
    words: [u64; 3],
    /// 0x20 in each byte of `words` that is a letter, 0 elsewhere.
    letters: [u64; 3],
}

const SIGNATURE_NAME: CaseInsensitiveName = CaseInsensitiveName::new(names::SIGNATURE);
const WEBHOOK_SIGNATURE_NAME: CaseInsensitiveName =
    CaseInsensitiveName::new(names::WEBHOOK_SIGNATURE);
const EVENT_NAME: CaseInsensitiveName = CaseInsensitiveName::new(names::EVENT);
const WEBHOOK_EVENT_NAME: CaseInsensitiveName = CaseInsensitiveName::new(names::WEBHOOK_EVENT);
const TIMESTAMP_NAME: CaseInsensitiveName = CaseInsensitiveName::new(names::TIMESTAMP);

impl CaseInsensitiveName {
    /// Lays out `name`, which must be 8 to 24 bytes of lowercase letters
    /// and `-` (the words may overlap); anything else fails to compile, as
    /// every use is a `const`.
    const fn new(name: &str) -> Self {
        let bytes = name.as_bytes();
        let len = bytes.len();
        assert!(len >= 8 && len <= 24, "names of 8 to 24 bytes");
        let middle = if len >= 16 { 8 } else { len - 8 };
        let offsets = [0, middle, len - 8];
        let mut words = [0u64; 3];
        let mut letters = [0u64; 3];
        let mut w = 0;
        while w < 3 {
            let mut i = 0;
            while i < 8 {
                let b = bytes[offsets[w] + i];
                assert!(
                    b.is_ascii_lowercase() || b == b'-',
                    "lowercase letters and '-'"
                );
                words[w] |= (b as u64) << (8 * i);
                if b.is_ascii_lowercase() {
                    letters[w] |= 0x20 << (8 * i);
                }
                i += 1;
            }
            w += 1;
        }
        Self {
            len,
            middle,
            words,
            letters,
        }
    }

    fn matches(&self, candidate: &[u8]) -> bool {
        if candidate.len() != self.len {
            return false;
        }
        let word = |at: usize| {
            candidate
                .get(at..at + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_le_bytes)
        };
        let (Some(a), Some(b), Some(c)) = (word(0), word(self.middle), word(self.len - 8)) else {
            return false;
        };
        // Differences outside the letters' 0x20 bits mean different names.
        ((a ^ self.words[0]) & !self.letters[0])
            | ((b ^ self.words[1]) & !self.letters[1])
            | ((c ^ self.words[2]) & !self.letters[2])
            == 0
    }
}

impl<'a> From<&'a HeaderMap> for DeliveryHeaders<'a> {
    fn from(headers: &'a HeaderMap) -> Self {
        Self::from_header_map(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name, in the order of `DeliveryHeaders`' slots.
    const ALL: [HeaderName; 5] = [
        SIGNATURE,
        WEBHOOK_SIGNATURE,
        EVENT,
        WEBHOOK_EVENT,
        TIMESTAMP,
    ];

    #[test]
    fn the_one_pass_finds_every_name_and_counts_repeats() {
        for (i, repeated) in ALL.iter().enumerate() {
            let mut map = HeaderMap::new();
            map.insert("content-type", "application/json".parse().unwrap());
            map.insert("content-length", "187".parse().unwrap());
            map.insert("accept-encoding", "gzip".parse().unwrap());
            for (j, name) in ALL.iter().enumerate() {
                map.append(name.clone(), format!("v{j}").parse().unwrap());
            }
            map.append(repeated.clone(), "again".parse().unwrap());
            let from_map = DeliveryHeaders::from_header_map(&map);
            let slots = [
                from_map.bedrud_signature,
                from_map.webhook_signature,
                from_map.bedrud_event,
                from_map.webhook_event,
                from_map.bedrud_timestamp,
            ];
            for (j, slot) in slots.into_iter().enumerate() {
                let value = format!("v{j}");
                let want = if i == j {
                    Slot::Many
                } else {
                    Slot::One(value.as_bytes())
                };
                assert_eq!(slot, want, "{} repeated, slot {j}", repeated.as_str());
            }
        }
    }

    proptest::proptest! {
        /// Each name is found in any case mix, and no other name is taken
        /// for one of them.
        #[test]
        fn pairs_match_names_case_insensitively_and_nothing_else(
            which in 0..5usize,
            case_mask in proptest::prelude::any::<u32>(),
            other in "[xX]-[a-zA-Z-]{0,20}",
        ) {
            let mixed: Vec<u8> = ALL[which]
                .as_str()
                .bytes()
                .enumerate()
                .map(|(i, b)| if case_mask >> (i % 32) & 1 == 1 { b.to_ascii_uppercase() } else { b })
                .collect();
            let found = DeliveryHeaders::from_pairs([(&mixed[..], &b"v"[..])]);
            let slots = [
                found.bedrud_signature,
                found.webhook_signature,
                found.bedrud_event,
                found.webhook_event,
                found.bedrud_timestamp,
            ];
            for (i, slot) in slots.into_iter().enumerate() {
                let want = if i == which { Slot::One(&b"v"[..]) } else { Slot::Absent };
                proptest::prop_assert_eq!(slot, want);
            }

            let is_ours = ALL.iter().any(|n| other.eq_ignore_ascii_case(n.as_str()));
            let found = DeliveryHeaders::from_pairs([(other.as_bytes(), &b"v"[..])]);
            let any = [
                found.bedrud_signature,
                found.webhook_signature,
                found.bedrud_event,
                found.webhook_event,
                found.bedrud_timestamp,
            ]
            .iter()
            .any(|slot| *slot != Slot::Absent);
            proptest::prop_assert_eq!(any, is_ours);
        }
    }

    /// Every name, with every byte in turn replaced by each of the 256
    /// values, matches exactly when `eq_ignore_ascii_case` says it does.
    #[test]
    fn the_word_comparison_is_eq_ignore_ascii_case_for_every_single_byte_change() {
        let compiled = [
            &SIGNATURE_NAME,
            &WEBHOOK_SIGNATURE_NAME,
            &EVENT_NAME,
            &WEBHOOK_EVENT_NAME,
            &TIMESTAMP_NAME,
        ];
        for (name, compiled) in ALL.iter().zip(compiled) {
            let name = name.as_str().as_bytes();
            assert!(compiled.matches(name));
            for at in 0..name.len() {
                for byte in 0..=255u8 {
                    let mut changed = name.to_vec();
                    changed[at] = byte;
                    assert_eq!(
                        compiled.matches(&changed),
                        changed.eq_ignore_ascii_case(name),
                        "{:?} at {at} as {byte:#04x}",
                        String::from_utf8_lossy(name),
                    );
                }
            }
            assert!(!compiled.matches(&name[1..]));
            assert!(!compiled.matches(&[name, b"x"].concat()));
        }
    }

    #[test]
    fn near_misses_are_not_delivery_headers() {
        for name in [
            "x-bedrud-signaturE_",
            "x-bedrud-timestamq",
            "x-bedrud-sxgnature",
            "x-webhook-signaturf",
            "x-bedrud-even",
            "x-webhook-evenT2",
            "y-bedrud-signature",
            // '\r' | 0x20 is '-': a difference allowed only at letters.
            "x\rbedrud-signature",
            "x-bedrud\rtimestamp",
            "",
        ] {
            let found = DeliveryHeaders::from_pairs([(name.as_bytes(), &b"v"[..])]);
            assert_eq!(found.bedrud_signature, Slot::Absent, "{name}");
            assert_eq!(found.bedrud_timestamp, Slot::Absent, "{name}");
            assert_eq!(found.webhook_signature, Slot::Absent, "{name}");
            assert_eq!(found.bedrud_event, Slot::Absent, "{name}");
            assert_eq!(found.webhook_event, Slot::Absent, "{name}");
        }
    }

    #[test]
    fn header_map_and_pairs_agree() {
        let mut map = HeaderMap::new();
        map.insert(SIGNATURE, "sha256=a".parse().unwrap());
        map.append(EVENT, "ping".parse().unwrap());
        map.append(EVENT, "ping".parse().unwrap());
        map.insert(TIMESTAMP, "t".parse().unwrap());
        let from_map = DeliveryHeaders::from_header_map(&map);
        let from_pairs = DeliveryHeaders::from_pairs([
            (&b"X-BEDRUD-SIGNATURE"[..], &b"sha256=a"[..]),
            (b"x-bedrud-event", b"ping"),
            (b"X-Bedrud-Event", b"ping"),
            (b"x-bedrud-timestamp", b"t"),
            (b"x-other", b"ignored"),
        ]);
        for h in [from_map, from_pairs] {
            assert_eq!(h.bedrud_signature, Slot::One(b"sha256=a"));
            assert_eq!(h.bedrud_event, Slot::Many);
            assert_eq!(h.bedrud_timestamp, Slot::One(b"t"));
            assert_eq!(h.webhook_signature, Slot::Absent);
            assert_eq!(h.webhook_event, Slot::Absent);
        }
    }
}
