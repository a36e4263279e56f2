//! Adversarial requests over real HTTP against every integration (axum,
//! actix-web, tower on plain hyper), each served on 127.0.0.1 by the shared
//! harness: oversized and slow bodies, header abuse, bytes no well-behaved
//! client sends (raw TCP), other content types, HTTP/1.0, keep-alive reuse
//! after rejections, and 1,000 concurrent deliveries half of them forged.
//!
//! Every loop is bounded in count, and every wait in time. Each test prints
//! one line per case (`cargo test --test adversarial -- --nocapture`): the
//! table in SECURITY.md is made from them. The memory side of the 10 MiB
//! tests is in `adversarial_memory.rs`, a binary of its own because it counts
//! every allocation of the process.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bedrud_webhook::sender::{Delivery, Sender};
use bedrud_webhook::{Envelope, Event, Secret, Timestamp, UnknownEvent, Verifier};
use bedrud_webhook_tests::adversary::{
    Conn, TEN_MIB, genuine, post, post_with_version, serve_with_deadline, stream_large, trickle,
};
use bedrud_webhook_tests::{Integration, TestServer, verifier};

/// A signature that is well-formed and wrong.
const FORGED: &str = "sha256=0000000000000000000000000000000000000000000000000000000000000000";

async fn start(integration: Integration) -> TestServer {
    TestServer::start(integration, verifier().unwrap())
        .await
        .unwrap()
}

/// One genuine delivery on a fresh connection: the server still works.
async fn still_serves(server: &TestServer, name: &str) {
    let (body, signature) = genuine(&verifier().unwrap(), name);
    let mut conn = Conn::connect(server.addr).await.unwrap();
    conn.write(&post(
        server.addr,
        &[(b"X-Bedrud-Signature", signature.as_bytes())],
        &body,
    ))
    .await
    .unwrap();
    let status = conn.response().await.unwrap().map(|r| r.status);
    assert_eq!(
        status,
        Some(204),
        "{}: a genuine delivery after {name}",
        server.integration
    );
}

