//! The playground: snapshots of the screen (TestBackend + insta), actions
//! against a real engine, and the real binary under tmux.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use isolate_play::engine::{
    Console, ConsoleLine, EngineConfig, ErrorKind, Invocation, Level, Location, Mode, ScriptError,
    WorkerSnapshot, WorkerState,
};
use isolate_play::metrics::Percentiles;
use isolate_play::tui::action::{Action, EditAction, Pane};
use isolate_play::tui::app::App;
use isolate_play::tui::editor::Buffer;
use isolate_play::tui::state::{FileEntry, IsolateResults, OpenFile, State};
use isolate_play::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn inv(worker: usize, version: u64, outcome: Result<&str, ScriptError>) -> Invocation {
    Invocation {
        worker,
        version,
        seq: 3,
        mode: Mode::Warm,
        outcome: outcome.map(str::to_string),
        console: Console {
            lines: vec![
                ConsoleLine {
                    level: Level::Info,
                    text: format!("hello from isolate {worker}"),
                },
                ConsoleLine {
                    level: Level::Warn,
                    text: "careful".into(),
                },
            ],
            dropped: 0,
        },
        duration: Some(Duration::from_micros(42)),
        cpu: Some(Duration::from_micros(40)),
    }
}

fn snap(id: usize, heap_used: u64, recycles: u64) -> WorkerSnapshot {
    WorkerSnapshot {
        id,
        state: WorkerState::Idle,
        invocations: 3,
        errors: if recycles > 0 { 1 } else { 0 },
        recycles,
        last_duration: Duration::from_micros(42),
        heap_used,
        heap_total: heap_used * 2,
        heap_limit: 64 << 20,
        external: 0,
        external_limit: 64 << 20,
        abandoned: 0,
        cold_start: Duration::from_micros(1500),
        version: 2,
        cpu: Duration::from_micros(126),
    }
}

/// A fixed model: four isolates that ran concat.js, version 2.
fn model() -> State {
    let mut s = State::new(PathBuf::from("samples"), Mode::Warm, 4, 64 << 20);
    s.files = ["async.mjs", "concat.js", "throws.js"]
        .iter()
        .map(|n| FileEntry {
            path: PathBuf::from("samples").join(n),
            name: format!("samples/{n}"),
            ..Default::default()
        })
        .collect();
    s.selected_file = 1;
    let code =
        "// The seed\nfunction concat(a, b) {\n  return a + b;\n}\n\nconcat('Hello', 'World')";
    s.open = Some(OpenFile {
        path: PathBuf::from("samples/concat.js"),
        name: "samples/concat.js".into(),
        buffer: Buffer::new(code),
        saved_text: code.into(),
        ..Default::default()
    });
    s.version = 2;
    s.results = (0..4)
        .map(|w| IsolateResults {
            last: Some(inv(w, 2, Ok("HelloWorld"))),
            last_ok: Some((2, "HelloWorld".into())),
        })
        .collect();
    s.snapshots = (0..4).map(|w| snap(w, 450 << 10, 0)).collect();
    s.live.rate = 1234.0;
    s.live.total_invocations = 12;
    s.live.latency = Percentiles {
        count: 12,
        p50: Duration::from_micros(40),
        p90: Duration::from_micros(50),
        p99: Duration::from_micros(90),
        max: Duration::from_micros(95),
    };
    // Under load, fast calls are timed as a sample; the pane says so.
    s.live.timed_share = 1.0 / 16.0;
    s.live.cold_start = Percentiles {
        count: 4,
        p50: Duration::from_micros(1500),
        ..Default::default()
    };
    s.live.history = vec![0, 3, 10, 50, 80, 120, 100];
    s.live.system.cpu_percent = 12.0;
    s.live.system.rss_bytes = 40 << 20;
    s
}

fn draw(s: &State, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::render(f, s)).unwrap();
    format!("{}", t.backend())
}

#[test]
fn snapshot_main_layout() {
    let s = model();
    insta::assert_snapshot!("main_80x24", draw(&s, 80, 24));
    insta::assert_snapshot!("main_160x48", draw(&s, 160, 48));
}

#[test]
fn snapshot_help_overlay() {
    let mut s = model();
    s.help = true;
    insta::assert_snapshot!("help_80x24", draw(&s, 80, 24));
    insta::assert_snapshot!("help_160x48", draw(&s, 160, 48));
}

