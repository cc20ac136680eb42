//! What a span and a log record are, and which ones the events make: one log record per outbox
//! record, and the spans each record closes (a tool call's at its PostToolUse, a turn's at its
//! Stop, a subagent's at the later of its SubagentStop and its call's end, the session's at
//! SessionEnd). Encoding-neutral: `json` and `protobuf` write these as they are.

use serde_json::{Value, json};

use super::conventions as conv;
use super::events::{History, Mark, s, span_id, turn_trace_id};
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

/// The cut for opt-in text in a request of `records` records, each with `per_record` such
/// texts at most.
fn detail_max(records: usize, per_record: usize) -> usize {
    DETAIL_MAX.min(DETAILS_PER_REQUEST / (per_record * records.max(1)))
}

// ---------------------------------------------------------------------------------------------
// Logs

/// One log record per outbox record, in order.
pub fn log_records(records: &[Value], privacy: Privacy) -> Vec<LogRecord> {
    // A log record's opt-in texts: the tool input and the prompt.
    let cut_at = detail_max(records.len(), 2);
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
    /// A span of `trace` with the attributes every span of a turn carries: the conversation it
    /// belongs to, under both conventions' names, and the provider.
    fn new(trace: String, mark: &Mark, id: String, parent: Option<String>, name: &str, start: i128, end: i128) -> Span {
        let session = mark.session.as_str();
        Span {
            trace,
            id,
            parent,
            name: name.to_owned(),
            start: start.min(end),
            end,
            attrs: vec![
                attr(conv::SESSION_ID, session),
                attr(conv::GEN_AI_CONVERSATION_ID, session),
                attr(conv::GEN_AI_PROVIDER_NAME, conv::PROVIDER_ANTHROPIC),
            ],
            error: None,
        }
    }

    /// A span whose end never arrived, closed at `end` (the session's end).
    fn unfinished(mut self) -> Span {
        self.attrs.push(attr(conv::UNFINISHED, true));
        self.error = Some("unfinished: its end was never recorded".to_owned());
        self
    }

    /// Its kind under both conventions, and its GenAI operation.
    fn kind(&mut self, openinference: &str, operation: &str) {
        self.attrs.push(attr(conv::OI_SPAN_KIND, openinference));
        self.attrs.push(attr(conv::GEN_AI_OPERATION_NAME, operation));
    }

    /// `text` as the span's input (`output` false) or output, under OpenInference's names and
    /// GenAI's `key`: JSON `messages` of `role` when `role` is given, else the text itself.
    fn io(&mut self, output: bool, text: &str, mime: &str, key: &str, role: Option<&str>) {
        let (value, mime_key) = match output {
            false => (conv::OI_INPUT_VALUE, conv::OI_INPUT_MIME_TYPE),
            true => (conv::OI_OUTPUT_VALUE, conv::OI_OUTPUT_MIME_TYPE),
        };
        self.attrs.push(attr(value, text));
        self.attrs.push(attr(mime_key, mime));
        let genai = match role {
            Some(role) => {
                let mut message = json!({"role": role, "parts": [{"type": "text", "content": text}]});
                if output {
                    message["finish_reason"] = "stop".into();
                }
                json!([message]).to_string()
            }
            None => text.to_owned(),
        };
        self.attrs.push(attr(key, genai));
    }
}

/// What a span may show beyond names, ids and times, and how long each text may be.
#[derive(Clone, Copy)]
struct Show {
    privacy: Privacy,
    cut_at: usize,
}

/// The spans the records close: a tool call's at its PostToolUse or PostToolUseFailure (a call
/// that started a background subagent's at that subagent's SubagentStop), a turn's at its Stop or
/// StopFailure (or, when a subagent it started in the background still runs, at the last such
/// subagent's stop), a subagent's at the later of its SubagentStop and the end of the call that
/// started it, the session's at SessionEnd with every span still open in it, marked unfinished.
/// `history` gives the journal lines before each record.
pub fn spans(records: &[Value], privacy: Privacy, history: &mut History) -> Vec<Span> {
    let show = Show { privacy, cut_at: detail_max(records.len(), SPAN_DETAILS) };
    let mut spans = Vec::new();
    for record in records {
        spans.extend(spans_closed_by(record, show, history));
    }
    spans
}

