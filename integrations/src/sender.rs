//! The reference sender: delivers exactly what Bedrud delivers.
//!
//! [`Delivery`] builds the request Bedrud's dispatcher sends for an event:
//! the body encoded byte for byte as Go encodes it, signed with HMAC-SHA256,
//! with the same headers (`X-Bedrud-*`, or the admin guide's `X-Webhook-*`
//! names through [`HeaderDialect`]). It is a plain
//! [`http::Request<Bytes>`](http::Request), so any client, or a
//! `tower::Service` called directly, can take it.
//!
//! [`Sender`] delivers it the way Bedrud does: one attempt, a 10-second
//! timeout, and a [`DeliveryReport`] with the status code and the latency,
//! what the admin **Test** button shows. Any 2xx is a success; the response
//! body is ignored.
//!
//! ```no_run
//! use bedrud_webhook::sender::{Delivery, Sender};
//! use bedrud_webhook::types::{Envelope, EventKind};
//! use bedrud_webhook::verify::Secret;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let secret = Secret::new("9f86d081884c7d659a2feaa0c55ad015")?;
//! let envelope = Envelope::sample(EventKind::RoomEnded);
//!
//! let report = Sender::new()
//!     .deliver("http://127.0.0.1:3000/webhooks/bedrud", &secret, &envelope)
//!     .await?;
//! println!("{} in {} ms", report.status, report.latency.as_millis());
//!
//! // Or build the request and send it with any client (or a tower service).
//! let request = Delivery::new(&envelope)
//!     .legacy_headers()
//!     .request("http://127.0.0.1:3000/webhooks/bedrud", &secret)?;
//! assert!(request.headers().contains_key("x-webhook-signature"));
//! # Ok(())
//! # }
//! ```
//!
//! The request for the wire format's golden vector, checked without a
//! network:
//!
//! ```
//! use bedrud_webhook::sender::Delivery;
//! use bedrud_webhook::verify::Secret;
//!
//! let secret = Secret::new("9f86d081884c7d659a2feaa0c55ad015")?;
//! let body = r#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#;
//! let request = Delivery::from_body(body).request("http://127.0.0.1:3000/hook", &secret)?;
//!
//! let headers = request.headers();
//! assert_eq!(headers["x-bedrud-signature"],
//!     "sha256=5f16939ad45069b2126b88cd3cf1736bc6cd112fc47c6ee8b14874876644b572");
//! assert_eq!(headers["x-bedrud-event"], "ping");
//! assert_eq!(headers["x-bedrud-timestamp"], "2026-04-01T12:34:56Z");
//! assert_eq!(headers["user-agent"], "Go-http-client/1.1");
//! assert_eq!(request.body().as_ref(), body.as_bytes());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod client;
mod delivery;
mod error;

pub use client::{DEFAULT_TIMEOUT, DeliveryReport, Sender};
pub use delivery::{Delivery, GO_USER_AGENT, HeaderDialect};
pub use error::SendError;
