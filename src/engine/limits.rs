//! Limits that keep one script from taking the process down or reaching its
//! neighbours:
//!
//! - the **heap guard**: V8's near-heap-limit callback. V8 offers it only two
//!   answers, "raise the limit" or "die" (a fatal out-of-memory abort of the
//!   whole process). The guard stops the script (`terminate_execution`) and
//!   raises the limit so the stop can unwind: headroom drawn from one
//!   process-wide [`HEADROOM_POOL_BYTES`] pool, never past a per-isolate
//!   ceiling ([`heap_ceiling`]). A JS loop stops at its next iteration and
//!   uses little of it; one large allocation in flight can use much. A built-in function that V8
//!   cannot interrupt (a `fill` over a dictionary array, a spread of a huge
//!   string) can still need more than that: V8 then calls its out-of-memory
//!   handler, which the worker turns into an *abandoned* isolate (see
//!   `worker.rs`): the thread is parked for good, the process lives, and the
//!   isolate's memory (at most its ceiling) stays allocated until exit.
//! - the **external-memory budget**: every isolate gets its own ArrayBuffer
//!   allocator that counts backing-store bytes and refuses past the budget
//!   (the script sees a catchable `RangeError`; one that keeps asking is
//!   stopped). WebAssembly and resizable buffers are not offered (see the
//!   sandbox's prelude): V8 maps their memory itself, outside any allocator
//!   the embedder can hook, so they could not be held to the budget.
//! - the **watchdog**: one thread that stops invocations past their
//!   wall-clock timeout or their CPU-time limit with `terminate_execution`.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::report::{KILL_CPU, KILL_WALL, WorkerShared};

/// Per-isolate limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// V8 heap limit (old + young generation), bytes.
    pub heap_bytes: usize,
    /// Budget for memory outside the V8 heap (ArrayBuffer backing stores),
    /// bytes.
    pub external_bytes: usize,
    /// Wall-clock limit per invocation, counted from when it starts
    /// running (never while its isolate waits for a thread).
    pub timeout: Duration,
    /// CPU-time limit per invocation (the executing thread's CPU clock);
    /// None: no limit but the wall clock.
    pub cpu: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            heap_bytes: 64 << 20,
            external_bytes: 64 << 20,
            timeout: Duration::from_secs(1),
            cpu: None,
        }
    }
}

/// Nanoseconds on one process-wide monotonic clock (never 0). quanta reads
/// the TSC instead of calling clock_gettime (~25 ns here); even so a read
/// costs ~12 ns on these VMs, which is why busy workers time only a sample
/// of sub-microsecond calls.
pub fn now_ns() -> u64 {
    static EPOCH: OnceLock<quanta::Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(quanta::Instant::now);
    quanta::Instant::now().duration_since(epoch).as_nanos() as u64 + 1
}

/// Most heap, in bytes, that all isolates together may be granted beyond
/// their limits while a stop unwinds. A stop usually needs a few MiB; a
/// single allocation inside a built-in can need hundreds.
pub const HEADROOM_POOL_BYTES: usize = 2 << 30;

/// The most an isolate's old generation may reach while it is being
/// stopped: its limit plus the larger of the limit and 256 MiB. Past it V8
/// gives up on the isolate (see the module docs).
pub fn heap_ceiling(heap_limit: usize) -> usize {
    heap_limit + heap_limit.max(256 << 20)
}

/// Most the heap limit is raised for pressure from outside the heap
/// before the isolate is stopped (bytes).
pub const OUTSIDE_PRESSURE_BYTES: usize = 32 << 20;

/// Headroom currently granted, over all isolates (bytes).
static HEADROOM_GRANTED: AtomicUsize = AtomicUsize::new(0);

/// Takes up to `want` bytes from the pool; returns what it got.
fn take_headroom(want: usize) -> usize {
    let mut got = 0;
    let _ = HEADROOM_GRANTED.fetch_update(Relaxed, Relaxed, |used| {
        got = want.min(HEADROOM_POOL_BYTES.saturating_sub(used));
        Some(used + got)
    });
    got
}

