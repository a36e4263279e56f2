//! The body bounds every integration shares, and the reader for `http_body`
//! bodies (axum and tower).

use std::time::Duration;

/// After refusing a body as too large, read and discard at most this much
/// of it before closing, so the sender reads the 413 instead of a reset.
#[cfg(any(feature = "axum", feature = "tower"))]
pub(crate) const DRAIN_LIMIT: usize = 1024 * 1024;
/// ... and for at most this long.
pub(crate) const DRAIN_TIME: Duration = Duration::from_secs(1);

/// Whether a `Content-Length` value declares more than `limit` bytes. An
/// unreadable value does not: the reader's own limit still applies.
pub(crate) fn declares_over(content_length: Option<&[u8]>, limit: usize) -> bool {
    content_length
        .and_then(|value| std::str::from_utf8(value).ok())
        .and_then(|value| value.parse::<u64>().ok())
        .is_some_and(|length| length > limit as u64)
}

#[cfg(any(feature = "axum", feature = "tower"))]
pub(crate) use reader::read;

#[cfg(any(feature = "axum", feature = "tower"))]
mod reader {
    use std::pin::Pin;

    use bytes::{Buf, Bytes};
    use http::HeaderMap;
    use http_body::Body;
    use http_body_util::{BodyExt, LengthLimitError, Limited};

    use super::{DRAIN_LIMIT, DRAIN_TIME, declares_over};
    use crate::{Verifier, VerifyError, WebhookRejection};

    type BoxError = Box<dyn std::error::Error + Send + Sync>;

    /// The whole body, or the rejection that says why not. A body over the
    /// limit is refused at once; what is left of it is read and discarded
    /// in the background while the 413 goes out ([`drain`]).
    pub(crate) async fn read<B>(
        headers: &HeaderMap,
        body: B,
        verifier: &Verifier,
    ) -> Result<Bytes, WebhookRejection>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let limit = verifier.body_limit();
        let too_large = WebhookRejection::Verify(VerifyError::BodyTooLarge { limit });
        let content_length = headers.get(http::header::CONTENT_LENGTH);
        if declares_over(content_length.map(|v| v.as_bytes()), limit) {
            // A client waiting for `100 Continue` has sent nothing: don't ask for it.
            if !expects_continue(headers) {
                drain(Box::pin(body));
            }
            return Err(too_large);
        }
        // Boxed so that, over the limit, the rest can be moved to the drain.
        let mut body = Box::pin(body);
        let collect = Limited::new(body.as_mut(), limit).collect();
        match tokio::time::timeout(verifier.body_timeout(), collect).await {
            Err(_) => Err(WebhookRejection::BodyTimeout),
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
            Ok(Err(e)) if e.is::<LengthLimitError>() => {
                drain(body);
                Err(too_large)
            }
            Ok(Err(_)) => Err(WebhookRejection::BodyRead),
        }
    }

    fn expects_continue(headers: &HeaderMap) -> bool {
        headers
            .get(http::header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
    }

    /// Reads and discards what is left of a refused body in a task of its
    /// own, within [`DRAIN_LIMIT`] and [`DRAIN_TIME`]: the server writes the
    /// answer meanwhile, and a sender that writes its whole body before
    /// reading reads that answer, not a reset.
    fn drain<B>(mut body: Pin<Box<B>>)
    where
        B: Body + Send + 'static,
        B::Data: Send,
    {
        let discard = async move {
            let mut left = DRAIN_LIMIT;
            while let Some(Ok(frame)) = body.frame().await {
                let read = frame.data_ref().map_or(0, Buf::remaining);
                left = left.saturating_sub(read);
                if left == 0 {
                    break;
                }
            }
        };
        tokio::spawn(tokio::time::timeout(DRAIN_TIME, discard));
    }
}

