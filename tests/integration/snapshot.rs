//! Snapshot mode against real V8: every call's isolate starts from a startup
//! snapshot built in a child process (the real binary), and its results must
//! be plain cold mode's, whatever the script's top level does.

use std::time::{Duration, Instant};

use isolate_play::engine::{
    Engine, EngineConfig, ErrorKind, Invocation, Limits, Mode, ScriptError, Source,
};

use crate::support::*;

const MIB: usize = 1 << 20;

/// An engine of `n` isolates in `mode` with a `heap_mb` heap limit.
fn engine_with(n: usize, mode: Mode, heap_mb: usize) -> Engine {
    Engine::new(EngineConfig {
        isolates: n,
        mode,
        limits: Limits {
            heap_bytes: heap_mb * MIB,
            ..Default::default()
        },
        ..config()
    })
}

/// What must match between cold and snapshot mode: the value, or the
/// error's kind, message, location (file:line:col) and stack.
#[derive(Debug, PartialEq)]
enum Seen {
    Value(String),
    Error {
        kind: ErrorKind,
        message: String,
        at: Option<(String, u32, u32)>,
        stack: Option<String>,
    },
}

fn seen(inv: &Invocation) -> Seen {
    match &inv.outcome {
        Ok(v) => Seen::Value(v.clone()),
        Err(ScriptError {
            kind,
            message,
            location,
            stack,
        }) => Seen::Error {
            kind: *kind,
            message: message.clone(),
            at: location
                .as_ref()
                .map(|l| (l.file.clone(), l.line, l.column)),
            stack: stack.clone(),
        },
    }
}

/// Runs `src` `calls` times on one isolate of `mode` and returns each call.
fn outcomes(src: &Source, mode: Mode, heap_mb: usize, calls: u64) -> Vec<Invocation> {
    let mut e = engine_with(1, mode, heap_mb);
    e.set_source(src.clone());
    run(&mut e, calls)
}

