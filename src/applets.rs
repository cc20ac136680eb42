//! The one table of applets: each name, what it is for, whether a symlink may carry it, and for a
//! hook the events it records. Dispatch, `--help`, the settings wiring, `hooks status`, the applet
//! symlinks and install.sh (through the binary) all derive from it.

use std::ffi::OsStr;
use std::path::Path;

/// Which command runs an applet; `cmd` matches on it exhaustively, so no applet lacks one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Id {
    SessionStart,
    PreTool,
    PostTool,
    Show,
    Cleanup,
    Flush,
    Export,
    Hooks,
}

pub struct Applet {
    pub id: Id,
    pub name: &'static str,
    /// One line for the command list in `--help`.
    pub about: &'static str,
    /// Also reached as argv[0], through a symlink named for it (made by `hooks install`).
    pub linked: bool,
    /// For a hook: the events it is wired to, the first being the one assumed when the payload
    /// names none.
    pub events: &'static [&'static str],
}

pub const APPLETS: &[Applet] = &[
    Applet {
        id: Id::SessionStart,
        name: "session-start",
        about: "hook: store the session id for the project and journal the event",
        linked: true,
        // What a person watches: a session's life, its prompts, its subagents, compaction, Claude
        // Code waiting for them, a turn that stopped on an error. Left out: PostToolBatch (repeats
        // every call), MessageDisplay (the reply again, in pieces), CwdChanged and FileChanged
        // (bookkeeping); and never WorktreeCreate, whose hook replaces Claude Code's own.
        events: &[
            "SessionStart",
            "UserPromptSubmit",
            "Stop",
            "StopFailure",
            "SubagentStart",
            "SubagentStop",
            "SessionEnd",
            "PreCompact",
            "PostCompact",
            "Notification",
        ],
    },
    Applet {
        id: Id::PreTool,
        name: "pre-tool",
        about: "hook: resolve the session id and journal a tool call, or a permission asked or denied",
        linked: true,
        events: &["PreToolUse", "PermissionRequest", "PermissionDenied"],
    },
    Applet {
        id: Id::PostTool,
        name: "post-tool",
        about: "hook: the same, with the tool's response or error",
        linked: true,
        events: &["PostToolUse", "PostToolUseFailure"],
    },
    Applet {
        id: Id::Show,
        name: "show",
        about: "print the project's session id, every stored session, a timeline, the journal's sessions",
        linked: true,
        events: &[],
    },
    Applet {
        id: Id::Cleanup,
        name: "cleanup",
        about: "remove stale session files and old journal days, deliver the outbox (for cron)",
        linked: true,
        events: &[],
    },
    Applet {
        id: Id::Flush,
        name: "flush",
        about: "deliver the events waiting in the outbox now, and say what happened",
        linked: false,
        events: &[],
    },
    Applet {
        id: Id::Export,
        name: "export",
        about: "send the journal's events since a day to the configured sinks, each once",
        linked: false,
        events: &[],
    },
    Applet {
        id: Id::Hooks,
        name: "hooks",
        about: "wire claude-session into Claude Code's settings, take it out, or check the wiring",
        linked: false,
        events: &[],
    },
];

/// The prefix a symlink may carry: `claude-session-pre-tool` is `pre-tool`.
pub const PREFIX: &str = "claude-session-";

impl Applet {
    pub fn is_hook(&self) -> bool {
        !self.events.is_empty()
    }

    /// The event a hook records when the payload names none.
    pub fn default_event(&self) -> &'static str {
        self.events.first().copied().unwrap_or("unknown")
    }
}

/// The applet called `name`, with or without the prefix.
pub fn find(name: &str) -> Option<&'static Applet> {
    let name = name.strip_prefix(PREFIX).unwrap_or(name);
    APPLETS.iter().find(|a| a.name == name)
}

/// The applet a symlink or file name stands for, if it is one that may be reached that way.
pub fn by_file_name(path: &Path) -> Option<&'static Applet> {
    find(path.file_name().and_then(OsStr::to_str)?).filter(|a| a.linked)
}

/// The hooks, in table order.
pub fn hooks() -> impl Iterator<Item = &'static Applet> {
    APPLETS.iter().filter(|a| a.is_hook())
}

/// Every wired event with the hook applet that records it, in table order.
pub fn wiring() -> impl Iterator<Item = (&'static str, &'static Applet)> {
    hooks().flat_map(|a| a.events.iter().map(move |e| (*e, a)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_events_are_unique() {
        let mut names: Vec<_> = APPLETS.iter().map(|a| a.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), APPLETS.len());
        let mut events: Vec<_> = wiring().map(|(e, _)| e).collect();
        events.sort_unstable();
        events.dedup();
        assert_eq!(events.len(), wiring().count(), "an event is wired to two applets");
    }

    #[test]
    fn file_names_with_or_without_prefix() {
        assert_eq!(by_file_name(Path::new("/x/pre-tool")).map(|a| a.id), Some(Id::PreTool));
        assert_eq!(by_file_name(Path::new("claude-session-show")).map(|a| a.id), Some(Id::Show));
        assert!(by_file_name(Path::new("/x/hooks")).is_none(), "hooks is a subcommand only");
        assert!(by_file_name(Path::new("/x/claude-session")).is_none());
    }
}
