//! The edit buffer: lines of text, a cursor, and undo/redo.
//!
//! The text round-trips byte for byte: each line keeps its own ending (LF,
//! CRLF, or none for the last line), so a CRLF file, a mixed file or one
//! without a final newline is saved exactly as it was except where edited.
//! The cursor moves by grapheme cluster (an accented letter written with a
//! combining mark, or an emoji ZWJ sequence, is one step), and screen columns
//! come from the Unicode width tables with tabs expanded to [`TAB_WIDTH`].
//!
//! Lines are shared (`Arc`), so the highlighter gets a snapshot of a 10 MB
//! file for the price of a pointer, and undo records keep only the lines an
//! edit replaced (never the whole text).

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ratatui::buffer::CellWidth;
use unicode_segmentation::{GraphemeCursor, UnicodeSegmentation};

use super::action::EditAction;

/// Tab stops are this many screen columns apart.
pub const TAB_WIDTH: usize = 4;
/// Undo steps kept.
const UNDO_DEPTH: usize = 500;
/// Lines moved by PageUp / PageDown.
const PAGE: usize = 20;
/// Typing after a pause this long starts a new undo step.
const TYPING_PAUSE: Duration = Duration::from_secs(1);

/// How a line ends on disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Eol {
    /// The last line: the file ends here.
    #[default]
    None,
    Lf,
    CrLf,
}

impl Eol {
    fn as_str(self) -> &'static str {
        match self {
            Eol::None => "",
            Eol::Lf => "\n",
            Eol::CrLf => "\r\n",
        }
    }
}

/// One line of text without its ending; shared between the buffer, its
/// undo history and highlight snapshots.
pub type Line = Arc<String>;

/// The buffer's lines as one cheap, immutable snapshot.
pub type Lines = Arc<Vec<Line>>;

/// What an undo step restores: lines `start..start + new_len` were `old`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Change {
    start: usize,
    old: Vec<(Line, Eol)>,
    new_len: usize,
    /// The cursor before and after the change.
    before: (usize, usize),
    after: (usize, usize),
}

/// Edits that merge into the previous undo step while they continue a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    /// Typing; `space` is whether the last character typed was whitespace
    /// (a word after spaces starts a new step).
    Typing {
        space: bool,
    },
    Deleting,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct OpenRun {
    run: Run,
    at: Instant,
}

/// Every buffer gets revisions no other buffer had, so a highlight made for
/// one file is never taken for another's.
static NEXT_REVISION: AtomicU64 = AtomicU64::new(1);

