//! The ladder view: the open file, per call, under every sandbox of the
//! isolation ladder (see `compare`), filling in as the comparison's rounds
//! end. One row per rung: a bar of its time per call on a log scale (the
//! ticks say where 100 ns, 10 µs, 1 ms... are), its figures ("—" where
//! nothing was measured), and under it the rung's lesson, or why it could
//! not run, or the published source of a figure not measured here. Reads
//! `&State` only; fits any size (fewer columns, then one line per rung,
//! then scrolling).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::fit;
use crate::compare::{Row, RowStatus, Rung};
use crate::metrics::{fmt_bytes, fmt_duration, fmt_rate};
use crate::tui::action::Action;
use crate::tui::keymap;
use crate::tui::state::{LadderOutcome, LadderRun, State};

/// The scale's left end (s): 10 ns, below any call V8 can make.
const SCALE_LO: f64 = 1e-8;
/// The scale's right end (s) unless a figure is slower: 1 s.
const SCALE_HI: f64 = 1.0;

const DIM: Style = Style::new().fg(Color::DarkGray);
const GRAY: Style = Style::new().fg(Color::Gray);

/// The colour of a row's status: measured green, measuring yellow, not
/// run red, published magenta, waiting grey.
pub fn status_color(status: &RowStatus) -> Color {
    match status {
        RowStatus::Measured => Color::Green,
        RowStatus::Running => Color::Yellow,
        RowStatus::Unavailable { .. } => Color::Red,
        RowStatus::Reference { .. } => Color::Magenta,
        RowStatus::Pending => Color::DarkGray,
    }
}

/// The mark before a row's label, so the status reads without colour.
fn status_mark(status: &RowStatus) -> &'static str {
    match status {
        RowStatus::Measured => "✓",
        RowStatus::Running => "▸",
        RowStatus::Unavailable { .. } => "✗",
        RowStatus::Reference { .. } => "◇",
        RowStatus::Pending => "·",
    }
}

/// A figure column: its heading, width, and the value of a row.
struct Col {
    head: &'static str,
    width: usize,
    value: fn(&Row) -> Option<String>,
}

fn ns(n: u64) -> String {
    fmt_duration(std::time::Duration::from_nanos(n))
}

/// "1.0×", "88×", "12k×", "1.2M×".
pub fn fmt_ratio(r: f64) -> String {
    if r < 9.95 {
        format!("{r:.1}×")
    } else if r < 999.5 {
        format!("{r:.0}×")
    } else if r < 9_950.0 {
        format!("{:.1}k×", r / 1e3)
    } else if r < 999_500.0 {
        format!("{:.0}k×", r / 1e3)
    } else {
        format!("{:.1}M×", r / 1e6)
    }
}

/// Bytes in at most 8 characters: "103.6 MiB" becomes "104 MiB".
fn compact_bytes(b: u64) -> String {
    let text = fmt_bytes(b);
    if text.chars().count() <= 8 {
        return text;
    }
    match text.split_once(' ') {
        Some((n, unit)) => n
            .parse::<f64>()
            .map_or(text.clone(), |x| format!("{x:.0} {unit}")),
        None => text,
    }
}

/// The figure columns, in display order.
const COLS: [Col; 6] = [
    Col {
        head: "calls/s",
        width: 7,
        // The head says "/s": "507.4k" fits where "507.4k/s" would not.
        value: |r| {
            r.calls_per_s
                .map(|x| fmt_rate(x).trim_end_matches("/s").to_string())
        },
    },
    Col {
        head: "p50",
        width: 8,
        value: |r| r.p50_ns.map(ns),
    },
    Col {
        head: "p99",
        width: 8,
        value: |r| r.p99_ns.map(ns),
    },
    Col {
        head: "CPU/call",
        width: 8,
        value: |r| r.cpu_per_call_ns.map(ns),
    },
    Col {
        head: "mem/unit",
        width: 8,
        value: |r| r.memory_per_unit.map(compact_bytes),
    },
    Col {
        head: "×warm",
        width: 6,
        value: |r| r.ratio_to_warm.map(fmt_ratio),
    },
];

/// Columns left out first when the screen is narrow (indexes into
/// [`COLS`]): p99 (the bar's light part shows it), CPU, memory, calls/s,
/// p50; ×warm stays.
const DROP_ORDER: [usize; 5] = [2, 3, 4, 0, 1];

