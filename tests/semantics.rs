//! What the OTLP spans mean (docs/otlp-semantics.md): the recorded sessions of both Claude Code
//! releases replayed through the real hooks, their spans read for the GenAI and OpenInference
//! kinds and names, input and output under the opt-ins, times, background subagents, failures.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use claude_session::sink::otlp::{self, History, Privacy, Resource};
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
    queued(&env.journal_dir().join("outbox/dashboard"))
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
