//! OTLP/HTTP JSON: every outbox record as one OpenTelemetry log record, and each session as one
//! trace. Every id is derived from ids Claude Code sends (session, prompt, tool use, agent), so
//! a span's parent is known from its own payload, and no state is kept between hook processes.
//! Where a span needs a time its closing event does not carry (a turn's start at Stop, the
//! session's start at SessionEnd), it is read back from the journal.
//!
//! The encoding follows opentelemetry-proto's JSON mapping as OTLP/HTTP defines it: camelCase
//! field names, trace and span ids as hex (not base64), 64-bit integers as decimal strings, enums
//! as numbers.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use crate::event::record;
use crate::journal::field;
use crate::payload::field as wire;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::{Outcome, Sink, http};
use crate::journal;

/// Records per request. Collectors take 4 MiB bodies by default: see [`detail_max`].
pub const BATCH_MAX: usize = 512;
/// Bytes an opt-in attribute (prompt text, tool input) may have before it is cut.
pub const DETAIL_MAX: usize = 4096;
/// What a request's opt-in text may add up to: with the rest of a record under 1 KiB, 512
/// records stay under a collector's default 4 MiB.
const DETAILS_PER_REQUEST: usize = 3 << 20;

/// The cut for opt-in text in a request of `records` records (two such attributes at most each).
fn detail_max(records: usize) -> usize {
    DETAIL_MAX.min(DETAILS_PER_REQUEST / (2 * records.max(1)))
}
/// Days of journal read back for a span's start (a turn's prompt, a session's first event).
pub const LOOKBACK_DAYS: i64 = 7;

const SCOPE: &str = "claude-session";
/// Span kind INTERNAL: these are not remote calls.
const KIND_INTERNAL: u8 = 1;
const STATUS_ERROR: u8 = 2;
const SEVERITY_INFO: u8 = 9;
const SEVERITY_ERROR: u8 = 17;

/// What leaves the machine beyond names, ids and times; Claude Code's own opt-ins.
#[derive(Clone, Copy, Default, Debug, PartialEq)]
pub struct Privacy {
    /// `OTEL_LOG_USER_PROMPTS=1`: prompt text, and the conversation's text (the assistant's last
    /// message at Stop, displayed messages).
    pub prompts: bool,
    /// `OTEL_LOG_TOOL_DETAILS=1`: tool input (the Bash command, file paths, patterns, URLs).
    pub tool_details: bool,
}

/// The resource every request describes: `service.name` and `OTEL_RESOURCE_ATTRIBUTES`.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub attributes: Vec<(String, String)>,
}

impl Resource {
    /// `service.name` first; `OTEL_SERVICE_NAME` wins over a `service.name` in the attributes,
    /// as the SDK specification says.
    pub fn new(service_name: Option<&str>, attributes: &[(String, String)]) -> Resource {
        let from_attrs = attributes.iter().find(|(k, _)| k == "service.name").map(|(_, v)| v.as_str());
        let name = service_name.or(from_attrs).unwrap_or(SCOPE);
        let mut all = vec![("service.name".to_owned(), name.to_owned())];
        all.extend(attributes.iter().filter(|(k, _)| k != "service.name").cloned());
        Resource { attributes: all }
    }

    fn to_json(&self) -> Value {
        json!({"attributes": self.attributes.iter().map(|(k, v)| attr(k, v.as_str().into())).collect::<Vec<_>>()})
    }
}

// ---------------------------------------------------------------------------------------------
// Ids

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

/// A span's id: FNV-1a (64-bit) of what it is (`tool`, `turn`, `agent`, `session`, `run`), the
/// session and the id Claude Code gave it.
pub fn span_id(kind: &str, session_id: &str, id: &str) -> String {
    let mut h = FNV64_OFFSET;
    for part in [kind.as_bytes(), b"\0", session_id.as_bytes(), b"\0", id.as_bytes()] {
        for &b in part {
            h = (h ^ u64::from(b)).wrapping_mul(FNV64_PRIME);
        }
    }
    format!("{:016x}", if h == 0 { 1 } else { h })
}

fn uuid_hex(id: &str) -> Option<String> {
    let b = id.as_bytes();
    let ok = b.len() == 36
        && b.iter()
            .enumerate()
            .all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() });
    ok.then(|| id.replace('-', "").to_ascii_lowercase())
}

const FNV64_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV64_PRIME: u64 = 0x0000_0100_0000_01b3;

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

// ---------------------------------------------------------------------------------------------
// Events: an outbox record or a journal line, reduced to what spans are made of

/// One event, from an outbox record or read back from the journal.
#[derive(Clone, Debug, Default)]
struct Mark {
    event: String,
    session: String,
    /// Unix time in nanoseconds (records have milliseconds, journal lines more).
    ns: i128,
    tool: Option<String>,
    tool_use_id: Option<String>,
    prompt_id: Option<String>,
    agent_id: Option<String>,
    agent_type: Option<String>,
    /// For a call that started a subagent: the agent it started (`tool_response.agentId`).
    launched: Option<String>,
}

