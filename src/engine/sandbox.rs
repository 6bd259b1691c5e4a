//! One isolate with what it keeps between invocations: the console template,
//! the warm context and the compiled entry of the current version, its heap
//! guard and external-memory budget, and the rejections its promises left
//! unhandled. Lives and dies on one worker thread.
//!
//! Every invocation ends the same way, whether it returned or threw: its
//! microtask queue is drained (under its own limits, so nothing it queued
//! runs in a later invocation), the promises it rejected without a handler
//! are reported on its console, and only then is its result formatted.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use super::console::{self, ConsoleBounds, ConsoleBuf, MAX_RESULT_BYTES};
use super::format;
use super::limits::{EXTERNAL_REFUSALS_BEFORE_STOP, ExternalBudget, HeapGuard, Limits};
use super::report::{ErrorKind, Level, ScriptError};
use super::script::{self, ScriptKind, Source};

/// One invocation's identity (the handler's event gets these and the payload).
#[derive(Clone, Copy, Debug)]
pub struct Call {
    pub isolate: usize,
    pub invocation: u64,
    /// Format the result (skipped under load except for sampled calls).
    pub want_result: bool,
    /// The configured heap limit (bytes), for messages.
    pub heap_limit: usize,
}

/// What a warm batch runs next.
pub enum Next {
    Call(Call),
    /// Run again after clearing a termination that was not meant for it.
    Retry(Call),
    Stop,
}

/// Why the isolate's own guards stopped the running invocation, if they did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardStop {
    Heap,
    External,
}

/// What the worker reads after an invocation without touching V8.
pub struct Probe<'a> {
    console: &'a RefCell<ConsoleBuf>,
    guard: &'a HeapGuard,
    budget: &'a ExternalBudget,
}

impl Probe<'_> {
    pub fn console(&self) -> std::cell::RefMut<'_, ConsoleBuf> {
        self.console.borrow_mut()
    }

    /// Nothing for the slow path: no guard hit, no refused allocation.
    #[inline(always)]
    pub fn is_clean(&self) -> bool {
        !self.guard.hit.load(Relaxed)
            && !self.guard.outside_stop.load(Relaxed)
            && self.budget.refused.load(Relaxed) == 0
    }

    /// Which guard stopped the isolate, if any (cheap: two relaxed loads).
    #[inline(always)]
    pub fn guard_stop(&self) -> Option<GuardStop> {
        if self.guard.hit.load(Relaxed) {
            Some(GuardStop::Heap)
        } else if self.budget.refused.load(Relaxed) >= EXTERNAL_REFUSALS_BEFORE_STOP
            || self.guard.outside_stop.load(Relaxed)
        {
            Some(GuardStop::External)
        } else {
            None
        }
    }

    /// Allocations the external budget refused since the last call (and
    /// resets the count): a `RangeError` the script saw came from the budget.
    pub fn take_external_refusals(&self) -> u64 {
        self.budget.refused.swap(0, Relaxed)
    }

    /// Bytes of ArrayBuffer backing stores alive in this isolate now.
    pub fn external_used(&self) -> usize {
        self.budget.used.load(Relaxed)
    }
}

/// The worker's side of a warm batch. Its methods sit on the hot path of
/// every warm invocation, so implementations should be `#[inline]`.
pub trait Driver {
    /// The batch's first call, or `None` to run nothing.
    fn first(&mut self) -> Option<Call>;
    /// Takes an invocation's outcome and says what to run next.
    fn next(&mut self, outcome: RawOutcome, probe: &Probe) -> Next;
}

/// An invocation's outcome; `Ok(None)` when the result was not asked for.
/// The error is boxed so that the common outcome moves as two words.
pub type RawOutcome = Result<Option<String>, Box<ScriptError>>;

enum Entry {
    Script(v8::Global<v8::Script>),
    Handler(v8::Global<v8::Function>),
    Failed(ScriptError),
}

