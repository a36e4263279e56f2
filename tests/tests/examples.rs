//! A smoke test of the example receivers (`examples/`), run the way a user
//! runs them: the built binary, configured only through its environment
//! (`BEDRUD_WEBHOOK_SECRET`, `ADDR`), sent deliveries over real HTTP by the
//! reference sender.
//!
//! For each of `axum_receiver`, `actix_receiver` and `tower_receiver`:
//!
//! - with the secret set, it listens on `ADDR`, answers a genuine delivery
//!   to `POST /webhooks/bedrud` with a 2xx and a forged one with 401, and
//!   logs the verified event;
//! - without the secret, it exits at once, unsuccessfully, with a message
//!   naming `BEDRUD_WEBHOOK_SECRET`.
//!
//! `cargo test --workspace` builds the examples into
//! `target/<profile>/examples/` before it runs any test; when they are not
//! there (only this test was asked for), or are older than their sources,
//! the test builds them first (`cargo build -p bedrud-webhook-examples
//! --example ...`, with the `cargo` that runs the tests).

// Test code: a failed unwrap or expect is a failed test, which is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bedrud_webhook::sender::Sender;
use bedrud_webhook::{Envelope, Event, RoomData, Secret, Timestamp};

/// The secret the examples are started with.
const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";

/// How long an example may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How long an example started without a secret may take to give up.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The room of the delivery sent to each example, named so that its log
/// line is unmistakable.
const ROOM_NAME: &str = "examples-smoke-test";

// ---------------------------------------------------------------------------
// Finding (or building) the binaries.

/// `target/<profile>`, from this test's own path
/// (`target/<profile>/deps/examples-<hash>`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let deps = exe.parent().expect("the test binary is in a directory");
    assert_eq!(
        deps.file_name().and_then(|n| n.to_str()),
        Some("deps"),
        "expected the test binary under target/<profile>/deps, found {}",
        exe.display()
    );
    deps.parent()
        .expect("deps/ is inside target/<profile>")
        .to_path_buf()
}

fn binary(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

const EXAMPLES: [&str; 3] = ["axum_receiver", "actix_receiver", "tower_receiver"];

/// `target/<profile>/examples`, with every example in it: built once, by the
/// first test that needs it, when one is missing or older than its sources.
fn examples_dir() -> &'static Path {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let profile_dir = profile_dir();
        let dir = profile_dir.join("examples");
        let missing = || EXAMPLES.iter().any(|name| !binary(&dir, name).is_file());
        if missing() || older_than_sources(&dir) {
            build_examples(&profile_dir)?;
        }
        if missing() {
            return Err(format!(
                "the example binaries are not in {}; build them with \
                 `cargo build --examples -p bedrud-webhook-examples` (with the same \
                 --profile and --target as the tests), or run `cargo test --workspace`, \
                 which builds them",
                dir.display()
            ));
        }
        Ok(dir)
    });
    match dir {
        Ok(dir) => dir,
        Err(message) => panic!("{message}"),
    }
}

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
}

/// Whether some example binary is older than a source it is built from
/// (the example files, and the workspace crates behind them): built
/// before an edit, by a run that did not build the examples again, it would
/// test yesterday's code. Cargo then decides what really needs rebuilding.
fn older_than_sources(dir: &Path) -> bool {
    let root = workspace_root();
    let mut sources: Vec<PathBuf> = ["examples/Cargo.toml", "examples/common.rs"]
        .iter()
        .map(|file| root.join(file))
        .collect();
    sources.extend(
        EXAMPLES
            .iter()
            .map(|name| root.join("examples").join(format!("{name}.rs"))),
    );
    for krate in [
        "integrations",
        "bedrud-webhook-verify",
        "bedrud-webhook-types",
    ] {
        sources.push(root.join(krate).join("Cargo.toml"));
        collect_files(&root.join(krate).join("src"), &mut sources, 4);
    }
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let Some(newest) = sources.iter().filter_map(|p| modified(p)).max() else {
        return false;
    };
    EXAMPLES
        .iter()
        .any(|name| modified(&binary(dir, name)).is_none_or(|built| built < newest))
}

/// Every file under `dir`, at most `depth` directories down.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if depth > 0 {
                collect_files(&path, out, depth - 1);
            }
        } else {
            out.push(path);
        }
    }
}

/// Builds the three example receivers (only those: the package's other
/// examples are not needed here) for the profile the tests were built
/// with: `cargo build -p bedrud-webhook-examples --example ...`.
fn build_examples(profile_dir: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .current_dir(workspace_root())
        .args(["build", "-p", "bedrud-webhook-examples"]);
    for name in EXAMPLES {
        command.args(["--example", name]);
    }
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            command.arg("--release");
        }
        Some(profile) => {
            command.args(["--profile", profile]);
        }
    }
    eprintln!("the example binaries are missing or older than their sources; running {command:?}");
    let status = command
        .status()
        .map_err(|e| format!("could not run {cargo:?}: {e}; run `cargo build --examples`"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "building the example receivers failed ({status}); fix the build, \
             or run `cargo build --examples` yourself"
        ))
    }
}

// ---------------------------------------------------------------------------
// Running an example.

/// A running (or finished) example, killed when dropped, whatever happened.
struct Running {
    child: Child,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
}

