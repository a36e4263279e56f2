//! Secrets hygiene: neither a secret nor the MAC the verifier expected for a
//! forged body (the correct `sha256=` value, which would make the receiver a
//! signing oracle) ever appears in a log line, a `Debug` or `Display`
//! output, or a response.
//!
//! Every tracing event of the process is captured at TRACE level (a global
//! `tracing-subscriber` writing into a shared buffer, so the servers' own
//! threads are captured too) while genuine and forged deliveries go through
//! every integration and through the framework-free library paths; every
//! response (status line, headers, body) is kept, and every `Debug` and
//! `Display` of the secret-holding and error types is formatted. All of it
//! is then searched, without regard to case, for each secret (as text, as
//! hex, and as a byte list) and for the correct MAC of each forged body
//! under each configured secret.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bedrud_webhook::sender::{Delivery, Sender};
use bedrud_webhook::verify::{Error, SecretError};
use bedrud_webhook::{
    DeliveryHeaders, Envelope, Event, Secret, Timestamp, UnknownEvent, VerifiedBody, Verifier,
    Webhook, WebhookRejection,
};
use bedrud_webhook_tests::adversary::{Conn, genuine, post};
use bedrud_webhook_tests::{Integration, SECRET, TestServer};

/// A previous secret, accepted during a rotation; unlike [`SECRET`], not hex.
const PREVIOUS: &str = "Rotated-Out Secret: ünïcödé & symbols!";

/// Every tracing event of the process, as plain text.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Installs the capturing subscriber for the whole process, once.
fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
            .with_ansi(false)
            .with_thread_names(true)
            .with_writer(move || writer.clone())
            .init();
        captured
    })
}

fn secret(text: &str) -> Secret {
    Secret::new(text).unwrap()
}

