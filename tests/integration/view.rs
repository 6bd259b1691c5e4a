//! The views at every size: snapshots at 40×10 to 250×60 of a hostile
//! model (long look-alike file names, a failing file, a heap near its
//! limit, multi-line and tabbed results, 200 console lines, timed-out
//! isolates among many), with the styles where colour carries meaning
//! asserted; and the live numbers' windows and placeholders.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use isolate_play::compare::{Row, RowStatus, Rung};
use isolate_play::engine::{
    Console, ConsoleLine, ErrorKind, Invocation, Level, Mode, ScriptError, Threads, WorkerSnapshot,
    WorkerState, new_histogram,
};
use isolate_play::metrics::{Metrics, Percentiles};
use isolate_play::tui::action::Pane;
use isolate_play::tui::editor::Buffer;
use isolate_play::tui::ladder;
use isolate_play::tui::state::{FileEntry, GroupKind, IsolateResults, OpenFile, Prompt, State};
use isolate_play::tui::state::{LadderOutcome, LadderRun};
use isolate_play::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer as Cells;
use ratatui::style::Color;

const SIZES: [(u16, u16); 6] = [
    (40, 10),
    (60, 20),
    (80, 24),
    (120, 40),
    (160, 48),
    (250, 60),
];

fn ok(worker: usize, version: u64, value: &str, console: usize) -> Invocation {
    Invocation {
        worker,
        version,
        seq: 7,
        mode: Mode::Warm,
        outcome: Ok(value.to_string()),
        console: Console {
            lines: (0..console)
                .map(|i| ConsoleLine {
                    level: if i % 10 == 9 { Level::Warn } else { Level::Log },
                    text: format!("line {i}\tcol"),
                })
                .collect(),
            dropped: 0,
        },
        duration: Some(Duration::from_micros(65)),
        cpu: Some(Duration::from_micros(60)),
    }
}

fn timed_out(worker: usize, version: u64) -> Invocation {
    Invocation {
        outcome: Err(ScriptError::new(
            ErrorKind::Timeout,
            "timed out: the invocation ran past its 1000 ms limit and was stopped",
        )),
        ..ok(worker, version, "", 0)
    }
}

fn snapshot(id: usize, heap_used: u64) -> WorkerSnapshot {
    WorkerSnapshot {
        id,
        state: WorkerState::Running,
        invocations: 123_456,
        errors: 0,
        recycles: 0,
        last_duration: Duration::from_nanos(64_930),
        heap_used,
        heap_total: heap_used * 2,
        heap_limit: 64 << 20,
        external: 0,
        external_limit: 64 << 20,
        abandoned: 0,
        cold_start: Duration::from_micros(1500),
        version: 3,
        cpu: Duration::from_millis(5),
    }
}

/// 500 isolates on v3: 497 say a two-line, tabbed string, 2 timed out,
/// 1 has not reported; isolate 0 logged 200 lines; isolate 17's heap is
/// near its limit; one of two look-alike long files fails.
fn model() -> State {
    let root = PathBuf::from("/home/someone/projects/samples");
    let mut s = State::new(root.clone(), Mode::Warm, 500, 64 << 20);
    s.files = [
        "a-very-long-file-name-for-the-first-experiment.js",
        "a-very-long-file-name-for-the-second-experiment.js",
        "concat.js",
        "日本語のファイル名.js",
    ]
    .iter()
    .map(|n| FileEntry {
        path: root.join(n),
        name: root.join(n).display().to_string(),
        failing: n.contains("second"),
        ..Default::default()
    })
    .collect();
    s.selected_file = 2;
    let code = "const r = 'Hello\\tWorld\\nsecond line';\nconsole.log(r);\nr";
    s.open = Some(OpenFile {
        path: root.join("concat.js"),
        name: root.join("concat.js").display().to_string(),
        buffer: Buffer::new(code),
        saved_text: code.into(),
        ..Default::default()
    });
    s.engine.version = 3;
    s.results = (0..500)
        .map(|w| IsolateResults {
            last: match w {
                17 | 301 => Some(timed_out(w, 3)),
                499 => None,
                0 => Some(ok(w, 3, "Hello\tWorld\nsecond line", 200)),
                _ => Some(ok(w, 3, "Hello\tWorld\nsecond line", 1)),
            },
            last_ok: None,
            replaced: false,
        })
        .collect();
    s.snapshots = (0..500)
        .map(|w| snapshot(w, if w == 17 { 60 << 20 } else { 450 << 10 }))
        .collect();
    s.snapshots[17].errors = 2;
    let snaps = std::mem::take(&mut s.snapshots);
    s.set_snapshots(snaps);
    s.selected_isolate = 17;
    s.live.rate = 12_345.0;
    s.live.rate_window = Some(Duration::from_millis(2_000));
    s.live.total_invocations = 61_728_000;
    s.live.latency = Percentiles {
        count: 100,
        p50: Duration::from_micros(64),
        p90: Duration::from_micros(70),
        p99: Duration::from_micros(900),
        max: Duration::from_millis(2),
    };
    s.live.latency_window = Some(Duration::from_secs(10));
    s.live.timed_share = 1.0;
    s.live.history = vec![10, 20, 40, 80];
    s.live.system.cpu_percent = 180.0;
    s.live.system.rss_bytes = 300 << 20;
    s.engine.loading = true;
    s.threads.model = Threads::Pool(2);
    s.message = format!(
        "opened {}",
        root.join("a-very-long-file-name-for-the-first-experiment.js")
            .display()
    );
    s
}

fn draw(s: &State, w: u16, h: u16) -> Cells {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::render(f, s)).unwrap();
    t.backend().buffer().clone()
}

fn text(b: &Cells) -> String {
    let mut out = String::new();
    for y in 0..b.area.height {
        let mut skip = 0;
        for x in 0..b.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sym = b[(x, y)].symbol();
            skip = unicode_cells(sym).saturating_sub(1);
            out.push_str(sym);
        }
        out.push('\n');
    }
    out
}

fn unicode_cells(s: &str) -> usize {
    use unicode_width::UnicodeWidthStr;
    s.width()
}

/// Where `needle` starts on screen, and the cell there.
fn find(b: &Cells, needle: &str) -> Option<(u16, u16)> {
    for y in 0..b.area.height {
        let row: String = (0..b.area.width).map(|x| b[(x, y)].symbol()).collect();
        if let Some(i) = row.find(needle) {
            let x = row[..i].chars().count() as u16;
            return Some((x, y));
        }
    }
    None
}

