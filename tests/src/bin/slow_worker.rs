//! A worker for the fault tests (`tests/tests/faults.rs`): `slow_worker
//! <queue URL>` runs `Queue::run_worker` on the queue with a handler that
//! prints `started <room id>`, then, for a room whose id starts with `slow`,
//! sleeps `SLOW_SECS` seconds (default 60), and prints `handled <room id>`.
//! Killed while it sleeps, it leaves a delivery whose worker died.

use std::io::Write;
use std::time::Duration;

use bedrud_webhook::queue::Queue;
use bedrud_webhook::{Envelope, Event};

fn say(line: String) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .ok_or("usage: slow_worker <queue URL>")?;
    let slow: u64 = match std::env::var("SLOW_SECS") {
        Ok(secs) => secs.parse()?,
        Err(_) => 60,
    };
    let queue = Queue::connect(&url).await?;
    say("worker running".to_owned());
    queue
        .run_worker(move |envelope: Envelope| async move {
            let room = match &envelope.event {
                Event::RoomCreated(room) => room.room_id.clone(),
                other => other.name().to_owned(),
            };
            say(format!("started {room}"));
            if room.starts_with("slow") {
                tokio::time::sleep(Duration::from_secs(slow)).await;
            }
            say(format!("handled {room}"));
            Ok::<(), std::io::Error>(())
        })
        .await;
    Ok(())
}
