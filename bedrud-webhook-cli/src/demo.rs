//! `demo`: a verifying receiver and the reference sender against each other,
//! with every answer of the status table shown.

use std::time::Duration;

use anyhow::Context;
use bedrud_webhook::delivery::{Delivery, HeaderDialect};
use bedrud_webhook::headers::{EVENT, SIGNATURE};
use bedrud_webhook::sender::Sender;
use bedrud_webhook::{EventKind, Secret, Timestamp};
use bytes::Bytes;
use http::{HeaderValue, Request};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::listen::{Receiver, serve};
use crate::out;
use crate::secrets::{generate, verifier};
use crate::trigger::{body, sample_data};

/// What is sent, the request, and the answer it must get: status and reason.
type Case = (String, Request<Bytes>, &'static str);
type Made = anyhow::Result<Request<Bytes>>;

/// Runs the demo and prints the table; true when every answer was right.
pub(crate) async fn run() -> anyhow::Result<bool> {
    let [(_, current), (_, previous), (_, stranger)] = [generate()?, generate()?, generate()?];
    let verifier = verifier(vec![current.clone(), previous.clone()])?.build();
    let limit = verifier.body_limit();
    let listener = TcpListener::bind("127.0.0.1:0").await;
    let listener = listener.context("cannot listen on loopback")?;
    let url = format!("http://{}/webhooks/bedrud", listener.local_addr()?);
    let (receiver, mut seen) = Receiver::new(verifier, "/webhooks/bedrud");
    let (stop, stopped) = oneshot::channel();
    let server = tokio::spawn(serve(listener, receiver, 64, stopped));
    out(format!(
        "A receiver on {url}, built on the axum integration, with a generated secret \
         (and a previous one, still accepted during a rotation) and the replay guard:\n"
    ));

    let sender = Sender::new();
    let line = |n: &str, sent: &str, expected: &str, received: &str, result: &str| {
        format!("{n:>2}  {sent:30}  {expected:24}  {received:24}  {result}")
    };
    out(line("#", "sent", "expected", "received", "result"));
    let (mut rows, mut wrong) = (0, 0);
    for (sent, request, expected) in cases(&url, [&current, &previous, &stranger], limit)? {
        let received = match sender.send(request).await {
            Ok(response) => {
                let seen = tokio::time::timeout(Duration::from_secs(2), seen.recv()).await;
                let reason = seen.ok().flatten().and_then(|seen| seen.outcome.err());
                let reason = reason.map_or(String::new(), |(reason, _)| format!(" {reason}"));
                format!("{}{reason}", response.status().as_u16())
            }
            Err(e) => format!("error: {e}"),
        };
        let result = if received == expected { "OK" } else { "FAIL" };
        (rows, wrong) = (rows + 1, wrong + usize::from(received != expected));
        out(line(&rows.to_string(), &sent, expected, &received, result));
    }
    let _ = stop.send(());
    let _ = server.await;
    match wrong {
        0 => out(format!("\nAll {rows} answers were as expected.")),
        n => out(format!("\n{n} of {rows} answers were wrong.")),
    }
    Ok(wrong == 0)
}

/// `request` changed by `change`, as a forger or a broken proxy would.
fn edit(request: Made, change: impl FnOnce(&mut Request<Bytes>)) -> Made {
    let mut request = request?;
    change(&mut request);
    Ok(request)
}

/// Every case: genuine deliveries first, then one of them again (each
/// genuine body is sent once: a second time is a duplicate), then each way
/// of being refused.
fn cases(url: &str, secrets: [&Secret; 3], limit: usize) -> anyhow::Result<Vec<Case>> {
    let [current, previous, stranger] = secrets;
    let now = Timestamp::now();
    let at = |offset| Timestamp::from_unix_seconds(now.unix_seconds() + offset);
    let sign = |body: &Bytes, dialect, secret| -> Made {
        let delivery = Delivery::from_body(body.clone()).dialect(dialect);
        delivery
            .request(url, secret)
            .context("cannot build the demo's requests")
    };
    let genuine = |body: &Bytes| sign(body, HeaderDialect::Bedrud, current);
    let mut cases = Vec::new();
    let mut add = |sent: &str, expected, request: Made| -> anyhow::Result<()> {
        cases.push((sent.to_owned(), request?, expected));
        Ok(())
    };
    for kind in EventKind::ALL {
        let request = genuine(&body(kind.as_str(), now, sample_data(kind.as_str())));
        add(kind.as_str(), "204", request)?;
    }
    let ping = body("ping", now, json!({}));
    let room = json!({"roomId": "3f2b9c4e", "roomName": "weekly-sync", "userId": "7a1e0c2d"});
    let ended = body("room.ended", now, room);
    let paused = body("room.paused", now, json!({"roomId": "r1"}));
    add("room.paused (unknown event)", "204", genuine(&paused))?;
    let webhook = || sign(&ended, HeaderDialect::Webhook, current);
    add("room.ended, X-Webhook headers", "204", webhook())?;
    let rotated = sign(&ping, HeaderDialect::Bedrud, previous);
    add("ping, previous secret", "204", rotated)?;
    add("room.ended again (a replay)", "200 duplicate", webhook())?;

    let mismatch = "401 signature_mismatch";
    let forged = sign(&ended, HeaderDialect::Bedrud, stranger);
    add("room.ended, wrong secret", mismatch, forged)?;
    let altered = edit(genuine(&ended), |r| {
        let body = String::from_utf8_lossy(r.body()).replace("weekly-sync", "weekly-SYNC");
        *r.body_mut() = body.into();
    });
    add("room.ended, body altered", mismatch, altered)?;
    let unsigned = edit(genuine(&ping), |r| drop(r.headers_mut().remove(SIGNATURE)));
    add("ping, no signature", "401 missing_signature", unsigned)?;
    let stale = genuine(&body("ping", at(-600)?, json!({})));
    add("ping, 10 minutes old", "401 timestamp_too_old", stale)?;
    let created = HeaderValue::from_static("room.created");
    let lying = edit(genuine(&ping), |r| {
        drop(r.headers_mut().insert(EVENT, created))
    });
    add("ping, event header lies", "401 header_mismatch", lying)?;
    let hello = genuine(&Bytes::from_static(br#"{"hello":"world"}"#));
    add("signed, not an envelope", "400 missing_event", hello)?;
    let data = json!({"recordingId": "b6d1f0a2", "durationMs": "1h"});
    let mistyped = genuine(&body("recording.completed", now, data));
    add("recording, durationMs text", "400 invalid_data", mistyped)?;
    let padded = json!({"roomId": "r1", "padding": "x".repeat(limit * 3 / 2)});
    let big = genuine(&body("room.ended", now, padded));
    let sent = format!("{} KiB (limit {} KiB)", limit * 3 / 2048, limit / 1024);
    add(&sent, "413 body_too_large", big)?;
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bedrud_webhook::headers::WEBHOOK_SIGNATURE;

    #[test]
    fn every_reason_of_the_status_table_is_shown() {
        let secrets = ["a", "b", "c"].map(|s| Secret::new(s).unwrap());
        let [a, b, c] = &secrets;
        let cases = cases("http://127.0.0.1:9/webhooks/bedrud", [a, b, c], 1024).unwrap();
        let accepted = cases
            .iter()
            .filter(|(_, _, expected)| *expected == "204")
            .count();
        assert_eq!(accepted, EventKind::ALL.len() + 3);
        let mut answers: Vec<_> = cases.iter().map(|(_, _, expected)| *expected).collect();
        answers.dedup();
        assert_eq!(answers.len(), 9, "{answers:?}");
    }

    #[test]
    fn each_genuine_delivery_is_sent_once_but_the_replay() {
        let secrets = ["a", "b", "c"].map(|s| Secret::new(s).unwrap());
        let [a, b, c] = &secrets;
        let cases = cases("http://127.0.0.1:9/webhooks/bedrud", [a, b, c], 1024).unwrap();
        // The guard knows a delivery by its signature's tag.
        let tag = |(_, request, _): &Case| {
            let headers = request.headers();
            let value = headers
                .get(SIGNATURE)
                .or_else(|| headers.get(WEBHOOK_SIGNATURE));
            (value.cloned(), request.body().clone())
        };
        let genuine: Vec<_> = cases.iter().filter(|c| c.2 == "204").map(tag).collect();
        for (i, delivery) in genuine.iter().enumerate() {
            assert!(!genuine[..i].contains(delivery), "sent twice: {delivery:?}");
        }
        let replays: Vec<_> = cases.iter().filter(|c| c.2 == "200 duplicate").collect();
        assert_eq!(replays.len(), 1);
        assert!(genuine.contains(&tag(replays[0])));
    }
}
