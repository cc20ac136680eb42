//! Nothing the program reads is trusted: the journal gets the store's guarantees, nothing can make
//! a hook wait, and recorded text cannot drive the terminal (issue 10). One test per finding.

mod common;

use std::fs;
use std::os::unix::fs::{PermissionsExt, chown};
use std::process::Command;
use std::time::Duration;

use common::*;

const PROJ: &str = "/home/dev/src/proj";

/// Today's journal file (UTC), as the hooks name it.
fn today(env: &TestEnv) -> std::path::PathBuf {
    let out = Command::new("date").args(["-u", "+%Y-%m-%d"]).output().unwrap();
    env.journal_dir().join(format!("{}.jsonl", String::from_utf8_lossy(&out.stdout).trim()))
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[test]
fn journal_dir_open_to_others_is_refused() {
    let mut env = TestEnv::new();
    let dir = env.root.join("shared-logs");
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    env.set("CLAUDE_SESSION_LOG_DIR", &dir).set("CLAUDE_SESSION_DEBUG", "1");
    let out = env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    assert!(stderr(&out).contains("lets other users in"), "{}", stderr(&out));
    assert!(list(&dir).is_empty(), "nothing written into a directory others can enter: {:?}", list(&dir));
    let out = env.run("claude-session", &["hooks", "status"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("lets other users in"), "{}", stdout(&out));
}

#[test]
fn journal_dir_of_another_user_is_refused_and_their_lines_never_shown() {
    if !is_root() {
        eprintln!("skipped: needs root to make another user's directory");
        return;
    }
    let mut env = TestEnv::new();
    let dir = env.root.join("their-logs");
    fs::create_dir_all(&dir).unwrap();
    let planted = today(&env).file_name().unwrap().to_owned();
    let line =
        r#"{"timestamp":"2026-11-22T10:00:00Z","event":"PreToolUse","session_id":"victim","summary":"injected"}"#;
    fs::write(dir.join(&planted), format!("{line}\n")).unwrap();
    fs::set_permissions(dir.join(&planted), fs::Permissions::from_mode(0o666)).unwrap();
    chown(dir.join(&planted), Some(65534), Some(65534)).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    chown(&dir, Some(65534), Some(65534)).unwrap();
    env.set("CLAUDE_SESSION_LOG_DIR", &dir);
    env.hook("pre-tool", &payload("PreToolUse", Some("victim"), PROJ, serde_json::json!({"tool_name": "Bash"})));
    assert_eq!(fs::read_to_string(dir.join(&planted)).unwrap(), format!("{line}\n"), "nothing appended to theirs");
    let out = env.run("show", &["--timeline", "victim"], b"");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(!stdout(&out).contains("injected"));
}

#[test]
fn foreign_day_file_in_our_journal_is_never_read_back() {
    if !is_root() {
        eprintln!("skipped: needs root to make another user's file");
        return;
    }
    let env = TestEnv::new();
    env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    let planted = env.journal_dir().join("2020-01-01.jsonl");
    let line = r#"{"timestamp":"2020-01-01T10:00:00Z","event":"PreToolUse","session_id":"a3008a2b-25c3-4791-b916-3ad5effae209","summary":"injected"}"#;
    fs::write(&planted, format!("{line}\n")).unwrap();
    chown(&planted, Some(65534), Some(65534)).unwrap();
    let out = env.run("show", &["--timeline", "a3008a2b-25c3-4791-b916-3ad5effae209"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stdout(&out).contains("injected"), "{}", stdout(&out));
}

#[test]
fn fifo_at_the_journal_file_does_not_hang_a_hook() {
    let env = TestEnv::new();
    fs::create_dir_all(env.journal_dir()).unwrap();
    fs::set_permissions(env.journal_dir(), fs::Permissions::from_mode(0o700)).unwrap();
    nix::unistd::mkfifo(&today(&env), nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let big = payload("PostToolUse", Some("s-fifo"), PROJ, serde_json::json!({"tool_response": "x".repeat(200_000)}));
    let out = within(env.command(env.bin.join("post-tool")), &big, Duration::from_secs(20));
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
    let out = env.run("claude-session", &["hooks", "status"], b"");
    assert!(stdout(&out).contains("could not be journaled"), "{}", stdout(&out));
}

#[test]
fn a_journal_lock_held_forever_costs_a_bounded_wait_and_loses_nothing() {
    let env = TestEnv::new();
    env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    let held = fs::OpenOptions::new().append(true).open(today(&env)).unwrap();
    held.lock().unwrap();
    let before = fs::read(today(&env)).unwrap();
    let out = within(env.command(env.bin.join("pre-tool")), &fixture("PreToolUse-Bash.json"), Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(fs::read(today(&env)).unwrap(), before, "nothing appended without the lock");
    // The line waits in late/ instead: read back with the rest, and nothing counted lost.
    assert_eq!(env.journal().len(), 2);
    let out = env.run("claude-session", &["hooks", "status", "--json"], b"");
    assert_eq!(json(&out.stdout)["lost"], 0, "{}", stdout(&out));
    drop(held);
    env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    assert!(fs::read(today(&env)).unwrap().len() > before.len(), "appends resume once the lock is free");
}

#[test]
fn terminal_escapes_in_recorded_data_are_made_safe() {
    let mut env = TestEnv::new();
    let hostile = "echo \u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J done";
    let dir = "/x/new\nline\u{1b}[31m";
    env.set("CLAUDE_PROJECT_DIR", dir);
    let extra = serde_json::json!({"tool_name": "Bash", "tool_use_id": "t1", "tool_input": {"command": hostile}});
    env.hook("pre-tool", &payload("PreToolUse", Some("s\u{1b}1"), dir, extra.clone()));
    env.hook("pre-tool", &payload("PreToolUse", Some("s-esc"), dir, extra));
    for args in [vec!["--timeline", "s-esc"], vec!["--sessions"], vec!["--all"]] {
        let out = env.run("show", &args, b"");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{args:?} printed a raw escape: {text:?}");
        assert!(text.lines().all(|l| !l.starts_with("line")), "{args:?}: a newline broke a row: {text}");
    }
    let out = env.run("show", &["--timeline", "s-esc", "--json"], b"");
    assert_eq!(json(&out.stdout)["rows"][0]["summary"], hostile, "--json stays exact");
}
