//! Claude Code's settings files: wiring our hooks in and out without touching anything else.
//!
//! The merge ([`wire`], [`unwire`]) keeps every key, hook and value of the user's file, in order
//! and byte for byte where it matters (numbers are kept as written, through serde_json's
//! `arbitrary_precision`); adds each of our hooks exactly once; and takes out only what it added:
//! our commands, the environment values it wrote (while they still hold the value it wrote), and
//! the lists and objects it created that nothing else fills. A file with a duplicate key is
//! refused, since any merge would silently drop one of the values.
//!
//! On disk ([`install`], [`uninstall`], [`read`]): a settings file is read without blocking (a FIFO
//! or device is refused, not waited on), bounded in size; a symlinked file (dotfile managers) is
//! resolved deliberately and written through to its target. A write holds a lock beside the file,
//! re-reads the file just before the rename and merges again if anything changed meanwhile (another
//! install, or Claude Code itself), and keeps the file's owner, group and exact mode. A hard-linked
//! file is refused: an atomic rewrite would split it from its other names.
//!
//! Backup policy: install keeps one sidecar, `<file>.claude-session.state`, with the file exactly
//! as it was before the first install and what the installs added (same owner and mode as the
//! file: it may hold secrets). Uninstall uses it (putting the original bytes back when what is left
//! equals it) and removes it. Nothing else is left beside the file.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use serde_json::{Map, Value, json};

use crate::util::libc_flags::{O_CLOEXEC, O_NOFOLLOW, O_NONBLOCK};

/// Which applet each event runs. (Moves to the applet table; [`wire`] takes any such list.)
pub const WIRING: &[(&str, &str)] = &[
    ("SessionStart", "session-start"),
    ("UserPromptSubmit", "session-start"),
    ("Stop", "session-start"),
    ("SubagentStop", "session-start"),
    ("SessionEnd", "session-start"),
    ("PreCompact", "session-start"),
    ("PreToolUse", "pre-tool"),
    ("PostToolUse", "post-tool"),
    ("PostToolUseFailure", "post-tool"),
];

/// Seconds Claude Code gives one of our hooks; they take about a millisecond.
pub const TIMEOUT: u64 = 10;
pub const SERVER_VAR: &str = "CLAUDE_SESSION_SERVER_URL";
/// The largest settings file read: real ones are a few KiB.
pub const MAX_SIZE: u64 = 1 << 20;
/// How long a write waits for another install or uninstall of the same file.
const LOCK_WAIT: Duration = Duration::from_secs(5);
/// Merges retried when the file keeps changing under us.
const ATTEMPTS: usize = 5;

/// What [`install`] or [`uninstall`] did (or, dry, would do) to the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to change.
    Unchanged,
    /// The merged file was written.
    Written,
    /// Uninstall left exactly the original: its bytes were put back, or the file removed when
    /// there was none.
    Restored,
}

/// `(event, command)` for each hook of ours: the commands under `dir`, absolute and UTF-8 (settings
/// hold strings, and Claude Code runs them from the project directory).
pub fn hooks_in(dir: &Path, wiring: &[(&'static str, &str)]) -> Result<Vec<(&'static str, String)>, String> {
    let text = dir.to_str().ok_or_else(|| format!("{}: the hook directory must be UTF-8", dir.display()))?;
    if !dir.is_absolute() {
        return Err(format!("{text}: the hook directory must be absolute"));
    }
    Ok(wiring.iter().map(|(event, applet)| (*event, dir.join(applet).to_string_lossy().into_owned())).collect())
}

/// Whether `url` can be an observability server endpoint: plain `http://host[:port]/path` (the
/// client speaks no TLS). For `--server`, before anything is written.
pub fn validate_url(url: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("{url:?} is not a server URL: {why} (expected http://host[:port]/events)"));
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it holds a space or control character");
    }
    let Ok(uri) = url.parse::<ureq::http::Uri>() else { return bad("it does not parse") };
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => return bad("https is not supported, only plain http"),
        _ => return bad("it does not start with http://"),
    }
    if uri.host().is_none_or(str::is_empty) {
        return bad("it names no host");
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return bad("credentials in the URL are not supported");
    }
    Ok(())
}

// ---- The merge: pure, on parsed documents ----

