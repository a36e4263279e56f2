//! Helpers for the adversarial suite (`tests/adversarial.rs`,
//! `tests/adversarial_memory.rs`, `tests/secrets_hygiene.rs`): a raw
//! keep-alive HTTP/1.x connection that writes any bytes at all, a client that
//! streams a huge body while watching for an early answer, a byte-trickling
//! client, and each integration served behind the per-request timeout that
//! SECURITY.md advises against slow bodies.
//!
//! Every wait here is bounded: no helper can hang a test.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bedrud_webhook::{Envelope, Event, Timestamp, UnknownEvent, Verifier, Webhook};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use crate::{RawResponse, WEBHOOK_PATH, parse_head};

/// Ten mebibytes: the oversized body of the 413 tests.
pub const TEN_MIB: u64 = 10 * 1024 * 1024;

/// How long any single read in these helpers may wait.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A body piece written over and over by [`stream_large`]: the client never
/// holds more than this, so that memory measured in the test process is the
/// server's.
static PIECE: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// A genuine delivery signed now with `verifier`'s current secret: an
/// unknown event named `name` (accepted by every integration), so that a
/// test can tell deliveries apart by name. Returns the body and the
/// `X-Bedrud-Signature` value.
#[must_use]
pub fn genuine(verifier: &Verifier, name: &str) -> (Vec<u8>, String) {
    let event = Event::Unknown(UnknownEvent::new(name, serde_json::Map::new()));
    let body = Envelope::new(event, Timestamp::now()).to_bedrud_json();
    let signature = verifier.sign(&body);
    (body, signature)
}

/// A request head written byte for byte: the request line (such as
/// `POST /webhooks/bedrud HTTP/1.1`), then each header as `name: value`,
/// then the blank line. Names and values may hold any bytes.
#[must_use]
pub fn head(request_line: &str, headers: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(request_line.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A whole request: an HTTP/1.1 POST to the webhook path with `Host`,
/// `Content-Length`, the given headers, and the body.
#[must_use]
pub fn post(addr: SocketAddr, headers: &[(&[u8], &[u8])], body: &[u8]) -> Vec<u8> {
    post_with_version(addr, "HTTP/1.1", headers, body)
}

/// As [`post`], with another protocol version in the request line.
#[must_use]
pub fn post_with_version(
    addr: SocketAddr,
    version: &str,
    headers: &[(&[u8], &[u8])],
    body: &[u8],
) -> Vec<u8> {
    let host = addr.to_string();
    let length = body.len().to_string();
    let mut all: Vec<(&[u8], &[u8])> = vec![
        (b"Host", host.as_bytes()),
        (b"Content-Length", length.as_bytes()),
    ];
    all.extend_from_slice(headers);
    let mut out = head(&format!("POST {WEBHOOK_PATH} {version}"), &all);
    out.extend_from_slice(body);
    out
}

/// One client connection, kept open across requests: write any bytes, read
/// one response at a time.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    /// Bytes read past the end of the last response.
    pending: Vec<u8>,
}

impl Conn {
    /// Connects to `addr`.
    ///
    /// # Errors
    ///
    /// When the connection is refused.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        Ok(Self {
            stream: TcpStream::connect(addr).await?,
            pending: Vec::new(),
        })
    }

    /// Writes `bytes` as they are.
    ///
    /// # Errors
    ///
    /// When the peer has closed or reset the connection.
    pub async fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await?;
        Ok(())
    }

    /// Reads more bytes into `pending`; `false` at the end of the stream. A
    /// reset after some bytes counts as the end.
    async fn fill(&mut self) -> anyhow::Result<bool> {
        let mut buf = [0u8; 8192];
        let read = tokio::time::timeout(READ_TIMEOUT, self.stream.read(&mut buf))
            .await
            .context("no bytes from the server within the read timeout")?;
        match read {
            Ok(0) => Ok(false),
            Ok(n) => {
                self.pending.extend_from_slice(&buf[..n]);
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads one whole response: `None` when the server closed the
    /// connection before sending a byte of one.
    ///
    /// # Errors
    ///
    /// When nothing arrives within [`READ_TIMEOUT`], or the bytes are not an
    /// HTTP/1.x response.
    pub async fn response(&mut self) -> anyhow::Result<Option<RawResponse>> {
        let head_end = loop {
            if let Some(end) = self.pending.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            if !self.fill().await? {
                if self.pending.is_empty() {
                    return Ok(None);
                }
                bail!(
                    "the connection closed inside a response head: {:?}",
                    String::from_utf8_lossy(&self.pending)
                );
            }
        };
        let mut response = parse_head(&self.pending[..head_end])?;
        self.pending.drain(..head_end + 4);
        let status = response.status;
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        let body = if chunked {
            self.read_chunked().await?
        } else if let Some(length) = response.header("content-length") {
            let length: usize = length
                .parse()
                .context("a Content-Length that is no number")?;
            while self.pending.len() < length {
                if !self.fill().await? {
                    bail!("the body ended early");
                }
            }
            self.pending.drain(..length).collect()
        } else if status == 204 || status == 304 || (100..200).contains(&status) {
            Vec::new()
        } else {
            // Delimited by the end of the connection.
            while self.fill().await? {}
            std::mem::take(&mut self.pending)
        };
        response.body = Bytes::from(body);
        Ok(Some(response))
    }

    async fn read_chunked(&mut self) -> anyhow::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(end) = self.pending.windows(2).position(|w| w == b"\r\n") {
                    break end;
                }
                if !self.fill().await? {
                    bail!("a chunked body cut short");
                }
            };
            let size_text = String::from_utf8_lossy(&self.pending[..line_end]).into_owned();
            let size_text = size_text.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_text, 16)
                .with_context(|| format!("not a chunk size: {size_text:?}"))?;
            self.pending.drain(..line_end + 2);
            while self.pending.len() < size + 2 {
                if !self.fill().await? {
                    bail!("a chunk cut short");
                }
            }
            body.extend(self.pending.drain(..size));
            self.pending.drain(..2);
            if size == 0 {
                return Ok(body);
            }
        }
    }

    /// Whether the server closes the connection within `within`, with no
    /// further bytes.
    pub async fn closes_within(&mut self, within: Duration) -> bool {
        let mut buf = [0u8; 1];
        match tokio::time::timeout(within, self.stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => true,
            Ok(Ok(_)) | Err(_) => false,
        }
    }

    /// Half-closes the connection: the server sees the end of the request
    /// stream, as from a client that gave up.
    ///
    /// # Errors
    ///
    /// When the socket is already gone.
    pub async fn shutdown_write(&mut self) -> anyhow::Result<()> {
        self.stream.shutdown().await?;
        Ok(())
    }
}

