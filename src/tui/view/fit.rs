//! Text measured and cut in terminal cells (display width from the Unicode
//! tables, not bytes or chars): elision in the middle, so two long names
//! never look alike; tabs expanded; lines wrapped; and plurals. Every pane
//! fits its text with these instead of letting the terminal cut it.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// Tab stops in the Results pane (as a terminal prints console output).
pub const TAB: usize = 8;

/// Cells `s` takes on screen (control characters take none).
pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    c.width().unwrap_or(0)
}

/// `s` in at most `max` cells: whole if it fits, else its start and end
/// around a "…" (`very-long-…-name.js`), cut between characters.
pub fn elide_middle(s: &str, max: usize) -> String {
    match middle_cut(s, max) {
        None => s.to_string(),
        Some(_) if max == 0 => String::new(),
        Some((head, tail)) => format!("{}…{}", &s[..head], &s[tail..]),
    }
}

/// [`elide_middle`], but never cutting inside a number and its unit
/// (`16.4 ms`, see [`atoms`]): such a piece is left out whole, so a
/// message says less but nothing wrong.
pub fn elide_middle_whole(s: &str, max: usize) -> String {
    let Some((mut head, mut tail)) = middle_cut(s, max) else {
        return s.to_string();
    };
    if max == 0 {
        return String::new();
    }
    for r in atom_ranges(s) {
        let numeric = s[r.clone()].contains(|c: char| c.is_ascii_digit());
        if numeric && r.start < head && head < r.end {
            head = s[..r.start].trim_end().len();
        }
        if numeric && r.start < tail && tail < r.end {
            tail = r.end;
        }
    }
    // A number next to the "…" would look cut: a space goes between, or,
    // without room for it, the number next to the cut goes too.
    let ranges = atom_ranges(s);
    let mut tail = tail.max(head);
    loop {
        let head_digit = s[..head].ends_with(|c: char| c.is_ascii_digit());
        let tail_digit = s[tail..].starts_with(|c: char| c.is_ascii_digit());
        let out = format!(
            "{}{}…{}{}",
            &s[..head],
            if head_digit { " " } else { "" },
            if tail_digit { " " } else { "" },
            &s[tail..]
        );
        if width(&out) <= max || !(head_digit || tail_digit) {
            return out;
        }
        if head_digit {
            let start = ranges.iter().find(|r| r.end == head).map_or(0, |r| r.start);
            head = s[..start].trim_end().len();
        }
        if tail_digit {
            tail = ranges
                .iter()
                .find(|r| r.start == tail)
                .map_or(s.len(), |r| r.end);
        }
    }
}

/// Where [`elide_middle`] cuts `s` for `max` cells: (end of the head,
/// start of the tail) in bytes; None when `s` fits.
fn middle_cut(s: &str, max: usize) -> Option<(usize, usize)> {
    if width(s) <= max {
        return None;
    }
    if max == 0 {
        return Some((0, s.len()));
    }
    let room = max - 1;
    // The end keeps a little more: it holds the extension.
    let tail_room = room.div_ceil(2);
    let head_room = room - tail_room;
    let mut head = 0;
    let mut used = 0;
    for (i, c) in s.char_indices() {
        let w = char_width(c);
        if used + w > head_room {
            break;
        }
        used += w;
        head = i + c.len_utf8();
    }
    let mut tail = s.len();
    let mut used = 0;
    for (i, c) in s.char_indices().rev() {
        let w = char_width(c);
        if used + w > tail_room || i < head {
            break;
        }
        used += w;
        tail = i;
    }
    Some((head, tail))
}

/// Byte ranges of `s`'s [`atoms`].
fn atom_ranges(s: &str) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    let mut at = 0;
    for word in s.split(' ') {
        let r = at..at + word.len();
        at = r.end + 1;
        if word.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last)
                if s[last.clone()].ends_with(|c: char| c.is_ascii_digit())
                    && width(word) <= UNIT_MAX =>
            {
                last.end = r.end
            }
            _ => out.push(r),
        }
    }
    out
}

/// Each name in at most `max` cells, elided in the middle, and no two
/// alike when the names differ: where eliding makes two the same, each
/// shows the part where it differs from the others (`…seco…nt.js`).
pub fn elide_distinct(names: &[String], max: usize) -> Vec<String> {
    let mut out: Vec<String> = names.iter().map(|n| elide_middle(n, max)).collect();
    let mut by_shown: std::collections::HashMap<String, Vec<usize>> = Default::default();
    for (i, shown) in out.iter().enumerate() {
        by_shown.entry(shown.clone()).or_default().push(i);
    }
    for same in by_shown.into_values().filter(|v| v.len() > 1) {
        for &i in &same {
            let me: Vec<char> = names[i].chars().collect();
            // Where this name parts from the most alike of the others.
            let diff = same
                .iter()
                .filter(|&&j| j != i)
                .map(|&j| {
                    me.iter()
                        .zip(names[j].chars())
                        .take_while(|(a, b)| **a == *b)
                        .count()
                })
                .max()
                .unwrap_or(0);
            out[i] = elide_around(&me, diff, max);
        }
    }
    out
}

