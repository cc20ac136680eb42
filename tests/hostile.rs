//! What a hostile environment does to the files we read and the input we are given: each test is
//! one thing that broke, named for it.

mod common;

use std::fs;
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::time::Duration;

use common::*;
use serde_json::json;

/// Runs a command of `env` with its address space limited to `bytes` (as `prlimit --as` does).
fn within_address_space(env: &TestEnv, bytes: u64, applet: &str, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut cmd = env.command(env.bin.join(applet));
    cmd.args(args);
    // SAFETY: setrlimit is async-signal-safe, and nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_AS, bytes, bytes)
                .map_err(std::io::Error::from)
        });
    }
    within(cmd, stdin, Duration::from_secs(600))
}

/// A day file with 300 MB without a newline (what a power cut leaves as a zero-filled region, or
/// a sparse file): every reader (show, export, cleanup, the OTLP deliverer) held it as one line,
/// 1 GB of it took 1 GB of memory, 10 GB an OOM kill. A line longer than any a hook writes is
/// now skipped as it is read; the events after it are read as before.
#[test]
fn a_journal_line_longer_than_any_event_is_skipped_not_held() {
    let env = TestEnv::new();
    let cwd = env.cwd.to_str().unwrap();
    env.hook("session-start", &payload("SessionStart", Some("before"), cwd, json!({})));
    let journal = env.journal_dir();
    let day = list(&journal).into_iter().find(|n| n.ends_with(".jsonl")).unwrap();
    let file = fs::OpenOptions::new().write(true).open(journal.join(&day)).unwrap();
    let end = file.metadata().unwrap().len() + (300 << 20);
    file.set_len(end).unwrap();
    file.write_at(b"\n", end).unwrap();
    drop(file);
    env.hook("session-start", &payload("SessionStart", Some("after"), cwd, json!({})));
    fs::set_permissions(journal.join(&day), fs::Permissions::from_mode(0o600)).unwrap();

    // The run is bounded to half the planted line's size: holding it would abort the command.
    let out = within_address_space(&env, 160 << 20, "claude-session", &["show", "--sessions", "--json"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out.stdout);
    let ids: Vec<&str> = v["sessions"].as_array().unwrap().iter().map(|s| s["session_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["before", "after"]);
}

/// Claude Code writes a lone UTF-16 surrogate as `\ud83d` (`JSON.stringify` of a tool output cut
/// in the middle of an emoji); serde_json refuses it, and the whole member holding it was dropped:
/// the Bash command, or the tool's output. The lone half is now U+FFFD and the rest is kept.
#[test]
fn a_lone_surrogate_in_a_tool_output_keeps_the_output() {
    let env = TestEnv::new();
    let fixture = String::from_utf8(fixture("PostToolUse-Bash.json")).unwrap();
    let cut = fixture
        .replace(r#""stdout":"hello""#, r#""stdout":"hello \ud83d""#)
        .replace(r#""command":"echo hello""#, r#""command":"echo \ud83d\ude00 \udc00""#);
    assert_ne!(cut, fixture);
    assert!(serde_json::from_str::<serde_json::Value>(&cut).is_err(), "serde_json refuses it");
    env.hook("post-tool", cut.as_bytes());
    let line = env.journal().pop().unwrap();
    assert_eq!(line["parameters"]["command"], "echo 😀 \u{fffd}", "{line}");
    assert_eq!(line["tool_response"]["stdout"], "hello \u{fffd}", "{line}");
    assert_eq!(line["tool_use_id"], "toolu_fake0001132657d176d1");
    assert!(line["extra"].get("…[cut]").is_none(), "{line}");
}
