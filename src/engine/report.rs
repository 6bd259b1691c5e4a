//! What an invocation reports, and the per-worker counters that readers poll
//! without ever blocking a worker.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use serde::Serialize;

/// Console level of a captured line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Log,
    Info,
    Warn,
    Error,
    Debug,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Log,
        Level::Info,
        Level::Warn,
        Level::Error,
        Level::Debug,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Level::Log => "log",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Debug => "debug",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsoleLine {
    pub level: Level,
    pub text: String,
}

/// Console output of one invocation; `truncated` counts dropped lines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Console {
    pub lines: Vec<ConsoleLine>,
    /// Lines that did not fit the bounds and were dropped.
    pub dropped: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The source does not compile.
    Syntax,
    /// An exception was thrown (including RangeError on stack overflow).
    Exception,
    /// The returned promise rejected.
    Rejection,
    /// The returned promise never settled (nothing left to run).
    Unsettled,
    /// The handler module has no default-exported function, or imports.
    Module,
    /// Stopped by the wall-clock timeout.
    Timeout,
    /// Stopped by the CPU-time limit.
    CpuLimit,
    /// Stopped at the heap limit.
    HeapLimit,
    /// Stopped for pressing past the external-memory budget (ArrayBuffer
    /// backing stores).
    ExternalLimit,
    /// A fault in isolate-play itself (a worker panicked); the isolate was
    /// replaced.
    Internal,
}

/// Where in the source an error points (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub source_line: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScriptError {
    pub kind: ErrorKind,
    pub message: String,
    pub location: Option<Location>,
    /// The frames, one per line (`    at f (file:line:col)`), without the
    /// message; at most 16 frames and 8 KiB.
    pub stack: Option<String>,
}

impl ScriptError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ScriptError {
            kind,
            message: message.into(),
            location: None,
            stack: None,
        }
    }

    /// One line: `file:line:col: message`.
    pub fn headline(&self) -> String {
        match &self.location {
            Some(l) => format!("{}:{}:{}: {}", l.file, l.line, l.column, self.message),
            None => self.message.clone(),
        }
    }
}

impl std::fmt::Display for ScriptError {
    /// The headline, the source line with a caret, then the stack.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.headline())?;
        if let Some(l) = &self.location
            && !l.source_line.is_empty()
        {
            let pad = " ".repeat(l.column.saturating_sub(1) as usize);
            write!(f, "\n    {}\n    {pad}^", l.source_line)?;
        }
        if let Some(stack) = &self.stack {
            for line in stack.lines() {
                write!(f, "\n{line}")?;
            }
        }
        Ok(())
    }
}

pub type Outcome = Result<String, ScriptError>;

/// One finished invocation.
#[derive(Clone, Debug, Serialize)]
pub struct Invocation {
    pub worker: usize,
    /// Source version the invocation ran.
    pub version: u64,
    /// 1-based count of invocations on this worker.
    pub seq: u64,
    pub mode: super::Mode,
    pub outcome: Outcome,
    pub console: Console,
    /// Wall time, when this invocation was timed: under load, calls shorter
    /// than a few microseconds are timed 1 in 16 (see the worker).
    #[serde(serialize_with = "ser_opt_micros")]
    pub duration: Option<Duration>,
    /// CPU time of the executing thread during the invocation (µs in JSON),
    /// for reported invocations (the last of a counted run, a failure, a
    /// sample under load); includes the host's work around the call.
    #[serde(serialize_with = "ser_opt_micros")]
    pub cpu: Option<Duration>,
}

fn ser_micros<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1e6)
}

fn ser_opt_micros<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ser_micros(d, s),
        None => s.serialize_none(),
    }
}

/// Messages from workers to whoever drives the engine.
#[derive(Clone, Debug)]
pub enum Report {
    /// A finished invocation: every one for `run`, a sample under load.
    Invocation(Box<Invocation>),
    /// A worker finished a `run` batch (its last invocation was reported).
    RunDone { worker: usize, batch: u64 },
}

/// The watchdog stopped an invocation for its wall-clock timeout.
pub const KILL_WALL: u8 = 1;
/// The watchdog stopped an invocation for its CPU-time limit.
pub const KILL_CPU: u8 = 2;
/// The engine stopped it: the worker is shutting down (quit, or a
/// thread-model switch retired it); the call is not reported.
pub const KILL_SHUTDOWN: u8 = 3;

/// What a worker is doing, readable from any thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkerState {
    Starting,
    Idle,
    Running,
    Recycling,
    Stopped,
    /// Has work and waits in the pool's queue for a thread. Never stored by
    /// a worker (it is not running to store it): the engine's snapshots
    /// read it from the scheduler's slot.
    Queued,
}

impl WorkerState {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => WorkerState::Starting,
            1 => WorkerState::Idle,
            2 => WorkerState::Running,
            3 => WorkerState::Recycling,
            _ => WorkerState::Stopped,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            WorkerState::Starting => "starting",
            WorkerState::Idle => "idle",
            WorkerState::Running => "running",
            WorkerState::Recycling => "recycling",
            WorkerState::Stopped => "stopped",
            WorkerState::Queued => "queued",
        }
    }
}