#[derive(Clone, Copy)]
enum Target<'s> {
    Script(v8::Local<'s, v8::Script>),
    Handler(v8::Local<'s, v8::Function>),
}

/// Heap numbers read on the isolate's own thread (bytes).
#[derive(Clone, Copy, Debug, Default)]
pub struct HeapStats {
    pub used: u64,
    pub total: u64,
    /// The configured heap limit (not V8's raised limit while a stop unwinds).
    pub limit: u64,
    /// ArrayBuffer backing stores.
    pub external: u64,
    pub external_limit: u64,
}

/// Most unhandled rejections one invocation reports; the rest are counted.
const MAX_REJECTIONS: usize = 100;

/// Promises rejected with no handler during the current invocation, kept
/// in the isolate's slot for the promise-reject callback.
#[derive(Default)]
pub(super) struct Rejections {
    pending: Vec<(v8::Global<v8::Promise>, v8::Global<v8::Value>)>,
    dropped: u64,
}

pub(super) type RejectionsSlot = Rc<RefCell<Rejections>>;

thread_local! {
    /// Set by the promise-reject hook on the isolate's thread: something may
    /// wait in the isolate's `Rejections`. Checked after every invocation,
    /// so the common case costs a thread-local read, not a slot lookup.
    static REJECTIONS_PENDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Most memory an isolate's young generation may grow to (bytes) in warm
/// and cold mode. V8's default for a 64 MiB heap lets a busy isolate's
/// nursery grow well past that; with hundreds of busy isolates it adds up.
/// Measured here (500 busy isolates on 2 threads, peak RSS per isolate; CPU
/// per call within run-to-run noise, ±15%): concat 2.32 → 1.87 MiB, an
/// allocation-heavy handler (300 objects sorted per call) 3.0 MiB at 1 MiB
/// against 4.2 MiB at 4 MiB. The old generation gets the rest of `--heap-mb`.
pub const MAX_YOUNG_GENERATION_BYTES: usize = 1 << 20;

/// The young generation's cap in context mode (bytes). Every invocation
/// there makes a whole context (~150–200 KiB of V8 objects, live until it
/// returns): with a 1 MiB nursery a scavenge came every few contexts and
/// copied the live one each time. Measured (`bench -m context -n 2`,
/// engine / bare, quiet machine, two runs each): 1 MiB 0.67, 0.67; 2 MiB
/// 0.83, 0.75; 4 MiB 0.95, 0.92; 8 MiB 1.02, 0.93.
pub const CONTEXT_MAX_YOUNG_GENERATION_BYTES: usize = 4 << 20;

/// The young generation's cap for isolates of `mode` (bytes), before the
/// heap limit's share is applied (see [`young_generation_bytes`]).
pub fn max_young_generation_bytes(mode: super::Mode) -> usize {
    match mode {
        super::Mode::Context => CONTEXT_MAX_YOUNG_GENERATION_BYTES,
        super::Mode::Warm | super::Mode::Cold | super::Mode::Snapshot => MAX_YOUNG_GENERATION_BYTES,
    }
}

/// The young generation's share of a heap limit: `max_young` (see
/// [`max_young_generation_bytes`]), at most a quarter of the limit; the old
/// generation gets the rest, so the two add up to `--heap-mb`.
pub(super) fn young_generation_bytes(heap_bytes: usize, max_young: usize) -> usize {
    max_young.min(heap_bytes / 4)
}

/// What [`configure`] attached to an isolate, kept next to it: the guard
/// must outlive the isolate, the slots' `Rc`s are shared with it.
pub(super) struct Parts {
    pub console: Rc<RefCell<ConsoleBuf>>,
    pub rejections: RejectionsSlot,
    pub guard: Box<HeapGuard>,
}

/// The create parameters every isolate of ours gets (plain, restored from a
/// snapshot, or a snapshot builder's): the heap limit split between the
/// generations, the external budget's allocator, no `Atomics.wait`.
pub(super) fn create_params(
    limits: &Limits,
    max_young: usize,
    budget: &Arc<ExternalBudget>,
) -> v8::CreateParams {
    let young = young_generation_bytes(limits.heap_bytes, max_young);
    v8::CreateParams::default()
        .heap_limits(0, limits.heap_bytes)
        .set_max_young_generation_size_in_bytes(young)
        .set_max_old_generation_size_in_bytes(limits.heap_bytes - young)
        .array_buffer_allocator(budget.allocator())
        .allow_atomics_wait(false)
}

/// Sets up a new isolate as every isolate of ours is: explicit microtasks,
/// no dynamic import or WebAssembly, `on_oom`, detailed stack traces, the
/// promise-reject hook, the console and rejection slots, the heap guard
/// and the external budget's stop handle.
pub(super) fn configure(
    isolate: &mut v8::OwnedIsolate,
    limits: &Limits,
    bounds: ConsoleBounds,
    on_oom: v8::OomErrorCallback,
    budget: &ExternalBudget,
) -> Parts {
    isolate.set_microtasks_policy(v8::MicrotasksPolicy::Explicit);
    isolate.set_host_import_module_dynamically_callback(refuse_dynamic_import);
    isolate.set_oom_error_handler(on_oom);
    // Every error keeps a detailed trace of its first frames, read
    // without `.stack` (which would run `Error.prepareStackTrace`).
    isolate.set_capture_stack_trace_for_uncaught_exceptions(true, STACK_FRAMES);
    isolate.set_promise_reject_callback(on_promise_reject);
    isolate.set_allow_wasm_code_generation_callback(refuse_wasm);
    // Shared with the console callback through the slot; kept here too
    // so that the hot loop checks it without a call into V8.
    let console = Rc::new(RefCell::new(ConsoleBuf::new(bounds)));
    isolate.set_slot(console.clone());
    let rejections: RejectionsSlot = Default::default();
    isolate.set_slot(rejections.clone());
    let guard = HeapGuard::install(isolate, limits.heap_bytes);
    let _ = budget.handle.set(isolate.thread_safe_handle());
    Parts {
        console,
        rejections,
        guard,
    }
}

/// Drops the unhandled rejections an isolate's slot still holds (global
/// handles, which a snapshot builder must not have when it serializes).
pub(super) fn clear_rejections(rejections: &RejectionsSlot) {
    rejections.borrow_mut().pending.clear();
}

/// Frames kept in captured stack traces (a stack overflow has thousands).
pub const STACK_FRAMES: i32 = 16;

pub struct Sandbox {
    // Globals first: they must be dropped while the isolate is alive.
    entry: Option<(u64, Entry)>,
    context: v8::Global<v8::Context>,
    /// The console template (made on first use in an isolate restored
    /// from a snapshot, whose context already has its console).
    template: Option<v8::Global<v8::ObjectTemplate>>,
    prelude: Option<v8::Global<v8::UnboundScript>>,
    rejections: RejectionsSlot,
    isolate: IsolateCell,
    /// The startup snapshot this isolate was made from: V8 reads it for the
    /// isolate's whole life, so it goes after the isolate.
    _blob: Option<Arc<super::snapshot::Blob>>,
    // After the isolate: V8 may call back into it until the isolate is gone.
    guard: Box<HeapGuard>,
    budget: Arc<ExternalBudget>,
    console: Rc<RefCell<ConsoleBuf>>,
    limits: Limits,
    /// Isolate + context creation time.
    pub cold_start: Duration,
}

// SAFETY: a Sandbox is !Send only through its `Rc`s (console, rejections)
// and, when owned, its isolate. Every clone of those `Rc`s lives inside the
// same Sandbox (its fields and its isolate's slots), so moving the Sandbox
// moves all of them at once, and the scheduler hands a worker (and its
// sandbox) to one thread at a time, through a mutex, which orders every
// access. An owned isolate must stay on the thread that created it: the
// scheduler keeps owned sandboxes on their worker's own thread (the
// per-isolate model) or inside one step (cold mode); the pool shares them
// (see `IsolateCell`), and V8's Locker moves their thread state.
unsafe impl Send for Sandbox {}

/// The isolate, owned by one thread for life, or shared between the
/// pool's threads and locked (`v8::Locker`) by whichever runs it.
enum IsolateCell {
    Owned(v8::OwnedIsolate),
    Shared(v8::SharedIsolate),
}

/// An isolate entered on this thread; a shared one is locked until dropped.
enum Entered<'a> {
    Owned(&'a mut v8::OwnedIsolate),
    Shared(v8::Locker<'a>),
}

impl IsolateCell {
    fn enter(&mut self) -> Entered<'_> {
        match self {
            IsolateCell::Owned(i) => Entered::Owned(i),
            IsolateCell::Shared(s) => Entered::Shared(s.lock()),
        }
    }

    fn handle(&self) -> v8::IsolateHandle {
        match self {
            IsolateCell::Owned(i) => i.thread_safe_handle(),
            IsolateCell::Shared(s) => s.thread_safe_handle(),
        }
    }
}

impl std::ops::Deref for Entered<'_> {
    type Target = v8::Isolate;
    fn deref(&self) -> &v8::Isolate {
        match self {
            Entered::Owned(i) => i,
            Entered::Shared(l) => l,
        }
    }
}

impl std::ops::DerefMut for Entered<'_> {
    fn deref_mut(&mut self) -> &mut v8::Isolate {
        match self {
            Entered::Owned(i) => i,
            Entered::Shared(l) => l,
        }
    }
}

