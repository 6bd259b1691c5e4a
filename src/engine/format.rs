//! The one value formatter. Everything the host copies out of an isolate —
//! results, `console.*` arguments, thrown values — is turned into text here.
//!
//! Why a module of its own: a value comes from a script we do not trust, so
//! showing it must not hand control back to that script, and must not cost
//! more than the text it produces. Formatting therefore
//!
//! * shows values the way a JavaScript developer reads them in Node's
//!   `util.inspect` / `console.log` (depth 2, 100 entries, lines broken at
//!   80 columns, `<ref *1>` / `[Circular *1]`, `[Getter]`, …);
//! * never runs script code: no getters, proxy traps, `toString`, `toJSON`,
//!   `Symbol.toPrimitive`, `inspect.custom` or `Error.prepareStackTrace`.
//!   Properties are read as own property descriptors and the whole walk runs
//!   under a `DisallowJavascriptExecutionScope` that turns any attempt to
//!   enter JavaScript into a caught exception, as a second line of defence;
//! * is bounded: it stops walking once [`Bounds::max_bytes`] of text exist,
//!   reads strings through the UTF-16 range writer (never flattening a rope
//!   or copying more than the bound), reads only the first
//!   [`Bounds::max_items`] indices of an array, and never unwraps a V8
//!   result, so a pending termination ends the walk with what it has.

use std::fmt::Write as _;

use v8::{Local, PinScope};

/// Bounds on one formatted value.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// Most bytes of UTF-8 output, before the short truncation note
    /// (`… [truncated]`) that says more was left out. Default 64 KiB.
    pub max_bytes: usize,
    /// Nesting levels shown below the top value; deeper objects become
    /// `[Object]`, `[Array]`, … Default 2, like Node.
    pub depth: usize,
    /// Most entries shown per object: array elements, map and set entries,
    /// typed-array elements, ArrayBuffer bytes and object properties; the
    /// rest is summed up as `... N more items`. Default 100, like Node's
    /// `maxArrayLength`.
    pub max_items: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            max_bytes: 64 * 1024,
            depth: 2,
            max_items: 100,
        }
    }
}

/// Appended when the output was cut at [`Bounds::max_bytes`].
pub const TRUNCATED: &str = "… [truncated]";

/// Shown where V8 could not give a value (an exception or a termination).
const UNPRINTABLE: &str = "<unprintable>";
/// Node's `breakLength`.
const BREAK_LENGTH: usize = 80;
/// Node's `compact` (inner levels that may share one line).
const COMPACT: usize = 3;
/// Node's `maxStringLength`: UTF-16 units of a quoted string.
const MAX_STRING_UNITS: usize = 10_000;
/// Frames shown under a top-level error (V8's default `Error.stackTraceLimit`).
const ERROR_FRAMES: usize = 10;
/// Larger BigInts are shown by size, without computing their digits.
const MAX_BIGINT_BITS: usize = 1 << 20;
/// Larger maps and sets are not copied out of their hash table to show a
/// few entries (V8's only side-effect-free way to read them copies all).
const MAX_COLLECTION_COPY: usize = 1 << 18;
/// Longer RegExp sources are shown without flags (reading flags copies the
/// source through the value serializer).
const MAX_REGEXP_SOURCE: usize = 1 << 14;
/// Bytes of a function, constructor, tag or frame name kept.
const NAME_BYTES: usize = 1024;
/// Key lists longer than this are kept for objects seen again.
const KEY_CACHE_MIN: usize = 1000;
/// Prototype-chain steps taken when looking a property up by hand.
const CHAIN_LIMIT: usize = 64;

/// console.log style: a top-level string is shown raw (its newlines and tabs
/// kept, cut at `bounds.max_bytes`); everything else as [`inspect`].
pub fn display(scope: &mut v8::PinScope, value: v8::Local<v8::Value>, bounds: Bounds) -> String {
    if let Ok(s) = Local::<v8::String>::try_from(value) {
        return string_prefix(scope, s, bounds.max_bytes);
    }
    inspect(scope, value, bounds)
}

/// util.inspect style: strings quoted (`'a\nb'` escaped like Node), objects
/// expanded to `bounds.depth` levels. Never runs script code; the result is
/// at most `bounds.max_bytes` bytes plus [`TRUNCATED`].
pub fn inspect(scope: &mut v8::PinScope, value: v8::Local<v8::Value>, bounds: Bounds) -> String {
    v8::scope!(let hs, scope);
    v8::tc_scope!(let tc, hs);
    v8::disallow_javascript_execution_scope!(let ds, tc, v8::OnFailure::ThrowOnFailure);
    let Some(mut cx) = Ctx::new(ds, bounds) else {
        return UNPRINTABLE.to_string();
    };
    let out = cx.value(ds, value, 0);
    cx.finish(out)
}

/// At most `max_bytes` of UTF-8 from a V8 string, without flattening it: only
/// the first `max_bytes` UTF-16 units are copied (`length()` is O(1)). When
/// cut, appends `… [truncated: N chars in all]`, N counting UTF-16 units.
pub fn string_prefix(
    scope: &mut v8::PinScope,
    s: v8::Local<v8::String>,
    max_bytes: usize,
) -> String {
    let len = s.length();
    let mut units = read_units(scope, s, max_bytes);
    let cut = units.len() < len;
    if cut && units.last().is_some_and(|u| (0xd800..0xdc00).contains(u)) {
        units.pop(); // half of a pair that was cut
    }
    let mut out = String::from_utf16_lossy(&units);
    if cut || out.len() > max_bytes {
        out.truncate(floor_char_boundary(&out, max_bytes));
        let _ = write!(out, "… [truncated: {len} chars in all]");
    }
    out
}

/// Frames of a captured stack trace, one per line, as `    at fn (file:line:col)`
/// like V8's default (`    at file:line:col` for an anonymous frame,
/// `    at new Foo (…)` for a constructor call), at most `max_frames` of
/// them. Code from `eval` or `new Function` is shown as
/// `    at fn (<anonymous>:line:col)`, never with V8's `eval at` origin.
/// The text is at most `max_bytes` bytes plus [`TRUNCATED`].
pub fn stack_frames(
    scope: &mut v8::PinScope,
    trace: v8::Local<v8::StackTrace>,
    max_frames: usize,
    max_bytes: usize,
) -> String {
    v8::scope!(let hs, scope);
    frames(hs, trace, max_frames, max_bytes)
}

/// `Name: message` of an error object, like V8's `Error.prototype.toString`
/// (`name` defaults to `Error`; an empty part is left out with its colon).
/// Both are read as data properties along the prototype chain, so no getter
/// runs, and `.stack` is never read (reading it would run a script's
/// `Error.prepareStackTrace`). At most `max_bytes` bytes plus a truncation
/// note.
pub fn error_headline(
    scope: &mut v8::PinScope,
    error: v8::Local<v8::Object>,
    max_bytes: usize,
) -> String {
    v8::scope!(let hs, scope);
    v8::tc_scope!(let tc, hs);
    v8::disallow_javascript_execution_scope!(let ds, tc, v8::OnFailure::ThrowOnFailure);
    let bounds = Bounds {
        max_bytes,
        ..Bounds::default()
    };
    let Some(mut cx) = Ctx::new(ds, bounds) else {
        return UNPRINTABLE.to_string();
    };
    let Some(error) = unwrap_proxy(ds, error) else {
        return "<Revoked Proxy>".to_string();
    };
    let mut out = cx.headline(ds, error, max_bytes);
    if out.len() > max_bytes {
        out.truncate(floor_char_boundary(&out, max_bytes));
        out.push_str(TRUNCATED);
    }
    out
}

/// Runs `code` as a classic script in a fresh isolate and context (with
/// stack traces captured for errors, as the engine does) and returns its
/// completion value formatted with [`inspect`] (`quoted`) or [`display`],
/// or `THREW: ` and the inspected exception.
#[doc(hidden)]
pub fn format_for_test(code: &str, bounds: Bounds, quoted: bool) -> String {
    let code = code.to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = super::platform::spawn("format-test".into(), 4 << 20, move || {
        let _ = tx.send(run_for_test(&code, bounds, quoted));
    });
    let _ = thread.join();
    rx.recv()
        .unwrap_or_else(|_| "<the test isolate panicked>".to_string())
}

fn run_for_test(code: &str, bounds: Bounds, quoted: bool) -> String {
    let mut isolate = v8::Isolate::new(v8::CreateParams::default());
    isolate.set_capture_stack_trace_for_uncaught_exceptions(true, ERROR_FRAMES as i32);
    v8::scope!(let hs, &mut isolate);
    let context = v8::Context::new(hs, Default::default());
    let scope = &mut v8::ContextScope::new(hs, context);
    v8::tc_scope!(let tc, scope);
    let (Some(source), Some(name)) = (v8::String::new(tc, code), v8::String::new(tc, "test.js"))
    else {
        return "<source too large>".to_string();
    };
    let origin = v8::ScriptOrigin::new(
        tc,
        name.into(),
        0,
        0,
        false,
        0,
        None,
        false,
        false,
        false,
        None,
    );
    let value = v8::Script::compile(tc, source, Some(&origin)).and_then(|s| s.run(tc));
    match value {
        Some(value) if quoted => inspect(tc, value, bounds),
        Some(value) => display(tc, value, bounds),
        None => match tc.exception() {
            Some(exception) => format!("THREW: {}", inspect(tc, exception, bounds)),
            None => "THREW: <terminated>".to_string(),
        },
    }
}

