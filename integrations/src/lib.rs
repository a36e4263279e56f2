//! Receive Bedrud webhooks in Rust: every delivery verified (HMAC-SHA256
//! signature, signed timestamp, headers) and parsed into a typed event
//! before your handler runs, with drop-in support for axum, actix-web and
//! any tower stack.
//!
//! # axum
//!
//! With the `axum` feature, [`Webhook`] is an extractor; the [`Verifier`]
//! comes from the router's state (directly, or through `FromRef`):
//!
//! ```
//! # #[cfg(feature = "axum")]
//! use axum::{Router, http::StatusCode, routing::post};
//! # #[cfg(feature = "axum")]
//! use bedrud_webhook::{Envelope, Event, Secret, Timestamp, Verifier, Webhook};
//!
//! /// Runs only for genuine deliveries: the extractor has answered every
//! /// other request already (401, 400 or 413).
//! # #[cfg(feature = "axum")]
//! async fn bedrud(Webhook(envelope): Webhook) -> StatusCode {
//!     match &envelope.event {
//!         Event::RoomEnded(room) => println!("room {} ended", room.room_name),
//!         Event::RecordingCompleted(rec) => println!("recording {} is ready", rec.recording_id),
//!         other => println!("{} at {}", other.name(), envelope.timestamp),
//!     }
//!     StatusCode::NO_CONTENT
//! }
//!
//! # #[cfg(feature = "axum")]
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // The secret shown in Bedrud's admin dashboard (read it from the
//!     // environment in a real receiver).
//!     let verifier = Verifier::new(Secret::new("9f86d081884c7d659a2feaa0c55ad015")?);
//!     let app = Router::new()
//!         .route("/webhooks/bedrud", post(bedrud))
//!         .with_state(verifier.clone());
//!
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     tokio::spawn(async move { axum::serve(listener, app).await });
//!
//!     // What Bedrud sends: its exact JSON, signed with the secret.
//!     let body = Envelope::new(Event::Ping, Timestamp::now()).to_bedrud_json();
//!     assert_eq!(deliver(addr, &verifier.sign(&body), &body).await?, 204);
//!
//!     // A forgery never reaches the handler.
//!     let forged = format!("sha256={}", "0".repeat(64));
//!     assert_eq!(deliver(addr, &forged, &body).await?, 401);
//!     Ok(())
//! }
//! # #[cfg(not(feature = "axum"))]
//! # fn main() {}
//! #
//! # /// POSTs `body` with a signature over a fresh connection; returns the status.
//! # #[cfg(feature = "axum")]
//! # async fn deliver(addr: std::net::SocketAddr, signature: &str, body: &[u8]) -> std::io::Result<u16> {
//! #     use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! #     let mut stream = tokio::net::TcpStream::connect(addr).await?;
//! #     let head = format!(
//! #         "POST /webhooks/bedrud HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
//! #          X-Bedrud-Signature: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
//! #         body.len()
//! #     );
//! #     stream.write_all(head.as_bytes()).await?;
//! #     stream.write_all(body).await?;
//! #     let mut response = Vec::new();
//! #     stream.read_to_end(&mut response).await?;
//! #     let status = response.get(9..12).and_then(|s| std::str::from_utf8(s).ok());
//! #     status.and_then(|s| s.parse().ok()).ok_or_else(|| std::io::Error::other("not HTTP"))
//! # }
//! ```
//!
//! [`VerifiedBody`] is the same extractor for "verify now, parse later": it
//! yields the exact verified bytes and leaves `data` unparsed.
//!
//! # actix-web
//!
//! With the `actix-web` feature, the same [`Webhook`] and [`VerifiedBody`] are
//! actix-web extractors, and [`WebhookRejection`] is a `ResponseError`. The
//! [`Verifier`] comes from `app_data` (as itself or in a `web::Data`); without
//! one, the extractor answers 500 and logs that the server is misconfigured.
//!
//! ```
//! # #[cfg(feature = "actix-web")]
//! use actix_web::{App, HttpResponse, HttpServer, web};
//! # #[cfg(feature = "actix-web")]
//! use bedrud_webhook::{Envelope, Event, Secret, Timestamp, Verifier, Webhook};
//!
//! # #[cfg(feature = "actix-web")]
//! async fn bedrud(Webhook(envelope): Webhook) -> HttpResponse {
//!     match &envelope.event {
//!         Event::ParticipantJoined(who) => println!("{} joined {}", who.user_id, who.room_name),
//!         other => println!("{} at {}", other.name(), envelope.timestamp),
//!     }
//!     HttpResponse::NoContent().finish()
//! }
//!
//! # #[cfg(feature = "actix-web")]
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let verifier = Verifier::new(Secret::new("9f86d081884c7d659a2feaa0c55ad015")?);
//!     let app_verifier = verifier.clone();
//!     let server = HttpServer::new(move || {
//!         App::new()
//!             .app_data(app_verifier.clone())
//!             .route("/webhooks/bedrud", web::post().to(bedrud))
//!     })
//!     .workers(1)
//!     .bind(("127.0.0.1", 0))?;
//!     let addr = server.addrs()[0];
//!     let server = server.run();
//!     let handle = server.handle();
//!     actix_web::rt::spawn(server);
//!
//!     let body = Envelope::new(Event::Ping, Timestamp::now()).to_bedrud_json();
//!     assert_eq!(deliver(addr, &verifier.sign(&body), &body).await?, 204);
//!     let forged = format!("sha256={}", "0".repeat(64));
//!     assert_eq!(deliver(addr, &forged, &body).await?, 401);
//!
//!     handle.stop(true).await;
//!     Ok(())
//! }
//! # #[cfg(not(feature = "actix-web"))]
//! # fn main() {}
//! #
//! # #[cfg(feature = "actix-web")]
//! # async fn deliver(addr: std::net::SocketAddr, signature: &str, body: &[u8]) -> std::io::Result<u16> {
//! #     use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! #     let mut stream = tokio::net::TcpStream::connect(addr).await?;
//! #     let head = format!(
//! #         "POST /webhooks/bedrud HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
//! #          X-Bedrud-Signature: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
//! #         body.len()
//! #     );
//! #     stream.write_all(head.as_bytes()).await?;
//! #     stream.write_all(body).await?;
//! #     let mut response = Vec::new();
//! #     stream.read_to_end(&mut response).await?;
//! #     let status = response.get(9..12).and_then(|s| std::str::from_utf8(s).ok());
//! #     status.and_then(|s| s.parse().ok()).ok_or_else(|| std::io::Error::other("not HTTP"))
//! # }
//! ```
//!
//! # tower (and plain hyper)
//!
//! With the `tower` feature, [`tower::VerifyWebhookLayer`] guards any
//! `http::Request<B>` service: it answers rejected requests itself and
//! forwards genuine ones with their body intact and the typed [`Envelope`]
//! in the request extensions. See the [`tower`] module.
//!
//! # Features
//!
//! None is on by default; turn on the one for your framework.
//!
//! | feature | what it adds |
//! |---|---|
//! | `axum` | [`Webhook`], [`VerifiedBody`] as axum 0.8 extractors; [`WebhookRejection`] as `IntoResponse` |
//! | `actix-web` | [`Webhook`], [`VerifiedBody`] as actix-web 4 extractors; [`WebhookRejection`] as `ResponseError`; the [`actix`] module |
//! | `tower` | the [`tower`] module: `VerifyWebhookLayer` for hyper, axum and any tower stack |
//! | `sender` | the `sender` module: sends exactly what Bedrud would, for tests |
//!
//! Without any feature the crate still re-exports the [`types`] and the
//! [`verify`] crates, and checks deliveries received by any other framework
//! with [`Webhook::verify`] and [`VerifiedBody::verify`].
//!
//! # Status codes
//!
//! Every integration answers the same way, and the handler runs only for
//! the first row:
//!
//! | request | status |
//! |---|---|
//! | a genuine delivery, including an event this SDK does not know yet | your handler's (answer 2xx: Bedrud logs anything else as a failure) |
//! | any authenticity failure: a missing, malformed, duplicated or mismatched signature; a signed timestamp outside the tolerance (stale or from the future); an unsigned header (`X-Bedrud-Event`, `X-Webhook-Event`, `X-Bedrud-Timestamp`) that disagrees with the signed body | **401** |
//! | a genuinely signed body that is not a Bedrud envelope: not a JSON object, no `event` or `timestamp`, a timestamp that is not RFC 3339, or a known event's `data` with a field of the wrong type | **400** |
//! | a body over the verifier's limit (256 KiB by default): refused from `Content-Length` before reading, or as soon as one byte too many arrives; no more than the limit is ever held | **413** |
//!
//! A body that cannot be read (the client hung up) is a 400 as well, and a
//! missing verifier in actix-web's `app_data` a 500 (see
//! [`WebhookRejection`]). Responses are one line of plain text naming the
//! reason, such as `signature mismatch: the signature does not match the body
//! for any configured secret`; they never contain the secret or the expected
//! MAC. Each rejection is logged once through `tracing`: authenticity failures
//! at `warn`, the others at `debug`.
//!
//! The limit, the tolerance (±5 minutes by default) and the secrets
//! (current and previous, for a rotation) are set on the [`Verifier`] with
//! [`Verifier::builder`].
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use bedrud_webhook_types as types;
pub use bedrud_webhook_verify as verify;

pub use bedrud_webhook_types::{
    Envelope, Event, EventKind, ParseError, ParticipantData, RecordingData, RecordingStatus,
    RoomData, Timestamp, UnknownEvent,
};
pub use bedrud_webhook_verify::{DeliveryHeaders, Secret, Verifier, VerifierBuilder};

pub use extract::{VerifiedBody, Webhook};
pub use rejection::WebhookRejection;

#[cfg(any(feature = "axum", feature = "actix-web", feature = "tower"))]
mod body;
mod extract;
mod receive;
pub mod rejection;

#[cfg(feature = "axum")]
mod axum_extract;

#[cfg(feature = "actix-web")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix-web")))]
pub mod actix;

#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

#[cfg(feature = "sender")]
#[cfg_attr(docsrs, doc(cfg(feature = "sender")))]
pub mod sender;
