//! The value formatter against real V8: Node-like output, no script code run
//! while formatting, and bounded time and output.

use std::time::{Duration, Instant};

use isolate_play::engine::format::{Bounds, TRUNCATED, format_for_test};

/// `util.inspect` of the completion value of `code`.
fn inspect(code: &str) -> String {
    format_for_test(code, Bounds::default(), true)
}

/// `console.log` of the completion value of `code`.
fn display(code: &str) -> String {
    format_for_test(code, Bounds::default(), false)
}

#[test]
fn collections() {
    assert_eq!(inspect("new Map([['a', 1]])"), "Map(1) { 'a' => 1 }");
    assert_eq!(inspect("new Set([1, 2])"), "Set(2) { 1, 2 }");
    assert_eq!(inspect("new Map()"), "Map(0) {}");
    assert_eq!(inspect("new Set()"), "Set(0) {}");
    assert_eq!(inspect("({})"), "{}");
    assert_eq!(inspect("[]"), "[]");
    assert_eq!(
        inspect("new Map([[{ a: 1 }, [1, 2]], ['k', new Set(['v'])]])"),
        "Map(2) { { a: 1 } => [ 1, 2 ], 'k' => Set(1) { 'v' } }"
    );
    assert_eq!(inspect("new WeakMap()"), "WeakMap { <items unknown> }");
    assert_eq!(inspect("new WeakSet()"), "WeakSet { <items unknown> }");
    assert_eq!(
        inspect("class M extends Map {}; new M([[1, 2]])"),
        "M(1) [Map] { 1 => 2 }"
    );
}

#[test]
fn circular_references_are_numbered_like_node() {
    assert_eq!(
        inspect("const o = {}; o.self = o; o"),
        "<ref *1> { self: [Circular *1] }"
    );
    assert_eq!(
        inspect("const a = [1]; a.push(a); a"),
        "<ref *1> [ 1, [Circular *1] ]"
    );
    // A cycle below the top: the reference sits on the inner object.
    assert_eq!(
        inspect("const inner = { x: 1 }; inner.me = inner; ({ inner })"),
        "{ inner: <ref *1> { x: 1, me: [Circular *1] } }"
    );
    // Two cycles get two numbers, in the order they are found.
    assert_eq!(
        inspect("const a = { n: 'a' }; const b = { n: 'b', a }; a.b = b; b.b = b; a"),
        "<ref *1> {\n  n: 'a',\n  b: <ref *2> { n: 'b', a: [Circular *1], b: [Circular *2] }\n}"
    );
}

#[test]
fn objects_and_arrays() {
    assert_eq!(inspect("({ a: 1, b: 'x' })"), "{ a: 1, b: 'x' }");
    assert_eq!(inspect("[1, 2, 3]"), "[ 1, 2, 3 ]");
    assert_eq!(
        inspect("({ a: { b: { c: { d: 1 } } } })"),
        "{ a: { b: { c: [Object] } } }"
    );
    assert_eq!(inspect("[[[[1]]]]"), "[ [ [ [Array] ] ] ]");
    assert_eq!(
        inspect("({ 'a-b': 1, _ok: 2, $no: 3, '1x': 4 })"),
        "{ 'a-b': 1, _ok: 2, '$no': 3, '1x': 4 }"
    );
    assert_eq!(inspect("({ 1: 'one' })"), "{ '1': 'one' }");
    assert_eq!(inspect("({ [Symbol('k')]: 1 })"), "{ [Symbol(k)]: 1 }");
    assert_eq!(
        inspect("class Foo { constructor() { this.x = 1 } }; new Foo()"),
        "Foo { x: 1 }"
    );
    assert_eq!(inspect("class Foo {}; new Foo()"), "Foo {}");
    assert_eq!(
        inspect("Object.create(null)"),
        "[Object: null prototype] {}"
    );
    assert_eq!(
        inspect("const o = Object.create(null); o.a = 1; o"),
        "[Object: null prototype] { a: 1 }"
    );
    assert_eq!(
        inspect("const a = [1, 2]; a.extra = true; a"),
        "[ 1, 2, extra: true ]"
    );
    assert_eq!(inspect("[, , 1]"), "[ <2 empty items>, 1 ]");
    assert_eq!(inspect("[1, , 3]"), "[ 1, <1 empty item>, 3 ]");
    assert_eq!(inspect("new Array(5)"), "[ <5 empty items> ]");
    assert_eq!(
        inspect("(function () { return arguments })(1, 2)"),
        "[Arguments] { '0': 1, '1': 2 }"
    );
}

