//! `isolate-play bench`: sustained load through the engine, then the same
//! work done by a bare loop over the `v8` crate with none of the engine
//! around it (see [`bare`]), in the same command, and the ratio of the two.
//!
//! Four things it can do, in one command or several:
//! - one configuration (`-n N -t T -m MODE`): engine against bare, in
//!   alternating rounds;
//! - `--sweep`: every mode at N = 1, 2, 4, and idle memory at N = 1, 100,
//!   500 (the README's first tables);
//! - `--threads-compare`: the thread models side by side, pool against
//!   per-isolate against bare, at N = cores, 2, 100, 500 (`--sizes`);
//! - `--density[=N]`: N isolates (10,000) in a pool start, run the script
//!   once each and stop, in a child process; and idle memory per isolate
//!   at min(N, 1000) for pool, per-isolate and bare.

pub(crate) mod bare;
mod measure;
mod memory;

use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;

use crate::cli::BenchArgs;
use crate::engine::snapshot::SnapshotInfo;
use crate::engine::{EngineConfig, Mode, Source, Threads, platform};
use crate::metrics::{Percentiles, fmt_bytes, fmt_duration, fmt_rate};

pub use measure::{Plan, Row, Side, SideRun};
pub use memory::{Density, Holder, Memory, MemoryProbe, idle};

/// Isolate counts of `--threads-compare` when `--sizes` is not given; 0
/// stands for the machine's cores.
const COMPARE_SIZES: [usize; 4] = [0, 2, 100, 500];
/// Idle isolates of the density probe's thread-model table, at most.
const IDLE_AT: usize = 1000;

/// Engine against bare v8 in one configuration.
#[derive(Clone, Debug, Serialize)]
pub struct Throughput {
    pub mode: Mode,
    pub isolates: usize,
    /// The engine's thread model: a number of pool threads, or "per-isolate".
    pub threads: String,
    pub engine_per_s: f64,
    pub baseline_per_s: f64,
    /// engine / baseline over all rounds.
    pub ratio: f64,
    /// Each round's engine / baseline: their spread is the noise of the
    /// machine, which a single number would hide.
    pub round_ratios: Vec<f64>,
    /// The same per second of the process's CPU time (each side's calls
    /// over the CPU it used): the ratio without the share of the machine
    /// each side happened to get.
    pub cpu_ratio: f64,
    pub round_cpu_ratios: Vec<f64>,
    /// Engine latency over the measured windows.
    pub latency: Percentiles,
    /// Everything measured on each side.
    pub engine: Row,
    pub baseline: Row,
    /// Snapshot mode: one build of the script's blob (the baseline is then
    /// the engine in plain cold mode, not the bare loop).
    pub snapshot: Option<SnapshotInfo>,
}

impl Throughput {
    /// "0.93 (0.88–0.97)": over all rounds (lowest–highest round).
    pub fn ratio_text(&self) -> String {
        measure::ratio_text(self.ratio, &self.round_ratios)
    }
}

/// Engine and baseline, `rounds` times each, alternating which goes first,
/// `duration` of measured load per side in all. Neighbours on a shared VM
/// come and go; alternating short rounds spreads them over both sides.
///
/// Snapshot mode is measured against the engine in plain cold mode (the
/// same isolates, threads and limits; only the snapshot differs), and its
/// blob is built once more on its own for its build time and size.
pub fn throughput(source: &Source, config: &EngineConfig, plan: Plan) -> Throughput {
    let snapshot_mode = config.mode == Mode::Snapshot;
    let baseline = if snapshot_mode {
        Side::PlainCold(config.threads)
    } else {
        Side::Bare
    };
    let snapshot = snapshot_mode.then(|| {
        let mut src = source.clone();
        src.version = 1;
        crate::engine::snapshot::build(&src, &config.limits, config.console).info()
    });
    let sides = [Side::Engine(config.threads), baseline];
    let t = measure::rounds(source, config, &sides, plan, |_, _| {});
    let engine = Row::of(&t[0], Some(&t[1]));
    let baseline = Row::of(&t[1], None);
    Throughput {
        mode: config.mode,
        isolates: config.isolates,
        threads: config.threads.to_string(),
        engine_per_s: engine.per_s,
        baseline_per_s: baseline.per_s,
        ratio: engine.ratio,
        round_ratios: engine.round_ratios.clone(),
        cpu_ratio: engine.cpu_ratio,
        round_cpu_ratios: engine.round_cpu_ratios.clone(),
        latency: engine.latency.unwrap_or_default(),
        engine,
        baseline,
        snapshot,
    }
}

