//! Writes the seed corpus of every fuzz target, from the wire page's golden
//! vectors, a few hand-picked edge cases, and the shared test vectors
//! (`tests/vectors/*.json`) when they exist.
//!
//! `cargo run --example seed_corpus -- <corpus dir> [<vectors dir>]`
//!
//! Each seed is encoded with the input structure's `encode` and decoded back
//! before it is written, so a seed always means what it says.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bedrud_webhook_fuzz::{
    DeliveryInput, HeaderSpec, NameKind, Now, SECRET, SignatureInput, Spelling, ValueKind,
};

/// The wire page's golden vectors: body and signature, secret [`SECRET`].
const GOLDEN: [(&str, &str); 3] = [
    (
        r#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#,
        "sha256=4a8a28e49e3e197b6aa2b626b4226a7131bae2bee66c980a640f1b6401a7469a",
    ),
    (
        r#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#,
        "sha256=5f16939ad45069b2126b88cd3cf1736bc6cd112fc47c6ee8b14874876644b572",
    ),
    (
        r#"{"data":{"roomId":"r1","roomName":"\u003cb\u003eQ\u0026A\u003c/b\u003e — café 🎥 \u2028","userId":"u1"},"event":"room.created","timestamp":"2026-04-01T12:34:56Z"}"#,
        "sha256=b8a0d661a77397cb6b13ba923aa7f2200538f60b58d749223b86ba1e115efed1",
    ),
];

/// Bodies beyond the golden ones: every event shape of the wire page, and
/// edges of the timestamp, the escapes and the numbers.
const EXTRA_BODIES: &[&str] = &[
    r#"{"data":{"roomId":"r1","roomName":"n","userId":"g-42"},"event":"participant.joined","timestamp":"2026-04-01T12:34:56Z"}"#,
    r#"{"data":{"roomId":"r1","roomName":"n","userId":"u1"},"event":"participant.left","timestamp":"2026-04-01T12:34:56Z"}"#,
    r#"{"data":{"durationMs":3600000,"fileSizeBytes":9007199254740993,"fileURL":"https://x/r.mp4?a=1\u0026b=2","recordingId":"rec1","roomId":"r1","roomName":"n","status":"completed"},"event":"recording.completed","timestamp":"2026-04-01T12:34:56Z"}"#,
    r#"{"data":{"durationMs":1e+21,"fileSizeBytes":123456789012345680000,"fileURL":"","recordingId":"","roomId":"","roomName":"","status":"deleting"},"event":"recording.completed","timestamp":"2026-04-01T12:34:56Z"}"#,
    r#"{"data":{"new":[1,2.5,-0,true,null,{"a":"\b\f\n\r\t\u0000\u001f\"\\"}]},"event":"future.event","timestamp":"2026-04-01T12:34:56Z"}"#,
    r#"{"data":{},"event":"ping","timestamp":"9999-12-31T23:59:59Z"}"#,
    r#"{"data":{},"event":"ping","timestamp":"9999-12-31T23:59:59+01:00"}"#,
    r#"{"data":{},"event":"ping","timestamp":"0000-01-01T00:00:00Z"}"#,
    r#"{"data":{},"event":"ping","timestamp":"0000-01-01T00:00:00-01:00"}"#,
    // Regressions: UTC outside the years 0000-9999 (tests/fuzz_regressions.rs).
    r#"{"data":{},"event":"ping","timestamp":"9999-12-31T23:59:59-00:01"}"#,
    r#"{"data":{},"event":"ping","timestamp":"0000-01-01T00:00:00+00:01"}"#,
    r#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56.123456789+14:00"}"#,
    r#"{"data":{},"event":"ping","timestamp":"2016-12-31T23:59:60Z"}"#,
    r#"{"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#,
    r#"{"data":null,"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#,
    r#"{"data":{},"event":"p\u0069ng","timestamp":"2026-04-01T12:34:56Z","v":2}"#,
    r#"{"data":{},"event":"ping","event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#,
    r#" {"data" : {} , "event":"ping","timestamp":"2026-04-01T12:34:56Z"} "#,
    r#"[]"#,
    "",
];

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join(name), bytes)
}