fn rotating_verifier() -> Verifier {
    Verifier::builder(secret(SECRET))
        .previous_secret(secret(PREVIOUS))
        .build()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What must never be shown: each secret in three spellings, and the MAC
/// each secret gives every forged body.
struct Needles(Vec<String>);

impl Needles {
    fn new() -> Self {
        let mut all = Vec::new();
        for s in [SECRET, PREVIOUS] {
            all.push(s.to_lowercase());
            all.push(hex(s.as_bytes()));
            all.push(format!("{:?}", s.as_bytes()));
        }
        Self(all)
    }

    /// Records the MACs that would make `body` genuine: under both secrets
    /// for a forgery; for a body sent with its own correct signature (signed
    /// but refused for another reason), only under the other secret, since
    /// the request itself carries the current one.
    fn refused_body(&mut self, refused: &Refused) {
        let secrets: &[&str] = if refused.carries_own_mac {
            &[PREVIOUS]
        } else {
            &[SECRET, PREVIOUS]
        };
        for s in secrets {
            let mac = bedrud_webhook::verify::sign(&secret(s), &refused.body);
            self.0.push(mac[7..].to_lowercase());
        }
    }

    fn assert_absent(&self, what: &str, text: &str) {
        let haystack = text.to_lowercase();
        for needle in &self.0 {
            assert!(
                !haystack.contains(needle.as_str()),
                "{what} shows {needle:?}:\n{text}"
            );
        }
    }
}

/// A request that must be refused.
struct Refused {
    name: &'static str,
    body: Vec<u8>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// Whether the request carries the body's correct signature (genuinely
    /// signed, refused for another reason).
    carries_own_mac: bool,
}

/// The refused requests every integration and library path is given.
fn refusals(verifier: &Verifier) -> Vec<Refused> {
    let sig = |v: &str| vec![(b"X-Bedrud-Signature".to_vec(), v.as_bytes().to_vec())];
    let forged = |name, body: &[u8], headers| Refused {
        name,
        body: body.to_vec(),
        headers,
        carries_own_mac: false,
    };
    let signed = |name, body: Vec<u8>, mut extra: Vec<(Vec<u8>, Vec<u8>)>| {
        let mut headers = sig(&verifier.sign(&body));
        headers.append(&mut extra);
        Refused {
            name,
            body,
            headers,
            carries_own_mac: true,
        }
    };
    let (body, _) = genuine(verifier, "forged");
    let guessed = bedrud_webhook::verify::sign(&secret("guessed-secret"), &body);
    let (original, original_sig) = genuine(verifier, "tampered");
    let tampered = String::from_utf8(original)
        .unwrap()
        .replace("tampered", "tampereD")
        .into_bytes();
    let (mismatched, _) = genuine(verifier, "header-mismatch");
    let stale = Envelope::new(
        Event::Unknown(UnknownEvent::new("stale", serde_json::Map::new())),
        Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() - 7200).unwrap(),
    )
    .to_bedrud_json();
    let mut two = sig(&guessed);
    two.extend(sig(&format!("sha256={}", "1".repeat(64))));
    vec![
        forged(
            "zero signature",
            &body,
            sig(&format!("sha256={}", "0".repeat(64))),
        ),
        forged("signed with a guessed secret", &body, sig(&guessed)),
        forged(
            "genuine signature, tampered body",
            &tampered,
            sig(&original_sig),
        ),
        forged("malformed signature", &body, sig("sha256=abc")),
        forged(
            "sha1 signature",
            &body,
            sig("sha1=da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ),
        forged("no signature", &body, Vec::new()),
        forged("two signatures", &body, two),
        signed("stale (signed two hours ago)", stale, Vec::new()),
        signed(
            "unsigned header disagrees",
            mismatched,
            vec![(b"X-Bedrud-Event".to_vec(), b"room.created".to_vec())],
        ),
        signed(
            "signed, not an envelope",
            br#"{"event":"ping"}"#.to_vec(),
            Vec::new(),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_line_or_response_of_any_integration_shows_a_secret_or_an_expected_mac() {
    let logs = logs();
    let verifier = rotating_verifier();
    let mut needles = Needles::new();
    let mut responses = String::new();
    for integration in Integration::ALL {
        let server = TestServer::start(integration, verifier.clone())
            .await
            .unwrap();
        // Genuine deliveries, current and previous secret: accepted.
        for (name, signer) in [("genuine-current", SECRET), ("genuine-previous", PREVIOUS)] {
            let (body, _) = genuine(&verifier, name);
            let signature = bedrud_webhook::verify::sign(&secret(signer), &body);
            let mut conn = Conn::connect(server.addr).await.unwrap();
            conn.write(&post(
                server.addr,
                &[(b"X-Bedrud-Signature", signature.as_bytes())],
                &body,
            ))
            .await
            .unwrap();
            let response = conn.response().await.unwrap().unwrap();
            assert_eq!(response.status, 204, "{integration}: {name}");
        }
        // Forgeries and refusals.
        for refused in refusals(&verifier) {
            needles.refused_body(&refused);
            let name = refused.name;
            let pairs: Vec<(&[u8], &[u8])> = refused
                .headers
                .iter()
                .map(|(n, v)| (n.as_slice(), v.as_slice()))
                .collect();
            let mut conn = Conn::connect(server.addr).await.unwrap();
            conn.write(&post(server.addr, &pairs, &refused.body))
                .await
                .unwrap();
            let response = conn.response().await.unwrap().unwrap();
            assert!(
                matches!(response.status, 400 | 401),
                "{integration}: {name}: {}",
                response.status
            );
            responses.push_str(&format!(
                "{integration} {name}: {} {:?} {}\n",
                response.status,
                response.headers,
                String::from_utf8_lossy(&response.body)
            ));
        }
        // Over the limit, chunked: 413 after reading the limit.
        let big = vec![b' '; verifier.body_limit() + 1];
        needles.refused_body(&Refused {
            name: "too large",
            body: big.clone(),
            headers: Vec::new(),
            carries_own_mac: false,
        });
        let over = bedrud_webhook_tests::send_raw_and_read(
            server.addr,
            &bedrud_webhook_tests::RawRequest {
                headers: vec![(
                    "X-Bedrud-Signature".into(),
                    format!("sha256={}", "2".repeat(64)),
                )],
                chunks: vec![bytes::Bytes::from(big)],
                framing: bedrud_webhook_tests::Framing::Chunked,
            },
        )
        .await
        .unwrap();
        assert_eq!(over.status, 413, "{integration}");
        responses.push_str(&format!(
            "{integration} too large: {:?} {}\n",
            over.headers,
            String::from_utf8_lossy(&over.body)
        ));
        server.stop().await.unwrap();
    }
    // Let the servers' threads finish writing their last events.
    tokio::time::sleep(Duration::from_millis(100)).await;
    needles.assert_absent("a response", &responses);
    let text = logs.text();
    // The capture works: the refusals were logged, with their reasons.
    assert!(text.contains("webhook delivery refused"), "{text}");
    assert!(text.contains("signature_mismatch"), "{text}");
    assert!(text.contains("body_too_large"), "{text}");
    // ...also from actix-web's own server thread, not only Tokio's workers.
    assert!(
        text.lines()
            .any(|l| l.contains("actix") && l.contains("webhook delivery refused")),
        "{text}"
    );
    needles.assert_absent("the TRACE log", &text);
    // Each response body names the reason and nothing else.
    assert!(responses.contains("signature mismatch"), "{responses}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_paths_and_every_debug_and_display_keep_key_material_hidden() {
    let logs = logs();
    let verifier = rotating_verifier();
    let mut needles = Needles::new();
    let mut shown = String::new();

    // The framework-free entry points, with each refused request.
    for refused in refusals(&verifier) {
        needles.refused_body(&refused);
        let (name, body) = (refused.name, &refused.body);
        let pairs = DeliveryHeaders::from_pairs(
            refused
                .headers
                .iter()
                .map(|(n, v)| (n.as_slice(), v.as_slice())),
        );
        let typed = Webhook::verify(&verifier, &pairs, body.clone()).unwrap_err();
        let raw = VerifiedBody::verify(&verifier, &pairs, body.clone()).unwrap_err();
        let direct = verifier.verify_headers(&pairs, body).unwrap_err();
        for rejection in [&typed, &raw] {
            shown.push_str(&format!(
                "{name}: {rejection} | {rejection:?} | {rejection:#?} | {} | {} | {:?}\n",
                rejection.status(),
                rejection.reason(),
                std::error::Error::source(rejection),
            ));
        }
        let response: http::Response<String> = typed.into();
        shown.push_str(&format!(
            "{:?} {} | {direct} | {direct:?} | {direct:#?}\n",
            response.headers(),
            response.body(),
        ));
        // The signature alone, as "verify now, parse later" checks it.
        if let Some((_, value)) = refused.headers.first()
            && let Err(e) = verifier.verify_signature(value, body)
        {
            shown.push_str(&format!("{e} | {e:?}\n"));
        }
    }

    // Every type that holds or is built from a secret.
    let builder = Verifier::builder(secret(SECRET)).previous_secret(secret(PREVIOUS));
    shown.push_str(&format!(
        "{:?} {:#?} {:?} {:#?} {builder:?} {builder:#?} {verifier:?} {verifier:#?}\n",
        secret(SECRET),
        secret(PREVIOUS),
        Secret::generate().unwrap(),
        secret(PREVIOUS).clone(),
    ));
    for e in [SecretError::Empty, SecretError::RandomnessUnavailable] {
        shown.push_str(&format!("{e} {e:?}\n"));
    }
    for e in [
        Error::SignatureMismatch,
        Error::MissingSignature,
        Error::TimestampTooOld {
            age_secs: 7200,
            tolerance_secs: 300,
        },
        Error::BodyTooLarge { limit: 10 },
    ] {
        shown.push_str(&format!(
            "{e} {e:?} {}\n",
            WebhookRejection::from(e.clone())
        ));
    }

    // The reference sender: its Debug, a request's Debug, and a failed send.
    let envelope = Envelope::new(Event::Ping, Timestamp::now());
    let delivery = Delivery::new(&envelope);
    let sender = Sender::new().with_timeout(Duration::from_secs(2));
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let request = delivery
        .request(&format!("http://{closed}/hook"), &secret(SECRET))
        .unwrap();
    let failed = sender.send(request).await.unwrap_err();
    shown.push_str(&format!(
        "{delivery:?} {delivery:#?} {sender:?} {failed} {failed:?}\n"
    ));

    needles.assert_absent("Debug/Display output", &shown);
    let text = logs.text();
    assert!(text.contains("webhook delivery refused"), "{text}");
    needles.assert_absent("the TRACE log", &text);
}
