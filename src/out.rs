//! What the program prints. A closed stdout (`show --all | head -1`) is a normal end: exit 0 in
//! silence, never a panic. Errors go to stderr as one `claude-session: ` line.

use std::io::{self, Write};

/// Writes `text` to stdout as it is.
pub fn print(text: &str) {
    let result = io::stdout().lock().write_all(text.as_bytes());
    ended(result);
}

/// Pretty JSON and a newline.
pub fn json(value: &serde_json::Value) {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    print(&text);
}

/// A report (the house pattern): typed rows, then text for people or JSON for programs.
pub trait Report {
    /// Text for a terminal, every recorded string made safe (`text::safe`).
    fn render(&self) -> String;
    /// Exact values, for programs.
    fn to_json(&self) -> serde_json::Value;
}

/// Prints a report as text, or as JSON with `--json`.
pub fn report(report: &impl Report, json_wanted: bool) {
    if json_wanted { json(&report.to_json()) } else { print(&report.render()) }
}

/// Flushes stdout: without std's runtime nobody else does at exit.
pub fn flush() {
    ended(io::stdout().lock().flush());
}

/// `claude-session: <message>` on stderr, masked: an error may quote a value we were given.
pub fn error(message: &str) {
    let _ = writeln!(io::stderr().lock(), "claude-session: {}", crate::secrets::masked(message));
}

fn ended(result: io::Result<()>) {
    match result {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            error(&format!("stdout: {e}"));
            std::process::exit(1);
        }
    }
}

/// `println!` that ends quietly on a closed pipe.
#[macro_export]
macro_rules! outln {
    () => { $crate::out::print("\n") };
    ($($arg:tt)*) => { $crate::out::print(&format!("{}\n", format_args!($($arg)*))) };
}

static APPLET: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
static DEBUG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Names the applet in debug lines.
pub fn set_applet(name: &'static str) {
    let _ = APPLET.set(name);
}

/// Turns debug lines on or off. `cmd` sets it from `config::debug` before anything else,
/// so that `out` depends on nothing and `config` can say in a debug line what it refused.
pub fn set_debug(on: bool) {
    DEBUG.store(on, std::sync::atomic::Ordering::Relaxed);
}

pub fn debug_enabled() -> bool {
    DEBUG.load(std::sync::atomic::Ordering::Relaxed)
}

/// One line on stderr under `CLAUDE_SESSION_DEBUG=1` / `HOOK_DEBUG=true`; nothing otherwise.
/// Masked, as every line of ours that may quote a setting, a URL or an answer.
pub fn debug(args: std::fmt::Arguments) {
    if debug_enabled() {
        let applet = APPLET.get().copied().unwrap_or("claude-session");
        let line = crate::secrets::masked(&args.to_string());
        let _ = writeln!(io::stderr().lock(), "claude-session: {applet}: {line}");
    }
}
