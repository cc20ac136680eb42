//! What a span and a log record are, and which ones the events make: one log record per outbox
//! record, and the spans each record closes (a tool call's at its PostToolUse, a turn's at its
//! Stop, a subagent's at the later of its SubagentStop and its call's end, the session's at
//! SessionEnd). Encoding-neutral: `json` and `protobuf` write these as they are.

use serde_json::Value;

use super::conventions as conv;
use super::events::{History, Mark, s, span_id};
use super::{DETAIL_MAX, DETAILS_PER_REQUEST, Privacy};
use crate::event::record;
use crate::payload::field as wire;

/// Span kind INTERNAL: these are not remote calls.
pub const KIND_INTERNAL: u8 = 1;
/// Status code ERROR.
pub const STATUS_ERROR: u8 = 2;
pub const SEVERITY_INFO: u8 = 9;
pub const SEVERITY_ERROR: u8 = 17;

/// An attribute's value, as OTLP's `AnyValue` holds it.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyValue {
    String(String),
    Bool(bool),
    Int(i64),
    Double(f64),
}

impl From<&str> for AnyValue {
    fn from(s: &str) -> AnyValue {
        AnyValue::String(s.to_owned())
    }
}

impl From<String> for AnyValue {
    fn from(s: String) -> AnyValue {
        AnyValue::String(s)
    }
}

impl From<bool> for AnyValue {
    fn from(b: bool) -> AnyValue {
        AnyValue::Bool(b)
    }
}

impl From<i64> for AnyValue {
    fn from(n: i64) -> AnyValue {
        AnyValue::Int(n)
    }
}

impl From<f64> for AnyValue {
    fn from(n: f64) -> AnyValue {
        AnyValue::Double(n)
    }
}

/// A `KeyValue`.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub key: String,
    pub value: AnyValue,
}

/// An attribute: `attr(conv::SESSION_ID, id)`.
pub fn attr(key: &str, value: impl Into<AnyValue>) -> Attribute {
    Attribute { key: key.to_owned(), value: value.into() }
}

/// One OTLP log record. Times are Unix nanoseconds; ids are lowercase hex.
#[derive(Clone, Debug, PartialEq)]
pub struct LogRecord {
    pub time: i128,
    pub severity_number: u8,
    pub severity_text: &'static str,
    pub event_name: String,
    pub body: String,
    pub attributes: Vec<Attribute>,
    pub trace_id: String,
    pub span_id: String,
}

/// One OTLP span, of kind [`KIND_INTERNAL`].
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub trace: String,
    pub id: String,
    pub parent: Option<String>,
    pub name: String,
    pub start: i128,
    pub end: i128,
    pub attrs: Vec<Attribute>,
    /// Status ERROR with this message.
    pub error: Option<String>,
}

/// The cut for opt-in text in a request of `records` records (two such attributes at most each).
fn detail_max(records: usize) -> usize {
    DETAIL_MAX.min(DETAILS_PER_REQUEST / (2 * records.max(1)))
}

// ---------------------------------------------------------------------------------------------
// Logs

/// One log record per outbox record, in order.
pub fn log_records(records: &[Value], privacy: Privacy) -> Vec<LogRecord> {
    let cut_at = detail_max(records.len());
    records.iter().map(|r| log_record(r, privacy, cut_at)).collect()
}

fn log_record(record: &Value, privacy: Privacy, cut_at: usize) -> LogRecord {
    let mark = Mark::from_record(record);
    let p = &record[record::PAYLOAD];
    let failed = mark.event == "PostToolUseFailure";
    let mut attributes = event_attributes(&mark, p, privacy, cut_at);
    if let Some(app) = s(record.get(record::SOURCE_APP)) {
        attributes.push(attr(conv::SOURCE_APP, app));
    }
    LogRecord {
        time: mark.ns,
        severity_number: if failed { SEVERITY_ERROR } else { SEVERITY_INFO },
        severity_text: if failed { "ERROR" } else { "INFO" },
        event_name: format!("{}{}", conv::EVENT_NAME_PREFIX, mark.event),
        body: body(&mark, record, privacy),
        attributes,
        trace_id: mark.trace(),
        span_id: mark.own_span(),
    }
}