#[test]
fn snapshot_syntax_error_marks_the_line_and_keeps_stale_results() {
    let mut s = model();
    s.version = 3;
    let code =
        "// The seed\nfunction concat(a, b) {\n  return a + ;\n}\n\nconcat('Hello', 'World')";
    s.open.as_mut().unwrap().buffer = Buffer::new(code);
    s.open.as_mut().unwrap().saved_text = code.into();
    let err = ScriptError {
        kind: ErrorKind::Syntax,
        message: "SyntaxError: Unexpected token ';'".into(),
        location: Some(Location {
            file: "samples/concat.js".into(),
            line: 3,
            column: 14,
            source_line: "  return a + ;".into(),
        }),
        stack: None,
    };
    for r in &mut s.results {
        r.last = Some(Invocation {
            console: Console::default(),
            ..inv(0, 3, Err(err.clone()))
        });
    }
    let screen = draw(&s, 80, 24);
    assert!(screen.contains(" 3▶"), "marked line: {screen}");
    insta::assert_snapshot!("syntax_error_80x24", screen);
    let wide = draw(&s, 160, 48);
    assert!(wide.contains("last good result (v2, stale)"), "{wide}");
    assert!(
        wide.contains("concat.js:3:14: SyntaxError: Unexpected token"),
        "{wide}"
    );
    insta::assert_snapshot!("syntax_error_160x48", wide);
}

#[test]
fn snapshot_heap_limit() {
    let mut s = model();
    s.selected_isolate = 1;
    s.focus = Pane::Isolates;
    s.results[1].last = Some(inv(
        1,
        2,
        Err(ScriptError::new(
            ErrorKind::HeapLimit,
            "heap limit exceeded: the isolate's heap reached its 64 MiB limit; the isolate was discarded and replaced",
        )),
    ));
    s.snapshots[1] = snap(1, 60 << 20, 1);
    let screen = draw(&s, 80, 24);
    assert!(screen.contains("heap limit"), "{screen}");
    insta::assert_snapshot!("heap_limit_80x24", screen);
    insta::assert_snapshot!("heap_limit_160x48", draw(&s, 160, 48));
}

#[test]
fn snapshot_tiny_terminal() {
    let s = model();
    let screen = draw(&s, 40, 10);
    assert!(screen.contains("enlarge to 60×16"), "{screen}");
    insta::assert_snapshot!("tiny_40x10", screen);
    // Smaller still: nothing panics.
    draw(&s, 5, 2);
    draw(&s, 1, 1);
}

// ---- actions against a real engine ----

fn playground(files: &[(&str, &str)]) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    for (n, code) in files {
        std::fs::write(dir.path().join(n), code).unwrap();
    }
    let app = App::new(
        dir.path().to_path_buf(),
        EngineConfig {
            isolates: 3,
            ..Default::default()
        },
    )
    .unwrap();
    (dir, app)
}

/// Feeds engine reports to the app until `pred` holds.
fn pump(app: &mut App, pred: impl Fn(&State) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !pred(&app.state) {
        let left = deadline.saturating_duration_since(Instant::now());
        let r = app
            .engine
            .reports()
            .recv_timeout(left)
            .expect("the expected results arrive");
        app.on_report(r);
    }
}

fn all_say(s: &State, text: &str) -> bool {
    s.results.len() == s.isolates
        && s.results.iter().all(|r| {
            r.last
                .as_ref()
                .is_some_and(|i| i.version == s.version && i.outcome.as_deref() == Ok(text))
        })
}

#[test]
fn open_edit_save_rerun_and_quit_guard() {
    let (dir, mut app) = playground(&[("a.js", "'one'"), ("b.js", "'two'")]);
    pump(&mut app, |s| all_say(s, "one"));
    app.apply(Action::Focus(Pane::Editor));
    app.apply(Action::Edit(EditAction::End));
    for c in " + '!'".chars() {
        app.apply(Action::Edit(EditAction::Insert(c)));
    }
    assert!(app.state.open.as_ref().unwrap().unsaved());
    // Switching files with unsaved edits asks first; "no" keeps them.
    app.apply(Action::Focus(Pane::Files));
    app.apply(Action::Down);
    app.apply(Action::Open);
    assert!(app.state.prompt.is_some());
    app.apply(Action::Cancel);
    assert_eq!(
        app.state.open.as_ref().unwrap().buffer.text(),
        "'one' + '!'"
    );
    // Quitting asks too.
    app.apply(Action::Quit);
    assert!(app.state.prompt.is_some() && !app.state.quit);
    app.apply(Action::Cancel);
    app.apply(Action::Save);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.js")).unwrap(),
        "'one' + '!'"
    );
    pump(&mut app, |s| all_say(s, "one!"));
    app.apply(Action::Quit);
    assert!(app.state.quit);
}

#[test]
fn isolates_and_mode_change_live() {
    let (_dir, mut app) = playground(&[("c.js", "globalThis.n = (globalThis.n ?? 0) + 1; n")]);
    pump(&mut app, |s| all_say(s, "1"));
    app.apply(Action::AddIsolates(2));
    assert_eq!(app.engine.isolates(), 5);
    pump(&mut app, |s| s.isolates == 5 && s.results[4].last.is_some());
    app.apply(Action::RemoveIsolates(3));
    assert_eq!((app.engine.isolates(), app.state.results.len()), (2, 2));
    app.apply(Action::CycleMode);
    assert_eq!(
        (app.engine.mode(), app.state.mode),
        (Mode::Context, Mode::Context)
    );
    app.apply(Action::ToggleLoad);
    assert!(app.state.loading);
    app.apply(Action::ToggleLoad);
    assert!(!app.state.loading);
    app.on_tick(Instant::now());
    assert_eq!(app.state.snapshots.len(), 2);
}