fn s(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

impl Mark {
    fn from_record(record: &Value) -> Mark {
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
        }
    }

    fn from_line(line: &Map<String, Value>) -> Option<Mark> {
        let time = crate::clock::parse(line.get(field::TIMESTAMP)?.as_str()?)?;
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
            launched: s(line.get(field::TOOL_RESPONSE).and_then(|r| r.get("agentId"))),
        })
    }

    fn ms(&self) -> i128 {
        self.ns.div_euclid(1_000_000)
    }

    fn is_post(&self) -> bool {
        matches!(self.event.as_str(), "PostToolUse" | "PostToolUseFailure")
    }

    /// The main conversation's Stop (a subagent's is SubagentStop, but be sure).
    fn is_turn_end(&self) -> bool {
        self.event == "Stop" && self.agent_id.is_none()
    }

    /// The same event as `other`: what finds a record's own line in the journal.
    fn same(&self, other: &Mark) -> bool {
        self.event == other.event
            && self.ms() == other.ms()
            && self.tool_use_id == other.tool_use_id
            && self.agent_id == other.agent_id
            && self.prompt_id == other.prompt_id
    }

    fn trace(&self) -> String {
        trace_id(&self.session)
    }

    fn root(&self) -> String {
        span_id("session", &self.session, "")
    }

    fn turn(&self, prompt_id: &str) -> String {
        span_id("turn", &self.session, prompt_id)
    }

    fn agent(&self, agent_id: &str) -> String {
        span_id("agent", &self.session, agent_id)
    }

    fn tool_span(&self, tool_use_id: &str) -> String {
        span_id("tool", &self.session, tool_use_id)
    }

    /// Where this event's work hangs: the subagent it ran in, else its turn, else the session.
    fn parent(&self) -> String {
        match (&self.agent_id, &self.prompt_id) {
            (Some(agent), _) => self.agent(agent),
            (None, Some(prompt)) => self.turn(prompt),
            (None, None) => self.root(),
        }
    }

    /// The span a log record belongs to: its tool call, else its subagent, turn or session.
    fn own_span(&self) -> String {
        match &self.tool_use_id {
            Some(id) => self.tool_span(id),
            None => self.parent(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// History: the journal read back, per session, once per request

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
    fn before(&mut self, event: &Mark) -> &[Mark] {
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

// ---------------------------------------------------------------------------------------------
// Logs

/// An `ExportLogsServiceRequest`: one log record per outbox record, in order.
pub fn logs_request(records: &[Value], resource: &Resource, privacy: Privacy) -> Value {
    let cut_at = detail_max(records.len());
    let logs: Vec<Value> = records.iter().map(|r| log_record(r, privacy, cut_at)).collect();
    json!({"resourceLogs": [{
        "resource": resource.to_json(),
        "scopeLogs": [{"scope": scope(), "logRecords": logs}],
    }]})
}

fn log_record(record: &Value, privacy: Privacy, cut_at: usize) -> Value {
    let mark = Mark::from_record(record);
    let p = &record[record::PAYLOAD];
    let failed = mark.event == "PostToolUseFailure";
    let mut attrs = event_attributes(&mark, p, privacy, cut_at);
    if let Some(app) = s(record.get(record::SOURCE_APP)) {
        attrs.push(attr(record::SOURCE_APP, app.into()));
    }
    let time = (mark.ns.max(0)).to_string();
    json!({
        "timeUnixNano": time,
        "observedTimeUnixNano": time,
        "severityNumber": if failed { SEVERITY_ERROR } else { SEVERITY_INFO },
        "severityText": if failed { "ERROR" } else { "INFO" },
        "eventName": format!("claude_session.{}", mark.event),
        "body": {"stringValue": body(&mark, record, privacy)},
        "attributes": attrs,
        "traceId": mark.trace(),
        "spanId": mark.own_span(),
    })
}

/// The attributes a log record and a tool span share, under Claude Code's own telemetry names
/// where it has one (`session.id`, `prompt.id`, `tool_name`, `tool_use_id`, `agent_id`,
/// `duration_ms`, `success`, `error`).
fn event_attributes(mark: &Mark, p: &Value, privacy: Privacy, cut_at: usize) -> Vec<Value> {
    let mut attrs =
        vec![attr("session.id", mark.session.as_str().into()), attr(wire::HOOK_EVENT_NAME, mark.event.as_str().into())];
    let mut text = |key: &str, v: &Option<String>| {
        if let Some(v) = v {
            attrs.push(attr(key, v.as_str().into()));
        }
    };
    text(wire::TOOL_NAME, &mark.tool);
    text(wire::TOOL_USE_ID, &mark.tool_use_id);
    text(wire::AGENT_ID, &mark.agent_id);
    text(wire::AGENT_TYPE, &mark.agent_type);
    text("prompt.id", &mark.prompt_id);
    for key in [wire::SOURCE, wire::REASON, wire::TRIGGER] {
        text(key, &s(p.get(key)));
    }
    if let Some(ms) = p.get(wire::DURATION_MS).and_then(Value::as_i64) {
        attrs.push(attr(wire::DURATION_MS, ms.into()));
    }
    if mark.is_post() {
        attrs.push(attr("success", (mark.event == "PostToolUse").into()));
    }
    if mark.event == "PostToolUseFailure" {
        attrs.push(attr(wire::ERROR, error_text(p).into()));
    }
    if let Some(b) = p.get(wire::IS_INTERRUPT).and_then(Value::as_bool) {
        attrs.push(attr(wire::IS_INTERRUPT, b.into()));
    }
    if privacy.tool_details
        && let Some(input) = p.get(wire::TOOL_INPUT)
    {
        attrs.push(attr(wire::TOOL_INPUT, cut(&input.to_string(), cut_at).into()));
    }
    if privacy.prompts
        && let Some(prompt) = p.get(wire::PROMPT).and_then(Value::as_str)
    {
        attrs.push(attr(wire::PROMPT, cut(prompt, cut_at).into()));
    }
    if let Some(prompt) = p.get(wire::PROMPT).and_then(Value::as_str) {
        attrs.push(attr("prompt_length", (prompt.chars().count() as i64).into()));
    }
    attrs
}

/// The summary, where it tells nothing the user did not opt in to: tool input needs
/// `tool_details`, prompt and conversation text need `prompts`, and an event we do not know
/// shows its name only.
fn body(mark: &Mark, record: &Value, privacy: Privacy) -> String {
    let summary = s(record.get(record::SUMMARY)).unwrap_or_default();
    let tool = mark.tool.clone().unwrap_or_default();
    let shown = match mark.event.as_str() {
        "SessionStart" | "SessionEnd" | "PreCompact" | "PostCompact" | "PostToolBatch" | "SubagentStart" => {
            return summary;
        }
        "PreToolUse" | "PostToolUse" | "PostToolUseFailure" | "PermissionRequest" => {
            if privacy.tool_details {
                summary
            } else {
                tool
            }
        }
        "UserPromptSubmit" | "Stop" | "SubagentStop" | "MessageDisplay" => {
            if privacy.prompts {
                summary
            } else {
                "<REDACTED>".to_owned()
            }
        }
        _ => String::new(),
    };
    if shown.is_empty() { mark.event.clone() } else { shown }
}

fn error_text(p: &Value) -> String {
    s(p.get(wire::ERROR)).unwrap_or_else(|| "failed".to_owned())
}

/// Opt-in text cut to `max` bytes on a character boundary, so a batch stays small.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[cut: {} bytes]", &text[..end], text.len())
}

// ---------------------------------------------------------------------------------------------
// Traces

struct Span {
    trace: String,
    id: String,
    parent: Option<String>,
    name: String,
    start: i128,
    end: i128,
    attrs: Vec<Value>,
    /// Status ERROR with this message.
    error: Option<String>,
}

impl Span {
    fn new(mark: &Mark, id: String, parent: Option<String>, name: &str, start: i128, end: i128) -> Span {
        Span {
            trace: mark.trace(),
            id,
            parent,
            name: name.to_owned(),
            start: start.min(end),
            end,
            attrs: vec![attr("session.id", mark.session.as_str().into())],
            error: None,
        }
    }

    /// A span whose end never arrived, closed at `end` (the session's end).
    fn unfinished(mut self) -> Span {
        self.attrs.push(attr("unfinished", true.into()));
        self.error = Some("unfinished: its end was never recorded".to_owned());
        self
    }

    fn to_json(&self) -> Value {
        let mut span = Map::new();
        span.insert("traceId".into(), self.trace.as_str().into());
        span.insert("spanId".into(), self.id.as_str().into());
        if let Some(parent) = &self.parent {
            span.insert("parentSpanId".into(), parent.as_str().into());
        }
        span.insert("name".into(), self.name.as_str().into());
        span.insert("kind".into(), KIND_INTERNAL.into());
        span.insert("startTimeUnixNano".into(), self.start.max(0).to_string().into());
        span.insert("endTimeUnixNano".into(), self.end.max(0).to_string().into());
        span.insert("attributes".into(), self.attrs.clone().into());
        if let Some(message) = &self.error {
            span.insert("status".into(), json!({"code": STATUS_ERROR, "message": message}));
        }
        Value::Object(span)
    }
}

/// An `ExportTraceServiceRequest`: the spans the records close. A tool call's span at its
/// PostToolUse or PostToolUseFailure, a turn's at its Stop, a subagent's at the later of its
/// SubagentStop and the end of the call that started it, the session's at SessionEnd with every
/// span still open in it, marked unfinished. `history` gives the journal lines before each record.
pub fn traces_request(records: &[Value], resource: &Resource, privacy: Privacy, history: &mut History) -> Value {
    let cut_at = detail_max(records.len());
    let mut spans = Vec::new();
    for record in records {
        spans.extend(spans_closed_by(record, privacy, cut_at, history));
    }
    json!({"resourceSpans": [{
        "resource": resource.to_json(),
        "scopeSpans": [{"scope": scope(), "spans": spans.iter().map(Span::to_json).collect::<Vec<_>>()}],
    }]})
}

fn spans_closed_by(record: &Value, privacy: Privacy, cut_at: usize, history: &mut History) -> Vec<Span> {
    let ev = Mark::from_record(record);
    let p = &record[record::PAYLOAD];
    let mut spans = Vec::new();
    match ev.event.as_str() {
        "PostToolUse" | "PostToolUseFailure" if ev.tool_use_id.is_some() => {
            let before = history.before(&ev);
            let tool_use_id = ev.tool_use_id.as_deref().unwrap_or_default();
            let start = match p.get(wire::DURATION_MS).and_then(Value::as_i64) {
                Some(ms) => ev.ns - i128::from(ms) * 1_000_000,
                None => before
                    .iter()
                    .find(|m| m.event == "PreToolUse" && m.tool_use_id == ev.tool_use_id)
                    .map_or(ev.ns, |m| m.ns),
            };
            let mut span = Span::new(&ev, ev.tool_span(tool_use_id), Some(ev.parent()), tool_name(&ev), start, ev.ns);
            span.attrs = event_attributes(&ev, p, privacy, cut_at);
            if ev.event == "PostToolUseFailure" {
                let interrupted = p.get(wire::IS_INTERRUPT).and_then(Value::as_bool) == Some(true);
                let error = error_text(p);
                span.error = Some(if interrupted { format!("interrupted: {error}") } else { error });
            }
            // A call that started a subagent which already stopped (it ran in the foreground):
            // the subagent's span hangs under this call.
            let stopped = ev.launched.as_deref().and_then(|agent| {
                before.iter().find(|m| m.event == "SubagentStop" && m.agent_id.as_deref() == Some(agent))
            });
            if let (Some(agent), Some(stop)) = (ev.launched.as_deref(), stopped) {
                let stop = stop.clone();
                let start = subagent_start(before, agent).unwrap_or(stop.ns);
                spans.push(agent_span(&stop, agent, Some(span.id.clone()), start, stop.ns));
            }
            spans.push(span);
        }
        "SubagentStop" if ev.agent_id.is_some() => {
            let agent = ev.agent_id.as_deref().unwrap_or_default();
            let before = history.before(&ev);
            // Started in the background: the call that started it has ended already.
            let caller = before.iter().find(|m| m.is_post() && m.launched.as_deref() == Some(agent));
            if let Some(caller) = caller.and_then(|m| m.tool_use_id.clone()) {
                let start = subagent_start(before, agent).unwrap_or(ev.ns);
                spans.push(agent_span(&ev, agent, Some(ev.tool_span(&caller)), start, ev.ns));
            }
        }
        "Stop" if ev.is_turn_end() && ev.prompt_id.is_some() => {
            let prompt = ev.prompt_id.as_deref().unwrap_or_default();
            let before = history.before(&ev);
            let of_turn = |m: &&Mark| m.prompt_id.as_deref() == Some(prompt);
            // A Stop hook that made Claude go on gives the turn a second Stop: the first closed it.
            if !before.iter().filter(of_turn).any(Mark::is_turn_end) {
                let start = before
                    .iter()
                    .filter(of_turn)
                    .find(|m| m.event == "UserPromptSubmit")
                    .or_else(|| before.iter().find(of_turn))
                    .map_or(ev.ns, |m| m.ns);
                spans.push(turn_span(&ev, prompt, start, ev.ns));
            }
        }
        "SessionEnd" => {
            let before = history.before(&ev).to_vec();
            spans.extend(session_end(&ev, &before, p));
        }
        _ => {}
    }
    spans
}

fn tool_name(mark: &Mark) -> &str {
    mark.tool.as_deref().unwrap_or("tool")
}

fn subagent_start(before: &[Mark], agent: &str) -> Option<i128> {
    before.iter().find(|m| m.event == "SubagentStart" && m.agent_id.as_deref() == Some(agent)).map(|m| m.ns)
}

/// A subagent's span: `mark` is any event of the session that knows its turn.
fn agent_span(mark: &Mark, agent: &str, parent: Option<String>, start: i128, end: i128) -> Span {
    let parent = parent.unwrap_or_else(|| mark.prompt_id.as_deref().map_or_else(|| mark.root(), |p| mark.turn(p)));
    let name = match &mark.agent_type {
        Some(kind) => format!("subagent {kind}"),
        None => "subagent".to_owned(),
    };
    let mut span = Span::new(mark, mark.agent(agent), Some(parent), &name, start, end);
    span.attrs.push(attr(wire::AGENT_ID, agent.into()));
    if let Some(kind) = &mark.agent_type {
        span.attrs.push(attr(wire::AGENT_TYPE, kind.as_str().into()));
    }
    span
}

fn turn_span(mark: &Mark, prompt: &str, start: i128, end: i128) -> Span {
    let mut span = Span::new(mark, mark.turn(prompt), Some(mark.root()), "turn", start, end);
    span.attrs.push(attr("prompt.id", prompt.into()));
    span
}

/// The session's span, and every span of this run of it that never closed. A resumed session
/// (the same id after a SessionEnd) gets a span per later run, under the first run's.
fn session_end(ev: &Mark, before: &[Mark], p: &Value) -> Vec<Span> {
    let previous_end = before.iter().rposition(|m| m.event == "SessionEnd");
    let run = &before[previous_end.map_or(0, |i| i + 1)..];
    let start = run.first().map_or(ev.ns, |m| m.ns);
    let mut spans = Vec::new();
    let mut root = match previous_end {
        None => Span::new(ev, ev.root(), None, "session", start, ev.ns),
        Some(_) => {
            let id = span_id("run", &ev.session, &ev.ms().to_string());
            Span::new(ev, id, Some(ev.root()), "session (resumed)", start, ev.ns)
        }
    };
    if let Some(reason) = s(p.get(wire::REASON)) {
        root.attrs.push(attr(wire::REASON, reason.into()));
    }
    spans.push(root);

    // Spans this run opened and never closed: closed here, marked unfinished.
    for (i, m) in run.iter().enumerate() {
        let later = &run[i + 1..];
        match m.event.as_str() {
            "PreToolUse"
                if m.tool_use_id.is_some() && !later.iter().any(|e| e.is_post() && e.tool_use_id == m.tool_use_id) =>
            {
                let id = m.tool_span(m.tool_use_id.as_deref().unwrap_or_default());
                let mut span = Span::new(m, id, Some(m.parent()), tool_name(m), m.ns, ev.ns);
                span.attrs.push(attr(wire::TOOL_USE_ID, m.tool_use_id.as_deref().unwrap_or_default().into()));
                if let Some(tool) = &m.tool {
                    span.attrs.push(attr(wire::TOOL_NAME, tool.as_str().into()));
                }
                spans.push(span.unfinished());
            }
            "UserPromptSubmit"
                if m.prompt_id.is_some() && !later.iter().any(|e| e.is_turn_end() && e.prompt_id == m.prompt_id) =>
            {
                spans.push(turn_span(m, m.prompt_id.as_deref().unwrap_or_default(), m.ns, ev.ns).unfinished());
            }
            "SubagentStart" if m.agent_id.is_some() => {
                let agent = m.agent_id.as_deref().unwrap_or_default();
                let stop = later.iter().find(|e| e.event == "SubagentStop" && e.agent_id == m.agent_id);
                let caller = run.iter().find(|e| e.is_post() && e.launched.as_deref() == Some(agent));
                let parent = caller.and_then(|c| c.tool_use_id.as_deref()).map(|t| m.tool_span(t));
                match stop {
                    None => spans.push(agent_span(m, agent, parent, m.ns, ev.ns).unfinished()),
                    // Stopped, but the call that started it never ended: nobody emitted it.
                    Some(stop) if caller.is_none() => spans.push(agent_span(stop, agent, None, m.ns, stop.ns)),
                    Some(_) => {}
                }
            }
            _ => {}
        }
    }
    spans
}

// ---------------------------------------------------------------------------------------------
// Sessions that never ended

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
                field::TIMESTAMP: crate::clock::rfc3339(time), field::EVENT: "SessionEnd", field::SESSION_ID: session_id,
                field::SESSION_SOURCE: "cleanup", field::PROJECT: copy(field::PROJECT), field::PROJECT_DIR: copy(field::PROJECT_DIR),
                field::CWD: copy(field::CWD), field::USER: copy(field::USER), field::SUMMARY: "abandoned", field::REASON: "abandoned",
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
            Some(Abandoned { session_id, time, journal_line, record })
        })
        .collect();
    out.sort_by_key(|a| a.time);
    out
}

