//! Writes the deliveries the end-to-end benchmark sends (`.ci/bench-e2e`,
//! see BENCHMARKS.md): genuinely signed, as Bedrud signs them, with a
//! timestamp of now, so that they pass the verifier's ±5-minute window for
//! the length of a benchmark run.
//!
//! ```text
//! target/release/examples/bench_deliveries <dir> [count]
//! ```
//!
//! writes `<dir>/genuine.tsv` and `<dir>/forged.tsv`, one delivery a line:
//! signature, event, timestamp and body, separated by tabs (Bedrud's bodies
//! are JSON without raw tabs or newlines). The deliveries cycle through the
//! events Bedrud emits, each with a room id of its own. A forged delivery is
//! the same request signed with another secret: well-formed, wrong MAC, the
//! forgery a verifier has to compute a MAC to refuse. The signing secret is
//! `BEDRUD_WEBHOOK_SECRET`, or the golden vectors' secret, as for
//! `bench_server`.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use bedrud_webhook::verify::sign;
use bedrud_webhook::{
    Envelope, Event, ParticipantData, RecordingData, RoomData, Secret, Timestamp,
};

const DEFAULT_SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .context("usage: bench_deliveries <dir> [count]")?,
    );
    let count: usize = match args.next() {
        Some(n) => n.parse().context("count must be a number")?,
        None => 100,
    };
    let secret = std::env::var("BEDRUD_WEBHOOK_SECRET").unwrap_or_else(|_| DEFAULT_SECRET.into());
    let secret = Secret::new(secret).context("BEDRUD_WEBHOOK_SECRET")?;
    let forger = Secret::new("not-the-secret").context("forger's secret")?;

    let now = Timestamp::now();
    let mut genuine = String::new();
    let mut forged = String::new();
    for i in 0..count {
        let room = format!("3f2b9c4e-8a1d-4e6b-9f0a-{i:012x}");
        let event = match i % 5 {
            0 => Event::RoomCreated(RoomData::sample().with_room_id(&room)),
            1 => Event::ParticipantJoined(ParticipantData::sample().with_room_id(&room)),
            2 => Event::RoomEnded(RoomData::sample().with_room_id(&room)),
            3 => Event::RecordingCompleted(RecordingData::sample().with_room_id(&room)),
            _ => Event::Ping,
        };
        let envelope = Envelope::new(event, now);
        let body = envelope.to_bedrud_json();
        let text = std::str::from_utf8(&body).context("Bedrud's JSON is UTF-8")?;
        anyhow::ensure!(
            !text.contains(['\t', '\n', '\r']),
            "body with a raw tab or newline"
        );
        let name = envelope.event.name();
        writeln!(genuine, "{}\t{name}\t{now}\t{text}", sign(&secret, &body))?;
        writeln!(forged, "{}\t{name}\t{now}\t{text}", sign(&forger, &body))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (file, text) in [("genuine.tsv", genuine), ("forged.tsv", forged)] {
        let path = dir.join(file);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "bench_deliveries: {count} genuine and {count} forged deliveries signed at {now} in {}",
        dir.display()
    );
    Ok(())
}
