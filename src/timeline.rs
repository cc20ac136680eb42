//! Reading the journal back: one session's timeline, with each tool call paired from
//! PreToolUse to its PostToolUse or PostToolUseFailure, and the list of sessions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use time::{Date, OffsetDateTime};

use crate::clock;
use crate::journal::{self, field};
use crate::out::Report;
use crate::payload::field as wire;
use crate::text::{one_line, plural, safe};
use crate::usage::{Prices, SessionUsage};

/// How a tool call ended, for a row that is one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    Failed,
    Interrupted,
    /// Started, and no end was recorded (yet).
    NoResult,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Interrupted => "interrupted",
            Status::NoResult => "no result",
        }
    }
}

/// One row of a timeline: an event, or a whole tool call.
pub struct Row {
    /// As journaled; None when the line's time did not parse.
    pub time: Option<OffsetDateTime>,
    pub event: String,
    pub tool: Option<String>,
    pub summary: String,
    pub duration_ms: Option<u64>,
    /// Set for tool calls only.
    pub status: Option<Status>,
    pub error: Option<String>,
    pub agent: Option<String>,
    /// For a call that started a subagent (Agent, Task): the agent it started.
    pub launched: Option<String>,
    /// The call launched its subagent in the background (`tool_response.status` is
    /// `async_launched`): its duration runs to the subagent's SubagentStop, not to the launch.
    pub background: Option<Background>,
    pub tool_use_id: Option<String>,
    /// The turn it belongs to (payload `prompt_id`): a Stop row shows its turn's usage.
    pub prompt_id: Option<String>,
    pub agent_id: Option<String>,
}

/// Where a background subagent's run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Background {
    /// Its SubagentStop was recorded: the call's duration is launch to stop.
    Stopped,
    /// No SubagentStop recorded (yet): the duration is the launch's.
    Running,
}

impl Background {
    pub fn as_str(self) -> &'static str {
        match self {
            Background::Stopped => "stopped",
            Background::Running => "running",
        }
    }
}

pub struct Timeline {
    pub session_id: String,
    pub project: Option<String>,
    pub project_dir: Option<String>,
    pub events: usize,
    pub rows: Vec<Row>,
    /// The session's transcripts, and its subagents' by agent id, as the payloads named them.
    pub transcripts: Transcripts,
    /// Tokens and cost, when the transcripts were read (`show` fills it in).
    pub usage: Option<(SessionUsage, Prices)>,
}

/// Where a session's usage is: the transcripts its events named.
#[derive(Clone, Debug, Default)]
pub struct Transcripts {
    pub main: Vec<String>,
    /// (agent id, transcript), in order of appearance.
    pub agents: Vec<(String, String)>,
}

impl Transcripts {
    /// Notes the transcripts a journal line's `extra` names.
    fn note(&mut self, agent: Option<&str>, main: Option<String>, agent_path: Option<String>) {
        if let Some(path) = main.filter(|p| !self.main.contains(p)) {
            self.main.push(path);
        }
        if let (Some(agent), Some(path)) = (agent, agent_path)
            && !self.agents.iter().any(|(a, p)| a == agent && *p == path)
        {
            self.agents.push((agent.to_owned(), path));
        }
    }

    /// And the subagent transcripts Claude Code keeps beside the main ones.
    pub fn with_neighbours(&self) -> Transcripts {
        let mut all = self.clone();
        for main in &self.main {
            for (agent, path) in crate::usage::subagent_transcripts(main) {
                all.note(Some(&agent), None, Some(path));
            }
        }
        all
    }
}

/// Every journal line of `session_id`, in order, from `since` on.
pub fn load(dir: &Path, session_id: &str, since: Option<Date>) -> std::io::Result<Timeline> {
    // Only lines that mention the id are parsed: a month of journal is mostly other sessions.
    let needle = serde_json::to_string(session_id).unwrap_or_default();
    let mut lines = Vec::new();
    journal::for_each_line(dir, since, |line| {
        // A line that spells the id with escapes (not ours, but valid JSON) is parsed too.
        if (line.contains(&needle) || line.contains("\\u"))
            && let Ok(Value::Object(v)) = serde_json::from_str(line)
            && v.get(field::SESSION_ID).and_then(Value::as_str) == Some(session_id)
        {
            lines.push(v);
        }
    })?;
    Ok(build(session_id, &lines))
}

