//! `sign`: the signature header value for a body.

use std::ffi::OsString;
use std::process::ExitCode;

use bedrud_webhook::verify::sign;

use crate::cli::SignArgs;
use crate::{exit, input, secrets};

/// Prints `sha256=<hex>` for the exact bytes of the file or standard input.
pub(crate) fn run(args: &SignArgs, env: Option<OsString>) -> anyhow::Result<ExitCode> {
    // The secret first: without one there is no point reading a body.
    let secret = secrets::one(&args.secret, env)?;
    let body = input::read_body(args.file.as_deref())?;
    println!("{}", sign(&secret, &body));
    Ok(exit::status(true))
}
