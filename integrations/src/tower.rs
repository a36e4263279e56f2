//! A tower [`Layer`] that verifies Bedrud deliveries in front of any
//! `http::Request<B>` service: plain hyper, axum, or any tower-based stack.
//!
//! [`VerifyWebhook`] reads the body up to the verifier's limit, verifies and
//! parses it, and then either
//!
//! - forwards the request with its body intact, as a
//!   [`RequestBody`] (`Full<Bytes>` holding the exact verified bytes, ready
//!   at once), with the typed [`Envelope`] in its
//!   [extensions](http::Request::extensions) (unless
//!   [`parse_envelope(false)`](VerifyWebhookLayer::parse_envelope) says to
//!   verify only); or
//! - answers the request itself with the [`WebhookRejection`](crate::WebhookRejection)'s response
//!   (401, 400 or 413, one line of plain text), and the inner service never
//!   sees it.
//!
//! Responses are a [`ResponseBody<B>`]: the inner service's body `B`, or the
//! rejection's. Both hyper and axum accept it as it is.
//!
//! With plain hyper 1 and hyper-util:
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bedrud_webhook::tower::{RequestBody, VerifyWebhookLayer};
//! use bedrud_webhook::{Envelope, Secret, Verifier};
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{Layer, service_fn};
//!
//! async fn handle(req: Request<RequestBody>) -> Result<Response<Full<bytes::Bytes>>, Infallible> {
//!     // Only verified deliveries get here, so the envelope is always there.
//!     let status = match req.extensions().get::<Envelope>() {
//!         Some(envelope) => {
//!             println!("{} at {}", envelope.event.name(), envelope.timestamp);
//!             StatusCode::NO_CONTENT
//!         }
//!         None => StatusCode::INTERNAL_SERVER_ERROR,
//!     };
//!     let mut response = Response::new(Full::default());
//!     *response.status_mut() = status;
//!     Ok(response)
//! }
//!
//! # fn main() -> Result<(), bedrud_webhook::verify::SecretError> {
//! let verifier = Verifier::new(Secret::new("the secret from Bedrud's admin")?);
//! let service = VerifyWebhookLayer::new(verifier).layer(service_fn(handle));
//! // Serve it with `hyper_util::service::TowerToHyperService::new(service)`.
//! # let _ = service;
//! # Ok(())
//! # }
//! ```
//!
//! With axum, prefer `route_layer` (or `MethodRouter::layer`), so that only
//! the webhook route is guarded and unknown paths still answer 404:
//!
//! ```
//! use axum::{Extension, Router, http::StatusCode, routing::post};
//! use bedrud_webhook::tower::VerifyWebhookLayer;
//! use bedrud_webhook::{Envelope, Secret, Verifier};
//!
//! async fn bedrud(Extension(envelope): Extension<Envelope>) -> StatusCode {
//!     println!("{} at {}", envelope.event.name(), envelope.timestamp);
//!     StatusCode::NO_CONTENT
//! }
//!
//! # fn main() -> Result<(), bedrud_webhook::verify::SecretError> {
//! let verifier = Verifier::new(Secret::new("the secret from Bedrud's admin")?);
//! let app: Router = Router::new()
//!     .route("/webhooks/bedrud", post(bedrud))
//!     .route_layer(VerifyWebhookLayer::new(verifier));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bedrud_webhook_types::Envelope;
use bedrud_webhook_verify::{DeliveryHeaders, Verifier};
use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::{Either, Full};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::VerifiedBody;
use crate::body::{ReadBody, read_body};
use crate::receive::receive;
use crate::rejection::BoxError;

/// The body of a request forwarded to the inner service: the exact verified
/// bytes, already in memory.
pub type RequestBody = Full<Bytes>;

/// The body of a response from [`VerifyWebhook`]: the inner service's body
/// (`Left`), or a rejection's one line of text (`Right`).
pub type ResponseBody<B> = Either<B, Full<Bytes>>;

/// Wraps a service in [`VerifyWebhook`].
///
/// ```
/// use bedrud_webhook::tower::VerifyWebhookLayer;
/// use bedrud_webhook::{Secret, Verifier};
///
/// let layer = VerifyWebhookLayer::new(Verifier::new(Secret::new("s3cret")?));
/// # let _ = layer;
/// # Ok::<(), bedrud_webhook::verify::SecretError>(())
/// ```
#[derive(Debug, Clone)]
pub struct VerifyWebhookLayer {
    verifier: Verifier,
    parse_envelope: bool,
}