/// State the near-heap-limit callback reaches through its data pointer.
pub struct HeapGuard {
    /// The heap limit was reached during the current invocation.
    pub hit: AtomicBool,
    /// Times V8 called the callback for this isolate.
    pub calls: AtomicU64,
    /// Limit raised for pressure from outside the heap (bytes), and whether
    /// that passed [`OUTSIDE_PRESSURE_BYTES`] and stopped the isolate.
    outside: AtomicUsize,
    pub outside_stop: AtomicBool,
    /// Headroom this isolate holds from the pool (bytes).
    granted: AtomicUsize,
    limit: usize,
    handle: v8::IsolateHandle,
    /// The isolate itself, read only from V8's callback on its own thread.
    isolate: v8::UnsafeRawIsolatePtr,
}

impl HeapGuard {
    /// Installs the callback; the returned box must outlive the isolate.
    pub fn install(isolate: &mut v8::Isolate, limit: usize) -> Box<HeapGuard> {
        let guard = Box::new(HeapGuard {
            hit: AtomicBool::new(false),
            calls: AtomicU64::new(0),
            outside: AtomicUsize::new(0),
            outside_stop: AtomicBool::new(false),
            granted: AtomicUsize::new(0),
            limit,
            handle: isolate.thread_safe_handle(),
            // SAFETY: the pointer is only turned back into an isolate inside
            // V8's callback, on the isolate's thread, while it lives.
            isolate: unsafe { isolate.as_raw_isolate_ptr() },
        });
        let data = &*guard as *const HeapGuard as *mut c_void;
        isolate.add_near_heap_limit_callback(near_heap_limit, data);
        guard
    }
}

impl Drop for HeapGuard {
    /// Gives the headroom back to the pool: the guard is dropped after its
    /// isolate, whose heap could use it until then.
    fn drop(&mut self) {
        HEADROOM_GRANTED.fetch_sub(self.granted.swap(0, Relaxed), Relaxed);
    }
}

/// Called by V8 on the isolate's thread when the old generation nears its
/// limit (`current`, bytes): mark the isolate, stop its script, and grant
/// headroom so the stop can unwind: all the room up to the ceiling, while
/// the pool lasts. Returning `current` means "no more": V8 then collects
/// once more and, if that does not help, calls its out-of-memory handler.
extern "C" fn near_heap_limit(data: *mut c_void, current: usize, initial: usize) -> usize {
    // SAFETY: `data` points at the HeapGuard boxed next to this isolate,
    // which is dropped only after the isolate.
    let guard = unsafe { &*(data as *const HeapGuard) };
    // SAFETY: V8 calls this on the isolate's own thread while it lives.
    let mut isolate = unsafe { v8::Isolate::from_raw_isolate_ptr(guard.isolate) };
    let used = isolate.get_heap_statistics().used_heap_size();
    if used < initial / 2 && !guard.hit.load(Relaxed) {
        // V8 also asks when memory *outside* the heap (ArrayBuffers the
        // external budget just refused) makes its collections look
        // ineffective; the heap itself is far from its limit, so this is
        // not a heap stop. A MiB more keeps V8 going; the external budget
        // deals with the script. Each such call raises the limit a little;
        // an isolate that keeps pressing (catching the RangeError,
        // invocation after invocation) would raise it without end, so past
        // a bound it is stopped as over its external budget, and replaced
        // (which resets the limit).
        let outside = guard.outside.fetch_add(1 << 20, Relaxed) + (1 << 20);
        if outside > OUTSIDE_PRESSURE_BYTES {
            guard.outside_stop.store(true, Relaxed);
            guard.handle.terminate_execution();
        }
        tracing::debug!(
            used_mib = used >> 20,
            current_mib = current >> 20,
            "near heap limit from outside the heap"
        );
        return (current + (1 << 20))
            .min(heap_ceiling(guard.limit))
            .max(current + 1);
    }
    let calls = guard.calls.fetch_add(1, Relaxed) + 1;
    guard.hit.store(true, Relaxed);
    guard.handle.terminate_execution();
    let room = heap_ceiling(guard.limit).saturating_sub(current);
    // All of the room at once: V8 does not always call back before it
    // gives up on a large allocation, and a grant is only a limit (memory
    // is used only if the script keeps allocating before the stop lands).
    let want = room;
    let got = take_headroom(want);
    guard.granted.fetch_add(got, Relaxed);
    tracing::debug!(
        calls,
        current_mib = current >> 20,
        granted_mib = got >> 20,
        "near heap limit: stopping the isolate"
    );
    current + got
}

