//! Sending a delivery the way Bedrud's dispatcher does.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bedrud_webhook_types::Envelope;
use bedrud_webhook_verify::Secret;
use bytes::{Bytes, BytesMut};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::delivery::check_uri;
use super::error::root_reason;
use super::{Delivery, SendError};

/// Bedrud's client timeout: a delivery not answered in 10 seconds failed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Delivers webhooks as Bedrud does: one attempt, a 10-second timeout, and
/// the status code and latency as the result (what the admin **Test** button
/// shows). The response body is never read.
///
/// Speaks `http://` and `https://` (rustls with the *ring* provider and
/// Mozilla's roots), HTTP/1.1 with header names in Go's canonical case.
/// Cloning is cheap and shares the connection pool; it needs a Tokio runtime.
#[derive(Clone)]
pub struct Sender {
    /// `Err` only if rustls refused the configuration, which the *ring*
    /// provider never does; kept as a value so that building a sender
    /// cannot panic and the reason surfaces on the first send.
    client: Result<HttpsClient, Arc<str>>,
    timeout: Duration,
}

/// How a delivery was answered: what Bedrud logs and the admin sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryReport {
    /// The response's status code.
    pub status: StatusCode,
    /// From the start of the request to the response's status line and
    /// headers, connecting included: how Go measures it around `client.Do`.
    pub latency: Duration,
}

impl DeliveryReport {
    /// Whether Bedrud counts the delivery as a success: any 2xx.
    #[must_use]
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }
}

impl Sender {
    /// A sender with Bedrud's 10-second timeout ([`DEFAULT_TIMEOUT`]).
    #[must_use]
    pub fn new() -> Self {
        // The *ring* provider is named rather than left to rustls' process
        // default, which is ambiguous (and panics) when another crate in the
        // build enables aws-lc-rs too.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map(|builder| {
                let connector = builder.https_or_http().enable_http1().build();
                Client::builder(TokioExecutor::new())
                    .pool_timer(TokioTimer::new())
                    // Go writes canonical names (`X-Bedrud-Signature`); a
                    // receiver that compares case-sensitively sees the same.
                    .http1_title_case_headers(true)
                    .build(connector)
            })
            .map_err(|e| Arc::from(e.to_string()));
        Self {
            client,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Gives up on a delivery not answered within `timeout`, instead of
    /// Bedrud's 10 seconds.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long a delivery may take before it fails.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `request` once and reports how it was answered. The response
    /// body is dropped unread, as Bedrud ignores it.
    ///
    /// # Errors
    ///
    /// A [`SendError`] when the request's URI is not an absolute http(s)
    /// URL, no connection could be made, no answer came within the timeout,
    /// or the exchange broke off. An answer with any status is a report.
    pub async fn send(&self, request: Request<Bytes>) -> Result<DeliveryReport, SendError> {
        self.exchange(request).await.map(|(report, _, _)| report)
    }

    /// Like [`Sender::send`], and also reads the first `limit` bytes of the
    /// response body, within the same timeout: for tools that show what the
    /// receiver answered (a rejection's reason, say). Bedrud itself never
    /// reads it.
    ///
    /// The body is cut at `limit` bytes, and whatever arrived is returned if
    /// the peer stops sending, fails, or the timeout runs out half-way: the
    /// status has arrived, so the delivery's outcome is known.
    ///
    /// # Errors
    ///
    /// As [`Sender::send`].
    pub async fn send_and_read(
        &self,
        request: Request<Bytes>,
        limit: usize,
    ) -> Result<(DeliveryReport, Bytes), SendError> {
        let (report, body, deadline) = self.exchange(request).await?;
        let mut body = body;
        let mut read = BytesMut::new();
        while read.len() < limit {
            let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
                Ok(Some(Ok(frame))) => frame,
                // The end, a broken body, or no time left: keep what came.
                Ok(Some(Err(_)) | None) | Err(_) => break,
            };
            if let Ok(data) = frame.into_data() {
                let room = limit - read.len();
                read.extend_from_slice(&data[..data.len().min(room)]);
            }
        }
        Ok((report, read.freeze()))
    }

    /// One attempt: the report, the unread body, and when the timeout ends.
    async fn exchange(
        &self,
        request: Request<Bytes>,
    ) -> Result<(DeliveryReport, Incoming, tokio::time::Instant), SendError> {
        check_uri(request.uri())?;
        let authority = request
            .uri()
            .authority()
            .map_or_else(String::new, |a| a.as_str().to_owned());
        let client = self
            .client
            .as_ref()
            .map_err(|reason| SendError::TlsUnavailable {
                reason: reason.to_string(),
            })?;

        let started = Instant::now();
        let deadline = tokio::time::Instant::from_std(started) + self.timeout;
        let response = tokio::time::timeout_at(deadline, client.request(request.map(Full::new)))
            .await
            .map_err(|_| SendError::TimedOut {
                authority: authority.clone(),
                after: self.timeout,
            })?;
        let latency = started.elapsed();
        match response {
            Ok(response) => {
                let report = DeliveryReport {
                    status: response.status(),
                    latency,
                };
                Ok((report, response.into_body(), deadline))
            }
            Err(error) => {
                let reason = root_reason(&error);
                Err(if error.is_connect() {
                    SendError::Connect {
                        authority,
                        reason,
                        source: Box::new(error),
                    }
                } else {
                    SendError::Exchange {
                        authority,
                        reason,
                        source: Box::new(error),
                    }
                })
            }
        }
    }

    /// Signs `envelope` with `secret` and delivers it to `url`, exactly as
    /// Bedrud would.
    ///
    /// # Errors
    ///
    /// As [`Sender::send`], and [`SendError::InvalidUrl`] for a URL that is
    /// not absolute http(s).
    pub async fn deliver(
        &self,
        url: &str,
        secret: &Secret,
        envelope: &Envelope,
    ) -> Result<DeliveryReport, SendError> {
        self.send(Delivery::new(envelope).request(url, secret)?)
            .await
    }
}

