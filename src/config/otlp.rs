//! The OTLP exporter's settings: `CLAUDE_SESSION_OTLP_ENDPOINT` turns it on, and the standard
//! `OTEL_*` variables configure it as the OTLP exporter specification defines them, each also
//! given as `CLAUDE_SESSION_OTEL_…` (see `source`: Claude Code keeps every `OTEL_*` variable from
//! our hooks). Typed and checked here, once; `sink::otlp` builds its senders from [`Otlp`].

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::parse::{check_url, is_token, parse_key_values};
use super::source::{Found, PASS_THROUGH, find, text, unseen};
use super::{OTLP_ENDPOINT, server_timeout};

/// Every standard variable the exporter reads (`LOGS`/`TRACES` stand for either signal's
/// variant), for `--help`, `hooks status` and `hooks install`.
pub const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
pub const HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
pub const CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
pub const TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
pub const LOGS_EXPORTER: &str = "OTEL_LOGS_EXPORTER";
pub const TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
pub const SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
pub const RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
pub const LOG_USER_PROMPTS: &str = "OTEL_LOG_USER_PROMPTS";
pub const LOG_TOOL_DETAILS: &str = "OTEL_LOG_TOOL_DETAILS";

/// Every `OTEL_*` variable read, the per-signal ones included.
pub const OTEL_VARS: &[&str] = &[
    PROTOCOL,
    "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    HEADERS,
    "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    CERTIFICATE,
    "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE",
    "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
    TIMEOUT,
    "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    LOGS_EXPORTER,
    TRACES_EXPORTER,
    SERVICE_NAME,
    RESOURCE_ATTRIBUTES,
    LOG_USER_PROMPTS,
    LOG_TOOL_DETAILS,
];

/// What the exporter sends, once `CLAUDE_SESSION_OTLP_ENDPOINT` turns it on.
#[derive(Clone, Debug, PartialEq)]
pub struct Otlp {
    /// `None` when `OTEL_LOGS_EXPORTER=none` (a traces-only backend).
    pub logs: Option<Exporter>,
    /// `None` when `OTEL_TRACES_EXPORTER=none`.
    pub traces: Option<Exporter>,
    pub service_name: Option<String>,
    pub resource_attributes: Vec<(String, String)>,
    /// `OTEL_LOG_USER_PROMPTS`: prompt and conversation text go to the collector.
    pub log_user_prompts: bool,
    /// `OTEL_LOG_TOOL_DETAILS`: tool input goes to the collector.
    pub log_tool_details: bool,
}

/// Which signal: logs or traces. Each has its own settings and its own queue, so a collector
/// that takes logs but fails traces neither holds the logs back nor receives them twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Logs,
    Traces,
}

impl Signal {
    /// `LOGS`, `TRACES`: how the specification's per-signal variables name it.
    pub fn upper(self) -> &'static str {
        match self {
            Signal::Logs => "LOGS",
            Signal::Traces => "TRACES",
        }
    }

    /// The path the signal is posted to under the base endpoint.
    pub fn path(self) -> &'static str {
        match self {
            Signal::Logs => "/v1/logs",
            Signal::Traces => "/v1/traces",
        }
    }

    fn exporter_var(self) -> &'static str {
        match self {
            Signal::Logs => LOGS_EXPORTER,
            Signal::Traces => TRACES_EXPORTER,
        }
    }
}

/// One signal's exporter.
#[derive(Clone, Debug, PartialEq)]
pub struct Exporter {
    /// Where requests go: `OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT` as given, else the base
    /// endpoint and the signal's path.
    pub url: String,
    pub protocol: Protocol,
    /// The common headers, overridden by the signal's own (by name, ignoring case).
    pub headers: Vec<Header>,
    /// A CA file (PEM) to trust for an https collector, instead of the system's roots.
    pub certificate: Option<PathBuf>,
    pub timeout: Duration,
}