impl Sandbox {
    /// A fresh isolate with its limits, console and a context. `on_oom` is
    /// V8's out-of-memory handler for it (see `worker::on_fatal_oom`).
    /// A `shared` isolate may later run on any thread of the pool, one at a
    /// time (it is locked for each use); an owned one stays on this thread.
    /// No other isolate may be entered on this thread. `max_young` caps
    /// its young generation in bytes ([`max_young_generation_bytes`]).
    pub fn new(
        limits: &Limits,
        bounds: ConsoleBounds,
        on_oom: v8::OomErrorCallback,
        shared: bool,
        max_young: usize,
    ) -> Sandbox {
        let t0 = Instant::now();
        let budget = ExternalBudget::new(limits.external_bytes);
        let params = create_params(limits, max_young, &budget);
        let mut isolate = v8::Isolate::new(params);
        let parts = configure(&mut isolate, limits, bounds, on_oom, &budget);
        let (template, prelude, context) = {
            v8::scope!(let scope, &mut isolate);
            let template = console::template(scope);
            let (context, prelude) = new_context(scope, template, None);
            (
                v8::Global::new(scope, template),
                prelude.map(|p| v8::Global::new(scope, p)),
                v8::Global::new(scope, context),
            )
        };
        let isolate = if shared {
            // SAFETY: nothing attached to the isolate needs a thread of its
            // own: the slots hold `Rc`s that move with this Sandbox (see its
            // Send), the callbacks are plain functions, and their data (the
            // guard, the budget) is Sync. It is still on this thread, with
            // no isolate entered on top of it and no Weak handles.
            match unsafe { isolate.try_into_shared() } {
                Ok(s) => IsolateCell::Shared(s),
                Err(e) => panic!("a fresh isolate could not be shared: {e:?}"),
            }
        } else {
            IsolateCell::Owned(isolate)
        };
        Sandbox {
            entry: None,
            context,
            template: Some(template),
            prelude,
            rejections: parts.rejections,
            isolate,
            _blob: None,
            guard: parts.guard,
            budget,
            console: parts.console,
            limits: *limits,
            cold_start: t0.elapsed(),
        }
    }

