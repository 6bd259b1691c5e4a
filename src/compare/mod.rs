//! The isolation ladder: one script, per call, under every kind of sandbox
//! a FaaS platform could give it (a warm isolate, a fresh context, a fresh
//! isolate, one from a startup snapshot, a process, a process in fresh
//! Linux namespaces, whole runtimes such as Node), measured in the same run
//! in alternating rounds, plus a published VM figure for reference. Shared
//! by `isolate-play compare` and the playground's ladder view.
//!
//! This file is the API both use; the measurement lives in submodules.

mod child;
mod isolates;
mod process;
mod render;
mod runtimes;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

pub use child::maybe_run as maybe_run_child;
pub use render::render_text;

use crate::engine::{Mode, new_histogram};
use process::{Ending, Spec};

use serde::{Deserialize, Serialize};

use crate::engine::{EngineConfig, Source};

/// The shortest measured window a row may get per round: shorter ones
/// are mostly warm-up and scheduling, and a process row may finish no call.
pub const MIN_ROUND: Duration = Duration::from_millis(50);

/// One rung of the ladder, from the lightest sandbox to the heaviest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, Serialize, Deserialize)]
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
    /// Mean wall time per call (ns): measured seconds × calls in flight /
    /// calls (for the VM row, the published boot time).
    pub time_per_call_ns: Option<u64>,
    /// Calls that failed in the measured windows (not counted in `calls`).
    pub failures: u64,
    /// The result the script gave under this rung (first call), so that a
    /// reader sees every rung ran the same thing.
    pub result: Option<String>,
    /// What makes this row's figures other than its label says (the
    /// snapshot row when no blob could be built: plain cold isolates), for
    /// every view to show beside them.
    #[serde(default)]
    pub caveat: Option<String>,
}

/// The whole ladder.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ladder {
    /// The script's path as given.
    pub file: String,
    /// The machine it was measured on (`bench::machine()`).
    pub machine: String,
    /// The 1-minute load average when the comparison started (None where
    /// unknown): above the core count, every row also waits for a CPU.
    pub load_average: Option<f64>,
    /// Calls in flight at once in every measured row.
    pub concurrency: usize,
    /// Measured rounds per row, alternating between rows: the rounds
    /// every row finished (fewer than asked when cancelled).
    pub rounds: u32,
    /// Wall time of the whole comparison (s).
    pub seconds: f64,
    /// One row per rung, in [`Rung::ALL`] order.
    pub rows: Vec<Row>,
}

/// What the comparison reports while it runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Update {
    /// A row changed (a round ended, it started, or it cannot run);
    /// boxed, so that the channels carrying updates move a pointer.
    Row(Box<Row>),
    /// Round `round` of `rounds` is about to start.
    Round { round: u32, rounds: u32 },
}

/// One line of `isolate-play compare --stream` (JSON): how the playground's
/// ladder view hears from the compare process it runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum StreamLine {
    Update(Update),
    /// The last line: every row as measured.
    Done(Ladder),
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

/// Calls in flight per row unless asked: one, so that every row's latency
/// is a call's own cost, not a queue behind its neighbours (on a 2-core
/// machine, two children per row would share the cores with each other and
/// with compare itself), and calls/s is one caller's rate. `-n` raises it.
pub const DEFAULT_CONCURRENCY: usize = 1;
/// Measured seconds per row unless asked: 3 s in 3 rounds, so that the
/// whole ladder (up to 9 measured rows, warm-ups and the memory probes)
/// stays under a minute.
pub const DEFAULT_SECONDS: f64 = 3.0;
pub const DEFAULT_ROUNDS: u32 = 3;
/// Load before each isolate row's measured window (JIT and caches warm).
const WARMUP: Duration = Duration::from_millis(150);
/// A child process gets the script's wall-clock limit plus this much (to
/// start a runtime) before it is killed.
pub const KILL_GRACE: Duration = Duration::from_secs(3);
/// Idle isolates and live contexts of the memory probes.
const MEMORY_UNITS: usize = 50;

