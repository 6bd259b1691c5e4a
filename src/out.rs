//! Standard output for the headless commands (`run`, `bench`, `compare`,
//! `--print-config`). `println!` panics when the reader has gone
//! (`isolate-play run … | head`); these end the process quietly instead,
//! with the status a shell gives a process killed by SIGPIPE (141). The
//! process does not take SIGPIPE itself: it writes to its children's
//! pipes (the snapshot builder's request), where a closed pipe is an
//! error to report, not a reason to die.

use std::fmt;
use std::io::{ErrorKind, Write};

/// Writes `args` to standard output; a closed reader ends the process.
pub fn write(args: fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    match out.write_fmt(args).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::BrokenPipe => std::process::exit(141),
        // Nowhere left to say it: stderr may be gone too.
        Err(_) => std::process::exit(1),
    }
}

/// `print!` that survives a reader that has gone (see the module doc).
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => { $crate::out::write(format_args!($($t)*)) };
}

/// `println!` that survives a reader that has gone (see the module doc).
#[macro_export]
macro_rules! outln {
    () => { $crate::out::write(format_args!("\n")) };
    ($($t:tt)*) => { $crate::out::write(format_args!("{}\n", format_args!($($t)*))) };
}
