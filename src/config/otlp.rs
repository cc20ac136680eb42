//! The OTLP exporter's settings: `CLAUDE_SESSION_OTLP_ENDPOINT` turns it on, and the standard
//! `OTEL_*` variables configure it as the OTLP exporter specification defines them.

use std::path::PathBuf;
use std::time::Duration;

use super::parse::{check_url, parse_key_values};
use super::source::text;
use super::{OTLP_ENDPOINT, server_timeout};

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
    check_url(url).map(|()| url.to_owned()).map_err(|e| crate::secrets::masked(&format!("{name}: {e}")))
}

/// `k=v,k2=v2` with %-encoded values, as OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES
/// are written. Unset is empty; a member without `=` or a key, or a bad %-escape, is an error.
fn key_values(name: &str) -> Result<Vec<(String, String)>, String> {
    let Some(text) = text(name) else { return Ok(Vec::new()) };
    parse_key_values(&text).map_err(|why| format!("{name}: {why}"))
}

fn truthy(name: &str) -> bool {
    text(name).is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}
