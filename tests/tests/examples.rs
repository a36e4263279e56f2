//! The example receivers (`examples/`) run as a user runs them: the built
//! binary, configured only by `BEDRUD_WEBHOOK_SECRET` and `ADDR` (no
//! `REDIS_URL`, so the replay guard is in memory), sent deliveries over real
//! HTTP by the reference sender. For each of `axum_receiver`,
//! `actix_receiver` and `tower_receiver`:
//!
//! - a genuine delivery gets a 2xx and one log line with its event and data,
//!   a newline in a signed room name escaped (no forged second line); an
//!   unknown event too; a forged one gets 401 and a warning; the secret is
//!   never logged;
//! - the same genuine delivery sent twice gets a 2xx twice, the second
//!   marked duplicate, and the handler runs (and logs) once;
//! - a request head that never ends is cut at the head timeout;
//! - run out of file descriptors, it logs, keeps accepting, and serves again
//!   once descriptors are free;
//! - without the secret, it exits at once, unsuccessfully, naming
//!   `BEDRUD_WEBHOOK_SECRET`;
//! - with `ADMIN_ADDR`, `GET /metrics` there counts what it answered.
//!
//! `cargo test --workspace` builds the examples before the tests run; when
//! they are missing or older than their sources, this test builds them
//! (`common/mod.rs`, shared with `replay_redis.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bedrud_webhook::delivery::Delivery;
use bedrud_webhook::{Envelope, Event, RoomData, Timestamp};

mod common;
use common::{EXAMPLES, Running, SECRET, handler_lines, send};

/// The examples' request-head timeout.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

fn serves_deliveries(name: &str) {
    let running = Running::listening(name, &[], None);
    // A request head that never ends: cut at the head timeout.
    let mut stalled = TcpStream::connect(running.addr).unwrap();
    stalled
        .write_all(b"POST /webhooks/bedrud HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let stalled_at = Instant::now();

    let injected = "examples-smoke-test\nINJECTED verified delivery";
    let room = RoomData::new("r-smoke", injected, "u-smoke");
    let genuine = Delivery::new(&Envelope::new(Event::RoomEnded(room), Timestamp::now()));
    let unknown_body = format!(
        r#"{{"data":{{"lockedBy":"u-smoke"}},"event":"room.locked","timestamp":"{}"}}"#,
        Timestamp::now()
    );
    let unknown = Delivery::from_body(unknown_body);
    let answers = send(
        &running.url(),
        &[
            (&genuine, SECRET),
            (&genuine, "not-the-secret"),
            (&unknown, SECRET),
        ],
    );

    stalled
        .set_read_timeout(Some(HEAD_TIMEOUT + Duration::from_secs(5)))
        .unwrap();
    let read = stalled.read(&mut [0u8; 256]);
    let head_cut_after = stalled_at.elapsed();
    let closed = match read {
        Ok(_) => true,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    };
    let log = running.stop();
    assert_eq!(answers, ["204", "401", "204"], "{name}:\n{log}");
    assert!(
        closed && head_cut_after < HEAD_TIMEOUT + Duration::from_secs(3),
        "{name} kept a stalled request head for {head_cut_after:?}:\n{log}"
    );

    let handled = handler_lines(&log);
    assert_eq!(handled.len(), 2, "{name}: one line per delivery:\n{log}");
    assert!(
        handled[0].contains("room.ended") && handled[0].contains(r"examples-smoke-test\nINJECTED"),
        "{name}: {log}"
    );
    assert!(
        handled[1].contains("room.locked") && handled[1].contains("lockedBy"),
        "{name}: {log}"
    );
    assert!(
        !log.lines().any(|l| l.starts_with("INJECTED")),
        "{name}: {log}"
    );
    assert!(
        log.contains("signature_mismatch"),
        "{name}: the forgery is not logged:\n{log}"
    );
    assert!(!log.contains(SECRET), "{name} logged its secret:\n{log}");
}

fn runs_a_replayed_delivery_once(name: &str) {
    let running = Running::listening(name, &[], None);
    let room = RoomData::new("r-replay", "replayed", "u-replay");
    let delivery = Delivery::new(&Envelope::new(Event::RoomEnded(room), Timestamp::now()));
    let answers = send(&running.url(), &[(&delivery, SECRET), (&delivery, SECRET)]);
    let log = running.stop();
    assert_eq!(answers, ["204", "200 duplicate"], "{name}:\n{log}");
    assert_eq!(
        handler_lines(&log).len(),
        1,
        "{name}: the handler ran twice:\n{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("INFO") && l.contains("reason=\"duplicate\"")),
        "{name}: the duplicate is not logged:\n{log}"
    );
}

