//! The hostile suite: scripts that try to break the limits, each run by the
//! real binary in a child process (memory bombs never endanger the test
//! process), with small limits so the suite stays fast. Every test asserts
//! the reported kind and message, the exit status (never >= 128), that the
//! other isolates' results are intact, and where memory is at stake, the
//! child's peak RSS.

use std::time::{Duration, Instant};

use isolate_play::engine::{Engine, ErrorKind, Level, Mode, ScriptKind, Threads, WorkerState};
use serde_json::Value;

use crate::support::*;

const MIB: u64 = 1 << 20;

/// `isolate-play run <file> --json <args>` in a child; returns the exit
/// code and the JSON report. Fails on a signal death or after `limit`.
fn run_json(name: &str, code: &str, args: &[&str], limit: Duration) -> (i32, Value) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, code).expect("write the script");
    let mut full = vec!["run", path.to_str().expect("utf-8 path"), "--json"];
    full.extend_from_slice(args);
    let out = within(command(&full), limit);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let Some(code) = out.status.code() else {
        panic!(
            "{name} {args:?}: killed by a signal ({:?})\n{stderr}",
            out.status
        );
    };
    assert!(code < 128, "{name} {args:?}: exit {code}\n{stderr}");
    let json: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{name} {args:?}: no JSON ({e}): {stdout}\n{stderr}"));
    (code, json)
}

