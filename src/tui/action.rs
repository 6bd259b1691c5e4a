//! What a person can ask for: actions are data. Keys map to these through
//! the one table in `keymap`; tests send them directly.

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Quit; asks first when edits are unsaved.
    Quit,
    RunOnce,
    ToggleLoad,
    AddIsolates(usize),
    RemoveIsolates(usize),
    /// Open the prompt that takes a typed value for this setting.
    Ask(Setting),
    /// Switch the thread model live: a pool ↔ a thread per isolate.
    SwitchThreads,
    CycleMode,
    FocusNext,
    FocusPrev,
    Focus(Pane),
    Up,
    Down,
    PageUp,
    PageDown,
    /// First / last file or isolate.
    Home,
    End,
    /// Open the file selected in the list.
    Open,
    /// Start typing a filter over the file list (focuses the Files pane).
    Filter,
    /// Focus the Files pane and select this file (an index into
    /// `State::files`); when it is already selected there, open it (a
    /// second click, or a double click).
    ClickFile(usize),
    /// Focus the Isolates pane and select this isolate.
    ClickIsolate(usize),
    /// Focus the editor and put the cursor on this line (from 0) at this
    /// screen column (from 0; see `Buffer::move_to`).
    ClickEditor(usize, usize),
    /// The mouse wheel over a pane: move its selection (Files, Isolates),
    /// scroll it (Results) or move the editor's cursor by this many rows
    /// (negative: up). Focus stays where it is.
    Scroll(Pane, isize),
    ToggleHelp,
    /// Open the isolation ladder on the open file (a fresh comparison
    /// unless it shows this version's already), or close it, cancelling a
    /// comparison still running.
    ToggleLadder,
    /// Dismiss a prompt or overlay; in the editor, go back to the list.
    Cancel,
    /// Answer yes to a prompt; apply the typed number.
    Confirm,
    /// In the editor; in the number prompt, Insert and Backspace edit the number.
    Edit(EditAction),
    Save,
    /// Replace the buffer with the file on disk, dropping unsaved edits.
    ReloadFromDisk,
    /// Repaint every cell (after something else wrote over the screen).
    Redraw,
    /// Select the next isolate whose last result is an error, wrapping.
    NextFailing,
    /// A key (as labelled, e.g. `Ctrl-S`) or a click that does nothing
    /// while a prompt or help is open: the status line says so and names
    /// the keys that work there.
    NotHere(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditAction {
    Insert(char),
    /// One level of indentation inserted at the cursor: a tab in a file
    /// indented with tabs, else two spaces.
    Indent,
    Newline,
    Backspace,
    Delete,
    Left,
    Right,
    Up,
    Down,
    Home,
    End,
    PageUp,
    PageDown,
    /// The start of the file / the end of its last line.
    FileStart,
    FileEnd,
    DeleteLine,
    DuplicateLine,
    Undo,
    Redo,
    /// Text pasted in one piece: inserted as is, no auto-indent.
    Paste(String),
    /// Remove one level of indentation from the cursor's line.
    Dedent,
}

/// A value a person can type in a prompt; each is checked by the same
/// rule as its flag and config key (`config::ISOLATES`, `TIMEOUT_MS`,
/// `HEAP_MB`, `check_payload`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Setting {
    /// How many isolates (1–10000).
    #[default]
    Isolates,
    /// The JSON handlers get as `event.payload`.
    Payload,
    /// Wall-clock limit per invocation, ms.
    Timeout,
    /// Heap limit per isolate, MiB.
    Heap,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Files,
    Editor,
    Isolates,
    Results,
}

impl Pane {
    /// Tab order: Files → Isolates → Results → Files. The editor is no
    /// Tab stop (Tab indents there): it is entered with `e`, Enter on a
    /// file or a click, and left with Esc; from it, the next pane is
    /// Isolates and the previous Files.
    pub fn next(self) -> Pane {
        match self {
            Pane::Files | Pane::Editor => Pane::Isolates,
            Pane::Isolates => Pane::Results,
            Pane::Results => Pane::Files,
        }
    }
    pub fn prev(self) -> Pane {
        match self {
            Pane::Files => Pane::Results,
            Pane::Editor | Pane::Isolates => Pane::Files,
            Pane::Results => Pane::Isolates,
        }
    }
}
