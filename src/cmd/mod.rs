//! The commands: dispatch from argv (through the applet table), their arguments (argh) here, and
//! one file each for what they do.

mod cleanup;
mod export;
mod flush;
mod record;
mod remains;
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
        None if args.is_empty() => return usage_error(&format!("no command given\n{}", command_list()), ""),
        None => {
            let first = args.remove(0);
            match first.as_str() {
                "-h" | "--help" | "help" => {
                    out::print(&top_help());
                    return 0;
                }
                "-V" | "--version" => return print_version(),
                name => match applets::find(name) {
                    Some(applet) => applet,
                    None => {
                        let names = APPLETS.iter().map(|a| a.name).chain(["--help", "--version"]);
                        let hint =
                            did_you_mean(name, names).map(|n| format!("; did you mean `{n}`?")).unwrap_or_default();
                        let kind = if name.starts_with('-') { "option" } else { "command" };
                        return usage_error(&format!("unknown {kind} {name:?}{hint}\n{}", command_list()), "");
                    }
                },
            }
        }
    };
    // Before the first variable is read (the debug switch): a hook reads only its environment,
    // which never changes, so it is indexed once.
    if applet.is_hook() {
        config::use_environment_only();
    }
    out::set_debug(config::debug());
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
        Err(Error::Usage(message)) => usage_error(&message, &command_path(applet, &args)),
        Err(Error::Failed(message)) => fail(&message),
    }
}

/// A hook exits 0 whatever happens, even on a bug, and never fails on its arguments: Claude Code
/// would show every failure as a hook error, and exit 2 would block the tool call.
fn hook(applet: &'static Applet, args: &[String]) -> i32 {
    match args.first().map(String::as_str) {
        Some("-h" | "--help" | "help") => {
            let usage = Hook::from_args(&[applet.name], &["--help"]).err().map(|e| e.output).unwrap_or_default();
            return print_help(&format!("{}\n\nEvents: {}", usage.trim_end(), applet.events.join(", ")));
        }
        Some("-V" | "--version") => return print_version(),
        _ => {}
    }
    out::set_applet(applet.name);
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
        Err(exit) => {
            let mut message = exit.output.trim_end().to_owned();
            // argh names the word it did not know; the closest one the command knows may be it.
            if let Some(word) = message.strip_prefix("Unrecognized argument: ").map(str::trim) {
                let known = usage_words(&help_at::<T>(applet, &subcommands::<T>(applet, &args)));
                let hint = did_you_mean(word, known.iter().map(String::as_str));
                let hint = hint.map(|near| format!("; did you mean `{near}`?")).unwrap_or_default();
                message = format!("unknown {} {word:?}{hint}", word_kind(word));
            }
            Err(Error::Usage(message))
        }
    }
}

/// "option" or "command", for an unknown word.
fn word_kind(word: &str) -> &'static str {
    if word.starts_with('-') { "option" } else { "command" }
}

/// The help of `applet` and its subcommands `path` (as argh writes it).
fn help_at<T: FromArgs>(applet: &Applet, path: &[&str]) -> String {
    let mut args = path.to_vec();
    args.push("--help");
    T::from_args(&[applet.name], &args).err().map(|e| e.output).unwrap_or_default()
}

/// The subcommands named at the start of `args` (`install` of `hooks install --otpl`): each one
/// its parent's help lists.
fn subcommands<'a, T: FromArgs>(applet: &Applet, args: &[&'a str]) -> Vec<&'a str> {
    let mut path = Vec::new();
    for arg in args.iter().take_while(|a| !a.starts_with('-')) {
        if !usage_words(&help_at::<T>(applet, &path)).iter().any(|w| w == arg) {
            break;
        }
        path.push(*arg);
    }
    path
}

