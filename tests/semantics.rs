//! What the OTLP spans mean (docs/otlp-semantics.md): the recorded sessions of both Claude Code
//! releases replayed through the real hooks, their spans read for the GenAI and OpenInference
//! kinds and names, input and output under the opt-ins, times, background subagents, failures.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use claude_session::sink::otlp::{self, History, Privacy, Resource};
use common::backends::{self, Backend};
use common::*;
use serde_json::{Value, json};

/// The sessions recorded with Claude Code 2.1.332 (tests/record.rs): a background subagent, then
/// a failed Bash call and a foreground subagent.
fn recorded_332() -> Vec<Value> {
    let path = fixtures().parent().unwrap().join("claude-code-2.1.332/recorded-sessions.jsonl");
    fs::read_to_string(path).unwrap().lines().map(|l| json(l.as_bytes())).collect()
}

/// Both releases' recorded sessions.
fn every_recorded() -> Vec<Value> {
    recorded().into_iter().chain(recorded_332()).collect()
}

/// Replays `events` with a dashboard that refuses, so every outbox record stays queued; returns
/// the records, oldest first. `pause` comes before the event it names (its index).
fn replay_to_outbox(env: &mut TestEnv, events: &[Value], pause: Option<(usize, Duration)>) -> Vec<Value> {
    env.set("CLAUDE_SESSION_SERVER_URL", "http://127.0.0.1:9/events");
    match pause {
        Some((at, pause)) => {
            replay(env, &events[..at]);
            std::thread::sleep(pause);
            replay(env, &events[at..]);
        }
        None => replay(env, events),
    }
    env.run("claude-session", &["flush"], b"");
    queued(&env.queue("dashboard"))
}

/// A sink's records: admitted ones by number, then incoming ones by name (names sort by time).
fn queued(dir: &Path) -> Vec<Value> {
    let files = |dir: &Path| -> Vec<PathBuf> {
        fs::read_dir(dir).map(|rd| rd.map(|e| e.unwrap().path()).collect()).unwrap_or_default()
    };
    let mut admitted: Vec<(u64, PathBuf)> = files(&dir.join("queue"))
        .into_iter()
        .filter_map(|p| Some((p.file_name()?.to_str()?.parse().ok()?, p)))
        .collect();
    admitted.sort();
    let mut incoming: Vec<PathBuf> = files(dir)
        .into_iter()
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json") && p.file_name().unwrap().as_encoded_bytes()[0].is_ascii_digit()
        })
        .collect();
    incoming.sort();
    admitted.into_iter().map(|(_, p)| p).chain(incoming).map(|p| json(&fs::read(p).unwrap())).collect()
}

/// The spans the records close, as the deliverer encodes them.
fn spans_of(env: &TestEnv, records: &[Value], privacy: Privacy) -> Vec<Value> {
    let mut history = History::journal(env.journal_dir());
    let request = otlp::traces_request(records, &Resource::new(None, &[]), privacy, &mut history);
    request["resourceSpans"][0]["scopeSpans"][0]["spans"].as_array().unwrap().clone()
}

fn attrs(span: &Value) -> BTreeMap<String, Value> {
    let value = |v: &Value| {
        v.get("stringValue").or_else(|| v.get("boolValue")).or_else(|| v.get("intValue")).cloned().unwrap_or_default()
    };
    span["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["key"].as_str().unwrap().to_owned(), value(&a["value"])))
        .collect()
}

fn nanos(v: &Value) -> i128 {
    v.as_str().unwrap().parse().unwrap()
}

fn attr<'a>(a: &'a BTreeMap<String, Value>, key: &str) -> Option<&'a str> {
    a.get(key).and_then(Value::as_str)
}

/// Every span with a parent lies within its parent's time, in the same trace.
fn assert_nested(spans: &[Value]) {
    let by_id: BTreeMap<&str, &Value> = spans.iter().map(|s| (s["spanId"].as_str().unwrap(), s)).collect();
    assert_eq!(by_id.len(), spans.len(), "no span id twice");
    for span in spans {
        let Some(parent) = span.get("parentSpanId") else { continue };
        let p = by_id.get(parent.as_str().unwrap()).unwrap_or_else(|| panic!("orphan {span:#}"));
        assert_eq!(p["traceId"], span["traceId"], "{span:#}");
        let (start, end) = (nanos(&span["startTimeUnixNano"]), nanos(&span["endTimeUnixNano"]));
        let (p_start, p_end) = (nanos(&p["startTimeUnixNano"]), nanos(&p["endTimeUnixNano"]));
        assert!(
            p_start <= start && end <= p_end,
            "{} [{start}, {end}] outside {} [{p_start}, {p_end}]",
            span["name"],
            p["name"]
        );
    }
}