impl VerifyWebhookLayer {
    /// A layer that checks every request with `verifier` (its body limit,
    /// tolerance and secrets), and hands the typed [`Envelope`] on.
    #[must_use]
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier,
            parse_envelope: true,
        }
    }

    /// Whether to parse each verified delivery into an [`Envelope`] and put
    /// it in the request's extensions: yes by default.
    ///
    /// With `false` the layer verifies only, like the
    /// [`VerifiedBody`] extractor: the signature, the timestamp, the headers
    /// and the envelope's fields are checked as always, the `data` is not
    /// parsed, and the inner service gets the exact signed bytes and no
    /// extension. It is for services that parse the body with their own
    /// types: it saves the typed parse and the extension's allocations, and
    /// a delivery whose `data` the typed parser would refuse with 400 is
    /// forwarded instead.
    ///
    /// ```
    /// use bedrud_webhook::tower::VerifyWebhookLayer;
    /// use bedrud_webhook::{Secret, Verifier};
    ///
    /// let verifier = Verifier::new(Secret::new("s3cret")?);
    /// let verify_only = VerifyWebhookLayer::new(verifier).parse_envelope(false);
    /// # let _ = verify_only;
    /// # Ok::<(), bedrud_webhook::verify::SecretError>(())
    /// ```
    #[must_use]
    pub fn parse_envelope(mut self, parse: bool) -> Self {
        self.parse_envelope = parse;
        self
    }
}

impl<S> Layer<S> for VerifyWebhookLayer {
    type Service = VerifyWebhook<S>;

    fn layer(&self, inner: S) -> VerifyWebhook<S> {
        VerifyWebhook::new(inner, self.verifier.clone()).parse_envelope(self.parse_envelope)
    }
}

/// Verifies each request as a Bedrud delivery before `S` sees it; see the
/// [module documentation](self).
#[derive(Debug, Clone)]
pub struct VerifyWebhook<S> {
    inner: S,
    verifier: Verifier,
    parse_envelope: bool,
}

impl<S> VerifyWebhook<S> {
    /// Wraps `inner`, checking every request with `verifier` and handing the
    /// typed [`Envelope`] on.
    #[must_use]
    pub fn new(inner: S, verifier: Verifier) -> Self {
        Self {
            inner,
            verifier,
            parse_envelope: true,
        }
    }

    /// Whether to parse each verified delivery into an [`Envelope`]
    /// extension; see [`VerifyWebhookLayer::parse_envelope`].
    #[must_use]
    pub fn parse_envelope(mut self, parse: bool) -> Self {
        self.parse_envelope = parse;
        self
    }

    /// A [`VerifyWebhookLayer`] with `verifier`.
    #[must_use]
    pub fn layer(verifier: Verifier) -> VerifyWebhookLayer {
        VerifyWebhookLayer::new(verifier)
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B, ResBody> Service<Request<B>> for VerifyWebhook<S>
where
    S: Service<Request<RequestBody>, Response = Response<ResBody>> + Clone,
    B: Body,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        // The service that was polled ready is the one that will be called,
        // later, once the body is in: take it, and leave a clone behind
        // (tower's "be careful when cloning inner services").
        let clone = self.inner.clone();
        let service = std::mem::replace(&mut self.inner, clone);
        let (parts, body) = req.into_parts();
        let read = read_body(&parts.headers, body, self.verifier.body_limit());
        ResponseFuture {
            state: State::Reading { read },
            parts,
            service,
            verifier: self.verifier.clone(),
            parse_envelope: self.parse_envelope,
        }
    }
}

pin_project! {
    /// The response future of [`VerifyWebhook`]: reads and checks the body,
    /// then calls the inner service or answers with the rejection.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<RequestBody>>,
        B: Body,
        B::Error: Into<BoxError>,
    {
        #[pin]
        state: State<ReadBody<B>, S::Future>,
        // The request head, kept until the body is in; then handed on.
        parts: http::request::Parts,
        service: S,
        verifier: Verifier,
        parse_envelope: bool,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<R, F> {
        Reading { #[pin] read: R },
        Calling { #[pin] future: F },
    }
}

impl<S, B, ResBody> Future for ResponseFuture<S, B>
where
    S: Service<Request<RequestBody>, Response = Response<ResBody>>,
    B: Body,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<ResponseBody<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StateProj::Reading { read } => {
                    let body = ready!(read.poll(cx));
                    // The head moves into the forwarded request; an empty one
                    // (no allocation: `Uri::default()` is a static "/") is
                    // left behind, as this state is never polled again.
                    let mut parts = std::mem::replace(this.parts, Request::new(()).into_parts().0);
                    let headers = DeliveryHeaders::from_header_map(&parts.headers);
                    let received = if *this.parse_envelope {
                        receive::<(Envelope, Bytes)>(this.verifier, &headers, body).map(
                            |(envelope, body)| {
                                // One extension: every insert into an empty
                                // `Extensions` allocates, and the verified
                                // bytes are the body already.
                                parts.extensions.insert(envelope);
                                body
                            },
                        )
                    } else {
                        receive::<VerifiedBody>(this.verifier, &headers, body)
                            .map(|VerifiedBody(body)| body)
                    };
                    match received {
                        Ok(body) => {
                            let request = Request::from_parts(parts, Full::new(body));
                            let future = this.service.call(request);
                            this.state.set(State::Calling { future });
                        }
                        Err(rejection) => {
                            return Poll::Ready(Ok(rejection.to_response().map(Either::Right)));
                        }
                    }
                }
                StateProj::Calling { future } => {
                    let response = ready!(future.poll(cx))?;
                    return Poll::Ready(Ok(response.map(Either::Left)));
                }
            }
        }
    }
}