/// How a server dealt with a huge body, from [`stream_large`].
#[derive(Debug, Clone, Copy)]
pub struct LargeOutcome {
    /// The response's status, if one arrived.
    pub status: Option<u16>,
    /// How many body bytes the client had handed to the kernel when the
    /// status line arrived: an upper bound on what the server could have
    /// read by then.
    pub sent_when_answered: u64,
    /// How long after the request started the status line arrived.
    pub answered_after: Duration,
}

/// POSTs a body of `total` bytes to `addr` (with `Content-Length`, or
/// chunked without it), from a socket with a 64 KiB send buffer, writing
/// 64 KiB pieces of one static buffer while reading the answer. Stops
/// writing as soon as the status line arrives, the server hangs up, or 30
/// seconds pass.
///
/// # Errors
///
/// When no connection can be made.
pub async fn stream_large(
    addr: SocketAddr,
    headers: &[(&[u8], &[u8])],
    total: u64,
    chunked: bool,
) -> anyhow::Result<LargeOutcome> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_send_buffer_size(64 * 1024)?;
    let stream = socket.connect(addr).await?;
    let (mut reader, mut writer) = stream.into_split();

    let host = addr.to_string();
    let length = total.to_string();
    let mut all: Vec<(&[u8], &[u8])> = vec![(b"Host", host.as_bytes())];
    if chunked {
        all.push((b"Transfer-Encoding", b"chunked"));
    } else {
        all.push((b"Content-Length", length.as_bytes()));
    }
    all.extend_from_slice(headers);
    let request_head = head(&format!("POST {WEBHOOK_PATH} HTTP/1.1"), &all);

    let sent = Arc::new(AtomicU64::new(0));
    let sent_by_writer = Arc::clone(&sent);
    let started = Instant::now();
    let write = tokio::spawn(async move {
        writer.write_all(&request_head).await?;
        let mut left = total;
        while left > 0 {
            let n = usize::try_from(left.min(PIECE.len() as u64)).unwrap_or(PIECE.len());
            if chunked {
                writer.write_all(format!("{n:x}\r\n").as_bytes()).await?;
            }
            writer.write_all(&PIECE[..n]).await?;
            if chunked {
                writer.write_all(b"\r\n").await?;
            }
            sent_by_writer.fetch_add(n as u64, Ordering::SeqCst);
            left -= n as u64;
        }
        if chunked {
            writer.write_all(b"0\r\n\r\n").await?;
        }
        writer.flush().await?;
        // Kept open until the reader is done, as a real client would.
        Ok::<_, std::io::Error>(writer)
    });

    let mut response = Vec::new();
    let status = tokio::time::timeout(Duration::from_secs(30), async {
        let mut buf = [0u8; 1024];
        loop {
            if let Some(end) = response.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&response[..end]).into_owned();
                return line.split(' ').nth(1).and_then(|c| c.parse::<u16>().ok());
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
    let outcome = LargeOutcome {
        status,
        sent_when_answered: sent.load(Ordering::SeqCst),
        answered_after: started.elapsed(),
    };
    write.abort();
    Ok(outcome)
}

/// Writes `request` to a fresh connection in `pieces` parts, `gap` apart,
/// then waits (bounded by [`READ_TIMEOUT`]) for the answer's status.
/// `None` when the server closed without one.
///
/// # Errors
///
/// When no connection can be made, or the server resets it mid-request.
pub async fn trickle(
    addr: SocketAddr,
    request: &[u8],
    pieces: usize,
    gap: Duration,
) -> anyhow::Result<Option<u16>> {
    let mut conn = Conn::connect(addr).await?;
    let size = request.len().div_ceil(pieces.max(1));
    for (i, piece) in request.chunks(size.max(1)).enumerate() {
        if i > 0 {
            tokio::time::sleep(gap).await;
        }
        conn.write(piece).await?;
    }
    Ok(conn.response().await?.map(|r| r.status))
}

/// A server that answers every genuine delivery with 204, behind a
/// per-request deadline: the advice of SECURITY.md against slow bodies.
#[derive(Debug)]
pub struct TimeoutServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    actix: Option<actix_web::dev::ServerHandle>,
}

