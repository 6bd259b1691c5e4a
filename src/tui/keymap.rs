//! Keys to actions, from one table ([`KEYS`]) that matching, the help
//! overlay, the status-bar hints, the tiny-screen hint and the README's key
//! table all read, so none of them can say something the keys don't do.
//!
//! Each row is active in one [`Context`]: F-keys and Ctrl work everywhere
//! (the editor included), single letters only where no text is typed, and
//! the editor, prompts and help have their own rows. The first row active
//! in the current context whose key matches wins; `[ui.keys]` overrides
//! from the config file are checked before the table.

use std::collections::BTreeMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, EditAction, Pane, Setting};
use super::state::State;

/// Where a row of [`KEYS`] is active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// No prompt or help open, any pane (the editor too): F-keys, Ctrl.
    Anywhere,
    /// No prompt or help open, a pane other than the editor has focus.
    Panes,
    /// The editor has focus.
    Editor,
    /// A yes/no question is open.
    Prompt,
    /// A prompt for a typed value (isolates, payload, timeout, heap) is open.
    Entry,
    /// A filter over the file list is being typed (Files pane).
    Filter,
    /// The help overlay is open.
    Help,
    /// The ladder view is open.
    Ladder,
}

impl Context {
    /// How help and the README name it.
    pub fn describe(self) -> &'static str {
        match self {
            Context::Anywhere => "anywhere",
            Context::Panes => "outside the editor",
            Context::Editor => "in the editor",
            Context::Prompt => "in a yes/no prompt",
            Context::Entry => "in a value prompt",
            Context::Filter => "while filtering files",
            Context::Help => "in help",
            Context::Ladder => "in the ladder",
        }
    }
}

/// A key as written in [`KEYS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// This key with exactly these modifiers (Shift ignored on characters).
    Is(KeyCode, KeyModifiers),
    /// Any character typed without Ctrl or Alt (the row's action must be
    /// `Edit(Insert(_))`; the typed character replaces it).
    Text,
}

const fn k(code: KeyCode) -> Key {
    Key::Is(code, KeyModifiers::NONE)
}
const fn c(ch: char) -> Key {
    Key::Is(KeyCode::Char(ch), KeyModifiers::NONE)
}
const fn ctrl(ch: char) -> Key {
    Key::Is(KeyCode::Char(ch), KeyModifiers::CONTROL)
}
const fn ctrl_k(code: KeyCode) -> Key {
    Key::Is(code, KeyModifiers::CONTROL)
}
const fn f(n: u8) -> Key {
    Key::Is(KeyCode::F(n), KeyModifiers::NONE)
}

impl Key {
    /// How the key is written on screen: `F5`, `Ctrl-R`, `r`, `space`, `↑`.
    pub fn label(self) -> String {
        let Key::Is(code, mods) = self else {
            return "typing".into();
        };
        let mut s = String::new();
        if mods.contains(KeyModifiers::CONTROL) {
            s.push_str("Ctrl-");
        }
        if mods.contains(KeyModifiers::ALT) {
            s.push_str("Alt-");
        }
        if mods.contains(KeyModifiers::SHIFT) {
            s.push_str("Shift-");
        }
        let ctrl = mods.contains(KeyModifiers::CONTROL);
        match code {
            KeyCode::Char(' ') => s.push_str("space"),
            KeyCode::Char(ch) if ctrl => s.extend(ch.to_uppercase()),
            KeyCode::Char(ch) => s.push(ch),
            KeyCode::F(n) => s.push_str(&format!("F{n}")),
            KeyCode::Up => s.push('↑'),
            KeyCode::Down => s.push('↓'),
            KeyCode::Left => s.push('←'),
            KeyCode::Right => s.push('→'),
            KeyCode::PageUp => s.push_str("PgUp"),
            KeyCode::PageDown => s.push_str("PgDn"),
            KeyCode::BackTab => s.push_str("Shift-Tab"),
            KeyCode::Delete => s.push_str("Del"),
            other => s.push_str(&other.to_string()),
        }
        s
    }

