//! The guided tour in samples/: the files pane lists it in order, every
//! sample opens with a two-line lesson the editor shows whole, and what the
//! lessons claim holds on real V8.

use std::path::{Path, PathBuf};
use std::time::Duration;

use isolate_play::engine::{Engine, EngineConfig, ErrorKind, Limits, Mode};
use isolate_play::files;
use isolate_play::tui::editor::Buffer;
use isolate_play::tui::state::{FileEntry, OpenFile, State};
use isolate_play::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::support::*;

/// The tour, in the order a person takes it.
const TOUR: [&str; 11] = [
    "01-isolation.js",
    "02-concat.js",
    "03-snapshot.mjs",
    "04-heap-limit.js",
    "05-external-memory.js",
    "06-time-limits.js",
    "07-throughput.js",
    "08-ladder.mjs",
    "09-syntax-error.js",
    "10-exception.js",
    "11-async.mjs",
];

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// The real samples folder as the playground lists it, with `name` open.
fn playground_on(name: &str) -> State {
    let root = samples();
    let mut s = State::new(root.clone(), Mode::Warm, 4, 64 << 20);
    s.files = files::scan(&root)
        .files
        .iter()
        .map(|p| FileEntry {
            path: p.clone(),
            name: files::name_under(&root, p),
            ..Default::default()
        })
        .collect();
    let code = std::fs::read_to_string(root.join(name)).unwrap();
    s.selected_file = s.files.iter().position(|f| f.name == name).unwrap();
    s.open = Some(OpenFile {
        path: root.join(name),
        name: name.into(),
        buffer: Buffer::new(&code),
        saved_text: code,
        ..Default::default()
    });
    s
}

fn screen(s: &State, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::render(f, s)).unwrap();
    format!("{}", t.backend())
}

#[test]
fn the_walker_lists_the_tour_in_order_and_not_the_license() {
    let root = samples();
    let scan = files::scan(&root);
    let names: Vec<String> = scan
        .files
        .iter()
        .map(|p| files::name_under(&root, p))
        .collect();
    assert_eq!(names, TOUR, "samples/ is the tour, numbered, nothing else");
    assert!(root.join("03-snapshot.LICENSE").is_file());
    // The files pane shows them top to bottom in that order.
    let text = screen(&playground_on("01-isolation.js"), 160, 48);
    assert!(text.contains("Files (11)"), "{text}");
    assert!(!text.contains("LICENSE"), "{text}");
    let rows: Vec<usize> = TOUR
        .iter()
        .map(|n| {
            text.lines()
                .position(|l| l.contains(&format!("│ {n}")))
                .unwrap_or_else(|| panic!("{n} not in the files pane:\n{text}"))
        })
        .collect();
    assert!(
        rows.windows(2).all(|w| w[1] == w[0] + 1),
        "{rows:?}\n{text}"
    );
}

#[test]
fn every_sample_opens_with_a_two_line_lesson_the_editor_shows_whole() {
    for name in TOUR {
        let code = std::fs::read_to_string(samples().join(name)).unwrap();
        let lesson: Vec<&str> = code.lines().take(2).collect();
        for line in &lesson {
            assert!(
                line.starts_with("// ") && line.len() > 20,
                "{name}: {line:?}"
            );
        }
        // At 160×48 (the README's size) the editor shows both lines whole.
        let text = screen(&playground_on(name), 160, 48);
        for (i, line) in lesson.iter().enumerate() {
            let row = format!(
                "{:>w$} {line}",
                i + 1,
                w = code.lines().count().to_string().len()
            );
            assert!(
                text.lines().any(|l| l.contains(&format!("{row} "))),
                "{name}: lesson line {} is cut:\n{text}",
                i + 1
            );
        }
    }
}

fn engine_with(n: usize, mode: Mode, limits: Limits) -> Engine {
    Engine::new(EngineConfig {
        isolates: n,
        mode,
        limits,
        ..config()
    })
}

