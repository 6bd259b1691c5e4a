//! One measurement of one side (an engine in a thread model, or the bare
//! loop), and rounds that rotate the sides so that the machine's noise
//! falls on all of them.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::engine::{Engine, EngineConfig, Source, ThreadSnapshot, Threads, new_histogram};
use crate::metrics::Percentiles;

use super::{bare, process_cpu_ns};

/// Who does the work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The engine, with this thread model.
    Engine(Threads),
    /// The bare v8 loop, a thread per isolate.
    Bare,
    /// The bare v8 loop on a pool of this many threads (warm mode only),
    /// with slices as long as the engine's, or this long (ns).
    BarePool(usize, Option<u64>),
    /// The engine in plain cold mode, with this thread model: the
    /// baseline of snapshot mode (the bare loop has no snapshots).
    PlainCold(Threads),
}

impl Side {
    /// "pool", "per-isolate", "bare".
    pub fn model(self) -> &'static str {
        match self {
            Side::Engine(Threads::Pool(_)) => "pool",
            Side::Engine(Threads::PerIsolate) => "per-isolate",
            Side::Bare => "bare",
            Side::BarePool(..) => "bare pool",
            Side::PlainCold(_) => "plain cold",
        }
    }

    /// OS threads that run isolates, with `isolates` isolates.
    pub fn threads(self, isolates: usize) -> usize {
        match self {
            Side::Engine(Threads::Pool(t))
            | Side::PlainCold(Threads::Pool(t))
            | Side::BarePool(t, _) => t,
            _ => isolates,
        }
    }
}

/// What the scheduler did in a measured window (pool only): summed over
/// its executor threads.
#[derive(Clone, Debug)]
pub struct SchedWindow {
    pub threads: usize,
    pub busy_ns: u64,
    pub slices: u64,
    pub migrations: u64,
    pub queue_wait: Histogram<u64>,
}

impl SchedWindow {
    fn between(before: &[ThreadSnapshot], after: &[ThreadSnapshot], wait: Histogram<u64>) -> Self {
        let mut w = SchedWindow {
            threads: after.len(),
            busy_ns: 0,
            slices: 0,
            migrations: 0,
            queue_wait: wait,
        };
        for a in after {
            let b = before.iter().find(|b| b.id == a.id);
            let (busy, slices, mig) = b.map_or((0, 0, 0), |b| (b.busy_ns, b.slices, b.migrations));
            w.busy_ns += a.busy_ns.saturating_sub(busy);
            w.slices += a.slices.saturating_sub(slices);
            w.migrations += a.migrations.saturating_sub(mig);
        }
        w
    }

    fn add(&mut self, o: &SchedWindow) {
        self.threads = self.threads.max(o.threads);
        self.busy_ns += o.busy_ns;
        self.slices += o.slices;
        self.migrations += o.migrations;
        let _ = self.queue_wait.add(&o.queue_wait);
    }
}

/// One side of one round: start, warm-up, measured window, stop.
#[derive(Debug)]
pub struct SideRun {
    /// Invocations completed in the measured window.
    pub calls: u64,
    pub secs: f64,
    /// CPU time of the whole process in the window (all threads).
    pub cpu_ns: u64,
    /// From nothing to every isolate made (engine: `Engine::new` to
    /// `wait_ready`).
    pub start: Duration,
    /// From "stop" under load to every thread gone (engine: the drop).
    pub stop: Duration,
    /// Engine latency (bare: not measured).
    pub latency: Option<Histogram<u64>>,
    pub sched: Option<SchedWindow>,
}