    /// The action for `key` if it matches (`action` is the row's).
    fn matches(self, key: &KeyEvent, action: &Action) -> Option<Action> {
        let (code, mods) = normalize(key);
        match self {
            Key::Is(c, m) => (c == code && m == mods).then(|| action.clone()),
            Key::Text => match code {
                KeyCode::Char(ch) if mods.is_empty() => Some(Action::Edit(EditAction::Insert(ch))),
                _ => None,
            },
        }
    }
}

/// Shift is part of a character (`G`, `?`, `+`) and of BackTab, not a
/// modifier to match.
fn normalize(key: &KeyEvent) -> (KeyCode, KeyModifiers) {
    match key.code {
        KeyCode::Char(_) | KeyCode::BackTab => (key.code, key.modifiers - KeyModifiers::SHIFT),
        code => (code, key.modifiers),
    }
}

/// One row of the key table.
#[derive(Debug)]
pub struct Binding {
    pub keys: &'static [Key],
    pub context: Context,
    pub action: Action,
    /// What it does, for help and the README ("" keeps the row out of
    /// them: typing, cursor keys already described).
    pub help: &'static str,
    /// The status bar's word for it; None keeps it out of the hints.
    pub hint: Option<&'static str>,
}

const fn row(
    keys: &'static [Key],
    context: Context,
    action: Action,
    help: &'static str,
    hint: Option<&'static str>,
) -> Binding {
    Binding {
        keys,
        context,
        action,
        help,
        hint,
    }
}

use Context::{Anywhere, Editor, Entry, Filter, Help, Ladder, Panes, Prompt};
use KeyCode::{
    BackTab, Backspace, Delete, Down, End, Enter, Esc, Home, Left, PageDown, PageUp, Right, Tab, Up,
};

