//! Records real sessions for `tests/fixtures/`: the real Claude Code CLI, offline against the
//! tests' fake Messages API, with every hook event's stdin appended to a file as Claude Code sent
//! it. Paths are then rewritten as in the other fixtures (`/home/dev`, `/home/dev/src/proj`).
//!
//! Not a check, so ignored; rerun with
//! `CLAUDE_SESSION_RECORD=1 cargo test --test record -- --ignored`, which rewrites
//! `tests/fixtures/claude-code-<version>/recorded-sessions.jsonl`.

mod common;

use std::fs;
use std::path::Path;
use std::time::Duration;

use common::claude::{self, FakeApi, Step};
use common::*;
use serde_json::{Value, json};

/// Every event the CLI fires that a session's spans are made of.
const EVENTS: &[&str] = &[
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PostToolBatch",
    "Stop",
    "StopFailure",
    "SubagentStart",
    "SubagentStop",
    "PreCompact",
    "PostCompact",
    "SessionEnd",
];

/// Wires a hook for every event of [`EVENTS`] that appends its stdin to `out`.
fn wire_recorder(env: &TestEnv, out: &Path) {
    let command = format!("cat >> '{}'", out.display());
    let hooks: serde_json::Map<String, Value> = EVENTS
        .iter()
        .map(|e| ((*e).to_owned(), json!([{"matcher": "", "hooks": [{"type": "command", "command": command}]}])))
        .collect();
    let dir = env.home.join(".claude");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("settings.json"), json!({"hooks": hooks}).to_string()).unwrap();
}

/// The session's payloads with the test's paths replaced by the fixtures' own.
fn vendored(env: &TestEnv, raw: &str) -> Vec<Value> {
    let dash = |p: &Path| p.display().to_string().replace(['/', '.'], "-");
    let text = raw
        .replace(&env.cwd.display().to_string(), "/home/dev/src/proj")
        .replace(&dash(&env.cwd), "-home-dev-src-proj")
        .replace(&env.home.display().to_string(), "/home/dev")
        // Claude Code's own temp dir is per uid: the fixtures' user is 1000.
        .replace("/tmp/claude-0/", "/tmp/claude-1000/");
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| json(l.as_bytes())).collect()
}

/// A session whose Agent call runs its subagent in the background (the default since 2.1.198):
/// the subagent runs a Bash command for over a second while the main turn ends, then the task
/// notification starts a turn of its own.
fn background_subagent(cli: &std::path::PathBuf) -> Vec<Value> {
    let env = TestEnv::new();
    let raw = env.root.join("events.jsonl");
    wire_recorder(&env, &raw);
    let api = FakeApi::start();
    api.script(
        "greet me in the background",
        vec![
            Step::tool(
                "Agent",
                json!({"description": "greet", "prompt": "say hello with bash, slowly", "subagent_type": "general-purpose"}),
            )
            .usage(120, 30, 0, 0),
            Step::text("The greeter is running.").usage(150, 8, 0, 0),
            Step::text("The greeter said hello.").usage(180, 9, 0, 0),
        ],
    );
    api.script(
        "say hello with bash, slowly",
        vec![
            Step::tool("Bash", json!({"command": "sleep 1; echo hello", "description": "say hello"}))
                .usage(90, 20, 0, 0)
                .delay(Duration::from_millis(300)),
            Step::text("hello").usage(110, 3, 0, 0).delay(Duration::from_millis(300)),
        ],
    );
    env.claude_p(cli, &api, "greet me in the background", &[]);
    vendored(&env, &fs::read_to_string(&raw).unwrap())
}

/// A session with a Bash call that fails, then a subagent run in the foreground
/// (`run_in_background: false`): its Agent call ends after the subagent's SubagentStop.
fn failure_and_foreground_subagent(cli: &std::path::PathBuf) -> Vec<Value> {
    let env = TestEnv::new();
    let raw = env.root.join("events.jsonl");
    wire_recorder(&env, &raw);
    let api = FakeApi::start();
    api.script(
        "fail, then greet in the foreground",
        vec![
            Step::tool("Bash", json!({"command": "echo oops >&2; exit 3", "description": "fail"})).usage(100, 20, 0, 0),
            Step::tool(
                "Agent",
                json!({"description": "greet", "prompt": "say hello in the foreground",
                       "subagent_type": "general-purpose", "run_in_background": false}),
            )
            .usage(130, 30, 0, 0),
            Step::text("It failed, then the greeter said hello.").usage(160, 10, 0, 0),
        ],
    );
    api.script("say hello in the foreground", vec![Step::text("hello").usage(80, 3, 0, 0)]);
    env.claude_p(cli, &api, "fail, then greet in the foreground", &[]);
    vendored(&env, &fs::read_to_string(&raw).unwrap())
}

#[test]
#[ignore = "records fixtures from the real CLI: CLAUDE_SESSION_RECORD=1 cargo test --test record -- --ignored"]
fn record_sessions() {
    let Some(cli) = deps::or_skip(claude::cli()) else { return };
    let mut events = Vec::new();
    events.extend(background_subagent(&cli));
    events.extend(failure_and_foreground_subagent(&cli));
    let names: Vec<&str> = events.iter().map(|e| e["hook_event_name"].as_str().unwrap_or("?")).collect();
    eprintln!("{} events: {names:?}", events.len());
    let launched = events.iter().any(|e| e["tool_response"]["status"] == "async_launched");
    assert!(launched, "the Agent call ran in the background: {events:#?}");
    let completed = events.iter().any(|e| e["tool_response"]["status"] == "completed");
    let failed = events.iter().any(|e| e["hook_event_name"] == "PostToolUseFailure");
    assert!(completed && failed, "a foreground subagent and a failed call: {events:#?}");
    if std::env::var_os("CLAUDE_SESSION_RECORD").is_some() {
        let dir = fixtures().parent().unwrap().join(format!("claude-code-{}", claude::VERSION));
        fs::create_dir_all(&dir).unwrap();
        let lines: String = events.iter().map(|e| format!("{e}\n")).collect();
        fs::write(dir.join("recorded-sessions.jsonl"), lines).unwrap();
    }
}