/// What our installs added to one settings file: enough for uninstall to take out exactly that.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    /// The file before our first write (None: there was none); None until known.
    original: Option<Option<String>>,
    /// Each environment variable we set, with the value we set.
    env: Vec<(String, String)>,
    /// Containers that did not exist until we added to them.
    created_hooks: bool,
    created_events: Vec<String>,
    created_env: bool,
}

impl Record {
    fn env_value(&self, var: &str) -> Option<&str> {
        self.env.iter().find(|(v, _)| v == var).map(|(_, value)| value.as_str())
    }

    fn to_json(&self) -> Value {
        json!({
            "what": "what `claude-session hooks install` added to the settings file beside this one; `hooks uninstall` takes it out and removes this file",
            "original": self.original.clone().flatten(),
            "env": self.env.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect::<Map<_, _>>(),
            "created": {"hooks": self.created_hooks, "events": self.created_events, "env": self.created_env},
        })
    }

    fn from_json(v: &Value) -> Option<Record> {
        let strings = |v: &Value| -> Option<Vec<String>> {
            v.as_array()?.iter().map(|s| s.as_str().map(str::to_owned)).collect()
        };
        let created = &v["created"];
        Some(Record {
            original: Some(match &v["original"] {
                Value::Null => None,
                text => Some(text.as_str()?.to_owned()),
            }),
            env: v["env"]
                .as_object()?
                .iter()
                .map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect::<Option<_>>()?,
            created_hooks: created["hooks"].as_bool()?,
            created_events: strings(&created["events"])?,
            created_env: created["env"].as_bool()?,
        })
    }
}

/// Parses a settings file's text: valid JSON, no duplicate key at any depth, an object whose
/// `hooks` is an object of lists and whose `env` is an object.
pub fn parse(text: &str) -> Result<Value, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))?;
    if let Some(key) = duplicate_key(text) {
        return Err(format!("the key {key} appears twice (which one is meant?)"));
    }
    let Some(top) = value.as_object() else { return Err("the top level is not an object".into()) };
    if let Some(hooks) = top.get("hooks") {
        let Some(hooks) = hooks.as_object() else { return Err("\"hooks\" is not an object".into()) };
        if let Some((event, _)) = hooks.iter().find(|(_, groups)| !groups.is_array()) {
            return Err(format!("the hooks of {event:?} are not a list"));
        }
    }
    if top.get("env").is_some_and(|env| !env.is_object()) {
        return Err("\"env\" is not an object".into());
    }
    Ok(value)
}

/// The first key that appears twice in one object of `text` (valid JSON), as a path such as
/// `"hooks"."PreToolUse"`. serde_json keeps the last value silently; this scan sees every key.
fn duplicate_key(text: &str) -> Option<String> {
    // One entry per open container: the keys seen so far (None for a list), and the key that
    // leads to it, for the message.
    let mut stack: Vec<(Option<HashSet<String>>, String)> = Vec::new();
    let mut expect_key = false;
    let mut last_key = String::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let start = i;
                i += 1;
                while bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if expect_key {
                    let key: String = serde_json::from_str(&text[start..=i]).unwrap_or_default();
                    let path = stack.iter().skip(1).map(|(_, k)| k.as_str()).chain([&text[start..=i]]);
                    let path = path.collect::<Vec<_>>().join(".");
                    let seen = stack.last_mut().and_then(|(keys, _)| keys.as_mut())?;
                    if !seen.insert(key) {
                        return Some(path);
                    }
                    last_key = text[start..=i].to_owned();
                    expect_key = false;
                }
            }
            b'{' => {
                stack.push((Some(HashSet::new()), std::mem::take(&mut last_key)));
                expect_key = true;
            }
            b'[' => stack.push((None, std::mem::take(&mut last_key))),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => expect_key = matches!(stack.last(), Some((Some(_), _))),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The text we write: two-space JSON, one trailing newline.
