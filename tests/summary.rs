//! Summaries as a user reads them: the recorded sessions replayed through the real hooks, and
//! every event kind they hold checked in the journal; the watched events Claude Code sends that
//! the recording lacks, fed the same way.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value, json};

/// Every event fed through its applet, the journal's summaries back in the same order.
fn summaries(events: &[Value]) -> Vec<(String, String)> {
    let env = TestEnv::new();
    for event in events {
        let mut bytes = serde_json::to_vec(event).unwrap();
        bytes.push(b'\n');
        env.hook(applet_for(event), &bytes);
    }
    let lines = env.journal();
    assert_eq!(lines.len(), events.len());
    lines.iter().map(|l| (l["event"].as_str().unwrap().to_owned(), l["summary"].as_str().unwrap().to_owned())).collect()
}

#[test]
fn replayed_sessions_summarize_every_event_kind() {
    let events = recorded();
    let got = summaries(&events);
    // (event, summary) in recording order, all four sessions.
    let want = [
        ("SessionStart", "startup"),
        ("UserPromptSubmit", "say hello using bash"),
        ("PreToolUse", "echo hello"),
        ("PostToolUse", "echo hello"),
        ("PostToolBatch", "1 tool call: Bash"),
        ("MessageDisplay", "done"),
        ("Stop", "done"),
        ("SessionEnd", "other"),
        ("SessionStart", "resume"),
        ("PreCompact", "manual compaction"),
        ("SubagentStop", "agent ac33fc9 finished: done"),
        ("SubagentStop", "agent a233488 finished: done"),
        ("SessionStart", "compact (claude-opus-5-5)"),
        ("PostCompact", "manual compaction done: done"),
        ("SessionEnd", "other"),
        ("SessionStart", "startup"),
        ("UserPromptSubmit", "say hello using bash"),
        ("PreToolUse", "greet"),
        ("SubagentStart", "general-purpose a3f7f09 started"),
        ("PostToolUse", "greet"),
        ("PostToolBatch", "1 tool call: Agent"),
        ("PreToolUse", "[general-purpose a3f7f09] greet"),
        ("SubagentStart", "general-purpose ac108c9 started"),
        ("MessageDisplay", "done"),
        ("SubagentStop", "general-purpose ac108c9 finished: done"),
        ("Stop", "done"),
        ("PostToolUse", "[general-purpose a3f7f09] greet"),
        ("PostToolBatch", "[general-purpose a3f7f09] 1 tool call: Agent"),
        ("SubagentStop", "general-purpose a3f7f09 finished: done"),
        ("UserPromptSubmit", "task a3f7f09 completed: Agent \"greet\" finished"),
        ("MessageDisplay", "done"),
        ("Stop", "done"),
        ("SessionEnd", "other"),
        ("SessionStart", "startup"),
        ("UserPromptSubmit", "say hello using bash"),
        ("PreToolUse", "exit 3"),
        ("PostToolUseFailure", "Exit code 3: exit 3"),
        ("PostToolBatch", "1 tool call: Bash"),
        ("MessageDisplay", "done"),
        ("Stop", "done"),
        ("SessionEnd", "other"),
    ];
    let want: Vec<(String, String)> = want.iter().map(|(e, s)| ((*e).to_owned(), (*s).to_owned())).collect();
    assert_eq!(got, want);
    // Every kind the recording holds was checked, and none was left empty.
    let kinds: BTreeSet<&str> = events.iter().map(|e| e["hook_event_name"].as_str().unwrap()).collect();
    let checked: BTreeSet<&str> = want.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(kinds, checked);
    assert!(got.iter().all(|(_, s)| !s.is_empty()), "{got:?}");
}

#[test]
fn a_failure_summary_holds_its_error_and_an_interrupt_says_so() {
    let failed = json(&fixture("PostToolUseFailure-Bash.json"));
    let mut interrupted = failed.clone();
    interrupted["is_interrupt"] = true.into();
    interrupted["error"] = "The user doesn't want to proceed with this tool use.".into();
    let mut long = failed.clone();
    long["error"] = "Exit code 101\nerror[E0308]: mismatched types\n  --> src/main.rs:3:5".into();
    long["tool_input"]["command"] = "cargo build --release".into();
    let got = summaries(&[failed, interrupted, long]);
    assert_eq!(got[0].1, "Exit code 3: exit 3");
    assert_eq!(got[1].1, "Interrupted: exit 3");
    assert_eq!(got[2].1, "Exit code 101: cargo build --release");
}

#[test]
fn a_subagents_tool_call_names_its_agent() {
    let events = [
        json(&fixture("PreToolUse-subagent-Agent.json")),
        json(&fixture("PostToolUse-subagent-Agent.json")),
        json(&fixture("PostToolBatch-subagent.json")),
        json(&fixture("PreToolUse-Agent.json")),
    ];
    let got = summaries(&events);
    for (event, summary) in &got[..3] {
        assert!(summary.starts_with("[general-purpose a3f7f09] "), "{event}: {summary}");
    }
    assert_eq!(got[3].1, "greet", "the main agent's call is not marked");
}

#[test]
fn watched_events_the_recording_lacks_are_summarized_too() {
    let session = Some("a3008a2b-25c3-4791-b916-3ad5effae209");
    let bash = json!({"tool_name": "Bash", "tool_input": {"command": "rm -rf build", "description": "clean"}});
    let mut denied = bash.clone();
    denied["tool_use_id"] = "toolu_1".into();
    denied["reason"] = "Destructive command in auto mode".into();
    let events: Vec<Value> = [
        payload(
            "Notification",
            session,
            "/p",
            json!({"message": "Claude needs your permission to use Bash", "notification_type": "permission_prompt"}),
        ),
        payload("Notification", session, "/p", json!({"notification_type": "idle_prompt"})),
        payload("PermissionRequest", session, "/p", bash),
        payload("PermissionDenied", session, "/p", denied),
        payload(
            "StopFailure",
            session,
            "/p",
            json!({"error": "rate_limit", "error_details": "429: rate limit exceeded", "last_assistant_message": ""}),
        ),
        payload("CwdChanged", session, "/p", json!({"old_cwd": "/p", "new_cwd": "/p/web"})),
        payload("SomethingNew", session, "/p", json!({"retries": 2})),
    ]
    .iter()
    .map(|b| json(b))
    .collect();
    let got: Vec<String> = summaries(&events).into_iter().map(|(_, s)| s).collect();
    assert_eq!(
        got,
        [
            "Claude needs your permission to use Bash",
            "idle prompt",
            "Bash: rm -rf build",
            "Bash: rm -rf build (Destructive command in auto mode)",
            "rate_limit: 429: rate limit exceeded",
            "/p/web",
            "retries 2",
        ]
    );
}
