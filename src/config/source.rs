//! Where a variable's text comes from, in this order:
//!
//! 1. The process environment. An `OTEL_*` variable is looked for first as `CLAUDE_SESSION_` and
//!    its name (`CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS`), then under its own name: Claude Code
//!    removes every `OTEL_*` variable from a hook's environment (and so from the deliverer the
//!    hook starts), and passes ours through. Its own name still works wherever it is visible:
//!    `flush`, `export`, cron, a hook run outside Claude Code; but a header, certificate, signal
//!    endpoint or privacy opt-in only beside a plain `OTEL_EXPORTER_OTLP_ENDPOINT` naming our
//!    collector (else it is Claude Code's own telemetry's, see [`plain_is_ours`]).
//! 2. A plugin option (`CLAUDE_PLUGIN_OPTION_<KEY>`, which Claude Code gives a plugin's hooks), for
//!    the variables [`PLUGIN_OPTIONS`] names: a variable set explicitly wins over the option.
//! 3. Outside Claude Code and the hooks, the `env` blocks of Claude Code's settings files (the
//!    project's `.claude/settings.local.json` and `.claude/settings.json`, for a project Claude
//!    Code trusts, then the user's `~/.claude/settings.json`), so that `show`, `flush` and cron see
//!    what the hooks see. For the
//!    same reason an `OTEL_*` variable is taken from there only under its `CLAUDE_SESSION_` name:
//!    the hooks never see the plain one.
//!
//! Every value in `config` asks here; nothing else in the program reads a variable.

