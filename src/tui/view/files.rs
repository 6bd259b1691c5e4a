//! The Files pane: the watched files, named relative to the root and
//! elided in the middle when long (`very-long-…-name.js`), so two names
//! never look the same; a mark says unsaved, failing or changed on disk.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState};

use super::{block_in, fit, focused, shown_path};
use crate::tui::action::Pane;
use crate::tui::state::State;

/// The watched files: `*` unsaved, `!` failing (in red), `~` changed on disk.
pub fn render(f: &mut Frame, area: Rect, s: &State) {
    // Borders and the mark.
    let name_w = area.width.saturating_sub(3) as usize;
    let names: Vec<String> = s.files.iter().map(|f| shown_path(s, &f.path)).collect();
    let names = fit::elide_distinct(&names, name_w);
    let items: Vec<ListItem> = s
        .files
        .iter()
        .zip(names)
        .map(|(file, name)| {
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
    let list = List::new(items)
        .block(block_in(
            area,
            &format!("Files ({})", s.files.len()),
            focused(s, Pane::Files),
        ))
        .highlight_style(Style::default().bg(Color::Rgb(50, 50, 70)));
    let mut st = ListState::default().with_selected(Some(s.selected_file));
    f.render_stateful_widget(list, area, &mut st);
}
