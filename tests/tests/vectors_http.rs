//! The shared test vectors, over real HTTP on loopback, against every
//! integration (axum, actix-web, tower on plain hyper).
//!
//! Each server's `Verifier` is the one the vectors file describes (its
//! secrets, tolerance and body limit, and its clock pinned to the file's
//! `now`), and every `http_safe` case is sent exactly as the file gives it:
//! its header pairs in order and its body bytes. Most go through the
//! reference sender; the few whose headers it would not send byte for byte
//! (it writes header names in Go's canonical case) through the harness's
//! raw client. For every case and every integration:
//!
//! - the status is `expect.status` (200 standing for any 2xx);
//! - the handler ran exactly for the accepted cases, and was handed the
//!   expected event;
//! - a rejection's body is one non-empty line of plain text that names the
//!   case's reason and contains neither a secret nor the MAC the receiver
//!   expected.

// Test code: a failed unwrap or expect is a failed test, which is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Duration;

use bedrud_webhook::sender::Sender;
use bedrud_webhook::verify::{Secret, sign};
use bedrud_webhook_tests::vectors::{self, VectorCase, VectorFile};
use bedrud_webhook_tests::{Framing, Integration, RawRequest, TestServer, send_raw_and_read};
use bytes::Bytes;

/// How much of a response body is read: a rejection is one short line.
const READ_LIMIT: usize = 4096;

/// The words a rejection's body must contain, for each `expect.reason` of
/// the file: the start of the verifier's (or the integrations') message.
fn wording(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "missing_signature" => "missing signature",
        "duplicate_signature" => "duplicated signature",
        "malformed_signature" => "malformed signature",
        "signature_mismatch" => "signature mismatch",
        "timestamp_too_old" => "stale delivery",
        "timestamp_too_new" => "delivery from the future",
        "header_mismatch" => "header mismatch",
        "body_too_large" => "body too large",
        "not_json_object" => "not a JSON object",
        "missing_event" => "no \"event\" field",
        "missing_timestamp" => "no \"timestamp\" field",
        "invalid_envelope" => "has the wrong type",
        "invalid_timestamp" => "not an RFC 3339 date-time",
        "invalid_data" => "invalid payload",
        _ => return None,
    })
}

/// A header name as the reference sender writes it: Go's canonical form,
/// each dash-separated word capitalised (hyper's title case).
fn canonical(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    out
}

/// Whether the reference sender puts the case's headers on the wire
/// exactly as the file gives them.
fn sender_sends_exactly(case: &VectorCase) -> bool {
    case.headers
        .iter()
        .all(|(name, _)| *name == canonical(name))
}

/// How the server answered one case.
struct Answer {
    status: u16,
    /// `None` when the sender path (which does not report headers) was used.
    content_type: Option<String>,
    body: Bytes,
    via_raw: bool,
}

async fn send(server: &TestServer, case: &VectorCase) -> anyhow::Result<Answer> {
    let body = Bytes::from(case.body_bytes()?);
    if sender_sends_exactly(case) {
        let mut request = http::Request::post(&server.url);
        for (name, value) in &case.headers {
            // `header` appends: a repeated name stays repeated.
            request = request.header(name.as_str(), value.as_str());
        }
        // A fresh sender for each case, so that a connection a rejection
        // closed is never reused for the next one.
        let (report, text) = Sender::new()
            .with_timeout(Duration::from_secs(10))
            .send_and_read(request.body(body)?, READ_LIMIT)
            .await?;
        Ok(Answer {
            status: report.status.as_u16(),
            content_type: None,
            body: text,
            via_raw: false,
        })
    } else {
        let request = RawRequest {
            headers: case.headers.clone(),
            chunks: vec![body],
            framing: Framing::ContentLength,
        };
        let response = send_raw_and_read(server.addr, &request).await?;
        Ok(Answer {
            status: response.status,
            content_type: response.header("content-type").map(str::to_owned),
            body: response.body,
            via_raw: true,
        })
    }
}

