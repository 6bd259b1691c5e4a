//! `isolate-play run`: M invocations on each of N isolates, then each
//! isolate's result and a summary. Exit status 0 only if all succeeded.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::engine::{
    Console, Engine, EngineConfig, Invocation, Report, ScriptError, ScriptKind, Source,
    WorkerSnapshot,
};
use crate::metrics::{Percentiles, fmt_bytes, fmt_duration, fmt_rate};
use crate::system;

/// What one isolate did during the run.
#[derive(Debug, Serialize)]
pub struct IsolateResult {
    pub isolate: usize,
    pub version: u64,
    pub invocations: u64,
    pub failures: u64,
    /// Result of the last invocation, when it succeeded.
    pub result: Option<String>,
    /// Error of the last invocation, when it failed.
    pub error: Option<ScriptError>,
    /// First error seen, if any invocation failed.
    pub first_error: Option<ScriptError>,
    /// Console of the last invocation.
    pub console: Console,
    pub duration_us: f64,
    /// CPU time of the last invocation (µs; its thread's CPU clock; None
    /// when it was not measured).
    pub cpu_us: Option<f64>,
    pub heap: Heap,
}

/// An isolate's memory when the run ended (bytes): its V8 heap, and the
/// memory outside it (ArrayBuffer backing stores) against its budget.
#[derive(Debug, Serialize)]
pub struct Heap {
    pub used: u64,
    pub total: u64,
    pub limit: u64,
    pub external: u64,
    pub external_limit: u64,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub invocations: u64,
    pub ok: u64,
    pub failed: u64,
    pub wall_ms: f64,
    pub throughput_per_s: f64,
    pub latency: Percentiles,
    /// Isolate + context creation, for every isolate created in this run.
    pub cold_start: Percentiles,
    /// Isolates discarded because a limit stopped them (replaced by fresh
    /// ones), including abandoned ones.
    pub recycles: u64,
    /// Isolates V8 gave up on inside a built-in (see `engine::limits`):
    /// their threads are parked and their memory kept until exit.
    pub abandoned: u64,
    /// Resident memory at the end of the run (bytes).
    pub rss_bytes: u64,
    /// Peak resident memory of the whole process (bytes; Linux VmHWM, 0
    /// where unknown).
    pub peak_rss_bytes: u64,
    pub scheduler: SchedulerSummary,
}

/// How the isolates shared their threads during the run (from the first
/// invocation to the last; isolate creation before it is not counted).
#[derive(Debug, Serialize)]
pub struct SchedulerSummary {
    /// "2" (a pool of two executor threads) or "per-isolate".
    pub threads: String,
    /// Executor threads that ran slices of this run.
    pub thread_count: usize,
    /// How long isolates with work waited for a thread, per slice.
    pub queue_wait: Percentiles,
    /// CPU time per invocation: the threads' CPU clocks over the run's
    /// slices divided by invocations (µs; includes the engine's own work
    /// around each call; None without invocations).
    pub cpu_per_call_us: Option<f64>,
    /// Share of the threads' wall time spent running slices (0..=1).
    pub utilisation: Option<f64>,
    /// Slices per second, over all threads: each one an isolate switch
    /// (None with a thread per isolate, which never switches).
    pub switches_per_s: Option<f64>,
    /// Slices whose isolate had last run on another thread.
    pub migrations: u64,
}

#[derive(Debug, Serialize)]
pub struct RunReport {
    pub file: String,
    pub kind: ScriptKind,
    pub mode: crate::engine::Mode,
    pub isolates: usize,
    pub invocations_per_isolate: u64,
    pub v8: &'static str,
    pub results: Vec<IsolateResult>,
    pub summary: Summary,
}

