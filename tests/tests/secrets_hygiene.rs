//! Secrets hygiene: neither a secret nor the MAC a refused body would need
//! (which would make the receiver a signing oracle) appears in a log line,
//! a `Debug` or `Display` output, or a response.
//!
//! Every tracing event of the process is captured at TRACE level (a global
//! subscriber, so actix-web's own thread is captured too) while genuine and
//! refused deliveries go through every integration and the library's entry
//! points; every response is kept and every secret-holding and error type is
//! formatted. All of it is then searched, in any case, for each secret (as
//! text, hex and a byte list) and each MAC that would make a refused body
//! genuine.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bedrud_webhook::delivery::Delivery;
use bedrud_webhook::sender::Sender;
use bedrud_webhook::{EventKind, Secret, Timestamp, Verifier, VerifyError, WebhookRejection, sign};
use bedrud_webhook_tests::{Conn, Integration, SECRET, TestServer, chunked, genuine, head, post};

/// A previous secret kept during a rotation; unlike [`SECRET`], not hex.
const PREVIOUS: &str = "Rotated-Out Secret: ünïcödé & symbols!";

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

/// Every tracing event of the process, as text; installed once.
fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
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

fn rotating() -> Verifier {
    Verifier::builder(secret(SECRET))
        .previous_secret(secret(PREVIOUS))
        .build()
}

/// What must never be shown.
struct Needles(Vec<String>);

impl Needles {
    fn new() -> Needles {
        let mut all = Vec::new();
        for s in [SECRET, PREVIOUS] {
            let hex: String = s.bytes().map(|b| format!("{b:02x}")).collect();
            all.extend([s.to_lowercase(), hex, format!("{:?}", s.as_bytes())]);
        }
        Needles(all)
    }

