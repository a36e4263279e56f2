//! axum 0.8: [`Webhook`] and [`VerifiedBody`] as extractors, [`WebhookRejection`]
//! as their rejection.

use axum::extract::{FromRef, FromRequest, Request};
use axum::response::{IntoResponse, Response};

use crate::check::{self, Checked};
use crate::{Verified, VerifiedBody, Verifier, VerifyError, Webhook, WebhookRejection, body};

/// Runs the check on an axum request (axum's `DefaultBodyLimit` is not
/// consulted: the verifier's limit decides, as in every integration).
async fn extract<T>(
    req: Request,
    verifier: &Verifier,
    keep: impl FnOnce(&Verified<'_>) -> Result<T, VerifyError>,
) -> Result<Checked<T>, WebhookRejection> {
    let (parts, body) = req.into_parts();
    let read = |verifier| body::read(&parts.headers, body, verifier);
    check::check(check::Request::http(&parts), Some(verifier), read, keep).await
}

/// Extracts a verified, typed delivery; the [`Verifier`] comes from the
/// router's state (directly, or through [`FromRef`]).
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<S> FromRequest<S> for Webhook
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let checked = extract(req, &Verifier::from_ref(state), check::envelope).await?;
        Ok(Webhook(checked.value))
    }
}

/// Extracts the exact bytes of a verified delivery and its tag; the
/// [`Verifier`] comes from the router's state (directly, or through [`FromRef`]).
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<S> FromRequest<S> for VerifiedBody
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let checked = extract(req, &Verifier::from_ref(state), check::unparsed).await?;
        let (body, tag) = (checked.body, checked.tag);
        Ok(VerifiedBody { body, tag })
    }
}

/// [`WebhookRejection::to_response`], as axum's response.
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        self.to_response().into_response()
    }
}
