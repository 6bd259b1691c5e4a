//! syntect highlighting on its own thread, bounded by what is on screen.
//!
//! The UI sends (revision, a shared snapshot of the lines, the rows shown)
//! and gets back styled pieces for those rows plus a margin; until they
//! arrive it draws the text plain. The work per request is bounded: parse
//! states are kept every [`CHECKPOINT_EVERY`] lines, so after an edit at
//! line L parsing resumes from the checkpoint before L and stops at the
//! end of the rows wanted; a newer request (an edit or a scroll) cancels
//! work in progress between two lines; a line is highlighted only up to
//! [`MAX_LINE_BYTES`] (the rest is drawn plain), and a view far below the
//! last checkpoint starts from a fresh state instead of parsing the whole
//! file first (colours there may be off inside a multi-line comment or
//! string until the lines above have been highlighted).

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use flume::{Receiver, Sender, unbounded};
use ratatui::style::{Color, Style};
use syntect::highlighting::{self, HighlightIterator, HighlightState, Theme, ThemeSet};
use syntect::parsing::{ParseState, ScopeStack, SyntaxReference, SyntaxSet};

use super::editor::Lines;
use super::state::Highlighted;

/// Parse states are kept at the start of every this many lines.
pub const CHECKPOINT_EVERY: usize = 64;
/// Lines highlighted above and below the rows shown.
pub const MARGIN: usize = 48;
/// Bytes of a line that get highlighted; the rest is drawn plain.
pub const MAX_LINE_BYTES: usize = 2048;
/// A view further than this many lines below the last checkpoint starts
/// from a fresh parse state rather than parsing everything above it.
pub const MAX_RESUME: usize = 2000;

/// One request: highlight `rows` of `lines`, which is revision `revision`.
struct Request {
    revision: u64,
    lines: Lines,
    rows: Range<usize>,
}

/// The highlight thread's handle: requests go in, results come out on `rx`.
pub struct Highlighter {
    tx: Sender<Request>,
    /// (revision, styled rows) for the newest request not cancelled.
    pub rx: Receiver<(u64, Highlighted)>,
}

impl Highlighter {
    /// Starts the thread; it ends when the `Highlighter` is dropped.
    pub fn spawn() -> Highlighter {
        let (tx, job_rx) = unbounded::<Request>();
        let (out_tx, rx) = unbounded();
        std::thread::Builder::new()
            .name("highlight".into())
            .spawn(move || {
                let syntaxes = SyntaxSet::load_defaults_newlines();
                let themes = ThemeSet::load_defaults();
                let theme = &themes.themes["base16-ocean.dark"];
                let mut cache = Cache::new(&syntaxes, theme);
                while let Ok(mut job) = job_rx.recv() {
                    // Only the newest request matters.
                    while let Ok(newer) = job_rx.try_recv() {
                        job = newer;
                    }
                    cache.set_text(job.lines);
                    // A newer request cancels this one between two lines.
                    let Some(out) = cache.highlight(job.rows, || !job_rx.is_empty()) else {
                        continue;
                    };
                    if out_tx.send((job.revision, out)).is_err() {
                        return;
                    }
                }
            })
            .expect("spawn the highlight thread");
        Highlighter { tx, rx }
    }

    /// Asks for `rows` (the rows on screen; a margin is added) of `lines`,
    /// the buffer at `revision`. Replaces any request not yet done.
    pub fn request(&self, revision: u64, lines: Lines, rows: Range<usize>) {
        let _ = self.tx.send(Request {
            revision,
            lines,
            rows,
        });
    }
}

/// Parse states and styled lines for one snapshot of the text, reused for
/// the next snapshot up to its first changed line.
pub struct Cache<'a> {
    syntaxes: &'a SyntaxSet,
    js: &'a SyntaxReference,
    highlighter: highlighting::Highlighter<'a>,
    lines: Lines,
    /// The state at the start of line `key`; always has line 0.
    checkpoints: BTreeMap<usize, (ParseState, HighlightState)>,
    /// The state where the last piece of work stopped (at the start of
    /// that line), so scrolling on resumes there.
    tail: Option<(usize, ParseState, HighlightState)>,
    /// Styled lines of the last rows asked for.
    styled: BTreeMap<usize, Vec<(Style, String)>>,
    /// Lines parsed so far (for tests and measurements).
    pub parsed: usize,
}