#[test]
fn more_than_max_items() {
    let out = inspect("Array.from({ length: 101 }, (_, i) => 'item' + i)");
    assert!(out.ends_with("'item99',\n  ... 1 more item\n]"), "{out}");
    let out = inspect("const o = {}; for (let i = 0; i < 150; i++) o['k' + i] = i; o");
    assert!(out.contains("k99: 99,\n  ... 50 more items\n}"), "{out}");
    let small = Bounds {
        max_items: 2,
        ..Bounds::default()
    };
    assert_eq!(
        format_for_test("new Set([1, 2, 3, 4])", small, true),
        "Set(4) { 1, 2, ... 2 more items }"
    );
    assert_eq!(
        format_for_test("new Map([[1, 1], [2, 2], [3, 3]])", small, true),
        "Map(3) { 1 => 1, 2 => 2, ... 1 more item }"
    );
}

#[test]
fn strings() {
    assert_eq!(inspect("'a\\nb\\tc'"), "'a\\nb\\tc'");
    assert_eq!(display("'a\\nb\\tc'"), "a\nb\tc");
    assert_eq!(inspect("({ s: 'x' })"), "{ s: 'x' }");
    assert_eq!(display("({ s: 'x' })"), "{ s: 'x' }");
    assert_eq!(display("['a\\nb']"), "[ 'a\\nb' ]");
    // Node picks the quote that needs no escaping.
    assert_eq!(inspect("\"it's\""), "\"it's\"");
    assert_eq!(inspect("'it\\'s \"x\"'"), "`it's \"x\"`");
    assert_eq!(inspect("'it\\'s \"x\" `y`'"), "'it\\'s \"x\" `y`'");
    assert_eq!(
        inspect("'back\\\\slash \\x01 \\x7f'"),
        "'back\\\\slash \\x01 \\x7F'"
    );
    assert_eq!(inspect("'\\ud83d\\ude00 \\ud83d'"), "'\u{1F600} \\ud83d'");
    // Over Node's maxStringLength (10000 units).
    assert_eq!(
        inspect("'x'.repeat(10005)"),
        format!("'{}'... 5 more characters", "x".repeat(10000))
    );
    // A long multi-line string nested in an object is split like Node's.
    let out = inspect("({ s: 'line one is long enough\\n'.repeat(4) })");
    assert_eq!(
        out,
        "{\n  s: 'line one is long enough\\n' +\n    'line one is long enough\\n' +\n    \
         'line one is long enough\\n' +\n    'line one is long enough\\n'\n}"
    );
}

#[test]
fn numbers_and_other_primitives() {
    assert_eq!(inspect("-0"), "-0");
    assert_eq!(
        inspect("[0, -0, NaN, Infinity, -Infinity]"),
        "[ 0, -0, NaN, Infinity, -Infinity ]"
    );
    assert_eq!(
        inspect("[1.5, 0.1 + 0.2, 1e21, 1e-7, 123456789.125, 2 ** 53]"),
        "[\n  1.5,\n  0.30000000000000004,\n  1e+21,\n  1e-7,\n  123456789.125,\n  9007199254740992\n]"
    );
    assert_eq!(inspect("undefined"), "undefined");
    assert_eq!(inspect("null"), "null");
    assert_eq!(inspect("[true, false]"), "[ true, false ]");
    assert_eq!(inspect("Symbol('desc')"), "Symbol(desc)");
    assert_eq!(inspect("Symbol()"), "Symbol()");
    assert_eq!(inspect("123n"), "123n");
    assert_eq!(inspect("-5n"), "-5n");
}

