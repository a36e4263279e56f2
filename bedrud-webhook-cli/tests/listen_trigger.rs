//! `listen`, `trigger` and `demo`, through the real binary over real
//! loopback sockets.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use bedrud_webhook::delivery::Delivery;
use bedrud_webhook::sender::Sender;
use bedrud_webhook::{EventKind, Secret, Timestamp};
use common::{Listener, SECRET, cmd, run, temp_file};
use serde_json::Value;

fn trigger(url: &str, event: &str, secret: &str, extra: &[&str]) -> common::Ran {
    run(
        cmd()
            .args(["trigger", event, "--url", url, "--secret", secret])
            .args(extra),
        &[secret],
    )
}

/// Sends `body` signed with `secret` and these header changes, in process.
fn send_body(url: &str, body: String, secret: &str, user_agent: Option<&str>) -> u16 {
    let mut request = Delivery::from_body(body)
        .request::<bytes::Bytes>(url, &Secret::new(secret).unwrap())
        .unwrap();
    if let Some(agent) = user_agent {
        request
            .headers_mut()
            .insert("user-agent", agent.parse().unwrap());
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let response = runtime.block_on(Sender::new().send(request)).unwrap();
    response.status().as_u16()
}

fn now_plus(secs: i64) -> String {
    Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() + secs)
        .unwrap()
        .to_string()
}

#[test]
fn trigger_into_listen_for_every_event() {
    let secret_file = temp_file("listen.secret", format!("{SECRET}\n").as_bytes());
    let mut listener = Listener::start(&["--secret-file", secret_file.to_str().unwrap()], &[]);
    let names = EventKind::ALL
        .iter()
        .map(|k| k.as_str())
        .chain(["room.paused"]);
    for event in names {
        let sent = trigger(&listener.url, event, SECRET, &[]);
        assert_eq!(sent.code, 0, "{event}: {}", sent.stderr);
        let want = format!("{event} → {}: 204 No Content in ", listener.url);
        assert!(sent.stdout.starts_with(&want), "{}", sent.stdout);
        let line = listener.stdout_line();
        let fields: Vec<&str> = line.split("  ").collect();
        assert_eq!(fields[1], "204", "{line}");
        assert!(Timestamp::parse(fields[0]).is_ok(), "{line}");
        match EventKind::from_name(event) {
            Some(EventKind::Ping) => assert_eq!(fields[2], "ping", "{line}"),
            Some(EventKind::RecordingCompleted) => {
                assert_eq!(fields[2], event);
                assert!(line.ends_with("  status=completed"), "{line}");
                assert!(line.contains("  fileSizeBytes=734003200  "), "{line}");
            }
            Some(_) => {
                assert_eq!(fields[2], event);
                assert!(line.contains("  roomName=weekly-sync"), "{line}");
            }
            None => assert_eq!(fields[2], "room.paused (unknown event, accepted)"),
        }
    }
    listener.assert_never_printed(SECRET);
}

