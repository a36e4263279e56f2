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

    use bytes::{Buf, Bytes, BytesMut};
    use http::HeaderMap;
    use http::header::CONTENT_LENGTH;
    use http_body::Body;
    use pin_project_lite::pin_project;

    use super::declared_too_large;
    use crate::WebhookRejection;
    use crate::rejection::BoxError;

    pin_project! {
        /// Reads an `http_body::Body` of at most `limit` bytes.
        ///
        /// A named future rather than an `async fn` so that the tower
        /// layer's `ResponseFuture` can hold it without boxing.
        ///
        /// Rather than `http_body_util`'s `Collect`, which keeps every
        /// frame in a freshly allocated queue, it keeps the first data
        /// frame as it is: hyper hands a delivery of a few hundred bytes
        /// over as one frame, which then becomes the body without an
        /// allocation or a copy. Only a body in several frames is copied,
        /// once, into one buffer.
        pub(crate) struct ReadBody<B> {
            #[pin]
            body: B,
            limit: usize,
            // `None` once the declared size is known to be over the limit.
            read: Option<Buffer>,
        }
    }

    /// What has been read so far.
    #[derive(Debug)]
    enum Buffer {
        Empty,
        One(Bytes),
        Many(BytesMut),
    }

    impl Buffer {
        fn len(&self) -> usize {
            match self {
                Buffer::Empty => 0,
                Buffer::One(bytes) => bytes.len(),
                Buffer::Many(bytes) => bytes.len(),
            }
        }

        /// Appends a frame. `remaining` (the body's lower bound of what is
        /// still to come) is asked for only when a second frame arrives, to
        /// size the one buffer of a body in several frames, which then grows
        /// no further for an honest one; at most `limit` is reserved.
        fn push(&mut self, data: Bytes, remaining: impl FnOnce() -> usize, limit: usize) {
            *self = match std::mem::replace(self, Buffer::Empty) {
                Buffer::Empty => Buffer::One(data),
                Buffer::One(first) => {
                    let read = first.len() + data.len();
                    let hint = remaining().saturating_add(read).min(limit);
                    let mut all = BytesMut::with_capacity(hint.max(read));
                    all.extend_from_slice(&first);
                    all.extend_from_slice(&data);
                    Buffer::Many(all)
                }
                Buffer::Many(mut all) => {
                    all.extend_from_slice(&data);
                    Buffer::Many(all)
                }
            };
        }

        fn into_bytes(self) -> Bytes {
            match self {
                Buffer::Empty => Bytes::new(),
                Buffer::One(bytes) => bytes,
                Buffer::Many(bytes) => bytes.freeze(),
            }
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
        let refused = declared_too_large(declared, limit) || lower_bound(&body) > limit;
        ReadBody {
            body,
            limit,
            read: (!refused).then_some(Buffer::Empty),
        }
    }

    /// The least the body says it still holds, in bytes.
    fn lower_bound<B: Body>(body: &B) -> usize {
        usize::try_from(body.size_hint().lower()).unwrap_or(usize::MAX)
    }

    impl<B> Future for ReadBody<B>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        type Output = Result<Bytes, WebhookRejection>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let mut this = self.project();
            let limit = *this.limit;
            let Some(read) = this.read.as_mut() else {
                return Poll::Ready(Err(WebhookRejection::too_large(limit)));
            };
            loop {
                // A body that knows it is over (hyper's, once its
                // `Content-Length` is read) is not polled again: that poll
                // would only say so, at the cost of its channel's atomics.
                let frame = if this.body.is_end_stream() {
                    None
                } else {
                    ready!(this.body.as_mut().poll_frame(cx))
                };
                let Some(frame) = frame else {
                    let read = std::mem::replace(read, Buffer::Empty);
                    return Poll::Ready(Ok(read.into_bytes()));
                };
                let frame = match frame {
                    Ok(frame) => frame,
                    Err(e) => return Poll::Ready(Err(WebhookRejection::failed_to_read(e))),
                };
                // Trailers carry nothing a delivery is made of.
                let Ok(mut data) = frame.into_data() else {
                    continue;
                };
                // Checked before the frame is kept, so that no more than
                // `limit` bytes are ever held.
                if read.len().saturating_add(data.remaining()) > limit {
                    return Poll::Ready(Err(WebhookRejection::too_large(limit)));
                }
                // For `Bytes` frames (hyper's) this takes the frame as it is.
                let data = data.copy_to_bytes(data.remaining());
                let body = this.body.as_ref();
                read.push(data, || lower_bound(body.get_ref()), limit);
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::collections::VecDeque;

        use http_body::Frame;
        use http_body_util::Full;

        /// Frames as a body sends them: data, trailers, or a failure. It
        /// does not know its length, like a chunked request.
        struct Frames(VecDeque<Result<Frame<Bytes>, std::io::Error>>);

        impl Body for Frames {
            type Data = Bytes;
            type Error = std::io::Error;

            fn poll_frame(
                mut self: Pin<&mut Self>,
                _: &mut Context<'_>,
            ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
                Poll::Ready(self.0.pop_front())
            }
        }

        /// A body of data frames only.
        fn chunked(parts: &[&'static [u8]]) -> Frames {
            Frames(
                parts
                    .iter()
                    .map(|p| Ok(Frame::data(Bytes::from_static(p))))
                    .collect(),
            )
        }

        /// Reads `body` to the end, with a no-op waker: every test body is
        /// ready at once.
        fn read_now<B>(
            headers: &HeaderMap,
            body: B,
            limit: usize,
        ) -> Result<Bytes, WebhookRejection>
        where
            B: Body,
            B::Error: Into<BoxError>,
        {
            let reader = std::pin::pin!(read_body(headers, body, limit));
            match reader.poll(&mut Context::from_waker(std::task::Waker::noop())) {
                Poll::Ready(outcome) => outcome,
                Poll::Pending => panic!("a ready body left the reader pending"),
            }
        }

        #[test]
        fn reads_a_body_at_the_limit() {
            let body = read_now(&HeaderMap::new(), chunked(&[b"abc", b"de"]), 5).unwrap();
            assert_eq!(&body[..], b"abcde");
        }

        #[test]
        fn refuses_one_byte_over_the_limit_while_reading() {
            let err = read_now(&HeaderMap::new(), chunked(&[b"abc", b"def"]), 5).unwrap_err();
            assert_eq!(err.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
        }

        #[test]
        fn refuses_a_declared_length_before_reading() {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_LENGTH, "6".parse().unwrap());
            let reader = read_body(&headers, chunked(&[b"a"]), 5);
            assert!(reader.read.is_none());
            let err = read_now(&headers, chunked(&[b"a"]), 5).unwrap_err();
            assert_eq!(err.status(), 413);
        }

        #[test]
        fn refuses_an_exact_size_hint_over_the_limit() {
            let reader = read_body(
                &HeaderMap::new(),
                Full::new(Bytes::from_static(b"abcdef")),
                5,
            );
            assert!(reader.read.is_none());
        }

        #[test]
        fn a_body_in_one_frame_is_handed_on_without_a_copy() {
            let sent = Bytes::from(b"{\"event\":\"ping\"}".to_vec());
            let body = read_now(&HeaderMap::new(), Full::new(sent.clone()), 64).unwrap();
            assert_eq!(body, sent);
            assert_eq!(body.as_ptr(), sent.as_ptr());
        }

        #[test]
        fn an_empty_body_reads_as_empty() {
            let body = read_now(&HeaderMap::new(), chunked(&[]), 5).unwrap();
            assert!(body.is_empty());
            let body = read_now(&HeaderMap::new(), Full::new(Bytes::new()), 0).unwrap();
            assert!(body.is_empty());
        }

        #[test]
        fn trailers_are_skipped() {
            let mut trailers = HeaderMap::new();
            trailers.insert("x-checksum", "1".parse().unwrap());
            let body = Frames(VecDeque::from([
                Ok(Frame::data(Bytes::from_static(b"ab"))),
                Ok(Frame::trailers(trailers)),
            ]));
            assert_eq!(&read_now(&HeaderMap::new(), body, 5).unwrap()[..], b"ab");
        }

        #[test]
        fn a_failing_body_is_a_read_failure_not_a_forgery() {
            let body = Frames(VecDeque::from([
                Ok(Frame::data(Bytes::from_static(b"ab"))),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "reset",
                )),
            ]));
            let err = read_now(&HeaderMap::new(), body, 5).unwrap_err();
            assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
            assert!(
                matches!(err, WebhookRejection::FailedToReadBody(_)),
                "{err:?}"
            );
        }

        proptest::proptest! {
            /// However a body is cut into frames, the reader returns exactly
            /// its bytes when they fit the limit, and 413 when they do not.
            #[test]
            fn any_framing_reads_the_same_bytes(
                frames in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..40), 0..8),
                limit in 0usize..200,
            ) {
                let whole: Vec<u8> = frames.concat();
                let body = Frames(frames.iter().map(|f| Ok(Frame::data(Bytes::from(f.clone())))).collect());
                match read_now(&HeaderMap::new(), body, limit) {
                    Ok(read) => {
                        proptest::prop_assert!(whole.len() <= limit);
                        proptest::prop_assert_eq!(&read[..], &whole[..]);
                    }
                    Err(rejection) => {
                        proptest::prop_assert!(whole.len() > limit);
                        proptest::prop_assert_eq!(rejection.status(), http::StatusCode::PAYLOAD_TOO_LARGE);
                    }
                }
            }
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
