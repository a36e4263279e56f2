//! Shared harness for the cross-crate tests: each integration served on a
//! loopback port, a raw HTTP/1.1 client that writes any bytes at all, and
//! the shared test vectors ([`vectors`]).
//!
//! Every [`TestServer`] serves, with one verifier:
//!
//! | path | what | answers a genuine delivery |
//! |---|---|---|
//! | [`WEBHOOK_PATH`] | [`Webhook`] (axum, actix-web), `VerifyWebhook` (tower); any method reaches it | 204, the event recorded in [`Seen`] |
//! | [`RAW_PATH`] | [`VerifiedBody`] (axum, actix-web), `VerifyWebhook` (tower) | 200 with the exact verified bytes |
//! | [`GUARDED_PATH`] | `ReplayGuardLayer` around a [`Webhook`] handler | 200 `ran <n>` (its n-th call); 500 with [`FAIL_HEADER`]`: 1` |
//! | [`QUEUE_PATH`] | the durable queue: `Queue::service` (axum, hyper), `queue::actix_enqueue` (actix-web), on a SQLite file in a temporary directory | 202 |

// Test support: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod vectors;

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bedrud_webhook::queue::Queue;
use bedrud_webhook::{Envelope, Event, Secret, Timestamp, VerifiedBody, Verifier, Webhook};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// The secret of the wire format's golden vectors.
pub const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";

/// The path every test server serves with [`Webhook`].
pub const WEBHOOK_PATH: &str = "/webhooks/bedrud";

/// The path served with [`VerifiedBody`] (axum and actix-web; `VerifyWebhook`
/// on tower): the handler echoes the verified bytes.
pub const RAW_PATH: &str = "/webhooks/bedrud/raw";

/// The path behind the replay guard; see [`TestServer`].
pub const GUARDED_PATH: &str = "/webhooks/bedrud/guarded";

/// The durable queue's route: verify, store, 202.
pub const QUEUE_PATH: &str = "/webhooks/bedrud/queue";

/// The unsigned header that makes the handler at [`GUARDED_PATH`] fail (500)
/// when its value is `1`.
pub const FAIL_HEADER: &str = "X-Fail";

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

/// What [`Seen::details`] records of a typed delivery: the event name, and
/// the room name for `room.created` and `room.ended`.
#[must_use]
pub fn describe(envelope: &Envelope) -> String {
    match &envelope.event {
        Event::RoomCreated(room) | Event::RoomEnded(room) => {
            format!("{} {}", envelope.event.name(), room.room_name)
        }
        event => event.name().to_owned(),
    }
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

/// What the handlers were handed: the event names in order (`raw:` in front
/// for the [`VerifiedBody`] route), each typed delivery [`describe`]d, and how
/// many times the handler at [`GUARDED_PATH`] ran.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    events: Arc<Mutex<Vec<String>>>,
    details: Arc<Mutex<Vec<String>>>,
    guarded: Arc<AtomicUsize>,
}

impl Seen {
    fn push(&self, name: String) {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(name);
    }

    fn record(&self, envelope: &Envelope) {
        self.push(envelope.event.name().to_owned());
        self.details
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(describe(envelope));
    }

    fn record_raw(&self, body: &[u8]) {
        let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        self.push(format!("raw:{}", value["event"].as_str().unwrap_or("?")));
    }

    /// The guarded handler's answer for its next call: `ran <n>`, with 500
    /// when the request asked it to fail.
    fn guarded_call(&self, fail: bool) -> (u16, String) {
        let n = self.guarded.fetch_add(1, Ordering::SeqCst) + 1;
        (if fail { 500 } else { 200 }, format!("ran {n}"))
    }

    /// How many times a handler ran (the guarded one not counted).
    #[must_use]
    pub fn count(&self) -> usize {
        self.events().len()
    }

