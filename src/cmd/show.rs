//! `show`: the current project's session id for `$(claude-session show)`, or every stored one.

use std::io::Write;

use serde_json::{Value, json};

use super::{Run, Show};
use crate::project::{self, Project};
use crate::sink::outbox::Outbox;
use crate::store::{self, Entry, Store};
use crate::{config, journal, session, timeline, util};

impl Run for Show {
    fn run(&self) -> Result<u8, String> {
        match (self.all, self.timeline, self.sessions) {
            (false, false, false) if self.session_id.is_none() => self.current(),
            (true, false, false) if self.session_id.is_none() => self.all(),
            (false, true, false) => self.timeline(),
            (false, false, true) if self.session_id.is_none() => self.sessions(),
            _ => Err("show: use one of --all, --timeline [SESSION_ID], --sessions".into()),
        }
    }
}

impl Show {
    fn timeline(&self) -> Result<u8, String> {
        let id = match &self.session_id {
            Some(id) => id.clone(),
            None => {
                let current = session::current(&Project::resolve(None), util::now())?;
                if current.source == session::Source::Unknown {
                    return Err("no current session here; name one (claude-session show --sessions lists them)".into());
                }
                current.id
            }
        };
        let dir = journal::require_dir()?;
        let timeline =
            timeline::load(&dir, &id, self.since(None)).map_err(|e| format!("journal {}: {e}", dir.display()))?;
        if timeline.events == 0 {
            return Err(format!("no events of session {id} in {}", dir.display()));
        }
        if self.json {
            print_json(&timeline.to_json());
        } else {
            print!("{}", timeline.render());
        }
        Ok(0)
    }

    fn sessions(&self) -> Result<u8, String> {
        let dir = journal::require_dir()?;
        let sessions = match timeline::sessions(&dir, self.since(Some(7))) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(format!("journal {}: {e}", dir.display())),
        };
        if self.json {
            let rows: Vec<Value> = sessions
                .iter()
                .map(|s| {
                    json!({"session_id": s.id, "project": s.project, "first": s.first, "last": s.last,
                           "events": s.events, "tool_calls": s.tool_calls})
                })
                .collect();
            print_json(&json!({ "journal": dir.to_string_lossy(), "sessions": rows }));
            return Ok(0);
        }
        if sessions.is_empty() {
            println!("no sessions in {}", dir.display());
            return Ok(0);
        }
        let header = ["SESSION", "PROJECT", "FIRST", "LAST", "EVENTS", "TOOL CALLS"].map(String::from).to_vec();
        let rows = sessions.iter().map(|s| {
            vec![
                s.id.clone(),
                s.project.clone(),
                short_time(&s.first),
                short_time(&s.last),
                s.events.to_string(),
                s.tool_calls.to_string(),
            ]
        });
        print_columns(std::iter::once(header).chain(rows).collect());
        Ok(0)
    }

    /// The first day to read: `--days N` back from today, else `default` days, else everything.
    fn since(&self, default: Option<u64>) -> Option<time::Date> {
        let days = self.days.or(default)?;
        let back = time::Duration::days(days.saturating_sub(1).min(100_000) as i64);
        Some((util::now() - back).date())
    }
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
        let names = store.names().map_err(|e| format!("store {}: {e}", store.dir.display()))?;
        let rows: Vec<Value> = names
            .iter()
            .filter(|name| project::is_key(name))
            .map(|name| row(&store, name, store.read(name, ttl, now), now))
            .collect();
        let outbox = Outbox::existing().map(|o| o.status());
        if self.json {
            let outbox = outbox.map(|o| o.to_json());
            print_json(&json!({ "store": store.dir.to_string_lossy(), "sessions": rows, "outbox": outbox }));
            return Ok(0);
        }
        if rows.is_empty() {
            println!("no sessions stored in {}", store.dir.display());
        } else {
            print_table(&rows);
        }
        for s in outbox.iter().flat_map(|o| &o.sinks) {
            println!(
                "\noutbox {}: {} pending, {} delivered, {} set aside, {} dropped",
                s.dir.display(),
                s.pending,
                s.delivered,
                s.set_aside,
                s.dropped
            );
            if let (Some(error), Some(at)) = (&s.last_error, &s.last_error_at) {
                println!("last error at {}: {error}", short_time(at));
            }
            if let Some(until) = &s.backoff_until {
                println!("backing off until {}", short_time(until));
            }
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

/// `2026-11-21T19:13:02.123456Z` → `2026-11-21 19:13:02`.
fn short_time(t: &str) -> String {
    t.get(..19).unwrap_or(t).replacen('T', " ", 1)
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
            [cell(r, "project"), cell(r, "session_id"), age, cell(r, "state"), cell(r, "project_dir"), cell(r, "file")]
        })
        .collect();
    let header = ["PROJECT", "SESSION", "AGE", "STATE", "DIRECTORY", "FILE"].map(String::from).to_vec();
    print_columns(std::iter::once(header).chain(table.into_iter().map(Vec::from)).collect());
}

/// Left-aligned columns, two spaces apart; the last column is not padded.
fn print_columns(lines: Vec<Vec<String>>) {
    let mut widths = vec![0; lines.first().map_or(0, Vec::len)];
    for line in &lines {
        for (w, c) in widths.iter_mut().zip(line) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    for line in &lines {
        let mut text = String::new();
        for (i, (c, w)) in line.iter().zip(&widths).enumerate() {
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
