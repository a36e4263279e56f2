//! The status table over real HTTP on loopback, on every entry point: the
//! [`Webhook`](bedrud_webhook::Webhook) extractor on axum and actix-web,
//! `VerifyWebhook` on plain hyper, and the durable queue's route
//! (`Queue::service` on axum and on hyper, `queue::actix_enqueue` on
//! actix-web):
//!
//! - one table, sent byte for byte to each entry point by a raw TCP client:
//!   every `http_safe` case of the shared vectors (its header pairs in order,
//!   repeats added; the server configured as the file says), plus both
//!   signature dialects at once, a genuinely signed body whose `data` has the
//!   wrong types, a signed body that is not an envelope, and `GET` / `PUT`.
//!   Each entry point answers 204 (handlers) or 202 (queue routes) to a
//!   genuine delivery and the same refusal status as every other; the handler
//!   runs for exactly the accepted rows with the expected event; every
//!   refusal is one plain-text line with no secret and no expected MAC in it;
//!   a 413 closes the connection and a 405 says `Allow: POST`;
//! - the same vectors through the `VerifiedBody` route (axum, actix-web),
//!   which leaves `data` unparsed;
//! - what the vectors cannot carry: both dialects, rotation and unknown
//!   events through the reference sender, chunked bodies, an oversized body
//!   (413, read by a client that writes it all first, with a length and
//!   chunked, and by `Sender`), a declared 1 GiB body (413 at once, unsent),
//!   and a stalled body (408).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use bedrud_webhook::delivery::{Delivery, HeaderDialect};
use bedrud_webhook::sender::Sender;
use bedrud_webhook::{EventKind, Secret, Verifier, sign};
use bedrud_webhook_tests::vectors::{self, VectorCase, VectorFile};
use bedrud_webhook_tests::{
    Conn, FORGED, Integration, QUEUE_PATH, RAW_PATH, RawResponse, TestServer, WEBHOOK_PATH,
    chunked, exchange, genuine, head, post, post_to, secret, with_method,
};

/// What is wrong with a refusal's response (nothing when empty): `secrets`
/// and `signed_with` must not show, nor the MAC of `body` under any of them.
fn rejection_problems(secrets: &[&str], body: &[u8], response: &RawResponse) -> Vec<String> {
    let mut problems = Vec::new();
    let text = String::from_utf8_lossy(&response.body);
    let line = text.strip_suffix('\n').unwrap_or(&text);
    if line.trim().is_empty() || line.chars().any(char::is_control) {
        problems.push(format!("not one line of text: {text:?}"));
    }
    if !response
        .header("content-type")
        .is_some_and(|v| v.starts_with("text/plain"))
    {
        problems.push(format!(
            "content type {:?}",
            response.header("content-type")
        ));
    }
    for secret in secrets {
        let mac = sign(&Secret::new(*secret).unwrap(), body);
        if text.contains(secret) || text.to_lowercase().contains(&mac[7..]) {
            problems.push(format!("shows a secret or its MAC: {text:?}"));
        }
    }
    if response.status == 413 && !response.says_close() {
        problems.push("a 413 without Connection: close".to_owned());
    }
    if response.status == 405 && response.header("allow") != Some("POST") {
        problems.push(format!("a 405 with Allow {:?}", response.header("allow")));
    }
    problems
}

/// The secrets a case's refusal must not show.
fn case_secrets<'a>(file: &'a VectorFile, case: &'a VectorCase) -> Vec<&'a str> {
    file.secrets
        .iter()
        .chain(&case.secret)
        .map(String::as_str)
        .collect()
}

/// The raw request for `case` to `path`: its headers in order, then its body.
fn request(server: &TestServer, path: &str, case: &VectorCase) -> Vec<u8> {
    let pairs: Vec<(&[u8], &[u8])> = case
        .headers
        .iter()
        .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
        .collect();
    post_to(server.addr, path, &pairs, &case.body_bytes())
}

/// One entry point: where it is served, and what it answers a genuine delivery.
struct EntryPoint {
    name: &'static str,
    integration: Integration,
    path: &'static str,
    accepted: u16,
    /// Whether a handler runs in the request (and records in `Seen`).
    handler: bool,
}

