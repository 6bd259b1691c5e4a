//! The hidden child entry of `compare`: this binary, started with
//! [`CHILD_ENV`] set, does one small task and prints its answer on a
//! [`MARKER`] line instead of running the command line.
//!
//! - `Call`: the process rows. V8 start (done by `main` before this), one
//!   isolate through the real engine (same limits, console, handler call
//!   and formatting as the isolate rows), one invocation, exit. Leaner than
//!   `isolate-play run -n 1 -i 1 --json` (no config file, no CLI, no report
//!   of heap and scheduler figures), so the row measures the sandbox, not
//!   the reporting around it.
//! - `ContextMemory`: the context row's memory: heap used by live contexts,
//!   each with the script run in it, in a process of its own (a hostile
//!   script can take down only the probe).
//! - `IsolateMemory`: `bench`'s idle-isolate probe, run from here so that
//!   it spawns this binary even when `compare` runs inside another one.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::process::{Answer, MARKER};
use crate::engine::{Engine, EngineConfig, Limits, Mode, Report, Source, Threads};

/// Variable that turns this process into a compare child.
pub const CHILD_ENV: &str = "ISOLATE_PLAY_COMPARE_CHILD";

/// What the parent asks a child to do.
#[derive(Debug, Serialize, Deserialize)]
pub enum Task {
    Call {
        file: PathBuf,
        /// The name errors show (the file the user gave, not the copy).
        name: String,
        heap_bytes: usize,
        external_bytes: usize,
        timeout_ms: u64,
        cpu_ms: Option<u64>,
        payload: String,
    },
    ContextMemory {
        file: PathBuf,
        name: String,
        heap_bytes: usize,
        contexts: usize,
    },
    /// `bench`'s idle-isolate probe (itself in a child of this child), so
    /// that the probe runs this binary whatever process hosts `compare`.
    IsolateMemory {
        isolates: usize,
        threads: usize,
        heap_bytes: usize,
    },
}

/// Runs the task if this process is a compare child; returns whether it
/// was (it has then printed its answer and the caller exits with the code).
pub fn maybe_run() -> Option<i32> {
    let spec = std::env::var(CHILD_ENV).ok()?;
    let answer = match serde_json::from_str::<Task>(&spec) {
        Ok(Task::Call {
            file,
            name,
            heap_bytes,
            external_bytes,
            timeout_ms,
            cpu_ms,
            payload,
        }) => call(
            &file,
            name,
            Limits {
                heap_bytes,
                external_bytes,
                timeout: Duration::from_millis(timeout_ms),
                cpu: cpu_ms.map(Duration::from_millis),
            },
            payload,
        ),
        Ok(Task::ContextMemory {
            file,
            name,
            heap_bytes,
            contexts,
        }) => context_memory(&file, name, heap_bytes, contexts.max(1)),
        Ok(Task::IsolateMemory {
            isolates,
            threads,
            heap_bytes,
        }) => crate::bench::idle(
            isolates.max(1),
            crate::bench::Holder::Pool(threads.max(1)),
            heap_bytes,
        )
        .map(|p| p.rss_per_isolate.to_string())
        .map_err(|e| format!("{e:#}")),
        Err(e) => Err(format!("bad {CHILD_ENV}: {e}")),
    };
    // SAFETY: getpid cannot fail.
    let pid = Some(i64::from(unsafe { libc::getpid() }));
    let (answer, code) = match answer {
        Ok(ok) => (
            Answer {
                ok: Some(ok),
                error: None,
                pid,
                hwm: super::process::own_hwm(),
            },
            0,
        ),
        Err(e) => (
            Answer {
                ok: None,
                error: Some(e),
                pid,
                hwm: super::process::own_hwm(),
            },
            1,
        ),
    };
    let json = serde_json::to_string(&answer).unwrap_or_else(|_| "{}".into());
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{MARKER}{json}");
    let _ = out.flush();
    Some(code)
}

fn load(file: &std::path::Path, name: String) -> Result<Source, String> {
    let mut source = Source::from_file(file).map_err(|e| format!("{e:#}"))?;
    source.name = name;
    Ok(source)
}

/// One invocation on one fresh isolate of the real engine.
fn call(
    file: &std::path::Path,
    name: String,
    limits: Limits,
    payload: String,
) -> Result<String, String> {
    let source = load(file, name)?;
    let mut engine = Engine::new(EngineConfig {
        isolates: 1,
        mode: Mode::Warm,
        threads: Threads::Pool(1),
        limits,
        payload,
        ..Default::default()
    });
    engine.set_source(source);
    let batch = engine.run_with(1, true);
    let wait = limits.timeout * 2 + Duration::from_secs(5);
    let mut outcome = None;
    loop {
        match engine.reports().recv_timeout(wait) {
            Ok(Report::Invocation(inv)) => outcome = Some(inv.outcome),
            Ok(Report::RunDone { batch: b, .. }) if b == batch => break,
            Ok(_) => {}
            Err(_) => return Err("no answer from the engine".into()),
        }
    }
    // Exit without disposing of anything: the kernel reclaims it all, as
    // it would for a process-per-call platform.
    match outcome {
        Some(Ok(r)) => Ok(r),
        Some(Err(e)) => Err(e.headline()),
        None => Err("the engine reported no invocation".into()),
    }
}

/// Heap growth per live context: one isolate; `contexts` contexts, each
/// with the script run in it (a handler module: loaded, not called), kept
/// alive; V8 heap used after a full GC, before and after, divided.
fn context_memory(
    file: &std::path::Path,
    name: String,
    heap_bytes: usize,
    contexts: usize,
) -> Result<String, String> {
    let source = load(file, name)?;
    let isolate = &mut v8::Isolate::new(v8::CreateParams::default().heap_limits(0, heap_bytes));
    v8::scope!(let hs, isolate);
    let mut kept: Vec<v8::Global<v8::Context>> = Vec::with_capacity(contexts);
    // One context first, so that what is made once per isolate (the
    // compilation cache entry, builtins' lazy state) is not counted.
    let mut used0 = 0;
    for i in 0..=contexts {
        if i == 1 {
            hs.low_memory_notification();
            used0 = hs.get_heap_statistics().used_heap_size();
        }
        v8::scope!(let s, hs);
        let context = v8::Context::new(s, Default::default());
        let cs = &mut v8::ContextScope::new(s, context);
        v8::tc_scope!(let tc, cs);
        if !load_into(tc, &source) {
            return Err("the script failed in a fresh context".into());
        }
        if i > 0 {
            kept.push(v8::Global::new(tc, context));
        }
    }
    hs.low_memory_notification();
    let used1 = hs.get_heap_statistics().used_heap_size();
    let per = used1.saturating_sub(used0) / contexts;
    drop(kept);
    Ok(per.to_string())
}

/// Runs a plain script, or loads a handler module, in the current context.
fn load_into(scope: &mut v8::PinScope, src: &Source) -> bool {
    let ran = match crate::bench::bare::bare_compile(scope, src) {
        Some(crate::bench::bare::Bare::Script(s)) => s.run(scope).is_some(),
        Some(crate::bench::bare::Bare::Handler(_)) => true,
        None => false,
    };
    scope.perform_microtask_checkpoint();
    ran
}