pub fn render(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Adds each of our hooks not yet present (a match-all group at the end of its event's list) and
/// sets each of `env`, noting in `record` what it added. A variable the user set themselves to
/// another value is theirs: that is refused, and `doc` is left as it was. Returns whether anything
/// changed. `doc` must come from [`parse`].
pub fn wire(
    doc: &mut Value,
    hooks: &[(&str, String)],
    env: &[(&str, &str)],
    record: &mut Record,
) -> Result<bool, String> {
    let top = doc.as_object_mut().ok_or("the top level is not an object")?;
    for (var, value) in env {
        match top.get("env").and_then(|e| e.get(var)) {
            Some(now) if now.as_str() != Some(value) && now.as_str() != record.env_value(var) => {
                return Err(format!(
                    "\"env\" already sets {var} to {now}, which claude-session did not write; \
                     change or remove it yourself"
                ));
            }
            _ => {}
        }
    }
    let mut changed = false;
    for (event, command) in hooks {
        let present = top.get("hooks").and_then(|h| h.get(event)).and_then(Value::as_array);
        if present.is_some_and(|groups| groups.iter().any(|g| commands(g).any(|c| c == command))) {
            continue;
        }
        record.created_hooks |= !top.contains_key("hooks");
        let all =
            top.entry("hooks").or_insert_with(|| json!({})).as_object_mut().ok_or("\"hooks\" is not an object")?;
        if !all.contains_key(*event) {
            record.created_events.push((*event).to_owned());
        }
        let groups = all.entry(*event).or_insert_with(|| json!([])).as_array_mut().ok_or("an event is not a list")?;
        groups.push(json!({"matcher": "", "hooks": [{"type": "command", "command": command, "timeout": TIMEOUT}]}));
        changed = true;
    }
    for (var, value) in env {
        if top.get("env").and_then(|e| e.get(var)).and_then(Value::as_str) == Some(value) {
            continue;
        }
        record.created_env |= !top.contains_key("env");
        let vars = top.entry("env").or_insert_with(|| json!({})).as_object_mut().ok_or("\"env\" is not an object")?;
        vars.insert((*var).to_owned(), (*value).into());
        record.env.retain(|(v, _)| v != var);
        record.env.push(((*var).to_owned(), (*value).to_owned()));
        changed = true;
    }
    Ok(changed)
}

/// Removes every hook whose command is one of ours (in any event), the groups that held only
/// ours, and, per `record`, each variable still holding the value we wrote and the containers we
/// created that are now empty. Without a record (an install by an older version), containers that
/// our removals emptied go, and variables stay. Returns whether anything changed.
pub fn unwire(doc: &mut Value, hooks: &[(&str, String)], record: Option<&Record>) -> bool {
    let ours: HashSet<&str> = hooks.iter().map(|(_, c)| c.as_str()).collect();
    let Some(top) = doc.as_object_mut() else { return false };
    let mut changed = false;
    if let Some(Value::Object(all)) = top.get_mut("hooks") {
        let mut emptied = Vec::new();
        for (event, groups) in all.iter_mut() {
            let Some(groups) = groups.as_array_mut() else { continue };
            let before = groups.len();
            groups.retain_mut(|group| {
                let Some(Value::Array(list)) = group.get_mut("hooks") else { return true };
                let n = list.len();
                list.retain(|h| !h["command"].as_str().is_some_and(|c| ours.contains(c)));
                changed |= list.len() != n;
                !(list.is_empty() && n > 0)
            });
            let created = record.is_none_or(|r| r.created_events.contains(event));
            if groups.is_empty() && before > 0 && created {
                emptied.push(event.clone());
            }
        }
        for event in &emptied {
            all.shift_remove(event);
        }
        if all.is_empty() && !emptied.is_empty() && record.is_none_or(|r| r.created_hooks) {
            top.shift_remove("hooks");
        }
    }
    if let (Some(record), Some(Value::Object(vars))) = (record, top.get_mut("env")) {
        let before = vars.len();
        vars.retain(|var, value| record.env_value(var).is_none_or(|ours| value.as_str() != Some(ours)));
        if vars.len() != before {
            changed = true;
            if vars.is_empty() && record.created_env {
                top.shift_remove("env");
            }
        }
    }
    changed
}

/// For `hooks status`: for each of `hooks`, its event and the commands of ours that event runs
/// (any path whose file name is the command's, with or without a `claude-session-` prefix).
pub fn wired<'a>(doc: &Value, hooks: &[(&'a str, String)]) -> Vec<(&'a str, Vec<String>)> {
    let name = |c: &str| -> String {
        let n = Path::new(c).file_name().and_then(|n| n.to_str()).unwrap_or("");
        n.strip_prefix("claude-session-").unwrap_or(n).to_owned()
    };
    hooks
        .iter()
        .map(|(event, command)| {
            let applet = name(command);
            let found = doc["hooks"][event]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(commands)
                .filter(|c| name(c) == applet)
                .map(str::to_owned)
                .collect();
            (*event, found)
        })
        .collect()
}

