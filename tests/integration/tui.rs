//! The playground: snapshots of the screen (TestBackend + insta), actions
//! against a real engine, and the real binary under tmux.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use isolate_play::engine::{
    Console, ConsoleLine, EngineConfig, ErrorKind, Invocation, Level, Location, Mode, ScriptError,
    ThreadSnapshot, Threads, WorkerSnapshot, WorkerState, new_histogram,
};
use isolate_play::metrics::Percentiles;
use isolate_play::tui::action::{Action, EditAction, Pane, Setting};
use isolate_play::tui::app::App;
use isolate_play::tui::editor::Buffer;
use isolate_play::tui::keymap::{self, Overrides};
use isolate_play::tui::state::{
    FileEntry, IsolateResults, OpenFile, Prompt, State, ThreadsWindow, ValueEntry,
};
use isolate_play::tui::threads::ThreadsMeter;
use isolate_play::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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

/// A fixed model: four isolates that ran 02-concat.js, version 2.
fn model() -> State {
    let mut s = State::new(PathBuf::from("samples"), Mode::Warm, 4, 64 << 20);
    s.files = ["02-concat.js", "10-exception.js", "11-async.mjs"]
        .iter()
        .map(|n| FileEntry {
            path: PathBuf::from("samples").join(n),
            name: format!("samples/{n}"),
            ..Default::default()
        })
        .collect();
    s.selected_file = 0;
    let code =
        "// The seed\nfunction concat(a, b) {\n  return a + b;\n}\n\nconcat('Hello', 'World')";
    s.open = Some(OpenFile {
        path: PathBuf::from("samples/02-concat.js"),
        name: "samples/02-concat.js".into(),
        buffer: Buffer::new(code),
        saved_text: code.into(),
        ..Default::default()
    });
    s.engine.version = 2;
    s.results = (0..4)
        .map(|w| IsolateResults {
            last: Some(inv(w, 2, Ok("HelloWorld"))),
            last_ok: Some((2, "HelloWorld".into())),
            replaced: false,
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
    // Not the machine's core count: snapshots must not depend on it.
    s.threads.model = Threads::Pool(2);
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
    s.engine.version = 3;
    let code =
        "// The seed\nfunction concat(a, b) {\n  return a + ;\n}\n\nconcat('Hello', 'World')";
    s.open.as_mut().unwrap().buffer = Buffer::new(code);
    s.open.as_mut().unwrap().saved_text = code.into();
    let err = ScriptError {
        kind: ErrorKind::Syntax,
        message: "SyntaxError: Unexpected token ';'".into(),
        location: Some(Location {
            file: "samples/02-concat.js".into(),
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
        wide.contains("02-concat.js:3:14: SyntaxError: Unexpected token"),
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

/// The rows from the threads line to the status bar.
fn bottom_rows(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("threads: "))
        .expect("a threads line");
    lines[at..].join("\n")
}

fn window() -> ThreadsWindow {
    ThreadsWindow {
        busy: vec![0.98, 0.61],
        cpu: Some(1.52),
        switches: Some(1234.0),
        queue_wait: Percentiles {
            count: 1234,
            p50: Duration::from_micros(12),
            p90: Duration::from_micros(300),
            p99: Duration::from_micros(1300),
            max: Duration::from_millis(3),
        },
        cpu_per_call: Some(Duration::from_nanos(310)),
        parked: 0,
    }
}

#[test]
fn snapshot_threads_line() {
    let mut s = model();
    // Nothing measured yet: every number is "—".
    let screen = draw(&s, 160, 48);
    insta::assert_snapshot!("threads_none_160x48", bottom_rows(&screen));
    assert!(
        screen.contains("busy — · CPU — · switches — · queue wait — · CPU/call —"),
        "{screen}"
    );
    // A pool of two, measured.
    s.threads.window = Some(window());
    let screen = draw(&s, 160, 48);
    insta::assert_snapshot!("threads_pool_160x48", bottom_rows(&screen));
    assert!(
        screen.contains("last 1 s: busy 98% 61% · CPU 152%"),
        "{screen}"
    );
    // Narrow: the line wraps onto two rows, the panes keep their place.
    insta::assert_snapshot!("threads_pool_80x24", draw(&s, 80, 24));
    // Many pool threads: min / avg / max.
    s.threads.model = Threads::Pool(16);
    s.threads.window.as_mut().unwrap().busy = (0..16).map(|i| 0.5 + i as f64 / 32.0).collect();
    let screen = draw(&s, 160, 48);
    assert!(screen.contains("busy min 50% avg 73% max 97%"), "{screen}");
    // Idle: zeros are measurements, a wait or a call that did not happen is "—".
    s.threads.model = Threads::Pool(2);
    s.threads.window = Some(ThreadsWindow {
        busy: vec![0.0, 0.0],
        cpu: Some(0.0),
        switches: Some(0.0),
        ..Default::default()
    });
    let screen = draw(&s, 160, 48);
    assert!(
        screen.contains("busy 0% 0% · CPU 0% · switches 0/s · queue wait — · CPU/call —"),
        "{screen}"
    );
    // One thread per isolate: the aggregate, and F3 goes back to a pool.
    s.threads.model = Threads::PerIsolate;
    s.threads.window = Some(ThreadsWindow {
        busy: Vec::new(),
        switches: None,
        queue_wait: Percentiles::default(),
        parked: 1,
        ..window()
    });
    let screen = draw(&s, 160, 48);
    insta::assert_snapshot!("threads_per_isolate_160x48", bottom_rows(&screen));
    assert!(
        screen.contains("one per isolate (4) (F3: pool)"),
        "{screen}"
    );
}

#[test]
fn snapshot_thousand_isolates_show_a_screenful() {
    let mut s = model();
    s.engine.isolates = 1000;
    s.results = vec![IsolateResults::default(); 1000];
    s.set_snapshots(
        (0..1000)
            .map(|w| WorkerSnapshot {
                state: if w % 100 == 7 {
                    WorkerState::Idle
                } else {
                    WorkerState::Running
                },
                ..snap(w, 450 << 10, 0)
            })
            .collect(),
    );
    s.focus = Pane::Isolates;
    s.selected_isolate = 500;
    let screen = draw(&s, 80, 24);
    assert!(
        screen.contains("Isolates 495–500 of 1000 · 990 running"),
        "{screen}"
    );
    insta::assert_snapshot!("thousand_isolates_80x24", screen);
    s.selected_isolate = 3;
    let screen = draw(&s, 160, 48);
    assert!(screen.contains("Isolates 0–14 of 1000"), "{screen}");
    s.selected_isolate = 999;
    assert!(draw(&s, 160, 48).contains("Isolates 985–999 of 1000"));
    assert_eq!(view::isolates_first_row(999, 1000, 14), 986);
    assert_eq!(view::isolates_first_row(0, 0, 14), 0);
}

#[test]
fn snapshot_isolates_prompt() {
    let mut s = model();
    s.entry = Some(ValueEntry {
        setting: Setting::Isolates,
        text: "1000".into(),
        error: None,
    });
    let screen = draw(&s, 80, 24);
    assert!(
        screen.contains("Isolates (1–10000, now 4): 1000▏"),
        "{screen}"
    );
    insta::assert_snapshot!("isolates_prompt_80x24", screen);
    s.entry = Some(ValueEntry {
        setting: Setting::Isolates,
        text: "20000".into(),
        error: Some(isolate_play::tui::app::parse_isolates("20000").unwrap_err()),
    });
    let screen = draw(&s, 80, 24);
    assert!(
        screen.contains("20000 is out of range: isolates go from 1 to 10000"),
        "{screen}"
    );
    insta::assert_snapshot!("isolates_prompt_error_80x24", screen);
    // A tiny terminal still shows it.
    assert!(draw(&s, 40, 10).contains("Isolates"));
}

fn thread(id: usize, busy_ms: u64, slices: u64) -> ThreadSnapshot {
    ThreadSnapshot {
        id,
        busy_ns: busy_ms * 1_000_000,
        cpu_ns: busy_ms * 1_000_000,
        slices,
        migrations: 0,
        parked: false,
    }
}

fn worker(id: usize, cpu_us: u64, calls: u64) -> WorkerSnapshot {
    WorkerSnapshot {
        cpu: Duration::from_micros(cpu_us),
        invocations: calls,
        ..snap(id, 0, 0)
    }
}

#[test]
fn threads_meter_turns_two_readings_into_a_window() {
    let mut m = ThreadsMeter::default();
    let t0 = Instant::now();
    let empty = new_histogram();
    // The first reading is a baseline: no window yet.
    assert!(
        m.observe(
            t0,
            vec![thread(1, 100, 10), thread(0, 0, 0)],
            &empty,
            &[worker(0, 1000, 10), worker(1, 0, 0)],
            true
        )
        .is_none()
    );
    let mut wait = new_histogram();
    for us in [10, 20, 30, 40, 5000] {
        wait.record(us * 1000).unwrap();
    }
    let w = m
        .observe(
            t0 + Duration::from_secs(2),
            // Thread 2 is new: not in both readings, not counted.
            vec![thread(0, 1000, 500), thread(1, 2100, 1510), thread(2, 5, 5)],
            &wait,
            &[worker(0, 401_000, 2010), worker(1, 200_000, 2000)],
            true,
        )
        .unwrap();
    assert_eq!(w.busy, vec![0.5, 1.0]);
    assert_eq!(w.switches, Some(1000.0));
    // 600 ms of CPU over 2 s, over 4000 calls.
    assert!((w.cpu.unwrap() - 0.3).abs() < 1e-9, "{w:?}");
    assert_eq!(w.cpu_per_call, Some(Duration::from_nanos(150_000)));
    assert_eq!(w.queue_wait.count, 5);
    assert!(w.queue_wait.p99 >= Duration::from_millis(4), "{w:?}");
    // Idle: zeros, no CPU per call, no queue wait.
    let w = m
        .observe(
            t0 + Duration::from_secs(3),
            vec![thread(0, 1000, 500), thread(1, 2100, 1510), thread(2, 5, 5)],
            &empty,
            &[worker(0, 401_000, 2010), worker(1, 200_000, 2000)],
            true,
        )
        .unwrap();
    assert_eq!(w.busy, vec![0.0, 0.0, 0.0]);
    assert_eq!(
        (w.switches, w.cpu, w.cpu_per_call),
        (Some(0.0), Some(0.0), None)
    );
    assert_eq!(w.queue_wait.count, 0);
    // A model switch: the old threads are not counted; isolates replaced
    // in place count from zero.
    m.restart(3);
    assert!(
        m.observe(
            t0 + Duration::from_secs(4),
            vec![thread(0, 1500, 600), thread(3, 0, 0)],
            &empty,
            &[worker(0, 401_000, 2010)],
            false
        )
        .is_none()
    );
    let w = m
        .observe(
            t0 + Duration::from_secs(5),
            vec![thread(0, 2500, 900), thread(3, 1000, 1), thread(4, 1000, 1)],
            &empty,
            &[worker(0, 1000, 10)],
            false,
        )
        .unwrap();
    assert!(w.busy.is_empty(), "per-isolate threads are not listed");
    assert_eq!(w.switches, Some(1.0));
    assert_eq!(w.cpu_per_call, Some(Duration::from_micros(100)));
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
    s.results.len() == s.engine.isolates
        && s.results.iter().all(|r| {
            r.last
                .as_ref()
                .is_some_and(|i| i.version == s.engine.version && i.outcome.as_deref() == Ok(text))
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
    // Changing N does not run the script; the status line says what does.
    assert_eq!(app.state.message, "5 isolates · F5 runs it");
    assert!(app.state.results[4].last.is_none());
    app.apply(Action::RunOnce);
    pump(&mut app, |s| {
        s.engine.isolates == 5 && s.results[4].last.is_some()
    });
    app.apply(Action::RemoveIsolates(3));
    assert_eq!((app.engine.isolates(), app.state.results.len()), (2, 2));
    app.apply(Action::CycleMode);
    assert_eq!(
        (app.engine.mode(), app.state.engine.mode),
        (Mode::Context, Mode::Context)
    );
    app.apply(Action::ToggleLoad);
    assert!(app.state.engine.loading);
    app.apply(Action::ToggleLoad);
    assert!(!app.state.engine.loading);
    app.on_tick(Instant::now());
    assert_eq!(app.state.snapshots.len(), 2);
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[test]
fn keys_for_the_isolates_prompt_and_threads() {
    let mut s = model();
    let o = Overrides::default();
    let map = |s: &State, k: KeyEvent| keymap::map(k, s, &o);
    assert_eq!(
        map(&s, key(KeyCode::Char('n'))),
        Some(Action::Ask(Setting::Isolates))
    );
    assert_eq!(
        map(&s, key(KeyCode::F(4))),
        Some(Action::Ask(Setting::Isolates))
    );
    assert_eq!(
        map(&s, key(KeyCode::Char('t'))),
        Some(Action::SwitchThreads)
    );
    assert_eq!(map(&s, key(KeyCode::F(3))), Some(Action::SwitchThreads));
    assert_eq!(map(&s, key(KeyCode::End)), Some(Action::End));
    // In the editor letters are text; F-keys and Ctrl still work.
    s.focus = Pane::Editor;
    assert_eq!(
        map(&s, key(KeyCode::Char('n'))),
        Some(Action::Edit(EditAction::Insert('n')))
    );
    assert_eq!(
        map(&s, KeyEvent::new(KeyCode::Char('n'), KeyModifiers::CONTROL)),
        Some(Action::Ask(Setting::Isolates))
    );
    assert_eq!(map(&s, key(KeyCode::F(3))), Some(Action::SwitchThreads));
    // The prompt takes every printable key, Enter, Backspace and Esc.
    s.entry = Some(ValueEntry::default());
    assert_eq!(
        map(&s, key(KeyCode::Char('q'))),
        Some(Action::Edit(EditAction::Insert('q')))
    );
    assert_eq!(map(&s, key(KeyCode::Enter)), Some(Action::Confirm));
    assert_eq!(map(&s, key(KeyCode::Esc)), Some(Action::Cancel));
    assert_eq!(
        map(&s, key(KeyCode::Backspace)),
        Some(Action::Edit(EditAction::Backspace))
    );
    assert_eq!(
        map(&s, key(KeyCode::F(5))),
        Some(Action::NotHere("F5".into()))
    );
    // Help lists them, from the same table; the status bar hints at them.
    let help: Vec<String> = keymap::help_lines(&Overrides::default())
        .iter()
        .map(|l| {
            l.keys
                .iter()
                .map(|(_, k)| k.as_str())
                .collect::<Vec<_>>()
                .join("  ")
        })
        .collect();
    assert!(
        help.contains(&"F4 Ctrl-N  n".to_string()) && help.contains(&"F3  t".to_string()),
        "{help:?}"
    );
    s.entry = None;
    let hints = keymap::hints_line(&s);
    assert!(
        hints.contains("F4 N") && hints.contains("F3 threads"),
        "{hints}"
    );
    // Config bindings can name them.
    let mut keys = std::collections::BTreeMap::new();
    keys.insert("ctrl-x".to_string(), "isolates".to_string());
    keys.insert("alt-t".to_string(), "threads".to_string());
    let o = Overrides::parse(&keys).unwrap();
    s.focus = Pane::Files;
    assert_eq!(
        keymap::map(
            KeyEvent::new(KeyCode::Char('x'), KeyModifiers::CONTROL),
            &s,
            &o
        ),
        Some(Action::Ask(Setting::Isolates))
    );
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.apply(Action::Edit(EditAction::Insert(c)));
    }
}

#[test]
fn typed_number_of_isolates() {
    let (_dir, mut app) = playground(&[("c.js", "'hi'")]);
    pump(&mut app, |s| all_say(s, "hi"));
    // Esc cancels: nothing changes.
    app.apply(Action::Ask(Setting::Isolates));
    type_text(&mut app, "50");
    assert_eq!(app.state.entry.as_ref().unwrap().text, "50");
    app.apply(Action::Cancel);
    assert!(app.state.entry.is_none());
    assert_eq!(app.engine.isolates(), 3);
    assert_eq!(app.state.message, "isolates unchanged: 3");
    // Bad input: a clear message, the prompt stays open for a fix.
    app.apply(Action::Ask(Setting::Isolates));
    for (text, why) in [
        ("", "type a number of isolates from 1 to 10000"),
        ("abc", "\"abc\" is not a number: type 1 to 10000"),
        ("0", "0 is out of range: isolates go from 1 to 10000"),
        (
            "10001",
            "10001 is out of range: isolates go from 1 to 10000",
        ),
    ] {
        app.state.entry = Some(ValueEntry::default());
        type_text(&mut app, text);
        app.apply(Action::Confirm);
        let e = app.state.entry.as_ref().expect("still open");
        assert_eq!(e.error.as_deref(), Some(why));
        assert_eq!(app.engine.isolates(), 3);
    }
    // Typing clears the complaint; 'q' is text here, not quit.
    app.apply(Action::Edit(EditAction::Insert('q')));
    assert!(app.state.entry.as_ref().unwrap().error.is_none());
    assert!(!app.state.quit);
    // Backspace, then a good number: one Enter applies it.
    app.state.entry = Some(ValueEntry::default());
    type_text(&mut app, "123");
    app.apply(Action::Edit(EditAction::Backspace));
    type_text(&mut app, "0");
    app.apply(Action::Confirm);
    assert!(app.state.entry.is_none());
    assert_eq!(app.engine.isolates(), 120);
    assert_eq!(app.state.message, "3 → 120 isolates · F5 runs it");
    assert_eq!(app.state.results.len(), 120);
    app.apply(Action::RunOnce);
    pump(&mut app, |s| all_say(s, "hi"));
    app.on_tick(Instant::now());
    assert_eq!(app.state.snapshots.len(), 120);
    // "1,000" and "1_000" are read as 1000; down works too.
    app.apply(Action::Ask(Setting::Isolates));
    type_text(&mut app, "1_0");
    app.apply(Action::Confirm);
    assert_eq!(app.engine.isolates(), 10);
    app.apply(Action::Ask(Setting::Isolates));
    type_text(&mut app, "10");
    app.apply(Action::Confirm);
    assert_eq!(app.state.message, "already 10 isolates");
}

#[test]
fn thread_model_switches_live_under_load() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.js"),
        "let s = 0; for (let i = 0; i < 100; i++) s += i; s",
    )
    .unwrap();
    let mut app = App::new(
        dir.path().to_path_buf(),
        EngineConfig {
            isolates: 6,
            threads: Threads::Pool(2),
            ..Default::default()
        },
    )
    .unwrap();
    pump(&mut app, |s| all_say(s, "4950"));
    assert_eq!(app.state.threads.model, Threads::Pool(2));
    app.apply(Action::ToggleLoad);
    // Ticks until a window that saw calls, as the UI loop would.
    let measure = |app: &mut App| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            while let Ok(r) = app.engine.reports().try_recv() {
                app.on_report(r);
            }
            app.on_tick(Instant::now());
            if let Some(w) = &app.state.threads.window
                && w.cpu_per_call.is_some()
            {
                return w.clone();
            }
            assert!(Instant::now() < deadline, "no window with calls");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let w = measure(&mut app);
    assert_eq!(w.busy.len(), 2, "{w:?}");
    assert!(w.switches.unwrap() > 0.0 && w.cpu.unwrap() > 0.0, "{w:?}");
    let screen = draw(&app.state, 160, 48);
    assert!(
        screen.contains("threads: pool of 2 (F3: one per isolate)"),
        "{screen}"
    );

    // The status line announces the switch; the loop runs it after that frame.
    app.apply(Action::SwitchThreads);
    assert_eq!(app.engine.threads(), Threads::Pool(2));
    assert_eq!(
        app.state.message,
        "switching to one thread per isolate: starting 6 threads…"
    );
    assert!(app.has_deferred());
    app.run_deferred();
    assert_eq!(app.engine.threads(), Threads::PerIsolate);
    assert_eq!(app.state.threads.model, Threads::PerIsolate);
    assert!(
        app.state.threads.window.is_none(),
        "the window starts afresh"
    );
    assert!(
        app.state
            .message
            .starts_with("threads: one per isolate (6 threads); every isolate replaced"),
        "{}",
        app.state.message
    );
    let w = measure(&mut app);
    assert!(w.busy.is_empty() && w.cpu.unwrap() > 0.0, "{w:?}");
    let screen = draw(&app.state, 160, 48);
    assert!(
        screen.contains("threads: one per isolate (6) (F3: pool)"),
        "{screen}"
    );

    // Typed growth with a thread per isolate applies at once: its threads
    // are spawned without the UI waiting for them.
    app.apply(Action::Ask(Setting::Isolates));
    type_text(&mut app, "8");
    app.apply(Action::Confirm);
    assert_eq!(app.engine.isolates(), 8);
    assert!(
        app.state.message.starts_with("6 → 8 isolates"),
        "{}",
        app.state.message
    );
    assert!(!app.has_deferred());
    app.apply(Action::SwitchThreads);
    assert_eq!(app.state.message, "switching to a pool of 2 threads…");
    app.run_deferred();
    assert_eq!(app.engine.threads(), Threads::Pool(2));
    let w = measure(&mut app);
    assert_eq!(w.busy.len(), 2, "only the new pool's threads: {w:?}");
    app.apply(Action::ToggleLoad);
    // No call failed through either switch.
    let failed: Vec<_> = app
        .state
        .results
        .iter()
        .filter_map(|r| r.last.as_ref())
        .filter(|i| i.outcome.is_err())
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(app.state.summary.errors, 0);
}

#[test]
fn disk_changes_reload_or_conflict_and_files_come_and_go() {
    let (dir, mut app) = playground(&[("a.js", "'v1'")]);
    pump(&mut app, |s| all_say(s, "v1"));
    let a = dir.path().join("a.js");
    std::fs::write(&a, "'v2'").unwrap();
    app.on_files_changed(std::slice::from_ref(&a), Instant::now());
    assert!(app.await_walk(Duration::from_secs(10)), "the walk came");
    pump(&mut app, |s| all_say(s, "v2"));
    // Unsaved edits + a disk change: reported, neither side overwritten.
    app.apply(Action::Edit(EditAction::Insert('x')));
    std::fs::write(&a, "'v3'").unwrap();
    app.on_files_changed(std::slice::from_ref(&a), Instant::now());
    assert!(app.await_walk(Duration::from_secs(10)), "the walk came");
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
    assert!(app.await_walk(Duration::from_secs(10)), "the walk came");
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
    assert!(app.await_walk(Duration::from_secs(10)), "the walk came");
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

// ---- the real binary under tmux ----

/// tmux on a server of the session's own (`-L`, named after the session
/// given with `-t` or `-s`): other tmux users on the machine (and what
/// they kill) don't meet these sessions, and tests running in parallel
/// don't race to start one server.
pub(super) fn tmux(args: &[&str]) -> String {
    let session = args
        .windows(2)
        .find(|w| w[0] == "-t" || w[0] == "-s")
        .map_or("default", |w| w[1]);
    let socket = format!("isolate-play-{session}");
    let o = std::process::Command::new("tmux")
        .args(["-L", &socket])
        .args(args)
        .output()
        .expect("tmux is installed");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A detached tmux session, 100×30, running `cmd`; killed when dropped.
pub(super) struct TmuxSession(String);

impl TmuxSession {
    pub(super) fn start(session: &str, cmd: &str) -> TmuxSession {
        tmux(&[
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "100",
            "-y",
            "30",
            cmd,
        ]);
        TmuxSession(session.to_string())
    }
}

impl Drop for TmuxSession {
    fn drop(&mut self) {
        tmux(&["kill-session", "-t", &self.0]);
    }
}

fn screen(session: &str) -> String {
    tmux(&["capture-pane", "-t", session, "-p"])
}

pub(super) fn wait_screen(session: &str, what: &str) -> String {
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

pub(super) fn keys(session: &str, k: &[&str]) {
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
    std::fs::copy(samples.join("02-concat.js"), root.join("concat.js")).unwrap();
    let session = format!("isolate-play-e2e-{}", std::process::id());
    let cmd = format!(
        "XDG_CONFIG_HOME={root} {bin} {root} -n 3; echo EXITED-$?; sleep 60",
        root = root.display(),
        bin = env!("CARGO_BIN_EXE_isolate-play")
    );
    let _kill = TmuxSession::start(&session, &cmd);
    wait_screen(&session, "→ HelloWorld");
    wait_screen(&session, "v1: HelloWorld ×3");
    // Another editor changes the file: the new result shows without a key.
    let file = root.join("concat.js");
    let code = std::fs::read_to_string(&file)
        .unwrap()
        .replace("'World'", "'Disk'");
    std::fs::write(&file, code).unwrap();
    wait_screen(&session, "→ HelloDisk");
    // Edit and save inside the TUI.
    keys(&session, &["e", "PageDown", "Up", "End", " + '!'", "C-s"]);
    wait_screen(&session, "→ HelloDisk!");
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("concat('Hello', 'Disk') + '!'")
    );
    keys(&session, &["Escape"]);
    // A file made in a new subfolder appears; two clicks on it (as the
    // terminal reports them: SGR mouse sequences, 1-based; row 4: below
    // the lesson line, the border and concat.js) open it.
    std::fs::create_dir(root.join("lib")).unwrap();
    std::fs::write(root.join("lib/more.js"), "'more from ' + 'lib'").unwrap();
    wait_screen(&session, "lib/more.js");
    for _ in 0..2 {
        tmux(&[
            "send-keys",
            "-t",
            &session,
            "-l",
            "\x1b[<0;4;4M\x1b[<0;4;4m",
        ]);
        std::thread::sleep(Duration::from_millis(300));
    }
    wait_screen(&session, "→ more from lib");
    assert_eq!(
        tmux(&["display", "-p", "-t", &session, "#{mouse_any_flag}"]).trim(),
        "1",
        "the playground has the mouse"
    );
    keys(&session, &["q"]);
    let s = wait_screen(&session, "EXITED-0");
    assert_eq!(
        tmux(&["display", "-p", "-t", &session, "#{mouse_any_flag}"]).trim(),
        "0",
        "the mouse is the terminal's again"
    );
    assert!(
        !s.contains("Isolates ("),
        "the alternate screen is gone:\n{s}"
    );
}

// ---- the key table ----

fn press(s: &State, code: KeyCode, mods: KeyModifiers) -> Option<Action> {
    keymap::map(KeyEvent::new(code, mods), s, &Overrides::default())
}

/// Every hint on the status bar, in every place it can be shown, is a key
/// that does what the hint says there; in the editor no hint is a letter
/// (letters are text there) and the hint says how to leave.
#[test]
fn every_hint_is_true_where_it_is_shown() {
    use isolate_play::tui::keymap::Key;
    use isolate_play::tui::state::Prompt;
    let places: Vec<(&str, State)> = {
        let mut v = Vec::new();
        for p in [Pane::Files, Pane::Editor, Pane::Isolates, Pane::Results] {
            let mut s = model();
            s.focus = p;
            v.push(("pane", s));
        }
        let mut s = model();
        s.help = true;
        v.push(("help", s));
        let mut s = model();
        s.prompt = Some(Prompt::QuitUnsaved);
        v.push(("prompt", s));
        let mut s = model();
        s.entry = Some(ValueEntry::default());
        v.push(("entry", s));
        let mut s = model();
        s.filter = Some("con".into());
        v.push(("filter", s));
        let mut s = model();
        s.ladder.open = true;
        v.push(("ladder", s));
        v
    };
    for (what, s) in &places {
        let hints = keymap::hints(s);
        assert!(!hints.is_empty(), "{what}: no hints");
        for h in &hints {
            let Key::Is(code, mods) = h.key else {
                panic!("{what}: a hint for typing: {h:?}")
            };
            assert_eq!(
                press(s, code, mods).as_ref(),
                Some(&h.action),
                "{what} {:?}: {} {}",
                s.focus,
                h.keys,
                h.label
            );
            if s.focus == Pane::Editor && !s.modal() {
                assert!(
                    !matches!(code, KeyCode::Char(_)) || mods.contains(KeyModifiers::CONTROL),
                    "a letter hinted in the editor: {h:?}"
                );
            }
        }
    }
    let mut s = model();
    s.focus = Pane::Editor;
    let line = keymap::hints_line(&s);
    assert!(line.starts_with("Esc leave editor"), "{line}");
    assert!(
        !line.contains("Tab pane") && !line.contains("q quit"),
        "{line}"
    );
    assert!(line.contains("Ctrl-Q quit"), "{line}");
    s.focus = Pane::Files;
    let line = keymap::hints_line(&s);
    assert!(
        line.contains("Tab pane") && line.contains("q quit"),
        "{line}"
    );
    // The tiny screen's hint comes from the same rows.
    assert_eq!(keymap::tiny_hint(&s), "F5 run · F6 load · q quit");
    s.prompt = Some(Prompt::QuitUnsaved);
    assert_eq!(keymap::tiny_hint(&s), "y yes · n no");
}

#[test]
fn keys_through_the_table() {
    let none = KeyModifiers::NONE;
    let ctrl = KeyModifiers::CONTROL;
    let shift = KeyModifiers::SHIFT;
    let mut s = model();
    // In the editor: Tab indents, Shift-Tab dedents, Esc leaves, letters
    // are text, F-keys and Ctrl still command; Ctrl-L redraws.
    s.focus = Pane::Editor;
    let edit = |e| Some(Action::Edit(e));
    assert_eq!(press(&s, KeyCode::Tab, none), edit(EditAction::Indent));
    assert_eq!(press(&s, KeyCode::BackTab, shift), edit(EditAction::Dedent));
    assert_eq!(press(&s, KeyCode::Esc, none), Some(Action::Cancel));
    for c in ['q', 'r', 'm', ' ', 'x', '[', 'G'] {
        assert_eq!(
            press(&s, KeyCode::Char(c), none),
            edit(EditAction::Insert(c))
        );
    }
    assert_eq!(press(&s, KeyCode::Char('l'), ctrl), Some(Action::Redraw));
    assert_eq!(press(&s, KeyCode::F(9), none), Some(Action::NextFailing));
    assert_eq!(press(&s, KeyCode::F(5), none), Some(Action::RunOnce));
    assert_eq!(press(&s, KeyCode::Char('a'), KeyModifiers::ALT), None);
    // A paste is one edit in the editor, nothing in the lists.
    assert_eq!(
        keymap::paste("a\n  b".into(), &s),
        edit(EditAction::Paste("a\n  b".into()))
    );
    // Outside the editor: letters command; Tab / Shift-Tab move focus
    // through Files → Isolates → Results (the editor is no Tab stop).
    s.focus = Pane::Isolates;
    assert_eq!(keymap::paste("x".into(), &s), None);
    assert_eq!(
        press(&s, KeyCode::Char('x'), none),
        Some(Action::NextFailing)
    );
    assert_eq!(press(&s, KeyCode::Char('l'), ctrl), Some(Action::Redraw));
    assert_eq!(
        press(&s, KeyCode::Char('['), none),
        Some(Action::RemoveIsolates(10))
    );
    assert_eq!(press(&s, KeyCode::Char('G'), shift), Some(Action::End));
    assert_eq!(
        press(&s, KeyCode::Char('?'), shift),
        Some(Action::ToggleHelp)
    );
    assert_eq!(press(&s, KeyCode::Tab, none), Some(Action::FocusNext));
    assert_eq!(press(&s, KeyCode::BackTab, shift), Some(Action::FocusPrev));
    let mut p = Pane::Files;
    let mut order = vec![p];
    for _ in 0..4 {
        p = p.next();
        order.push(p);
    }
    assert_eq!(
        order,
        [
            Pane::Files,
            Pane::Isolates,
            Pane::Results,
            Pane::Files,
            Pane::Isolates
        ]
    );
    assert_eq!(Pane::Files.prev(), Pane::Results);
    assert_eq!(Pane::Results.prev(), Pane::Isolates);
    assert_eq!(Pane::Editor.next(), Pane::Isolates);
    assert_eq!(Pane::Editor.prev(), Pane::Files);
    // Help takes the keys: scrolling and closing, nothing else.
    s.help = true;
    assert_eq!(press(&s, KeyCode::Down, none), Some(Action::Down));
    assert_eq!(
        press(&s, KeyCode::Char('q'), none),
        Some(Action::ToggleHelp)
    );
    assert_eq!(
        press(&s, KeyCode::F(5), none),
        Some(Action::NotHere("F5".into()))
    );
    // A plain-letter override binds outside the editor only.
    let mut keys = std::collections::BTreeMap::new();
    keys.insert("z".to_string(), "run".to_string());
    keys.insert("f12".to_string(), "next-failing".to_string());
    let o = Overrides::parse(&keys).unwrap();
    s.help = false;
    let map = |s: &State, code| keymap::map(KeyEvent::new(code, none), s, &o);
    assert_eq!(map(&s, KeyCode::Char('z')), Some(Action::RunOnce));
    assert_eq!(map(&s, KeyCode::F(12)), Some(Action::NextFailing));
    s.focus = Pane::Editor;
    assert_eq!(map(&s, KeyCode::Char('z')), edit(EditAction::Insert('z')));
    assert_eq!(map(&s, KeyCode::F(12)), Some(Action::NextFailing));
    // Help lists the overrides.
    s.overrides = o;
    s.help = true;
    let screen = draw(&s, 160, 48);
    assert!(screen.contains("[ui.keys]"), "{screen}");
    assert!(
        screen.contains("next-failing (\"f12\" = \"next-failing\")"),
        "{screen}"
    );
    let err = Overrides::parse(
        &[("ctrl-x".to_string(), "fly".to_string())]
            .into_iter()
            .collect(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("unknown action \"fly\""), "{err}");
}

/// Presses a key through the table (overrides included) and applies
/// what it maps to; returns the action.
fn hit(app: &mut App, code: KeyCode, mods: KeyModifiers) -> Option<Action> {
    let s = &app.state;
    let a = keymap::map(KeyEvent::new(code, mods), s, &s.overrides)?;
    app.apply(a.clone());
    Some(a)
}

/// Tab does what the key table, help and the hint say: it cycles files →
/// isolates → results and never enters the editor (where Tab would
/// indent and mark the file unsaved); `e` enters the editor, Esc leaves.
#[test]
fn tab_cycles_the_panes_and_never_edits_the_file() {
    let none = KeyModifiers::NONE;
    let (_dir, mut app) = playground(&[("a.js", "'one'")]);
    pump(&mut app, |s| all_say(s, "one"));
    assert_eq!(app.state.focus, Pane::Files);
    let mut seen = Vec::new();
    for _ in 0..6 {
        assert_eq!(hit(&mut app, KeyCode::Tab, none), Some(Action::FocusNext));
        seen.push(app.state.focus);
    }
    for _ in 0..6 {
        hit(&mut app, KeyCode::BackTab, KeyModifiers::SHIFT);
        seen.push(app.state.focus);
    }
    assert!(!seen.contains(&Pane::Editor), "{seen:?}");
    assert_eq!(
        &seen[..3],
        &[Pane::Isolates, Pane::Results, Pane::Files],
        "{seen:?}"
    );
    assert!(!app.state.open.as_ref().unwrap().unsaved());
    // The hint and help say the same.
    let line = keymap::hints_line(&app.state);
    assert!(
        line.contains("Tab pane") && line.contains("e edit"),
        "{line}"
    );
    let help = keymap::markdown_table();
    assert!(help.contains("files → isolates → results"), "{help}");
    assert!(!help.contains("files → editor"), "{help}");
    // e enters the editor; there Tab indents (as help says); Esc leaves.
    hit(&mut app, KeyCode::Char('e'), none);
    assert_eq!(app.state.focus, Pane::Editor);
    assert_eq!(
        hit(&mut app, KeyCode::Tab, none),
        Some(Action::Edit(EditAction::Indent))
    );
    assert!(app.state.open.as_ref().unwrap().unsaved());
    hit(&mut app, KeyCode::Esc, none);
    assert_eq!(app.state.focus, Pane::Files);
    hit(&mut app, KeyCode::Tab, none);
    assert_eq!(app.state.focus, Pane::Isolates);
}

/// Actions with nothing to act on are not hinted, and pressed anyway
/// they say so instead of asking about unsaved edits or doing nothing:
/// the only file deleted while open, an empty folder, one isolate, no
/// failing isolate.
#[test]
fn nothing_to_act_on_is_not_hinted_and_says_so() {
    let none = KeyModifiers::NONE;
    let (dir, mut app) = playground(&[("only.js", "'one'")]);
    pump(&mut app, |s| all_say(s, "one"));
    app.apply(Action::Ask(Setting::Isolates));
    type_text(&mut app, "1");
    app.apply(Action::Confirm);
    let line = keymap::hints_line(&app.state);
    for gone in ["−isolate", "next failing"] {
        assert!(!line.contains(gone), "{gone}: {line}");
    }
    hit(&mut app, KeyCode::Char('-'), none);
    assert_eq!(app.state.message, "already 1 isolate, the fewest");
    hit(&mut app, KeyCode::Char('x'), none);
    assert!(
        app.state.message.starts_with("no isolate failed"),
        "{}",
        app.state.message
    );
    // The open file is deleted: the list is empty, the buffer kept.
    let path = dir.path().join("only.js");
    std::fs::remove_file(&path).unwrap();
    app.on_files_changed(&[path], Instant::now());
    assert!(app.await_walk(Duration::from_secs(10)), "the walk came");
    assert!(app.state.files.is_empty());
    assert!(app.state.open.as_ref().unwrap().deleted);
    let line = keymap::hints_line(&app.state);
    for gone in ["open", "filter"] {
        assert!(!line.contains(gone), "{gone}: {line}");
    }
    assert_eq!(hit(&mut app, KeyCode::Enter, none), Some(Action::Open));
    assert_eq!(app.state.prompt, None, "nothing to open, nothing to lose");
    assert!(
        app.state.message.starts_with("no file to open"),
        "{}",
        app.state.message
    );
    hit(&mut app, KeyCode::Char('/'), none);
    assert_eq!(app.state.filter, None);
    assert!(
        app.state.message.starts_with("no files to filter"),
        "{}",
        app.state.message
    );
    // An empty folder: nothing to run, open, edit or save.
    let empty = tempfile::tempdir().unwrap();
    let mut app = App::new(empty.path().to_path_buf(), EngineConfig::default()).unwrap();
    let line = keymap::hints_line(&app.state);
    for gone in ["F5 run", "F6 load", "open", "edit", "save", "filter"] {
        assert!(!line.contains(gone), "{gone}: {line}");
    }
    assert!(
        line.contains("q quit") && line.contains("F1 help"),
        "{line}"
    );
    for (code, mods, says) in [
        (KeyCode::Char('e'), none, "no file to edit"),
        (KeyCode::Char('s'), KeyModifiers::CONTROL, "nothing to save"),
        (
            KeyCode::Char('o'),
            KeyModifiers::CONTROL,
            "nothing to reload",
        ),
        (KeyCode::Enter, none, "no file to open"),
        (KeyCode::F(5), none, "nothing to run"),
    ] {
        app.state.message.clear();
        hit(&mut app, code, mods);
        assert!(
            app.state.message.starts_with(says),
            "{code:?}: {}",
            app.state.message
        );
        assert_eq!(app.state.focus, Pane::Files);
    }
}

/// A key the user bound to something else is no longer listed for its
/// default action, in help or hints (the README keeps the defaults):
/// with `"ctrl-l" = "load"` and `"f5" = "mode"` help does not say Ctrl-L
/// redraws, nor the hint that F5 runs.
#[test]
fn overridden_keys_are_shown_once_as_the_users() {
    let mut keys = std::collections::BTreeMap::new();
    keys.insert("ctrl-l".to_string(), "load".to_string());
    keys.insert("f5".to_string(), "mode".to_string());
    keys.insert("r".to_string(), "threads".to_string());
    keys.insert("shift-tab".to_string(), "help".to_string());
    let o = Overrides::parse(&keys).unwrap();
    let mut s = model();
    s.overrides = o.clone();
    // Matching: the user's keys win where they are active.
    let ctrl = KeyModifiers::CONTROL;
    let map = |s: &State, code, mods| keymap::map(KeyEvent::new(code, mods), s, &o);
    assert_eq!(map(&s, KeyCode::Char('l'), ctrl), Some(Action::ToggleLoad));
    assert_eq!(
        map(&s, KeyCode::F(5), KeyModifiers::NONE),
        Some(Action::CycleMode)
    );
    assert_eq!(
        map(&s, KeyCode::BackTab, KeyModifiers::SHIFT),
        Some(Action::ToggleHelp)
    );
    assert_eq!(
        map(&s, KeyCode::Tab, KeyModifiers::NONE),
        Some(Action::FocusNext)
    );
    // Help: each key once, the user's meaning.
    let lines = keymap::help_lines(&s.overrides);
    let line = |help: &str| {
        lines
            .iter()
            .find(|l| l.help.starts_with(help))
            .unwrap()
            .clone()
    };
    let redraw = line("redraw");
    assert!(redraw.keys.is_empty(), "{redraw:?}");
    assert_eq!(
        redraw.taken,
        vec![("Ctrl-L".to_string(), "load".to_string())]
    );
    let run = line("run once");
    let run_keys: Vec<&str> = run.keys.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(run_keys, ["Ctrl-R"], "{run:?}");
    let pane = line("next / previous pane");
    assert_eq!(pane.keys, vec![(keymap::Context::Panes, "Tab".to_string())]);
    s.help = true;
    let screen = draw(&s, 160, 48);
    assert!(!screen.contains("Ctrl-L            redraw"), "{screen}");
    assert!(
        screen.contains("redraw the screen (Ctrl-L is your load)"),
        "{screen}"
    );
    assert!(!screen.contains("F5 Ctrl-R"), "{screen}");
    assert!(screen.contains("load (\"ctrl-l\" = \"load\")"), "{screen}");
    // Hints: F5 no longer runs, so the run hint names Ctrl-R.
    s.help = false;
    let hints = keymap::hints_line(&s);
    assert!(
        hints.contains("Ctrl-R run") && !hints.contains("F5 run"),
        "{hints}"
    );
    // Every hint is still what its key does.
    for h in keymap::hints(&s) {
        let keymap::Key::Is(code, mods) = h.key else {
            unreachable!()
        };
        assert_eq!(map(&s, code, mods).as_ref(), Some(&h.action), "{h:?}");
    }
    // In the editor the plain-letter override does not apply: r is text,
    // so the run row keeps F5's place... taken by the user: Ctrl-R.
    s.focus = Pane::Editor;
    let hints = keymap::hints_line(&s);
    assert!(hints.contains("Ctrl-R run"), "{hints}");
    // The README's table is the defaults'.
    assert!(keymap::markdown_table().contains("| `Ctrl-L` | anywhere | redraw the screen |"));
}

/// While a prompt is open, every message and hint names keys that work
/// in it, and a key (or click) that does nothing there says so instead of
/// being swallowed: the "changed on disk" prompt after Ctrl-S, the value
/// prompt, help.
#[test]
fn prompts_name_their_keys_and_answer_the_others() {
    let none = KeyModifiers::NONE;
    let ctrl = KeyModifiers::CONTROL;
    let (dir, mut app) = playground(&[("a.js", "'one'")]);
    pump(&mut app, |s| all_say(s, "one"));
    let path = dir.path().join("a.js");
    hit(&mut app, KeyCode::Char('e'), none);
    hit(&mut app, KeyCode::End, none);
    hit(&mut app, KeyCode::Char('!'), none);
    std::fs::write(&path, "'disk'").unwrap();
    app.on_files_changed(std::slice::from_ref(&path), Instant::now());
    assert!(app.await_walk(Duration::from_secs(10)), "the walk came");
    // Outside a prompt the message names the keys that do it here.
    assert!(
        app.state.message.ends_with(
            "a.js changed on disk, your edits kept · Ctrl-S overwrites it · Ctrl-O loads it"
        ),
        "{}",
        app.state.message
    );
    hit(&mut app, KeyCode::Char('s'), ctrl);
    assert_eq!(app.state.prompt, Some(Prompt::OverwriteDisk));
    assert_eq!(app.state.message, "", "the prompt names its own keys");
    assert_eq!(keymap::hints_line(&app.state), "y yes  n no");
    // Keys that do nothing here say so and change nothing.
    for (code, mods, label) in [
        (KeyCode::Char('s'), ctrl, "Ctrl-S"),
        (KeyCode::Char('o'), ctrl, "Ctrl-O"),
        (KeyCode::F(1), none, "F1"),
        (KeyCode::Char('x'), none, "x"),
    ] {
        assert_eq!(
            hit(&mut app, code, mods),
            Some(Action::NotHere(label.into()))
        );
        assert_eq!(
            app.state.message,
            format!("{label} does nothing until you answer")
        );
        assert_eq!(app.state.prompt, Some(Prompt::OverwriteDisk));
        assert!(!app.state.help);
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "'disk'");
    let screen = app.state.screen;
    let m = isolate_play::tui::mouse::map(
        click(5, 5),
        &app.state,
        ratatui::layout::Rect::new(0, 0, screen.0.max(160), screen.1.max(48)),
    );
    assert_eq!(m, Some(Action::NotHere("a click".into())));
    // The answers stay on the status bar beside the message, at any size.
    for (w, h) in [(160, 48), (80, 24), (60, 16)] {
        let screen = draw(&app.state, w, h);
        let bar = screen.lines().last().unwrap();
        assert!(bar.contains("│ y yes  n no"), "{w}x{h}:\n{screen}");
        if w == 160 {
            assert!(bar.contains("x does nothing until you answer"), "{screen}");
        }
    }
    // A change on disk while the prompt is open names no key that does
    // nothing in it.
    std::fs::write(&path, "'disk again'").unwrap();
    app.on_files_changed(std::slice::from_ref(&path), Instant::now());
    assert!(app.await_walk(Duration::from_secs(10)), "the walk came");
    assert!(
        !app.state.message.contains("Ctrl-"),
        "{}",
        app.state.message
    );
    hit(&mut app, KeyCode::Char('n'), none);
    assert_eq!(
        app.state.message,
        "kept your edits, not saved · Ctrl-O loads the disk version"
    );
    hit(&mut app, KeyCode::Char('o'), ctrl);
    assert_eq!(
        app.state.open.as_ref().unwrap().buffer.text(),
        "'disk again'"
    );
    // The value prompt and help answer keys that do nothing there.
    app.apply(Action::Ask(Setting::Timeout));
    assert_eq!(app.state.message, "");
    hit(&mut app, KeyCode::F(1), none);
    assert_eq!(app.state.message, "F1 does nothing in this prompt");
    assert!(app.state.entry.is_some());
    let screen = draw(&app.state, 100, 30);
    assert!(screen.contains("Enter applies · Esc cancels"), "{screen}");
    hit(&mut app, KeyCode::Esc, none);
    hit(&mut app, KeyCode::Esc, none);
    hit(&mut app, KeyCode::F(1), none);
    assert!(app.state.help);
    hit(&mut app, KeyCode::Char('x'), none);
    assert_eq!(app.state.message, "x does nothing in help");
    // Help leaves the status bar in sight, where that is said.
    let screen = draw(&app.state, 80, 24);
    let last = screen.lines().last().unwrap();
    assert!(
        last.contains("x does nothing in help │ Esc closes help"),
        "{screen}"
    );
}

/// Messages count in words that agree with the number (`1 isolate`) and
/// name files relative to the root, also when the root is one file given
/// by its absolute path, and in errors about the file.
#[test]
fn messages_use_plurals_and_paths_relative_to_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("concat.js");
    std::fs::write(&file, "'Hello' + 'World'").unwrap();
    let mut app = App::new(
        file.clone(),
        EngineConfig {
            isolates: 2,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(app.state.files[0].name, "concat.js");
    assert_eq!(app.state.message, "opened concat.js");
    pump(&mut app, |s| all_say(s, "HelloWorld"));
    let tmp = dir.path().display().to_string();
    let screen = draw(&app.state, 160, 48);
    assert!(!screen.contains(&tmp), "{screen}");
    app.apply(Action::RemoveIsolates(1));
    assert_eq!(app.state.message, "1 isolate · F5 runs it");
    app.apply(Action::RunOnce);
    assert_eq!(app.state.message, "ran once on 1 isolate");
    app.apply(Action::Ask(Setting::Isolates));
    type_text(&mut app, "1");
    app.apply(Action::Confirm);
    assert_eq!(app.state.message, "already 1 isolate");
    // A file that cannot be loaded is named as the list names it.
    std::fs::write(&file, b"'\xff'").unwrap();
    app.apply(Action::ReloadFromDisk);
    assert_eq!(app.state.message, "concat.js is not UTF-8 text");
    // Nested files are named from the root, in messages and errors.
    let (dir, mut app) = playground(&[("a.js", "'a'")]);
    std::fs::create_dir(dir.path().join("lib")).unwrap();
    std::fs::write(dir.path().join("lib/bad.js"), "throw new Error('no')").unwrap();
    app.on_files_changed(&[dir.path().join("lib/bad.js")], Instant::now());
    assert!(app.await_walk(Duration::from_secs(10)), "the walk came");
    let i = app.state.files.iter().position(|f| f.name == "lib/bad.js");
    app.state.selected_file = i.expect("lib/bad.js listed by its relative name");
    app.apply(Action::Open);
    assert_eq!(app.state.message, "opened lib/bad.js");
    pump(&mut app, |s| {
        s.results.iter().all(|r| {
            r.last
                .as_ref()
                .is_some_and(|l| l.version == s.engine.version)
        })
    });
    let err = app
        .state
        .error_marker()
        .expect("the error points into the open file");
    assert_eq!(err.error.location.as_ref().unwrap().file, "lib/bad.js");
}

/// The editor's keys do what help says: Tab inserts indentation at the
/// cursor (help says so), Ctrl-Home / Ctrl-End go to the ends of the file;
/// a click puts the cursor on the cell clicked (wide characters, tabs,
/// a scrolled view) and the text does not move under the mouse.
#[test]
fn editor_keys_and_clicks_land_where_help_and_the_screen_say() {
    let none = KeyModifiers::NONE;
    let ctrl = KeyModifiers::CONTROL;
    let mut code: Vec<String> = vec!["'日本語 😀 é';".into(), "\tconst x = 1;".into()];
    code.extend((0..80).map(|i| format!("const v{i} = {i};")));
    let (_dir, mut app) = playground(&[("a.js", &code.join("\n"))]);
    app.state.screen = (160, 48);
    hit(&mut app, KeyCode::Char('e'), none);
    let help = keymap::markdown_table();
    assert!(
        help.contains("| `Tab` | in the editor | insert indentation at the cursor"),
        "{help}"
    );
    assert!(
        help.contains("| `Ctrl-Home` `Ctrl-End` | in the editor | start / end of the file |"),
        "{help}"
    );
    hit(&mut app, KeyCode::End, ctrl);
    assert_eq!(
        app.state.open.as_ref().unwrap().buffer.cursor,
        (81, "const v79 = 79;".len())
    );
    hit(&mut app, KeyCode::Home, ctrl);
    assert_eq!(app.state.open.as_ref().unwrap().buffer.cursor, (0, 0));
    // Clicks, hit-tested on the frame the person sees.
    let screen = ratatui::layout::Rect::new(0, 0, 160, 48);
    let areas = view::layout(screen, &app.state).unwrap();
    let text = areas.editor.x + 1 + 3; // border, gutter "NN", edge
    let row0 = areas.editor.y + 1;
    let click_at = |app: &mut App, col: u16, row: u16| {
        let a = isolate_play::tui::mouse::map(click(col, row), &app.state, screen).unwrap();
        app.apply(a.clone());
        a
    };
    // 本 is drawn in cells 3–4 of the text (after the quote and 日).
    app.apply(Action::Focus(Pane::Files));
    assert_eq!(
        click_at(&mut app, text + 4, row0),
        Action::ClickEditor(0, 4)
    );
    assert_eq!(app.state.focus, Pane::Editor);
    let b = &app.state.open.as_ref().unwrap().buffer;
    assert_eq!((b.cursor, b.cursor_col()), ((0, 2), 3));
    // Inside the tab's four cells: before it; right after: the c.
    click_at(&mut app, text + 2, row0 + 1);
    assert_eq!(app.state.open.as_ref().unwrap().buffer.cursor, (1, 0));
    click_at(&mut app, text + 4, row0 + 1);
    assert_eq!(app.state.open.as_ref().unwrap().buffer.cursor, (1, 1));
    // Scrolled to the end: a click on a row shown moves the cursor there
    // and the view stays (the same cell shows the same line).
    hit(&mut app, KeyCode::End, ctrl);
    let (rows, _) = view::editor_text_size(areas.editor, &app.state);
    let first = app
        .state
        .open
        .as_ref()
        .unwrap()
        .buffer
        .rows_shown(rows)
        .start;
    assert!(first > 0);
    click_at(&mut app, text + 6, row0 + 2);
    let b = &app.state.open.as_ref().unwrap().buffer;
    assert_eq!(b.cursor, (first + 2, 6));
    assert_eq!(
        b.rows_shown(rows).start,
        first,
        "the text stayed under the mouse"
    );
    let drawn = draw(&app.state, 160, 48);
    let row = drawn.lines().nth(usize::from(row0) + 2).unwrap();
    assert!(row.contains(&format!("const v{}", first + 2 - 2)), "{row}");
}

/// A file rewritten 100 times a second by a writer that truncates it and
/// writes it a moment later (as `echo … > file` does, slowed down) is
/// never loaded half-written while the storm goes on, yet storm versions
/// still show; once the writes stop, a file truly emptied loads as empty.
/// Driven like the loop drives it: the real watcher, the debounce, and
/// the confirming reads when `wake_at` says.
#[test]
fn write_storms_never_load_a_half_written_file() {
    use isolate_play::watch::{Debounce, watch};
    let (dir, mut app) = playground(&[("storm.js", "'v0'")]);
    let path = dir.path().join("storm.js");
    let (tx, rx) = flume::unbounded();
    let _watch = watch(dir.path(), tx).unwrap();
    let quiet = Duration::from_millis(50);
    let mut debounce = Debounce::new(quiet, Duration::from_millis(150));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // The longest the file stayed truncated: on a loaded machine the
    // writer may stall, and a file left empty for STABLE_AFTER (a storm's
    // confirming read) or the quiet period is, by the rule, taken as it is.
    let longest_gap = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let writer = {
        let (path, stop, gap) = (path.clone(), stop.clone(), longest_gap.clone());
        std::thread::spawn(move || {
            use std::io::Write;
            let mut i = 1;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut f = std::fs::File::create(&path).unwrap(); // truncates
                let t = Instant::now();
                std::thread::sleep(Duration::from_millis(2));
                f.write_all(format!("'v{i}'").as_bytes()).unwrap();
                gap.fetch_max(
                    t.elapsed().as_micros() as u64,
                    std::sync::atomic::Ordering::Relaxed,
                );
                drop(f);
                i += 1;
                std::thread::sleep(Duration::from_millis(8));
            }
        })
    };
    let mut loaded = std::collections::BTreeSet::new();
    let mut half_written = Vec::new();
    let mut step = |app: &mut App, debounce: &mut Debounce, until: Instant| {
        while Instant::now() < until {
            let next = [debounce.deadline(), app.wake_at()]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(until)
                .min(until);
            if let Ok(paths) = rx.recv_deadline(next) {
                debounce.push(paths, Instant::now());
            }
            // As the loop does: what waits counts before a release.
            for paths in rx.try_iter() {
                debounce.push(paths, Instant::now());
            }
            if let Some(b) = debounce.take_due(Instant::now()) {
                app.on_batch(&b);
            }
            app.on_wake(Instant::now());
            let text = app.state.open.as_ref().unwrap().buffer.text();
            if !(text.starts_with("'v") && text.ends_with('\'')) {
                half_written.push(text.clone());
            }
            loaded.insert(text);
        }
    };
    step(
        &mut app,
        &mut debounce,
        Instant::now() + Duration::from_secs(3),
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    let gap = Duration::from_micros(longest_gap.load(std::sync::atomic::Ordering::Relaxed));
    assert!(
        half_written.is_empty() || gap >= isolate_play::watch::STABLE_AFTER,
        "a half-written file was loaded: {half_written:?} (the writer's longest gap {gap:?})"
    );
    assert!(loaded.len() > 2, "the storm showed progress: {loaded:?}");
    // Quiet now: a file truly emptied loads, as empty.
    std::fs::write(&path, "").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.state.open.as_ref().unwrap().buffer.text() != "" {
        assert!(Instant::now() < deadline, "the emptied file never loaded");
        if let Ok(paths) = rx.recv_timeout(Duration::from_millis(10)) {
            debounce.push(paths, Instant::now());
        }
        if let Some(b) = debounce.take_due(Instant::now()) {
            assert!(b.settled);
            app.on_batch(&b);
        }
    }
}

/// The file walk after a change runs off the UI loop: on a tree of
/// 20,000 entries (the walk's bound) the change returns at once, keys are
/// applied while the walk is still running, and its result arrives as an
/// event that updates the list.
#[test]
fn keys_are_answered_while_the_file_walk_runs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for d in 0..100 {
        let sub = root.join(format!("d{d:03}"));
        std::fs::create_dir(&sub).unwrap();
        for f in 0..200 {
            std::fs::write(sub.join(format!("f{f}.txt")), "").unwrap();
        }
    }
    std::fs::write(root.join("a.js"), "'a'").unwrap();
    let mut app = App::new(
        root.to_path_buf(),
        EngineConfig {
            isolates: 1,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(app.state.files.len(), 1);
    std::fs::write(root.join("b.js"), "'b'").unwrap();
    let t0 = Instant::now();
    app.on_files_changed(&[root.join("b.js")], Instant::now());
    let returned = t0.elapsed();
    // Keys while the walk runs: each is applied at once.
    let mut applied = Vec::new();
    for _ in 0..5 {
        app.apply(Action::Focus(Pane::Isolates));
        app.apply(Action::Focus(Pane::Files));
        applied.push(Instant::now());
    }
    let walked = app
        .walker
        .results
        .recv_timeout(Duration::from_secs(30))
        .expect("the walk's result arrives");
    let took = walked.finished - walked.started;
    assert!(
        applied[0] < walked.finished,
        "a key was applied while the walk ran (walk {took:?}, change returned in {returned:?})"
    );
    assert!(
        returned < took,
        "the change waited for the walk: {returned:?} vs {took:?}"
    );
    assert!(
        walked.scan.cut.is_some(),
        "the bound held: {:?}",
        walked.scan.cut
    );
    app.on_walked(walked);
    assert!(app.state.files.iter().any(|f| f.name == "b.js"));
}

/// The README's key table is the one the program uses.
#[test]
fn readme_key_table_is_generated_from_the_key_table() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let table = keymap::markdown_table();
    assert!(
        readme.contains(&table),
        "README.md's key table differs from keymap::markdown_table():\n{table}"
    );
}

#[test]
fn settings_changes_do_not_run_and_say_what_does() {
    let (_dir, mut app) = playground(&[("c.js", "'hi'")]);
    pump(&mut app, |s| all_say(s, "hi"));
    std::thread::sleep(Duration::from_millis(100));
    while app.engine.reports().try_recv().is_ok() {}
    app.apply(Action::CycleMode);
    assert_eq!(app.state.message, "mode: context · F5 runs it");
    app.apply(Action::RemoveIsolates(10));
    assert_eq!(app.state.engine.isolates, 1);
    app.apply(Action::RemoveIsolates(1));
    assert_eq!(app.state.message, "already 1 isolate, the fewest");
    std::thread::sleep(Duration::from_millis(300));
    let ran = app
        .engine
        .reports()
        .try_iter()
        .filter(|r| matches!(r, isolate_play::engine::Report::Invocation(_)))
        .count();
    assert_eq!(ran, 0, "nothing ran");
    // The next failing isolate: none yet, then the one that failed.
    app.apply(Action::NextFailing);
    assert_eq!(
        app.state.message,
        format!("no isolate failed on v{}", app.state.engine.version)
    );
    app.apply(Action::AddIsolates(2));
    app.state.results[2].last = Some(Invocation {
        // A result of what runs now: this version, in context mode.
        mode: app.state.engine.mode,
        ..inv(
            2,
            app.state.engine.version,
            Err(ScriptError::new(ErrorKind::Exception, "Error: boom")),
        )
    });
    app.apply(Action::NextFailing);
    assert_eq!(app.state.selected_isolate, 2);
    assert!(
        app.state.message.starts_with("isolate 2: "),
        "{}",
        app.state.message
    );
}

#[test]
fn nothing_to_run_without_a_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bin.js"), [0u8, 1, 2]).unwrap();
    let mut app = App::new(dir.path().to_path_buf(), EngineConfig::default()).unwrap();
    assert!(app.state.open.is_none());
    app.apply(Action::RunOnce);
    assert_eq!(
        app.state.message,
        "nothing to run: open a file first (Enter on a file)"
    );
    app.apply(Action::ToggleLoad);
    assert!(!app.state.engine.loading);
    assert!(app.state.message.starts_with("nothing to run"));
}

/// A file that is a symlink: a change to its target (in another directory)
/// is seen and reloaded, and Ctrl-S never overwrites a target that changed
/// unseen.
#[test]
fn symlinked_file_follows_its_target() {
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("real.js");
    std::fs::write(&target, "'t1'").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("link.js")).unwrap();
    let mut app = App::new(
        dir.path().to_path_buf(),
        EngineConfig {
            isolates: 2,
            ..Default::default()
        },
    )
    .unwrap();
    pump(&mut app, |s| all_say(s, "t1"));
    let (tx, rx) = flume::unbounded();
    let mut watch = isolate_play::watch::watch(dir.path(), tx).unwrap();
    watch.follow_links(app.state.files.iter().map(|f| f.path.as_path()));
    std::fs::write(&target, "'t2'").unwrap();
    let paths = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the target's change is reported");
    app.on_files_changed(&paths, Instant::now());
    assert!(app.await_walk(Duration::from_secs(10)), "the walk came");
    pump(&mut app, |s| all_say(s, "t2"));
    // Changed again, and this time nobody told the app: Save asks first.
    app.apply(Action::Focus(Pane::Editor));
    app.apply(Action::Edit(EditAction::Insert('x')));
    std::fs::write(&target, "'t3'").unwrap();
    app.apply(Action::Save);
    assert!(
        app.state.prompt.is_some(),
        "saving over a changed target asks"
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "'t3'");
    app.apply(Action::Confirm);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "x't2'");
    assert!(
        std::fs::symlink_metadata(dir.path().join("link.js"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays a link"
    );
}

/// A yes/no question is never cut: the whole line, (y/n) included.
#[test]
fn prompts_show_the_whole_question() {
    use isolate_play::tui::state::Prompt;
    let mut s = model();
    for p in [
        Prompt::OverwriteDisk,
        Prompt::QuitUnsaved,
        Prompt::SwitchUnsaved(0),
    ] {
        s.prompt = Some(p);
        for (w, h) in [(160, 48), (80, 24), (60, 16)] {
            let screen = draw(&s, w, h);
            assert!(screen.contains("(y/n)"), "{w}x{h}:\n{screen}");
        }
    }
}

/// A catchable signal ends the playground with the terminal restored:
/// echo back on, the alternate screen left, the signal named, 128 + n.
#[test]
fn signals_restore_the_terminal_under_tmux() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    std::fs::copy(samples.join("02-concat.js"), root.join("concat.js")).unwrap();
    for (sig, code) in [("TERM", 143), ("HUP", 129), ("QUIT", 131), ("INT", 130)] {
        let session = format!("isolate-play-sig-{sig}-{}", std::process::id());
        let pidfile = root.join(format!("{sig}.pid"));
        let cmd = format!(
            "sh -c 'echo $$ > {pid}; exec env XDG_CONFIG_HOME={root} {bin} {root} -n 2'; echo EXITED-$?; stty -a | grep -o -- ' -*echo '; sleep 60",
            pid = pidfile.display(),
            root = root.display(),
            bin = env!("CARGO_BIN_EXE_isolate-play")
        );
        let _kill = TmuxSession::start(&session, &cmd);
        wait_screen(&session, "→ HelloWorld");
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        let ok = std::process::Command::new("kill")
            .args([&format!("-{sig}"), pid.trim()])
            .status()
            .unwrap();
        assert!(ok.success());
        wait_screen(&session, &format!("EXITED-{code}"));
        // stty runs after the exit: its line is the last to appear.
        std::thread::sleep(Duration::from_millis(500));
        let s = screen(&session);
        assert!(s.contains(&format!("stopped by SIG{sig}")), "{s}");
        assert!(
            s.lines().any(|l| l.trim() == "echo") && !s.contains("-echo"),
            "echo is on:\n{s}"
        );
        assert!(
            !s.contains("Isolates ("),
            "the alternate screen is gone:\n{s}"
        );
        assert_eq!(
            tmux(&["display", "-p", "-t", &session, "#{alternate_on}"]).trim(),
            "0"
        );
        // The mouse is the terminal's again.
        assert_eq!(
            tmux(&["display", "-p", "-t", &session, "#{mouse_any_flag}"]).trim(),
            "0"
        );
    }
}

/// Job control: SIGTSTP (a shell's Ctrl-Z, `kill -TSTP`) gives the
/// terminal back before the process stops (echo on, the main screen, the
/// cursor shown, the mouse the terminal's); `fg` takes it again: raw mode
/// (keys reach the playground, not echoed), the alternate screen, the
/// mouse, and every cell redrawn.
#[test]
fn job_control_stop_restores_and_fg_takes_the_terminal_again() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    std::fs::copy(samples.join("02-concat.js"), root.join("concat.js")).unwrap();
    let session = format!("isolate-play-tstp-{}", std::process::id());
    let _kill = TmuxSession::start(&session, "bash --norc --noprofile -i");
    let pidfile = root.join("pid");
    let line = format!(
        "PS1='$ '; sh -c 'echo $$ > {pid}; exec env XDG_CONFIG_HOME={root} {bin} {root} -n 2'; echo EXITED-$?",
        pid = pidfile.display(),
        root = root.display(),
        bin = env!("CARGO_BIN_EXE_isolate-play")
    );
    tmux(&["send-keys", "-t", &session, "-l", &line]);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    wait_screen(&session, "→ HelloWorld");
    let flags = || {
        tmux(&[
            "display",
            "-p",
            "-t",
            &session,
            "#{alternate_on} #{cursor_flag} #{mouse_any_flag}",
        ])
    };
    // The flags follow the screen's text by a write or two: poll them.
    let wait_flags = |want: &str, what: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = flags();
            if got.trim() == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: flags {got:?}, want {want:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_flags("1 0 1", "the playground has the terminal");
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    for round in 0..2 {
        let ok = std::process::Command::new("kill")
            .args(["-TSTP", pid.trim()])
            .status()
            .unwrap();
        assert!(ok.success());
        wait_screen(&session, "Stopped");
        wait_flags("0 1 0", &format!("round {round}: given back while stopped"));
        tmux(&[
            "send-keys",
            "-t",
            &session,
            "-l",
            "stty -a | grep -o -- ' -*echo '; echo STTY-DONE",
        ]);
        tmux(&["send-keys", "-t", &session, "Enter"]);
        let s = wait_screen(&session, "\nSTTY-DONE");
        assert!(
            s.lines().any(|l| l.trim() == "echo") && !s.contains("-echo "),
            "round {round}: echo is on while stopped:\n{s}"
        );
        tmux(&["send-keys", "-t", &session, "clear; fg", "Enter"]);
        let s = wait_screen(&session, "Isolates (");
        wait_flags("1 0 1", &format!("round {round}: taken again after fg"));
        // Whole: the shell's lines are gone, the panes' borders are there.
        std::thread::sleep(Duration::from_millis(300));
        let s2 = screen(&session);
        assert!(
            !s2.contains("STTY-DONE") && !s2.contains("$ "),
            "round {round}:\n{s}\n{s2}"
        );
        // The file's lesson line, then the panes' top border.
        let mut top = s2.lines();
        assert!(
            top.next().is_some_and(|l| l.starts_with(" ▌ "))
                && top.next().is_some_and(|l| l.starts_with("┌Files")),
            "{s2}"
        );
        // Keys reach the playground, unechoed: F8 adds an isolate.
        keys(&session, &["F8"]);
        wait_screen(&session, &format!("{} isolates ·", 3 + round));
    }
    // A stopped job's list is abandoned by the shell: ask for `fg`'s status.
    keys(&session, &["q"]);
    tmux(&["send-keys", "-t", &session, "-l", "echo EXITED-$?"]);
    tmux(&["send-keys", "-t", &session, "Enter"]);
    let s = wait_screen(&session, "EXITED-0");
    assert!(!s.contains("Isolates ("), "{s}");
    wait_flags("0 1 0", "after quitting");
}

// ---- files in folders, the filter, the mouse, value prompts ----

/// The model with a nested file list under `samples`.
fn nested_model() -> State {
    let mut s = model();
    s.files = [
        "02-concat.js",
        "11-async.mjs",
        "lib/deep/inner.mjs",
        "lib/util.js",
        "tools/a-rather-long-file-name-for-the-pane.js",
        "zeta.js",
    ]
    .iter()
    .map(|n| FileEntry {
        path: PathBuf::from("samples").join(n),
        name: format!("samples/{n}"),
        failing: n.contains("util"),
        ..Default::default()
    })
    .collect();
    s.selected_file = 0;
    s
}

fn buffer(s: &State, w: u16, h: u16) -> ratatui::buffer::Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::render(f, s)).unwrap();
    t.backend().buffer().clone()
}

/// The foreground colour of the first cell of `needle` on screen.
fn fg_of(b: &ratatui::buffer::Buffer, needle: &str) -> Option<ratatui::style::Color> {
    let w = b.area.width as usize;
    for y in 0..b.area.height as usize {
        let row: Vec<&str> = (0..w).map(|x| b[(x as u16, y as u16)].symbol()).collect();
        let text: String = row.concat();
        if let Some(byte) = text.find(needle) {
            // Cells hold one symbol each (ASCII needles).
            let x = text[..byte].chars().count();
            return Some(b[(x as u16, y as u16)].fg);
        }
    }
    None
}

#[test]
fn snapshot_files_nested_and_filtered() {
    use ratatui::style::Color;
    let mut s = nested_model();
    let screen = draw(&s, 160, 48);
    assert!(screen.contains("lib/util.js"), "{screen}");
    assert!(screen.contains("lib/deep/inner.mjs"), "{screen}");
    insta::assert_snapshot!("files_nested_160x48", screen);
    // A failing nested file is red.
    assert_eq!(fg_of(&buffer(&s, 160, 48), "lib/util.js"), Some(Color::Red));
    // The filter: its text on the first row, the matches below, counted.
    s.filter = Some("li".into());
    s.refilter();
    let screen = draw(&s, 80, 24);
    assert!(screen.contains("/li▏"), "{screen}");
    assert!(screen.contains("Files 2 of 6"), "{screen}");
    assert!(!screen.contains("11-async.mjs"), "{screen}");
    insta::assert_snapshot!("files_filter_80x24", screen);
    // The selection moved to the first match; Home/End stay among them.
    assert_eq!(s.selected_file, 2);
    s.move_file(isize::MAX);
    assert_eq!(s.selected_file, 3);
    s.move_file(isize::MIN);
    assert_eq!(s.selected_file, 2);
    // Nothing matches: said, and the selection stays.
    s.filter = Some("nope".into());
    s.refilter();
    assert!(draw(&s, 80, 24).contains("│no match"));
    assert_eq!(s.selected_file, 2);
    // A bound that left files out is said on the pane's last row.
    s.filter = None;
    s.files_cut = Some("the first 2000 files listed".into());
    let b = buffer(&s, 160, 48);
    assert_eq!(fg_of(&b, "the first 2000"), Some(Color::Yellow));
}

#[test]
fn an_empty_folder_opens_with_a_hint_and_files_appear_live() {
    use ratatui::style::Color;
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(
        dir.path().to_path_buf(),
        EngineConfig {
            isolates: 2,
            ..Default::default()
        },
    )
    .expect("an empty folder opens");
    assert!(app.state.files.is_empty() && app.state.open.is_none());
    let mut s = app.state.clone();
    s.root = PathBuf::from("empty");
    let screen = draw(&s, 160, 48);
    assert!(screen.contains("No .js or .mjs files"), "{screen}");
    assert!(screen.contains("'Hello, ' + 'world'"), "{screen}");
    insta::assert_snapshot!("files_empty_160x48", screen);
    assert_eq!(fg_of(&buffer(&s, 160, 48), "No .js"), Some(Color::Yellow));
    // A narrow pane keeps what to do and cuts the example.
    let screen = draw(&s, 80, 24);
    assert!(screen.contains("No .js or"), "{screen}");
    insta::assert_snapshot!("files_empty_80x24", screen);
    // Run and load say there is nothing to run.
    app.apply(Action::RunOnce);
    assert!(
        app.state.message.contains("nothing to run"),
        "{}",
        app.state.message
    );
    // A file made in a new subfolder shows up on the next change event,
    // named relative to the root, and says how to open it.
    let sub = dir.path().join("lib/deep");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("hello.js"), "'Hello, ' + 'world'").unwrap();
    app.on_files_changed(&[sub.join("hello.js")], Instant::now());
    assert!(app.await_walk(Duration::from_secs(10)), "the walk came");
    assert_eq!(app.state.files.len(), 1);
    assert!(app.dirs.contains(&sub), "{:?}", app.dirs);
    assert_eq!(
        app.state.message,
        "lib/deep/hello.js appeared · Enter opens it"
    );
    app.apply(Action::Open);
    pump(&mut app, |s| all_say(s, "Hello, world"));
    // A missing path is still an error.
    let err = App::new(dir.path().join("nope"), EngineConfig::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn the_file_walk_is_bounded_skips_what_it_should_and_survives_loops() {
    use isolate_play::files::{MAX_DEPTH, MAX_FILES, scan};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mk = |p: &str| {
        let p = root.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "1").unwrap();
    };
    for p in [
        "a.js",
        "lib/util.js",
        "lib/deep/x.mjs",
        "lib/notes.txt",
        ".git/hook.js",
        ".hidden/h.js",
        "node_modules/m/index.js",
        "target/t.js",
        "z.js",
    ] {
        mk(p);
    }
    // Links back up the tree, and to each other.
    std::os::unix::fs::symlink(root, root.join("lib/loop")).unwrap();
    std::os::unix::fs::symlink(root.join("lib"), root.join("lib/deep/up")).unwrap();
    let found = scan(root);
    let rel: Vec<String> = found
        .files
        .iter()
        .map(|p| p.strip_prefix(root).unwrap().display().to_string())
        .collect();
    assert_eq!(rel, ["a.js", "lib/deep/x.mjs", "lib/util.js", "z.js"]);
    assert_eq!(found.cut, None);
    assert_eq!(found.dirs[0], root);
    assert!(found.dirs.contains(&root.join("lib/deep")));
    // Deeper than the bound: left out, and said.
    let deep: String = (0..=MAX_DEPTH).map(|i| format!("d{i}/")).collect();
    mk(&format!("{deep}too-deep.js"));
    let found = scan(root);
    assert!(!found.files.iter().any(|p| p.ends_with("too-deep.js")));
    assert!(
        found.cut.as_deref().unwrap_or("").contains("levels deep"),
        "{:?}",
        found.cut
    );
    // More files than the bound: the first ones, and said.
    for i in 0..MAX_FILES {
        mk(&format!("many/f{i:04}.js"));
    }
    let found = scan(root);
    assert_eq!(found.files.len(), MAX_FILES);
    assert!(
        found
            .cut
            .as_deref()
            .unwrap_or("")
            .contains("first 2000 files"),
        "{:?}",
        found.cut
    );
}

/// The watcher watches the folders the list walked: a file written in a
/// folder made after the start is seen (as the loop does it: the folder's
/// creation lists it, its watch begins, the file's write is reported).
#[test]
fn the_watcher_sees_files_in_new_subfolders() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::write(root.join("a.js"), "1").unwrap();
    let (tx, rx) = flume::unbounded();
    let mut w = isolate_play::watch::watch(&root, tx).unwrap();
    assert!(!w.watch_dirs(&isolate_play::files::scan(&root).dirs));
    let wait_for = |what: &Path| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let paths = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no event for {what:?}"));
            if paths.iter().any(|p| p == what) {
                return;
            }
        }
    };
    let sub = root.join("lib");
    std::fs::create_dir(&sub).unwrap();
    wait_for(&sub);
    assert!(
        w.watch_dirs(&isolate_play::files::scan(&root).dirs),
        "a folder was added"
    );
    std::fs::write(sub.join("util.js"), "2").unwrap();
    wait_for(&sub.join("util.js"));
    // And one more level.
    std::fs::create_dir(sub.join("deep")).unwrap();
    wait_for(&sub.join("deep"));
    w.watch_dirs(&isolate_play::files::scan(&root).dirs);
    std::fs::write(sub.join("deep/x.js"), "3").unwrap();
    wait_for(&sub.join("deep/x.js"));
}

#[test]
fn keys_for_the_filter_and_the_value_prompts() {
    let none = KeyModifiers::NONE;
    let ctrl = KeyModifiers::CONTROL;
    let mut s = model();
    assert_eq!(press(&s, KeyCode::Char('/'), none), Some(Action::Filter));
    for (c, setting) in [
        ('p', Setting::Payload),
        ('w', Setting::Timeout),
        ('h', Setting::Heap),
    ] {
        assert_eq!(
            press(&s, KeyCode::Char(c), none),
            Some(Action::Ask(setting))
        );
    }
    // In the editor the letters are text and the Ctrl forms ask.
    s.focus = Pane::Editor;
    for (c, setting) in [
        ('p', Setting::Payload),
        ('w', Setting::Timeout),
        ('g', Setting::Heap),
    ] {
        assert_eq!(
            press(&s, KeyCode::Char(c), ctrl),
            Some(Action::Ask(setting))
        );
    }
    assert_eq!(
        press(&s, KeyCode::Char('p'), none),
        Some(Action::Edit(EditAction::Insert('p')))
    );
    // While a filter is typed: letters (even q, j, /) are its text, Esc
    // clears, Enter opens, the cursor keys move, F-keys still work.
    s.focus = Pane::Files;
    s.filter = Some(String::new());
    for c in ['q', 'j', '/', 'G', ' '] {
        assert_eq!(
            press(&s, KeyCode::Char(c), none),
            Some(Action::Edit(EditAction::Insert(c))),
            "{c}"
        );
    }
    assert_eq!(press(&s, KeyCode::Esc, none), Some(Action::Cancel));
    assert_eq!(press(&s, KeyCode::Enter, none), Some(Action::Open));
    assert_eq!(press(&s, KeyCode::Home, none), Some(Action::Home));
    assert_eq!(press(&s, KeyCode::End, none), Some(Action::End));
    assert_eq!(press(&s, KeyCode::Down, none), Some(Action::Down));
    assert_eq!(press(&s, KeyCode::F(5), none), Some(Action::RunOnce));
    assert_eq!(press(&s, KeyCode::Char('q'), ctrl), Some(Action::Quit));
    let hints = keymap::hints_line(&s);
    assert!(
        hints.starts_with("Esc clears filter") && hints.contains("Enter open"),
        "{hints}"
    );
    // A paste goes into the filter.
    assert_eq!(
        keymap::paste("lib".into(), &s),
        Some(Action::Edit(EditAction::Paste("lib".into())))
    );
    // The config file can bind them by name.
    let mut keys = std::collections::BTreeMap::new();
    keys.insert("f12".to_string(), "payload".to_string());
    let o = Overrides::parse(&keys).unwrap();
    s.filter = None;
    assert_eq!(
        keymap::map(KeyEvent::new(KeyCode::F(12), none), &s, &o),
        Some(Action::Ask(Setting::Payload))
    );
}

#[test]
fn the_filter_narrows_opens_and_clears() {
    let (dir, mut app) = playground(&[("a.js", "'a'"), ("b.js", "'b'")]);
    std::fs::create_dir_all(dir.path().join("lib")).unwrap();
    std::fs::write(dir.path().join("lib/util.js"), "'util'").unwrap();
    app.on_files_changed(&[dir.path().join("lib/util.js")], Instant::now());
    assert!(app.await_walk(Duration::from_secs(10)), "the walk came");
    assert_eq!(app.state.files.len(), 3);
    pump(&mut app, |s| all_say(s, "a"));
    app.apply(Action::Focus(Pane::Isolates));
    app.apply(Action::Filter);
    assert_eq!(app.state.focus, Pane::Files);
    type_text(&mut app, "UT");
    assert_eq!(app.state.shown_files(), vec![2]);
    assert_eq!(app.state.selected_file, 2);
    app.apply(Action::Edit(EditAction::Backspace));
    app.apply(Action::Edit(EditAction::Backspace));
    assert_eq!(app.state.shown_files().len(), 3);
    // Esc clears; the list is whole again and keys are keys.
    type_text(&mut app, "zzz");
    app.apply(Action::Open);
    assert_eq!(app.state.message, "no file matched the filter");
    assert_eq!(app.state.filter, None);
    app.apply(Action::Filter);
    type_text(&mut app, "util");
    app.apply(Action::Cancel);
    assert_eq!(app.state.filter, None);
    assert_eq!(app.state.message, "filter cleared");
    // Enter opens the match and ends the filter.
    app.apply(Action::Filter);
    type_text(&mut app, "lib/");
    app.apply(Action::Open);
    assert_eq!(app.state.filter, None);
    pump(&mut app, |s| all_say(s, "util"));
    assert!(
        app.state
            .open
            .as_ref()
            .unwrap()
            .path
            .ends_with("lib/util.js")
    );
    // Leaving the pane drops a filter being typed.
    app.apply(Action::Filter);
    app.apply(Action::FocusNext);
    assert_eq!(app.state.filter, None);
}

fn click(col: u16, row: u16) -> ratatui::crossterm::event::MouseEvent {
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: col,
        row,
        modifiers: KeyModifiers::NONE,
    }
}

fn wheel(col: u16, row: u16, down: bool) -> ratatui::crossterm::event::MouseEvent {
    use ratatui::crossterm::event::{MouseEvent, MouseEventKind};
    MouseEvent {
        kind: if down {
            MouseEventKind::ScrollDown
        } else {
            MouseEventKind::ScrollUp
        },
        column: col,
        row,
        modifiers: KeyModifiers::NONE,
    }
}

/// Mouse events map to actions by the drawn layout: each pane's rows are
/// where the views draw them (in every layout size, and scrolled).
#[test]
fn mouse_events_map_to_actions_where_they_are_drawn() {
    use isolate_play::tui::mouse;
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    use ratatui::layout::Rect;
    for (w, h) in [(160u16, 48u16), (80, 24), (60, 16)] {
        let screen = Rect::new(0, 0, w, h);
        let mut s = nested_model();
        s.snapshots = (0..40).map(|i| snap(i, 1 << 20, 0)).collect();
        s.results = vec![IsolateResults::default(); 40];
        let a = view::layout(screen, &s).expect("panes");
        // Files: the row under the click, as drawn.
        let list = view::files_list_area(a.files, &s);
        let map = |s: &State, ev| mouse::map(ev, s, screen);
        assert_eq!(
            map(&s, click(list.x + 2, list.y)),
            Some(Action::ClickFile(0))
        );
        assert_eq!(
            map(&s, click(list.x + 2, list.y + 3)),
            Some(Action::ClickFile(3))
        );
        // The border and below the last file focus the pane.
        assert_eq!(
            map(&s, click(a.files.x, a.files.y)),
            Some(Action::Focus(Pane::Files))
        );
        if list.height as usize > s.files.len() {
            assert_eq!(
                map(&s, click(list.x + 1, list.y + s.files.len() as u16)),
                Some(Action::Focus(Pane::Files))
            );
        }
        // The drawn name is on the row the click maps to.
        let screen_text = draw(&s, w, h);
        let line = screen_text.lines().nth((list.y + 3) as usize).unwrap();
        assert!(
            line.contains("lib/util.js") || line.contains("util"),
            "{line}"
        );
        // With a filter, rows are the matches (below the filter's row).
        s.filter = Some("lib".into());
        s.refilter();
        let list = view::files_list_area(a.files, &s);
        assert_eq!(
            map(&s, click(list.x + 2, list.y + 1)),
            Some(Action::ClickFile(3))
        );
        s.filter = None;
        // Isolates: below the border and the header, from the first row shown.
        let top = a.isolates.y + 2;
        assert_eq!(
            map(&s, click(a.isolates.x + 3, top + 1)),
            Some(Action::ClickIsolate(1))
        );
        assert_eq!(
            map(&s, click(a.isolates.x + 3, top - 1)),
            Some(Action::Focus(Pane::Isolates))
        );
        let visible = (a.isolates.height - 3) as usize;
        s.selected_isolate = 39;
        let first = view::isolates_first_row(39, 40, visible);
        assert_eq!(
            map(&s, click(a.isolates.x + 3, top)),
            Some(Action::ClickIsolate(first))
        );
        assert!(draw(&s, w, h).contains(&format!("Isolates {first}–39 of 40")));
        // A click in the editor's text puts the cursor there (on its
        // border it only focuses); the wheel scrolls the pane under it.
        assert_eq!(
            map(&s, click(a.editor.x + 5, a.editor.y + 2)),
            Some(Action::ClickEditor(1, 1))
        );
        assert_eq!(
            map(&s, click(a.editor.x + 5, a.editor.y)),
            Some(Action::Focus(Pane::Editor))
        );
        assert_eq!(
            map(&s, click(a.results.x + 5, a.results.y + 2)),
            Some(Action::Focus(Pane::Results))
        );
        assert_eq!(
            map(&s, wheel(a.results.x + 5, a.results.y + 2, true)),
            Some(Action::Scroll(Pane::Results, 3))
        );
        assert_eq!(
            map(&s, wheel(a.editor.x + 5, a.editor.y + 2, false)),
            Some(Action::Scroll(Pane::Editor, -3))
        );
        assert_eq!(
            map(&s, wheel(a.files.x + 1, a.files.y + 1, true)),
            Some(Action::Scroll(Pane::Files, 3))
        );
        assert_eq!(
            map(&s, wheel(a.isolates.x + 1, a.isolates.y + 4, true)),
            Some(Action::Scroll(Pane::Isolates, 3))
        );
        // Elsewhere, other buttons, releases and motion do nothing.
        assert_eq!(map(&s, click(a.status.x + 1, a.status.y)), None);
        assert_eq!(map(&s, click(a.throughput.x + 2, a.throughput.y + 2)), None);
        let mut right = click(a.files.x + 2, a.files.y + 2);
        right.kind = MouseEventKind::Down(MouseButton::Right);
        assert_eq!(map(&s, right), None);
        let moved = MouseEvent {
            kind: MouseEventKind::Moved,
            ..click(a.files.x + 2, a.files.y + 2)
        };
        assert_eq!(map(&s, moved), None);
        let mut up = click(a.files.x + 2, a.files.y + 2);
        up.kind = MouseEventKind::Up(MouseButton::Left);
        assert_eq!(map(&s, up), None);
        // A prompt takes keys only (a click is told so, the wheel does
        // nothing); help scrolls with the wheel.
        let not_here = Some(Action::NotHere("a click".into()));
        s.prompt = Some(isolate_play::tui::state::Prompt::QuitUnsaved);
        assert_eq!(map(&s, click(list.x + 2, list.y)), not_here);
        assert_eq!(map(&s, wheel(list.x + 2, list.y, true)), None);
        s.prompt = None;
        s.entry = Some(ValueEntry::default());
        assert_eq!(map(&s, click(list.x + 2, list.y)), not_here);
        s.entry = None;
        s.help = true;
        assert_eq!(map(&s, wheel(5, 5, true)), Some(Action::Down));
        assert_eq!(map(&s, click(list.x + 2, list.y)), None);
    }
    // The one-screen summary has no panes to click.
    let s = model();
    assert_eq!(mouse::map(click(3, 3), &s, Rect::new(0, 0, 40, 10)), None);
}

/// Clicks and the wheel through the app against a real engine: a click
/// selects, a second click on the same file opens it; an isolate's row
/// selects it; the wheel moves the pane under the pointer.
#[test]
fn mouse_clicks_select_open_and_scroll() {
    use isolate_play::tui::mouse;
    use ratatui::layout::Rect;
    let (dir, mut app) = playground(&[
        ("a.js", "'a'"),
        (
            "b.js",
            "'b\\n'.repeat(3)\nconsole.log('x\\n'.repeat(200)); 'b'",
        ),
    ]);
    std::fs::create_dir_all(dir.path().join("lib")).unwrap();
    std::fs::write(dir.path().join("lib/c.js"), "'c'").unwrap();
    app.on_files_changed(&[], Instant::now());
    assert!(app.await_walk(Duration::from_secs(10)), "the walk came");
    pump(&mut app, |s| all_say(s, "a"));
    let screen = Rect::new(0, 0, 160, 48);
    app.state.screen = (160, 48);
    app.on_tick(Instant::now());
    let send = |app: &mut App, ev| {
        let a = mouse::map(ev, &app.state, screen).expect("an action");
        app.apply(a);
    };
    let a = view::layout(screen, &app.state).unwrap();
    let list = view::files_list_area(a.files, &app.state);
    // Files are a.js, b.js, lib/c.js; the open one (a.js) is selected.
    app.apply(Action::Focus(Pane::Isolates));
    send(&mut app, click(list.x + 2, list.y + 2));
    assert_eq!((app.state.focus, app.state.selected_file), (Pane::Files, 2));
    assert!(
        app.state.open.as_ref().unwrap().path.ends_with("a.js"),
        "one click only selects"
    );
    send(&mut app, click(list.x + 2, list.y + 2));
    pump(&mut app, |s| all_say(s, "c"));
    assert!(app.state.open.as_ref().unwrap().path.ends_with("lib/c.js"));
    // A click on the open file, selected: the editor takes focus.
    send(&mut app, click(list.x + 2, list.y + 2));
    assert_eq!(app.state.focus, Pane::Editor);
    // An isolate's row.
    let top = a.isolates.y + 2;
    send(&mut app, click(a.isolates.x + 2, top + 2));
    assert_eq!(
        (app.state.focus, app.state.selected_isolate),
        (Pane::Isolates, 2)
    );
    // The wheel over the isolates moves the selection; focus stays.
    app.apply(Action::Focus(Pane::Files));
    send(&mut app, wheel(a.isolates.x + 2, top + 1, false));
    assert_eq!(
        (app.state.focus, app.state.selected_isolate),
        (Pane::Files, 0)
    );
    // Over the files: the selection moves, clamped.
    send(&mut app, wheel(list.x + 2, list.y, true));
    assert_eq!(app.state.selected_file, 2);
    // Over the results: its console scrolls.
    send(&mut app, click(list.x + 2, list.y + 1));
    send(&mut app, click(list.x + 2, list.y + 1));
    pump(&mut app, |s| all_say(s, "b"));
    assert_eq!(app.state.results_scroll, 0);
    send(&mut app, wheel(a.results.x + 4, a.results.y + 4, true));
    assert_eq!(app.state.results_scroll, 3);
    send(&mut app, wheel(a.results.x + 4, a.results.y + 4, false));
    assert_eq!(app.state.results_scroll, 0);
    // Over the editor: the cursor moves by lines, the text is unchanged.
    let before = app.state.open.as_ref().unwrap().buffer.text();
    app.state.open.as_mut().unwrap().buffer.cursor = (0, 0);
    send(&mut app, wheel(a.editor.x + 4, a.editor.y + 4, true));
    let open = app.state.open.as_ref().unwrap();
    assert_eq!(open.buffer.cursor.0, 1);
    assert_eq!(open.buffer.text(), before);
}

#[test]
fn snapshot_value_prompts() {
    let mut s = model();
    s.engine.payload = r#"{"items":[{"name":"pen","price":2,"qty":3}]}"#.into();
    // The payload is shown in the Results pane's title.
    let screen = draw(&s, 160, 48);
    assert!(
        screen.contains(r#"payload {"items":[{"nam…e":2,"qty":3}]}"#),
        "{screen}"
    );
    assert!(draw(&s, 200, 48).contains(r#"payload {"items":[{"name":"pen","price":2,"qty":3}]}"#));
    let mut entry = |setting, text: &str, error: Option<String>| {
        s.entry = Some(ValueEntry {
            setting,
            text: text.into(),
            error,
        });
        draw(&s, 80, 24)
    };
    let screen = entry(Setting::Payload, r#"{"items":[]}"#, None);
    assert!(screen.contains(r#"JSON: {"items":[]}▏"#), "{screen}");
    insta::assert_snapshot!("prompt_payload_80x24", screen);
    let err = isolate_play::tui::app::parse_value(Setting::Payload, "{bad").unwrap_err();
    let screen = entry(Setting::Payload, "{bad", Some(err));
    assert!(screen.contains("the payload is not valid JSON"), "{screen}");
    insta::assert_snapshot!("prompt_payload_error_80x24", screen);
    let screen = entry(Setting::Timeout, "250", None);
    assert!(
        screen.contains("Timeout in ms (1–3600000, now 1000): 250▏"),
        "{screen}"
    );
    insta::assert_snapshot!("prompt_timeout_80x24", screen);
    let err = isolate_play::tui::app::parse_value(Setting::Heap, "2").unwrap_err();
    let screen = entry(Setting::Heap, "2", Some(err));
    assert!(
        screen.contains("2 is out of range: the heap limit goes from 4 to 16384 MiB"),
        "{screen}"
    );
    insta::assert_snapshot!("prompt_heap_error_80x24", screen);
    // A long payload shows its end, and the prompt stays whole at any size.
    let long = format!("[{}]", vec!["1"; 2000].join(","));
    for (w, h) in [(160, 48), (80, 24), (40, 10)] {
        s.entry = Some(ValueEntry {
            setting: Setting::Payload,
            text: long.clone(),
            error: None,
        });
        let screen = draw(&s, w, h);
        assert!(screen.contains(",1]▏"), "{w}x{h}\n{screen}");
    }
}

/// Typed payload, timeout and heap limit reach the engine, with the flags'
/// checks; a refused value keeps the prompt and the text; nothing runs
/// until F5, and the status line says so.
#[test]
fn typed_payload_timeout_and_heap_limit_take_effect() {
    let (_dir, mut app) =
        playground(&[("p.mjs", "export default (e) => JSON.stringify(e.payload)")]);
    pump(&mut app, |s| all_say(s, "null"));
    let v = app.state.engine.version;
    // Payload: refused JSON keeps the prompt and the text.
    app.apply(Action::Ask(Setting::Payload));
    // The default `null` is not kept to type after.
    assert_eq!(app.state.entry.as_ref().unwrap().text, "");
    type_text(&mut app, "{\"n\": 1");
    app.apply(Action::Confirm);
    let e = app.state.entry.as_ref().expect("still open");
    assert_eq!(e.text, "{\"n\": 1");
    assert!(
        e.error
            .as_deref()
            .unwrap()
            .starts_with("the payload is not valid JSON"),
        "{e:?}"
    );
    app.apply(Action::Edit(EditAction::Paste("}\n".into())));
    app.apply(Action::Confirm);
    assert!(app.state.entry.is_none());
    assert_eq!(app.state.message, "payload {\"n\": 1} · F5 runs it");
    assert_eq!(app.state.engine.payload, "{\"n\": 1}");
    assert_eq!(app.state.engine.version, v, "nothing ran");
    app.apply(Action::RunOnce);
    pump(&mut app, |s| all_say(s, "{\"n\":1}"));
    // A payload that is not the default opens to edit.
    app.apply(Action::Ask(Setting::Payload));
    assert_eq!(app.state.entry.as_ref().unwrap().text, "{\"n\": 1}");
    app.apply(Action::Cancel);
    assert!(app.state.entry.is_none());
    // Timeout: the flag's range, in ms.
    for (text, why) in [
        ("", "type a number from 1 to 3600000 ms"),
        ("1s", "\"1s\" is not a number: type 1 to 3600000 ms"),
        (
            "0",
            "0 is out of range: the timeout goes from 1 to 3600000 ms",
        ),
        (
            "3600001",
            "3600001 is out of range: the timeout goes from 1 to 3600000 ms",
        ),
    ] {
        app.apply(Action::Ask(Setting::Timeout));
        type_text(&mut app, text);
        app.apply(Action::Confirm);
        assert_eq!(
            app.state.entry.as_ref().unwrap().error.as_deref(),
            Some(why)
        );
        app.apply(Action::Cancel);
        assert_eq!(app.state.message, "timeout unchanged: 1.00 s");
    }
    app.apply(Action::Ask(Setting::Timeout));
    type_text(&mut app, "250");
    app.apply(Action::Confirm);
    assert_eq!(
        app.engine.config().limits.timeout,
        Duration::from_millis(250)
    );
    assert_eq!(app.state.engine.timeout, Duration::from_millis(250));
    assert!(
        app.state.message.ends_with("· F5 runs it"),
        "{}",
        app.state.message
    );
    assert!(
        app.state.message.starts_with("timeout 1.00 s → 250"),
        "{}",
        app.state.message
    );
    // Heap: the flag's range, in MiB; the table's limit follows.
    app.apply(Action::Ask(Setting::Heap));
    type_text(&mut app, "20000");
    app.apply(Action::Confirm);
    assert_eq!(
        app.state.entry.as_ref().unwrap().error.as_deref(),
        Some("20000 is out of range: the heap limit goes from 4 to 16384 MiB")
    );
    app.apply(Action::Cancel);
    app.apply(Action::Ask(Setting::Heap));
    type_text(&mut app, "128");
    app.apply(Action::Confirm);
    assert_eq!(app.state.engine.heap_limit, 128 << 20);
    assert!(app.state.message.contains("→ 128"), "{}", app.state.message);
    app.apply(Action::RunOnce);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        app.on_tick(Instant::now() + Duration::from_secs(1));
        if app
            .state
            .snapshots
            .iter()
            .all(|w| w.heap_limit >= 128 << 20)
        {
            break;
        }
        assert!(Instant::now() < deadline, "{:?}", app.state.snapshots);
        std::thread::sleep(Duration::from_millis(50));
        while let Ok(r) = app.engine.reports().try_recv() {
            app.on_report(r);
        }
    }
}

// ---- the ladder ----

/// `l` outside the editor and F10 anywhere open the ladder; in it, Esc,
/// q, l and F10 close it, F5 and r measure again, arrows scroll, Ctrl-Q
/// quits, and other keys are answered rather than swallowed.
#[test]
fn ladder_keys_through_the_table() {
    let none = KeyModifiers::NONE;
    let ctrl = KeyModifiers::CONTROL;
    let mut s = model();
    for p in [Pane::Files, Pane::Isolates, Pane::Results] {
        s.focus = p;
        assert_eq!(
            press(&s, KeyCode::Char('l'), none),
            Some(Action::ToggleLadder)
        );
        assert_eq!(press(&s, KeyCode::F(10), none), Some(Action::ToggleLadder));
    }
    s.focus = Pane::Editor;
    assert_eq!(press(&s, KeyCode::F(10), none), Some(Action::ToggleLadder));
    assert_eq!(
        press(&s, KeyCode::Char('l'), none),
        Some(Action::Edit(EditAction::Insert('l')))
    );
    assert!(keymap::hints_line(&s).contains("F10 ladder"));
    s.ladder.open = true;
    for (code, mods) in [
        (KeyCode::Esc, none),
        (KeyCode::Char('q'), none),
        (KeyCode::Char('l'), none),
        (KeyCode::F(10), none),
    ] {
        assert_eq!(
            press(&s, code, mods),
            Some(Action::ToggleLadder),
            "{code:?}"
        );
    }
    assert_eq!(press(&s, KeyCode::F(5), none), Some(Action::RunOnce));
    assert_eq!(press(&s, KeyCode::Char('r'), none), Some(Action::RunOnce));
    assert_eq!(press(&s, KeyCode::Down, none), Some(Action::Down));
    assert_eq!(press(&s, KeyCode::Char('q'), ctrl), Some(Action::Quit));
    assert_eq!(
        press(&s, KeyCode::Char('x'), none),
        Some(Action::NotHere("x".into()))
    );
    assert_eq!(keymap::not_here(&s, "x"), "x does nothing in the ladder");
    assert_eq!(keymap::tiny_hint(&s), "Esc closes ladder · Ctrl-Q quit");
    // Help lists it once, with both keys; the ladder's own keys are on
    // its status bar instead.
    let table = keymap::markdown_table();
    assert!(
        table.contains("| `F10` | anywhere | the isolation ladder"),
        "{table}"
    );
    assert!(
        table.contains("| `l` | outside the editor | ″ |"),
        "{table}"
    );
    assert!(!table.contains("in the ladder"), "{table}");
}

/// The app opens the ladder on the version that runs, feeds it the
/// comparison's updates, drops a cancelled run's late ones, keeps
/// finished figures for the same version and measures anew after a save.
#[test]
fn ladder_runs_off_the_loop_and_starts_afresh_after_a_save() {
    use isolate_play::compare::{Ladder, Row, RowStatus, Rung, Update};
    use isolate_play::tui::ladder::{self, Event};
    use isolate_play::tui::state::LadderOutcome;
    let (dir, mut app) = playground(&[("a.js", "// Lesson: one.\n'one'")]);
    app.ladder = ladder::Runner::new(env!("CARGO_BIN_EXE_isolate-play").into());
    pump(&mut app, |s| all_say(s, "one"));
    app.apply(Action::ToggleLoad);
    app.apply(Action::ToggleLadder);
    assert!(!app.engine.is_loading(), "load pauses for the ladder");
    let run = app.state.ladder.run.clone().expect("a run started");
    assert!(app.state.ladder.open && run.running());
    assert_eq!((run.file.as_str(), run.version, run.id), ("a.js", 1, 1));
    assert_eq!(run.rows.len(), Rung::ALL.len());
    assert!(run.rows.iter().all(|r| r.status == RowStatus::Pending));
    assert_eq!(run.rounds, ladder::ROUNDS);
    // The comparison's updates (sent here by hand; the real thread's wait
    // on the channel, unread).
    let row = |rung, status| Row {
        status,
        p50_ns: Some(170),
        ..Row::pending(rung)
    };
    app.on_ladder(
        1,
        Event::Update(Update::Round {
            round: 1,
            rounds: 3,
        }),
    );
    app.on_ladder(
        1,
        Event::Update(Update::Row(Box::new(Row {
            label: String::new(),
            lesson: String::new(),
            ..row(Rung::Warm, RowStatus::Running)
        }))),
    );
    let run = app.state.ladder.run.as_ref().unwrap();
    assert_eq!(run.round, Some((1, 3)));
    assert_eq!(run.rows[0].status, RowStatus::Running);
    assert_eq!(
        run.rows[0].label,
        Rung::Warm.label(),
        "an empty label keeps ours"
    );
    assert_eq!(run.rows[0].lesson, Rung::Warm.lesson());
    // Esc closes it and cancels the run; load resumes.
    let mut s = app.state.clone();
    s.screen = (80, 24);
    let esc = keymap::map(
        KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
        &s,
        &s.overrides,
    );
    app.apply(esc.unwrap());
    assert!(!app.state.ladder.open);
    assert!(app.engine.is_loading(), "load resumes");
    assert_eq!(
        app.state.message,
        "ladder closed, its run cancelled; load resumed"
    );
    assert_eq!(
        app.state.ladder.run.as_ref().unwrap().outcome,
        LadderOutcome::Stopped
    );
    app.apply(Action::ToggleLoad);
    // A stopped run is not kept: opening again measures afresh, and the
    // old run's late updates are dropped.
    app.apply(Action::ToggleLadder);
    assert_eq!(app.state.ladder.run.as_ref().unwrap().id, 2);
    app.on_ladder(
        1,
        Event::Update(Update::Row(Box::new(row(Rung::Cold, RowStatus::Measured)))),
    );
    app.on_ladder(1, Event::Done(Err("late".into())));
    let run = app.state.ladder.run.as_ref().unwrap();
    assert!(run.running() && run.rows.iter().all(|r| r.status == RowStatus::Pending));
    // It finishes: the final rows and the window.
    let rows: Vec<Row> = Rung::ALL
        .iter()
        .map(|&r| row(r, RowStatus::Measured))
        .collect();
    app.on_ladder(
        2,
        Event::Done(Ok(Ladder {
            file: "a.js".into(),
            machine: "test machine".into(),
            concurrency: 1,
            rounds: 3,
            seconds: 12.5,
            load_average: None,
            rows,
        })),
    );
    let run = app.state.ladder.run.as_ref().unwrap();
    assert_eq!(run.measured(), Rung::ALL.len());
    assert!(matches!(run.outcome, LadderOutcome::Done { .. }));
    // Closed and opened on the same version: the same figures.
    app.apply(Action::ToggleLadder);
    app.apply(Action::ToggleLadder);
    assert_eq!(app.state.ladder.run.as_ref().unwrap().id, 2);
    assert!(!app.state.ladder.run.as_ref().unwrap().unsaved);
    // Edited since, not saved: the same figures, which now say the edits
    // are not in them.
    app.apply(Action::ToggleLadder);
    app.apply(Action::Focus(Pane::Editor));
    type_text(&mut app, "x");
    app.apply(Action::Cancel);
    app.apply(Action::ToggleLadder);
    let run = app.state.ladder.run.as_ref().unwrap();
    assert_eq!(run.id, 2);
    assert!(run.unsaved);
    app.apply(Action::ToggleLadder);
    app.apply(Action::Focus(Pane::Editor));
    app.apply(Action::Edit(EditAction::Undo));
    app.apply(Action::Cancel);
    app.apply(Action::ToggleLadder);
    assert!(!app.state.ladder.run.as_ref().unwrap().unsaved);
    // r measures again.
    app.apply(Action::RunOnce);
    assert_eq!(app.state.ladder.run.as_ref().unwrap().id, 3);
    app.apply(Action::ToggleLadder);
    // After an edit and a save, a fresh run of the new version.
    app.apply(Action::Focus(Pane::Editor));
    app.apply(Action::Edit(EditAction::FileEnd));
    type_text(&mut app, " + '!'");
    app.apply(Action::Save);
    app.apply(Action::Cancel);
    app.apply(Action::ToggleLadder);
    let run = app.state.ladder.run.as_ref().unwrap();
    assert_eq!((run.id, run.version), (4, 2));
    assert!(!run.unsaved);
    drop(dir);
    // Nothing to run: nothing to compare, and it says so.
    let (_dir, mut app) = playground(&[]);
    app.apply(Action::ToggleLadder);
    assert!(!app.state.ladder.open);
    assert_eq!(
        app.state.message,
        "nothing to compare: create a .js file in this folder first"
    );
}

/// The lesson a sample opens with follows the text as it is edited.
#[test]
fn the_lesson_follows_the_open_file() {
    let (_dir, mut app) = playground(&[
        (
            "a.js",
            "// Lesson: globals are per isolate.\n// Second line.\n'a'",
        ),
        ("b.js", "'b'"),
    ]);
    assert_eq!(
        app.state.lesson().as_deref(),
        Some("Lesson: globals are per isolate. Second line.")
    );
    app.apply(Action::Down);
    app.apply(Action::Open);
    assert_eq!(app.state.open.as_ref().unwrap().name, "b.js");
    assert_eq!(app.state.lesson(), None);
    app.apply(Action::Edit(EditAction::FileStart));
    type_text(&mut app, "// Now one.");
    app.apply(Action::Edit(EditAction::Newline));
    assert_eq!(app.state.lesson().as_deref(), Some("Now one."));
}

/// The real binary under tmux: `l` opens the ladder on the open sample
/// (its title names the file and version, then rows fill in or the error
/// shows), Esc closes it, and after an edit and a save `l` measures the
/// new version.
#[test]
fn ladder_under_tmux() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("concat.js"),
        "// Lesson: strings join.\n// Second line.\nconcat = (a, b) => a + b;\nconcat('Hello', 'World')",
    )
    .unwrap();
    let session = format!("isolate-play-ladder-{}", std::process::id());
    let cmd = format!(
        "XDG_CONFIG_HOME={root} {bin} {root} -n 2; echo EXITED-$?; sleep 60",
        root = root.display(),
        bin = env!("CARGO_BIN_EXE_isolate-play")
    );
    let _kill = TmuxSession::start(&session, &cmd);
    let s = wait_screen(&session, "v1: HelloWorld ×2");
    assert!(s.contains("▌ Lesson: strings join. Second line."), "{s}");
    keys(&session, &["l"]);
    let s = wait_screen(&session, "Isolation ladder · concat.js v1");
    assert!(s.contains("isolate, warm"), "{s}");
    // The comparison reports: rows or why it could not run.
    let deadline = Instant::now() + Duration::from_secs(30);
    let s = loop {
        let s = screen(&session);
        if s.contains("could not compare") || s.contains("round ") || s.contains("done in") {
            break s;
        }
        assert!(Instant::now() < deadline, "the ladder never reported:\n{s}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(s.contains("Esc closes ladder"), "{s}");
    keys(&session, &["Escape"]);
    let s = wait_screen(&session, "ladder closed");
    assert!(!s.contains("Isolation ladder"), "{s}");
    keys(&session, &["e", "C-End", " + '!'", "C-s", "Escape"]);
    wait_screen(&session, "v2: HelloWorld! ×2");
    keys(&session, &["l"]);
    wait_screen(&session, "Isolation ladder · concat.js v2");
    keys(&session, &["q"]);
    wait_screen(&session, "ladder closed");
    keys(&session, &["q"]);
    wait_screen(&session, "EXITED-0");
}

#[test]
fn a_stale_result_is_only_ever_the_open_files_own() {
    let (_dir, mut app) = playground(&[("a.js", "'from a'"), ("b.js", "const x = ;")]);
    pump(&mut app, |s| all_say(s, "from a"));
    app.apply(Action::Focus(Pane::Files));
    app.apply(Action::Down);
    app.apply(Action::Open);
    pump(&mut app, |s| {
        s.results
            .iter()
            .all(|r| r.last.as_ref().is_some_and(|i| i.outcome.is_err()))
    });
    // b.js never ran well: a.js's result is not shown as its last good one.
    assert!(app.state.results.iter().all(|r| r.last_ok.is_none()));
    let screen = draw(&app.state, 160, 48);
    assert!(!screen.contains("last good result"), "{screen}");
    assert!(!screen.contains("from a"), "{screen}");
}
