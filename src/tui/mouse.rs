//! Mouse events to actions: a click focuses the pane under it and selects
//! the file or isolate on its row, or puts the editor's cursor on the
//! cell clicked (a click on the file already selected
//! opens it, so a double click does too); the wheel scrolls the pane under
//! the pointer. Hit-testing uses the same layout and row math the views
//! draw with (`view::layout`, `view::file_at`, `view::isolates_first_row`),
//! so a click lands on what the person saw. Like keys, the result is an
//! [`Action`]: data, applied by `App` and testable without a terminal.

use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::action::{Action, Pane};
use super::state::State;
use super::view;

/// Rows one wheel notch scrolls (as most terminals and editors do).
pub const WHEEL_ROWS: isize = 3;

/// The action for `ev` on a screen of `screen` cells (the size of the
/// frame the person sees, `State::screen`), or None when it does nothing
/// there: prompts take keys only (a click says so), the one-screen
/// summary has no panes.
pub fn map(ev: MouseEvent, s: &State, screen: Rect) -> Option<Action> {
    if s.prompt.is_some() || s.entry.is_some() {
        // A click is answered (the keys that work), the wheel ignored.
        return (ev.kind == MouseEventKind::Down(MouseButton::Left))
            .then(|| Action::NotHere("a click".into()));
    }
    let wheel = match ev.kind {
        MouseEventKind::ScrollUp => Some(-WHEEL_ROWS),
        MouseEventKind::ScrollDown => Some(WHEEL_ROWS),
        _ => None,
    };
    // Help and the ladder cover the panes: the wheel scrolls them.
    if s.help || s.ladder.open {
        return match wheel {
            Some(d) if d < 0 => Some(Action::Up),
            Some(_) => Some(Action::Down),
            None => None,
        };
    }
    let areas = view::layout(screen, s)?;
    let at = Position::new(ev.column, ev.row);
    let (pane, area) = [
        (Pane::Files, areas.files),
        (Pane::Editor, areas.editor),
        (Pane::Results, areas.results),
        (Pane::Isolates, areas.isolates),
    ]
    .into_iter()
    .find(|(_, r)| r.contains(at))?;
    if let Some(rows) = wheel {
        return Some(Action::Scroll(pane, rows));
    }
    if ev.kind != MouseEventKind::Down(MouseButton::Left) {
        return None;
    }
    Some(match pane {
        Pane::Files => match view::file_at(area, s, ev.row) {
            Some(i) => Action::ClickFile(i),
            None => Action::Focus(Pane::Files),
        },
        Pane::Isolates => match isolate_at(area, s, ev.row) {
            Some(i) => Action::ClickIsolate(i),
            None => Action::Focus(Pane::Isolates),
        },
        Pane::Editor => match view::editor_cell_at(area, s, ev.column, ev.row) {
            Some((line, col)) => Action::ClickEditor(line, col),
            None => Action::Focus(Pane::Editor),
        },
        other => Action::Focus(other),
    })
}

/// The isolate on screen row `y` of the table at `area`: below the border
/// and the header, from the first row the table shows.
fn isolate_at(area: Rect, s: &State, y: u16) -> Option<usize> {
    let top = area.y + 2;
    let visible = area.height.saturating_sub(3);
    if y < top || y >= top + visible {
        return None;
    }
    let len = s.snapshots.len();
    let first = view::isolates_first_row(s.selected_isolate, len, visible as usize);
    let i = first + usize::from(y - top);
    (i < len).then_some(i)
}