fn fg_at(b: &Cells, needle: &str) -> Option<Color> {
    find(b, needle).map(|(x, y)| b[(x, y)].fg)
}

#[test]
fn every_size_shows_what_matters_whole() {
    let s = model();
    for (w, h) in SIZES {
        let b = draw(&s, w, h);
        let screen = text(&b);
        insta::assert_snapshot!(format!("main_{w}x{h}"), screen);
        // A number is never cut from its unit.
        for cut in ["µ│", " M│", " Mi│", " K│", " m│"] {
            assert!(
                !screen.contains(cut),
                "{w}x{h}: a unit cut ({cut}):\n{screen}"
            );
        }
        if w < view::MIN_WIDTH {
            assert!(screen.contains("q quit"), "{w}x{h}:\n{screen}");
            continue;
        }
        // The two long names differ on screen, and the failing one is red.
        assert!(screen.contains("first"), "{w}x{h}:\n{screen}");
        assert!(screen.contains("second"), "{w}x{h}:\n{screen}");
        assert_eq!(fg_at(&b, "…second"), Some(Color::Red), "{w}x{h}");
        // All isolates at a glance, and the selected one's error in red.
        assert!(screen.contains("×497"), "{w}x{h}:\n{screen}");
        let failed = if w >= 80 { "timed out ×2" } else { "×2" };
        assert!(screen.contains(failed), "{w}x{h}:\n{screen}");
        assert_eq!(fg_at(&b, "timed out: the"), Some(Color::Red), "{w}x{h}");
        // The heap near its limit is red, and the errs column is there.
        assert!(screen.contains("errs"), "{w}x{h}:\n{screen}");
        assert_eq!(
            fg_at(&b, "60.0 MiB"),
            Some(Color::Red),
            "{w}x{h}:\n{screen}"
        );
        assert_eq!(fg_at(&b, "450 KiB"), Some(Color::Green), "{w}x{h}");
        // The hints are not pushed off by the message's path.
        assert!(screen.contains("F1 help"), "{w}x{h}:\n{screen}");
        assert!(!screen.contains("/home/someone"), "{w}x{h}:\n{screen}");
        // A rate names the window it was measured over.
        assert!(
            screen.contains("12.3k/s (last 2.0 s)"),
            "{w}x{h}:\n{screen}"
        );
        assert!(!screen.contains("1 isolates"), "{w}x{h}");
    }
}

#[test]
fn the_result_stays_above_a_long_console_that_scrolls() {
    let mut s = model();
    s.selected_isolate = 0;
    s.focus = Pane::Results;
    s.screen = (120, 40);
    let b = draw(&s, 120, 40);
    let screen = text(&b);
    // The string's line break and tab are shown, above the console.
    assert!(screen.contains("→ Hello   World"), "{screen}");
    assert!(screen.contains("  second line"), "{screen}");
    assert!(screen.contains("console: 200 lines · rows 1–"), "{screen}");
    assert!(screen.contains("line 0  col"), "{screen}");
    // To the end: the last console line shows, the result still does.
    s.scroll_results(isize::MAX);
    let screen = text(&draw(&s, 120, 40));
    assert!(screen.contains("line 199"), "{screen}");
    assert!(screen.contains("→ Hello   World"), "{screen}");
    insta::assert_snapshot!("results_scrolled_to_end_120x40", screen);
    // Up one row from the end moves at once (no dead presses).
    let end = s.results_scroll;
    s.scroll_results(-1);
    assert_eq!(s.results_scroll, end - 1);
    s.scroll_results(-s.results_page());
    assert_eq!(s.results_scroll, end - 1 - s.results_page() as usize);
    s.scroll_results(isize::MIN);
    assert_eq!(s.results_scroll, 0);
}

#[test]
fn groups_and_the_next_failing_isolate() {
    let mut s = model();
    let g = s.result_groups();
    assert_eq!(g[0].kind, GroupKind::Ok);
    assert_eq!(g[0].count, 497);
    assert_eq!(
        (g[1].kind, g[1].count, &g[1].label[..]),
        (GroupKind::Failed, 2, "timed out")
    );
    assert_eq!(g[1].ids, vec![17, 301]);
    assert_eq!((g[2].kind, g[2].count), (GroupKind::Pending, 1));
    let screen = text(&draw(&s, 160, 48));
    assert!(screen.contains("timed out ×2 (#17, #301)"), "{screen}");
    s.selected_isolate = 17;
    assert_eq!(s.select_next_failing(), Some(301));
    assert_eq!(s.selected_isolate, 301);
    assert_eq!(s.select_next_failing(), Some(17));
    assert_eq!(s.selected_isolate, 17, "wraps");
    s.results[17] = IsolateResults::default();
    s.results[301] = IsolateResults::default();
    assert_eq!(s.select_next_failing(), None);
    assert_eq!(s.selected_isolate, 17);
}

#[test]
fn a_prompt_is_whole_on_screen_at_every_size() {
    let mut s = model();
    for p in [Prompt::QuitUnsaved, Prompt::OverwriteDisk] {
        s.prompt = Some(p);
        for (w, h) in SIZES {
            let screen = text(&draw(&s, w, h));
            assert!(screen.contains("(y/n)"), "{w}x{h}:\n{screen}");
        }
    }
    s.prompt = Some(Prompt::QuitUnsaved);
    insta::assert_snapshot!("quit_prompt_40x10", text(&draw(&s, 40, 10)));
}

#[test]
fn nothing_measured_shows_a_dash() {
    let mut s = State::new(PathBuf::from("samples"), Mode::Warm, 1, 64 << 20);
    s.results = vec![IsolateResults::default()];
    s.snapshots = vec![WorkerSnapshot {
        invocations: 0,
        last_duration: Duration::ZERO,
        ..snapshot(0, 300 << 10)
    }];
    s.reload_latency = Some(Duration::from_millis(36));
    s.reload_version = Some(1);
    s.engine.version = 2;
    let screen = text(&draw(&s, 160, 48));
    for zero in ["0 ns", "p50 0", "(0 isolates)", "1 isolates"] {
        assert!(!screen.contains(zero), "{zero}:\n{screen}");
    }
    assert!(screen.contains("—/s"), "{screen}");
    assert!(screen.contains("latency —"), "{screen}");
    assert!(screen.contains("cold start —"), "{screen}");
    assert!(screen.contains("1 isolate "), "{screen}");
    // The reload was timed on v1; v2 is running: the line is gone.
    assert!(!screen.contains("reload"), "{screen}");
    s.reload_version = Some(2);
    assert!(text(&draw(&s, 160, 48)).contains("reload→screen 36.0 ms (v2)"));
}