/// OTLP/HTTP's two encodings; the specification's and the SDKs' default is protobuf.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    #[default]
    Protobuf,
    Json,
}

impl Protocol {
    /// The value the `..._PROTOCOL` variables take.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Protobuf => "http/protobuf",
            Protocol::Json => "http/json",
        }
    }

    pub fn parse(text: &str) -> Option<Protocol> {
        match text.trim() {
            "http/protobuf" => Some(Protocol::Protobuf),
            "http/json" => Some(Protocol::Json),
            _ => None,
        }
    }
}

/// A request header. Its value is a credential more often than not: see [`Secret`].
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub name: String,
    pub value: Secret,
}

/// A value never shown: not by `{:?}`, not in an error, a queue's state or `hooks status`. Only
/// the request gets it, through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The value itself, for the request that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "<{} bytes, hidden>", self.0.len())
    }
}

impl Otlp {
    /// The signal's exporter; `None` when the signal is turned off.
    pub fn exporter(&self, signal: Signal) -> Option<&Exporter> {
        match signal {
            Signal::Logs => self.logs.as_ref(),
            Signal::Traces => self.traces.as_ref(),
        }
    }
}

/// For `hooks status`, while OTLP is on: each `OTEL_*` setting our hooks will never see, and what
/// to set instead.
pub fn unseen_otel() -> Vec<String> {
    if !otlp_enabled() {
        return Vec::new();
    }
    // Values that would change nothing of ours: a protocol we do not speak, an exporter we are.
    unseen(OTEL_VARS, |name, value| {
        let value = value.trim().to_ascii_lowercase();
        if name.ends_with("_PROTOCOL") {
            value != "grpc"
        } else if name.ends_with("_EXPORTER") {
            value.split(',').all(|v| v.trim() == "none")
        } else {
            true
        }
    })
}

/// A proxy variable as curl reads it, the lowercase name first (`https_proxy`, `HTTPS_PROXY`):
/// the name that was set, and its value. Read off the hook's path, by the deliverer.
pub fn proxy_variable(lower: &str) -> Option<(String, String)> {
    let upper = lower.to_ascii_uppercase();
    [lower.to_owned(), upper].into_iter().find_map(|name| Some((name.clone(), text(&name)?.trim().to_owned())))
}

/// Whether OTLP is on, by one variable and no parsing.
pub fn otlp_enabled() -> bool {
    text(OTLP_ENDPOINT).is_some()
}

/// A signal's URL and headers: where its records go and as whom.
pub type Target = (String, Vec<Header>);

/// The largest certificate file read: a CA bundle is about 200 KiB.
pub const CERTIFICATE_MAX: u64 = 16 << 20;

/// Where each signal's records go and as whom (logs, traces), resolved as [`otlp`] resolves them:
/// the URL and the headers, and nothing else (no certificate opened, no timeout parsed): what a
/// hook names a signal's queue by (`outbox::Destination`). `None` when OTLP or the signal is off;
/// an error when the signal's own endpoint or the headers do not parse (a hook then queues nothing
/// for the signal, as for a server URL that does not parse). The endpoint and the common headers
/// are read once.
pub fn destinations() -> [Result<Option<Target>, String>; 2] {
    let Some(base) = text(OTLP_ENDPOINT) else { return [Ok(None), Ok(None)] };
    // Not parsed here (a URL parse is a tenth of what OTLP costs a hook): one that does not parse
    // names a queue whose deliverer reports it, as before destinations. One with a query, which
    // may hold a token, names none: its text would be the queue's.
    let base = base.trim();
    if base.contains(['?', '#']) {
        let e = base_endpoint(base).err().map(|e| format!("{OTLP_ENDPOINT}: {e}")).unwrap_or_default();
        return [Err(e.clone()), Err(e)];
    }
    let common = find(HEADERS).map(|found| parse_headers(&found)).transpose();
    [Signal::Logs, Signal::Traces].map(|which| {
        if !exported(which)? {
            return Ok(None);
        }
        let common = common.as_ref().map_err(Clone::clone)?;
        // A protocol that does not parse is the deliverer's error to report, not a reason to
        // queue nothing: only whether it was meant for Claude Code's own exporter changes the URL.
        let foreign = || protocol(which).is_ok_and(|(_, foreign)| foreign);
        target(which, base, common.clone().unwrap_or_default(), foreign).map(Some)
    })
}

