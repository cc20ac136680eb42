//! What one event says to a person scanning a list: the line the journal, the timeline, the
//! server and OTLP all show for it, and the timeline's label for the events worth watching.
//!
//! A failure leads with its error, an interrupt says so, a subagent's event names the agent,
//! counts are in good English, and an event never seen before still shows its most telling field.

use serde_json::{Map, Value};

use crate::payload::field;
use crate::text::{one_line, plural};

/// The longest summary, in characters.
const MAX: usize = 160;

/// One line for `event` from its payload fields.
pub fn summarize(event: &str, fields: &Map<String, Value>) -> String {
    let text = match event {
        "PreToolUse" | "PostToolUse" => tool_call(fields, false),
        "PostToolUseFailure" => failure(fields),
        "PermissionRequest" => tool_call(fields, true),
        "PermissionDenied" => with_reason(tool_call(fields, true), str_of(fields, field::REASON)),
        "PostToolBatch" => batch(fields),
        "UserPromptSubmit" => prompt(str_of(fields, field::PROMPT).unwrap_or_default()),
        "SessionStart" => session_start(fields),
        "SessionEnd" => session_end(fields),
        "Stop" => str_of(fields, field::LAST_ASSISTANT_MESSAGE).unwrap_or_default().to_owned(),
        "StopFailure" => stop_failure(fields),
        "SubagentStart" => format!("{} started", agent(fields).unwrap_or_else(|| "agent".into())),
        "SubagentStop" => {
            let who = agent(fields).unwrap_or_else(|| "agent".into());
            match str_of(fields, field::LAST_ASSISTANT_MESSAGE) {
                Some(last) => format!("{who} finished: {last}"),
                None => format!("{who} finished"),
            }
        }
        "Notification" => notification(fields),
        "PreCompact" => compaction(fields, "compaction", field::CUSTOM_INSTRUCTIONS),
        "PostCompact" => compaction(fields, "compaction done", field::COMPACT_SUMMARY),
        "MessageDisplay" => str_of(fields, field::DELTA).unwrap_or_default().to_owned(),
        _ => unknown(fields),
    };
    // The subagent events name their agent themselves; any other event of a subagent says whose.
    let text = match agent(fields) {
        Some(who) if !matches!(event, "SubagentStart" | "SubagentStop") => format!("[{who}] {text}"),
        _ => text,
    };
    one_line(&text, MAX)
}

/// The timeline's label for the events a user watches for (the dashboard has an icon for each);
/// `None` for the others, which the timeline names by their event or tool.
pub fn label(event: &str) -> Option<&'static str> {
    Some(match event {
        "Notification" => "waiting for you",
        "PermissionRequest" => "permission asked",
        "PermissionDenied" => "permission denied",
        "SubagentStart" => "subagent started",
        "SubagentStop" => "subagent stopped",
        "PreCompact" => "compacting",
        "PostCompact" => "compacted",
        "StopFailure" => "stopped on error",
        _ => return None,
    })
}

fn str_of<'a>(fields: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    fields.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// `general-purpose a3f7f09`: the agent's type and the head of its id, for a subagent's events.
fn agent(fields: &Map<String, Value>) -> Option<String> {
    let id = str_of(fields, field::AGENT_ID)?;
    let short: String = id.chars().take(7).collect();
    Some(match str_of(fields, field::AGENT_TYPE) {
        Some(kind) => format!("{kind} {short}"),
        None => format!("agent {short}"),
    })
}

/// The first non-blank line of a message, for an error that goes in front of something else.
fn first_line(text: &str) -> &str {
    text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("")
}

/// What a tool call does, in its own terms: the command, the file, the pattern, the URL. With
/// `named`, or for an MCP tool (whose input says little alone), the tool's name first.
fn tool_call(fields: &Map<String, Value>, named: bool) -> String {
    let tool = str_of(fields, field::TOOL_NAME).unwrap_or("");
    match describe(tool, fields.get(field::TOOL_INPUT)) {
        None => tool.to_owned(),
        Some(what) if named || tool.starts_with("mcp__") => format!("{tool}: {what}"),
        Some(what) => what,
    }
}