#[test]
fn big_bigints() {
    let out = inspect("10n ** 5000n");
    assert_eq!(out, format!("1{}n", "0".repeat(5000)));
    let small = Bounds {
        max_bytes: 100,
        ..Bounds::default()
    };
    let out = format_for_test("10n ** 5000n", small, true);
    assert_eq!(out, format!("1{}{TRUNCATED}", "0".repeat(99)));
    let t0 = Instant::now();
    let out = inspect("1n << 2000000n");
    assert_eq!(out, "<BigInt: 2000064 bits>");
    assert!(t0.elapsed() < Duration::from_secs(2));
}

#[test]
fn functions_and_classes() {
    assert_eq!(inspect("function f() {}; f"), "[Function: f]");
    assert_eq!(inspect("(() => {})"), "[Function (anonymous)]");
    assert_eq!(inspect("class A {}; A"), "[class A]");
    assert_eq!(
        inspect("class A {}; class B extends A {}; B"),
        "[class B extends A]"
    );
    assert_eq!(inspect("async function f() {}; f"), "[AsyncFunction: f]");
    assert_eq!(inspect("function* g() {}; g"), "[GeneratorFunction: g]");
    assert_eq!(
        inspect("async function* ag() {}; ag"),
        "[AsyncGeneratorFunction: ag]"
    );
    assert_eq!(
        inspect("function f() {}; f.bind(null)"),
        "[Function: bound f]"
    );
    assert_eq!(inspect("({ m() {} }).m"), "[Function: m]");
    assert_eq!(
        inspect("Object.assign(function f() {}, { a: 1 })"),
        "[Function: f] { a: 1 }"
    );
    assert_eq!(
        inspect("({ f() {}, g: class {} })"),
        "{ f: [Function: f], g: [class g] }"
    );
}

#[test]
fn errors() {
    // Top level: headline, then the frames V8 captured at construction.
    let out = inspect("function thrower() { return new Error('boom') }\nthrower()");
    assert_eq!(
        out,
        "Error: boom\n    at thrower (test.js:1:29)\n    at test.js:2:1"
    );
    let out = inspect("new TypeError('bad')");
    assert_eq!(out, "TypeError: bad\n    at test.js:1:1");
    // Nested: one line in brackets.
    assert_eq!(
        inspect("({ e: new RangeError('r') })"),
        "{ e: [RangeError: r] }"
    );
    assert_eq!(inspect("[new Error()]"), "[ [Error] ]");
    // Subclasses get their constructor's name, like Node.
    assert_eq!(
        inspect("class MyError extends Error {}; [new MyError('x')]"),
        "[ [MyError: x] ]"
    );
    assert_eq!(
        inspect("class Foo extends Error {}; [new Foo('x')]"),
        "[ [Foo [Error]: x] ]"
    );
    // Extra properties, and a cause.
    assert_eq!(
        inspect("[Object.assign(new Error('x'), { code: 'E_X' })]"),
        "[ [Error: x] { code: 'E_X' } ]"
    );
    assert_eq!(
        inspect("[new Error('outer', { cause: 'inner' })]"),
        "[ [Error: outer] { [cause]: 'inner' } ]"
    );
    // A thrown error: the test harness inspects the exception.
    assert_eq!(
        inspect("throw new Error('thrown')"),
        "THREW: Error: thrown\n    at test.js:1:7"
    );
    // eval and new Function frames: no "eval at" origin.
    let out = inspect("eval('new Error(\"e\")')");
    assert_eq!(
        out,
        "Error: e\n    at eval (<anonymous>:1:1)\n    at test.js:1:1"
    );
    let out = inspect("new Function('return new Error(\"f\")')()");
    assert!(
        out.starts_with("Error: f\n    at eval (<anonymous>:3:8)\n"),
        "{out}"
    );
}