/// `CLAUDE_SESSION_OTLP_ENDPOINT` turns OTLP on (`None` without it). The standard variables then
/// apply as the OTLP exporter specification defines them. A value that does not parse is an
/// error naming the variable it was found under, and never showing a header's value.
pub fn otlp() -> Result<Option<Otlp>, String> {
    let Some(base) = text(OTLP_ENDPOINT) else { return Ok(None) };
    let base = base_endpoint(base.trim()).map_err(|e| format!("{OTLP_ENDPOINT}: {e}"))?;
    let exporter = |which: Signal| -> Result<Option<Exporter>, String> {
        if !exported(which)? {
            return Ok(None);
        }
        settings(which, &base).map(Some)
    };
    Ok(Some(Otlp {
        logs: exporter(Signal::Logs)?,
        traces: exporter(Signal::Traces)?,
        service_name: text(SERVICE_NAME).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
        resource_attributes: match find(RESOURCE_ATTRIBUTES) {
            Some(found) => parse_key_values(&found.text).map_err(|why| format!("{}: {why}", found.name))?,
            None => Vec::new(),
        },
        log_user_prompts: truthy(LOG_USER_PROMPTS),
        log_tool_details: truthy(LOG_TOOL_DETAILS),
    }))
}

/// Whether the signal is exported: `OTEL_<SIGNAL>_EXPORTER` is `otlp` (the default) or `none`.
/// The standard name may be set for Claude Code's own exporter (`console`, `otlp,console`): there
/// only `none` turns ours off.
fn exported(which: Signal) -> Result<bool, String> {
    let Some(found) = find(which.exporter_var()) else { return Ok(true) };
    let values: Vec<String> = found.text.split(',').map(|v| v.trim().to_ascii_lowercase()).collect();
    if values.iter().all(|v| v == "none") {
        return Ok(false);
    }
    if found.shared || values.iter().all(|v| v == "otlp") {
        return Ok(true);
    }
    Err(format!("{}={}: give otlp or none", found.name, found.text.trim()))
}

/// The signal's own variable (`OTEL_EXPORTER_OTLP_LOGS_<suffix>`).
fn own(which: Signal, suffix: &str) -> Option<Found> {
    find(&["OTEL_EXPORTER_OTLP_", which.upper(), "_", suffix].concat())
}

/// The signal's own variable, else the common one.
fn either(which: Signal, suffix: &str) -> Option<Found> {
    own(which, suffix).or_else(|| find(&["OTEL_EXPORTER_OTLP_", suffix].concat()))
}

/// The signal's protocol, and whether the variable was set for Claude Code's own exporter (gRPC):
/// such a value says nothing about ours, and neither does an endpoint set with it.
fn protocol(which: Signal) -> Result<(Protocol, bool), String> {
    Ok(match either(which, "PROTOCOL") {
        None => (Protocol::default(), false),
        Some(found) => match Protocol::parse(&found.text) {
            Some(protocol) => (protocol, false),
            None if found.shared && found.text.trim() == "grpc" => (Protocol::default(), true),
            None => {
                return Err(format!("{}={}: give http/protobuf or http/json", found.name, found.text.trim()));
            }
        },
    })
}

