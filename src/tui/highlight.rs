//! syntect highlighting on its own thread: the UI sends (revision, text)
//! and gets styled lines back, so a large file never stalls a frame.

use flume::{Receiver, Sender, unbounded};
use ratatui::style::{Color, Style};
use syntect::easy::HighlightLines;
use syntect::highlighting::ThemeSet;
use syntect::parsing::SyntaxSet;

use super::state::Highlighted;

pub struct Highlighter {
    tx: Sender<(u64, String)>,
    pub rx: Receiver<(u64, Highlighted)>,
}

impl Highlighter {
    pub fn spawn() -> Highlighter {
        let (tx, job_rx) = unbounded::<(u64, String)>();
        let (out_tx, rx) = unbounded();
        std::thread::Builder::new()
            .name("highlight".into())
            .spawn(move || {
                let syntaxes = SyntaxSet::load_defaults_newlines();
                let themes = ThemeSet::load_defaults();
                let theme = &themes.themes["base16-ocean.dark"];
                let js = syntaxes
                    .find_syntax_by_extension("js")
                    .unwrap_or_else(|| syntaxes.find_syntax_plain_text());
                while let Ok(mut job) = job_rx.recv() {
                    // Only the newest request matters.
                    while let Ok(newer) = job_rx.try_recv() {
                        job = newer;
                    }
                    let (rev, text) = job;
                    let mut h = HighlightLines::new(js, theme);
                    let mut out = Vec::new();
                    for line in text.split('\n') {
                        let with_nl = format!("{line}\n");
                        let pieces = match h.highlight_line(&with_nl, &syntaxes) {
                            Ok(p) => p
                                .into_iter()
                                .map(|(st, s)| {
                                    let c = st.foreground;
                                    (
                                        Style::default().fg(Color::Rgb(c.r, c.g, c.b)),
                                        s.trim_end_matches('\n').to_string(),
                                    )
                                })
                                .collect(),
                            Err(_) => vec![(Style::default(), line.to_string())],
                        };
                        out.push(pieces);
                    }
                    if out_tx.send((rev, out)).is_err() {
                        return;
                    }
                }
            })
            .expect("spawn the highlight thread");
        Highlighter { tx, rx }
    }

    pub fn request(&self, revision: u64, text: String) {
        let _ = self.tx.send((revision, text));
    }
}
