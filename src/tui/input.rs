//! Repairs one mistake of crossterm 0.29's input parser: an Esc key and an
//! escape sequence in one read (`ESC ESC [ A`: Esc then ↑, as a fast typist
//! or an SSH link delivers them) comes out as Esc, `[`, `A`, because after
//! `ESC ESC` the parser restarts at `[`. The `[` would remove 10 isolates.
//!
//! The loop hands over the events that were ready together (one read);
//! after an Esc, characters there that spell a CSI (`[`…) or SS3 (`O`…)
//! sequence become the key it names. A person can't type Esc, `[`, `A`
//! inside one read, so nothing typed is lost.

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// `events` as read together, with Esc-then-sequence repaired.
pub fn repair(events: Vec<Event>) -> Vec<Event> {
    let mut out = Vec::with_capacity(events.len());
    let mut i = 0;
    while i < events.len() {
        let ev = &events[i];
        out.push(ev.clone());
        i += 1;
        if !is_key(ev, KeyCode::Esc) {
            continue;
        }
        let chars: Vec<char> = events[i..]
            .iter()
            .map_while(|e| match e {
                Event::Key(k)
                    if k.kind != KeyEventKind::Release
                        && (k.modifiers - KeyModifiers::SHIFT).is_empty() =>
                {
                    match k.code {
                        KeyCode::Char(c) => Some(c),
                        _ => None,
                    }
                }
                _ => None,
            })
            .collect();
        if let Some((key, used)) = decode(&chars) {
            out.push(Event::Key(key));
            i += used;
        }
    }
    out
}

fn is_key(ev: &Event, code: KeyCode) -> bool {
    matches!(ev, Event::Key(k) if k.code == code && k.kind != KeyEventKind::Release)
}

/// The key a CSI or SS3 sequence (without its ESC) names, and how many
/// characters it took; None when `chars` doesn't start with one.
fn decode(chars: &[char]) -> Option<(KeyEvent, usize)> {
    match chars.first()? {
        'O' => {
            let code = final_code(*chars.get(1)?)?;
            Some((KeyEvent::new(code, KeyModifiers::NONE), 2))
        }
        '[' => {
            let params_len = chars[1..]
                .iter()
                .take_while(|c| c.is_ascii_digit() || **c == ';')
                .count();
            let fin = *chars.get(1 + params_len)?;
            let params: Vec<u16> = chars[1..1 + params_len]
                .iter()
                .collect::<String>()
                .split(';')
                .map(|p| p.parse().unwrap_or(1))
                .collect();
            let code = if fin == '~' {
                tilde_code(*params.first()?)?
            } else if fin == 'Z' {
                KeyCode::BackTab
            } else {
                final_code(fin)?
            };
            let mods = params.get(1).map_or(KeyModifiers::NONE, |&m| modifiers(m));
            let mods = if code == KeyCode::BackTab {
                mods | KeyModifiers::SHIFT
            } else {
                mods
            };
            Some((KeyEvent::new(code, mods), 2 + params_len))
        }
        _ => None,
    }
}

fn final_code(c: char) -> Option<KeyCode> {
    Some(match c {
        'A' => KeyCode::Up,
        'B' => KeyCode::Down,
        'C' => KeyCode::Right,
        'D' => KeyCode::Left,
        'H' => KeyCode::Home,
        'F' => KeyCode::End,
        'P' => KeyCode::F(1),
        'Q' => KeyCode::F(2),
        'R' => KeyCode::F(3),
        'S' => KeyCode::F(4),
        _ => return None,
    })
}

fn tilde_code(n: u16) -> Option<KeyCode> {
    Some(match n {
        1 | 7 => KeyCode::Home,
        2 => KeyCode::Insert,
        3 => KeyCode::Delete,
        4 | 8 => KeyCode::End,
        5 => KeyCode::PageUp,
        6 => KeyCode::PageDown,
        11..=15 => KeyCode::F((n - 10) as u8),
        17..=21 => KeyCode::F((n - 11) as u8),
        23 | 24 => KeyCode::F((n - 12) as u8),
        _ => return None,
    })
}

/// xterm's modifier parameter: 1 + (shift 1, alt 2, ctrl 4).
fn modifiers(m: u16) -> KeyModifiers {
    let bits = m.saturating_sub(1);
    let mut k = KeyModifiers::NONE;
    if bits & 1 != 0 {
        k |= KeyModifiers::SHIFT;
    }
    if bits & 2 != 0 {
        k |= KeyModifiers::ALT;
    }
    if bits & 4 != 0 {
        k |= KeyModifiers::CONTROL;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }
    fn chars(s: &str) -> Vec<Event> {
        s.chars().map(|c| key(KeyCode::Char(c))).collect()
    }
    fn esc_then(s: &str) -> Vec<Event> {
        let mut v = vec![key(KeyCode::Esc)];
        v.extend(chars(s));
        v
    }

    #[test]
    fn esc_then_a_sequence_is_esc_then_that_key() {
        for (seq, code) in [
            ("[A", KeyCode::Up),
            ("[B", KeyCode::Down),
            ("OA", KeyCode::Up),
            ("[5~", KeyCode::PageUp),
            ("[3~", KeyCode::Delete),
            ("[15~", KeyCode::F(5)),
            ("OP", KeyCode::F(1)),
        ] {
            assert_eq!(
                repair(esc_then(seq)),
                vec![key(KeyCode::Esc), key(code)],
                "{seq}"
            );
        }
        assert_eq!(
            repair(esc_then("[1;5C")),
            vec![
                key(KeyCode::Esc),
                Event::Key(KeyEvent::new(KeyCode::Right, KeyModifiers::CONTROL))
            ]
        );
        assert_eq!(
            repair(esc_then("[Z")),
            vec![
                key(KeyCode::Esc),
                Event::Key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT))
            ]
        );
    }

    #[test]
    fn anything_else_is_left_alone() {
        // Text after an Esc that is no sequence, a lone Esc, `[` typed alone.
        for evs in [
            esc_then("[x"),
            esc_then("ab"),
            esc_then(""),
            chars("[A"),
            esc_then("["),
        ] {
            assert_eq!(repair(evs.clone()), evs);
        }
        // Two repairs in one batch, text after.
        let mut evs = esc_then("[A");
        evs.extend(esc_then("[Bq"));
        assert_eq!(
            repair(evs),
            vec![
                key(KeyCode::Esc),
                key(KeyCode::Up),
                key(KeyCode::Esc),
                key(KeyCode::Down),
                key(KeyCode::Char('q'))
            ]
        );
    }
}