/// Sends `request` on a fresh connection and returns the status, or 0 when
/// the server closed the connection without answering.
async fn status_of(server: &TestServer, request: &[u8]) -> u16 {
    let mut conn = Conn::connect(server.addr).await.unwrap();
    // A server may refuse the head and close before the body is written.
    if conn.write(request).await.is_err() {
        return conn.response().await.ok().flatten().map_or(0, |r| r.status);
    }
    conn.response().await.unwrap().map_or(0, |r| r.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_mib_bodies_are_refused_with_413_before_they_are_sent() {
    for integration in Integration::ALL {
        let name = integration.to_string();
        let server = start(integration).await;
        for chunked in [false, true] {
            let framing = if chunked {
                "chunked, no Content-Length"
            } else {
                "Content-Length"
            };
            let outcome = stream_large(
                server.addr,
                &[
                    (b"X-Bedrud-Signature", FORGED.as_bytes()),
                    (b"Content-Type", b"application/json"),
                ],
                TEN_MIB,
                chunked,
            )
            .await
            .unwrap();
            println!(
                "{name:<14} 10 MiB, {framing:<26} -> {:?} after {} KiB of 10240 KiB sent, {} ms",
                outcome.status,
                outcome.sent_when_answered / 1024,
                outcome.answered_after.as_millis()
            );
            assert_eq!(outcome.status, Some(413), "{integration}, {framing}");
            // The answer came while the client was still sending: the server
            // did not wait for (let alone keep) the 10 MiB. What it could
            // have read is at most what the client had handed to the kernel.
            assert!(
                outcome.sent_when_answered < TEN_MIB / 2,
                "{integration}, {framing}: answered only after {} bytes",
                outcome.sent_when_answered
            );
        }
        still_serves(&server, "after-ten-mib").await;
        assert_eq!(server.seen.count(), 1, "{integration}");
        server.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_is_waited_for_without_blocking_the_server() {
    for integration in Integration::ALL {
        let name = integration.to_string();
        let server = start(integration).await;
        let verifier = verifier().unwrap();

        // A genuine delivery trickled in 8 pieces, 100 ms apart, while
        // another arrives at full speed on a second connection.
        let (body, signature) = genuine(&verifier, "trickled");
        let request = post(
            server.addr,
            &[(b"X-Bedrud-Signature", signature.as_bytes())],
            &body,
        );
        let addr = server.addr;
        let slow =
            tokio::spawn(
                async move { trickle(addr, &request, 8, Duration::from_millis(100)).await },
            );
        tokio::time::sleep(Duration::from_millis(150)).await;
        let started = Instant::now();
        still_serves(&server, "fast-beside-slow").await;
        let fast = started.elapsed();
        let slow = slow.await.unwrap().unwrap();
        println!(
            "{name:<14} body trickled over 0.7 s -> {slow:?}; a delivery meanwhile answered in {} ms",
            fast.as_millis()
        );
        assert_eq!(slow, Some(204), "{integration}");
        assert!(fast < Duration::from_secs(2), "{integration}: {fast:?}");

        // A body that stops half-way: the server waits (it has no deadline
        // of its own), holding the connection and at most the bytes sent.
        let (body, signature) = genuine(&verifier, "stalled");
        let request = post(
            server.addr,
            &[(b"X-Bedrud-Signature", signature.as_bytes())],
            &body,
        );
        let mut conn = Conn::connect(server.addr).await.unwrap();
        conn.write(&request[..request.len() - body.len() / 2])
            .await
            .unwrap();
        let closed = conn.closes_within(Duration::from_millis(800)).await;
        assert!(
            !closed,
            "{integration}: gave up on a stalled body by itself"
        );
        // The client gives up: the handler never runs; the server notices.
        conn.shutdown_write().await.unwrap();
        let after_hangup = conn.response().await.ok().flatten().map(|r| r.status);
        println!(
            "{name:<14} body stalled half-way -> no answer after 0.8 s; after the client's FIN: {after_hangup:?}"
        );
        assert!(
            matches!(after_hangup, None | Some(400)),
            "{integration}: {after_hangup:?}"
        );
        still_serves(&server, "after-stall").await;
        assert_eq!(
            server.seen.events(),
            ["fast-beside-slow", "trickled", "after-stall"],
            "{integration}"
        );
        server.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_advised_per_request_deadline_ends_a_stalled_body_with_408() {
    for integration in Integration::ALL {
        let name = integration.to_string();
        let verifier = verifier().unwrap();
        let server = serve_with_deadline(integration, verifier.clone(), Duration::from_millis(500))
            .await
            .unwrap();
        let (body, signature) = genuine(&verifier, "deadline");
        let request = post(
            server.addr,
            &[(b"X-Bedrud-Signature", signature.as_bytes())],
            &body,
        );
        let mut conn = Conn::connect(server.addr).await.unwrap();
        conn.write(&request[..request.len() - 10]).await.unwrap();
        let started = Instant::now();
        let status = conn.response().await.unwrap().map(|r| r.status);
        let waited = started.elapsed();
        println!(
            "{name:<14} body stalled, 0.5 s deadline -> {status:?} after {} ms",
            waited.as_millis()
        );
        assert_eq!(status, Some(408), "{integration}");
        assert!(waited < Duration::from_secs(5), "{integration}: {waited:?}");
        // A delivery in time is unaffected.
        let mut conn = Conn::connect(server.addr).await.unwrap();
        conn.write(&request).await.unwrap();
        let status = conn.response().await.unwrap().map(|r| r.status);
        assert_eq!(status, Some(204), "{integration}");
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_and_numerous_headers_never_get_past_or_break_the_server() {
    let padding = vec![b'a'; 64 * 1024];
    let long_signature = {
        let mut s = b"sha256=".to_vec();
        s.resize(64 * 1024, b'a');
        s
    };
    for integration in Integration::ALL {
        let name = integration.to_string();
        let server = start(integration).await;
        let verifier = verifier().unwrap();
        let (body, signature) = genuine(&verifier, "padded");
        let sig = signature.as_bytes();

        // (case, request, may it be accepted?)
        let mut cases: Vec<(&str, Vec<u8>, bool)> = Vec::new();
        cases.push((
            "genuine + one 64 KiB header",
            post(
                server.addr,
                &[(b"X-Bedrud-Signature", sig), (b"X-Padding", &padding)],
                &body,
            ),
            true,
        ));
        cases.push((
            "64 KiB signature header",
            post(
                server.addr,
                &[(b"X-Bedrud-Signature", &long_signature)],
                &body,
            ),
            false,
        ));
        let names: Vec<String> = (0..300).map(|i| format!("X-Extra-{i}")).collect();
        let mut many: Vec<(&[u8], &[u8])> = vec![(b"X-Bedrud-Signature", sig)];
        many.extend(names.iter().map(|n| (n.as_bytes(), &b"v"[..])));
        cases.push((
            "genuine + 300 headers",
            post(server.addr, &many, &body),
            true,
        ));
        let mut few: Vec<(&[u8], &[u8])> = vec![(b"X-Bedrud-Signature", sig)];
        few.extend(names.iter().take(60).map(|n| (n.as_bytes(), &b"v"[..])));
        cases.push(("genuine + 60 headers", post(server.addr, &few, &body), true));
        let sigs: Vec<(&[u8], &[u8])> =
            (0..80).map(|_| (&b"X-Bedrud-Signature"[..], sig)).collect();
        cases.push((
            "80 copies of the genuine signature",
            post(server.addr, &sigs, &body),
            false,
        ));

        for (case, request, may_accept) in &cases {
            let status = status_of(&server, request).await;
            println!("{name:<14} {case:<36} -> {status}");
            assert!(
                (400..500).contains(&status) || (*may_accept && status == 204),
                "{integration}: {case}: {status}"
            );
        }
        still_serves(&server, "after-headers").await;
        server.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_no_client_would_send_in_the_signature_header_are_refused() {
    for integration in Integration::ALL {
        let name = integration.to_string();
        let server = start(integration).await;
        let verifier = verifier().unwrap();
        let (body, signature) = genuine(&verifier, "raw");
        let hex = &signature.as_bytes()[7..];

        let mut invalid_utf8 = b"sha256=".to_vec();
        invalid_utf8.extend(std::iter::repeat_n(0xff, 64));
        let mut lookalike = b"sha256=".to_vec();
        lookalike.extend("é".repeat(32).as_bytes());
        let mut nul_inside = b"sha256=".to_vec();
        nul_inside.extend_from_slice(&hex[..32]);
        nul_inside.push(0);
        nul_inside.extend_from_slice(&hex[33..]);
        let mut genuine_then_nul = signature.as_bytes().to_vec();
        genuine_then_nul.extend_from_slice(b"\0junk");
        let mut genuine_then_ff = signature.as_bytes().to_vec();
        genuine_then_ff.push(0xff);
        let mut one_digit_non_ascii = signature.as_bytes().to_vec();
        one_digit_non_ascii[7] = 0xe9;
        let cases: [(&str, Vec<u8>); 7] = [
            ("64 bytes of 0xFF (not UTF-8)", invalid_utf8),
            ("32 x 'é' (64 bytes of UTF-8)", lookalike),
            ("NUL in place of a digit", nul_inside),
            ("genuine + NUL + junk", genuine_then_nul),
            ("genuine + 0xFF", genuine_then_ff),
            ("genuine, first digit 0xE9", one_digit_non_ascii),
            ("a lone NUL", vec![0]),
        ];
        for (case, value) in &cases {
            let request = post(server.addr, &[(b"X-Bedrud-Signature", value)], &body);
            let status = status_of(&server, &request).await;
            println!("{name:<14} signature: {case:<30} -> {status}");
            assert!(
                status == 401 || status == 400,
                "{integration}: {case}: {status}"
            );
        }
        // An event header that is not UTF-8 beside a genuine signature: the
        // unsigned header disagrees with the signed body.
        let request = post(
            server.addr,
            &[
                (b"X-Bedrud-Signature", signature.as_bytes()),
                (b"X-Bedrud-Event", b"r\xffw"),
            ],
            &body,
        );
        let status = status_of(&server, &request).await;
        println!("{name:<14} genuine, X-Bedrud-Event not UTF-8  -> {status}");
        assert_eq!(status, 401, "{integration}");
        assert_eq!(server.seen.count(), 0, "{integration}");
        still_serves(&server, "after-raw-bytes").await;
        server.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_content_type_is_not_checked_the_signed_bytes_are() {
    let content_types: [Option<&[u8]>; 6] = [
        None,
        Some(b"text/plain"),
        Some(b"application/x-www-form-urlencoded"),
        Some(b"multipart/form-data; boundary=x"),
        Some(b"application/json; charset=iso-8859-1"),
        Some(b"application/octet-stream"),
    ];
    for integration in Integration::ALL {
        let name = integration.to_string();
        let server = start(integration).await;
        let verifier = verifier().unwrap();
        for content_type in content_types {
            let (body, signature) = genuine(&verifier, "typed");
            let mut headers: Vec<(&[u8], &[u8])> =
                vec![(b"X-Bedrud-Signature", signature.as_bytes())];
            if let Some(ct) = content_type {
                headers.push((b"Content-Type", ct));
            }
            let shown = content_type.map_or("(none)".into(), String::from_utf8_lossy);
            let status = status_of(&server, &post(server.addr, &headers, &body)).await;
            let mut forged_headers = headers.clone();
            forged_headers[0] = (b"X-Bedrud-Signature", FORGED.as_bytes());
            let forged = status_of(&server, &post(server.addr, &forged_headers, &body)).await;
            println!("{name:<14} Content-Type {shown:<38} genuine -> {status}, forged -> {forged}");
            assert_eq!(status, 204, "{integration}: {shown}");
            assert_eq!(forged, 401, "{integration}: {shown}");
        }
        assert_eq!(server.seen.count(), content_types.len(), "{integration}");
        server.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_1_0_requests_are_answered_and_closed() {
    for integration in Integration::ALL {
        let name = integration.to_string();
        let server = start(integration).await;
        let verifier = verifier().unwrap();
        for (case, signature_for) in [("genuine", true), ("forged", false)] {
            let (body, signature) = genuine(&verifier, "http10");
            let signature = if signature_for {
                signature
            } else {
                FORGED.to_owned()
            };
            let mut conn = Conn::connect(server.addr).await.unwrap();
            conn.write(&post_with_version(
                server.addr,
                "HTTP/1.0",
                &[(b"X-Bedrud-Signature", signature.as_bytes())],
                &body,
            ))
            .await
            .unwrap();
            let status = conn.response().await.unwrap().map(|r| r.status);
            let closed = conn.closes_within(Duration::from_secs(2)).await;
            println!("{name:<14} HTTP/1.0 {case:<8} -> {status:?}, connection closed: {closed}");
            assert_eq!(
                status,
                Some(if signature_for { 204 } else { 401 }),
                "{integration}"
            );
            assert!(closed, "{integration}: an HTTP/1.0 connection left open");
        }

        // HTTP/1.0 asking for keep-alive: a rejection, then a genuine
        // delivery on the same connection if the server kept it open.
        let (body, signature) = genuine(&verifier, "http10-keep-alive");
        let mut conn = Conn::connect(server.addr).await.unwrap();
        let keep: (&[u8], &[u8]) = (b"Connection", b"keep-alive");
        conn.write(&post_with_version(
            server.addr,
            "HTTP/1.0",
            &[keep, (b"X-Bedrud-Signature", FORGED.as_bytes())],
            &body,
        ))
        .await
        .unwrap();
        let first = conn.response().await.unwrap().map(|r| r.status);
        let second = match conn
            .write(&post_with_version(
                server.addr,
                "HTTP/1.0",
                &[keep, (b"X-Bedrud-Signature", signature.as_bytes())],
                &body,
            ))
            .await
        {
            Ok(()) => conn.response().await.ok().flatten().map(|r| r.status),
            Err(_) => None,
        };
        println!(
            "{name:<14} HTTP/1.0 keep-alive: forged -> {first:?}, then genuine on the same connection -> {second:?}"
        );
        assert_eq!(first, Some(401), "{integration}");
        assert!(
            matches!(second, Some(204) | None),
            "{integration}: {second:?}"
        );
        server.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_is_reused_after_each_kind_of_rejection() {
    for integration in Integration::ALL {
        let name = integration.to_string();
        let server = start(integration).await;
        let verifier = verifier().unwrap();
        let addr = server.addr;
        let (body, signature) = genuine(&verifier, "first");
        let (body2, signature2) = genuine(&verifier, "second");
        let not_envelope = br#"{"event":"ping"}"#;
        let stale = Envelope::new(
            Event::Unknown(UnknownEvent::new("stale", serde_json::Map::new())),
            Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() - 3600).unwrap(),
        )
        .to_bedrud_json();
        let sequence: Vec<(&str, Vec<u8>, u16)> = vec![
            (
                "forged signature",
                post(addr, &[(b"X-Bedrud-Signature", FORGED.as_bytes())], &body),
                401,
            ),
            (
                "genuine",
                post(
                    addr,
                    &[(b"X-Bedrud-Signature", signature.as_bytes())],
                    &body,
                ),
                204,
            ),
            (
                "malformed signature",
                post(addr, &[(b"X-Bedrud-Signature", b"sha1=abc")], &body2),
                401,
            ),
            (
                "no signature",
                post(addr, &[(b"Content-Type", b"application/json")], &body2),
                401,
            ),
            (
                "signed, not an envelope",
                post(
                    addr,
                    &[(
                        b"X-Bedrud-Signature",
                        verifier.sign(not_envelope).as_bytes(),
                    )],
                    not_envelope,
                ),
                400,
            ),
            (
                "signed, an hour old",
                post(
                    addr,
                    &[(b"X-Bedrud-Signature", verifier.sign(&stale).as_bytes())],
                    &stale,
                ),
                401,
            ),
            (
                "genuine, X-Bedrud-Event disagrees",
                post(
                    addr,
                    &[
                        (b"X-Bedrud-Signature", signature2.as_bytes()),
                        (b"X-Bedrud-Event", b"room.created"),
                    ],
                    &body2,
                ),
                401,
            ),
            (
                "genuine",
                post(
                    addr,
                    &[(b"X-Bedrud-Signature", signature2.as_bytes())],
                    &body2,
                ),
                204,
            ),
        ];
        let mut conn = Conn::connect(addr).await.unwrap();
        for (case, request, want) in &sequence {
            conn.write(request).await.unwrap();
            let response = conn.response().await.unwrap();
            let status = response.as_ref().map(|r| r.status);
            assert_eq!(status, Some(*want), "{integration}: {case}");
            assert!(
                response
                    .as_ref()
                    .and_then(|r| r.header("connection"))
                    .is_none_or(|v| !v.eq_ignore_ascii_case("close")),
                "{integration}: {case} closed the connection"
            );
        }
        println!(
            "{name:<14} one keep-alive connection: {} requests (6 rejections) answered in order",
            sequence.len()
        );
        // Over the limit by its declared length: refused before the body
        // is read, after which the server may close the connection.
        let huge = format!("{}", 1 << 30);
        let mut over = bedrud_webhook_tests::adversary::head(
            &format!("POST {} HTTP/1.1", bedrud_webhook_tests::WEBHOOK_PATH),
            &[
                (b"Host", addr.to_string().as_bytes()),
                (b"Content-Length", huge.as_bytes()),
                (b"X-Bedrud-Signature", FORGED.as_bytes()),
            ],
        );
        over.extend_from_slice(b"{}");
        conn.write(&over).await.unwrap();
        let status = conn.response().await.unwrap().map(|r| r.status);
        let closed = conn.closes_within(Duration::from_secs(2)).await;
        println!(
            "{name:<14} then a declared 1 GiB body -> {status:?}, connection closed: {closed}"
        );
        assert_eq!(status, Some(413), "{integration}");
        assert_eq!(server.seen.events(), ["first", "second"], "{integration}");
        server.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_deliveries_half_forged_none_lost() {
    const TOTAL: usize = 1_000;
    let secret = bedrud_webhook_tests::secret().unwrap();
    let wrong = Secret::new("not-the-secret-0123456789abcdef").unwrap();
    let sender = Sender::new().with_timeout(Duration::from_secs(30));
    for integration in Integration::ALL {
        let name = integration.to_string();
        let server = start(integration).await;
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(TOTAL);
        for i in 0..TOTAL {
            let forged = i % 2 == 1;
            let name = format!("{}-{i}", if forged { "forged" } else { "genuine" });
            let event = Event::Unknown(UnknownEvent::new(name, serde_json::Map::new()));
            let envelope = Envelope::new(event, Timestamp::now());
            let key = if forged { &wrong } else { &secret };
            let request = Delivery::new(&envelope).request(&server.url, key).unwrap();
            let sender = sender.clone();
            tasks.push(tokio::spawn(
                async move { (forged, sender.send(request).await) },
            ));
        }
        let mut accepted = 0;
        let mut refused = 0;
        for task in tasks {
            let (forged, report) = tokio::time::timeout(Duration::from_secs(60), task)
                .await
                .expect("a delivery took over a minute")
                .unwrap();
            let status = report.expect("every delivery is answered").status.as_u16();
            if forged {
                assert_eq!(status, 401, "{integration}: a forged delivery");
                refused += 1;
            } else {
                assert!(
                    (200..300).contains(&status),
                    "{integration}: genuine got {status}"
                );
                accepted += 1;
            }
        }
        let elapsed = started.elapsed();
        let seen: Vec<String> = server.seen.events();
        let unique: BTreeSet<&String> = seen.iter().collect();
        let want: BTreeSet<String> = (0..TOTAL)
            .step_by(2)
            .map(|i| format!("genuine-{i}"))
            .collect();
        println!(
            "{name:<14} {TOTAL} concurrent: {accepted} genuine -> 2xx, {refused} forged -> 401, handler ran {} times, {} ms",
            seen.len(),
            elapsed.as_millis()
        );
        assert_eq!((accepted, refused), (TOTAL / 2, TOTAL / 2), "{integration}");
        assert_eq!(seen.len(), TOTAL / 2, "{integration}: handler runs");
        assert_eq!(
            unique.len(),
            TOTAL / 2,
            "{integration}: a delivery handled twice"
        );
        assert!(
            unique.iter().all(|name| want.contains(*name)),
            "{integration}: a forged delivery reached the handler"
        );
        server.stop().await.unwrap();
    }
}

#[test]
fn verifier_is_the_harness_default() {
    // The figures printed above assume the SDK's defaults: 256 KiB, ±300 s.
    let v: Verifier = verifier().unwrap();
    assert_eq!(v.body_limit(), 256 * 1024);
    assert_eq!(v.tolerance(), Some(Duration::from_secs(300)));
}
