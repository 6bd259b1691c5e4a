//! The isolates table: one row per isolate for the rows that fit, with the
//! columns that fit. Columns are dropped whole by priority as the pane
//! narrows (never a value cut from its unit); the heap number keeps its
//! colour (green, yellow past half the limit, red past 80 %) in every
//! layout, so nearness to the limit shows even without the gauge.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row, Table, TableState};

use super::{block_in, fit, focused};
use crate::engine::{WorkerSnapshot, WorkerState};
use crate::metrics::{fmt_bytes, fmt_duration};
use crate::tui::action::Pane;
use crate::tui::state::State;

/// The heap's colour at `used` of `limit`.
pub fn heap_color(used: u64, limit: u64) -> Color {
    let frac = if limit == 0 {
        0.0
    } else {
        used as f64 / limit as f64
    };
    if frac > 0.8 {
        Color::Red
    } else if frac > 0.5 {
        Color::Yellow
    } else {
        Color::Green
    }
}

fn gauge(used: u64, limit: u64, width: usize) -> String {
    let frac = if limit == 0 {
        0.0
    } else {
        (used as f64 / limit as f64).clamp(0.0, 1.0)
    };
    let filled = (frac * width as f64).round() as usize;
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

/// The first row shown: the selected isolate stays visible, at the bottom
/// when it is below the first screenful (as a table scrolled down to it).
pub fn first_row(selected: usize, len: usize, visible: usize) -> usize {
    let visible = visible.max(1);
    selected
        .min(len.saturating_sub(1))
        .saturating_sub(visible - 1)
}

/// One row's cells, each as styled pieces.
type Cells = Vec<Vec<Span<'static>>>;

/// A column the table may show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    Id,
    State,
    Runs,
    Errs,
    Last,
    /// Gauge of this many cells, then `used` (and `/limit` when `limit`).
    Heap {
        gauge: usize,
        limit: bool,
    },
    External,
    Recycles,
}

/// The heap column's forms, from the richest: gauge cells, then `used`
/// (and `/limit` when `limit`).
const HEAP_10_LIMIT: Col = Col::Heap {
    gauge: 10,
    limit: true,
};
const HEAP_6_LIMIT: Col = Col::Heap {
    gauge: 6,
    limit: true,
};
const HEAP_LIMIT: Col = Col::Heap {
    gauge: 0,
    limit: true,
};
const HEAP_4: Col = Col::Heap {
    gauge: 4,
    limit: false,
};
const HEAP: Col = Col::Heap {
    gauge: 0,
    limit: false,
};

/// Layouts from the richest to the poorest: the first whose columns fit
/// (at their widest value on screen) is drawn.
const LAYOUTS: &[&[Col]] = {
    use Col::*;
    &[
        &[
            Id,
            State,
            Runs,
            Errs,
            Last,
            HEAP_10_LIMIT,
            External,
            Recycles,
        ],
        &[Id, State, Runs, Errs, Last, HEAP_6_LIMIT, Recycles],
        &[Id, State, Runs, Errs, Last, HEAP_LIMIT, Recycles],
        &[Id, State, Runs, Errs, Last, HEAP_4, Recycles],
        &[Id, State, Runs, Errs, Last, HEAP, Recycles],
        &[Id, State, Runs, Errs, Last, HEAP],
        &[Id, State, Runs, Errs, HEAP],
        &[Id, State, Errs, HEAP],
        &[Id, Errs, HEAP],
        &[Id, HEAP],
        &[Id],
    ]
};

/// A column's header and what it means.
pub type ColumnNote = (&'static str, &'static str);
/// A state's name, its colour and what it means.
pub type StateNote = (&'static str, Color, &'static str);

