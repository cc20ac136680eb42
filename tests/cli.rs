//! The hook contract and multi-call dispatch, on the real binary.

mod common;

use std::os::unix::fs::symlink;

use common::*;

const PROJ: &str = "/home/dev/src/proj";

#[test]
fn every_fixture_under_every_hook_is_silent_and_stores_its_id() {
    for (name, bytes) in fixture_files() {
        let id = json(&bytes)["session_id"].as_str().unwrap().to_owned();
        for applet in HOOKS {
            let env = TestEnv::new();
            let out = env.hook(applet, &bytes);
            assert!(out.stderr.is_empty(), "{applet} < {name}: stderr without debug: {}", stderr(&out));
            assert_eq!(env.show(PROJ), (id.clone(), 0), "{applet} < {name}");
            let (_, text) = env.only_session_file();
            assert!(text.starts_with(&format!("{id}\n")), "{text}");
        }
    }
}

#[test]
fn bad_input_never_fails_a_hook() {
    let huge = {
        let mut v = br#"{"session_id":"big","hook_event_name":"PostToolUse","tool_response":""#.to_vec();
        v.extend(std::iter::repeat_n(b'z', 50 << 20));
        v.extend_from_slice(b"\"}\n");
        v
    };
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", fixture("PreToolUse-Bash.json")[..90].to_vec()),
        ("not json", b"hello world\n".to_vec()),
        ("array", b"[1,2,3]\n".to_vec()),
        ("non-utf8", b"{\"session_id\":\"\xff\xfe\"}\n".to_vec()),
        ("binary", (0..=255u8).cycle().take(10_000).collect()),
        ("wrong types", br#"{"session_id":42,"cwd":["x"],"hook_event_name":null}"#.to_vec()),
        ("50 MiB", huge),
    ];
    for (what, input) in &inputs {
        for applet in HOOKS {
            let env = TestEnv::new();
            let out = env.hook(applet, input);
            assert!(out.stderr.is_empty(), "{applet} < {what}: {}", stderr(&out));
        }
    }
}

#[test]
fn applet_by_argv0_prefix_or_subcommand() {
    let env = TestEnv::new();
    symlink(BIN, env.bin.join("claude-session-session-start")).unwrap();
    let start = fixture("SessionStart-startup.json");
    env.hook("claude-session-session-start", &start);
    assert_eq!(env.show(PROJ).0, "a3008a2b-25c3-4791-b916-3ad5effae209");

    let env = TestEnv::new();
    let mut cmd = env.command(BIN);
    cmd.arg("session-start");
    let out = feed(cmd, &start);
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
    assert_eq!(env.show(PROJ).0, "a3008a2b-25c3-4791-b916-3ad5effae209");
}

#[test]
fn usage_errors_exit_2_and_list_the_commands() {
    let mut env = TestEnv::new();
    symlink(BIN, env.bin.join("frobnicate")).unwrap();
    let runs = [("claude-session", vec!["frobnicate"]), ("frobnicate", vec![]), ("claude-session", vec![])];
    for (program, args) in &runs {
        let out = env.run(program, args, b"");
        assert_eq!(out.status.code(), Some(2), "{program} {args:?}");
        assert!(out.stdout.is_empty());
        let err = stderr(&out);
        assert!(err.starts_with("claude-session: "), "{err}");
        for applet in APPLETS {
            assert!(err.contains(applet), "{program} {args:?}: {applet} not listed in {err}");
        }
    }
    let out = env.run("claude-session", &["hooks"], b"");
    assert_eq!(out.status.code(), Some(2));
    for sub in ["install", "uninstall", "status"] {
        assert!(stderr(&out).contains(sub), "{}", stderr(&out));
    }
    let out = env.run("show", &["--bogus"], b"");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // Under Claude Code a typo in a hook's command line must not block every tool call.
    env.set("CLAUDECODE", "1");
    for (program, args) in &runs {
        assert_eq!(env.run(program, args, b"").status.code(), Some(1), "{program} {args:?}");
    }
}

#[test]
fn version_and_short_help() {
    let env = TestEnv::new();
    for args in [vec!["--version"], vec!["-V"]] {
        let out = env.run("claude-session", &args, b"");
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(stdout(&out), format!("claude-session {}\n", env!("CARGO_PKG_VERSION")));
    }
    for (program, args) in [("claude-session", vec!["-h"]), ("show", vec!["-h"]), ("pre-tool", vec!["-h"])] {
        let out = env.run(program, &args, b"");
        assert_eq!(out.status.code(), Some(0), "{program} {args:?}");
        assert!(stdout(&out).starts_with("Usage: "), "{}", stdout(&out));
    }
}

#[test]
fn hooks_ignore_unknown_arguments_and_still_record() {
    let env = TestEnv::new();
    let out = env.run("pre-tool", &["--frobnicate", "x"], &fixture("PreToolUse-Bash.json"));
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
    assert_eq!(env.show(PROJ).0, "a3008a2b-25c3-4791-b916-3ad5effae209");
}

/// `claude-session --help` lists every variable; each command's help lists only its own
/// options and points there, instead of repeating the whole block.
#[test]
fn the_top_help_lists_the_environment_and_each_command_points_at_it() {
    let env = TestEnv::new();
    let top = stdout(&env.run("claude-session", &["--help"], b""));
    for var in claude_session::config::VARS {
        assert!(top.contains(var.name), "--help lacks {}", var.name);
    }
    let mut runs: Vec<(String, Vec<&str>)> = Vec::new();
    for applet in APPLETS {
        runs.push((applet.to_string(), vec!["--help"]));
        runs.push(("claude-session".into(), vec![applet, "--help"]));
    }
    runs.push(("claude-session".into(), vec!["hooks", "install", "--help"]));
    for (program, args) in runs {
        let out = env.run(&program, &args, b"");
        assert_eq!(out.status.code(), Some(0), "{program} {args:?}");
        let text = stdout(&out);
        assert!(text.starts_with("Usage: "), "{text}");
        assert!(text.contains("`claude-session --help` lists the variables"), "{program} {args:?}: {text}");
        assert!(!text.contains("CLAUDE_SESSION_TTL"), "{program} {args:?} repeats the environment: {text}");
    }
}

#[test]
fn debug_speaks_on_stderr_only() {
    for var in [("CLAUDE_SESSION_DEBUG", "1"), ("HOOK_DEBUG", "true")] {
        let mut env = TestEnv::new();
        env.set(var.0, var.1);
        let out = env.hook("pre-tool", b"garbage");
        let err = stderr(&out);
        assert!(err.contains("claude-session: pre-tool: payload not a JSON object"), "{err}");
        assert!(err.lines().all(|l| l.starts_with("claude-session: ")), "{err}");
    }
}

#[test]
fn a_full_disk_does_not_fail_a_hook() {
    let mut env = TestEnv::new();
    env.set("CLAUDE_SESSION_DEBUG", "1");
    let mut cmd = env.command("/bin/sh");
    cmd.args(["-c", "ulimit -f 0; exec pre-tool"]);
    let out = feed(cmd, &fixture("PreToolUse-Bash.json"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("cannot store session"), "{}", stderr(&out));
    assert!(env.store_names().is_empty(), "temp file left: {:?}", env.store_names());
}
