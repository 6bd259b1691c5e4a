use std::collections::HashSet;
use std::time::{Duration, Instant};

use isolate_play::engine::{
    Engine, EngineConfig, ErrorKind, Level, Limits, Mode, ScriptKind, WorkerState,
};

use crate::support::*;

#[test]
fn concat_gives_hello_world_on_200_concurrent_isolates() {
    both_models(|| {
        let mut e = engine(200, Mode::Warm);
        e.set_source(sample("02-concat.js"));
        let invs = run(&mut e, 1);
        assert_eq!(invs.len(), 200);
        let workers: HashSet<_> = invs.iter().map(|i| i.worker).collect();
        assert_eq!(workers.len(), 200, "every isolate answered");
        assert!(
            results(&invs).iter().all(|r| r == "HelloWorld"),
            "{:?}",
            results(&invs)
        );
        assert!(invs.iter().all(|i| i.version == 1));
    });
}

#[test]
fn globals_do_not_leak_between_isolates() {
    both_models(|| {
        let code = "globalThis.n = (globalThis.n ?? 0) + 1; n";
        let mut e = engine(4, Mode::Warm);
        e.set_source(src("count.js", code));
        let invs = run(&mut e, 3);
        // Each isolate counts its own invocations: 1, 2, 3 on every one.
        for w in 0..4 {
            let mine: Vec<_> = invs.iter().filter(|i| i.worker == w).collect();
            assert_eq!(
                results(&mine.iter().map(|i| (*i).clone()).collect::<Vec<_>>()),
                ["1", "2", "3"]
            );
        }
        // A fresh context per invocation forgets globals.
        e.set_mode(Mode::Context);
        assert!(results(&run(&mut e, 2)).iter().all(|r| r == "1"));
    });
}

#[test]
fn the_three_modes_give_the_same_results() {
    both_models(|| {
        for s in [
            "02-concat.js",
            "03-snapshot.mjs",
            "07-throughput.js",
            "08-ladder.mjs",
            "11-async.mjs",
        ] {
            let mut per_mode = Vec::new();
            for mode in Mode::ALL {
                let mut e = engine(2, mode);
                e.set_source(sample(s));
                let r = results(&run(&mut e, 2));
                assert!(r.iter().all(|x| !x.starts_with("ERR")), "{s} {mode}: {r:?}");
                per_mode.push(r);
            }
            assert_eq!(per_mode[0], per_mode[1], "{s}: warm vs context");
            assert_eq!(per_mode[0], per_mode[2], "{s}: warm vs cold");
        }
    });
}

#[test]
fn plain_scripts_can_rerun_let_and_const_in_a_kept_context() {
    both_models(|| {
        let mut e = engine(1, Mode::Warm);
        e.set_source(src("decl.js", "const a = 2; let b = 3; class C {}; a * b"));
        assert_eq!(results(&run(&mut e, 3)), ["6", "6", "6"]);
    });
}

#[test]
fn handler_gets_event_with_payload_sync_and_async() {
    both_models(|| {
        let mut e = Engine::new(EngineConfig {
            isolates: 2,
            payload: r#"{"items":[{"name":"pen","price":2,"qty":3}]}"#.into(),
            ..config()
        });
        let code = "export default (e) => ({ i: e.isolate, n: e.invocation, total: e.payload.items[0].price * e.payload.items[0].qty })";
        let v = e.set_source(src("h.js", code));
        assert_eq!(e.source().unwrap().kind, ScriptKind::Handler);
        let invs = run(&mut e, 2);
        assert_eq!(
            results(&invs),
            [
                "{ i: 0, n: 1, total: 6 }",
                "{ i: 0, n: 2, total: 6 }",
                "{ i: 1, n: 1, total: 6 }",
                "{ i: 1, n: 2, total: 6 }"
            ]
        );
        assert!(invs.iter().all(|i| i.version == v));

        let code = "export default async function (e) { await null; const x = await Promise.resolve(e.payload.items.length); return `async ${x}`; }";
        e.set_source(src("a.mjs", code));
        assert!(results(&run(&mut e, 1)).iter().all(|r| r == "async 1"));

        e.set_source(src(
            "r.mjs",
            "export default async () => { throw new RangeError('nope') }",
        ));
        let invs = run(&mut e, 1);
        let err = invs[0].outcome.as_ref().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Rejection);
        assert!(err.message.contains("RangeError: nope"), "{err:?}");
        assert!(
            err.stack.as_deref().unwrap_or("").contains("r.mjs:1"),
            "{err:?}"
        );
    });
}