/// Every file in samples/ (names change as the tour grows), each call in
/// snapshot mode against the same call in cold mode. A sample whose own
/// cold calls differ from each other (a clock or random numbers in its
/// result) is compared by outcome shape only.
#[test]
fn every_sample_gives_cold_modes_results() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("samples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "js" || x == "mjs"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "samples: {files:?}");
    for path in files {
        let src = Source::from_file(&path).expect("a sample reads");
        let cold = outcomes(&src, Mode::Cold, 64, 2);
        let snap = outcomes(&src, Mode::Snapshot, 64, 2);
        assert_eq!(cold.len(), 2, "{}", path.display());
        assert_eq!(snap.len(), 2, "{}", path.display());
        let deterministic = seen(&cold[0]) == seen(&cold[1]);
        for (c, s) in cold.iter().zip(&snap) {
            assert_eq!(s.mode, Mode::Snapshot);
            if deterministic {
                assert_eq!(seen(s), seen(c), "{}", path.display());
            } else {
                assert_eq!(
                    s.outcome.as_ref().err().map(|e| e.kind),
                    c.outcome.as_ref().err().map(|e| e.kind),
                    "{}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn a_handler_that_throws_per_call_gives_the_same_location_and_stack() {
    let code = "const table = { a: 1 };\n\
                function look(k) {\n  if (!(k in table)) throw new RangeError('no ' + k);\n  return table[k];\n}\n\
                export default function handler(e) { return look('b') }\n";
    let src = Source::new("throws-per-call.mjs", code);
    let cold = outcomes(&src, Mode::Cold, 64, 1);
    let snap = outcomes(&src, Mode::Snapshot, 64, 1);
    let Seen::Error {
        kind, at, stack, ..
    } = seen(&snap[0])
    else {
        panic!("expected an error: {:?}", snap[0].outcome)
    };
    assert_eq!(kind, ErrorKind::Exception);
    assert!(
        at.as_ref()
            .is_some_and(|(file, line, _)| file == "throws-per-call.mjs" && *line == 3),
        "{at:?}"
    );
    assert!(stack.is_some_and(|s| s.contains("at look")));
    assert_eq!(seen(&snap[0]), seen(&cold[0]));
}

#[test]
fn an_edit_rebuilds_the_snapshot() {
    let mut e = engine(2, Mode::Snapshot);
    let v1 = e.set_source(src(
        "edit.mjs",
        "const k = 'first';\nexport default () => k;\n",
    ));
    let r = run(&mut e, 1);
    assert!(r.iter().all(|i| i.version == v1), "{r:?}");
    assert_eq!(results(&r), ["first", "first"]);
    let info = e.snapshot_info().expect("a build finished");
    assert_eq!(info.version, v1);
    assert!(info.blob_bytes.is_some_and(|b| b > 0), "{info:?}");
    let v2 = e.set_source(src(
        "edit.mjs",
        "const k = 'second';\nexport default () => k;\n",
    ));
    assert_ne!(v1, v2);
    let r = run(&mut e, 1);
    assert!(r.iter().all(|i| i.version == v2), "{r:?}");
    assert_eq!(results(&r), ["second", "second"]);
    assert_eq!(e.snapshot_info().expect("rebuilt").version, v2);
}

/// The top level's console comes once, on the first reported call, not on
/// every call (it ran once, at build); a script that prints nothing there
/// gets a console that is exactly cold mode's.
#[test]
fn the_top_levels_console_is_shown_once() {
    let mut e = engine(1, Mode::Snapshot);
    e.set_source(src(
        "loud.mjs",
        "console.log('loading');\nexport default () => 1;\n",
    ));
    let r = run(&mut e, 3);
    let texts: Vec<Vec<String>> = r
        .iter()
        .map(|i| i.console.lines.iter().map(|l| l.text.clone()).collect())
        .collect();
    assert!(
        texts[0][0].starts_with("[snapshot] version 1: the top level ran once, at build"),
        "{texts:?}"
    );
    assert!(
        texts[0].iter().any(|t| t == "[top level] loading"),
        "{texts:?}"
    );
    assert!(texts[1].is_empty() && texts[2].is_empty(), "{texts:?}");

    e.set_source(src(
        "quiet.mjs",
        "export default () => { console.log('call'); return 1 };\n",
    ));
    for inv in run(&mut e, 2) {
        let texts: Vec<&str> = inv.console.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["call"]);
    }
}

/// A top level that prints past the console's bounds (many lines, or
/// long ones): the first call's console keeps the header, and its last
/// line counts every top-level line not shown (the builder's drops and
/// what the header and prefixes pushed out), rather than the call's own
/// bound dropping that count.
#[test]
fn a_top_level_that_floods_the_console_says_how_much_was_dropped() {
    for (name, n, line) in [
        ("many", 5000, "'l' + i"),
        ("long", 3000, "'x'.repeat(200) + i"),
    ] {
        let mut e = engine(1, Mode::Snapshot);
        e.set_source(src(
            &format!("{name}.mjs"),
            &format!(
                "for (let i = 0; i < {n}; i++) console.log({line});\nexport default () => 1;\n"
            ),
        ));
        let r = run(&mut e, 1);
        let c = &r[0].console;
        assert_eq!(c.dropped, 0, "{name}: the call's own bound dropped lines");
        let texts: Vec<&str> = c.lines.iter().map(|l| l.text.as_str()).collect();
        assert!(
            texts[0].starts_with("[snapshot] version 1"),
            "{name}: {:?}",
            &texts[..2]
        );
        // Every top-level line but the count (one cut short at the byte
        // bound is shown in part).
        let shown = texts
            .iter()
            .filter(|t| t.starts_with("[top level] "))
            .count()
            - 1;
        let last = texts.last().copied().unwrap_or_default();
        assert_eq!(
            last,
            format!("[top level] … {} more lines dropped", n - shown),
            "{name}"
        );
    }
}

/// Each restored isolate seeds its own `Math.random`; a number the top
/// level drew is frozen into the snapshot, the same in every isolate.
#[test]
fn random_numbers_per_isolate_and_frozen_top_level_state() {
    let mut e = engine(3, Mode::Snapshot);
    e.set_source(src("rand.mjs", "export default () => Math.random();\n"));
    let mut r = results(&run(&mut e, 1));
    r.sort();
    r.dedup();
    assert_eq!(r.len(), 3, "three isolates, three different numbers: {r:?}");

    e.set_source(src(
        "frozen.mjs",
        "const drawn = Math.random();\nexport default () => drawn;\n",
    ));
    let mut r = results(&run(&mut e, 2));
    r.dedup();
    assert_eq!(r.len(), 1, "one number drawn at build: {r:?}");
    // Cold mode runs the top level per call: a new number each time.
    let mut c = engine(3, Mode::Cold);
    c.set_source(src(
        "frozen.mjs",
        "const drawn = Math.random();\nexport default () => drawn;\n",
    ));
    let mut r = results(&run(&mut c, 1));
    r.sort();
    r.dedup();
    assert_eq!(r.len(), 3, "{r:?}");
}

/// Top levels that fail: the same error kind and message as cold mode, in
/// bounded time, and the engine goes on to run a good script.
#[test]
fn a_failing_top_level_gives_cold_modes_error() {
    let cases = [
        (
            "throws.mjs",
            "throw new Error('at load');\nexport default () => 1;\n",
        ),
        ("syntax.mjs", "const = 1;\nexport default () => 1;\n"),
        ("loop.mjs", "for (;;) {}\nexport default () => 1;\n"),
        (
            "heap.mjs",
            "const a = []; for (;;) a.push({ x: a.length, y: [1, 2, 3] });\nexport default () => 1;\n",
        ),
        (
            "buffers.mjs",
            "const keep = []; for (;;) { try { keep.push(new ArrayBuffer(8 << 20)) } catch (e) {} }\nexport default () => 1;\n",
        ),
        ("plain-throws.js", "null.x;\n"),
    ];
    for (name, code) in cases {
        let s = src(name, code);
        let t = Instant::now();
        let cold = outcomes(&s, Mode::Cold, 16, 1);
        let snap = outcomes(&s, Mode::Snapshot, 16, 1);
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "{name}: {:?}",
            t.elapsed()
        );
        let (c, n) = (&cold[0].outcome, &snap[0].outcome);
        let (Err(c), Err(n)) = (c, n) else {
            panic!("{name}: both must fail: {c:?} / {n:?}")
        };
        assert_eq!(n.kind, c.kind, "{name}: {n:?}");
        assert_eq!(n.message, c.message, "{name}");
        assert_eq!(n.location, c.location, "{name}");
    }
    let mut e = engine_with(1, Mode::Snapshot, 16);
    e.set_source(src("fine.mjs", "export default () => 'fine';\n"));
    assert_eq!(results(&run(&mut e, 1)), ["fine"]);
}

/// Top levels that leave objects V8's serializer may refuse. Those that
/// kill the builder must say so clearly, and every one must give cold
/// mode's result (calls fall back to plain cold isolates).
#[test]
fn serializer_hostile_top_levels() {
    // (name, top level, handler body, the builder dies)
    let cases = [
        (
            "sab",
            "const s = new SharedArrayBuffer(16); new Int32Array(s)[0] = 7;",
            "new Int32Array(s)[0]",
            false,
        ),
        (
            "weakref",
            "const o = { a: 1 }; const r = new WeakRef(o); globalThis.keep = o;",
            "r.deref().a",
            false,
        ),
        (
            "finreg",
            "const f = new FinalizationRegistry(() => {}); f.register({}, 1);",
            "typeof f",
            true,
        ),
        (
            "pending",
            "const p = new Promise(() => {});",
            "typeof p",
            false,
        ),
        (
            "atomics",
            "const ia = new Int32Array(new SharedArrayBuffer(8)); Atomics.add(ia, 0, 5);",
            "Atomics.load(ia, 0)",
            false,
        ),
        (
            "proxy",
            "const px = new Proxy({}, { get: (t, k) => k });",
            "px.hello",
            false,
        ),
        (
            "hugestr",
            "const big = 'x'.repeat(3e6) + 'y';",
            "big.length",
            false,
        ),
        (
            "symbol",
            "const sy = Symbol.for('app.key'); globalThis[sy] = 1;",
            "Symbol.for('app.key') === sy",
            false,
        ),
        (
            "getter",
            "globalThis.g = { get boom() { throw new Error('getter') } };",
            "Object.keys(g).length",
            false,
        ),
        (
            "private",
            "class C { #x = 42; get x() { return this.#x } } const c = new C();",
            "c.x",
            false,
        ),
        (
            "bigmap",
            "const m = new Map(); for (let i = 0; i < 1e5; i++) m.set('k' + i, i);",
            "m.size",
            false,
        ),
        (
            "intl",
            "const nf = new Intl.NumberFormat('en-US'); nf.format(1);",
            "nf.format(1234.5)",
            true,
        ),
        (
            "generator",
            "function* g() { yield 1; yield 2 } const it = g(); it.next();",
            "it.next().value",
            false,
        ),
    ];
    for (name, top, body, dies) in cases {
        let (snap, info) = against_cold(name, top, body, 1);
        if dies {
            let why = info.failure.unwrap_or_default();
            assert!(
                why.contains("died with signal") && why.contains("serialized"),
                "{name}: {why}"
            );
            let warned = snap[0].console.lines.iter().any(|l| {
                l.text.contains("the snapshot could not be built") && l.text.contains("plain cold")
            });
            assert!(warned, "{name}: {:?}", snap[0].console);
        } else {
            assert!(info.blob_bytes.is_some(), "{name}: {:?}", info.failure);
        }
    }
}

/// The prelude's guards hold in restored contexts: V8 adds WebAssembly
/// back to a context it deserializes, and it must be gone again.
#[test]
fn restored_contexts_keep_the_preludes_guards() {
    let code = "export default () => [typeof WebAssembly, (() => { try { new SharedArrayBuffer(8, { maxByteLength: 16 }); return 'made' } catch (e) { return e.constructor.name } })(), (() => { try { new ArrayBuffer(8, { maxByteLength: 16 }); return 'made' } catch (e) { return e.constructor.name } })()].join();\n";
    let s = src("guards.mjs", code);
    let cold = outcomes(&s, Mode::Cold, 64, 1);
    let snap = outcomes(&s, Mode::Snapshot, 64, 1);
    assert_eq!(results(&snap), ["undefined,RangeError,RangeError"]);
    assert_eq!(results(&snap), results(&cold));
}

/// Top levels that reshape the global object the restored context's guard
/// check reads: globals deleted or replaced, a getter or a prototype proxy
/// that loops forever (the check ran them, outside any limit, and hung),
/// a non-configurable `WebAssembly`, a frozen, sealed or non-extensible
/// global (V8 aborted the whole process restoring it). Every one gives
/// cold mode's result in bounded time; those V8 cannot restore say why.
#[test]
fn top_levels_that_reshape_the_global() {
    // (name, top level, handler body, the builder's restore dies)
    let cases = [
        (
            "del-ab",
            "delete globalThis.ArrayBuffer;",
            "typeof ArrayBuffer",
            false,
        ),
        (
            "del-sab",
            "delete globalThis.SharedArrayBuffer;",
            "typeof SharedArrayBuffer",
            false,
        ),
        (
            "own-ab",
            "globalThis.ArrayBuffer = function MyAB() {};",
            "ArrayBuffer.name",
            false,
        ),
        (
            "fixed-wasm",
            "Object.defineProperty(globalThis, 'WebAssembly', { value: 'mine', configurable: false });",
            "String(WebAssembly)",
            false,
        ),
        (
            "looping-getter",
            "Object.defineProperty(globalThis, 'ArrayBuffer', { get() { for (;;) {} }, configurable: false });",
            "typeof WebAssembly",
            false,
        ),
        (
            "proto-proxy",
            "Object.setPrototypeOf(globalThis, new Proxy({}, { get(t, k) { if (k === 'WebAssembly') for (;;) {} } }));",
            "typeof Object.getPrototypeOf(globalThis)",
            false,
        ),
        (
            "frozen",
            "Object.freeze(globalThis);",
            "typeof WebAssembly",
            true,
        ),
        (
            "sealed",
            "Object.seal(globalThis);",
            "Object.isSealed(globalThis)",
            true,
        ),
        (
            "no-ext",
            "Object.preventExtensions(globalThis);",
            "Object.isExtensible(globalThis)",
            true,
        ),
    ];
    for (name, top, body, dies) in cases {
        let (_, info) = against_cold(name, top, body, 2);
        if dies {
            let why = info.failure.unwrap_or_default();
            assert!(why.contains("while it restored"), "{name}: {why}");
        } else {
            assert!(info.blob_bytes.is_some(), "{name}: {:?}", info.failure);
        }
    }
}

/// Plain isolates (V8's built-in snapshot) and isolates restored from a
/// script's snapshot, side by side in one process, with a top level that
/// leaves many strings and objects (which V8 would otherwise move into the
/// snapshot's read-only part, incompatible with the live one: the second
/// kind of isolate then aborted the process while it deserialized).
#[test]
fn plain_and_restored_isolates_side_by_side() {
    let code = "const words = [];
for (let i = 0; i < 2000; i++) words.push('word-' + i, { k: 'key' + i, v: [i, 'v' + i] });
                const table = Object.freeze({ alpha: 'a', beta: 'b', gamma: 'g' });
                export default () => words.length + Object.keys(table).join('');
";
    let threads: Vec<_> = [Mode::Cold, Mode::Snapshot, Mode::Warm, Mode::Snapshot]
        .into_iter()
        .enumerate()
        .map(|(k, mode)| {
            let code = code.replace("word-", &format!("word{k}-"));
            std::thread::spawn(move || {
                let mut e = engine(2, mode);
                e.set_source(src(&format!("side{k}.mjs"), &code));
                for _ in 0..5 {
                    assert_eq!(results(&run(&mut e, 3)), vec!["4000alphabetagamma"; 6]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no panic");
    }
}

/// Isolates restored from different blobs at the same time, in one
/// process (two engines, each with its own version).
#[test]
fn two_engines_with_different_snapshots_at_once() {
    let threads: Vec<_> = (0..2)
        .map(|k| {
            std::thread::spawn(move || {
                let mut e = engine(2, Mode::Snapshot);
                e.set_source(src(
                    &format!("par{k}.mjs"),
                    &format!("const k = {k};\nexport default () => k;\n"),
                ));
                for _ in 0..5 {
                    assert_eq!(results(&run(&mut e, 4)), vec![k.to_string(); 8]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no panic");
    }
}

/// A top level that leaves most of the heap alive is not snapshotted (a
/// restored isolate would have too little room to run): calls run as plain
/// cold isolates, with cold mode's result, and the first one says why.
#[test]
fn a_top_level_that_fills_the_heap_is_not_snapshotted() {
    let s = src(
        "full.mjs",
        "const keep = Array.from({ length: 2.4e5 }, (_, i) => ({ i }));\nexport default () => keep.length;\n",
    );
    let cold = outcomes(&s, Mode::Cold, 16, 1);
    let mut e = engine_with(1, Mode::Snapshot, 16);
    e.set_source(s);
    let snap = run(&mut e, 1);
    assert_eq!(results(&snap), results(&cold));
    assert_eq!(results(&snap), ["240000"]);
    let why = e
        .snapshot_info()
        .and_then(|i| i.failure)
        .unwrap_or_default();
    assert!(why.contains("more than half the 16 MiB limit"), "{why}");
    assert!(
        snap[0]
            .console
            .lines
            .iter()
            .any(|l| l.text.contains("could not be built")),
        "{:?}",
        snap[0].console
    );
}

/// A handler module of `top` and `return body`, run `calls` times in
/// snapshot mode: every call must give what cold mode gives, within 20 s.
/// Returns the calls and the build.
fn against_cold(
    name: &str,
    top: &str,
    body: &str,
    calls: u64,
) -> (
    Vec<Invocation>,
    isolate_play::engine::snapshot::SnapshotInfo,
) {
    let code = format!("{top}\nexport default function handler(e) {{ return {body} }}\n");
    let s = src(&format!("{name}.mjs"), &code);
    let cold = outcomes(&s, Mode::Cold, 64, 1);
    let mut e = engine_with(1, Mode::Snapshot, 64);
    e.set_source(s.clone());
    let t0 = Instant::now();
    let snap = run(&mut e, calls);
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "{name}: {:?}",
        t0.elapsed()
    );
    for call in &snap {
        assert_eq!(seen(call), seen(&cold[0]), "{name}");
    }
    let info = e.snapshot_info().expect("a build finished");
    (snap, info)
}
