//! A script version and how each shape is compiled: a plain script (its
//! result is the value of its last expression) or a handler module (its
//! default export is called with an event).

use std::path::Path;

use serde::Serialize;

use super::format;
use super::report::{ErrorKind, Location, ScriptError};
use super::sandbox::STACK_FRAMES;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScriptKind {
    Script,
    Handler,
}

/// One version of the code that the workers run.
#[derive(Clone, Debug)]
pub struct Source {
    /// Set by the engine; every result names the version it came from.
    pub version: u64,
    /// Shown in errors as `name:line:col`.
    pub name: String,
    pub code: String,
    pub kind: ScriptKind,
}

impl Source {
    /// Detects the shape: `.mjs`, or a line of code (not inside a comment,
    /// string or template literal) that starts with `export default`,
    /// makes a handler.
    pub fn new(name: impl Into<String>, code: impl Into<String>) -> Self {
        let name = name.into();
        let code = code.into();
        let kind = if name.ends_with(".mjs") || exports_default(&code) {
            ScriptKind::Handler
        } else {
            ScriptKind::Script
        };
        Source {
            version: 0,
            name,
            code,
            kind,
        }
    }

    /// Reads a UTF-8 JavaScript file of at most [`MAX_SOURCE_BYTES`];
    /// binary, unreadable or larger files (or endless ones such as
    /// /dev/zero, read no further than the bound) are an error.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        use std::io::Read;
        let file = std::fs::File::open(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let mut bytes = Vec::new();
        file.take(MAX_SOURCE_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        Self::from_bytes(path, bytes)
    }

    /// [`Source::from_file`] for bytes already read from `path` (the same
    /// checks and errors).
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> anyhow::Result<Self> {
        if bytes.len() > MAX_SOURCE_BYTES {
            anyhow::bail!(
                "{} is larger than {} MiB: not a script isolate-play runs",
                path.display(),
                MAX_SOURCE_BYTES >> 20
            );
        }
        let code = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", path.display()))?;
        if code.contains('\0') {
            anyhow::bail!("{} looks binary (it has NUL bytes)", path.display());
        }
        Ok(Source::new(path.display().to_string(), code))
    }
}

/// Whether a line of `code` starts with `export default` outside comments,
/// strings and template literals. A lexer's view, not a parser's: enough
/// to tell a handler from a script that merely mentions the words.
fn exports_default(code: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum In {
        Code,
        LineComment,
        BlockComment,
        Quote(u8),
    }
    let bytes = code.as_bytes();
    let mut state = In::Code;
    let mut line_start = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match state {
            In::Code => {
                if line_start && !b.is_ascii_whitespace() {
                    if bytes[i..].starts_with(b"export default") {
                        return true;
                    }
                    line_start = false;
                }
                match b {
                    b'\n' => line_start = true,
                    b'/' if bytes.get(i + 1) == Some(&b'/') => state = In::LineComment,
                    b'/' if bytes.get(i + 1) == Some(&b'*') => {
                        state = In::BlockComment;
                        i += 1;
                    }
                    b'\'' | b'"' | b'`' => state = In::Quote(b),
                    _ => {}
                }
            }
            In::LineComment => {
                if b == b'\n' {
                    state = In::Code;
                    line_start = true;
                }
            }
            In::BlockComment => {
                if b == b'*' && bytes.get(i + 1) == Some(&b'/') {
                    state = In::Code;
                    i += 1;
                }
            }
            In::Quote(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q || (b == b'\n' && q != b'`') {
                    state = In::Code;
                }
            }
        }
        i += 1;
    }
    false
}

/// The largest source file read (bytes): 16 MiB, several times the largest
/// minified bundles people deploy to isolates.
pub const MAX_SOURCE_BYTES: usize = 16 << 20;

/// Plain scripts are wrapped in a block so that a kept context can run them
/// again and again: top-level `let`/`const`/`class` are then fresh each run
/// (instead of "already declared"), while `var` and `globalThis` state stays,
/// and the block's completion value is still the last expression's value.
/// The wrapper line is hidden by a line offset of -1.
pub fn wrapped(code: &str) -> String {
    let mut s = String::with_capacity(code.len() + 4);
    s.push_str("{\n");
    s.push_str(code);
    s.push_str("\n}");
    s
}

fn origin<'s>(
    scope: &mut v8::PinScope<'s, '_>,
    name: &str,
    line_offset: i32,
    is_module: bool,
) -> Option<v8::ScriptOrigin<'s>> {
    let name = v8::String::new(scope, name)?;
    Some(v8::ScriptOrigin::new(
        scope,
        name.into(),
        line_offset,
        0,
        false,
        0,
        None,
        false,
        false,
        is_module,
        None,
    ))
}

fn terminated() -> ScriptError {
    ScriptError::new(ErrorKind::Timeout, "terminated")
}

