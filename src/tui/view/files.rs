use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState};

use super::{block, focused};
use crate::tui::action::Pane;
use crate::tui::state::State;

/// The watched files: `*` unsaved, `!` failing, `~` changed on disk.
pub fn render(f: &mut Frame, area: Rect, s: &State) {
    let items: Vec<ListItem> = s
        .files
        .iter()
        .map(|file| {
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
            let name = file
                .path
                .file_name()
                .map_or(file.name.clone(), |n| n.to_string_lossy().into_owned());
            let style = if open.is_some() {
                Style::default().add_modifier(Modifier::BOLD)
            } else {
                Style::default()
            };
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
        .block(block(
            format!("Files ({})", s.files.len()),
            focused(s, Pane::Files),
        ))
        .highlight_style(Style::default().bg(Color::Rgb(50, 50, 70)));
    let mut st = ListState::default().with_selected(Some(s.selected_file));
    f.render_stateful_widget(list, area, &mut st);
}
