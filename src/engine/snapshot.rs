//! Startup snapshots: snapshot mode's isolates start from a V8 startup
//! snapshot of the script's evaluated top level instead of from nothing.
//!
//! One blob per version of the script (and per set of limits, under which
//! the top level ran), shared by every isolate of the engine ([`Cache`]),
//! rebuilt when the file changes. What it holds:
//! - a handler module (`export default`): the context after the console,
//!   the prelude and the module's evaluation, and the handler function
//!   (kept as the context's snapshot data). The top level ran once, at
//!   build: state it computed is frozen into the snapshot, every isolate
//!   starts with the same copy, and its console output happened once (it
//!   is shown on the first reported call after the build);
//! - a plain script (whose top level *is* the invocation): the context with
//!   the console and the prelude, and the script compiled (its bytecode
//!   kept). The script still runs on every call, as in cold mode.
//!
//! The blob is built in a child process: this binary run again with
//! [`BUILDER_ENV`] set (see [`maybe_run_builder`]). The top level is
//! hostile input, and V8's serializer aborts the whole process on an
//! object it cannot serialize; in a child that abort is an error message
//! ("the builder died with signal 6 …"), never the playground's end. The
//! child runs the top level under the same limits and guards as any of our
//! isolates (heap guard, external budget, a watchdog for the wall-clock and
//! CPU limits), and the parent kills it past its time.
//!
//! When no blob could be made (the top level failed, or could not be
//! serialized), snapshot mode runs each call as a plain cold isolate, so
//! that every result, error and console line is exactly what cold mode
//! gives. The first reported call says why on its console, unless the top
//! level's own error says it (every call reports that error, as in cold).
//!
//! Two isolates restored from one blob draw different `Math.random`
//! sequences: V8 resets the random cache of a context it serializes and
//! each isolate seeds its own generator. A number the top level drew is,
//! like all its state, frozen into the blob: every isolate sees the same.
//!
//! What V8's serializer does not keep, or refuses (measured with V8 15.2):
//! an `Error` made by the top level loses its `.stack` (V8 drops captured
//! stack traces); a `FinalizationRegistry` with registrations and `Intl`
//! objects abort the builder (the calls then run plain cold). A top level
//! that leaves more than half the heap limit alive is not snapshotted (a
//! restored isolate would have no room to run). `SharedArrayBuffer`,
//! `WeakRef`, proxies, pending promises, private fields, symbols in the
//! registry and large maps are kept. V8 also leaves flag-dependent globals
//! out of a snapshot builder's context and adds them to every context it
//! restores; the sandbox puts `SharedArrayBuffer` back for the builder and
//! takes `WebAssembly` away again after a restore (see `sandbox`).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::console::{self, ConsoleBounds};
use super::limits::{EXTERNAL_REFUSALS_BEFORE_STOP, ExternalBudget, Limits};
use super::report::{ErrorKind, Level, ScriptError};
use super::sandbox::{self, MAX_YOUNG_GENERATION_BYTES};
use super::script::{self, ScriptKind, Source};

/// The variable that turns this process into a snapshot builder.
pub const BUILDER_ENV: &str = "ISOLATE_PLAY_SNAPSHOT_BUILDER";

/// Arguments the builder is started with. Our binary ignores them; a test
/// harness started by mistake (the test binary is not this program, see
/// [`set_builder_program`]) reads them as "run the one test of this exact
/// name", finds none and exits, and the build fails with a clear message
/// instead of recursing into the test suite.
const BUILDER_ARGS: [&str; 2] = ["--exact", "__isolate_play_snapshot_builder__"];

/// Time the builder gets beyond the script's own limits: V8 start-up in a
/// new process, and serializing the heap.
const BUILD_MARGIN: Duration = Duration::from_secs(5);

/// How a build's failure starts when the top level itself failed.
const TOP_LEVEL_FAILED: &str = "the top level failed: ";

/// The line the builder prints before V8 serializes the heap.
const SERIALIZING: &str = "isolate-play: snapshot builder: serializing\n";

/// The line the builder prints before it restores an isolate from its own
/// blob, as every call would (see `run_builder`).
const RESTORING: &str = "isolate-play: snapshot builder: restoring\n";