/// Firecracker's published figures for the VM row.
const VM_SOURCE: &str = "Firecracker SPECIFICATION.md (github.com/firecracker-microvm/firecracker): \
\"It takes `<= 125 ms` to go from receiving the Firecracker InstanceStart API call to the start of the \
Linux guest user-space `/sbin/init` process\"; \"Firecracker's virtual machine manager threads have a \
memory overhead `<= 5 MiB`\" (a microVM with 1 CPU and 128 MiB of RAM)";
const VM_BOOT: Duration = Duration::from_millis(125);
const VM_MEMORY: u64 = 5 << 20;

impl Default for Options {
    /// The defaults above, this executable for the process rows.
    fn default() -> Self {
        Options {
            concurrency: DEFAULT_CONCURRENCY,
            duration: Duration::from_secs_f64(DEFAULT_SECONDS),
            rounds: DEFAULT_ROUNDS,
            program: std::env::current_exe().unwrap_or_else(|_| "isolate-play".into()),
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Rung {
    /// Short name ("warm", "node").
    pub fn name(self) -> &'static str {
        match self {
            Rung::Warm => "warm",
            Rung::Context => "context",
            Rung::Cold => "cold",
            Rung::Snapshot => "snapshot",
            Rung::Process => "process",
            Rung::Namespaced => "namespaced",
            Rung::Node => "node",
            Rung::Deno => "deno",
            Rung::Qjs => "qjs",
            Rung::Vm => "vm",
        }
    }

    /// What the row runs, for people: at most 16 characters, so that the
    /// ladder view shows it whole at 80 columns (the lesson and the text
    /// output's notes say more).
    pub fn label(self) -> &'static str {
        match self {
            Rung::Warm => "isolate, warm",
            Rung::Context => "isolate, context",
            Rung::Cold => "isolate, cold",
            Rung::Snapshot => "snapshot isolate",
            Rung::Process => "process per call",
            Rung::Namespaced => "container-like",
            Rung::Node => "node -e",
            Rung::Deno => "deno eval",
            Rung::Qjs => "qjs",
            Rung::Vm => "microVM",
        }
    }

    /// One line: what this rung teaches (at most 76 characters, so the
    /// ladder view shows it whole at 80 columns).
    pub fn lesson(self) -> &'static str {
        match self {
            Rung::Warm => {
                "Reuse is where isolates win: a kept isolate and context make a call cheap."
            }
            Rung::Context => {
                "A fresh context per call: clean globals, same heap, a cached compile."
            }
            Rung::Cold => "A new isolate per call: a heap, a context and a compile, every time.",
            Rung::Snapshot => {
                "A startup snapshot restores the evaluated top level instead of rerunning it."
            }
            Rung::Process => {
                "A process per call pays exec, V8's start and an address space, every call."
            }
            Rung::Namespaced => {
                "Namespaces (a container before images and cgroups) cost more per call."
            }
            Rung::Node => "A whole runtime per call: its start, not your script, is the time.",
            Rung::Deno => "Another whole runtime per call: a start and tens of MiB for one call.",
            Rung::Qjs => "A small interpreter starts fast, but runs the script without a JIT.",
            Rung::Vm => {
                "A microVM boots a guest kernel per sandbox: the strongest wall, the slowest."
            }
        }
    }

    /// What one live unit of this rung is.
    fn unit(self) -> &'static str {
        match self {
            Rung::Warm | Rung::Cold | Rung::Snapshot => "isolate",
            Rung::Context => "context",
            Rung::Vm => "microVM",
            _ => "process",
        }
    }
}

impl Row {
    /// A row not started yet.
    pub fn pending(rung: Rung) -> Row {
        Row {
            rung,
            label: rung.label().into(),
            lesson: rung.lesson().into(),
            status: RowStatus::Pending,
            calls: 0,
            seconds: 0.0,
            calls_per_s: None,
            p50_ns: None,
            p99_ns: None,
            cpu_per_call_ns: None,
            memory_per_unit: None,
            memory_unit: rung.unit().into(),
            memory_note: String::new(),
            ratio_to_warm: None,
            time_per_call_ns: None,
            failures: 0,
            result: None,
            caveat: None,
        }
    }

