//! The Results pane: all isolates at a glance (equal results and errors
//! grouped, with counts and ids), then the selected isolate's last sample,
//! its result or error pinned in view, and its console below, scrollable
//! when the pane has focus. Text is shown as the engine formatted it, with
//! its line breaks kept and tabs expanded.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{block_in, fit, focused};
use crate::engine::Level;
use crate::metrics::fmt_duration;
use crate::tui::action::Pane;
use crate::tui::state::{Group, GroupKind, State};

fn level_color(l: Level) -> Color {
    match l {
        Level::Log => Color::Gray,
        Level::Info => Color::Cyan,
        Level::Warn => Color::Yellow,
        Level::Error => Color::Red,
        Level::Debug => Color::DarkGray,
    }
}

const DIM: Style = Style::new().fg(Color::DarkGray);

/// The pane's text for an inner area of `width`×`height`: rows always
/// shown, then rows that scroll (a result too long to pin, the console).
struct Doc {
    pinned: Vec<Line<'static>>,
    /// Named above the scrolling rows, with the position added.
    scroll_title: String,
    scroll: Vec<Line<'static>>,
}

impl Doc {
    /// (pinned rows shown, rows for the scrolling part) in `height`.
    fn split(&self, height: usize) -> (usize, usize) {
        let header = usize::from(!self.scroll.is_empty());
        let pinned = self.pinned.len().min(height);
        (pinned, height - pinned - header.min(height - pinned))
    }
}

/// One group as a piece: `HelloWorld ×498`, `timed out ×2 (#17, #301)`,
/// its label cut to `label_max` cells.
fn group_piece(g: &Group, ids: bool, label_max: usize) -> Vec<Span<'static>> {
    let color = match g.kind {
        GroupKind::Ok => Color::Green,
        GroupKind::Failed => Color::Red,
        GroupKind::Pending => Color::DarkGray,
    };
    let label = match g.kind {
        GroupKind::Pending => "no result yet".to_string(),
        _ => {
            let mut first = g.label.lines().next().unwrap_or("").to_string();
            if g.label.contains('\n') {
                first.push_str(" …");
            }
            first
        }
    };
    let label = fit::elide_end(&fit::expand_tabs(&label), label_max);
    let mut spans = vec![
        Span::styled(label, Style::default().fg(color)),
        Span::styled(
            format!(" ×{}", g.count),
            Style::default().fg(color).add_modifier(Modifier::BOLD),
        ),
    ];
    if ids {
        let mut list: Vec<String> = g.ids.iter().map(|i| format!("#{i}")).collect();
        if g.count > g.ids.len() {
            list.push("…".into());
        }
        spans.push(Span::styled(format!(" ({})", list.join(", ")), DIM));
    }
    spans
}

/// Labels are cut to no fewer cells than this before a group moves on.
const LABEL_MIN: usize = 8;

