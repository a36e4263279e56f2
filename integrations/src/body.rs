//! The body bounds every integration shares, and the reader for `http_body`
//! bodies (axum and tower).

use std::time::Duration;

/// After refusing a body as too large, read and discard at most this much
/// of it before closing, so the sender reads the 413 instead of a reset.
#[cfg(any(feature = "axum", feature = "tower"))]
pub(crate) const DRAIN_LIMIT: usize = 1024 * 1024;
/// ... and for at most this long.
pub(crate) const DRAIN_TIME: Duration = Duration::from_secs(1);

/// Whether a `Content-Length` value declares more than `limit` bytes. An
/// unreadable value does not: the reader's own limit still applies.
pub(crate) fn declares_over(content_length: Option<&[u8]>, limit: usize) -> bool {
    content_length
        .and_then(|value| std::str::from_utf8(value).ok())
        .and_then(|value| value.parse::<u64>().ok())
        .is_some_and(|length| length > limit as u64)
}

#[cfg(any(feature = "axum", feature = "tower"))]
pub(crate) use reader::read;

#[cfg(any(feature = "axum", feature = "tower"))]
mod reader {
    use std::pin::Pin;

    use bytes::{Buf, Bytes};
    use http::HeaderMap;
    use http_body::Body;
    use http_body_util::{BodyExt, LengthLimitError, Limited};

    use super::{DRAIN_LIMIT, DRAIN_TIME, declares_over};
    use crate::{Verifier, VerifyError, WebhookRejection};

    type BoxError = Box<dyn std::error::Error + Send + Sync>;

    /// The whole body, or the rejection that says why not. A body over the
    /// limit is refused at once; what is left of it is read and discarded
    /// in the background while the 413 goes out ([`drain`]).
    pub(crate) async fn read<B>(
        headers: &HeaderMap,
        body: B,
        verifier: &Verifier,
    ) -> Result<Bytes, WebhookRejection>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let limit = verifier.body_limit();
        let too_large = WebhookRejection::Verify(VerifyError::BodyTooLarge { limit });
        let content_length = headers.get(http::header::CONTENT_LENGTH);
        if declares_over(content_length.map(|v| v.as_bytes()), limit) {
            // A client waiting for `100 Continue` has sent nothing: don't ask for it.
            if !expects_continue(headers) {
                drain(Box::pin(body));
            }
            return Err(too_large);
        }
        // Boxed so that, over the limit, the rest can be moved to the drain.
        let mut body = Box::pin(body);
        let collect = Limited::new(body.as_mut(), limit).collect();
        match tokio::time::timeout(verifier.body_timeout(), collect).await {
            Err(_) => Err(WebhookRejection::BodyTimeout),
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
            Ok(Err(e)) if e.is::<LengthLimitError>() => {
                drain(body);
                Err(too_large)
            }
            Ok(Err(_)) => Err(WebhookRejection::BodyRead),
        }
    }

    fn expects_continue(headers: &HeaderMap) -> bool {
        headers
            .get(http::header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
    }

    /// Reads and discards what is left of a refused body in a task of its
    /// own, within [`DRAIN_LIMIT`] and [`DRAIN_TIME`]: the server writes the
    /// answer meanwhile, and a sender that writes its whole body before
    /// reading reads that answer, not a reset.
    fn drain<B>(mut body: Pin<Box<B>>)
    where
        B: Body + Send + 'static,
        B::Data: Send,
    {
        let discard = async move {
            let mut left = DRAIN_LIMIT;
            while let Some(Ok(frame)) = body.frame().await {
                let read = frame.data_ref().map_or(0, Buf::remaining);
                left = left.saturating_sub(read);
                if left == 0 {
                    break;
                }
            }
        };
        tokio::spawn(tokio::time::timeout(DRAIN_TIME, discard));
    }
}
