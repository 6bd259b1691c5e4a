//! Drawing: one function per pane, each reading `&State` only. The layout
//! is picked per terminal size (and exported, for hit-testing); every line
//! is fitted to its width by whole pieces (see `fit`), so a number is never
//! cut from its unit and a prompt is always on screen, at any size.

mod editor;
mod files;
pub mod fit;
mod help;
mod isolates;
pub mod ladder;
mod results;
mod threads;
mod throughput;

pub use editor::{cell_at as editor_cell_at, text_size as editor_text_size};
pub use files::{file_at, first_row as files_first_row, list_area as files_list_area};
pub use isolates::{first_row as isolates_first_row, legend as isolates_legend};
pub use results::{page as results_page, scroll_max as results_scroll_max};

use std::path::Path;

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::action::Pane;
use super::keymap;
use super::state::State;

/// Below this the panes are replaced by a one-screen summary.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

/// Where each pane goes on a screen of a given size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    /// The open file's lesson, across the top (no rows without one).
    pub lesson: Rect,
    pub files: Rect,
    pub editor: Rect,
    pub results: Rect,
    pub isolates: Rect,
    pub throughput: Rect,
    pub threads: Rect,
    pub status: Rect,
}

/// The panes' places on `area`; None below [`MIN_WIDTH`]×[`MIN_HEIGHT`]
/// (the one-screen summary instead).
pub fn layout(area: Rect, s: &State) -> Option<Areas> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    let threads_h = threads::lines(s, area.width).len() as u16;
    let lesson_h = s
        .lesson()
        .map_or(0, |l| lesson_rows(&l, area.width, area.height));
    let [lesson, main, threads, status] = Layout::vertical([
        Constraint::Length(lesson_h),
        Constraint::Min(0),
        Constraint::Length(threads_h),
        Constraint::Length(1),
    ])
    .areas(area);
    let top_share = if area.height >= 40 { 60 } else { 55 };
    let [top, bottom] = Layout::vertical([
        Constraint::Percentage(top_share),
        Constraint::Percentage(100 - top_share),
    ])
    .areas(main);
    let w = area.width;
    let files_w = match w {
        120.. => 24,
        90.. => 18,
        _ => 14,
    };
    let rest = w - files_w;
    let editor_w = rest * if w >= 120 { 55 } else { 50 } / 100;
    let [files, editor, results] = Layout::horizontal([
        Constraint::Length(files_w),
        Constraint::Length(editor_w),
        Constraint::Min(0),
    ])
    .areas(top);
    // The table needs its columns more than the numbers need room.
    let isolates_w = w * if w >= 120 { 58 } else { 62 } / 100;
    let [isolates, throughput] =
        Layout::horizontal([Constraint::Length(isolates_w), Constraint::Min(0)]).areas(bottom);
    Some(Areas {
        lesson,
        files,
        editor,
        results,
        isolates,
        throughput,
        threads,
        status,
    })
}

pub fn render(f: &mut Frame, s: &State) {
    let area = f.area();
    match layout(area, s) {
        None if s.ladder.open => ladder::render(f, area, s, true),
        None => tiny(f, area, s),
        Some(_) if s.ladder.open => {
            let [view, status] =
                Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
            ladder::render(f, view, s, false);
            status_bar(f, status, s);
        }
        Some(a) => {
            lesson(f, a.lesson, s);
            files::render(f, a.files, s);
            editor::render(f, a.editor, s);
            results::render(f, a.results, s);
            isolates::render(f, a.isolates, s);
            throughput::render(f, a.throughput, s);
            f.render_widget(
                Paragraph::new(threads::lines(s, area.width))
                    .style(Style::default().fg(Color::Gray)),
                a.threads,
            );
            status_bar(f, a.status, s);
            if s.help {
                help::render(f, area, s);
            }
        }
    }
    if s.help && s.ladder.open {
        help::render(f, area, s);
    }
    if let Some(p) = &s.prompt {
        help::prompt(f, area, p);
    }
    if let Some(e) = &s.entry {
        help::entry(f, area, e, s);
    }
}

