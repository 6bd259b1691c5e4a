//! One OS thread, one isolate at a time, a command loop. Under load a worker
//! runs invocations back to back and only glances at its mailbox between
//! them, so no invocation pays a channel round trip.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use hdrhistogram::Histogram;

use super::console::ConsoleBounds;
use super::limits::{Limits, now_ns};
use super::report::{ErrorKind, Invocation, Report, ScriptError, WorkerShared, WorkerState};
use super::sandbox::{Call, Driver, HeapStats, Next, Probe, RawOutcome, Sandbox};
use super::script::Source;
use super::{Mode, Telemetry, new_histogram};

pub enum Command {
    SetSource(Arc<Source>),
    SetMode(Mode),
    SetLimits(Limits),
    SetPayload(Arc<str>),
    /// Run `count` invocations, reporting each, then send `RunDone`.
    Run {
        count: u64,
        batch: u64,
    },
    /// Run until told otherwise, reporting a sample every publish interval.
    Load(bool),
    Shutdown,
}

enum After {
    Done,
    /// A limit stopped it: report sent, the isolate must be replaced.
    Fatal,
    /// A stray termination hit it: run it again.
    Retry(Call),
}

/// Everything a new worker starts from.
pub struct WorkerInit {
    pub shared: Arc<WorkerShared>,
    pub rx: Receiver<Command>,
    pub reports: Sender<Report>,
    pub telemetry: Arc<Telemetry>,
    pub bounds: ConsoleBounds,
    pub limits: Limits,
    pub mode: Mode,
    pub payload: Arc<str>,
    pub source: Option<Arc<Source>>,
    pub load: bool,
}

/// How often a busy worker publishes counters, histograms and a sample.
const PUBLISH_EVERY_NS: u64 = 50_000_000;

/// Under load, while the median call of the last window took less than this,
/// calls are timed 1 in `TIMING_STRIDE`: two clock reads (~25 ns here) would
/// be a visible share of them. The median, not the mean, so that one GC
/// pause does not flip the stride from window to window.
const FAST_CALL_NS: u64 = 5_000;
const TIMING_STRIDE: u64 = 16;

struct Worker {
    init: WorkerInit,
    sandbox: Option<Sandbox>,
    /// Pending counted runs: (remaining, batch id).
    runs: std::collections::VecDeque<(u64, u64)>,
    seq: u64,
    errors: u64,
    latency: Histogram<u64>,
    cold: Histogram<u64>,
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
    /// An error was already reported in this publish window (load mode).
    error_reported: bool,
}

pub fn run(init: WorkerInit) {
    let mut w = Worker {
        init,
        sandbox: None,
        runs: Default::default(),
        seq: 0,
        errors: 0,
        latency: new_histogram(),
        cold: new_histogram(),
        last_publish: now_ns(),
        stride: 1,
        timed: false,
        t0: 0,
        sample: false,
        due: false,
        error_reported: false,
    };
    if w.init.mode != Mode::Cold {
        w.fresh_sandbox();
    }
    w.publish();
    w.set_idle_state();
    loop {
        let busy = w.init.load || !w.runs.is_empty();
        let cmd = if busy {
            w.init.shared.mail.store(false, Relaxed);
            match w.init.rx.try_recv() {
                Ok(c) => Some(c),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => break,
            }
        } else {
            match w.init.rx.recv() {
                Ok(c) => Some(c),
                Err(_) => break,
            }
        };
        match cmd {
            Some(Command::Shutdown) => break,
            Some(c) => w.apply(c),
            None => w.work(),
        }
    }
    // The isolate goes before the thread; the handle slot is cleared first
    // so the watchdog never touches a disposed isolate's handle.
    *w.init.shared.handle.lock().unwrap() = None;
    w.sandbox = None;
    w.init.shared.set_state(WorkerState::Stopped);
}