/// Cells a bar wants before a column is given up for it.
const BAR_WANTED: usize = 18;
/// Below this a bar says too little: no bar.
const BAR_LEAST: usize = 6;

/// How a row line is cut into cells at one width.
#[derive(Clone, Debug, PartialEq)]
struct Columns {
    label: usize,
    /// 0: no bar.
    bar: usize,
    /// Indexes into [`COLS`], in display order.
    cols: Vec<usize>,
}

impl Columns {
    fn at(width: usize) -> Columns {
        // The mark and a space, the label, a space, the bar, then each
        // column with a space before it.
        let label = (width / 5).clamp(6, 22);
        let mut cols: Vec<usize> = (0..COLS.len()).collect();
        let used =
            |cols: &[usize]| 2 + label + 1 + cols.iter().map(|&c| COLS[c].width + 1).sum::<usize>();
        let mut drop = DROP_ORDER.iter();
        while width.saturating_sub(used(&cols)) < BAR_WANTED {
            match drop.next() {
                Some(d) => cols.retain(|c| c != d),
                None => break,
            }
        }
        let room = width.saturating_sub(used(&cols));
        let bar = if room >= BAR_LEAST { room } else { 0 };
        // Without a bar, the label takes what is left.
        let label = if bar == 0 {
            label + room.min(22usize.saturating_sub(label))
        } else {
            label
        };
        Columns { label, bar, cols }
    }
}

/// The log scale: decades from `lo` (s, a power of ten) over `decades`.
#[derive(Clone, Copy, Debug)]
struct Scale {
    lo: f64,
    decades: f64,
}

impl Scale {
    /// 10 ns to 1 s, or to the decade above the slowest figure shown.
    fn of(rows: &[Row]) -> Scale {
        let slowest = rows
            .iter()
            .filter_map(|r| r.p99_ns.or(r.p50_ns))
            .map(|n| n as f64 / 1e9)
            .fold(SCALE_HI, f64::max);
        let hi = 10f64.powf(slowest.log10().ceil()).max(SCALE_HI);
        Scale {
            lo: SCALE_LO,
            decades: (hi / SCALE_LO).log10().round().max(1.0),
        }
    }

    /// Where `seconds` falls on a bar of `cells`, in cells (fractional).
    fn at(&self, seconds: f64, cells: usize) -> f64 {
        let x = ((seconds.max(1e-12) / self.lo).log10() / self.decades).clamp(0.0, 1.0);
        x * cells as f64
    }
}

/// A decade as a tick label: "10ns", "100ns", "1µs" ... "10s".
fn decade_label(exp: i32) -> String {
    let (unit, base) = match exp {
        ..=-7 => ("ns", -9),
        -6..=-4 => ("µs", -6),
        -3..=-1 => ("ms", -3),
        _ => ("s", 0),
    };
    format!("{}{unit}", 10u64.pow((exp - base) as u32))
}

/// The tick labels over a bar of `cells`: every decade when they fit,
/// else every second (100 ns, 10 µs, 1 ms, 100 ms), third or fourth;
/// each label starts at its decade's cell, and one that would run past
/// the bar's end is left out. None when fewer than two fit.
fn ticks(scale: Scale, cells: usize) -> Option<String> {
    let lo_exp = scale.lo.log10().round() as i32;
    let hi_exp = lo_exp + scale.decades as i32;
    for step in 1..=4 {
        // From 100 ns: the ticks the scale is read by.
        let first = lo_exp + 1;
        let mut out = String::new();
        let mut used = 0;
        let mut fits = true;
        let mut placed = 0;
        let mut exp = first;
        while exp < hi_exp {
            let at = scale.at(10f64.powi(exp), cells).round() as usize;
            let label = decade_label(exp);
            let w = fit::width(&label);
            // Labels end inside the bar (one past its end is left out)
            // with a space between them.
            if at + w > cells {
                break;
            }
            if at < used + usize::from(placed > 0) {
                fits = false;
                break;
            }
            out.push_str(&" ".repeat(at - used));
            out.push_str(&label);
            used = at + w;
            placed += 1;
            exp += step;
        }
        if fits && placed >= 2 {
            out.push_str(&" ".repeat(cells - used));
            return Some(out);
        }
    }
    None
}