/// Every binding. Within a context the first match wins; help lists rows
/// in this order; the first active row with a hint word gives the hint
/// its keys.
#[rustfmt::skip]
pub static KEYS: &[Binding] = &[
    // Prompts and help take the keys while open.
    row(&[c('y')], Prompt, Action::Confirm, "", Some("yes")),
    row(&[c('n'), k(Esc), ctrl('c')], Prompt, Action::Cancel, "", Some("no")),
    row(&[k(Enter)], Entry, Action::Confirm, "", Some("applies")),
    row(&[k(Esc), ctrl('c')], Entry, Action::Cancel, "", Some("cancels")),
    row(&[k(Backspace)], Entry, Action::Edit(EditAction::Backspace), "", None),
    row(&[Key::Text], Entry, Action::Edit(EditAction::Insert(' ')), "", None),
    row(&[k(Esc), c('?'), f(1), c('q')], Help, Action::ToggleHelp, "", Some("closes help")),
    row(&[k(Up), c('k')], Help, Action::Up, "", None),
    row(&[k(Down), c('j')], Help, Action::Down, "", Some("scroll")),
    row(&[k(PageUp)], Help, Action::PageUp, "", None),
    row(&[k(PageDown)], Help, Action::PageDown, "", None),
    row(&[k(Home)], Help, Action::Home, "", None),
    row(&[k(End)], Help, Action::End, "", None),
    row(&[k(Esc), c('q'), c('l'), f(10)], Ladder, Action::ToggleLadder, "", Some("closes ladder")),
    row(&[f(5), c('r'), ctrl('r')], Ladder, Action::RunOnce, "", Some("measures again")),
    row(&[k(Up), c('k')], Ladder, Action::Up, "", None),
    row(&[k(Down), c('j')], Ladder, Action::Down, "", Some("scroll")),
    row(&[k(PageUp)], Ladder, Action::PageUp, "", None),
    row(&[k(PageDown)], Ladder, Action::PageDown, "", None),
    row(&[k(Home), c('g')], Ladder, Action::Home, "", None),
    row(&[k(End), c('G')], Ladder, Action::End, "", None),
    row(&[f(1), c('?')], Ladder, Action::ToggleHelp, "", Some("help")),
    row(&[ctrl('q'), ctrl('c')], Ladder, Action::Quit, "", Some("quit")),
    row(&[ctrl('l')], Ladder, Action::Redraw, "", None),
    row(&[k(Esc)], Filter, Action::Cancel, "", Some("clears filter")),
    row(&[k(Enter)], Filter, Action::Open, "", Some("open")),
    row(&[k(Backspace)], Filter, Action::Edit(EditAction::Backspace), "", None),
    row(&[k(Up)], Filter, Action::Up, "", None),
    row(&[k(Down)], Filter, Action::Down, "", None),
    row(&[k(PageUp)], Filter, Action::PageUp, "", None),
    row(&[k(PageDown)], Filter, Action::PageDown, "", None),
    row(&[k(Home)], Filter, Action::Home, "", None),
    row(&[k(End)], Filter, Action::End, "", None),
    row(&[Key::Text], Filter, Action::Edit(EditAction::Insert(' ')), "", None),
    // Running.
    row(&[f(5), ctrl('r')], Anywhere, Action::RunOnce, "run once on every isolate", Some("run")),
    row(&[c('r')], Panes, Action::RunOnce, "run once on every isolate", None),
    row(&[f(6)], Anywhere, Action::ToggleLoad, "start / stop continuous load", Some("load")),
    row(&[c(' ')], Panes, Action::ToggleLoad, "start / stop continuous load", None),
    row(&[f(8)], Anywhere, Action::AddIsolates(1), "add 1 isolate (] adds 10)", Some("+isolate")),
    row(&[c('+'), c('=')], Panes, Action::AddIsolates(1), "add 1 isolate (] adds 10)", None),
    row(&[c(']')], Panes, Action::AddIsolates(10), "add 1 isolate (] adds 10)", None),
    row(&[f(7)], Anywhere, Action::RemoveIsolates(1), "remove 1 isolate ([ removes 10)", Some("−isolate")),
    row(&[c('-')], Panes, Action::RemoveIsolates(1), "remove 1 isolate ([ removes 10)", None),
    row(&[c('[')], Panes, Action::RemoveIsolates(10), "remove 1 isolate ([ removes 10)", None),
    row(&[f(4), ctrl('n')], Anywhere, Action::Ask(Setting::Isolates), "type a number of isolates (1–10000), Enter applies", Some("N")),
    row(&[c('n')], Panes, Action::Ask(Setting::Isolates), "type a number of isolates (1–10000), Enter applies", None),
    row(&[ctrl('p')], Anywhere, Action::Ask(Setting::Payload), "type the payload handlers get (JSON), Enter applies", Some("payload")),
    row(&[c('p')], Panes, Action::Ask(Setting::Payload), "type the payload handlers get (JSON), Enter applies", None),
    row(&[ctrl('w')], Anywhere, Action::Ask(Setting::Timeout), "type the timeout per run (1–3600000 ms)", Some("timeout")),
    row(&[c('w')], Panes, Action::Ask(Setting::Timeout), "type the timeout per run (1–3600000 ms)", None),
    row(&[ctrl('g')], Anywhere, Action::Ask(Setting::Heap), "type the heap limit per isolate (4–16384 MiB)", Some("heap")),
    row(&[c('h')], Panes, Action::Ask(Setting::Heap), "type the heap limit per isolate (4–16384 MiB)", None),
    row(&[f(3)], Anywhere, Action::SwitchThreads, "threads: a pool ↔ one thread per isolate, live", Some("threads")),
    row(&[c('t')], Panes, Action::SwitchThreads, "threads: a pool ↔ one thread per isolate, live", None),
    row(&[f(2), ctrl('t')], Anywhere, Action::CycleMode, "cycle mode: warm → context → cold → snapshot", Some("mode")),
    row(&[c('m')], Panes, Action::CycleMode, "cycle mode: warm → context → cold → snapshot", None),
    row(&[f(9)], Anywhere, Action::NextFailing, "jump to the next failing isolate", Some("next failing")),
    row(&[c('x')], Panes, Action::NextFailing, "jump to the next failing isolate", None),
    row(&[f(10)], Anywhere, Action::ToggleLadder, "the isolation ladder: the open file per call as isolate, process, runtime (measured live)", Some("ladder")),
    row(&[c('l')], Panes, Action::ToggleLadder, "the isolation ladder: the open file per call as isolate, process, runtime (measured live)", None),
    // Panes.
    row(&[k(Tab)], Panes, Action::FocusNext, "next / previous pane: files → isolates → results", Some("pane")),
    row(&[k(BackTab)], Panes, Action::FocusPrev, "next / previous pane: files → isolates → results", None),
    row(&[c('e')], Panes, Action::Focus(Pane::Editor), "edit the open file (so do Enter on it and a click)", Some("edit")),
    row(&[k(Esc)], Editor, Action::Cancel, "leave the editor (Tab indents there)", Some("leave editor")),
    row(&[k(Up), c('k')], Panes, Action::Up, "move in the focused pane (files, isolates, results)", None),
    row(&[k(Down), c('j')], Panes, Action::Down, "move in the focused pane (files, isolates, results)", None),
    row(&[k(PageUp)], Panes, Action::PageUp, "move in the focused pane (files, isolates, results)", None),
    row(&[k(PageDown)], Panes, Action::PageDown, "move in the focused pane (files, isolates, results)", None),
    row(&[k(Home), c('g')], Panes, Action::Home, "first / last in the focused pane", None),
    row(&[k(End), c('G')], Panes, Action::End, "first / last in the focused pane", None),
    row(&[k(Enter)], Panes, Action::Open, "open the selected file in the editor", Some("open")),
    row(&[c('/')], Panes, Action::Filter, "filter the files by typing (Enter opens, Esc clears)", Some("filter")),
    // Files.
    row(&[ctrl('s')], Anywhere, Action::Save, "save (re-runs the new version on every isolate)", Some("save")),
    row(&[ctrl('o')], Anywhere, Action::ReloadFromDisk, "reload the file from disk, dropping unsaved edits", None),
    // The editor.
    row(&[k(Tab)], Editor, Action::Edit(EditAction::Indent), "insert indentation at the cursor (a tab or 2 spaces, as the file does)", None),
    row(&[k(BackTab)], Editor, Action::Edit(EditAction::Dedent), "remove one level of the line's indentation", None),
    row(&[ctrl_k(Home)], Editor, Action::Edit(EditAction::FileStart), "start / end of the file", None),
    row(&[ctrl_k(End)], Editor, Action::Edit(EditAction::FileEnd), "start / end of the file", None),
    row(&[ctrl('z')], Editor, Action::Edit(EditAction::Undo), "undo / redo", None),
    row(&[ctrl('y')], Editor, Action::Edit(EditAction::Redo), "undo / redo", None),
    row(&[ctrl('k')], Editor, Action::Edit(EditAction::DeleteLine), "delete / duplicate the line", None),
    row(&[ctrl('d')], Editor, Action::Edit(EditAction::DuplicateLine), "delete / duplicate the line", None),
    row(&[k(Enter)], Editor, Action::Edit(EditAction::Newline), "", None),
    row(&[k(Backspace)], Editor, Action::Edit(EditAction::Backspace), "", None),
    row(&[k(Delete)], Editor, Action::Edit(EditAction::Delete), "", None),
    row(&[k(Left)], Editor, Action::Edit(EditAction::Left), "", None),
    row(&[k(Right)], Editor, Action::Edit(EditAction::Right), "", None),
    row(&[k(Up)], Editor, Action::Edit(EditAction::Up), "", None),
    row(&[k(Down)], Editor, Action::Edit(EditAction::Down), "", None),
    row(&[k(Home)], Editor, Action::Edit(EditAction::Home), "", None),
    row(&[k(End)], Editor, Action::Edit(EditAction::End), "", None),
    row(&[k(PageUp)], Editor, Action::Edit(EditAction::PageUp), "", None),
    row(&[k(PageDown)], Editor, Action::Edit(EditAction::PageDown), "", None),
    row(&[Key::Text], Editor, Action::Edit(EditAction::Insert(' ')), "", None),
    // The rest.
    row(&[ctrl('l')], Anywhere, Action::Redraw, "redraw the screen", None),
    row(&[f(1)], Anywhere, Action::ToggleHelp, "this help", Some("help")),
    row(&[c('?')], Panes, Action::ToggleHelp, "this help", None),
    row(&[c('q')], Panes, Action::Quit, "quit (asks first when edits are unsaved)", Some("quit")),
    row(&[ctrl('q'), ctrl('c')], Anywhere, Action::Quit, "quit (asks first when edits are unsaved)", Some("quit")),
];