// ---------------------------------------------------------------------------
// The walk.

/// Property names the walk looks up, made once per formatted value.
#[derive(Clone, Copy)]
struct Atoms<'s> {
    value: Local<'s, v8::String>,
    get: Local<'s, v8::String>,
    set: Local<'s, v8::String>,
    enumerable: Local<'s, v8::String>,
    constructor: Local<'s, v8::String>,
    name: Local<'s, v8::String>,
    message: Local<'s, v8::String>,
    prototype: Local<'s, v8::String>,
    cause: Local<'s, v8::String>,
    errors: Local<'s, v8::String>,
    length: Local<'s, v8::String>,
}

/// One own property, read through its descriptor (so no getter runs).
enum Prop<'s> {
    Data(Local<'s, v8::Value>, bool),
    Accessor {
        get: bool,
        set: bool,
        enumerable: bool,
    },
    Missing,
    Failed,
}

/// Node's `extrasType`: whether an object's entries are array-like (then
/// they may be grouped in columns).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Extras {
    Object,
    Array,
}

/// What an object shows before its properties.
#[derive(Clone, Copy)]
enum Body<'s> {
    Empty,
    Array(Local<'s, v8::Array>, usize),
    TypedArray(Local<'s, v8::Object>, usize),
    Set(Local<'s, v8::Set>),
    Map(Local<'s, v8::Map>),
    Buffer(Local<'s, v8::Object>),
    Promise(Local<'s, v8::Promise>),
    Unknown,
}

/// The properties an object shows after its body.
#[derive(Default)]
struct Keys<'s> {
    /// Values that are not own properties (an ArrayBuffer's `byteLength`).
    pre: Vec<(&'static str, Local<'s, v8::Value>)>,
    /// Own enumerable keys to show (strings, numbers for indices, symbols).
    names: Vec<Local<'s, v8::Value>>,
    /// Own enumerable keys left out by `max_items`.
    more: usize,
    /// Own non-enumerable keys shown anyway (an error's `cause`).
    hidden: Vec<Local<'s, v8::Value>>,
}

impl Keys<'_> {
    fn is_empty(&self) -> bool {
        self.pre.is_empty() && self.names.is_empty() && self.more == 0 && self.hidden.is_empty()
    }
}

struct Ctx<'s> {
    bounds: Bounds,
    atoms: Atoms<'s>,
    /// The objects being formatted, outermost first (Node's `ctx.seen`).
    seen: Vec<Local<'s, v8::Object>>,
    /// Objects found again inside themselves, with their `*N` number.
    circular: Vec<(Local<'s, v8::Object>, usize)>,
    /// Node's `ctx.indentationLvl`.
    indentation: usize,
    /// Node's `ctx.currentDepth`.
    current_depth: usize,
    /// Bytes of text produced so far (leaves, keys, separators).
    used: usize,
    /// `used` reached `max_bytes`: stop walking.
    full: bool,
    /// V8 is terminating: stop walking.
    dead: bool,
    /// Long key lists already collected, by object: an object seen many
    /// times (`Array(100).fill(big)`) is enumerated once.
    key_cache: Vec<(Local<'s, v8::Object>, Local<'s, v8::Array>)>,
}

impl<'s> Ctx<'s> {
    fn new(scope: &mut PinScope<'s, '_>, bounds: Bounds) -> Option<Ctx<'s>> {
        let s = |scope: &mut PinScope<'s, '_>, text: &str| {
            v8::String::new_from_utf8(scope, text.as_bytes(), v8::NewStringType::Internalized)
        };
        let atoms = Atoms {
            value: s(scope, "value")?,
            get: s(scope, "get")?,
            set: s(scope, "set")?,
            enumerable: s(scope, "enumerable")?,
            constructor: s(scope, "constructor")?,
            name: s(scope, "name")?,
            message: s(scope, "message")?,
            prototype: s(scope, "prototype")?,
            cause: s(scope, "cause")?,
            errors: s(scope, "errors")?,
            length: s(scope, "length")?,
        };
        Some(Ctx {
            bounds,
            atoms,
            seen: Vec::new(),
            circular: Vec::new(),
            indentation: 0,
            current_depth: 0,
            used: 0,
            full: false,
            dead: false,
            key_cache: Vec::new(),
        })
    }

    fn stop(&self) -> bool {
        self.full || self.dead
    }

    fn charge(&mut self, bytes: usize) {
        self.used = self.used.saturating_add(bytes);
        if self.used >= self.bounds.max_bytes {
            self.full = true;
        }
    }

    /// Bytes left before the bound.
    fn room(&self) -> usize {
        self.bounds.max_bytes.saturating_sub(self.used)
    }

    fn leaf(&mut self, s: String) -> String {
        self.charge(s.len());
        s
    }

    /// Adds one entry of an object's output, counting its separator.
    fn push(&mut self, output: &mut Vec<String>, entry: String) {
        self.charge(2 + self.indentation);
        output.push(entry);
    }

    /// The placeholder for a V8 call that gave nothing; a termination also
    /// stops the walk.
    fn failed(&mut self, scope: &PinScope<'s, '_>) -> String {
        if scope.is_execution_terminating() {
            self.dead = true;
        }
        self.leaf(UNPRINTABLE.to_string())
    }

    fn finish(&self, mut out: String) -> String {
        if self.full || out.len() > self.bounds.max_bytes {
            out.truncate(floor_char_boundary(&out, self.bounds.max_bytes));
            out.push_str(TRUNCATED);
        }
        out
    }

    /// Node's `formatValue`.
    fn value(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        value: Local<'s, v8::Value>,
        recurse: usize,
    ) -> String {
        if scope.is_execution_terminating() {
            self.dead = true;
        }
        if self.stop() {
            return String::new();
        }
        let Ok(obj) = Local::<v8::Object>::try_from(value) else {
            return self.primitive(scope, value);
        };
        let Some(obj) = unwrap_proxy(scope, obj) else {
            return self.leaf("<Revoked Proxy>".to_string());
        };
        if self.seen.contains(&obj) {
            let index = match self.circular.iter().find(|(o, _)| *o == obj) {
                Some((_, i)) => *i,
                None => {
                    let i = self.circular.len() + 1;
                    self.circular.push((obj, i));
                    i
                }
            };
            return self.leaf(format!("[Circular *{index}]"));
        }
        self.raw(scope, obj, recurse)
    }

    /// Node's `formatPrimitive` (strings quoted).
    fn primitive(&mut self, scope: &mut PinScope<'s, '_>, value: Local<'s, v8::Value>) -> String {
        if let Ok(s) = Local::<v8::String>::try_from(value) {
            return self.quoted(scope, s);
        }
        let text = if let Ok(n) = Local::<v8::Number>::try_from(value) {
            number(n.value())
        } else if let Ok(b) = Local::<v8::BigInt>::try_from(value) {
            return self.bigint(scope, b);
        } else if let Ok(sym) = Local::<v8::Symbol>::try_from(value) {
            symbol_text(scope, sym)
        } else if value.is_undefined() {
            "undefined".to_string()
        } else if value.is_null() {
            "null".to_string()
        } else if value.is_true() {
            "true".to_string()
        } else if value.is_false() {
            "false".to_string()
        } else {
            UNPRINTABLE.to_string()
        };
        self.leaf(text)
    }

    /// A quoted string, at most `MAX_STRING_UNITS` units (then Node's
    /// `... N more characters`), long multi-line strings split like Node.
    fn quoted(&mut self, scope: &mut PinScope<'s, '_>, s: Local<'s, v8::String>) -> String {
        let len = s.length();
        let limit = len.min(MAX_STRING_UNITS);
        // Every unit makes at least one byte of output.
        let take = limit.min(self.room() + 1);
        let units = read_units(scope, s, take);
        let cut = units.len() < limit;
        let trailer = if len > MAX_STRING_UNITS && !cut {
            let r = len - MAX_STRING_UNITS;
            format!("... {r} more character{}", plural(r))
        } else {
            String::new()
        };
        let out = self.quote_units(&units) + &trailer;
        let out = self.leaf(out);
        if cut {
            self.full = true;
        }
        out
    }

    fn quote_units(&self, units: &[u16]) -> String {
        if units.len() > 16 && units.len() > BREAK_LENGTH.saturating_sub(self.indentation + 4) {
            let joint = format!(" +\n{}", " ".repeat(self.indentation + 2));
            let pieces: Vec<String> = units
                .split_inclusive(|u| *u == u16::from(b'\n'))
                .map(str_escape)
                .collect();
            return pieces.join(&joint);
        }
        str_escape(units)
    }

    /// Node's `formatBigInt`; digits come from V8 (no script code runs).
    fn bigint(&mut self, scope: &mut PinScope<'s, '_>, b: Local<'s, v8::BigInt>) -> String {
        let words = b.word_count();
        if words.saturating_mul(64) > MAX_BIGINT_BITS {
            let mut top = [0u64; 1];
            let (negative, _) = b.to_words_array(&mut top);
            let sign = if negative { "-" } else { "" };
            return self.leaf(format!("<BigInt: {sign}{} bits>", words * 64));
        }
        let value: Local<v8::Value> = b.into();
        let Some(digits) = value.to_string(scope) else {
            return self.failed(scope);
        };
        let room = self.room();
        if digits.length() < room {
            let mut s = String::from_utf16_lossy(&read_units(scope, digits, room));
            s.push('n');
            self.leaf(s)
        } else {
            let s = String::from_utf16_lossy(&read_units(scope, digits, room));
            let s = self.leaf(s);
            self.full = true;
            s
        }
    }

    /// Node's `formatRaw`.
    fn raw(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        obj: Local<'s, v8::Object>,
        recurse: usize,
    ) -> String {
        let ctor = self.constructor_name(scope, obj);
        let tag = self.string_tag(scope, obj);
        if self.stop() {
            return String::new();
        }
        let c = ctor.as_deref();
        let v: Local<v8::Value> = obj.into();
        // Beyond the depth only whether there are keys matters.
        let limit = if recurse > self.bounds.depth {
            1
        } else {
            self.bounds.max_items
        };
        let mut base = String::new();
        let mut open = String::from("{");
        let mut close = "}";
        let mut extras = Extras::Object;
        let mut body = Body::Empty;
        let mut keys;

        if let Ok(arr) = Local::<v8::Array>::try_from(v) {
            let len = arr.length() as usize;
            let prefix = if c != Some("Array") || !tag.is_empty() {
                get_prefix(c, &tag, "Array", &format!("({len})"))
            } else {
                String::new()
            };
            keys = self.keys(scope, obj, true, false, limit);
            open = format!("{prefix}[");
            close = "]";
            if len == 0 && keys.is_empty() {
                return self.leaf(format!("{open}]"));
            }
            extras = Extras::Array;
            body = Body::Array(arr, len);
        } else if let Ok(set) = Local::<v8::Set>::try_from(v) {
            let size = set.size();
            let prefix = get_prefix(c, &tag, "Set", &format!("({size})"));
            keys = self.keys(scope, obj, false, false, limit);
            if size == 0 && keys.is_empty() {
                return self.leaf(format!("{prefix}{{}}"));
            }
            open = format!("{prefix}{{");
            body = Body::Set(set);
        } else if let Ok(map) = Local::<v8::Map>::try_from(v) {
            let size = map.size();
            let prefix = get_prefix(c, &tag, "Map", &format!("({size})"));
            keys = self.keys(scope, obj, false, false, limit);
            if size == 0 && keys.is_empty() {
                return self.leaf(format!("{prefix}{{}}"));
            }
            open = format!("{prefix}{{");
            body = Body::Map(map);
        } else if let Ok(ta) = Local::<v8::TypedArray>::try_from(v) {
            let len = ta.length();
            keys = self.keys(scope, obj, true, false, limit);
            let fallback = if c.is_none() { typed_array_name(v) } else { "" };
            let prefix = get_prefix(c, &tag, fallback, &format!("({len})"));
            open = format!("{prefix}[");
            close = "]";
            if len == 0 && keys.is_empty() {
                return self.leaf(format!("{open}]"));
            }
            extras = Extras::Array;
            body = Body::TypedArray(obj, len);
        } else if v.is_map_iterator() || v.is_set_iterator() {
            keys = self.keys(scope, obj, false, false, limit);
            let kind = if v.is_map_iterator() { "Map" } else { "Set" };
            let wanted = format!("{kind} Iterator");
            let inner = if tag == wanted {
                tag.clone()
            } else if tag.is_empty() {
                wanted
            } else {
                format!("{tag}] [{wanted}")
            };
            open = format!("[{inner}] {{");
            body = Body::Unknown;
        } else {
            keys = self.keys(scope, obj, v.is_string_object(), v.is_native_error(), limit);
            if v.is_function() {
                base = self.function_base(scope, obj, c, &tag);
                if keys.is_empty() {
                    return self.leaf(base);
                }
            } else if c == Some("Object") && !v.is_native_error() {
                if v.is_arguments_object() {
                    open = "[Arguments] {".to_string();
                } else if !tag.is_empty() {
                    open = format!("{}{{", get_prefix(c, &tag, "Object", ""));
                }
                if keys.is_empty() {
                    return self.leaf(format!("{open}}}"));
                }
            } else if v.is_reg_exp() {
                base = self.regexp_text(scope, obj);
                let prefix = get_prefix(c, &tag, "RegExp", "");
                if prefix != "RegExp " {
                    base = format!("{prefix}{base}");
                }
                if keys.is_empty() || recurse > self.bounds.depth {
                    return self.leaf(base);
                }
            } else if let Ok(date) = Local::<v8::Date>::try_from(v) {
                base = iso_date(date.value_of()).unwrap_or_else(|| "Invalid Date".to_string());
                let prefix = get_prefix(c, &tag, "Date", "");
                if prefix != "Date " {
                    base = format!("{prefix}{base}");
                }
                if keys.is_empty() {
                    return self.leaf(base);
                }
            } else if v.is_native_error() {
                self.error_keys(scope, obj, &mut keys);
                base = self.error_base(scope, obj, c, &tag, recurse);
                if keys.is_empty() {
                    return self.leaf(base);
                }
            } else if v.is_array_buffer() || v.is_shared_array_buffer() {
                let kind = if v.is_array_buffer() {
                    "ArrayBuffer"
                } else {
                    "SharedArrayBuffer"
                };
                open = format!("{}{{", get_prefix(c, &tag, kind, ""));
                let len = buffer_len(obj);
                keys.pre
                    .push(("byteLength", v8::Number::new(scope, len as f64).into()));
                body = Body::Buffer(obj);
            } else if let Ok(view) = Local::<v8::DataView>::try_from(v) {
                open = format!("{}{{", get_prefix(c, &tag, "DataView", ""));
                keys.pre.push((
                    "byteLength",
                    v8::Number::new(scope, view.byte_length() as f64).into(),
                ));
                keys.pre.push((
                    "byteOffset",
                    v8::Number::new(scope, view.byte_offset() as f64).into(),
                ));
                match view.buffer(scope) {
                    Some(b) => keys.pre.push(("buffer", b.into())),
                    None => keys.pre.push(("buffer", v8::undefined(scope).into())),
                }
            } else if let Ok(promise) = Local::<v8::Promise>::try_from(v) {
                open = format!("{}{{", get_prefix(c, &tag, "Promise", ""));
                body = Body::Promise(promise);
            } else if v.is_weak_set() {
                open = format!("{}{{", get_prefix(c, &tag, "WeakSet", ""));
                body = Body::Unknown;
            } else if v.is_weak_map() {
                open = format!("{}{{", get_prefix(c, &tag, "WeakMap", ""));
                body = Body::Unknown;
            } else if v.is_module_namespace_object() {
                open = format!("{}{{", get_prefix(c, &tag, "Module", ""));
            } else if v.is_number_object()
                || v.is_string_object()
                || v.is_boolean_object()
                || v.is_big_int_object()
                || v.is_symbol_object()
            {
                base = self.boxed_base(scope, obj, c, &tag);
                if keys.is_empty() {
                    return self.leaf(base);
                }
            } else {
                let style = self.ctx_style(scope, obj, c, &tag);
                if keys.is_empty() {
                    return self.leaf(format!("{style}{{}}"));
                }
                open = format!("{style}{{");
            }
        }
        if recurse > self.bounds.depth {
            let style = self.ctx_style(scope, obj, c, &tag);
            let name = style.strip_suffix(' ').unwrap_or(&style);
            let name = if c.is_some() {
                format!("[{name}]")
            } else {
                name.to_string()
            };
            return self.leaf(name);
        }
        self.charge(base.len() + open.len() + close.len());
        let recurse = recurse + 1;
        self.seen.push(obj);
        self.current_depth = recurse;

        let mut output = match body {
            Body::Empty => Vec::new(),
            Body::Array(arr, len) => self.array_items(scope, arr, len, recurse),
            Body::TypedArray(ta, len) => self.typed_items(scope, ta, len),
            Body::Set(set) => self.set_items(scope, set, recurse),
            Body::Map(map) => self.map_items(scope, map, recurse),
            Body::Buffer(buf) => vec![self.buffer_contents(buf)],
            Body::Promise(p) => self.promise_items(scope, p, recurse),
            Body::Unknown => vec![self.leaf("<items unknown>".to_string())],
        };
        for (name, value) in std::mem::take(&mut keys.pre) {
            if self.stop() {
                break;
            }
            self.indentation += 2;
            let s = self.value(scope, value, recurse);
            self.indentation -= 2;
            self.charge(name.len() + 2);
            let entry = format!("{name}: {s}");
            self.push(&mut output, entry);
        }
        for key in std::mem::take(&mut keys.names) {
            if self.stop() {
                break;
            }
            let entry = self.property(scope, obj, key, recurse);
            self.push(&mut output, entry);
        }
        if keys.more > 0 && !self.stop() {
            output.push(remaining_text(keys.more));
        }
        for key in std::mem::take(&mut keys.hidden) {
            if self.stop() {
                break;
            }
            let entry = self.property(scope, obj, key, recurse);
            self.push(&mut output, entry);
        }

        if let Some((_, index)) = self.circular.iter().find(|(o, _)| *o == obj) {
            let reference = format!("<ref *{index}>");
            self.charge(reference.len() + 1);
            base = if base.is_empty() {
                reference
            } else {
                format!("{reference} {base}")
            };
        }
        self.seen.pop();

        let numeric = extras == Extras::Array
            && output.len() > 6
            && self.numeric_entries(scope, &body, output.len());
        self.reduce(output, &base, &open, close, extras, recurse, numeric)
    }

    /// Node's `getConstructorName`, reading only own data properties: the
    /// name of the first `constructor` up the chain that the object is an
    /// instance of; `None` for a null prototype.
    fn constructor_name(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        obj: Local<'s, v8::Object>,
    ) -> Option<String> {
        let key = self.atoms.constructor.into();
        let mut cur = obj;
        for step in 0..CHAIN_LIMIT {
            if let Prop::Data(v, _) = self.own(scope, cur, key)
                && let Ok(f) = Local::<v8::Function>::try_from(v)
            {
                let name = self.function_name(scope, f);
                if !name.is_empty() && self.is_instance(scope, obj, f) {
                    return Some(name);
                }
            }
            match cur.get_prototype(scope) {
                Some(p) if p.is_null() => {
                    if step == 0 {
                        return None;
                    }
                    break;
                }
                Some(p) => match Local::<v8::Object>::try_from(p) {
                    Ok(p) if !p.is_proxy() => cur = p,
                    _ => break,
                },
                None => {
                    self.failed(scope);
                    break;
                }
            }
        }
        Some(string_prefix(scope, obj.get_constructor_name(), NAME_BYTES))
    }

    /// `Symbol.toStringTag` when it is a string found as a data property (a
    /// typed array's comes from its kind) and not an own enumerable one.
    fn string_tag(&mut self, scope: &mut PinScope<'s, '_>, obj: Local<'s, v8::Object>) -> String {
        let v: Local<v8::Value> = obj.into();
        if v.is_typed_array() {
            return typed_array_name(v).to_string();
        }
        let key: Local<v8::Name> = v8::Symbol::get_to_string_tag(scope).into();
        let mut cur = obj;
        for step in 0..CHAIN_LIMIT {
            match self.own(scope, cur, key) {
                Prop::Data(_, true) if step == 0 => return String::new(),
                Prop::Data(v, _) => {
                    return match Local::<v8::String>::try_from(v) {
                        Ok(s) => string_prefix(scope, s, NAME_BYTES),
                        Err(_) => String::new(),
                    };
                }
                Prop::Missing => {}
                Prop::Accessor { .. } | Prop::Failed => return String::new(),
            }
            match cur
                .get_prototype(scope)
                .and_then(|p| Local::<v8::Object>::try_from(p).ok())
            {
                Some(p) if !p.is_proxy() => cur = p,
                _ => break,
            }
        }
        String::new()
    }

    /// Node's `getCtxStyle`.
    fn ctx_style(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        obj: Local<'s, v8::Object>,
        c: Option<&str>,
        tag: &str,
    ) -> String {
        let fallback = if c.is_none() {
            let name = string_prefix(scope, obj.get_constructor_name(), NAME_BYTES);
            if name == tag {
                "Object".to_string()
            } else {
                name
            }
        } else {
            String::new()
        };
        get_prefix(c, tag, &fallback, "")
    }

    /// A function's `name` as an own data property, else its V8 debug name
    /// when `name` is an accessor; empty when absent.
    fn function_name(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        f: Local<'s, v8::Function>,
    ) -> String {
        match self.own(scope, f.into(), self.atoms.name.into()) {
            Prop::Data(v, _) => match Local::<v8::String>::try_from(v) {
                Ok(s) => string_prefix(scope, s, NAME_BYTES),
                Err(_) => String::new(),
            },
            Prop::Accessor { .. } => string_prefix(scope, f.get_name(scope), NAME_BYTES),
            Prop::Missing | Prop::Failed => String::new(),
        }
    }

    /// `obj instanceof f` for an ordinary `f`: `f.prototype` (own data) is on
    /// `obj`'s chain. `Symbol.hasInstance` is not consulted.
    fn is_instance(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        obj: Local<'s, v8::Object>,
        f: Local<'s, v8::Function>,
    ) -> bool {
        let Prop::Data(proto, _) = self.own(scope, f.into(), self.atoms.prototype.into()) else {
            return false;
        };
        let Ok(proto) = Local::<v8::Object>::try_from(proto) else {
            return false;
        };
        let mut cur = obj;
        for _ in 0..CHAIN_LIMIT {
            match cur
                .get_prototype(scope)
                .and_then(|p| Local::<v8::Object>::try_from(p).ok())
            {
                Some(p) if p == proto => return true,
                Some(p) if !p.is_proxy() => cur = p,
                _ => return false,
            }
        }
        false
    }

    /// Node's `getFunctionBase` / `getClassBase`.
    fn function_base(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        obj: Local<'s, v8::Object>,
        c: Option<&str>,
        tag: &str,
    ) -> String {
        let Ok(f) = Local::<v8::Function>::try_from(obj) else {
            return UNPRINTABLE.to_string();
        };
        let v: Local<v8::Value> = obj.into();
        // V8's side-effect-free source text, cut to ~128 chars.
        let source = v
            .to_detail_string(scope)
            .map(|s| string_prefix(scope, s, 256))
            .unwrap_or_default();
        if is_class_source(&source) {
            let name = match self.own(scope, obj, self.atoms.name.into()) {
                Prop::Data(v, _) => match Local::<v8::String>::try_from(v) {
                    Ok(s) if s.length() > 0 => string_prefix(scope, s, NAME_BYTES),
                    _ => "(anonymous)".to_string(),
                },
                _ => "(anonymous)".to_string(),
            };
            let mut base = format!("class {name}");
            if c != Some("Function") && c.is_some() {
                let _ = write!(base, " [{}]", c.unwrap_or_default());
            }
            if !tag.is_empty() && c != Some(tag) {
                let _ = write!(base, " [{tag}]");
            }
            if c.is_some() {
                let parent = obj
                    .get_prototype(scope)
                    .and_then(|p| Local::<v8::Object>::try_from(p).ok());
                if let Some(parent) = parent
                    && !parent.is_proxy()
                    && let Prop::Data(n, _) = self.own(scope, parent, self.atoms.name.into())
                    && let Ok(n) = Local::<v8::String>::try_from(n)
                    && n.length() > 0
                {
                    let _ = write!(base, " extends {}", string_prefix(scope, n, NAME_BYTES));
                }
            } else {
                base.push_str(" extends [null prototype]");
            }
            return format!("[{base}]");
        }
        let mut kind = String::from("Function");
        if v.is_generator_function() {
            kind = format!("Generator{kind}");
        }
        if v.is_async_function() {
            kind = format!("Async{kind}");
        }
        let mut base = format!("[{kind}");
        if c.is_none() {
            base.push_str(" (null prototype)");
        }
        let name = self.function_name(scope, f);
        if name.is_empty() {
            base.push_str(" (anonymous)");
        } else {
            let _ = write!(base, ": {name}");
        }
        base.push(']');
        if let Some(c) = c
            && c != kind
        {
            let _ = write!(base, " {c}");
        }
        if !tag.is_empty() && c != Some(tag) {
            let _ = write!(base, " [{tag}]");
        }
        base
    }

    /// `/source/flags`; flags come from the value serializer (no script runs).
    fn regexp_text(&mut self, scope: &mut PinScope<'s, '_>, obj: Local<'s, v8::Object>) -> String {
        let Ok(re) = Local::<v8::RegExp>::try_from(obj) else {
            return UNPRINTABLE.to_string();
        };
        let source = re.get_source(scope);
        let flags = if source.length() <= MAX_REGEXP_SOURCE {
            serialize(scope, obj.into())
                .and_then(|bytes| regexp_flags(&bytes))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let source = string_prefix(scope, source, self.room().max(16));
        format!("/{source}/{flags}")
    }

    /// Node's `getBoxedBase`.
    fn boxed_base(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        obj: Local<'s, v8::Object>,
        c: Option<&str>,
        tag: &str,
    ) -> String {
        let v: Local<v8::Value> = obj.into();
        let (kind, inner) = if v.is_string_object() {
            ("String", self.string_object_text(scope, obj))
        } else if v.is_number_object() || v.is_boolean_object() {
            let kind = if v.is_number_object() {
                "Number"
            } else {
                "Boolean"
            };
            let inner = serialize(scope, v)
                .and_then(|bytes| boxed_primitive(&bytes))
                .unwrap_or_else(|| UNPRINTABLE.to_string());
            (kind, inner)
        } else if v.is_big_int_object() {
            // No side-effect-free way to read the value: V8's API has no
            // `BigIntObject::ValueOf`, and serializing it could copy a
            // BigInt of any size.
            ("BigInt", String::new())
        } else {
            // Likewise (the serializer refuses symbols).
            ("Symbol", String::new())
        };
        let mut base = format!("[{kind}");
        match c {
            Some(c) if c == kind => {}
            Some(c) => {
                let _ = write!(base, " ({c})");
            }
            None => base.push_str(" (null prototype)"),
        }
        if !inner.is_empty() {
            let _ = write!(base, ": {inner}");
        }
        base.push(']');
        if !tag.is_empty() && c != Some(tag) {
            let _ = write!(base, " [{tag}]");
        }
        base
    }

    /// V8's side-effect-free description of a value, bounded.
    fn detail(&mut self, scope: &mut PinScope<'s, '_>, v: Local<'s, v8::Value>) -> String {
        match v.to_detail_string(scope) {
            Some(s) => string_prefix(scope, s, NAME_BYTES),
            None => self.failed(scope),
        }
    }

    /// The quoted text of a `String` object, read one own index at a time.
    fn string_object_text(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        obj: Local<'s, v8::Object>,
    ) -> String {
        let len = match self.own(scope, obj, self.atoms.length.into()) {
            Prop::Data(n, _) => n.number_value(scope).unwrap_or(0.0) as usize,
            _ => 0,
        };
        let take = len.min(MAX_STRING_UNITS).min(self.room() + 1);
        let mut units = Vec::with_capacity(take);
        for i in 0..take {
            let Some(ch) = obj.get_index(scope, i as u32) else {
                break;
            };
            let Ok(ch) = Local::<v8::String>::try_from(ch) else {
                break;
            };
            units.extend(read_units(scope, ch, 1));
        }
        let mut text = self.quote_units(&units);
        if len > units.len() {
            let r = len - units.len();
            let _ = write!(text, "... {r} more character{}", plural(r));
        }
        text
    }

    /// Own enumerable keys (strings, then symbols), at most `limit`.
    /// `skip_indices` leaves out integer keys (arrays, typed arrays, String
    /// objects); `error` leaves out `name`, `message` and `stack`, which the
    /// error's headline already shows.
    fn keys(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        obj: Local<'s, v8::Object>,
        skip_indices: bool,
        error: bool,
        limit: usize,
    ) -> Keys<'s> {
        let mut keys = Keys::default();
        let args = v8::GetPropertyNamesArgs {
            mode: v8::KeyCollectionMode::OwnOnly,
            property_filter: v8::PropertyFilter::ONLY_ENUMERABLE,
            index_filter: if skip_indices {
                v8::IndexFilter::SkipIndices
            } else {
                v8::IndexFilter::IncludeIndices
            },
            key_conversion: v8::KeyConversionMode::KeepNumbers,
        };
        let cached = self
            .key_cache
            .iter()
            .find(|(o, _)| *o == obj)
            .map(|(_, n)| *n);
        let names = match cached {
            Some(names) => names,
            None => {
                let Some(names) = obj.get_property_names(scope, args) else {
                    self.failed(scope);
                    return keys;
                };
                if names.length() as usize > KEY_CACHE_MIN {
                    self.key_cache.push((obj, names));
                }
                names
            }
        };
        let total = names.length();
        for i in 0..total {
            let Some(key) = names.get_index(scope, i) else {
                self.failed(scope);
                break;
            };
            if error
                && let Ok(s) = Local::<v8::String>::try_from(key)
                && s.length() <= 7
                && matches!(
                    s.to_rust_string_lossy(scope).as_str(),
                    "name" | "message" | "stack"
                )
            {
                continue;
            }
            if keys.names.len() >= limit {
                keys.more = (total - i) as usize;
                break;
            }
            keys.names.push(key);
        }
        keys
    }

    /// Node shows an error's own `cause` and an AggregateError's `errors`
    /// even though they are not enumerable.
    fn error_keys(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        obj: Local<'s, v8::Object>,
        keys: &mut Keys<'s>,
    ) {
        let cause = self.atoms.cause;
        if let Prop::Data(_, false)
        | Prop::Accessor {
            enumerable: false, ..
        } = self.own(scope, obj, cause.into())
        {
            keys.hidden.push(cause.into());
        }
        let errors = self.atoms.errors;
        if let Prop::Data(v, false) = self.own(scope, obj, errors.into())
            && v.is_array()
        {
            keys.hidden.push(errors.into());
        }
    }

    /// Node's `formatError`: the headline (Node's "improved" stack line),
    /// then the captured frames when the error is the top value; nested
    /// errors are one line in brackets.
    fn error_base(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        err: Local<'s, v8::Object>,
        c: Option<&str>,
        tag: &str,
        recurse: usize,
    ) -> String {
        let name = match self.data_chain(scope, err, self.atoms.name.into()) {
            Some(v) if v.is_null_or_undefined() => "Error".to_string(),
            Some(v) => match Local::<v8::String>::try_from(v) {
                Ok(s) => string_prefix(scope, s, NAME_BYTES),
                Err(_) => self.detail(scope, v),
            },
            None => "Error".to_string(),
        };
        let room = self.room();
        let headline = self.headline(scope, err, room);
        let mut stack = improve_stack(headline, c, &name, tag);
        let trace = if recurse == 0 {
            v8::Exception::get_stack_trace(scope, err.into())
        } else {
            None
        };
        let frames = trace
            .map(|t| {
                frames(
                    scope,
                    t,
                    ERROR_FRAMES,
                    self.room().saturating_sub(stack.len()),
                )
            })
            .unwrap_or_default();
        if frames.is_empty() {
            stack = format!("[{stack}]");
        } else {
            stack.push('\n');
            stack.push_str(&frames);
        }
        if self.indentation != 0 {
            let indentation = format!("\n{}", " ".repeat(self.indentation));
            stack = stack.replace('\n', &indentation);
        }
        stack
    }

    /// `name: message` from data properties (see [`error_headline`]).
    fn headline(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        err: Local<'s, v8::Object>,
        max_bytes: usize,
    ) -> String {
        let name = match self.data_chain(scope, err, self.atoms.name.into()) {
            None => "Error".to_string(),
            Some(v) if v.is_undefined() => "Error".to_string(),
            Some(v) => match Local::<v8::String>::try_from(v) {
                Ok(s) => string_prefix(scope, s, max_bytes.min(NAME_BYTES)),
                Err(_) => self.detail(scope, v),
            },
        };
        let room = max_bytes.saturating_sub(name.len() + 2);
        let message = match self.data_chain(scope, err, self.atoms.message.into()) {
            None => String::new(),
            Some(v) if v.is_undefined() => String::new(),
            Some(v) => match Local::<v8::String>::try_from(v) {
                Ok(s) => string_prefix(scope, s, room),
                Err(_) => self.detail(scope, v),
            },
        };
        if name.is_empty() {
            message
        } else if message.is_empty() {
            name
        } else {
            format!("{name}: {message}")
        }
    }

    /// A property's value found as a data property on `obj` or up its
    /// chain; `None` when absent, an accessor, or behind a proxy.
    fn data_chain(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        obj: Local<'s, v8::Object>,
        key: Local<'s, v8::Name>,
    ) -> Option<Local<'s, v8::Value>> {
        let mut cur = obj;
        for _ in 0..CHAIN_LIMIT {
            match self.own(scope, cur, key) {
                Prop::Data(v, _) => return Some(v),
                Prop::Missing => {}
                Prop::Accessor { .. } | Prop::Failed => return None,
            }
            match cur
                .get_prototype(scope)
                .and_then(|p| Local::<v8::Object>::try_from(p).ok())
            {
                Some(p) if !p.is_proxy() => cur = p,
                _ => return None,
            }
        }
        None
    }

    /// One own property through `Object.getOwnPropertyDescriptor`.
    fn own(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        obj: Local<'s, v8::Object>,
        key: Local<'s, v8::Name>,
    ) -> Prop<'s> {
        let Some(desc) = obj.get_own_property_descriptor(scope, key) else {
            self.failed(scope);
            return Prop::Failed;
        };
        let Ok(desc) = Local::<v8::Object>::try_from(desc) else {
            return Prop::Missing;
        };
        // A descriptor is a fresh ordinary object whose fields are own data
        // properties: a data descriptor has `value`, an accessor one `get`
        // and `set` (possibly undefined).
        let a = self.atoms;
        let enumerable = desc
            .get(scope, a.enumerable.into())
            .is_some_and(|v| v.is_true());
        match desc.has_own_property(scope, a.get.into()) {
            Some(true) => {
                let get = desc.get(scope, a.get.into());
                let set = desc.get(scope, a.set.into());
                match (get, set) {
                    (Some(get), Some(set)) => Prop::Accessor {
                        get: !get.is_undefined(),
                        set: !set.is_undefined(),
                        enumerable,
                    },
                    _ => {
                        self.failed(scope);
                        Prop::Failed
                    }
                }
            }
            Some(false) => match desc.get(scope, a.value.into()) {
                Some(v) => Prop::Data(v, enumerable),
                None => {
                    self.failed(scope);
                    Prop::Failed
                }
            },
            None => {
                self.failed(scope);
                Prop::Failed
            }
        }
    }

    fn own_index(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        obj: Local<'s, v8::Object>,
        index: u64,
    ) -> Prop<'s> {
        match v8::String::new(scope, &index.to_string()) {
            Some(key) => self.own(scope, obj, key.into()),
            None => {
                self.failed(scope);
                Prop::Failed
            }
        }
    }

    /// Node's `formatProperty` value part.
    fn prop_value(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        prop: Prop<'s>,
        recurse: usize,
    ) -> String {
        match prop {
            Prop::Data(v, _) if !v.is_undefined() => {
                self.indentation += 2;
                let s = self.value(scope, v, recurse);
                self.indentation -= 2;
                s
            }
            Prop::Accessor { get: true, set, .. } => {
                self.leaf(if set { "[Getter/Setter]" } else { "[Getter]" }.to_string())
            }
            Prop::Accessor { set: true, .. } => self.leaf("[Setter]".to_string()),
            Prop::Failed => UNPRINTABLE.to_string(),
            _ => self.leaf("undefined".to_string()),
        }
    }

    /// Node's `formatProperty` for a named entry: `key: value`.
    fn property(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        obj: Local<'s, v8::Object>,
        key: Local<'s, v8::Value>,
        recurse: usize,
    ) -> String {
        let name: Option<Local<v8::Name>> = if let Ok(n) = Local::<v8::Name>::try_from(key) {
            Some(n)
        } else {
            key.to_string(scope).map(Into::into)
        };
        let Some(name) = name else {
            return self.failed(scope);
        };
        let prop = self.own(scope, obj, name);
        let enumerable = match prop {
            Prop::Data(_, e) | Prop::Accessor { enumerable: e, .. } => e,
            _ => true,
        };
        let value = self.prop_value(scope, prop, recurse);
        let key = self.key_text(scope, name, enumerable);
        self.charge(key.len() + 2);
        format!("{key}: {value}")
    }

    /// How Node shows a property key.
    fn key_text(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        name: Local<'s, v8::Name>,
        enumerable: bool,
    ) -> String {
        if let Ok(sym) = Local::<v8::Symbol>::try_from(name) {
            let text: Vec<u16> = symbol_text(scope, sym).encode_utf16().collect();
            return format!("[{}]", escape_units(&text, true));
        }
        let Ok(s) = Local::<v8::String>::try_from(name) else {
            return UNPRINTABLE.to_string();
        };
        let units = read_units(scope, s, self.room().clamp(16, MAX_STRING_UNITS));
        if units.len() == 9 && String::from_utf16_lossy(&units) == "__proto__" {
            return "['__proto__']".to_string();
        }
        if !enumerable {
            return format!("[{}]", escape_units(&units, true));
        }
        let ident = !units.is_empty()
            && units.iter().enumerate().all(|(i, &u)| {
                u < 128 && {
                    let c = u as u8;
                    c == b'_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
                }
            });
        if ident {
            String::from_utf16_lossy(&units)
        } else {
            str_escape(&units)
        }
    }

    /// Node's `formatArray` (and `formatSpecialArray` for holes).
    fn array_items(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        arr: Local<'s, v8::Array>,
        len: usize,
        recurse: usize,
    ) -> Vec<String> {
        let max = len.min(self.bounds.max_items);
        let mut output = Vec::new();
        for i in 0..max {
            if self.stop() {
                return output;
            }
            match self.own_index(scope, arr.into(), i as u64) {
                Prop::Missing => {
                    return self.sparse_items(scope, arr, len, max, output, i, recurse);
                }
                prop => {
                    let s = self.prop_value(scope, prop, recurse);
                    self.push(&mut output, s);
                }
            }
        }
        if len > max {
            output.push(remaining_text(len - max));
        }
        output
    }

    /// Node's `formatSpecialArray`: holes as `<N empty items>`, found from
    /// the array's own keys.
    #[allow(clippy::too_many_arguments)]
    fn sparse_items(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        arr: Local<'s, v8::Array>,
        len: usize,
        max: usize,
        mut output: Vec<String>,
        start: usize,
        recurse: usize,
    ) -> Vec<String> {
        let args = v8::GetPropertyNamesArgs {
            mode: v8::KeyCollectionMode::OwnOnly,
            property_filter: v8::PropertyFilter::ONLY_ENUMERABLE | v8::PropertyFilter::SKIP_SYMBOLS,
            index_filter: v8::IndexFilter::IncludeIndices,
            key_conversion: v8::KeyConversionMode::KeepNumbers,
        };
        let Some(names) = arr.get_property_names(scope, args) else {
            let s = self.failed(scope);
            output.push(s);
            return output;
        };
        let count = names.length() as usize;
        let mut index = start as u64;
        let mut k = start;
        while k < count && output.len() < max {
            if self.stop() {
                return output;
            }
            let Some(key) = names.get_index(scope, k as u32) else {
                break;
            };
            let Ok(at) = Local::<v8::Number>::try_from(key) else {
                break; // a named key: the indices are over
            };
            let at = at.value();
            if at < 0.0 || at.fract() != 0.0 || at > 4_294_967_294.0 {
                break;
            }
            let at = at as u64;
            if at != index {
                let empty = at - index;
                output.push(format!("<{empty} empty item{}>", plural(empty as usize)));
                index = at;
                if output.len() == max {
                    break;
                }
            }
            let prop = self.own_index(scope, arr.into(), at);
            let s = self.prop_value(scope, prop, recurse);
            self.push(&mut output, s);
            index += 1;
            k += 1;
        }
        let remaining = (len as u64).saturating_sub(index) as usize;
        if output.len() != max {
            if remaining > 0 {
                output.push(format!("<{remaining} empty item{}>", plural(remaining)));
            }
        } else if remaining > 0 {
            output.push(remaining_text(remaining));
        }
        output
    }

    /// Node's `formatTypedArray` (elements are numbers or BigInts, read
    /// without running code).
    fn typed_items(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        ta: Local<'s, v8::Object>,
        len: usize,
    ) -> Vec<String> {
        let max = len.min(self.bounds.max_items);
        let mut output = Vec::new();
        for i in 0..max {
            if self.stop() {
                return output;
            }
            let s = match ta.get_index(scope, i as u32) {
                Some(v) => self.primitive(scope, v),
                None => self.failed(scope),
            };
            self.push(&mut output, s);
        }
        if len > max {
            output.push(remaining_text(len - max));
        }
        output
    }

    /// The note shown instead of a map's or set's entries when there are
    /// too many to copy (V8 copies all of them to show any).
    fn too_many(&mut self, size: usize) -> Option<Vec<String>> {
        (size > MAX_COLLECTION_COPY).then(|| {
            vec![self.leaf(format!(
                "<{size} entries not read: more than {MAX_COLLECTION_COPY}>"
            ))]
        })
    }

    /// Node's `formatSet`.
    fn set_items(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        set: Local<'s, v8::Set>,
        recurse: usize,
    ) -> Vec<String> {
        let size = set.size();
        if let Some(note) = self.too_many(size) {
            return note;
        }
        let arr = set.as_array(scope);
        self.collection_items(scope, size, arr, false, recurse)
    }

    /// Node's `formatMap`.
    fn map_items(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        map: Local<'s, v8::Map>,
        recurse: usize,
    ) -> Vec<String> {
        let size = map.size();
        if let Some(note) = self.too_many(size) {
            return note;
        }
        let arr = map.as_array(scope);
        self.collection_items(scope, size, arr, true, recurse)
    }

    /// The first `max_items` of `size` entries copied out of a set (`arr`
    /// holds values) or a map (`arr` holds key, value, key, value…).
    fn collection_items(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        size: usize,
        arr: Local<'s, v8::Array>,
        pairs: bool,
        recurse: usize,
    ) -> Vec<String> {
        let max = size.min(self.bounds.max_items);
        let mut output = Vec::new();
        self.indentation += 2;
        let at = |this: &mut Self, scope: &mut PinScope<'s, '_>, i: usize| match arr
            .get_index(scope, i as u32)
        {
            Some(v) => this.value(scope, v, recurse),
            None => this.failed(scope),
        };
        for i in 0..max {
            if self.stop() {
                break;
            }
            let entry = if pairs {
                let k = at(self, scope, 2 * i);
                let v = at(self, scope, 2 * i + 1);
                self.charge(4);
                format!("{k} => {v}")
            } else {
                at(self, scope, i)
            };
            self.push(&mut output, entry);
        }
        self.indentation -= 2;
        if size > max && !self.stop() {
            output.push(remaining_text(size - max));
        }
        output
    }

    /// Node's `formatArrayBuffer`: the first `max_items` bytes in hex.
    fn buffer_contents(&mut self, obj: Local<'s, v8::Object>) -> String {
        let (store, len) = if let Ok(ab) = Local::<v8::ArrayBuffer>::try_from(obj) {
            if ab.was_detached() {
                return self.leaf("(detached)".to_string());
            }
            (ab.get_backing_store(), ab.byte_length())
        } else if let Ok(sab) = Local::<v8::SharedArrayBuffer>::try_from(obj) {
            (sab.get_backing_store(), sab.byte_length())
        } else {
            return UNPRINTABLE.to_string();
        };
        let shown = len.min(self.bounds.max_items).min(store.len());
        let mut hex = String::with_capacity(shown * 3);
        for (i, byte) in store[..shown].iter().enumerate() {
            if i > 0 {
                hex.push(' ');
            }
            let _ = write!(hex, "{:02x}", byte.get());
        }
        if len > self.bounds.max_items {
            let r = len - self.bounds.max_items;
            let _ = write!(hex, " ... {r} more byte{}", plural(r));
        }
        self.leaf(format!("[Uint8Contents]: <{hex}>"))
    }

    /// Node's `formatPromise`.
    fn promise_items(
        &mut self,
        scope: &mut PinScope<'s, '_>,
        p: Local<'s, v8::Promise>,
        recurse: usize,
    ) -> Vec<String> {
        let state = p.state();
        if let v8::PromiseState::Pending = state {
            return vec![self.leaf("<pending>".to_string())];
        }
        self.indentation += 2;
        let s = self.value(scope, p.result(scope), recurse);
        self.indentation -= 2;
        match state {
            v8::PromiseState::Rejected => vec![self.leaf("<rejected> ".to_string()) + &s],
            _ => vec![s],
        }
    }

    /// Whether entry `i` of the value is a number or BigInt for every `i` below
    /// `n` (Node pads such columns to the right).
    fn numeric_entries(&mut self, scope: &mut PinScope<'s, '_>, body: &Body<'s>, n: usize) -> bool {
        match *body {
            Body::TypedArray(_, len) => n <= len,
            Body::Array(arr, len) => {
                n <= len
                    && (0..n).all(|i| match self.own_index(scope, arr.into(), i as u64) {
                        Prop::Data(v, _) => v.is_number() || v.is_big_int(),
                        _ => false,
                    })
            }
            _ => false,
        }
    }

    /// Node's `reduceToSingleString` (compact = 3, breakLength = 80).
    #[allow(clippy::too_many_arguments)]
    fn reduce(
        &self,
        mut output: Vec<String>,
        base: &str,
        open: &str,
        close: &str,
        extras: Extras,
        recurse: usize,
        numeric: bool,
    ) -> String {
        let entries = output.len();
        if extras == Extras::Array && entries > 6 {
            output = self.group(output, numeric);
        }
        let base_sp = if base.is_empty() {
            String::new()
        } else {
            format!("{base} ")
        };
        if self.current_depth.saturating_sub(recurse) < COMPACT && entries == output.len() {
            let start = output.len() + self.indentation + js_len(open) + js_len(base) + 10;
            if below_break_length(&output, start, base) {
                let joined = output.join(", ");
                if !joined.contains('\n') {
                    return format!("{base_sp}{open} {joined} {close}");
                }
            }
        }
        let indentation = format!("\n{}", " ".repeat(self.indentation));
        let joined = output.join(&format!(",{indentation}  "));
        format!("{base_sp}{open}{indentation}  {joined}{indentation}{close}")
    }

    /// Node's `groupArrayElements`: many short entries in aligned columns.
    fn group(&self, output: Vec<String>, numeric: bool) -> Vec<String> {
        let mut total = 0usize;
        let mut max_len = 0usize;
        let mut len = output.len();
        if self.bounds.max_items < output.len() {
            len -= 1; // the "... more items" entry is not grouped
        }
        const SEPARATOR: usize = 2;
        let data_len: Vec<usize> = output[..len].iter().map(|s| js_len(s)).collect();
        for &l in &data_len {
            total += l + SEPARATOR;
            max_len = max_len.max(l);
        }
        let actual_max = max_len + SEPARATOR;
        if actual_max * 3 + self.indentation < BREAK_LENGTH
            && (total as f64 / actual_max as f64 > 5.0 || max_len <= 6)
        {
            let average_bias = (actual_max as f64 - total as f64 / output.len() as f64).sqrt();
            let biased_max = (actual_max as f64 - 3.0 - average_bias).max(1.0);
            let columns = [
                js_round((2.5 * biased_max * len as f64).sqrt() / biased_max),
                (BREAK_LENGTH.saturating_sub(self.indentation) / actual_max) as f64,
                (COMPACT * 4) as f64,
                15.0,
            ]
            .into_iter()
            .fold(f64::INFINITY, f64::min);
            if columns <= 1.0 || columns.is_nan() {
                return output;
            }
            let columns = columns as usize;
            let max_line: Vec<usize> = (0..columns)
                .map(|i| {
                    (i..len)
                        .step_by(columns)
                        .map(|j| data_len[j])
                        .max()
                        .unwrap_or(0)
                        + SEPARATOR
                })
                .collect();
            let mut grouped = Vec::new();
            for i in (0..len).step_by(columns) {
                let end = (i + columns).min(len);
                let mut line = String::new();
                for j in i..end - 1 {
                    let cell = format!("{}, ", output[j]);
                    pad(&mut line, &cell, max_line[j - i], numeric);
                }
                let j = end - 1;
                if numeric {
                    pad(&mut line, &output[j], max_line[j - i] - SEPARATOR, true);
                } else {
                    line.push_str(&output[j]);
                }
                grouped.push(line);
            }
            if len < output.len() {
                grouped.push(output[len].clone());
            }
            return grouped;
        }
        output
    }
}