/// Compiles a plain script into the current context.
pub fn compile_script<'s>(
    tc: &mut v8::PinnedRef<'s, v8::TryCatch<v8::HandleScope>>,
    src: &Source,
) -> Result<v8::Local<'s, v8::Script>, ScriptError> {
    // First as written: a syntax error is reported at the file's own
    // position, and code that would close the wrapper's block early
    // (`} … {`) is refused, as it would be at top level.
    let plain = v8::String::new(tc, &src.code)
        .ok_or_else(|| ScriptError::new(ErrorKind::Syntax, "source is too large for V8"))?;
    let as_written = origin(tc, &src.name, 0, false).ok_or_else(terminated)?;
    if v8::Script::compile(tc, plain, Some(&as_written)).is_none() {
        return Err(caught(tc, ErrorKind::Syntax, src));
    }
    let code = v8::String::new(tc, &wrapped(&src.code))
        .ok_or_else(|| ScriptError::new(ErrorKind::Syntax, "source is too large for V8"))?;
    let origin = origin(tc, &src.name, -1, false).ok_or_else(terminated)?;
    match v8::Script::compile(tc, code, Some(&origin)) {
        Some(s) => Ok(s),
        None => Err(caught(tc, ErrorKind::Syntax, src)),
    }
}

fn resolve_nothing<'s>(
    context: v8::Local<'s, v8::Context>,
    specifier: v8::Local<'s, v8::String>,
    _attributes: v8::Local<'s, v8::FixedArray>,
    _referrer: v8::Local<'s, v8::Module>,
) -> Option<v8::Local<'s, v8::Module>> {
    v8::callback_scope!(unsafe scope, context);
    v8::scope!(let scope, scope);
    let spec = format::string_prefix(scope, specifier, 200);
    if let Some(msg) = v8::String::new(scope, &import_refusal(&spec)) {
        let err = v8::Exception::error(scope, msg);
        scope.throw_exception(err);
    }
    None
}

/// The message for any `import`: scripts have no file system or loader.
pub fn import_refusal(specifier: &str) -> String {
    format!(
        "cannot import '{specifier}': isolate-play scripts run alone, with no module loader, file system or network"
    )
}

/// Compiles, links and evaluates a handler module in the current context and
/// returns its default export, which must be a function.
pub fn load_handler<'s>(
    tc: &mut v8::PinnedRef<'s, v8::TryCatch<v8::HandleScope>>,
    src: &Source,
) -> Result<v8::Local<'s, v8::Function>, ScriptError> {
    let code = v8::String::new(tc, &src.code)
        .ok_or_else(|| ScriptError::new(ErrorKind::Syntax, "source is too large for V8"))?;
    let origin = origin(tc, &src.name, 0, true).ok_or_else(terminated)?;
    let mut source = v8::script_compiler::Source::new(code, Some(&origin));
    let module = v8::script_compiler::compile_module(tc, &mut source)
        .ok_or_else(|| caught(tc, ErrorKind::Syntax, src))?;
    if module.instantiate_module(tc, resolve_nothing).is_none() {
        return Err(caught(tc, ErrorKind::Module, src));
    }
    let promise = module.evaluate(tc);
    if promise.is_none() || tc.has_caught() {
        return Err(caught(tc, ErrorKind::Exception, src));
    }
    tc.perform_microtask_checkpoint();
    if tc.has_terminated() || tc.is_execution_terminating() {
        return Err(ScriptError::new(ErrorKind::Timeout, "terminated"));
    }
    // The evaluation's promise: its rejection is this load's error (and
    // not also an unhandled rejection); pending means a top-level await
    // that nothing can settle.
    if let Some(p) = promise.filter(|p| p.is_promise()) {
        let p = p.cast::<v8::Promise>();
        match p.state() {
            v8::PromiseState::Rejected => {
                p.mark_as_handled();
                super::sandbox::forget_rejection(tc, p);
                let reason = p.result(tc);
                return Err(from_value(tc, reason, ErrorKind::Exception, src));
            }
            v8::PromiseState::Pending => {
                return Err(ScriptError::new(
                    ErrorKind::Unsettled,
                    format!(
                        "{}: the module's top-level await never settled: nothing was left to run \
                         (scripts get no timers or I/O, so only other promises can settle it)",
                        src.name
                    ),
                ));
            }
            v8::PromiseState::Fulfilled => {}
        }
    }
    if module.get_status() == v8::ModuleStatus::Errored {
        let exc = module.get_exception();
        return Err(from_value(tc, exc, ErrorKind::Exception, src));
    }
    let ns = module.get_module_namespace();
    let export = ns
        .to_object(tc)
        .zip(v8::String::new(tc, "default"))
        .and_then(|(ns, key)| ns.get(tc, key.into()));
    if tc.is_execution_terminating() {
        return Err(ScriptError::new(ErrorKind::Timeout, "terminated"));
    }
    match export {
        Some(f) if f.is_function() => Ok(f.cast()),
        other => {
            let what = other
                .map(|v| v.type_of(tc).to_rust_string_lossy(tc))
                .unwrap_or_else(|| "undefined".into());
            Err(ScriptError::new(
                ErrorKind::Module,
                format!(
                    "{}: a handler module must `export default` a function (found {what})",
                    src.name
                ),
            ))
        }
    }
}

