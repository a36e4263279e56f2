//! The server of the end-to-end benchmark (`.ci/bench-e2e`, BENCHMARKS.md):
//! one framework, the same trivial handler on a verified and an unverified
//! route, so that the difference is what verification costs.
//!
//! ```text
//! cargo build --release -p bedrud-webhook-examples --example bench_server
//! target/release/examples/bench_server <axum|actix|tower-hyper> [ADDR]
//! ```
//!
//! Routes, all `POST`, all answering 204 from a handler that does nothing:
//!
//! - `/unverified`: the body read whole (as the verified routes read it),
//!   nothing checked; on tower-hyper the request is then handed to the same
//!   handler service as `/verified`'s, so the routes differ by the layer alone;
//! - `/verified`: the `Webhook` extractor (axum, actix-web) or
//!   `VerifyWebhookLayer` (tower on plain hyper): signature, envelope,
//!   timestamp and headers checked, and the typed `Envelope` parsed;
//! - `/verified-body` (axum, actix-web): the `VerifiedBody` extractor, which
//!   verifies and leaves the data unparsed;
//! - `/guarded`: `/verified` behind the in-memory replay guard;
//! - `/guarded-redis` (axum, when `REDIS_URL` is set): behind the Redis one.
//!
//! Each server runs its handlers on one thread (a current-thread tokio
//! runtime; one actix-web worker), so that on a two-core machine the load
//! generator has the other core. The secret is `BEDRUD_WEBHOOK_SECRET`, or
//! the golden vectors' `9f86d081884c7d659a2feaa0c55ad015`. No tracing
//! subscriber is installed: what is measured is the check, not a log sink.

use std::convert::Infallible;
use std::hint::black_box;
use std::net::SocketAddr;

use anyhow::{Context as _, bail};
use bedrud_webhook::replay::ReplayGuardLayer;
use bedrud_webhook::replay::redis::RedisStore;
use bedrud_webhook::tower::VerifyWebhookLayer;
use bedrud_webhook::{Envelope, Secret, VerifiedBody, Verifier, Webhook};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::{Layer as _, ServiceExt as _, service_fn};

/// The golden vectors' secret (bedrud-wire-format.md).
const DEFAULT_SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";
const DEFAULT_ADDR: &str = "127.0.0.1:3900";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let framework = args.next().unwrap_or_default();
    let addr = args.next().unwrap_or_else(|| DEFAULT_ADDR.to_owned());
    let addr: SocketAddr = addr
        .parse()
        .with_context(|| format!("{addr:?} is not a socket address such as {DEFAULT_ADDR}"))?;
    let secret = std::env::var("BEDRUD_WEBHOOK_SECRET").unwrap_or_else(|_| DEFAULT_SECRET.into());
    let verifier = Verifier::new(Secret::new(secret).context("BEDRUD_WEBHOOK_SECRET")?);
    // BENCH_METRICS=1: the library's metrics recorded, as a server exporting them would.
    if std::env::var_os("BENCH_METRICS").is_some() {
        metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
    }

    match framework.as_str() {
        "axum" => current_thread()?.block_on(axum_server::serve(addr, verifier)),
        "actix" => actix_server::serve(addr, verifier),
        "tower-hyper" => current_thread()?.block_on(hyper_server::serve(addr, verifier)),
        other => bail!("usage: bench_server <axum|actix|tower-hyper> [ADDR]; not {other:?}"),
    }
}

fn current_thread() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Tells the script the server is up.
fn announce(framework: &str, addr: SocketAddr) {
    println!("bench_server: {framework} listening on http://{addr}");
}

mod axum_server {
    use super::*;
    use axum::Router;
    use axum::routing::post;

    async fn unverified(body: Bytes) -> StatusCode {
        black_box(&body);
        StatusCode::NO_CONTENT
    }

    async fn verified(Webhook(envelope): Webhook) -> StatusCode {
        black_box(&envelope);
        StatusCode::NO_CONTENT
    }

    async fn verified_body(body: VerifiedBody) -> StatusCode {
        black_box(&body);
        StatusCode::NO_CONTENT
    }

