//! Claude Code's settings files: wiring our hooks in and out without touching anything else.
//!
//! The merge ([`wire`], [`unwire`]) keeps every key, hook and value of the user's file, in order,
//! each number, string and key exactly as written ([`Json`]); adds each of our hooks exactly once;
//! and takes out only what it added: our commands, the environment values it wrote (while they
//! still hold the value it wrote), and the lists and objects it created that nothing else fills.
//! A file with a duplicate key is refused, since any merge would silently drop one of the values.
//!
//! On disk ([`install`], [`uninstall`], [`read`]): a settings file is read without blocking (a FIFO
//! or device is refused, not waited on), bounded in size; a symlinked file (dotfile managers) is
//! resolved deliberately and written through to its target. A write holds an `flock` on the
//! file's directory, re-reads the file just before the rename and merges again if anything
//! changed meanwhile (another install, or Claude Code itself), and keeps the file's owner, group
//! and exact mode. A hard-linked file is refused: an atomic rewrite would split it from its other
//! names, and an in-place write could leave Claude Code a torn file.
//!
//! Backup policy: install keeps one sidecar, `<file>.claude-session.state`, with the file exactly
//! as it was before the first install and what the installs added (same owner and mode as the
//! file: it may hold secrets). Uninstall uses it (putting the original bytes back when what is left
//! equals it) and removes it. Nothing else is left beside the file.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use serde_json::{Map, Value, json};

pub use doc::Json;

mod doc;
mod splice;

use crate::applets;
use crate::private::NOFOLLOW_NONBLOCK;

/// Set by `hooks install` in the settings it wires. The plugin's hooks (run with `--plugin`) see it
/// and leave the event to the settings' hooks: installed both ways, each event is recorded once.
pub const WIRED: &str = "CLAUDE_SESSION_WIRED";
/// Seconds Claude Code gives one of our hooks; they take about a millisecond.
pub const TIMEOUT: u64 = 10;
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

/// `(event, command)` for each hook of ours (from the applet table): the commands under `dir`,
/// absolute and UTF-8 (settings hold strings, and Claude Code runs them from the project
/// directory).
pub fn hooks_in(dir: &Path) -> Result<Vec<(&'static str, String)>, String> {
    let text = dir.to_str().ok_or_else(|| format!("{}: the hook directory must be UTF-8", dir.display()))?;
    if !dir.is_absolute() {
        return Err(format!("{text}: the hook directory must be absolute"));
    }
    Ok(applets::wiring().map(|(event, applet)| (event, dir.join(applet.name).to_string_lossy().into_owned())).collect())
}

/// The `env` block of a settings file as plain strings, for the configuration (`config`) outside
/// Claude Code; nothing when the file is missing or unreadable.
pub fn env_block(path: &Path) -> Vec<(String, String)> {
    let Ok(Some(doc)) = read(path) else { return Vec::new() };
    let Some(Json::Object(vars)) = doc.get("env") else { return Vec::new() };
    vars.iter().filter_map(|(k, v)| Some((doc::decode(k).into_owned(), v.as_str()?.into_owned()))).collect()
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
    /// Whether every write since `original` was a splice into the user's text (this version's),
    /// so the text holds their bytes as they are: uninstall then never puts `original` back over
    /// edits of theirs. False for an install by an older version, which rewrote the whole file.
    surgical: bool,
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
            "surgical": self.surgical,
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
            surgical: v["surgical"].as_bool().unwrap_or(false),
        })
    }
}

/// Parses a settings file's text: valid JSON, no duplicate key at any depth, an object whose
/// `hooks` is an object of lists and whose `env` is an object.
pub fn parse(text: &str) -> Result<Json, String> {
    // Claude Code reads a file that starts with a byte order mark; so do we, and keep it.
    let doc = Json::parse(text.strip_prefix(splice::BOM).unwrap_or(text))?;
    let Json::Object(top) = &doc else { return Err("the top level is not an object".into()) };
    for (key, value) in top {
        match (&*doc::decode(key), value) {
            ("hooks", Json::Object(events)) => {
                if let Some((event, _)) = events.iter().find(|(_, groups)| groups.as_array().is_none()) {
                    return Err(format!("the hooks of {event} are not a list"));
                }
            }
            ("hooks", _) => return Err("\"hooks\" is not an object".into()),
            ("env", Json::Object(_)) => {}
            ("env", _) => return Err("\"env\" is not an object".into()),
            _ => {}
        }
    }
    Ok(doc)
}

