//! The commands that take a `--queue` or `--redis` URL: its password shows
//! in nothing they print, and `deliveries` and `dead`, which only act on a
//! queue, never create one.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use bedrud_webhook::queue::Queue;
use common::{Listener, SECRET, cmd, run};

/// The password in every URL below.
const PASSWORD: &str = "hunter2";
/// Nothing listens on port 1 of the loopback address.
const POSTGRES: &str = "postgres://postgres:hunter2@127.0.0.1:1/nope";
const POSTGRES_SHOWN: &str = "postgres://postgres:***@127.0.0.1:1/nope";

#[test]
fn no_command_given_a_queue_url_shows_its_password() {
    let commands: [&[&str]; 8] = [
        &[
            "listen",
            "--secret",
            SECRET,
            "--addr",
            "127.0.0.1:0",
            "--queue",
        ],
        &["dead", "list", "--queue"],
        &["dead", "rerun", "--all", "--queue"],
        &["dead", "rerun", "01JF3M6Q8X0000000000000000", "--queue"],
        &["deliveries", "list", "--queue"],
        &[
            "deliveries",
            "show",
            "01JF3M6Q8X0000000000000000",
            "--queue",
        ],
        &["deliveries", "rerun", "--all-dead", "--queue"],
        &[
            "deliveries",
            "rerun",
            "01JF3M6Q8X0000000000000000",
            "--queue",
        ],
    ];
    for args in commands {
        let ran = run(cmd().args(args).arg(POSTGRES), &[PASSWORD, SECRET]);
        assert_eq!(ran.code, 1, "{args:?}: {}", ran.stderr);
        let said = format!("error: cannot open the queue {POSTGRES_SHOWN}: ");
        assert!(ran.stderr.contains(&said), "{args:?}: {}", ran.stderr);
    }
    // A URL the storage cannot even parse: its message is no way out either.
    for url in [
        "postgres://postgres:hunter2@127.0.0.1:notaport/nope",
        "postgresql://postgres:hunter2@[::1/nope",
        "postgres://127.0.0.1:1/nope?user=postgres&password=hunter2",
    ] {
        let ran = run(cmd().args(["dead", "list", "--queue", url]), &[PASSWORD]);
        assert_eq!(ran.code, 1, "{url}: {}", ran.stderr);
        assert!(ran.stderr.contains("***"), "{url}: {}", ran.stderr);
    }
}

#[test]
fn no_redis_url_password_is_shown_and_an_unreachable_redis_still_answers_503() {
    // A URL that does not parse: a usage error, naming the URL without it.
    for bad in [
        "redis://u:hunter2@127.0.0.1:notaport/",
        "redis://:hunter2@[::1/",
    ] {
        let args = ["listen", "--secret", SECRET, "--addr", "127.0.0.1:0"];
        let ran = run(cmd().args(args).args(["--redis", bad]), &[PASSWORD]);
        assert_eq!(ran.code, 2, "{bad}: {}", ran.stderr);
        assert!(
            ran.stderr.starts_with("error: --redis redis://"),
            "{}",
            ran.stderr
        );
        assert!(ran.stderr.contains(":***@"), "{}", ran.stderr);
    }

    // Unreachable (from the flag, and from REDIS_URL): it starts, refuses a
    // genuine delivery with 503, and shows the URL only without its password.
    let url = "redis://default:hunter2@127.0.0.1:1/";
    let flag: (&[&str], &[(&str, &str)]) = (&["--redis", url], &[]);
    let env: (&[&str], &[(&str, &str)]) = (&[], &[("REDIS_URL", url)]);
    for (extra, env) in [flag, env] {
        let args = [&["--secret", SECRET, "--count", "1"], extra].concat();
        let mut listener = Listener::start(&args, env);
        let banner = ", replay guard in Redis redis://default:***@127.0.0.1:1/)";
        assert!(
            listener.seen.iter().any(|l| l.contains(banner)),
            "{:?}",
            listener.seen
        );
        let sent = run(
            cmd().args([
                "trigger",
                "ping",
                "--url",
                &listener.url,
                "--secret",
                SECRET,
            ]),
            &[PASSWORD, SECRET],
        );
        assert_eq!(sent.code, 1, "{}", sent.stdout);
        assert!(
            sent.stdout.contains(": 503 Service Unavailable in "),
            "{}",
            sent.stdout
        );
        let (code, stdout, stderr) = listener.finish();
        assert_eq!(code, 1, "{stderr:?}");
        let refused = "  503  refused  replay_store_unavailable  ";
        assert!(stdout.iter().any(|l| l.contains(refused)), "{stdout:?}");
        listener.assert_never_printed(PASSWORD);
        listener.assert_never_printed(SECRET);
    }
}

