//! The command line: subcommands, flags and their help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Listen for, trigger, sign and verify Bedrud webhooks.
///
/// Bedrud POSTs a JSON envelope signed with HMAC-SHA256 (X-Bedrud-Signature:
/// sha256=<hex>). This tool receives such deliveries and shows whether they
/// are genuine, sends exactly what Bedrud would send, and signs or checks
/// bodies by hand.
///
/// Secrets come from --secret, --secret-file, or the BEDRUD_WEBHOOK_SECRET
/// environment variable, exactly as Bedrud's admin dashboard shows them. The
/// tool never prints a secret it was given.
///
/// Exit status: 0 on success; 1 when a delivery was refused, answered with a
/// non-2xx status, or could not be made; 2 for a usage problem (a bad flag,
/// no secret, an unreadable file).
///
/// Examples:
///   # Everything at work: a receiver, every event, forgeries, replays
///   bedrud-webhook demo
///
///   # Receive deliveries on http://127.0.0.1:8787/webhooks/bedrud
///   bedrud-webhook listen --secret-file bedrud.secret
///
///   # In another terminal, send what Bedrud would send
///   bedrud-webhook trigger room.ended --secret-file bedrud.secret \
///     --url http://127.0.0.1:8787/webhooks/bedrud
#[derive(Debug, Parser)]
#[command(name = "bedrud-webhook", version, propagate_version = true)]
#[command(verbatim_doc_comment)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

