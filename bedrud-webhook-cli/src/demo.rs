//! `demo`: a receiver and the reference sender against each other, showing
//! every answer the status table promises.

use std::future::IntoFuture;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use bedrud_webhook::Verifier;
use bedrud_webhook::sender::{Delivery, Sender};
use bedrud_webhook::types::{Envelope, Event, EventKind, Timestamp};
use bedrud_webhook::verify::{Secret, headers};
use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::exit;
use crate::listen::{ACCEPTED, Receiver, Report, router};
use crate::output;
use crate::record::Record;

const PATH: &str = "/webhooks/bedrud";

/// How long to wait for the receiver's record of a request it answered.
const RECORD_WAIT: Duration = Duration::from_secs(2);

/// Further from now than the default 300-second tolerance, either way.
const SKEW: i64 = 600;

/// One delivery and the answer it must get.
#[derive(Debug)]
struct Case {
    sent: String,
    request: Request<Bytes>,
    status: StatusCode,
    reason: Option<&'static str>,
}

/// One line of the table.
#[derive(Debug)]
struct Row {
    sent: String,
    expected: String,
    received: String,
    ok: bool,
}

/// The secrets of the demo: all generated, none printed.
#[derive(Debug)]
struct Keys {
    current: Secret,
    previous: Secret,
    stranger: Secret,
}

/// Runs the demo and prints the table; exits 0 when every answer was right.
pub(crate) async fn run() -> anyhow::Result<ExitCode> {
    let keys = Keys {
        current: Secret::generate().context("cannot generate a secret")?,
        previous: Secret::generate().context("cannot generate a secret")?,
        stranger: Secret::generate().context("cannot generate a secret")?,
    };
    let verifier = Verifier::builder(keys.current.clone())
        .previous_secret(keys.previous.clone())
        .build();

    let (records_tx, mut records) = mpsc::unbounded_channel();
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on a loopback port")?;
    let url = format!("http://{}{PATH}", listener.local_addr()?);
    let app = router(Receiver::new(
        verifier,
        PATH,
        false,
        Report::Channel(records_tx),
    ));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _either_way = stopped.await;
            })
            .into_future(),
    );

    output::out(format!(
        "A receiver on {url}, built on the axum integration, with a generated secret \
         (and a previous one, still accepted during a rotation):"
    ));
    output::out("");

    let sender = Sender::new();
    let mut rows = Vec::new();
    for case in cases(&url, &keys)? {
        rows.push(play(&sender, case, &mut records).await);
    }
    let _already_stopped = stop.send(());
    let _ = server.await;

    print_table(&rows);
    let wrong = rows.iter().filter(|row| !row.ok).count();
    output::out("");
    if wrong == 0 {
        output::out(format!("All {} answers were as expected.", rows.len()));
    } else {
        output::out(format!("{wrong} of {} answers were wrong.", rows.len()));
    }
    Ok(exit::status(wrong == 0))
}

async fn play(sender: &Sender, case: Case, records: &mut mpsc::UnboundedReceiver<Record>) -> Row {
    let expected = answer(case.status, case.reason);
    let (received, ok) = match sender.send(case.request).await {
        Ok(report) => {
            let record = tokio::time::timeout(RECORD_WAIT, records.recv())
                .await
                .ok()
                .flatten();
            let reason = record.as_ref().and_then(Record::reason);
            let ok = report.status == case.status && reason == case.reason;
            (answer(report.status, reason), ok)
        }
        Err(e) => (format!("error: {e}"), false),
    };
    Row {
        sent: case.sent,
        expected,
        received,
        ok,
    }
}