    /// Whether the row has (or will have) measured figures.
    pub fn is_measurable(&self) -> bool {
        matches!(
            self.status,
            RowStatus::Pending | RowStatus::Running | RowStatus::Measured
        )
    }
}

/// How a row is measured.
enum Meter {
    /// The engine in this mode.
    Engine(Mode),
    /// A child process per call.
    Child(Spec),
    /// Not measured (unavailable or a reference).
    None,
}

/// One row's measured windows added up.
struct Acc {
    calls: u64,
    secs: f64,
    cpu_ns: u64,
    latency: Histogram<u64>,
    /// Peak RSS of each child (process rows).
    rss: Vec<u64>,
    failures: u64,
}

impl Acc {
    fn new() -> Acc {
        Acc {
            calls: 0,
            secs: 0.0,
            cpu_ns: 0,
            latency: new_histogram(),
            rss: Vec::new(),
            failures: 0,
        }
    }

    /// The row's figures from what was measured so far.
    fn fill(&self, row: &mut Row, n: usize) {
        row.calls = self.calls;
        row.seconds = self.secs;
        row.failures = self.failures;
        if self.calls == 0 || self.secs <= 0.0 {
            return;
        }
        row.calls_per_s = Some(self.calls as f64 / self.secs);
        if !self.latency.is_empty() {
            row.p50_ns = Some(self.latency.value_at_quantile(0.5));
            row.p99_ns = Some(self.latency.value_at_quantile(0.99));
        }
        row.cpu_per_call_ns = Some(self.cpu_ns / self.calls);
        row.time_per_call_ns = Some((self.secs * n as f64 / self.calls as f64 * 1e9) as u64);
        if !self.rss.is_empty() {
            let mut v = self.rss.clone();
            v.sort_unstable();
            row.memory_per_unit = Some(v[v.len() / 2]);
        }
    }
}

/// The script as a file for the child processes: the source the isolate
/// rows run (which may be an unsaved buffer), under its own name, in a
/// private directory removed on drop.
struct ScriptCopy {
    dir: PathBuf,
    file: PathBuf,
}

impl ScriptCopy {
    fn new(source: &crate::engine::Source) -> anyhow::Result<ScriptCopy> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "isolate-play-compare-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir(&dir)
            .map_err(|e| anyhow::anyhow!("cannot make {}: {e}", dir.display()))?;
        let name = Path::new(&source.name)
            .file_name()
            .map_or_else(|| "script.js".into(), |n| n.to_os_string());
        let file = dir.join(name);
        std::fs::write(&file, &source.code)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", file.display()))?;
        Ok(ScriptCopy { dir, file })
    }
}

impl Drop for ScriptCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The hidden child's spec for one call of `file`.
fn our_spec(program: &Path, task: &child::Task, namespaced: bool, kill_after: Duration) -> Spec {
    Spec {
        program: program.to_path_buf(),
        args: Vec::new(),
        env: vec![(
            child::CHILD_ENV.into(),
            serde_json::to_string(task).unwrap_or_default().into(),
        )],
        namespaced,
        kill_after,
    }
}

/// A row's first call: the result and, for a child, the pid it saw; or
/// why there is none.
type FirstCall = Result<(String, Option<i64>), String>;

/// One call under `meter`.
fn first_call(
    meter: &Meter,
    source: &crate::engine::Source,
    config: &EngineConfig,
    cancel: &AtomicBool,
) -> FirstCall {
    match meter {
        Meter::Engine(mode) => {
            isolates::first_call(source, config, *mode, cancel).map(|r| (r, None))
        }
        Meter::Child(spec) => match process::run_once(spec, cancel) {
            Ok(exit) => {
                let pid = exit.answer().and_then(|a| a.pid);
                exit.outcome(spec.kill_after).map(|r| (r, pid))
            }
            Err(e) if spec.namespaced => Err(process::diagnose_namespaces(&e)),
            Err(e) => Err(format!("cannot start {}: {e}", spec.program.display())),
        },
        Meter::None => Err("not measured".into()),
    }
}

