//! The editor pane: the open file's visible rows and columns, drawn by
//! screen column (tabs to the next multiple of
//! [`TAB_WIDTH`](crate::tui::editor::TAB_WIDTH), wide
//! characters two cells, control characters as `^X`), with the cursor's
//! line and column on the top border.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_segmentation::UnicodeSegmentation;

use super::{block, fit, focused};
use crate::tui::action::Pane;
use crate::tui::editor::{Glyph, caret, glyph, walk};
use crate::tui::state::State;

/// How control characters in the text are drawn.
const CONTROL: Style = Style::new()
    .fg(Color::DarkGray)
    .add_modifier(Modifier::REVERSED);

/// Where the text goes in the editor pane at `area` for `lines` lines of
/// text: the cells right of the line-number gutter, inside the border.
/// Drawing and click hit-testing both use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextArea {
    /// The text's cells (the gutter, `gutter` + 1 cells, is left of it).
    pub text: Rect,
    /// Digits of the line numbers.
    pub gutter: usize,
}

/// The [`TextArea`] of the editor pane at `area` for a buffer of `lines`
/// lines.
pub fn text_area(area: Rect, lines: usize) -> TextArea {
    let inner = Rect {
        x: area.x.saturating_add(1),
        y: area.y.saturating_add(1),
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    };
    let gutter = format!("{lines}").len().max(2);
    let skip = (gutter + 1).min(usize::from(inner.width)) as u16;
    TextArea {
        text: Rect {
            x: inner.x + skip,
            width: inner.width - skip,
            ..inner
        },
        gutter,
    }
}

/// The rows and columns of text the editor pane at `area` shows for the
/// open file (0 × 0 without one).
pub fn text_size(area: Rect, s: &State) -> (usize, usize) {
    s.open.as_ref().map_or((0, 0), |o| {
        let t = text_area(area, o.buffer.lines.len()).text;
        (usize::from(t.height), usize::from(t.width))
    })
}

/// The text position drawn at screen cell (`x`, `y`) of the editor pane
/// at `area`: (line, screen column), both from 0, as
/// `Buffer::move_to` takes them. A click on the gutter is the line's first
/// column shown; below the last line, the last line. None outside the
/// pane's inside or without an open file.
pub fn cell_at(area: Rect, s: &State, x: u16, y: u16) -> Option<(usize, usize)> {
    let buffer = &s.open.as_ref()?.buffer;
    let ta = text_area(area, buffer.lines.len());
    let t = ta.text;
    let gutter_x = t.x - (ta.gutter as u16 + 1).min(t.x);
    if y < t.y || y >= t.bottom() || x < gutter_x || x >= t.right() {
        return None;
    }
    let rows = buffer.rows_shown(usize::from(t.height));
    let first_col = buffer.first_col_shown(usize::from(t.width));
    let line = rows.start + usize::from(y - t.y);
    Some((line, first_col + usize::from(x.saturating_sub(t.x))))
}

