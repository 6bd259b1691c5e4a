//! The views at every size: snapshots at 40×10 to 250×60 of a hostile
//! model (long look-alike file names, a failing file, a heap near its
//! limit, multi-line and tabbed results, 200 console lines, timed-out
//! isolates among many), with the styles where colour carries meaning
//! asserted; and the live numbers' windows and placeholders.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use isolate_play::engine::{
    Console, ConsoleLine, ErrorKind, Invocation, Level, Mode, ScriptError, Threads, WorkerSnapshot,
    WorkerState, new_histogram,
};
use isolate_play::metrics::{Metrics, Percentiles};
use isolate_play::tui::action::Pane;
use isolate_play::tui::editor::Buffer;
use isolate_play::tui::state::{FileEntry, GroupKind, IsolateResults, OpenFile, Prompt, State};
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
