//! `listen --admin ADDR`: the operator's listener, apart from the webhook
//! port: `GET /metrics` in Prometheus text and, with `--queue`, the
//! deliveries dashboard at `/` (apalis-board, API under `/api/v1`) and the
//! dead deliveries at `/dead`, each with a button that runs it again (the one
//! action apalis-board's read-only UI lacks). Bound to loopback unless told
//! otherwise; on any other address it requires a token, for every page.

use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use bedrud_webhook::queue::{self, Queue};
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
        let dead = Router::new()
            .route("/dead", get(dead))
            .route("/dead/{id}/rerun", post(rerun))
            .with_state(queue.clone());
        app = app.merge(dead).merge(queue.dashboard());
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

/// `GET /dead`: the dead deliveries, each with a form that runs it again,
/// then the retrying ones; both with their last error, which apalis-board's
/// pages do not show.
async fn dead(State(queue): State<Queue>) -> Response {
    let (dead, retrying) = match tokio::try_join!(
        queue.list(Some(queue::State::Dead)),
        queue.list(Some(queue::State::Retrying)),
    ) {
        Ok(listed) => listed,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    };
    let dead_rows: String = dead
        .iter()
        .map(|d| {
            let id = html(&d.id);
            let button = "<button>Run again</button>";
            row(
                d,
                format!("<form method=\"post\" action=\"/dead/{id}/rerun\">{button}</form>"),
            )
        })
        .collect();
    let retrying_rows: String = retrying
        .iter()
        .map(|d| {
            let at = d.run_at.map_or_else(|| "-".to_owned(), |t| t.to_string());
            row(d, format!("next attempt {at}"))
        })
        .collect();
    let head = "<tr><th>id</th><th>event</th><th>attempts</th><th>received</th>\
                <th>last error</th><th></th></tr>\n";
    Html(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Dead deliveries</title>\
         </head><body><p><a href=\"/\">All deliveries</a></p>\n\
         <h1>{} dead deliveries</h1>\n<table>{head}{}</table>\n\
         <h2>{} retrying</h2>\n<table>{head}{}</table></body></html>\n",
        dead.len(),
        dead_rows,
        retrying.len(),
        retrying_rows,
    ))
    .into_response()
}

/// A delivery's row on `/dead`, `last` its last cell (HTML).
fn row(d: &queue::StoredDelivery, last: String) -> String {
    format!(
        "<tr><td>{}</td><td>{}</td><td>{}/{}</td><td>{}</td><td>{}</td><td>{last}</td></tr>\n",
        html(&d.id),
        html(&crate::queue::event(d)),
        d.attempts,
        d.max_attempts,
        d.received_at,
        html(d.last_error.as_deref().unwrap_or("-")),
    )
}

/// `POST /dead/{id}/rerun`: queues the dead delivery again, then back to
/// `/dead`. Refused from another site's page (a forged form).
async fn rerun(State(queue): State<Queue>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if cross_site(&headers) {
        let why = "a delivery is run again from the dashboard's own page only\n";
        return (StatusCode::FORBIDDEN, why).into_response();
    }
    match queue.rerun(&id).await {
        Ok(true) => Redirect::to("/dead").into_response(),
        Ok(false) => (StatusCode::NOT_FOUND, "no such dead delivery\n").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    }
}

/// Whether a browser sent this request from another site's page: its
/// `Sec-Fetch-Site`, or else its `Origin`, says so. Other clients send
/// neither.
fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let host = headers.get(header::HOST).map(|h| h.as_bytes());
    origin.as_bytes().strip_prefix(b"http://") != host
}

/// `text` safe inside HTML text and attribute values.
fn html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The token a request carries: `Authorization: Bearer <token>`, or Basic
/// with the token as the password (any user name), which a browser asks for
/// once and then sends with every request of the dashboard.
fn token_of(request: &Request) -> Option<Vec<u8>> {
    let given = request.headers().get(header::AUTHORIZATION)?.as_bytes();
    if let Some(bearer) = given.strip_prefix(b"Bearer ") {
        return Some(bearer.to_vec());
    }
    let basic = given.strip_prefix(b"Basic ")?;
    let pair = base64::engine::general_purpose::STANDARD
        .decode(basic)
        .ok()?;
    let colon = pair.iter().position(|&b| b == b':')?;
    Some(pair[colon + 1..].to_vec())
}

/// With a token, every request needs it (see [`token_of`]).
async fn authorize(State(token): State<Option<String>>, request: Request, next: Next) -> Response {
    let Some(token) = token else {
        return next.run(request).await;
    };
    let given = token_of(&request);
    match given.is_some_and(|given| bool::from(given.ct_eq(token.as_bytes()))) {
        true => next.run(request).await,
        false => {
            let mut answer = (
                StatusCode::UNAUTHORIZED,
                "the admin token is required: Authorization: Bearer TOKEN, or Basic with \
                 the token as the password\n",
            )
                .into_response();
            let basic = "Basic realm=\"bedrud-webhook admin\", charset=\"UTF-8\"";
            for challenge in ["Bearer", basic] {
                let challenge = HeaderValue::from_static(challenge);
                answer
                    .headers_mut()
                    .append(header::WWW_AUTHENTICATE, challenge);
            }
            answer
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(authorization: &str) -> Request {
        let request = Request::builder().header(header::AUTHORIZATION, authorization);
        request.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn the_token_as_bearer_or_as_the_basic_password() {
        assert_eq!(token_of(&request("Bearer t0ken")).unwrap(), b"t0ken");
        // "admin:t0ken:with:colons", and a user name of none.
        let basic = "Basic YWRtaW46dDBrZW46d2l0aDpjb2xvbnM=";
        assert_eq!(token_of(&request(basic)).unwrap(), b"t0ken:with:colons");
        assert_eq!(token_of(&request("Basic OnQwa2Vu")).unwrap(), b"t0ken");
        assert_eq!(token_of(&request("Basic not base64!")), None);
        assert_eq!(token_of(&request("Basic dDBrZW4=")), None, "no colon");
        assert_eq!(token_of(&request("Digest t0ken")), None);
    }

    #[test]
    fn a_form_from_another_site_is_cross_site() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, HeaderValue::from_static(value));
            }
            map
        };
        let host = ("host", "127.0.0.1:9090");
        assert!(!cross_site(&headers(&[host])), "curl");
        assert!(!cross_site(&headers(&[
            host,
            ("origin", "http://127.0.0.1:9090")
        ])));
        assert!(cross_site(&headers(&[
            host,
            ("origin", "http://evil.example")
        ])));
        assert!(cross_site(&headers(&[host, ("origin", "null")])));
        assert!(!cross_site(&headers(&[
            host,
            ("sec-fetch-site", "same-origin")
        ])));
        let evil = [
            host,
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://127.0.0.1:9090"),
        ];
        assert!(cross_site(&headers(&evil)), "Sec-Fetch-Site decides");
    }

    #[test]
    fn html_text_is_escaped() {
        assert_eq!(
            html(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }
}