/// An isolate's external-memory account, shared by its ArrayBuffer
/// allocator (any thread that frees a backing store) and the worker.
#[derive(Debug, Default)]
pub struct ExternalBudget {
    /// Bytes of ArrayBuffer backing stores alive now.
    pub used: AtomicUsize,
    /// The budget (bytes); an allocation that would pass it is refused.
    pub limit: AtomicUsize,
    /// Allocations refused since the counter was last reset (V8 retries a
    /// refused allocation after collecting garbage, so one failed
    /// `new ArrayBuffer` can count up to three times).
    pub refused: AtomicU64,
    /// The isolate, to stop it when it keeps pressing past the budget.
    pub handle: OnceLock<v8::IsolateHandle>,
}

/// Refusals within one invocation after which the isolate is stopped: the
/// script caught the `RangeError` and keeps asking.
pub const EXTERNAL_REFUSALS_BEFORE_STOP: u64 = 48;

impl ExternalBudget {
    pub fn new(limit: usize) -> Arc<ExternalBudget> {
        Arc::new(ExternalBudget {
            limit: AtomicUsize::new(limit),
            ..Default::default()
        })
    }

    fn reserve(&self, len: usize) -> bool {
        let limit = self.limit.load(Relaxed);
        let ok = self
            .used
            .fetch_update(Relaxed, Relaxed, |u| {
                u.checked_add(len).filter(|&n| n <= limit)
            })
            .is_ok();
        if !ok
            && self.refused.fetch_add(1, Relaxed) + 1 >= EXTERNAL_REFUSALS_BEFORE_STOP
            && let Some(h) = self.handle.get()
        {
            h.terminate_execution();
        }
        ok
    }

    fn unreserve(&self, len: usize) {
        self.used.fetch_sub(len, Relaxed);
    }

    /// A V8 ArrayBuffer allocator that charges this budget.
    pub fn allocator(self: &Arc<Self>) -> v8::UniqueRef<v8::Allocator> {
        let handle = Arc::into_raw(self.clone());
        // SAFETY: `handle` is a leaked Arc<ExternalBudget> that the vtable's
        // functions expect; V8 calls `drop` exactly once, when the allocator
        // is destroyed, and that reclaims the Arc.
        unsafe { v8::new_rust_allocator(handle, &EXTERNAL_VTABLE) }
    }
}

static EXTERNAL_VTABLE: v8::RustAllocatorVtable<ExternalBudget> = v8::RustAllocatorVtable {
    allocate: external_allocate,
    allocate_uninitialized: external_allocate_uninitialized,
    free: external_free,
    drop: external_drop,
};

unsafe extern "C" fn external_allocate(budget: &ExternalBudget, len: usize) -> *mut c_void {
    if !budget.reserve(len) {
        return std::ptr::null_mut();
    }
    // SAFETY: calloc with a positive size; a zero length still gets a
    // unique pointer (calloc(1, 1)), which free accepts.
    let p = unsafe { libc::calloc(len.max(1), 1) };
    if p.is_null() {
        budget.unreserve(len);
    }
    p
}

