//! `listen --admin ADDR`: the operator's listener, apart from the webhook
//! port: `GET /metrics` in Prometheus text and, with `--queue`, the
//! deliveries dashboard at `/` (apalis-board, API under `/api/v1`). Bound to
//! loopback unless told otherwise; on any other address it requires a bearer
//! token, for the dashboard too.

use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bedrud_webhook::queue::Queue;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use subtle::ConstantTimeEq;

use crate::usage;

/// The check's duration buckets, in seconds: it takes microseconds unless a
/// store (Redis, the queue) is slow.
const BUCKETS: [f64; 10] = [1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 1.0];

/// Where to bind: `PORT` alone is loopback's.
pub(crate) fn address(admin: &str) -> anyhow::Result<SocketAddr> {
    let parsed = match admin.parse::<u16>() {
        Ok(port) => Ok(SocketAddr::from(([127, 0, 0, 1], port))),
        Err(_) => admin.parse::<SocketAddr>(),
    };
    parsed.map_err(|_| usage(format!("--admin {admin:?}: give PORT or IP:PORT")))
}

/// Installs the metrics recorder and serves it on `addr` (already checked
/// against the token rule), with `queue`'s dashboard if given; returns the
/// bound address.
pub(crate) async fn serve(
    addr: SocketAddr,
    token: Option<String>,
    queue: Option<&Queue>,
) -> anyhow::Result<SocketAddr> {
    if !addr.ip().is_loopback() && token.is_none() {
        return Err(usage(format!(
            "--admin {addr} is not a loopback address: set --admin-token (or its file or \
             BEDRUD_WEBHOOK_ADMIN_TOKEN), and keep the port private"
        )));
    }
    let histogram = Matcher::Full("bedrud_webhook_check_duration_seconds".to_owned());
    let recorder = PrometheusBuilder::new().set_buckets_for_metric(histogram, &BUCKETS)?;
    let handle = recorder
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    let mut app = Router::new()
        .route("/metrics", get(metrics))
        .with_state(handle);
    if let Some(queue) = queue {
        app = app.merge(queue.dashboard());
    }
    // Last, so that it covers every route, the dashboard's included.
    let app = app.layer(middleware::from_fn_with_state(token, authorize));
    let listener = tokio::net::TcpListener::bind(addr).await;
    let listener = listener.with_context(|| format!("cannot listen on --admin {addr}"))?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(bound)
}

async fn metrics(State(handle): State<PrometheusHandle>) -> impl IntoResponse {
    let text = "text/plain; version=0.0.4; charset=utf-8";
    ([(header::CONTENT_TYPE, text)], handle.render())
}

/// With a token, every request needs `Authorization: Bearer <token>`.
async fn authorize(State(token): State<Option<String>>, request: Request, next: Next) -> Response {
    let Some(token) = token else {
        return next.run(request).await;
    };
    let given = request.headers().get(header::AUTHORIZATION);
    let given = given.and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    match given.is_some_and(|given| bool::from(given.ct_eq(token.as_bytes()))) {
        true => next.run(request).await,
        false => {
            let challenge = [(header::WWW_AUTHENTICATE, "Bearer")];
            (
                StatusCode::UNAUTHORIZED,
                challenge,
                "a bearer token is required\n",
            )
                .into_response()
        }
    }
}
