//! One isolate's work: its mailbox, its counted runs and load, and the
//! invocations themselves. The scheduler gives a worker a thread for a
//! time slice ([`Worker::step`]); within it the worker runs invocations
//! back to back and only glances at its mailbox between them, so no
//! invocation pays a channel round trip.
//!
//! Whatever happens inside an invocation, the worker goes on and reports
//! it: a limit stop replaces the isolate (a recycle); a panic in our own
//! code is caught, reported as that isolate's failure, and the isolate
//! replaced; and when V8 gives up on an isolate (its out-of-memory handler,
//! see `scheduler`), the worker moves to a new thread and the old thread is
//! parked for good with the isolate it cannot dispose of.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, TryRecvError};
use hdrhistogram::Histogram;

use super::console::ConsoleBounds;
use super::limits::{Limits, heap_ceiling, now_ns};
use super::report::{
    Console, ErrorKind, Invocation, KILL_CPU, KILL_SHUTDOWN, Report, ScriptError, WorkerShared,
    WorkerState,
};
use super::sandbox::{self, Call, Driver, GuardStop, HeapStats, Next, Probe, RawOutcome, Sandbox};
use super::scheduler::{on_fatal_oom, own_cpu_ns, thread_cpu_clock};
use super::script::Source;
use super::{Mode, Telemetry, new_histogram};

pub enum Command {
    SetSource(Arc<Source>),
    SetMode(Mode),
    SetLimits(Limits),
    SetPayload(Arc<str>),
    /// Run `count` invocations, then send `RunDone`; `each`: report every
    /// one, else the last, the first failure and every limit stop.
    Run {
        count: u64,
        batch: u64,
        each: bool,
    },
    /// Run until told otherwise, reporting a sample every publish interval.
    Load(bool),
    /// Panic in the next invocation (tests of the panic path only).
    PanicNext,
    Shutdown,
}

enum After {
    Done,
    /// A limit stopped it: report sent, the isolate must be replaced.
    Fatal,
    /// A stray termination hit it: run it again.
    Retry(Call),
}

/// Abandoned isolates after which a version is quarantined on every
/// isolate, not only on those it stranded: each abandonment keeps up to
/// the heap ceiling (limit + max(limit, 256 MiB)) until the process exits.
pub const ABANDONS_BEFORE_VERSION_QUARANTINE: u32 = 4;

/// What all workers of one engine share beyond their own counters.
#[derive(Debug, Default)]
pub struct EngineShared {
    /// Snapshot mode's startup snapshot of the current version.
    pub snapshots: super::snapshot::Cache,
    /// Abandoned isolates per version; a version with
    /// [`ABANDONS_BEFORE_VERSION_QUARANTINE`] of them is not run again
    /// anywhere (each run could strand another isolate's memory).
    abandons: Mutex<Vec<(u64, u32)>>,
}

impl EngineShared {
    /// Counts an abandoned isolate against `version`.
    fn abandoned(&self, version: u64) {
        let mut a = self.abandons.lock().unwrap_or_else(|p| p.into_inner());
        match a.iter_mut().find(|(v, _)| *v == version) {
            Some((_, n)) => *n += 1,
            None => a.push((version, 1)),
        }
    }

    /// Whether `version` is quarantined on every isolate.
    pub fn is_quarantined(&self, version: u64) -> bool {
        self.abandons
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|&(v, n)| v == version && n >= ABANDONS_BEFORE_VERSION_QUARANTINE)
    }
}

/// Everything a new worker starts from.
pub struct WorkerInit {
    pub shared: Arc<WorkerShared>,
    pub rx: Receiver<Command>,
    pub reports: flume::Sender<Report>,
    pub telemetry: Arc<Telemetry>,
    pub bounds: ConsoleBounds,
    pub limits: Limits,
    pub mode: Mode,
    pub payload: Arc<str>,
    pub source: Option<Arc<Source>>,
    pub load: bool,
    pub engine: Arc<EngineShared>,
    /// Isolates are shared between the pool's threads (locked per use);
    /// false: owned by the worker's own thread.
    pub shared_isolates: bool,
}

/// A counted run still to finish.
struct CountedRun {
    left: u64,
    batch: u64,
    /// Report every invocation (else the last, the first failure and every
    /// limit stop).
    each: bool,
}

/// How a slice ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Work remains: queue it again.
    Busy,
    /// Nothing to do until a command comes.
    Idle,
    /// Shut down: the worker is finished.
    Done,
}