#[test]
fn handler_without_default_function_is_a_clear_error() {
    both_models(|| {
        let mut e = engine(1, Mode::Warm);
        e.set_source(src("x.mjs", "export const x = 1;"));
        let err = run(&mut e, 1)[0].outcome.clone().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Module);
        assert!(err.message.contains("export default"), "{err:?}");
    });
}

#[test]
fn console_is_captured_with_levels_and_bounded() {
    both_models(|| {
        let mut e = engine(1, Mode::Warm);
        e.set_source(src(
            "c.js",
            "console.log('a', 1, {b: [2]}); console.info('i'); console.warn('w'); console.error('e'); console.debug('d'); 0",
        ));
        let inv = &run(&mut e, 1)[0];
        let lines: Vec<_> = inv
            .console
            .lines
            .iter()
            .map(|l| (l.level, l.text.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (Level::Log, "a 1 { b: [ 2 ] }"),
                (Level::Info, "i"),
                (Level::Warn, "w"),
                (Level::Error, "e"),
                (Level::Debug, "d")
            ]
        );
        // Line bound: 1,000 lines kept, the rest counted.
        e.set_source(src(
            "many.js",
            "for (let i = 0; i < 2500; i++) console.log(i); 'done'",
        ));
        let inv = &run(&mut e, 1)[0];
        assert_eq!(inv.console.lines.len(), 1000);
        assert_eq!(inv.console.dropped, 1500);
        assert_eq!(inv.outcome.as_deref(), Ok("done"));
        // Byte bound: 64 KiB, the line that crosses it is cut.
        e.set_source(src(
            "big.js",
            "console.log('x'.repeat(50000)); console.log('y'.repeat(50000)); console.log('z'); 1",
        ));
        let inv = &run(&mut e, 1)[0];
        let bytes: usize = inv.console.lines.iter().map(|l| l.text.len()).sum();
        assert!(bytes <= 64 * 1024 + 64, "{bytes}");
        assert!(
            inv.console.lines[1]
                .text
                .ends_with("[truncated: 50000 chars in all]"),
            "{}",
            &inv.console.lines[1].text[inv.console.lines[1].text.len() - 60..]
        );
        assert_eq!(inv.console.dropped, 1);
        // The next invocation starts with an empty console.
        e.set_source(src("quiet.js", "1"));
        assert!(run(&mut e, 1)[0].console.lines.is_empty());
    });
}

#[test]
fn huge_results_are_truncated_with_a_note() {
    both_models(|| {
        let mut e = engine(1, Mode::Warm);
        e.set_source(src("huge.js", "'x'.repeat(1e6)"));
        let r = run(&mut e, 1)[0].outcome.clone().unwrap();
        assert!(r.len() < 70 * 1024);
        assert!(
            r.ends_with("[truncated: 1000000 chars in all]"),
            "{}",
            &r[r.len() - 60..]
        );
    });
}

fn limits(timeout_ms: u64, heap_mb: usize) -> Limits {
    Limits {
        heap_bytes: heap_mb << 20,
        timeout: Duration::from_millis(timeout_ms),
        ..Default::default()
    }
}

