//! The program's own event: one hook invocation, resolved. It is written to the journal and sent
//! to the server; the wire format it came from stays in `payload`.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::journal::field;
use crate::payload::Payload;
use crate::project::Project;
use crate::session::{Session, Source};
use crate::{clock, config};

/// Payload fields the journal line names itself (the original design's `tool` and `parameters`
/// among them); everything else goes under `extra`, so unknown fields of unknown events are
/// recorded too.
pub const NAMED: &[(&str, &str)] = &[
    ("tool_name", field::TOOL),
    ("tool_use_id", field::TOOL_USE_ID),
    ("agent_id", field::AGENT_ID),
    ("agent_type", field::AGENT_TYPE),
    ("prompt_id", field::PROMPT_ID),
    ("source", field::SOURCE),
    ("reason", field::REASON),
    ("duration_ms", field::DURATION_MS),
    ("error", field::ERROR),
    ("is_interrupt", field::IS_INTERRUPT),
    ("tool_input", field::PARAMETERS),
    ("tool_response", field::TOOL_RESPONSE),
];
/// Payload fields the line already carries under its own names.
const IMPLIED: &[&str] = &["hook_event_name", "cwd"];

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
    /// the original design's names (`tool`, `parameters`), then the rest under `extra`.
    pub fn journal_line(&self) -> Vec<u8> {
        let fields = &self.payload.fields;
        let mut line = Map::new();
        line.insert(field::TIMESTAMP.into(), clock::rfc3339(self.time).into());
        line.insert(field::EVENT.into(), self.name.into());
        line.insert(field::SESSION_ID.into(), self.session.id.as_str().into());
        line.insert(field::SESSION_SOURCE.into(), self.session.source.as_str().into());
        line.insert(field::PROJECT.into(), self.project.name.as_str().into());
        line.insert(field::PROJECT_DIR.into(), self.project.dir.to_string_lossy().into());
        line.insert(field::CWD.into(), fields.get("cwd").cloned().unwrap_or(Value::Null));
        line.insert(field::USER.into(), config::user().into());
        line.insert(field::SUMMARY.into(), self.summary.as_str().into());
        for (wire, ours) in NAMED {
            if let Some(v) = fields.get(*wire) {
                line.insert((*ours).into(), v.clone());
            }
        }
        let extra: Map<String, Value> = fields
            .iter()
            .filter(|(k, _)| !IMPLIED.contains(&k.as_str()) && !NAMED.iter().any(|(w, _)| w == k))
            // The payload's id is the line's `session_id` unless it was unusable.
            .filter(|(k, _)| !(k.as_str() == "session_id" && self.session.source == Source::Payload))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !extra.is_empty() {
            line.insert(field::EXTRA.into(), Value::Object(extra));
        }
        let mut bytes = serde_json::to_vec(&Value::Object(line)).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// The observability server's `POST /events` body: the id exactly as journaled, the event
    /// name, the payload cut as in the journal, and the time in integer milliseconds.
    pub fn server_body(&self, source_app: &str) -> Vec<u8> {
        let mut body = Map::new();
        body.insert("source_app".into(), source_app.into());
        body.insert("session_id".into(), self.session.id.as_str().into());
        body.insert("hook_event_type".into(), self.name.into());
        body.insert("payload".into(), Value::Object(self.payload.fields.clone()));
        body.insert("timestamp".into(), ((self.time.unix_timestamp_nanos() / 1_000_000) as i64).into());
        body.insert("summary".into(), self.summary.as_str().into());
        if let Some(model) = self.payload.str("model") {
            body.insert("model_name".into(), model.into());
        }
        serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
    }
}
