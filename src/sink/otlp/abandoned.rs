//! Sessions that never ended (Claude Code crashed or was killed): `cleanup` closes each with the
//! SessionEnd it never sent, so its spans that never closed still reach the backend.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::event::record;
use crate::journal;
use crate::journal::field;
use crate::payload::field as wire;

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
    /// The OTLP queues the session's own hooks queued its last event for (its journal line's
    /// `otlp_queues`): the only ones its SessionEnd may go to. Empty: its destination is not
    /// known (OTLP was off, or an older version journaled it), so it is not closed.
    pub queues: Vec<String>,
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
            let queues: Vec<String> = match line.get(field::OTLP_QUEUES) {
                Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
                _ => Vec::new(),
            };
            let mut journal_line = json!({
                field::TIMESTAMP: crate::clock::rfc3339(time), field::EVENT: "SessionEnd", field::SESSION_ID: session_id,
                field::SESSION_SOURCE: "cleanup", field::PROJECT: copy(field::PROJECT), field::PROJECT_DIR: copy(field::PROJECT_DIR),
                field::CWD: copy(field::CWD), field::USER: copy(field::USER), field::SUMMARY: "abandoned", field::REASON: "abandoned",
                field::OTLP_QUEUES: queues,
            })
            .to_string()
            .into_bytes();
            journal_line.push(b'\n');
            let record = json!({
                record::SOURCE_APP: copy(field::PROJECT), record::SESSION_ID: session_id, record::HOOK_EVENT_TYPE: "SessionEnd",
                record::PAYLOAD: {
                    wire::SESSION_ID: session_id, wire::HOOK_EVENT_NAME: "SessionEnd", wire::CWD: copy(field::CWD),
                    wire::REASON: "abandoned",
                },
                record::TIMESTAMP: (time.unix_timestamp_nanos() / 1_000_000) as i64, record::SUMMARY: "abandoned",
            });
            Some(Abandoned { session_id, time, journal_line, record, queues })
        })
        .collect();
    out.sort_by_key(|a| a.time);
    out
}
