//! `console.*` for scripts: the only host object they get. Lines are captured
//! per invocation into a bounded buffer kept in the isolate's slot.

use std::cell::RefCell;
use std::rc::Rc;

use super::format;
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

/// Bytes kept free for a truncation note after a formatted value.
const NOTE_ROOM: usize = 64;

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

    /// Adds a line, cut to what is left of the byte bound; counts it as
    /// dropped when the buffer is full.
    pub fn push(&mut self, level: Level, mut text: String) {
        if self.full() {
            self.console.dropped += 1;
            return;
        }
        let room = self.bounds.max_bytes - self.bytes;
        if text.len() > room {
            let cut = floor_char_boundary(&text, room);
            text.truncate(cut);
            text.push_str(format::TRUNCATED);
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
    // Never format more than the buffer can still take.
    let room = {
        let b = buf.borrow();
        b.bounds
            .max_bytes
            .saturating_sub(b.bytes)
            .min(MAX_RESULT_BYTES)
    };
    let mut text = String::new();
    for i in 0..args.length() {
        if i > 0 {
            text.push(' ');
        }
        // The formatter may add a short truncation note past its bound.
        let bounds = format::Bounds {
            max_bytes: room.saturating_sub(text.len() + NOTE_ROOM).max(1),
            ..Default::default()
        };
        text.push_str(&format::display(scope, args.get(i), bounds));
        if text.len() >= room || scope.is_execution_terminating() {
            break;
        }
    }
    // A line cut at the bound fills the buffer: later lines are dropped
    // (and counted) rather than squeezed into what is left.
    let cut = text.len() + NOTE_ROOM >= room;
    let mut b = buf.borrow_mut();
    b.push(level, text);
    if cut {
        b.bytes = b.bytes.max(b.bounds.max_bytes);
    }
}

/// The native functions of every context of ours, for V8's startup
/// snapshots: a snapshot stores a native callback as its index in this
/// list, so the builder and every isolate restored from its blob must be
/// given the same list, in the same order (see `snapshot`).
pub fn external_references() -> Vec<v8::ExternalReference> {
    use v8::MapFnTo;
    vec![v8::ExternalReference {
        function: console_callback.map_fn_to(),
    }]
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
        if let Some(name) = v8::String::new(scope, level.name()) {
            console.set(name.into(), f.into());
        }
    }
    console
}

/// Replaces the context's built-in `console` with a capturing one.
pub fn install(scope: &mut v8::PinScope, template: v8::Local<v8::ObjectTemplate>) {
    let context = scope.get_current_context();
    if let Some((console, key)) = template
        .new_instance(scope)
        .zip(v8::String::new(scope, "console"))
    {
        context.global(scope).set(scope, key.into(), console.into());
    }
}