/// Time per call as the bar shows it (s): the median call, else the mean
/// from the rate.
fn bar_seconds(r: &Row) -> Option<(f64, Option<f64>)> {
    let p50 = r
        .p50_ns
        .map(|n| n as f64 / 1e9)
        .or_else(|| r.calls_per_s.filter(|c| *c > 0.0).map(|c| 1.0 / c))?;
    Some((p50, r.p99_ns.map(|n| n as f64 / 1e9)))
}

/// Eighths of a cell, for a bar's end.
const EIGHTHS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

/// A row's bar over `cells`: full blocks to the median (▒ for a
/// published figure), light shade on to p99; a status word instead when
/// nothing was measured.
fn bar(r: &Row, scale: Scale, cells: usize, running: bool) -> Vec<Span<'static>> {
    let color = status_color(&r.status);
    let word = |w: &str, st: Style| {
        let t = fit::elide_end(w, cells);
        let pad = cells - fit::width(&t);
        vec![Span::styled(t, st), Span::raw(" ".repeat(pad))]
    };
    let Some((p50, p99)) = bar_seconds(r) else {
        return match &r.status {
            RowStatus::Unavailable { .. } => word("not run", Style::new().fg(color)),
            RowStatus::Running => word("measuring…", Style::new().fg(color)),
            RowStatus::Reference { .. } => word("not measured here", Style::new().fg(color)),
            RowStatus::Measured => word("no calls", Style::new().fg(color)),
            RowStatus::Pending if running => word("waiting", DIM),
            RowStatus::Pending => word("not measured", DIM),
        };
    };
    let reference = matches!(r.status, RowStatus::Reference { .. });
    let eighths = ((scale.at(p50, cells) * 8.0).round() as usize).clamp(1, cells * 8);
    let (full, part) = (eighths / 8, eighths % 8);
    let mut solid = if reference {
        "▒".repeat(full)
    } else {
        "█".repeat(full)
    };
    if !reference {
        solid.push_str(EIGHTHS[part]);
    } else if part > 0 {
        solid.push('▒');
    }
    let solid_w = fit::width(&solid);
    let tail_end = p99
        .map(|t| scale.at(t, cells).ceil() as usize)
        .unwrap_or(0)
        .clamp(solid_w, cells);
    let mut spans = vec![Span::styled(solid, Style::new().fg(color))];
    if tail_end > solid_w {
        spans.push(Span::styled(
            "░".repeat(tail_end - solid_w),
            Style::new().fg(color),
        ));
    }
    spans.push(Span::raw(" ".repeat(cells - tail_end)));
    spans
}

/// Text from a script or the comparison, safe and on one line.
fn clean(s: &str) -> String {
    fit::expand_tabs(s.lines().next().unwrap_or(""))
}

/// A row's line: mark, label (as shown: elided so no two look alike),
/// bar, figures.
fn row_line(r: &Row, label: &str, c: &Columns, scale: Scale, running: bool) -> Line<'static> {
    let color = status_color(&r.status);
    let mut spans = vec![
        Span::styled(
            format!("{} ", status_mark(&r.status)),
            Style::new().fg(color).add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            pad_right(label, c.label),
            Style::new().fg(if r.status == RowStatus::Pending {
                Color::Gray
            } else {
                Color::White
            }),
        ),
        Span::raw(" "),
    ];
    // A rung that could not run says why across its bar and figures
    // (none of which were measured).
    if let RowStatus::Unavailable { reason } = &r.status {
        let room = c.bar + c.cols.iter().map(|&i| COLS[i].width + 1).sum::<usize>();
        let why = fit::elide_end(&format!("not run: {}", clean(reason)), room);
        spans.push(Span::styled(pad_right(&why, room), Style::new().fg(color)));
        return Line::from(spans);
    }
    if c.bar > 0 {
        spans.extend(bar(r, scale, c.bar, running));
    }
    for &i in &c.cols {
        let col = &COLS[i];
        let (text, st) = match (col.value)(r) {
            Some(v) => (v, Style::new().fg(Color::White)),
            None => ("—".to_string(), DIM),
        };
        spans.push(Span::styled(
            format!(
                " {}",
                pad_left(&fit::elide_end(&text, col.width), col.width)
            ),
            st,
        ));
    }
    Line::from(spans)
}

