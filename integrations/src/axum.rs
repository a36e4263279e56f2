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

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use axum::Router;
    use axum::extract::State;
    use axum::routing::post;
    use http::{HeaderMap, StatusCode};

    use crate::body::status_table as table;
    use crate::replay::ReplayGuardLayer;
    use crate::{VerifiedBody, Verifier, Webhook};

    /// A state that holds more than the verifier, as real apps' do.
    #[derive(Clone)]
    struct AppState {
        verifier: Verifier,
        name: &'static str,
        calls: Arc<AtomicUsize>,
    }

    impl axum::extract::FromRef<AppState> for Verifier {
        fn from_ref(state: &AppState) -> Verifier {
            state.verifier.clone()
        }
    }

    async fn serve() -> SocketAddr {
        async fn typed(State(state): State<AppState>, Webhook(envelope): Webhook) -> String {
            assert_eq!(state.name, "app");
            table::describe(&envelope)
        }
        async fn raw(VerifiedBody { body, .. }: VerifiedBody) -> Vec<u8> {
            body.to_vec()
        }
        async fn guarded(
            State(state): State<AppState>,
            headers: HeaderMap,
            Webhook(_): Webhook,
        ) -> (StatusCode, String) {
            let (status, body) =
                table::guarded_answer(&state.calls, headers.contains_key("x-fail"));
            (StatusCode::from_u16(status).unwrap(), body)
        }
        let state = AppState {
            verifier: table::verifier(),
            name: "app",
            calls: Arc::default(),
        };
        let guard = ReplayGuardLayer::new(&state.verifier);
        let app = Router::new()
            .route("/typed", post(typed))
            .route("/raw", post(raw))
            .route("/guarded", post(guarded).route_layer(guard))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    #[tokio::test]
    async fn genuine_deliveries_reach_the_handler() {
        table::genuine(serve().await).await;
    }

    #[tokio::test]
    async fn the_replay_guard_runs_each_delivery_once_and_releases_failures() {
        table::replayed(serve().await).await;
    }

    #[tokio::test]
    async fn refused_deliveries_get_401_or_400() {
        table::refused(serve().await).await;
    }

    #[tokio::test]
    async fn an_oversized_body_is_413_and_the_writer_reads_it() {
        table::oversized(serve().await).await;
    }

    #[tokio::test]
    async fn an_endless_chunked_body_is_cut_off() {
        table::endless(serve().await).await;
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_413_at_once() {
        table::declared_over(serve().await).await;
    }

    #[tokio::test]
    async fn a_stalled_body_is_408_and_closed() {
        table::stalled(serve().await).await;
    }

    #[tokio::test]
    async fn expect_continue_over_the_limit_is_413_without_100_continue() {
        table::expect_continue(serve().await, false).await;
    }
}
