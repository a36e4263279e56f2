//! Shared harness for the cross-crate tests: each integration served for
//! real on a loopback port, a record of what its handler saw, and a raw
//! HTTP/1.1 client for the requests no well-behaved client sends (chunked
//! bodies, a `Content-Length` with no body behind it).

pub mod adversary;
pub mod vectors;

/// The repository's `README.md`, whose Rust blocks (`rust,no_run`) are
/// compiled as doc-tests of this crate.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct RootReadmeDoctests;

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context as _, bail};
use bedrud_webhook::tower::{RequestBody, VerifyWebhookLayer};
use bedrud_webhook::{Envelope, Secret, Verifier, Webhook};
use bytes::Bytes;
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

/// The secret of the wire format's golden vectors.
pub const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";

/// The path every test server serves.
pub const WEBHOOK_PATH: &str = "/webhooks/bedrud";

/// [`SECRET`] as a [`Secret`].
///
/// # Errors
///
/// Never in practice: the constant is not empty.
pub fn secret() -> anyhow::Result<Secret> {
    Ok(Secret::new(SECRET)?)
}

/// A verifier for [`SECRET`] with the defaults every integration ships
/// with: 256 KiB body limit, ±300 s tolerance.
///
/// # Errors
///
/// Never in practice: the constant is not empty.
pub fn verifier() -> anyhow::Result<Verifier> {
    Ok(Verifier::new(secret()?))
}

/// The three integrations, each served the way an integrator would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integration {
    /// axum with the [`Webhook`] extractor.
    Axum,
    /// actix-web with the [`Webhook`] extractor.
    Actix,
    /// Plain hyper 1 with [`VerifyWebhookLayer`].
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
            Integration::Tower => "tower (hyper)",
        })
    }
}

/// What a test server's handler saw: the event name of every delivery it
/// was handed, in order.
#[derive(Debug, Clone, Default)]
pub struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn record(&self, envelope: &Envelope) {
        // A poisoned lock only means another handler panicked; the list
        // itself is still sound.
        let mut events = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        events.push(envelope.event.name().to_owned());
    }

    /// How many times the handler ran.
    #[must_use]
    pub fn count(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// The event names the handler was handed, in order.
    #[must_use]
    pub fn events(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A running test server.
#[derive(Debug)]
pub struct TestServer {
    /// Which integration serves.
    pub integration: Integration,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The webhook's full URL, such as `http://127.0.0.1:40123/webhooks/bedrud`.
    pub url: String,
    /// What its handler saw.
    pub seen: Seen,
    shutdown: Shutdown,
}

enum Shutdown {
    Tokio(oneshot::Sender<()>, tokio::task::JoinHandle<()>),
    Actix(actix_web::dev::ServerHandle, std::thread::JoinHandle<()>),
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Shutdown::Tokio(..) => "Shutdown::Tokio",
            Shutdown::Actix(..) => "Shutdown::Actix",
        })
    }
}

impl TestServer {
    /// Serves `integration` with `verifier` on a free loopback port. The
    /// handler records the delivery and answers 204.
    ///
    /// Needs a multi-threaded Tokio runtime for axum and tower; actix-web
    /// runs on a thread (and runtime) of its own.
    ///
    /// # Errors
    ///
    /// When no port can be bound or the server cannot start.
    pub async fn start(integration: Integration, verifier: Verifier) -> anyhow::Result<Self> {
        let seen = Seen::default();
        let (addr, shutdown) = match integration {
            Integration::Axum => serve_axum(verifier, seen.clone()).await?,
            Integration::Actix => serve_actix(verifier, seen.clone())?,
            Integration::Tower => serve_tower(verifier, seen.clone()).await?,
        };
        Ok(Self {
            integration,
            addr,
            url: format!("http://{addr}{WEBHOOK_PATH}"),
            seen,
            shutdown,
        })
    }

    /// Stops the server and waits for it to finish.
    ///
    /// # Errors
    ///
    /// When the server's task or thread panicked.
    pub async fn stop(self) -> anyhow::Result<()> {
        match self.shutdown {
            Shutdown::Tokio(stop, task) => {
                // The server may have stopped on its own already; then there
                // is no one to tell.
                let _ = stop.send(());
                task.await.context("the server task panicked")?;
            }
            Shutdown::Actix(handle, thread) => {
                handle.stop(false).await;
                tokio::task::spawn_blocking(move || thread.join())
                    .await?
                    .map_err(|_| anyhow::anyhow!("the actix-web thread panicked"))?;
            }
        }
        Ok(())
    }
}

