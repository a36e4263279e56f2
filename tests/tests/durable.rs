//! The durable hand-off (`bedrud_webhook::queue`, issue 16) on real engines
//! over real HTTP: SQLite files in temporary directories, and Postgres
//! clusters started here on loopback ports (`initdb` and `pg_ctl` from the
//! `postgresql` package, which `.ci/run` installs) and stopped afterwards.
//!
//! - a handler that fails twice then succeeds: handled once, 3 attempts recorded;
//!   the same delivery posted twice is stored once;
//! - the receiver (`bedrud-webhook listen --queue`) SIGKILLed right after its
//!   202, before any handler ran: the `durable_receiver` example started on
//!   the same file handles the delivery;
//! - storage unavailable (the SQLite file locked by another writer, Postgres
//!   stopped): 503, never 2xx;
//! - two `durable_receiver` replicas on one Postgres, 1,000 distinct
//!   deliveries each posted to both: each handled exactly once in total;
//! - a handler that always fails: dead after N attempts, listed and re-run by
//!   `bedrud-webhook dead`, then handled once by the fixed handler (SQLite
//!   and Postgres, which also checks the re-run SQL on both schemas);
//! - deliveries in every state (pending, running, retrying, dead, done), as
//!   `bedrud-webhook deliveries list --state`, `--json` and `show` print them,
//!   and `deliveries rerun --all-dead` (SQLite and Postgres);
//! - a job stored by version 1 (`tests/fixtures/queue-job-v1.json`) still reads,
//!   through `Queue::list`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bedrud_webhook::delivery::Delivery;
use bedrud_webhook::queue::{Queue, State};
use bedrud_webhook::sender::Sender;
use bedrud_webhook::{Envelope, Event, Secret, Verifier};

mod common;
use common::servers::{Postgres, temp_dir};
use common::{Running, cli, delivery, durable_receiver, free_port, listen, post, secret};

/// Serves `queue.service` on a loopback port.
async fn serve(queue: &Queue) -> String {
    common::serve_queue(queue).await
}

