//! The edit buffer: lines of text, a cursor, undo/redo by snapshots (files
//! here are small teaching scripts, so whole-buffer snapshots are cheap and
//! can never get out of step with the text).

use super::action::EditAction;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Buffer {
    pub lines: Vec<String>,
    /// (line, column in chars).
    pub cursor: (usize, usize),
    undo: Vec<(Vec<String>, (usize, usize))>,
    redo: Vec<(Vec<String>, (usize, usize))>,
    /// Bumped on every change; keys the highlight cache.
    pub revision: u64,
}

const UNDO_DEPTH: usize = 500;
const PAGE: usize = 20;

impl Buffer {
    pub fn new(text: &str) -> Self {
        let mut lines: Vec<String> = text
            .split('\n')
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect();
        if lines.is_empty() {
            lines.push(String::new());
        }
        Buffer {
            lines,
            ..Default::default()
        }
    }

    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    fn len_of(&self, line: usize) -> usize {
        self.lines[line].chars().count()
    }

    fn byte_at(&self, line: usize, col: usize) -> usize {
        self.lines[line]
            .char_indices()
            .nth(col)
            .map_or(self.lines[line].len(), |(i, _)| i)
    }

    fn snapshot(&mut self) {
        self.undo.push((self.lines.clone(), self.cursor));
        if self.undo.len() > UNDO_DEPTH {
            self.undo.remove(0);
        }
        self.redo.clear();
        self.revision += 1;
    }

    /// Applies an edit or a move; returns whether the text changed.
    pub fn apply(&mut self, a: &EditAction) -> bool {
        let (row, col) = self.cursor;
        match a {
            EditAction::Insert(c) => {
                self.snapshot();
                let at = self.byte_at(row, col);
                self.lines[row].insert(at, *c);
                self.cursor.1 += 1;
                true
            }
            EditAction::Indent => {
                self.snapshot();
                let at = self.byte_at(row, col);
                self.lines[row].insert_str(at, "  ");
                self.cursor.1 += 2;
                true
            }
            EditAction::Newline => {
                self.snapshot();
                let at = self.byte_at(row, col);
                let rest = self.lines[row].split_off(at);
                let indent: String = self.lines[row].chars().take_while(|c| *c == ' ').collect();
                self.lines.insert(row + 1, format!("{indent}{rest}"));
                self.cursor = (row + 1, indent.chars().count());
                true
            }
            EditAction::Backspace => {
                if col > 0 {
                    self.snapshot();
                    let at = self.byte_at(row, col - 1);
                    self.lines[row].remove(at);
                    self.cursor.1 -= 1;
                    true
                } else if row > 0 {
                    self.snapshot();
                    let line = self.lines.remove(row);
                    let prev_len = self.len_of(row - 1);
                    self.lines[row - 1].push_str(&line);
                    self.cursor = (row - 1, prev_len);
                    true
                } else {
                    false
                }
            }
            EditAction::Delete => {
                if col < self.len_of(row) {
                    self.snapshot();
                    let at = self.byte_at(row, col);
                    self.lines[row].remove(at);
                    true
                } else if row + 1 < self.lines.len() {
                    self.snapshot();
                    let next = self.lines.remove(row + 1);
                    self.lines[row].push_str(&next);
                    true
                } else {
                    false
                }
            }
            EditAction::DeleteLine => {
                self.snapshot();
                if self.lines.len() > 1 {
                    self.lines.remove(row);
                } else {
                    self.lines[0].clear();
                }
                let row = row.min(self.lines.len() - 1);
                self.cursor = (row, col.min(self.len_of(row)));
                true
            }
            EditAction::DuplicateLine => {
                self.snapshot();
                let line = self.lines[row].clone();
                self.lines.insert(row + 1, line);
                self.cursor.0 += 1;
                true
            }
            EditAction::Undo => self.swap_history(true),
            EditAction::Redo => self.swap_history(false),
            EditAction::Left => {
                if col > 0 {
                    self.cursor.1 -= 1;
                } else if row > 0 {
                    self.cursor = (row - 1, self.len_of(row - 1));
                }
                false
            }
            EditAction::Right => {
                if col < self.len_of(row) {
                    self.cursor.1 += 1;
                } else if row + 1 < self.lines.len() {
                    self.cursor = (row + 1, 0);
                }
                false
            }
            EditAction::Up => self.move_rows(-1),
            EditAction::Down => self.move_rows(1),
            EditAction::PageUp => self.move_rows(-(PAGE as isize)),
            EditAction::PageDown => self.move_rows(PAGE as isize),
            EditAction::Home => {
                self.cursor.1 = 0;
                false
            }
            EditAction::End => {
                self.cursor.1 = self.len_of(row);
                false
            }
            // Implemented by the editor's rework (issue 9); ignored until then.
            EditAction::Paste(_) | EditAction::Dedent => false,
        }
    }

    fn move_rows(&mut self, by: isize) -> bool {
        let row = (self.cursor.0 as isize + by).clamp(0, self.lines.len() as isize - 1) as usize;
        self.cursor = (row, self.cursor.1.min(self.len_of(row)));
        false
    }

    fn swap_history(&mut self, undo: bool) -> bool {
        let (from, to) = if undo {
            (&mut self.undo, &mut self.redo)
        } else {
            (&mut self.redo, &mut self.undo)
        };
        let Some((lines, cursor)) = from.pop() else {
            return false;
        };
        to.push((std::mem::replace(&mut self.lines, lines), self.cursor));
        self.cursor = cursor;
        self.revision += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EditAction::*;

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
}
