//! Faults injected under real receivers: real processes (the examples, the
//! CLI, a test worker), real servers started here on loopback ports
//! (Postgres, Redis, tmpfs mounts; stopped and unmounted afterwards, on a
//! panic too), real HTTP (`Sender`, genuine `Delivery`s). "Answered 2xx" is
//! checked against storage or handler output by room id, one by one.
//!
//! | fault | receiver | asserted |
//! |---|---|---|
//! | SQLite file on a full 16 MiB tmpfs | `durable_receiver`, `listen --queue` | only 202 or 503; 503s while full; 202 again once space is freed, same process; every 202 is a row |
//! | Postgres data directory on a full tmpfs (WAL elsewhere) | `durable_receiver` | the same, rows in `apalis.jobs` |
//! | Redis paused (SIGSTOP), resumed | the three examples with `REDIS_URL`, `listen --redis` | 503 while paused; the same deliveries sent again ~2 s after SIGCONT are handled, each exactly once (killed and restarted: `replay_redis.rs`) |
//! | Postgres paused (SIGSTOP on the postmaster and its children) for 20 s | `durable_receiver` | every answer within 10 s; 503 while paused; 202 after; every 202 handled |
//! | receiver SIGKILLed at random moments, 10 times | `durable_receiver`, SQLite and Postgres | every delivery ever answered 2xx is handled at least once |
//! | worker SIGKILLed while its handler runs | `slow_worker` (tests/src/bin), SQLite and Postgres | handled again by a new worker within 40 s (apalis's orphan timeout) |
//! | PUT, GET, lowercase `post` | `Queue::service` on axum | 405 with `Allow: POST`, nothing stored; POST 202 |
//!
//! The tmpfs tests skip (with a message) unless mounting is possible (root).
//! The random kill moments come from a seed printed by the test; set
//! `FAULTS_SEED` to run one again.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bedrud_webhook::Event;
use bedrud_webhook::delivery::Delivery;
use bedrud_webhook::queue::Queue;
use bedrud_webhook::sender::Sender;
use bytes::Bytes;
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;

mod common;
use common::servers::{Postgres, Redis, Tmpfs, temp_dir};
use common::{
    Guarded, Running, SECRET, delivery, durable_receiver, free_port, handled_rooms, listen, named,
    secret, send, serve_queue,
};

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// One delivery sent: its room id, its status (or why none came), when it
/// was sent and how long the answer took.
#[derive(Debug, Clone)]
struct Sent {
    id: String,
    status: Result<u16, String>,
    at: Instant,
    took: Duration,
}

impl Sent {
    fn is(&self, status: u16) -> bool {
        self.status == Ok(status)
    }
}

/// Sends a fresh delivery for each room id, `in_flight` at a time; counts
/// the answers in `answered` as they come.
async fn send_ids(
    url: String,
    ids: Vec<String>,
    in_flight: usize,
    answered: Arc<AtomicUsize>,
) -> Vec<Sent> {
    let sender = Sender::new();
    let slots = Arc::new(Semaphore::new(in_flight));
    let mut tasks = tokio::task::JoinSet::new();
    for id in ids {
        let (sender, slots, url) = (sender.clone(), Arc::clone(&slots), url.clone());
        let answered = Arc::clone(&answered);
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await.unwrap();
            let one = delivery(&id);
            let at = Instant::now();
            let status = sender.deliver(&url, &one, &secret()).await;
            let status = status.map(|r| r.status().as_u16());
            answered.fetch_add(1, Ordering::SeqCst);
            Sent {
                id,
                status: status.map_err(|e| e.to_string()),
                at,
                took: at.elapsed(),
            }
        });
    }
    tasks.join_all().await
}

fn send_batch(rt: &Runtime, url: &str, ids: Vec<String>, in_flight: usize) -> Vec<Sent> {
    let answered = Arc::new(AtomicUsize::new(0));
    rt.block_on(send_ids(url.to_owned(), ids, in_flight, answered))
}