#[test]
fn windows_are_labelled_as_measured_and_the_total_only_grows() {
    let mut m = Metrics::new();
    let t0 = Instant::now();
    let none = new_histogram();
    assert_eq!(m.rate_window(), None);
    assert_eq!(m.latency_window(t0), None);
    let total = m_total(&mut m, &[0, 0, 0]);
    m.observe(t0, total, new_histogram(), &none);
    let mut lat = new_histogram();
    lat.record(50_000).unwrap();
    let total = m_total(&mut m, &[100, 100, 100]);
    m.observe(t0 + Duration::from_secs(2), total, lat, &none);
    assert_eq!(m.rate_window(), Some(Duration::from_secs(2)));
    assert_eq!(m.rate(), 150.0);
    assert_eq!(
        m.latency_window(t0 + Duration::from_secs(2)),
        Some(Duration::from_secs(2))
    );
    // Two isolates removed: their runs stay in the session's total.
    assert_eq!(m_total(&mut m, &[150]), 350);
    // A new isolate in a slot (its counter went down) counts from 0.
    assert_eq!(m_total(&mut m, &[10, 5]), 365);
    m.reset_distributions();
    assert_eq!(m.latency_window(t0 + Duration::from_secs(3)), None);
    // After a reset the first drain covers the time since the last one.
    let mut lat = new_histogram();
    lat.record(50_000).unwrap();
    let t3 = t0 + Duration::from_secs(3);
    m.observe(t3, 365, lat, &none);
    assert_eq!(m.latency_window(t3), Some(Duration::from_secs(1)));
}

fn m_total(m: &mut Metrics, counts: &[u64]) -> u64 {
    m.session_total(counts.iter().copied())
}

/// A warm isolate that keeps 1 MiB more per run: under load the heap
/// column climbs with it (the worker publishes its heap with its counters),
/// in both thread models; after the load stops the Results pane names its
/// sample against the table's count.
#[test]
fn the_heap_column_climbs_under_load() {
    use isolate_play::engine::EngineConfig;
    use isolate_play::tui::action::Action;
    use isolate_play::tui::app::App;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("grow.js"),
        "globalThis.keep = globalThis.keep || [];\nkeep.push(new Array(1 << 17).fill(1.5));\nkeep.length",
    )
    .unwrap();
    for threads in [Threads::Pool(1), Threads::PerIsolate] {
        let mut config = EngineConfig {
            isolates: 1,
            threads,
            ..Default::default()
        };
        config.limits.heap_bytes = 512 << 20;
        let mut app = App::new(dir.path().to_path_buf(), config).unwrap();
        app.apply(Action::ToggleLoad);
        let mut seen: Vec<u64> = Vec::new();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(20) && seen.len() < 4 {
            std::thread::sleep(Duration::from_millis(60));
            while let Ok(r) = app.engine.reports().try_recv() {
                app.on_report(r);
            }
            app.on_tick(Instant::now());
            let used = app.state.snapshots[0].heap_used;
            if seen.last().is_none_or(|&l| used > l + (2 << 20)) {
                seen.push(used);
            }
        }
        assert!(
            seen.len() >= 4,
            "{threads:?}: the heap stood still: {seen:?}"
        );
        app.apply(Action::ToggleLoad);
        std::thread::sleep(Duration::from_millis(300));
        while let Ok(r) = app.engine.reports().try_recv() {
            app.on_report(r);
        }
        app.on_tick(Instant::now() + Duration::from_secs(1));
        let runs = app.state.snapshots[0].invocations;
        let sample = app.state.results[0].last.as_ref().expect("a sample").seq;
        let screen = text(&draw(&app.state, 160, 48));
        if sample < runs {
            assert!(
                screen.contains(&format!("run #{sample} of {runs} (sampled)")),
                "{screen}"
            );
        } else {
            assert!(screen.contains(&format!("run #{runs}")), "{screen}");
        }
        assert!(
            screen.contains(&format!("{runs} runs this session")),
            "{screen}"
        );
    }
}

/// Long figures everywhere: durations of `1000.0 ms`, `16.4 ms`, big
/// counts and sizes, a sampled latency, every threads figure measured.
fn long_numbers() -> State {
    let mut s = model();
    // 40 rows are plenty for a screen, and keep the sweep of sizes quick.
    s.results.truncate(40);
    s.snapshots.truncate(40);
    for w in &mut s.snapshots {
        w.invocations = 123_456_789;
        w.errors = 12_345;
        w.recycles = 9_999;
        w.last_duration = Duration::from_micros(999_960);
        w.heap_used = 1023 << 20;
        w.heap_limit = 1024 << 20;
        w.external = 1023 << 20;
        w.external_limit = 1024 << 20;
    }
    let snaps = std::mem::take(&mut s.snapshots);
    s.set_snapshots(snaps);
    s.engine.isolates = 10_000;
    s.live.rate = 1_234_567.0;
    s.live.rate_window = Some(Duration::from_millis(4_900));
    s.live.total_invocations = 123_456_789_012;
    s.live.latency = Percentiles {
        count: 100,
        p50: Duration::from_micros(16_400),
        p90: Duration::from_micros(999_960),
        p99: Duration::from_micros(999_960),
        max: Duration::from_secs(2),
    };
    s.live.latency_window = Some(Duration::from_millis(6_300));
    s.live.timed_share = 1.0 / 16.0;
    s.live.cold_start = Percentiles {
        count: 10_000,
        p50: Duration::from_micros(16_400),
        p90: Duration::from_micros(999_960),
        p99: Duration::from_micros(999_960),
        max: Duration::from_secs(2),
    };
    s.live.history = (0..300).map(|i| i * 1000).collect();
    s.live.system.cpu_percent = 1600.0;
    s.live.system.rss_bytes = 1023 << 30;
    s.input_latency = Some(Duration::from_micros(16_400));
    s.reload_latency = Some(Duration::from_micros(999_960));
    s.reload_version = Some(3);
    s.threads.window = Some(isolate_play::tui::state::ThreadsWindow {
        busy: vec![1.0; 8],
        cpu: Some(16.0),
        switches: Some(1_234_567.0),
        queue_wait: Percentiles {
            count: 10,
            p50: Duration::from_micros(999_960),
            p90: Duration::from_micros(999_960),
            p99: Duration::from_micros(999_960),
            max: Duration::from_secs(1),
        },
        cpu_per_call: Some(Duration::from_micros(16_400)),
        parked: 0,
    });
    s.threads.model = Threads::Pool(8);
    s.message = "3 → 10000 isolates (the change held the UI 1000.0 ms) · F5 runs it".into();
    s
}

