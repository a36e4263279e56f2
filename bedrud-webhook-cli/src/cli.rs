//! The command line: subcommands, flags and their help.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const ABOUT: &str = "Listen for, trigger, sign and verify Bedrud webhooks";

const LONG_ABOUT: &str = "Listen for, trigger, sign and verify Bedrud webhooks.

Bedrud POSTs a JSON envelope signed with HMAC-SHA256 (X-Bedrud-Signature: \
sha256=<hex>). This tool receives such deliveries and shows whether they are \
genuine, sends exactly what Bedrud would send, and signs or checks bodies \
by hand.

Secrets come from --secret, --secret-file, or the BEDRUD_WEBHOOK_SECRET \
environment variable, exactly as Bedrud's admin dashboard shows them. The \
tool never prints a secret it was given.

Exit status: 0 on success; 1 when a delivery was refused, answered with a \
non-2xx status, or could not be made; 2 for a usage problem (a bad flag, no \
secret, an unreadable file).";

const EXAMPLES: &str = "\
Examples:
  # See everything at work: a receiver, every event, forgeries and replays
  bedrud-webhook demo

  # Receive deliveries on http://127.0.0.1:8787/webhooks/bedrud
  bedrud-webhook listen --secret-file bedrud.secret

  # In another terminal, send what Bedrud would send
  bedrud-webhook trigger room.ended --url http://127.0.0.1:8787/webhooks/bedrud --secret-file bedrud.secret";

const LISTEN_EXAMPLES: &str = "\
Examples:
  # Generate a secret (printed once), and listen on 127.0.0.1:8787
  bedrud-webhook listen

  # Accept the new and the previous secret while Bedrud's is rotated
  bedrud-webhook listen --secret \"$NEW_SECRET\" --secret \"$OLD_SECRET\"

  # Listen on every interface, with the secret from the environment
  BEDRUD_WEBHOOK_SECRET=\"$(cat bedrud.secret)\" \\
    bedrud-webhook listen --addr 0.0.0.0:8787 --path /hooks/bedrud

  # One verified envelope per line, for jq or a file
  bedrud-webhook listen --secret-file bedrud.secret --json | jq .event

  # Report where a sender departs from Bedrud's exact wire format
  bedrud-webhook listen --secret-file bedrud.secret --strict

Each delivery prints one line: the time it arrived, the status answered, and
the event with its data fields, or the reason it was refused. Status codes:
204 for a genuine delivery (unknown events included), 401 when it cannot be
shown to come from Bedrud (signature, timestamp, headers), 400 for a signed
body that is not a Bedrud envelope, 413 for a body over --max-body.";

const TRIGGER_EXAMPLES: &str = "\
Examples:
  # A room.ended delivery with sample data, signed as Bedrud signs it
  bedrud-webhook trigger room.ended --url http://127.0.0.1:8787/webhooks/bedrud --secret-file bedrud.secret

  # What the admin's Test button sends
  bedrud-webhook trigger ping --url https://example.com/webhooks/bedrud --secret-file bedrud.secret

  # Your own data (re-encoded as Bedrud encodes it) for any event name
  bedrud-webhook trigger room.paused --url http://127.0.0.1:8787/webhooks/bedrud \\
    --secret-file bedrud.secret --data '{\"roomId\": \"r1\", \"reason\": \"maintenance\"}'

  # Data from a file, a stale timestamp, and the admin guide's header names
  bedrud-webhook trigger participant.joined --url http://127.0.0.1:8787/webhooks/bedrud \\
    --secret-file bedrud.secret --data @joined.json --timestamp 2026-04-01T12:34:56Z --legacy-headers

Prints the status and latency, as Bedrud's Test button shows them, and the
start of the response body when the status is not 2xx. Exits 0 on 2xx, else 1.";

const SIGN_EXAMPLES: &str = "\
Examples:
  # The signature header value for a body in a file
  bedrud-webhook sign --secret-file bedrud.secret body.json

  # For a body on standard input (printf adds no newline; echo would)
  printf '%s' '{\"data\":{},\"event\":\"ping\",\"timestamp\":\"2026-04-01T12:34:56Z\"}' \\
    | bedrud-webhook sign --secret 9f86d081884c7d659a2feaa0c55ad015
  # sha256=5f16939ad45069b2126b88cd3cf1736bc6cd112fc47c6ee8b14874876644b572

  # Send it with curl
  curl -H \"X-Bedrud-Signature: $(bedrud-webhook sign --secret-file bedrud.secret body.json)\" \\
    -H 'Content-Type: application/json' --data-binary @body.json http://127.0.0.1:8787/webhooks/bedrud