/// What a row adds to its figures, as (text, colour) pieces: where a
/// published figure is from, a result unlike the warm call's, and (with
/// `memory`) how its memory was measured.
fn notes(r: &Row, warm_result: Option<&str>, memory: bool) -> Vec<(String, Color)> {
    let mut out = Vec::new();
    if let RowStatus::Reference { source } = &r.status {
        out.push((
            format!("not measured here: {}", clean(source)),
            Color::Magenta,
        ));
    }
    if let (Some(mine), Some(warm)) = (r.result.as_deref(), warm_result)
        && mine != warm
        && r.rung != Rung::Warm
    {
        out.push((
            format!("gave {} (warm: {})", clean(mine), clean(warm)),
            Color::Yellow,
        ));
    }
    if let Some(caveat) = &r.caveat {
        // Said whatever the room: the figures are not what the label says.
        out.push((clean(caveat), Color::Yellow));
    }
    if memory && r.memory_per_unit.is_some() && !r.memory_note.trim().is_empty() {
        let unit = clean(&r.memory_unit);
        let per = if unit.is_empty() {
            String::new()
        } else {
            format!(" per {unit}")
        };
        out.push((
            format!("memory{per}: {}", clean(&r.memory_note)),
            Color::Gray,
        ));
    }
    out
}

/// Lines under a row: its notes and its lesson on one line (`apart`:
/// the notes, with how memory was measured, on a line of their own above
/// the lesson), each cut to `width`. The published source comes first.
fn detail_lines(
    r: &Row,
    warm_result: Option<&str>,
    width: usize,
    apart: bool,
) -> Vec<Line<'static>> {
    let mut notes: Vec<Span<'static>> = vec![Span::raw("  ")];
    for (i, (text, color)) in self::notes(r, warm_result, apart).into_iter().enumerate() {
        if i > 0 {
            notes.push(Span::styled(" · ", DIM));
        }
        notes.push(Span::styled(text, Style::new().fg(color)));
    }
    let lesson = Span::styled(clean(&r.lesson), GRAY.add_modifier(Modifier::ITALIC));
    if notes.len() == 1 {
        return vec![fit_spans(vec![Span::raw("  "), lesson], width)];
    }
    if apart {
        return vec![
            fit_spans(notes, width),
            fit_spans(vec![Span::raw("  "), lesson], width),
        ];
    }
    notes.push(Span::styled(" · ", DIM));
    notes.push(lesson);
    vec![fit_spans(notes, width)]
}

/// Rows a rung takes with its notes apart from its lesson.
fn lines_apart(r: &Row, warm_result: Option<&str>) -> usize {
    if notes(r, warm_result, true).is_empty() {
        2
    } else {
        3
    }
}

/// `spans` cut at `width` cells, the last one elided with "…".
fn fit_spans(spans: Vec<Span<'static>>, width: usize) -> Line<'static> {
    let mut out = Vec::new();
    let mut used = 0;
    for sp in spans {
        let w = sp.width();
        if used + w <= width {
            used += w;
            out.push(sp);
        } else {
            let t = fit::elide_end(&sp.content, width - used);
            if !t.is_empty() {
                out.push(Span::styled(t, sp.style));
            }
            break;
        }
    }
    Line::from(out)
}

fn pad_right(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(fit::width(s))))
}

fn pad_left(s: &str, w: usize) -> String {
    format!("{}{s}", " ".repeat(w.saturating_sub(fit::width(s))))
}

/// The heading: the columns' names and the bar's ticks.
fn header(c: &Columns, scale: Scale) -> Line<'static> {
    let mut spans = vec![Span::styled(
        format!(
            "  {} ",
            pad_right(&fit::elide_end("sandbox per call", c.label), c.label)
        ),
        DIM.add_modifier(Modifier::BOLD),
    )];
    if c.bar > 0 {
        let t = ticks(scale, c.bar)
            .unwrap_or_else(|| pad_right(&fit::elide_end("time per call, log", c.bar), c.bar));
        spans.push(Span::styled(t, Style::new().fg(Color::Cyan)));
    }
    for &i in &c.cols {
        let col = &COLS[i];
        spans.push(Span::styled(
            format!(" {}", pad_left(col.head, col.width)),
            DIM.add_modifier(Modifier::BOLD),
        ));
    }
    Line::from(spans)
}