// ---------------------------------------------------------------------------
// Helpers that need no walk state.

/// Follows proxies to their final target without touching a trap; `None`
/// for a revoked proxy.
fn unwrap_proxy<'s>(
    scope: &mut PinScope<'s, '_>,
    mut obj: Local<'s, v8::Object>,
) -> Option<Local<'s, v8::Object>> {
    while let Ok(proxy) = Local::<v8::Proxy>::try_from(obj) {
        if proxy.is_revoked() {
            return None;
        }
        obj = Local::<v8::Object>::try_from(proxy.get_target(scope)).ok()?;
    }
    Some(obj)
}

/// The first `max` UTF-16 units of `s` through the range writer, which
/// copies from a rope without flattening it.
fn read_units(scope: &mut PinScope, s: Local<v8::String>, max: usize) -> Vec<u16> {
    let n = s.length().min(max);
    let mut buf = vec![0u16; n];
    if n > 0 {
        s.write_v2(scope, 0, &mut buf, v8::WriteFlags::empty());
    }
    buf
}

/// `Symbol(description)`, the description bounded.
fn symbol_text(scope: &mut PinScope, sym: Local<v8::Symbol>) -> String {
    let desc = sym.description(scope);
    match Local::<v8::String>::try_from(desc) {
        Ok(s) => format!("Symbol({})", string_prefix(scope, s, NAME_BYTES)),
        Err(_) => "Symbol()".to_string(),
    }
}