/// The options and subcommands a help text lists: the first word of each row under "Options:"
/// and "Commands:" (`--all`, `--help`, `help`, `install`).
pub fn usage_words(help: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut listing = false;
    for line in help.lines() {
        if !line.starts_with(' ') {
            listing = matches!(line.trim_end(), "Options:" | "Commands:");
            continue;
        }
        // A row starts two spaces in; its description's continuation lines are indented further.
        let row = line.strip_prefix("  ").filter(|r| listing && !r.starts_with(' '));
        let Some(row) = row else { continue };
        let names = row.split("  ").next().unwrap_or_default();
        words.extend(names.split(", ").map(|w| w.split_whitespace().next().unwrap_or_default().to_owned()));
    }
    words.retain(|w| !w.is_empty());
    words
}

/// Every option and subcommand of every command, by its command line (`hooks install`): what
/// the binary knows, for the documentation's test and for "did you mean".
pub fn every_usage() -> Vec<(String, Vec<String>)> {
    fn walk<T: FromArgs>(applet: &Applet, path: &mut Vec<String>, all: &mut Vec<(String, Vec<String>)>) {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let words = usage_words(&help_at::<T>(applet, &args));
        let commands: Vec<String> = words.iter().filter(|w| !w.starts_with('-') && *w != "help").cloned().collect();
        all.push((
            std::iter::once(applet.name.to_owned()).chain(path.iter().cloned()).collect::<Vec<_>>().join(" "),
            words,
        ));
        for command in commands {
            path.push(command);
            walk::<T>(applet, path, all);
            path.pop();
        }
    }
    let mut all = Vec::new();
    for applet in APPLETS {
        let path = &mut Vec::new();
        match applet.id {
            Id::SessionStart | Id::PreTool | Id::PostTool => walk::<Hook>(applet, path, &mut all),
            Id::Show => walk::<Show>(applet, path, &mut all),
            Id::Cleanup => walk::<Cleanup>(applet, path, &mut all),
            Id::Flush => walk::<Flush>(applet, path, &mut all),
            Id::Export => walk::<Export>(applet, path, &mut all),
            Id::Hooks => walk::<Hooks>(applet, path, &mut all),
        }
    }
    all
}

/// The word of `candidates` that `word` is most likely a typo of: at most one edit away (two
/// for words over five letters), a swap of two neighbours counting as one; or the only one
/// `word` begins (`--time` for `--timeline`).
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let candidates: Vec<&str> = candidates.into_iter().filter(|c| *c != word).collect();
    let close = candidates
        .iter()
        .map(|c| (edits(word, c), *c))
        .filter(|(d, c)| *d <= if c.trim_start_matches('-').len() > 5 { 2 } else { 1 })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    let prefixed: Vec<&str> =
        candidates.iter().copied().filter(|c| word.trim_start_matches('-').len() >= 3 && c.starts_with(word)).collect();
    close.or(match prefixed[..] {
        [only] => Some(only),
        _ => None,
    })
}

