//! Keys to actions. Global commands use F-keys and Ctrl so that typing in
//! the editor never triggers them; single letters work outside the editor.

use std::collections::HashMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::{Action, EditAction, Pane};
use super::state::State;

/// (keys, what they do): the help overlay lists exactly this.
pub const HELP: &[(&str, &str)] = &[
    ("F5  Ctrl-R  r", "run once on every isolate"),
    ("F6  Ctrl-L  space", "start / stop continuous load"),
    ("F8  +  ]", "add 1 / 10 isolates"),
    ("F7  -  [", "remove 1 / 10 isolates"),
    (
        "F4  Ctrl-N  n",
        "type a number of isolates (1–10000), Enter applies",
    ),
    ("F3  t", "threads: a pool ↔ one thread per isolate, live"),
    ("F2  Ctrl-T  m", "cycle mode: warm → context → cold"),
    (
        "Tab  Shift-Tab",
        "next / previous pane (Tab indents in the editor)",
    ),
    (
        "↑ ↓  j k  PgUp PgDn",
        "select file / isolate; move in the editor",
    ),
    ("Home End  g G", "first / last file or isolate"),
    ("Enter  e", "open the selected file in the editor"),
    ("Esc", "leave the editor; close prompts and help"),
    ("Ctrl-S", "save (re-runs the new version on every isolate)"),
    (
        "Ctrl-O",
        "reload the file from disk, dropping unsaved edits",
    ),
    ("Ctrl-Z  Ctrl-Y", "undo / redo"),
    ("Ctrl-K  Ctrl-D", "delete / duplicate the line"),
    ("F1  ?", "this help"),
    (
        "q  Ctrl-C  Ctrl-Q",
        "quit (asks first when edits are unsaved)",
    ),
];

/// The status bar's reminder of the main keys (all of them are in [`HELP`]).
pub const HINTS: &str = "F5 run  F6 load  F7/F8 −/+ isolate  F4 N  F3 threads  F2 mode  Tab pane  Ctrl-S save  ? help  q quit";

/// User bindings from the config file, checked before the defaults.
#[derive(Clone, Debug, Default)]
pub struct Overrides(HashMap<(KeyCode, KeyModifiers), Action>);

