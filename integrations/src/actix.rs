//! actix-web 4: [`Webhook`] and [`VerifiedBody`] as extractors, and
//! [`WebhookRejection`] as a [`ResponseError`].
//!
//! The [`Verifier`] is looked up in the app data, either as itself
//! (`App::app_data(verifier)`) or wrapped in `web::Data`
//! (`App::app_data(web::Data::new(verifier))`). Without one, the extractor
//! logs an error and answers 500 saying so: that is the server's
//! misconfiguration, not the sender's fault.
//!
//! ```
//! use actix_web::{App, HttpResponse, web};
//! use bedrud_webhook::{Secret, Verifier, Webhook};
//!
//! async fn bedrud(Webhook(envelope): Webhook) -> HttpResponse {
//!     println!("{} at {}", envelope.event.name(), envelope.timestamp);
//!     HttpResponse::NoContent().finish()
//! }
//!
//! # fn app() -> Result<(), bedrud_webhook::verify::SecretError> {
//! let verifier = Verifier::new(Secret::new("the secret from Bedrud's admin")?);
//! let app = App::new()
//!     .app_data(verifier)
//!     .route("/webhooks/bedrud", web::post().to(bedrud));
//! # let _ = app;
//! # Ok(())
//! # }
//! # app().unwrap();
//! ```
//!
//! actix-web 4 is built on `http` 0.2; the headers are handed to the
//! verifier through [`DeliveryHeaders::from_pairs`], so no conversion of the
//! request is needed.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::dev::Payload;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use bedrud_webhook_verify::{DeliveryHeaders, Verifier};
use bytes::{Bytes, BytesMut};
use futures_util::Stream;

use crate::body::declared_too_large;
use crate::receive::{Receive, receive, refuse};
use crate::rejection::RESPONSE_CONTENT_TYPE;
use crate::{VerifiedBody, Webhook, WebhookRejection};

/// The future of the [`Webhook`] and [`VerifiedBody`] extractors: reads the
/// payload up to the verifier's limit, then verifies (and, for [`Webhook`],
/// parses) it.
#[must_use = "futures do nothing unless polled"]
pub struct ExtractFuture<T> {
    state: State,
    _output: PhantomData<fn() -> T>,
}

enum State {
    /// Collecting the payload; `body` never grows past `limit`.
    Reading {
        request: HttpRequest,
        verifier: Verifier,
        payload: Payload,
        body: BytesMut,
    },
    /// Refused before reading (no verifier, or a declared length over the
    /// limit); the rejection is handed out on the first poll.
    Refused(Option<WebhookRejection>),
}

impl<T> ExtractFuture<T> {
    fn new(request: &HttpRequest, payload: &mut Payload) -> Self {
        let state = match find_verifier(request) {
            None => State::Refused(Some(refuse(WebhookRejection::missing_verifier()))),
            Some(verifier) => {
                let limit = verifier.body_limit();
                let declared = request.headers().get(CONTENT_LENGTH).map(|v| v.as_bytes());
                if declared_too_large(declared, limit) {
                    State::Refused(Some(refuse(WebhookRejection::too_large(limit))))
                } else {
                    // A declared length (now known to be within the limit)
                    // sizes the buffer once; a chunked body grows it.
                    let capacity = declared
                        .and_then(|v| std::str::from_utf8(v).ok())
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    State::Reading {
                        request: request.clone(),
                        payload: payload.take(),
                        body: BytesMut::with_capacity(capacity),
                        verifier,
                    }
                }
            }
        };
        Self {
            state,
            _output: PhantomData,
        }
    }
}

fn find_verifier(request: &HttpRequest) -> Option<Verifier> {
    request.app_data::<Verifier>().cloned().or_else(|| {
        request
            .app_data::<web::Data<Verifier>>()
            .map(|data| Verifier::clone(data))
    })
}

fn delivery_headers(request: &HttpRequest) -> DeliveryHeaders<'_> {
    DeliveryHeaders::from_pairs(
        request
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().as_bytes(), value.as_bytes())),
    )
}