The signature covers the exact bytes: nothing is trimmed or re-encoded.";

const VERIFY_EXAMPLES: &str = "\
Examples:
  # Check a saved delivery; old ones need --ignore-timestamp
  bedrud-webhook verify --secret-file bedrud.secret --ignore-timestamp \\
    --signature sha256=5f16939ad45069b2126b88cd3cf1736bc6cd112fc47c6ee8b14874876644b572 body.json

  # With the headers that came with it, and during a secret rotation
  bedrud-webhook verify --secret \"$NEW_SECRET\" --secret \"$OLD_SECRET\" \\
    --signature \"$SIG\" --event room.ended --timestamp 2026-04-01T12:34:56Z < body.json

Exits 0 and prints a one-line summary when the delivery is genuine; exits 1
and prints the reason on standard error when it is not (the reason names
the HTTP status a receiver answers: 401, 400 or 413).";

const DEMO_EXAMPLES: &str = "\
Examples:
  bedrud-webhook demo

Starts a receiver on a free loopback port with a generated secret, sends it
every event Bedrud knows, an unknown event, the admin guide's header names,
a delivery signed with the previous secret, and deliveries that must be
refused (forged, tampered, stale, from the future, oversized, malformed...).
Prints what was sent, the status expected and the status received. Exits 0
when every answer is right.";

/// `bedrud-webhook`: the whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "bedrud-webhook",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXAMPLES,
    propagate_version = true
)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Receive deliveries, verify them, and print one line for each.
    #[command(after_help = LISTEN_EXAMPLES)]
    Listen(ListenArgs),
    /// Send what Bedrud would send for an event, and print the answer.
    #[command(after_help = TRIGGER_EXAMPLES)]
    Trigger(TriggerArgs),
    /// Print the X-Bedrud-Signature value for a body.
    #[command(after_help = SIGN_EXAMPLES)]
    Sign(SignArgs),
    /// Check a body and its signature the way a receiver does.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
    /// Run a receiver and a sender against each other, and show every answer.
    #[command(after_help = DEMO_EXAMPLES)]
    Demo,
}

/// Secrets where several are accepted: the first is the current secret, the
/// others previous ones accepted during a rotation.
#[derive(Debug, Args)]
pub(crate) struct SecretsArgs {
    /// A webhook secret, exactly as Bedrud's admin dashboard shows it;
    /// repeat for the previous secrets during a rotation. Default: the
    /// BEDRUD_WEBHOOK_SECRET environment variable. Visible to other users in
    /// the process list: prefer --secret-file or the environment.
    #[arg(long = "secret", value_name = "S", allow_hyphen_values = true)]
    pub(crate) secret: Vec<String>,
    /// A file holding one secret (a trailing newline is ignored);
    /// repeatable.
    #[arg(long = "secret-file", value_name = "FILE")]
    pub(crate) secret_file: Vec<PathBuf>,
}

/// One secret, for commands that sign.
#[derive(Debug, Args)]
pub(crate) struct SecretArgs {
    /// The webhook secret, exactly as Bedrud's admin dashboard shows it.
    /// Default: the BEDRUD_WEBHOOK_SECRET environment variable. Visible to
    /// other users in the process list: prefer --secret-file or the
    /// environment.
    #[arg(
        long = "secret",
        value_name = "S",
        allow_hyphen_values = true,
        conflicts_with = "secret_file"
    )]
    pub(crate) secret: Option<String>,
    /// A file holding the secret (a trailing newline is ignored).
    #[arg(long = "secret-file", value_name = "FILE")]
    pub(crate) secret_file: Option<PathBuf>,
}

/// `listen`.
#[derive(Debug, Args)]
pub(crate) struct ListenArgs {
    /// The address to listen on; port 0 picks a free one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    pub(crate) addr: SocketAddr,
    /// The path deliveries are POSTed to.
    #[arg(long, value_name = "PATH", default_value = "/webhooks/bedrud")]
    pub(crate) path: String,
    #[command(flatten)]
    pub(crate) secrets: SecretsArgs,
    /// How far the signed timestamp may lie from this machine's clock.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub(crate) tolerance: u64,
    /// The largest body accepted (256 KiB by default); larger ones get 413.
    #[arg(long = "max-body", value_name = "BYTES", default_value_t = 262_144)]
    pub(crate) max_body: usize,
    /// Print each verified envelope as one JSON line on standard output;
    /// everything else goes to standard error.
    #[arg(long)]
    pub(crate) json: bool,
    /// Also report how each genuine delivery departs from Bedrud's exact
    /// wire format: header names, timestamp form, key order, escaping.
    #[arg(long)]
    pub(crate) strict: bool,
}

