//! `console.*` for scripts: the only host object they get. Lines are captured
//! per invocation into a bounded buffer kept in the isolate's slot.

use std::cell::RefCell;
use std::rc::Rc;

use super::report::{Console, ConsoleLine, Level};

/// Bounds on what one invocation may print.
#[derive(Clone, Copy, Debug)]
pub struct ConsoleBounds {
    pub max_lines: usize,
    pub max_bytes: usize,
}

impl Default for ConsoleBounds {
    fn default() -> Self {
        ConsoleBounds {
            max_lines: 1_000,
            max_bytes: 64 * 1024,
        }
    }
}

/// Most characters a single result string keeps before it is cut with a note.
pub const MAX_RESULT_BYTES: usize = 64 * 1024;

/// The per-isolate capture buffer (an `Rc<RefCell<_>>` in the isolate's slot).
pub struct ConsoleBuf {
    bounds: ConsoleBounds,
    console: Console,
    bytes: usize,
}

impl ConsoleBuf {
    pub fn new(bounds: ConsoleBounds) -> Self {
        ConsoleBuf {
            bounds,
            console: Console::default(),
            bytes: 0,
        }
    }

    fn full(&self) -> bool {
        self.console.lines.len() >= self.bounds.max_lines || self.bytes >= self.bounds.max_bytes
    }

    fn push(&mut self, level: Level, mut text: String) {
        if self.full() {
            self.console.dropped += 1;
            return;
        }
        let room = self.bounds.max_bytes - self.bytes;
        if text.len() > room {
            let cut = floor_char_boundary(&text, room);
            text.truncate(cut);
            text.push('…');
            self.bytes = self.bounds.max_bytes;
        } else {
            self.bytes += text.len();
        }
        self.console.lines.push(ConsoleLine { level, text });
    }

    /// Takes this invocation's lines and starts a fresh capture.
    pub fn take(&mut self) -> Console {
        self.bytes = 0;
        std::mem::take(&mut self.console)
    }

    pub fn clear(&mut self) {
        if !self.console.lines.is_empty() || self.console.dropped > 0 {
            self.take();
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Cuts `s` to `max` bytes, noting how much was left out.
pub fn truncate_with_note(mut s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let total = s.len();
    s.truncate(floor_char_boundary(&s, max));
    s.push_str(&format!("… [truncated: {total} bytes in all]"));
    s
}

fn console_callback(
    scope: &mut v8::PinScope,
    args: v8::FunctionCallbackArguments,
    _rv: v8::ReturnValue<v8::Value>,
) {
    let level = Level::ALL
        .get(args.data().int32_value(scope).unwrap_or(0) as usize)
        .copied()
        .unwrap_or(Level::Log);
    let Some(buf) = scope.get_slot::<Rc<RefCell<ConsoleBuf>>>().cloned() else {
        return;
    };
    if buf.borrow().full() {
        buf.borrow_mut().console.dropped += 1;
        return;
    }
    let mut text = String::new();
    for i in 0..args.length() {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(&display(scope, args.get(i)));
        if text.len() > MAX_RESULT_BYTES {
            break;
        }
    }
    buf.borrow_mut().push(level, text);
}

/// The template of our `console` object. V8 installs its own (inspector-only,
/// silent) `console` on every new global, so ours replaces it per context.
pub fn template<'s>(scope: &v8::PinScope<'s, '_, ()>) -> v8::Local<'s, v8::ObjectTemplate> {
    let console = v8::ObjectTemplate::new(scope);
    for level in Level::ALL {
        let data = v8::Integer::new(scope, level as i32);
        let f = v8::FunctionTemplate::builder(console_callback)
            .data(data.into())
            .build(scope);
        let name = v8::String::new(scope, level.name()).unwrap();
        console.set(name.into(), f.into());
    }
    console
}

/// Replaces the context's built-in `console` with a capturing one.
pub fn install(scope: &mut v8::PinScope, template: v8::Local<v8::ObjectTemplate>) {
    let context = scope.get_current_context();
    let console = template.new_instance(scope).expect("console object");
    let key = v8::String::new(scope, "console").unwrap();
    context.global(scope).set(scope, key.into(), console.into());
}

/// A value as a person reads it: strings as they are, JSON where the value
/// is JSON-able, else V8's own description (functions, symbols, BigInts).
pub fn display(scope: &mut v8::PinScope, value: v8::Local<v8::Value>) -> String {
    if value.is_string() {
        return value.to_rust_string_lossy(scope);
    }
    if value.is_undefined() || value.is_function() || value.is_symbol() || value.is_big_int() {
        return detail(scope, value);
    }
    if value.is_native_error() {
        return detail(scope, value);
    }
    v8::tc_scope!(let tc, scope);
    match v8::json::stringify(tc, value) {
        Some(s) if !tc.has_caught() => s.to_rust_string_lossy(tc),
        _ => {
            if tc.has_terminated() {
                return String::new();
            }
            tc.reset();
            detail(tc, value)
        }
    }
}

fn detail(scope: &mut v8::PinScope, value: v8::Local<v8::Value>) -> String {
    v8::tc_scope!(let tc, scope);
    match value.to_detail_string(tc) {
        Some(s) => s.to_rust_string_lossy(tc),
        None => "<unprintable value>".to_string(),
    }
}