// The help's example lines stay short, and long commands continue with `\`,
// so that they paste into a shell as they are.
/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Receive deliveries, verify them, and print one line for each.
    ///
    /// Each delivery prints one line: when it arrived, the status answered,
    /// and the event with its data, or `refused`, the reason, the peer and
    /// the event header. 204 for a genuine delivery (unknown events
    /// included), 401 when it cannot be shown to come from Bedrud, 400 for a
    /// signed body that is not a Bedrud envelope, 413 for a body over
    /// --max-body, 408 for a body that stalls.
    ///
    /// The replay guard is on: a genuine delivery received again (the same
    /// signed bytes) gets 200 with bedrud-webhook-duplicate: true and prints
    /// a `duplicate` line instead of being handled again. 503 while the
    /// --redis store is unreachable.
    ///
    /// Examples:
    ///   # Generate a secret (printed once), and listen on 127.0.0.1:8787
    ///   bedrud-webhook listen
    ///
    ///   # Accept the new and the previous secret during a rotation
    ///   bedrud-webhook listen --secret "$NEW_SECRET" --secret "$OLD_SECRET"
    ///
    ///   # Every interface, the secret from the environment
    ///   BEDRUD_WEBHOOK_SECRET="$(cat bedrud.secret)" \
    ///     bedrud-webhook listen --addr 0.0.0.0:8787
    ///
    ///   # Replicas behind a load balancer, sharing one replay record
    ///   bedrud-webhook listen --secret-file bedrud.secret --redis redis://127.0.0.1/
    ///
    ///   # One JSON line per request, for jq
    ///   bedrud-webhook listen --secret-file bedrud.secret --json | jq .event
    ///
    ///   # A relay: store each delivery, then forward it to an app in any
    ///   # language, signed per Standard Webhooks, retried until it is taken
    ///   bedrud-webhook listen --secret-file bedrud.secret --queue relay.db \
    ///     --forward-to http://127.0.0.1:8000/hooks \
    ///     --forward-secret-file app.whsec
    ///
    ///   # A sender's conformance check in CI: 6 deliveries within 60 s,
    ///   # exit 1 if any was refused or departs from Bedrud's wire format
    ///   bedrud-webhook listen --secret-file bedrud.secret --strict \
    ///     --count 6 --timeout 60 --json > report.jsonl
    #[command(verbatim_doc_comment)]
    Listen(Box<ListenArgs>),
    /// Send what Bedrud would send for an event, and print the answer.
    ///
    /// Prints the status and latency, as Bedrud's Test button shows them,
    /// and the start of the answer when the status is not 2xx. Exits 0 on
    /// 2xx, else 1.
    ///
    /// Examples:
    ///   # room.ended with sample data, signed as Bedrud signs it
    ///   bedrud-webhook trigger room.ended --secret-file bedrud.secret \
    ///     --url http://127.0.0.1:8787/webhooks/bedrud
    ///
    ///   # Any event with your own data, dated in the past, with the
    ///   # admin guide's X-Webhook-* header names
    ///   bedrud-webhook trigger room.paused --secret-file bedrud.secret \
    ///     --url http://127.0.0.1:8787/webhooks/bedrud \
    ///     --data '{"roomId": "r1"}' --timestamp 2026-04-01T12:34:56Z \
    ///     --legacy-headers
    #[command(verbatim_doc_comment)]
    #[command(override_usage = "bedrud-webhook trigger EVENT --url URL \
        [--secret S | --secret-file F] [OPTIONS]")]
    Trigger(TriggerArgs),
    /// Print the X-Bedrud-Signature value for a body.
    ///
    /// The signature covers the exact bytes: nothing is trimmed or re-encoded.
    ///
    /// Examples:
    ///   # The signature header value for a body in a file
    ///   bedrud-webhook sign --secret-file bedrud.secret body.json
    ///
    ///   # From standard input (printf adds no newline; echo would)
    ///   printf '%s' '{"data":{},"event":"ping","timestamp":"2026-04-01T12:34:56Z"}' \
    ///     | bedrud-webhook sign --secret 9f86d081884c7d659a2feaa0c55ad015
    #[command(verbatim_doc_comment)]
    Sign(SignArgs),
    /// Check a body and its signature the way a receiver does.
    ///
    /// Exits 0 with a one-line summary when genuine; exits 1 with the status
    /// a receiver answers (401, 400 or 413) and the reason when not.
    ///
    /// Examples:
    ///   # Check a saved delivery (of any age)
    ///   bedrud-webhook verify --secret-file bedrud.secret --ignore-timestamp \
    ///     --signature "$SIG" body.json
    ///
    ///   # With the headers that came with it, during a rotation
    ///   bedrud-webhook verify --secret "$NEW" --secret "$OLD" \
    ///     --signature "$SIG" --event room.ended \
    ///     --timestamp 2026-04-01T12:34:56Z < body.json
    #[command(verbatim_doc_comment)]
    #[command(override_usage = "bedrud-webhook verify --signature HEADER \
        [--secret S | --secret-file F]... [OPTIONS] [FILE]")]
    Verify(VerifyArgs),
    /// Run a receiver and a sender against each other, and show every answer.
    ///
    /// Starts a verifying receiver on a free loopback port with generated
    /// secrets, sends it every kind of delivery (genuine ones of each event,
    /// both header dialects, forged, stale, oversized, not an envelope...),
    /// and prints how each was answered. Exits 0 when every answer is the
    /// expected one.
    ///
    /// Examples:
    ///   bedrud-webhook demo
    #[command(verbatim_doc_comment)]
    Demo,
    /// List, show and re-run the deliveries stored in a queue.
    ///
    /// For a queue filled by `listen --queue` or by the library's
    /// `Queue::service`. Each delivery is in one state: pending (waiting for
    /// its first attempt), running (taken by a worker, which runs it now),
    /// retrying (failed, with attempts left, waiting out its backoff), dead
    /// (failed on every attempt) or done (handled; kept a day). Times are RFC 3339, in UTC. Re-run deliveries are handled
    /// by the program running the worker (`Queue::run_worker`) on the same
    /// queue. A SQLite file that is not there is an error (exit 2), never
    /// created.
    ///
    /// Examples:
    ///   # One line each: id, state, attempts, event, received, last error
    ///   bedrud-webhook deliveries list --queue deliveries.db
    ///
    ///   # The dead ones, as JSON lines, for jq
    ///   bedrud-webhook deliveries list --state dead --json --queue deliveries.db
    ///
    ///   # One delivery: its attempts, times, last error and body
    ///   bedrud-webhook deliveries show 01JF3M6Q8X0000000000000000 --queue deliveries.db
    ///
    ///   # Run dead deliveries again, one or all of them
    ///   bedrud-webhook deliveries rerun 01JF3M6Q8X0000000000000000 --queue deliveries.db
    ///   bedrud-webhook deliveries rerun --all-dead --queue postgres://app@db/app
    #[command(verbatim_doc_comment)]
    Deliveries(crate::queue::DeliveriesArgs),
    /// List and re-run deliveries whose handler failed on every attempt.
    ///
    /// The short form of `deliveries list --state dead` (followed by a count)
    /// and `deliveries rerun`.
    ///
    /// Examples:
    ///   bedrud-webhook dead list --queue deliveries.db
    ///   bedrud-webhook dead rerun --queue deliveries.db 01JF3M6Q8X0000000000000000
    ///   bedrud-webhook dead rerun --all --queue postgres://app@db/app
    #[command(verbatim_doc_comment)]
    Dead(crate::queue::DeadArgs),
}

