//! claude-session: one multi-call binary that Claude Code runs as its hooks.

pub mod cmd;
pub mod config;
pub mod delivery;
pub mod event;
pub mod journal;
pub mod payload;
pub mod project;
pub mod session;
pub mod settings;
pub mod store;
pub mod timeline;
pub mod util;

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

use argh::FromArgs;

use cmd::{Cli, Run};

/// Applets reachable by argv[0] (as `pre-tool` or `claude-session-pre-tool`).
const APPLETS: &[&str] = &["session-start", "pre-tool", "post-tool", "cleanup", "show"];
const HOOKS: &[&str] = &["session-start", "pre-tool", "post-tool"];

/// Runs the command named by argv[0] or the first argument of `args` (the whole argv, as `main`
/// got it); returns the exit code.
pub fn main(args: Vec<OsString>) -> i32 {
    let code = dispatch(args);
    // Without std's runtime nobody else flushes stdout at exit.
    let _ = std::io::stdout().flush();
    code
}

fn dispatch(args: Vec<OsString>) -> i32 {
    let mut argv = args.into_iter();
    let argv0 = argv.next().unwrap_or_default();
    let args: Vec<String> = argv.map(|a| a.to_string_lossy().into_owned()).collect();

    let applet = applet_name(&argv0);
    // Hooks, by argv[0] or subcommand, must exit 0 whatever happens, even on a bug.
    let hook = applet.or(args.first().map(String::as_str)).and_then(|a| HOOKS.iter().find(|h| **h == a));
    if let Some(&name) = hook {
        util::set_applet(name);
        std::panic::set_hook(Box::new(|info| {
            util::debug(format_args!("bug: {info}"));
            std::process::exit(0);
        }));
    }

    let parsed = match applet {
        Some(name) => {
            let mut full = vec![name];
            full.extend(args.iter().map(String::as_str));
            Cli::from_args(&["claude-session"], &full)
        }
        None if args.is_empty() => {
            return fail(
                "no command given; one of: session-start, pre-tool, post-tool, show, cleanup, flush (see --help)",
            );
        }
        None => Cli::from_args(&["claude-session"], &args.iter().map(String::as_str).collect::<Vec<_>>()),
    };
    match parsed {
        Ok(cli) => match cli.cmd.run() {
            Ok(code) => code.into(),
            Err(message) => fail(&message),
        },
        Err(exit) if exit.status.is_ok() => {
            // --help: argh's text, then the environment every command reads.
            let mut out = std::io::stdout().lock();
            let _ = write!(out, "{}", exit.output);
            let _ = writeln!(out, "\nEnvironment:");
            for (name, what) in config::VARS {
                let _ = writeln!(out, "  {name:<30} {what}");
            }
            0
        }
        Err(exit) => fail(exit.output.lines().next().unwrap_or("bad arguments")),
    }
}

/// `file_stem(argv[0])` when it names an applet, with or without a `claude-session-` prefix.
fn applet_name(argv0: &OsString) -> Option<&'static str> {
    let stem = Path::new(argv0).file_stem()?.to_str()?;
    let stem = stem.strip_prefix("claude-session-").unwrap_or(stem);
    APPLETS.iter().copied().find(|a| *a == stem)
}

/// One line on stderr, exit 1: never 2, which would block a tool call.
fn fail(message: &str) -> i32 {
    let _ = writeln!(std::io::stderr(), "claude-session: {message}");
    1
}