/// Every hook command of one matcher group.
fn commands(group: &Value) -> impl Iterator<Item = &str> {
    group["hooks"].as_array().into_iter().flatten().filter_map(|h| h["command"].as_str())
}

// ---- On disk ----

/// Reads and parses a settings file for inspection (`hooks status`): None when there is none.
pub fn read(path: &Path) -> Result<Option<Value>, String> {
    let target = resolve(path)?;
    match read_file(&target).map_err(|e| format!("{}: {e}", path.display()))? {
        None => Ok(None),
        Some((text, _)) => parse(&text).map(Some).map_err(|e| format!("{}: {e}", path.display())),
    }
}

/// Wires `hooks` and `env` into the settings file at `path` (see [`wire`]) and keeps the record
/// of what it added beside it. A refused file is left untouched, and nothing is left beside it.
/// `dry_run`: says what it would do and writes nothing.
pub fn install(path: &Path, hooks: &[(&str, String)], env: &[(&str, &str)], dry_run: bool) -> Result<Outcome, String> {
    update(path, dry_run, |text, beside| {
        let mut record = beside.record.clone().unwrap_or_default();
        if record.original.is_none() {
            record.original = Some(beside.original.clone().unwrap_or_else(|| text.map(str::to_owned)));
        }
        let mut doc = match text {
            Some(text) => parse(text)?,
            None => json!({}),
        };
        Ok(match wire(&mut doc, hooks, env, &mut record)? {
            true => (Plan::Write(render(&doc)), Sidecar::Write(record)),
            false => (Plan::Keep, Sidecar::Keep),
        })
    })
}

/// Takes our hooks out of the settings file at `path` (see [`unwire`]) and removes the record
/// beside it. When what is left equals the file before the first install, its bytes are put back
/// (or the file is removed, if there was none).
pub fn uninstall(path: &Path, hooks: &[(&str, String)], dry_run: bool) -> Result<Outcome, String> {
    update(path, dry_run, |text, beside| {
        let Some(text) = text else { return Ok((Plan::Keep, Sidecar::Remove)) };
        let mut doc = parse(text)?;
        let changed = unwire(&mut doc, hooks, beside.record.as_ref());
        let plan = match &beside.original {
            Some(None) if doc == json!({}) => Plan::Remove,
            Some(Some(original)) if parse(original).ok().as_ref() == Some(&doc) => Plan::Write(original.clone()),
            _ if changed => Plan::Write(render(&doc)),
            _ => Plan::Keep,
        };
        Ok((plan, Sidecar::Remove))
    })
}

/// What one merge decided for the settings file.
enum Plan {
    Keep,
    Write(String),
    Remove,
}

impl Plan {
    fn outcome(&self) -> Outcome {
        match self {
            Plan::Keep => Outcome::Unchanged,
            Plan::Write(_) => Outcome::Written,
            Plan::Remove => Outcome::Restored,
        }
    }
}

/// What one merge decided for the record beside the file.
enum Sidecar {
    Keep,
    Write(Record),
    Remove,
}

/// What lies beside the file: our record, and the original it holds (or an older version's
/// `.claude-session.orig`: empty meant no file).
#[derive(Default)]
struct Beside {
    record: Option<Record>,
    original: Option<Option<String>>,
}