/// The thread models side by side at one N.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub isolates: usize,
    /// Pool, per-isolate, bare.
    pub rows: Vec<Row>,
}

/// `--threads-compare`: pool, per-isolate and bare at each N of `sizes`,
/// rounds rotating the three. `rate of N / rate at the smallest N` is set
/// per model.
pub fn compare(
    source: &Source,
    config: &EngineConfig,
    sizes: &[usize],
    plan: Plan,
    bare_slice: Option<u64>,
    verbose: bool,
) -> Vec<Comparison> {
    let pool = pool_of(config.threads);
    let mut sides = vec![Side::Engine(pool), Side::Engine(Threads::PerIsolate)];
    if config.mode == Mode::Warm {
        sides.push(Side::BarePool(pool.pool_threads(), bare_slice));
    }
    sides.push(Side::Bare);
    let mut out: Vec<Comparison> = Vec::new();
    for &n in sizes {
        let c = EngineConfig {
            isolates: n,
            ..config.clone()
        };
        let t = measure::rounds(source, &c, &sides, plan, |side, r| {
            if verbose {
                eprintln!(
                    "  N={n:<5} {:<11} {:>10}  start {:>8}  stop {:>8}",
                    side.model(),
                    fmt_rate(measure::rate(r.calls, r.secs)),
                    fmt_duration(r.start),
                    fmt_duration(r.stop)
                );
            }
        });
        let bare = t
            .iter()
            .find(|s| s.side == Side::Bare)
            .expect("a bare side");
        let twin = |side: Side| match side {
            Side::Engine(Threads::Pool(_)) => {
                t.iter().find(|s| matches!(s.side, Side::BarePool(..)))
            }
            Side::Engine(Threads::PerIsolate) => Some(bare),
            _ => None,
        };
        let mut rows: Vec<Row> = t
            .iter()
            .map(|s| {
                let mut row = Row::of(s, (s.side != Side::Bare).then_some(bare));
                row.twin_ratio = twin(s.side).map(|b| row.per_s / b.per_s().max(f64::MIN_POSITIVE));
                row
            })
            .collect();
        if let Some(first) = out.first() {
            for (row, base) in rows.iter_mut().zip(&first.rows) {
                row.vs_smallest = Some(row.per_s / base.per_s.max(f64::MIN_POSITIVE));
            }
        } else {
            for row in &mut rows {
                row.vs_smallest = Some(1.0);
            }
        }
        out.push(Comparison { isolates: n, rows });
    }
    out
}

/// The pool of a comparison: the configured one, else one per core.
fn pool_of(threads: Threads) -> Threads {
    match threads {
        Threads::Pool(t) => Threads::Pool(t),
        Threads::PerIsolate => Threads::cores(),
    }
}

trait PoolThreads {
    fn pool_threads(self) -> usize;
}