/// How often a busy worker publishes counters, histograms and a sample.
const PUBLISH_EVERY_NS: u64 = 50_000_000;

/// Under load, while the median call of the last window took less than this,
/// calls are timed 1 in `TIMING_STRIDE`: two clock reads (~25 ns here) would
/// be a visible share of them. The median, not the mean, so that one GC
/// pause does not flip the stride from window to window.
const FAST_CALL_NS: u64 = 5_000;
const TIMING_STRIDE: u64 = 16;

pub struct Worker {
    init: WorkerInit,
    sandbox: Option<Sandbox>,
    /// The first step made the first isolate.
    started: bool,
    /// A version that made V8 give up on this worker's isolate: it does
    /// not run here again (others may run it, see `EngineShared`).
    quarantined: Option<u64>,
    /// Pending counted runs.
    runs: std::collections::VecDeque<CountedRun>,
    seq: u64,
    errors: u64,
    latency: LocalHistogram,
    cold: LocalHistogram,
    last_publish: u64,
    /// Clock reads cost about as much as a warm call of a tiny script, so
    /// under load fast calls (see `FAST_CALL_NS`) are timed 1 in `stride` (a
    /// power of two, chosen by invocation number, not by outcome, so the
    /// sample is unbiased); all others are timed one by one.
    stride: u64,
    /// The current invocation is timed; it started at `t0`.
    timed: bool,
    t0: u64,
    /// The current invocation is sampled (its result is reported).
    sample: bool,
    /// A publish is due once the current invocation ends.
    due: bool,
    /// The current slice ends at this time (engine clock), and has ended.
    slice_deadline: u64,
    slice_over: bool,
    /// This thread's CPU clock at the last CPU flush, and at the start of
    /// the current sampled invocation (ns).
    cpu_mark: u64,
    cpu_t0: u64,
    /// An error was already reported in this publish window (load mode).
    error_reported: bool,
    /// A command taken off the channel that the loop has yet to apply.
    pending: Option<Command>,
    /// Panic in the next invocation (see `Command::PanicNext`).
    panic_next: bool,
    /// Inside a warm batch: a finished run's `RunDone` waits in
    /// `held_done` until the batch's heap numbers are stored.
    hold_done: bool,
    held_done: Option<u64>,
}

impl Worker {
    /// A worker with no isolate yet: its first step creates one.
    pub fn new(init: WorkerInit) -> Box<Worker> {
        Box::new(Worker {
            init,
            sandbox: None,
            started: false,
            quarantined: None,
            runs: Default::default(),
            seq: 0,
            errors: 0,
            latency: LocalHistogram::default(),
            cold: LocalHistogram::default(),
            last_publish: now_ns(),
            stride: 1,
            timed: false,
            t0: 0,
            sample: false,
            due: false,
            slice_deadline: u64::MAX,
            slice_over: false,
            cpu_mark: 0,
            cpu_t0: 0,
            error_reported: false,
            pending: None,
            panic_next: false,
            hold_done: false,
            held_done: None,
        })
    }

    /// One time slice: applies waiting commands, then runs invocations
    /// until it has no work, a shutdown comes, or `slice_ns` passed (a
    /// slice ends between two invocations, never inside one).
    pub fn step(&mut self, slice_ns: u64) -> Step {
        let shared = self.init.shared.clone();
        shared.cpu_clock.store(thread_cpu_clock() as i64, Relaxed);
        self.cpu_mark = own_cpu_ns();
        let step = self.step_inner(slice_ns);
        self.flush_cpu();
        step
    }

    fn step_inner(&mut self, slice_ns: u64) -> Step {
        if !self.started {
            self.started = true;
            self.store_limits();
            if !self.init.mode.fresh_isolate_per_call() {
                self.fresh_sandbox();
            }
            self.publish();
            self.set_idle_state();
        }
        self.slice_deadline = now_ns().saturating_add(slice_ns);
        self.slice_over = false;
        loop {
            loop {
                let cmd = match self.pending.take() {
                    Some(c) => c,
                    None => {
                        self.init.shared.mail.store(false, Relaxed);
                        match self.init.rx.try_recv() {
                            Ok(c) => c,
                            Err(TryRecvError::Empty) => break,
                            Err(TryRecvError::Disconnected) => return Step::Done,
                        }
                    }
                };
                if let Command::Shutdown = cmd {
                    return Step::Done;
                }
                self.apply(cmd);
            }
            if !self.has_work() {
                self.set_idle_state();
                return Step::Idle;
            }
            if self.slice_over || now_ns() >= self.slice_deadline {
                return Step::Busy;
            }
            self.work();
        }
    }

