//! Whole runtimes per call (`node -e`, `deno eval`, `qjs`): finding them
//! on PATH, and the small wrappers that make each run the same script the
//! isolate rows run and print its result on a [`MARKER`] line: a plain
//! script's completion value (indirect eval, in the global scope); a
//! handler module's default export called with `{isolate, invocation,
//! payload}` (imported from a `data:` URL, so that the file's extension
//! does not decide how the runtime parses it); a promise awaited. Strings
//! are shown raw and other values as `util.inspect` (node) or
//! `Deno.inspect` (deno) would show them, as the engine does; qjs has no
//! inspect and shows JSON.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Rung;
use super::process::{MARKER, Spec};
use crate::engine::{EngineConfig, ScriptKind, Source};

/// The program a runtime rung runs, by name.
pub fn program(rung: Rung) -> Option<&'static str> {
    match rung {
        Rung::Node => Some("node"),
        Rung::Deno => Some("deno"),
        Rung::Qjs => Some("qjs"),
        _ => None,
    }
}

/// `name` on PATH: the first executable file of that name.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// How one runtime reads the file and the environment, shows a value,
/// writes a line, imports a module and fails: JavaScript expressions.
struct Dialect {
    read: &'static str,
    getenv: &'static str,
    show: &'static str,
    write: &'static str,
    import: &'static str,
    fail: &'static str,
}

/// The wrapper: `file`, `kind` and `payload` come from the environment.
fn wrapper(d: &Dialect) -> String {
    let Dialect {
        read,
        getenv,
        show,
        write,
        import,
        fail,
    } = d;
    format!(
        // A block: the wrapper's names stay out of the global scope the
        // script's `var`s and functions go to.
        r#"{{
const getenv = {getenv};
const file = getenv('ISOLATE_PLAY_FILE');
const handler = getenv('ISOLATE_PLAY_KIND') === 'handler';
const payload = JSON.parse(getenv('ISOLATE_PLAY_PAYLOAD') || 'null');
const show = (v) => typeof v === 'string' ? v : {show};
const say = (o) => ({write})('\n{MARKER}' + JSON.stringify(o) + '\n');
const readf = (file) => {read};
// Its own peak RSS since exec (VmHWM), as the isolate-play child reports it.
const hwm = () => {{
  try {{
    const m = /VmHWM:\s*(\d+) kB/.exec(readf('/proc/self/status'));
    return m ? Number(m[1]) * 1024 : null;
  }} catch (e) {{
    return null;
  }}
}};
(async () => {{
  const code = readf(file);
  let v;
  if (handler) {{
    const m = await {import};
    v = await m.default({{ isolate: 0, invocation: 1, payload }});
  }} else {{
    v = (0, eval)(code);
    if (v && typeof v.then === 'function') v = await v;
  }}
  say({{ ok: show(v), hwm: hwm() }});
}})().catch((e) => {{
  say({{ error: String(e && e.message !== undefined ? (e.name + ': ' + e.message) : e), hwm: hwm() }});
  {fail};
}});
}}
"#
    )
}

/// The spec of one call under `rung`'s runtime at `program`, for the
/// script in `file` (a copy of `source`).
pub fn spec(
    rung: Rung,
    program: &Path,
    file: &Path,
    source: &Source,
    config: &EngineConfig,
    kill_after: Duration,
) -> Spec {
    let heap_mb = (config.limits.heap_bytes >> 20).max(1);
    let (args, code): (Vec<OsString>, String) = match rung {
        Rung::Deno => (
            vec![
                "eval".into(),
                format!("--v8-flags=--max-old-space-size={heap_mb}").into(),
            ],
            wrapper(&Dialect {
                read: "Deno.readTextFileSync(file)",
                getenv: "(k) => Deno.env.get(k)",
                show: "Deno.inspect(v)",
                write: "(s) => Deno.stdout.writeSync(new TextEncoder().encode(s))",
                import: "import('data:text/javascript;base64,' + btoa(String.fromCharCode(...new TextEncoder().encode(code))))",
                fail: "Deno.exitCode = 1",
            }),
        ),
        Rung::Qjs => (
            vec!["--std".into(), "-e".into()],
            wrapper(&Dialect {
                read: "std.loadFile(file)",
                getenv: "(k) => std.getenv(k)",
                show: "JSON.stringify(v)",
                write: "(s) => { std.out.puts(s); std.out.flush(); }",
                // No base64 helper, and a file path imports as a module.
                import: "import(file)",
                fail: "std.exit(1)",
            }),
        ),
        _ => (
            vec![
                format!("--max-old-space-size={heap_mb}").into(),
                "-e".into(),
            ],
            wrapper(&Dialect {
                read: "require('fs').readFileSync(file, 'utf8')",
                getenv: "(k) => process.env[k]",
                show: "require('util').inspect(v)",
                write: "(s) => require('fs').writeSync(1, s)",
                import: "import('data:text/javascript;base64,' + Buffer.from(code).toString('base64'))",
                fail: "process.exitCode = 1",
            }),
        ),
    };
    let mut args = args;
    args.push(code.into());
    let kind = match source.kind {
        ScriptKind::Handler => "handler",
        ScriptKind::Script => "script",
    };
    Spec {
        program: program.to_path_buf(),
        args,
        env: vec![
            ("ISOLATE_PLAY_FILE".into(), file.as_os_str().to_owned()),
            ("ISOLATE_PLAY_KIND".into(), kind.into()),
            ("ISOLATE_PLAY_PAYLOAD".into(), config.payload.clone().into()),
            // Deno: no update check, no colours, no prompts.
            ("DENO_NO_UPDATE_CHECK".into(), "1".into()),
            ("NO_COLOR".into(), "1".into()),
        ],
        namespaced: false,
        kill_after,
    }
}
