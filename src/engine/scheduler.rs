//! Executor threads and the ready queue: how N isolates share T threads.
//!
//! Two thread models, chosen by [`Threads`]:
//!
//! - **Pool** (the Workers model, the default): T executor threads take the
//!   next ready isolate off one FIFO queue, run a *time slice* of its work
//!   (a batch of warm calls, or context / cold invocations) with the isolate
//!   locked to that thread (`v8::Locker`), and put it back at the end of the
//!   queue if it still has work. An idle isolate is in no queue: it costs
//!   memory, not a thread. Slices shrink as more isolates wait (see
//!   [`slice_ns`]), so one round of the queue stays near
//!   [`TARGET_ROUND_NS`]; nobody waits behind a slow isolate for longer than
//!   its slice, because a slice ends between invocations.
//!   Free migration, not affinity: an isolate runs on whichever thread pops
//!   it. V8 archives and restores per-thread state when an isolate changes
//!   thread, once per slice of thousands of calls (`bench --threads-compare`
//!   measures the pool against a thread per isolate at N = cores, where
//!   that cost would show), while affinity would leave a thread idle
//!   behind another's long invocation.
//! - **Per-isolate** (the seed's model, kept to compare): every isolate has
//!   a thread of its own, blocked on its own queue when idle, running
//!   without slices or a Locker.
//!
//! The scheduling state of each isolate (its [`Slot`]) is one atomic:
//! idle → queued → running → (notified) → idle or queued again. The engine
//! sends a command, then [`Slot::notify`]s; whichever thread runs the
//! isolate sees the command between two invocations.

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{
    AtomicBool, AtomicU8, AtomicU64, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use std::sync::{Arc, Mutex};

use crossbeam_channel::{Receiver, Sender};
use hdrhistogram::Histogram;

use super::limits::now_ns;
use super::report::WorkerShared;
use super::worker::{Step, Worker};
use super::{new_histogram, platform};

/// How isolates get threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// This many executor threads share all isolates (1..=1024).
    Pool(usize),
    /// One thread per isolate (the seed's model).
    PerIsolate,
}

impl Threads {
    /// A pool as large as the machine's available cores.
    pub fn cores() -> Threads {
        Threads::Pool(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }
}

impl Default for Threads {
    fn default() -> Self {
        Threads::cores()
    }
}

impl std::fmt::Display for Threads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Threads::Pool(n) => write!(f, "{n}"),
            Threads::PerIsolate => f.write_str("per-isolate"),
        }
    }
}

impl std::str::FromStr for Threads {
    type Err = String;
    /// A number of threads (1 to 1024), "per-isolate", or "cores".
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "per-isolate" => Ok(Threads::PerIsolate),
            "cores" => Ok(Threads::cores()),
            n => match n.parse::<usize>() {
                Ok(n) if (1..=1024).contains(&n) => Ok(Threads::Pool(n)),
                _ => Err(format!(
                    "threads must be a number from 1 to 1024, \"cores\" or \"per-isolate\", not {s:?}"
                )),
            },
        }
    }
}

/// One round of the ready queue, under load, aims at this (ns): with many
/// isolates ready, each slice is this times the threads over the isolates
/// waiting, within [`MIN_SLICE_NS`, `MAX_SLICE_NS`].
pub const TARGET_ROUND_NS: u64 = 200_000_000;
/// Shortest slice (ns). Each slice starts with cold caches: the isolate's
/// heap, code and feedback were evicted by the isolates that ran since.
/// Measured with 500 busy isolates on 2 threads (concat, warm, a shared
/// machine): 0.5 ms slices lost about a quarter of the throughput of 2 ms
/// slices in `run`; `bench --bare-slice-ms` saw little difference between
/// 1 and 10 ms and bare-thread throughput only at 20 ms, which would make
/// a round of 500 isolates take 5 s. 1 ms keeps that round near 250 ms.
pub const MIN_SLICE_NS: u64 = 1_000_000;
/// Longest slice (ns), when few isolates share the threads.
pub const MAX_SLICE_NS: u64 = 20_000_000;

/// A dedicated thread (the per-isolate model) has no one to share with: it
/// only comes back to its loop this often under load, to publish its
/// counters, and takes its isolate straight back.
pub const DEDICATED_STEP_NS: u64 = 50_000_000;

