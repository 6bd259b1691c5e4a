use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::tui::keymap::HELP;
use crate::tui::state::Prompt;

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [c] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    c
}

/// Every binding, from the same table the key map documents.
pub fn render(f: &mut Frame, area: Rect) {
    let key_w = HELP
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(10)
        + 2;
    let mut lines: Vec<Line> = HELP
        .iter()
        .map(|(k, d)| {
            Line::from(vec![
                Span::styled(
                    format!("{k:<key_w$}"),
                    Style::default()
                        .fg(Color::Cyan)
                        .add_modifier(Modifier::BOLD),
                ),
                Span::raw(*d),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "Files: * unsaved  ! failing  ~ changed on disk.  Esc or ? closes.",
        Style::default().fg(Color::DarkGray),
    )));
    let r = centered(area, 78, lines.len() as u16 + 2);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Keys ")
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
    let r = centered(area, 60, 3);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(text)
            .style(
                Style::default()
                    .fg(Color::Yellow)
                    .add_modifier(Modifier::BOLD),
            )
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(Style::default().fg(Color::Yellow)),
            ),
        r,
    );
}
