//! Where a variable's text comes from: the process environment (read in place), else the Claude
//! Code plugin's option standing for it (`CLAUDE_PLUGIN_OPTION_<KEY>`), else, outside
//! Claude Code and the hooks, the `env` blocks of Claude Code's settings files (the project's
//! `.claude/settings.local.json` and `.claude/settings.json`, then the user's
//! `~/.claude/settings.json`). Every value in `config` asks here; nothing else reads a variable.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::sync::OnceLock;

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

/// The Claude Code plugin's options (`userConfig` in `plugin/.claude-plugin/plugin.json`):
/// `(key, the variable it stands for, sensitive)`. Claude Code hands each to the plugin's hooks as
/// `CLAUDE_PLUGIN_OPTION_<KEY>`, a sensitive one too (it keeps it in its credential store), and
/// strips every `OTEL_*` variable from a hook's environment: so these are how a plugin user
/// configures OTLP at all.
pub const PLUGIN_OPTIONS: &[(&str, &str, bool)] = &[
    ("server_url", super::SERVER_URL, false),
    ("otlp_endpoint", super::OTLP_ENDPOINT, false),
    ("otlp_headers", "OTEL_EXPORTER_OTLP_HEADERS", true),
    ("log_user_prompts", "OTEL_LOG_USER_PROMPTS", false),
    ("log_tool_details", "OTEL_LOG_TOOL_DETAILS", false),
];

/// The variable Claude Code sets for a plugin option.
pub fn plugin_option_var(key: &str) -> String {
    format!("CLAUDE_PLUGIN_OPTION_{}", key.to_ascii_uppercase())
}

/// The plugin option standing for variable `name`, when Claude Code set it (to a value).
fn plugin_option(name: &str) -> Option<String> {
    let (key, _, _) = PLUGIN_OPTIONS.iter().find(|(_, var, _)| *var == name)?;
    env(&plugin_option_var(key), |v| v.to_str().map(str::to_owned)).flatten().filter(|v| !v.trim().is_empty())
}

/// A variable's text: the environment's, else the plugin option standing for it, else (outside
/// Claude Code and the hooks) the settings' `env` block's.
pub(super) fn text(name: &str) -> Option<String> {
    match env(name, |v| (!v.is_empty()).then(|| v.to_str().map(str::to_owned))).flatten() {
        Some(v) => v,
        None if let Some(v) = plugin_option(name) => Some(v),
        None if ENVIRONMENT_ONLY.load(std::sync::atomic::Ordering::Relaxed) || under_claude_code() => None,
        None => settings_env().get(name).filter(|v| !v.is_empty()).cloned(),
    }
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
        let project = crate::project::Project::resolve(super::project_dir(), None).dir.join(".claude");
        let files = [
            super::home().map(|h| h.join(".claude/settings.json")),
            Some(project.join("settings.json")),
            Some(project.join("settings.local.json")),
        ];
        for path in files.into_iter().flatten() {
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