/// The slice for a pool of `threads` with `waiting` isolates in the queue.
pub fn slice_ns(threads: usize, waiting: usize) -> u64 {
    let t = threads.max(1) as u64;
    (TARGET_ROUND_NS * t / (waiting as u64 + t)).clamp(MIN_SLICE_NS, MAX_SLICE_NS)
}

const IDLE: u8 = 0;
const QUEUED: u8 = 1;
const RUNNING: u8 = 2;
/// Running, and told to look at its mailbox again before going idle.
const NOTIFIED: u8 = 3;
const DONE: u8 = 4;

/// What an executor thread takes off its queue.
pub enum Msg {
    Run(Arc<Slot>),
    Stop,
}

/// One isolate's place in the scheduler.
pub struct Slot {
    pub shared: Arc<WorkerShared>,
    sched: AtomicU8,
    /// When it was last queued (engine clock), for the queue-wait figure.
    ready_at: AtomicU64,
    /// The executor thread that ran it last (for the migration count).
    last_thread: AtomicUsize,
    /// The worker, here while nobody runs it.
    worker: Mutex<Option<Box<Worker>>>,
    queue: Sender<Msg>,
}

impl Slot {
    pub fn new(worker: Box<Worker>, shared: Arc<WorkerShared>, queue: Sender<Msg>) -> Arc<Slot> {
        Arc::new(Slot {
            shared,
            sched: AtomicU8::new(IDLE),
            ready_at: AtomicU64::new(0),
            last_thread: AtomicUsize::new(usize::MAX),
            worker: Mutex::new(Some(worker)),
            queue,
        })
    }

    /// Makes sure the worker looks at its mailbox soon: queues it when
    /// idle; tells the thread running it to look again before it idles.
    pub fn notify(self: &Arc<Self>) {
        let mut s = self.sched.load(Acquire);
        loop {
            let next = match s {
                IDLE => QUEUED,
                RUNNING => NOTIFIED,
                _ => return,
            };
            match self.sched.compare_exchange_weak(s, next, AcqRel, Acquire) {
                Ok(_) => {
                    if next == QUEUED {
                        self.push();
                    }
                    return;
                }
                Err(now) => s = now,
            }
        }
    }

    /// Whether it waits in the queue for a thread (it has work and no
    /// thread runs it).
    pub fn is_queued(&self) -> bool {
        self.sched.load(Relaxed) == QUEUED
    }

    fn push(self: &Arc<Self>) {
        self.ready_at.store(now_ns(), Relaxed);
        let _ = self.queue.send(Msg::Run(self.clone()));
    }

    fn take(&self) -> Option<Box<Worker>> {
        self.worker.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn put(&self, w: Box<Worker>) {
        *self.worker.lock().unwrap_or_else(|p| p.into_inner()) = Some(w);
    }
}

/// One executor thread's counters (relaxed atomics, cumulative).
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct ThreadShared {
    pub id: usize,
    /// The thread model it belongs to (see [`SchedShared::generation`]).
    pub generation: u64,
    /// Time spent running slices (ns, engine clock).
    pub busy_ns: AtomicU64,
    /// The thread's CPU time (ns, its CPU clock), as of its last slice: on
    /// a machine with other work, a thread can be busy without a core.
    pub cpu_ns: AtomicU64,
    /// Slices run (each one an isolate switch).
    pub slices: AtomicU64,
    /// Slices whose isolate ran on another thread last.
    pub migrations: AtomicU64,
    /// The thread was parked for good with an isolate V8 gave up on.
    pub parked: AtomicBool,
    /// The thread has exited.
    pub exited: AtomicBool,
}

/// A copy of one executor thread's counters; readers turn two of them into
/// rates over their own window.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ThreadSnapshot {
    pub id: usize,
    /// Cumulative time running slices (ns).
    pub busy_ns: u64,
    /// Cumulative CPU time of the thread (ns).
    pub cpu_ns: u64,
    pub slices: u64,
    pub migrations: u64,
    pub parked: bool,
}