/// Captured frames as text (see [`stack_frames`]).
fn frames(
    scope: &mut PinScope,
    trace: Local<v8::StackTrace>,
    max_frames: usize,
    max_bytes: usize,
) -> String {
    let mut out = String::new();
    let count = trace.get_frame_count().min(max_frames);
    for i in 0..count {
        let Some(frame) = trace.get_frame(scope, i) else {
            break;
        };
        let mut name = frame
            .get_function_name(scope)
            .map(|s| string_prefix(scope, s, NAME_BYTES))
            .unwrap_or_default();
        let eval = frame.is_eval();
        let file = if eval {
            None
        } else {
            frame
                .get_script_name_or_source_url(scope)
                .map(|s| string_prefix(scope, s, NAME_BYTES))
                .filter(|f| !f.is_empty())
        };
        let file = file.unwrap_or_else(|| "<anonymous>".to_string());
        let at = format!("{file}:{}:{}", frame.get_line_number(), frame.get_column());
        if name.is_empty() && eval {
            name = "eval".to_string();
        }
        if frame.is_constructor() {
            name = format!(
                "new {}",
                if name.is_empty() {
                    "<anonymous>"
                } else {
                    &name
                }
            );
        }
        let line = if name.is_empty() {
            format!("    at {at}")
        } else {
            format!("    at {name} ({at})")
        };
        let sep = usize::from(!out.is_empty());
        if out.len() + sep + line.len() > max_bytes {
            // Whole lines only, unless not even the first one fits.
            if out.is_empty() {
                out.push_str(&line[..floor_char_boundary(&line, max_bytes)]);
            } else {
                out.push('\n');
            }
            out.push_str(TRUNCATED);
            break;
        }
        if sep == 1 {
            out.push('\n');
        }
        out.push_str(&line);
    }
    out
}

