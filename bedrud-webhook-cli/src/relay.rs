//! `listen --queue URL --forward-to APP_URL`: the relay. Each stored
//! delivery is POSTed to the app with Bedrud's exact bytes, signed per
//! Standard Webhooks (standardwebhooks.com) so that the app verifies it with
//! its language's library. The app's 2xx completes the delivery; any other
//! answer, a timeout or a refused connection is a failed attempt, which the
//! queue retries with its backoff until the delivery is dead.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bedrud_webhook::Timestamp;
use bedrud_webhook::headers::EVENT;
use bedrud_webhook::queue::StoredDelivery;
use bedrud_webhook::sender::Sender;
use bedrud_webhook_types::RawEnvelope;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, LOCATION};
use http::{Request, Uri};
use standardwebhooks::Webhook;

use crate::{err, show, usage};

/// The Standard Webhooks secret's prefix; base64 of the key follows.
const PREFIX: &str = "whsec_";

/// How much of the app's answer goes into a failed attempt's error text.
const ANSWER_SHOWN: usize = 200;

/// The most of the app's answer read: a longer one is a failed attempt.
const ANSWER_READ: usize = 64 * 1024;

/// Forwards stored deliveries to the app; cloned into every attempt.
#[derive(Clone)]
pub(crate) struct Forward {
    url: Uri,
    webhook: Arc<Webhook>,
    sender: Sender,
}

impl fmt::Debug for Forward {
    // The key is never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Forward")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Forward {
    // Where it forwards to, a password in the URL hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&show(&crate::redact(&self.url.to_string())))
    }
}

impl Forward {
    /// A forwarder to `url` with `secret` (`whsec_…`), giving up on an
    /// attempt after `timeout`.
    pub(crate) fn new(url: &str, secret: &str, timeout: Duration) -> anyhow::Result<Forward> {
        let parsed: Uri = url
            .parse()
            .map_err(|_| usage(format!("--forward-to {}: not a URL", show(url))))?;
        if !matches!(parsed.scheme_str(), Some("http" | "https")) || parsed.host().is_none() {
            return Err(usage(format!(
                "--forward-to {}: use an absolute http:// or https:// URL",
                show(url)
            )));
        }
        Ok(Forward {
            url: parsed,
            webhook: Arc::new(Webhook::from_bytes(key(secret)?)?),
            sender: Sender::new()
                .with_timeout(timeout)
                .with_response_limit(ANSWER_READ),
        })
    }

    /// One attempt: `Ok` when the app answered 2xx, else what went wrong.
    pub(crate) async fn forward(self, delivery: StoredDelivery) -> anyhow::Result<()> {
        // The same id on every attempt: the app handles each delivery once.
        let id = format!("msg_{}", delivery.tag);
        let now = Timestamp::now().unix_seconds();
        let signature = self.webhook.sign(&id, now, delivery.body.as_bytes())?;
        let event = RawEnvelope::from_slice(delivery.body.as_bytes())
            .map(|envelope| envelope.event().to_owned())
            .unwrap_or_default();
        let request = Request::post(self.url)
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", now)
            .header("webhook-signature", signature)
            .header(EVENT, event)
            .body(Bytes::from(delivery.body))?;
        let response = self.sender.send(request).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let mut why = format!("the app answered {status}");
        if let Some(to) = response.headers().get(LOCATION) {
            let to = String::from_utf8_lossy(to.as_bytes());
            why.push_str(&format!(" (redirects are not followed: {})", show(&to)));
        }
        let answer = String::from_utf8_lossy(response.body());
        let answer: String = answer.chars().take(ANSWER_SHOWN).collect();
        if !answer.trim().is_empty() {
            why.push_str(&format!(": {}", answer.escape_debug()));
        }
        anyhow::bail!(why)
    }
}

/// The key of a `whsec_` secret: refused when it is not base64 of 24 to 64
/// bytes (the Standard Webhooks sizes). The message never quotes it.
fn key(secret: &str) -> anyhow::Result<Vec<u8>> {
    let encoded = secret.strip_prefix(PREFIX).ok_or_else(|| {
        usage("the forwarding secret must start with whsec_ (Standard Webhooks' form)")
    })?;
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| usage("the forwarding secret is not whsec_ followed by base64"))?;
    match key.len() {
        24..=64 => Ok(key),
        n => Err(usage(format!(
            "the forwarding secret's key is {n} bytes; Standard Webhooks keys are 24 to 64"
        ))),
    }
}

/// The forwarding secret: its file, the flag (or its environment
/// variable), or else a new one, shown once.
pub(crate) fn secret(flag: Option<&str>, file: Option<&PathBuf>) -> anyhow::Result<String> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            usage(format!(
                "cannot read the forwarding secret file {}: {e}",
                path.display()
            ))
        })?;
        return Ok(text.trim_end_matches(['\n', '\r']).to_owned());
    }
    if let Some(secret) = flag {
        return Ok(secret.to_owned());
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("cannot generate a secret: {e}"))?;
    let secret = format!("{PREFIX}{}", STANDARD.encode(bytes));
    err(format!(
        "no forwarding secret given, so one was generated; it is shown only now:\n  {secret}\n  \
         the app verifies with it (Standard Webhooks); keep it in a file and pass \
         --forward-secret-file, or set BEDRUD_WEBHOOK_FORWARD_SECRET, so that it stays the same"
    ));
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_whsec_base64_of_24_to_64_bytes_and_never_quoted() {
        let good = format!("{PREFIX}{}", STANDARD.encode([7u8; 32]));
        assert_eq!(key(&good).unwrap(), vec![7u8; 32]);
        let short = format!("{PREFIX}{}", STANDARD.encode([7u8; 16]));
        for bad in [
            "hunter2hunter2hunter2hunter2hunter2",
            &short,
            "whsec_not base64!",
        ] {
            let error = key(bad).unwrap_err().to_string();
            assert!(!error.contains(bad), "{error}");
            assert!(error.contains("forwarding secret"), "{error}");
        }
        let generated = secret(None, None).unwrap();
        assert_eq!(key(&generated).unwrap().len(), 32);
        assert_ne!(secret(None, None).unwrap(), generated);
    }
}