/// "3 rounds × 0.4 s per row".
fn window(run: &LadderRun) -> String {
    let per_round = run.duration / run.rounds.max(1);
    format!(
        "{} × {} per row",
        fit::plural(run.rounds, "round", "rounds"),
        fit::window(per_round)
    )
}

/// The title's right part: where the run is, and when it is done, the
/// window measured; longest first (the title takes the first that fits).
fn progress(run: &LadderRun) -> Vec<String> {
    match &run.outcome {
        LadderOutcome::Running => match run.round {
            None => vec![format!("starting: {}", window(run)), "starting…".into()],
            Some((r, n)) => vec![
                format!("round {r} of {n} · {}", window(run)),
                format!("round {r} of {n}"),
                format!("{r}/{n}"),
            ],
        },
        LadderOutcome::Done { .. } if run.measured() == 0 => vec![
            "done: nothing measured (each row says why)".into(),
            "done: nothing measured".into(),
            "done".into(),
        ],
        LadderOutcome::Done { seconds, .. } => {
            let took = fit::window(std::time::Duration::from_secs_f64(seconds.max(0.0)));
            vec![
                format!("done: {}, {took} in all", window(run)),
                format!("done: {}", window(run)),
                format!("done in {took}"),
                "done".into(),
            ]
        }
        LadderOutcome::Failed(_) => vec!["could not run".into(), "failed".into()],
        LadderOutcome::Stopped => vec!["stopped".into()],
    }
}

/// What the figures are for, how they were measured, and what is wrong
/// with them, as lines (most important first): the error, a newer
/// version, unsaved edits.
fn notices(s: &State, run: &LadderRun, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let warn = Style::new().fg(Color::Yellow);
    if let LadderOutcome::Failed(e) = &run.outcome {
        let text = format!("could not compare: {}", e.replace('\n', " "));
        let red = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
        out.extend(
            fit::wrap(&fit::expand_tabs(&text), width)
                .into_iter()
                .take(3)
                .map(|l| Line::from(Span::styled(l, red))),
        );
    }
    let now = s.open.as_ref().map(|o| o.name.as_str());
    let again = keymap::key_says(s, &Action::RunOnce, "measures it").unwrap_or_default();
    if now.is_some_and(|n| n != run.file) || s.engine.version != run.version {
        let what = match now {
            Some(n) if n != run.file => {
                format!("these figures are for {}; {n} is open now", run.file)
            }
            _ => format!(
                "these figures are for v{}; the file is v{} now",
                run.version, s.engine.version
            ),
        };
        out.push(Line::from(Span::styled(
            fit::elide_end(&format!("{what} · {again}"), width),
            warn,
        )));
    } else if run.unsaved {
        out.push(Line::from(Span::styled(
            fit::elide_end(
                &format!(
                    "measuring v{}, the text last saved: unsaved edits are not in it",
                    run.version
                ),
                width,
            ),
            warn,
        )));
    }
    out
}

/// What the bars mean and the measured window, as lines that are shown
/// when there is room.
fn footer(s: &State, run: &LadderRun, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let text = match &run.outcome {
        LadderOutcome::Running => Some(format!(
            "measuring {}, rows in turn · {} in flight · rows fill in as rounds end",
            window(run),
            fit::plural(run.concurrency as u64, "call", "calls")
        )),
        LadderOutcome::Done { machine, .. } => Some(format!(
            "measured {}, rows in turn · {} in flight · {machine}",
            window(run),
            fit::plural(run.concurrency as u64, "call", "calls")
        )),
        LadderOutcome::Stopped => Some(format!(
            "stopped before the end: figures are from the rounds done · {}",
            keymap::key_says(s, &Action::RunOnce, "measures again").unwrap_or_default()
        )),
        LadderOutcome::Failed(_) => None,
    };
    if let Some(t) = text {
        out.push(Line::from(Span::styled(fit::elide_end(&t, width), GRAY)));
    }
    out.push(Line::from(Span::styled(
        fit::elide_end(
            "bars: time per call, log scale · █ p50 ░ on to p99 · ▒ published · — not measured",
            width,
        ),
        DIM,
    )));
    out
}

