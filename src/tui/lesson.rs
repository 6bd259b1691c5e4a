//! A sample's lesson: the tour's samples open with two `//` comment lines
//! that say what the sample teaches; the playground shows them on a line
//! of their own while the file is open, so the point stays in view when
//! the editor scrolls or cuts long lines.

/// Most characters a lesson keeps (two comment lines' worth and then
/// some); the view elides it further to fit.
pub const MAX_CHARS: usize = 400;

/// The lesson of a file whose first lines are `lines`: its leading `//`
/// comment lines (at most two, after an optional `#!` line), each without
/// its slashes and outer spaces, joined by a space, with whitespace runs
/// and control characters made single spaces. None when the file does not
/// open with a `//` comment or the comment is empty.
///
/// A `/* */` comment, code, or a blank line ends the lesson: only what
/// opens the file counts.
pub fn of<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut lines = lines.into_iter().peekable();
    // A BOM and a shebang come before a module's first comment.
    if lines
        .peek()
        .is_some_and(|l| l.trim_start_matches('\u{feff}').starts_with("#!"))
    {
        lines.next();
    }
    let mut parts: Vec<String> = Vec::new();
    for line in lines.take(2) {
        let line = line.trim_start_matches('\u{feff}').trim();
        let Some(text) = line.strip_prefix("//") else {
            break;
        };
        // `///` and `//!` are comments too; their marks are not lesson.
        let text = text.trim_start_matches(['/', '!']);
        let clean = squash(text);
        if !clean.is_empty() {
            parts.push(clean);
        }
    }
    let joined = parts.join(" ");
    if joined.is_empty() {
        return None;
    }
    Some(match joined.char_indices().nth(MAX_CHARS) {
        Some((at, _)) => format!("{}…", joined[..at].trim_end()),
        None => joined,
    })
}

/// `text` with runs of whitespace and control characters (a tab, an
/// escape sequence's ESC) as one space, trimmed: nothing in it can move
/// the terminal's cursor or colour the screen. Reads no further than a
/// lesson keeps: this runs every frame, and a minified file's first line
/// can be megabytes.
fn squash(text: &str) -> String {
    let mut out = String::new();
    let mut kept = 0;
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
            continue;
        }
        // One past the limit, so `of` knows to add its ellipsis.
        if kept > MAX_CHARS {
            break;
        }
        if space {
            out.push(' ');
            kept += 1;
            space = false;
        }
        out.push(c);
        kept += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{MAX_CHARS, of};

    fn lesson(text: &str) -> Option<String> {
        of(text.lines())
    }

    #[test]
    fn a_huge_first_line_is_cut_with_an_ellipsis() {
        let line = format!("// {}", "word ".repeat(2_000_000));
        let l = lesson(&line).unwrap();
        assert!(l.chars().count() <= MAX_CHARS + 1, "{}", l.len());
        assert!(l.ends_with('…'));
    }

    #[test]
    fn two_comment_lines_join_into_one() {
        assert_eq!(
            lesson(
                "// Isolation: each isolate has its own globals. In warm mode every isolate counts\n\
                 // its own invocations (1, 2, 3, ...); in context and cold mode it starts at 1 again.\n\
                 globalThis.n = (globalThis.n || 0) + 1;"
            )
            .as_deref(),
            Some(
                "Isolation: each isolate has its own globals. In warm mode every isolate counts \
                 its own invocations (1, 2, 3, ...); in context and cold mode it starts at 1 again."
            )
        );
    }

    #[test]
    fn only_the_first_two_lines_and_only_comments_that_open_the_file() {
        assert_eq!(lesson("// a\n// b\n// c").as_deref(), Some("a b"));
        assert_eq!(lesson("// one line\ncode()").as_deref(), Some("one line"));
        assert_eq!(lesson("code() // not a lesson"), None);
        assert_eq!(lesson("\n// after a blank line"), None);
        assert_eq!(lesson("/* block */\n// x"), None);
        assert_eq!(lesson("'use strict';\n// x"), None);
        assert_eq!(lesson(""), None);
        // A comment line that is empty adds nothing; a code line ends it.
        assert_eq!(lesson("//\n// b").as_deref(), Some("b"));
        assert_eq!(lesson("//   \n//").as_deref(), None);
        assert_eq!(lesson("// a\nlet b = 1; // b").as_deref(), Some("a"));
    }

    #[test]
    fn shebangs_boms_and_doc_marks_are_not_the_lesson() {
        assert_eq!(
            lesson("#!/usr/bin/env node\n// x\n// y").as_deref(),
            Some("x y")
        );
        assert_eq!(lesson("\u{feff}// bom").as_deref(), Some("bom"));
        assert_eq!(lesson("/// doc\n//! inner").as_deref(), Some("doc inner"));
        assert_eq!(lesson("  // indented\r\n").as_deref(), Some("indented"));
    }

    #[test]
    fn control_characters_and_long_comments_are_made_safe() {
        assert_eq!(
            lesson("// red \x1b[31mtext\x1b[0m\there").as_deref(),
            Some("red [31mtext [0m here")
        );
        assert_eq!(lesson("// a\u{7}\u{8}b").as_deref(), Some("a b"));
        let long = format!("// {}", "word ".repeat(500));
        let l = lesson(&long).unwrap();
        assert!(l.ends_with('…'), "{l}");
        assert!(l.chars().count() <= super::MAX_CHARS + 1);
        // Wide characters are kept whole.
        assert_eq!(lesson("// 日本語の説明").as_deref(), Some("日本語の説明"));
    }
}
