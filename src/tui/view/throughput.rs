//! The Throughput pane: runs per second, the session's total, latency,
//! cold start, process CPU and RSS, and how fast keys and reloads reach the
//! screen; each number labelled with the window it was measured over, "—"
//! where nothing was measured. Pieces wrap whole between rows.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::Span;
use ratatui::widgets::{Paragraph, Sparkline};

use super::{block_in, fit};
use crate::metrics::{fmt_bytes, fmt_duration, fmt_rate};
use crate::tui::state::State;

/// A new number (" · " before it on a row).
fn num(text: String) -> (&'static str, Vec<Span<'static>>) {
    (" · ", vec![Span::raw(text)])
}

/// More of the same number (" " before it on a row).
fn more(text: String) -> (&'static str, Vec<Span<'static>>) {
    (" ", vec![Span::raw(text)])
}

/// The numbers, then the per-second chart of runs below them.
pub fn render(f: &mut Frame, area: Rect, s: &State) {
    let l = &s.live;
    let mut title = vec!["Throughput".to_string()];
    if !l.history.is_empty() {
        title.push(format!("runs/s, last {} s", l.history.len()));
    }
    let title: Vec<&str> = title.iter().map(String::as_str).collect();
    let title = fit::pick(&title, ": ", area.width.saturating_sub(2) as usize).join(": ");
    let b = block_in(area, &title, false);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let dash = "—";
    let mut pieces = Vec::new();
    match l.rate_window {
        Some(w) => {
            pieces.push(num(fmt_rate(l.rate)));
            pieces.push(more(format!("(last {})", fit::window(w))));
        }
        None => pieces.push(num(format!("{dash}/s"))),
    }
    pieces.push(num(fit::plural(l.total_invocations, "run", "runs")));
    pieces.push(more("this session".into()));
    match l.latency_window {
        Some(w) if l.latency.count > 0 => {
            pieces.push(num(format!("latency p50 {}", fmt_duration(l.latency.p50))));
            pieces.push(more(format!("p99 {}", fmt_duration(l.latency.p99))));
            // Say so when only a sample of the calls was timed.
            let sampled = if l.timed_share > 0.0 && l.timed_share < 0.5 {
                format!(", 1 in {:.0} timed", 1.0 / l.timed_share)
            } else {
                String::new()
            };
            pieces.push(more(format!("(last {}{sampled})", fit::window(w))));
        }
        _ => pieces.push(num(format!("latency {dash}"))),
    }
    if l.cold_start.count > 0 {
        pieces.push(num(format!(
            "cold start p50 {}",
            fmt_duration(l.cold_start.p50)
        )));
        pieces.push(more(format!(
            "over {}",
            fit::plural(l.cold_start.count, "isolate", "isolates")
        )));
    } else {
        pieces.push(num(format!("cold start {dash}")));
    }
    if l.system.rss_bytes > 0 {
        pieces.push(num(format!("CPU {:.0}%", l.system.cpu_percent)));
        pieces.push(num(format!("RSS {}", fmt_bytes(l.system.rss_bytes))));
    } else {
        pieces.push(num(format!("CPU {dash} · RSS {dash}")));
    }
    if let Some(d) = s.input_latency {
        pieces.push(num(format!("key→screen {}", fmt_duration(d))));
    }
    // A reload's time stands only while its version is the one running.
    if let Some(d) = s.reload_latency
        && s.reload_version == Some(s.engine.version)
    {
        pieces.push(num(format!("reload→screen {}", fmt_duration(d))));
        pieces.push(more(format!("(v{})", s.engine.version)));
    }
    let rows = fit::pack(pieces, inner.width as usize);
    let [nums, chart] =
        Layout::vertical([Constraint::Length(rows.len() as u16), Constraint::Min(0)]).areas(inner);
    f.render_widget(Paragraph::new(rows), nums);
    let width = chart.width as usize;
    let data: Vec<u64> = l.history.iter().rev().take(width).rev().copied().collect();
    f.render_widget(
        Sparkline::default()
            .data(&data)
            .style(Style::default().fg(Color::Green)),
        chart,
    );
}