#[test]
fn every_span_has_a_kind_and_every_tool_span_its_tool_and_call_id_in_every_recorded_session() {
    let mut env = TestEnv::new();
    let events = every_recorded();
    let records = replay_to_outbox(&mut env, &events, None);
    let spans = spans_of(&env, &records, Privacy::default());
    let calls: BTreeSet<String> = events.iter().filter_map(|e| e["tool_use_id"].as_str()).map(str::to_owned).collect();
    let mut tools = BTreeSet::new();
    for span in &spans {
        let a = attrs(span);
        let kind = (attr(&a, "openinference.span.kind"), attr(&a, "gen_ai.operation.name"));
        let name = span["name"].as_str().unwrap();
        assert_eq!(attr(&a, "gen_ai.provider.name"), Some("anthropic"), "{span:#}");
        match name {
            "session" | "session (resumed)" => {
                assert_eq!(kind, (Some("AGENT"), Some("invoke_agent")));
                assert_eq!(
                    (attr(&a, "gen_ai.agent.name"), attr(&a, "agent.name")),
                    (Some("claude-code"), Some("claude-code"))
                );
                // Not a turn of the conversation: found by its trace id, the session id.
                assert!(!a.contains_key("session.id") && !a.contains_key("gen_ai.conversation.id"), "{span:#}");
                assert_eq!(span["traceId"], attr(&a, "gen_ai.agent.id").unwrap().replace('-', ""));
                continue;
            }
            "turn" => assert_eq!(kind, (Some("CHAIN"), Some("invoke_workflow")), "{span:#}"),
            _ if name.starts_with("subagent") => {
                assert_eq!(kind, (Some("AGENT"), Some("invoke_agent")), "{span:#}");
                assert_eq!(attr(&a, "gen_ai.agent.id"), attr(&a, "agent_id"));
                assert_eq!(attr(&a, "gen_ai.agent.name"), Some("general-purpose"));
            }
            _ => {
                assert_eq!(kind, (Some("TOOL"), Some("execute_tool")), "{span:#}");
                assert_eq!((attr(&a, "gen_ai.tool.name"), attr(&a, "tool.name")), (Some(name), Some(name)));
                let id = attr(&a, "gen_ai.tool.call.id").unwrap();
                assert_eq!((attr(&a, "tool.id"), attr(&a, "tool_use_id")), (Some(id), Some(id)));
                assert_eq!(attr(&a, "gen_ai.tool.type"), Some("function"));
                tools.insert(id.to_owned());
            }
        }
        let session = attr(&a, "session.id").unwrap();
        assert_eq!(attr(&a, "gen_ai.conversation.id"), Some(session), "{span:#}");
    }
    assert_eq!(tools, calls, "a span for every tool call");
}

#[test]
fn every_span_lies_within_its_parent_in_every_recorded_session() {
    let mut env = TestEnv::new();
    let records = replay_to_outbox(&mut env, &every_recorded(), None);
    let spans = spans_of(&env, &records, Privacy::default());
    assert_nested(&spans);
    // Each turn is the root of its own trace, its id the prompt id's.
    for turn in spans.iter().filter(|s| s["name"] == "turn") {
        assert!(turn.get("parentSpanId").is_none());
        assert_eq!(turn["traceId"], attr(&attrs(turn), "prompt.id").unwrap().replace('-', ""));
    }
}