/// Children per call, `n` in flight, for `window`: every call that started
/// in the window is waited for.
fn child_window(
    spec: &Spec,
    n: usize,
    window: Duration,
    cancel: &AtomicBool,
    acc: &mut Acc,
) -> Option<String> {
    let shared = Mutex::new((Acc::new(), None::<String>));
    let t0 = Instant::now();
    let end = t0 + window;
    std::thread::scope(|s| {
        for _ in 0..n {
            s.spawn(|| {
                while Instant::now() < end && !cancel.load(Relaxed) {
                    let exit = process::run_once(spec, cancel);
                    let mut g = shared.lock().unwrap_or_else(|p| p.into_inner());
                    match exit {
                        Ok(e) if e.ending == Ending::Cancelled => break,
                        Ok(e) => match e.outcome(spec.kill_after) {
                            Ok(_) => {
                                g.0.calls += 1;
                                g.0.cpu_ns += e.cpu_ns;
                                let _ = g.0.latency.record(e.wall.as_nanos().max(1) as u64);
                                // The child's own figure (see Answer::hwm).
                                if let Some(b) = e.answer().and_then(|a| a.hwm) {
                                    g.0.rss.push(b);
                                }
                            }
                            Err(why) => {
                                g.0.failures += 1;
                                g.1.get_or_insert(why);
                            }
                        },
                        Err(e) => {
                            g.0.failures += 1;
                            g.1.get_or_insert(format!("cannot start: {e}"));
                        }
                    }
                }
            });
        }
    });
    let secs = t0.elapsed().as_secs_f64();
    let (w, first_error) = shared.into_inner().unwrap_or_else(|p| p.into_inner());
    acc.calls += w.calls;
    acc.secs += secs;
    acc.cpu_ns += w.cpu_ns;
    let _ = acc.latency.add(&w.latency);
    acc.rss.extend(w.rss);
    acc.failures += w.failures;
    // A round where every call failed ends the row.
    (w.calls == 0 && w.failures > 0).then(|| first_error.unwrap_or_default())
}

/// For `isolate-play compare` in a terminal: the first SIGINT, SIGTERM or
/// SIGHUP sets `cancel` (the comparison stops, its children are killed and
/// reaped, its script copy removed, and the rows keep what they measured);
/// a second one ends the process at once (exit status 128 + the signal;
/// its children die with it, see `process`). Without this a Ctrl-C killed
/// compare mid-call, leaving its copy of the script in the temp directory.
///
/// Errors: the handlers could not be installed.
pub fn cancel_on_signals(cancel: Arc<AtomicBool>) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut int, mut term, mut hup) = {
        let _in = rt.enter();
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
        )
    };
    std::thread::Builder::new()
        .name("compare-signals".into())
        .spawn(move || {
            rt.block_on(async move {
                loop {
                    let (name, num) = tokio::select! {
                        _ = int.recv() => ("SIGINT", libc::SIGINT),
                        _ = term.recv() => ("SIGTERM", libc::SIGTERM),
                        _ = hup.recv() => ("SIGHUP", libc::SIGHUP),
                    };
                    if cancel.swap(true, Relaxed) {
                        std::process::exit(128 + num);
                    }
                    eprintln!(
                        "  {name}: stopping; the rows keep what they measured ({name} again to quit at once)"
                    );
                }
            })
        })?;
    Ok(())
}

/// Ratios to the warm row's time per call.
fn set_ratios(rows: &mut [Row]) {
    let warm = rows
        .iter()
        .find(|r| r.rung == Rung::Warm)
        .and_then(|r| r.time_per_call_ns)
        .filter(|&t| t > 0);
    for r in rows.iter_mut() {
        r.ratio_to_warm = match (warm, r.time_per_call_ns) {
            (Some(w), Some(t)) => Some(t as f64 / w as f64),
            _ => None,
        };
    }
}

