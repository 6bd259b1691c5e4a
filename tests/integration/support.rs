use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use isolate_play::engine::{Engine, EngineConfig, Invocation, Mode, Report, Source, Threads};

thread_local! {
    /// The thread model `engine()` and `config()` use on this test thread.
    static THREADS: std::cell::Cell<Threads> = const { std::cell::Cell::new(Threads::Pool(2)) };
}

/// Runs `body` once with a pool of two threads and once with a thread per
/// isolate: the engine's behaviour must not depend on the model.
pub fn both_models(mut body: impl FnMut()) {
    for t in [Threads::Pool(2), Threads::PerIsolate] {
        THREADS.with(|c| c.set(t));
        body();
    }
    THREADS.with(|c| c.set(Threads::Pool(2)));
}

/// Snapshot mode builds its blobs by running this program again; in tests
/// that must be the real binary, not the test harness.
pub fn use_real_builder() {
    isolate_play::engine::snapshot::set_builder_program(env!("CARGO_BIN_EXE_isolate-play"));
}

/// The default engine config for this test thread's model.
pub fn config() -> EngineConfig {
    use_real_builder();
    EngineConfig {
        threads: THREADS.with(|c| c.get()),
        ..Default::default()
    }
}

pub fn engine(n: usize, mode: Mode) -> Engine {
    Engine::new(EngineConfig {
        isolates: n,
        mode,
        ..config()
    })
}

pub fn src(name: &str, code: &str) -> Source {
    Source::new(name, code)
}

pub fn sample(name: &str) -> Source {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name);
    Source::from_file(&path).expect("sample exists")
}

/// Runs `count` invocations on every worker and returns every report,
/// ordered by worker then sequence.
pub fn run(engine: &mut Engine, count: u64) -> Vec<Invocation> {
    let n = engine.isolates();
    let batch = engine.run(count);
    let mut out = Vec::new();
    let mut done = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while done < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match engine.reports().recv_timeout(left) {
            Ok(Report::Invocation(inv)) => out.push(*inv),
            Ok(Report::RunDone { batch: b, .. }) if b == batch => done += 1,
            Ok(_) => {}
            Err(e) => panic!("run did not finish: {e} ({done}/{n} workers done)"),
        }
    }
    out.sort_by_key(|i| (i.worker, i.seq));
    out
}

pub fn results(invs: &[Invocation]) -> Vec<String> {
    invs.iter()
        .map(|i| match &i.outcome {
            Ok(r) => r.clone(),
            Err(e) => format!("ERR {:?}: {}", e.kind, e.message),
        })
        .collect()
}

/// Waits for reports until `pred` has matched, or panics after `timeout`.
pub fn wait_for(engine: &Engine, timeout: Duration, mut pred: impl FnMut(&Invocation) -> bool) {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match engine.reports().recv_timeout(left) {
            Ok(Report::Invocation(inv)) if pred(&inv) => return,
            Ok(_) => {}
            Err(_) => panic!("no matching report within {timeout:?}"),
        }
    }
}

/// The real binary, run from the crate root, with no user config or log.
pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_isolate-play"));
    c.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        // Keep a developer's own config file and log out of the tests.
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("isolate-play-no-config"),
        )
        .env("HOME", std::env::temp_dir().join("isolate-play-no-home"))
        .env_remove("ISOLATE_PLAY_LOG");
    c
}

/// Runs the binary to its end.
pub fn bin(args: &[&str]) -> Output {
    command(args).output().expect("the binary runs")
}

/// Runs `c` to its end, killing it and failing the test after `limit`.
pub fn within(mut c: Command, limit: Duration) -> Output {
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    // Drain both pipes on threads so a chatty child never blocks on them.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{c:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}
