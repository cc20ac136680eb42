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
    /// OTLP queues the event goes to (`otlp_queues`; none: not written).
    pub fn journal_line(&self, otlp_queues: &[String]) -> Vec<u8> {
        let fields = &self.payload.fields;
        // One pass over the payload sorts its fields, so that no key is looked up or copied.
        let mut named: [Option<&Value>; NAMED.len()] = [None; NAMED.len()];
        let mut cwd = None;
        for (key, value) in fields {
            if let Some(i) = NAMED.iter().position(|(wire, _)| wire == key) {
                named[i] = Some(value);
            } else if key == wire::CWD {
                cwd = Some(value);
            }
        }
        let mut line = Object::new();
        line.str(field::TIMESTAMP, &clock::rfc3339(self.time));
        line.str(field::EVENT, self.name);
        line.str(field::SESSION_ID, &self.session.id);
        line.str(field::SESSION_SOURCE, self.session.source.as_str());
        line.str(field::PROJECT, &self.project.name);
        line.str(field::PROJECT_DIR, &self.project.dir.to_string_lossy());
        line.value(field::CWD, cwd.unwrap_or(&Value::Null));
        line.str(field::USER, &config::user());
        line.str(field::SUMMARY, &self.summary);
        for ((_, ours), value) in NAMED.iter().zip(named) {
            if let Some(value) = value {
                line.value(ours, value);
            }
        }
        let mut extra = fields
            .iter()
            .filter(|(k, _)| !IMPLIED.contains(&k.as_str()) && !NAMED.iter().any(|(w, _)| w == k))
            // The payload's id is the line's `session_id` unless it was unusable.
            .filter(|(k, _)| !(k.as_str() == wire::SESSION_ID && self.session.source == Source::Payload))
            .peekable();
        if extra.peek().is_some() {
            line.key(field::EXTRA);
            let mut object = Object::open(std::mem::take(&mut line.bytes));
            for (key, value) in extra {
                object.value(key, value);
            }
            line.bytes = object.end();
        }
        if !otlp_queues.is_empty() {
            line.key(field::OTLP_QUEUES);
            let _ = serde_json::to_writer(&mut line.bytes, otlp_queues);
        }
        let mut bytes = line.end();
        bytes.push(b'\n');
        bytes
    }

    /// The observability server's `POST /events` body: the id exactly as journaled, the event
    /// name, the payload cut as in the journal, and the time in integer milliseconds.
    pub fn server_body(&self, source_app: &str) -> Vec<u8> {
        let mut body = Object::new();
        body.str(record::SOURCE_APP, source_app);
        body.str(record::SESSION_ID, &self.session.id);
        body.str(record::HOOK_EVENT_TYPE, self.name);
        // The time before the payload: a record torn by a killed hook still names its event
        // (session, name, time) in its first bytes, and the deliverer takes it from the journal.
        body.key(record::TIMESTAMP);
        let _ = serde_json::to_writer(&mut body.bytes, &((self.time.unix_timestamp_nanos() / 1_000_000) as i64));
        body.key(record::PAYLOAD);
        let _ = serde_json::to_writer(&mut body.bytes, &self.payload.fields);
        body.str(record::SUMMARY, &self.summary);
        if let Some(model) = self.payload.str(wire::MODEL) {
            body.str(record::MODEL_NAME, model);
        }
        body.end()
    }
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

    fn value(&mut self, key: &str, value: &Value) {
        self.key(key);
        let _ = serde_json::to_writer(&mut self.bytes, value);
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
