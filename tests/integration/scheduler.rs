//! The scheduler: many isolates on few threads, fairly, with limits that
//! count from when an invocation runs, never from when it was queued.

use std::time::{Duration, Instant};

use isolate_play::engine::{Engine, EngineConfig, ErrorKind, Limits, Mode, Report, Threads};

use crate::support::*;

fn pool(n: usize, threads: usize, limits: Limits) -> Engine {
    Engine::new(EngineConfig {
        isolates: n,
        mode: Mode::Warm,
        threads: Threads::Pool(threads),
        limits,
        ..Default::default()
    })
}

/// Each isolate's invocation count now.
fn counts(e: &Engine) -> Vec<u64> {
    e.snapshots().iter().map(|s| s.invocations).collect()
}

/// Drains reports, returning the failures among them.
fn failures(e: &Engine) -> Vec<String> {
    e.reports()
        .try_iter()
        .filter_map(|r| match r {
            Report::Invocation(i) => i.outcome.err().map(|e| e.headline()),
            _ => None,
        })
        .collect()
}

/// 500 isolates under continuous load on two threads: every one of them
/// makes progress in every window of a few seconds, and none fails.
#[test]
fn five_hundred_isolates_under_load_all_get_turns() {
    let mut e = pool(500, 2, Limits::default());
    e.set_source(sample("02-concat.js"));
    assert!(e.wait_ready(Duration::from_secs(120)));
    e.set_load(true);
    for window in 0..2 {
        let before = counts(&e);
        std::thread::sleep(Duration::from_secs(3));
        let after = counts(&e);
        let starved: Vec<usize> = (0..500).filter(|&i| after[i] <= before[i]).collect();
        assert!(
            starved.is_empty(),
            "window {window}: isolates without a turn in 3 s: {starved:?}"
        );
    }
    e.set_load(false);
    let failed = failures(&e);
    assert!(failed.is_empty(), "{failed:?}");
    assert!(
        e.snapshots()
            .iter()
            .all(|s| s.errors == 0 && s.recycles == 0)
    );
    // The pool's two threads did the work: many isolate switches.
    let threads = e.thread_stats();
    assert_eq!(threads.len(), 2);
    assert!(threads.iter().map(|t| t.slices).sum::<u64>() >= 1000);
    // The wait for a thread was measured.
    assert!(!e.drain_queue_wait().is_empty());
}