impl<T: Receive> Future for ExtractFuture<T> {
    type Output = Result<T, WebhookRejection>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Every field is `Unpin` (`T` appears only in a `PhantomData`).
        let this = self.get_mut();
        let (request, verifier, payload, body) = match &mut this.state {
            State::Refused(rejection) => {
                return match rejection.take() {
                    Some(rejection) => Poll::Ready(Err(rejection)),
                    // Polled again after completing: there is nothing left to
                    // give, and panicking on a caller's mistake is not ours to do.
                    None => Poll::Pending,
                };
            }
            State::Reading {
                request,
                verifier,
                payload,
                body,
            } => (request, verifier, payload, body),
        };
        let limit = verifier.body_limit();
        let read = loop {
            match Pin::new(&mut *payload).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => {
                    // Checked before copying, so the buffer never holds more
                    // than the limit.
                    if chunk.len() > limit.saturating_sub(body.len()) {
                        break Err(WebhookRejection::too_large(limit));
                    }
                    body.extend_from_slice(&chunk);
                }
                Poll::Ready(Some(Err(e))) => break Err(WebhookRejection::failed_to_read(e)),
                Poll::Ready(None) => break Ok(Bytes::from(std::mem::take(body))),
            }
        };
        let outcome = receive(verifier, &delivery_headers(request), read);
        this.state = State::Refused(None);
        Poll::Ready(outcome)
    }
}

/// Extracts a verified, typed delivery; the [`Verifier`] comes from
/// `app_data` (see the [module documentation](self)).
#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
impl FromRequest for Webhook {
    type Error = WebhookRejection;
    type Future = ExtractFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ExtractFuture::new(req, payload)
    }
}

/// Extracts the exact bytes of a verified delivery; the [`Verifier`] comes
/// from `app_data` (see the [module documentation](self)).
#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
impl FromRequest for VerifiedBody {
    type Error = WebhookRejection;
    type Future = ExtractFuture<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ExtractFuture::new(req, payload)
    }
}

/// The same status and one-line plain-text body as every other integration.
#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
impl ResponseError for WebhookRejection {
    fn status_code(&self) -> actix_web::http::StatusCode {
        // actix-web 4 uses `http` 0.2's `StatusCode`; every status here is a
        // standard one that both versions know.
        actix_web::http::StatusCode::from_u16(self.status().as_u16())
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .insert_header((CONTENT_TYPE, RESPONSE_CONTENT_TYPE))
            .body(self.body_text())
    }
}