/// What each column and state means, for help: (header or state name as
/// the table shows it, its colour, what it means). The names come from the
/// functions that draw the table.
pub fn legend() -> (Vec<ColumnNote>, Vec<StateNote>) {
    let columns = [
        (Col::Id, "isolate number (Results shows the selected one)"),
        (Col::State, "what it is doing now (states below)"),
        (Col::Runs, "invocations it ran"),
        (Col::Errs, "invocations that failed (red when any)"),
        (Col::Last, "how long its last invocation took"),
        (
            Col::Heap {
                gauge: 0,
                limit: true,
            },
            "V8 heap in use / limit (yellow past 50%, red past 80%)",
        ),
        (
            Col::External,
            "ArrayBuffer memory outside the heap, of its budget",
        ),
        (
            Col::Recycles,
            "times its isolate was replaced after hitting a limit",
        ),
    ]
    .map(|(c, what)| (header(c), what))
    .to_vec();
    let states = [
        (WorkerState::Running, "running an invocation"),
        (WorkerState::Idle, "waiting for work"),
        (WorkerState::Queued, "has work, waiting for a pool thread"),
        (WorkerState::Starting, "making its isolate"),
        (WorkerState::Recycling, "replacing its isolate"),
        (WorkerState::Stopped, "its thread ended (being removed)"),
    ]
    .map(|(st, what)| {
        let (name, color) = state_label(st);
        (name, color, what)
    })
    .to_vec();
    (columns, states)
}

/// A state as the table shows it.
fn state_label(st: WorkerState) -> (&'static str, Color) {
    match st {
        WorkerState::Running => ("run", Color::Green),
        WorkerState::Idle => ("idle", Color::Gray),
        WorkerState::Recycling => ("recyc", Color::Magenta),
        WorkerState::Starting => ("start", Color::Blue),
        WorkerState::Stopped => ("stop", Color::DarkGray),
        // Has work, waits for a pool thread: not idle.
        WorkerState::Queued => ("queued", Color::Yellow),
    }
}

fn header(c: Col) -> &'static str {
    match c {
        Col::Id => "id",
        Col::State => "state",
        Col::Runs => "runs",
        Col::Errs => "errs",
        Col::Last => "last",
        Col::Heap { limit: true, .. } => "heap used/limit",
        Col::Heap { .. } => "heap",
        Col::External => "external",
        Col::Recycles => "recycled",
    }
}

/// Widest cell each value can take, so that columns do not jump as the
/// numbers change: "999.9 ms" for a duration, "1023.9 MiB" for bytes.
fn min_width(c: Col) -> usize {
    match c {
        Col::Last => 8,
        Col::Heap { gauge, limit } => {
            (if gauge > 0 { gauge + 1 } else { 0 }) + if limit { 17 } else { 8 }
        }
        Col::External => 17,
        Col::Errs | Col::Runs => 4,
        _ => 0,
    }
}

fn cell(c: Col, w: &WorkerSnapshot, s: &State) -> Vec<Span<'static>> {
    let limit = if w.heap_limit > 0 {
        w.heap_limit
    } else {
        s.engine.heap_limit
    };
    match c {
        Col::Id => vec![Span::raw(w.id.to_string())],
        Col::State => {
            let (st, color) = state_label(w.state);
            vec![Span::styled(st, Style::default().fg(color))]
        }
        Col::Runs => vec![Span::raw(w.invocations.to_string())],
        Col::Errs => vec![Span::styled(
            w.errors.to_string(),
            if w.errors > 0 {
                Style::default().fg(Color::Red)
            } else {
                Style::default()
            },
        )],
        Col::Last => vec![Span::raw(
            if w.invocations == 0 || w.last_duration.is_zero() {
                "—".to_string()
            } else {
                fmt_duration(w.last_duration)
            },
        )],
        Col::Heap {
            gauge: g,
            limit: with_limit,
        } => {
            let color = heap_color(w.heap_used, limit);
            let mut spans = Vec::new();
            if g > 0 {
                spans.push(Span::styled(
                    gauge(w.heap_used, limit, g),
                    Style::default().fg(color),
                ));
                spans.push(Span::raw(" "));
            }
            spans.push(Span::styled(
                fmt_bytes(w.heap_used),
                Style::default().fg(color),
            ));
            if with_limit {
                spans.push(Span::raw(format!("/{}", fmt_bytes(limit))));
            }
            spans
        }
        Col::External => {
            let ext_limit = if w.external_limit > 0 {
                w.external_limit
            } else {
                s.engine.external_limit
            };
            let st = if ext_limit > 0 && w.external * 5 > ext_limit * 4 {
                Style::default().fg(Color::Red)
            } else {
                Style::default()
            };
            vec![Span::styled(
                format!("{}/{}", fmt_bytes(w.external), fmt_bytes(ext_limit)),
                st,
            )]
        }
        Col::Recycles => vec![Span::styled(
            w.recycles.to_string(),
            if w.recycles > 0 {
                Style::default().fg(Color::Magenta)
            } else {
                Style::default()
            },
        )],
    }
}