/// Rows the lesson line takes on a screen `width`×`height`: one, or two
/// on a tall screen when it is longer than one row.
fn lesson_rows(lesson: &str, width: u16, height: u16) -> u16 {
    if height >= 40 && fit::width(lesson) + fit::width(LESSON_MARK) > usize::from(width) {
        2
    } else {
        1
    }
}

/// What starts the lesson line.
const LESSON_MARK: &str = " ▌ ";

/// The open file's lesson (its opening `//` lines), across the top:
/// word-wrapped to the rows it has, the last elided with "…".
fn lesson(f: &mut Frame, area: Rect, s: &State) {
    let Some(text) = s.lesson().filter(|_| area.height > 0) else {
        return;
    };
    let mark = fit::width(LESSON_MARK);
    let width = usize::from(area.width).saturating_sub(mark + 1).max(1);
    let rows = usize::from(area.height);
    let mut wrapped = fit::wrap(&text, width);
    if wrapped.len() > rows {
        let rest: Vec<String> = wrapped
            .split_off(rows - 1)
            .iter()
            .map(|r| r.trim_end().to_string())
            .collect();
        let rest = rest.join(" ");
        wrapped.push(fit::elide_end(&rest, width));
    }
    let style = Style::default()
        .fg(Color::Yellow)
        .add_modifier(Modifier::ITALIC);
    let lines: Vec<Line> = wrapped
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            Line::from(vec![
                Span::styled(
                    if i == 0 { LESSON_MARK } else { "   " },
                    Style::default().fg(Color::Yellow),
                ),
                Span::styled(row, style),
            ])
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).style(Style::default().bg(Color::Rgb(40, 35, 20))),
        area,
    );
}

pub(crate) fn block(title: String, focused: bool) -> Block<'static> {
    let style = if focused {
        Style::default()
            .fg(Color::Cyan)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::default().fg(Color::DarkGray)
    };
    Block::default()
        .borders(Borders::ALL)
        .border_style(style)
        .title(Span::styled(title, style))
}

/// [`block`] with its title elided in the middle to fit `area`'s border.
pub(crate) fn block_in(area: Rect, title: &str, focused: bool) -> Block<'static> {
    block(
        fit::elide_middle_whole(title, area.width.saturating_sub(2) as usize),
        focused,
    )
}

pub(crate) fn focused(s: &State, p: Pane) -> bool {
    s.focus == p && !s.modal()
}

/// `path` as shown: relative to the watched root (the root itself when it
/// is the one file).
pub(crate) fn shown_path(s: &State, path: &Path) -> String {
    match path.strip_prefix(&s.root) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
    }
}

/// `text` with the watched root's absolute (or given) prefix taken off
/// the paths in it.
pub(crate) fn relative(s: &State, text: &str) -> String {
    let mut m = text.to_string();
    if !m.contains('/') {
        return m;
    }
    for root in [
        s.root.canonicalize().ok(),
        std::path::absolute(&s.root).ok(),
        Some(s.root.clone()),
    ]
    .into_iter()
    .flatten()
    {
        let prefix = format!("{}/", root.display());
        if prefix.len() > 1 && m.contains(&prefix) {
            m = m.replace(&prefix, "");
        }
    }
    m
}

/// The status message, paths relative to the root.
pub(crate) fn shown_message(s: &State) -> String {
    relative(s, &s.message)
}

