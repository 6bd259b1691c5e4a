//! Everything that touches V8. The rest of the program holds an [`Engine`]
//! and talks to the workers only through channels and relaxed counters.
//!
//! Data flow: `Engine` methods send [`worker::Command`]s down one channel per
//! worker (one per isolate) and wake it in the scheduler; executor threads
//! (a pool, or one per isolate, see [`scheduler`]) run the workers in time
//! slices; workers send [`Report`]s up one shared channel; counters and
//! histograms are published by workers and read by anyone, lock-free or
//! under a lock that workers take only every publish interval.

#![deny(clippy::unwrap_used)]

pub mod capacity;
pub mod console;
pub mod format;
pub mod limits;
pub mod platform;
pub mod report;
pub mod sandbox;
pub mod scheduler;
pub mod script;
pub mod snapshot;
mod worker;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, unbounded};
use hdrhistogram::Histogram;
use serde::Serialize;

pub use console::ConsoleBounds;
pub use limits::Limits;
pub use report::{
    Console, ConsoleLine, ErrorKind, Invocation, Level, Location, Outcome, Report, ScriptError,
    WorkerShared, WorkerSnapshot, WorkerState,
};
use scheduler::{Msg, SchedShared, Slot};
pub use scheduler::{ThreadSnapshot, Threads};
pub use script::{ScriptKind, Source};
use worker::{Command, EngineShared, Worker, WorkerInit};

/// How an invocation gets its isolate and context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Kept isolate, kept context, compiled once per version.
    Warm,
    /// Kept isolate, a fresh context per invocation.
    Context,
    /// A fresh isolate per invocation: create, run, dispose.
    Cold,
    /// A fresh isolate per call, started from a V8 startup snapshot of the
    /// script's evaluated top level.
    Snapshot,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Warm, Mode::Context, Mode::Cold, Mode::Snapshot];
    pub fn name(self) -> &'static str {
        match self {
            Mode::Warm => "warm",
            Mode::Context => "context",
            Mode::Cold => "cold",
            Mode::Snapshot => "snapshot",
        }
    }
    /// warm → context → cold → snapshot → warm.
    pub fn next(self) -> Mode {
        match self {
            Mode::Warm => Mode::Context,
            Mode::Context => Mode::Cold,
            Mode::Cold => Mode::Snapshot,
            Mode::Snapshot => Mode::Warm,
        }
    }
    /// Whether every call gets a fresh isolate (cold and snapshot mode):
    /// no isolate is kept between calls.
    pub fn fresh_isolate_per_call(self) -> bool {
        matches!(self, Mode::Cold | Mode::Snapshot)
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Engine settings (what the CLI flags and config file set).
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub isolates: usize,
    pub mode: Mode,
    /// How isolates get threads: a pool (default: one thread per core) or
    /// one thread each.
    pub threads: Threads,
    pub limits: Limits,
    /// JSON text passed to handlers as `event.payload`.
    pub payload: String,
    pub console: ConsoleBounds,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            isolates: 4,
            mode: Mode::Warm,
            threads: Threads::default(),
            limits: Limits::default(),
            payload: "null".into(),
            console: ConsoleBounds::default(),
        }
    }
}

/// Latency and cold-start distributions in nanoseconds: workers add their
/// local histograms every publish interval; readers drain them.
pub struct Telemetry {
    pub latency: Mutex<Histogram<u64>>,
    pub cold_start: Mutex<Histogram<u64>>,
}

/// 1 ns .. 1 h at 2 significant digits (~1% error), small enough to merge often.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 2).expect("valid histogram bounds")
}

impl Telemetry {
    /// Takes what was recorded since the last drain: (latency, cold start).
    pub fn drain(&self) -> (Histogram<u64>, Histogram<u64>) {
        let take = |m: &Mutex<Histogram<u64>>| {
            std::mem::replace(
                &mut *m.lock().unwrap_or_else(|p| p.into_inner()),
                new_histogram(),
            )
        };
        (take(&self.latency), take(&self.cold_start))
    }
}

struct WorkerHandle {
    tx: Sender<Command>,
    shared: Arc<WorkerShared>,
    slot: Arc<Slot>,
}