    /// Whether `version` may not run here (see `quarantined`).
    fn is_quarantined(&self, version: u64) -> bool {
        self.quarantined == Some(version) || self.init.engine.is_quarantined(version)
    }

    /// Counted runs wait, or load is on (and the version may run).
    fn has_work(&self) -> bool {
        !self.runs.is_empty()
            || (self.init.load
                && self
                    .init
                    .source
                    .as_ref()
                    .is_some_and(|s| !self.init.engine.is_quarantined(s.version)))
    }

    /// Adds the CPU time this thread spent on the worker since the last
    /// mark to its published total.
    fn flush_cpu(&mut self) {
        let now = own_cpu_ns();
        self.init
            .shared
            .cpu_ns
            .fetch_add(now.saturating_sub(self.cpu_mark), Relaxed);
        self.cpu_mark = now;
    }

    /// The worker is done: its isolate goes before it says so; the handle
    /// slot is cleared first so the watchdog never touches a disposed
    /// isolate's handle.
    pub fn teardown(&mut self) {
        *self
            .init
            .shared
            .handle
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        self.sandbox = None;
        self.init.shared.set_state(WorkerState::Stopped);
    }

    /// Leaks the isolate: V8 gave up on it, and frames of the thread that
    /// parks with it still point into it.
    pub fn forget_sandbox(&mut self) {
        std::mem::forget(self.sandbox.take());
    }

    /// The current invocation failed with `err` outside V8's control of
    /// it (a panic, an abandoned isolate): report it, count it, finish it.
    fn fail_current(&mut self, err: ScriptError) {
        // A warm batch that ended here (a panic, an abandoned isolate) will
        // not send what it held back.
        self.release_done();
        let shared = self.init.shared.clone();
        shared.running.store(0, Relaxed);
        if self.seq > shared.invocations.load(Relaxed) {
            shared.invocations.store(self.seq, Relaxed);
            self.errors += 1;
            shared.errors.store(self.errors, Relaxed);
            let version = self.init.source.as_ref().map_or(0, |s| s.version);
            let inv = Invocation {
                worker: shared.id,
                version,
                seq: self.seq,
                mode: self.init.mode,
                outcome: Err(err),
                console: Console::default(),
                duration: None,
                cpu: None,
            };
            let _ = self.init.reports.send(Report::Invocation(Box::new(inv)));
            self.batch_over();
        }
    }

    /// Recovers from a panic in our own code: the invocation fails, the
    /// isolate is replaced, the loop goes on.
    pub fn after_panic(&mut self, panic: Box<dyn std::any::Any + Send>) {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        tracing::error!(isolate = self.init.shared.id, invocation = self.seq, panic = %what, "worker panicked; isolate replaced");
        let err = ScriptError::new(
            ErrorKind::Internal,
            format!(
                "isolate-play internal error: the worker panicked ({what}); the isolate was discarded and replaced"
            ),
        );
        self.fail_current(err);
        self.recycle(true);
        self.publish();
    }

    /// Picks up after V8 gave up on the previous thread's isolate.
    pub fn after_abandon(&mut self) {
        let shared = self.init.shared.clone();
        *shared.handle.lock().unwrap_or_else(|p| p.into_inner()) = None;
        shared.abandoned.fetch_add(1, Relaxed);
        shared.recycles.fetch_add(1, Relaxed);
        if let Some(s) = &self.init.source {
            self.quarantined = Some(s.version);
            self.init.engine.abandoned(s.version);
        }
        let held = heap_ceiling(self.init.limits.heap_bytes) >> 20;
        tracing::error!(
            isolate = shared.id,
            invocation = self.seq,
            ceiling_mib = held,
            "V8 gave up on an isolate inside a built-in; isolate abandoned"
        );
        let err = ScriptError::new(
            ErrorKind::HeapLimit,
            format!(
                "heap limit exceeded inside a built-in function that V8 cannot interrupt: the {} MiB limit was \
                 passed and the isolate could not be stopped, so it was abandoned (its thread parked; its heap, up to \
                 {held} MiB plus the allocation in flight, is kept until the process exits) and replaced; this \
                 version is not run again on this isolate (nor on any after {ABANDONS_BEFORE_VERSION_QUARANTINE} \
                 isolates) until the file changes",
                self.init.limits.heap_bytes >> 20
            ),
        );
        self.sandbox = None;
        self.fail_current(err);
        if !self.init.mode.fresh_isolate_per_call() {
            self.fresh_sandbox();
        }
        self.publish();
        self.set_idle_state();
    }