/// Node's `improveStack`: puts the constructor's name in front of a plain
/// `Error` headline of a subclass (`MyError: x`, `Foo [Error]: x`,
/// `[Error: null prototype]: x`).
fn improve_stack(stack: String, c: Option<&str>, name: &str, tag: &str) -> String {
    let mut len = name.len();
    let looks_normal = name.ends_with("Error")
        && stack.starts_with(name)
        && matches!(stack.as_bytes().get(len), None | Some(b':') | Some(b'\n'));
    if c.is_some() && !looks_normal {
        return stack;
    }
    let mut fallback = "Error".to_string();
    if c.is_none() {
        let start = null_proto_error_name(&stack).unwrap_or_default();
        len = start.len();
        fallback = if start.is_empty() {
            "Error".to_string()
        } else {
            start
        };
    }
    let prefix = get_prefix(c, tag, &fallback, "");
    let prefix = prefix.strip_suffix(' ').unwrap_or(&prefix);
    if name == prefix {
        return stack;
    }
    let rest = stack.get(len..).unwrap_or("");
    if prefix.contains(name) {
        if len == 0 {
            format!("{prefix}: {stack}")
        } else {
            format!("{prefix}{rest}")
        }
    } else {
        format!("{prefix} [{name}]{rest}")
    }
}