#[test]
fn error_stack_is_never_read() {
    // Reading .stack would call prepareStackTrace, and a name getter would
    // run; either would leave a mark in `log`, which is formatted last.
    let code = "const log = [];\
        Error.prepareStackTrace = () => { log.push('prepare'); return 'hijacked' };\
        const e = new Error('m');\
        Object.defineProperty(e, 'name', { get() { log.push('name'); return 'N' } });\
        [e, log]";
    assert_eq!(inspect(code), "[ [Error: m], [] ]");
    let top = inspect(&code.replace("[e, log]", "e"));
    assert!(top.starts_with("Error: m\n    at test.js:1:"), "{top}");
}

#[test]
fn proxies_never_trigger_traps() {
    let code = "const handler = new Proxy({}, { get() { throw new Error('trap') } });\
        new Proxy({ a: 1 }, handler)";
    assert_eq!(inspect(code), "{ a: 1 }");
    let code = "const p = new Proxy([1, 2], {\
            get() { throw new Error('get') },\
            ownKeys() { throw new Error('ownKeys') },\
            getOwnPropertyDescriptor() { throw new Error('gopd') },\
            getPrototypeOf() { throw new Error('proto') },\
            has() { throw new Error('has') },\
        }); ({ p })";
    assert_eq!(inspect(code), "{ p: [ 1, 2 ] }");
    assert_eq!(
        inspect("const r = Proxy.revocable({}, {}); r.revoke(); r.proxy"),
        "<Revoked Proxy>"
    );
    assert_eq!(
        inspect("new Proxy(function named() {}, { get() { throw 1 } })"),
        "[Function: named]"
    );
    // A proxy in the prototype chain is not walked into.
    let code = "const o = Object.create(new Proxy({}, { get() { throw 1 }, \
        getOwnPropertyDescriptor() { throw 2 }, getPrototypeOf() { throw 3 } })); o.x = 1; o";
    let out = inspect(code);
    assert!(out.ends_with("{ x: 1 }"), "{out}");
}

#[test]
fn getters_and_setters_are_not_called() {
    assert_eq!(
        inspect("({ get a() { throw new Error('called') } })"),
        "{ a: [Getter] }"
    );
    assert_eq!(inspect("({ set a(v) {} })"), "{ a: [Setter] }");
    assert_eq!(
        inspect("({ get a() { return 1 }, set a(v) {} })"),
        "{ a: [Getter/Setter] }"
    );
    assert_eq!(
        inspect(
            "const a = [1]; Object.defineProperty(a, 1, { get() { throw 1 }, enumerable: true }); a"
        ),
        "[ 1, [Getter] ]"
    );
    let t0 = Instant::now();
    assert_eq!(
        inspect("({ get forever() { for (;;) {} } })"),
        "{ forever: [Getter] }"
    );
    assert!(t0.elapsed() < Duration::from_secs(2));
}

#[test]
fn no_conversion_hooks_are_called() {
    // Any hook that ran would leave a mark in `log`, which is formatted last.
    let code = "const log = []; const count = () => { log.push(1); return 'x' };\
        const o = { toString: count, toJSON: count, valueOf: count, [Symbol.toPrimitive]: count,\
                    [Symbol.for('nodejs.util.inspect.custom')]: count };\
        class C { get [Symbol.toStringTag]() { log.push(2); return 'T' }\
                  static get name() { log.push(3); return 'n' } }\
        [o, new C(), log]";
    let out = inspect(code);
    assert!(out.ends_with("C {},\n  []\n]"), "{out}");
}

