//! The servers the tests start of their own, on free loopback ports, and
//! stop when dropped (on a panic too): a Postgres cluster (`initdb` and
//! `pg_ctl` from the `postgresql` package), a `redis-server`, and small
//! tmpfs mounts; and the signals the fault tests send them.

use std::fs::File;
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

/// A fresh directory under the system's temporary directory, unique to this
/// test process and `name`; removed when dropped.
pub(crate) fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("bedrud-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// See [`temp_dir`].
#[derive(Debug)]
pub(crate) struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for TempDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Sends `signal` (`STOP`, `CONT`, `KILL`) to each of `pids`.
pub(crate) fn signal(signal: &str, pids: &[u32]) {
    let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .args(&pids)
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pids:?}");
}

/// The processes whose parent is `parent`.
pub(crate) fn children(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse().ok()) else {
            continue;
        };
        // `pid (comm) state ppid …`; comm may hold spaces, so after the last ')'.
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            out.push(pid);
        }
    }
    out
}

/// A tmpfs of `size` (`mount -t tmpfs -o size=…`) on a directory of its own;
/// unmounted, and the directory removed, when dropped.
pub(crate) struct Tmpfs {
    pub(crate) dir: TempDir,
}

impl Tmpfs {
    /// Mounts one, or says why it cannot (not root, mount refused): the
    /// caller prints that and skips.
    pub(crate) fn mount(name: &str, size: &str) -> Result<Tmpfs, String> {
        if !is_root() {
            return Err("not root: mounting a tmpfs needs root".to_owned());
        }
        let dir = temp_dir(&format!("tmpfs-{name}"));
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output();
        match out {
            Ok(out) if out.status.success() => Ok(Tmpfs { dir }),
            Ok(out) => Err(format!(
                "mount -t tmpfs refused: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => Err(format!("cannot run mount: {e}")),
        }
    }

    /// Fills the tmpfs with `filler` (a file), leaving `leave` bytes free.
    pub(crate) fn fill(&self, filler: &Path, leave: u64) {
        use std::io::Write;
        let mut file = File::create(filler).unwrap();
        let chunk = vec![0xa5u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => panic!("filling {}: {e}", filler.display()),
            }
        }
        file.set_len(written.saturating_sub(leave)).unwrap();
        file.sync_all().unwrap();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let umounted = Command::new("umount").arg(&self.dir).output();
        if !umounted.is_ok_and(|o| o.status.success()) {
            // Still busy (a process not yet reaped): detach it now.
            let _ = Command::new("umount").arg("-l").arg(&self.dir).output();
        }
        // Then `dir` (a field) is removed.
    }
}

/// A Postgres cluster of its own, on a loopback port; stopped on drop.
pub(crate) struct Postgres {
    dir: TempDir,
    bin: PathBuf,
    data: PathBuf,
    pub(crate) url: String,
    /// Where the data directory is when it is on a tmpfs of its own.
    pub(crate) tmpfs: Option<Tmpfs>,
}

impl Postgres {
    pub(crate) fn start(name: &str) -> Postgres {
        Postgres::start_with(name, None)
    }

    /// Starts one with its data directory on `tmpfs` and its WAL on the
    /// normal disk (`initdb --waldir`): a full data directory fails the
    /// writes that extend a table, while the WAL, whose write failure is a
    /// PANIC, still has room.
    pub(crate) fn start_on(name: &str, tmpfs: Tmpfs) -> Postgres {
        Postgres::start_with(name, Some(tmpfs))
    }

