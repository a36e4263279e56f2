use http::StatusCode;

use crate::VerifyError;

/// Why an integration answered a request itself instead of calling the handler.
///
/// Every integration answers the same way: [`status`](Self::status) with
/// [`reason`](Self::reason)'s message as a plain-text body. Nothing in it
/// comes from the request or the secret.
///
/// ```
/// use bedrud_webhook::{VerifyError, WebhookRejection};
/// use http::StatusCode;
///
/// let rejection = WebhookRejection::from(VerifyError::SignatureMismatch);
/// assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(rejection.reason(), "signature_mismatch");
/// assert_eq!(WebhookRejection::BodyTimeout.status(), StatusCode::REQUEST_TIMEOUT);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookRejection {
    /// The verifier refused the delivery: 401, 400 or 413.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The body did not arrive within the verifier's body timeout: 408.
    #[error("the body did not arrive in time")]
    BodyTimeout,
    /// The connection failed while the body was read: 400.
    #[error("the body could not be read")]
    BodyRead,
    /// No [`Verifier`](crate::Verifier) is configured for this route: 500.
    #[error("no bedrud_webhook::Verifier is configured for this route")]
    MissingVerifier,
    /// A genuine delivery the replay guard has seen before: `200 OK` with the
    /// duplicate header, and the handler does not run.
    #[error("duplicate delivery: already received, not handled again")]
    Duplicate,
    /// The replay guard's store could not be reached: 503.
    #[error("the replay store is unavailable; try again later")]
    ReplayStoreUnavailable,
    /// Not a `POST`, the one method Bedrud sends: 405 with `Allow: POST`.
    #[error("deliveries are POSTed; this method is not allowed")]
    MethodNotAllowed,
    /// A durable route could not commit the delivery: 503.
    #[error("the delivery could not be stored; try again later")]
    StorageUnavailable,
}

impl WebhookRejection {
    /// The status to answer with.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            WebhookRejection::Verify(e) => e.status(),
            WebhookRejection::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            WebhookRejection::BodyRead => StatusCode::BAD_REQUEST,
            WebhookRejection::MissingVerifier => StatusCode::INTERNAL_SERVER_ERROR,
            WebhookRejection::Duplicate => StatusCode::OK,
            WebhookRejection::ReplayStoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            WebhookRejection::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            WebhookRejection::StorageUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A short, stable name for logs and metrics, such as `signature_mismatch`.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            WebhookRejection::Verify(e) => e.reason(),
            WebhookRejection::BodyTimeout => "body_timeout",
            WebhookRejection::BodyRead => "body_read_failed",
            WebhookRejection::MissingVerifier => "missing_verifier",
            WebhookRejection::Duplicate => "duplicate",
            WebhookRejection::ReplayStoreUnavailable => "replay_store_unavailable",
            WebhookRejection::MethodNotAllowed => "method_not_allowed",
            WebhookRejection::StorageUnavailable => "storage_unavailable",
        }
    }

    /// Whether the connection must close after the answer: the body was
    /// not read to its end, so what follows on the connection is unknown.
    #[must_use]
    pub fn closes_connection(&self) -> bool {
        matches!(
            self,
            WebhookRejection::BodyTimeout
                | WebhookRejection::BodyRead
                | WebhookRejection::Verify(VerifyError::BodyTooLarge { .. })
        )
    }

    /// The response every integration sends: the status, `text/plain`, the
    /// message, `Connection: close` when [`closes_connection`](Self::closes_connection),
    /// `Allow: POST` on a 405, and the replay guard's duplicate header on a duplicate.
    #[must_use]
    pub fn to_response(&self) -> http::Response<String> {
        let mut response = http::Response::new(format!("{self}\n"));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        if self.closes_connection() {
            headers.insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
        }
        if let WebhookRejection::MethodNotAllowed = self {
            headers.insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
        }
        #[cfg(any(feature = "axum", feature = "actix-web", feature = "tower"))]
        if let WebhookRejection::Duplicate = self {
            let value = http::HeaderValue::from_static("true");
            headers.insert(crate::replay::DUPLICATE_HEADER, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_reasons() {
        let cases = [
            (
                WebhookRejection::from(VerifyError::MissingSignature),
                401,
                "missing_signature",
            ),
            (
                WebhookRejection::from(VerifyError::BodyTooLarge { limit: 1 }),
                413,
                "body_too_large",
            ),
            (WebhookRejection::BodyTimeout, 408, "body_timeout"),
            (WebhookRejection::BodyRead, 400, "body_read_failed"),
            (WebhookRejection::MissingVerifier, 500, "missing_verifier"),
            (WebhookRejection::Duplicate, 200, "duplicate"),
            (
                WebhookRejection::ReplayStoreUnavailable,
                503,
                "replay_store_unavailable",
            ),
            (
                WebhookRejection::MethodNotAllowed,
                405,
                "method_not_allowed",
            ),
            (
                WebhookRejection::StorageUnavailable,
                503,
                "storage_unavailable",
            ),
        ];
        for (rejection, status, reason) in cases {
            let response = rejection.to_response();
            assert_eq!(
                (response.status().as_u16(), rejection.reason()),
                (status, reason)
            );
            assert_eq!(
                response.headers().contains_key("connection"),
                rejection.closes_connection()
            );
            assert_eq!(
                response.headers().contains_key("bedrud-webhook-duplicate"),
                rejection.reason() == "duplicate"
            );
            assert_eq!(
                response.headers().get("allow").map(|v| v.as_bytes()),
                (status == 405).then_some(&b"POST"[..])
            );
        }
    }
}