/// Most bytes of the builder's standard error kept for a message.
const MAX_STDERR: usize = 16 * 1024;

/// The exit status of a builder whose isolate V8 gave up on (out of
/// memory inside a built-in).
const EXIT_OOM: i32 = 86;

static BUILDER_PROGRAM: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The program that builds blobs: this binary by default. Tests, whose own
/// executable is the test harness, point it at the real binary.
pub fn set_builder_program(path: impl Into<PathBuf>) {
    *BUILDER_PROGRAM.lock().unwrap_or_else(|p| p.into_inner()) = Some(path.into());
}

fn builder_program() -> std::io::Result<PathBuf> {
    match BUILDER_PROGRAM
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
    {
        Some(p) => Ok(p),
        None => std::env::current_exe(),
    }
}

/// The native functions our contexts hold (the console's callback), for
/// the builder and for every isolate restored from a blob: the same list.
pub fn external_references() -> Vec<v8::ExternalReference> {
    console::external_references()
}

/// A startup snapshot blob, with what an isolate needs to find the entry
/// in it.
#[derive(Debug)]
pub struct Blob {
    bytes: Vec<u8>,
    kind: ScriptKind,
    entry: usize,
    /// Which of [`sandbox::RESTORE_CHECKED`] the top level left without
    /// an own property on the global (see [`Blob::absent_globals`]).
    absent: Vec<String>,
}

impl Blob {
    /// The blob as V8 made it.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The shape of the script it was made from.
    pub fn kind(&self) -> ScriptKind {
        self.kind
    }

    /// The index of the entry (the compiled script or the handler) in the
    /// default context's snapshot data.
    pub fn entry_index(&self) -> usize {
        self.entry
    }

    /// The names of [`sandbox::RESTORE_CHECKED`] the snapshotted global
    /// had no own property for: one a restored context has must be one V8
    /// added back, and is taken away again.
    pub fn absent_globals(&self) -> &[String] {
        &self.absent
    }
}

/// One build's outcome: the blob, or why there is none.
#[derive(Debug)]
pub struct Built {
    /// The version it was built from.
    pub version: u64,
    /// The blob, or why none could be made (snapshot mode then runs calls
    /// as plain cold isolates).
    pub blob: Result<Arc<Blob>, String>,
    /// From spawning the builder to its answer read.
    pub build_time: Duration,
    /// Lines for the first reported call's console: the top level's own
    /// console output (it ran once, at build), or why no blob was made.
    notice: Mutex<Option<Vec<(Level, String)>>>,
}

/// What a build made, for tables and logs.
#[derive(Clone, Debug, Serialize)]
pub struct SnapshotInfo {
    pub version: u64,
    /// Build time, seconds (a child process: start, top level, serialize).
    pub build_s: f64,
    /// Bytes of the blob; None when it could not be built.
    pub blob_bytes: Option<usize>,
    /// Why there is no blob.
    pub failure: Option<String>,
}

impl Built {
    pub fn info(&self) -> SnapshotInfo {
        SnapshotInfo {
            version: self.version,
            build_s: self.build_time.as_secs_f64(),
            blob_bytes: self.blob.as_ref().ok().map(|b| b.bytes.len()),
            failure: self.blob.as_ref().err().cloned(),
        }
    }