fn survives_running_out_of_file_descriptors(name: &str) {
    let mut running = Running::listening(name, &[], Some(64));
    // More idle connections than it has descriptors for.
    let idle: Vec<TcpStream> = (0..100)
        .filter_map(|_| TcpStream::connect_timeout(&running.addr, Duration::from_secs(2)).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    drop(idle);
    std::thread::sleep(Duration::from_millis(500));
    let delivery = Delivery::new(&Envelope::new(Event::Ping, Timestamp::now()));
    let answers = send(&running.url(), &[(&delivery, SECRET)]);
    let exited = running.child.try_wait().ok().flatten();
    let log = running.stop();
    assert_eq!(exited, None, "{name} exited:\n{log}");
    assert_eq!(answers, ["204"], "{name}:\n{log}");
    // actix-web logs its accept errors through `log`, which is not set up.
    if name != "actix_receiver" {
        assert!(
            log.contains("accept failed"),
            "{name} never ran out of descriptors:\n{log}"
        );
    }
}

fn refuses_to_start_without_a_secret(name: &str) {
    let mut running = Running::spawn(name, &[], None);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = running.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "{name} still runs without a secret"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = running.stop();
    assert!(!status.success(), "{name} exited with {status}:\n{log}");
    // Said as Display: one `error: ` line, no Debug's `Error: ` or quotes.
    let said = "error: set BEDRUD_WEBHOOK_SECRET to the webhook's secret from Bedrud's admin";
    assert!(log.lines().any(|l| l.trim() == said), "{name}: {log}");
    assert!(
        !log.contains("Error: ") && !log.contains('"'),
        "{name}: {log}"
    );
}

#[test]
fn axum_receiver_serves_deliveries() {
    serves_deliveries("axum_receiver");
}

#[test]
fn actix_receiver_serves_deliveries() {
    serves_deliveries("actix_receiver");
}

#[test]
fn tower_receiver_serves_deliveries() {
    serves_deliveries("tower_receiver");
}

#[test]
fn axum_receiver_runs_a_replayed_delivery_once() {
    runs_a_replayed_delivery_once("axum_receiver");
}

#[test]
fn actix_receiver_runs_a_replayed_delivery_once() {
    runs_a_replayed_delivery_once("actix_receiver");
}

#[test]
fn tower_receiver_runs_a_replayed_delivery_once() {
    runs_a_replayed_delivery_once("tower_receiver");
}

#[test]
fn every_receiver_survives_running_out_of_file_descriptors() {
    for name in EXAMPLES {
        survives_running_out_of_file_descriptors(name);
    }
}

#[test]
fn every_receiver_refuses_to_start_without_a_secret() {
    for name in EXAMPLES {
        refuses_to_start_without_a_secret(name);
    }
}

/// With `ADMIN_ADDR`, each receiver serves its counts in Prometheus text.
#[test]
fn every_receiver_exports_metrics_at_admin_addr() {
    for name in EXAMPLES {
        let admin = format!("127.0.0.1:{}", common::free_port());
        let running = Running::listening(name, &[("ADMIN_ADDR", &admin)], None);
        let room = RoomData::new("r-metrics", "metrics", "u-metrics");
        let genuine = Delivery::new(&Envelope::new(Event::RoomEnded(room), Timestamp::now()));
        let answers = send(
            &running.url(),
            &[(&genuine, SECRET), (&genuine, "not-the-secret")],
        );
        let mut scrape = TcpStream::connect(&admin).unwrap();
        scrape
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        scrape.read_to_string(&mut text).unwrap();
        let log = running.stop();
        assert_eq!(answers, ["204", "401"], "{name}:\n{log}");
        assert!(text.starts_with("HTTP/1.1 200"), "{name}: {text}");
        for counted in [
            r#"bedrud_webhook_deliveries_total{outcome="accepted",reason="",event="room.ended"} 1"#,
            r#"bedrud_webhook_deliveries_total{outcome="refused",reason="signature_mismatch",event="room.ended"} 1"#,
        ] {
            assert!(text.contains(counted), "{name}: no {counted} in\n{text}");
        }
    }
}