impl<'a> Cache<'a> {
    /// An empty cache highlighting JavaScript with `theme`.
    pub fn new(syntaxes: &'a SyntaxSet, theme: &'a Theme) -> Self {
        let js = syntaxes
            .find_syntax_by_extension("js")
            .unwrap_or_else(|| syntaxes.find_syntax_plain_text());
        let mut cache = Cache {
            syntaxes,
            js,
            highlighter: highlighting::Highlighter::new(theme),
            lines: Arc::new(vec![Arc::new(String::new())]),
            checkpoints: BTreeMap::new(),
            tail: None,
            styled: BTreeMap::new(),
            parsed: 0,
        };
        cache.checkpoints.insert(0, cache.fresh_state());
        cache
    }

    fn fresh_state(&self) -> (ParseState, HighlightState) {
        (
            ParseState::new(self.js),
            HighlightState::new(&self.highlighter, ScopeStack::new()),
        )
    }

    /// Makes `lines` the text; what was worked out for the lines before
    /// its first difference from the previous text is kept.
    pub fn set_text(&mut self, lines: Lines) {
        if Arc::ptr_eq(&self.lines, &lines) {
            return;
        }
        let common = self.lines.len().min(lines.len());
        let first = (0..common)
            .find(|&i| !(Arc::ptr_eq(&self.lines[i], &lines[i]) || self.lines[i] == lines[i]))
            .unwrap_or(common);
        let unchanged = first == common && self.lines.len() == lines.len();
        self.lines = lines;
        if unchanged {
            return;
        }
        // The state at the start of `first` depends only on lines before it.
        self.checkpoints.split_off(&(first + 1));
        self.tail.take_if(|(line, ..)| *line > first);
        self.styled.split_off(&first);
    }

    /// Styled pieces for `rows` plus [`MARGIN`] lines either side, each
    /// line's pieces covering its whole text. `cancelled` is asked between
    /// lines; None when it said yes.
    pub fn highlight(
        &mut self,
        rows: Range<usize>,
        cancelled: impl Fn() -> bool,
    ) -> Option<Highlighted> {
        let len = self.lines.len();
        let want = rows.start.saturating_sub(MARGIN).min(len)..(rows.end + MARGIN).min(len);
        self.styled.retain(|i, _| want.contains(i));
        if let Some(missing) = want.clone().find(|i| !self.styled.contains_key(i)) {
            let (&last, state) = self
                .checkpoints
                .range(..=missing)
                .next_back()
                .expect("line 0 always has a checkpoint");
            let tail = self
                .tail
                .as_ref()
                .filter(|(line, ..)| (last..=missing).contains(line));
            let best = tail.map_or(last, |t| t.0);
            let (start, mut parse, mut high) = if missing - best > MAX_RESUME {
                let start = missing - missing % CHECKPOINT_EVERY;
                let (p, h) = self.fresh_state();
                self.checkpoints.insert(start, (p.clone(), h.clone()));
                (start, p, h)
            } else if let Some((line, p, h)) = tail {
                (*line, p.clone(), h.clone())
            } else {
                (last, state.0.clone(), state.1.clone())
            };
            let lines = self.lines.clone();
            for (i, line) in lines.iter().enumerate().take(want.end).skip(start) {
                if cancelled() {
                    self.tail = Some((i, parse, high));
                    return None;
                }
                if i % CHECKPOINT_EVERY == 0 && i != start {
                    self.checkpoints.insert(i, (parse.clone(), high.clone()));
                }
                let pieces = self.line(&mut parse, &mut high, line);
                if i >= want.start {
                    self.styled.insert(i, pieces);
                }
            }
            self.tail = Some((want.end, parse, high));
        }
        Some(Highlighted {
            first: want.start,
            lines: want.map(|i| self.styled[&i].clone()).collect(),
        })
    }

