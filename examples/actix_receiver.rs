//! A Bedrud webhook receiver on actix-web: `POST /webhooks/bedrud`.
//!
//! ```text
//! BEDRUD_WEBHOOK_SECRET=<secret from Bedrud's admin> ADDR=127.0.0.1:3000 cargo run --example actix_receiver
//! ```
//!
//! The `Webhook` extractor finds the `Verifier` in `app_data`, verifies each
//! delivery and parses it; forged, stale, malformed, oversized or too slow
//! requests are answered 401, 400, 413 or 408 before the handler runs, with a
//! warning in the log.
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
//! bedrud-webhook = { git = "https://github.com/themadorg/bedrud-webhook", features = ["actix-web", "redis"] }
//! actix-web = "4"
//! tracing = "0.1"
//! tracing-subscriber = "0.3"
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::{App, HttpResponse, HttpServer, web};
use bedrud_webhook::replay::ReplayGuardLayer;
use bedrud_webhook::replay::redis::RedisStore;
use bedrud_webhook::{Event, Secret, Verifier, Webhook};

/// Runs for genuine deliveries only; any 2xx tells Bedrud it arrived.
async fn bedrud(Webhook(envelope): Webhook) -> HttpResponse {
    // `?` (Debug) escapes the strings: a newline in a room name cannot
    // forge a second log line.
    match &envelope.event {
        Event::Unknown { name, data } => {
            tracing::info!(event = ?name, data = ?data.get(), "verified delivery")
        }
        event => tracing::info!(event = ?event.name(), data = ?event, "verified delivery"),
    }
    HttpResponse::NoContent().finish()
}

/// actix-http 3 panics on a request whose header name is 64 KiB or longer
/// (it unwraps `HeaderName::from_bytes`); the connection's task dies, the
/// server goes on. The default hook would print a multi-line report (with a
/// backtrace, if enabled) per request, from anyone: log one bounded line
/// instead, at most one a second.
fn quiet_panics() {
    static LAST: AtomicU64 = AtomicU64::new(0);
    std::panic::set_hook(Box::new(|info| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if LAST.swap(now, Ordering::Relaxed) == now {
            return;
        }
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(no message)");
        let message: String = message.chars().take(200).collect();
        let location = info.location().map(ToString::to_string);
        tracing::error!(
            ?message,
            ?location,
            "a task panicked (at most one line a second)"
        );
    }));
}

#[actix_web::main]
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
    quiet_panics();
    let secret = std::env::var("BEDRUD_WEBHOOK_SECRET")
        .map_err(|_| "set BEDRUD_WEBHOOK_SECRET to the webhook's secret from Bedrud's admin")?;
    let verifier = Verifier::new(Secret::new(secret)?);
    let addr: SocketAddr = std::env::var("ADDR")
        .unwrap_or_else(|_| "127.0.0.1:3000".to_owned())
        .parse()?;

    // Made once, outside the factory, so that every worker shares its store.
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

    let server = HttpServer::new(move || {
        let webhook = web::resource("/webhooks/bedrud")
            .wrap(guard.clone())
            .route(web::post().to(bedrud));
        App::new().app_data(verifier.clone()).service(webhook)
    })
    // The request head must arrive within 5 s; a refused body is drained
    // for at most 1 s before the connection closes.
    .client_request_timeout(Duration::from_secs(5))
    .client_disconnect_timeout(Duration::from_secs(1))
    // Per worker thread; more wait in the listen queue.
    .max_connections(1024)
    .bind(addr)?;
    tracing::info!("listening on http://{addr}/webhooks/bedrud");
    server.run().await?;
    Ok(())
}
