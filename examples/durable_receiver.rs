//! A Bedrud webhook receiver that loses nothing: each verified delivery is
//! committed to storage before the `202 Accepted`, then handled by a worker
//! that retries with backoff (Bedrud itself never retries).
//!
//! ```text
//! BEDRUD_WEBHOOK_SECRET=<secret from Bedrud's admin> cargo run --example durable_receiver
//! ```
//!
//! `ADDR` (default `127.0.0.1:3000`); `DATABASE_URL`: a SQLite file (default
//! `bedrud-deliveries.db` in the working directory), or a `postgres://` URL
//! for several replicas sharing one queue. A failed write is answered 503; a
//! delivery whose handler fails 8 times (over about 10 minutes) is kept as
//! dead: `bedrud-webhook deliveries list --queue <DATABASE_URL>` shows it
//! (and every other stored delivery), `deliveries rerun` queues it again.
//!
//! To use this file as `src/main.rs` of a crate of your own:
//!
//! ```toml
//! [dependencies]
//! bedrud-webhook = { git = "https://github.com/themadorg/bedrud-webhook", features = ["queue-sqlite", "queue-postgres"] }
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

use axum::Router;
use bedrud_webhook::queue::Queue;
use bedrud_webhook::{Envelope, Event, Secret, Verifier};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// A client must send its request head within this time.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// At most this many connections at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 1024;

/// Your work, run by the worker once per delivery; an `Err` is retried.
async fn handle(envelope: Envelope) -> Result<(), std::io::Error> {
    // `?` (Debug) escapes the strings: a newline in a room name cannot
    // forge a second log line.
    match &envelope.event {
        Event::Unknown { name, data } => {
            tracing::info!(event = ?name, data = ?data.get(), "handled delivery")
        }
        event => tracing::info!(event = ?event.name(), data = ?event, "handled delivery"),
    }
    Ok(())
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
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "bedrud-deliveries.db".to_owned());
    let queue = Queue::connect(&url).await?;
    // Prometheus text on GET /metrics at ADMIN_ADDR: keep that port private.
    if let Ok(admin) = std::env::var("ADMIN_ADDR") {
        let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
        let render = move || std::future::ready(metrics.render());
        let app = axum::Router::new().route("/metrics", axum::routing::get(render));
        let admin = tokio::net::TcpListener::bind(admin).await?;
        tokio::spawn(async move { axum::serve(admin, app).await });
    }

    let app = Router::new().route_service("/webhooks/bedrud", queue.service(verifier));
    let listener = TcpListener::bind(addr).await?;
    tracing::info!("listening on http://{addr}/webhooks/bedrud");
    let serve = async move {
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        loop {
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                return;
            };
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors (EMFILE), for one: wait, keep serving.
                    tracing::error!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            // The service logs a refusal with the peer address it finds here.
            let app = app.clone().layer(axum::Extension(peer));
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
    };
    // The worker runs beside the server; it restarts itself after storage errors.
    tokio::select! {
        () = serve => {}
        () = queue.run_worker(handle) => {}
    }
    Ok(())
}
