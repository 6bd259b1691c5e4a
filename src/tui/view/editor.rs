use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{block, focused};
use crate::tui::action::Pane;
use crate::tui::state::State;

/// The open file with line numbers, highlighting (when it has arrived for
/// this revision), the cursor, and the last error's line marked.
pub fn render(f: &mut Frame, area: Rect, s: &State) {
    let Some(open) = &s.open else {
        f.render_widget(
            Paragraph::new("no file open").block(block("Editor".into(), false)),
            area,
        );
        return;
    };
    let mut title = format!(
        "Editor: {}",
        open.name.rsplit('/').next().unwrap_or(&open.name)
    );
    if open.unsaved() {
        title.push_str(" [unsaved]");
    }
    if open.deleted {
        title.push_str(" [deleted on disk]");
    } else if open.disk_conflict {
        title.push_str(" [changed on disk]");
    }
    let is_focused = focused(s, Pane::Editor);
    let b = block(title, is_focused);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let height = inner.height as usize;
    let (row, col) = open.buffer.cursor;
    // Keep the cursor visible without mutating the model: derive the scroll.
    let scroll = (row + 1).saturating_sub(height.max(1));
    let marker = s.error_marker().and_then(|e| e.location.clone());
    let gutter = format!("{}", open.buffer.lines.len()).len().max(2);
    let hl = s
        .highlight
        .as_ref()
        .filter(|h| h.0 == open.buffer.revision)
        .map(|h| &h.1);
    let lines: Vec<Line> = (scroll..(scroll + height).min(open.buffer.lines.len()))
        .map(|i| {
            let marked = marker.as_ref().is_some_and(|m| m.line as usize == i + 1);
            let num_style = if marked {
                Style::default()
                    .fg(Color::White)
                    .bg(Color::Red)
                    .add_modifier(Modifier::BOLD)
            } else {
                Style::default().fg(Color::DarkGray)
            };
            let mut spans = vec![Span::styled(
                format!("{:>gutter$}{}", i + 1, if marked { "▶" } else { " " }),
                num_style,
            )];
            match hl.and_then(|h| h.get(i)) {
                Some(pieces) => {
                    spans.extend(pieces.iter().map(|(st, t)| Span::styled(t.clone(), *st)))
                }
                None => spans.push(Span::raw(open.buffer.lines[i].clone())),
            }
            let mut line = Line::from(spans);
            if marked {
                line = line.style(Style::default().bg(Color::Rgb(70, 20, 20)));
            }
            line
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
    if is_focused {
        let x = inner.x + gutter as u16 + 1 + col as u16;
        let y = inner.y + (row - scroll) as u16;
        if x < inner.right() && y < inner.bottom() {
            f.set_cursor_position(Position::new(x, y));
        }
    }
}
