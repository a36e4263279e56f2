//! A Bedrud webhook receiver on actix-web: `POST /webhooks/bedrud`.
//!
//! ```text
//! BEDRUD_WEBHOOK_SECRET=<secret> cargo run --example actix_receiver
//! ```
//!
//! The `Webhook` extractor finds the `Verifier` in `app_data`, verifies each
//! delivery and parses it; forged, stale, malformed or oversized requests are
//! answered 401, 400 or 413 before the handler runs.

use actix_web::{App, HttpResponse, HttpServer, web};
use bedrud_webhook::Webhook;
use bedrud_webhook_examples::{Config, WEBHOOK_PATH, init_tracing, log_event};

/// Runs for genuine deliveries only; any 2xx tells Bedrud it arrived.
async fn bedrud(Webhook(envelope): Webhook) -> HttpResponse {
    log_event(&envelope);
    HttpResponse::NoContent().finish()
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let Config { verifier, addr } = Config::from_env()?;

    let server = HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            .route(WEBHOOK_PATH, web::post().to(bedrud))
    })
    .bind(addr)?;
    for bound in server.addrs() {
        tracing::info!("listening on http://{bound}{WEBHOOK_PATH}");
    }
    server.run().await?;
    Ok(())
}