    fn apply(&mut self, cmd: Command) {
        // New work of unknown speed: close the window of the old work and
        // time every call until a window of the new one says they are fast.
        // A new mode starts its distributions afresh (the engine drops what
        // was published already), so the old mode's window is dropped here.
        match cmd {
            Command::SetMode(_) => {
                self.latency.clear();
                self.cold.clear();
                self.stride = 1;
                // A call of the old mode may have ended after the engine
                // cleared it.
                self.init.shared.last_duration_ns.store(0, Relaxed);
            }
            Command::SetSource(_) | Command::SetPayload(_) => {
                self.publish();
                self.stride = 1;
            }
            _ => {}
        }
        match cmd {
            Command::SetSource(s) => {
                self.init.shared.version.store(s.version, Relaxed);
                self.init.source = Some(s);
            }
            Command::SetMode(m) => {
                let young_changed = sandbox::max_young_generation_bytes(m)
                    != sandbox::max_young_generation_bytes(self.init.mode);
                self.init.mode = m;
                if m.fresh_isolate_per_call() {
                    self.drop_sandbox();
                } else if young_changed && self.sandbox.is_some() {
                    // Warm and context mode size the young generation
                    // differently: a new isolate, not a counted recycle.
                    self.recycle(false);
                    self.publish();
                } else if self.sandbox.is_none() {
                    self.fresh_sandbox();
                    self.publish();
                }
            }
            Command::SetLimits(l) => {
                let heap_changed = l.heap_bytes != self.init.limits.heap_bytes
                    || l.external_bytes != self.init.limits.external_bytes;
                self.init.limits = l;
                self.store_limits();
                if heap_changed && self.sandbox.is_some() {
                    self.recycle(false);
                    self.publish();
                }
            }
            Command::SetPayload(p) => self.init.payload = p,
            Command::Run { count, batch, each } => {
                if count == 0 {
                    let _ = self.init.reports.send(Report::RunDone {
                        worker: self.init.shared.id,
                        batch,
                    });
                } else {
                    // The run's first failure is reported, whatever came
                    // before it.
                    self.error_reported = false;
                    self.runs.push_back(CountedRun {
                        left: count,
                        batch,
                        each,
                    });
                }
            }
            Command::Load(on) => self.init.load = on,
            Command::PanicNext => self.panic_next = true,
            Command::Shutdown => unreachable!("handled by the loop"),
        }
        self.set_idle_state();
    }

    fn set_idle_state(&self) {
        let busy = self.has_work();
        self.init.shared.set_state(if busy {
            WorkerState::Running
        } else {
            WorkerState::Idle
        });
    }