    /// The build's console lines, once (the first caller gets them).
    pub fn take_notice(&self) -> Option<Vec<(Level, String)>> {
        self.notice.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// What a blob is built for: a version under a set of limits (the top
/// level ran under them: a heap bomb that a 16 MiB limit stops may fit in
/// 64 MiB).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    version: u64,
    limits: Limits,
}

#[derive(Debug)]
struct Slot {
    key: Key,
    built: OnceLock<Arc<Built>>,
}

/// The engine's blob: one at a time, for the newest version asked for.
/// The first caller of a new version builds it; others asking meanwhile
/// wait for that build.
#[derive(Debug, Default)]
pub struct Cache {
    slot: Mutex<Option<Arc<Slot>>>,
}

impl Cache {
    /// The build for `src` under `limits`: made now (blocking, in a child
    /// process) unless made already or being made by another thread, which
    /// this one then waits for.
    pub fn get(&self, src: &Source, limits: &Limits, bounds: ConsoleBounds) -> Arc<Built> {
        let key = Key {
            version: src.version,
            limits: *limits,
        };
        let slot = {
            let mut s = self.slot.lock().unwrap_or_else(|p| p.into_inner());
            match s.as_ref() {
                Some(slot) if slot.key == key => slot.clone(),
                _ => {
                    let slot = Arc::new(Slot {
                        key,
                        built: OnceLock::new(),
                    });
                    *s = Some(slot.clone());
                    slot
                }
            }
        };
        slot.built
            .get_or_init(|| Arc::new(build(src, limits, bounds)))
            .clone()
    }