/// Waits up to `secs` for `done`.
async fn until(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A handler that fails its first `failures` calls, and counts.
#[derive(Clone, Default)]
struct Flaky {
    failures: Arc<AtomicUsize>,
    calls: Arc<AtomicUsize>,
    handled: Arc<Mutex<Vec<String>>>,
}

impl Flaky {
    fn failing(failures: usize) -> Flaky {
        let flaky = Flaky::default();
        flaky.failures.store(failures, Ordering::SeqCst);
        flaky
    }

    fn handler(
        &self,
    ) -> impl Fn(Envelope) -> std::future::Ready<Result<(), String>> + Clone + Send + Sync + 'static
    {
        let this = self.clone();
        move |envelope: Envelope| {
            let call = this.calls.fetch_add(1, Ordering::SeqCst);
            if call < this.failures.load(Ordering::SeqCst) {
                return std::future::ready(Err(format!("failure {}", call + 1)));
            }
            let Event::RoomCreated(room) = envelope.event else {
                panic!("{envelope:?}")
            };
            this.handled.lock().unwrap().push(room.room_id);
            std::future::ready(Ok(()))
        }
    }

    fn handled(&self) -> Vec<String> {
        self.handled.lock().unwrap().clone()
    }
}

async fn sqlite_attempts(file: &Path) -> Vec<(String, i64)> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    sqlx::query_as("SELECT status, attempts FROM Jobs")
        .fetch_all(&pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_twice_then_succeeds_handled_once_with_three_attempts() {
    let dir = temp_dir("flaky");
    let file = dir.join("q.db");
    let queue = Queue::connect(file.to_str().unwrap()).await.unwrap();
    let queue = queue
        .attempts(5)
        .backoff(Duration::from_millis(20), Duration::from_millis(100));
    let url = serve(&queue).await;
    let flaky = Flaky::failing(2);
    let one = delivery("r-flaky");
    // The same delivery twice: 202 both times, stored once.
    assert_eq!(post(&url, &one).await, 202);
    assert_eq!(post(&url, &one).await, 202);
    let worker = tokio::spawn({
        let (queue, handler) = (queue.clone(), flaky.handler());
        async move { queue.run_worker(handler).await }
    });
    until(20, "the handler to succeed", || !flaky.handled().is_empty()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    worker.abort();
    assert_eq!(flaky.handled(), ["r-flaky"]);
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 3);
    let mut rows = sqlite_attempts(&file).await;
    for _ in 0..40 {
        if rows == [("Done".to_owned(), 3)] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        rows = sqlite_attempts(&file).await;
    }
    assert_eq!(rows, [("Done".to_owned(), 3)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handled_deliveries_are_pruned_after_keep_done_and_dead_ones_kept() {
    let dir = temp_dir("prune");
    let file = dir.join("q.db");
    let queue = Queue::connect(file.to_str().unwrap()).await.unwrap();
    let queue = queue.attempts(1).keep_done(Duration::ZERO);
    let url = serve(&queue).await;
    let flaky = Flaky::failing(1);
    assert_eq!(post(&url, &delivery("r-dead")).await, 202);
    let worker = tokio::spawn({
        let (queue, handler) = (queue.clone(), flaky.handler());
        async move { queue.run_worker(handler).await }
    });
    until(20, "the delivery to be dead", || {
        flaky.calls.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(post(&url, &delivery("r-ok")).await, 202);
    until(20, "the handler to succeed", || !flaky.handled().is_empty()).await;
    let mut rows = sqlite_attempts(&file).await;
    for _ in 0..40 {
        if rows.iter().any(|(status, _)| status == "Done") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        rows = sqlite_attempts(&file).await;
    }
    worker.abort();
    // Kept for a day by default: nothing to delete yet.
    let day = queue.clone().keep_done(Duration::from_secs(24 * 60 * 60));
    assert_eq!(day.prune().await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(queue.prune().await.unwrap(), 1);
    let rows = sqlite_attempts(&file).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        queue.list(Some(State::Dead)).await.unwrap().len(),
        1,
        "the dead one is kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_202_the_delivery_is_handled_after_restart() {
    let dir = temp_dir("sigkill");
    let file = dir.join("q.db");
    let file = file.to_str().unwrap();
    let mut listen = listen(&["--queue", file]);
    assert_eq!(post(&listen.url(), &delivery("r-killed")).await, 202);
    // SIGKILL: no shutdown code runs. `listen` runs no handler, so none ran.
    listen.kill();

    let restarted = durable_receiver(format!("127.0.0.1:{}", free_port()).parse().unwrap(), file);
    restarted.wait_for(20, "r-killed");
    let handled = restarted
        .lines()
        .iter()
        .filter(|l| l.contains("handled delivery"))
        .count();
    assert_eq!(handled, 1, "{:?}", restarted.lines());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_storage_is_503_never_2xx() {
    // SQLite: another process's writer holds the lock past the 5 s busy timeout.
    let dir = temp_dir("locked");
    let file = dir.join("q.db");
    let queue = Queue::connect(file.to_str().unwrap()).await.unwrap();
    let url = serve(&queue).await;
    assert_eq!(post(&url, &delivery("r-before-lock")).await, 202);
    let mut lock = std::process::Command::new("sqlite3")
        .arg(&file)
        .stdin(Stdio::piped())
        .spawn()
        .expect("the sqlite3 command (apt-get install sqlite3)");
    std::io::Write::write_all(lock.stdin.as_mut().unwrap(), b"BEGIN EXCLUSIVE;\nINSERT INTO Workers (id, worker_type, storage_name) VALUES ('lock', 'x', 'y');\n").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    assert_eq!(post(&url, &delivery("r-locked")).await, 503);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    drop(lock.stdin.take());
    lock.wait().unwrap();
    assert_eq!(post(&url, &delivery("r-after-lock")).await, 202);

    // Postgres: stopped under a running receiver.
    let pg = Postgres::start("stopped");
    let queue = Queue::connect(&pg.url).await.unwrap();
    let url = serve(&queue).await;
    assert_eq!(post(&url, &delivery("r-up")).await, 202);
    pg.ctl("stop", &[]);
    for i in 0..3 {
        assert_eq!(post(&url, &delivery(&format!("r-down-{i}"))).await, 503);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_postgres_handle_each_of_1000_deliveries_once() {
    let pg = Postgres::start("replicas");
    let addrs: Vec<SocketAddr> = (0..2)
        .map(|_| format!("127.0.0.1:{}", free_port()).parse().unwrap())
        .collect();
    let replicas: Vec<Running> = addrs
        .iter()
        .map(|addr| durable_receiver(*addr, &pg.url))
        .collect();
    for replica in &replicas {
        replica.wait_for(30, "listening on");
    }
    let sender = Sender::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(16));
    let mut posts = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let one = delivery(&format!("rep-{i:04}"));
        for addr in &addrs {
            let (sender, one, slots) = (sender.clone(), one.clone(), Arc::clone(&slots));
            let url = format!("http://{addr}/webhooks/bedrud");
            posts.spawn(async move {
                let _slot = slots.acquire().await.unwrap();
                sender
                    .deliver(&url, &one, &secret())
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            });
        }
    }
    let statuses = posts.join_all().await;
    assert!(
        statuses.iter().all(|s| *s == 202),
        "{:?}",
        statuses.iter().filter(|s| **s != 202).count()
    );
    let handled = || {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for line in replicas
            .iter()
            .flat_map(Running::lines)
            .filter(|l| l.contains("handled delivery"))
        {
            let id = line
                .split("room_id: \"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap();
            *seen.entry(id.to_owned()).or_default() += 1;
        }
        seen
    };
    until(120, "1,000 handled deliveries", || handled().len() == 1000).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = handled();
    assert_eq!(seen.len(), 1000);
    assert!(
        seen.values().all(|n| *n == 1),
        "{:?}",
        seen.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    let per_replica: Vec<usize> = replicas
        .iter()
        .map(|r| {
            r.lines()
                .iter()
                .filter(|l| l.contains("handled delivery"))
                .count()
        })
        .collect();
    eprintln!("handled per replica: {per_replica:?}");
}

async fn dead_then_rerun_from_the_cli(url: &str) {
    let queue = Queue::connect(url).await.unwrap();
    let queue = queue
        .attempts(3)
        .backoff(Duration::from_millis(10), Duration::from_millis(50));
    let http = serve(&queue).await;
    assert_eq!(post(&http, &delivery("r-dead")).await, 202);
    let broken = Flaky::failing(usize::MAX);
    let worker = tokio::spawn({
        let (queue, handler) = (queue.clone(), broken.handler());
        async move { queue.run_worker(handler).await }
    });
    let mut dead = Vec::new();
    for _ in 0..200 {
        dead = queue.list(Some(State::Dead)).await.unwrap();
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.abort();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 3);
    assert_eq!(broken.calls.load(Ordering::SeqCst), 3);
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("failure 3"),
        "{dead:?}"
    );
    let id = dead[0].id.clone();

    let (ok, listed) = cli(&["dead", "list", "--queue", url]);
    assert!(
        ok && listed.contains(&id) && listed.contains("attempts=3/3") && listed.contains("1 dead"),
        "{listed}"
    );
    // The error as text and the time in RFC 3339, not apalis's record and Unix seconds.
    let received = format!("received_at={}", dead[0].received_at);
    assert!(
        listed.contains("last_error=\"failure 3\"") && !listed.contains("Err"),
        "{listed}"
    );
    assert!(
        listed.contains(&received) && received.ends_with('Z'),
        "{listed}"
    );
    let fixed = Flaky::failing(0);
    let worker = tokio::spawn({
        let (queue, handler) = (queue.clone(), fixed.handler());
        async move { queue.run_worker(handler).await }
    });
    let (ok, rerun) = cli(&["dead", "rerun", "--queue", url, &id]);
    assert!(ok && rerun.contains("queued again"), "{rerun}");
    until(20, "the re-run", || !fixed.handled().is_empty()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    worker.abort();
    assert_eq!(fixed.handled(), ["r-dead"]);
    let (ok, listed) = cli(&["dead", "list", "--queue", url]);
    assert!(ok && listed.contains("0 dead"), "{listed}");
    // Not dead any more: nothing to re-run, exit 1.
    let (ok, rerun) = cli(&["dead", "rerun", "--queue", url, &id]);
    assert!(!ok && rerun.contains("not a dead delivery"), "{rerun}");
    // Handled now: kept for a day, then pruned.
    assert_eq!(queue.prune().await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let now = queue.clone().keep_done(Duration::ZERO);
    assert_eq!(now.prune().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_dead_after_n_attempts_is_rerun_from_the_cli() {
    let dir = temp_dir("dead");
    let file = dir.join("q.db");
    dead_then_rerun_from_the_cli(file.to_str().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dead_after_n_attempts_is_rerun_from_the_cli() {
    let pg = Postgres::start("dead");
    dead_then_rerun_from_the_cli(&pg.url).await;
}

/// A handler by room: `r-done` succeeds, `r-running` blocks (until the
/// test ends), any other fails; records which rooms it saw.
fn by_room(
    seen: &Arc<Mutex<Vec<String>>>,
) -> impl Fn(Envelope) -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
    let seen = seen.clone();
    move |envelope: Envelope| {
        let Event::RoomCreated(room) = envelope.event else {
            panic!("{envelope:?}")
        };
        seen.lock().unwrap().push(room.room_id.clone());
        Box::pin(async move {
            match room.room_id.as_str() {
                "r-done" => Ok(()),
                "r-running" => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok(())
                }
                other => Err(format!("failure for {other}")),
            }
        })
    }
}

/// The stored deliveries by room.
async fn rooms(queue: &Queue) -> HashMap<String, bedrud_webhook::queue::StoredDelivery> {
    let all = queue.list(None).await.unwrap();
    let room = |d: &bedrud_webhook::queue::StoredDelivery| {
        let Event::RoomCreated(room) = d.envelope().unwrap().event else {
            panic!("{d:?}")
        };
        room.room_id
    };
    all.into_iter().map(|d| (room(&d), d)).collect()
}

/// Puts `id` where apalis leaves a delivery whose worker stopped between two
/// attempts: failed once, attempts left, due in an hour. (A worker waiting
/// out its backoff holds the delivery: apalis 1.0 retries in the worker.)
async fn fail_once(url: &str, id: &str) {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(
            "UPDATE apalis.jobs SET status = 'Failed', attempts = 1, lock_by = NULL, \
             lock_at = NULL, last_result = '{\"Err\":\"failure for r-retry\"}'::jsonb, \
             run_at = now() + interval '1 hour' WHERE id = $1",
        )
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    } else {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{url}"))
            .await
            .unwrap();
        sqlx::query(
            "UPDATE Jobs SET status = 'Failed', attempts = 1, lock_by = NULL, lock_at = NULL, \
             last_result = '{\"Err\":\"failure for r-retry\"}', \
             run_at = strftime('%s', 'now') + 3600 WHERE id = ?1",
        )
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    }
}

async fn deliveries_in_every_state(url: &str) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_rooms = || seen.lock().unwrap().clone();
    // Done and dead: one attempt each.
    let once = Queue::connect(url).await.unwrap().attempts(1);
    let http = serve(&once).await;
    for room in ["r-done", "r-dead"] {
        assert_eq!(post(&http, &delivery(room)).await, 202);
    }
    let worker = tokio::spawn({
        let (queue, handler) = (once.clone(), by_room(&seen));
        async move { queue.run_worker(handler).await }
    });
    for _ in 0..400 {
        let (done, dead) = (
            once.list(Some(State::Done)).await.unwrap(),
            once.list(Some(State::Dead)).await.unwrap(),
        );
        if done.len() == 1 && dead.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.abort();
    // Running (the handler blocks) and one that fails with attempts left.
    let long = once
        .clone()
        .attempts(3)
        .backoff(Duration::from_secs(3600), Duration::from_secs(3600));
    let http = serve(&long).await;
    for room in ["r-running", "r-retry"] {
        assert_eq!(post(&http, &delivery(room)).await, 202);
    }
    let worker = tokio::spawn({
        let (queue, handler) = (long.clone(), by_room(&seen));
        async move { queue.run_worker(handler).await }
    });
    until(20, "both handlers to start", || {
        let seen = seen_rooms();
        seen.contains(&"r-running".to_owned()) && seen.contains(&"r-retry".to_owned())
    })
    .await;
    let (ok, running) = cli(&["deliveries", "list", "--state", "running", "--queue", url]);
    let id = rooms(&long).await["r-running"].id.clone();
    assert!(
        ok && running.contains(&id) && running.ends_with("running\n"),
        "{running}"
    );
    worker.abort();
    let retry = rooms(&long).await["r-retry"].id.clone();
    fail_once(url, &retry).await;
    // Pending: pushed with no worker running.
    assert_eq!(post(&http, &delivery("r-pending")).await, 202);

    let stored = rooms(&long).await;
    for (room, state, attempts, max, error) in [
        ("r-pending", State::Pending, 0, 3, None),
        ("r-running", State::Running, 0, 3, None),
        (
            "r-retry",
            State::Retrying,
            1,
            3,
            Some("failure for r-retry"),
        ),
        ("r-dead", State::Dead, 1, 1, Some("failure for r-dead")),
        ("r-done", State::Done, 1, 1, None),
    ] {
        let d = &stored[room];
        assert_eq!(
            (d.state, d.attempts, d.max_attempts, d.last_error.as_deref()),
            (state, attempts, max, error),
            "{d:?}"
        );
        let waiting = matches!(state, State::Pending | State::Retrying);
        let finished = matches!(state, State::Done | State::Dead);
        assert_eq!(
            (d.run_at.is_some(), d.done_at.is_some()),
            (waiting, finished),
            "{d:?}"
        );
        assert_eq!(long.get(&d.id).await.unwrap().unwrap().state, state);
        // The CLI: one line in its state, with attempts k/n, the event, the time.
        let (ok, listed) = cli(&[
            "deliveries",
            "list",
            "--queue",
            url,
            "--state",
            state.as_str(),
        ]);
        let line = format!(
            "{}  {state}  attempts={attempts}/{max}  event=room.created  received_at={}  ",
            d.id, d.received_at
        );
        assert!(ok && listed.starts_with(&line), "{listed}");
        assert!(listed.ends_with(&format!("\n1 {state}\n")), "{listed}");
    }
    assert!(long.get("no-such-id").await.unwrap().is_none());
    // The retrying one runs in an hour.
    let retry_at = stored["r-retry"].run_at.unwrap().unix_seconds();
    assert!(retry_at > stored["r-retry"].received_at.unix_seconds() + 3000);

    // --json: one object per line, every field.
    let (ok, json) = cli(&["deliveries", "list", "--json", "--queue", url]);
    assert!(ok, "{json}");
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "{json}");
    for line in &lines {
        let body = serde_json::to_vec(&line["body"]).unwrap();
        let Event::RoomCreated(room) = Envelope::from_slice(&body).unwrap().event else {
            panic!("{line}")
        };
        let d = &stored[&room.room_id];
        assert_eq!(line["id"], d.id.as_str());
        assert_eq!(line["state"], d.state.as_str());
        assert_eq!(line["attempts"], d.attempts);
        assert_eq!(line["max_attempts"], d.max_attempts);
        assert_eq!(line["event"], "room.created");
        assert_eq!(line["tag"], d.tag.as_str());
        assert_eq!(line["received_at"], d.received_at.to_string());
        assert_eq!(line["last_error"].as_str(), d.last_error.as_deref());
        let at = |t: Option<bedrud_webhook::Timestamp>| t.map(|t| t.to_string());
        assert_eq!(line["run_at"].as_str().map(str::to_owned), at(d.run_at));
        assert_eq!(line["done_at"].as_str().map(str::to_owned), at(d.done_at));
        let received: bedrud_webhook::Timestamp =
            line["received_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(received, d.received_at);
    }
    let (ok, dead_json) = cli(&[
        "deliveries",
        "list",
        "--state",
        "dead",
        "--json",
        "--queue",
        url,
    ]);
    assert!(ok && dead_json.lines().count() == 1, "{dead_json}");
    assert!(dead_json.contains("\"state\":\"dead\""), "{dead_json}");

    // show: the error as text, the times in RFC 3339, the body pretty-printed.
    let dead = &stored["r-dead"];
    let (ok, shown) = cli(&["deliveries", "show", &dead.id, "--queue", url]);
    assert!(ok, "{shown}");
    for expected in [
        format!("id           {}\n", dead.id),
        "state        dead\n".to_owned(),
        "attempts     1/1\n".to_owned(),
        "event        room.created\n".to_owned(),
        format!("received_at  {}\n", dead.received_at),
        format!("done_at      {}\n", dead.done_at.unwrap()),
        "run_at       -\n".to_owned(),
        "last_error   failure for r-dead\n".to_owned(),
        "body\n{\n  \"data\": {\n    \"".to_owned(),
        "\"roomId\": \"r-dead\"".to_owned(),
        "\n  \"event\": \"room.created\",\n".to_owned(),
    ] {
        assert!(shown.contains(&expected), "{expected:?} in {shown}");
    }
    let body = shown.split_once("body\n").unwrap().1;
    let pretty: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        pretty,
        serde_json::from_str::<serde_json::Value>(&dead.body).unwrap()
    );
    let (ok, missing) = cli(&["deliveries", "show", "no-such-id", "--queue", url]);
    assert!(
        !ok && missing.contains("no delivery no-such-id"),
        "{missing}"
    );

    // rerun --all-dead: the dead one waits for a worker again, with all its attempts.
    let (ok, rerun) = cli(&["deliveries", "rerun", "--all-dead", "--queue", url]);
    assert!(
        ok && rerun == format!("{}  queued again\n", dead.id),
        "{rerun}"
    );
    let (ok, listed) = cli(&["deliveries", "list", "--state", "dead", "--queue", url]);
    assert!(ok && listed == "0 dead\n", "{listed}");
    let (ok, listed) = cli(&["deliveries", "list", "--state", "pending", "--queue", url]);
    assert!(
        ok && listed.contains(&dead.id) && listed.contains("2 pending"),
        "{listed}"
    );
    let (ok, rerun) = cli(&["deliveries", "rerun", &stored["r-done"].id, "--queue", url]);
    assert!(!ok && rerun.contains("not a dead delivery"), "{rerun}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_deliveries_in_every_state_from_the_cli() {
    let dir = temp_dir("states");
    let file = dir.join("q.db");
    deliveries_in_every_state(file.to_str().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_deliveries_in_every_state_from_the_cli() {
    let pg = Postgres::start("states");
    deliveries_in_every_state(&pg.url).await;
}

/// A job as version 1 stored it, put in a queue's table as a dead delivery:
/// `Queue::dead` reads it, with its tag, time and a body that still verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_stored_by_version_1_still_reads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/queue-job-v1.json");
    let stored = std::fs::read(path).unwrap();
    let dir = temp_dir("v1");
    let file = dir.join("q.db");
    let queue = Queue::connect(file.to_str().unwrap()).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO Jobs (job, id, job_type, status, attempts, max_attempts, done_at) \
         VALUES (?1, 'v1-job', 'bedrud-deliveries', 'Failed', 8, 8, 1775046900)",
    )
    .bind(stored)
    .execute(&pool)
    .await
    .unwrap();
    let dead = queue.list(Some(State::Dead)).await.unwrap();
    let [job] = dead.as_slice() else {
        panic!("{dead:?}")
    };
    assert_eq!(
        (job.id.as_str(), job.received_at.unix_seconds()),
        ("v1-job", 1_775_046_896)
    );
    assert_eq!(
        job.tag,
        "4a8a28e49e3e197b6aa2b626b4226a7131bae2bee66c980a640f1b6401a7469a"
    );
    let envelope = job.envelope().unwrap();
    let Event::RoomEnded(room) = envelope.event else {
        panic!("{envelope:?}")
    };
    assert_eq!(
        (room.room_id.as_str(), room.room_name.as_str()),
        ("3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34", "weekly-sync")
    );
    // The stored body is still genuine: it verifies against its tag.
    let headers = Delivery::from_body(job.body.clone())
        .request::<bytes::Bytes>("http://x/", &secret())
        .unwrap();
    let verifier = Verifier::builder(secret())
        .disable_timestamp_check()
        .build();
    let verified = verifier
        .verify(headers.headers(), job.body.as_bytes())
        .unwrap();
    assert_eq!(
        verified
            .tag
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
        job.tag
    );
}

#[actix_web::test]
async fn actix_web_route_verifies_stores_once_and_answers_202() {
    use actix_web::{App, HttpServer, web};
    let dir = temp_dir("actix");
    let file = dir.join("q.db");
    let queue = Queue::connect(file.to_str().unwrap()).await.unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let app_queue = queue.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(Verifier::new(secret()))
            .app_data(app_queue.clone())
            .route(
                "/webhooks/bedrud",
                web::post().to(bedrud_webhook::queue::actix_enqueue),
            )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(server);
    let url = format!("http://{addr}/webhooks/bedrud");
    let one = delivery("r-actix");
    assert_eq!(post(&url, &one).await, 202);
    assert_eq!(post(&url, &one).await, 202);
    let forged = Sender::new()
        .deliver(&url, &one, &Secret::new("another secret").unwrap())
        .await;
    assert_eq!(forged.unwrap().status().as_u16(), 401);
    assert_eq!(sqlite_attempts(&file).await, [("Pending".to_owned(), 0)]);
    let flaky = Flaky::failing(0);
    let worker = tokio::spawn({
        let (queue, handler) = (queue.clone(), flaky.handler());
        async move { queue.run_worker(handler).await }
    });
    until(20, "the handler", || !flaky.handled().is_empty()).await;
    worker.abort();
    assert_eq!(flaky.handled(), ["r-actix"]);
}
