//! `hooks install`, `hooks uninstall`, `hooks status`: the applet symlinks and Claude Code's
//! settings, ours in and out, and a check of the whole setup.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{Error, Hooks, HooksAction, HooksInstall, HooksStatus, HooksUninstall, Run, absolute, remains};
use crate::applets::{self, APPLETS};
use crate::out::Report;
use crate::project::Project;
use crate::secrets;
use crate::session::Store;
use crate::settings::{self, Outcome};
use crate::sink::dashboard;
use crate::sink::outbox::{self, Outbox};
use crate::text::safe;
use crate::{config, journal, out, outln};

impl Run for Hooks {
    fn run(&self) -> Result<u8, Error> {
        match &self.action {
            HooksAction::Install(c) => c.run(),
            HooksAction::Uninstall(c) => c.run(),
            HooksAction::Status(c) => c.run(),
        }
    }
}

fn home() -> Result<PathBuf, String> {
    config::home().ok_or_else(|| "HOME is not set (or not absolute)".to_owned())
}

/// How long an install or uninstall waits for another one to finish.
const WIRING_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Held for the whole of an install or uninstall (an `flock` on the home directory, which both
/// need and neither removes): one at a time. Uninstall removes the hook directory once it has
/// emptied it, and an install that had found it there then made its links in a directory that
/// was gone ("No such file or directory"), or left links that the settings no longer named.
fn one_at_a_time() -> Result<fs::File, String> {
    let home = home()?;
    let held = fs::File::open(&home).map_err(|e| format!("{}: {e}", home.display()))?;
    crate::private::lock_within(&held, WIRING_WAIT)
        .map_err(|e| format!("{}: another `hooks install` or `uninstall` is running: {e}", home.display()))?;
    Ok(held)
}

/// `~/.claude/settings.json`, or `<project>/.claude/settings.json`. A project's `.claude` or
/// settings file (`settings.local.json` too, where credentials go) that is a link leading out of
/// the project is refused: a cloned repository can plant one to any JSON file of the user's, or
/// to one another user can read (a link of the user's own settings, into a dotfiles directory,
/// is followed as before).
fn settings_path(project: Option<&Path>) -> Result<PathBuf, String> {
    let Some(dir) = project else { return Ok(home()?.join(".claude/settings.json")) };
    let dir = absolute(dir)?;
    let path = dir.join(".claude/settings.json");
    let root = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
    for named in [&path, &path.with_file_name("settings.local.json"), &dir.join(".claude")] {
        if let Ok(target) = std::fs::canonicalize(named)
            && !target.starts_with(&root)
        {
            return Err(format!(
                "{}: a link to {}, outside the project {}; it was left untouched",
                named.display(),
                target.display(),
                root.display()
            ));
        }
    }
    Ok(path)
}

fn hook_dir(given: Option<&PathBuf>) -> Result<PathBuf, String> {
    match given {
        Some(dir) => absolute(dir),
        None => Ok(home()?.join(".claude/hooks/claude-session")),
    }
}

/// The applets a symlink may carry: hooks, `show`, `cleanup`.
fn linked() -> impl Iterator<Item = &'static applets::Applet> {
    APPLETS.iter().filter(|a| a.linked)
}