use std::collections::HashMap;
use std::ffi::{CStr, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::{OTLP_ENDPOINT, SERVER_URL};

/// The prefix that carries an `OTEL_*` variable through Claude Code to our hooks.
pub const PASS_THROUGH: &str = "CLAUDE_SESSION_";
/// One of the Claude Code plugin's options (`userConfig` in its `.claude-plugin/plugin.json`).
pub struct PluginOption {
    /// Its key in `userConfig`.
    pub key: &'static str,
    /// The variable Claude Code hands the plugin's hooks: `CLAUDE_PLUGIN_OPTION_` and the key in
    /// capitals (written out, so that a hook's lookup builds no name).
    pub var: &'static str,
    /// The variable it stands for, which wins over it when set.
    pub stands_for: &'static str,
    /// Kept in Claude Code's credential store (and handed to the hooks all the same); never shown.
    pub sensitive: bool,
}

/// The plugin's options, in `plugin.json`'s order.
pub const PLUGIN_OPTIONS: &[PluginOption] = &[
    PluginOption {
        key: "server_url",
        var: "CLAUDE_PLUGIN_OPTION_SERVER_URL",
        stands_for: SERVER_URL,
        sensitive: false,
    },
    PluginOption {
        key: "otlp_endpoint",
        var: "CLAUDE_PLUGIN_OPTION_OTLP_ENDPOINT",
        stands_for: OTLP_ENDPOINT,
        sensitive: false,
    },
    PluginOption {
        key: "otlp_headers",
        var: "CLAUDE_PLUGIN_OPTION_OTLP_HEADERS",
        stands_for: "OTEL_EXPORTER_OTLP_HEADERS",
        sensitive: true,
    },
    PluginOption {
        key: "log_user_prompts",
        var: "CLAUDE_PLUGIN_OPTION_LOG_USER_PROMPTS",
        stands_for: "OTEL_LOG_USER_PROMPTS",
        sensitive: false,
    },
    PluginOption {
        key: "log_tool_details",
        var: "CLAUDE_PLUGIN_OPTION_LOG_TOOL_DETAILS",
        stands_for: "OTEL_LOG_TOOL_DETAILS",
        sensitive: false,
    },
];

/// Whether Claude Code runs us (it sets `CLAUDECODE=1` for hooks and its Bash tool).
pub fn under_claude_code() -> bool {
    env("CLAUDECODE", |v| !v.is_empty()).unwrap_or(false)
}

static ENVIRONMENT_ONLY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// For the hooks: Claude Code hands them the settings' `env` block in their environment, so they
/// never read a settings file (a hook's whole budget is about a millisecond). A hook's environment
/// never changes either: from here on, it is indexed once (see [`Environ`]).
pub fn use_environment_only() {
    ENVIRONMENT_ONLY.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether `name` is one of the standard variables that reach our hooks only under
/// [`PASS_THROUGH`].
pub fn is_otel(name: &str) -> bool {
    name.starts_with("OTEL_")
}

/// A variable's value, and where it was found.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Found {
    /// The variable it was found under, which an error names: `OTEL_…`, `CLAUDE_SESSION_OTEL_…`,
    /// `CLAUDE_PLUGIN_OPTION_…`.
    pub name: String,
    pub text: String,
    /// Found under a standard `OTEL_*` name, which Claude Code's own exporter reads too: a value
    /// meant for it (a gRPC protocol) is not ours to refuse.
    pub shared: bool,
}

/// A variable's text, from the first source above that sets it (an empty value is unset).
pub(super) fn text(name: &str) -> Option<String> {
    find(name).map(|found| found.text)
}

/// [`text`], and the name it was found under.
pub(super) fn find(name: &str) -> Option<Found> {
    // The environment's names for it, in the order they win.
    let option = PLUGIN_OPTIONS.iter().find(|o| o.stands_for == name).map(|o| o.var);
    let otel = is_otel(name);
    let names: [&[&str]; 3] = match (otel, &option) {
        (true, Some(var)) => [&[PASS_THROUGH, name], &[name], std::slice::from_ref(var)],
        (true, None) => [&[PASS_THROUGH, name], &[name], &[]],
        (false, Some(var)) => [&[name], std::slice::from_ref(var), &[]],
        (false, None) => [&[name], &[], &[]],
    };
    // The plain `OTEL_*` name, second, only when it is ours to take.
    let plain = |i: usize| otel && i == 1;
    if let Some((i, text)) = env_first(names, |i| !plain(i) || plain_is_ours(name)) {
        return Some(Found { name: names[i].concat(), text, shared: plain(i) });
    }
    if ENVIRONMENT_ONLY.load(std::sync::atomic::Ordering::Relaxed) || under_claude_code() {
        return None;
    }
    let name = if otel { format!("{PASS_THROUGH}{name}") } else { name.to_owned() };
    let text = settings_env().get(&name).filter(|v| !v.is_empty()).cloned()?;
    Some(Found { name, text, shared: false })
}

/// Whether a standard name found in the environment is ours to take. Those that say where records
/// go and with what credentials (headers, certificates, a signal's endpoint) are set for the
/// collector the plain `OTEL_EXPORTER_OTLP_ENDPOINT` names, Claude Code's own, and so are the
/// privacy opt-ins (`OTEL_LOG_USER_PROMPTS`, `OTEL_LOG_TOOL_DETAILS`), which widen what is sent:
/// they are taken only when that is the collector we send to, so that `flush` from a shell never
/// sends Claude Code's credentials (or our records) elsewhere, nor more than our own settings
/// allow (what our hooks' deliverers, which never see a plain `OTEL_*` name, would send). The
/// others carry no credential and widen nothing.
fn plain_is_ours(name: &str) -> bool {
    !(is_credential(name) || is_opt_in(name)) || foreign(env_text(&[PLAIN_ENDPOINT]).as_deref()) == Some(false)
}

/// Claude Code's `OTEL_LOG_*` opt-ins: each sends more (prompt text, tool input).
fn is_opt_in(name: &str) -> bool {
    name.starts_with("OTEL_LOG_")
}

/// `OTEL_EXPORTER_OTLP_{,LOGS_,TRACES_}{HEADERS,CERTIFICATE}` and the per-signal endpoints.
fn is_credential(name: &str) -> bool {
    name.starts_with("OTEL_EXPORTER_OTLP_")
        && ["_HEADERS", "_CERTIFICATE", "_ENDPOINT"].iter().any(|s| name.ends_with(s))
}

/// Claude Code's own exporter's endpoint, which never turns ours on.
const PLAIN_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// Whether a plain endpoint names another collector than `CLAUDE_SESSION_OTLP_ENDPOINT`; `None`
/// when it is not set.
fn foreign(plain: Option<&str>) -> Option<bool> {
    let base = |url: &str| url.trim().trim_end_matches('/').to_owned();
    let plain = base(plain?);
    Some(text(OTLP_ENDPOINT).is_none_or(|ours| base(&ours) != plain))
}

/// A variable of the process environment as text, when set, non-empty and UTF-8.
fn env_text(parts: &[&str]) -> Option<String> {
    env_parts(parts, |v| v.to_str().filter(|v| !v.is_empty()).map(str::to_owned)).flatten()
}

/// Each of `names` (standard `OTEL_*` variables) set where our hooks never see it, in this
/// environment or a settings file's `env` block, and not given under its [`PASS_THROUGH`] name
/// either, when `matters` says its value would change what we do (not a gRPC protocol, which is
/// Claude Code's own exporter's): one line each, naming where and what to set instead, never the
/// value.
pub(super) fn unseen(names: &[&str], matters: impl Fn(&str, &str) -> bool) -> Vec<String> {
    let blocks: Vec<(&str, PathBuf, HashMap<String, String>)> = settings_files()
        .into_iter()
        .map(|(scope, path)| {
            let block = crate::settings::env_block(&path).into_iter().collect();
            (scope, path, block)
        })
        .collect();
    // Claude Code's own endpoint, as it applies the blocks over the environment: a credential set
    // for another collector than ours is that collector's, and copying it to ours is never advice.
    let claude_endpoint = blocks.iter().rev().find_map(|(_, _, b)| b.get(PLAIN_ENDPOINT).cloned());
    let elsewhere = foreign(claude_endpoint.or_else(|| env_text(&[PLAIN_ENDPOINT])).as_deref()) == Some(true);
    let mut lines = Vec::new();
    for name in names {
        let carried = format!("{PASS_THROUGH}{name}");
        if env_text(&[&carried]).is_some() || blocks.iter().any(|(_, _, b)| b.contains_key(&carried)) {
            continue;
        }
        let credential = is_credential(name);
        if credential && elsewhere {
            continue;
        }
        let advice = |there: &str| match (credential, is_opt_in(name)) {
            (true, _) => format!("if our collector needs it, set {carried}{there} to our collector's own value"),
            // An opt-in for Claude Code's telemetry is no opt-in for ours: only if that is wanted.
            (false, true) => format!("only if our collector should get that text too, set {carried}{there}"),
            (false, false) => format!("for claude-session, set {carried}{there} too"),
        };
        let why = "Claude Code removes OTEL_* variables from hooks";
        if env_text(&[name]).is_some_and(|v| matters(name, &v)) {
            lines
                .push(format!("{name} is set in this environment, but our hooks never see it ({why}): {}", advice("")));
        }
        for (scope, path, block) in &blocks {
            if block.get(*name).is_some_and(|v| matters(name, v)) {
                lines.push(format!(
                    "{name} in the {scope} settings' env ({}) reaches Claude Code's own telemetry, never our hooks ({why}): {}",
                    path.display(),
                    advice(" there")
                ));
            }
        }
    }
    lines
}

/// The settings files whose `env` blocks apply, lowest precedence first, each with its scope: the
/// project's only for a project Claude Code trusts, as Claude Code itself applies them.
fn settings_files() -> Vec<(&'static str, PathBuf)> {
    let mut files = Vec::new();
    if let Some(home) = super::home() {
        files.push(("user", home.join(".claude/settings.json")));
    }
    if let ProjectSettings { files: project, trusted: true, .. } = project() {
        files.extend(project.iter().cloned());
    }
    files
}

/// The project's settings files, and whether Claude Code trusts the project.
struct ProjectSettings {
    dir: PathBuf,
    files: Vec<(&'static str, PathBuf)>,
    trusted: bool,
}

/// The current project's [`ProjectSettings`], looked up once. Read only outside Claude Code and
/// the hooks (a hook never reads a settings file, nor `~/.claude.json`).
fn project() -> &'static ProjectSettings {
    static PROJECT: OnceLock<ProjectSettings> = OnceLock::new();
    PROJECT.get_or_init(|| {
        let dir = crate::project::Project::resolve(super::project_dir(), None).dir;
        let settings = dir.join(".claude");
        // The home folder's `.claude` holds the user's settings, read as such.
        let files = match super::home().is_some_and(|home| home == dir) {
            true => Vec::new(),
            false => vec![
                ("project", settings.join("settings.json")),
                ("project local", settings.join("settings.local.json")),
            ],
        };
        // Claude Code's global config may be tens of MB: read only when there is something to trust.
        let trusted = !files.iter().any(|(_, f)| f.exists()) || trusted(&dir);
        ProjectSettings { dir, files, trusted }
    })
}

/// Whether Claude Code trusts `dir`: its trust dialog was accepted there or in a folder above, as
/// `projects[<dir>].hasTrustDialogAccepted` in its global config (`~/.claude.json`, or in
/// `$CLAUDE_CONFIG_DIR`) records. A cloned repository's settings are the repository's, not the
/// user's: until then they name no server of ours and no credential.
fn trusted(dir: &Path) -> bool {
    let config = match env_only("CLAUDE_CONFIG_DIR").map(PathBuf::from).filter(|d| d.is_absolute()) {
        Some(dir) => dir.join(".claude.json"),
        None => match super::home() {
            Some(home) => home.join(".claude.json"),
            None => return false,
        },
    };
    // Claude Code keeps each project's history there too: it may be large, so each member is only
    // scanned (a raw value), and just the entries of `dir` and its ancestors are parsed.
    type Raw<'a> = HashMap<String, &'a serde_json::value::RawValue>;
    let Ok(bytes) = crate::private::read(&config, 256 << 20) else { return false };
    let Ok(doc) = serde_json::from_slice::<Raw>(&bytes) else { return false };
    let Some(Ok(projects)) = doc.get("projects").map(|p| serde_json::from_str::<Raw>(p.get())) else { return false };
    let real = std::fs::canonicalize(dir).ok();
    let accepted = |dir: &Path| {
        dir.ancestors().any(|d| {
            let project = d.to_str().and_then(|d| projects.get(d));
            let project = project.and_then(|p| serde_json::from_str::<serde_json::Value>(p.get()).ok());
            project.is_some_and(|p| p.get("hasTrustDialogAccepted") == Some(&serde_json::Value::Bool(true)))
        })
    };
    let trusted = accepted(dir) || real.is_some_and(|real| accepted(&real));
    crate::debug!(
        "{}: Claude Code {} {}",
        config.display(),
        ["does not trust", "trusts"][trusted as usize],
        dir.display()
    );
    trusted
}

/// For `hooks status`: the project's settings files that exist but were left out, since Claude
/// Code does not trust the project; one line, naming them and what to do.
pub fn untrusted_settings() -> Vec<String> {
    if ENVIRONMENT_ONLY.load(std::sync::atomic::Ordering::Relaxed) || under_claude_code() {
        return Vec::new();
    }
    let project = project();
    let present: Vec<String> = match project.trusted {
        true => Vec::new(),
        false => project.files.iter().filter(|(_, f)| f.exists()).map(|(_, f)| f.display().to_string()).collect(),
    };
    if present.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "the project's settings ({}) were not read: Claude Code has not trusted {} (run claude there and accept its trust dialog; until then its settings name no server or credential of ours)",
        present.join(", "),
        project.dir.display()
    )]
}

