//! `trigger`: send what Bedrud would send, and show the answer.

use std::ffi::OsString;
use std::time::Instant;

use bedrud_webhook::delivery::{Delivery, HeaderDialect};
use bedrud_webhook::replay::DUPLICATE_HEADER;
use bedrud_webhook::sender::{SendError, Sender};
use bedrud_webhook::{EventKind, Timestamp};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::cli::TriggerArgs;
use crate::strict::go_json;
use crate::{cut, err, out, secrets, usage};

/// Sends one delivery; prints its status and latency. True on 2xx.
pub(crate) async fn run(args: TriggerArgs, env: Option<OsString>) -> anyhow::Result<bool> {
    let secret = secrets::one(&args.secrets, env)?;
    let (event, url) = (&args.event, &args.url);
    if event.is_empty() {
        return Err(usage("the event name is empty; name one, such as ping"));
    }
    let timestamp = match &args.timestamp {
        Some(text) => Timestamp::parse(text).map_err(|_| {
            usage(format!(
                "--timestamp {text:?}: write it like 2026-04-01T12:34:56Z"
            ))
        })?,
        None => Timestamp::now(),
    };
    let data = match &args.data {
        Some(arg) => read_data(arg)?,
        None => sample_data(event),
    };
    let dialect = match args.legacy_headers {
        true => HeaderDialect::Webhook,
        false => HeaderDialect::Bedrud,
    };
    let delivery = Delivery::from_body(body(event, timestamp, data)).dialect(dialect);
    let request = delivery
        .request(url, &secret)
        .map_err(|e| usage(format!("--url {url}: {e}")))?;
    let started = Instant::now();
    let response = match Sender::new().send(request).await {
        Ok(response) => response,
        Err(e @ SendError::InvalidUrl) => return Err(usage(format!("--url {url}: {e}"))),
        Err(e @ SendError::Connect { .. }) => {
            anyhow::bail!(
                "{event} was not delivered: {e}; is a receiver running there? (try bedrud-webhook listen)"
            )
        }
        Err(e) => anyhow::bail!("{event} was not delivered: {e}"),
    };
    let (status, ms) = (response.status(), started.elapsed().as_millis());
    let code = status.as_u16();
    let phrase = status.canonical_reason().unwrap_or_default();
    out(format!("{event} → {url}: {code} {phrase} in {ms} ms"));
    let answer = String::from_utf8_lossy(response.body());
    let answer = cut(answer.trim(), 300);
    // A duplicate's 200 says so, as a refusal's answer does.
    let duplicate = response.headers().contains_key(DUPLICATE_HEADER);
    if (!status.is_success() || duplicate) && !answer.is_empty() {
        err(format!("the receiver answered: {answer}"));
    }
    Ok(status.is_success())
}

/// An envelope's body, byte for byte as Bedrud's Go encoder writes it.
pub(crate) fn body(event: &str, timestamp: Timestamp, data: Value) -> Bytes {
    let envelope = json!({"data": data, "event": event, "timestamp": timestamp.to_string()});
    Bytes::from(go_json(&envelope))
}

/// A known event's sample data, as the sender makes it; `{}` for others.
pub(crate) fn sample_data(event: &str) -> Value {
    let sample = EventKind::from_name(event).map(|kind| Delivery::sample(kind).body().clone());
    let data = sample.and_then(|body| serde_json::from_slice::<Value>(&body).ok());
    data.and_then(|mut envelope| envelope.get_mut("data").map(Value::take))
        .unwrap_or_else(|| json!({}))
}

/// `--data`: a JSON object, inline or from `@FILE`.
fn read_data(arg: &str) -> anyhow::Result<Value> {
    let (text, source) = match arg.strip_prefix('@') {
        Some(path) => (
            std::fs::read(path)
                .map_err(|e| usage(format!("cannot read --data file {path}: {e}")))?,
            format!("the --data file {path}"),
        ),
        None => (arg.as_bytes().to_vec(), "--data".to_owned()),
    };
    match serde_json::from_slice::<Value>(&text) {
        Ok(data @ Value::Object(_)) => Ok(data),
        Ok(_) => Err(usage(format!(
            "{source} must be a JSON object, such as '{{\"roomId\":\"r1\"}}'"
        ))),
        Err(e) => Err(usage(format!("{source} is not JSON: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_bedruds_bytes_whatever_the_data_looks_like() {
        let at = Timestamp::parse("2026-04-01T12:34:56Z").unwrap();
        let data = read_data(r#"{ "userId" : "u1", "roomId": "r1", "n": 3.0, "q": "<&>" }"#);
        assert_eq!(
            body("participant.joined", at, data.unwrap()),
            r#"{"data":{"n":3,"q":"\u003c\u0026\u003e","roomId":"r1","userId":"u1"},"event":"participant.joined","timestamp":"2026-04-01T12:34:56Z"}"#
        );
        assert_eq!(
            body("ping", at, sample_data("ping")),
            r#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#
        );
        assert_eq!(sample_data("room.paused"), json!({}));
        assert!(sample_data("room.ended")["roomName"].is_string());
        assert!(
            read_data("[1]")
                .unwrap_err()
                .to_string()
                .contains("must be a JSON object")
        );
        assert!(
            read_data("{")
                .unwrap_err()
                .to_string()
                .starts_with("--data is not JSON")
        );
        assert!(
            read_data("@/nonexistent/x")
                .unwrap_err()
                .to_string()
                .contains("cannot read")
        );
    }
}