#[test]
fn infinite_loops_sync_and_in_promises_stop_at_the_timeout_and_the_worker_goes_on() {
    both_models(|| {
        let loops = [
            ("sync.js", "while (true) {}"),
            (
                "micro.js",
                "Promise.resolve().then(function spin() { return Promise.resolve().then(spin); }); 1",
            ),
            (
                "async.mjs",
                "export default async () => { await null; for (;;) {} }",
            ),
        ];
        for mode in Mode::ALL {
            for (name, code) in loops {
                let mut e = Engine::new(EngineConfig {
                    isolates: 2,
                    mode,
                    limits: limits(200, 64),
                    ..config()
                });
                e.set_source(src(name, code));
                let t0 = Instant::now();
                let invs = run(&mut e, 1);
                let took = t0.elapsed();
                for inv in &invs {
                    let err = inv.outcome.as_ref().unwrap_err();
                    assert_eq!(err.kind, ErrorKind::Timeout, "{mode} {name}: {err:?}");
                    assert!(err.message.contains("200 ms"), "{err:?}");
                    assert!(inv.duration.unwrap() >= Duration::from_millis(200));
                }
                assert!(
                    took < Duration::from_millis(200 + 1500),
                    "{mode} {name}: {took:?}"
                );
                // The same workers serve the next invocation.
                e.set_source(sample("02-concat.js"));
                assert_eq!(
                    results(&run(&mut e, 1)),
                    ["HelloWorld", "HelloWorld"],
                    "{mode} {name}"
                );
                if mode != Mode::Cold {
                    assert!(e.snapshots().iter().all(|s| s.recycles == 1));
                }
            }
        }
    });
}

#[test]
fn a_heap_bomb_is_stopped_and_the_other_isolates_go_on() {
    both_models(|| {
        let mut e = Engine::new(EngineConfig {
            isolates: 3,
            limits: limits(10_000, 16),
            ..config()
        });
        let code = "export default (e) => { if (e.isolate === 1) { const a = []; for (;;) a.push(new Array(1e5).fill(a.length)); } return 'fine ' + e.invocation; }";
        e.set_source(src("bomb.mjs", code));
        let invs = run(&mut e, 2);
        for inv in &invs {
            if inv.worker == 1 {
                let err = inv.outcome.as_ref().unwrap_err();
                assert_eq!(err.kind, ErrorKind::HeapLimit, "{err:?}");
                assert!(err.message.contains("heap limit exceeded"));
            } else {
                assert!(inv.outcome.as_ref().unwrap().starts_with("fine "));
            }
        }
        let snaps = e.snapshots();
        assert_eq!(snaps[1].recycles, 2);
        assert_eq!(snaps[0].recycles, 0);
        assert!(snaps[1].heap_used < 16 << 20, "the bomb's heap is gone");
        // The hostile sample too, in every mode.
        for mode in Mode::ALL {
            e.set_mode(mode);
            e.set_source(sample("04-heap-limit.js"));
            for inv in run(&mut e, 1) {
                assert_eq!(
                    inv.outcome.unwrap_err().kind,
                    ErrorKind::HeapLimit,
                    "{mode}"
                );
            }
        }
        e.set_source(sample("02-concat.js"));
        assert!(results(&run(&mut e, 1)).iter().all(|r| r == "HelloWorld"));
    });
}

#[test]
fn stack_overflow_is_a_range_error() {
    both_models(|| {
        let mut e = engine(1, Mode::Warm);
        e.set_source(src(
            "deep.js",
            "function f(n) { return f(n + 1) + 1; }\nf(0)",
        ));
        let err = run(&mut e, 1)[0].outcome.clone().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Exception);
        assert!(
            err.message
                .contains("RangeError: Maximum call stack size exceeded"),
            "{err:?}"
        );
        // The isolate is not poisoned.
        e.set_source(src("ok.js", "'ok'"));
        assert_eq!(results(&run(&mut e, 1)), ["ok"]);
    });
}

