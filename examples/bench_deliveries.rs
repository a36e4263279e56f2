//! Writes the deliveries the end-to-end benchmark sends (`.ci/bench-e2e`,
//! BENCHMARKS.md): genuinely signed, as Bedrud signs them, with a timestamp
//! of now, so that they pass the verifier's ±5-minute window for the length
//! of a benchmark run.
//!
//! ```text
//! target/release/examples/bench_deliveries <dir> [count] [distinct]
//! ```
//!
//! writes `<dir>/genuine.tsv` and `<dir>/forged.tsv`, one delivery a line:
//! signature, event, timestamp and body, separated by tabs (Bedrud's bodies
//! are JSON without raw tabs or newlines). The deliveries cycle through the
//! events Bedrud emits, each with a room id of its own; `ping`'s body is the
//! same every time, so with `distinct` (for the replay guard's route, where a
//! repeat is a duplicate) `participant.left` takes its place. A forged delivery is
//! the same request signed with another secret: well-formed, wrong MAC, the
//! forgery a verifier has to compute a MAC to refuse. The signing secret is
//! `BEDRUD_WEBHOOK_SECRET`, or the golden vectors' secret, as for
//! `bench_server`.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use bedrud_webhook::delivery::Delivery;
use bedrud_webhook::{
    Envelope, Event, RecordingData, RecordingStatus, RoomData, Secret, Timestamp,
};

const DEFAULT_SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .context("usage: bench_deliveries <dir> [count] [distinct]")?,
    );
    let count: usize = match args.next() {
        Some(n) => n.parse().context("count must be a number")?,
        None => 100,
    };
    let distinct = args.next().as_deref() == Some("distinct");
    let secret = std::env::var("BEDRUD_WEBHOOK_SECRET").unwrap_or_else(|_| DEFAULT_SECRET.into());
    let secret = Secret::new(secret).context("BEDRUD_WEBHOOK_SECRET")?;
    let forger = Secret::new("not-the-secret").context("forger's secret")?;

    let now = Timestamp::now();
    let mut genuine = String::new();
    let mut forged = String::new();
    for i in 0..count {
        let room_id = format!("3f2b9c4e-8a1d-4e6b-9f0a-{i:012x}");
        let room = RoomData::new(
            room_id.as_str(),
            "weekly-sync",
            "7a1e0c2d-5b3f-4a9e-8c6d-1f2e3a4b5c6d",
        );
        let event = match i % 5 {
            0 => Event::RoomCreated(room),
            1 => Event::ParticipantJoined(room),
            2 => Event::RoomEnded(room),
            3 => {
                let mut recording =
                    RecordingData::new(format!("rec-{i:08x}"), room_id.as_str(), "weekly-sync");
                recording.file_url = Some(format!("https://files.example.com/rec-{i:08x}.mp4"));
                recording.file_size_bytes = Some(734_003_200);
                recording.duration_ms = Some(3_541_000);
                recording.status = Some(RecordingStatus::Completed);
                Event::RecordingCompleted(recording)
            }
            _ if distinct => Event::ParticipantLeft(room),
            _ => Event::Ping,
        };
        let envelope = Envelope::new(event, now);
        let delivery = Delivery::new(&envelope);
        let text = std::str::from_utf8(delivery.body()).context("Bedrud's JSON is UTF-8")?;
        anyhow::ensure!(
            !text.contains(['\t', '\n', '\r']),
            "body with a raw tab or newline"
        );
        let name = envelope.event.name();
        writeln!(
            genuine,
            "{}\t{name}\t{now}\t{text}",
            delivery.signature(&secret)
        )?;
        writeln!(
            forged,
            "{}\t{name}\t{now}\t{text}",
            delivery.signature(&forger)
        )?;
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