fn next_revision() -> u64 {
    NEXT_REVISION.fetch_add(1, Ordering::Relaxed)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buffer {
    /// The text, one entry per line, without line endings (never empty).
    pub lines: Lines,
    /// `eols[i]` ends `lines[i]`; the last is always `Eol::None`.
    eols: Vec<Eol>,
    /// (line, column in chars), always on a grapheme cluster boundary.
    pub cursor: (usize, usize),
    /// The screen column Up/Down aim for (kept across short lines).
    goal: Option<usize>,
    /// Ending for new line breaks: the first line's, else LF.
    new_eol: Eol,
    /// What Tab inserts: a tab in a file indented with tabs, else two spaces.
    indent: &'static str,
    undo: Vec<Change>,
    redo: Vec<Change>,
    run: Option<OpenRun>,
    /// Changes on every edit, unique across buffers; keys the highlight cache.
    pub revision: u64,
    /// (first row, first screen column) the view showed when last kept
    /// (see [`Buffer::keep_view`]): the view stays put while the cursor
    /// is inside it, so a click does not move the text under the mouse.
    pub scroll: (usize, usize),
}

impl Default for Buffer {
    fn default() -> Self {
        Buffer::new("")
    }
}

impl Buffer {
    /// A buffer holding `text` exactly (line endings included).
    pub fn new(text: &str) -> Self {
        let mut lines = Vec::new();
        let mut eols = Vec::new();
        let mut rest = text;
        while let Some(nl) = rest.find('\n') {
            let (line, eol) = match rest[..nl].strip_suffix('\r') {
                Some(l) => (l, Eol::CrLf),
                None => (&rest[..nl], Eol::Lf),
            };
            lines.push(Arc::new(line.to_string()));
            eols.push(eol);
            rest = &rest[nl + 1..];
        }
        lines.push(Arc::new(rest.to_string()));
        eols.push(Eol::None);
        let new_eol = match eols[0] {
            Eol::None => Eol::Lf,
            e => e,
        };
        let indent = match lines
            .iter()
            .find(|l| l.starts_with([' ', '\t']) && !l.trim().is_empty())
        {
            Some(l) if l.starts_with('\t') => "\t",
            _ => "  ",
        };
        Buffer {
            lines: Arc::new(lines),
            eols,
            cursor: (0, 0),
            goal: None,
            new_eol,
            indent,
            undo: Vec::new(),
            redo: Vec::new(),
            run: None,
            revision: next_revision(),
            scroll: (0, 0),
        }
    }

    /// The whole text, as it would be saved.
    pub fn text(&self) -> String {
        let len = self.lines.iter().map(|l| l.len() + 2).sum();
        let mut s = String::with_capacity(len);
        for (l, e) in self.lines.iter().zip(&self.eols) {
            s.push_str(l);
            s.push_str(e.as_str());
        }
        s
    }

    /// Whether the buffer holds exactly `text` (what [`Buffer::text`]
    /// would return), without building the text: cheap enough to ask
    /// every frame of a 10 MB file.
    pub fn is_text(&self, text: &str) -> bool {
        let mut rest = text.as_bytes();
        for (l, e) in self.lines.iter().zip(&self.eols) {
            for part in [l.as_bytes(), e.as_str().as_bytes()] {
                match rest.strip_prefix(part) {
                    Some(r) => rest = r,
                    None => return false,
                }
            }
        }
        rest.is_empty()
    }

    /// The cursor's screen column on its line (tabs expanded, wide
    /// characters two columns), from 0.
    pub fn cursor_col(&self) -> usize {
        let (row, col) = self.cursor_snapped();
        let line = &self.lines[row];
        screen_col(line, byte_of(line, col))
    }

    /// The rows a view `height` rows tall shows: from the kept first row
    /// ([`Buffer::scroll`]), moved just enough that the cursor's row is
    /// among them.
    pub fn rows_shown(&self, height: usize) -> Range<usize> {
        let height = height.max(1);
        let row = self.cursor.0.min(self.lines.len() - 1);
        let kept = self.scroll.0.min(self.lines.len() - 1);
        let first = if row < kept {
            row
        } else if row >= kept + height {
            row + 1 - height
        } else {
            kept
        };
        first..(first + height).min(self.lines.len())
    }

    /// The first screen column a view `width` columns wide shows: the kept
    /// one ([`Buffer::scroll`]) while the cursor is inside it, else 0 while
    /// the cursor fits, else advanced in steps of half the width (so small
    /// moves don't shift the text).
    pub fn first_col_shown(&self, width: usize) -> usize {
        let width = width.max(2);
        let col = self.cursor_col();
        let kept = self.scroll.1;
        if (kept..kept + width).contains(&col) {
            return kept;
        }
        if col < width {
            return 0;
        }
        let step = width / 2;
        (col + 1 - width).div_ceil(step) * step
    }

    /// Keeps what a view of `height` rows and `width` columns shows now as
    /// the view's place, so later moves inside it don't scroll.
    pub fn keep_view(&mut self, height: usize, width: usize) {
        self.scroll = (self.rows_shown(height).start, self.first_col_shown(width));
    }

    /// Puts the cursor on `line` at screen column `col` (a click): on the
    /// cluster drawn there (a wide character's either cell, any cell of a
    /// tab), or at the line's end past it; the last line when `line` is
    /// past the end. Ends a typing run, like any move.
    pub fn move_to(&mut self, line: usize, col: usize) {
        let row = line.min(self.lines.len() - 1);
        let byte = byte_at_screen_col(&self.lines[row], col);
        self.cursor = (row, self.lines[row][..byte].chars().count());
        self.goal = None;
        self.run = None;
    }

    /// The cursor clamped into the text and onto a grapheme boundary (the
    /// app may set it from outside, e.g. after reloading from disk).
    fn cursor_snapped(&self) -> (usize, usize) {
        let row = self.cursor.0.min(self.lines.len() - 1);
        let line = &self.lines[row];
        let byte = floor_boundary(line, byte_of(line, self.cursor.1));
        (row, line[..byte].chars().count())
    }

    fn line_mut(&mut self, row: usize) -> &mut String {
        Arc::make_mut(&mut Arc::make_mut(&mut self.lines)[row])
    }

    /// Applies an edit or a move; returns whether the text changed.
    pub fn apply(&mut self, a: &EditAction) -> bool {
        self.apply_at(a, Instant::now())
    }

    /// [`Buffer::apply`] at a given time (typing pauses split undo steps).
    pub fn apply_at(&mut self, a: &EditAction, now: Instant) -> bool {
        self.cursor = self.cursor_snapped();
        let (row, col) = self.cursor;
        let at = byte_of(&self.lines[row], col);
        if !matches!(
            a,
            EditAction::Up | EditAction::Down | EditAction::PageUp | EditAction::PageDown
        ) {
            self.goal = None;
        }
        match a {
            EditAction::Insert(c) => {
                let space = c.is_whitespace();
                self.edit(row..row + 1, Some(Run::Typing { space }), now, |b| {
                    b.line_mut(row).insert(at, *c);
                    // A combining mark joins the cluster before it: the
                    // cursor goes after the whole cluster.
                    let line = &b.lines[row];
                    let end = ceil_boundary(line, at + c.len_utf8());
                    b.cursor.1 = line[..end].chars().count();
                })
            }
            EditAction::Paste(text) => self.edit(row..row + 1, None, now, |b| b.paste(text)),
            EditAction::Indent => {
                let unit = self.indent;
                self.edit(row..row + 1, None, now, |b| {
                    b.line_mut(row).insert_str(at, unit);
                    b.cursor.1 += unit.chars().count();
                })
            }
            EditAction::Dedent => {
                let line = &self.lines[row];
                let n = if line.starts_with('\t') {
                    1
                } else {
                    let max = if self.indent == "\t" { TAB_WIDTH } else { 2 };
                    line.bytes().take(max).take_while(|b| *b == b' ').count()
                };
                if n == 0 {
                    return false;
                }
                self.edit(row..row + 1, None, now, |b| {
                    b.line_mut(row).drain(..n);
                    b.cursor.1 = col.saturating_sub(n);
                })
            }
            EditAction::Newline => self.edit(row..row + 1, None, now, |b| {
                let line = b.line_mut(row);
                let rest = line.split_off(at);
                let indent: String = line
                    .chars()
                    .take_while(|c| *c == ' ' || *c == '\t')
                    .collect();
                let indent_len = indent.chars().count();
                let eol = b.eols[row];
                b.eols[row] = b.new_eol;
                Arc::make_mut(&mut b.lines).insert(row + 1, Arc::new(indent + &rest));
                b.eols.insert(row + 1, eol);
                b.cursor = (row + 1, indent_len);
            }),
            EditAction::Backspace => {
                if col > 0 {
                    let line = &self.lines[row];
                    let from = prev_boundary(line, at);
                    let n = line[from..at].chars().count();
                    self.edit(row..row + 1, Some(Run::Deleting), now, |b| {
                        b.line_mut(row).drain(from..at);
                        b.cursor.1 -= n;
                    })
                } else if row > 0 {
                    self.edit(row - 1..row + 1, None, now, |b| b.join(row - 1))
                } else {
                    false
                }
            }
            EditAction::Delete => {
                let line = &self.lines[row];
                if at < line.len() {
                    let to = next_boundary(line, at);
                    self.edit(row..row + 1, Some(Run::Deleting), now, |b| {
                        b.line_mut(row).drain(at..to);
                    })
                } else if row + 1 < self.lines.len() {
                    self.edit(row..row + 2, None, now, |b| b.join(row))
                } else {
                    false
                }
            }
            // Deleting the last line also ends the one before it.
            EditAction::DeleteLine => self.edit(row.saturating_sub(1)..row + 1, None, now, |b| {
                if b.lines.len() > 1 {
                    Arc::make_mut(&mut b.lines).remove(row);
                    b.eols.remove(row);
                    let last = b.eols.len() - 1;
                    b.eols[last] = Eol::None;
                } else {
                    b.line_mut(0).clear();
                }
                let row = row.min(b.lines.len() - 1);
                b.cursor = (row, col);
                b.cursor = b.cursor_snapped();
            }),
            EditAction::DuplicateLine => self.edit(row..row + 1, None, now, |b| {
                let copy = Arc::new(b.lines[row].to_string());
                let eol = b.eols[row];
                if eol == Eol::None {
                    b.eols[row] = b.new_eol;
                }
                Arc::make_mut(&mut b.lines).insert(row + 1, copy);
                b.eols.insert(row + 1, eol);
                b.cursor.0 += 1;
            }),
            EditAction::Undo => self.swap_history(true),
            EditAction::Redo => self.swap_history(false),
            EditAction::Left => {
                if col > 0 {
                    let line = &self.lines[row];
                    let to = prev_boundary(line, at);
                    self.cursor.1 -= line[to..at].chars().count();
                } else if row > 0 {
                    self.cursor = (row - 1, self.lines[row - 1].chars().count());
                }
                self.moved()
            }
            EditAction::Right => {
                let line = &self.lines[row];
                if at < line.len() {
                    let to = next_boundary(line, at);
                    self.cursor.1 += line[at..to].chars().count();
                } else if row + 1 < self.lines.len() {
                    self.cursor = (row + 1, 0);
                }
                self.moved()
            }
            EditAction::Up => self.move_rows(-1),
            EditAction::Down => self.move_rows(1),
            EditAction::PageUp => self.move_rows(-(PAGE as isize)),
            EditAction::PageDown => self.move_rows(PAGE as isize),
            EditAction::Home => {
                self.cursor.1 = 0;
                self.moved()
            }
            EditAction::End => {
                self.cursor.1 = self.lines[row].chars().count();
                self.moved()
            }
            EditAction::FileStart => {
                self.cursor = (0, 0);
                self.moved()
            }
            EditAction::FileEnd => {
                let last = self.lines.len() - 1;
                self.cursor = (last, self.lines[last].chars().count());
                self.moved()
            }
        }
    }

    /// A move ends a run of typing; it never changes the text.
    fn moved(&mut self) -> bool {
        self.run = None;
        false
    }

    /// Runs `f`, which changes only lines `range` (and may add or remove
    /// lines there), and records it as an undo step, merged into the
    /// previous one while a run of `run` continues.
    fn edit(
        &mut self,
        range: Range<usize>,
        run: Option<Run>,
        now: Instant,
        f: impl FnOnce(&mut Self),
    ) -> bool {
        let before = self.cursor;
        let len_before = self.lines.len();
        let old: Vec<(Line, Eol)> = range
            .clone()
            .map(|i| (self.lines[i].clone(), self.eols[i]))
            .collect();
        f(self);
        let grown = self.lines.len() as isize - len_before as isize;
        let new_len = (range.len() as isize + grown) as usize;
        let continues = match (&self.run, run) {
            (Some(open), Some(now_run)) => {
                now.saturating_duration_since(open.at) < TYPING_PAUSE
                    && match (open.run, now_run) {
                        // A word after whitespace starts a new step.
                        (Run::Typing { space: true }, Run::Typing { space: false }) => false,
                        (Run::Typing { .. }, Run::Typing { .. }) => true,
                        (Run::Deleting, Run::Deleting) => true,
                        _ => false,
                    }
            }
            _ => false,
        };
        let merged = continues
            && self.undo.last_mut().is_some_and(|last| {
                let inside = last.start <= range.start && range.end <= last.start + last.new_len;
                if inside {
                    last.new_len = (last.new_len as isize + grown) as usize;
                    last.after = self.cursor;
                }
                inside
            });
        if !merged {
            self.undo.push(Change {
                start: range.start,
                old,
                new_len,
                before,
                after: self.cursor,
            });
            if self.undo.len() > UNDO_DEPTH {
                self.undo.remove(0);
            }
        }
        self.run = run.map(|run| OpenRun { run, at: now });
        self.redo.clear();
        self.revision = next_revision();
        true
    }

    /// Inserts `text` at the cursor as typed, without auto-indent; its line
    /// breaks (LF, CRLF or CR, as terminals send them) take the file's ending.
    fn paste(&mut self, text: &str) {
        let (row, col) = self.cursor;
        let at = byte_of(&self.lines[row], col);
        let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
        let mut pieces = normalized.split('\n');
        let first = pieces.next().unwrap_or_default();
        let line = self.line_mut(row);
        let tail = line.split_off(at);
        line.push_str(first);
        let mut last_row = row;
        for piece in pieces {
            let eol = self.eols[last_row];
            self.eols[last_row] = self.new_eol;
            Arc::make_mut(&mut self.lines).insert(last_row + 1, Arc::new(piece.to_string()));
            self.eols.insert(last_row + 1, eol);
            last_row += 1;
        }
        let line = self.line_mut(last_row);
        let col = line.chars().count();
        line.push_str(&tail);
        self.cursor = (last_row, col);
        self.cursor = self.cursor_snapped();
    }

    /// Joins line `row + 1` onto `row`; the cursor goes to the seam.
    fn join(&mut self, row: usize) {
        let lines = Arc::make_mut(&mut self.lines);
        let next = lines.remove(row + 1);
        let eol = self.eols.remove(row + 1);
        let col = lines[row].chars().count();
        Arc::make_mut(&mut lines[row]).push_str(&next);
        self.eols[row] = eol;
        self.cursor = (row, col);
    }

    fn move_rows(&mut self, by: isize) -> bool {
        let goal = *self.goal.get_or_insert_with(|| {
            let (row, col) = self.cursor;
            screen_col(&self.lines[row], byte_of(&self.lines[row], col))
        });
        let row = (self.cursor.0 as isize + by).clamp(0, self.lines.len() as isize - 1) as usize;
        let byte = byte_at_screen_col(&self.lines[row], goal);
        self.cursor = (row, self.lines[row][..byte].chars().count());
        self.run = None;
        false
    }

    fn swap_history(&mut self, undo: bool) -> bool {
        let change = if undo {
            self.undo.pop()
        } else {
            self.redo.pop()
        };
        let Some(change) = change else {
            return false;
        };
        let range = change.start..change.start + change.new_len;
        let removed: Vec<(Line, Eol)> = range
            .clone()
            .map(|i| (self.lines[i].clone(), self.eols[i]))
            .collect();
        let (lines, eols): (Vec<Line>, Vec<Eol>) = change.old.iter().cloned().unzip();
        Arc::make_mut(&mut self.lines).splice(range.clone(), lines);
        self.eols.splice(range, eols);
        let inverse = Change {
            start: change.start,
            new_len: change.old.len(),
            old: removed,
            before: change.after,
            after: change.before,
        };
        if undo {
            self.redo.push(inverse);
        } else {
            self.undo.push(inverse);
        }
        self.cursor = change.before;
        self.cursor = self.cursor_snapped();
        self.run = None;
        self.revision = next_revision();
        true
    }
}

/// Byte offset of char `col` in `line` (its end when past it).
fn byte_of(line: &str, col: usize) -> usize {
    if line.is_ascii() {
        return col.min(line.len());
    }
    line.char_indices().nth(col).map_or(line.len(), |(i, _)| i)
}

/// The grapheme boundary at or before `byte` (a char boundary).
fn floor_boundary(line: &str, byte: usize) -> usize {
    let mut cursor = GraphemeCursor::new(byte, line.len(), true);
    match cursor.is_boundary(line, 0) {
        Ok(true) => byte,
        _ => cursor.prev_boundary(line, 0).ok().flatten().unwrap_or(0),
    }
}

/// The grapheme boundary at or after `byte`.
fn ceil_boundary(line: &str, byte: usize) -> usize {
    let floor = floor_boundary(line, byte);
    if floor == byte {
        byte
    } else {
        next_boundary(line, floor)
    }
}

/// The boundary of the cluster before `byte` (a boundary).
fn prev_boundary(line: &str, byte: usize) -> usize {
    line[..byte]
        .grapheme_indices(true)
        .next_back()
        .map_or(0, |(i, _)| i)
}

/// The boundary after the cluster at `byte` (a boundary).
fn next_boundary(line: &str, byte: usize) -> usize {
    line[byte..]
        .graphemes(true)
        .next()
        .map_or(line.len(), |g| byte + g.len())
}

/// How one grapheme cluster is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Glyph<'a> {
    /// Drawn as is, this many columns wide (0 for a cluster the terminal
    /// draws nothing for).
    Text(&'a str, usize),
    /// A tab: spaces up to the next tab stop.
    Tab(usize),
    /// A control character, drawn as `^X` (C0 and DEL) or `�` (C1), never
    /// sent to the terminal raw.
    Control(char),
}

impl Glyph<'_> {
    /// Screen columns it takes.
    pub fn width(&self) -> usize {
        match *self {
            Glyph::Text(_, w) | Glyph::Tab(w) => w,
            Glyph::Control(c) => caret(c).chars().count(),
        }
    }
}

