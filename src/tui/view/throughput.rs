//! The Throughput pane: runs per second, the session's total, latency,
//! cold start, process CPU and RSS, and how fast keys and reloads reach the
//! screen; each number labelled with the window it was measured over, "—"
//! where nothing was measured. Pieces wrap whole between rows.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

use super::{block_in, fit};
use crate::metrics::{fmt_bytes, fmt_duration, fmt_rate};
use crate::tui::state::State;

/// A new number (" · " before it on a row).
fn num(text: String) -> Piece {
    (" · ", vec![Span::raw(text)])
}

/// More of the same number (" " before it on a row).
fn more(text: String) -> Piece {
    (" ", vec![Span::raw(text)])
}

/// The numbers, then the per-second chart of runs below them, the chart
/// labelled with its own window (the title claims none: each number names
/// the window it was measured over).
pub fn render(f: &mut Frame, area: Rect, s: &State) {
    let l = &s.live;
    let b = block_in(area, "Throughput", false);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let dash = "—";
    // Each number with its window, as one group (priority, pieces): a
    // group is shown whole or not at all, so a number never stands
    // without its window when the pane is short.
    let mut groups: Vec<(u8, Vec<Piece>)> = Vec::new();
    groups.push((
        0,
        match l.rate_window {
            Some(w) => vec![
                num(fmt_rate(l.rate)),
                more(format!("(last {})", fit::window(w))),
            ],
            None => vec![num(format!("{dash}/s"))],
        },
    ));
    groups.push((
        2,
        vec![
            num(fit::plural(l.total_invocations, "run", "runs")),
            more("this session".into()),
        ],
    ));
    groups.push((
        1,
        match l.latency_window {
            Some(w) if l.latency.count > 0 => {
                // Say so when only a sample of the calls was timed.
                let sampled = if l.timed_share > 0.0 && l.timed_share < 0.5 {
                    format!(", 1 in {:.0} timed", 1.0 / l.timed_share)
                } else {
                    String::new()
                };
                vec![
                    num(format!("latency p50 {}", fmt_duration(l.latency.p50))),
                    more(format!("p99 {}", fmt_duration(l.latency.p99))),
                    more(format!("(last {}{sampled})", fit::window(w))),
                ]
            }
            _ => vec![num(format!("latency {dash}"))],
        },
    ));
    groups.push((
        3,
        if l.cold_start.count > 0 {
            vec![
                num(format!("cold start p50 {}", fmt_duration(l.cold_start.p50))),
                more(format!(
                    "over {}",
                    fit::plural(l.cold_start.count, "isolate", "isolates")
                )),
            ]
        } else {
            vec![num(format!("cold start {dash}"))]
        },
    ));
    if s.engine.mode == crate::engine::Mode::Snapshot {
        groups.push((
            3,
            match &s.engine.snapshot {
                Some(b) if b.version == s.engine.version => match &b.blob {
                    Ok(bytes) => vec![
                        num(format!("snapshot v{} {}", b.version, fmt_bytes(*bytes))),
                        more(format!("built in {} ms", b.build_ms)),
                    ],
                    Err(why) => vec![
                        num(format!(
                            "no snapshot for v{}: calls run plain cold",
                            b.version
                        )),
                        more(format!("({why})")),
                    ],
                },
                _ => vec![num(format!("snapshot {dash} (building)"))],
            },
        ));
    }
    if l.system.rss_bytes > 0 {
        groups.push((
            4,
            vec![
                num(format!("CPU {:.0}%", l.system.cpu_percent)),
                more(format!(
                    "(last {})",
                    fit::window(crate::system::SAMPLE_EVERY)
                )),
            ],
        ));
        groups.push((
            5,
            vec![num(format!("RSS {}", fmt_bytes(l.system.rss_bytes)))],
        ));
    } else {
        groups.push((4, vec![num(format!("CPU {dash} · RSS {dash}"))]));
    }
    if let Some(d) = s.input_latency {
        groups.push((
            6,
            vec![
                num(format!("key→screen {}", fmt_duration(d))),
                more("(last key)".into()),
            ],
        ));
    }
    // A reload's time stands only while its version is the one running.
    if let Some(d) = s.reload_latency
        && s.reload_version == Some(s.engine.version)
    {
        groups.push((
            7,
            vec![
                num(format!("reload→screen {}", fmt_duration(d))),
                more(format!("(v{})", s.engine.version)),
            ],
        ));
    }
    let rows = fit_groups(groups, inner.width as usize, inner.height as usize);
    let [nums, chart] =
        Layout::vertical([Constraint::Length(rows.len() as u16), Constraint::Min(0)]).areas(inner);
    f.render_widget(Paragraph::new(rows), nums);
    self::chart(f, chart, &l.history);
}