impl Worker {
    fn apply(&mut self, cmd: Command) {
        // New work of unknown speed: close the window of the old work and
        // time every call until a window of the new one says they are fast.
        // A new mode starts its distributions afresh (the engine drops what
        // was published already), so the old mode's window is dropped here.
        match cmd {
            Command::SetMode(_) => {
                self.latency.reset();
                self.cold.reset();
                self.stride = 1;
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
                self.init.mode = m;
                if m == Mode::Cold {
                    self.drop_sandbox();
                } else if self.sandbox.is_none() {
                    self.fresh_sandbox();
                    self.publish();
                }
            }
            Command::SetLimits(l) => {
                let heap_changed = l.heap_bytes != self.init.limits.heap_bytes;
                self.init.limits = l;
                if heap_changed && self.sandbox.is_some() {
                    self.recycle(false);
                    self.publish();
                }
            }
            Command::SetPayload(p) => self.init.payload = p,
            Command::Run { count, batch } => {
                if count == 0 {
                    let _ = self.init.reports.send(Report::RunDone {
                        worker: self.init.shared.id,
                        batch,
                    });
                } else {
                    self.runs.push_back((count, batch));
                }
            }
            Command::Load(on) => self.init.load = on,
            Command::Shutdown => unreachable!("handled by the loop"),
        }
        self.set_idle_state();
    }