/// The visible form of a control character.
pub fn caret(c: char) -> String {
    match c as u32 {
        0..=0x1f => format!("^{}", char::from(c as u8 + 0x40)),
        0x7f => "^?".into(),
        _ => "\u{fffd}".into(),
    }
}

/// The glyph for `cluster` starting at screen column `col`.
pub fn glyph(cluster: &str, col: usize) -> Glyph<'_> {
    match cluster.chars().next() {
        Some('\t') => Glyph::Tab(TAB_WIDTH - col % TAB_WIDTH),
        Some(c) if c.is_control() => Glyph::Control(c),
        // ratatui's own width rule (the Unicode tables via unicode-width),
        // so the cursor lands where ratatui draws.
        _ if cluster.contains(char::is_control) => Glyph::Control('\u{fffd}'),
        _ => Glyph::Text(cluster, cluster.cell_width() as usize),
    }
}

/// Screen column where byte `byte` (a cluster boundary) of `line` is drawn.
pub fn screen_col(line: &str, byte: usize) -> usize {
    walk(&line[..byte.min(line.len())], 0, usize::MAX).1
}

/// The byte offset of the last cluster boundary drawn at or before screen
/// column `target`.
fn byte_at_screen_col(line: &str, target: usize) -> usize {
    walk(line, 0, target).0
}

