//! Shared harness for the cross-crate tests: each integration served on a
//! loopback port, a raw HTTP/1.1 client that writes any bytes at all, and
//! the shared test vectors ([`vectors`]).

// Test support: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod vectors;

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bedrud_webhook::{Envelope, Secret, Timestamp, VerifiedBody, Verifier, Webhook};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// The secret of the wire format's golden vectors.
pub const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";

/// The path every test server serves with [`Webhook`].
pub const WEBHOOK_PATH: &str = "/webhooks/bedrud";

/// The path served with [`VerifiedBody`] (axum and actix-web).
pub const RAW_PATH: &str = "/webhooks/bedrud/raw";

/// A well-formed signature that matches nothing.
pub const FORGED: &str = "sha256=0000000000000000000000000000000000000000000000000000000000000000";

/// How long any read of the raw client may wait.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// [`SECRET`] as a [`Secret`].
#[must_use]
pub fn secret() -> Secret {
    Secret::new(SECRET).unwrap()
}

/// A verifier for [`SECRET`] with the defaults.
#[must_use]
pub fn verifier() -> Verifier {
    Verifier::new(secret())
}

/// A genuine delivery of an unknown event called `name` (every integration
/// hands those on), signed now with `verifier`'s current secret: the body
/// and its `X-Bedrud-Signature` value.
#[must_use]
pub fn genuine(verifier: &Verifier, name: &str) -> (Vec<u8>, String) {
    let body = serde_json::json!({
        "data": {},
        "event": name,
        "timestamp": Timestamp::now().to_string(),
    });
    let body = serde_json::to_vec(&body).unwrap();
    let signature = verifier.sign(&body);
    (body, signature)
}

/// The three integrations, each served the way an integrator would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integration {
    /// axum with the [`Webhook`] and [`VerifiedBody`] extractors.
    Axum,
    /// actix-web with the same extractors.
    Actix,
    /// Plain hyper with `bedrud_webhook::tower::VerifyWebhookLayer`.
    Tower,
}

impl Integration {
    /// Every integration.
    pub const ALL: [Integration; 3] = [Integration::Axum, Integration::Actix, Integration::Tower];
}

impl fmt::Display for Integration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Integration::Axum => "axum",
            Integration::Actix => "actix-web",
            Integration::Tower => "tower",
        })
    }
}

/// The event names the handlers were handed, in order; `raw:` in front for
/// the [`VerifiedBody`] route.
#[derive(Debug, Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn push(&self, name: String) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(name);
    }

    fn record(&self, envelope: &Envelope) {
        self.push(envelope.event.name().to_owned());
    }

    fn record_raw(&self, body: &[u8]) {
        let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        self.push(format!("raw:{}", value["event"].as_str().unwrap_or("?")));
    }

    /// How many times a handler ran.
    #[must_use]
    pub fn count(&self) -> usize {
        self.events().len()
    }

    /// Every event handed to a handler, in order.
    #[must_use]
    pub fn events(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A running test server; its handlers record the event and answer 204.
#[derive(Debug)]
pub struct TestServer {
    /// Which integration serves.
    pub integration: Integration,
    /// Where it listens.
    pub addr: SocketAddr,
    /// `http://{addr}/webhooks/bedrud`.
    pub url: String,
    /// What its handlers saw.
    pub seen: Seen,
    stop: Stop,
}

enum Stop {
    Tokio(oneshot::Sender<()>),
    Actix(actix_web::dev::ServerHandle, std::thread::JoinHandle<()>),
}

impl fmt::Debug for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Stop")
    }
}

impl TestServer {
    /// Serves `integration` with `verifier` on a free loopback port. axum
    /// and tower need a multi-threaded Tokio runtime; actix-web runs on a
    /// thread of its own.
    pub async fn start(integration: Integration, verifier: Verifier) -> TestServer {
        let seen = Seen::default();
        let (addr, stop) = match integration {
            Integration::Axum => serve_axum(verifier, seen.clone()).await,
            Integration::Actix => serve_actix(verifier, seen.clone()),
            Integration::Tower => serve_tower(verifier, seen.clone()).await,
        };
        TestServer {
            integration,
            addr,
            url: format!("http://{addr}{WEBHOOK_PATH}"),
            seen,
            stop,
        }
    }