    /// Highlights one line (its first [`MAX_LINE_BYTES`]), advancing the
    /// states; the pieces cover the whole line.
    fn line(
        &mut self,
        parse: &mut ParseState,
        high: &mut HighlightState,
        line: &str,
    ) -> Vec<(Style, String)> {
        self.parsed += 1;
        let mut cut = line.len().min(MAX_LINE_BYTES);
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        let text = format!("{}\n", &line[..cut]);
        let mut pieces: Vec<(Style, String)> = match parse.parse_line(&text, self.syntaxes) {
            Ok(ops) => HighlightIterator::new(high, &ops, &text, &self.highlighter)
                .map(|(st, s)| {
                    let c = st.foreground;
                    (
                        Style::default().fg(Color::Rgb(c.r, c.g, c.b)),
                        s.trim_end_matches('\n').to_string(),
                    )
                })
                .filter(|(_, s)| !s.is_empty())
                .collect(),
            Err(e) => {
                // A regex gave up (fancy-regex's backtrack limit): draw the
                // line plain and start the next from a clean state.
                tracing::debug!("highlighting a line failed: {e}");
                (*parse, *high) = self.fresh_state();
                vec![(Style::default(), line[..cut].to_string())]
            }
        };
        if cut < line.len() {
            pieces.push((Style::default(), line[cut..].to_string()));
        }
        pieces
    }

    /// Lines with a kept parse state (for tests).
    pub fn checkpoints(&self) -> Vec<usize> {
        self.checkpoints.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::sync::OnceLock;

    use super::*;
    use crate::tui::action::EditAction;
    use crate::tui::editor::Buffer;

    fn syntect() -> &'static (SyntaxSet, ThemeSet) {
        static S: OnceLock<(SyntaxSet, ThemeSet)> = OnceLock::new();
        S.get_or_init(|| {
            (
                SyntaxSet::load_defaults_newlines(),
                ThemeSet::load_defaults(),
            )
        })
    }

