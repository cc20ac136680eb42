//! The program's own event: one hook invocation, resolved. It is written to the journal and sent
//! to the server (the outbox record, whose field names are [`record`]); the wire format it came
//! from stays in `payload`.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::journal::field;
use crate::payload::{Payload, field as wire};
use crate::project::Project;
use crate::session::{Session, Source};
use crate::{clock, config};

/// Payload fields the journal line names itself (the original design's `tool` and `parameters`
/// among them); everything else goes under `extra`, so unknown fields of unknown events are
/// recorded too.
pub const NAMED: &[(&str, &str)] = &[
    (wire::TOOL_NAME, field::TOOL),
    (wire::TOOL_USE_ID, field::TOOL_USE_ID),
    (wire::AGENT_ID, field::AGENT_ID),
    (wire::AGENT_TYPE, field::AGENT_TYPE),
    (wire::PROMPT_ID, field::PROMPT_ID),
    (wire::SOURCE, field::SOURCE),
    (wire::REASON, field::REASON),
    (wire::DURATION_MS, field::DURATION_MS),
    (wire::ERROR, field::ERROR),
    (wire::IS_INTERRUPT, field::IS_INTERRUPT),
    (wire::TOOL_INPUT, field::PARAMETERS),
    (wire::TOOL_RESPONSE, field::TOOL_RESPONSE),
];
/// Payload fields the line already carries under its own names.
const IMPLIED: &[&str] = &[wire::HOOK_EVENT_NAME, wire::CWD];

/// The outbox record's field names: the observability server's event (`POST /events`), which
/// [`Event::server_body`] writes and every sink reads.
pub mod record {
    pub const SOURCE_APP: &str = "source_app";
    pub const SESSION_ID: &str = crate::payload::field::SESSION_ID;
    pub const HOOK_EVENT_TYPE: &str = "hook_event_type";
    /// The payload's fields, as cut (and redacted) for the journal.
    pub const PAYLOAD: &str = "payload";
    /// Integer milliseconds since the epoch.
    pub const TIMESTAMP: &str = "timestamp";
    pub const SUMMARY: &str = "summary";
    pub const MODEL_NAME: &str = "model_name";
}

pub struct Event<'a> {
    pub time: OffsetDateTime,
    pub name: &'a str,
    pub session: &'a Session,
    pub project: &'a Project,
    pub payload: &'a Payload,
    /// The one-line summary the timeline shows and the server receives.
    pub summary: String,
}