impl ThreadShared {
    pub fn snapshot(&self) -> ThreadSnapshot {
        ThreadSnapshot {
            id: self.id,
            busy_ns: self.busy_ns.load(Relaxed),
            cpu_ns: self.cpu_ns.load(Relaxed),
            slices: self.slices.load(Relaxed),
            migrations: self.migrations.load(Relaxed),
            parked: self.parked.load(Relaxed),
        }
    }
}

/// What all executors of one engine share.
#[derive(Default)]
pub struct SchedShared {
    /// Executor threads started by this engine; exited ones are dropped
    /// when the next ones start.
    pub threads: Mutex<Vec<Arc<ThreadShared>>>,
    next_thread: AtomicUsize,
    /// Bumped at each switch of thread model: the retiring model's threads
    /// keep the old number until they exit.
    pub generation: AtomicU64,
    /// How long ready isolates waited for a thread (ns), since the last
    /// drain.
    pub queue_wait: Mutex<Option<Histogram<u64>>>,
    /// Executor loops still running.
    pub alive: AtomicUsize,
    /// The current pool's queue and size, for stand-in threads (None with
    /// a thread per isolate).
    pool: Mutex<Option<(Receiver<Msg>, usize)>>,
    /// Pool threads stuck in a call V8 cannot interrupt (the watchdog's
    /// count), and the stand-in threads started to run the queue meanwhile.
    stuck: AtomicUsize,
    pub stand_ins: AtomicUsize,
}

/// Most stand-in threads at once (each stuck thread gets one).
pub const MAX_STAND_INS: usize = 64;

impl SchedShared {
    fn record_wait(&self, ns: u64) {
        let mut h = self.queue_wait.lock().unwrap_or_else(|p| p.into_inner());
        let _ = h.get_or_insert_with(new_histogram).record(ns.max(1));
    }

    /// Takes the queue-wait distribution recorded since the last call.
    pub fn drain_queue_wait(&self) -> Histogram<u64> {
        self.queue_wait
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_else(new_histogram)
    }

    /// The pool whose queue stand-ins take from (None: no pool).
    pub fn set_pool(&self, pool: Option<(Receiver<Msg>, usize)>) {
        *self.pool.lock().unwrap_or_else(|p| p.into_inner()) = pool;
    }

    /// Told by the watchdog how many pool threads are stuck inside a call
    /// that V8 cannot interrupt (past their limit and its grace): starts a
    /// stand-in thread for each, so that the other isolates keep T threads.
    /// Stand-ins go again when fewer are stuck (see `executor`).
    pub fn cover_stuck(self: &Arc<Self>, stuck: usize) {
        self.stuck.store(stuck, Relaxed);
        let pool = self.pool.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some((rx, threads)) = pool else { return };
        while self.stand_ins.load(Relaxed) < stuck.min(MAX_STAND_INS) {
            self.stand_ins.fetch_add(1, Relaxed);
            tracing::warn!(
                stuck,
                "a pool thread is stuck in a built-in; a stand-in thread starts"
            );
            spawn_executor(rx.clone(), self.clone(), threads, None);
        }
    }

    /// Whether a pool thread should go because a stuck one came back (any
    /// thread may go: they are alike).
    fn retire_stand_in(&self) -> bool {
        let stuck = self.stuck.load(Relaxed);
        self.stand_ins
            .fetch_update(Relaxed, Relaxed, |n| (n > stuck).then(|| n - 1))
            .is_ok()
    }

    fn new_thread(&self, generation: u64) -> Arc<ThreadShared> {
        let t = Arc::new(ThreadShared {
            id: self.next_thread.fetch_add(1, Relaxed),
            generation,
            ..Default::default()
        });
        let mut threads = self.threads.lock().unwrap_or_else(|p| p.into_inner());
        if threads.len() >= 64 && threads.len().is_power_of_two() {
            threads.retain(|t| !t.exited.load(Relaxed));
        }
        threads.push(t.clone());
        t
    }
}

/// What an executor thread runs with.
#[derive(Clone)]
pub struct Exec {
    rx: Receiver<Msg>,
    sched: Arc<SchedShared>,
    /// Threads of the pool (for the slice length); 0 for a dedicated thread.
    pool_threads: usize,
    stats: Arc<ThreadShared>,
}