/// The engine under continuous load: invocations, latency, and for a pool
/// what its executor threads did, over `duration` after the warm-up.
pub fn engine(
    source: &Source,
    config: EngineConfig,
    warmup: Duration,
    duration: Duration,
) -> SideRun {
    let t_start = Instant::now();
    let pool = matches!(config.threads, Threads::Pool(_));
    let snapshot = config.mode == crate::engine::Mode::Snapshot;
    let mut engine = Engine::new(config);
    let version = engine.set_source(source.clone());
    engine.wait_ready(Duration::from_secs(600));
    // Snapshot mode: its blob is built (once, in a child process) before
    // the load starts, so that no warm-up window waits for it.
    if snapshot {
        let deadline = Instant::now() + Duration::from_secs(60);
        while engine.snapshot_info().is_none_or(|i| i.version != version)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let start = t_start.elapsed();
    engine.set_load(true);
    std::thread::sleep(warmup);
    let _ = engine.telemetry().drain();
    let _ = engine.drain_queue_wait();
    let threads0 = engine.thread_stats();
    let n0 = engine.total_invocations();
    let cpu0 = process_cpu_ns();
    let t0 = Instant::now();
    std::thread::sleep(duration);
    let n1 = engine.total_invocations();
    let secs = t0.elapsed().as_secs_f64();
    let cpu = process_cpu_ns().saturating_sub(cpu0);
    let threads1 = engine.thread_stats();
    let wait = engine.drain_queue_wait();
    // Workers publish their histograms every 50 ms: what was drained at
    // the start and now is the window, give or take one publish.
    let (latency, _) = engine.telemetry().drain();
    // Only a pool's thread counters are a scheduler's: a thread per
    // isolate has no queue and no switches.
    let sched = pool.then(|| SchedWindow::between(&threads0, &threads1, wait));
    let t_stop = Instant::now();
    drop(engine);
    SideRun {
        calls: n1 - n0,
        secs,
        cpu_ns: cpu,
        start,
        stop: t_stop.elapsed(),
        latency: Some(latency),
        sched,
    }
}

/// One side, as configured (`config.isolates`, mode, limits, payload).
pub fn side(
    side: Side,
    source: &Source,
    config: &EngineConfig,
    warmup: Duration,
    duration: Duration,
) -> SideRun {
    match side {
        Side::Engine(threads) => engine(
            source,
            EngineConfig {
                threads,
                ..config.clone()
            },
            warmup,
            duration,
        ),
        Side::PlainCold(threads) => engine(
            source,
            EngineConfig {
                threads,
                mode: crate::engine::Mode::Cold,
                ..config.clone()
            },
            warmup,
            duration,
        ),
        Side::Bare => bare::run(
            source,
            config.isolates,
            config.mode,
            config.limits.heap_bytes,
            &config.payload,
            bare::Window { warmup, duration },
        ),
        Side::BarePool(threads, slice) => bare::run_pool(
            source,
            config.isolates,
            threads,
            slice,
            config.limits.heap_bytes,
            &config.payload,
            bare::Window { warmup, duration },
        ),
    }
}

/// How long to measure: `duration` per side in all, split into `rounds`,
/// each after `warmup`.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub duration: Duration,
    pub rounds: u32,
    pub warmup: Duration,
}

/// One side's rounds added up.
#[derive(Debug)]
pub struct Totals {
    pub side: Side,
    pub isolates: usize,
    pub calls: u64,
    pub secs: f64,
    pub cpu_ns: u64,
    pub round_rates: Vec<f64>,
    /// Each round's calls per second of process CPU time.
    pub round_cpu_rates: Vec<f64>,
    pub starts: Vec<Duration>,
    pub stops: Vec<Duration>,
    pub latency: Option<Histogram<u64>>,
    pub sched: Option<SchedWindow>,
}

impl Totals {
    pub fn per_s(&self) -> f64 {
        rate(self.calls, self.secs)
    }

    fn add(&mut self, r: SideRun) {
        self.calls += r.calls;
        self.secs += r.secs;
        self.cpu_ns += r.cpu_ns;
        self.round_rates.push(rate(r.calls, r.secs));
        self.round_cpu_rates
            .push(rate(r.calls, r.cpu_ns as f64 / 1e9));
        self.starts.push(r.start);
        self.stops.push(r.stop);
        if let Some(h) = r.latency {
            let _ = self.latency.get_or_insert_with(new_histogram).add(&h);
        }
        if let Some(s) = r.sched {
            match &mut self.sched {
                Some(t) => t.add(&s),
                None => self.sched = Some(s),
            }
        }
    }
}

/// `sides` at `config.isolates`, `rounds` times each, `duration` of
/// measured load per side in all. Round r starts with side r (mod the
/// number of sides) and goes round from there: neighbours on a shared VM
/// come and go, and short rotating rounds spread them over every side.
/// `progress` hears of each run as it ends.
pub fn rounds(
    source: &Source,
    config: &EngineConfig,
    sides: &[Side],
    plan: Plan,
    mut progress: impl FnMut(Side, &SideRun),
) -> Vec<Totals> {
    let rounds = plan.rounds.max(1);
    let slice = plan.duration / rounds;
    let mut totals: Vec<Totals> = sides
        .iter()
        .map(|&side| Totals {
            side,
            isolates: config.isolates,
            calls: 0,
            secs: 0.0,
            cpu_ns: 0,
            round_rates: Vec::new(),
            round_cpu_rates: Vec::new(),
            starts: Vec::new(),
            stops: Vec::new(),
            latency: None,
            sched: None,
        })
        .collect();
    for round in 0..rounds as usize {
        for k in 0..sides.len() {
            let i = (round + k) % sides.len();
            let r = side(sides[i], source, config, plan.warmup, slice);
            progress(sides[i], &r);
            totals[i].add(r);
        }
    }
    totals
}

