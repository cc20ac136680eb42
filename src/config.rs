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
        "CLAUDE_SESSION_SERVER_URL",
        "observability server endpoint, a full .../events URL (default: none, nothing is sent)",
    ),
    ("OBSERVABILITY_SERVER_URL", "the original design's base URL; /events is appended (used when the above is unset)"),
    (
        "CLAUDE_SESSION_SERVER_TIMEOUT",
        "connect and answer timeout for each POST, 1ms to 60s, e.g. 500ms, 5s (default 5s)",
    ),
    ("CLAUDE_SESSION_SOURCE_APP", "source_app sent to the server (default: the project name)"),
    ("CLAUDE_SESSION_OUTBOX_MAX", "undelivered events kept before the oldest are dropped (default 100000)"),
    (
        "CLAUDE_SESSION_OTLP_ENDPOINT",
        "OTLP/HTTP collector base URL, e.g. http://127.0.0.1:4318: events go to /v1/logs and /v1/traces (default: none)",
    ),
    ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "full URL for logs, instead of <base>/v1/logs (_TRACES_ENDPOINT for traces)"),
    (
        "OTEL_EXPORTER_OTLP_HEADERS",
        "headers for every OTLP request: k=v,k2=v2, values %-encoded (_LOGS_/_TRACES_HEADERS too)",
    ),
    ("OTEL_EXPORTER_OTLP_CERTIFICATE", "CA file (PEM) to trust for an https collector (default: the system's roots)"),
    ("OTEL_EXPORTER_OTLP_TIMEOUT", "OTLP request timeout in milliseconds (default: CLAUDE_SESSION_SERVER_TIMEOUT)"),
    ("OTEL_SERVICE_NAME", "service.name of the OTLP resource (default claude-session)"),
    ("OTEL_RESOURCE_ATTRIBUTES", "more OTLP resource attributes: k=v,k2=v2, values %-encoded"),
    ("OTEL_LOG_USER_PROMPTS", "1: prompt and conversation text go to the collector too (default: redacted)"),
    (
        "OTEL_LOG_TOOL_DETAILS",
        "1: tool input (commands, paths, patterns) goes to the collector too (default: tool name only)",
    ),
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

/// The events endpoint: our own variable as given, or the original design's base URL + `/events`.
pub fn server_url() -> Option<String> {
    if let Some(url) = var_str("CLAUDE_SESSION_SERVER_URL") {
        return Some(url.trim().to_owned());
    }
    var_str("OBSERVABILITY_SERVER_URL").map(|base| format!("{}/events", base.trim().trim_end_matches('/')))
}

/// Bounds for CLAUDE_SESSION_SERVER_TIMEOUT: 0 fails every request, and ureq's clock would
/// overflow on a huge one.
pub const SERVER_TIMEOUT_RANGE: (Duration, Duration) = (Duration::from_millis(1), Duration::from_secs(60));

/// The per-request timeout; a value that does not parse or is out of range is an error to report,
/// never a panic.
pub fn server_timeout() -> Result<Duration, String> {
    let Some(text) = var_str("CLAUDE_SESSION_SERVER_TIMEOUT") else { return Ok(DEFAULT_SERVER_TIMEOUT) };
    let (min, max) = SERVER_TIMEOUT_RANGE;
    parse_duration(&text)
        .filter(|t| (min..=max).contains(t))
        .ok_or_else(|| format!("CLAUDE_SESSION_SERVER_TIMEOUT={text} is refused: give 1ms to 60s, e.g. 500ms or 5s"))
}

pub fn source_app() -> Option<String> {
    var_str("CLAUDE_SESSION_SOURCE_APP")
}

pub fn outbox_max() -> usize {
    number("CLAUDE_SESSION_OUTBOX_MAX").map(|n| n.max(1) as usize).unwrap_or(DEFAULT_OUTBOX_MAX)
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
    var("CLAUDE_SESSION_OTLP_ENDPOINT").is_some()
}

