//! Sessions that never ended (Claude Code crashed or was killed): `cleanup` closes each with the
//! SessionEnd it never sent, so its spans that never closed still reach the backend.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::journal;
use crate::journal::field;

/// A session whose last event is long past and was not SessionEnd (Claude Code crashed or was
/// killed): the SessionEnd that closes it, to be journaled and enqueued as a hook's event is.
/// Its spans that never closed then appear, marked unfinished, ending at its last event.
pub struct Abandoned {
    pub session_id: String,
    pub time: OffsetDateTime,
    /// The journal line (with its newline); `session_source` is `cleanup`.
    pub journal_line: Vec<u8>,
    /// The outbox record.
    pub record: Value,
}

/// Sessions in the journal from `since` on whose last event is older than `idle` and is not a
/// SessionEnd, each with the SessionEnd that closes it, 1 ms after its last event, reason
/// `abandoned`. Once that is journaled the session ends in SessionEnd, so the next cleanup finds
/// nothing more to close: each is closed once.
pub fn abandoned(
    dir: &std::path::Path,
    since: Option<time::Date>,
    idle: Duration,
    now: OffsetDateTime,
) -> Vec<Abandoned> {
    let mut last: HashMap<String, Map<String, Value>> = HashMap::new();
    let _ = journal::for_each_line(dir, since, |line| {
        if let Ok(Value::Object(v)) = serde_json::from_str::<Value>(line)
            && let Some(id) = v.get(field::SESSION_ID).and_then(Value::as_str)
        {
            last.insert(id.to_owned(), v);
        }
    });
    let mut out: Vec<Abandoned> = last
        .into_iter()
        .filter_map(|(session_id, line)| {
            let at = crate::clock::parse(line.get(field::TIMESTAMP)?.as_str()?)?;
            if line.get(field::EVENT).and_then(Value::as_str) == Some("SessionEnd") || now - at < idle {
                return None;
            }
            let time = at + time::Duration::milliseconds(1);
            let copy = |k: &str| line.get(k).cloned().unwrap_or(Value::Null);
            let mut journal_line = json!({
                "timestamp": crate::clock::rfc3339(time), "event": "SessionEnd", "session_id": session_id,
                "session_source": "cleanup", "project": copy(field::PROJECT), "project_dir": copy(field::PROJECT_DIR),
                "cwd": copy(field::CWD), "user": copy(field::USER), "summary": "abandoned", "reason": "abandoned",
            })
            .to_string()
            .into_bytes();
            journal_line.push(b'\n');
            let record = json!({
                "source_app": copy(field::PROJECT), "session_id": session_id, "hook_event_type": "SessionEnd",
                "payload": {"session_id": session_id, "hook_event_name": "SessionEnd", "cwd": copy(field::CWD), "reason": "abandoned"},
                "timestamp": (time.unix_timestamp_nanos() / 1_000_000) as i64, "summary": "abandoned",
            });
            Some(Abandoned { session_id, time, journal_line, record })
        })
        .collect();
    out.sort_by_key(|a| a.time);
    out
}