const ENTRY_POINTS: [EntryPoint; 6] = [
    EntryPoint {
        name: "axum Webhook",
        integration: Integration::Axum,
        path: WEBHOOK_PATH,
        accepted: 204,
        handler: true,
    },
    EntryPoint {
        name: "actix-web Webhook",
        integration: Integration::Actix,
        path: WEBHOOK_PATH,
        accepted: 204,
        handler: true,
    },
    EntryPoint {
        name: "tower VerifyWebhook",
        integration: Integration::Tower,
        path: WEBHOOK_PATH,
        accepted: 204,
        handler: true,
    },
    EntryPoint {
        name: "Queue::service on axum",
        integration: Integration::Axum,
        path: QUEUE_PATH,
        accepted: 202,
        handler: false,
    },
    EntryPoint {
        name: "queue::actix_enqueue",
        integration: Integration::Actix,
        path: QUEUE_PATH,
        accepted: 202,
        handler: false,
    },
    EntryPoint {
        name: "Queue::service on hyper",
        integration: Integration::Tower,
        path: QUEUE_PATH,
        accepted: 202,
        handler: false,
    },
];

/// One row of the table: the same request bytes for every entry point.
struct Row {
    name: String,
    method: &'static str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// `None`: a genuine delivery (the entry point's own 2xx); else the refusal.
    status: Option<u16>,
    /// The event the handler is handed, when accepted.
    event: Option<String>,
    /// What a refusal must not show.
    secrets: Vec<String>,
}

impl Row {
    fn bytes(&self, server: &TestServer, path: &str) -> Vec<u8> {
        let pairs: Vec<(&[u8], &[u8])> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
            .collect();
        let request = post_to(server.addr, path, &pairs, &self.body);
        with_method(self.method, &request)
    }
}