/// A variable only the environment gives (set by Claude Code or the system, never in settings).
pub(super) fn env_only(name: &str) -> Option<OsString> {
    env(name, OsStr::to_os_string).filter(|v| !v.is_empty())
}

/// `read` of a variable of the process environment, as `getenv` finds it, borrowed rather than
/// copied (see [`Environ`]).
pub(super) fn env<T>(name: &str, read: impl FnOnce(&OsStr) -> T) -> Option<T> {
    env_parts(&[name], read)
}

/// Whether `test` holds for any of `names` in the process environment.
pub(super) fn env_any<const N: usize>(names: [&str; N], test: impl Fn(&OsStr) -> bool) -> bool {
    with_environ(|environ| names.iter().any(|name| environ.get(&[name]).is_some_and(&test)))
}

/// [`env`] of the variable named by `parts` one after the other, without joining them.
fn env_parts<T>(parts: &[&str], read: impl FnOnce(&OsStr) -> T) -> Option<T> {
    with_environ(|environ| environ.get(parts).map(read))
}

/// The first of `names` (each in parts, as [`env_parts`] takes it) set in the environment to
/// non-empty UTF-8 text that `takes` (asked only then): its index and text.
fn env_first<const N: usize>(names: [&[&str]; N], takes: impl Fn(usize) -> bool) -> Option<(usize, String)> {
    with_environ(|environ| {
        names.iter().enumerate().filter(|(_, parts)| !parts.is_empty()).find_map(|(i, parts)| {
            let text = environ.get(parts)?.to_str().filter(|v| !v.is_empty())?;
            takes(i).then(|| (i, text.to_owned()))
        })
    })
}

