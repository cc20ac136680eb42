//! Every environment variable the program reads: one function each, and the table `--help` prints.
//! Nothing here is read at startup; each command asks for what it needs.

use std::env;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// Shown under "Environment:" in every `--help`.
pub const VARS: &[(&str, &str)] = &[
    (
        "CLAUDE_SESSION_DIR",
        "session store directory (default $XDG_RUNTIME_DIR/claude-session, else /tmp/claude-session-<uid>)",
    ),
    ("CLAUDE_SESSION_TTL", "how long a stored session id stays valid: 3600, 90m, 24h, 2d (default 24h)"),
    (
        "CLAUDE_SESSION_LOG_DIR",
        "journal directory (default $XDG_STATE_HOME/claude-session/logs, else ~/.local/state/claude-session/logs)",
    ),
    ("CLAUDE_SESSION_LOG_DAYS", "days of journal that `cleanup` keeps (default 30)"),
    ("CLAUDE_SESSION_LOG_FIELD_MAX", "bytes a journaled value may have before it is cut to its head (default 16384)"),
    (
        "CLAUDE_SESSION_STDIN_MAX",
        "payload bytes a hook reads before it stops and records what it has: 1K to 1G (default 64M)",
    ),
    (
        "CLAUDE_SESSION_SERVER_URL",
        "observability server endpoint, a full .../events URL (default: none, nothing is sent)",
    ),
    ("OBSERVABILITY_SERVER_URL", "the original design's base URL; /events is appended (used when the above is unset)"),
    ("CLAUDE_SESSION_SERVER_TIMEOUT", "connect and answer timeout for each POST, e.g. 500ms, 5s (default 5s)"),
    ("CLAUDE_SESSION_SOURCE_APP", "source_app sent to the server (default: the project name)"),
    ("CLAUDE_SESSION_OUTBOX_MAX", "undelivered events kept before the oldest are dropped (default 100000)"),
    ("CLAUDE_SESSION_DEBUG", "1: one-line diagnostics on stderr (HOOK_DEBUG=true does the same)"),
    (
        "CLAUDE_PROJECT_DIR",
        "project directory, set by Claude Code (else the payload's cwd, else the working directory)",
    ),
    ("CLAUDE_CODE_SESSION_ID", "session id, set by Claude Code (used when the payload has none)"),
];

pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);
pub const DEFAULT_LOG_DAYS: u64 = 30;
pub const DEFAULT_FIELD_MAX: usize = 16 * 1024;
pub const DEFAULT_STDIN_MAX: usize = 64 << 20;
pub const DEFAULT_OUTBOX_MAX: usize = 100_000;
pub const DEFAULT_SERVER_TIMEOUT: Duration = Duration::from_secs(5);

fn var(name: &str) -> Option<OsString> {
    env::var_os(name).filter(|v| !v.is_empty())
}

fn var_str(name: &str) -> Option<String> {
    var(name).and_then(|v| v.into_string().ok())
}

fn number(name: &str) -> Option<u64> {
    var_str(name).and_then(|v| v.trim().parse().ok())
}

pub fn session_dir() -> Option<PathBuf> {
    var("CLAUDE_SESSION_DIR").map(PathBuf::from)
}

/// A TTL that does not parse falls back to the default rather than failing a hook.
pub fn ttl() -> Duration {
    var_str("CLAUDE_SESSION_TTL").and_then(|v| parse_duration(&v)).unwrap_or(DEFAULT_TTL)
}

pub fn log_dir() -> Option<PathBuf> {
    var("CLAUDE_SESSION_LOG_DIR").map(PathBuf::from)
}

pub fn log_days() -> u64 {
    number("CLAUDE_SESSION_LOG_DAYS").unwrap_or(DEFAULT_LOG_DAYS)
}

pub fn log_field_max() -> usize {
    number("CLAUDE_SESSION_LOG_FIELD_MAX").map(|n| n.clamp(64, 1 << 30) as usize).unwrap_or(DEFAULT_FIELD_MAX)
}

/// A size outside 1 KiB..=1 GiB, or not a size, is the default (and a debug line).
pub fn stdin_max() -> usize {
    let Some(text) = var("CLAUDE_SESSION_STDIN_MAX") else { return DEFAULT_STDIN_MAX };
    match text.to_str().and_then(parse_size).filter(|n| (1 << 10..=1 << 30).contains(n)) {
        Some(n) => n as usize,
        None => {
            crate::debug!("CLAUDE_SESSION_STDIN_MAX={text:?} is not a size from 1K to 1G; reading up to 64M");
            DEFAULT_STDIN_MAX
        }
    }
}

/// The events endpoint: our own variable as given, or the original design's base URL + `/events`.
pub fn server_url() -> Option<String> {
    if let Some(url) = var_str("CLAUDE_SESSION_SERVER_URL") {
        return Some(url.trim().to_owned());
    }
    var_str("OBSERVABILITY_SERVER_URL").map(|base| format!("{}/events", base.trim().trim_end_matches('/')))
}

pub fn server_timeout() -> Duration {
    var_str("CLAUDE_SESSION_SERVER_TIMEOUT").and_then(|v| parse_duration(&v)).unwrap_or(DEFAULT_SERVER_TIMEOUT)
}

pub fn source_app() -> Option<String> {
    var_str("CLAUDE_SESSION_SOURCE_APP")
}

pub fn outbox_max() -> usize {
    number("CLAUDE_SESSION_OUTBOX_MAX").map(|n| n.max(1) as usize).unwrap_or(DEFAULT_OUTBOX_MAX)
}

pub fn debug() -> bool {
    let on = |name: &str| {
        var_str(name).is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
    };
    on("CLAUDE_SESSION_DEBUG") || on("HOOK_DEBUG")
}

pub fn project_dir() -> Option<PathBuf> {
    var("CLAUDE_PROJECT_DIR").map(PathBuf::from)
}

pub fn env_session_id() -> Option<String> {
    var_str("CLAUDE_CODE_SESSION_ID")
}

pub fn runtime_dir() -> Option<PathBuf> {
    var("XDG_RUNTIME_DIR").map(PathBuf::from)
}

pub fn state_home() -> Option<PathBuf> {
    var("XDG_STATE_HOME").map(PathBuf::from)
}

pub fn home() -> Option<PathBuf> {
    var("HOME").map(PathBuf::from)
}

/// The user's name without an NSS lookup (a static glibc binary must not make one): `$USER`,
/// `$LOGNAME`, else the numeric uid.
pub fn user() -> String {
    var_str("USER").or_else(|| var_str("LOGNAME")).unwrap_or_else(|| nix::unistd::geteuid().to_string())
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