/// A box centred on `area` holding `lines` word-wrapped to fit: as wide as
/// its text (up to `area`), as tall as the wrapped text (up to `area`);
/// without borders when `area` is too small for them. Prompts and
/// overlays use it so that they are on screen whole at any size.
pub(crate) fn overlay(f: &mut Frame, area: Rect, title: &str, lines: &[Line<'_>], color: Color) {
    let text_w = lines.iter().map(Line::width).max().unwrap_or(0);
    let text_w = text_w.max(fit::width(title) + 2);
    let bordered = area.width >= 12 && area.height >= 3;
    let pad = if bordered { 4 } else { 0 };
    let w = (text_w as u16 + pad).min(area.width);
    let inner_w = w.saturating_sub(pad).max(1) as usize;
    let rows: Vec<Line> = lines
        .iter()
        .flat_map(|l| fit::wrap_line(l, inner_w))
        .collect();
    let border_h = if bordered { 2 } else { 0 };
    let h = (rows.len() as u16 + border_h).min(area.height);
    let [v] = Layout::vertical([Constraint::Length(h)])
        .flex(Flex::Center)
        .areas(area);
    let [r] = Layout::horizontal([Constraint::Length(w)])
        .flex(Flex::Center)
        .areas(v);
    f.render_widget(Clear, r);
    let mut p = Paragraph::new(rows).style(Style::default().bg(Color::Black));
    if bordered {
        let mut b = Block::default()
            .borders(Borders::ALL)
            .border_style(Style::default().fg(color));
        if !title.is_empty() {
            b = b.title(format!(" {title} "));
        }
        p = p.block(b.padding(ratatui::widgets::Padding::horizontal(1)));
    }
    f.render_widget(p, r);
}

fn run_state(s: &State) -> (&'static str, Color) {
    if s.engine.loading {
        ("RUNNING", Color::Green)
    } else {
        ("paused", Color::Yellow)
    }
}

/// The hints true in `s` (from the key table), as `keys label` pieces in
/// the table's order.
fn hint_pieces(s: &State) -> Vec<String> {
    keymap::hints(s)
        .iter()
        .map(|h| format!("{} {}", h.keys, h.label))
        .collect()
}

/// The hints, most important first: how to quit (or answer what is open)
/// and where help is, then the table's order.
fn hints_by_priority(s: &State) -> Vec<String> {
    let mut all = hint_pieces(s);
    all.sort_by_key(|h| !keymap::is_essential(h));
    all
}

/// The hints that fit `max` cells, whole, in the table's order.
fn hints(s: &State, max: usize) -> String {
    let by_priority = hints_by_priority(s);
    let refs: Vec<&str> = by_priority.iter().map(String::as_str).collect();
    let kept = fit::pick(&refs, "  ", max);
    hint_pieces(s)
        .into_iter()
        .filter(|h| kept.contains(&h.as_str()))
        .collect::<Vec<_>>()
        .join("  ")
}

/// File, version, mode, isolates and run state; the message (paths
/// relative to the root, elided in the middle); then whole hints. What
/// does not fit is dropped whole by priority (file, run state, how to
/// quit and get help, isolates, message, version, mode, other hints),
/// never cut.
fn status_bar(f: &mut Frame, area: Rect, s: &State) {
    let w = area.width as usize;
    let file = s.open.as_ref().map_or("(no file)".to_string(), |o| {
        let mut n = fit::elide_middle(&shown_path(s, &o.path), 24);
        if o.unsaved() {
            n.push('*');
        }
        n
    });
    let (run, color) = run_state(s);
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let by_priority = hints_by_priority(s);
    let essential: Vec<&str> = by_priority
        .iter()
        .map(String::as_str)
        .take_while(|h| keymap::is_essential(h))
        .collect();
    let essential = essential.join("  ");
    let sep = " │ ";
    // (priority, text, style) in display order; the message and the
    // other hints are fitted after these.
    let message = shown_message(s);
    // The message keeps this much room before version and mode.
    let message_min = if message.is_empty() {
        0
    } else {
        fit::width(sep) + fit::width(&message).min(24)
    };
    let pieces: Vec<(u8, String, Style)> = vec![
        (0, format!(" {file} "), bold),
        (5, format!("v{} · ", s.engine.version), Style::default()),
        (6, format!("{} · ", s.engine.mode), Style::default()),
        (
            3,
            format!(
                "{} · ",
                fit::plural(s.engine.isolates as u64, "isolate", "isolates")
            ),
            Style::default(),
        ),
        (1, run.to_string(), bold.fg(color)),
    ];
    let mut keep = vec![false; pieces.len()];
    let mut order: Vec<usize> = (0..pieces.len()).collect();
    order.sort_by_key(|&i| pieces[i].0);
    // The essential hints are kept before anything but file and run
    // state; the message's room before version and mode.
    let mut used = fit::width(sep) + fit::width(&essential);
    let mut reserved = false;
    for i in order {
        if pieces[i].0 > 3 && !reserved {
            reserved = true;
            used += message_min;
        }
        let pw = fit::width(&pieces[i].1);
        if used + pw <= w {
            used += pw;
            keep[i] = true;
        }
    }
    if !reserved {
        used += message_min;
    }
    used -= message_min.min(used);
    let mut spans: Vec<Span> = pieces
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|((_, t, st), _)| Span::styled(t, st))
        .collect();
    let room = w.saturating_sub(used);
    // A message cut to less than this says too little to be shown.
    let message_least = fit::width(&message).min(16);
    if !message.is_empty() && room >= fit::width(sep) + message_least {
        let budget = fit::width(&message).min(room - fit::width(sep));
        let m = fit::elide_middle_whole(&message, budget);
        used += fit::width(sep) + fit::width(&m);
        spans.push(Span::raw(sep));
        spans.push(Span::styled(m, Style::default().fg(Color::White)));
    }
    // The hints: the essential ones are paid for; others as they fit.
    let h = hints(s, w.saturating_sub(used) + fit::width(&essential));
    if !h.is_empty() {
        spans.push(Span::raw(sep));
        spans.push(Span::styled(h, Style::default().fg(Color::Gray)));
    }
    f.render_widget(
        Paragraph::new(Line::from(spans)).style(Style::default().bg(Color::Rgb(30, 30, 40))),
        area,
    );
}