fn checked<'a, T>(value: &T, bytes: &'a [u8])
where
    T: Arbitrary<'a> + PartialEq + std::fmt::Debug,
{
    let decoded = T::arbitrary_take_rest(Unstructured::new(bytes));
    assert_eq!(
        decoded.as_ref().ok(),
        Some(value),
        "encoder and decoder disagree"
    );
}

/// Every string in the shared vector files that looks like a body, a
/// signature or a secret. The files' schema belongs to another crate, so this
/// reads them loosely: any string field anywhere.
fn from_vectors(dir: &Path) -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
    let (mut bodies, mut signatures, mut secrets) = Default::default();
    let Ok(entries) = fs::read_dir(dir) else {
        return (bodies, signatures, secrets);
    };
    fn walk(
        key: &str,
        v: &serde_json::Value,
        out: (
            &mut BTreeSet<String>,
            &mut BTreeSet<String>,
            &mut BTreeSet<String>,
        ),
    ) {
        match v {
            serde_json::Value::String(s) => {
                if s.starts_with('{') || key.contains("body") {
                    out.0.insert(s.clone());
                } else if s.starts_with("sha256=") || key.contains("signature") {
                    out.1.insert(s.clone());
                } else if key.contains("secret") && !s.is_empty() && s.len() <= 255 {
                    out.2.insert(s.clone());
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    walk(key, item, (&mut *out.0, &mut *out.1, &mut *out.2));
                }
            }
            serde_json::Value::Object(map) => {
                for (k, item) in map {
                    walk(
                        &k.to_ascii_lowercase(),
                        item,
                        (&mut *out.0, &mut *out.1, &mut *out.2),
                    );
                }
            }
            _ => {}
        }
    }
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
            eprintln!("seed_corpus: {} is not JSON; skipped", path.display());
            continue;
        };
        walk("", &json, (&mut bodies, &mut signatures, &mut secrets));
    }
    (bodies, signatures, secrets)
}

/// One case of the shared vectors, as bytes: headers, body, and `now`.
struct Case {
    name: String,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
    now: i64,
}