    /// A fresh isolate started from a startup snapshot (see
    /// [`super::snapshot`]): its default context already has the console,
    /// the prelude and the script's top level in it, and the entry of
    /// `version` (the compiled script, or the handler) is taken from the
    /// snapshot's context data. Owned by this thread (snapshot mode makes
    /// one per call). The limits, budget, guard and console are this
    /// isolate's own, set up as in [`Sandbox::new`]. An entry missing from
    /// the snapshot (a blob not made by this binary) is an internal error.
    pub fn from_snapshot(
        limits: &Limits,
        bounds: ConsoleBounds,
        on_oom: v8::OomErrorCallback,
        max_young: usize,
        blob: &Arc<super::snapshot::Blob>,
        version: u64,
    ) -> Result<Sandbox, ScriptError> {
        let t0 = Instant::now();
        let budget = ExternalBudget::new(limits.external_bytes);
        // SAFETY: V8 reads the blob while the isolate lives (contexts are
        // deserialized from it on demand). The slice is owned by `blob`,
        // an Arc kept in this Sandbox's `_blob`, which is dropped after
        // the isolate (field order), and never moved or mutated.
        let bytes: &'static [u8] =
            unsafe { std::mem::transmute::<&[u8], &'static [u8]>(blob.bytes()) };
        let params = create_params(limits, max_young, &budget)
            .snapshot_blob(v8::StartupData::from(bytes))
            .external_references(super::snapshot::external_references().into());
        let mut isolate = v8::Isolate::new(params);
        let parts = configure(&mut isolate, limits, bounds, on_oom, &budget);
        let restored = {
            v8::scope!(let scope, &mut isolate);
            let context = v8::Context::new(scope, Default::default());
            let cs = &mut v8::ContextScope::new(scope, context);
            if let Err(e) = check_restored_guards(cs, blob.absent_globals()) {
                return Err(internal(&format!(
                    "a context restored from the startup snapshot: {e}"
                )));
            }
            let data = cs.get_context_data_from_snapshot_once::<v8::Data>(blob.entry_index());
            let entry = match (data, blob.kind()) {
                (Ok(d), ScriptKind::Script) => {
                    // SAFETY: the builder stored the script's UnboundScript
                    // at this index for a plain script (see `snapshot`),
                    // and the blob says this is one.
                    let unbound = unsafe { v8::Local::<v8::UnboundScript>::cast_unchecked(d) };
                    let script = unbound.bind_to_current_context(cs);
                    Some(Entry::Script(v8::Global::new(cs, script)))
                }
                (Ok(d), ScriptKind::Handler) => v8::Local::<v8::Function>::try_from(d)
                    .ok()
                    .map(|f| Entry::Handler(v8::Global::new(cs, f))),
                (Err(_), _) => None,
            };
            entry.map(|e| (e, v8::Global::new(cs, context)))
        };
        let Some((entry, context)) = restored else {
            return Err(internal(
                "the startup snapshot has no entry for this script",
            ));
        };
        Ok(Sandbox {
            entry: Some((version, entry)),
            context,
            template: None,
            prelude: None,
            rejections: parts.rejections,
            isolate: IsolateCell::Owned(isolate),
            _blob: Some(blob.clone()),
            guard: parts.guard,
            budget,
            console: parts.console,
            limits: *limits,
            cold_start: t0.elapsed(),
        })
    }

    pub fn handle(&self) -> v8::IsolateHandle {
        self.isolate.handle()
    }

    /// Clears a termination that was meant for an invocation that had
    /// already ended (see the watchdog).
    pub fn cancel_termination(&mut self) {
        self.isolate.enter().cancel_terminate_execution();
    }

    pub fn heap_stats(&mut self) -> HeapStats {
        let s = self.isolate.enter().get_heap_statistics();
        HeapStats {
            used: s.used_heap_size() as u64,
            total: s.total_heap_size() as u64,
            limit: self.limits.heap_bytes as u64,
            external: self.budget.used.load(Relaxed) as u64,
            external_limit: self.limits.external_bytes as u64,
        }
    }

    /// Compiles (or loads) `src` into the kept context unless this version
    /// already is. A load stopped by a limit is returned and not kept.
    fn ensure_entry(&mut self, src: &Source) -> Result<(), ScriptError> {
        if self.entry.as_ref().map(|(v, _)| *v) == Some(src.version) {
            return Ok(());
        }
        let entry = {
            let mut iso = self.isolate.enter();
            v8::scope!(let hs, &mut *iso);
            let context = v8::Local::new(hs, &self.context);
            let scope = &mut v8::ContextScope::new(hs, context);
            v8::tc_scope!(let tc, scope);
            match src.kind {
                ScriptKind::Script => {
                    script::compile_script(tc, src).map(|s| Entry::Script(v8::Global::new(tc, s)))
                }
                ScriptKind::Handler => {
                    let loaded = script::load_handler(tc, src);
                    settle(tc, src);
                    loaded.map(|f| Entry::Handler(v8::Global::new(tc, f)))
                }
            }
        };
        let entry = match entry {
            Ok(e) => e,
            Err(e) if e.kind == ErrorKind::Timeout => return Err(e),
            Err(e) if self.probe().guard_stop().is_some() => return Err(e),
            Err(e) => Entry::Failed(e),
        };
        self.entry = Some((src.version, entry));
        Ok(())
    }

    /// Warm: invocations back to back in the kept context, compiled once per
    /// version. The scopes are entered once per batch, not per invocation.
    /// `Next::Retry` clears a stray termination first.
    pub fn warm_batch(&mut self, src: &Source, payload: &str, driver: &mut impl Driver) {
        let Some(mut call) = driver.first() else {
            return;
        };
        if let Err(e) = self.ensure_entry(src) {
            driver.next(Err(Box::new(e)), &self.probe());
            return;
        }
        let probe = Probe {
            console: &self.console,
            guard: &self.guard,
            budget: &self.budget,
        };
        let mut iso = self.isolate.enter();
        v8::scope!(let hs, &mut *iso);
        let context = v8::Local::new(hs, &self.context);
        let scope = &mut v8::ContextScope::new(hs, context);
        let target = match &self.entry {
            Some((_, Entry::Script(s))) => Target::Script(v8::Local::new(scope, s)),
            Some((_, Entry::Handler(f))) => Target::Handler(v8::Local::new(scope, f)),
            Some((_, Entry::Failed(e))) => {
                while let Next::Call(_) | Next::Retry(_) =
                    driver.next(Err(Box::new(e.clone())), &probe)
                {}
                return;
            }
            None => {
                driver.next(Err(Box::new(internal("no compiled entry"))), &probe);
                return;
            }
        };
        // Chunks of invocations share one TryCatch (and a handle scope for
        // error details); each invocation still gets its own handle scope, so
        // no result outlives its invocation. A failure ends the chunk, so a
        // TryCatch never carries one invocation's exception into the next.
        loop {
            v8::scope!(let cs, scope);
            v8::tc_scope!(let tc, cs);
            for _ in 0..CHUNK {
                let ran = {
                    v8::scope!(let s, &mut **tc);
                    run_call(s, target, &call, payload, src)
                };
                let failed = ran.is_err();
                let outcome = ran.map_err(|f| f.resolve(tc, src));
                match driver.next(outcome, &probe) {
                    Next::Call(c) => call = c,
                    Next::Retry(c) => {
                        tc.cancel_terminate_execution();
                        call = c;
                    }
                    Next::Stop => return,
                }
                if failed {
                    break;
                }
            }
        }
    }

    /// What the worker needs to see after an invocation.
    pub fn probe(&self) -> Probe<'_> {
        Probe {
            console: &self.console,
            guard: &self.guard,
            budget: &self.budget,
        }
    }