/// The table: every `http_safe` vector, then what the vectors cannot carry.
fn rows(file: &VectorFile) -> Vec<Row> {
    let mut rows: Vec<Row> = file
        .cases
        .iter()
        .filter(|c| c.http_safe)
        .map(|case| Row {
            name: case.name.clone(),
            method: "POST",
            headers: case.headers.clone(),
            body: case.body_bytes(),
            status: (!case.expect.is_accepted()).then_some(case.expect.status),
            event: case.expect.event.clone(),
            secrets: case_secrets(file, case)
                .into_iter()
                .map(str::to_owned)
                .collect(),
        })
        .collect();
    let golden = file.case("golden_room_ended");
    let signature = golden
        .values("X-Bedrud-Signature")
        .next()
        .unwrap()
        .to_owned();
    let signed = |name: &str, body: &[u8]| Row {
        name: name.to_owned(),
        method: "POST",
        headers: vec![(
            "X-Bedrud-Signature".to_owned(),
            sign(&Secret::new(file.secrets[0].as_str()).unwrap(), body),
        )],
        body: body.to_vec(),
        status: Some(400),
        event: None,
        secrets: file.secrets.clone(),
    };
    rows.extend([
        // Signed in both dialects at once: which one counts is unknowable.
        Row {
            name: "both_dialects_signed".to_owned(),
            method: "POST",
            headers: vec![
                ("X-Bedrud-Signature".to_owned(), signature.clone()),
                ("X-Webhook-Signature".to_owned(), signature.clone()),
            ],
            body: golden.body_bytes(),
            status: Some(401),
            event: None,
            secrets: file.secrets.clone(),
        },
        // Genuinely signed, `data` of the wrong types: 400 everywhere (the
        // queue must type it before its 202, or the worker fails on it until dead).
        signed(
            "room_id_a_number",
            br#"{"data":{"roomId":5},"event":"room.ended","timestamp":"2026-04-01T12:34:59Z"}"#,
        ),
        signed("not_an_envelope", br#"{"hello":"world"}"#),
        signed("not_json", b"not json"),
        // Deliveries are POSTed.
        Row {
            name: "method_put".to_owned(),
            method: "PUT",
            headers: golden.headers.clone(),
            body: golden.body_bytes(),
            status: Some(405),
            event: None,
            secrets: file.secrets.clone(),
        },
        Row {
            name: "method_get".to_owned(),
            method: "GET",
            headers: Vec::new(),
            body: Vec::new(),
            status: Some(405),
            event: None,
            secrets: file.secrets.clone(),
        },
    ]);
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_entry_point_answers_the_status_table() {
    let file = vectors::load();
    let rows = rows(&file);
    assert!(rows.len() >= 50, "{}", rows.len());
    let mut failures = Vec::new();
    for integration in Integration::ALL {
        let server = TestServer::start(integration, file.verifier()).await;
        for entry in ENTRY_POINTS.iter().filter(|e| e.integration == integration) {
            for row in &rows {
                let before = server.seen.count();
                let request = row.bytes(&server, entry.path);
                let Some(response) = exchange(server.addr, &request).await else {
                    failures.push(format!("{} {}: no response", entry.name, row.name));
                    continue;
                };
                let mut problems = Vec::new();
                let want = row.status.unwrap_or(entry.accepted);
                if response.status != want {
                    problems.push(format!("status {} (want {want})", response.status));
                }
                if entry.handler {
                    let handed = server.seen.events().split_off(before);
                    let want: Vec<String> = row.event.iter().cloned().collect();
                    if handed != want {
                        problems.push(format!("handler got {handed:?}, want {want:?}"));
                    }
                }
                if row.status.is_some() {
                    let secrets: Vec<&str> = row.secrets.iter().map(String::as_str).collect();
                    problems.extend(rejection_problems(&secrets, &row.body, &response));
                }
                for problem in problems {
                    failures.push(format!("{} {}: {problem}", entry.name, row.name));
                }
            }
            eprintln!("{}: {} rows sent", entry.name, rows.len());
        }
        server.stop().await;
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verified_body_route_gives_the_same_statuses_but_leaves_data_unparsed() {
    let file = vectors::load();
    let mut failures = Vec::new();
    for integration in [Integration::Axum, Integration::Actix] {
        let server = TestServer::start(integration, file.verifier()).await;
        for case in file.cases.iter().filter(|c| c.http_safe) {
            let before = server.seen.count();
            let response = exchange(server.addr, &request(&server, RAW_PATH, case)).await;
            let status = response.as_ref().map_or(0, |r| r.status);
            let unparsed = case.expect.reason.as_deref() == Some("invalid_data");
            let accepted = case.expect.is_accepted() || unparsed;
            let ok = if accepted {
                (200..300).contains(&status)
            } else {
                status == case.expect.status
            };
            let handed = server.seen.events().split_off(before);
            if !ok || handed.len() != usize::from(accepted) {
                failures.push(format!("{integration} {}: {status}, {handed:?}", case.name));
            }
            if let Some(response) = response.filter(|_| !accepted) {
                let secrets = case_secrets(&file, case);
                for problem in rejection_problems(&secrets, &case.body_bytes(), &response) {
                    failures.push(format!("{integration} {}: {problem}", case.name));
                }
            }
        }
        server.stop().await;
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// A genuinely signed body of `len` bytes: an unknown event, its data padded.
fn padded(verifier: &Verifier, len: usize) -> (Vec<u8>, String) {
    let body = |pad: usize| {
        let value = serde_json::json!({
            "data": {"pad": "x".repeat(pad)},
            "event": "room.padded",
            "timestamp": bedrud_webhook::Timestamp::now().to_string(),
        });
        serde_json::to_vec(&value).unwrap()
    };
    let body = body(len - body(0).len());
    assert_eq!(body.len(), len);
    let signature = verifier.sign(&body);
    (body, signature)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dialects_rotation_unknown_events_and_framing_on_every_integration() {
    let previous = Secret::new("the-secret-before-rotation").unwrap();
    let verifier = Verifier::builder(secret())
        .previous_secret(previous.clone())
        .body_timeout(Duration::from_millis(600))
        .build();
    let sender = Sender::new();
    for integration in Integration::ALL {
        let server = TestServer::start(integration, verifier.clone()).await;
        let url = &server.url;
        let mut want_seen = Vec::new();

        // Through the reference sender: every kind, both dialects, rotation.
        for kind in EventKind::ALL {
            for dialect in [HeaderDialect::Bedrud, HeaderDialect::Webhook] {
                let delivery = Delivery::sample(kind).dialect(dialect);
                let response = sender.deliver(url, &delivery, &secret()).await.unwrap();
                assert_eq!(response.status(), 204, "{integration} {kind} {dialect:?}");
                want_seen.push(kind.as_str().to_owned());
            }
        }
        let rotated = Delivery::sample(EventKind::RoomEnded);
        let response = sender.deliver(url, &rotated, &previous).await.unwrap();
        assert_eq!(response.status(), 204, "{integration}: previous secret");
        want_seen.push("room.ended".to_owned());
        let forged = sender
            .deliver(url, &rotated, &Secret::new("a-guess").unwrap())
            .await
            .unwrap();
        assert_eq!(forged.status(), 401, "{integration}: unknown secret");
        let (body, _) = genuine(&verifier, "room.locked");
        let unknown = Delivery::from_body(body);
        let response = sender.deliver(url, &unknown, &secret()).await.unwrap();
        assert_eq!(response.status(), 204, "{integration}: unknown event");
        want_seen.push("room.locked".to_owned());

        // Chunked, with no Content-Length: genuine, then over the limit.
        let (body, signature) = genuine(&verifier, "chunked.genuine");
        let mut request = head(
            server.addr,
            WEBHOOK_PATH,
            &[
                (b"Transfer-Encoding", b"chunked"),
                (b"X-Bedrud-Signature", signature.as_bytes()),
            ],
        );
        request.extend(chunked(&body.chunks(16).collect::<Vec<_>>()));
        let response = exchange(server.addr, &request).await.unwrap();
        assert_eq!(response.status, 204, "{integration}: chunked");
        want_seen.push("chunked.genuine".to_owned());
        let (big, signature) = padded(&verifier, verifier.body_limit() + 1);
        let mut request = head(
            server.addr,
            WEBHOOK_PATH,
            &[
                (b"Transfer-Encoding", b"chunked"),
                (b"X-Bedrud-Signature", signature.as_bytes()),
            ],
        );
        request.extend(chunked(&big.chunks(8192).collect::<Vec<_>>()));
        let response = exchange(server.addr, &request).await.unwrap();
        assert_eq!(
            response.status, 413,
            "{integration}: chunked over the limit"
        );

        // Exactly at the limit is accepted; a declared 1 GiB is refused unsent.
        let (at_limit, signature) = padded(&verifier, verifier.body_limit());
        let sig = signature.as_bytes();
        let response = exchange(
            server.addr,
            &post(server.addr, &[(b"X-Bedrud-Signature", sig)], &at_limit),
        )
        .await;
        assert_eq!(response.unwrap().status, 204, "{integration}: at the limit");
        want_seen.push("room.padded".to_owned());
        let declared = head(
            server.addr,
            WEBHOOK_PATH,
            &[
                (b"Content-Length", b"1073741824"),
                (b"X-Bedrud-Signature", FORGED.as_bytes()),
            ],
        );
        let started = Instant::now();
        let response = exchange(server.addr, &declared).await.unwrap();
        assert_eq!(response.status, 413, "{integration}: declared 1 GiB");
        assert!(response.says_close(), "{integration}");
        let waited = started.elapsed();
        assert!(
            waited < Duration::from_millis(500),
            "{integration}: {waited:?}"
        );

        // A body that stops arriving: 408 after the body timeout, then closed.
        let (body, signature) = genuine(&verifier, "stalled");
        let request = post(
            server.addr,
            &[(b"X-Bedrud-Signature", signature.as_bytes())],
            &body,
        );
        let mut conn = Conn::connect(server.addr).await;
        conn.write(&request[..request.len() - 5]).await.unwrap();
        let started = Instant::now();
        let response = conn.response().await.unwrap();
        let waited = started.elapsed();
        assert_eq!(response.status, 408, "{integration}: stalled body");
        assert!(
            waited >= Duration::from_millis(500) && waited < Duration::from_secs(3),
            "{integration}: 408 after {waited:?}"
        );
        assert!(
            conn.closes_within(Duration::from_secs(3)).await,
            "{integration}: left open after 408"
        );

        assert_eq!(server.seen.events(), want_seen, "{integration}");
        server.stop().await;
    }
}

/// The whole 300 KiB request (with `Content-Length`, or chunked in 16 KiB
/// chunks), written before a byte of the answer is read, as Go's net/http
/// client does with a small body and a fast server.
async fn write_all_then_read(
    server: &TestServer,
    body: &[u8],
    signature: &str,
    chunked_body: bool,
) -> Option<u16> {
    let request = if chunked_body {
        let mut request = head(
            server.addr,
            WEBHOOK_PATH,
            &[
                (b"Transfer-Encoding", b"chunked"),
                (b"X-Bedrud-Signature", signature.as_bytes()),
            ],
        );
        request.extend(chunked(&body.chunks(16 * 1024).collect::<Vec<_>>()));
        request
    } else {
        post(
            server.addr,
            &[(b"X-Bedrud-Signature", signature.as_bytes())],
            body,
        )
    };
    let mut conn = Conn::connect(server.addr).await;
    conn.write(&request)
        .await
        .expect("the server took the whole body");
    conn.response().await.map(|r| r.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_delivery_gets_a_413_that_the_sender_reads() {
    let verifier = bedrud_webhook_tests::verifier();
    let (body, signature) = padded(&verifier, 300 * 1024);
    let sender = Sender::new();
    for integration in Integration::ALL {
        let server = TestServer::start(integration, verifier.clone()).await;
        for round in 0..5 {
            for chunked_body in [false, true] {
                let status = write_all_then_read(&server, &body, &signature, chunked_body).await;
                assert_eq!(
                    status,
                    Some(413),
                    "{integration}, raw client, chunked: {chunked_body}, round {round}"
                );
            }
            let response = sender
                .deliver(&server.url, &Delivery::from_body(body.clone()), &secret())
                .await
                .unwrap_or_else(|e| panic!("{integration}, sender, round {round}: {e}"));
            assert_eq!(
                response.status(),
                413,
                "{integration}, sender, round {round}"
            );
        }
        assert_eq!(server.seen.count(), 0, "{integration}");
        server.stop().await;
    }
}