async fn serve_axum(verifier: Verifier, seen: Seen) -> anyhow::Result<(SocketAddr, Shutdown)> {
    use axum::extract::{FromRef, State};
    use axum::http::StatusCode;
    use axum::routing::post;

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

    async fn handler(State(state): State<AppState>, Webhook(envelope): Webhook) -> StatusCode {
        state.seen.record(&envelope);
        StatusCode::NO_CONTENT
    }

    let app = axum::Router::new()
        .route(WEBHOOK_PATH, post(handler))
        .with_state(AppState { verifier, seen });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stopped.await;
        });
        if let Err(e) = server.await {
            eprintln!("axum test server failed: {e}");
        }
    });
    Ok((addr, Shutdown::Tokio(stop, task)))
}

fn serve_actix(verifier: Verifier, seen: Seen) -> anyhow::Result<(SocketAddr, Shutdown)> {
    use actix_web::{App, HttpResponse, HttpServer, web};

    async fn handler(seen: web::Data<Seen>, Webhook(envelope): Webhook) -> HttpResponse {
        seen.record(&envelope);
        HttpResponse::NoContent().finish()
    }

    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    // actix-web's server is not `Send`: it is built, run and stopped on a
    // thread with its own runtime, and only its handle comes back.
    let thread = std::thread::spawn(move || {
        let system = actix_web::rt::System::new();
        let outcome = system.block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(verifier.clone())
                    .app_data(web::Data::new(seen.clone()))
                    .route(WEBHOOK_PATH, web::post().to(handler))
            })
            .workers(1)
            .disable_signals()
            .listen(listener)?
            .run();
            // Only fails if the test side is gone, and then nobody waits.
            let _ = handle_tx.send(server.handle());
            server.await
        });
        if let Err(e) = outcome {
            eprintln!("actix-web test server failed: {e}");
        }
    });
    let handle = handle_rx
        .recv_timeout(Duration::from_secs(10))
        .context("the actix-web server did not start")?;
    Ok((addr, Shutdown::Actix(handle, thread)))
}

async fn serve_tower(verifier: Verifier, seen: Seen) -> anyhow::Result<(SocketAddr, Shutdown)> {
    use std::convert::Infallible;

    use http::{Request, Response, StatusCode};
    use hyper::server::conn::http1;
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;
    use tower::{Layer, service_fn};

    let handler = service_fn(move |request: Request<RequestBody>| {
        let seen = seen.clone();
        async move {
            let mut response = Response::new(Full::<Bytes>::default());
            match request.extensions().get::<Envelope>() {
                Some(envelope) => {
                    seen.record(envelope);
                    *response.status_mut() = StatusCode::NO_CONTENT;
                }
                None => *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR,
            }
            Ok::<_, Infallible>(response)
        }
    });
    let service = VerifyWebhookLayer::new(verifier).layer(handler);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        eprintln!("tower test server failed to accept: {e}");
                        continue;
                    }
                },
                _ = &mut stopped => break,
            };
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                // A client that hangs up early is part of the tests.
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((addr, Shutdown::Tokio(stop, task)))
}

/// A request written byte for byte by [`send_raw`].
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// Header lines other than `Host`, `Connection` and the framing ones.
    pub headers: Vec<(String, String)>,
    /// The body's pieces, each written (and, when chunked, framed) apart.
    pub chunks: Vec<Bytes>,
    /// How the body is framed.
    pub framing: Framing,
}

/// How [`send_raw`] frames the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length` with the body's true length.
    ContentLength,
    /// `Transfer-Encoding: chunked`, with no length anywhere.
    Chunked,
    /// A `Content-Length` of this many bytes, whatever is (or is not) sent:
    /// a receiver that waits to read it all would hang.
    Declared(u64),
}

/// POSTs `request` to `addr` over a fresh connection and returns the
/// response's status code, reading the answer while the body is still being
/// written: a receiver may answer (413) and close before it has read
/// everything, as it should.
///
/// # Errors
///
/// When no connection can be made, no status line arrives within 10
/// seconds, or the reply is not HTTP.
pub async fn send_raw(addr: SocketAddr, request: &RawRequest) -> anyhow::Result<u16> {
    let (mut reader, write) = start_raw(addr, request).await?;

    let mut response = Vec::new();
    let status_line = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 1024];
        loop {
            if let Some(end) = response.windows(2).position(|w| w == b"\r\n") {
                return Ok(response[..end].to_vec());
            }
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                bail!("the connection closed before a status line arrived");
            }
            response.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .context("no response within 10 seconds")??;
    write.abort();

    parse_status_line(&status_line)
}