    pub(super) async fn serve(addr: SocketAddr, verifier: Verifier) -> anyhow::Result<()> {
        let mut app = Router::new()
            .route("/unverified", post(unverified))
            .route("/verified", post(verified))
            .route("/verified-body", post(verified_body))
            .route(
                "/guarded",
                post(verified).route_layer(ReplayGuardLayer::new(&verifier)),
            );
        if let Ok(url) = std::env::var("REDIS_URL") {
            let guard = ReplayGuardLayer::new(&verifier).store(RedisStore::open(&url)?);
            app = app.route("/guarded-redis", post(verified).route_layer(guard));
        }
        let app = app.with_state(verifier);
        let listener = tokio::net::TcpListener::bind(addr).await?;
        announce("axum", listener.local_addr()?);
        axum::serve(listener, app).await?;
        Ok(())
    }
}

mod actix_server {
    use super::*;
    use actix_web::{App, HttpResponse, HttpServer, web};

    async fn unverified(body: web::Bytes) -> HttpResponse {
        black_box(&body);
        HttpResponse::NoContent().finish()
    }

    async fn verified(Webhook(envelope): Webhook) -> HttpResponse {
        black_box(&envelope);
        HttpResponse::NoContent().finish()
    }

    async fn verified_body(body: VerifiedBody) -> HttpResponse {
        black_box(&body);
        HttpResponse::NoContent().finish()
    }

    pub(super) fn serve(addr: SocketAddr, verifier: Verifier) -> anyhow::Result<()> {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(verifier.clone())
                    .route("/unverified", web::post().to(unverified))
                    .route("/verified", web::post().to(verified))
                    .route("/verified-body", web::post().to(verified_body))
                    .service(
                        web::resource("/guarded")
                            .wrap(ReplayGuardLayer::new(&verifier))
                            .route(web::post().to(verified)),
                    )
            })
            .workers(1)
            .bind(addr)?;
            announce("actix", server.addrs()[0]);
            server.run().await?;
            Ok(())
        })
    }
}

mod hyper_server {
    use super::*;

    fn answer(status: StatusCode) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::default());
        *response.status_mut() = status;
        response
    }

    /// The trivial handler of both routes, a tower service: on `/verified`
    /// behind the layer, on `/unverified` called directly.
    async fn handle(request: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
        black_box(request.extensions().get::<Envelope>());
        black_box(request.body());
        Ok(answer(StatusCode::NO_CONTENT))
    }

    pub(super) async fn serve(addr: SocketAddr, verifier: Verifier) -> anyhow::Result<()> {
        let handler = service_fn(handle);
        let guard = ReplayGuardLayer::new(&verifier);
        let webhook = VerifyWebhookLayer::new(verifier).layer(handler);
        let guarded = guard.layer(webhook.clone());
        let router = service_fn(move |request: Request<Incoming>| {
            let (webhook, guarded) = (webhook.clone(), guarded.clone());
            async move {
                let response: Response<Either<Full<Bytes>, String>> =
                    match (request.method(), request.uri().path()) {
                        (&Method::POST, "/verified") => webhook.oneshot(request).await?,
                        (&Method::POST, "/guarded") => guarded.oneshot(request).await?,
                        (&Method::POST, "/unverified") => {
                            // Read the body whole, as the layer does, and
                            // hand the request to the same handler.
                            let (parts, body) = request.into_parts();
                            match body.collect().await {
                                Ok(body) => {
                                    let request =
                                        Request::from_parts(parts, Full::new(body.to_bytes()));
                                    handler.oneshot(request).await?.map(Either::Left)
                                }
                                Err(_) => answer(StatusCode::BAD_REQUEST).map(Either::Left),
                            }
                        }
                        _ => answer(StatusCode::NOT_FOUND).map(Either::Left),
                    };
                Ok::<_, Infallible>(response)
            }
        });

        let listener = tokio::net::TcpListener::bind(addr).await?;
        announce("tower-hyper", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            let service = TowerToHyperService::new(router.clone());
            tokio::spawn(async move {
                // A client hanging up mid-request is not the server's error.
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }
}
