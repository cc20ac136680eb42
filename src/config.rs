//! Every variable the program reads: one function each, and the table that `--help` prints and
//! `hooks status` checks.
//!
//! A variable comes from the process environment, else from the `env` block of Claude Code's
//! settings (the project's `.claude/settings.local.json` and `.claude/settings.json`, then the
//! user's `~/.claude/settings.json`), which only Claude Code applies itself: so `show`, `flush`,
//! `cleanup` from cron and `hooks status` see what the hooks see. Under Claude Code the block is
//! already in the environment, so a hook never reads a settings file.
//!
//! A bad value is an error: a hook falls back to the default and says so in one debug line;
//! `hooks status` names it and exits 1. A relative directory is a bad value.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// One variable: its name, what it means (for `--help`), and its check (for `hooks status`).
pub struct Var {
    pub name: &'static str,
    pub about: &'static str,
    check: fn() -> Result<(), String>,
}

impl Var {
    /// The variable's error, if it is set to a value we refuse.
    pub fn problem(&self) -> Option<String> {
        (self.check)().err().map(|e| format!("{}: {e}", self.name))
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
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        "full URL for logs, instead of <base>/v1/logs (_TRACES_ENDPOINT for traces)",
        Ok::<_, String>(())
    ),
    var!(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "headers for every OTLP request: k=v,k2=v2, values %-encoded (_LOGS_/_TRACES_HEADERS too)",
        Ok::<_, String>(())
    ),
    var!(
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        "CA file (PEM) to trust for an https collector (default: the system's roots)",
        Ok::<_, String>(())
    ),
    var!(
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTLP request timeout in milliseconds (default: CLAUDE_SESSION_SERVER_TIMEOUT)",
        Ok::<_, String>(())
    ),
    var!("OTEL_SERVICE_NAME", "service.name of the OTLP resource (default claude-session)", Ok::<_, String>(())),
    var!("OTEL_RESOURCE_ATTRIBUTES", "more OTLP resource attributes: k=v,k2=v2, values %-encoded", Ok::<_, String>(())),
    var!(
        "OTEL_LOG_USER_PROMPTS",
        "1: prompt and conversation text go to the collector too (default: redacted)",
        Ok::<_, String>(())
    ),
    var!(
        "OTEL_LOG_TOOL_DETAILS",
        "1: tool input (commands, paths, patterns) goes to the collector too (default: tool name only)",
        Ok::<_, String>(())
    ),
    var!(
        SECRETS_FILTER,
        "0: record and send payloads without redacting secrets (default 1: tokens, keys, passwords are redacted)",
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

/// Whether Claude Code runs us (it sets `CLAUDECODE=1` for hooks and its Bash tool).
pub fn under_claude_code() -> bool {
    env("CLAUDECODE", |v| !v.is_empty()).unwrap_or(false)
}

static ENVIRONMENT_ONLY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// For the hooks: Claude Code hands them the settings' `env` block in their environment, so they
/// never read a settings file (a hook's whole budget is about a millisecond).
pub fn use_environment_only() {
    ENVIRONMENT_ONLY.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// A variable's text: the environment's, else (outside Claude Code and the hooks) the settings'
/// `env` block's.
fn text(name: &str) -> Option<String> {
    match env(name, |v| (!v.is_empty()).then(|| v.to_str().map(str::to_owned))).flatten() {
        Some(v) => v,
        None if ENVIRONMENT_ONLY.load(std::sync::atomic::Ordering::Relaxed) || under_claude_code() => None,
        None => settings_env().get(name).filter(|v| !v.is_empty()).cloned(),
    }
}

/// A variable only the environment gives (set by Claude Code or the system, never in settings).
fn env_only(name: &str) -> Option<OsString> {
    env(name, OsStr::to_os_string).filter(|v| !v.is_empty())
}

/// `read` of a variable of the process environment, as `getenv` finds it, borrowed rather than
/// copied. `std::env::var_os` copies the name to a C string, takes std's environment lock and
/// copies the value; a hook asks for about twenty variables, and in Claude Code's environment of a
/// hundred that was a tenth of its instructions. The value is lent to `read` only: a later
/// `set_var` (the `env_values` fuzz target makes them) may free it.
fn env<T>(name: &str, read: impl FnOnce(&OsStr) -> T) -> Option<T> {
    use std::os::unix::ffi::OsStrExt;
    let name = name.as_bytes();
    if name.is_empty() || name.contains(&b'=') || name.contains(&0) {
        return None;
    }
    // SAFETY: `environ` is the C library's NULL-terminated array of NUL-terminated `NAME=value`
    // strings, unchanged while we read it (this program has no threads). Each entry is read byte
    // by byte only while it matches `name` (which holds no NUL, so a shorter entry stops at its
    // own NUL), and the value up to its NUL.
    unsafe {
        let mut entry = environ();
        while !entry.is_null() && !(*entry).is_null() {
            let text = (*entry).cast::<u8>();
            if name.iter().enumerate().all(|(i, &b)| *text.add(i) == b) && *text.add(name.len()) == b'=' {
                let value = std::ffi::CStr::from_ptr(text.add(name.len() + 1).cast());
                return Some(read(OsStr::from_bytes(value.to_bytes())));
            }
            entry = entry.add(1);
        }
    }
    None
}

/// The C library's `environ` (on macOS, through `_NSGetEnviron`, as std does).
unsafe fn environ() -> *const *const std::ffi::c_char {
    #[cfg(target_vendor = "apple")]
    unsafe {
        unsafe extern "C" {
            fn _NSGetEnviron() -> *const *const *const std::ffi::c_char;
        }
        *_NSGetEnviron()
    }
    #[cfg(not(target_vendor = "apple"))]
    unsafe {
        unsafe extern "C" {
            static environ: *const *const std::ffi::c_char;
        }
        environ
    }
}

/// The `env` blocks of the settings files that may wire us, merged with Claude Code's precedence.
fn settings_env() -> &'static HashMap<String, String> {
    static ENV: OnceLock<HashMap<String, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut merged = HashMap::new();
        let project = crate::project::Project::resolve(None).dir.join(".claude");
        let files = [
            home().map(|h| h.join(".claude/settings.json")),
            Some(project.join("settings.json")),
            Some(project.join("settings.local.json")),
        ];
        for path in files.into_iter().flatten() {
            merged.extend(crate::settings::env_block(&path));
        }
        merged
    })
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
            crate::debug!("{name}: {e}; using the default");
            default
        }
    }
}

