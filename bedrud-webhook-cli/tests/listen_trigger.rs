//! `listen`, `trigger` and `demo`, through the real binary over real
//! loopback sockets.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bedrud_webhook::sender::{Delivery, Sender};
use bedrud_webhook::types::{EventKind, Timestamp};
use bedrud_webhook::verify::Secret;
use common::{Listener, SECRET, cmd, run, temp_file};

fn trigger(url: &str, event: &str, secret: &str, extra: &[&str]) -> common::Ran {
    run(
        cmd()
            .args(["trigger", event, "--url", url, "--secret", secret])
            .args(extra),
        &[secret],
    )
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
        assert!(
            sent.stdout
                .starts_with(&format!("{event} → {}: 204 No Content in ", listener.url)),
            "{}",
            sent.stdout
        );
        let line = listener.stdout_line();
        let fields: Vec<&str> = line.split("  ").collect();
        assert_eq!(fields[1], "204", "{line}");
        assert!(Timestamp::parse(fields[0]).is_ok(), "{line}");
        match event.parse::<EventKind>() {
            Ok(EventKind::Ping) => assert_eq!(fields[2], "ping", "{line}"),
            Ok(EventKind::RecordingCompleted) => {
                assert_eq!(fields[2], event);
                assert!(line.contains("  status=completed"), "{line}");
            }
            Ok(_) => {
                assert_eq!(fields[2], event);
                assert!(line.contains("  roomName=weekly-sync"), "{line}");
            }
            Err(_) => assert_eq!(fields[2], "room.paused (unknown event, accepted)"),
        }
    }
    listener.assert_never_printed(SECRET);
}

#[test]
fn listen_reports_refusals_and_trigger_exits_1() {
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
            .contains("the receiver answered: signature mismatch"),
        "{}",
        forged.stderr
    );
    let line = listener.stdout_line();
    assert!(
        line.contains("  401  rejected  signature_mismatch: "),
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
        line.contains("  401  rejected  timestamp_too_old: stale delivery"),
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
    assert!(
        line.contains("  404  rejected  not_found: nothing at POST /webhooks/bedrud/elsewhere"),
        "{line}"
    );
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
    assert!(
        listener
            .seen
            .iter()
            .any(|l| l.contains("2 secrets, tolerance ±60 s, body limit 200 bytes"))
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
            .contains("  413  rejected  body_too_large: ")
    );

    let two_minutes_ago =
        Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() - 120).unwrap();
    let stale = trigger(
        &listener.url,
        "ping",
        "new-secret",
        &["--timestamp", &two_minutes_ago.to_string()],
    );
    assert_eq!(stale.code, 1);
    assert!(listener.stdout_line().contains("timestamp_too_old"));
    listener.assert_never_printed("new-secret");
    listener.assert_never_printed("old-secret");
}

#[test]
fn listen_json_prints_each_verified_envelope_as_a_line() {
    let mut listener = Listener::start(&["--secret", SECRET, "--json"], &[]);
    let sent = trigger(
        &listener.url,
        "room.paused",
        SECRET,
        &[
            "--data",
            r#"{ "reason": "<maintenance>", "roomId": "r1" }"#,
            "--timestamp",
            &Timestamp::now().to_string(),
        ],
    );
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    let line = listener.stdout_line();
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(value["event"], "room.paused");
    assert_eq!(value["data"]["reason"], "<maintenance>");
    assert!(line.starts_with(r#"{"data":{"reason":"\u003cmaintenance\u003e","roomId":"r1"},"event":"room.paused","timestamp":""#), "{line}");

    // Refusals go to standard error, so standard output stays JSON.
    assert_eq!(trigger(&listener.url, "ping", "wrong", &[]).code, 1);
    let refused = listener.stderr_line();
    assert!(
        refused.contains("rejected  signature_mismatch"),
        "{refused}"
    );
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
        reported[0].contains("X-Webhook-Signature (the admin guide's name)"),
        "{reported:?}"
    );
    assert!(reported[1].contains("X-Webhook-Event"), "{reported:?}");
    assert!(
        reported[2].contains("no X-Bedrud-Timestamp header"),
        "{reported:?}"
    );

    // A sender that pretty-prints, orders keys its own way and dates in
    // another offset: genuine, so accepted, and each difference reported.
    // The same instant, written with an offset instead of Z.
    let offset_form = Timestamp::now().to_string().replace('Z', "+00:00");
    let body = format!(
        "{{\"event\": \"room.created\", \"timestamp\": \"{offset_form}\", \"data\": {{\"roomName\": \"Q&A\", \"roomId\": \"r1\", \"userId\": \"u1\"}}}}"
    );
    let mut request = Delivery::from_body(body)
        .request(&listener.url, &Secret::new(SECRET).unwrap())
        .unwrap();
    request
        .headers_mut()
        .insert("user-agent", "node-fetch".parse().unwrap());
    let status = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(Sender::new().send(request))
        .unwrap()
        .status;
    assert_eq!(status, 204);
    assert!(listener.stdout_line().contains("  204  room.created"));
    let mut reported = Vec::new();
    for _ in 0..5 {
        reported.push(listener.stdout_line());
    }
    let all = reported.join("\n");
    assert!(all.contains("User-Agent is \"node-fetch\""), "{all}");
    assert!(
        all.contains(&format!(
            "timestamp \"{offset_form}\" is not in Bedrud's form"
        )),
        "{all}"
    );
    assert!(all.contains("whitespace between JSON tokens"), "{all}");
    assert!(
        all.contains("keys of the envelope are not sorted: \"data\" comes after \"timestamp\""),
        "{all}"
    );
    assert!(
        all.contains(r#"string "Q&A" is escaped differently; Bedrud writes "Q\u0026A""#),
        "{all}"
    );
}

#[test]
fn trigger_errors_name_the_problem() {
    let ran = trigger("not a url", "ping", SECRET, &[]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr
            .starts_with("error: --url not a url: invalid URL"),
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
        ran.stderr
            .contains("connect failed: could not connect to 127.0.0.1:"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("try bedrud-webhook listen"),
        "{}",
        ran.stderr
    );
}

#[test]
fn listen_refuses_bad_settings() {
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
}

#[test]
fn demo_gets_every_answer_right() {
    let ran = run(cmd().arg("demo"), &[]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout.contains("All 20 answers were as expected."),
        "{}",
        ran.stdout
    );
    assert!(!ran.stdout.contains("FAIL"), "{}", ran.stdout);
    for reason in [
        "signature_mismatch",
        "timestamp_too_old",
        "body_too_large",
        "header_mismatch",
    ] {
        assert!(ran.stdout.contains(reason), "{reason}");
    }
}