/// Node's `/^([A-Z][a-z_ A-Z0-9[\]()-]+)(?::|\n {4}at)/` or
/// `/^([a-z_A-Z0-9-]*Error)$/` on a headline.
fn null_proto_error_name(stack: &str) -> Option<String> {
    let bytes = stack.as_bytes();
    if bytes.first().is_some_and(u8::is_ascii_uppercase) {
        let end = bytes[1..]
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b" _[]()-".contains(&b)))
            .map_or(bytes.len(), |p| p + 1);
        let rest = &stack[end..];
        if end >= 2 && (rest.starts_with(':') || rest.starts_with("\n    at")) {
            return Some(stack[..end].to_string());
        }
    }
    if stack.ends_with("Error")
        && stack
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Some(stack.to_string());
    }
    None
}

/// Node's `getPrefix`.
fn get_prefix(c: Option<&str>, tag: &str, fallback: &str, size: &str) -> String {
    match c {
        None if !tag.is_empty() && fallback != tag => {
            format!("[{fallback}{size}: null prototype] [{tag}] ")
        }
        None => format!("[{fallback}{size}: null prototype] "),
        Some(c) if !tag.is_empty() && c != tag => format!("{c}{size} [{tag}] "),
        Some(c) => format!("{c}{size} "),
    }
}

