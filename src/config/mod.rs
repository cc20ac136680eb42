//! Every variable the program reads: one function each, and the table that `--help` prints and
//! `hooks status` checks.
//!
//! A variable comes from the process environment, else from the `env` block of Claude Code's
//! settings (the project's `.claude/settings.local.json` and `.claude/settings.json` when Claude
//! Code trusts the project, then the user's `~/.claude/settings.json`), which only Claude Code
//! applies itself: so `show`, `flush`,
//! `cleanup` from cron and `hooks status` see what the hooks see. Under Claude Code the block is
//! already in the environment, so a hook never reads a settings file.
//!
//! A bad value is an error: a hook falls back to the default and says so in one debug line;
//! `hooks status` names it and exits 1. A relative directory is a bad value.
//!
//! `source` reads a variable's text (nothing else in the program reads the environment),
//! `parse` checks its shape, `otlp` gathers the OTLP exporter's settings. `config` depends on
//! nothing above it: `project` (where the project's settings are), `settings` (their file
//! format), `private` and `out`, which depend on no configuration.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod otlp;
mod parse;
mod source;

pub use otlp::{
    Exporter, Header, Otlp, Protocol, Secret, Signal, Wanted, destinations as otlp_destinations, install_env,
    is_credential, otlp, otlp_enabled, proxy_variable, unseen_otel,
};
pub use parse::{check_url, events_url, parse_duration, parse_key_values, parse_size, port_in_range};
pub use source::{
    PASS_THROUGH, PLUGIN_OPTIONS, PluginOption, is_otel, under_claude_code, untrusted_settings, use_environment_only,
};

use parse::{absolute_dir, number_in};
use source::{env_only, text};

/// One variable: its name, what it means (for `--help`), and its check (for `hooks status`).
pub struct Var {
    pub name: &'static str,
    pub about: &'static str,
    check: fn() -> Result<(), String>,
}

impl Var {
    /// The variable's error, if it is set to a value we refuse.
    pub fn problem(&self) -> Option<String> {
        (self.check)().err().map(|e| crate::secrets::masked(&format!("{}: {e}", self.name)))
    }
}

macro_rules! var {
    ($name:expr, $about:expr, $check:expr) => {
        Var { name: $name, about: $about, check: || $check.map(drop) }
    };
}

pub const SESSION_DIR: &str = "CLAUDE_SESSION_DIR";
pub const TTL: &str = "CLAUDE_SESSION_TTL";
pub const LOG_DIR: &str = "CLAUDE_SESSION_LOG_DIR";
pub const LOG_DAYS: &str = "CLAUDE_SESSION_LOG_DAYS";
pub const LOG_FIELD_MAX: &str = "CLAUDE_SESSION_LOG_FIELD_MAX";
pub const SERVER_URL: &str = "CLAUDE_SESSION_SERVER_URL";
pub const SERVER_BASE: &str = "OBSERVABILITY_SERVER_URL";
pub const SERVER_TIMEOUT: &str = "CLAUDE_SESSION_SERVER_TIMEOUT";
pub const SOURCE_APP: &str = "CLAUDE_SESSION_SOURCE_APP";
pub const OUTBOX_MAX: &str = "CLAUDE_SESSION_OUTBOX_MAX";
pub const DEBUG: &str = "CLAUDE_SESSION_DEBUG";
pub const OTLP_ENDPOINT: &str = "CLAUDE_SESSION_OTLP_ENDPOINT";
pub const SECRETS_FILTER: &str = "CLAUDE_SESSION_SECRETS_FILTER";
pub const STDIN_MAX: &str = "CLAUDE_SESSION_STDIN_MAX";
pub const PRICES: &str = "CLAUDE_SESSION_PRICES";
/// The mark `hooks install` sets in the settings it wires (`settings` owns it, since uninstall
/// takes it out with our hooks).
pub use crate::settings::WIRED;
/// The Claude Code plugin's name (its `.claude-plugin/plugin.json`; not `claude-…`, which
/// `claude plugin validate` refuses).
pub const PLUGIN: &str = "session-recorder";

/// Whether `hooks install` wired the hooks in a settings file whose `env` this process has.
pub fn wired_in_settings() -> bool {
    source::env(WIRED, |v| !v.is_empty()).unwrap_or(false)
}