#[test]
fn builtin_objects() {
    assert_eq!(
        inspect("new Date(Date.UTC(2020, 0, 1))"),
        "2020-01-01T00:00:00.000Z"
    );
    assert_eq!(inspect("new Date(NaN)"), "Invalid Date");
    assert_eq!(inspect("[new Date(-1)]"), "[ 1969-12-31T23:59:59.999Z ]");
    assert_eq!(inspect("/a/g"), "/a/g");
    assert_eq!(inspect("/a\\/b[c]/dimsuy"), "/a\\/b[c]/dimsuy");
    assert_eq!(inspect("new RegExp('x', 'v')"), "/x/v");
    assert_eq!(inspect("Promise.resolve(1)"), "Promise { 1 }");
    assert_eq!(inspect("new Promise(() => {})"), "Promise { <pending> }");
    assert_eq!(
        inspect("Promise.reject(new Error('no'))"),
        "Promise { <rejected> [Error: no] }"
    );
    assert_eq!(
        inspect("new Uint8Array([1, 2, 3])"),
        "Uint8Array(3) [ 1, 2, 3 ]"
    );
    assert_eq!(
        inspect("new BigInt64Array(2)"),
        "BigInt64Array(2) [ 0n, 0n ]"
    );
    assert_eq!(inspect("new Float64Array(0)"), "Float64Array(0) []");
    assert_eq!(
        inspect("new Uint8Array([1, 2]).buffer"),
        "ArrayBuffer { [Uint8Contents]: <01 02>, byteLength: 2 }"
    );
    let out = inspect("new ArrayBuffer(120)");
    assert_eq!(
        out,
        format!(
            "ArrayBuffer {{\n  [Uint8Contents]: <{} ... 20 more bytes>,\n  byteLength: 120\n}}",
            vec!["00"; 100].join(" ")
        )
    );
    assert_eq!(
        inspect("new DataView(new ArrayBuffer(2), 1)"),
        "DataView {\n  byteLength: 1,\n  byteOffset: 1,\n  buffer: ArrayBuffer { [Uint8Contents]: <00 00>, byteLength: 2 }\n}"
    );
    assert_eq!(inspect("new Number(3)"), "[Number: 3]");
    assert_eq!(inspect("new Number(-0)"), "[Number: -0]");
    assert_eq!(inspect("new Boolean(false)"), "[Boolean: false]");
    assert_eq!(inspect("new String('ab')"), "[String: 'ab']");
    // No side-effect-free way to read these values: the kind only.
    assert_eq!(inspect("Object(Symbol('a'))"), "[Symbol]");
    assert_eq!(inspect("Object(10n)"), "[BigInt]");
    assert_eq!(
        inspect("new Map([[1, 2]]).entries()"),
        "[Map Iterator] { <items unknown> }"
    );
    assert_eq!(inspect("(function* () {})()"), "Object [Generator] {}");
}

#[test]
fn line_breaking_like_node() {
    // Fits in 72 columns: one line.
    assert_eq!(
        inspect("({ alpha: 'aaaaaaaaaa', beta: 'bbbbbbbbbb', gamma: 'cccccccccc' })"),
        "{ alpha: 'aaaaaaaaaa', beta: 'bbbbbbbbbb', gamma: 'cccccccccc' }"
    );
    // Too long: one entry per line, two spaces per level.
    assert_eq!(
        inspect(
            "({ alpha: 'aaaaaaaaaaaaaaaa', beta: 'bbbbbbbbbbbbbbbb', gamma: 'cccccccccccccccc', d: { e: 1 } })"
        ),
        "{\n  alpha: 'aaaaaaaaaaaaaaaa',\n  beta: 'bbbbbbbbbbbbbbbb',\n  gamma: 'cccccccccccccccc',\n  d: { e: 1 }\n}"
    );
    // More than `compact` (3) inner levels never share a line.
    assert_eq!(
        format_for_test(
            "({ a: { b: { c: { d: {} } } } })",
            Bounds {
                depth: 10,
                ..Bounds::default()
            },
            true
        ),
        "{\n  a: { b: { c: { d: {} } } }\n}"
    );
    // Many short numbers: Node's aligned columns.
    assert_eq!(
        inspect("Array.from({ length: 26 }, (_, i) => i)"),
        "[\n   0,  1,  2,  3,  4,  5,  6,  7,\n   8,  9, 10, 11, 12, 13, 14, 15,\n  \
         16, 17, 18, 19, 20, 21, 22, 23,\n  24, 25\n]"
    );
}

