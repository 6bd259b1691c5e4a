//! The release-like binary under tmux on the files people actually have:
//! a tab-indented file, a CRLF file, a line of wide characters, a script
//! with hundreds of console lines and a 10 MB file, driven by keys only.

use std::time::Duration;

use super::tui::{TmuxSession, keys, tmux, wait_screen};

/// Types `text` as one literal write (tmux would read a lone `;` as its
/// own command separator, so it is escaped).
fn type_text(session: &str, text: &str) {
    let text = text.replace(';', "\\;");
    tmux(&["send-keys", "-t", session, "-l", &text]);
    std::thread::sleep(Duration::from_millis(200));
}

#[test]
fn files_people_have_under_tmux() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("tabs.js"),
        "function f() {\n\treturn \"tabbed\";\n}\nf()\n",
    )
    .unwrap();
    std::fs::write(root.join("crlf.js"), "const a = 'crlf';\r\na + ' ok'\r\n").unwrap();
    std::fs::write(
        root.join("wide.js"),
        "const w = '日本語 😀 é';\n'wide ' + w.length\n",
    )
    .unwrap();
    std::fs::write(
        root.join("console.js"),
        "for (let i = 0; i < 300; i++) console.log('line ' + i);\n'done'\n",
    )
    .unwrap();
    let mut big = String::from("// 10 MB of comment lines, then a result\n");
    let line = format!("// {}\n", "x".repeat(76));
    while big.len() < 10 << 20 {
        big.push_str(&line);
    }
    big.push_str("'big ok'\n");
    std::fs::write(root.join("big.js"), &big).unwrap();

    let session = format!("isolate-play-files-{}", std::process::id());
    let cmd = format!(
        "XDG_CONFIG_HOME={root} {bin} {root} -n 2; echo EXITED-$?; sleep 60",
        root = root.display(),
        bin = env!("CARGO_BIN_EXE_isolate-play")
    );
    let _kill = TmuxSession::start(&session, &cmd);

    // The first file, 10 MB, opens and runs; the screen keeps answering.
    wait_screen(&session, "→ big ok");
    keys(&session, &["Down", "Enter"]);
    // 300 console lines: the result stays in view above them, and the
    // console scrolls to its end in the focused Results pane.
    wait_screen(&session, "→ done");
    wait_screen(&session, "console: 300 lines");
    keys(&session, &["BTab", "End"]);
    let s = wait_screen(&session, "of 300");
    assert!(s.contains("line 299") && s.contains("→ done"), "{s}");
    keys(&session, &["Tab"]);

    // A CRLF file opens as saved, and an edit is saved with CRLF kept.
    keys(&session, &["Down", "Enter"]);
    let s = wait_screen(&session, "→ crlf ok");
    assert!(!s.contains("crlf.js*"), "a CRLF file is not unsaved:\n{s}");
    keys(&session, &["e", "End"]);
    type_text(&session, " // edited");
    keys(&session, &["C-s"]);
    wait_screen(&session, "crlf.js v");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let saved = loop {
        let saved = std::fs::read(root.join("crlf.js")).unwrap();
        if saved.ends_with(b"ok'\r\n") && saved.len() > 30 || std::time::Instant::now() > deadline {
            break saved;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        String::from_utf8_lossy(&saved),
        "const a = 'crlf'; // edited\r\na + ' ok'\r\n"
    );
    keys(&session, &["Escape"]);

    // A tab is drawn to the next stop (4) and counted as such.
    keys(&session, &["Down", "Enter"]);
    let s = wait_screen(&session, "→ tabbed");
    assert!(s.contains("2     return \"tabbed\";"), "{s}");
    keys(&session, &["e", "Down", "End"]);
    wait_screen(&session, "Ln 2, Col 21");
    keys(&session, &["Escape"]);

    // Wide characters: after End the cursor is right after the text.
    keys(&session, &["Down", "Enter"]);
    wait_screen(&session, "→ wide 8");
    keys(&session, &["e", "End"]);
    wait_screen(&session, "Ln 1, Col 25");
    keys(&session, &["Escape", "q"]);
    let s = wait_screen(&session, "EXITED-0");
    assert!(!s.contains("Files ("), "the alternate screen is gone:\n{s}");
}