/// Claude Code 2.1.198 on: the Agent call returns at once and its subagent runs in the
/// background. Its span runs from the call's start to the subagent's SubagentStop, with the
/// subagent and its Bash call inside; the turn, whose Stop came first, waits for it.
#[test]
fn a_background_subagents_agent_span_covers_the_whole_subagent() {
    let mut env = TestEnv::new();
    let events: Vec<Value> = recorded_332().into_iter().take_while(|e| e["hook_event_name"] != "SessionEnd").collect();
    let stop = events.iter().position(|e| e["hook_event_name"] == "SubagentStop").unwrap();
    let launch = events.iter().find(|e| e["tool_response"]["status"] == "async_launched").unwrap();
    let records = replay_to_outbox(&mut env, &events, Some((stop, Duration::from_millis(400))));
    let spans = spans_of(&env, &records, Privacy::default());
    assert_nested(&spans);
    let named = |name: &str| spans.iter().filter(|s| s["name"] == name).collect::<Vec<_>>();
    let call = named("Agent")[0];
    let subagent = named("subagent general-purpose")[0];
    let bash = named("Bash")[0];
    assert_eq!(attr(&attrs(call), "gen_ai.tool.call.id"), launch["tool_use_id"].as_str());
    assert_eq!(subagent["parentSpanId"], call["spanId"]);
    assert_eq!(bash["parentSpanId"], subagent["spanId"]);
    let time = |i: usize| i128::from(records[i]["timestamp"].as_i64().unwrap()) * 1_000_000;
    let pre = events.iter().position(|e| e["hook_event_name"] == "PreToolUse").unwrap();
    assert_eq!((nanos(&call["startTimeUnixNano"]), nanos(&call["endTimeUnixNano"])), (time(pre), time(stop)));
    assert!(time(stop) - time(pre) >= 400_000_000, "the subagent's run, not the launch");
    // The turn of the launch ends at the subagent's stop, not at its own earlier Stop.
    let turn = named("turn").into_iter().find(|t| t["traceId"] == call["traceId"]).unwrap();
    assert_eq!(nanos(&turn["endTimeUnixNano"]), time(stop));
    assert_eq!(call["parentSpanId"], turn["spanId"]);
    assert!(spans.iter().all(|s| s["status"].is_null()), "nothing failed");
}

/// The same session, cut before the subagent stops: the Agent call, its subagent and its turn
/// are sent at SessionEnd, unfinished.
#[test]
fn a_background_subagent_that_never_stops_is_closed_with_its_call_and_turn_at_session_end() {
    let mut env = TestEnv::new();
    let events: Vec<Value> = recorded_332()
        .into_iter()
        .take_while(|e| e["hook_event_name"] != "SubagentStop")
        .filter(|e| e["agent_id"].is_null() || e["hook_event_name"] == "SubagentStart")
        .chain([json!({"session_id": recorded_332()[0]["session_id"], "cwd": "/home/dev/src/proj",
                       "hook_event_name": "SessionEnd", "reason": "other"})])
        .collect();
    let records = replay_to_outbox(&mut env, &events, None);
    let spans = spans_of(&env, &records, Privacy::default());
    assert_nested(&spans);
    let names: BTreeSet<&str> = spans.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, BTreeSet::from(["session", "turn", "Agent", "subagent general-purpose"]));
    let unfinished = |name: &str| attrs(spans.iter().find(|s| s["name"] == name).unwrap()).get("unfinished").cloned();
    assert_eq!((unfinished("Agent"), unfinished("subagent general-purpose")), (Some(true.into()), Some(true.into())));
    assert_eq!(unfinished("turn"), None, "the turn itself ended");
}