/// Edits from `a` to `b`: insertions, deletions, substitutions and swaps of neighbours
/// (optimal string alignment distance).
fn edits(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// One command's help: its own options only; the variables are in `claude-session --help`.
fn print_help(text: &str) -> i32 {
    out::print(text.trim_end());
    out::print("\n\nEnvironment: `claude-session --help` lists the variables every command reads.\n");
    0
}

fn print_version() -> i32 {
    out::print(concat!("claude-session ", env!("CARGO_PKG_VERSION"), "\n"));
    0
}

/// The commands, then the environment every command reads.
fn top_help() -> String {
    let mut text = format!(
        "Usage: claude-session <command> [<args>]\n       <applet> [<args>]  (a symlink named for it)\n\n\
         Claude Code hooks that give every recorded event the right session id.\n\n{}\n\n\
         Options:\n  -h, --help        this text (`claude-session <command> --help` for one command)\n  \
         -V, --version     the version\n\nEnvironment (docs/configuration.md says more):\n",
        command_list()
    );
    for var in config::VARS {
        text.push_str(&format!("  {:<33} {}\n", var.name, var.about));
    }
    text
}

/// The commands from the applet table, for help and usage errors.
fn command_list() -> String {
    let rows: Vec<String> = APPLETS.iter().map(|a| format!("  {:<15} {}", a.name, a.about)).collect();
    format!("Commands:\n{}", rows.join("\n"))
}

/// Usage errors exit 2, but never under Claude Code: a typo in a hook's command line must not
/// block every tool call. `command` is the command line whose help to point at (`hooks install`).
fn usage_error(message: &str, command: &str) -> i32 {
    let code = if config::under_claude_code() { 1 } else { 2 };
    let space = if command.is_empty() { "" } else { " " };
    out::error(&format!("{message}\n(see claude-session{space}{command} --help)"));
    code
}

/// `hooks install` for `hooks install --otpl x`: the applet and the subcommands named.
fn command_path(applet: &Applet, args: &[String]) -> String {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let path = match applet.id {
        Id::Hooks => subcommands::<Hooks>(applet, &args),
        _ => Vec::new(),
    };
    std::iter::once(applet.name).chain(path).collect::<Vec<_>>().join(" ")
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
    /// print the events of SESSION_ID (default: the current project's latest session) with
    /// paired tool calls, their durations and outcomes, and a summary
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
    /// the session for --timeline: its id, or enough of its start to name one
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
/// Deliver the events waiting in the outbox for the configured destinations now, oldest first,
/// and report what was done. Events queued for another destination (another project's server or
/// credentials) are left for it, and counted. Exit 1 when events for the configured ones are
/// still pending.
pub struct Flush {
    /// first put back what a sink set aside (the receiver refused it: fix the cause first)
    #[argh(switch)]
    pub resend: bool,
    /// first move the events of this queue (another destination's, or an older version's, as
    /// `flush` names it) to the configured destination of its sink: after a key was rotated, a URL
    /// changed, an upgrade
    #[argh(option)]
    pub adopt: Option<String>,
}

#[derive(FromArgs)]
/// Send the current project's journal events from a day on to the configured sinks (an
/// OpenTelemetry collector, the observability server), each once, oldest first. Exit 1 if a sink
/// failed.
pub struct Export {
    /// the first day (2026-11-15, UTC), a time (RFC 3339), or an age (7d, 12h)
    #[argh(option)]
    pub since: String,
    /// only this sink: dashboard, otlp-logs or otlp-traces
    #[argh(option)]
    pub sink: Option<String>,
    /// every project's sessions, not only the current project's
    #[argh(switch)]
    pub all_projects: bool,
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
    /// the observability server's URL (http://127.0.0.1:4000; /events is added), set as
    /// CLAUDE_SESSION_SERVER_URL in the settings' env
    #[argh(option)]
    pub server: Option<String>,
    /// an OpenTelemetry collector (OTLP/HTTP) base URL, set as CLAUDE_SESSION_OTLP_ENDPOINT
    #[argh(option)]
    pub otlp: Option<String>,
    /// with --otlp: a header for every OTLP request, NAME=VALUE or NAME: VALUE (repeat for
    /// more); the value is a secret, never printed
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
/// Remove exactly what `hooks install` added: our hooks and env entries, the applet symlinks,
/// the directories it made (when empty). The settings file is restored byte for byte when nothing
/// else in it changed. Says what it kept: the journal, the outbox and the store (--purge removes
/// them too).
pub struct HooksUninstall {
    /// unwire this project's .claude/settings.json instead of the user's
    #[argh(option)]
    pub project: Option<PathBuf>,
    /// directory of the applet symlinks (default ~/.claude/hooks/claude-session)
    #[argh(option)]
    pub hook_dir: Option<PathBuf>,
    /// also remove the recorded data: the journal, the outbox (events not yet delivered) and the
    /// session store, after listing them
    #[argh(switch)]
    pub purge: bool,
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
