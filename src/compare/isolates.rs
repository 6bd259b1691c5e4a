//! The isolate rows, through the real engine (the same one the playground
//! and `bench` drive): one first call for the result, then windows of
//! continuous load with `n` isolates, as `bench` measures throughput.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::engine::snapshot::SnapshotInfo;
use crate::engine::{Engine, EngineConfig, Mode, Report, Source};

/// Sleeps `d`, in steps, unless `cancel` is set; returns false if it was.
pub fn sleep_unless(d: Duration, cancel: &AtomicBool) -> bool {
    let end = Instant::now() + d;
    loop {
        if cancel.load(Relaxed) {
            return false;
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
}

/// One call in `mode` on a fresh engine of one isolate: the result, or
/// the failure's headline. Bounded: the engine's watchdog stops the call
/// at the wall-clock limit; past twice that and 5 s more, the row says so.
/// `cancel` ends the wait (and the call) within 50 ms.
pub fn first_call(
    source: &Source,
    config: &EngineConfig,
    mode: Mode,
    cancel: &AtomicBool,
) -> Result<String, String> {
    let mut engine = Engine::new(EngineConfig {
        isolates: 1,
        mode,
        ..config.clone()
    });
    engine.set_source(source.clone());
    let batch = engine.run_with(1, true);
    let wait = config.limits.timeout * 2 + Duration::from_secs(5);
    let deadline = Instant::now() + wait;
    let mut outcome = None;
    loop {
        if cancel.load(Relaxed) {
            // Dropping the engine stops the call in flight at once.
            return Err("cancelled".into());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "no answer within {} ms: the call could not be stopped",
                wait.as_millis()
            ));
        }
        match engine
            .reports()
            .recv_timeout(left.min(Duration::from_millis(50)))
        {
            Ok(Report::Invocation(inv)) => outcome = Some(inv.outcome),
            Ok(Report::RunDone { batch: b, .. }) if b == batch => break,
            Ok(_) => {}
            Err(flume::RecvTimeoutError::Timeout) => {}
            Err(flume::RecvTimeoutError::Disconnected) => {
                return Err("the engine stopped without an answer".into());
            }
        }
    }
    match outcome {
        Some(Ok(r)) => Ok(r),
        Some(Err(e)) => Err(e.headline()),
        None => Err("the engine reported no invocation".into()),
    }
}

/// What one window of load measured.
pub struct Window {
    pub calls: u64,
    pub secs: f64,
    /// CPU time of this whole process in the window (all threads), ns.
    pub cpu_ns: u64,
    /// Latency of the timed calls (ns).
    pub latency: Histogram<u64>,
    /// Snapshot mode: the blob the window's isolates started from.
    pub snapshot: Option<SnapshotInfo>,
}

/// `n` isolates in `mode` under continuous load: `warmup`, then a
/// measured `window`. None if cancelled.
pub fn window(
    source: &Source,
    config: &EngineConfig,
    mode: Mode,
    n: usize,
    warmup: Duration,
    window: Duration,
    cancel: &AtomicBool,
) -> Option<Window> {
    let mut engine = Engine::new(EngineConfig {
        isolates: n,
        mode,
        ..config.clone()
    });
    let version = engine.set_source(source.clone());
    engine.wait_ready(Duration::from_secs(60));
    if mode == Mode::Snapshot {
        // The blob is built once per engine, in a child process: not a
        // per-call cost, so not in the window.
        let deadline = Instant::now() + config.limits.timeout + Duration::from_secs(10);
        while engine.snapshot_info().is_none_or(|i| i.version != version)
            && Instant::now() < deadline
        {
            if !sleep_unless(Duration::from_millis(5), cancel) {
                return None;
            }
        }
    }
    engine.set_load(true);
    if !sleep_unless(warmup, cancel) {
        return None;
    }
    let _ = engine.telemetry().drain();
    let n0 = engine.total_invocations();
    let cpu0 = crate::bench::process_cpu_ns();
    let t0 = Instant::now();
    let finished = sleep_unless(window, cancel);
    let n1 = engine.total_invocations();
    let secs = t0.elapsed().as_secs_f64();
    let cpu = crate::bench::process_cpu_ns().saturating_sub(cpu0);
    // Workers publish their histograms every 50 ms: the window, give or
    // take one publish.
    let (latency, _) = engine.telemetry().drain();
    let snapshot = (mode == Mode::Snapshot)
        .then(|| engine.snapshot_info())
        .flatten();
    engine.set_load(false);
    drop(engine);
    finished.then_some(Window {
        calls: n1.saturating_sub(n0),
        secs,
        cpu_ns: cpu,
        latency,
        snapshot,
    })
}