/// Stack for executor threads: V8 keeps its own limit (~1 MB) well inside it.
pub const EXECUTOR_STACK: usize = 4 << 20;

/// Starts a pool executor on `rx` (the pool's queue).
pub fn spawn_pool_thread(rx: Receiver<Msg>, sched: Arc<SchedShared>, threads: usize) {
    spawn_executor(rx, sched, threads, None);
}

/// Starts the dedicated thread of one isolate (the per-isolate model); it
/// exits when its worker does.
pub fn spawn_dedicated_thread(rx: Receiver<Msg>, sched: Arc<SchedShared>, isolate: usize) {
    spawn_executor(rx, sched, 0, Some(isolate));
}

fn spawn_executor(
    rx: Receiver<Msg>,
    sched: Arc<SchedShared>,
    pool_threads: usize,
    isolate: Option<usize>,
) {
    let stats = sched.new_thread(sched.generation.load(Relaxed));
    sched.alive.fetch_add(1, Relaxed);
    let name = match isolate {
        Some(i) => format!("isolate-{i}"),
        None => format!("executor-{}", stats.id),
    };
    let exec = Exec {
        rx,
        sched,
        pool_threads,
        stats,
    };
    platform::spawn_detached(name, EXECUTOR_STACK, move || executor(exec));
}

/// The running worker of this thread, for V8's out-of-memory handler.
struct Current {
    worker: *mut Worker,
    slot: Arc<Slot>,
    exec: Exec,
}

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// Whether this thread is running an isolate's slice, where a panic is
/// caught and reported as that invocation's failure (a process-wide panic
/// hook uses this to tell a recovered panic from one that ends a thread).
pub fn in_isolate_step() -> bool {
    CURRENT.with(|c| c.try_borrow().is_ok_and(|c| c.is_some()))
}

fn executor(exec: Exec) {
    loop {
        let slot = match exec.rx.recv() {
            Ok(Msg::Run(slot)) => slot,
            Ok(Msg::Stop) | Err(_) => break,
        };
        let start = now_ns();
        exec.sched
            .record_wait(start.saturating_sub(slot.ready_at.load(Relaxed)));
        slot.sched.store(RUNNING, Release);
        let me = exec.stats.id;
        if slot.last_thread.swap(me, Relaxed) != me {
            exec.stats.migrations.fetch_add(1, Relaxed);
        }
        let slice = if exec.pool_threads == 0 {
            DEDICATED_STEP_NS
        } else {
            slice_ns(exec.pool_threads, exec.rx.len())
        };
        let step = match slot.take() {
            Some(w) => run_step(&exec, &slot, w, slice),
            // Not possible (the state machine hands a slot to one thread),
            // but never worth a panic on an executor.
            None => Step::Idle,
        };
        exec.stats
            .busy_ns
            .fetch_add(now_ns().saturating_sub(start), Relaxed);
        exec.stats.cpu_ns.store(own_cpu_ns(), Relaxed);
        exec.stats.slices.fetch_add(1, Relaxed);
        if exec.pool_threads == 0 && step == Step::Done {
            break;
        }
        if exec.pool_threads > 0 && exec.sched.retire_stand_in() {
            break;
        }
    }
    exec.stats.exited.store(true, Relaxed);
    exec.sched.alive.fetch_sub(1, Relaxed);
}

/// Runs one slice of `w`, catching panics (each one fails the current
/// invocation and replaces the isolate, then the slice goes on).
fn run_step(exec: &Exec, slot: &Arc<Slot>, w: Box<Worker>, slice: u64) -> Step {
    let ptr = Box::into_raw(w);
    CURRENT.with(|c| {
        *c.borrow_mut() = Some(Current {
            worker: ptr,
            slot: slot.clone(),
            exec: exec.clone(),
        })
    });
    let step = loop {
        // SAFETY: `ptr` came from Box::into_raw above and is turned back
        // into a box only below, after the loop; `on_fatal_oom` takes it
        // only on a thread that never returns here.
        let w = unsafe { &mut *ptr };
        match std::panic::catch_unwind(AssertUnwindSafe(|| w.step(slice))) {
            Ok(s) => break s,
            Err(panic) => w.after_panic(panic),
        }
    };
    CURRENT.with(|c| c.borrow_mut().take());
    // SAFETY: the pointer is ours again (see above); nothing else uses it.
    let w = unsafe { Box::from_raw(ptr) };
    finish(slot, w, step);
    step
}

