//! The journal: every event recorded with the right session id, whole lines under concurrency,
//! big values cut, the timeline and session list read back, retention.

mod common;

use std::fs;
use std::time::Instant;

use common::*;
use serde_json::{Value, json};

#[test]
fn replaying_the_recording_gives_every_line_its_session() {
    let env = TestEnv::new();
    let events = recorded();
    replay(&env, &events);
    let lines = env.journal();
    assert_eq!(lines.len(), events.len());
    for (line, event) in lines.iter().zip(&events) {
        assert_eq!(line["session_id"], event["session_id"], "{line}");
        assert_eq!(line["session_source"], "payload");
        assert_eq!(line["event"], event["hook_event_name"]);
    }
    let files = list(&env.journal_dir());
    assert_eq!(files.len(), 1);
    assert!(files[0].ends_with(".jsonl") && files[0].len() == "2026-11-21.jsonl".len(), "{files:?}");
}

#[test]
fn tool_events_without_ids_take_the_stored_session() {
    let env = TestEnv::new();
    let mut events = recorded();
    let originals: Vec<Value> = events.iter().map(|e| e["session_id"].clone()).collect();
    let tool_events = ["PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch"];
    for event in &mut events {
        if tool_events.contains(&event["hook_event_name"].as_str().unwrap()) {
            event.as_object_mut().unwrap().remove("session_id");
        }
    }
    replay(&env, &events);
    let lines = env.journal();
    let mut stripped = 0;
    for ((line, event), original) in lines.iter().zip(&events).zip(&originals) {
        assert_eq!(&line["session_id"], original, "{line}");
        let expected = if event.get("session_id").is_some() { "payload" } else { "store" };
        assert_eq!(line["session_source"], expected, "{line}");
        stripped += (expected == "store") as usize;
    }
    assert!(stripped >= 8, "{stripped}");
}

#[test]
fn two_interleaved_sessions_keep_their_ids() {
    let env = TestEnv::new();
    let cwd = "/home/dev/src/proj";
    for i in 0..10 {
        for id in ["session-A", "session-B"] {
            let call = json!({"tool_name": "Bash", "tool_input": {"command": format!("echo {i}")},
                              "tool_use_id": format!("{id}-{i}")});
            env.hook("pre-tool", &payload("PreToolUse", Some(id), cwd, call.clone()));
            env.hook("post-tool", &payload("PostToolUse", Some(id), cwd, call));
        }
    }
    let lines = env.journal();
    assert_eq!(lines.len(), 40);
    for line in &lines {
        let call = line["tool_use_id"].as_str().unwrap();
        assert!(call.starts_with(line["session_id"].as_str().unwrap()), "{line}");
    }
}

