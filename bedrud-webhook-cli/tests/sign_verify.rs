//! `sign` and `verify`, through the real binary.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bedrud_webhook::{Secret, Timestamp, sign};
use common::{GOLDEN, SECRET, cmd, run, temp_file};

fn signature(secret: &str, body: &[u8]) -> String {
    sign(&Secret::new(secret).unwrap(), body)
}

/// A body dated `offset` seconds from now.
fn fresh(event: &str, offset: i64, data: &str) -> String {
    let at = Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() + offset).unwrap();
    format!(r#"{{"data":{data},"event":"{event}","timestamp":"{at}"}}"#)
}

#[test]
fn sign_prints_the_golden_signatures_from_files_and_stdin() {
    for (i, (body, want)) in GOLDEN.iter().enumerate() {
        let file = temp_file(&format!("golden-{i}.json"), body.as_bytes());
        let ran = run(
            cmd().args(["sign", "--secret", SECRET]).arg(&file),
            &[SECRET],
        );
        assert_eq!(
            (ran.code, ran.stdout.as_str()),
            (0, format!("{want}\n").as_str())
        );

        let ran = run(
            cmd().args(["sign", "--secret", SECRET]).write_stdin(*body),
            &[SECRET],
        );
        assert_eq!(ran.stdout, format!("{want}\n"));

        let ran = run(
            cmd()
                .args(["sign", "-"])
                .env("BEDRUD_WEBHOOK_SECRET", SECRET)
                .write_stdin(*body),
            &[SECRET],
        );
        assert_eq!(ran.stdout, format!("{want}\n"));
    }
}

#[test]
fn sign_signs_the_exact_bytes_and_reads_secret_files() {
    let secret_file = temp_file("sign.secret", format!("{SECRET}\n").as_bytes());
    let (body, want) = GOLDEN[1];
    let ran = run(
        cmd()
            .arg("sign")
            .arg("--secret-file")
            .arg(&secret_file)
            .write_stdin(body),
        &[SECRET],
    );
    assert_eq!(ran.stdout, format!("{want}\n"));

    // A trailing newline is part of the body, so the signature changes.
    let with_newline = format!("{body}\n");
    let ran = run(
        cmd()
            .args(["sign", "--secret", SECRET])
            .write_stdin(with_newline.clone()),
        &[SECRET],
    );
    assert_eq!(
        ran.stdout.trim_end(),
        signature(SECRET, with_newline.as_bytes())
    );
    assert_ne!(ran.stdout.trim_end(), want);
}