/// Runs the ladder for `source` under `config`'s limits, reporting each
/// change through `on_update`, and returns the final rows.
///
/// Order: every row's first call (at once, each bounded by its limit or
/// kill timeout: a row whose call fails reports why and is not measured);
/// the memory probes (in child processes); then `options.rounds` rounds,
/// each measuring every row for `duration / rounds` in ladder order, an
/// update after each.
///
/// Errors: only what stops the whole comparison (the script cannot be
/// copied for the child processes); a rung that cannot run is a row with
/// [`RowStatus::Unavailable`].
pub fn run(
    source: &Source,
    config: &EngineConfig,
    options: &Options,
    on_update: &mut dyn FnMut(Update),
) -> anyhow::Result<Ladder> {
    let t0 = Instant::now();
    let load_average = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok());
    let n = options.concurrency.max(1);
    let rounds = options.rounds.max(1);
    let cancel = &*options.cancel;
    let copy = ScriptCopy::new(source)?;
    let kill_after = config.limits.timeout + KILL_GRACE;
    let mut rows: Vec<Row> = Rung::ALL.iter().map(|&r| Row::pending(r)).collect();
    for r in &rows {
        on_update(Update::Row(Box::new(r.clone())));
    }
    let call_task = child::Task::Call {
        file: copy.file.clone(),
        name: source.name.clone(),
        heap_bytes: config.limits.heap_bytes,
        external_bytes: config.limits.external_bytes,
        timeout_ms: config.limits.timeout.as_millis() as u64,
        cpu_ms: config.limits.cpu.map(|c| c.as_millis() as u64),
        payload: config.payload.clone(),
    };
    let mut meters: Vec<Meter> = Vec::new();
    for row in rows.iter_mut() {
        let meter = match row.rung {
            Rung::Warm => Meter::Engine(Mode::Warm),
            Rung::Context => Meter::Engine(Mode::Context),
            Rung::Cold => Meter::Engine(Mode::Cold),
            Rung::Snapshot => Meter::Engine(Mode::Snapshot),
            Rung::Process => {
                Meter::Child(our_spec(&options.program, &call_task, false, kill_after))
            }
            Rung::Namespaced => {
                Meter::Child(our_spec(&options.program, &call_task, true, kill_after))
            }
            Rung::Node | Rung::Deno | Rung::Qjs => {
                let name = runtimes::program(row.rung).unwrap_or_default();
                match runtimes::which(name) {
                    Some(p) => Meter::Child(runtimes::spec(
                        row.rung, &p, &copy.file, source, config, kill_after,
                    )),
                    None => {
                        row.status = RowStatus::Unavailable {
                            reason: format!("{name} not found on PATH"),
                        };
                        Meter::None
                    }
                }
            }
            Rung::Vm => {
                row.status = RowStatus::Reference {
                    source: VM_SOURCE.into(),
                };
                row.p50_ns = Some(VM_BOOT.as_nanos() as u64);
                row.time_per_call_ns = Some(VM_BOOT.as_nanos() as u64);
                row.memory_per_unit = Some(VM_MEMORY);
                row.memory_note =
                    "published, not measured here: the VMM's own overhead (at most), guest memory not included".into();
                Meter::None
            }
        };
        meters.push(meter);
    }
    // Every row's first call at once: the result each row shows, and
    // whether it can run at all.
    let firsts: Vec<Option<FirstCall>> = std::thread::scope(|s| {
        let handles: Vec<_> = meters
            .iter()
            .map(|m| {
                (!matches!(m, Meter::None))
                    .then(|| s.spawn(|| first_call(m, source, config, cancel)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("the first call panicked".into()))
                })
            })
            .collect()
    });
    for ((row, meter), first) in rows.iter_mut().zip(meters.iter_mut()).zip(firsts) {
        match first {
            Some(Ok((result, pid))) => {
                row.result = Some(result);
                if row.rung == Rung::Namespaced {
                    row.label = match pid {
                        // Checked: the script ran as pid 1 of its namespace.
                        Some(1) => row.label.clone(),
                        Some(p) => format!("{} (pid {p} inside: no pid namespace?)", row.label),
                        None => row.label.clone(),
                    };
                }
            }
            // Stopped before it answered: not the script's failure; the
            // row stays pending (not measured) and measures nothing more.
            Some(Err(_)) if cancel.load(Relaxed) => *meter = Meter::None,
            Some(Err(reason)) => {
                row.status = RowStatus::Unavailable {
                    reason: if reason.starts_with("unshare") || reason.starts_with("cannot") {
                        reason
                    } else {
                        format!("the script failed under it: {reason}")
                    },
                };
                *meter = Meter::None;
            }
            None => {}
        }
        on_update(Update::Row(Box::new(row.clone())));
    }
    memory_probes(
        &mut rows,
        &options.program,
        &copy,
        source,
        config,
        kill_after,
        cancel,
    );
    for r in &rows {
        on_update(Update::Row(Box::new(r.clone())));
    }
    // Alternating rounds: round 1 of every row, then round 2...
    let slice = options.duration / rounds;
    let mut accs: Vec<Acc> = rows.iter().map(|_| Acc::new()).collect();
    let mut done_rounds = 0;
    for round in 1..=rounds {
        if cancel.load(Relaxed) {
            break;
        }
        on_update(Update::Round { round, rounds });
        for i in 0..rows.len() {
            if cancel.load(Relaxed) {
                break;
            }
            let stopped = match &meters[i] {
                Meter::None => continue,
                Meter::Engine(mode) => {
                    match isolates::window(source, config, *mode, n, WARMUP, slice, cancel) {
                        Some(w) => {
                            let a = &mut accs[i];
                            a.calls += w.calls;
                            a.secs += w.secs;
                            a.cpu_ns += w.cpu_ns;
                            let _ = a.latency.add(&w.latency);
                            if let Some(info) = w.snapshot {
                                let (note, caveat) = snapshot_note(&info);
                                rows[i].memory_note = note;
                                rows[i].caveat = caveat;
                            }
                            None
                        }
                        None => break,
                    }
                }
                Meter::Child(spec) => child_window(spec, n, slice, cancel, &mut accs[i]),
            };
            let row = &mut rows[i];
            accs[i].fill(row, n);
            row.status = match stopped {
                Some(reason) => {
                    meters[i] = Meter::None;
                    RowStatus::Unavailable {
                        reason: format!("the script failed under it in round {round}: {reason}"),
                    }
                }
                None if round == rounds && accs[i].calls == 0 && accs[i].failures == 0 => {
                    RowStatus::Unavailable {
                        reason: format!(
                            "no call finished in its windows ({} round{} of {} ms): too short for one call",
                            rounds,
                            if rounds == 1 { "" } else { "s" },
                            slice.as_millis()
                        ),
                    }
                }
                None if round == rounds => RowStatus::Measured,
                None => RowStatus::Running,
            };
            set_ratios(&mut rows);
            on_update(Update::Row(Box::new(rows[i].clone())));
        }
        if !cancel.load(Relaxed) {
            done_rounds = round;
        }
    }
    set_ratios(&mut rows);
    for r in &rows {
        on_update(Update::Row(Box::new(r.clone())));
    }
    Ok(Ladder {
        file: source.name.clone(),
        machine: crate::bench::machine(),
        load_average,
        concurrency: n,
        rounds: done_rounds,
        seconds: t0.elapsed().as_secs_f64(),
        rows,
    })
}

