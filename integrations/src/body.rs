//! Reading a request body without ever holding more than the limit.

/// Whether a declared `Content-Length` already exceeds `limit`, so that the
/// request can be refused before a byte of its body is read.
///
/// A value that is not a plain decimal number is left for the HTTP server to
/// refuse (hyper and actix-web do); the body is then read under the limit
/// like any other.
pub(crate) fn declared_too_large(content_length: Option<&[u8]>, limit: usize) -> bool {
    let Some(value) = content_length else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(value) else {
        return false;
    };
    let digits = text.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    // All digits, so a parse failure can only be an overflow: a length
    // that does not even fit a `usize` is over any limit.
    digits
        .parse::<usize>()
        .map_or(true, |length| length > limit)
}

#[cfg(feature = "tower")]
pub(crate) use http_body_reader::ReadBody;
#[cfg(any(feature = "axum", feature = "tower"))]
pub(crate) use http_body_reader::read_body;

#[cfg(any(feature = "axum", feature = "tower"))]
mod http_body_reader {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll, ready};

    use bytes::Bytes;
    use http::HeaderMap;
    use http::header::CONTENT_LENGTH;
    use http_body::Body;
    use http_body_util::combinators::Collect;
    use http_body_util::{BodyExt, LengthLimitError, Limited};
    use pin_project_lite::pin_project;

    use super::declared_too_large;
    use crate::WebhookRejection;
    use crate::rejection::BoxError;

    pin_project! {
        /// Reads an `http_body::Body` of at most `limit` bytes.
        ///
        /// A named future rather than an `async fn` so that the tower
        /// layer's `ResponseFuture` can hold it without boxing.
        #[project = ReadBodyProj]
        pub(crate) enum ReadBody<B>
        where
            B: Body,
            B::Error: Into<BoxError>,
        {
            /// The declared length is over the limit: nothing will be read.
            Refused { limit: usize },
            /// `Limited` fails as soon as the data seen exceeds the limit, so
            /// at most `limit` bytes are ever collected.
            Reading {
                #[pin]
                collect: Collect<Limited<B>>,
                limit: usize,
            },
        }
    }

    /// Starts reading `body`, or refuses it at once when `Content-Length` (or
    /// the body's own exact size hint) is over `limit`.
    pub(crate) fn read_body<B>(headers: &HeaderMap, body: B, limit: usize) -> ReadBody<B>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let declared = headers.get(CONTENT_LENGTH).map(|v| v.as_bytes());
        let hinted = usize::try_from(body.size_hint().lower()).unwrap_or(usize::MAX);
        if declared_too_large(declared, limit) || hinted > limit {
            ReadBody::Refused { limit }
        } else {
            ReadBody::Reading {
                collect: Limited::new(body, limit).collect(),
                limit,
            }
        }
    }

    impl<B> Future for ReadBody<B>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        type Output = Result<Bytes, WebhookRejection>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            match self.project() {
                ReadBodyProj::Refused { limit } => {
                    Poll::Ready(Err(WebhookRejection::too_large(*limit)))
                }
                ReadBodyProj::Reading { collect, limit } => {
                    let outcome = ready!(collect.poll(cx));
                    Poll::Ready(match outcome {
                        Ok(collected) => Ok(collected.to_bytes()),
                        Err(e) if e.is::<LengthLimitError>() => {
                            Err(WebhookRejection::too_large(*limit))
                        }
                        Err(e) => Err(WebhookRejection::failed_to_read(e)),
                    })
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::collections::VecDeque;

        use http_body::Frame;
        use http_body_util::Full;

        /// A body that arrives in pieces and does not know its length, like a
        /// chunked request.
        struct Chunked(VecDeque<&'static [u8]>);

        impl Body for Chunked {
            type Data = Bytes;
            type Error = std::io::Error;

            fn poll_frame(
                mut self: Pin<&mut Self>,
                _: &mut Context<'_>,
            ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
                Poll::Ready(
                    self.0
                        .pop_front()
                        .map(|p| Ok(Frame::data(Bytes::from_static(p)))),
                )
            }
        }

        fn chunked(parts: &[&'static [u8]]) -> Chunked {
            Chunked(parts.iter().copied().collect())
        }

        #[tokio::test]
        async fn reads_a_body_at_the_limit() {
            let headers = HeaderMap::new();
            let body = read_body(&headers, chunked(&[b"abc", b"de"]), 5)
                .await
                .unwrap();
            assert_eq!(&body[..], b"abcde");
        }

        #[tokio::test]
        async fn refuses_one_byte_over_the_limit_while_reading() {
            let headers = HeaderMap::new();
            let err = read_body(&headers, chunked(&[b"abc", b"def"]), 5)
                .await
                .unwrap_err();
            assert_eq!(err.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
        }

        #[tokio::test]
        async fn refuses_a_declared_length_before_reading() {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_LENGTH, "6".parse().unwrap());
            let reader = read_body(&headers, chunked(&[b"a"]), 5);
            assert!(matches!(reader, ReadBody::Refused { limit: 5 }));
            assert_eq!(reader.await.unwrap_err().status(), 413);
        }

        #[tokio::test]
        async fn refuses_an_exact_size_hint_over_the_limit() {
            let reader = read_body(
                &HeaderMap::new(),
                Full::new(Bytes::from_static(b"abcdef")),
                5,
            );
            assert!(matches!(reader, ReadBody::Refused { .. }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::declared_too_large;

    #[test]
    fn declared_lengths() {
        assert!(!declared_too_large(None, 10));
        assert!(!declared_too_large(Some(b"10"), 10));
        assert!(declared_too_large(Some(b"11"), 10));
        assert!(declared_too_large(Some(b" 11 "), 10));
        assert!(declared_too_large(Some(b"99999999999999999999"), 10));
        // Garbage is the HTTP server's to refuse; the read limit still holds.
        assert!(!declared_too_large(Some(b"ten"), 10));
        assert!(!declared_too_large(Some(b"-1"), 10));
        assert!(!declared_too_large(Some(&[0xff, 0xfe]), 10));
    }
}
