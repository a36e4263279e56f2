//! A Bedrud webhook receiver on plain hyper 1, guarded by the tower layer:
//! `POST /webhooks/bedrud`, no web framework.
//!
//! ```text
//! BEDRUD_WEBHOOK_SECRET=<secret> cargo run --example tower_receiver
//! ```
//!
//! `VerifyWebhookLayer` answers forged, stale, malformed or oversized
//! requests itself (401, 400 or 413); the handler behind it sees only
//! verified deliveries, with the typed `Envelope` in the request extensions.

use std::convert::Infallible;

use bedrud_webhook::Envelope;
use bedrud_webhook::tower::{RequestBody, ResponseBody, VerifyWebhookLayer};
use bedrud_webhook_examples::{Config, WEBHOOK_PATH, init_tracing, log_event};
use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::{Layer, ServiceExt, service_fn};

/// Runs for verified deliveries only; any 2xx tells Bedrud it arrived.
async fn bedrud(request: Request<RequestBody>) -> Result<Response<Full<Bytes>>, Infallible> {
    // The layer put the envelope there before calling us.
    let status = match request.extensions().get::<Envelope>() {
        Some(envelope) => {
            log_event(envelope);
            StatusCode::NO_CONTENT
        }
        None => StatusCode::INTERNAL_SERVER_ERROR,
    };
    Ok(with_status(status))
}

fn with_status(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::default());
    *response.status_mut() = status;
    response
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_tracing();
    let config = Config::from_env()?;

    // Only the webhook route is guarded: other paths get 404, not 401.
    let webhook = VerifyWebhookLayer::new(config.verifier).layer(service_fn(bedrud));
    let router = service_fn(move |request: Request<Incoming>| {
        let webhook = webhook.clone();
        async move {
            let response: Response<ResponseBody<Full<Bytes>>> =
                match (request.method(), request.uri().path()) {
                    (&Method::POST, WEBHOOK_PATH) => webhook.oneshot(request).await?,
                    (_, WEBHOOK_PATH) => {
                        with_status(StatusCode::METHOD_NOT_ALLOWED).map(Either::Left)
                    }
                    _ => with_status(StatusCode::NOT_FOUND).map(Either::Left),
                };
            Ok::<_, Infallible>(response)
        }
    });

    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    tracing::info!(
        "listening on http://{}{WEBHOOK_PATH}",
        listener.local_addr()?
    );
    loop {
        let (stream, peer) = listener.accept().await?;
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}
