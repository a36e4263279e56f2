//! The memory side of the 10 MiB test: while a server refuses a 10 MiB body
//! (with `Content-Length`, and chunked without it), the heap of the whole
//! process (server threads, client, runtime) never grows by more than a
//! small multiple of the 256 KiB body limit. Counted with dhat's global
//! allocator, so this is a binary of its own, with a single test.
//!
//! The client writes the body from one static 64 KiB buffer, so all the
//! heap growth measured is the server's (and the runtime's). A fresh dhat
//! profiler is started for each request, so each figure is the peak of the
//! heap allocated during that request alone.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bedrud_webhook_tests::adversary::{TEN_MIB, stream_large};
use bedrud_webhook_tests::{Integration, TestServer, verifier};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// The most the heap may grow by while refusing 10 MiB: 8 x the 256 KiB
/// limit, for the limit itself, the HTTP server's read buffer, and slack.
const BOUND: usize = 2 * 1024 * 1024;

const FORGED: &str = "sha256=0000000000000000000000000000000000000000000000000000000000000000";

#[test]
fn refusing_ten_mib_never_holds_more_than_a_small_multiple_of_the_limit() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for integration in Integration::ALL {
            let server = TestServer::start(integration, verifier().unwrap())
                .await
                .unwrap();
            for chunked in [false, true] {
                let profiler = dhat::Profiler::builder()
                    .testing()
                    .trim_backtraces(Some(1))
                    .build();
                let outcome = stream_large(
                    server.addr,
                    &[(b"X-Bedrud-Signature", FORGED.as_bytes())],
                    TEN_MIB,
                    chunked,
                )
                .await
                .unwrap();
                // Let the server finish with the connection before reading
                // the peak: it is a peak, so waiting can only raise it.
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                let stats = dhat::HeapStats::get();
                drop(profiler);
                let framing = if chunked {
                    "chunked, no Content-Length"
                } else {
                    "Content-Length"
                };
                println!(
                    "{:<14} 10 MiB, {framing:<26} -> {:?}; peak heap growth {} KiB ({} blocks), {} KiB allocated in all",
                    integration.to_string(),
                    outcome.status,
                    stats.max_bytes / 1024,
                    stats.max_blocks,
                    stats.total_bytes / 1024,
                );
                assert_eq!(outcome.status, Some(413), "{integration}, {framing}");
                assert!(
                    stats.max_bytes < BOUND,
                    "{integration}, {framing}: the heap grew by {} bytes",
                    stats.max_bytes
                );
            }
            server.stop().await.unwrap();
        }
    });
}
