//! claude-session: one multi-call binary that Claude Code runs as its hooks. This file lists the
//! modules and holds the crate's debug macro; `cmd::main` dispatches.

pub mod applets;
pub mod clock;
pub mod cmd;
pub mod config;
pub mod event;
pub mod hash;
pub mod journal;
pub mod oom;
pub mod out;
pub mod payload;
pub mod private;
pub mod project;
pub mod secrets;
pub mod session;
pub mod settings;
pub mod sink;
pub mod summary;
pub mod text;
pub mod timeline;
pub mod usage;

/// One line on stderr under `CLAUDE_SESSION_DEBUG=1`, nothing otherwise; see [`out::debug`].
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => { $crate::out::debug(format_args!($($arg)*)) };
}
