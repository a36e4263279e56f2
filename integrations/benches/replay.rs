//! What the replay guard adds per delivery (issue 15; BENCHMARKS.md).
//!
//! `cargo bench -p bedrud-webhook --features tower,delivery --bench replay`
//!
//! - `memory_store/reserve_fresh`: one `MemoryStore` reservation of a new
//!   tag, the store full (100,000 tags), so each call also evicts one.
//! - `INTERLEAVED group=guard`: a fresh genuine delivery (signed in the loop,
//!   the same work on both sides) through `ReplayGuard<VerifyWebhook<S>>`
//!   against `VerifyWebhook<S>`; `a_ns - b_ns` is what the guard adds.

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../../bedrud-webhook-types/benches/common/interleave.rs"]
mod interleave;

use std::convert::Infallible;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Waker};
use std::time::Duration;

use bedrud_webhook::delivery::Delivery;
use bedrud_webhook::replay::{MemoryStore, ReplayGuardLayer, ReplayStore};
use bedrud_webhook::tower::VerifyWebhookLayer;
use bedrud_webhook::{Secret, Timestamp, Verifier};
use bytes::Bytes;
use criterion::{Criterion, criterion_group};
use http::{Request, Response};
use http_body_util::Full;
use tower::{Layer, ServiceExt, service_fn};

const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";

/// A new 32-byte tag for each `i`.
fn tag(i: u64) -> [u8; 32] {
    let mut tag = [0x5a; 32];
    tag[..8].copy_from_slice(&i.to_le_bytes());
    tag
}

fn reserve(store: &MemoryStore, tag: &[u8; 32]) -> bool {
    let future = pin!(store.reserve(tag, 1, Duration::from_secs(600)));
    matches!(
        future.poll(&mut Context::from_waker(Waker::noop())),
        std::task::Poll::Ready(Ok(true))
    )
}

fn memory_store(c: &mut Criterion) {
    let store = MemoryStore::default();
    let mut i = 0;
    while store.len() < MemoryStore::DEFAULT_CAPACITY {
        reserve(&store, &tag(i));
        i += 1;
    }
    c.bench_function("memory_store/reserve_fresh", |b| {
        b.iter(|| {
            i += 1;
            black_box(reserve(&store, &tag(i)))
        })
    });
}

criterion_group!(benches, memory_store);

/// A signed request for a delivery never sent before: `side` keeps the two
/// sides' bodies apart and the same length.
fn fresh(secret: &Secret, at: &str, side: char, n: u64) -> Request<Full<Bytes>> {
    let body = format!(
        r#"{{"data":{{"roomId":"{side}{n:012}","roomName":"weekly-sync","userId":"u1"}},"event":"room.ended","timestamp":"{at}"}}"#
    );
    Delivery::from_body(body).request("/", secret).unwrap()
}

fn interleaved() {
    if !interleave::selected("guard") {
        return;
    }
    let secret = Secret::new(SECRET).unwrap();
    let verifier = Verifier::new(Secret::new(SECRET).unwrap());
    let handler = service_fn(|_: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let plain = VerifyWebhookLayer::new(verifier.clone()).layer(handler);
    let guarded = ReplayGuardLayer::new(&verifier).layer(plain.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let at = Timestamp::now().to_string();
    let (mut a, mut b) = (0, 0);
    let r = interleave::compare(
        || {
            a += 1;
            let request = fresh(&secret, &at, 'a', a);
            let answer = runtime.block_on(guarded.clone().oneshot(request)).unwrap();
            answer.status().is_success()
                && !answer.headers().contains_key("bedrud-webhook-duplicate")
        },
        || {
            b += 1;
            let request = fresh(&secret, &at, 'b', b);
            let answer = runtime.block_on(plain.clone().oneshot(request)).unwrap();
            answer.status().is_success()
        },
        Duration::from_secs(5),
    );
    interleave::print("guard", "guarded", "verified", &r);
    println!("the guard adds {:.0} ns per delivery", r.a_ns - r.b_ns);
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    interleaved();
}
