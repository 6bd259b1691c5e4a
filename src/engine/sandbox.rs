//! One isolate with what it keeps between invocations: the console template,
//! the warm context and the compiled entry of the current version. Lives and
//! dies on one worker thread.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::console::{self, ConsoleBounds, ConsoleBuf, MAX_RESULT_BYTES};
use super::limits::{HeapGuard, Limits};
use super::report::{ErrorKind, ScriptError};
use super::script::{self, ScriptKind, Source};

/// One invocation's identity (the handler's event gets these and the payload).
#[derive(Clone, Copy, Debug)]
pub struct Call {
    pub isolate: usize,
    pub invocation: u64,
    /// Stringify the result (skipped under load except for sampled calls).
    pub want_result: bool,
}

/// What a warm batch runs next.
pub enum Next {
    Call(Call),
    /// Run again after clearing a termination that was not meant for it.
    Retry(Call),
    Stop,
}

/// What the worker reads after an invocation without touching V8.
pub struct Probe<'a> {
    console: &'a RefCell<ConsoleBuf>,
    guard: &'a HeapGuard,
}

impl Probe<'_> {
    pub fn console(&self) -> std::cell::RefMut<'_, ConsoleBuf> {
        self.console.borrow_mut()
    }
    pub fn heap_hit(&self) -> bool {
        self.guard.hit.load(std::sync::atomic::Ordering::Relaxed)
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

/// Heap numbers read on the isolate's own thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeapStats {
    pub used: u64,
    pub total: u64,
    pub limit: u64,
    pub external: u64,
}

pub struct Sandbox {
    // Globals first: they must be dropped while the isolate is alive.
    entry: Option<(u64, Entry)>,
    context: v8::Global<v8::Context>,
    template: v8::Global<v8::ObjectTemplate>,
    isolate: v8::OwnedIsolate,
    // After the isolate: V8 may call back into it until the isolate is gone.
    guard: Box<HeapGuard>,
    console: Rc<RefCell<ConsoleBuf>>,
    /// Isolate + context creation time.
    pub cold_start: Duration,
}

impl Sandbox {
    pub fn new(limits: &Limits, bounds: ConsoleBounds) -> Sandbox {
        let t0 = Instant::now();
        let params = v8::CreateParams::default()
            .heap_limits(0, limits.heap_bytes)
            .allow_atomics_wait(false);
        let mut isolate = v8::Isolate::new(params);
        isolate.set_microtasks_policy(v8::MicrotasksPolicy::Explicit);
        isolate.set_host_import_module_dynamically_callback(refuse_dynamic_import);
        // Shared with the console callback through the slot; kept here too
        // so that the hot loop checks it without a call into V8.
        let console = Rc::new(RefCell::new(ConsoleBuf::new(bounds)));
        isolate.set_slot(console.clone());
        let guard = HeapGuard::install(&mut isolate);
        let (template, context) = {
            v8::scope!(let scope, &mut isolate);
            let template = console::template(scope);
            let context = new_context(scope, template);
            (
                v8::Global::new(scope, template),
                v8::Global::new(scope, context),
            )
        };
        Sandbox {
            entry: None,
            context,
            template,
            isolate,
            guard,
            console,
            cold_start: t0.elapsed(),
        }
    }

    pub fn handle(&self) -> v8::IsolateHandle {
        self.isolate.thread_safe_handle()
    }

    /// Clears a termination that was meant for an invocation that had
    /// already ended (see the watchdog).
    pub fn cancel_termination(&mut self) {
        self.isolate.cancel_terminate_execution();
    }

    pub fn heap_stats(&mut self) -> HeapStats {
        let s = self.isolate.get_heap_statistics();
        HeapStats {
            used: s.used_heap_size() as u64,
            total: s.total_heap_size() as u64,
            limit: s.heap_size_limit() as u64,
            external: s.external_memory() as u64,
        }
    }

