//! axum 0.8: the extractors and the rejection's response.

use axum::extract::{FromRef, FromRequest, Request};
use axum::response::{IntoResponse, Response};
use bedrud_webhook_verify::{DeliveryHeaders, Verifier};

use crate::body::read_body;
use crate::receive::{Receive, receive};
use crate::rejection::{
    FailedToReadBody, InvalidPayload, InvalidSignature, MissingVerifier, PayloadTooLarge,
};
use crate::{VerifiedBody, Webhook, WebhookRejection};

/// Reads, verifies and parses: the body under the verifier's limit, then the
/// shared pipeline.
async fn extract<T: Receive>(req: Request, verifier: Verifier) -> Result<T, WebhookRejection> {
    let (parts, body) = req.into_parts();
    // axum's own `DefaultBodyLimit` is not consulted: the verifier's limit is
    // the one that decides, the same in every framework.
    let body = read_body(&parts.headers, body, verifier.body_limit()).await;
    receive(
        &verifier,
        &DeliveryHeaders::from_header_map(&parts.headers),
        body,
    )
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
        extract(req, Verifier::from_ref(state)).await
    }
}

/// Extracts the exact bytes of a verified delivery; the [`Verifier`] comes
/// from the router's state (directly, or through [`FromRef`]).
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<S> FromRequest<S> for VerifiedBody
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        extract(req, Verifier::from_ref(state)).await
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        self.to_response()
    }
}

macro_rules! into_response {
    ($($ty:ident),* $(,)?) => {$(
        #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
        impl IntoResponse for $ty {
            fn into_response(self) -> Response {
                WebhookRejection::from(self).into_response()
            }
        }
    )*};
}

into_response!(
    InvalidSignature,
    InvalidPayload,
    PayloadTooLarge,
    FailedToReadBody,
    MissingVerifier,
);

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::extract::FromRef;
    use axum::http::{Request, StatusCode};
    use axum::routing::post;
    use bedrud_webhook_types::{Event, EventKind, Timestamp};
    use bedrud_webhook_verify::Verifier;
    use http_body_util::BodyExt;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tower::ServiceExt;

    use crate::{VerifiedBody, Webhook};

    use crate::test_support::{fresh, verifier};

    fn request(body: Vec<u8>, signature: Option<String>) -> Request<Body> {
        let mut builder = Request::post("/hook").header("content-type", "application/json");
        if let Some(signature) = signature {
            builder = builder.header("x-bedrud-signature", signature);
        }
        builder.body(Body::from(body)).unwrap()
    }

    /// A state that holds more than the verifier, as real apps do.
    #[derive(Clone)]
    struct AppState {
        verifier: Verifier,
        seen: Arc<AtomicUsize>,
    }

    impl FromRef<AppState> for Verifier {
        fn from_ref(state: &AppState) -> Verifier {
            state.verifier.clone()
        }
    }

    fn app(limit: usize) -> (Router, Arc<AtomicUsize>) {
        let seen = Arc::new(AtomicUsize::new(0));
        let state = AppState {
            verifier: verifier(limit),
            seen: seen.clone(),
        };
        async fn typed(
            axum::extract::State(state): axum::extract::State<AppState>,
            Webhook(envelope): Webhook,
        ) -> String {
            state.seen.fetch_add(1, Ordering::SeqCst);
            envelope.event.name().to_owned()
        }
        async fn raw(VerifiedBody(bytes): VerifiedBody) -> Vec<u8> {
            bytes.to_vec()
        }
        let router = Router::new()
            .route("/hook", post(typed))
            .route("/raw", post(raw))
            .with_state(state);
        (router, seen)
    }

    async fn answer(router: &Router, request: Request<Body>) -> (StatusCode, String) {
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn genuine_deliveries_reach_the_handler_typed() {
        let (router, seen) = app(crate::verify::DEFAULT_BODY_LIMIT);
        for kind in EventKind::ALL {
            let body = fresh(kind);
            let signature = verifier(1).sign(&body);
            let (status, text) = answer(&router, request(body, Some(signature))).await;
            assert_eq!(status, StatusCode::OK, "{kind}: {text}");
            assert_eq!(text, kind.as_str());
        }
        assert_eq!(seen.load(Ordering::SeqCst), EventKind::ALL.len());
    }

    #[tokio::test]
    async fn verified_body_is_the_exact_bytes() {
        let (router, _) = app(crate::verify::DEFAULT_BODY_LIMIT);
        let body = fresh(EventKind::RoomEnded);
        let signature = verifier(1).sign(&body);
        let mut req = request(body.clone(), Some(signature));
        *req.uri_mut() = "/raw".parse().unwrap();
        let (status, text) = answer(&router, req).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(text.as_bytes(), &body[..]);
    }

    #[tokio::test]
    async fn rejections_never_reach_the_handler() {
        let (router, seen) = app(512);
        let body = fresh(EventKind::Ping);
        let signature = verifier(1).sign(&body);

        let forged = format!("sha256={}", "0".repeat(64));
        let (status, text) = answer(&router, request(body.clone(), Some(forged))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(text.starts_with("signature mismatch"), "{text}");

        let (status, _) = answer(&router, request(body.clone(), None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Genuinely signed, but `durationMs` is a string: the typed extractor
        // refuses it with 400, the raw one accepts it.
        let wrong = format!(
            r#"{{"data":{{"durationMs":"1h"}},"event":"recording.completed","timestamp":"{}"}}"#,
            Timestamp::now()
        )
        .into_bytes();
        let signature_wrong = verifier(1).sign(&wrong);
        let (status, text) = answer(
            &router,
            request(wrong.clone(), Some(signature_wrong.clone())),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        assert!(text.contains("durationMs"), "{text}");
        let mut raw = request(wrong, Some(signature_wrong));
        *raw.uri_mut() = "/raw".parse().unwrap();
        assert_eq!(answer(&router, raw).await.0, StatusCode::OK);

        let big = vec![b' '; 513];
        let big_signature = verifier(1).sign(&big);
        let (status, _) = answer(&router, request(big, Some(big_signature))).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

        assert_eq!(seen.load(Ordering::SeqCst), 0);
        // And the genuine one still passes.
        assert_eq!(
            answer(&router, request(body, Some(signature))).await.0,
            StatusCode::OK
        );
        assert_eq!(seen.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_verifier_can_be_the_whole_state() {
        async fn handler(Webhook(envelope): Webhook) -> StatusCode {
            if matches!(envelope.event, Event::Ping) {
                StatusCode::NO_CONTENT
            } else {
                StatusCode::OK
            }
        }
        let router = Router::new()
            .route("/hook", post(handler))
            .with_state(verifier(1024));
        let body = fresh(EventKind::Ping);
        let signature = verifier(1).sign(&body);
        let (status, _) = answer(&router, request(body, Some(signature))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
}