impl Run for HooksInstall {
    fn run(&self) -> Result<u8, Error> {
        let _held = if self.dry_run { None } else { Some(one_at_a_time()?) };
        // Everything is checked before anything changes.
        let path = settings_path(self.project.as_deref())?;
        let hook_dir = hook_dir(self.hook_dir.as_ref())?;
        let hooks = settings::hooks_in(&hook_dir)?;
        let binary = match &self.binary {
            Some(binary) => absolute(binary)?,
            None => std::env::current_exe().map_err(|e| format!("cannot tell where this program is: {e}"))?,
        };
        // A dry run checks an install that has not put the binary there yet.
        if !self.dry_run && !executable(&binary) {
            return Err(format!("--binary {}: not an executable file", binary.display()).into());
        }
        // The URLs as they are stored: the server's is its events endpoint, whichever form was given.
        let mut urls: Vec<(&str, &str, String)> = Vec::new();
        if let Some(url) = &self.server {
            let events = config::events_url(url.trim()).map_err(|e| Error::Usage(format!("--server: {e}")))?;
            urls.push(("server", config::SERVER_URL, events));
        }
        if let Some(url) = &self.otlp {
            let base = config::otlp::base_endpoint(url.trim()).map_err(|e| Error::Usage(format!("--otlp: {e}")))?;
            urls.push(("otlp", config::OTLP_ENDPOINT, base));
        }
        // The plugin's hooks, if it is installed too, see this and leave each event to ours.
        let mut env = vec![(config::WIRED.to_owned(), "1".to_owned())];
        env.extend(urls.iter().map(|(_, var, url)| (var.to_string(), url.clone())));
        let certificate = self.otlp_certificate.as_deref().map(absolute).transpose()?;
        let wanted = config::Wanted {
            headers: &self.otlp_header,
            protocol: self.otlp_protocol.as_deref(),
            signals: self.otlp_signals.as_deref(),
            certificate: certificate.as_deref(),
            timeout: self.otlp_timeout.as_deref(),
            service_name: self.otlp_service_name.as_deref(),
            resource_attributes: self.otlp_resource_attributes.as_deref(),
            log_user_prompts: self.log_user_prompts,
            log_tool_details: self.log_tool_details,
        };
        let otlp_env = config::install_env(&wanted).map_err(Error::Usage)?;
        if !otlp_env.is_empty() && self.otlp.is_none() {
            return Err(Error::Usage("the --otlp-… and --log-… options need --otlp URL".into()));
        }
        env.extend(otlp_env);
        // A project's `settings.json` is usually committed: a credential (the header list, a URL's
        // password) goes to its personal `settings.local.json` instead, which Claude Code applies
        // too, above it, and never commits; and our own reader reads it as it does the other (for
        // a project Claude Code trusts).
        let local = self.project.as_ref().map(|_| path.with_file_name("settings.local.json"));
        let (personal, env): (Vec<_>, Vec<_>) =
            env.into_iter().partition(|(k, v)| local.is_some() && config::is_credential(k, v));
        let secret_in = local.as_ref().filter(|_| !personal.is_empty()).unwrap_or(&path);
        let has_secret = !personal.is_empty() || env.iter().any(|(k, v)| config::is_credential(k, v));
        // A header's value is a credential, and the file (and its state file beside it, which
        // keeps the same mode) would hold it: not where other users can read it.
        if has_secret && let Some(mode) = readable_by_others(secret_in) {
            return Err(format!(
                "{}: {} is readable by other users (mode {mode:o}), who would read the credential there; \
                 make it yours alone first: chmod 600 {}",
                credential_flag(&self.otlp_header),
                secret_in.display(),
                secret_in.display()
            )
            .into());
        }
        if let Some(local) = local.as_ref().filter(|_| !personal.is_empty())
            && git_tracks(local)
        {
            return Err(format!(
                "{}: {} is tracked by git, so the credential would be committed; untrack it first \
                 (git rm --cached {}) and add it to .gitignore",
                credential_flag(&self.otlp_header),
                local.display(),
                local.display()
            )
            .into());
        }
        let personal: Vec<(&str, &str)> = personal.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let local = local.filter(|_| !personal.is_empty());
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let links = plan_links(&hook_dir, &binary)?;
        let outcome = settings::install(&path, &hooks, &env, true)?;
        if let Some(local) = &local {
            settings::install(local, &[], &personal, true)?;
        }
        let missing = remains::missing(&[&hook_dir, path.parent().unwrap_or(Path::new("/"))]);

        if self.dry_run {
            for link in &links {
                outln!("would link {} -> {}", link.display(), binary.display());
            }
            match outcome {
                Outcome::Unchanged => outln!("{}: already wired", path.display()),
                _ => outln!("would wire {} events in {}", hooks.len(), path.display()),
            }
            if let Some(local) = &local {
                let names: Vec<&str> = personal.iter().map(|(k, _)| *k).collect();
                outln!("would set {} in {} (credentials: never in settings.json)", names.join(", "), local.display());
            }
            return Ok(0);
        }
        let made = make_links(&hook_dir, &links, &binary).map_err(|e| format!("{}: {e}", hook_dir.display()))?;
        // The credential first: hooks wired without it would send without it.
        if let Some(local) = &local
            && let Err(e) = settings::install(local, &[], &personal, false)
        {
            made.undo();
            return Err(e.into());
        }
        let outcome = match settings::install(&path, &hooks, &env, false) {
            Ok(outcome) => outcome,
            Err(e) => {
                if let Some(local) = &local {
                    let _ = settings::uninstall(local, &[], false);
                }
                made.undo();
                return Err(e.into());
            }
        };
        // For uninstall, which removes these again once empty.
        if let Err(e) = remains::remember(&hook_dir, &missing) {
            out::error(&format!("warning: {}: {e}; uninstall will leave the directories made now", hook_dir.display()));
        }
        outln!("linked {} applets in {} -> {}", links.len(), hook_dir.display(), binary.display());
        match outcome {
            Outcome::Unchanged => outln!("{}: already wired, nothing changed", path.display()),
            _ => outln!("{}: wired {} hook events", path.display(), hooks.len()),
        }
        for (what, var, url) in &urls {
            let there = match personal.iter().any(|(k, _)| k == var) {
                true => "settings.local.json",
                false => "the settings'",
            };
            outln!("{what:<6} {} ({var} in {there} env)", crate::secrets::masked(url));
        }
        if let Some(local) = &local {
            let names: Vec<&str> = personal.iter().map(|(k, _)| *k).collect();
            outln!(
                "{}: {} (credentials: in the project's personal settings, never in its settings.json)",
                local.display(),
                names.join(", ")
            );
            if git_ignores(local) == Some(false) {
                out::error(&format!(
                    "warning: git does not ignore {}; add .claude/settings.local.json to the project's .gitignore \
                     so that it is never committed",
                    local.display()
                ));
            }
        }
        // An earlier version wrote the header list into the project's settings.json itself.
        if local.is_some() {
            for (var, _) in settings::env_block(&path).iter().filter(|(k, v)| config::is_credential(k, v)) {
                out::error(&format!(
                    "warning: {} still sets {var} (a credential, written there by an earlier install): remove it \
                     from that file, which is usually committed",
                    path.display()
                ));
            }
        }
        Ok(0)
    }
}

