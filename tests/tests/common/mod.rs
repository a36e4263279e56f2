//! What the tests that run the example receivers share: building them,
//! running one as a user does (the built binary, configured by its
//! environment), and sending it deliveries over real HTTP.

#![allow(dead_code, reason = "each test binary uses its part")]

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use bedrud_webhook::Secret;
use bedrud_webhook::delivery::Delivery;
use bedrud_webhook::replay::DUPLICATE_HEADER;
use bedrud_webhook::sender::{SendError, Sender};
use bytes::Bytes;
use http::Response;

pub(crate) const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";
pub(crate) const EXAMPLES: [&str; 3] = ["axum_receiver", "actix_receiver", "tower_receiver"];

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// `target/<profile>/examples`, with the receivers built and newer than
/// their sources (built once, by the first test that needs them).
fn examples_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // A test runs as target/<profile>/deps/<test>-<hash>.
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
    let mut dirs = Vec::new();
    for krate in [
        "integrations",
        "bedrud-webhook-verify",
        "bedrud-webhook-types",
    ] {
        out.push(root.join(krate).join("Cargo.toml"));
        dirs.push(root.join(krate).join("src"));
    }
    while let Some(dir) = dirs.pop() {
        for path in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = path.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// A free loopback port (free when asked: nothing else here binds at random).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running example, killed when dropped.
pub(crate) struct Running {
    pub(crate) child: Child,
    output: Vec<JoinHandle<Vec<u8>>>,
    pub(crate) addr: SocketAddr,
}

impl Running {
    /// Starts `name` on a free port with `env` (and `ADDR`) as its only
    /// configuration; through `sh` with `ulimit -n` when `fd_limit` is given.
    pub(crate) fn spawn(name: &str, env: &[(&str, &str)], fd_limit: Option<u32>) -> Running {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
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
            .env_remove("REDIS_URL")
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .env("ADDR", addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
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

    /// Starts `name` with the secret and `env`, and waits until it accepts
    /// connections.
    pub(crate) fn listening(name: &str, env: &[(&str, &str)], fd_limit: Option<u32>) -> Running {
        let env = [&[("BEDRUD_WEBHOOK_SECRET", SECRET)], env].concat();
        let mut running = Running::spawn(name, &env, fd_limit);
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

    pub(crate) fn url(&self) -> String {
        format!("http://{}/webhooks/bedrud", self.addr)
    }

    /// Kills the child and returns its output, escape sequences removed.
    pub(crate) fn stop(mut self) -> String {
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

/// An answer in a word: its status (`204`), with ` duplicate` when the
/// duplicate header says `true` and the body says so too; or the error.
pub(crate) fn answer(response: Result<Response<Bytes>, SendError>) -> String {
    match response {
        Ok(response) => {
            let status = response.status().as_u16();
            let header = response.headers().get(DUPLICATE_HEADER);
            let body = response.body().starts_with(b"duplicate delivery");
            match (header.is_some_and(|v| v == "true"), body) {
                (true, true) => format!("{status} duplicate"),
                (false, false) => status.to_string(),
                _ => format!("{status} header {header:?}, body {:?}", response.body()),
            }
        }
        Err(e) => format!("error: {e}"),
    }
}

/// Sends each delivery with `secret`, one after the other (a fresh sender,
/// one runtime), and returns each [`answer`].
pub(crate) fn send(url: &str, deliveries: &[(&Delivery, &str)]) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sender = Sender::new();
        let mut out = Vec::new();
        for (delivery, secret) in deliveries {
            let secret = Secret::new(*secret).unwrap();
            out.push(answer(sender.deliver(url, delivery, &secret).await));
        }
        out
    })
}

/// The handler's log lines: one per delivery it ran for.
pub(crate) fn handler_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("verified delivery"))
        .collect()
}