/// Shown under "Environment:" in every `--help`, and checked by `hooks status`.
pub const VARS: &[Var] = &[
    var!(
        SESSION_DIR,
        "session store directory (default $XDG_RUNTIME_DIR/claude-session, else <state>/sessions)",
        try_session_dir()
    ),
    var!(TTL, "how long a stored session id stays valid: 3600, 90m, 24h, 2d (default 24h)", try_ttl()),
    var!(
        LOG_DIR,
        "journal directory (default $XDG_STATE_HOME/claude-session/logs, else ~/.local/state/claude-session/logs)",
        try_log_dir()
    ),
    var!(LOG_DAYS, "days of journal that `cleanup` keeps (default 30)", try_log_days()),
    var!(
        LOG_FIELD_MAX,
        "bytes a journaled value may have before it is cut to its head (default 16384)",
        try_log_field_max()
    ),
    var!(
        STDIN_MAX,
        "payload bytes a hook reads before it stops and records what it has: 1K to 1G (default 64M)",
        try_stdin_max()
    ),
    var!(
        SERVER_URL,
        "observability server: its base URL (http://127.0.0.1:4000) or its …/events URL (default: none)",
        try_server_url()
    ),
    var!(SERVER_BASE, "the original design's name for the same URL (used when the above is unset)", try_server_url()),
    var!(
        SERVER_TIMEOUT,
        "connect and answer timeout for each request: 500ms, 5s, 1ms to 60s (default 5s)",
        try_server_timeout()
    ),
    var!(SOURCE_APP, "source_app sent to the server (default: the project name)", Ok::<_, String>(())),
    var!(OUTBOX_MAX, "undelivered events kept before the oldest are dropped (default 100000)", try_outbox_max()),
    var!(
        OTLP_ENDPOINT,
        "OTLP/HTTP collector base URL, e.g. http://127.0.0.1:4318: events go to /v1/logs and /v1/traces (default: none)",
        otlp()
    ),
    var!(
        "CLAUDE_SESSION_OTEL_*",
        "every OTEL_* variable below, under a name Claude Code lets reach the hooks (it removes OTEL_* from them); wins over the plain name, which works only outside Claude Code (flush, export, cron)",
        Ok::<_, String>(())
    ),
    var!(
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        "full URL for logs, instead of <base>/v1/logs (_TRACES_ENDPOINT for traces)",
        Ok::<_, String>(())
    ),
    var!(
        otlp::PROTOCOL,
        "http/protobuf (default) or http/json (_LOGS_/_TRACES_PROTOCOL for one signal)",
        Ok::<_, String>(())
    ),
    var!(
        otlp::LOGS_EXPORTER,
        "none: send no logs, for a traces-only backend (OTEL_TRACES_EXPORTER=none: no traces); default otlp",
        Ok::<_, String>(())
    ),
    var!(
        otlp::HEADERS,
        "headers for every OTLP request: k=v,k2=v2, values %-encoded (_LOGS_/_TRACES_HEADERS too); never shown",
        Ok::<_, String>(())
    ),
    var!(
        otlp::CERTIFICATE,
        "CA file (PEM) to trust for an https collector (default: the system's roots; _LOGS_/_TRACES_ too)",
        Ok::<_, String>(())
    ),
    var!(
        otlp::TIMEOUT,
        "OTLP request timeout in milliseconds (default: CLAUDE_SESSION_SERVER_TIMEOUT; _LOGS_/_TRACES_ too)",
        Ok::<_, String>(())
    ),
    var!(otlp::SERVICE_NAME, "service.name of the OTLP resource (default claude-session)", Ok::<_, String>(())),
    var!(otlp::RESOURCE_ATTRIBUTES, "more OTLP resource attributes: k=v,k2=v2, values %-encoded", Ok::<_, String>(())),
    var!(
        otlp::LOG_USER_PROMPTS,
        "1: prompt and conversation text go to the collector too (default: redacted)",
        Ok::<_, String>(())
    ),
    var!(
        otlp::LOG_TOOL_DETAILS,
        "1: tool input (commands, paths, patterns) goes to the collector too (default: tool name only)",
        Ok::<_, String>(())
    ),
    var!(
        "CLAUDE_PLUGIN_OPTION_*",
        "our plugin's options, set by Claude Code: SERVER_URL, OTLP_ENDPOINT, OTLP_HEADERS, LOG_USER_PROMPTS, LOG_TOOL_DETAILS; a variable above wins over its option",
        Ok::<_, String>(())
    ),
    var!(
        SECRETS_FILTER,
        "0: record and send payloads without redacting secrets (default 1: tokens, keys, passwords are redacted)",
        Ok::<_, String>(())
    ),
    var!(
        PRICES,
        "token prices over the built-in table: a JSON file's absolute path, or the JSON itself ({\"model\": {\"input\": 3, \"output\": 15}}, $/MTok)",
        prices()
    ),
    var!(
        WIRED,
        "set by `hooks install` in the settings it wires: the plugin's hooks then leave each event to those",
        Ok::<_, String>(())
    ),
    var!(DEBUG, "1: one-line diagnostics on stderr (HOOK_DEBUG=true does the same)", Ok::<_, String>(())),
    var!(
        "CLAUDE_PROJECT_DIR",
        "project directory, set by Claude Code (else the payload's cwd, else the working directory)",
        try_project_dir()
    ),
    var!(
        "CLAUDE_CODE_SESSION_ID",
        "session id, set by Claude Code (used when the payload has none)",
        Ok::<_, String>(())
    ),
];

pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);
pub const DEFAULT_LOG_DAYS: u64 = 30;
pub const DEFAULT_FIELD_MAX: usize = 16 * 1024;
pub const DEFAULT_STDIN_MAX: usize = 64 << 20;
pub const DEFAULT_OUTBOX_MAX: usize = 100_000;
pub const DEFAULT_SERVER_TIMEOUT: Duration = Duration::from_secs(5);

/// Every variable set to a value we refuse, for `hooks status`.
pub fn problems() -> Vec<String> {
    VARS.iter().filter_map(Var::problem).collect()
}

/// `parse` applied to the variable, `Ok(None)` when unset.
fn parsed<T>(name: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Result<Option<T>, String> {
    text(name).map(|v| parse(v.trim())).transpose()
}

/// The value, or the default with a debug line when the value is refused.
fn or_default<T>(name: &str, value: Result<Option<T>, String>, default: T) -> T {
    match value {
        Ok(Some(v)) => v,
        Ok(None) => default,
        Err(e) => {
            crate::debug!("{name}: {}; using the default", crate::secrets::masked(&e));
            default
        }
    }
}

/// An optional value, unset when refused (with the debug line).
fn optional<T>(name: &str, value: Result<Option<T>, String>) -> Option<T> {
    or_default(name, value.map(|v| v.map(Some)), None)
}

fn try_session_dir() -> Result<Option<PathBuf>, String> {
    parsed(SESSION_DIR, absolute_dir)
}

/// `$CLAUDE_SESSION_DIR` when valid.
pub fn session_dir() -> Option<PathBuf> {
    optional(SESSION_DIR, try_session_dir())
}

fn try_ttl() -> Result<Option<Duration>, String> {
    parsed(TTL, |v| match parse_duration(v) {
        Some(d) if d >= Duration::from_secs(1) && d <= Duration::from_secs(365 * 86400) => Ok(d),
        Some(_) => Err(format!("{v:?} is outside 1s..=365d")),
        None => Err(format!("{v:?} is not a duration like 3600, 90m, 24h, 2d")),
    })
}

pub fn ttl() -> Duration {
    or_default(TTL, try_ttl(), DEFAULT_TTL)
}

fn try_log_dir() -> Result<Option<PathBuf>, String> {
    parsed(LOG_DIR, absolute_dir)
}

pub fn log_dir() -> Option<PathBuf> {
    optional(LOG_DIR, try_log_dir())
}

fn try_log_days() -> Result<Option<u64>, String> {
    parsed(LOG_DAYS, |v| number_in(v, 1, 100 * 366))
}

pub fn log_days() -> u64 {
    or_default(LOG_DAYS, try_log_days(), DEFAULT_LOG_DAYS)
}

fn try_log_field_max() -> Result<Option<usize>, String> {
    parsed(LOG_FIELD_MAX, |v| number_in(v, 64, 1 << 30).map(|n| n as usize))
}

pub fn log_field_max() -> usize {
    or_default(LOG_FIELD_MAX, try_log_field_max(), DEFAULT_FIELD_MAX)
}

fn try_server_url() -> Result<Option<String>, String> {
    match parsed(SERVER_URL, events_url)? {
        Some(url) => Ok(Some(url)),
        None => parsed(SERVER_BASE, events_url),
    }
}

fn try_stdin_max() -> Result<Option<usize>, String> {
    parsed(STDIN_MAX, |v| match parse_size(v) {
        Some(n) if (1 << 10..=1 << 30).contains(&n) => Ok(n as usize),
        _ => Err(format!("{v:?} is not a size from 1K to 1G")),
    })
}

/// What a hook reads of its stdin at most.
pub fn stdin_max() -> usize {
    or_default(STDIN_MAX, try_stdin_max(), DEFAULT_STDIN_MAX)
}

/// The events endpoint, from our own variable or else the original design's (see [`events_url`]).
pub fn server_url() -> Option<String> {
    optional(SERVER_URL, try_server_url())
}

fn try_server_timeout() -> Result<Option<Duration>, String> {
    parsed(SERVER_TIMEOUT, |v| match parse_duration(v) {
        Some(d) if d >= Duration::from_millis(1) && d <= Duration::from_secs(60) => Ok(d),
        Some(_) => Err(format!("{v:?} is outside 1ms..=60s")),
        None => Err(format!("{v:?} is not a duration like 500ms or 5s")),
    })
}

pub fn server_timeout() -> Duration {
    or_default(SERVER_TIMEOUT, try_server_timeout(), DEFAULT_SERVER_TIMEOUT)
}

pub fn source_app() -> Option<String> {
    text(SOURCE_APP)
}

fn try_outbox_max() -> Result<Option<usize>, String> {
    parsed(OUTBOX_MAX, |v| number_in(v, 1, 10_000_000).map(|n| n as usize))
}

pub fn outbox_max() -> usize {
    or_default(OUTBOX_MAX, try_outbox_max(), DEFAULT_OUTBOX_MAX)
}

/// On unless set to `0` (or `false`, `no`, `off`): a user's own choice for their own machine.
pub fn secrets_filter() -> bool {
    !text(SECRETS_FILTER)
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "0" | "false" | "no" | "off"))
}