/// Memory per live unit of the isolate rows, each in a child process:
/// idle isolates (the engine's pool, as `bench` measures them) and live
/// contexts with the script run in each.
fn memory_probes(
    rows: &mut [Row],
    program: &Path,
    copy: &ScriptCopy,
    source: &Source,
    config: &EngineConfig,
    kill_after: Duration,
    cancel: &AtomicBool,
) {
    let runs = |rows: &[Row], rung: Rung| rows.iter().any(|r| r.rung == rung && r.is_measurable());
    let probe = |task: &child::Task| {
        let spec = our_spec(program, task, false, kill_after + Duration::from_secs(20));
        process::run_once(&spec, cancel)
            .map_err(|e| e.to_string())
            .and_then(|e| e.outcome(spec.kill_after))
            .and_then(|s| s.parse::<u64>().map_err(|e| e.to_string()))
    };
    if runs(rows, Rung::Warm) || runs(rows, Rung::Cold) {
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        let got = probe(&child::Task::IsolateMemory {
            isolates: MEMORY_UNITS,
            threads: cores,
            heap_bytes: config.limits.heap_bytes,
        });
        for r in rows
            .iter_mut()
            .filter(|r| matches!(r.rung, Rung::Warm | Rung::Cold) && r.is_measurable())
        {
            match &got {
                Ok(b) => {
                    r.memory_per_unit = Some(*b);
                    r.memory_note = format!(
                        "RSS growth per live idle isolate: {MEMORY_UNITS} isolates with a context each in the engine's pool, in a child process (the script not run)"
                    );
                }
                Err(e) => r.memory_note = format!("not measured: {e}"),
            }
        }
    }
    if runs(rows, Rung::Context) && !cancel.load(Relaxed) {
        let task = child::Task::ContextMemory {
            file: copy.file.clone(),
            name: source.name.clone(),
            heap_bytes: config.limits.heap_bytes,
            contexts: MEMORY_UNITS,
        };
        let got = probe(&task);
        if let Some(r) = rows.iter_mut().find(|r| r.rung == Rung::Context) {
            match got {
                Ok(b) => {
                    r.memory_per_unit = Some(b);
                    r.memory_note = format!(
                        "V8 heap growth per live context with the script run in it: {MEMORY_UNITS} contexts in one isolate, after a full GC, in a child process"
                    );
                }
                Err(e) => r.memory_note = format!("not measured: {e}"),
            }
        }
    }
    for r in rows.iter_mut() {
        match r.rung {
            Rung::Process | Rung::Node | Rung::Deno | Rung::Qjs => {
                r.memory_note = "the child's own peak RSS since its exec (VmHWM, read from its /proc/self/status as it answers), median over the calls".into()
            }
            Rung::Namespaced => {
                r.memory_note = "the program inside's own peak RSS since its exec (VmHWM, from its /proc/self/status), median over the calls; the namespaces' kernel objects are not counted".into()
            }
            _ => {}
        }
    }
}

