//! What each integration (axum, actix-web, tower on plain hyper) does with a
//! delivery beyond its status, over real HTTP on loopback ([`TestServer`]):
//!
//! - genuine deliveries reach the typed handler as their events, in both
//!   dialects, with escaped and non-ASCII room names, unknown events too; the
//!   raw route is handed the exact signed bytes;
//! - the replay guard runs each delivery once: a repeat is 200 with
//!   `bedrud-webhook-duplicate: true` and the handler not run, a handler's
//!   500 releases the delivery so that a resend runs, a forgery is 401;
//! - a chunked body that never ends is cut off;
//! - a body that stops arriving is 408 at the body timeout, then closed,
//!   with `Content-Length` and chunked.
//!
//! The status of every request, on every entry point, is in `status_table.rs`;
//! `Expect: 100-continue` over the limit is in `adversarial.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use bedrud_webhook::Verifier;
use bedrud_webhook_tests::vectors::{self, VectorCase};
use bedrud_webhook_tests::{
    Conn, FAIL_HEADER, GUARDED_PATH, Integration, RAW_PATH, RawResponse, TestServer, WEBHOOK_PATH,
    chunked, exchange, head, post_to, secret,
};

/// `case` to `path`, with `extra` headers after its own.
fn request(server: &TestServer, path: &str, case: &VectorCase, extra: &[(&str, &str)]) -> Vec<u8> {
    let pairs: Vec<(&[u8], &[u8])> = case
        .headers
        .iter()
        .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
        .chain(extra.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
        .collect();
    post_to(server.addr, path, &pairs, &case.body_bytes())
}

async fn send(server: &TestServer, request: &[u8]) -> RawResponse {
    exchange(server.addr, request)
        .await
        .unwrap_or_else(|| panic!("{}: no response", server.integration))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genuine_deliveries_reach_the_handler_typed_and_the_raw_route_gets_the_exact_bytes() {
    let file = vectors::load();
    let typed = [
        ("golden_room_ended", "room.ended weekly-sync"),
        ("golden_ping", "ping"),
        (
            "golden_room_created_escaping",
            "room.created <b>Q&A</b> — café 🎥 \u{2028}",
        ),
        ("dialect_x_webhook", "room.created weekly-sync"),
        ("header_names_lowercase", "recording.completed"),
        ("unknown_event_nested_data", "room.locked"),
    ];
    for integration in Integration::ALL {
        let server = TestServer::start(integration, file.verifier()).await;
        for (name, _) in typed {
            let response = send(
                &server,
                &request(&server, WEBHOOK_PATH, file.case(name), &[]),
            )
            .await;
            assert_eq!(response.status, 204, "{integration} {name}: {response:?}");
        }
        let want: Vec<&str> = typed.iter().map(|(_, detail)| *detail).collect();
        assert_eq!(server.seen.details(), want, "{integration}");

        for name in [
            "golden_room_ended",
            "golden_room_created_escaping",
            "dialect_x_webhook",
        ] {
            let case = file.case(name);
            let response = send(&server, &request(&server, RAW_PATH, case, &[])).await;
            assert_eq!(response.status, 200, "{integration} {name}: {response:?}");
            assert_eq!(response.body, case.body_bytes(), "{integration} {name}");
        }
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replay_guard_runs_each_delivery_once_and_releases_failures() {
    let file = vectors::load();
    let (ping, room) = (file.case("golden_ping"), file.case("golden_room_ended"));
    let fail = [(FAIL_HEADER, "1")];
    for integration in Integration::ALL {
        let server = TestServer::start(integration, file.verifier()).await;
        let ping_request = request(&server, GUARDED_PATH, ping, &[]);
        let room_request = request(&server, GUARDED_PATH, room, &[]);
        // (request, status, body starts with, guarded handler calls so far)
        let steps: [(Vec<u8>, u16, &str, usize); 6] = [
            (ping_request.clone(), 200, "ran 1", 1),
            (ping_request.clone(), 200, "duplicate delivery", 1),
            (request(&server, GUARDED_PATH, room, &fail), 500, "ran 2", 2),
            (room_request.clone(), 200, "ran 3", 3),
            (room_request, 200, "duplicate delivery", 3),
            (ping_request, 200, "duplicate delivery", 3),
        ];
        for (step, (bytes, status, body, calls)) in steps.into_iter().enumerate() {
            let response = send(&server, &bytes).await;
            let context = format!("{integration}, step {step}: {response:?}");
            assert_eq!(response.status, status, "{context}");
            assert!(
                String::from_utf8_lossy(&response.body).starts_with(body),
                "{context}"
            );
            let duplicate = response.header("bedrud-webhook-duplicate") == Some("true");
            assert_eq!(duplicate, body.starts_with("duplicate"), "{context}");
            assert_eq!(server.seen.guarded_calls(), calls, "{context}");
        }
        // A forgery is still 401 on a guarded route, and runs nothing.
        let forged = file.case("signature_tampered_body");
        let response = send(&server, &request(&server, GUARDED_PATH, forged, &[])).await;
        assert_eq!(response.status, 401, "{integration}: {response:?}");
        assert_eq!(server.seen.guarded_calls(), 3, "{integration}");
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_chunked_body_is_cut_off() {
    const PATIENCE: Duration = Duration::from_secs(10);
    let piece = chunked(&[&[b' '; 64 * 1024]]);
    // Without the last chunk: one 64 KiB chunk, over and over.
    let piece = &piece[..piece.len() - b"0\r\n\r\n".len()];
    for integration in Integration::ALL {
        let server = TestServer::start(integration, bedrud_webhook_tests::verifier()).await;
        let mut conn = Conn::connect(server.addr).await;
        let mut written = 0usize;
        let flood = async {
            let framing: &[(&[u8], &[u8])] = &[(b"Transfer-Encoding", b"chunked")];
            conn.write(&head(server.addr, WEBHOOK_PATH, framing))
                .await?;
            loop {
                conn.write(piece).await?;
                written += piece.len();
            }
        };
        let outcome: Result<std::io::Result<()>, _> = tokio::time::timeout(PATIENCE, flood).await;
        assert!(
            outcome.is_ok(),
            "{integration}: the server was still reading after {written} bytes"
        );
        server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_408_at_the_body_timeout_and_closed() {
    const BODY_TIMEOUT: Duration = Duration::from_millis(300);
    let verifier = Verifier::builder(secret())
        .body_timeout(BODY_TIMEOUT)
        .build();
    for integration in Integration::ALL {
        let server = TestServer::start(integration, verifier.clone()).await;
        let addr = server.addr;
        let partial = [
            [
                head(addr, WEBHOOK_PATH, &[(b"Content-Length", b"1000")]),
                vec![b' '; 100],
            ]
            .concat(),
            [
                head(addr, WEBHOOK_PATH, &[(b"Transfer-Encoding", b"chunked")]),
                b"64\r\n".to_vec(),
                vec![b' '; 100],
                b"\r\n".to_vec(),
            ]
            .concat(),
        ];
        for (framing, request) in ["Content-Length", "chunked"].into_iter().zip(partial) {
            let mut conn = Conn::connect(addr).await;
            let started = Instant::now();
            conn.write(&request).await.unwrap();
            let response = conn.response().await;
            let waited = started.elapsed();
            let context = format!("{integration}, {framing}: {response:?} after {waited:?}");
            assert_eq!(response.map(|r| r.status), Some(408), "{context}");
            assert!(waited >= BODY_TIMEOUT, "{context}");
            assert!(waited < BODY_TIMEOUT + Duration::from_secs(2), "{context}");
            assert!(
                conn.closes_within(Duration::from_secs(10)).await,
                "{context}: left open"
            );
        }
        server.stop().await;
    }
}

/// One HMAC per delivery on every entry point: the tag the check computes
/// travels with the delivery (into `VerifiedBody`, the replay guard and the
/// queue's push), nothing verifies twice. The verifier reads its clock once
/// per HMAC that matches, so a counting clock counts them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_entry_point_computes_one_hmac_per_delivery() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::SystemTime;

    let reads = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&reads);
    let verifier = Verifier::builder(secret())
        .clock(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            SystemTime::now()
        })
        .build();
    let paths = [
        WEBHOOK_PATH,
        RAW_PATH,
        GUARDED_PATH,
        bedrud_webhook_tests::QUEUE_PATH,
    ];
    for integration in Integration::ALL {
        let server = TestServer::start(integration, verifier.clone()).await;
        for path in paths {
            let (body, signature) =
                bedrud_webhook_tests::genuine(&verifier, &format!("{path}.once"));
            let request = post_to(
                server.addr,
                path,
                &[(b"X-Bedrud-Signature", signature.as_bytes())],
                &body,
            );
            let before = reads.load(Ordering::SeqCst);
            let response = send(&server, &request).await;
            assert!(
                (200..300).contains(&response.status),
                "{integration} {path}: {}",
                response.status
            );
            let hmacs = reads.load(Ordering::SeqCst) - before;
            assert_eq!(
                hmacs, 1,
                "{integration} {path}: {hmacs} HMACs for one delivery"
            );
        }
        server.stop().await;
    }
}
