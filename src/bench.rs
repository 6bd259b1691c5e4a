//! `isolate-play bench`: sustained load through the engine, then the same
//! work done by a bare loop over the `v8` crate with none of the engine
//! around it, in the same command, and the ratio of the two.
//!
//! The baseline runs the *same JavaScript* (plain scripts get the same block
//! wrapper, handlers the same event) with the same heap limit, per mode:
//! - warm: one isolate and context per thread, compiled once, then
//!   run + microtask checkpoint per invocation;
//! - context: a new context per invocation, compile, run, checkpoint;
//! - cold: a new isolate per invocation, context, compile, run, checkpoint,
//!   dispose.
//!
//! What the baseline skips is exactly what the engine adds: console, the
//! heap-limit callback, the watchdog, timing, histograms, counters, sampled
//! result reports and the mailbox check.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::cli::BenchArgs;
use crate::engine::{Engine, EngineConfig, Mode, ScriptKind, Source, platform, script};
use crate::metrics::{Percentiles, fmt_bytes, fmt_duration, fmt_rate};

const WARMUP: Duration = Duration::from_millis(500);

#[derive(Clone, Debug, Serialize)]
pub struct Throughput {
    pub mode: Mode,
    pub isolates: usize,
    pub engine_per_s: f64,
    pub baseline_per_s: f64,
    /// engine / baseline over all rounds.
    pub ratio: f64,
    /// Each round's engine / baseline: their spread is the noise of the
    /// machine, which a single number would hide.
    pub round_ratios: Vec<f64>,
    /// Engine latency over the measured windows.
    pub latency: Percentiles,
}

impl Throughput {
    /// "0.93 (0.88–0.97)": over all rounds (lowest–highest round).
    pub fn ratio_text(&self) -> String {
        let lo = self
            .round_ratios
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let hi = self.round_ratios.iter().copied().fold(0.0, f64::max);
        if self.round_ratios.len() < 2 {
            format!("{:.2}", self.ratio)
        } else {
            format!("{:.2} ({lo:.2}–{hi:.2})", self.ratio)
        }
    }
}

#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct MemoryProbe {
    pub isolates: usize,
    /// RSS growth per live idle isolate, bytes.
    pub rss_per_isolate: u64,
    /// V8 heap used per isolate, bytes (engine only).
    pub heap_used_per_isolate: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Memory {
    pub isolates: usize,
    pub engine: MemoryProbe,
    pub baseline: MemoryProbe,
    pub ratio: f64,
}

/// Invocations and seconds through the engine under continuous load, and
/// the latency histogram.
pub fn engine_throughput(
    source: &Source,
    config: EngineConfig,
    duration: Duration,
) -> (u64, f64, Histogram<u64>) {
    let mut engine = Engine::new(config);
    engine.set_source(source.clone());
    engine.wait_ready(Duration::from_secs(120));
    engine.set_load(true);
    std::thread::sleep(WARMUP);
    let _ = engine.telemetry().drain();
    let n0 = engine.total_invocations();
    let t0 = std::time::Instant::now();
    std::thread::sleep(duration);
    let n1 = engine.total_invocations();
    let secs = t0.elapsed().as_secs_f64();
    engine.set_load(false);
    // Workers publish histograms every 50 ms; wait for the last one.
    std::thread::sleep(Duration::from_millis(120));
    let (latency, _) = engine.telemetry().drain();
    (n1 - n0, secs, latency)
}

/// Invocations and seconds of the bare loop on `isolates` threads.
pub fn baseline_throughput(
    source: &Source,
    isolates: usize,
    mode: Mode,
    heap_bytes: usize,
    payload: &str,
    duration: Duration,
) -> (u64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let counts: Vec<Arc<Count>> = (0..isolates).map(|_| Arc::default()).collect();
    let threads: Vec<_> = counts
        .iter()
        .enumerate()
        .map(|(i, count)| {
            let (stop, count) = (stop.clone(), count.clone());
            let (src, payload) = (source.clone(), payload.to_string());
            platform::spawn(format!("bare-{i}"), 4 << 20, move || {
                bare_loop(&src, i, mode, heap_bytes, &payload, &stop, &count.0)
            })
        })
        .collect();
    std::thread::sleep(WARMUP);
    let sum = || counts.iter().map(|c| c.0.load(Relaxed)).sum::<u64>();
    let n0 = sum();
    let t0 = std::time::Instant::now();
    std::thread::sleep(duration);
    let n1 = sum();
    let secs = t0.elapsed().as_secs_f64();
    stop.store(true, Relaxed);
    for t in threads {
        let _ = t.join();
    }
    (n1 - n0, secs)
}