/// The contexts active in `state`, most specific first.
pub fn contexts(state: &State) -> &'static [Context] {
    if state.entry.is_some() {
        &[Entry]
    } else if state.prompt.is_some() {
        &[Prompt]
    } else if state.help {
        &[Help]
    } else if state.ladder.open {
        &[Ladder]
    } else if state.filter.is_some() && state.focus == Pane::Files {
        &[Filter, Anywhere]
    } else if state.focus == Pane::Editor {
        &[Editor, Anywhere]
    } else {
        &[Panes, Anywhere]
    }
}

fn active(state: &State) -> impl Iterator<Item = &'static Binding> {
    let ctx = contexts(state);
    KEYS.iter().filter(move |b| ctx.contains(&b.context))
}

/// Actions by the names `[ui.keys]` uses.
pub const ACTION_NAMES: &[(&str, Action)] = &[
    ("run", Action::RunOnce),
    ("load", Action::ToggleLoad),
    ("add", Action::AddIsolates(1)),
    ("remove", Action::RemoveIsolates(1)),
    ("isolates", Action::Ask(Setting::Isolates)),
    ("payload", Action::Ask(Setting::Payload)),
    ("timeout", Action::Ask(Setting::Timeout)),
    ("heap", Action::Ask(Setting::Heap)),
    ("filter", Action::Filter),
    ("threads", Action::SwitchThreads),
    ("mode", Action::CycleMode),
    ("next-failing", Action::NextFailing),
    ("ladder", Action::ToggleLadder),
    ("help", Action::ToggleHelp),
    ("save", Action::Save),
    ("reload", Action::ReloadFromDisk),
    ("redraw", Action::Redraw),
    ("quit", Action::Quit),
];