    /// Every event handed to a handler, in order.
    #[must_use]
    pub fn events(&self) -> Vec<String> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every typed delivery handed to the [`WEBHOOK_PATH`] handler, [`describe`]d.
    #[must_use]
    pub fn details(&self) -> Vec<String> {
        self.details
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many times the handler at [`GUARDED_PATH`] ran.
    #[must_use]
    pub fn guarded_calls(&self) -> usize {
        self.guarded.load(Ordering::SeqCst)
    }
}

/// Whether a request asks the guarded handler to fail.
fn fails(headers: &http::HeaderMap) -> bool {
    headers.get(FAIL_HEADER).is_some_and(|v| v == "1")
}

/// A running test server: the routes in the [crate documentation](crate).
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
    /// The queue behind [`QUEUE_PATH`].
    pub queue: Queue,
    queue_dir: PathBuf,
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

/// A new, empty directory for one server's queue.
fn queue_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("bedrud-test-server-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl TestServer {
    /// Serves `integration` with `verifier` on a free loopback port. axum
    /// and tower need a multi-threaded Tokio runtime; actix-web runs on a
    /// thread of its own.
    pub async fn start(integration: Integration, verifier: Verifier) -> TestServer {
        let seen = Seen::default();
        let queue_dir = queue_dir();
        let file = queue_dir.join("deliveries.db");
        let queue = Queue::connect(file.to_str().unwrap()).await.unwrap();
        let (addr, stop) = match integration {
            Integration::Axum => serve_axum(verifier, seen.clone(), queue.clone()).await,
            Integration::Actix => serve_actix(verifier, seen.clone(), queue.clone()),
            Integration::Tower => serve_tower(verifier, seen.clone(), queue.clone()).await,
        };
        TestServer {
            integration,
            addr,
            url: format!("http://{addr}{WEBHOOK_PATH}"),
            seen,
            queue,
            queue_dir,
            stop,
        }
    }

    /// Stops accepting connections (open ones are left to end by themselves)
    /// and removes the queue's directory.
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
        let _ = std::fs::remove_dir_all(&self.queue_dir);
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

async fn serve_axum(verifier: Verifier, seen: Seen, queue: Queue) -> (SocketAddr, Stop) {
    use axum::extract::{FromRef, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::{any, post};
    use bedrud_webhook::replay::ReplayGuardLayer;
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;

    /// A state that holds more than the verifier, as real apps' do.
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
    async fn raw(State(state): State<AppState>, VerifiedBody { body, .. }: VerifiedBody) -> Bytes {
        state.seen.record_raw(&body);
        body
    }
    async fn guarded(
        State(state): State<AppState>,
        headers: HeaderMap,
        Webhook(_): Webhook,
    ) -> (StatusCode, String) {
        let (status, body) = state.seen.guarded_call(fails(&headers));
        (StatusCode::from_u16(status).unwrap(), body)
    }

    let guard = ReplayGuardLayer::new(&verifier);
    let app = axum::Router::new()
        // `any`: the extractor itself answers a method other than POST.
        .route(WEBHOOK_PATH, any(typed))
        .route(RAW_PATH, post(raw))
        .route(GUARDED_PATH, post(guarded).route_layer(guard))
        .route_service(QUEUE_PATH, queue.service(verifier.clone()))
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

fn serve_actix(verifier: Verifier, seen: Seen, queue: Queue) -> (SocketAddr, Stop) {
    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
    use bedrud_webhook::replay::ReplayGuardLayer;

    async fn typed(seen: web::Data<Seen>, Webhook(envelope): Webhook) -> HttpResponse {
        seen.record(&envelope);
        HttpResponse::NoContent().finish()
    }
    async fn raw(seen: web::Data<Seen>, VerifiedBody { body, .. }: VerifiedBody) -> HttpResponse {
        seen.record_raw(&body);
        HttpResponse::Ok().body(body)
    }
    async fn guarded(req: HttpRequest, seen: web::Data<Seen>, Webhook(_): Webhook) -> HttpResponse {
        let fail = req
            .headers()
            .get(FAIL_HEADER)
            .is_some_and(|v| v.as_bytes() == b"1");
        let (status, body) = seen.guarded_call(fail);
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).body(body)
    }

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    // Made once, outside the factory: every worker shares its store.
    let guard = ReplayGuardLayer::new(&verifier);
    // actix-web's server is not `Send`: it runs on a thread and runtime of
    // its own, and only its handle comes back.
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                let guarded = web::resource(GUARDED_PATH)
                    .wrap(guard.clone())
                    .route(web::post().to(guarded));
                // The verifier as itself, the queue in `web::Data`: both are found.
                App::new()
                    .app_data(verifier.clone())
                    .app_data(web::Data::new(seen.clone()))
                    .app_data(web::Data::new(queue.clone()))
                    // `web::route()`: the extractor itself answers a method other than POST.
                    .route(WEBHOOK_PATH, web::route().to(typed))
                    .route(RAW_PATH, web::post().to(raw))
                    .service(guarded)
                    .route(
                        QUEUE_PATH,
                        web::route().to(bedrud_webhook::queue::actix_enqueue),
                    )
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

async fn serve_tower(verifier: Verifier, seen: Seen, queue: Queue) -> (SocketAddr, Stop) {
    use axum::body::Body;
    use bedrud_webhook::replay::ReplayGuardLayer;
    use bedrud_webhook::tower::VerifyWebhookLayer;
    use http::{Request, Response, StatusCode};
    use http_body_util::Full;
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;
    use tower::{Layer, ServiceBuilder, ServiceExt, service_fn};

    // Any path but the two below: the envelope recorded and 204, or at
    // RAW_PATH the verified bytes echoed.
    let recorded = seen.clone();
    let handler = service_fn(move |request: Request<Full<Bytes>>| {
        let seen = recorded.clone();
        async move {
            let raw = request.uri().path() == RAW_PATH;
            let envelope = request.extensions().get::<Envelope>().cloned();
            let body = request.into_body();
            let response = match (envelope, raw) {
                (Some(_), true) => Response::new(body),
                (Some(envelope), false) => {
                    seen.record(&envelope);
                    let mut response = Response::new(Full::default());
                    *response.status_mut() = StatusCode::NO_CONTENT;
                    response
                }
                (None, _) => {
                    let mut response = Response::new(Full::default());
                    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                    response
                }
            };
            Ok::<_, Infallible>(response)
        }
    });
    let verified = VerifyWebhookLayer::new(verifier.clone()).layer(handler);
    let counted = seen.clone();
    let guarded = ServiceBuilder::new()
        .layer(ReplayGuardLayer::new(&verifier))
        .layer(VerifyWebhookLayer::new(verifier.clone()))
        .service(service_fn(move |request: Request<Full<Bytes>>| {
            let (status, body) = counted.guarded_call(fails(request.headers()));
            let mut response = Response::new(body);
            *response.status_mut() = StatusCode::from_u16(status).unwrap();
            std::future::ready(Ok::<_, Infallible>(response))
        }));
    let enqueue = queue.service(verifier);
    let app = service_fn(move |request: Request<hyper::body::Incoming>| {
        let (verified, guarded, enqueue) = (verified.clone(), guarded.clone(), enqueue.clone());
        async move {
            let response = match request.uri().path() {
                GUARDED_PATH => guarded.oneshot(request).await?.map(Body::new),
                QUEUE_PATH => enqueue.oneshot(request).await?.map(Body::new),
                _ => verified.oneshot(request).await?.map(Body::new),
            };
            Ok::<_, Infallible>(response)
        }
    });
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

/// `request` (from [`head`], [`post`] or [`post_to`]) with `method` instead of `POST`.
#[must_use]
pub fn with_method(method: &str, request: &[u8]) -> Vec<u8> {
    let rest = request.strip_prefix(b"POST ".as_slice()).unwrap();
    [format!("{method} ").as_bytes(), rest].concat()
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