    /// Compiles (or loads) `src` into the kept context unless this version
    /// already is. A load stopped by a limit is returned and not kept.
    fn ensure_entry(&mut self, src: &Source) -> Result<(), ScriptError> {
        if self.entry.as_ref().map(|(v, _)| *v) == Some(src.version) {
            return Ok(());
        }
        v8::scope!(let hs, &mut self.isolate);
        let context = v8::Local::new(hs, &self.context);
        let scope = &mut v8::ContextScope::new(hs, context);
        v8::tc_scope!(let tc, scope);
        let entry = match src.kind {
            ScriptKind::Script => {
                script::compile_script(tc, src).map(|s| Entry::Script(v8::Global::new(tc, s)))
            }
            ScriptKind::Handler => {
                script::load_handler(tc, src).map(|f| Entry::Handler(v8::Global::new(tc, f)))
            }
        };
        let entry = match entry {
            Ok(e) => e,
            Err(e) if e.kind == ErrorKind::Timeout => return Err(e),
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
        };
        v8::scope!(let hs, &mut self.isolate);
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
            None => unreachable!("ensure_entry set it"),
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
                    run_call(s, target, &call, payload)
                };
                let failed = ran.is_err();
                let outcome = ran.map_err(|f| f.resolve(tc));
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
        }
    }

    /// One warm invocation (used by cold mode: a fresh isolate, run once).
    pub fn invoke_warm(&mut self, src: &Source, call: &Call, payload: &str) -> RawOutcome {
        self.ensure_entry(src)?;
        v8::scope!(let hs, &mut self.isolate);
        let context = v8::Local::new(hs, &self.context);
        let scope = &mut v8::ContextScope::new(hs, context);
        v8::tc_scope!(let tc, scope);
        let target = match &self.entry {
            Some((_, Entry::Script(s))) => Target::Script(v8::Local::new(tc, s)),
            Some((_, Entry::Handler(f))) => Target::Handler(v8::Local::new(tc, f)),
            Some((_, Entry::Failed(e))) => return Err(Box::new(e.clone())),
            None => unreachable!("ensure_entry set it"),
        };
        execute(tc, target, call, payload)
    }

    /// Context: a fresh context in this isolate, the source compiled into it
    /// (V8's per-isolate compilation cache makes repeats cheap).
    pub fn invoke_fresh_context(&mut self, src: &Source, call: &Call, payload: &str) -> RawOutcome {
        v8::scope!(let hs, &mut self.isolate);
        let template = v8::Local::new(hs, &self.template);
        let context = new_context(hs, template);
        let scope = &mut v8::ContextScope::new(hs, context);
        v8::tc_scope!(let tc, scope);
        let target = match src.kind {
            ScriptKind::Script => Target::Script(script::compile_script(tc, src)?),
            ScriptKind::Handler => Target::Handler(script::load_handler(tc, src)?),
        };
        execute(tc, target, call, payload)
    }
}

/// A plain context with our console in place of V8's.
fn new_context<'s>(
    scope: &mut v8::PinScope<'s, '_, ()>,
    console_template: v8::Local<'s, v8::ObjectTemplate>,
) -> v8::Local<'s, v8::Context> {
    let context = v8::Context::new(scope, Default::default());
    let cs = &mut v8::ContextScope::new(scope, context);
    console::install(cs, console_template);
    context
}

/// Invocations per TryCatch in a warm batch.
const CHUNK: u32 = 256;

/// Why an invocation failed, before the details are read.
enum Fail {
    /// An exception is waiting in the enclosing TryCatch.
    Threw,
    Error(Box<ScriptError>),
}

impl Fail {
    fn resolve(
        self,
        tc: &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>,
    ) -> Box<ScriptError> {
        match self {
            Fail::Threw => Box::new(script::caught(tc, ErrorKind::Exception)),
            Fail::Error(e) => e,
        }
    }
}

fn execute<'s>(
    tc: &mut v8::PinnedRef<'s, v8::TryCatch<v8::HandleScope>>,
    target: Target<'s>,
    call: &Call,
    payload: &str,
) -> RawOutcome {
    run_call(tc, target, call, payload).map_err(|f| f.resolve(tc))
}

/// Runs one invocation in `scope`, which must sit inside a TryCatch.
#[inline(always)]
fn run_call<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    target: Target<'_>,
    call: &Call,
    payload: &str,
) -> Result<Option<String>, Fail> {
    let terminated = || Fail::Error(Box::new(ScriptError::new(ErrorKind::Timeout, "terminated")));
    let value = match target {
        Target::Script(s) => s.run(scope),
        Target::Handler(f) => {
            let event = format!(
                r#"{{"isolate":{},"invocation":{},"payload":{}}}"#,
                call.isolate, call.invocation, payload
            );
            let event = v8::String::new(scope, &event).unwrap();
            let event = v8::json::parse(scope, event).unwrap();
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
                let reason = promise.result(scope);
                return Err(Fail::Error(Box::new(script::from_value(
                    scope,
                    reason,
                    ErrorKind::Rejection,
                ))));
            }
            v8::PromiseState::Pending => {
                return Err(Fail::Error(Box::new(ScriptError::new(
                    ErrorKind::Unsettled,
                    "the returned promise never settled: nothing was left to run \
                     (scripts get no timers or I/O, so only other promises can settle it)",
                ))));
            }
        }
    }
    if !call.want_result {
        return Ok(None);
    }
    let text = console::display(scope, value);
    if scope.is_execution_terminating() {
        return Err(terminated());
    }
    Ok(Some(console::truncate_with_note(text, MAX_RESULT_BYTES)))
}

fn refuse_dynamic_import<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    _options: v8::Local<'s, v8::Data>,
    _resource: v8::Local<'s, v8::Value>,
    specifier: v8::Local<'s, v8::String>,
    _attributes: v8::Local<'s, v8::FixedArray>,
) -> Option<v8::Local<'s, v8::Promise>> {
    let spec = specifier.to_rust_string_lossy(scope);
    let resolver = v8::PromiseResolver::new(scope)?;
    let msg = v8::String::new(scope, &script::import_refusal(&spec))?;
    let err = v8::Exception::error(scope, msg);
    resolver.reject(scope, err);
    Some(resolver.get_promise(scope))
}