    /// The MACs that would make `refused` genuine, under each secret it
    /// does not already carry the right signature for.
    fn refused(&mut self, refused: &Refused) {
        let secrets: &[&str] = if refused.carries_own_mac {
            &[PREVIOUS]
        } else {
            &[SECRET, PREVIOUS]
        };
        for s in secrets {
            self.0.push(sign(&secret(s), &refused.body)[7..].to_owned());
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

struct Refused {
    name: &'static str,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
    /// Genuinely signed, refused for another reason.
    carries_own_mac: bool,
}

fn refusals(verifier: &Verifier) -> Vec<Refused> {
    let sig = |v: String| vec![("X-Bedrud-Signature", v)];
    let forged = |name, body: &[u8], headers| Refused {
        name,
        body: body.to_vec(),
        headers,
        carries_own_mac: false,
    };
    let signed = |name, body: Vec<u8>, mut extra: Vec<(&'static str, String)>| {
        let mut headers = sig(verifier.sign(&body));
        headers.append(&mut extra);
        Refused {
            name,
            body,
            headers,
            carries_own_mac: true,
        }
    };
    let (body, _) = genuine(verifier, "forged");
    let guessed = sign(&secret("guessed-secret"), &body);
    let (original, original_sig) = genuine(verifier, "tampered");
    let tampered = String::from_utf8(original)
        .unwrap()
        .replace("tampered", "tampereD");
    let (mismatched, _) = genuine(verifier, "header-mismatch");
    let two_hours_ago =
        Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() - 7200).unwrap();
    let stale = format!(r#"{{"data":{{}},"event":"stale","timestamp":"{two_hours_ago}"}}"#);
    let mut two = sig(guessed.clone());
    two.extend(sig(format!("sha256={}", "1".repeat(64))));
    vec![
        forged(
            "zero signature",
            &body,
            sig(format!("sha256={}", "0".repeat(64))),
        ),
        forged("a guessed secret", &body, sig(guessed)),
        forged("tampered body", tampered.as_bytes(), sig(original_sig)),
        forged("malformed signature", &body, sig("sha256=abc".into())),
        forged("no signature", &body, Vec::new()),
        forged("two signatures", &body, two),
        signed("stale", stale.into_bytes(), Vec::new()),
        signed(
            "unsigned header disagrees",
            mismatched,
            vec![("X-Bedrud-Event", "room.created".into())],
        ),
        signed(
            "not an envelope",
            br#"{"event":"ping"}"#.to_vec(),
            Vec::new(),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_line_or_response_of_any_integration_shows_a_secret_or_an_expected_mac() {
    let logs = logs();
    let verifier = rotating();
    let mut needles = Needles::new();
    let mut responses = String::new();
    for integration in Integration::ALL {
        // Refusal lines are rate-limited per second: give each integration a fresh second.
        next_second().await;
        let server = TestServer::start(integration, verifier.clone()).await;
        for (name, signer) in [("genuine-current", SECRET), ("genuine-previous", PREVIOUS)] {
            let (body, _) = genuine(&verifier, name);
            let signature = sign(&secret(signer), &body);
            let mut conn = Conn::connect(server.addr).await;
            conn.write(&post(
                server.addr,
                &[(b"X-Bedrud-Signature", signature.as_bytes())],
                &body,
            ))
            .await
            .unwrap();
            assert_eq!(
                conn.response().await.unwrap().status,
                204,
                "{integration}: {name}"
            );
        }
        for refused in refusals(&verifier) {
            needles.refused(&refused);
            let pairs: Vec<(&[u8], &[u8])> = refused
                .headers
                .iter()
                .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
                .collect();
            let mut conn = Conn::connect(server.addr).await;
            conn.write(&post(server.addr, &pairs, &refused.body))
                .await
                .unwrap();
            let response = conn.response().await.unwrap();
            assert!(
                matches!(response.status, 400 | 401),
                "{integration}: {}",
                refused.name
            );
            responses.push_str(&format!(
                "{integration} {}: {} {:?} {}\n",
                refused.name,
                response.status,
                response.headers,
                String::from_utf8_lossy(&response.body)
            ));
        }
        // Over the limit, chunked: 413.
        let big = vec![b' '; verifier.body_limit() + 1];
        needles.refused(&Refused {
            name: "too large",
            body: big.clone(),
            headers: Vec::new(),
            carries_own_mac: false,
        });
        let forged = format!("sha256={}", "2".repeat(64));
        let mut request = head(
            server.addr,
            bedrud_webhook_tests::WEBHOOK_PATH,
            &[
                (b"Transfer-Encoding", b"chunked"),
                (b"X-Bedrud-Signature", forged.as_bytes()),
            ],
        );
        request.extend(chunked(&[&big]));
        let over = bedrud_webhook_tests::exchange(server.addr, &request)
            .await
            .unwrap();
        assert_eq!(over.status, 413, "{integration}");
        responses.push_str(&format!(
            "{integration} too large: {:?} {}\n",
            over.headers,
            String::from_utf8_lossy(&over.body)
        ));
        server.stop().await;
    }
    // Refusals left out of the log by the rate limit are counted in the next
    // line logged: make one, so that every reason is in the text.
    next_second().await;
    let server = TestServer::start(Integration::ALL[0], verifier.clone()).await;
    let forged = sign(&secret("not-the-secret"), b"{}");
    let flush = post(
        server.addr,
        &[(b"X-Bedrud-Signature", forged.as_bytes())],
        b"{}",
    );
    assert_eq!(
        bedrud_webhook_tests::status_of(server.addr, &flush).await,
        401
    );
    server.stop().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    needles.assert_absent("a response", &responses);
    let text = logs.text();
    // The capture works: refusals were logged with their reasons, also from
    // actix-web's own thread.
    for reason in ["signature_mismatch", "timestamp_too_old", "body_too_large"] {
        assert!(text.contains(reason), "no {reason} in the log:\n{text}");
    }
    assert!(
        text.lines()
            .any(|l| l.contains("actix") && l.contains("signature_mismatch")),
        "{text}"
    );
    needles.assert_absent("the TRACE log", &text);
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_entry_points_and_every_debug_and_display_keep_key_material_hidden() {
    let logs = logs();
    let verifier = rotating();
    let mut needles = Needles::new();
    let mut shown = String::new();

    for refused in refusals(&verifier) {
        needles.refused(&refused);
        let pairs = refused.headers.iter().map(|(n, v)| (*n, v.as_bytes()));
        let error = verifier
            .verify_pairs(pairs, &refused.body)
            .and_then(|v| v.parse().map(|_| ()))
            .unwrap_err();
        let rejection = WebhookRejection::from(error);
        let response = rejection.to_response();
        shown.push_str(&format!(
            "{}: {error} | {error:?} | {error:#?} | {rejection} | {rejection:?} | {:?} {}\n",
            refused.name,
            response.headers(),
            response.body()
        ));
        if let Some((_, value)) = refused.headers.first()
            && let Err(e) = verifier.verify_signature(value.as_bytes(), &refused.body)
        {
            shown.push_str(&format!("{e} | {e:?}\n"));
        }
    }

    let builder = Verifier::builder(secret(SECRET)).previous_secret(secret(PREVIOUS));
    shown.push_str(&format!(
        "{:?} {:#?} {builder:?} {builder:#?} {verifier:?} {verifier:#?}\n",
        secret(SECRET),
        secret(PREVIOUS).clone(),
    ));
    for e in [
        VerifyError::EmptySecret,
        VerifyError::SignatureMismatch,
        VerifyError::TimestampTooOld { age_secs: 7200 },
        VerifyError::BodyTooLarge { limit: 10 },
    ] {
        shown.push_str(&format!("{e} {e:?} {}\n", WebhookRejection::from(e)));
    }
    shown.push_str(&format!("{:?}\n", Secret::new("").unwrap_err()));

    // The test helper and the sender: Debug, a request, and a failed send.
    let delivery = Delivery::sample(EventKind::Ping);
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let request: http::Request<bytes::Bytes> = delivery
        .request(&format!("http://{closed}/hook"), &secret(PREVIOUS))
        .unwrap();
    let sender = Sender::new().with_timeout(Duration::from_secs(2));
    let failed = sender.send(request).await.unwrap_err();
    shown.push_str(&format!(
        "{delivery:?} {delivery:#?} {sender:?} {failed} {failed:?}\n"
    ));

    needles.assert_absent("Debug/Display output", &shown);
    let text = logs.text();
    needles.assert_absent("the TRACE log", &text);
}

/// Sleeps until just after the next whole second of the system clock.
async fn next_second() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let left = Duration::from_secs(1) - Duration::from_nanos(u64::from(now.subsec_nanos()));
    tokio::time::sleep(left + Duration::from_millis(20)).await;
}