/// Read, merge, write, under the lock. `merge` gets the file's text (None: no file) and what lies
/// beside it; it runs again on the fresh text when the file changed while we wrote.
fn update(
    path: &Path,
    dry_run: bool,
    merge: impl Fn(Option<&str>, &Beside) -> Result<(Plan, Sidecar), String>,
) -> Result<Outcome, String> {
    let shown = path.display();
    let untouched = |e: String| format!("{shown}: {e}; it was left untouched");
    let target = resolve(path)?;
    let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    let name = target.file_name().ok_or_else(|| format!("{shown}: not a file name"))?.to_string_lossy().into_owned();
    let state_name = format!("{name}.claude-session.state");
    let state = dir.join(&state_name);
    let legacy = [dir.join(format!("{name}.claude-session.orig")), dir.join(format!("{name}.claude-session.bak"))];

    if !dir.exists() {
        // No file, so nothing beside it: decide before creating anything.
        let (plan, _) = merge(None, &Beside::default()).map_err(untouched)?;
        if dry_run || matches!(plan, Plan::Keep) {
            return Ok(plan.outcome());
        }
        create_dirs(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let _lock = if dry_run { None } else { Some(lock(&dir).map_err(untouched)?) };
    let record =
        read_file(&state).ok().flatten().and_then(|(text, _)| Record::from_json(&serde_json::from_str(&text).ok()?));
    let original = match &record {
        Some(r) => r.original.clone(),
        None => read_file(&legacy[0]).ok().flatten().map(|(text, _)| Some(text).filter(|t| !t.is_empty())),
    };
    let beside = Beside { record, original };

    for _ in 0..ATTEMPTS {
        let current = read_file(&target).map_err(untouched)?;
        let text = current.as_ref().map(|(t, _)| t.as_str());
        let (mut plan, sidecar) = merge(text, &beside).map_err(untouched)?;
        if matches!(&plan, Plan::Write(new) if Some(new.as_str()) == text) {
            plan = Plan::Keep;
        }
        if dry_run {
            return Ok(plan.outcome());
        }
        let owner = match &current {
            Some((_, meta)) if meta.nlink() > 1 && matches!(plan, Plan::Write(_)) => {
                return Err(untouched(format!(
                    "it has {} hard links, and an atomic rewrite would split them (make the other names \
                     symlinks to it, then run this again)",
                    meta.nlink()
                )));
            }
            Some((_, meta)) => Owner { ids: Some((meta.uid(), meta.gid())), mode: meta.mode() & 0o7777 },
            None => new_file_owner(&dir),
        };
        let temp = match &plan {
            Plan::Write(new) => {
                Some(Temp::write(&dir, &name, new.as_bytes(), owner).map_err(|e| untouched(e.to_string()))?)
            }
            _ => None,
        };
        // The last look: a change made since our read is merged again, never overwritten.
        if read_file(&target).map_err(untouched)?.as_ref().map(|(t, _)| t.as_str()) != text {
            continue;
        }
        if let Sidecar::Write(record) = &sidecar {
            let text = render(&record.to_json());
            Temp::write(&dir, &state_name, text.as_bytes(), owner)
                .and_then(|t| t.commit(&state))
                .map_err(|e| format!("{}: {e}; {shown} was left untouched", state.display()))?;
        }
        let outcome = plan.outcome();
        match plan {
            Plan::Keep => {}
            Plan::Write(_) => temp.expect("made above").commit(&target).map_err(|e| format!("{shown}: {e}"))?,
            Plan::Remove => {
                fs::remove_file(&target).map_err(|e| format!("{shown}: {e}"))?;
                sync_dir(&dir).map_err(|e| format!("{shown}: {e}"))?;
            }
        }
        let done: &[&PathBuf] = match sidecar {
            Sidecar::Keep => &[],
            Sidecar::Write(_) => &[&legacy[0], &legacy[1]],
            Sidecar::Remove => &[&state, &legacy[0], &legacy[1]],
        };
        for file in done {
            let _ = fs::remove_file(file);
        }
        return Ok(outcome);
    }
    Err(format!("{shown}: it kept changing while we merged; nothing was written, try again"))
}

/// The settings file's owner and group (None: whoever we are) and exact mode, which a rewrite
/// keeps whatever the umask, and whoever runs it (root with the user's HOME, under sudo).
#[derive(Clone, Copy)]
struct Owner {
    ids: Option<(u32, u32)>,
    mode: u32,
}

/// A new file: 0600 (settings may hold secrets in `env`); run as root, its directory's owner's.
fn new_file_owner(dir: &Path) -> Owner {
    let ids = match nix::unistd::geteuid().is_root() {
        true => fs::metadata(dir).ok().map(|m| (m.uid(), m.gid())),
        false => None,
    };
    Owner { ids, mode: 0o600 }
}

/// Creates the missing directories down to `dir`; run as root, each gets its parent's owner.
fn create_dirs(dir: &Path) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut existing = dir;
    while fs::symlink_metadata(existing).is_err() {
        missing.push(existing);
        existing = existing.parent().ok_or_else(|| io::Error::other("no existing parent"))?;
    }
    let parent = fs::metadata(existing)?;
    for d in missing.into_iter().rev() {
        fs::DirBuilder::new().mode(0o755).create(d)?;
        if nix::unistd::geteuid().is_root() {
            std::os::unix::fs::lchown(d, Some(parent.uid()), Some(parent.gid()))?;
        }
    }
    Ok(())
}

/// The file a settings path names: a symlink (dotfile managers) is followed on purpose, so the
/// write lands in its target; one that leads nowhere is refused.
fn resolve(path: &Path) -> Result<PathBuf, String> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path).map_err(|e| {
            let to = fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_default();
            format!("{}: a symlink to {to}, which cannot be followed ({e}); it was left untouched", path.display())
        }),
        _ => Ok(path.to_path_buf()),
    }
}

