//! `hooks install`, `hooks uninstall`, `hooks status`: Claude Code's settings, ours in and out.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::show::print_json;
use super::{Hooks, HooksAction, HooksInstall, HooksStatus, HooksUninstall, Run};
use crate::project::Project;
use crate::settings::{self, Settings};
use crate::sink::outbox::Outbox;
use crate::store::Store;
use crate::{config, journal};

impl Run for Hooks {
    fn run(&self) -> Result<u8, String> {
        match &self.action {
            HooksAction::Install(c) => c.run(),
            HooksAction::Uninstall(c) => c.run(),
            HooksAction::Status(c) => c.run(),
        }
    }
}

fn home() -> Result<PathBuf, String> {
    config::home().ok_or_else(|| "HOME is not set".to_owned())
}

/// `~/.claude/settings.json`, or `<project>/.claude/settings.json`.
fn settings_path(project: Option<&Path>) -> Result<PathBuf, String> {
    Ok(match project {
        Some(dir) => dir.join(".claude/settings.json"),
        None => home()?.join(".claude/settings.json"),
    })
}

fn hook_dir(given: Option<&PathBuf>) -> Result<PathBuf, String> {
    let dir = match given {
        Some(dir) => dir.clone(),
        None => home()?.join(".claude/hooks/claude-session"),
    };
    // Settings hold absolute commands: Claude Code runs them from the project directory.
    Ok(if dir.is_absolute() { dir } else { std::env::current_dir().map_err(|e| e.to_string())?.join(dir) })
}

impl Run for HooksInstall {
    fn run(&self) -> Result<u8, String> {
        let path = settings_path(self.project.as_deref())?;
        let mut settings = Settings::load(&path)?;
        if !settings.wire(&hook_dir(self.hook_dir.as_ref())?, self.server.as_deref()) {
            println!("{}: already wired, nothing changed", path.display());
            return Ok(0);
        }
        settings.save()?;
        println!("{}: wired {} hook events", path.display(), settings::WIRING.len());
        Ok(0)
    }
}

impl Run for HooksUninstall {
    fn run(&self) -> Result<u8, String> {
        let path = settings_path(self.project.as_deref())?;
        let mut settings = Settings::load(&path)?;
        let changed = settings.unwire(&hook_dir(self.hook_dir.as_ref())?);
        if settings.restore_original()? {
            println!("{}: our hooks removed, original file restored", path.display());
        } else if changed {
            settings.save()?;
            settings.forget_original();
            println!("{}: our hooks removed", path.display());
        } else {
            println!("{}: nothing of ours in it", path.display());
        }
        Ok(0)
    }
}

impl Run for HooksStatus {
    fn run(&self) -> Result<u8, String> {
        let project = Project::resolve(None);
        let mut files = vec![("user", home()?.join(".claude/settings.json"))];
        files.push(("project", project.dir.join(".claude/settings.json")));
        files.push(("project local", project.dir.join(".claude/settings.local.json")));

        let mut healthy = true;
        let mut wired_anywhere = vec![false; settings::WIRING.len()];
        let mut reports = Vec::new();
        for (scope, path) in &files {
            let report = match Settings::load(path) {
                Err(e) => {
                    healthy = false;
                    json!({"scope": scope, "path": path.to_string_lossy(), "error": e})
                }
                Ok(_) if !path.exists() => json!({"scope": scope, "path": path.to_string_lossy(), "present": false}),
                Ok(s) => {
                    let events: Vec<Value> = settings::wired(&s.value)
                        .into_iter()
                        .enumerate()
                        .map(|(i, (event, commands))| {
                            let commands: Vec<Value> = commands
                                .iter()
                                .map(|c| {
                                    let ok = executable(Path::new(c));
                                    healthy &= ok;
                                    wired_anywhere[i] |= ok;
                                    json!({"command": c, "exists": ok})
                                })
                                .collect();
                            json!({"event": event, "commands": commands})
                        })
                        .collect();
                    json!({"scope": scope, "path": path.to_string_lossy(), "present": true, "events": events})
                }
            };
            reports.push(report);
        }
        healthy &= wired_anywhere.iter().all(|w| *w);
        let missing: Vec<&str> =
            settings::WIRING.iter().zip(&wired_anywhere).filter(|(_, w)| !**w).map(|((e, _), _)| *e).collect();

        let store = match Store::open() {
            Ok(s) => json!({"path": s.dir.to_string_lossy(), "ok": true}),
            Err(e) => json!({"path": Store::location().to_string_lossy(), "ok": false, "error": e}),
        };
        let journal = match journal::require_dir() {
            Err(e) => json!({"ok": false, "error": e}),
            Ok(dir) => match usable_dir(&dir) {
                Ok(()) => json!({"path": dir.to_string_lossy(), "ok": true}),
                Err(e) => json!({"path": dir.to_string_lossy(), "ok": false, "error": e}),
            },
        };
        healthy &= store["ok"] == true && journal["ok"] == true;
        healthy &= config::server_url().is_none() || config::server_timeout().is_ok();
        let server = config::server_url().map(|url| {
            let outbox = Outbox::existing().map(|o| o.status().to_json());
            json!({"url": url, "outbox": outbox, "timeout_error": config::server_timeout().err()})
        });

        if self.json {
            print_json(&json!({"ok": healthy, "settings": reports, "missing": missing, "store": store,
                               "journal": journal, "server": server}));
        } else {
            print_status(&reports, &missing, &store, &journal, server.as_ref());
        }
        Ok(if healthy { 0 } else { 1 })
    }
}