#[test]
fn sign_then_verify_round_trips() {
    let body = fresh(
        "room.created",
        0,
        r#"{"roomId":"r1","roomName":"standup","userId":"u1"}"#,
    );
    let signed = run(
        cmd()
            .args(["sign", "--secret", "s3cr3t-custom"])
            .write_stdin(body.clone()),
        &["s3cr3t-custom"],
    );
    assert_eq!(signed.code, 0);
    let file = temp_file("round-trip.json", body.as_bytes());
    let ran = run(
        cmd()
            .args([
                "verify",
                "--secret",
                "s3cr3t-custom",
                "--signature",
                signed.stdout.trim_end(),
            ])
            .arg(&file),
        &["s3cr3t-custom"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout.starts_with("genuine: room.created signed at "),
        "{}",
        ran.stdout
    );
    assert!(ran.stderr.is_empty(), "{}", ran.stderr);
}

#[test]
fn verify_accepts_the_golden_vectors_with_their_headers() {
    for (body, sig) in GOLDEN {
        let event = serde_json::from_str::<serde_json::Value>(body).unwrap()["event"]
            .as_str()
            .unwrap()
            .to_owned();
        let ran = run(
            cmd()
                .args([
                    "verify",
                    "--ignore-timestamp",
                    "--signature",
                    sig,
                    "--event",
                    &event,
                ])
                .args(["--timestamp", "2026-04-01T12:34:56Z"])
                .env("BEDRUD_WEBHOOK_SECRET", SECRET)
                .write_stdin(body),
            &[SECRET],
        );
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        assert_eq!(
            ran.stdout,
            format!(
                "genuine: {event} signed at 2026-04-01T12:34:56Z, {} bytes\n",
                body.len()
            )
        );
    }
}

#[test]
fn verify_accepts_any_secret_of_a_rotation() {
    let body = fresh("ping", 0, "{}");
    let sig = signature("old-secret", body.as_bytes());
    let ran = run(
        cmd()
            .args([
                "verify",
                "--secret",
                "new-secret",
                "--secret",
                "old-secret",
                "--signature",
                &sig,
            ])
            .write_stdin(body),
        &["new-secret", "old-secret"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

/// Every reason `verify` can give, each with exit 1 and the reason on
/// standard error (a single `--signature` can be neither missing nor
/// duplicated, so those two are the listener's and the demo's to show).
#[test]
fn verify_names_every_rejection_reason() {
    let (golden, golden_sig) = GOLDEN[0];
    let signed = |body: &str| (body.to_owned(), signature(SECRET, body.as_bytes()));
    let now = fresh("room.ended", 0, r#"{"roomId":"r1"}"#);
    let big = fresh(
        "room.ended",
        0,
        &format!(r#"{{"pad":"{}"}}"#, "x".repeat(300 * 1024)),
    );

    let cases: Vec<(&str, (String, String), Vec<&str>)> = vec![
        (
            "401 malformed_signature",
            (
                now.clone(),
                "sha1=da39a3ee5e6b4b0d3255bfef95601890afd80709".into(),
            ),
            vec![],
        ),
        ("401 malformed_signature", (now.clone(), "".into()), vec![]),
        (
            "401 signature_mismatch",
            (now.clone(), signature("another-secret", now.as_bytes())),
            vec![],
        ),
        (
            "401 signature_mismatch",
            (format!("{golden}\n"), golden_sig.into()),
            vec!["--ignore-timestamp"],
        ),
        (
            "401 timestamp_too_old",
            (golden.into(), golden_sig.into()),
            vec![],
        ),
        (
            "401 timestamp_too_new",
            signed(&fresh("ping", 3600, "{}")),
            vec![],
        ),
        (
            "401 header_mismatch",
            signed(&now),
            vec!["--event", "room.created"],
        ),
        (
            "401 header_mismatch",
            signed(&now),
            vec!["--timestamp", "2026-04-01T12:34:56Z"],
        ),
        ("413 body_too_large", signed(&big), vec![]),
        ("400 not_json_object", signed("not json"), vec![]),
        ("400 not_json_object", signed("[1,2,3]"), vec![]),
        (
            "400 missing_event",
            signed(r#"{"timestamp":"2026-04-01T12:34:56Z"}"#),
            vec![],
        ),
        (
            "400 missing_timestamp",
            signed(r#"{"event":"ping"}"#),
            vec![],
        ),
        (
            "400 invalid_envelope",
            signed(r#"{"event":1,"timestamp":"2026-04-01T12:34:56Z"}"#),
            vec![],
        ),
        (
            "400 invalid_timestamp",
            signed(r#"{"event":"ping","timestamp":"yesterday"}"#),
            vec![],
        ),
        (
            "400 invalid_data",
            signed(&fresh("recording.completed", 0, r#"{"durationMs":"1h"}"#)),
            vec![],
        ),
    ];
    for (want, (body, sig), extra) in cases {
        let ran = run(
            cmd()
                .args(["verify", "--secret", SECRET, "--signature", &sig])
                .args(&extra)
                .write_stdin(body),
            &[SECRET],
        );
        assert_eq!(ran.code, 1, "{want}: {}", ran.stderr);
        assert!(ran.stdout.is_empty(), "{want}: {}", ran.stdout);
        assert!(
            ran.stderr.starts_with(&format!("refused: {want}: ")),
            "{want}: {}",
            ran.stderr
        );
    }
}

#[test]
fn verify_hints_at_the_usual_fixes() {
    let (body, sig) = GOLDEN[1];
    let ran = run(
        cmd()
            .args(["verify", "--secret", SECRET, "--signature", sig])
            .write_stdin(body),
        &[SECRET],
    );
    assert_eq!(ran.code, 1);
    assert!(
        ran.stderr
            .contains("hint: for a saved delivery, pass --ignore-timestamp"),
        "{}",
        ran.stderr
    );
}

#[test]
fn commands_without_a_secret_say_how_to_give_one() {
    let (body, sig) = GOLDEN[1];
    for args in [
        vec!["sign"],
        vec!["verify", "--signature", sig],
        vec!["trigger", "ping", "--url", "http://127.0.0.1:9/x"],
    ] {
        let ran = run(cmd().args(&args).write_stdin(body), &[]);
        assert_eq!(ran.code, 2, "{args:?}");
        assert!(
            ran.stderr.starts_with(
                "error: no secret: pass --secret or --secret-file, or set BEDRUD_WEBHOOK_SECRET"
            ),
            "{args:?}: {}",
            ran.stderr
        );
        assert!(ran.stdout.is_empty());
    }
}

#[test]
fn bad_secrets_and_files_are_usage_errors_that_hide_the_secret() {
    let ran = run(cmd().args(["sign", "--secret", ""]).write_stdin("x"), &[]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("the secret from --secret is empty"),
        "{}",
        ran.stderr
    );

    let ran = run(
        cmd().args(["sign", "--secret", SECRET, "/nonexistent/body.json"]),
        &[SECRET],
    );
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("cannot read /nonexistent/body.json"),
        "{}",
        ran.stderr
    );

    let ran = run(
        cmd()
            .args(["sign", "--secret-file", "/nonexistent/secret"])
            .env("BEDRUD_WEBHOOK_SECRET", SECRET),
        &[SECRET],
    );
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr
            .contains("cannot read the secret file /nonexistent/secret"),
        "{}",
        ran.stderr
    );

    // A secret that looks like a flag is still a secret, not an error that echoes it.
    let ran = run(
        cmd()
            .args(["sign", "--secret", "--hyphen-secret"])
            .write_stdin("x"),
        &["--hyphen-secret"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

#[test]
fn a_missing_signature_shows_the_whole_usage() {
    let ran = run(
        cmd().args(["verify", "--secret", SECRET]).write_stdin("{}"),
        &[SECRET],
    );
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("--signature"), "{}", ran.stderr);
    assert!(
        ran.stderr.contains(
            "Usage: bedrud-webhook verify --signature HEADER [--secret S | --secret-file F]..."
        ),
        "{}",
        ran.stderr
    );
}

#[test]
fn every_subcommand_has_help_with_examples() {
    for sub in ["listen", "trigger", "sign", "verify", "demo"] {
        let ran = run(cmd().args([sub, "--help"]), &[]);
        assert_eq!(ran.code, 0, "{sub}");
        assert!(ran.stdout.contains("Examples:"), "{sub}: {}", ran.stdout);
        assert!(
            ran.stdout.contains(&format!("bedrud-webhook {sub}")),
            "{sub}"
        );
    }
    // The secret in the environment never reaches the help text.
    let env_secret = "env-secret-that-must-not-show";
    let ran = run(
        cmd()
            .args(["listen", "--help"])
            .env("BEDRUD_WEBHOOK_SECRET", env_secret),
        &[env_secret],
    );
    assert_eq!(ran.code, 0);
    let ran = run(&mut cmd(), &[]);
    assert_eq!(ran.code, 2, "no subcommand is a usage error");
}