/// Node's `classRegExp` test on a function's source text.
fn is_class_source(source: &str) -> bool {
    let Some(rest) = source.strip_prefix("class") else {
        return false;
    };
    if !source.ends_with('}') || !rest.starts_with(|c: char| c.is_whitespace() || c == '{') {
        return false;
    }
    match rest.find('{') {
        Some(brace) => !rest[..brace].contains('('),
        None => false,
    }
}

fn typed_array_name(v: Local<v8::Value>) -> &'static str {
    if v.is_uint8_array() {
        "Uint8Array"
    } else if v.is_uint8_clamped_array() {
        "Uint8ClampedArray"
    } else if v.is_int8_array() {
        "Int8Array"
    } else if v.is_uint16_array() {
        "Uint16Array"
    } else if v.is_int16_array() {
        "Int16Array"
    } else if v.is_uint32_array() {
        "Uint32Array"
    } else if v.is_int32_array() {
        "Int32Array"
    } else if v.is_float16_array() {
        "Float16Array"
    } else if v.is_float32_array() {
        "Float32Array"
    } else if v.is_float64_array() {
        "Float64Array"
    } else if v.is_big_int64_array() {
        "BigInt64Array"
    } else if v.is_big_uint64_array() {
        "BigUint64Array"
    } else {
        "TypedArray"
    }
}