/// Walks `text`, drawn from screen column `col`, over the clusters that
/// end at or before column `until`; returns the byte offset and the column
/// where it stopped. Runs of plain ASCII are counted without segmenting
/// them, so a 1 MB minified line costs about a millisecond.
pub fn walk(text: &str, mut col: usize, until: usize) -> (usize, usize) {
    let mut i = 0;
    while i < text.len() {
        let run = ascii_run(&text.as_bytes()[i..]).min(until.saturating_sub(col));
        if run > 0 {
            i += run;
            col += run;
            continue;
        }
        let g = text[i..].graphemes(true).next().unwrap_or_default();
        let w = glyph(g, col).width();
        if col + w > until {
            break;
        }
        i += g.len();
        col += w;
    }
    (i, col)
}

/// How many of the leading bytes are printable ASCII characters that are
/// clusters of their own (one screen column each): not the last one when a
/// non-ASCII byte follows, which may be a combining mark joining it.
fn ascii_run(bytes: &[u8]) -> usize {
    let printable = |c: &u8| (b' '..=b'~').contains(c);
    // Whole chunks first (a loop without early exit vectorizes).
    let chunks = bytes
        .chunks_exact(64)
        .take_while(|c| c.iter().fold(true, |all, b| all & printable(b)))
        .count();
    let run = chunks * 64
        + bytes[chunks * 64..]
            .iter()
            .position(|c| !printable(c))
            .unwrap_or(bytes.len() - chunks * 64);
    if run < bytes.len() && !bytes[run].is_ascii() {
        run - run.min(1)
    } else {
        run
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EditAction::*;

    fn apply_all(b: &mut Buffer, actions: &[EditAction]) {
        for a in actions {
            b.apply(a);
        }
    }

    fn typed(s: &str) -> Vec<EditAction> {
        s.chars().map(Insert).collect()
    }

    #[test]
    fn typing_newlines_undo_redo() {
        let mut b = Buffer::new("ab\ncd");
        b.apply(&End);
        b.apply(&Insert('!'));
        b.apply(&Newline);
        b.apply(&Insert('x'));
        assert_eq!(b.text(), "ab!\nx\ncd");
        b.apply(&Undo);
        b.apply(&Undo);
        assert_eq!(b.text(), "ab!\ncd");
        b.apply(&Redo);
        assert_eq!(b.text(), "ab!\n\ncd");
        b.apply(&Backspace);
        b.apply(&Backspace);
        assert_eq!(b.text(), "ab\ncd");
        b.apply(&DuplicateLine);
        assert_eq!(b.text(), "ab\nab\ncd");
        b.apply(&DeleteLine);
        b.apply(&DeleteLine);
        assert_eq!(b.text(), "ab");
    }

    #[test]
    fn multibyte_characters() {
        let mut b = Buffer::new("héllo");
        b.apply(&Right);
        b.apply(&Right);
        b.apply(&Backspace);
        b.apply(&Insert('é'));
        assert_eq!(b.text(), "héllo");
        assert_eq!(b.cursor, (0, 2));
    }

    #[test]
    fn texts_round_trip_byte_for_byte() {
        for text in [
            "",
            "a\rb",
            "\n",
            "a",
            "a\n",
            "a\r\nb\r\n",
            "a\r\nb",
            "a\nb\r\nc\n\r\n",
            "lone\rcr\n",
            "\r",
            "x\r\r\n",
            "\t日本語 😀 é\r\n",
        ] {
            let b = Buffer::new(text);
            assert_eq!(b.text(), text, "{text:?}");
            assert!(b.is_text(text), "{text:?}");
            assert!(!b.is_text(&format!("{text}\n")), "{text:?}");
            assert!(!b.is_text(&format!("x{text}")), "{text:?}");
        }
    }

    #[test]
    fn crlf_edits_keep_crlf_and_untouched_lines_keep_theirs() {
        let mut b = Buffer::new("one\r\ntwo\nthree\r\nfour");
        apply_all(&mut b, &[End, Insert('!'), Newline, Insert('x')]);
        assert_eq!(b.text(), "one!\r\nx\r\ntwo\nthree\r\nfour");
        // Joining keeps the ending of the line that now ends the pair.
        apply_all(&mut b, &[Down, Home, Backspace]);
        assert_eq!(b.text(), "one!\r\nxtwo\nthree\r\nfour");
        // Splitting the last line: the new break takes the file's ending,
        // and the file still has no final newline.
        apply_all(&mut b, &[Down, Down, End, Newline]);
        assert_eq!(b.text(), "one!\r\nxtwo\nthree\r\nfour\r\n");
        b.apply(&Undo);
        assert_eq!(b.text(), "one!\r\nxtwo\nthree\r\nfour");
    }

    #[test]
    fn final_newline_is_neither_added_nor_lost() {
        let mut b = Buffer::new("a\nb");
        apply_all(&mut b, &[Down, End, Insert('c'), DuplicateLine]);
        assert_eq!(b.text(), "a\nbc\nbc");
        let mut b = Buffer::new("a\nb\n");
        apply_all(&mut b, &[Down, DeleteLine]);
        assert_eq!(b.text(), "a\n");
        let mut b = Buffer::new("a\nb");
        apply_all(&mut b, &[Down, DeleteLine]);
        assert_eq!(b.text(), "a");
        b.apply(&Undo);
        assert_eq!(b.text(), "a\nb");
        let mut b = Buffer::new("a\r\n");
        apply_all(&mut b, &[DuplicateLine]);
        assert_eq!(b.text(), "a\r\na\r\n");
    }

    #[test]
    fn typing_is_undone_a_word_at_a_time() {
        let t0 = Instant::now();
        let mut b = Buffer::new("");
        for (i, a) in typed("hello world").iter().enumerate() {
            b.apply_at(a, t0 + Duration::from_millis(i as u64 * 100));
        }
        assert_eq!(b.text(), "hello world");
        b.apply(&Undo);
        assert_eq!(b.text(), "hello ");
        b.apply(&Undo);
        assert_eq!(b.text(), "");
        b.apply(&Redo);
        b.apply(&Redo);
        assert_eq!(b.text(), "hello world");
        assert_eq!(b.cursor, (0, 11));
    }

    #[test]
    fn a_pause_a_move_or_a_newline_ends_an_undo_step() {
        let t0 = Instant::now();
        let mut b = Buffer::new("");
        b.apply_at(&Insert('a'), t0);
        b.apply_at(&Insert('b'), t0 + Duration::from_secs(2));
        b.apply_at(&Left, t0 + Duration::from_secs(2));
        b.apply_at(&Insert('c'), t0 + Duration::from_secs(2));
        b.apply_at(&Newline, t0 + Duration::from_secs(2));
        b.apply_at(&Insert('d'), t0 + Duration::from_secs(2));
        b.apply_at(&Insert('e'), t0 + Duration::from_secs(2));
        assert_eq!(b.text(), "ac\ndeb");
        for want in ["ac\nb", "acb", "ab", "a", ""] {
            b.apply(&Undo);
            assert_eq!(b.text(), want);
        }
        assert!(!b.apply(&Undo));
    }

    #[test]
    fn backspaces_group_too() {
        let mut b = Buffer::new("abcdef");
        b.apply(&End);
        apply_all(&mut b, &[Backspace, Backspace, Backspace]);
        assert_eq!(b.text(), "abc");
        b.apply(&Undo);
        assert_eq!(b.text(), "abcdef");
        assert_eq!(b.cursor, (0, 6));
    }

    #[test]
    fn paste_is_one_step_without_auto_indent() {
        let mut b = Buffer::new("    f(\r\n)\r\n");
        apply_all(&mut b, &[End]);
        b.apply(&Paste("a,\n  b,\r\nc".into()));
        assert_eq!(b.text(), "    f(a,\r\n  b,\r\nc\r\n)\r\n");
        assert_eq!(b.cursor, (2, 1));
        // Terminals send CR for line breaks in a bracketed paste.
        b.apply(&Paste("\rx".into()));
        assert_eq!(b.text(), "    f(a,\r\n  b,\r\nc\r\nx\r\n)\r\n");
        b.apply(&Undo);
        b.apply(&Undo);
        assert_eq!(b.text(), "    f(\r\n)\r\n");
    }

    #[test]
    fn dedent_removes_one_level() {
        let mut b = Buffer::new("    x\n\ty\nz");
        apply_all(&mut b, &[End, Dedent]);
        assert_eq!(b.text(), "  x\n\ty\nz");
        assert_eq!(b.cursor, (0, 3));
        apply_all(&mut b, &[Dedent, Dedent]);
        assert_eq!(b.text(), "x\n\ty\nz");
        apply_all(&mut b, &[Down, Dedent, Down]);
        assert_eq!(b.text(), "x\ny\nz");
        assert!(!b.apply(&Dedent));
        b.apply(&Indent);
        assert_eq!(b.text(), "x\ny\n  z");
        // A file indented with tabs gets tabs.
        let mut b = Buffer::new("f\n\tg");
        b.apply(&Indent);
        assert_eq!(b.text(), "\tf\n\tg");
    }

    #[test]
    fn cursor_moves_by_grapheme_and_sits_after_wide_text() {
        let mut b = Buffer::new("'日本語 😀 é'");
        b.apply(&End);
        // ' 日本語 (6) space 😀 (2) space é ' = 1 + 6 + 1 + 2 + 1 + 1 + 1
        assert_eq!(b.cursor_col(), 13);
        // e + combining acute is one step, and so is a ZWJ family.
        let mut b = Buffer::new("e\u{301}👨\u{200d}👩\u{200d}👧x");
        b.apply(&Right);
        assert_eq!(b.cursor, (0, 2));
        b.apply(&Right);
        assert_eq!(b.cursor, (0, 7));
        b.apply(&Backspace);
        assert_eq!(b.text(), "e\u{301}x");
        b.apply(&Backspace);
        assert_eq!(b.text(), "x");
        // A combining mark typed after a letter joins it.
        let mut b = Buffer::new("");
        apply_all(&mut b, &[Insert('e'), Insert('\u{301}'), Left]);
        assert_eq!(b.cursor, (0, 0));
    }

    #[test]
    fn tabs_expand_to_tab_stops() {
        let b = Buffer::new("\tx\ty");
        assert_eq!(screen_col(&b.lines[0], 1), 4);
        assert_eq!(screen_col(&b.lines[0], 2), 5);
        assert_eq!(screen_col(&b.lines[0], 3), 8);
        // Up/Down keep the screen column across tabs and wide characters.
        let mut b = Buffer::new("\tabc\n日本語x");
        apply_all(&mut b, &[Right, Right, Down]);
        assert_eq!(b.cursor_col(), 4);
        assert_eq!(b.cursor, (1, 2));
    }

    #[test]
    fn a_cursor_set_from_outside_is_snapped() {
        let mut b = Buffer::new("e\u{301}x");
        b.cursor = (5, 1);
        b.apply(&Insert('y'));
        assert_eq!(b.text(), "ye\u{301}x");
    }

    #[test]
    fn long_lines_scroll_to_keep_the_cursor_visible() {
        let mut b = Buffer::new(&"x".repeat(266));
        assert_eq!(b.first_col_shown(80), 0);
        b.apply(&End);
        let first = b.first_col_shown(80);
        assert!(first <= 266 && 266 < first + 80, "{first}");
        b.apply(&Left);
        assert_eq!(b.first_col_shown(80), first, "a small move keeps the view");
    }

    #[test]
    fn the_view_stays_put_while_the_cursor_is_inside_it() {
        let text: Vec<String> = (0..100).map(|i| format!("line {i}")).collect();
        let mut b = Buffer::new(&text.join("\n"));
        b.cursor = (60, 0);
        assert_eq!(b.rows_shown(20), 41..61, "scrolled just enough");
        b.keep_view(20, 80);
        // Up inside the view, or a click on a row shown, keeps it.
        b.apply(&Up);
        b.move_to(45, 3);
        assert_eq!(b.rows_shown(20), 41..61);
        assert_eq!(b.cursor, (45, 3));
        // Above it or below it, the view follows by as little as it can.
        b.move_to(30, 0);
        assert_eq!(b.rows_shown(20), 30..50);
        b.keep_view(20, 80);
        b.move_to(55, 0);
        assert_eq!(b.rows_shown(20), 36..56);
        // Sideways the same: a kept column stays while the cursor is in it.
        let mut b = Buffer::new(&"x".repeat(300));
        b.apply(&End);
        let first = b.first_col_shown(80);
        assert!(first > 200, "{first}");
        b.keep_view(1, 80);
        b.move_to(0, first + 5);
        assert_eq!(b.first_col_shown(80), first);
        b.move_to(0, 10);
        assert_eq!(b.first_col_shown(80), 0);
    }

    #[test]
    fn a_click_lands_on_the_cluster_drawn_in_that_cell() {
        let mut b = Buffer::new("日本語 😀 é\n\tx = 1;\nshort");
        // 日 takes cells 0–1, 本 2–3: either cell of 本 is before 本.
        b.move_to(0, 3);
        assert_eq!(b.cursor, (0, 1));
        assert_eq!(b.cursor_col(), 2);
        b.move_to(0, 2);
        assert_eq!(b.cursor, (0, 1));
        // Past the end of a line: its end (é is e + a combining mark).
        b.move_to(0, 80);
        assert_eq!(b.cursor, (0, "日本語 😀 é".chars().count()));
        assert_eq!(b.cursor_col(), 11);
        // Inside a tab: before it; just after it: the x.
        b.move_to(1, 2);
        assert_eq!(b.cursor, (1, 0));
        b.move_to(1, 4);
        assert_eq!(b.cursor, (1, 1));
        // Below the last line: the last line.
        b.move_to(9, 2);
        assert_eq!(b.cursor, (2, 2));
    }

    #[test]
    fn ctrl_home_and_ctrl_end_go_to_the_ends_of_the_file() {
        let mut b = Buffer::new("one\ntwo\nthree");
        b.cursor = (1, 1);
        b.apply(&FileEnd);
        assert_eq!(b.cursor, (2, 5));
        b.apply(&FileStart);
        assert_eq!(b.cursor, (0, 0));
    }

    #[test]
    fn revisions_are_unique_across_buffers() {
        let a = Buffer::new("x");
        let b = Buffer::new("x");
        assert_ne!(a.revision, b.revision);
    }

    #[test]
    fn the_ascii_shortcut_agrees_with_segmentation() {
        let slow = |line: &str| {
            let mut col = 0;
            for g in line.graphemes(true) {
                col += glyph(g, col).width();
            }
            col
        };
        for line in [
            "plain ascii",
            "e\u{301}x",
            "ab\u{301}\u{302}cd",
            "x\t\ty\x1bz",
            "a\u{600}b c",
            "1\u{fe0f}\u{20e3} #\u{fe0f}\u{20e3}",
            "日本語 😀 é ❤\u{fe0f}",
            "🇫🇷🇩🇪x",
            &format!(
                "{}e\u{301}{}\t{}é",
                "x".repeat(100),
                "y".repeat(70),
                "z".repeat(64)
            ),
        ] {
            assert_eq!(screen_col(line, line.len()), slow(line), "{line:?}");
            let all = walk(line, 0, usize::MAX);
            assert_eq!(all, (line.len(), slow(line)), "{line:?}");
        }
        let long = "x".repeat(1 << 20);
        assert_eq!(screen_col(&long, long.len()), 1 << 20);
        assert_eq!(byte_at_screen_col(&long, 1000), 1000);
    }

    #[test]
    fn control_characters_are_drawn_visibly() {
        assert_eq!(caret('\r'), "^M");
        assert_eq!(caret('\x1b'), "^[");
        assert_eq!(caret('\x7f'), "^?");
        assert_eq!(screen_col("a\x1bb", 3), 4);
    }
}