/// The title: where the screenful is, and counts over all isolates, the
/// pieces that fit `width` (most important first). Failures are counted
/// on the current version and mode (the errs column holds each isolate's
/// own count since it started).
fn title(s: &State, first: usize, shown: usize, width: usize) -> String {
    let len = s.snapshots.len();
    let u = &s.summary;
    let head = if shown < len {
        format!(
            "Isolates {}–{} of {len}",
            first,
            first + shown.saturating_sub(1)
        )
    } else {
        format!("Isolates ({len})")
    };
    let mut pieces = vec![head.clone()];
    let (_, failing) = s.tally();
    if failing > 0 {
        let long = format!("{failing} failing on v{}", s.engine.version);
        let room = width.saturating_sub(fit::width(&head) + 3);
        pieces.push(if fit::width(&long) <= room {
            long
        } else {
            format!("{failing} failing")
        });
    }
    for (n, what) in [
        (u.running, "running"),
        (u.queued, "queued"),
        (u.idle, "idle"),
        (u.starting, "starting"),
        (u.recycling, "recycling"),
        (u.stopped, "stopped"),
    ] {
        if n > 0 && shown < len {
            pieces.push(format!("{n} {what}"));
        }
    }
    if u.recycles > 0 {
        pieces.push(fit::plural(u.recycles, "recycle", "recycles"));
    }
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    fit::pick(&refs, " · ", width).join(" · ")
}

/// One row per isolate, built for the rows that fit only (a thousand
/// isolates cost a screenful of rows per frame); the title says where the
/// screenful is and counts all of them.
pub fn render(f: &mut Frame, area: Rect, s: &State) {
    // Borders and the header.
    let visible = area.height.saturating_sub(3) as usize;
    let len = s.snapshots.len();
    let first = first_row(s.selected_isolate, len, visible);
    let shown = &s.snapshots[first.min(len)..(first + visible).min(len)];
    let inner_w = area.width.saturating_sub(2) as usize;
    // Each layout's cells, measured; the first that fits is drawn.
    let mut chosen: Option<(&[Col], Vec<Cells>, Vec<usize>)> = None;
    for layout in LAYOUTS {
        let cells: Vec<Cells> = shown
            .iter()
            .map(|w| layout.iter().map(|&c| cell(c, w, s)).collect())
            .collect();
        let widths: Vec<usize> = layout
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let widest = cells
                    .iter()
                    .map(|row| row[i].iter().map(Span::width).sum::<usize>())
                    .max()
                    .unwrap_or(0);
                widest.max(fit::width(header(c))).max(min_width(c))
            })
            .collect();
        let total = widths.iter().sum::<usize>() + widths.len().saturating_sub(1);
        chosen = Some((layout, cells, widths));
        if total <= inner_w {
            break;
        }
    }
    let Some((layout, cells, widths)) = chosen else {
        return;
    };
    let header_row = Row::new(layout.iter().map(|&c| header(c)).collect::<Vec<_>>()).style(
        Style::default()
            .add_modifier(Modifier::BOLD)
            .fg(Color::Gray),
    );
    let rows = cells.into_iter().map(|row| {
        Row::new(
            row.into_iter()
                .map(|spans| Cell::from(Line::from(spans)))
                .collect::<Vec<_>>(),
        )
    });
    let constraints: Vec<Constraint> = widths
        .iter()
        .map(|&w| Constraint::Length(w as u16))
        .collect();
    let table = Table::new(rows, constraints)
        .header(header_row)
        .flex(ratatui::layout::Flex::Start)
        .block(block_in(
            area,
            &title(s, first, shown.len(), inner_w),
            focused(s, Pane::Isolates),
        ))
        .row_highlight_style(Style::default().bg(Color::Rgb(50, 50, 70)));
    let mut st = TableState::default()
        .with_selected(Some(s.selected_isolate.saturating_sub(first)).filter(|_| len > 0));
    f.render_stateful_widget(table, area, &mut st);
}
