//! What the tests that run real processes share: building the examples and
//! the CLI, running one as a user does (the built binary, configured by its
//! environment), sending it deliveries over real HTTP, and the servers they
//! use ([`servers`]: Postgres, Redis, tmpfs mounts).

#![allow(dead_code, reason = "each test binary uses its part")]

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use std::collections::HashMap;

use bedrud_webhook::delivery::Delivery;
use bedrud_webhook::queue::Queue;
use bedrud_webhook::replay::DUPLICATE_HEADER;
use bedrud_webhook::sender::{SendError, Sender};
use bedrud_webhook::{Envelope, Event, RoomData, Secret, Timestamp, Verifier};
use bytes::Bytes;
use http::Response;

pub(crate) const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";
pub(crate) const EXAMPLES: [&str; 3] = ["axum_receiver", "actix_receiver", "tower_receiver"];

pub(crate) mod servers;

pub(crate) fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// `target/<profile>/examples`, with the receivers built and newer than
/// their sources (see [`binaries`]).
fn examples_dir() -> PathBuf {
    binaries().join("examples")
}

/// Every example the tests run: the three receivers and `durable_receiver`.
const BUILT_EXAMPLES: [&str; 4] = [
    "axum_receiver",
    "actix_receiver",
    "tower_receiver",
    "durable_receiver",
];

/// `target/<profile>`, with the CLI (`bedrud-webhook`) and the examples the
/// tests run built and newer than their sources: built once, by the first
/// test that needs them, and only when missing or stale (`cargo test
/// --workspace` builds them all; another feature set would rebuild sqlx).
pub(crate) fn binaries() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // A test runs as target/<profile>/deps/<test>-<hash>.
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let newest_source = sources().iter().filter_map(|p| modified(p)).max();
        let built = BUILT_EXAMPLES
            .iter()
            .map(|name| profile_dir.join("examples").join(name))
            .chain([profile_dir.join("bedrud-webhook")]);
        let stale = built
            .into_iter()
            .any(|bin| modified(&bin).is_none_or(|built| Some(built) < newest_source));
        if stale {
            let mut command = Command::new(std::env::var_os("CARGO").unwrap_or("cargo".into()));
            command.current_dir(workspace_root()).args([
                "build",
                "-p",
                "bedrud-webhook-cli",
                "--bin",
                "bedrud-webhook",
                "-p",
                "bedrud-webhook-examples",
            ]);
            for name in BUILT_EXAMPLES {
                command.args(["--example", name]);
            }
            match profile_dir.file_name().and_then(|n| n.to_str()) {
                Some("debug") | None => {}
                Some("release") => drop(command.arg("--release")),
                Some(profile) => drop(command.args(["--profile", profile])),
            }
            assert!(command.status().unwrap().success(), "{command:?} failed");
        }
        profile_dir
    })
}