#[cfg(test)]
pub(crate) mod status_table {
    //! The status table over real HTTP: the requests every integration's tests
    //! send to a live server on loopback, with a raw TCP client that writes
    //! exact bytes, and the answers they must get.
    //!
    //! Each server under test answers `POST /typed` (the [`Webhook`](crate::Webhook)
    //! way) with [`describe`] of the envelope, and `POST /raw` (the
    //! [`VerifiedBody`](crate::VerifiedBody) way) with the verified bytes.

    use std::net::SocketAddr;
    use std::time::{Duration, Instant, UNIX_EPOCH};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use crate::{Envelope, Event, Secret, Verifier, sign};

    /// The secret of the wire format's golden vectors.
    const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";
    /// The golden vectors: body and signature.
    const ROOM_ENDED: (&str, &str) = (
        r#"{"data":{"roomId":"3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34","roomName":"weekly-sync","userId":"7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d"},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#,
        "sha256=4a8a28e49e3e197b6aa2b626b4226a7131bae2bee66c980a640f1b6401a7469a",
    );
    const PING: (&str, &str) = (
        r#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#,
        "sha256=5f16939ad45069b2126b88cd3cf1736bc6cd112fc47c6ee8b14874876644b572",
    );
    const ROOM_CREATED: (&str, &str) = (
        r#"{"data":{"roomId":"r1","roomName":"\u003cb\u003eQ\u0026A\u003c/b\u003e — café 🎥 \u2028","userId":"u1"},"event":"room.created","timestamp":"2026-04-01T12:34:56Z"}"#,
        "sha256=b8a0d661a77397cb6b13ba923aa7f2200538f60b58d749223b86ba1e115efed1",
    );
    /// Short, so that the stalled-body tests are quick.
    const BODY_TIMEOUT: Duration = Duration::from_millis(300);
    /// Well over the default 64 KiB limit.
    const OVERSIZED: usize = 300 * 1024;
    /// How long any answer may take before the test fails.
    const PATIENCE: Duration = Duration::from_secs(10);

    /// The verifier every server under test uses: the golden secret, the clock
    /// 30 s after the vectors' timestamp, the default limit, a short body timeout.
    pub(crate) fn verifier() -> Verifier {
        let sent = UNIX_EPOCH + Duration::from_secs(1_775_046_896);
        Verifier::builder(Secret::new(SECRET).unwrap())
            .clock(move || sent + Duration::from_secs(30))
            .body_timeout(BODY_TIMEOUT)
            .build()
    }

    /// What the servers under test answer for a typed delivery.
    pub(crate) fn describe(envelope: &Envelope) -> String {
        match &envelope.event {
            Event::RoomCreated(room) | Event::RoomEnded(room) => {
                format!("{} {}", envelope.event.name(), room.room_name)
            }
            event => event.name().to_owned(),
        }
    }

    /// A request's bytes: `POST path` with `headers` and a `Content-Length` body;
    /// the server is asked to close the connection after its answer.
    fn post(path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let mut request = head(path, headers, &format!("Content-Length: {}", body.len()));
        request.extend_from_slice(body);
        request
    }

