use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::config::ISOLATES;
use crate::tui::keymap::HELP;
use crate::tui::state::{NumberEntry, Prompt};

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

/// The "how many isolates" prompt: the number typed so far with a cursor,
/// then what Enter and Esc do, or why the last Enter was refused.
pub fn entry(f: &mut Frame, area: Rect, e: &NumberEntry, now: usize) {
    let ask = Style::default()
        .fg(Color::Yellow)
        .add_modifier(Modifier::BOLD);
    let lines = vec![
        Line::from(vec![
            Span::styled(
                format!("Isolates ({}–{}, now {now}): ", ISOLATES.min, ISOLATES.max),
                ask,
            ),
            Span::styled(
                e.text.clone(),
                Style::default()
                    .fg(Color::White)
                    .add_modifier(Modifier::BOLD),
            ),
            Span::styled("▏", Style::default().fg(Color::Yellow)),
        ]),
        match &e.error {
            Some(err) => Line::from(Span::styled(err.clone(), Style::default().fg(Color::Red))),
            None => Line::from(Span::styled(
                "Enter applies · Esc cancels",
                Style::default().fg(Color::DarkGray),
            )),
        },
    ];
    super::overlay(f, area, "How many isolates?", &lines, Color::Yellow);
}