/// The files the binaries are built from.
fn sources() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut out: Vec<PathBuf> = BUILT_EXAMPLES
        .iter()
        .map(|name| root.join(format!("examples/{name}.rs")))
        .collect();
    out.push(root.join("examples/Cargo.toml"));
    let mut dirs = Vec::new();
    for krate in [
        "integrations",
        "bedrud-webhook-cli",
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

/// A running child process (an example, the CLI, a test binary) whose
/// output lines (standard output and error, escape sequences removed) are
/// collected as they come; killed when dropped.
pub(crate) struct Running {
    pub(crate) child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
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
            .env_remove("DATABASE_URL")
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .env("ADDR", addr.to_string());
        Running::start(command, addr)
    }

    /// Starts `command` as it is, its output collected; `addr` is where it
    /// is told to listen, if anywhere.
    pub(crate) fn start(mut command: Command, addr: SocketAddr) -> Running {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{command:?}: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let collect = |pipe: Box<dyn Read + Send>| {
            let lines = Arc::clone(&lines);
            std::thread::spawn(move || {
                let mut pipe = BufReader::new(pipe);
                let mut line = Vec::new();
                while pipe.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                    let text = strip_ansi(String::from_utf8_lossy(&line).trim_end_matches('\n'));
                    lines.lock().unwrap().push(text);
                    line.clear();
                }
            })
        };
        let readers = vec![
            collect(Box::new(child.stdout.take().unwrap())),
            collect(Box::new(child.stderr.take().unwrap())),
        ];
        Running {
            child,
            lines,
            readers,
            addr,
        }
    }

    /// Starts `name` with the secret and `env`, and waits until it accepts
    /// connections.
    pub(crate) fn listening(name: &str, env: &[(&str, &str)], fd_limit: Option<u32>) -> Running {
        let env = [&[("BEDRUD_WEBHOOK_SECRET", SECRET)], env].concat();
        let mut running = Running::spawn(name, &env, fd_limit);
        running.wait_listening(name, 20);
        running
    }

    /// Waits up to `secs` until [`addr`](Self::addr) accepts connections.
    pub(crate) fn wait_listening(&mut self, name: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_err() {
            let exited = self.child.try_wait().unwrap().is_some();
            if exited || Instant::now() > deadline {
                let addr = self.addr;
                panic!("{name} did not listen on {addr}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/webhooks/bedrud", self.addr)
    }

    /// The lines so far.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The output so far, one string.
    pub(crate) fn log(&self) -> String {
        let mut log = self.lines().join("\n");
        log.push('\n');
        log
    }

    /// Waits up to `secs` for a line containing `needle`.
    pub(crate) fn wait_for(&self, secs: u64, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.lines().iter().any(|l| l.contains(needle)) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILLs the child (no shutdown code runs) and waits for it and its
    /// output to end.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }

    /// Kills the child and returns its output.
    pub(crate) fn stop(mut self) -> String {
        self.kill();
        self.log()
    }

    /// [`stop`](Self::stop) once `done(output)`, or after `secs`: `listen`
    /// prints a delivery's line after its answer.
    pub(crate) fn stop_when(self, secs: u64, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !done(&self.log()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop()
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

/// A genuine delivery of `room.created` for room `id`, stamped now.
pub(crate) fn delivery(id: &str) -> Delivery {
    let event = Event::RoomCreated(RoomData::new(id, "durable", "u1"));
    Delivery::new(&Envelope::new(event, Timestamp::now()))
}

/// A genuine `room.created` of a room named `name` (its id `r-<name>`),
/// stamped now.
pub(crate) fn named(name: &str) -> Delivery {
    let room = RoomData::new(format!("r-{name}"), name, "u-replay");
    Delivery::new(&Envelope::new(Event::RoomCreated(room), Timestamp::now()))
}

/// [`SECRET`] as a [`Secret`].
pub(crate) fn secret() -> Secret {
    Secret::new(SECRET).unwrap()
}

/// Serves `queue.service` on a loopback port, as axum users would; returns
/// its URL.
pub(crate) async fn serve_queue(queue: &Queue) -> String {
    let app = axum::Router::new()
        .route_service("/webhooks/bedrud", queue.service(Verifier::new(secret())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/webhooks/bedrud")
}

/// Delivers with [`SECRET`]; the status.
pub(crate) async fn post(url: &str, delivery: &Delivery) -> u16 {
    let response = Sender::new().deliver(url, delivery, &secret()).await;
    response.unwrap().status().as_u16()
}

/// The `durable_receiver` example on `addr` with `DATABASE_URL`; not waited for.
pub(crate) fn durable_receiver(addr: SocketAddr, database_url: &str) -> Running {
    let mut command = Command::new(examples_dir().join("durable_receiver"));
    command
        .env_remove("RUST_LOG")
        .env("BEDRUD_WEBHOOK_SECRET", SECRET)
        .env("ADDR", addr.to_string())
        .env("DATABASE_URL", database_url)
        .env("NO_COLOR", "1");
    Running::start(command, addr)
}

/// `bedrud-webhook listen --secret SECRET --addr <free port>` and `args`,
/// waited for until it accepts connections.
pub(crate) fn listen(args: &[&str]) -> Running {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut command = Command::new(binaries().join("bedrud-webhook"));
    command
        .args(["listen", "--secret", SECRET, "--addr", &addr.to_string()])
        .args(args)
        .env("NO_COLOR", "1");
    let mut running = Running::start(command, addr);
    running.wait_listening("bedrud-webhook listen", 20);
    running
}

/// Runs the CLI with `args`; whether it succeeded, and its output.
pub(crate) fn cli(args: &[&str]) -> (bool, String) {
    let out = Command::new(binaries().join("bedrud-webhook"))
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The room ids of the `handled delivery` lines of `durable_receiver`
/// (`data=RoomCreated(RoomData { room_id: "…", … })`), in order.
pub(crate) fn handled_rooms<'a>(lines: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    lines
        .into_iter()
        .filter(|l| l.contains("handled delivery"))
        .filter_map(|l| {
            let rest = l.split("room_id: \"").nth(1)?;
            Some(rest.split('"').next()?.to_owned())
        })
        .collect()
}

/// A receiver with a replay guard in Redis: one of the [`EXAMPLES`] with
/// `REDIS_URL`, or `bedrud-webhook listen --redis`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Guarded {
    Example(&'static str),
    Listen,
}

impl Guarded {
    pub(crate) const ALL: [Guarded; 4] = [
        Guarded::Example("axum_receiver"),
        Guarded::Example("actix_receiver"),
        Guarded::Example("tower_receiver"),
        Guarded::Listen,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Guarded::Example(name) => name,
            Guarded::Listen => "listen --redis",
        }
    }

    /// Starts it on `redis_url`, waited for until it accepts connections.
    pub(crate) fn start(self, redis_url: &str) -> Running {
        match self {
            Guarded::Example(name) => Running::listening(name, &[("REDIS_URL", redis_url)], None),
            Guarded::Listen => listen(&["--redis", redis_url]),
        }
    }

    /// How many times each room *name* was handled, from the log: the
    /// handler's `verified delivery` lines (`room_name: "…"`), or the lines
    /// of `listen` that show a 204 (`  204  room.created  … roomName=…`);
    /// never its `duplicate` lines.
    pub(crate) fn handled(self, log: &str) -> HashMap<String, usize> {
        let mut out: HashMap<String, usize> = HashMap::new();
        for line in log.lines() {
            let name = match self {
                Guarded::Example(_) if line.contains("verified delivery") => line
                    .split("room_name: \"")
                    .nth(1)
                    .and_then(|s| s.split('"').next()),
                Guarded::Listen if line.contains("  204  room.created") => line
                    .split_whitespace()
                    .find_map(|field| field.strip_prefix("roomName=")),
                _ => None,
            };
            if let Some(name) = name {
                *out.entry(name.trim_matches('"').to_owned()).or_default() += 1;
            }
        }
        out
    }
}

/// The fenced blocks of `lang` in the README section headed `heading` (none
/// when there is no such section: the test counts them).
pub(crate) fn blocks<'a>(readme: &'a str, heading: &str, lang: &str) -> Vec<&'a str> {
    let section = readme.split("\n## ").find(|s| s.starts_with(heading));
    let section = section.unwrap_or_default();
    let fence = format!("```{lang}\n");
    section
        .split(&fence)
        .skip(1)
        .filter_map(|rest| rest.split("```").next())
        .collect()
}