    fn head(path: &str, headers: &[(&str, &str)], framing: &str) -> Vec<u8> {
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Type: application/json\r\n{framing}\r\n"
        );
        for (name, value) in headers {
            head += &format!("{name}: {value}\r\n");
        }
        (head + "\r\n").into_bytes()
    }

    fn signed(path: &str, body: &[u8]) -> Vec<u8> {
        let signature = sign(&Secret::new(SECRET).unwrap(), body);
        post(path, &[("X-Bedrud-Signature", &signature)], body)
    }

    /// A genuine `ping` delivery to `path`.
    pub(crate) fn signed_ping(path: &str) -> Vec<u8> {
        signed(path, PING.0.as_bytes())
    }

    /// One chunk of a chunked body.
    fn chunk(data: &[u8]) -> Vec<u8> {
        [format!("{:x}\r\n", data.len()).as_bytes(), data, b"\r\n"].concat()
    }

    /// An answer: the final status, its head and body.
    #[derive(Debug)]
    pub(crate) struct Reply {
        pub(crate) status: u16,
        pub(crate) head: String,
        pub(crate) body: String,
        /// Everything the server wrote, heads included.
        pub(crate) raw: String,
    }

    /// Writes the whole `request` on a new connection, then reads the answer
    /// until the server closes the connection.
    pub(crate) async fn exchange(addr: SocketAddr, request: &[u8]) -> Reply {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(request)
            .await
            .unwrap_or_else(|e| panic!("writing the request failed: {e}"));
        read_reply(&mut stream).await
    }

    /// [`exchange`], written as a network would carry it: 16 KiB at a time,
    /// with a pause between, so that the server answers while the client is
    /// still writing.
    async fn exchange_paced(addr: SocketAddr, request: &[u8]) -> Reply {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        for piece in request.chunks(16 * 1024) {
            stream
                .write_all(piece)
                .await
                .unwrap_or_else(|e| panic!("writing the request failed: {e}"));
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        read_reply(&mut stream).await
    }

    async fn read_reply(stream: &mut TcpStream) -> Reply {
        let mut raw = Vec::new();
        tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
            .await
            .expect("the server closes the connection after its answer")
            .unwrap_or_else(|e| panic!("reading the answer failed: {e}"));
        let raw = String::from_utf8(raw).unwrap();
        let last = raw
            .strip_prefix("HTTP/1.1 100 Continue\r\n\r\n")
            .unwrap_or(&raw);
        let (head, body) = last.split_once("\r\n\r\n").unwrap_or((last, ""));
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
        Reply {
            status: status.unwrap_or_else(|| panic!("no answer in {raw:?}")),
            head: head.to_owned(),
            body: body.to_owned(),
            raw: raw.clone(),
        }
    }

    /// Genuine deliveries reach the handler as typed events, in both dialects;
    /// unknown events too; `/raw` gets the exact bytes.
    pub(crate) async fn genuine(addr: SocketAddr) {
        let headers = [
            ("X-Bedrud-Signature", ROOM_ENDED.1),
            ("X-Bedrud-Event", "room.ended"),
            ("X-Bedrud-Timestamp", "2026-04-01T12:34:56Z"),
        ];
        let cases = [
            (post("/typed", &headers, ROOM_ENDED.0.as_bytes()), "room.ended weekly-sync"),
            (
                post(
                    "/typed",
                    &[("X-Webhook-Signature", PING.1), ("X-Webhook-Event", "ping")],
                    PING.0.as_bytes(),
                ),
                "ping",
            ),
            (
                post("/typed", &[("x-bedrud-signature", ROOM_CREATED.1)], ROOM_CREATED.0.as_bytes()),
                "room.created <b>Q&A</b> — café 🎥 \u{2028}",
            ),
            (
                signed(
                    "/typed",
                    br#"{"data":{"by":"u1"},"event":"room.archived","timestamp":"2026-04-01T12:34:56Z"}"#,
                ),
                "room.archived",
            ),
            (signed_ping("/typed"), "ping"),
            (post("/raw", &headers, ROOM_ENDED.0.as_bytes()), ROOM_ENDED.0),
        ];
        for (request, answer) in cases {
            let reply = exchange(addr, &request).await;
            assert_eq!(
                (reply.status, reply.body.as_str()),
                (200, answer),
                "{reply:?}"
            );
        }
    }

    /// Every way a delivery is refused before the handler: 401 or 400, a plain
    /// text reason, nothing of the secret.
    /// The replay guard, at `POST /guarded`, whose handler answers `ran <n>`
    /// (its n-th call), with 500 when the request has `X-Fail: 1` (unsigned,
    /// so the same signed delivery can fail once and succeed next).
    pub(crate) async fn replayed(addr: SocketAddr) {
        let ping = signed_ping("/guarded");
        let room = [("X-Bedrud-Signature", ROOM_ENDED.1)];
        let failing = [room[0], ("X-Fail", "1")];
        let steps: [(Vec<u8>, u16, &str); 6] = [
            (ping.clone(), 200, "ran 1"),
            (ping.clone(), 200, "duplicate delivery"),
            (
                post("/guarded", &failing, ROOM_ENDED.0.as_bytes()),
                500,
                "ran 2",
            ),
            (
                post("/guarded", &room, ROOM_ENDED.0.as_bytes()),
                200,
                "ran 3",
            ),
            (
                post("/guarded", &room, ROOM_ENDED.0.as_bytes()),
                200,
                "duplicate delivery",
            ),
            (ping, 200, "duplicate delivery"),
        ];
        for (request, status, body) in steps {
            let reply = exchange(addr, &request).await;
            assert_eq!(reply.status, status, "{reply:?}");
            assert!(reply.body.starts_with(body), "{reply:?}");
            let duplicate = reply
                .head
                .to_ascii_lowercase()
                .contains("bedrud-webhook-duplicate: true");
            assert_eq!(duplicate, body.starts_with("duplicate"), "{reply:?}");
        }
        // A forgery is still 401 on a guarded route, and reserves nothing.
        let forged = post(
            "/guarded",
            &[("X-Bedrud-Signature", PING.1)],
            ROOM_CREATED.0.as_bytes(),
        );
        assert_eq!(exchange(addr, &forged).await.status, 401);
    }

    /// What the handler at `/guarded` answers for its `calls`-th call.
    pub(crate) fn guarded_answer(
        calls: &std::sync::atomic::AtomicUsize,
        fail: bool,
    ) -> (u16, String) {
        let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        (if fail { 500 } else { 200 }, format!("ran {n}"))
    }

    pub(crate) async fn refused(addr: SocketAddr) {
        let (body, signature) = (ROOM_ENDED.0.as_bytes(), ROOM_ENDED.1);
        let zeros = format!("sha256={}", "0".repeat(64));
        let cases = [
            (post("/typed", &[("X-Bedrud-Signature", &zeros)], body), 401),
            (post("/typed", &[], body), 401),
            (
                post("/typed", &[("X-Bedrud-Signature", "sha1=abc")], body),
                401,
            ),
            (
                post(
                    "/typed",
                    &[
                        ("X-Bedrud-Signature", signature),
                        ("X-Webhook-Signature", signature),
                    ],
                    body,
                ),
                401,
            ),
            (
                post(
                    "/typed",
                    &[
                        ("X-Bedrud-Signature", signature),
                        ("X-Bedrud-Event", "ping"),
                    ],
                    body,
                ),
                401,
            ),
            (
                post(
                    "/raw",
                    &[
                        ("X-Bedrud-Signature", signature),
                        ("X-Bedrud-Timestamp", "2026-04-01T12:34:57Z"),
                    ],
                    body,
                ),
                401,
            ),
            (
                signed(
                    "/typed",
                    br#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:00:00Z"}"#,
                ),
                401,
            ),
            (signed("/typed", br#"{"hello":"world"}"#), 400),
            (signed("/raw", b"not json"), 400),
            (
                signed(
                    "/typed",
                    br#"{"data":{"roomId":5},"event":"room.ended","timestamp":"2026-04-01T12:34:56Z"}"#,
                ),
                400,
            ),
        ];
        for (request, status) in cases {
            let reply = exchange(addr, &request).await;
            assert_eq!(reply.status, status, "{reply:?}");
            assert!(
                reply
                    .head
                    .to_ascii_lowercase()
                    .contains("content-type: text/plain"),
                "{reply:?}"
            );
            assert!(!reply.raw.contains(SECRET));
        }
    }

    /// A body over the limit is answered 413, and a client that writes all of
    /// it before reading reads that 413 (not a reset), with or without a length.
    pub(crate) async fn oversized(addr: SocketAddr) {
        let body = vec![b' '; OVERSIZED];
        let reply = exchange_paced(addr, &signed("/typed", &body)).await;
        assert_eq!(reply.status, 413, "{reply:?}");

        let mut request = head("/typed", &[], "Transfer-Encoding: chunked");
        for piece in body.chunks(16 * 1024) {
            request.extend(chunk(piece));
        }
        request.extend_from_slice(b"0\r\n\r\n");
        let reply = exchange_paced(addr, &request).await;
        assert_eq!(reply.status, 413, "{reply:?}");
    }

    /// A chunked body that never ends: after the limit, the server reads a
    /// bounded amount, then closes the connection.
    pub(crate) async fn endless(addr: SocketAddr) {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let piece = chunk(&[b' '; 64 * 1024]);
        let mut written = 0usize;
        let flood = async {
            stream
                .write_all(&head("/typed", &[], "Transfer-Encoding: chunked"))
                .await?;
            loop {
                stream.write_all(&piece).await?;
                written += piece.len();
            }
        };
        let outcome: Result<std::io::Result<()>, _> = tokio::time::timeout(PATIENCE, flood).await;
        assert!(
            outcome.is_ok(),
            "the server was still reading after {written} bytes"
        );
    }

    /// A body that stops arriving is answered 408 once the body timeout is
    /// over, and the connection is closed; with or without a length.
    pub(crate) async fn stalled(addr: SocketAddr) {
        let partial = [
            [head("/typed", &[], "Content-Length: 1000"), vec![b' '; 100]].concat(),
            [
                head("/typed", &[], "Transfer-Encoding: chunked"),
                chunk(&[b' '; 100]),
            ]
            .concat(),
        ];
        for request in partial {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let started = Instant::now();
            stream.write_all(&request).await.unwrap();
            let mut status_line = [0; 12];
            let read = stream.read_exact(&mut status_line);
            tokio::time::timeout(PATIENCE, read).await.unwrap().unwrap();
            let waited = started.elapsed();
            assert_eq!(&status_line, b"HTTP/1.1 408");
            assert!(waited >= BODY_TIMEOUT, "{waited:?}");
            assert!(waited < BODY_TIMEOUT + Duration::from_secs(2), "{waited:?}");
            let mut rest = Vec::new();
            let closed = stream.read_to_end(&mut rest);
            tokio::time::timeout(PATIENCE, closed)
                .await
                .unwrap()
                .unwrap();
        }
    }

    /// A declared length over the limit is answered 413 at once, although
    /// the body never comes.
    pub(crate) async fn declared_over(addr: SocketAddr) {
        let framing = format!("Content-Length: {OVERSIZED}");
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let started = Instant::now();
        stream
            .write_all(&head("/typed", &[], &framing))
            .await
            .unwrap();
        let mut status_line = [0; 12];
        let read = stream.read_exact(&mut status_line);
        tokio::time::timeout(PATIENCE, read).await.unwrap().unwrap();
        assert_eq!(&status_line, b"HTTP/1.1 413");
        let waited = started.elapsed();
        assert!(waited < Duration::from_millis(500), "{waited:?}");
    }

    /// `Expect: 100-continue` with a declared length over the limit is answered
    /// 413 without the body being read; `continue_first` when the framework
    /// sends `100 Continue` before any extractor runs.
    pub(crate) async fn expect_continue(addr: SocketAddr, continue_first: bool) {
        let framing = format!("Content-Length: {OVERSIZED}\r\nExpect: 100-continue");
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(&head("/typed", &[], &framing))
            .await
            .unwrap();
        let reply = read_reply(&mut stream).await;
        assert_eq!(reply.status, 413, "{reply:?}");
        let expected = if continue_first {
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 413"
        } else {
            "HTTP/1.1 413"
        };
        assert!(reply.raw.starts_with(expected), "{reply:?}");
    }
}