impl WorkerHandle {
    fn send(&self, cmd: Command) {
        let _ = self.tx.send(cmd);
        self.shared.mail.store(true, Relaxed);
        self.slot.notify();
    }
}

/// The pool's queue and size (none in the per-isolate model).
struct Pool {
    tx: Sender<Msg>,
    threads: usize,
}

/// The public handle: N isolates (each a worker with its own mailbox) run
/// by a pool of executor threads or a thread each (see [`scheduler`]).
pub struct Engine {
    config: EngineConfig,
    source: Option<Arc<Source>>,
    next_version: u64,
    next_batch: u64,
    load: bool,
    payload: Arc<str>,
    workers: Vec<WorkerHandle>,
    reports_tx: flume::Sender<Report>,
    reports_rx: flume::Receiver<Report>,
    telemetry: Arc<Telemetry>,
    registry: Arc<Mutex<Vec<Arc<WorkerShared>>>>,
    timeout_ns: Arc<AtomicU64>,
    cpu_ns: Arc<AtomicU64>,
    watchdog_stop: Option<Sender<()>>,
    watchdog: Option<JoinHandle<()>>,
    shared: Arc<EngineShared>,
    sched: Arc<SchedShared>,
    pool: Option<Pool>,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Engine {
        platform::init();
        let (reports_tx, reports_rx) = flume::unbounded();
        let registry = Arc::new(Mutex::new(Vec::new()));
        let timeout_ns = Arc::new(AtomicU64::new(config.limits.timeout.as_nanos() as u64));
        let cpu_ns = Arc::new(AtomicU64::new(cpu_limit_ns(&config.limits)));
        let (stop_tx, stop_rx) = crossbeam_channel::bounded(0);
        let sched = Arc::new(SchedShared::default());
        let dog = limits::Watchdog {
            timeout_ns: timeout_ns.clone(),
            cpu_ns: cpu_ns.clone(),
            workers: registry.clone(),
            sched: sched.clone(),
        };
        let watchdog = std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || dog.run(stop_rx))
            .expect("spawn the watchdog");
        let mut engine = Engine {
            payload: config.payload.as_str().into(),
            config,
            source: None,
            next_version: 0,
            next_batch: 0,
            load: false,
            workers: Vec::new(),
            reports_tx,
            reports_rx,
            telemetry: Arc::new(Telemetry {
                latency: Mutex::new(new_histogram()),
                cold_start: Mutex::new(new_histogram()),
            }),
            registry,
            timeout_ns,
            cpu_ns,
            watchdog_stop: Some(stop_tx),
            watchdog: Some(watchdog),
            shared: Arc::new(EngineShared::default()),
            sched,
            pool: None,
        };
        engine.start_pool();
        let n = engine.config.isolates;
        engine.set_isolates(n);
        engine
    }

    /// Starts the executor threads of a pool model (none for per-isolate).
    fn start_pool(&mut self) {
        if let Threads::Pool(t) = self.config.threads {
            let (tx, rx) = unbounded();
            for _ in 0..t {
                scheduler::spawn_pool_thread(rx.clone(), self.sched.clone(), t);
            }
            self.sched.set_pool(Some((rx, t)));
            self.pool = Some(Pool { tx, threads: t });
        }
    }

    /// How isolates get threads now.
    pub fn threads(&self) -> Threads {
        self.config.threads
    }

    /// Switches the thread model live. Every isolate is replaced (not
    /// counted as a recycle): the old ones finish their current invocation
    /// and go, with their threads, in the background; new ones start with
    /// the same source, mode, limits and load.
    pub fn set_threads(&mut self, threads: Threads) {
        if threads == self.config.threads {
            return;
        }
        let n = self.workers.len();
        let old: Vec<WorkerHandle> = self.workers.drain(..).collect();
        for w in &old {
            w.send(Command::Shutdown);
        }
        let pool = self.pool.take();
        self.sched.set_pool(None);
        let stand_ins = self.sched.stand_ins.swap(0, Relaxed);
        let grace = self.config.limits.timeout + Duration::from_secs(2);
        // The old pool's threads stop once its isolates are gone (each
        // takes one Stop); nothing here waits for that.
        let _ = std::thread::Builder::new()
            .name("retire".into())
            .spawn(move || {
                wait_stopped(&old, grace);
                if let Some(p) = pool {
                    for _ in 0..p.threads + stand_ins {
                        let _ = p.tx.send(Msg::Stop);
                    }
                }
            });
        self.config.threads = threads;
        self.sched.generation.fetch_add(1, Relaxed);
        self.start_pool();
        self.set_isolates(n);
    }

    /// Each live executor thread's counters now (pool threads, or one per
    /// isolate), of the current thread model only (a retiring model's
    /// threads are left out); readers turn two readings into utilisation,
    /// CPU share and switches per second.
    pub fn thread_stats(&self) -> Vec<ThreadSnapshot> {
        let generation = self.sched.generation.load(Relaxed);
        self.sched
            .threads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|t| !t.exited.load(Relaxed) && t.generation == generation)
            .map(|t| t.snapshot())
            .collect()
    }

    /// How long isolates with work waited for a thread (ns), since the last
    /// call: from being queued to a thread taking them, per slice.
    pub fn drain_queue_wait(&self) -> Histogram<u64> {
        self.sched.drain_queue_wait()
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The channel all workers report on. A flume channel: workers send
    /// without blocking (it is unbounded), threads read it with `recv` /
    /// `recv_timeout`, and an async loop awaits it with `recv_async`.
    pub fn reports(&self) -> &flume::Receiver<Report> {
        &self.reports_rx
    }

    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    pub fn source(&self) -> Option<&Arc<Source>> {
        self.source.as_ref()
    }

    pub fn isolates(&self) -> usize {
        self.workers.len()
    }

    pub fn mode(&self) -> Mode {
        self.config.mode
    }

    pub fn is_loading(&self) -> bool {
        self.load
    }

    /// Installs a new version; returns its number. In-flight invocations
    /// finish on the old version; every later one uses the new one.
    pub fn set_source(&mut self, mut source: Source) -> u64 {
        self.next_version += 1;
        source.version = self.next_version;
        let source = Arc::new(source);
        self.source = Some(source.clone());
        self.broadcast(|| Command::SetSource(source.clone()));
        self.prebuild_snapshot();
        self.next_version
    }

    /// In snapshot mode, starts building the current version's blob on a
    /// thread of its own (the workers' first calls then wait less, or not
    /// at all). Workers build it themselves if this has not finished.
    fn prebuild_snapshot(&self) {
        let (Mode::Snapshot, Some(src)) = (self.config.mode, self.source.clone()) else {
            return;
        };
        let shared = self.shared.clone();
        let (limits, bounds) = (self.config.limits, self.config.console);
        let _ = std::thread::Builder::new()
            .name("snapshot-build".into())
            .spawn(move || {
                shared.snapshots.get(&src, &limits, bounds);
            });
    }

    /// The newest startup snapshot built (snapshot mode): its version, build
    /// time, blob size, or why it could not be built. None before the first
    /// build finished.
    pub fn snapshot_info(&self) -> Option<snapshot::SnapshotInfo> {
        self.shared.snapshots.latest().map(|b| b.info())
    }

    /// Grows or shrinks the pool while it runs. New workers get the current
    /// source, mode, limits and load; removed workers finish their current
    /// invocation and exit on their own thread.
    ///
    /// A number past what the process can map (see [`capacity`]) is cut to
    /// what fits, with a warning in the log: callers check it first with
    /// [`capacity::check_for`] to say so.
    pub fn set_isolates(&mut self, n: usize) {
        // Only growth can pass the limit (and reading it costs a walk of
        // the process's mappings).
        let fits = if n > self.workers.len() {
            capacity::max_isolates_for(self.workers.len(), self.config.threads)
        } else {
            None
        };
        let n = match fits {
            Some(fit) if n > fit => {
                tracing::warn!(wanted = n, fit, "isolates cut to what the process can map");
                fit.max(1)
            }
            _ => n,
        };
        self.registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|w| w.state() != WorkerState::Stopped);
        while self.workers.len() > n {
            let w = self.workers.pop().expect("len > n >= 0");
            // It finishes its current invocation first; the watchdog still
            // bounds that.
            w.send(Command::Shutdown);
        }
        while self.workers.len() < n {
            let id = self.workers.len();
            let shared = Arc::new(WorkerShared::new(id));
            if let Some(s) = &self.source {
                shared.version.store(s.version, Relaxed);
            }
            let (tx, rx) = unbounded();
            let init = WorkerInit {
                shared: shared.clone(),
                rx,
                reports: self.reports_tx.clone(),
                telemetry: self.telemetry.clone(),
                bounds: self.config.console,
                limits: self.config.limits,
                mode: self.config.mode,
                payload: self.payload.clone(),
                source: self.source.clone(),
                load: self.load,
                engine: self.shared.clone(),
                shared_isolates: self.pool.is_some(),
            };
            let worker = Worker::new(init);
            let slot = match &self.pool {
                Some(p) => Slot::new(worker, shared.clone(), p.tx.clone()),
                None => {
                    let (qtx, qrx) = unbounded();
                    scheduler::spawn_dedicated_thread(qrx, self.sched.clone(), id);
                    Slot::new(worker, shared.clone(), qtx)
                }
            };
            self.registry
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(shared.clone());
            // Its first slice makes its isolate.
            slot.notify();
            self.workers.push(WorkerHandle { tx, shared, slot });
        }
        self.config.isolates = n;
    }

    /// Switches mode; latency and cold-start distributions start afresh,
    /// so that one mode's numbers are never mixed into another's.
    /// Each isolate's last duration is cleared at once (and again by the
    /// worker when it applies the switch): a row never shows the old
    /// mode's figure as its last.
    pub fn set_mode(&mut self, mode: Mode) {
        self.config.mode = mode;
        for w in &self.workers {
            w.shared.last_duration_ns.store(0, Relaxed);
        }
        self.broadcast(|| Command::SetMode(mode));
        let _ = self.telemetry.drain();
        self.prebuild_snapshot();
    }

    /// New limits; a changed heap limit replaces every live isolate.
    pub fn set_limits(&mut self, limits: Limits) {
        self.config.limits = limits;
        self.timeout_ns
            .store(limits.timeout.as_nanos() as u64, Relaxed);
        self.cpu_ns.store(cpu_limit_ns(&limits), Relaxed);
        self.broadcast(|| Command::SetLimits(limits));
        self.prebuild_snapshot();
    }

    /// The JSON text handlers get as `event.payload`; must be valid JSON.
    pub fn set_payload(&mut self, json: &str) -> anyhow::Result<()> {
        serde_json::from_str::<serde_json::Value>(json)
            .map_err(|e| anyhow::anyhow!("payload is not valid JSON: {e}"))?;
        self.config.payload = json.to_string();
        self.payload = json.into();
        let p = self.payload.clone();
        self.broadcast(|| Command::SetPayload(p.clone()));
        Ok(())
    }

    /// Queues `count` invocations on every worker, each reported; returns
    /// the batch id that each worker's `RunDone` carries.
    pub fn run(&mut self, count: u64) -> u64 {
        self.run_with(count, true)
    }

    /// Like [`Engine::run`]; with `each` false only the last invocation of
    /// each worker, its first failure and every limit stop are reported, so
    /// that what a caller keeps grows with isolates, not invocations.
    pub fn run_with(&mut self, count: u64, each: bool) -> u64 {
        self.next_batch += 1;
        let batch = self.next_batch;
        self.broadcast(|| Command::Run { count, batch, each });
        batch
    }

    /// Starts or stops continuous load on every worker.
    pub fn set_load(&mut self, on: bool) {
        self.load = on;
        self.broadcast(|| Command::Load(on));
    }

    /// Makes every worker panic in its next invocation, to test that a
    /// panic is reported as that isolate's failure and the isolate replaced.
    #[doc(hidden)]
    pub fn inject_panic_for_test(&self) {
        self.broadcast(|| Command::PanicNext);
    }

    /// Each worker's counters now; a worker waiting in the queue for a
    /// thread (to make its isolate, or with work) is
    /// [`WorkerState::Queued`].
    pub fn snapshots(&self) -> Vec<WorkerSnapshot> {
        self.workers
            .iter()
            .map(|w| {
                let mut s = w.shared.snapshot();
                if matches!(
                    s.state,
                    WorkerState::Starting | WorkerState::Idle | WorkerState::Running
                ) && w.slot.is_queued()
                {
                    s.state = WorkerState::Queued;
                }
                s
            })
            .collect()
    }

    /// Workers whose running invocation the watchdog stopped more than
    /// `grace` ago and that still have not come back: they are inside a
    /// built-in function that never checks for termination (a search in a
    /// huge string, say), and nothing can stop them before it returns.
    pub fn stuck_workers(&self, grace: Duration) -> Vec<usize> {
        let now = limits::now_ns();
        let timeout = self.config.limits.timeout.as_nanos() as u64;
        self.workers
            .iter()
            .filter(|w| w.shared.is_stuck(now, timeout, grace.as_nanos() as u64))
            .map(|w| w.shared.id)
            .collect()
    }

    /// Isolates V8 gave up on (see `limits`), over the live workers: each
    /// keeps its memory until the process exits.
    pub fn abandoned(&self) -> u64 {
        self.workers
            .iter()
            .map(|w| w.shared.abandoned.load(Relaxed))
            .sum()
    }

    /// Whether `version` is quarantined on every isolate: it made V8 give
    /// up on several isolates (each one that it stranded refuses it anyway).
    pub fn is_quarantined(&self, version: u64) -> bool {
        self.shared.is_quarantined(version)
    }

    /// Total invocations over the live workers.
    pub fn total_invocations(&self) -> u64 {
        self.workers
            .iter()
            .map(|w| w.shared.invocations.load(Relaxed))
            .sum()
    }

    /// Waits until every worker has its first isolate (or `timeout` passes).
    pub fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self
                .workers
                .iter()
                .all(|w| w.shared.state() != WorkerState::Starting)
            {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn broadcast(&self, mut cmd: impl FnMut() -> Command) {
        for w in &self.workers {
            w.send(cmd());
        }
    }
}