// ---------------------------------------------------------------------------------------------
// JSON pieces

fn scope() -> Value {
    json!({"name": SCOPE, "version": env!("CARGO_PKG_VERSION")})
}

/// A `KeyValue` with its `AnyValue`: strings, booleans, and integers as decimal strings.
fn attr(key: &str, value: Value) -> Value {
    let any = match value {
        Value::Bool(b) => json!({"boolValue": b}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"intValue": n.to_string()}),
        Value::Number(n) => json!({"doubleValue": n}),
        Value::String(s) => json!({"stringValue": s}),
        other => json!({"stringValue": other.to_string()}),
    };
    json!({"key": key, "value": any})
}

// ---------------------------------------------------------------------------------------------
// The sink

/// Which signal a sink sends: each has its own queue, so a collector that takes logs but fails
/// traces neither holds the logs back nor receives them twice.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Signal {
    Logs,
    Traces,
}

/// One signal's sink: where it posts, what it sends.
pub struct Otlp {
    signal: Signal,
    url: String,
    headers: Vec<(String, String)>,
    resource: Resource,
    privacy: Privacy,
    agent: ureq::Agent,
    journal: Option<PathBuf>,
}

/// The queue names of the two OTLP sinks.
pub const NAMES: [&str; 2] = ["otlp-logs", "otlp-traces"];