#[test]
fn syntax_errors_give_file_line_column_and_the_line() {
    both_models(|| {
        let mut e = engine(1, Mode::Warm);
        e.set_source(sample("09-syntax-error.js"));
        let err = run(&mut e, 1)[0].outcome.clone().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax);
        let loc = err.location.clone().unwrap();
        assert!(loc.file.ends_with("09-syntax-error.js"));
        assert_eq!((loc.line, loc.column), (4, 28));
        assert_eq!(loc.source_line, "const message = greeting + ;");
        assert!(
            err.headline()
                .ends_with("09-syntax-error.js:4:28: SyntaxError: Unexpected token ';'"),
            "{}",
            err.headline()
        );
        // Modules too.
        e.set_source(src("m.mjs", "export default () => 1;\nlet = ;"));
        let err = run(&mut e, 1)[0].outcome.clone().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax);
        assert_eq!(err.location.as_ref().map(|l| l.line), Some(2));
    });
}

#[test]
fn exceptions_carry_message_and_stack() {
    both_models(|| {
        let mut e = engine(1, Mode::Context);
        e.set_source(sample("10-exception.js"));
        let err = run(&mut e, 1)[0].outcome.clone().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Exception);
        assert_eq!(err.message, "TypeError: not an object: oops");
        let stack = err.stack.unwrap();
        assert!(
            stack.contains("at parse (") && stack.contains("10-exception.js:5:11"),
            "{stack}"
        );
        assert_eq!(err.location.unwrap().line, 5);
    });
}

#[test]
fn scripts_get_no_host_access() {
    both_models(|| {
        let mut e = engine(1, Mode::Warm);
        e.set_source(src(
            "probe.js",
            "[typeof require, typeof process, typeof fetch, typeof Deno, typeof setTimeout, typeof console.log].join(',')",
        ));
        assert_eq!(
            results(&run(&mut e, 1)),
            ["undefined,undefined,undefined,undefined,undefined,function"]
        );
        e.set_source(src(
            "imp.mjs",
            "import fs from 'fs';\nexport default () => fs;",
        ));
        let err = run(&mut e, 1)[0].outcome.clone().unwrap_err();
        assert!(err.message.contains("cannot import 'fs'"), "{err:?}");
        e.set_source(src(
            "dyn.mjs",
            "export default async () => { await import('./other.js'); }",
        ));
        let err = run(&mut e, 1)[0].outcome.clone().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Rejection);
        assert!(
            err.message.contains("cannot import './other.js'"),
            "{err:?}"
        );
    });
}

#[test]
fn a_promise_that_never_settles_is_reported() {
    both_models(|| {
        let mut e = engine(1, Mode::Warm);
        e.set_source(src("p.mjs", "export default () => new Promise(() => {});"));
        let err = run(&mut e, 1)[0].outcome.clone().unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unsettled);
    });
}

#[test]
fn changing_isolates_and_source_while_under_load() {
    both_models(|| {
        let mut e = engine(2, Mode::Warm);
        e.set_source(sample("02-concat.js"));
        e.set_load(true);
        wait_for(&e, Duration::from_secs(10), |i| {
            i.outcome.as_deref() == Ok("HelloWorld")
        });
        e.set_isolates(6);
        assert_eq!(e.isolates(), 6);
        let v2 = e.set_source(src("v2.js", "'version two'"));
        // Every one of the six workers, old and new, reports the new version.
        let mut seen = HashSet::new();
        wait_for(&e, Duration::from_secs(20), |i| {
            if i.version == v2 {
                assert_eq!(i.outcome.as_deref(), Ok("version two"));
                seen.insert(i.worker);
            } else {
                assert!(i.version < v2);
            }
            seen.len() == 6
        });
        e.set_isolates(1);
        e.set_mode(Mode::Context);
        let before = e.total_invocations();
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            e.total_invocations() > before,
            "load goes on after shrinking"
        );
        e.set_load(false);
        // Idle once its last call ends (polled: the suite loads the machine).
        let t = std::time::Instant::now();
        while e.snapshots()[0].state != WorkerState::Idle {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "{:?}",
                e.snapshots()[0].state
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(e.snapshots()[0].errors == 0);
    });
}