/// The at-a-glance rows: `v2: HelloWorld ×498 · timed out ×2 (#17, #301)`,
/// in at most `max_rows` rows of `width`; groups that do not fit are
/// counted in a last `+N more`.
pub(super) fn glance(s: &State, width: usize, max_rows: usize) -> Vec<Line<'static>> {
    let groups = s.result_groups();
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let head = format!("v{}:", s.engine.version);
    let mut used = fit::width(&head);
    let mut rows: Vec<Vec<Span<'static>>> = vec![vec![Span::styled(head, bold)]];
    let pw = |p: &[Span]| p.iter().map(Span::width).sum::<usize>();
    'groups: for (i, g) in groups.iter().enumerate() {
        let more = |n: usize| format!("+{n} more");
        let after = groups.len() - i - 1;
        loop {
            let sep = match (used, i) {
                (0, _) => "",
                (_, 0) => " ",
                _ => " · ",
            };
            let last_row = rows.len() >= max_rows;
            let reserve = if last_row && after > 0 {
                3 + fit::width(&more(after))
            } else {
                0
            };
            let room = width.saturating_sub(used + fit::width(sep) + reserve);
            // The largest group needs no ids when the others show theirs.
            for ids in [groups.len() > 1 && i > 0, false] {
                let fixed = pw(&group_piece(g, ids, 0));
                let label_w = match g.kind {
                    GroupKind::Pending => LABEL_MIN,
                    _ => fit::width(&g.label).min(LABEL_MIN),
                };
                if room >= fixed + label_w.max(1) {
                    let piece = group_piece(g, ids, room - fixed);
                    used += fit::width(sep) + pw(&piece);
                    let row = rows.last_mut().expect("a row");
                    row.push(Span::raw(sep));
                    row.extend(piece);
                    continue 'groups;
                }
            }
            if !last_row {
                rows.push(Vec::new());
                used = 0;
                continue;
            }
            let row = rows.last_mut().expect("a row");
            let text = more(after + 1);
            if used + 3 + fit::width(&text) <= width {
                row.push(Span::raw(if used == 0 { "" } else { " · " }));
                row.push(Span::styled(text, DIM));
            }
            break 'groups;
        }
    }
    rows.into_iter().map(Line::from).collect()
}

