//! What an event is to OTLP: an outbox record or a journal line reduced to what spans are made
//! of ([`Mark`]), the ids it names (trace, span, parent), and the session's earlier events read
//! back from the journal ([`History`]) where a span needs a time its closing event does not carry.
//! Every id is derived from ids Claude Code sends (session, prompt, tool use, agent), so a span's
//! parent is known from its own payload, and no state is kept between hook processes.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::LOOKBACK_DAYS;
use crate::event::record;
use crate::hash::Fnv64;
use crate::journal;
use crate::journal::field;
use crate::payload::field as wire;
use crate::timeline::is_async_launch;

/// The session's trace id: a UUID's own 32 hex digits, so a user can paste the session id into
/// Jaeger or Tempo; any other id hashed to 16 bytes with FNV-1a (128-bit).
pub fn trace_id(session_id: &str) -> String {
    if let Some(hex) = uuid_hex(session_id)
        && hex.bytes().any(|b| b != b'0')
    {
        return hex;
    }
    format!("{:032x}", nonzero128(fnv1a128(session_id.as_bytes())))
}

/// A turn's trace id: its prompt id's own 32 hex digits (Claude Code's `prompt.id`), else the
/// session and prompt ids hashed as [`trace_id`] hashes.
pub fn turn_trace_id(session_id: &str, prompt_id: &str) -> String {
    if let Some(hex) = uuid_hex(prompt_id)
        && hex.bytes().any(|b| b != b'0')
    {
        return hex;
    }
    let key = [session_id.as_bytes(), b"\0", prompt_id.as_bytes()].concat();
    format!("{:032x}", nonzero128(fnv1a128(&key)))
}

/// A span's id: FNV-1a (64-bit) of what it is (`tool`, `turn`, `agent`, `session`, `run`), the
/// session and the id Claude Code gave it.
pub fn span_id(kind: &str, session_id: &str, id: &str) -> String {
    let mut hash = Fnv64::default();
    for part in [kind.as_bytes(), b"\0", session_id.as_bytes(), b"\0", id.as_bytes()] {
        hash.write(part);
    }
    format!("{:016x}", hash.finish().max(1))
}

fn uuid_hex(id: &str) -> Option<String> {
    let b = id.as_bytes();
    let ok = b.len() == 36
        && b.iter()
            .enumerate()
            .all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() });
    ok.then(|| id.replace('-', "").to_ascii_lowercase())
}

