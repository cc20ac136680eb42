//! The commands: their arguments (argh) here, one file each for what they do.

mod cleanup;
mod export;
mod flush;
mod hook;
mod hooks;
mod show;

use std::path::PathBuf;

use argh::FromArgs;

/// What every command implements: run it, giving the exit code, or an error for stderr (exit 1).
pub trait Run {
    fn run(&self) -> Result<u8, String>;
}

#[derive(FromArgs)]
/// Claude Code hooks that give every recorded event the right session id.
pub struct Cli {
    #[argh(subcommand)]
    pub cmd: Command,
}

#[derive(FromArgs)]
#[argh(subcommand)]
pub enum Command {
    SessionStart(SessionStart),
    PreTool(PreTool),
    PostTool(PostTool),
    Show(Show),
    Cleanup(Cleanup),
    Flush(Flush),
    Export(Export),
    Hooks(Hooks),
}

impl Run for Command {
    fn run(&self) -> Result<u8, String> {
        match self {
            Command::SessionStart(c) => c.run(),
            Command::PreTool(c) => c.run(),
            Command::PostTool(c) => c.run(),
            Command::Show(c) => c.run(),
            Command::Cleanup(c) => c.run(),
            Command::Flush(c) => c.run(),
            Command::Export(c) => c.run(),
            Command::Hooks(c) => c.run(),
        }
    }
}

#[derive(FromArgs)]
#[argh(subcommand, name = "session-start")]
/// Hook for session events (SessionStart, UserPromptSubmit, Stop, SessionEnd, ...): stores the
/// session id for the project. Reads the payload on stdin; prints nothing; always exits 0.
pub struct SessionStart {}

#[derive(FromArgs)]
#[argh(subcommand, name = "pre-tool")]
/// Hook for PreToolUse: resolves the session id and records the event. Reads the payload on
/// stdin; prints nothing; always exits 0.
pub struct PreTool {}

#[derive(FromArgs)]
#[argh(subcommand, name = "post-tool")]
/// Hook for PostToolUse and PostToolUseFailure: resolves the session id and records the event
/// with its response. Reads the payload on stdin; prints nothing; always exits 0.
pub struct PostTool {}

#[derive(FromArgs)]
#[argh(subcommand, name = "show")]
/// Print the current project's session id (exit 1 and `unknown` when there is none), every
/// stored session (--all), a session's timeline from the journal (--timeline), or the sessions
/// in the journal (--sessions).
pub struct Show {
    /// list every stored session: project, directory, id, age, state, file
    #[argh(switch)]
    pub all: bool,
    /// print the events of SESSION_ID (default: the current project's session) with paired tool
    /// calls, their durations and outcomes, and a summary
    #[argh(switch)]
    pub timeline: bool,
    /// list the sessions in the journal: id, project, first and last event, tool calls
    #[argh(switch)]
    pub sessions: bool,
    /// how many days of journal to read (default: 7 for --sessions, all for --timeline)
    #[argh(option)]
    pub days: Option<u64>,
    /// print JSON instead of text
    #[argh(switch)]
    pub json: bool,
    /// the session for --timeline
    #[argh(positional)]
    pub session_id: Option<String>,
}

#[derive(FromArgs)]
#[argh(subcommand, name = "cleanup")]
/// Remove stale and corrupt session files, crashed writers' temp files, and journal files older
/// than CLAUDE_SESSION_LOG_DAYS; deliver the outbox. Prints nothing when there was nothing to do
/// (for cron).
pub struct Cleanup {
    /// list what would be removed, remove nothing
    #[argh(switch)]
    pub dry_run: bool,
}

#[derive(FromArgs)]
#[argh(subcommand, name = "flush")]
/// Deliver the events waiting in the outbox to the observability server now, oldest first, and
/// report what was done. Exit 1 when events are still pending.
pub struct Flush {}

#[derive(FromArgs)]
#[argh(subcommand, name = "export")]
/// Send the journal's events from a day on to the configured sinks (an OpenTelemetry collector,
/// the observability server), each once, oldest first. Exit 1 if a sink failed.
pub struct Export {
    /// the first day (2026-11-15, UTC), a time (RFC 3339), or an age (7d, 12h)
    #[argh(option)]
    pub since: String,
    /// only this sink: dashboard, otlp-logs or otlp-traces
    #[argh(option)]
    pub sink: Option<String>,
}

#[derive(FromArgs)]
#[argh(subcommand, name = "hooks")]
/// Wire claude-session into Claude Code's settings, take it out again, or check the wiring.
pub struct Hooks {
    #[argh(subcommand)]
    pub action: HooksAction,
}

#[derive(FromArgs)]
#[argh(subcommand)]
pub enum HooksAction {
    Install(HooksInstall),
    Uninstall(HooksUninstall),
    Status(HooksStatus),
}

#[derive(FromArgs)]
#[argh(subcommand, name = "install")]
/// Add our hooks to ~/.claude/settings.json (or a project's .claude/settings.json), keeping
/// everything else; a second run changes nothing. The previous file is kept as
/// settings.json.claude-session.bak.
pub struct HooksInstall {
    /// wire this project's .claude/settings.json instead of the user's
    #[argh(option)]
    pub project: Option<PathBuf>,
    /// directory of the applet symlinks (default ~/.claude/hooks/claude-session)
    #[argh(option)]
    pub hook_dir: Option<PathBuf>,
    /// observability server events URL, set as CLAUDE_SESSION_SERVER_URL in the settings' env
    #[argh(option)]
    pub server: Option<String>,
}

#[derive(FromArgs)]
#[argh(subcommand, name = "uninstall")]
/// Remove exactly what `hooks install` added; the file is restored byte for byte when nothing
/// else in it changed.
pub struct HooksUninstall {
    /// unwire this project's .claude/settings.json instead of the user's
    #[argh(option)]
    pub project: Option<PathBuf>,
    /// directory of the applet symlinks (default ~/.claude/hooks/claude-session)
    #[argh(option)]
    pub hook_dir: Option<PathBuf>,
}

#[derive(FromArgs)]
#[argh(subcommand, name = "status")]
/// Which of our hooks are wired in the user's and the project's settings, whether their
/// commands exist, and whether the store, journal and server are usable. Exit 1 if not all is well.
pub struct HooksStatus {
    /// print JSON instead of text
    #[argh(switch)]
    pub json: bool,
}

/// Hook applets share one implementation; they differ in the event name they assume when the
/// payload has none.
impl Run for SessionStart {
    fn run(&self) -> Result<u8, String> {
        Ok(hook::run("SessionStart"))
    }
}

impl Run for PreTool {
    fn run(&self) -> Result<u8, String> {
        Ok(hook::run("PreToolUse"))
    }
}

impl Run for PostTool {
    fn run(&self) -> Result<u8, String> {
        Ok(hook::run("PostToolUse"))
    }
}