unsafe extern "C" fn external_allocate_uninitialized(
    budget: &ExternalBudget,
    len: usize,
) -> *mut c_void {
    if !budget.reserve(len) {
        return std::ptr::null_mut();
    }
    // SAFETY: malloc with a positive size.
    let p = unsafe { libc::malloc(len.max(1)) };
    if p.is_null() {
        budget.unreserve(len);
    }
    p
}

unsafe extern "C" fn external_free(budget: &ExternalBudget, data: *mut c_void, len: usize) {
    // SAFETY: V8 hands back a pointer this allocator returned, with the
    // length it asked for.
    unsafe { libc::free(data) };
    budget.unreserve(len);
}

unsafe extern "C" fn external_drop(budget: *const ExternalBudget) {
    // SAFETY: the pointer came from Arc::into_raw in `allocator`.
    drop(unsafe { Arc::from_raw(budget) });
}

/// The engine's timeout enforcer: one thread for all workers.
pub struct Watchdog {
    pub timeout_ns: Arc<AtomicU64>,
    /// CPU-time limit (ns); 0: none.
    pub cpu_ns: Arc<AtomicU64>,
    pub workers: Arc<Mutex<Vec<Arc<WorkerShared>>>>,
    /// Told how many threads are stuck, so that a pool can stand in.
    pub sched: Arc<super::scheduler::SchedShared>,
}

/// How long past its stop an invocation may take before its thread counts
/// as stuck inside a built-in that V8 cannot interrupt (ns).
pub const STUCK_GRACE_NS: u64 = 2_000_000_000;

impl Watchdog {
    /// Runs until `stop` is closed. Both clocks start at the watchdog's
    /// first look at an invocation, at most one tick after it started
    /// running: an invocation is stopped within its limit plus two ticks.
    pub fn run(self, stop: Receiver<()>) {
        loop {
            let timeout = self.timeout_ns.load(Relaxed).max(1_000_000);
            let cpu_limit = self.cpu_ns.load(Relaxed);
            let shortest = if cpu_limit > 0 {
                timeout.min(cpu_limit.max(1_000_000))
            } else {
                timeout
            };
            // Look ten times per limit, at most every 10 ms.
            let tick = Duration::from_nanos((shortest / 10).clamp(1_000_000, 10_000_000));
            match stop.recv_timeout(tick) {
                Err(RecvTimeoutError::Timeout) => {}
                _ => return,
            }
            let now = now_ns();
            let workers = self
                .workers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let mut stuck = 0;
            for w in workers {
                let running = w.running.load(Relaxed);
                if running == 0 {
                    continue;
                }
                if w.is_stuck(now, timeout, STUCK_GRACE_NS) {
                    stuck += 1;
                }
                let cpu_now = || {
                    let clock = w.cpu_clock.load(Relaxed) as libc::clockid_t;
                    super::scheduler::cpu_ns(clock)
                };
                if w.seen.swap(running, Relaxed) != running {
                    // First look at this invocation: it started at most one
                    // tick ago.
                    w.seen_since.store(now, Relaxed);
                    if cpu_limit > 0 {
                        w.seen_cpu.store(cpu_now().unwrap_or(0), Relaxed);
                    }
                    continue;
                }
                if w.killed.load(Relaxed) == running {
                    continue;
                }
                let since = w.seen_since.load(Relaxed);
                let reason = if now.saturating_sub(since) >= timeout {
                    KILL_WALL
                } else if cpu_limit > 0
                    && cpu_now()
                        .is_some_and(|c| c.saturating_sub(w.seen_cpu.load(Relaxed)) >= cpu_limit)
                {
                    KILL_CPU
                } else {
                    continue;
                };
                w.kill_reason.store(reason, Relaxed);
                w.killed.store(running, Relaxed);
                if let Some(h) = w.handle.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                    h.terminate_execution();
                }
            }
            self.sched.cover_stuck(stuck);
        }
    }
}