    /// Stops accepting connections (open ones are left to end by themselves).
    pub async fn stop(self) {
        match self.stop {
            Stop::Tokio(stop) => {
                let _ = stop.send(());
            }
            Stop::Actix(handle, thread) => {
                handle.stop(false).await;
                tokio::task::spawn_blocking(move || thread.join())
                    .await
                    .unwrap()
                    .unwrap();
            }
        }
    }
}

/// Accepts connections on `listener` and hands each to `serve` until `stop`.
fn accept_loop<F, Fut>(listener: tokio::net::TcpListener, serve: F) -> oneshot::Sender<()>
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (stop, mut stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    if let Ok((stream, _)) = accepted {
                        tokio::spawn(serve(stream));
                    }
                }
                _ = &mut stopped => break,
            }
        }
    });
    stop
}

async fn serve_axum(verifier: Verifier, seen: Seen) -> (SocketAddr, Stop) {
    use axum::extract::{FromRef, State};
    use axum::http::StatusCode;
    use axum::routing::post;
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;

    #[derive(Clone)]
    struct AppState {
        verifier: Verifier,
        seen: Seen,
    }
    impl FromRef<AppState> for Verifier {
        fn from_ref(state: &AppState) -> Verifier {
            state.verifier.clone()
        }
    }

    async fn typed(State(state): State<AppState>, Webhook(envelope): Webhook) -> StatusCode {
        state.seen.record(&envelope);
        StatusCode::NO_CONTENT
    }
    async fn raw(
        State(state): State<AppState>,
        VerifiedBody { body, .. }: VerifiedBody,
    ) -> StatusCode {
        state.seen.record_raw(&body);
        StatusCode::NO_CONTENT
    }

    let app = axum::Router::new()
        .route(WEBHOOK_PATH, post(typed))
        .route(RAW_PATH, post(raw))
        .with_state(AppState { verifier, seen });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = accept_loop(listener, move |stream| {
        let service = TowerToHyperService::new(app.clone());
        async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        }
    });
    (addr, Stop::Tokio(stop))
}

fn serve_actix(verifier: Verifier, seen: Seen) -> (SocketAddr, Stop) {
    use actix_web::{App, HttpResponse, HttpServer, web};

    async fn typed(seen: web::Data<Seen>, Webhook(envelope): Webhook) -> HttpResponse {
        seen.record(&envelope);
        HttpResponse::NoContent().finish()
    }
    async fn raw(seen: web::Data<Seen>, VerifiedBody { body, .. }: VerifiedBody) -> HttpResponse {
        seen.record_raw(&body);
        HttpResponse::NoContent().finish()
    }

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    // actix-web's server is not `Send`: it runs on a thread and runtime of
    // its own, and only its handle comes back.
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(verifier.clone())
                    .app_data(web::Data::new(seen.clone()))
                    .route(WEBHOOK_PATH, web::post().to(typed))
                    .route(RAW_PATH, web::post().to(raw))
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run();
            handle_tx.send(server.handle()).unwrap();
            server.await.unwrap();
        });
    });
    let handle = handle_rx.recv_timeout(READ_TIMEOUT).unwrap();
    (addr, Stop::Actix(handle, thread))
}

async fn serve_tower(verifier: Verifier, seen: Seen) -> (SocketAddr, Stop) {
    use bedrud_webhook::tower::VerifyWebhookLayer;
    use http::{Request, Response, StatusCode};
    use http_body_util::Full;
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;
    use tower::{Layer, service_fn};

    let handler = service_fn(move |request: Request<Full<Bytes>>| {
        let seen = seen.clone();
        async move {
            let mut response = Response::new(Full::<Bytes>::default());
            *response.status_mut() = match request.extensions().get::<Envelope>() {
                Some(envelope) => {
                    seen.record(envelope);
                    StatusCode::NO_CONTENT
                }
                None => StatusCode::INTERNAL_SERVER_ERROR,
            };
            Ok::<_, Infallible>(response)
        }
    });
    let service = VerifyWebhookLayer::new(verifier).layer(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = accept_loop(listener, move |stream| {
        let service = TowerToHyperService::new(service.clone());
        async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        }
    });
    (addr, Stop::Tokio(stop))
}