/// The snapshot rung's memory note (the blob every restored isolate
/// starts from; a live restored isolate's own RSS is not probed), and its
/// caveat when no blob could be built.
fn snapshot_note(info: &crate::engine::snapshot::SnapshotInfo) -> (String, Option<String>) {
    match (info.blob_bytes, &info.failure) {
        (Some(b), _) => (
            format!(
                "not probed per isolate; every isolate starts from one {} blob, built once in {:.0} ms (a child process)",
                crate::metrics::fmt_bytes(b as u64),
                info.build_s * 1e3
            ),
            None,
        ),
        (None, why) => (
            "none: no snapshot was built (see the row's caveat)".into(),
            Some(format!(
                "no snapshot: {}; calls ran as plain cold isolates",
                why.as_deref().unwrap_or("none was built")
            )),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the playground's ladder view reads from `compare --stream`
    /// comes back as it went, every status included.
    #[test]
    fn stream_lines_round_trip() {
        let mut rows: Vec<Row> = Rung::ALL.iter().map(|&r| Row::pending(r)).collect();
        rows[0].status = RowStatus::Measured;
        rows[0].calls_per_s = Some(3.5e6);
        rows[0].p50_ns = Some(291);
        rows[1].status = RowStatus::Running;
        rows[2].status = RowStatus::Unavailable {
            reason: "deno not found on PATH".into(),
        };
        rows[9].status = RowStatus::Reference {
            source: "Firecracker".into(),
        };
        let ladder = Ladder {
            file: "a.js".into(),
            machine: "m".into(),
            load_average: Some(1.5),
            concurrency: 1,
            rounds: 3,
            seconds: 2.5,
            rows: rows.clone(),
        };
        for line in [
            StreamLine::Update(Update::Row(Box::new(rows[2].clone()))),
            StreamLine::Update(Update::Round {
                round: 2,
                rounds: 3,
            }),
            StreamLine::Done(ladder),
        ] {
            let json = serde_json::to_string(&line).expect("serializes");
            let back: StreamLine = serde_json::from_str(&json).expect("parses");
            assert_eq!(serde_json::to_string(&back).expect("serializes"), json);
        }
    }

    #[test]
    fn every_rung_has_a_short_label_and_a_one_line_lesson() {
        for r in Rung::ALL {
            assert!(r.label().chars().count() <= 16, "{r:?}");
            let l = r.lesson();
            assert!(l.chars().count() <= 76, "{r:?}: {l}");
            assert!(l.ends_with('.') && !l.contains('\n'), "{r:?}");
        }
    }
}
