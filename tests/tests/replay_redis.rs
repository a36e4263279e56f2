//! The replay guard in Redis, for receivers behind a load balancer: the
//! example receivers, run as a user runs them with `REDIS_URL`, against a
//! real `redis-server` that each test starts on a free loopback port (no
//! persistence, in a directory of its own, killed when the test ends, by a
//! panic too).
//!
//! - Two `axum_receiver` processes sharing one Redis, 1,000 distinct genuine
//!   deliveries each sent to both at once: every answer is 2xx, exactly one
//!   of each pair says duplicate, and the handler runs exactly once per
//!   delivery across both processes.
//! - Redis stopped mid-run, for each of `axum_receiver`, `actix_receiver`,
//!   `tower_receiver` and `bedrud-webhook listen --redis`: fresh deliveries are answered 503 and not handled
//!   (fail closed); Redis back, deliveries are handled again, those answered
//!   503 included when sent again.
//!
//! `redis-server` must be installed (`apt-get install redis-server`;
//! `.ci/run` installs it when it is missing).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bedrud_webhook::Secret;
use bedrud_webhook::delivery::Delivery;
use bedrud_webhook::sender::Sender;
use tokio::sync::Semaphore;

mod common;
use common::servers::Redis;
use common::{Guarded, Running, SECRET, answer, free_port, handler_lines, named as delivery, send};

const RECEIVER: &str = "axum_receiver";
const DELIVERIES: usize = 1_000;
/// Deliveries in flight at once, each to both receivers.
const IN_FLIGHT: usize = 32;

/// The receivers' warnings and errors, to explain a failure.
fn warnings(logs: &[String]) -> String {
    let lines = logs.iter().flat_map(|log| log.lines());
    let warnings: Vec<&str> = lines
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .take(20)
        .collect();
    warnings.join("\n")
}

/// Sends each delivery to both receivers at once, [`IN_FLIGHT`] deliveries
/// at a time; returns each delivery's pair of [`answer`]s.
fn send_to_both(urls: &[String; 2], deliveries: &[Delivery]) -> Vec<[String; 2]> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let sender = Sender::new();
        let secret = Secret::new(SECRET).unwrap();
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        let tasks: Vec<_> = deliveries
            .iter()
            .map(|delivery| {
                let (sender, secret) = (sender.clone(), secret.clone());
                let (urls, delivery) = (urls.clone(), delivery.clone());
                let slots = Arc::clone(&slots);
                tokio::spawn(async move {
                    let _slot = slots.acquire_owned().await.unwrap();
                    let (a, b) = tokio::join!(
                        sender.deliver(&urls[0], &delivery, &secret),
                        sender.deliver(&urls[1], &delivery, &secret),
                    );
                    [answer(a), answer(b)]
                })
            })
            .collect();
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await.unwrap());
        }
        out
    })
}

