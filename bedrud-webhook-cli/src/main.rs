//! The `bedrud-webhook` command: listen for, trigger, sign and verify
//! Bedrud webhooks. See the README, or `bedrud-webhook --help`.

mod admin;
mod cli;
mod demo;
mod listen;
mod queue;
mod relay;
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
    // The library's ERROR lines (the secret-mismatch alarm, a failing store)
    // reach the terminal; its refusal lines are the commands' own business.
    // A relay's operator also wants each failed forwarding attempt (WARN).
    let level = match &cli.command {
        Command::Listen(args) if args.forward_to.is_some() => "bedrud_webhook=warn",
        _ => "bedrud_webhook=error",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .without_time()
        .with_target(false)
        .init();
    // Read once here, so that the commands never touch the environment.
    let env = std::env::var_os(secrets::SECRET_ENV);
    let done = match cli.command {
        Command::Sign(args) => verify::sign(&args, env),
        Command::Verify(args) => verify::verify(&args, env),
        Command::Trigger(args) => trigger::run(args, env).await,
        Command::Listen(args) => listen::run(*args, env).await,
        Command::Demo => demo::run().await,
        Command::Deliveries(args) => queue::deliveries(args).await,
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

/// A `--queue` or `--redis` value fit to print: a URL's password (in its
/// user part, or a `password=` or `pass=` query parameter) replaced by
/// `***`, the user kept; anything else (a SQLite file path) as it is.
pub(crate) fn redact(url: &str) -> String {
    let scheme = url.find("://").map_or("", |i| &url[..i]);
    let is_scheme = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.');
    if scheme.is_empty() || !scheme.chars().all(is_scheme) {
        return url.to_owned();
    }
    let (head, rest) = url.split_at(scheme.len() + 3);
    // The user part ends at the last `@`, so that an unescaped `@`, `/`, `?`
    // or `#` in a password hides nothing.
    let (user, rest) = rest.split_at(rest.rfind('@').unwrap_or(0));
    let user = match user.split_once(':') {
        Some((name, _)) => format!("{name}:***"),
        None => user.to_owned(),
    };
    let (rest, fragment) = rest
        .split_once('#')
        .map_or((rest, None), |(r, f)| (r, Some(f)));
    let (rest, query) = rest
        .split_once('?')
        .map_or((rest, None), |(r, q)| (r, Some(q)));
    let mut shown = format!("{head}{user}{rest}");
    if let Some(query) = query {
        let secret = |key: &str| {
            ["password", "pass"]
                .iter()
                .any(|k| k.eq_ignore_ascii_case(key))
        };
        let hide = |pair: &str| match pair.split_once('=') {
            Some((key, _)) if secret(key) => format!("{key}=***"),
            _ => pair.to_owned(),
        };
        let pairs: Vec<String> = query.split('&').map(hide).collect();
        shown = format!("{shown}?{}", pairs.join("&"));
    }
    if let Some(fragment) = fragment {
        shown = format!("{shown}#{fragment}");
    }
    shown
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

    #[test]
    fn passwords_in_urls_are_hidden_and_nothing_else() {
        for (url, shown) in [
            (
                "postgres://postgres:hunter2@127.0.0.1:1/nope",
                "postgres://postgres:***@127.0.0.1:1/nope",
            ),
            ("redis://:hunter2@127.0.0.1/0", "redis://:***@127.0.0.1/0"),
            ("rediss://u:p%40ss@h:6380", "rediss://u:***@h:6380"),
            ("postgres://u:pa/ss@h/db", "postgres://u:***@h/db"),
            ("postgres://u:p@ss@h/db", "postgres://u:***@h/db"),
            (
                "postgres://u@h/db?sslmode=require&password=hunter2#x",
                "postgres://u@h/db?sslmode=require&password=***#x",
            ),
            (
                "redis+unix:///tmp/r.sock?db=1&pass=hunter2",
                "redis+unix:///tmp/r.sock?db=1&pass=***",
            ),
            ("postgres://app@db/app", "postgres://app@db/app"),
            ("redis://127.0.0.1:6379/", "redis://127.0.0.1:6379/"),
            ("deliveries.db", "deliveries.db"),
            ("./my:dir/a@b.db", "./my:dir/a@b.db"),
            ("sqlite://q.db", "sqlite://q.db"),
            ("", ""),
        ] {
            assert_eq!(redact(url), shown, "{url}");
        }
    }
}