fn ids(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}-{i:05}")).collect()
}

/// Status (or error) → how many.
fn tally(sent: &[Sent]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for s in sent {
        let key = match &s.status {
            Ok(status) => status.to_string(),
            Err(e) if e.contains("could not connect") => "no connection".to_owned(),
            Err(e) if e.contains("exchange") => "cut off mid-exchange".to_owned(),
            Err(e) => format!("error: {e}"),
        };
        *out.entry(key).or_default() += 1;
    }
    out
}

/// The room id of each delivery stored in the queue at `url` (a SQLite file
/// or a postgres:// URL), read through `Queue::list`.
async fn stored_rooms(url: &str) -> Vec<String> {
    let stored = Queue::connect(url).await.unwrap().list(None).await.unwrap();
    let room = |delivery: &bedrud_webhook::queue::StoredDelivery| match delivery.envelope() {
        Ok(bedrud_webhook::Envelope {
            event: Event::RoomCreated(room),
            ..
        }) => room.room_id,
        other => panic!("{other:?}"),
    };
    stored.iter().map(room).collect()
}

/// How many stored deliveries are recorded as handled.
async fn done_count(url: &str) -> usize {
    let queue = Queue::connect(url).await.unwrap();
    let done = queue.list(Some(bedrud_webhook::queue::State::Done)).await;
    done.unwrap().len()
}

/// A tmpfs, or `None` after saying why the test is skipped.
fn tmpfs_or_skip(test: &str, name: &str, size: &str) -> Option<Tmpfs> {
    match Tmpfs::mount(name, size) {
        Ok(tmpfs) => Some(tmpfs),
        Err(why) => {
            eprintln!("SKIPPED {test}: it needs a tmpfs mount: {why}");
            None
        }
    }
}

/// Fills the disk under a running receiver until several deliveries get
/// 503, frees it, and checks the receiver stores again; returns what was
/// sent. Every answer must be 202 or 503.
fn fill_then_free(
    rt: &Runtime,
    what: &str,
    url: &str,
    tmpfs: &Tmpfs,
    leave: u64,
    log: &dyn Fn() -> String,
) -> Vec<Sent> {
    let mut sent = send_batch(rt, url, ids("before", 0..20), 4);
    assert!(
        sent.iter().all(|s| s.is(202)),
        "{what}, before: {:?}\n{}",
        tally(&sent),
        log()
    );
    let filler = tmpfs.dir.join("filler");
    tmpfs.fill(&filler, leave);
    let mut next = 0;
    let full_started = sent.len();
    while sent[full_started..].iter().filter(|s| s.is(503)).count() < 10 {
        assert!(
            next < 5_000,
            "{what}: no 503s after {next} deliveries on a full disk: {:?}",
            tally(&sent[full_started..])
        );
        sent.extend(send_batch(rt, url, ids("full", next..next + 20), 4));
        next += 20;
    }
    let full = &sent[full_started..];
    let accepted_full = full.iter().filter(|s| s.is(202)).count();
    std::fs::remove_file(&filler).unwrap();
    let after = send_batch(rt, url, ids("after", 0..40), 4);
    eprintln!(
        "{what}: before 20 x 202; disk full: {} sent, {accepted_full} x 202, {} x 503; \
         space freed: {:?}",
        full.len(),
        full.iter().filter(|s| s.is(503)).count(),
        tally(&after),
    );
    sent.extend(after.iter().cloned());
    let wrong: Vec<&Sent> = sent
        .iter()
        .filter(|s| !s.is(202) && !s.is(503))
        .take(5)
        .collect();
    assert!(wrong.is_empty(), "{what}: neither 202 nor 503: {wrong:?}");
    let logged = log();
    let refused = logged.lines().find(|l| l.contains("storage failed"));
    let refused = refused.unwrap_or_else(|| panic!("{what}: no 503 logged:\n{logged}"));
    assert_eq!(
        refused.matches("storage failed").count(),
        1,
        "{what}: the cause is said more than once: {refused}"
    );
    assert!(
        after.iter().all(|s| s.is(202)),
        "{what}: not storing again once space was freed: {:?}\n{}",
        tally(&after),
        log()
    );
    sent
}

