//! The example receivers (`examples/`) run as a user runs them: the built
//! binary, configured only by `BEDRUD_WEBHOOK_SECRET` and `ADDR`, sent
//! deliveries over real HTTP by the reference sender. For each of
//! `axum_receiver`, `actix_receiver` and `tower_receiver`:
//!
//! - a genuine delivery gets a 2xx and one log line with its event and data,
//!   a newline in a signed room name escaped (no forged second line); an
//!   unknown event too; a forged one gets 401 and a warning; the secret is
//!   never logged;
//! - a request head that never ends is cut at the head timeout;
//! - run out of file descriptors, it logs, keeps accepting, and serves again
//!   once descriptors are free;
//! - without the secret, it exits at once, unsuccessfully, naming
//!   `BEDRUD_WEBHOOK_SECRET`.
//!
//! `cargo test --workspace` builds the examples before the tests run; when
//! they are missing or older than their sources, this test builds them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use bedrud_webhook::delivery::Delivery;
use bedrud_webhook::sender::Sender;
use bedrud_webhook::{Envelope, Event, RoomData, Secret, Timestamp};

const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";
const EXAMPLES: [&str; 3] = ["axum_receiver", "actix_receiver", "tower_receiver"];
/// The examples' request-head timeout.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// `target/<profile>/examples`, with the receivers built and newer than
/// their sources (built once, by the first test that needs them).
fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // This test runs as target/<profile>/deps/examples-<hash>.
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let dir = profile_dir.join("examples");
        let newest_source = sources().iter().filter_map(|p| modified(p)).max();
        let stale = EXAMPLES
            .iter()
            .any(|name| modified(&dir.join(name)).is_none_or(|built| Some(built) < newest_source));
        if stale {
            let mut command = Command::new(std::env::var_os("CARGO").unwrap_or("cargo".into()));
            command
                .current_dir(workspace_root())
                .args(["build", "-p", "bedrud-webhook-examples"]);
            for name in EXAMPLES {
                command.args(["--example", name]);
            }
            match profile_dir.file_name().and_then(|n| n.to_str()) {
                Some("debug") | None => {}
                Some("release") => drop(command.arg("--release")),
                Some(profile) => drop(command.args(["--profile", profile])),
            }
            assert!(command.status().unwrap().success(), "{command:?} failed");
        }
        dir
    })
}

/// The files the receivers are built from.
fn sources() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut out: Vec<PathBuf> = EXAMPLES
        .iter()
        .map(|name| root.join(format!("examples/{name}.rs")))
        .collect();
    out.push(root.join("examples/Cargo.toml"));
    for krate in [
        "integrations",
        "bedrud-webhook-verify",
        "bedrud-webhook-types",
    ] {
        out.push(root.join(krate).join("Cargo.toml"));
        if let Ok(entries) = std::fs::read_dir(root.join(krate).join("src")) {
            out.extend(entries.flatten().map(|e| e.path()));
        }
    }
    out
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// A running example, killed when dropped.
struct Running {
    child: Child,
    output: Vec<JoinHandle<Vec<u8>>>,
    addr: SocketAddr,
}

impl Running {
    /// Starts `name` on a free port; through `sh` with `ulimit -n` when
    /// `fd_limit` is given.
    fn spawn(name: &str, secret: Option<&str>, fd_limit: Option<u32>) -> Running {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let binary = examples_dir().join(name);
        let mut command = match fd_limit {
            Some(limit) => {
                let mut sh = Command::new("sh");
                sh.args([
                    "-c",
                    &format!("ulimit -n {limit} && exec \"$0\""),
                    binary.to_str().unwrap(),
                ]);
                sh
            }
            None => Command::new(&binary),
        };
        command
            .env_remove("BEDRUD_WEBHOOK_SECRET")
            .env_remove("RUST_LOG")
            .env("ADDR", addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(secret) = secret {
            command.env("BEDRUD_WEBHOOK_SECRET", secret);
        }
        let mut child = command.spawn().unwrap();
        let drain = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut out = Vec::new();
                let _ = pipe.read_to_end(&mut out);
                out
            })
        };
        let output = vec![
            drain(Box::new(child.stdout.take().unwrap())),
            drain(Box::new(child.stderr.take().unwrap())),
        ];
        Running {
            child,
            output,
            addr,
        }
    }

    /// Starts `name` with the secret and waits until it accepts connections.
    fn listening(name: &str, fd_limit: Option<u32>) -> Running {
        let mut running = Running::spawn(name, Some(SECRET), fd_limit);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&running.addr, Duration::from_millis(200)).is_err() {
            let exited = running.child.try_wait().unwrap().is_some();
            if exited || Instant::now() > deadline {
                let addr = running.addr;
                panic!("{name} did not listen on {addr}:\n{}", running.stop());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        running
    }

    fn url(&self) -> String {
        format!("http://{}/webhooks/bedrud", self.addr)
    }

    /// Kills the child and returns its output, escape sequences removed.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut log = Vec::new();
        for reader in self.output.drain(..) {
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

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(char::is_ascii_alphabetic);
        } else {
            out.push(c);
        }
    }
    out
}

/// Sends each delivery with `secret` (a fresh sender, one runtime) and
/// returns each status, or the error's text.
fn send(url: &str, deliveries: &[(&Delivery, &str)]) -> Vec<Result<u16, String>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sender = Sender::new();
        let mut out = Vec::new();
        for (delivery, secret) in deliveries {
            let secret = Secret::new(*secret).unwrap();
            let response = sender.deliver(url, delivery, &secret).await;
            out.push(
                response
                    .map(|r| r.status().as_u16())
                    .map_err(|e| e.to_string()),
            );
        }
        out
    })
}

fn serves_deliveries(name: &str) {
    let running = Running::listening(name, None);
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
    let statuses = send(
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
    assert_eq!(statuses, [Ok(204), Ok(401), Ok(204)], "{name}:\n{log}");
    assert!(
        closed && head_cut_after < HEAD_TIMEOUT + Duration::from_secs(3),
        "{name} kept a stalled request head for {head_cut_after:?}:\n{log}"
    );

    let handled: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("verified delivery"))
        .collect();
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

fn survives_running_out_of_file_descriptors(name: &str) {
    let mut running = Running::listening(name, Some(64));
    // More idle connections than it has descriptors for.
    let idle: Vec<TcpStream> = (0..100)
        .filter_map(|_| TcpStream::connect_timeout(&running.addr, Duration::from_secs(2)).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    drop(idle);
    std::thread::sleep(Duration::from_millis(500));
    let delivery = Delivery::new(&Envelope::new(Event::Ping, Timestamp::now()));
    let statuses = send(&running.url(), &[(&delivery, SECRET)]);
    let exited = running.child.try_wait().ok().flatten();
    let log = running.stop();
    assert_eq!(exited, None, "{name} exited:\n{log}");
    assert_eq!(statuses, [Ok(204)], "{name}:\n{log}");
    // actix-web logs its accept errors through `log`, which is not set up.
    if name != "actix_receiver" {
        assert!(
            log.contains("accept failed"),
            "{name} never ran out of descriptors:\n{log}"
        );
    }
}

fn refuses_to_start_without_a_secret(name: &str) {
    let mut running = Running::spawn(name, None, None);
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