/// Far more isolates than threads, each invocation ~10 ms, a 300 ms
/// timeout: they queue for over a second, and none times out, because the
/// clock starts when an invocation runs. The queue wait shows the wait.
#[test]
fn queue_wait_is_never_counted_as_wall_time() {
    let limits = Limits {
        timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let mut e = pool(60, 1, limits);
    e.set_source(src(
        "spin.js",
        "let t = Date.now(); while (Date.now() - t < 10); 'done'",
    ));
    assert!(e.wait_ready(Duration::from_secs(60)));
    let _ = e.drain_queue_wait();
    let invs = run(&mut e, 2);
    assert_eq!(invs.len(), 120);
    assert!(
        results(&invs).iter().all(|r| r == "done"),
        "{:?}",
        results(&invs)
            .iter()
            .filter(|r| *r != "done")
            .collect::<Vec<_>>()
    );
    // 60 isolates × 2 × 10 ms on one thread: some waited longer than the
    // timeout.
    let wait = e.drain_queue_wait();
    assert!(
        wait.max() > 300_000_000,
        "longest queue wait {} ns",
        wait.max()
    );
}

/// A script that burns CPU is stopped by the CPU-time limit, long before
/// its wall-clock timeout, with a message that names the limit; the
/// isolate is replaced and its next invocation runs.
#[test]
fn cpu_time_limit_stops_a_spinning_invocation() {
    for threads in [Threads::Pool(2), Threads::PerIsolate] {
        let mut e = Engine::new(EngineConfig {
            isolates: 2,
            threads,
            limits: Limits {
                timeout: Duration::from_secs(20),
                cpu: Some(Duration::from_millis(100)),
                ..Default::default()
            },
            ..Default::default()
        });
        e.set_source(src(
            "spin.mjs",
            "export default (e) => { if (e.invocation === 1) { while (true) {} } return 'ok ' + e.invocation; }",
        ));
        let t0 = Instant::now();
        let invs = run(&mut e, 2);
        assert!(t0.elapsed() < Duration::from_secs(10), "{threads}");
        assert_eq!(invs.len(), 4);
        for i in invs.iter().filter(|i| i.seq == 1) {
            let err = i.outcome.as_ref().expect_err("the first call spins");
            assert_eq!(err.kind, ErrorKind::CpuLimit, "{threads}: {err:?}");
            assert!(
                err.message.contains("CPU time limit exceeded") && err.message.contains("100 ms"),
                "{}",
                err.message
            );
        }
        // The fresh isolate runs the next invocation.
        for i in invs.iter().filter(|i| i.seq == 2) {
            assert_eq!(i.outcome.as_deref(), Ok("ok 2"), "{threads}");
            assert!(i.cpu.is_some(), "reported calls carry their CPU time");
        }
        assert!(e.snapshots().iter().all(|s| s.recycles == 1), "{threads}");
    }
}

/// Waiting is not CPU: with many spinning isolates on their own threads
/// (2 cores), each gets a fraction of a core, so 200 ms of wall time is far
/// less than 150 ms of CPU, and the CPU limit leaves them alone.
#[test]
fn cpu_time_limit_counts_cpu_not_wall_time() {
    let mut e = Engine::new(EngineConfig {
        isolates: 12,
        threads: Threads::PerIsolate,
        limits: Limits {
            timeout: Duration::from_secs(20),
            cpu: Some(Duration::from_millis(150)),
            ..Default::default()
        },
        ..Default::default()
    });
    e.set_source(src(
        "spin.js",
        "let t = Date.now(); while (Date.now() - t < 200); 'done'",
    ));
    assert!(e.wait_ready(Duration::from_secs(60)));
    let invs = run(&mut e, 1);
    let r = results(&invs);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    if cores <= 4 {
        assert!(r.iter().all(|x| x == "done"), "{r:?}");
    }
    for i in &invs {
        let (wall, cpu) = (i.duration.unwrap(), i.cpu.unwrap());
        assert!(
            cpu <= wall + Duration::from_millis(5),
            "cpu {cpu:?} wall {wall:?}"
        );
    }
}

/// N goes up and down under load inside the pool: new isolates join the
/// queue, removed ones stop, the pool keeps its two threads.
#[test]
fn isolates_come_and_go_live_inside_the_pool() {
    let mut e = pool(2, 2, Limits::default());
    e.set_source(sample("02-concat.js"));
    e.set_load(true);
    for n in [50, 3, 120, 1] {
        e.set_isolates(n);
        assert!(e.wait_ready(Duration::from_secs(60)), "n = {n}");
        let before = counts(&e);
        std::thread::sleep(Duration::from_millis(1500));
        let after = counts(&e);
        assert_eq!(after.len(), n);
        let idle: Vec<usize> = (0..n).filter(|&i| after[i] <= before[i]).collect();
        assert!(idle.is_empty(), "n = {n}: no progress on {idle:?}");
        assert_eq!(e.thread_stats().len(), 2, "n = {n}");
    }
    e.set_load(false);
    assert!(failures(&e).is_empty());
}

/// A limit stop recycles the isolate inside the pool, on whichever thread
/// runs it; its neighbours never notice.
#[test]
fn recycling_inside_the_pool_leaves_neighbours_alone() {
    // A generous timeout: on a loaded machine a thread can lose its core
    // for hundreds of ms, and this test is about the recycle, not the clock.
    let limits = Limits {
        timeout: Duration::from_millis(1500),
        heap_bytes: 16 << 20,
        ..Default::default()
    };
    let mut e = pool(8, 2, limits);
    // Isolate 3 runs a heap bomb on its 2nd call, isolate 5 an endless loop.
    e.set_source(src(
        "h.mjs",
        "let n = 0;\n\
         export default (e) => {\n\
           n++;\n\
           if (e.isolate === 3 && e.invocation === 2) { const a = []; while (true) a.push({ x: [n] }); }\n\
           if (e.isolate === 5 && e.invocation === 2) { while (true) {} }\n\
           return `${e.isolate}:${n}`;\n\
         };",
    ));
    let invs = run(&mut e, 4);
    assert_eq!(invs.len(), 32);
    for i in &invs {
        match (i.worker, i.seq) {
            (3, 2) => assert_eq!(i.outcome.as_ref().unwrap_err().kind, ErrorKind::HeapLimit),
            (5, 2) => assert_eq!(i.outcome.as_ref().unwrap_err().kind, ErrorKind::Timeout),
            (3 | 5, s) if s > 2 => {
                // A fresh isolate: module state starts over.
                assert_eq!(
                    i.outcome.as_deref(),
                    Ok(format!("{}:{}", i.worker, s - 2).as_str())
                )
            }
            (w, s) => assert_eq!(i.outcome.as_deref(), Ok(format!("{w}:{s}").as_str())),
        }
    }
    let snaps = e.snapshots();
    for s in &snaps {
        let expected = u64::from(s.id == 3 || s.id == 5);
        assert_eq!(s.recycles, expected, "isolate {}", s.id);
    }
}

/// The thread model switches live: the isolates are replaced, the work
/// goes on under the new model, and the old threads go away.
#[test]
fn thread_model_switches_live() {
    let mut e = pool(6, 2, Limits::default());
    e.set_source(sample("02-concat.js"));
    e.set_load(true);
    std::thread::sleep(Duration::from_millis(300));
    e.set_threads(Threads::PerIsolate);
    assert_eq!(e.threads(), Threads::PerIsolate);
    assert!(e.wait_ready(Duration::from_secs(60)));
    let deadline = Instant::now() + Duration::from_secs(10);
    while e.thread_stats().len() != 6 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(e.thread_stats().len(), 6, "one thread per isolate");
    let before = counts(&e);
    std::thread::sleep(Duration::from_millis(500));
    assert!(counts(&e).iter().zip(&before).all(|(a, b)| a > b));
    e.set_threads(Threads::Pool(1));
    assert!(e.wait_ready(Duration::from_secs(60)));
    let deadline = Instant::now() + Duration::from_secs(10);
    while e.thread_stats().len() != 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(e.thread_stats().len(), 1);
    e.set_load(false);
    assert!(failures(&e).is_empty());
}