    /// Runs invocations until a command waits, a counted run ends, or it is
    /// time to publish.
    fn work(&mut self) {
        let Some(src) = self.init.source.clone() else {
            // Nothing to run yet: finish counted runs with nothing done.
            while let Some(CountedRun { batch, .. }) = self.runs.pop_front() {
                let _ = self.init.reports.send(Report::RunDone {
                    worker: self.init.shared.id,
                    batch,
                });
            }
            self.set_idle_state();
            return;
        };
        if std::mem::take(&mut self.panic_next) {
            self.begin();
            panic!("a panic injected by a test");
        }
        if self.is_quarantined(src.version) {
            self.refuse_quarantined(&src);
            return;
        }
        let payload = self.init.payload.clone();
        if self.init.mode == Mode::Warm {
            let mut sb = self.sandbox.take().expect("warm keeps a sandbox");
            let mut driver = WarmDriver {
                worker: self,
                src: &src,
                fatal: false,
            };
            // A run that ends inside the batch says so once the batch's
            // heap is stored (below): a reader of `RunDone` then sees it.
            driver.worker.hold_done = true;
            sb.warm_batch(&src, &payload, &mut driver);
            let fatal = driver.fatal;
            if fatal {
                self.sandbox = Some(sb);
                self.recycle(true);
            } else {
                // The batch published while the isolate was out of
                // `self.sandbox`: its heap is read here, once per batch.
                store_heap(&self.init.shared, sb.heap_stats());
                self.sandbox = Some(sb);
            }
            self.release_done();
            if fatal {
                self.batch_over();
            }
            return;
        }
        // Snapshot mode: the version's blob, built once for the engine (the
        // first worker to ask builds it, in a child process; the others
        // wait for it).
        let built = (self.init.mode == Mode::Snapshot).then(|| {
            self.init
                .engine
                .snapshots
                .get(&src, &self.init.limits, self.init.bounds)
        });
        let mut call = self.begin();
        loop {
            let mut sb = match self.init.mode {
                Mode::Cold => {
                    let sb = new_sandbox(&self.init, &mut self.cold);
                    self.init.shared.running.store(call.invocation, Relaxed);
                    sb
                }
                Mode::Snapshot => {
                    let built = built.as_ref().expect("made above in snapshot mode");
                    let sb = match snapshot_sandbox(&self.init, &mut self.cold, built, &src) {
                        Ok(sb) => sb,
                        Err(e) => {
                            self.init.shared.running.store(0, Relaxed);
                            // Reported as this call's failure; the loop
                            // in `step` comes back for the rest.
                            self.fail_current(e);
                            return;
                        }
                    };
                    if call.want_result
                        && let Some(lines) = built.take_notice()
                    {
                        let probe = sb.probe();
                        let mut console = probe.console();
                        for (level, text) in lines {
                            console.push(level, text);
                        }
                    }
                    self.init.shared.running.store(call.invocation, Relaxed);
                    sb
                }
                _ => self.sandbox.take().expect("context mode keeps a sandbox"),
            };
            let outcome = match self.init.mode {
                Mode::Context => sb.invoke_fresh_context(&src, &call, &payload),
                _ => sb.invoke_warm(&src, &call, &payload),
            };
            let after = self.after(&src, outcome, &sb.probe());
            if let After::Retry(_) = after {
                sb.cancel_termination();
            }
            if self.init.mode.fresh_isolate_per_call() {
                if let After::Fatal = after {
                    // The isolate goes anyway; its raised numbers are not
                    // what the next one starts from.
                    self.init.shared.recycles.fetch_add(1, Relaxed);
                } else {
                    store_heap(&self.init.shared, sb.heap_stats());
                }
                drop(sb);
            } else {
                self.sandbox = Some(sb);
                if let After::Fatal = after {
                    self.recycle(true);
                }
            }
            call = match after {
                After::Retry(c) => c,
                _ if self.batch_over() => return,
                _ => self.begin(),
            };
        }
    }

    /// Starts the next invocation: its number, whether it is timed and
    /// sampled, and the watchdog's mark.
    #[inline(always)]
    fn begin(&mut self) -> Call {
        self.seq += 1;
        let counted = !self.runs.is_empty();
        self.timed = counted || self.seq & (self.stride - 1) == 0;
        self.due = false;
        if self.timed {
            self.t0 = now_ns();
            self.due = self.t0 - self.last_publish >= PUBLISH_EVERY_NS;
            self.slice_over = self.t0 >= self.slice_deadline;
            // The sampled call opens the next window's error report: when
            // every call fails, the error shown is this timed one. (Not in
            // a counted run: there the run's first failure is reported.)
            if self.due && !counted {
                self.error_reported = false;
            }
        }
        // A counted run reports each invocation, or (for `run`, whose memory
        // must grow with isolates, not invocations) its last one, its first
        // failure and every limit stop (see `after_slow`).
        let reported = self.runs.front().is_some_and(|r| r.each || r.left == 1);
        self.sample = reported || self.due;
        if self.sample {
            self.cpu_t0 = own_cpu_ns();
        }
        // The limits' clocks start now, except in cold and snapshot mode:
        // there they start once the fresh isolate exists (see `work`), so
        // that its creation (and a snapshot's build) never counts against
        // the call's timeout or CPU limit.
        if !self.init.mode.fresh_isolate_per_call() {
            self.init.shared.running.store(self.seq, Relaxed);
        }
        Call {
            isolate: self.init.shared.id,
            invocation: self.seq,
            want_result: self.sample,
            heap_limit: self.init.limits.heap_bytes,
        }
    }

    /// Bookkeeping after an invocation. The common case under load (an
    /// untimed, unsampled success) is kept inline and small.
    #[inline(always)]
    fn after(&mut self, src: &Source, outcome: RawOutcome, probe: &Probe) -> After {
        let shared = &self.init.shared;
        shared.running.store(0, Relaxed);
        if !self.timed
            && matches!(outcome, Ok(None))
            && probe.is_clean()
            && shared.killed.load(Relaxed) != self.seq
        {
            shared.invocations.store(self.seq, Relaxed);
            probe.console().clear();
            return After::Done;
        }
        self.after_slow(src, outcome, probe)
    }