/// Puts a worker back after its slice: requeued while it has work, idle
/// otherwise (unless a command came in meanwhile), gone after shutdown.
fn finish(slot: &Arc<Slot>, mut w: Box<Worker>, step: Step) {
    match step {
        Step::Done => {
            w.teardown();
            slot.sched.store(DONE, Release);
        }
        Step::Busy => {
            slot.put(w);
            slot.sched.store(QUEUED, Release);
            slot.push();
        }
        Step::Idle => {
            slot.put(w);
            if slot
                .sched
                .compare_exchange(RUNNING, IDLE, AcqRel, Acquire)
                .is_err()
            {
                slot.sched.store(QUEUED, Release);
                slot.push();
            }
        }
    }
}

/// V8's out-of-memory handler for our isolates: V8 calls it on the
/// isolate's thread when it gives up (a built-in that cannot be interrupted
/// needed more heap than the guard grants, see `limits`). Returning would
/// abort the process, so this thread never returns: the worker (without
/// its isolate) and this thread's place in the pool move to a new thread,
/// which reports the failure and goes on with a fresh isolate; this thread
/// parks for good, keeping the stranded isolate and its lock.
///
/// # Safety
/// Called by V8 only, with a valid `location` string or null.
pub unsafe extern "C" fn on_fatal_oom(
    location: *const std::ffi::c_char,
    _details: &v8::OomDetails,
) {
    let current = CURRENT.with(|c| c.borrow_mut().take());
    let Some(current) = current else {
        let location = if location.is_null() {
            "unknown".into()
        } else {
            // SAFETY: V8 passes a NUL-terminated C string.
            unsafe { std::ffi::CStr::from_ptr(location) }.to_string_lossy()
        };
        // A V8 background thread allocating for an isolate (a compile or
        // GC task). Returning would abort the process; parking keeps it
        // alive. That isolate's worker may then wait on this thread: its
        // run is cut short by `run`'s silence limit, the others go on.
        let thread = std::thread::current();
        eprintln!(
            "isolate-play: V8 ran out of memory on a background thread ({location}, thread {:?}); the thread is parked",
            thread.name()
        );
        tracing::error!(thread = ?thread.name(), %location, "V8 ran out of memory on a background thread; thread parked");
        loop {
            std::thread::park();
        }
    };
    // SAFETY: `worker` is the live worker of this thread (see `run_step`).
    // Its frames on this thread's stack never run again: the thread parks
    // below, forever, so the new owner is the only one that touches it.
    let mut w = unsafe { Box::from_raw(current.worker) };
    // The stranded isolate lives in frames below (locked, in the pool).
    w.forget_sandbox();
    let Current { slot, exec, .. } = current;
    exec.stats.parked.store(true, Relaxed);
    let mut exec = exec;
    exec.stats = exec.sched.new_thread(exec.stats.generation);
    let name = format!("executor-{}", exec.stats.id);
    platform::spawn_detached(name, EXECUTOR_STACK, move || {
        w.after_abandon();
        finish(&slot, w, Step::Busy);
        executor(exec);
    });
    loop {
        std::thread::park();
    }
}

/// The CPU clock of the calling thread, which other threads can read (see
/// [`cpu_ns`]).
pub fn thread_cpu_clock() -> libc::clockid_t {
    let mut id: libc::clockid_t = 0;
    // SAFETY: pthread_self is always valid for the calling thread; `id` is
    // a valid out-pointer.
    let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut id) };
    if rc == 0 {
        id
    } else {
        libc::CLOCK_THREAD_CPUTIME_ID
    }
}

/// CPU time consumed by the thread behind `clock` (ns), or None if it is
/// gone. A syscall (~0.2-1 µs): read per slice and per sampled call, never
/// per call in a batch.
pub fn cpu_ns(clock: libc::clockid_t) -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

/// CPU time consumed by the calling thread (ns).
pub fn own_cpu_ns() -> u64 {
    cpu_ns(libc::CLOCK_THREAD_CPUTIME_ID).unwrap_or(0)
}
