//! A Bedrud webhook receiver on axum: `POST /webhooks/bedrud`.
//!
//! ```text
//! BEDRUD_WEBHOOK_SECRET=<secret> cargo run --example axum_receiver
//! ```
//!
//! The `Webhook` extractor verifies each delivery (signature, signed
//! timestamp, headers) and parses it; forged, stale, malformed or oversized
//! requests are answered 401, 400 or 413 before the handler runs.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use bedrud_webhook::Webhook;
use bedrud_webhook_examples::{Config, WEBHOOK_PATH, init_tracing, log_event};

/// Runs for genuine deliveries only; any 2xx tells Bedrud it arrived.
async fn bedrud(Webhook(envelope): Webhook) -> StatusCode {
    log_event(&envelope);
    StatusCode::NO_CONTENT
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let config = Config::from_env()?;

    let app = Router::new()
        .route(WEBHOOK_PATH, post(bedrud))
        .with_state(config.verifier);

    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    tracing::info!(
        "listening on http://{}{WEBHOOK_PATH}",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
