//! `listen --queue FILE --admin PORT`: the deliveries dashboard (apalis-board)
//! at `/` of the admin listener, seen through a real browser.
//!
//! - a delivery whose handler failed its one attempt is dead in the queue;
//! - headless Chromium (Debian's `chromium`, which `.ci/test` installs)
//!   renders the dashboard's page of the queue's failed tasks, which shows
//!   the dead delivery's id, and the task's page, which shows its state,
//!   its attempts and its stored body (the event). Not its last error:
//!   apalis-sqlite 1.0.0 does not read `last_result` into the tasks it lists;
//! - the UI is read-only (its API client only GETs): the re-run goes through
//!   the dashboard's API as the UI would, `GET` of the task then `PUT` of its
//!   stored delivery on the queue's tasks, and a worker whose handler now
//!   succeeds handles it;
//! - with a token the dashboard, its API included, answers 401 without it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bedrud_webhook::Envelope;
use bedrud_webhook::queue::{Queue, State, StoredDelivery};
use common::{GOLDEN, Listener, SECRET};

const CHROMIUM: &str = "/usr/bin/chromium";
const TASKS: &str = "/api/v1/queues/bedrud-deliveries/tasks";

/// A fresh directory for this test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "bedrud-webhook-dashboard-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The admin address from `listen`'s "deliveries dashboard on http://ADDR/".
fn dashboard_addr(listener: &mut Listener) -> String {
    loop {
        let line = listener.stderr_line();
        if let Some(rest) = line.strip_prefix("deliveries dashboard on http://") {
            return rest.trim_end_matches('/').to_owned();
        }
    }
}