/// A settings file's text and metadata, None when there is none. Never blocks and never follows
/// a link: anything but a regular file of at most [`MAX_SIZE`] bytes of UTF-8 is refused.
fn read_file(path: &Path) -> Result<Option<(String, fs::Metadata)>, String> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
        Ok(meta) if !meta.is_file() => return Err(not_regular(&meta)),
        Ok(_) => {}
    }
    let file = match OpenOptions::new().read(true).custom_flags(O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC).open(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
        Ok(file) => file,
    };
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    let too_big = || format!("larger than {MAX_SIZE} bytes, which no settings file is");
    if meta.len() > MAX_SIZE {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_SIZE + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_SIZE {
        return Err(too_big());
    }
    let text = String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_owned())?;
    Ok(Some((text, meta)))
}

fn not_regular(meta: &fs::Metadata) -> String {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    let what = match () {
        _ if t.is_dir() => "a directory",
        _ if t.is_fifo() => "a FIFO",
        _ if t.is_socket() => "a socket",
        _ if t.is_char_device() || t.is_block_device() => "a device",
        _ if t.is_symlink() => "a symlink",
        _ => "something else",
    };
    format!("{what}, not a regular file")
}

/// Excludes other installs and uninstalls from the directory (an `flock` on it: no lock file to
/// leave behind or to own), waiting at most [`LOCK_WAIT`].
fn lock(dir: &Path) -> Result<Flock<File>, String> {
    let mut file = File::open(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => return Ok(locked),
            Err((f, nix::errno::Errno::EWOULDBLOCK | nix::errno::Errno::EINTR)) if Instant::now() < deadline => {
                file = f;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                return Err(format!(
                    "another install or uninstall kept it locked for {}s; try again",
                    LOCK_WAIT.as_secs()
                ));
            }
            Err((_, e)) => return Err(format!("{}: lock: {e}", dir.display())),
        }
    }
}

/// A complete new version of a file beside it, owned and moded like the file, synced; removed
/// unless committed.
struct Temp {
    path: PathBuf,
    committed: bool,
}

impl Temp {
    fn write(dir: &Path, name: &str, bytes: &[u8], owner: Owner) -> io::Result<Temp> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(O_NOFOLLOW | O_CLOEXEC)
            .open(&path)?;
        let temp = Temp { path, committed: false };
        file.write_all(bytes)?;
        if let Some((uid, gid)) = owner.ids {
            let meta = file.metadata()?;
            if (meta.uid(), meta.gid()) != (uid, gid) {
                std::os::unix::fs::fchown(&file, Some(uid), Some(gid))
                    .map_err(|e| io::Error::new(e.kind(), format!("cannot keep its owner {uid}:{gid} ({e})")))?;
            }
        }
        // After the chown, which may clear set-id bits; fchmod ignores the umask.
        file.set_permissions(fs::Permissions::from_mode(owner.mode))?;
        file.sync_all()?;
        Ok(temp)
    }

    fn commit(mut self, to: &Path) -> io::Result<()> {
        fs::rename(&self.path, to)?;
        self.committed = true;
        sync_dir(to.parent().unwrap_or(Path::new(".")))
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
