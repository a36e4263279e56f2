//! One table of deliveries, sent over real HTTP on loopback to every
//! integration: each must answer each case with the same status, and the
//! handler must run for the genuine ones only.
//!
//! Genuine deliveries (and the forgeries made from them) go through the
//! reference sender, `bedrud_webhook::sender`; the requests it cannot make
//! (a chunked body, a `Content-Length` with nothing behind it) through the
//! harness's raw client.

// The helpers below are test code too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use bedrud_webhook::sender::{Delivery, Sender};
use bedrud_webhook::verify::DEFAULT_BODY_LIMIT;
use bedrud_webhook::{Envelope, EventKind, Timestamp};
use bedrud_webhook_tests::{
    Framing, Integration, RawRequest, TestServer, secret, send_raw, verifier,
};
use bytes::Bytes;
use http::HeaderValue;
use serde_json::{Map, Value, json};

/// How a case is sent.
enum Outgoing {
    /// Through the reference sender, as built (and perhaps altered).
    Sender(http::Request<Bytes>),
    /// Through the raw client.
    Raw(RawRequest),
}

struct Case {
    name: String,
    expect: u16,
    /// For genuine cases: the event the handler must be handed.
    event: Option<String>,
    outgoing: Outgoing,
}

fn at(offset_secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() + offset_secs).unwrap()
}

fn fresh(kind: EventKind) -> Envelope {
    let mut envelope = Envelope::sample(kind);
    envelope.timestamp = Timestamp::now();
    envelope
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// A body that is genuinely signed but not what Bedrud sends.
fn signed(body: impl Into<Bytes>, url: &str) -> http::Request<Bytes> {
    Delivery::from_body(body)
        .request(url, &secret().unwrap())
        .unwrap()
}

fn genuine(envelope: &Envelope, url: &str) -> http::Request<Bytes> {
    Delivery::new(envelope)
        .request(url, &secret().unwrap())
        .unwrap()
}

fn with_header(
    mut request: http::Request<Bytes>,
    name: &'static str,
    value: &str,
) -> http::Request<Bytes> {
    request
        .headers_mut()
        .insert(name, HeaderValue::from_str(value).unwrap());
    request
}

fn raw(signature: &str, chunks: Vec<Bytes>, framing: Framing) -> RawRequest {
    RawRequest {
        headers: vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("X-Bedrud-Signature".to_owned(), signature.to_owned()),
        ],
        chunks,
        framing,
    }
}

/// Splits `body` into pieces of at most `size` bytes.
fn pieces(body: &[u8], size: usize) -> Vec<Bytes> {
    body.chunks(size).map(Bytes::copy_from_slice).collect()
}

/// The golden `room.ended` vector from the wire-format document: genuine,
/// but signed on 2026-04-01, long outside any tolerance.
const GOLDEN_BODY: &str = r#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#;
const GOLDEN_SIGNATURE: &str =
    "sha256=4a8a28e49e3e197b6aa2b626b4226a7131bae2bee66c980a640f1b6401a7469a";

