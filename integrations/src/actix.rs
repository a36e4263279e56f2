//! actix-web 4: [`Webhook`] and [`VerifiedBody`] as extractors, [`WebhookRejection`]
//! as their error.
//!
//! actix-web 4 is built on `http` 0.2: headers reach the verifier as pairs
//! ([`Verifier::verify_pairs`]), and the rejection's response is rebuilt with
//! actix-web's own types.

use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Method;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;

use crate::body::{DRAIN_TIME, declares_over};
use crate::check::{self, Checked, Headers};
use crate::replay::{ReplayCheck, ReplayGuard, ReplayGuardLayer};
use crate::{Verified, VerifiedBody, Verifier, VerifyError, Webhook, WebhookRejection};

/// `T` from `app_data`, as itself or in `web::Data`.
pub(crate) fn find<T: Clone + 'static>(req: &HttpRequest) -> Option<T> {
    let data = || req.app_data::<web::Data<T>>().map(|data| data.get_ref());
    req.app_data::<T>().or_else(data).cloned()
}

/// Reads the whole payload within the verifier's limit and timeout. A
/// declared length over the limit is refused before anything is read.
async fn read(
    req: &HttpRequest,
    verifier: &Verifier,
    mut payload: Payload,
) -> Result<Bytes, WebhookRejection> {
    let limit = verifier.body_limit();
    let too_large = || WebhookRejection::from(VerifyError::BodyTooLarge { limit });
    let declared = req.headers().get(CONTENT_LENGTH).map(|v| v.as_bytes());
    let collect = async {
        if declares_over(declared, limit) {
            return Err(too_large());
        }
        // Grown from what arrives, never reserved from the declared length.
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| WebhookRejection::BodyRead)?;
            if chunk.len() > limit - body.len() {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    let read = tokio::time::timeout(verifier.body_timeout(), collect).await;
    let read = read.unwrap_or(Err(WebhookRejection::BodyTimeout));
    if read.is_err() {
        hold(payload);
    }
    read
}

/// Keeps a refused request's unread payload alive until its response is out.
/// actix-http then closes the connection after a lingering read bounded by
/// the server's `client_disconnect_timeout`; a payload dropped at once would
/// have a chunked body read to its end, however long.
fn hold(payload: Payload) {
    if let Payload::H1 { .. } = payload {
        actix_web::rt::spawn(async move {
            tokio::time::sleep(DRAIN_TIME).await;
            drop(payload);
        });
    }
}

/// Runs the check on an actix-web request: the verifier from `app_data`,
/// the payload read by actix-http's reader.
pub(crate) async fn extract<T>(
    req: HttpRequest,
    payload: Payload,
    keep: fn(&Verified<'_>) -> Result<T, VerifyError>,
) -> Result<Checked<T>, WebhookRejection> {
    let verifier = find::<Verifier>(&req);
    let replay = req.extensions().get::<ReplayCheck>().cloned();
    let request = check::Request {
        post: req.method() == Method::POST,
        headers: Headers::Actix(req.headers()),
        peer: req.peer_addr(),
        replay: replay.as_ref(),
    };
    let read = |verifier| read(&req, verifier, payload);
    check::check(request, verifier.as_ref(), read, keep).await
}

/// Extracts a verified, typed delivery; the [`Verifier`] comes from
/// `App::app_data`, as itself or in `web::Data` (without one: 500).
#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
impl FromRequest for Webhook {
    type Error = WebhookRejection;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let checked = extract(req.clone(), payload.take(), check::envelope);
        Box::pin(async move { Ok(Webhook(checked.await?.value)) })
    }
}

/// Extracts the exact bytes of a verified delivery and its tag; the
/// [`Verifier`] comes from `App::app_data`, as for [`Webhook`].
#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
impl FromRequest for VerifiedBody {
    type Error = WebhookRejection;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let checked = extract(req.clone(), payload.take(), check::unparsed);
        Box::pin(async move {
            let checked = checked.await?;
            let (body, tag) = (checked.body, checked.tag);
            Ok(VerifiedBody { body, tag })
        })
    }
}

/// [`WebhookRejection::to_response`], as actix-web's response.
#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
impl ResponseError for WebhookRejection {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::from_u16(self.status().as_u16())
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        response(self.to_response())
    }
}