/// A thread's counter on its own cache lines, so that bare threads do not
/// slow each other down by false sharing (the engine's workers don't).
#[derive(Default)]
#[repr(align(128))]
struct Count(AtomicU64);

fn params(heap_bytes: usize) -> v8::CreateParams {
    v8::CreateParams::default().heap_limits(0, heap_bytes)
}

enum Bare<'s> {
    Script(v8::Local<'s, v8::Script>),
    Handler(v8::Local<'s, v8::Function>),
}

fn no_imports<'s>(
    _c: v8::Local<'s, v8::Context>,
    _s: v8::Local<'s, v8::String>,
    _a: v8::Local<'s, v8::FixedArray>,
    _r: v8::Local<'s, v8::Module>,
) -> Option<v8::Local<'s, v8::Module>> {
    None
}

fn bare_compile<'s>(scope: &mut v8::PinScope<'s, '_>, src: &Source) -> Option<Bare<'s>> {
    match src.kind {
        ScriptKind::Script => {
            let code = v8::String::new(scope, &script::wrapped(&src.code))?;
            v8::Script::compile(scope, code, None).map(Bare::Script)
        }
        ScriptKind::Handler => {
            let code = v8::String::new(scope, &src.code)?;
            let name = v8::String::new(scope, &src.name)?;
            let origin = v8::ScriptOrigin::new(
                scope,
                name.into(),
                0,
                0,
                false,
                0,
                None,
                false,
                false,
                true,
                None,
            );
            let mut source = v8::script_compiler::Source::new(code, Some(&origin));
            let module = v8::script_compiler::compile_module(scope, &mut source)?;
            module.instantiate_module(scope, no_imports)?;
            module.evaluate(scope)?;
            scope.perform_microtask_checkpoint();
            let ns = module.get_module_namespace().to_object(scope)?;
            let key = v8::String::new(scope, "default")?;
            let f = ns.get(scope, key.into())?;
            f.is_function().then(|| Bare::Handler(f.cast()))
        }
    }
}