/// Below the panes' minimum: what runs and how it went, in as many rows as
/// there are, most important first.
fn tiny(f: &mut Frame, area: Rect, s: &State) {
    let w = area.width as usize;
    let (run, color) = run_state(s);
    let file = s
        .open
        .as_ref()
        .map_or("(no file)".to_string(), |o| shown_path(s, &o.path));
    // Unsaved edits are marked at every size, as in the status bar.
    let unsaved = if s.open.as_ref().is_some_and(|o| o.unsaved()) {
        "*"
    } else {
        ""
    };
    let version = format!(" v{}", s.engine.version);
    let rate = match s.live.rate_window {
        Some(_) => crate::metrics::fmt_rate(s.live.rate),
        None => "—/s".into(),
    };
    let lines = [
        Line::from(vec![
            Span::styled(
                fit::elide_middle(
                    &file,
                    w.saturating_sub(fit::width(&version) + unsaved.len()),
                ),
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::styled(unsaved, Style::default().add_modifier(Modifier::BOLD)),
            Span::raw(version),
        ]),
        Line::from(vec![
            Span::styled(run, Style::default().fg(color).add_modifier(Modifier::BOLD)),
            Span::raw(format!(
                " · {} · {} · {rate}",
                s.engine.mode,
                fit::plural(s.engine.isolates as u64, "isolate", "isolates")
            )),
        ]),
        Line::from(Span::styled(hints(s, w), Style::default().fg(Color::Gray))),
        Line::from(Span::styled(
            format!(
                "{}×{}: enlarge to {MIN_WIDTH}×{MIN_HEIGHT} for panes",
                area.width, area.height
            ),
            Style::default().fg(Color::DarkGray),
        )),
        Line::from(Span::styled(
            shown_message(s),
            Style::default().fg(Color::White),
        )),
        Line::from(Span::styled(
            s.lesson().unwrap_or_default(),
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::ITALIC),
        )),
    ];
    let mut rows: Vec<Line> = lines[..2]
        .iter()
        .flat_map(|l| fit::wrap_line(l, w))
        .collect();
    rows.extend(results::glance(s, w, 2));
    rows.extend(lines[2..].iter().flat_map(|l| fit::wrap_line(l, w)));
    f.render_widget(Paragraph::new(rows), area);
    if s.help {
        help::render(f, area, s);
    }
}