impl Overrides {
    /// Parses `key = action` pairs such as `"ctrl-r" = "run"`.
    pub fn parse(keys: &std::collections::BTreeMap<String, String>) -> anyhow::Result<Self> {
        let mut map = HashMap::new();
        for (k, a) in keys {
            let key = parse_key(k).ok_or_else(|| anyhow::anyhow!("config: unknown key {k:?}"))?;
            let action = action_by_name(a).ok_or_else(|| {
                anyhow::anyhow!("config: unknown action {a:?} (one of: run, load, add, remove, isolates, threads, mode, help, save, reload, quit)")
            })?;
            map.insert(key, action);
        }
        Ok(Overrides(map))
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

fn action_by_name(s: &str) -> Option<Action> {
    Some(match s {
        "run" => Action::RunOnce,
        "load" => Action::ToggleLoad,
        "add" => Action::AddIsolates(1),
        "remove" => Action::RemoveIsolates(1),
        "isolates" => Action::AskIsolates,
        "threads" => Action::SwitchThreads,
        "mode" => Action::CycleMode,
        "help" => Action::ToggleHelp,
        "save" => Action::Save,
        "reload" => Action::ReloadFromDisk,
        "quit" => Action::Quit,
        _ => return None,
    })
}

pub fn map(key: KeyEvent, state: &State, overrides: &Overrides) -> Option<Action> {
    use KeyCode::*;
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if state.entry.is_some() {
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::ALT | KeyModifiers::CONTROL);
        return match key.code {
            Enter => Some(Action::Confirm),
            Esc => Some(Action::Cancel),
            Char('c') if ctrl => Some(Action::Cancel),
            Backspace => Some(Action::Edit(EditAction::Backspace)),
            Char(c) if plain => Some(Action::Edit(EditAction::Insert(c))),
            _ => None,
        };
    }
    if state.prompt.is_some() {
        return match key.code {
            Char('y') | Char('Y') => Some(Action::Confirm),
            Char('n') | Char('N') | Esc => Some(Action::Cancel),
            Char('c') if ctrl => Some(Action::Cancel),
            _ => None,
        };
    }
    if state.help {
        return match key.code {
            Char('?') | F(1) | Esc | Char('q') => Some(Action::ToggleHelp),
            Char('c') if ctrl => Some(Action::Quit),
            _ => None,
        };
    }
    let mods = key.modifiers - KeyModifiers::SHIFT;
    if let Some(a) = overrides
        .0
        .get(&(key.code, key.modifiers))
        .or_else(|| overrides.0.get(&(key.code, mods)))
    {
        return Some(a.clone());
    }
    if ctrl {
        return match key.code {
            Char('c') | Char('q') => Some(Action::Quit),
            Char('r') => Some(Action::RunOnce),
            Char('l') => Some(Action::ToggleLoad),
            Char('t') => Some(Action::CycleMode),
            Char('n') => Some(Action::AskIsolates),
            Char('s') => Some(Action::Save),
            Char('o') => Some(Action::ReloadFromDisk),
            Char('z') => Some(Action::Edit(EditAction::Undo)),
            Char('y') => Some(Action::Edit(EditAction::Redo)),
            Char('k') if state.focus == Pane::Editor => Some(Action::Edit(EditAction::DeleteLine)),
            Char('d') if state.focus == Pane::Editor => {
                Some(Action::Edit(EditAction::DuplicateLine))
            }
            _ => None,
        };
    }
    match key.code {
        F(1) => return Some(Action::ToggleHelp),
        F(2) => return Some(Action::CycleMode),
        F(3) => return Some(Action::SwitchThreads),
        F(4) => return Some(Action::AskIsolates),
        F(5) => return Some(Action::RunOnce),
        F(6) => return Some(Action::ToggleLoad),
        F(7) => return Some(Action::RemoveIsolates(1)),
        F(8) => return Some(Action::AddIsolates(1)),
        BackTab => return Some(Action::FocusPrev),
        _ => {}
    }
    if state.focus == Pane::Editor {
        let e = match key.code {
            Esc => return Some(Action::Cancel),
            Tab => EditAction::Indent,
            Char(_)
                if key
                    .modifiers
                    .intersects(KeyModifiers::ALT | KeyModifiers::CONTROL) =>
            {
                return None;
            }
            Char(c) => EditAction::Insert(c),
            Enter => EditAction::Newline,
            Backspace => EditAction::Backspace,
            Delete => EditAction::Delete,
            Left => EditAction::Left,
            Right => EditAction::Right,
            Up => EditAction::Up,
            Down => EditAction::Down,
            Home => EditAction::Home,
            End => EditAction::End,
            PageUp => EditAction::PageUp,
            PageDown => EditAction::PageDown,
            _ => return None,
        };
        return Some(Action::Edit(e));
    }
    Some(match key.code {
        Char('q') => Action::Quit,
        Char('?') => Action::ToggleHelp,
        Char('r') => Action::RunOnce,
        Char(' ') => Action::ToggleLoad,
        Char('m') => Action::CycleMode,
        Char('n') => Action::AskIsolates,
        Char('t') => Action::SwitchThreads,
        Home | Char('g') => Action::Home,
        End | Char('G') => Action::End,
        Char('+') | Char('=') => Action::AddIsolates(1),
        Char('-') => Action::RemoveIsolates(1),
        Char(']') => Action::AddIsolates(10),
        Char('[') => Action::RemoveIsolates(10),
        Tab => Action::FocusNext,
        Up | Char('k') => Action::Up,
        Down | Char('j') => Action::Down,
        PageUp => Action::PageUp,
        PageDown => Action::PageDown,
        Enter | Char('e') => Action::Open,
        Esc => Action::Cancel,
        _ => return None,
    })
}