impl Otlp {
    /// The sink whose queue is `name` (one of [`NAMES`]), as the deliverer builds it.
    pub fn named(name: &str) -> Result<Otlp, String> {
        let signal = match name {
            "otlp-logs" => Signal::Logs,
            "otlp-traces" => Signal::Traces,
            other => return Err(format!("no OTLP sink named {other}")),
        };
        let c = crate::config::otlp()?.ok_or("OTLP is off: set CLAUDE_SESSION_OTLP_ENDPOINT")?;
        Ok(Otlp::new(signal, &c))
    }

    /// The logs and traces sinks when `CLAUDE_SESSION_OTLP_ENDPOINT` is set; none when it is
    /// not; an error naming the variable when one does not parse.
    pub fn configured() -> Result<Vec<Otlp>, String> {
        Ok(match crate::config::otlp()? {
            Some(c) => vec![Otlp::new(Signal::Logs, &c), Otlp::new(Signal::Traces, &c)],
            None => Vec::new(),
        })
    }

    pub fn new(signal: Signal, c: &crate::config::Otlp) -> Otlp {
        let (url, headers) = match signal {
            Signal::Logs => (&c.logs_url, &c.logs_headers),
            Signal::Traces => (&c.traces_url, &c.traces_headers),
        };
        Otlp {
            signal,
            url: http::loopback_literal(url),
            headers: headers.clone(),
            resource: Resource::new(c.service_name.as_deref(), &c.resource_attributes),
            privacy: Privacy { prompts: c.log_user_prompts, tool_details: c.log_tool_details },
            agent: agent(c.timeout, c.certificate.as_deref()),
            journal: journal::dir(),
        }
    }

