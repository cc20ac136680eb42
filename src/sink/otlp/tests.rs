//! The derivation and JSON encoding, on made-up events.

use super::*;
use serde_json::json;
use time::OffsetDateTime;

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
    // The turn is its own trace's root; every span of it is in that trace.
    assert!(turn.get("parentSpanId").is_none(), "{turn}");
    assert_eq!(call["spanId"].as_str().unwrap(), span_id("tool", SID, "t1"));
    assert!(spans.iter().all(|s| s["traceId"] == events::turn_trace_id(SID, "p1")));
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
    let traces = traces_request(&records, &Resource::new(None, &[]), all, &mut History::from_lines(&[])).to_string();
    assert!(traces.len() < 4 << 20, "{} bytes", traces.len());
}