fn errors(report: &Value) -> Vec<(String, String)> {
    report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let e = &r["error"];
            (
                e["kind"].as_str().unwrap_or("none").to_string(),
                e["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The child's own peak RSS (VmHWM), as its report gives it.
fn assert_peak_under_1_gib(report: &Value, what: &str) {
    let peak = report["summary"]["peak_rss_bytes"]
        .as_u64()
        .expect("peak rss");
    assert!(peak < 1024 * MIB, "{what}: peak RSS {} MiB", peak / MIB);
}

const MODES: [&str; 3] = ["warm", "context", "cold"];

/// A built-in that V8 cannot interrupt may pass its timeout before it
/// reaches the heap limit: `run` then reports the timeout and that V8 could
/// not stop it (and ends the run), which is as true as a heap-limit stop.
fn stopped_by_its_timeout(kind: &str, msg: &str) -> bool {
    kind == "timeout" && msg.contains("could not stop")
}

/// A handler that runs `bomb` on isolate 0 only and answers "fine" on the
/// others, so a test can see that the neighbours never notice.
fn only_isolate_0(bomb: &str) -> String {
    format!("export default (e) => {{ if (e.isolate !== 0) return 'fine'; {bomb} }}")
}

/// `bomb` on isolate 0 of two (see `only_isolate_0`), in `mode`, with a
/// 16 MiB heap and the given timeout.
fn bomb_isolate_0(name: &str, bomb: &str, mode: &str, timeout_ms: &str) -> (i32, Value) {
    run_json(
        name,
        &only_isolate_0(bomb),
        &[
            "-n",
            "2",
            "-m",
            mode,
            "--heap-mb",
            "16",
            "--timeout-ms",
            timeout_ms,
        ],
        Duration::from_secs(120),
    )
}

fn assert_neighbours_fine(report: &Value, what: &str) {
    for r in report["results"]
        .as_array()
        .expect("results")
        .iter()
        .skip(1)
    {
        assert_eq!(r["result"], "fine", "{what}: a neighbour noticed: {r}");
        assert_eq!(r["failures"], 0, "{what}: {r}");
    }
}

// ---------------------------------------------------------------- A: heap

/// Heap bombs of every shape: interruptible JS loops, and built-ins that V8
/// cannot interrupt (those may strand their isolate, never the process).
const HEAP_BOMBS: [(&str, &str); 7] = [
    (
        "array-loop",
        "const a = new Array(2e7); for (let i = 0; i < a.length; i++) a[i] = 0; return a.length",
    ),
    ("spread-string", "return [...'.'.repeat(1e8)].length"),
    ("fill-dictionary", "return new Array(1e8).fill(0).length"),
    (
        "objects",
        "const a = []; for (;;) a.push({ x: Math.random(), y: [1, 2, 3] })",
    ),
    (
        "map",
        "const m = new Map(); for (let i = 0; ; i++) m.set(i, String(i))",
    ),
    (
        "json-parse",
        "return JSON.parse('[' + '[1,2,3],'.repeat(3e6) + '1]').length",
    ),
    (
        "array-from",
        "return Array.from({ length: 5e7 }, (_, i) => ({ i })).length",
    ),
];

#[test]
fn heap_bombs_stop_one_isolate_in_every_mode_and_the_process_lives() {
    for (what, bomb) in HEAP_BOMBS {
        for mode in MODES {
            let t0 = Instant::now();
            let (code, r) = bomb_isolate_0("bomb.mjs", bomb, mode, "5000");
            let label = format!("{what} ({mode})");
            assert_eq!(code, 1, "{label}: {r}");
            let (kind, msg) = &errors(&r)[0];
            if !stopped_by_its_timeout(kind, msg) {
                assert_eq!(kind, "heap_limit", "{label}: {msg}");
                assert!(
                    msg.contains("heap limit") && msg.contains("16 MiB"),
                    "{label}: {msg}"
                );
                assert!(r["summary"]["recycles"].as_u64() >= Some(1), "{label}: {r}");
            }
            assert_neighbours_fine(&r, &label);
            assert_peak_under_1_gib(&r, &label);
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "{label}: took {:?}",
                t0.elapsed()
            );
        }
    }
}

#[test]
fn the_inputs_of_the_issue_end_with_a_heap_limit_message() {
    let cases: [(&str, &[&str]); 3] = [
        (
            "const a = new Array(2e7); for (let i = 0; i < a.length; i++) a[i] = 0; a.length",
            &["-n", "4"],
        ),
        (
            "[...'.'.repeat(1e8)].length",
            &["-n", "2", "--heap-mb", "16", "--timeout-ms", "5000"],
        ),
        (
            "new Array(1e8).fill(0).length",
            &["--heap-mb", "16", "--timeout-ms", "300"],
        ),
    ];
    for (code, args) in cases {
        for mode in MODES {
            let mut a = args.to_vec();
            a.extend(["-m", mode]);
            let (status, r) = run_json("issue.js", code, &a, Duration::from_secs(120));
            assert_eq!(status, 1, "{code} {a:?}: {r}");
            for (kind, msg) in errors(&r) {
                // At default limits the 1 s timeout can come first on a
                // busy machine: whichever limit stops it, it says which.
                let timeout_ok = (!a.contains(&"--timeout-ms") && kind == "timeout")
                    || stopped_by_its_timeout(&kind, &msg);
                assert!(
                    kind == "heap_limit" || timeout_ok,
                    "{code} {a:?}: {kind} {msg}"
                );
                assert!(msg.contains("limit") || msg.contains("timed out"), "{msg}");
            }
            // An isolate's heap is shown against its own limit, never the
            // limit V8 raised while the stop unwound.
            let limit = r["results"][0]["heap"]["limit"].as_u64().unwrap_or(0);
            assert!(limit <= 64 * MIB, "{code} {a:?}: limit {limit}");
        }
    }
}

// ---------------------------------------------------------- B: external

#[test]
fn array_buffers_have_a_budget_that_stops_a_pressing_isolate() {
    let bomb = "const keep = []; for (let i = 0; i < 400; i++) keep.push(new Uint8Array(16 << 20).fill(1)); return keep.length";
    for mode in MODES {
        let (code, r) = bomb_isolate_0("ab.mjs", bomb, mode, "30000");
        assert_eq!(code, 1, "{mode}: {r}");
        let (kind, msg) = &errors(&r)[0];
        assert!(
            kind == "exception" || kind == "external_limit",
            "{mode}: {kind} {msg}"
        );
        assert!(msg.contains("64 MiB"), "{mode}: {msg}");
        assert_neighbours_fine(&r, mode);
        assert_peak_under_1_gib(&r, mode);
    }
    // The issue's exact input: a plain script on two isolates.
    let (code, r) = run_json(
        "ab.js",
        "const keep = []; for (let i = 0; i < 400; i++) keep.push(new Uint8Array(16 << 20).fill(1)); keep.length",
        &["-n", "2", "--heap-mb", "16", "--timeout-ms", "30000"],
        Duration::from_secs(120),
    );
    assert_eq!(code, 1, "{r}");
    assert_peak_under_1_gib(&r, "ab.js");
}

#[test]
fn an_allocation_past_the_budget_is_a_catchable_range_error() {
    let code = "let caught = []; \
        try { new ArrayBuffer(100 << 20) } catch (e) { caught.push(e instanceof RangeError) } \
        try { new Float64Array(20 << 20) } catch (e) { caught.push(e instanceof RangeError) } \
        const ok = new Uint8Array(8 << 20); ok[0] = 1; \
        [caught.join(), ok.length].join(' ')";
    let (status, r) = run_json(
        "catch.js",
        code,
        &["-n", "1", "--external-mb", "32"],
        Duration::from_secs(60),
    );
    assert_eq!(status, 0, "{r}");
    assert_eq!(r["results"][0]["result"], "true,true 8388608", "{r}");
    let heap = &r["results"][0]["heap"];
    assert_eq!(heap["external_limit"].as_u64(), Some(32 * MIB), "{r}");
}

#[test]
fn an_isolate_that_keeps_catching_refusals_is_stopped_in_time() {
    // Under 48 refusals per invocation, but invocation after invocation in
    // a kept isolate: each refusal makes V8 raise its heap limit a little.
    let code = "globalThis.n = (globalThis.n ?? 0) + 1; const keep = []; \
        for (let i = 0; i < 10; i++) { try { keep.push(new Uint8Array(16 << 20)) } catch (e) {} } n";
    let (status, r) = run_json(
        "press.js",
        code,
        &[
            "-n",
            "1",
            "-i",
            "20",
            "--heap-mb",
            "16",
            "--timeout-ms",
            "10000",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(status, 1, "{r}");
    let first = &r["results"][0]["first_error"];
    assert_eq!(first["kind"], "external_limit", "{r}");
    assert!(r["summary"]["recycles"].as_u64() >= Some(1), "{r}");
}

#[test]
fn resizable_and_many_small_buffers_are_bounded_too() {
    let cases = [
        (
            "small",
            "const k = []; for (;;) k.push(new ArrayBuffer(1 << 20)); return 0",
        ),
        (
            "resizable",
            "const b = new ArrayBuffer(0, { maxByteLength: 2 ** 32 }); b.resize(2 ** 31); return b.byteLength",
        ),
        (
            "shared",
            "const k = []; for (;;) k.push(new SharedArrayBuffer(8 << 20)); return 0",
        ),
        (
            "reflect-override",
            "Reflect.construct = (t, a) => new t(a[0], { maxByteLength: 2 ** 32 }); \
             const b = new ArrayBuffer(8); b.resize(2 ** 31); return b.byteLength",
        ),
        ("wasm", "return typeof WebAssembly"),
    ];
    for (what, bomb) in cases {
        let (_, r) = run_json(
            "ab2.mjs",
            &only_isolate_0(bomb),
            &["-n", "2", "--heap-mb", "16", "--timeout-ms", "10000"],
            Duration::from_secs(120),
        );
        assert_neighbours_fine(&r, what);
        assert_peak_under_1_gib(&r, what);
        if what == "wasm" {
            assert_eq!(r["results"][0]["result"], "undefined", "{r}");
        } else {
            let (kind, msg) = &errors(&r)[0];
            assert!(
                kind == "exception" || kind == "external_limit",
                "{what}: {kind} {msg}"
            );
        }
    }
}

// ----------------------------------------------------- C: bounded copies

#[test]
fn huge_values_are_cut_before_they_are_copied() {
    let cases = [
        ("result", "'x'.repeat(2 ** 28)"),
        ("console", "console.log('x'.repeat(2 ** 28)); 1"),
        ("thrown-string", "throw 'x'.repeat(2 ** 28)"),
        ("error-message", "throw new Error('x'.repeat(2 ** 28))"),
        (
            "nested",
            "({ a: ['x'.repeat(2 ** 28)], b: 'y'.repeat(1e6) })",
        ),
    ];
    for (what, code) in cases {
        let t0 = Instant::now();
        let (_, r) = run_json(
            "big.js",
            code,
            &["-n", "8", "--timeout-ms", "10000"],
            Duration::from_secs(60),
        );
        let text = r.to_string();
        // 8 isolates, each result/console/error cut to 64 KiB (plus notes).
        assert!(
            text.len() < 8 * 200 * 1024,
            "{what}: {} bytes of JSON",
            text.len()
        );
        // Cut with a note: ours, or Node's own for long quoted strings.
        assert!(
            text.contains("truncated") || text.contains("more characters"),
            "{what}: no truncation note"
        );
        assert_peak_under_1_gib(&r, what);
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{what}: {:?}",
            t0.elapsed()
        );
    }
}

#[test]
fn an_infinite_stack_trace_limit_prints_a_bounded_stack() {
    let code = "Error.stackTraceLimit = Infinity; function f(n) { return f(n + 1) + 1 } f(0)";
    let (status, r) = run_json("deep.js", code, &["-n", "1"], Duration::from_secs(60));
    assert_eq!(status, 1);
    let e = &r["results"][0]["error"];
    assert!(
        e["message"]
            .as_str()
            .unwrap_or("")
            .contains("Maximum call stack size"),
        "{e}"
    );
    let stack = e["stack"].as_str().unwrap_or("");
    assert!(
        stack.lines().count() <= 20,
        "{} stack lines",
        stack.lines().count()
    );
    assert!(stack.contains("deep.js:1"), "{stack}");
}

// ------------------------------------------------ D: a stop is never success

#[test]
fn a_stop_inside_the_hosts_formatting_is_a_timeout() {
    let cases = [
        (
            "microtask",
            "Promise.resolve().then(() => { for (;;) {} }); 1",
        ),
        (
            "thrown-then-microtask",
            "Promise.resolve().then(() => { for (;;) {} }); throw new Error('first')",
        ),
    ];
    for (what, code) in cases {
        for mode in MODES {
            let name = if code.contains("export default") {
                "stop.mjs"
            } else {
                "stop.js"
            };
            let (status, r) = run_json(
                name,
                code,
                &["-n", "2", "-i", "2", "-m", mode, "--timeout-ms", "300"],
                Duration::from_secs(60),
            );
            assert_eq!(status, 1, "{what} {mode}: {r}");
            assert_eq!(r["summary"]["ok"], 0, "{what} {mode}: {r}");
            for (kind, msg) in errors(&r) {
                assert_eq!(kind, "timeout", "{what} {mode}: {msg}");
                assert!(msg.contains("300 ms"), "{what} {mode}: {msg}");
            }
        }
    }
    // The host's formatting never runs script code (toJSON, getters, Proxy
    // traps), so such values are shown as they are, at once.
    let never_run = [
        (
            "error-message-getter",
            "const e = new Error('x'); Object.defineProperty(e, 'message', { get() { for (;;) {} } }); throw e",
        ),
        (
            "error-name-getter",
            "class E extends Error { get name() { for (;;) {} } }; throw new E('x')",
        ),
        (
            "proxy-traps",
            "new Proxy({ a: 1 }, { get() { for (;;) {} }, ownKeys() { for (;;) {} }, getOwnPropertyDescriptor() { for (;;) {} } })",
        ),
        ("getter", "({ get a() { for (;;) {} } })"),
    ];
    for (what, code) in never_run {
        let t0 = Instant::now();
        let (_, r) = run_json(
            "shown.js",
            code,
            &["-n", "1", "--timeout-ms", "5000"],
            Duration::from_secs(60),
        );
        assert_eq!(r["summary"]["recycles"], 0, "{what}: {r}");
        assert!(
            t0.elapsed() < Duration::from_secs(4),
            "{what}: {:?}",
            t0.elapsed()
        );
    }
    // The host never calls toJSON: the object is shown as it is.
    let (status, r) = run_json(
        "tojson.js",
        "({ toJSON() { for (;;) {} } })",
        &["-n", "2", "-i", "2", "--timeout-ms", "300"],
        Duration::from_secs(60),
    );
    assert_eq!(status, 0, "{r}");
    assert_eq!(r["results"][0]["result"], "{ toJSON: [Function: toJSON] }");
}

// ------------------------------------------------------- E to I: in-process

#[test]
fn the_scripts_own_error_is_reported_despite_prepare_stack_trace() {
    for mode in Mode::ALL {
        let mut e = engine(1, mode);
        e.set_source(src(
            "pst.js",
            "Error.prepareStackTrace = () => { throw new Error('inner'); };\n// two\nthrow new Error('boom');",
        ));
        let inv = run(&mut e, 1).remove(0);
        let err = inv.outcome.expect_err("throws");
        assert_eq!(err.kind, ErrorKind::Exception, "{mode}");
        assert_eq!(err.message, "Error: boom", "{mode}");
        let at = err.location.expect("a location");
        assert_eq!(
            (at.file.as_str(), at.line, at.column),
            ("pst.js", 3, 7),
            "{mode}"
        );
        assert!(
            err.stack.unwrap_or_default().contains("pst.js:3:7"),
            "{mode}"
        );
    }
}

#[test]
fn async_leftovers_never_run_in_the_next_invocation() {
    let code = "export default (e) => {\n  Promise.resolve().then(() => console.log('queued by', e.invocation));\n  if (e.invocation % 2 === 1) throw new Error('odd ' + e.invocation);\n  return e.invocation;\n};";
    for mode in Mode::ALL {
        let mut e = engine(1, mode);
        e.set_source(src("left.mjs", code));
        let invs = run(&mut e, 4);
        for inv in &invs {
            let lines: Vec<&str> = inv.console.lines.iter().map(|l| l.text.as_str()).collect();
            assert_eq!(
                lines,
                [format!("queued by {}", inv.seq)],
                "{mode}: invocation {}",
                inv.seq
            );
        }
        assert!(
            invs[0].outcome.is_err() && invs[1].outcome.is_ok(),
            "{mode}"
        );
    }
}

#[test]
fn unhandled_rejections_are_reported_on_the_console() {
    for mode in Mode::ALL {
        let mut e = engine(1, mode);
        e.set_source(src(
            "rej.js",
            "Promise.reject(new Error('x'));\nconst p = Promise.reject(new Error('handled later')); p.catch(() => {});\n1",
        ));
        let inv = run(&mut e, 1).remove(0);
        assert_eq!(inv.outcome.as_deref(), Ok("1"), "{mode}");
        let errors: Vec<_> = inv
            .console
            .lines
            .iter()
            .filter(|l| l.level == Level::Error)
            .collect();
        assert_eq!(errors.len(), 1, "{mode}: {:?}", inv.console);
        assert!(
            errors[0]
                .text
                .starts_with("Uncaught (in promise) Error: x\n    at rej.js:1:16"),
            "{mode}: {}",
            errors[0].text
        );
    }
    // A handler's own returned rejection is its error, not also a console line.
    let mut e = engine(1, Mode::Warm);
    e.set_source(src(
        "r.mjs",
        "export default async () => { throw new Error('mine') }",
    ));
    let inv = run(&mut e, 1).remove(0);
    assert_eq!(inv.outcome.expect_err("rejects").kind, ErrorKind::Rejection);
    assert!(inv.console.lines.is_empty(), "{:?}", inv.console);
}

#[test]
fn positions_are_the_files_own_even_inside_new_function() {
    for mode in Mode::ALL {
        let mut e = engine(1, mode);
        e.set_source(src(
            "fn.js",
            "const f = new Function('a', 'return a.b.c');\nf({});",
        ));
        let err = run(&mut e, 1).remove(0).outcome.expect_err("throws");
        let at = err.location.clone().expect("a location in the file");
        assert_eq!((at.file.as_str(), at.line), ("fn.js", 2), "{mode}: {err:?}");
        assert!(
            err.headline().starts_with("fn.js:2:1: TypeError"),
            "{mode}: {}",
            err.headline()
        );
        let stack = err.stack.unwrap_or_default();
        assert!(stack.contains("fn.js:2:1"), "{mode}: {stack}");
        assert!(!stack.contains("fn.js:3"), "{mode}: {stack}");
    }
}

#[test]
fn values_are_shown_as_a_javascript_developer_expects() {
    let mut e = engine(1, Mode::Warm);
    let cases = [
        ("10n ** 5000n", format!("1{}n", "0".repeat(5000))),
        ("new Map([['a', 1]])", "Map(1) { 'a' => 1 }".into()),
        (
            "const o = {}; o.self = o; o",
            "<ref *1> { self: [Circular *1] }".into(),
        ),
        ("'a\\nb\\tc'", "a\nb\tc".into()),
        (
            "const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); proxy",
            "<Revoked Proxy>".into(),
        ),
        ("console.log(new Set([1]), 'two'); 0", "0".into()),
    ];
    for (code, want) in cases {
        e.set_source(src("v.js", code));
        let inv = run(&mut e, 1).remove(0);
        assert_eq!(inv.outcome.as_deref(), Ok(want.as_str()), "{code}");
    }
    e.set_source(src(
        "v.js",
        "console.log(new Set([1]), 'two', { a: [1, 2] }); 0",
    ));
    let inv = run(&mut e, 1).remove(0);
    assert_eq!(
        inv.console.lines[0].text,
        "Set(1) { 1 } two { a: [ 1, 2 ] }"
    );
}

// ------------------------------------------------------ J: panics

#[test]
fn a_worker_panic_is_that_isolates_failure_and_nothing_waits_forever() {
    for mode in Mode::ALL {
        let mut e = engine(2, mode);
        e.set_source(src("p.js", "'ok'"));
        e.wait_ready(Duration::from_secs(30));
        e.inject_panic_for_test();
        let invs = run(&mut e, 2);
        assert_eq!(invs.len(), 4, "{mode}: every invocation reported");
        for w in 0..2 {
            let mine: Vec<_> = invs.iter().filter(|i| i.worker == w).collect();
            let err = mine[0].outcome.clone().expect_err("the first one panicked");
            assert_eq!(err.kind, ErrorKind::Internal, "{mode}");
            assert!(err.message.contains("panicked"), "{mode}: {}", err.message);
            assert_eq!(
                mine[1].outcome.as_deref(),
                Ok("ok"),
                "{mode}: replaced and going on"
            );
        }
        assert!(e.snapshots().iter().all(|s| s.recycles == 1), "{mode}");
    }
}

#[test]
fn a_bad_payload_in_the_config_file_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "[engine]\npayload = \"{bad\"\n").expect("write config");
    let out = within(
        command(&[
            "run",
            "samples/08-ladder.mjs",
            "--config",
            config.to_str().expect("utf-8"),
        ]),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("payload") && err.lines().count() == 1, "{err}");
}

// ------------------------------------------------------ K: bookkeeping

#[test]
fn limit_stops_count_as_recycles_in_every_mode_and_heap_shows_the_new_isolate() {
    for mode in ["warm", "context", "cold"] {
        let (_, r) = run_json(
            "loop.js",
            "while (true) {}",
            &["-n", "1", "-i", "2", "-m", mode, "--timeout-ms", "100"],
            Duration::from_secs(60),
        );
        assert_eq!(r["summary"]["recycles"], 2, "{mode}: {r}");
        let (_, r) = run_json(
            "heap.js",
            "const a = []; for (;;) a.push(new Array(1000).fill(1))",
            // A loaded machine can take over a second to fill 16 MiB in
            // cold mode: the heap limit, not the clock, must stop it.
            &[
                "-n",
                "1",
                "-m",
                mode,
                "--heap-mb",
                "16",
                "--timeout-ms",
                "20000",
            ],
            Duration::from_secs(60),
        );
        assert_eq!(r["summary"]["recycles"], 1, "{mode}: {r}");
        let heap = &r["results"][0]["heap"];
        assert_eq!(heap["limit"].as_u64(), Some(16 * MIB), "{mode}: {heap}");
        assert!(heap["used"].as_u64() < Some(16 * MIB), "{mode}: {heap}");
    }
}

// ------------------------------------------- found by trying it as a user

#[test]
fn syntax_errors_point_into_the_file_and_the_wrapper_cannot_be_escaped() {
    let cases = [
        ("const a = 1;\nconst b = 2;\na + b +", 3, 8),
        ("const x = 1;\n}\nconst y = 2;\n", 2, 1),
        ("1;\n} ; globalThis.escaped = 1; {\n", 2, 1),
        ("function f() {\n  return 1;\n", 3, 1),
    ];
    for mode in Mode::ALL {
        for (code, line, column) in cases {
            let mut e = engine(1, mode);
            e.set_source(src("syn.js", code));
            let err = run(&mut e, 1)
                .remove(0)
                .outcome
                .expect_err("a syntax error");
            assert_eq!(err.kind, ErrorKind::Syntax, "{mode} {code:?}");
            let at = err.location.expect("a location");
            assert_eq!(
                (at.line, at.column),
                (line, column),
                "{mode} {code:?}: {}",
                err.message
            );
        }
    }
}

#[test]
fn one_allocation_past_the_heap_limit_is_a_heap_limit_stop() {
    let bomb = "const parts = []; const chunk = 'abcdefg\\u1234'.repeat(1 << 16); \
        for (let i = 0; i < 400; i++) parts.push(chunk); return parts.join('').length";
    for mode in MODES {
        // A generous timeout: on a loaded machine the join itself can take
        // over a second, and this test is about the heap.
        let (code, r) = bomb_isolate_0("join.mjs", bomb, mode, "20000");
        assert_eq!(code, 1, "{mode}: {r}");
        let (kind, msg) = &errors(&r)[0];
        assert_eq!(kind, "heap_limit", "{mode}: {msg}");
        assert!(msg.contains("16.0 MiB limit"), "{mode}: {msg}");
        assert_neighbours_fine(&r, mode);
        assert_eq!(r["summary"]["recycles"], 1, "{mode}: {r}");
    }
}

#[test]
fn a_module_load_reports_its_own_failure_once() {
    for mode in Mode::ALL {
        let mut e = engine(1, mode);
        e.set_source(src(
            "tla.mjs",
            "await new Promise(() => {});\nexport default () => 1;",
        ));
        let err = run(&mut e, 1).remove(0).outcome.expect_err("never settles");
        assert_eq!(err.kind, ErrorKind::Unsettled, "{mode}: {err:?}");
        assert!(
            err.message.contains("top-level await"),
            "{mode}: {}",
            err.message
        );

        e.set_source(src(
            "top.mjs",
            "throw new Error('top');\nexport default () => 1;",
        ));
        let inv = run(&mut e, 1).remove(0);
        assert_eq!(
            inv.outcome.clone().expect_err("throws").message,
            "Error: top"
        );
        assert!(inv.console.lines.is_empty(), "{mode}: {:?}", inv.console);
    }
}

#[test]
fn warm_isolates_report_the_heap_they_keep() {
    let mut e = engine(1, Mode::Warm);
    e.set_source(src(
        "keep.js",
        "globalThis.a = new Array(1e6).fill(1.5); globalThis.b = new ArrayBuffer(4 << 20); a.length",
    ));
    run(&mut e, 1);
    let s = &e.snapshots()[0];
    assert!(s.heap_used > 4 << 20, "heap {}", s.heap_used);
    assert_eq!(s.external, 4 << 20);
}

#[test]
fn a_built_in_that_ignores_the_stop_cuts_the_run_short_with_a_timeout() {
    let t0 = Instant::now();
    let (status, r) = run_json(
        "search.js",
        "const s = 'a'.repeat(2 ** 27); s.lastIndexOf('a'.repeat(2 ** 14) + 'b')",
        &["-n", "2", "--timeout-ms", "200"],
        Duration::from_secs(60),
    );
    assert_eq!(status, 1, "{r}");
    for (kind, msg) in errors(&r) {
        assert_eq!(kind, "timeout", "{msg}");
        assert!(
            msg.contains("200 ms") && msg.contains("could not stop"),
            "{msg}"
        );
    }
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
}

#[test]
fn text_output_cannot_move_the_cursor_and_endless_files_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("esc.js");
    std::fs::write(&path, r"throw new Error('\r\x1b[2K\x1b[1A ok')").expect("write");
    let out = within(
        command(&["run", path.to_str().expect("utf-8"), "-n", "1"]),
        Duration::from_secs(30),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains('\x1b') && !text.contains('\r'), "{text:?}");
    assert!(text.contains(r"\u{1b}[2K"), "{text}");

    let out = within(command(&["run", "/dev/zero"]), Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("larger than 16 MiB"), "{err}");
}

