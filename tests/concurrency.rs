//! The user's commands running at the same time as each other and as live hooks (issue 30):
//! every journal line and every event arrives exactly once, counts are true, and nothing a
//! concurrent writer put in a shared file is undone.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::time::Duration;

use common::server::{Mode, TestServer};
use common::*;
use serde_json::{Value, json};

/// Every journal line, parsed, from every day file and every late file: a hook kept waiting for a
/// day file's lock past its bound (by a rewrite, on a loaded machine) journals its line in
/// `late/`, which every reader reads.
fn journal_lines(env: &TestEnv) -> Vec<Value> {
    env.journal()
}

/// How many times each value of `key` (in `parameters`, `tool_use_id`, ...) appears.
fn counts<'a>(values: impl Iterator<Item = &'a Value>) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for v in values {
        *seen.entry(v.as_str().unwrap_or("?").to_owned()).or_insert(0) += 1;
    }
    seen
}

/// The queue `sink`'s line of `show --all --json`.
fn queue_status(env: &TestEnv, sink: &str) -> Value {
    let all = json(&env.run("show", &["--all", "--json"], b"").stdout);
    let sinks = all["outbox"]["sinks"].as_array().cloned().unwrap_or_default();
    sinks.into_iter().find(|s| s["sink"] == sink).unwrap_or(Value::Null)
}

/// Issue 30: two `cleanup --redact` runs at once dropped journal lines (2, 1 and 2 of 400): the
/// second rewrote the file it had opened after the first had renamed a new one over it.
#[test]
fn two_redacts_at_once_drop_no_journal_line() {
    let mut env = TestEnv::new();
    // The hooks record the secret, so that every redact has lines to rewrite.
    env.set("CLAUDE_SESSION_SECRETS_FILTER", "0");
    let calls = 150;
    let done = std::sync::atomic::AtomicBool::new(false);
    let redacts = std::thread::scope(|s| {
        let redact = || {
            let mut runs = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) || runs == 0 {
                let out = env.run("cleanup", &["--redact"], b"");
                assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
                runs += 1;
            }
            runs
        };
        let a = s.spawn(redact);
        let b = s.spawn(redact);
        for n in 0..calls {
            let secret = format!("export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY{n:04}");
            env.hook(
                "pre-tool",
                &payload(
                    "PreToolUse",
                    Some("s"),
                    "/w/p",
                    json!({"tool_use_id": format!("t{n}"), "tool_input": {"command": secret}}),
                ),
            );
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        a.join().unwrap() + b.join().unwrap()
    });
    assert!(redacts >= 2);
    let out = env.run("cleanup", &["--redact"], b"");
    assert_eq!(out.status.code(), Some(0));
    let lines = journal_lines(&env);
    let seen = counts(lines.iter().map(|l| &l["tool_use_id"]));
    let missing: Vec<_> = (0..calls).map(|n| format!("t{n}")).filter(|t| !seen.contains_key(t)).collect();
    let lost = fs::read_to_string(env.journal_dir().join("lost")).unwrap_or_default();
    assert!(missing.is_empty() && lost.is_empty(), "lost {missing:?} ({redacts} redacts): {lost}");
    assert!(seen.values().all(|&n| n == 1) && lines.len() == calls, "duplicated: {seen:?}");
    assert!(lines.iter().all(|l| !l.to_string().contains("wJalrXUtnFEMI")), "every line redacted");
}

/// `cleanup --redact` runs at once, while hooks append lines to redact: each renamed a new file
/// over the one the others were rewriting, and a run that lost that race eight times in a row gave
/// up, exiting 1 ("replaced eight times while we rewrote it"; seen under load in the test above).
/// They now run one after the other, and each succeeds.
#[test]
fn redacts_at_once_never_give_up_on_a_file_replaced_under_them() {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_SECRETS_FILTER", "0");
    let calls = 60;
    let done = std::sync::atomic::AtomicBool::new(false);
    let runs = std::thread::scope(|s| {
        let redact = || {
            let mut runs = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) || runs == 0 {
                let out = env.run("cleanup", &["--redact"], b"");
                assert_eq!(out.status.code(), Some(0), "after {runs} runs: {}", stderr(&out));
                runs += 1;
            }
            runs
        };
        let redacts: Vec<_> = (0..4).map(|_| s.spawn(redact)).collect();
        for n in 0..calls {
            let secret = format!("export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY{n:04}");
            let call = json!({"tool_use_id": format!("t{n}"), "tool_input": {"command": secret}});
            env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", call));
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        redacts.into_iter().map(|r| r.join().unwrap()).sum::<usize>()
    });
    assert!(runs >= 4);
    let lines = journal_lines(&env);
    assert_eq!(lines.len(), calls, "every line once");
}