/// One HTTP/1.0 request (no chunked answers), with `headers` (each
/// `Name: value`): status and body.
fn http(addr: &str, method: &str, path: &str, headers: &[&str], body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let headers: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\n{headers}Content-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

/// The DOM headless Chromium renders for `url` (its wasm run, its API
/// fetched), in a profile of its own under `dir`.
fn rendered(dir: &Path, url: &str) -> String {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: apt-get install chromium (.ci/test does)"
    );
    let profile = dir.join(format!("chromium-{}", url.len()));
    let output = Command::new("timeout")
        .arg("90")
        .arg(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "chromium failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    dom
}

/// Retries `check` on fresh renderings of `url`: the page fetches its data
/// after it loads.
fn rendered_with(dir: &Path, url: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
    let mut dom = String::new();
    for _ in 0..3 {
        dom = rendered(dir, url);
        if check(&dom) {
            return dom;
        }
    }
    panic!("the dashboard at {url} never showed {what}; last DOM:\n{dom}");
}

async fn until<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// A queue in `file` holding one dead delivery: one attempt, and a handler
/// that failed it.
async fn dead_delivery(file: &str) -> (Queue, StoredDelivery) {
    let queue = Queue::connect(file).await.unwrap().attempts(1);
    let dead = fail_until(&queue, 0, State::Dead).await;
    assert_eq!(dead.attempts, 1);
    (queue, dead)
}

/// Pushes golden vector `n` to `queue` and fails it until it is in `state`.
async fn fail_until(queue: &Queue, n: usize, state: State) -> StoredDelivery {
    let (body, signature) = GOLDEN[n];
    let tag: Vec<u8> = (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(&signature["sha256=".len()..][i..i + 2], 16).unwrap())
        .collect();
    let tag: [u8; 32] = tag.try_into().unwrap();
    queue
        .push(body.as_bytes().to_vec().into(), &tag)
        .await
        .unwrap();
    let failing = tokio::spawn({
        let queue = queue.clone();
        async move {
            let fail = |_: Envelope| async { Err::<(), _>("the room service is down") };
            queue.run_worker(fail).await;
        }
    });
    until("the delivery to fail", || async {
        queue.list(Some(state)).await.unwrap().len() == 1
    })
    .await;
    failing.abort();
    queue.list(Some(state)).await.unwrap().remove(0)
}

/// The event of the next delivery a worker whose handler succeeds handles.
async fn handled_next(queue: &Queue) -> Option<String> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let succeeding = tokio::spawn({
        let queue = queue.clone();
        async move {
            let handle = move |envelope: Envelope| {
                let tx = tx.clone();
                async move {
                    tx.send(envelope.event.name().to_owned()).unwrap();
                    Ok::<(), std::convert::Infallible>(())
                }
            };
            queue.run_worker(handle).await;
        }
    });
    let handled = tokio::time::timeout(Duration::from_secs(20), rx.recv()).await;
    succeeding.abort();
    handled.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_a_dead_delivery_and_its_api_runs_it_again() {
    let dir = TempDir::new("dead");
    let file = dir.0.join("q.db");
    let file = file.to_str().unwrap();
    let (queue, dead) = dead_delivery(file).await;

    let mut listener = Listener::start(&["--secret", SECRET, "--queue", file, "--admin", "0"], &[]);
    let addr = dashboard_addr(&mut listener);

    // The browser: the queue's failed tasks, then the dead one's page.
    let failed = format!("http://{addr}/queues/bedrud-deliveries/Failed");
    rendered_with(&dir.0, &failed, "the dead delivery's id", |dom| {
        dom.contains(&dead.id)
    });
    let page = format!("http://{addr}/queues/bedrud-deliveries/tasks/{}", dead.id);
    // Its state, attempts and stored delivery; not its last error: apalis's
    // SQL engines (1.0.0) do not read `last_result` into the task they list
    // (`bedrud-webhook dead` shows it).
    let dom = rendered_with(&dir.0, &page, "the delivery's body", |dom| {
        dom.contains("room.ended")
    });
    assert!(dom.contains(&dead.tag), "the stored delivery's tag: {dom}");
    assert!(dom.contains(">Failed<"), "its state: {dom}");
    assert!(dom.contains("Attempt: 1<"), "its attempts: {dom}");

    // The re-run, through the dashboard's API: the task as the UI reads it,
    // then its stored delivery pushed again on the queue's tasks.
    let (status, task) = http(&addr, "GET", &format!("{TASKS}/{}", dead.id), &[], "");
    assert_eq!(status, 200, "{task}");
    let task: serde_json::Value = serde_json::from_str(&task).unwrap();
    let job = serde_json::to_string(&task["args"]).unwrap();
    assert!(job.contains(&dead.tag), "{job}");
    let (status, answer) = http(&addr, "PUT", TASKS, &[], &job);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(handled_next(&queue).await.as_deref(), Some("room.ended"));

    // The worker's metrics are still on the same listener.
    let (status, _) = http(&addr, "GET", "/metrics", &[], "");
    assert_eq!(status, 200);

    // A delivery between two attempts: on /dead under "retrying", with its
    // error and when it runs next (apalis-board's pages show no error).
    let long = Duration::from_secs(600);
    let queue = queue.attempts(3).backoff(long, long);
    let retrying = fail_until(&queue, 1, State::Retrying).await;
    let (status, page) = http(&addr, "GET", "/dead", &[], "");
    assert_eq!(status, 200, "{page}");
    // (The API's push above left the dead row as it was: still dead.)
    assert!(page.contains("1 dead deliveries"), "{page}");
    assert!(page.contains("1 retrying"), "{page}");
    assert!(page.contains(&retrying.id), "{page}");
    assert!(
        page.contains("1/3") && page.contains("the room service is down"),
        "{page}"
    );
    let next = retrying.run_at.unwrap().to_string();
    assert!(page.contains(&format!("next attempt {next}")), "{page}");
}

#[test]
fn with_a_token_the_dashboard_and_its_api_need_it() {
    let dir = TempDir::new("token");
    let file = dir.0.join("q.db");
    let file = file.to_str().unwrap();
    let token = "an-admin-token-for-the-test";
    let mut listener = Listener::start(
        &["--secret", SECRET, "--queue", file, "--admin", "0"],
        &[("BEDRUD_WEBHOOK_ADMIN_TOKEN", token)],
    );
    let addr = dashboard_addr(&mut listener);
    let bearer = format!("Authorization: Bearer {token}");
    // Basic, as a browser sends it: "operator:" + the token, in base64.
    let basic = "Authorization: Basic b3BlcmF0b3I6YW4tYWRtaW4tdG9rZW4tZm9yLXRoZS10ZXN0";
    let wrong = "Authorization: Basic b3BlcmF0b3I6bm90LXRoZS10b2tlbg==";
    for path in [
        "/",
        "/queues/bedrud-deliveries/Failed",
        TASKS,
        "/api/v1/queues",
        "/dead",
        "/metrics",
    ] {
        assert_eq!(http(&addr, "GET", path, &[], "").0, 401, "{path}");
        assert_eq!(http(&addr, "GET", path, &[wrong], "").0, 401, "{path}");
        assert_eq!(http(&addr, "GET", path, &[&bearer], "").0, 200, "{path}");
        assert_eq!(http(&addr, "GET", path, &[basic], "").0, 200, "{path}");
    }
    assert_eq!(http(&addr, "PUT", TASKS, &[], "{}").0, 401);
    let (status, page) = http(&addr, "GET", "/", &[&bearer], "");
    assert_eq!(status, 200);
    assert!(page.contains("apalis-board-web"), "{page}");
    listener.assert_never_printed(token);
}

/// Where `.ci/test` installs puppeteer-core: `target/test-apps/node`.
fn node_modules() -> PathBuf {
    let binary = Path::new(env!("CARGO_BIN_EXE_bedrud-webhook"));
    let target = binary.parent().unwrap().parent().unwrap();
    let modules = target.join("test-apps/node/node_modules");
    assert!(
        modules.join("puppeteer-core").is_dir(),
        "{} lacks puppeteer-core: run .ci/test, which installs it",
        modules.display()
    );
    modules
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_runs_a_dead_delivery_again_from_the_dashboard_in_a_browser() {
    let dir = TempDir::new("browser");
    let file = dir.0.join("q.db");
    let file = file.to_str().unwrap();
    let (queue, dead) = dead_delivery(file).await;
    let token = "an-admin-token-for-the-browser";
    let mut listener = Listener::start(
        &["--secret", SECRET, "--queue", file, "--admin", "0"],
        &[("BEDRUD_WEBHOOK_ADMIN_TOKEN", token)],
    );
    let addr = dashboard_addr(&mut listener);

    // Chromium, driven by puppeteer-core, with the token as the password
    // the browser asks for: apalis-board's page of failed tasks, then
    // `/dead`, where the delivery's button is clicked.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/rerun.cjs");
    let output = Command::new("timeout")
        .arg("120")
        .arg("node")
        .arg(script)
        .args([CHROMIUM, &format!("http://{addr}"), token, &dead.id])
        .env("NODE_PATH", node_modules())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the browser script failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(seen["board"]["status"], 200, "{seen}");
    assert!(
        seen["board"]["text"].as_str().unwrap().contains(&dead.id),
        "{seen}"
    );
    let listed = seen["dead"]["text"].as_str().unwrap();
    assert_eq!(seen["dead"]["status"], 200, "{seen}");
    assert!(listed.contains("1 dead deliveries"), "{listed}");
    assert!(
        listed.contains(&dead.id) && listed.contains("room.ended"),
        "{listed}"
    );
    assert!(
        listed.contains("the room service is down"),
        "its last error: {listed}"
    );
    // The click: queued again, and back on /dead, which no longer lists it.
    assert_eq!(seen["rerun"]["status"], 200, "{seen}");
    assert_eq!(
        seen["rerun"]["url"],
        format!("http://{addr}/dead"),
        "{seen}"
    );
    assert!(
        seen["rerun"]["text"]
            .as_str()
            .unwrap()
            .contains("0 dead deliveries"),
        "{seen}"
    );
    let queued = queue.get(&dead.id).await.unwrap().unwrap();
    assert_eq!(queued.state, State::Pending, "{queued:?}");
    assert_eq!(handled_next(&queue).await.as_deref(), Some("room.ended"));

    // Without the token, nothing; a form posted from another site, refused.
    let rerun = format!("/dead/{}/rerun", dead.id);
    assert_eq!(http(&addr, "GET", "/dead", &[], "").0, 401);
    assert_eq!(http(&addr, "POST", &rerun, &[], "").0, 401);
    let bearer = format!("Authorization: Bearer {token}");
    let evil = ["Origin: http://evil.example", bearer.as_str()];
    let (status, _) = http(&addr, "POST", &rerun, &evil, "");
    assert_eq!(status, 403);
    listener.assert_never_printed(token);
}
