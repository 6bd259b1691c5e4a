//! The editor's text model on screen and on disk: the editor pane cut out
//! of a full TestBackend frame (tabs, wide characters, combining marks,
//! control characters, horizontal scrolling, the line:column readout, the
//! cursor cell), and files with CRLF, no final newline or invalid UTF-8
//! opened and saved through the app against a real engine.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use isolate_play::engine::{EngineConfig, Mode};
use isolate_play::tui::action::{Action, EditAction, Pane};
use isolate_play::tui::app::App;
use isolate_play::tui::editor::Buffer;
use isolate_play::tui::state::{FileEntry, Highlighted, OpenFile, State};
use isolate_play::tui::view;
use ratatui::Terminal;
use ratatui::backend::{Backend, TestBackend};
use ratatui::buffer::{Buffer as Cells, CellWidth};
use ratatui::layout::Position;
use ratatui::style::{Color, Modifier, Style};

fn state_with(code: &str, cursor: (usize, usize)) -> State {
    let mut s = State::new(PathBuf::from("t"), Mode::Warm, 1, 64 << 20);
    s.files = vec![FileEntry {
        path: PathBuf::from("t/text.js"),
        name: "t/text.js".into(),
        ..Default::default()
    }];
    let mut buffer = Buffer::new(code);
    buffer.cursor = cursor;
    s.open = Some(OpenFile {
        path: PathBuf::from("t/text.js"),
        name: "t/text.js".into(),
        buffer,
        saved_text: code.into(),
        ..Default::default()
    });
    s.focus = Pane::Editor;
    s
}

/// The frame's cells and the cursor position.
fn frame(s: &State, w: u16, h: u16) -> (Cells, Position) {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view::render(f, s)).unwrap();
    let cursor = t.backend_mut().get_cursor_position().unwrap();
    (t.backend().buffer().clone(), cursor)
}

/// The editor pane's box: (left, top, right, bottom), borders included.
fn editor_box(cells: &Cells) -> (u16, u16, u16, u16) {
    let a = cells.area;
    for y in 0..a.height {
        for x in 0..a.width {
            let word: String = (x..(x + 7).min(a.width))
                .map(|x| cells[(x, y)].symbol())
                .collect();
            if word == "┌Editor" {
                let right = (x + 1..a.width)
                    .find(|&r| cells[(r, y)].symbol() == "┐")
                    .unwrap();
                let bottom = (y + 1..a.height)
                    .find(|&b| cells[(x, b)].symbol() == "└")
                    .unwrap();
                return (x, y, right, bottom);
            }
        }
    }
    panic!("no editor pane on screen");
}

/// The editor pane as text, one line per row (a wide character's second
/// cell is not repeated).
fn editor_text(cells: &Cells) -> String {
    let (l, t, r, b) = editor_box(cells);
    let mut out = String::new();
    for y in t..=b {
        let mut x = l;
        while x <= r {
            let sym = cells[(x, y)].symbol();
            out.push_str(sym);
            x += sym.cell_width().max(1);
        }
        out.push('\n');
    }
    out
}

const TEXT: &str = "function f(a) {\n\treturn a;\t// tab\n}\nconst s = '日本語 😀 é';\nconst t = 'e\u{301}te\u{301}';\nlet cr = 1;\r\n";

#[test]
fn snapshot_tabs_wide_characters_and_combining_marks() {
    // The cursor after End on the wide line.
    let mut s = state_with(TEXT, (3, 0));
    s.open.as_mut().unwrap().buffer.apply(&EditAction::End);
    let (cells, cursor) = frame(&s, 120, 30);
    insta::assert_snapshot!("editor_text_model_120x30", editor_text(&cells));
    let (l, t, ..) = editor_box(&cells);
    // Gutter "  4 " then the text: 24 columns wide, so the cursor sits
    // right after the closing quote.
    let text_x = l + 1 + 3;
    assert_eq!(cursor, Position::new(text_x + 24, t + 4));
    assert_eq!(cells[(text_x + 23, t + 4)].symbol(), ";");
    // The tab is drawn as spaces up to column 4.
    assert_eq!(cells[(text_x + 4, t + 2)].symbol(), "r");
    // The line:column readout, column in screen cells from 1.
    let top: String = (l..l + 80).map(|x| cells[(x, t)].symbol()).collect();
    assert!(top.contains(" Ln 4, Col 25 "), "{top}");
}

#[test]
fn snapshot_a_long_line_scrolls_to_show_the_cursor() {
    let line = format!("const long = \"{}END-MARKER\";", "x".repeat(240));
    assert_eq!(line.len(), 266);
    let code = format!("{line}\nlong.length\n");
    let mut s = state_with(&code, (0, 0));
    s.open.as_mut().unwrap().buffer.apply(&EditAction::End);
    let (cells, cursor) = frame(&s, 120, 30);
    insta::assert_snapshot!("editor_long_line_end_120x30", editor_text(&cells));
    let (_, t, r, _) = editor_box(&cells);
    assert_eq!(cursor.y, t + 1);
    assert!(cursor.x < r, "the cursor is inside the pane");
    assert_eq!(cells[(cursor.x - 1, cursor.y)].symbol(), ";");
    let top: String = (0..120).map(|x| cells[(x, t)].symbol()).collect();
    assert!(top.contains("Ln 1, Col 267"), "{top}");
    // Home brings the start of the line back.
    s.open.as_mut().unwrap().buffer.apply(&EditAction::Home);
    let (cells, _) = frame(&s, 120, 30);
    assert!(editor_text(&cells).contains("│ 1 const long = \"xxx"));
}