/// Secrets. Where several are accepted (`listen`, `verify`), the first is
/// the current one and the others previous ones, kept during a rotation;
/// `trigger` and `sign` take one.
#[derive(Debug, Args)]
pub(crate) struct SecretsArgs {
    /// A secret as Bedrud's admin dashboard shows it (listen and verify take
    /// previous ones too, during a rotation). Default: $BEDRUD_WEBHOOK_SECRET.
    /// Other users can see it in the process list: prefer a file.
    #[arg(long, value_name = "S", allow_hyphen_values = true)]
    pub(crate) secret: Vec<String>,
    /// A file holding one secret (a trailing newline is ignored).
    #[arg(long, value_name = "FILE")]
    pub(crate) secret_file: Vec<PathBuf>,
}

/// `listen`.
#[derive(Debug, Args)]
pub(crate) struct ListenArgs {
    /// The address to listen on (a host name resolves); port 0 picks a free one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    pub(crate) addr: String,
    /// The path deliveries are POSTed to.
    #[arg(long, value_name = "PATH", default_value = "/webhooks/bedrud")]
    pub(crate) path: String,
    #[command(flatten)]
    pub(crate) secrets: SecretsArgs,
    /// How far the signed timestamp may lie from this machine's clock.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub(crate) tolerance: u64,
    /// Accept signed timestamps of any age (a delivery received again is
    /// still caught, for a day, unless --no-replay-guard).
    #[arg(long, conflicts_with = "tolerance")]
    pub(crate) no_timestamp_check: bool,
    /// Keep the replay guard's record of deliveries in Redis, shared by
    /// several listeners, instead of in memory. Unreachable: 503.
    #[arg(long, value_name = "URL", env = "REDIS_URL", hide_env_values = true)]
    pub(crate) redis: Option<String>,
    /// Turn the replay guard off: a genuine delivery received again is
    /// handled again (--redis and REDIS_URL are then ignored).
    #[arg(long)]
    pub(crate) no_replay_guard: bool,
    /// The largest body accepted; larger ones get 413.
    #[arg(long, value_name = "BYTES")]
    #[arg(default_value_t = bedrud_webhook::DEFAULT_BODY_LIMIT)]
    pub(crate) max_body: usize,
    /// At most this many connections at once; further ones wait.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    #[arg(value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_connections: u32,
    /// Print one JSON line per request on standard output (the envelope's
    /// data, event and timestamp when accepted, and received, status, peer,
    /// outcome (accepted, refused or duplicate), reason, detail,
    /// departures); the other lines go to stderr.
    #[arg(long)]
    pub(crate) json: bool,
    /// Also report how each genuine delivery departs from Bedrud's exact
    /// wire format (headers, timestamp form, key order, spacing, escaping).
    #[arg(long)]
    pub(crate) strict: bool,
    /// Stop after N requests, then exit 1 if any was refused (or, with
    /// --strict, departs from the wire format) or fewer than N came; a
    /// duplicate counts as a request, and is reported but does not fail.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) count: Option<u64>,
    /// Stop after SECS seconds; judged as --count is (and nothing arriving fails).
    #[arg(long, value_name = "SECS")]
    pub(crate) timeout: Option<u64>,
    /// Store each genuine delivery in this SQLite file (or postgres:// URL)
    /// before answering 202, for a worker to process (503 when it cannot be
    /// stored). `bedrud-webhook deliveries` lists them and their fate.
    #[arg(long, value_name = "FILE")]
    pub(crate) queue: Option<String>,
    /// With a SQLite --queue: fsync each commit (synchronous=FULL), so that
    /// a delivery answered 202 survives a power cut or an OS crash, not only
    /// the process being killed. Deliveries arriving together share a commit.
    #[arg(long, requires = "queue")]
    pub(crate) power_safe: bool,
    /// With --queue: a relay. A worker here POSTs each stored delivery to
    /// this URL (Bedrud's exact body, signed per Standard Webhooks with
    /// --forward-secret); the app's 2xx completes it, anything else is a
    /// failed attempt, retried until dead. Redirects are not followed; the
    /// app's answer is read to 64 KiB.
    #[arg(long, value_name = "APP_URL", requires = "queue")]
    pub(crate) forward_to: Option<String>,
    /// The Standard Webhooks secret (whsec_...) the app verifies with.
    /// Default: $BEDRUD_WEBHOOK_FORWARD_SECRET, else one is generated and
    /// shown once. Others can see it in the process list: prefer the file.
    #[arg(long, value_name = "whsec_...", env = "BEDRUD_WEBHOOK_FORWARD_SECRET")]
    #[arg(hide_env_values = true)]
    pub(crate) forward_secret: Option<String>,
    /// A file holding the forwarding secret (a trailing newline is ignored).
    #[arg(long, value_name = "FILE", requires = "forward_to")]
    #[arg(conflicts_with = "forward_secret")]
    pub(crate) forward_secret_file: Option<PathBuf>,
    /// How long the app has to answer each forwarded attempt.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 10.0,
        requires = "forward_to"
    )]
    #[arg(value_parser = positive_seconds)]
    pub(crate) forward_timeout: f64,
    /// With --queue: how many times a delivery is tried before it is dead.
    #[arg(long, value_name = "N", default_value_t = 8, requires = "queue")]
    #[arg(value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) attempts: u32,
    /// With --queue: the wait before the first retry, doubled (with jitter)
    /// for each next one, up to 300 s.
    #[arg(long, value_name = "SECS", default_value_t = 5.0, requires = "queue")]
    #[arg(value_parser = positive_seconds)]
    pub(crate) backoff: f64,
    /// Serve GET /metrics (Prometheus text) on this other address, and with
    /// --queue the deliveries dashboard at / (apalis-board) and the dead
    /// deliveries, to run again, at /dead: PORT alone binds 127.0.0.1. Any
    /// non-loopback address needs a token.
    #[arg(long, value_name = "[IP:]PORT")]
    pub(crate) admin: Option<String>,
    /// The token the admin listener requires (Authorization: Bearer TOKEN,
    /// or in a browser the password it asks for). Others can see it in the
    /// process list: prefer the file or the environment.
    #[arg(long, value_name = "TOKEN", env = "BEDRUD_WEBHOOK_ADMIN_TOKEN")]
    #[arg(hide_env_values = true, requires = "admin")]
    pub(crate) admin_token: Option<String>,
    /// A file holding the admin token (a trailing newline is ignored).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "admin_token",
        requires = "admin"
    )]
    pub(crate) admin_token_file: Option<PathBuf>,
}