fn answer(status: StatusCode, reason: Option<&str>) -> String {
    match reason {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

fn print_table(rows: &[Row]) {
    let width = |title: &str, column: fn(&Row) -> &str| {
        rows.iter()
            .map(|row| column(row).chars().count())
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let sent = width("sent", |row| &row.sent);
    let expected = width("expected", |row| &row.expected);
    let received = width("received", |row| &row.received);
    let number = rows.len().to_string().len();
    output::out(format!(
        "{:>number$}  {:<sent$}  {:<expected$}  {:<received$}  result",
        "#", "sent", "expected", "received"
    ));
    for (i, row) in rows.iter().enumerate() {
        output::out(format!(
            "{:>number$}  {:<sent$}  {:<expected$}  {:<received$}  {}",
            i + 1,
            row.sent,
            row.expected,
            row.received,
            if row.ok { "OK" } else { "FAIL" },
        ));
    }
}

fn at(offset_secs: i64) -> anyhow::Result<Timestamp> {
    Timestamp::from_unix_seconds(Timestamp::now().unix_seconds() + offset_secs)
        .context("the clock is outside the years Bedrud can write")
}

fn data(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Every case: genuine deliveries first, then each way of being refused.
fn cases(url: &str, keys: &Keys) -> anyhow::Result<Vec<Case>> {
    let now = at(0)?;
    let signed = |delivery: &Delivery, secret: &Secret| {
        delivery
            .request(url, secret)
            .context("cannot build the demo's request")
    };
    let genuine = |delivery: &Delivery| signed(delivery, &keys.current);
    let accepted = |sent: String, request| Case {
        sent,
        request,
        status: ACCEPTED,
        reason: None,
    };
    let refused = |sent: &str, request, status, reason| Case {
        sent: sent.to_owned(),
        request,
        status,
        reason: Some(reason),
    };
    let ping = Delivery::new(&Envelope::new(Event::Ping, now));
    let room = json!({
        "roomId": "3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34",
        "roomName": "weekly-sync",
        "userId": "7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d",
    });
    let room_ended = Delivery::from_data("room.ended", now, &data(room.clone()));

    let mut cases = Vec::new();
    for kind in EventKind::ALL {
        let delivery = Delivery::new(&Envelope::new(Event::sample(kind), now));
        let sent = if kind == EventKind::Ping {
            "ping, as the admin's Test button sends it".to_owned()
        } else {
            format!("{kind}, sample data")
        };
        cases.push(accepted(sent, genuine(&delivery)?));
    }
    let unknown = Delivery::from_data(
        "room.paused",
        now,
        &data(json!({"roomId": "3f2b9c4e-8a1d-4e6b-9f0a-2c7d5e8b1a34", "reason": "maintenance"})),
    );
    cases.push(accepted(
        "room.paused, an event this SDK does not know".into(),
        genuine(&unknown)?,
    ));
    cases.push(accepted(
        "ping with the admin guide's X-Webhook-* headers".into(),
        genuine(&ping.clone().legacy_headers())?,
    ));
    cases.push(accepted(
        "ping signed with the previous secret".into(),
        signed(&ping, &keys.previous)?,
    ));

    cases.push(refused(
        "room.ended signed with another secret (forged)",
        signed(&room_ended, &keys.stranger)?,
        StatusCode::UNAUTHORIZED,
        "signature_mismatch",
    ));
    let mut tampered = genuine(&room_ended)?;
    let altered = String::from_utf8_lossy(tampered.body()).replace("weekly-sync", "weekly-SYNC");
    *tampered.body_mut() = Bytes::from(altered);
    cases.push(refused(
        "room.ended with its body changed after signing",
        tampered,
        StatusCode::UNAUTHORIZED,
        "signature_mismatch",
    ));
    let mut unsigned = genuine(&ping)?;
    unsigned.headers_mut().remove(headers::SIGNATURE);
    cases.push(refused(
        "ping without a signature",
        unsigned,
        StatusCode::UNAUTHORIZED,
        "missing_signature",
    ));
    let mut sha1 = genuine(&ping)?;
    sha1.headers_mut().insert(
        headers::SIGNATURE,
        HeaderValue::from_static("sha1=da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    );
    cases.push(refused(
        "ping with a sha1= signature",
        sha1,
        StatusCode::UNAUTHORIZED,
        "malformed_signature",
    ));
    let mut twice = genuine(&ping)?;
    if let Some(value) = twice.headers().get(headers::SIGNATURE).cloned() {
        twice.headers_mut().append(headers::SIGNATURE, value);
    }
    cases.push(refused(
        "ping with its signature header twice",
        twice,
        StatusCode::UNAUTHORIZED,
        "duplicate_signature",
    ));
    let stale = Delivery::new(&Envelope::new(Event::Ping, at(-SKEW)?));
    cases.push(refused(
        "ping signed 10 minutes ago (stale, or a replay)",
        genuine(&stale)?,
        StatusCode::UNAUTHORIZED,
        "timestamp_too_old",
    ));
    let future = Delivery::new(&Envelope::new(Event::Ping, at(SKEW)?));
    cases.push(refused(
        "ping dated 10 minutes ahead",
        genuine(&future)?,
        StatusCode::UNAUTHORIZED,
        "timestamp_too_new",
    ));
    let mut relabelled = genuine(&room_ended)?;
    relabelled
        .headers_mut()
        .insert(headers::EVENT, HeaderValue::from_static("room.created"));
    cases.push(refused(
        "room.ended with X-Bedrud-Event: room.created",
        relabelled,
        StatusCode::UNAUTHORIZED,
        "header_mismatch",
    ));
    cases.push(refused(
        "a signed JSON body that is not an envelope",
        genuine(&Delivery::from_body(r#"{"hello":"world"}"#))?,
        StatusCode::BAD_REQUEST,
        "missing_event",
    ));
    let mistyped = Delivery::from_data(
        "recording.completed",
        now,
        &data(json!({"recordingId": "b6d767d2", "durationMs": "59 minutes"})),
    );
    cases.push(refused(
        "recording.completed with durationMs as text",
        genuine(&mistyped)?,
        StatusCode::BAD_REQUEST,
        "invalid_data",
    ));
    let mut padded = room.clone();
    if let Value::Object(map) = &mut padded {
        map.insert("padding".into(), Value::String("x".repeat(300 * 1024)));
    }
    cases.push(refused(
        "room.ended padded to 300 KiB (limit 256 KiB)",
        genuine(&Delivery::from_data("room.ended", now, &data(padded)))?,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    ));
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_of_the_status_table_is_shown() {
        let keys = Keys {
            current: Secret::generate().unwrap(),
            previous: Secret::generate().unwrap(),
            stranger: Secret::generate().unwrap(),
        };
        let cases = cases("http://127.0.0.1:9/webhooks/bedrud", &keys).unwrap();
        let accepted = cases.iter().filter(|c| c.status == ACCEPTED).count();
        assert_eq!(accepted, EventKind::ALL.len() + 3);
        let mut reasons: Vec<_> = cases.iter().filter_map(|c| c.reason).collect();
        reasons.sort_unstable();
        reasons.dedup();
        assert_eq!(
            reasons,
            [
                "body_too_large",
                "duplicate_signature",
                "header_mismatch",
                "invalid_data",
                "malformed_signature",
                "missing_event",
                "missing_signature",
                "signature_mismatch",
                "timestamp_too_new",
                "timestamp_too_old",
            ]
        );
    }

    #[test]
    fn answers_read_as_status_then_reason() {
        assert_eq!(answer(StatusCode::NO_CONTENT, None), "204");
        assert_eq!(
            answer(StatusCode::UNAUTHORIZED, Some("signature_mismatch")),
            "401 signature_mismatch"
        );
    }
}