/// `…` + the text from `at` + `…` + the end, in `max` cells.
fn elide_around(chars: &[char], at: usize, max: usize) -> String {
    let tail_w = (max / 3).max(1);
    let mut tail: Vec<char> = Vec::new();
    let mut used = 0;
    for &c in chars.iter().rev() {
        if used + char_width(c) > tail_w {
            break;
        }
        used += char_width(c);
        tail.push(c);
    }
    tail.reverse();
    let tail_start = chars.len() - tail.len();
    let room = max.saturating_sub(used + 2);
    let mut mid = String::new();
    let mut w = 0;
    let mut end = at.min(tail_start);
    while end < tail_start && w + char_width(chars[end]) <= room {
        w += char_width(chars[end]);
        mid.push(chars[end]);
        end += 1;
    }
    let tail: String = tail.into_iter().collect();
    if end == tail_start {
        format!("…{mid}{tail}")
    } else {
        format!("…{mid}…{tail}")
    }
}

/// `s` in at most `max` cells, cut at the end with a "…" when longer.
pub fn elide_end(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = char_width(c);
        if used + w > max - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// `s` in at most `max` cells, its start cut with a "…" when longer (the
/// end is where text is being typed).
pub fn elide_start(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut tail: Vec<char> = Vec::new();
    let mut used = 0;
    for c in s.chars().rev() {
        let w = char_width(c);
        if used + w > max - 1 {
            break;
        }
        used += w;
        tail.push(c);
    }
    std::iter::once('…').chain(tail.into_iter().rev()).collect()
}

/// One line with tabs expanded to the next multiple of [`TAB`] cells and
/// other control characters shown as `^X` (a raw one would move the
/// terminal's cursor).
pub fn expand_tabs(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut col = 0;
    for c in line.chars() {
        match c {
            '\t' => {
                let n = TAB - col % TAB;
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            '\r' => {}
            c if c.is_control() => {
                out.push('^');
                out.push(char::from_u32((c as u32 + 64) & 0x7f).unwrap_or('?'));
                col += 2;
            }
            c => {
                out.push(c);
                col += char_width(c);
            }
        }
    }
    out
}

/// `text` as rows of at most `width` cells: its own line breaks kept, tabs
/// expanded, long lines broken after spaces where they can be, else
/// between characters (never inside a wide one).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    text.split('\n')
        .flat_map(|line| wrap_line(&Line::from(expand_tabs(line)), width))
        .map(|row| row.spans.iter().map(|s| s.content.as_ref()).collect())
        .collect()
}

/// A styled line word-wrapped to rows of at most `width` cells: breaks go
/// after spaces; a word longer than a row is cut between characters. Each
/// character keeps its span's style.
pub fn wrap_line(line: &Line<'_>, width: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let cells: Vec<(char, Style)> = line
        .spans
        .iter()
        .flat_map(|sp| {
            let st = line.style.patch(sp.style);
            sp.content.chars().map(move |c| (c, st))
        })
        .collect();
    // Words: runs of non-spaces with the spaces after them; a number
    // keeps a short word after it (its unit) in its word.
    let mut words: Vec<&[(char, Style)]> = Vec::new();
    let mut start = 0;
    for i in 1..=cells.len() {
        if i == cells.len() || (cells[i - 1].0 == ' ' && cells[i].0 != ' ') {
            let number = cells[start..i]
                .iter()
                .rev()
                .find(|(c, _)| *c != ' ')
                .is_some_and(|(c, _)| c.is_ascii_digit());
            let next_w: usize = cells[i..]
                .iter()
                .take_while(|(c, _)| *c != ' ')
                .map(|(c, _)| char_width(*c))
                .sum();
            if number && i < cells.len() && next_w <= UNIT_MAX {
                continue;
            }
            words.push(&cells[start..i]);
            start = i;
        }
    }
    let w = |cs: &[(char, Style)]| cs.iter().map(|(c, _)| char_width(*c)).sum::<usize>();
    let mut rows: Vec<Vec<(char, Style)>> = vec![Vec::new()];
    let mut used = 0;
    for word in words {
        let trimmed = word
            .iter()
            .rposition(|(c, _)| *c != ' ')
            .map_or(0, |p| p + 1);
        let ww = w(&word[..trimmed]);
        if used > 0 && used + ww > width {
            rows.push(Vec::new());
            used = 0;
        }
        for &(c, st) in word {
            let cw = char_width(c);
            if used + cw > width {
                if c == ' ' {
                    continue;
                }
                rows.push(Vec::new());
                used = 0;
            }
            rows.last_mut().expect("a row").push((c, st));
            used += cw;
        }
    }
    rows.into_iter()
        .map(|row| {
            let mut spans: Vec<Span<'static>> = Vec::new();
            let mut cur = String::new();
            let mut cur_st = None;
            for (c, st) in row {
                if cur_st.is_some_and(|s| s != st) {
                    spans.push(Span::styled(
                        std::mem::take(&mut cur),
                        cur_st.unwrap_or_default(),
                    ));
                }
                cur_st = Some(st);
                cur.push(c);
            }
            if let Some(st) = cur_st {
                spans.push(Span::styled(cur, st));
            }
            Line::from(spans)
        })
        .collect()
}

/// Longest word (cells) kept with the number before it as its unit.
const UNIT_MAX: usize = 8;

/// `text` split at its spaces into the parts a row may break between,
/// a number kept with a short word after it (its unit: `16.4 ms`,
/// `p50 16.4 ms`, `2 errors`; at most [`UNIT_MAX`] cells), so that
/// wrapping never parts a number from its unit.
pub fn atoms(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        match out.last_mut() {
            Some(last)
                if last.ends_with(|c: char| c.is_ascii_digit()) && width(word) <= UNIT_MAX =>
            {
                last.push(' ');
                last.push_str(word);
            }
            _ => out.push(word.to_string()),
        }
    }
    out
}

