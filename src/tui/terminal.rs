//! The terminal's state while the playground runs, and getting it back.
//!
//! [`Session::start`] puts the terminal in raw mode on the alternate screen
//! with bracketed paste and mouse clicks and wheel reported; dropping the
//! session restores it, on every way out
//! of the loop (quit, a signal, an error, a panic unwinding the UI thread).
//! A panic elsewhere is routed by a process-wide hook: one the engine
//! catches inside an isolate's slice is that isolate's failure and leaves
//! the screen alone; any other is sent to the UI loop as a [`Fatal`], which
//! then stops drawing, restores the terminal and exits with the message
//! (a hook that restored the terminal itself would let the loop keep
//! drawing over the shell).
//!
//! Job control: [`Session::suspend`] gives the terminal back and stops the
//! process (a shell's Ctrl-Z, `kill -TSTP`); [`Session::resume`] takes it
//! again after `fg` (or any SIGCONT), since the shell may have put the tty
//! back to cooked mode meanwhile.

use std::io::{Stdout, Write, stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};
use std::thread::ThreadId;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::Show;
use ratatui::crossterm::event::{DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste};
use ratatui::crossterm::execute;
use ratatui::crossterm::style::Print;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

/// A thread other than the UI's panicked: "thread 'NAME' panicked at
/// FILE:LINE: MESSAGE".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fatal(pub String);

/// Mouse reporting for presses, releases and the wheel (xterm's mode
/// 1000) in SGR encoding (1006), and not motion: crossterm's
/// `EnableMouseCapture` also turns on every-motion reports (1003), a flood
/// of events (over SSH too) the playground has no use for. The restore
/// turns off every mode `EnableMouseCapture` would have.
const MOUSE_CLICKS_AND_WHEEL: &str = "\x1b[?1000h\x1b[?1006h";

/// Whether the playground owns the terminal (the hook only acts then).
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The UI thread, and where other threads' panics go.
static ROUTE: Mutex<Option<(ThreadId, flume::Sender<Fatal>)>> = Mutex::new(None);

/// The terminal set up for the playground; restores it when dropped.
pub struct Session {
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Session {
    /// Raw mode, alternate screen, bracketed paste, mouse clicks and wheel,
    /// and the panic hook.
    /// Panics on other threads arrive on the returned channel.
    pub fn start() -> anyhow::Result<(Session, flume::Receiver<Fatal>)> {
        install_panic_hook();
        let (tx, rx) = flume::unbounded();
        *ROUTE.lock().unwrap_or_else(|p| p.into_inner()) = Some((std::thread::current().id(), tx));
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        // From here on, a failure still restores (the session is dropped).
        let session = Session {
            terminal: Terminal::new(CrosstermBackend::new(stdout()))?,
        };
        enter_modes()?;
        Ok((session, rx))
    }

    /// Gives the terminal back (as on exit) and stops the process with
    /// SIGSTOP, the default action of the SIGTSTP the loop caught; returns
    /// once the process is continued (`fg`), with the terminal still the
    /// shell's: call [`Session::resume`] next.
    pub fn suspend(&mut self) {
        restore();
        // SAFETY: raise only sends a signal to this process.
        unsafe {
            libc::raise(libc::SIGSTOP);
        }
    }

    /// Takes the terminal again after a stop: raw mode (set afresh: the
    /// shell may have restored cooked mode while the process was stopped,
    /// which crossterm cannot know), the alternate screen, bracketed paste
    /// and the mouse. The caller redraws every cell.
    pub fn resume(&mut self) -> anyhow::Result<()> {
        let _ = disable_raw_mode();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        enter_modes()
    }
}

/// The alternate screen, bracketed paste and mouse clicks and wheel.
fn enter_modes() -> anyhow::Result<()> {
    execute!(
        stdout(),
        EnterAlternateScreen,
        EnableBracketedPaste,
        Print(MOUSE_CLICKS_AND_WHEEL)
    )?;
    Ok(())
}

impl Drop for Session {
    fn drop(&mut self) {
        restore();
        *ROUTE.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// Leaves raw mode and the alternate screen and shows the cursor, once
/// (later calls do nothing). Errors are ignored: this runs on the way out.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = stdout();
        let _ = execute!(
            out,
            DisableMouseCapture,
            DisableBracketedPaste,
            LeaveAlternateScreen,
            Show
        );
        let _ = disable_raw_mode();
        let _ = out.flush();
    }
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !ACTIVE.load(Ordering::SeqCst) {
                return previous(info);
            }
            if crate::engine::scheduler::in_isolate_step() {
                // The engine catches it, logs it and reports it as that
                // isolate's failure; printing it would draw over the screen.
                return;
            }
            let thread = std::thread::current();
            let what = format!(
                "thread '{}' panicked at {}: {}",
                thread.name().unwrap_or("unnamed"),
                info.location()
                    .map_or("an unknown place".into(), |l| l.to_string()),
                payload_text(info.payload()),
            );
            tracing::error!(panic = %what, "panic");
            let route = ROUTE.lock().unwrap_or_else(|p| p.into_inner()).clone();
            match route {
                Some((ui, tx)) if ui != thread.id() => {
                    let _ = tx.send(Fatal(what));
                }
                _ => {
                    restore();
                    previous(info);
                }
            }
        }));
    });
}

fn payload_text(p: &(dyn std::any::Any + Send)) -> &str {
    p.downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}
