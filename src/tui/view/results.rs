use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::block;
use crate::engine::Level;
use crate::metrics::fmt_duration;
use crate::tui::state::State;

fn level_color(l: Level) -> Color {
    match l {
        Level::Log => Color::Gray,
        Level::Info => Color::Cyan,
        Level::Warn => Color::Yellow,
        Level::Error => Color::Red,
        Level::Debug => Color::DarkGray,
    }
}

/// A summary across isolates, then the selected isolate's last result,
/// console and error.
pub fn render(f: &mut Frame, area: Rect, s: &State) {
    let (ok, failed) = s.tally();
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("v{}: ", s.engine.version),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("{ok} ok"), Style::default().fg(Color::Green)),
        Span::raw(" · "),
        Span::styled(
            format!("{failed} failed"),
            Style::default().fg(if failed > 0 {
                Color::Red
            } else {
                Color::DarkGray
            }),
        ),
        Span::raw(format!(" of {}", s.engine.isolates)),
    ])];
    let broken = s.current_version_broken();
    let title = format!("Results: isolate {}", s.selected_isolate);
    let Some(r) = s.results.get(s.selected_isolate) else {
        f.render_widget(Paragraph::new(lines).block(block(title, false)), area);
        return;
    };
    match &r.last {
        None => lines.push(Line::from(Span::styled(
            "no result yet (F5 runs)",
            Style::default().fg(Color::DarkGray),
        ))),
        Some(inv) => {
            let stale = inv.version != s.engine.version;
            lines.push(Line::from(Span::styled(
                format!(
                    "#{} · v{}{} · {} · {} · CPU {}",
                    inv.seq,
                    inv.version,
                    if stale { " (older version)" } else { "" },
                    inv.mode,
                    inv.duration.map_or("untimed".into(), fmt_duration),
                    inv.cpu.map_or("—".into(), fmt_duration)
                ),
                Style::default().fg(Color::DarkGray),
            )));
            for c in &inv.console.lines {
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("{:<5} ", c.level.name()),
                        Style::default()
                            .fg(level_color(c.level))
                            .add_modifier(Modifier::BOLD),
                    ),
                    Span::styled(c.text.clone(), Style::default().fg(level_color(c.level))),
                ]));
            }
            if inv.console.dropped > 0 {
                lines.push(Line::from(Span::styled(
                    format!("… {} more console lines truncated", inv.console.dropped),
                    Style::default().fg(Color::Yellow),
                )));
            }
            match &inv.outcome {
                Ok(res) => {
                    lines.push(Line::from(vec![
                        Span::styled("→ ", Style::default().fg(Color::Green)),
                        Span::styled(
                            res.clone(),
                            Style::default()
                                .fg(Color::White)
                                .add_modifier(Modifier::BOLD),
                        ),
                    ]));
                }
                Err(e) => {
                    let text = e.to_string();
                    for (i, l) in text.lines().enumerate() {
                        let style = if i == 0 {
                            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
                        } else {
                            Style::default().fg(Color::Red)
                        };
                        lines.push(Line::from(Span::styled(l.to_string(), style)));
                    }
                    if broken && let Some((v, good)) = &r.last_ok {
                        lines.push(Line::from(Span::styled(
                            format!("last good result (v{v}, stale):"),
                            Style::default().fg(Color::Yellow),
                        )));
                        lines.push(Line::from(Span::styled(
                            good.clone(),
                            Style::default().fg(Color::DarkGray),
                        )));
                    }
                }
            }
        }
    }
    if let Some(l) = s.reload_latency {
        lines.push(Line::from(Span::styled(
            format!("reload → first result on screen: {}", fmt_duration(l)),
            Style::default().fg(Color::DarkGray),
        )));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(title, false)),
        area,
    );
}