/// `CLAUDE_SESSION_OTLP_ENDPOINT` turns OTLP on (`None` without it). The standard variables then
/// apply as the OTLP exporter specification defines them. Claude Code passes its own `OTEL_*`
/// settings to hooks, so a signal's endpoint is taken only where its protocol is HTTP: a gRPC
/// endpoint meant for Claude Code's own exporter is not ours to post JSON to. A value that does
/// not parse is an error naming the variable.
pub fn otlp() -> Result<Option<Otlp>, String> {
    let Some(base) = var_str("CLAUDE_SESSION_OTLP_ENDPOINT") else { return Ok(None) };
    let base = check_url("CLAUDE_SESSION_OTLP_ENDPOINT", base.trim())?;
    let signal_url = |signal: &str| -> Result<String, String> {
        let protocol = var_str(&format!("OTEL_EXPORTER_OTLP_{signal}_PROTOCOL"))
            .or_else(|| var_str("OTEL_EXPORTER_OTLP_PROTOCOL"))
            .unwrap_or_default();
        let name = format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT");
        match var_str(&name) {
            Some(url) if protocol.trim().is_empty() || protocol.trim().starts_with("http/") => {
                check_url(&name, url.trim())
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
    let certificate = var("OTEL_EXPORTER_OTLP_CERTIFICATE").map(PathBuf::from);
    if let Some(path) = &certificate {
        std::fs::File::open(path).map_err(|e| format!("OTEL_EXPORTER_OTLP_CERTIFICATE {}: {e}", path.display()))?;
    }
    let timeout =
        match var_str("OTEL_EXPORTER_OTLP_TIMEOUT") {
            Some(ms) => {
                let (min, max) = SERVER_TIMEOUT_RANGE;
                ms.trim().parse().ok().map(Duration::from_millis).filter(|t| (min..=max).contains(t)).ok_or_else(
                    || format!("OTEL_EXPORTER_OTLP_TIMEOUT={ms} is refused: give milliseconds, 1 to 60000"),
                )?
            }
            None => server_timeout()?,
        };
    Ok(Some(Otlp {
        logs_url: signal_url("LOGS")?,
        traces_url: signal_url("TRACES")?,
        logs_headers: with("LOGS")?,
        traces_headers: with("TRACES")?,
        certificate,
        timeout,
        service_name: var_str("OTEL_SERVICE_NAME").map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        resource_attributes: key_values("OTEL_RESOURCE_ATTRIBUTES")?,
        log_user_prompts: truthy("OTEL_LOG_USER_PROMPTS"),
        log_tool_details: truthy("OTEL_LOG_TOOL_DETAILS"),
    }))
}

/// An http or https URL with a host; https needs the binary built with the `tls` feature.
fn check_url(name: &str, url: &str) -> Result<String, String> {
    let rest = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => {
            if !cfg!(feature = "tls") {
                return Err(format!("{name}={url}: this binary has no TLS; build it with `./install.sh --tls`"));
            }
            rest
        }
        _ => return Err(format!("{name}={url}: not an http:// or https:// URL")),
    };
    if rest.is_empty() || rest.starts_with('/') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{name}={url}: not a URL with a host"));
    }
    Ok(url.to_owned())
}

/// `k=v,k2=v2` with %-encoded values, as OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES
/// are written. Unset is empty; a member without `=` or a key, or a bad %-escape, is an error.
fn key_values(name: &str) -> Result<Vec<(String, String)>, String> {
    let Some(text) = var_str(name) else { return Ok(Vec::new()) };
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
    var_str(name).is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
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
    fn urls() {
        assert_eq!(check_url("X", "http://10.0.0.5:4318").unwrap(), "http://10.0.0.5:4318");
        assert!(check_url("X", "ftp://h").is_err());
        assert!(check_url("X", "http://").is_err());
        assert!(check_url("X", "10.0.0.5:4318").is_err());
        assert_eq!(check_url("X", "https://h").is_ok(), cfg!(feature = "tls"));
    }
}