/// Opt-in texts a span may carry: a tool call's input three times (ours, OpenInference's,
/// GenAI's) and its output twice.
const SPAN_DETAILS: usize = 5;

fn spans_closed_by(record: &Value, show: Show, history: &mut History) -> Vec<Span> {
    let ev = Mark::from_record(record);
    let p = &record[record::PAYLOAD];
    let mut spans = Vec::new();
    match ev.event.as_str() {
        "PostToolUse" | "PostToolUseFailure" if ev.tool_use_id.is_some() => {
            let before = history.before(&ev);
            let stopped = ev.launched.as_deref().and_then(|agent| stop_of(before, agent));
            // Its subagent runs on in the background: the call's span waits for the stop.
            if ev.background && stopped.is_none() {
                return spans;
            }
            let span = call_span(&ev, p, before, ev.ns, show);
            // A call that started a subagent which already stopped (it ran in the foreground):
            // the subagent's span hangs under this call.
            if let (Some(agent), Some(stop)) = (ev.launched.as_deref(), stopped) {
                let start = subagent_start(before, agent).unwrap_or(stop.ns);
                spans.push(agent_span(stop, agent, Some(span.id.clone()), start, stop.ns, show));
            }
            spans.push(span);
        }
        "SubagentStop" if ev.agent_id.is_some() => {
            let agent = ev.agent_id.as_deref().unwrap_or_default();
            let before = history.before(&ev);
            // Started in the background: the call that started it ended at the launch, and its
            // span is sent now, from its start to this stop, with the subagent inside.
            let caller = before.iter().find(|m| m.is_post() && m.launched.as_deref() == Some(agent));
            if let Some(caller) = caller.filter(|c| c.background) {
                let payload = caller.launch.clone().unwrap_or_default();
                let call = call_span(caller, &payload, before, ev.ns, show);
                let start = subagent_start(before, agent).unwrap_or(ev.ns);
                spans.push(agent_span(&ev, agent, Some(call.id.clone()), start, ev.ns, show));
                spans.push(call);
                // The turn that ended while this subagent ran, if it waited for this one only.
                if let Some(prompt) = caller.prompt_id.as_deref()
                    && let Some(end) = first_turn_end(before, prompt)
                    && running_in_turn(before, prompt).all(|a| a == agent)
                {
                    spans.push(turn_span(before, end, prompt, ev.ns, show));
                }
            }
        }
        "Stop" | "StopFailure" if ev.is_turn_end() && ev.prompt_id.is_some() => {
            let prompt = ev.prompt_id.as_deref().unwrap_or_default();
            let before = history.before(&ev);
            // A Stop hook that made Claude go on gives the turn a second Stop: the first closed
            // it. A subagent the turn started in the background and still running: the turn is
            // sent at its stop.
            if first_turn_end(before, prompt).is_none() && running_in_turn(before, prompt).next().is_none() {
                spans.push(turn_span(before, &ev, prompt, ev.ns, show));
            }
        }
        "SessionEnd" => {
            let before = history.before(&ev).to_vec();
            spans.extend(session_end(&ev, &before, p, show));
        }
        _ => {}
    }
    spans
}

fn tool_name(mark: &Mark) -> &str {
    mark.tool.as_deref().unwrap_or(conv::SPAN_TOOL)
}

fn stop_of<'a>(marks: &'a [Mark], agent: &str) -> Option<&'a Mark> {
    marks.iter().find(|m| m.event == "SubagentStop" && m.agent_id.as_deref() == Some(agent))
}

fn subagent_start(before: &[Mark], agent: &str) -> Option<i128> {
    before.iter().find(|m| m.event == "SubagentStart" && m.agent_id.as_deref() == Some(agent)).map(|m| m.ns)
}

