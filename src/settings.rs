//! Claude Code's settings files: wiring our hooks in and out without touching anything else.
//!
//! The merge keeps every key, hook and value of the user's file (in order), adds each of our
//! hooks exactly once, and writes atomically after keeping the previous file as `.bak`. The first
//! install also keeps the untouched original as `.orig` (empty when there was no file), so that an
//! uninstall which leaves the same values restores it byte for byte.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::applets;
use crate::private::{self, Durability};

/// Seconds Claude Code gives one of our hooks; they take about a millisecond.
pub const TIMEOUT: u64 = 10;
pub const SERVER_VAR: &str = crate::config::SERVER_URL;

/// The `env` block of a settings file, if it has one: read without blocking on a FIFO and
/// bounded, for the configuration (`config`) outside Claude Code.
pub fn read_env_block(path: &Path) -> Option<Value> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new().read(true).custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits()).open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = Vec::new();
    file.take(MAX_SETTINGS + 1).read_to_end(&mut text).ok()?;
    let mut value: Value = serde_json::from_slice(&text).ok()?;
    value.get_mut("env").map(Value::take)
}

/// Settings files are small; a bigger one is not read.
pub const MAX_SETTINGS: u64 = 4 << 20;

pub struct Settings {
    pub path: PathBuf,
    /// The file's text, or None when there is no file.
    original: Option<String>,
    pub value: Value,
}

impl Settings {
    /// Reads a settings file; a missing one is `{}`; one that is not a JSON object is refused.
    pub fn load(path: &Path) -> Result<Settings, String> {
        let original = match fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        Settings::parse(path, original)
    }

    /// Parses a settings file's text (None: no file). Also the fuzz target's entry.
    pub fn parse(path: &Path, original: Option<String>) -> Result<Settings, String> {
        let value = match &original {
            None => json!({}),
            Some(text) => serde_json::from_str(text).map_err(|e| {
                format!("{} is not valid JSON ({e}); fix it first, it was left untouched", path.display())
            })?,
        };
        let settings = Settings { path: path.to_path_buf(), original, value };
        settings.check_shape()?;
        Ok(settings)
    }

    fn check_shape(&self) -> Result<(), String> {
        let bad = |what: &str| Err(format!("{}: {what}; it was left untouched", self.path.display()));
        let Some(top) = self.value.as_object() else { return bad("the top level is not an object") };
        if let Some(hooks) = top.get("hooks") {
            let Some(hooks) = hooks.as_object() else { return bad("\"hooks\" is not an object") };
            if hooks.values().any(|groups| !groups.is_array()) {
                return bad("a \"hooks\" event is not a list");
            }
        }
        if top.get("env").is_some_and(|env| !env.is_object()) {
            return bad("\"env\" is not an object");
        }
        Ok(())
    }

    /// Adds our hooks (those not yet present) and the server URL. Returns whether anything changed.
    pub fn wire(&mut self, hook_dir: &Path, server: Option<&str>) -> bool {
        let top = self.value.as_object_mut().expect("checked");
        let mut changed = false;
        let hooks = top.entry("hooks").or_insert_with(|| json!({})).as_object_mut().expect("checked");
        for (event, applet) in applets::wiring() {
            let command = hook_dir.join(applet.name).to_string_lossy().into_owned();
            let groups = hooks.entry(event).or_insert_with(|| json!([])).as_array_mut().expect("checked");
            if !groups.iter().any(|g| commands(g).any(|c| c == command)) {
                groups.push(
                    json!({"matcher": "", "hooks": [{"type": "command", "command": command, "timeout": TIMEOUT}]}),
                );
                changed = true;
            }
        }
        if let Some(url) = server {
            let env = top.entry("env").or_insert_with(|| json!({})).as_object_mut().expect("checked");
            if env.get(SERVER_VAR).and_then(Value::as_str) != Some(url) {
                env.insert(SERVER_VAR.into(), url.into());
                changed = true;
            }
        }
        changed
    }

    /// Removes exactly our hooks (commands in `hook_dir`) and the server URL, and the lists and
    /// objects that only they filled. Returns whether anything changed.
    pub fn unwire(&mut self, hook_dir: &Path) -> bool {
        let ours: Vec<String> =
            applets::hooks().map(|a| hook_dir.join(a.name).to_string_lossy().into_owned()).collect();
        let top = self.value.as_object_mut().expect("checked");
        let mut changed = false;
        if let Some(Value::Object(hooks)) = top.get_mut("hooks") {
            for groups in hooks.values_mut() {
                let Some(groups) = groups.as_array_mut() else { continue };
                for group in groups.iter_mut() {
                    if let Some(Value::Array(list)) = group.get_mut("hooks") {
                        let before = list.len();
                        list.retain(|h| !h["command"].as_str().is_some_and(|c| ours.iter().any(|o| o == c)));
                        changed |= list.len() != before;
                    }
                }
                groups.retain(|g| !matches!(g.get("hooks"), Some(Value::Array(l)) if l.is_empty()));
            }
            hooks.retain(|_, groups| !matches!(groups, Value::Array(g) if g.is_empty()));
        }
        remove_if_empty(top, "hooks");
        if let Some(Value::Object(env)) = top.get_mut("env") {
            changed |= env.shift_remove(SERVER_VAR).is_some();
        }
        remove_if_empty(top, "env");
        changed
    }

