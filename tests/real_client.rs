//! The real Claude Code CLI (npm, offline against the tests' own fake Messages API) running the
//! hooks that `hooks install` wired: what users get, not what our stand-ins say they get.

mod common;

use std::fs;

use common::claude::{self, FakeApi, Step};
use common::*;
use serde_json::json;

#[test]
fn a_real_session_is_journaled_with_its_session_id() {
    let Some(cli) = deps::or_skip(claude::cli()) else { return };
    let env = TestEnv::new();
    let out = env.run("claude-session", &["hooks", "install"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let api = FakeApi::start();
    api.script(
        "list the files",
        vec![
            Step::tool("Bash", json!({"command": "echo hello", "description": "say hello"})),
            Step::text("It said hello."),
        ],
    );
    let out = env.claude_p(&cli, &api, "list the files", &[]);
    assert!(stdout(&out).contains("It said hello."), "{}", stdout(&out));
    let lines = env.journal();
    let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap_or("")).collect();
    for wanted in ["SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop"] {
        assert_eq!(events.iter().filter(|e| **e == wanted).count(), 1, "{wanted} once in {events:?}");
    }
    let ids: std::collections::BTreeSet<&str> = lines.iter().map(|l| l["session_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1, "one session id: {ids:?}");
    let id = *ids.iter().next().unwrap();
    let transcripts = env.home.join(".claude/projects");
    assert!(
        fs::read_dir(&transcripts).unwrap().flatten().any(|d| d.path().join(format!("{id}.jsonl")).exists()),
        "the journal's id is the transcript's"
    );
}