/// One `[ui.keys]` binding from the config file.
#[derive(Clone, Debug)]
pub struct Override {
    /// As written in the config (`"ctrl-r"`).
    pub written: String,
    pub key: Key,
    /// Plain characters are text in the editor, so they bind outside it
    /// only; F-keys and Ctrl/Alt keys bind anywhere.
    pub context: Context,
    pub name: String,
    pub action: Action,
}

/// User bindings from the config file, checked before the table.
#[derive(Clone, Debug, Default)]
pub struct Overrides(pub Vec<Override>);

impl Overrides {
    /// The user's binding that takes `key` from a table row active in
    /// `ctx` (overrides are matched first wherever they are active: one
    /// for anywhere takes the key in every context but prompts and help,
    /// one outside the editor takes it there only).
    pub fn taking(&self, key: Key, ctx: Context) -> Option<&Override> {
        self.0.iter().find(|o| {
            o.key == key
                && match o.context {
                    Anywhere => matches!(ctx, Anywhere | Panes | Editor | Filter),
                    c => c == ctx,
                }
        })
    }

    /// Parses `key = action` pairs such as `"ctrl-r" = "run"`; the error
    /// names the key or action not understood.
    pub fn parse(keys: &BTreeMap<String, String>) -> anyhow::Result<Self> {
        let mut out = Vec::new();
        for (written, name) in keys {
            let (code, mods) = parse_key(written)
                .ok_or_else(|| anyhow::anyhow!("config: unknown key {written:?}"))?;
            let action = ACTION_NAMES
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, a)| a.clone())
                .ok_or_else(|| {
                    let names: Vec<&str> = ACTION_NAMES.iter().map(|(n, _)| *n).collect();
                    anyhow::anyhow!(
                        "config: unknown action {name:?} (one of: {})",
                        names.join(", ")
                    )
                })?;
            let plain_char = matches!(code, KeyCode::Char(_))
                && !mods.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
            // Stored as matching compares it (see `normalize`).
            let (code, mods) = match code {
                KeyCode::Tab if mods.contains(KeyModifiers::SHIFT) => {
                    (KeyCode::BackTab, mods - KeyModifiers::SHIFT)
                }
                KeyCode::Char(_) => (code, mods - KeyModifiers::SHIFT),
                _ => (code, mods),
            };
            out.push(Override {
                written: written.clone(),
                key: Key::Is(code, mods),
                context: if plain_char { Panes } else { Anywhere },
                name: name.clone(),
                action,
            });
        }
        Ok(Overrides(out))
    }
}

