use bytes::Bytes;

use crate::Envelope;

/// A verified, typed delivery: an extractor for axum (`axum` feature) and
/// actix-web (`actix-web` feature).
///
/// The handler runs only for genuine deliveries; every other request was
/// answered with a [`WebhookRejection`](crate::WebhookRejection) (401, 400,
/// 408 or 413). The [`Verifier`](crate::Verifier) comes from axum's state
/// (directly or through `FromRef`) or from actix-web's `app_data`.
#[derive(Debug, Clone)]
pub struct Webhook(pub Envelope);

/// The exact verified body, its `data` left unparsed: for "verify now, parse
/// later" (an extractor like [`Webhook`]).
#[derive(Debug, Clone)]
pub struct VerifiedBody(pub Bytes);
