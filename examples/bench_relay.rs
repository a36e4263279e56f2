//! The relay benchmark (`.ci/bench-relay`, BENCHMARKS.md): a sender posting
//! distinct, genuinely signed Bedrud deliveries to a relay
//! (`bedrud-webhook listen --queue … --forward-to …`), and the trivial app
//! the relay forwards to, in one process so that one clock times both ends.
//!
//! ```text
//! target/release/examples/bench_relay <relay_url> <app_addr> [count] [concurrency] [rate]
//! ```
//!
//! The app (`POST /hooks` on `app_addr`, 204 to everything) notes when each
//! `webhook-id` first arrives. The sender posts `count` deliveries (20,000),
//! `concurrency` at a time (32), as fast as they are answered or, given a
//! `rate`, at that many a second, and notes when each was answered 202.
//! Printed once every delivery reached the app: the rate accepted (first
//! send to last 202), the rate relayed end to end (first send to last
//! arrival at the app), and the relay's added latency, from each 202 to the
//! app's receipt (p50, p99, max). The signing secret is
//! `BEDRUD_WEBHOOK_SECRET`, or the golden vectors' secret.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::http::{HeaderMap, StatusCode};
use bedrud_webhook::delivery::Delivery;
use bedrud_webhook::sender::Sender;
use bedrud_webhook::{Envelope, Event, RoomData, Secret, Timestamp};

const DEFAULT_SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";

/// When each `webhook-id` first reached the app.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let usage = "usage: bench_relay <relay_url> <app_addr> [count] [concurrency]";
    let mut args = std::env::args().skip(1);
    let relay = args.next().context(usage)?;
    let app_addr = args.next().context(usage)?;
    let count: usize = args.next().map_or(Ok(20_000), |n| n.parse())?;
    let concurrency: usize = args.next().map_or(Ok(32), |n| n.parse())?;
    let rate: Option<f64> = args.next().map(|n| n.parse()).transpose()?;
    let secret = std::env::var("BEDRUD_WEBHOOK_SECRET").unwrap_or_else(|_| DEFAULT_SECRET.into());
    let secret = Secret::new(secret).context("BEDRUD_WEBHOOK_SECRET")?;

    let arrivals = Arrivals::default();
    let noted = Arc::clone(&arrivals);
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move |headers: HeaderMap| {
            let noted = Arc::clone(&noted);
            async move {
                let id = headers.get("webhook-id").and_then(|v| v.to_str().ok());
                if let Some(id) = id {
                    let mut noted = noted.lock().unwrap_or_else(|e| e.into_inner());
                    noted.entry(id.to_owned()).or_insert_with(Instant::now);
                }
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(&app_addr).await?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    // Distinct deliveries, signed before the clock starts; each one's id
    // as the relay will name it.
    let now = Timestamp::now();
    let deliveries: Vec<(Delivery, String)> = (0..count)
        .map(|i| {
            let room = RoomData::new(format!("bench-relay-{i:08}"), "weekly-sync", "u");
            let delivery = Delivery::new(&Envelope::new(Event::RoomCreated(room), now));
            let tag = delivery.signature(&secret);
            let id = format!("msg_{}", tag.trim_start_matches("sha256="));
            (delivery, id)
        })
        .collect();
    let deliveries = Arc::new(deliveries);
    let accepted: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; count]));
    let next = Arc::new(AtomicUsize::new(0));
    let sender = Sender::new();
    let started = Instant::now();
    let senders: Vec<_> = (0..concurrency)
        .map(|_| {
            let (deliveries, accepted, next) = (deliveries.clone(), accepted.clone(), next.clone());
            let (sender, secret, relay) = (sender.clone(), secret.clone(), relay.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((delivery, _)) = deliveries.get(i) else {
                        return;
                    };
                    if let Some(rate) = rate {
                        let due = started + Duration::from_secs_f64(i as f64 / rate);
                        tokio::time::sleep_until(due.into()).await;
                    }
                    let answer = sender.deliver(&relay, delivery, &secret).await;
                    if answer.is_ok_and(|r| r.status() == StatusCode::ACCEPTED) {
                        accepted.lock().unwrap_or_else(|e| e.into_inner())[i] =
                            Some(Instant::now());
                    }
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await?;
    }
    let accepted = accepted.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let last_accepted = accepted.iter().flatten().max().copied();
    let n_accepted = accepted.iter().flatten().count();
    anyhow::ensure!(
        n_accepted == count,
        "{} of {count} answered 202",
        n_accepted
    );

    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let arrived = arrivals.lock().unwrap_or_else(|e| e.into_inner()).len();
        if arrived >= count {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{arrived} of {count} reached the app"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let arrivals = arrivals.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut latencies: Vec<Duration> = deliveries
        .iter()
        .zip(&accepted)
        .filter_map(|((_, id), at)| Some(arrivals.get(id)?.saturating_duration_since((*at)?)))
        .collect();
    anyhow::ensure!(latencies.len() == count, "an id the app never saw");
    latencies.sort();
    let last_arrival = arrivals.values().max().copied().context("no arrival")?;
    let per_s = |end: Instant| count as f64 / end.duration_since(started).as_secs_f64();
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "RESULT count={count} concurrency={concurrency} rate={} accepted_per_s={:.0} \
         relayed_per_s={:.0} latency_min_ms={:.1} latency_p50_ms={:.1} latency_p99_ms={:.1} \
         latency_max_ms={:.1}",
        rate.map_or("max".to_owned(), |r| r.to_string()),
        per_s(last_accepted.context("nothing accepted")?),
        per_s(last_arrival),
        latencies[0].as_secs_f64() * 1e3,
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3,
    );
    Ok(())
}