#[test]
fn disk_changes_reload_or_conflict_and_files_come_and_go() {
    let (dir, mut app) = playground(&[("a.js", "'v1'")]);
    pump(&mut app, |s| all_say(s, "v1"));
    let a = dir.path().join("a.js");
    std::fs::write(&a, "'v2'").unwrap();
    app.on_files_changed(std::slice::from_ref(&a), Instant::now());
    pump(&mut app, |s| all_say(s, "v2"));
    // Unsaved edits + a disk change: reported, neither side overwritten.
    app.apply(Action::Edit(EditAction::Insert('x')));
    std::fs::write(&a, "'v3'").unwrap();
    app.on_files_changed(std::slice::from_ref(&a), Instant::now());
    let open = app.state.open.as_ref().unwrap();
    assert!(open.disk_conflict);
    assert_eq!(open.buffer.text(), "x'v2'");
    assert_eq!(std::fs::read_to_string(&a).unwrap(), "'v3'");
    app.apply(Action::Save);
    assert!(
        app.state.prompt.is_some(),
        "saving over a changed file asks"
    );
    app.apply(Action::Cancel);
    app.apply(Action::ReloadFromDisk);
    pump(&mut app, |s| all_say(s, "v3"));
    // New, binary and deleted files.
    let b = dir.path().join("b.mjs");
    std::fs::write(&b, "export default () => 1").unwrap();
    std::fs::write(dir.path().join("bin.js"), [0u8, 1, 2]).unwrap();
    app.on_files_changed(std::slice::from_ref(&b), Instant::now());
    assert_eq!(app.state.files.len(), 3);
    app.state.selected_file = 2;
    app.apply(Action::Open);
    assert!(
        app.state.message.contains("binary"),
        "{}",
        app.state.message
    );
    assert_eq!(
        app.state.open.as_ref().unwrap().path,
        a,
        "the open file stays"
    );
    std::fs::remove_file(&a).unwrap();
    app.on_files_changed(std::slice::from_ref(&a), Instant::now());
    assert_eq!(app.state.files.len(), 2);
    assert!(
        app.state.open.as_ref().unwrap().deleted,
        "the buffer is kept"
    );
    app.apply(Action::Save);
    assert_eq!(
        std::fs::read_to_string(&a).unwrap(),
        "'v3'",
        "saving writes it back"
    );
}

#[test]
fn launching_on_nothing_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = App::new(dir.path().to_path_buf(), EngineConfig::default())
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("holds no .js or .mjs files"),
        "{err}"
    );
    let err = App::new(dir.path().join("nope"), EngineConfig::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

// ---- the real binary under tmux ----

fn tmux(args: &[&str]) -> String {
    let o = std::process::Command::new("tmux")
        .args(args)
        .output()
        .expect("tmux is installed");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn screen(session: &str) -> String {
    tmux(&["capture-pane", "-t", session, "-p"])
}

fn wait_screen(session: &str, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = screen(session);
        if s.contains(what) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "never saw {what:?} on screen:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn keys(session: &str, k: &[&str]) {
    for key in k {
        tmux(&["send-keys", "-t", session, key]);
        std::thread::sleep(Duration::from_millis(150));
    }
}

#[test]
fn end_to_end_under_tmux() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    std::fs::copy(samples.join("concat.js"), root.join("concat.js")).unwrap();
    let session = format!("isolate-play-e2e-{}", std::process::id());
    let cmd = format!(
        "XDG_CONFIG_HOME={root} {bin} {root} -n 3; echo EXITED-$?; sleep 60",
        root = root.display(),
        bin = env!("CARGO_BIN_EXE_isolate-play")
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "100",
        "-y",
        "30",
        &cmd,
    ]);
    struct Kill(String);
    impl Drop for Kill {
        fn drop(&mut self) {
            tmux(&["kill-session", "-t", &self.0]);
        }
    }
    let _kill = Kill(session.clone());
    wait_screen(&session, "→ HelloWorld");
    wait_screen(&session, "3 ok · 0 failed of 3");
    // Another editor changes the file: the new result shows without a key.
    let file = root.join("concat.js");
    let code = std::fs::read_to_string(&file)
        .unwrap()
        .replace("'World'", "'Disk'");
    std::fs::write(&file, code).unwrap();
    wait_screen(&session, "→ HelloDisk");
    // Edit and save inside the TUI.
    keys(&session, &["Tab", "PageDown", "Up", "End", " + '!'", "C-s"]);
    wait_screen(&session, "→ HelloDisk!");
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("concat('Hello', 'Disk') + '!'")
    );
    keys(&session, &["Escape"]);
    keys(&session, &["q"]);
    let s = wait_screen(&session, "EXITED-0");
    assert!(
        !s.contains("Isolates ("),
        "the alternate screen is gone:\n{s}"
    );
}