/// One side's line of a table, against the bare loop's totals.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub isolates: usize,
    /// "pool", "per-isolate", "bare pool" or "bare" (a thread per isolate).
    pub model: &'static str,
    /// OS threads running isolates.
    pub threads: usize,
    pub per_s: f64,
    /// This side / bare over all rounds (1 for bare itself).
    pub ratio: f64,
    /// Each round's this side / bare.
    pub round_ratios: Vec<f64>,
    /// The engine against the bare loop with the same thread model (pool /
    /// bare pool, per-isolate / bare): what the engine itself costs.
    pub twin_ratio: Option<f64>,
    /// Engine call latency (timed calls).
    pub latency: Option<Percentiles>,
    /// Pool: how long ready isolates waited for a thread, per slice.
    pub queue_wait: Option<Percentiles>,
    /// Pool: slices (isolate switches) per second, all threads.
    pub switches_per_s: Option<f64>,
    /// Pool: share of slices that ran on another thread than the last.
    pub migrated: Option<f64>,
    /// Pool: share of the executor threads' time spent running slices.
    pub threads_busy: Option<f64>,
    /// CPU time of the process in the measured windows, in cores.
    pub cpu_cores: f64,
    /// Invocations per second of the process's CPU time: what a core
    /// buys, whatever share of the machine the neighbours left.
    pub per_cpu_s: f64,
    /// `per_cpu_s` / bare's, over all rounds and per round: the ratio
    /// with the CPU each side got taken out (1 for bare itself).
    pub cpu_ratio: f64,
    pub round_cpu_ratios: Vec<f64>,
    /// Slowest round's start (every isolate made) and stop, seconds.
    pub start_s: f64,
    pub stop_s: f64,
    /// This side's rate / its rate at the smallest N of a comparison.
    pub vs_smallest: Option<f64>,
}

impl Row {
    pub fn of(t: &Totals, bare: Option<&Totals>) -> Row {
        let per_s = t.per_s();
        let per_cpu_s = rate(t.calls, t.cpu_ns as f64 / 1e9);
        let divide = |x: &[f64], y: &[f64]| -> Vec<f64> {
            x.iter()
                .zip(y)
                .map(|(x, y)| x / y.max(f64::MIN_POSITIVE))
                .collect()
        };
        let (ratio, round_ratios, cpu_ratio, round_cpu_ratios) = match bare {
            Some(b) => (
                per_s / b.per_s().max(f64::MIN_POSITIVE),
                divide(&t.round_rates, &b.round_rates),
                per_cpu_s / rate(b.calls, b.cpu_ns as f64 / 1e9).max(f64::MIN_POSITIVE),
                divide(&t.round_cpu_rates, &b.round_cpu_rates),
            ),
            None => {
                let ones = vec![1.0; t.round_rates.len()];
                (1.0, ones.clone(), 1.0, ones)
            }
        };
        let secs = t.secs.max(f64::MIN_POSITIVE);
        let sched = t.sched.as_ref();
        let slowest = |v: &[Duration]| v.iter().max().copied().unwrap_or_default().as_secs_f64();
        Row {
            isolates: t.isolates,
            model: t.side.model(),
            threads: t.side.threads(t.isolates),
            per_s,
            ratio,
            round_ratios,
            twin_ratio: None,
            latency: t.latency.as_ref().map(Percentiles::of),
            queue_wait: sched.map(|s| Percentiles::of(&s.queue_wait)),
            switches_per_s: sched.map(|s| s.slices as f64 / secs),
            migrated: sched.map(|s| s.migrations as f64 / (s.slices.max(1)) as f64),
            threads_busy: sched.map(|s| s.busy_ns as f64 / 1e9 / (secs * s.threads.max(1) as f64)),
            cpu_cores: t.cpu_ns as f64 / 1e9 / secs,
            per_cpu_s,
            cpu_ratio,
            round_cpu_ratios,
            start_s: slowest(&t.starts),
            stop_s: slowest(&t.stops),
            vs_smallest: None,
        }
    }

    /// "0.93 (0.88–0.97)": over all rounds (lowest–highest round).
    pub fn ratio_text(&self) -> String {
        ratio_text(self.ratio, &self.round_ratios)
    }

    /// The same for the ratio per CPU-second.
    pub fn cpu_ratio_text(&self) -> String {
        ratio_text(self.cpu_ratio, &self.round_cpu_ratios)
    }
}

/// "0.93 (0.88–0.97)": over all rounds (lowest–highest round).
pub fn ratio_text(ratio: f64, rounds: &[f64]) -> String {
    let lo = rounds.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = rounds.iter().copied().fold(0.0, f64::max);
    if rounds.len() < 2 {
        format!("{ratio:.2}")
    } else {
        format!("{ratio:.2} ({lo:.2}–{hi:.2})")
    }
}

pub fn rate(n: u64, secs: f64) -> f64 {
    n as f64 / secs.max(f64::MIN_POSITIVE)
}