    /// Timing, limits, counters and the report.
    #[inline(never)]
    fn after_slow(&mut self, src: &Source, outcome: RawOutcome, probe: &Probe) -> After {
        let shared = &self.init.shared;
        if shared.killed.load(Relaxed) == self.seq
            && shared.kill_reason.load(Relaxed) == KILL_SHUTDOWN
        {
            // Stopped because this worker is going (quit, a thread-model
            // switch): no report, since its id may already be a new
            // worker's, and no isolate to replace; the batch ends at the
            // Shutdown waiting in its mail.
            shared.invocations.store(self.seq, Relaxed);
            return After::Done;
        }
        // A stop by the watchdog or a guard is never a success, whatever
        // V8 let the invocation return (a stop inside the host's own
        // formatting, or one that V8 cleared on its way out).
        let stop = match probe.guard_stop() {
            Some(GuardStop::Heap) => Some(heap_error(&self.init.limits)),
            Some(GuardStop::External) => {
                Some(external_error(&self.init.limits, probe.external_used()))
            }
            None if shared.killed.load(Relaxed) == self.seq => {
                Some(if shared.kill_reason.load(Relaxed) == KILL_CPU {
                    cpu_error(&self.init.limits)
                } else {
                    timeout_error(&self.init.limits)
                })
            }
            None => None,
        };
        let refusals = probe.take_external_refusals();
        // The sandbox's own look at the heap after a call (see
        // `over_heap_limit`) is a heap stop too.
        let fatal = stop.is_some() || matches!(&outcome, Err(e) if e.kind == ErrorKind::HeapLimit);
        let outcome = match (stop, outcome) {
            (Some(stop), _) => Err(Box::new(stop)),
            (None, Err(e)) if e.kind == ErrorKind::Timeout => {
                // The watchdog's stop was meant for an invocation that had
                // just ended: undo it and run this one again.
                shared.running.store(self.seq, Relaxed);
                return After::Retry(Call {
                    isolate: shared.id,
                    invocation: self.seq,
                    want_result: self.sample,
                    heap_limit: self.init.limits.heap_bytes,
                });
            }
            (None, Err(mut e)) if refusals > 0 => {
                e.message.push_str(&format!(
                    " (the isolate's external-memory budget of {} MiB for ArrayBuffer memory refused it; {} in use)",
                    self.init.limits.external_bytes >> 20,
                    crate::metrics::fmt_bytes(probe.external_used() as u64)
                ));
                Err(e)
            }
            (None, other) => other,
        };
        let elapsed = self.timed.then(|| {
            let ns = now_ns() - self.t0;
            self.latency.record(ns);
            shared.last_duration_ns.store(ns, Relaxed);
            ns
        });
        shared.invocations.store(self.seq, Relaxed);
        let failed = outcome.is_err();
        if let Err(e) = &outcome
            && fatal
        {
            tracing::warn!(isolate = shared.id, invocation = self.seq, kind = ?e.kind, "limit stopped an invocation; isolate replaced");
        }
        if failed {
            self.errors += 1;
            shared.errors.store(self.errors, Relaxed);
        }
        if self.sample || fatal || (failed && !self.error_reported) {
            self.error_reported |= failed;
            let console = probe.console().take();
            let cpu = self
                .sample
                .then(|| own_cpu_ns().saturating_sub(self.cpu_t0));
            self.send_invocation(src, outcome, console, elapsed, cpu, self.init.mode);
        } else {
            probe.console().clear();
        }
        if fatal { After::Fatal } else { After::Done }
    }

    /// Ends a warm batch's hold on `RunDone` (see `hold_done`) and sends the
    /// one it held, if any.
    fn release_done(&mut self) {
        self.hold_done = false;
        if let Some(batch) = self.held_done.take() {
            let _ = self.init.reports.send(Report::RunDone {
                worker: self.init.shared.id,
                batch,
            });
        }
    }

    /// Whether the current batch ends here: a counted run finished, it is
    /// time to publish, or a command waits.
    #[inline]
    fn batch_over(&mut self) -> bool {
        if let Some(front) = self.runs.front_mut() {
            front.left -= 1;
            if front.left == 0 {
                let batch = front.batch;
                self.runs.pop_front();
                self.publish();
                if self.hold_done {
                    self.held_done = Some(batch);
                } else {
                    let _ = self.init.reports.send(Report::RunDone {
                        worker: self.init.shared.id,
                        batch,
                    });
                }
                self.set_idle_state();
                return true;
            }
        }
        if self.due {
            self.publish();
            return true;
        }
        self.slice_over || self.init.shared.mail.load(Relaxed)
    }