fn fnv1a128(bytes: &[u8]) -> u128 {
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for &b in bytes {
        h = (h ^ u128::from(b)).wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    h
}

fn nonzero128(h: u128) -> u128 {
    if h == 0 { 1 } else { h }
}

/// One event, from an outbox record or read back from the journal.
#[derive(Clone, Debug, Default)]
pub(super) struct Mark {
    pub(super) event: String,
    pub(super) session: String,
    /// Unix time in nanoseconds (records have milliseconds, journal lines more).
    pub(super) ns: i128,
    pub(super) tool: Option<String>,
    pub(super) tool_use_id: Option<String>,
    pub(super) prompt_id: Option<String>,
    pub(super) agent_id: Option<String>,
    pub(super) agent_type: Option<String>,
    /// For a call that started a subagent: the agent it started (`tool_response.agentId`).
    pub(super) launched: Option<String>,
    /// The call started that subagent in the background (`tool_response.status` is
    /// `async_launched`, Claude Code 2.1.198 on): its span ends at the subagent's SubagentStop.
    pub(super) background: bool,
    /// The conversation's text: the prompt (UserPromptSubmit), or the assistant's last message
    /// (Stop, StopFailure, SubagentStop).
    pub(super) text: Option<String>,
    /// Why it failed: PostToolUseFailure's and StopFailure's `error` (with `error_details`).
    pub(super) error: Option<String>,
    pub(super) interrupted: bool,
    /// A background launch's `tool_input`, `tool_response` and `duration_ms`, as a payload: its
    /// span is sent later, at the subagent's stop, from the journal.
    pub(super) launch: Option<Value>,
}

/// A string field, when there and not empty.
pub(super) fn s(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

impl Mark {
    pub(super) fn from_record(record: &Value) -> Mark {
        let p = &record[record::PAYLOAD];
        Mark {
            event: s(record.get(record::HOOK_EVENT_TYPE)).unwrap_or_default(),
            session: s(record.get(record::SESSION_ID)).unwrap_or_else(|| "unknown".into()),
            ns: i128::from(record[record::TIMESTAMP].as_i64().unwrap_or(0)) * 1_000_000,
            tool: s(p.get(wire::TOOL_NAME)),
            tool_use_id: s(p.get(wire::TOOL_USE_ID)),
            prompt_id: s(p.get(wire::PROMPT_ID)),
            agent_id: s(p.get(wire::AGENT_ID)),
            agent_type: s(p.get(wire::AGENT_TYPE)),
            launched: s(p.get(wire::TOOL_RESPONSE).and_then(|r| r.get(wire::RESPONSE_AGENT_ID))),
            background: is_async_launch(p.get(wire::TOOL_RESPONSE)),
            text: s(p.get(wire::PROMPT)).or_else(|| s(p.get(wire::LAST_ASSISTANT_MESSAGE))),
            error: error_of(p.get(wire::ERROR), p.get(wire::ERROR_DETAILS)),
            interrupted: p.get(wire::IS_INTERRUPT).and_then(Value::as_bool) == Some(true),
            launch: None,
        }
    }

    pub(super) fn from_line(line: &Map<String, Value>) -> Option<Mark> {
        let time = crate::clock::parse(line.get(field::TIMESTAMP)?.as_str()?)?;
        let extra = line.get(field::EXTRA).unwrap_or(&Value::Null);
        Some(Mark {
            event: s(line.get(field::EVENT))?,
            session: s(line.get(field::SESSION_ID))?,
            // Milliseconds, as in the outbox records, so a span starts exactly at its event's log.
            ns: time.unix_timestamp_nanos().div_euclid(1_000_000) * 1_000_000,
            tool: s(line.get(field::TOOL)),
            tool_use_id: s(line.get(field::TOOL_USE_ID)),
            prompt_id: s(line.get(field::PROMPT_ID)),
            agent_id: s(line.get(field::AGENT_ID)),
            agent_type: s(line.get(field::AGENT_TYPE)),
            launched: s(line.get(field::TOOL_RESPONSE).and_then(|r| r.get(wire::RESPONSE_AGENT_ID))),
            background: is_async_launch(line.get(field::TOOL_RESPONSE)),
            text: s(extra.get(wire::PROMPT)).or_else(|| s(extra.get(wire::LAST_ASSISTANT_MESSAGE))),
            error: error_of(line.get(field::ERROR), extra.get(wire::ERROR_DETAILS)),
            interrupted: line.get(field::IS_INTERRUPT).and_then(Value::as_bool) == Some(true),
            // The payload its span is made of, from the line's own names for those fields.
            launch: is_async_launch(line.get(field::TOOL_RESPONSE)).then(|| {
                let get = |k: &str| line.get(k).cloned().unwrap_or(Value::Null);
                let mut payload = Map::new();
                payload.insert(wire::TOOL_INPUT.into(), get(field::PARAMETERS));
                payload.insert(wire::TOOL_RESPONSE.into(), get(field::TOOL_RESPONSE));
                payload.insert(wire::DURATION_MS.into(), get(field::DURATION_MS));
                Value::Object(payload)
            }),
        })
    }

    pub(super) fn ms(&self) -> i128 {
        self.ns.div_euclid(1_000_000)
    }

    pub(super) fn is_post(&self) -> bool {
        matches!(self.event.as_str(), "PostToolUse" | "PostToolUseFailure")
    }

    /// The main conversation's Stop, or the StopFailure of a turn the API failed (a subagent's
    /// is SubagentStop, but be sure).
    pub(super) fn is_turn_end(&self) -> bool {
        matches!(self.event.as_str(), "Stop" | "StopFailure") && self.agent_id.is_none()
    }

    /// The same event as `other`: what finds a record's own line in the journal.
    pub(super) fn same(&self, other: &Mark) -> bool {
        self.event == other.event
            && self.ms() == other.ms()
            && self.tool_use_id == other.tool_use_id
            && self.agent_id == other.agent_id
            && self.prompt_id == other.prompt_id
    }

    /// The trace this event's spans belong to: its turn's, else the session's.
    pub(super) fn trace(&self) -> String {
        match &self.prompt_id {
            Some(prompt) if !self.is_session_event() => turn_trace_id(&self.session, prompt),
            _ => self.session_trace(),
        }
    }

    /// The trace of the session's own span.
    pub(super) fn session_trace(&self) -> String {
        trace_id(&self.session)
    }

    /// SessionStart and SessionEnd belong to the session, whatever prompt they name.
    fn is_session_event(&self) -> bool {
        matches!(self.event.as_str(), "SessionStart" | "SessionEnd")
    }

    pub(super) fn root(&self) -> String {
        span_id("session", &self.session, "")
    }

    pub(super) fn turn(&self, prompt_id: &str) -> String {
        span_id("turn", &self.session, prompt_id)
    }

    pub(super) fn agent(&self, agent_id: &str) -> String {
        span_id("agent", &self.session, agent_id)
    }

    pub(super) fn tool_span(&self, tool_use_id: &str) -> String {
        span_id("tool", &self.session, tool_use_id)
    }

    /// Where this event's work hangs: the subagent it ran in, else its turn, else the session.
    pub(super) fn parent(&self) -> String {
        match (&self.agent_id, &self.prompt_id) {
            _ if self.is_session_event() => self.root(),
            (Some(agent), _) => self.agent(agent),
            (None, Some(prompt)) => self.turn(prompt),
            (None, None) => self.root(),
        }
    }

    /// The span a log record belongs to: its tool call, else its subagent, turn or session.
    pub(super) fn own_span(&self) -> String {
        match &self.tool_use_id {
            Some(id) => self.tool_span(id),
            None => self.parent(),
        }
    }
}

/// An error and its details, as one line of text.
fn error_of(error: Option<&Value>, details: Option<&Value>) -> Option<String> {
    let details = details.filter(|d| !d.is_null()).map(|d| d.as_str().map_or_else(|| d.to_string(), str::to_owned));
    match (s(error), details.filter(|d| !d.is_empty())) {
        (Some(e), Some(d)) => Some(format!("{e}: {d}")),
        (e, d) => e.or(d),
    }
}

/// The journal lines of each session a request needs, read once. Nothing here outlives a request.
pub struct History {
    dir: Option<PathBuf>,
    sessions: HashMap<String, Vec<Mark>>,
}

impl History {
    /// Reads sessions' lines from the journal in `dir` as they are needed.
    pub fn journal(dir: PathBuf) -> History {
        History { dir: Some(dir), sessions: HashMap::new() }
    }

    /// A fixed set of journal lines (tests, and callers that already read them).
    pub fn from_lines(lines: &[Value]) -> History {
        let mut sessions: HashMap<String, Vec<Mark>> = HashMap::new();
        for mark in lines.iter().filter_map(Value::as_object).filter_map(Mark::from_line) {
            sessions.entry(mark.session.clone()).or_default().push(mark);
        }
        History { dir: None, sessions }
    }

    /// The session's events before `event` (its own journal line, or its time when the line is
    /// not there), oldest first.
    pub(super) fn before(&mut self, event: &Mark) -> &[Mark] {
        if !self.sessions.contains_key(&event.session) {
            let lines = self.dir.as_deref().map(|dir| read_session(dir, event)).unwrap_or_default();
            self.sessions.insert(event.session.clone(), lines);
        }
        let lines = &self.sessions[&event.session];
        let end =
            lines.iter().position(|m| m.same(event)).unwrap_or_else(|| lines.partition_point(|m| m.ns < event.ns));
        &lines[..end]
    }
}

/// The session's journal lines from [`LOOKBACK_DAYS`] before `event` on.
fn read_session(dir: &std::path::Path, event: &Mark) -> Vec<Mark> {
    let since = OffsetDateTime::from_unix_timestamp_nanos(event.ns)
        .ok()
        .and_then(|t| t.date().checked_sub(time::Duration::days(LOOKBACK_DAYS)));
    // Only lines that mention the id are parsed: a week of journal is mostly other sessions.
    let needle = serde_json::to_string(&event.session).unwrap_or_default();
    let mut marks = Vec::new();
    let _ = journal::for_each_line(dir, since, |line| {
        if line.contains(&needle)
            && let Ok(Value::Object(v)) = serde_json::from_str(line)
            && let Some(mark) = Mark::from_line(&v)
            && mark.session == event.session
        {
            marks.push(mark);
        }
    });
    // Stable: lines of one millisecond keep the journal's order.
    marks.sort_by_key(|m| m.ns);
    marks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_session_ids_are_their_own_trace_ids() {
        assert_eq!(trace_id("A3008A2B-25c3-4791-b916-3ad5effae209"), "a3008a2b25c34791b9163ad5effae209");
        // Not a UUID: hashed, deterministically, to 32 hex digits.
        let hashed = trace_id("unknown");
        assert_eq!(hashed.len(), 32);
        assert_eq!(hashed, trace_id("unknown"));
        assert_ne!(hashed, trace_id("unknown2"));
        assert_ne!(trace_id("00000000-0000-0000-0000-000000000000"), "0".repeat(32));
        assert_eq!(trace_id("a3008a2b25c34791b9163ad5effae209").len(), 32);
    }

    #[test]
    fn span_ids_depend_on_kind_session_and_id() {
        let a = span_id("tool", "s", "toolu_1");
        assert_eq!(a.len(), 16);
        assert_eq!(a, span_id("tool", "s", "toolu_1"));
        assert_ne!(a, span_id("turn", "s", "toolu_1"));
        assert_ne!(a, span_id("tool", "s2", "toolu_1"));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(span_id("tool", "ab", "c"), span_id("tool", "a", "bc"));
    }
}