fn print_status(reports: &[Value], missing: &[&str], store: &Value, journal: &Value, server: Option<&Value>) {
    for r in reports {
        let (scope, path) = (r["scope"].as_str().unwrap_or(""), r["path"].as_str().unwrap_or(""));
        if let Some(e) = r["error"].as_str() {
            println!("{scope} settings: {e}");
            continue;
        }
        if r["present"] == false {
            println!("{scope} settings {path}: not present");
            continue;
        }
        println!("{scope} settings {path}:");
        for e in r["events"].as_array().into_iter().flatten() {
            let event = e["event"].as_str().unwrap_or("");
            let commands = e["commands"].as_array().cloned().unwrap_or_default();
            if commands.is_empty() {
                println!("  -  {event:<19} not wired here");
            }
            for c in commands {
                let (mark, note) =
                    if c["exists"] == true { ("ok", "") } else { ("!!", "  (missing or not executable)") };
                println!("  {mark} {event:<19} {}{note}", c["command"].as_str().unwrap_or(""));
            }
        }
    }
    if missing.is_empty() {
        println!("every hook event is wired");
    } else {
        println!("not wired anywhere: {} (run: claude-session hooks install)", missing.join(", "));
    }
    for (name, v) in [("store", store), ("journal", journal)] {
        match v["error"].as_str() {
            None => println!("{name:<8} {}: ok", v["path"].as_str().unwrap_or("")),
            Some(e) => println!("{name:<8} {}: {e}", v["path"].as_str().unwrap_or("?")),
        }
    }
    match server {
        None => println!("server   none configured (events are journaled only)"),
        Some(s) => {
            let sinks = s["outbox"]["sinks"].as_array().cloned().unwrap_or_default();
            let pending: u64 = sinks.iter().filter_map(|o| o["pending"].as_u64()).sum();
            let mut line = format!("server   {}: {pending} pending", s["url"].as_str().unwrap_or(""));
            for o in &sinks {
                if let Some(e) = o["last_error"].as_str() {
                    line.push_str(&format!(", last error at {}: {e}", o["last_error_at"].as_str().unwrap_or("?")));
                }
                if let Some(until) = o["backoff_until"].as_str() {
                    line.push_str(&format!(", backing off until {until}"));
                }
            }
            if let Some(e) = s["timeout_error"].as_str() {
                line.push_str(&format!(", {e}"));
            }
            println!("{line}");
        }
    }
}

fn executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The journal directory can be created and written.
fn usable_dir(dir: &Path) -> Result<(), String> {
    if !dir.is_dir() {
        crate::store::make_private_dir(dir)?;
    }
    let probe = dir.join(format!(".probe.{}.tmp", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}