/// Issue 30: three `cleanup` runs at once closed an abandoned session more than once (30
/// sessions gave 36 and 42 synthetic SessionEnd lines, each queued to OTLP).
#[test]
fn concurrent_cleanups_close_each_abandoned_session_once() {
    let mut env = TestEnv::new();
    let closed = format!("http://127.0.0.1:{}", TestServer::closed_port());
    env.set("CLAUDE_SESSION_OTLP_ENDPOINT", &closed).set("CLAUDE_SESSION_TTL", "1s");
    let sessions = 30;
    for n in 0..sessions {
        let call = json!({"tool_use_id": format!("t{n}"), "tool_name": "Bash"});
        env.hook("pre-tool", &payload("PreToolUse", Some(&format!("dead{n:04}")), "/w/p", call));
    }
    std::thread::sleep(Duration::from_millis(2100));
    let outputs: Vec<String> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..3).map(|_| s.spawn(|| stdout(&env.run("cleanup", &[], b"")))).collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let ends: Vec<Value> = journal_lines(&env).into_iter().filter(|l| l["event"] == "SessionEnd").collect();
    let per_session = counts(ends.iter().map(|l| &l["session_id"]));
    assert_eq!(per_session.len(), sessions, "{outputs:?}");
    assert!(per_session.values().all(|&n| n == 1), "closed twice: {per_session:?} {outputs:?}");
    // Queued once each too: the 30 hooks' events and the 30 ends, delivered or waiting.
    for sink in ["otlp-logs", "otlp-traces"] {
        let q = queue_status(&env, sink);
        let total: u64 = ["pending", "delivered", "set_aside", "dropped"].iter().map(|k| q[k].as_u64().unwrap()).sum();
        assert_eq!(total, 2 * sessions as u64, "{q}");
    }
}