impl PoolThreads for Threads {
    /// A pool's threads (a per-isolate model has none: cores).
    fn pool_threads(self) -> usize {
        match self {
            Threads::Pool(t) => t,
            Threads::PerIsolate => cores(),
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `--sizes` (0 = cores) or the default, cores resolved, deduplicated,
/// ascending.
pub fn compare_sizes(asked: &[usize]) -> Vec<usize> {
    let asked = if asked.is_empty() {
        &COMPARE_SIZES[..]
    } else {
        asked
    };
    let mut v: Vec<usize> = asked
        .iter()
        .map(|&n| if n == 0 { cores() } else { n })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// CPU time of this process so far (all threads), ns.
pub fn process_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc == 0 {
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    } else {
        0
    }
}

/// Entry point for the child process of a memory or density probe;
/// returns true if this process was one.
pub fn maybe_run_memory_probe() -> bool {
    memory::maybe_run_probe()
}

/// A line naming the machine, for recorded results.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = sysinfo::System::new_with_specifics(
        sysinfo::RefreshKind::nothing().with_memory(sysinfo::MemoryRefreshKind::everything()),
    )
    .map_or(0, |s| s.total_memory());
    format!(
        "{model}, {cpus} CPUs, {} RAM, V8 {}",
        fmt_bytes(mem),
        platform::v8_version()
    )
}

/// "pool of 2 threads", "a thread per isolate".
fn threads_text(t: Threads) -> String {
    match t {
        Threads::Pool(1) => "pool of 1 thread".into(),
        Threads::Pool(n) => format!("pool of {n} threads"),
        Threads::PerIsolate => "a thread per isolate".into(),
    }
}

fn secs(s: f64) -> String {
    fmt_duration(Duration::from_secs_f64(s.max(0.0)))
}

/// "1.17 MiB": per-isolate memory, where a tenth of a MiB is too coarse
/// for a target of 1.0 MiB.
fn mib2(b: u64) -> String {
    format!("{:.2} MiB", b as f64 / (1u64 << 20) as f64)
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map_or_else(|| "—".into(), f)
}

pub fn main(source: Source, config: EngineConfig, args: &BenchArgs) -> anyhow::Result<ExitCode> {
    if !(args.duration > 0.0 && args.duration <= 3600.0) {
        anyhow::bail!("--duration must be between 0 and 3600 seconds");
    }
    if !(args.warmup >= 0.0 && args.warmup <= 3600.0) {
        anyhow::bail!("--warmup must be between 0 and 3600 seconds");
    }
    let plan = Plan {
        duration: Duration::from_secs_f64(args.duration),
        rounds: args.rounds,
        warmup: Duration::from_secs_f64(args.warmup),
    };
    let machine = machine();
    let mut json = serde_json::Map::new();
    json.insert("file".into(), source.name.clone().into());
    json.insert("machine".into(), machine.clone().into());
    let single = !args.sweep && !args.threads_compare && args.density.is_none();
    if !args.json && !single {
        crate::outln!("Machine: {machine}.\n");
    }
    if single {
        let t = throughput(&source, &config, plan);
        if args.json {
            json.insert("throughput".into(), serde_json::to_value(&t)?);
        } else {
            print_single(&source, &t, &config, args, &machine);
        }
    }
    if args.sweep {
        let (rows, mem) = sweep(&source, &config, plan, args)?;
        if args.json {
            json.insert("throughput".into(), serde_json::to_value(&rows)?);
            json.insert("memory".into(), serde_json::to_value(&mem)?);
        } else {
            print_sweep(&source, &config, args, &rows, &mem);
        }
    }
    if args.threads_compare {
        let sizes = compare_sizes(&args.sizes);
        for &n in &sizes {
            crate::engine::capacity::check(n, 0).map_err(anyhow::Error::msg)?;
        }
        let bare_slice = args.bare_slice_ms.map(|ms| (ms * 1e6) as u64);
        let c = compare(&source, &config, &sizes, plan, bare_slice, !args.json);
        if args.json {
            json.insert("threads_compare".into(), serde_json::to_value(&c)?);
        } else {
            print_compare(&source, &config, args, &c);
        }
    }
    if let Some(n) = args.density {
        let n = n as usize;
        let pool = config.threads.pool_threads();
        let heap = config.limits.heap_bytes;
        if !args.json {
            eprintln!("  density: {n} isolates in a pool of {pool} thread(s)…");
        }
        let d = memory::density(n, pool, heap, args.file.clone())?;
        if let (Some(why), false) = (&d.capped, args.json) {
            eprintln!("isolate-play: {why}; measured {}", d.isolates);
        }
        let at = d.isolates.min(IDLE_AT);
        let mut idle = Vec::new();
        for holder in [Holder::Pool(pool), Holder::PerIsolate, Holder::Bare] {
            if !args.json {
                eprintln!("  idle memory: {at} isolates, {}…", holder.label());
            }
            idle.push(memory::idle(at, holder, heap)?);
        }
        if args.json {
            json.insert("density".into(), serde_json::to_value(&d)?);
            json.insert("idle".into(), serde_json::to_value(&idle)?);
        } else {
            print_density(&source, &d, &idle);
        }
    }
    if args.json {
        crate::outln!("{}", serde_json::Value::Object(json));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_single(
    source: &Source,
    t: &Throughput,
    config: &EngineConfig,
    args: &BenchArgs,
    machine: &str,
) {
    crate::outln!(
        "bench {} · {} mode · {} isolate(s) · {} · {:.1} s measured per side in {} round(s), each after {} ms warm-up\nmachine: {machine}",
        source.name,
        t.mode,
        t.isolates,
        threads_text(config.threads),
        args.duration,
        args.rounds,
        (args.warmup * 1e3).round()
    );
    let (e, b) = (&t.engine, &t.baseline);
    crate::outln!(
        "  engine    {:>10}  (latency p50 {}, p99 {}; started in {}, stopped in {}; CPU {:.2} cores, {} calls/CPU-s)",
        fmt_rate(t.engine_per_s),
        fmt_duration(t.latency.p50),
        fmt_duration(t.latency.p99),
        secs(e.start_s),
        secs(e.stop_s),
        e.cpu_cores,
        fmt_rate(e.per_cpu_s).trim_end_matches("/s"),
    );
    if let (Some(wait), Some(sw), Some(mig), Some(busy)) =
        (e.queue_wait, e.switches_per_s, e.migrated, e.threads_busy)
    {
        crate::outln!(
            "  pool                  (queue wait p50 {}, p99 {}; {:.0} switches/s, {} migrated; threads {} busy)",
            fmt_duration(wait.p50),
            fmt_duration(wait.p99),
            sw,
            pct(mig),
            pct(busy)
        );
    }
    if let Some(snap) = &t.snapshot {
        crate::outln!(
            "  baseline  {:>10}  (the engine in plain cold mode, same script, isolates and threads; latency p50 {}, p99 {}; CPU {:.2} cores, {} calls/CPU-s)",
            fmt_rate(t.baseline_per_s),
            opt(b.latency, |l| fmt_duration(l.p50)),
            opt(b.latency, |l| fmt_duration(l.p99)),
            b.cpu_cores,
            fmt_rate(b.per_cpu_s).trim_end_matches("/s"),
        );
        crate::outln!(
            "  snapshot  {:>10}  (one build in a child process: start, top level, serialize; blob {})",
            secs(snap.build_s),
            opt(snap.blob_bytes, |b| fmt_bytes(b as u64)),
        );
        if let Some(why) = &snap.failure {
            crate::outln!("            not built: {why}; snapshot mode ran plain cold isolates");
        }
    } else {
        crate::outln!(
            "  baseline  {:>10}  (bare v8 loop, same script, a thread per isolate: {} thread(s); started in {}, stopped in {}; CPU {:.2} cores, {} calls/CPU-s)",
            fmt_rate(t.baseline_per_s),
            b.threads,
            secs(b.start_s),
            secs(b.stop_s),
            b.cpu_cores,
            fmt_rate(b.per_cpu_s).trim_end_matches("/s"),
        );
    }
    crate::outln!(
        "  ratio     {:>10}  ({}; per round {})",
        format!("{:.2}", t.ratio),
        if t.snapshot.is_some() {
            "snapshot / plain cold: the snapshot's speed-up"
        } else {
            "engine / baseline"
        },
        t.round_ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    crate::outln!(
        "  per CPU   {:>10}  (engine / baseline in calls per CPU-second; per round {})",
        format!("{:.2}", t.cpu_ratio),
        t.round_cpu_ratios
            .iter()
            .map(|r| format!("{r:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn sweep(
    source: &Source,
    config: &EngineConfig,
    plan: Plan,
    args: &BenchArgs,
) -> anyhow::Result<(Vec<Throughput>, Vec<Memory>)> {
    let mut rows = Vec::new();
    for mode in [Mode::Cold, Mode::Context, Mode::Warm] {
        for n in [1, 2, 4] {
            let c = EngineConfig {
                isolates: n,
                mode,
                ..config.clone()
            };
            let t = throughput(source, &c, plan);
            if !args.json {
                eprintln!(
                    "  {mode:<7} N={n}: engine {} baseline {} ratio {}, per CPU-s {}",
                    fmt_rate(t.engine_per_s),
                    fmt_rate(t.baseline_per_s),
                    t.ratio_text(),
                    t.engine.cpu_ratio_text()
                );
            }
            rows.push(t);
        }
    }
    let mut mem = Vec::new();
    for n in [1, 100, 500] {
        let m = memory::memory(n, config.threads, config.limits.heap_bytes)?;
        if !args.json {
            eprintln!(
                "  memory N={n}: engine {} /isolate, bare {} /isolate",
                fmt_bytes(m.engine.rss_per_isolate),
                fmt_bytes(m.baseline.rss_per_isolate)
            );
        }
        mem.push(m);
    }
    Ok((rows, mem))
}

fn print_sweep(
    source: &Source,
    config: &EngineConfig,
    args: &BenchArgs,
    rows: &[Throughput],
    mem: &[Memory],
) {
    crate::outln!(
        "Script: `{}`, engine on a {}, bare v8 on a thread per isolate; {:.1} s measured per side per cell, in {} alternating rounds, each after {} ms warm-up. Ratio: all rounds (lowest–highest round); per CPU-s: each side's calls per second of the process's CPU time.\n",
        source.name,
        threads_text(config.threads),
        args.duration,
        args.rounds,
        (args.warmup * 1e3).round()
    );
    crate::outln!(
        "| mode | isolates | engine runs/s | bare v8 runs/s | ratio (rounds) | ratio per CPU-s (rounds) | engine p50 | engine p99 |"
    );
    crate::outln!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for t in rows {
        crate::outln!(
            "| {} | {} | {:.0} | {:.0} | {} | {} | {} | {} |",
            t.mode,
            t.isolates,
            t.engine_per_s,
            t.baseline_per_s,
            t.ratio_text(),
            t.engine.cpu_ratio_text(),
            fmt_duration(t.latency.p50),
            fmt_duration(t.latency.p99)
        );
    }
    crate::outln!(
        "\n| live idle isolates | engine RSS / isolate | engine V8 heap used / isolate | bare v8 RSS / isolate | ratio |"
    );
    crate::outln!("|---:|---:|---:|---:|---:|");
    for m in mem {
        crate::outln!(
            "| {} | {} | {} | {} | {:.2} |",
            m.isolates,
            fmt_bytes(m.engine.rss_per_isolate),
            fmt_bytes(m.engine.heap_used_per_isolate),
            fmt_bytes(m.baseline.rss_per_isolate),
            m.ratio
        );
    }
    crate::outln!();
}

fn print_compare(source: &Source, config: &EngineConfig, args: &BenchArgs, c: &[Comparison]) {
    let smallest = c.first().map_or(0, |c| c.isolates);
    crate::outln!(
        "Thread models, `{}`, {} mode: {:.1} s measured per model per N, in {} rounds rotating the models, each after {} ms warm-up. \
         bare: the bare v8 loop on a thread per isolate (N threads, each its own isolate in a tight loop); \
         bare pool (warm mode only): the bare loop on the pool's threads, taking isolates off one queue and locking each for {}. \
         Ratio: to bare over all rounds (lowest–highest round); engine / bare twin: pool / bare pool, per-isolate / bare; × N={smallest}: this model's rate / its rate at N = {smallest}; \
         start: new engine to every isolate made, stop: drop under load (slowest round); \
         CPU: the process's CPU time in the window, in cores; calls/CPU-s: calls per second of that CPU time (what a core buys, whatever the neighbours left) and, in brackets, its ratio to bare.\n",
        source.name,
        config.mode,
        args.duration,
        args.rounds,
        (args.warmup * 1e3).round(),
        match args.bare_slice_ms {
            Some(ms) => format!("{ms} ms slices (--bare-slice-ms)"),
            None => "a slice as long as the engine's".into(),
        }
    );
    crate::outln!(
        "| isolates | model | threads | calls/s | ratio to bare (rounds) | engine / bare twin | × N={smallest} | call p99 | queue wait p99 | switches/s (migrated) | threads busy | CPU | calls/CPU-s | start | stop |"
    );
    crate::outln!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for cmp in c {
        for r in &cmp.rows {
            crate::outln!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {} | {} | {} |",
                r.isolates,
                r.model,
                r.threads,
                fmt_rate(r.per_s),
                if r.model == "bare" {
                    "1".into()
                } else {
                    r.ratio_text()
                },
                opt(r.twin_ratio, |x| format!("{x:.2}")),
                opt(r.vs_smallest, |x| format!("{x:.2}")),
                opt(r.latency, |l| fmt_duration(l.p99)),
                opt(r.queue_wait, |w| fmt_duration(w.p99)),
                match (r.switches_per_s, r.migrated) {
                    (Some(s), Some(m)) => format!("{s:.0} ({})", pct(m)),
                    _ => "—".into(),
                },
                opt(r.threads_busy, pct),
                r.cpu_cores,
                if r.model == "bare" {
                    fmt_rate(r.per_cpu_s).trim_end_matches("/s").to_string()
                } else {
                    format!(
                        "{} ({:.2})",
                        fmt_rate(r.per_cpu_s).trim_end_matches("/s"),
                        r.cpu_ratio
                    )
                },
                secs(r.start_s),
                secs(r.stop_s),
            );
        }
    }
    crate::outln!();
}

fn print_density(source: &Source, d: &Density, idle: &[MemoryProbe]) {
    crate::outln!(
        "Density, `{}`: {} isolates in a pool of {} thread(s) start (new engine to every isolate made), run the script once each (warm), and stop (drop), in a fresh process. RSS per isolate: (RSS − RSS before) / isolates; trimmed: after the stop and `malloc_trim`.\n",
        source.name,
        d.isolates,
        d.threads
    );
    crate::outln!(
        "| isolates | start | run once each | stop | ok / failed | RSS before | RSS started | RSS after run | RSS after stop (trimmed) | peak RSS | RSS / isolate started | RSS / isolate after run | V8 heap used / isolate |"
    );
    crate::outln!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    crate::outln!(
        "| {} | {} | {} | {} | {} / {} | {} | {} | {} | {} ({}) | {} | {} | {} | {} |",
        d.isolates,
        secs(d.start_s),
        secs(d.run_s),
        secs(d.stop_s),
        d.ok,
        d.failed,
        fmt_bytes(d.rss_before),
        fmt_bytes(d.rss_started),
        fmt_bytes(d.rss_after_run),
        fmt_bytes(d.rss_after_stop),
        fmt_bytes(d.rss_after_trim),
        fmt_bytes(d.peak_rss),
        mib2(d.idle_rss_per_isolate),
        mib2(d.rss_per_isolate),
        fmt_bytes(d.heap_used_per_isolate),
    );
    if let Some(e) = &d.first_error {
        crate::outln!("\nfirst failure: {e}");
    }
    if let Some(why) = &d.capped {
        crate::outln!("\n{} isolates were asked for: {why}.", d.asked);
    }
    crate::outln!(
        "\nIdle isolates (each with a context, nothing run), each thread model in a fresh process:\n"
    );
    crate::outln!(
        "| idle isolates | model | RSS / isolate | V8 heap used / isolate | start | stop | RSS / isolate kept after stop (trimmed) |"
    );
    crate::outln!("|---:|---|---:|---:|---:|---:|---:|");
    for m in idle {
        crate::outln!(
            "| {} | {} | {} | {} | {} | {} | {} ({}) |",
            m.isolates,
            m.holder.label(),
            mib2(m.rss_per_isolate),
            if m.holder == Holder::Bare {
                "—".into()
            } else {
                fmt_bytes(m.heap_used_per_isolate)
            },
            secs(m.start_s),
            secs(m.stop_s),
            fmt_bytes(m.kept_per_isolate),
            fmt_bytes(m.kept_trimmed_per_isolate),
        );
    }
    crate::outln!();
}
