//! Where a variable's text comes from, in this order:
//!
//! 1. The process environment. An `OTEL_*` variable is looked for first as `CLAUDE_SESSION_` and
//!    its name (`CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS`), then under its own name: Claude Code
//!    removes every `OTEL_*` variable from a hook's environment (and so from the deliverer the
//!    hook starts), and passes ours through. Its own name still works wherever it is visible:
//!    `flush`, `export`, cron, a hook run outside Claude Code.
//! 2. A plugin option (`CLAUDE_PLUGIN_OPTION_<KEY>`, which Claude Code gives a plugin's hooks), for
//!    the variables [`PLUGIN_OPTIONS`] names: a variable set explicitly wins over the option.
//! 3. Outside Claude Code and the hooks, the `env` blocks of Claude Code's settings files (the
//!    project's `.claude/settings.local.json` and `.claude/settings.json`, then the user's
//!    `~/.claude/settings.json`), so that `show`, `flush` and cron see what the hooks see. For the
//!    same reason an `OTEL_*` variable is taken from there only under its `CLAUDE_SESSION_` name:
//!    the hooks never see the plain one.
//!
//! Every value in `config` asks here; nothing else in the program reads a variable.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::sync::OnceLock;

use super::{OTLP_ENDPOINT, SERVER_URL};

/// The prefix that carries an `OTEL_*` variable through Claude Code to our hooks.
pub const PASS_THROUGH: &str = "CLAUDE_SESSION_";
/// The Claude Code plugin's options (`userConfig` in its `.claude-plugin/plugin.json`):
/// `(key, the variable it stands for, sensitive)`. Claude Code hands each to the plugin's hooks as
/// `CLAUDE_PLUGIN_OPTION_<KEY>`, a sensitive one too (it keeps it in its credential store).
pub const PLUGIN_OPTIONS: &[(&str, &str, bool)] = &[
    ("server_url", SERVER_URL, false),
    ("otlp_endpoint", OTLP_ENDPOINT, false),
    ("otlp_headers", "OTEL_EXPORTER_OTLP_HEADERS", true),
    ("log_user_prompts", "OTEL_LOG_USER_PROMPTS", false),
    ("log_tool_details", "OTEL_LOG_TOOL_DETAILS", false),
];

/// The variable Claude Code sets for a plugin option: the key in capitals.
pub fn plugin_option_var(key: &str) -> String {
    format!("CLAUDE_PLUGIN_OPTION_{}", key.to_ascii_uppercase())
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
    let found = |parts: &[&str], shared: bool| env_text(parts).map(|text| Found { name: parts.concat(), text, shared });
    let otel = is_otel(name);
    let explicit =
        if otel { found(&[PASS_THROUGH, name], false).or_else(|| found(&[name], true)) } else { found(&[name], false) };
    if let Some(value) = explicit {
        return Some(value);
    }
    if let Some((key, _, _)) = PLUGIN_OPTIONS.iter().find(|(_, var, _)| *var == name)
        && let Some(value) = found(&[&plugin_option_var(key)], false)
    {
        return Some(value);
    }
    if ENVIRONMENT_ONLY.load(std::sync::atomic::Ordering::Relaxed) || under_claude_code() {
        return None;
    }
    let name = if otel { format!("{PASS_THROUGH}{name}") } else { name.to_owned() };
    let text = settings_env().get(&name).filter(|v| !v.is_empty()).cloned()?;
    Some(Found { name, text, shared: false })
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
    let mut lines = Vec::new();
    for name in names {
        let carried = format!("{PASS_THROUGH}{name}");
        if env_text(&[&carried]).is_some() || blocks.iter().any(|(_, _, b)| b.contains_key(&carried)) {
            continue;
        }
        let why = "Claude Code removes OTEL_* variables from hooks";
        if env_text(&[name]).is_some_and(|v| matters(name, &v)) {
            lines.push(format!(
                "{name} is set in this environment, but our hooks never see it ({why}): for claude-session, set {carried} too"
            ));
        }
        for (scope, path, block) in &blocks {
            if block.get(*name).is_some_and(|v| matters(name, v)) {
                lines.push(format!(
                    "{name} in the {scope} settings' env ({}) reaches Claude Code's own telemetry, never our hooks ({why}): for claude-session, set {carried} there too",
                    path.display()
                ));
            }
        }
    }
    lines
}

/// The settings files whose `env` blocks apply, lowest precedence first, each with its scope.
fn settings_files() -> Vec<(&'static str, PathBuf)> {
    let project = crate::project::Project::resolve(super::project_dir(), None).dir.join(".claude");
    let mut files = Vec::new();
    if let Some(home) = super::home() {
        files.push(("user", home.join(".claude/settings.json")));
    }
    files.push(("project", project.join("settings.json")));
    files.push(("project local", project.join("settings.local.json")));
    files
}

/// A variable only the environment gives (set by Claude Code or the system, never in settings).
pub(super) fn env_only(name: &str) -> Option<OsString> {
    env(name, OsStr::to_os_string).filter(|v| !v.is_empty())
}

/// `read` of a variable of the process environment, as `getenv` finds it, borrowed rather than
/// copied. `std::env::var_os` copies the name to a C string, takes std's environment lock and
/// copies the value; a hook asks for about twenty variables, and in Claude Code's environment of a
/// hundred that was a tenth of its instructions. The value is lent to `read` only: a later
/// `set_var` (the `env_values` fuzz target makes them) may free it.
pub(super) fn env<T>(name: &str, read: impl FnOnce(&OsStr) -> T) -> Option<T> {
    env_parts(&[name], read)
}

/// [`env`] of the variable named by `parts` one after the other, without joining them.
fn env_parts<T>(parts: &[&str], read: impl FnOnce(&OsStr) -> T) -> Option<T> {
    use std::os::unix::ffi::OsStrExt;
    let len: usize = parts.iter().map(|p| p.len()).sum();
    if len == 0 || parts.iter().any(|p| p.contains(['=', '\0'])) {
        return None;
    }
    let name = parts.iter().flat_map(|p| p.bytes());
    // Most entries differ in their first byte: test it before walking the name's parts.
    let first = name.clone().next()?;
    // SAFETY: `environ` is the C library's NULL-terminated array of NUL-terminated `NAME=value`
    // strings, unchanged while we read it (this program has no threads). Each entry is read byte
    // by byte only while it matches `name` (which holds no NUL, so a shorter entry stops at its
    // own NUL), and the value up to its NUL.
    unsafe {
        let mut entry = environ();
        while !entry.is_null() && !(*entry).is_null() {
            let text = (*entry).cast::<u8>();
            if *text == first && name.clone().enumerate().all(|(i, b)| *text.add(i) == b) && *text.add(len) == b'=' {
                let value = std::ffi::CStr::from_ptr(text.add(len + 1).cast());
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
}