/// Runs `source` as configured and gathers everything it reported.
pub fn execute(source: Source, config: EngineConfig, invocations: u64) -> RunReport {
    let n = config.isolates;
    let mode = config.mode;
    let file = source.name.clone();
    let kind = source.kind;
    let timeout = config.limits.timeout;
    let mut engine = Engine::new(config);
    engine.set_source(source);
    engine.wait_ready(Duration::from_secs(120));
    let threads_before = engine.thread_stats();
    let cpu_before: Vec<Duration> = engine.snapshots().iter().map(|s| s.cpu).collect();
    let _ = engine.drain_queue_wait();
    let mut last: Vec<Option<Invocation>> = vec![None; n];
    let mut stalled_errors: Vec<(usize, ScriptError)> = Vec::new();
    let mut first_error: Vec<Option<ScriptError>> = vec![None; n];
    let t0 = Instant::now();
    let batch = engine.run_with(invocations, false);
    let mut finished = vec![false; n];
    let mut done = 0;
    // Every worker reports each invocation within its timeout (a stop, a
    // panic and an abandoned isolate are all reported). Two things can
    // still keep one silent: a built-in function that V8 cannot stop (the
    // watchdog stopped it, it has not come back), and a fault in
    // isolate-play itself. The run then says so for that isolate and ends,
    // instead of waiting for it.
    let silence = (timeout * 10).max(Duration::from_secs(60));
    let grace = Duration::from_secs(2);
    let mut last_report = Instant::now();
    let mut stalled = false;
    while done < n {
        match engine.reports().recv_timeout(Duration::from_millis(250)) {
            Ok(Report::Invocation(inv)) => {
                last_report = Instant::now();
                let w = inv.worker;
                if let Err(e) = &inv.outcome {
                    first_error[w].get_or_insert_with(|| e.clone());
                }
                last[w] = Some(*inv);
            }
            Ok(Report::RunDone { worker, batch: b }) if b == batch => {
                last_report = Instant::now();
                if !finished[worker] {
                    finished[worker] = true;
                    done += 1;
                }
            }
            Ok(_) => {}
            Err(flume::RecvTimeoutError::Disconnected) => {
                stalled = true;
                break;
            }
            Err(flume::RecvTimeoutError::Timeout) => {
                let stuck = engine.stuck_workers(grace);
                if stuck.iter().any(|w| !finished[*w]) && stuck.len() + done >= n {
                    // Everyone else is done: those left are stuck.
                    for w in stuck {
                        if !finished[w] {
                            let err = ScriptError::new(
                                crate::engine::ErrorKind::Timeout,
                                format!(
                                    "timed out after {} ms (wall clock), and V8 could not stop it: it is inside a \
                                     built-in function that never checks for termination; the run was cut short",
                                    timeout.as_millis()
                                ),
                            );
                            first_error[w].get_or_insert_with(|| err.clone());
                            stalled_errors.push((w, err));
                        }
                    }
                    stalled = true;
                    break;
                }
                if last_report.elapsed() >= silence {
                    stalled = true;
                    break;
                }
            }
        }
    }
    let wall = t0.elapsed();
    let snaps = engine.snapshots();
    let abandoned = engine.abandoned();
    if stalled {
        for (w, f) in finished.iter().enumerate() {
            if !f && !stalled_errors.iter().any(|(s, _)| *s == w) {
                let err = ScriptError::new(
                    crate::engine::ErrorKind::Internal,
                    format!(
                        "isolate-play internal error: isolate {w} reported nothing for {} s; the run was cut short",
                        silence.as_secs()
                    ),
                );
                first_error[w].get_or_insert_with(|| err.clone());
                stalled_errors.push((w, err));
            }
        }
    }
    // Every invocation counts, reported or not (a quarantined version's
    // run is one report for all its invocations).
    let failures: Vec<u64> = (0..n)
        .map(|w| {
            let stalled = stalled_errors.iter().any(|(s, _)| *s == w);
            let missing = if stalled {
                invocations.saturating_sub(snaps[w].invocations)
            } else {
                0
            };
            snaps[w].errors + missing
        })
        .collect();
    let (latency, cold) = engine.telemetry().drain();
    let scheduler = scheduler_summary(&engine, &threads_before, &cpu_before, &snaps, wall);
    let rss = system::rss_now();
    let peak_rss = system::peak_rss();
    if stalled {
        // Dropping would wait for the silent workers.
        std::mem::forget(engine);
    } else {
        drop(engine);
    }

    let results: Vec<IsolateResult> = (0..n)
        .map(|w| {
            let mut r = isolate_result(
                w,
                last[w].take(),
                first_error[w].take(),
                failures[w],
                &snaps[w],
            );
            if let Some((_, err)) = stalled_errors.iter().find(|(s, _)| *s == w) {
                r.result = None;
                r.error = Some(err.clone());
            }
            r
        })
        .collect();
    let total = n as u64 * invocations;
    let failed: u64 = failures.iter().sum();
    RunReport {
        file,
        kind,
        mode,
        isolates: n,
        invocations_per_isolate: invocations,
        v8: crate::engine::platform::v8_version(),
        summary: Summary {
            invocations: total,
            ok: total - failed,
            failed,
            wall_ms: wall.as_secs_f64() * 1e3,
            throughput_per_s: total as f64 / wall.as_secs_f64(),
            latency: Percentiles::of(&latency),
            cold_start: Percentiles::of(&cold),
            recycles: snaps.iter().map(|s| s.recycles).sum(),
            abandoned,
            rss_bytes: rss,
            peak_rss_bytes: peak_rss,
            scheduler,
        },
        results,
    }
}

