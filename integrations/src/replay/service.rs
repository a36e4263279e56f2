//! The guard as a tower layer: axum's `route_layer`, or in front of
//! `VerifyWebhook`.

use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::{ReplayGuard, ReplayGuardLayer};
use crate::ResponseFuture;

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
    type Future = ResponseFuture<Result<Response<ResBody>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let (check, pending) = self.layer.check();
        req.extensions_mut().insert(check);
        let answer = self.inner.call(req);
        ResponseFuture::new(async move {
            let response = answer.await;
            let success = response.as_ref().is_ok_and(|r| r.status().is_success());
            pending.finish(success).await;
            response
        })
    }
}