/// Input and output are on the spans exactly when opted in: the prompt and the final answer on
/// the turn (`OTEL_LOG_USER_PROMPTS`), the tool's input and response on its span
/// (`OTEL_LOG_TOOL_DETAILS`).
#[test]
fn input_and_output_are_present_exactly_when_opted_in() {
    let mut env = TestEnv::new();
    let events = recorded_332();
    let records = replay_to_outbox(&mut env, &events, None);
    let io = |span: &Value| {
        let a = attrs(span);
        (attr(&a, "input.value").map(str::to_owned), attr(&a, "output.value").map(str::to_owned))
    };
    for (prompts, tool_details) in [(false, false), (true, false), (false, true), (true, true)] {
        let spans = spans_of(&env, &records, Privacy { prompts, tool_details });
        for span in &spans {
            let (input, output) = io(span);
            let a = attrs(span);
            match span["name"].as_str().unwrap() {
                "turn" => {
                    let prompt = events
                        .iter()
                        .find(|e| e["prompt_id"] == a["prompt.id"] && e["hook_event_name"] == "UserPromptSubmit");
                    let stop =
                        events.iter().find(|e| e["prompt_id"] == a["prompt.id"] && e["hook_event_name"] == "Stop");
                    let want = |e: Option<&Value>, k: &str| {
                        e.and_then(|e| e[k].as_str()).filter(|_| prompts).map(str::to_owned)
                    };
                    assert_eq!(input, want(prompt, "prompt"), "{span:#}");
                    assert_eq!(output, want(stop, "last_assistant_message"), "{span:#}");
                    let messages = attr(&a, "gen_ai.input.messages").map(|m| json(m.as_bytes()));
                    assert_eq!(messages.map(|m| m[0]["parts"][0]["content"].clone()), input.map(Value::from));
                }
                "session" => assert_eq!((input, output), (None, None)),
                name if name.starts_with("subagent") => {
                    assert_eq!(input, None);
                    assert_eq!(output.is_some(), prompts, "the subagent's answer: {span:#}");
                }
                _ => {
                    let id = attr(&a, "tool_use_id").unwrap();
                    // The fake API's call ids start over in each session.
                    let post = events
                        .iter()
                        .find(|e| {
                            e["tool_use_id"] == id
                                && e["session_id"] == a["session.id"]
                                && e["hook_event_name"] != "PreToolUse"
                        })
                        .unwrap();
                    let want_input = Some(post["tool_input"].to_string()).filter(|_| tool_details);
                    assert_eq!(input, want_input, "{span:#}");
                    assert_eq!(attr(&a, "gen_ai.tool.call.arguments").map(str::to_owned), want_input);
                    let response = match &post["tool_response"] {
                        Value::Null => post["error"].as_str().unwrap().to_owned(),
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    assert_eq!(output, Some(response).filter(|_| tool_details), "{span:#}");
                }
            }
        }
    }
}

/// A turn whose API call failed ends in StopFailure: its span is ERROR with the error. A failed
/// tool call is an error on its own span only. A turn the user interrupted (Claude Code sends no
/// Stop then) is ERROR, interrupted, when the session ends.
#[test]
fn a_failed_turn_is_an_error_with_its_reason_and_a_failed_call_on_its_own_span_only() {
    let mut env = TestEnv::new();
    let sid = "5e1f0000-0000-4000-8000-0000000000f1";
    let event = |name: &str, prompt: &str, extra: Value| {
        let mut e = json!({"session_id": sid, "transcript_path": "/home/dev/.claude/projects/-home-dev-src-proj/x.jsonl",
                           "cwd": "/home/dev/src/proj", "hook_event_name": name, "prompt_id": prompt});
        for (k, v) in extra.as_object().unwrap() {
            e[k] = v.clone();
        }
        e
    };
    let bash = json!({"tool_name": "Bash", "tool_input": {"command": "exit 3"}, "tool_use_id": "toolu_f1"});
    let mut failed = bash.clone();
    failed
        .as_object_mut()
        .unwrap()
        .extend(json!({"error": "Exit code 3", "is_interrupt": false, "duration_ms": 5}).as_object().unwrap().clone());
    let sleep = json!({"tool_name": "Bash", "tool_input": {"command": "sleep 60"}, "tool_use_id": "toolu_f2"});
    let mut interrupted = sleep.clone();
    interrupted.as_object_mut().unwrap().extend(json!({"error": "The user doesn't want to proceed with this tool use.", "is_interrupt": true, "duration_ms": 900}).as_object().unwrap().clone());
    let events = [
        json!({"session_id": sid, "cwd": "/home/dev/src/proj", "hook_event_name": "SessionStart", "source": "startup"}),
        event("UserPromptSubmit", "p-fail", json!({"prompt": "run it"})),
        event("PreToolUse", "p-fail", bash),
        event("PostToolUseFailure", "p-fail", failed),
        event(
            "StopFailure",
            "p-fail",
            json!({"error": "rate_limit", "error_details": "429 Too Many Requests",
                                                "last_assistant_message": "API Error: 429"}),
        ),
        event("UserPromptSubmit", "p-int", json!({"prompt": "wait a minute"})),
        event("PreToolUse", "p-int", sleep),
        event("PostToolUseFailure", "p-int", interrupted),
        event("SessionEnd", "p-int", json!({"reason": "prompt_input_exit"})),
    ];
    let records = replay_to_outbox(&mut env, &events, None);
    let spans = spans_of(&env, &records, Privacy::default());
    assert_nested(&spans);
    let status = |pred: &dyn Fn(&Value) -> bool| {
        let span = spans.iter().find(|s| pred(s)).unwrap();
        (span["status"]["code"].as_u64(), span["status"]["message"].as_str().map(str::to_owned))
    };
    let turn = |prompt: &'static str| move |s: &Value| s["name"] == "turn" && attrs(s)["prompt.id"] == prompt;
    let call = |id: &'static str| move |s: &Value| attrs(s).get("tool_use_id") == Some(&id.into());
    assert_eq!(status(&turn("p-fail")), (Some(2), Some("rate_limit: 429 Too Many Requests".into())));
    assert_eq!(status(&call("toolu_f1")), (Some(2), Some("Exit code 3".into())));
    assert_eq!(
        status(&turn("p-int")),
        (Some(2), Some("interrupted: The user doesn't want to proceed with this tool use.".into()))
    );
    assert_eq!(status(&|s: &Value| s["name"] == "session"), (None, None), "the session itself did not fail");
}

// ---------------------------------------------------------------------------------------------
// Read back through real backends (PyPI, loopback): Arize Phoenix and MLflow

fn get(url: &str) -> String {
    let mut answer = ureq::get(url).call().unwrap_or_else(|e| panic!("{url}: {e}"));
    answer.body_mut().read_to_string().unwrap()
}

fn post(url: &str, body: &Value) -> Value {
    let request = ureq::post(url).header("Content-Type", "application/json");
    let mut answer = request.send(body.to_string()).unwrap_or_else(|e| panic!("{url}: {e}"));
    json(answer.body_mut().read_to_string().unwrap().as_bytes())
}

/// Every recorded session replayed through the hooks into `backend` and flushed; the background
/// subagent runs 300 ms. Prompts and tool details opted in or not; `extra` overrides the
/// backend's own settings (headers, resource).
fn replay_into(backend: &Backend, opted_in: bool, extra: &[(&str, &str)]) -> Vec<Value> {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_SERVER_URL", "http://127.0.0.1:9/events");
    backend.configure(&mut env);
    if opted_in {
        env.set("CLAUDE_SESSION_OTEL_LOG_USER_PROMPTS", "1").set("CLAUDE_SESSION_OTEL_LOG_TOOL_DETAILS", "1");
    }
    for (k, v) in extra {
        env.set(k, v);
    }
    // The opted-in copy gets ids of its own: both backends keep a trace or span id once.
    let events = if opted_in { renamed(&every_recorded()) } else { every_recorded() };
    let stop = events
        .iter()
        .position(|e| e["hook_event_name"] == "SubagentStop" && e["agent_id"] == "ac0d8611f9cfdaf24")
        .unwrap();
    replay(&env, &events[..stop]);
    std::thread::sleep(Duration::from_millis(300));
    replay(&env, &events[stop..]);
    let out = env.run("claude-session", &["flush"], b"");
    let report = stdout(&out);
    let traces =
        report.lines().find(|l| l.starts_with("otlp-traces:")).unwrap_or_else(|| panic!("{report}{}", stderr(&out)));
    assert!(traces.ends_with("set aside 0, dropped 0, pending 0"), "{report}{}", stderr(&out));
    events
}

/// `events` with every session and prompt id changed (its first hex digit moved on by one).
fn renamed(events: &[Value]) -> Vec<Value> {
    let ids: BTreeSet<String> = events
        .iter()
        .flat_map(|e| [e["session_id"].as_str(), e["prompt_id"].as_str()])
        .flatten()
        .map(str::to_owned)
        .collect();
    events
        .iter()
        .map(|e| {
            let mut text = e.to_string();
            for id in &ids {
                let first = u32::from_str_radix(&id[..1], 16).unwrap();
                text = text.replace(id.as_str(), &format!("{:x}{}", (first + 1) % 16, &id[1..]));
            }
            json(text.as_bytes())
        })
        .collect()
}

/// A span as both backends give it back, reduced to what the checks read.
#[derive(Debug)]
struct Got {
    trace: String,
    id: String,
    parent: Option<String>,
    name: String,
    kind: String,
    start: i128,
    end: i128,
    error: Option<String>,
    attrs: BTreeMap<String, Value>,
}

/// What issue 26 asks of a backend's view of the recorded sessions: a kind on every span; tool
/// spans named by tool with their call ids; every span within its parent's time; the failed Bash
/// call an error on its span only; the background subagent inside its Agent call; input and
/// output present exactly when opted in.
fn check_backend(backend: &str, events: &[Value], spans: &[Got], opted_in: bool) {
    assert!(!spans.is_empty(), "{backend}: no spans");
    let by_id: BTreeMap<(&str, &str), &Got> = spans.iter().map(|s| ((s.trace.as_str(), s.id.as_str()), s)).collect();
    let calls: BTreeSet<(&str, &str)> =
        events.iter().filter_map(|e| Some((e["session_id"].as_str()?, e["tool_use_id"].as_str()?))).collect();
    let mut seen = BTreeSet::new();
    for span in spans {
        assert!(
            matches!(span.kind.as_str(), "AGENT" | "CHAIN" | "TOOL"),
            "{backend}: kind {:?} of {span:#?}",
            span.kind
        );
        if let Some(parent) = &span.parent {
            let p = by_id
                .get(&(span.trace.as_str(), parent.as_str()))
                .unwrap_or_else(|| panic!("{backend}: orphan {span:#?}"));
            assert!(p.start <= span.start && span.end <= p.end, "{backend}: {span:#?} outside {p:#?}");
        }
        let text = |k: &str| span.attrs.get(k).and_then(Value::as_str);
        if span.kind == "TOOL" {
            assert_eq!(text("tool.name"), Some(span.name.as_str()), "{backend}: {span:#?}");
            let (session, id) = (text("session.id").unwrap(), text("tool.id").unwrap());
            assert_eq!(text("gen_ai.tool.call.id"), Some(id));
            seen.insert((session.to_owned(), id.to_owned()));
        }
        let io = span.attrs.contains_key("input.value") || span.attrs.contains_key("output.value");
        match span.name.as_str() {
            "turn" | "Bash" | "Agent" => assert_eq!(io, opted_in, "{backend}: input/output of {span:#?}"),
            _ => assert!(opted_in || !io, "{backend}: {span:#?}"),
        }
        let failed = span.name == "Bash" && text("hook_event_name") == Some("PostToolUseFailure");
        assert_eq!(span.error.is_some(), failed, "{backend}: only the failed call is an error: {span:#?}");
    }
    let calls: BTreeSet<(String, String)> = calls.into_iter().map(|(s, c)| (s.to_owned(), c.to_owned())).collect();
    assert_eq!(seen, calls, "{backend}: a tool span per call");
    // The background subagent of 2.1.332: inside the Agent call that launched it, its Bash inside.
    let launch = events
        .iter()
        .find(|e| {
            e["tool_response"]["status"] == "async_launched"
                && e["agent_id"].is_null()
                && e["tool_use_id"] == "toolu_fake000100"
        })
        .unwrap();
    let call = spans
        .iter()
        .find(|s| {
            s.name == "Agent"
                && s.attrs.get("session.id") == Some(&launch["session_id"])
                && s.attrs.get("tool.id") == Some(&launch["tool_use_id"])
        })
        .unwrap();
    let subagent = spans
        .iter()
        .find(|s| s.parent.as_ref() == Some(&call.id))
        .unwrap_or_else(|| panic!("{backend}: nothing under {call:#?}"));
    assert_eq!((subagent.kind.as_str(), subagent.name.as_str()), ("AGENT", "subagent general-purpose"));
    assert!(call.end - call.start >= 300_000_000, "{backend}: the Agent span is the subagent's run: {call:#?}");
    let bash = spans.iter().find(|s| s.parent.as_ref() == Some(&subagent.id)).unwrap();
    assert!(call.start <= bash.start && bash.end <= call.end);
}

/// The turns of each session, as the recorded events name them: session id -> prompt ids' hex.
fn turns_by_session(events: &[Value]) -> BTreeMap<String, BTreeSet<String>> {
    let mut turns: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in events.iter().filter(|e| e["hook_event_name"] == "UserPromptSubmit") {
        turns
            .entry(e["session_id"].as_str().unwrap().to_owned())
            .or_default()
            .insert(e["prompt_id"].as_str().unwrap().replace('-', ""));
    }
    turns
}

/// Sessions, each with the ids of its turns' traces.
type Sessions = BTreeMap<String, BTreeSet<String>>;

/// How long a backend may take to store what it accepted: generous, for a loaded machine. Not a
/// timing assertion: past it, what is there is checked, and the failure says what is missing.
const STORED_MAX: Duration = Duration::from_secs(300);

/// What `read` gives back once the backend has stored all of `events`' spans: every tool call's,
/// every span's parent, every session's turns. Phoenix answers 200 when it has queued the spans
/// and stores them later (its bulk inserter), later still on a loaded machine: read at once, the
/// spans and sessions were missing some, and a project not made yet was a 404.
fn stored(events: &[Value], read: impl Fn() -> Option<(Vec<Got>, Sessions)>) -> (Vec<Got>, Sessions) {
    let calls: BTreeSet<(String, String)> = events
        .iter()
        .filter_map(|e| Some((e["session_id"].as_str()?.to_owned(), e["tool_use_id"].as_str()?.to_owned())))
        .collect();
    let whole = |(spans, sessions): &(Vec<Got>, Sessions)| {
        let ids: BTreeSet<(&str, &str)> = spans.iter().map(|s| (s.trace.as_str(), s.id.as_str())).collect();
        let parented =
            spans.iter().all(|s| s.parent.as_ref().is_none_or(|p| ids.contains(&(s.trace.as_str(), p.as_str()))));
        let text = |s: &Got, k: &str| s.attrs.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let tools: BTreeSet<(String, String)> =
            spans.iter().filter(|s| s.kind == "TOOL").map(|s| (text(s, "session.id"), text(s, "tool.id"))).collect();
        parented && tools == calls && *sessions == turns_by_session(events)
    };
    let started = Instant::now();
    for reads in 1.. {
        match read() {
            Some(got) if whole(&got) || started.elapsed() > STORED_MAX => {
                eprintln!("read back whole after {reads} reads, {:?}", started.elapsed());
                return got;
            }
            None if started.elapsed() > STORED_MAX => panic!("the backend never answered"),
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
    }
    unreachable!()
}

/// Phoenix's spans and sessions pages for `project`; None until both answer.
fn phoenix_read(base: &str, project: &str) -> Option<(Vec<Got>, Sessions)> {
    let spans = phoenix_spans(&json(try_get(&format!("{base}/v1/projects/{project}/spans?limit=1000"))?.as_bytes()));
    let sessions = json(try_get(&format!("{base}/v1/projects/{project}/sessions"))?.as_bytes());
    let shown = sessions["data"]
        .as_array()?
        .iter()
        .map(|s| {
            let traces = s["traces"].as_array().unwrap().iter().map(|t| t["trace_id"].as_str().unwrap().to_owned());
            (s["session_id"].as_str().unwrap().to_owned(), traces.collect())
        })
        .collect();
    Some((spans, shown))
}

/// A GET's body, or None for an error or an answer other than 2xx.
fn try_get(url: &str) -> Option<String> {
    ureq::get(url).call().ok()?.body_mut().read_to_string().ok()
}

fn phoenix_spans(answer: &Value) -> Vec<Got> {
    let time = |v: &Value| claude_session::clock::parse(v.as_str().unwrap()).unwrap().unix_timestamp_nanos();
    answer["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| Got {
            trace: s["context"]["trace_id"].as_str().unwrap().to_owned(),
            id: s["context"]["span_id"].as_str().unwrap().to_owned(),
            parent: s["parent_id"].as_str().map(str::to_owned),
            name: s["name"].as_str().unwrap().to_owned(),
            kind: s["span_kind"].as_str().unwrap_or("None").to_owned(),
            start: time(&s["start_time"]),
            end: time(&s["end_time"]),
            error: (s["status_code"] == "ERROR").then(|| s["status_message"].as_str().unwrap_or("").to_owned()),
            attrs: s["attributes"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        })
        .collect()
}

#[test]
fn phoenix_shows_kinds_sessions_as_turns_and_the_background_subagent_inside_its_call() {
    let Some(phoenix) = deps::or_skip(Backend::phoenix()) else { return };
    let plain = replay_into(&phoenix, false, &[]);
    let opted = replay_into(&phoenix, true, &[("OTEL_RESOURCE_ATTRIBUTES", "openinference.project.name=opted-in")]);
    for (project, opted_in, events) in [("default", false, &plain), ("opted-in", true, &opted)] {
        let (spans, shown) = stored(events, || phoenix_read(&phoenix.base(), project));
        check_backend(&format!("phoenix {project}"), events, &spans, opted_in);
        // The sessions page: each session with its turns, one trace each, and nothing else.
        assert_eq!(shown, turns_by_session(events), "phoenix {project}: sessions and their turns");
    }
}

fn mlflow_spans(base: &str, experiment: &str) -> (Vec<Got>, BTreeMap<String, BTreeSet<String>>) {
    let search = json!({"locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment}}], "max_results": 500});
    let found = post(&format!("{base}/api/3.0/mlflow/traces/search"), &search);
    let mut spans = Vec::new();
    let mut sessions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let hex = |id: &Value| backends::hex_id(id.as_str().unwrap());
    for info in found["traces"].as_array().unwrap() {
        let id = info["trace_id"].as_str().unwrap();
        assert_eq!(info["state"], "OK", "a trace's state is its root's: {info:#}");
        if let Some(session) = info["trace_metadata"]["mlflow.trace.session"].as_str() {
            sessions.entry(session.to_owned()).or_default().insert(id.trim_start_matches("tr-").to_owned());
        }
        let trace = json(get(&format!("{base}/api/3.0/mlflow/traces/get?trace_id={id}")).as_bytes());
        for s in trace["trace"]["spans"].as_array().unwrap() {
            let attrs: BTreeMap<String, Value> = s["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    let v = &a["value"];
                    let v = v
                        .get("string_value")
                        .or_else(|| v.get("bool_value"))
                        .or_else(|| v.get("int_value"))
                        .cloned()
                        .unwrap_or_default();
                    (a["key"].as_str().unwrap().to_owned(), v)
                })
                .collect();
            let parent = s["parent_span_id"].as_str().filter(|p| !p.is_empty()).map(|p| hex(&p.into()));
            let nanos = |v: &Value| v.as_i64().map(i128::from).or_else(|| v.as_str()?.parse().ok()).unwrap();
            spans.push(Got {
                trace: hex(&s["trace_id"]),
                id: hex(&s["span_id"]),
                parent,
                name: s["name"].as_str().unwrap().to_owned(),
                kind: attrs
                    .get("mlflow.spanType")
                    .and_then(Value::as_str)
                    .map(|t| t.trim_matches('"').to_owned())
                    .unwrap_or_else(|| "None".into()),
                start: nanos(&s["start_time_unix_nano"]),
                end: nanos(&s["end_time_unix_nano"]),
                error: (s["status"]["code"] == "STATUS_CODE_ERROR")
                    .then(|| s["status"]["message"].as_str().unwrap_or("").to_owned()),
                attrs,
            });
        }
    }
    (spans, sessions)
}

#[test]
fn mlflow_shows_span_types_sessions_as_turns_and_the_background_subagent_inside_its_call() {
    let Some(mlflow) = deps::or_skip(Backend::mlflow()) else { return };
    let created = post(&format!("{}/api/2.0/mlflow/experiments/create", mlflow.base()), &json!({"name": "opted-in"}));
    let opted = created["experiment_id"].as_str().unwrap().to_owned();
    let plain = replay_into(&mlflow, false, &[]);
    let header = format!("x-mlflow-experiment-id={opted}");
    let opted_events = replay_into(&mlflow, true, &[("CLAUDE_SESSION_OTEL_EXPORTER_OTLP_HEADERS", &header)]);
    for (experiment, opted_in, events) in [("0", false, &plain), (opted.as_str(), true, &opted_events)] {
        let (spans, sessions) = stored(events, || Some(mlflow_spans(&mlflow.base(), experiment)));
        check_backend(&format!("mlflow {experiment}"), events, &spans, opted_in);
        assert_eq!(sessions, turns_by_session(events), "mlflow {experiment}: sessions and their turns");
    }
}