/// Adds each of our hooks not yet present (a match-all group at the end of its event's list) and
/// sets each of `env`, noting in `record` what it added. A variable the user set themselves to
/// another value is theirs: that is refused, and `doc` is left as it was. Returns whether anything
/// changed. `doc` must come from [`parse`].
pub fn wire(
    doc: &mut Json,
    hooks: &[(&str, String)],
    env: &[(&str, &str)],
    record: &mut Record,
) -> Result<bool, String> {
    for (var, value) in env {
        let Some(now) = doc.get("env").and_then(|e| e.get(var)) else { continue };
        let now_text = now.as_str();
        let ours = record.env_value(var).is_some_and(|ours| now_text.as_deref() == Some(ours));
        if now_text.as_deref() != Some(value) && !ours {
            // The value is not shown: an `env` value may be a credential (a header).
            return Err(format!(
                "\"env\" already sets {var} to another value, which claude-session did not write; change or remove it yourself"
            ));
        }
    }
    let not_settings = || "not a settings object".to_owned();
    let mut changed = false;
    for (event, command) in hooks {
        let groups = doc.get("hooks").and_then(|h| h.get(event)).and_then(Json::as_array);
        if groups.is_some_and(|groups| groups.iter().any(|g| commands(g).any(|c| c == *command))) {
            changed |= to_exec_form(doc, event, command);
            continue;
        }
        let top = doc.as_object_mut().ok_or_else(not_settings)?;
        let (all, created) = doc::member(top, "hooks", || Json::Object(Vec::new()));
        record.created_hooks |= created;
        let (groups, created) =
            doc::member(all.as_object_mut().ok_or_else(not_settings)?, event, || Json::Array(Vec::new()));
        if created && !record.created_events.iter().any(|e| e == event) {
            record.created_events.push((*event).to_owned());
        }
        let group =
            json!({"matcher": "", "hooks": [{"type": "command", "command": command, "args": [], "timeout": TIMEOUT}]});
        groups.as_array_mut().ok_or_else(not_settings)?.push(Json::from_value(&group));
        changed = true;
    }
    for (var, value) in env {
        if doc.get("env").and_then(|e| e.get(var)).and_then(Json::as_str).as_deref() == Some(value) {
            continue;
        }
        let top = doc.as_object_mut().ok_or_else(not_settings)?;
        let (vars, created) = doc::member(top, "env", || Json::Object(Vec::new()));
        record.created_env |= created;
        *doc::member(vars.as_object_mut().ok_or_else(not_settings)?, var, || Json::Scalar("null".into())).0 =
            Json::string(value);
        record.env.retain(|(v, _)| v != var);
        record.env.push(((*var).to_owned(), (*value).to_owned()));
        changed = true;
    }
    Ok(changed)
}

/// Whether Claude Code starts this hook entry itself (the exec form: an `args` list, even empty)
/// rather than as `sh -c "<command>"` (the shell form). An older Claude Code that does not know
/// `args` drops the unknown key (its schema is not strict; checked on 2.0.64) and runs `command`
/// through the shell: a bare absolute path, which is what we write, runs the same either way.
pub fn is_exec(hook: &Json) -> bool {
    matches!(hook.get("args"), Some(Json::Array(_)))
}

/// Turns each entry of `event` that runs `command` in the shell form (an install by an older
/// version) into the exec form, in place: `"args": []` after its `command`. Returns whether any was.
fn to_exec_form(doc: &mut Json, event: &str, command: &str) -> bool {
    let Some(groups) = doc.get_mut("hooks").and_then(|h| h.get_mut(event)).and_then(Json::as_array_mut) else {
        return false;
    };
    let mut changed = false;
    for group in groups {
        let Some(Json::Array(list)) = group.get_mut("hooks") else { continue };
        for hook in list {
            let ours = hook.get("command").and_then(Json::as_str).is_some_and(|c| c == command);
            let Some(members) = hook.as_object_mut() else { continue };
            if !ours || members.iter().any(|(k, _)| doc::decode(k) == "args") {
                continue;
            }
            let at = members.iter().position(|(k, _)| doc::decode(k) == "command").map_or(members.len(), |i| i + 1);
            members.insert(at, ("\"args\"".to_owned(), Json::Array(Vec::new())));
            changed = true;
        }
    }
    changed
}

