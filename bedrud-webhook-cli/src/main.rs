//! The `bedrud-webhook` command: listen for, trigger, sign and verify
//! Bedrud webhooks. See the README, or `bedrud-webhook --help`.

mod cli;
mod demo;
mod listen;
mod queue;
mod secrets;
mod strict;
mod trigger;
mod verify;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// A mistake in how the command was called: exits 2 rather than 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(String);

/// A [`UsageError`] as the `anyhow` error the commands return.
pub(crate) fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

#[tokio::main]
async fn main() -> ExitCode {
    // clap prints its own usage errors and exits with status 2.
    let cli = Cli::parse();
    // Read once here, so that the commands never touch the environment.
    let env = std::env::var_os(secrets::SECRET_ENV);
    let done = match cli.command {
        Command::Sign(args) => verify::sign(&args, env),
        Command::Verify(args) => verify::verify(&args, env),
        Command::Trigger(args) => trigger::run(args, env).await,
        Command::Listen(args) => listen::run(args, env).await,
        Command::Demo => demo::run().await,
        Command::Dead(args) => queue::dead(args).await,
    };
    match done {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            err(format!("error: {error:#}"));
            let is_usage = error.chain().any(|cause| cause.is::<UsageError>());
            ExitCode::from(if is_usage { 2 } else { 1 })
        }
    }
}

/// One line on standard output; a closed pipe (`listen | head -1`) is no error.
pub(crate) fn out(line: impl AsRef<str>) {
    let _closed_pipe_is_fine = writeln!(std::io::stdout().lock(), "{}", line.as_ref());
}

/// One line on standard error.
pub(crate) fn err(line: impl AsRef<str>) {
    let _closed_pipe_is_fine = writeln!(std::io::stderr().lock(), "{}", line.as_ref());
}

/// Text from a peer, made safe for one line of a terminal: as it is when
/// it has no spaces, quotes or control characters, else quoted and escaped
/// by `Debug`; at most 60 characters either way.
pub(crate) fn show(text: &str) -> String {
    let cut = cut(text, 60);
    let bare = |c: char| !(c.is_whitespace() || c.is_control() || matches!(c, '"' | '=' | '\\'));
    if !cut.is_empty() && cut.chars().all(bare) {
        cut
    } else {
        format!("{cut:?}")
    }
}

/// At most `max` characters of `text`, with `…` when it was longer.
pub(crate) fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_cannot_forge_a_line() {
        assert_eq!(show("room.ended"), "room.ended");
        assert_eq!(show("a\nb\x1b[2J"), r#""a\nb\u{1b}[2J""#);
        assert_eq!(show("weekly sync"), r#""weekly sync""#);
        assert_eq!(show(""), r#""""#);
        assert_eq!(show(&"x".repeat(100)).chars().count(), 61);
    }
}