fn doc(s: &State, width: usize, height: usize) -> Doc {
    let width = width.max(1);
    let glance_rows = match height {
        12.. => 3,
        6.. => 2,
        _ => 1,
    };
    let mut pinned = glance(s, width, glance_rows);
    let mut scroll: Vec<Line<'static>> = Vec::new();
    let Some(r) = s.results.get(s.selected_isolate) else {
        return Doc {
            pinned,
            scroll_title: String::new(),
            scroll,
        };
    };
    let Some(inv) = &r.last else {
        pinned.push(Line::from(Span::styled(
            format!("isolate {}: no result yet", s.selected_isolate),
            DIM,
        )));
        return Doc {
            pinned,
            scroll_title: String::new(),
            scroll,
        };
    };
    // The sample, named as what it is: under load one call in a publish
    // window is reported, so its number may be below the isolate's count.
    let runs = s
        .snapshots
        .get(s.selected_isolate)
        .map_or(inv.seq, |w| w.invocations.max(inv.seq));
    // Not what runs now: an older version, another mode, or an isolate
    // replaced since (each says which, next to what it is about).
    let old_mode = inv.mode != s.engine.mode;
    let stale = inv.version != s.engine.version || old_mode || r.replaced;
    let mut about = [
        format!("isolate {}", s.selected_isolate),
        if runs > inv.seq && !r.replaced {
            format!("run #{} of {runs} (sampled)", inv.seq)
        } else {
            format!("run #{}", inv.seq)
        },
        format!(
            "v{}{}",
            inv.version,
            if inv.version != s.engine.version {
                " (older version)"
            } else {
                ""
            }
        ),
        inv.duration.map_or("untimed".into(), fmt_duration),
        format!("CPU {}", inv.cpu.map_or("—".into(), fmt_duration)),
        {
            // The longest form that fits the row.
            let forms = if old_mode {
                vec![
                    format!("{}, before the switch", inv.mode),
                    format!("{}, old mode", inv.mode),
                    "old mode".into(),
                ]
            } else if r.replaced {
                vec![
                    format!("{}, before the threads switch", inv.mode),
                    "before threads switch".into(),
                    "old isolate".into(),
                ]
            } else {
                vec![inv.mode.to_string()]
            };
            let last = forms.len() - 1;
            forms
                .iter()
                .find(|f| fit::width(f) <= width)
                .unwrap_or(&forms[last])
                .clone()
        },
    ];
    // What says the sample is not current goes first (the pieces are
    // dropped from the end when the row is short; the title names the
    // isolate).
    if old_mode || r.replaced {
        about.rotate_right(1);
    }
    if fit::width(&about[1]) + fit::width(&about[0]) + 3 > width {
        about[1] = format!("#{}", inv.seq);
    }
    let about: Vec<&str> = about.iter().map(String::as_str).collect();
    pinned.push(Line::from(Span::styled(
        fit::pick(&about, " · ", width).join(" · "),
        if stale {
            Style::default().fg(Color::Yellow)
        } else {
            DIM
        },
    )));
    // The result or the error, pinned; what does not fit half the rest
    // continues in the scrolling part.
    let mut result: Vec<Line<'static>> = Vec::new();
    match &inv.outcome {
        Ok(v) => {
            let value = Style::default()
                .fg(Color::White)
                .add_modifier(Modifier::BOLD);
            for (i, row) in fit::wrap(v, width.saturating_sub(2))
                .into_iter()
                .enumerate()
            {
                let lead = if i == 0 {
                    Span::styled("→ ", Style::default().fg(Color::Green))
                } else {
                    Span::raw("  ")
                };
                result.push(Line::from(vec![lead, Span::styled(row, value)]));
            }
        }
        Err(e) => {
            let red = Style::default().fg(Color::Red);
            for (i, row) in fit::wrap(&super::relative(s, &e.to_string()), width)
                .into_iter()
                .enumerate()
            {
                let st = if i == 0 {
                    red.add_modifier(Modifier::BOLD)
                } else {
                    red
                };
                result.push(Line::from(Span::styled(row, st)));
            }
            if let Some(note) = line_note(s, e) {
                for row in fit::wrap(&note, width) {
                    result.push(Line::from(Span::styled(
                        row,
                        Style::default().fg(Color::Yellow),
                    )));
                }
            }
            if s.current_version_broken()
                && let Some((v, good)) = &r.last_ok
            {
                result.push(Line::from(Span::styled(
                    format!("last good result (v{v}, stale):"),
                    Style::default().fg(Color::Yellow),
                )));
                for row in fit::wrap(good, width) {
                    result.push(Line::from(Span::styled(row, DIM)));
                }
            }
        }
    }
    // A result that fits the room is pinned whole (half the room with a
    // console below). A longer one keeps its first rows pinned, and the
    // rest scrolls, as the console does: so a pinned part never takes the
    // whole pane and every row can be scrolled to.
    let has_console = !inv.console.lines.is_empty() || inv.console.dropped > 0;
    let room = height.saturating_sub(pinned.len());
    let cap = if has_console || result.len() > room {
        (room / 2).max(2)
    } else {
        room.max(1)
    };
    if result.len() > cap {
        let rest = result.split_off(cap - 1);
        result.push(Line::from(Span::styled(
            format!("… {} more rows below", rest.len()),
            Style::default().fg(Color::Yellow),
        )));
        scroll.extend(rest);
    }
    pinned.extend(result);
    // The console, each line tagged with its level; wrapped rows indented.
    for c in &inv.console.lines {
        let color = level_color(c.level);
        let tag = format!("{:<6}", c.level.name());
        let text_w = width.saturating_sub(6).max(1);
        for (i, row) in fit::wrap(&c.text, text_w).into_iter().enumerate() {
            let lead = if i == 0 {
                Span::styled(
                    tag.clone(),
                    Style::default().fg(color).add_modifier(Modifier::BOLD),
                )
            } else {
                Span::raw("      ")
            };
            scroll.push(Line::from(vec![
                lead,
                Span::styled(row, Style::default().fg(color)),
            ]));
        }
    }
    if inv.console.dropped > 0 {
        scroll.push(Line::from(Span::styled(
            format!(
                "… {} dropped (console bounds)",
                fit::plural(inv.console.dropped, "more line", "more lines")
            ),
            Style::default().fg(Color::Yellow),
        )));
    }
    let n = inv.console.lines.len() as u64;
    let scroll_title = if n > 0 || inv.console.dropped > 0 {
        format!("console: {}", fit::plural(n, "line", "lines"))
    } else {
        "result, continued".into()
    };
    Doc {
        pinned,
        scroll_title,
        scroll,
    }
}