/// `text` on rows of at most `width` cells, broken between its
/// [`atoms`] only; an atom wider than a row gets a row to itself, cut at
/// its end with "…" (the last resort, for words no row can hold).
pub fn wrap_atoms(text: &str, width: usize) -> Vec<String> {
    let mut rows: Vec<String> = Vec::new();
    for atom in atoms(text) {
        match rows.last_mut() {
            Some(row) if width_of(row) + 1 + width_of(&atom) <= width => {
                row.push(' ');
                row.push_str(&atom);
            }
            _ => rows.push(elide_end(&atom, width)),
        }
    }
    rows
}

/// `pieces` on rows of at most `width` cells, each piece with the
/// separator that goes before it on a row (dropped at a row's start); a
/// piece that does not fit the row starts the next. A piece wider than a
/// row is wrapped between its [`atoms`] (in its first span's style), so a
/// number keeps its unit at any width.
pub fn pack(pieces: Vec<(&'static str, Vec<Span<'static>>)>, width: usize) -> Vec<Line<'static>> {
    let pw = |p: &[Span]| p.iter().map(Span::width).sum::<usize>();
    let mut rows: Vec<Vec<Span<'static>>> = Vec::new();
    let mut used = 0;
    for (sep, piece) in pieces {
        let w = pw(&piece);
        match rows.last_mut() {
            Some(row) if used + width_of(sep) + w <= width => {
                row.push(Span::raw(sep));
                row.extend(piece);
                used += width_of(sep) + w;
            }
            _ if w > width => {
                let text: String = piece.iter().map(|s| s.content.as_ref()).collect();
                let style = piece.first().map(|s| s.style).unwrap_or_default();
                for part in wrap_atoms(&text, width) {
                    used = width_of(&part);
                    rows.push(vec![Span::styled(part, style)]);
                }
            }
            _ => {
                rows.push(piece);
                used = w;
            }
        }
    }
    rows.into_iter().map(Line::from).collect()
}

fn width_of(s: &str) -> usize {
    width(s)
}

