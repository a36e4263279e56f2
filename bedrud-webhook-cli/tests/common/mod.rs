//! Shared by the tests that drive the real `bedrud-webhook` binary.
#![allow(dead_code, unreachable_pub)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// The binary under test, as cargo built it for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_bedrud-webhook");

/// The wire-format page's secret and golden vectors.
pub const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";
pub const GOLDEN: [(&str, &str); 3] = [
    (
        r#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#,
        "sha256=4a8a28e49e3e197b6aa2b626b4226a7131bae2bee66c980a640f1b6401a7469a",
    ),
    (
        r#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#,
        "sha256=5f16939ad45069b2126b88cd3cf1736bc6cd112fc47c6ee8b14874876644b572",
    ),
    (
        "{\"data\":{\"roomId\":\"r1\",\"roomName\":\"\\u003cb\\u003eQ\\u0026A\\u003c/b\\u003e — café 🎥 \\u2028\",\"userId\":\"u1\"},\"event\":\"room.created\",\"timestamp\":\"2026-04-01T12:34:56Z\"}",
        "sha256=b8a0d661a77397cb6b13ba923aa7f2200538f60b58d749223b86ba1e115efed1",
    ),
];

/// How long a test waits for the listener to print something.
const WAIT: Duration = Duration::from_secs(20);

/// The command, with none of the developer's own settings leaking in.
pub fn cmd() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(BIN);
    command
        .env_remove("BEDRUD_WEBHOOK_SECRET")
        .env_remove("REDIS_URL")
        .env_remove("RUST_LOG");
    command
}

/// What a finished command printed.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command` to the end and checks that no secret in `secrets` shows
/// up in anything it printed.
pub fn run(command: &mut assert_cmd::Command, secrets: &[&str]) -> Ran {
    let output = command.output().unwrap();
    let ran = Ran {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    };
    for secret in secrets {
        assert!(
            !ran.stdout.contains(secret),
            "secret on stdout: {}",
            ran.stdout
        );
        assert!(
            !ran.stderr.contains(secret),
            "secret on stderr: {}",
            ran.stderr
        );
    }
    ran
}

/// A file in a temporary directory of this test process, removed (with the
/// directory, once empty) when dropped.
pub struct TempFile(PathBuf);

pub fn temp_file(name: &str, contents: &[u8]) -> TempFile {
    let dir = std::env::temp_dir().join(format!("bedrud-webhook-cli-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    TempFile(path)
}

impl std::ops::Deref for TempFile {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<OsStr> for TempFile {
    fn as_ref(&self) -> &OsStr {
        self.0.as_os_str()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        if let Some(dir) = self.0.parent() {
            // Fails while other tests still have files there; the last one
            // to finish removes it.
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// A `bedrud-webhook listen` child process on a free loopback port. Killed
/// (by its own handle) when dropped.
pub struct Listener {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    /// Every line it printed so far, both streams, for secret checks.
    pub seen: Vec<String>,
    /// `http://127.0.0.1:PORT/path`.
    pub url: String,
}

fn lines(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Listener {
    /// Starts `listen --addr 127.0.0.1:0 ARGS…` with `env` set, and waits for
    /// its "listening on" line.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_at("127.0.0.1:0", args, env)
    }

    /// As [`Listener::start`], on `addr`.
    pub fn start_at(addr: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::spawn(Command::new(BIN), addr, args, env)
    }

    /// As [`Listener::start`], with at most `files` open file descriptors
    /// (`ulimit -n`), to run it out of them.
    pub fn start_with_fd_limit(files: u32, args: &[&str]) -> Self {
        let mut shell = Command::new("sh");
        shell.args([
            "-c",
            &format!("ulimit -n {files} && exec \"$0\" \"$@\""),
            BIN,
        ]);
        Self::spawn(shell, "127.0.0.1:0", args, &[])
    }

    fn spawn(mut command: Command, addr: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        command
            .env_remove("BEDRUD_WEBHOOK_SECRET")
            .env_remove("REDIS_URL")
            .env_remove("RUST_LOG")
            .args(["listen", "--addr", addr])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        let mut listener = Self {
            child,
            stdout,
            stderr,
            seen: Vec::new(),
            url: String::new(),
        };
        loop {
            let line = listener.stderr_line();
            if let Some(rest) = line.strip_prefix("listening on ") {
                listener.url = rest.split(' ').next().unwrap().to_owned();
                break;
            }
        }
        listener
    }

    /// The next line on standard error (waits for it).
    pub fn stderr_line(&mut self) -> String {
        let line = self
            .stderr
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("no stderr line from listen: {e}; so far: {:?}", self.seen));
        self.seen.push(line.clone());
        line
    }

    /// The next line on standard output (waits for it).
    pub fn stdout_line(&mut self) -> String {
        let line = self
            .stdout
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("no stdout line from listen: {e}; so far: {:?}", self.seen));
        self.seen.push(line.clone());
        line
    }

    /// Waits for it to exit by itself (`--count`, `--timeout`); its exit code
    /// and the rest of what it printed on each stream.
    pub fn finish(&mut self) -> (i32, Vec<String>, Vec<String>) {
        let mut waited = Duration::ZERO;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                waited < WAIT,
                "listen did not exit; so far: {:?}",
                self.seen
            );
            thread::sleep(Duration::from_millis(50));
            waited += Duration::from_millis(50);
        };
        let stdout: Vec<String> = self.stdout.iter().collect();
        let stderr: Vec<String> = self.stderr.iter().collect();
        self.seen.extend(stdout.iter().chain(&stderr).cloned());
        (status.code().unwrap_or(-1), stdout, stderr)
    }

    /// Checks that nothing it printed contains `secret`.
    pub fn assert_never_printed(&self, secret: &str) {
        for line in &self.seen {
            assert!(!line.contains(secret), "listen printed a secret: {line}");
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
