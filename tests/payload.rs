//! The payload on a hook's stdin, through the real binary: read within its bounds (bytes and
//! time), recorded even when cut, kept in its order and with its numbers as written.

mod common;

use std::fs;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{TestEnv, json};
use serde_json::Value;

/// The journal's lines, parsed.
fn lines(env: &TestEnv) -> Vec<Value> {
    let mut out = Vec::new();
    for name in common::list(&env.journal_dir()) {
        if name.ends_with(".jsonl") {
            for line in fs::read_to_string(env.journal_dir().join(name)).unwrap().lines() {
                out.push(json(line.as_bytes()));
            }
        }
    }
    out
}

fn only_line(env: &TestEnv) -> Value {
    let lines = lines(env);
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines.into_iter().next().unwrap()
}

/// A hook whose stdin we hold: `write` is written, then the pipe stays open until the hook exits
/// (or a hang guard of 30 s, far above the 5 s bound, kills it).
fn hook_with_open_stdin(env: &TestEnv, write: &[u8]) -> std::process::Output {
    let mut cmd = env.command(env.bin.join("post-tool"));
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(write).unwrap();
    let pid = child.id();
    let guard = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
    });
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    drop(guard);
    out
}

#[test]
fn the_payloads_key_order_is_kept() {
    let env = TestEnv::new();
    let payload = br#"{"session_id":"s1","hook_event_name":"PreToolUse","tool_name":"Mcp","zeta":1,"alpha":2,"mid":3,"tool_input":{"z":1,"b":2,"a":3}}"#;
    env.hook("pre-tool", payload);
    let line = only_line(&env);
    let extra: Vec<&str> = line["extra"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(extra, ["zeta", "alpha", "mid"]);
    let input: Vec<&str> = line["parameters"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(input, ["z", "b", "a"]);
}

#[test]
fn numbers_are_journaled_as_written() {
    let env = TestEnv::new();
    let payload = br#"{"session_id":"s1","hook_event_name":"PreToolUse","tool_input":{"big":12345678901234567890123,"neg":-0,"x":1.50,"huge":1e400}}"#;
    env.hook("pre-tool", payload);
    let text = fs::read_to_string(env.journal_dir().join(common::list(&env.journal_dir())[0].clone())).unwrap();
    assert!(text.contains(r#""parameters":{"big":12345678901234567890123,"neg":-0,"x":1.50,"huge":1e+400}"#), "{text}");
}

#[test]
fn stdin_over_its_cap_is_recorded_as_cut() {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_STDIN_MAX", "4K");
    let payload = format!(
        r#"{{"session_id":"s1","hook_event_name":"PostToolUse","tool_name":"Bash","tool_response":"{}"}}"#,
        "x".repeat(100_000)
    );
    env.hook("post-tool", payload.as_bytes());
    let line = only_line(&env);
    assert_eq!((line["session_id"].as_str(), line["event"].as_str()), (Some("s1"), Some("PostToolUse")));
    assert_eq!(line["tool"], "Bash");
    let cut = line["extra"]["…[cut]"].as_str().unwrap();
    assert!(cut.contains("CLAUDE_SESSION_STDIN_MAX (4096 bytes)"), "{cut}");
}

#[test]
fn an_endless_stdin_is_read_up_to_its_cap() {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_STDIN_MAX", "1M");
    let mut cmd = env.command(env.bin.join("pre-tool"));
    let out = cmd.stdin(fs::File::open("/dev/zero").unwrap()).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let line = only_line(&env);
    assert!(line["extra"]["…[cut]"].as_str().unwrap().contains("1048576 bytes"), "{line}");
    assert!(line["extra"]["raw"].as_str().unwrap().ends_with("…[cut: 1048576 bytes]"));
}

#[test]
fn a_whole_payload_on_a_stdin_left_open_is_not_waited_on() {
    let env = TestEnv::new();
    let out = hook_with_open_stdin(&env, br#"{"session_id":"s1","hook_event_name":"PostToolUse"}"#);
    assert_eq!(out.status.code(), Some(0));
    let line = only_line(&env);
    assert_eq!(line["session_id"], "s1");
    assert!(line.get("extra").is_none(), "nothing was cut: {line}");
}

#[test]
fn a_stdin_that_never_ends_is_waited_on_for_a_bounded_time() {
    let env = TestEnv::new();
    let out = hook_with_open_stdin(&env, br#"{"session_id":"s1","hook_event_name":"PostToolUse","tool_response":"abc"#);
    assert_eq!(out.status.code(), Some(0));
    let line = only_line(&env);
    assert_eq!((line["session_id"].as_str(), line["event"].as_str()), (Some("s1"), Some("PostToolUse")));
    assert!(line["extra"]["…[cut]"].as_str().unwrap().contains("stdin still open after 5 s"), "{line}");
}

#[test]
fn a_million_keys_take_memory_bounded_by_the_input() {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_DEBUG", "1");
    let mut payload = String::from(r#"{"session_id":"s1","hook_event_name":"PreToolUse""#);
    for i in 0..1_000_000 {
        payload.push_str(&format!(",\"k{i:07}\":{i}"));
    }
    payload.push('}');
    let size = payload.len();
    let out = env.hook("pre-tool", payload.as_bytes());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rss: usize = stderr
        .split("peak RSS ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in {stderr}"));
    // The input buffer (grown by doubling) and a few MiB; the 369 MB of a full parse is gone.
    assert!(rss * 1024 < 2 * size + (16 << 20), "peak RSS {rss} KiB for {size} bytes");
    let line = only_line(&env);
    assert!(line["extra"]["…[cut]"].as_str().unwrap().contains("members dropped"), "{line}");
    assert!(serde_json::to_vec(&line).unwrap().len() < 4 * 16 * 1024 + 4096);
}

#[test]
fn a_bad_stdin_cap_is_the_default_and_said_so() {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_STDIN_MAX", "lots").set("CLAUDE_SESSION_DEBUG", "1");
    let payload = format!(r#"{{"session_id":"s1","tool_response":"{}"}}"#, "x".repeat(200_000));
    let out = env.hook("post-tool", payload.as_bytes());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("CLAUDE_SESSION_STDIN_MAX: \"lots\" is not a size"), "{stderr}");
    assert!(only_line(&env)["extra"].get("…[cut]").is_none(), "read whole under the default");
}
