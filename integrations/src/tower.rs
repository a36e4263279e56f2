//! A tower layer that verifies Bedrud deliveries in front of any
//! `http::Request<B>` service: plain hyper, axum, or any tower stack.
//!
//! [`VerifyWebhook`] reads the body within the verifier's limit and timeout,
//! verifies it and parses the typed [`Envelope`](crate::Envelope). The inner service is then
//! called with the exact verified bytes as its body (`Full<Bytes>`) and the
//! [`Envelope`](crate::Envelope) in the request's extensions. Every other request is answered
//! by the layer itself with [`WebhookRejection::to_response`](crate::WebhookRejection::to_response) (401, 400, 408
//! or 413), and the inner service never sees it. Responses are
//! `Either<ResBody, String>`: the inner service's body, or a rejection's text.
//! A refusal is logged with the peer address when the request's extensions
//! hold it: axum's `ConnectInfo<SocketAddr>`, or a `std::net::SocketAddr`
//! (insert it when you accept the connection).
//! Behind a [`ReplayGuardLayer`](crate::replay::ReplayGuardLayer), a replayed
//! delivery is answered `200` (duplicate) without calling the inner service.
//!
//! With axum, guard only the webhook route with `route_layer`, so that other
//! paths still answer 404:
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
//! fn main() -> Result<(), bedrud_webhook::VerifyError> {
//!     let verifier = Verifier::new(Secret::new("the secret from Bedrud's admin")?);
//!     let app: Router = Router::new()
//!         .route("/webhooks/bedrud", post(bedrud))
//!         .route_layer(VerifyWebhookLayer::new(verifier));
//!     drop(app);
//!     Ok(())
//! }
//! ```
//!
//! The README shows a complete program on plain hyper.

use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::{Either, Full};
use tower_layer::Layer;
use tower_service::Service;

use crate::check;
use crate::{ResponseFuture, Verifier, body};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Wraps services in [`VerifyWebhook`]; see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct VerifyWebhookLayer {
    verifier: Verifier,
}

impl VerifyWebhookLayer {
    /// A layer that checks every request with `verifier` (its secrets,
    /// tolerance, body limit and body timeout).
    #[must_use]
    pub fn new(verifier: Verifier) -> Self {
        VerifyWebhookLayer { verifier }
    }
}

impl<S> Layer<S> for VerifyWebhookLayer {
    type Service = VerifyWebhook<S>;

    fn layer(&self, inner: S) -> VerifyWebhook<S> {
        VerifyWebhook::new(inner, self.verifier.clone())
    }
}

/// Verifies each request as a Bedrud delivery before `S` sees it; see the
/// [module documentation](self).
#[derive(Debug, Clone)]
pub struct VerifyWebhook<S> {
    inner: S,
    verifier: Verifier,
}

impl<S> VerifyWebhook<S> {
    /// Wraps `inner`, checking every request with `verifier`.
    #[must_use]
    pub fn new(inner: S, verifier: Verifier) -> Self {
        VerifyWebhook { inner, verifier }
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
    S: Service<Request<Full<Bytes>>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Either<ResBody, String>>;
    type Error = S::Error;
    type Future = ResponseFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        // The service polled ready is the one called once the body is in;
        // a clone is left in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        ResponseFuture::new(async move {
            let (mut parts, body) = req.into_parts();
            let read = |verifier| body::read(&parts.headers, body, verifier);
            let request = check::Request::http(&parts);
            match check::check(request, Some(&verifier), read, check::envelope).await {
                Ok(checked) => {
                    parts.extensions.insert(checked.value);
                    let request = Request::from_parts(parts, Full::new(checked.body));
                    Ok(inner.call(request).await?.map(Either::Left))
                }
                Err(rejection) => Ok(rejection.to_response().map(Either::Right)),
            }
        })
    }
}