/// The scheduler's figures between two readings of the engine's counters.
fn scheduler_summary(
    engine: &Engine,
    threads_before: &[crate::engine::ThreadSnapshot],
    cpu_before: &[Duration],
    snaps: &[WorkerSnapshot],
    wall: Duration,
) -> SchedulerSummary {
    let after = engine.thread_stats();
    let mut busy = 0u64;
    let mut slices = 0u64;
    let mut migrations = 0u64;
    let mut count = 0usize;
    for t in &after {
        let before = threads_before.iter().find(|b| b.id == t.id);
        let d_slices = t.slices - before.map_or(0, |b| b.slices);
        if d_slices == 0 {
            continue;
        }
        count += 1;
        slices += d_slices;
        busy += t.busy_ns - before.map_or(0, |b| b.busy_ns);
        migrations += t.migrations - before.map_or(0, |b| b.migrations);
    }
    let cpu: Duration = snaps
        .iter()
        .zip(cpu_before.iter().chain(std::iter::repeat(&Duration::ZERO)))
        .map(|(s, b)| s.cpu.saturating_sub(*b))
        .sum();
    let calls: u64 = snaps.iter().map(|s| s.invocations).sum();
    let wall_ns = wall.as_nanos().max(1) as f64;
    SchedulerSummary {
        threads: engine.threads().to_string(),
        thread_count: count,
        queue_wait: Percentiles::of(&engine.drain_queue_wait()),
        cpu_per_call_us: (calls > 0).then(|| cpu.as_secs_f64() * 1e6 / calls as f64),
        utilisation: (count > 0).then(|| busy as f64 / (wall_ns * count as f64)),
        switches_per_s: (engine.threads() != crate::engine::Threads::PerIsolate)
            .then(|| slices as f64 * 1e9 / wall_ns),
        migrations,
    }
}

fn isolate_result(
    w: usize,
    last: Option<Invocation>,
    first_error: Option<ScriptError>,
    failures: u64,
    snap: &WorkerSnapshot,
) -> IsolateResult {
    let cpu_us = last
        .as_ref()
        .and_then(|i| i.cpu)
        .map(|c| c.as_secs_f64() * 1e6);
    let (version, result, error, console, duration) = match last {
        Some(inv) => {
            let (r, e) = match inv.outcome {
                Ok(r) => (Some(r), None),
                Err(e) => (None, Some(e)),
            };
            (inv.version, r, e, inv.console, inv.duration)
        }
        None => (0, None, None, Console::default(), None),
    };
    IsolateResult {
        isolate: w,
        version,
        invocations: snap.invocations,
        failures,
        result,
        error,
        first_error: if failures > 0 { first_error } else { None },
        console,
        duration_us: duration.map_or(0.0, |d| d.as_secs_f64() * 1e6),
        cpu_us,
        heap: Heap {
            used: snap.heap_used,
            total: snap.heap_total,
            limit: snap.heap_limit,
            external: snap.external,
            external_limit: snap.external_limit,
        },
    }
}