impl Default for Sender {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("timeout", &self.timeout)
            .field("tls", &self.client.is_ok())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bedrud_webhook_types::{Event, EventKind, Timestamp};
    use bedrud_webhook_verify::Verifier;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio::task::JoinHandle;

    use crate::test_support::{ROOM_ENDED, ROOM_ENDED_SIG, secret};

    const ROOM_CREATED: &str = "{\"data\":{\"roomId\":\"r1\",\"roomName\":\"\\u003cb\\u003eQ\\u0026A\\u003c/b\\u003e — café 🎥 \\u2028\",\"userId\":\"u1\"},\"event\":\"room.created\",\"timestamp\":\"2026-04-01T12:34:56Z\"}";
    const ROOM_CREATED_SIG: &str =
        "sha256=b8a0d661a77397cb6b13ba923aa7f2200538f60b58d749223b86ba1e115efed1";

    /// A server that takes one request, keeps its raw bytes, and answers
    /// with `reply` verbatim.
    async fn one_shot(reply: &'static str) -> (String, JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhooks/bedrud", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let raw = read_request(&mut stream).await;
            stream.write_all(reply.as_bytes()).await.unwrap();
            stream.shutdown().await.unwrap();
            raw
        });
        (url, task)
    }

    /// Reads one request: the head, then `Content-Length` body bytes.
    async fn read_request(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
        let mut raw = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed mid-request");
            raw.extend_from_slice(&chunk[..n]);
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8(raw[..end].to_vec()).unwrap();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .unwrap()
                    .parse()
                    .unwrap();
                if raw.len() >= end + 4 + length {
                    return raw;
                }
            }
        }
    }

    fn split(raw: &[u8]) -> (String, Vec<u8>) {
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        (
            String::from_utf8(raw[..end + 4].to_vec()).unwrap(),
            raw[end + 4..].to_vec(),
        )
    }

    #[tokio::test]
    async fn the_wire_carries_exactly_what_go_writes() {
        let (url, server) = one_shot("HTTP/1.1 204 No Content\r\n\r\n").await;
        let request = Delivery::from_body(ROOM_ENDED)
            .request(&url, &secret())
            .unwrap();
        let report = Sender::new().send(request).await.unwrap();
        assert_eq!(report.status, StatusCode::NO_CONTENT);
        assert!(report.is_success());

        let (head, body) = split(&server.await.unwrap());
        let host = url
            .trim_start_matches("http://")
            .trim_end_matches("/webhooks/bedrud");
        let want = format!(
            "POST /webhooks/bedrud HTTP/1.1\r\n\
             Host: {host}\r\n\
             User-Agent: Go-http-client/1.1\r\n\
             Content-Length: {}\r\n\
             Content-Type: application/json\r\n\
             X-Bedrud-Event: room.ended\r\n\
             X-Bedrud-Signature: {ROOM_ENDED_SIG}\r\n\
             X-Bedrud-Timestamp: 2026-04-01T12:34:56Z\r\n\
             Accept-Encoding: gzip\r\n\r\n",
            ROOM_ENDED.len()
        );
        assert_eq!(head, want);
        assert_eq!(body, ROOM_ENDED.as_bytes());
    }

    #[tokio::test]
    async fn the_golden_vector_with_escapes_and_emoji_arrives_byte_for_byte() {
        let (url, server) = one_shot("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
        let request = Delivery::from_body(ROOM_CREATED)
            .request(&url, &secret())
            .unwrap();
        Sender::new().send(request).await.unwrap();
        let (head, body) = split(&server.await.unwrap());
        assert_eq!(body, ROOM_CREATED.as_bytes());
        assert!(
            head.contains(&format!("X-Bedrud-Signature: {ROOM_CREATED_SIG}\r\n")),
            "{head}"
        );
    }

    #[tokio::test]
    async fn deliver_sends_a_body_the_verifier_accepts() {
        let (url, server) = one_shot("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").await;
        let envelope = Envelope::new(
            Event::sample(EventKind::RecordingCompleted),
            Timestamp::now(),
        );
        let report = Sender::new()
            .deliver(&url, &secret(), &envelope)
            .await
            .unwrap();
        assert_eq!(report.status, StatusCode::OK);

        let (head, body) = split(&server.await.unwrap());
        assert_eq!(body, envelope.to_bedrud_json());
        let mut headers = http::HeaderMap::new();
        for line in head.lines().skip(1).filter(|l| !l.is_empty()) {
            let (name, value) = line.split_once(": ").unwrap();
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        let verified = Verifier::new(secret()).verify(&headers, &body).unwrap();
        assert_eq!(verified.envelope.event, "recording.completed");
    }

    #[tokio::test]
    async fn an_error_status_is_a_report_not_an_error() {
        let (url, server) =
            one_shot("HTTP/1.1 401 Unauthorized\r\nContent-Length: 9\r\n\r\nforbidden").await;
        let request = Delivery::from_body(ROOM_ENDED)
            .request(&url, &secret())
            .unwrap();
        let report = Sender::new().send(request).await.unwrap();
        assert_eq!(report.status, StatusCode::UNAUTHORIZED);
        assert!(!report.is_success());
        server.await.unwrap();
    }

    #[tokio::test]
    async fn send_and_read_returns_the_answer_cut_at_the_limit() {
        let (url, server) =
            one_shot("HTTP/1.1 401 Unauthorized\r\nContent-Length: 18\r\n\r\nsignature mismatch")
                .await;
        let request = Delivery::from_body(ROOM_ENDED)
            .request(&url, &secret())
            .unwrap();
        let (report, body) = Sender::new().send_and_read(request, 9).await.unwrap();
        assert_eq!(report.status, StatusCode::UNAUTHORIZED);
        assert_eq!(body.as_ref(), b"signature");
        server.await.unwrap();

        let (url, server) = one_shot("HTTP/1.1 204 No Content\r\n\r\n").await;
        let request = Delivery::from_body(ROOM_ENDED)
            .request(&url, &secret())
            .unwrap();
        let (report, body) = Sender::new().send_and_read(request, 1024).await.unwrap();
        assert_eq!(report.status, StatusCode::NO_CONTENT);
        assert!(body.is_empty());
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_body_that_never_ends_is_cut_by_the_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let _ = read_request(&mut stream).await;
            stream
                .write_all(
                    b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 100\r\n\r\npartial",
                )
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let sender = Sender::new().with_timeout(Duration::from_millis(300));
        let request = Delivery::from_body(ROOM_ENDED)
            .request(&url, &secret())
            .unwrap();
        let (report, body) = sender.send_and_read(request, 1024).await.unwrap();
        assert_eq!(report.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body.as_ref(), b"partial");
        server.abort();
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        // Accepts and reads, but never answers; holds the socket open until
        // the test ends.
        let silent = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let _ = read_request(&mut stream).await;
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(stream);
        });
        let sender = Sender::new().with_timeout(Duration::from_millis(300));
        assert_eq!(sender.timeout(), Duration::from_millis(300));
        let request = Delivery::from_body(ROOM_ENDED)
            .request(&url, &secret())
            .unwrap();
        let started = Instant::now();
        let err = sender.send(request).await.unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(err, SendError::TimedOut { after, .. } if after == Duration::from_millis(300)),
            "{err:?}"
        );
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(5),
            "{took:?}"
        );
        assert!(err.to_string().starts_with("timed out: "), "{err}");
        assert!(err.to_string().contains("300 ms"), "{err}");
        silent.abort();
    }

    #[test]
    fn the_default_timeout_is_bedruds() {
        assert_eq!(DEFAULT_TIMEOUT, Duration::from_secs(10));
        assert_eq!(Sender::default().timeout(), Duration::from_secs(10));
    }

    #[tokio::test]
    async fn nothing_listening_is_a_connect_error_naming_the_host() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let request = Delivery::from_body(ROOM_ENDED)
            .request(&format!("http://{addr}/hook"), &secret())
            .unwrap();
        let err = Sender::new().send(request).await.unwrap_err();
        assert!(matches!(err, SendError::Connect { .. }), "{err:?}");
        let shown = err.to_string();
        assert!(
            shown.starts_with(&format!("connect failed: could not connect to {addr}: ")),
            "{shown}"
        );
        assert!(std::error::Error::source(&err).is_some());
    }

    #[tokio::test]
    async fn https_to_a_plaintext_server_fails_the_handshake_cleanly() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        });
        let request = Delivery::from_body(ROOM_ENDED)
            .request(&format!("https://{addr}/hook"), &secret())
            .unwrap();
        let err = Sender::new().send(request).await.unwrap_err();
        assert!(matches!(err, SendError::Connect { .. }), "{err:?}");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_reply_that_is_not_http_is_an_exchange_error() {
        let (url, server) = one_shot("SMTP ready\r\n\r\n").await;
        let request = Delivery::from_body(ROOM_ENDED)
            .request(&url, &secret())
            .unwrap();
        let err = Sender::new().send(request).await.unwrap_err();
        assert!(matches!(err, SendError::Exchange { .. }), "{err:?}");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn send_refuses_a_relative_uri_before_connecting() {
        let request = Request::post("/webhooks/bedrud")
            .body(Bytes::new())
            .unwrap();
        let err = Sender::new().send(request).await.unwrap_err();
        assert!(matches!(err, SendError::InvalidUrl { .. }), "{err:?}");
    }

    #[test]
    fn debug_is_short_and_clone_shares_the_settings() {
        let sender = Sender::new().with_timeout(Duration::from_secs(3));
        let copy = sender.clone();
        assert_eq!(copy.timeout(), Duration::from_secs(3));
        assert_eq!(format!("{copy:?}"), "Sender { timeout: 3s, tls: true }");
    }
}