/// Where on a screen a number is cut: a "…" right after a number (with or
/// without the start of its unit) or right before a digit, or a unit cut
/// short at a border.
fn cut_numbers(screen: &str) -> Vec<String> {
    let units = ["ns", "µs", "ms", "s", "KiB", "MiB", "GiB", "%", "/s"];
    let is_unit_char = |c: char| c.is_alphabetic() || c == 'µ';
    let mut found = Vec::new();
    for row in screen.lines() {
        let chars: Vec<char> = row.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            if c != '…' && c != '│' {
                continue;
            }
            // The letters just before, then what is before them.
            let mut k = i;
            while k > 0 && is_unit_char(chars[k - 1]) {
                k -= 1;
            }
            let word: String = chars[k..i].iter().collect();
            let spaced = k > 0 && chars[k - 1] == ' ';
            let j = if spaced { k - 1 } else { k };
            let number_before = j > 0 && chars[j - 1].is_ascii_digit();
            // Letters that may be the start of a unit, cut short.
            let partial = !units.contains(&word.as_str())
                && units.iter().any(|u| u.starts_with(word.as_str()));
            let cut = if c == '…' {
                // A number right before (after dropping a partial unit and
                // a space) or right after: the number or its unit was eaten.
                (number_before && partial) || chars.get(i + 1).is_some_and(|a| a.is_ascii_digit())
            } else {
                // `16.4 m│`: letters after a number that are no unit.
                spaced
                    && number_before
                    && !word.is_empty()
                    && !units.contains(&word.as_str())
                    && units.iter().any(|u| u.starts_with(word.as_str()))
            };
            if cut {
                found.push(row.to_string());
            }
        }
    }
    found
}

#[test]
fn no_number_is_cut_from_its_unit_at_any_size() {
    let s = long_numbers();
    // The check itself catches what the tester saw.
    assert!(!cut_numbers("│cold start p50 16.4 …│").is_empty());
    assert!(!cut_numbers("│p99 64.9 µ│").is_empty());
    assert!(cut_numbers("│p99 64.9 µs│ and … more").is_empty());
    // Every width at the heights where panes are tight; every height at
    // every tenth width.
    for h in 10..=60u16 {
        for w in (30..60).step_by(5).chain(60..=250u16) {
            if ![10, 12, 16, 20, 24, 30].contains(&h) && w % 10 != 0 {
                continue;
            }
            let screen = text(&draw(&s, w, h));
            let cut = cut_numbers(&screen);
            assert!(cut.is_empty(), "{w}x{h}: {cut:?}\n{screen}");
            // A number shown is shown with its window.
            if w >= view::MIN_WIDTH && h >= view::MIN_HEIGHT {
                for (number, window) in [("latency p50", "(last 6.3 s"), ("M/s", "(last 4.9 s)")] {
                    if screen.contains(number) {
                        assert!(screen.contains(window), "{w}x{h}: {number}\n{screen}");
                    }
                }
            }
        }
    }
    // The pane of the report, whole pieces on rows at 60 columns.
    let screen = text(&draw(&s, 60, 24));
    assert!(screen.contains("p50 16.4 ms"), "{screen}");
}

#[test]
fn unsaved_edits_show_at_every_size() {
    let mut s = model();
    s.open.as_mut().unwrap().buffer = Buffer::new("'edited'");
    for (w, h) in SIZES
        .iter()
        .copied()
        .chain([(59, 15), (60, 16), (100, 12), (30, 5)])
    {
        let screen = text(&draw(&s, w, h));
        assert!(screen.contains("concat.js*"), "{w}x{h}:\n{screen}");
    }
    // The compact view's first line, whole.
    let screen = text(&draw(&s, 40, 10));
    assert!(screen.starts_with("concat.js* v3"), "{screen}");
    // Saved: no star anywhere.
    s.open.as_mut().unwrap().buffer = Buffer::new(&s.open.as_ref().unwrap().saved_text.clone());
    for (w, h) in SIZES {
        assert!(!text(&draw(&s, w, h)).contains("concat.js*"), "{w}x{h}");
    }
}

/// A model whose open file threw on line 3 in the version that ran.
fn thrown_on_line_3() -> State {
    let mut s = model();
    s.results.truncate(4);
    s.snapshots.truncate(4);
    s.selected_isolate = 0;
    let code = "const a = 1;\nconst b = 2;\nthrow new Error('boom');\n";
    let name = s.open.as_ref().unwrap().name.clone();
    let open = s.open.as_mut().unwrap();
    open.buffer = Buffer::new(code);
    open.saved_text = code.into();
    for r in &mut s.results {
        r.last = Some(Invocation {
            outcome: Err(ScriptError {
                kind: ErrorKind::Exception,
                message: "Error: boom".into(),
                location: Some(isolate_play::engine::Location {
                    file: name.clone(),
                    line: 3,
                    column: 7,
                    source_line: "throw new Error('boom');".into(),
                }),
                stack: None,
            }),
            ..ok(0, 3, "", 0)
        });
    }
    s
}

/// The gutter row marked `▶` (its line number), and whether it is red.
fn marked_line(b: &Cells) -> Option<(String, bool)> {
    let (x, y) = find(b, "▶")?;
    let row: String = (0..x).map(|i| b[(i, y)].symbol()).collect();
    let n: String = row
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    Some((n.chars().rev().collect(), b[(x, y)].bg == Color::Red))
}