#[test]
fn two_receivers_sharing_redis_run_each_delivery_once() {
    let redis = Redis::start(free_port());
    let redis_url = redis.url();
    let env = [("REDIS_URL", redis_url.as_str())];
    let receivers = [
        Running::listening(RECEIVER, &env, None),
        Running::listening(RECEIVER, &env, None),
    ];
    let urls = receivers.each_ref().map(Running::url);
    let names: Vec<String> = (0..DELIVERIES).map(|i| format!("shared-{i}")).collect();
    let deliveries: Vec<Delivery> = names.iter().map(|name| delivery(name)).collect();

    let started = Instant::now();
    let answers = send_to_both(&urls, &deliveries);
    let took = started.elapsed();
    let logs = receivers.map(Running::stop);

    // One answer of each pair is the handler's 204, the other a duplicate's
    // 200: no 5xx, and exactly 1,000 of the 2,000 answers say duplicate.
    let per_process = logs.each_ref().map(|log| handler_lines(log).len());
    let both = logs.concat();
    let handled = Guarded::Example(RECEIVER).handled(&both);
    let wrong: Vec<String> = names
        .iter()
        .zip(&answers)
        .filter_map(|(name, pair)| {
            let mut sorted = pair.clone();
            sorted.sort();
            let runs = handled.get(name.as_str()).copied().unwrap_or(0);
            (sorted != ["200 duplicate", "204"] || runs != 1)
                .then(|| format!("{name}: {pair:?}, handled {runs} times"))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {DELIVERIES} deliveries wrong (handler lines per process: {per_process:?}), \
         first: {:#?}\n{}",
        wrong.len(),
        &wrong[..wrong.len().min(5)],
        warnings(&logs),
    );
    assert_eq!(
        per_process.iter().sum::<usize>(),
        DELIVERIES,
        "handler lines for other deliveries: {handled:?}"
    );
    eprintln!("{DELIVERIES} deliveries to 2 receivers in {took:?}; handled {per_process:?}");
}

fn fails_closed_while_redis_is_down(receiver: Guarded) {
    let name = receiver.name();
    let port = free_port();
    let redis = Redis::start(port);
    let running = receiver.start(&redis.url());
    let url = running.url();
    // Every delivery sent, by room name, with its answer.
    let mut sent: Vec<(String, String)> = Vec::new();
    let mut send_each = |deliveries: &[(String, Delivery)]| -> Vec<String> {
        let pairs: Vec<_> = deliveries.iter().map(|(_, d)| (d, SECRET)).collect();
        let answers = send(&url, &pairs);
        let names = deliveries.iter().map(|(name, _)| name.clone());
        sent.extend(names.zip(answers.iter().cloned()));
        answers
    };
    let fresh = |phase: &str| -> Vec<(String, Delivery)> {
        let names = (0..10).map(|i| format!("{phase}-{i}"));
        names.map(|name| (name.clone(), delivery(&name))).collect()
    };

    let before = send_each(&fresh("before"));
    drop(redis);
    let down = fresh("down");
    let during = send_each(&down);

    // Back on the same port: the store reconnects on its next call. A fresh
    // delivery each try, until one is handled.
    let _redis = Redis::start(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut tries = 0;
    let recovered = loop {
        tries += 1;
        let name = format!("back-{tries}");
        let answered = send_each(&[(name.clone(), delivery(&name))]);
        if answered == ["204"] || Instant::now() > deadline {
            break answered;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Nothing lost: the deliveries answered 503 are handled when sent again.
    let resent = send_each(&down);
    let total = |log: &str| receiver.handled(log).values().sum::<usize>();
    let log = running.stop_when(5, |log| total(log) >= 10 + 1 + 10);

    assert!(
        before.iter().all(|a| a == "204"),
        "{name}: {before:?}\n{log}"
    );
    assert!(
        during.iter().all(|a| a == "503"),
        "{name}: {during:?}\n{log}"
    );
    assert!(log.contains("replay_store_unavailable"), "{name}: {log}");
    assert_eq!(
        recovered,
        ["204"],
        "{name}: not back after {tries} tries:\n{log}"
    );
    assert!(
        resent.iter().all(|a| a == "204"),
        "{name}: {resent:?}\n{log}"
    );
    // The handler ran once for each 204, never for a 503.
    let handled = receiver.handled(&log);
    for (room, _) in &sent {
        let handled_answers = sent.iter().filter(|(r, a)| r == room && a == "204");
        let runs = handled.get(room.as_str()).copied().unwrap_or(0);
        assert_eq!(
            runs,
            handled_answers.count(),
            "{name}, {room}: {sent:?}\n{log}"
        );
    }
    assert_eq!(
        handled.values().sum::<usize>(),
        10 + 1 + 10,
        "{name}: {log}"
    );
}

#[test]
fn axum_receiver_fails_closed_while_redis_is_down() {
    fails_closed_while_redis_is_down(Guarded::Example("axum_receiver"));
}

#[test]
fn actix_receiver_fails_closed_while_redis_is_down() {
    fails_closed_while_redis_is_down(Guarded::Example("actix_receiver"));
}

#[test]
fn tower_receiver_fails_closed_while_redis_is_down() {
    fails_closed_while_redis_is_down(Guarded::Example("tower_receiver"));
}

#[test]
fn listen_fails_closed_while_redis_is_down() {
    fails_closed_while_redis_is_down(Guarded::Listen);
}
