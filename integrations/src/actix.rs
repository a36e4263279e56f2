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
    use actix_web::{App, test, web};

    use crate::{Secret, Timestamp, Verifier, Webhook, sign};

    const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";

    async fn typed(Webhook(envelope): Webhook) -> String {
        envelope.event.name().to_owned()
    }

    /// A genuine `ping`, stamped now.
    fn ping() -> test::TestRequest {
        let body = format!(
            r#"{{"data":{{}},"event":"ping","timestamp":"{}"}}"#,
            Timestamp::now()
        );
        let signature = sign(&Secret::new(SECRET).unwrap(), body.as_bytes());
        test::TestRequest::post()
            .uri("/typed")
            .insert_header(("X-Bedrud-Signature", signature))
            .set_payload(body)
    }

    /// The live-server cases are in the tests crate (`frameworks.rs`,
    /// `status_table.rs`), whose actix-web server has the verifier in
    /// `app_data` as itself; here, in `web::Data`, and missing.
    #[actix_web::test]
    async fn the_verifier_is_found_in_web_data_and_a_missing_one_is_a_500_that_says_so() {
        let verifier = Verifier::new(Secret::new(SECRET).unwrap());
        let app = App::new()
            .app_data(web::Data::new(verifier))
            .route("/typed", web::post().to(typed));
        let app = test::init_service(app).await;
        let response = test::call_service(&app, ping().to_request()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(test::read_body(response).await, "ping");

        let app = App::new().route("/typed", web::post().to(typed));
        let app = test::init_service(app).await;
        let response = test::call_service(&app, ping().to_request()).await;
        assert_eq!(response.status(), 500);
        let body = test::read_body(response).await;
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("no bedrud_webhook::Verifier"), "{body}");
    }
}