/// Whether `name` is one that [`Environ`] keeps: every name `config` reads (our own, the
/// `OTEL_*` ones under both names, the plugin's options, the ones Claude Code and the system set;
/// `tests::every_name_read_is_kept` holds it to that). A name left out is still found, by a
/// walk of its own: this only says what is fast. A `match` of literals, which compiles to a
/// length switch and word compares: it runs for a few dozen entries and most lookups.
fn ours(name: &[u8]) -> bool {
    // The walk's first test, so that no name kept here is one the walk passes over.
    if name.len() < 2 || !may_be_ours(name[0], name[1]) {
        return false;
    }
    match name {
        [b'C', b'L', b'A', b'U', b'D', b'E', rest @ ..] => {
            matches!(rest, b"CODE" | b"_PROJECT_DIR" | b"_CODE_SESSION_ID" | b"_CONFIG_DIR")
                || rest.starts_with(b"_SESSION_")
                || rest.starts_with(b"_PLUGIN_OPTION_")
        }
        [b'O', b'T', b'E', b'L', b'_', ..] => true,
        b"OBSERVABILITY_SERVER_URL" | b"HOOK_DEBUG" | b"HOME" | b"USER" | b"LOGNAME" => true,
        b"XDG_RUNTIME_DIR" | b"XDG_STATE_HOME" => true,
        _ => false,
    }
}

