//! Overlays: the help (every binding in force, from the one key table,
//! with the config's `[ui.keys]`), the yes/no prompt and the number prompt.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::config::{HEAP_MB, ISOLATES, TIMEOUT_MS};
use crate::metrics::fmt_duration;
use crate::tui::action::Setting;
use crate::tui::keymap::{self, Context};
use crate::tui::state::{Prompt, State, ValueEntry};

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [c] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    c
}

/// The colour of keys by where they work (the legend says which is which).
pub fn context_style(c: Context) -> Style {
    let color = match c {
        Context::Anywhere => Color::Cyan,
        Context::Panes => Color::Yellow,
        Context::Editor => Color::Green,
        _ => Color::White,
    };
    Style::default().fg(color).add_modifier(Modifier::BOLD)
}

/// Splits `text` into pieces of at most `width` characters at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut out = vec![String::new()];
    for word in text.split(' ') {
        let last = out.last_mut().expect("one line");
        let len = last.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            out.push(word.to_string());
        } else {
            if len > 0 {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    out
}

/// What the mouse does, for help and the README.
pub const MOUSE: &str = "Mouse: a click focuses a pane, selects a file (a second click opens it) \
or an isolate, or puts the editor's cursor where it is; the wheel scrolls the pane under the pointer. While the playground has the \
mouse, Shift+drag selects text in most terminals.";

/// The isolates table's columns and states, from the table's own names.
fn legend_lines(inner: usize) -> Vec<Line<'static>> {
    let (columns, states) = super::isolates::legend();
    let head = Style::default().add_modifier(Modifier::BOLD);
    let name_w = columns
        .iter()
        .map(|(h, _)| h.chars().count())
        .max()
        .unwrap_or(8)
        + 2;
    let mut lines = vec![Line::from(Span::styled("Isolates table", head))];
    for (h, what) in columns {
        let pieces = wrap(what, inner.saturating_sub(name_w));
        lines.push(Line::from(vec![
            Span::styled(format!("{h:<name_w$}"), Style::default().fg(Color::Gray)),
            Span::raw(pieces[0].clone()),
        ]));
        for p in &pieces[1..] {
            lines.push(Line::from(format!("{}{p}", " ".repeat(name_w))));
        }
    }
    lines.push(Line::from(Span::styled("States", head)));
    for (name, color, what) in states {
        lines.push(Line::from(vec![
            Span::styled(format!("{name:<name_w$}"), Style::default().fg(color)),
            Span::raw(what),
        ]));
    }
    lines
}

/// Every binding in force, from the key table; scrolls with ↑ ↓ when
/// taller than the screen (the title says which lines are shown).
pub fn render(f: &mut Frame, area: Rect, s: &State) {
    // The status bar (its last row) stays visible: it says what a key
    // pressed in help did, and how to close it.
    let area = if area.height > 8 {
        Rect {
            height: area.height - 1,
            ..area
        }
    } else {
        area
    };
    let w = area.width.min(78);
    let inner = usize::from(w.saturating_sub(2));
    let help = keymap::help_lines(&s.overrides);
    let key_text = |l: &keymap::HelpLine| {
        l.keys
            .iter()
            .map(|(_, k)| k.as_str())
            .collect::<Vec<_>>()
            .join("  ")
    };
    let key_w = help
        .iter()
        .map(|l| key_text(l).chars().count())
        .max()
        .unwrap_or(10)
        .min(inner / 2)
        + 2;
    let dim = Style::default().fg(Color::DarkGray);
    let mut lines: Vec<Line> = vec![Line::from(vec![
        Span::styled("anywhere", context_style(Context::Anywhere)),
        Span::styled(" · ", dim),
        Span::styled("outside the editor", context_style(Context::Panes)),
        Span::styled(" · ", dim),
        Span::styled("in the editor", context_style(Context::Editor)),
    ])];
    for l in &help {
        let mut spans = Vec::new();
        let mut used = 0;
        for (i, (ctx, keys)) in l.keys.iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw("  "));
                used += 2;
            }
            spans.push(Span::styled(keys.clone(), context_style(*ctx)));
            used += keys.chars().count();
        }
        if l.keys.is_empty() {
            spans.push(Span::styled("—", dim));
            used += 1;
        }
        // Keys the user bound to something else are named as theirs.
        let mut text = l.help.to_string();
        if !l.taken.is_empty() {
            let taken: Vec<String> = l
                .taken
                .iter()
                .map(|(k, name)| format!("{k} is your {name}"))
                .collect();
            text.push_str(&format!(" ({})", taken.join(", ")));
        }
        let pieces = wrap(&text, inner.saturating_sub(key_w));
        let pad = key_w.saturating_sub(used).max(1);
        spans.push(Span::raw(" ".repeat(pad)));
        spans.push(Span::raw(pieces[0].clone()));
        lines.push(Line::from(spans));
        for p in &pieces[1..] {
            lines.push(Line::from(format!(
                "{}{p}",
                " ".repeat(key_w.max(used + 1))
            )));
        }
    }
    if !s.overrides.0.is_empty() {
        lines.push(Line::from(Span::styled(
            "Your keys ([ui.keys] in the config file), before the above:",
            dim,
        )));
        for o in &s.overrides.0 {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("{:<key_w$}", o.key.label()),
                    context_style(o.context),
                ),
                Span::raw(format!("{} ({:?} = {:?})", o.name, o.written, o.name)),
            ]));
        }
    }
    let closes = keymap::labels(Context::Help, &crate::tui::action::Action::ToggleHelp);
    lines.push(Line::from(Span::styled(
        format!(
            "Files: * unsaved  ! failing  ~ changed on disk.  {} closes.",
            closes
                .iter()
                .take(2)
                .cloned()
                .collect::<Vec<_>>()
                .join(" or ")
        ),
        dim,
    )));
    for piece in wrap(MOUSE, inner) {
        lines.push(Line::from(Span::styled(piece, dim)));
    }
    lines.extend(legend_lines(inner));
    let h = (lines.len() as u16 + 2).min(area.height);
    let shown = usize::from(h.saturating_sub(2));
    let top = s.help_scroll.min(lines.len().saturating_sub(shown));
    let title = if shown < lines.len() {
        format!(
            " Keys {}–{} of {} (↑ ↓ scroll) ",
            top + 1,
            (top + shown).min(lines.len()),
            lines.len()
        )
    } else {
        " Keys ".to_string()
    };
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).scroll((top as u16, 0)).block(
            Block::default()
                .borders(Borders::ALL)
                .title(title)
                .border_style(Style::default().fg(Color::Cyan)),
        ),
        r,
    );
}

