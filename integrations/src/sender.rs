//! Posts deliveries over HTTP(S) as Bedrud's dispatcher does.
//!
//! ```no_run
//! use bedrud_webhook::delivery::Delivery;
//! use bedrud_webhook::sender::Sender;
//! use bedrud_webhook::{EventKind, Secret};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let secret = Secret::new("9f86d081884c7d659a2feaa0c55ad015")?;
//! let delivery = Delivery::sample(EventKind::Ping);
//! let response = Sender::new().deliver("http://127.0.0.1:3000/webhooks/bedrud", &delivery, &secret).await?;
//! println!("{}", response.status());
//! # Ok(())
//! # }
//! ```

use std::error::Error as StdError;
use std::io;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use bedrud_webhook_verify::Secret;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::delivery::Delivery;

/// The most of a response body [`Sender::send`] reads, unless told otherwise.
const RESPONSE_LIMIT: usize = 1024 * 1024;

/// Said when an `https://` URL meets a server that answers in plain HTTP.
const PLAIN_HTTP: &str = "the server speaks plain HTTP, not TLS: use http:// instead of https://";

/// The TLS settings every sender shares, built once: rustls with *ring*
/// (named: rustls' process default is ambiguous when another crate enables
/// aws-lc-rs too), trusting Mozilla's roots, which work in a container
/// without any, and the system's (`SSL_CERT_FILE`, `SSL_CERT_DIR`: a
/// private CA it trusts).
#[allow(clippy::expect_used, reason = "ring supports the default TLS versions")]
static TLS: LazyLock<rustls::ClientConfig> = LazyLock::new(|| {
    let mut roots =
        rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let system = rustls_native_certs::load_native_certs();
    for error in &system.errors {
        // A wrong SSL_CERT_FILE would otherwise show only as UnknownIssuer.
        tracing::warn!(%error, "could not read some of the system's root certificates");
    }
    roots.add_parsable_certificates(system.certs);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth()
});

/// An HTTP/1.1 client for `http://` and `https://` (rustls with *ring*;
/// Mozilla's roots and the system's) with Bedrud's 10-second timeout.
/// Cloning shares the connection pool; it needs a Tokio runtime.
#[derive(Debug, Clone)]
pub struct Sender {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
    response_limit: usize,
}

/// Why a delivery got no response. A response with any status is not an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// Not an absolute `http://` or `https://` URL. Nothing was sent.
    #[error("invalid URL: expected an absolute http:// or https:// URL")]
    InvalidUrl,
    /// [`Sender::deliver`] could not build the request (a URL or header value
    /// that `http` refuses). Nothing was sent.
    #[error("invalid request: {0}")]
    InvalidRequest(#[from] http::Error),
    /// No connection: nothing listens there, the name does not resolve, or
    /// the TLS handshake failed (an `https://` URL to a plain-HTTP server, say).
    #[error("could not connect to {authority}: {reason}")]
    Connect {
        /// The host and port.
        authority: String,
        /// The innermost cause, such as `Connection refused (os error 111)`.
        reason: String,
    },
    /// No complete response within the timeout.
    #[error("{authority} did not answer within {} ms", .after.as_millis())]
    Timeout {
        /// The host and port.
        authority: String,
        /// The timeout that ran out.
        after: Duration,
    },
    /// The exchange broke off, or the answer was not HTTP or was too large.
    #[error("the exchange with {authority} failed: {reason}")]
    Exchange {
        /// The host and port.
        authority: String,
        /// The innermost cause.
        reason: String,
    },
}

impl Sender {
    /// A sender with Bedrud's 10-second timeout.
    #[must_use]
    pub fn new() -> Sender {
        let builder = HttpsConnectorBuilder::new().with_tls_config(TLS.clone());
        let connector = builder.https_or_http().enable_http1().build();
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .http1_title_case_headers(true) // Go's canonical names: X-Bedrud-Signature
            .build(connector);
        Sender {
            client,
            timeout: Duration::from_secs(10),
            response_limit: RESPONSE_LIMIT,
        }
    }

    /// Gives up after `timeout` (request, response and its body) instead of 10 s.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Sender {
        self.timeout = timeout;
        self
    }

    /// Reads at most `bytes` of a response body (default 1 MiB); a longer
    /// one is an error.
    #[must_use]
    pub fn with_response_limit(mut self, bytes: usize) -> Sender {
        self.response_limit = bytes;
        self
    }

    /// Sends `request` once; returns the response with its body read (at most
    /// 1 MiB, or [`with_response_limit`](Self::with_response_limit)).
    ///
    /// # Errors
    ///
    /// [`SendError::InvalidUrl`] unless the URI is absolute `http://` or
    /// `https://`; otherwise when no complete response arrived in time.
    pub async fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, SendError> {
        let authority = match (request.uri().scheme_str(), request.uri().authority()) {
            (Some("http" | "https"), Some(a)) => {
                a.as_str().rsplit('@').next().unwrap_or("").to_owned()
            }
            _ => return Err(SendError::InvalidUrl),
        };
        // Fails with whether the connection failed, and why.
        let exchange = async {
            let response = self.client.request(request.map(Full::new)).await;
            let response = response.map_err(|e| (e.is_connect(), reason(&e)))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, self.response_limit).collect().await;
            let body = body.map_err(|e| match e.is::<LengthLimitError>() {
                true => format!("the response body is over {} bytes", self.response_limit),
                false => reason(&*e),
            });
            let body = body.map_err(|why| (false, why))?;
            Ok(Response::from_parts(parts, body.to_bytes()))
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err((true, reason))) => Err(SendError::Connect { authority, reason }),
            Ok(Err((false, reason))) => Err(SendError::Exchange { authority, reason }),
            Err(_) => Err(SendError::Timeout {
                authority,
                after: self.timeout,
            }),
        }
    }

    /// Signs `delivery` with `secret` and sends it to `url`.
    ///
    /// # Errors
    ///
    /// As [`Sender::send`].
    pub async fn deliver(
        &self,
        url: &str,
        delivery: &Delivery,
        secret: &Secret,
    ) -> Result<Response<Bytes>, SendError> {
        self.send(delivery.request(url, secret)?).await
    }
}

