//! `listen`: a verifying receiver built on the axum integration, printing
//! one line per request.

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bedrud_webhook::types::{Envelope, Timestamp};
use bedrud_webhook::verify::Secret;
use bedrud_webhook::{VerifiedBody, Verifier, WebhookRejection};
use http::header::ALLOW;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedSender;

use crate::cli::ListenArgs;
use crate::exit::{self, UsageError};
use crate::output;
use crate::record::{Outcome, Record, printable};
use crate::{secrets, strict};

/// What a genuine delivery is answered with. Bedrud counts any 2xx; no body
/// is needed, since Bedrud never reads it.
pub(crate) const ACCEPTED: StatusCode = StatusCode::NO_CONTENT;

/// Where the records of answered requests go.
#[derive(Debug, Clone)]
pub(crate) enum Report {
    /// Printed: readable lines, or envelopes as JSON lines.
    Print {
        /// `--json`.
        json: bool,
    },
    /// Handed over, for `demo` to compare with what it expected.
    Channel(UnboundedSender<Record>),
}

/// The receiver's shared state.
#[derive(Debug, Clone)]
pub(crate) struct Receiver {
    verifier: Verifier,
    path: Arc<str>,
    strict: bool,
    report: Report,
}

impl FromRef<Receiver> for Verifier {
    fn from_ref(receiver: &Receiver) -> Verifier {
        receiver.verifier.clone()
    }
}

impl Receiver {
    pub(crate) fn new(verifier: Verifier, path: &str, strict: bool, report: Report) -> Self {
        Self {
            verifier,
            path: Arc::from(path),
            strict,
            report,
        }
    }

    fn report(&self, record: Record) {
        match &self.report {
            Report::Channel(sender) => {
                // The demo stops listening only once it is done sending.
                let _gone = sender.send(record);
            }
            Report::Print { json } => print_record(&record, *json, self.strict),
        }
    }
}

fn print_record(record: &Record, json: bool, strict: bool) {
    match &record.outcome {
        Outcome::Accepted {
            json: envelope,
            strict: deviations,
            ..
        } => {
            // With --json, standard output carries only envelopes.
            let note: fn(String) = if json { output::err } else { output::out };
            if json {
                output::out(envelope);
            } else {
                output::out(record.line());
            }
            if strict {
                if deviations.is_empty() {
                    note("    strict: matches Bedrud's wire format exactly".to_owned());
                }
                for deviation in deviations {
                    note(format!("    strict: {deviation}"));
                }
            }
        }
        Outcome::Rejected { .. } if json => output::err(record.line()),
        Outcome::Rejected { .. } => output::out(record.line()),
    }
}

/// The receiver's routes: `POST path` through the axum integration, and a
/// line for anything else that arrives, so that a misaddressed sender shows
/// up too.
pub(crate) fn router(receiver: Receiver) -> Router {
    let path = receiver.path.to_string();
    Router::new()
        .route(&path, post(deliver).fallback(wrong_method))
        .fallback(not_found)
        .with_state(receiver)
}

/// The integration's `VerifiedBody` extractor decides; taking its `Result`
/// lets a refused delivery be reported before its rejection answers.
/// The bytes are kept (not only the typed event) for `--strict` and
/// `--json`; the typed parse then gives the same 400 `Webhook` would.
async fn deliver(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    delivery: Result<VerifiedBody, WebhookRejection>,
) -> Response {
    let received_at = Timestamp::now();
    let verified = delivery.and_then(|VerifiedBody(body)| {
        Envelope::from_slice(&body)
            .map(|envelope| (body, envelope))
            .map_err(WebhookRejection::from)
    });
    match verified {
        Ok((body, envelope)) => {
            let deviations = if receiver.strict {
                strict::check(&headers, &body)
            } else {
                Vec::new()
            };
            receiver.report(Record::accepted(
                received_at,
                ACCEPTED,
                &envelope,
                &body,
                deviations,
            ));
            ACCEPTED.into_response()
        }
        Err(rejection) => {
            receiver.report(Record::rejected(received_at, &rejection));
            rejection.into_response()
        }
    }
}

async fn wrong_method(State(receiver): State<Receiver>, method: Method) -> Response {
    let detail = format!(
        "{} {} is not a delivery; Bedrud POSTs",
        printable(method.as_str()),
        receiver.path
    );
    receiver.report(Record::refused(
        Timestamp::now(),
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        detail.clone(),
    ));
    let mut response = (StatusCode::METHOD_NOT_ALLOWED, format!("{detail}\n")).into_response();
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("POST"));
    response
}

async fn not_found(State(receiver): State<Receiver>, method: Method, uri: Uri) -> Response {
    let detail = format!(
        "nothing at {} {}; deliveries go to POST {}",
        printable(method.as_str()),
        printable(uri.path()),
        receiver.path
    );
    receiver.report(Record::refused(
        Timestamp::now(),
        StatusCode::NOT_FOUND,
        "not_found",
        detail.clone(),
    ));
    (StatusCode::NOT_FOUND, format!("{detail}\n")).into_response()
}

