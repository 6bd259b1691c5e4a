//! V8 initialization, exactly once per process, and the thread factory.
//!
//! V8 must be initialized before any thread that enters an isolate exists: on
//! CPUs with memory-protection keys each thread inherits its key permissions
//! from the thread that spawned it. Test harnesses and async runtimes create
//! threads we do not control, so every isolate thread is spawned by one
//! *spawner* thread that is itself created right after `V8::initialize`.

use std::sync::OnceLock;
use std::thread::JoinHandle;

use crossbeam_channel::{Sender, bounded, unbounded};

type SpawnJob = Box<dyn FnOnce() -> JoinHandle<()> + Send>;

struct Spawner {
    tx: Sender<(SpawnJob, Sender<JoinHandle<()>>)>,
}

static SPAWNER: OnceLock<Spawner> = OnceLock::new();

/// Initializes V8 (idempotent, thread-safe) and starts the spawner thread.
pub fn init() {
    SPAWNER.get_or_init(|| {
        // Source positions when code is compiled, not lazily when a stack
        // trace needs them: a trace captured at a stack overflow has no
        // stack left to compute them with, and would say line 0.
        v8::V8::set_flags_from_string("--no-enable-lazy-source-positions");
        // A startup snapshot made by a `SnapshotCreator` would otherwise
        // move some of the script's objects into its read-only part, and
        // V8 shares one read-only heap between all the isolates of a
        // process: isolates of two different snapshots (V8's built-in one
        // and a script's, or two versions') could not live side by side
        // (measured: the second one's deserializer read past the live
        // read-only heap and aborted the process). Set in every process of
        // ours alike: V8 refuses a snapshot made under other flags.
        v8::V8::set_flags_from_string("--no-extensible-ro-snapshot");
        let platform = v8::new_default_platform(0, false).make_shared();
        v8::V8::initialize_platform(platform);
        v8::V8::initialize();
        let (tx, rx) = unbounded::<(SpawnJob, Sender<JoinHandle<()>>)>();
        std::thread::Builder::new()
            .name("v8-spawner".into())
            .spawn(move || {
                for (job, reply) in rx {
                    let _ = reply.send(job());
                }
            })
            .expect("spawn the V8 spawner thread");
        Spawner { tx }
    });
}

/// Spawns a thread that may enter isolates. Initializes V8 first if needed.
pub fn spawn<F>(name: String, stack_size: usize, f: F) -> JoinHandle<()>
where
    F: FnOnce() + Send + 'static,
{
    send_job(name, stack_size, f)
        .recv()
        .expect("the spawner thread answers every request")
}

/// Like [`spawn`], without waiting for the thread to exist: the caller
/// never blocks on the spawner (which a thousand busy isolate threads can
/// starve for seconds).
pub fn spawn_detached<F>(name: String, stack_size: usize, f: F)
where
    F: FnOnce() + Send + 'static,
{
    drop(send_job(name, stack_size, f));
}

/// Hands the spawner a thread to start; the answer carries its handle.
fn send_job<F>(name: String, stack_size: usize, f: F) -> crossbeam_channel::Receiver<JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    init();
    let spawner = SPAWNER.get().expect("initialized above");
    let (reply_tx, reply_rx) = bounded(1);
    let job: SpawnJob = Box::new(move || {
        std::thread::Builder::new()
            .name(name)
            .stack_size(stack_size)
            .spawn(f)
            .expect("spawn an isolate thread")
    });
    spawner
        .tx
        .send((job, reply_tx))
        .expect("the spawner thread lives as long as the process");
    reply_rx
}

/// V8's version string, e.g. "15.2.124.1".
pub fn v8_version() -> &'static str {
    v8::V8::get_version()
}