pub fn prompt(f: &mut Frame, area: Rect, p: &Prompt) {
    let text = match p {
        Prompt::QuitUnsaved => "Unsaved edits. Quit anyway and lose them? (y/n)",
        Prompt::SwitchUnsaved(_) => "Unsaved edits. Open another file and lose them? (y/n)",
        Prompt::OverwriteDisk => "The file changed on disk. Overwrite it with your text? (y/n)",
    };
    let ask = Style::default()
        .fg(Color::Yellow)
        .add_modifier(Modifier::BOLD);
    super::overlay(
        f,
        area,
        "",
        &[Line::from(Span::styled(text, ask))],
        Color::Yellow,
    );
}

/// A value prompt: what is asked with its range and current value, the
/// text typed so far with a cursor, then what Enter and Esc do, or why the
/// last Enter was refused.
pub fn entry(f: &mut Frame, area: Rect, e: &ValueEntry, s: &State) {
    let ask = Style::default()
        .fg(Color::Yellow)
        .add_modifier(Modifier::BOLD);
    let dim = Style::default().fg(Color::DarkGray);
    // A long payload shows its end (where typing goes), in a few rows.
    let room = usize::from(area.width.saturating_sub(6)).max(16);
    let (title, label, note) = match e.setting {
        Setting::Isolates => (
            "How many isolates?",
            format!(
                "Isolates ({}–{}, now {}): ",
                ISOLATES.min, ISOLATES.max, s.engine.isolates
            ),
            None,
        ),
        Setting::Timeout => (
            "Timeout per run",
            format!(
                "Timeout in ms ({}–{}, now {}): ",
                TIMEOUT_MS.min,
                TIMEOUT_MS.max,
                s.engine.timeout.as_millis()
            ),
            Some(format!(
                "a run longer than this is stopped (now {})",
                fmt_duration(s.engine.timeout)
            )),
        ),
        Setting::Heap => (
            "Heap limit per isolate",
            format!(
                "Heap limit in MiB ({}–{}, now {}): ",
                HEAP_MB.min,
                HEAP_MB.max,
                s.engine.heap_limit >> 20
            ),
            Some("each isolate is made anew with the new limit".to_string()),
        ),
        Setting::Payload => (
            "Payload (JSON)",
            "JSON: ".to_string(),
            Some(format!(
                "handlers get it as event.payload; now {}",
                super::fit::elide_middle(&s.engine.payload, room.saturating_sub(40).max(12))
            )),
        ),
    };
    let text = super::fit::elide_start(&e.text, room * 3);
    let mut lines = vec![Line::from(vec![
        Span::styled(label, ask),
        Span::styled(
            text,
            Style::default()
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
        ),
        Span::styled("▏", Style::default().fg(Color::Yellow)),
    ])];
    if let Some(n) = note {
        lines.push(Line::from(Span::styled(n, dim)));
    }
    lines.push(match &e.error {
        Some(err) => Line::from(Span::styled(err.clone(), Style::default().fg(Color::Red))),
        None => Line::from(Span::styled(keymap::tiny_hint(s), dim)),
    });
    super::overlay(f, area, title, &lines, Color::Yellow);
}