/// The signal's URL, and its headers: the common ones (`headers`), overridden by its own.
/// `foreign` (asked only when the signal's own endpoint is set under its shared name) says
/// whether the protocol was set for Claude Code's own exporter.
fn target(
    which: Signal,
    base: &str,
    mut headers: Vec<Header>,
    foreign: impl FnOnce() -> bool,
) -> Result<Target, String> {
    let url = match own(which, "ENDPOINT") {
        Some(found) if !(found.shared && foreign()) => checked(&found.name, found.text.trim())?,
        _ => format!("{}{}", base.trim_end_matches('/'), which.path()),
    };
    if let Some(found) = own(which, "HEADERS") {
        for header in parse_headers(&found)? {
            headers.retain(|old| !old.name.eq_ignore_ascii_case(&header.name));
            headers.push(header);
        }
    }
    Ok((url, headers))
}

/// One signal's settings: its own variable, else the common one.
fn settings(which: Signal, base: &str) -> Result<Exporter, String> {
    let either = |suffix: &str| either(which, suffix);
    let (protocol, foreign) = protocol(which)?;
    let common = match find(HEADERS) {
        Some(found) => parse_headers(&found)?,
        None => Vec::new(),
    };
    let (url, headers) = target(which, base, common, || foreign)?;
    let certificate = match either("CERTIFICATE") {
        Some(found) => {
            let path = PathBuf::from(found.text.trim());
            crate::private::read_regular(&path, CERTIFICATE_MAX)
                .map_err(|e| format!("{} {}: {e}", found.name, path.display()))?;
            Some(path)
        }
        None => None,
    };
    let timeout = match either("TIMEOUT") {
        Some(found) => {
            let (min, max) = (Duration::from_millis(1), Duration::from_secs(60));
            let ms = found.text.trim();
            ms.parse()
                .ok()
                .map(Duration::from_millis)
                .filter(|t| (min..=max).contains(t))
                .ok_or_else(|| format!("{}={ms} is refused: give milliseconds, 1 to 60000", found.name))?
        }
        None => server_timeout(),
    };
    Ok(Exporter { url, protocol, headers, certificate, timeout })
}

/// The collector's base URL, as `CLAUDE_SESSION_OTLP_ENDPOINT` and `hooks install --otlp` take
/// it: a URL [`check_url`] takes, with no query or fragment, since each signal's path goes after
/// it (`/?token=abc` would post to `/?token=abc/v1/logs`). A per-signal endpoint is used as given,
/// so a query goes there. The error shows the URL up to its query, which may hold a token.
pub fn base_endpoint(url: &str) -> Result<String, String> {
    if let Some(at) = url.find(['?', '#']) {
        let shown = crate::secrets::masked(&url[..at]);
        return Err(format!(
            "{shown:?}… is not a collector's base URL: it has a query or fragment (not shown); give the base URL, \
             or a signal's full URL as OTEL_EXPORTER_OTLP_LOGS_ENDPOINT / _TRACES_ENDPOINT"
        ));
    }
    check_url(url).map_err(|e| crate::secrets::masked(&e))?;
    Ok(url.to_owned())
}

/// `url` when [`check_url`] takes it, else the error naming the variable.
fn checked(name: &str, url: &str) -> Result<String, String> {
    check_url(url).map(|()| url.to_owned()).map_err(|e| crate::secrets::masked(&format!("{name}: {e}")))
}

/// `k=v,k2=v2` headers. An error names the variable and the member by its number, never its
/// text: a value with `Name: value=` or an unencoded comma in it would otherwise be shown as a
/// name. A name must be a token and a value free of control characters, as a request needs them;
/// otherwise every request would fail, and be retried, for a setting only the user can fix.
fn parse_headers(found: &Found) -> Result<Vec<Header>, String> {
    let bad = |why: String| format!("{}: {why} (k=v,k2=v2 with %-encoded values; the text is not shown)", found.name);
    let pairs = parse_key_values(&found.text).map_err(bad)?;
    let mut headers = Vec::with_capacity(pairs.len());
    for (n, (name, value)) in pairs.into_iter().enumerate() {
        let n = n + 1;
        if !is_token(&name) {
            return Err(bad(format!(
                "member {n} is not a header name (letters, digits and -, nothing after a space or `:`)"
            )));
        }
        if !value.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f)) {
            return Err(bad(format!("member {n}'s value holds a control character")));
        }
        headers.push(Header { name, value: Secret(value) });
    }
    Ok(headers)
}