impl TimeoutServer {
    /// Stops the server (without waiting for open connections).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.actix.take() {
            handle.stop(false).await;
        }
    }
}

/// Serves `integration` with `verifier` on a free loopback port, with every
/// request (body reading and verification included) bounded by `deadline`:
/// past it the server answers 408 and closes the connection. Written the way
/// SECURITY.md tells integrators to: an axum `middleware::from_fn`, an
/// actix-web `wrap_fn`, and a `tokio::time::timeout` around the tower
/// service for plain hyper.
///
/// # Errors
///
/// When no port can be bound or the server cannot start.
pub async fn serve_with_deadline(
    integration: crate::Integration,
    verifier: Verifier,
    deadline: Duration,
) -> anyhow::Result<TimeoutServer> {
    match integration {
        crate::Integration::Axum => axum_with_deadline(verifier, deadline).await,
        crate::Integration::Actix => actix_with_deadline(verifier, deadline),
        crate::Integration::Tower => tower_with_deadline(verifier, deadline).await,
    }
}

async fn axum_with_deadline(
    verifier: Verifier,
    deadline: Duration,
) -> anyhow::Result<TimeoutServer> {
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};

    async fn handler(Webhook(_): Webhook) -> StatusCode {
        StatusCode::NO_CONTENT
    }

    let app = axum::Router::new()
        .route(WEBHOOK_PATH, axum::routing::post(handler))
        .with_state(verifier)
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| async move {
                match tokio::time::timeout(deadline, next.run(request)).await {
                    Ok(response) => response,
                    Err(_) => {
                        let response: Response = StatusCode::REQUEST_TIMEOUT.into_response();
                        response
                    }
                }
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(TimeoutServer {
        addr,
        stop: Some(stop),
        actix: None,
    })
}

fn actix_with_deadline(verifier: Verifier, deadline: Duration) -> anyhow::Result<TimeoutServer> {
    use actix_web::dev::Service as _;
    use actix_web::{App, HttpResponse, HttpServer, web};

    async fn handler(Webhook(_): Webhook) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }

    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let system = actix_web::rt::System::new();
        let _ = system.block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(verifier.clone())
                    .wrap_fn(move |request, service| {
                        let response = service.call(request);
                        async move {
                            match actix_web::rt::time::timeout(deadline, response).await {
                                Ok(response) => response,
                                Err(_) => Err(actix_web::error::ErrorRequestTimeout(
                                    "request not received in time",
                                )),
                            }
                        }
                    })
                    .route(WEBHOOK_PATH, web::post().to(handler))
            })
            .workers(1)
            .disable_signals()
            .listen(listener)?
            .run();
            let _ = handle_tx.send(server.handle());
            server.await
        });
    });
    let handle = handle_rx
        .recv_timeout(Duration::from_secs(10))
        .context("the actix-web server did not start")?;
    Ok(TimeoutServer {
        addr,
        stop: None,
        actix: Some(handle),
    })
}

async fn tower_with_deadline(
    verifier: Verifier,
    deadline: Duration,
) -> anyhow::Result<TimeoutServer> {
    use std::convert::Infallible;

    use bedrud_webhook::tower::{RequestBody, VerifyWebhookLayer};
    use http::{Request, Response, StatusCode};
    use http_body_util::{Either, Full};
    use hyper::server::conn::http1;
    use hyper_util::rt::TokioIo;
    use tower::{Layer, ServiceExt, service_fn};

    let handler = service_fn(|_: Request<RequestBody>| async {
        let mut response = Response::new(Full::<Bytes>::default());
        *response.status_mut() = StatusCode::NO_CONTENT;
        Ok::<_, Infallible>(response)
    });
    let verified = VerifyWebhookLayer::new(verifier).layer(handler);
    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let verified = verified.clone();
        async move {
            match tokio::time::timeout(deadline, verified.oneshot(request)).await {
                Ok(response) => response,
                Err(_) => {
                    let mut response =
                        Response::new(Either::Right(Full::from("request not received in time")));
                    *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
                    Ok(response)
                }
            }
        }
    });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => continue,
                },
                _ = &mut stopped => break,
            };
            let service = service.clone();
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(TimeoutServer {
        addr,
        stop: Some(stop),
        actix: None,
    })
}