impl Default for Sender {
    fn default() -> Sender {
        Sender::new()
    }
}

/// Why the exchange failed, plainly: the innermost cause (`Connection refused`,
/// not `client error`), unless it is one of two that need explaining.
fn reason(error: &(dyn StdError + 'static)) -> String {
    if is_plain_http(error) {
        PLAIN_HTTP.to_owned()
    } else {
        error.source().map_or_else(|| error.to_string(), reason)
    }
}

/// Whether the TLS handshake got a record that is not TLS: the server speaks
/// plain HTTP. `io::Error` hides its inner error from `source`, so look inside.
fn is_plain_http(error: &(dyn StdError + 'static)) -> bool {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return matches!(
            tls,
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)
        );
    }
    let inner = match error.downcast_ref::<io::Error>() {
        Some(io) => io.get_ref().map(|e| e as &(dyn StdError + 'static)),
        None => error.source(),
    };
    inner.is_some_and(is_plain_http)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use bedrud_webhook_types::EventKind;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::task::JoinHandle;

    use super::*;
    use crate::delivery::tests::{golden, secret};

    /// A loopback server that reads one request and writes `reply`; yields the request's bytes.
    async fn serve_once(reply: Vec<u8>) -> (String, JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let raw = read_request(&mut stream).await;
            // The client may hang up mid-reply (the oversized test): not a failure here.
            let _ = stream.write_all(&reply).await;
            let _ = stream.shutdown().await;
            raw
        });
        (addr.to_string(), task)
    }

    /// Reads a head, then `Content-Length` body bytes (or whatever came first).
    async fn read_request(stream: &mut TcpStream) -> Vec<u8> {
        let mut raw = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).await.unwrap();
            raw.extend_from_slice(&chunk[..n]);
            let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                if n == 0 || !raw.starts_with(b"POST") {
                    return raw; // closed, or not HTTP (a TLS ClientHello)
                }
                continue;
            };
            let head = String::from_utf8_lossy(&raw[..end]).to_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "));
            if n == 0 || raw.len() >= end + 4 + length.map_or(0, |l| l.parse().unwrap()) {
                return raw;
            }
        }
    }

    #[tokio::test]
    async fn the_server_sees_exactly_what_go_writes() {
        let (addr, server) =
            serve_once(b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok".to_vec()).await;
        let (body, signature) = golden("room_created_escaping");
        let delivery = Delivery::from_body(body.clone());
        let response = Sender::new()
            .deliver(&format!("http://{addr}/hook"), &delivery, &secret())
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
        assert_eq!(response.body().as_ref(), b"ok");
        let want = format!(
            "POST /hook HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: Go-http-client/1.1\r\n\
             Content-Length: {}\r\nContent-Type: application/json\r\nX-Bedrud-Event: room.created\r\n\
             X-Bedrud-Signature: {signature}\r\nX-Bedrud-Timestamp: 2026-04-01T12:34:56Z\r\n\r\n{body}",
            body.len()
        );
        assert_eq!(String::from_utf8(server.await.unwrap()).unwrap(), want);
    }

    #[tokio::test]
    async fn https_to_a_plain_http_server_says_so() {
        let (addr, server) =
            serve_once(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec()).await;
        let delivery = Delivery::sample(EventKind::Ping);
        let err = Sender::new()
            .deliver(&format!("https://{addr}/hook"), &delivery, &secret())
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::Connect { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("could not connect to {addr}: {PLAIN_HTTP}")
        );
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let silent = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            read_request(&mut stream).await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let sender = Sender::new().with_timeout(Duration::from_millis(300));
        let started = Instant::now();
        let url = format!("http://{addr}/");
        let err = sender
            .deliver(&url, &Delivery::sample(EventKind::Ping), &secret())
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(
            err.to_string(),
            format!("{addr} did not answer within 300 ms")
        );
        silent.abort();
    }

    #[tokio::test]
    async fn refused_oversized_and_invalid_are_clear_errors() {
        let addr = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let delivery = Delivery::sample(EventKind::Ping);
        let err = Sender::new()
            .deliver(&format!("http://{addr}/"), &delivery, &secret())
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("could not connect to {addr}: ")),
            "{err}"
        );

        let mut reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
            RESPONSE_LIMIT + 1
        )
        .into_bytes();
        reply.resize(reply.len() + RESPONSE_LIMIT + 1, b'x');
        let (addr, server) = serve_once(reply).await;
        let err = Sender::new()
            .deliver(&format!("http://{addr}/"), &delivery, &secret())
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("the response body is over 1048576 bytes"),
            "{err}"
        );
        server.await.unwrap();

        let relative: Request<Bytes> = delivery.request("/hook", &secret()).unwrap();
        assert!(matches!(
            Sender::new().send(relative).await,
            Err(SendError::InvalidUrl)
        ));
        let err = Sender::new()
            .deliver("http://exa mple/", &delivery, &secret())
            .await
            .unwrap_err();
        assert!(matches!(err, SendError::InvalidRequest(_)), "{err:?}");
    }
}