/// What is wrong with `answer` to `case` (nothing, when the list is empty),
/// given the events the handler was handed while the case was answered; and
/// whether a rejection's body named its reason.
fn check(
    file: &VectorFile,
    case: &VectorCase,
    answer: &Answer,
    handed: &[String],
) -> (Vec<String>, bool) {
    let mut problems = Vec::new();
    let expect = &case.expect;
    let status_ok = if expect.is_accepted() {
        (200..300).contains(&answer.status)
    } else {
        answer.status == expect.status
    };
    if !status_ok {
        problems.push(format!(
            "status {}, expected {}",
            answer.status, expect.status
        ));
    }

    // The handler ran once for an accepted case, with its event; never for
    // a rejected one.
    let want: Vec<String> = expect.event.iter().cloned().collect();
    if handed != want {
        problems.push(format!(
            "the handler was handed {handed:?}, expected {want:?}"
        ));
    }

    let mut worded = false;
    if !expect.is_accepted() {
        let text = String::from_utf8_lossy(&answer.body);
        let line = text.strip_suffix('\n').unwrap_or(&text);
        if std::str::from_utf8(&answer.body).is_err()
            || line.trim().is_empty()
            || line.chars().any(char::is_control)
        {
            problems.push(format!("the body is not one line of text: {text:?}"));
        }
        if let Some(content_type) = &answer.content_type
            && !content_type.starts_with("text/plain")
        {
            problems.push(format!("Content-Type {content_type:?}, not plain text"));
        }
        let body = case.body_bytes().unwrap();
        let lowered = text.to_ascii_lowercase();
        for secret in file.secrets.iter().chain(&case.secret) {
            let mac = sign(&Secret::new(secret.as_str()).unwrap(), &body);
            let digits = &mac["sha256=".len()..];
            if text.contains(secret.as_str()) || lowered.contains(digits) {
                problems.push(format!("the body leaks a secret or its MAC: {text:?}"));
            }
        }
        let reason = expect.reason.as_deref().unwrap_or_default();
        match wording(reason) {
            Some(words) if text.contains(words) => worded = true,
            Some(words) => problems.push(format!(
                "the body {text:?} does not say {words:?} (reason {reason})"
            )),
            // A reason this test does not know yet: the checks above are
            // all that can be asked.
            None => {}
        }
    }
    (problems, worded)
}

