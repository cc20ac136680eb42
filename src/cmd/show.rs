//! `show`: the current project's session id for `$(claude-session show)`, or every stored one.

use std::io::Write;

use serde_json::{Value, json};

use super::{Run, Show};
use crate::project::{self, Project};
use crate::store::{self, Entry, Store};
use crate::{config, session, util};

impl Run for Show {
    fn run(&self) -> Result<u8, String> {
        if self.all { self.all() } else { self.current() }
    }
}

impl Show {
    fn current(&self) -> Result<u8, String> {
        let project = Project::resolve(None);
        let session = session::current(&project, util::now())?;
        let known = session.source != session::Source::Unknown;
        if self.json {
            print_json(&json!({
                "session_id": session.id,
                "source": session.source.as_str(),
                "project": project.name,
                "project_dir": project.dir.to_string_lossy(),
            }));
        } else {
            println!("{}", session.id);
        }
        Ok(if known { 0 } else { 1 })
    }

    fn all(&self) -> Result<u8, String> {
        let store = Store::open()?;
        let (now, ttl) = (util::now(), config::ttl());
        let names = store
            .names()
            .map_err(|e| format!("store {}: {e}", store.dir.display()))?;
        let rows: Vec<Value> = names
            .iter()
            .filter(|name| project::is_key(name))
            .map(|name| row(&store, name, store.read(name, ttl, now), now))
            .collect();
        if self.json {
            print_json(&json!({ "store": store.dir.to_string_lossy(), "sessions": rows }));
        } else if rows.is_empty() {
            println!("no sessions stored in {}", store.dir.display());
        } else {
            print_table(&rows);
        }
        Ok(0)
    }
}

fn row(store: &Store, name: &str, entry: Entry, now: time::OffsetDateTime) -> Value {
    let file = store.path(name).to_string_lossy().into_owned();
    let (record, state) = match &entry {
        Entry::Fresh(r) => (Some(r), "fresh".to_owned()),
        Entry::Stale(r) => (Some(r), "stale".to_owned()),
        other => (None, store::describe(other)),
    };
    let dir = record.and_then(|r| r.project_dir.as_ref());
    let project = match dir {
        Some(d) => Project::at(d).name,
        None => name.rsplit_once('-').map_or(name, |(n, _)| n).to_owned(),
    };
    json!({
        "project": project,
        "project_dir": dir.map(|d| d.to_string_lossy()),
        "session_id": record.map(|r| r.id.as_str()),
        "updated": record.map(|r| util::rfc3339(r.time)),
        "age_secs": record.map(|r| util::age_secs(r.time, now)),
        "state": state,
        "file": file,
    })
}

fn print_table(rows: &[Value]) {
    let cell = |row: &Value, key: &str| match &row[key] {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    };
    let table: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            let age = r["age_secs"].as_i64().map_or("-".into(), util::human_age);
            [
                cell(r, "project"),
                cell(r, "session_id"),
                age,
                cell(r, "state"),
                cell(r, "project_dir"),
                cell(r, "file"),
            ]
        })
        .collect();
    let header = ["PROJECT", "SESSION", "AGE", "STATE", "DIRECTORY", "FILE"].map(String::from);
    let mut widths = [0; 6];
    for line in std::iter::once(&header).chain(&table) {
        for (w, c) in widths.iter_mut().zip(line) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    for line in std::iter::once(&header).chain(&table) {
        let mut text = String::new();
        for (i, (c, w)) in line.iter().zip(widths).enumerate() {
            if i + 1 == line.len() {
                text.push_str(c);
            } else {
                text.push_str(&format!("{c:<w$}  "));
            }
        }
        let _ = writeln!(out, "{}", text.trim_end());
    }
}

pub(super) fn print_json(value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, value);
    let _ = writeln!(out);
}