/// Counters a worker publishes; plain relaxed atomics so that neither side
/// ever waits on the other. Aligned to its own cache lines: a busy worker
/// writes here on every invocation, and two workers' blocks must not share
/// a line.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct WorkerShared {
    pub id: usize,
    state: AtomicU8,
    pub invocations: AtomicU64,
    pub errors: AtomicU64,
    pub recycles: AtomicU64,
    /// Duration of the last *timed* invocation (under load only a sample of
    /// very fast calls is timed).
    pub last_duration_ns: AtomicU64,
    pub heap_used: AtomicU64,
    pub heap_total: AtomicU64,
    pub heap_limit: AtomicU64,
    pub external: AtomicU64,
    pub external_limit: AtomicU64,
    /// Isolates this worker had to abandon (see `limits`): each keeps its
    /// memory until the process exits.
    pub abandoned: AtomicU64,
    /// Isolate + context creation time of the current isolate.
    pub cold_start_ns: AtomicU64,
    pub version: AtomicU64,
    /// Number (`seq`) of the running invocation; 0 = none. A number rather
    /// than a start time, so a busy worker needs no clock read to arm the
    /// watchdog.
    pub running: AtomicU64,
    /// The `running` number the watchdog terminated, so the worker can tell
    /// a real timeout from a termination that raced with the invocation's end.
    pub killed: AtomicU64,
    /// Why `killed` was stopped: [`KILL_WALL`] or [`KILL_CPU`] (the
    /// watchdog), [`KILL_SHUTDOWN`] (the engine).
    pub kill_reason: std::sync::atomic::AtomicU8,
    /// CPU clock (`clockid_t`) of the thread running this worker now, for
    /// the watchdog's CPU-time limit.
    pub cpu_clock: std::sync::atomic::AtomicI64,
    /// The thread's CPU time when the watchdog first saw `seen` (ns).
    pub seen_cpu: AtomicU64,
    /// CPU time spent on this worker's slices so far (ns, thread CPU
    /// clocks): invocations plus the host's work around them.
    pub cpu_ns: AtomicU64,
    /// The watchdog's own notes: which `running` number it last saw, and
    /// since when (engine clock).
    pub seen: AtomicU64,
    pub seen_since: AtomicU64,
    /// Set by the engine after it sends a command: a busy worker checks this
    /// plain flag between invocations instead of the channel itself.
    pub mail: AtomicBool,
    /// The isolate currently owned by the worker, for the watchdog.
    pub handle: Mutex<Option<v8::IsolateHandle>>,
}

impl WorkerShared {
    pub fn new(id: usize) -> Self {
        WorkerShared {
            id,
            ..Default::default()
        }
    }
    /// Whether its running invocation was stopped by the watchdog more
    /// than `grace_ns` past its `timeout_ns` ago and has not come back: it
    /// is inside a built-in that never checks for termination. `now` is
    /// the engine clock (`limits::now_ns`).
    pub fn is_stuck(&self, now: u64, timeout_ns: u64, grace_ns: u64) -> bool {
        let running = self.running.load(Relaxed);
        running != 0
            && self.killed.load(Relaxed) == running
            && self.seen.load(Relaxed) == running
            && now.saturating_sub(self.seen_since.load(Relaxed)) > timeout_ns + grace_ns
    }

    /// Stops the running invocation, if any, for a worker told to shut
    /// down: it would otherwise run on to its wall-clock limit (which may
    /// be an hour) before it reads the command. From any thread.
    pub fn stop_for_shutdown(&self) {
        let running = self.running.load(Relaxed);
        if running == 0 || self.killed.load(Relaxed) == running {
            return;
        }
        self.kill_reason.store(KILL_SHUTDOWN, Relaxed);
        self.killed.store(running, Relaxed);
        if let Some(h) = self
            .handle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            h.terminate_execution();
        }
    }

    pub fn state(&self) -> WorkerState {
        WorkerState::from_u8(self.state.load(Relaxed))
    }
    pub fn set_state(&self, s: WorkerState) {
        self.state.store(s as u8, Relaxed);
    }
    pub fn snapshot(&self) -> WorkerSnapshot {
        WorkerSnapshot {
            id: self.id,
            state: self.state(),
            invocations: self.invocations.load(Relaxed),
            errors: self.errors.load(Relaxed),
            recycles: self.recycles.load(Relaxed),
            last_duration: Duration::from_nanos(self.last_duration_ns.load(Relaxed)),
            heap_used: self.heap_used.load(Relaxed),
            heap_total: self.heap_total.load(Relaxed),
            heap_limit: self.heap_limit.load(Relaxed),
            external: self.external.load(Relaxed),
            external_limit: self.external_limit.load(Relaxed),
            abandoned: self.abandoned.load(Relaxed),
            cold_start: Duration::from_nanos(self.cold_start_ns.load(Relaxed)),
            version: self.version.load(Relaxed),
            cpu: Duration::from_nanos(self.cpu_ns.load(Relaxed)),
        }
    }
}

/// A copy of one worker's counters at one moment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkerSnapshot {
    pub id: usize,
    pub state: WorkerState,
    pub invocations: u64,
    pub errors: u64,
    pub recycles: u64,
    #[serde(serialize_with = "ser_micros")]
    pub last_duration: Duration,
    pub heap_used: u64,
    pub heap_total: u64,
    pub heap_limit: u64,
    pub external: u64,
    pub external_limit: u64,
    pub abandoned: u64,
    #[serde(serialize_with = "ser_micros")]
    pub cold_start: Duration,
    pub version: u64,
    /// CPU time spent on this worker so far (thread CPU clocks).
    #[serde(serialize_with = "ser_micros")]
    pub cpu: Duration,
}