#[test]
fn the_error_marker_follows_edits_or_says_it_cannot() {
    use isolate_play::tui::state::map_line;
    let mut s = thrown_on_line_3();
    let saved = s.open.as_ref().unwrap().saved_text.clone();
    let edit = |s: &mut State, text: &str| s.open.as_mut().unwrap().buffer = Buffer::new(text);
    // As it ran: line 3, red.
    let b = draw(&s, 160, 48);
    assert_eq!(marked_line(&b), Some(("3".into(), true)));
    // A line duplicated above it (Ctrl-D on line 1): the marker moves with
    // the code, and Results says where the saved version's line is now.
    edit(&mut s, &format!("const a = 1;\n{saved}"));
    let b = draw(&s, 160, 48);
    assert_eq!(marked_line(&b), Some(("4".into(), true)));
    let screen = text(&b);
    assert!(
        screen.contains("saved version's: line 3 is now line 4)"),
        "{screen}"
    );
    // Lines pasted below it: it stays.
    edit(&mut s, &format!("{saved}// one\n// two\n"));
    assert_eq!(marked_line(&draw(&s, 160, 48)), Some(("3".into(), true)));
    // The line itself edited, or edits on both sides: not marked, and said.
    for text_now in [
        "const a = 1;\nconst b = 2;\nthrow new Error('bang');\n".to_string(),
        format!("// above\n{saved}// below\n"),
    ] {
        edit(&mut s, &text_now);
        let b = draw(&s, 250, 60);
        assert_eq!(marked_line(&b), None, "{text_now}");
        let screen = text(&b);
        assert!(
            screen.contains("your edits changed line 3 or around it)"),
            "{screen}"
        );
    }
    // Line mapping, line endings kept apart from the text.
    let crlf = "a\r\nb\r\nc";
    assert_eq!(map_line(crlf, &Buffer::new("x\r\na\r\nb\r\nc"), 2), Some(3));
    assert_eq!(map_line(crlf, &Buffer::new("a\nb\nc\nd"), 3), Some(3));
    assert_eq!(map_line(crlf, &Buffer::new("a\nB\nc"), 2), None);
    assert_eq!(map_line(crlf, &Buffer::new("a"), 9), None);
    assert_eq!(map_line(crlf, &Buffer::new("c"), 3), Some(1));
}

#[test]
fn results_of_the_old_mode_are_not_shown_as_current() {
    let mut s = model();
    s.engine.mode = Mode::Context;
    s.selected_isolate = 0;
    let b = draw(&s, 160, 48);
    let screen = text(&b);
    // Every result is warm: none is the context mode's yet.
    assert!(screen.contains("no result yet ×500"), "{screen}");
    assert!(screen.contains("warm, before the switch"), "{screen}");
    assert_eq!(fg_at(&b, "warm, before the switch"), Some(Color::Yellow));
    // Said at every size with panes, in as many words as fit.
    for (w, h) in SIZES.into_iter().filter(|&(w, _)| w >= view::MIN_WIDTH) {
        let screen = text(&draw(&s, w, h));
        assert!(screen.contains("warm, "), "{w}x{h}:\n{screen}");
    }
    assert_eq!(s.tally(), (0, 0));
    // Isolates replaced by a threads switch: their results say so until
    // the new isolates report.
    s.engine.mode = Mode::Warm;
    s.isolates_replaced();
    let screen = text(&draw(&s, 160, 48));
    assert!(
        screen.contains("warm, before the threads switch"),
        "{screen}"
    );
    s.results[0].replaced = false;
    let screen = text(&draw(&s, 160, 48));
    assert!(!screen.contains("before the"), "{screen}");
}

#[test]
fn a_result_too_long_to_pin_scrolls_to_its_end() {
    let mut s = model();
    s.selected_isolate = 1;
    s.focus = Pane::Results;
    s.screen = (120, 40);
    // ~100 KB, one row each, and no console.
    let value: String = (0..2000)
        .map(|i| format!("row {i:04} {}", "x".repeat(40)))
        .collect::<Vec<_>>()
        .join("\n");
    for console in [0, 50] {
        s.results[1].last = Some(ok(1, 3, &value, console));
        s.results_scroll = 0;
        let screen = text(&draw(&s, 120, 40));
        assert!(screen.contains("→ row 0000"), "{screen}");
        assert!(screen.contains("more rows below"), "{screen}");
        assert!(view::results_scroll_max(&s) > 1900, "{console}");
        s.scroll_results(isize::MAX);
        let screen = text(&draw(&s, 120, 40));
        let end = if console > 0 { "line 49" } else { "row 1999" };
        assert!(screen.contains(end), "{console}:\n{screen}");
        assert!(
            screen.contains("→ row 0000"),
            "the pinned part stays:\n{screen}"
        );
    }
    // Every row of a long value is reachable, page by page.
    let value: String = (0..300)
        .map(|i| format!("row {i:04}"))
        .collect::<Vec<_>>()
        .join("\n");
    for console in [0, 50] {
        s.results[1].last = Some(ok(1, 3, &value, console));
        s.scroll_results(isize::MIN);
        let mut seen = std::collections::HashSet::new();
        loop {
            for l in text(&draw(&s, 120, 40)).lines() {
                if let Some(i) = l.find("row ") {
                    seen.insert(l[i + 4..i + 8].to_string());
                }
            }
            let before = s.results_scroll;
            s.scroll_results(s.results_page());
            if s.results_scroll == before {
                break;
            }
        }
        assert_eq!(seen.len(), 300, "{console}");
    }
}

#[test]
fn titles_claim_no_window_their_lines_contradict() {
    let mut s = model();
    // Errors counted by the table from older versions; none now.
    for w in &mut s.snapshots {
        w.errors = 3;
    }
    let snaps = std::mem::take(&mut s.snapshots);
    s.set_snapshots(snaps);
    for r in &mut s.results {
        r.last = Some(ok(0, 3, "fine", 0));
    }
    for (w, h) in SIZES {
        let screen = text(&draw(&s, w, h));
        assert!(!screen.contains("Throughput: "), "{w}x{h}:\n{screen}");
        assert!(!screen.contains("errors"), "{w}x{h}:\n{screen}");
    }
    // The chart's window goes with the chart: 4 seconds measured.
    let screen = text(&draw(&s, 160, 48));
    assert!(
        screen.contains("runs/s, each of the last 4 seconds"),
        "{screen}"
    );
    s.results[5].last = Some(timed_out(5, 3));
    let screen = text(&draw(&s, 160, 48));
    assert!(screen.contains("1 failing on v3"), "{screen}");
}

/// An app on one file in a temporary folder.
fn app_on(
    file: &str,
    code: &str,
    config: isolate_play::engine::EngineConfig,
) -> (tempfile::TempDir, isolate_play::tui::app::App) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(file), code).unwrap();
    let app = isolate_play::tui::app::App::new(dir.path().to_path_buf(), config).unwrap();
    (dir, app)
}

