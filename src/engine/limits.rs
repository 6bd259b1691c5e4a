//! Limits that keep one script from taking the process down: the heap limit
//! (a near-heap-limit callback that stops the run instead of letting V8
//! abort) and the wall-clock timeout (a watchdog thread that terminates
//! overdue invocations from outside).

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::report::WorkerShared;

/// Per-isolate limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// V8 heap limit (old + young generation), bytes.
    pub heap_bytes: usize,
    /// Budget for memory outside the V8 heap (ArrayBuffer backing stores and
    /// WebAssembly memories), bytes.
    pub external_bytes: usize,
    /// Wall-clock limit per invocation.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            heap_bytes: 64 << 20,
            external_bytes: 64 << 20,
            timeout: Duration::from_secs(1),
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

/// State the near-heap-limit callback reaches through its data pointer.
pub struct HeapGuard {
    pub hit: AtomicBool,
    handle: v8::IsolateHandle,
}

impl HeapGuard {
    /// Installs the callback; the returned box must outlive the isolate.
    pub fn install(isolate: &mut v8::Isolate) -> Box<HeapGuard> {
        let guard = Box::new(HeapGuard {
            hit: AtomicBool::new(false),
            handle: isolate.thread_safe_handle(),
        });
        let data = &*guard as *const HeapGuard as *mut c_void;
        isolate.add_near_heap_limit_callback(near_heap_limit, data);
        guard
    }
}

/// Called by V8 on the isolate's thread when the heap nears its limit: mark
/// the isolate, stop its script, and grant headroom so the stop can unwind
/// (the isolate is discarded right after, so the raised limit never lasts).
extern "C" fn near_heap_limit(data: *mut c_void, current: usize, _initial: usize) -> usize {
    // SAFETY: `data` points at the HeapGuard boxed next to this isolate,
    // which is dropped only after the isolate.
    let guard = unsafe { &*(data as *const HeapGuard) };
    guard.hit.store(true, Relaxed);
    guard.handle.terminate_execution();
    current.saturating_mul(2)
}

/// The engine's timeout enforcer: one thread for all workers.
pub struct Watchdog {
    pub timeout_ns: Arc<AtomicU64>,
    pub workers: Arc<Mutex<Vec<Arc<WorkerShared>>>>,
}

impl Watchdog {
    /// Runs until `stop` is closed.
    pub fn run(self, stop: Receiver<()>) {
        loop {
            let timeout = self.timeout_ns.load(Relaxed).max(1_000_000);
            // Look ten times per timeout, at most every 10 ms.
            let tick = Duration::from_nanos((timeout / 10).clamp(1_000_000, 10_000_000));
            match stop.recv_timeout(tick) {
                Err(RecvTimeoutError::Timeout) => {}
                _ => return,
            }
            let now = now_ns();
            let workers = self.workers.lock().unwrap().clone();
            for w in workers {
                let running = w.running.load(Relaxed);
                if running == 0 {
                    continue;
                }
                if w.seen.swap(running, Relaxed) != running {
                    // First look at this invocation: it started at most one
                    // tick ago, so it is stopped within timeout + 2 ticks.
                    w.seen_since.store(now, Relaxed);
                    continue;
                }
                let since = w.seen_since.load(Relaxed);
                if now.saturating_sub(since) >= timeout && w.killed.load(Relaxed) != running {
                    w.killed.store(running, Relaxed);
                    if let Some(h) = w.handle.lock().unwrap().as_ref() {
                        h.terminate_execution();
                    }
                }
            }
        }
    }
}
