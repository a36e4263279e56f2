//! The tower layer's cost per request, in process: the same trivial handler
//! behind [`VerifyWebhook`] and without it, fed the end-to-end benchmark's
//! mix of genuine deliveries (room.created, participant.joined, room.ended,
//! recording.completed, ping), so that the difference is what the layer
//! adds without the network's noise around it: `verified` with the typed
//! `Envelope` extension (the default), `verified_body` verifying only
//! (`parse_envelope(false)`).
//!
//! Run with `cargo bench -p bedrud-webhook --features tower --bench layer`.

// Benchmark code: a failed unwrap or a panic is a broken benchmark set-up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bedrud_webhook::tower::{RequestBody, VerifyWebhookLayer};
use bedrud_webhook::{
    Envelope, Event, ParticipantData, RecordingData, RoomData, Secret, Timestamp, Verifier,
};
use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use tower::{Layer, ServiceExt as _, service_fn};

const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";

/// The trivial handler of the end-to-end benchmark's server.
async fn handle(request: Request<RequestBody>) -> Result<Response<Full<Bytes>>, Infallible> {
    black_box(request.extensions().get::<Envelope>());
    black_box(request.body());
    let mut response = Response::new(Full::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

/// Polls a future that never waits (every body here is in memory).
fn ready<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a body in memory made the service wait"),
    }
}

/// (signature, event, timestamp, body) of each delivery, signed now.
fn deliveries(verifier: &Verifier) -> Vec<(String, String, String, Bytes)> {
    let now = Timestamp::now();
    (0..5)
        .map(|i| {
            let event = match i {
                0 => Event::RoomCreated(RoomData::sample()),
                1 => Event::ParticipantJoined(ParticipantData::sample()),
                2 => Event::RoomEnded(RoomData::sample()),
                3 => Event::RecordingCompleted(RecordingData::sample()),
                _ => Event::Ping,
            };
            let envelope = Envelope::new(event, now);
            let body = Bytes::from(envelope.to_bedrud_json());
            (
                verifier.sign(&body),
                envelope.event.name().to_owned(),
                now.to_string(),
                body,
            )
        })
        .collect()
}

fn request(delivery: &(String, String, String, Bytes)) -> Request<Full<Bytes>> {
    let (signature, event, timestamp, body) = delivery;
    Request::post("/webhook")
        .header("host", "127.0.0.1:3900")
        .header("user-agent", "Go-http-client/1.1")
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .header("x-bedrud-signature", signature.as_str())
        .header("x-bedrud-event", event.as_str())
        .header("x-bedrud-timestamp", timestamp.as_str())
        .body(Full::new(body.clone()))
        .unwrap()
}

fn layer(c: &mut Criterion) {
    let verifier = Verifier::new(Secret::new(SECRET).unwrap());
    let deliveries = deliveries(&verifier);
    let handler = service_fn(handle);
    let layer = VerifyWebhookLayer::new(verifier);
    let webhook = layer.layer(handler);
    let verify_only = layer.parse_envelope(false).layer(handler);

    let mut group = c.benchmark_group("layer_mix");
    let mut next = 0;
    let mut pick = move || {
        next = (next + 1) % deliveries.len();
        request(&deliveries[next])
    };
    group.bench_function("unverified", |b| {
        b.iter_batched(
            &mut pick,
            |request| {
                // What the end-to-end server's unverified route does: read
                // the body whole, hand the request to the same handler.
                let (parts, body) = request.into_parts();
                let body = ready(body.collect()).unwrap().to_bytes();
                let response = ready(handler.oneshot(Request::from_parts(parts, Full::new(body))));
                assert_eq!(response.unwrap().status(), StatusCode::NO_CONTENT);
            },
            BatchSize::SmallInput,
        )
    });
    // The same layer type both ways: typed (the default) and verify-only.
    for (name, service) in [("verified", &webhook), ("verified_body", &verify_only)] {
        group.bench_function(name, |b| {
            b.iter_batched(
                &mut pick,
                |request| {
                    let response = ready(service.clone().oneshot(request));
                    assert_eq!(response.unwrap().status(), StatusCode::NO_CONTENT);
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, layer);
criterion_main!(benches);