/// The input that says what a tool call does; for tools we do not know, their first string.
fn describe(tool: &str, input: Option<&Value>) -> Option<String> {
    let at = |key: &str| input.and_then(|i| i.get(key)).and_then(Value::as_str).map(str::to_owned);
    let described = match tool {
        "Bash" | "PowerShell" => at(field::COMMAND),
        "Read" | "Write" | "Edit" | "MultiEdit" => at(field::FILE_PATH),
        "NotebookEdit" | "NotebookRead" => at(field::NOTEBOOK_PATH),
        "Grep" | "Glob" => at(field::PATTERN).map(|p| match at(field::PATH) {
            Some(path) => format!("{p} in {path}"),
            None => p,
        }),
        "WebFetch" => at(field::URL),
        "WebSearch" => at(field::QUERY),
        "Agent" | "Task" => at(field::DESCRIPTION).or_else(|| at(field::PROMPT)),
        "Skill" => at(field::SKILL),
        "TodoWrite" => {
            input.and_then(|i| i.get(field::TODOS)).and_then(Value::as_array).map(|t| plural(t.len(), "todo"))
        }
        _ => None,
    };
    described.filter(|d| !d.trim().is_empty()).or_else(|| first_string(input))
}

/// The first non-empty string in a tool's input: good enough for tools we have never heard of.
fn first_string(input: Option<&Value>) -> Option<String> {
    input?.as_object()?.values().find_map(|v| v.as_str().filter(|s| !s.trim().is_empty()).map(str::to_owned))
}

/// `Exit code 3: exit 3`, `Interrupted: cargo build`: what went wrong first, then what failed.
fn failure(fields: &Map<String, Value>) -> String {
    let call = tool_call(fields, false);
    let interrupted = fields.get(field::IS_INTERRUPT).and_then(Value::as_bool) == Some(true);
    let cause =
        if interrupted { "Interrupted" } else { str_of(fields, field::ERROR).map(first_line).unwrap_or("Failed") };
    let cause = one_line(cause, MAX / 2);
    if call.is_empty() { cause } else { format!("{cause}: {call}") }
}

fn with_reason(text: String, reason: Option<&str>) -> String {
    match reason {
        Some(reason) => format!("{text} ({})", first_line(reason)),
        None => text,
    }
}

/// `1 tool call: Bash`, `3 tool calls: Read 2, Bash`.
fn batch(fields: &Map<String, Value>) -> String {
    let calls = fields.get(field::TOOL_CALLS).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let mut tools: Vec<(&str, usize)> = Vec::new();
    for call in calls {
        let name = call.get(field::TOOL_NAME).and_then(Value::as_str).unwrap_or("?");
        match tools.iter_mut().find(|(t, _)| *t == name) {
            Some((_, n)) => *n += 1,
            None => tools.push((name, 1)),
        }
    }
    let each: Vec<String> =
        tools.iter().map(|(t, n)| if *n == 1 { (*t).to_owned() } else { format!("{t} {n}") }).collect();
    let count = plural(calls.len(), "tool call");
    if each.is_empty() { count } else { format!("{count}: {}", each.join(", ")) }
}

/// The prompt; a background task's report, which Claude Code sends as a prompt of XML, as
/// `task a3f7f09 completed: Agent "greet" finished`.
fn prompt(text: &str) -> String {
    if !text.starts_with("<task-notification>") {
        return text.to_owned();
    }
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let len = text[start..].find(&format!("</{name}>"))?;
        Some(text[start..start + len].trim()).filter(|v| !v.is_empty())
    };
    let id: String = tag("task-id").unwrap_or("?").chars().take(7).collect();
    let status = tag("status").unwrap_or("notification");
    match tag("summary") {
        Some(summary) => format!("task {id} {status}: {summary}"),
        None => format!("task {id} {status}"),
    }
}

/// `startup`, `resume`, `compact (claude-opus-5-5)`.
fn session_start(fields: &Map<String, Value>) -> String {
    let source = str_of(fields, field::SOURCE).unwrap_or("start");
    match str_of(fields, field::MODEL) {
        Some(model) => format!("{source} ({model})"),
        None => source.to_owned(),
    }
}

fn session_end(fields: &Map<String, Value>) -> String {
    match str_of(fields, field::REASON) {
        Some("prompt_input_exit") => "exit at the prompt".into(),
        Some("clear") => "/clear".into(),
        Some(reason) => reason.replace('_', " "),
        None => String::new(),
    }
}

/// The API error first, then its details or what the assistant had said.
fn stop_failure(fields: &Map<String, Value>) -> String {
    let error = str_of(fields, field::ERROR).map(first_line).unwrap_or("Stopped on an error");
    let detail = str_of(fields, field::ERROR_DETAILS).or_else(|| str_of(fields, field::LAST_ASSISTANT_MESSAGE));
    match detail {
        Some(detail) => format!("{error}: {detail}"),
        None => error.to_owned(),
    }
}

