use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Sparkline};

use super::block;
use crate::metrics::{
    HISTORY_SECS, LATENCY_WINDOW, RATE_WINDOW, fmt_bytes, fmt_duration, fmt_rate,
};
use crate::tui::state::State;

/// Runs/s over the last minute, latency, cold start, process CPU and RSS,
/// each with its window.
pub fn render(f: &mut Frame, area: Rect, s: &State) {
    let b = block(format!("Throughput (last {HISTORY_SECS} s)"), false);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let l = &s.live;
    let text = vec![
        Line::from(format!(
            "{} (last {} s) · {} total",
            fmt_rate(l.rate),
            RATE_WINDOW.as_secs(),
            l.total_invocations
        )),
        Line::from(format!(
            "latency p50 {} p99 {} ({} s{})",
            fmt_duration(l.latency.p50),
            fmt_duration(l.latency.p99),
            LATENCY_WINDOW.as_secs(),
            // Say so when only a sample of the calls was timed.
            if l.timed_share > 0.0 && l.timed_share < 0.5 {
                format!(", 1 in {:.0} timed", 1.0 / l.timed_share)
            } else {
                String::new()
            }
        )),
        Line::from(format!(
            "cold start p50 {} ({} isolates)",
            fmt_duration(l.cold_start.p50),
            l.cold_start.count
        )),
        Line::from(format!(
            "CPU {:.0}% · RSS {}{}",
            l.system.cpu_percent,
            fmt_bytes(l.system.rss_bytes),
            s.input_latency.map_or(String::new(), |d| format!(
                " · key→screen {}",
                fmt_duration(d)
            ))
        )),
    ];
    let [nums, chart] = Layout::vertical([Constraint::Length(4), Constraint::Min(0)]).areas(inner);
    f.render_widget(Paragraph::new(text), nums);
    let width = chart.width as usize;
    let data: Vec<u64> = l.history.iter().rev().take(width).rev().copied().collect();
    f.render_widget(
        Sparkline::default()
            .data(&data)
            .style(Style::default().fg(Color::Green)),
        chart,
    );
}
