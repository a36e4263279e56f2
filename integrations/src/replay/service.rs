//! The guard as a tower layer: axum's `route_layer`, or in front of
//! `VerifyWebhook`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::{ReplayGuard, ReplayGuardLayer};

impl<S> Layer<S> for ReplayGuardLayer {
    type Service = ReplayGuard<S>;

    fn layer(&self, inner: S) -> ReplayGuard<S> {
        ReplayGuard {
            inner,
            layer: self.clone(),
        }
    }
}

impl<S, B, ResBody> Service<Request<B>> for ReplayGuard<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let (check, pending) = self.layer.check();
        req.extensions_mut().insert(check);
        let answer = self.inner.call(req);
        ResponseFuture(Box::pin(async move {
            let response = answer.await;
            let success = response.as_ref().is_ok_and(|r| r.status().is_success());
            pending.finish(success).await;
            response
        }))
    }
}

type Output<ResBody, E> = Result<Response<ResBody>, E>;

/// The response future of [`ReplayGuard`]: the inner answer, after a
/// reservation it did not complete is released.
#[must_use = "futures do nothing unless polled"]
pub struct ResponseFuture<ResBody, E>(Pin<Box<dyn Future<Output = Output<ResBody, E>> + Send>>);

impl<ResBody, E> Future for ResponseFuture<ResBody, E> {
    type Output = Output<ResBody, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl<ResBody, E> fmt::Debug for ResponseFuture<ResBody, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