/// When the open buffer differs from the text that ran and `e` points
/// into it: where its line is now, or that it is the saved version's.
fn line_note(s: &State, e: &crate::engine::ScriptError) -> Option<String> {
    let m = s.error_marker().filter(|m| std::ptr::eq(m.error, e))?;
    match m.line {
        Some(l) if l == m.ran_line => None,
        Some(l) => Some(format!(
            "(lines above are the saved version's: line {} is now line {l})",
            m.ran_line
        )),
        None => Some(format!(
            "(lines above are the saved version's: your edits changed line {} or around it)",
            m.ran_line
        )),
    }
}

/// The Results pane's inner size on the last drawn screen.
fn inner_size(s: &State) -> Option<(usize, usize)> {
    let (w, h) = s.screen;
    let a = super::layout(Rect::new(0, 0, w, h), s)?;
    let inner = block_in(a.results, "", false).inner(a.results);
    Some((inner.width as usize, inner.height as usize))
}

/// How far the scrolling part can scroll on the last drawn screen (before
/// a draw: one row per console line).
pub fn scroll_max(s: &State) -> usize {
    match inner_size(s) {
        Some((w, h)) => {
            let d = doc(s, w, h);
            let (_, region) = d.split(h);
            d.scroll.len().saturating_sub(region)
        }
        None => s
            .results
            .get(s.selected_isolate)
            .and_then(|r| r.last.as_ref())
            .map_or(0, |i| i.console.lines.len()),
    }
}

/// Rows of the scrolling part on the last drawn screen (10 before a draw).
pub fn page(s: &State) -> usize {
    inner_size(s).map_or(10, |(w, h)| doc(s, w, h).split(h).1)
}

pub fn render(f: &mut Frame, area: Rect, s: &State) {
    let is_focused = focused(s, Pane::Results);
    let mut title = format!("Results: isolate {}", s.selected_isolate);
    // The payload handlers get, elided to the room left (dropped when
    // under a few cells of it would show).
    let room = usize::from(area.width.saturating_sub(2)).saturating_sub(fit::width(&title));
    let payload_head = " · payload ";
    if room >= fit::width(payload_head) + 6 {
        title.push_str(payload_head);
        let p = s.engine.payload.replace(['\n', '\r', '\t'], " ");
        title.push_str(&fit::elide_middle(&p, room - fit::width(payload_head)));
    }
    let b = block_in(area, &title, is_focused);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let (w, h) = (inner.width as usize, inner.height as usize);
    let d = doc(s, w, h);
    let (pinned, region) = d.split(h);
    let mut lines: Vec<Line> = d.pinned.into_iter().take(pinned).collect();
    if !d.scroll.is_empty() && pinned < h {
        let n = d.scroll.len();
        let top = s.results_scroll.min(n.saturating_sub(region));
        // The longest form of the header that fits.
        let (a, b) = (top + 1, (top + region).min(n));
        let heads = if n > region {
            vec![
                format!(
                    "{} · rows {a}–{b} of {n}{}",
                    d.scroll_title,
                    if is_focused {
                        ""
                    } else {
                        " · focus the pane to scroll"
                    }
                ),
                format!("{} · rows {a}–{b} of {n}", d.scroll_title),
                format!("rows {a}–{b} of {n}"),
                format!("{a}–{b}/{n}"),
            ]
        } else {
            vec![d.scroll_title]
        };
        let head = heads
            .iter()
            .find(|h| fit::width(h) <= w)
            .unwrap_or(&heads[heads.len() - 1]);
        lines.push(Line::from(Span::styled(
            fit::elide_end(head, w),
            Style::default()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::UNDERLINED),
        )));
        lines.extend(d.scroll.into_iter().skip(top).take(region));
    }
    f.render_widget(Paragraph::new(lines), inner);
}