    fn set_idle_state(&self) {
        let busy = self.init.load || !self.runs.is_empty();
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
            while let Some((_, batch)) = self.runs.pop_front() {
                let _ = self.init.reports.send(Report::RunDone {
                    worker: self.init.shared.id,
                    batch,
                });
            }
            self.set_idle_state();
            return;
        };
        let payload = self.init.payload.clone();
        if self.init.mode == Mode::Warm {
            let mut sb = self.sandbox.take().expect("warm keeps a sandbox");
            let mut driver = WarmDriver {
                worker: self,
                src: &src,
                fatal: false,
            };
            sb.warm_batch(&src, &payload, &mut driver);
            let fatal = driver.fatal;
            self.sandbox = Some(sb);
            if fatal {
                self.recycle(true);
                self.batch_over();
            }
            return;
        }
        let mut call = self.begin();
        loop {
            let mut sb = match self.init.mode {
                Mode::Cold => new_sandbox(&self.init, &mut self.cold),
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
            if self.init.mode == Mode::Cold {
                store_heap(&self.init.shared, sb.heap_stats());
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
            // The sampled call opens the next window's error report: when
            // every call fails, the error shown is this timed one.
            if self.due {
                self.error_reported = false;
            }
        }
        self.sample = counted || self.due;
        self.init.shared.running.store(self.seq, Relaxed);
        Call {
            isolate: self.init.shared.id,
            invocation: self.seq,
            want_result: self.sample,
        }
    }

    /// Bookkeeping after an invocation. The common case under load (an
    /// untimed, unsampled success) is kept inline and small.
    #[inline(always)]
    fn after(&mut self, src: &Source, outcome: RawOutcome, probe: &Probe) -> After {
        self.init.shared.running.store(0, Relaxed);
        if !self.timed && matches!(outcome, Ok(None)) {
            self.init.shared.invocations.store(self.seq, Relaxed);
            probe.console().clear();
            return After::Done;
        }
        self.after_slow(src, outcome, probe)
    }

    /// Timing, limits, counters and the report.
    #[inline(never)]
    fn after_slow(&mut self, src: &Source, outcome: RawOutcome, probe: &Probe) -> After {
        let shared = &self.init.shared;
        let outcome = match outcome {
            Err(e) if e.kind == ErrorKind::Timeout => {
                if probe.heap_hit() {
                    Err(Box::new(heap_error(&self.init.limits)))
                } else if shared.killed.load(Relaxed) == self.seq {
                    Err(Box::new(timeout_error(&self.init.limits)))
                } else {
                    // The watchdog's stop was meant for an invocation that
                    // had just ended: undo it and run this one again.
                    shared.running.store(self.seq, Relaxed);
                    return After::Retry(Call {
                        isolate: shared.id,
                        invocation: self.seq,
                        want_result: self.sample,
                    });
                }
            }
            other => other,
        };
        let elapsed = self.timed.then(|| {
            let ns = now_ns() - self.t0;
            let _ = self.latency.record(ns.max(1));
            shared.last_duration_ns.store(ns, Relaxed);
            ns
        });
        shared.invocations.store(self.seq, Relaxed);
        let failed = outcome.is_err();
        let fatal = matches!(&outcome, Err(e) if matches!(e.kind, ErrorKind::Timeout | ErrorKind::HeapLimit));
        if failed {
            self.errors += 1;
            shared.errors.store(self.errors, Relaxed);
        }
        if self.sample || fatal || (failed && !self.error_reported) {
            self.error_reported |= failed;
            let console = probe.console().take();
            self.send_invocation(src, outcome, console, elapsed, self.init.mode);
        } else {
            probe.console().clear();
        }
        if fatal { After::Fatal } else { After::Done }
    }

    /// Whether the current batch ends here: a counted run finished, it is
    /// time to publish, or a command waits.
    #[inline]
    fn batch_over(&mut self) -> bool {
        if let Some(front) = self.runs.front_mut() {
            front.0 -= 1;
            if front.0 == 0 {
                let batch = front.1;
                self.runs.pop_front();
                self.publish();
                let _ = self.init.reports.send(Report::RunDone {
                    worker: self.init.shared.id,
                    batch,
                });
                self.set_idle_state();
                return true;
            }
        }
        if self.due {
            self.publish();
            return true;
        }
        self.init.shared.mail.load(Relaxed)
    }

    fn send_invocation(
        &self,
        src: &Source,
        outcome: RawOutcome,
        console: super::report::Console,
        elapsed: Option<u64>,
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

    /// Throws the isolate away and makes a fresh one; `counted` marks a
    /// recycle forced by a limit.
    fn recycle(&mut self, counted: bool) {
        let shared = &self.init.shared;
        shared.set_state(WorkerState::Recycling);
        *shared.handle.lock().unwrap() = None;
        self.sandbox = None;
        if counted {
            shared.recycles.fetch_add(1, Relaxed);
        }
        self.fresh_sandbox();
        self.set_idle_state();
    }

    /// Moves local numbers where readers can see them.
    fn publish(&mut self) {
        self.last_publish = now_ns();
        if !self.latency.is_empty() {
            self.stride = if self.latency.value_at_quantile(0.5) < FAST_CALL_NS {
                TIMING_STRIDE
            } else {
                1
            };
        }
        if let Some(sb) = self.sandbox.as_mut() {
            store_heap(&self.init.shared, sb.heap_stats());
        }
        if !self.latency.is_empty() {
            self.init
                .telemetry
                .latency
                .lock()
                .unwrap()
                .add(&self.latency)
                .ok();
            self.latency.reset();
        }
        if !self.cold.is_empty() {
            self.init
                .telemetry
                .cold_start
                .lock()
                .unwrap()
                .add(&self.cold)
                .ok();
            self.cold.reset();
        }
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

fn new_sandbox(init: &WorkerInit, cold: &mut Histogram<u64>) -> Sandbox {
    let sb = Sandbox::new(&init.limits, init.bounds);
    let ns = sb.cold_start.as_nanos() as u64;
    let _ = cold.record(ns.max(1));
    init.shared.cold_start_ns.store(ns, Relaxed);
    *init.shared.handle.lock().unwrap() = Some(sb.handle());
    sb
}

fn store_heap(shared: &WorkerShared, s: HeapStats) {
    shared.heap_used.store(s.used, Relaxed);
    shared.heap_total.store(s.total, Relaxed);
    shared.heap_limit.store(s.limit, Relaxed);
    shared.external.store(s.external, Relaxed);
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
