//! `sign` and `verify`: the sender's signature and the receiver's check, by hand.

use std::ffi::OsString;
use std::io::{IsTerminal, Read};
use std::path::Path;

use bedrud_webhook::VerifyError;

use crate::cli::{SignArgs, VerifyArgs};
use crate::secrets;
use crate::{err, out, show, usage};

/// Prints `sha256=<hex>` for the exact bytes of the file or standard input.
pub(crate) fn sign(args: &SignArgs, env: Option<OsString>) -> anyhow::Result<bool> {
    // The secret first: without one there is no point reading a body.
    let secret = secrets::one(&args.secrets, env)?;
    let body = read_body(args.file.as_deref())?;
    out(bedrud_webhook::sign(&secret, &body));
    Ok(true)
}

/// Checks a body as the integrations do (signature, timestamp, headers, a
/// known event's data) and prints a summary, or the reason on standard error.
pub(crate) fn verify(args: &VerifyArgs, env: Option<OsString>) -> anyhow::Result<bool> {
    let secrets = secrets::several(&args.secrets, env)?;
    let mut builder = secrets::verifier(secrets)?;
    if args.ignore_timestamp {
        builder = builder.disable_timestamp_check();
    }
    let verifier = builder.build();
    let body = read_body(args.file.as_deref())?;

    // Plain pairs, so that any value given is checked as it is.
    let mut pairs = vec![("x-bedrud-signature", args.signature.as_bytes())];
    if let Some(event) = &args.event {
        pairs.push(("x-bedrud-event", event.as_bytes()));
    }
    if let Some(timestamp) = &args.timestamp {
        pairs.push(("x-bedrud-timestamp", timestamp.as_bytes()));
    }
    match verifier.verify_pairs(pairs, &body).and_then(|v| v.parse()) {
        Ok(envelope) => {
            let (name, at, size) = (show(envelope.event.name()), envelope.timestamp, body.len());
            out(format!("genuine: {name} signed at {at}, {size} bytes"));
            Ok(true)
        }
        Err(error) => {
            let (status, reason) = (error.status().as_u16(), error.reason());
            err(format!("refused: {status} {reason}: {error}"));
            if let Some(hint) = hint(&error) {
                err(format!("hint: {hint}"));
            }
            Ok(false)
        }
    }
}

/// What usually causes a refusal when checking by hand.
fn hint(error: &VerifyError) -> Option<&'static str> {
    Some(match error {
        VerifyError::SignatureMismatch => {
            "the secret must be the one Bedrud shows for this webhook, and the body the exact \
             bytes that were signed (a trailing newline counts)"
        }
        VerifyError::TimestampTooOld { .. } | VerifyError::TimestampTooNew { .. } => {
            "for a saved delivery, pass --ignore-timestamp; otherwise check this machine's clock"
        }
        _ => return None,
    })
}

/// The exact bytes of `file`, or of standard input when it is absent or `-`.
fn read_body(file: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    if let Some(path) = file.filter(|p| p.as_os_str() != "-") {
        let read = std::fs::read(path);
        return read.map_err(|e| usage(format!("cannot read {}: {e}", path.display())));
    }
    let mut stdin = std::io::stdin().lock();
    if stdin.is_terminal() {
        // Otherwise the command seems to hang while it waits.
        err("reading the body from standard input; end it with Ctrl-D");
    }
    let mut body = Vec::new();
    stdin
        .read_to_end(&mut body)
        .map_err(|e| usage(format!("cannot read the body from standard input: {e}")))?;
    Ok(body)
}