fn buffer_len(obj: Local<v8::Object>) -> usize {
    if let Ok(ab) = Local::<v8::ArrayBuffer>::try_from(obj) {
        ab.byte_length()
    } else if let Ok(sab) = Local::<v8::SharedArrayBuffer>::try_from(obj) {
        sab.byte_length()
    } else {
        0
    }
}

/// Refuses host objects; used only for RegExps and boxed primitives, which
/// the serializer writes from their internal slots without running code.
struct Refuse;

impl v8::ValueSerializerImpl for Refuse {
    fn throw_data_clone_error<'s>(
        &self,
        scope: &mut v8::PinScope<'s, '_>,
        message: v8::Local<'s, v8::String>,
    ) {
        let error = v8::Exception::error(scope, message);
        scope.throw_exception(error);
    }
}

fn serialize(scope: &mut PinScope, value: Local<v8::Value>) -> Option<Vec<u8>> {
    let context = scope.get_current_context();
    let serializer = v8::ValueSerializer::new(scope, Box::new(Refuse));
    serializer
        .write_value(context, value)?
        .then(|| serializer.release())
}

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn skip_padding(buf: &[u8], pos: &mut usize) {
    while buf.get(*pos) == Some(&0) {
        *pos += 1;
    }
}

/// The flags of a serialized RegExp (`R`, its source string, a varint of
/// V8's flag bits), in `RegExp.prototype.flags` order.
fn regexp_flags(buf: &[u8]) -> Option<String> {
    let mut pos = 0;
    skip_padding(buf, &mut pos);
    if *buf.get(pos)? != b'R' {
        return None;
    }
    pos += 1;
    skip_padding(buf, &mut pos);
    if !matches!(buf.get(pos)?, b'"' | b'c' | b'S') {
        return None;
    }
    pos += 1;
    let len = varint(buf, &mut pos)? as usize;
    pos = pos.checked_add(len)?;
    let bits = varint(buf, &mut pos)?;
    // V8's bits: g 0, i 1, m 2, y 3, u 4, s 5, (l 6), d 7, v 8.
    let order = [
        (7, 'd'),
        (0, 'g'),
        (1, 'i'),
        (2, 'm'),
        (5, 's'),
        (4, 'u'),
        (8, 'v'),
        (3, 'y'),
    ];
    Some(
        order
            .iter()
            .filter(|(bit, _)| bits & (1 << bit) != 0)
            .map(|(_, c)| *c)
            .collect(),
    )
}

/// The value of a serialized Number or Boolean object.
fn boxed_primitive(buf: &[u8]) -> Option<String> {
    let mut pos = 0;
    skip_padding(buf, &mut pos);
    match *buf.get(pos)? {
        b'n' => {
            let bytes: [u8; 8] = buf.get(pos + 1..pos + 9)?.try_into().ok()?;
            Some(number(f64::from_le_bytes(bytes)))
        }
        b'y' => Some("true".to_string()),
        b'x' => Some("false".to_string()),
        _ => None,
    }
}

/// JavaScript's `Number.prototype.toString()` (and Node's `-0`).
fn number(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    let sign = if x < 0.0 { "-" } else { "" };
    // Rust's `{:e}` gives the shortest digits that round-trip, as JS does.
    let sci = format!("{:e}", x.abs());
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return sci;
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i64;
    let n = exp.parse::<i64>().unwrap_or(0) + 1;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let e_sign = if e >= 0 { '+' } else { '-' };
        if k == 1 {
            format!("{digits}e{e_sign}{}", e.abs())
        } else {
            format!("{}.{}e{e_sign}{}", &digits[..1], &digits[1..], e.abs())
        }
    };
    format!("{sign}{body}")
}

/// `Date.prototype.toISOString()`; `None` for an invalid date.
fn iso_date(ms: f64) -> Option<String> {
    if !ms.is_finite() || ms.abs() > 8.64e15 {
        return None;
    }
    let ms = ms as i64;
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year < 0 {
        format!("-{:06}", -year)
    } else {
        format!("+{year:06}")
    };
    let (h, m, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    Some(format!(
        "{year}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z"
    ))
}

/// Node's `strEscape`: quoted with `'`, or with `"` / `` ` `` when that
/// avoids escaping a `'`; control characters, `\` and lone surrogates
/// escaped.
fn str_escape(units: &[u16]) -> String {
    let has = |c: u8| units.contains(&u16::from(c));
    let mut quote = '\'';
    if has(b'\'') {
        if !has(b'"') {
            quote = '"';
        } else if !has(b'`')
            && !units
                .windows(2)
                .any(|w| w == [u16::from(b'$'), u16::from(b'{')])
        {
            quote = '`';
        }
    }
    let mut out = String::with_capacity(units.len() + 2);
    out.push(quote);
    out.push_str(&escape_units(units, quote == '\''));
    out.push(quote);
    out
}

/// The escaping part of `strEscape` (`'` only when `single`).
fn escape_units(units: &[u16], single: bool) -> String {
    let mut out = String::with_capacity(units.len());
    let mut i = 0;
    while i < units.len() {
        let u = units[i];
        match u {
            0x27 if single => out.push_str("\\'"),
            0x5c => out.push_str("\\\\"),
            0x08 => out.push_str("\\b"),
            0x09 => out.push_str("\\t"),
            0x0a => out.push_str("\\n"),
            0x0c => out.push_str("\\f"),
            0x0d => out.push_str("\\r"),
            0..=0x1f | 0x7f..=0x9f => {
                let _ = write!(out, "\\x{u:02X}");
            }
            0xd800..=0xdbff
                if units
                    .get(i + 1)
                    .is_some_and(|n| (0xdc00..=0xdfff).contains(n)) =>
            {
                let c =
                    0x10000 + ((u32::from(u) - 0xd800) << 10) + (u32::from(units[i + 1]) - 0xdc00);
                out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                i += 1;
            }
            0xd800..=0xdfff => {
                let _ = write!(out, "\\u{u:x}");
            }
            _ => out.push(char::from_u32(u32::from(u)).unwrap_or('\u{fffd}')),
        }
        i += 1;
    }
    out
}

/// Node's `isBelowBreakLength`.
fn below_break_length(output: &[String], start: usize, base: &str) -> bool {
    let mut total = output.len() + start;
    if total + output.len() > BREAK_LENGTH {
        return false;
    }
    for entry in output {
        total += js_len(entry);
        if total > BREAK_LENGTH {
            return false;
        }
    }
    base.is_empty() || !base.contains('\n')
}

/// `padStart` (numbers) or `padEnd` of `cell` to `width` columns.
fn pad(line: &mut String, cell: &str, width: usize, start: bool) {
    let fill = " ".repeat(width.saturating_sub(js_len(cell)));
    if start {
        line.push_str(&fill);
        line.push_str(cell);
    } else {
        line.push_str(cell);
        line.push_str(&fill);
    }
}

/// Length in UTF-16 units, as JavaScript counts it.
fn js_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// `Math.round`.
fn js_round(x: f64) -> f64 {
    (x + 0.5).floor()
}

fn remaining_text(n: usize) -> String {
    format!("... {n} more item{}", plural(n))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
