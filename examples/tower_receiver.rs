//! A Bedrud webhook receiver on plain hyper 1, guarded by the tower layer:
//! `POST /webhooks/bedrud`, no web framework.
//!
//! ```text
//! BEDRUD_WEBHOOK_SECRET=<secret from Bedrud's admin> ADDR=127.0.0.1:3000 cargo run --example tower_receiver
//! ```
//!
//! `VerifyWebhookLayer` answers forged, stale, malformed, oversized or too
//! slow requests itself (401, 400, 413 or 408, with a warning in the log);
//! the handler behind it sees only verified deliveries, with the typed
//! `Envelope` in the request's extensions.
//!
//! The replay guard in front of it runs each genuine delivery once: a second
//! arrival of the same signed bytes is answered `200` with
//! `bedrud-webhook-duplicate: true`, without running the handler. It
//! remembers deliveries in memory, or in Redis when `REDIS_URL` is set
//! (`redis://127.0.0.1:6379/`), so that several replicas share it; while
//! Redis is unreachable, deliveries are answered 503.
//!
//! To use this file as `src/main.rs` of a crate of your own (bedrud-webhook
//! is not on crates.io yet):
//!
//! ```toml
//! [dependencies]
//! bedrud-webhook = { git = "https://github.com/themadorg/bedrud-webhook", features = ["tower", "redis"] }
//! bytes = "1"
//! http-body-util = "0.1"
//! hyper = { version = "1", features = ["server", "http1"] }
//! hyper-util = { version = "0.1", features = ["tokio"] }
//! tokio = { version = "1", features = ["macros", "rt-multi-thread", "net", "time", "sync"] }
//! tower = { version = "0.5", features = ["util"] }
//! tracing = "0.1"
//! tracing-subscriber = "0.3"
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bedrud_webhook::replay::ReplayGuardLayer;
use bedrud_webhook::replay::redis::RedisStore;
use bedrud_webhook::tower::VerifyWebhookLayer;
use bedrud_webhook::{Envelope, Event, Secret, Verifier};
use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::{ServiceBuilder, ServiceExt};

/// A client must send its request head within this time.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// At most this many connections at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 1024;

/// Runs for verified deliveries only; any 2xx tells Bedrud it arrived.
async fn bedrud(request: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::default());
    // The layer put the envelope there before calling us.
    let Some(envelope) = request.extensions().get::<Envelope>() else {
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        return Ok(response);
    };
    // `?` (Debug) escapes the strings: a newline in a room name cannot
    // forge a second log line.
    match &envelope.event {
        Event::Unknown { name, data } => {
            tracing::info!(event = ?name, data = ?data.get(), "verified delivery")
        }
        event => tracing::info!(event = ?event.name(), data = ?event, "verified delivery"),
    }
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
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

    // Only the webhook route is guarded: other paths get 404, not 401.
    let webhook = ServiceBuilder::new()
        .layer(guard)
        .layer(VerifyWebhookLayer::new(verifier))
        .service_fn(bedrud);
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
        let webhook = webhook.clone();
        let router = service_fn(move |mut request: Request<Incoming>| {
            // The layer logs a refusal with the peer address it finds here.
            request.extensions_mut().insert(peer);
            let webhook = webhook.clone();
            async move {
                if request.method() == Method::POST && request.uri().path() == "/webhooks/bedrud" {
                    return webhook.oneshot(request).await;
                }
                let mut response = Response::new(Either::Right(String::new()));
                *response.status_mut() = StatusCode::NOT_FOUND;
                Ok(response)
            }
        });
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), router)
                .await;
            drop(slot);
        });
    }
}
