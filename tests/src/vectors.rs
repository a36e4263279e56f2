//! The shared test vectors, `tests/vectors/bedrud-webhook-vectors.json`
//! (schema in `tests/vectors/README.md`): deliveries, exact bytes and header
//! pairs, with the verdict a correct receiver gives each one.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use bedrud_webhook::{Secret, Timestamp, Verifier};
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
pub struct VectorFile {
    /// `1`.
    pub format_version: u32,
    /// Current secret first, then previous ones; each key is the text's bytes.
    pub secrets: Vec<String>,
    /// The receiver's clock, RFC 3339.
    pub now: String,
    /// How far the signed timestamp may be from `now`, either way (inclusive).
    pub tolerance_seconds: u64,
    /// The largest body accepted (inclusive).
    pub body_limit_bytes: usize,
    /// The deliveries.
    pub cases: Vec<VectorCase>,
}

/// One delivery and its verdict.
#[derive(Debug, Clone, Deserialize)]
pub struct VectorCase {
    /// Unique, snake_case.
    pub name: String,
    /// Why the case gets its verdict.
    pub description: String,
    /// The verdict.
    pub expect: Expect,
    /// The secret every signature header of the case was made with, if any.
    pub secret: Option<String>,
    /// Whether body and headers are byte for byte what Bedrud sends.
    pub bedrud_exact: bool,
    /// Whether the headers cross HTTP/1.1 unchanged.
    pub http_safe: bool,
    /// `[name, value]` pairs in order; a name may repeat.
    pub headers: Vec<(String, String)>,
    /// The body, when it is UTF-8.
    pub body: Option<String>,
    /// The body in standard base64, when it is not.
    pub body_base64: Option<String>,
}

/// The verdict a correct receiver gives a case.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Expect {
    /// 200 (any 2xx), 401, 400 or 413.
    pub status: u16,
    /// `accepted` or `rejected`.
    pub verdict: String,
    /// The verifier's `reason()`, or `invalid_data`; `None` when accepted.
    pub reason: Option<String>,
    /// The event the handler is handed, when accepted.
    pub event: Option<String>,
}

impl Expect {
    /// Whether the receiver must accept the delivery.
    #[must_use]
    pub fn is_accepted(&self) -> bool {
        self.verdict == "accepted"
    }
}

impl VectorFile {
    /// The pinned clock.
    #[must_use]
    pub fn now(&self) -> SystemTime {
        Timestamp::parse(&self.now).unwrap().to_system_time()
    }

    /// A verifier configured as the file says, its clock pinned to `now`.
    #[must_use]
    pub fn verifier(&self) -> Verifier {
        let now = self.now();
        let mut builder = Verifier::builder(Secret::new(self.secrets[0].as_str()).unwrap())
            .tolerance(Duration::from_secs(self.tolerance_seconds))
            .body_limit(self.body_limit_bytes)
            .clock(move || now);
        for previous in &self.secrets[1..] {
            builder = builder.previous_secret(Secret::new(previous.as_str()).unwrap());
        }
        builder.build()
    }

    /// The case called `name`.
    #[must_use]
    pub fn case(&self, name: &str) -> &VectorCase {
        self.cases
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no case {name}"))
    }
}

impl VectorCase {
    /// The exact body bytes.
    #[must_use]
    pub fn body_bytes(&self) -> Vec<u8> {
        match (&self.body, &self.body_base64) {
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap(),
            _ => panic!("{}: exactly one of body and body_base64", self.name),
        }
    }

    /// The headers as the verifier's `verify_pairs` and the raw client take them.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes()))
    }

    /// The values of every header called `name` (any case), in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Where the file lives.
#[must_use]
pub fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors/bedrud-webhook-vectors.json")
}

/// Reads the file.
#[must_use]
pub fn load() -> VectorFile {
    let file: VectorFile = serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap();
    assert_eq!(file.format_version, 1);
    file
}