/// The turn's first Stop or StopFailure in `marks`.
fn first_turn_end<'a>(marks: &'a [Mark], prompt: &str) -> Option<&'a Mark> {
    marks.iter().find(|m| m.is_turn_end() && m.prompt_id.as_deref() == Some(prompt))
}

/// The subagents turn `prompt` started in the background that have not stopped within `marks`.
fn running_in_turn<'a>(marks: &'a [Mark], prompt: &'a str) -> impl Iterator<Item = &'a str> {
    marks
        .iter()
        .filter(move |m| m.background && m.is_post() && m.prompt_id.as_deref() == Some(prompt))
        .filter_map(|m| m.launched.as_deref())
        .filter(|agent| stop_of(marks, agent).is_none())
}

/// When the span `mark`'s work hangs under began: its subagent's start, else its turn's prompt.
fn parent_start(marks: &[Mark], mark: &Mark) -> Option<i128> {
    match (&mark.agent_id, &mark.prompt_id) {
        (Some(agent), _) => subagent_start(marks, agent),
        (None, Some(prompt)) => turn_start(marks, prompt),
        (None, None) => None,
    }
}

/// The turn's UserPromptSubmit, else its first event.
fn turn_start(marks: &[Mark], prompt: &str) -> Option<i128> {
    let of_turn = |m: &&Mark| m.prompt_id.as_deref() == Some(prompt);
    marks
        .iter()
        .filter(of_turn)
        .find(|m| m.event == "UserPromptSubmit")
        .or_else(|| marks.iter().find(of_turn))
        .map(|m| m.ns)
}

/// A tool call's span, ending at `end`: from its PreToolUse when the journal has it, else its
/// end less `duration_ms`, and never before the span it hangs under. `p` is the call's payload.
fn call_span(call: &Mark, p: &Value, before: &[Mark], end: i128, show: Show) -> Span {
    let id = call.tool_use_id.as_deref().unwrap_or_default();
    let pre = before.iter().find(|m| m.event == "PreToolUse" && m.tool_use_id == call.tool_use_id);
    let start = match (pre, p.get(wire::DURATION_MS).and_then(Value::as_i64)) {
        (Some(pre), _) => pre.ns,
        (None, Some(ms)) => call.ns - i128::from(ms) * 1_000_000,
        (None, None) => call.ns,
    };
    let start = parent_start(before, call).map_or(start, |parent| start.max(parent));
    let mut span = Span::new(call.trace(), call, call.tool_span(id), Some(call.parent()), tool_name(call), start, end);
    span.attrs
        .extend(event_attributes(call, p, show.privacy, show.cut_at).into_iter().filter(|a| a.key != conv::SESSION_ID));
    tool_kind(&mut span, call);
    if call.event == "PostToolUseFailure" {
        let error = call.error.clone().unwrap_or_else(|| error_text(p));
        span.error = Some(if call.interrupted { format!("interrupted: {error}") } else { error });
    }
    if show.privacy.tool_details {
        if let Some(input) = p.get(wire::TOOL_INPUT).filter(|v| !v.is_null()) {
            span.io(
                false,
                &cut(&input.to_string(), show.cut_at),
                conv::MIME_JSON,
                conv::GEN_AI_TOOL_CALL_ARGUMENTS,
                None,
            );
        }
        let output = match p.get(wire::TOOL_RESPONSE).filter(|v| !v.is_null()) {
            Some(Value::String(text)) => Some((text.clone(), conv::MIME_TEXT)),
            Some(response) => Some((response.to_string(), conv::MIME_JSON)),
            None => span.error.clone().map(|e| (e, conv::MIME_TEXT)),
        };
        if let Some((text, mime)) = output {
            span.io(true, &cut(&text, show.cut_at), mime, conv::GEN_AI_TOOL_CALL_RESULT, None);
        }
    }
    span
}