/// Pairs tool calls by `tool_use_id`: a call is shown where it started, with its end's duration
/// and outcome. A PreToolUse without an end is `no result`; an end without a start stands alone.
/// A call that launched a subagent in the background lasts until that subagent's SubagentStop.
pub fn build(session_id: &str, lines: &[Map<String, Value>]) -> Timeline {
    let s = |v: &Map<String, Value>, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut rows: Vec<Row> = Vec::new();
    let mut open: HashMap<String, (usize, Option<OffsetDateTime>)> = HashMap::new();
    let mut transcripts = Transcripts::default();
    // Background subagent -> its call's row and the call's start.
    let mut running: HashMap<String, (usize, Option<OffsetDateTime>)> = HashMap::new();
    for line in lines {
        let event = s(line, field::EVENT).unwrap_or_default();
        let at = s(line, field::TIMESTAMP).and_then(|t| clock::parse(&t));
        let tool_use_id = s(line, field::TOOL_USE_ID);
        let agent = s(line, field::AGENT_ID).map(|id| match s(line, field::AGENT_TYPE).filter(|t| !t.is_empty()) {
            Some(kind) => format!("{kind} {id}"),
            None => id,
        });
        let row = Row {
            time: at,
            tool: s(line, field::TOOL),
            summary: s(line, field::SUMMARY).unwrap_or_default(),
            duration_ms: None,
            status: None,
            error: None,
            agent,
            launched: None,
            background: None,
            tool_use_id: tool_use_id.clone(),
            prompt_id: s(line, field::PROMPT_ID),
            agent_id: s(line, field::AGENT_ID),
            event: event.clone(),
        };
        let extra = line.get(field::EXTRA);
        let path = |k: &str| extra.and_then(|e| e.get(k)).and_then(Value::as_str).map(str::to_owned);
        transcripts.note(
            s(line, field::AGENT_ID).as_deref(),
            path(wire::TRANSCRIPT_PATH),
            path(wire::AGENT_TRANSCRIPT_PATH),
        );
        match (event.as_str(), tool_use_id) {
            ("PreToolUse", Some(id)) => {
                open.insert(id, (rows.len(), at));
                rows.push(Row { status: Some(Status::NoResult), ..row });
            }
            ("PostToolUse" | "PostToolUseFailure", id) => {
                let failed = event == "PostToolUseFailure";
                let interrupted = line.get(field::IS_INTERRUPT).and_then(Value::as_bool) == Some(true);
                let status = Some(match (failed, interrupted) {
                    (_, true) => Status::Interrupted,
                    (true, false) => Status::Failed,
                    (false, false) => Status::Ok,
                });
                let error = s(line, field::ERROR).map(|e| one_line(&e, 120));
                let response = line.get(field::TOOL_RESPONSE);
                let launched =
                    response.and_then(|r| r.get(wire::RESPONSE_AGENT_ID)).and_then(Value::as_str).map(str::to_owned);
                let background = launched.is_some() && is_async_launch(response);
                let started = id.and_then(|id| open.remove(&id));
                let measured = line.get(field::DURATION_MS).and_then(Value::as_u64);
                let start = started.and_then(|(_, t)| t).or_else(|| Some(at? - ms(measured?)));
                let duration = measured.or_else(|| millis_between(start?, at?));
                let i = match started {
                    Some((i, _)) => {
                        let call = &mut rows[i];
                        call.status = status;
                        call.error = error;
                        call.duration_ms = duration;
                        call.launched = launched.clone();
                        i
                    }
                    None => {
                        rows.push(Row { status, error, duration_ms: duration, launched: launched.clone(), ..row });
                        rows.len() - 1
                    }
                };
                if let (true, Some(agent)) = (background, launched) {
                    rows[i].background = Some(Background::Running);
                    running.insert(agent, (i, start));
                }
            }
            ("SubagentStop", _) if s(line, field::AGENT_ID).is_some_and(|a| running.contains_key(&a)) => {
                let agent = s(line, field::AGENT_ID).unwrap_or_default();
                if let Some((i, start)) = running.remove(&agent) {
                    let call = &mut rows[i];
                    call.background = Some(Background::Stopped);
                    if let Some(ms) = start.zip(at).and_then(|(start, end)| millis_between(start, end)) {
                        call.duration_ms = Some(ms);
                    }
                }
                rows.push(row);
            }
            _ => rows.push(row),
        }
    }
    let first = lines.first();
    Timeline {
        session_id: session_id.to_owned(),
        project: first.and_then(|l| s(l, field::PROJECT)),
        project_dir: first.and_then(|l| s(l, field::PROJECT_DIR)),
        events: lines.len(),
        rows,
        transcripts,
        usage: None,
    }
}