    /// The newest finished build, if any (never waits).
    pub fn latest(&self) -> Option<Arc<Built>> {
        let s = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        s.as_ref().and_then(|slot| slot.built.get().cloned())
    }
}

/// What the parent sends the builder (on its standard input).
#[derive(Serialize, Deserialize)]
struct Request {
    name: String,
    code: String,
    handler: bool,
    heap_bytes: usize,
    external_bytes: usize,
    timeout_ms: u64,
    cpu_ms: Option<u64>,
    max_lines: usize,
    max_bytes: usize,
}

/// The builder's answer: a JSON line, then `blob_len` bytes of blob.
#[derive(Serialize, Deserialize)]
struct Answer {
    /// The top level's error (its headline), when it failed.
    error: Option<String>,
    /// Why the run was not serialized although the top level succeeded.
    refused: Option<String>,
    blob_len: usize,
    entry: usize,
    /// See [`Blob::absent_globals`].
    absent: Vec<String>,
    /// The top level's console: (level index, text).
    console: Vec<(u8, String)>,
    dropped: u64,
    run_ms: f64,
    serialize_ms: f64,
}

/// Builds the blob of `src` in a child process (see the module docs). Never
/// fails outright: a failure is the `Built`'s reason.
pub fn build(src: &Source, limits: &Limits, bounds: ConsoleBounds) -> Built {
    let t0 = Instant::now();
    let outcome = build_in_child(src, limits, bounds);
    let build_time = t0.elapsed();
    let ms = build_time.as_secs_f64() * 1e3;
    let mut notice = Vec::new();
    let blob = match outcome {
        Ok((answer, bytes)) => {
            let blob = match (&answer.error, &answer.refused) {
                (Some(e), _) => Err(format!("{TOP_LEVEL_FAILED}{e}")),
                (None, Some(r)) => Err(r.clone()),
                (None, None) => Ok(Arc::new(Blob {
                    bytes,
                    kind: src.kind,
                    entry: answer.entry,
                    absent: answer.absent.clone(),
                })),
            };
            if let Ok(b) = &blob {
                tracing::info!(
                    version = src.version,
                    build_ms = ms,
                    top_level_ms = answer.run_ms,
                    serialize_ms = answer.serialize_ms,
                    blob_bytes = b.bytes.len(),
                    "startup snapshot built"
                );
                // The build's figures are in the log and `snapshot_info`;
                // the console gets a line only where the top level printed
                // (the call's console is otherwise exactly cold mode's).
                if !answer.console.is_empty() || answer.dropped > 0 {
                    notice.push((
                        Level::Info,
                        format!(
                            "[snapshot] version {}: the top level ran once, at build ({ms:.0} ms in a child process, blob {}); its console:",
                            src.version,
                            crate::metrics::fmt_bytes(b.bytes.len() as u64)
                        ),
                    ));
                }
                // The lines go into one call's console, under the same
                // bounds as the top level had, with a header and a prefix
                // each: what does not fit is counted with what the builder
                // dropped, on a last line that always fits.
                let mut dropped = answer.dropped;
                let mut lines = notice.len() + 1;
                let mut bytes: usize = notice.iter().map(|(_, t)| t.len()).sum::<usize>() + 64;
                for (level, text) in &answer.console {
                    let level = Level::ALL
                        .get(*level as usize)
                        .copied()
                        .unwrap_or(Level::Log);
                    let line = format!("[top level] {text}");
                    if lines + 1 > bounds.max_lines || bytes + line.len() > bounds.max_bytes {
                        dropped += 1;
                        continue;
                    }
                    lines += 1;
                    bytes += line.len();
                    notice.push((level, line));
                }
                if dropped > 0 {
                    notice.push((
                        Level::Info,
                        format!("[top level] … {dropped} more lines dropped"),
                    ));
                }
            }
            blob
        }
        Err(e) => Err(e),
    };
    // A top level that failed says so itself, on every call (each runs it
    // again in a plain cold isolate): only other reasons get a console line.
    let top_level_failed = matches!(&blob, Err(why) if why.starts_with(TOP_LEVEL_FAILED));
    if let Err(why) = &blob {
        tracing::warn!(version = src.version, build_ms = ms, reason = %why, "startup snapshot not built; calls run as plain cold isolates");
    }
    if let (Err(why), false) = (&blob, top_level_failed) {
        notice.push((
            Level::Warn,
            format!(
                "[snapshot] version {}: the snapshot could not be built: {why}; calls run as plain cold isolates (same results, cold's start-up cost)",
                src.version
            ),
        ));
    }
    Built {
        version: src.version,
        blob,
        build_time,
        notice: Mutex::new(Some(notice)),
    }
}

fn build_in_child(
    src: &Source,
    limits: &Limits,
    bounds: ConsoleBounds,
) -> Result<(Answer, Vec<u8>), String> {
    let request = Request {
        name: src.name.clone(),
        code: src.code.clone(),
        handler: src.kind == ScriptKind::Handler,
        heap_bytes: limits.heap_bytes,
        external_bytes: limits.external_bytes,
        timeout_ms: limits.timeout.as_millis() as u64,
        cpu_ms: limits.cpu.map(|c| c.as_millis() as u64),
        max_lines: bounds.max_lines,
        max_bytes: bounds.max_bytes,
    };
    let request = serde_json::to_vec(&request).map_err(|e| format!("internal error: {e}"))?;
    let program = builder_program().map_err(|e| format!("the builder cannot be found: {e}"))?;
    let mut child = Command::new(&program)
        .args(BUILDER_ARGS)
        .env(BUILDER_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("the builder ({}) could not start: {e}", program.display()))?;
    let mut stdin = child.stdin.take();
    let writer = std::thread::spawn(move || {
        if let Some(s) = stdin.as_mut() {
            let _ = s.write_all(&request);
        }
        drop(stdin);
    });
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_end(&mut out);
        }
        out
    });
    let mut stderr = child.stderr.take();
    let err_reader = std::thread::spawn(move || {
        let mut kept: Vec<u8> = Vec::new();
        let mut buf = [0u8; 4096];
        while let Some(Ok(n)) = stderr.as_mut().map(|s| s.read(&mut buf)) {
            if n == 0 {
                break;
            }
            kept.extend_from_slice(&buf[..n]);
            if kept.len() > MAX_STDERR {
                kept.drain(..kept.len() - MAX_STDERR);
            }
        }
        kept
    });
    let allowed = limits.timeout.max(limits.cpu.unwrap_or_default()) + BUILD_MARGIN;
    let deadline = Instant::now() + allowed;
    let mut killed = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Ok(s),
            Ok(None) if Instant::now() >= deadline => {
                killed = true;
                let _ = child.kill();
                break child.wait();
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => break Err(e),
        }
    };
    let _ = writer.join();
    let out = reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    let status = status.map_err(|e| format!("the builder could not be waited for: {e}"))?;
    if killed {
        return Err(format!(
            "the builder did not finish within {} ms and was killed",
            allowed.as_millis()
        ));
    }
    if !status.success() {
        use std::os::unix::process::ExitStatusExt;
        let err = String::from_utf8_lossy(&err);
        let restoring = err.contains(RESTORING.trim_end());
        let serializing = !restoring && err.contains(SERIALIZING.trim_end());
        let said = fatal_line(
            &err.replace(SERIALIZING.trim_end(), "")
                .replace(RESTORING.trim_end(), ""),
        );
        let said = if said.is_empty() {
            String::new()
        } else {
            format!(": {said}")
        };
        return Err(match (status.signal(), status.code()) {
            (Some(sig), _) if restoring => format!(
                "the builder died with signal {sig} ({}) while it restored an isolate from its own blob, \
                 as every call would (V8 cannot add the globals it restores, such as WebAssembly, to a \
                 global object the top level sealed, froze or made non-extensible){said}",
                signal_name(sig)
            ),
            (Some(sig), _) if serializing => format!(
                "the builder died with signal {sig} ({}) while V8 serialized what the top level left alive \
                 (V8 cannot serialize some objects, such as Intl formatters or a FinalizationRegistry with \
                 registrations){said}",
                signal_name(sig)
            ),
            (Some(sig), _) => format!(
                "the builder died with signal {sig} ({}){said}",
                signal_name(sig)
            ),
            (None, Some(EXIT_OOM)) => format!(
                "the top level ran out of heap inside a built-in that V8 cannot interrupt (the {} MiB limit)",
                limits.heap_bytes >> 20
            ),
            (None, code) => format!(
                "the builder exited with status {}{said}",
                code.map_or("?".into(), |c| c.to_string())
            ),
        });
    }
    parse_answer(out)
}

