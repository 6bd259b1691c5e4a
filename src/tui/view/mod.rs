//! Drawing: one function per pane, each reading `&State` only.

mod editor;
mod files;
mod help;
mod isolates;
mod results;
mod threads;
mod throughput;

pub use isolates::first_row as isolates_first_row;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::action::Pane;
use super::keymap;
use super::state::State;

/// Below this the panes are replaced by a one-screen summary.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

pub fn render(f: &mut Frame, s: &State) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        tiny(f, area, s);
        if let Some(e) = &s.entry {
            help::entry(f, area, e, s.engine.isolates);
        }
        return;
    }
    let threads_lines = threads::lines(s, area.width);
    let threads_h = threads_lines.len() as u16;
    let [main, threads_area, status] = Layout::vertical([
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
    let files_w = if area.width >= 120 { 24 } else { 17 };
    let [files_area, editor_area, results_area] = Layout::horizontal([
        Constraint::Length(files_w),
        Constraint::Percentage(if area.width >= 120 { 50 } else { 42 }),
        Constraint::Min(24),
    ])
    .areas(top);
    let [isolates_area, throughput_area] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(bottom);
    files::render(f, files_area, s);
    editor::render(f, editor_area, s);
    results::render(f, results_area, s);
    isolates::render(f, isolates_area, s);
    throughput::render(f, throughput_area, s);
    f.render_widget(
        Paragraph::new(threads_lines).style(Style::default().fg(Color::Gray)),
        threads_area,
    );
    status_bar(f, status, s);
    if s.help {
        help::render(f, area, s);
    }
    if let Some(p) = &s.prompt {
        help::prompt(f, area, p);
    }
    if let Some(e) = &s.entry {
        help::entry(f, area, e, s.engine.isolates);
    }
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

pub(crate) fn focused(s: &State, p: Pane) -> bool {
    s.focus == p && !s.modal()
}

fn run_state(s: &State) -> (&'static str, Color) {
    if s.engine.loading {
        ("RUNNING", Color::Green)
    } else {
        ("paused", Color::Yellow)
    }
}

fn status_bar(f: &mut Frame, area: Rect, s: &State) {
    let file = s.open.as_ref().map_or("(no file)".to_string(), |o| {
        let mut n = o.name.rsplit('/').next().unwrap_or(&o.name).to_string();
        if o.unsaved() {
            n.push('*');
        }
        n
    });
    let (run, color) = run_state(s);
    let mut spans = vec![
        Span::styled(
            format!(" {file} "),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(
            "v{} · {} · {} isolates · ",
            s.engine.version, s.engine.mode, s.engine.isolates
        )),
        Span::styled(run, Style::default().fg(color).add_modifier(Modifier::BOLD)),
        Span::raw(" │ "),
    ];
    if !s.message.is_empty() {
        spans.push(Span::styled(
            s.message.clone(),
            Style::default().fg(Color::White),
        ));
        spans.push(Span::raw(" │ "));
    }
    spans.push(Span::styled(
        keymap::hints_line(s),
        Style::default().fg(Color::DarkGray),
    ));
    f.render_widget(
        Paragraph::new(Line::from(spans)).style(Style::default().bg(Color::Rgb(30, 30, 40))),
        area,
    );
}

fn tiny(f: &mut Frame, area: Rect, s: &State) {
    let (ok, failed) = s.tally();
    let (run, _) = run_state(s);
    let file = s.open.as_ref().map_or("-", |o| o.name.as_str());
    let lines = vec![
        Line::from(Span::styled(
            "isolate-play",
            Style::default().add_modifier(Modifier::BOLD),
        )),
        Line::from(format!("{file} v{}", s.engine.version)),
        Line::from(format!(
            "{} · {} isolates · {run}",
            s.engine.mode, s.engine.isolates
        )),
        Line::from(format!("{ok} ok · {failed} failed · {:.0}/s", s.live.rate)),
        Line::from(format!(
            "terminal {}×{}: enlarge to {MIN_WIDTH}×{MIN_HEIGHT} for panes",
            area.width, area.height
        )),
        Line::from(keymap::tiny_hint(s)),
    ];
    let p = Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: true });
    f.render_widget(p, area);
}
