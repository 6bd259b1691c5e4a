//! Memory and density probes, each in a child process of its own so that
//! every figure starts from a fresh heap (an allocator keeps freed memory,
//! which would hide growth): idle isolates of one thread model, and the
//! density probe (many isolates start, run the script once each, stop).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::engine::{Engine, EngineConfig, Limits, Report, Source, Threads};
use crate::system;

use super::bare;

/// Variable that turns this process into a probe (see [`maybe_run_probe`]).
const PROBE_ENV: &str = "ISOLATE_PLAY_MEMORY_PROBE";

/// Who holds the isolates of an idle probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Holder {
    /// The engine with a pool of this many threads.
    Pool(usize),
    /// The engine, a thread per isolate.
    PerIsolate,
    /// Bare v8: a thread per isolate, each with an isolate and a context.
    Bare,
}

impl Holder {
    pub fn of(threads: Threads) -> Holder {
        match threads {
            Threads::Pool(t) => Holder::Pool(t),
            Threads::PerIsolate => Holder::PerIsolate,
        }
    }

    /// "pool (2 threads)", "per-isolate", "bare (thread per isolate)".
    pub fn label(self) -> String {
        match self {
            Holder::Pool(t) => format!("pool ({t} thread{})", if t == 1 { "" } else { "s" }),
            Holder::PerIsolate => "per-isolate (thread per isolate)".into(),
            Holder::Bare => "bare v8 (thread per isolate)".into(),
        }
    }
}

/// What the parent asks a probe child to do.
#[derive(Debug, Serialize, Deserialize)]
enum Probe {
    Idle {
        isolates: usize,
        holder: Holder,
        heap_bytes: usize,
    },
    Density {
        isolates: usize,
        threads: usize,
        heap_bytes: usize,
        file: PathBuf,
    },
}

/// Live idle isolates: RSS growth and V8 heap per isolate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemoryProbe {
    pub isolates: usize,
    pub holder: Holder,
    /// RSS growth per live idle isolate, bytes.
    pub rss_per_isolate: u64,
    /// V8 heap used per isolate, bytes (engine only).
    pub heap_used_per_isolate: u64,
    /// Time to make them all, and to stop them all (s).
    pub start_s: f64,
    pub stop_s: f64,
    /// RSS growth per isolate still there after they all stopped, and
    /// after `malloc_trim` too (what the C allocator kept is not a leak).
    pub kept_per_isolate: u64,
    pub kept_trimmed_per_isolate: u64,
}

/// Engine and bare v8 idle isolates side by side (the sweep's table).
#[derive(Clone, Debug, Serialize)]
pub struct Memory {
    pub isolates: usize,
    pub engine: MemoryProbe,
    pub baseline: MemoryProbe,
    pub ratio: f64,
}

/// The density probe: `isolates` isolates in a pool start, run the script
/// once each, and stop.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Density {
    /// Isolates measured, and asked for: fewer when the kernel's mapping
    /// limit cannot hold them all (`capped` says why).
    pub isolates: usize,
    pub asked: usize,
    pub capped: Option<String>,
    pub threads: usize,
    /// `Engine::new` to every isolate made (`wait_ready`), s.
    pub start_s: f64,
    /// One invocation on every isolate, from the command to the last
    /// `RunDone`, s.
    pub run_s: f64,
    /// Dropping the engine: every isolate disposed, every thread gone, s.
    pub stop_s: f64,
    pub ok: u64,
    pub failed: u64,
    /// A failure's message, if any failed.
    pub first_error: Option<String>,
    /// RSS before the engine, with every isolate made and idle, after the
    /// run, and after the stop (bytes); peak RSS of the process.
    pub rss_before: u64,
    pub rss_started: u64,
    pub rss_after_run: u64,
    pub rss_after_stop: u64,
    /// RSS after the stop once the C allocator gave its free memory back
    /// (`malloc_trim`, glibc only; else as after the stop): what the
    /// allocator kept rather than what is still in use.
    pub rss_after_trim: u64,
    pub peak_rss: u64,
    /// (RSS after the run − before) / isolates.
    pub rss_per_isolate: u64,
    /// (RSS started − before) / isolates: before any script ran.
    pub idle_rss_per_isolate: u64,
    /// V8 heap used per isolate after the run.
    pub heap_used_per_isolate: u64,
    /// Memory mappings of the process (lines of /proc/self/maps) before
    /// the engine and after the run: Linux allows `vm.max_map_count` (65,530
    /// by default) per process, and every isolate takes several (see
    /// `engine::capacity`).
    pub maps_before: usize,
    pub maps_after_run: usize,
}

