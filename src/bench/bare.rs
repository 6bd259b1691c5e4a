//! The baseline: the same work done by a bare loop over the `v8` crate,
//! with none of the engine around it, on **one OS thread per isolate** (at
//! N = 500 that is 500 threads, each with its own isolate in a tight loop).
//!
//! It runs the *same JavaScript* (plain scripts get the same block wrapper,
//! handlers the same event) with the same heap limit, per mode:
//! - warm: one isolate and context per thread, compiled once, then
//!   run + microtask checkpoint per invocation;
//! - context: a new context per invocation, compile, run, checkpoint;
//! - cold: a new isolate per invocation, context, compile, run, checkpoint,
//!   dispose.
//!
//! What the baseline skips is exactly what the engine adds: console, the
//! heap-limit callback, the watchdog, the scheduler, timing, histograms,
//! counters, sampled result reports and the mailbox check.
//!
//! Every thread makes its isolate (and, warm, compiles) before the clock
//! starts: the threads wait for a start signal, so that the warm-up and the
//! measured window never contain isolate creation, whatever N is.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::engine::{Mode, ScriptKind, Source, platform, script};

use super::{SideRun, process_cpu_ns};

/// Stack of a bare thread: the engine's executor threads get the same.
const STACK: usize = 4 << 20;

/// What every bare thread of one measurement shares.
struct Flags {
    /// Threads that have their isolate (or gave up trying).
    ready: AtomicUsize,
    /// Closed (its sender dropped) when the threads may start: they block
    /// on it, and a closed channel wakes them all.
    go: crossbeam_channel::Receiver<()>,
    stop: AtomicBool,
}

/// Load before the measured window, and the window.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub warmup: Duration,
    pub duration: Duration,
}

/// The bare loop on `isolates` threads: start (every isolate made), warm-up,
/// the measured window, stop (every thread joined).
pub fn run(
    source: &Source,
    isolates: usize,
    mode: Mode,
    heap_bytes: usize,
    payload: &str,
    Window { warmup, duration }: Window,
) -> SideRun {
    let t_start = Instant::now();
    let (go, go_rx) = crossbeam_channel::bounded::<()>(0);
    let flags = Arc::new(Flags {
        ready: AtomicUsize::new(0),
        go: go_rx,
        stop: AtomicBool::new(false),
    });
    let counts: Vec<Arc<Count>> = (0..isolates).map(|_| Arc::default()).collect();
    let threads: Vec<_> = counts
        .iter()
        .enumerate()
        .map(|(i, count)| {
            let (flags, count) = (flags.clone(), count.clone());
            let (src, payload) = (source.clone(), payload.to_string());
            platform::spawn(format!("bare-{i}"), STACK, move || {
                bare_loop(&src, i, mode, heap_bytes, &payload, &flags, &count.0)
            })
        })
        .collect();
    measure(
        &flags,
        &counts,
        isolates,
        go,
        t_start,
        Window { warmup, duration },
        || {
            for t in threads {
                let _ = t.join();
            }
        },
    )
}

/// What both bare loops share once their threads are started: wait until
/// every isolate is made (the start), let them go, warm up, count calls and
/// process CPU over the window, then stop them (`join` waits for the
/// threads; the stop time includes it).
fn measure(
    flags: &Flags,
    counts: &[Arc<Count>],
    isolates: usize,
    go: crossbeam_channel::Sender<()>,
    t_start: Instant,
    Window { warmup, duration }: Window,
    join: impl FnOnce(),
) -> SideRun {
    let deadline = Instant::now() + Duration::from_secs(600);
    while flags.ready.load(Relaxed) < isolates && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let start = t_start.elapsed();
    drop(go);
    std::thread::sleep(warmup);
    let sum = || counts.iter().map(|c| c.0.load(Relaxed)).sum::<u64>();
    let n0 = sum();
    let cpu0 = process_cpu_ns();
    let t0 = Instant::now();
    std::thread::sleep(duration);
    let n1 = sum();
    let secs = t0.elapsed().as_secs_f64();
    let cpu = process_cpu_ns().saturating_sub(cpu0);
    let t_stop = Instant::now();
    flags.stop.store(true, Relaxed);
    join();
    SideRun {
        calls: n1 - n0,
        secs,
        cpu_ns: cpu,
        start,
        stop: t_stop.elapsed(),
        latency: None,
        sched: None,
    }
}