fn parse_answer(out: Vec<u8>) -> Result<(Answer, Vec<u8>), String> {
    let bad = || {
        "the builder answered nothing usable (is the builder program isolate-play? see snapshot::set_builder_program)"
            .to_string()
    };
    let nl = out.iter().position(|&b| b == b'\n').ok_or_else(bad)?;
    let answer: Answer = serde_json::from_slice(&out[..nl]).map_err(|_| bad())?;
    let blob = &out[nl + 1..];
    if answer.error.is_none() && answer.refused.is_none() && blob.len() != answer.blob_len {
        return Err(format!(
            "the builder's blob is cut short ({} of {} bytes)",
            blob.len(),
            answer.blob_len
        ));
    }
    Ok((answer, blob.to_vec()))
}

/// The line of a V8 fatal error report that says what went wrong (V8
/// prints `# Fatal error in …` then `# <what>`), else the last line.
fn fatal_line(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let hashed: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix('#'))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("FailureMessage"))
        .collect();
    let line = if hashed.is_empty() {
        lines.last().copied().unwrap_or_default().to_string()
    } else {
        hashed.join(" — ")
    };
    let mut line = line;
    if line.len() > 400 {
        let mut cut = 400;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push('…');
    }
    line
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGABRT => "SIGABRT: V8 aborted",
        libc::SIGILL => "SIGILL: V8 aborted",
        libc::SIGTRAP => "SIGTRAP: V8 aborted",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGKILL => "SIGKILL",
        libc::SIGBUS => "SIGBUS",
        _ => "a signal",
    }
}

/// Entry point of a builder child (see [`build`]); returns true if this
/// process is one. It reads its request on standard input, answers on
/// standard output and exits; a V8 abort kills it with a signal.
pub fn maybe_run_builder() -> bool {
    if std::env::var_os(BUILDER_ENV).is_none() {
        return false;
    }
    let mut input = Vec::new();
    let request = std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| e.to_string())
        .and_then(|_| serde_json::from_slice::<Request>(&input).map_err(|e| e.to_string()));
    let request = match request {
        Ok(r) => r,
        Err(e) => {
            eprintln!("isolate-play: snapshot builder: bad request: {e}");
            std::process::exit(2);
        }
    };
    run_builder(request)
}

/// Set by the builder's out-of-memory handler's caller: none; the handler
/// itself exits with [`EXIT_OOM`].
unsafe extern "C" fn builder_oom(_location: *const std::ffi::c_char, _details: &v8::OomDetails) {
    let _ = std::io::stderr().write_all(b"isolate-play: snapshot builder: out of memory\n");
    // SAFETY: _exit ends the process at once, without running destructors
    // of a heap V8 has just given up on.
    unsafe { libc::_exit(EXIT_OOM) };
}