/// `tool_response` of a call that started its subagent in the background (Claude Code 2.1.198 on):
/// `{"isAsync": true, "status": "async_launched", "agentId": ...}`. OTLP reads it too.
pub fn is_async_launch(response: Option<&Value>) -> bool {
    response.is_some_and(|r| {
        r.get(wire::STATUS).and_then(Value::as_str) == Some("async_launched")
            || r.get(wire::RESPONSE_IS_ASYNC).and_then(Value::as_bool) == Some(true)
    })
}

fn ms(n: u64) -> time::Duration {
    time::Duration::milliseconds(i64::try_from(n).unwrap_or(i64::MAX))
}

fn millis_between(start: OffsetDateTime, end: OffsetDateTime) -> Option<u64> {
    u64::try_from((end - start).whole_milliseconds()).ok()
}

impl Timeline {
    /// The usage a row stands for: its turn's at a Stop, the subagent's at a SubagentStop.
    fn row_usage(&self, row: &Row) -> Option<(&'static str, &crate::usage::Tally, &Prices)> {
        let (usage, prices) = self.usage.as_ref()?;
        let (label, tally) = match row.event.as_str() {
            "Stop" => ("turn usage", usage.turns.get(row.prompt_id.as_deref()?)?),
            "SubagentStop" => {
                let id = row.agent_id.as_deref()?;
                ("subagent usage", usage.agents.iter().find(|(a, _)| a == id).map(|(_, t)| t)?)
            }
            _ => return None,
        };
        Some((label, tally, prices))
    }

    fn calls(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.tool.is_some() && r.status.is_some())
    }

    /// The calls' durations summed, saturating: `duration_ms` is a payload's number, and two near
    /// `u64::MAX` (a hand-edited journal) overflowed.
    fn tool_time_ms(&self) -> u64 {
        self.calls().filter_map(|r| r.duration_ms).fold(0, u64::saturating_add)
    }

    /// Tool calls per tool, busiest first.
    fn per_tool(&self) -> Vec<(String, usize)> {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for row in self.calls() {
            *counts.entry(row.tool.as_deref().unwrap_or("?")).or_default() += 1;
        }
        let mut counts: Vec<(String, usize)> = counts.into_iter().map(|(t, n)| (t.to_owned(), n)).collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        counts
    }

    fn slowest(&self) -> Option<&Row> {
        self.calls().filter(|r| r.duration_ms.is_some()).max_by_key(|r| r.duration_ms)
    }
}

