//! `listen --admin`: the metrics an operator scrapes, on a listener of its
//! own, and the secret-mismatch alarm in `listen`'s output.
//!
//! - after 3 genuine deliveries, 2 forgeries, 1 replay and 1 oversized body,
//!   `GET /metrics` counts exactly those, and `promtool check metrics` (from
//!   Debian's `prometheus` package, which `.ci/test` installs) accepts it;
//! - with a token, a request without `Authorization: Bearer` gets 401;
//!   a non-loopback address without a token is refused (exit 2);
//! - 5 deliveries signed with another secret print the alarm line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

use bedrud_webhook::Timestamp;
use common::{Listener, SECRET, cmd, run};

const OTHER: &str = "not-the-secret-bedrud-signs-with";

fn trigger(url: &str, secret: &str, extra: &[&str]) -> common::Ran {
    let mut command = cmd();
    command.args(["trigger", "room.created", "--url", url, "--secret", secret]);
    run(command.args(extra), &[secret])
}

/// The admin address from `listen`'s "metrics on http://ADDR/metrics" line.
fn admin_addr(listener: &mut Listener) -> String {
    loop {
        let line = listener.stderr_line();
        if let Some(rest) = line.strip_prefix("metrics on http://") {
            return rest.trim_end_matches("/metrics").to_owned();
        }
    }
}

/// `GET path` on `addr` with an optional bearer token: status and body.
fn get(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    // Small bodies come whole or in one chunk: drop chunked framing lines.
    let body = match head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        true => body
            .split("\r\n")
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, part)| part)
            .collect::<Vec<_>>()
            .join(""),
        false => body.to_owned(),
    };
    (status, body)
}

/// The value of the sample whose name and labels contain every one of `parts`.
fn sample(text: &str, parts: &[&str]) -> f64 {
    let values = text
        .lines()
        .filter(|l| !l.starts_with('#') && parts.iter().all(|p| l.contains(p)));
    values
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn metrics_count_every_outcome_and_pass_promtool() {
    let mut listener = Listener::start(
        &["--secret", SECRET, "--max-body", "2000", "--admin", "0"],
        &[],
    );
    let admin = admin_addr(&mut listener);
    let url = listener.url.clone();
    // Three distinct deliveries (the same event in the same second would be
    // the same bytes), then the third's signed bytes again: a replay.
    let room = |n: u32| format!(r#"{{"roomId": "r{n}", "roomName": "n", "userId": "u"}}"#);
    let at = Timestamp::now().to_string();
    for n in 1..=3 {
        let sent = trigger(&url, SECRET, &["--data", &room(n), "--timestamp", &at]);
        assert_eq!(sent.code, 0, "{}", sent.stdout);
    }
    let replayed = trigger(&url, SECRET, &["--data", &room(3), "--timestamp", &at]);
    assert!(replayed.stdout.contains("200"), "{}", replayed.stdout);
    for _ in 0..2 {
        assert_eq!(trigger(&url, OTHER, &[]).code, 1);
    }
    let big = format!(r#"{{"pad": "{}"}}"#, "x".repeat(3000));
    let oversized = trigger(&url, SECRET, &["--data", &big]);
    assert!(oversized.stdout.contains("413"), "{}", oversized.stdout);

    let (status, text) = get(&admin, "/metrics", None);
    assert_eq!(status, 200, "{text}");
    let total = "bedrud_webhook_deliveries_total";
    let count = |parts: &[&str]| sample(&text, &[&[total][..], parts].concat());
    assert_eq!(count(&[r#"outcome="accepted""#]), 3.0, "{text}");
    assert_eq!(count(&[r#"outcome="duplicate""#]), 1.0, "{text}");
    assert_eq!(count(&[r#"reason="signature_mismatch""#]), 2.0, "{text}");
    assert_eq!(count(&[r#"reason="body_too_large""#]), 1.0, "{text}");
    assert_eq!(count(&[]), 7.0, "{text}");
    assert_eq!(
        count(&[r#"outcome="accepted""#, r#"event="room.created""#]),
        3.0
    );
    let checked = "bedrud_webhook_check_duration_seconds_count";
    assert_eq!(sample(&text, &[checked]), 7.0, "{text}");

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (apt-get install prometheus; .ci/test does)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let checked = promtool.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    listener.assert_never_printed(SECRET);
}

#[test]
fn the_admin_listener_takes_a_token_and_refuses_a_public_address_without_one() {
    let token = "an-operator-token";
    let mut listener = Listener::start(
        &[
            "--secret",
            SECRET,
            "--admin",
            "127.0.0.1:0",
            "--admin-token",
            token,
        ],
        &[],
    );
    let admin = admin_addr(&mut listener);
    assert_eq!(get(&admin, "/metrics", None).0, 401);
    assert_eq!(get(&admin, "/metrics", Some("a-guess")).0, 401);
    assert_eq!(get(&admin, "/metrics", Some(token)).0, 200);
    listener.assert_never_printed(token);

    let mut public = cmd();
    public.args(["listen", "--secret", SECRET, "--addr", "127.0.0.1:0"]);
    let refused = run(public.args(["--admin", "0.0.0.0:0"]), &[SECRET]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("--admin-token"),
        "{}",
        refused.stderr
    );
}

#[test]
fn listen_prints_the_secret_mismatch_alarm() {
    let mut listener = Listener::start(&["--secret", SECRET], &[]);
    for _ in 0..5 {
        assert_eq!(trigger(&listener.url, OTHER, &[]).code, 1);
    }
    let alarm = loop {
        let line = listener.stderr_line();
        if line.contains("probably differs") {
            break line;
        }
    };
    assert!(alarm.contains("ERROR"), "{alarm}");
    assert!(alarm.contains("--secret NEW --secret OLD"), "{alarm}");
}
