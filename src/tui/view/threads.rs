use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::fit;
use crate::engine::Threads;
use crate::metrics::{fmt_duration, fmt_rate};
use crate::tui::action::Action;
use crate::tui::keymap;
use crate::tui::state::{State, THREADS_WINDOW};

/// Up to this many pool threads are listed one by one; more as min/avg/max.
const LISTED: usize = 8;

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// The threads line: the model (and the key that switches it), then the
/// last window's utilisation, isolate switches, queue wait and CPU per
/// call, "—" for what the window did not measure. Wrapped onto more rows
/// between its numbers, never inside one, when `width` is too narrow.
pub fn lines(s: &State, width: u16) -> Vec<Line<'static>> {
    let t = &s.threads;
    let dim = Style::default().fg(Color::DarkGray);
    let (model, other) = match t.model {
        Threads::Pool(n) => (format!("pool of {n}"), "one per isolate"),
        Threads::PerIsolate => (format!("one per isolate ({})", s.engine.isolates), "pool"),
    };
    let w = t.window.as_ref();
    let none = || "—".to_string();
    // Pieces that are never split; " · " goes between them on one row.
    let mut pieces: Vec<Vec<Span<'static>>> = vec![vec![
        Span::raw(" threads: "),
        Span::styled(
            model,
            Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            match keymap::key_for(s, &Action::SwitchThreads) {
                Some(key) => format!(" ({key}: {other})"),
                None => String::new(),
            },
            dim,
        ),
        Span::raw(" │"),
    ]];
    let mut numbers: Vec<String> = Vec::new();
    match t.model {
        Threads::Pool(_) => {
            let busy = match w.map(|w| &w.busy) {
                Some(b) if b.len() > LISTED => {
                    let min = b.iter().copied().fold(f64::INFINITY, f64::min);
                    let max = b.iter().copied().fold(0.0, f64::max);
                    let avg = b.iter().sum::<f64>() / b.len() as f64;
                    format!("min {} avg {} max {}", pct(min), pct(avg), pct(max))
                }
                Some(b) if !b.is_empty() => b.iter().map(|&x| pct(x)).collect::<Vec<_>>().join(" "),
                _ => none(),
            };
            numbers.push(format!("last {} s: busy {busy}", THREADS_WINDOW.as_secs()));
            numbers.push(format!(
                "CPU {}",
                w.and_then(|w| w.cpu).map_or_else(none, pct)
            ));
            numbers.push(format!(
                "switches {}",
                w.and_then(|w| w.switches).map_or_else(none, fmt_rate)
            ));
        }
        Threads::PerIsolate => {
            // Each thread runs its own isolate until it idles: what the
            // threads did together is the isolates' CPU; the OS switches
            // them, uncounted.
            numbers.push(format!(
                "last {} s: CPU {} in all",
                THREADS_WINDOW.as_secs(),
                w.and_then(|w| w.cpu).map_or_else(none, pct)
            ));
        }
    }
    numbers.push(match w.map(|w| w.queue_wait) {
        Some(q) if q.count > 0 => format!(
            "queue wait p50 {} p99 {}",
            fmt_duration(q.p50),
            fmt_duration(q.p99)
        ),
        _ => format!("queue wait {}", none()),
    });
    numbers.push(format!(
        "CPU/call {}",
        w.and_then(|w| w.cpu_per_call)
            .map_or_else(none, fmt_duration)
    ));
    pieces.extend(numbers.into_iter().map(|n| vec![Span::raw(n)]));
    if let Some(w) = w
        && w.parked > 0
    {
        pieces.push(vec![Span::styled(
            format!("{} parked", w.parked),
            Style::default().fg(Color::Magenta),
        )]);
    }
    pack(pieces, width as usize)
}

/// Puts pieces on rows of `width`: " · " between pieces on one row (" "
/// after the first), a new indented row when the next does not fit.
fn pack(pieces: Vec<Vec<Span<'static>>>, width: usize) -> Vec<Line<'static>> {
    let w = |p: &[Span]| p.iter().map(|s| s.width()).sum::<usize>();
    let mut rows: Vec<Vec<Span<'static>>> = Vec::new();
    let mut used = 0;
    for (i, piece) in pieces.into_iter().enumerate() {
        let sep = match i {
            0 => "",
            1 => " ",
            _ => " · ",
        };
        let pw = w(&piece);
        match rows.last_mut() {
            Some(row) if used + sep.chars().count() + pw <= width => {
                let sep_w = sep.chars().count();
                row.push(Span::raw(sep));
                row.extend(piece);
                used += sep_w + pw;
            }
            _ => {
                let indent = if rows.is_empty() { "" } else { "   " };
                let room = width.saturating_sub(indent.len());
                if pw <= room {
                    used = indent.len() + pw;
                    let mut row = vec![Span::raw(indent)];
                    row.extend(piece);
                    rows.push(row);
                } else {
                    // Too wide for any row: wrapped between its words, a
                    // number kept with its unit.
                    let text: String = piece.iter().map(|s| s.content.as_ref()).collect();
                    let style = piece.first().map(|s| s.style).unwrap_or_default();
                    for part in fit::wrap_atoms(&text, room) {
                        used = indent.len() + fit::width(&part);
                        rows.push(vec![Span::raw(indent), Span::styled(part, style)]);
                    }
                }
            }
        }
    }
    rows.into_iter().map(Line::from).collect()
}