    /// One warm invocation (used by cold mode: a fresh isolate, run once).
    pub fn invoke_warm(&mut self, src: &Source, call: &Call, payload: &str) -> RawOutcome {
        self.ensure_entry(src)?;
        let mut iso = self.isolate.enter();
        v8::scope!(let hs, &mut *iso);
        let context = v8::Local::new(hs, &self.context);
        let scope = &mut v8::ContextScope::new(hs, context);
        v8::tc_scope!(let tc, scope);
        let target = match &self.entry {
            Some((_, Entry::Script(s))) => Target::Script(v8::Local::new(tc, s)),
            Some((_, Entry::Handler(f))) => Target::Handler(v8::Local::new(tc, f)),
            Some((_, Entry::Failed(e))) => return Err(Box::new(e.clone())),
            None => return Err(Box::new(internal("no compiled entry"))),
        };
        execute(tc, target, call, payload, src)
    }

    /// Context: a fresh context in this isolate, the source compiled into it
    /// (V8's per-isolate compilation cache makes repeats cheap).
    pub fn invoke_fresh_context(&mut self, src: &Source, call: &Call, payload: &str) -> RawOutcome {
        let mut iso = self.isolate.enter();
        v8::scope!(let hs, &mut *iso);
        let template = match &self.template {
            Some(t) => v8::Local::new(hs, t),
            None => {
                let t = console::template(hs);
                self.template = Some(v8::Global::new(hs, t));
                t
            }
        };
        let prelude = self.prelude.as_ref().map(|p| v8::Local::new(hs, p));
        let (context, _) = new_context(hs, template, prelude);
        let scope = &mut v8::ContextScope::new(hs, context);
        v8::tc_scope!(let tc, scope);
        let target = match src.kind {
            ScriptKind::Script => Target::Script(script::compile_script(tc, src)?),
            ScriptKind::Handler => {
                let loaded = script::load_handler(tc, src);
                settle(tc, src);
                Target::Handler(loaded?)
            }
        };
        execute(tc, target, call, payload, src)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Globals must go while the isolate lives; the slot's copy of this
        // list would otherwise outlive it.
        let mut r = self.rejections.borrow_mut();
        r.pending.clear();
    }
}

/// Run in every new context before any script: takes away what V8 would
/// allocate outside the isolate's external-memory budget. WebAssembly
/// memories and resizable (or growable) buffers are mapped by V8 itself,
/// not through the ArrayBuffer allocator that counts the budget. What the
/// guard calls is captured here, before any script can replace it (a
/// script's own `Reflect.construct` must not be the one that builds the
/// buffer), and options are read once, so a getter cannot answer the check
/// and the constructor differently.
const PRELUDE: &str = r#"(() => {
  'use strict';
  const { construct, apply, defineProperty } = Reflect;
  const Proxy_ = Proxy, RangeError_ = RangeError;
  delete globalThis.WebAssembly;
  for (const name of ['ArrayBuffer', 'SharedArrayBuffer']) {
    const Real = globalThis[name];
    const check = (args) => {
      const options = args[1];
      if (options !== null && (typeof options === 'object' || typeof options === 'function')) {
        if (options.maxByteLength !== undefined) {
          throw new RangeError_(`${name} with maxByteLength is not available in isolate-play: ` +
            'V8 maps resizable buffers outside the per-isolate external-memory budget');
        }
      }
      return [args[0]];
    };
    const Guarded = new Proxy_(Real, {
      construct(target, args, newTarget) {
        return construct(target, check(args), newTarget === Guarded ? target : newTarget);
      },
      apply(target, thisArg, args) {
        return apply(target, thisArg, check(args));
      },
    });
    defineProperty(Real.prototype, 'constructor', { value: Guarded, writable: true, configurable: true });
    defineProperty(globalThis, name, { value: Guarded, writable: true, configurable: true });
  }
})();"#;

