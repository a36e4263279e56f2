//! Shared start-up code for the example receivers: configuration from the
//! environment, logging, and the log line for each verified event.
//!
//! Each example is run from the repository root, for instance:
//!
//! ```text
//! BEDRUD_WEBHOOK_SECRET=<the secret from Bedrud's admin> cargo run --example axum_receiver
//! ```

use std::net::SocketAddr;

use anyhow::{Context as _, bail};
use bedrud_webhook::{Envelope, Event, Secret, Verifier};
use tracing_subscriber::EnvFilter;

/// The path every example serves.
pub const WEBHOOK_PATH: &str = "/webhooks/bedrud";

/// Where the examples listen unless `ADDR` says otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";

/// What every example needs to start.
#[derive(Debug)]
pub struct Config {
    /// Checks deliveries with the secret from `BEDRUD_WEBHOOK_SECRET`, the
    /// default body limit (256 KiB) and the default tolerance (±5 minutes).
    pub verifier: Verifier,
    /// The address to listen on, from `ADDR`.
    pub addr: SocketAddr,
}

impl Config {
    /// Reads `BEDRUD_WEBHOOK_SECRET` (required) and `ADDR` (default
    /// `127.0.0.1:3000`).
    ///
    /// # Errors
    ///
    /// When the secret is missing, empty or not UTF-8, or `ADDR` is not a
    /// `host:port` socket address; the message says how to fix it.
    pub fn from_env() -> anyhow::Result<Self> {
        let secret = match std::env::var("BEDRUD_WEBHOOK_SECRET") {
            Ok(secret) => secret,
            Err(std::env::VarError::NotPresent) => bail!(
                "BEDRUD_WEBHOOK_SECRET is not set: set it to the webhook's secret from \
                 Bedrud's admin dashboard, e.g. \
                 BEDRUD_WEBHOOK_SECRET=9f86d081884c7d659a2feaa0c55ad015 cargo run --example axum_receiver"
            ),
            Err(std::env::VarError::NotUnicode(_)) => {
                bail!(
                    "BEDRUD_WEBHOOK_SECRET is not valid UTF-8: copy the secret again from Bedrud's admin dashboard"
                )
            }
        };
        let secret = Secret::new(secret).context("BEDRUD_WEBHOOK_SECRET is set but unusable")?;

        let addr = std::env::var("ADDR").unwrap_or_else(|_| DEFAULT_ADDR.to_owned());
        let addr = addr.parse().with_context(|| {
            format!("ADDR={addr:?} is not a socket address such as {DEFAULT_ADDR}")
        })?;

        Ok(Self {
            verifier: Verifier::new(secret),
            addr,
        })
    }
}

/// Logs to standard error. `RUST_LOG` chooses what; by default `info`, and
/// `debug` for `bedrud_webhook` so that the reason for each 400 and 413 shows
/// too (401s are warnings, always shown).
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,bedrud_webhook=debug"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
}

/// Logs a verified event: its name, its signed timestamp and its key fields.
pub fn log_event(envelope: &Envelope) {
    let event = envelope.event.name();
    let timestamp = envelope.timestamp;
    match &envelope.event {
        Event::RoomCreated(room) | Event::RoomEnded(room) => tracing::info!(
            event,
            %timestamp,
            room_id = %room.room_id,
            room_name = %room.room_name,
            user_id = %room.user_id,
            "verified delivery"
        ),
        Event::ParticipantJoined(who) | Event::ParticipantLeft(who) => tracing::info!(
            event,
            %timestamp,
            room_id = %who.room_id,
            room_name = %who.room_name,
            user_id = %who.user_id,
            "verified delivery"
        ),
        // Absent fields (`None`) are left out of the line.
        Event::RecordingCompleted(recording) => tracing::info!(
            event,
            %timestamp,
            recording_id = %recording.recording_id,
            room_name = %recording.room_name,
            status = recording.status.as_ref().map(|s| s.as_str()),
            file_size_bytes = recording.file_size_bytes,
            duration_ms = recording.duration_ms,
            "verified delivery"
        ),
        Event::Ping => {
            tracing::info!(event, %timestamp, "verified delivery (the admin's Test button)")
        }
        Event::Unknown(unknown) => tracing::info!(
            event,
            %timestamp,
            fields = ?unknown.data.keys().collect::<Vec<_>>(),
            "verified delivery of an event this SDK does not know yet"
        ),
        // `Event` is non-exhaustive: events this SDK learns later.
        other => tracing::info!(event = other.name(), %timestamp, "verified delivery"),
    }
}