/// The message Claude Code showed; else what kind of notice it was (`idle prompt`).
fn notification(fields: &Map<String, Value>) -> String {
    str_of(fields, field::MESSAGE)
        .or_else(|| str_of(fields, field::TITLE))
        .map(str::to_owned)
        .or_else(|| str_of(fields, field::NOTIFICATION_TYPE).map(|t| t.replace('_', " ")))
        .unwrap_or_default()
}

/// `manual compaction: keep the API notes`, `auto compaction done: <summary>`.
fn compaction(fields: &Map<String, Value>, what: &str, detail: &str) -> String {
    let head = match str_of(fields, field::TRIGGER) {
        Some(trigger) => format!("{trigger} {what}"),
        None => what[..1].to_uppercase() + &what[1..],
    };
    match str_of(fields, detail) {
        Some(detail) => format!("{head}: {detail}"),
        None => head,
    }
}

/// Fields every event carries or that identify rather than describe it.
const COMMON: &[&str] = &[
    field::SESSION_ID,
    field::TRANSCRIPT_PATH,
    field::CWD,
    field::HOOK_EVENT_NAME,
    field::PROMPT_ID,
    field::PERMISSION_MODE,
    field::EFFORT,
    field::AGENT_ID,
    field::AGENT_TYPE,
    field::AGENT_TRANSCRIPT_PATH,
    field::TURN_ID,
    field::MESSAGE_ID,
    field::TOOL_USE_ID,
];

/// Fields that tell what an event is about, most telling first.
const TELLING: &[&str] = &[
    field::ERROR,
    field::MESSAGE,
    field::TITLE,
    field::REASON,
    field::PROMPT,
    field::DESCRIPTION,
    field::SUBJECT,
    field::TASK_SUBJECT,
    field::FILE_PATH,
    field::PATH,
    field::NEW_CWD,
    field::URL,
    field::NAME,
    field::STATUS,
    field::SOURCE,
    field::TRIGGER,
];