#[test]
fn isolation_each_isolate_counts_its_own_runs_and_a_context_forgets() {
    let mut e = engine(4, Mode::Warm);
    e.set_source(sample("01-isolation.js"));
    let invs = run(&mut e, 3);
    let last: Vec<_> = invs.iter().filter(|i| i.seq == 3).collect();
    assert_eq!(last.len(), 4);
    for i in last {
        assert_eq!(
            i.outcome.as_deref(),
            Ok("this isolate has counted to 3"),
            "isolate {}",
            i.worker
        );
    }
    for mode in [Mode::Context, Mode::Cold] {
        e.set_mode(mode);
        let r = results(&run(&mut e, 2));
        assert!(
            r.iter().all(|x| x == "this isolate has counted to 1"),
            "{mode}: {r:?}"
        );
    }
}

#[test]
fn the_snapshot_sample_runs_lodash_in_every_mode_with_or_without_a_payload() {
    let want = "[\n  { customer: 'cy', items: [ 'pen' ], total: 20 },\n  \
                { customer: 'ada', items: [ 'pad', 'pen' ], total: 14.5 },\n  \
                { customer: 'bob', items: [ 'ink', 'pad' ], total: 11.75 }\n]";
    for mode in [Mode::Warm, Mode::Context, Mode::Cold] {
        let mut e = engine(2, mode);
        e.set_source(sample("03-snapshot.mjs"));
        let r = results(&run(&mut e, 2));
        assert!(r.iter().all(|x| x == want), "{mode}: {r:?}");
    }
    // The library is the ~70 KB the lesson says, shipped with its license.
    let code = std::fs::read_to_string(samples().join("03-snapshot.mjs")).unwrap();
    assert!((70_000..80_000).contains(&code.len()), "{}", code.len());
    assert!(code.contains("lodash 4.17.21") && code.contains("03-snapshot.LICENSE"));
    let license = std::fs::read_to_string(samples().join("03-snapshot.LICENSE")).unwrap();
    assert!(license.contains("Permission is hereby granted, free of charge"));
    // A payload's orders are used; one that is not a list falls back.
    let mut e = Engine::new(EngineConfig {
        isolates: 1,
        payload: r#"{"orders":[{"customer":"zoe","item":"pen","price":2,"qty":1}]}"#.into(),
        ..config()
    });
    e.set_source(sample("03-snapshot.mjs"));
    assert_eq!(
        results(&run(&mut e, 1)),
        ["[ { customer: 'zoe', items: [ 'pen' ], total: 2 } ]"]
    );
    let mut e = Engine::new(EngineConfig {
        isolates: 1,
        payload: r#"{"orders":"nope"}"#.into(),
        ..config()
    });
    e.set_source(sample("03-snapshot.mjs"));
    assert_eq!(results(&run(&mut e, 1)), [want]);
}

#[test]
fn external_memory_is_stopped_by_its_budget_not_the_heap_limit() {
    // A 16 MiB heap and a 24 MiB budget: the buffers pass the heap limit
    // (they are not on the heap) and stop at the budget.
    let limits = Limits {
        heap_bytes: 16 << 20,
        external_bytes: 24 << 20,
        ..Limits::default()
    };
    for mode in [Mode::Warm, Mode::Cold] {
        let mut e = engine_with(2, mode, limits);
        e.set_source(sample("05-external-memory.js"));
        for i in run(&mut e, 1) {
            let err = i.outcome.as_ref().expect_err("stopped");
            assert_eq!(err.kind, ErrorKind::Exception, "{mode}: {err:?}");
            assert!(
                err.message.contains("external-memory budget of 24 MiB")
                    && err.message.contains("24.0 MiB in use"),
                "{mode}: {}",
                err.message
            );
        }
    }
}

#[test]
fn the_time_limits_sample_is_stopped_by_the_wall_clock_or_the_cpu_limit() {
    let wall = Limits {
        timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    let cpu = Limits {
        cpu: Some(Duration::from_millis(50)),
        ..Limits::default()
    };
    for (limits, kind) in [(wall, ErrorKind::Timeout), (cpu, ErrorKind::CpuLimit)] {
        let mut e = engine_with(2, Mode::Warm, limits);
        e.set_source(sample("06-time-limits.js"));
        for i in run(&mut e, 1) {
            let err = i.outcome.as_ref().expect_err("stopped");
            assert_eq!(err.kind, kind, "{}", err.message);
        }
        // The isolates were replaced and run the next version.
        e.set_source(src("06-time-limits.js", "'fixed'"));
        assert_eq!(results(&run(&mut e, 1)), ["fixed", "fixed"]);
    }
}