fn pump_until(app: &mut isolate_play::tui::app::App, what: &str, pred: impl Fn(&State) -> bool) {
    let t0 = Instant::now();
    while !pred(&app.state) {
        assert!(t0.elapsed() < Duration::from_secs(20), "waited for {what}");
        std::thread::sleep(Duration::from_millis(20));
        while let Ok(r) = app.engine.reports().try_recv() {
            app.on_report(r);
        }
        app.on_tick(Instant::now());
    }
}

/// Warm load, stopped, then context mode: no row keeps a warm figure as
/// its last, Results marks the warm sample; a new call clears both. With
/// one isolate, messages say "1 isolate".
#[test]
fn a_mode_switch_leaves_no_old_figures() {
    use isolate_play::engine::EngineConfig;
    use isolate_play::tui::action::Action;
    let (_dir, mut app) = app_on(
        "n.js",
        "globalThis.n = (globalThis.n ?? 0) + 1; n",
        EngineConfig {
            isolates: 1,
            ..Default::default()
        },
    );
    pump_until(&mut app, "the first result", |s| {
        s.results[0].last.is_some()
    });
    app.apply(Action::ToggleLoad);
    std::thread::sleep(Duration::from_millis(300));
    app.apply(Action::ToggleLoad);
    pump_until(&mut app, "a timed call", |s| {
        s.snapshots
            .first()
            .is_some_and(|w| !w.last_duration.is_zero())
    });
    app.apply(Action::CycleMode);
    assert_eq!(app.state.engine.mode, Mode::Context);
    app.on_tick(Instant::now() + Duration::from_secs(1));
    assert_eq!(app.state.snapshots[0].last_duration, Duration::ZERO);
    let b = draw(&app.state, 160, 48);
    let screen = text(&b);
    let row = screen
        .lines()
        .find(|l| l.contains("│0  "))
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(row.contains(" — "), "{row}");
    assert!(!row.contains(" ns") && !row.contains(" µs"), "{row}");
    assert!(screen.contains("warm, before the switch"), "{screen}");
    // One call in context mode: current again.
    app.apply(Action::RunOnce);
    assert_eq!(app.state.message, "ran once on 1 isolate");
    pump_until(&mut app, "a context result", |s| {
        s.results[0]
            .last
            .as_ref()
            .is_some_and(|i| i.mode == Mode::Context)
    });
    let screen = text(&draw(&app.state, 160, 48));
    assert!(!screen.contains("before the switch"), "{screen}");
    for a in [Action::AddIsolates(1), Action::RemoveIsolates(1)] {
        app.apply(a);
        assert!(
            !app.state.message.contains("1 isolates"),
            "{}",
            app.state.message
        );
    }
}

/// Eight isolates in an endless loop on a pool of two: six wait for a
/// thread, and say so (not "idle").
#[test]
fn isolates_waiting_for_a_thread_are_queued() {
    use isolate_play::engine::EngineConfig;
    let mut config = EngineConfig {
        isolates: 8,
        threads: Threads::Pool(2),
        ..Default::default()
    };
    config.limits.timeout = Duration::from_secs(4);
    let (_dir, mut app) = app_on("loop.js", "while (true) {}", config);
    pump_until(&mut app, "6 queued", |s| {
        s.summary.queued == 6 && s.summary.running == 2
    });
    let b = draw(&app.state, 160, 48);
    let screen = text(&b);
    assert_eq!(screen.matches("queued").count(), 6, "{screen}");
    assert!(!screen.contains(" idle "), "{screen}");
    assert_eq!(fg_at(&b, "queued"), Some(Color::Yellow));
}

// ---- the ladder view ----

/// A row with figures: `p50` and `p99` in ns, the rest derived from them.
fn measured(rung: Rung, status: RowStatus, p50: u64, p99: u64, mem: u64, warm: u64) -> Row {
    Row {
        status,
        calls: 1_000,
        seconds: 1.2,
        calls_per_s: Some(1e9 / p50 as f64),
        p50_ns: Some(p50),
        p99_ns: Some(p99),
        cpu_per_call_ns: Some(p50 * 9 / 10),
        memory_per_unit: Some(mem),
        memory_unit: "isolate".into(),
        memory_note: "RSS growth over 100 idle units".into(),
        ratio_to_warm: Some(p50 as f64 / warm as f64),
        result: Some("HelloWorld".into()),
        ..Row::pending(rung)
    }
}

/// The ladder of concat.js v2 with the figures of issue 10 (measured on
/// these machines): `done` rows measured, the rest as `rest` leaves them.
fn ladder_model(outcome: LadderOutcome, measured_rows: usize) -> State {
    let mut s = model();
    s.engine.version = 2;
    s.open.as_mut().unwrap().name = "samples/02-concat.js".into();
    let options = ladder::Runner::new("isolate-play".into()).options();
    let mut run = LadderRun::new(1, "samples/02-concat.js".into(), 2, &options);
    let warm = 170;
    let done = RowStatus::Measured;
    let figures = [
        measured(Rung::Warm, done.clone(), warm, 400, 1_300 << 10, warm),
        measured(
            Rung::Context,
            done.clone(),
            300_000,
            520_000,
            90 << 10,
            warm,
        ),
        measured(
            Rung::Cold,
            done.clone(),
            1_900_000,
            2_600_000,
            1_300 << 10,
            warm,
        ),
        Row {
            status: RowStatus::Unavailable {
                reason: "needs the snapshot engine mode (not built yet)".into(),
            },
            ..Row::pending(Rung::Snapshot)
        },
        measured(
            Rung::Process,
            done.clone(),
            15_000_000,
            21_000_000,
            19 << 20,
            warm,
        ),
        Row {
            status: RowStatus::Unavailable {
                reason: "the kernel refused a user namespace: unshare: Operation not permitted"
                    .into(),
            },
            ..Row::pending(Rung::Namespaced)
        },
        measured(
            Rung::Node,
            done.clone(),
            50_000_000,
            64_000_000,
            40 << 20,
            warm,
        ),
        Row {
            status: RowStatus::Unavailable {
                reason: "deno is not on PATH".into(),
            },
            ..Row::pending(Rung::Deno)
        },
        measured(Rung::Qjs, done, 2_000_000, 2_900_000, 2_600 << 10, warm),
        Row {
            status: RowStatus::Reference {
                source:
                    "Firecracker README: boots a microVM in as little as 125 ms, < 5 MiB overhead"
                        .into(),
            },
            p50_ns: Some(125_000_000),
            memory_per_unit: Some(5 << 20),
            ratio_to_warm: Some(125_000_000.0 / warm as f64),
            ..Row::pending(Rung::Vm)
        },
    ];
    for (i, row) in figures.into_iter().enumerate() {
        if i < measured_rows {
            run.set_row(row);
        } else if i == measured_rows {
            // The row being measured: a round's figures, not all.
            run.set_row(Row {
                status: RowStatus::Running,
                calls_per_s: row.calls_per_s,
                p50_ns: row.p50_ns,
                ratio_to_warm: row.ratio_to_warm,
                ..row
            });
        }
    }
    if measured_rows < 10 {
        run.round = Some((2, 3));
    }
    run.outcome = outcome;
    s.ladder.open = true;
    s.ladder.run = Some(run);
    s
}

