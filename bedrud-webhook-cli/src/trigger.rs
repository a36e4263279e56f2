//! `trigger`: send what Bedrud would send, and show the answer.

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::Context;
use bedrud_webhook::sender::{Delivery, SendError, Sender};
use bedrud_webhook::types::{Envelope, Event, EventKind, Timestamp};
use serde_json::{Map, Value};

use crate::cli::TriggerArgs;
use crate::exit::{self, UsageError};
use crate::secrets;

/// How much of a refusal's response body is shown: a rejection's reason is
/// one short line.
const SHOWN_BODY: usize = 512;

/// Sends one delivery and prints its status and latency.
pub(crate) async fn run(args: &TriggerArgs, env: Option<OsString>) -> anyhow::Result<ExitCode> {
    let secret = secrets::one(&args.secret, env)?;
    let timestamp = match &args.timestamp {
        Some(text) => parse_timestamp(text)?,
        None => Timestamp::now(),
    };
    let data = args.data.as_deref().map(read_data).transpose()?;
    let mut delivery = delivery(&args.event, timestamp, data.as_ref())?;
    if args.legacy_headers {
        delivery = delivery.legacy_headers();
    }
    let request = delivery
        .request(&args.url, &secret)
        .map_err(|e| request_error(&args.url, &e))?;

    let (report, body) = Sender::new()
        .send_and_read(request, SHOWN_BODY)
        .await
        .map_err(|e| {
            let hint = match e {
                SendError::Connect { .. } => {
                    "; is a receiver running there? (try bedrud-webhook listen)"
                }
                SendError::TimedOut { .. } => "; Bedrud gives up after 10 seconds too",
                _ => "",
            };
            anyhow::anyhow!("{e}{hint}")
        })
        .with_context(|| format!("{} was not delivered", args.event))?;

    println!(
        "{} → {}: {} in {} ms",
        args.event,
        args.url,
        status_text(report.status),
        report.latency.as_millis()
    );
    if !report.is_success() {
        let answer = one_line(&body);
        if !answer.is_empty() {
            eprintln!("the receiver answered: {answer}");
        }
    }
    Ok(exit::status(report.is_success()))
}

/// The delivery for `event`: `data` re-encoded Bedrud's way when given,
/// else a known event's sample data, else `{}`.
pub(crate) fn delivery(
    event: &str,
    timestamp: Timestamp,
    data: Option<&Map<String, Value>>,
) -> Result<Delivery, UsageError> {
    if event.is_empty() {
        return Err(UsageError::new(
            "the event name is empty; name one such as room.ended (any name is allowed)",
        ));
    }
    Ok(match (data, event.parse::<EventKind>()) {
        (Some(data), _) => Delivery::from_data(event, timestamp, data),
        (None, Ok(kind)) => Delivery::new(&Envelope::new(Event::sample(kind), timestamp)),
        (None, Err(_)) => Delivery::from_data(event, timestamp, &Map::new()),
    })
}

fn parse_timestamp(text: &str) -> Result<Timestamp, UsageError> {
    Timestamp::parse(text).map_err(|_| {
        UsageError::new(format!(
            "--timestamp {text:?} is not an RFC 3339 date-time; write it like 2026-04-01T12:34:56Z"
        ))
    })
}

/// `--data`: a JSON object, inline or from `@FILE`.
pub(crate) fn read_data(arg: &str) -> Result<Map<String, Value>, UsageError> {
    let (text, source) = match arg.strip_prefix('@') {
        Some(path) => (
            std::fs::read(path)
                .map_err(|e| UsageError::new(format!("cannot read --data file {path}: {e}")))?,
            format!("the --data file {path}"),
        ),
        None => (arg.as_bytes().to_vec(), "--data".to_owned()),
    };
    match serde_json::from_slice::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(UsageError::new(format!(
            "{source} must be a JSON object (the event's data), such as '{{\"roomId\":\"r1\"}}'"
        ))),
        Err(e) => Err(UsageError::new(format!("{source} is not JSON: {e}"))),
    }
}

fn request_error(url: &str, error: &SendError) -> UsageError {
    match error {
        SendError::InvalidUrl { .. } => UsageError::new(format!("--url {url}: {error}")),
        other => UsageError::new(other.to_string()),
    }
}

/// `204 No Content`: the code and, where there is one, its reason phrase.
pub(crate) fn status_text(status: http::StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// A response body as one printable line: control characters become
/// spaces, so a hostile receiver cannot move the terminal's cursor.
pub(crate) fn one_line(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Timestamp {
        Timestamp::parse("2026-04-01T12:34:56Z").unwrap()
    }

    #[test]
    fn known_events_get_sample_data_and_others_empty_data() {
        let ping = delivery("ping", at(), None).unwrap();
        assert_eq!(
            ping.body().as_ref(),
            br#"{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}"#
        );
        let ended = delivery("room.ended", at(), None).unwrap();
        assert!(ended.body().starts_with(br#"{"data":{"roomId":"#));
        let unknown = delivery("room.paused", at(), None).unwrap();
        assert_eq!(
            unknown.body().as_ref(),
            br#"{"data":{},"event":"room.paused","timestamp":"2026-04-01T12:34:56Z"}"#
        );
        assert!(delivery("", at(), None).is_err());
    }

    #[test]
    fn data_is_reencoded_whatever_its_order_and_spacing() {
        let data = read_data(
            r#"{ "userId" : "u1",
            "roomId": "r1", "n": 3.0 }"#,
        )
        .unwrap();
        let d = delivery("participant.joined", at(), Some(&data)).unwrap();
        assert_eq!(
            d.body().as_ref(),
            br#"{"data":{"n":3,"roomId":"r1","userId":"u1"},"event":"participant.joined","timestamp":"2026-04-01T12:34:56Z"}"#
        );
    }

    #[test]
    fn bad_data_and_timestamps_explain_the_fix() {
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
            read_data("@/nonexistent/data.json")
                .unwrap_err()
                .to_string()
                .contains("cannot read")
        );
        let err = parse_timestamp("yesterday").unwrap_err().to_string();
        assert!(err.contains("2026-04-01T12:34:56Z"), "{err}");
    }

    #[test]
    fn answers_are_shown_on_one_safe_line() {
        assert_eq!(
            one_line(b"signature mismatch\n\x1b[2J"),
            "signature mismatch  [2J"
        );
        assert_eq!(status_text(http::StatusCode::NO_CONTENT), "204 No Content");
        assert_eq!(status_text(http::StatusCode::from_u16(599).unwrap()), "599");
    }
}