/// A tool call's kind and names: what Phoenix, MLflow, Langfuse and Datadog classify it by.
fn tool_kind(span: &mut Span, call: &Mark) {
    span.kind(conv::KIND_TOOL, conv::OP_EXECUTE_TOOL);
    let tool = tool_name(call);
    let kind =
        if tool.starts_with(conv::MCP_TOOL_PREFIX) { conv::TOOL_TYPE_EXTENSION } else { conv::TOOL_TYPE_FUNCTION };
    span.attrs.push(attr(conv::GEN_AI_TOOL_NAME, tool));
    span.attrs.push(attr(conv::OI_TOOL_NAME, tool));
    span.attrs.push(attr(conv::GEN_AI_TOOL_TYPE, kind));
    if let Some(id) = &call.tool_use_id {
        span.attrs.push(attr(conv::GEN_AI_TOOL_CALL_ID, id.as_str()));
        span.attrs.push(attr(conv::OI_TOOL_ID, id.as_str()));
    }
}

/// A subagent's span: `mark` is any event of the session that knows its turn; a SubagentStop
/// gives the subagent's answer as its output.
fn agent_span(mark: &Mark, agent: &str, parent: Option<String>, start: i128, end: i128, show: Show) -> Span {
    let parent = parent.unwrap_or_else(|| mark.prompt_id.as_deref().map_or_else(|| mark.root(), |p| mark.turn(p)));
    let name = match &mark.agent_type {
        Some(kind) => format!("{} {kind}", conv::SPAN_SUBAGENT),
        None => conv::SPAN_SUBAGENT.to_owned(),
    };
    let mut span = Span::new(mark.trace(), mark, mark.agent(agent), Some(parent), &name, start, end);
    span.kind(conv::KIND_AGENT, conv::OP_INVOKE_AGENT);
    span.attrs.push(attr(conv::AGENT_ID, agent));
    span.attrs.push(attr(conv::GEN_AI_AGENT_ID, agent));
    if let Some(kind) = &mark.agent_type {
        span.attrs.push(attr(conv::AGENT_TYPE, kind.as_str()));
        span.attrs.push(attr(conv::GEN_AI_AGENT_NAME, kind.as_str()));
        span.attrs.push(attr(conv::OI_AGENT_NAME, kind.as_str()));
    }
    if show.privacy.prompts
        && mark.event == "SubagentStop"
        && let Some(text) = &mark.text
    {
        span.io(true, &cut(text, show.cut_at), conv::MIME_TEXT, conv::GEN_AI_OUTPUT_MESSAGES, Some("assistant"));
    }
    span
}

/// A turn's span, the root of the turn's own trace, ending at `end`: from its prompt (read from
/// `marks`) to `closed`, its Stop or StopFailure (or, for a turn cut short, any event of it).
/// The prompt is its input and the final answer its output, when opted in; a StopFailure is its
/// error.
fn turn_span(marks: &[Mark], closed: &Mark, prompt: &str, end: i128, show: Show) -> Span {
    let opened = marks.iter().find(|m| m.event == "UserPromptSubmit" && m.prompt_id.as_deref() == Some(prompt));
    let start = turn_start(marks, prompt).unwrap_or(end);
    let trace = turn_trace_id(&closed.session, prompt);
    let mut span = Span::new(trace, closed, closed.turn(prompt), None, conv::SPAN_TURN, start, end);
    span.kind(conv::KIND_CHAIN, conv::OP_INVOKE_WORKFLOW);
    span.attrs.push(attr(conv::GEN_AI_WORKFLOW_NAME, conv::WORKFLOW_TURN));
    span.attrs.push(attr(conv::PROMPT_ID, prompt));
    if show.privacy.prompts {
        if let Some(text) = opened.and_then(|m| m.text.as_deref()) {
            span.io(false, &cut(text, show.cut_at), conv::MIME_TEXT, conv::GEN_AI_INPUT_MESSAGES, Some("user"));
        }
        if closed.is_turn_end()
            && let Some(text) = &closed.text
        {
            span.io(true, &cut(text, show.cut_at), conv::MIME_TEXT, conv::GEN_AI_OUTPUT_MESSAGES, Some("assistant"));
        }
    }
    if closed.event == "StopFailure" {
        span.error = Some(closed.error.clone().unwrap_or_else(|| "StopFailure".to_owned()));
    }
    span
}