/// Listens until Ctrl-C.
pub(crate) async fn run(args: &ListenArgs, env: Option<OsString>) -> anyhow::Result<ExitCode> {
    if !args.path.starts_with('/') {
        return Err(UsageError::new(format!(
            "--path {:?} must start with /, such as /webhooks/bedrud",
            args.path
        ))
        .into());
    }
    let mut secrets = secrets::several(&args.secrets, env)?.into_iter();
    let (current, generated) = match secrets.next() {
        Some(secret) => (secret, false),
        None => (
            Secret::generate().context("cannot generate a secret")?,
            true,
        ),
    };
    if generated {
        // The one time a secret is printed: nobody else knows it yet, and
        // without it no sender can be configured.
        output::err(
            "no secret given, so one was generated the way Bedrud does; it is shown only now:",
        );
        output::err(format!("  {}", String::from_utf8_lossy(current.expose())));
        output::err(
            "  enter it as the webhook's secret in Bedrud's admin dashboard, or pass it to \
             `bedrud-webhook trigger --secret`",
        );
    }
    let previous: Vec<Secret> = secrets.collect();
    let secret_count = 1 + previous.len();
    let verifier = Verifier::builder(current)
        .previous_secrets(previous)
        .tolerance(Duration::from_secs(args.tolerance))
        .body_limit(args.max_body)
        .build();

    let listener = TcpListener::bind(args.addr).await.with_context(|| {
        format!(
            "cannot listen on {}: is another program using it? choose another with --addr",
            args.addr
        )
    })?;
    let local = listener
        .local_addr()
        .context("cannot tell which address the listener got")?;
    let report = Report::Print { json: args.json };
    let app = router(Receiver::new(verifier, &args.path, args.strict, report));
    output::err(format!(
        "listening on http://{local}{} ({secret_count} secret{}, tolerance ±{} s, body limit {} bytes{}); Ctrl-C stops",
        args.path,
        if secret_count == 1 { "" } else { "s" },
        args.tolerance,
        args.max_body,
        if args.strict { ", strict" } else { "" },
    ));
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            // If Ctrl-C cannot be watched, serve until killed.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
        .await
        .context("the listener failed")?;
    Ok(exit::status(true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bedrud_webhook::sender::{Delivery, Sender};
    use bedrud_webhook::types::{Event, EventKind};
    use bytes::Bytes;
    use tokio::sync::mpsc;

    const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";

    /// A receiver on a free loopback port, with its records.
    async fn serve(strict: bool) -> (String, mpsc::UnboundedReceiver<Record>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let verifier = Verifier::new(Secret::new(SECRET).unwrap());
        let app = router(Receiver::new(
            verifier,
            "/hook",
            strict,
            Report::Channel(tx),
        ));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (base, rx)
    }

    async fn send(request: http::Request<Bytes>) -> (StatusCode, String) {
        let (report, body) = Sender::new().send_and_read(request, 4096).await.unwrap();
        (report.status, String::from_utf8(body.to_vec()).unwrap())
    }

    async fn deliver(base: &str, delivery: &Delivery) -> (StatusCode, String) {
        let url = format!("{base}/hook");
        send(
            delivery
                .request(&url, &Secret::new(SECRET).unwrap())
                .unwrap(),
        )
        .await
    }

    #[tokio::test]
    async fn genuine_deliveries_are_answered_204_and_recorded() {
        let (base, mut records) = serve(true).await;
        let envelope = Envelope::new(Event::sample(EventKind::RoomCreated), Timestamp::now());
        let (status, _) = deliver(&base, &Delivery::new(&envelope)).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let record = records.recv().await.unwrap();
        let Outcome::Accepted { event, strict, .. } = &record.outcome else {
            panic!("{record:?}");
        };
        assert_eq!(event, "room.created");
        // The sender is the reference: strict finds nothing to report.
        assert_eq!(strict, &[]);
    }

    #[tokio::test]
    async fn rejections_keep_the_integrations_answer_and_are_recorded() {
        let (base, mut records) = serve(false).await;
        let stale = Delivery::from_data(
            "ping",
            Timestamp::parse("2020-01-01T00:00:00Z").unwrap(),
            &serde_json::Map::new(),
        );
        let (status, body) = deliver(&base, &stale).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body.starts_with("stale delivery"), "{body}");
        assert_eq!(
            records.recv().await.unwrap().reason(),
            Some("timestamp_too_old")
        );

        // Genuinely signed, but a known event's data has the wrong type:
        // the same 400 the `Webhook` extractor gives.
        let bad = format!(
            r#"{{"data":{{"durationMs":"1h"}},"event":"recording.completed","timestamp":"{}"}}"#,
            Timestamp::now()
        );
        let (status, _) = deliver(&base, &Delivery::from_body(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(records.recv().await.unwrap().reason(), Some("invalid_data"));
    }

    #[tokio::test]
    async fn misaddressed_requests_are_answered_and_recorded() {
        let (base, mut records) = serve(false).await;
        let get = http::Request::get(format!("{base}/hook"))
            .body(Bytes::new())
            .unwrap();
        let (status, body) = send(get).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(body.contains("Bedrud POSTs"), "{body}");
        assert_eq!(
            records.recv().await.unwrap().reason(),
            Some("method_not_allowed")
        );

        let elsewhere = http::Request::post(format!("{base}/webhooks"))
            .body(Bytes::new())
            .unwrap();
        let (status, body) = send(elsewhere).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("deliveries go to POST /hook"), "{body}");
        assert_eq!(records.recv().await.unwrap().reason(), Some("not_found"));
    }
}