    /// Writes the value back: atomically, keeping the previous file as `.bak`, the very first one
    /// as `.orig`, and the file's mode. A symlinked settings file (dotfile managers) is written
    /// through to its target, which stays a regular file.
    pub fn save(&self) -> Result<(), String> {
        let err = |e: io::Error| format!("{}: {e}", self.path.display());
        let target = self.target();
        if let Some(dir) = target.parent() {
            fs::create_dir_all(dir).map_err(err)?;
        }
        let mode = mode_of(&target);
        let previous = self.original.as_deref().unwrap_or("");
        let orig = sibling(&target, "orig");
        if !orig.exists() {
            private::write_atomic(&orig, previous.as_bytes(), mode, Durability::Fsync).map_err(err)?;
        }
        if self.original.is_some() {
            private::write_atomic(&sibling(&target, "bak"), previous.as_bytes(), mode, Durability::Fsync)
                .map_err(err)?;
        }
        let mut text = serde_json::to_string_pretty(&self.value).map_err(|e| e.to_string())?;
        text.push('\n');
        private::write_atomic(&target, text.as_bytes(), mode, Durability::Fsync).map_err(err)
    }

    /// After an uninstall: if what is left equals the file as it was before the first install,
    /// put that file back byte for byte (or remove the file if there was none). Returns whether
    /// it did.
    pub fn restore_original(&self) -> Result<bool, String> {
        let target = self.target();
        let orig = sibling(&target, "orig");
        let Ok(text) = fs::read_to_string(&orig) else { return Ok(false) };
        let err = |e: io::Error| format!("{}: {e}", self.path.display());
        if text.is_empty() {
            if self.value != json!({}) {
                return Ok(false);
            }
            fs::remove_file(&target).map_err(err)?;
        } else {
            if serde_json::from_str::<Value>(&text).ok().as_ref() != Some(&self.value) {
                return Ok(false);
            }
            let mode = mode_of(&target);
            private::write_atomic(&target, text.as_bytes(), mode, Durability::Fsync).map_err(err)?;
        }
        let _ = fs::remove_file(&orig);
        Ok(true)
    }

    /// Forgets the original once the file has diverged from it for good (uninstall done).
    pub fn forget_original(&self) {
        let target = self.target();
        let _ = fs::remove_file(sibling(&target, "orig"));
    }
}

impl Settings {
    /// The file written: through a symlinked settings file to its target.
    fn target(&self) -> PathBuf {
        fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone())
    }
}

/// The file's permission bits, 0600 for a new file (settings may hold secrets in `env`).
fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0o600)
}

/// Every hook command of one matcher group.
fn commands(group: &Value) -> impl Iterator<Item = &str> {
    group["hooks"].as_array().into_iter().flatten().filter_map(|h| h["command"].as_str())
}

fn remove_if_empty(top: &mut Map<String, Value>, key: &str) {
    if matches!(top.get(key), Some(Value::Object(o)) if o.is_empty()) {
        top.shift_remove(key);
    }
}

/// `settings.json` → `settings.json.claude-session.<what>`.
fn sibling(path: &Path, what: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".claude-session.{what}"));
    path.with_file_name(name)
}

/// For `hooks status`: per event, the commands of ours it runs (any path whose file name is one
/// of our applets, with or without the `claude-session-` prefix).
pub fn wired(value: &Value) -> Vec<(&'static str, Vec<String>)> {
    applets::wiring()
        .map(|(event, applet)| {
            let found = value["hooks"][event]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(commands)
                .filter(|c| applets::by_file_name(Path::new(c)).is_some_and(|a| a.id == applet.id))
                .map(str::to_owned)
                .collect();
            (event, found)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the settings_merge fuzzer (a harness false positive, kept as a regression): a
    /// value of the user's that merely contains our path is theirs, and stays.
    #[test]
    fn text_that_contains_our_path_is_not_ours() {
        let text = r#"{"model":"opus","hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command/fuzz/hooks/pre-toolcal/bin/audit"}]}]},"env":{"FOO":"bar"}}"#;
        let mut settings = Settings::parse(Path::new("/x/settings.json"), Some(text.to_owned())).unwrap();
        let original = settings.value.clone();
        let dir = Path::new("/fuzz/hooks");
        assert!(settings.wire(dir, Some("http://127.0.0.1:4000/events")));
        assert!(!settings.wire(dir, Some("http://127.0.0.1:4000/events")));
        assert!(settings.unwire(dir));
        assert_eq!(settings.value, original);
    }

    #[test]
    fn refuses_what_is_not_a_settings_object() {
        for bad in ["[]", "1", "{\"hooks\": []}", "{\"hooks\": {\"PreToolUse\": {}}}", "{\"env\": 3}", "{"] {
            assert!(Settings::parse(Path::new("/x/s.json"), Some(bad.into())).is_err(), "{bad}");
        }
    }
}
