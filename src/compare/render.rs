//! The ladder as text, for `isolate-play compare`: the machine, one line
//! per rung (figures, or the reason there are none), a lesson per rung and
//! what the columns mean over which window.

use std::fmt::Write as _;
use std::time::Duration;

use super::{Ladder, Row, RowStatus, Rung};
use crate::metrics::{fmt_bytes, fmt_duration, fmt_rate};

const DASH: &str = "—";

fn dur(ns: Option<u64>) -> String {
    ns.map_or_else(|| DASH.into(), |ns| fmt_duration(Duration::from_nanos(ns)))
}

/// "1.0×", "12×", "8.4k×".
pub fn fmt_ratio(r: f64) -> String {
    if r < 10.0 {
        format!("{r:.1}×")
    } else if r < 1e3 {
        format!("{r:.0}×")
    } else if r < 1e6 {
        format!("{:.1}k×", r / 1e3)
    } else {
        format!("{:.1}M×", r / 1e6)
    }
}

/// A result in one short line.
fn short(s: &str, max: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= max {
        one
    } else {
        let cut: String = one.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn pad(s: &str, w: usize) -> String {
    let n = unicode_width::UnicodeWidthStr::width(s);
    format!("{s}{}", " ".repeat(w.saturating_sub(n)))
}

fn rpad(s: &str, w: usize) -> String {
    let n = unicode_width::UnicodeWidthStr::width(s);
    format!("{}{s}", " ".repeat(w.saturating_sub(n)))
}

/// The result column: the text for the warm row, "= warm" where a row
/// gave the same, the text where it differs.
fn result_cell(row: &Row, warm: Option<&str>) -> String {
    match (&row.result, warm) {
        (Some(r), Some(w)) if row.rung != Rung::Warm && r == w => "= warm".into(),
        (Some(r), _) => short(r, 28),
        (None, _) => DASH.into(),
    }
}

/// The whole report.
pub fn render_text(l: &Ladder) -> String {
    let mut o = String::new();
    let per_row = l.rows.iter().map(|r| r.seconds).fold(0.0, f64::max);
    let _ = writeln!(
        o,
        "compare {} · {} call{} in flight per row · {} alternating round{} · {:.1} s in all",
        l.file,
        l.concurrency,
        if l.concurrency == 1 { "" } else { "s" },
        l.rounds,
        if l.rounds == 1 { "" } else { "s" },
        l.seconds
    );
    let load = l.load_average.map_or_else(String::new, |a| {
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        let busy = if a > cores as f64 {
            ": busier than its cores, every row also waits for a CPU"
        } else {
            ""
        };
        format!(" · load {a:.1} at the start (1-min average){busy}")
    });
    let _ = writeln!(o, "machine: {}{load}\n", l.machine);
    let warm = l
        .rows
        .iter()
        .find(|r| r.rung == Rung::Warm)
        .and_then(|r| r.result.as_deref());
    let label_w = l
        .rows
        .iter()
        .map(|r| unicode_width::UnicodeWidthStr::width(r.label.as_str()))
        .max()
        .unwrap_or(10)
        .min(48);
    let _ = writeln!(
        o,
        "{}  {}  {}  {}  {}  {}  {}  {}  result",
        pad("rung", label_w),
        rpad("calls/s", 9),
        rpad("p50", 9),
        rpad("p99", 9),
        rpad("time/call", 9),
        rpad("CPU/call", 9),
        rpad("memory/unit", 18),
        rpad("× warm", 8),
    );
    for r in &l.rows {
        let label = pad(&short(&r.label, label_w), label_w);
        match &r.status {
            RowStatus::Unavailable { reason } => {
                let _ = writeln!(o, "{label}  unavailable: {reason}");
                continue;
            }
            RowStatus::Pending => {
                let _ = writeln!(o, "{label}  not measured (stopped before it ran)");
                continue;
            }
            _ => {}
        }
        let mem = r.memory_per_unit.map_or_else(
            || DASH.into(),
            |b| {
                let prefix = if r.rung == Rung::Vm { "≤ " } else { "" };
                format!("{prefix}{} /{}", fmt_bytes(b), r.memory_unit)
            },
        );
        let tail = match &r.status {
            RowStatus::Reference { .. } => "published, not measured here".to_string(),
            _ => result_cell(r, warm),
        };
        let _ = writeln!(
            o,
            "{label}  {}  {}  {}  {}  {}  {}  {}  {tail}",
            rpad(&r.calls_per_s.map_or_else(|| DASH.into(), fmt_rate), 9),
            rpad(&dur(r.p50_ns), 9),
            rpad(&dur(r.p99_ns), 9),
            rpad(&dur(r.time_per_call_ns), 9),
            rpad(&dur(r.cpu_per_call_ns), 9),
            rpad(&mem, 18),
            rpad(&r.ratio_to_warm.map_or_else(|| DASH.into(), fmt_ratio), 8),
        );
        if let Some(caveat) = &r.caveat {
            let _ = writeln!(o, "{}  ({caveat})", pad("", label_w));
        }
        if r.failures > 0 {
            let _ = writeln!(
                o,
                "{}  ({} call{} failed in the windows, not counted)",
                pad("", label_w),
                r.failures,
                if r.failures == 1 { "" } else { "s" }
            );
        }
    }
    let _ = writeln!(o, "\nlessons:");
    for r in &l.rows {
        let _ = writeln!(o, "  {:<10}  {}", r.rung.name(), r.lesson);
    }
    let _ = writeln!(o, "\nmemory per unit, how:");
    for r in l.rows.iter().filter(|r| !r.memory_note.is_empty()) {
        let _ = writeln!(o, "  {:<10}  {}", r.rung.name(), r.memory_note);
    }
    for r in &l.rows {
        if let RowStatus::Reference { source } = &r.status {
            let _ = writeln!(o, "\n{} row, not measured here: {source}", r.rung.name());
        }
    }
    let _ = writeln!(
        o,
        "\ncolumns, over each row's measured windows ({:.1} s per row at most, in {} round{} alternating between rows):",
        per_row,
        l.rounds,
        if l.rounds == 1 { "" } else { "s" }
    );
    for line in [
        "calls/s      calls completed / measured seconds, with the calls in flight above",
        "p50, p99     latency of one call (isolates: the engine's timed calls; processes: spawn to reaped)",
        "time/call    measured seconds × calls in flight / calls: the mean time one call holds its slot",
        "CPU/call     isolates: this process's CPU (user + system, all threads) / calls; processes: the children's user + system CPU (wait4 rusage) / calls",
        "memory/unit  what one live unit holds; how, per row, above",
        "× warm       time/call / a warm isolate call's",
        "result       what the script gave under the row (its first call); \"= warm\": the same as the warm row",
    ] {
        let _ = writeln!(o, "  {line}");
    }
    o
}