/// What `hooks install --otlp URL` was asked to set beside the endpoint.
#[derive(Default)]
pub struct Wanted<'a> {
    /// `NAME=VALUE` or `NAME: VALUE` (curl's form) each; the values are secrets.
    pub headers: &'a [String],
    pub protocol: Option<&'a str>,
    /// `logs,traces`, `traces`, `logs`.
    pub signals: Option<&'a str>,
    /// Absolute.
    pub certificate: Option<&'a std::path::Path>,
    pub timeout: Option<&'a str>,
    pub service_name: Option<&'a str>,
    pub resource_attributes: Option<&'a str>,
    pub log_user_prompts: bool,
    pub log_tool_details: bool,
}

/// Whether an `env` entry `hooks install` writes holds a credential: the header list (its values
/// are keys and tokens), or a value our output would mask (a URL's user and password, a key).
/// With `--project` these go to the project's personal `settings.local.json`, never to its
/// `settings.json`, which is usually committed.
pub fn is_credential(var: &str, value: &str) -> bool {
    var.strip_prefix(PASS_THROUGH).unwrap_or(var) == HEADERS || crate::secrets::masked(value) != value
}

/// The settings `env` entries for `wanted`, named so that they reach our hooks
/// (`CLAUDE_SESSION_OTEL_…`), each checked as the exporter will read it. An error names the flag,
/// never a header's value.
pub fn install_env(wanted: &Wanted) -> Result<Vec<(String, String)>, String> {
    let mut env = Vec::new();
    let mut set = |name: &str, value: String| env.push((format!("{PASS_THROUGH}{name}"), value));
    if !wanted.headers.is_empty() {
        let mut members = Vec::new();
        for (n, header) in wanted.headers.iter().enumerate() {
            // The value may hold `=` (base64 padding) and `:`: split at the first of either, and
            // name a bad member by its number, since what stands before a bad split may be the value.
            let n = n + 1;
            let at = header.find(['=', ':']);
            let (name, value) = at.map_or((header.as_str(), None), |at| (&header[..at], Some(&header[at + 1..])));
            let name = name.trim();
            let Some(value) = value.filter(|_| is_token(name)) else {
                return Err(format!(
                    "--otlp-header {n}: give NAME=VALUE or NAME: VALUE (a name is letters, digits and -; the text is not shown)"
                ));
            };
            // curl's `Name: value` has a space after the colon that is not the value's.
            let value = if at.is_some_and(|at| header.as_bytes()[at] == b':') { value.trim_start() } else { value };
            if !value.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f)) {
                return Err(format!(
                    "--otlp-header {n} ({name}): its value holds a line break or control character (the value is not shown)"
                ));
            }
            members.push(format!("{name}={}", percent_encode(value)));
        }
        set(HEADERS, members.join(","));
    }
    if let Some(protocol) = wanted.protocol {
        let p = Protocol::parse(protocol)
            .ok_or_else(|| format!("--otlp-protocol {protocol}: give http/protobuf or http/json"))?;
        set(PROTOCOL, p.as_str().to_owned());
    }
    if let Some(signals) = wanted.signals {
        let list: Vec<&str> = signals.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        if list.is_empty() || list.iter().any(|s| !matches!(*s, "logs" | "traces")) {
            return Err(format!("--otlp-signals {signals}: give logs,traces, logs or traces"));
        }
        for (signal, var) in [("logs", LOGS_EXPORTER), ("traces", TRACES_EXPORTER)] {
            if !list.contains(&signal) {
                set(var, "none".to_owned());
            }
        }
    }
    if let Some(path) = wanted.certificate {
        crate::private::read_regular(path, CERTIFICATE_MAX)
            .map_err(|e| format!("--otlp-certificate {}: {e}", path.display()))?;
        let text = path.to_str().ok_or_else(|| format!("--otlp-certificate {}: not UTF-8", path.display()))?;
        set(CERTIFICATE, text.to_owned());
    }
    if let Some(ms) = wanted.timeout {
        match ms.trim().parse::<u64>() {
            Ok(n) if (1..=60_000).contains(&n) => set(TIMEOUT, n.to_string()),
            _ => return Err(format!("--otlp-timeout {ms}: give milliseconds, 1 to 60000")),
        }
    }
    if let Some(name) = wanted.service_name.map(str::trim) {
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(format!("--otlp-service-name {name:?}: give a name"));
        }
        set(SERVICE_NAME, name.to_owned());
    }
    if let Some(attributes) = wanted.resource_attributes {
        parse_key_values(attributes).map_err(|why| format!("--otlp-resource-attributes: {why}"))?;
        set(RESOURCE_ATTRIBUTES, attributes.trim().to_owned());
    }
    for (on, var) in [(wanted.log_user_prompts, LOG_USER_PROMPTS), (wanted.log_tool_details, LOG_TOOL_DETAILS)] {
        if on {
            set(var, "1".to_owned());
        }
    }
    Ok(env)
}