    fn send_invocation(
        &self,
        src: &Source,
        outcome: RawOutcome,
        console: super::report::Console,
        elapsed: Option<u64>,
        cpu: Option<u64>,
        mode: Mode,
    ) {
        let inv = Invocation {
            worker: self.init.shared.id,
            version: src.version,
            seq: self.seq,
            mode,
            outcome: outcome.map(|r| r.unwrap_or_default()).map_err(|e| *e),
            console,
            duration: elapsed.map(Duration::from_nanos),
            cpu: cpu.map(Duration::from_nanos),
        };
        let _ = self.init.reports.send(Report::Invocation(Box::new(inv)));
    }

    fn fresh_sandbox(&mut self) {
        self.sandbox = Some(new_sandbox(&self.init, &mut self.cold));
    }

    fn drop_sandbox(&mut self) {
        if let Some(mut sb) = self.sandbox.take() {
            store_heap(&self.init.shared, sb.heap_stats());
        }
    }

    /// The configured limits, for readers, before any isolate reports its
    /// own (a cold worker between isolates has none).
    fn store_limits(&self) {
        let shared = &self.init.shared;
        shared
            .heap_limit
            .store(self.init.limits.heap_bytes as u64, Relaxed);
        shared
            .external_limit
            .store(self.init.limits.external_bytes as u64, Relaxed);
    }

    /// Answers work on a quarantined version without running it: counted
    /// runs fail at once (one report per run, every invocation counted as
    /// failed); under load the worker goes idle until a new command.
    fn refuse_quarantined(&mut self, src: &Source) {
        let err = ScriptError::new(
            ErrorKind::HeapLimit,
            format!(
                "not run: version {} of {} made V8 give up on {} (heap limit inside a built-in); \
                 it is not run there again until the file changes",
                src.version,
                src.name,
                if self.quarantined == Some(src.version) {
                    "this isolate".to_string()
                } else {
                    format!("{ABANDONS_BEFORE_VERSION_QUARANTINE} isolates")
                }
            ),
        );
        if let Some(CountedRun { left, batch, .. }) = self.runs.pop_front() {
            self.seq += left;
            self.errors += left;
            let shared = &self.init.shared;
            shared.invocations.store(self.seq, Relaxed);
            shared.errors.store(self.errors, Relaxed);
            self.send_invocation(
                src,
                Err(Box::new(err)),
                Console::default(),
                None,
                None,
                self.init.mode,
            );
            let _ = self.init.reports.send(Report::RunDone {
                worker: shared.id,
                batch,
            });
            self.set_idle_state();
        }
        // Load on a quarantined version: nothing to do until told
        // otherwise (`has_work` says so; the worker goes idle).
    }

    /// Throws the isolate away and makes a fresh one; `counted` marks a
    /// recycle forced by a limit.
    fn recycle(&mut self, counted: bool) {
        let shared = &self.init.shared;
        shared.set_state(WorkerState::Recycling);
        *shared.handle.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.sandbox = None;
        if counted {
            shared.recycles.fetch_add(1, Relaxed);
        }
        self.fresh_sandbox();
        // The table shows the new isolate, not the one that was stopped.
        if let Some(sb) = self.sandbox.as_mut() {
            store_heap(&self.init.shared, sb.heap_stats());
        }
        self.set_idle_state();
    }

    /// Moves local numbers where readers can see them.
    fn publish(&mut self) {
        self.last_publish = now_ns();
        self.flush_cpu();
        if let Some(h) = self.latency.get() {
            self.stride = if h.value_at_quantile(0.5) < FAST_CALL_NS {
                TIMING_STRIDE
            } else {
                1
            };
        }
        if let Some(sb) = self.sandbox.as_mut() {
            store_heap(&self.init.shared, sb.heap_stats());
        }
        self.latency.merge_into(&self.init.telemetry.latency);
        self.cold.merge_into(&self.init.telemetry.cold_start);
    }
}

/// The worker seen from a warm batch.
struct WarmDriver<'w> {
    worker: &'w mut Worker,
    src: &'w Source,
    /// A limit stopped the batch: the isolate must be replaced.
    fatal: bool,
}

impl Driver for WarmDriver<'_> {
    #[inline(always)]
    fn first(&mut self) -> Option<Call> {
        Some(self.worker.begin())
    }

    #[inline(always)]
    fn next(&mut self, outcome: RawOutcome, probe: &Probe) -> Next {
        match self.worker.after(self.src, outcome, probe) {
            After::Retry(call) => return Next::Retry(call),
            After::Fatal => {
                self.fatal = true;
                return Next::Stop;
            }
            After::Done => {}
        }
        if self.worker.batch_over() {
            return Next::Stop;
        }
        Next::Call(self.worker.begin())
    }
}