/// The attributes a log record and a tool span share, under Claude Code's own telemetry names
/// where it has one (`session.id`, `prompt.id`, `tool_name`, `tool_use_id`, `agent_id`,
/// `duration_ms`, `success`, `error`).
fn event_attributes(mark: &Mark, p: &Value, privacy: Privacy, cut_at: usize) -> Vec<Attribute> {
    let mut attrs =
        vec![attr(conv::SESSION_ID, mark.session.as_str()), attr(conv::HOOK_EVENT_NAME, mark.event.as_str())];
    let mut text = |key: &str, v: &Option<String>| {
        if let Some(v) = v {
            attrs.push(attr(key, v.as_str()));
        }
    };
    text(conv::TOOL_NAME, &mark.tool);
    text(conv::TOOL_USE_ID, &mark.tool_use_id);
    text(conv::AGENT_ID, &mark.agent_id);
    text(conv::AGENT_TYPE, &mark.agent_type);
    text(conv::PROMPT_ID, &mark.prompt_id);
    for (key, name) in [(wire::SOURCE, conv::SOURCE), (wire::REASON, conv::REASON), (wire::TRIGGER, conv::TRIGGER)] {
        text(name, &s(p.get(key)));
    }
    if let Some(ms) = p.get(wire::DURATION_MS).and_then(Value::as_i64) {
        attrs.push(attr(conv::DURATION_MS, ms));
    }
    if mark.is_post() {
        attrs.push(attr(conv::SUCCESS, mark.event == "PostToolUse"));
    }
    if mark.event == "PostToolUseFailure" {
        attrs.push(attr(conv::ERROR, error_text(p)));
    }
    if let Some(b) = p.get(wire::IS_INTERRUPT).and_then(Value::as_bool) {
        attrs.push(attr(conv::IS_INTERRUPT, b));
    }
    if privacy.tool_details
        && let Some(input) = p.get(wire::TOOL_INPUT)
    {
        attrs.push(attr(conv::TOOL_INPUT, cut(&input.to_string(), cut_at)));
    }
    if privacy.prompts
        && let Some(prompt) = p.get(wire::PROMPT).and_then(Value::as_str)
    {
        attrs.push(attr(conv::PROMPT, cut(prompt, cut_at)));
    }
    if let Some(prompt) = p.get(wire::PROMPT).and_then(Value::as_str) {
        attrs.push(attr(conv::PROMPT_LENGTH, prompt.chars().count() as i64));
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

impl Span {
    fn new(mark: &Mark, id: String, parent: Option<String>, name: &str, start: i128, end: i128) -> Span {
        Span {
            trace: mark.trace(),
            id,
            parent,
            name: name.to_owned(),
            start: start.min(end),
            end,
            attrs: vec![attr(conv::SESSION_ID, mark.session.as_str())],
            error: None,
        }
    }

    /// A span whose end never arrived, closed at `end` (the session's end).
    fn unfinished(mut self) -> Span {
        self.attrs.push(attr(conv::UNFINISHED, true));
        self.error = Some("unfinished: its end was never recorded".to_owned());
        self
    }
}

/// The spans the records close: a tool call's at its PostToolUse or PostToolUseFailure, a turn's
/// at its Stop, a subagent's at the later of its SubagentStop and the end of the call that
/// started it, the session's at SessionEnd with every span still open in it, marked unfinished.
/// `history` gives the journal lines before each record.
pub fn spans(records: &[Value], privacy: Privacy, history: &mut History) -> Vec<Span> {
    let cut_at = detail_max(records.len());
    let mut spans = Vec::new();
    for record in records {
        spans.extend(spans_closed_by(record, privacy, cut_at, history));
    }
    spans
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
    mark.tool.as_deref().unwrap_or(conv::SPAN_TOOL)
}

fn subagent_start(before: &[Mark], agent: &str) -> Option<i128> {
    before.iter().find(|m| m.event == "SubagentStart" && m.agent_id.as_deref() == Some(agent)).map(|m| m.ns)
}

/// A subagent's span: `mark` is any event of the session that knows its turn.
fn agent_span(mark: &Mark, agent: &str, parent: Option<String>, start: i128, end: i128) -> Span {
    let parent = parent.unwrap_or_else(|| mark.prompt_id.as_deref().map_or_else(|| mark.root(), |p| mark.turn(p)));
    let name = match &mark.agent_type {
        Some(kind) => format!("{} {kind}", conv::SPAN_SUBAGENT),
        None => conv::SPAN_SUBAGENT.to_owned(),
    };
    let mut span = Span::new(mark, mark.agent(agent), Some(parent), &name, start, end);
    span.attrs.push(attr(conv::AGENT_ID, agent));
    if let Some(kind) = &mark.agent_type {
        span.attrs.push(attr(conv::AGENT_TYPE, kind.as_str()));
    }
    span
}

fn turn_span(mark: &Mark, prompt: &str, start: i128, end: i128) -> Span {
    let mut span = Span::new(mark, mark.turn(prompt), Some(mark.root()), conv::SPAN_TURN, start, end);
    span.attrs.push(attr(conv::PROMPT_ID, prompt));
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
        None => Span::new(ev, ev.root(), None, conv::SPAN_SESSION, start, ev.ns),
        Some(_) => {
            let id = span_id("run", &ev.session, &ev.ms().to_string());
            Span::new(ev, id, Some(ev.root()), conv::SPAN_SESSION_RESUMED, start, ev.ns)
        }
    };
    if let Some(reason) = s(p.get(wire::REASON)) {
        root.attrs.push(attr(conv::REASON, reason));
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
                span.attrs.push(attr(conv::TOOL_USE_ID, m.tool_use_id.as_deref().unwrap_or_default()));
                if let Some(tool) = &m.tool {
                    span.attrs.push(attr(conv::TOOL_NAME, tool.as_str()));
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