/// A request head written byte for byte: `POST {path} HTTP/1.1`, `Host`,
/// then each header as `name: value` (any bytes), then the blank line.
#[must_use]
pub fn head(addr: SocketAddr, path: &str, headers: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A whole POST to [`WEBHOOK_PATH`] with `Content-Length`, `headers` and `body`.
#[must_use]
pub fn post(addr: SocketAddr, headers: &[(&[u8], &[u8])], body: &[u8]) -> Vec<u8> {
    post_to(addr, WEBHOOK_PATH, headers, body)
}

/// [`post`] to another path.
#[must_use]
pub fn post_to(addr: SocketAddr, path: &str, headers: &[(&[u8], &[u8])], body: &[u8]) -> Vec<u8> {
    let length = body.len().to_string();
    let mut all: Vec<(&[u8], &[u8])> = vec![(b"Content-Length", length.as_bytes())];
    all.extend_from_slice(headers);
    let mut out = head(addr, path, &all);
    out.extend_from_slice(body);
    out
}

/// `body` in chunked framing, one chunk per piece.
#[must_use]
pub fn chunked(pieces: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in pieces.iter().filter(|p| !p.is_empty()) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// A response as the raw client read it.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The header lines, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Bytes,
}

impl RawResponse {
    /// The first value of header `name`, in any case.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the server said it closes the connection.
    #[must_use]
    pub fn says_close(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// Nothing arrived in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut;

/// One client connection, kept open across requests.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    /// Bytes read past the end of the last response.
    pending: Vec<u8>,
}

impl Conn {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> Conn {
        Conn {
            stream: TcpStream::connect(addr).await.unwrap(),
            pending: Vec::new(),
        }
    }

    /// Writes `bytes`; an error when the server has closed or reset.
    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Reads more into `pending`: `Ok(false)` at the end of the stream (a
    /// reset counts as the end), `Err` when nothing came within `within`.
    async fn fill_within(&mut self, within: Duration) -> Result<bool, TimedOut> {
        let mut buf = [0u8; 16 * 1024];
        match tokio::time::timeout(within, self.stream.read(&mut buf)).await {
            Err(_) => Err(TimedOut),
            Ok(Ok(0) | Err(_)) => Ok(false),
            Ok(Ok(n)) => {
                self.pending.extend_from_slice(&buf[..n]);
                Ok(true)
            }
        }
    }

    async fn fill(&mut self) -> bool {
        self.fill_within(READ_TIMEOUT)
            .await
            .expect("no bytes from the server within the read timeout")
    }

    /// Reads one whole response; `None` when the server closed the
    /// connection (or reset it) before a byte of one.
    ///
    /// # Panics
    ///
    /// When nothing arrives within [`READ_TIMEOUT`].
    pub async fn response(&mut self) -> Option<RawResponse> {
        self.response_within(READ_TIMEOUT)
            .await
            .expect("no response within the read timeout")
    }

    /// [`Conn::response`], or `Err` when no response head arrives within `within`.
    pub async fn response_within(
        &mut self,
        within: Duration,
    ) -> Result<Option<RawResponse>, TimedOut> {
        let (status, headers, head_len) = loop {
            let mut slots = [httparse::EMPTY_HEADER; 64];
            let mut parsed = httparse::Response::new(&mut slots);
            if let httparse::Status::Complete(len) = parsed.parse(&self.pending).unwrap() {
                let headers: Vec<(String, String)> = parsed
                    .headers
                    .iter()
                    .map(|h| {
                        let value = String::from_utf8_lossy(h.value).into_owned();
                        (h.name.to_owned(), value)
                    })
                    .collect();
                break (parsed.code.unwrap(), headers, len);
            }
            if !self.fill_within(within).await? {
                assert!(
                    self.pending.is_empty(),
                    "the connection closed inside a response head: {:?}",
                    String::from_utf8_lossy(&self.pending)
                );
                return Ok(None);
            }
        };
        self.pending.drain(..head_len);
        let mut response = RawResponse {
            status,
            headers,
            body: Bytes::new(),
        };
        let length = response
            .header("content-length")
            .map(|v| v.parse().unwrap());
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        response.body = if chunked {
            self.read_chunked().await
        } else if let Some(length) = length {
            self.take(length).await
        } else if status == 204 || status == 304 || status < 200 {
            Bytes::new()
        } else {
            while self.fill().await {}
            Bytes::from(std::mem::take(&mut self.pending))
        };
        Ok(Some(response))
    }

    async fn take(&mut self, n: usize) -> Bytes {
        while self.pending.len() < n {
            assert!(self.fill().await, "a response body cut short");
        }
        self.pending.drain(..n).collect()
    }

    async fn read_chunked(&mut self) -> Bytes {
        let mut body = Vec::new();
        loop {
            let (start, size) = loop {
                match httparse::parse_chunk_size(&self.pending).unwrap() {
                    httparse::Status::Complete(found) => break found,
                    httparse::Status::Partial => assert!(self.fill().await, "a chunk cut short"),
                }
            };
            self.pending.drain(..start);
            let size = usize::try_from(size).unwrap();
            body.extend_from_slice(&self.take(size).await);
            let _crlf = self.take(2).await;
            if size == 0 {
                return Bytes::from(body);
            }
        }
    }

    /// Whether the server closes (or resets) the connection within `within`
    /// without sending anything more.
    pub async fn closes_within(&mut self, within: Duration) -> bool {
        let mut buf = [0u8; 1];
        matches!(
            tokio::time::timeout(within, self.stream.read(&mut buf)).await,
            Ok(Ok(0) | Err(_))
        )
    }
}

/// Sends `request` on a fresh connection and returns the response, or
/// `None` when the server closed the connection without one. A server may
/// answer before it has read everything: a failed write is not an error.
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> Option<RawResponse> {
    let mut conn = Conn::connect(addr).await;
    let _ = conn.write(request).await;
    conn.response().await
}

/// [`exchange`], returning the status or 0 when there was no response.
pub async fn status_of(addr: SocketAddr, request: &[u8]) -> u16 {
    exchange(addr, request).await.map_or(0, |r| r.status)
}

/// How a server dealt with a large body, from [`stream_large`].
#[derive(Debug, Clone, Copy)]
pub struct LargeOutcome {
    /// The response's status, if one arrived.
    pub status: Option<u16>,
    /// How long after the request started the status line arrived.
    pub answered_after: Duration,
    /// Body bytes handed to the kernel before the writer stopped.
    pub sent: u64,
    /// Whether the writer stopped on an error (the server closed), not at the end.
    pub cut_off: bool,
}

/// A body piece written over and over by [`stream_large`], so that the
/// client's own memory stays flat.
static PIECE: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// POSTs a body of `total` bytes (with `Content-Length`, or chunked) from a
/// socket with a 64 KiB send buffer, reading the answer while writing, and
/// writing on after it until the server closes or the body is all sent.
pub async fn stream_large(
    addr: SocketAddr,
    headers: &[(&[u8], &[u8])],
    total: u64,
    chunked: bool,
) -> LargeOutcome {
    use std::sync::atomic::{AtomicU64, Ordering};

    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(64 * 1024).unwrap();
    let (mut reader, mut writer) = socket.connect(addr).await.unwrap().into_split();
    let length = total.to_string();
    let mut all: Vec<(&[u8], &[u8])> = if chunked {
        vec![(b"Transfer-Encoding", b"chunked")]
    } else {
        vec![(b"Content-Length", length.as_bytes())]
    };
    all.extend_from_slice(headers);
    let request_head = head(addr, WEBHOOK_PATH, &all);

    let sent = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&sent);
    let started = std::time::Instant::now();
    let write = tokio::spawn(async move {
        writer.write_all(&request_head).await?;
        let mut left = total;
        while left > 0 {
            let n = PIECE.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            if chunked {
                writer.write_all(format!("{n:x}\r\n").as_bytes()).await?;
            }
            writer.write_all(&PIECE[..n]).await?;
            if chunked {
                writer.write_all(b"\r\n").await?;
            }
            counter.fetch_add(n as u64, Ordering::SeqCst);
            left -= n as u64;
        }
        if chunked {
            writer.write_all(b"0\r\n\r\n").await?;
        }
        writer.flush().await?;
        Ok::<_, std::io::Error>(writer)
    });

    let mut response = Vec::new();
    let status = tokio::time::timeout(Duration::from_secs(30), async {
        let mut buf = [0u8; 1024];
        loop {
            let mut slots = [httparse::EMPTY_HEADER; 32];
            let mut parsed = httparse::Response::new(&mut slots);
            if let Ok(httparse::Status::Complete(_)) = parsed.parse(&response) {
                return parsed.code;
            }
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => response.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()
    .flatten();
    let answered_after = started.elapsed();
    let written = tokio::time::timeout(Duration::from_secs(30), write).await;
    let cut_off = matches!(written, Ok(Ok(Err(_))));
    LargeOutcome {
        status,
        answered_after,
        sent: sent.load(Ordering::SeqCst),
        cut_off,
    }
}
