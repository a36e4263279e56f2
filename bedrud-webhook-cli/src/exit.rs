//! Exit statuses: what a script running the tool can rely on.

use std::fmt;
use std::process::ExitCode;

/// The command did what was asked: the delivery was genuine, or answered 2xx.
pub(crate) const SUCCESS: u8 = 0;
/// The answer was no: a delivery refused, answered with a non-2xx status,
/// or that could not be made.
pub(crate) const FAILURE: u8 = 1;
/// The command was called wrongly: a bad flag (as clap reports it), no
/// secret, an unreadable file, data that is not JSON.
pub(crate) const USAGE: u8 = 2;

/// A mistake in how the command was called, and how to fix it: exits with
/// [`USAGE`] rather than [`FAILURE`].
#[derive(Debug)]
pub(crate) struct UsageError(String);

impl UsageError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The exit status for an error that ended the command.
pub(crate) fn for_error(error: &anyhow::Error) -> ExitCode {
    if error.chain().any(|cause| cause.is::<UsageError>()) {
        ExitCode::from(USAGE)
    } else {
        ExitCode::from(FAILURE)
    }
}

/// The exit status for a command that ran to the end: success or not.
pub(crate) fn status(success: bool) -> ExitCode {
    ExitCode::from(if success { SUCCESS } else { FAILURE })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn usage_errors_are_found_under_context() {
        let plain = anyhow::anyhow!("connect failed");
        assert_eq!(for_error(&plain), ExitCode::from(FAILURE));
        let usage: anyhow::Result<()> = Err(UsageError::new("no secret").into());
        let wrapped = usage.context("while signing").unwrap_err();
        assert_eq!(for_error(&wrapped), ExitCode::from(USAGE));
        assert_eq!(status(true), ExitCode::from(SUCCESS));
        assert_eq!(status(false), ExitCode::from(FAILURE));
    }
}