/// A thread's counter on its own cache lines, so that bare threads do not
/// slow each other down by false sharing (the engine's workers don't).
#[derive(Default)]
#[repr(align(128))]
struct Count(AtomicU64);

pub fn params(heap_bytes: usize) -> v8::CreateParams {
    v8::CreateParams::default().heap_limits(0, heap_bytes)
}

/// A script compiled, or a handler module loaded, by [`bare_compile`].
pub(crate) enum Bare<'s> {
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

/// Compiles a plain script (not run), or loads a handler module (its
/// top level evaluated) and returns its default export, in the current
/// context; `None` on any failure (a thrown exception stays in the
/// enclosing TryCatch).
pub(crate) fn bare_compile<'s>(scope: &mut v8::PinScope<'s, '_>, src: &Source) -> Option<Bare<'s>> {
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

/// Says this thread is ready, then blocks until the start.
fn ready_then_wait(flags: &Flags) {
    flags.ready.fetch_add(1, Relaxed);
    let _ = flags.go.recv();
}

fn bare_loop(
    src: &Source,
    id: usize,
    mode: Mode,
    heap_bytes: usize,
    payload: &str,
    flags: &Flags,
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
            let entry = bare_compile(scope, src);
            ready_then_wait(flags);
            let Some(entry) = entry else {
                return;
            };
            while !flags.stop.load(Relaxed) {
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
            ready_then_wait(flags);
            while !flags.stop.load(Relaxed) {
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
        // The bare loop has no snapshot: `bench -m snapshot` measures
        // against the engine's plain cold mode instead (see `bench`).
        Mode::Cold | Mode::Snapshot => {
            ready_then_wait(flags);
            while !flags.stop.load(Relaxed) {
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

/// `isolates` idle bare isolates, each with a context, on a thread each:
/// calls `measure` while they are all alive; returns its value and the
/// times to start and to stop them all.
pub fn idle<T>(
    isolates: usize,
    heap_bytes: usize,
    measure: impl FnOnce() -> T,
) -> (T, Duration, Duration) {
    let t = Instant::now();
    let (ready_tx, ready_rx) = crossbeam_channel::unbounded();
    let (stop_tx, stop_rx) = crossbeam_channel::bounded::<()>(0);
    let threads: Vec<_> = (0..isolates)
        .map(|i| {
            let (ready_tx, stop_rx) = (ready_tx.clone(), stop_rx.clone());
            platform::spawn(format!("bare-{i}"), STACK, move || {
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
    let start = t.elapsed();
    let value = measure();
    let t = Instant::now();
    drop(stop_tx);
    for t in threads {
        let _ = t.join();
    }
    (value, start, t.elapsed())
}

/// A compiled entry kept across slices of a bare pool.
enum Kept {
    Script(v8::Global<v8::Script>),
    Handler(v8::Global<v8::Function>),
}

/// One isolate of the bare pool, with its context and compiled entry.
/// Field order is drop order: the handles go before the isolate.
struct PoolIsolate {
    id: usize,
    n: u64,
    context: v8::Global<v8::Context>,
    entry: Option<Kept>,
    isolate: v8::SharedIsolate,
}

impl PoolIsolate {
    fn new(id: usize, src: &Source, heap_bytes: usize) -> PoolIsolate {
        let mut isolate = v8::Isolate::new(params(heap_bytes));
        isolate.set_microtasks_policy(v8::MicrotasksPolicy::Explicit);
        let (context, entry) = {
            v8::scope!(let hs, &mut isolate);
            let context = v8::Context::new(hs, Default::default());
            let scope = &mut v8::ContextScope::new(hs, context);
            let entry = bare_compile(scope, src).map(|e| match e {
                Bare::Script(s) => Kept::Script(v8::Global::new(scope, s)),
                Bare::Handler(f) => Kept::Handler(v8::Global::new(scope, f)),
            });
            (v8::Global::new(scope, context), entry)
        };
        // SAFETY: the isolate is on the thread that made it, entered by
        // nothing else, with no Weak handles, slots or callbacks that need
        // this thread; its Globals move with it and are only opened as
        // Locals under its Locker (see `slice`).
        let isolate = match unsafe { isolate.try_into_shared() } {
            Ok(s) => s,
            Err(e) => panic!("a fresh isolate could not be shared: {e:?}"),
        };
        PoolIsolate {
            id,
            n: 0,
            context,
            entry,
            isolate,
        }
    }

    /// Locks the isolate to this thread and calls it until `deadline`
    /// (engine clock); returns the calls made. The clock is read every
    /// 64 calls.
    fn slice(&mut self, deadline: u64, payload: &str, count: &AtomicU64, total: &mut u64) {
        let Some(entry) = &self.entry else {
            return;
        };
        let mut locker = self.isolate.lock();
        v8::scope!(let hs, &mut *locker);
        let context = v8::Local::new(hs, &self.context);
        let scope = &mut v8::ContextScope::new(hs, context);
        let entry = match entry {
            Kept::Script(s) => Bare::Script(v8::Local::new(scope, s)),
            Kept::Handler(f) => Bare::Handler(v8::Local::new(scope, f)),
        };
        loop {
            for _ in 0..64 {
                self.n += 1;
                v8::scope!(let s, scope);
                bare_call(s, &entry, self.id, self.n, payload);
            }
            *total += 64;
            count.store(*total, Relaxed);
            if crate::engine::limits::now_ns() >= deadline {
                return;
            }
        }
    }
}

/// The bare loop on a pool, warm mode only: `threads` threads take
/// isolates off one FIFO queue, lock each (`v8::Locker`) for a time slice
/// as long as the engine's pool gives ([`slice_ns`], or `slice_ns` if set)
/// and put it back at
/// the end. No engine around it: no watchdog, mailbox, counters per call,
/// timing or reports. Against the bare thread per isolate it shows what
/// the pool model itself costs (locks, migration, caches cold after each
/// switch); against the engine's pool, what the engine adds.
///
/// [`slice_ns`]: crate::engine::scheduler::slice_ns
pub fn run_pool(
    source: &Source,
    isolates: usize,
    threads: usize,
    slice_ns: Option<u64>,
    heap_bytes: usize,
    payload: &str,
    Window { warmup, duration }: Window,
) -> SideRun {
    let t_start = Instant::now();
    let threads = threads.max(1);
    let (go, go_rx) = crossbeam_channel::bounded::<()>(0);
    let flags = Arc::new(Flags {
        ready: AtomicUsize::new(0),
        go: go_rx,
        stop: AtomicBool::new(false),
    });
    let (queue, queue_rx) = crossbeam_channel::unbounded::<Box<PoolIsolate>>();
    let counts: Vec<Arc<Count>> = (0..threads).map(|_| Arc::default()).collect();
    let handles: Vec<_> = counts
        .iter()
        .enumerate()
        .map(|(k, count)| {
            let (flags, count) = (flags.clone(), count.clone());
            let (queue, rx) = (queue.clone(), queue_rx.clone());
            let (src, payload) = (source.clone(), payload.to_string());
            platform::spawn(format!("bare-pool-{k}"), STACK, move || {
                // Each thread makes its share of the isolates.
                for id in (k..isolates).step_by(threads) {
                    let _ = queue.send(Box::new(PoolIsolate::new(id, &src, heap_bytes)));
                    flags.ready.fetch_add(1, Relaxed);
                }
                let _ = flags.go.recv();
                let mut total = 0u64;
                while !flags.stop.load(Relaxed) {
                    let Ok(mut iso) = rx.recv_timeout(Duration::from_millis(10)) else {
                        continue;
                    };
                    let slice = slice_ns
                        .unwrap_or_else(|| crate::engine::scheduler::slice_ns(threads, rx.len()));
                    let deadline = crate::engine::limits::now_ns() + slice;
                    iso.slice(deadline, &payload, &count.0, &mut total);
                    let _ = queue.send(iso);
                }
                // Isolates are disposed on the pool's threads (made after
                // V8's initialisation), never on the caller's.
                while let Ok(iso) = rx.try_recv() {
                    drop(iso);
                }
            })
        })
        .collect();
    measure(
        &flags,
        &counts,
        isolates,
        go,
        t_start,
        Window { warmup, duration },
        || {
            drop(queue);
            for h in handles {
                let _ = h.join();
            }
        },
    )
}