/// The first two bytes of every name [`ours`] keeps: most entries of a hundred are passed over on
/// this test, before their name is measured.
fn may_be_ours(first: u8, second: u8) -> bool {
    matches!(
        (first, second),
        (b'C', b'L') | (b'O', b'T' | b'B') | (b'H', b'O') | (b'U', b'S') | (b'L', b'O') | (b'X', b'D')
    )
}

/// The entries of `environ` that a lookup may want ([`ours`]), picked out in one walk, in
/// `environ`'s order: a name's first entry is the one `getenv` finds. Each is borrowed in place,
/// not copied (`std::env::var_os` would copy the name to a C string, take std's environment lock
/// and copy the value, at each lookup; a hook makes about thirty).
struct Environ(Vec<Entry>);

/// One `NAME=value` entry of `environ`: where it starts and how long its name is.
#[derive(Clone, Copy)]
struct Entry {
    text: *const u8,
    name: usize,
}

// SAFETY: an `Environ` points into the C library's environment, which nothing changes while one
// is in use: a hook's is made once and the hook never changes its environment (it has no threads
// and sets no variable); any other is made and dropped within one lookup (see `with_environ`).
unsafe impl Send for Environ {}
unsafe impl Sync for Environ {}

/// `read` of the environment's [`Environ`]. A hook's environment never changes (see
/// [`use_environment_only`]), so its index is made once and serves every lookup; other commands
/// (and the fuzz target, which sets variables) make one at each lookup.
fn with_environ<T>(read: impl FnOnce(&Environ) -> T) -> T {
    static HOOK: OnceLock<Environ> = OnceLock::new();
    let index = || Environ(walk(may_be_ours, ours, false));
    match ENVIRONMENT_ONLY.load(std::sync::atomic::Ordering::Relaxed) {
        true => read(HOOK.get_or_init(index)),
        false => read(&index()),
    }
}

impl Environ {
    /// The value of the variable named `parts` joined, as `getenv` finds it (its first entry). A
    /// name that no variable can have (empty, with `=` or NUL) is never found.
    fn get(&self, parts: &[&str]) -> Option<&OsStr> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let entry = match self.0.iter().find(|e| e.name == len && e.is(parts)) {
            Some(entry) => *entry,
            // Unset, unless the index does not keep such a name: then a walk of its own looks.
            None => {
                let kept = match parts {
                    [one] => ours(one.as_bytes()),
                    [head, ..] if *head == PASS_THROUGH => true,
                    _ => ours(parts.concat().as_bytes()),
                };
                let name = if kept { return None } else { parts.concat() };
                let name = name.as_bytes();
                if name.is_empty() || name.contains(&b'=') || name.contains(&0) {
                    return None;
                }
                *walk(|b, _| b == name[0], |n| n == name, true).first()?
            }
        };
        // SAFETY: the entry is NUL-terminated, its value after its name and `=`.
        Some(OsStr::from_bytes(unsafe { CStr::from_ptr(entry.text.add(entry.name + 1).cast()) }.to_bytes()))
    }
}

impl Entry {
    /// Whether the entry's name is `parts` joined (of the same length).
    fn is(&self, parts: &[&str]) -> bool {
        // SAFETY: `walk` measured the name within the entry.
        let name = unsafe { std::slice::from_raw_parts(self.text, self.name) };
        let mut at = 0;
        parts.iter().all(|part| {
            let same = name.get(at..at + part.len()) == Some(part.as_bytes());
            at += part.len();
            same
        })
    }
}