#[test]
fn a_huge_rope_displays_quickly_and_bounded() {
    let t0 = Instant::now();
    let out = display("'x'.repeat(2 ** 28)");
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(out.starts_with("xxxx"));
    assert!(
        out.ends_with("… [truncated: 268435456 chars in all]"),
        "{}",
        &out[out.len() - 60..]
    );
    assert!(out.len() <= 64 * 1024 + 64, "{} bytes", out.len());
    // Quoted and nested, it is cut at Node's maxStringLength.
    let t0 = Instant::now();
    let out = inspect("({ s: 'x'.repeat(2 ** 28) })");
    assert!(t0.elapsed() < Duration::from_secs(1));
    assert!(
        out.contains("'... 268425456 more characters"),
        "{}",
        &out[out.len() - 60..]
    );
}

#[test]
fn a_million_elements_format_quickly() {
    let code = "globalThis.a = new Array(1e6).fill(7); a";
    let t0 = Instant::now();
    let out = inspect(code);
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t0.elapsed()
    );
    assert!(out.ends_with("... 999900 more items\n]"), "{out}");
    assert_eq!(out.matches('7').count(), 100);
    let out = inspect("new Uint8Array(1e6)");
    assert!(out.starts_with("Uint8Array(1000000) [\n"), "{out}");
    assert!(out.ends_with("... 999900 more items\n]"), "{out}");
}

#[test]
fn an_object_with_many_keys_is_enumerated_once() {
    let code = "const o = {}; for (let i = 0; i < 200000; i++) o['k' + i] = i; Array(100).fill(o)";
    let t0 = Instant::now();
    let out = inspect(code);
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "took {:?}",
        t0.elapsed()
    );
    assert!(out.starts_with("[\n  {\n    k0: 0,\n"), "{}", &out[..100]);
    assert!(out.contains("    ... 199900 more items\n  },\n"));
    assert!(out.ends_with(TRUNCATED));
}

#[test]
fn output_never_exceeds_max_bytes() {
    let bounds = Bounds {
        max_bytes: 1000,
        ..Bounds::default()
    };
    for code in [
        "Array.from({ length: 1000 }, (_, i) => ({ i, s: 'x'.repeat(i) }))",
        "const o = {}; for (let i = 0; i < 5000; i++) o['key' + i] = 'v'.repeat(50); o",
        "new Map(Array.from({ length: 500 }, (_, i) => [i, [i, { i }]]))",
        "'y'.repeat(5000)",
        "({ k: 'x'.repeat(2 ** 20) })",
    ] {
        let out = format_for_test(code, bounds, true);
        assert!(
            out.len() <= 1000 + TRUNCATED.len(),
            "{code}: {} bytes",
            out.len()
        );
        assert!(out.ends_with(TRUNCATED), "{code}: {out}");
    }
    let out = format_for_test("'é'.repeat(1000)", bounds, false);
    assert!(out.len() <= 1000 + 64, "{}", out.len());
}

#[test]
fn depth_bound_is_configurable() {
    let shallow = Bounds {
        depth: 0,
        ..Bounds::default()
    };
    assert_eq!(
        format_for_test("({ a: { b: 1 }, c: [1], d: [] })", shallow, true),
        "{ a: [Object], c: [Array], d: [] }"
    );
}
