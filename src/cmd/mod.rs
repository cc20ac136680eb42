//! The commands: dispatch from argv (through the applet table), their arguments (argh) here, and
//! one file each for what they do.

mod cleanup;
mod export;
mod flush;
mod record;
mod show;
mod wiring;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use argh::FromArgs;

use crate::applets::{self, APPLETS, Applet, Id};
use crate::{config, out};

/// What every command implements: run it, giving the exit code.
pub trait Run {
    fn run(&self) -> Result<u8, Error>;
}

/// Why a command did not finish: a usage error (exit 2) or anything else (exit 1).
#[derive(Debug)]
pub enum Error {
    Usage(String),
    Failed(String),
}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::Failed(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error::Failed(message.to_owned())
    }
}

/// Runs the applet named by argv[0] or by the first argument; returns the exit code.
pub fn main(argv: Vec<OsString>) -> i32 {
    out::set_debug(config::debug());
    let code = dispatch(argv);
    out::flush();
    code
}

fn dispatch(argv: Vec<OsString>) -> i32 {
    let mut argv = argv.into_iter();
    let argv0 = PathBuf::from(argv.next().unwrap_or_default());
    let mut args: Vec<String> = argv.map(|a| a.to_string_lossy().into_owned()).collect();
    let applet = match applets::by_file_name(&argv0) {
        Some(applet) => applet,
        None if args.is_empty() => return usage_error(&format!("no command given\n{}", command_list())),
        None => {
            let first = args.remove(0);
            match first.as_str() {
                "-h" | "--help" | "help" => return print_help(&top_help()),
                "-V" | "--version" => return print_version(),
                name => match applets::find(name) {
                    Some(applet) => applet,
                    None => return usage_error(&format!("unknown command {name:?}\n{}", command_list())),
                },
            }
        }
    };
    if applet.is_hook() {
        return hook(applet, &args);
    }
    let result = match applet.id {
        Id::Show => parse_and_run::<Show>(applet, &args),
        Id::Cleanup => parse_and_run::<Cleanup>(applet, &args),
        Id::Flush => parse_and_run::<Flush>(applet, &args),
        Id::Export => parse_and_run::<Export>(applet, &args),
        Id::Hooks => parse_and_run::<Hooks>(applet, &args),
        Id::SessionStart | Id::PreTool | Id::PostTool => unreachable!("hooks are dispatched above"),
    };
    match result {
        Ok(code) => code.into(),
        Err(Error::Usage(message)) => usage_error(&message),
        Err(Error::Failed(message)) => fail(&message),
    }
}

/// A hook exits 0 whatever happens, even on a bug, and never fails on its arguments: Claude Code
/// would show every failure as a hook error, and exit 2 would block the tool call.
fn hook(applet: &'static Applet, args: &[String]) -> i32 {
    match args.first().map(String::as_str) {
        Some("-h" | "--help" | "help") => {
            let usage = Hook::from_args(&[applet.name], &["--help"]).err().map(|e| e.output).unwrap_or_default();
            return print_help(&format!("{usage}\nEvents: {}\n", applet.events.join(", ")));
        }
        Some("-V" | "--version") => return print_version(),
        _ => {}
    }
    out::set_applet(applet.name);
    config::use_environment_only();
    std::panic::set_hook(Box::new(|info| {
        out::debug(format_args!("bug: {info}"));
        std::process::exit(0);
    }));
    // The plugin's hooks.json runs us with `--plugin`. Wired by `hooks install` too, the
    // settings' hook records this event: one record per event, whichever way came first.
    let plugin = args.iter().any(|a| a == "--plugin");
    if plugin && config::wired_in_settings() {
        crate::debug!("the settings' hooks record this event ({} is set); the plugin's leaves it", config::WIRED);
        return 0;
    }
    if args.iter().any(|a| a != "--plugin") {
        crate::debug!("ignoring arguments {args:?}");
    }
    record::run(applet.default_event()).into()
}

