use std::time::{Duration, Instant};

use isolate_play::engine::{Engine, EngineConfig, Invocation, Mode, Report, Source};

pub fn engine(n: usize, mode: Mode) -> Engine {
    Engine::new(EngineConfig {
        isolates: n,
        mode,
        ..Default::default()
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