/// Asks the C allocator to return free memory to the system.
fn trim_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas; it takes no
    // pointers from us and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Memory mappings of this process now (0 where unknown).
fn maps() -> usize {
    crate::engine::capacity::map_count().unwrap_or(0)
}

fn settle() {
    std::thread::sleep(Duration::from_millis(300));
}

fn limits(heap_bytes: usize) -> Limits {
    Limits {
        heap_bytes,
        ..Default::default()
    }
}

/// In this (fresh) process: RSS growth and heap per live idle isolate.
fn idle_probe(isolates: usize, holder: Holder, heap_bytes: usize) -> MemoryProbe {
    let rss0 = system::rss_now();
    let per = |rss1: u64| rss1.saturating_sub(rss0) / isolates as u64;
    let (rss1, heap, start, stop) = match holder {
        Holder::Bare => {
            let (rss1, start, stop) = bare::idle(isolates, heap_bytes, || {
                settle();
                system::rss_now()
            });
            (rss1, 0, start, stop)
        }
        Holder::Pool(_) | Holder::PerIsolate => {
            let t = Instant::now();
            let engine = Engine::new(EngineConfig {
                isolates,
                threads: match holder {
                    Holder::Pool(t) => Threads::Pool(t),
                    _ => Threads::PerIsolate,
                },
                limits: limits(heap_bytes),
                ..Default::default()
            });
            engine.wait_ready(Duration::from_secs(600));
            let start = t.elapsed();
            settle();
            let rss1 = system::rss_now();
            let heap: u64 = engine.snapshots().iter().map(|s| s.heap_used).sum();
            let t = Instant::now();
            drop(engine);
            (rss1, heap, start, t.elapsed())
        }
    };
    settle();
    let after_stop = system::rss_now();
    trim_malloc();
    MemoryProbe {
        isolates,
        holder,
        rss_per_isolate: per(rss1),
        heap_used_per_isolate: heap / isolates as u64,
        start_s: start.as_secs_f64(),
        stop_s: stop.as_secs_f64(),
        kept_per_isolate: per(after_stop),
        kept_trimmed_per_isolate: per(system::rss_now()),
    }
}

/// In this (fresh) process: the density probe.
fn density_probe(
    asked: usize,
    threads: usize,
    heap_bytes: usize,
    file: &std::path::Path,
) -> anyhow::Result<Density> {
    let source = Source::from_file(file)?;
    // Past what the kernel lets this process map, the engine makes the
    // most that fit (see `engine::capacity`): those are measured, and the
    // reason is kept.
    let capped = crate::engine::capacity::check(asked, 0).err();
    let rss_before = system::rss_now();
    let maps_before = maps();
    let t = Instant::now();
    let mut engine = Engine::new(EngineConfig {
        isolates: asked,
        threads: Threads::Pool(threads),
        limits: limits(heap_bytes),
        ..Default::default()
    });
    engine.set_source(source);
    let isolates = engine.isolates();
    if !engine.wait_ready(Duration::from_secs(600)) {
        anyhow::bail!("{isolates} isolates were not all started after 600 s");
    }
    let start = t.elapsed();
    settle();
    let rss_started = system::rss_now();
    let t = Instant::now();
    let batch = engine.run_with(1, false);
    let (mut done, mut failed, mut first_error) = (0, 0u64, None);
    let deadline = Instant::now() + Duration::from_secs(600);
    while done < isolates {
        let left = deadline.saturating_duration_since(Instant::now());
        match engine.reports().recv_timeout(left) {
            Ok(Report::Invocation(inv)) => {
                if let Err(e) = &inv.outcome {
                    failed += 1;
                    first_error.get_or_insert_with(|| e.headline());
                }
            }
            Ok(Report::RunDone { batch: b, .. }) if b == batch => done += 1,
            Ok(_) => {}
            Err(_) => anyhow::bail!("the run did not finish: {done} of {isolates} isolates done"),
        }
    }
    let run = t.elapsed();
    settle();
    let rss_after_run = system::rss_now();
    let maps_after_run = maps();
    let heap: u64 = engine.snapshots().iter().map(|s| s.heap_used).sum();
    let t = Instant::now();
    drop(engine);
    let stop = t.elapsed();
    settle();
    let rss_after_stop = system::rss_now();
    trim_malloc();
    let rss_after_trim = system::rss_now();
    let n = isolates as u64;
    Ok(Density {
        isolates,
        asked,
        capped: (isolates < asked).then(|| capped.unwrap_or_default()),
        threads,
        start_s: start.as_secs_f64(),
        run_s: run.as_secs_f64(),
        stop_s: stop.as_secs_f64(),
        ok: n - failed,
        failed,
        first_error,
        rss_before,
        rss_started,
        rss_after_run,
        rss_after_stop,
        rss_after_trim,
        peak_rss: system::peak_rss(),
        rss_per_isolate: rss_after_run.saturating_sub(rss_before) / n,
        idle_rss_per_isolate: rss_started.saturating_sub(rss_before) / n,
        heap_used_per_isolate: heap / n,
        maps_before,
        maps_after_run,
    })
}