    /// Reads spans' start times from the journal in `dir` rather than the configured one.
    pub fn with_journal(mut self, dir: Option<PathBuf>) -> Otlp {
        self.journal = dir;
        self
    }

    /// The request body for `records`.
    pub fn encode(&self, records: &[Value]) -> Value {
        match self.signal {
            Signal::Logs => logs_request(records, &self.resource, self.privacy),
            Signal::Traces => {
                let mut history = match &self.journal {
                    Some(dir) => History::journal(dir.clone()),
                    None => History::from_lines(&[]),
                };
                traces_request(records, &self.resource, self.privacy, &mut history)
            }
        }
    }
}

impl Sink for Otlp {
    fn name(&self) -> &'static str {
        match self.signal {
            Signal::Logs => NAMES[0],
            Signal::Traces => NAMES[1],
        }
    }

    fn batch_max(&self) -> usize {
        BATCH_MAX
    }

    fn send(&mut self, records: &[Value]) -> Outcome {
        let body = self.encode(records);
        // Most events close no span: a request with none would carry nothing.
        if body["resourceSpans"][0]["scopeSpans"][0]["spans"].as_array().is_some_and(Vec::is_empty) {
            return Outcome::Delivered;
        }
        let body = body.to_string();
        let mut request = self.agent.post(&self.url).header("Content-Type", "application/json");
        for (k, v) in &self.headers {
            request = request.header(k.as_str(), v.as_str());
        }
        let mut response = match request.send(body.as_bytes()) {
            Ok(r) => r,
            Err(e) => return Outcome::Retry { error: e.to_string(), after: None },
        };
        let status = response.status().as_u16();
        let retry_after = http::retry_after(response.headers());
        let mut answer = Vec::new();
        let _ = response.body_mut().with_config().limit(u64::MAX).reader().take(64 * 1024).read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        outcome(status, &answer, retry_after)
    }
}