impl<'a> Event<'a> {
    pub fn new(
        time: OffsetDateTime,
        name: &'a str,
        session: &'a Session,
        project: &'a Project,
        payload: &'a Payload,
    ) -> Event<'a> {
        Event { time, name, session, project, payload, summary: crate::summary::summarize(name, &payload.fields) }
    }

    /// One JSON object and a newline: our fields first, then the payload's named fields under
    /// the original design's names (`tool`, `parameters`), then the rest under `extra`, then the
    /// OTLP queues the event goes to (`otlp_queues`; none: not written). With `for_body`, the line
    /// notes where it wrote each of the payload's values, for [`Event::server_body`].
    pub fn journal_line(&self, otlp_queues: &[&str], for_body: bool) -> Line {
        let fields = &self.payload.fields;
        // One pass over the payload sorts its fields, so that no key is looked up or copied.
        let mut named: [Option<(usize, &Value)>; NAMED.len()] = [None; NAMED.len()];
        let mut cwd = None;
        for (at, (key, value)) in fields.iter().enumerate() {
            if let Some(i) = NAMED.iter().position(|(wire, _)| wire == key) {
                named[i] = Some((at, value));
            } else if key == wire::CWD {
                cwd = Some((at, value));
            }
        }
        let mut values = if for_body { vec![None; fields.len()] } else { Vec::new() };
        let mut note = |at: usize, span| {
            if let Some(slot) = values.get_mut(at) {
                *slot = Some(span);
            }
        };
        let mut line = Object::new();
        line.str(field::TIMESTAMP, &clock::rfc3339(self.time));
        line.str(field::EVENT, self.name);
        line.str(field::SESSION_ID, &self.session.id);
        line.str(field::SESSION_SOURCE, self.session.source.as_str());
        line.str(field::PROJECT, &self.project.name);
        line.str(field::PROJECT_DIR, &self.project.dir.to_string_lossy());
        match cwd {
            Some((at, value)) => note(at, line.value(field::CWD, value)),
            None => {
                let _ = line.value(field::CWD, &Value::Null);
            }
        }
        line.str(field::USER, &config::user());
        line.str(field::SUMMARY, &self.summary);
        for ((_, ours), value) in NAMED.iter().zip(named) {
            if let Some((at, value)) = value {
                note(at, line.value(ours, value));
            }
        }
        let mut extra = fields
            .iter()
            .enumerate()
            .filter(|(_, (k, _))| !IMPLIED.contains(&k.as_str()) && !NAMED.iter().any(|(w, _)| w == k))
            // The payload's id is the line's `session_id` unless it was unusable.
            .filter(|(_, (k, _))| !(k.as_str() == wire::SESSION_ID && self.session.source == Source::Payload))
            .peekable();
        if extra.peek().is_some() {
            line.key(field::EXTRA);
            let mut object = Object::open(std::mem::take(&mut line.bytes));
            for (at, (key, value)) in extra {
                note(at, object.value(key, value));
            }
            line.bytes = object.end();
        }
        if !otlp_queues.is_empty() {
            line.key(field::OTLP_QUEUES);
            let _ = serde_json::to_writer(&mut line.bytes, otlp_queues);
        }
        let mut bytes = line.end();
        bytes.push(b'\n');
        Line { bytes, values }
    }

    /// The observability server's `POST /events` body: the id exactly as journaled, the event
    /// name, the payload cut as in the journal, and the time in integer milliseconds. The
    /// payload's values are copied from the event's journal `line`, as it wrote them (the
    /// payload's JSON is most of a hook's writing, and this writes it once).
    pub fn server_body(&self, source_app: &str, line: &Line) -> Vec<u8> {
        let mut body = Object::new();
        body.str(record::SOURCE_APP, source_app);
        body.str(record::SESSION_ID, &self.session.id);
        body.str(record::HOOK_EVENT_TYPE, self.name);
        // The time before the payload: a record torn by a killed hook still names its event
        // (session, name, time) in its first bytes, and the deliverer takes it from the journal.
        body.key(record::TIMESTAMP);
        let _ = serde_json::to_writer(&mut body.bytes, &((self.time.unix_timestamp_nanos() / 1_000_000) as i64));
        body.key(record::PAYLOAD);
        // As serde_json writes the map, member by member.
        let mut payload = Object::open(std::mem::take(&mut body.bytes));
        for (at, (key, value)) in self.payload.fields.iter().enumerate() {
            match line.values.get(at).copied().flatten() {
                Some((start, end)) => {
                    payload.key(key);
                    payload.bytes.extend_from_slice(&line.bytes[start..end]);
                }
                None => {
                    let _ = payload.value(key, value);
                }
            }
        }
        body.bytes = payload.end();
        body.str(record::SUMMARY, &self.summary);
        if let Some(model) = self.payload.str(wire::MODEL) {
            body.str(record::MODEL_NAME, model);
        }
        body.end()
    }
}

/// A journal line, and where in it each of the payload's values is (by its place in the payload;
/// `None` for a value the line does not hold, such as `hook_event_name`; none noted unless asked).
pub struct Line {
    pub bytes: Vec<u8>,
    values: Vec<Option<(usize, usize)>>,
}

/// A JSON object written member by member, in order, as serde_json writes a map: a hook's line
/// is written straight from the payload, without a map of its own (which would hash every key
/// and copy every value).
struct Object {
    bytes: Vec<u8>,
    /// No member written yet.
    first: bool,
}

impl Object {
    fn new() -> Object {
        Object::open(Vec::with_capacity(1024))
    }

    /// An object that starts at the end of `bytes`.
    fn open(mut bytes: Vec<u8>) -> Object {
        bytes.push(b'{');
        Object { bytes, first: true }
    }

