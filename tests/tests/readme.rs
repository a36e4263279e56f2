//! The README's newcomer path, proved: its receiver (`Cargo.toml` and
//! `src/main.rs`) and its handler test, copied as shown into a fresh crate
//! outside the workspace (the git dependency swapped for a path), build, and
//! the test passes.

// The shared harness (`common`) unwraps outside `#[test]` functions too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

mod common;

use common::blocks;

#[test]
fn the_readme_receiver_and_its_test_build_and_pass_in_a_fresh_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let git = r#"git = "https://github.com/themadorg/bedrud-webhook""#;
    let path = format!("path = {:?}", root.join("integrations"));

    let deps = blocks(&readme, "A receiver", "toml");
    let main = blocks(&readme, "A receiver", "rust");
    let dev_deps = blocks(&readme, "Test your handler", "toml");
    let test = blocks(&readme, "Test your handler", "rust");
    assert_eq!(
        (deps.len(), main.len(), dev_deps.len(), test.len()),
        (1, 1, 1, 1)
    );
    assert!(
        deps[0].contains(git) && dev_deps[0].contains(git),
        "the README's dependency line changed"
    );

    let dir = tempdir();
    let manifest = format!(
        "[package]\nname = \"readme-receiver\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[workspace]\n\n{}\n{}",
        deps[0].replace(git, &path),
        dev_deps[0].replace(git, &path),
    );
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/main.rs"), format!("{}\n{}", main[0], test[0])).unwrap();
    // The workspace's lock file pins the same versions, so nothing new is fetched.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();

    let started = Instant::now();
    let output = Command::new(env!("CARGO"))
        .args(["test", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", root.join("target/readme-check"))
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(
        output.status.success(),
        "cargo test in the fresh crate failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("test result: ok. 1 passed"), "{stdout}");
    println!(
        "the README's crate built and passed its test in {:.0?}",
        started.elapsed()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bedrud-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
