//! The isolation ladder: one script, per call, under every kind of sandbox
//! a FaaS platform could give it (a warm isolate, a fresh context, a fresh
//! isolate, one from a startup snapshot, a process, a process in fresh
//! Linux namespaces, whole runtimes such as Node), measured in the same run
//! in alternating rounds, plus a published VM figure for reference. Shared
//! by `isolate-play compare` and the playground's ladder view.
//!
//! This file is the API both use; the measurement lives in submodules.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde::Serialize;

use crate::engine::{EngineConfig, Source};

/// One rung of the ladder, from the lightest sandbox to the heaviest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rung {
    /// A kept isolate and context: the script (or handler) runs again.
    Warm,
    /// A kept isolate, a fresh context per call.
    Context,
    /// A fresh isolate per call: create, run, dispose.
    Cold,
    /// A fresh isolate per call, started from a V8 startup snapshot of the
    /// script's evaluated top level.
    Snapshot,
    /// This binary re-executing itself per call: V8 start, isolate, run, exit.
    Process,
    /// The same process inside fresh Linux namespaces (user, pid, mount,
    /// network, uts, ipc): what a container adds before any image or cgroup.
    Namespaced,
    /// `node -e`, a whole runtime per call.
    Node,
    /// `deno eval`, a whole runtime per call.
    Deno,
    /// `qjs`, a small engine per call.
    Qjs,
    /// A microVM per call: a published figure, not measured here.
    Vm,
}

impl Rung {
    /// Every rung, in ladder order.
    pub const ALL: [Rung; 10] = [
        Rung::Warm,
        Rung::Context,
        Rung::Cold,
        Rung::Snapshot,
        Rung::Process,
        Rung::Namespaced,
        Rung::Node,
        Rung::Deno,
        Rung::Qjs,
        Rung::Vm,
    ];
}

/// Where a row stands.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum RowStatus {
    /// Not started yet.
    Pending,
    /// Measured in part: figures are from the rounds done so far.
    Running,
    /// Every round done.
    Measured,
    /// Could not run here; `reason` says exactly why (not on PATH, the
    /// kernel refused a namespace, the script failed under it...).
    Unavailable { reason: String },
    /// A published figure, not measured here; `source` names it.
    Reference { source: String },
}

/// One rung's figures so far. `None` is "not measured" and shows as "—".
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub rung: Rung,
    /// What the row runs, for people: "isolate, warm call", "node -e".
    pub label: String,
    /// One line: what this rung teaches.
    pub lesson: String,
    #[serde(flatten)]
    pub status: RowStatus,
    /// Calls completed in the measured windows.
    pub calls: u64,
    /// Wall time of the measured windows (s).
    pub seconds: f64,
    /// Calls per second over the measured windows.
    pub calls_per_s: Option<f64>,
    /// Latency of one call (ns), p50 and p99 over the measured windows.
    pub p50_ns: Option<u64>,
    pub p99_ns: Option<u64>,
    /// CPU time per call (ns): process CPU (user + system) over the
    /// windows, children's included for process rows, divided by calls.
    pub cpu_per_call_ns: Option<u64>,
    /// Memory one live unit holds (bytes), and what the unit is
    /// ("isolate", "context", "process", "microVM"); how it was measured is
    /// in `memory_note`.
    pub memory_per_unit: Option<u64>,
    pub memory_unit: String,
    pub memory_note: String,
    /// Time per call divided by a warm isolate call's (mean wall time per
    /// call over the measured windows); 1.0 for the warm row.
    pub ratio_to_warm: Option<f64>,
    /// The result the script gave under this rung (first call), so that a
    /// reader sees every rung ran the same thing.
    pub result: Option<String>,
}

/// The whole ladder.
#[derive(Clone, Debug, Serialize)]
pub struct Ladder {
    /// The script's path as given.
    pub file: String,
    /// The machine it was measured on (`bench::machine()`).
    pub machine: String,
    /// Calls in flight at once in every measured row.
    pub concurrency: usize,
    /// Measured rounds per row, alternating between rows.
    pub rounds: u32,
    /// Wall time of the whole comparison (s).
    pub seconds: f64,
    /// One row per rung, in [`Rung::ALL`] order.
    pub rows: Vec<Row>,
}

/// What the comparison reports while it runs.
// Few updates per run: a row's size is no cost worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Update {
    /// A row changed (a round ended, it started, or it cannot run).
    Row(Row),
    /// Round `round` of `rounds` is about to start.
    Round { round: u32, rounds: u32 },
}

/// How to compare.
#[derive(Clone, Debug)]
pub struct Options {
    /// Calls in flight at once in every row (isolates, processes).
    pub concurrency: usize,
    /// Measured wall time per row, split over the rounds.
    pub duration: Duration,
    pub rounds: u32,
    /// The isolate-play binary the process rows run (default: this one).
    pub program: PathBuf,
    /// Set to stop early: the rows keep what they measured.
    pub cancel: Arc<AtomicBool>,
}

/// Runs the ladder for `source` under `config`'s limits, reporting each
/// change through `on_update`, and returns the final rows.
///
/// Errors: only what stops the whole comparison (the script cannot be
/// read); a rung that cannot run is a row with [`RowStatus::Unavailable`].
pub fn run(
    source: &Source,
    config: &EngineConfig,
    options: &Options,
    on_update: &mut dyn FnMut(Update),
) -> anyhow::Result<Ladder> {
    let _ = (source, config, options, on_update);
    anyhow::bail!("compare is not built yet")
}