/// The ladder over `area` (the panes' place; the status bar stays below
/// it). `hint`: the last row says how to close it (tiny screens, where
/// there is no status bar).
pub fn render(f: &mut Frame, area: Rect, s: &State, hint: bool) {
    f.render_widget(Clear, area);
    if area.width == 0 || area.height == 0 {
        return;
    }
    let w = usize::from(area.width);
    let h = usize::from(area.height);
    let Some(run) = s.ladder.run.as_ref() else {
        f.render_widget(
            Paragraph::new("Isolation ladder: nothing measured yet"),
            area,
        );
        return;
    };
    let cols = Columns::at(w);
    let scale = Scale::of(&run.rows);
    let n = run.rows.len();
    let hint_line = hint.then(|| {
        let mut t = keymap::tiny_hint(s);
        if cols.bar == 0 {
            t.push_str(" · wider shows bars");
        }
        Line::from(Span::styled(fit::elide_end(&t, w), GRAY))
    });
    let notices = notices(s, run, w);
    let footer = footer(s, run, w);
    // Rows left for the rungs after the title, the hint and the header.
    let fixed = 1 + usize::from(hint) + usize::from(h >= 4);
    let room = h.saturating_sub(fixed);
    // Notices take what one line per rung leaves; the error is worth a
    // rung's place on a short screen.
    let mut keep = room.saturating_sub(n);
    if keep == 0 && room >= 2 && matches!(run.outcome, LadderOutcome::Failed(_)) {
        keep = 1;
    }
    let notices: Vec<Line> = notices.into_iter().take(keep).collect();
    let room = room - notices.len();
    let warm = run
        .rows
        .iter()
        .find(|r| r.rung == Rung::Warm)
        .and_then(|r| r.result.as_deref());
    // Notes apart from lessons when all fit with the footer; else a line
    // under each row; else the rows alone.
    let all_apart: usize = run.rows.iter().map(|r| lines_apart(r, warm)).sum();
    let apart = all_apart + footer.len() <= room;
    let two = room >= 2 * n;
    let per = if two { 2 } else { 1 };
    let shown = (room / per).min(n);
    let top = s.ladder.scroll.min(n - shown);
    let used = if apart { all_apart } else { shown * per };
    let footer: Vec<Line> = footer.into_iter().take(room.saturating_sub(used)).collect();

    // The title: what and where the run is; which rungs are shown when
    // not all are.
    let shown_part = (shown < n).then(|| format!("{}–{} of {n} ↕ · ", top + 1, top + shown));
    let name = if w >= 60 {
        "Isolation ladder"
    } else {
        "Ladder"
    };
    let left_least = fit::width(name) + 12;
    let right = progress(run)
        .into_iter()
        .map(|p| format!(" {}{p} ", shown_part.as_deref().unwrap_or("")))
        .find(|p| fit::width(p) + left_least <= w)
        .unwrap_or_default();
    // The file's folders go first, then its name is elided.
    let version = format!(" v{}", run.version);
    let room = w.saturating_sub(fit::width(&right) + fit::width(name) + 4 + fit::width(&version));
    let base = run.file.rsplit('/').next().unwrap_or(&run.file);
    let file = if fit::width(&run.file) <= room {
        run.file.clone()
    } else {
        fit::elide_middle(base, room)
    };
    let left = fit::elide_end(
        &format!(" {name} · {file}{version}"),
        w - fit::width(&right),
    );
    let fill = w.saturating_sub(fit::width(&left) + fit::width(&right));
    let bar_style = Style::new().bg(Color::Rgb(30, 30, 40));
    let title = Line::from(vec![
        Span::styled(
            left,
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        ),
        Span::raw(" ".repeat(fill)),
        Span::styled(
            right,
            Style::new().fg(match run.outcome {
                LadderOutcome::Running => Color::Yellow,
                LadderOutcome::Done { .. } => Color::Green,
                LadderOutcome::Failed(_) => Color::Red,
                LadderOutcome::Stopped => Color::Gray,
            }),
        ),
    ])
    .style(bar_style);

    let mut lines = vec![title];
    lines.extend(notices);
    if h >= 4 {
        lines.push(header(&cols, scale));
    }
    let labels: Vec<String> = run.rows.iter().map(|r| clean(&r.label)).collect();
    let labels = fit::elide_distinct(&labels, cols.label);
    for (r, label) in run.rows.iter().zip(&labels).skip(top).take(shown) {
        lines.push(row_line(r, label, &cols, scale, run.running()));
        if two {
            lines.extend(detail_lines(r, warm, w, apart));
        }
    }
    lines.extend(footer);
    lines.truncate(h - usize::from(hint));
    f.render_widget(Paragraph::new(lines), area);
    if let Some(l) = hint_line {
        let y = area.y + area.height - 1;
        f.render_widget(Paragraph::new(l), Rect::new(area.x, y, area.width, 1));
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn figures_fit_their_columns() {
        assert_eq!(compact_bytes(103_600_000), "98.8 MiB");
        assert_eq!(compact_bytes(108_632_064), "104 MiB");
        assert_eq!(compact_bytes(19 << 20), "19.0 MiB");
        for (rate, want) in [(507_400.0, "507.4k"), (5_880_000.0, "5.88M"), (67.0, "67")] {
            let r = Row {
                calls_per_s: Some(rate),
                ..Row::pending(crate::compare::Rung::Warm)
            };
            let got = (COLS[0].value)(&r).unwrap_or_default();
            assert_eq!(got, want);
            assert!(got.chars().count() <= COLS[0].width);
        }
    }

    use super::*;

    #[test]
    fn ratios_read_at_a_glance() {
        assert_eq!(fmt_ratio(1.0), "1.0×");
        assert_eq!(fmt_ratio(9.96), "10×");
        assert_eq!(fmt_ratio(180.4), "180×");
        assert_eq!(fmt_ratio(11_000.0), "11k×");
        assert_eq!(fmt_ratio(2_500.0), "2.5k×");
        assert_eq!(fmt_ratio(1.2e6), "1.2M×");
    }

    #[test]
    fn decades_are_labelled_in_their_unit() {
        let l: Vec<String> = (-8..=1).map(decade_label).collect();
        assert_eq!(
            l,
            [
                "10ns", "100ns", "1µs", "10µs", "100µs", "1ms", "10ms", "100ms", "1s", "10s"
            ]
        );
    }

    #[test]
    fn ticks_sit_at_their_decades_and_never_overlap() {
        let scale = Scale {
            lo: SCALE_LO,
            decades: 8.0,
        };
        // Wide: every decade; each label starts at its cell.
        let t = ticks(scale, 80).unwrap();
        assert_eq!(fit::width(&t), 80);
        assert_eq!(t.find("100ns"), Some(10));
        assert!(t.contains("1ms") && t.contains("100ms"), "{t}");
        // Narrower: every second decade, from 100 ns.
        let t = ticks(scale, 30).unwrap();
        assert_eq!(t, "    100ns  10µs    1ms        ");
        assert_eq!(fit::width(&t), 30);
        // Too narrow for two labels: none.
        assert_eq!(ticks(scale, 5), None);
    }

    #[test]
    fn columns_give_way_to_the_bar_then_go() {
        let c = Columns::at(160);
        assert_eq!(c.cols.len(), 6);
        assert!(c.bar > 40);
        let c = Columns::at(80);
        assert!(c.bar >= BAR_WANTED, "{c:?}");
        assert!(
            !c.cols.contains(&2) && c.cols.contains(&5),
            "p99 goes first: {c:?}"
        );
        let c = Columns::at(30);
        assert_eq!(c.cols, vec![5]);
        for w in 16..200 {
            let c = Columns::at(w);
            let used =
                2 + c.label + 1 + c.bar + c.cols.iter().map(|&i| COLS[i].width + 1).sum::<usize>();
            assert!(used <= w, "{w}: {c:?}");
        }
    }

    #[test]
    fn a_bar_grows_with_time_on_a_log_scale() {
        let scale = Scale {
            lo: SCALE_LO,
            decades: 8.0,
        };
        let mut r = crate::compare::Row::pending(Rung::Warm);
        r.status = RowStatus::Measured;
        let width = |p50: u64| {
            let mut r = r.clone();
            r.p50_ns = Some(p50);
            let spans = bar(&r, scale, 40, false);
            fit::width(&spans[0].content)
        };
        // Each ×10 is the same length: 40 cells / 8 decades.
        assert_eq!(width(100), 5);
        assert_eq!(width(1_000), 10);
        assert_eq!(width(1_000_000), 25);
        // Faster than the scale shows a sliver, slower fills it.
        assert_eq!(width(1), 1);
        assert_eq!(width(100_000_000_000), 40);
    }
}