/// Longest source line kept with an error location (bytes).
const MAX_SOURCE_LINE: usize = 240;
/// Most bytes of an error message or thrown value's text.
const MAX_ERROR_TEXT: usize = 16 * 1024;
/// Most bytes of a stack's frames.
const MAX_STACK_TEXT: usize = 8 * 1024;

/// The error a `TryCatch` caught, with location and stack. Location and
/// frames are read first, from V8's message and the trace captured when
/// the error was made, before anything that could run script code (such
/// as a script's `Error.prepareStackTrace`, which is never consulted).
pub fn caught(
    tc: &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>,
    kind: ErrorKind,
    src: &Source,
) -> ScriptError {
    if tc.has_terminated() || tc.is_execution_terminating() {
        return ScriptError::new(ErrorKind::Timeout, "terminated");
    }
    let Some(exception) = tc.exception() else {
        return ScriptError::new(kind, "unknown error (no exception was thrown)");
    };
    let message = tc.message();
    describe(tc, exception, message, kind, src)
}

/// An error from a thrown or rejected value.
pub fn from_value(
    scope: &mut v8::PinScope,
    value: v8::Local<v8::Value>,
    kind: ErrorKind,
    src: &Source,
) -> ScriptError {
    let message = v8::Exception::create_message(scope, value);
    describe(scope, value, Some(message), kind, src)
}

fn describe(
    scope: &mut v8::PinScope,
    value: v8::Local<v8::Value>,
    message: Option<v8::Local<v8::Message>>,
    kind: ErrorKind,
    src: &Source,
) -> ScriptError {
    // The trace captured when the error object was made, else the one V8
    // captured when the value was thrown.
    let trace = v8::Exception::get_stack_trace(scope, value)
        .or_else(|| message.and_then(|m| m.get_stack_trace(scope)));
    // Where the error was made, as its stack says (the innermost frame of
    // the file's own code); else where V8 says it was thrown.
    let location = trace
        .and_then(|t| first_frame_in(scope, t, src))
        .or_else(|| message.and_then(|m| message_location(scope, m, src)));
    let stack = trace
        .filter(|t| t.get_frame_count() > 0)
        .map(|t| format::stack_frames(scope, t, STACK_FRAMES as usize, MAX_STACK_TEXT));
    // Formatting may run the script's own getters (an error's `name` or
    // `message`): inside a TryCatch of its own, after everything above.
    let text = {
        v8::tc_scope!(let tc, scope);
        let text = if value.is_native_error() {
            let obj = value.cast::<v8::Object>();
            format::error_headline(tc, obj, MAX_ERROR_TEXT)
        } else {
            format::inspect(
                tc,
                value,
                format::Bounds {
                    max_bytes: MAX_ERROR_TEXT,
                    ..Default::default()
                },
            )
        };
        if tc.has_terminated() {
            return ScriptError::new(ErrorKind::Timeout, "terminated");
        }
        text
    };
    let mut err = ScriptError::new(kind, text);
    err.location = location;
    err.stack = stack.filter(|s| !s.is_empty());
    err
}

/// The message's own position, when it is in the file itself (code made
/// by `eval` or `new Function` has no file name).
fn message_location(
    scope: &mut v8::PinScope,
    message: v8::Local<v8::Message>,
    src: &Source,
) -> Option<Location> {
    let name = message.get_script_resource_name(scope)?;
    if !name.is_string() || !same_name(scope, name, src) {
        return None;
    }
    let line = message.get_line_number(scope)? as u32;
    if line == 0 {
        return None;
    }
    Some(file_location(
        src,
        line,
        message.get_start_column() as u32 + 1,
    ))
}

/// The innermost frame that runs the file's own code.
fn first_frame_in(
    scope: &mut v8::PinScope,
    trace: v8::Local<v8::StackTrace>,
    src: &Source,
) -> Option<Location> {
    for i in 0..trace.get_frame_count() {
        let frame = trace.get_frame(scope, i)?;
        let Some(name) = frame.get_script_name(scope) else {
            continue;
        };
        if same_name(scope, name.into(), src) && frame.get_line_number() > 0 {
            return Some(file_location(
                src,
                frame.get_line_number() as u32,
                frame.get_column() as u32,
            ));
        }
    }
    None
}

fn same_name(scope: &mut v8::PinScope, name: v8::Local<v8::Value>, src: &Source) -> bool {
    name.is_string() && format::string_prefix(scope, name.cast(), src.name.len() + 8) == src.name
}

/// A position in the file with its line, cut to a readable length, read
/// from our own copy of the source (never copied out of V8).
fn file_location(src: &Source, line: u32, column: u32) -> Location {
    let text = src.code.lines().nth(line as usize - 1).unwrap_or_default();
    let mut source_line = text.to_string();
    if source_line.len() > MAX_SOURCE_LINE {
        let mut cut = MAX_SOURCE_LINE;
        while !source_line.is_char_boundary(cut) {
            cut -= 1;
        }
        source_line.truncate(cut);
        source_line.push('…');
    }
    Location {
        file: src.name.clone(),
        line,
        column,
        source_line,
    }
}