    fn start_with(name: &str, tmpfs: Option<Tmpfs>) -> Postgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|versions| versions.flatten().map(|v| v.path().join("bin")).max())
            .filter(|bin| bin.join("initdb").exists())
            .expect("Postgres is needed: apt-get install postgresql (.ci/test does)");
        let dir = temp_dir(&format!("pg-{name}"));
        let data = match &tmpfs {
            Some(tmpfs) => tmpfs.dir.join("data"),
            None => dir.join("data"),
        };
        let port = free_port();
        let pg = Postgres {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            dir,
            bin,
            data,
            tmpfs,
        };
        // As root, the server must run as another user: `postgres`.
        if is_root() {
            let mut chown = Command::new("chown");
            chown.args(["-R", "postgres"]).arg(&pg.dir);
            if let Some(tmpfs) = &pg.tmpfs {
                chown.arg(&tmpfs.dir);
            }
            assert!(chown.status().unwrap().success());
        }
        let data = pg.data.to_str().unwrap().to_owned();
        let waldir = pg.dir.join("wal");
        let waldir = waldir.to_str().unwrap();
        let mut initdb = vec!["-A", "trust", "-U", "postgres", "-D", &data];
        if pg.tmpfs.is_some() {
            initdb.extend(["--waldir", waldir]);
        }
        pg.run("initdb", &initdb);
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1",
            pg.dir.display()
        );
        pg.ctl(
            "start",
            &["-o", &options, "-l", pg.dir.join("log").to_str().unwrap()],
        );
        pg
    }

    fn command(&self, tool: &str) -> Command {
        let tool = self.bin.join(tool);
        match is_root() {
            true => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(tool);
                c
            }
            false => Command::new(tool),
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self
            .command(tool)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub(crate) fn ctl(&self, action: &str, extra: &[&str]) {
        let data = self.data.to_str().unwrap();
        let mut args = vec![action, "-w", "-D", data, "-m", "fast"];
        args.extend_from_slice(extra);
        self.run("pg_ctl", &args);
    }

    /// The postmaster's pid (the first line of `postmaster.pid`).
    fn postmaster(&self) -> Option<u32> {
        let pidfile = std::fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        pidfile.lines().next()?.trim().parse().ok()
    }

    /// The postmaster and every process it started (backends, checkpointer…).
    pub(crate) fn processes(&self) -> Vec<u32> {
        let postmaster = self.postmaster().expect("a running postmaster");
        let mut out = vec![postmaster];
        out.extend(children(postmaster));
        out
    }

    /// SIGSTOP to the postmaster, then to each process it started (it can
    /// start no more once stopped); returns how many were stopped.
    pub(crate) fn pause(&self) -> usize {
        let postmaster = self.postmaster().expect("a running postmaster");
        signal("STOP", &[postmaster]);
        let children = children(postmaster);
        signal("STOP", &children);
        1 + children.len()
    }

    /// SIGCONT to the postmaster and each process it started.
    pub(crate) fn resume(&self) {
        signal("CONT", &self.processes());
    }

    /// The server's log, to explain a failure.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // A paused server would not stop: let it run first.
        if let Some(postmaster) = self.postmaster() {
            let pids = [vec![postmaster], children(postmaster)].concat();
            let _ = Command::new("kill")
                .arg("-CONT")
                .args(pids.iter().map(u32::to_string))
                .output();
        }
        let data = self.data.to_str().unwrap().to_owned();
        let _ = self
            .command("pg_ctl")
            .args(["stop", "-w", "-m", "immediate", "-D", &data])
            .output();
        // Then `dir` (a field) is removed, and `tmpfs` unmounted.
    }
}

/// A `redis-server` of our own (no persistence, in a directory of its own),
/// killed, and its directory removed, when dropped.
pub(crate) struct Redis {
    pub(crate) child: Child,
    port: u16,
    dir: PathBuf,
}

impl Redis {
    /// Starts one on `port` and waits until it accepts connections.
    pub(crate) fn start(port: u16) -> Redis {
        let dir = std::env::temp_dir().join(format!(
            "bedrud-webhook-redis-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let log = File::create(dir.join("redis.log")).unwrap();
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == ErrorKind::NotFound => panic!(
                "redis-server is not installed: these tests start one of their own; \
                 install it (apt-get install redis-server)"
            ),
            Err(e) => panic!("could not start redis-server: {e}"),
        };
        let mut redis = Redis { child, port, dir };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            let exited = redis.child.try_wait().unwrap();
            if exited.is_some() || Instant::now() > deadline {
                let log = std::fs::read_to_string(redis.dir.join("redis.log"));
                panic!("redis-server did not listen on {addr} ({exited:?}):\n{log:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        redis
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// SIGSTOP: connections stay open, nothing is answered.
    pub(crate) fn pause(&self) {
        signal("STOP", &[self.child.id()]);
    }

    /// SIGCONT.
    pub(crate) fn resume(&self) {
        signal("CONT", &[self.child.id()]);
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .output();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