#[test]
fn control_characters_are_shown_not_sent() {
    let s = state_with("a\x1b[31mred\rb", (0, 0));
    let (cells, _) = frame(&s, 120, 30);
    let text = editor_text(&cells);
    assert!(text.contains("│ 1 a^[[31mred^Mb "), "{text}");
    let (l, t, ..) = editor_box(&cells);
    let caret = &cells[(l + 5, t + 1)];
    assert_eq!(caret.symbol(), "^");
    assert!(caret.modifier.contains(Modifier::REVERSED));
}

#[test]
fn highlight_colours_are_drawn_only_for_text_they_match() {
    let mut s = state_with("let a = 1;\nlet b = 2;", (0, 0));
    let green = Style::default().fg(Color::Green);
    let rev = s.open.as_ref().unwrap().buffer.revision;
    s.highlight = Some((
        rev,
        Highlighted {
            first: 0,
            lines: vec![
                vec![(green, "let".into()), (Style::default(), " a = 1;".into())],
                // Stale: the line now says something else.
                vec![(green, "let c = 3;".into())],
            ],
        },
    ));
    let (cells, _) = frame(&s, 120, 30);
    let (l, t, ..) = editor_box(&cells);
    let x = l + 4;
    assert_eq!(cells[(x, t + 1)].fg, Color::Green);
    assert_eq!(cells[(x + 4, t + 1)].fg, Color::Reset);
    assert_eq!(cells[(x, t + 2)].fg, Color::Reset, "stale colours unused");
    assert!(editor_text(&cells).contains("│ 2 let b = 2;"));
}

// ---- files on disk through the app ----

fn playground(files: &[(&str, &[u8])]) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap();
    for (n, bytes) in files {
        std::fs::write(dir.path().join(n), bytes).unwrap();
    }
    let app = App::new(
        dir.path().to_path_buf(),
        EngineConfig {
            isolates: 1,
            ..Default::default()
        },
    )
    .unwrap();
    (dir, app)
}

fn open(app: &mut App, name: &str) {
    app.apply(Action::Focus(Pane::Files));
    let i = app
        .state
        .files
        .iter()
        .position(|f| f.name.ends_with(name))
        .unwrap();
    app.state.selected_file = i;
    app.apply(Action::Open);
    app.apply(Action::Focus(Pane::Editor));
}

fn wait_for_a_result(app: &mut App) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !app.state.results.iter().any(|r| r.last.is_some()) {
        let r = app
            .engine
            .reports()
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("a result");
        app.on_report(r);
    }
}

#[test]
fn crlf_and_no_final_newline_survive_open_edit_save() {
    let crlf = b"function g() {\r\n  return 'crlf';\r\n}\r\ng()\r\n";
    let bare = b"'no newline'";
    let mixed = b"'a' +\r\n'b' +\n'c'\n";
    let (dir, mut app) = playground(&[("a.js", crlf), ("b.js", bare), ("c.js", mixed)]);
    wait_for_a_result(&mut app);

    open(&mut app, "a.js");
    assert!(
        !app.state.open.as_ref().unwrap().unsaved(),
        "opens unmodified"
    );
    for a in [EditAction::Down, EditAction::End, EditAction::Newline] {
        app.apply(Action::Edit(a));
    }
    app.apply(Action::Edit(EditAction::Paste("let x = 1;".into())));
    app.apply(Action::Save);
    assert_eq!(
        std::fs::read(dir.path().join("a.js")).unwrap(),
        b"function g() {\r\n  return 'crlf';\r\n  let x = 1;\r\n}\r\ng()\r\n"
    );

    open(&mut app, "b.js");
    app.apply(Action::Edit(EditAction::End));
    app.apply(Action::Edit(EditAction::Insert('!')));
    app.apply(Action::Edit(EditAction::Backspace));
    assert!(!app.state.open.as_ref().unwrap().unsaved());
    app.apply(Action::Edit(EditAction::Insert(';')));
    app.apply(Action::Save);
    assert_eq!(
        std::fs::read(dir.path().join("b.js")).unwrap(),
        b"'no newline';"
    );

    // Mixed endings: the untouched lines keep theirs.
    open(&mut app, "c.js");
    app.apply(Action::Edit(EditAction::Insert('1')));
    app.apply(Action::Save);
    assert_eq!(
        std::fs::read(dir.path().join("c.js")).unwrap(),
        b"1'a' +\r\n'b' +\n'c'\n"
    );
}

#[test]
fn a_file_that_is_not_utf8_is_refused_and_left_alone() {
    let bad: &[u8] = b"'ok';\n\xff\xfe binary \x00";
    let (dir, mut app) = playground(&[("a.js", b"'a'"), ("z.js", bad)]);
    wait_for_a_result(&mut app);
    open(&mut app, "a.js");
    app.apply(Action::Edit(EditAction::Insert('x')));
    open(&mut app, "z.js");
    // Unsaved edits: the switch asks first; yes.
    app.apply(Action::Confirm);
    let s = &app.state;
    assert!(s.message.contains("z.js"), "{}", s.message);
    assert!(s.message.contains("not UTF-8"), "{}", s.message);
    assert!(s.open.as_ref().unwrap().name.ends_with("a.js"));
    assert_eq!(std::fs::read(dir.path().join("z.js")).unwrap(), bad);
}