/// The prelude, compiled once per isolate (it runs in every new context).
fn compile_prelude<'s>(
    scope: &mut v8::PinScope<'s, '_>,
) -> Option<v8::Local<'s, v8::UnboundScript>> {
    let code = v8::String::new(scope, PRELUDE)?;
    let mut source = v8::script_compiler::Source::new(code, None);
    v8::script_compiler::compile_unbound_script(
        scope,
        &mut source,
        v8::script_compiler::CompileOptions::NoCompileOptions,
        v8::script_compiler::NoCacheReason::NoReason,
    )
}

/// A plain context with our console in place of V8's, and the prelude run
/// (compiled here when the isolate has none yet; returned for reuse).
pub(super) fn new_context<'s>(
    scope: &mut v8::PinScope<'s, '_, ()>,
    console_template: v8::Local<'s, v8::ObjectTemplate>,
    prelude: Option<v8::Local<'s, v8::UnboundScript>>,
) -> (
    v8::Local<'s, v8::Context>,
    Option<v8::Local<'s, v8::UnboundScript>>,
) {
    make_context(scope, console_template, prelude, false)
}

/// [`new_context`] in a snapshot builder's isolate (see
/// `restore_shared_array_buffer`).
pub(super) fn new_builder_context<'s>(
    scope: &mut v8::PinScope<'s, '_, ()>,
    console_template: v8::Local<'s, v8::ObjectTemplate>,
) -> v8::Local<'s, v8::Context> {
    make_context(scope, console_template, None, true).0
}

fn make_context<'s>(
    scope: &mut v8::PinScope<'s, '_, ()>,
    console_template: v8::Local<'s, v8::ObjectTemplate>,
    prelude: Option<v8::Local<'s, v8::UnboundScript>>,
    builder: bool,
) -> (
    v8::Local<'s, v8::Context>,
    Option<v8::Local<'s, v8::UnboundScript>>,
) {
    let context = v8::Context::new(scope, Default::default());
    let cs = &mut v8::ContextScope::new(scope, context);
    if builder {
        restore_shared_array_buffer(cs);
    }
    console::install(cs, console_template);
    let prelude = prelude.or_else(|| compile_prelude(cs));
    let ran = prelude.and_then(|p| p.bind_to_current_context(cs).run(cs));
    debug_assert!(ran.is_some(), "the prelude runs");
    (context, prelude)
}

/// V8 leaves its flag-dependent globals, `SharedArrayBuffer` among them,
/// out of a context made by a snapshot builder, and adds them again to
/// every context restored from the snapshot. The builder's context gets
/// `SharedArrayBuffer` back here (its constructor, from an instance's
/// prototype), so that the top level sees what cold mode's does and the
/// prelude guards it; what a restored context gets is checked by
/// [`check_restored_guards`].
fn restore_shared_array_buffer(scope: &mut v8::PinScope) {
    let global = scope.get_current_context().global(scope);
    let Some(key) = v8::String::new(scope, "SharedArrayBuffer") else {
        return;
    };
    if global
        .get(scope, key.into())
        .is_some_and(|v| !v.is_undefined())
    {
        return;
    }
    let ctor = v8::SharedArrayBuffer::new(scope, 0)
        .and_then(|sab| sab.get_prototype(scope))
        .and_then(|proto| proto.to_object(scope))
        .zip(v8::String::new(scope, "constructor"))
        .and_then(|(proto, name)| proto.get(scope, name.into()));
    if let Some(ctor) = ctor.filter(|c| c.is_function()) {
        global.define_own_property(scope, key.into(), ctor, v8::PropertyAttribute::DONT_ENUM);
    }
}

/// The globals a restored context is checked for: V8 adds its
/// flag-dependent globals (`WebAssembly`, `SharedArrayBuffer`) back to
/// every context it deserializes when the snapshotted global has no such
/// property, and `ArrayBuffer` is checked with them.
pub(super) const RESTORE_CHECKED: [&str; 3] = ["WebAssembly", "ArrayBuffer", "SharedArrayBuffer"];

/// Which of [`RESTORE_CHECKED`] the current context's global has no own
/// property for (the prelude deleted `WebAssembly`; the top level may
/// have deleted the others). Runs no script code.
pub(super) fn absent_globals(scope: &mut v8::PinScope) -> Vec<String> {
    let global = scope.get_current_context().global(scope);
    RESTORE_CHECKED
        .iter()
        .filter(|name| {
            v8::String::new(scope, name).and_then(|k| global.has_own_property(scope, k.into()))
                == Some(false)
        })
        .map(|n| n.to_string())
        .collect()
}