fn done() -> LadderOutcome {
    LadderOutcome::Done {
        seconds: 14.2,
        machine: "2 × Intel Xeon @ 2.2 GHz, Linux 6.1".into(),
    }
}

#[test]
fn ladder_fills_in_and_shows_every_rung_at_every_size() {
    let cases = [
        ("pending", ladder_model(LadderOutcome::Running, 0)),
        ("running", ladder_model(LadderOutcome::Running, 4)),
        ("done", ladder_model(done(), 10)),
    ];
    for (what, s) in &cases {
        for (w, h) in [(80, 24), (160, 48), (60, 16), (40, 10), (20, 5)] {
            let b = draw(s, w, h);
            let screen = text(&b);
            insta::assert_snapshot!(format!("ladder_{what}_{w}x{h}"), screen);
            assert!(screen.contains("ladder"), "{what} {w}x{h}:\n{screen}");
            if h >= 10 {
                // How to close it, on the status bar or the hint line.
                assert!(screen.contains("Esc closes"), "{what} {w}x{h}:\n{screen}");
            }
        }
    }
    // 80×24: every rung, its figures and its lesson (the published
    // figure's source first, its lesson where there is room: 160 columns),
    // the scale's ticks.
    let s = &cases[2].1;
    let wide = text(&draw(s, 160, 48));
    let b = draw(s, 80, 24);
    let screen = text(&b);
    for r in &s.ladder.run.as_ref().unwrap().rows {
        assert!(screen.contains(&r.label), "{}:\n{screen}", r.label);
        let shown = if r.rung == Rung::Vm { &wide } else { &screen };
        assert!(shown.contains(&r.lesson), "{}:\n{shown}", r.lesson);
    }
    for tick in ["100ns", "100µs"] {
        assert!(screen.contains(tick), "{tick}:\n{screen}");
    }
    assert!(
        screen.contains("done: 3 rounds × 0.4 s per row"),
        "{screen}"
    );
    assert!(
        screen.contains("measured 3 rounds × 0.4 s per row"),
        "{screen}"
    );
    assert!(screen.contains("88k×"), "{screen}");
    assert!(
        screen.contains("not measured here: Firecracker"),
        "{screen}"
    );
    assert!(screen.contains("not run: deno is not on PATH"), "{screen}");
    // Nothing measured is a dash, never a zero.
    assert!(screen.contains('—'), "{screen}");
    // Colour says the status; so does the mark.
    assert_eq!(fg_at(&b, "✓ isolate, warm"), Some(Color::Green));
    assert_eq!(fg_at(&b, "✗ deno"), Some(Color::Red));
    assert_eq!(fg_at(&b, "◇ microVM"), Some(Color::Magenta));
    assert_eq!(fg_at(&b, "not run: deno"), Some(Color::Red));
    assert_eq!(fg_at(&b, "not measured here"), Some(Color::Magenta));
    // Running: the round and the window so far; the row being measured.
    let screen = text(&draw(&cases[1].1, 80, 24));
    assert!(screen.contains("round 2 of 3"), "{screen}");
    assert!(screen.contains("▸ process"), "{screen}");
    assert!(screen.contains("· microVM"), "{screen}");
    assert!(screen.contains("waiting"), "{screen}");
}

#[test]
fn ladder_bars_grow_on_a_log_scale() {
    let s = ladder_model(done(), 10);
    let b = draw(&s, 160, 48);
    let screen = text(&b);
    let bar = |label: &str| -> usize {
        let line = screen
            .lines()
            .find(|l| l.contains(label))
            .unwrap_or_else(|| panic!("{label}:\n{screen}"));
        line.chars().filter(|&c| c == '█' || c == '▒').count()
    };
    let (warm, cold, process, node, vm) = (
        bar("isolate, warm"),
        bar("isolate, cold"),
        bar("process per call"),
        bar("node -e"),
        bar("microVM"),
    );
    // 170 ns → 1.9 ms is four decades; 1.9 ms → 15 ms under one: a log
    // scale keeps both readable.
    assert!(
        warm < cold && cold < process && process < node && node < vm,
        "{screen}"
    );
    assert!(cold - warm > 3 * (process - cold), "{screen}");
    // The published figure is drawn apart (▒), not as a measured bar.
    assert!(
        screen
            .lines()
            .any(|l| l.contains("microVM") && l.contains('▒'))
    );
}

#[test]
fn ladder_says_why_it_could_not_run_and_which_version_it_measured() {
    let mut s = ladder_model(LadderOutcome::Failed("compare is not built yet".into()), 0);
    for (w, h) in [(80, 24), (40, 10), (20, 5)] {
        let b = draw(&s, w, h);
        let screen = text(&b);
        assert!(
            screen.contains("could not"),
            "{w}x{h}: the error is on screen:\n{screen}"
        );
        if w >= 80 {
            assert!(screen.contains("could not compare: compare is not built yet"));
            assert_eq!(fg_at(&b, "could not compare"), Some(Color::Red));
        }
    }
    insta::assert_snapshot!("ladder_failed_80x24", text(&draw(&s, 80, 24)));
    // The file changed since: the figures say whose they are.
    s.ladder.run.as_mut().unwrap().outcome = done();
    s.engine.version = 3;
    let screen = text(&draw(&s, 80, 24));
    assert!(
        screen.contains("these figures are for v2; the file is v3 now · F5 measures it"),
        "{screen}"
    );
    assert!(
        screen.contains("Isolation ladder · 02-concat.js v2"),
        "{screen}"
    );
    // Unsaved edits are not measured, and it says so.
    s.engine.version = 2;
    s.ladder.run.as_mut().unwrap().unsaved = true;
    let screen = text(&draw(&s, 80, 24));
    assert!(
        screen.contains("measuring v2, the text last saved: unsaved edits are not in it"),
        "{screen}"
    );
    // Hostile text from a script or the comparison stays on its line.
    let run = s.ladder.run.as_mut().unwrap();
    run.rows[7].status = RowStatus::Unavailable {
        reason: "bad\x1b[2Jclear\nsecond line".into(),
    };
    let screen = text(&draw(&s, 80, 24));
    assert!(
        !screen.contains('\x1b') && !screen.contains("second line"),
        "{screen}"
    );
}