#[test]
fn only_code_that_exports_a_default_makes_a_handler() {
    let scripts = [
        "const doc = `\nexport default is how handlers are written\n`;\ndoc.length",
        "/*\nexport default () => 1\n*/\n1",
        "const s = 'x\\\nexport default';\ns.length",
        "// export default nothing\n2",
    ];
    for code in scripts {
        assert_eq!(src("s.js", code).kind, ScriptKind::Script, "{code:?}");
    }
    let handlers = [
        "export default () => 1",
        "// a handler\n  export default function (e) { return e.isolate }",
        "const x = `a`;\nexport default () => x",
    ];
    for code in handlers {
        assert_eq!(src("h.js", code).kind, ScriptKind::Handler, "{code:?}");
    }
    // And the template-literal one runs as the script it is.
    let mut e = engine(1, Mode::Warm);
    e.set_source(src("doc.js", scripts[0]));
    assert_eq!(run(&mut e, 1)[0].outcome.as_deref(), Ok("44"));
}

/// An isolate that V8 gives up on (a built-in past the heap ceiling) keeps
/// its version off that isolate only: in a pool of one thread, where every
/// other isolate runs after it, the neighbours still run the version.
#[test]
fn an_abandoned_isolate_does_not_quarantine_its_neighbours() {
    let code = "export default (e) => e.isolate === 0 ? new Array(1e8).fill(0).length : 'fine'";
    let args = [
        "-n",
        "5",
        "-i",
        "3",
        "-t",
        "1",
        "--heap-mb",
        "16",
        "--timeout-ms",
        "60000",
    ];
    let (status, r) = run_json("mix.mjs", code, &args, Duration::from_secs(180));
    assert_eq!(status, 1, "{r}");
    let results = r["results"].as_array().unwrap();
    assert_eq!(results[0]["failures"], 3, "{r}");
    for (i, res) in results.iter().enumerate().skip(1) {
        assert_eq!(res["failures"], 0, "isolate {i}: {r}");
        assert_eq!(res["result"], "fine", "isolate {i}: {r}");
    }
    assert_eq!(r["summary"]["abandoned"], 1, "{r}");
}