/// An event we have no rule for: a tool call if it names a tool, else its most telling field,
/// else its first own field.
fn unknown(fields: &Map<String, Value>) -> String {
    if str_of(fields, field::TOOL_NAME).is_some() {
        let call = tool_call(fields, true);
        return match str_of(fields, field::ERROR) {
            Some(error) => format!("{}: {call}", first_line(error)),
            None => call,
        };
    }
    if let Some(text) = TELLING.iter().find_map(|k| str_of(fields, k)) {
        return text.to_owned();
    }
    let own = fields.iter().find(|(k, v)| !COMMON.contains(&k.as_str()) && !v.is_null());
    match own {
        Some((_, Value::String(s))) => s.clone(),
        Some((k, v @ (Value::Number(_) | Value::Bool(_)))) => format!("{k} {v}"),
        Some((k, Value::Array(a))) => format!("{k}: {}", plural(a.len(), "item")),
        Some((k, _)) => k.clone(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(event: &str, fields: Value) -> String {
        summarize(event, fields.as_object().unwrap())
    }

    #[test]
    fn failures_lead_with_their_error_and_interrupts_say_so() {
        let call = json!({"tool_name": "Bash", "tool_input": {"command": "exit 3"}, "is_interrupt": false});
        let mut failed = call.clone();
        failed["error"] = "Exit code 3\nstderr: boom".into();
        assert_eq!(summary("PostToolUseFailure", failed), "Exit code 3: exit 3");
        let mut interrupted = call.clone();
        interrupted["is_interrupt"] = true.into();
        interrupted["error"] = "The user doesn't want to proceed".into();
        assert_eq!(summary("PostToolUseFailure", interrupted), "Interrupted: exit 3");
        assert_eq!(summary("PostToolUseFailure", call), "Failed: exit 3");
    }

    #[test]
    fn counts_are_in_good_english() {
        let one = json!({"tool_calls": [{"tool_name": "Bash"}]});
        assert_eq!(summary("PostToolBatch", one), "1 tool call: Bash");
        let three = json!({"tool_calls": [{"tool_name": "Read"}, {"tool_name": "Bash"}, {"tool_name": "Read"}]});
        assert_eq!(summary("PostToolBatch", three), "3 tool calls: Read 2, Bash");
        assert_eq!(summary("PostToolBatch", json!({"tool_calls": []})), "0 tool calls");
        let todos = json!({"tool_name": "TodoWrite", "tool_input": {"todos": [{"content": "a"}]}});
        assert_eq!(summary("PreToolUse", todos), "1 todo");
    }

    #[test]
    fn a_subagent_is_named_by_type_and_short_id() {
        let sub = json!({"agent_id": "a3f7f0963b7f0d067", "agent_type": "general-purpose"});
        assert_eq!(summary("SubagentStart", sub.clone()), "general-purpose a3f7f09 started");
        let mut call = sub.clone();
        call["tool_name"] = "Bash".into();
        call["tool_input"] = json!({"command": "ls"});
        assert_eq!(summary("PreToolUse", call), "[general-purpose a3f7f09] ls");
        let stop = json!({"agent_id": "ac33fc94cbb8b7836", "agent_type": "", "last_assistant_message": "done"});
        assert_eq!(summary("SubagentStop", stop), "agent ac33fc9 finished: done");
    }

    #[test]
    fn watched_events_say_what_happened() {
        let ask = json!({"tool_name": "Bash", "tool_input": {"command": "rm -rf build"}});
        assert_eq!(summary("PermissionRequest", ask.clone()), "Bash: rm -rf build");
        let mut denied = ask.clone();
        denied["reason"] = "destructive".into();
        assert_eq!(summary("PermissionDenied", denied), "Bash: rm -rf build (destructive)");
        let note =
            json!({"message": "Claude needs your permission to use Bash", "notification_type": "permission_prompt"});
        assert_eq!(summary("Notification", note), "Claude needs your permission to use Bash");
        assert_eq!(summary("Notification", json!({"notification_type": "idle_prompt"})), "idle prompt");
        assert_eq!(summary("PreCompact", json!({"trigger": "auto", "custom_instructions": null})), "auto compaction");
        let post = json!({"trigger": "manual", "compact_summary": "We fixed the parser."});
        assert_eq!(summary("PostCompact", post), "manual compaction done: We fixed the parser.");
        let fail = json!({"error": "rate_limit", "error_details": "429 Too Many Requests"});
        assert_eq!(summary("StopFailure", fail), "rate_limit: 429 Too Many Requests");
        let mcp = json!({"tool_name": "mcp__github__create_issue", "tool_input": {"title": "Bug"}});
        assert_eq!(summary("PreToolUse", mcp), "mcp__github__create_issue: Bug");
        assert_eq!(summary("SessionEnd", json!({"reason": "prompt_input_exit"})), "exit at the prompt");
        let compact = json!({"source": "compact", "model": "claude-opus-5-5"});
        assert_eq!(summary("SessionStart", compact), "compact (claude-opus-5-5)");
    }

    #[test]
    fn unknown_events_show_their_most_telling_field() {
        let common = json!({"session_id": "s", "cwd": "/p", "hook_event_name": "X"});
        let mut cwd = common.clone();
        cwd["old_cwd"] = "/p".into();
        cwd["new_cwd"] = "/p/sub".into();
        assert_eq!(summary("CwdChanged", cwd), "/p/sub");
        let mut file = common.clone();
        file["file_path"] = "/p/Cargo.toml".into();
        file["event"] = "change".into();
        assert_eq!(summary("FileChanged", file), "/p/Cargo.toml");
        let mut odd = common.clone();
        odd["count"] = 3.into();
        assert_eq!(summary("SomethingNew", odd), "count 3");
        assert_eq!(summary("SomethingNew", common), "");
    }

    #[test]
    fn a_task_notification_prompt_says_which_task_and_how_it_ended() {
        let prompt = "<task-notification>\n<task-id>a3f7f0963b7f0d067</task-id>\n<status>completed</status>\n\
            <summary>Agent \"greet\" finished</summary>\n<result>done</result>\n</task-notification>";
        assert_eq!(
            summary("UserPromptSubmit", json!({ "prompt": prompt })),
            "task a3f7f09 completed: Agent \"greet\" finished"
        );
    }

    #[test]
    fn long_text_is_one_line_and_cut() {
        let prompt = format!("fix\n\n  the {}", "bug ".repeat(100));
        let s = summary("UserPromptSubmit", json!({ "prompt": prompt }));
        assert!(s.starts_with("fix the bug bug") && s.ends_with('…') && s.chars().count() == MAX + 1, "{s}");
    }

    #[test]
    fn labels_name_the_watched_events_only() {
        assert_eq!(label("Notification"), Some("waiting for you"));
        assert_eq!(label("PermissionRequest"), Some("permission asked"));
        assert_eq!(label("PreToolUse"), None);
    }
}
