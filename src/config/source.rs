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
use std::ffi::{OsStr, OsString};
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
    // The environment's names for it, in the order they win, looked for in one scan.
    let option = PLUGIN_OPTIONS.iter().find(|o| o.stands_for == name).map(|o| o.var);
    let otel = is_otel(name);
    let names: [&[&str]; 3] = match (otel, &option) {
        // In a hook, an `OTEL_*` name no variable has: only its plugin option may be set.
        (true, None) if !otel_may_be_set(name) => return None,
        (true, Some(var)) if !otel_may_be_set(name) => [std::slice::from_ref(var), &[], &[]],
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
/// copied (see [`scan`]).
pub(super) fn env<T>(name: &str, read: impl FnOnce(&OsStr) -> T) -> Option<T> {
    env_parts(&[name], read)
}

/// Whether `test` holds for any of `names` in the process environment, from one scan.
pub(super) fn env_any<const N: usize>(names: [&str; N], test: impl Fn(&OsStr) -> bool) -> bool {
    let mut any = false;
    scan(names.each_ref().map(std::slice::from_ref), |_, value| {
        any |= test(value);
        any
    });
    any
}

/// [`env`] of the variable named by `parts` one after the other, without joining them.
fn env_parts<T>(parts: &[&str], read: impl FnOnce(&OsStr) -> T) -> Option<T> {
    let (mut read, mut out) = (Some(read), None);
    scan([parts], |_, value| {
        out = read.take().map(|read| read(value));
        true
    });
    out
}

/// The first of `names` (each in parts, as [`env_parts`] takes it) set in the environment to
/// non-empty UTF-8 text that `takes` (asked only then), its index and text, from one scan of the
/// environment.
fn env_first<const N: usize>(names: [&[&str]; N], takes: impl Fn(usize) -> bool) -> Option<(usize, String)> {
    let mut best = None;
    scan(names, |i, value| match value.to_str().filter(|v| !v.is_empty()) {
        Some(text) if takes(i) => {
            best = Some((i, text.to_owned()));
            true
        }
        _ => false,
    });
    best
}

/// One scan of `environ` for all of `names`, in the order they win: `take` is lent the value of
/// each name as `getenv` finds it (its first entry), and says whether that value wins; the scan
/// stops when every name ahead of the winner has been seen. A name that no variable can have
/// (empty, with `=` or NUL) is never found.
///
/// A hook asks for about twenty variables, and Claude Code's environment has a hundred, many
/// of them `CLAUDE_*`: so an entry is first compared by its first byte only, and a value is
/// borrowed, not copied (`std::env::var_os` would copy the name to a C string, take std's
/// environment lock and copy the value). The value is lent to `take` only: a later `set_var`
/// (the `env_values` fuzz target makes them) may free it.
fn scan<const N: usize>(names: [&[&str]; N], mut take: impl FnMut(usize, &OsStr) -> bool) {
    use std::os::unix::ffi::OsStrExt;
    // Each name's first byte while it may still win; `None` once seen, or when it is empty or
    // holds a NUL (no variable's name can, and `value_of` relies on it).
    let mut first = names.map(|parts| {
        let nul = parts.iter().any(|p| p.as_bytes().contains(&0));
        parts.iter().find_map(|p| p.bytes().next()).filter(|_| !nul)
    });
    // `names[..open]` are the ones that may still win.
    let mut open = N;
    let trim = |first: &[Option<u8>], mut open: usize| {
        while open > 0 && first[open - 1].is_none() {
            open -= 1;
        }
        open
    };
    open = trim(&first, open);
    // The names' first bytes: most entries are passed over on this one test.
    let mut starts = [false; 256];
    for &b in first.iter().flatten() {
        starts[usize::from(b)] = true;
    }
    // SAFETY: `environ` is the C library's NULL-terminated array of NUL-terminated `NAME=value`
    // strings, unchanged while we read it (this program has no threads, and `take` does not
    // change the environment). An entry is read at its first byte, then as `value_of` reads it,
    // and its value up to its NUL.
    unsafe {
        let mut entry = environ();
        if open == 0 || entry.is_null() {
            return;
        }
        loop {
            let text = (*entry).cast::<u8>();
            if text.is_null() {
                return;
            }
            entry = entry.add(1);
            if !starts[usize::from(*text)] {
                continue;
            }
            let byte = Some(*text);
            let hit = (0..open).find_map(|i| (first[i] == byte).then(|| value_of(text, names[i]).map(|v| (i, v)))?);
            let Some((i, value)) = hit else { continue };
            first[i] = None;
            let value = OsStr::from_bytes(std::ffi::CStr::from_ptr(value.cast()).to_bytes());
            open = trim(&first, if take(i, value) { i } else { open });
            if open == 0 {
                return;
            }
        }
    }
}

/// The value of `entry` (`NAME=value`, NUL-terminated) when its name is `parts` joined. A name
/// with `=` or NUL in it is no variable's: a variable's name ends at its first `=`, as `getenv`
/// reads it.
///
/// SAFETY: `entry` is NUL-terminated, and `parts` hold no NUL: `entry` is read only while it
/// matches them, so a shorter entry stops at its own NUL.
unsafe fn value_of(entry: *const u8, parts: &[&str]) -> Option<*const u8> {
    let mut at = 0;
    for part in parts {
        for &b in part.as_bytes() {
            if unsafe { *entry.add(at) } != b {
                return None;
            }
            at += 1;
        }
    }
    // Only a name that matches to here can hold `=`: checked once, not for every entry.
    let named = unsafe { *entry.add(at) } == b'=' && !parts.iter().any(|p| p.as_bytes().contains(&b'='));
    named.then(|| unsafe { entry.add(at + 1) })
}

/// In a hook (see [`use_environment_only`]), whether the `OTEL_*` variable `name` may be set, as
/// itself or under [`PASS_THROUGH`]. One pass over the environment, the first time, keeps the
/// names that start with either (usually none or a few): a hook with OTLP on asks for a dozen such
/// variables, nearly all unset, and each was a pass over Claude Code's hundred. A hook's
/// environment never changes; other commands (and the fuzz target, which sets variables) always
/// look.
fn otel_may_be_set(name: &str) -> bool {
    use std::sync::atomic::Ordering::Relaxed;
    static NAMES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    if !ENVIRONMENT_ONLY.load(Relaxed) {
        return true;
    }
    let names = NAMES.get_or_init(|| {
        let mut names = Vec::new();
        // SAFETY: as in `env_parts`: each entry is read byte by byte only while it matches a
        // prefix (which holds no NUL), and a matching one up to its `=` or its NUL.
        unsafe {
            let starts = |text: *const u8, prefix: &[u8]| prefix.iter().enumerate().all(|(i, b)| *text.add(i) == *b);
            let mut entry = environ();
            while !entry.is_null() && !(*entry).is_null() {
                let text = (*entry).cast::<u8>();
                if starts(text, b"OTEL_") || starts(text, b"CLAUDE_SESSION_OTEL_") {
                    let mut len = 0;
                    while !matches!(*text.add(len), b'=' | 0) {
                        len += 1;
                    }
                    names.push(std::slice::from_raw_parts(text, len).to_vec());
                }
                entry = entry.add(1);
            }
        }
        names
    });
    names.iter().any(|n| n.ends_with(name.as_bytes()))
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