/// `trigger`.
#[derive(Debug, Args)]
pub(crate) struct TriggerArgs {
    /// The event name: room.created, room.ended, participant.joined,
    /// participant.left, recording.completed, ping, or any other name.
    #[arg(value_name = "EVENT")]
    pub(crate) event: String,
    /// Where to POST it.
    #[arg(long, value_name = "URL")]
    pub(crate) url: String,
    #[command(flatten)]
    pub(crate) secret: SecretArgs,
    /// The event's data as a JSON object, or @FILE to read it from a file;
    /// re-encoded as Bedrud encodes it. Default: sample data for known
    /// events, {} for others.
    #[arg(long, value_name = "JSON")]
    pub(crate) data: Option<String>,
    /// The signed timestamp (RFC 3339, such as 2026-04-01T12:34:56Z), to
    /// send an old or future delivery. Default: now.
    #[arg(long, value_name = "T")]
    pub(crate) timestamp: Option<String>,
    /// Use the admin guide's X-Webhook-Signature and X-Webhook-Event header
    /// names instead of X-Bedrud-*.
    #[arg(long = "legacy-headers")]
    pub(crate) legacy_headers: bool,
}

/// `sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    #[command(flatten)]
    pub(crate) secret: SecretArgs,
    /// The body to sign; standard input when absent or `-`.
    #[arg(value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
}

/// `verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The X-Bedrud-Signature (or X-Webhook-Signature) header's value.
    #[arg(long, value_name = "HEADER", allow_hyphen_values = true)]
    pub(crate) signature: String,
    #[command(flatten)]
    pub(crate) secrets: SecretsArgs,
    /// The X-Bedrud-Event header's value, checked against the body's event.
    #[arg(long, value_name = "E")]
    pub(crate) event: Option<String>,
    /// The X-Bedrud-Timestamp header's value, checked against the body's
    /// timestamp.
    #[arg(long, value_name = "T")]
    pub(crate) timestamp: Option<String>,
    /// Accept a signed timestamp of any age (for saved deliveries); by
    /// default it must be within 300 s of this machine's clock.
    #[arg(long = "ignore-timestamp")]
    pub(crate) ignore_timestamp: bool,
    /// The body to check; standard input when absent or `-`.
    #[arg(value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn listen_defaults_match_the_integrations() {
        let cli = Cli::try_parse_from(["bedrud-webhook", "listen"]).unwrap();
        let Command::Listen(args) = cli.command else {
            panic!("not listen");
        };
        assert_eq!(args.addr.to_string(), "127.0.0.1:8787");
        assert_eq!(args.path, "/webhooks/bedrud");
        assert_eq!(args.tolerance, 300);
        assert_eq!(args.max_body, bedrud_webhook::verify::DEFAULT_BODY_LIMIT);
    }

    #[test]
    fn secrets_may_start_with_a_hyphen_and_repeat_where_several_are_accepted() {
        let cli = Cli::try_parse_from([
            "bedrud-webhook",
            "verify",
            "--signature",
            "sha256=00",
            "--secret",
            "-leading-hyphen",
            "--secret",
            "old",
        ])
        .unwrap();
        let Command::Verify(args) = cli.command else {
            panic!("not verify");
        };
        assert_eq!(args.secrets.secret, ["-leading-hyphen", "old"]);
    }

    #[test]
    fn signing_commands_take_one_secret() {
        let err = Cli::try_parse_from(["bedrud-webhook", "sign", "--secret", "a", "--secret", "b"])
            .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        let err = Cli::try_parse_from([
            "bedrud-webhook",
            "sign",
            "--secret",
            "a",
            "--secret-file",
            "f",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn every_subcommand_has_examples() {
        let mut cli = Cli::command();
        for sub in cli.get_subcommands_mut() {
            let help = sub.render_long_help().to_string();
            assert!(help.contains("Examples:"), "{}", sub.get_name());
            assert!(help.contains("bedrud-webhook "), "{}", sub.get_name());
        }
    }
}