/// Issue 30: `show --all` and `hooks status` said "0 pending" while a deliverer was working
/// through 24 queued events: the count came from the state it saves only when it goes idle.
#[test]
fn pending_counts_what_a_working_deliverer_has_not_delivered() {
    let server = TestServer::start();
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_SERVER_URL", &server.url).set("CLAUDE_SESSION_SERVER_TIMEOUT", "30s");
    // Backing off: the hooks only spool.
    server.set(Mode::Busy(120));
    env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": "t0"})));
    let flushed = env.run("claude-session", &["flush"], b"");
    assert!(stdout(&flushed).contains("pending 1"), "{}", stdout(&flushed));
    for n in 1..24 {
        env.hook("pre-tool", &payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": format!("t{n}")})));
    }
    assert_eq!(queue_status(&env, "dashboard")["pending"], 24);
    // A flush takes the spool, numbers it and hangs in its first send.
    server.set(Mode::Hang);
    let asked = server.requests();
    std::thread::scope(|s| {
        let flush = s.spawn(|| env.run("claude-session", &["flush"], b""));
        while server.requests() == asked {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(queue_status(&env, "dashboard")["pending"], 24, "while the deliverer waits on the server");
        let status = stdout(&env.run("claude-session", &["hooks", "status"], b""));
        assert!(status.contains("24 pending"), "{status}");
        server.set(Mode::Up);
        flush.join().unwrap();
    });
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(queue_status(&env, "dashboard")["pending"], 0);
    let got = counts(server.accepted().iter().map(|e| &e["payload"]["tool_use_id"]));
    assert_eq!(got.len(), 24, "{got:?}");
}

/// Issue 30: a spool line torn by a killed hook took the next record with it: `Queue::append`
/// opened the spool append-only, so its look at the last byte failed silently and the next line
/// was glued onto the torn one. Both events reach the server, the torn one from the journal.
#[test]
fn a_torn_spool_line_loses_neither_event() {
    let server = TestServer::start();
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_SERVER_URL", &server.url).set("CLAUDE_SESSION_SERVER_TIMEOUT", "5s");
    server.set(Mode::Busy(120));
    let first = payload(
        "PreToolUse",
        Some("s"),
        "/w/p",
        json!({"tool_use_id": "torn", "tool_name": "Bash", "tool_input": {"command": "x".repeat(5000)}}),
    );
    env.hook("pre-tool", &first);
    // Take the deliverer's first try out of the way; the spool is empty again.
    let _ = env.run("claude-session", &["flush"], b"");
    env.hook("pre-tool", &first.clone());
    let spool = env.queue("dashboard").join("spool");
    let whole = fs::read(&spool).unwrap();
    assert!(whole.ends_with(b"\n"));
    // Killed mid-write: the line stops inside the payload.
    fs::write(&spool, &whole[..whole.len() / 2]).unwrap();
    let next = payload("PreToolUse", Some("s"), "/w/p", json!({"tool_use_id": "next", "tool_name": "Read"}));
    env.hook("pre-tool", &next);
    let text = fs::read(&spool).unwrap();
    assert_eq!(text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count(), 2, "the torn line ended, the next whole");
    server.set(Mode::Up);
    let out = env.run("claude-session", &["flush"], b"");
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let got = counts(server.accepted().iter().map(|e| &e["payload"]["tool_use_id"]));
    assert_eq!(got, BTreeMap::from([("next".into(), 1), ("torn".into(), 2)]), "{got:?}");
    let torn: Vec<Value> = server.accepted().into_iter().filter(|e| e["payload"]["tool_use_id"] == "torn").collect();
    assert_eq!(torn[1]["payload"]["tool_input"], torn[0]["payload"]["tool_input"], "the whole event, from the journal");
    assert!(list(&env.queue("dashboard").join("rejected")).is_empty(), "nothing set aside");
}

/// Runs `claude-session ARGS`, failing the test instead of hanging with it.
fn command(env: &TestEnv, args: &[&str]) -> std::process::Output {
    let mut cmd = env.command(env.bin.join("claude-session"));
    cmd.args(args);
    within(cmd, b"", Duration::from_secs(120))
}

/// Another program's atomic read-modify-write of the settings file, as Claude Code or an editor
/// does it: its key `writer` set to `n`. Returns whether its previous edit (`n - 1`) was still
/// there when it read.
fn other_writer(path: &std::path::Path, n: u64) -> bool {
    let text = fs::read_to_string(path).unwrap_or_else(|_| "{}".into());
    let Ok(Value::Object(mut doc)) = serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}')) else {
        panic!("a torn settings file: {text}");
    };
    let kept = n == 0 || doc.get("writer") == Some(&json!(n - 1));
    doc.insert("writer".into(), json!(n));
    let tmp = path.with_extension(format!("writer.{n}"));
    fs::write(&tmp, serde_json::to_string_pretty(&Value::Object(doc)).unwrap()).unwrap();
    fs::rename(&tmp, path).unwrap();
    kept
}

/// Issue 30: `hooks install` and `uninstall` undid a concurrent writer's edit (51 times in 300):
/// the sidecar's write, with its fsyncs, sat between the last re-read and the rename. Now the
/// file changes hands in one exchange that puts theirs back if it changed since our read.
#[test]
fn install_and_uninstall_never_undo_a_concurrent_writers_edit() {
    let env = TestEnv::new();
    let path = env.home.join(".claude/settings.json");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, "{\"model\": \"opus\"}\n").unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    let (undone, runs) = std::thread::scope(|s| {
        let looping = s.spawn(|| {
            let mut runs = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                for args in [["hooks", "install"], ["hooks", "uninstall"]] {
                    let out = command(&env, &args);
                    // Refusing to write after a file that kept changing is allowed; undoing is not.
                    assert!(out.status.code() == Some(0) || stderr(&out).contains("kept changing"), "{}", stderr(&out));
                    runs += 1;
                }
            }
            runs
        });
        let undone = (0..300)
            .filter(|&n| {
                std::thread::sleep(Duration::from_millis(2));
                !other_writer(&path, n)
            })
            .count();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        (undone, looping.join().unwrap())
    });
    assert!(runs >= 2);
    assert_eq!(undone, 0, "the writer's edit was undone {undone} times in 300 ({runs} installs and uninstalls)");
    let doc = json(&fs::read(&path).unwrap());
    assert_eq!((doc["writer"].clone(), doc["model"].clone()), (json!(299), json!("opus")));
}

/// A payload of a million keys under `tool_input`, as one line.
fn million_keys(session: &str, value: &str) -> Vec<u8> {
    let mut bytes = format!(
        r#"{{"session_id":"{session}","transcript_path":"/t","cwd":"/w/p","hook_event_name":"PreToolUse","tool_name":"Bash","tool_use_id":"toolu_m","tool_input":{{"a":{{"#
    )
    .into_bytes();
    for n in 0..1_000_000 {
        if n > 0 {
            bytes.push(b',');
        }
        bytes.extend_from_slice(format!("\"k{n}\":{value}").as_bytes());
    }
    bytes.extend_from_slice(b"}}}\n");
    bytes
}