fn cpu_limit_ns(l: &Limits) -> u64 {
    l.cpu.map_or(0, |c| (c.as_nanos() as u64).max(1))
}

/// Stops what the workers in `workers` run now (each has its Shutdown)
/// and waits until every one has stopped, or none stopped for
/// `grace` (a worker stuck inside a built-in; thousands of isolates take
/// seconds to dispose of, and that is progress).
fn wait_stopped(workers: &[WorkerHandle], grace: Duration) {
    let stopped = || {
        workers
            .iter()
            .filter(|w| w.shared.state() == WorkerState::Stopped)
            .count()
    };
    let mut last = stopped();
    let mut since = Instant::now();
    while last < workers.len() && since.elapsed() < grace {
        // Each has its Shutdown: what runs now is stopped, not waited for
        // (checked again each time round: one may start a call first).
        for w in workers {
            w.shared.stop_for_shutdown();
        }
        std::thread::sleep(Duration::from_millis(2));
        let now = stopped();
        if now > last {
            last = now;
            since = Instant::now();
        }
    }
}

impl Drop for Engine {
    /// Stops every worker and its threads and waits for them, but never
    /// forever: a worker inside a built-in that V8 cannot interrupt (see
    /// `limits`) may not take the Shutdown for minutes. It is left to finish
    /// on its own (the process may exit first); its isolate is then not
    /// disposed. Threads parked with an abandoned isolate are never waited
    /// for.
    fn drop(&mut self) {
        self.broadcast(|| Command::Shutdown);
        let grace = self.config.limits.timeout + Duration::from_secs(2);
        wait_stopped(&self.workers, grace);
        self.sched.set_pool(None);
        if let Some(p) = self.pool.take() {
            for _ in 0..p.threads + self.sched.stand_ins.swap(0, Relaxed) {
                let _ = p.tx.send(Msg::Stop);
            }
        }
        let deadline = Instant::now() + grace;
        while self.sched.alive.load(Relaxed) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(self.watchdog_stop.take());
        if let Some(t) = self.watchdog.take() {
            let _ = t.join();
        }
    }
}
