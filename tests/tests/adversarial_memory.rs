//! The heap under resource attacks that need no secret, on every
//! integration, counted with dhat's global allocator (so this is a binary
//! of its own, with a single test):
//!
//! - connections that declare a body at the limit and send 100 bytes of it:
//!   nothing is reserved from the unauthenticated `Content-Length`;
//! - connections that send all but one byte of a 60,000-byte body and
//!   stall: the heap holds what arrived and little more, every one is
//!   answered 408 and closed at the body timeout, and the heap is given
//!   back (or, kept, reused by the next wave rather than grown);
//! - a 10 MiB body, with `Content-Length` and chunked: refused with 413
//!   while the heap never grows by more than a small multiple of the limit.
//!
//! The client writes from static buffers, so the growth is the server's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use bedrud_webhook::Verifier;
use bedrud_webhook_tests::{
    Conn, FORGED, Integration, TestServer, WEBHOOK_PATH, head, secret, stream_large,
};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const CONNECTIONS: usize = 200;
const BODY_TIMEOUT: Duration = Duration::from_millis(2500);

fn heap() -> usize {
    dhat::HeapStats::get().curr_bytes
}

/// `CONNECTIONS` connections that each send the head and `sent` bytes of a
/// body declared `declared` bytes long, then stall.
async fn stall(server: &TestServer, declared: usize, sent: usize) -> Vec<Conn> {
    let length = declared.to_string();
    let mut request = head(
        server.addr,
        WEBHOOK_PATH,
        &[
            (b"Content-Length", length.as_bytes()),
            (b"X-Bedrud-Signature", FORGED.as_bytes()),
        ],
    );
    request.resize(request.len() + sent, b' ');
    let mut conns = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let mut conn = Conn::connect(server.addr).await;
        conn.write(&request).await.unwrap();
        conns.push(conn);
    }
    // Let the server read what was sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    conns
}

#[test]
fn attacks_without_the_secret_hold_little_heap_and_give_it_back() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let verifier = Verifier::builder(secret())
        .body_timeout(BODY_TIMEOUT)
        .build();
    let limit = verifier.body_limit();
    runtime.block_on(async {
        for integration in Integration::ALL {
            let server = TestServer::start(integration, verifier.clone()).await;
            let profiler = dhat::Profiler::builder().testing().build();
            // One request first, so that per-server set-up is not counted.
            warm_up(&server).await;
            let base = heap();
            let wave = stalled_wave(&server, limit).await;
            println!(
                "{integration:<9} heap per stalled connection: {} KiB with 100 B of a declared {} KiB body, {} KiB with 59,999 B of 60,000",
                wave.declared / 1024,
                limit / 1024,
                wave.full / 1024
            );
            assert!(wave.declared < 48 * 1024, "{integration}: {} B per connection", wave.declared);
            // Four times what arrived: hyper's read buffers are shared by the
            // frames read so far.
            assert!(wave.full < 4 * 60_000, "{integration}: {} B per connection", wave.full);
            assert!(wave.closed_after < BODY_TIMEOUT + Duration::from_secs(3), "{integration}");
            let left = heap().saturating_sub(base);
            println!(
                "{integration:<9} {} stalled connections answered 408 and closed after {} ms; heap left {} KiB",
                2 * CONNECTIONS,
                wave.closed_after.as_millis(),
                left / 1024
            );
            if left > 2 * 1024 * 1024 {
                // Kept, not leaked, if a second wave reuses it.
                stalled_wave(&server, limit).await;
                let again = heap().saturating_sub(base);
                println!("{integration:<9} after a second wave: heap left {} KiB", again / 1024);
                assert!(again < left + 1024 * 1024, "{integration}: {left} B, then {again} B left");
            }
            drop(profiler);

            for chunked in [false, true] {
                let profiler = dhat::Profiler::builder().testing().build();
                let outcome = stream_large(
                    server.addr,
                    &[(b"X-Bedrud-Signature", FORGED.as_bytes())],
                    10 * 1024 * 1024,
                    chunked,
                )
                .await;
                tokio::time::sleep(Duration::from_millis(200)).await;
                let peak = dhat::HeapStats::get().max_bytes;
                drop(profiler);
                let framing = if chunked { "chunked" } else { "Content-Length" };
                println!(
                    "{integration:<9} 10 MiB {framing:<14} -> {:?}; peak heap growth {} KiB",
                    outcome.status,
                    peak / 1024
                );
                assert_eq!(outcome.status, Some(413), "{integration}, {framing}");
                assert!(peak < 8 * limit.max(256 * 1024), "{integration}, {framing}: {peak} B");
            }
            server.stop().await;
        }
    });
}

struct Wave {
    /// Heap per connection that sent 100 B of a body declared at the limit.
    declared: usize,
    /// Heap per connection that sent all but one byte of 60,000.
    full: usize,
    /// From the first connection to the last one closed.
    closed_after: Duration,
}

/// Stalls `CONNECTIONS` connections of each kind, then waits until every
/// one is answered 408 and closed, and the server has let go of them.
async fn stalled_wave(server: &TestServer, limit: usize) -> Wave {
    let integration = server.integration;
    let started = Instant::now();
    let before = heap();
    let mut conns = stall(server, limit, 100).await;
    let declared = heap().saturating_sub(before) / CONNECTIONS;
    let before = heap();
    conns.extend(stall(server, 60_000, 59_999).await);
    let full = heap().saturating_sub(before) / CONNECTIONS;
    for (i, conn) in conns.iter_mut().enumerate() {
        let status = conn.response().await.map(|r| r.status);
        assert_eq!(status, Some(408), "{integration}: stalled connection {i}");
        assert!(
            conn.closes_within(Duration::from_secs(3)).await,
            "{integration}: {i}"
        );
    }
    let closed_after = started.elapsed();
    drop(conns);
    // actix-web holds a refused payload for the 1 s drain time.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    Wave {
        declared,
        full,
        closed_after,
    }
}

/// One complete forged delivery (401) on a connection of its own.
async fn warm_up(server: &TestServer) {
    let mut request = head(
        server.addr,
        WEBHOOK_PATH,
        &[
            (b"Content-Length", b"2"),
            (b"X-Bedrud-Signature", FORGED.as_bytes()),
        ],
    );
    request.extend_from_slice(b"{}");
    let mut conn = Conn::connect(server.addr).await;
    conn.write(&request).await.unwrap();
    assert_eq!(conn.response().await.map(|r| r.status), Some(401));
}