/// The session's span, and every span of this run of it that never closed. A resumed session
/// (the same id after a SessionEnd) gets a span per later run. The session's spans form a trace
/// of their own, its id the session's.
fn session_end(ev: &Mark, before: &[Mark], p: &Value, show: Show) -> Vec<Span> {
    let previous_end = before.iter().rposition(|m| m.event == "SessionEnd");
    let run = &before[previous_end.map_or(0, |i| i + 1)..];
    let start = run.first().map_or(ev.ns, |m| m.ns);
    let mut spans = Vec::new();
    // A later run is a root of its own in the session's trace: under the first run's span it
    // would end after its parent.
    let (id, name) = match previous_end {
        None => (ev.root(), conv::SPAN_SESSION),
        Some(_) => (span_id("run", &ev.session, &ev.ms().to_string()), conv::SPAN_SESSION_RESUMED),
    };
    let mut root = Span::new(ev.session_trace(), ev, id, None, name, start, ev.ns);
    // Not part of the conversation: with `session.id` the session pages would list this trace as
    // one more turn. Found by its trace id, the session id itself.
    root.attrs.retain(|a| a.key != conv::SESSION_ID && a.key != conv::GEN_AI_CONVERSATION_ID);
    root.kind(conv::KIND_AGENT, conv::OP_INVOKE_AGENT);
    root.attrs.push(attr(conv::GEN_AI_AGENT_NAME, conv::AGENT_CLAUDE_CODE));
    root.attrs.push(attr(conv::OI_AGENT_NAME, conv::AGENT_CLAUDE_CODE));
    root.attrs.push(attr(conv::GEN_AI_AGENT_ID, ev.session.as_str()));
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
                spans.push(call_span(m, &Value::Null, run, ev.ns, show).unfinished());
            }
            // Launched in the background, and its subagent never stopped.
            "PostToolUse" if m.background && m.launched.as_deref().is_some_and(|a| stop_of(later, a).is_none()) => {
                let payload = m.launch.clone().unwrap_or_default();
                spans.push(call_span(m, &payload, run, ev.ns, show).unfinished());
            }
            "UserPromptSubmit" if m.prompt_id.is_some() => {
                let prompt = m.prompt_id.as_deref().unwrap_or_default();
                match first_turn_end(later, prompt) {
                    // Never ended: interrupted by the user (Claude Code sends no Stop then), or
                    // cut short by the session's end.
                    None => {
                        let mut turn = turn_span(run, m, prompt, ev.ns, show).unfinished();
                        let interrupt = run.iter().rev().find(|e| e.interrupted && e.prompt_id == m.prompt_id);
                        if let Some(interrupt) = interrupt {
                            let why = interrupt.error.as_deref().unwrap_or("interrupted by the user");
                            turn.error = Some(format!("interrupted: {why}"));
                        }
                        spans.push(turn);
                    }
                    // Ended while a subagent it started in the background ran on, and that
                    // subagent never stopped: nobody sent it.
                    Some(end) if running_in_turn(run, prompt).next().is_some() => {
                        spans.push(turn_span(run, end, prompt, ev.ns, show));
                    }
                    Some(_) => {}
                }
            }
            "SubagentStart" if m.agent_id.is_some() => {
                let agent = m.agent_id.as_deref().unwrap_or_default();
                let stop = stop_of(later, agent);
                let caller = run.iter().find(|e| e.is_post() && e.launched.as_deref() == Some(agent));
                let parent = caller.and_then(|c| c.tool_use_id.as_deref()).map(|t| m.tool_span(t));
                match stop {
                    None => spans.push(agent_span(m, agent, parent, m.ns, ev.ns, show).unfinished()),
                    // Stopped, but the call that started it never ended: nobody emitted it.
                    Some(stop) if caller.is_none() => spans.push(agent_span(stop, agent, None, m.ns, stop.ns, show)),
                    Some(_) => {}
                }
            }
            _ => {}
        }
    }
    spans
}