/// An `http` response as actix-web's (`http` 0.2): `Connection: close`
/// becomes actix-http's `force_close`, which writes the header itself.
pub(crate) fn response(response: http::Response<String>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let status = actix_web::http::StatusCode::from_u16(parts.status.as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (name, value) in &parts.headers {
        if name != http::header::CONNECTION {
            builder.insert_header((name.as_str(), value.as_bytes()));
        }
    }
    if parts.headers.contains_key(http::header::CONNECTION) {
        builder.force_close();
    }
    builder.body(body)
}

/// The replay guard as actix-web middleware: `.wrap(ReplayGuardLayer::new(&verifier))`.
#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
impl<S, B> Transform<S, ServiceRequest> for ReplayGuardLayer
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = ReplayGuard<S>;
    type InitError = ();
    type Future = std::future::Ready<Result<ReplayGuard<S>, ()>>;

    fn new_transform(&self, inner: S) -> Self::Future {
        let layer = self.clone();
        std::future::ready(Ok(ReplayGuard { inner, layer }))
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
impl<S, B> Service<ServiceRequest> for ReplayGuard<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<ServiceResponse<B>, actix_web::Error>>;

    forward_ready!(inner);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let (check, pending) = self.layer.check();
        req.extensions_mut().insert(check);
        let answer = self.inner.call(req);
        Box::pin(async move {
            let response = answer.await;
            let success = response.as_ref().is_ok_and(|r| r.status().is_success());
            pending.finish(success).await;
            response
        })
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

    use crate::body::status_table as table;
    use crate::replay::ReplayGuardLayer;
    use crate::{VerifiedBody, Webhook};

    async fn typed(Webhook(envelope): Webhook) -> HttpResponse {
        HttpResponse::Ok().body(table::describe(&envelope))
    }

    async fn raw(VerifiedBody { body, .. }: VerifiedBody) -> HttpResponse {
        HttpResponse::Ok().body(body)
    }

    async fn guarded(
        req: HttpRequest,
        calls: web::Data<AtomicUsize>,
        Webhook(_): Webhook,
    ) -> HttpResponse {
        let (status, body) = table::guarded_answer(&calls, req.headers().contains_key("x-fail"));
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).body(body)
    }

    /// A live server on loopback; `data` puts the verifier in `web::Data`
    /// instead of `app_data` as itself, `verifier: false` leaves it out.
    fn serve(verifier: bool, data: bool) -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let calls = web::Data::from(Arc::new(AtomicUsize::new(0)));
        // Made once, outside the factory: every worker shares its store.
        let guard = ReplayGuardLayer::new(&table::verifier());
        let server = HttpServer::new(move || {
            let guarded = web::resource("/guarded")
                .wrap(guard.clone())
                .route(web::post().to(guarded));
            let app = App::new()
                .app_data(calls.clone())
                .route("/typed", web::post().to(typed))
                .route("/raw", web::post().to(raw))
                .service(guarded);
            match (verifier, data) {
                (false, _) => app,
                (true, false) => app.app_data(table::verifier()),
                (true, true) => app.app_data(web::Data::new(table::verifier())),
            }
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        addr
    }

    #[actix_web::test]
    async fn genuine_deliveries_reach_the_handler() {
        table::genuine(serve(true, false)).await;
        table::genuine(serve(true, true)).await;
    }

    #[actix_web::test]
    async fn the_replay_guard_runs_each_delivery_once_and_releases_failures() {
        table::replayed(serve(true, false)).await;
    }

    #[actix_web::test]
    async fn refused_deliveries_get_401_or_400() {
        table::refused(serve(true, false)).await;
    }

    #[actix_web::test]
    async fn an_oversized_body_is_413_and_the_writer_reads_it() {
        table::oversized(serve(true, false)).await;
    }

    #[actix_web::test]
    async fn an_endless_chunked_body_is_cut_off() {
        table::endless(serve(true, false)).await;
    }

    #[actix_web::test]
    async fn a_declared_length_over_the_limit_is_413_at_once() {
        table::declared_over(serve(true, false)).await;
    }

    #[actix_web::test]
    async fn a_stalled_body_is_408_and_closed() {
        table::stalled(serve(true, false)).await;
    }

    #[actix_web::test]
    async fn expect_continue_over_the_limit_is_413_after_actix_http_100_continue() {
        table::expect_continue(serve(true, false), true).await;
    }

    #[actix_web::test]
    async fn a_missing_verifier_is_a_500_that_says_so() {
        let reply = table::exchange(serve(false, false), &table::signed_ping("/typed")).await;
        assert_eq!(reply.status, 500);
        assert!(
            reply.body.contains("no bedrud_webhook::Verifier"),
            "{}",
            reply.body
        );
    }
}