impl Report for Timeline {
    /// The timeline for a terminal: every recorded text made safe (see `text::safe`).
    fn render(&self) -> String {
        let mut out = format!("session {}", safe(&self.session_id));
        if let (Some(p), Some(d)) = (&self.project, &self.project_dir) {
            out.push_str(&format!("  {} ({})", safe(p), safe(d)));
        }
        out.push('\n');
        let mut day = String::new();
        for row in &self.rows {
            let (date, clock) = row
                .time
                .map_or((String::from("(no time)"), String::from("?")), |t| (clock::day(t), clock::clock_ms(t)));
            if date != day {
                out.push_str(&format!("\n{date} (UTC)\n"));
                day = date;
            }
            // A tool call shows its tool; an event the dashboard marks (waiting for you, permission
            // asked, compacting) shows that in words.
            let label = safe(row.tool.as_deref().or_else(|| crate::summary::label(&row.event)).unwrap_or(&row.event));
            let mut parts = vec![format!("  {clock}  {label:<17}"), safe(&row.summary).into_owned()];
            if let Some(ms) = row.duration_ms {
                parts.push(format!("({ms} ms)"));
            }
            match row.status {
                Some(Status::Failed) => parts.push(format!("FAILED: {}", safe(row.error.as_deref().unwrap_or("?")))),
                Some(Status::Interrupted) => parts.push("INTERRUPTED".into()),
                Some(Status::NoResult) => parts.push("(no result)".into()),
                Some(Status::Ok) | None => {}
            }
            if let Some(agent) = &row.launched {
                parts.push(format!("-> agent {}", safe(agent)));
            }
            match row.background {
                Some(Background::Stopped) => parts.push("in background, until its SubagentStop".into()),
                Some(Background::Running) => parts.push("in background, no SubagentStop yet".into()),
                None => {}
            }
            parts.retain(|p| !p.is_empty());
            let line = parts.join("  ");
            out.push_str(line.trim_end());
            out.push('\n');
            if let Some((label, tally, prices)) = self.row_usage(row) {
                out.push_str(&format!("  {:12}  {label:<17}  {}\n", "", safe(&tally.detailed(prices))));
            }
        }
        let per_tool: Vec<String> = self.per_tool().iter().map(|(t, n)| format!("{} {n}", safe(t))).collect();
        let total = self.tool_time_ms();
        out.push_str(&format!(
            "\n{}, {}{}{}, tool time {total} ms",
            plural(self.events, "event"),
            plural(self.calls().count(), "tool call"),
            if per_tool.is_empty() { "" } else { ": " },
            per_tool.join(", ")
        ));
        if let Some(slow) = self.slowest() {
            let tool = safe(slow.tool.as_deref().unwrap_or("?"));
            out.push_str(&format!(", slowest {tool} {} ms ({})", slow.duration_ms.unwrap_or(0), safe(&slow.summary)));
        }
        out.push('\n');
        if let Some((usage, prices)) = &self.usage {
            out.push_str(&format!("tokens: {}\n", safe(&usage.main.detailed(prices))));
            if !usage.agents.is_empty() {
                let agents = usage.agents_total();
                let what = plural(usage.agents.len(), "subagent");
                out.push_str(&format!("  {what}, apart: {}\n", safe(&agents.detailed(prices))));
                out.push_str(&format!("  session total: {}\n", safe(&usage.total().short(prices))));
            }
        }
        out
    }

    fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let mut row = json!({
                    field::TIMESTAMP: r.time.map(clock::rfc3339), field::EVENT: r.event, field::TOOL: r.tool, field::SUMMARY: r.summary,
                    field::DURATION_MS: r.duration_ms, "status": r.status.map(Status::as_str),
                    field::ERROR: r.error, "agent": r.agent, "launched": r.launched, field::TOOL_USE_ID: r.tool_use_id,
                    "background": r.background.map(Background::as_str),
                });
                if let Some((_, tally, prices)) = self.row_usage(r) {
                    row["usage"] = tally.to_json(prices);
                }
                row
            })
            .collect();
        let slowest = self
            .slowest()
            .map(|r| json!({field::TOOL: r.tool, field::DURATION_MS: r.duration_ms, field::SUMMARY: r.summary}));
        json!({
            field::SESSION_ID: self.session_id,
            field::PROJECT: self.project,
            field::PROJECT_DIR: self.project_dir,
            "rows": rows,
            "summary": {
                "events": self.events,
                "tool_calls": self.calls().count(),
                "per_tool": self.per_tool().into_iter().map(|(t, n)| (t, Value::from(n))).collect::<Map<String, Value>>(),
                "tool_time_ms": self.tool_time_ms(),
                "slowest": slowest,
            },
            "usage": self.usage.as_ref().map(|(u, prices)| u.to_json(prices)),
        })
    }
}

/// A session as the journal knows it.
pub struct SessionSummary {
    pub id: String,
    pub project: String,
    pub project_dir: String,
    pub first: Option<OffsetDateTime>,
    pub last: Option<OffsetDateTime>,
    pub events: usize,
    pub tool_calls: usize,
    call_ids: HashSet<String>,
    pub transcripts: Transcripts,
    /// Tokens and cost, when the transcripts were read (`show` fills it in).
    pub usage: Option<SessionUsage>,
}

/// `show --sessions`: the journal's sessions, in order of first appearance.
pub struct SessionList {
    pub journal: String,
    pub sessions: Vec<SessionSummary>,
    /// The prices the sessions' usage is shown at, when it was read.
    pub prices: Option<Prices>,
}