#[test]
fn ladder_scrolls_when_short_and_never_panics() {
    let mut s = ladder_model(done(), 10);
    for scroll in [0, 3, 100, usize::MAX / 2] {
        s.ladder.scroll = scroll;
        for w in [0, 1, 2, 5, 13, 30, 59, 79, 80, 81, 119, 200] {
            for h in [0, 1, 2, 3, 4, 7, 15, 16, 22, 23, 24, 30] {
                draw(&s, w, h);
            }
        }
    }
    s.ladder.scroll = 100;
    let screen = text(&draw(&s, 60, 12));
    // The last rungs, and the title says which are shown.
    assert!(screen.contains("microVM"), "{screen}");
    assert!(screen.contains("of 10"), "{screen}");
}

// ---- the lesson line ----

#[test]
fn a_files_lesson_is_shown_while_it_is_open() {
    let lesson = "// Isolation: each isolate has its own globals. In warm mode every isolate counts\n\
                  // its own invocations (1, 2, 3, ...); in context and cold mode it starts at 1 again.\n\
                  globalThis.n = (globalThis.n || 0) + 1;";
    let mut s = model();
    let open = s.open.as_mut().unwrap();
    open.buffer = Buffer::new(lesson);
    open.saved_text = lesson.into();
    // Tall: the whole lesson on two rows at the top, in yellow italics.
    let b = draw(&s, 160, 48);
    let screen = text(&b);
    let top: Vec<&str> = screen.lines().take(2).collect();
    assert!(top[0].starts_with(" ▌ Isolation: each isolate"), "{screen}");
    let words: Vec<&str> = top.iter().flat_map(|l| l.split_whitespace()).collect();
    assert!(
        words
            .join(" ")
            .ends_with("in context and cold mode it starts at 1 again."),
        "{screen}"
    );
    assert_eq!(fg_at(&b, "Isolation: each"), Some(Color::Yellow));
    let (x, y) = find(&b, "Isolation: each").unwrap();
    assert!(
        b[(x, y)]
            .modifier
            .contains(ratatui::style::Modifier::ITALIC)
    );
    // 80×24: one row, elided; the panes start below it.
    let screen = text(&draw(&s, 80, 24));
    let first = screen.lines().next().unwrap();
    assert!(
        first.starts_with(" ▌ Isolation:") && first.trim_end().ends_with('…'),
        "{screen}"
    );
    assert!(screen.lines().nth(1).unwrap().starts_with('┌'), "{screen}");
    // A file without one shows none: the panes start at the top.
    let open = s.open.as_mut().unwrap();
    open.buffer = Buffer::new("'no lesson'");
    let screen = text(&draw(&s, 80, 24));
    assert!(screen.starts_with('┌'), "{screen}");
    assert!(!screen.contains('▌'), "{screen}");
}

#[test]
fn snapshot_mode_shows_its_blob_or_why_there_is_none() {
    use isolate_play::tui::state::SnapshotStatus;
    let mut s = model();
    s.engine.mode = isolate_play::engine::Mode::Snapshot;
    s.engine.version = 2;
    // Building: nothing measured yet.
    let screen = text(&draw(&s, 160, 48));
    assert!(screen.contains("snapshot — (building)"), "{screen}");
    // An older version's blob is not this version's.
    s.engine.snapshot = Some(SnapshotStatus {
        version: 1,
        build_ms: 70,
        blob: Ok(680 << 10),
    });
    assert!(text(&draw(&s, 160, 48)).contains("snapshot — (building)"));
    s.engine.snapshot = Some(SnapshotStatus {
        version: 2,
        build_ms: 66,
        blob: Ok(680 << 10),
    });
    let screen = text(&draw(&s, 160, 48));
    assert!(
        screen.contains("snapshot v2 680 KiB built in 66 ms"),
        "{screen}"
    );
    s.engine.snapshot = Some(SnapshotStatus {
        version: 2,
        build_ms: 40,
        blob: Err("the top level threw".into()),
    });
    let screen = text(&draw(&s, 160, 48));
    assert!(
        screen.contains("no snapshot for v2: calls run plain cold"),
        "{screen}"
    );
    // Other modes say nothing of snapshots.
    s.engine.mode = isolate_play::engine::Mode::Cold;
    assert!(!text(&draw(&s, 160, 48)).contains("snapshot"));
}

#[test]
fn a_ladder_where_nothing_ran_does_not_claim_its_rounds() {
    let mut s = ladder_model(done(), 0);
    for r in &mut s.ladder.run.as_mut().unwrap().rows {
        if r.rung != Rung::Vm {
            r.status = RowStatus::Unavailable {
                reason: "09-syntax-error.js:4:28: SyntaxError: Unexpected token ';'".into(),
            };
        }
    }
    let screen = text(&draw(&s, 160, 48));
    assert!(
        screen.contains("done: nothing measured (each row says why)"),
        "{screen}"
    );
    assert!(!screen.contains("done: 3 rounds"), "{screen}");
}

#[test]
fn a_snapshot_row_without_a_snapshot_says_so() {
    let mut s = ladder_model(done(), 10);
    let row = &mut s.ladder.run.as_mut().unwrap().rows[3];
    assert_eq!(row.rung, Rung::Snapshot);
    row.status = RowStatus::Measured;
    row.memory_per_unit = None;
    row.caveat = Some(
        "no snapshot: the builder died with signal 5 (SIGTRAP: V8 aborted); calls ran as plain cold isolates"
            .into(),
    );
    for (w, h) in [(80, 24), (160, 48)] {
        let screen = text(&draw(&s, w, h));
        assert!(
            screen.contains("no snapshot: the builder died"),
            "{w}x{h}:\n{screen}"
        );
    }
}