/// A pool thread stuck in a built-in that ignores the stop gets a stand-in
/// thread: on a pool of one, the other isolates still run, and the run
/// ends at its timeout plus the grace, not when the built-in returns.
#[test]
fn a_stuck_pool_thread_gets_a_stand_in() {
    let t0 = Instant::now();
    let search = "const s = 'a'.repeat(2 ** 27); return s.lastIndexOf('a'.repeat(2 ** 14) + 'b');";
    let (status, r) = run_json(
        "search.mjs",
        &only_isolate_0(search),
        &["-n", "3", "-t", "1", "--timeout-ms", "200"],
        Duration::from_secs(60),
    );
    assert_eq!(status, 1, "{r}");
    let (kind, msg) = &errors(&r)[0];
    assert_eq!(kind, "timeout", "{msg}");
    assert!(msg.contains("could not stop"), "{msg}");
    assert_neighbours_fine(&r, "pool of one");
    assert!(t0.elapsed() < Duration::from_secs(15), "{:?}", t0.elapsed());
}

#[test]
fn dropping_the_engine_stops_running_calls_at_once() {
    // Quitting (or switching thread models) with an endless loop running
    // under an hour's timeout must not wait out the hour.
    for threads in [Threads::Pool(2), Threads::PerIsolate] {
        let mut config = config();
        config.isolates = 3;
        config.threads = threads;
        config.limits.timeout = Duration::from_secs(3600);
        let mut e = Engine::new(config);
        e.set_source(src("spin.js", "for (;;) {}"));
        e.run(1);
        // The isolates are inside the loop (a pool of 2 runs two of the
        // three; the third waits its turn).
        let t = Instant::now();
        while !e
            .snapshots()
            .iter()
            .any(|s| s.state == WorkerState::Running)
        {
            assert!(t.elapsed() < Duration::from_secs(30), "never ran");
            std::thread::sleep(Duration::from_millis(5));
        }
        // Dropped on a thread, so a regression fails here instead of
        // hanging the suite for the hour.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let t = Instant::now();
            drop(e);
            let _ = tx.send(t.elapsed());
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(took) => assert!(
                took < Duration::from_secs(5),
                "{threads:?}: drop took {took:?}"
            ),
            Err(_) => panic!("{threads:?}: the engine was still dropping after 20 s"),
        }
    }
}