/// Removes every hook whose command is one of ours (in any event), the groups that held only
/// ours, and, per `record`, each variable still holding the value we wrote and the containers we
/// created that are now empty. Without a record (an install by an older version), containers that
/// our removals emptied go, and variables stay, but for [`WIRED`], which always
/// goes with our hooks. Returns whether anything changed.
pub fn unwire(doc: &mut Json, hooks: &[(&str, String)], record: Option<&Record>) -> bool {
    let ours: HashSet<&str> = hooks.iter().map(|(_, c)| c.as_str()).collect();
    let Some(top) = doc.as_object_mut() else { return false };
    let mut changed = false;
    if let Some(Json::Object(all)) = doc::member_mut(top, "hooks") {
        let mut emptied = Vec::new();
        for (event, groups) in all.iter_mut() {
            let Some(groups) = groups.as_array_mut() else { continue };
            let before = groups.len();
            groups.retain_mut(|group| {
                let Some(Json::Array(list)) = group.get_mut("hooks") else { return true };
                let n = list.len();
                list.retain(|h| !h.get("command").and_then(Json::as_str).is_some_and(|c| ours.contains(&*c)));
                changed |= list.len() != n;
                !(list.is_empty() && n > 0)
            });
            let event = doc::decode(event).into_owned();
            let created = record.is_none_or(|r| r.created_events.contains(&event));
            if groups.is_empty() && before > 0 && created {
                emptied.push(event);
            }
        }
        for event in &emptied {
            doc::remove(all, event);
        }
        if all.is_empty() && !emptied.is_empty() && record.is_none_or(|r| r.created_hooks) {
            doc::remove(top, "hooks");
        }
    }
    // The mark that our hooks are wired here goes with them, whoever wrote it: left behind, it
    // would have the plugin's hooks leave every event to hooks that are gone.
    if let Some(Json::Object(vars)) = doc::member_mut(top, "env")
        && doc::remove(vars, WIRED).is_some()
    {
        changed = true;
        if vars.is_empty() && record.is_none_or(|r| r.created_env) {
            doc::remove(top, "env");
        }
    }
    if let (Some(record), Some(Json::Object(vars))) = (record, doc::member_mut(top, "env")) {
        let before = vars.len();
        vars.retain(|(var, value)| {
            let ours = record.env_value(&doc::decode(var));
            ours.is_none_or(|ours| value.as_str().as_deref() != Some(ours))
        });
        if vars.len() != before {
            changed = true;
            if vars.is_empty() && record.created_env {
                doc::remove(top, "env");
            }
        }
    }
    changed
}

/// One of our hooks found wired: its command, and whether in the exec form ([`is_exec`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wired {
    pub command: String,
    pub exec: bool,
}

/// For `hooks status`: for each wired event, the hooks of ours it runs (any path whose file name
/// is the event's applet, with or without the `claude-session-` prefix).
pub fn wired(doc: &Json) -> Vec<(&'static str, Vec<Wired>)> {
    applets::wiring()
        .map(|(event, applet)| {
            let groups = doc.get("hooks").and_then(|h| h.get(event)).and_then(Json::as_array);
            let found = groups
                .into_iter()
                .flatten()
                .flat_map(|g| g.get("hooks").and_then(Json::as_array).into_iter().flatten())
                .filter_map(|h| {
                    let command = h.get("command")?.as_str()?;
                    let ours = applets::by_file_name(Path::new(&*command)).is_some_and(|a| a.id == applet.id);
                    ours.then(|| Wired { command: command.into_owned(), exec: is_exec(h) })
                })
                .collect();
            (event, found)
        })
        .collect()
}

/// Every hook command of one matcher group.
fn commands(group: &Json) -> impl Iterator<Item = Cow<'_, str>> {
    let list = group.get("hooks").and_then(Json::as_array);
    list.into_iter().flatten().filter_map(|h| h.get("command")?.as_str())
}

// ---- On disk ----

/// Reads and parses a settings file for inspection (`hooks status`): None when there is none.
pub fn read(path: &Path) -> Result<Option<Json>, String> {
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
        let mut doc = match text {
            Some(text) => parse(text)?,
            None => Json::Object(Vec::new()),
        };
        let mut record = match &beside.record {
            Some(record) => record.clone(),
            None => first_record(&doc, text, hooks, beside.original.clone()),
        };
        Ok(match wire(&mut doc, hooks, env, &mut record)? {
            true => (Plan::Write(splice::splice(text, &doc)), Sidecar::Write(record)),
            false => (Plan::Keep, Sidecar::Keep),
        })
    })
}