fn parse_and_run<T: FromArgs + Run>(applet: &Applet, args: &[String]) -> Result<u8, Error> {
    // argh knows `--help` and `help`; people also type `-h`.
    let args: Vec<&str> = args.iter().map(|a| if a == "-h" { "--help" } else { a.as_str() }).collect();
    match T::from_args(&[applet.name], &args) {
        Ok(command) => command.run(),
        Err(exit) if exit.status.is_ok() => Ok(print_help(&exit.output) as u8),
        Err(exit) => Err(Error::Usage(exit.output.trim_end().to_owned())),
    }
}

/// Help text, then the environment every command reads.
fn print_help(text: &str) -> i32 {
    out::print(text.trim_end());
    out::print("\n\nEnvironment:\n");
    for var in config::VARS {
        out::print(&format!("  {:<30} {}\n", var.name, var.about));
    }
    0
}

fn print_version() -> i32 {
    out::print(concat!("claude-session ", env!("CARGO_PKG_VERSION"), "\n"));
    0
}

fn top_help() -> String {
    format!(
        "Usage: claude-session <command> [<args>]\n       <applet> [<args>]  (a symlink named for it)\n\n\
         Claude Code hooks that give every recorded event the right session id.\n\n{}\n\n\
         Options:\n  -h, --help        this text (`claude-session <command> --help` for one command)\n  \
         -V, --version     the version\n",
        command_list()
    )
}

/// The commands from the applet table, for help and usage errors.
fn command_list() -> String {
    let rows: Vec<String> = APPLETS.iter().map(|a| format!("  {:<15} {}", a.name, a.about)).collect();
    format!("Commands:\n{}", rows.join("\n"))
}

/// Usage errors exit 2, but never under Claude Code: a typo in a hook's command line must not
/// block every tool call.
fn usage_error(message: &str) -> i32 {
    let code = if config::under_claude_code() { 1 } else { 2 };
    out::error(&format!("{message}\n(see claude-session --help)"));
    code
}

/// The message on stderr, exit 1: never 2, which would block a tool call.
fn fail(message: &str) -> i32 {
    out::error(message);
    1
}

#[derive(FromArgs)]
/// Records the hook payload on stdin: resolves the session id, stores it for the project,
/// journals the event and queues it for the configured sinks. Prints nothing; always exits 0.
pub struct Hook {}

#[derive(FromArgs)]
/// Print the current project's session id (exit 1 and `unknown` when there is none), every
/// stored session (--all), a session's timeline from the journal (--timeline), the sessions in
/// the journal (--sessions), or what they cost (--cost). Tokens and cost come from Claude Code's
/// transcripts, priced by the built-in table or CLAUDE_SESSION_PRICES.
pub struct Show {
    /// list every stored session: project, directory, id, age, state, file
    #[argh(switch)]
    pub all: bool,
    /// print the events of SESSION_ID (default: the current project's session) with paired tool
    /// calls, their durations and outcomes, and a summary
    #[argh(switch)]
    pub timeline: bool,
    /// list the sessions in the journal: id, project, first and last event, tool calls, tokens
    /// and cost
    #[argh(switch)]
    pub sessions: bool,
    /// tokens and cost by day, project and model (from --since, default the last 7 days)
    #[argh(switch)]
    pub cost: bool,
    /// for --cost: the first day (2026-11-15, UTC), a time (RFC 3339), or an age (7d, 12h)
    #[argh(option)]
    pub since: Option<String>,
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
/// Remove stale and corrupt session files, crashed writers' temp files, and journal files older
/// than CLAUDE_SESSION_LOG_DAYS; deliver the outbox. Prints nothing when there was nothing to do
/// (for cron).
pub struct Cleanup {
    /// list what would be removed, remove nothing
    #[argh(switch)]
    pub dry_run: bool,
    /// rewrite every journal file through the secrets filter (for journals from before it)
    #[argh(switch)]
    pub redact: bool,
}

#[derive(FromArgs)]
/// Deliver the events waiting in the outbox to the observability server now, oldest first, and
/// report what was done. Exit 1 when events are still pending.
pub struct Flush {
    /// first put back what a sink set aside (the receiver refused it: fix the cause first)
    #[argh(switch)]
    pub resend: bool,
}

#[derive(FromArgs)]
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
/// Wire claude-session into Claude Code's settings, take it out again, or check the wiring.
pub struct Hooks {
    #[argh(subcommand)]
    pub action: HooksAction,
}

#[derive(FromArgs)]
#[argh(subcommand)]
// Parsed once per command, never stored: the size of `install`'s options costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum HooksAction {
    Install(HooksInstall),
    Uninstall(HooksUninstall),
    Status(HooksStatus),
}