#[test]
fn listen_reports_refusals_with_status_reason_peer_and_event() {
    let mut listener = Listener::start(&[], &[("BEDRUD_WEBHOOK_SECRET", SECRET)]);

    let forged = trigger(&listener.url, "room.ended", "not-the-secret", &[]);
    assert_eq!(forged.code, 1);
    assert!(
        forged.stdout.contains(": 401 Unauthorized in "),
        "{}",
        forged.stdout
    );
    assert!(
        forged
            .stderr
            .contains("the receiver answered: the signature does not match"),
        "{}",
        forged.stderr
    );
    let line = listener.stdout_line();
    assert!(
        line.contains("  401  refused  signature_mismatch  peer=127.0.0.1:"),
        "{line}"
    );
    assert!(
        line.contains("  event=room.ended  the signature does not match"),
        "{line}"
    );

    let stale = trigger(
        &listener.url,
        "ping",
        SECRET,
        &["--timestamp", "2026-04-01T12:34:56Z"],
    );
    assert_eq!(stale.code, 1);
    let line = listener.stdout_line();
    assert!(
        line.contains("  401  refused  timestamp_too_old  peer="),
        "{line}"
    );

    let wrong_path = format!("{}/elsewhere", listener.url);
    let lost = trigger(&wrong_path, "ping", SECRET, &[]);
    assert_eq!(lost.code, 1);
    assert!(
        lost.stdout.contains(": 404 Not Found in "),
        "{}",
        lost.stdout
    );
    let line = listener.stdout_line();
    assert!(line.contains("  404  refused  not_found  peer="), "{line}");
    assert!(
        line.ends_with("POST /webhooks/bedrud/elsewhere: deliveries go to POST /webhooks/bedrud"),
        "{line}"
    );

    // The unsigned event header is shown quoted when it holds odd characters.
    let mut request = Delivery::sample(EventKind::Ping)
        .request::<bytes::Bytes>(&listener.url, &Secret::new("forger").unwrap())
        .unwrap();
    request
        .headers_mut()
        .insert("x-bedrud-event", r#"a" b"#.parse().unwrap());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(Sender::new().send(request)).unwrap();
    let line = listener.stdout_line();
    assert!(line.contains(r#"  event="a\" b"  "#), "{line}");
    listener.assert_never_printed(SECRET);
}

#[test]
fn listen_generates_a_secret_when_none_is_given() {
    let mut listener = Listener::start(&[], &[]);
    let announced = listener
        .seen
        .iter()
        .position(|l| l.starts_with("no secret given"))
        .expect("the generated secret is announced");
    let generated = listener.seen[announced + 1].trim().to_owned();
    assert_eq!(generated.len(), 32, "{generated}");
    assert!(
        generated
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    );

    let sent = trigger(&listener.url, "participant.joined", &generated, &[]);
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    assert!(listener.stdout_line().contains("  204  participant.joined"));
}

#[test]
fn listen_accepts_every_secret_of_a_rotation_and_enforces_its_limits() {
    let mut listener = Listener::start(
        &[
            "--secret",
            "new-secret",
            "--secret",
            "old-secret",
            "--max-body",
            "200",
            "--tolerance",
            "60",
        ],
        &[],
    );
    let banner = "(secrets: 2, tolerance ±60 s, body limit 200 bytes, replay guard in memory)";
    assert!(
        listener.seen.iter().any(|l| l.contains(banner)),
        "{:?}",
        listener.seen
    );
    for secret in ["new-secret", "old-secret"] {
        assert_eq!(trigger(&listener.url, "ping", secret, &[]).code, 0);
        assert!(listener.stdout_line().contains("  204  ping"));
    }
    let too_big = trigger(&listener.url, "recording.completed", "new-secret", &[]);
    assert_eq!(too_big.code, 1);
    assert!(
        too_big.stdout.contains(": 413 Payload Too Large in "),
        "{}",
        too_big.stdout
    );
    assert!(
        listener
            .stdout_line()
            .contains("  413  refused  body_too_large  ")
    );

    let stale = trigger(
        &listener.url,
        "ping",
        "new-secret",
        &["--timestamp", &now_plus(-120)],
    );
    assert_eq!(stale.code, 1);
    assert!(listener.stdout_line().contains("timestamp_too_old"));
    listener.assert_never_printed("new-secret");
    listener.assert_never_printed("old-secret");
}

#[test]
fn listen_can_turn_the_timestamp_check_off_and_resolves_host_names() {
    let mut listener = Listener::start_at(
        "localhost:0",
        &["--secret", SECRET, "--no-timestamp-check"],
        &[],
    );
    assert!(
        listener
            .seen
            .iter()
            .any(|l| l.contains("no timestamp check"))
    );
    let old = trigger(
        &listener.url,
        "ping",
        SECRET,
        &["--timestamp", "2020-01-01T00:00:00Z"],
    );
    assert_eq!(old.code, 0, "{}", old.stderr);
    assert!(listener.stdout_line().contains("  204  ping"));
}

#[test]
fn listen_json_prints_one_json_line_per_request() {
    let mut listener = Listener::start(&["--secret", SECRET, "--json"], &[]);
    let data = r#"{ "reason": "<maintenance>", "roomId": "r1" }"#;
    let sent = trigger(&listener.url, "room.paused", SECRET, &["--data", data]);
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    let line: Value = serde_json::from_str(&listener.stdout_line()).unwrap();
    assert_eq!(line["event"], "room.paused");
    assert_eq!(line["data"]["reason"], "<maintenance>");
    assert_eq!(line["outcome"], "accepted");
    assert_eq!(line["status"], 204);
    assert!(Timestamp::parse(line["timestamp"].as_str().unwrap()).is_ok());
    // The lines for people go to standard error, so standard output stays JSON.
    assert!(
        listener
            .stderr_line()
            .contains("  204  room.paused (unknown event, accepted)")
    );
    assert_eq!(trigger(&listener.url, "ping", "wrong", &[]).code, 1);
    assert!(
        listener
            .stderr_line()
            .contains("  refused  signature_mismatch  ")
    );
    let refused: Value = serde_json::from_str(&listener.stdout_line()).unwrap();
    assert_eq!(refused["outcome"], "refused");
    assert_eq!(refused["event"], "ping");
}

#[test]
fn listen_strict_reports_departures_from_bedruds_wire_format() {
    let mut listener = Listener::start(&["--secret", SECRET, "--strict"], &[]);
    assert_eq!(trigger(&listener.url, "room.ended", SECRET, &[]).code, 0);
    assert!(listener.stdout_line().contains("  204  room.ended"));
    assert_eq!(
        listener.stdout_line(),
        "    strict: matches Bedrud's wire format exactly"
    );

    assert_eq!(
        trigger(&listener.url, "ping", SECRET, &["--legacy-headers"]).code,
        0
    );
    assert!(listener.stdout_line().contains("  204  ping"));
    let reported = [
        listener.stdout_line(),
        listener.stdout_line(),
        listener.stdout_line(),
    ];
    assert!(
        reported[0].contains("X-Webhook-Signature, the admin guide's name"),
        "{reported:?}"
    );
    assert!(reported[1].contains("X-Webhook-Event"), "{reported:?}");
    assert!(
        reported[2].contains("no X-Bedrud-Timestamp header"),
        "{reported:?}"
    );

    // A sender that pretty-prints, orders keys its own way, dates with an
    // offset and has its own User-Agent: genuine, so accepted, and reported.
    let offset_form = Timestamp::now().to_string().replace('Z', "+00:00");
    let body = format!(
        "{{\"event\": \"room.created\", \"timestamp\": \"{offset_form}\", \"data\": {{\"roomName\": \"Q&A\", \"roomId\": \"r1\", \"userId\": \"u1\"}}}}"
    );
    assert_eq!(
        send_body(&listener.url, body, SECRET, Some("node-fetch")),
        204
    );
    assert!(listener.stdout_line().contains("  204  room.created"));
    let all: Vec<String> = (0..5).map(|_| listener.stdout_line()).collect();
    let all = all.join("\n");
    assert!(
        all.contains("User-Agent is node-fetch; Bedrud sends Go-http-client/1.1"),
        "{all}"
    );
    assert!(
        all.contains(&format!("timestamp {offset_form} is not written")),
        "{all}"
    );
    assert!(all.contains("whitespace between tokens"), "{all}");
    assert!(
        all.contains("keys of the envelope out of byte order: data after timestamp"),
        "{all}"
    );
    assert!(
        all.contains(r#""Q&A" is written "Q\u0026A" by Bedrud (0 more like it)"#),
        "{all}"
    );
}

/// The JSON lines a finished listener printed.
fn json_lines(stdout: &[String]) -> Vec<Value> {
    stdout
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn strict_count_is_a_conformance_check_for_ci() {
    // A conforming sender: exit 0, and one JSON line per delivery.
    let args = [
        "--secret",
        SECRET,
        "--strict",
        "--count",
        "2",
        "--timeout",
        "20",
        "--json",
    ];
    let mut listener = Listener::start(&args, &[]);
    assert_eq!(trigger(&listener.url, "room.created", SECRET, &[]).code, 0);
    assert_eq!(trigger(&listener.url, "ping", SECRET, &[]).code, 0);
    let (code, stdout, stderr) = listener.finish();
    assert_eq!(code, 0, "{stderr:?}");
    assert!(
        stderr
            .iter()
            .any(|l| l == "2 requests: 0 refused, 0 departing from Bedrud's wire format")
    );
    let lines = json_lines(&stdout);
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[0]["outcome"].as_str(), lines[0]["status"].as_u64()),
        (Some("accepted"), Some(204))
    );
    assert_eq!(lines[0]["event"], "room.created");
    assert_eq!(lines[1]["departures"], serde_json::json!([]));

    // A refused delivery fails the check.
    let mut listener = Listener::start(&["--secret", SECRET, "--count", "2", "--json"], &[]);
    assert_eq!(trigger(&listener.url, "ping", SECRET, &[]).code, 0);
    assert_eq!(trigger(&listener.url, "ping", "forged", &[]).code, 1);
    let (code, stdout, _) = listener.finish();
    assert_eq!(code, 1);
    let refused = &json_lines(&stdout)[1];
    assert_eq!(refused["outcome"], "refused");
    assert_eq!(refused["reason"], "signature_mismatch");
    assert_eq!(refused["status"], 401);
    assert!(refused["peer"].as_str().unwrap().starts_with("127.0.0.1:"));

    // So does a genuine delivery that departs from the wire format.
    let args = ["--secret", SECRET, "--strict", "--count", "1", "--json"];
    let mut listener = Listener::start(&args, &[]);
    assert_eq!(
        trigger(&listener.url, "ping", SECRET, &["--legacy-headers"]).code,
        0
    );
    let (code, stdout, stderr) = listener.finish();
    assert_eq!(code, 1, "{stderr:?}");
    assert_eq!(
        json_lines(&stdout)[0]["departures"][0]["code"],
        "webhook_signature_header"
    );
    assert!(
        stderr
            .iter()
            .any(|l| l.ends_with("1 requests: 0 refused, 1 departing from Bedrud's wire format"))
    );

    // And a sender that never comes.
    let mut listener =
        Listener::start(&["--secret", SECRET, "--count", "1", "--timeout", "1"], &[]);
    let (code, _, stderr) = listener.finish();
    assert_eq!(code, 1);
    assert!(
        stderr
            .iter()
            .any(|l| l == "0 of 1 expected requests: 0 refused"),
        "{stderr:?}"
    );
}

#[test]
fn a_flood_of_forgeries_or_replays_is_not_a_flood_of_lines() {
    let mut listener = Listener::start(&["--secret", SECRET, "--count", "41"], &[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sender = Sender::new();
    let send = |request| runtime.block_on(sender.send(request)).unwrap().status();
    let forger = Secret::new("forger").unwrap();
    for _ in 0..30 {
        let request = Delivery::sample(EventKind::Ping).request(&listener.url, &forger);
        assert_eq!(send(request.unwrap()), 401);
    }
    let genuine = Delivery::sample(EventKind::Ping)
        .request::<bytes::Bytes>(&listener.url, &Secret::new(SECRET).unwrap())
        .unwrap();
    assert_eq!(send(genuine.clone()), 204);
    for _ in 0..10 {
        assert_eq!(send(genuine.clone()), 200);
    }
    let (code, stdout, stderr) = listener.finish();
    assert_eq!(code, 1);
    let refused = stdout
        .iter()
        .filter(|l| l.contains("  refused  signature_mismatch  "))
        .count();
    assert_eq!(refused, 20, "{stdout:?}");
    assert!(
        stdout.iter().any(|l| l.contains("  204  ping")),
        "{stdout:?}"
    );
    assert!(
        !stdout.iter().any(|l| l.contains("  duplicate  ")),
        "{stdout:?}"
    );
    assert!(
        stdout
            .last()
            .unwrap()
            .ends_with("  20 more not shown: duplicate=10 signature_mismatch=10"),
        "{stdout:?}"
    );
    assert!(
        stderr
            .iter()
            .any(|l| l == "41 requests: 30 refused, 10 received again"),
        "{stderr:?}"
    );
}

#[test]
fn slow_heads_are_cut_and_connections_are_capped() {
    let listener = Listener::start(&["--secret", SECRET, "--max-connections", "1"], &[]);
    let addr = listener
        .url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    // The one connection allowed, holding half a request head.
    let mut slow = TcpStream::connect(&addr).unwrap();
    slow.write_all(b"POST /webhooks/bedrud HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = Instant::now();
    let mut waiting = TcpStream::connect(&addr).unwrap();
    waiting
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut answer = String::new();
    waiting.read_to_string(&mut answer).unwrap();
    // Answered only once the slow one was cut, at the 5 s head timeout.
    let waited = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(waited >= Duration::from_secs(4), "{waited:?}");
    // The slow one was closed, not left waiting.
    slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut rest = Vec::new();
    if let Err(e) = slow.read_to_end(&mut rest) {
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}");
    }
}

#[test]
fn running_out_of_file_descriptors_is_waited_out() {
    let mut listener = Listener::start_with_fd_limit(32, &["--secret", SECRET]);
    let addr = listener
        .url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    // Idle connections until accepting one more fails with EMFILE.
    let idle: Vec<TcpStream> = (0..48)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    let line = listener.stderr_line();
    assert!(line.contains("cannot accept connections: "), "{line}");
    drop(idle);
    // Still listening once they are gone.
    thread::sleep(Duration::from_secs(2));
    assert_eq!(trigger(&listener.url, "ping", SECRET, &[]).code, 0);
    assert!(listener.stdout_line().contains("  204  ping"));
}

#[test]
fn trigger_errors_name_the_problem() {
    let ran = trigger("not a url", "ping", SECRET, &[]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.starts_with("error: --url not a url: "),
        "{}",
        ran.stderr
    );
    let ran = trigger("/relative", "ping", SECRET, &[]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("absolute http:// or https:// URL"),
        "{}",
        ran.stderr
    );

    let ran = trigger("http://127.0.0.1:9/x", "ping", SECRET, &["--data", "[1]"]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("--data must be a JSON object"),
        "{}",
        ran.stderr
    );

    let ran = trigger(
        "http://127.0.0.1:9/x",
        "ping",
        SECRET,
        &["--timestamp", "noon"],
    );
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("write it like 2026-04-01T12:34:56Z"),
        "{}",
        ran.stderr
    );

    // Nothing listens on a port just freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ran = trigger(&format!("http://127.0.0.1:{port}/x"), "ping", SECRET, &[]);
    assert_eq!(ran.code, 1);
    assert!(
        ran.stderr.contains("could not connect to 127.0.0.1:"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("try bedrud-webhook listen"),
        "{}",
        ran.stderr
    );

    // https:// against the plain-HTTP listener says so.
    let listener = Listener::start(&["--secret", SECRET], &[]);
    let https = listener.url.replace("http://", "https://");
    let ran = trigger(&https, "ping", SECRET, &[]);
    assert_eq!(ran.code, 1);
    assert!(
        ran.stderr.contains("speaks plain HTTP, not TLS"),
        "{}",
        ran.stderr
    );
}

#[test]
fn listen_refuses_bad_settings_and_warns_about_odd_ones() {
    let ran = run(
        cmd().args(["listen", "--secret", SECRET, "--path", "hooks"]),
        &[SECRET],
    );
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("--path \"hooks\" must start with /"),
        "{}",
        ran.stderr
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let ran = run(
        cmd().args(["listen", "--secret", SECRET, "--addr", &addr]),
        &[SECRET],
    );
    assert_eq!(ran.code, 1);
    assert!(
        ran.stderr.contains(&format!("cannot listen on {addr}")),
        "{}",
        ran.stderr
    );

    let ran = run(
        cmd().args(["listen", "--secret", SECRET, "--addr", "nowhere"]),
        &[SECRET],
    );
    assert_eq!(ran.code, 1);
    assert!(
        ran.stderr.contains("cannot listen on nowhere"),
        "{}",
        ran.stderr
    );

    let spaced = " spaced secret ";
    let listener = Listener::start(&["--secret", spaced, "--max-body", "0"], &[]);
    let warnings = listener.seen.join("\n");
    assert!(
        warnings.contains("warning: --max-body 0 refuses every delivery"),
        "{warnings}"
    );
    assert!(warnings.contains("warning: the secret from --secret begins or ends with whitespace"));
    listener.assert_never_printed(spaced);
}

#[test]
fn demo_gets_every_answer_right() {
    let ran = run(cmd().arg("demo"), &[]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout.contains("All 18 answers were as expected."),
        "{}",
        ran.stdout
    );
    assert!(!ran.stdout.contains("FAIL"), "{}", ran.stdout);
    let replayed = "room.ended again (a replay)     200 duplicate             200 duplicate ";
    assert!(ran.stdout.contains(replayed), "{}", ran.stdout);
    assert!(
        ran.stdout.contains("and the replay guard:"),
        "{}",
        ran.stdout
    );
    for reason in [
        "signature_mismatch",
        "timestamp_too_old",
        "body_too_large",
        "header_mismatch",
    ] {
        assert!(ran.stdout.contains(reason), "{reason}");
    }
}

#[test]
fn a_delivery_received_again_is_acknowledged_not_handled_and_not_a_failure() {
    let args = ["--secret", SECRET, "--json", "--count", "3"];
    let mut listener = Listener::start(&args, &[]);
    // The same second, the same event: the same signed bytes.
    let at = now_plus(-5);
    let first = trigger(&listener.url, "room.ended", SECRET, &["--timestamp", &at]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(listener.stderr_line().contains("  204  room.ended  "));
    let again = trigger(&listener.url, "room.ended", SECRET, &["--timestamp", &at]);
    assert_eq!(
        again.code, 0,
        "a duplicate is answered 2xx: {}",
        again.stderr
    );
    assert!(again.stdout.contains(": 200 OK in "), "{}", again.stdout);
    assert!(
        again
            .stderr
            .starts_with("the receiver answered: duplicate delivery"),
        "{}",
        again.stderr
    );
    let line = listener.stderr_line();
    assert!(line.contains("  200  duplicate  peer=127.0.0.1:"), "{line}");
    assert!(
        line.ends_with("  event=room.ended  already received; not handled again"),
        "{line}"
    );
    // Another event is another delivery.
    assert_eq!(
        trigger(&listener.url, "ping", SECRET, &["--timestamp", &at]).code,
        0
    );
    let (code, stdout, stderr) = listener.finish();
    assert_eq!(code, 0, "a duplicate does not fail the run: {stderr:?}");
    assert!(
        stderr
            .iter()
            .any(|l| l == "3 requests: 0 refused, 1 received again"),
        "{stderr:?}"
    );
    let lines = json_lines(&stdout);
    let outcomes: Vec<_> = lines.iter().map(|l| l["outcome"].as_str()).collect();
    assert_eq!(
        outcomes,
        [Some("accepted"), Some("duplicate"), Some("accepted")]
    );
    let duplicate = &lines[1];
    assert_eq!(
        (
            &duplicate["status"],
            &duplicate["reason"],
            &duplicate["event"]
        ),
        (
            &serde_json::json!(200),
            &serde_json::json!("duplicate"),
            &serde_json::json!("room.ended")
        )
    );
    assert!(duplicate.get("data").is_none(), "{duplicate}");
}

#[test]
fn the_replay_guard_can_be_turned_off() {
    // REDIS_URL from the environment does not stand in the way.
    let env = [("REDIS_URL", "not a url")];
    let args = [
        "--secret",
        SECRET,
        "--no-replay-guard",
        "--no-timestamp-check",
    ];
    let mut listener = Listener::start(&args, &env);
    let banner = "(secrets: 1, no timestamp check, body limit 65536 bytes, replay guard off)";
    assert!(
        listener.seen.iter().any(|l| l.contains(banner)),
        "{:?}",
        listener.seen
    );
    for _ in 0..2 {
        let old = ["--timestamp", "2020-01-01T00:00:00Z"];
        assert_eq!(trigger(&listener.url, "ping", SECRET, &old).code, 0);
        assert!(listener.stdout_line().contains("  204  ping"));
    }
}

#[test]
fn the_redis_store_fails_closed_and_a_bad_url_is_a_usage_error() {
    let ran = run(
        cmd().args(["listen", "--secret", SECRET, "--redis", "localhost:6379"]),
        &[SECRET],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.starts_with("error: --redis localhost:6379: "),
        "{}",
        ran.stderr
    );

    // Nothing listens on port 1: no delivery is handled unchecked.
    let env = [("REDIS_URL", "redis://127.0.0.1:1/")];
    let mut listener = Listener::start(&["--secret", SECRET], &env);
    assert!(
        listener
            .seen
            .iter()
            .any(|l| l.contains(", replay guard in Redis redis://127.0.0.1:1/)")),
        "{:?}",
        listener.seen
    );
    let sent = trigger(&listener.url, "ping", SECRET, &[]);
    assert_eq!(sent.code, 1);
    assert!(
        sent.stdout.contains(": 503 Service Unavailable in "),
        "{}",
        sent.stdout
    );
    let line = listener.stdout_line();
    assert!(
        line.contains("  503  refused  replay_store_unavailable  "),
        "{line}"
    );
}