/// A measured window for labels: "0.4 s", "4.9 s", "10 s".
pub fn window(d: std::time::Duration) -> String {
    let s = d.as_secs_f64();
    if s < 9.95 {
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

/// "1 isolate", "2 isolates".
pub fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `pieces` (most important first) on one row of at most `max` cells,
/// `sep` between them, whole pieces only: a piece that does not fit is
/// left out, and a later, shorter one may still fit.
pub fn pick<'a>(pieces: &[&'a str], sep: &str, max: usize) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut used = 0;
    for p in pieces {
        let w = width(p) + if out.is_empty() { 0 } else { width(sep) };
        if used + w <= max {
            used += w;
            out.push(*p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elides_in_the_middle_by_display_width() {
        assert_eq!(elide_middle("short.js", 20), "short.js");
        let a = elide_middle("very-long-file-name-number-one.js", 20);
        let b = elide_middle("very-long-file-name-number-two.js", 20);
        assert_ne!(a, b);
        assert_eq!(width(&a), 20);
        assert!(a.starts_with("very-long") && a.ends_with("one.js"), "{a}");
        // Wide characters count two cells and are never split.
        let w = elide_middle("日本語のファイル名です.js", 10);
        assert!(width(&w) <= 10, "{w}");
        assert!(w.contains('…'));
        assert_eq!(elide_middle("abc", 0), "");
        assert_eq!(elide_end("abcdef", 4), "abc…");
        let names = [
            "a-very-long-file-name-for-the-first-experiment.js".to_string(),
            "a-very-long-file-name-for-the-second-experiment.js".to_string(),
            "short.js".to_string(),
        ];
        for max in 6..30 {
            let shown = elide_distinct(&names, max);
            assert_ne!(shown[0], shown[1], "{max}: {shown:?}");
            assert!(shown.iter().all(|n| width(n) <= max), "{max}: {shown:?}");
        }
    }

    #[test]
    fn tabs_expand_and_lines_wrap() {
        assert_eq!(expand_tabs("a\tb"), "a       b");
        assert_eq!(expand_tabs("\treturn"), "        return");
        assert_eq!(expand_tabs("x\u{1b}[2J"), "x^[[2J");
        assert_eq!(wrap("ab\ncdef", 3), vec!["ab", "cde", "f"]);
        assert_eq!(wrap("日本語", 4), vec!["日本", "語"]);
        assert_eq!(wrap("", 4), vec![""]);
        assert_eq!(wrap("its 64 MiB limit", 12), vec!["its 64 MiB ", "limit"]);
        assert_eq!(
            wrap("the UI held 16.4 ms", 14),
            vec!["the UI held ", "16.4 ms"]
        );
    }

    #[test]
    fn wraps_styled_lines_at_words() {
        let red = Style::default().fg(ratatui::style::Color::Red);
        let l = Line::from(vec![
            Span::raw("Quit anyway and "),
            Span::styled("lose them? (y/n)", red),
        ]);
        let rows = wrap_line(&l, 12);
        let text: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
        assert_eq!(text, vec!["Quit anyway ", "and lose ", "them? (y/n)"]);
        assert_eq!(rows[2].spans[0].style, red);
        assert_eq!(wrap_line(&Line::from("abcdefgh"), 3).len(), 3);
    }

    #[test]
    fn numbers_keep_their_units_when_wrapped() {
        assert_eq!(
            atoms("cold start p50 16.4 ms"),
            vec!["cold", "start", "p50 16.4 ms"]
        );
        assert_eq!(
            wrap_atoms("cold start p50 16.4 ms", 21),
            vec!["cold start", "p50 16.4 ms"]
        );
        assert_eq!(
            wrap_atoms("latency p50 1000.0 ms", 14),
            vec!["latency", "p50 1000.0 ms"]
        );
        assert_eq!(
            atoms("(last 10 s, 1 in 20 timed)"),
            vec!["(last", "10 s,", "1 in", "20 timed)"]
        );
        let m = "the change held the UI 16.4 ms, then 1000.0 ms more";
        for max in 4..m.len() {
            let e = elide_middle_whole(m, max);
            assert!(width(&e) <= max, "{max}: {e}");
            for cut in ["16.4 m…", "16.…", "…4 ms", "1000.0 …", "…0 ms"] {
                assert!(!e.contains(cut), "{max}: {e}");
            }
        }
        assert_eq!(elide_middle_whole("held 16.4 ms, then", 12), "held … then");
        let n = "took 1 2 3 4 5 6 7 8 9 10 11 12 ms";
        for max in 1..n.len() {
            let e = elide_middle_whole(n, max);
            assert!(width(&e) <= max, "{max}: {e}");
            let c: Vec<char> = e.chars().collect();
            let at = c.iter().position(|&x| x == '…').expect("elided");
            assert!(at == 0 || !c[at - 1].is_ascii_digit(), "{max}: {e}");
            assert!(
                !c.get(at + 1).is_some_and(|x| x.is_ascii_digit()),
                "{max}: {e}"
            );
        }
        assert_eq!(
            elide_middle_whole("opened a-long-name.js", 12),
            elide_middle("opened a-long-name.js", 12)
        );
        let rows = pack(vec![("", vec![Span::raw("cold start p50 16.4 ms")])], 21);
        let text: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
        assert_eq!(text, vec!["cold start", "p50 16.4 ms"]);
    }

    #[test]
    fn picks_whole_pieces() {
        assert_eq!(pick(&["aaa", "bb", "c"], " ", 6), vec!["aaa", "bb"]);
        assert_eq!(pick(&["aaaaaa", "bb", "c"], " ", 4), vec!["bb", "c"]);
        assert_eq!(plural(1u64, "isolate", "isolates"), "1 isolate");
        assert_eq!(plural(0u64, "isolate", "isolates"), "0 isolates");
    }
}