fn parse_key(s: &str) -> Option<(KeyCode, KeyModifiers)> {
    let lower = s.to_ascii_lowercase();
    let (mods, key) = match lower.rsplit_once('-') {
        Some((m, k)) if !k.is_empty() => (m, k.to_string()),
        _ => ("", lower.clone()),
    };
    let mut modifiers = KeyModifiers::NONE;
    for m in mods.split('-').filter(|m| !m.is_empty()) {
        modifiers |= match m {
            "ctrl" | "c" => KeyModifiers::CONTROL,
            "alt" | "a" => KeyModifiers::ALT,
            "shift" | "s" => KeyModifiers::SHIFT,
            _ => return None,
        };
    }
    let code = match key.as_str() {
        k if k.starts_with('f') && k.len() > 1 => KeyCode::F(k[1..].parse().ok()?),
        "space" => KeyCode::Char(' '),
        "enter" => KeyCode::Enter,
        "tab" => KeyCode::Tab,
        "esc" => KeyCode::Esc,
        k if k.chars().count() == 1 => KeyCode::Char(k.chars().next()?),
        _ => return None,
    };
    Some((code, modifiers))
}

/// The action for a key press in `state`, or None when the key does
/// nothing there. While a prompt or help is open, a key that does nothing
/// there is [`Action::NotHere`], so it is answered rather than swallowed.
pub fn map(key: KeyEvent, state: &State, overrides: &Overrides) -> Option<Action> {
    let ctx = contexts(state);
    overrides
        .0
        .iter()
        .filter(|o| ctx.contains(&o.context))
        .find_map(|o| o.key.matches(&key, &o.action))
        .or_else(|| {
            active(state).find_map(|b| b.keys.iter().find_map(|k| k.matches(&key, &b.action)))
        })
        .or_else(|| match ctx.first() {
            Some(Prompt | Entry | Help | Ladder) if !matches!(key.code, KeyCode::Modifier(_)) => {
                let (code, mods) = normalize(&key);
                Some(Action::NotHere(Key::Is(code, mods).label()))
            }
            _ => None,
        })
}

/// The label of the key that does `action` in `state` (the user's
/// binding first, then the table's first key not taken by one), or None
/// when no key does it there. Messages name keys through this, so they
/// are true where they are shown.
pub fn key_for(state: &State, action: &Action) -> Option<String> {
    let ctx = contexts(state);
    if let Some(o) = state
        .overrides
        .0
        .iter()
        .find(|o| ctx.contains(&o.context) && o.action == *action)
    {
        return Some(o.key.label());
    }
    active(state)
        .filter(|b| b.action == *action)
        .flat_map(|b| b.keys.iter().map(move |k| (b.context, *k)))
        .find(|(c, k)| state.overrides.taking(*k, *c).is_none())
        .map(|(_, k)| k.label())
}

/// `"KEY what"` (`"F5 runs it"`) for the key that does `action` in
/// `state`, or None when none does there.
pub fn key_says(state: &State, action: &Action, what: &str) -> Option<String> {
    key_for(state, action).map(|k| format!("{k} {what}"))
}