/// The open file with line numbers, highlighting (for lines whose text the
/// last highlight result still matches; plain until then), the cursor, and
/// the last error's line marked. Rows and columns shown follow the cursor.
pub fn render(f: &mut Frame, area: Rect, s: &State) {
    let Some(open) = &s.open else {
        f.render_widget(
            Paragraph::new("no file open").block(block("Editor".into(), false)),
            area,
        );
        return;
    };
    // The markers are kept whole; the name is elided to leave them room.
    let mut marks = String::new();
    if open.unsaved() {
        marks.push_str(" [unsaved]");
    }
    if open.deleted {
        marks.push_str(" [deleted on disk]");
    } else if open.disk_conflict {
        marks.push_str(" [changed on disk]");
    }
    let name = open.name.rsplit('/').next().unwrap_or(&open.name);
    let room = usize::from(area.width).saturating_sub(2 + fit::width(&marks));
    let title = if fit::width("Editor: ") + 4 <= room {
        format!(
            "Editor: {}{marks}",
            fit::elide_middle(name, room - fit::width("Editor: "))
        )
    } else {
        format!("{}{marks}", fit::elide_middle(name, room))
    };
    let buffer = &open.buffer;
    let (row, _) = buffer.cursor;
    let row = row.min(buffer.lines.len() - 1);
    let col = buffer.cursor_col();
    // Line and screen column, both from 1, where they fit beside the title.
    let room = usize::from(area.width).saturating_sub(fit::width(&title) + 6);
    let readout = [
        format!("Ln {}, Col {}", row + 1, col + 1),
        format!("{}:{}", row + 1, col + 1),
    ]
    .into_iter()
    .find(|r| r.len() <= room);
    let is_focused = focused(s, Pane::Editor);
    let mut b = block(title, is_focused);
    if let Some(r) = readout {
        b = b.title_top(Line::from(format!(" {r} ")).right_aligned());
    }
    let inner = b.inner(area);
    f.render_widget(b, area);

    let ta = text_area(area, buffer.lines.len());
    let gutter = ta.gutter;
    let text_width = usize::from(ta.text.width);
    let rows = buffer.rows_shown(usize::from(inner.height));
    let first_col = buffer.first_col_shown(text_width);
    // The error's line as mapped into the edited text; not marked when
    // the edits make it uncertain (Results says so).
    let marker = s.error_marker().and_then(|m| m.line);
    let hl = s.highlight.as_ref().map(|h| &h.1);
    let lines: Vec<Line> = rows
        .clone()
        .map(|i| {
            let text = buffer.lines[i].as_str();
            let marked = marker == Some(i + 1);
            let num_style = if marked {
                Style::default()
                    .fg(Color::White)
                    .bg(Color::Red)
                    .add_modifier(Modifier::BOLD)
            } else {
                Style::default().fg(Color::DarkGray)
            };
            // ‹: the line goes on to the left of the columns shown.
            let edge = if marked {
                "▶"
            } else if first_col > 0 && !text.is_empty() {
                "‹"
            } else {
                " "
            };
            let mut spans = vec![Span::styled(format!("{:>gutter$}{edge}", i + 1), num_style)];
            let pieces = hl
                .and_then(|h| h.line(i))
                .filter(|p| same_text(p, text))
                .map(|p| p.iter().map(|(st, t)| (*st, t.as_str())).collect())
                .unwrap_or_else(|| vec![(Style::default(), text)]);
            spans.extend(columns(pieces, first_col, text_width));
            let mut line = Line::from(spans);
            if marked {
                line = line.style(Style::default().bg(Color::Rgb(70, 20, 20)));
            }
            line
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
    if is_focused && col >= first_col {
        let x = usize::from(ta.text.x) + (col - first_col);
        let y = inner.y as usize + (row - rows.start);
        if x < usize::from(inner.right()) && y < usize::from(inner.bottom()) {
            f.set_cursor_position(Position::new(x as u16, y as u16));
        }
    }
}

/// Whether styled `pieces` spell exactly `text`.
fn same_text(pieces: &[(Style, String)], text: &str) -> bool {
    let mut rest = text;
    for (_, p) in pieces {
        match rest.strip_prefix(p.as_str()) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

/// The spans that draw screen columns `from..from + width` of a line given
/// as styled pieces: tabs become spaces, control characters `^X`, and a
/// wide character cut by either edge becomes blanks.
fn columns(pieces: Vec<(Style, &str)>, from: usize, width: usize) -> Vec<Span<'static>> {
    let end = from + width;
    let mut out: Vec<Span<'static>> = Vec::new();
    let mut push = |style: Style, s: &str| match out.last_mut() {
        Some(last) if last.style == style => last.content.to_mut().push_str(s),
        _ => out.push(Span::styled(s.to_string(), style)),
    };
    let mut col = 0;
    for (style, text) in pieces {
        // Columns left of the view are counted, not drawn.
        let (skip, at) = if col < from {
            walk(text, col, from)
        } else {
            (0, col)
        };
        col = at;
        for g in text[skip..].graphemes(true) {
            if col >= end {
                return out;
            }
            let glyph = glyph(g, col);
            let next = col + glyph.width();
            if next <= from {
                col = next;
                continue;
            }
            if col < from || next > end {
                push(style, &" ".repeat(next.min(end) - col.max(from)));
            } else {
                match glyph {
                    Glyph::Text(s, _) => push(style, s),
                    Glyph::Tab(w) => push(style, &" ".repeat(w)),
                    Glyph::Control(c) => push(CONTROL, &caret(c)),
                }
            }
            col = next;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Mode;
    use crate::tui::state::OpenFile;

    fn with_text(text: &str) -> State {
        let mut s = State::new("x".into(), Mode::Warm, 1, 64 << 20);
        s.open = Some(OpenFile {
            buffer: crate::tui::editor::Buffer::new(text),
            ..Default::default()
        });
        s
    }

    /// A click maps to the cell's line and screen column as drawn: after
    /// the border and the gutter, from the first row and column shown.
    #[test]
    fn cells_map_to_lines_and_columns_as_drawn() {
        let area = Rect::new(10, 5, 40, 12);
        let s = with_text("日本語\n\tx\nlast");
        // Border at x 10, gutter "NN" + edge at 11–13, text from 14.
        let t = text_area(area, 3).text;
        assert_eq!((t.x, t.y, t.width, t.height), (14, 6, 35, 10));
        assert_eq!(cell_at(area, &s, 14, 6), Some((0, 0)));
        assert_eq!(cell_at(area, &s, 17, 6), Some((0, 3)));
        assert_eq!(cell_at(area, &s, 19, 7), Some((1, 5)));
        // The gutter is the first column shown; below the text, lines past
        // the end (move_to takes the last); the border is outside.
        assert_eq!(cell_at(area, &s, 11, 7), Some((1, 0)));
        assert_eq!(cell_at(area, &s, 20, 12), Some((6, 6)));
        assert_eq!(cell_at(area, &s, 10, 7), None);
        assert_eq!(cell_at(area, &s, 20, 5), None);
        assert_eq!(cell_at(area, &s, 49, 7), None);
        assert_eq!(cell_at(area, &s, 20, 16), None);
        // Scrolled: rows and columns start where the view does.
        let long: Vec<String> = (0..50)
            .map(|i| format!("{i} {}", "x".repeat(100)))
            .collect();
        let mut s = with_text(&long.join("\n"));
        let open = s.open.as_mut().unwrap();
        open.buffer.cursor = (40, 90);
        let (rows, cols) = text_size(area, &s);
        let b = &s.open.as_ref().unwrap().buffer;
        let (first_row, first_col) = (b.rows_shown(rows).start, b.first_col_shown(cols));
        assert!(first_row > 0 && first_col > 0);
        assert_eq!(cell_at(area, &s, 14, 6), Some((first_row, first_col)));
    }

    fn drawn(text: &str, from: usize, width: usize) -> String {
        columns(vec![(Style::default(), text)], from, width)
            .iter()
            .map(|s| s.content.as_ref())
            .collect()
    }

    #[test]
    fn tabs_wide_characters_and_controls_take_their_columns() {
        assert_eq!(drawn("\treturn", 0, 20), "    return");
        assert_eq!(drawn("ab\tc", 0, 20), "ab  c");
        assert_eq!(drawn("日本語", 1, 4), " 本 ");
        assert_eq!(drawn("a\rb\x1b", 0, 20), "a^Mb^[");
        assert_eq!(drawn("e\u{301}x", 0, 20), "e\u{301}x");
    }

    #[test]
    fn only_the_columns_asked_for_are_drawn() {
        let line = "0123456789".repeat(30);
        assert_eq!(drawn(&line, 260, 10), "0123456789");
        assert_eq!(drawn(&line, 295, 10), "56789");
        assert_eq!(drawn("日本語", 3, 4), " 語");
        assert_eq!(drawn("a\tb", 2, 4), "  b");
    }

    #[test]
    fn stale_pieces_are_not_used_for_changed_text() {
        let p = vec![
            (Style::default(), "ab".to_string()),
            (Style::default(), "c".into()),
        ];
        assert!(same_text(&p, "abc"));
        assert!(!same_text(&p, "abcd"));
        assert!(!same_text(&p, "abd"));
    }
}