/// Runs `probe` in a child process (this same executable) and reads its
/// answer.
fn in_child<T: serde::de::DeserializeOwned>(probe: &Probe) -> anyhow::Result<T> {
    let exe = std::env::current_exe()?;
    let out = std::process::Command::new(exe)
        .env(PROBE_ENV, serde_json::to_string(probe)?)
        .stdin(std::process::Stdio::null())
        .output()?;
    if !out.status.success() {
        anyhow::bail!(
            "memory probe failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Entry point for a probe child (see `in_child`); returns true if this
/// process was one (it has then printed its answer, or an error on stderr
/// and exited with status 1).
pub fn maybe_run_probe() -> bool {
    let Ok(spec) = std::env::var(PROBE_ENV) else {
        return false;
    };
    let answer = match serde_json::from_str::<Probe>(&spec) {
        Ok(Probe::Idle {
            isolates,
            holder,
            heap_bytes,
        }) => serde_json::to_string(&idle_probe(isolates.max(1), holder, heap_bytes))
            .map_err(anyhow::Error::from),
        Ok(Probe::Density {
            isolates,
            threads,
            heap_bytes,
            file,
        }) => density_probe(isolates.max(1), threads.max(1), heap_bytes, &file)
            .and_then(|d| Ok(serde_json::to_string(&d)?)),
        Err(e) => Err(anyhow::anyhow!("bad {PROBE_ENV}: {e}")),
    };
    match answer {
        Ok(json) => println!("{json}"),
        Err(e) => {
            eprintln!("isolate-play: probe: {e:#}");
            std::process::exit(1);
        }
    }
    true
}

/// Idle isolates of `holder`, measured in a child process.
pub fn idle(isolates: usize, holder: Holder, heap_bytes: usize) -> anyhow::Result<MemoryProbe> {
    in_child(&Probe::Idle {
        isolates,
        holder,
        heap_bytes,
    })
}

/// The engine (with `threads`) against bare v8, idle, at `isolates`.
pub fn memory(isolates: usize, threads: Threads, heap_bytes: usize) -> anyhow::Result<Memory> {
    let engine = idle(isolates, Holder::of(threads), heap_bytes)?;
    let baseline = idle(isolates, Holder::Bare, heap_bytes)?;
    Ok(Memory {
        isolates,
        ratio: engine.rss_per_isolate as f64 / baseline.rss_per_isolate.max(1) as f64,
        engine,
        baseline,
    })
}

/// The density probe, in a child process.
pub fn density(
    isolates: usize,
    threads: usize,
    heap_bytes: usize,
    file: PathBuf,
) -> anyhow::Result<Density> {
    in_child(&Probe::Density {
        isolates,
        threads,
        heap_bytes,
        file,
    })
}