/// What an OTLP/HTTP answer means: 2xx delivered (a partial success's rejected count is said
/// under debug: the records are the collector's to drop), 400 and 413 never, 429, 502, 503, 504
/// and other 5xx later, at least `Retry-After`.
pub fn outcome(status: u16, answer: &str, retry_after: Option<Duration>) -> Outcome {
    match status {
        200..=299 => {
            if let Some(rejected) = partial_rejected(answer) {
                crate::debug!(
                    "otlp: the collector rejected {rejected} of the batch: {}",
                    crate::text::one_line(answer, 300)
                );
            }
            Outcome::Delivered
        }
        400 | 413 => Outcome::Rejected { status, answer: answer.to_owned() },
        _ => Outcome::Retry {
            error: format!("HTTP {status}: {}", crate::text::one_line(answer, 200)),
            after: retry_after,
        },
    }
}

/// `partialSuccess.rejectedLogRecords` or `.rejectedSpans`, when not zero.
pub fn partial_rejected(answer: &str) -> Option<u64> {
    let v: Value = serde_json::from_str(answer).ok()?;
    let partial = v.get("partialSuccess")?;
    let n = ["rejectedLogRecords", "rejectedSpans"].iter().find_map(|k| {
        let n = partial.get(*k)?;
        n.as_u64().or_else(|| n.as_str()?.parse().ok())
    })?;
    (n > 0).then_some(n)
}