/// The record of a first install. When the file already holds our hooks (an older version's
/// install), what it was before them is the file with them taken out by that version's rules.
fn first_record(doc: &Json, text: Option<&str>, hooks: &[(&str, String)], original: Option<Option<String>>) -> Record {
    let mut before = doc.clone();
    unwire(&mut before, hooks, None);
    let events = |d: &Json| -> Vec<String> {
        let Some(Json::Object(all)) = d.get("hooks") else { return Vec::new() };
        all.iter().map(|(k, _)| doc::decode(k).into_owned()).collect()
    };
    let kept = events(&before);
    Record {
        original: Some(original.clone().unwrap_or_else(|| match before == *doc {
            true => text.map(str::to_owned),
            false => Some(before.render()),
        })),
        created_hooks: doc.get("hooks").is_some() && before.get("hooks").is_none(),
        created_events: events(doc).into_iter().filter(|e| !kept.contains(e)).collect(),
        // The text is the user's own only when no older version's install came before.
        surgical: original.is_none() && before == *doc,
        ..Record::default()
    }
}

/// Takes our hooks out of the settings file at `path` (see [`unwire`]) and removes the record
/// beside it. When what is left equals the file before the first install, its bytes are put back
/// (or the file is removed, if there was none).
pub fn uninstall(path: &Path, hooks: &[(&str, String)], dry_run: bool) -> Result<Outcome, String> {
    update(path, dry_run, |text, beside| {
        let Some(text) = text else { return Ok((Plan::Keep, Sidecar::Remove)) };
        let mut doc = parse(text)?;
        let changed = unwire(&mut doc, hooks, beside.record.as_ref());
        // After this version's installs the text is the user's, ours spliced out of it; after an
        // older version's, which rewrote the whole file, the original's bytes go back when
        // nothing else changed.
        let legacy = !beside.record.as_ref().is_some_and(|r| r.surgical);
        let plan = match &beside.original {
            Some(None) if doc == Json::Object(Vec::new()) => Plan::Remove,
            Some(Some(original)) if legacy && parse(original).ok().as_ref() == Some(&doc) => {
                Plan::Restore(original.clone())
            }
            _ if changed => match splice::splice(Some(text), &doc) {
                new if beside.original.as_ref().is_some_and(|o| o.as_deref() == Some(new.as_str())) => {
                    Plan::Restore(new)
                }
                new => Plan::Write(new),
            },
            _ => Plan::Keep,
        };
        Ok((plan, Sidecar::Remove))
    })
}

/// What one merge decided for the settings file.
enum Plan {
    Keep,
    Write(String),
    /// Write the original text back.
    Restore(String),
    Remove,
}