impl<S, B> fmt::Debug for ResponseFuture<S, B>
where
    S: Service<Request<RequestBody>>,
    B: Body,
    B::Error: Into<BoxError>,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Reading { .. } => "reading the body",
            State::Calling { .. } => "calling the inner service",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .field("method", &self.parts.method)
            .field("uri", &self.parts.uri)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use ::tower::{ServiceExt, service_fn};
    use bedrud_webhook_types::{Event, EventKind, Timestamp};

    use http::StatusCode;
    use http_body::Frame;
    use http_body_util::BodyExt;

    use super::*;

    use crate::test_support::{fresh, sign, verifier};

    /// The body a test sent, carried to the inner service in the request's
    /// extensions.
    #[derive(Debug, Clone)]
    struct Sent(Bytes);

    /// An inner service that echoes what the layer handed it, and counts.
    fn echo(
        calls: Arc<AtomicUsize>,
    ) -> impl Service<
        Request<RequestBody>,
        Response = Response<Full<Bytes>>,
        Error = Infallible,
        Future = impl Send,
    > + Clone {
        service_fn(move |req: Request<RequestBody>| {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                let name = req
                    .extensions()
                    .get::<Envelope>()
                    .map(|e| e.event.name().to_owned())
                    .unwrap_or_default();
                // The client's own extensions pass through the layer.
                let Sent(sent) = req.extensions().get::<Sent>().cloned().unwrap();
                let body = req.into_body().collect().await.unwrap().to_bytes();
                // The forwarded body is the verified bytes, intact.
                assert_eq!(body, sent);
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(name))))
            }
        })
    }

    async fn answer<B>(
        service: impl Service<
            Request<B>,
            Response = Response<ResponseBody<Full<Bytes>>>,
            Error = Infallible,
        >,
        req: Request<B>,
    ) -> (StatusCode, String) {
        let response = service.oneshot(req).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    fn request(body: Vec<u8>, signature: Option<String>) -> Request<Full<Bytes>> {
        let body = Bytes::from(body);
        let mut builder = Request::post("/webhooks/bedrud").extension(Sent(body.clone()));
        if let Some(signature) = signature {
            builder = builder.header("x-bedrud-signature", signature);
        }
        builder.body(Full::new(body)).unwrap()
    }

    #[tokio::test]
    async fn genuine_deliveries_are_forwarded_with_extensions() {
        let calls = Arc::new(AtomicUsize::new(0));
        let layer = VerifyWebhookLayer::new(verifier(crate::verify::DEFAULT_BODY_LIMIT));
        for kind in EventKind::ALL {
            let body = fresh(kind);
            let signature = sign(&body);
            let service = layer.layer(echo(calls.clone()));
            let (status, text) = answer(service, request(body, Some(signature))).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(text, kind.as_str());
        }
        assert_eq!(calls.load(Ordering::SeqCst), EventKind::ALL.len());
    }

    #[tokio::test]
    async fn rejections_are_answered_by_the_layer() {
        let calls = Arc::new(AtomicUsize::new(0));
        let layer = VerifyWebhookLayer::new(verifier(512));
        let body = fresh(EventKind::Ping);
        let wrong_type = format!(
            r#"{{"data":{{"fileSizeBytes":-1}},"event":"recording.completed","timestamp":"{}"}}"#,
            Timestamp::now()
        )
        .into_bytes();
        let cases = [
            (
                body.clone(),
                Some(format!("sha256={}", "f".repeat(64))),
                401,
            ),
            (body.clone(), None, 401),
            (b"[]".to_vec(), Some(sign(b"[]")), 400),
            (wrong_type.clone(), Some(sign(&wrong_type)), 400),
            (vec![b'{'; 513], Some(sign(&[b'{'; 513])), 413),
        ];
        for (body, signature, status) in cases {
            let service = layer.layer(echo(calls.clone()));
            let (got, text) = answer(service, request(body, signature)).await;
            assert_eq!(got.as_u16(), status, "{text}");
            assert!(
                text.ends_with('\n') && !text.trim_end().contains('\n'),
                "{text}"
            );
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn verify_only_forwards_the_bytes_without_an_envelope() {
        let calls = Arc::new(AtomicUsize::new(0));
        let verify_only = VerifyWebhookLayer::new(verifier(512)).parse_envelope(false);
        let typed = VerifyWebhookLayer::new(verifier(512));
        // Signed by Bedrud's secret, but data the typed parser refuses.
        let wrong_type = format!(
            r#"{{"data":{{"fileSizeBytes":-1}},"event":"recording.completed","timestamp":"{}"}}"#,
            Timestamp::now()
        )
        .into_bytes();
        let genuine = fresh(EventKind::RoomEnded);
        let forged = Some(format!("sha256={}", "f".repeat(64)));
        let cases = [
            // (layer, body, signature, status, what the inner service saw)
            (&verify_only, genuine.clone(), Some(sign(&genuine)), 200, ""),
            (
                &typed,
                genuine.clone(),
                Some(sign(&genuine)),
                200,
                "room.ended",
            ),
            (
                &verify_only,
                wrong_type.clone(),
                Some(sign(&wrong_type)),
                200,
                "",
            ),
            (&typed, wrong_type.clone(), Some(sign(&wrong_type)), 400, ""),
            (&verify_only, genuine.clone(), forged, 401, ""),
            (&verify_only, b"[]".to_vec(), Some(sign(b"[]")), 400, ""),
            (
                &verify_only,
                vec![b'{'; 513],
                Some(sign(&[b'{'; 513])),
                413,
                "",
            ),
        ];
        for (layer, body, signature, status, seen) in cases {
            let (got, text) =
                answer(layer.layer(echo(calls.clone())), request(body, signature)).await;
            assert_eq!(got.as_u16(), status, "{text}");
            if got.is_success() {
                // `echo` names the envelope it found: none without parsing.
                assert_eq!(text, seen);
            }
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    /// A body that arrives in pieces and does not know its length.
    struct Chunked(VecDeque<Bytes>);

    impl Body for Chunked {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
        }
    }

    #[tokio::test]
    async fn chunked_bodies_are_read_and_cut_off_at_the_limit() {
        let calls = Arc::new(AtomicUsize::new(0));
        let body = fresh(EventKind::RoomCreated);
        let signature = sign(&body);
        let layer = VerifyWebhookLayer::new(verifier(body.len()));
        let (head, tail) = body.split_at(10);
        let pieces = |extra: &[u8]| {
            Chunked(VecDeque::from([
                Bytes::copy_from_slice(head),
                Bytes::copy_from_slice(tail),
                Bytes::copy_from_slice(extra),
            ]))
        };
        let req = |b| {
            Request::post("/")
                .header("x-bedrud-signature", &signature)
                .extension(Sent(Bytes::from(body.clone())))
                .body(b)
                .unwrap()
        };
        let exact = answer(layer.layer(echo(calls.clone())), req(pieces(b""))).await;
        assert_eq!(exact.0, StatusCode::OK);
        let over = answer(layer.layer(echo(calls.clone())), req(pieces(b" "))).await;
        assert_eq!(over.0, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn works_as_an_axum_route_layer() {
        use axum::Extension;
        use axum::routing::post;

        // The envelope from the layer's extension, and the verified bytes
        // as the body, echoed back.
        async fn handler(
            Extension(envelope): Extension<Envelope>,
            body: Bytes,
        ) -> (StatusCode, Bytes) {
            let status = match envelope.event {
                Event::Ping => StatusCode::ACCEPTED,
                _ => StatusCode::OK,
            };
            (status, body)
        }
        let app: axum::Router = axum::Router::new()
            .route("/webhooks/bedrud", post(handler))
            .route_layer(VerifyWebhookLayer::new(verifier(1024)));

        let body = fresh(EventKind::Ping);
        let genuine = axum::http::Request::post("/webhooks/bedrud")
            .header("x-bedrud-signature", sign(&body))
            .body(axum::body::Body::from(body.clone()))
            .unwrap();
        let res = app.clone().oneshot(genuine).await.unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        let echoed = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(echoed, body);

        let forged = axum::http::Request::post("/webhooks/bedrud")
            .header("x-bedrud-signature", sign(b"something else"))
            .body(axum::body::Body::from(body))
            .unwrap();
        let res = app.clone().oneshot(forged).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

        // Other paths are not guarded by a route layer.
        let other = axum::http::Request::get("/elsewhere")
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(
            app.oneshot(other).await.unwrap().status(),
            StatusCode::NOT_FOUND
        );
    }
}