/// Why the builder's watchdog stopped the top level.
const STOP_WALL: u8 = 1;
const STOP_CPU: u8 = 2;

fn run_builder(req: Request) -> ! {
    let limits = Limits {
        heap_bytes: req.heap_bytes,
        external_bytes: req.external_bytes,
        timeout: Duration::from_millis(req.timeout_ms),
        cpu: req.cpu_ms.map(Duration::from_millis),
    };
    let bounds = ConsoleBounds {
        max_lines: req.max_lines,
        max_bytes: req.max_bytes,
    };
    let src = Source {
        version: 0,
        name: req.name,
        code: req.code,
        kind: if req.handler {
            ScriptKind::Handler
        } else {
            ScriptKind::Script
        },
    };
    let budget = ExternalBudget::new(limits.external_bytes);
    let params = sandbox::create_params(&limits, MAX_YOUNG_GENERATION_BYTES, &budget);
    let mut isolate =
        v8::Isolate::snapshot_creator(Some(external_references().into()), Some(params));
    let parts = sandbox::configure(&mut isolate, &limits, bounds, builder_oom, &budget);

    // The watchdog: the wall clock and this thread's CPU clock.
    let done = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicU8::new(0));
    {
        let (done, stop) = (done.clone(), stop.clone());
        let handle = isolate.thread_safe_handle();
        let clock = super::scheduler::thread_cpu_clock();
        let cpu0 = super::scheduler::cpu_ns(clock).unwrap_or(0);
        let t0 = Instant::now();
        let _ = std::thread::Builder::new()
            .name("builder-watchdog".into())
            .spawn(move || {
                while !done.load(Relaxed) {
                    std::thread::sleep(Duration::from_millis(2));
                    let cpu = super::scheduler::cpu_ns(clock)
                        .unwrap_or(0)
                        .saturating_sub(cpu0);
                    let why = if t0.elapsed() >= limits.timeout {
                        STOP_WALL
                    } else if limits.cpu.is_some_and(|c| cpu >= c.as_nanos() as u64) {
                        STOP_CPU
                    } else {
                        continue;
                    };
                    stop.store(why, Relaxed);
                    handle.terminate_execution();
                    return;
                }
            });
    }

    let t_run = Instant::now();
    let ran: Result<(usize, Vec<String>), ScriptError> = {
        v8::scope!(let scope, &mut isolate);
        let template = console::template(scope);
        let context = sandbox::new_builder_context(scope, template);
        let cs = &mut v8::ContextScope::new(scope, context);
        v8::tc_scope!(let tc, cs);
        let entry: Result<v8::Local<v8::Data>, ScriptError> = match src.kind {
            ScriptKind::Script => {
                script::compile_script(tc, &src).map(|s| s.get_unbound_script(tc).into())
            }
            ScriptKind::Handler => {
                let loaded = script::load_handler(tc, &src);
                sandbox::settle(tc, &src);
                loaded.map(Into::into)
            }
        };
        done.store(true, Relaxed);
        // A stop by a guard or the watchdog is the error, whatever the
        // top level returned on its way out (as in the worker).
        let stopped = if parts.guard.hit.load(Relaxed) {
            Some(ErrorKind::HeapLimit)
        } else if budget.refused.load(Relaxed) >= EXTERNAL_REFUSALS_BEFORE_STOP
            || parts.guard.outside_stop.load(Relaxed)
        {
            Some(ErrorKind::ExternalLimit)
        } else {
            match stop.load(Relaxed) {
                STOP_WALL => Some(ErrorKind::Timeout),
                STOP_CPU => Some(ErrorKind::CpuLimit),
                _ => None,
            }
        };
        match (stopped, entry) {
            (Some(kind), _) => Err(ScriptError::new(kind, stop_message(kind, &limits))),
            (None, Err(e)) => Err(e),
            (None, Ok(data)) => {
                let absent = sandbox::absent_globals(tc);
                let index = tc.add_context_data(context, data);
                tc.set_default_context(context);
                Ok((index, absent))
            }
        }
    };
    let run_ms = t_run.elapsed().as_secs_f64() * 1e3;
    let console = parts.console.borrow_mut().take();
    let mut answer = Answer {
        error: None,
        refused: None,
        blob_len: 0,
        entry: 0,
        absent: Vec::new(),
        console: console
            .lines
            .into_iter()
            .map(|l| {
                (
                    Level::ALL.iter().position(|&x| x == l.level).unwrap_or(0) as u8,
                    l.text,
                )
            })
            .collect(),
        dropped: console.dropped,
        run_ms,
        serialize_ms: 0.0,
    };
    let (entry, absent) = match ran {
        Ok(i) => i,
        Err(e) => {
            answer.error = Some(e.headline());
            finish(&answer, &[]);
        }
    };
    answer.entry = entry;
    answer.absent = absent;
    // What the top level left alive must fit a restored isolate's heap
    // with room to run: a restore past the limit is an out-of-memory
    // failure in the parent, not a clean stop.
    isolate.low_memory_notification();
    let used = isolate.get_heap_statistics().used_heap_size();
    if used > limits.heap_bytes / 2 {
        answer.refused = Some(format!(
            "the top level left {} of heap alive, more than half the {} MiB limit: an isolate restored from it \
             would have too little room to run",
            crate::metrics::fmt_bytes(used as u64),
            limits.heap_bytes >> 20
        ));
        finish(&answer, &[]);
    }
    sandbox::clear_rejections(&parts.rejections);
    // Tells the parent, should V8 abort from here on, that its serializer
    // did (see `SERIALIZING`).
    let _ = std::io::stderr().write_all(SERIALIZING.as_bytes());
    let t_ser = Instant::now();
    let blob = isolate.create_blob(v8::FunctionCodeHandling::Keep);
    answer.serialize_ms = t_ser.elapsed().as_secs_f64() * 1e3;
    match blob {
        Some(b) => {
            answer.blob_len = b.len();
            // Every call restores an isolate from this blob in the parent,
            // where a V8 abort would end the playground: it is done here
            // first, where an abort is only this build's failure.
            let _ = std::io::stderr().write_all(RESTORING.as_bytes());
            let blob = Arc::new(Blob {
                bytes: b.to_vec(),
                kind: src.kind,
                entry,
                absent: answer.absent.clone(),
            });
            if let Err(e) = sandbox::Sandbox::from_snapshot(
                &limits,
                bounds,
                builder_oom,
                MAX_YOUNG_GENERATION_BYTES,
                &blob,
                0,
            ) {
                answer.refused = Some(format!(
                    "an isolate restored from the blob could not run the script: {}",
                    e.headline()
                ));
                finish(&answer, &[]);
            }
            finish(&answer, &b);
        }
        None => {
            answer.refused = Some("V8 made no blob".into());
            finish(&answer, &[]);
        }
    }
}