/// Runs the pre-tool hook with its address space limited to `bytes` (as `prlimit --as` does).
fn hook_within_address_space(env: &TestEnv, bytes: u64, stdin: &[u8]) -> std::process::Output {
    within_address_space(env.command(env.bin.join("pre-tool")), bytes, stdin)
}

/// Issue 30: under a 300 MB address-space limit, a payload of a million keys was not journaled
/// at all (the parse was refused memory and the process aborted). It is journaled cut: by the
/// field cap when that keeps memory small, and when even that memory is refused (a cap raised to
/// 1 GiB), degraded to the session, the event and what was cut.
#[test]
fn a_million_key_payload_under_an_address_space_limit_is_journaled_cut() {
    let mut env = TestEnv::new();
    let limit = 300_000_000;
    let out = hook_within_address_space(&env, limit, &million_keys("million-1", "[0]"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    env.set("CLAUDE_SESSION_LOG_FIELD_MAX", (1u64 << 30).to_string());
    let out = hook_within_address_space(&env, limit, &million_keys("million-2", "[0]"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let lines = journal_lines(&env);
    assert_eq!(lines.len(), 2, "{lines:?}");
    for (line, id) in lines.iter().zip(["million-1", "million-2"]) {
        assert_eq!((line["session_id"].as_str(), line["event"].as_str()), (Some(id), Some("PreToolUse")));
        assert_eq!((line["tool"].as_str(), line["cwd"].as_str()), (Some("Bash"), Some("/w/p")));
    }
    // The field cap cut the first member by member, and said so.
    assert!(lines[0]["parameters"]["a"]["…[cut]"].as_str().is_some_and(|s| s.contains("dropped")), "{}", lines[0]);
    // The second could not be held: what was cut is said.
    let cut = lines[1]["extra"]["…[cut]"].as_str().unwrap_or_default();
    assert!(cut.contains("could not be held") && cut.contains("memory"), "{}", lines[1]);
    assert_eq!(lines[1]["tool_use_id"], "toolu_m");
}

/// The user's commands the pairwise test runs against live hooks.
const COMMANDS: &[&[&str]] = &[
    &["cleanup"],
    &["cleanup", "--redact"],
    &["export", "--since", "1d", "--all-projects"],
    &["flush"],
    &["hooks", "install"],
    &["hooks", "uninstall"],
];

/// Issue 30's acceptance: each pair of the user's commands (and each with itself), looping a few
/// times while live hooks record events of two sessions and another program edits the settings
/// file. Every journal line is there once, every event reaches the server once, nothing is
/// counted lost, and none of the other program's settings edits is undone.
#[test]
fn each_pair_of_commands_against_live_hooks_loses_and_duplicates_nothing() {
    let runs = 3;
    let calls = 24;
    for (i, a) in COMMANDS.iter().enumerate() {
        for b in &COMMANDS[i..] {
            let pair = format!("{} + {}", a.join(" "), b.join(" "));
            let server = TestServer::start();
            let exported = TestServer::start();
            let mut env = TestEnv::new();
            env.set("CLAUDE_SESSION_SERVER_URL", &server.url).set("CLAUDE_SESSION_SECRETS_FILTER", "0");
            let settings = env.home.join(".claude/settings.json");
            fs::create_dir_all(settings.parent().unwrap()).unwrap();
            fs::write(&settings, "{\n  \"model\": \"opus\"\n}\n").unwrap();
            let done = std::sync::atomic::AtomicBool::new(false);
            let undone = std::thread::scope(|s| {
                let run = |args: &'static [&'static str]| {
                    let env = &env;
                    let exported = &exported;
                    let pair = &pair;
                    s.spawn(move || {
                        for _ in 0..runs {
                            let mut cmd = env.command(env.bin.join("claude-session"));
                            if args[0] == "export" {
                                // Export replays the journal to a server of its own, so that the
                                // live deliveries can be counted alone.
                                cmd.env("CLAUDE_SESSION_SERVER_URL", &exported.url);
                            }
                            cmd.args(args);
                            let out = within(cmd, b"", Duration::from_secs(120));
                            let refused = stderr(&out).contains("kept changing");
                            // flush exits 1 when events are still pending as it ends: live hooks
                            // and the other command keep some in flight. What was delivered is
                            // checked after the loop, by a last flush.
                            let pending = args[0] == "flush" && out.status.code() == Some(1);
                            let ok = out.status.code() == Some(0) || refused || pending;
                            assert!(ok, "{pair}: {args:?}: {:?} {}", out.status, stderr(&out));
                        }
                    })
                };
                let commands = [run(a), run(b)];
                let writer = s.spawn(|| {
                    let mut n = 0;
                    let mut undone = 0;
                    while !done.load(std::sync::atomic::Ordering::Relaxed) {
                        undone += usize::from(!other_writer(&settings, n));
                        n += 1;
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    undone
                });
                for n in 0..calls {
                    let session = if n % 2 == 0 { "pair-a" } else { "pair-b" };
                    let input = json!({"command": format!("export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY{n:04}")});
                    let call = json!({"tool_use_id": format!("t{n}"), "tool_name": "Bash", "tool_input": input});
                    env.hook("pre-tool", &payload("PreToolUse", Some(session), "/w/p", call));
                }
                // The writer stops whatever the commands did: a command's failed assertion must
                // fail the test, not leave the writer looping and the scope waiting for it.
                let finished: Vec<_> = commands.into_iter().map(|c| c.join()).collect();
                done.store(true, std::sync::atomic::Ordering::Relaxed);
                let undone = writer.join().unwrap();
                for result in finished {
                    if let Err(panic) = result {
                        std::panic::resume_unwind(panic);
                    }
                }
                undone
            });
            assert_eq!(undone, 0, "{pair}: the other program's settings edit was undone");
            let lines = journal_lines(&env);
            let seen = counts(lines.iter().map(|l| &l["tool_use_id"]));
            assert!(seen.len() == calls && seen.values().all(|&n| n == 1), "{pair}: journal {seen:?}");
            let lost = fs::read_to_string(env.journal_dir().join("lost")).unwrap_or_default();
            assert!(lost.is_empty(), "{pair}: {lost}");
            let out = env.run("claude-session", &["flush"], b"");
            assert_eq!(out.status.code(), Some(0), "{pair}: {}", stderr(&out));
            let got = counts(server.accepted().iter().map(|e| &e["payload"]["tool_use_id"]));
            assert!(got.len() == calls && got.values().all(|&n| n == 1), "{pair}: delivered {got:?}");
            assert_eq!(queue_status(&env, "dashboard")["pending"], 0, "{pair}");
        }
    }
}

/// `hooks install` and `hooks uninstall` at once: uninstall removed the hook directory once it had
/// emptied it, while install, which had found the directory there, was making its links in it:
/// install failed with "No such file or directory" (twice in the pairwise test, under load). The
/// two now run one after the other, so the end is always one of theirs: wired and linked, or
/// neither.
#[test]
fn install_racing_uninstall_never_finds_the_hook_dir_gone() {
    let env = TestEnv::new();
    let settings = env.home.join(".claude/settings.json");
    let link = env.home.join(".claude/hooks/claude-session/pre-tool");
    for round in 0..40 {
        let outs: Vec<_> = std::thread::scope(|s| {
            let runs =
                [s.spawn(|| command(&env, &["hooks", "install"])), s.spawn(|| command(&env, &["hooks", "uninstall"]))];
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        for out in &outs {
            assert_eq!(out.status.code(), Some(0), "round {round}: {}", stderr(out));
        }
        let wired = fs::read_to_string(&settings).is_ok_and(|text| text.contains("pre-tool"));
        assert_eq!(fs::symlink_metadata(&link).is_ok(), wired, "round {round}: the links and the settings disagree");
    }
}

/// Installs at once in a fresh HOME: each made the missing hook directory, and the one that lost
/// that race failed with "File exists" (found by the pairwise test, on musl).
#[test]
fn installs_at_once_in_a_fresh_home_all_succeed() {
    for _ in 0..10 {
        let env = TestEnv::new();
        let outs: Vec<_> = std::thread::scope(|s| {
            let runs: Vec<_> =
                (0..4).map(|_| s.spawn(|| env.run("claude-session", &["hooks", "install"], b""))).collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        for out in &outs {
            let refused = stderr(out).contains("kept changing");
            assert!(out.status.code() == Some(0) || refused, "{}", stderr(out));
            assert!(!stderr(out).contains("File exists"), "{}", stderr(out));
        }
    }
}