#[test]
fn lines_carry_the_original_fields_with_real_values() {
    let mut env = TestEnv::new();
    env.set("CLAUDE_PROJECT_DIR", "/home/dev/src/proj");
    env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    env.hook("post-tool", &fixture("PostToolUse-Bash.json"));
    env.hook("post-tool", &fixture("PostToolUseFailure-Bash.json"));
    env.hook("pre-tool", &fixture("PreToolUse-subagent-Agent.json"));
    env.hook("session-start", &fixture("SessionStart-resume.json"));
    env.hook("session-start", &fixture("SessionEnd.json"));
    let lines = env.journal();
    let [pre, post, failed, sub, resume, end] = lines.as_slice() else { panic!("{lines:?}") };

    let t =
        time::OffsetDateTime::parse(pre["timestamp"].as_str().unwrap(), &time::format_description::well_known::Rfc3339);
    assert!(t.is_ok() && pre["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(pre["tool"], "Bash");
    assert_eq!(pre["parameters"], json!({"command": "echo hello", "description": "say hello"}));
    assert_eq!(pre["tool_use_id"], "toolu_fake0001132657d176d1");
    assert_eq!(pre["prompt_id"], "6ae7dcc3-8e57-4bb4-b899-272c374b24d4");
    assert_eq!((pre["project"].as_str(), pre["project_dir"].as_str()), (Some("proj"), Some("/home/dev/src/proj")));
    assert_eq!((pre["cwd"].as_str(), pre["user"].as_str()), (Some("/home/dev/src/proj"), Some("tester")));
    assert_eq!(pre["summary"], "echo hello");
    assert!(pre.get("tool_response").is_none());
    assert_eq!(post["tool_response"]["stdout"], "hello");
    assert_eq!(post["duration_ms"], 18);
    assert_eq!((failed["error"].as_str(), failed["is_interrupt"].as_bool()), (Some("Exit code 3"), Some(false)));
    assert_eq!(
        (sub["agent_id"].as_str(), sub["agent_type"].as_str()),
        (Some("a3f7f0963b7f0d067"), Some("general-purpose"))
    );
    assert_eq!(resume["source"], "resume");
    assert_eq!(resume["extra"]["context_tokens"], 60, "unknown fields are kept: {resume}");
    assert_eq!(end["reason"], "other");
}

#[test]
fn unknown_events_and_fields_are_recorded() {
    let env = TestEnv::new();
    let body = payload("FileChanged", Some("s1"), "/p", json!({"file": "a.rs", "nested": {"x": [1, 2]}}));
    env.hook("session-start", &body);
    env.hook("post-tool", b"definitely not json");
    let lines = env.journal();
    assert_eq!(lines[0]["event"], "FileChanged");
    assert_eq!(lines[0]["extra"], json!({"file": "a.rs", "nested": {"x": [1, 2]}}));
    assert_eq!(lines[1]["event"], "PostToolUse", "the applet's event when the payload names none");
    assert_eq!(lines[1]["extra"]["raw"], "definitely not json");
}

#[test]
fn sixty_four_concurrent_writers_of_100_kb_lines_never_tear() {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_LOG_FIELD_MAX", "200000");
    let per_writer = 4;
    std::thread::scope(|s| {
        for w in 0..64 {
            let env = &env;
            s.spawn(move || {
                for n in 0..per_writer {
                    let fill = char::from(b'a' + (w % 26) as u8).to_string().repeat(100_000);
                    let body = payload(
                        "PreToolUse",
                        Some(&format!("w{w}")),
                        "/p",
                        json!({
                        "tool_name": "Write", "tool_use_id": format!("w{w}-{n}"), "tool_input": {"content": fill}}),
                    );
                    env.hook("pre-tool", &body);
                }
            });
        }
    });
    let lines = env.journal();
    assert_eq!(lines.len(), 64 * per_writer);
    let mut ids: Vec<&str> = lines.iter().map(|l| l["tool_use_id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 64 * per_writer, "every line once");
    for line in &lines {
        let content = line["parameters"]["content"].as_str().unwrap();
        assert_eq!(content.len(), 100_000);
        assert!(content.bytes().all(|b| b == content.as_bytes()[0]), "mixed line");
    }
}

/// The lock on a day file is waited on for a bound: on a loaded machine sixty-four writers queue
/// past it. The line then goes to a file of its own in `late/` instead of being lost, every reader
/// reads it, and `cleanup` folds it into its day.
#[test]
fn a_hook_kept_waiting_for_the_journal_lock_journals_its_event_late_not_lost() {
    let env = TestEnv::new();
    let tool = |id: &str| json!({"tool_name": "Bash", "tool_use_id": id, "tool_input": {"command": "ls"}});
    env.hook("pre-tool", &payload("PreToolUse", Some("s-late"), "/p", tool("first")));
    let days = list(&env.journal_dir()).into_iter().filter(|n| n.ends_with(".jsonl")).collect::<Vec<_>>();
    assert_eq!(days.len(), 1);
    let day = env.journal_dir().join(&days[0]);

    // Another writer holds the day file's lock for longer than a hook waits.
    let held = fs::File::open(&day).unwrap();
    held.lock().unwrap();
    env.hook("pre-tool", &payload("PreToolUse", Some("s-late"), "/p", tool("second")));
    assert_eq!(fs::read_to_string(&day).unwrap().lines().count(), 1, "nothing appended under another's lock");
    let late = list(&env.journal_dir().join("late"));
    assert_eq!(late.len(), 1, "{late:?}");
    assert!(!env.journal_dir().join("lost").exists(), "an event kept waiting is not lost");
    let ids: Vec<Value> = env.journal().iter().map(|l| l["tool_use_id"].clone()).collect();
    assert_eq!(ids, [json!("first"), json!("second")]);
    let out = env.run("claude-session", &["show", "--timeline", "s-late", "--json"], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("second"), "the timeline reads late lines: {}", stdout(&out));

    // Folded once the lock is free, and only then.
    let out = env.run("claude-session", &["cleanup"], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(list(&env.journal_dir().join("late")).len(), 1, "folded while the day file was locked");
    held.unlock().unwrap();
    let out = env.run("claude-session", &["cleanup"], b"");
    assert!(stdout(&out).contains("journaled 1 late line"), "{}", stdout(&out));
    assert!(list(&env.journal_dir().join("late")).is_empty());
    let lines: Vec<String> = fs::read_to_string(&day).unwrap().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(json(lines[1].as_bytes())["tool_use_id"], "second");
    assert_eq!(env.journal().len(), 2, "folded, not copied");
}

/// A late line is written under a temp name and renamed in: `cleanup` folding late files found one
/// a hook had just created and not yet written, folded nothing from it and removed it, and the
/// hook's line went into the removed file. What such a hook leaves if it dies is a temp file,
/// which no reader takes for lines and `cleanup` removes once its writer is gone.
#[test]
fn a_late_line_is_never_seen_half_written_and_a_dead_writers_temp_is_removed() {
    let env = TestEnv::new();
    let tool = |id: &str| json!({"tool_name": "Bash", "tool_use_id": id, "tool_input": {"command": "ls"}});
    env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/p", tool("first")));
    let day = list(&env.journal_dir()).into_iter().find(|n| n.ends_with(".jsonl")).unwrap();
    let held = fs::File::open(env.journal_dir().join(&day)).unwrap();
    held.lock().unwrap();
    env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/p", tool("second")));
    held.unlock().unwrap();
    let late = env.journal_dir().join("late");
    let names = list(&late);
    assert!(names.len() == 1 && !names[0].starts_with('.'), "renamed in, no temp left: {names:?}");
    // As a hook would leave them: killed while writing (its pid gone), and still writing (alive).
    let dead = late.join(format!(".{}.999999999.0.tmp", names[0]));
    let live = late.join(format!(".{}.{}.0.tmp", names[0], std::process::id()));
    fs::write(&dead, "{\"half").unwrap();
    fs::write(&live, "{\"being").unwrap();
    assert_eq!(env.journal().len(), 2, "temp files are not read as lines");
    let out = env.run("claude-session", &["cleanup"], b"");
    assert_eq!(stdout(&out), "journaled 1 late line that waited in late/\nremoved 1 file\n", "{}", stderr(&out));
    assert_eq!(list(&late), [live.file_name().unwrap().to_str().unwrap()], "the live writer's temp stays");
    let ids: Vec<Value> = env.journal().iter().map(|l| l["tool_use_id"].clone()).collect();
    assert_eq!(ids, [json!("first"), json!("second")]);
}

#[test]
fn a_50_mib_payload_is_cut_to_a_small_line() {
    let mut env = TestEnv::new();
    let big = "Z".repeat(50 << 20);
    let body = payload(
        "PostToolUse",
        Some("big"),
        "/p",
        json!({
        "tool_name": "Read", "tool_input": {"file_path": "/big.txt"}, "tool_response": {"content": big, "lines": 1}}),
    );
    drop(big);
    let started = Instant::now();
    env.hook("post-tool", &body);
    eprintln!("50 MiB post-tool (debug build): {:?}", started.elapsed());
    let lines = env.journal();
    let text = serde_json::to_string(&lines[0]).unwrap();
    assert!(text.len() < 20_000, "{} bytes", text.len());
    let content = lines[0]["tool_response"]["content"].as_str().unwrap();
    assert!(content.starts_with(&"Z".repeat(16384)), "the head is kept");
    assert!(content.ends_with(&format!("…[cut: {} bytes]", (50 << 20) + 2)), "{}", &content[16384..]);
    assert_eq!(lines[0]["tool_response"]["lines"], 1);
    assert_eq!(lines[0]["parameters"]["file_path"], "/big.txt");

    env.set("CLAUDE_SESSION_LOG_FIELD_MAX", "1000");
    env.hook("post-tool", &payload("PostToolUse", Some("s"), "/p", json!({"tool_response": "y".repeat(5000)})));
    let lines = env.journal();
    assert_eq!(lines[1]["tool_response"].as_str().unwrap(), format!("{}…[cut: 5002 bytes]", "y".repeat(1000)));
}

#[test]
fn a_torn_tail_is_cut_before_the_next_line() {
    let env = TestEnv::new();
    env.hook("session-start", &payload("SessionStart", Some("s"), "/p", json!({})));
    let file = env.journal_dir().join(&list(&env.journal_dir())[0]);
    let mut text = fs::read(&file).unwrap();
    text.extend_from_slice(b"{\"timestamp\":\"half a line from a killed wri");
    fs::write(&file, &text).unwrap();
    env.hook("session-start", &payload("Stop", Some("s"), "/p", json!({})));
    let lines = env.journal();
    assert_eq!(lines.iter().map(|l| l["event"].as_str().unwrap()).collect::<Vec<_>>(), ["SessionStart", "Stop"]);
}

#[test]
fn an_unwritable_journal_or_full_disk_loses_the_line_whole_and_says_so() {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_DEBUG", "1");
    let blocker = env.root.join("a-file");
    fs::write(&blocker, "").unwrap();
    env.set("CLAUDE_SESSION_LOG_DIR", blocker.join("logs"));
    let out = env.hook("pre-tool", &fixture("PreToolUse-Bash.json"));
    assert!(stderr(&out).contains("lost this PreToolUse event"), "{}", stderr(&out));

    // A file size limit (RLIMIT_FSIZE, 1 KiB) that the next line would cross.
    env.env.remove("CLAUDE_SESSION_LOG_DIR");
    env.hook("session-start", &payload("SessionStart", Some("s"), "/p", json!({})));
    let file = env.journal_dir().join(&list(&env.journal_dir())[0]);
    let before = fs::read(&file).unwrap();
    assert!(before.len() < 1024);
    let mut cmd = env.command("/bin/sh");
    cmd.args(["-c", "ulimit -f 2; exec post-tool"]);
    let out = feed(cmd, &fixture("PostToolUse-subagent-Agent.json"));
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0), "{}", stderr(&out));
    assert!(stderr(&out).contains("lost this PostToolUse event"), "{}", stderr(&out));
    assert_eq!(fs::read(&file).unwrap(), before, "no partial line");
}

fn replayed_env() -> TestEnv {
    let env = TestEnv::new();
    replay(&env, &recorded());
    env
}

#[test]
fn timeline_pairs_calls_and_marks_failures_and_subagents() {
    let env = replayed_env();
    let out = env.run("show", &["--timeline", "a54e25b9-f0d1-4ec4-8ff1-4a35ea48258b"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let call = text.lines().find(|l| l.contains(" Bash ")).unwrap();
    assert!(call.contains("exit 3") && call.contains("(18 ms)") && call.contains("FAILED: Exit code 3"), "{call}");
    let rows = text.lines().filter(|l| l.starts_with("  ") && l.contains(" Bash ")).count();
    assert_eq!(rows, 1, "pre and post are one row:\n{text}");
    assert!(text.contains("8 events, 1 tool call: Bash 1, tool time 18 ms, slowest Bash 18 ms (exit 3)"), "{text}");

    let out = env.run("show", &["--timeline", "b58b8352-cb65-4938-89b1-ca08fc4358de"], b"");
    let text = stdout(&out);
    let sub = text.lines().find(|l| l.contains("Agent") && l.contains("(320 ms)")).unwrap();
    assert!(sub.contains("[general-purpose a3f7f09]") && sub.contains("greet"), "the summary names the agent: {sub}");
    let launch = text.lines().find(|l| l.contains("-> agent a3f7f0963b7f0d067")).unwrap();
    assert!(launch.contains("in background, until its SubagentStop"), "the call that started the subagent: {launch}");

    let v = json(&env.run("show", &["--timeline", "--json", "b58b8352-cb65-4938-89b1-ca08fc4358de"], b"").stdout);
    assert_eq!(v["summary"]["tool_calls"], 2);
    assert_eq!(v["summary"]["per_tool"], json!({"Agent": 2}));
    let rows = v["rows"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["event"] != "PostToolUse"), "posts fold into their calls");

    // The default is the current project's session: the last one recorded there.
    let mut cmd = env.command(env.bin.join("show"));
    cmd.env("CLAUDE_PROJECT_DIR", "/home/dev/src/proj").arg("--timeline");
    let text = stdout(&feed(cmd, b""));
    assert!(text.starts_with("session a54e25b9-f0d1-4ec4-8ff1-4a35ea48258b"), "{text}");

    let out = env.run("show", &["--timeline", "no-such-session"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no events of session no-such-session"));
}

/// Since Claude Code 2.1.198 an Agent call returns at once (`async_launched`) and its subagent
/// runs on: the timeline shows the call from its start to the subagent's SubagentStop, not the
/// 17 ms launch. The recorded session's subagent is made to run 400 ms here.
#[test]
fn timeline_shows_a_background_subagent_until_its_stop_not_the_launch() {
    const SID: &str = "b58b8352-cb65-4938-89b1-ca08fc4358de";
    let env = TestEnv::new();
    let session: Vec<Value> = recorded().into_iter().filter(|e| e["session_id"] == SID).collect();
    let launch = session.iter().find(|e| e["tool_response"]["status"] == "async_launched").unwrap();
    assert_eq!(
        (launch["duration_ms"].as_u64(), launch["tool_response"]["agentId"].as_str()),
        (Some(17), Some("a3f7f0963b7f0d067"))
    );
    let stop = session
        .iter()
        .position(|e| e["hook_event_name"] == "SubagentStop" && e["agent_id"] == "a3f7f0963b7f0d067")
        .unwrap();
    replay(&env, &session[..stop]);
    let v = json(&env.run("show", &["--timeline", "--json", SID], b"").stdout);
    let call = |v: &Value| {
        v["rows"].as_array().unwrap().iter().find(|r| r["launched"] == "a3f7f0963b7f0d067").cloned().unwrap()
    };
    assert_eq!(
        (call(&v)["background"].as_str(), call(&v)["duration_ms"].as_u64()),
        (Some("running"), Some(17)),
        "before its stop"
    );
    let text = stdout(&env.run("show", &["--timeline", SID], b""));
    assert!(text.contains("in background, no SubagentStop yet"), "{text}");

    std::thread::sleep(std::time::Duration::from_millis(400));
    replay(&env, &session[stop..]);
    let v = json(&env.run("show", &["--timeline", "--json", SID], b"").stdout);
    let row = call(&v);
    assert_eq!(row["background"], "stopped");
    assert!(row["duration_ms"].as_u64().unwrap() >= 400, "{row}");
    // The foreground subagent's call inside it keeps its own measured duration.
    let inner = v["rows"].as_array().unwrap().iter().find(|r| r["launched"] == "ac108c994a0522894").cloned().unwrap();
    assert_eq!((inner["duration_ms"].as_u64(), inner["background"].as_str()), (Some(320), None));
}

#[test]
fn timeline_measures_calls_without_duration_and_flags_open_ones() {
    let env = TestEnv::new();
    let call =
        |id: &str| json!({"tool_name": "Grep", "tool_use_id": id, "tool_input": {"pattern": "fn main", "path": "src"}});
    env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/p", call("c1")));
    std::thread::sleep(std::time::Duration::from_millis(30));
    env.hook("post-tool", &payload("PostToolUse", Some("s"), "/p", call("c1")));
    env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/p", call("c2")));
    env.hook(
        "post-tool",
        &payload(
            "PostToolUseFailure",
            Some("s"),
            "/p",
            json!({"tool_name": "Bash",
        "tool_use_id": "c3", "is_interrupt": true, "error": "interrupted by user"}),
        ),
    );
    let v = json(&env.run("show", &["--timeline", "--json", "s"], b"").stdout);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["summary"], "fn main in src");
    assert!(rows[0]["duration_ms"].as_u64().unwrap() >= 30, "{}", rows[0]);
    assert_eq!((rows[1]["status"].as_str(), rows[1]["duration_ms"].as_u64()), (Some("no result"), None));
    assert_eq!(rows[2]["status"], "interrupted");
}

#[test]
fn sessions_lists_the_journal() {
    let env = replayed_env();
    let v = json(&env.run("show", &["--sessions", "--json"], b"").stdout);
    let sessions = v["sessions"].as_array().unwrap();
    let ids: Vec<&str> = sessions.iter().map(|s| s["session_id"].as_str().unwrap()).collect();
    let mut expected: Vec<String> = Vec::new();
    for e in recorded() {
        let id = e["session_id"].as_str().unwrap().to_owned();
        if !expected.contains(&id) {
            expected.push(id);
        }
    }
    assert_eq!(ids, expected);
    let failing = sessions.iter().find(|s| s["session_id"] == "a54e25b9-f0d1-4ec4-8ff1-4a35ea48258b").unwrap();
    assert_eq!((failing["events"].as_u64(), failing["tool_calls"].as_u64()), (Some(8), Some(1)));
    assert_eq!(failing["project"], "proj");
    assert!(failing["first"].as_str().unwrap() <= failing["last"].as_str().unwrap());

    let text = stdout(&env.run("show", &["--sessions"], b""));
    assert!(text.starts_with("SESSION"), "{text}");
    assert_eq!(text.lines().count(), expected.len() + 1);
}

#[test]
fn cleanup_keeps_log_days_of_journal() {
    let mut env = TestEnv::new();
    env.hook("session-start", &payload("SessionStart", Some("s"), "/p", json!({})));
    let dir = env.journal_dir();
    let today = time::OffsetDateTime::now_utc().date();
    let day = |back: i64| {
        let d = today - time::Duration::days(back);
        format!("{:04}-{:02}-{:02}.jsonl", d.year(), d.month() as u8, d.day())
    };
    for back in [5, 29, 31, 400] {
        fs::write(dir.join(day(back)), "{}\n").unwrap();
    }
    fs::write(dir.join("notes.jsonl"), "mine\n").unwrap();
    let out = env.run("cleanup", &[], b"");
    assert_eq!(stdout(&out), "removed 2 files\n", "{}", stderr(&out));
    let mut left = list(&dir);
    left.sort();
    let mut expected = vec![day(0), day(5), day(29), "notes.jsonl".into()];
    expected.sort();
    assert_eq!(left, expected);

    env.set("CLAUDE_SESSION_LOG_DAYS", "3");
    let out = env.run("cleanup", &["--dry-run"], b"");
    assert_eq!(stdout(&out).lines().count(), 2, "{}", stdout(&out));
    assert!(stdout(&out).contains(&day(5)) && stdout(&out).contains("older than 3 days"));
}

#[test]
fn cleanup_never_removes_old_files_through_a_journal_dir_that_is_a_link() {
    let mut env = TestEnv::new();
    // Where CLAUDE_SESSION_LOG_DIR points, a link to another program's dated logs: every hook
    // refuses it, so nothing there is ours to expire.
    let theirs = env.root.join("other-app-logs");
    fs::create_dir_all(theirs.join("usage")).unwrap();
    fs::set_permissions(theirs.join("usage"), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let old = [theirs.join("2020-01-01.jsonl"), theirs.join("usage/0123456789abcdef.json")];
    for path in &old {
        fs::write(path, "{}\n").unwrap();
        fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_577_836_800))
            .unwrap();
    }
    let shared = env.root.join("shared-logs");
    std::os::unix::fs::symlink(&theirs, &shared).unwrap();
    env.set("CLAUDE_SESSION_LOG_DIR", &shared);
    let out = env.run("cleanup", &[], b"");
    for path in &old {
        assert!(path.exists(), "{} removed through the link: {}{}", path.display(), stdout(&out), stderr(&out));
    }
}