/// A worker's distribution between two publishes, allocated only while it
/// holds something (~37 KiB each): an idle isolate keeps none.
#[derive(Default)]
struct LocalHistogram(Option<Box<Histogram<u64>>>);

impl LocalHistogram {
    #[inline]
    fn record(&mut self, ns: u64) {
        let _ = self
            .0
            .get_or_insert_with(|| Box::new(new_histogram()))
            .record(ns.max(1));
    }

    fn get(&self) -> Option<&Histogram<u64>> {
        self.0.as_deref().filter(|h| !h.is_empty())
    }

    fn clear(&mut self) {
        self.0 = None;
    }

    /// Adds what it holds to `into` and lets it go.
    fn merge_into(&mut self, into: &Mutex<Histogram<u64>>) {
        if let Some(h) = self.0.take().filter(|h| !h.is_empty()) {
            let _ = into.lock().unwrap_or_else(|p| p.into_inner()).add(&*h);
        }
    }
}

fn new_sandbox(init: &WorkerInit, cold: &mut LocalHistogram) -> Sandbox {
    let shared = init.shared_isolates && !init.mode.fresh_isolate_per_call();
    let young = sandbox::max_young_generation_bytes(init.mode);
    let sb = Sandbox::new(&init.limits, init.bounds, on_fatal_oom, shared, young);
    let ns = sb.cold_start.as_nanos() as u64;
    cold.record(ns);
    init.shared.cold_start_ns.store(ns, Relaxed);
    *init.shared.handle.lock().unwrap_or_else(|p| p.into_inner()) = Some(sb.handle());
    sb
}

/// Snapshot mode's isolate for one call: restored from the version's blob,
/// or, where none could be built, a plain cold one (which runs the top level
/// itself, so its result is cold mode's). Its creation is the call's cold
/// start.
fn snapshot_sandbox(
    init: &WorkerInit,
    cold: &mut LocalHistogram,
    built: &super::snapshot::Built,
    src: &Source,
) -> Result<Sandbox, ScriptError> {
    let Ok(blob) = &built.blob else {
        return Ok(new_sandbox(init, cold));
    };
    let young = sandbox::max_young_generation_bytes(init.mode);
    let sb = Sandbox::from_snapshot(
        &init.limits,
        init.bounds,
        on_fatal_oom,
        young,
        blob,
        src.version,
    )?;
    let ns = sb.cold_start.as_nanos() as u64;
    cold.record(ns);
    init.shared.cold_start_ns.store(ns, Relaxed);
    *init.shared.handle.lock().unwrap_or_else(|p| p.into_inner()) = Some(sb.handle());
    Ok(sb)
}

fn store_heap(shared: &WorkerShared, s: HeapStats) {
    shared.heap_used.store(s.used, Relaxed);
    shared.heap_total.store(s.total, Relaxed);
    shared.heap_limit.store(s.limit, Relaxed);
    shared.external.store(s.external, Relaxed);
    shared.external_limit.store(s.external_limit, Relaxed);
}

fn external_error(l: &Limits, used: usize) -> ScriptError {
    ScriptError::new(
        ErrorKind::ExternalLimit,
        format!(
            "external memory limit exceeded: the isolate kept allocating ArrayBuffer memory past its {} MiB budget \
             ({} in use); the isolate was discarded and replaced",
            l.external_bytes >> 20,
            crate::metrics::fmt_bytes(used as u64)
        ),
    )
}

fn heap_error(l: &Limits) -> ScriptError {
    ScriptError::new(
        ErrorKind::HeapLimit,
        format!(
            "heap limit exceeded: the isolate's heap reached its {} MiB limit; the isolate was discarded and replaced",
            l.heap_bytes >> 20
        ),
    )
}

fn timeout_error(l: &Limits) -> ScriptError {
    ScriptError::new(
        ErrorKind::Timeout,
        format!(
            "timed out after {} ms (wall clock); the isolate was discarded and replaced",
            l.timeout.as_millis()
        ),
    )
}

fn cpu_error(l: &Limits) -> ScriptError {
    let cpu = l.cpu.map_or(0, |c| c.as_millis());
    ScriptError::new(
        ErrorKind::CpuLimit,
        format!(
            "CPU time limit exceeded: the invocation used more than {cpu} ms of CPU (its thread's CPU clock); \
             the isolate was discarded and replaced"
        ),
    )
}
