//! The status table over real HTTP on loopback, on every integration (axum,
//! actix-web, tower on plain hyper):
//!
//! - every `http_safe` case of the shared vectors, sent byte for byte (its
//!   header pairs in order, repeats added) by a raw TCP client to a server
//!   configured as the file says: the expected status, the handler run for
//!   exactly the accepted cases with the expected event, and every rejection
//!   one plain-text line with no secret and no expected MAC in it; the same
//!   through the `VerifiedBody` route (axum, actix-web), which leaves `data`
//!   unparsed;
//! - what the vectors cannot carry: both dialects, rotation and unknown
//!   events through the reference sender, chunked bodies, an oversized body
//!   (413, read by a client that writes it all first and by `Sender`), a
//!   declared 1 GiB body, and a stalled body (408).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use bedrud_webhook::delivery::{Delivery, HeaderDialect};
use bedrud_webhook::sender::Sender;
use bedrud_webhook::{EventKind, Secret, Verifier, sign};
use bedrud_webhook_tests::vectors::{self, VectorCase, VectorFile};
use bedrud_webhook_tests::{
    Conn, FORGED, Integration, RAW_PATH, RawResponse, TestServer, WEBHOOK_PATH, chunked, exchange,
    genuine, head, post, post_to, secret,
};

/// The raw request for `case`: its headers in order, then its body.
fn request(server: &TestServer, path: &str, case: &VectorCase) -> Vec<u8> {
    let pairs: Vec<(&[u8], &[u8])> = case
        .headers
        .iter()
        .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
        .collect();
    post_to(server.addr, path, &pairs, &case.body_bytes())
}

/// What is wrong with a rejection's response (nothing when empty).
fn rejection_problems(file: &VectorFile, case: &VectorCase, response: &RawResponse) -> Vec<String> {
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
    let body = case.body_bytes();
    for secret in file.secrets.iter().chain(&case.secret) {
        let mac = sign(&Secret::new(secret.as_str()).unwrap(), &body);
        if text.contains(secret.as_str()) || text.to_lowercase().contains(&mac[7..]) {
            problems.push(format!("shows a secret or its MAC: {text:?}"));
        }
    }
    if response.status == 413 && !response.says_close() {
        problems.push("a 413 without Connection: close".to_owned());
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_http_safe_vector_gets_its_status_from_every_integration() {
    let file = vectors::load();
    let cases: Vec<&VectorCase> = file.cases.iter().filter(|c| c.http_safe).collect();
    assert!(cases.len() >= 45, "{}", cases.len());
    let mut failures = Vec::new();
    for integration in Integration::ALL {
        let server = TestServer::start(integration, file.verifier()).await;
        for case in &cases {
            let before = server.seen.count();
            let Some(response) = exchange(server.addr, &request(&server, WEBHOOK_PATH, case)).await
            else {
                failures.push(format!("{integration} {}: no response", case.name));
                continue;
            };
            let mut problems = Vec::new();
            let expect = &case.expect;
            let ok = if expect.is_accepted() {
                (200..300).contains(&response.status)
            } else {
                response.status == expect.status
            };
            if !ok {
                problems.push(format!(
                    "status {} (want {})",
                    response.status, expect.status
                ));
            }
            let handed = server.seen.events().split_off(before);
            let want: Vec<String> = expect.event.iter().cloned().collect();
            if handed != want {
                problems.push(format!("handler got {handed:?}, want {want:?}"));
            }
            if !expect.is_accepted() {
                problems.extend(rejection_problems(&file, case, &response));
            }
            for problem in problems {
                failures.push(format!("{integration} {}: {problem}", case.name));
            }
        }
        eprintln!("{integration}: {} vectors sent", cases.len());
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
            let status = exchange(server.addr, &request(&server, RAW_PATH, case))
                .await
                .map_or(0, |r| r.status);
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
        assert!(started.elapsed() < Duration::from_secs(3), "{integration}");

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

/// The whole 300 KiB request, written before a byte of the answer is read,
/// as Go's net/http client does with a small body and a fast server.
async fn write_all_then_read(server: &TestServer, body: &[u8], signature: &str) -> Option<u16> {
    let request = post(
        server.addr,
        &[(b"X-Bedrud-Signature", signature.as_bytes())],
        body,
    );
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
            let status = write_all_then_read(&server, &body, &signature).await;
            assert_eq!(
                status,
                Some(413),
                "{integration}, raw client, round {round}"
            );
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