fn cases(url: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |name: &str, expect: u16, event: Option<&str>, outgoing: Outgoing| {
        cases.push(Case {
            name: name.to_owned(),
            expect,
            event: event.map(str::to_owned),
            outgoing,
        });
    };
    let verifier = verifier().unwrap();

    // ---- Genuine: 2xx, and the handler sees the event.
    for kind in EventKind::ALL {
        add(
            &format!("genuine {kind}"),
            204,
            Some(kind.as_str()),
            Outgoing::Sender(genuine(&fresh(kind), url)),
        );
    }
    let unknown = Delivery::from_data(
        "room.paused",
        Timestamp::now(),
        &object(json!({"roomId": "r1", "reason": "idle"})),
    );
    add(
        "genuine unknown event",
        204,
        Some("room.paused"),
        Outgoing::Sender(unknown.request(url, &secret().unwrap()).unwrap()),
    );
    let legacy = Delivery::new(&fresh(EventKind::RoomCreated)).legacy_headers();
    add(
        "genuine, X-Webhook-* header dialect",
        204,
        Some("room.created"),
        Outgoing::Sender(legacy.request(url, &secret().unwrap()).unwrap()),
    );
    let mut bare = genuine(&fresh(EventKind::Ping), url);
    bare.headers_mut().remove("x-bedrud-event");
    bare.headers_mut().remove("x-bedrud-timestamp");
    add(
        "genuine, signature header only",
        204,
        Some("ping"),
        Outgoing::Sender(bare),
    );
    let chunked_ping = fresh(EventKind::RecordingCompleted).to_bedrud_json();
    add(
        "genuine, chunked without Content-Length",
        204,
        Some("recording.completed"),
        Outgoing::Raw(raw(
            &verifier.sign(&chunked_ping),
            pieces(&chunked_ping, 16),
            Framing::Chunked,
        )),
    );
    // Exactly at the limit: the largest body that must be accepted.
    let padded = |pad: usize| {
        Delivery::from_data(
            "room.padded",
            Timestamp::now(),
            &object(json!({"pad": "x".repeat(pad)})),
        )
    };
    let overhead = padded(0).body().len();
    let at_limit = padded(DEFAULT_BODY_LIMIT - overhead);
    assert_eq!(at_limit.body().len(), DEFAULT_BODY_LIMIT);
    add(
        "genuine, exactly at the 256 KiB limit",
        204,
        Some("room.padded"),
        Outgoing::Sender(at_limit.request(url, &secret().unwrap()).unwrap()),
    );

    // ---- Authenticity failures: 401.
    let ping = || genuine(&fresh(EventKind::Ping), url);
    let mut missing = ping();
    missing.headers_mut().remove("x-bedrud-signature");
    add("missing signature", 401, None, Outgoing::Sender(missing));

    let mut duplicated = ping();
    let signature = duplicated.headers()["x-bedrud-signature"].clone();
    duplicated
        .headers_mut()
        .append("x-bedrud-signature", signature);
    add(
        "duplicated signature",
        401,
        None,
        Outgoing::Sender(duplicated),
    );

    for (name, value) in [
        (
            "malformed signature: bad hex",
            format!("sha256={}", "z".repeat(64)),
        ),
        ("malformed signature: short", "sha256=abcd".to_owned()),
        (
            "malformed signature: sha1",
            format!("sha1={}", "0".repeat(40)),
        ),
        ("malformed signature: no prefix", "0".repeat(64)),
        ("malformed signature: empty", String::new()),
    ] {
        add(
            name,
            401,
            None,
            Outgoing::Sender(with_header(ping(), "x-bedrud-signature", &value)),
        );
    }
    add(
        "mismatched signature: zeros",
        401,
        None,
        Outgoing::Sender(with_header(
            ping(),
            "x-bedrud-signature",
            &format!("sha256={}", "0".repeat(64)),
        )),
    );
    let other_secret = bedrud_webhook::Secret::new("not-the-secret").unwrap();
    add(
        "mismatched signature: another secret",
        401,
        None,
        Outgoing::Sender(
            Delivery::new(&fresh(EventKind::Ping))
                .request(url, &other_secret)
                .unwrap(),
        ),
    );
    let mut tampered = genuine(&fresh(EventKind::RoomEnded), url);
    let body = String::from_utf8(tampered.body().to_vec())
        .unwrap()
        .replace("weekly-sync", "weekly-sunk");
    *tampered.body_mut() = Bytes::from(body);
    add(
        "body altered after signing",
        401,
        None,
        Outgoing::Sender(tampered),
    );

    add(
        "stale timestamp (an hour old)",
        401,
        None,
        Outgoing::Sender(genuine(
            &Envelope::new(bedrud_webhook::Event::Ping, at(-3600)),
            url,
        )),
    );
    add(
        "timestamp from the future (an hour ahead)",
        401,
        None,
        Outgoing::Sender(genuine(
            &Envelope::new(bedrud_webhook::Event::Ping, at(3600)),
            url,
        )),
    );
    let golden = signed(GOLDEN_BODY, url);
    assert_eq!(golden.headers()["x-bedrud-signature"], GOLDEN_SIGNATURE);
    add(
        "golden vector, replayed months later",
        401,
        None,
        Outgoing::Sender(golden),
    );

    add(
        "X-Bedrud-Event disagrees with the body",
        401,
        None,
        Outgoing::Sender(with_header(ping(), "x-bedrud-event", "room.created")),
    );
    add(
        "X-Bedrud-Timestamp disagrees with the body",
        401,
        None,
        Outgoing::Sender(with_header(
            ping(),
            "x-bedrud-timestamp",
            "2020-01-01T00:00:00Z",
        )),
    );
    add(
        "X-Webhook-Event disagrees with the body",
        401,
        None,
        Outgoing::Sender(with_header(ping(), "x-webhook-event", "room.ended")),
    );

    // ---- Genuinely signed, but not a Bedrud envelope: 400.
    let now = Timestamp::now();
    for (name, body) in [
        ("signed non-JSON", "hello, bedrud".to_owned()),
        ("signed JSON array", "[1,2,3]".to_owned()),
        (
            "signed JSON without event",
            format!(r#"{{"data":{{}},"timestamp":"{now}"}}"#),
        ),
        (
            "signed JSON without timestamp",
            r#"{"data":{},"event":"ping"}"#.to_owned(),
        ),
        (
            "signed timestamp that is not RFC 3339",
            r#"{"data":{},"event":"ping","timestamp":"yesterday"}"#.to_owned(),
        ),
        (
            "signed data of the wrong type (durationMs a string)",
            format!(
                r#"{{"data":{{"durationMs":"1h"}},"event":"recording.completed","timestamp":"{now}"}}"#
            ),
        ),
        (
            "signed data that is not an object",
            format!(r#"{{"data":[1],"event":"room.ended","timestamp":"{now}"}}"#),
        ),
    ] {
        add(name, 400, None, Outgoing::Sender(signed(body, url)));
    }

    // ---- Over the limit: 413, however the length is (or is not) told.
    let over = format!(
        r#"{{"data":{{"pad":"{}"}},"event":"room.padded","timestamp":"{now}"}}"#,
        "x".repeat(DEFAULT_BODY_LIMIT)
    );
    add(
        "one byte over the limit, with Content-Length",
        413,
        None,
        Outgoing::Sender(signed(one_byte_over_the_limit(), url)),
    );
    add(
        "over the limit, with Content-Length",
        413,
        None,
        Outgoing::Sender(signed(over.clone(), url)),
    );
    add(
        "over the limit, chunked without Content-Length",
        413,
        None,
        Outgoing::Raw(raw(
            &verifier.sign(over.as_bytes()),
            pieces(over.as_bytes(), 8192),
            Framing::Chunked,
        )),
    );
    add(
        "a declared 1 GiB Content-Length, no body sent (refused before reading)",
        413,
        None,
        Outgoing::Raw(raw(
            &format!("sha256={}", "0".repeat(64)),
            Vec::new(),
            Framing::Declared(1 << 30),
        )),
    );

    cases
}

/// A genuinely signed envelope one byte longer than the limit.
fn one_byte_over_the_limit() -> Vec<u8> {
    let now = Timestamp::now();
    let make = |pad: usize| {
        format!(
            r#"{{"data":{{"pad":"{}"}},"event":"room.padded","timestamp":"{now}"}}"#,
            "x".repeat(pad)
        )
    };
    let overhead = make(0).len();
    let body = make(DEFAULT_BODY_LIMIT + 1 - overhead);
    assert_eq!(body.len(), DEFAULT_BODY_LIMIT + 1);
    body.into_bytes()
}

async fn send(server: &TestServer, outgoing: Outgoing) -> anyhow::Result<u16> {
    match outgoing {
        // A fresh sender for each case, so that a connection a rejection
        // closed is never reused for the next one.
        Outgoing::Sender(request) => {
            let report = Sender::new()
                .with_timeout(Duration::from_secs(10))
                .send(request)
                .await?;
            Ok(report.status.as_u16())
        }
        Outgoing::Raw(request) => send_raw(server.addr, &request).await,
    }
}

/// Runs every case against `integration`: returns each case's name, the
/// status expected and the status answered, and the events the handler saw.
async fn run_table(
    integration: Integration,
) -> (Vec<(String, u16, String)>, Vec<String>, Vec<String>) {
    let server = TestServer::start(integration, verifier().unwrap())
        .await
        .unwrap();
    let mut rows = Vec::new();
    let mut expected_events = Vec::new();
    for case in cases(&server.url) {
        let answer = match send(&server, case.outgoing).await {
            Ok(status) => status.to_string(),
            Err(e) => format!("error: {e:#}"),
        };
        if let Some(event) = case.event {
            expected_events.push(event);
        }
        rows.push((case.name, case.expect, answer));
    }
    let seen = server.seen.events();
    server.stop().await.unwrap();
    (rows, expected_events, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_integration_answers_the_same_status_for_every_case() {
    let mut failures = Vec::new();
    let mut answers: Vec<Vec<String>> = Vec::new();
    for integration in Integration::ALL {
        let (rows, expected_events, seen) = run_table(integration).await;
        for (name, expect, answer) in &rows {
            if *answer != expect.to_string() {
                failures.push(format!(
                    "{integration}: {name}: expected {expect}, got {answer}"
                ));
            }
        }
        // The handler ran for exactly the genuine cases, in order.
        if seen != expected_events {
            failures.push(format!(
                "{integration}: the handler saw {seen:?}, expected {expected_events:?}"
            ));
        }
        // Shown with `--nocapture`: the table as each integration answered it.
        for (name, expect, answer) in &rows {
            eprintln!("{integration:>14} | {expect} | {answer:>3} | {name}");
        }
        answers.push(rows.into_iter().map(|(_, _, answer)| answer).collect());
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    // Redundant once every case matched, but it is the property that matters.
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handler_never_runs_for_a_rejected_request() {
    for integration in Integration::ALL {
        let server = TestServer::start(integration, verifier().unwrap())
            .await
            .unwrap();
        let mut rejected = 0;
        for case in cases(&server.url).into_iter().filter(|c| c.expect >= 400) {
            let status = send(&server, case.outgoing).await.unwrap();
            assert!(status >= 400, "{integration}: {}: {status}", case.name);
            rejected += 1;
        }
        assert!(rejected > 20);
        assert_eq!(
            server.seen.count(),
            0,
            "{integration}: {:?}",
            server.seen.events()
        );

        // The same server still serves a genuine delivery afterwards.
        let ping = Delivery::new(&fresh(EventKind::Ping))
            .request(&server.url, &secret().unwrap())
            .unwrap();
        let report = Sender::new().send(ping).await.unwrap();
        assert_eq!(report.status.as_u16(), 204, "{integration}");
        assert_eq!(server.seen.events(), ["ping"], "{integration}");
        server.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_smaller_configured_limit_is_honoured_by_every_integration() {
    let limit = 1024;
    let small = bedrud_webhook::Verifier::builder(secret().unwrap())
        .body_limit(limit)
        .build();
    for integration in Integration::ALL {
        let server = TestServer::start(integration, small.clone()).await.unwrap();
        let fits = Delivery::from_data(
            "room.padded",
            Timestamp::now(),
            &object(json!({"pad": "x".repeat(limit - 100)})),
        );
        assert!(fits.body().len() <= limit);
        let fits = fits.request(&server.url, &secret().unwrap()).unwrap();
        assert_eq!(
            send(&server, Outgoing::Sender(fits)).await.unwrap(),
            204,
            "{integration}"
        );

        let too_big = Delivery::from_data(
            "room.padded",
            Timestamp::now(),
            &object(json!({"pad": "x".repeat(limit)})),
        );
        let body = too_big.body().clone();
        let request = too_big.request(&server.url, &secret().unwrap()).unwrap();
        assert_eq!(
            send(&server, Outgoing::Sender(request)).await.unwrap(),
            413,
            "{integration}"
        );
        let chunked = raw(&small.sign(&body), pieces(&body, 100), Framing::Chunked);
        assert_eq!(
            send(&server, Outgoing::Raw(chunked)).await.unwrap(),
            413,
            "{integration}"
        );
        assert_eq!(server.seen.count(), 1, "{integration}");
        server.stop().await.unwrap();
    }
}