#[test]
fn metrics_are_published() {
    both_models(|| {
        let mut e = engine(2, Mode::Warm);
        e.set_source(sample("02-concat.js"));
        run(&mut e, 50);
        let snaps = e.snapshots();
        for s in &snaps {
            assert_eq!(s.invocations, 50);
            assert_eq!(s.errors, 0);
            assert!(s.heap_used > 0 && s.heap_used <= s.heap_total);
            assert!(s.heap_limit >= 64 << 20);
            assert!(s.cold_start > Duration::ZERO);
        }
        let (lat, cold) = e.telemetry().drain();
        assert_eq!(lat.len(), 100);
        assert_eq!(cold.len(), 2);
    });
}

/// Warm invocations share a TryCatch in chunks: an exception must never
/// leak into the next invocation, across chunk boundaries too.
#[test]
fn warm_invocations_that_throw_now_and_then_leave_the_next_untouched() {
    both_models(|| {
        let code = "globalThis.n = (globalThis.n ?? 0) + 1;\n\
                    if (n % 100 === 0) throw new Error('boom ' + n);\n\
                    n";
        let mut e = engine(1, Mode::Warm);
        e.set_source(src("sometimes.js", code));
        let invs = run(&mut e, 600);
        assert_eq!(invs.len(), 600);
        for (i, inv) in invs.iter().enumerate() {
            let n = i + 1;
            match &inv.outcome {
                Err(err) => {
                    assert_eq!(n % 100, 0, "invocation {n}: {err:?}");
                    assert_eq!(err.kind, ErrorKind::Exception);
                    assert_eq!(err.message, format!("Error: boom {n}"));
                    assert_eq!(err.location.as_ref().unwrap().line, 2);
                }
                Ok(r) => {
                    assert_ne!(n % 100, 0, "invocation {n} should have thrown");
                    assert_eq!(r, &n.to_string());
                }
            }
        }
        assert_eq!(e.snapshots()[0].errors, 6);
    });
}

/// Under load, sub-microsecond calls are timed 1 in 16: the histogram holds
/// far fewer samples than there were invocations, and still some.
#[test]
fn latency_under_load_is_a_sample_of_fast_calls() {
    both_models(|| {
        let mut e = engine(1, Mode::Warm);
        e.set_source(sample("02-concat.js"));
        e.wait_ready(Duration::from_secs(30));
        e.set_load(true);
        std::thread::sleep(Duration::from_millis(400));
        e.set_load(false);
        std::thread::sleep(Duration::from_millis(150));
        let invocations = e.total_invocations();
        let (lat, _) = e.telemetry().drain();
        assert!(invocations > 10_000, "{invocations}");
        assert!(!lat.is_empty());
        assert!(
            lat.len() * 4 < invocations,
            "{} of {invocations}",
            lat.len()
        );
    });
}

/// A mode's latency is never mixed with another's: switching mode starts
/// the distributions afresh.
#[test]
fn switching_mode_starts_latency_afresh() {
    both_models(|| {
        let mut e = engine(2, Mode::Warm);
        e.set_source(sample("02-concat.js"));
        run(&mut e, 200);
        e.set_mode(Mode::Context);
        run(&mut e, 5);
        let (lat, cold) = e.telemetry().drain();
        assert_eq!(lat.len(), 10, "only the context-mode calls");
        assert!(
            lat.min() > 1_000,
            "a fresh context costs µs, not ns: {}",
            lat.min()
        );
        // Context mode sizes the young generation differently, so the
        // switch replaced both isolates: two cold starts, no more.
        assert_eq!(cold.len(), 2, "the two replacement isolates");
    });
}