/// A whole response, as read by [`send_raw_and_read`].
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The header lines, in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked when it came chunked.
    pub body: Bytes,
}

impl RawResponse {
    /// The first value of the header called `name` (without regard to ASCII
    /// case).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Like [`send_raw`], but reads the whole response (status, headers and
/// body) until the server closes the connection, as `Connection: close`
/// asks it to. A connection reset after the response arrived (a receiver
/// that answered before reading the whole body) still yields the response.
///
/// # Errors
///
/// When no connection can be made, no complete response arrives within 10
/// seconds, or the reply is not HTTP.
pub async fn send_raw_and_read(
    addr: SocketAddr,
    request: &RawRequest,
) -> anyhow::Result<RawResponse> {
    let (mut reader, write) = start_raw(addr, request).await?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => response.extend_from_slice(&buf[..n]),
                // What arrived before the reset is kept; whether it is a
                // whole response is decided below.
                Err(_) if !response.is_empty() => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    })
    .await
    .context("the response did not end within 10 seconds")??;
    write.abort();
    parse_response(&response)
}

/// Connects, and writes `request` from a task of its own, so that the
/// caller can read the answer while the body is still going out.
async fn start_raw(
    addr: SocketAddr,
    request: &RawRequest,
) -> anyhow::Result<(
    tokio::net::tcp::OwnedReadHalf,
    tokio::task::JoinHandle<std::io::Result<tokio::net::tcp::OwnedWriteHalf>>,
)> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (reader, mut writer) = stream.into_split();

    let mut head = format!("POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match request.framing {
        Framing::ContentLength => {
            let length: usize = request.chunks.iter().map(Bytes::len).sum();
            head.push_str(&format!("Content-Length: {length}\r\n"));
        }
        Framing::Chunked => head.push_str("Transfer-Encoding: chunked\r\n"),
        Framing::Declared(length) => head.push_str(&format!("Content-Length: {length}\r\n")),
    }
    head.push_str("\r\n");

    let chunks = request.chunks.clone();
    let framing = request.framing;
    let write = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        for chunk in &chunks {
            if framing == Framing::Chunked {
                writer
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .await?;
                writer.write_all(chunk).await?;
                writer.write_all(b"\r\n").await?;
            } else {
                writer.write_all(chunk).await?;
            }
        }
        if framing == Framing::Chunked {
            writer.write_all(b"0\r\n\r\n").await?;
        }
        writer.flush().await?;
        // Kept open (not shut down) until the reader is done: a half-closed
        // connection would be an unrealistic client.
        Ok::<_, std::io::Error>(writer)
    });
    Ok((reader, write))
}

fn parse_status_line(line: &[u8]) -> anyhow::Result<u16> {
    let line = String::from_utf8_lossy(line);
    line.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("not an HTTP status line: {line:?}"))
}

/// Reads a response head (the bytes before the blank line) into a
/// [`RawResponse`] with an empty body.
pub(crate) fn parse_head(head: &[u8]) -> anyhow::Result<RawResponse> {
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split("\r\n");
    let status = parse_status_line(lines.next().unwrap_or_default().as_bytes())?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    Ok(RawResponse {
        status,
        headers,
        body: Bytes::new(),
    })
}

/// Splits a whole HTTP/1.1 response into status, headers and body.
fn parse_response(bytes: &[u8]) -> anyhow::Result<RawResponse> {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("the response has no complete head")?;
    let rest = &bytes[end + 4..];
    let mut response = parse_head(&bytes[..end])?;
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else if let Some(length) = response.header("content-length") {
        let length: usize = length
            .parse()
            .context("a Content-Length that is no number")?;
        rest.get(..length)
            .with_context(|| format!("the body ended after {} of {length} bytes", rest.len()))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    response.body = Bytes::from(body);
    Ok(response)
}

/// Decodes a chunked body (chunk extensions and trailers ignored).
fn dechunk(mut rest: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("a chunk size line without its end")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .with_context(|| format!("not a chunk size: {size_text:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = rest.get(..size).context("a chunk cut short")?;
        body.extend_from_slice(chunk);
        rest = rest.get(size + 2..).context("a chunk without its end")?;
    }
}