/// A number of seconds above zero, fractions allowed.
fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 86_400.0 => Ok(secs),
        _ => Err("expected seconds above 0 and at most 86400, such as 10 or 0.5".into()),
    }
}

/// `trigger`.
#[derive(Debug, Args)]
pub(crate) struct TriggerArgs {
    /// The event: room.created, room.ended, participant.joined,
    /// participant.left, recording.completed, ping, or any other name.
    pub(crate) event: String,
    /// Where to POST it.
    #[arg(long, value_name = "URL")]
    pub(crate) url: String,
    #[command(flatten)]
    pub(crate) secrets: SecretsArgs,
    /// The event's data as a JSON object, or @FILE; re-encoded as Bedrud
    /// encodes it. Default: sample data for known events, {} for others.
    #[arg(long, value_name = "JSON")]
    pub(crate) data: Option<String>,
    /// The signed timestamp (RFC 3339, such as 2026-04-01T12:34:56Z).
    /// Default: now.
    #[arg(long, value_name = "T")]
    pub(crate) timestamp: Option<String>,
    /// Use the admin guide's X-Webhook-Signature and X-Webhook-Event names.
    #[arg(long)]
    pub(crate) legacy_headers: bool,
}

/// `sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    #[command(flatten)]
    pub(crate) secrets: SecretsArgs,
    /// The body to sign; standard input when absent or `-`.
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
    /// The X-Bedrud-Event header's value, checked against the body.
    #[arg(long, value_name = "E")]
    pub(crate) event: Option<String>,
    /// The X-Bedrud-Timestamp header's value, checked against the body.
    #[arg(long, value_name = "T")]
    pub(crate) timestamp: Option<String>,
    /// Accept a signed timestamp of any age (for saved deliveries).
    #[arg(long = "ignore-timestamp", visible_alias = "no-timestamp-check")]
    pub(crate) ignore_timestamp: bool,
    /// The body to check; standard input when absent or `-`.
    pub(crate) file: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definition_is_consistent_and_example_lines_are_short() {
        Cli::command().debug_assert();
        for sub in Cli::command().get_subcommands_mut() {
            let help = sub.render_long_help().to_string();
            assert!(help.contains("Examples:"), "{}", sub.get_name());
            let examples = help.lines().skip_while(|l| *l != "Examples:");
            for line in examples.take_while(|l| !l.starts_with("Usage:")) {
                assert!(line.len() <= 88, "{}: {line}", sub.get_name());
            }
        }
    }
}