/// The applet symlinks to make in `dir`. Something there that is not a symlink is someone
/// else's: refused, never replaced.
fn plan_links(dir: &Path, binary: &Path) -> Result<Vec<PathBuf>, String> {
    let links: Vec<PathBuf> = linked().map(|a| dir.join(a.name)).collect();
    for link in &links {
        match fs::symlink_metadata(link) {
            Ok(meta) if !meta.file_type().is_symlink() => {
                return Err(format!("{} exists and is not a symlink; move it away first", link.display()));
            }
            // A link to another program (`--hook-dir ~/bin`, where `show` may be anything).
            Ok(_) if !ours_link(link, binary) => {
                let to = fs::read_link(link).unwrap_or_default();
                return Err(format!(
                    "{} links to {}, not to claude-session; move it away first",
                    link.display(),
                    to.display()
                ));
            }
            _ => {}
        }
        if link == binary {
            return Err(format!("--binary {} is inside the hook directory", binary.display()));
        }
    }
    Ok(links)
}

/// What [`make_links`] made that was not there before, so a failed install can take it back.
#[derive(Default)]
struct Made {
    dirs: Vec<PathBuf>,
    links: Vec<PathBuf>,
}

impl Made {
    fn undo(&self) {
        for link in &self.links {
            let _ = fs::remove_file(link);
        }
        for dir in self.dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Makes `dir` and (or re-points) each symlink in it atomically: a new link beside it, renamed
/// over it. Run as root for another user's home (sudo), what it makes belongs to that user.
fn make_links(dir: &Path, links: &[PathBuf], binary: &Path) -> io::Result<Made> {
    let mut made = Made::default();
    let missing: Vec<&Path> = dir.ancestors().take_while(|d| fs::symlink_metadata(d).is_err()).collect();
    let owner = dir.ancestors().find_map(|d| fs::metadata(d).ok()).map(|m| (m.uid(), m.gid()));
    let give = |path: &Path| match owner {
        Some((uid, gid)) if nix::unistd::geteuid().is_root() && uid != 0 => {
            std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        }
        _ => Ok(()),
    };
    let result = (|| {
        for new in missing.iter().rev() {
            match fs::create_dir(new) {
                Ok(()) => {
                    made.dirs.push(new.to_path_buf());
                    give(new)?;
                }
                // A concurrent install made it a moment ago: it is that one's to record.
                Err(e)
                    if e.kind() == io::ErrorKind::AlreadyExists
                        && fs::symlink_metadata(new).is_ok_and(|m| m.is_dir()) => {}
                Err(e) => return Err(e),
            }
        }
        for link in links {
            if fs::read_link(link).is_ok_and(|to| to == binary) {
                continue;
            }
            let existed = fs::symlink_metadata(link).is_ok();
            let name = link.file_name().unwrap_or_default().to_string_lossy();
            let tmp = link.with_file_name(format!(".{name}.{}.link", std::process::id()));
            let _ = fs::remove_file(&tmp);
            symlink(binary, &tmp)?;
            give(&tmp)?;
            if let Err(e) = fs::rename(&tmp, link) {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
            if !existed {
                made.links.push(link.clone());
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(made),
        Err(e) => {
            made.undo();
            Err(e)
        }
    }
}

impl Run for HooksUninstall {
    fn run(&self) -> Result<u8, Error> {
        let _held = one_at_a_time()?;
        let path = settings_path(self.project.as_deref())?;
        let hook_dir = hook_dir(self.hook_dir.as_ref())?;
        // Install lists only directories it made above the hook directory and the settings file:
        // nothing else named there is removed, whoever wrote the list.
        let mut made = remains::recall(&hook_dir);
        made.retain(|d| hook_dir.starts_with(d) || path.parent().is_some_and(|p| p.starts_with(d)));
        // The links go whatever the settings say: a broken settings file must not keep them.
        let mut removed = 0;
        for applet in linked() {
            let link = hook_dir.join(applet.name);
            let binary = std::env::current_exe().unwrap_or_default();
            if fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink())
                && ours_link(&link, &binary)
                && fs::remove_file(&link).is_ok()
            {
                removed += 1;
            }
        }
        let _ = fs::remove_file(hook_dir.join(remains::MADE));
        if removed > 0 {
            outln!("removed {removed} applet links from {}", hook_dir.display());
        }
        let hooks = settings::hooks_in(&hook_dir)?;
        let outcome = settings::uninstall(&path, &hooks, false);
        // What install put in the project's personal settings (credentials) goes with the hooks.
        if self.project.is_some() {
            let local = path.with_file_name("settings.local.json");
            match settings::uninstall(&local, &[], false) {
                Ok(Outcome::Unchanged) => {}
                Ok(_) => outln!("{}: our env entries removed", local.display()),
                Err(e) => out::error(&format!("warning: {e}; our credentials may still be there")),
            }
        }
        // The hook directory, its parent when it is ours by default (`~/.claude/hooks`), and every
        // directory install made (`~/.claude` when there was none), each if now empty.
        // A hook directory that was given is removed only when install made it (it is listed):
        // `--hook-dir ~/bin` was there before.
        let mut dirs = made;
        if self::hook_dir(None).is_ok_and(|default| default == hook_dir) {
            dirs.push(hook_dir.clone());
            dirs.extend(hook_dir.parent().map(Path::to_path_buf));
        }
        let emptied = remains::remove_empty(&dirs);
        let shown = path.display();
        let nothing = match outcome.map_err(|e| format!("{e}; our hooks may still be wired there"))? {
            Outcome::Restored if !path.exists() => {
                outln!("{shown}: our hooks removed, and the file, since there was none before install");
                false
            }
            Outcome::Restored => {
                outln!("{shown}: our hooks removed; the file is byte for byte what it was before install");
                false
            }
            Outcome::Written => {
                outln!("{shown}: our hooks and env entries removed; the rest of the file is kept");
                false
            }
            Outcome::Unchanged => removed == 0,
        };
        if !emptied.is_empty() {
            let list: Vec<String> = emptied.iter().map(|d| d.display().to_string()).collect();
            outln!("removed empty directories: {}", list.join(", "));
        }
        if nothing && emptied.is_empty() {
            let what = if self.purge { "nothing to unwire" } else { "nothing to do" };
            outln!("{what}: no applet links in {}, nothing of ours in {shown}", hook_dir.display());
        }
        let data = remains::data();
        if self.purge {
            if !data.is_empty() {
                outln!("--purge: removing the recorded data:");
                for d in &data {
                    outln!("  {:<8} {} ({})", d.what, d.dir.display(), d.holds);
                }
            }
            let left = remains::purge();
            for why in &left {
                out::error(&format!("not removed: {why}"));
            }
            return Ok(if left.is_empty() { 0 } else { 1 });
        }
        if !data.is_empty() {
            outln!("kept (`claude-session hooks uninstall --purge` removes them):");
            for d in &data {
                outln!("  {:<8} {} ({})", d.what, d.dir.display(), d.holds);
            }
        }
        Ok(0)
    }
}

/// One hook command found in a settings file.
struct Command {
    command: String,
    executable: bool,
    /// Started by Claude Code itself, not through `sh -c` (see `settings::is_exec`).
    exec: bool,
}

/// What one settings file wires.
enum SettingsFile {
    Absent { scope: &'static str, path: PathBuf },
    Broken { scope: &'static str, path: PathBuf, error: String },
    Present { scope: &'static str, path: PathBuf, events: Vec<(&'static str, Vec<Command>)> },
}

/// The plugin as Claude Code has it installed: `~/.claude/plugins/installed_plugins.json`, and
/// the user settings' `enabledPlugins` and `pluginConfigs`.
struct Plugin {
    /// `session-recorder@<marketplace>`.
    id: String,
    path: PathBuf,
    /// Its `bin/claude-session`, which its hooks run.
    binary: bool,
    enabled: bool,
    /// Each option's key and what is shown of it: a sensitive one never (Claude Code keeps it in
    /// its credential store, which is not read).
    options: Vec<(&'static str, Option<String>)>,
}

impl Plugin {
    fn find(home: &Path) -> Option<Plugin> {
        let value = |path: &Path| -> Option<Value> { serde_json::from_str(&settings::read(path).ok()??.render()).ok() };
        let installed = value(&home.join(".claude/plugins/installed_plugins.json"))?;
        let (id, installs) =
            installed["plugins"].as_object()?.iter().find(|(id, _)| id.split('@').next() == Some(config::PLUGIN))?;
        let path = PathBuf::from(installs.as_array()?.first()?["installPath"].as_str()?);
        let user = value(&home.join(".claude/settings.json")).unwrap_or_default();
        let options = config::PLUGIN_OPTIONS
            .iter()
            .map(|&config::PluginOption { key, sensitive, .. }| {
                // Masked as every URL status shows: a server URL may carry a user and password.
                let shown = match &user["pluginConfigs"][id]["options"][key] {
                    _ if sensitive => None,
                    Value::String(s) => Some(secrets::masked(s)),
                    Value::Null => None,
                    other => Some(secrets::masked(&other.to_string())),
                };
                (key, shown)
            })
            .collect();
        Some(Plugin {
            id: id.clone(),
            binary: executable(&path.join("bin/claude-session")),
            enabled: user["enabledPlugins"][id] == true,
            path,
            options,
        })
    }

    /// Whether its hooks run and record.
    fn records(&self) -> bool {
        self.enabled && self.binary
    }
}

/// `hooks status`: the whole setup, and every problem named.
struct Status {
    plugin: Option<Plugin>,
    files: Vec<SettingsFile>,
    /// Events wired nowhere with a working command.
    missing: Vec<&'static str>,
    store: Result<PathBuf, String>,
    journal: Result<PathBuf, String>,
    /// Events lost (not journaled), and the last reason.
    lost: (usize, Option<String>),
    server: Option<String>,
    /// Whether the server answers the dashboard's API (see `dashboard::probe`).
    server_answer: Option<Result<(), String>>,
    otlp: Option<String>,
    /// The names of the headers OTLP requests carry; their values are never shown.
    otlp_headers: Vec<String>,
    /// Each sink's queue, when an outbox exists.
    outbox: Option<outbox::Status>,
    problems: Vec<String>,
    /// Settings that do nothing where they are (an `OTEL_*` variable our hooks never see).
    warnings: Vec<String>,
}

impl Run for HooksStatus {
    fn run(&self) -> Result<u8, Error> {
        let status = Status::check()?;
        out::report(&status, self.json);
        Ok(if status.problems.is_empty() { 0 } else { 1 })
    }
}

impl Status {
    fn check() -> Result<Status, String> {
        let project = Project::resolve(config::project_dir(), None);
        let scopes = [
            ("user", home()?.join(".claude/settings.json")),
            ("project", project.dir.join(".claude/settings.json")),
            ("project local", project.dir.join(".claude/settings.local.json")),
        ];
        let mut problems = config::problems();
        let mut working: Vec<&'static str> = Vec::new();
        let mut files = Vec::new();
        for (scope, path) in &scopes {
            let (scope, path) = (*scope, path.clone());
            files.push(match settings::read(&path) {
                Err(error) => {
                    problems.push(format!("{scope} settings: {error}"));
                    SettingsFile::Broken { scope, path, error }
                }
                Ok(None) => SettingsFile::Absent { scope, path },
                Ok(Some(doc)) => {
                    let events: Vec<(&'static str, Vec<Command>)> = settings::wired(&doc)
                        .into_iter()
                        .map(|(event, commands)| {
                            let commands: Vec<Command> = commands
                                .into_iter()
                                .map(|w| Command {
                                    executable: executable(Path::new(&w.command)),
                                    command: w.command,
                                    exec: w.exec,
                                })
                                .collect();
                            for c in commands.iter().filter(|c| !c.executable) {
                                problems
                                    .push(format!("{event} runs {}, which is missing or not executable", c.command));
                            }
                            if commands.iter().any(|c| c.executable) {
                                working.push(event);
                            }
                            (event, commands)
                        })
                        .collect();
                    SettingsFile::Present { scope, path, events }
                }
            });
        }
        let plugin = Plugin::find(&home()?);
        if let Some(p) = plugin.as_ref().filter(|p| p.enabled && !p.binary) {
            problems.push(format!(
                "the plugin {} runs {}, which is missing or not executable",
                p.id,
                p.path.join("bin/claude-session").display()
            ));
        }
        let by_plugin = plugin.as_ref().is_some_and(Plugin::records);
        let marked = scopes
            .iter()
            .any(|(_, path)| settings::env_block(path).iter().any(|(k, v)| k == config::WIRED && !v.is_empty()));
        if by_plugin && working.is_empty() && marked {
            problems.push(format!(
                "{} is set in settings that wire none of our hooks: the plugin's hooks leave every event to \
                 hooks that are not there, and nothing is recorded (remove it, or run: claude-session hooks install)",
                config::WIRED
            ));
        }
        if by_plugin && !working.is_empty() && !marked {
            problems.push(format!(
                "installed both as the plugin and in settings by an older version: each event is recorded twice \
                 (run: claude-session hooks install, which marks the settings with {})",
                config::WIRED
            ));
        }
        let missing: Vec<&'static str> =
            applets::wiring().map(|(e, _)| e).filter(|e| !working.contains(e) && !by_plugin).collect();
        if !missing.is_empty() {
            problems.push(format!("not wired anywhere: {} (run: claude-session hooks install)", missing.join(", ")));
        }
        let store = Store::open().map(|s| s.dir);
        let journal = journal::require_dir();
        for e in [&store, &journal].into_iter().filter_map(|r| r.as_ref().err()) {
            problems.push(e.clone());
        }
        let lost = journal.as_ref().map(|dir| journal::losses(dir)).unwrap_or((0, None));
        if lost.0 > 0 {
            problems.push(format!(
                "{} events could not be journaled; the last: {}",
                lost.0,
                lost.1.clone().unwrap_or_default()
            ));
        }
        // URLs as we show them: a user, a password or a token in one is masked.
        let server_url = config::server_url();
        let server_answer = server_url.as_deref().map(|url| dashboard::probe(url, config::server_timeout()));
        if let Some(Err(e)) = &server_answer {
            problems.push(format!("server {}", secrets::masked(e)));
        }
        let server = server_url.map(|u| secrets::masked(&u));
        let otlp_config = config::otlp().ok().flatten();
        let exporters = || otlp_config.iter().flat_map(|o| o.logs.iter().chain(&o.traces));
        let otlp = exporters().next().map(|e| secrets::masked(&e.url));
        let mut otlp_headers: Vec<String> = Vec::new();
        for header in exporters().flat_map(|e| &e.headers) {
            let name = secrets::masked(&header.name);
            if !otlp_headers.iter().any(|h| h.eq_ignore_ascii_case(&name)) {
                otlp_headers.push(name);
            }
        }
        let outbox = Outbox::existing().map(|o| o.status(&crate::sink::outbox::configured()));
        for q in outbox.iter().flat_map(|o| &o.sinks) {
            // Another destination's queue is its own hooks' business; an older version's waits for
            // someone to say where it goes.
            if !q.configured {
                if q.older_version && q.pending > 0 {
                    problems.extend(q.elsewhere());
                }
                continue;
            }
            if let (true, Some(error)) = (q.pending > 0, &q.last_error) {
                problems.push(format!("{}: {} events waiting; the last try failed: {error}", q.sink, q.pending));
            }
            if q.to_resend > 0 {
                let answer = q.last_set_aside.as_deref().unwrap_or("refused");
                problems.push(format!(
                    "{}: {} events set aside; the last answer: {answer} (fix the cause, then: claude-session flush --resend)",
                    q.sink, q.to_resend
                ));
            }
        }
        let mut warnings = config::untrusted_settings();
        warnings.extend(config::unseen_otel());
        Ok(Status {
            plugin,
            files,
            missing,
            store,
            journal,
            lost,
            server,
            server_answer,
            otlp,
            otlp_headers,
            outbox,
            problems,
            warnings,
        })
    }
}

impl Report for Status {
    fn render(&self) -> String {
        let mut text = String::new();
        for file in &self.files {
            match file {
                SettingsFile::Absent { scope, path } => {
                    text.push_str(&format!("{scope} settings {}: not present\n", safe(&path.to_string_lossy())));
                }
                SettingsFile::Broken { scope, error, .. } => {
                    text.push_str(&format!("{scope} settings: {}\n", safe(error)))
                }
                SettingsFile::Present { scope, path, events } => {
                    text.push_str(&format!("{scope} settings {}:\n", safe(&path.to_string_lossy())));
                    for (event, commands) in events {
                        if commands.is_empty() {
                            text.push_str(&format!("  -  {event:<19} not wired here\n"));
                        }
                        for c in commands {
                            let (mark, note) =
                                if c.executable { ("ok", "") } else { ("!!", "  (missing or not executable)") };
                            let form = if c.exec { "exec " } else { "shell" };
                            text.push_str(&format!("  {mark} {event:<19} {form} {}{note}\n", safe(&c.command)));
                        }
                    }
                }
            }
        }
        if let Some(p) = &self.plugin {
            let state = match (p.enabled, p.binary) {
                (false, _) => "installed, disabled",
                (true, false) => "installed, its binary missing",
                (true, true) => "installed, enabled",
            };
            text.push_str(&format!("plugin {} {}: {state}\n", safe(&p.id), safe(&p.path.to_string_lossy())));
            for (key, shown) in &p.options {
                let sensitive = config::PLUGIN_OPTIONS.iter().any(|o| o.key == *key && o.sensitive);
                match shown {
                    _ if sensitive => text.push_str(&format!("  {key:<19} (sensitive: not shown)\n")),
                    Some(v) => text.push_str(&format!("  {key:<19} {}\n", safe(v))),
                    None => text.push_str(&format!("  {key:<19} not set\n")),
                }
            }
            if p.records() && self.wired_in_settings() {
                text.push_str(&format!(
                    "  wired by `hooks install` too: the plugin's hooks leave each event to those ({} is set)\n",
                    config::WIRED
                ));
            }
        }
        if self.missing.is_empty() {
            text.push_str("every hook event is wired\n");
        }
        let shell = self
            .files
            .iter()
            .filter_map(|f| if let SettingsFile::Present { events, .. } = f { Some(events) } else { None })
            .flatten()
            .flat_map(|(_, commands)| commands)
            .filter(|c| !c.exec)
            .count();
        if shell > 0 {
            text.push_str(&format!(
                "{} in the shell form, each started through `sh -c`: `claude-session hooks install` converts them\n",
                crate::text::plural(shell, "hook")
            ));
        }
        for (name, dir) in [("store", &self.store), ("journal", &self.journal)] {
            match dir {
                Ok(dir) => text.push_str(&format!("{name:<8} {}: ok\n", safe(&dir.to_string_lossy()))),
                Err(e) => text.push_str(&format!("{name:<8} {}\n", safe(e))),
            }
        }
        let filter = if config::secrets_filter() { "on" } else { "OFF (CLAUDE_SESSION_SECRETS_FILTER=0)" };
        text.push_str(&format!("secrets  filter {filter}\n"));
        match &self.server {
            None => text.push_str("server   none configured\n"),
            Some(url) => {
                let answer = match &self.server_answer {
                    Some(Ok(())) => "answers",
                    _ => "does not answer as the dashboard (see below)",
                };
                text.push_str(&format!("server   {}: {answer}\n", safe(url)));
            }
        }
        match &self.otlp {
            None => text.push_str("otlp     none configured\n"),
            Some(url) => text.push_str(&format!("otlp     {}\n", safe(url))),
        }
        if !self.otlp_headers.is_empty() {
            let names = self.otlp_headers.iter().map(|h| safe(h)).collect::<Vec<_>>().join(", ");
            text.push_str(&format!("otlp     headers set: {names} (values not shown)\n"));
        }
        for q in self.outbox.iter().flat_map(|o| &o.sinks) {
            let backoff = q.backoff_until.as_ref().map(|t| {
                let t = crate::clock::parse(t).map_or_else(|| t.to_owned(), crate::clock::short);
                format!(", backing off until {t}")
            });
            let backoff = backoff.unwrap_or_default();
            text.push_str(&format!("  queue {:<12} {} pending{backoff}\n", q.sink, q.pending));
            text.push_str(&format!("        → {}\n", safe(&q.destination_shown())));
            if let (false, Some(note)) = (q.older_version, q.elsewhere()) {
                text.push_str(&format!("        {}\n", safe(&note)));
            }
        }
        for w in &self.warnings {
            text.push_str(&format!("warning: {}\n", safe(w)));
        }
        if self.problems.is_empty() {
            text.push_str("all is well\n");
        } else {
            text.push_str(&format!("\n{}:\n", crate::text::plural(self.problems.len(), "problem")));
            for p in &self.problems {
                text.push_str(&format!("  - {}\n", safe(p)));
            }
        }
        text
    }

    fn to_json(&self) -> Value {
        let files: Vec<Value> = self
            .files
            .iter()
            .map(|file| match file {
                SettingsFile::Absent { scope, path } => json!({"scope": scope, "path": path, "present": false}),
                SettingsFile::Broken { scope, path, error } => json!({"scope": scope, "path": path, "error": error}),
                SettingsFile::Present { scope, path, events } => {
                    let events: Vec<Value> = events
                        .iter()
                        .map(|(event, commands)| {
                            let commands: Vec<Value> = commands
                                .iter()
                                .map(|c| {
                                    let form = if c.exec { "exec" } else { "shell" };
                                    json!({"command": c.command, "executable": c.executable, "form": form})
                                })
                                .collect();
                            json!({"event": event, "commands": commands})
                        })
                        .collect();
                    json!({"scope": scope, "path": path, "present": true, "events": events})
                }
            })
            .collect();
        let dir = |r: &Result<PathBuf, String>| match r {
            Ok(dir) => json!({"path": dir, "ok": true}),
            Err(e) => json!({"ok": false, "error": e}),
        };
        let plugin = self.plugin.as_ref().map(|p| {
            let options: serde_json::Map<String, Value> =
                p.options.iter().map(|(k, v)| ((*k).to_owned(), v.clone().map_or(Value::Null, Value::from))).collect();
            json!({"id": p.id, "path": p.path, "enabled": p.enabled, "binary": p.binary, "options": options,
                   "defers_to_settings": p.records() && self.wired_in_settings()})
        });
        json!({
            "ok": self.problems.is_empty(),
            "plugin": plugin,
            "problems": self.problems,
            "warnings": self.warnings,
            "settings": files,
            "missing": self.missing,
            "store": dir(&self.store),
            "journal": dir(&self.journal),
            "lost": self.lost.0,
            "secrets_filter": config::secrets_filter(),
            "server": self.server,
            "server_answers": self.server_answer.as_ref().map(Result::is_ok),
            "otlp": self.otlp,
            "otlp_headers": self.otlp_headers,
            "outbox": self.outbox.as_ref().map(outbox::Status::to_json),
        })
    }
}

impl Status {
    /// Whether a settings file shown wires our hooks (so the plugin's leave the events to them).
    fn wired_in_settings(&self) -> bool {
        self.files
            .iter()
            .any(|f| matches!(f, SettingsFile::Present { events, .. } if events.iter().any(|(_, c)| !c.is_empty())))
    }
}

/// The mode of `path` (an existing file, through a link) when users other than its owner can read
/// it: it lets group or others read, and every directory above it lets them in.
fn readable_by_others(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let path = fs::canonicalize(path).ok()?;
    let mode = fs::metadata(&path).ok()?.permissions().mode() & 0o777;
    let reach = |read: u32, search: u32| {
        mode & read != 0
            && path.ancestors().skip(1).all(|d| fs::metadata(d).is_ok_and(|m| m.permissions().mode() & search != 0))
    };
    (reach(0o004, 0o001) || reach(0o040, 0o011)).then_some(mode)
}

/// The flag that gave the credential, for an error about where it would be written.
fn credential_flag(headers: &[String]) -> &'static str {
    if headers.is_empty() { "--server/--otlp (a URL with a password)" } else { "--otlp-header" }
}

/// Whether git tracks `file` (it would be committed): `git ls-files --error-unmatch` in its
/// directory. No git, or not in a repository: not tracked.
fn git_tracks(file: &Path) -> bool {
    git(file, &["ls-files", "--error-unmatch", "--"]) == Some(0)
}

/// Whether git ignores `file`: `Some(true)`/`Some(false)` in a repository, `None` outside one (or
/// without git).
fn git_ignores(file: &Path) -> Option<bool> {
    match git(file, &["check-ignore", "-q", "--"])? {
        0 => Some(true),
        1 => Some(false),
        _ => None,
    }
}

fn git(file: &Path, args: &[&str]) -> Option<i32> {
    let (dir, name) = (file.parent()?, file.file_name()?);
    // The directory may not exist yet (a project with no .claude): ask in the nearest that does.
    let (at, rel) = match dir.exists() {
        true => (dir.to_path_buf(), PathBuf::from(name)),
        false => {
            let at = dir.ancestors().find(|d| d.exists())?;
            (at.to_path_buf(), file.strip_prefix(at).ok()?.to_path_buf())
        }
    };
    std::process::Command::new("git")
        .arg("-C")
        .arg(&at)
        .args(args)
        .arg(&rel)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?
        .code()
}

/// Whether the symlink `link` is one of ours: it points to `binary`, to the same file, or to a
/// program named `claude-session` (an earlier install's binary, wherever it was).
fn ours_link(link: &Path, binary: &Path) -> bool {
    let Ok(to) = fs::read_link(link) else { return false };
    let to = link.parent().map_or(to.clone(), |dir| dir.join(&to));
    to == binary
        || to.file_name().is_some_and(|n| n == "claude-session")
        || fs::canonicalize(&to).is_ok_and(|t| fs::canonicalize(binary).is_ok_and(|b| b == t))
}

/// A regular file we may execute.
fn executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file()) && nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok()
}
