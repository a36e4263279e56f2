//! Writes the shared test vectors, `tests/vectors/bedrud-webhook-vectors.json`.
//!
//! ```text
//! cargo run -p bedrud-webhook-tests --bin generate-vectors > tests/vectors/bedrud-webhook-vectors.json
//! cargo run -p bedrud-webhook-tests --bin generate-vectors -- tests/vectors/bedrud-webhook-vectors.json
//! ```
//!
//! With no argument the file goes to standard output; with a path, to that
//! file. The output is deterministic: fixed secrets, a fixed clock, a fixed
//! order. The `vectors` test fails when the checked-in file differs from it.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use bedrud_webhook_tests::vectors;

const USAGE: &str = "usage: generate-vectors [PATH]

Writes the shared Bedrud webhook test vectors (JSON) to PATH, or to standard
output when no PATH is given. The checked-in copy lives at
tests/vectors/bedrud-webhook-vectors.json.";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let target = args.next();
    if args.next().is_some() {
        bail!("too many arguments\n\n{USAGE}");
    }
    if target
        .as_deref()
        .is_some_and(|arg| arg == "-h" || arg == "--help")
    {
        println!("{USAGE}");
        return Ok(());
    }

    let text = vectors::render(&vectors::generate()?)?;
    match target.map(PathBuf::from) {
        Some(path) => {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
        }
    }
    Ok(())
}
