//! Command-line interface: the playground (no subcommand), `run`, `bench`
//! and `compare`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, CPU_MS, Config, EXTERNAL_MB, HEAP_MB, ISOLATES, TIMEOUT_MS};
use crate::engine::{EngineConfig, Mode};

#[derive(Debug, Parser)]
#[command(
    name = "isolate-play",
    version,
    about = "A terminal playground for V8 isolates: one script, many sandboxes, live numbers.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Directory of .js/.mjs files, or one file, to open in the playground
    /// [default: ./samples if it exists, else .]
    pub path: Option<PathBuf>,

    #[command(flatten)]
    pub engine: EngineFlags,

    /// Config file [default: <config dir>/isolate-play/config.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Print the default config file and exit
    #[arg(long)]
    pub print_config: bool,

    /// Append a plain-text log (timestamps, level, target, fields) to FILE
    /// [default: $ISOLATE_PLAY_LOG if set, else no log]
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<PathBuf>,
}

impl Cli {
    /// The log file: `--log`, else a non-empty `ISOLATE_PLAY_LOG`.
    pub fn log_path(&self) -> Option<PathBuf> {
        self.log.clone().or_else(|| {
            std::env::var_os("ISOLATE_PLAY_LOG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run FILE M times on each of N isolates and print the results
    Run(RunArgs),
    /// Sustained load on FILE, side by side with a bare-V8 baseline
    Bench(BenchArgs),
    /// FILE per call under every sandbox: warm, context, cold isolate, a process, a process in namespaces, node/deno/qjs, a VM for reference
    Compare(CompareArgs),
}

/// Engine flags shared by the playground, `run` and `bench`.
#[derive(Clone, Debug, Default, Args)]
pub struct EngineFlags {
    /// Number of isolates [default: 4]
    #[arg(short = 'n', long, value_parser = |s: &str| in_range::<u32>(ISOLATES, s))]
    pub isolates: Option<u32>,
    /// Executor threads: a number, "cores", or "per-isolate" (a thread per isolate, the seed's model) [default: cores]
    #[arg(short = 't', long, value_name = "T", value_parser = config::parse_threads)]
    pub threads: Option<crate::engine::Threads>,
    /// warm: kept context; context: fresh context per run; cold: fresh isolate per run; snapshot: fresh isolate per run from a startup snapshot of the top level [default: warm]
    #[arg(short, long, value_enum)]
    pub mode: Option<Mode>,
    #[command(flatten)]
    pub limits: LimitFlags,
}

/// The limits and the payload: shared by the playground, `run`, `bench`
/// and `compare`.
#[derive(Clone, Debug, Default, Args)]
pub struct LimitFlags {
    /// Heap limit per isolate in MiB (compare gives node and deno the same) [default: 64]
    #[arg(long, value_name = "MIB", value_parser = |s: &str| in_range::<u32>(HEAP_MB, s))]
    pub heap_mb: Option<u32>,
    /// Budget per isolate for ArrayBuffer memory (outside the V8 heap) in MiB [default: 64]
    #[arg(long, value_name = "MIB", value_parser = |s: &str| in_range::<u32>(EXTERNAL_MB, s))]
    pub external_mb: Option<u32>,
    /// Wall-clock limit per invocation in ms (compare kills a child process 3 s after it) [default: 1000]
    #[arg(long, value_name = "MS", value_parser = |s: &str| in_range::<u64>(TIMEOUT_MS, s))]
    pub timeout_ms: Option<u64>,
    /// CPU-time limit per invocation in ms, on the executing thread's CPU clock; 0: none [default: 0]
    #[arg(long, value_name = "MS", value_parser = |s: &str| in_range::<u64>(CPU_MS, s))]
    pub cpu_ms: Option<u64>,
    /// JSON passed to handlers as event.payload [default: null]
    #[arg(long, value_name = "JSON", value_parser = parse_json)]
    pub payload: Option<String>,
}

impl LimitFlags {
    /// Sets what was given on `c`, over what the config file said.
    pub fn apply(&self, c: &mut EngineConfig) {
        if let Some(ms) = self.cpu_ms {
            c.limits.cpu = (ms > 0).then(|| std::time::Duration::from_millis(ms));
        }
        if let Some(h) = self.heap_mb {
            c.limits.heap_bytes = (h as usize) << 20;
        }
        if let Some(x) = self.external_mb {
            c.limits.external_bytes = (x as usize) << 20;
        }
        if let Some(t) = self.timeout_ms {
            c.limits.timeout = std::time::Duration::from_millis(t);
        }
        if let Some(p) = &self.payload {
            c.payload = p.clone();
        }
    }
}

/// A flag's value parser: the same range the config file is held to.
fn in_range<T: TryFrom<u64>>(range: config::Range, s: &str) -> Result<T, String> {
    let v = range.parse(s)?;
    T::try_from(v).map_err(|_| format!("{v} is too large"))
}

/// An isolate count for `--sizes`: 1 to 10,000, or 0 / "cores" for the
/// machine's cores.
fn parse_size(s: &str) -> Result<usize, String> {
    if s.trim() == "cores" {
        return Ok(0);
    }
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number or \"cores\""))?;
    if n > ISOLATES.max as usize {
        return Err(format!("{n} is not in 0..={}", ISOLATES.max));
    }
    Ok(n)
}

/// A slice length in ms for `--bare-slice-ms`: 0.01 to 10,000.
fn parse_slice_ms(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(ms) if (0.01..=10_000.0).contains(&ms) => Ok(ms),
        _ => Err(format!("{s:?} is not a number of ms from 0.01 to 10000")),
    }
}

fn parse_json(s: &str) -> Result<String, String> {
    config::check_payload(s).map(|()| s.to_string())
}

impl EngineFlags {
    /// Flags over config over defaults.
    pub fn resolve(&self, config: &Config) -> EngineConfig {
        let mut c = config.engine_config();
        if let Some(n) = self.isolates {
            c.isolates = n as usize;
        }
        if let Some(m) = self.mode {
            c.mode = m;
        }
        if let Some(t) = self.threads {
            c.threads = t;
        }
        self.limits.apply(&mut c);
        c
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// JavaScript file: a plain script, or a handler module (.mjs / export default)
    pub file: PathBuf,
    #[command(flatten)]
    pub engine: EngineFlags,
    /// Invocations on each isolate
    #[arg(short = 'i', long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub invocations: u64,
    /// Print one JSON document instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// JavaScript file to run under load
    pub file: PathBuf,
    #[command(flatten)]
    pub engine: EngineFlags,
    /// Seconds of measured load for the engine, and again for the baseline
    #[arg(short, long, default_value_t = 3.0)]
    pub duration: f64,
    /// Split the measured time into this many rounds, alternating engine and baseline
    #[arg(short, long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub rounds: u32,
    /// Seconds of load before each measured window (each round, each side)
    #[arg(long, value_name = "SECONDS", default_value_t = 0.5)]
    pub warmup: f64,
    /// Run the README table: every mode at N = 1, 2, 4 and memory at N = 1, 100, 500
    #[arg(long)]
    pub sweep: bool,
    /// Compare thread models side by side: pool, per-isolate and the bare baseline (a thread per isolate) at each N of --sizes
    #[arg(long)]
    pub threads_compare: bool,
    /// Isolate counts for --threads-compare, comma-separated; 0 or "cores" is the machine's cores [default: cores,2,100,500]
    #[arg(long, value_name = "N,…", value_delimiter = ',', value_parser = parse_size)]
    pub sizes: Vec<usize>,
    /// Slice of the bare pool in --threads-compare, in ms, to see what the slice length costs [default: the engine's]
    #[arg(long, value_name = "MS", value_parser = parse_slice_ms)]
    pub bare_slice_ms: Option<f64>,
    /// Density probe: N isolates in a pool start, run FILE once each and stop (in a child process); then idle memory per isolate at min(N, 1000) for pool, per-isolate and bare [default N: 10000]
    #[arg(long, value_name = "N", require_equals = true, num_args = 0..=1, default_missing_value = "10000", value_parser = |s: &str| in_range::<u32>(ISOLATES, s))]
    pub density: Option<u32>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// JavaScript file: a plain script, or a handler module (.mjs / export default)
    pub file: PathBuf,
    /// Calls in flight at once in every row (isolates, child processes) [default: 1: each row's latency is a call's own cost, not a queue]
    #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: Option<u32>,
    /// Measured seconds per row, split over the rounds [default: 3]
    #[arg(short, long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub duration: Option<f64>,
    /// Rounds, alternating between the rows [default: 3]
    #[arg(short, long, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub rounds: Option<u32>,
    #[command(flatten)]
    pub limits: LimitFlags,
    /// Print the ladder as one JSON document
    #[arg(long)]
    pub json: bool,
    /// Print each update as a line of JSON (`compare::StreamLine`) as it
    /// comes, then the ladder: what the playground's ladder view reads
    #[arg(long, hide = true)]
    pub stream: bool,
    /// The name the script goes by in messages (the playground passes the
    /// open file's, for a copy of its buffer)
    #[arg(long, hide = true, value_name = "NAME")]
    pub name: Option<String>,
}

/// Seconds for `compare -d`: more than 0, at most an hour.
fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x > 0.0 && x <= 3600.0 => Ok(x),
        _ => Err(format!("{s:?} is not a number of seconds in (0, 3600]")),
    }
}
