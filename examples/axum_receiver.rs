//! A Bedrud webhook receiver on axum: `POST /webhooks/bedrud`.
//!
//! ```text
//! BEDRUD_WEBHOOK_SECRET=<secret from Bedrud's admin> ADDR=127.0.0.1:3000 cargo run --example axum_receiver
//! ```
//!
//! The `Webhook` extractor verifies each delivery and parses it; forged,
//! stale, malformed, oversized or too slow requests are answered 401, 400,
//! 413 or 408 before the handler runs, with a warning in the log.
//!
//! The replay guard runs each genuine delivery once: a second arrival of the
//! same signed bytes is answered `200` with `bedrud-webhook-duplicate: true`,
//! without running the handler. It remembers deliveries in memory, or in
//! Redis when `REDIS_URL` is set (`redis://127.0.0.1:6379/`), so that several
//! replicas share it; while Redis is unreachable, deliveries are answered 503.
//!
//! To use this file as `src/main.rs` of a crate of your own (bedrud-webhook
//! is not on crates.io yet):
//!
//! ```toml
//! [dependencies]
//! bedrud-webhook = { git = "https://github.com/themadorg/bedrud-webhook", features = ["axum", "redis"] }
//! axum = "0.8"
//! hyper = { version = "1", features = ["server", "http1"] }
//! hyper-util = { version = "0.1", features = ["tokio", "service"] }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread", "net", "time", "sync"] }
//! tracing = "0.1"
//! tracing-subscriber = "0.3"
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Router};
use bedrud_webhook::replay::ReplayGuardLayer;
use bedrud_webhook::replay::redis::RedisStore;
use bedrud_webhook::{Event, Secret, Verifier, Webhook};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// A client must send its request head within this time.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// At most this many connections at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 1024;

/// Runs for genuine deliveries only; any 2xx tells Bedrud it arrived.
async fn bedrud(Webhook(envelope): Webhook) -> StatusCode {
    // `?` (Debug) escapes the strings: a newline in a room name cannot
    // forge a second log line.
    match &envelope.event {
        Event::Unknown { name, data } => {
            tracing::info!(event = ?name, data = ?data.get(), "verified delivery")
        }
        event => tracing::info!(event = ?event.name(), data = ?event, "verified delivery"),
    }
    StatusCode::NO_CONTENT
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .init();
    let secret = std::env::var("BEDRUD_WEBHOOK_SECRET")
        .map_err(|_| "set BEDRUD_WEBHOOK_SECRET to the webhook's secret from Bedrud's admin")?;
    let verifier = Verifier::new(Secret::new(secret)?);
    let addr: SocketAddr = std::env::var("ADDR")
        .unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
        .parse()?;

    let mut guard = ReplayGuardLayer::new(&verifier);
    if let Ok(url) = std::env::var("REDIS_URL") {
        guard = guard.store(RedisStore::open(&url)?);
    }
    // Prometheus text on GET /metrics at ADMIN_ADDR: keep that port private.
    if let Ok(admin) = std::env::var("ADMIN_ADDR") {
        let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
        let render = move || std::future::ready(metrics.render());
        let app = axum::Router::new().route("/metrics", axum::routing::get(render));
        let admin = tokio::net::TcpListener::bind(admin).await?;
        tokio::spawn(async move { axum::serve(admin, app).await });
    }

    let app = Router::new()
        .route("/webhooks/bedrud", post(bedrud).route_layer(guard))
        .with_state(verifier);

    // Served through hyper directly: `axum::serve` has no header timeout.
    let listener = TcpListener::bind(addr).await?;
    tracing::info!("listening on http://{addr}/webhooks/bedrud");
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let slot = Arc::clone(&slots).acquire_owned().await?;
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors (EMFILE), for one: wait, keep serving.
                tracing::error!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        // The extractor logs a refusal with the peer address it finds here.
        let app = app.clone().layer(Extension(ConnectInfo(peer)));
        let service = TowerToHyperService::new(app);
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(slot);
        });
    }
}