/// A piece of a row and the separator before it.
type Piece = (&'static str, Vec<Span<'static>>);

/// The groups that fit `height` rows of `width`, most important first,
/// packed in their own order. A group that fits a row is one piece, so
/// a number and its window are not parted between rows.
fn fit_groups(groups: Vec<(u8, Vec<Piece>)>, width: usize, height: usize) -> Vec<Line<'static>> {
    let groups: Vec<(u8, Vec<Piece>)> = groups
        .into_iter()
        .map(|(p, g)| {
            let joined: Vec<Span<'static>> = g
                .iter()
                .enumerate()
                .flat_map(|(i, (sep, spans))| {
                    let sep = if i == 0 { None } else { Some(Span::raw(*sep)) };
                    sep.into_iter().chain(spans.iter().cloned())
                })
                .collect();
            if joined.iter().map(Span::width).sum::<usize>() <= width {
                (p, vec![(g[0].0, joined)])
            } else {
                (p, g)
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&i| groups[i].0);
    let mut keep = vec![false; groups.len()];
    let packed = |keep: &[bool]| {
        let pieces: Vec<Piece> = groups
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .flat_map(|((_, g), _)| g.iter().cloned())
            .collect();
        fit::pack(pieces, width)
    };
    for i in order {
        keep[i] = true;
        if packed(&keep).len() > height {
            keep[i] = false;
        }
    }
    packed(&keep)
}

/// Runs per second, one bar a second, newest at the right, labelled with
/// the seconds shown: on a row above the bars, or left of them when there
/// is one row; nothing without a measured second.
fn chart(f: &mut Frame, area: Rect, history: &[u64]) {
    if area.height == 0 || history.is_empty() {
        return;
    }
    let last =
        |width: usize| -> Vec<u64> { history.iter().rev().take(width).rev().copied().collect() };
    let dim = Style::default().fg(Color::DarkGray);
    let bars = |f: &mut Frame, data: &[u64], at: Rect| {
        f.render_widget(
            Sparkline::default()
                .data(data)
                .style(Style::default().fg(Color::Green)),
            at,
        );
    };
    if area.height >= 2 {
        let [label, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        let data = last(rest.width as usize);
        let n = data.len() as u64;
        let text = [
            format!(
                "runs/s, each of the last {}",
                fit::plural(n, "second", "seconds")
            ),
            format!("runs/s, last {n} s"),
            format!("last {n} s"),
        ];
        if let Some(t) = text.iter().find(|t| fit::width(t) <= label.width as usize) {
            f.render_widget(Paragraph::new(t.as_str()).style(dim), label);
            bars(f, &data, rest);
        }
        return;
    }
    // One row: `runs/s, last 7 s ▂█▅` (room kept for the longest count,
    // so the number of bars and the label agree).
    for form in ["runs/s, last 999 s ", "last 999 s "] {
        let label_w = fit::width(form) as u16;
        if area.width < label_w + 4 {
            continue;
        }
        let data = last((area.width - label_w) as usize);
        let n = data.len();
        let label = if form.starts_with("runs") {
            format!("runs/s, last {n} s ")
        } else {
            format!("last {n} s ")
        };
        let [l, rest] = Layout::horizontal([
            Constraint::Length(fit::width(&label) as u16),
            Constraint::Min(0),
        ])
        .areas(area);
        f.render_widget(Paragraph::new(label).style(dim), l);
        bars(f, &data, rest);
        return;
    }
}
