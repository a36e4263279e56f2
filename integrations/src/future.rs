//! The crate's one boxed response future.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The response future of the crate's tower services
/// ([`VerifyWebhook`](crate::tower::VerifyWebhook),
/// [`ReplayGuard`](crate::replay::ReplayGuard), the queue's `Enqueue`):
/// their work, boxed; `T` is the service's `Result`.
#[must_use = "futures do nothing unless polled"]
pub struct ResponseFuture<T>(Pin<Box<dyn Future<Output = T> + Send>>);

impl<T> ResponseFuture<T> {
    pub(crate) fn new(future: impl Future<Output = T> + Send + 'static) -> Self {
        ResponseFuture(Box::pin(future))
    }
}

impl<T> Future for ResponseFuture<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.0.as_mut().poll(cx)
    }
}

impl<T> fmt::Debug for ResponseFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}