/// Every delivery answered 202 is stored.
fn assert_all_202_stored(what: &str, sent: &[Sent], stored: &[String]) {
    let stored: HashSet<&str> = stored.iter().map(String::as_str).collect();
    let accepted: Vec<&str> = sent
        .iter()
        .filter(|s| s.is(202))
        .map(|s| s.id.as_str())
        .collect();
    let missing: Vec<&&str> = accepted
        .iter()
        .filter(|id| !stored.contains(**id))
        .collect();
    let stored_503 = sent
        .iter()
        .filter(|s| s.is(503) && stored.contains(s.id.as_str()))
        .count();
    eprintln!(
        "{what}: {} answered 202, {} rows, {} answered 503 but stored anyway",
        accepted.len(),
        stored.len(),
        stored_503
    );
    assert!(
        missing.is_empty(),
        "{what}: {} deliveries answered 202 are not stored: {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
}

#[test]
fn sqlite_disk_full() {
    for receiver in ["durable_receiver", "listen --queue"] {
        // Room for SQLite's WAL to reach its checkpoint (1,000 pages, 4 MiB):
        // on a smaller disk the WAL alone fills it again once space is freed.
        let Some(tmpfs) = tmpfs_or_skip("sqlite_disk_full", "sqlite-full", "16m") else {
            return;
        };
        let file = tmpfs.dir.join("q.db");
        let file = file.to_str().unwrap();
        let mut running = match receiver {
            "durable_receiver" => durable_receiver(loopback(), file),
            _ => listen(&["--queue", file]),
        };
        running.wait_listening(receiver, 30);
        let rt = runtime();
        let what = format!("sqlite_disk_full, {receiver}");
        let log = || running.log();
        let sent = fill_then_free(&rt, &what, &running.url(), &tmpfs, 64 * 1024, &log);
        running.kill();
        let stored = rt.block_on(stored_rooms(file));
        assert_all_202_stored(&what, &sent, &stored);
    }
}

#[test]
fn postgres_disk_full() {
    let Some(tmpfs) = tmpfs_or_skip("postgres_disk_full", "pg-full", "96m") else {
        return;
    };
    let pg = Postgres::start_on("full", tmpfs);
    let mut running = durable_receiver(loopback(), &pg.url);
    running.wait_listening("durable_receiver", 30);
    let rt = runtime();
    let tmpfs = pg.tmpfs.as_ref().unwrap();
    let log = || format!("{}\npostgres:\n{}", running.log(), pg.log());
    let sent = fill_then_free(
        &rt,
        "postgres_disk_full",
        &running.url(),
        tmpfs,
        256 * 1024,
        &log,
    );
    running.kill();
    let stored = rt.block_on(stored_rooms(&pg.url));
    assert_all_202_stored("postgres_disk_full", &sent, &stored);
    assert!(
        !pg.log().contains("PANIC"),
        "Postgres panicked:\n{}",
        pg.log()
    );
}

#[test]
fn redis_paused() {
    for receiver in Guarded::ALL {
        let name = receiver.name();
        let redis = Redis::start(free_port());
        let running = receiver.start(&redis.url());
        let url = running.url();
        // `Guarded::handled` counts by room name.
        let named = |phase: &str| -> Vec<(String, Delivery)> {
            let names = (0..5).map(|i| format!("{phase}-{i}"));
            names.map(|name| (name.clone(), named(&name))).collect()
        };
        let send_all = |deliveries: &[(String, Delivery)]| {
            let pairs: Vec<_> = deliveries.iter().map(|(_, d)| (d, SECRET)).collect();
            send(&url, &pairs)
        };
        let before = named("before");
        let before_answers = send_all(&before);
        redis.pause();
        let paused = named("paused");
        let started = Instant::now();
        let paused_answers = send_all(&paused);
        let paused_took = started.elapsed();
        redis.resume();
        std::thread::sleep(Duration::from_secs(2));
        let resent = send_all(&paused);
        let after = named("after");
        let after_answers = send_all(&after);
        let total = |log: &str| receiver.handled(log).values().sum::<usize>();
        let log = running.stop_when(5, |log| total(log) >= 15);
        eprintln!(
            "redis_paused, {name}: 5 deliveries while paused answered {paused_answers:?} \
             in {paused_took:?}; sent again 2 s after SIGCONT: {resent:?}"
        );
        assert!(
            before_answers.iter().all(|a| a == "204"),
            "{name}: {before_answers:?}\n{log}"
        );
        assert!(
            paused_answers.iter().all(|a| a == "503"),
            "{name}: {paused_answers:?}\n{log}"
        );
        assert!(
            resent.iter().all(|a| a == "204"),
            "{name}: sent again after SIGCONT: {resent:?}\n{log}"
        );
        assert!(
            after_answers.iter().all(|a| a == "204"),
            "{name}: {after_answers:?}\n{log}"
        );
        let handled = receiver.handled(&log);
        for (room, _) in before.iter().chain(&paused).chain(&after) {
            assert_eq!(
                handled.get(room).copied().unwrap_or(0),
                1,
                "{name}: {room} handled {:?} times\n{log}",
                handled.get(room)
            );
        }
        assert_eq!(
            handled.values().sum::<usize>(),
            15,
            "{name}: {handled:?}\n{log}"
        );
    }
}

#[test]
fn postgres_paused() {
    const PAUSE: Duration = Duration::from_secs(20);
    let pg = Postgres::start("paused");
    let mut running = durable_receiver(loopback(), &pg.url);
    running.wait_listening("durable_receiver", 30);
    let url = running.url();
    let rt = runtime();
    let before = send_batch(&rt, &url, ids("pre", 0..10), 4);
    assert!(before.iter().all(|s| s.is(202)), "{:?}", tally(&before));

    // Four senders, one delivery after the other each, until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..4)
        .map(|n| {
            let (url, stop) = (url.clone(), Arc::clone(&stop));
            rt.spawn(async move {
                let mut out = Vec::new();
                for i in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let id = vec![format!("s{n}-{i:05}")];
                    let answered = Arc::new(AtomicUsize::new(0));
                    out.extend(send_ids(url.clone(), id, 1, answered).await);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                out
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let paused = pg.pause();
    // Once every process is stopped: a push sent while `pause` was stopping
    // them one by one may still commit.
    let paused_at = Instant::now();
    std::thread::sleep(PAUSE);
    pg.resume();
    let resumed_at = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::SeqCst);
    let mut sent: Vec<Sent> = before;
    for sender in senders {
        sent.extend(rt.block_on(sender).unwrap());
    }
    let after = send_batch(&rt, &url, ids("post", 0..10), 1);
    sent.extend(after.iter().cloned());

    let while_paused: Vec<&Sent> = sent
        .iter()
        .filter(|s| s.at >= paused_at && s.at + s.took <= resumed_at)
        .collect();
    let after_resume: Vec<&Sent> = sent.iter().filter(|s| s.at >= resumed_at).collect();
    let slowest = sent.iter().map(|s| s.took).max().unwrap();
    eprintln!(
        "postgres_paused: {} processes paused {PAUSE:?}; answered while paused: {:?} (slowest answer \
         overall {slowest:?}); sent after SIGCONT: {:?}; all: {:?}",
        paused,
        tally(&while_paused.iter().copied().cloned().collect::<Vec<_>>()),
        tally(&after_resume.iter().copied().cloned().collect::<Vec<_>>()),
        tally(&sent)
    );
    let late: Vec<&Sent> = sent
        .iter()
        .filter(|s| s.took >= Duration::from_secs(10))
        .collect();
    assert!(late.is_empty(), "answers after 10 s: {late:?}");
    let wrong: Vec<&Sent> = sent.iter().filter(|s| !s.is(202) && !s.is(503)).collect();
    assert!(wrong.is_empty(), "neither 202 nor 503: {wrong:?}");
    assert!(
        while_paused.len() >= 8,
        "only {} answers while paused",
        while_paused.len()
    );
    let accepted_paused: Vec<&&Sent> = while_paused.iter().filter(|s| !s.is(503)).collect();
    assert!(
        accepted_paused.is_empty(),
        "answered while Postgres was paused, not 503: {accepted_paused:?}"
    );
    assert!(
        after.iter().all(|s| s.is(202)),
        "after SIGCONT: {:?}\n{}",
        tally(&after),
        running.log()
    );
    // Everything answered 202 is handled.
    let accepted: HashSet<&str> = sent
        .iter()
        .filter(|s| s.is(202))
        .map(|s| s.id.as_str())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(40);
    let missing = loop {
        let handled: HashSet<String> = handled_rooms(&running.lines()).into_iter().collect();
        let missing: Vec<&str> = accepted
            .iter()
            .filter(|id| !handled.contains(**id))
            .copied()
            .collect();
        if missing.is_empty() || Instant::now() > deadline {
            break missing;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    running.kill();
    assert!(
        missing.is_empty(),
        "{} of {} deliveries answered 202 never handled: {:?}",
        missing.len(),
        accepted.len(),
        &missing[..missing.len().min(10)]
    );
    eprintln!(
        "postgres_paused: all {} deliveries answered 202 handled",
        accepted.len()
    );
}

/// xorshift64*: enough randomness for kill moments, from a printed seed.
struct Rng(u64);

impl Rng {
    fn seeded(test: &str) -> Rng {
        let seed = std::env::var("FAULTS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
                now.as_nanos() as u64
            });
        eprintln!("{test}: seed {seed} (FAULTS_SEED={seed} to repeat)");
        Rng(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

fn killed_at_random_moments(test: &str, database_url: &str) {
    const KILLS: usize = 10;
    const BURST: usize = 1_000;
    let started = Instant::now();
    let mut rng = Rng::seeded(test);
    let rt = runtime();
    let mut runs: Vec<Running> = Vec::new();
    let mut sent: Vec<Sent> = Vec::new();
    let mut moments = Vec::new();
    for kill in 0..KILLS {
        let mut running = durable_receiver(loopback(), database_url);
        running.wait_listening("durable_receiver", 30);
        let answered = Arc::new(AtomicUsize::new(0));
        let burst = rt.spawn(send_ids(
            running.url(),
            ids(&format!("k{kill}"), 0..BURST),
            16,
            Arc::clone(&answered),
        ));
        // Killed once this many answers came: always in the middle of the burst.
        let at = 20 + rng.below(BURST as u64 - 40) as usize;
        let deadline = Instant::now() + Duration::from_secs(60);
        while answered.load(Ordering::SeqCst) < at {
            assert!(Instant::now() < deadline, "{test}: the burst stalled");
            std::thread::sleep(Duration::from_millis(2));
        }
        running.kill();
        moments.push(at);
        sent.extend(rt.block_on(burst).unwrap());
        runs.push(running);
    }
    let last = durable_receiver(loopback(), database_url);
    let accepted: HashSet<&str> = sent
        .iter()
        .filter(|s| s.status.as_ref().is_ok_and(|s| (200..300).contains(s)))
        .map(|s| s.id.as_str())
        .collect();
    let wrong: Vec<&Sent> = sent
        .iter()
        .filter(|s| s.status.as_ref().is_ok_and(|s| *s != 202 && *s != 503))
        .take(5)
        .collect();
    let handled_by = |runs: &[Running]| -> HashSet<String> {
        runs.iter()
            .chain([&last])
            .flat_map(|r| handled_rooms(&r.lines()))
            .collect()
    };
    let waited = Instant::now();
    // What the runs killed had taken is taken up again once their workers
    // miss three 5 s heartbeats; the test asks for nothing lost, so it
    // waits well past that (it stops as soon as everything is handled).
    let deadline = waited + Duration::from_secs(120);
    let missing = loop {
        let handled = handled_by(&runs);
        let missing: Vec<&str> = accepted
            .iter()
            .filter(|id| !handled.contains(**id))
            .copied()
            .collect();
        if missing.is_empty() || Instant::now() > deadline {
            break missing;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let handled = handled_by(&runs);
    let lines_total: usize = runs
        .iter()
        .chain([&last])
        .map(|r| handled_rooms(&r.lines()).len())
        .sum();
    eprintln!(
        "{test}: killed after answers {moments:?}; {} sent: {:?}; {} answered 2xx, {} handled \
         ({lines_total} handler lines, so {} handled more than once); the last run took {:?} \
         to finish; {:?} in all",
        sent.len(),
        tally(&sent),
        accepted.len(),
        handled.len(),
        lines_total - handled.len(),
        waited.elapsed(),
        started.elapsed()
    );
    // What the storage says of the unhandled ones, and what the last run
    // complained of: a failure here has been seen once in CI, not locally.
    let diagnosis = if missing.is_empty() {
        String::new()
    } else {
        let warnings: Vec<String> = last
            .lines()
            .into_iter()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .collect();
        format!(
            "\nthe queue now:\n{}\nthe last run's warnings and errors (the last 20 of {}):\n{}",
            queue_state(database_url),
            warnings.len(),
            warnings[warnings.len().saturating_sub(20)..].join("\n")
        )
    };
    drop(last);
    assert!(wrong.is_empty(), "{test}: neither 202 nor 503: {wrong:?}");
    assert!(
        missing.is_empty(),
        "{test}: {} of {} deliveries answered 2xx were never handled: {:?}{diagnosis}",
        missing.len(),
        accepted.len(),
        &missing[..missing.len().min(10)]
    );
}

/// The queue's rows that are not done, counted by status, lock holder and
/// attempts, and apalis's workers with when each was last seen (SQLite
/// through `sqlite3`, Postgres through `psql`).
fn queue_state(database_url: &str) -> String {
    let url = database_url.to_owned();
    let (program, args, schema, now) = if database_url.starts_with("postgres") {
        let now = "extract(epoch FROM now())::int8";
        (
            "psql",
            vec![url, "-A".to_owned(), "-c".to_owned()],
            "apalis.",
            now,
        )
    } else {
        ("sqlite3", vec![url], "", "strftime('%s', 'now')")
    };
    let query = format!(
        "SELECT status, lock_by, attempts, count(*) FROM {schema}jobs WHERE status != 'Done' \
         GROUP BY 1, 2, 3; SELECT id, last_seen, {now} FROM {schema}workers;"
    );
    match Command::new(program).args(&args).arg(&query).output() {
        Ok(out) => {
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr)
        }
        Err(e) => format!("{program}: {e}"),
    }
}

#[test]
fn killed_at_random_moments_sqlite() {
    let dir = temp_dir("faults-kills");
    let file = dir.join("q.db");
    killed_at_random_moments("killed_at_random_moments_sqlite", file.to_str().unwrap());
}

#[test]
fn killed_at_random_moments_postgres() {
    let pg = Postgres::start("kills");
    killed_at_random_moments("killed_at_random_moments_postgres", &pg.url);
}

fn slow_worker(database_url: &str, slow_secs: u64) -> Running {
    let mut command = Command::new(env!("CARGO_BIN_EXE_slow_worker"));
    command
        .arg(database_url)
        .env("SLOW_SECS", slow_secs.to_string())
        .env_remove("RUST_LOG");
    Running::start(command, loopback())
}

fn worker_killed_mid_handler(test: &str, database_url: &str) {
    // The CLI lists the deliveries meanwhile: built (if stale) before the clock runs.
    common::binaries();
    let rt = runtime();
    let queue = rt.block_on(Queue::connect(database_url)).unwrap();
    let url = rt.block_on(serve_queue(&queue));
    let sent = send_batch(&rt, &url, vec!["slow-1".into(), "fast-1".into()], 1);
    assert!(sent.iter().all(|s| s.is(202)), "{sent:?}");
    let mut first = slow_worker(database_url, 60);
    first.wait_for(20, "started slow-1");
    first.wait_for(20, "handled fast-1");
    // The worker records a success after its handler returns (apalis-postgres
    // batches these acks): kill only once fast-1 is recorded, or it is run
    // again by design (at least once), which is not what this test is about.
    let deadline = Instant::now() + Duration::from_secs(20);
    while rt.block_on(done_count(database_url)) < 1 {
        assert!(
            Instant::now() < deadline,
            "{test}: fast-1 never recorded as done"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    first.kill();
    let killed_at = Instant::now();
    assert!(!first.log().contains("handled slow-1"), "{}", first.log());
    // Meanwhile the operator sees it as running (its worker's lock stands).
    let (listed, running) = common::cli(&[
        "deliveries",
        "list",
        "--state",
        "running",
        "--queue",
        database_url,
    ]);
    assert!(listed, "{running}");
    let rows = running
        .lines()
        .filter(|l| l.contains("  running  "))
        .count();
    assert!(
        rows == 1 && running.lines().any(|l| l == "1 running"),
        "{test}: the killed worker's delivery, listed as running:\n{running}"
    );
    let second = slow_worker(database_url, 0);
    second.wait_for(40, "started slow-1");
    let restarted_after = killed_at.elapsed();
    second.wait_for(5, "handled slow-1");
    let handled_after = killed_at.elapsed();
    eprintln!(
        "{test}: the delivery whose worker was killed mid-handler started again {restarted_after:?} \
         after the kill, handled after {handled_after:?}"
    );
    assert!(
        handled_after < Duration::from_secs(40),
        "{test}: {handled_after:?}"
    );
    assert!(
        !second.log().contains("started fast-1"),
        "{test}: fast-1 handled again:\n{}",
        second.log()
    );
}

#[test]
fn worker_killed_mid_handler_sqlite() {
    let dir = temp_dir("faults-orphan");
    let file = dir.join("q.db");
    worker_killed_mid_handler("worker_killed_mid_handler_sqlite", file.to_str().unwrap());
}

#[test]
fn worker_killed_mid_handler_postgres() {
    let pg = Postgres::start("orphan");
    worker_killed_mid_handler("worker_killed_mid_handler_postgres", &pg.url);
}

#[test]
fn queue_service_is_post_only() {
    let rt = runtime();
    let dir = temp_dir("faults-post-only");
    let file = dir.join("q.db");
    let file = file.to_str().unwrap();
    let queue = rt.block_on(Queue::connect(file)).unwrap();
    let url = rt.block_on(serve_queue(&queue));
    let sender = Sender::new();
    let one = delivery("r-post-only");
    let rows = |rt: &Runtime| rt.block_on(stored_rooms(file)).len();
    for method in ["PUT", "GET", "post", "DELETE", "PATCH"] {
        let mut request = one.request::<Bytes>(&url, &secret()).unwrap();
        *request.method_mut() = http::Method::from_bytes(method.as_bytes()).unwrap();
        let response = rt.block_on(sender.send(request)).unwrap();
        let allow = response.headers().get(http::header::ALLOW);
        assert_eq!(
            (
                response.status().as_u16(),
                allow.and_then(|v| v.to_str().ok())
            ),
            (405, Some("POST")),
            "{method}: {response:?}"
        );
        assert_eq!(rows(&rt), 0, "{method} stored the delivery");
    }
    assert!(
        rt.block_on(queue.list(Some(bedrud_webhook::queue::State::Dead)))
            .unwrap()
            .is_empty()
    );
    let response = rt.block_on(sender.deliver(&url, &one, &secret())).unwrap();
    assert_eq!(response.status().as_u16(), 202);
    assert_eq!(rt.block_on(stored_rooms(file)), ["r-post-only"]);
}