/// After a context is restored from a snapshot: whatever of `absent` (the
/// names the snapshotted global had no own property for, see
/// [`absent_globals`]) the context has now, V8 added back (`WebAssembly`,
/// which the prelude deleted; `SharedArrayBuffer`, if the top level
/// deleted the guarded one): it is taken away again, as unguarded as V8
/// made it. A name the global had is the prelude's guarded constructor or
/// the top level's own value, left as cold mode would have it. Reads only
/// own properties, so that no getter, proxy or prototype of the top
/// level's runs here (outside any limit's watch). An error (a name that
/// cannot be taken away) means the isolate must not run the script.
pub(super) fn check_restored_guards(
    scope: &mut v8::PinScope,
    absent: &[String],
) -> Result<(), String> {
    let global = scope.get_current_context().global(scope);
    for name in absent {
        let key = v8::String::new(scope, name).ok_or("no string")?;
        if global.has_own_property(scope, key.into()) == Some(false) {
            continue;
        }
        global.delete(scope, key.into());
        if global.has_own_property(scope, key.into()) != Some(false) {
            return Err(format!(
                "{name}, which V8 added back, could not be taken away"
            ));
        }
    }
    Ok(())
}

/// Invocations per TryCatch in a warm batch.
const CHUNK: u32 = 256;

fn internal(what: &str) -> ScriptError {
    ScriptError::new(
        ErrorKind::Internal,
        format!("isolate-play internal error: {what}"),
    )
}

/// Why an invocation failed, before the details are read.
enum Fail {
    /// An exception is waiting in the enclosing TryCatch; its microtasks
    /// have not run yet.
    Threw,
    Error(Box<ScriptError>),
}

impl Fail {
    /// Reads the error (location first, before anything can run script
    /// code), then finishes the invocation: its microtasks and rejections.
    fn resolve(
        self,
        tc: &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>,
        src: &Source,
    ) -> Box<ScriptError> {
        match self {
            Fail::Threw => {
                let err = script::caught(tc, ErrorKind::Exception, src);
                tc.reset();
                settle(tc, src);
                Box::new(err)
            }
            Fail::Error(e) => e,
        }
    }
}

fn execute<'s>(
    tc: &mut v8::PinnedRef<'s, v8::TryCatch<v8::HandleScope>>,
    target: Target<'s>,
    call: &Call,
    payload: &str,
    src: &Source,
) -> RawOutcome {
    run_call(tc, target, call, payload, src).map_err(|f| f.resolve(tc, src))
}

fn terminated() -> Fail {
    Fail::Error(Box::new(ScriptError::new(ErrorKind::Timeout, "terminated")))
}

/// Drains the microtask queue and reports the promises it left rejected
/// without a handler, on this invocation's console. Returns false when the
/// isolate is being terminated.
pub(super) fn settle(scope: &mut v8::PinScope, src: &Source) -> bool {
    scope.perform_microtask_checkpoint();
    if scope.is_execution_terminating() {
        return false;
    }
    report_rejections(scope, src);
    !scope.is_execution_terminating()
}

/// Runs one invocation in `scope`, which must sit inside a TryCatch.
#[inline(always)]
fn run_call<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    target: Target<'_>,
    call: &Call,
    payload: &str,
    src: &Source,
) -> Result<Option<String>, Fail> {
    let value = match target {
        Target::Script(s) => s.run(scope),
        Target::Handler(f) => {
            let event = format!(
                r#"{{"isolate":{},"invocation":{},"payload":{}}}"#,
                call.isolate, call.invocation, payload
            );
            let event = v8::String::new(scope, &event)
                .and_then(|e| v8::json::parse(scope, e))
                .ok_or_else(|| Fail::Error(Box::new(internal("the event is not valid JSON"))))?;
            let recv = v8::undefined(scope).into();
            f.call(scope, recv, &[event])
        }
    };
    let Some(mut value) = value else {
        return Err(Fail::Threw);
    };
    scope.perform_microtask_checkpoint();
    if scope.is_execution_terminating() {
        return Err(terminated());
    }
    if value.is_promise() {
        let promise = value.cast::<v8::Promise>();
        match promise.state() {
            v8::PromiseState::Fulfilled => value = promise.result(scope),
            v8::PromiseState::Rejected => {
                promise.mark_as_handled();
                forget_rejection(scope, promise);
                report_rejections(scope, src);
                let reason = promise.result(scope);
                let err = script::from_value(scope, reason, ErrorKind::Rejection, src);
                if scope.is_execution_terminating() {
                    return Err(terminated());
                }
                return Err(Fail::Error(Box::new(err)));
            }
            v8::PromiseState::Pending => {
                report_rejections(scope, src);
                return Err(Fail::Error(Box::new(ScriptError::new(
                    ErrorKind::Unsettled,
                    "the returned promise never settled: nothing was left to run \
                     (scripts get no timers or I/O, so only other promises can settle it)",
                ))));
            }
        }
    }
    report_rejections(scope, src);
    if !call.want_result {
        return Ok(None);
    }
    let text = format::display(
        scope,
        value,
        format::Bounds {
            max_bytes: MAX_RESULT_BYTES,
            ..Default::default()
        },
    );
    if scope.is_execution_terminating() {
        return Err(terminated());
    }
    over_heap_limit(scope, call.heap_limit)?;
    Ok(Some(text))
}

