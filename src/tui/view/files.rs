//! The Files pane: the files under the root, nested ones by their path
//! relative to it (`lib/util.js`), elided in the middle when long
//! (`very-long-…-name.js`) so two names never look the same; a mark says
//! unsaved, failing or changed on disk. While a filter is typed its text
//! takes the first row and the list shows the files that match; an empty
//! folder shows what to do instead of a list; a bound that left files out
//! is said on the last row.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph, Wrap};

use super::{block_in, fit, focused, shown_path};
use crate::tui::action::Pane;
use crate::tui::state::State;

const DIM: Style = Style::new().fg(Color::DarkGray);

/// Where the list's rows go inside the pane at `area` (below the filter
/// row, above the row that says what was left out). The view draws there
/// and mouse clicks are hit-tested against it.
pub fn list_area(area: Rect, s: &State) -> Rect {
    let mut inner = Rect {
        x: area.x + 1,
        y: area.y + 1,
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    };
    if s.filter.is_some() && inner.height > 1 {
        inner.y += 1;
        inner.height -= 1;
    }
    if s.files_cut.is_some() && inner.height > 2 {
        inner.height -= 1;
    }
    inner
}

/// The first list row shown (an index into `State::shown_files`): the
/// selected file stays visible, at the bottom when below the first
/// screenful, as the isolates table does.
pub fn first_row(s: &State, visible: usize) -> usize {
    let shown = s.shown_files();
    let at = shown
        .iter()
        .position(|&i| i == s.selected_file)
        .unwrap_or(0);
    super::isolates::first_row(at, shown.len(), visible)
}

/// The file drawn at screen row `y` of the pane at `area`, if any (an
/// index into `State::files`).
pub fn file_at(area: Rect, s: &State, y: u16) -> Option<usize> {
    let list = list_area(area, s);
    if y < list.y || y >= list.y + list.height {
        return None;
    }
    let first = first_row(s, list.height as usize);
    s.shown_files().get(first + (y - list.y) as usize).copied()
}

/// The watched files: `*` unsaved, `!` failing (in red), `~` changed on disk.
pub fn render(f: &mut Frame, area: Rect, s: &State) {
    let shown = s.shown_files();
    let title = match &s.filter {
        Some(_) => format!("Files {} of {}", shown.len(), s.files.len()),
        None => format!("Files ({})", s.files.len()),
    };
    let b = block_in(area, &title, focused(s, Pane::Files));
    let inner = b.inner(area);
    f.render_widget(b, area);
    let list_rect = list_area(area, s);
    if let Some(filter) = &s.filter {
        let row = Rect { height: 1, ..inner };
        let text = fit::elide_start(filter, (row.width as usize).saturating_sub(2));
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled("/", Style::default().fg(Color::Yellow)),
                Span::styled(text, Style::default().add_modifier(Modifier::BOLD)),
                Span::styled("▏", Style::default().fg(Color::Yellow)),
            ])),
            row,
        );
    }
    if let Some(cut) = &s.files_cut {
        let row = Rect {
            y: list_rect.y + list_rect.height,
            height: 1,
            ..list_rect
        };
        if list_rect.y + list_rect.height < inner.y + inner.height {
            f.render_widget(
                Paragraph::new(Span::styled(
                    fit::elide_end(cut, row.width as usize),
                    Style::default().fg(Color::Yellow),
                )),
                row,
            );
        }
    }
    if s.files.is_empty() {
        // Most needed first: a narrow pane cuts the example.
        let hint = vec![
            Line::from(Span::styled(
                "No .js or .mjs files yet.",
                Style::default().fg(Color::Yellow),
            )),
            Line::from(format!(
                "Create one here, e.g. hello.js: it shows up at once{}.",
                crate::tui::keymap::key_says(s, &crate::tui::action::Action::Open, "opens it")
                    .map_or(String::new(), |k| format!("; {k}"))
            )),
            Line::from(Span::styled(
                "'Hello, ' + 'world'",
                Style::default().fg(Color::Green),
            )),
        ];
        f.render_widget(Paragraph::new(hint).wrap(Wrap { trim: true }), list_rect);
        return;
    }
    if shown.is_empty() {
        f.render_widget(
            Paragraph::new(Span::styled("no match", DIM)).wrap(Wrap { trim: true }),
            list_rect,
        );
        return;
    }
    // The mark takes a cell.
    let name_w = list_rect.width.saturating_sub(1) as usize;
    let names: Vec<String> = shown
        .iter()
        .map(|&i| shown_path(s, &s.files[i].path))
        .collect();
    let names = fit::elide_distinct(&names, name_w);
    let items: Vec<ListItem> = shown
        .iter()
        .zip(names)
        .map(|(&i, name)| {
            let file = &s.files[i];
            let open = s.open.as_ref().filter(|o| o.path == file.path);
            let unsaved = open.is_some_and(|o| o.unsaved());
            let mark = if unsaved {
                ("*", Color::Yellow)
            } else if file.failing {
                ("!", Color::Red)
            } else if file.changed_on_disk {
                ("~", Color::Cyan)
            } else {
                (" ", Color::Reset)
            };
            let mut style = if open.is_some() {
                Style::default().add_modifier(Modifier::BOLD)
            } else {
                Style::default()
            };
            if file.failing {
                style = style.fg(Color::Red);
            }
            ListItem::new(Line::from(vec![
                Span::styled(
                    mark.0,
                    Style::default().fg(mark.1).add_modifier(Modifier::BOLD),
                ),
                Span::styled(name, style),
            ]))
        })
        .collect();
    let list = List::new(items).highlight_style(Style::default().bg(Color::Rgb(50, 50, 70)));
    let selected = shown.iter().position(|&i| i == s.selected_file);
    let mut st = ListState::default()
        .with_offset(first_row(s, list_rect.height as usize))
        .with_selected(selected);
    f.render_stateful_widget(list, list_rect, &mut st);
}