impl Plan {
    fn outcome(&self) -> Outcome {
        match self {
            Plan::Keep => Outcome::Unchanged,
            Plan::Write(_) => Outcome::Written,
            Plan::Restore(_) | Plan::Remove => Outcome::Restored,
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
        if matches!(&plan, Plan::Write(new) | Plan::Restore(new) if Some(new.as_str()) == text) {
            plan = Plan::Keep;
        }
        if dry_run {
            return Ok(plan.outcome());
        }
        let owner = match &current {
            Some((_, meta)) if meta.nlink() > 1 && matches!(plan, Plan::Write(_) | Plan::Restore(_)) => {
                return Err(untouched(format!(
                    "it has {} hard links, and an atomic rewrite would split them (make the other names \
                     symlinks to it, then run this again)",
                    meta.nlink()
                )));
            }
            Some((_, meta)) => Owner { ids: Some((meta.uid(), meta.gid())), mode: meta.mode() & 0o7777 },
            None => new_file_owner(&dir),
        };
        // Everything slow first: the new file and the record, written and synced beside.
        let temp = match &plan {
            Plan::Write(new) | Plan::Restore(new) => {
                Some(Temp::write(&dir, &name, new.as_bytes(), owner).map_err(|e| untouched(e.to_string()))?)
            }
            _ => None,
        };
        let state_temp = match &sidecar {
            Sidecar::Write(record) => {
                let text = serde_json::to_string_pretty(&record.to_json()).unwrap_or_default();
                let temp = Temp::write(&dir, &state_name, text.as_bytes(), owner);
                Some(temp.map_err(|e| format!("{}: {e}; {shown} was left untouched", state.display()))?)
            }
            _ => None,
        };
        // Then the file changes hands in one step that finds out whether anyone wrote it since our
        // read; if someone did, their file is put back and the merge runs again on it.
        let outcome = plan.outcome();
        let swapped = match (plan, temp) {
            (Plan::Keep, _) => true,
            (Plan::Write(_) | Plan::Restore(_), Some(temp)) => {
                temp.swap(&target, text).map_err(|e| format!("{shown}: {e}"))?
            }
            (Plan::Remove, _) => remove_unchanged(&target, text).map_err(|e| format!("{shown}: {e}"))?,
            (Plan::Write(_) | Plan::Restore(_), None) => unreachable!("made above"),
        };
        if !swapped {
            continue;
        }
        if let Some(temp) = state_temp {
            temp.commit(&state).map_err(|e| format!("{}: {e}", state.display()))?;
        }
        let done: &[&PathBuf] = match sidecar {
            Sidecar::Keep => &[],
            Sidecar::Write(_) => &[&legacy[0], &legacy[1]],
            Sidecar::Remove => &[&state, &legacy[0], &legacy[1]],
        };
        for file in done {
            let _ = fs::remove_file(file);
        }
        if outcome != Outcome::Unchanged {
            sync_dir(&dir).map_err(|e| format!("{shown}: {e}"))?;
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
    let file = match OpenOptions::new().read(true).custom_flags(NOFOLLOW_NONBLOCK).open(path) {
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
            .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
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

    /// Renamed over `to` (the directory is synced by the caller).
    fn commit(mut self, to: &Path) -> io::Result<()> {
        fs::rename(&self.path, to)?;
        self.committed = true;
        Ok(())
    }

    /// Puts this file at `to` if `to` still holds `expected` (None: no file), and says whether
    /// it did. A concurrent writer's edit is never undone: the file is read once more right
    /// before (everything slow is done by then), then the files are exchanged in one step
    /// (`renameat2(RENAME_EXCHANGE)`), and if the one that comes out is not what the merge read
    /// (a write landed in the microseconds between), they are exchanged back at once. Where there
    /// is no exchange (not Linux, a file system without it), the rename follows the last look; so
    /// does a new file's where there are no hard links.
    fn swap(mut self, to: &Path, expected: Option<&str>) -> io::Result<bool> {
        let Some(expected) = expected else {
            // No file was there: a link, which fails if one has appeared since.
            return match fs::hard_link(&self.path, to) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                // A file system without hard links (vfat, exFAT, some network and FUSE mounts
                // say EPERM or ENOTSUP): the last look, then the rename, as where there is no
                // exchange below.
                Err(e)
                    if matches!(e.raw_os_error(), Some(nix::libc::EPERM | nix::libc::ENOTSUP | nix::libc::ENOSYS)) =>
                {
                    if fs::symlink_metadata(to).is_ok() {
                        return Ok(false);
                    }
                    fs::rename(&self.path, to)?;
                    self.committed = true;
                    Ok(true)
                }
                Err(e) => Err(e),
            };
        };
        // The last look, right before: nothing slow (no sync) stands between it and the exchange.
        if read_file(to).ok().flatten().map(|(text, _)| text).as_deref() != Some(expected) {
            return Ok(false);
        }
        match exchange(&self.path, to) {
            Ok(()) => {
                // Our temp name now holds what was at `to`.
                let was = read_file(&self.path).ok().flatten().map(|(text, _)| text);
                if was.as_deref() == Some(expected) {
                    return Ok(true);
                }
                exchange(&self.path, to)?;
                Ok(false)
            }
            Err(e)
                if matches!(e.raw_os_error(), Some(nix::libc::EINVAL | nix::libc::ENOSYS | nix::libc::ENOTSUP))
                    || e.kind() == io::ErrorKind::Unsupported =>
            {
                fs::rename(&self.path, to)?;
                self.committed = true;
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }
}

/// Removes `path` if it still holds `expected`, and says whether it did: it is moved aside in one
/// step, and moved back when what was moved is not what the merge read.
fn remove_unchanged(path: &Path, expected: Option<&str>) -> io::Result<bool> {
    let Some(expected) = expected else { return Ok(true) };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let aside = dir.join(format!(".{name}.{}.removed.tmp", std::process::id()));
    match fs::rename(path, &aside) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        other => other?,
    }
    let was = read_file(&aside).ok().flatten().map(|(text, _)| text);
    if was.as_deref() == Some(expected) {
        fs::remove_file(&aside)?;
        return Ok(true);
    }
    // Someone wrote it since: theirs goes back (unless yet another file is there now).
    let back = fs::hard_link(&aside, path);
    let _ = fs::remove_file(&aside);
    match back {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(false),
    }
}

/// Exchanges the files at `a` and `b` in one step: Linux's `renameat2(RENAME_EXCHANGE)`.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    const RENAME_EXCHANGE: nix::libc::c_uint = 2;
    let a = std::ffi::CString::new(a.as_os_str().as_bytes())?;
    let b = std::ffi::CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: two NUL-terminated paths that outlive the call, relative to the working directory.
    let done = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_renameat2,
            nix::libc::AT_FDCWD,
            a.as_ptr(),
            nix::libc::AT_FDCWD,
            b.as_ptr(),
            RENAME_EXCHANGE,
        )
    };
    if done == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SERVER_URL as SERVER_VAR;

    fn ours(dir: &str) -> Vec<(&'static str, String)> {
        hooks_in(Path::new(dir)).unwrap()
    }

    /// Wire then unwire on `text`: the document comes back exactly, and a second wire is a no-op.
    fn round_trip(text: &str, env: &[(&str, &str)]) -> Json {
        let original = parse(text).unwrap();
        let mut doc = original.clone();
        let mut record = Record::default();
        let hooks = ours("/h");
        wire(&mut doc, &hooks, env, &mut record).unwrap();
        assert!(!wire(&mut doc, &hooks, env, &mut record).unwrap(), "wiring twice changes nothing: {text}");
        for (event, commands) in wired(&doc) {
            assert_eq!(commands.len(), 1, "{event} wired once: {text}");
        }
        unwire(&mut doc, &hooks, Some(&record));
        assert_eq!(doc, original, "{text}");
        assert_eq!(doc.render(), Json::parse(text).unwrap().render(), "{text}");
        doc
    }

    /// Found by the settings_merge fuzzer (a harness false positive, kept as a regression): a
    /// value of the user's that merely contains our path is theirs, and stays.
    #[test]
    fn text_that_contains_our_path_is_not_ours() {
        round_trip(
            r#"{"model":"opus","hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command/h/pre-toolcal/bin/audit"}]}]},"env":{"FOO":"bar"}}"#,
            &[(SERVER_VAR, "http://127.0.0.1:4000/events")],
        );
    }

    #[test]
    fn refuses_what_is_not_a_settings_object() {
        for bad in ["[]", "1", "{\"hooks\": []}", "{\"hooks\": {\"PreToolUse\": {}}}", "{\"env\": 3}", "{", ""] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    /// Fuzz bug 1 (issue 16): empty lists and objects of the user's went with ours.
    #[test]
    fn uninstall_keeps_the_users_own_empty_lists_and_objects() {
        let text = r#"{"hooks":{"Notification":[],"PreToolUse":[{"matcher":"x","hooks":[]}]},"env":{}}"#;
        round_trip(text, &[]);
        round_trip(text, &[(SERVER_VAR, "http://127.0.0.1:4000/events")]);
        for text in [
            "{}",
            r#"{"hooks":{}}"#,
            r#"{"hooks":{"PreToolUse":[]}}"#,
            r#"{"env":{"A":"1"},"hooks":{"Stop":[{"matcher":"","hooks":[{"type":"command","command":"/x"}]}]},"z":null}"#,
            r#"{"hooks":{"SessionStart":[1,"two",{"hooks":3},{"hooks":[{"command":4}]}]}}"#,
        ] {
            round_trip(text, &[(SERVER_VAR, "http://s/events"), ("CLAUDE_SESSION_OTLP_ENDPOINT", "http://o:4318")]);
        }
    }

    /// Fuzz bug 1 (issue 16): a user's own server URL was overwritten by install, then deleted.
    #[test]
    fn a_users_own_server_url_is_never_overwritten_nor_deleted() {
        let text = r#"{"env":{"CLAUDE_SESSION_SERVER_URL":"http://mine/events"}}"#;
        let original = parse(text).unwrap();
        let mut doc = original.clone();
        let mut record = Record::default();
        let err = wire(&mut doc, &ours("/h"), &[(SERVER_VAR, "http://other/events")], &mut record).unwrap_err();
        // Named, but its value not shown: an `env` value may be a credential.
        assert!(err.contains("did not write") && err.contains(SERVER_VAR) && !err.contains("mine"), "{err}");
        assert_eq!(doc, original, "refused before changing anything");

        // The same value: theirs still, so it stays on uninstall.
        round_trip(text, &[(SERVER_VAR, "http://mine/events")]);

        // Ours (recorded) may be changed by a later install, and is removed while it holds ours...
        let mut doc = parse("{}").unwrap();
        let mut record = Record::default();
        wire(&mut doc, &ours("/h"), &[(SERVER_VAR, "http://a/events")], &mut record).unwrap();
        assert!(wire(&mut doc, &ours("/h"), &[(SERVER_VAR, "http://b/events")], &mut record).unwrap());
        let text = doc.render();
        unwire(&mut doc, &ours("/h"), Some(&record));
        assert_eq!(doc.render(), "{}\n");
        // ...but a value the user put there after us is theirs.
        let mut edited = parse(&text.replace("http://b/events", "http://theirs/events")).unwrap();
        unwire(&mut edited, &ours("/h"), Some(&record));
        assert_eq!(edited, parse(r#"{"env":{"CLAUDE_SESSION_SERVER_URL":"http://theirs/events"}}"#).unwrap());
    }

    /// Finding 5 (issue 10): numbers were rewritten (`1e2` as `100.0`) or refused (`1.0E+400`).
    #[test]
    fn numbers_survive_the_merge_byte_for_byte() {
        let text = r#"{"a":12345678901234567890123,"b":1e2,"c":-0,"d":1.0E+400,"e":[0.1,-1.5e-7,10]}"#;
        let mut doc = parse(text).unwrap();
        wire(&mut doc, &ours("/h"), &[], &mut Record::default()).unwrap();
        let written = doc.render();
        for n in ["12345678901234567890123", "1e2", "-0", "1.0E+400", "[\n    0.1,\n    -1.5e-7,\n    10\n  ]"] {
            assert!(written.contains(n), "{n} in {written}");
        }
        round_trip(text, &[]);
    }

    /// Finding 5 (issue 10): a duplicate key silently dropped the first value, hooks included.
    #[test]
    fn duplicate_keys_are_refused_at_every_depth_naming_the_key() {
        for (text, key) in [
            (r#"{"model":"a","model":"b"}"#, r#""model""#),
            (r#"{"hooks":{"PreToolUse":[],"PreToolUse":[{"hooks":[]}]}}"#, r#""hooks"."PreToolUse""#),
            (r#"{"hooks":{"Stop":[{"matcher":"","matcher":"x"}]}}"#, r#""hooks"."Stop"[0]."matcher""#),
            (r#"{"env":{"A\u0042":"1","AB":"2"}}"#, r#""env"."AB""#),
            (r#"[{"a":{"b":[1,{"c":1,"c":2}]}}]"#, r#"[0]."a"."b"[1]."c""#),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(key), "{text}: {err}");
        }
        for fine in [
            r#"{"a":[{"k":1},{"k":2}],"b":{"k":{"k":3}},"k":4}"#,
            r#"{"a\"b":1,"a":2,"s":"{\"a\":1,\"a\":2}","t":"\\","a\\":3}"#,
            r#"{"x":[[],{}],"y":{"":1,"z":[{"":2}]}}"#,
        ] {
            parse(fine).unwrap_or_else(|e| panic!("{fine}: {e}"));
        }
    }

    /// Wiring takes the list it is given: a newer list adds its new events once, and unwire
    /// takes out ours from any event.
    #[test]
    fn an_older_wiring_gains_the_new_events_once() {
        let all = ours("/h");
        let older = &all[..4];
        let mut doc = parse(r#"{"model":"x"}"#).unwrap();
        let mut record = Record::default();
        wire(&mut doc, older, &[], &mut record).unwrap();
        assert!(wire(&mut doc, &all, &[], &mut record).unwrap());
        assert!(!wire(&mut doc, &all, &[], &mut record).unwrap());
        for (event, commands) in wired(&doc) {
            let command = all.iter().find(|(e, _)| *e == event).unwrap().1.clone();
            assert_eq!(commands, [Wired { command, exec: true }], "{event}");
        }
        assert!(unwire(&mut doc, &all, Some(&record)));
        assert_eq!(doc.render(), "{\n  \"model\": \"x\"\n}\n");
    }

    /// Issue 28: a shell-form hook pays for `sh -c` before it starts. An install by an older
    /// version is turned into the exec form once, in place, keeping the entry's other keys; and
    /// unwire takes out both forms.
    #[test]
    fn a_shell_form_wiring_is_converted_to_the_exec_form_once() {
        let text = r#"{"hooks":{"PreToolUse":[{"matcher":"","hooks":[{"type":"command","command":"/h/pre-tool","timeout":10,"x":1}]},{"matcher":"Bash","hooks":[{"type":"command","command":"/usr/bin/audit"}]}]}}"#;
        let mut doc = parse(text).unwrap();
        let mut record = Record::default();
        assert!(!wired(&doc).iter().find(|(e, _)| *e == "PreToolUse").unwrap().1[0].exec);
        assert!(wire(&mut doc, &ours("/h"), &[], &mut record).unwrap());
        assert!(!wire(&mut doc, &ours("/h"), &[], &mut record).unwrap(), "converted once");
        let pre = &doc.get("hooks").unwrap().get("PreToolUse").unwrap().as_array().unwrap()[0];
        let hook = &pre.get("hooks").unwrap().as_array().unwrap()[0];
        assert_eq!(
            hook.render(),
            "{\n  \"type\": \"command\",\n  \"command\": \"/h/pre-tool\",\n  \"args\": [],\n  \"timeout\": 10,\n  \"x\": 1\n}\n"
        );
        let theirs = &doc.get("hooks").unwrap().get("PreToolUse").unwrap().as_array().unwrap()[1];
        assert!(!is_exec(&theirs.get("hooks").unwrap().as_array().unwrap()[0]), "theirs is left as it was");
        assert!(wired(&doc).iter().all(|(_, w)| w.len() == 1 && w[0].exec));
        assert!(unwire(&mut doc, &ours("/h"), None));
        assert!(wired(&doc).iter().all(|(_, w)| w.is_empty()));
        // Both forms at once (an older install beside a newer one) both go.
        let mut doc = parse(r#"{"hooks":{"Stop":[{"hooks":[{"type":"command","command":"/h/session-start"}]},{"hooks":[{"type":"command","command":"/h/session-start","args":[]}]}]}}"#).unwrap();
        assert!(unwire(&mut doc, &ours("/h"), None));
        assert_eq!(doc.render(), "{}\n");
    }

    #[test]
    fn the_record_round_trips() {
        let mut record = Record { original: Some(Some("{\"a\": 1e2}\n".into())), ..Record::default() };
        wire(&mut parse("{}").unwrap(), &ours("/h"), &[(SERVER_VAR, "http://s/e")], &mut record).unwrap();
        assert_eq!(Record::from_json(&record.to_json()), Some(record.clone()));
        record.original = Some(None);
        assert_eq!(Record::from_json(&record.to_json()), Some(record));
    }

    #[test]
    fn a_dry_run_writes_nothing() {
        let dir = std::env::temp_dir().join(format!("claude-session-settings-dry-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let path = dir.join(".claude/settings.json");
        assert_eq!(install(&path, &ours("/h"), &[], true), Ok(Outcome::Written));
        assert!(!dir.exists());
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, "{}").unwrap();
        assert_eq!(install(&path, &ours("/h"), &[(SERVER_VAR, "http://s/e")], true), Ok(Outcome::Written));
        assert_eq!(uninstall(&path, &ours("/h"), true), Ok(Outcome::Unchanged));
        assert_eq!(fs::read_to_string(&path).unwrap(), "{}");
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1, "nothing beside it");
        assert_eq!(install(&path, &ours("/h"), &[], false), Ok(Outcome::Written));
        assert_eq!(install(&path, &ours("/h"), &[], true), Ok(Outcome::Unchanged));
        assert_eq!(uninstall(&path, &ours("/h"), true), Ok(Outcome::Restored));
        assert_eq!(uninstall(&path, &ours("/h"), false), Ok(Outcome::Restored));
        assert_eq!(fs::read_to_string(&path).unwrap(), "{}");
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Finding 4 (issue 10): a change made between our read and our rename (by Claude Code, say)
    /// was overwritten. It is merged: the merge runs again on the fresh text.
    #[test]
    fn a_change_made_while_we_merge_is_merged_not_lost() {
        let dir = std::env::temp_dir().join(format!("claude-session-settings-unit-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("settings.json");
        fs::write(&path, "{\"model\": \"opus\"}\n").unwrap();
        let hooks = ours("/h");
        let calls = std::cell::Cell::new(0);
        let outcome = update(&path, false, |text, beside| {
            calls.set(calls.get() + 1);
            if calls.get() == 1 {
                // Someone else writes after our read, before our rename.
                fs::write(&path, "{\"model\": \"opus\", \"theme\": \"dark\"}\n").unwrap();
            }
            let mut doc = parse(text.unwrap())?;
            let mut record = beside.record.clone().unwrap_or_default();
            wire(&mut doc, &hooks, &[], &mut record)?;
            Ok((Plan::Write(doc.render()), Sidecar::Write(record)))
        })
        .unwrap();
        assert_eq!((outcome, calls.get()), (Outcome::Written, 2));
        let doc = parse(&fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(doc.get("theme").and_then(Json::as_str).as_deref(), Some("dark"), "their change kept");
        assert!(wired(&doc).iter().all(|(_, c)| c.len() == 1), "ours added");
        fs::remove_dir_all(&dir).unwrap();
    }
}