/// The agent every sink starts from, with TLS roots from `OTEL_EXPORTER_OTLP_CERTIFICATE` or the
/// system when the binary has TLS.
fn agent(timeout: Duration, certificate: Option<&std::path::Path>) -> ureq::Agent {
    let builder = http::config(timeout);
    #[cfg(feature = "tls")]
    let builder = builder.tls_config(tls_config(certificate));
    #[cfg(not(feature = "tls"))]
    let _ = certificate;
    builder.build().new_agent()
}

/// Where distributions keep their CA bundle; `SSL_CERT_FILE` first, as OpenSSL reads it.
#[cfg(feature = "tls")]
const SYSTEM_BUNDLES: &[&str] =
    &["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

/// The CA file given, else the system's bundle, else the Mozilla roots compiled in.
#[cfg(feature = "tls")]
fn tls_config(certificate: Option<&std::path::Path>) -> ureq::tls::TlsConfig {
    use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, TlsProvider};
    let env_file = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
    let candidates = certificate
        .map(std::path::Path::to_path_buf)
        .into_iter()
        .chain(env_file.filter(|_| certificate.is_none()))
        .chain(SYSTEM_BUNDLES.iter().map(PathBuf::from).filter(|_| certificate.is_none()));
    let roots = candidates
        .filter_map(|path| std::fs::read(path).ok())
        .map(|pem| {
            ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(PemItem::Certificate(c)) => Some(c.to_owned()),
                    _ => None,
                })
                .collect::<Vec<Certificate<'static>>>()
        })
        .find(|certs| !certs.is_empty())
        .map(|certs| RootCerts::new_with_certs(&certs))
        .unwrap_or(RootCerts::WebPki);
    TlsConfig::builder().provider(TlsProvider::Rustls).root_certs(roots).build()
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

    const SID: &str = "b58b8352-cb65-4938-89b1-ca08fc4358de";

    /// A journal line and the outbox record of the same event, at `ms` past a fixed second.
    fn event(ms: i64, name: &str, fields: Value) -> (Value, Value) {
        let t = OffsetDateTime::from_unix_timestamp(1_763_700_000).unwrap() + time::Duration::milliseconds(ms);
        let mut line = json!({"timestamp": crate::clock::rfc3339(t), "event": name, "session_id": SID, "summary": "s"});
        let mut payload = json!({"session_id": SID, "hook_event_name": name});
        for (k, v) in fields.as_object().unwrap() {
            payload[k] = v.clone();
            let ours = match k.as_str() {
                "tool_name" => "tool",
                "tool_input" => "parameters",
                other => other,
            };
            line[ours] = v.clone();
        }
        let record = json!({"source_app": "proj", "session_id": SID, "hook_event_type": name, "payload": payload,
            "timestamp": t.unix_timestamp_nanos() / 1_000_000, "summary": "s"});
        (line, record)
    }

    fn spans_of(events: &[(Value, Value)]) -> Vec<Value> {
        let lines: Vec<Value> = events.iter().map(|e| e.0.clone()).collect();
        let records: Vec<Value> = events.iter().map(|e| e.1.clone()).collect();
        let request =
            traces_request(&records, &Resource::new(None, &[]), Privacy::default(), &mut History::from_lines(&lines));
        request["resourceSpans"][0]["scopeSpans"][0]["spans"].as_array().unwrap().clone()
    }

    #[test]
    fn a_foreground_subagent_hangs_under_the_call_that_started_it() {
        let p = json!({"prompt_id": "p1"});
        let agent = json!({"prompt_id": "p1", "agent_id": "ag1", "agent_type": "general-purpose"});
        let events = [
            event(0, "UserPromptSubmit", p.clone()),
            event(10, "PreToolUse", json!({"prompt_id": "p1", "tool_name": "Agent", "tool_use_id": "t1"})),
            event(20, "SubagentStart", agent.clone()),
            event(
                30,
                "PreToolUse",
                json!({"prompt_id": "p1", "agent_id": "ag1", "tool_name": "Read", "tool_use_id": "t2"}),
            ),
            // No duration_ms: the span starts at the PreToolUse.
            event(
                45,
                "PostToolUse",
                json!({"prompt_id": "p1", "agent_id": "ag1", "tool_name": "Read", "tool_use_id": "t2"}),
            ),
            event(50, "SubagentStop", agent),
            event(
                60,
                "PostToolUse",
                json!({"prompt_id": "p1", "tool_name": "Agent", "tool_use_id": "t1",
                "duration_ms": 50, "tool_response": {"agentId": "ag1"}}),
            ),
            event(70, "Stop", p.clone()),
            // A Stop hook made Claude go on: the turn was closed by the first Stop.
            event(80, "Stop", p),
        ];
        let spans = spans_of(&events);
        let names: Vec<&str> = spans.iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Read", "subagent general-purpose", "Agent", "turn"]);
        let (read, sub, call, turn) = (&spans[0], &spans[1], &spans[2], &spans[3]);
        let dur = |s: &Value| {
            s["endTimeUnixNano"].as_str().unwrap().parse::<i128>().unwrap()
                - s["startTimeUnixNano"].as_str().unwrap().parse::<i128>().unwrap()
        };
        assert_eq!((dur(read), dur(sub), dur(call), dur(turn)), (15_000_000, 30_000_000, 50_000_000, 70_000_000));
        assert_eq!(read["parentSpanId"], sub["spanId"]);
        assert_eq!(sub["parentSpanId"], call["spanId"]);
        assert_eq!(call["parentSpanId"], turn["spanId"]);
        assert_eq!(turn["parentSpanId"].as_str().unwrap(), span_id("session", SID, ""));
        assert_eq!(call["spanId"].as_str().unwrap(), span_id("tool", SID, "t1"));
        assert!(spans.iter().all(|s| s["traceId"] == "b58b8352cb65493889b1ca08fc4358de"));
    }

    #[test]
    fn bodies_keep_to_the_opt_ins() {
        let records = [
            event(0, "UserPromptSubmit", json!({"prompt": "my secret plan"})).1,
            event(1, "PreToolUse", json!({"tool_name": "Bash", "tool_input": {"command": "rm -rf x"}})).1,
            event(2, "SomethingNew", json!({"message": "m"})).1,
            event(3, "SessionStart", json!({"source": "startup"})).1,
        ];
        let body = |privacy: Privacy| -> Vec<String> {
            let r = logs_request(&records, &Resource::new(None, &[]), privacy);
            let logs = r["resourceLogs"][0]["scopeLogs"][0]["logRecords"].as_array().unwrap().clone();
            logs.iter().map(|l| l["body"]["stringValue"].as_str().unwrap().to_owned()).collect()
        };
        // The records' summary is "s" throughout; what matters is which is shown.
        assert_eq!(body(Privacy::default()), ["<REDACTED>", "Bash", "SomethingNew", "s"]);
        assert_eq!(body(Privacy { prompts: true, tool_details: true }), ["s", "s", "SomethingNew", "s"]);
        let all = logs_request(&records, &Resource::new(None, &[]), Privacy::default()).to_string();
        assert!(!all.contains("my secret plan") && !all.contains("rm -rf"));
        let opted = logs_request(&records, &Resource::new(None, &[]), Privacy { prompts: true, tool_details: true });
        assert!(opted.to_string().contains("my secret plan") && opted.to_string().contains("rm -rf"));
    }

    #[test]
    fn a_full_batch_of_opted_in_details_fits_a_collectors_limit() {
        let big = "é".repeat(20_000);
        let records: Vec<Value> = (0..BATCH_MAX as i64)
            .map(|i| {
                let fields = json!({"tool_name": "Bash", "tool_use_id": format!("t{i}"), "prompt": big,
                    "tool_input": {"command": big}, "duration_ms": 1});
                event(i, "PostToolUse", fields).1
            })
            .collect();
        let all = Privacy { prompts: true, tool_details: true };
        let logs = logs_request(&records, &Resource::new(None, &[]), all).to_string();
        assert!(logs.len() < 4 << 20, "{} bytes", logs.len());
        let one = logs_request(&records[..1], &Resource::new(None, &[]), all).to_string();
        assert!(one.len() > 2 * DETAIL_MAX, "a small batch keeps the whole cut");
        let traces =
            traces_request(&records, &Resource::new(None, &[]), all, &mut History::from_lines(&[])).to_string();
        assert!(traces.len() < 4 << 20, "{} bytes", traces.len());
    }

    #[test]
    fn answers() {
        assert_eq!(outcome(200, "{}", None), Outcome::Delivered);
        assert_eq!(outcome(200, r#"{"partialSuccess":{"rejectedLogRecords":"2"}}"#, None), Outcome::Delivered);
        assert_eq!(partial_rejected(r#"{"partialSuccess":{"rejectedLogRecords":"2"}}"#), Some(2));
        assert_eq!(partial_rejected(r#"{"partialSuccess":{"rejectedSpans":3}}"#), Some(3));
        assert_eq!(partial_rejected(r#"{"partialSuccess":{}}"#), None);
        assert_eq!(outcome(400, "bad", None), Outcome::Rejected { status: 400, answer: "bad".into() });
        let after = Some(Duration::from_secs(7));
        assert!(matches!(outcome(503, "", after), Outcome::Retry { after: a, .. } if a == after));
        assert!(matches!(outcome(429, "", None), Outcome::Retry { after: None, .. }));
    }
}
