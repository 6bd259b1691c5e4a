//! A script version and how each shape is compiled: a plain script (its
//! result is the value of its last expression) or a handler module (its
//! default export is called with an event).

use std::path::Path;

use serde::Serialize;

use super::report::{ErrorKind, Location, ScriptError};

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
    /// Detects the shape: `.mjs` or a top-level `export default` line makes a handler.
    pub fn new(name: impl Into<String>, code: impl Into<String>) -> Self {
        let name = name.into();
        let code = code.into();
        let kind = if name.ends_with(".mjs")
            || code
                .lines()
                .any(|l| l.trim_start().starts_with("export default"))
        {
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

    /// Reads a UTF-8 JavaScript file; binary or unreadable files are an error.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let code = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", path.display()))?;
        if code.contains('\0') {
            anyhow::bail!("{} looks binary (it has NUL bytes)", path.display());
        }
        Ok(Source::new(path.display().to_string(), code))
    }
}

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
) -> v8::ScriptOrigin<'s> {
    let name = v8::String::new(scope, name).unwrap();
    v8::ScriptOrigin::new(
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
    )
}

/// Compiles a plain script into the current context.
pub fn compile_script<'s>(
    tc: &mut v8::PinnedRef<'s, v8::TryCatch<v8::HandleScope>>,
    src: &Source,
) -> Result<v8::Local<'s, v8::Script>, ScriptError> {
    let code = v8::String::new(tc, &wrapped(&src.code))
        .ok_or_else(|| ScriptError::new(ErrorKind::Syntax, "source is too large for V8"))?;
    let origin = origin(tc, &src.name, -1, false);
    match v8::Script::compile(tc, code, Some(&origin)) {
        Some(s) => Ok(s),
        None => Err(caught(tc, ErrorKind::Syntax)),
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
    let spec = specifier.to_rust_string_lossy(scope);
    let msg = v8::String::new(scope, &import_refusal(&spec)).unwrap();
    let err = v8::Exception::error(scope, msg);
    scope.throw_exception(err);
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
    let origin = origin(tc, &src.name, 0, true);
    let mut source = v8::script_compiler::Source::new(code, Some(&origin));
    let module = v8::script_compiler::compile_module(tc, &mut source)
        .ok_or_else(|| caught(tc, ErrorKind::Syntax))?;
    if module.instantiate_module(tc, resolve_nothing).is_none() {
        return Err(caught(tc, ErrorKind::Module));
    }
    let promise = module.evaluate(tc);
    if promise.is_none() || tc.has_caught() {
        return Err(caught(tc, ErrorKind::Exception));
    }
    tc.perform_microtask_checkpoint();
    if tc.has_terminated() || tc.is_execution_terminating() {
        return Err(ScriptError::new(ErrorKind::Timeout, "terminated"));
    }
    if module.get_status() == v8::ModuleStatus::Errored {
        let exc = module.get_exception();
        return Err(from_value(tc, exc, ErrorKind::Exception));
    }
    let ns = module.get_module_namespace();
    let ns = ns.to_object(tc).unwrap();
    let key = v8::String::new(tc, "default").unwrap();
    let export = ns.get(tc, key.into());
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

/// The error a `TryCatch` caught, with location and stack.
pub fn caught(
    tc: &mut v8::PinnedRef<'_, v8::TryCatch<v8::HandleScope>>,
    kind: ErrorKind,
) -> ScriptError {
    if tc.has_terminated() || tc.is_execution_terminating() {
        return ScriptError::new(ErrorKind::Timeout, "terminated");
    }
    let Some(exception) = tc.exception() else {
        return ScriptError::new(kind, "unknown error (no exception was thrown)");
    };
    let mut err = from_value(tc, exception, kind);
    if let Some(message) = tc.message() {
        err.location = location(tc, message);
    }
    err
}

/// An error from a thrown or rejected value.
pub fn from_value(
    scope: &mut v8::PinScope,
    value: v8::Local<v8::Value>,
    kind: ErrorKind,
) -> ScriptError {
    let message = super::console::display(scope, value);
    let mut err = ScriptError::new(kind, message);
    if let Ok(obj) = v8::Local::<v8::Object>::try_from(value) {
        let key = v8::String::new(scope, "stack").unwrap();
        if let Some(stack) = obj.get(scope, key.into())
            && stack.is_string()
        {
            err.stack = Some(stack.to_rust_string_lossy(scope));
        }
    }
    let message = v8::Exception::create_message(scope, value);
    err.location = location(scope, message);
    err
}

fn location(scope: &mut v8::PinScope, message: v8::Local<v8::Message>) -> Option<Location> {
    let file = message
        .get_script_resource_name(scope)
        .filter(|n| n.is_string())
        .map(|n| n.to_rust_string_lossy(scope))?;
    let line = message.get_line_number(scope)? as u32;
    if line == 0 {
        return None;
    }
    let source_line = message
        .get_source_line(scope)
        .map(|s| s.to_rust_string_lossy(scope))
        .unwrap_or_default();
    Some(Location {
        file,
        line,
        column: message.get_start_column() as u32 + 1,
        source_line,
    })
}