/// `CLAUDE_SESSION_PRICES`: a JSON object of price entries, written in the variable or in the
/// file it names (`usage::Prices` reads the entries). Unset is `None`; a value that is not an
/// object, or a file that cannot be read, is an error.
pub fn prices() -> Result<Option<serde_json::Map<String, serde_json::Value>>, String> {
    let Some(text) = text(PRICES) else { return Ok(None) };
    let text = text.trim();
    let json = if text.starts_with('{') {
        text.to_owned()
    } else {
        let path = absolute_dir(text).map_err(|_| format!("{text:?} is neither JSON nor an absolute file path"))?;
        let bytes = crate::private::read(&path, 1 << 20).map_err(|e| format!("{}: {e}", path.display()))?;
        String::from_utf8(bytes).map_err(|_| format!("{}: not text", path.display()))?
    };
    match serde_json::from_str(&json) {
        Ok(serde_json::Value::Object(entries)) => Ok(Some(entries)),
        Ok(_) => Err("not a JSON object of models".into()),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}

/// Read from the environment only: a debug switch in a settings file would make every hook talk.
pub fn debug() -> bool {
    source::env_any([DEBUG, "HOOK_DEBUG"], |v| {
        v.to_str().is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
    })
}

fn try_project_dir() -> Result<Option<PathBuf>, String> {
    match env_only("CLAUDE_PROJECT_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => Ok(Some(PathBuf::from(dir))),
        Some(dir) => Err(format!("{dir:?} is a relative directory")),
        None => Ok(None),
    }
}

pub fn project_dir() -> Option<PathBuf> {
    optional("CLAUDE_PROJECT_DIR", try_project_dir())
}

pub fn env_session_id() -> Option<String> {
    env_only("CLAUDE_CODE_SESSION_ID").and_then(|v| v.into_string().ok())
}

/// An XDG base directory; a relative one is ignored, as the XDG specification says.
fn xdg(name: &str) -> Option<PathBuf> {
    env_only(name).map(PathBuf::from).filter(|p| p.is_absolute())
}

pub fn runtime_dir() -> Option<PathBuf> {
    xdg("XDG_RUNTIME_DIR")
}

pub fn state_home() -> Option<PathBuf> {
    xdg("XDG_STATE_HOME")
}

/// `$XDG_STATE_HOME/claude-session`, else `~/.local/state/claude-session`: ours alone.
pub fn state_dir() -> Option<PathBuf> {
    state_home().map(|d| d.join("claude-session")).or_else(|| home().map(|h| h.join(".local/state/claude-session")))
}

pub fn home() -> Option<PathBuf> {
    env_only("HOME").map(PathBuf::from).filter(|p| p.is_absolute())
}

/// The user's name without an NSS lookup (a static glibc binary must not make one): `$USER`,
/// `$LOGNAME`, else the numeric uid.
pub fn user() -> String {
    ["USER", "LOGNAME"]
        .into_iter()
        .find_map(|name| env_only(name).and_then(|v| v.into_string().ok()))
        .unwrap_or_else(|| crate::private::uid_self().to_string())
}
