//! The `bedrud-webhook` command: listen for, trigger, sign and verify
//! Bedrud webhooks. See the README, or `bedrud-webhook --help`.

mod cli;
mod demo;
mod exit;
mod input;
mod listen;
mod output;
mod record;
mod secrets;
mod sign;
mod strict;
mod trigger;
mod verify;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    // clap prints its own usage errors and exits with status 2.
    let cli = Cli::parse();
    init_tracing();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            output::err(format!("error: {error:#}"));
            exit::for_error(&error)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Read once here, so that the commands never touch the environment.
    let env = secrets::env_value();
    match cli.command {
        Command::Sign(args) => sign::run(&args, env),
        Command::Verify(args) => verify::run(&args, env),
        Command::Trigger(args) => runtime()?.block_on(trigger::run(&args, env)),
        Command::Listen(args) => runtime()?.block_on(listen::run(&args, env)),
        Command::Demo => runtime()?.block_on(demo::run()),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The integrations log each rejection through `tracing`; the tool prints
/// its own lines, so those logs are shown only when `RUST_LOG` asks.
fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _already_set = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
}