/// A directory of its own, removed with what is in it when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("bedrud-webhook-cli-{name}-{pid}"));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn entries(&self) -> Vec<String> {
        let entries = std::fs::read_dir(&self.0).unwrap();
        let names = entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned());
        let mut names: Vec<String> = names.collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

#[test]
fn dead_and_deliveries_never_create_a_queue_and_name_the_missing_file() {
    let dir = TempDir::new("dead-typo");
    let typo = dir.join("typo.db");
    let typo = typo.to_str().unwrap();
    let sqlite = format!("sqlite://{typo}");
    for (args, queue) in [
        (&["dead", "list", "--queue"][..], typo),
        (&["dead", "rerun", "--all", "--queue"], typo),
        (
            &["dead", "rerun", "01JF3M6Q8X0000000000000000", "--queue"],
            typo,
        ),
        (&["dead", "list", "--queue"], &sqlite),
        (&["deliveries", "list", "--queue"], typo),
        (
            &[
                "deliveries",
                "list",
                "--state",
                "pending",
                "--json",
                "--queue",
            ],
            typo,
        ),
        (
            &[
                "deliveries",
                "show",
                "01JF3M6Q8X0000000000000000",
                "--queue",
            ],
            typo,
        ),
        (&["deliveries", "rerun", "--all-dead", "--queue"], typo),
        (&["deliveries", "list", "--queue"], &sqlite),
    ] {
        let ran = run(cmd().args(args).arg(queue), &[]);
        assert_eq!(
            ran.code, 2,
            "{args:?} {queue}: {}{}",
            ran.stdout, ran.stderr
        );
        assert!(ran.stdout.is_empty(), "{}", ran.stdout);
        let said = format!("error: --queue {typo}: no such file");
        assert!(ran.stderr.starts_with(&said), "{}", ran.stderr);
        assert_eq!(dir.entries(), Vec::<String>::new(), "{args:?} {queue}");
    }

    // An existing queue is read as it is.
    let queue = dir.join("deliveries.db");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async { drop(Queue::connect(queue.to_str().unwrap()).await.unwrap()) });
    let ran = run(cmd().args(["dead", "list", "--queue"]).arg(&queue), &[]);
    assert_eq!(
        (ran.code, ran.stdout.as_str()),
        (0, "0 dead\n"),
        "{}",
        ran.stderr
    );
    let ran = run(
        cmd().args(["deliveries", "list", "--queue"]).arg(&queue),
        &[],
    );
    assert_eq!((ran.code, ran.stdout.as_str()), (0, "0 deliveries\n"));
    let ran = run(
        cmd()
            .args(["deliveries", "list", "--json", "--queue"])
            .arg(&queue),
        &[],
    );
    assert_eq!((ran.code, ran.stdout.as_str()), (0, ""));
    // A state that is none: a usage error naming the states.
    let ran = run(
        cmd()
            .args(["deliveries", "list", "--state", "lost", "--queue"])
            .arg(&queue),
        &[],
    );
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr
            .contains("pending, running, retrying, dead, done"),
        "{}",
        ran.stderr
    );
    // An id that is none.
    let ran = run(
        cmd()
            .args(["deliveries", "show", "nope", "--queue"])
            .arg(&queue),
        &[],
    );
    assert_eq!(ran.code, 1);
    assert!(
        ran.stderr.contains("no delivery nope in the queue"),
        "{}",
        ran.stderr
    );
}