/// Every session in the journal from `since` on, in order of first appearance. Lines are parsed
/// to raw values only, so long tool inputs and responses cost a scan, not an allocation.
pub fn sessions(dir: &Path, since: Option<Date>) -> std::io::Result<SessionList> {
    let mut order: Vec<SessionSummary> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    journal::for_each_line(dir, since, |line| {
        // Owned keys: a key written with an escape cannot be borrowed from the line.
        let Ok(fields) = serde_json::from_str::<BTreeMap<String, &RawValue>>(line) else { return };
        let text = |k: &str| fields.get(k).and_then(|r| serde_json::from_str::<String>(r.get()).ok());
        let Some(id) = text(field::SESSION_ID) else { return };
        let time = text(field::TIMESTAMP).and_then(|t| clock::parse(&t));
        let i = *index.entry(id.clone()).or_insert_with(|| {
            order.push(SessionSummary {
                id,
                project: text(field::PROJECT).unwrap_or_default(),
                project_dir: text(field::PROJECT_DIR).unwrap_or_default(),
                first: time,
                last: None,
                events: 0,
                tool_calls: 0,
                call_ids: HashSet::new(),
                transcripts: Transcripts::default(),
                usage: None,
            });
            order.len() - 1
        });
        let s = &mut order[i];
        s.last = time;
        s.events += 1;
        let event = text(field::EVENT).unwrap_or_default();
        // Every event names the transcript; these are enough to find each one, and tool calls
        // (most lines) are not parsed further for it.
        if matches!(event.as_str(), "SessionStart" | "UserPromptSubmit" | "Stop" | "SubagentStop" | "SessionEnd")
            && let Some(extra) = fields.get(field::EXTRA)
            && let Ok(extra) = serde_json::from_str::<BTreeMap<String, &RawValue>>(extra.get())
        {
            let path = |k: &str| extra.get(k).and_then(|r| serde_json::from_str::<String>(r.get()).ok());
            s.transcripts.note(
                text(field::AGENT_ID).as_deref(),
                path(wire::TRANSCRIPT_PATH),
                path(wire::AGENT_TRANSCRIPT_PATH),
            );
        }
        // A call counts once, whether its start, its end or both were recorded.
        if matches!(event.as_str(), "PreToolUse" | "PostToolUse" | "PostToolUseFailure") {
            match text(field::TOOL_USE_ID) {
                Some(call) => s.tool_calls += usize::from(s.call_ids.insert(call)),
                None if event == "PreToolUse" => s.tool_calls += 1,
                None => {}
            }
        }
    })?;
    Ok(SessionList { journal: dir.to_string_lossy().into_owned(), sessions: order, prices: None })
}

impl Report for SessionList {
    fn render(&self) -> String {
        if self.sessions.is_empty() {
            return format!("no sessions in {}\n", safe(&self.journal));
        }
        let time = |t: Option<OffsetDateTime>| t.map_or("-".to_owned(), clock::short);
        let mut header = ["SESSION", "PROJECT", "FIRST", "LAST", "EVENTS", "TOOL CALLS"].map(String::from).to_vec();
        if self.prices.is_some() {
            header.extend(["TOKENS", "COST"].map(String::from));
        }
        let rows = self.sessions.iter().map(|s| {
            let mut row = vec![
                safe(&s.id).into_owned(),
                safe(&s.project).into_owned(),
                time(s.first),
                time(s.last),
                s.events.to_string(),
                s.tool_calls.to_string(),
            ];
            if let Some(prices) = &self.prices {
                let total = s.usage.as_ref().map(SessionUsage::total).unwrap_or_default();
                if total.is_empty() {
                    row.extend(["-".to_owned(), "-".to_owned()]);
                } else {
                    row.extend([total.tokens().short(), total.cost(prices).show()]);
                }
            }
            row
        });
        crate::text::columns(std::iter::once(header).chain(rows).collect())
    }

    fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .sessions
            .iter()
            .map(|s| {
                let mut row = json!({field::SESSION_ID: s.id, field::PROJECT: s.project, "first": s.first.map(clock::rfc3339),
                       "last": s.last.map(clock::rfc3339), "events": s.events, "tool_calls": s.tool_calls});
                if let (Some(prices), Some(usage)) = (&self.prices, &s.usage) {
                    row["usage"] = usage.to_json(prices);
                }
                row
            })
            .collect();
        json!({ "journal": self.journal, "sessions": rows })
    }
}