/// What the status line says when `key` does nothing while a prompt or
/// help is open: that it does nothing there, and why. Short, because the
/// keys that work are the hints beside it (kept first, see
/// [`is_essential`]).
pub fn not_here(state: &State, key: &str) -> String {
    match contexts(state).first() {
        Some(Prompt) => format!("{key} does nothing until you answer"),
        Some(Entry) => format!("{key} does nothing in this prompt"),
        Some(Help) => format!("{key} does nothing in help"),
        Some(Ladder) => format!("{key} does nothing in the ladder"),
        _ => format!("{key} does nothing here"),
    }
}

/// Hint words that answer what is open or say how to quit or get help:
/// the status bar keeps these before anything else.
pub const ESSENTIAL: &[&str] = &[
    "yes",
    "no",
    "applies",
    "cancels",
    "closes help",
    "closes ladder",
    "quit",
    "help",
];

/// Whether a status-bar hint piece (`"y yes"`) is one of [`ESSENTIAL`].
pub fn is_essential(piece: &str) -> bool {
    ESSENTIAL
        .iter()
        .any(|w| piece.strip_suffix(w).is_some_and(|k| k.ends_with(' ')))
}

/// Text pasted in one piece (bracketed paste): into the editor as is, or
/// into a value prompt or the files filter; elsewhere nothing.
pub fn paste(text: String, state: &State) -> Option<Action> {
    match contexts(state).first() {
        Some(Editor | Entry | Filter) => Some(Action::Edit(EditAction::Paste(text))),
        _ => None,
    }
}

/// One status-bar hint: the key to press and what it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    /// The key as shown (`F5`, `Ctrl-Q`, `q`).
    pub keys: String,
    pub label: &'static str,
    /// The key and the action it gives, from the table row.
    pub key: Key,
    pub action: Action,
}

/// The order hint words are shown in, most needed first (a narrow status
/// bar keeps the first ones). Only the words: keys come from [`KEYS`].
const HINT_ORDER: &[&str] = &[
    "yes",
    "no",
    "applies",
    "cancels",
    "clears filter",
    "closes help",
    "closes ladder",
    "measures again",
    "scroll",
    "leave editor",
    "run",
    "load",
    "pane",
    "save",
    "quit",
    "help",
    "open",
    "edit",
    "N",
    "+isolate",
    "−isolate",
    "threads",
    "mode",
    "next failing",
    "ladder",
    "filter",
    "payload",
    "timeout",
    "heap",
];

/// Whether `action` has something to act on in `state`: a file to open,
/// to edit or to save, a script to run, an isolate to remove, a failing
/// isolate to jump to, files to filter. Hints show only such actions; the
/// others, pressed anyway, say why they do nothing.
pub fn has_target(action: &Action, s: &State) -> bool {
    match action {
        Action::RunOnce => s.engine.version > 0,
        Action::ToggleLoad => s.engine.loading || s.engine.version > 0,
        Action::RemoveIsolates(_) => s.engine.isolates > 1,
        Action::Open => s.focus == Pane::Files && !s.shown_files().is_empty(),
        Action::Focus(Pane::Editor) | Action::Save | Action::ReloadFromDisk => s.open.is_some(),
        Action::NextFailing => (0..s.results.len()).any(|i| s.is_failing(i)),
        Action::ToggleLadder => s.ladder.open || s.engine.version > 0,
        Action::Filter => !s.files.is_empty(),
        _ => true,
    }
}

/// The hints true in `state`: for each hint word, the keys of the first
/// active row that has it, ordered by [`HINT_ORDER`]; actions with
/// nothing to act on (see [`has_target`]) are left out.
pub fn hints(state: &State) -> Vec<Hint> {
    let mut out: Vec<Hint> = Vec::new();
    for b in active(state) {
        let Some(label) = b.hint else { continue };
        if !has_target(&b.action, state) {
            continue;
        }
        if out.iter().any(|h| h.label == label) {
            continue;
        }
        // A key the user bound to something else is not this row's.
        let Some(&key) = b
            .keys
            .iter()
            .find(|k| state.overrides.taking(**k, b.context).is_none())
        else {
            continue;
        };
        out.push(Hint {
            keys: key.label(),
            label,
            key,
            action: b.action.clone(),
        });
    }
    let rank = |l: &str| {
        HINT_ORDER
            .iter()
            .position(|w| *w == l)
            .unwrap_or(usize::MAX)
    };
    out.sort_by_key(|h| rank(h.label));
    out
}