fn bare_call(scope: &mut v8::PinScope, entry: &Bare, isolate: usize, n: u64, payload: &str) {
    let r = match entry {
        Bare::Script(s) => s.run(scope),
        Bare::Handler(f) => {
            let event = format!(r#"{{"isolate":{isolate},"invocation":{n},"payload":{payload}}}"#);
            let event = v8::String::new(scope, &event).unwrap();
            let event = v8::json::parse(scope, event).unwrap();
            let recv = v8::undefined(scope).into();
            f.call(scope, recv, &[event])
        }
    };
    scope.perform_microtask_checkpoint();
    std::hint::black_box(r);
}

fn bare_loop(
    src: &Source,
    id: usize,
    mode: Mode,
    heap_bytes: usize,
    payload: &str,
    stop: &AtomicBool,
    count: &AtomicU64,
) {
    let mut n = 0u64;
    match mode {
        Mode::Warm => {
            let isolate = &mut v8::Isolate::new(params(heap_bytes));
            isolate.set_microtasks_policy(v8::MicrotasksPolicy::Explicit);
            v8::scope!(let hs, isolate);
            let context = v8::Context::new(hs, Default::default());
            let scope = &mut v8::ContextScope::new(hs, context);
            let Some(entry) = bare_compile(scope, src) else {
                return;
            };
            while !stop.load(Relaxed) {
                n += 1;
                v8::scope!(let s, scope);
                bare_call(s, &entry, id, n, payload);
                count.store(n, Relaxed);
            }
        }
        Mode::Context => {
            let isolate = &mut v8::Isolate::new(params(heap_bytes));
            isolate.set_microtasks_policy(v8::MicrotasksPolicy::Explicit);
            v8::scope!(let hs, isolate);
            while !stop.load(Relaxed) {
                n += 1;
                v8::scope!(let s, hs);
                let context = v8::Context::new(s, Default::default());
                let scope = &mut v8::ContextScope::new(s, context);
                if let Some(entry) = bare_compile(scope, src) {
                    bare_call(scope, &entry, id, n, payload);
                }
                count.store(n, Relaxed);
            }
        }
        Mode::Cold => {
            while !stop.load(Relaxed) {
                n += 1;
                let isolate = &mut v8::Isolate::new(params(heap_bytes));
                isolate.set_microtasks_policy(v8::MicrotasksPolicy::Explicit);
                v8::scope!(let s, isolate);
                let context = v8::Context::new(s, Default::default());
                let scope = &mut v8::ContextScope::new(s, context);
                if let Some(entry) = bare_compile(scope, src) {
                    bare_call(scope, &entry, id, n, payload);
                }
                count.store(n, Relaxed);
            }
        }
    }
}

/// In this (fresh) process: RSS growth and heap per live idle isolate.
pub fn memory_probe(isolates: usize, bare: bool, heap_bytes: usize) -> MemoryProbe {
    let settle = || std::thread::sleep(Duration::from_millis(300));
    let rss0 = crate::system::rss_now();
    if bare {
        let (ready_tx, ready_rx) = crossbeam_channel::unbounded();
        let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
        let threads: Vec<_> = (0..isolates)
            .map(|i| {
                let (ready_tx, stop_rx) = (ready_tx.clone(), stop_rx.clone());
                platform::spawn(format!("bare-{i}"), 4 << 20, move || {
                    let isolate = &mut v8::Isolate::new(params(heap_bytes));
                    {
                        v8::scope!(let hs, isolate);
                        let _context = v8::Context::new(hs, Default::default());
                    }
                    let _ = ready_tx.send(());
                    let _ = stop_rx.recv();
                })
            })
            .collect();
        for _ in 0..isolates {
            let _ = ready_rx.recv();
        }
        settle();
        let rss1 = crate::system::rss_now();
        drop(stop_tx);
        for t in threads {
            let _ = t.join();
        }
        MemoryProbe {
            isolates,
            rss_per_isolate: rss1.saturating_sub(rss0) / isolates as u64,
            heap_used_per_isolate: 0,
        }
    } else {
        let config = EngineConfig {
            isolates,
            limits: crate::engine::Limits {
                heap_bytes,
                ..Default::default()
            },
            ..Default::default()
        };
        let engine = Engine::new(config);
        engine.wait_ready(Duration::from_secs(300));
        settle();
        let rss1 = crate::system::rss_now();
        let heap: u64 = engine.snapshots().iter().map(|s| s.heap_used).sum();
        MemoryProbe {
            isolates,
            rss_per_isolate: rss1.saturating_sub(rss0) / isolates as u64,
            heap_used_per_isolate: heap / isolates as u64,
        }
    }
}

/// Runs `memory_probe` in a child process so that each figure starts from a
/// fresh heap (an allocator keeps freed memory, which would hide growth).
fn memory_in_child(isolates: usize, bare: bool, heap_bytes: usize) -> anyhow::Result<MemoryProbe> {
    let exe = std::env::current_exe()?;
    let out = std::process::Command::new(exe)
        .env(
            "ISOLATE_PLAY_MEMORY_PROBE",
            format!("{isolates},{bare},{heap_bytes}"),
        )
        .output()?;
    if !out.status.success() {
        anyhow::bail!(
            "memory probe failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Entry point for the child process of `memory_in_child`; returns true if
/// this process was one.
pub fn maybe_run_memory_probe() -> bool {
    let Ok(spec) = std::env::var("ISOLATE_PLAY_MEMORY_PROBE") else {
        return false;
    };
    let mut it = spec.split(',');
    let n = it.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let bare = it.next() == Some("true");
    let heap = it.next().and_then(|s| s.parse().ok()).unwrap_or(64 << 20);
    let probe = memory_probe(n, bare, heap);
    println!("{}", serde_json::to_string(&probe).expect("serializable"));
    true
}

pub fn memory(isolates: usize, heap_bytes: usize) -> anyhow::Result<Memory> {
    let engine = memory_in_child(isolates, false, heap_bytes)?;
    let baseline = memory_in_child(isolates, true, heap_bytes)?;
    Ok(Memory {
        isolates,
        ratio: engine.rss_per_isolate as f64 / baseline.rss_per_isolate.max(1) as f64,
        engine,
        baseline,
    })
}

/// Engine and baseline, `rounds` times each, alternating which goes first,
/// `duration` of measured load per side in all. Neighbours on a shared VM
/// come and go; alternating short rounds spreads them over both sides.
pub fn throughput(
    source: &Source,
    config: &EngineConfig,
    duration: Duration,
    rounds: u32,
) -> Throughput {
    let rounds = rounds.max(1);
    let slice = duration / rounds;
    let mut latency = crate::engine::new_histogram();
    let (mut engine_n, mut engine_s, mut base_n, mut base_s) = (0u64, 0.0, 0u64, 0.0);
    let mut round_ratios = Vec::new();
    for round in 0..rounds {
        let engine = || engine_throughput(source, config.clone(), slice);
        let baseline = || {
            baseline_throughput(
                source,
                config.isolates,
                config.mode,
                config.limits.heap_bytes,
                &config.payload,
                slice,
            )
        };
        let ((en, es, h), (bn, bs)) = if round % 2 == 0 {
            let e = engine();
            (e, baseline())
        } else {
            let b = baseline();
            (engine(), b)
        };
        latency.add(&h).ok();
        round_ratios.push(rate(en, es) / rate(bn, bs).max(f64::MIN_POSITIVE));
        (engine_n, engine_s, base_n, base_s) =
            (engine_n + en, engine_s + es, base_n + bn, base_s + bs);
    }
    let (engine_per_s, baseline_per_s) = (rate(engine_n, engine_s), rate(base_n, base_s));
    Throughput {
        mode: config.mode,
        isolates: config.isolates,
        engine_per_s,
        baseline_per_s,
        ratio: engine_per_s / baseline_per_s.max(f64::MIN_POSITIVE),
        round_ratios,
        latency: Percentiles::of(&latency),
    }
}

fn rate(n: u64, secs: f64) -> f64 {
    n as f64 / secs.max(f64::MIN_POSITIVE)
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

pub fn main(source: Source, config: EngineConfig, args: &BenchArgs) -> anyhow::Result<ExitCode> {
    if !(args.duration > 0.0 && args.duration <= 3600.0) {
        anyhow::bail!("--duration must be between 0 and 3600 seconds");
    }
    let duration = Duration::from_secs_f64(args.duration);
    let machine = machine();
    if !args.sweep {
        let t = throughput(&source, &config, duration, args.rounds);
        if args.json {
            println!(
                "{}",
                serde_json::json!({ "file": source.name, "machine": machine, "throughput": t })
            );
        } else {
            println!(
                "bench {} · {} mode · {} isolate(s) · {:.1} s measured per side in {} round(s), each after {} ms warm-up\nmachine: {machine}",
                source.name,
                t.mode,
                t.isolates,
                args.duration,
                args.rounds,
                WARMUP.as_millis()
            );
            println!(
                "  engine    {:>10}  (latency p50 {}, p99 {})",
                fmt_rate(t.engine_per_s),
                fmt_duration(t.latency.p50),
                fmt_duration(t.latency.p99)
            );
            println!(
                "  baseline  {:>10}  (bare v8 loop, same script, same threads)",
                fmt_rate(t.baseline_per_s)
            );
            println!(
                "  ratio     {:>10}  (engine / baseline; per round {})",
                format!("{:.2}", t.ratio),
                t.round_ratios
                    .iter()
                    .map(|r| format!("{r:.2}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = Vec::new();
    for mode in [Mode::Cold, Mode::Context, Mode::Warm] {
        for n in [1, 2, 4] {
            let c = EngineConfig {
                isolates: n,
                mode,
                ..config.clone()
            };
            let t = throughput(&source, &c, duration, args.rounds);
            if !args.json {
                eprintln!(
                    "  {mode:<7} N={n}: engine {} baseline {} ratio {}",
                    fmt_rate(t.engine_per_s),
                    fmt_rate(t.baseline_per_s),
                    t.ratio_text()
                );
            }
            rows.push(t);
        }
    }
    let mut mem = Vec::new();
    for n in [1, 100, 500] {
        let m = memory(n, config.limits.heap_bytes)?;
        if !args.json {
            eprintln!(
                "  memory N={n}: engine {} /isolate, bare {} /isolate",
                fmt_bytes(m.engine.rss_per_isolate),
                fmt_bytes(m.baseline.rss_per_isolate)
            );
        }
        mem.push(m);
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "file": source.name, "machine": machine, "throughput": rows, "memory": mem })
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Machine: {machine}. Script: `{}`, {:.1} s measured per side per cell, in {} alternating rounds, each after {} ms warm-up. Ratio: all rounds (lowest–highest round).\n",
        source.name,
        args.duration,
        args.rounds,
        WARMUP.as_millis()
    );
    println!(
        "| mode | isolates | engine runs/s | bare v8 runs/s | ratio (rounds) | engine p50 | engine p99 |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for t in &rows {
        println!(
            "| {} | {} | {:.0} | {:.0} | {} | {} | {} |",
            t.mode,
            t.isolates,
            t.engine_per_s,
            t.baseline_per_s,
            t.ratio_text(),
            fmt_duration(t.latency.p50),
            fmt_duration(t.latency.p99)
        );
    }
    println!(
        "\n| live idle isolates | engine RSS / isolate | engine V8 heap used / isolate | bare v8 RSS / isolate | ratio |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for m in &mem {
        println!(
            "| {} | {} | {} | {} | {:.2} |",
            m.isolates,
            fmt_bytes(m.engine.rss_per_isolate),
            fmt_bytes(m.engine.heap_used_per_isolate),
            fmt_bytes(m.baseline.rss_per_isolate),
            m.ratio
        );
    }
    Ok(ExitCode::SUCCESS)
}