/// The cases of `tests/vectors/*.json` files that follow its schema
/// (`tests/vectors/README.md`); files that do not are skipped.
fn cases_from_vectors(dir: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let Some(json) = fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        else {
            continue;
        };
        let now = json["now"]
            .as_str()
            .and_then(|t| bedrud_webhook_types::Timestamp::parse(t).ok())
            .map_or(bedrud_webhook_fuzz::GOLDEN_UNIX, |t| t.unix_seconds());
        let Some(cases) = json["cases"].as_array() else {
            continue;
        };
        for case in cases {
            let body = match (case["body"].as_str(), case["body_base64"].as_str()) {
                (Some(text), _) => text.as_bytes().to_vec(),
                (None, Some(b64)) => match BASE64.decode(b64) {
                    Ok(bytes) => bytes,
                    Err(_) => continue,
                },
                _ => continue,
            };
            let headers = case["headers"]
                .as_array()
                .map(|pairs| {
                    pairs
                        .iter()
                        .filter_map(|pair| {
                            let name = pair.get(0)?.as_str()?;
                            let value = pair.get(1)?.as_str()?;
                            Some((name.as_bytes().to_vec(), value.as_bytes().to_vec()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(Case {
                name: case["name"].as_str().unwrap_or("case").to_owned(),
                headers,
                body,
                now,
            });
        }
    }
    out
}

/// A header of a vector case: a known name keeps its kind (so the fuzzer can
/// mutate it structurally), its value stays the case's exact bytes.
fn spec_for<'a>(name: &'a [u8], value: &'a [u8]) -> HeaderSpec<'a> {
    let known = [
        (NameKind::BedrudSignature, &b"X-Bedrud-Signature"[..]),
        (NameKind::WebhookSignature, b"X-Webhook-Signature"),
        (NameKind::BedrudEvent, b"X-Bedrud-Event"),
        (NameKind::WebhookEvent, b"X-Webhook-Event"),
        (NameKind::BedrudTimestamp, b"X-Bedrud-Timestamp"),
        (NameKind::ContentType, b"Content-Type"),
    ];
    for (kind, canonical) in known {
        let spelling = if name == canonical {
            Spelling::Canonical
        } else if name == canonical.to_ascii_lowercase() {
            Spelling::Lower
        } else if name == canonical.to_ascii_uppercase() {
            Spelling::Upper
        } else {
            continue;
        };
        return HeaderSpec {
            name: kind,
            spelling,
            value: ValueKind::Raw(value),
        };
    }
    HeaderSpec {
        name: NameKind::Other(name),
        spelling: Spelling::Canonical,
        value: ValueKind::Raw(value),
    }
}

fn header(name: NameKind<'static>, value: ValueKind<'static>) -> HeaderSpec<'static> {
    HeaderSpec {
        name,
        spelling: Spelling::Canonical,
        value,
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let corpus = PathBuf::from(args.next().unwrap_or_else(|| "corpus".into()));
    let vectors = PathBuf::from(args.next().unwrap_or_else(|| "../tests/vectors".into()));

    let (vector_bodies, vector_signatures, vector_secrets) = from_vectors(&vectors);
    let mut bodies: Vec<String> = GOLDEN.iter().map(|(b, _)| (*b).to_owned()).collect();
    bodies.extend(EXTRA_BODIES.iter().map(|b| (*b).to_owned()));
    bodies.extend(vector_bodies.iter().cloned());
    let mut signatures: Vec<String> = GOLDEN.iter().map(|(_, s)| (*s).to_owned()).collect();
    signatures.extend(vector_signatures.iter().cloned());
    let golden_sig = GOLDEN[0].1;
    for odd in [
        String::new(),
        golden_sig.to_ascii_uppercase(),
        format!("sha256={}", golden_sig[7..].to_ascii_uppercase()),
        golden_sig[7..].to_owned(),
        golden_sig[..golden_sig.len() - 1].to_owned(),
        format!("{golden_sig}0"),
        format!(" {golden_sig}"),
        format!("{golden_sig}\0"),
        format!("sha256={}", "g".repeat(64)),
        format!("sha256={}", "é".repeat(32)),
        "sha1=da39a3ee5e6b4b0d3255bfef95601890afd80709".to_owned(),
        format!("sha512={}", "a".repeat(128)),
        "sha256=".to_owned(),
        format!("{golden_sig},{golden_sig}"),
    ] {
        signatures.push(odd);
    }
    // " does not": a secret that the fixed error texts contain, which once
    // tripped a too-naive check of the harness.
    let mut secrets = vec![
        SECRET.to_owned(),
        String::new(),
        "k".to_owned(),
        " does not".to_owned(),
    ];
    secrets.extend(vector_secrets.iter().cloned());

    // signature_header: each body with its signature, and every odd header.
    let dir = corpus.join("signature_header");
    let mut n = 0;
    for (i, (body, sig)) in GOLDEN.iter().enumerate() {
        let input = SignatureInput {
            secret: SECRET.as_bytes(),
            body: body.as_bytes(),
            header: sig.as_bytes(),
        };
        let bytes = input.encode();
        checked(&input, &bytes);
        write(&dir, &format!("golden-{i}"), &bytes)?;
        n += 1;
    }
    for (i, sig) in signatures.iter().enumerate() {
        for (j, secret) in secrets.iter().enumerate() {
            let input = SignatureInput {
                secret: secret.as_bytes(),
                body: GOLDEN[i % GOLDEN.len()].0.as_bytes(),
                header: sig.as_bytes(),
            };
            let bytes = input.encode();
            checked(&input, &bytes);
            write(&dir, &format!("header-{i}-secret-{j}"), &bytes)?;
            n += 1;
        }
    }
    println!("signature_header: {n} seeds");

    // delivery: each body, genuinely signed, with the headers Bedrud sends,
    // and the variations a receiver meets.
    let dir = corpus.join("delivery");
    let content_type = header(NameKind::ContentType, ValueKind::Raw(b"application/json"));
    let bedrud = vec![
        header(NameKind::BedrudSignature, ValueKind::Genuine),
        header(NameKind::BedrudEvent, ValueKind::BodyEvent),
        header(NameKind::BedrudTimestamp, ValueKind::BodyTimestamp),
        content_type,
    ];
    let guide = vec![
        HeaderSpec {
            spelling: Spelling::Lower,
            ..header(NameKind::WebhookSignature, ValueKind::GenuinePrevious)
        },
        header(NameKind::WebhookEvent, ValueKind::BodyEvent),
    ];
    let forged = vec![
        header(
            NameKind::BedrudSignature,
            ValueKind::Raw(GOLDEN[1].1.as_bytes()),
        ),
        header(
            NameKind::Other(b"User-Agent"),
            ValueKind::Raw(b"Go-http-client/1.1"),
        ),
    ];
    let twice = vec![
        header(NameKind::BedrudSignature, ValueKind::Genuine),
        HeaderSpec {
            spelling: Spelling::Upper,
            ..header(NameKind::BedrudSignature, ValueKind::GenuineUpper)
        },
    ];
    let mismatched = vec![
        header(NameKind::WebhookSignature, ValueKind::Genuine),
        header(NameKind::BedrudEvent, ValueKind::Raw(b"room.created")),
        header(
            NameKind::BedrudTimestamp,
            ValueKind::Raw(b"2026-04-01T12:34:57Z"),
        ),
    ];
    let variants: [(&str, &[HeaderSpec<'_>], Now); 7] = [
        ("bedrud", &bedrud, Now::BodyPlus(0)),
        ("guide", &guide, Now::BodyPlus(-300)),
        ("stale", &bedrud, Now::BodyPlus(301)),
        ("future", &bedrud, Now::GoldenPlus(-301)),
        ("forged", &forged, Now::BodyPlus(0)),
        ("twice", &twice, Now::Absolute(i64::MIN)),
        ("mismatched", &mismatched, Now::Absolute(0)),
    ];
    let mut n = 0;
    for (i, body) in bodies.iter().enumerate() {
        for (name, headers, now) in &variants {
            let input = DeliveryInput {
                now: *now,
                headers: headers.to_vec(),
                body: body.as_bytes(),
            };
            let bytes = input.encode();
            checked(&input, &bytes);
            write(&dir, &format!("body-{i}-{name}"), &bytes)?;
            n += 1;
        }
    }
    for (i, case) in cases_from_vectors(&vectors).iter().enumerate() {
        let input = DeliveryInput {
            now: Now::GoldenPlus(
                i32::try_from(case.now - bedrud_webhook_fuzz::GOLDEN_UNIX).unwrap_or(0),
            ),
            headers: case.headers.iter().map(|(n, v)| spec_for(n, v)).collect(),
            body: &case.body,
        };
        let bytes = input.encode();
        checked(&input, &bytes);
        write(&dir, &format!("vector-{i:03}-{}", case.name), &bytes)?;
        n += 1;
    }
    println!("delivery: {n} seeds");

    // envelope: the bodies themselves.
    let dir = corpus.join("envelope");
    for (i, body) in bodies.iter().enumerate() {
        write(&dir, &format!("body-{i}"), body.as_bytes())?;
    }
    println!("envelope: {} seeds", bodies.len());
    println!(
        "from {}: {} bodies, {} signatures, {} secrets",
        vectors.display(),
        vector_bodies.len(),
        vector_signatures.len(),
        vector_secrets.len()
    );
    Ok(())
}