#[derive(Default)]
struct Tally {
    ok: usize,
    accepted: usize,
    rejected: usize,
    worded: usize,
    via_raw: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_http_safe_vector_gets_its_verdict_from_every_integration() {
    let file = vectors::load().unwrap();
    let cases: Vec<&VectorCase> = file.cases.iter().filter(|c| c.http_safe).collect();
    let skipped = file.cases.len() - cases.len();
    assert!(cases.len() >= 40, "only {} http_safe cases", cases.len());
    for case in &cases {
        if let Some(reason) = &case.expect.reason {
            assert!(
                wording(reason).is_some(),
                "{}: no wording known for reason {reason}",
                case.name
            );
        }
    }

    // Case name -> integration -> problems (empty when it passed).
    let mut outcomes: BTreeMap<&str, Vec<(Integration, Vec<String>)>> = BTreeMap::new();
    let mut tallies = Vec::new();
    for integration in Integration::ALL {
        let server = TestServer::start(integration, file.verifier().unwrap())
            .await
            .unwrap();
        let mut tally = Tally::default();
        for case in &cases {
            let before = server.seen.count();
            let (problems, worded, via_raw) = match send(&server, case).await {
                Ok(answer) => {
                    let handed = server.seen.events().split_off(before);
                    let (problems, worded) = check(&file, case, &answer, &handed);
                    (problems, worded, answer.via_raw)
                }
                Err(e) => (vec![format!("no answer: {e:#}")], false, false),
            };
            if problems.is_empty() {
                tally.ok += 1;
            }
            if case.expect.is_accepted() {
                tally.accepted += 1;
            } else {
                tally.rejected += 1;
            }
            tally.worded += usize::from(worded);
            tally.via_raw += usize::from(via_raw);
            outcomes
                .entry(case.name.as_str())
                .or_default()
                .push((integration, problems));
        }
        server.stop().await.unwrap();
        tallies.push((integration, tally));
    }

    // The table, shown with `--nocapture`.
    eprintln!(
        "{} http_safe vectors ({skipped} not http_safe, left to tests/tests/vectors.rs) \
         x {} integrations",
        cases.len(),
        Integration::ALL.len()
    );
    for (integration, t) in &tallies {
        eprintln!(
            "{:>14}: {}/{} as expected ({} accepted, {} rejected, {} rejections \
             worded as their reason; {} sent over raw TCP)",
            integration.to_string(),
            t.ok,
            cases.len(),
            t.accepted,
            t.rejected,
            t.worded,
            t.via_raw
        );
    }

    let mut failures = Vec::new();
    for (name, per_integration) in &outcomes {
        let failing: Vec<_> = per_integration
            .iter()
            .filter(|(_, problems)| !problems.is_empty())
            .collect();
        // A case that fails for some integrations only is a bug in those
        // integrations, not in the vector: say so.
        let scope = if failing.len() < per_integration.len() {
            "only"
        } else {
            "every integration"
        };
        for (integration, problems) in &failing {
            failures.push(format!(
                "{name} [{scope}] {integration}: {}",
                problems.join("; ")
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_reference_sender_is_used_for_canonical_header_names_only() {
    assert_eq!(canonical("x-bedrud-signature"), "X-Bedrud-Signature");
    assert_eq!(canonical("User-Agent"), "User-Agent");
    let file = vectors::load().unwrap();
    let lowercase = file.case("header_names_lowercase").unwrap();
    assert!(!sender_sends_exactly(lowercase));
    assert!(sender_sends_exactly(file.case("event_ping").unwrap()));
}

/// Takes one request on `listener`, answers 204, and returns the request's
/// header lines (other than `Host` and `Content-Length`) and body, as they
/// came over the wire.
async fn capture_one(listener: &tokio::net::TcpListener) -> (Vec<(String, String)>, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let (mut stream, _) = listener.accept().await.unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    let (head_end, length) = loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "the client hung up mid-request");
        bytes.extend_from_slice(&buf[..n]);
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse::<usize>().unwrap());
            break (end + 4, length);
        }
    };
    while bytes.len() < head_end + length {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "the client hung up mid-body");
        bytes.extend_from_slice(&buf[..n]);
    }
    stream
        .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let head = String::from_utf8(bytes[..head_end - 4].to_vec()).unwrap();
    let headers = head
        .split("\r\n")
        .skip(1)
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            // One optional space after the colon, as every client writes it;
            // anything more would be part of the value.
            let value = value.strip_prefix(' ').unwrap_or(value);
            (name.to_owned(), value.to_owned())
        })
        .filter(|(name, _)| {
            !name.eq_ignore_ascii_case("host") && !name.eq_ignore_ascii_case("content-length")
        })
        .collect();
    (headers, bytes[head_end..].to_vec())
}

/// What the main test relies on: for every case it sends with the
/// reference sender, the request on the wire carries exactly the case's
/// header lines, in order and byte for byte, and exactly its body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_sender_puts_each_case_on_the_wire_exactly() {
    let file = vectors::load().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/bedrud", listener.local_addr().unwrap());
    let mut checked = 0;
    for case in file
        .cases
        .iter()
        .filter(|c| c.http_safe && sender_sends_exactly(c))
    {
        let mut request = http::Request::post(&url);
        for (name, value) in &case.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let request = request
            .body(Bytes::from(case.body_bytes().unwrap()))
            .unwrap();
        let sender = Sender::new().with_timeout(Duration::from_secs(10));
        let (sent, captured) = tokio::join!(
            sender.send(request),
            tokio::time::timeout(Duration::from_secs(10), capture_one(&listener)),
        );
        assert_eq!(sent.unwrap().status.as_u16(), 204, "{}", case.name);
        let (headers, body) = captured.expect("the request arrived in time");
        assert_eq!(headers, case.headers, "{}", case.name);
        assert_eq!(body, case.body_bytes().unwrap(), "{}", case.name);
        checked += 1;
    }
    assert!(checked >= 40, "{checked}");
}