/// An optional value, unset when refused (with the debug line).
fn optional<T>(name: &str, value: Result<Option<T>, String>) -> Option<T> {
    or_default(name, value.map(|v| v.map(Some)), None)
}

fn absolute_dir(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if path.is_absolute() { Ok(path) } else { Err(format!("{text:?} is a relative directory; give an absolute one")) }
}

fn number_in(text: &str, min: u64, max: u64) -> Result<u64, String> {
    let n: u64 = text.parse().map_err(|_| format!("{text:?} is not a whole number"))?;
    if (min..=max).contains(&n) { Ok(n) } else { Err(format!("{n} is outside {min}..={max}")) }
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

/// The dashboard's events endpoint for a server URL as a person writes it: a base URL
/// (`http://127.0.0.1:4000`, or one with a proxy's path prefix) gets `/events`; one that ends in
/// `/events` is taken as it is. `--server`, CLAUDE_SESSION_SERVER_URL and OBSERVABILITY_SERVER_URL
/// all go through here, so each form means the same in all three.
pub fn events_url(text: &str) -> Result<String, String> {
    check_url(text)?;
    // check_url took it: `scheme://authority[/path]`.
    let after_scheme = text.split_once("://").map_or("", |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    if text.contains(['?', '#']) {
        return Err(format!("{text:?} is not a server URL: it has a query; give the server's base URL"));
    }
    let base = text.trim_end_matches('/');
    if path.trim_end_matches('/').ends_with("/events") {
        return Ok(base.to_owned());
    }
    if let Some((prefix, _)) = base.split_once("/events/") {
        return Err(format!("{text:?} is one of the dashboard's API paths; give {prefix}/events"));
    }
    Ok(format!("{base}/events"))
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

/// An `http://` or `https://` URL with a host, an optional port from 1 to 65535, and no
/// credentials (they would be journaled and shown): checked before anything is written.
pub fn check_url(url: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("{url:?} is not a server URL: {why}"));
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it holds a space or control character");
    }
    let Ok(uri) = url.parse::<ureq::http::Uri>() else { return bad("it does not parse") };
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") if cfg!(feature = "tls") => {}
        Some("https") => return bad("https needs a build with TLS (./install.sh --tls); this one speaks plain http"),
        _ => return bad("it does not start with http://"),
    }
    if uri.host().is_none_or(str::is_empty) {
        return bad("it names no host");
    }
    let authority = uri.authority().map_or("", |a| a.as_str());
    if authority.contains('@') {
        return bad("credentials in the URL are not supported");
    }
    let after_host = authority.rsplit_once(']').map_or(authority, |(_, rest)| rest);
    if let Some((_, port)) = after_host.rsplit_once(':')
        && (port.parse::<u16>().is_err() || port == "0")
    {
        return bad("its port is not a number from 1 to 65535");
    }
    Ok(())
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

/// The OTLP exporter's variables, raw but checked: what `sink::otlp::Settings` is made of.
#[derive(Clone, Debug, PartialEq)]
pub struct Otlp {
    pub logs_url: String,
    pub traces_url: String,
    pub logs_headers: Vec<(String, String)>,
    pub traces_headers: Vec<(String, String)>,
    pub certificate: Option<PathBuf>,
    pub timeout: Duration,
    pub service_name: Option<String>,
    pub resource_attributes: Vec<(String, String)>,
    pub log_user_prompts: bool,
    pub log_tool_details: bool,
}

/// Whether OTLP is on, by one variable and no parsing: what a hook asks before enqueueing.
pub fn otlp_enabled() -> bool {
    text(OTLP_ENDPOINT).is_some()
}

/// `CLAUDE_SESSION_OTLP_ENDPOINT` turns OTLP on (`None` without it). The standard variables then
/// apply as the OTLP exporter specification defines them. Claude Code passes its own `OTEL_*`
/// settings to hooks, so a signal's endpoint is taken only where its protocol is HTTP: a gRPC
/// endpoint meant for Claude Code's own exporter is not ours to post JSON to. A value that does
/// not parse is an error naming the variable.
pub fn otlp() -> Result<Option<Otlp>, String> {
    let Some(base) = text(OTLP_ENDPOINT) else { return Ok(None) };
    let base = checked(OTLP_ENDPOINT, base.trim())?;
    let signal_url = |signal: &str| -> Result<String, String> {
        let protocol = text(&format!("OTEL_EXPORTER_OTLP_{signal}_PROTOCOL"))
            .or_else(|| text("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .unwrap_or_default();
        let name = format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT");
        match text(&name) {
            Some(url) if protocol.trim().is_empty() || protocol.trim().starts_with("http/") => {
                checked(&name, url.trim())
            }
            _ => Ok(format!("{}/v1/{}", base.trim_end_matches('/'), signal.to_ascii_lowercase())),
        }
    };
    let headers = key_values("OTEL_EXPORTER_OTLP_HEADERS")?;
    let with = |signal: &str| -> Result<Vec<(String, String)>, String> {
        let mut all = headers.clone();
        for (k, v) in key_values(&format!("OTEL_EXPORTER_OTLP_{signal}_HEADERS"))? {
            all.retain(|(old, _)| !old.eq_ignore_ascii_case(&k));
            all.push((k, v));
        }
        Ok(all)
    };
    let certificate = text("OTEL_EXPORTER_OTLP_CERTIFICATE").map(PathBuf::from);
    if let Some(path) = &certificate {
        std::fs::File::open(path).map_err(|e| format!("OTEL_EXPORTER_OTLP_CERTIFICATE {}: {e}", path.display()))?;
    }
    let timeout =
        match text("OTEL_EXPORTER_OTLP_TIMEOUT") {
            Some(ms) => {
                let (min, max) = (Duration::from_millis(1), Duration::from_secs(60));
                ms.trim().parse().ok().map(Duration::from_millis).filter(|t| (min..=max).contains(t)).ok_or_else(
                    || format!("OTEL_EXPORTER_OTLP_TIMEOUT={ms} is refused: give milliseconds, 1 to 60000"),
                )?
            }
            None => server_timeout(),
        };
    Ok(Some(Otlp {
        logs_url: signal_url("LOGS")?,
        traces_url: signal_url("TRACES")?,
        logs_headers: with("LOGS")?,
        traces_headers: with("TRACES")?,
        certificate,
        timeout,
        service_name: text("OTEL_SERVICE_NAME").map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        resource_attributes: key_values("OTEL_RESOURCE_ATTRIBUTES")?,
        log_user_prompts: truthy("OTEL_LOG_USER_PROMPTS"),
        log_tool_details: truthy("OTEL_LOG_TOOL_DETAILS"),
    }))
}

/// `url` when [`check_url`] takes it, else the error naming the variable.
fn checked(name: &str, url: &str) -> Result<String, String> {
    check_url(url).map(|()| url.to_owned()).map_err(|e| format!("{name}: {e}"))
}

/// `k=v,k2=v2` with %-encoded values, as OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES
/// are written. Unset is empty; a member without `=` or a key, or a bad %-escape, is an error.
fn key_values(name: &str) -> Result<Vec<(String, String)>, String> {
    let Some(text) = text(name) else { return Ok(Vec::new()) };
    parse_key_values(&text).map_err(|why| format!("{name}: {why}"))
}

pub fn parse_key_values(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for member in text.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        let (k, v) = member.split_once('=').ok_or_else(|| format!("`{member}` is not key=value"))?;
        let key = percent_decode(k.trim()).ok_or_else(|| format!("`{k}`: bad %-escape"))?;
        let value = percent_decode(v.trim()).ok_or_else(|| format!("`{v}`: bad %-escape"))?;
        if key.is_empty() || key.chars().any(|c| c.is_control()) || value.chars().any(|c| c == '\r' || c == '\n') {
            return Err(format!("`{member}`: empty key or a line break"));
        }
        out.push((key, value));
    }
    Ok(out)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn truthy(name: &str) -> bool {
    text(name).is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

/// On unless set to `0` (or `false`, `no`, `off`): a user's own choice for their own machine.
pub fn secrets_filter() -> bool {
    !text(SECRETS_FILTER)
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "0" | "false" | "no" | "off"))
}

/// Read from the environment only: a debug switch in a settings file would make every hook talk.
pub fn debug() -> bool {
    let on = |name: &str| {
        env_only(name)
            .and_then(|v| v.into_string().ok())
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
    };
    on(DEBUG) || on("HOOK_DEBUG")
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

/// `3600`, `3600s`, `250ms`, `90m`, `24h`, `2d`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    if unit.trim() == "ms" {
        return Some(Duration::from_millis(n));
    }
    let scale = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    n.checked_mul(scale).map(Duration::from_secs)
}

/// `65536`, `64K`, `64KiB`, `16M`, `1G` (binary units).
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let shift = match unit.trim() {
        "" | "B" => 0,
        "K" | "k" | "KiB" => 10,
        "M" | "MiB" => 20,
        "G" | "GiB" => 30,
        _ => return None,
    };
    n.checked_mul(1 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `env` reads `environ` itself: it must find what std's `var_os` (getenv) finds, for every
    /// variable this test runs with, and nothing for names no variable can have.
    #[test]
    fn env_finds_what_std_finds() {
        let names: Vec<OsString> = std::env::vars_os().map(|(k, _)| k).collect();
        assert!(!names.is_empty());
        for name in names {
            let Some(name) = name.to_str() else { continue };
            assert_eq!(env(name, OsStr::to_os_string), std::env::var_os(name), "{name}");
        }
        for name in ["", "=", "PATH=", "PA\0TH", "CLAUDE_SESSION_NO_SUCH_VARIABLE"] {
            assert_eq!(env(name, OsStr::to_os_string), None, "{name:?}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3600"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("90m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("24h"), Some(Duration::from_secs(86400)));
        assert_eq!(parse_duration(" 2d "), Some(Duration::from_secs(172800)));
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("10y"), None);
        assert_eq!(parse_duration("-5"), None);
        assert_eq!(parse_duration("18446744073709551615d"), None);
    }

    #[test]
    fn urls() {
        for good in ["http://127.0.0.1:4000/events", "http://localhost/events", "http://[::1]:4000/e", "http://h"] {
            check_url(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in [
            "notaurl",
            "",
            "ftp://h/",
            "http://",
            "http:///x",
            "http://h /x",
            "http://u:p@h/",
            "http://h:99999/",
            "http://h:/",
            "http://h:0/",
            "/events",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert_eq!(check_url("https://h/events").is_ok(), cfg!(feature = "tls"));
    }

    #[test]
    fn a_base_server_url_gets_the_events_path() {
        for (given, url) in [
            ("http://127.0.0.1:4000", "http://127.0.0.1:4000/events"),
            ("http://127.0.0.1:4000/", "http://127.0.0.1:4000/events"),
            ("http://127.0.0.1:4000/events", "http://127.0.0.1:4000/events"),
            ("http://127.0.0.1:4000/events/", "http://127.0.0.1:4000/events"),
            ("http://h/observability", "http://h/observability/events"),
            ("http://h/observability/events", "http://h/observability/events"),
        ] {
            assert_eq!(events_url(given).as_deref(), Ok(url), "{given}");
        }
        for bad in ["http://h/events/recent", "http://h/?x=1", "notaurl"] {
            assert!(events_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_values() {
        assert_eq!(
            parse_key_values("Authorization=Bearer%20abc%3D%3D, x-team = a=b ,").unwrap(),
            vec![("Authorization".into(), "Bearer abc==".into()), ("x-team".into(), "a=b".into())]
        );
        assert_eq!(parse_key_values("").unwrap(), vec![]);
        assert!(parse_key_values("novalue").is_err());
        assert!(parse_key_values("=v").is_err());
        assert!(parse_key_values("k=%zz").is_err());
        assert!(parse_key_values("k=%0d%0aX: y").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size("64K"), Some(65536));
        assert_eq!(parse_size(" 16MiB "), Some(16 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("1T"), None);
        assert_eq!(parse_size("M"), None);
        assert_eq!(parse_size("18446744073709551615K"), None);
    }
}
