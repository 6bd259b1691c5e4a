//! The optional log file. `--log FILE` (or `ISOLATE_PLAY_LOG=FILE`) installs
//! a `tracing` subscriber that appends plain text to FILE: a UTC timestamp,
//! the level, the thread, the target and the event's fields, one event a
//! line. Without it nothing is set up and `tracing` events are dropped at
//! next to no cost.
//!
//! This crate's events are kept from DEBUG up; other crates' from WARN up.
//! Writes are synchronous and unbuffered (a `Mutex<File>`), so a line is on
//! disk before the event returns, even if V8 aborts the process right after.
//! That suits rare events (start, errors, recycles, limit hits); do not log
//! per invocation.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;

/// Opens (creates or appends to) `path` and makes it the process's log.
/// A second call in the same process keeps the first log.
pub fn init(path: &Path) -> anyhow::Result<()> {
    let file = open(path)?;
    let filter = Targets::new()
        .with_target(env!("CARGO_CRATE_NAME"), LevelFilter::DEBUG)
        .with_default(LevelFilter::WARN);
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_thread_names(true)
        .with_writer(Mutex::new(file))
        .with_filter(filter);
    let subscriber = tracing_subscriber::registry().with(fmt);
    // Err only when a subscriber is already installed: keep that one.
    let _ = tracing::subscriber::set_global_default(subscriber);
    Ok(())
}

fn open(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot open log file {}: {e}", path.display()))
}