/// A header value as `OTEL_EXPORTER_OTLP_HEADERS` carries it: `%`, `,`, spaces and anything
/// outside printable ASCII %-encoded.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_graphic() && b != b'%' && b != b',' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn truthy(name: &str) -> bool {
    text(name).is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_never_shown() {
        let header = Header { name: "Authorization".into(), value: Secret("Bearer abc123".into()) };
        let shown = format!("{header:?}");
        assert!(!shown.contains("abc123") && shown.contains("Authorization"), "{shown}");
    }

    #[test]
    fn what_install_writes_reads_back_the_same() {
        let headers = ["Authorization=Bearer a,b%c d".to_owned(), "x-team=blue".to_owned()];
        let env = install_env(&Wanted { headers: &headers, ..Wanted::default() }).unwrap();
        assert_eq!(env[0].0, "CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS");
        let back = parse_key_values(&env[0].1).unwrap();
        assert_eq!(back, [("Authorization".into(), "Bearer a,b%c d".into()), ("x-team".into(), "blue".into())]);
        let curl = ["X-Key: abc==".to_owned(), "Authorization:Bearer a=b:c".to_owned()];
        let env = install_env(&Wanted { headers: &curl, ..Wanted::default() }).unwrap();
        let back = parse_key_values(&env[0].1).unwrap();
        assert_eq!(back, [("X-Key".into(), "abc==".into()), ("Authorization".into(), "Bearer a=b:c".into())]);
        for bad in ["novalue", "=v", "a b=c", "k=line\nbreak secret", "X Key secret: v", "secret", "k=a\x01secret"] {
            let e = install_env(&Wanted { headers: &[bad.to_owned()], ..Wanted::default() }).unwrap_err();
            assert!(!e.contains("secret"), "{e}");
        }
    }

    #[test]
    fn protocols() {
        assert_eq!(Protocol::default(), Protocol::Protobuf);
        for p in [Protocol::Protobuf, Protocol::Json] {
            assert_eq!(Protocol::parse(p.as_str()), Some(p));
        }
        assert_eq!(Protocol::parse("grpc"), None);
    }

    #[test]
    fn a_bad_header_list_names_the_headers_not_their_values() {
        for text in [
            "Authorization=Bearer%zzsecret,x-team=blue",
            "Authorization=Bearer abc,secret%zz=blue",
            "api-key secret=blue",
            "x-api-key: secret=blue",
            "k=a%01secret",
        ] {
            let found = Found { name: "X".into(), text: text.into(), shared: false };
            let e = parse_headers(&found).unwrap_err();
            assert!(e.starts_with("X: member ") && !e.contains("secret") && !e.contains("blue"), "{text}: {e}");
        }
    }
}