/// The one walk over `environ`: each entry whose first two bytes pass `pass` and whose name (up to
/// its first `=`) passes `keep`, in order; only the first such when `one`.
fn walk(pass: impl Fn(u8, u8) -> bool, keep: impl Fn(&[u8]) -> bool, one: bool) -> Vec<Entry> {
    let mut kept = Vec::with_capacity(16);
    // SAFETY: `environ` is the C library's NULL-terminated array of NUL-terminated `NAME=value`
    // strings, unchanged while we read it (this program has no threads, and sets no variable).
    // An entry is read at its first byte, at its second only when the first is not its NUL, then
    // up to its `=` or NUL.
    unsafe {
        let mut at = environ();
        if at.is_null() {
            return kept;
        }
        while !(*at).is_null() {
            let text = (*at).cast::<u8>();
            at = at.add(1);
            if *text == 0 || !pass(*text, *text.add(1)) {
                continue;
            }
            let mut name = 1;
            while !matches!(*text.add(name), b'=' | 0) {
                name += 1;
            }
            // An entry without `=` is no variable (`getenv` never finds it).
            if *text.add(name) == 0 || !keep(std::slice::from_raw_parts(text, name)) {
                continue;
            }
            kept.push(Entry { text, name });
            if one {
                break;
            }
        }
    }
    kept
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
        for (_, path) in settings_files() {
            merged.extend(crate::settings::env_block(&path));
        }
        merged
    })
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

    /// Every name `config` reads is one the hook's index keeps (else each would cost a walk of
    /// its own); Claude Code's own variables beside ours are left out.
    #[test]
    fn every_name_read_is_kept() {
        let otel = crate::config::otlp::OTEL_VARS.iter().flat_map(|n| [n.to_string(), format!("{PASS_THROUGH}{n}")]);
        let names: Vec<String> = (super::super::VARS.iter().map(|v| v.name).filter(|n| !n.ends_with('*')))
            .chain(PLUGIN_OPTIONS.iter().map(|o| o.var))
            .chain(["CLAUDECODE", "HOOK_DEBUG", "CLAUDE_CONFIG_DIR", "HOME", "USER", "LOGNAME"])
            .chain(["XDG_RUNTIME_DIR", "XDG_STATE_HOME", PLAIN_ENDPOINT])
            .map(str::to_owned)
            .chain(otel)
            .collect();
        for name in &names {
            assert!(ours(name.as_bytes()), "{name}");
        }
        for name in
            ["CLAUDE_CODE_ENTRYPOINT", "CLAUDE_PID", "CLAUDE", "XDG_SESSION_ID", "HOSTNAME", "PATH", "http_proxy"]
        {
            assert!(!ours(name.as_bytes()), "{name}");
        }
    }

    /// `env_first`'s one scan finds what looking up each name in turn finds: the first name set
    /// to non-empty text wins, whatever the order of the entries; names that cannot be set and
    /// unset ones are passed over.
    #[test]
    fn env_first_is_each_name_in_turn() {
        let set: Vec<String> = std::env::vars().filter(|(_, v)| !v.is_empty()).map(|(k, _)| k).collect();
        assert!(set.len() >= 2, "the test needs two variables set");
        let text = |name: &str| std::env::var(name).ok();
        for pair in set.windows(2) {
            let (a, b) = (pair[0].as_str(), pair[1].as_str());
            let (a_head, a_tail) = a.split_at(1);
            for names in [
                [&["CLAUDE_SESSION_NO_SUCH_VARIABLE"][..], &[a], &[b]],
                [&[b], &["", ""], &[a]],
                [&["PA\0TH"], &[a_head, a_tail], &[b]],
                [&["="], &[], &[b]],
            ] {
                let std_text = |n: &[&str]| {
                    let name = n.concat();
                    let ok = !name.is_empty() && !name.contains(['=', '\0']);
                    ok.then(|| std::env::var(name).ok().filter(|v| !v.is_empty())).flatten()
                };
                let want = names.iter().enumerate().find_map(|(i, n)| std_text(n).map(|t| (i, t)));
                assert_eq!(env_first(names, |_| true), want, "{names:?}");
            }
            assert_eq!(env_first([&[a], &[b]], |_| true), text(a).map(|t| (0, t)));
            assert_eq!(env_first([&[a], &[b]], |i| i == 1), text(b).map(|t| (1, t)), "a name not taken is passed over");
        }
        assert_eq!(env_first([&["CLAUDE_SESSION_NO_SUCH_VARIABLE"], &[]], |_| true), None);
    }
}
