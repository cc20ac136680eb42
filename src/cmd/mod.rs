//! The commands: their arguments (argh) here, one file each for what they do.

mod cleanup;
mod flush;
mod hook;
mod show;

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