/// V8 admits one young large allocation (a string or array of up to
/// ~1 GiB) before it checks the limit, so a call can pass the heap limit
/// without the guard hearing of it. Every call whose result is formatted
/// (the reported calls of counted runs, and one sampled call per publish
/// window under load) ends with a look at the heap; one over its limit is
/// a heap-limit stop. `limit` is the configured one, for the message
/// (V8's own figure counts part of the young generation twice).
fn over_heap_limit(scope: &mut v8::PinScope, limit: usize) -> Result<(), Fail> {
    let s = scope.get_heap_statistics();
    if s.used_heap_size() <= s.heap_size_limit() {
        return Ok(());
    }
    Err(Fail::Error(Box::new(ScriptError::new(
        ErrorKind::HeapLimit,
        format!(
            "heap limit exceeded: the isolate's heap held {} of its {} limit (in one allocation, which V8 \
             admits before it checks); the isolate was discarded and replaced",
            crate::metrics::fmt_bytes(s.used_heap_size() as u64),
            crate::metrics::fmt_bytes(limit as u64)
        ),
    ))))
}

/// V8's promise-reject hook: remembers promises rejected with no handler,
/// forgets those that get one later in the same invocation.
extern "C" fn on_promise_reject(msg: v8::PromiseRejectMessage) {
    v8::callback_scope!(unsafe scope, &msg);
    let Some(slot) = scope.get_slot::<RejectionsSlot>().cloned() else {
        return;
    };
    let promise = msg.get_promise();
    match msg.get_event() {
        v8::PromiseRejectEvent::PromiseRejectWithNoHandler => {
            REJECTIONS_PENDING.with(|p| p.set(true));
            let mut r = slot.borrow_mut();
            if r.pending.len() >= MAX_REJECTIONS {
                r.dropped += 1;
                return;
            }
            let reason = msg
                .get_value()
                .unwrap_or_else(|| v8::undefined(scope).into());
            let entry = (
                v8::Global::new(scope, promise),
                v8::Global::new(scope, reason),
            );
            r.pending.push(entry);
        }
        v8::PromiseRejectEvent::PromiseHandlerAddedAfterReject => {
            forget_rejection(scope, promise);
        }
        _ => {}
    }
}

/// Drops `promise` from the unhandled rejections: it got a handler, or its
/// rejection is reported as the invocation's own error.
pub(crate) fn forget_rejection(scope: &mut v8::PinScope, promise: v8::Local<v8::Promise>) {
    let Some(slot) = scope.get_slot::<RejectionsSlot>().cloned() else {
        return;
    };
    slot.borrow_mut()
        .pending
        .retain(|(p, _)| v8::Local::new(scope, p) != promise);
}

/// Moves the pending unhandled rejections onto the console, at error
/// level, as browsers and workerd print them: `Uncaught (in promise) …`.
#[inline(always)]
fn report_rejections(scope: &mut v8::PinScope, src: &Source) {
    if REJECTIONS_PENDING.with(|p| p.replace(false)) {
        report_pending_rejections(scope, src);
    }
}

#[inline(never)]
fn report_pending_rejections(scope: &mut v8::PinScope, src: &Source) {
    let Some(slot) = scope.get_slot::<RejectionsSlot>().cloned() else {
        return;
    };
    let (pending, dropped) = {
        let mut r = slot.borrow_mut();
        if r.pending.is_empty() && r.dropped == 0 {
            return;
        }
        (
            std::mem::take(&mut r.pending),
            std::mem::take(&mut r.dropped),
        )
    };
    let Some(console) = scope.get_slot::<Rc<RefCell<ConsoleBuf>>>().cloned() else {
        return;
    };
    for (_, reason) in pending {
        let reason = v8::Local::new(scope, reason);
        let err = script::from_value(scope, reason, ErrorKind::Rejection, src);
        if scope.is_execution_terminating() {
            return;
        }
        console
            .borrow_mut()
            .push(Level::Error, uncaught_in_promise(&err));
    }
    if dropped > 0 {
        console.borrow_mut().push(
            Level::Error,
            format!("… and {dropped} more unhandled rejections"),
        );
    }
}

/// No WebAssembly code is ever compiled (see `PRELUDE`).
unsafe extern "C" fn refuse_wasm(
    _context: v8::Local<v8::Context>,
    _source: v8::Local<v8::String>,
) -> bool {
    false
}

/// `Uncaught (in promise) Error: x` and the stack below it, as a browser's
/// console shows it; where there is no stack, the position.
fn uncaught_in_promise(err: &ScriptError) -> String {
    let mut line = format!("Uncaught (in promise) {}", err.message);
    match (&err.stack, &err.location) {
        (Some(stack), _) => {
            line.push('\n');
            line.push_str(stack);
        }
        (None, Some(at)) => {
            line.push_str(&format!("\n    at {}:{}:{}", at.file, at.line, at.column));
        }
        (None, None) => {}
    }
    line
}

fn refuse_dynamic_import<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    _options: v8::Local<'s, v8::Data>,
    _resource: v8::Local<'s, v8::Value>,
    specifier: v8::Local<'s, v8::String>,
    _attributes: v8::Local<'s, v8::FixedArray>,
) -> Option<v8::Local<'s, v8::Promise>> {
    let spec = format::string_prefix(scope, specifier, 200);
    let resolver = v8::PromiseResolver::new(scope)?;
    let msg = v8::String::new(scope, &script::import_refusal(&spec))?;
    let err = v8::Exception::error(scope, msg);
    resolver.reject(scope, err);
    Some(resolver.get_promise(scope))
}