/// The text a person reads, with the scripts' control characters (other
/// than newline and tab) shown as `\u{1b}` escapes, so that output cannot
/// move the cursor or erase lines on the terminal.
pub fn render_text(r: &RunReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} · {} · {} mode · {} isolate{} × {} invocation{} · V8 {}",
        r.file,
        match r.kind {
            ScriptKind::Script => "script",
            ScriptKind::Handler => "handler",
        },
        r.mode,
        r.isolates,
        plural(r.isolates as u64),
        r.invocations_per_isolate,
        plural(r.invocations_per_isolate),
        r.v8
    );
    for i in &r.results {
        let head = format!("isolate {:>3}", i.isolate);
        let stats = format!(
            "{}, CPU {}, heap {} of {}, external {} of {}",
            if i.duration_us > 0.0 {
                fmt_duration(Duration::from_secs_f64(i.duration_us / 1e6))
            } else {
                "—".into()
            },
            i.cpu_us
                .map_or("—".into(), |us| fmt_duration(Duration::from_secs_f64(
                    us / 1e6
                ))),
            fmt_bytes(i.heap.used),
            fmt_bytes(i.heap.limit),
            fmt_bytes(i.heap.external),
            fmt_bytes(i.heap.external_limit),
        );
        let counts = if r.invocations_per_isolate > 1 {
            format!(
                " [{} ok, {} failed]",
                i.invocations - i.failures,
                i.failures
            )
        } else {
            String::new()
        };
        for line in &i.console.lines {
            let _ = writeln!(out, "{head}  console.{}: {}", line.level.name(), line.text);
        }
        if i.console.dropped > 0 {
            let _ = writeln!(
                out,
                "{head}  console: … {} more line{} truncated",
                i.console.dropped,
                plural(i.console.dropped)
            );
        }
        match (&i.result, &i.error) {
            (Some(res), _) => {
                let _ = writeln!(out, "{head}  {res}  ({stats}){counts}");
            }
            (None, Some(e)) => {
                let _ = writeln!(out, "{head}  error: {e}  ({stats}){counts}");
            }
            (None, None) => {
                let _ = writeln!(out, "{head}  (no result){counts}");
            }
        }
        if i.error.is_none()
            && let Some(e) = &i.first_error
        {
            let _ = writeln!(out, "{head}  first error: {}", e.headline());
        }
    }
    let s = &r.summary;
    let _ = writeln!(
        out,
        "summary: {} invocation{} ({} ok, {} failed) in {} · {} · latency p50 {} p99 {} · cold start p50 {} p99 {} ({} isolate{}) · {} recycle{}{} · RSS {} (peak {})",
        s.invocations,
        plural(s.invocations),
        s.ok,
        s.failed,
        fmt_duration(Duration::from_secs_f64(s.wall_ms / 1e3)),
        fmt_rate(s.throughput_per_s),
        measured(&s.latency, s.latency.p50),
        measured(&s.latency, s.latency.p99),
        measured(&s.cold_start, s.cold_start.p50),
        measured(&s.cold_start, s.cold_start.p99),
        s.cold_start.count,
        plural(s.cold_start.count),
        s.recycles,
        plural(s.recycles),
        if s.abandoned > 0 {
            format!(
                " · {} isolate{} abandoned (memory kept until exit)",
                s.abandoned,
                plural(s.abandoned)
            )
        } else {
            String::new()
        },
        fmt_bytes(s.rss_bytes),
        fmt_bytes(s.peak_rss_bytes),
    );
    let sc = &s.scheduler;
    let _ = writeln!(
        out,
        "threads: {} · {} busy over the run ({} thread{} ran slices) · {} isolate switches/s · queue wait p50 {} p99 {} · CPU/call {}",
        if sc.threads == "per-isolate" {
            "one per isolate".to_string()
        } else {
            format!("pool of {}", sc.threads)
        },
        sc.utilisation
            .map_or("—".into(), |u| format!("{:.0}%", u * 100.0)),
        sc.thread_count,
        plural(sc.thread_count as u64),
        sc.switches_per_s.map_or("—".into(), |r| fmt_rate(r)
            .trim_end_matches("/s")
            .to_string()),
        measured(&sc.queue_wait, sc.queue_wait.p50),
        measured(&sc.queue_wait, sc.queue_wait.p99),
        sc.cpu_per_call_us
            .map_or("—".into(), |us| fmt_duration(Duration::from_secs_f64(
                us / 1e6
            ))),
    );
    escape_controls(&out)
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A percentile, or "—" when nothing was measured.
fn measured(p: &Percentiles, d: Duration) -> String {
    if p.count == 0 {
        "—".into()
    } else {
        fmt_duration(d)
    }
}

fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}