/// The hints as one line: `F5 run  F6 load  …`.
pub fn hints_line(state: &State) -> String {
    hints(state)
        .iter()
        .map(|h| format!("{} {}", h.keys, h.label))
        .collect::<Vec<_>>()
        .join("  ")
}

/// The tiny screen's hint: how to quit (or answer what is open), run and
/// load, as true in `state`.
pub fn tiny_hint(state: &State) -> String {
    const WANTED: &[&str] = &[
        "quit",
        "run",
        "load",
        "yes",
        "no",
        "applies",
        "cancels",
        "closes help",
        "closes ladder",
    ];
    hints(state)
        .iter()
        .filter(|h| WANTED.contains(&h.label))
        .map(|h| format!("{} {}", h.keys, h.label))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The labels of the table's keys for `action` in rows of `ctx`, in
/// table order.
pub fn labels(ctx: Context, action: &Action) -> Vec<String> {
    KEYS.iter()
        .filter(|b| b.context == ctx && b.action == *action)
        .flat_map(|b| b.keys.iter().map(|k| k.label()))
        .collect()
}

/// One line of help: keys by context, and what they do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpLine {
    /// (context, key labels) in table order; empty when the user's
    /// bindings took every key.
    pub keys: Vec<(Context, String)>,
    pub help: &'static str,
    /// Keys of these rows the user's `[ui.keys]` bound to something else:
    /// (key label, the action's name there).
    pub taken: Vec<(String, String)>,
}

/// The help overlay's lines with `overrides` in force (the README's with
/// none): rows with the same help text merged, in table order, without
/// the keys the overrides took (those are listed in `taken`); prompt and
/// help rows left out (they explain themselves on screen).
pub fn help_lines(overrides: &Overrides) -> Vec<HelpLine> {
    let mut out: Vec<HelpLine> = Vec::new();
    for b in KEYS.iter() {
        if b.help.is_empty() || matches!(b.context, Prompt | Entry | Help | Filter | Ladder) {
            continue;
        }
        let mut labels: Vec<String> = Vec::new();
        let mut taken = Vec::new();
        for k in b.keys {
            match overrides.taking(*k, b.context) {
                Some(o) => taken.push((k.label(), o.name.clone())),
                None => labels.push(k.label()),
            }
        }
        let line = match out.iter().position(|l| l.help == b.help) {
            Some(i) => &mut out[i],
            None => {
                out.push(HelpLine {
                    keys: Vec::new(),
                    help: b.help,
                    taken: Vec::new(),
                });
                out.last_mut().expect("just pushed")
            }
        };
        for t in taken {
            if !line.taken.contains(&t) {
                line.taken.push(t);
            }
        }
        if labels.is_empty() {
            continue;
        }
        let keys = labels.join(" ");
        match line.keys.iter_mut().find(|(c, _)| *c == b.context) {
            Some((_, k)) => {
                k.push(' ');
                k.push_str(&keys);
            }
            None => line.keys.push((b.context, keys)),
        }
    }
    out
}

/// The README's key table, in Markdown, generated from [`KEYS`].
pub fn markdown_table() -> String {
    let mut s = String::from("| keys | where | what |\n| --- | --- | --- |\n");
    for l in help_lines(&Overrides::default()) {
        for (i, (ctx, keys)) in l.keys.iter().enumerate() {
            let keys = keys
                .split(' ')
                .map(|k| format!("`{}`", k.replace('|', "\\|")))
                .collect::<Vec<_>>()
                .join(" ");
            let what = if i == 0 { l.help } else { "″" };
            s.push_str(&format!("| {keys} | {} | {what} |\n", ctx.describe()));
        }
    }
    s
}
