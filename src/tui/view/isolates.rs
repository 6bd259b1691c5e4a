use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table, TableState};

use super::{block, focused};
use crate::engine::WorkerState;
use crate::metrics::{fmt_bytes, fmt_duration};
use crate::tui::action::Pane;
use crate::tui::state::State;

fn gauge(used: u64, limit: u64, width: usize) -> (String, Color) {
    let frac = if limit == 0 {
        0.0
    } else {
        (used as f64 / limit as f64).clamp(0.0, 1.0)
    };
    let filled = (frac * width as f64).round() as usize;
    let color = if frac > 0.8 {
        Color::Red
    } else if frac > 0.5 {
        Color::Yellow
    } else {
        Color::Green
    };
    (
        format!("{}{}", "█".repeat(filled), "░".repeat(width - filled)),
        color,
    )
}

/// The first row shown: the selected isolate stays visible, at the bottom
/// when it is below the first screenful (as a table scrolled down to it).
pub fn first_row(selected: usize, len: usize, visible: usize) -> usize {
    let visible = visible.max(1);
    selected
        .min(len.saturating_sub(1))
        .saturating_sub(visible - 1)
}

/// One row per isolate, built for the rows that fit only (a thousand
/// isolates cost a screenful of rows per frame); the title says where the
/// screenful is and counts all of them.
pub fn render(f: &mut Frame, area: Rect, s: &State) {
    let wide = area.width >= 70;
    let header = Row::new(if wide {
        vec![
            "id",
            "state",
            "runs",
            "errs",
            "last",
            "heap used of limit",
            "external",
            "recyc",
        ]
    } else {
        vec!["id", "state", "runs", "last", "heap", "rc"]
    })
    .style(
        Style::default()
            .add_modifier(Modifier::BOLD)
            .fg(Color::Gray),
    );
    // Borders and the header.
    let visible = area.height.saturating_sub(3) as usize;
    let len = s.snapshots.len();
    let first = first_row(s.selected_isolate, len, visible);
    let shown = &s.snapshots[first.min(len)..(first + visible).min(len)];
    let rows = shown.iter().map(|w| {
        let (st, color) = match w.state {
            WorkerState::Running => ("run", Color::Green),
            WorkerState::Idle => ("idle", Color::Gray),
            WorkerState::Recycling => ("recyc", Color::Magenta),
            WorkerState::Starting => ("start", Color::Blue),
            WorkerState::Stopped => ("stop", Color::DarkGray),
        };
        let limit = if w.heap_limit > 0 {
            w.heap_limit
        } else {
            s.engine.heap_limit
        };
        let (bar, bar_color) = gauge(w.heap_used, limit, if wide { 10 } else { 6 });
        let heap = Cell::from(ratatui::text::Line::from(vec![
            Span::styled(bar, Style::default().fg(bar_color)),
            Span::raw(if wide {
                format!(" {}/{}", fmt_bytes(w.heap_used), fmt_bytes(limit))
            } else {
                String::new()
            }),
        ]));
        let errs_style = if w.errors > 0 {
            Style::default().fg(Color::Red)
        } else {
            Style::default()
        };
        let mut cells = vec![
            Cell::from(w.id.to_string()),
            Cell::from(Span::styled(st, Style::default().fg(color))),
            Cell::from(w.invocations.to_string()),
        ];
        if wide {
            cells.push(Cell::from(Span::styled(w.errors.to_string(), errs_style)));
        }
        cells.push(Cell::from(fmt_duration(w.last_duration)));
        cells.push(heap);
        if wide {
            let ext_limit = if w.external_limit > 0 {
                w.external_limit
            } else {
                s.engine.external_limit
            };
            let ext_style = if ext_limit > 0 && w.external * 5 > ext_limit * 4 {
                Style::default().fg(Color::Red)
            } else {
                Style::default()
            };
            cells.push(Cell::from(Span::styled(
                format!("{}/{}", fmt_bytes(w.external), fmt_bytes(ext_limit)),
                ext_style,
            )));
        }
        cells.push(Cell::from(Span::styled(
            w.recycles.to_string(),
            if w.recycles > 0 {
                Style::default().fg(Color::Magenta)
            } else {
                Style::default()
            },
        )));
        Row::new(cells)
    });
    let widths: Vec<Constraint> = if wide {
        vec![
            Constraint::Length(4),
            Constraint::Length(6),
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Length(9),
            Constraint::Min(20),
            Constraint::Length(17),
            Constraint::Length(5),
        ]
    } else {
        vec![
            Constraint::Length(4),
            Constraint::Length(5),
            Constraint::Length(8),
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Length(3),
        ]
    };
    let title = if shown.len() < len {
        let u = &s.summary;
        let mut t = format!(
            "Isolates {}–{} of {len} · {} run · {} idle",
            first,
            first + shown.len() - 1,
            u.running,
            u.idle
        );
        for (n, what) in [
            (u.starting, "starting"),
            (u.recycling, "recycling"),
            (u.stopped, "stopped"),
        ] {
            if n > 0 {
                t.push_str(&format!(" · {n} {what}"));
            }
        }
        if u.errors > 0 {
            t.push_str(&format!(" · {} errs", u.errors));
        }
        t
    } else {
        format!("Isolates ({len})")
    };
    let table = Table::new(rows, widths)
        .header(header)
        .block(block(title, focused(s, Pane::Isolates)))
        .row_highlight_style(Style::default().bg(Color::Rgb(50, 50, 70)));
    let mut st = TableState::default()
        .with_selected(Some(s.selected_isolate.saturating_sub(first)).filter(|_| len > 0));
    f.render_stateful_widget(table, area, &mut st);
}
