//! `verify`: the receiver's check, for a body and headers given by hand.

use std::ffi::OsString;
use std::process::ExitCode;

use bedrud_webhook::{DeliveryHeaders, Verifier, Webhook, WebhookRejection};

use crate::cli::VerifyArgs;
use crate::exit::{self, UsageError};
use crate::{input, secrets};

/// Checks the body exactly as the integrations do (signature, timestamp,
/// headers, and that a known event's data is well-typed), and prints a
/// summary on success or the reason on standard error.
pub(crate) fn run(args: &VerifyArgs, env: Option<OsString>) -> anyhow::Result<ExitCode> {
    let mut secrets = secrets::several(&args.secrets, env)?.into_iter();
    let current = secrets
        .next()
        .ok_or_else(|| UsageError::new(secrets::NO_SECRET))?;
    let mut builder = Verifier::builder(current).previous_secrets(secrets);
    if args.ignore_timestamp {
        builder = builder.disable_timestamp_check();
    }
    let verifier = builder.build();
    let body = input::read_body(args.file.as_deref())?;

    // As raw byte pairs rather than a `HeaderMap`, so that any value given
    // is checked as it is instead of being refused as a header first.
    let mut pairs: Vec<(&[u8], &[u8])> = vec![(b"X-Bedrud-Signature", args.signature.as_bytes())];
    if let Some(event) = &args.event {
        pairs.push((b"X-Bedrud-Event", event.as_bytes()));
    }
    if let Some(timestamp) = &args.timestamp {
        pairs.push((b"X-Bedrud-Timestamp", timestamp.as_bytes()));
    }
    let delivery_headers = DeliveryHeaders::from_pairs(pairs);

    match Webhook::verify(&verifier, &delivery_headers, body.clone()) {
        Ok(Webhook(envelope)) => {
            println!(
                "genuine: {} signed at {}, {} bytes",
                envelope.event.name(),
                envelope.timestamp,
                body.len()
            );
            Ok(exit::status(true))
        }
        Err(rejection) => {
            eprintln!("{}", describe(&rejection));
            if let Some(hint) = hint(rejection.reason()) {
                eprintln!("hint: {hint}");
            }
            Ok(exit::status(false))
        }
    }
}

/// `rejected: 401 signature_mismatch: signature mismatch: …`: the status a
/// receiver answers, the machine-readable reason, and the explanation.
pub(crate) fn describe(rejection: &WebhookRejection) -> String {
    format!(
        "rejected: {} {}: {rejection}",
        rejection.status().as_u16(),
        rejection.reason()
    )
}

/// What usually causes a rejection when checking by hand.
fn hint(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "signature_mismatch" => {
            "the secret must be the one Bedrud shows for this webhook, and the body must be the \
             exact bytes that were signed (an added trailing newline counts)"
        }
        "timestamp_too_old" | "timestamp_too_new" => {
            "for a saved delivery, pass --ignore-timestamp; otherwise check this machine's clock"
        }
        "header_mismatch" => {
            "--event and --timestamp must repeat the body's \"event\" and \"timestamp\" exactly"
        }
        "malformed_signature" => {
            "--signature takes the header's whole value: sha256= followed by 64 hex digits"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bedrud_webhook::verify::Error;

    #[test]
    fn the_description_leads_with_status_and_reason() {
        let text = describe(&WebhookRejection::from(Error::SignatureMismatch));
        assert!(
            text.starts_with("rejected: 401 signature_mismatch: signature mismatch"),
            "{text}"
        );
        assert!(hint("signature_mismatch").is_some());
        assert!(hint("missing_event").is_none());
    }
}