    fn cache() -> Cache<'static> {
        let (set, themes) = syntect();
        Cache::new(set, &themes.themes["base16-ocean.dark"])
    }

    fn js(lines: usize) -> Buffer {
        let text: String = (0..lines)
            .map(|i| format!("const v{i} = 'x' + {i}; // line {i}\n"))
            .collect();
        Buffer::new(&text)
    }

    fn text_of(pieces: &[(Style, String)]) -> String {
        pieces.iter().map(|(_, s)| s.as_str()).collect()
    }

    #[test]
    fn only_the_rows_shown_and_a_margin_are_highlighted() {
        let b = js(10_000);
        let mut c = cache();
        c.set_text(b.lines.clone());
        let h = c.highlight(0..40, || false).unwrap();
        assert_eq!(h.first, 0);
        assert_eq!(h.lines.len(), 40 + MARGIN);
        assert_eq!(c.parsed, 40 + MARGIN);
        assert_eq!(text_of(h.line(5).unwrap()), "const v5 = 'x' + 5; // line 5");
        assert!(h.line(40 + MARGIN).is_none());
        // Strings, keywords and comments get different colours.
        let styles: Vec<Style> = h.line(5).unwrap().iter().map(|p| p.0).collect();
        assert!(styles.windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn an_edit_resumes_from_the_checkpoint_before_it() {
        let mut b = js(10_000);
        let mut c = cache();
        c.set_text(b.lines.clone());
        c.highlight(1000..1040, || false).unwrap();
        let first = c.parsed;
        assert_eq!(
            first,
            1040 + MARGIN,
            "parsed from line 0, within MAX_RESUME"
        );
        assert!(c.checkpoints().contains(&1024));
        // Type on line 1030: the lines up to 1024 are not parsed again.
        b.cursor = (1030, 0);
        b.apply(&EditAction::Insert('/'));
        c.set_text(b.lines.clone());
        let h = c.highlight(1000..1040, || false).unwrap();
        assert_eq!(c.parsed - first, 1040 + MARGIN - 1024);
        assert!(text_of(h.line(1030).unwrap()).starts_with("/const"));
        // The checkpoints after the edit are gone, the ones before it kept.
        assert!(!c.checkpoints().iter().any(|&k| k > 1031));
        // Scrolling down ten rows parses ten lines.
        let before = c.parsed;
        c.highlight(1010..1050, || false).unwrap();
        assert_eq!(c.parsed - before, 1098 - 1088);
    }

    #[test]
    fn a_far_view_starts_fresh_instead_of_parsing_everything_above() {
        let b = js(100_000);
        let mut c = cache();
        c.set_text(b.lines.clone());
        let h = c.highlight(90_000..90_040, || false).unwrap();
        assert!(
            c.parsed <= 40 + 2 * MARGIN + CHECKPOINT_EVERY,
            "{}",
            c.parsed
        );
        assert_eq!(h.first, 90_000 - MARGIN);
        assert_eq!(
            text_of(h.line(90_010).unwrap()),
            "const v90010 = 'x' + 90010; // line 90010"
        );
    }

    #[test]
    fn a_newer_request_cancels_between_lines() {
        let b = js(1000);
        let mut c = cache();
        c.set_text(b.lines.clone());
        let asked = Cell::new(0);
        let out = c.highlight(0..500, || {
            asked.set(asked.get() + 1);
            asked.get() > 10
        });
        assert!(out.is_none());
        assert_eq!(c.parsed, 10);
        // The work done is kept: the retry goes on from the checkpoint.
        let out = c.highlight(0..100, || false).unwrap();
        assert_eq!(out.lines.len(), 100 + MARGIN);
    }

    #[test]
    fn long_lines_are_highlighted_only_in_part_and_kept_whole() {
        let long = format!("var s = '{}'; é", "ab".repeat(MAX_LINE_BYTES));
        let b = Buffer::new(&format!("{long}\nlet x = 1;"));
        let mut c = cache();
        c.set_text(b.lines.clone());
        let h = c.highlight(0..2, || false).unwrap();
        let pieces = h.line(0).unwrap();
        assert_eq!(text_of(pieces), long);
        assert_eq!(pieces.last().unwrap().0, Style::default());
        assert!(pieces.last().unwrap().1.len() > MAX_LINE_BYTES - 100);
        assert_eq!(text_of(h.line(1).unwrap()), "let x = 1;");
    }

    #[test]
    fn removing_and_adding_lines_at_the_end_invalidates_them() {
        let mut b = Buffer::new("let a = 1;\nlet b = 2;");
        let mut c = cache();
        c.set_text(b.lines.clone());
        c.highlight(0..2, || false).unwrap();
        b.cursor = (1, 0);
        b.apply(&EditAction::DeleteLine);
        c.set_text(b.lines.clone());
        let h = c.highlight(0..2, || false).unwrap();
        assert_eq!(h.lines.len(), 1);
        b.apply(&EditAction::End);
        b.apply(&EditAction::Paste("\n/* x */".into()));
        c.set_text(b.lines.clone());
        let h = c.highlight(0..2, || false).unwrap();
        assert_eq!(text_of(h.line(1).unwrap()), "/* x */");
    }

    #[test]
    fn the_thread_answers_the_newest_request() {
        let h = Highlighter::spawn();
        let b = js(200);
        for _ in 0..5 {
            h.request(b.revision, b.lines.clone(), 0..10);
        }
        h.request(b.revision + 1, b.lines.clone(), 100..110);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let (rev, out) =
                h.rx.recv_timeout(deadline - std::time::Instant::now())
                    .expect("an answer");
            if rev == b.revision + 1 {
                assert_eq!(out.first, 100 - MARGIN);
                break;
            }
        }
    }
}