impl<T> std::fmt::Debug for ExtractFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Reading { body, .. } => format!("reading ({} bytes so far)", body.len()),
            State::Refused(Some(_)) => "refused".to_owned(),
            State::Refused(None) => "done".to_owned(),
        };
        f.debug_struct("ExtractFuture")
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use std::pin::Pin;

    use actix_web::dev::Payload;
    use actix_web::error::PayloadError;
    use actix_web::http::StatusCode;
    use actix_web::test::{TestRequest, call_service, init_service, read_body};
    use actix_web::{App, FromRequest, HttpResponse, web};
    use bedrud_webhook_types::{Event, EventKind};

    use bytes::Bytes;

    use crate::{VerifiedBody, Webhook, WebhookRejection};

    use crate::test_support::{fresh, sign, verifier};

    #[actix_web::test]
    async fn genuine_and_rejected_requests_through_an_app() {
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        let app = init_service(
            App::new()
                .app_data(verifier(512))
                .app_data(web::Data::new(counter))
                .route(
                    "/hook",
                    web::post().to(
                        |seen: web::Data<Arc<AtomicUsize>>, Webhook(envelope): Webhook| async move {
                            seen.fetch_add(1, Ordering::SeqCst);
                            HttpResponse::Ok().body(envelope.event.name().to_owned())
                        },
                    ),
                ),
        )
        .await;

        for kind in EventKind::ALL {
            let body = fresh(kind);
            let req = TestRequest::post()
                .uri("/hook")
                .insert_header(("X-Bedrud-Signature", sign(&body)))
                .set_payload(body)
                .to_request();
            let res = call_service(&app, req).await;
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(read_body(res).await, kind.as_str().as_bytes());
        }
        assert_eq!(seen.load(Ordering::SeqCst), EventKind::ALL.len());

        let body = fresh(EventKind::Ping);
        let cases = [
            (
                Some(format!("sha256={}", "0".repeat(64))),
                body.clone(),
                401,
            ),
            (None, body.clone(), 401),
            (Some("sha1=abc".to_owned()), body.clone(), 401),
            (Some(sign(b"not json")), b"not json".to_vec(), 400),
            (Some(sign(&[b' '; 513])), vec![b' '; 513], 413),
        ];
        for (signature, body, status) in cases {
            let mut req = TestRequest::post().uri("/hook");
            if let Some(signature) = signature {
                req = req.insert_header(("X-Bedrud-Signature", signature));
            }
            let res = call_service(&app, req.set_payload(body).to_request()).await;
            assert_eq!(res.status().as_u16(), status);
            assert_eq!(
                res.headers().get("content-type").unwrap(),
                "text/plain; charset=utf-8"
            );
        }
        assert_eq!(seen.load(Ordering::SeqCst), EventKind::ALL.len());
    }

    #[actix_web::test]
    async fn the_verifier_may_be_wrapped_in_data() {
        let app = init_service(App::new().app_data(web::Data::new(verifier(1024))).route(
            "/raw",
            web::post().to(|VerifiedBody(bytes): VerifiedBody| async move {
                HttpResponse::Ok().body(bytes)
            }),
        ))
        .await;
        let body = fresh(EventKind::RoomEnded);
        let req = TestRequest::post()
            .uri("/raw")
            .insert_header(("x-bedrud-signature", sign(&body)))
            .set_payload(body.clone())
            .to_request();
        let res = call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(read_body(res).await, Bytes::from(body));
    }

    #[actix_web::test]
    async fn a_missing_verifier_is_a_500_that_says_so() {
        let app = init_service(App::new().route(
            "/hook",
            web::post().to(|Webhook(envelope): Webhook| async move {
                HttpResponse::Ok().body(envelope.event.name().to_owned())
            }),
        ))
        .await;
        let body = fresh(EventKind::Ping);
        let req = TestRequest::post()
            .uri("/hook")
            .insert_header(("x-bedrud-signature", sign(&body)))
            .set_payload(body)
            .to_request();
        let res = call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let text = read_body(res).await;
        assert!(
            std::str::from_utf8(&text)
                .unwrap()
                .contains("no bedrud_webhook::Verifier"),
            "{text:?}"
        );
    }

    fn chunked(chunks: Vec<&'static [u8]>) -> Payload {
        stream_payload(chunks.into_iter().map(|c| Ok(Bytes::from_static(c))))
    }

    /// A payload that arrives as the given pieces, without a length.
    fn stream_payload(
        items: impl Iterator<Item = Result<Bytes, PayloadError>> + 'static,
    ) -> Payload {
        let stream: Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, PayloadError>>>> =
            Box::pin(futures_util::stream::iter(items));
        Payload::from(stream)
    }

    #[actix_web::test]
    async fn a_chunked_body_is_cut_off_one_byte_over_the_limit() {
        let ping = fresh(EventKind::Ping).leak();
        let limit = ping.len();
        let (req, _) = TestRequest::post()
            .app_data(verifier(limit))
            .insert_header(("x-bedrud-signature", sign(ping)))
            .to_http_parts();

        let (head, tail) = ping.split_at(limit / 2);
        let exact = Webhook::from_request(&req, &mut chunked(vec![head, tail])).await;
        assert!(matches!(exact.unwrap().event, Event::Ping));

        let over = Webhook::from_request(&req, &mut chunked(vec![head, tail, b" "])).await;
        let err = over.unwrap_err();
        assert!(
            matches!(err, WebhookRejection::PayloadTooLarge(_)),
            "{err:?}"
        );
    }

    #[actix_web::test]
    async fn a_declared_length_over_the_limit_is_refused_before_reading() {
        let (req, _) = TestRequest::post()
            .app_data(verifier(10))
            .insert_header(("content-length", "11"))
            .to_http_parts();
        // A payload that would fail if it were read at all.
        let mut payload = stream_payload([Err(PayloadError::Incomplete(None))].into_iter());
        let err = VerifiedBody::from_request(&req, &mut payload)
            .await
            .unwrap_err();
        assert_eq!(err.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
    }
}