impl Running {
    fn spawn(name: &str, addr: SocketAddr, secret: Option<&str>) -> Self {
        let mut command = Command::new(binary(examples_dir(), name));
        command
            // Only what the test sets: no secret or log filter from the
            // environment the tests happen to run in.
            .env_remove("BEDRUD_WEBHOOK_SECRET")
            .env_remove("RUST_LOG")
            .env("ADDR", addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(secret) = secret {
            command.env("BEDRUD_WEBHOOK_SECRET", secret);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        // Drained by threads of their own, so that a chatty child never
        // blocks on a full pipe; they end when the child does.
        let drain = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut out = Vec::new();
                let _ = pipe.read_to_end(&mut out);
                out
            })
        };
        let stdout = child.stdout.take().map(|p| drain(Box::new(p)));
        let stderr = child.stderr.take().map(|p| drain(Box::new(p)));
        Self {
            child,
            stdout,
            stderr,
        }
    }

    /// Waits, at most `timeout`, for the child to exit.
    fn wait_for_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the child (if it still runs) and returns everything it wrote
    /// to standard output and standard error, escape sequences removed.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut log = Vec::new();
        for reader in [self.stdout.take(), self.stderr.take()]
            .into_iter()
            .flatten()
        {
            log.extend(reader.join().unwrap_or_default());
        }
        strip_ansi(&String::from_utf8_lossy(&log))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Removes terminal escape sequences (`ESC [ ... letter`), which the
/// examples' log lines may carry.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A loopback address with a port that was free a moment ago.
fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Starts `name` with the secret on a free port and waits until it accepts
/// connections; another attempt on another port if the port was taken in
/// between.
fn start_listening(name: &str) -> (Running, SocketAddr) {
    const ATTEMPTS: usize = 3;
    for attempt in 1..=ATTEMPTS {
        let addr = free_addr();
        let mut running = Running::spawn(name, addr, Some(SECRET));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if running.child.try_wait().unwrap().is_some() {
                let log = running.stop();
                // Someone took the port between our probe and its bind.
                if attempt < ATTEMPTS && log.to_ascii_lowercase().contains("in use") {
                    break;
                }
                panic!("{name} exited before it listened on {addr}:\n{log}");
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(250)).is_ok() {
                // Still running: the listener is the example's, not a
                // stranger's that took the port while the example failed.
                if running.child.try_wait().unwrap().is_none() {
                    return (running, addr);
                }
                continue;
            }
            if Instant::now() >= deadline {
                let log = running.stop();
                panic!("{name} did not listen on {addr} within {START_TIMEOUT:?}:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    unreachable!("every attempt either returned, retried or panicked")
}

// ---------------------------------------------------------------------------
// The checks.

fn serves_deliveries(name: &str) {
    let (running, addr) = start_listening(name);
    let url = format!("http://{addr}/webhooks/bedrud");
    let room = RoomData::new("r-smoke", ROOM_NAME, "u-smoke");
    let envelope = Envelope::new(Event::RoomEnded(room), Timestamp::now());

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (genuine, forged) = runtime.block_on(async {
        let sender = Sender::new().with_timeout(Duration::from_secs(10));
        let genuine = sender
            .deliver(&url, &Secret::new(SECRET).unwrap(), &envelope)
            .await;
        let forged = sender
            .deliver(&url, &Secret::new("not-the-secret").unwrap(), &envelope)
            .await;
        (genuine, forged)
    });
    let log = running.stop();
    let genuine = genuine.unwrap_or_else(|e| panic!("{name}: genuine delivery: {e}\n{log}"));
    let forged = forged.unwrap_or_else(|e| panic!("{name}: forged delivery: {e}\n{log}"));
    assert!(
        genuine.status.is_success(),
        "{name}: a genuine delivery got {}\n{log}",
        genuine.status
    );
    assert_eq!(
        forged.status.as_u16(),
        401,
        "{name}: a forged delivery got {}\n{log}",
        forged.status
    );

    // The verified event is logged, once, with its fields; the forgery is
    // logged as refused.
    let verified: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("verified delivery"))
        .collect();
    assert_eq!(verified.len(), 1, "{name}: {log}");
    assert!(
        verified[0].contains("room.ended") && verified[0].contains(ROOM_NAME),
        "{name}: {log}"
    );
    assert!(log.contains("refused"), "{name}: {log}");
    assert!(!log.contains(SECRET), "{name} logged its secret: {log}");
}

fn refuses_to_start_without_a_secret(name: &str) {
    let mut running = Running::spawn(name, free_addr(), None);
    let status = running.wait_for_exit(EXIT_TIMEOUT);
    let log = running.stop();
    let status = status.unwrap_or_else(|| {
        panic!("{name} still ran {EXIT_TIMEOUT:?} after starting without a secret:\n{log}")
    });
    assert!(!status.success(), "{name} exited with {status}:\n{log}");
    assert!(log.contains("BEDRUD_WEBHOOK_SECRET"), "{name}: {log}");
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
fn axum_receiver_refuses_to_start_without_a_secret() {
    refuses_to_start_without_a_secret("axum_receiver");
}

#[test]
fn actix_receiver_refuses_to_start_without_a_secret() {
    refuses_to_start_without_a_secret("actix_receiver");
}

#[test]
fn tower_receiver_refuses_to_start_without_a_secret() {
    refuses_to_start_without_a_secret("tower_receiver");
}