/// The message the worker gives a call its guards or watchdog stopped.
fn stop_message(kind: ErrorKind, limits: &Limits) -> String {
    match kind {
        ErrorKind::HeapLimit => format!("heap limit exceeded ({} MiB)", limits.heap_bytes >> 20),
        ErrorKind::ExternalLimit => format!(
            "external memory limit exceeded ({} MiB of ArrayBuffer memory)",
            limits.external_bytes >> 20
        ),
        ErrorKind::CpuLimit => format!(
            "CPU time limit exceeded ({} ms)",
            limits.cpu.map_or(0, |c| c.as_millis())
        ),
        _ => format!(
            "timed out after {} ms (wall clock)",
            limits.timeout.as_millis()
        ),
    }
}

/// Writes the answer and the blob and ends the process at once: the
/// snapshot creator's isolate is not disposed (V8 would insist on a blob
/// first), and nothing else is left to clean up.
fn finish(answer: &Answer, blob: &[u8]) -> ! {
    let mut out = std::io::stdout().lock();
    let ok = serde_json::to_writer(&mut out, answer).is_ok()
        && out.write_all(b"\n").is_ok()
        && out.write_all(blob).is_ok()
        && out.flush().is_ok();
    // SAFETY: see `builder_oom`.
    unsafe { libc::_exit(if ok { 0 } else { 3 }) }
}