#[derive(FromArgs)]
#[argh(subcommand, name = "install")]
/// Make the applet symlinks and add our hooks to ~/.claude/settings.json (or a project's
/// .claude/settings.json), keeping everything else; a second run changes nothing. Everything is
/// checked before anything changes.
pub struct HooksInstall {
    /// wire this project's .claude/settings.json instead of the user's
    #[argh(option)]
    pub project: Option<PathBuf>,
    /// directory of the applet symlinks (default ~/.claude/hooks/claude-session)
    #[argh(option)]
    pub hook_dir: Option<PathBuf>,
    /// the installed binary the applet symlinks point at (default: this program)
    #[argh(option)]
    pub binary: Option<PathBuf>,
    /// observability server events URL, set as CLAUDE_SESSION_SERVER_URL in the settings' env
    #[argh(option)]
    pub server: Option<String>,
    /// an OpenTelemetry collector (OTLP/HTTP) base URL, set as CLAUDE_SESSION_OTLP_ENDPOINT
    #[argh(option)]
    pub otlp: Option<String>,
    /// with --otlp: a header for every OTLP request, NAME=VALUE (repeat for more); the value is
    /// a secret, never printed
    #[argh(option)]
    pub otlp_header: Vec<String>,
    /// with --otlp: http/protobuf (the default) or http/json
    #[argh(option)]
    pub otlp_protocol: Option<String>,
    /// with --otlp: the signals to send, logs,traces (the default), or traces alone for a
    /// traces-only backend (Phoenix, MLflow)
    #[argh(option)]
    pub otlp_signals: Option<String>,
    /// with --otlp: a CA file (PEM) to trust for an https collector
    #[argh(option)]
    pub otlp_certificate: Option<PathBuf>,
    /// with --otlp: the request timeout in milliseconds
    #[argh(option)]
    pub otlp_timeout: Option<String>,
    /// with --otlp: service.name of the OTLP resource (default claude-session)
    #[argh(option)]
    pub otlp_service_name: Option<String>,
    /// with --otlp: more OTLP resource attributes, k=v,k2=v2
    #[argh(option)]
    pub otlp_resource_attributes: Option<String>,
    /// with --otlp: send prompt and conversation text to the collector too
    #[argh(switch)]
    pub log_user_prompts: bool,
    /// with --otlp: send tool input (commands, paths) to the collector too
    #[argh(switch)]
    pub log_tool_details: bool,
    /// check everything and say what would change, change nothing
    #[argh(switch)]
    pub dry_run: bool,
}

#[derive(FromArgs)]
#[argh(subcommand, name = "uninstall")]
/// Remove exactly what `hooks install` added: our hooks and env entries, the applet symlinks.
/// The settings file is restored byte for byte when nothing else in it changed.
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
/// commands exist, whether the configuration, store, journal and server are usable. Exit 1 if
/// not all is well, naming each problem.
pub struct HooksStatus {
    /// print JSON instead of text
    #[argh(switch)]
    pub json: bool,
}

/// `path` made absolute against the working directory: settings hold absolute commands, since
/// Claude Code runs them from any project.
pub(crate) fn absolute(path: &Path) -> Result<PathBuf, String> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    Ok(std::env::current_dir().map_err(|e| format!("working directory: {e}"))?.join(path))
}