    /// `"key":`, after a comma unless it is the first member.
    fn key(&mut self, key: &str) {
        if !std::mem::take(&mut self.first) {
            self.bytes.push(b',');
        }
        let _ = serde_json::to_writer(&mut self.bytes, key);
        self.bytes.push(b':');
    }

    fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        let _ = serde_json::to_writer(&mut self.bytes, value);
    }

    /// The member, and where its value's text is in the bytes.
    fn value(&mut self, key: &str, value: &Value) -> (usize, usize) {
        self.key(key);
        let start = self.bytes.len();
        let _ = serde_json::to_writer(&mut self.bytes, value);
        (start, self.bytes.len())
    }

    fn end(mut self) -> Vec<u8> {
        self.bytes.push(b'}');
        self.bytes
    }
}

/// The outbox record a hook made of a journal line, and the line's time: the payload gathered
/// back from the line's named fields and its `extra`. For `export`, and for a deliverer that finds
/// a spooled record torn (its hook was killed mid-write) and takes it from the journal again.
pub fn record_from_journal(line: &Map<String, Value>) -> Option<(OffsetDateTime, Value)> {
    let time = clock::parse(line.get(field::TIMESTAMP)?.as_str()?)?;
    let event = line.get(field::EVENT)?.as_str()?;
    let session_id = line.get(field::SESSION_ID)?.as_str()?;
    let mut payload = Map::new();
    payload.insert(wire::SESSION_ID.into(), session_id.into());
    payload.insert(wire::HOOK_EVENT_NAME.into(), event.into());
    // The payload's fields the line names itself (`NAMED`, the line's own names), and `cwd`.
    let named = NAMED.iter().copied().chain([(wire::CWD, field::CWD)]);
    for (wire, ours) in named {
        if let Some(v) = line.get(ours).filter(|v| !v.is_null()) {
            payload.insert(wire.into(), v.clone());
        }
    }
    if let Some(Value::Object(extra)) = line.get(field::EXTRA) {
        for (k, v) in extra {
            payload.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let mut out = Map::new();
    let app = config::source_app().or_else(|| line.get(field::PROJECT).and_then(Value::as_str).map(str::to_owned));
    out.insert(record::SOURCE_APP.into(), app.unwrap_or_default().into());
    out.insert(record::SESSION_ID.into(), session_id.into());
    out.insert(record::HOOK_EVENT_TYPE.into(), event.into());
    let model = payload.get(wire::MODEL).and_then(Value::as_str).map(str::to_owned);
    out.insert(record::PAYLOAD.into(), Value::Object(payload));
    out.insert(record::TIMESTAMP.into(), ((time.unix_timestamp_nanos() / 1_000_000) as i64).into());
    out.insert(record::SUMMARY.into(), line.get(field::SUMMARY).cloned().unwrap_or_else(|| "".into()));
    if let Some(model) = model {
        out.insert(record::MODEL_NAME.into(), model.into());
    }
    Some((time, Value::Object(out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The server body copies the payload's values from the journal line: byte for byte what
    /// serde_json writes of the payload, for every recorded payload, whichever source the session
    /// id came from (the line leaves the payload's `session_id` out when it is the line's own).
    #[test]
    fn the_server_body_holds_the_payload_as_serde_json_writes_it() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude-code-2.1.330");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let payload = Payload::parse(&std::fs::read(&path).unwrap(), 16 * 1024);
            assert!(!payload.fields.is_empty(), "{}", path.display());
            let project = Project::at(Path::new("/work/proj"));
            for source in [Source::Payload, Source::Store] {
                let session = Session { id: "s-1".into(), source };
                let event = Event::new(clock::now(), "PreToolUse", &session, &project, &payload);
                let line = event.journal_line(&[], true);
                let body = String::from_utf8(event.server_body("app", &line)).unwrap();
                let whole = serde_json::to_string(&payload.fields).unwrap();
                assert!(body.contains(&format!(",\"payload\":{whole},")), "{}: {body}", path.display());
                seen += 1;
            }
        }
        assert!(seen >= 20, "{seen}");
    }
}
